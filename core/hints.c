// SPDX-License-Identifier: MIT
/*
 * core/hints.c - the per-block hole classes (hints.h): computing them,
 * announcing the holes a claim or release creates, repairing stale masks.
 */
#include <string.h>

#include "bitmap.h"
#include "hints.h"

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
 * Why no hole's bit can be lost: a thread
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
void gpi_hints_repair(struct gp_hints *h, const unsigned long *map,
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
		gpi_hints_repair(h, map, nbits, b);
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

unsigned long gpi_run_start_before(const unsigned long *map, unsigned long at)
{
	unsigned long floor = at > GP_TOP_CLASS_MIN ? at - GP_TOP_CLASS_MIN : 0;
	unsigned long busy = gpi_find_prev_bit(map, at, floor);

	if (busy != GPI_NO_FIT)
		return busy + 1;
	return floor == 0 ? 0 : GPI_NO_FIT;
}

unsigned long gpi_run_length_from(const unsigned long *map, unsigned long nbits,
				  unsigned long at)
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
		from = gpi_run_start_before(map, start);
		if (from != GPI_NO_FIT)
			announce(h, from, start - from);
	}
	if (end < nbits && !gpi_bitmap_test(map, end))
		announce(h, end, gpi_run_length_from(map, nbits, end));
}

void gpi_hints_released(struct gp_hints *h, const unsigned long *map,
			unsigned long nbits, unsigned long start,
			unsigned long nr)
{
	unsigned long from = start;

	if (start > 0 && !gpi_bitmap_test(map, start - 1))
		from = gpi_run_start_before(map, start);
	if (from != GPI_NO_FIT)
		announce(h, from, gpi_run_length_from(map, nbits, from));
}

unsigned gpi_hints_classes(const struct gp_hints *h)
{
	unsigned classes = 0;

	for (unsigned c = 0; c < GP_CLASSES; c++)
		if (__atomic_load_n(&h->class_blocks[c], __ATOMIC_RELAXED))
			classes |= 1u << c;
	return classes;
}

bool gpi_hints_top_hole_starts(const unsigned long *map, unsigned long nbits,
			       unsigned long b)
{
	unsigned long hi = (b + 1) * GP_BLOCK_BITS, from;

	if (hi >= nbits || gpi_bitmap_test(map, hi - 1))
		return false;
	from = gpi_run_start_before(map, hi);
	if (from == GPI_NO_FIT || from < b * GP_BLOCK_BITS)
		return false;	/* the run started in an earlier block */
	return hi - from + gpi_run_length_from(map, nbits, hi) >=
	       GP_TOP_CLASS_MIN;
}
