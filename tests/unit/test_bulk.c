// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_bulk.c - gp_alloc_bulk and gp_free_bulk.
 */
#include "unit.h"

#define ORDER 4

/* Bulk places each allocation where the same gen_pool_alloc() calls would. */
static void test_bulk_matches_single(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *one = ut_pool(ORDER, &cap);
	struct gen_pool *bulk = ut_pool(ORDER, &cap);
	unsigned long a[8];

	assert_int_equal(gen_pool_add(one, UT_BASE, 0x400, NUMA_NO_NODE), 0);
	assert_int_equal(gen_pool_add(bulk, UT_BASE, 0x400, NUMA_NO_NODE), 0);
	/* A hole at the start that only small allocations fit. */
	assert_int_equal(gen_pool_alloc(one, 16), UT_BASE);
	assert_int_equal(gen_pool_alloc(bulk, 16), UT_BASE);
	assert_int_equal(gen_pool_alloc(one, 64), UT_BASE + 0x10);
	assert_int_equal(gen_pool_alloc(bulk, 64), UT_BASE + 0x10);
	gen_pool_free(one, UT_BASE, 16);
	gen_pool_free(bulk, UT_BASE, 16);
	assert_int_equal(gp_alloc_bulk(bulk, 48, a, 8), 8);
	for (int i = 0; i < 8; i++)
		assert_int_equal(a[i], gen_pool_alloc(one, 48));
	assert_int_equal(gen_pool_avail(bulk), gen_pool_avail(one));
	assert_int_equal(gp_free_bulk(bulk, a, 8, 48), 0);
	assert_int_equal(gen_pool_avail(bulk), 0x400 - 64);
	assert_int_equal(cap.count, 0);
	ut_destroy(one);
	ut_destroy(bulk);
}

/* A pool that runs out gives what it has, and says ENOMEM. */
static void test_bulk_partial(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(ORDER, &cap);
	unsigned long a[8] = { 0 };

	assert_int_equal(gen_pool_add(pool, UT_BASE, 0x50, NUMA_NO_NODE), 0);
	errno = 0;
	assert_int_equal(gp_alloc_bulk(pool, 32, a, 8), 2);
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(a[0], UT_BASE);
	assert_int_equal(a[1], UT_BASE + 0x20);
	assert_int_equal(a[2], 0);
	assert_int_equal(gen_pool_avail(pool), 0x10);
	assert_int_equal(gp_alloc_bulk(pool, 32, a, 0), 0);
	assert_int_equal(gp_free_bulk(pool, a, 2, 32), 0);
	assert_int_equal(gen_pool_avail(pool), 0x50);
	ut_destroy(pool);
}

static void test_bulk_bad_args(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(ORDER, &cap);
	unsigned long a[2];

	assert_int_equal(gen_pool_add(pool, UT_BASE, 0x100, NUMA_NO_NODE), 0);
	errno = 0;
	assert_int_equal(gp_alloc_bulk(NULL, 16, a, 2), 0);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(gp_alloc_bulk(pool, 16, NULL, 2), 0);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(gp_alloc_bulk(pool, 0, a, 2), 0);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(gp_free_bulk(NULL, a, 2, 16), -EINVAL);
	assert_int_equal(gp_free_bulk(pool, NULL, 2, 16), -EINVAL);
	assert_int_equal(gp_free_bulk(pool, NULL, 0, 16), 0);
	assert_int_equal(gen_pool_avail(pool), 0x100);
	assert_int_equal(cap.count, 0);
	ut_destroy(pool);
}

/* Bad addresses inside a batch are reported; the good ones are freed. */
static void test_bulk_free_bad_inside(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(ORDER, &cap);
	unsigned long a[4];

	assert_int_equal(gen_pool_add(pool, UT_BASE, 0x100, NUMA_NO_NODE), 0);
	assert_int_equal(gp_alloc_bulk(pool, 16, a, 2), 2);
	a[2] = a[0];		/* a double free inside the batch */
	a[3] = 0x999000;	/* an address no chunk holds */
	assert_int_equal(gp_free_bulk(pool, a, 4, 16), -EALREADY);
	assert_int_equal(cap.count, 2);
	assert_int_equal(cap.last.kind, GP_MISUSE_FOREIGN_ADDR);
	assert_int_equal(cap.last.addr, 0x999000);
	assert_int_equal(gen_pool_avail(pool), 0x100);
	ut_destroy(pool);
}

/* Aligned first fit packs with the alignment's stride and leaves the
 * gaps free; the placements are still those of single calls. */
