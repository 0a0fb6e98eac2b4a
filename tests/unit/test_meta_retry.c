// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_meta_retry.c - a metadata shortage is transient.
 *
 * The very first pool of the process is created while the address space
 * is capped (RLIMIT_AS at what the process already uses), so the private
 * jemalloc cannot map its NUMA_NO_NODE arena: ENOMEM.  Once the cap is
 * lifted, pools, chunks and devices must work again; genpool once marked
 * the arena failed for good.  Built for the default (jemalloc) metadata
 * only: host-malloc metadata has no arena to lose (skip).
 */
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "testutil.h"

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: failed: %s\n", __FILE__,	\
				__LINE__, #cond);			\
			return 1;					\
		}							\
	} while (0)

/* Bytes of address space the process maps now; 0 if unknown. */
static size_t mapped_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long pages = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%lu", &pages) != 1)
		pages = 0;
	fclose(f);
	return pages * (size_t)sysconf(_SC_PAGESIZE);
}

int main(void)
{
	static char chunk[1 << 16] __attribute__((aligned(64)));
	struct rlimit saved, capped;
	struct gen_pool *pool;
	struct gp_device *dev;
	unsigned long addr;
	size_t used;

#ifndef GP_TEST_METADATA_JEMALLOC
	puts("skip: metadata=libc (the host's malloc has no arena to retry)");
	return TEST_SKIP;
#endif
	if (UNDER_VALGRIND()) {
		puts("skip: valgrind manages the address space itself");
		return TEST_SKIP;
	}
	used = mapped_bytes();
	CHECK(used > 0);
	CHECK(getrlimit(RLIMIT_AS, &saved) == 0);
	capped = saved;
	capped.rlim_cur = used + (256 << 10);	/* room for stdio, not an arena */
	CHECK(setrlimit(RLIMIT_AS, &capped) == 0);
	errno = 0;
	pool = gen_pool_create(4, NUMA_NO_NODE);
	CHECK(setrlimit(RLIMIT_AS, &saved) == 0);
	/* Unless the shortage was felt, this test proves nothing. */
	CHECK(pool == NULL && errno == ENOMEM);

	pool = gen_pool_create(4, NUMA_NO_NODE);
	CHECK(pool != NULL);
	CHECK(gen_pool_add(pool, (unsigned long)chunk, sizeof(chunk),
			   NUMA_NO_NODE) == 0);
	addr = gen_pool_alloc(pool, 100);
	CHECK(addr != 0);
	gen_pool_free(pool, addr, 100);
	gen_pool_destroy(pool);
	dev = gp_device_create("after-shortage");
	CHECK(dev != NULL);
	CHECK(devm_gen_pool_create(dev, 6, NUMA_NO_NODE, "p") != NULL);
	gp_device_destroy(dev);
	puts("unit: metadata: a failed arena creation was retried once memory came back");
	return 0;
}
