// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_stats.c - gp_get_stats() and gp_for_each_allocation().
 */
#include "unit.h"

#define A UT_FRAG_A
#define B UT_FRAG_B

static void test_stats_fragmented(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_fragmented(&cap);
	struct gp_stats st;

	/* Two failures: a bad argument and no fit. */
	assert_int_equal(gen_pool_alloc(pool, 0), 0);
	assert_int_equal(gen_pool_alloc(pool, 0x400), 0);

	assert_int_equal(gp_get_stats(pool, &st), 0);
	assert_int_equal(st.chunks, 2);
	assert_int_equal(st.size, 0x500);
	assert_int_equal(st.avail, (38 + 15) * 16);
	assert_int_equal(st.in_use, (26 + 1) * 16);
	assert_int_equal(st.allocations, 4);
	assert_int_equal(st.failures, 2);
	assert_int_equal(st.largest_free, 24 * 16);
	assert_float_equal(st.fragmentation, 1.0 - 384.0 / 848.0, 1e-12);
	assert_int_equal(st.avail, gen_pool_avail(pool));
	assert_int_equal(st.size, gen_pool_size(pool));

	/* Taking the 24-unit hole down to 13 makes B's 13 the largest
	 * (offset 0x280 is past B's end, so A serves it). */
	ut_fixed(pool, A, 0x280, 16 * 11);
	assert_int_equal(gp_get_stats(pool, &st), 0);
	assert_int_equal(st.allocations, 5);
	assert_int_equal(st.avail, (27 + 15) * 16);
	assert_int_equal(st.largest_free, 13 * 16);
	assert_float_equal(st.fragmentation, 1.0 - 208.0 / 672.0, 1e-12);
	assert_int_equal(cap.count, 0);
	assert_int_equal(ut_free_all(pool), 5);
	assert_int_equal(gp_destroy_checked(pool), 0);
}

static void test_for_each_allocation(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_fragmented(&cap);
	struct ut_allocs al = { 0 };

	assert_int_equal(gp_for_each_allocation(pool, ut_collect_alloc, &al), 4);
	assert_int_equal(al.n, 4);
	/* Newest chunk first, then address order; rounded sizes. */
	assert_int_equal(al.addr[0], B + 0x20);
	assert_int_equal(al.size[0], 16);
	assert_int_equal(al.addr[1], A);
	assert_int_equal(al.size[1], 64);
	assert_int_equal(al.addr[2], A + 0xa0);
	assert_int_equal(al.size[2], 32);
	assert_int_equal(al.addr[3], A + 0x140);
	assert_int_equal(al.size[3], 320);
	/* Adjacent allocations stay separate (offsets past B's end). */
	ut_fixed(pool, A, 0x290, 16);
	ut_fixed(pool, A, 0x280, 16);
	al.n = 0;
	assert_int_equal(gp_for_each_allocation(pool, ut_collect_alloc, &al), 6);
	assert_int_equal(al.addr[4], A + 0x280);
	assert_int_equal(al.size[4], 16);
	assert_int_equal(al.addr[5], A + 0x290);
	assert_int_equal(al.size[5], 16);
	/* A NULL callback just counts. */
	assert_int_equal(gp_for_each_allocation(pool, NULL, NULL), 6);
	gen_pool_free(pool, A + 0xa0, 17);
	assert_int_equal(gp_for_each_allocation(pool, NULL, NULL), 5);
	assert_int_equal(gp_for_each_allocation(NULL, NULL, NULL), -EINVAL);
	assert_int_equal(cap.count, 0);
	assert_int_equal(ut_free_all(pool), 5);
	assert_int_equal(gp_for_each_allocation(pool, NULL, NULL), 0);
	assert_int_equal(gp_destroy_checked(pool), 0);
}

static void test_stats_edges(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(4, &cap);
	struct gp_stats st;

	assert_int_equal(gp_get_stats(NULL, &st), -EINVAL);
	assert_int_equal(gp_get_stats(pool, NULL), -EINVAL);
	/* Empty pool. */
	assert_int_equal(gp_get_stats(pool, &st), 0);
	assert_int_equal(st.chunks, 0);
	assert_int_equal(st.size, 0);
	assert_int_equal(st.avail, 0);
	assert_int_equal(st.largest_free, 0);
	assert_int_equal(st.allocations, 0);
	assert_true(st.fragmentation == 0.0);
	/* One free chunk: nothing fragmented. */
	assert_int_equal(gen_pool_add(pool, A, 0x400, NUMA_NO_NODE), 0);
	assert_int_equal(gp_get_stats(pool, &st), 0);
	assert_int_equal(st.largest_free, 0x400);
	assert_true(st.fragmentation == 0.0);
	/* Two free chunks: the largest run is one chunk. */
	assert_int_equal(gen_pool_add(pool, B, 0x100, NUMA_NO_NODE), 0);
	assert_int_equal(gp_get_stats(pool, &st), 0);
	assert_int_equal(st.largest_free, 0x400);
	assert_float_equal(st.fragmentation, 0.2, 1e-12);
	/* Full: nothing free, fragmentation 0. */
	assert_int_equal(gen_pool_alloc(pool, 0x400), A);
	assert_int_equal(gen_pool_alloc(pool, 0x100), B);
	assert_int_equal(gp_get_stats(pool, &st), 0);
	assert_int_equal(st.avail, 0);
	assert_int_equal(st.in_use, 0x500);
	assert_int_equal(st.largest_free, 0);
	assert_int_equal(st.allocations, 2);
	assert_int_equal(st.failures, 0);
	assert_true(st.fragmentation == 0.0);
	assert_int_equal(ut_free_all(pool), 2);
	gen_pool_destroy(pool);
}

/*
 * gp_stats.failures: "allocations that failed since creation (no fit or
 * bad argument)".  Every allocation entry point that fails on a valid pool
 * should count.
 */
static void test_failures_count_bad_arguments(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(4, &cap);
	struct gp_stats st;
	dma_addr_t dma;

	assert_int_equal(gen_pool_add(pool, A, 0x100, NUMA_NO_NODE), 0);
	assert_int_equal(gen_pool_alloc(pool, 0), 0);			/* 1 */
	assert_int_equal(gen_pool_alloc(pool, SIZE_MAX), 0);		/* 2 */
	assert_int_equal(gen_pool_alloc(pool, 0x200), 0);		/* 3 */
	assert_int_equal(gp_get_stats(pool, &st), 0);
	assert_int_equal(st.failures, 3);
	assert_int_equal(gen_pool_alloc_algo(pool, 16, NULL, NULL), 0);	/* 4 */
	assert_null(gen_pool_dma_alloc_align(pool, 16, &dma, 3));	/* 5 */
	assert_int_equal(gp_get_stats(pool, &st), 0);
	assert_int_equal(st.failures, 5);
	gen_pool_destroy(pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stats_fragmented),
		cmocka_unit_test(test_for_each_allocation),
		cmocka_unit_test(test_stats_edges),
		cmocka_unit_test(test_failures_count_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
