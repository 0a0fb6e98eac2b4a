// SPDX-License-Identifier: MIT
/*
 * core/bitmap.c - the out-of-line searches of bitmap.h, for plain bitmaps
 * and for unit maps.
 */
#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include "bitmap.h"

unsigned long gpi_find_next_bit(const unsigned long *map, unsigned long size,
				unsigned long start)
{
	return gpi_find_next_t(map, size, start, 0, gpi_bitmap_word);
}

unsigned long gpi_find_next_zero_bit(const unsigned long *map,
				     unsigned long size, unsigned long start)
{
	return gpi_find_next_t(map, size, start, ~0UL, gpi_bitmap_word);
}

bool gpi_bitmap_any_set(const unsigned long *map, unsigned long start,
			unsigned long nr)
{
	return gpi_find_next_bit(map, start + nr, start) < start + nr;
}

unsigned long gpi_unext_busy(const unsigned long *um, unsigned long size,
			     unsigned long start)
{
	return gpi_find_next_t(um, size, start, 0, gpi_umap_busy64);
}

unsigned long gpi_unext_free(const unsigned long *um, unsigned long size,
			     unsigned long start)
{
	return gpi_find_next_t(um, size, start, ~0UL, gpi_umap_busy64);
}

unsigned long gpi_uprev_busy(const unsigned long *um, unsigned long before,
			     unsigned long floor)
{
	return gpi_find_prev_t(um, before, floor, gpi_umap_busy64);
}

bool gpi_uany_busy(const unsigned long *um, unsigned long start,
		   unsigned long nr)
{
	return gpi_unext_busy(um, start + nr, start) < start + nr;
}

unsigned long gpi_ulargest_free_run(const unsigned long *um,
				    unsigned long size)
{
	unsigned long best = 0, free, busy;

	for (free = gpi_unext_free(um, size, 0); free < size;
	     free = gpi_unext_free(um, size, busy)) {
		busy = gpi_unext_busy(um, size, free);
		if (busy - free > best)
			best = busy - free;
	}
	return best;
}

bool gpi_cas2_supported(void)
{
#if defined(__x86_64__) && !GPI_TSAN
	unsigned a, b, c, d;

	return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_CMPXCHG16B);
#else
	return true;
#endif
}
