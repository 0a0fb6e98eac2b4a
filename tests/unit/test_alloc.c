// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_alloc.c - gen_pool_alloc*, owners, gp_alloc_checked,
 * gen_pool_set_algo.
 */
#include "unit.h"

#define ORDER 4

static void test_size_zero(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(ORDER, &cap);
	unsigned long addr = 1;
	void *owner = &addr;

	assert_int_equal(gen_pool_add(pool, UT_BASE, 0x100, NUMA_NO_NODE), 0);
	errno = 0;
	assert_int_equal(gen_pool_alloc(pool, 0), 0);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(gen_pool_alloc_owner(pool, 0, &owner), 0);
	assert_int_equal(errno, EINVAL);
	assert_null(owner);
	assert_int_equal(gp_alloc_checked(pool, 0, NULL, NULL, &addr, NULL),
			 -EINVAL);
	assert_int_equal(addr, 0);
	assert_int_equal(gen_pool_avail(pool), 0x100);
	assert_int_equal(cap.count, 0);
	gen_pool_destroy(pool);
}

static void test_size_overflow(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(ORDER, &cap);
	struct gen_pool *pool0 = ut_pool(0, &cap);

	assert_int_equal(gen_pool_add(pool, UT_BASE, 0x100, NUMA_NO_NODE), 0);
	assert_int_equal(gen_pool_add(pool0, UT_BASE, 0x100, NUMA_NO_NODE), 0);
	/* Rounding SIZE_MAX up to 16 bytes overflows: a bad argument. */
	errno = 0;
	assert_int_equal(gen_pool_alloc(pool, SIZE_MAX), 0);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(gen_pool_alloc(pool, SIZE_MAX - 14), 0);
	assert_int_equal(errno, EINVAL);
	/* SIZE_MAX - 15 is a whole number of units: just too big. */
	errno = 0;
	assert_int_equal(gen_pool_alloc(pool, SIZE_MAX - 15), 0);
	assert_int_equal(errno, ENOMEM);
	/* With 1-byte units nothing overflows. */
	errno = 0;
	assert_int_equal(gen_pool_alloc(pool0, SIZE_MAX), 0);
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(gen_pool_avail(pool), 0x100);
	assert_int_equal(gen_pool_avail(pool0), 0x100);
	gen_pool_destroy(pool);
	gen_pool_destroy(pool0);
}

static void test_null_args(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(ORDER, &cap);
	unsigned long addr = 1;
	int junk;
	void *owner = &junk;

	assert_int_equal(gen_pool_add(pool, UT_BASE, 0x100, NUMA_NO_NODE), 0);
	errno = 0;
	assert_int_equal(gen_pool_alloc(NULL, 16), 0);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(gen_pool_alloc_algo(NULL, 16, gen_pool_first_fit,
					     NULL), 0);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(gen_pool_alloc_algo(pool, 16, NULL, NULL), 0);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(gen_pool_alloc_algo_owner(pool, 16, NULL, NULL,
						   &owner), 0);
	assert_int_equal(errno, EINVAL);
	assert_null(owner);
	assert_int_equal(gp_alloc_checked(NULL, 16, NULL, NULL, &addr, NULL),
			 -EINVAL);
	assert_int_equal(addr, 0);
	assert_int_equal(gp_alloc_checked(pool, 16, NULL, NULL, NULL, NULL),
			 -EINVAL);
	assert_int_equal(gen_pool_avail(pool), 0x100);
	gen_pool_destroy(pool);
}

/* "@owner: if not NULL, receives the chunk's owner (NULL on failure)". */
static void test_owner_null_pool(void **state)
{
	int junk;
	void *owner = &junk;

	errno = 0;
	assert_int_equal(gen_pool_alloc_owner(NULL, 16, &owner), 0);
	assert_int_equal(errno, EINVAL);
	assert_null(owner);
}

