// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_algorithms.c - the five built-in algorithms with exact
 * placements, user-written algorithms (well-behaved and garbage), and
 * gp_bitmap_find_next_zero_area_off().
 */
#include <string.h>

#include "unit.h"

#define WBITS (sizeof(unsigned long) * CHAR_BIT)

/* Allocate @size with @algo/@data and check the address, then keep it. */
static unsigned long alloc_at(struct gen_pool *pool, size_t size,
			      genpool_algo_t algo, void *data,
			      unsigned long expect)
{
	unsigned long a = gen_pool_alloc_algo(pool, size, algo, data);

	assert_int_equal(a, expect);
	return a;
}

/* Expect no fit: 0 with errno ENOMEM, nothing taken. */
static void no_fit(struct gen_pool *pool, size_t size, genpool_algo_t algo,
		   void *data)
{
	size_t avail = gen_pool_avail(pool);

	errno = 0;
	assert_int_equal(gen_pool_alloc_algo(pool, size, algo, data), 0);
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(gen_pool_avail(pool), avail);
}

/* ------------------------------------------------------------ first fit */

static void test_first_fit(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(0, &cap);
	unsigned long a;

	/* Units busy: [3,5) [9,10) [20,21); holes 3, 4, 10, 43. */
	assert_int_equal(gen_pool_add(pool, UT_BASE, 64, NUMA_NO_NODE), 0);
	ut_fixed(pool, UT_BASE, 3, 2);
	ut_fixed(pool, UT_BASE, 9, 1);
	ut_fixed(pool, UT_BASE, 20, 1);

	a = alloc_at(pool, 4, gen_pool_first_fit, NULL, UT_BASE + 5);
	gen_pool_free(pool, a, 4);
	a = alloc_at(pool, 3, gen_pool_first_fit, NULL, UT_BASE);
	gen_pool_free(pool, a, 3);
	a = alloc_at(pool, 5, gen_pool_first_fit, NULL, UT_BASE + 10);
	gen_pool_free(pool, a, 5);
	a = alloc_at(pool, 11, gen_pool_first_fit, NULL, UT_BASE + 21);
	gen_pool_free(pool, a, 11);
	a = alloc_at(pool, 43, gen_pool_first_fit, NULL, UT_BASE + 21);
	gen_pool_free(pool, a, 43);
	no_fit(pool, 44, gen_pool_first_fit, NULL);
	/* Successive small allocations fill the lowest holes in order. */
	alloc_at(pool, 2, gen_pool_first_fit, NULL, UT_BASE);
	alloc_at(pool, 2, gen_pool_first_fit, NULL, UT_BASE + 5);
	alloc_at(pool, 2, gen_pool_first_fit, NULL, UT_BASE + 7);
	alloc_at(pool, 2, gen_pool_first_fit, NULL, UT_BASE + 10);
	alloc_at(pool, 1, gen_pool_first_fit, NULL, UT_BASE + 2);
	assert_int_equal(cap.count, 0);
	ut_destroy(pool);
}

/* ------------------------------------------------------ first fit align */

