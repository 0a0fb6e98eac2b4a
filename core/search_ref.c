// SPDX-License-Identifier: MIT
/*
 * core/search_ref.c - the reference search: the scalar word-at-a-time
 * search of the kernel's bitmap_find_next_zero_area_off(), on a plain
 * bitmap and on a unit map (one algorithm, gpi_find_zero_area_t()).
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
	return gpi_find_zero_area_t(map, size, start, limit, nr, align_mask,
				    align_offset, gpi_bitmap_word);
}

unsigned long gpi_ufind_zero_area(const unsigned long *um, unsigned long size,
				  unsigned long start, unsigned long limit,
				  unsigned long nr, unsigned long align_mask,
				  unsigned long align_offset)
{
	return gpi_find_zero_area_t(um, size, start, limit, nr, align_mask,
				    align_offset, gpi_umap_busy64);
}
