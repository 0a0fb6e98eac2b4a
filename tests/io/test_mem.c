// SPDX-License-Identifier: MIT
/*
 * tests/io/test_mem.c - backing memory: anonymous, memfd (shared with a
 * child through its fd), THP; resident and locked; NUMA binding; the
 * hugetlb shortfall as an error and its fallback; physical addresses
 * checked against an independent pagemap read, and hidden without
 * CAP_SYS_ADMIN; mlock refused without CAP_IPC_LOCK; bad arguments.
 */
#include "iotest.h"

#include <linux/mempolicy.h>
#include <sys/mman.h>

#define MIB (1u << 20)

/* Are all pages of [p, p + len) resident? */
static bool resident(void *p, size_t len)
{
	size_t n = (len + 4095) / 4096;
	unsigned char *v = malloc(n);
	bool all = v && mincore(p, len, v) == 0;

	for (size_t i = 0; all && i < n; i++)
		all = v[i] & 1;
	free(v);
	return all;
}

/* The physical address of @p from pagemap (0 if hidden). */
static uint64_t phys_of(const void *p)
{
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &e, 8, (off_t)((uintptr_t)p / 4096 * 8)) != 8)
		e = 0;
	close(fd);
	if (!(e >> 63) || !(e & ((1ull << 55) - 1)))
		return 0;
	return (e & ((1ull << 55) - 1)) * 4096 + (uintptr_t)p % 4096;
}

static struct gp_mem *mem_of(enum gp_mem_backing b, unsigned int flags,
			     size_t size)
{
	struct gp_mem_config cfg = { .backing = b, .flags = flags,
				     .nid = NUMA_NO_NODE };

	return gp_mem_create(size, &cfg);
}

static void test_anon(void **state)
{
	long lck0 = status_kib("VmLck");
	struct gp_mem *m = mem_of(GP_MEM_ANON, 0, 10000);
	struct gp_mem_info info;

	assert_non_null(m);
	assert_int_equal(gp_mem_get_info(m, &info), 0);
	assert_int_equal(info.backing, GP_MEM_ANON);
	assert_int_equal(info.page_size, 4096);
	assert_int_equal(gp_mem_size(m), 12288);
	assert_int_equal(info.fd, -1);
	assert_true(info.locked);
	assert_int_equal(status_kib("VmLck") - lck0, 12);
	assert_true(resident(gp_mem_addr(m), gp_mem_size(m)));
	assert_int_equal(gp_mem_destroy(m), 0);
	assert_int_equal(status_kib("VmLck"), lck0);
}

/* Pre-faulting by touch (the path for kernels without
 * MADV_POPULATE_WRITE) leaves everything resident too. */
static void test_touch_prefault(void **state)
{
	struct gp_mem *m = mem_of(GP_MEM_ANON, GP_MEM_NO_MLOCK | GP_MEM_TOUCH_PREFAULT,
				  4 * MIB);
	struct gp_mem_info info;

	assert_non_null(m);
	assert_int_equal(gp_mem_get_info(m, &info), 0);
	assert_false(info.locked);
	assert_true(resident(gp_mem_addr(m), gp_mem_size(m)));
	assert_int_equal(gp_mem_destroy(m), 0);
}

static int child_writes(void *arg)
{
	struct gp_mem *m = arg;
	void *p = mmap(NULL, gp_mem_size(m), PROT_READ | PROT_WRITE, MAP_SHARED,
		       gp_mem_fd(m), 0);

	if (p == MAP_FAILED)
		return 1;
	fill_pattern(p, gp_mem_size(m), 4, 0);
	return 0;
}

/* A memfd is shared: another process maps it by its fd. */
static void test_memfd_shared(void **state)
{
	struct gp_mem *m = mem_of(GP_MEM_ANON, GP_MEM_SHAREABLE, MIB);
	struct gp_mem_info info;

	assert_non_null(m);
	assert_int_equal(gp_mem_get_info(m, &info), 0);
	assert_int_equal(info.backing, GP_MEM_MEMFD);
	assert_true(gp_mem_fd(m) >= 0);
	assert_int_equal(in_child(child_writes, m), 0);
	assert_int_equal(check_pattern(gp_mem_addr(m), MIB, 4, 0), -1);
	assert_int_equal(gp_mem_destroy(m), 0);
}

static void test_thp(void **state)
{
	struct gp_mem *m = mem_of(GP_MEM_THP, 0, 8 * MIB);
	struct gp_mem_info info;

	assert_non_null(m);
	assert_int_equal(gp_mem_get_info(m, &info), 0);
	assert_int_equal(info.backing, GP_MEM_THP);
	assert_int_equal((uintptr_t)gp_mem_addr(m) % (2 * MIB), 0);
	assert_true(info.huge_bytes <= info.size);
	assert_true(info.huge_bytes % (2 * MIB) == 0);
	printf("thp: %zu of %zu bytes in huge pages\n", info.huge_bytes, info.size);
	assert_int_equal(gp_mem_destroy(m), 0);
}

