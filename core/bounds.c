// SPDX-License-Identifier: MIT
/*
 * core/bounds.c - live allocations in a unit map: the claims and frees
 * across groups, and walking allocations (see bounds.h).
 */
#include "bounds.h"

/* Units of [@b, @e) in group @g: first position and count. */
static void part_in_group(unsigned long b, unsigned long e, unsigned long g,
			  unsigned long *lo, unsigned long *n)
{
	unsigned long base = g * GP_GROUP_UNITS;
	unsigned long from = b > base ? b - base : 0;
	unsigned long to = e - base < GP_GROUP_UNITS ? e - base : GP_GROUP_UNITS;

	*lo = from;
	*n = to - from;
}

/* The busy bits and start marks that claiming allocations of @nr units
 * every @stride units from @b up to @e sets in group @g. */
static void claim_bits(unsigned long b, unsigned long nr, unsigned long stride,
		       unsigned long e, unsigned long g, unsigned long bits[2])
{
	unsigned long base = g * GP_GROUP_UNITS, a, lo, n;

	bits[0] = bits[1] = 0;
	/* The first allocation that reaches into group g. */
	a = base >= b + nr ? b + ((base - b - nr) / stride + 1) * stride : b;
	if (a < base && a < e) {		/* one running in from before */
		part_in_group(a, a + nr, g, &lo, &n);
		bits[0] = gpi_umap_run_mask(lo, n);
		a += stride;
	}
	/* Those starting in the group, all but maybe the last whole. */
	for (; a < e && a + nr <= base + GP_GROUP_UNITS; a += stride) {
		bits[0] |= gpi_umap_run_mask(a - base, nr);
		bits[1] |= 1UL << (a - base);
	}
	if (a < e && a < base + GP_GROUP_UNITS) {	/* one running out */
		bits[0] |= ~0UL << (a - base);
		bits[1] |= 1UL << (a - base);
	}
}

/* Clear @bits (busy, starts) of group @g: what this thread set. */
static void unclaim(unsigned long *um, unsigned long g,
		    const unsigned long bits[2])
{
	unsigned long w[2];

	gpi_umap_load2(um, g, w);
	while (!gpi_umap_cas2(um, g, w, w[0] & ~bits[0], w[1] & ~bits[1]))
		;
}

bool gpi_umap_claim_many(unsigned long *um, unsigned long b, unsigned long nr,
			 unsigned long stride, unsigned long k,
			 bool *contended)
{
	unsigned long e = b + (k - 1) * stride + nr, g, bits[2], w[2];

	for (g = b / GP_GROUP_UNITS; g * GP_GROUP_UNITS < e; g++) {
		claim_bits(b, nr, stride, e, g, bits);
		if (!bits[0])
			continue;	/* an alignment gap spans the group */
		gpi_umap_load2(um, g, w);
		while (!(w[0] & bits[0])) {
			if (gpi_umap_cas2(um, g, w, w[0] | bits[0],
					  w[1] | bits[1]))
				break;
			*contended = true;
		}
		if (w[0] & bits[0]) {
			/* Taken: give back the groups already set, last
			 * first (what is left keeps its start mark). */
			while (g-- > b / GP_GROUP_UNITS) {
				claim_bits(b, nr, stride, e, g, bits);
				if (bits[0])
					unclaim(um, g, bits);
			}
			return false;
		}
	}
	return true;
}

bool gpi_umap_claim_long(unsigned long *um, unsigned long b, unsigned long nr,
			 bool *contended)
{
	return gpi_umap_claim_many(um, b, nr, nr, 1, contended);
}

/* Is [@b, @b + @nr) exactly one live allocation?  0 or the errno of
 * gpi_umap_free(), from plain reads (@atomic: from atomic snapshots). */
static int check_exact(unsigned long *um, unsigned long nbits,
		       unsigned long b, unsigned long nr, bool atomic)
{
	unsigned long e = b + nr, g, lo, n, w[2];
	bool badslt = false;
	int err;

	for (g = b / GP_GROUP_UNITS; g * GP_GROUP_UNITS < e; g++) {
		part_in_group(b, e, g, &lo, &n);
		if (atomic)
			gpi_umap_snapshot(um, g, w);
		else
			gpi_umap_load2(um, g, w);
		err = gpi_umap_refuse(w, lo, n, g == b / GP_GROUP_UNITS);
		if (err == -EALREADY)
			return err;	/* a free unit outranks a bad mark */
		badslt |= err != 0;
	}
	if (badslt)
		return -EBADSLT;
	if (e < nbits) {
		if (atomic)
			gpi_umap_snapshot(um, e / GP_GROUP_UNITS, w);
		else
			gpi_umap_load2(um, e / GP_GROUP_UNITS, w);
		if (gpi_umap_continues(w, e))
			return -EBADSLT;
	}
	return 0;
}

