// SPDX-License-Identifier: MIT
/*
 * core/hints.c - the per-block hole classes (hints.h): computing them,
 * announcing the holes a claim or release creates, repairing stale masks.
 *
 * Why no hole's bit can be lost, under the C11 memory model alone (no
 * reliance on x86-64's load ordering; the same holds on arm64).  A thread
 * that creates a hole changes the unit map with a seq_cst RMW (A), then
 * reads the neighbourhood and the block's mask with seq_cst loads and sets
 * the hole's bit unless it is there (B).  A repair reads the block's
 * window with seq_cst loads (1), stores the exact mask with a seq_cst CAS
 * (2), and reads the window again with seq_cst loads (3), redoing the work
 * if it changed.  All of these are in the single total order S of seq_cst
 * operations, which agrees with each thread's program order.  If A
 * precedes (1) in S, (1) reads A's value and the mask stored has the hole.
 * If A lies between (1) and (3), (3) reads a different window and the
 * repair is redone.  Otherwise (3) precedes A in S, so (2) < (3) < A < B's
 * load of the mask: that load returns the mask (2) stored or a later one,
 * so B sees the bit missing and sets it.  Two threads creating parts of
 * one hole (a claim and a release racing next to each other) are the
 * store-buffering pattern: each does its RMW, then reads the other's word;
 * in S one of the RMWs comes first, so the other thread's later read sees
 * it and that thread measures (and announces) the hole as it now is.
 * Searches may read the map and the masks with relaxed loads: they are
 * hints that the claim's CAS confirms, and a search racing a free may miss
 * the hole being freed, as in the kernel.
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
 * A block's exact mask depends on the last 64 units before it (does its
 * first hole start here or earlier?), its own 512 units, and the 1024
 * units after it (a hole reaching GP_TOP_CLASS_MIN units past the block's
 * end is in the top class whatever comes next).  Those units are the
 * block's window, read as a plain bitmap of 64-unit words.
 */
#define WINDOW_BEFORE 1
#define WINDOW_AFTER (GP_TOP_CLASS_MIN / GP_WORD_BITS)
#define WINDOW_WORDS (WINDOW_BEFORE + GP_BLOCK_WORDS + WINDOW_AFTER)
#define WINDOW_BITS (WINDOW_WORDS * GP_WORD_BITS)
#define BLOCK_LO (WINDOW_BEFORE * GP_WORD_BITS)
#define BLOCK_HI (BLOCK_LO + GP_BLOCK_BITS)

/* 64-unit word @i of @um, or all-busy outside [0, @nbits). */
static unsigned long window_word(const unsigned long *um, unsigned long nbits,
				 long i)
{
	unsigned long base, w;

	if (i < 0)
		return ~0UL;
	base = (unsigned long)i * GP_WORD_BITS;
	if (base >= nbits)
		return ~0UL;
	w = gpi_umap_busy64_sc(um, (unsigned long)i);
	if (nbits - base >= GP_WORD_BITS)
		return w;
	return w | (~0UL << (nbits - base));
}

/* Read block @b's window (seq_cst: steps 1 and 3 above). */
static void read_window(const unsigned long *um, unsigned long nbits,
			unsigned long b, unsigned long *w)
{
	long first = (long)(b * GP_BLOCK_WORDS) - WINDOW_BEFORE;

	for (long j = 0; j < (long)WINDOW_WORDS; j++)
		w[j] = window_word(um, nbits, first + j);
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

/* Account the change of one block's mask from @old to @new.  Release: a
 * failed search that read a count must see what the change was made from
 * (pool.c, on claims in transit). */
static void count_classes(struct gp_hints *h, unsigned old, unsigned new)
{
	for (unsigned gone = old & ~new; gone; gone &= gone - 1)
		__atomic_fetch_sub(&h->class_blocks[__builtin_ctz(gone)], 1,
				   __ATOMIC_RELEASE);
	for (unsigned came = new & ~old; came; came &= came - 1)
		__atomic_fetch_add(&h->class_blocks[__builtin_ctz(came)], 1,
				   __ATOMIC_RELEASE);
}

void gpi_hints_repair(struct gp_hints *h, const unsigned long *um,
		      unsigned long nbits, unsigned long b)
{
	unsigned long w[WINDOW_WORDS], again[WINDOW_WORDS];
	uint16_t old, exact;

	read_window(um, nbits, b, w);
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
		read_window(um, nbits, b, again);
		if (memcmp(w, again, sizeof(w)) == 0)
			return;
		memcpy(w, again, sizeof(w));
	}
}

void gpi_hints_rebuild(struct gp_hints *h, const unsigned long *um,
		       unsigned long nbits)
{
	for (unsigned long b = 0; b < h->nblocks; b++)
		gpi_hints_repair(h, um, nbits, b);
}

/*
 * From here on claims and releases keep the exact promise; then every mask
 * is made exact.  A claim or release reads the flag after its unit-map RMW
 * (seq_cst), we store it before reading any window (seq_cst): one that
 * read it still clear precedes our store in S, so its RMW precedes our
 * window reads and the repair sees it.  Threads that get here together
 * repair together (repairs are idempotent); only then is the promise
 * ready for best fit.
 */