static void test_bulk_aligned_and_chunks(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *one = ut_pool(ORDER, &cap);
	struct gen_pool *bulk = ut_pool(ORDER, &cap);
	struct genpool_data_align al = { .align = 64 };
	unsigned long a[40];
	size_t n;

	for (int i = 0; i < 2; i++) {
		struct gen_pool *p = i ? bulk : one;

		/* Two chunks: the newer is used first, then the older. */
		assert_int_equal(gen_pool_add(p, UT_BASE, 0x400, NUMA_NO_NODE), 0);
		assert_int_equal(gen_pool_add(p, UT_BASE + 0x1000, 0x200,
					      NUMA_NO_NODE), 0);
		gen_pool_set_algo(p, gen_pool_first_fit_align, &al);
	}
	n = gp_alloc_bulk(bulk, 24, a, 40);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(a[i], gen_pool_alloc(one, 24));
	/* 0x200 and 0x400 bytes in 64-byte steps: 24 fit, all of them. */
	assert_int_equal(n, 24);
	assert_int_equal(a[0], UT_BASE + 0x1000);
	assert_int_equal(a[1], UT_BASE + 0x1040);
	assert_int_equal(a[8], UT_BASE);
	assert_int_equal(gen_pool_alloc(one, 24), 0);
	assert_int_equal(gen_pool_avail(bulk), gen_pool_avail(one));
	/* The gaps are real holes: 32 bytes fit in each. */
	assert_int_equal(gen_pool_alloc_algo(bulk, 32, gen_pool_first_fit,
					     NULL), UT_BASE + 0x1020);
	gen_pool_free(bulk, UT_BASE + 0x1020, 32);
	assert_int_equal(gp_free_bulk(bulk, a, n, 24), 0);
	assert_int_equal(gen_pool_avail(bulk), 0x600);
	assert_int_equal(cap.count, 0);
	ut_destroy(one);
	ut_destroy(bulk);
}

/* Best fit (any other algorithm): one by one, still as single calls. */
static void test_bulk_best_fit(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *one = ut_pool(ORDER, &cap);
	struct gen_pool *bulk = ut_pool(ORDER, &cap);
	unsigned long a[6], x[2];

	for (int i = 0; i < 2; i++) {
		struct gen_pool *p = i ? bulk : one;

		assert_int_equal(gen_pool_add(p, UT_BASE, 0x400, NUMA_NO_NODE), 0);
		/* Holes of 3 and 1 units between busy ones. */
		x[0] = gen_pool_alloc(p, 0x30);
		assert_int_equal(gen_pool_alloc(p, 0x10), UT_BASE + 0x30);
		x[1] = gen_pool_alloc(p, 0x10);
		assert_int_equal(gen_pool_alloc(p, 0x10), UT_BASE + 0x50);
		gen_pool_free(p, x[0], 0x30);
		gen_pool_free(p, x[1], 0x10);
		gen_pool_set_algo(p, gen_pool_best_fit, NULL);
	}
	assert_int_equal(gp_alloc_bulk(bulk, 0x10, a, 6), 6);
	for (int i = 0; i < 6; i++)
		assert_int_equal(a[i], gen_pool_alloc(one, 0x10));
	assert_int_equal(a[0], UT_BASE + 0x40);	/* the 1-unit hole first */
	assert_int_equal(gp_free_bulk(bulk, a, 6, 0x10), 0);
	assert_int_equal(cap.count, 0);
	ut_destroy(one);
	ut_destroy(bulk);
}

/* A free list in any order, across groups and chunks, allocations that
 * span groups among them, with the same address twice: the first frees
 * it, the second is a double free; wrong sizes are refused. */
static void test_bulk_free_mixed(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(ORDER, &cap);
	unsigned long a[80], b[8], list[12];

	assert_int_equal(gen_pool_add(pool, UT_BASE, 0x2000, NUMA_NO_NODE), 0);
	assert_int_equal(gen_pool_add(pool, UT_BASE + 0x4000, 0x2000,
				      NUMA_NO_NODE), 0);
	/* 5-unit allocations: many span a 64-unit group. */
	assert_int_equal(gp_alloc_bulk(pool, 0x50, a, 80), 80);
	list[0] = a[79];
	list[1] = a[3];
	list[2] = a[12];	/* spans units 60..64: two groups */
	list[3] = a[3];		/* again: a double free */
	list[4] = a[40];
	list[5] = a[13];
	list[6] = a[41] + 0x10;	/* interior */
	list[7] = a[2];
	assert_int_equal(gp_free_bulk(pool, list, 8, 0x50), -EALREADY);
	assert_int_equal(cap.count, 2);
	assert_int_equal(gen_pool_avail(pool), 0x4000 - 74 * 0x50);
	/* Freed ones are free (a double free now), the others still live. */
	assert_int_equal(gp_free_checked(pool, a[12], 0x50, NULL), -EALREADY);
	assert_int_equal(gp_free_checked(pool, a[41], 0x40, NULL), -EBADSLT);
	for (int i = 0; i < 80; i++) {
		if (i == 79 || i == 3 || i == 12 || i == 40 || i == 13 ||
		    i == 2)
			continue;
		b[0] = a[i];
		assert_int_equal(gp_free_bulk(pool, b, 1, 0x50), 0);
	}
	assert_int_equal(gen_pool_avail(pool), 0x4000);
	assert_int_equal(cap.count, 2);
	ut_destroy(pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bulk_matches_single),
		cmocka_unit_test(test_bulk_partial),
		cmocka_unit_test(test_bulk_bad_args),
		cmocka_unit_test(test_bulk_free_bad_inside),
		cmocka_unit_test(test_bulk_aligned_and_chunks),
		cmocka_unit_test(test_bulk_best_fit),
		cmocka_unit_test(test_bulk_free_mixed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
