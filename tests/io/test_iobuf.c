// SPDX-License-Identifier: MIT
/*
 * tests/io/test_iobuf.c - the allocation side of a provider: the default
 * quarter-power cache sizes and the rounding of data + header sizes to
 * them, sizes and byte cap of the caller's (and the bad ones refused),
 * aligned buffers (checked addresses, O_DIRECT fixed I/O through them),
 * and the eventfd wake-up of a failed allocation: one free wakes every
 * waiter, a withdrawn eventfd is left alone, and a thread that frees
 * while another fails never leaves it asleep (bounded rounds).
 */
#include "iotest.h"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>

#define KIB 1024u
#define BS 4096u

struct pool512 {
	struct gp_mem *mem;
	struct gen_pool *pool;
	struct io_uring ring;
	struct gp_uring_buffers *bufs;
};

/* A provider over @size bytes of anonymous memory in 2^@order-byte units,
 * set up by @cfg (NULL: defaults). */
static void pool_up(struct pool512 *p, size_t size, int order,
		    const struct gp_uring_config *cfg)
{
	struct gp_mem_config mc = anon_config();

	p->mem = gp_mem_create(size, &mc);
	assert_non_null(p->mem);
	p->pool = gen_pool_create(order, NUMA_NO_NODE);
	assert_non_null(p->pool);
	gp_set_misuse_policy(p->pool, GP_MISUSE_REPORT);
	assert_true(gp_mem_add_to_pool(p->mem, p->pool) >= 1);
	assert_int_equal(io_uring_queue_init(8, &p->ring, 0), 0);
	p->bufs = gp_uring_register_config(&p->ring, p->pool, cfg);
	assert_non_null(p->bufs);
}

static void pool_down(struct pool512 *p)
{
	assert_int_equal(gp_uring_unregister(p->bufs), 0);
	io_uring_queue_exit(&p->ring);
	assert_int_equal(gp_destroy_checked(p->pool), 0);
	assert_int_equal(gp_mem_destroy(p->mem), 0);
}

/* Bytes the pool holds for one live buffer of @len. */
static size_t held_for(struct gp_uring_buffers *bufs, size_t len)
{
	size_t before = pool_avail(bufs), held;
	struct gp_iobuf b;

	assert_int_equal(gp_iobuf_alloc(bufs, len, &b), 0);
	assert_int_equal(b.len, len);
	held = before - pool_avail(bufs);
	gp_iobuf_free(bufs, &b);
	assert_int_equal(pool_avail(bufs), before);
	return held;
}

/* The default sizes: 21 quarter-power steps; data plus a 512-byte header
 * rounds to the next step (not the next power of two) and is a cache
 * hit; small and large requests are not rounded. */
static void test_default_classes(void **state)
{
	struct pool512 p;
	struct gp_cache_stats st0, st1;
	struct gp_iobuf b;

	pool_up(&p, 8u << 20, 9, NULL);
	assert_int_equal(gp_cache_get_stats(gp_uring_cache(p.bufs), &st0), 0);
	assert_int_equal(st0.nr_classes, 21);
	assert_int_equal(st0.classes[0].size, 4 * KIB);
	assert_int_equal(st0.classes[1].size, 5 * KIB);
	assert_int_equal(st0.classes[20].size, 128 * KIB);
	/* The default cap: per size, the pool / (24 x CPUs), 64 KiB .. 2 MiB. */
	size_t share = (8u << 20) / (24 * (size_t)sysconf(_SC_NPROCESSORS_CONF));

	share = share < 64 * KIB ? 64 * KIB : share > (2u << 20) ? (2u << 20) : share;
	assert_int_equal(st0.cpu_bytes, 21 * share);
	assert_int_equal(held_for(p.bufs, 4 * KIB + 512), 5 * KIB);
	assert_int_equal(held_for(p.bufs, 16 * KIB + 512), 20 * KIB);
	assert_int_equal(held_for(p.bufs, 64 * KIB), 64 * KIB);
	assert_int_equal(held_for(p.bufs, 100), 512);
	assert_int_equal(held_for(p.bufs, 200 * KIB + 1), 200 * KIB + 512);

	assert_int_equal(gp_iobuf_alloc(p.bufs, 4 * KIB + 512, &b), 0);
	gp_iobuf_free(p.bufs, &b);
	assert_int_equal(gp_cache_get_stats(gp_uring_cache(p.bufs), &st0), 0);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(gp_iobuf_alloc(p.bufs, 4 * KIB + 512, &b), 0);
		assert_int_equal(b.buf_index, 0);
		gp_iobuf_free(p.bufs, &b);
	}
	assert_int_equal(gp_cache_get_stats(gp_uring_cache(p.bufs), &st1), 0);
	/* Every one through the cache's 5 KiB class, nearly all hits. */
	assert_int_equal(st1.classes[1].c.alloc_hits + st1.classes[1].c.alloc_misses -
			 st0.classes[1].c.alloc_hits - st0.classes[1].c.alloc_misses, 100);
	assert_true(st1.classes[1].c.alloc_hits - st0.classes[1].c.alloc_hits >= 50);
	assert_int_equal(st1.bypassed, st0.bypassed);
	pool_down(&p);

	/* 4 KiB units: only the steps that are multiples of 4 KiB. */
	pool_up(&p, 8u << 20, 12, NULL);
	assert_int_equal(gp_cache_get_stats(gp_uring_cache(p.bufs), &st0), 0);
	assert_int_equal(st0.nr_classes, 16);
	assert_int_equal(st0.classes[2].size, 12 * KIB);
	assert_int_equal(held_for(p.bufs, 9 * KIB), 12 * KIB);
	pool_down(&p);
}