void gpi_hints_make_exact(struct gp_hints *h, const unsigned long *um,
			  unsigned long nbits)
{
	__atomic_store_n(&h->exact, true, __ATOMIC_SEQ_CST);
	gpi_hints_rebuild(h, um, nbits);
	__atomic_store_n(&h->exact_ready, true, __ATOMIC_RELEASE);
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

void gpi_hints_add(struct gp_hints *h, unsigned long b, unsigned bits)
{
	unsigned old = __atomic_fetch_or(&h->cls[b], (uint16_t)bits,
					 __ATOMIC_SEQ_CST);

	count_classes(h, old, old | bits);
}

/* Busy bits of 64-unit word @i, ordered after the caller's RMW. */
static unsigned long busy64_sc(const unsigned long *um, unsigned long i)
{
	return gpi_umap_busy64_sc(um, i);
}

unsigned long gpi_run_start_before(const unsigned long *um, unsigned long at)
{
	unsigned long floor = at > GP_TOP_CLASS_MIN ? at - GP_TOP_CLASS_MIN : 0;
	unsigned long g = at / GP_GROUP_UNITS, lo = at % GP_GROUP_UNITS;
	unsigned long before = at, busy;

	/* Runs measured here are mostly long (a claim or free inside a big
	 * hole: a contended thread's stretch): when @at's own group is free
	 * below it, skip wholly free groups four at a time, down to @floor. */
	if (!lo || !(busy64_sc(um, g) << (GP_GROUP_UNITS - lo))) {
		while (g >= 4 && (g - 4) * GP_GROUP_UNITS >= floor &&
		       !(busy64_sc(um, g - 1) | busy64_sc(um, g - 2) |
			 busy64_sc(um, g - 3) | busy64_sc(um, g - 4)))
			g -= 4;
		before = g * GP_GROUP_UNITS;
	}
	busy = gpi_find_prev_t(um, before, floor, busy64_sc);

	if (busy != GPI_NO_FIT)
		return busy + 1;
	return floor == 0 ? 0 : GPI_NO_FIT;
}

unsigned long gpi_run_length_from(const unsigned long *um, unsigned long nbits,
				  unsigned long at)
{
	unsigned long cap = nbits - at < GP_TOP_CLASS_MIN ? nbits
							  : at + GP_TOP_CLASS_MIN;
	unsigned long g = at / GP_GROUP_UNITS + 1, from = at;

	/* Runs measured here are mostly long: past @at's own group, skip
	 * wholly free groups four at a time. */
	if (!(busy64_sc(um, g - 1) >> at % GP_GROUP_UNITS)) {
		while ((g + 4) * GP_GROUP_UNITS <= cap &&
		       !(busy64_sc(um, g) | busy64_sc(um, g + 1) |
			 busy64_sc(um, g + 2) | busy64_sc(um, g + 3)))
			g += 4;
		from = g * GP_GROUP_UNITS < cap ? g * GP_GROUP_UNITS : cap;
	}
	return gpi_find_next_t(um, cap, from, 0, busy64_sc) - at;
}

unsigned long gpi_hints_measure_on(const unsigned long *um, unsigned long nbits,
				   unsigned long at, unsigned long len)
{
	return len >= GP_TOP_CLASS_MIN || at + len >= nbits ? len :
	       len + gpi_run_length_from(um, nbits, at + len);
}

void gpi_hints_claimed_mid(struct gp_hints *h, const unsigned long *um,
			   unsigned long nbits, unsigned long start,
			   unsigned long end)
{
	unsigned long from = gpi_run_start_before(um, start), len;
	bool ended, exact = gpi_hints_exact(h);

	/* The piece before keeps the hole's start: covering hints have it;
	 * a run reaching 1024 units back is in the top class, as was its
	 * hole. */
	if (exact && from != GPI_NO_FIT)
		gpi_hints_announce(h, um, nbits, from, start - from, true);
	if (end >= nbits)
		return;
	/* The piece after: covered when it starts in the hole's block. */
	if (!exact && from != GPI_NO_FIT &&
	    from / GP_BLOCK_BITS == end / GP_BLOCK_BITS)
		return;
	len = gpi_hints_measure(um, nbits, end, &ended);
	gpi_hints_announce(h, um, nbits, end, len, ended);
}

void gpi_hints_released(struct gp_hints *h, const unsigned long *um,
			unsigned long nbits, unsigned long start,
			unsigned long nr)
{
	unsigned long from = start, end = start + nr, len;
	bool ended = true;

	if (start > 0 && !gpi_hints_busy(um, start - 1)) {
		from = gpi_run_start_before(um, start);
		if (from == GPI_NO_FIT)
			return;
	}
	if (!gpi_hints_exact(h) &&
	    __atomic_load_n(&h->cls[from / GP_BLOCK_BITS], __ATOMIC_SEQ_CST) >>
	    (GP_CLASSES - 1))
		return;
	len = end - from;
	if (end < nbits)
		len += gpi_hints_measure(um, nbits, end, &ended);
	gpi_hints_announce(h, um, nbits, from, len, ended);
}

unsigned long gpi_hints_top_hole_start(const unsigned long *um,
				       unsigned long nbits, unsigned long b)
{
	unsigned long lo = b * GP_BLOCK_BITS, hi = lo + GP_BLOCK_BITS, from, need;

	if (hi >= nbits || gpi_umap_busy(um, hi - 1))
		return GPI_NO_FIT;
	/* The block's last hole starts after its last busy unit (a run
	 * through its first unit may have started in an earlier block). */
	from = gpi_find_prev_t(um, hi, lo, gpi_umap_busy64);
	if (from == GPI_NO_FIT) {
		if (lo > 0 && !gpi_umap_busy(um, lo - 1))
			return GPI_NO_FIT;
		from = lo;
	} else {
		from++;
	}
	need = GP_TOP_CLASS_MIN - (hi - from);
	if (gpi_find_next_t(um, nbits - hi > need ? hi + need : nbits, hi, 0,
			    gpi_umap_busy64) - hi < need)
		return GPI_NO_FIT;
	return from;
}
