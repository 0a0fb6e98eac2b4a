// SPDX-License-Identifier: MIT
/*
 * tests/percpu/test_cache.c - the gp_cache API, one behaviour per test:
 * configuration, classes, batches, the byte cap, exhaustion, drains and
 * reaps, the mode and the stats.  Runs in the mode GP_TEST_MODE asks for
 * (percpu_test.h); tests that need to choose the CPU force the locked mode.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <sys/rseq.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "genpool/stats.h"
#include "percpu_test.h"

#define ORDER 6			/* 64-byte units */
#define UNIT (1UL << ORDER)
#define BASE 0x100000UL		/* never touched: genpool writes no memory */
#define POOL_BYTES (1UL << 20)

static struct captured_misuse cap;

static struct gen_pool *new_pool(size_t bytes)
{
	struct gen_pool *pool = gen_pool_create(ORDER, NUMA_NO_NODE);

	assert_non_null(pool);
	capture_pool_misuse(pool, &cap);
	assert_int_equal(gen_pool_add(pool, BASE, bytes, NUMA_NO_NODE), 0);
	return pool;
}

/* A cache in the mode under test, with @cfg's other settings. */
static struct gp_cache *new_cache(struct gen_pool *pool,
				  struct gp_cache_config *cfg)
{
	struct gp_cache_config def = { 0 };
	struct gp_cache *cache;

	if (!cfg)
		cfg = &def;
	cfg->flags |= pt_mode_flags();
	cache = gp_cache_create(pool, cfg);
	assert_non_null(cache);
	return cache;
}

static void stats(struct gp_cache *cache, struct gp_cache_stats *st)
{
	assert_int_equal(gp_cache_get_stats(cache, st), 0);
}

/* Destroy both, checking that everything came back and nothing was
 * reported. */
static void finish(struct gp_cache *cache, struct gen_pool *pool)
{
	assert_int_equal(gp_cache_destroy(cache), 0);
	assert_int_equal(gen_pool_avail(pool), gen_pool_size(pool));
	assert_int_equal(cap.count, 0);
	gen_pool_destroy(pool);
}

static void test_create_errors(void **state)
{
	struct gen_pool *pool = new_pool(POOL_BYTES);
	unsigned int down[] = { 4, 2 }, big[] = { GP_CACHE_MAX_UNITS + 1 };
	struct gp_cache_config bad[] = {
		{ .class_units = down, .nr_classes = 2 },
		{ .class_units = big, .nr_classes = 1 },
		{ .class_units = down, .nr_classes = 0 },
		{ .max_units = GP_CACHE_MAX_CLASSES + 1 },
		{ .magazine = GP_CACHE_MAX_MAGAZINE + 1 },
		{ .magazine = 8, .batch = 9 },
		{ .flags = 1u << 20 },
		{ .flags = GP_CACHE_REAP_THREAD, .idle_ms = GP_CACHE_IDLE_NEVER },
	};

	errno = 0;
	assert_null(gp_cache_create(NULL, NULL));
	assert_int_equal(errno, EINVAL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		assert_null(gp_cache_create(pool, &bad[i]));
		assert_int_equal(errno, EINVAL);
	}
	assert_int_equal(gp_cache_destroy(NULL), -EINVAL);
	errno = 0;
	assert_int_equal(gp_cache_alloc(NULL, 64), 0);
	assert_int_equal(errno, EINVAL);
	gen_pool_destroy(pool);
}

/* A freed object is the next one handed out (a stack), inside the pool,
 * counted as hits; after a drain the pool's accounting is exact. */
static void test_roundtrip(void **state)
{
	struct gen_pool *pool = new_pool(POOL_BYTES);
	struct gp_cache *cache = new_cache(pool, NULL);
	struct gp_cache_stats st;
	unsigned long a, b;

	assert_true(pt_mode_ok(cache, "roundtrip"));
	errno = 0;
	assert_int_equal(gp_cache_alloc(cache, 0), 0);
	assert_int_equal(errno, EINVAL);
	a = gp_cache_alloc(cache, 64);
	assert_true(a >= BASE && a < BASE + POOL_BYTES);
	assert_true(pt_accounted(cache, 64));
	gp_cache_free(cache, a, 64);
	b = gp_cache_alloc(cache, 64);
	assert_int_equal(a, b);
	gp_cache_free(cache, b, 64);
	stats(cache, &st);
	assert_true(st.total.alloc_hits >= 1 && st.total.free_hits >= 2);
	assert_int_equal(st.total.alloc_misses, 1);
	assert_true(pt_accounted(cache, 0));
	assert_true(gen_pool_avail(pool) < POOL_BYTES);
	gp_cache_drain(cache);
	assert_int_equal(gen_pool_avail(pool), POOL_BYTES);
	stats(cache, &st);
	assert_int_equal(st.total.objects, 0);
	finish(cache, pool);
}

