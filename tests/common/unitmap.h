/* SPDX-License-Identifier: MIT */
/*
 * tests/common/unitmap.h - a plain bitmap and the pool's unit map of the
 * same units, kept equal, for the tests that drive core's searches
 * directly: the reference search runs on the plain bitmap (the kernel's
 * layout), the engine on the unit map (core/bitmap.h).
 */
#ifndef GENPOOL_TESTS_UNITMAP_H
#define GENPOOL_TESTS_UNITMAP_H

#include <stdlib.h>
#include <string.h>

#include "bitmap.h"

struct unit_maps {
	unsigned long *map;		/* plain: one bit per unit */
	unsigned long *um;		/* unit map: busy bits (no start marks) */
	unsigned long nbits;
};

static inline void um_init(struct unit_maps *m, unsigned long nbits)
{
	m->nbits = nbits;
	m->map = calloc(gpi_bitmap_words(nbits) + 1, sizeof(unsigned long));
	/* 16-byte aligned, as a pool's (bitmap.h's double-width CAS). */
	m->um = aligned_alloc(16, (gpi_umap_words(nbits) + 2) *
			      sizeof(unsigned long));
	if (m->um)
		memset(m->um, 0, (gpi_umap_words(nbits) + 2) *
		       sizeof(unsigned long));
	if (!m->map || !m->um)
		abort();
}

static inline void um_free(struct unit_maps *m)
{
	free(m->map);
	free(m->um);
}

/* Make unit @u busy or free in both maps. */
static inline void um_set(struct unit_maps *m, unsigned long u, int busy)
{
	unsigned long pb = 1UL << (u % GP_WORD_BITS);
	unsigned long g = u / GP_GROUP_UNITS;

	if (busy) {
		m->map[u / GP_WORD_BITS] |= pb;
		m->um[2 * g] |= pb;
	} else {
		m->map[u / GP_WORD_BITS] &= ~pb;
		m->um[2 * g] &= ~pb;
		m->um[2 * g + 1] &= ~pb;
	}
}

/* Every unit busy (or free), in both. */
static inline void um_fill(struct unit_maps *m, int busy)
{
	for (unsigned long u = 0; u < m->nbits; u++)
		um_set(m, u, busy);
}

/* Mirror [@at, @at + @nr) of the unit map into the plain map (after a
 * claim or free made on the unit map). */
static inline void um_mirror(struct unit_maps *m, unsigned long at,
			     unsigned long nr)
{
	for (unsigned long u = at; u < at + nr; u++) {
		unsigned long pb = 1UL << (u % GP_WORD_BITS);

		if (gpi_umap_busy(m->um, u))
			m->map[u / GP_WORD_BITS] |= pb;
		else
			m->map[u / GP_WORD_BITS] &= ~pb;
	}
}

/*
 * Does the kept mask @kept of a block keep the promise (core/hints.h) for
 * its exact mask @exact: exact hints hold every exact bit, covering hints
 * a bit at or above each (so at or above the highest).
 */
static inline bool um_mask_sound(unsigned kept, unsigned exact, bool exact_hints)
{
	if (exact_hints)
		return (kept & exact) == exact;
	return !exact || kept >> (31 - __builtin_clz(exact));
}

#endif /* GENPOOL_TESTS_UNITMAP_H */
