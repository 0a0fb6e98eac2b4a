/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/unit.h - helpers shared by the unit tests (cmocka).
 */
#ifndef GENPOOL_TESTS_UNIT_H
#define GENPOOL_TESTS_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <limits.h>
#include <cmocka.h>

#include "testutil.h"

/* A fake address range: genpool never touches managed memory. */
#define UT_BASE 0x10000UL

/* Create a pool of @order in report mode, capturing misuse into @c. */
static inline struct gen_pool *ut_pool(int order, struct captured_misuse *c)
{
	struct gen_pool *pool = gen_pool_create(order, NUMA_NO_NODE);

	assert_non_null(pool);
	capture_pool_misuse(pool, c);
	return pool;
}

/* Allocate @size bytes at byte @offset of the chunk, asserting the address. */
static inline void ut_fixed(struct gen_pool *pool, unsigned long chunk,
			    unsigned long offset, size_t size)
{
	struct genpool_data_fixed fd = { .offset = offset };

	assert_int_equal(gen_pool_alloc_algo(pool, size, gen_pool_fixed_alloc,
					     &fd), chunk + offset);
}

#define UT_FRAG_A 0x10000UL	/* 64 units of 16 bytes */
#define UT_FRAG_B 0x20000UL	/* 16 units, added later: the newest */

/*
 * A fragmented pool of 16-byte units, two chunks:
 * A: busy units [0,4) [10,12) [20,40): holes of 6, 8 and 24 units.
 * B: busy unit [2,3) (asked as 9 bytes): holes of 2 and 13 units.
 */
static inline struct gen_pool *ut_fragmented(struct captured_misuse *cap)
{
	struct gen_pool *pool = ut_pool(4, cap);

	/* Fixed offsets go to the newest chunk that fits: fill A first. */
	assert_int_equal(gen_pool_add(pool, UT_FRAG_A, 0x400, NUMA_NO_NODE), 0);
	ut_fixed(pool, UT_FRAG_A, 0x000, 64);
	ut_fixed(pool, UT_FRAG_A, 0x0a0, 17);
	ut_fixed(pool, UT_FRAG_A, 0x140, 320);
	assert_int_equal(gen_pool_add(pool, UT_FRAG_B, 0x100, NUMA_NO_NODE), 0);
	ut_fixed(pool, UT_FRAG_B, 0x020, 9);
	return pool;
}

/* Up to 16 (addr, size) pairs collected by gp_for_each_allocation(). */
struct ut_allocs {
	int n;
	unsigned long addr[16];
	size_t size[16];
};

static inline void ut_collect_alloc(struct gen_pool *pool, unsigned long addr,
				    size_t size, void *data)
{
	struct ut_allocs *a = data;

	if (a->n < 16) {
		a->addr[a->n] = addr;
		a->size[a->n] = size;
	}
	a->n++;
}

/* Free every live allocation of @pool (16 at a time); returns how many. */
static inline long ut_free_all(struct gen_pool *pool)
{
	struct ut_allocs a;
	long total = 0;
	int i;

	do {
		a.n = 0;
		gp_for_each_allocation(pool, ut_collect_alloc, &a);
		for (i = 0; i < a.n && i < 16; i++)
			assert_int_equal(gp_free_checked(pool, a.addr[i],
							 a.size[i], NULL), 0);
		total += i;
	} while (a.n > 0);
	return total;
}

/* Free whatever a test left allocated, then destroy the pool: a pool in
 * report mode refuses to die busy and would leak. */
static inline void ut_destroy(struct gen_pool *pool)
{
	ut_free_all(pool);
	assert_int_equal(gp_destroy_checked(pool), 0);
}

#endif /* GENPOOL_TESTS_UNIT_H */