/* Cached objects are ordinary allocations of their class, both ways. */
static void test_ordinary_allocations(void **state)
{
	struct gen_pool *pool = new_pool(POOL_BYTES);
	struct gp_cache *cache = new_cache(pool, NULL);
	unsigned long a = gp_cache_alloc(cache, 100), b;

	assert_int_equal(gp_free_checked(pool, a, 100, NULL), 0);
	b = gen_pool_alloc(pool, 3 * UNIT);
	assert_int_equal(gp_cache_free_checked(cache, b, 3 * UNIT), 0);
	assert_int_equal(gp_cache_alloc(cache, 3 * UNIT), b);
	gp_cache_free(cache, b, 3 * UNIT);
	finish(cache, pool);
}

/* Every size of 1..16 units is a class, rounded to units like the pool
 * rounds; larger sizes go straight to the pool. */
static void test_default_classes(void **state)
{
	struct gen_pool *pool = new_pool(POOL_BYTES);
	struct gp_cache *cache = new_cache(pool, NULL);
	struct gp_cache_stats st;
	unsigned long a;

	stats(cache, &st);
	assert_int_equal(st.nr_classes, 16);
	for (unsigned int i = 0; i < 16; i++) {
		assert_int_equal(st.classes[i].size, (i + 1) * UNIT);
		assert_true(st.classes[i].capacity >= 2);
	}
	a = gp_cache_alloc(cache, UNIT + 1);	/* the 2-unit class */
	assert_int_equal(gp_check_alloc(pool, a, 2 * UNIT, NULL), 0);
	gp_cache_free(cache, a, UNIT + 1);
	a = gp_cache_alloc(cache, 17 * UNIT);
	assert_int_not_equal(a, 0);
	stats(cache, &st);
	assert_int_equal(st.bypassed, 1);
	assert_int_equal(st.classes[1].c.refills, 1);
	gp_cache_free(cache, a, 17 * UNIT);
	stats(cache, &st);
	assert_int_equal(st.bypassed, 2);
	finish(cache, pool);
}

/* Explicit classes: only those sizes; no rounding up to a class. */
static void test_explicit_classes(void **state)
{
	unsigned int units[] = { 1, 4, 16 };
	struct gp_cache_config cfg = { .class_units = units, .nr_classes = 3 };
	struct gen_pool *pool = new_pool(POOL_BYTES);
	struct gp_cache *cache = new_cache(pool, &cfg);
	struct gp_cache_stats st;
	unsigned long a = gp_cache_alloc(cache, 2 * UNIT);

	assert_int_equal(gp_check_alloc(pool, a, 2 * UNIT, NULL), 0);
	gp_cache_free(cache, a, 2 * UNIT);
	a = gp_cache_alloc(cache, 4 * UNIT);
	gp_cache_free(cache, a, 4 * UNIT);
	stats(cache, &st);
	assert_int_equal(st.nr_classes, 3);
	assert_int_equal(st.classes[1].size, 4 * UNIT);
	assert_int_equal(st.bypassed, 2);
	assert_int_equal(st.classes[1].c.refills, 1);
	finish(cache, pool);
}

/* The byte cap sizes the magazines; a class whose share holds fewer than
 * two objects is not cached; a full magazine flushes a batch. */
static void test_byte_cap(void **state)
{
	struct gp_cache_config cfg = { .cpu_bytes = 16 * 256 };
	struct gen_pool *pool = new_pool(POOL_BYTES);
	struct gp_cache *cache = new_cache(pool, &cfg);
	struct gp_cache_stats st;
	unsigned long a[16];

	stats(cache, &st);
	assert_int_equal(st.classes[0].capacity, 4);	/* 256 B / 64 B */
	assert_int_equal(st.classes[1].capacity, 2);
	assert_int_equal(st.classes[2].capacity, 0);
	for (int i = 0; i < 16; i++)
		a[i] = gen_pool_alloc(pool, UNIT);
	for (int i = 0; i < 16; i++)
		gp_cache_free(cache, a[i], UNIT);
	stats(cache, &st);
	assert_true(st.total.bytes <= cfg.cpu_bytes);
	assert_true(st.classes[0].c.objects <= 4 * st.active_cpus);
	assert_true(st.total.flushes >= 1);
	assert_true(pt_accounted(cache, 0));
	a[0] = gp_cache_alloc(cache, 3 * UNIT);
	stats(cache, &st);
	assert_int_equal(st.bypassed, 1);
	gp_cache_free(cache, a[0], 3 * UNIT);
	finish(cache, pool);
}