static void test_first_fit_align(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(4, &cap);
	const unsigned long start = 0x10030;	/* 16-, not 64-aligned */
	struct genpool_data_align d;
	unsigned long a;

	assert_int_equal(gen_pool_add(pool, start, 0x1000, NUMA_NO_NODE), 0);

	d.align = 256;
	a = alloc_at(pool, 16, gen_pool_first_fit_align, &d, 0x10100);
	assert_int_equal(a % 256, 0);
	a = alloc_at(pool, 16, gen_pool_first_fit_align, &d, 0x10200);
	assert_int_equal(a % 256, 0);
	d.align = 64;
	alloc_at(pool, 16, gen_pool_first_fit_align, &d, 0x10040);
	/* 112 bytes fit between 0x10080 and the busy 0x10100. */
	alloc_at(pool, 100, gen_pool_first_fit_align, &d, 0x10080);
	/* Alignment at or below the unit: the lowest free unit. */
	d.align = 8;
	alloc_at(pool, 16, gen_pool_first_fit_align, &d, 0x10030);
	d.align = 16;
	alloc_at(pool, 16, gen_pool_first_fit_align, &d, 0x10050);
	d.align = 1;
	alloc_at(pool, 16, gen_pool_first_fit_align, &d, 0x10060);
	/* The chunk ends at 0x1102f: one 4096-aligned address fits. */
	d.align = 4096;
	alloc_at(pool, 48, gen_pool_first_fit_align, &d, 0x11000);
	no_fit(pool, 16, gen_pool_first_fit_align, &d);
	d.align = 0x10000;
	no_fit(pool, 16, gen_pool_first_fit_align, &d);
	/* Bad data is "no fit", not a crash. */
	d.align = 0;
	no_fit(pool, 16, gen_pool_first_fit_align, &d);
	d.align = 48;
	no_fit(pool, 16, gen_pool_first_fit_align, &d);
	d.align = -64;
	no_fit(pool, 16, gen_pool_first_fit_align, &d);
	no_fit(pool, 16, gen_pool_first_fit_align, NULL);

	/* As the pool's algorithm. */
	d.align = 512;
	gen_pool_set_algo(pool, gen_pool_first_fit_align, &d);
	assert_int_equal(gen_pool_alloc(pool, 16), 0x10400);
	assert_int_equal(gen_pool_alloc(pool, 16), 0x10600);
	assert_int_equal(cap.count, 0);
	ut_destroy(pool);
}

/* Byte-granular pool whose chunk starts at an odd address. */
static void test_first_fit_align_odd_start(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(0, &cap);
	struct genpool_data_align d = { .align = 4 };

	assert_int_equal(gen_pool_add(pool, 0x10001, 0x100, NUMA_NO_NODE), 0);
	alloc_at(pool, 1, gen_pool_first_fit_align, &d, 0x10004);
	d.align = 2;
	alloc_at(pool, 1, gen_pool_first_fit_align, &d, 0x10002);
	alloc_at(pool, 2, gen_pool_first_fit_align, &d, 0x10006);
	d.align = 128;
	alloc_at(pool, 5, gen_pool_first_fit_align, &d, 0x10080);
	d.align = 1;
	alloc_at(pool, 1, gen_pool_first_fit_align, &d, 0x10001);
	alloc_at(pool, 1, gen_pool_first_fit_align, &d, 0x10003);
	alloc_at(pool, 1, gen_pool_first_fit_align, &d, 0x10005);
	alloc_at(pool, 1, gen_pool_first_fit_align, &d, 0x10008);
	assert_int_equal(cap.count, 0);
	ut_destroy(pool);
}

/* ------------------------------------------------ first fit order align */

