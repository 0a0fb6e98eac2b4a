// SPDX-License-Identifier: MIT
/*
 * core/search_hints.c - computing and maintaining the per-block hole
 * classes, and the engine's first-fit and best-fit searches over them.
 */
#include <string.h>

#include "bitmap.h"
#include "search.h"

/* Classes: 1, 2, 3, 4-5, 6-7, 8-11, 12-15, 16-23, 24-31, 32-47, 48-63... */
const uint8_t gpi_class_small[64] = {
	[1] = 0, [2] = 1, [3] = 2, [4 ... 5] = 3, [6 ... 7] = 4,
	[8 ... 11] = 5, [12 ... 15] = 6, [16 ... 23] = 7, [24 ... 31] = 8,
	[32 ... 47] = 9, [48 ... 63] = 10,
};

/* ... 64-127, 128-255, 256-511, 512-1023 (indexed by n / 64). */
const uint8_t gpi_class_big[16] = {
	[1] = 11, [2 ... 3] = 12, [4 ... 7] = 13, [8 ... 15] = 14,
};

/*
 * A block's exact mask depends on the last word before it (does its first
 * hole start here or earlier?), its own 8 words, and the 16 words after it
 * (a hole reaching GP_TOP_CLASS_MIN units past the block's end is in the
 * top class whatever comes next).  Those words are the block's window.
 */
#define WINDOW_BEFORE 1
#define WINDOW_AFTER (GP_TOP_CLASS_MIN / GP_WORD_BITS)
#define WINDOW_WORDS (WINDOW_BEFORE + GP_BLOCK_WORDS + WINDOW_AFTER)
#define WINDOW_BITS (WINDOW_WORDS * GP_WORD_BITS)
#define BLOCK_LO (WINDOW_BEFORE * GP_WORD_BITS)
#define BLOCK_HI (BLOCK_LO + GP_BLOCK_BITS)

/* Word @i of @map, or all-busy outside [0, @nbits): nothing lies there. */
static unsigned long window_word(const unsigned long *map, unsigned long nbits,
				 long i)
{
	unsigned long base;

	if (i < 0)
		return ~0UL;
	base = (unsigned long)i * GP_WORD_BITS;
	if (base >= nbits)
		return ~0UL;
	if (nbits - base >= GP_WORD_BITS)
		return gpi_bitmap_word(map, (unsigned long)i);
	return gpi_bitmap_word(map, (unsigned long)i) | (~0UL << (nbits - base));
}

/* Read block @b's window. */
static void read_window(const unsigned long *map, unsigned long nbits,
			unsigned long b, unsigned long *w)
{
	long first = (long)(b * GP_BLOCK_WORDS) - WINDOW_BEFORE;

	for (long j = 0; j < (long)WINDOW_WORDS; j++)
		w[j] = window_word(map, nbits, first + j);
}

/* Exact class mask of the holes starting in the block whose window is @w. */
static unsigned window_classes(const unsigned long *w)
{
	unsigned long pos = BLOCK_LO, end;
	unsigned mask = 0;

	/* A hole running in from the previous block is not ours. */
	if (!gpi_bitmap_test(w, BLOCK_LO - 1))
		pos = gpi_find_next_bit(w, WINDOW_BITS, BLOCK_LO);
	for (;;) {
		pos = gpi_find_next_zero_bit(w, BLOCK_HI, pos);
		if (pos >= BLOCK_HI)
			return mask;
		end = gpi_find_next_bit(w, WINDOW_BITS, pos);
		mask |= 1u << gpi_size_class(end - pos);
		pos = end;
	}
}

/* Account the change of one block's mask from @old to @new. */
static void count_classes(struct gp_hints *h, unsigned old, unsigned new)
{
	for (unsigned gone = old & ~new; gone; gone &= gone - 1)
		__atomic_fetch_sub(&h->class_blocks[__builtin_ctz(gone)], 1,
				   __ATOMIC_RELAXED);
	for (unsigned came = new & ~old; came; came &= came - 1)
		__atomic_fetch_add(&h->class_blocks[__builtin_ctz(came)], 1,
				   __ATOMIC_RELAXED);
}