static void test_enomem_when_full(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(ORDER, &cap);
	unsigned long addr = 1;
	int i, junk;
	void *owner = &junk;

	assert_int_equal(gen_pool_add(pool, UT_BASE, 0x100, NUMA_NO_NODE), 0);
	/* Larger than the chunk. */
	errno = 0;
	assert_int_equal(gen_pool_alloc(pool, 0x101), 0);
	assert_int_equal(errno, ENOMEM);
	for (i = 0; i < 16; i++)
		assert_int_equal(gen_pool_alloc(pool, 16), UT_BASE + 16 * i);
	assert_int_equal(gen_pool_avail(pool), 0);
	errno = 0;
	assert_int_equal(gen_pool_alloc(pool, 1), 0);
	assert_int_equal(errno, ENOMEM);
	errno = 0;
	assert_int_equal(gen_pool_alloc_owner(pool, 1, &owner), 0);
	assert_int_equal(errno, ENOMEM);
	assert_null(owner);
	assert_int_equal(gp_alloc_checked(pool, 16, NULL, NULL, &addr, NULL),
			 -ENOMEM);
	assert_int_equal(addr, 0);
	/* Two separate free units are not a 32-byte hole. */
	gen_pool_free(pool, UT_BASE + 0x30, 16);
	gen_pool_free(pool, UT_BASE + 0x50, 16);
	assert_int_equal(gen_pool_avail(pool), 32);
	errno = 0;
	assert_int_equal(gen_pool_alloc(pool, 32), 0);
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(gen_pool_alloc(pool, 16), UT_BASE + 0x30);
	assert_int_equal(gen_pool_alloc(pool, 9), UT_BASE + 0x50);
	assert_int_equal(cap.count, 0);
	for (i = 0; i < 16; i++)
		gen_pool_free(pool, UT_BASE + 16 * i, 16);
	assert_int_equal(cap.count, 0);
	assert_int_equal(gp_destroy_checked(pool), 0);
}

static void test_order_rounding(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(8, &cap); /* 256-byte units */

	assert_int_equal(gen_pool_add(pool, 0x100000, 0x2000, NUMA_NO_NODE), 0);
	assert_int_equal(gen_pool_alloc(pool, 1), 0x100000);
	assert_int_equal(gen_pool_alloc(pool, 256), 0x100100);
	assert_int_equal(gen_pool_alloc(pool, 257), 0x100200);
	assert_int_equal(gen_pool_alloc(pool, 700), 0x100400);
	assert_int_equal(gen_pool_alloc(pool, 3), 0x100700);
	assert_int_equal(gen_pool_avail(pool), 0x2000 - 8 * 256);
	/* Free with the size that was asked for. */
	gen_pool_free(pool, 0x100200, 257);
	assert_int_equal(gen_pool_avail(pool), 0x2000 - 6 * 256);
	/* Any size that rounds to the same units is the same allocation. */
	gen_pool_free(pool, 0x100400, 768);
	gen_pool_free(pool, 0x100000, 200);
	gen_pool_free(pool, 0x100100, 256);
	gen_pool_free(pool, 0x100700, 3);
	assert_int_equal(cap.count, 0);
	assert_int_equal(gen_pool_avail(pool), 0x2000);
	gen_pool_destroy(pool);
}

static void test_owners(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(ORDER, &cap);
	int oa, ob;
	void *owner = NULL;
	unsigned long a, b, c, addr;

	assert_int_equal(gen_pool_add_owner(pool, 0x10000, GP_NO_PHYS, 0x100,
					    NUMA_NO_NODE, &oa), 0);
	assert_int_equal(gen_pool_add_owner(pool, 0x20000, GP_NO_PHYS, 0x20,
					    NUMA_NO_NODE, &ob), 0);
	a = gen_pool_alloc_owner(pool, 32, &owner);
	assert_int_equal(a, 0x20000);
	assert_ptr_equal(owner, &ob);
	b = gen_pool_alloc_owner(pool, 16, &owner);
	assert_int_equal(b, 0x10000);
	assert_ptr_equal(owner, &oa);
	c = gen_pool_alloc_algo_owner(pool, 16, gen_pool_best_fit, NULL,
				      &owner);
	assert_int_equal(c, 0x10010);
	assert_ptr_equal(owner, &oa);
	assert_int_equal(gp_alloc_checked(pool, 16, NULL, NULL, &addr, &owner),
			 0);
	assert_int_equal(addr, 0x10020);
	assert_ptr_equal(owner, &oa);
	/* The owner pointer is optional. */
	assert_int_equal(gen_pool_alloc_owner(pool, 16, NULL), 0x10030);

	owner = NULL;
	gen_pool_free_owner(pool, a, 32, &owner);
	assert_ptr_equal(owner, &ob);
	gen_pool_free_owner(pool, b, 16, &owner);
	assert_ptr_equal(owner, &oa);
	gen_pool_free_owner(pool, c, 16, NULL);
	assert_int_equal(gp_free_checked(pool, 0x10020, 16, &owner), 0);
	assert_ptr_equal(owner, &oa);
	/* A refused free reports NULL as the owner. */
	owner = &oa;
	gen_pool_free_owner(pool, 0x10020, 16, &owner);
	assert_null(owner);
	assert_int_equal(cap.count, 1);
	assert_int_equal(cap.last.kind, GP_MISUSE_DOUBLE_FREE);
	gen_pool_free(pool, 0x10030, 16);
	assert_int_equal(cap.count, 1);
	assert_int_equal(gp_destroy_checked(pool), 0);
}

