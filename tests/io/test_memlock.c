// SPDX-License-Identifier: MIT
/*
 * tests/io/test_memlock.c - registration against RLIMIT_MEMLOCK in a
 * child without CAP_IPC_LOCK: a pool over the limit is served
 * unregistered (and I/O still works) or refused with
 * GP_URING_REQUIRE_FIXED; a clone costs nothing while a second per-ring
 * registration over budget fails with a clear error; the kernel's own
 * refusal (memory pinned behind our back) is handled the same way.
 */
#include "iotest.h"

#define MIB (1u << 20)
#define BS 4096u

/* Each check in the child returns 0 or the line that failed. */
#define CHECK(c) do { if (!(c)) { fprintf(stderr, "failed: %s\n", #c); return __LINE__ % 200 + 1; } } while (0)

/*
 * The kernel charges io_uring pins to the real user, against the calling
 * process's limit: every other process of that user (other tests, a
 * benchmark) eats into the child's 3 MiB.  So the child takes a real uid
 * of its own where it may (the effective uid, the files and the other
 * capabilities stay); elsewhere it shares the user's budget as before.
 */
static void own_memlock_user(void)
{
	if (setresuid((uid_t)(200000 + getpid() % 100000), (uid_t)-1, (uid_t)-1))
		fprintf(stderr, "memlock: the budget is shared with this user's "
			"other processes (setresuid: %s)\n", strerror(errno));
}

static int limit_memlock(size_t bytes)
{
	struct rlimit rl = { bytes, bytes };

	own_memlock_user();
	if (drop_cap(CAP_IPC_LOCK) || setrlimit(RLIMIT_MEMLOCK, &rl))
		return -1;
	return has_cap(CAP_IPC_LOCK) ? -1 : 0;
}

/*
 * Wait (up to 20 s) until @bytes can be pinned through io_uring.  The
 * kernel charges pins to the user, not the process, and an earlier
 * child's are released only when its rings are torn down, in a kernel
 * worker after it exited; on a loaded machine that comes late, and a
 * registration the test expects to fit was refused.  Returns 0 when a
 * probe registration of @bytes went through (and was undone).
 */
static int wait_budget(size_t bytes)
{
	struct iovec iov = { .iov_len = bytes };
	struct io_uring probe;
	int ret = -1;

	if (posix_memalign(&iov.iov_base, 4096, bytes))
		return -1;
	if (io_uring_queue_init(8, &probe, 0) == 0) {
		for (int i = 0; i < 2000 && ret; i++) {
			ret = io_uring_register_buffers(&probe, &iov, 1);
			if (ret)
				usleep(10000);
		}
		if (!ret)
			io_uring_unregister_buffers(&probe);
		io_uring_queue_exit(&probe);
	}
	free(iov.iov_base);
	return ret ? -1 : 0;
}

/* A checked block through @ring with whatever opcodes @bufs' buffers get. */
static int roundtrip_scratch(struct gp_uring_buffers *bufs, struct io_uring *ring)
{
	char path[512];
	int fd = scratch_open(path, sizeof(path), "memlock"), ret;

	unlink(path);
	if (fd < 0)
		return 1;
	ret = roundtrip(bufs, ring, ring, fd, 12);
	close(fd);
	return ret;
}

static int child_over_limit(void *arg)
{
	struct gp_mem_config cfg = anon_config();
	struct mem_pool mp;
	struct io_uring ring;
	struct gp_uring_buffers *bufs;
	struct gp_uring_info info;
	struct gp_iobuf b;

	CHECK(limit_memlock(3 * MIB) == 0);
	CHECK(mem_pool_init(&mp, 8 * MIB, &cfg) == 0);
	CHECK(io_uring_queue_init(8, &ring, 0) == 0);
	errno = 0;
	CHECK(!gp_uring_register(&ring, mp.pool, GP_URING_REQUIRE_FIXED));
	CHECK(errno == ENOMEM);
	bufs = gp_uring_register(&ring, mp.pool, 0);
	CHECK(bufs);
	CHECK(gp_uring_get_info(bufs, &info) == 0);
	CHECK(info.mode == GP_URING_UNREGISTERED);
	CHECK(info.reason == ENOMEM);
	CHECK(info.slots == 0 && info.charged_bytes == 0);
	CHECK(gp_uring_ring_fixed(bufs, &ring) == 0);
	CHECK(gp_iobuf_alloc(bufs, BS, &b) == 0);
	CHECK(b.buf_index == GP_IOBUF_UNREGISTERED);
	gp_iobuf_free(bufs, &b);
	/* The server still runs: plain READ/WRITE on the same buffers. */
	CHECK(roundtrip_scratch(bufs, &ring) == 0);
	/* Memory added later is tracked, not registered. */
	CHECK(gp_uring_sync(bufs) == 0);
	CHECK(gp_uring_unregister(bufs) == 0);
	io_uring_queue_exit(&ring);
	CHECK(mem_pool_fini(&mp) == 0);
	return 0;
}

/* Two chunks, the first within the limit and the second over it: with
 * GP_URING_REQUIRE_FIXED the registration fails as a whole (it once
 * succeeded with the second chunk unregistered: an 8 MiB anon pool split
 * by physical contiguity into chunks of varying sizes made
 * child_over_limit fail now and then). */
