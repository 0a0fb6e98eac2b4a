// SPDX-License-Identifier: MIT
/*
 * tests/percpu/stress_cache.c - threads hammer one cache over real memory.
 *
 * Each thread allocates sizes of 1..20 units (16 and below are cached),
 * claims every unit of an object in an owner map (a CAS from 0: a unit
 * already owned is an overlap), fills the object with a canary, and later
 * checks the canary and frees it - itself, or by handing it to another
 * thread through a shared exchange (cross-thread frees, producer/consumer).
 * Threads move themselves between the CPUs they may use with
 * sched_setaffinity() while they allocate; one thread drains and reaps
 * now and then, so drains race with the hit path.  At the end everything
 * is freed and drained: the pool must be whole again.
 *
 * GP_STRESS_THREADS (default 8), GP_STRESS_SECONDS (default 1.0) and
 * GP_STRESS_OPS (per thread, default 2000000) bound a run.  The mode comes
 * from GP_TEST_MODE / GP_TEST_EXPECT (percpu_test.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "percpu_test.h"

#define ORDER 6
#define UNIT (1UL << ORDER)
#define POOL_BYTES (8UL << 20)
#define MAX_UNITS 20
#define HELD 64
#define EXCHANGE 1024

struct obj {
	unsigned long addr;
	size_t size;
	uint32_t owner;		/* the allocating thread's id + 1 */
	uint32_t seq;
};

static struct gp_cache *cache;
static unsigned long base;
static _Atomic uint32_t *owners;	/* per unit */
static atomic_ulong overlaps, corrupt, failures, ops_done, migrations;
static atomic_bool stop;
static cpu_set_t allowed;

/* The exchange: a ring under a mutex (test plumbing, not under test). */
static pthread_mutex_t ex_lock = PTHREAD_MUTEX_INITIALIZER;
static struct obj ex_ring[EXCHANGE];
static unsigned int ex_head, ex_count;

static bool ex_put(const struct obj *o)
{
	bool ok;

	pthread_mutex_lock(&ex_lock);
	ok = ex_count < EXCHANGE;
	if (ok)
		ex_ring[(ex_head + ex_count++) % EXCHANGE] = *o;
	pthread_mutex_unlock(&ex_lock);
	return ok;
}

static bool ex_get(struct obj *o)
{
	bool ok;

	pthread_mutex_lock(&ex_lock);
	ok = ex_count > 0;
	if (ok) {
		*o = ex_ring[ex_head];
		ex_head = (ex_head + 1) % EXCHANGE;
		ex_count--;
	}
	pthread_mutex_unlock(&ex_lock);
	return ok;
}

static uint8_t canary(const struct obj *o)
{
	return (uint8_t)(o->owner * 31 + o->seq * 7 + 1);
}

/* Claim (@id) or release (0) the units of @o in the owner map. */
static void own(const struct obj *o, uint32_t id)
{
	unsigned long first = (o->addr - base) >> ORDER;
	unsigned long units = (o->size + UNIT - 1) >> ORDER;

	for (unsigned long u = first; u < first + units; u++) {
		uint32_t expect = id ? 0 : o->owner;

		if (!atomic_compare_exchange_strong(&owners[u], &expect, id))
			atomic_fetch_add(&overlaps, 1);
	}
}

static bool take(struct obj *o, uint32_t id, uint32_t seq, size_t size)
{
	o->addr = gp_cache_alloc(cache, size);
	if (!o->addr) {
		atomic_fetch_add(&failures, 1);
		return false;
	}
	o->size = size;
	o->owner = id;
	o->seq = seq;
	own(o, id);
	memset((void *)o->addr, canary(o), size);
	return true;
}

static void give(const struct obj *o)
{
	const uint8_t *p = (const uint8_t *)o->addr;
	uint8_t want = canary(o);

	for (size_t i = 0; i < o->size; i++)
		if (p[i] != want) {
			atomic_fetch_add(&corrupt, 1);
			break;
		}
	own(o, 0);
	gp_cache_free(cache, o->addr, o->size);
}

/* Move to another CPU of the allowed set (a no-op with one CPU). */
static void migrate(uint64_t *rng)
{
	int n = CPU_COUNT(&allowed), pick = (int)(test_rand(rng) % n);
	cpu_set_t one;

	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &allowed) && pick-- == 0) {
			CPU_ZERO(&one);
			CPU_SET(cpu, &one);
			if (!sched_setaffinity(0, sizeof(one), &one))
				atomic_fetch_add(&migrations, 1);
			return;
		}
}

