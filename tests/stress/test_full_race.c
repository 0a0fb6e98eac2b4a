// SPDX-License-Identifier: MIT
/*
 * tests/stress/test_full_race.c - eight threads on two CPUs churn a pool
 * that is nearly full.  It measures nothing; it checks that nothing goes
 * wrong when allocations race for the last holes (where CAS conflicts,
 * moves past contended places, multi-group claims and their rollbacks and
 * bulk batches all happen at once).
 *
 * A 4096-unit chunk (plus a small second one) is filled to about 94% with
 * allocations that stay live; then the threads, all pinned to the first
 * two CPUs the process may use (or wherever they are, if it may use only
 * one), allocate and free 1..70 units singly and in bulk, by first fit,
 * order-aligned first fit and best fit, keeping a few live each.  Every
 * unit's owner is kept in a shared map claimed with an atomic exchange, so
 * any overlap is seen; every free must succeed; a failure is fine only
 * when no hole of that size existed at some point (it is counted, not
 * judged).  Then 24 threads (more than core's 16 per-thread counter
 * slots) do the same briefly.  Afterwards the prefill must be untouched,
 * every allocation listed, and once everything is freed the pool whole
 * again, every size allocatable.  Bounded: a fixed number of operations
 * per thread.
 *
 * Environment: GP_STRESS_OPS (per thread, default 100000; 5000 under
 * valgrind), GP_STRESS_SEED.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define ORDER 6
#define UNIT (1UL << ORDER)
#define BASE 0x7a0000000000UL
#define UNITS 4096UL
#define SMALL_UNITS 96UL
#define THREADS 8
/* More threads than core has per-thread counter slots (16): some share
 * the atomic one. */
#define MANY_THREADS 24
#define HOLD 6
#define BULK 12

/* @name from the environment as a number, or @def. */
static unsigned long env_ulong(const char *name, unsigned long def)
{
	const char *v = getenv(name);

	return v && *v ? strtoul(v, NULL, 0) : def;
}

/* @size rounded up to whole units. */
static size_t whole_units(size_t size)
{
	return (size + UNIT - 1) / UNIT * UNIT;
}

static struct gen_pool *pool;
static unsigned char owner[UNITS + SMALL_UNITS];	/* 0 free, else tid + 1 */
static unsigned long errors;				/* atomic */
static unsigned long ops_per_thread;

/* Unit index of @addr in the owner map (the small chunk follows). */
static unsigned long unit_of(unsigned long addr)
{
	return addr >= BASE + (UNITS << ORDER) * 2 ?
	       UNITS + (addr - BASE - (UNITS << ORDER) * 2) / UNIT :
	       (addr - BASE) / UNIT;
}

static void error(const char *what, unsigned long addr, size_t size)
{
	if (__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED) < 10)
		fprintf(stderr, "full-race: %s: 0x%lx (%zu bytes)\n", what, addr,
			size);
}

/* Mark [addr, addr + size) as @tid's (or free, tid 0): overlaps show. */
static void mark(unsigned long addr, size_t size, unsigned char tid)
{
	for (unsigned long u = unit_of(addr); u < unit_of(addr) + size / UNIT;
	     u++) {
		unsigned char was = __atomic_exchange_n(&owner[u], tid,
							__ATOMIC_RELAXED);

		if (tid ? was != 0 : was == 0)
			error(tid ? "overlapping allocation" : "lost unit", addr,
			      size);
	}
}

struct held {
	unsigned long addr;
	size_t size;
};

struct worker {
	pthread_t thread;
	unsigned char tid;
	uint64_t seed;
	unsigned long failed, bulk;
};

static genpool_algo_t pick_algo(uint64_t r)
{
	switch (r % 4) {
	case 0:
		return gen_pool_first_fit_order_align;
	case 1:
		return gen_pool_best_fit;
	default:
		return gen_pool_first_fit;
	}
}

static void *churn(void *arg)
{
	struct worker *w = arg;
	struct held held[HOLD];
	unsigned long addrs[BULK];
	int nheld = 0;

	for (unsigned long op = 0; op < ops_per_thread; op++) {
		uint64_t r = test_rand(&w->seed);
		/* Mostly small, some up to 70 units; not whole units. */
		size_t size = (1 + r % (r & 0x100 ? 70 : 4)) * UNIT -
			      (r >> 9) % UNIT;

		if (nheld == HOLD || (nheld && r % 3 == 0)) {
			int k = (int)((r >> 16) % (unsigned)nheld);

			mark(held[k].addr, whole_units(held[k].size), 0);
			if (gp_free_checked(pool, held[k].addr, held[k].size,
					    NULL))
				error("free refused", held[k].addr,
				      held[k].size);
			held[k] = held[--nheld];
			continue;
		}
		if (r % 7 == 0) {
			/* A bulk round of small ones, freed at once. */
			size_t n = 1 + (r >> 20) % BULK, got;

			size = (1 + (r >> 24) % 3) * UNIT;
			got = gp_alloc_bulk(pool, size, addrs, n);
			w->bulk += got;
			for (size_t i = 0; i < got; i++)
				mark(addrs[i], size, w->tid);
			for (size_t i = 0; i < got; i++)
				mark(addrs[i], size, 0);
			if (gp_free_bulk(pool, addrs, got, size))
				error("bulk free refused", addrs[0], size);
			continue;
		}
		unsigned long a = gen_pool_alloc_algo(pool, size,
						      pick_algo(r >> 32), NULL);
		if (!a) {
			w->failed++;
			continue;
		}
		mark(a, whole_units(size), w->tid);
		held[nheld].addr = a;
		held[nheld++].size = size;
	}
	while (nheld--) {
		mark(held[nheld].addr, whole_units(held[nheld].size), 0);
		if (gp_free_checked(pool, held[nheld].addr, held[nheld].size,
				    NULL))
			error("free refused", held[nheld].addr,
			      held[nheld].size);
	}
	return NULL;
}

