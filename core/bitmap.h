/* SPDX-License-Identifier: MIT */
/*
 * core/bitmap.h - bitmaps of units: plain bitmaps (the kernel's layout) and
 * the pool's unit maps, and the searches over both.
 *
 * A plain bitmap has one bit per unit, bit i in word i / 64 at position
 * i % 64: what the kernel's algorithms see and what a user's own algorithm
 * is handed.
 *
 * A chunk's *unit map* has two bits per unit: each 64-bit word covers 32
 * units, bits 0..31 say which are busy and bits 32..63 which are the first
 * unit of a live allocation (the "start marks").  Busy bits and start
 * marks of a unit share a word, so one CAS claims a run and marks it, and
 * one CAS checks and releases a small allocation (bounds.h).  An
 * allocation runs from its start mark to the next start mark or free unit.
 *
 * Searches read 64 units at a time: a plain word, or the busy halves of
 * two unit-map words.  Each search is written once as an always-inline
 * function over such a reader and instantiated for both layouts.  Words
 * are read with relaxed atomic loads because other threads CAS them
 * concurrently; every read is a hint that the claim's CAS confirms.
 */
#ifndef GENPOOL_CORE_BITMAP_H
#define GENPOOL_CORE_BITMAP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define GP_WORD_BITS (sizeof(unsigned long) * CHAR_BIT)
/* Units per unit-map word, and the busy half of such a word. */
#define GP_UNITS_PER_WORD (GP_WORD_BITS / 2)
#define GP_BUSY_HALF 0xffffffffUL

#define GPI_INLINE static inline __attribute__((always_inline))

/* Number of words holding @nbits bits of a plain bitmap. */
static inline unsigned long gpi_bitmap_words(unsigned long nbits)
{
	return gpi_div_round_up(nbits, GP_WORD_BITS);
}

/* Words of a unit map of @nbits units (an even number: searches read
 * them in pairs). */
static inline unsigned long gpi_umap_words(unsigned long nbits)
{
	return 2 * gpi_div_round_up(nbits, GP_WORD_BITS);
}

/* One word of @map, read atomically (it may be CAS'd concurrently). */
static inline unsigned long gpi_bitmap_word(const unsigned long *map,
					    unsigned long i)
{
	return __atomic_load_n(&map[i], __ATOMIC_RELAXED);
}

/* Busy bits of units [64 @i, 64 @i + 64) of the unit map @um. */
static inline unsigned long gpi_umap_busy64(const unsigned long *um,
					    unsigned long i)
{
	return (gpi_bitmap_word(um, 2 * i) & GP_BUSY_HALF) |
	       gpi_bitmap_word(um, 2 * i + 1) << GP_UNITS_PER_WORD;
}

/* The same, sequentially consistent: for the hint code, whose argument
 * (hints.c) needs these reads ordered after its own bitmap RMWs. */
static inline unsigned long gpi_umap_busy64_sc(const unsigned long *um,
					       unsigned long i)
{
	return (__atomic_load_n(&um[2 * i], __ATOMIC_SEQ_CST) & GP_BUSY_HALF) |
	       __atomic_load_n(&um[2 * i + 1], __ATOMIC_SEQ_CST)
	       << GP_UNITS_PER_WORD;
}

