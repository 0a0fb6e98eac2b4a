// SPDX-License-Identifier: MIT
/*
 * tests/percpu/test_cache_misuse.c - bad frees into the cache, in the mode
 * GP_TEST_MODE asks for.  What each mode promises (percpu.h):
 *   checked - a foreign address, a wrong class or a double free is
 *             reported when it is freed, and the object is not taken;
 *   default - what the O(1) check sees (outside the chunks' span, off a
 *             unit boundary) is reported at once; the rest when the object
 *             reaches the pool, at the next flush (here: the drain).
 * Either way, nothing is handed out twice after a report, and the pool's
 * accounting is exact after the drain.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "percpu_test.h"

#define ORDER 6
#define UNIT (1UL << ORDER)
#define BASE 0x100000UL
#define CHUNK (64 * 1024UL)
#define GAP (BASE + CHUNK + 4096)	/* between the two chunks */
#define SECOND (BASE + 2 * CHUNK)

static struct captured_misuse cap;

/* Two chunks with a hole between them, reports captured. */
static struct gp_cache *new_cache(struct gen_pool **poolp)
{
	struct gp_cache_config cfg = { .flags = pt_mode_flags() };
	struct gen_pool *pool = gen_pool_create(ORDER, NUMA_NO_NODE);
	struct gp_cache *cache;

	assert_non_null(pool);
	capture_pool_misuse(pool, &cap);
	assert_int_equal(gen_pool_add(pool, BASE, CHUNK, NUMA_NO_NODE), 0);
	assert_int_equal(gen_pool_add(pool, SECOND, CHUNK, NUMA_NO_NODE), 0);
	cache = gp_cache_create(pool, &cfg);
	assert_non_null(cache);
	*poolp = pool;
	return cache;
}

static bool checked(struct gp_cache *cache)
{
	struct gp_cache_stats st;

	assert_int_equal(gp_cache_get_stats(cache, &st), 0);
	return st.checked;
}

/* Exactly @n reports so far, the last of @kind about @addr and @size. */
static void reported(int n, enum gp_misuse_kind kind, unsigned long addr,
		     size_t size)
{
	assert_int_equal(cap.count, n);
	assert_int_equal(cap.last.kind, kind);
	assert_int_equal(cap.last.addr, addr);
	assert_int_equal(cap.last.size, size);
}

/* Drain, check the accounting, destroy. */
static void finish(struct gp_cache *cache, struct gen_pool *pool,
		   size_t live_bytes)
{
	gp_cache_drain(cache);
	assert_int_equal(gen_pool_avail(pool) + live_bytes, 2 * CHUNK);
	assert_int_equal(gp_cache_destroy(cache), 0);
	gen_pool_destroy(pool);
}

/* Outside the span or off a unit boundary: reported at once, both modes. */
static void test_foreign_outside_and_unaligned(void **state)
{
	struct gen_pool *pool;
	struct gp_cache *cache = new_cache(&pool);
	struct gp_cache_stats st;
	unsigned long a;

	gp_cache_free(cache, 0x1000, UNIT);
	reported(1, GP_MISUSE_FOREIGN_ADDR, 0x1000, UNIT);
	gp_cache_free(cache, SECOND + 3 * CHUNK, UNIT);
	reported(2, GP_MISUSE_FOREIGN_ADDR, SECOND + 3 * CHUNK, UNIT);
	a = gp_cache_alloc(cache, UNIT);
	gp_cache_free(cache, a + 8, UNIT);
	reported(3, GP_MISUSE_BAD_ARGUMENT, a + 8, UNIT);
	assert_int_equal(gp_cache_get_stats(cache, &st), 0);
	assert_int_equal(st.misuse, 3);
	assert_true(pt_accounted(cache, UNIT));
	gp_cache_free(cache, a, UNIT);
	finish(cache, pool, 0);
	assert_int_equal(cap.count, 3);
}

/* A chunk added after the cache was created is not foreign. */
static void test_new_chunk(void **state)
{
	struct gen_pool *pool;
	struct gp_cache *cache = new_cache(&pool);
	unsigned long third = SECOND + 4 * CHUNK, a;

	assert_int_equal(gen_pool_add(pool, third, CHUNK, NUMA_NO_NODE), 0);
	a = gen_pool_alloc(pool, UNIT);		/* the newest chunk first */
	assert_int_equal(a, third);
	gp_cache_free(cache, a, UNIT);
	assert_int_equal(cap.count, 0);
	gp_cache_drain(cache);
	assert_int_equal(gen_pool_avail(pool), 3 * CHUNK);
	assert_int_equal(gp_cache_destroy(cache), 0);
	gen_pool_destroy(pool);
}

/* Inside the span, in no chunk. */
static void test_foreign_in_gap(void **state)
{
	struct gen_pool *pool;
	struct gp_cache *cache = new_cache(&pool);

	gp_cache_free(cache, GAP, UNIT);
	if (checked(cache)) {
		reported(1, GP_MISUSE_FOREIGN_ADDR, GAP, UNIT);
		finish(cache, pool, 0);
		return;
	}
	assert_int_equal(cap.count, 0);
	gp_cache_drain(cache);
	reported(1, GP_MISUSE_FOREIGN_ADDR, GAP, UNIT);
	finish(cache, pool, 0);
}

