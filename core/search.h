/* SPDX-License-Identifier: MIT */
/*
 * core/search.h - the fast search engine: first fit and best fit over the
 * per-block hole classes (hints.h), and the kernels that scan the masks.
 *
 * First fit for n units screens blocks by "mask has a class >= class(n)",
 * a single 16-bit compare (16 or 32 blocks per vector step), and runs the
 * exact word search only in blocks that pass.  Best fit takes the lowest
 * class >= class(n) that the counters say is present and visits only the
 * blocks holding holes of that class: the holes are binned by size class
 * instead of visited one by one.  Because the masks never miss a hole,
 * the searches return exactly the reference's answers.
 */
#ifndef GENPOOL_CORE_SEARCH_H
#define GENPOOL_CORE_SEARCH_H

#include <stdbool.h>
#include <stdint.h>

#include "genpool/search.h"
#include "bitmap.h"
#include "hints.h"
#include "util.h"

/* The path in force; GP_SEARCH_AUTO (0) until first chosen. */
extern int gpi_current_path;

/* Choose the path from GENPOOL_SEARCH and the CPU (first use). */
enum gp_search_path gpi_search_path_init(void);

/* The path in force (never GP_SEARCH_AUTO). */
static inline enum gp_search_path gpi_search_path(void)
{
	int path = __atomic_load_n(&gpi_current_path, __ATOMIC_RELAXED);

	return path ? (enum gp_search_path)path : gpi_search_path_init();
}

/* gpi_engine_find() past its first block (search_engine.c). */
unsigned long gpi_engine_find_on(struct gp_hints *h, const unsigned long *um,
				 unsigned long nbits, unsigned long start,
				 unsigned long nr, unsigned long align_mask,
				 unsigned long align_offset);

/* Unaligned runs up to this long are searched word at a time: fewer
 * instructions than the hole-by-hole reference search (callgrind, the
 * benchmarks' 90% full pool); longer ones skip busy runs faster there. */
#define GP_WORD_SCAN_UNITS 8UL

/* The first fit of @nr units starting in [@lo, @hi) (< @nbits): word at
 * a time for a short unaligned run, else the reference search. */
static inline unsigned long gpi_engine_find_in(const unsigned long *um,
					       unsigned long nbits,
					       unsigned long lo,
					       unsigned long hi,
					       unsigned long nr,
					       unsigned long align_mask,
					       unsigned long align_offset)
{
	if (!align_mask && nr <= GP_WORD_SCAN_UNITS)
		return gpi_umap_first_fit_small(um, nbits, lo, hi, nr);
	return gpi_find_zero_area_t(um, nbits, lo, hi, nr, align_mask,
				    align_offset, gpi_umap_busy64);
}

/*
 * First-fit search with the engine: the lowest b >= @start such that
 * [b, b + @nr) is free and ((b + @align_offset) & @align_mask) == 0.
 * Returns b, or GPI_NO_FIT if none.  Same answer as the reference
 * gpi_ufind_zero_area() on the same unit map.  The block holding @start
 * is searched here, inline, whatever its mask says (@start may lie inside
 * a hole that an earlier block owns): that is where a first fit in a
 * lightly used pool lands.
 */
static inline unsigned long gpi_engine_find(struct gp_hints *h,
					    const unsigned long *um,
					    unsigned long nbits,
					    unsigned long start,
					    unsigned long nr,
					    unsigned long align_mask,
					    unsigned long align_offset)
{
	unsigned long hi, bit;

	if (nr == 0 || start >= nbits || nr > nbits - start)
		return GPI_NO_FIT;
	if (gpi_search_path() == GP_SEARCH_REFERENCE)
		return gpi_ufind_zero_area(um, nbits, start, nbits, nr,
					   align_mask, align_offset);
	hi = (start / GP_BLOCK_BITS + 1) * GP_BLOCK_BITS;
	bit = gpi_engine_find_in(um, nbits, start, hi < nbits ? hi : nbits, nr,
				 align_mask, align_offset);
	if (bit != GPI_NO_FIT)
		return bit;
	return gpi_engine_find_on(h, um, nbits, start, nr, align_mask,
				  align_offset);
}

/*
 * Best fit with the engine: the start of a smallest hole of at least @nr
 * units, the lowest such hole among equals (the kernel's answer).  Returns
 * GPI_NO_FIT if none.
 */
unsigned long gpi_engine_best_fit(struct gp_hints *h,
				  const unsigned long *um,
				  unsigned long nbits, unsigned long nr);

/*
 * Scan kernels: the first block in [@from, @nblocks) whose mask shares a
 * bit with @classes; @nblocks if none.
 */
typedef unsigned long (*gpi_scan_fn)(const struct gp_hints *h,
				     unsigned long from, unsigned classes);

unsigned long gpi_scan_word(const struct gp_hints *h, unsigned long from,
			    unsigned classes);
unsigned long gpi_scan_avx2(const struct gp_hints *h, unsigned long from,
			    unsigned classes);
unsigned long gpi_scan_avx512(const struct gp_hints *h, unsigned long from,
			      unsigned classes);

/* The scan kernel of the path in force (word for the reference path). */
gpi_scan_fn gpi_scan_kernel(void);

#endif /* GENPOOL_CORE_SEARCH_H */