static void test_first_fit_order_align(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(0, &cap);
	const unsigned long s = 0x10008;	/* not 64-aligned */
	unsigned long a;

	assert_int_equal(gen_pool_add(pool, s, 0x400, NUMA_NO_NODE), 0);
	alloc_at(pool, 1, gen_pool_first_fit_order_align, NULL, s);
	/* 60 bytes -> 64-aligned from the chunk start, not absolutely. */
	a = alloc_at(pool, 60, gen_pool_first_fit_order_align, NULL, s + 64);
	assert_int_equal((a - s) % 64, 0);
	assert_int_not_equal(a % 64, 0);
	/* 3 units -> 4-aligned. */
	alloc_at(pool, 3, gen_pool_first_fit_order_align, NULL, s + 4);
	alloc_at(pool, 3, gen_pool_first_fit_order_align, NULL, s + 8);
	alloc_at(pool, 1, gen_pool_first_fit_order_align, NULL, s + 1);
	alloc_at(pool, 2, gen_pool_first_fit_order_align, NULL, s + 2);
	/* Busy now: [0,11) except 7, and [64,124). */
	alloc_at(pool, 64, gen_pool_first_fit_order_align, NULL, s + 128);
	alloc_at(pool, 5, gen_pool_first_fit_order_align, NULL, s + 16);
	alloc_at(pool, 1, gen_pool_first_fit_order_align, NULL, s + 7);
	/* 512 units at a 512 boundary: [512, 1024) is free. */
	alloc_at(pool, 300, gen_pool_first_fit_order_align, NULL, s + 512);
	no_fit(pool, 300, gen_pool_first_fit_order_align, NULL);
	assert_int_equal(cap.count, 0);
	ut_destroy(pool);

	/* With 16-byte units: 48 bytes = 3 units -> 4 units (64 bytes). */
	pool = ut_pool(4, &cap);
	assert_int_equal(gen_pool_add(pool, 0x10030, 0x400, NUMA_NO_NODE), 0);
	alloc_at(pool, 16, gen_pool_first_fit_order_align, NULL, 0x10030);
	alloc_at(pool, 48, gen_pool_first_fit_order_align, NULL, 0x10070);
	alloc_at(pool, 17, gen_pool_first_fit_order_align, NULL, 0x10050);
	alloc_at(pool, 16, gen_pool_first_fit_order_align, NULL, 0x10040);
	assert_int_equal(cap.count, 0);
	ut_destroy(pool);
}

/* ------------------------------------------------------------- best fit */

static void test_best_fit(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(0, &cap);

	/* Busy units 5, 9, 13, 16: holes [0,5)=5 [6,9)=3 [10,13)=3
	 * [14,16)=2 [17,64)=47. */
	assert_int_equal(gen_pool_add(pool, UT_BASE, 64, NUMA_NO_NODE), 0);
	ut_fixed(pool, UT_BASE, 5, 1);
	ut_fixed(pool, UT_BASE, 9, 1);
	ut_fixed(pool, UT_BASE, 13, 1);
	ut_fixed(pool, UT_BASE, 16, 1);

	/* Two smallest holes of 3: the lower one. */
	alloc_at(pool, 3, gen_pool_best_fit, NULL, UT_BASE + 6);
	alloc_at(pool, 3, gen_pool_best_fit, NULL, UT_BASE + 10);
	/* Exact fit at the end beats the larger holes before it. */
	alloc_at(pool, 2, gen_pool_best_fit, NULL, UT_BASE + 14);
	/* Now holes are 5 and 47. */
	alloc_at(pool, 4, gen_pool_best_fit, NULL, UT_BASE);
	alloc_at(pool, 1, gen_pool_best_fit, NULL, UT_BASE + 4);
	alloc_at(pool, 6, gen_pool_best_fit, NULL, UT_BASE + 17);
	no_fit(pool, 42, gen_pool_best_fit, NULL);
	alloc_at(pool, 41, gen_pool_best_fit, NULL, UT_BASE + 23);
	assert_int_equal(gen_pool_avail(pool), 0);
	assert_int_equal(cap.count, 0);
	ut_destroy(pool);
}

/* Chunks are tried newest first; best fit is per chunk, as in the kernel. */
static void test_best_fit_per_chunk(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(4, &cap);

	assert_int_equal(gen_pool_add(pool, 0x10000, 0x20, NUMA_NO_NODE), 0);
	assert_int_equal(gen_pool_add(pool, 0x20000, 0x100, NUMA_NO_NODE), 0);
	alloc_at(pool, 32, gen_pool_best_fit, NULL, 0x20000);
	gen_pool_set_algo(pool, gen_pool_best_fit, NULL);
	/* Fill the newest chunk but its last 32 bytes: then 32 fits there. */
	assert_int_equal(gen_pool_alloc(pool, 0xc0), 0x20020);
	assert_int_equal(gen_pool_alloc(pool, 32), 0x200e0);
	assert_int_equal(gen_pool_alloc(pool, 32), 0x10000);
	assert_int_equal(cap.count, 0);
	ut_destroy(pool);
}