/* The caller's sizes and cap; rounding only within a quarter. */
static void test_config_classes(void **state)
{
	const size_t sizes[] = { 4608, 8704 };
	struct gp_uring_config cfg = { .class_sizes = sizes, .nr_classes = 2,
				       .cpu_bytes = 512 * KIB };
	struct gp_cache_stats st;
	struct pool512 p;

	pool_up(&p, 4u << 20, 9, &cfg);
	assert_int_equal(gp_cache_get_stats(gp_uring_cache(p.bufs), &st), 0);
	assert_int_equal(st.nr_classes, 2);
	assert_int_equal(st.classes[0].size, 4608);
	assert_int_equal(st.classes[1].size, 8704);
	assert_int_equal(st.cpu_bytes, 512 * KIB);
	assert_int_equal(held_for(p.bufs, 4600), 4608);
	assert_int_equal(held_for(p.bufs, 8000), 8704);
	assert_int_equal(held_for(p.bufs, 6000), 6144);	/* 8704 is too far */
	pool_down(&p);
}

static void test_config_refused(void **state)
{
	const size_t odd[] = { 4096, 4100 }, down[] = { 8192, 4096 };
	const size_t many[GP_CACHE_MAX_CLASSES + 1] = { 4096 };
	const size_t huge[] = { (size_t)(GP_CACHE_MAX_UNITS + 1) * 512 };
	const struct gp_uring_config bad[] = {
		{ .class_sizes = odd, .nr_classes = 2 },
		{ .class_sizes = down, .nr_classes = 2 },
		{ .class_sizes = odd, .nr_classes = 0 },
		{ .class_sizes = NULL, .nr_classes = 3 },
		{ .class_sizes = many, .nr_classes = GP_CACHE_MAX_CLASSES + 1 },
		{ .class_sizes = huge, .nr_classes = 1 },
		{ .flags = 1u << 20 },
	};
	struct gp_mem_config mc = anon_config();
	struct gp_mem *mem = gp_mem_create(1u << 20, &mc);
	struct gen_pool *pool = gen_pool_create(9, NUMA_NO_NODE);
	struct io_uring ring;

	assert_non_null(mem);
	assert_true(gp_mem_add_to_pool(mem, pool) >= 1);
	assert_int_equal(io_uring_queue_init(4, &ring, 0), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		assert_null(gp_uring_register_config(&ring, pool, &bad[i]));
		assert_int_equal(errno, EINVAL);
	}
	/* Nothing was left behind: the ring's table is still free. */
	struct gp_uring_buffers *bufs = gp_uring_register_config(&ring, pool, NULL);

	assert_non_null(bufs);
	assert_int_equal(gp_uring_unregister(bufs), 0);
	io_uring_queue_exit(&ring);
	assert_int_equal(gp_destroy_checked(pool), 0);
	assert_int_equal(gp_mem_destroy(mem), 0);
}

/* Aligned buffers in a pool of 512-byte units: the addresses, O_DIRECT
 * fixed I/O through them, the bad alignments. */
