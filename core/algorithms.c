// SPDX-License-Identifier: MIT
/*
 * core/algorithms.c - the five genalloc algorithms on the reference search.
 *
 * Each follows the kernel's definition; comments note where the arithmetic
 * is subtle.  A return value >= @size means "no fit".
 */
#include <stddef.h>

#include "bitmap.h"
#include "pool_internal.h"

GP_EXPORT unsigned long gp_bitmap_find_next_zero_area_off(
	const unsigned long *map, unsigned long size, unsigned long start,
	unsigned long nr, unsigned long align_mask, unsigned long align_offset)
{
	if (!map || nr == 0)
		return size + 1;
	return gpi_find_zero_area(map, size, start, nr, align_mask, align_offset);
}

GP_EXPORT unsigned long gen_pool_first_fit(unsigned long *map,
					   unsigned long size,
					   unsigned long start,
					   unsigned long nr, void *data,
					   struct gen_pool *pool,
					   unsigned long start_addr)
{
	return gpi_find_zero_area(map, size, start, nr, 0, 0);
}

/*
 * Alignment is absolute: the address, not the offset in the chunk, must be
 * a multiple of @align.  The chunk's own misalignment becomes the search's
 * bit offset.  An alignment below the unit means no constraint.
 */
GP_EXPORT unsigned long gen_pool_first_fit_align(unsigned long *map,
						 unsigned long size,
						 unsigned long start,
						 unsigned long nr, void *data,
						 struct gen_pool *pool,
						 unsigned long start_addr)
{
	const struct genpool_data_align *d = data;
	unsigned long align, order, mask, offset;

	if (!d || d->align <= 0 || (d->align & (d->align - 1)) || !pool)
		return size;
	align = (unsigned long)d->align;
	order = (unsigned long)pool->min_alloc_order;
	mask = ((align + (1UL << order) - 1) >> order) - 1;
	offset = (start_addr & (align - 1)) >> order;
	return gpi_find_zero_area(map, size, start, nr, mask, offset);
}

/* Smallest power of two >= @n (n >= 1). */
static unsigned long roundup_pow2(unsigned long n)
{
	return n <= 1 ? 1 : 1UL << (GP_WORD_BITS - (unsigned long)__builtin_clzl(n - 1));
}

GP_EXPORT unsigned long gen_pool_first_fit_order_align(unsigned long *map,
						       unsigned long size,
						       unsigned long start,
						       unsigned long nr,
						       void *data,
						       struct gen_pool *pool,
						       unsigned long start_addr)
{
	if (nr > 1UL << (GP_WORD_BITS - 2))
		return size;
	return gpi_find_zero_area(map, size, start, nr, roundup_pow2(nr) - 1, 0);
}

/*
 * The kernel's best fit: visit every hole that fits and keep the smallest,
 * the lowest one among equals; stop early on an exact fit.
 */
GP_EXPORT unsigned long gen_pool_best_fit(unsigned long *map,
					  unsigned long size,
					  unsigned long start,
					  unsigned long nr, void *data,
					  struct gen_pool *pool,
					  unsigned long start_addr)
{
	unsigned long best = size, best_len = ~0UL, hole, hole_end;

	hole = gpi_find_zero_area(map, size, start, nr, 0, 0);
	while (hole < size) {
		hole_end = gpi_find_next_bit(map, size, hole + nr);
		if (hole_end - hole < best_len) {
			best_len = hole_end - hole;
			best = hole;
			if (best_len == nr)
				break;
		}
		if (hole_end >= size)
			break;
		hole = gpi_find_zero_area(map, size, hole_end + 1, nr, 0, 0);
	}
	return best;
}

GP_EXPORT unsigned long gen_pool_fixed_alloc(unsigned long *map,
					     unsigned long size,
					     unsigned long start,
					     unsigned long nr, void *data,
					     struct gen_pool *pool,
					     unsigned long start_addr)
{
	const struct genpool_data_fixed *d = data;
	unsigned long bit;

	if (!d || !pool || (d->offset & ((1UL << pool->min_alloc_order) - 1)))
		return size;
	bit = d->offset >> pool->min_alloc_order;
	/* A retry after a lost race starts past the offset: no fit. */
	if (start > bit || bit >= size || nr > size - bit)
		return size;
	return gpi_bitmap_any_set(map, bit, nr) ? size : bit;
}