/* ---------------------------------------------------------- fixed alloc */

static void test_fixed_alloc(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(4, &cap);
	struct genpool_data_fixed fd;

	assert_int_equal(gen_pool_add(pool, 0x10000, 0x1000, NUMA_NO_NODE), 0);
	fd.offset = 0x100;
	alloc_at(pool, 0x40, gen_pool_fixed_alloc, &fd, 0x10100);
	/* Busy: fails, also when only partly busy. */
	no_fit(pool, 0x40, gen_pool_fixed_alloc, &fd);
	fd.offset = 0x130;
	no_fit(pool, 0x20, gen_pool_fixed_alloc, &fd);
	fd.offset = 0xf0;
	no_fit(pool, 0x20, gen_pool_fixed_alloc, &fd);
	/* Adjacent on both sides is fine. */
	fd.offset = 0x140;
	alloc_at(pool, 0x10, gen_pool_fixed_alloc, &fd, 0x10140);
	fd.offset = 0xf0;
	alloc_at(pool, 0x10, gen_pool_fixed_alloc, &fd, 0x100f0);
	/* Offset not a multiple of the unit. */
	fd.offset = 0x208;
	no_fit(pool, 0x10, gen_pool_fixed_alloc, &fd);
	fd.offset = 0x1;
	no_fit(pool, 0x10, gen_pool_fixed_alloc, &fd);
	/* Past the end, or running past it. */
	fd.offset = 0x1000;
	no_fit(pool, 0x10, gen_pool_fixed_alloc, &fd);
	fd.offset = ULONG_MAX & ~0xfUL;
	no_fit(pool, 0x10, gen_pool_fixed_alloc, &fd);
	fd.offset = 0xff0;
	no_fit(pool, 0x20, gen_pool_fixed_alloc, &fd);
	alloc_at(pool, 0x10, gen_pool_fixed_alloc, &fd, 0x10ff0);
	fd.offset = 0;
	alloc_at(pool, 0x10, gen_pool_fixed_alloc, &fd, 0x10000);
	no_fit(pool, 0x10, gen_pool_fixed_alloc, NULL);

	/* The offset is per chunk: the newest chunk first, then older. */
	assert_int_equal(gen_pool_add(pool, 0x20000, 0x100, NUMA_NO_NODE), 0);
	fd.offset = 0x80;
	alloc_at(pool, 0x10, gen_pool_fixed_alloc, &fd, 0x20080);
	alloc_at(pool, 0x10, gen_pool_fixed_alloc, &fd, 0x10080);
	no_fit(pool, 0x10, gen_pool_fixed_alloc, &fd);
	assert_int_equal(cap.count, 0);
	ut_destroy(pool);
}

/*
 * A 2048-unit chunk (four 512-bit blocks, the search engine's leaf size)
 * with runs that cross block boundaries: every built-in algorithm must give
 * the same placements as on a one-block chunk.
 */
