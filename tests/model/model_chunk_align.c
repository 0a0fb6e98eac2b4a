// SPDX-License-Identifier: MIT
/*
 * tests/model/model_chunk_align.c - chunks whose start is not a multiple of
 * the unit.
 *
 * genalloc.h documents gen_pool_add_owner()'s @virt as "must be a multiple
 * of the unit" and promises -EINVAL for a bad argument.  The model suite
 * only adds unit-aligned chunks (its address arithmetic relies on it); this
 * test checks the refusal, and, should a misaligned chunk be accepted, that
 * what the pool then hands out still keeps its promises: absolute alignment
 * for gen_pool_first_fit_align() and frees that round-trip.
 */
#include <errno.h>
#include <stdio.h>

#include "genpool/genalloc.h"
#include "testutil.h"

static int failures;

static void expect(int cond, const char *what, unsigned long a,
		   unsigned long b)
{
	if (!cond) {
		printf("FAIL: %s (0x%lx, 0x%lx)\n", what, a, b);
		failures++;
	}
}

/* One order: a chunk 4 bytes past a unit boundary. */
static void check_order(int order)
{
	struct captured_misuse cap;
	struct genpool_data_align al = { .align = 16 };
	unsigned long unit = 1UL << order, virt = 0x100000UL + 4, addr;
	struct gen_pool *pool = gen_pool_create(order, NUMA_NO_NODE);
	int ret;

	expect(pool != NULL, "gen_pool_create", (unsigned long)order, 0);
	if (!pool)
		return;
	capture_pool_misuse(pool, &cap);
	ret = gen_pool_add(pool, virt, 16 * unit, NUMA_NO_NODE);
	printf("order %d: gen_pool_add(0x%lx, %lu) = %d\n", order, virt,
	       16 * unit, ret);
	expect(ret == -EINVAL, "misaligned chunk start must be refused",
	       virt, (unsigned long)-ret);
	expect(cap.count == 1, "the refusal must be reported", virt,
	       (unsigned long)cap.count);
	if (ret == 0) {
		/* Accepted anyway: at least the promises must hold. */
		addr = gen_pool_alloc_algo(pool, unit, gen_pool_first_fit_align,
					   &al);
		printf("order %d: first_fit_align(16) -> 0x%lx\n", order, addr);
		expect(addr != 0 && addr % 16 == 0,
		       "first_fit_align(16) must return a 16-aligned address",
		       addr, 16);
		if (addr)
			expect(gp_free_checked(pool, addr, unit, NULL) == 0,
			       "free of that allocation", addr, unit);
	}
	gp_destroy_checked(pool);
}

int main(void)
{
	check_order(3);
	check_order(6);
	printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
