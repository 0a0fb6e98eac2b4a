// SPDX-License-Identifier: MIT
/*
 * core/search_hints.c - computing and maintaining the per-block hole
 * classes, and the engine's first-fit and best-fit searches over them.
 */
#include <string.h>

#include "bitmap.h"
#include "search.h"

/*
 * A block's class mask depends on the last word before it (does its first
 * hole start here or earlier?), its own 8 words, and the first 4 words
 * after it (a hole reaching 256 units past the block's end is in the top
 * class whatever comes next).  Those 13 words are the block's window.
 */
#define WINDOW_BEFORE 1
#define WINDOW_AFTER 4
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

/* Class mask of the holes starting in the block whose window is @w. */
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
 * Recompute block @b's mask, then check its window did not change
 * meanwhile.  If it did, our store may have overwritten a newer thread's
 * mask with an older one, so compute again: the last thread to store
 * always stored what the bitmap says.  The exchange both returns the mask
 * we replace (for the counters) and orders the store before the re-read.
 */
static void update_block(struct gp_hints *h, const unsigned long *map,
			 unsigned long nbits, unsigned long b)
{
	unsigned long w[WINDOW_WORDS], again[WINDOW_WORDS];
	unsigned mask, old;

	read_window(map, nbits, b, w);
	for (;;) {
		mask = window_classes(w);
		old = __atomic_exchange_n(&h->cls[b], (uint16_t)mask,
					  __ATOMIC_SEQ_CST);
		count_classes(h, old, mask);
		read_window(map, nbits, b, again);
		if (memcmp(w, again, sizeof(w)) == 0)
			return;
		memcpy(w, again, sizeof(w));
	}
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

void gpi_hints_update(struct gp_hints *h, const unsigned long *map,
		      unsigned long nbits, unsigned long start,
		      unsigned long nr)
{
	unsigned long b = start / GP_BLOCK_BITS;
	/* The block after the range reads the range's last unit to decide
	 * whether its first hole is its own. */
	unsigned long last = (start + nr) / GP_BLOCK_BITS;

	/* The hole ending where our range starts may begin a block earlier;
	 * further back it spans a whole free block and stays top class. */
	if (b > 0 && !gpi_bitmap_test(map, b * GP_BLOCK_BITS - 1))
		b--;
	if (last >= h->nblocks)
		last = h->nblocks - 1;
	for (; b <= last; b++)
		update_block(h, map, nbits, b);
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
		return nbits + 1;
	s = ((hi + align_offset + align_mask) & ~align_mask) - align_offset;
	return gpi_find_zero_area(map, nbits, s, s + 1, nr, align_mask,
				  align_offset);
}

unsigned long gpi_engine_find(const struct gp_hints *h,
			      const unsigned long *map, unsigned long nbits,
			      unsigned long start, unsigned long nr,
			      unsigned long align_mask,
			      unsigned long align_offset)
{
	unsigned classes = gpi_classes_from(nr);
	gpi_scan_fn scan = gpi_scan_kernel();
	unsigned long b, lo, hi, bit;

	if (gpi_search_path() == GP_SEARCH_REFERENCE)
		return gpi_find_zero_area(map, nbits, start, nbits, nr,
					  align_mask, align_offset);
	if (nr == 0 || start >= nbits || nr > nbits - start)
		return nbits + 1;
	/* The first block is searched whatever its mask says: @start may
	 * lie inside a hole that an earlier block owns. */
	for (b = start / GP_BLOCK_BITS; b < h->nblocks;
	     b = scan(h, b + 1, classes)) {
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
	}
	return nbits + 1;
}

/* Smallest hole of class @c and >= @nr units, lowest first; its start in
 * *@best and length in *@best_len (unchanged if none). */
static void best_in_class(const struct gp_hints *h, const unsigned long *map,
			  unsigned long nbits, unsigned long nr, unsigned c,
			  unsigned long *best, unsigned long *best_len)
{
	gpi_scan_fn scan = gpi_scan_kernel();
	unsigned long b, pos, end, hi;

	for (b = scan(h, 0, 1u << c); b < h->nblocks; b = scan(h, b + 1, 1u << c)) {
		pos = b * GP_BLOCK_BITS;
		hi = pos + GP_BLOCK_BITS < nbits ? pos + GP_BLOCK_BITS : nbits;
		if (pos > 0 && !gpi_bitmap_test(map, pos - 1))
			pos = gpi_find_next_bit(map, nbits, pos);
		for (; (pos = gpi_find_next_zero_bit(map, hi, pos)) < hi; pos = end) {
			end = gpi_find_next_bit(map, nbits, pos);
			if (end - pos < nr || end - pos >= *best_len ||
			    gpi_size_class(end - pos) != c)
				continue;
			*best = pos;
			*best_len = end - pos;
			if (end - pos == nr)
				return;
		}
	}
}

unsigned long gpi_engine_best_fit(const struct gp_hints *h,
				  const unsigned long *map,
				  unsigned long nbits, unsigned long nr)
{
	unsigned classes = gpi_hints_classes(h) & gpi_classes_from(nr);
	unsigned long best = nbits, best_len = ~0UL;

	if (nr == 0)
		return nbits;
	/* Classes are disjoint and ordered: the first class holding a
	 * fitting hole holds the smallest one. */
	for (; classes && best == nbits; classes &= classes - 1)
		best_in_class(h, map, nbits, nr, (unsigned)__builtin_ctz(classes),
			      &best, &best_len);
	return best;
}