static void test_multi_block_placements(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(0, &cap);
	struct genpool_data_align ad = { .align = 256 };
	struct genpool_data_fixed fd = { .offset = 1020 };
	unsigned long a;

	assert_int_equal(gen_pool_add(pool, UT_BASE, 2048, NUMA_NO_NODE), 0);
	/* Busy: [0,500) [520,1000) [1030,1500) [1540,2040).  Holes:
	 * [500,520)=20 across nothing, [1000,1030)=30 across 1024,
	 * [1500,1540)=40 across 1536, [2040,2048)=8. */
	ut_fixed(pool, UT_BASE, 0, 500);
	ut_fixed(pool, UT_BASE, 520, 480);
	ut_fixed(pool, UT_BASE, 1030, 470);
	ut_fixed(pool, UT_BASE, 1540, 500);

	a = alloc_at(pool, 25, gen_pool_first_fit, NULL, UT_BASE + 1000);
	gen_pool_free(pool, a, 25);
	a = alloc_at(pool, 31, gen_pool_first_fit, NULL, UT_BASE + 1500);
	gen_pool_free(pool, a, 31);
	no_fit(pool, 41, gen_pool_first_fit, NULL);
	a = alloc_at(pool, 8, gen_pool_best_fit, NULL, UT_BASE + 2040);
	gen_pool_free(pool, a, 8);
	a = alloc_at(pool, 21, gen_pool_best_fit, NULL, UT_BASE + 1000);
	gen_pool_free(pool, a, 21);
	a = alloc_at(pool, 35, gen_pool_best_fit, NULL, UT_BASE + 1500);
	gen_pool_free(pool, a, 35);
	/* 16 units -> 16-aligned from the start: 512 would run into the busy
	 * 520, 1008 fits below 1024. */
	a = alloc_at(pool, 16, gen_pool_first_fit_order_align, NULL,
		     UT_BASE + 1008);
	gen_pool_free(pool, a, 16);
	/* 32 units -> 32-aligned: 1504 is the first that fits. */
	a = alloc_at(pool, 32, gen_pool_first_fit_order_align, NULL,
		     UT_BASE + 1504);
	gen_pool_free(pool, a, 32);
	/* Absolute alignment (UT_BASE is 64 KiB aligned): free room at the
	 * aligned offsets is 8 units at 512, 6 at 1024, 4 at 1536. */
	a = alloc_at(pool, 8, gen_pool_first_fit_align, &ad, UT_BASE + 512);
	gen_pool_free(pool, a, 8);
	no_fit(pool, 9, gen_pool_first_fit_align, &ad);
	ad.align = 1024;
	a = alloc_at(pool, 6, gen_pool_first_fit_align, &ad, UT_BASE + 1024);
	gen_pool_free(pool, a, 6);
	no_fit(pool, 7, gen_pool_first_fit_align, &ad);
	a = alloc_at(pool, 10, gen_pool_fixed_alloc, &fd, UT_BASE + 1020);
	no_fit(pool, 10, gen_pool_fixed_alloc, &fd);
	gen_pool_free(pool, a, 10);
	assert_int_equal(gen_pool_avail(pool), 98);
	assert_int_equal(cap.count, 0);
	ut_destroy(pool);
}

/* ------------------------------------------------- user-written algorithms */

struct last_fit_log {
	int calls;
	unsigned long size, start, nr, start_addr;
	void *data;
	struct gen_pool *pool;
};

static int map_test(const unsigned long *map, unsigned long bit)
{
	return (int)(map[bit / WBITS] >> (bit % WBITS) & 1);
}

/* The highest free run of @nr bits; records what it was handed. */
static unsigned long last_fit(unsigned long *map, unsigned long size,
			      unsigned long start, unsigned long nr,
			      void *data, struct gen_pool *pool,
			      unsigned long start_addr)
{
	struct last_fit_log *log = data;
	unsigned long end = size, run = 0;

	log->calls++;
	log->size = size;
	log->start = start;
	log->nr = nr;
	log->start_addr = start_addr;
	log->pool = pool;
	while (end > start) {
		if (map_test(map, end - 1))
			run = 0;
		else if (++run == nr)
			return end - 1;
		end--;
	}
	return size;
}

