// SPDX-License-Identifier: MIT
/*
 * core/search_scan.c - the hint scan kernels (word, AVX2, AVX-512) and the
 * run-time choice between them.
 *
 * Block i may start a run of length >= thr when
 *     lg[i] >= thr  or  sat_add(suf[i], pre[i + 1]) >= thr.
 * Every kernel returns the first such i at or after @from; the vector ones
 * test 32 or 64 blocks per step.  The hint arrays carry GP_HINT_PAD zero
 * bytes past the end, which never pass the test (thr >= 1).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitmap.h"
#include "pool_internal.h"
#include "search.h"

/* Does block @i pass the screen? */
static bool block_may_fit(const struct gp_hints *h, unsigned long i,
			  unsigned long thr)
{
	unsigned long edge = (unsigned long)h->suf[i] + h->pre[i + 1];

	return h->lg[i] >= thr ||
	       (edge < GP_HINT_SAT ? edge : GP_HINT_SAT) >= thr;
}

/* 8 bytes of @p as a word (unaligned). */
static unsigned long load8(const uint8_t *p)
{
	unsigned long w;

	memcpy(&w, p, sizeof(w));
	return w;
}

/* Bytes of @x that may be >= @t (1..255): the high bit of each flagged
 * byte is set.  Exact for bytes below 128; a carry can only add false
 * positives, which block_may_fit() then rejects. */
static unsigned long bytes_maybe_ge(unsigned long x, unsigned long t)
{
	const unsigned long ones = ~0UL / 0xff, high = ones * 0x80;

	if (t > 128)
		t = 128;
	return (x | (x + ones * (128 - t))) & high;
}

