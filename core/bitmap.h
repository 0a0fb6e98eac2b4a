/* SPDX-License-Identifier: MIT */
/*
 * core/bitmap.h - bitmaps of units: plain bitmaps (the kernel's layout) and
 * the pool's unit maps, and the searches over both.
 *
 * A plain bitmap has one bit per unit, bit i in word i / 64 at position
 * i % 64: what the kernel's algorithms see and what a user's own algorithm
 * is handed.
 *
 * A chunk's *unit map* has two bits per unit, in groups of 64 units: word
 * 2g holds the busy bits of units 64g .. 64g + 63 (the plain layout) and
 * word 2g + 1 their start marks (set on the first unit of each live
 * allocation).  A group's two words are one aligned 16-byte pair, so one
 * double-width CAS claims a run and marks it, and one checks and releases
 * an allocation within the group (bounds.h).  An allocation runs from its
 * start mark to the next start mark or free unit.
 *
 * Searches read 64 units at a time: a plain word, or a group's busy word.
 * Each search is written once as an always-inline function over such a
 * reader and instantiated for both layouts.  Words
 * are read with relaxed atomic loads because other threads CAS them
 * concurrently; every read is a hint that the claim's CAS confirms.
 */
#ifndef GENPOOL_CORE_BITMAP_H
#define GENPOOL_CORE_BITMAP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "thread_slot.h"
#include "util.h"

#define GP_WORD_BITS (sizeof(unsigned long) * CHAR_BIT)
/* Units per unit-map group (one busy word and one start word). */
#define GP_GROUP_UNITS GP_WORD_BITS

#define GPI_INLINE static inline __attribute__((always_inline))

/* Number of words holding @nbits bits of a plain bitmap. */
static inline unsigned long gpi_bitmap_words(unsigned long nbits)
{
	return gpi_div_round_up(nbits, GP_WORD_BITS);
}

/* Words of a unit map of @nbits units (two per group). */
static inline unsigned long gpi_umap_words(unsigned long nbits)
{
	return 2 * gpi_div_round_up(nbits, GP_GROUP_UNITS);
}

/* One word of @map, read atomically (it may be CAS'd concurrently). */
static inline unsigned long gpi_bitmap_word(const unsigned long *map,
					    unsigned long i)
{
	return __atomic_load_n(&map[i], __ATOMIC_RELAXED);
}

/* Busy bits of group @g (units [64 @g, 64 @g + 64)) of the unit map @um. */
static inline unsigned long gpi_umap_busy64(const unsigned long *um,
					    unsigned long g)
{
	return gpi_bitmap_word(um, 2 * g);
}

/* The same, sequentially consistent: for the hint code, whose argument
 * (hints.c) needs these reads ordered after its own bitmap RMWs. */
static inline unsigned long gpi_umap_busy64_sc(const unsigned long *um,
					       unsigned long g)
{
	return __atomic_load_n(&um[2 * g], __ATOMIC_SEQ_CST);
}

/* Start marks of group @g. */
static inline unsigned long gpi_umap_starts64(const unsigned long *um,
					      unsigned long g)
{
	return gpi_bitmap_word(um, 2 * g + 1);
}

/* Is unit @u of the unit map @um busy? */
static inline bool gpi_umap_busy(const unsigned long *um, unsigned long u)
{
	return gpi_umap_busy64(um, u / GP_GROUP_UNITS) >> (u % GP_GROUP_UNITS) & 1;
}

/* Bit p of the result: bits p .. p + @nr - 1 of @free (1 <= @nr <= 64)
 * are all set.  At most log2(nr) shift-and steps. */
static inline unsigned long gpi_word_run_starts(unsigned long free,
						unsigned long nr)
{
	unsigned long have;

	for (have = 1; 2 * have <= nr && free; have *= 2)
		free &= free >> have;
	return free & free >> (nr - have);
}

/* Free units of group @g of the unit map @um (@nbits units): none past
 * the end. */
static inline unsigned long gpi_umap_free64(const unsigned long *um,
					    unsigned long nbits,
					    unsigned long g)
{
	unsigned long free = ~gpi_umap_busy64(um, g), past = nbits - g * GP_GROUP_UNITS;

	return past < GP_GROUP_UNITS ? free & ((1UL << past) - 1) : free;
}

/*
 * The reference search's answer for @nr (1 <= nr <= 64) units with no
 * alignment, word at a time: the lowest b in [@start, @limit) (@start <
 * @limit <= @nbits) with [b, b + nr) free.  A group's own runs come
 * first (gpi_word_run_starts()), then the run across into the next group
 * (the free units at its top and at the next one's bottom; a run of at
 * most 64 spans two groups at most).  GPI_NO_FIT if none.
 */