static void test_user_algorithm(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(4, &cap);
	struct last_fit_log log = { 0 };

	assert_int_equal(gen_pool_add(pool, 0x10000, 0x100, NUMA_NO_NODE), 0);
	alloc_at(pool, 32, last_fit, &log, 0x100e0);
	assert_int_equal(log.calls, 1);
	assert_int_equal(log.size, 16);
	assert_int_equal(log.start, 0);
	assert_int_equal(log.nr, 2);
	assert_int_equal(log.start_addr, 0x10000);
	assert_ptr_equal(log.pool, pool);
	alloc_at(pool, 48, last_fit, &log, 0x100b0);
	assert_int_equal(log.nr, 3);
	/* The bitmap it reads is the kernel's: first fit sees those bits. */
	alloc_at(pool, 0xb0, gen_pool_first_fit, NULL, 0x10000);
	no_fit(pool, 16, last_fit, &log);

	/* As the pool's algorithm, with a second (newest) chunk. */
	gen_pool_set_algo(pool, last_fit, &log);
	assert_int_equal(gen_pool_add(pool, 0x20000, 0x40, NUMA_NO_NODE), 0);
	log.calls = 0;
	assert_int_equal(gen_pool_alloc(pool, 1), 0x20030);
	assert_int_equal(log.calls, 1);
	assert_int_equal(log.size, 4);
	assert_int_equal(log.start_addr, 0x20000);
	assert_int_equal(cap.count, 0);
	ut_destroy(pool);
}

/* Garbage algorithms: what they return is data in @data. */
static unsigned long returns_value(unsigned long *map, unsigned long size,
				   unsigned long start, unsigned long nr,
				   void *data, struct gen_pool *pool,
				   unsigned long start_addr)
{
	const long *how = data;

	/* >= 0: that bit; -1: size - nr + 1 (run one past the end);
	 * -2: size - 1 */
	if (*how >= 0)
		return (unsigned long)*how;
	if (*how == -1)
		return size - nr + 1;
	return size - 1;
}

static void test_garbage_algorithm(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(4, &cap);
	struct ut_allocs al = { 0 };
	long how;

	assert_int_equal(gen_pool_add(pool, 0x10000, 0x100, NUMA_NO_NODE), 0);
	ut_fixed(pool, 0x10000, 0x20, 0x20);	/* units 2, 3 busy */

	how = 16;		/* == size */
	no_fit(pool, 16, returns_value, &how);
	how = 17;
	no_fit(pool, 16, returns_value, &how);
	how = 1L << 40;
	no_fit(pool, 16, returns_value, &how);
	how = LONG_MAX;
	no_fit(pool, 16, returns_value, &how);
	how = -1;		/* a run that ends one past the chunk */
	no_fit(pool, 32, returns_value, &how);
	no_fit(pool, 0x100, returns_value, &how);
	how = -2;		/* last unit, but 2 asked for */
	no_fit(pool, 32, returns_value, &how);
	/* A busy run, or one overlapping busy units: the claim fails every
	 * time; the pool gives up and leaves the bitmap as it was. */
	how = 2;
	no_fit(pool, 16, returns_value, &how);
	how = 1;
	no_fit(pool, 48, returns_value, &how);
	how = 3;
	no_fit(pool, 32, returns_value, &how);

	assert_int_equal(gp_for_each_allocation(pool, ut_collect_alloc, &al), 1);
	assert_int_equal(al.addr[0], 0x10020);
	assert_int_equal(al.size[0], 0x20);
	assert_int_equal(gen_pool_avail(pool), 0x100 - 0x20);
	/* A sane answer from the same algorithm still works. */
	how = 4;
	alloc_at(pool, 16, returns_value, &how, 0x10040);
	how = -2;
	alloc_at(pool, 16, returns_value, &how, 0x100f0);
	alloc_at(pool, 32, gen_pool_first_fit, NULL, 0x10000);
	alloc_at(pool, 16, gen_pool_first_fit, NULL, 0x10050);
	assert_int_equal(cap.count, 0);
	ut_destroy(pool);
}

/* -------------------------------------- the algorithms on a raw bitmap */

