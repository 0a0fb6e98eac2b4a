// SPDX-License-Identifier: MIT
/*
 * core/algorithms.c - the five genalloc algorithms.
 *
 * Each algorithm is written once, against a "finder": a bare bitmap (what a
 * caller of the public function hands us: the reference search) or a chunk
 * with hints (what the pool uses: the engine).  The pool recognises the
 * built-in algorithms by address and runs them on the engine; any other
 * genpool_algo_t gets the raw bitmap, exactly as in the kernel.
 * A return value >= the bitmap size means "no fit".
 */
#include <stddef.h>

#include "bitmap.h"
#include "pool_internal.h"
#include "search.h"

struct finder {
	const unsigned long *map;
	unsigned long size;
	struct gp_hints *hints;		/* NULL: the reference search */
};

/* First free run of @nr at or after @start with the given alignment. */
static unsigned long find(const struct finder *f, unsigned long start,
			  unsigned long nr, unsigned long align_mask,
			  unsigned long align_offset)
{
	if (!f->hints)
		return gpi_find_zero_area(f->map, f->size, start, f->size, nr,
					  align_mask, align_offset);
	return gpi_engine_find(f->hints, f->map, f->size, start, nr,
			       align_mask, align_offset);
}

typedef unsigned long (*finder_algo)(const struct finder *f,
				     unsigned long start, unsigned long nr,
				     void *data, const struct gen_pool *pool,
				     unsigned long start_addr);

static unsigned long first_fit(const struct finder *f, unsigned long start,
			       unsigned long nr, void *data,
			       const struct gen_pool *pool,
			       unsigned long start_addr)
{
	return find(f, start, nr, 0, 0);
}

/*
 * Alignment is absolute: the address, not the offset in the chunk, must be
 * a multiple of @align.  The chunk's own misalignment becomes the search's
 * bit offset.  An alignment below the unit means no constraint.
 */
static unsigned long first_fit_align(const struct finder *f,
				     unsigned long start, unsigned long nr,
				     void *data, const struct gen_pool *pool,
				     unsigned long start_addr)
{
	const struct genpool_data_align *d = data;
	unsigned long align, mask, offset;
	unsigned order;

	if (!d || d->align <= 0 || !gpi_is_pow2((unsigned long)d->align) || !pool)
		return GPI_NO_FIT;
	align = (unsigned long)d->align;
	order = (unsigned)pool->min_alloc_order;
	mask = gpi_shift_round_up(align, order) - 1;
	offset = (start_addr & (align - 1)) >> order;
	return find(f, start, nr, mask, offset);
}

static unsigned long order_align(const struct finder *f, unsigned long start,
				 unsigned long nr, void *data,
				 const struct gen_pool *pool,
				 unsigned long start_addr)
{
	if (nr > 1UL << (GP_WORD_BITS - 2))
		return GPI_NO_FIT;
	return find(f, start, nr, gpi_roundup_pow2(nr) - 1, 0);
}

/*
 * Best fit: a smallest hole that fits, the lowest one among equals.  The
 * kernel's way visits every hole that fits and stops early on an exact
 * fit; the engine's finds the same hole through the size classes.
 */
static unsigned long best_fit(const struct finder *f, unsigned long start,
			      unsigned long nr, void *data,
			      const struct gen_pool *pool,
			      unsigned long start_addr)
{
	unsigned long best = GPI_NO_FIT, best_len = ULONG_MAX, hole, hole_end;

	/* The engine bins holes by size class; a retry (start > 0) after a
	 * lost race keeps the kernel's walk from @start. */
	if (f->hints && start == 0 &&
	    gpi_search_path() != GP_SEARCH_REFERENCE)
		return gpi_engine_best_fit(f->hints, f->map, f->size, nr);

	for (hole = find(f, start, nr, 0, 0); hole < f->size;
	     hole = find(f, hole_end + 1, nr, 0, 0)) {
		hole_end = gpi_find_next_bit(f->map, f->size, hole + nr);
		if (hole_end - hole < best_len) {
			best_len = hole_end - hole;
			best = hole;
			if (best_len == nr)
				break;
		}
		if (hole_end >= f->size)
			break;
	}
	return best;
}

static unsigned long fixed(const struct finder *f, unsigned long start,
			   unsigned long nr, void *data,
			   const struct gen_pool *pool, unsigned long start_addr)
{
	const struct genpool_data_fixed *d = data;
	unsigned long bit;

	if (!d || !pool ||
	    !gpi_is_aligned(d->offset, 1UL << pool->min_alloc_order))
		return GPI_NO_FIT;
	bit = d->offset >> pool->min_alloc_order;
	/* A retry after a lost race starts past the offset: no fit. */
	if (start > bit || bit >= f->size || nr > f->size - bit)
		return GPI_NO_FIT;
	return gpi_bitmap_any_set(f->map, bit, nr) ? GPI_NO_FIT : bit;
}

/* The public algorithms: the same code on the reference search. */
#define GP_PUBLIC_ALGO(name, impl)                                           \
	GP_EXPORT unsigned long name(unsigned long *map, unsigned long size, \
				     unsigned long start, unsigned long nr,  \
				     void *data, struct gen_pool *pool,      \
				     unsigned long start_addr)               \
	{                                                                    \
		struct finder f = { .map = map, .size = size };              \
		return impl(&f, start, nr, data, pool, start_addr);          \
	}

GP_PUBLIC_ALGO(gen_pool_first_fit, first_fit)
GP_PUBLIC_ALGO(gen_pool_first_fit_align, first_fit_align)
GP_PUBLIC_ALGO(gen_pool_first_fit_order_align, order_align)
GP_PUBLIC_ALGO(gen_pool_best_fit, best_fit)
GP_PUBLIC_ALGO(gen_pool_fixed_alloc, fixed)

static const struct {
	genpool_algo_t algo;
	finder_algo impl;
} builtins[] = {
	{ gen_pool_first_fit, first_fit },
	{ gen_pool_first_fit_align, first_fit_align },
	{ gen_pool_first_fit_order_align, order_align },
	{ gen_pool_best_fit, best_fit },
	{ gen_pool_fixed_alloc, fixed },
};

unsigned long gpi_algo_run(struct gen_pool *pool, struct gp_chunk *c,
			   genpool_algo_t algo, void *data,
			   unsigned long start, unsigned long nr)
{
	struct finder f = { .map = c->map, .size = c->nbits,
			    .hints = &c->hints };

	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (builtins[i].algo == algo)
			return builtins[i].impl(&f, start, nr, data, pool,
						c->pub.start_addr);
	return algo(c->map, c->nbits, start, nr, data, pool, c->pub.start_addr);
}

GP_EXPORT unsigned long gp_bitmap_find_next_zero_area_off(
	const unsigned long *map, unsigned long size, unsigned long start,
	unsigned long nr, unsigned long align_mask, unsigned long align_offset)
{
	if (!map || nr == 0)
		return GPI_NO_FIT;
	return gpi_find_zero_area(map, size, start, size, nr, align_mask,
				  align_offset);
}
