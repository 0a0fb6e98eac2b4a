// SPDX-License-Identifier: MIT
/*
 * core/bounds.c - the bounds of live allocations: marking them, checking
 * that a free names exactly one, and walking them (see bounds.h).
 */
#include <errno.h>

#include "bitmap.h"
#include "bounds.h"
#include "pool_internal.h"

void gpi_bounds_mark(struct gp_chunk *c, unsigned long bit,
		     unsigned long nr, bool on)
{
	unsigned long first = 2 * bit, last = 2 * (bit + nr - 1) + 1;
	unsigned long fw = first / GP_WORD_BITS, lw = last / GP_WORD_BITS;
	unsigned long fm = 1UL << (first % GP_WORD_BITS);
	unsigned long lm = 1UL << (last % GP_WORD_BITS);

	if (fw == lw) {
		fm |= lm;
		lm = 0;
	}
	if (on) {
		__atomic_fetch_or(&c->bounds[fw], fm, __ATOMIC_RELEASE);
		if (lm)
			__atomic_fetch_or(&c->bounds[lw], lm, __ATOMIC_RELEASE);
	} else {
		__atomic_fetch_and(&c->bounds[fw], ~fm, __ATOMIC_RELEASE);
		if (lm)
			__atomic_fetch_and(&c->bounds[lw], ~lm, __ATOMIC_RELEASE);
	}
}

int gpi_bounds_check_exact(const struct gp_chunk *c, unsigned long bit,
			   unsigned long nr)
{
	if (!gpi_bitmap_all_set(c->map, bit, nr))
		return -EALREADY;
	/* Its first mark, its last mark, and no mark in between: the marks
	 * between 2 * bit and 2 * (bit + nr - 1) + 1 are the interior's. */
	if (!gpi_bitmap_test(c->bounds, 2 * bit) ||
	    !gpi_bitmap_test(c->bounds, 2 * (bit + nr - 1) + 1) ||
	    gpi_bitmap_any_set(c->bounds, 2 * bit + 1, 2 * nr - 2))
		return -EBADSLT;
	return 0;
}

bool gpi_next_allocation(const struct gp_chunk *c, unsigned long from,
			 unsigned long *bit, unsigned long *units)
{
	unsigned long size = 2 * c->nbits, first, last;

	for (first = gpi_find_next_bit(c->bounds, size, 2 * from); first < size;
	     first = gpi_find_next_bit(c->bounds, size, first + 1)) {
		if (first % 2)
			continue;	/* a last mark without its first: racing */
		last = gpi_find_next_bit(c->bounds, size, first + 1);
		if (last >= size)
			return false;
		*bit = first / 2;
		*units = (last - first + 1) / 2;
		return true;
	}
	return false;
}
