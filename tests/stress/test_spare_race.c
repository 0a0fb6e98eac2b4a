// SPDX-License-Identifier: MIT
/*
 * tests/stress/test_spare_race.c - a pool with plenty of room never says
 * no, however its threads are preempted.
 *
 * A claim moves the hole it takes from: the piece left after it may start
 * in the next block, or fall into a smaller size class, and its hint is
 * announced only after the claim's CAS.  A search that runs in between
 * (while the claimer is preempted) once found no hint for that piece, the
 * stale one of the old place having been repaired away, and failed with
 * the pool mostly free (genpool-kv answered "SERVER_ERROR out of memory"
 * with 55 of 64 MiB free when the machine was loaded).  Here twelve
 * threads share one CPU (so they are preempted anywhere, as on a loaded machine)
 * and churn 100..5200-byte allocations by best fit and by first fit in a
 * 64 MiB chunk that never gets more than about a third full: every
 * allocation must succeed.  Bounded: at most a fixed number of
 * operations per thread and a few seconds per algorithm (sanitizer builds
 * get through fewer operations, not more time).
 *
 * Environment: GP_STRESS_OPS (per thread, default 100000; 5000 under
 * valgrind), GP_STRESS_SECONDS (per algorithm, default 10), GP_STRESS_SEED.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

#define BASE 0x7b0000000000UL
#define POOL_BYTES (64UL << 20)
#define ORDER 4
#define THREADS 12
#define LIVE 600		/* per thread: ~1.6 MiB on average */
#define MIN_SIZE 100
#define MAX_SIZE 5200

struct worker {
	struct gen_pool *pool;
	genpool_algo_t algo;
	unsigned long ops;
	double deadline;		/* test_now() to stop at */
	unsigned int seed;
	int cpu;			/* -1: wherever it runs */
	unsigned long failures;
	size_t avail_at_failure;
};

static unsigned long env_ulong(const char *name, unsigned long def)
{
	const char *v = getenv(name);

	return v && *v ? strtoul(v, NULL, 0) : def;
}

/* The first CPU this process may run on, or -1. */
static int first_cpu(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set))
		return -1;
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &set))
			return i;
	return -1;
}

static void *churn(void *arg)
{
	struct worker *w = arg;
	unsigned long addr[LIVE] = { 0 };
	size_t size[LIVE] = { 0 };

	if (w->cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(w->cpu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	for (unsigned long i = 0; i < w->ops; i++) {
		int k = rand_r(&w->seed) % LIVE;

		if (i % 1024 == 0 && test_now() > w->deadline)
			break;

		if (addr[k])
			gen_pool_free(w->pool, addr[k], size[k]);
		size[k] = MIN_SIZE + rand_r(&w->seed) % (MAX_SIZE - MIN_SIZE);
		addr[k] = gen_pool_alloc_algo(w->pool, size[k], w->algo, NULL);
		if (!addr[k] && !w->failures++)
			w->avail_at_failure = gen_pool_avail(w->pool);
	}
	for (int k = 0; k < LIVE; k++)
		if (addr[k])
			gen_pool_free(w->pool, addr[k], size[k]);
	return NULL;
}

/* Twelve threads on one CPU with @algo: true if no allocation failed and
 * the pool is whole again afterwards. */
static bool spare_room_never_fails(genpool_algo_t algo, const char *name,
				   unsigned long ops, double seconds,
				   unsigned int seed)
{
	struct gen_pool *pool = gen_pool_create(ORDER, -1);
	struct worker w[THREADS];
	pthread_t t[THREADS];
	unsigned long failures = 0;
	int cpu = first_cpu();
	bool whole;

	if (!pool || gen_pool_add(pool, BASE, POOL_BYTES, -1)) {
		fprintf(stderr, "%s: cannot make the pool\n", name);
		return false;
	}
	gen_pool_set_algo(pool, algo, NULL);
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .pool = pool, .algo = algo, .ops = ops,
					.deadline = test_now() + seconds,
					.seed = seed + (unsigned int)i, .cpu = cpu };
		if (pthread_create(&t[i], NULL, churn, &w[i])) {
			fprintf(stderr, "%s: pthread_create failed\n", name);
			exit(1);
		}
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		if (w[i].failures)
			fprintf(stderr, "%s: thread %d: %lu failed allocations, "
				"the first with %zu bytes free\n", name, i,
				w[i].failures, w[i].avail_at_failure);
		failures += w[i].failures;
	}
	whole = gen_pool_avail(pool) == POOL_BYTES;
	if (!whole)
		fprintf(stderr, "%s: %zu bytes free at the end, not %lu\n", name,
			gen_pool_avail(pool), POOL_BYTES);
	gen_pool_destroy(pool);
	printf("%s: %d threads x up to %lu operations, %lu failed\n", name,
	       THREADS, ops, failures);
	return !failures && whole;
}

int main(void)
{
	unsigned long ops = env_ulong("GP_STRESS_OPS",
				      UNDER_VALGRIND() ? 5000 : 100000);
	const char *sec = getenv("GP_STRESS_SECONDS");
	double seconds = sec && *sec ? strtod(sec, NULL) : 10.0;
	unsigned int seed = (unsigned int)env_ulong("GP_STRESS_SEED", 1);
	bool ok = spare_room_never_fails(gen_pool_best_fit, "best fit", ops,
					 seconds, seed);

	ok &= spare_room_never_fails(gen_pool_first_fit, "first fit", ops,
				     seconds, seed);
	return ok ? 0 : 1;
}
