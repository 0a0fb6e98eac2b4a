// SPDX-License-Identifier: MIT
/*
 * tests/io/test_threads.c - gp_iobuf_alloc()/free() from two threads
 * while a third adds chunks and gp_uring_sync()s them: every buffer's
 * buf_index is either none or exactly the slot of the chunk it lies in
 * (the lock-free snapshots are published whole), nothing is lost, and
 * fixed I/O works from every slot afterwards.
 */
#include "iotest.h"

#include <pthread.h>

#define CHUNKS 8
#define CHUNK (1u << 20)
#define ITERS 20000

struct shared {
	struct gp_uring_buffers *bufs;
	struct gp_mem *mem[CHUNKS + 1];		/* [0]: the first, slot 0 */
	unsigned int added;			/* chunks with a slot so far */
	long bad;				/* buffers with a wrong index */
	long fixed;				/* buffers with a slot */
	pthread_mutex_t lock;
};

/* The slot a buffer at @addr must have, if any: its gp_mem's order. */
static unsigned int expected_slot(struct shared *sh, unsigned long addr)
{
	for (unsigned int i = 0; i <= CHUNKS; i++) {
		unsigned long a = (unsigned long)gp_mem_addr(sh->mem[i]);

		if (sh->mem[i] && addr >= a && addr < a + CHUNK)
			return i;
	}
	return GP_IOBUF_UNREGISTERED;
}

static void *worker(void *arg)
{
	struct shared *sh = arg;
	long bad = 0, fixed = 0;

	for (int i = 0; i < ITERS; i++) {
		struct gp_iobuf b;
		size_t len = (i & 1) ? 4096 : 12288;

		if (gp_iobuf_alloc(sh->bufs, len, &b))
			continue;	/* a moment of exhaustion is fine */
		if (b.buf_index != GP_IOBUF_UNREGISTERED) {
			fixed++;
			bad += b.buf_index != expected_slot(sh, (unsigned long)b.addr);
		}
		gp_iobuf_free(sh->bufs, &b);
	}
	pthread_mutex_lock(&sh->lock);
	sh->bad += bad;
	sh->fixed += fixed;
	pthread_mutex_unlock(&sh->lock);
	return NULL;
}

static void test_alloc_during_sync(void **state)
{
	struct gp_mem_config cfg = anon_config();
	struct shared sh = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct gen_pool *pool = gen_pool_create(12, NUMA_NO_NODE);
	struct io_uring ring;
	struct gp_uring_info info;
	pthread_t t[2];
	char path[512];
	int fd;

	assert_int_equal(io_uring_queue_init(8, &ring, 0), 0);
	/* Each chunk exactly one gp_mem of 1 MiB (no phys split: no mlock,
	 * 4 KiB pages rarely contiguous for 2 MiB; checked below). */
	for (unsigned int i = 0; i <= CHUNKS; i++) {
		sh.mem[i] = gp_mem_create(CHUNK, &cfg);
		assert_non_null(sh.mem[i]);
	}
	assert_int_equal(gp_mem_add_to_pool(sh.mem[0], pool), 1);
	sh.bufs = gp_uring_register(&ring, pool, 0);
	assert_non_null(sh.bufs);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker, &sh), 0);
	for (unsigned int i = 1; i <= CHUNKS; i++) {
		assert_int_equal(gp_mem_add_to_pool(sh.mem[i], pool), 1);
		assert_int_equal(gp_uring_sync(sh.bufs), 1);
		usleep(2000);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(sh.bad, 0);
	assert_true(sh.fixed > 0);
	assert_int_equal(gp_uring_get_info(sh.bufs, &info), 0);
	assert_int_equal(info.slots, CHUNKS + 1);
	assert_int_equal(pool_avail(sh.bufs), (size_t)(CHUNKS + 1) * CHUNK);
	/* Fixed I/O from every slot: the newest chunk is searched first, so
	 * fill the pool and check each buffer's slot. */
	fd = scratch_open(path, sizeof(path), "threads");
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(roundtrip(sh.bufs, &ring, &ring, fd, 50), 0);
	for (unsigned int i = 0; i <= CHUNKS; i++) {
		struct gp_iobuf b;

		assert_int_equal(gp_uring_iobuf_of(sh.bufs, gp_mem_addr(sh.mem[i]),
						   CHUNK, &b), 0);
		assert_int_equal(b.buf_index, i);
	}
	close(fd);
	assert_int_equal(gp_uring_unregister(sh.bufs), 0);
	io_uring_queue_exit(&ring);
	gen_pool_destroy(pool);
	for (unsigned int i = 0; i <= CHUNKS; i++)
		assert_int_equal(gp_mem_destroy(sh.mem[i]), 0);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_alloc_during_sync),
};

IO_TEST_MAIN(tests)
