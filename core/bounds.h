/* SPDX-License-Identifier: MIT */
/*
 * core/bounds.h - live allocations in a unit map (bitmap.h): claiming a
 * run (busy bits and start mark with one double-width CAS per group),
 * checking that a free names exactly one live allocation and releasing
 * it, and walking them.
 *
 * An allocation [b, e) has its busy bits set, a start mark at b and none
 * inside; it ends at e because unit e is free, carries a start mark, or is
 * the chunk's end.  So a free of [b, b + n) is exact when all n units are
 * busy, b has a start mark, no unit in (b, b + n) has one, and unit b + n
 * is not busy without one (it would continue the allocation).  For an
 * allocation within one group the check and the release are one CAS: two
 * racing frees of one allocation cannot both succeed, and a refused free
 * changes nothing.  Runs across groups are claimed first group first and
 * released last group first (bounds.c), so every state in between is made
 * of well-formed allocations.
 */
#ifndef GENPOOL_CORE_BOUNDS_H
#define GENPOOL_CORE_BOUNDS_H

#include <errno.h>
#include <stdbool.h>

#include "bitmap.h"

/* Bits of the units [@lo, @lo + @n) of one group (n <= 64). */
static inline unsigned long gpi_umap_run_mask(unsigned long lo, unsigned long n)
{
	return (n < GP_GROUP_UNITS ? (1UL << n) - 1 : ~0UL) << lo;
}

/* Does [@b, @b + @nr) lie within one group? */
static inline bool gpi_umap_one_group(unsigned long b, unsigned long nr)
{
	return b % GP_GROUP_UNITS + nr <= GP_GROUP_UNITS;
}

/* A run across groups: claimed group by group, rolled back on conflict. */
bool gpi_umap_claim_long(unsigned long *um, unsigned long b, unsigned long nr,
			 bool *contended);

/*
 * First fit of @nr (1 <= nr <= 64) units at or after @start (< @nbits)
 * wholly inside @start's group, claimed there.  It is the first fit
 * outright: a run crossing into the next group would start within the
 * last nr - 1 units, past it.  A CAS that fails hands back the group's
 * words and the search runs again on them (and sets *@contended).
 * Returns false (nothing changed) when the group has no such run; else
 * its first unit is in *@bit and the busy word the CAS replaced in
 * *@before.
 */
static inline bool gpi_umap_claim_first_in_group(
	unsigned long *um, unsigned long nbits, unsigned long start,
	unsigned long nr, unsigned long *bit, unsigned long *before,
	bool *contended)
{
	unsigned long g = start / GP_GROUP_UNITS, base = g * GP_GROUP_UNITS;
	unsigned long span = ~0UL << start % GP_GROUP_UNITS, w[2], fits, p;

	if (nbits - base < GP_GROUP_UNITS)
		span &= (1UL << (nbits - base)) - 1;
	gpi_umap_load2(um, g, w);
	for (;;) {
		fits = gpi_word_run_starts(~w[0] & span, nr);
		if (!fits)
			return false;
		p = (unsigned long)__builtin_ctzl(fits);
		if (gpi_umap_cas2(um, g, w, w[0] | gpi_umap_run_mask(p, nr),
				  w[1] | 1UL << p)) {
			*bit = base + p;
			*before = w[0];
			return true;
		}
		*contended = true;
	}
}

/*
 * Claim [@b, @b + @nr) of @um, all of which must be free, and mark @b as
 * an allocation's start.  Returns false (nothing changed) if a unit was
 * busy.  *@contended is set when a CAS had to be retried because another
 * thread changed the group.  Lock-free.
 */
