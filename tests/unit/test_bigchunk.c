// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_bigchunk.c - chunks and allocations past 32-bit counts.
 *
 * genpool never touches managed memory, so fake address ranges stand in for
 * the memory.  Two modes (meson runs both):
 *
 *   32g         a 32 GiB chunk at order 12 (8 Mi units, 1 MiB per bitmap)
 *               with 4 GiB allocations: the kernel's int bit counts
 *               overflowed exactly here.
 *   order0-4gi  a chunk of 2^32 + 2^20 units at order 0.  More than 4 Gi
 *               units means more than 512 MiB per bitmap, whatever the
 *               order, and the core keeps three bitmaps: 1.5 GiB of
 *               *virtual* metadata.  It is zero-filled fresh memory that we
 *               only touch near the allocations we make (fixed-offset
 *               allocations of a few units), so the resident cost is a few
 *               pages; the scans in gp_get_stats() only read untouched
 *               pages.  Allocating 2^32 units would set 512 MiB of bits,
 *               so the 2^32-unit search is checked with gen_pool_first_fit
 *               on a bitmap of our own instead.  Skips (77) when the
 *               machine cannot reserve the metadata.
 *   beyond-machine  a chunk whose bitmaps alone are twice the machine's
 *               RAM and swap (2^40 bytes at order 0 needs 384 GiB on a
 *               24 GiB machine) is refused with -ENOMEM, in every build,
 *               and the pool is unharmed.  The jemalloc build used to
 *               accept it (reserved, not committed) and the first heavy
 *               use of it woke the OOM killer.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>

#include "unit.h"

#define GIB (1UL << 30)
#define BIG_BASE 0x100000000000UL

static void alloc_expect(struct gen_pool *pool, size_t size,
			 genpool_algo_t algo, void *data, unsigned long want)
{
	assert_int_equal(gen_pool_alloc_algo(pool, size, algo, data), want);
}

/* -------------------------------------------------------- 32 GiB, order 12 */

static void test_32g_4g_allocations(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(12, &cap);
	struct ut_allocs al = { 0 };
	struct gp_stats st;

	assert_int_equal(gen_pool_add(pool, BIG_BASE, 32 * GIB, NUMA_NO_NODE),
			 0);
	assert_int_equal(gen_pool_size(pool), 32 * GIB);
	assert_int_equal(gen_pool_avail(pool), 32 * GIB);

	alloc_expect(pool, 4 * GIB, gen_pool_first_fit, NULL, BIG_BASE);
	assert_int_equal(gen_pool_avail(pool), 28 * GIB);
	alloc_expect(pool, 4 * GIB, gen_pool_first_fit, NULL, BIG_BASE + 4 * GIB);
	alloc_expect(pool, 24 * GIB, gen_pool_first_fit, NULL,
		     BIG_BASE + 8 * GIB);
	assert_int_equal(gen_pool_avail(pool), 0);
	errno = 0;
	assert_int_equal(gen_pool_alloc(pool, 4096), 0);
	assert_int_equal(errno, ENOMEM);

	gen_pool_free(pool, BIG_BASE + 4 * GIB, 4 * GIB);
	assert_int_equal(gen_pool_avail(pool), 4 * GIB);
	errno = 0;
	assert_int_equal(gen_pool_alloc(pool, 4 * GIB + 1), 0);
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(gp_get_stats(pool, &st), 0);
	assert_int_equal(st.size, 32 * GIB);
	assert_int_equal(st.in_use, 28 * GIB);
	assert_int_equal(st.largest_free, 4 * GIB);
	assert_int_equal(st.allocations, 2);
	assert_true(st.fragmentation == 0.0);
	assert_int_equal(gp_for_each_allocation(pool, ut_collect_alloc, &al), 2);
	assert_int_equal(al.addr[0], BIG_BASE);
	assert_int_equal(al.size[0], 4 * GIB);
	assert_int_equal(al.addr[1], BIG_BASE + 8 * GIB);
	assert_int_equal(al.size[1], 24 * GIB);

	alloc_expect(pool, 4 * GIB, gen_pool_best_fit, NULL, BIG_BASE + 4 * GIB);
	gen_pool_free(pool, BIG_BASE, 4 * GIB);
	gen_pool_free(pool, BIG_BASE + 4 * GIB, 4 * GIB);
	gen_pool_free(pool, BIG_BASE + 8 * GIB, 24 * GIB);
	assert_int_equal(gen_pool_avail(pool), 32 * GIB);

	/* The whole chunk in one allocation. */
	alloc_expect(pool, 32 * GIB, gen_pool_first_fit, NULL, BIG_BASE);
	assert_int_equal(gen_pool_avail(pool), 0);
	gen_pool_free(pool, BIG_BASE, 32 * GIB);
	assert_int_equal(cap.count, 0);
	assert_int_equal(gp_destroy_checked(pool), 0);
}

