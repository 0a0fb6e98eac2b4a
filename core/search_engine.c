// SPDX-License-Identifier: MIT
/*
 * core/search_engine.c - the engine's first-fit and best-fit searches over
 * the hole classes (search.h) of a unit map: blocks are screened by their
 * masks and only the blocks that pass are searched exactly.
 */
#include "bitmap.h"
#include "search.h"

/*
 * An aligned search can fail inside block @b only because its candidate
 * rounded up past the block's end while the block's last hole runs on.
 * That hole belongs to @b, so no later block's mask shows it: try the
 * first aligned start at or after the block's end.  It is the lowest
 * candidate left; if it does not fit, no later start in that hole does.
 * (Unaligned searches never need this: the hole's first unit was tried.)
 */
static unsigned long find_past_block(const unsigned long *um,
				     unsigned long nbits, unsigned long hi,
				     unsigned long nr, unsigned long align_mask,
				     unsigned long align_offset)
{
	unsigned long s;

	if (!align_mask || hi >= nbits || gpi_umap_busy(um, hi - 1))
		return GPI_NO_FIT;
	s = gpi_align_up(hi + align_offset, align_mask + 1) - align_offset;
	return gpi_ufind_zero_area(um, nbits, s, s + 1, nr, align_mask,
				  align_offset);
}

/*
 * A search for @nr units (alignment mask @align_mask) found nothing in
 * block @b.  If its mask promised a hole that must have fit whatever the
 * alignment (one of at least nr + align_mask units), the mask is stale:
 * repair it.  Holes of class(nr) may be shorter than nr and aligned runs
 * may not fit in a hole, so a lesser promise proves nothing; except that
 * a top-class promise can be checked directly (while *@top_checks lasts),
 * which keeps stale top bits from luring every large request.  Out of
 * line: the search's fast path must not pay for it.
 */
static __attribute__((noinline)) void
repair_if_stale(struct gp_hints *h, const unsigned long *um,
		unsigned long nbits, unsigned long b, unsigned long nr,
		unsigned long align_mask, unsigned *top_checks)
{
	unsigned mask = __atomic_load_n(&h->cls[b], __ATOMIC_RELAXED);
	bool stale = mask & gpi_classes_at_least(nr + align_mask);

	if (!stale && (mask & 1u << (GP_CLASSES - 1)) && *top_checks) {
		--*top_checks;
		stale = gpi_hints_top_hole_start(um, nbits, b) == GPI_NO_FIT;
	}
	if (stale)
		gpi_hints_repair(h, um, nbits, b);
}

/* Direct checks of top-class promises one search may make (each reads up
 * to 1.5 blocks of unit map): enough to wear stale top bits down over a
 * few searches, few enough not to double the cost of a long search. */
#define TOP_CHECKS 8

/*
 * First fit past the first block.  Blocks are screened by their masks; a
 * run of consecutive blocks that pass is searched with one reference scan
 * (an adversary whose every block passes costs what the reference does,
 * not a block-by-block restart).
 */
unsigned long gpi_engine_find_on(struct gp_hints *h, const unsigned long *um,
				 unsigned long nbits, unsigned long start,
				 unsigned long nr, unsigned long align_mask,
				 unsigned long align_offset)
{
	const unsigned classes = gpi_classes_from(nr);
	gpi_scan_fn scan = gpi_scan_kernel();
	unsigned long b = start / GP_BLOCK_BITS, end = b + 1, lo = start, hi, bit;
	unsigned top_checks = TOP_CHECKS;

	for (;;) {
		hi = end * GP_BLOCK_BITS < nbits ? end * GP_BLOCK_BITS : nbits;
		/* The first block was searched by gpi_engine_find(). */
		if (lo != start) {
			bit = gpi_engine_find_in(um, nbits, lo, hi, nr,
						 align_mask, align_offset);
			if (bit < nbits) {
				/* The blocks of the run before it had none. */
				for (; b < bit / GP_BLOCK_BITS; b++)
					repair_if_stale(h, um, nbits, b, nr,
							align_mask, &top_checks);
				return bit;
			}
		}
		bit = find_past_block(um, nbits, hi, nr, align_mask,
				      align_offset);
		if (bit < nbits)
			return bit;
		/* The first block was searched only from @start. */
		for (; b < end; b++)
			if (b * GP_BLOCK_BITS >= start)
				repair_if_stale(h, um, nbits, b, nr, align_mask,
						&top_checks);
		b = scan(h, end, classes);
		if (b >= h->nblocks)
			return GPI_NO_FIT;
		for (end = b + 1; end < h->nblocks &&
		     (__atomic_load_n(&h->cls[end], __ATOMIC_RELAXED) & classes);
		     end++)
			;
		lo = b * GP_BLOCK_BITS;
	}
}

