/* SPDX-License-Identifier: MIT */
/*
 * core/bitmap.h - bitmaps of units: the scalar reference search and the
 * atomic claim/release of bit runs.
 *
 * Layout matches the kernel's on 64-bit little-endian machines: bit i lives
 * in word i / 64 at position i % 64, so user algorithms see the same bitmap
 * the kernel would hand them.  Words are read with relaxed atomic loads
 * because other threads CAS them concurrently; the CAS in gpi_bitmap_claim()
 * is the only truth, every read is a hint it confirms.
 */
#ifndef GENPOOL_CORE_BITMAP_H
#define GENPOOL_CORE_BITMAP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define GP_WORD_BITS (sizeof(unsigned long) * CHAR_BIT)

/* Number of words holding @nbits bits. */
static inline unsigned long gpi_bitmap_words(unsigned long nbits)
{
	return gpi_div_round_up(nbits, GP_WORD_BITS);
}

/* One word of @map, read atomically (it may be CAS'd concurrently). */
static inline unsigned long gpi_bitmap_word(const unsigned long *map,
					    unsigned long i)
{
	return __atomic_load_n(&map[i], __ATOMIC_RELAXED);
}

/* Mask of the bits of word @i that lie in [@start, @end). */
static inline unsigned long gpi_bitmap_word_mask(unsigned long start,
						 unsigned long end,
						 unsigned long i)
{
	unsigned long base = i * GP_WORD_BITS;
	unsigned long lo = start > base ? start - base : 0;
	unsigned long hi = end - base < GP_WORD_BITS ? end - base : GP_WORD_BITS;
	unsigned long upto = hi == GP_WORD_BITS ? ~0UL : (1UL << hi) - 1;

	return upto & (~0UL << lo);
}

/* Is bit @bit of @map set? */
static inline bool gpi_bitmap_test(const unsigned long *map, unsigned long bit)
{
	return gpi_bitmap_word(map, bit / GP_WORD_BITS) >> (bit % GP_WORD_BITS) & 1;
}

/* First set bit in [@start, @size), or @size if none. */
unsigned long gpi_find_next_bit(const unsigned long *map, unsigned long size,
				unsigned long start);

/* Last set bit in [@floor, @before), or GPI_NO_FIT if none. */
unsigned long gpi_find_prev_bit(const unsigned long *map, unsigned long before,
				unsigned long floor);

/* First clear bit in [@start, @size), or @size if none. */
unsigned long gpi_find_next_zero_bit(const unsigned long *map,
				     unsigned long size, unsigned long start);

/*
 * The reference search: the first run of @nr clear bits starting at b, with
 * @start <= b < @limit, inside [0, @size), whose first bit satisfies
 * ((b + @align_offset) & @align_mask) == 0.  Returns b, or GPI_NO_FIT
 * when there is none.
 * With @limit == @size this is the kernel's bitmap_find_next_zero_area_off;
 * the engine passes a block's end as @limit.
 */
unsigned long gpi_find_zero_area(const unsigned long *map, unsigned long size,
				 unsigned long start, unsigned long limit,
				 unsigned long nr, unsigned long align_mask,
				 unsigned long align_offset);

/* Are all bits in [@start, @start + @nr) set? */
bool gpi_bitmap_all_set(const unsigned long *map, unsigned long start,
			unsigned long nr);

/* Is any bit in [@start, @start + @nr) set? */
bool gpi_bitmap_any_set(const unsigned long *map, unsigned long start,
			unsigned long nr);

/*
 * Atomically set [@start, @start + @nr), all of which must be clear.
 * Word by word with CAS; if a bit is found set, the words already set are
 * cleared again and false is returned.  Lock-free.
 */
bool gpi_bitmap_claim(unsigned long *map, unsigned long start,
		      unsigned long nr);

/*
 * Atomically clear [@start, @start + @nr).  Returns false if some bit was
 * already clear (the caller checked beforehand, so only racing misuse can
 * make that happen).
 */
bool gpi_bitmap_release(unsigned long *map, unsigned long start,
			unsigned long nr);

/* Length of the largest run of clear bits in [0, @size). */
unsigned long gpi_largest_zero_run(const unsigned long *map,
				   unsigned long size);

#endif /* GENPOOL_CORE_BITMAP_H */
