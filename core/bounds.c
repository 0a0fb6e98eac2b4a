// SPDX-License-Identifier: MIT
/*
 * core/bounds.c - live allocations in a unit map: the multi-word claim and
 * free, and walking allocations (see bounds.h).
 */
#include "bounds.h"

/* Units of [@b, @e) in unit-map word @i: first position and count. */
static void part_in_word(unsigned long b, unsigned long e, unsigned long i,
			 unsigned long *lo, unsigned long *n)
{
	unsigned long base = i * GP_UNITS_PER_WORD;
	unsigned long from = b > base ? b - base : 0;
	unsigned long to = e - base < GP_UNITS_PER_WORD ? e - base
							: GP_UNITS_PER_WORD;

	*lo = from;
	*n = to - from;
}

/* What a claim of [@b, @e) sets in word @i. */
static unsigned long claim_bits(unsigned long b, unsigned long e,
				unsigned long i)
{
	unsigned long lo, n, bits;

	part_in_word(b, e, i, &lo, &n);
	bits = gpi_umap_run_mask(lo, n);
	if (i == b / GP_UNITS_PER_WORD)
		bits |= gpi_umap_start_mark(lo);
	return bits;
}

/* What claiming allocations of @nr units every @stride units from @b up
 * to @e sets in word @i. */
static unsigned long claim_many_bits(unsigned long b, unsigned long nr,
				     unsigned long stride, unsigned long e,
				     unsigned long i)
{
	unsigned long base = i * GP_UNITS_PER_WORD, bits = 0, a;

	/* The first allocation that reaches into word i. */
	a = base > b + nr ? b + (base - b - nr) / stride * stride : b;
	for (; a < e && a < base + GP_UNITS_PER_WORD; a += stride)
		if (a + nr > base)
			bits |= claim_bits(a, a + nr, i);
	return bits;
}

bool gpi_umap_claim_many(unsigned long *um, unsigned long b, unsigned long nr,
			 unsigned long stride, unsigned long k,
			 bool *contended)
{
	unsigned long e = b + (k - 1) * stride + nr, i, bits, old;

	for (i = b / GP_UNITS_PER_WORD; i * GP_UNITS_PER_WORD < e; i++) {
		bits = claim_many_bits(b, nr, stride, e, i);
		if (!bits)
			continue;	/* an alignment gap spans the word */
		old = gpi_bitmap_word(um, i);
		while (!(old & bits & GP_BUSY_HALF)) {
			if (__atomic_compare_exchange_n(&um[i], &old, old | bits,
							false, __ATOMIC_SEQ_CST,
							__ATOMIC_RELAXED))
				break;
			*contended = true;
		}
		if (old & bits & GP_BUSY_HALF) {
			while (i-- > b / GP_UNITS_PER_WORD)
				__atomic_fetch_and(&um[i],
						   ~claim_many_bits(b, nr, stride,
								    e, i),
						   __ATOMIC_SEQ_CST);
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

int gpi_umap_check(const unsigned long *um, unsigned long nbits,
		       unsigned long b, unsigned long nr)
{
	unsigned long e = b + nr, i, lo, n;
	bool badslt = false;
	int err;

	for (i = b / GP_UNITS_PER_WORD; i * GP_UNITS_PER_WORD < e; i++) {
		part_in_word(b, e, i, &lo, &n);
		err = gpi_umap_refuse(gpi_bitmap_word(um, i), lo, n,
				      i == b / GP_UNITS_PER_WORD);
		if (err == -EALREADY)
			return err;	/* a free unit outranks a bad mark */
		badslt |= err != 0;
	}
	if (badslt)
		return -EBADSLT;
	if (e < nbits &&
	    gpi_umap_continues(gpi_bitmap_word(um, e / GP_UNITS_PER_WORD), e))
		return -EBADSLT;
	return 0;
}

/*
 * A multi-word free releases from the last word back to the first, so that
 * what is left of the allocation at every step still begins with its start
 * mark and ends at free units: a neighbour's check never sees busy units
 * without a start mark that are not its own.  The last word's CAS (busy,
 * no start mark, and the unit after the end not a continuation) makes the
 * allocation ours: a racing free of it finds those units free, or taken
 * again by an allocation whose start mark lies in them, and refuses
 * without changing anything.
 */
int gpi_umap_free_long(unsigned long *um, unsigned long nbits, unsigned long b,
		       unsigned long nr)
{
	unsigned long e = b + nr, first = b / GP_UNITS_PER_WORD;
	unsigned long last = (e - 1) / GP_UNITS_PER_WORD, i, lo, n, old, next;
	bool all_were_set = true;
	int err = gpi_umap_check(um, nbits, b, nr);

	if (err)
		return err;
	part_in_word(b, e, last, &lo, &n);
	old = gpi_bitmap_word(um, last);
	do {
		err = gpi_umap_refuse(old, lo, n, false);
		if (err)
			return err;
		/* No word past the map when the run ends the chunk. */
		next = e % GP_UNITS_PER_WORD || e >= nbits ? old
							   : gpi_bitmap_word(um, last + 1);
		if (e < nbits && gpi_umap_continues(next, e))
			return -EBADSLT;
	} while (!__atomic_compare_exchange_n(&um[last], &old,
					      old & ~gpi_umap_run_mask(lo, n),
					      false, __ATOMIC_SEQ_CST,
					      __ATOMIC_RELAXED));
	for (i = last - 1; i > first; i--) {
		part_in_word(b, e, i, &lo, &n);
		old = __atomic_fetch_and(&um[i], ~gpi_umap_run_mask(lo, n),
					 __ATOMIC_SEQ_CST);
		all_were_set &= !gpi_umap_refuse(old, lo, n, false);
	}
	part_in_word(b, e, first, &lo, &n);
	old = gpi_bitmap_word(um, first);
	do {
		/* Only a racing misuse (someone freeing units that were
		 * ours) can have changed the head; then it stays. */
		if (gpi_umap_refuse(old, lo, n, true))
			return -EALREADY;
	} while (!__atomic_compare_exchange_n(&um[first], &old,
					      old & ~claim_bits(b, e, first),
					      false, __ATOMIC_SEQ_CST,
					      __ATOMIC_RELAXED));
	return all_were_set ? 0 : -EALREADY;
}

/* Start marks of units [64 @i, 64 @i + 64). */
static unsigned long umap_starts64(const unsigned long *um, unsigned long i)
{
	return gpi_bitmap_word(um, 2 * i) >> GP_UNITS_PER_WORD |
	       (gpi_bitmap_word(um, 2 * i + 1) & ~GP_BUSY_HALF);
}

bool gpi_next_allocation(const unsigned long *um, unsigned long nbits,
			 unsigned long from, unsigned long *bit,
			 unsigned long *units)
{
	unsigned long s = gpi_find_next_t(um, nbits, from, 0, umap_starts64);
	unsigned long next_start, next_free;

	if (s >= nbits)
		return false;
	next_start = gpi_find_next_t(um, nbits, s + 1, 0, umap_starts64);
	next_free = gpi_unext_free(um, nbits, s + 1);
	*bit = s;
	*units = (next_start < next_free ? next_start : next_free) - s;
	return true;
}
