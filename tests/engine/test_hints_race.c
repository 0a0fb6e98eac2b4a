// SPDX-License-Identifier: MIT
/*
 * tests/engine/test_hints_race.c - the hole-class masks stay sound while
 * threads allocate and free concurrently.
 *
 * A fragmented pool is churned by several threads (first fit and best fit,
 * small and large sizes; a first-fit pool, whose hints cover, and a
 * best-fit one, whose hints are exact); then, with everything quiet, every block's kept
 * mask must cover its exact mask, the class counters must match the masks,
 * and a final allocation of every size that fits must succeed.  A mask
 * that lost a bit in a race would make allocations fail with space free.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool_internal.h"
#include "testutil.h"
#include "unitmap.h"

#ifndef THREADS
#define THREADS 4
#endif
#define ORDER 6
#define POOL_BYTES (64UL << 20)
#define BASE 0x100000000000UL

static struct gen_pool *pool;
static unsigned long failures_with_space;

struct worker {
	uint64_t seed;
	int ops;
};

static void *churn(void *arg)
{
	struct worker *w = arg;
	static const size_t sizes[] = { 64, 256, 4096, 65536, 262144, 1048576 };

	for (int i = 0; i < w->ops; i++) {
		size_t size = sizes[test_rand(&w->seed) % 6];
		genpool_algo_t algo = test_rand(&w->seed) % 2 ?
				      gen_pool_first_fit : gen_pool_best_fit;
		unsigned long a = gen_pool_alloc_algo(pool, size, algo, NULL);

		if (a)
			gen_pool_free(pool, a, size);
	}
	return NULL;
}

/* Kept masks cover the exact ones and the counters match, per chunk. */
static int check_sound(void)
{
	int bad = 0;

	for (struct gp_chunk *c = pool->chunks; c; c = c->next) {
		struct gp_hints fresh;
		uint16_t *mem = calloc(1, gpi_hint_bytes(c->nbits));
		unsigned long counts[GP_CLASSES] = { 0 };

		gpi_hints_init(&fresh, mem, c->nbits);
		gpi_hints_rebuild(&fresh, c->um, c->nbits);
		for (unsigned long b = 0; b < c->hints.nblocks; b++) {
			if (!um_mask_sound(c->hints.cls[b], fresh.cls[b],
					   c->hints.exact)) {
				if (bad++ < 5)
					fprintf(stderr, "block %lu: kept %#x "
						"misses exact %#x\n", b,
						c->hints.cls[b], fresh.cls[b]);
			}
			for (unsigned k = 0; k < GP_CLASSES; k++)
				counts[k] += c->hints.cls[b] >> k & 1;
		}
		if (memcmp(counts, c->hints.class_blocks, sizeof(counts))) {
			fprintf(stderr, "class counters do not match masks\n");
			bad++;
		}
		free(mem);
	}
	return bad;
}

int main(void)
{
	static unsigned long live[200000];
	static size_t live_size[200000];
	pthread_t t[THREADS];
	struct worker w[THREADS];
	uint64_t seed = 12345;
	int n = 0, bad = 0, rounds = UNDER_VALGRIND() ? 2 : 20;

	for (int round = 0; round < rounds; round++) {
		pool = gen_pool_create(ORDER, NUMA_NO_NODE);
		if (!pool || gen_pool_add(pool, BASE, POOL_BYTES, NUMA_NO_NODE))
			return 1;
		/* Odd rounds: a best-fit pool, whose hints are exact
		 * (core/hints.h); even rounds covering hints. */
		if (round % 2)
			gen_pool_set_algo(pool, gen_pool_best_fit, NULL);
		/* fragment it: fill with random sizes, free every other */
		for (n = 0; n < 200000; n++) {
			size_t size = 64UL << (test_rand(&seed) % 11);
			unsigned long a = gen_pool_alloc(pool, size);

			if (!a)
				break;
			live[n] = a;
			live_size[n] = size;
			if (gen_pool_avail(pool) < POOL_BYTES / 8) {
				n++;
				break;
			}
		}
		for (int i = 0; i < n; i += 2)
			gen_pool_free(pool, live[i], live_size[i]);
		for (int i = 0; i < THREADS; i++) {
			w[i].seed = seed + (uint64_t)i * 7919 + (uint64_t)round;
			w[i].ops = UNDER_VALGRIND() ? 200 : 4000;
			pthread_create(&t[i], NULL, churn, &w[i]);
		}
		for (int i = 0; i < THREADS; i++)
			pthread_join(t[i], NULL);
		bad += check_sound();
		/* Every size that some hole can hold must be allocatable. */
		for (size_t size = 64; size <= (1UL << 24); size *= 2) {
			struct gp_stats st;
			unsigned long a;

			gp_get_stats(pool, &st);
			if (size > st.largest_free)
				break;
			a = gen_pool_alloc(pool, size);
			if (!a) {
				failures_with_space++;
				fprintf(stderr, "round %d: %zu bytes failed with "
					"a %zu-byte hole free\n", round, size,
					st.largest_free);
			} else {
				gen_pool_free(pool, a, size);
			}
		}
		for (int i = 1; i < n; i += 2)
			gen_pool_free(pool, live[i], live_size[i]);
		if (gp_destroy_checked(pool) != 0)
			return 1;
	}
	printf("hints-race: %d rounds x %d threads, %d unsound masks, "
	       "%lu failures with space free\n", rounds, THREADS, bad,
	       failures_with_space);
	return bad || failures_with_space ? 1 : 0;
}
