// SPDX-License-Identifier: MIT
/*
 * tests/package/link_test.c - a program built against an installed
 * genpool with nothing but pkg-config's flags (check_install.sh).  It calls
 * into every part that brings a link dependency: the pool (metadata:
 * jemalloc, libnuma), the device tree lookup (libfdt) and the version.
 */
#include <stdio.h>
#include <string.h>

#include <genpool/genalloc.h>
#include <genpool/search.h>
#include <genpool/version.h>

static _Alignas(64) char backing[1 << 16];	/* 64-byte units */

int main(void)
{
	struct gp_of_node none = { .fdt = NULL, .offset = 0 };
	struct gen_pool *pool = gen_pool_create(6, NUMA_NO_NODE);
	unsigned long a;

	if (!pool || gen_pool_add(pool, (unsigned long)backing,
				  sizeof(backing), NUMA_NO_NODE)) {
		fprintf(stderr, "link_test: pool setup failed\n");
		return 1;
	}
	a = gen_pool_alloc(pool, 100);
	if (a != (unsigned long)backing ||
	    gen_pool_avail(pool) != sizeof(backing) - 128) {
		fprintf(stderr, "link_test: alloc gave %#lx\n", a);
		return 1;
	}
	gen_pool_free(pool, a, 100);
	gen_pool_destroy(pool);
	if (of_gen_pool_get(&none, "sram", 0) != NULL) {
		fprintf(stderr, "link_test: of_gen_pool_get found a pool\n");
		return 1;
	}
	if (strcmp(gp_version(), GENPOOL_VERSION) != 0) {
		fprintf(stderr, "link_test: library %s, headers %s\n",
			gp_version(), GENPOOL_VERSION);
		return 1;
	}
	printf("link_test: genpool %s, search path %s: ok\n", gp_version(),
	       gp_search_path_name(gp_search_get_path()));
	return 0;
}
