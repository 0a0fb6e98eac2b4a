/* SPDX-License-Identifier: MIT */
/*
 * core/hints.h - per-block hole classes over a chunk's bitmap.
 *
 * A block is 512 units of a chunk's unit map (bitmap.h; two cache lines).
 * Every free hole (a maximal run of free units) belongs to the block it
 * starts in, and each
 * block keeps a 16-bit mask with bit c set when one of its holes may have
 * a length in size class c (classes: 1, 2, 3, then half powers of two
 * 4-5, 6-7, ..., 48-63, then powers of two 64-127, ..., 512-1023, and
 * 1024 or more): two bytes per 512 units, 1/32 bit per unit.  Per chunk,
 * class_blocks[c] counts the blocks with bit c set.
 *
 * Masks are supersets: every hole's class bit is set in the block it
 * starts in, and a bit may outlive its hole.  A claim or release only
 * announces the holes it creates: it reads at most GP_MEASURE_UNITS units
 * past its end (the hole before it only when that unit is free), and a
 * hole that runs on past what was read is announced with every class it
 * may have (its measured length's and all above).  A search that finds
 * nothing in a block its mask sent it to repairs that block's mask from
 * the bitmap.  A stale bit costs one wasted block search; a missing bit
 * cannot happen (hints.c explains the ordering that guarantees it, under
 * the C11 memory model alone: it holds on arm64 as on x86-64).
 */
#ifndef GENPOOL_CORE_HINTS_H
#define GENPOOL_CORE_HINTS_H

#include <stdbool.h>
#include <stdint.h>

#include "bitmap.h"

#define GP_BLOCK_BITS 512UL
/* Block length in 64-unit search words (bitmap.h). */
#define GP_BLOCK_WORDS (GP_BLOCK_BITS / GP_WORD_BITS)
#define GP_CLASSES 16
/* Holes this long or longer are all in the top class. */
#define GP_TOP_CLASS_MIN 1024UL
/* The class arrays are padded so the vector kernels may read past the end. */
#define GP_CLASS_PAD 32
/* How far past its end a claim or release measures the hole it leaves. */
#define GP_MEASURE_UNITS (4 * GP_UNITS_PER_WORD)

/* Hole classes of one chunk.  The counters are written only when a class
 * appears in or leaves a block; they sit on their own cache lines. */
struct gp_hints {
	uint16_t *cls;			/* per block; nblocks + GP_CLASS_PAD */
	unsigned long nblocks;
	char pad0[64];
	unsigned long class_blocks[GP_CLASSES];	/* atomic counters */
	char pad1[64];
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

/* Make every block's mask exact (for tests and after bulk changes). */
void gpi_hints_rebuild(struct gp_hints *h, const unsigned long *um,
		       unsigned long nbits);

/* Make block @b's mask exact (a search found it stale). */
void gpi_hints_repair(struct gp_hints *h, const unsigned long *um,
		      unsigned long nbits, unsigned long b);

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

/* Does a top-class hole (GP_TOP_CLASS_MIN units or more) start in block
 * @b?  It would be the block's last hole, running out of the block. */
bool gpi_hints_top_hole_starts(const unsigned long *um, unsigned long nbits,
			       unsigned long b);

/*
 * Start of the free run that ends just before @at, or GPI_NO_FIT when it
 * reaches back GP_TOP_CLASS_MIN units or more.  Such a long run's class
 * is the top one, already set where the run starts, and it stays so.
 */
unsigned long gpi_run_start_before(const unsigned long *um, unsigned long at);

/* Length of the free run starting at @at, capped at GP_TOP_CLASS_MIN. */
unsigned long gpi_run_length_from(const unsigned long *um, unsigned long nbits,
				  unsigned long at);

/* ------------------------------------------------ announcing new holes */

/* Set @bits in block @b's mask (the slow half of gpi_hints_announce()). */
void gpi_hints_add(struct gp_hints *h, unsigned long b, unsigned bits);

/*
 * Announce the hole starting at unit @at: @len units long if @ended, else
 * at least @len (then every class it may have).  One load when the
 * classes are there already, the usual case.
 */
static inline void gpi_hints_announce(struct gp_hints *h, unsigned long at,
				      unsigned long len, bool ended)
{
	unsigned c = gpi_size_class(len);
	unsigned bits = ended ? 1u << c : (0xffffu << c) & 0xffffu;
	unsigned long b = at / GP_BLOCK_BITS;

	/* Another thread claimed the hole first: it announces what it left. */
	if (len == 0)
		return;
	/* Sequentially consistent: ordered after the caller's bitmap RMW
	 * (the argument in hints.c). */
	if ((__atomic_load_n(&h->cls[b], __ATOMIC_SEQ_CST) & bits) != bits)
		gpi_hints_add(h, b, bits);
}

/* Is unit @u busy (a read ordered after the caller's bitmap RMW)? */
static inline bool gpi_hints_busy(const unsigned long *um, unsigned long u)
{
	return __atomic_load_n(&um[u / GP_UNITS_PER_WORD], __ATOMIC_SEQ_CST) >>
	       (u % GP_UNITS_PER_WORD) & 1;
}

/*
 * Length of the free run from unit @at (< @nbits, free), reading at most
 * GP_MEASURE_UNITS units: *@ended says whether the run ended (a busy unit
 * or the chunk's end) within what was read.
 */
static inline unsigned long gpi_hints_measure(const unsigned long *um,
					      unsigned long nbits,
					      unsigned long at, bool *ended)
{
	unsigned long i = at / GP_UNITS_PER_WORD, lo = at % GP_UNITS_PER_WORD;
	unsigned long base = i * GP_UNITS_PER_WORD, w, end;

	w = __atomic_load_n(&um[i], __ATOMIC_SEQ_CST) & GP_BUSY_HALF &
	    (~0UL << lo);
	while (!w && base + GP_UNITS_PER_WORD < at + GP_MEASURE_UNITS) {
		base += GP_UNITS_PER_WORD;
		if (base >= nbits)
			break;
		w = __atomic_load_n(&um[++i], __ATOMIC_SEQ_CST) & GP_BUSY_HALF;
	}
	end = w ? base + (unsigned long)__builtin_ctzl(w)
		: base + GP_UNITS_PER_WORD;
	*ended = w || end >= nbits;
	return (end < nbits ? end : nbits) - at;
}

/* The hole before @start of a claim: announced exactly (rare for first
 * fit, which starts at a hole's first unit). */
void gpi_hints_left_of(struct gp_hints *h, const unsigned long *um,
		       unsigned long start);

/* After [@start, @start + @nr) of @um was claimed: announce the holes
 * left on either side. */
static inline void gpi_hints_claimed(struct gp_hints *h,
				     const unsigned long *um,
				     unsigned long nbits, unsigned long start,
				     unsigned long nr)
{
	unsigned long end = start + nr, len;
	bool ended;

	if (start > 0 && !gpi_hints_busy(um, start - 1))
		gpi_hints_left_of(h, um, start);
	if (end < nbits && !gpi_hints_busy(um, end)) {
		len = gpi_hints_measure(um, nbits, end, &ended);
		gpi_hints_announce(h, end, len, ended);
	}
}

/* After [@start, @start + @nr) of @um was released: announce the class of
 * the hole it is now part of. */
static inline void gpi_hints_released(struct gp_hints *h,
				      const unsigned long *um,
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
	len = end - from;
	if (end < nbits && !gpi_hints_busy(um, end))
		len += gpi_hints_measure(um, nbits, end, &ended);
	gpi_hints_announce(h, from, len, ended);
}

#endif /* GENPOOL_CORE_HINTS_H */
