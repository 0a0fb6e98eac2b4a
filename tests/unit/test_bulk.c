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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bulk_matches_single),
		cmocka_unit_test(test_bulk_partial),
		cmocka_unit_test(test_bulk_bad_args),
		cmocka_unit_test(test_bulk_free_bad_inside),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