/*
 * Make block @b's mask exact.  Why no hole's bit can be lost: a thread
 * that creates a hole changes the bitmap (A), then sets the hole's bit
 * unless it is already set (B).  We read the window (1), store the exact
 * mask with a CAS (2), and read the window again (3), redoing the work if
 * it changed.  If A came before (1), the mask we store has the hole.  If A
 * came between (1) and (3), the window changed and we redo.  If A came
 * after (3), B comes after our store and sees (and sets) the bit.  The
 * bitmap CAS/AND and the mask CAS/OR are sequentially consistent; the
 * plain word reads rely on x86-64's ordering of loads after locked
 * instructions (a port to a weaker machine makes them acquire loads).
 */
static void repair_block(struct gp_hints *h, const unsigned long *map,
			 unsigned long nbits, unsigned long b)
{
	unsigned long w[WINDOW_WORDS], again[WINDOW_WORDS];
	uint16_t old, exact;

	read_window(map, nbits, b, w);
	for (;;) {
		exact = (uint16_t)window_classes(w);
		old = __atomic_load_n(&h->cls[b], __ATOMIC_SEQ_CST);
		if (old != exact) {
			if (!__atomic_compare_exchange_n(&h->cls[b], &old, exact,
							 false, __ATOMIC_SEQ_CST,
							 __ATOMIC_SEQ_CST))
				continue;
			count_classes(h, old, exact);
		}
		read_window(map, nbits, b, again);
		if (memcmp(w, again, sizeof(w)) == 0)
			return;
		memcpy(w, again, sizeof(w));
	}
}

void gpi_hints_rebuild(struct gp_hints *h, const unsigned long *map,
		       unsigned long nbits)
{
	for (unsigned long b = 0; b < h->nblocks; b++)
		repair_block(h, map, nbits, b);
}

void gpi_hints_init(struct gp_hints *h, uint16_t *mem, unsigned long nbits)
{
	memset(h, 0, sizeof(*h));
	h->cls = mem;
	h->nblocks = gpi_blocks(nbits);
	/* A new chunk is one hole, starting in block 0. */
	h->cls[0] = (uint16_t)(1u << gpi_size_class(nbits));
	h->class_blocks[gpi_size_class(nbits)] = 1;
}

/* Announce a hole of @len units starting at unit @at (step B above).
 * Another thread may have claimed it already: then @len is 0, and that
 * thread announces what it left. */
static void announce(struct gp_hints *h, unsigned long at, unsigned long len)
{
	uint16_t *m = &h->cls[at / GP_BLOCK_BITS], bit;
	unsigned c;

	if (len == 0)
		return;
	c = gpi_size_class(len);
	bit = (uint16_t)(1u << c);
	if (__atomic_load_n(m, __ATOMIC_SEQ_CST) & bit)
		return;
	if (!(__atomic_fetch_or(m, bit, __ATOMIC_SEQ_CST) & bit))
		__atomic_fetch_add(&h->class_blocks[c], 1, __ATOMIC_RELAXED);
}

/*
 * Start of the free run that ends just before @at, or GPI_NO_FIT when it
 * reaches back GP_TOP_CLASS_MIN units or more.  Such a long run's class
 * is the top one, already set where the run starts, and it stays so.
 */
static unsigned long run_start_before(const unsigned long *map,
				      unsigned long at)
{
	unsigned long floor = at > GP_TOP_CLASS_MIN ? at - GP_TOP_CLASS_MIN : 0;
	unsigned long busy = gpi_find_prev_bit(map, at, floor);

	if (busy != GPI_NO_FIT)
		return busy + 1;
	return floor == 0 ? 0 : GPI_NO_FIT;
}

/* Length of the free run starting at @at, capped at GP_TOP_CLASS_MIN. */
static unsigned long run_length_from(const unsigned long *map,
				     unsigned long nbits, unsigned long at)
{
	unsigned long cap = nbits - at < GP_TOP_CLASS_MIN ? nbits
							  : at + GP_TOP_CLASS_MIN;

	return gpi_find_next_bit(map, cap, at) - at;
}

void gpi_hints_claimed(struct gp_hints *h, const unsigned long *map,
		       unsigned long nbits, unsigned long start,
		       unsigned long nr)
{
	unsigned long end = start + nr, from;

	if (start > 0 && !gpi_bitmap_test(map, start - 1)) {
		from = run_start_before(map, start);
		if (from != GPI_NO_FIT)
			announce(h, from, start - from);
	}
	if (end < nbits && !gpi_bitmap_test(map, end))
		announce(h, end, run_length_from(map, nbits, end));
}

