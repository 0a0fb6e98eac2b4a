// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_pool.c - gen_pool_create/destroy, names, min_alloc_order.
 */
#include <string.h>

#include "unit.h"

static void test_create_valid_orders(void **state)
{
	static const int orders[] = { 0, 1, 5, 12, 30, GP_MAX_ORDER };
	struct gen_pool *pool;
	size_t i;

	for (i = 0; i < sizeof(orders) / sizeof(orders[0]); i++) {
		pool = gen_pool_create(orders[i], NUMA_NO_NODE);
		assert_non_null(pool);
		assert_int_equal(gp_min_alloc_order(pool), orders[i]);
		assert_int_equal(gen_pool_size(pool), 0);
		assert_int_equal(gen_pool_avail(pool), 0);
		assert_null(gp_name(pool));
		gen_pool_destroy(pool);
	}
	/* Node 0 always exists. */
	pool = gen_pool_create(3, 0);
	assert_non_null(pool);
	assert_int_equal(gp_min_alloc_order(pool), 3);
	assert_int_equal(gp_destroy_checked(pool), 0);
}

static void test_create_bad_order(void **state)
{
	static const int orders[] = { -1, -40, INT_MIN, GP_MAX_ORDER + 1, 63,
				      64, INT_MAX };
	size_t i;

	for (i = 0; i < sizeof(orders) / sizeof(orders[0]); i++) {
		errno = 0;
		assert_null(gen_pool_create(orders[i], NUMA_NO_NODE));
		assert_int_equal(errno, EINVAL);
	}
}

static void test_create_bad_nid(void **state)
{
	static const int nids[] = { -2, -100, INT_MIN, 64, 1000, INT_MAX };
	size_t i;

	for (i = 0; i < sizeof(nids) / sizeof(nids[0]); i++) {
		errno = 0;
		assert_null(gen_pool_create(4, nids[i]));
		assert_int_equal(errno, EINVAL);
	}
}

static void test_destroy_empty(void **state)
{
	struct gen_pool *pool = gen_pool_create(4, NUMA_NO_NODE);
	unsigned long a;

	assert_non_null(pool);
	/* Empty: no chunks at all. */
	gen_pool_destroy(pool);

	/* Chunks but no live allocation: destroy is fine. */
	pool = gen_pool_create(4, NUMA_NO_NODE);
	assert_non_null(pool);
	assert_int_equal(gen_pool_add(pool, UT_BASE, 0x1000, NUMA_NO_NODE), 0);
	assert_int_equal(gen_pool_add(pool, 0x40000, 0x100, NUMA_NO_NODE), 0);
	a = gen_pool_alloc(pool, 32);
	assert_int_equal(a, 0x40000);
	gen_pool_free(pool, a, 32);
	gen_pool_destroy(pool);
}

static void test_destroy_checked(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(4, &cap);
	unsigned long a;

	assert_int_equal(gp_destroy_checked(NULL), -EINVAL);
	assert_int_equal(gen_pool_add(pool, UT_BASE, 0x1000, NUMA_NO_NODE), 0);
	a = gen_pool_alloc(pool, 16);
	assert_int_equal(a, UT_BASE);
	/* Busy: refused, intact, and not reported. */
	assert_int_equal(gp_destroy_checked(pool), -EBUSY);
	assert_int_equal(cap.count, 0);
	assert_int_equal(gen_pool_avail(pool), 0x1000 - 16);
	gen_pool_free(pool, a, 16);
	assert_int_equal(cap.count, 0);
	assert_int_equal(gp_destroy_checked(pool), 0);
}