static inline bool gpi_umap_claim(unsigned long *um, unsigned long b,
				  unsigned long nr, bool *contended)
{
	unsigned long g = b / GP_GROUP_UNITS, lo = b % GP_GROUP_UNITS, run, w[2];

	if (!gpi_umap_one_group(b, nr))
		return gpi_umap_claim_long(um, b, nr, contended);
	run = gpi_umap_run_mask(lo, nr);
	gpi_umap_load2(um, g, w);
	for (;;) {
		if (w[0] & run)
			return false;
		if (gpi_umap_cas2(um, g, w, w[0] | run, w[1] | 1UL << lo))
			return true;
		*contended = true;
	}
}

/* Does unit @e continue an allocation that runs up to it?  @w is its
 * group's words. */
static inline bool gpi_umap_continues(const unsigned long w[2], unsigned long e)
{
	unsigned long bit = 1UL << (e % GP_GROUP_UNITS);

	return (w[0] & bit) && !(w[1] & bit);
}

/* Why one group's part [@lo, @lo + @n) of a free is refused by its words
 * @w: -EALREADY a unit is free, -EBADSLT a start mark is missing (@first:
 * the part holds the start) or in the way; else 0. */
static inline int gpi_umap_refuse(const unsigned long w[2], unsigned long lo,
				  unsigned long n, bool first)
{
	unsigned long run = gpi_umap_run_mask(lo, n), starts = run;

	if ((w[0] & run) != run)
		return -EALREADY;
	if (first) {
		if (!(w[1] & 1UL << lo))
			return -EBADSLT;
		starts &= ~(1UL << lo);
	}
	return w[1] & starts ? -EBADSLT : 0;
}

/* Is [@b, @b + @nr) of @um exactly one live allocation?  0 or the errno
 * gpi_umap_free() would give; changes nothing. */
int gpi_umap_check(unsigned long *um, unsigned long nbits, unsigned long b,
		   unsigned long nr);

/* gpi_umap_free() when its first, plain attempt did not decide: atomic
 * snapshots for a refusal, and frees across groups (bounds.c). */
int gpi_umap_free_slow(unsigned long *um, unsigned long nbits,
		       unsigned long b, unsigned long nr);

/*
 * The first attempt at freeing [@b, @b + @nr), which lies within one group
 * of @um (@nbits units): check it on a plain read of the group's words
 * (and the next group's, when the allocation ends at the group's end) and
 * release it with one CAS.  true: released, and *@busy is the group's busy
 * word as the CAS left it.  false: nothing changed (refused on what may be
 * a torn read, or raced); gpi_umap_free_slow() decides.
 */
static inline bool gpi_umap_free_in_group(unsigned long *um,
					  unsigned long nbits, unsigned long b,
					  unsigned long nr, unsigned long *busy)
{
	unsigned long g = b / GP_GROUP_UNITS, lo = b % GP_GROUP_UNITS, e = b + nr;
	unsigned long run = gpi_umap_run_mask(lo, nr), first = 1UL << lo;
	unsigned long after = 0, w[2], next[2];

	gpi_umap_load2(um, g, w);
	/* Unit e, when it is in the group, must not continue the run. */
	if (lo + nr < GP_GROUP_UNITS)
		after = 1UL << (lo + nr);
	else if (e < nbits && (gpi_umap_load2(um, g + 1, next),
			       gpi_umap_continues(next, e)))
		return false;
	/* All busy, the one start mark at b, unit e not a continuation. */
	if ((run & ~w[0]) | ((w[1] & run) ^ first) | (w[0] & ~w[1] & after))
		return false;
	if (!gpi_umap_cas2(um, g, w, w[0] & ~run, w[1] & ~first))
		return false;
	*busy = w[0] & ~run;
	return true;
}

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
	unsigned long busy;

	if (gpi_umap_one_group(b, nr) &&
	    gpi_umap_free_in_group(um, nbits, b, nr, &busy))
		return 0;
	return gpi_umap_free_slow(um, nbits, b, nr);
}

/*
 * Claim @k allocations of @nr units at @b, @b + @stride, ... (@stride >=
 * @nr), all free, with one CAS per group they share.  Returns false, with
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
