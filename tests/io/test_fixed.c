// SPDX-License-Identifier: MIT
/*
 * tests/io/test_fixed.c - O_DIRECT WRITE_FIXED / READ_FIXED of a file in
 * the build directory through gp_iobuf buffers (data checked against the
 * file), chunks added after registration (gp_uring_sync), lookups of
 * arbitrary pool memory, and the argument checks.
 */
#include "iotest.h"

#include <sys/mman.h>

#include "genpool/stats.h"

#define POOL_BYTES (8u << 20)
#define BS 4096u
#define NBLK 64u

struct fixture {
	struct mem_pool mp;
	struct io_uring ring;
	struct gp_uring_buffers *bufs;
	int fd;
	char path[512];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct gp_mem_config cfg = anon_config();

	assert_non_null(f);
	/* One chunk, one slot, whatever the physical layout of the pages
	 * (by contiguity an anonymous mapping may come in several). */
	assert_int_equal(mem_pool_init_flags(&f->mp, POOL_BYTES, &cfg,
					     GP_MEM_ADD_LARGE), 0);
	assert_int_equal(io_uring_queue_init(64, &f->ring, 0), 0);
	f->bufs = gp_uring_register(&f->ring, f->mp.pool, 0);
	assert_non_null(f->bufs);
	f->fd = scratch_open(f->path, sizeof(f->path), "fixed");
	assert_true(f->fd >= 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	close(f->fd);
	unlink(f->path);
	assert_int_equal(gp_uring_unregister(f->bufs), 0);
	io_uring_queue_exit(&f->ring);
	assert_int_equal(mem_pool_fini(&f->mp), 0);
	free(f);
	return 0;
}

/* Write NBLK blocks with WRITE_FIXED at depth 16, read them back with
 * READ_FIXED into other buffers, check against the pattern and pread. */
static void test_write_read_fixed(void **state)
{
	struct fixture *f = *state;
	struct gp_iobuf w[NBLK], r[NBLK];
	struct gp_uring_info info;
	struct io_uring_cqe cqe;
	void *check = NULL;

	assert_int_equal(gp_uring_get_info(f->bufs, &info), 0);
	assert_int_equal(info.mode, GP_URING_CLONED);
	assert_int_equal(info.slots, 1);
	assert_int_equal(info.registered_bytes, POOL_BYTES);
	assert_int_equal(gp_uring_ring_fixed(f->bufs, &f->ring), 1);

	for (unsigned int i = 0; i < NBLK; i++) {
		assert_int_equal(gp_iobuf_alloc(f->bufs, BS, &w[i]), 0);
		assert_int_equal(w[i].buf_index, 0);
		assert_int_equal((uintptr_t)w[i].addr % BS, 0);
		fill_pattern(w[i].addr, BS, 7, (size_t)i * BS);
		gp_iobuf_prep_write(io_uring_get_sqe(&f->ring), f->fd, &w[i],
				    (uint64_t)i * BS);
		if (i % 16 == 15) {
			assert_int_equal(io_uring_submit(&f->ring), 16);
			for (int k = 0; k < 16; k++) {
				struct io_uring_cqe *c;

				assert_int_equal(io_uring_wait_cqe(&f->ring, &c), 0);
				assert_int_equal(c->res, (int)BS);
				io_uring_cqe_seen(&f->ring, c);
			}
		}
	}
	for (unsigned int i = 0; i < NBLK; i++) {
		assert_int_equal(gp_iobuf_alloc(f->bufs, BS, &r[i]), 0);
		memset(r[i].addr, 0, BS);
		gp_iobuf_prep_read(io_uring_get_sqe(&f->ring), f->fd, &r[i],
				   (uint64_t)(NBLK - 1 - i) * BS);
		assert_int_equal(submit_wait(&f->ring, &cqe), 0);
		assert_int_equal(cqe.res, (int)BS);
		assert_int_equal(check_pattern(r[i].addr, BS, 7,
					       (size_t)(NBLK - 1 - i) * BS), -1);
	}
	/* The file really holds what the fixed writes sent. */
	assert_int_equal(posix_memalign(&check, BS, BS), 0);
	assert_int_equal(pread(f->fd, check, BS, 5 * BS), (ssize_t)BS);
	assert_int_equal(check_pattern(check, BS, 7, 5 * BS), -1);
	free(check);
	for (unsigned int i = 0; i < NBLK; i++) {
		gp_iobuf_free(f->bufs, &w[i]);
		gp_iobuf_free(f->bufs, &r[i]);
	}
	assert_int_equal(pool_avail(f->bufs), POOL_BYTES);
}

/* A sub-range of a buffer keeps its slot: the kernel finds the offset. */
static void test_subrange(void **state)
{
	struct fixture *f = *state;
	struct gp_iobuf b, part;
	struct io_uring_cqe cqe;

	assert_int_equal(gp_iobuf_alloc(f->bufs, 4 * BS, &b), 0);
	fill_pattern(b.addr, 4 * BS, 11, 0);
	gp_iobuf_prep_write(io_uring_get_sqe(&f->ring), f->fd, &b, 0);
	assert_int_equal(submit_wait(&f->ring, &cqe), 0);
	assert_int_equal(cqe.res, (int)(4 * BS));
	memset(b.addr, 0, 4 * BS);
	part = (struct gp_iobuf){ .addr = (char *)b.addr + 2 * BS, .len = BS,
				  .buf_index = b.buf_index };
	gp_iobuf_prep_read(io_uring_get_sqe(&f->ring), f->fd, &part, 2 * BS);
	assert_int_equal(submit_wait(&f->ring, &cqe), 0);
	assert_int_equal(cqe.res, (int)BS);
	assert_int_equal(check_pattern(part.addr, BS, 11, 2 * BS), -1);
	/* The rest of the buffer was not written by the read. */
	assert_int_equal(((unsigned char *)b.addr)[0], 0);
	gp_iobuf_free(f->bufs, &b);
}

/* Memory added after registration is served unregistered until
 * gp_uring_sync() gives it a slot; then READ_FIXED works on it. */
static void test_sync_new_chunk(void **state)
{
	struct fixture *f = *state;
	struct gp_mem_config cfg = anon_config();
	struct gp_mem *more = gp_mem_create(1u << 20, &cfg);
	struct gp_iobuf big, b;
	struct gp_uring_info info;
	struct io_uring_cqe cqe;

	assert_non_null(more);
	/* Take the whole first chunk so the next buffer comes from the new one. */
	assert_int_equal(gp_iobuf_alloc(f->bufs, POOL_BYTES, &big), 0);
	assert_int_equal(gp_mem_add_to_pool_flags(more, f->mp.pool,
						  GP_MEM_ADD_LARGE), 1);
	assert_int_equal(gp_iobuf_alloc(f->bufs, BS, &b), 0);
	assert_int_equal(b.buf_index, GP_IOBUF_UNREGISTERED);
	/* The plain opcode serves it meanwhile. */
	fill_pattern(big.addr, BS, 3, 0);
	gp_iobuf_prep_write(io_uring_get_sqe(&f->ring), f->fd,
			    &(struct gp_iobuf){ big.addr, BS, big.buf_index }, 0);
	assert_int_equal(submit_wait(&f->ring, &cqe), 0);
	assert_int_equal(cqe.res, (int)BS);
	gp_iobuf_prep_read(io_uring_get_sqe(&f->ring), f->fd, &b, 0);
	assert_int_equal(submit_wait(&f->ring, &cqe), 0);
	assert_int_equal(cqe.res, (int)BS);
	assert_int_equal(check_pattern(b.addr, BS, 3, 0), -1);
	gp_iobuf_free(f->bufs, &b);

	assert_int_equal(gp_uring_sync(f->bufs), 1);
	assert_int_equal(gp_uring_sync(f->bufs), 0);
	assert_int_equal(gp_uring_get_info(f->bufs, &info), 0);
	assert_int_equal(info.slots, 2);
	assert_int_equal(gp_iobuf_alloc(f->bufs, BS, &b), 0);
	assert_int_equal(b.buf_index, 1);
	memset(b.addr, 0, BS);
	gp_iobuf_prep_read(io_uring_get_sqe(&f->ring), f->fd, &b, 0);
	assert_int_equal(submit_wait(&f->ring, &cqe), 0);
	assert_int_equal(cqe.res, (int)BS);
	assert_int_equal(check_pattern(b.addr, BS, 3, 0), -1);
	gp_iobuf_free(f->bufs, &b);
	gp_iobuf_free(f->bufs, &big);
	/* The new memory is held by its slot until unregister. */
	assert_int_equal(gp_mem_destroy(more), -EBUSY);
	assert_int_equal(gp_uring_unregister(f->bufs), 0);
	f->bufs = gp_uring_register(&f->ring, f->mp.pool, 0);
	assert_non_null(f->bufs);
	assert_int_equal(gp_uring_get_info(f->bufs, &info), 0);
	assert_int_equal(info.slots, 2);
	/* Unregister and the pool go before the memory. */
	assert_int_equal(gp_uring_unregister(f->bufs), 0);
	gen_pool_destroy(f->mp.pool);
	assert_int_equal(gp_mem_destroy(more), 0);
	/* The fixture's memory, added once already, goes into a new pool by
	 * hand for the teardown. */
	f->mp.pool = gen_pool_create(12, NUMA_NO_NODE);
	assert_int_equal(gp_mem_add_to_pool(f->mp.mem, f->mp.pool), -EBUSY);
	assert_int_equal(gen_pool_add(f->mp.pool, (unsigned long)gp_mem_addr(f->mp.mem),
				      POOL_BYTES, NUMA_NO_NODE), 0);
	f->bufs = gp_uring_register(&f->ring, f->mp.pool, 0);
	assert_non_null(f->bufs);
}

/* Any memory of the pool (an item the server placed itself) maps to
 * its slot; memory outside maps to none. */
static void test_iobuf_of(void **state)
{
	struct fixture *f = *state;
	struct gp_iobuf b;
	char outside[64];
	unsigned long a = gen_pool_alloc(f->mp.pool, 100);

	assert_true(a != 0);
	assert_int_equal(gp_uring_iobuf_of(f->bufs, (void *)(a + 10), 50, &b), 0);
	assert_int_equal(b.buf_index, 0);
	assert_int_equal(gp_uring_iobuf_of(f->bufs, outside, sizeof(outside), &b), 0);
	assert_int_equal(b.buf_index, GP_IOBUF_UNREGISTERED);
	/* A range running past the chunk has no single slot. */
	assert_int_equal(gp_uring_iobuf_of(f->bufs, gp_mem_addr(f->mp.mem),
					   POOL_BYTES + 1, &b), 0);
	assert_int_equal(b.buf_index, GP_IOBUF_UNREGISTERED);
	gen_pool_free(f->mp.pool, a, 100);
}

/* The usual I/O sizes go through the per-CPU cache: a 4 KiB free and
 * alloc after it are cache hits; a size over 128 KiB bypasses it; the buffers keep
 * their slot either way. */
static void test_cache_hot_sizes(void **state)
{
	struct fixture *f = *state;
	struct gp_cache *cache = gp_uring_cache(f->bufs);
	struct gp_cache_stats st0, st1;
	struct gp_iobuf b, odd;

	assert_non_null(cache);
	assert_int_equal(gp_cache_pool(cache), f->mp.pool);
	assert_int_equal(gp_iobuf_alloc(f->bufs, BS, &b), 0);
	gp_iobuf_free(f->bufs, &b);
	assert_int_equal(gp_cache_get_stats(cache, &st0), 0);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(gp_iobuf_alloc(f->bufs, BS, &b), 0);
		assert_int_equal(b.buf_index, 0);
		gp_iobuf_free(f->bufs, &b);
	}
	assert_int_equal(gp_iobuf_alloc(f->bufs, 33 * BS, &odd), 0);
	assert_int_equal(odd.buf_index, 0);
	gp_iobuf_free(f->bufs, &odd);
	assert_int_equal(gp_cache_get_stats(cache, &st1), 0);
	/* Every 4 KiB allocation went through the cache (a miss refills it;
	 * a CPU change or an idle drain on a loaded machine may cause one). */
	assert_int_equal(st1.total.alloc_hits + st1.total.alloc_misses -
			 st0.total.alloc_hits - st0.total.alloc_misses, 100);
	assert_true(st1.total.alloc_hits - st0.total.alloc_hits >= 50);
	assert_true(st1.bypassed > st0.bypassed);
	assert_int_equal(pool_avail(f->bufs), POOL_BYTES);
}

