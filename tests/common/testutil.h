/* SPDX-License-Identifier: MIT */
/*
 * tests/common/testutil.h - helpers shared by the test suites.
 */
#ifndef GENPOOL_TESTS_TESTUTIL_H
#define GENPOOL_TESTS_TESTUTIL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "genpool/genalloc.h"
#include "genpool/search.h"

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
/* Is the test running under valgrind (scale work down)? */
#define UNDER_VALGRIND() (RUNNING_ON_VALGRIND != 0)
#else
#define UNDER_VALGRIND() 0
#endif

/* Seconds on the monotonic clock. */
static inline double test_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The exit status meson reads as "skipped". */
#define TEST_SKIP 77

/* Misuse reports captured instead of printed. */
struct captured_misuse {
	int count;
	struct gp_misuse_report last;
	char last_what[256];
	char last_pool_name[64];
};

/* A gp_misuse_handler_t that records into a struct captured_misuse. */
static inline void capture_misuse(const struct gp_misuse_report *r, void *arg)
{
	struct captured_misuse *c = arg;

	c->count++;
	c->last = *r;
	strncpy(c->last_what, r->what, sizeof(c->last_what) - 1);
	c->last_what[sizeof(c->last_what) - 1] = '\0';
	strncpy(c->last_pool_name, r->pool_name, sizeof(c->last_pool_name) - 1);
	c->last_pool_name[sizeof(c->last_pool_name) - 1] = '\0';
	c->last.what = c->last_what;
	c->last.pool_name = c->last_pool_name;
}

/* Put @pool in report mode with @c capturing its reports. */
static inline void capture_pool_misuse(struct gen_pool *pool,
				       struct captured_misuse *c)
{
	memset(c, 0, sizeof(*c));
	gp_set_misuse_policy(pool, GP_MISUSE_REPORT);
	gp_set_misuse_handler(pool, capture_misuse, c);
}

/* Anonymous read-write memory of @size bytes, or NULL. */
static inline void *map_region(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* xorshift64*: a small, seeded, reproducible generator for tests. */
static inline uint64_t test_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Smallest power of two >= @n (n >= 1), the plain way: tests must not
 * share the library's arithmetic. */
static inline unsigned long test_roundup_pow2(unsigned long n)
{
	unsigned long p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

/*
 * The errno gp_free_checked() must return for units [@bit, @bit + @nr) of a
 * chunk of @nbits units whose shadow @owner holds an allocation id per unit
 * (0 = free): the part of the check that follows finding the chunk.
 */
static inline int shadow_free_errno(const uint32_t *owner, unsigned long nbits,
				    unsigned long bit, unsigned long nr)
{
	uint32_t id;

	if (nr > nbits - bit)
		return -ERANGE;
	for (unsigned long b = bit; b < bit + nr; b++)
		if (!owner[b])
			return -EALREADY;
	id = owner[bit];
	if (bit > 0 && owner[bit - 1] == id)
		return -EBADSLT;	/* interior address */
	for (unsigned long b = bit; b < bit + nr; b++)
		if (owner[b] != id)
			return -EBADSLT;	/* spans allocations */
	if (bit + nr < nbits && owner[bit + nr] == id)
		return -EBADSLT;	/* too short */
	return 0;
}

/*
 * 1 if GENPOOL_SEARCH names a search path this CPU cannot run (the test
 * should then exit TEST_SKIP rather than run on the fallback path).
 */
static inline int search_path_unavailable(void)
{
	const char *want = getenv("GENPOOL_SEARCH");

	for (int p = GP_SEARCH_REFERENCE; want && p <= GP_SEARCH_AVX512; p++)
		if (strcmp(want, gp_search_path_name((enum gp_search_path)p)) == 0)
			return !gp_search_path_supported((enum gp_search_path)p);
	return 0;
}

#endif /* GENPOOL_TESTS_TESTUTIL_H */
