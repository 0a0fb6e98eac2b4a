// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_engine.c - a libFuzzer target that drives the search
 * engine directly: the input is a bitmap and a list of operations; every
 * search is answered by the engine (on the pool's unit map) on each path
 * the CPU runs and by the reference (on a plain bitmap of the same units),
 * and the two must agree; claims and releases keep the hints
 * the way the pool does, and the hints must stay sound.
 *
 * Input: 2 bytes of size (1..8192 bits; the top bit of the second asks for
 * exact hints instead of covering ones), then the bitmap's bytes (as many
 * as the size needs; missing bytes read as 0), then 4-byte operations:
 *   kind, nr, align shift, start.
 * nr is 1..256 (x16 when kind bit 7), or with kind bit 6 a length next to
 * a size-class or block boundary; start is a fraction of the bitmap, or
 * with kind bit 5 a unit next to a block edge.  abort() on any
 * disagreement.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bitmap.h"
#include "bounds.h"
#include "genpool/genalloc.h"
#include "search.h"
#include "unitmap.h"

#define MAX_BITS 8192UL

/* Lengths on either side of class and block boundaries. */
static const unsigned long edge_lengths[] = {
	1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 15, 16, 23, 24, 31, 32, 47, 48, 63,
	64, 65, 127, 128, 255, 256, 511, 512, 513, 1023, 1024, 1025, 2047,
	2048, 4095,
};

static const enum gp_search_path engine_paths[] = {
	GP_SEARCH_WORD, GP_SEARCH_AVX2, GP_SEARCH_AVX512,
};

struct subject {
	unsigned long map[MAX_BITS / GP_WORD_BITS + 1];	/* plain */
	unsigned long um[2 * (MAX_BITS / GP_WORD_BITS + 1)]	/* unit map */
		__attribute__((aligned(16)));
	uint16_t cls[MAX_BITS / GP_BLOCK_BITS + GP_CLASS_PAD];
	struct gp_hints hints;
	unsigned long nbits;
};

/* Copy the unit map's busy bits over [@at, @at + @nr) to the plain map. */
static void mirror(struct subject *s, unsigned long at, unsigned long nr)
{
	struct unit_maps m = { .map = s->map, .um = s->um, .nbits = s->nbits };

	um_mirror(&m, at, nr);
}

/* Release [@at, @at + @nr), all busy, whatever allocations it covers. */
static void release_run(struct subject *s, unsigned long at, unsigned long nr)
{
	for (unsigned long u = at; u < at + nr; u++) {
		s->um[2 * (u / GP_GROUP_UNITS)] &= ~(1UL << (u % GP_GROUP_UNITS));
		s->um[2 * (u / GP_GROUP_UNITS) + 1] &=
			~(1UL << (u % GP_GROUP_UNITS));
	}
	mirror(s, at, nr);
}

/* Every engine path must give the reference's first fit. */
static void check_first_fit(struct subject *s, unsigned long start,
			    unsigned long nr, unsigned long mask,
			    unsigned long off)
{
	unsigned long want = gpi_find_zero_area(s->map, s->nbits, start,
						s->nbits, nr, mask, off);

	for (size_t p = 0; p < sizeof(engine_paths) / sizeof(engine_paths[0]); p++) {
		unsigned long got;

		if (gp_search_set_path(engine_paths[p]) != 0)
			continue;
		got = gpi_engine_find(&s->hints, s->um, s->nbits, start, nr,
				      mask, off);
		if ((want < s->nbits) != (got < s->nbits) ||
		    (want < s->nbits && got != want))
			abort();
	}
}

/* Every engine path must give the kernel's best-fit hole. */
static void check_best_fit(struct subject *s, unsigned long nr)
{
	unsigned long want = gen_pool_best_fit(s->map, s->nbits, 0, nr, NULL,
					       NULL, 0);

	for (size_t p = 0; p < sizeof(engine_paths) / sizeof(engine_paths[0]); p++) {
		unsigned long got;

		if (gp_search_set_path(engine_paths[p]) != 0)
			continue;
		got = gpi_engine_best_fit(&s->hints, s->um, s->nbits, nr);
		if ((want < s->nbits) != (got < s->nbits) ||
		    (want < s->nbits && got != want))
			abort();
	}
}