/* gp_stats_print() of the pool has the provider's section. */
static void test_stats_section(void **state)
{
	struct fixture *f = *state;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	assert_int_equal(gp_stats_print(f->mp.pool, out, 0), 0);
	assert_int_equal(gp_stats_print(f->mp.pool, out, GP_STATS_JSON), 0);
	fclose(out);
	assert_non_null(strstr(text, "io_uring"));
	assert_non_null(strstr(text, "mode cloned, 1 ring(s), 1 slot(s)"));
	assert_non_null(strstr(text, "\"slots\": 1, \"unregistered_chunks\": 0"));
	free(text);
}

/* A chunk over 1 GiB (added by hand, not through gp_mem) gets one slot
 * per GiB; a buffer across the boundary has none, one inside the second
 * piece has its own. */
static void test_chunk_over_1g(void **state)
{
	struct fixture *f = *state;
	const size_t len = GP_URING_MAX_SLOT_BYTES + (4u << 20);
	struct gen_pool *big = gen_pool_create(12, NUMA_NO_NODE);
	char *mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct genpool_data_fixed at = { .offset = GP_URING_MAX_SLOT_BYTES - BS };
	struct gp_uring_buffers *bufs;
	struct gp_uring_info info;
	struct io_uring ring;
	struct gp_iobuf b;

	assert_true(mem != MAP_FAILED);
	assert_int_equal(gen_pool_add(big, (unsigned long)mem, len, NUMA_NO_NODE), 0);
	assert_int_equal(io_uring_queue_init(8, &ring, 0), 0);
	bufs = gp_uring_register(&ring, big, GP_URING_REQUIRE_FIXED);
	assert_non_null(bufs);
	assert_int_equal(gp_uring_get_info(bufs, &info), 0);
	assert_int_equal(info.slots, 2);
	assert_int_equal(info.registered_bytes, len);
	/* Two blocks at the boundary: no single slot covers them. */
	unsigned long across = gen_pool_alloc_algo(big, 2 * BS, gen_pool_fixed_alloc, &at);

	assert_int_equal(across, (unsigned long)mem + GP_URING_MAX_SLOT_BYTES - BS);
	assert_int_equal(gp_uring_iobuf_of(bufs, (void *)across, 2 * BS, &b), 0);
	assert_int_equal(b.buf_index, GP_IOBUF_UNREGISTERED);
	assert_int_equal(gp_uring_iobuf_of(bufs, (void *)(across + BS), BS, &b), 0);
	assert_int_equal(b.buf_index, 1);
	assert_int_equal(gp_uring_iobuf_of(bufs, (void *)across, BS, &b), 0);
	assert_int_equal(b.buf_index, 0);
	/* Fixed I/O through both pieces. */
	struct gp_iobuf w = { (void *)across, BS, 0 }, r = { (void *)(across + BS), BS, 1 };
	struct io_uring_cqe cqe;

	fill_pattern(w.addr, BS, 41, 0);
	gp_iobuf_prep_write(io_uring_get_sqe(&ring), f->fd, &w, 0);
	assert_int_equal(submit_wait(&ring, &cqe), 0);
	assert_int_equal(cqe.res, (int)BS);
	gp_iobuf_prep_read(io_uring_get_sqe(&ring), f->fd, &r, 0);
	assert_int_equal(submit_wait(&ring, &cqe), 0);
	assert_int_equal(cqe.res, (int)BS);
	assert_int_equal(check_pattern(r.addr, BS, 41, 0), -1);
	gen_pool_free(big, across, 2 * BS);
	assert_int_equal(gp_uring_unregister(bufs), 0);
	io_uring_queue_exit(&ring);
	gen_pool_destroy(big);
	munmap(mem, len);
}