static long free_hugepages_2m(void)
{
	long n = 0;
	FILE *f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "r");

	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = 0;
		fclose(f);
	}
	return n;
}

/* More 2 MiB pages than are free: an error, never a SIGBUS; with
 * fallback THP stands in and says why. */
static void test_hugetlb_shortfall(void **state)
{
	long free_pages = free_hugepages_2m();
	size_t size = (size_t)(free_pages + 1) * 2 * MIB;
	struct gp_mem_info info;
	struct gp_mem *m;

	if (free_pages > 64)
		skip();
	errno = 0;
	assert_null(mem_of(GP_MEM_HUGETLB_2M, 0, size));
	assert_int_equal(errno, ENOMEM);
	assert_null(mem_of(GP_MEM_HUGETLB_2M, GP_MEM_SHAREABLE, size));
	assert_int_equal(errno, ENOMEM);
	m = mem_of(GP_MEM_HUGETLB_2M, GP_MEM_FALLBACK, size);
	assert_non_null(m);
	assert_int_equal(gp_mem_get_info(m, &info), 0);
	assert_int_equal(info.backing, GP_MEM_THP);
	assert_int_equal(info.fallback_errno, ENOMEM);
	assert_int_equal(gp_mem_destroy(m), 0);
	/* Shareable falls back to a plain memfd. */
	m = mem_of(GP_MEM_HUGETLB_1G, GP_MEM_FALLBACK | GP_MEM_SHAREABLE, MIB);
	assert_non_null(m);
	assert_int_equal(gp_mem_get_info(m, &info), 0);
	assert_true(info.backing == GP_MEM_MEMFD || info.backing == GP_MEM_HUGETLB_1G ||
		    info.backing == GP_MEM_HUGETLB_2M || info.backing == GP_MEM_THP);
	assert_true(info.fd >= 0);
	assert_int_equal(gp_mem_destroy(m), 0);
}

static void test_numa(void **state)
{
	struct gp_mem_config cfg = { .backing = GP_MEM_ANON, .nid = 0 };
	struct gp_mem *m;
	int node = -1;

	if (access("/sys/devices/system/node/node0", F_OK))
		skip();
	m = gp_mem_create(MIB, &cfg);
	assert_non_null(m);
	assert_int_equal(syscall(SYS_get_mempolicy, &node, NULL, 0,
				 (char *)gp_mem_addr(m) + 8192,
				 MPOL_F_NODE | MPOL_F_ADDR), 0);
	assert_int_equal(node, 0);
	assert_int_equal(gp_mem_destroy(m), 0);
	cfg.nid = 1000;
	assert_null(gp_mem_create(MIB, &cfg));
	assert_int_equal(errno, EINVAL);
}

/* Every chunk with a phys is physically contiguous and says where;
 * returns the number of chunks with one. */
struct phys_check {
	int chunks, with_phys, bad;
};

static void check_chunk(struct gen_pool *pool, struct gen_pool_chunk *c, void *arg)
{
	struct phys_check *pc = arg;
	size_t len = c->end_addr + 1 - c->start_addr;

	pc->chunks++;
	if (len > (1u << 30))
		pc->bad++;
	if (c->phys_addr == GP_NO_PHYS)
		return;
	pc->with_phys++;
	for (size_t off = 0; off < len; off += 4096)
		if (phys_of((void *)(c->start_addr + off)) != c->phys_addr + off)
			pc->bad++;
	if (gen_pool_virt_to_phys(pool, c->start_addr + len / 2) != c->phys_addr + len / 2)
		pc->bad++;
}

static int add_and_check_flags(struct gp_mem *m, unsigned int flags,
			       struct phys_check *pc)
{
	struct gen_pool *pool = gen_pool_create(12, NUMA_NO_NODE);
	int n = gp_mem_add_to_pool_flags(m, pool, flags);

	memset(pc, 0, sizeof(*pc));
	gen_pool_for_each_chunk(pool, check_chunk, pc);
	if (n != pc->chunks)
		pc->bad++;
	gen_pool_destroy(pool);
	return n;
}

static int add_and_check(struct gp_mem *m, struct phys_check *pc)
{
	return add_and_check_flags(m, 0, pc);
}