void gpi_hints_released(struct gp_hints *h, const unsigned long *map,
			unsigned long nbits, unsigned long start,
			unsigned long nr)
{
	unsigned long from = start;

	if (start > 0 && !gpi_bitmap_test(map, start - 1))
		from = run_start_before(map, start);
	if (from != GPI_NO_FIT)
		announce(h, from, run_length_from(map, nbits, from));
}

unsigned gpi_hints_classes(const struct gp_hints *h)
{
	unsigned classes = 0;

	for (unsigned c = 0; c < GP_CLASSES; c++)
		if (__atomic_load_n(&h->class_blocks[c], __ATOMIC_RELAXED))
			classes |= 1u << c;
	return classes;
}

/*
 * An aligned search can fail inside block @b only because its candidate
 * rounded up past the block's end while the block's last hole runs on.
 * That hole belongs to @b, so no later block's mask shows it: try the
 * first aligned start at or after the block's end.  It is the lowest
 * candidate left; if it does not fit, no later start in that hole does.
 * (Unaligned searches never need this: the hole's first unit was tried.)
 */
static unsigned long find_past_block(const unsigned long *map,
				     unsigned long nbits, unsigned long hi,
				     unsigned long nr, unsigned long align_mask,
				     unsigned long align_offset)
{
	unsigned long s;

	if (!align_mask || hi >= nbits || gpi_bitmap_test(map, hi - 1))
		return GPI_NO_FIT;
	s = gpi_align_up(hi + align_offset, align_mask + 1) - align_offset;
	return gpi_find_zero_area(map, nbits, s, s + 1, nr, align_mask,
				  align_offset);
}

/* Does a top-class hole (GP_TOP_CLASS_MIN units or more) start in block
 * @b?  It would be the block's last hole, running out of the block. */
static bool starts_top_class_hole(const unsigned long *map, unsigned long nbits,
				  unsigned long b)
{
	unsigned long hi = (b + 1) * GP_BLOCK_BITS, from;

	if (hi >= nbits || gpi_bitmap_test(map, hi - 1))
		return false;
	from = run_start_before(map, hi);
	if (from == GPI_NO_FIT || from < b * GP_BLOCK_BITS)
		return false;	/* the run started in an earlier block */
	return hi - from + run_length_from(map, nbits, hi) >= GP_TOP_CLASS_MIN;
}

/*
 * A search for @nr units (alignment mask @align_mask) found nothing in
 * block @b.  If its mask promised a hole that must have fit whatever the
 * alignment (one of at least nr + align_mask units), the mask is stale:
 * repair it.  Holes of class(nr) may be shorter than nr and aligned runs
 * may not fit in a hole, so a lesser promise proves nothing; except that
 * a top-class promise is cheap to check directly, which keeps stale top
 * bits from luring every large request.  Out of line: the search's fast
 * path must not pay for it.
 */
static __attribute__((noinline)) void
repair_if_stale(struct gp_hints *h, const unsigned long *map,
		unsigned long nbits, unsigned long b, unsigned long nr,
		unsigned long align_mask)
{
	unsigned mask = __atomic_load_n(&h->cls[b], __ATOMIC_RELAXED);
	bool stale = mask & gpi_classes_at_least(nr + align_mask);

	if (!stale && (mask & 1u << (GP_CLASSES - 1)))
		stale = !starts_top_class_hole(map, nbits, b);
	if (stale)
		repair_block(h, map, nbits, b);
}

unsigned long gpi_engine_find(struct gp_hints *h,
			      const unsigned long *map, unsigned long nbits,
			      unsigned long start, unsigned long nr,
			      unsigned long align_mask,
			      unsigned long align_offset)
{
	gpi_scan_fn scan = NULL;	/* looked up once the first block fails */
	unsigned long b, lo, hi, bit;

	if (gpi_search_path() == GP_SEARCH_REFERENCE)
		return gpi_find_zero_area(map, nbits, start, nbits, nr,
					  align_mask, align_offset);
	if (nr == 0 || start >= nbits || nr > nbits - start)
		return GPI_NO_FIT;
	/* The first block is searched whatever its mask says: @start may
	 * lie inside a hole that an earlier block owns. */
	for (b = start / GP_BLOCK_BITS; b < h->nblocks;
	     b = scan(h, b + 1, gpi_classes_from(nr))) {
		lo = b * GP_BLOCK_BITS > start ? b * GP_BLOCK_BITS : start;
		hi = (b + 1) * GP_BLOCK_BITS < nbits ? (b + 1) * GP_BLOCK_BITS
						     : nbits;
		bit = gpi_find_zero_area(map, nbits, lo, hi, nr, align_mask,
					 align_offset);
		if (bit < nbits)
			return bit;
		bit = find_past_block(map, nbits, hi, nr, align_mask,
				      align_offset);
		if (bit < nbits)
			return bit;
		/* The first block was searched only from @start. */
		if (lo == b * GP_BLOCK_BITS)
			repair_if_stale(h, map, nbits, b, nr, align_mask);
		if (!scan)
			scan = gpi_scan_kernel();
	}
	return GPI_NO_FIT;
}