static void test_32g_algorithms(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(12, &cap);
	struct genpool_data_fixed fd = { .offset = 31 * GIB };
	struct genpool_data_align ad = { .align = 1 << 30 };

	assert_int_equal(gen_pool_add(pool, BIG_BASE, 32 * GIB, NUMA_NO_NODE),
			 0);
	alloc_expect(pool, 4096, gen_pool_first_fit, NULL, BIG_BASE);
	/* 4 GiB = 2^20 units: aligned to 2^20 units from the chunk start. */
	alloc_expect(pool, 4 * GIB, gen_pool_first_fit_order_align, NULL,
		     BIG_BASE + 4 * GIB);
	alloc_expect(pool, GIB, gen_pool_fixed_alloc, &fd, BIG_BASE + 31 * GIB);
	/* 1 GiB absolute alignment. */
	alloc_expect(pool, 4096, gen_pool_first_fit_align, &ad, BIG_BASE + GIB);
	/* Best fit: holes [4K, 1G), [1G+4K, 4G), [8G, 31G): 2 GiB -> 2nd. */
	alloc_expect(pool, 2 * GIB, gen_pool_best_fit, NULL,
		     BIG_BASE + GIB + 4096);
	assert_int_equal(gen_pool_avail(pool),
			 32 * GIB - 4096 - 4 * GIB - GIB - 4096 - 2 * GIB);
	assert_int_equal(gen_pool_has_addr(pool, BIG_BASE, 32 * GIB), 1);
	assert_int_equal(gen_pool_has_addr(pool, BIG_BASE + 32 * GIB - 1, 1), 1);
	assert_int_equal(gen_pool_has_addr(pool, BIG_BASE, 32 * GIB + 1), 0);
	assert_int_equal(ut_free_all(pool), 5);
	assert_int_equal(gen_pool_avail(pool), 32 * GIB);
	assert_int_equal(cap.count, 0);
	assert_int_equal(gp_destroy_checked(pool), 0);
}

/* ------------------------------------------- 2^32 + 2^20 units, order 0 */

#define HUGE_UNITS ((1UL << 32) + (1UL << 20))
#define HUGE_BASE 0x200000000000UL

static struct gen_pool *huge_pool;
static struct captured_misuse huge_cap;

static void test_huge_chunk(void **state)
{
	struct gen_pool *pool = huge_pool;
	const unsigned long mid = (1UL << 32) + (1UL << 19);
	struct ut_allocs al = { 0 };
	struct gp_stats st;

	assert_int_equal(gen_pool_size(pool), HUGE_UNITS);
	assert_int_equal(gen_pool_avail(pool), HUGE_UNITS);
	alloc_expect(pool, 1, gen_pool_first_fit, NULL, HUGE_BASE);
	ut_fixed(pool, HUGE_BASE, mid, 128);
	ut_fixed(pool, HUGE_BASE, HUGE_UNITS - 1, 1);
	assert_int_equal(gen_pool_avail(pool), HUGE_UNITS - 130);

	/* The largest free run is longer than 2^32 units. */
	assert_int_equal(gp_get_stats(pool, &st), 0);
	assert_int_equal(st.allocations, 3);
	assert_int_equal(st.largest_free, mid - 1);
	assert_int_equal(st.in_use, 130);

	/* A run across bit 2^32. */
	ut_fixed(pool, HUGE_BASE, (1UL << 32) - 32, 64);
	assert_int_equal(gp_for_each_allocation(pool, ut_collect_alloc, &al), 4);
	assert_int_equal(al.addr[0], HUGE_BASE);
	assert_int_equal(al.size[0], 1);
	assert_int_equal(al.addr[1], HUGE_BASE + (1UL << 32) - 32);
	assert_int_equal(al.size[1], 64);
	assert_int_equal(al.addr[2], HUGE_BASE + mid);
	assert_int_equal(al.size[2], 128);
	assert_int_equal(al.addr[3], HUGE_BASE + HUGE_UNITS - 1);
	assert_int_equal(al.size[3], 1);
	/* Frees must match exactly, also above 2^32. */
	assert_int_equal(gp_free_checked(pool, HUGE_BASE + mid, 127, NULL),
			 -EBADSLT);
	assert_int_equal(gp_free_checked(pool, HUGE_BASE + mid + 1, 127, NULL),
			 -EBADSLT);
	assert_int_equal(gp_free_checked(pool, HUGE_BASE + HUGE_UNITS - 1, 2,
					 NULL), -ERANGE);
	assert_int_equal(gp_free_checked(pool, HUGE_BASE + (1UL << 32) - 32, 64,
					 NULL), 0);
	assert_int_equal(gen_pool_has_addr(pool, HUGE_BASE + HUGE_UNITS - 1, 1),
			 1);
	assert_int_equal(gen_pool_has_addr(pool, HUGE_BASE, HUGE_UNITS + 1), 0);
	assert_int_equal(ut_free_all(pool), 3);
	assert_int_equal(gen_pool_avail(pool), HUGE_UNITS);
	assert_int_equal(huge_cap.count, 0);
}