static void test_phys(void **state)
{
	struct gp_mem *m = mem_of(GP_MEM_THP, 0, 16 * MIB);
	struct gp_mem_info info;
	struct phys_check pc;

	assert_non_null(m);
	assert_true(add_and_check(m, &pc) >= 1);
	assert_int_equal(pc.bad, 0);
	assert_int_equal(gp_mem_get_info(m, &info), 0);
	if (!has_cap(CAP_SYS_ADMIN)) {
		assert_false(info.phys_known);
	} else {
		assert_true(info.phys_known);
		/* THP memory comes in 2 MiB folios: at least those have phys. */
		if (info.huge_bytes)
			assert_true(pc.with_phys > 0);
	}
	printf("phys: %d chunks, %d with phys (phys_known %d)\n", pc.chunks,
	       pc.with_phys, info.phys_known);
	assert_int_equal(gp_mem_destroy(m), 0);
}

/*
 * GP_MEM_ADD_LARGE: one chunk for memory up to 1 GiB, so one allocation
 * may take nearly all of it; its phys only when the whole chunk is
 * physically contiguous (a single THP folio is; 16 MiB of them rarely).
 */
static void test_large_chunks(void **state)
{
	struct gp_mem *m = mem_of(GP_MEM_THP, 0, 16 * MIB);
	struct gen_pool *pool = gen_pool_create(12, NUMA_NO_NODE);
	struct gp_mem_info info;
	struct phys_check pc;
	unsigned long a;

	assert_non_null(m);
	assert_int_equal(add_and_check_flags(m, GP_MEM_ADD_LARGE, &pc), 1);
	assert_int_equal(pc.bad, 0);
	/* Added to a pool for real: a 15 MiB allocation fits in one chunk. */
	assert_int_equal(gp_mem_destroy(m), 0);
	m = mem_of(GP_MEM_THP, 0, 16 * MIB);
	assert_non_null(m);
	assert_int_equal(gp_mem_add_to_pool_flags(m, pool, GP_MEM_ADD_LARGE), 1);
	a = gen_pool_alloc(pool, 15 * MIB);
	assert_int_equal(a, (unsigned long)gp_mem_addr(m));
	gen_pool_free(pool, a, 15 * MIB);
	gen_pool_destroy(pool);
	assert_int_equal(gp_mem_destroy(m), 0);

	/* One 2 MiB THP folio is contiguous: the chunk keeps its phys. */
	m = mem_of(GP_MEM_THP, 0, 2 * MIB);
	assert_non_null(m);
	assert_int_equal(add_and_check_flags(m, GP_MEM_ADD_LARGE, &pc), 1);
	assert_int_equal(pc.bad, 0);
	assert_int_equal(gp_mem_get_info(m, &info), 0);
	if (info.phys_known && info.huge_bytes == 2 * MIB)
		assert_int_equal(pc.with_phys, 1);
	if (!info.phys_known)
		assert_int_equal(pc.with_phys, 0);
	printf("large: 2 MiB THP chunk with phys %d (phys_known %d, huge %zu)\n",
	       pc.with_phys, info.phys_known, info.huge_bytes);
	assert_int_equal(gp_mem_destroy(m), 0);
	pool = gen_pool_create(12, NUMA_NO_NODE);
	m = mem_of(GP_MEM_ANON, GP_MEM_NO_MLOCK, 2 * MIB);
	assert_int_equal(gp_mem_add_to_pool_flags(m, pool, 1u << 7), -EINVAL);
	assert_int_equal(gp_mem_add_to_pool_flags(NULL, pool, GP_MEM_ADD_LARGE), -EINVAL);
	gen_pool_destroy(pool);
	assert_int_equal(gp_mem_destroy(m), 0);
}

/* Over 1 GiB: 1 GiB chunks (the last shorter), one fixed-buffer slot each. */
static void test_large_over_1g(void **state)
{
	const size_t len = (1u << 30) + 4 * MIB;
	struct gp_mem *m = mem_of(GP_MEM_ANON, GP_MEM_NO_MLOCK, len);
	struct gen_pool *pool = gen_pool_create(12, NUMA_NO_NODE);
	struct gp_uring_buffers *bufs;
	struct gp_uring_info info;
	struct io_uring ring;
	struct phys_check pc;

	if (!m)
		skip();
	assert_int_equal(gp_mem_add_to_pool_flags(m, pool, GP_MEM_ADD_LARGE), 2);
	memset(&pc, 0, sizeof(pc));
	gen_pool_for_each_chunk(pool, check_chunk, &pc);
	assert_int_equal(pc.chunks, 2);
	assert_int_equal(pc.bad, 0);
	assert_int_equal(io_uring_queue_init(4, &ring, 0), 0);
	bufs = gp_uring_register(&ring, pool, 0);
	assert_non_null(bufs);
	assert_int_equal(gp_uring_get_info(bufs, &info), 0);
	if (info.mode != GP_URING_UNREGISTERED) {
		assert_int_equal(info.slots, 2);
		assert_int_equal(info.registered_bytes, len);
	}
	assert_int_equal(gp_uring_unregister(bufs), 0);
	io_uring_queue_exit(&ring);
	gen_pool_destroy(pool);
	assert_int_equal(gp_mem_destroy(m), 0);
}