/*
 * Blocks whose mask has class @c, as the counters say: a best fit can stop
 * looking once it has met that many, instead of scanning every mask to
 * the chunk's end.  A block that gains the bit after this read holds a
 * hole created while we search, which a search may miss, as the kernel's
 * may.
 */
static unsigned long class_count(const struct gp_hints *h, unsigned c)
{
	return __atomic_load_n(&h->class_blocks[c], __ATOMIC_RELAXED);
}

/*
 * Smallest hole of class @c (below the top class) and >= @nr units, lowest
 * first; its start in *@best and length in *@best_len (unchanged if none).
 * Such holes are shorter than GP_TOP_CLASS_MIN, so measuring them is
 * bounded.  A block whose mask sent us here for nothing is repaired.
 */
static void best_in_class(struct gp_hints *h, const unsigned long *um,
			  unsigned long nbits, unsigned long nr, unsigned c,
			  unsigned long *best, unsigned long *best_len)
{
	gpi_scan_fn scan = gpi_scan_kernel();
	unsigned long b, pos, end, hi, limit, len, left = class_count(h, c);
	bool seen;

	for (b = scan(h, 0, 1u << c); b < h->nblocks && left--;
	     b = scan(h, b + 1, 1u << c)) {
		pos = b * GP_BLOCK_BITS;
		hi = pos + GP_BLOCK_BITS < nbits ? pos + GP_BLOCK_BITS : nbits;
		if (pos > 0 && !gpi_umap_busy(um, pos - 1))
			pos = gpi_unext_busy(um, hi, pos);
		seen = false;
		for (; (pos = gpi_unext_free(um, hi, pos)) < hi; pos = end) {
			limit = nbits - pos > GP_TOP_CLASS_MIN ?
				pos + GP_TOP_CLASS_MIN : nbits;
			end = gpi_unext_busy(um, limit, pos);
			len = end - pos;
			if (gpi_size_class(len) != c)
				continue;	/* (also: reached the limit) */
			seen = true;
			if (len < nr || len >= *best_len)
				continue;
			*best = pos;
			*best_len = len;
			if (len == nr)
				return;
		}
		if (!seen)
			gpi_hints_repair(h, um, nbits, b);
	}
}

#define TOP_CANDIDATES 64
#define DONE GPI_NO_FIT

/*
 * Measure top-class holes starting at @start[0..@n) (in address order)
 * against the best so far.  Top-class holes can be as long as the chunk,
 * so rather than measuring each to its end, all are measured together to
 * a doubling horizon: once a fitting hole has ended within the horizon,
 * every hole still open is longer.  A hole that reaches the best length
 * so far cannot win (ties go to the lower address, found first).  When
 * @last and a single hole is left open with nothing found, it is the
 * answer, unmeasured.  The cost is the holes times the answer's length,
 * not the free space of the chunk.
 */
