// SPDX-License-Identifier: MIT
/*
 * core/stats.c - snapshots of a pool: statistics and live allocations.
 *
 * Nothing here is counted on the allocation path (that would put a shared
 * cache line under every alloc/free); it is derived from the bitmaps.
 */
#include <errno.h>
#include <string.h>

#include "bitmap.h"
#include "bounds.h"
#include "pool_internal.h"

GP_EXPORT long gp_for_each_allocation(struct gen_pool *pool,
				      void (*func)(struct gen_pool *pool,
						   unsigned long addr,
						   size_t size, void *data),
				      void *data)
{
	const struct gp_chunk *c;
	unsigned long bit, units;
	long n = 0;

	if (!pool)
		return -EINVAL;
	for (c = gpi_first_chunk(pool); c; c = c->next) {
		for (bit = 0; gpi_next_allocation(c->um, c->nbits, bit, &bit,
						  &units);
		     bit += units) {
			if (func)
				func(pool, c->pub.start_addr +
					   (bit << pool->min_alloc_order),
				     (size_t)units << pool->min_alloc_order,
				     data);
			n++;
		}
	}
	return n;
}

GP_EXPORT int gp_get_stats(struct gen_pool *pool, struct gp_stats *st)
{
	const struct gp_chunk *c;
	size_t run;

	if (!pool || !st)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	for (c = gpi_first_chunk(pool); c; c = c->next) {
		st->chunks++;
		st->size += gpi_chunk_size(c);
		st->avail += gpi_chunk_avail(c);
		run = (size_t)gpi_ulargest_free_run(c->um, c->nbits)
		      << pool->min_alloc_order;
		if (run > st->largest_free)
			st->largest_free = run;
	}
	st->in_use = st->size - st->avail;
	st->allocations = (uint64_t)gp_for_each_allocation(pool, NULL, NULL);
	st->failures = __atomic_load_n(&pool->failures, __ATOMIC_RELAXED);
	st->fragmentation = st->avail ?
		1.0 - (double)st->largest_free / (double)st->avail : 0.0;
	return 0;
}