static int child_no_sys_admin(void *arg)
{
	struct gp_mem *m;
	struct gp_mem_info info;
	struct phys_check pc;

	if (drop_cap(CAP_SYS_ADMIN))
		return 10;
	m = mem_of(GP_MEM_THP, GP_MEM_NO_MLOCK, 8 * MIB);
	if (!m || add_and_check(m, &pc) != 1 || pc.bad || pc.with_phys)
		return 11;
	gp_mem_get_info(m, &info);
	if (info.phys_known)
		return 12;
	return gp_mem_destroy(m) ? 13 : 0;
}

/* Without CAP_SYS_ADMIN pagemap hides frames: one chunk, no phys. */
static void test_phys_hidden(void **state)
{
	assert_int_equal(in_child(child_no_sys_admin, NULL), 0);
}

static int child_no_ipc_lock(void *arg)
{
	struct rlimit rl = { 1 * MIB, 1 * MIB };
	struct gp_mem_info info;
	struct gp_mem *m;

	if (drop_cap(CAP_IPC_LOCK) || setrlimit(RLIMIT_MEMLOCK, &rl))
		return 20;
	errno = 0;
	if (mem_of(GP_MEM_ANON, 0, 4 * MIB) || errno != ENOMEM)
		return 21;
	m = mem_of(GP_MEM_ANON, GP_MEM_FALLBACK, 4 * MIB);
	if (!m || gp_mem_get_info(m, &info) || info.locked || !info.fallback_errno)
		return 22;
	gp_mem_destroy(m);
	m = mem_of(GP_MEM_ANON, 0, 512 << 10);	/* within the limit */
	if (!m || gp_mem_get_info(m, &info) || !info.locked)
		return 23;
	return gp_mem_destroy(m) ? 24 : 0;
}

/* mlock over RLIMIT_MEMLOCK without CAP_IPC_LOCK: a clear error, or
 * unlocked memory when fallback is allowed. */
static void test_mlock_refused(void **state)
{
	assert_int_equal(in_child(child_no_ipc_lock, NULL), 0);
}

static void test_bad_args(void **state)
{
	struct gp_mem_config cfg = { .backing = GP_MEM_ANON, .nid = NUMA_NO_NODE };
	struct gp_mem *m;
	struct gen_pool *pool, *big;

	assert_null(gp_mem_create(0, NULL));
	assert_int_equal(errno, EINVAL);
	cfg.flags = 1u << 30;
	assert_null(gp_mem_create(4096, &cfg));
	assert_int_equal(errno, EINVAL);
	cfg.flags = 0;
	cfg.backing = (enum gp_mem_backing)42;
	assert_null(gp_mem_create(4096, &cfg));
	assert_int_equal(errno, EINVAL);
	m = mem_of(GP_MEM_ANON, 0, 2 * MIB);
	pool = gen_pool_create(12, NUMA_NO_NODE);
	big = gen_pool_create(22, NUMA_NO_NODE);	/* 4 MiB units */
	assert_int_equal(gp_mem_add_to_pool(m, big), -EINVAL);
	assert_int_equal(gp_mem_add_to_pool(NULL, pool), -EINVAL);
	assert_true(gp_mem_add_to_pool(m, pool) >= 1);
	assert_int_equal(gp_mem_add_to_pool(m, pool), -EBUSY);
	gen_pool_destroy(pool);
	gen_pool_destroy(big);
	assert_int_equal(gp_mem_get_info(NULL, NULL), -EINVAL);
	assert_null(gp_mem_addr(NULL));
	assert_int_equal(gp_mem_fd(NULL), -1);
	assert_int_equal(gp_mem_destroy(m), 0);
	assert_int_equal(gp_mem_destroy(NULL), 0);
	assert_string_equal(gp_mem_backing_name(GP_MEM_HUGETLB_1G), "hugetlb-1g");
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_anon),
	cmocka_unit_test(test_touch_prefault),
	cmocka_unit_test(test_memfd_shared),
	cmocka_unit_test(test_thp),
	cmocka_unit_test(test_hugetlb_shortfall),
	cmocka_unit_test(test_numa),
	cmocka_unit_test(test_phys),
	cmocka_unit_test(test_phys_hidden),
	cmocka_unit_test(test_large_chunks),
	cmocka_unit_test(test_large_over_1g),
	cmocka_unit_test(test_mlock_refused),
	cmocka_unit_test(test_bad_args),
};

IO_TEST_MAIN(tests)
