// SPDX-License-Identifier: MIT
/*
 * core/search_scan.c - the class-mask scan kernels (word, AVX2, AVX-512)
 * and the run-time choice between them.
 *
 * Every kernel returns the first block at or after @from whose 16-bit
 * class mask shares a bit with the wanted classes: 4 blocks per step in a
 * 64-bit word, 16 with AVX2, 32 with AVX-512.  The mask array carries
 * GP_CLASS_PAD zero masks past the end, which never match.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitmap.h"
#include "export.h"
#include "search.h"

/*
 * Masks @p[0..3] as one word, mask i in bits 16i..16i+15.  Each is read
 * with a relaxed atomic load: announce() and repair_block() store masks
 * while searches read them, and a plain read racing with those stores is
 * a data race in C11 (undefined; the compiler may tear or repeat it).  A
 * relaxed load is all a search needs: every mask is a hint, read alone,
 * and the claim's CAS on the bitmap decides.
 *
 * The AVX2 and AVX-512 kernels below read the same masks with one vector
 * load (C has no atomic vector load).  What they need is the same: each
 * 16-bit lane a value some store wrote, lanes independent.  x86-64 gives
 * that: the intrinsic is one vmovdqu, and a 2-byte-aligned lane never
 * crosses a cache line, so the hardware never tears it.  (ThreadSanitizer
 * does not instrument loads wider than 16 bytes, so it cannot check those
 * kernels; the word kernel is the one it sees.)
 */
static inline unsigned long load_mask(const uint16_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static unsigned long load8(const uint16_t *p)
{
	/* Spelt out: a loop here is not unrolled and costs a variable
	 * shift per mask. */
	return load_mask(p) | load_mask(p + 1) << 16 | load_mask(p + 2) << 32 |
	       load_mask(p + 3) << 48;
}

unsigned long gpi_scan_word(const struct gp_hints *h, unsigned long from,
			    unsigned classes)
{
	/* Four masks per word: a lane shares a bit with @classes exactly
	 * when the word does at that lane. */
	const unsigned long want = (~0UL / 0xffff) * classes;
	unsigned long i, hit;

	for (i = from; i < h->nblocks; i += 4) {
		hit = load8(h->cls + i) & want;
		if (hit) {
			i += (unsigned long)__builtin_ctzl(hit) / 16;
			return i < h->nblocks ? i : h->nblocks;
		}
	}
	return h->nblocks;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

__attribute__((target("avx2")))
unsigned long gpi_scan_avx2(const struct gp_hints *h, unsigned long from,
			    unsigned classes)
{
	const __m256i want = _mm256_set1_epi16((short)classes);
	const __m256i zero = _mm256_setzero_si256();
	unsigned long i;

	for (i = from; i < h->nblocks; i += 16) {
		__m256i m = _mm256_loadu_si256((const __m256i *)(h->cls + i));
		__m256i none = _mm256_cmpeq_epi16(_mm256_and_si256(m, want), zero);
		unsigned hit = ~(unsigned)_mm256_movemask_epi8(none);

		if (hit) {
			i += (unsigned long)__builtin_ctz(hit) / 2;
			return i < h->nblocks ? i : h->nblocks;
		}
	}
	return h->nblocks;
}

__attribute__((target("avx512f,avx512bw")))
unsigned long gpi_scan_avx512(const struct gp_hints *h, unsigned long from,
			      unsigned classes)
{
	const __m512i want = _mm512_set1_epi16((short)classes);
	unsigned long i;

	for (i = from; i < h->nblocks; i += 32) {
		__m512i m = _mm512_loadu_si512(h->cls + i);
		__mmask32 hit = _mm512_test_epi16_mask(m, want);

		if (hit) {
			i += (unsigned long)__builtin_ctz(hit);
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
			    unsigned classes)
{
	return gpi_scan_word(h, from, classes);
}

unsigned long gpi_scan_avx512(const struct gp_hints *h, unsigned long from,
			      unsigned classes)
{
	return gpi_scan_word(h, from, classes);
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

int gpi_current_path;

enum gp_search_path gpi_search_path_init(void)
{
	enum gp_search_path path = path_from_env();

	__atomic_store_n(&gpi_current_path, (int)path, __ATOMIC_RELAXED);
	return path;
}

gpi_scan_fn gpi_scan_kernel(void)
{
	switch (gpi_search_path()) {
	case GP_SEARCH_AVX512:
		return gpi_scan_avx512;
	case GP_SEARCH_AVX2:
		return gpi_scan_avx2;
	default:
		return gpi_scan_word;
	}
}

GP_EXPORT int gp_search_set_path(enum gp_search_path path)
{
	if ((unsigned)path >= GP_NPATHS)
		return -EINVAL;
	if (!gp_search_path_supported(path))
		return -ENOTSUP;
	__atomic_store_n(&gpi_current_path,
			 (int)(path == GP_SEARCH_AUTO ? best_path() : path),
			 __ATOMIC_RELAXED);
	return 0;
}

GP_EXPORT enum gp_search_path gp_search_get_path(void)
{
	return gpi_search_path();
}