static void test_destroy_busy_report_mode(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(4, &cap);
	unsigned long a, b;

	assert_int_equal(gen_pool_add(pool, UT_BASE, 0x1000, NUMA_NO_NODE), 0);
	a = gen_pool_alloc(pool, 16);
	b = gen_pool_alloc(pool, 40);
	assert_int_equal(a, UT_BASE);
	assert_int_equal(b, UT_BASE + 16);
	gen_pool_destroy(pool);
	/* One report per live allocation, then the summary. */
	assert_int_equal(cap.count, 3);
	assert_int_equal(cap.last.kind, GP_MISUSE_DESTROY_BUSY);
	assert_int_equal(cap.last.size, 16 + 48);
	/* The pool is left intact and usable. */
	assert_int_equal(gen_pool_avail(pool), 0x1000 - 64);
	gen_pool_free(pool, a, 16);
	gen_pool_free(pool, b, 40);
	assert_int_equal(cap.count, 3);
	assert_int_equal(gp_destroy_checked(pool), 0);
}

static void test_names(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(4, &cap);
	char buf[16];

	assert_null(gp_name(pool));
	strcpy(buf, "sram");
	assert_int_equal(gp_set_name(pool, buf), 0);
	/* The name is a copy. */
	strcpy(buf, "changed");
	assert_string_equal(gp_name(pool), "sram");

	/* The name appears in misuse reports. */
	assert_int_equal(gen_pool_add(pool, UT_BASE, 0x100, NUMA_NO_NODE), 0);
	gen_pool_free(pool, UT_BASE, 16);
	assert_int_equal(cap.count, 1);
	assert_int_equal(cap.last.kind, GP_MISUSE_DOUBLE_FREE);
	assert_string_equal(cap.last_pool_name, "sram");
	assert_ptr_equal(cap.last.pool, pool);

	assert_int_equal(gp_set_name(pool, "ocram-2"), 0);
	assert_string_equal(gp_name(pool), "ocram-2");
	assert_int_equal(gp_set_name(pool, ""), 0);
	assert_string_equal(gp_name(pool), "");
	assert_int_equal(gp_set_name(pool, NULL), 0);
	assert_null(gp_name(pool));
	gen_pool_free(pool, UT_BASE, 16);
	assert_int_equal(cap.count, 2);
	assert_string_equal(cap.last_pool_name, "(unnamed)");

	assert_int_equal(gp_set_name(NULL, "x"), -EINVAL);
	assert_null(gp_name(NULL));
	gen_pool_destroy(pool);
}

static void test_null_pool_queries(void **state)
{
	assert_int_equal(gp_min_alloc_order(NULL), -EINVAL);
	assert_int_equal(gen_pool_size(NULL), 0);
	assert_int_equal(gen_pool_avail(NULL), 0);
	assert_int_equal(gp_set_misuse_policy(NULL, GP_MISUSE_REPORT), -EINVAL);
	assert_int_equal(gp_set_misuse_handler(NULL, NULL, NULL), -EINVAL);
}

static void test_misuse_policy_args(void **state)
{
	struct gen_pool *pool = gen_pool_create(0, NUMA_NO_NODE);

	assert_non_null(pool);
	assert_int_equal(gp_set_misuse_policy(pool, GP_MISUSE_REPORT), 0);
	assert_int_equal(gp_set_misuse_policy(pool, GP_MISUSE_ABORT), 0);
	assert_int_equal(gp_set_misuse_policy(pool, (enum gp_misuse_policy)2),
			 -EINVAL);
	assert_int_equal(gp_set_misuse_policy(pool, (enum gp_misuse_policy)-1),
			 -EINVAL);
	assert_string_equal(gp_misuse_kind_name(GP_MISUSE_DOUBLE_FREE),
			    "double free");
	assert_string_equal(gp_misuse_kind_name((enum gp_misuse_kind)99),
			    "unknown");
	gen_pool_destroy(pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_valid_orders),
		cmocka_unit_test(test_create_bad_order),
		cmocka_unit_test(test_create_bad_nid),
		cmocka_unit_test(test_destroy_empty),
		cmocka_unit_test(test_destroy_checked),
		cmocka_unit_test(test_destroy_busy_report_mode),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_null_pool_queries),
		cmocka_unit_test(test_misuse_policy_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