static void test_algorithms_on_raw_bitmap(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(0, &cap);
	unsigned long map[3] = { 0, 0, 0 };
	struct genpool_data_fixed fd = { .offset = 70 };
	struct genpool_data_align ad = { .align = 32 };

	/* Busy: 0..9 and 64..70; 192 bits. */
	map[0] = 0x3ff;
	map[1] = 0x7f;
	assert_int_equal(gen_pool_first_fit(map, 192, 0, 5, NULL, pool, 0), 10);
	assert_int_equal(gen_pool_first_fit(map, 192, 0, 60, NULL, pool, 0), 71);
	assert_int_equal(gen_pool_first_fit(map, 192, 20, 5, NULL, pool, 0), 20);
	assert_true(gen_pool_first_fit(map, 192, 0, 122, NULL, pool, 0) >= 192);
	assert_int_equal(gen_pool_first_fit(map, 192, 0, 121, NULL, pool, 0),
			 71);
	/* Best fit: holes [10,64)=54 and [71,192)=121. */
	assert_int_equal(gen_pool_best_fit(map, 192, 0, 54, NULL, pool, 0), 10);
	assert_int_equal(gen_pool_best_fit(map, 192, 0, 55, NULL, pool, 0), 71);
	assert_int_equal(gen_pool_best_fit(map, 192, 0, 1, NULL, pool, 0), 10);
	assert_int_equal(gen_pool_best_fit(map, 192, 40, 30, NULL, pool, 0),
			 71);
	/* Order align: 5 -> 8-aligned; 33 -> 64-aligned. */
	assert_int_equal(gen_pool_first_fit_order_align(map, 192, 0, 5, NULL,
							pool, 0), 16);
	assert_int_equal(gen_pool_first_fit_order_align(map, 192, 0, 33, NULL,
							pool, 0), 128);
	/* Absolute alignment (unit 1 byte): chunk at 0x1008. */
	assert_int_equal(gen_pool_first_fit_align(map, 192, 0, 4, &ad, pool,
						  0x1008), 24);
	assert_int_equal(gen_pool_first_fit_align(map, 192, 0, 4, &ad, pool,
						  0x1000), 32);
	/* Fixed. */
	assert_true(gen_pool_fixed_alloc(map, 192, 0, 1, &fd, pool, 0) >= 192);
	fd.offset = 71;
	assert_int_equal(gen_pool_fixed_alloc(map, 192, 0, 121, &fd, pool, 0),
			 71);
	assert_true(gen_pool_fixed_alloc(map, 192, 0, 122, &fd, pool, 0) >=
		    192);
	/* Nothing was written to the map. */
	assert_int_equal(map[0], 0x3ff);
	assert_int_equal(map[1], 0x7f);
	assert_int_equal(map[2], 0);
	ut_destroy(pool);
}

/* -------------------------------------- gp_bitmap_find_next_zero_area_off */