static int child_partly_over_limit(void *arg)
{
	void *small = mmap(NULL, MIB, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *large = mmap(NULL, 4 * MIB, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct gen_pool *pool = gen_pool_create(12, NUMA_NO_NODE);
	struct gp_uring_buffers *bufs;
	struct gp_uring_info info;
	struct io_uring ring;

	CHECK(small != MAP_FAILED && large != MAP_FAILED && pool);
	CHECK(limit_memlock(3 * MIB) == 0);
	CHECK(wait_budget(MIB) == 0);
	CHECK(gen_pool_add(pool, (unsigned long)large, 4 * MIB, NUMA_NO_NODE) == 0);
	CHECK(gen_pool_add(pool, (unsigned long)small, MIB, NUMA_NO_NODE) == 0);
	CHECK(io_uring_queue_init(8, &ring, 0) == 0);
	errno = 0;
	CHECK(!gp_uring_register(&ring, pool, GP_URING_REQUIRE_FIXED));
	CHECK(errno == ENOMEM);
	/* Without the flag: what fits is registered, the rest served plain
	 * (once the refused attempt's charge is back). */
	CHECK(wait_budget(MIB) == 0);
	bufs = gp_uring_register(&ring, pool, 0);
	CHECK(bufs);
	CHECK(gp_uring_get_info(bufs, &info) == 0);
	CHECK(info.slots == 1 && info.charged_bytes == MIB);
	CHECK(gp_uring_unregister(bufs) == 0);
	io_uring_queue_exit(&ring);
	gen_pool_destroy(pool);
	munmap(small, MIB);
	munmap(large, 4 * MIB);
	return 0;
}

static int child_second_ring(void *arg)
{
	struct gp_mem_config cfg = anon_config();
	struct mem_pool mp;
	struct io_uring a, b;
	struct gp_uring_buffers *bufs;
	struct gp_uring_info info;

	CHECK(limit_memlock(3 * MIB) == 0);
	CHECK(wait_budget(2 * MIB) == 0);
	CHECK(mem_pool_init(&mp, 2 * MIB, &cfg) == 0);
	CHECK(io_uring_queue_init(8, &a, 0) == 0);
	CHECK(io_uring_queue_init(8, &b, 0) == 0);
	/* Cloned: one charge however many rings. */
	bufs = gp_uring_register(&a, mp.pool, 0);
	CHECK(bufs);
	CHECK(gp_uring_attach(bufs, &b) == 0);
	CHECK(gp_uring_get_info(bufs, &info) == 0);
	CHECK(info.mode == GP_URING_CLONED && info.charged_bytes == 2 * MIB);
	CHECK(roundtrip_scratch(bufs, &b) == 0);
	CHECK(gp_uring_unregister(bufs) == 0);
	/* Per ring: the second registration would need 4 MiB of 3. */
	bufs = gp_uring_register(&a, mp.pool, GP_URING_NO_CLONE);
	CHECK(bufs);
	CHECK(gp_uring_get_info(bufs, &info) == 0);
	CHECK(info.mode == GP_URING_PER_RING && info.charged_bytes == 2 * MIB);
	CHECK(gp_uring_attach(bufs, &b) == -ENOMEM);
	CHECK(gp_uring_ring_fixed(bufs, &b) == 0);
	CHECK(gp_uring_get_info(bufs, &info) == 0);
	CHECK(info.rings == 1 && info.charged_bytes == 2 * MIB);
	/* The first ring is unharmed. */
	CHECK(roundtrip_scratch(bufs, &a) == 0);
	CHECK(gp_uring_unregister(bufs) == 0);
	io_uring_queue_exit(&a);
	io_uring_queue_exit(&b);
	CHECK(mem_pool_fini(&mp) == 0);
	return 0;
}

/* 1 MiB pinned directly (not through genpool): genpool's own estimate
 * lets 2.5 MiB through, the kernel refuses; that is handled too. */
static int child_kernel_refuses(void *arg)
{
	struct gp_mem_config cfg = anon_config();
	struct mem_pool mp;
	struct io_uring a, other;
	struct gp_uring_buffers *bufs;
	struct gp_uring_info info;
	struct iovec iov;

	CHECK(limit_memlock(3 * MIB) == 0);
	CHECK(io_uring_queue_init(8, &other, 0) == 0);
	iov.iov_len = MIB;
	CHECK(posix_memalign(&iov.iov_base, 4096, MIB) == 0);
	CHECK(io_uring_register_buffers(&other, &iov, 1) == 0);
	CHECK(mem_pool_init(&mp, 2 * MIB + MIB / 2, &cfg) == 0);
	CHECK(io_uring_queue_init(8, &a, 0) == 0);
	bufs = gp_uring_register(&a, mp.pool, 0);
	CHECK(bufs);
	CHECK(gp_uring_get_info(bufs, &info) == 0);
	CHECK(info.mode == GP_URING_UNREGISTERED && info.reason == ENOMEM);
	CHECK(roundtrip_scratch(bufs, &a) == 0);
	CHECK(gp_uring_unregister(bufs) == 0);
	io_uring_queue_exit(&a);
	io_uring_queue_exit(&other);
	free(iov.iov_base);
	CHECK(mem_pool_fini(&mp) == 0);
	return 0;
}

static void test_over_limit(void **state)
{
	assert_int_equal(in_child(child_over_limit, NULL), 0);
}

static void test_partly_over_limit(void **state)
{
	assert_int_equal(in_child(child_partly_over_limit, NULL), 0);
}

static void test_second_ring(void **state)
{
	assert_int_equal(in_child(child_second_ring, NULL), 0);
}

static void test_kernel_refuses(void **state)
{
	assert_int_equal(in_child(child_kernel_refuses, NULL), 0);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_over_limit),
	cmocka_unit_test(test_partly_over_limit),
	cmocka_unit_test(test_second_ring),
	cmocka_unit_test(test_kernel_refuses),
};

IO_TEST_MAIN(tests)