/* Is unit @u of the unit map @um busy? */
static inline bool gpi_umap_busy(const unsigned long *um, unsigned long u)
{
	return gpi_bitmap_word(um, u / GP_UNITS_PER_WORD) >>
	       (u % GP_UNITS_PER_WORD) & 1;
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

/* Is bit @bit of the plain bitmap @map set? */
static inline bool gpi_bitmap_test(const unsigned long *map, unsigned long bit)
{
	return gpi_bitmap_word(map, bit / GP_WORD_BITS) >> (bit % GP_WORD_BITS) & 1;
}

/* ------------------------------------------------- one search, two maps */

/* Reads 64 units of a map: gpi_bitmap_word or gpi_umap_busy64. */
typedef unsigned long (*gpi_read_fn)(const unsigned long *map,
				     unsigned long i);

/* First unit in [@start, @size) that is busy (or, with @invert ~0UL, free),
 * or @size if none. */
GPI_INLINE unsigned long gpi_find_next_t(const unsigned long *map,
					 unsigned long size,
					 unsigned long start,
					 unsigned long invert, gpi_read_fn rd)
{
	unsigned long i, w, words;

	if (start >= size)
		return size;
	i = start / GP_WORD_BITS;
	words = gpi_bitmap_words(size);
	w = (rd(map, i) ^ invert) & (~0UL << (start % GP_WORD_BITS));
	while (!w) {
		if (++i >= words)
			return size;
		w = rd(map, i) ^ invert;
	}
	start = i * GP_WORD_BITS + (unsigned long)__builtin_ctzl(w);
	return start < size ? start : size;
}

/* Last busy unit in [@floor, @before), or GPI_NO_FIT if none. */
GPI_INLINE unsigned long gpi_find_prev_t(const unsigned long *map,
					 unsigned long before,
					 unsigned long floor, gpi_read_fn rd)
{
	unsigned long i, w, bit;

	if (before <= floor)
		return GPI_NO_FIT;
	i = (before - 1) / GP_WORD_BITS;
	w = rd(map, i) & (~0UL >> (GP_WORD_BITS - 1 - (before - 1) % GP_WORD_BITS));
	for (;;) {
		if (w) {
			bit = i * GP_WORD_BITS + GP_WORD_BITS - 1 -
			      (unsigned long)__builtin_clzl(w);
			return bit >= floor ? bit : GPI_NO_FIT;
		}
		if (i == 0 || i * GP_WORD_BITS <= floor)
			return GPI_NO_FIT;
		w = rd(map, --i);
	}
}

/*
 * The reference search (the kernel's bitmap_find_next_zero_area_off): the
 * first run of @nr free units starting at b, with @start <= b < @limit,
 * inside [0, @size), whose first unit satisfies
 * ((b + @align_offset) & @align_mask) == 0.  Returns b or GPI_NO_FIT.
 * Find the next free unit, align it, look for a busy unit inside the
 * candidate run and restart past it.
 */
GPI_INLINE unsigned long gpi_find_zero_area_t(const unsigned long *map,
					      unsigned long size,
					      unsigned long start,
					      unsigned long limit,
					      unsigned long nr,
					      unsigned long align_mask,
					      unsigned long align_offset,
					      gpi_read_fn rd)
{
	unsigned long index, end, busy;

	for (;;) {
		/* Nothing at or past @limit can start the run: stop there. */
		index = gpi_find_next_t(map, limit < size ? limit : size,
					start, ~0UL, rd);
		index = gpi_align_up(index + align_offset, align_mask + 1) -
			align_offset;
		/* Overflow-safe form of "index + nr > size". */
		if (index >= limit || index > size || nr > size - index)
			return GPI_NO_FIT;
		end = index + nr;
		busy = gpi_find_next_t(map, end, index, 0, rd);
		if (busy >= end)
			return index;
		start = busy + 1;
	}
}

/* --------------------------------------------------------- plain maps */

/* First set bit in [@start, @size), or @size if none. */
unsigned long gpi_find_next_bit(const unsigned long *map, unsigned long size,
				unsigned long start);

/* First clear bit in [@start, @size), or @size if none. */
unsigned long gpi_find_next_zero_bit(const unsigned long *map,
				     unsigned long size, unsigned long start);

/* gpi_find_zero_area_t() on a plain bitmap (search_ref.c). */
unsigned long gpi_find_zero_area(const unsigned long *map, unsigned long size,
				 unsigned long start, unsigned long limit,
				 unsigned long nr, unsigned long align_mask,
				 unsigned long align_offset);

/* Is any bit in [@start, @start + @nr) set? */
bool gpi_bitmap_any_set(const unsigned long *map, unsigned long start,
			unsigned long nr);

/* ---------------------------------------------------------- unit maps */

/* First busy unit in [@start, @size), or @size. */
unsigned long gpi_unext_busy(const unsigned long *um, unsigned long size,
			     unsigned long start);

/* First free unit in [@start, @size), or @size. */
unsigned long gpi_unext_free(const unsigned long *um, unsigned long size,
			     unsigned long start);

/* Last busy unit in [@floor, @before), or GPI_NO_FIT. */
unsigned long gpi_uprev_busy(const unsigned long *um, unsigned long before,
			     unsigned long floor);

/* gpi_find_zero_area_t() on a unit map (search_ref.c). */
unsigned long gpi_ufind_zero_area(const unsigned long *um, unsigned long size,
				  unsigned long start, unsigned long limit,
				  unsigned long nr, unsigned long align_mask,
				  unsigned long align_offset);

/* Is any unit in [@start, @start + @nr) busy? */
bool gpi_uany_busy(const unsigned long *um, unsigned long start,
		   unsigned long nr);

/* Length of the longest run of free units in [0, @size). */
unsigned long gpi_ulargest_free_run(const unsigned long *um,
				    unsigned long size);

/* Copy the busy bits of units [64 @from, 64 @to) of @um into the plain
 * words @map[@from .. @to). */
void gpi_umap_to_plain(const unsigned long *um, unsigned long *map,
		       unsigned long from, unsigned long to);

#endif /* GENPOOL_CORE_BITMAP_H */
