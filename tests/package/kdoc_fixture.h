/* SPDX-License-Identifier: MIT */
/*
 * tests/package/kdoc_fixture.h - a public header as a new layer might
 * write one, for test_kdoc.py: every form scripts/kdoc.py must handle.
 */
#ifndef KDOC_FIXTURE_H
#define KDOC_FIXTURE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** FX_NONE - no cache (as NUMA_NO_NODE does it, under a guard). */
#ifndef FX_NONE
#define FX_NONE (-1)
#endif

struct fx_cache;

/**
 * struct fx_stats - what a cache counts.
 * @hits:   allocations served from the cache
 * @misses: allocations that went to the pool
 */
struct fx_stats {
	size_t hits;
	size_t misses;
};

/** enum fx_mode - how a cache refills. */
enum fx_mode {
	FX_LAZY,	/* on a miss */
	FX_EAGER,	/* ahead of time */
};

/**
 * fx_cache_create - create a cache.
 * @size:  bytes per object
 * @flush: called with @arg for each object on destroy (may be NULL)
 * @arg:   passed to @flush
 *
 * Objects come from the pool in batches.  Returns the cache, or NULL
 * with errno set.  Context: thread-safe.
 */
struct fx_cache *fx_cache_create(size_t size,
				 void (*flush)(void *obj, void *arg),
				 void *arg);

/**
 * fx_cache_get - take an object, or put one back.
 * @cache: the cache
 * @obj:   the object (fx_cache_put() only)
 *
 * fx_cache_get() and fx_cache_put() are documented together.
 *
 * Return: the object, or NULL when the pool is empty (fx_cache_get());
 * fx_cache_put() returns nothing.
 *
 * Context: lock-free.
 */
void *fx_cache_get(struct fx_cache *cache);
void fx_cache_put(struct fx_cache *cache, void *obj);

/* Not a kernel-doc comment: an internal helper, not an export. */
static inline size_t fx_round(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

#ifdef __cplusplus
}
#endif

#endif /* KDOC_FIXTURE_H */