unsigned long gpi_scan_word(const struct gp_hints *h, unsigned long from,
			    unsigned long thr)
{
	/* suf + pre >= thr needs one of them >= ceil(thr / 2). */
	unsigned long half = (thr + 1) / 2, i, flags;

	for (i = from; i < h->nblocks; i += 8) {
		flags = bytes_maybe_ge(load8(h->lg + i), thr) |
			bytes_maybe_ge(load8(h->suf + i), half) |
			bytes_maybe_ge(load8(h->pre + i + 1), half);
		for (; flags; flags &= flags - 1) {
			unsigned long j = i + (unsigned long)__builtin_ctzl(flags) / 8;

			if (j < h->nblocks && block_may_fit(h, j, thr))
				return j;
		}
	}
	return h->nblocks;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

__attribute__((target("avx2")))
unsigned long gpi_scan_avx2(const struct gp_hints *h, unsigned long from,
			    unsigned long thr)
{
	const __m256i t = _mm256_set1_epi8((char)thr);
	unsigned long i;

	for (i = from; i < h->nblocks; i += 32) {
		__m256i lg = _mm256_loadu_si256((const __m256i *)(h->lg + i));
		__m256i suf = _mm256_loadu_si256((const __m256i *)(h->suf + i));
		__m256i pre = _mm256_loadu_si256((const __m256i *)(h->pre + i + 1));
		__m256i edge = _mm256_adds_epu8(suf, pre);
		/* x >= t  <=>  max(x, t) == x, for unsigned bytes */
		__m256i ok = _mm256_or_si256(
			_mm256_cmpeq_epi8(_mm256_max_epu8(lg, t), lg),
			_mm256_cmpeq_epi8(_mm256_max_epu8(edge, t), edge));
		unsigned mask = (unsigned)_mm256_movemask_epi8(ok);

		if (mask) {
			i += (unsigned long)__builtin_ctz(mask);
			return i < h->nblocks ? i : h->nblocks;
		}
	}
	return h->nblocks;
}

__attribute__((target("avx512f,avx512bw")))
unsigned long gpi_scan_avx512(const struct gp_hints *h, unsigned long from,
			      unsigned long thr)
{
	const __m512i t = _mm512_set1_epi8((char)thr);
	unsigned long i;

	for (i = from; i < h->nblocks; i += 64) {
		__m512i lg = _mm512_loadu_si512(h->lg + i);
		__m512i suf = _mm512_loadu_si512(h->suf + i);
		__m512i pre = _mm512_loadu_si512(h->pre + i + 1);
		__mmask64 ok = _mm512_cmpge_epu8_mask(lg, t) |
			       _mm512_cmpge_epu8_mask(_mm512_adds_epu8(suf, pre), t);

		if (ok) {
			i += (unsigned long)__builtin_ctzll(ok);
			return i < h->nblocks ? i : h->nblocks;
		}
	}
	return h->nblocks;
}

static bool cpu_has(enum gp_search_path path)
{
	__builtin_cpu_init();
	if (path == GP_SEARCH_AVX2)
		return __builtin_cpu_supports("avx2");
	return __builtin_cpu_supports("avx512f") &&
	       __builtin_cpu_supports("avx512bw");
}
#else
unsigned long gpi_scan_avx2(const struct gp_hints *h, unsigned long from,
			    unsigned long thr)
{
	return gpi_scan_word(h, from, thr);
}

unsigned long gpi_scan_avx512(const struct gp_hints *h, unsigned long from,
			      unsigned long thr)
{
	return gpi_scan_word(h, from, thr);
}

static bool cpu_has(enum gp_search_path path)
{
	return false;
}
#endif

static const char *const path_names[] = {
	[GP_SEARCH_AUTO] = "auto",
	[GP_SEARCH_REFERENCE] = "reference",
	[GP_SEARCH_WORD] = "word",
	[GP_SEARCH_AVX2] = "avx2",
	[GP_SEARCH_AVX512] = "avx512",
};

#define GP_NPATHS (sizeof(path_names) / sizeof(path_names[0]))

GP_EXPORT const char *gp_search_path_name(enum gp_search_path path)
{
	return (unsigned)path < GP_NPATHS ? path_names[path] : "unknown";
}

GP_EXPORT int gp_search_path_supported(enum gp_search_path path)
{
	switch (path) {
	case GP_SEARCH_AUTO:
	case GP_SEARCH_REFERENCE:
	case GP_SEARCH_WORD:
		return 1;
	case GP_SEARCH_AVX2:
	case GP_SEARCH_AVX512:
		return cpu_has(path);
	}
	return 0;
}

/* The fastest path this CPU runs. */
static enum gp_search_path best_path(void)
{
	if (gp_search_path_supported(GP_SEARCH_AVX512))
		return GP_SEARCH_AVX512;
	if (gp_search_path_supported(GP_SEARCH_AVX2))
		return GP_SEARCH_AVX2;
	return GP_SEARCH_WORD;
}

/* GENPOOL_SEARCH, if set to a path this CPU runs; else the best path. */
static enum gp_search_path path_from_env(void)
{
	const char *want = getenv("GENPOOL_SEARCH");

	if (!want || !*want)
		return best_path();
	for (unsigned i = 0; i < GP_NPATHS; i++) {
		if (strcmp(want, path_names[i]) != 0)
			continue;
		if (i != GP_SEARCH_AUTO && gp_search_path_supported(i))
			return (enum gp_search_path)i;
		if (i == GP_SEARCH_AUTO)
			return best_path();
		break;
	}
	fprintf(stderr, "genpool: GENPOOL_SEARCH=%s is not a path this CPU "
		"runs (reference, word, avx2, avx512); using %s\n", want,
		gp_search_path_name(best_path()));
	return best_path();
}

static int current_path;	/* enum gp_search_path; 0 = not chosen yet */

enum gp_search_path gpi_search_path(void)
{
	int path = __atomic_load_n(&current_path, __ATOMIC_RELAXED);

	if (path == GP_SEARCH_AUTO) {
		path = (int)path_from_env();
		__atomic_store_n(&current_path, path, __ATOMIC_RELAXED);
	}
	return (enum gp_search_path)path;
}

GP_EXPORT int gp_search_set_path(enum gp_search_path path)
{
	if ((unsigned)path >= GP_NPATHS)
		return -EINVAL;
	if (!gp_search_path_supported(path))
		return -ENOTSUP;
	__atomic_store_n(&current_path,
			 (int)(path == GP_SEARCH_AUTO ? best_path() : path),
			 __ATOMIC_RELAXED);
	return 0;
}

GP_EXPORT enum gp_search_path gp_search_get_path(void)
{
	return gpi_search_path();
}
