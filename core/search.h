/* SPDX-License-Identifier: MIT */
/*
 * core/search.h - the fast search engine: per-block hole classes over a
 * chunk's bitmap and the kernels that scan them.
 *
 * A block is one cache line of bitmap: 512 units.  Every free hole (a
 * maximal run of clear bits) belongs to the block it starts in, and each
 * block keeps a 16-bit mask with bit c set when one of its holes may have
 * a length in size class c (classes: 1, 2, 3, then half powers of two
 * 4-5, 6-7, ..., 48-63, then powers of two 64-127, ..., 512-1023, and
 * 1024 or more).  Two bytes per 64-byte block is 3.1% of the bitmap.  Per
 * chunk, class_blocks[c] counts the blocks with bit c set.
 *
 * First fit for n units screens blocks by "mask has a class >= class(n)",
 * a single 16-bit compare (16 or 32 blocks per vector step), and runs the
 * exact word search only in blocks that pass.  Best fit takes the lowest
 * class >= class(n) that the counters say is present and visits only the
 * blocks holding holes of that class: the holes are binned by size class
 * instead of visited one by one.
 *
 * Masks are supersets: every hole's class bit is set in the block it
 * starts in, and a bit may outlive its hole.  A claim or release only
 * computes the classes of the holes it creates (a few words of bitmap
 * around it) and ORs them in; a search that finds nothing in a block its
 * mask sent it to repairs that block's mask from the bitmap.  A stale bit
 * costs one wasted block search; a missing bit cannot happen (see
 * repair_block() for the ordering that guarantees it), so the searches
 * return exactly the reference's answers.
 */
#ifndef GENPOOL_CORE_SEARCH_H
#define GENPOOL_CORE_SEARCH_H

#include <stdbool.h>
#include <stdint.h>

#include "genpool/search.h"
#include "util.h"

#define GP_BLOCK_BITS 512UL
#define GP_BLOCK_WORDS (GP_BLOCK_BITS / GP_WORD_BITS)
#define GP_CLASSES 16
/* Holes this long or longer are all in the top class. */
#define GP_TOP_CLASS_MIN 1024UL
/* The class arrays are padded so the vector kernels may read past the end. */
#define GP_CLASS_PAD 32

/* Hole classes of one chunk. */
struct gp_hints {
	uint16_t *cls;			/* per block; nblocks + GP_CLASS_PAD */
	unsigned long nblocks;
	unsigned long class_blocks[GP_CLASSES];	/* atomic counters */
};

/* Blocks covering @nbits units. */
static inline unsigned long gpi_blocks(unsigned long nbits)
{
	return gpi_div_round_up(nbits, GP_BLOCK_BITS);
}

/* Bytes of class storage for @nbits units. */
static inline unsigned long gpi_hint_bytes(unsigned long nbits)
{
	return (gpi_blocks(nbits) + GP_CLASS_PAD) * sizeof(uint16_t);
}

/* Size classes of 1..63 units, and of 64..1023 units by n / 64. */
extern const uint8_t gpi_class_small[64];
extern const uint8_t gpi_class_big[16];

/*
 * Size class of a hole of @n >= 1 units.  Tables, not a bit scan: clz
 * compiles to bsr without -mlzcnt, which costs tens of cycles on some
 * x86 CPUs, and this is on every allocation's path.
 */
static inline unsigned gpi_size_class(unsigned long n)
{
	if (n < 64)
		return gpi_class_small[n];
	if (n < GP_TOP_CLASS_MIN)
		return gpi_class_big[n >> 6];
	return GP_CLASSES - 1;
}

/* Classes whose holes may hold @n units: class(n) and above. */
static inline unsigned gpi_classes_from(unsigned long n)
{
	return (0xffffu << gpi_size_class(n)) & 0xffffu;
}

/* Classes all of whose holes hold at least @n units. */
static inline unsigned gpi_classes_at_least(unsigned long n)
{
	unsigned below = n <= 1 ? 0 : gpi_size_class(n - 1) + 1;

	return (0xffffu << below) & 0xffffu;
}

/* Point @h at @mem (gpi_hint_bytes() bytes, zeroed): one free hole. */
void gpi_hints_init(struct gp_hints *h, uint16_t *mem, unsigned long nbits);

/* After [@start, @start + @nr) of @map was claimed: announce the classes
 * of the holes left on either side. */
void gpi_hints_claimed(struct gp_hints *h, const unsigned long *map,
		       unsigned long nbits, unsigned long start,
		       unsigned long nr);

/* After [@start, @start + @nr) of @map was released: announce the class of
 * the hole it is now part of. */
void gpi_hints_released(struct gp_hints *h, const unsigned long *map,
			unsigned long nbits, unsigned long start,
			unsigned long nr);

/* Make every block's mask exact (for tests and after bulk changes). */
void gpi_hints_rebuild(struct gp_hints *h, const unsigned long *map,
		       unsigned long nbits);

/* Union of the classes present in the chunk (from the counters). */
unsigned gpi_hints_classes(const struct gp_hints *h);

/* Is a hole of class(@nr) or above present?  Top class first: it is the
 * usual answer, found with one load. */
static inline bool gpi_hints_may_fit(const struct gp_hints *h,
				     unsigned long nr)
{
	for (int c = GP_CLASSES - 1; c >= (int)gpi_size_class(nr); c--)
		if (__atomic_load_n(&h->class_blocks[c], __ATOMIC_RELAXED))
			return true;
	return false;
}

/*
 * First-fit search with the engine: the lowest b >= @start such that
 * [b, b + @nr) is free and ((b + @align_offset) & @align_mask) == 0.
 * Returns b, or GPI_NO_FIT if none.  Same answer as the reference
 * gpi_find_zero_area() on the same bitmap.
 */
unsigned long gpi_engine_find(struct gp_hints *h,
			      const unsigned long *map, unsigned long nbits,
			      unsigned long start, unsigned long nr,
			      unsigned long align_mask,
			      unsigned long align_offset);

/*
 * Best fit with the engine: the start of a smallest hole of at least @nr
 * units, the lowest such hole among equals (the kernel's answer).  Returns
 * GPI_NO_FIT if none.
 */
unsigned long gpi_engine_best_fit(struct gp_hints *h,
				  const unsigned long *map,
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

/* The scan kernel of the path in force (word for the reference path). */
gpi_scan_fn gpi_scan_kernel(void);

#endif /* GENPOOL_CORE_SEARCH_H */
