/* SPDX-License-Identifier: MIT */
/*
 * core/hints.h - per-block hole classes over a chunk's bitmap.
 *
 * A block is 512 units of a chunk's unit map (bitmap.h; two cache lines).
 * Every free hole (a maximal run of free units) belongs to the block it
 * starts in, and each block keeps a 16-bit mask of size classes (1, 2, 3,
 * then half powers of two 4-5, 6-7, ..., 48-63, then powers of two
 * 64-127, ..., 512-1023, and 1024 or more): two bytes per 512 units, 1/32
 * bit per unit.  Per chunk, class_blocks[c] counts the blocks with bit c.
 *
 * The masks keep one of two promises, per chunk:
 *   covering (the default): every hole's block has a bit at or above the
 *     hole's class.  That is all first fit needs (it screens blocks by
 *     "a bit >= class(n)"), and it is cheap to keep: a claim at a hole's
 *     start that ends in the same block leaves pieces the hole's own bit
 *     covers, so it announces nothing; a release is done when its hole's
 *     block has the top bit; otherwise a hole is measured (at most
 *     GP_MEASURE_UNITS units past the change) and its class announced,
 *     the top class for a run whose end was not seen.
 *   exact (chunks best fit has run on, gp_hints.exact): every hole's own
 *     class bit is set where it starts.  Best fit takes the smallest
 *     class present and visits only the blocks with that bit, so it needs
 *     this; every piece a claim or release leaves is announced, measured
 *     to its class.
 * Either way a bit may outlive its hole.  A search that finds nothing in a
 * block its mask sent it to repairs that block's mask: recomputes it
 * exactly (which keeps both promises).  A stale bit costs one wasted block
 * search; a missing bit cannot happen (hints.c explains the ordering that
 * guarantees it, under the C11 memory model alone: it holds on arm64 as on
 * x86-64).
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
#define GP_MEASURE_UNITS (2 * GP_GROUP_UNITS)

/* Hole classes of one chunk.  The counters are written only when a class
 * appears in or leaves a block; they sit on their own cache lines. */
