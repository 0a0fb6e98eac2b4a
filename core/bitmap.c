// SPDX-License-Identifier: MIT
/*
 * core/bitmap.c - bitmaps of units: finding set and clear bits, the atomic
 * claim and release of runs that every search path uses, and the largest
 * free run.
 */
#include "bitmap.h"

/* Next bit at or after @start in [@start, @size) whose value is !@invert. */
static unsigned long find_next(const unsigned long *map, unsigned long size,
			       unsigned long start, unsigned long invert)
{
	unsigned long i, w, words;

	if (start >= size)
		return size;
	i = start / GP_WORD_BITS;
	words = gpi_bitmap_words(size);
	w = (gpi_bitmap_word(map, i) ^ invert) & (~0UL << (start % GP_WORD_BITS));
	while (!w) {
		if (++i >= words)
			return size;
		w = gpi_bitmap_word(map, i) ^ invert;
	}
	start = i * GP_WORD_BITS + (unsigned long)__builtin_ctzl(w);
	return start < size ? start : size;
}

unsigned long gpi_find_next_bit(const unsigned long *map, unsigned long size,
				unsigned long start)
{
	return find_next(map, size, start, 0);
}

unsigned long gpi_find_next_zero_bit(const unsigned long *map,
				     unsigned long size, unsigned long start)
{
	return find_next(map, size, start, ~0UL);
}

unsigned long gpi_find_prev_bit(const unsigned long *map, unsigned long before,
				unsigned long floor)
{
	unsigned long i, w;

	if (before <= floor)
		return GPI_NO_FIT;
	i = (before - 1) / GP_WORD_BITS;
	w = gpi_bitmap_word(map, i) &
	    (~0UL >> (GP_WORD_BITS - 1 - (before - 1) % GP_WORD_BITS));
	for (;;) {
		if (w) {
			unsigned long bit = i * GP_WORD_BITS + GP_WORD_BITS - 1 -
					    (unsigned long)__builtin_clzl(w);

			return bit >= floor ? bit : GPI_NO_FIT;
		}
		if (i == 0 || (i - 1) * GP_WORD_BITS + GP_WORD_BITS <= floor)
			return GPI_NO_FIT;
		w = gpi_bitmap_word(map, --i);
	}
}

bool gpi_bitmap_all_set(const unsigned long *map, unsigned long start,
			unsigned long nr)
{
	unsigned long end = start + nr, i, mask;

	for (i = start / GP_WORD_BITS; i * GP_WORD_BITS < end; i++) {
		mask = gpi_bitmap_word_mask(start, end, i);
		if ((gpi_bitmap_word(map, i) & mask) != mask)
			return false;
	}
	return true;
}

bool gpi_bitmap_any_set(const unsigned long *map, unsigned long start,
			unsigned long nr)
{
	return gpi_find_next_bit(map, start + nr, start) < start + nr;
}

/* Clear the bits of [@start, @upto) that a failed claim had set. */
static void unclaim(unsigned long *map, unsigned long start, unsigned long end,
		    unsigned long upto_word)
{
	unsigned long i;

	for (i = start / GP_WORD_BITS; i < upto_word; i++)
		__atomic_fetch_and(&map[i], ~gpi_bitmap_word_mask(start, end, i),
				   __ATOMIC_RELAXED);
}

bool gpi_bitmap_claim(unsigned long *map, unsigned long start,
		      unsigned long nr)
{
	unsigned long end = start + nr, i, mask, old;

	for (i = start / GP_WORD_BITS; i * GP_WORD_BITS < end; i++) {
		mask = gpi_bitmap_word_mask(start, end, i);
		old = gpi_bitmap_word(map, i);
		do {
			if (old & mask) {
				unclaim(map, start, end, i);
				return false;
			}
		} while (!__atomic_compare_exchange_n(&map[i], &old, old | mask,
						      true, __ATOMIC_SEQ_CST,
						      __ATOMIC_RELAXED));
	}
	return true;
}

bool gpi_bitmap_release(unsigned long *map, unsigned long start,
			unsigned long nr)
{
	unsigned long end = start + nr, i, mask, old;
	bool all_were_set = true;

	for (i = start / GP_WORD_BITS; i * GP_WORD_BITS < end; i++) {
		mask = gpi_bitmap_word_mask(start, end, i);
		old = __atomic_fetch_and(&map[i], ~mask, __ATOMIC_SEQ_CST);
		all_were_set &= (old & mask) == mask;
	}
	return all_were_set;
}

unsigned long gpi_largest_zero_run(const unsigned long *map,
				   unsigned long size)
{
	unsigned long best = 0, zero, busy;

	for (zero = gpi_find_next_zero_bit(map, size, 0); zero < size;
	     zero = gpi_find_next_zero_bit(map, size, busy)) {
		busy = gpi_find_next_bit(map, size, zero);
		if (busy - zero > best)
			best = busy - zero;
	}
	return best;
}
