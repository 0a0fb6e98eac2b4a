// SPDX-License-Identifier: MIT
/*
 * tests/io/test_hugetlb.c - hugetlb backing (argv[2]: "2m" or "1g"):
 * reserves the pages it needs through sysfs nr_hugepages and puts the
 * old value back; exits 77 with the reason when they cannot be had.
 * Checks backing, residency, one phys-carrying chunk per contiguous run
 * of huge pages (against pagemap), the memfd variant, fixed I/O from the
 * memory, and the pinning the kernel reports.
 */
#include "iotest.h"

static long page_kib;
static long pages;

static struct gp_mem *huge_mem(unsigned int flags)
{
	struct gp_mem_config cfg = {
		.backing = page_kib == 2048 ? GP_MEM_HUGETLB_2M : GP_MEM_HUGETLB_1G,
		.flags = flags, .nid = NUMA_NO_NODE };

	return gp_mem_create((size_t)pages * page_kib * 1024, &cfg);
}

struct chunks {
	int n, with_phys, bad;
	size_t bytes;
};

static void walk(struct gen_pool *pool, struct gen_pool_chunk *c, void *arg)
{
	struct chunks *w = arg;
	size_t len = c->end_addr + 1 - c->start_addr, step = (size_t)page_kib * 1024;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	w->n++;
	w->bytes += len;
	if (len % step || len > (1u << 30))
		w->bad++;
	if (c->phys_addr != GP_NO_PHYS)
		w->with_phys++;
	/* Every 4 KiB page where the chunk's phys says it is. */
	for (size_t off = 0; fd >= 0 && c->phys_addr != GP_NO_PHYS && off < len; off += 4096) {
		uint64_t e = 0;

		if (pread(fd, &e, 8, (off_t)((c->start_addr + off) / 4096 * 8)) != 8 ||
		    (e & ((1ull << 55) - 1)) * 4096 != c->phys_addr + off)
			w->bad++;
	}
	if (fd >= 0)
		close(fd);
}

static void check_memory(struct gp_mem *m, unsigned int flags)
{
	struct gp_mem_info info;
	struct gen_pool *pool = gen_pool_create(12, NUMA_NO_NODE);
	struct chunks w = { 0 };
	struct io_uring ring;
	struct gp_uring_buffers *bufs;
	long pin0 = status_kib("VmPin");
	char path[512];
	int fd, n;

	assert_non_null(m);
	assert_int_equal(gp_mem_get_info(m, &info), 0);
	assert_int_equal(info.page_size, (size_t)page_kib * 1024);
	assert_int_equal(info.huge_bytes, info.size);
	assert_int_equal(info.fallback_errno, 0);
	assert_int_equal(info.fd >= 0, (flags & GP_MEM_SHAREABLE) != 0);
	assert_int_equal((uintptr_t)gp_mem_addr(m) % info.page_size, 0);
	n = gp_mem_add_to_pool(m, pool);
	assert_true(n >= 1 && n <= pages);
	gen_pool_for_each_chunk(pool, walk, &w);
	assert_int_equal(w.n, n);
	assert_int_equal(w.bad, 0);
	assert_int_equal(w.bytes, info.size);
	if (has_cap(CAP_SYS_ADMIN))
		assert_int_equal(w.with_phys, n);
	printf("hugetlb %ld KiB x %ld: %d chunk(s), %d with phys\n", page_kib,
	       pages, n, w.with_phys);

	assert_int_equal(io_uring_queue_init(8, &ring, 0), 0);
	bufs = gp_uring_register(&ring, pool, GP_URING_REQUIRE_FIXED);
	assert_non_null(bufs);
	assert_int_equal(status_kib("VmPin") - pin0, (long)(info.size >> 10));
	fd = scratch_open(path, sizeof(path), "hugetlb");
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(roundtrip(bufs, &ring, &ring, fd, 21), 0);
	close(fd);
	assert_int_equal(gp_mem_destroy(m), -EBUSY);
	assert_int_equal(gp_uring_unregister(bufs), 0);
	io_uring_queue_exit(&ring);
	gen_pool_destroy(pool);
	assert_int_equal(gp_mem_destroy(m), 0);
}

static void test_private(void **state)
{
	check_memory(huge_mem(0), 0);
}

static void test_memfd(void **state)
{
	check_memory(huge_mem(GP_MEM_SHAREABLE), GP_MEM_SHAREABLE);
}

static void test_touch_prefault(void **state)
{
	check_memory(huge_mem(GP_MEM_TOUCH_PREFAULT), 0);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_private),
	cmocka_unit_test(test_memfd),
	cmocka_unit_test(test_touch_prefault),
};

static const struct CMUnitTest tests_1g[] = {
	cmocka_unit_test(test_memfd),
};

int main(int argc, char **argv)
{
	struct hp_reserve r;
	int ret;

	if (argc < 3 || (strcmp(argv[2], "2m") && strcmp(argv[2], "1g"))) {
		fprintf(stderr, "usage: %s DIR 2m|1g\n", argv[0]);
		return 2;
	}
	io_dir = argv[1];
	page_kib = strcmp(argv[2], "2m") == 0 ? 2048 : 1048576;
	pages = page_kib == 2048 ? 8 : 1;
	require_io_uring();
	ret = hp_reserve(&r, page_kib, pages);
	if (ret) {
		hp_restore(&r);
		printf("skip: cannot reserve %ld hugepage(s) of %ld KiB (%s)\n",
		       pages, page_kib, strerror(-ret));
		return TEST_SKIP;
	}
	/* A 1 GiB page takes a while to gather and clear: one mapping of it. */
	if (page_kib == 2048)
		ret = cmocka_run_group_tests(tests, NULL, NULL);
	else
		ret = cmocka_run_group_tests(tests_1g, NULL, NULL);
	hp_restore(&r);
	return ret;
}