int gpi_umap_check(unsigned long *um, unsigned long nbits, unsigned long b,
		   unsigned long nr)
{
	int err = check_exact(um, nbits, b, nr, false);

	/* Refuse only on what was really there (plain reads may be torn). */
	return err ? check_exact(um, nbits, b, nr, true) : 0;
}

/*
 * Why group @g's part [@lo, @lo + @n) of a free ending at unit @e is
 * refused by its words @w: gpi_umap_refuse() (@first: the part holds the
 * start), and for the @last part unit @e continuing the allocation (read
 * in @w, or in an atomic snapshot of the next group).  0 if it is not.
 */
static int refuse_part(unsigned long *um, unsigned long nbits,
		       const unsigned long w[2], unsigned long g,
		       unsigned long lo, unsigned long n, bool first, bool last,
		       unsigned long e)
{
	unsigned long next[2];
	int err = gpi_umap_refuse(w, lo, n, first);

	if (err || !last || e >= nbits)
		return err;
	if (e % GP_GROUP_UNITS)
		next[0] = w[0], next[1] = w[1];
	else
		gpi_umap_snapshot(um, g + 1, next);
	return gpi_umap_continues(next, e) ? -EBADSLT : 0;
}

/*
 * A free across groups releases from the last group back to the first, so
 * that what is left of the allocation at every step still begins with its
 * start mark and ends at free units: a neighbour's check never sees busy
 * units without a start mark that are not its own.  The last group's CAS
 * (busy, no start mark, and the unit after the end not a continuation)
 * makes the allocation ours: a racing free of it finds those units free,
 * or taken again by an allocation whose start mark lies in them, and
 * refuses without changing anything.
 */
static int free_long(unsigned long *um, unsigned long nbits, unsigned long b,
		     unsigned long nr)
{
	unsigned long e = b + nr, first = b / GP_GROUP_UNITS;
	unsigned long last = (e - 1) / GP_GROUP_UNITS, g, lo, n, w[2];
	bool all_were_set = true, atomic;
	int err = gpi_umap_check(um, nbits, b, nr);

	if (err)
		return err;
	for (g = last; g >= first; g--) {
		part_in_group(b, e, g, &lo, &n);
		gpi_umap_load2(um, g, w);
		for (atomic = false;;) {
			err = refuse_part(um, nbits, w, g, lo, n, g == first,
					  g == last, e);
			if (err && !atomic) {
				gpi_umap_snapshot(um, g, w);
				atomic = true;
				continue;
			}
			if (err && g == last)
				return err;
			/* Past the last group only a racing misuse (someone
			 * freeing units that were ours) can refuse. */
			if (err) {
				all_were_set = false;
				break;
			}
			if (gpi_umap_cas2(um, g, w,
					  w[0] & ~gpi_umap_run_mask(lo, n),
					  g == first ? w[1] & ~(1UL << lo)
						     : w[1]))
				break;
			atomic = true;
		}
		if (g == first)
			break;
	}
	return all_were_set ? 0 : -EALREADY;
}

bool gpi_next_allocation(const unsigned long *um, unsigned long nbits,
			 unsigned long from, unsigned long *bit,
			 unsigned long *units)
{
	unsigned long s = gpi_find_next_t(um, nbits, from, 0, gpi_umap_starts64);
	unsigned long next_start, next_free;

	if (s >= nbits)
		return false;
	next_start = gpi_find_next_t(um, nbits, s + 1, 0, gpi_umap_starts64);
	next_free = gpi_unext_free(um, nbits, s + 1);
	*bit = s;
	*units = (next_start < next_free ? next_start : next_free) - s;
	return true;
}

/*
 * Within one group the check and the release are one CAS, retried from an
 * atomic snapshot: a refusal rests only on what was really there (two
 * plain loads may be torn), and a CAS that failed read the words
 * atomically.
 */
int gpi_umap_free_slow(unsigned long *um, unsigned long nbits,
		       unsigned long b, unsigned long nr)
{
	unsigned long g = b / GP_GROUP_UNITS, lo = b % GP_GROUP_UNITS, w[2], run;
	int err;

	if (!gpi_umap_one_group(b, nr))
		return free_long(um, nbits, b, nr);
	run = gpi_umap_run_mask(lo, nr);
	gpi_umap_snapshot(um, g, w);
	for (;;) {
		err = refuse_part(um, nbits, w, g, lo, nr, true, true, b + nr);
		if (err)
			return err;
		if (gpi_umap_cas2(um, g, w, w[0] & ~run, w[1] & ~(1UL << lo)))
			return 0;
	}
}
