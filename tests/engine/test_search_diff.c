// SPDX-License-Identifier: MIT
/*
 * tests/engine/test_search_diff.c - every engine path against the scalar
 * reference search, on the same bitmaps.
 *
 * Small bitmaps (1..1100 bits, every word and block boundary) are checked
 * for every start and many run lengths and alignments; large bitmaps
 * (random, sparse, dense, phased, adversarial) for random queries.  The
 * engine (on the pool's unit map) must return exactly the reference's bit
 * (on a plain bitmap of the same units), or "no fit" when the reference
 * finds none; its best fit exactly the kernel's best-fit hole.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitmap.h"
#include "bounds.h"
#include "search.h"
#include "testutil.h"
#include "unitmap.h"

static unsigned long mismatches, queries;

struct bitmap_under_test {
	struct unit_maps m;
	struct gp_hints hints;
	uint16_t *hint_mem;
};

static void but_init(struct bitmap_under_test *b, unsigned long nbits)
{
	um_init(&b->m, nbits);
	b->hint_mem = calloc(1, gpi_hint_bytes(nbits));
	if (!b->hint_mem)
		abort();
	gpi_hints_init(&b->hints, b->hint_mem, nbits);
}

static void but_free(struct bitmap_under_test *b)
{
	um_free(&b->m);
	free(b->hint_mem);
}

/* Hints for the whole bitmap after it was filled directly. */
static void but_sync(struct bitmap_under_test *b)
{
	gpi_hints_rebuild(&b->hints, b->m.um, b->m.nbits);
}

static void set_bit_to(struct bitmap_under_test *b, unsigned long i, int busy)
{
	um_set(&b->m, i, busy);
}

static const enum gp_search_path engine_paths[] = {
	GP_SEARCH_WORD, GP_SEARCH_AVX2, GP_SEARCH_AVX512,
};
#define NPATHS (sizeof(engine_paths) / sizeof(engine_paths[0]))

/* Switch to engine path @p; false if this CPU cannot run it. */
static bool use_path(size_t p)
{
	return gp_search_set_path(engine_paths[p]) == 0;
}

/* Do two searches agree: both "no fit" (>= nbits), or the same bit? */
static bool same_answer(unsigned long want, unsigned long got,
			unsigned long nbits)
{
	queries++;
	return want >= nbits ? got >= nbits : got == want;
}

/* Compare one query on every supported engine path. */
static void check_query(struct bitmap_under_test *b, unsigned long start,
			unsigned long nr, unsigned long mask,
			unsigned long off, const char *what)
{
	unsigned long want, got;

	want = gpi_find_zero_area(b->m.map, b->m.nbits, start, b->m.nbits, nr,
				  mask, off);
	for (size_t p = 0; p < NPATHS; p++) {
		if (!use_path(p))
			continue;
		got = gpi_engine_find(&b->hints, b->m.um, b->m.nbits, start, nr,
				      mask, off);
		if (!same_answer(want, got, b->m.nbits) && mismatches++ < 10)
			fprintf(stderr, "MISMATCH %s path=%s nbits=%lu "
				"start=%lu nr=%lu mask=%lu off=%lu: "
				"reference %lu engine %lu\n", what,
				gp_search_path_name(engine_paths[p]), b->m.nbits,
				start, nr, mask, off, want, got);
	}
}

/* The engine's best fit against the kernel's walk (the public function on
 * the bare bitmap), on every engine path. */
static void check_best(struct bitmap_under_test *b, unsigned long nr,
		       const char *what)
{
	unsigned long want, got;

	want = gen_pool_best_fit(b->m.map, b->m.nbits, 0, nr, NULL, NULL, 0);
	for (size_t p = 0; p < NPATHS; p++) {
		if (!use_path(p))
			continue;
		got = gpi_engine_best_fit(&b->hints, b->m.um, b->m.nbits, nr);
		if (!same_answer(want, got, b->m.nbits) && mismatches++ < 10)
			fprintf(stderr, "MISMATCH best-fit %s path=%s "
				"nbits=%lu nr=%lu: kernel %lu engine %lu\n",
				what, gp_search_path_name(engine_paths[p]),
				b->m.nbits, nr, want, got);
	}
}

