// SPDX-License-Identifier: MIT
/*
 * core/search_hints.c - computing and maintaining the per-block hints, and
 * the engine's first-fit search over them.
 */
#include <string.h>

#include "bitmap.h"
#include "search.h"

/* Longest run of clear bits strictly between the lowest and highest set
 * bits of @w (which has at least one set bit). */
static unsigned inner_zero_run(unsigned long w)
{
	unsigned best = 0, ones, zeros;

	w >>= __builtin_ctzl(w);
	for (;;) {
		if (~w == 0)
			break;
		ones = (unsigned)__builtin_ctzl(~w);
		w >>= ones;
		if (!w)
			break;
		zeros = (unsigned)__builtin_ctzl(w);
		if (zeros > best)
			best = zeros;
		w >>= zeros;
	}
	return best;
}

/* Word @i of @map for hint purposes: units past @nbits count as busy. */
static unsigned long hint_word(const unsigned long *map, unsigned long nbits,
			       unsigned long i)
{
	unsigned long base = i * GP_WORD_BITS;

	if (base >= nbits)
		return ~0UL;
	if (nbits - base >= GP_WORD_BITS)
		return gpi_bitmap_word(map, i);
	return gpi_bitmap_word(map, i) | (~0UL << (nbits - base));
}

static uint8_t saturate(unsigned long v)
{
	return v < GP_HINT_SAT ? (uint8_t)v : GP_HINT_SAT;
}

/* Hints of the block whose words are @w[0..GP_BLOCK_WORDS). */
static void block_hints(const unsigned long *w, uint8_t *lg, uint8_t *pre,
			uint8_t *suf)
{
	unsigned long run = 0, best = 0, prefix = 0, inner;
	bool in_prefix = true;

	for (unsigned long j = 0; j < GP_BLOCK_WORDS; j++) {
		if (w[j] == 0) {
			run += GP_WORD_BITS;
			continue;
		}
		run += (unsigned long)__builtin_ctzl(w[j]);
		if (in_prefix) {
			prefix = run;
			in_prefix = false;
		}
		if (run > best)
			best = run;
		inner = inner_zero_run(w[j]);
		if (inner > best)
			best = inner;
		run = (unsigned long)__builtin_clzl(w[j]);
	}
	if (in_prefix)
		prefix = run;
	if (run > best)
		best = run;
	*lg = saturate(best);
	*pre = saturate(prefix);
	*suf = saturate(run);
}

/*
 * Recompute block @b's hints from the bitmap, then check the bitmap did
 * not change meanwhile.  If it did, our store may have overwritten a newer
 * thread's hints with older ones, so compute again: the last thread to
 * store always stored what the bitmap says.
 */
static void update_block(struct gp_hints *h, const unsigned long *map,
			 unsigned long nbits, unsigned long b)
{
	unsigned long snap[GP_BLOCK_WORDS], first = b * GP_BLOCK_WORDS, j;
	uint8_t lg, pre, suf;
	bool changed;

	do {
		for (j = 0; j < GP_BLOCK_WORDS; j++)
			snap[j] = hint_word(map, nbits, first + j);
		block_hints(snap, &lg, &pre, &suf);
		__atomic_store_n(&h->lg[b], lg, __ATOMIC_RELAXED);
		__atomic_store_n(&h->pre[b], pre, __ATOMIC_RELAXED);
		__atomic_store_n(&h->suf[b], suf, __ATOMIC_RELAXED);
		/* Order the hint stores before the re-read (StoreLoad). */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		changed = false;
		for (j = 0; j < GP_BLOCK_WORDS; j++)
			changed |= snap[j] != hint_word(map, nbits, first + j);
	} while (changed);
}

void gpi_hints_init(struct gp_hints *h, uint8_t *mem, unsigned long nbits)
{
	unsigned long n = gpi_blocks(nbits);

	h->nblocks = n;
	h->lg = mem;
	h->pre = h->lg + n + GP_HINT_PAD;
	h->suf = h->pre + n + GP_HINT_PAD;
	memset(h->lg, GP_HINT_SAT, n);
	memset(h->pre, GP_HINT_SAT, n);
	memset(h->suf, GP_HINT_SAT, n);
	/* A short last block is free only up to nbits. */
	if (nbits % GP_BLOCK_BITS) {
		h->lg[n - 1] = h->pre[n - 1] = saturate(nbits % GP_BLOCK_BITS);
		h->suf[n - 1] = 0;
	}
}

void gpi_hints_update(struct gp_hints *h, const unsigned long *map,
		      unsigned long nbits, unsigned long start,
		      unsigned long nr)
{
	unsigned long b;

	for (b = start / GP_BLOCK_BITS; b <= (start + nr - 1) / GP_BLOCK_BITS;
	     b++)
		update_block(h, map, nbits, b);
}

/* The scan kernel of @path. */
static gpi_scan_fn scan_of(enum gp_search_path path)
{
	switch (path) {
	case GP_SEARCH_AVX512:
		return gpi_scan_avx512;
	case GP_SEARCH_AVX2:
		return gpi_scan_avx2;
	default:
		return gpi_scan_word;
	}
}

unsigned long gpi_engine_find(const struct gp_hints *h,
			      const unsigned long *map, unsigned long nbits,
			      unsigned long start, unsigned long nr,
			      unsigned long align_mask,
			      unsigned long align_offset)
{
	enum gp_search_path path = gpi_search_path();
	unsigned long thr = nr < GP_HINT_SAT ? nr : GP_HINT_SAT;
	unsigned long b, lo, hi, bit;
	gpi_scan_fn scan;

	if (path == GP_SEARCH_REFERENCE)
		return gpi_find_zero_area(map, nbits, start, nbits, nr,
					  align_mask, align_offset);
	if (nr == 0 || start >= nbits || nr > nbits - start)
		return nbits + 1;
	scan = scan_of(path);
	for (b = start / GP_BLOCK_BITS; b < h->nblocks; b++) {
		b = scan(h, b, thr);
		if (b >= h->nblocks)
			break;
		lo = b * GP_BLOCK_BITS > start ? b * GP_BLOCK_BITS : start;
		hi = (b + 1) * GP_BLOCK_BITS < nbits ? (b + 1) * GP_BLOCK_BITS
						     : nbits;
		bit = gpi_find_zero_area(map, nbits, lo, hi, nr, align_mask,
					 align_offset);
		if (bit < nbits)
			return bit;
	}
	return nbits + 1;
}