/* The algorithm contract: nr is an unsigned long, runs of 2^32+ units. */
static void test_search_2p32_units(void **state)
{
	size_t bytes = HUGE_UNITS / 8;
	unsigned long *map = map_region(bytes);
	const unsigned long wb = sizeof(unsigned long) * CHAR_BIT;
	const unsigned long hi = (1UL << 32) + 100;

	if (!map)
		skip();
	map[10 / wb] |= 1UL << (10 % wb);
	map[hi / wb] |= 1UL << (hi % wb);
	assert_int_equal(gen_pool_first_fit(map, HUGE_UNITS, 0, 1UL << 32, NULL,
					    huge_pool, HUGE_BASE), 11);
	assert_true(gen_pool_first_fit(map, HUGE_UNITS, 0, (1UL << 32) + 90,
				       NULL, huge_pool, HUGE_BASE) >=
		    HUGE_UNITS);
	assert_int_equal(gen_pool_best_fit(map, HUGE_UNITS, 0, 1UL << 32, NULL,
					   huge_pool, HUGE_BASE), 11);
	assert_int_equal(gen_pool_best_fit(map, HUGE_UNITS, 0, 5, NULL,
					   huge_pool, HUGE_BASE), 0);
	assert_int_equal(gp_bitmap_find_next_zero_area_off(map, HUGE_UNITS, 0,
							   (1UL << 32) + 89, 0,
							   0), 11);
	munmap(map, bytes);
}

static long max_rss_kib(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_SELF, &ru) ? -1 : ru.ru_maxrss;
}

static int run_huge(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_huge_chunk),
		cmocka_unit_test(test_search_2p32_units),
	};
	long rss0 = max_rss_kib();
	int ret;

	huge_pool = gen_pool_create(0, NUMA_NO_NODE);
	if (!huge_pool)
		return 1;
	capture_pool_misuse(huge_pool, &huge_cap);
	ret = gen_pool_add(huge_pool, HUGE_BASE, HUGE_UNITS, NUMA_NO_NODE);
	if (ret == -ENOMEM) {
		printf("skip: no room for the metadata of 2^32 + 2^20 units "
		       "(3 bitmaps of 512 MiB)\n");
		gen_pool_destroy(huge_pool);
		return TEST_SKIP;
	}
	if (ret) {
		fprintf(stderr, "gen_pool_add of the huge chunk: %d\n", ret);
		return 1;
	}
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	printf("max RSS: %ld KiB before, %ld KiB after\n", rss0, max_rss_kib());
	if (gp_destroy_checked(huge_pool) != 0)
		ret = 1;
	return ret;
}

/* ------------------------------------------- more than the machine has */

/* Units of a chunk whose map and bounds (3 bits a unit) take at least
 * twice the machine's RAM and swap: 2^40 or more, at most 2^62. */
static unsigned long units_beyond_machine(void)
{
	unsigned long long machine;
	unsigned long units = 1UL << 40;
	struct sysinfo si;

	assert_int_equal(sysinfo(&si), 0);
	machine = ((unsigned long long)si.totalram + si.totalswap) *
		  si.mem_unit;
	while (units < (1UL << 62) && units / 8 * 3 < 2 * machine)
		units *= 2;
	return units;
}

static void test_beyond_machine(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(0, &cap);
	unsigned long units = units_beyond_machine();

	assert_int_equal(gen_pool_add(pool, 1UL << 62, units, NUMA_NO_NODE),
			 -ENOMEM);
	assert_int_equal(gen_pool_size(pool), 0);
	/* Nothing was kept: an ordinary chunk still goes in and works. */
	assert_int_equal(gen_pool_add(pool, BIG_BASE, 1UL << 20, NUMA_NO_NODE),
			 0);
	alloc_expect(pool, 4096, gen_pool_best_fit, NULL, BIG_BASE);
	gen_pool_free(pool, BIG_BASE, 4096);
	assert_int_equal(cap.count, 0);
	assert_int_equal(gp_destroy_checked(pool), 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests_32g[] = {
		cmocka_unit_test(test_32g_4g_allocations),
		cmocka_unit_test(test_32g_algorithms),
	};
	const struct CMUnitTest tests_beyond[] = {
		cmocka_unit_test(test_beyond_machine),
	};

	if (argc == 2 && strcmp(argv[1], "32g") == 0)
		return cmocka_run_group_tests(tests_32g, NULL, NULL);

	if (argc == 2 && strcmp(argv[1], "order0-4gi") == 0)
		return run_huge();
	if (argc == 2 && strcmp(argv[1], "beyond-machine") == 0)
		return cmocka_run_group_tests(tests_beyond, NULL, NULL);
	fprintf(stderr, "usage: %s 32g|order0-4gi|beyond-machine\n", argv[0]);
	return 1;
}