/* A miss takes a batch (half a magazine by default), but never more than
 * half of what the pool has left. */
static void test_batches(void **state)
{
	struct gp_cache_config cfg = { .magazine = 8 };
	struct gen_pool *pool = new_pool(POOL_BYTES);
	struct gp_cache *cache = new_cache(pool, &cfg);
	struct gen_pool *small = new_pool(8 * UNIT);
	struct gp_cache_config big = { .magazine = 64, .batch = 64 };
	struct gp_cache *scache;
	struct gp_cache_stats st;
	unsigned long a = gp_cache_alloc(cache, UNIT);

	stats(cache, &st);
	assert_int_equal(st.batch, 4);
	assert_int_equal(st.total.refilled, 4);
	assert_int_equal(st.total.objects, 3);
	gp_cache_free(cache, a, UNIT);
	finish(cache, pool);

	gen_pool_destroy(small);
	small = new_pool(8 * UNIT);
	scache = new_cache(small, &big);
	a = gp_cache_alloc(scache, UNIT);
	stats(scache, &st);
	assert_int_equal(st.total.refilled, 4);
	gp_cache_free(scache, a, UNIT);
	finish(scache, small);
}

/* Exhaustion: every object cached on CPU 0; CPU 1 still gets one. */
static void test_exhaustion_locked(void **state)
{
	struct gp_cache_config cfg = { .flags = GP_CACHE_LOCKED };
	struct gen_pool *pool = new_pool(16 * UNIT);
	struct gp_cache *cache = new_cache(pool, &cfg);
	struct gp_cache_stats st;
	unsigned long a[16], b;

	assert_int_equal(gp_cache_set_thread_cpu(0), 0);
	for (int i = 0; i < 16; i++)
		assert_int_not_equal(a[i] = gp_cache_alloc(cache, UNIT), 0);
	errno = 0;
	assert_int_equal(gp_cache_alloc(cache, UNIT), 0);
	assert_int_equal(errno, ENOMEM);
	for (int i = 0; i < 16; i++)
		gp_cache_free(cache, a[i], UNIT);
	assert_int_equal(gen_pool_avail(pool), 0);
	assert_int_equal(gp_cache_set_thread_cpu(1), 0);
	b = gp_cache_alloc(cache, 2 * UNIT);
	assert_int_not_equal(b, 0);
	stats(cache, &st);
	assert_true(st.exhausted >= 1);
	gp_cache_free(cache, b, 2 * UNIT);
	assert_int_equal(gp_cache_set_thread_cpu(-1), 0);
	finish(cache, pool);
}

struct cpu_job {
	struct gp_cache *cache;
	int cpu;
	int n;
};

/* Pin to a CPU, cache @n objects there (allocated and freed); non-NULL
 * if the CPU is not ours or an allocation failed. */
