/* SPDX-License-Identifier: MIT */
/*
 * core/bounds.h - live allocations in a unit map (bitmap.h): claiming a
 * run (busy bits and start mark in one CAS per word), checking that a free
 * names exactly one live allocation and releasing it, and walking them.
 *
 * An allocation [b, e) has its busy bits set, a start mark at b and none
 * inside; it ends at e because unit e is free, carries a start mark, or is
 * the chunk's end.  So a free of [b, b + n) is exact when all n units are
 * busy, b has a start mark, no unit in (b, b + n) has one, and unit b + n
 * is not busy without one (it would continue the allocation).  For an
 * allocation within one word the check and the release are one CAS: two
 * racing frees of one allocation cannot both succeed, and a refused free
 * changes nothing.  Runs across words are claimed first word first and
 * released last word first (bounds.c), so every state in between is made
 * of well-formed allocations.
 */
#ifndef GENPOOL_CORE_BOUNDS_H
#define GENPOOL_CORE_BOUNDS_H

#include <errno.h>
#include <stdbool.h>

#include "bitmap.h"

/* Busy bits of the units [@lo, @lo + @n) of one word (n <= 32). */
static inline unsigned long gpi_umap_run_mask(unsigned long lo, unsigned long n)
{
	return ((1UL << n) - 1) << lo;
}

/* The start mark of the unit at position @lo of a word. */
static inline unsigned long gpi_umap_start_mark(unsigned long lo)
{
	return 1UL << (GP_UNITS_PER_WORD + lo);
}

/* Does [@b, @b + @nr) lie within one unit-map word? */
static inline bool gpi_umap_one_word(unsigned long b, unsigned long nr)
{
	return b % GP_UNITS_PER_WORD + nr <= GP_UNITS_PER_WORD;
}

/* A run across words: claimed word by word, rolled back on conflict. */
bool gpi_umap_claim_long(unsigned long *um, unsigned long b, unsigned long nr,
			 bool *contended);

/*
 * Claim [@b, @b + @nr) of @um, all of which must be free, and mark @b as
 * an allocation's start.  Returns false (nothing changed) if a unit was
 * busy.  *@contended is set when a CAS had to be retried because another
 * thread changed the word.  Lock-free.
 */
static inline bool gpi_umap_claim(unsigned long *um, unsigned long b,
				  unsigned long nr, bool *contended)
{
	unsigned long *w = &um[b / GP_UNITS_PER_WORD], lo, busy, old;

	if (!gpi_umap_one_word(b, nr))
		return gpi_umap_claim_long(um, b, nr, contended);
	lo = b % GP_UNITS_PER_WORD;
	busy = gpi_umap_run_mask(lo, nr);
	old = gpi_bitmap_word(w, 0);
	for (;;) {
		if (old & busy)
			return false;
		if (__atomic_compare_exchange_n(w, &old,
						old | busy | gpi_umap_start_mark(lo),
						false, __ATOMIC_SEQ_CST,
						__ATOMIC_RELAXED))
			return true;
		*contended = true;
	}
}

/* Does unit @e (< @nbits) continue an allocation that runs up to it?
 * @w is its word's value if it lies in the word the caller holds. */
static inline bool gpi_umap_continues(unsigned long w, unsigned long e)
{
	unsigned long lo = e % GP_UNITS_PER_WORD;

	return (w >> lo & 1) && !(w & gpi_umap_start_mark(lo));
}

/* Why one word's part [@lo, @lo + @n) of a free is refused in @old, the
 * word's value (0 if it is not): -EALREADY a unit is free, -EBADSLT a
 * start mark is missing (@first: the part holds the start) or in the way. */
static inline int gpi_umap_refuse(unsigned long old, unsigned long lo,
				  unsigned long n, bool first)
{
	unsigned long busy = gpi_umap_run_mask(lo, n);
	unsigned long starts = busy << GP_UNITS_PER_WORD;

	if ((old & busy) != busy)
		return -EALREADY;
	if (first) {
		if (!(old & gpi_umap_start_mark(lo)))
			return -EBADSLT;
		starts &= ~gpi_umap_start_mark(lo);
	}
	return old & starts ? -EBADSLT : 0;
}

/* Is [@b, @b + @nr) of @um exactly one live allocation?  0 or the errno
 * gpi_umap_free() would give, from plain reads; changes nothing. */
int gpi_umap_check(const unsigned long *um, unsigned long nbits,
		   unsigned long b, unsigned long nr);

/* A free across words (bounds.c). */
int gpi_umap_free_long(unsigned long *um, unsigned long nbits, unsigned long b,
		       unsigned long nr);

/*
 * Free the allocation [@b, @b + @nr) of @um (@nbits units): check that it
 * is exactly one live allocation and release it.  Returns 0, or -EALREADY
 * (some unit is free: a double free) or -EBADSLT (busy, but not exactly
 * one allocation: wrong size or interior address) with nothing changed.
 * Lock-free.
 */
static inline int gpi_umap_free(unsigned long *um, unsigned long nbits,
				unsigned long b, unsigned long nr)
{
	unsigned long *w = &um[b / GP_UNITS_PER_WORD], e = b + nr, lo, old;
	bool same;
	int err;

	if (!gpi_umap_one_word(b, nr))
		return gpi_umap_free_long(um, nbits, b, nr);
	lo = b % GP_UNITS_PER_WORD;
	same = e / GP_UNITS_PER_WORD == b / GP_UNITS_PER_WORD;
	old = gpi_bitmap_word(w, 0);
	for (;;) {
		err = gpi_umap_refuse(old, lo, nr, true);
		if (err)
			return err;
		if (e < nbits &&
		    gpi_umap_continues(same ? old : gpi_bitmap_word(w, 1), e))
			return -EBADSLT;
		if (__atomic_compare_exchange_n(w, &old,
						old & ~(gpi_umap_run_mask(lo, nr) |
							gpi_umap_start_mark(lo)),
						false, __ATOMIC_SEQ_CST,
						__ATOMIC_RELAXED))
			return 0;
	}
}

/*
 * Claim @k allocations of @nr units at @b, @b + @stride, ... (@stride >=
 * @nr), all free, with one CAS per word they share.  Returns false, with
 * nothing changed, if a unit was busy.  *@contended as gpi_umap_claim().
 */
bool gpi_umap_claim_many(unsigned long *um, unsigned long b, unsigned long nr,
			 unsigned long stride, unsigned long k,
			 bool *contended);

/*
 * The next live allocation of the unit map @um (@nbits units) at or after
 * unit @from: its first unit in *@bit and its length in *@units.  Returns
 * false when there is none.
 */
bool gpi_next_allocation(const unsigned long *um, unsigned long nbits,
			 unsigned long from, unsigned long *bit,
			 unsigned long *units);

#endif /* GENPOOL_CORE_BOUNDS_H */