struct gp_hints {
	uint16_t *cls;			/* per block; nblocks + GP_CLASS_PAD */
	unsigned long nblocks;
	bool exact;			/* atomic: keep the exact promise */
	bool exact_ready;		/* atomic: ... and the masks keep it */
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

/* The first unit of the top-class hole (GP_TOP_CLASS_MIN units or more)
 * that starts in block @b, or GPI_NO_FIT if none does.  It would be the
 * block's last hole, running out of the block. */
unsigned long gpi_hints_top_hole_start(const unsigned long *um,
				       unsigned long nbits, unsigned long b);

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

/* Length of the free run of at least @len units from @at, measured to the
 * top class (exact hints, a run gpi_hints_measure() did not see end). */
unsigned long gpi_hints_measure_on(const unsigned long *um, unsigned long nbits,
				   unsigned long at, unsigned long len);

/* Does @h keep the exact promise?  Read after the caller's unit-map RMW,
 * seq_cst: see gpi_hints_make_exact(). */
static inline bool gpi_hints_exact(const struct gp_hints *h)
{
	return __atomic_load_n(&h->exact, __ATOMIC_SEQ_CST);
}

/* Do @h's masks keep the exact promise already (best fit may use them)? */
static inline bool gpi_hints_exact_ready(const struct gp_hints *h)
{
	return __atomic_load_n(&h->exact_ready, __ATOMIC_ACQUIRE);
}

/* Switch @h to the exact promise, while the chunk is in use. */
void gpi_hints_make_exact(struct gp_hints *h, const unsigned long *um,
			  unsigned long nbits);

/*
 * Announce the hole starting at unit @at: @len units long if @ended, else
 * at least @len.  Covering hints need a bit at or above its class (the top
 * one when its end was not seen); exact hints its class's bit (measured to
 * the top class first).  One load of the mask when it holds that already,
 * the usual case; sequentially consistent, ordered after the caller's
 * unit-map RMW (the argument in hints.c).
 */
static inline void gpi_hints_announce(struct gp_hints *h,
				      const unsigned long *um,
				      unsigned long nbits, unsigned long at,
				      unsigned long len, bool ended)
{
	unsigned long b = at / GP_BLOCK_BITS;
	unsigned m, c;

	/* Another thread claimed the hole first: it announces what it left. */
	if (len == 0)
		return;
	m = __atomic_load_n(&h->cls[b], __ATOMIC_SEQ_CST);
	if (__builtin_expect(!gpi_hints_exact(h), 1)) {
		c = ended ? gpi_size_class(len) : GP_CLASSES - 1;
		if (!(m >> c))
			gpi_hints_add(h, b, 1u << c);
		return;
	}
	if (!ended)
		len = gpi_hints_measure_on(um, nbits, at, len);
	c = gpi_size_class(len);
	if (!(m & 1u << c))
		gpi_hints_add(h, b, 1u << c);
}

/* Is unit @u busy (a read ordered after the caller's unit-map RMW)? */
static inline bool gpi_hints_busy(const unsigned long *um, unsigned long u)
{
	return gpi_umap_busy64_sc(um, u / GP_GROUP_UNITS) >>
	       (u % GP_GROUP_UNITS) & 1;
}

/*
 * Length of the free run from unit @at (< @nbits), 0 if @at is busy,
 * reading at most GP_MEASURE_UNITS units past its group: *@ended says
 * whether the run ended (a busy unit or the chunk's end) within what was
 * read.
 */
static inline unsigned long gpi_hints_measure(const unsigned long *um,
					      unsigned long nbits,
					      unsigned long at, bool *ended)
{
	unsigned long g = at / GP_GROUP_UNITS, w, end;
	unsigned long last = (nbits - 1) / GP_GROUP_UNITS;

	w = gpi_umap_busy64_sc(um, g) & (~0UL << at % GP_GROUP_UNITS);
	if (!w && (g + 3) * GP_GROUP_UNITS <= nbits) {
		/* The usual long run: the next two groups free, one test. */
		w = gpi_umap_busy64_sc(um, g + 1) | gpi_umap_busy64_sc(um, g + 2);
		if (!w) {
			*ended = false;
			return (g + 3) * GP_GROUP_UNITS - at;
		}
		w = 0;		/* it ends in one of them: find where */
		last = g + 2;
	}
	while (!w && g < last)
		w = gpi_umap_busy64_sc(um, ++g);
	end = g * GP_GROUP_UNITS +
	      (w ? (unsigned long)__builtin_ctzl(w) : GP_GROUP_UNITS);
	*ended = w || end >= nbits;
	return (end < nbits ? end : nbits) - at;
}

/* A claim that did not start at its hole's first unit (hints.c). */
void gpi_hints_claimed_mid(struct gp_hints *h, const unsigned long *um,
			   unsigned long nbits, unsigned long start,
			   unsigned long end);

/*
 * After [@start, @start + @nr) of @um was claimed from a free hole
 * (@free_before: the unit before @start is free, read after the claim's
 * RMW): announce the holes left on either side.  Covering hints need
 * nothing for a piece that starts in the block the hole started in: the
 * hole's bit covers it (pieces are shorter).  So a claim at a hole's start
 * (first fit's) that ends in the same block costs one test.
 */
static inline void gpi_hints_claimed_at(struct gp_hints *h,
					const unsigned long *um,
					unsigned long nbits,
					unsigned long start, unsigned long nr,
					bool free_before)
{
	unsigned long end = start + nr, len;
	bool ended;

	if (free_before) {
		gpi_hints_claimed_mid(h, um, nbits, start, end);
		return;
	}
	if (end >= nbits || (end / GP_BLOCK_BITS == start / GP_BLOCK_BITS &&
			     !gpi_hints_exact(h)))
		return;
	len = gpi_hints_measure(um, nbits, end, &ended);
	gpi_hints_announce(h, um, nbits, end, len, ended);
}

/* gpi_hints_claimed_at(), reading the unit before @start itself. */
static inline void gpi_hints_claimed(struct gp_hints *h,
				     const unsigned long *um,
				     unsigned long nbits, unsigned long start,
				     unsigned long nr)
{
	gpi_hints_claimed_at(h, um, nbits, start, nr,
			     start > 0 && !gpi_hints_busy(um, start - 1));
}

/*
 * After [@start, @start + @nr) of @um was released: announce the hole it
 * is now part of.  Covering hints are done when the hole's block has the
 * top bit (it covers any class), without measuring.
 */
void gpi_hints_released(struct gp_hints *h, const unsigned long *um,
			unsigned long nbits, unsigned long start,
			unsigned long nr);

/*
 * gpi_hints_released() for a release within one group whose busy word its
 * CAS left as @busy.  With covering hints, a hole that starts at @start
 * (the unit before is busy, or there is none) and ends inside the group is
 * measured on @busy, without a load: the CAS read the word latest in its
 * modification order, so a racing change of the group is seen by us or
 * sees our release, which is what the argument in hints.c asks of the
 * reads after the RMW.  Anything else goes to gpi_hints_released().
 */
static inline __attribute__((always_inline)) void
gpi_hints_released_in_group(struct gp_hints *h, const unsigned long *um,
			    unsigned long nbits, unsigned long start,
			    unsigned long nr, unsigned long busy)
{
	unsigned long lo = start % GP_GROUP_UNITS, end = lo + nr;
	unsigned long rest = end < GP_GROUP_UNITS ? busy >> end : 0;
	unsigned long b = start / GP_BLOCK_BITS;
	unsigned m, c;

	if ((lo ? !(busy >> (lo - 1) & 1) : start > 0) || gpi_hints_exact(h))
		goto general;
	/* The top class covers every hole; else the hole must end here. */
	m = __atomic_load_n(&h->cls[b], __ATOMIC_SEQ_CST);
	if (m >> (GP_CLASSES - 1))
		return;
	if (!rest)
		goto general;
	c = gpi_size_class(nr + (unsigned long)__builtin_ctzl(rest));
	if (!(m >> c))
		gpi_hints_add(h, b, 1u << c);
	return;
general:
	gpi_hints_released(h, um, nbits, start, nr);
}

#endif /* GENPOOL_CORE_HINTS_H */
