// SPDX-License-Identifier: MIT
/*
 * tests/stress/test_avail_race.c - gen_pool_avail() must stay a sane
 * snapshot (0 <= avail <= size, whole units) while threads churn a nearly
 * full pool.
 *
 * Eight threads allocate and free one-unit blocks of a chunk of eight units
 * as fast as they can; the main thread samples gen_pool_avail() in a tight
 * loop.  A free that has released its bits but not yet added its bytes back
 * to the chunk's avail, while other threads claim those bits and subtract,
 * drives the counter below zero: it then reads as a huge size_t.
 *
 * Environment: GP_STRESS_SECONDS (default 2, 0.5 under valgrind).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "testutil.h"

#define ORDER 4
#define UNIT ((size_t)1 << ORDER)
#define UNITS 8
#define THREADS 8
#define HOLD 4

static struct gen_pool *pool;
static int stop;		/* atomic */

struct churner {
	pthread_t thread;
	uint64_t ops, bad;
};

static void *churn(void *arg)
{
	struct churner *c = arg;
	unsigned long held[HOLD];
	int n, i;

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		for (n = 0, i = 0; i < HOLD; i++) {
			held[n] = gen_pool_alloc(pool, UNIT);
			if (held[n]) {
				*(volatile uint64_t *)held[n] = held[n];
				n++;
			}
		}
		while (n--) {
			if (*(volatile uint64_t *)held[n] != held[n] ||
			    gp_free_checked(pool, held[n], UNIT, NULL))
				c->bad++;
			c->ops++;
		}
	}
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(void)
{
	struct churner ch[THREADS] = { 0 };
	uint64_t samples = 0, out = 0, ops = 0, bad = 0;
	size_t avail, worst = 0, size = UNITS * UNIT;
	double seconds = UNDER_VALGRIND() ? 0.5 : 2.0, end;
	const char *env = getenv("GP_STRESS_SECONDS");
	void *mem = map_region(size);
	int t;

	if (env && *env)
		seconds = strtod(env, NULL);
	pool = gen_pool_create(ORDER, NUMA_NO_NODE);
	if (!mem || !pool || gen_pool_add(pool, (unsigned long)mem, size,
					  NUMA_NO_NODE)) {
		printf("stress: setup failed\n");
		return 1;
	}
	for (t = 0; t < THREADS; t++)
		if (pthread_create(&ch[t].thread, NULL, churn, &ch[t])) {
			printf("stress: pthread_create failed\n");
			return 1;
		}
	end = now() + seconds;
	while (now() < end) {
		for (t = 0; t < 4096; t++) {
			avail = gen_pool_avail(pool);
			samples++;
			if (avail > size || avail % UNIT) {
				out++;
				if (avail > worst)
					worst = avail;
			}
		}
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (t = 0; t < THREADS; t++) {
		pthread_join(ch[t].thread, NULL);
		ops += ch[t].ops;
		bad += ch[t].bad;
	}
	avail = gen_pool_avail(pool);
	printf("stress: avail sampled %" PRIu64 " times during %d-thread churn "
	       "(%" PRIu64 " frees) of a %d-unit pool: %" PRIu64 " out of "
	       "[0, %zu]%s", samples, THREADS, ops, UNITS, out, size,
	       out ? "" : "\n");
	if (out)
		printf(" (worst %zu = SIZE_MAX - %zu)\n", worst,
		       SIZE_MAX - worst);
	printf("stress: afterwards avail %zu of %zu, %" PRIu64 " bad frees\n",
	       avail, size, bad);
	if (gp_destroy_checked(pool))
		bad++;
	return out || bad || avail != size || ops == 0;
}