/* Pin @t to the first two CPUs this process may run on; false if it may
 * run on only one (then the threads just share it). */
static bool pin_two(pthread_t t)
{
	cpu_set_t may, two;
	int found = 0;

	if (sched_getaffinity(0, sizeof(may), &may))
		return false;
	CPU_ZERO(&two);
	for (int cpu = 0; cpu < CPU_SETSIZE && found < 2; cpu++) {
		if (CPU_ISSET(cpu, &may)) {
			CPU_SET(cpu, &two);
			found++;
		}
	}
	return found == 2 && !pthread_setaffinity_np(t, sizeof(two), &two);
}

int main(void)
{
	static unsigned long prefill[UNITS];
	static size_t prefill_size[UNITS];
	struct worker w[THREADS];
	uint64_t seed = env_ulong("GP_STRESS_SEED", 0xf011);
	unsigned long failed = 0, bulk = 0, n = 0, used = 0;
	bool pinned = true;
	long listed;

	ops_per_thread = env_ulong("GP_STRESS_OPS",
				   UNDER_VALGRIND() ? 5000 : 100000);
	pool = gen_pool_create(ORDER, NUMA_NO_NODE);
	if (!pool || gen_pool_add(pool, BASE, UNITS << ORDER, NUMA_NO_NODE) ||
	    gen_pool_add(pool, BASE + (UNITS << ORDER) * 2,
			 SMALL_UNITS << ORDER, NUMA_NO_NODE))
		return 1;
	/* Nearly full: random sizes up to 94%, all kept. */
	while (used < UNITS * 94 / 100) {
		size_t size = (1 + test_rand(&seed) % 24) * UNIT;
		unsigned long a = gen_pool_alloc(pool, size);

		if (!a)
			break;
		prefill[n] = a;
		prefill_size[n++] = size;
		used += size / UNIT;
		mark(a, size, 255);
	}
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .tid = (unsigned char)(i + 1),
					.seed = seed + 7919 * (uint64_t)i };
		if (pthread_create(&w[i].thread, NULL, churn, &w[i]))
			return 1;
		pinned &= pin_two(w[i].thread);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(w[i].thread, NULL);
		failed += w[i].failed;
		bulk += w[i].bulk;
	}
	/* Then more threads than slots, briefly, on the same pool. */
	{
		struct worker many[MANY_THREADS];
		unsigned long saved = ops_per_thread;

		ops_per_thread = saved / 20 + 1;
		for (int i = 0; i < MANY_THREADS; i++) {
			many[i] = (struct worker){
				.tid = (unsigned char)(i + 1),
				.seed = seed + 104729 * (uint64_t)(i + 1) };
			if (pthread_create(&many[i].thread, NULL, churn,
					   &many[i]))
				return 1;
		}
		for (int i = 0; i < MANY_THREADS; i++)
			pthread_join(many[i].thread, NULL);
		ops_per_thread = saved;
	}
	/* The prefill is still there, exactly. */
	listed = gp_for_each_allocation(pool, NULL, NULL);
	if (listed != (long)n) {
		fprintf(stderr, "full-race: %ld allocations listed, %lu live\n",
			listed, n);
		errors++;
	}
	for (unsigned long i = 0; i < n; i++) {
		mark(prefill[i], prefill_size[i], 0);
		if (gp_free_checked(pool, prefill[i], prefill_size[i], NULL))
			error("prefill free refused", prefill[i],
			      prefill_size[i]);
	}
	if (gen_pool_avail(pool) != gen_pool_size(pool)) {
		fprintf(stderr, "full-race: avail %zu of %zu at the end\n",
			gen_pool_avail(pool), gen_pool_size(pool));
		errors++;
	}
	/* The hints lost nothing: every size up to the chunk allocates. */
	for (size_t units = 1; units <= UNITS; units *= 2) {
		unsigned long a = gen_pool_alloc(pool, units * UNIT);

		if (!a) {
			error("allocation failed in an empty pool", 0,
			      units * UNIT);
			continue;
		}
		gen_pool_free(pool, a, units * UNIT);
	}
	printf("full-race: %d threads%s, %lu ops each, %lu failed for want "
	       "of a hole, %lu in bulk, %lu errors\n", THREADS,
	       pinned ? " on 2 CPUs" : " (could not pin to 2 CPUs)",
	       ops_per_thread, failed, bulk, errors);
	if (gp_destroy_checked(pool))
		return 1;
	return errors ? 1 : 0;
}