/*
 * Incrementally kept masks are sound: they keep their promise (exact: a
 * superset of the exact masks; covering: a bit at or above every hole's
 * class; core/hints.h), and each class counter equals the number of
 * blocks whose kept mask has that class.
 */
static void check_hints_sound(struct bitmap_under_test *b, const char *what)
{
	struct bitmap_under_test fresh = { .m = b->m };
	unsigned long counts[GP_CLASSES] = { 0 };
	bool sound = true;

	fresh.hint_mem = calloc(1, gpi_hint_bytes(b->m.nbits));
	if (!fresh.hint_mem)
		abort();
	gpi_hints_init(&fresh.hints, fresh.hint_mem, b->m.nbits);
	but_sync(&fresh);
	for (unsigned long i = 0; i < b->hints.nblocks; i++) {
		sound &= um_mask_sound(b->hints.cls[i], fresh.hints.cls[i],
				       b->hints.exact);
		for (unsigned c = 0; c < GP_CLASSES; c++)
			counts[c] += b->hints.cls[i] >> c & 1;
	}
	sound &= memcmp(counts, b->hints.class_blocks, sizeof(counts)) == 0;
	queries++;
	if (!sound && mismatches++ < 10)
		fprintf(stderr, "MISMATCH hints %s nbits=%lu: kept masks miss "
			"a hole or counters are off\n", what, b->m.nbits);
	free(fresh.hint_mem);
}

/* Every start, run lengths 1..70 and some long ones, three alignments. */
static void small_bitmaps(void)
{
	static const unsigned long sizes[] = {
		1, 2, 63, 64, 65, 127, 128, 129, 511, 512, 513, 600, 1023,
		1024, 1025, 1100,
	};
	static const unsigned long masks[] = { 0, 3, 63 };
	uint64_t seed = 42;

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		for (int pattern = 0; pattern < 4; pattern++) {
			struct bitmap_under_test b;

			but_init(&b, sizes[s]);
			for (unsigned long i = 0; i < b.m.nbits; i++) {
				uint64_t r = test_rand(&seed);
				int busy = pattern == 0 ? 0 :
					   pattern == 1 ? (r % 2) :
					   pattern == 2 ? (r % 10 != 0) :
					   /* long runs around boundaries */
					   ((i / 61) % 3 == 0);
				set_bit_to(&b, i, busy);
			}
			but_sync(&b);
			for (unsigned long start = 0; start < b.m.nbits; start++)
				for (unsigned long nr = 1; nr <= 70 && nr <= b.m.nbits; nr++)
					for (size_t m = 0; m < 3; m++)
						check_query(&b, start, nr, masks[m],
							    nr % 3, "small");
			for (unsigned long nr = 250; nr <= b.m.nbits; nr += 131)
				check_query(&b, 0, nr, 0, 0, "small-long");
			for (unsigned long nr = 1; nr <= b.m.nbits; nr += 1 + nr / 8)
				check_best(&b, nr, "small");
			but_free(&b);
		}
	}
}

/* Fill [lo, hi) of @b with density @busy_pct percent. */
static void fill_random(struct bitmap_under_test *b, unsigned long lo,
			unsigned long hi, unsigned busy_pct, uint64_t *seed)
{
	for (unsigned long i = lo; i < hi; i++)
		set_bit_to(b, i, test_rand(seed) % 100 < busy_pct);
}

