/* SPDX-License-Identifier: MIT */
/*
 * tests/percpu/percpu_test.h - helpers shared by the per-CPU cache tests.
 *
 * Every program takes the mode to test from GP_TEST_MODE: "auto" (what
 * gp_cache_create() picks; the default), "locked" (GP_CACHE_LOCKED) or
 * "checked" / "locked,checked".  GP_TEST_EXPECT=rseq|locked makes a
 * program fail unless that mode is the one that runs, so that a test
 * meant for one mode cannot quietly run in the other.
 */
#ifndef GENPOOL_TESTS_PERCPU_TEST_H
#define GENPOOL_TESTS_PERCPU_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "genpool/percpu.h"
#include "testutil.h"

/* GP_CACHE_* flags GP_TEST_MODE asks for. */
static inline unsigned int pt_mode_flags(void)
{
	const char *m = getenv("GP_TEST_MODE");
	unsigned int flags = 0;

	if (m && strstr(m, "locked"))
		flags |= GP_CACHE_LOCKED;
	if (m && strstr(m, "checked"))
		flags |= GP_CACHE_CHECKED;
	return flags;
}

/* Does @cache run in the mode GP_TEST_EXPECT names (if any)?  Prints the
 * mode either way, so a log says which one was tested. */
static inline int pt_mode_ok(struct gp_cache *cache, const char *who)
{
	const char *want = getenv("GP_TEST_EXPECT");
	struct gp_cache_stats st;

	if (gp_cache_get_stats(cache, &st))
		return 0;
	fprintf(stderr, "%s: cache mode %s (%s)%s\n", who, st.mode_name,
		st.mode_reason, st.checked ? ", checked" : "");
	return !want || !strcmp(want, st.mode_name);
}

/* Cached + live + free in the pool must be the pool's size. */
static inline int pt_accounted(struct gp_cache *cache, size_t live_bytes)
{
	struct gen_pool *pool = gp_cache_pool(cache);
	struct gp_cache_stats st;

	if (gp_cache_get_stats(cache, &st))
		return 0;
	return st.total.bytes + live_bytes + gen_pool_avail(pool) ==
	       gen_pool_size(pool);
}

#endif /* GENPOOL_TESTS_PERCPU_TEST_H */