/* Rings with deferred task work (what fio and most servers set up) take
 * the clone and do fixed I/O like any other. */
static void test_defer_taskrun_ring(void **state)
{
	struct fixture *f = *state;
	struct io_uring_params p = {
		.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN };
	struct io_uring dr;

	if (io_uring_queue_init_params(8, &dr, &p))
		skip();
	assert_int_equal(gp_uring_attach(f->bufs, &dr), 0);
	assert_int_equal(roundtrip(f->bufs, &dr, &f->ring, f->fd, 31), 0);
	assert_int_equal(roundtrip(f->bufs, &f->ring, &dr, f->fd, 32), 0);
	assert_int_equal(gp_uring_detach(f->bufs, &dr), 0);
	io_uring_queue_exit(&dr);
}

static void test_bad_args(void **state)
{
	struct fixture *f = *state;
	struct gp_iobuf b;
	struct io_uring other;

	assert_int_equal(gp_iobuf_alloc(NULL, 8, &b), -EINVAL);
	assert_int_equal(gp_iobuf_alloc(f->bufs, 0, &b), -EINVAL);
	assert_null(b.addr);
	assert_int_equal(gp_iobuf_alloc(f->bufs, 2 * POOL_BYTES, &b), -ENOMEM);
	assert_int_equal(b.buf_index, GP_IOBUF_UNREGISTERED);
	gp_iobuf_free(f->bufs, NULL);
	gp_iobuf_free(f->bufs, &b);	/* NULL addr: nothing */
	errno = 0;
	assert_null(gp_uring_register(NULL, f->mp.pool, 0));
	assert_int_equal(errno, EINVAL);
	assert_null(gp_uring_register(&f->ring, f->mp.pool, 1u << 20));
	assert_int_equal(errno, EINVAL);
	/* The ring's table is taken: a second provider is refused. */
	assert_null(gp_uring_register(&f->ring, f->mp.pool, 0));
	assert_int_equal(errno, EBUSY);
	assert_int_equal(gp_uring_attach(f->bufs, NULL), -EINVAL);
	assert_int_equal(io_uring_queue_init(4, &other, 0), 0);
	assert_int_equal(gp_uring_detach(f->bufs, &other), -EINVAL);
	assert_int_equal(gp_uring_ring_fixed(f->bufs, &other), 0);
	io_uring_queue_exit(&other);
	assert_int_equal(gp_uring_get_info(NULL, NULL), -EINVAL);
	assert_int_equal(gp_uring_unregister(NULL), 0);
	assert_string_equal(gp_uring_mode_name(GP_URING_PER_RING), "per-ring");
}

static const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_read_fixed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subrange, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_new_chunk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iobuf_of, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_hot_sizes, setup, teardown),
	cmocka_unit_test_setup_teardown(test_stats_section, setup, teardown),
	cmocka_unit_test_setup_teardown(test_chunk_over_1g, setup, teardown),
	cmocka_unit_test_setup_teardown(test_defer_taskrun_ring, setup, teardown),
	cmocka_unit_test_setup_teardown(test_bad_args, setup, teardown),
};

IO_TEST_MAIN(tests)