static void large_bitmaps(void)
{
	const unsigned long nbits = 1UL << 20;
	static const unsigned pcts[] = { 0, 50, 90, 99, 100 };
	uint64_t seed = 7;

	for (size_t p = 0; p < sizeof(pcts) / sizeof(pcts[0]) + 2; p++) {
		struct bitmap_under_test b;

		but_init(&b, nbits);
		if (p < sizeof(pcts) / sizeof(pcts[0])) {
			fill_random(&b, 0, nbits, pcts[p], &seed);
		} else if (p == sizeof(pcts) / sizeof(pcts[0])) {
			/* phased: dense, sparse and full stretches */
			for (unsigned long lo = 0; lo < nbits; lo += 65536)
				fill_random(&b, lo, lo + 65536,
					    (unsigned)((lo / 65536) % 4) * 33,
					    &seed);
		} else {
			/* adversary: holes of 255..257 and 511..513 units that
			 * straddle block edges, separated by one busy unit */
			um_fill(&b.m, 1);
			for (unsigned long at = 300; at + 600 < nbits; at += 1400) {
				unsigned long len = 255 + (at / 1400) % 3 +
						    ((at / 1400) % 2) * 256;
				for (unsigned long i = at; i < at + len; i++)
					set_bit_to(&b, i, 0);
			}
		}
		but_sync(&b);
		for (int q = 0; q < 3000; q++) {
			unsigned long start = test_rand(&seed) % nbits;
			unsigned long nr = 1 + test_rand(&seed) % (q % 3 ? 64 : 4096);
			unsigned long mask = (1UL << (test_rand(&seed) % 8)) - 1;

			check_query(&b, q % 2 ? 0 : start, nr, mask,
				    test_rand(&seed) % 8, "large");
			if (q % 10 == 0)
				check_best(&b, nr, "large");
		}
		but_free(&b);
	}
}

/*
 * Runs that exist only across a block edge: everything busy except the
 * last @s units of block 1 and the first @p units of block 2 (and, with
 * p == 512, all of block 2 and a prefix of block 3), for many (s, p).
 */
static void edge_runs(void)
{
	static const unsigned long lens[] = {
		0, 1, 2, 3, 31, 32, 63, 64, 65, 127, 128, 200, 254, 255, 256,
		300, 511, 512,
	};
	const size_t n = sizeof(lens) / sizeof(lens[0]);

	for (size_t a = 0; a < n; a++) {
		for (size_t c = 0; c < n; c++) {
			unsigned long s = lens[a], p = lens[c];
			struct bitmap_under_test b;

			but_init(&b, 4 * GP_BLOCK_BITS);
			um_fill(&b.m, 1);
			for (unsigned long i = 2 * GP_BLOCK_BITS - s;
			     i < 2 * GP_BLOCK_BITS + p; i++)
				set_bit_to(&b, i, 0);
			if (p == GP_BLOCK_BITS)
				for (unsigned long i = 3 * GP_BLOCK_BITS;
				     i < 3 * GP_BLOCK_BITS + 100; i++)
					set_bit_to(&b, i, 0);
			but_sync(&b);
			for (unsigned long nr = 1; nr <= s + p + 101; nr++) {
				check_query(&b, nr % 2 ? 0 : GP_BLOCK_BITS, nr,
					    0, 0, "edge");
				/* aligned starts that round past a block end */
				check_query(&b, 0, nr, 63, nr % 7, "edge-align");
				check_query(&b, 0, nr, 511, nr % 5, "edge-align");
				check_best(&b, nr, "edge");
			}
			but_free(&b);
		}
	}
}

/* Best fit among long (top-class) holes, which the engine measures only as
 * far as it must: the shortest one that fits, the lowest among equals. */
static void long_holes(void)
{
	static const unsigned long lens[][5] = {
		{ 3000, 1100, 1024, 1500, 1024 },
		{ 5000, 0, 0, 0, 0 },
		{ 1023, 2048, 1025, 0, 0 },
		{ 4096, 4095, 4097, 70000, 0 },
	};

	for (size_t t = 0; t < sizeof(lens) / sizeof(lens[0]); t++) {
		struct bitmap_under_test b;
		unsigned long at = 700;

		but_init(&b, 1UL << 18);
		um_fill(&b.m, 1);
		for (size_t i = 0; i < 5 && lens[t][i]; i++) {
			for (unsigned long u = at; u < at + lens[t][i]; u++)
				set_bit_to(&b, u, 0);
			at += lens[t][i] + 333;
		}
		but_sync(&b);
		for (unsigned long nr = 1; nr < 6000; nr += 97)
			check_best(&b, nr, "long-holes");
		check_best(&b, 1024, "long-holes");
		check_best(&b, 4096, "long-holes");
		but_free(&b);
	}
	/* More top-class holes than the engine measures in one batch, the
	 * shortest ones late, some of equal length. */
	struct bitmap_under_test b;
	unsigned long at = 100;

	but_init(&b, 1UL << 20);
	um_fill(&b.m, 1);
	for (unsigned long i = 0; i < 150 && at + 3000 < b.m.nbits; i++) {
		unsigned long len = 1024 + (150 - i) * 13 % 700;

		for (unsigned long u = at; u < at + len; u++)
			set_bit_to(&b, u, 0);
		at += len + 1 + i % 3;
	}
	but_sync(&b);
	for (unsigned long nr = 1; nr < 2000; nr += 61)
		check_best(&b, nr, "many-long-holes");
	but_free(&b);
}

