// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_query.c - gen_pool_has_addr() and addr_in_gen_pool().
 */
#include "unit.h"

/* Both names must give the same answer; returns it. */
static int has(struct gen_pool *pool, unsigned long start, size_t size)
{
	int a = gen_pool_has_addr(pool, start, size);

	assert_int_equal(addr_in_gen_pool(pool, start, size), a);
	return a;
}

static void test_has_addr(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(4, &cap);

	assert_int_equal(has(pool, 0x10000, 1), 0);	/* empty pool */
	assert_int_equal(gen_pool_add(pool, 0x10000, 0x1000, NUMA_NO_NODE), 0);
	/* Inside. */
	assert_int_equal(has(pool, 0x10000, 0x1000), 1);
	assert_int_equal(has(pool, 0x10000, 1), 1);
	assert_int_equal(has(pool, 0x10fff, 1), 1);
	assert_int_equal(has(pool, 0x10800, 0x800), 1);
	/* Not on a unit boundary still counts: it is an address query. */
	assert_int_equal(has(pool, 0x10003, 5), 1);
	/* Straddling the end or the start. */
	assert_int_equal(has(pool, 0x10fff, 2), 0);
	assert_int_equal(has(pool, 0x10800, 0x801), 0);
	assert_int_equal(has(pool, 0x10000, 0x1001), 0);
	assert_int_equal(has(pool, 0xffff, 2), 0);
	/* Outside. */
	assert_int_equal(has(pool, 0x11000, 1), 0);
	assert_int_equal(has(pool, 0xffff, 1), 0);
	assert_int_equal(has(pool, 0x1, 0x10), 0);
	assert_int_equal(has(pool, ULONG_MAX, 1), 0);
	/* Size 0: held where a chunk holds the address, as in the kernel;
	 * sizes that wrap are not held (the kernel's sum wraps and says 1). */
	assert_int_equal(has(pool, 0x10000, 0), 1);
	assert_int_equal(has(pool, 0x10fff, 0), 1);
	assert_int_equal(has(pool, 0x11000, 0), 0);
	assert_int_equal(has(pool, 0x10800, SIZE_MAX), 0);
	assert_int_equal(has(pool, 0x10800, SIZE_MAX - 0x10000), 0);
	/* NULL pool. */
	assert_int_equal(has(NULL, 0x10000, 1), 0);
	assert_int_equal(cap.count, 0);
	gen_pool_destroy(pool);
}

/* Adjacent chunks: a range must lie inside one chunk. */
static void test_has_addr_adjacent_chunks(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(4, &cap);

	assert_int_equal(gen_pool_add(pool, 0x10000, 0x1000, NUMA_NO_NODE), 0);
	assert_int_equal(gen_pool_add(pool, 0x11000, 0x1000, NUMA_NO_NODE), 0);
	assert_int_equal(gen_pool_add(pool, 0x20000, 0x100, NUMA_NO_NODE), 0);
	assert_int_equal(has(pool, 0x10fff, 1), 1);
	assert_int_equal(has(pool, 0x11000, 0x1000), 1);
	assert_int_equal(has(pool, 0x10fff, 2), 0);
	assert_int_equal(has(pool, 0x10000, 0x2000), 0);
	assert_int_equal(has(pool, 0x200ff, 1), 1);
	assert_int_equal(has(pool, 0x12000, 1), 0);
	assert_int_equal(has(pool, 0x1ffff, 2), 0);
	gen_pool_destroy(pool);
}

/* Allocation state does not matter, and the top of the address space. */
static void test_has_addr_alloc_and_top(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(4, &cap);
	unsigned long top = ULONG_MAX - 0xff;
	unsigned long a;

	assert_int_equal(gen_pool_add(pool, top, 0x100, NUMA_NO_NODE), 0);
	assert_int_equal(has(pool, ULONG_MAX, 1), 1);
	assert_int_equal(has(pool, top, 0x100), 1);
	assert_int_equal(has(pool, top, 0x101), 0);
	assert_int_equal(has(pool, ULONG_MAX, 2), 0);
	a = gen_pool_alloc(pool, 0x100);
	assert_int_equal(a, top);
	assert_int_equal(has(pool, top + 0x10, 0x20), 1);
	gen_pool_free(pool, a, 0x100);
	assert_int_equal(has(pool, top + 0x10, 0x20), 1);
	assert_int_equal(cap.count, 0);
	gen_pool_destroy(pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_has_addr),
		cmocka_unit_test(test_has_addr_adjacent_chunks),
		cmocka_unit_test(test_has_addr_alloc_and_top),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
