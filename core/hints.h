/* SPDX-License-Identifier: MIT */
/*
 * core/hints.h - per-block hole classes over a chunk's bitmap.
 *
 * A block is one cache line of bitmap: 512 units.  Every free hole (a
 * maximal run of clear bits) belongs to the block it starts in, and each
 * block keeps a 16-bit mask with bit c set when one of its holes may have
 * a length in size class c (classes: 1, 2, 3, then half powers of two
 * 4-5, 6-7, ..., 48-63, then powers of two 64-127, ..., 512-1023, and
 * 1024 or more).  Two bytes per 64-byte block is 3.1% of the bitmap.  Per
 * chunk, class_blocks[c] counts the blocks with bit c set.
 *
 * Masks are supersets: every hole's class bit is set in the block it
 * starts in, and a bit may outlive its hole.  A claim or release only
 * computes the classes of the holes it creates (a few words of bitmap
 * around it) and ORs them in; a search that finds nothing in a block its
 * mask sent it to repairs that block's mask from the bitmap.  A stale bit
 * costs one wasted block search; a missing bit cannot happen (see
 * gpi_hints_repair() for the ordering that guarantees it).
 */
#ifndef GENPOOL_CORE_HINTS_H
#define GENPOOL_CORE_HINTS_H

#include <stdbool.h>
#include <stdint.h>

#include "bitmap.h"

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

/* Make block @b's mask exact (a search found it stale). */
void gpi_hints_repair(struct gp_hints *h, const unsigned long *map,
		      unsigned long nbits, unsigned long b);

/* Does a top-class hole (GP_TOP_CLASS_MIN units or more) start in block
 * @b?  It would be the block's last hole, running out of the block. */
bool gpi_hints_top_hole_starts(const unsigned long *map, unsigned long nbits,
			       unsigned long b);

/*
 * Start of the free run that ends just before @at, or GPI_NO_FIT when it
 * reaches back GP_TOP_CLASS_MIN units or more.  Such a long run's class
 * is the top one, already set where the run starts, and it stays so.
 */
unsigned long gpi_run_start_before(const unsigned long *map, unsigned long at);

/* Length of the free run starting at @at, capped at GP_TOP_CLASS_MIN. */
unsigned long gpi_run_length_from(const unsigned long *map, unsigned long nbits,
				  unsigned long at);

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

#endif /* GENPOOL_CORE_HINTS_H */