static void test_align(void **state)
{
	struct pool512 p;
	struct gp_iobuf nudge, a, big, r;
	struct io_uring_cqe cqe;
	char path[512];
	size_t avail;
	int fd;

	pool_up(&p, 4u << 20, 9, NULL);
	avail = pool_avail(p.bufs);
	/* Put the pool's next free unit off any 4 KiB boundary. */
	assert_int_equal(gp_iobuf_alloc(p.bufs, 512, &nudge), 0);
	assert_int_equal(gp_iobuf_alloc_align(p.bufs, BS, BS, &a), 0);
	assert_int_equal((uintptr_t)a.addr % BS, 0);
	assert_int_equal(a.buf_index, 0);
	assert_int_equal(gp_iobuf_alloc_align(p.bufs, 3 * BS, 64 * KIB, &big), 0);
	assert_int_equal((uintptr_t)big.addr % (64 * KIB), 0);
	assert_int_equal(gp_iobuf_alloc_align(p.bufs, BS, 0, &r), 0);
	gp_iobuf_free(p.bufs, &r);

	fd = scratch_open(path, sizeof(path), "align");
	assert_true(fd >= 0);
	fill_pattern(a.addr, BS, 5, 0);
	gp_iobuf_prep_write(io_uring_get_sqe(&p.ring), fd, &a, 0);
	assert_int_equal(submit_wait(&p.ring, &cqe), 0);
	assert_int_equal(cqe.res, (int)BS);
	memset(big.addr, 0, BS);
	gp_iobuf_prep_read(io_uring_get_sqe(&p.ring), fd,
			   &(struct gp_iobuf){ big.addr, BS, big.buf_index }, 0);
	assert_int_equal(submit_wait(&p.ring, &cqe), 0);
	assert_int_equal(cqe.res, (int)BS);
	assert_int_equal(check_pattern(big.addr, BS, 5, 0), -1);
	close(fd);
	unlink(path);

	assert_int_equal(gp_iobuf_alloc_align(p.bufs, BS, 3, &r), -EINVAL);
	assert_null(r.addr);
	assert_int_equal(gp_iobuf_alloc_align(p.bufs, BS, (size_t)2 << 30, &r), -EINVAL);
	assert_int_equal(gp_iobuf_alloc_align(p.bufs, 0, BS, &r), -EINVAL);
	assert_int_equal(gp_iobuf_alloc_align(p.bufs, 8u << 20, BS, &r), -ENOMEM);
	gp_iobuf_free(p.bufs, &nudge);
	gp_iobuf_free(p.bufs, &a);
	gp_iobuf_free(p.bufs, &big);
	assert_int_equal(pool_avail(p.bufs), avail);
	pool_down(&p);
}

static bool readable(int efd, int timeout_ms)
{
	struct pollfd pfd = { .fd = efd, .events = POLLIN };
	uint64_t v;

	if (poll(&pfd, 1, timeout_ms) != 1)
		return false;
	return read(efd, &v, sizeof(v)) == sizeof(v) && v > 0;
}

/* Take every buffer of @len; returns how many. */
static unsigned int take_all(struct gp_uring_buffers *bufs, size_t len,
			     struct gp_iobuf *out, unsigned int max)
{
	unsigned int n = 0;

	while (n < max && gp_iobuf_alloc(bufs, len, &out[n]) == 0)
		n++;
	return n;
}

/* One free wakes every recorded eventfd once; a withdrawn one and frees
 * with nobody waiting write nothing. */