/* Hints maintained incrementally (claims and releases of live runs, as
 * a pool makes them) stay sound, and searches on them stay exact; best
 * fit needs (and gets) the exact promise. */
static void incremental_hints(bool exact)
{
	enum { MAX_LIVE = 400 };
	unsigned long live_at[MAX_LIVE], live_nr[MAX_LIVE];
	struct bitmap_under_test b;
	uint64_t seed = exact ? 99 : 98;
	int live = 0;

	but_init(&b, 70000);
	b.hints.exact = exact;
	for (int op = 0; op < 30000; op++) {
		if (live < MAX_LIVE && (live == 0 || test_rand(&seed) % 100 < 55)) {
			unsigned long at = test_rand(&seed) % b.m.nbits;
			unsigned long nr = 1 + test_rand(&seed) %
				(op % 7 ? 40 : 1500);

			if (nr > b.m.nbits - at)
				nr = b.m.nbits - at;
			bool contended = false;

			if (gpi_umap_claim(b.m.um, at, nr, &contended)) {
				um_mirror(&b.m, at, nr);
				gpi_hints_claimed(&b.hints, b.m.um, b.m.nbits, at, nr);
				live_at[live] = at;
				live_nr[live++] = nr;
			}
		} else {
			int k = (int)(test_rand(&seed) % (uint64_t)live);

			if (gpi_umap_free(b.m.um, b.m.nbits, live_at[k], live_nr[k]) &&
			    mismatches++ < 10)
				fprintf(stderr, "MISMATCH free of a live run\n");
			um_mirror(&b.m, live_at[k], live_nr[k]);
			gpi_hints_released(&b.hints, b.m.um, b.m.nbits, live_at[k],
					   live_nr[k]);
			live_at[k] = live_at[--live];
			live_nr[k] = live_nr[live];
		}
		if (op % 50 == 0) {
			check_hints_sound(&b, "incremental");
			check_query(&b, test_rand(&seed) % b.m.nbits,
				    1 + test_rand(&seed) % 600, 0, 0,
				    "incremental");
			check_query(&b, 0, 1 + test_rand(&seed) % 1200,
				    (1UL << (test_rand(&seed) % 10)) - 1, 0,
				    "incremental-align");
			if (exact)
				check_best(&b, 1 + test_rand(&seed) % 600,
					   "incremental");
		}
	}
	but_free(&b);
}

/* The class tables against the classes' definition: 1, 2, 3, then two
 * classes per power of two up to 63, one per power of two up to 1023, and
 * one for everything longer. */
static void size_classes(void)
{
	for (unsigned long n = 1; n <= 5000; n++) {
		unsigned k = 0, want;

		while ((2UL << k) <= n)
			k++;			/* k = floor(log2 n) */
		if (n < 4)
			want = (unsigned)n - 1;
		else if (k < 6)
			want = 3 + 2 * (k - 2) + (unsigned)((n >> (k - 1)) & 1);
		else if (k < 10)
			want = 11 + (k - 6);
		else
			want = GP_CLASSES - 1;
		queries++;
		if (gpi_size_class(n) != want && mismatches++ < 10)
			fprintf(stderr, "MISMATCH class of %lu: %u, want %u\n",
				n, gpi_size_class(n), want);
	}
}

int main(void)
{
	printf("paths: word%s%s\n",
	       gp_search_path_supported(GP_SEARCH_AVX2) ? " avx2" : "",
	       gp_search_path_supported(GP_SEARCH_AVX512) ? " avx512" :
	       " (avx512: not on this CPU, not checked)");
	size_classes();
	small_bitmaps();
	large_bitmaps();
	edge_runs();
	long_holes();
	incremental_hints(false);
	incremental_hints(true);
	printf("engine-diff: %lu queries, %lu mismatches\n", queries, mismatches);
	return mismatches ? 1 : 0;
}
