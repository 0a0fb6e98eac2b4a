/* SPDX-License-Identifier: MIT */
/*
 * core/search.h - the fast search engine: per-block hints over a chunk's
 * bitmap and the kernels that scan them.
 *
 * A block is one cache line of bitmap: 512 units.  Each block has three
 * one-byte hints: its largest free run, its free run at the low edge
 * (prefix) and at the high edge (suffix); a value of GP_HINT_SAT (255)
 * means "255 or more".  Three bytes per 64-byte block is 4.7% of the
 * bitmap.  A block can start a run of n free units only if
 *     lg >= min(n, 255)  or  suf + pre(next block) >= min(n, 255)
 * (saturating byte add), so the scan kernels test exactly that, 32 or 64
 * blocks at a time, and the exact word search runs only in blocks that
 * pass.  Hints are recomputed after every claim and release and verified
 * against the bitmap afterwards, so a quiescent chunk's hints are exact;
 * during races a hint may be stale for a moment, which costs time in the
 * screen's false positives, never a wrong answer (the CAS decides).
 */
#ifndef GENPOOL_CORE_SEARCH_H
#define GENPOOL_CORE_SEARCH_H

#include <stdint.h>

#include "genpool/search.h"

#define GP_BLOCK_BITS 512UL
#define GP_BLOCK_WORDS (GP_BLOCK_BITS / GP_WORD_BITS)
#define GP_HINT_SAT 255
/* Hint arrays are padded so the vector kernels may read past the end. */
#define GP_HINT_PAD 64

struct gp_chunk;

/* Hints of one chunk: three byte arrays of nblocks (+ GP_HINT_PAD zeros). */
struct gp_hints {
	uint8_t *lg;
	uint8_t *pre;
	uint8_t *suf;
	unsigned long nblocks;
};

/* Blocks covering @nbits units. */
static inline unsigned long gpi_blocks(unsigned long nbits)
{
	return nbits / GP_BLOCK_BITS + (nbits % GP_BLOCK_BITS != 0);
}

/* Bytes of hint storage for @nbits units (all three arrays). */
static inline unsigned long gpi_hint_bytes(unsigned long nbits)
{
	return 3 * (gpi_blocks(nbits) + GP_HINT_PAD);
}

/* Point @h into @mem (gpi_hint_bytes() bytes, zeroed) and mark all free. */
void gpi_hints_init(struct gp_hints *h, uint8_t *mem, unsigned long nbits);

/* Recompute the hints of the blocks holding [@start, @start + @nr) of
 * @map after a claim or release, until they agree with the bitmap. */
void gpi_hints_update(struct gp_hints *h, const unsigned long *map,
		      unsigned long nbits, unsigned long start,
		      unsigned long nr);

/*
 * First-fit search with the engine: the lowest b >= @start such that
 * [b, b + @nr) is free and ((b + @align_offset) & @align_mask) == 0.
 * Returns b, or a value > @nbits if none.  Same answer as the reference
 * gpi_find_zero_area() on the same bitmap.
 */
unsigned long gpi_engine_find(const struct gp_hints *h,
			      const unsigned long *map, unsigned long nbits,
			      unsigned long start, unsigned long nr,
			      unsigned long align_mask,
			      unsigned long align_offset);

/*
 * Scan kernels: the first block index in [@from, @nblocks) that may start a
 * run of length >= @thr (1..255), by the rule above; @nblocks if none.
 */
typedef unsigned long (*gpi_scan_fn)(const struct gp_hints *h,
				     unsigned long from, unsigned long thr);

unsigned long gpi_scan_word(const struct gp_hints *h, unsigned long from,
			    unsigned long thr);
unsigned long gpi_scan_avx2(const struct gp_hints *h, unsigned long from,
			    unsigned long thr);
unsigned long gpi_scan_avx512(const struct gp_hints *h, unsigned long from,
			      unsigned long thr);

/* The path in force (never GP_SEARCH_AUTO). */
enum gp_search_path gpi_search_path(void);

#endif /* GENPOOL_CORE_SEARCH_H */