/*
 * Smallest hole of class @c (below the top class) and >= @nr units, lowest
 * first; its start in *@best and length in *@best_len (unchanged if none).
 * Such holes are shorter than GP_TOP_CLASS_MIN, so measuring them is
 * bounded.  A block whose mask sent us here for nothing is repaired.
 */
static void best_in_class(struct gp_hints *h, const unsigned long *map,
			  unsigned long nbits, unsigned long nr, unsigned c,
			  unsigned long *best, unsigned long *best_len)
{
	gpi_scan_fn scan = gpi_scan_kernel();
	unsigned long b, pos, end, hi, limit, len;
	bool seen;

	for (b = scan(h, 0, 1u << c); b < h->nblocks; b = scan(h, b + 1, 1u << c)) {
		pos = b * GP_BLOCK_BITS;
		hi = pos + GP_BLOCK_BITS < nbits ? pos + GP_BLOCK_BITS : nbits;
		if (pos > 0 && !gpi_bitmap_test(map, pos - 1))
			pos = gpi_find_next_bit(map, hi, pos);
		seen = false;
		for (; (pos = gpi_find_next_zero_bit(map, hi, pos)) < hi; pos = end) {
			limit = nbits - pos > GP_TOP_CLASS_MIN ?
				pos + GP_TOP_CLASS_MIN : nbits;
			end = gpi_find_next_bit(map, limit, pos);
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
			repair_block(h, map, nbits, b);
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
static void best_of_holes(const unsigned long *map, unsigned long nbits,
			  unsigned long nr, const unsigned long *start,
			  unsigned long n, bool last, unsigned long *best,
			  unsigned long *best_len)
{
	unsigned long reached[TOP_CANDIDATES];	/* measured up to, or DONE */
	unsigned long horizon, open, cap, limit, end, only = 0;

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
			end = gpi_find_next_bit(map, limit, reached[i]);
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
static void best_in_top_class(struct gp_hints *h, const unsigned long *map,
			      unsigned long nbits, unsigned long nr,
			      unsigned long *best, unsigned long *best_len)
{
	const unsigned top = 1u << (GP_CLASSES - 1);
	unsigned long start[TOP_CANDIDATES], b, n;
	gpi_scan_fn scan = gpi_scan_kernel();

	for (b = scan(h, 0, top); b < h->nblocks;) {
		for (n = 0; b < h->nblocks && n < TOP_CANDIDATES;
		     b = scan(h, b + 1, top)) {
			if (starts_top_class_hole(map, nbits, b))
				start[n++] = run_start_before(map, (b + 1) *
							      GP_BLOCK_BITS);
			else
				repair_block(h, map, nbits, b);
		}
		best_of_holes(map, nbits, nr, start, n, b >= h->nblocks, best,
			      best_len);
	}
}

unsigned long gpi_engine_best_fit(struct gp_hints *h,
				  const unsigned long *map,
				  unsigned long nbits, unsigned long nr)
{
	unsigned classes = gpi_hints_classes(h) & gpi_classes_from(nr);
	/* No hole yet: longer than any. */
	unsigned long best = GPI_NO_FIT, best_len = ULONG_MAX;

	if (nr == 0)
		return GPI_NO_FIT;
	/* Classes are disjoint and ordered: the first class holding a
	 * fitting hole holds the smallest one. */
	for (; classes && best == GPI_NO_FIT; classes &= classes - 1) {
		unsigned c = (unsigned)__builtin_ctz(classes);

		if (c == GP_CLASSES - 1)
			best_in_top_class(h, map, nbits, nr, &best, &best_len);
		else
			best_in_class(h, map, nbits, nr, c, &best, &best_len);
	}
	return best;
}