static void *cache_on_cpu(void *arg)
{
	struct cpu_job *job = arg;
	unsigned long a[64];
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(job->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return (void *)1;
	for (int i = 0; i < job->n; i++)
		if (!(a[i] = gp_cache_alloc(job->cache, UNIT)))
			return (void *)2;
	for (int i = 0; i < job->n; i++)
		gp_cache_free(job->cache, a[i], UNIT);
	return NULL;
}

/* Run cache_on_cpu() in a thread; true if it did all it should. */
static bool cache_elsewhere(struct gp_cache *cache, int cpu, int n)
{
	struct cpu_job job = { cache, cpu, n };
	pthread_t t;
	void *ret;

	assert_int_equal(pthread_create(&t, NULL, cache_on_cpu, &job), 0);
	pthread_join(t, &ret);
	return ret == NULL;
}

/* The same with real CPUs in the mode under test (rseq: the drain of the
 * other CPU goes through the membarrier fence). */
static void test_exhaustion_other_cpu(void **state)
{
	struct gen_pool *pool = new_pool(16 * UNIT);
	struct gp_cache *cache = new_cache(pool, NULL);
	struct gp_cache_stats st;
	cpu_set_t mine;

	sched_getaffinity(0, sizeof(mine), &mine);
	if (CPU_COUNT(&mine) < 2 || !CPU_ISSET(0, &mine) ||
	    !CPU_ISSET(1, &mine)) {
		finish(cache, pool);
		skip();
	}
	assert_true(cache_elsewhere(cache, 0, 16));
	assert_int_equal(gen_pool_avail(pool), 0);
	assert_true(cache_elsewhere(cache, 1, 1));
	stats(cache, &st);
	assert_int_equal(st.exhausted, 1);
	finish(cache, pool);
}

/* A reap drains the CPUs that saw no use since the previous reap. */
static void test_reap(void **state)
{
	struct gp_cache_config cfg = { .idle_ms = GP_CACHE_IDLE_NEVER };
	struct gen_pool *pool = new_pool(POOL_BYTES);
	struct gp_cache *cache = new_cache(pool, &cfg);
	struct gp_cache_stats st;

	assert_int_equal(gp_cache_reap(NULL), -EINVAL);
	assert_true(cache_elsewhere(cache, 0, 8) ||
		    cache_elsewhere(cache, sched_getcpu(), 8));
	assert_int_equal(gp_cache_reap(cache), 0);	/* it was used */
	assert_int_equal(gp_cache_reap(cache), 1);	/* idle since */
	stats(cache, &st);
	assert_int_equal(st.total.objects, 0);
	assert_int_equal(st.idle_drains, 1);
	assert_int_equal(gen_pool_avail(pool), POOL_BYTES);
	finish(cache, pool);
}

/* The slow paths reap by themselves once the idle time has passed. */
static void test_reap_from_slow_path(void **state)
{
	struct gp_cache_config cfg = { .flags = GP_CACHE_LOCKED,
				       .idle_ms = 5 };
	struct gen_pool *pool = new_pool(POOL_BYTES);
	struct gp_cache *cache = new_cache(pool, &cfg);
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	struct gp_cache_stats st;
	unsigned long a;

	assert_int_equal(gp_cache_set_thread_cpu(0), 0);
	gp_cache_free(cache, gp_cache_alloc(cache, UNIT), UNIT);
	assert_int_equal(gp_cache_set_thread_cpu(1), 0);
	for (int i = 2; i <= 3; i++) {
		nanosleep(&pause, NULL);
		a = gp_cache_alloc(cache, i * UNIT);	/* a miss each */
		gp_cache_free(cache, a, i * UNIT);
	}
	stats(cache, &st);
	assert_int_equal(st.idle_drains, 1);
	assert_int_equal(st.classes[0].c.objects, 0);
	assert_int_equal(gp_cache_set_thread_cpu(-1), 0);
	finish(cache, pool);
}

/* With GP_CACHE_REAP_THREAD a thread reaps without any help. */
static void test_reap_thread(void **state)
{
	struct gp_cache_config cfg = { .flags = GP_CACHE_REAP_THREAD,
				       .idle_ms = 10 };
	struct gen_pool *pool = new_pool(POOL_BYTES);
	struct gp_cache *cache = new_cache(pool, &cfg);
	struct timespec pause = { 0, 10 * 1000 * 1000 };
	struct gp_cache_stats st;

	gp_cache_free(cache, gp_cache_alloc(cache, UNIT), UNIT);
	for (int i = 0; i < 300; i++) {
		stats(cache, &st);
		/* The reaper empties the cache, then counts the drain. */
		if (!st.total.objects && st.idle_drains >= 1)
			break;
		nanosleep(&pause, NULL);
	}
	assert_int_equal(st.total.objects, 0);
	assert_true(st.idle_drains >= 1);
	finish(cache, pool);
}

/* Which mode runs, and why. */
static void test_mode_choice(void **state)
{
	struct gp_cache_config locked = { .flags = GP_CACHE_LOCKED };
	struct gen_pool *pool = new_pool(POOL_BYTES);
	struct gp_cache *cache = gp_cache_create(pool, &locked);
	struct gp_cache_stats st;

	stats(cache, &st);
	assert_int_equal(st.mode, GP_CACHE_MODE_LOCKED);
	assert_string_equal(st.mode_name, "locked");
	assert_non_null(strstr(st.mode_reason, "forced"));
	assert_int_equal(gp_cache_destroy(cache), 0);

	cache = gp_cache_create(pool, NULL);
	stats(cache, &st);
	/* rseq only where glibc registered an area; else a reason. */
	if (st.mode == GP_CACHE_MODE_RSEQ)
		assert_true(__rseq_size >= 16);
	if (__rseq_size == 0)
		assert_int_equal(st.mode, GP_CACHE_MODE_LOCKED);
	assert_non_null(st.mode_reason);
	assert_int_equal(gp_cache_destroy(cache), 0);

	setenv("GENPOOL_CACHE", "checked,locked", 1);
	cache = gp_cache_create(pool, NULL);
	stats(cache, &st);
	assert_int_equal(st.mode, GP_CACHE_MODE_LOCKED);
	assert_true(st.checked);
	assert_int_equal(gp_cache_destroy(cache), 0);
	unsetenv("GENPOOL_CACHE");
	finish(gp_cache_create(pool, NULL), pool);
}

static void test_thread_cpu_and_cpu_stats(void **state)
{
	struct gp_cache_config cfg = { .flags = GP_CACHE_LOCKED };
	struct gen_pool *pool = new_pool(POOL_BYTES);
	struct gp_cache *cache = new_cache(pool, &cfg);
	struct gp_cache_counters k;
	struct gp_cache_stats st;

	stats(cache, &st);
	assert_int_equal(gp_cache_set_thread_cpu(-2), -EINVAL);
	assert_int_equal(gp_cache_set_thread_cpu((int)st.possible_cpus),
			 -EINVAL);
	assert_int_equal(gp_cache_set_thread_cpu(2), 0);
	gp_cache_free(cache, gp_cache_alloc(cache, UNIT), UNIT);
	assert_int_equal(gp_cache_get_cpu_stats(cache, 2, &k), 0);
	assert_int_equal(k.alloc_misses, 1);
	assert_int_equal(k.free_hits, 1);
	assert_int_equal(k.objects, cfg.batch ? cfg.batch : 64);
	assert_int_equal(k.bytes, k.objects * UNIT);
	assert_int_equal(gp_cache_get_cpu_stats(cache, 3, &k), -ENOENT);
	assert_int_equal(gp_cache_get_cpu_stats(cache, st.possible_cpus, &k),
			 -EINVAL);
	assert_int_equal(gp_cache_get_cpu_stats(NULL, 0, &k), -EINVAL);
	stats(cache, &st);
	assert_int_equal(st.active_cpus, 1);
	assert_int_equal(gp_cache_set_thread_cpu(-1), 0);
	finish(cache, pool);
}

static void test_print_stats(void **state)
{
	struct gen_pool *pool = new_pool(POOL_BYTES);
	struct gp_cache *cache = new_cache(pool, NULL);
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	gp_cache_free(cache, gp_cache_alloc(cache, UNIT), UNIT);
	assert_int_equal(gp_cache_print_stats(cache, fp), 0);
	assert_int_equal(gp_cache_print_stats(NULL, fp), -EINVAL);
	fclose(fp);
	assert_non_null(strstr(text, "cache: mode "));
	assert_non_null(strstr(text, "64 B"));
	assert_non_null(strstr(text, "cpu "));
	free(text);
	/* The pool's own stats carry the cache's section, text and JSON. */
	fp = open_memstream(&text, &len);
	assert_int_equal(gp_stats_print(pool, fp, 0), 0);
	fclose(fp);
	assert_non_null(strstr(text, "cache: mode "));
	free(text);
	fp = open_memstream(&text, &len);
	assert_int_equal(gp_stats_print(pool, fp, GP_STATS_JSON), 0);
	fclose(fp);
	assert_non_null(strstr(text, "\"sections\""));
	assert_non_null(strstr(text, "\"cache\": {\"mode\": \""));
	assert_non_null(strstr(text, "\"classes\": [{\"size\": 64,"));
	free(text);
	assert_ptr_equal(gp_cache_pool(cache), pool);
	assert_null(gp_cache_pool(NULL));
	finish(cache, pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_errors),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_ordinary_allocations),
		cmocka_unit_test(test_default_classes),
		cmocka_unit_test(test_explicit_classes),
		cmocka_unit_test(test_byte_cap),
		cmocka_unit_test(test_batches),
		cmocka_unit_test(test_exhaustion_locked),
		cmocka_unit_test(test_exhaustion_other_cpu),
		cmocka_unit_test(test_reap),
		cmocka_unit_test(test_reap_from_slow_path),
		cmocka_unit_test(test_reap_thread),
		cmocka_unit_test(test_mode_choice),
		cmocka_unit_test(test_thread_cpu_and_cpu_stats),
		cmocka_unit_test(test_print_stats),
	};

	/* CPUs 2 and 3 exist for the tests that choose the CPU. */
	setenv("GENPOOL_CACHE_CPUS", "4", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
