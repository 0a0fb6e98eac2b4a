// SPDX-License-Identifier: MIT
/*
 * core/algorithms.c - the five genalloc algorithms.
 *
 * Each algorithm is written once, against a "finder": a bare plain bitmap
 * (what a caller of the public function hands us: the reference search) or
 * a chunk's unit map with its hints (what the pool uses: the engine).  The
 * pool recognises the built-in algorithms by address and runs them on the
 * engine; any other genpool_algo_t gets a plain bitmap of the chunk (its
 * view, view.c), as in the kernel.  A return value >= the bitmap size
 * means "no fit".
 */
#include <stddef.h>

#include "bitmap.h"
#include "pool_internal.h"
#include "search.h"

struct finder {
	const unsigned long *map;	/* plain bitmap, or the unit map */
	unsigned long size;
	struct gp_hints *hints;		/* NULL: a plain bitmap */
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

/* First busy unit in [@start, @end), or @end. */
static unsigned long next_busy(const struct finder *f, unsigned long end,
			       unsigned long start)
{
	return f->hints ? gpi_unext_busy(f->map, end, start)
			: gpi_find_next_bit(f->map, end, start);
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
static bool first_fit_align_params(const void *data,
				   const struct gen_pool *pool,
				   unsigned long start_addr, unsigned long *mask,
				   unsigned long *offset)
{
	const struct genpool_data_align *d = data;
	unsigned long align;
	unsigned order;

	if (!d || d->align <= 0 || !gpi_is_pow2((unsigned long)d->align) || !pool)
		return false;
	align = (unsigned long)d->align;
	order = (unsigned)pool->min_alloc_order;
	*mask = gpi_shift_round_up(align, order) - 1;
	*offset = (start_addr & (align - 1)) >> order;
	return true;
}

static unsigned long first_fit_align(const struct finder *f,
				     unsigned long start, unsigned long nr,
				     void *data, const struct gen_pool *pool,
				     unsigned long start_addr)
{
	unsigned long mask, offset;

	if (!first_fit_align_params(data, pool, start_addr, &mask, &offset))
		return GPI_NO_FIT;
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

	/* The engine bins holes by size class, which needs exact hints
	 * (hints.h): the first best fit in a chunk makes them so.  A retry
	 * after a lost race asks it again: the hole it lost is busy now. */
	if (f->hints && gpi_search_path() != GP_SEARCH_REFERENCE) {
		if (!gpi_hints_exact_ready(f->hints))
			gpi_hints_make_exact(f->hints, f->map, f->size);
		return gpi_engine_best_fit(f->hints, f->map, f->size, nr);
	}

	for (hole = find(f, start, nr, 0, 0); hole < f->size;
	     hole = find(f, hole_end + 1, nr, 0, 0)) {
		hole_end = next_busy(f, f->size, hole + nr);
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
	/* As the kernel's, which searches from start + offset and accepts
	 * only the offset: any start past 0 (a retry after a lost race, or
	 * a direct call) misses. */
	if (start || bit >= f->size || nr > f->size - bit)
		return GPI_NO_FIT;
	return next_busy(f, bit + nr, bit) < bit + nr ? GPI_NO_FIT : bit;
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

bool gpi_algo_builtin(genpool_algo_t algo)
{
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (builtins[i].algo == algo)
			return true;
	return false;
}

bool gpi_algo_forward_align(const struct gen_pool *pool,
			    const struct gp_chunk *c, genpool_algo_t algo,
			    void *data, unsigned long nr,
			    unsigned long *align_mask,
			    unsigned long *align_offset)
{
	*align_mask = 0;
	*align_offset = 0;
	if (algo == gen_pool_first_fit)
		return true;
	if (algo == gen_pool_first_fit_order_align) {
		if (nr > 1UL << (GP_WORD_BITS - 2))
			return false;
		*align_mask = gpi_roundup_pow2(nr) - 1;
		return true;
	}
	return first_fit_align_params(data, pool, c->pub.start_addr, align_mask,
				      align_offset);
}

unsigned long gpi_algo_run(struct gen_pool *pool, struct gp_chunk *c,
			   genpool_algo_t algo, void *data,
			   unsigned long start, unsigned long nr)
{
	struct finder f = { .map = c->um, .size = c->nbits,
			    .hints = &c->hints };
	unsigned long *view, bit;

	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (builtins[i].algo == algo)
			return builtins[i].impl(&f, start, nr, data, pool,
						c->pub.start_addr);
	view = gpi_view_get(c);
	if (!view)
		return GPI_NO_FIT;
	bit = algo(view, c->nbits, start, nr, data, pool, c->pub.start_addr);
	return bit < c->nbits ? bit : GPI_NO_FIT;
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