static void best_of_holes(const unsigned long *um, unsigned long nbits,
			  unsigned long nr, const unsigned long *start,
			  unsigned long n, bool last, unsigned long *best,
			  unsigned long *best_len)
{
	unsigned long reached[TOP_CANDIDATES];	/* measured up to, or DONE */
	unsigned long horizon, open, cap, limit, end, only = 0;

	/* The only top-class hole, nothing smaller fitting, and it holds
	 * nr (it has GP_TOP_CLASS_MIN units at least): it is the answer. */
	if (last && n == 1 && *best == GPI_NO_FIT && nr <= GP_TOP_CLASS_MIN) {
		*best = start[0];
		*best_len = GP_TOP_CLASS_MIN;	/* at least */
		return;
	}
	for (unsigned long i = 0; i < n; i++)
		reached[i] = start[i];
	for (horizon = nr > GP_TOP_CLASS_MIN ? nr : GP_TOP_CLASS_MIN;;
	     horizon *= 2) {
		open = 0;
		for (unsigned long i = 0; i < n; i++) {
			if (reached[i] == DONE)
				continue;
			cap = *best_len < horizon ? *best_len : horizon;
			limit = nbits - start[i] > cap ? start[i] + cap : nbits;
			end = gpi_unext_busy(um, limit, reached[i]);
			if (end == limit && limit < nbits) {
				reached[i] = cap == *best_len ? DONE : end;
				if (reached[i] != DONE) {
					open++;
					only = i;
				}
				continue;
			}
			reached[i] = DONE;
			if (end - start[i] >= nr && end - start[i] < *best_len) {
				*best = start[i];
				*best_len = end - start[i];
			}
		}
		if (!open || *best_len <= horizon)
			return;
		if (last && open == 1 && *best == GPI_NO_FIT) {
			*best = start[only];
			*best_len = horizon;	/* at least */
			return;
		}
	}
}

/*
 * Smallest top-class hole of at least @nr units, lowest first.  A block
 * holds at most one top-class hole (it runs out of the block), found and
 * checked cheaply; stale bits are repaired on the way.  Candidates are
 * taken in address-ordered batches.
 */
static void best_in_top_class(struct gp_hints *h, const unsigned long *um,
			      unsigned long nbits, unsigned long nr,
			      unsigned long *best, unsigned long *best_len)
{
	const unsigned top = 1u << (GP_CLASSES - 1);
	unsigned long start[TOP_CANDIDATES], b, n, at;
	unsigned long left = class_count(h, GP_CLASSES - 1);
	gpi_scan_fn scan = gpi_scan_kernel();

	for (b = left ? scan(h, 0, top) : h->nblocks; b < h->nblocks;) {
		for (n = 0; b < h->nblocks && n < TOP_CANDIDATES;) {
			at = gpi_hints_top_hole_start(um, nbits, b);
			if (at != GPI_NO_FIT)
				start[n++] = at;
			else
				gpi_hints_repair(h, um, nbits, b);
			b = --left ? scan(h, b + 1, top) : h->nblocks;
		}
		best_of_holes(um, nbits, nr, start, n, b >= h->nblocks, best,
			      best_len);
	}
}

unsigned long gpi_engine_best_fit(struct gp_hints *h,
				  const unsigned long *um,
				  unsigned long nbits, unsigned long nr)
{
	/* No hole yet: longer than any. */
	unsigned long best = GPI_NO_FIT, best_len = ULONG_MAX;

	if (nr == 0)
		return GPI_NO_FIT;
	/* Classes are disjoint and ordered: the first class holding a
	 * fitting hole holds the smallest one. */
	for (unsigned c = gpi_size_class(nr); best == GPI_NO_FIT; c++) {
		while (c < GP_CLASSES && !class_count(h, c))
			c++;
		if (c == GP_CLASSES)
			break;
		if (c == GP_CLASSES - 1)
			best_in_top_class(h, um, nbits, nr, &best, &best_len);
		else
			best_in_class(h, um, nbits, nr, c, &best, &best_len);
	}
	return best;
}
