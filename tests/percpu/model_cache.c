// SPDX-License-Identifier: MIT
/*
 * tests/percpu/model_cache.c - the cache against its shadow model
 * (cache_ops.c) over seeded random operation strings, with deterministic
 * CPU switches in the locked mode.
 *
 * GP_CACHE_MODEL_SEEDS (default 48), GP_CACHE_MODEL_BYTES (default 20000),
 * GP_CACHE_MODEL_SEED (first seed, default 1); a failure prints the seed
 * to replay with GP_CACHE_MODEL_SEEDS=1 GP_CACHE_MODEL_VERBOSE=1.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache_ops.h"
#include "testutil.h"

static unsigned long env_ulong(const char *name, unsigned long dflt)
{
	const char *v = getenv(name);

	return v && *v ? strtoul(v, NULL, 0) : dflt;
}

static char replay[96];

/* A check abort()ed: say how to replay the seed. */
static void on_abort(int sig)
{
	if (write(2, replay, strlen(replay)) < 0)
		_exit(2);
	signal(sig, SIG_DFL);
	raise(sig);
}

int main(void)
{
	unsigned long seeds = env_ulong("GP_CACHE_MODEL_SEEDS", 48);
	unsigned long bytes = env_ulong("GP_CACHE_MODEL_BYTES", 20000);
	unsigned long first = env_ulong("GP_CACHE_MODEL_SEED", 1);
	bool verbose = env_ulong("GP_CACHE_MODEL_VERBOSE", 0);
	uint8_t *buf = malloc(bytes);

	if (!buf)
		return 1;
	signal(SIGABRT, on_abort);
	if (UNDER_VALGRIND() && !getenv("GP_CACHE_MODEL_SEEDS"))
		seeds = 6;
	for (unsigned long seed = first; seed < first + seeds; seed++) {
		uint64_t state = seed * 0x9e3779b97f4a7c15ULL + 1;

		for (unsigned long i = 0; i < bytes; i++)
			buf[i] = (uint8_t)test_rand(&state);
		snprintf(replay, sizeof(replay),
			 "model_cache: replay with GP_CACHE_MODEL_SEED=%lu "
			 "GP_CACHE_MODEL_SEEDS=1\n", seed);
		cache_ops_run(buf, bytes, verbose);
	}
	fprintf(stderr, "model_cache: %lu seeds x %lu bytes: ok\n", seeds,
		bytes);
	free(buf);
	return 0;
}
