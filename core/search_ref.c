// SPDX-License-Identifier: MIT
/*
 * core/search_ref.c - the reference search: the scalar word-at-a-time
 * search of the kernel's bitmap_find_next_zero_area_off().
 *
 * It is deliberately the kernel's algorithm: find the next clear bit a
 * word at a time, align it, then look for a set bit inside the candidate
 * run and restart after it.  Every faster path is tested against it.
 */
#include "bitmap.h"

unsigned long gpi_find_zero_area(const unsigned long *map, unsigned long size,
				 unsigned long start, unsigned long limit,
				 unsigned long nr, unsigned long align_mask,
				 unsigned long align_offset)
{
	unsigned long index, end, busy;

	for (;;) {
		/* Nothing at or past @limit can start the run: stop there. */
		index = gpi_find_next_zero_bit(map, limit < size ? limit : size,
					       start);
		index = gpi_align_up(index + align_offset, align_mask + 1) -
			align_offset;
		/* Overflow-safe form of "index + nr > size". */
		if (index >= limit || index > size || nr > size - index)
			return GPI_NO_FIT;
		end = index + nr;
		busy = gpi_find_next_bit(map, end, index);
		if (busy >= end)
			return index;
		start = busy + 1;
	}
}