static inline unsigned long gpi_umap_first_fit_small(const unsigned long *um,
						     unsigned long nbits,
						     unsigned long start,
						     unsigned long limit,
						     unsigned long nr)
{
	unsigned long g = start / GP_GROUP_UNITS, last = (nbits - 1) / GP_GROUP_UNITS;
	unsigned long free = gpi_umap_free64(um, nbits, g) &
			     (~0UL << start % GP_GROUP_UNITS);
	unsigned long fits, next, tail, head, b;

	for (;;) {
		fits = gpi_word_run_starts(free, nr);
		if (fits) {
			b = g * GP_GROUP_UNITS + (unsigned long)__builtin_ctzl(fits);
			return b < limit ? b : GPI_NO_FIT;
		}
		if (g == last || (g + 1) * GP_GROUP_UNITS >= limit + nr)
			return GPI_NO_FIT;
		next = gpi_umap_free64(um, nbits, g + 1);
		/* No run of nr inside: free is not all ones. */
		tail = (unsigned long)__builtin_clzl(~free);
		head = ~next ? (unsigned long)__builtin_ctzl(~next) : GP_GROUP_UNITS;
		if (tail && tail + head >= nr) {
			b = (g + 1) * GP_GROUP_UNITS - tail;
			return b < limit ? b : GPI_NO_FIT;
		}
		if ((g + 1) * GP_GROUP_UNITS >= limit)
			return GPI_NO_FIT;
		free = next;
		g++;
	}
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
	unsigned long i, w;

	if (start >= size)
		return size;
	i = start / GP_WORD_BITS;
	w = (rd(map, i) ^ invert) & (~0UL << (start % GP_WORD_BITS));
	while (!w) {
		if (++i * GP_WORD_BITS >= size)
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

/* ------------------------------------------- the double-width CAS */

/* Can this CPU compare-and-swap a group's two words at once (x86-64:
 * cmpxchg16b; elsewhere the compiler's 16-byte atomics)? */
bool gpi_cas2_supported(void);

/* Note the busy word @at of a unit-map group as the calling thread's last
 * change, left as @busy (gpi_umap_changed_by_other()). */
static inline void gpi_umap_seen(const unsigned long *at, unsigned long busy)
{
	gpi_self.seen_at = at;
	gpi_self.seen_busy = busy;
}

/*
 * Replace group @g's words of @um, if they still are @old[0] (busy) and
 * @old[1] (starts), with @busy and @starts; else load them into @old.
 * Sequentially consistent.  The unit map is 16-byte aligned.  Every change
 * of a unit map is made here, and noted for the calling thread.
 */
static inline bool gpi_umap_cas2(unsigned long *um, unsigned long g,
				 unsigned long old[2], unsigned long busy,
				 unsigned long starts)
{
#if defined(__x86_64__) && !GPI_TSAN
	bool ok;

	__asm__ __volatile__("lock cmpxchg16b %1"
			     : "=@ccz"(ok),
			       "+m"(*(unsigned __int128 *)&um[2 * g]),
			       "+a"(old[0]), "+d"(old[1])
			     : "b"(busy), "c"(starts)
			     : "memory");
#else
	unsigned __int128 want = old[0] | (unsigned __int128)old[1] << 64;
	bool ok = __atomic_compare_exchange_n(
		(unsigned __int128 *)&um[2 * g], &want,
		busy | (unsigned __int128)starts << 64, false,
		__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);

	old[0] = (unsigned long)want;
	old[1] = (unsigned long)(want >> 64);
#endif
	if (ok)
		gpi_umap_seen(&um[2 * g], busy);
	return ok;
}

/*
 * Has another thread changed group @g of @um since the calling thread's
 * last change, which was there?  Only another thread can leave the busy
 * word otherwise (a thread's own changes all pass gpi_umap_cas2()): the
 * two are working the same place, though no CAS of ours failed.  A relaxed
 * read: a hint, as the searches'.
 */
static inline bool gpi_umap_changed_by_other(const unsigned long *um,
					     unsigned long g)
{
	return gpi_self.seen_at == &um[2 * g] &&
	       __atomic_load_n(&um[2 * g], __ATOMIC_RELAXED) !=
	       gpi_self.seen_busy;
}

/* Group @g's two words, read one after the other: they may be torn, so
 * only a CAS with them (which fails if they were) may rely on both. */
static inline void gpi_umap_load2(const unsigned long *um, unsigned long g,
				  unsigned long w[2])
{
	w[0] = gpi_bitmap_word(um, 2 * g);
	w[1] = gpi_bitmap_word(um, 2 * g + 1);
}

/* Group @g's two words as one atomic snapshot (a CAS that writes back
 * what it read): for a refusal that must not rest on a torn read. */
static inline void gpi_umap_snapshot(unsigned long *um, unsigned long g,
				     unsigned long w[2])
{
	gpi_umap_load2(um, g, w);
	while (!gpi_umap_cas2(um, g, w, w[0], w[1]))
		;
}

#endif /* GENPOOL_CORE_BITMAP_H */
