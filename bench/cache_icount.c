// SPDX-License-Identifier: MIT
/*
 * bench/cache_icount.c - N alloc+free pairs of 64 B, for instruction
 * counts under callgrind (which are exact on a busy machine):
 *
 *   genpool-cache-icount N [cache|checked|pool]
 *
 * Run it for two values of N and divide the difference of the totals by
 * the difference of N: setup and teardown cancel out.  Under valgrind
 * glibc registers no rseq area, so "cache" is the locked mode there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <genpool/percpu.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 0;
	const char *what = argc > 2 ? argv[2] : "cache";
	struct gp_cache_config cfg = { 0 };
	struct gen_pool *pool = gen_pool_create(6, NUMA_NO_NODE);
	struct gp_cache *cache;
	bool central = !strcmp(what, "pool");

	if (n <= 0 || !pool ||
	    gen_pool_add(pool, 1UL << 40, 256UL << 20, NUMA_NO_NODE)) {
		fprintf(stderr, "usage: %s N [cache|checked|pool]\n", argv[0]);
		return 2;
	}
	if (!strcmp(what, "checked"))
		cfg.flags = GP_CACHE_CHECKED;
	cache = gp_cache_create(pool, &cfg);
	for (long i = 0; i < n; i++) {
		unsigned long a = central ? gen_pool_alloc(pool, 64)
					  : gp_cache_alloc(cache, 64);

		__asm__ __volatile__("" : : "r"(a));
		if (central)
			gen_pool_free(pool, a, 64);
		else
			gp_cache_free(cache, a, 64);
	}
	gp_cache_destroy(cache);
	gen_pool_destroy(pool);
	return 0;
}