static void test_find_next_zero_area_off(void **state)
{
	unsigned long map[3] = { 0, 0, 0 };
	unsigned long r;

	/* Empty map. */
	assert_int_equal(gp_bitmap_find_next_zero_area_off(map, 128, 0, 5, 0, 0),
			 0);
	assert_int_equal(gp_bitmap_find_next_zero_area_off(map, 128, 70, 5, 0,
							   0), 70);
	assert_int_equal(gp_bitmap_find_next_zero_area_off(map, 128, 0, 128, 0,
							   0), 0);
	assert_true(gp_bitmap_find_next_zero_area_off(map, 128, 0, 129, 0, 0) >
		    128);
	assert_int_equal(gp_bitmap_find_next_zero_area_off(map, 128, 124, 4, 0,
							   0), 124);
	assert_true(gp_bitmap_find_next_zero_area_off(map, 128, 124, 5, 0, 0) >
		    128);
	/* Start at or past the end. */
	assert_true(gp_bitmap_find_next_zero_area_off(map, 128, 128, 1, 0, 0) >
		    128);
	assert_true(gp_bitmap_find_next_zero_area_off(map, 128, 1000, 1, 0, 0) >
		    128);
	/* Huge nr must not wrap around. */
	assert_true(gp_bitmap_find_next_zero_area_off(map, 128, 3, ULONG_MAX, 0,
						      0) > 128);
	/* NULL map. */
	assert_true(gp_bitmap_find_next_zero_area_off(NULL, 128, 0, 1, 0, 0) >
		    128);

	/* Alignment: mask 7 from 1 -> 8; offset 3 -> b + 3 = 8k -> 5. */
	assert_int_equal(gp_bitmap_find_next_zero_area_off(map, 128, 1, 1, 7, 0),
			 8);
	assert_int_equal(gp_bitmap_find_next_zero_area_off(map, 128, 0, 1, 7, 3),
			 5);
	assert_int_equal(gp_bitmap_find_next_zero_area_off(map, 128, 6, 1, 7, 3),
			 13);
	assert_true(gp_bitmap_find_next_zero_area_off(map, 128, 121, 8, 7, 0) >
		    128);
	assert_int_equal(gp_bitmap_find_next_zero_area_off(map, 128, 113, 8, 7,
							   0), 120);

	/* A run crossing a word boundary: 62, 63 | 64..66 free, 67 busy. */
	map[0] = ~0UL >> 2;
	map[1] = ~0UL << 3;
	assert_int_equal(gp_bitmap_find_next_zero_area_off(map, 128, 0, 5, 0, 0),
			 62);
	assert_true(gp_bitmap_find_next_zero_area_off(map, 128, 0, 6, 0, 0) >
		    128);
	assert_int_equal(gp_bitmap_find_next_zero_area_off(map, 128, 63, 4, 0,
							   0), 63);
	assert_int_equal(gp_bitmap_find_next_zero_area_off(map, 128, 0, 2, 1, 0),
			 62);
	assert_int_equal(gp_bitmap_find_next_zero_area_off(map, 128, 0, 2, 3, 0),
			 64);
	assert_true(gp_bitmap_find_next_zero_area_off(map, 128, 0, 4, 3, 0) >
		    128);

	/* A busy bit inside the first candidate: restart after it. */
	map[0] = 1UL << 10;
	map[1] = 0;
	assert_int_equal(gp_bitmap_find_next_zero_area_off(map, 192, 0, 20, 0,
							   0), 11);
	assert_int_equal(gp_bitmap_find_next_zero_area_off(map, 192, 0, 10, 0,
							   0), 0);
	assert_int_equal(gp_bitmap_find_next_zero_area_off(map, 192, 0, 11, 0,
							   0), 11);

	/* Size not a multiple of the word: bits past @size are ignored,
	 * whatever their value. */
	map[0] = ~0UL;
	map[1] = ~0UL << 6;	/* 64..69 free, 70.. "busy" garbage */
	assert_int_equal(gp_bitmap_find_next_zero_area_off(map, 70, 0, 6, 0, 0),
			 64);
	assert_true(gp_bitmap_find_next_zero_area_off(map, 70, 0, 7, 0, 0) > 70);
	map[1] = 0;		/* 64..127 free, size 70 */
	assert_true(gp_bitmap_find_next_zero_area_off(map, 70, 0, 7, 0, 0) > 70);
	assert_int_equal(gp_bitmap_find_next_zero_area_off(map, 70, 66, 4, 0, 0),
			 66);
	/* All busy. */
	map[1] = ~0UL;
	r = gp_bitmap_find_next_zero_area_off(map, 128, 0, 1, 0, 0);
	assert_true(r > 128);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_fit),
		cmocka_unit_test(test_first_fit_align),
		cmocka_unit_test(test_first_fit_align_odd_start),
		cmocka_unit_test(test_first_fit_order_align),
		cmocka_unit_test(test_best_fit),
		cmocka_unit_test(test_best_fit_per_chunk),
		cmocka_unit_test(test_fixed_alloc),
		cmocka_unit_test(test_multi_block_placements),
		cmocka_unit_test(test_user_algorithm),
		cmocka_unit_test(test_garbage_algorithm),
		cmocka_unit_test(test_algorithms_on_raw_bitmap),
		cmocka_unit_test(test_find_next_zero_area_off),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