/*
 * A 16-unit chunk with allocations A=[0,4) B=[4,5) C=[5,8) D=[8,10)
 * E=[10,16) (units); A and D are then freed, leaving the holes [0,4) and
 * [8,10): first fit puts 2 units at 0, best fit at 8.
 */
static void build_holes(struct gen_pool *pool)
{
	assert_int_equal(gen_pool_add(pool, UT_BASE, 0x100, NUMA_NO_NODE), 0);
	ut_fixed(pool, UT_BASE, 0x00, 64);
	ut_fixed(pool, UT_BASE, 0x40, 16);
	ut_fixed(pool, UT_BASE, 0x50, 48);
	ut_fixed(pool, UT_BASE, 0x80, 32);
	ut_fixed(pool, UT_BASE, 0xa0, 96);
	gen_pool_free(pool, UT_BASE, 64);
	gen_pool_free(pool, UT_BASE + 0x80, 32);
	assert_int_equal(gen_pool_avail(pool), 96);
}

static void test_set_algo(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(ORDER, &cap);
	unsigned long addr;

	build_holes(pool);
	/* Default: first fit. */
	assert_int_equal(gen_pool_alloc(pool, 32), UT_BASE);
	gen_pool_free(pool, UT_BASE, 32);

	gen_pool_set_algo(pool, gen_pool_best_fit, NULL);
	assert_int_equal(gen_pool_alloc(pool, 32), UT_BASE + 0x80);
	gen_pool_free(pool, UT_BASE + 0x80, 32);
	/* gp_alloc_checked with a NULL algorithm uses the pool's. */
	assert_int_equal(gp_alloc_checked(pool, 32, NULL, NULL, &addr, NULL),
			 0);
	assert_int_equal(addr, UT_BASE + 0x80);
	gen_pool_free(pool, addr, 32);
	/* An explicit algorithm overrides the pool's for one call. */
	assert_int_equal(gen_pool_alloc_algo(pool, 32, gen_pool_first_fit,
					     NULL), UT_BASE);
	gen_pool_free(pool, UT_BASE, 32);

	/* NULL restores first fit (and drops the data). */
	gen_pool_set_algo(pool, NULL, &addr);
	assert_int_equal(gen_pool_alloc(pool, 32), UT_BASE);
	gen_pool_free(pool, UT_BASE, 32);
	/* NULL pool: ignored. */
	gen_pool_set_algo(NULL, gen_pool_best_fit, NULL);
	assert_int_equal(cap.count, 0);

	/* The pool's data reaches its algorithm. */
	{
		struct genpool_data_fixed fd = { .offset = 0x80 };

		gen_pool_set_algo(pool, gen_pool_fixed_alloc, &fd);
		assert_int_equal(gen_pool_alloc(pool, 16), UT_BASE + 0x80);
		errno = 0;
		assert_int_equal(gen_pool_alloc(pool, 16), 0);
		assert_int_equal(errno, ENOMEM);
		gen_pool_free(pool, UT_BASE + 0x80, 16);
		gen_pool_set_algo(pool, NULL, NULL);
	}
	assert_int_equal(cap.count, 0);
	gen_pool_free(pool, UT_BASE + 0x40, 16);
	gen_pool_free(pool, UT_BASE + 0x50, 48);
	gen_pool_free(pool, UT_BASE + 0xa0, 96);
	assert_int_equal(gp_destroy_checked(pool), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size_zero),
		cmocka_unit_test(test_size_overflow),
		cmocka_unit_test(test_null_args),
		cmocka_unit_test(test_owner_null_pool),
		cmocka_unit_test(test_enomem_when_full),
		cmocka_unit_test(test_order_rounding),
		cmocka_unit_test(test_owners),
		cmocka_unit_test(test_set_algo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