/* Freed as one unit, allocated as two. */
static void test_wrong_class(void **state)
{
	struct gen_pool *pool;
	struct gp_cache *cache = new_cache(&pool);
	unsigned long a = gp_cache_alloc(cache, 2 * UNIT);

	gp_cache_free(cache, a, UNIT);
	if (checked(cache)) {
		reported(1, GP_MISUSE_WRONG_SIZE, a, UNIT);
	} else {
		assert_int_equal(cap.count, 0);
		gp_cache_drain(cache);
		reported(1, GP_MISUSE_WRONG_SIZE, a, UNIT);
	}
	/* Still one live allocation of two units, freed right. */
	gp_cache_free(cache, a, 2 * UNIT);
	finish(cache, pool, 0);
	assert_int_equal(cap.count, 1);
}

/* Freed twice while in the cache. */
static void test_double_free_in_cache(void **state)
{
	struct gen_pool *pool;
	struct gp_cache *cache = new_cache(&pool);
	unsigned long a = gp_cache_alloc(cache, UNIT), b, c;

	gp_cache_free(cache, a, UNIT);
	gp_cache_free(cache, a, UNIT);
	if (checked(cache)) {
		reported(1, GP_MISUSE_DOUBLE_FREE, a, UNIT);
		assert_non_null(strstr(cap.last.what, "per-CPU cache"));
		b = gp_cache_alloc(cache, UNIT);
		c = gp_cache_alloc(cache, UNIT);
		assert_int_not_equal(b, c);
		gp_cache_free(cache, b, UNIT);
		gp_cache_free(cache, c, UNIT);
	} else {
		assert_int_equal(cap.count, 0);
		gp_cache_drain(cache);
		reported(1, GP_MISUSE_DOUBLE_FREE, a, UNIT);
	}
	finish(cache, pool, 0);
	assert_int_equal(cap.count, 1);
}

/* Freed again after it went back to the pool. */
static void test_double_free_after_flush(void **state)
{
	struct gen_pool *pool;
	struct gp_cache *cache = new_cache(&pool);
	unsigned long a = gp_cache_alloc(cache, UNIT);

	gp_cache_free(cache, a, UNIT);
	gp_cache_drain(cache);
	gp_cache_free(cache, a, UNIT);
	if (!checked(cache)) {
		assert_int_equal(cap.count, 0);
		gp_cache_drain(cache);
	}
	reported(1, GP_MISUSE_DOUBLE_FREE, a, UNIT);
	finish(cache, pool, 0);
}

/* gp_cache_free_checked() returns the error and reports nothing. */
static void test_free_checked_errors(void **state)
{
	struct gen_pool *pool;
	struct gp_cache *cache = new_cache(&pool);
	unsigned long a = gp_cache_alloc(cache, 2 * UNIT);
	unsigned long b = gp_cache_alloc(cache, UNIT);

	assert_int_equal(gp_cache_free_checked(NULL, a, UNIT), -EINVAL);
	assert_int_equal(gp_cache_free_checked(cache, a, 0), -EINVAL);
	assert_int_equal(gp_cache_free_checked(cache, a + 8, UNIT), -EINVAL);
	assert_int_equal(gp_cache_free_checked(cache, GAP, UNIT), -EFAULT);
	assert_int_equal(gp_cache_free_checked(cache, SECOND + CHUNK - UNIT,
					       2 * UNIT), -ERANGE);
	assert_int_equal(gp_cache_free_checked(cache, a, UNIT), -EBADSLT);
	assert_int_equal(gp_cache_free_checked(cache, a, 2 * UNIT), 0);
	assert_int_equal(gp_cache_free_checked(cache, b, UNIT), 0);
	if (checked(cache))
		assert_int_equal(gp_cache_free_checked(cache, b, UNIT),
				 -EALREADY);
	gp_cache_drain(cache);
	assert_int_equal(gp_cache_free_checked(cache, b, UNIT), -EALREADY);
	assert_int_equal(cap.count, 0);
	finish(cache, pool, 0);
}

/* The default mode's drain finds what it was given: -EBUSY at destroy. */
static void test_destroy_refused(void **state)
{
	struct gen_pool *pool;
	struct gp_cache *cache = new_cache(&pool);
	int expect = checked(cache) ? 0 : -EBUSY;

	gp_cache_free(cache, GAP, UNIT);
	assert_int_equal(gp_cache_destroy(cache), expect);
	assert_int_equal(cap.count, 1);
	assert_int_equal(gen_pool_avail(pool), 2 * CHUNK);
	gen_pool_destroy(pool);
}

/* The pool's default policy is abort: a double free ends the process (at
 * the free in the checked mode, at the flush in the default mode). */
static void test_abort_policy(void **state)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (!pid) {
		struct gen_pool *pool;
		struct gp_cache *cache = new_cache(&pool);
		unsigned long a = gp_cache_alloc(cache, UNIT);

		gp_set_misuse_policy(pool, GP_MISUSE_ABORT);
		gp_set_misuse_handler(pool, NULL, NULL);
		gp_cache_free(cache, a, UNIT);
		gp_cache_free(cache, a, UNIT);
		gp_cache_drain(cache);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_foreign_outside_and_unaligned),
		cmocka_unit_test(test_new_chunk),
		cmocka_unit_test(test_foreign_in_gap),
		cmocka_unit_test(test_wrong_class),
		cmocka_unit_test(test_double_free_in_cache),
		cmocka_unit_test(test_double_free_after_flush),
		cmocka_unit_test(test_free_checked_errors),
		cmocka_unit_test(test_destroy_refused),
		cmocka_unit_test(test_abort_policy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