static void test_notify_waiters(void **state)
{
	struct pool512 p;
	struct gp_iobuf held[64], b;
	struct gp_uring_info info;
	int e1 = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int e2 = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	unsigned int n;

	pool_up(&p, 64 * KIB, 12, NULL);
	n = take_all(p.bufs, BS, held, 64);
	assert_int_equal(n, 16);
	/* Nobody waits: frees and allocations write nothing. */
	gp_iobuf_free(p.bufs, &held[--n]);
	assert_int_equal(gp_iobuf_alloc(p.bufs, BS, &held[n++]), 0);
	assert_false(readable(e1, 0));

	assert_int_equal(gp_iobuf_alloc_notify(p.bufs, BS, 0, e1, &b), -ENOMEM);
	assert_null(b.addr);
	assert_int_equal(gp_iobuf_alloc_notify(p.bufs, BS, 0, e1, &b), -ENOMEM);
	assert_int_equal(gp_iobuf_alloc_notify(p.bufs, BS, BS, e2, &b), -ENOMEM);
	assert_false(readable(e1, 0));
	gp_iobuf_free(p.bufs, &held[--n]);
	assert_true(readable(e1, 0));
	assert_true(readable(e2, 0));
	assert_int_equal(gp_uring_get_info(p.bufs, &info), 0);
	assert_int_equal(info.wakeups, 2);	/* e1 once, however often it failed */
	/* Woken: the retry gets the buffer. */
	assert_int_equal(gp_iobuf_alloc_notify(p.bufs, BS, 0, e1, &held[n++]), 0);

	/* A withdrawn eventfd is not written to. */
	assert_int_equal(gp_iobuf_alloc_notify(p.bufs, BS, 0, e2, &b), -ENOMEM);
	assert_int_equal(gp_iobuf_notify_cancel(p.bufs, e2), 1);
	assert_int_equal(gp_iobuf_notify_cancel(p.bufs, e2), 0);
	assert_int_equal(gp_iobuf_notify_cancel(NULL, e2), -EINVAL);
	gp_iobuf_free(p.bufs, &held[--n]);
	assert_false(readable(e2, 0));
	assert_int_equal(gp_iobuf_alloc_notify(p.bufs, BS, 0, -1, &b), -EINVAL);
	while (n)
		gp_iobuf_free(p.bufs, &held[--n]);
	assert_int_equal(gp_uring_get_info(p.bufs, &info), 0);
	assert_int_equal(info.wakeups, 2);
	pool_down(&p);
	close(e1);
	close(e2);
}

#define ROUNDS 300

struct race {
	struct gp_uring_buffers *bufs;
	pthread_barrier_t go;
	struct gp_iobuf handed;	/* the buffer the freer frees this round */
	int rounds;
};

/* The freer: each round, free the buffer handed over, racing the
 * allocator's failure. */
static void *freer(void *arg)
{
	struct race *r = arg;

	for (int i = 0; i < r->rounds; i++) {
		pthread_barrier_wait(&r->go);
		gp_iobuf_free(r->bufs, &r->handed);
		pthread_barrier_wait(&r->go);
	}
	return NULL;
}

/*
 * Two threads: the pool is exhausted; each round one buffer is handed to
 * the other thread, which frees it while this one allocates with a
 * wake-up.  Either the allocation succeeds or the eventfd fires: a
 * wake-up lost to the race would leave the poll to time out (10 s).
 */
static void test_notify_two_threads(void **state)
{
	struct race r = { .rounds = ROUNDS };
	struct gp_iobuf held[16];
	struct gp_uring_info info;
	struct pool512 p;
	unsigned int waited = 0, n;
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_t t;

	pool_up(&p, 64 * KIB, 12, NULL);
	r.bufs = p.bufs;
	n = take_all(p.bufs, BS, held, 16);
	assert_int_equal(n, 16);
	assert_int_equal(pthread_barrier_init(&r.go, NULL, 2), 0);
	assert_int_equal(pthread_create(&t, NULL, freer, &r), 0);
	for (int i = 0; i < ROUNDS; i++) {
		struct gp_iobuf b;
		int ret;

		r.handed = held[--n];
		pthread_barrier_wait(&r.go);
		ret = gp_iobuf_alloc_notify(p.bufs, BS, 0, efd, &b);
		if (ret == -ENOMEM) {
			waited++;
			assert_true(readable(efd, 10000));
			ret = gp_iobuf_alloc(p.bufs, BS, &b);
		}
		assert_int_equal(ret, 0);
		held[n++] = b;
		pthread_barrier_wait(&r.go);
		/* A wake-up armed by a failure whose retry won comes later. */
		readable(efd, 0);
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	pthread_barrier_destroy(&r.go);
	assert_int_equal(gp_uring_get_info(p.bufs, &info), 0);
	assert_true(info.wakeups >= waited);
	printf("notify: %u of %d rounds waited for the eventfd, %llu wake-ups\n",
	       waited, ROUNDS, (unsigned long long)info.wakeups);
	while (n)
		gp_iobuf_free(p.bufs, &held[--n]);
	pool_down(&p);
	close(efd);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_default_classes),
	cmocka_unit_test(test_config_classes),
	cmocka_unit_test(test_config_refused),
	cmocka_unit_test(test_align),
	cmocka_unit_test(test_notify_waiters),
	cmocka_unit_test(test_notify_two_threads),
};

IO_TEST_MAIN(tests)