/* Kept masks must cover the exact ones; counters must match the masks. */
static void check_sound(struct subject *s)
{
	static struct subject fresh;
	unsigned long counts[GP_CLASSES] = { 0 };

	memcpy(fresh.um, s->um, sizeof(fresh.um));
	fresh.nbits = s->nbits;
	memset(fresh.cls, 0, sizeof(fresh.cls));
	gpi_hints_init(&fresh.hints, fresh.cls, s->nbits);
	gpi_hints_rebuild(&fresh.hints, fresh.um, s->nbits);
	for (unsigned long b = 0; b < s->hints.nblocks; b++) {
		if (!um_mask_sound(s->cls[b], fresh.cls[b], s->hints.exact))
			abort();
		for (unsigned c = 0; c < GP_CLASSES; c++)
			counts[c] += s->cls[b] >> c & 1;
	}
	if (memcmp(counts, s->hints.class_blocks, sizeof(counts)) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct subject s;
	bool contended = false;
	size_t bytes, at;

	if (size < 2)
		return 0;
	memset(&s, 0, sizeof(s));
	s.nbits = 1 + ((unsigned long)data[0] | (unsigned long)data[1] << 8) %
		  MAX_BITS;
	bytes = (s.nbits + 7) / 8;
	for (at = 0; at < bytes && 2 + at < size; at++)
		s.map[at / sizeof(unsigned long)] |=
			(unsigned long)data[2 + at] << (8 * (at % sizeof(unsigned long)));
	/* Bits past the end stay clear, as in a pool's bitmap. */
	if (s.nbits % GP_WORD_BITS)
		s.map[s.nbits / GP_WORD_BITS] &= (1UL << (s.nbits % GP_WORD_BITS)) - 1;
	for (unsigned long u = 0; u < s.nbits; u++)
		if (gpi_bitmap_test(s.map, u))
			s.um[2 * (u / GP_GROUP_UNITS)] |= 1UL << (u % GP_GROUP_UNITS);
	gpi_hints_init(&s.hints, s.cls, s.nbits);
	gpi_hints_rebuild(&s.hints, s.um, s.nbits);
	/* The top bit of the size bytes picks the hints' promise. */
	s.hints.exact = data[1] & 0x80;

	for (at = 2 + bytes; at + 4 <= size; at += 4) {
		unsigned kind = data[at];
		unsigned long nr = 1 + data[at + 1];
		unsigned long mask = (1UL << (data[at + 2] % 12)) - 1;
		unsigned long start = (unsigned long)data[at + 3] * s.nbits / 256;

		if (kind & 0x80)
			nr *= 16;
		if (kind & 0x40)
			nr = edge_lengths[data[at + 1] % (sizeof(edge_lengths) /
							  sizeof(edge_lengths[0]))];
		if (kind & 0x20) {
			/* 16 block edges, from 3 units before to 4 after */
			start = (data[at + 3] >> 3) * GP_BLOCK_BITS +
				(data[at + 3] & 7);
			start = start >= 3 ? start - 3 : 0;
			if (start >= s.nbits)
				start = s.nbits - 1;
		}
		switch (kind % 5) {
		case 0:
			check_first_fit(&s, start, nr, 0, 0);
			break;
		case 1:
			check_first_fit(&s, start, nr, mask, data[at + 3] & mask);
			break;
		case 2:
			if (s.hints.exact)	/* best fit needs exact hints */
				check_best_fit(&s, nr);
			break;
		case 3:	/* claim at start, as an allocation would */
			if (nr <= s.nbits - start &&
			    gpi_umap_claim(s.um, start, nr, &contended)) {
				mirror(&s, start, nr);
				gpi_hints_claimed(&s.hints, s.um, s.nbits, start, nr);
			}
			break;
		case 4:	/* release a busy run, as a free would */
			if (nr <= s.nbits - start &&
			    gpi_find_next_zero_bit(s.map, start + nr, start) ==
			    start + nr) {
				release_run(&s, start, nr);
				gpi_hints_released(&s.hints, s.um, s.nbits,
						   start, nr);
			}
			break;
		}
		check_sound(&s);
	}
	return 0;
}