struct worker {
	pthread_t thread;
	uint32_t id;
	unsigned long max_ops;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	uint64_t rng = w->id * 0x2545f4914f6cdd1dULL + 7;
	struct obj held[HELD], o;
	unsigned int n = 0;
	unsigned long op;

	for (op = 0; op < w->max_ops && !atomic_load(&stop); op++) {
		uint64_t r = test_rand(&rng);
		size_t size = (1 + r % MAX_UNITS) * UNIT - (r >> 8) % UNIT;

		if (op % 4096 == 0)
			migrate(&rng);
		if (w->id == 1 && op % 20000 == 10000)
			gp_cache_drain(cache);
		if (w->id == 2 && op % 20000 == 0)
			gp_cache_reap(cache);
		if (r >> 40 & 1 && ex_get(&o)) {
			give(&o);		/* someone else's */
		} else if (n < HELD && (r >> 41 & 3)) {
			n += take(&held[n], w->id, (uint32_t)op, size);
		} else if (n) {
			unsigned int i = (unsigned int)(r >> 44) % n;

			o = held[i];
			held[i] = held[--n];
			if (!(r >> 50 & 1) || !ex_put(&o))
				give(&o);
		}
	}
	while (n)
		give(&held[--n]);
	atomic_fetch_add(&ops_done, op);
	return NULL;
}

static double env_double(const char *name, double dflt)
{
	const char *v = getenv(name);

	return v && *v ? strtod(v, NULL) : dflt;
}

int main(void)
{
	unsigned int nthreads = (unsigned int)env_double("GP_STRESS_THREADS", 8);
	double seconds = env_double("GP_STRESS_SECONDS", 1.0);
	struct gp_cache_config cfg = { .flags = pt_mode_flags(), .idle_ms = 5 };
	struct timespec pause = { (time_t)seconds,
				  (long)((seconds - (time_t)seconds) * 1e9) };
	struct worker *w = calloc(nthreads, sizeof(*w));
	struct gen_pool *pool = gen_pool_create(ORDER, NUMA_NO_NODE);
	void *mem = map_region(POOL_BYTES);
	struct gp_cache_stats st;
	struct obj o;
	int bad;

	if (!w || !pool || !mem)
		return 1;
	if (UNDER_VALGRIND() && !getenv("GP_STRESS_SECONDS"))
		pause = (struct timespec){ 0, 200 * 1000 * 1000 };
	sched_getaffinity(0, sizeof(allowed), &allowed);
	base = (unsigned long)mem;
	owners = calloc(POOL_BYTES >> ORDER, sizeof(*owners));
	if (!owners || gen_pool_add(pool, base, POOL_BYTES, NUMA_NO_NODE))
		return 1;
	cache = gp_cache_create(pool, &cfg);
	if (!cache || !pt_mode_ok(cache, "stress_cache"))
		return 1;
	for (unsigned int i = 0; i < nthreads; i++) {
		w[i].id = i + 1;
		w[i].max_ops = (unsigned long)env_double("GP_STRESS_OPS", 2e6);
		pthread_create(&w[i].thread, NULL, work, &w[i]);
	}
	nanosleep(&pause, NULL);
	atomic_store(&stop, true);
	for (unsigned int i = 0; i < nthreads; i++)
		pthread_join(w[i].thread, NULL);
	while (ex_get(&o))
		give(&o);
	gp_cache_get_stats(cache, &st);
	gp_cache_drain(cache);
	bad = overlaps || corrupt || failures ||
	      gen_pool_avail(pool) != POOL_BYTES;
	printf("percpu: stress %u threads on %d CPUs, mode %s%s: %lu ops, "
	       "%lu migrations, %lu misses, %lu flushes, %lu exhausted; "
	       "overlaps %lu, corrupt %lu, failed allocs %lu, lost %zu B\n",
	       nthreads, CPU_COUNT(&allowed), st.mode_name,
	       st.checked ? " checked" : "", atomic_load(&ops_done),
	       atomic_load(&migrations),
	       (unsigned long)(st.total.alloc_misses + st.total.free_misses),
	       (unsigned long)st.total.flushes, (unsigned long)st.exhausted,
	       atomic_load(&overlaps), atomic_load(&corrupt),
	       atomic_load(&failures), POOL_BYTES - gen_pool_avail(pool));
	if (gp_cache_destroy(cache))
		bad = 1;
	gen_pool_destroy(pool);
	free(owners);
	free(w);
	return bad;
}
