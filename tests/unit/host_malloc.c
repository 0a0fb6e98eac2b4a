// SPDX-License-Identifier: MIT
/*
 * tests/unit/host_malloc.c - a host program linked against libgenpool
 * (built twice: shared and static) showing that its malloc is still glibc's
 * and that none of jemalloc's names leak into it (DESIGN.md section 7).
 *
 * Exits 0 when all checks hold, 1 otherwise, printing what it found.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <valgrind/valgrind.h>

#include "genpool/genalloc.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static int failures;

static void check(int ok, const char *what)
{
	printf("%s: %s\n", ok ? "ok  " : "FAIL", what);
	if (!ok)
		failures++;
}

/* Is @addr inside libc.so.6?  Prints the object it is in. */
static int in_libc(const char *label, const void *addr)
{
	Dl_info info;
	const char *base;

	if (!addr || !dladdr(addr, &info) || !info.dli_fname) {
		printf("     %s: %p is in no loaded object\n", label, addr);
		return 0;
	}
	base = strrchr(info.dli_fname, '/');
	base = base ? base + 1 : info.dli_fname;
	printf("     %s: %p is in %s (%s)\n", label, addr, info.dli_fname,
	       info.dli_sname ? info.dli_sname : "?");
	return strcmp(base, "libc.so.6") == 0;
}

int main(void)
{
	static const char *const hidden[] = {
		"mallctl", "mallocx", "dallocx", "sdallocx", "je_malloc_default",
		"je_mallctl", "gpje_mallocx", "gpje_mallctl", "malloc_conf",
	};
	/* Called through volatile pointers: a compiler may otherwise drop a
	 * malloc/free pair whose memory is never used (clang does). */
	void *(*volatile malloc_ptr)(size_t) = malloc;
	void (*volatile free_ptr)(void *) = free;
	struct mallinfo2 before, after;
	struct gen_pool *pool;
	unsigned long a;
	size_t i;
	void *p;

	/* ASan and valgrind replace malloc themselves: what this test checks
	 * cannot hold under them. */
#ifdef UNDER_ASAN
	printf("skip: AddressSanitizer replaces malloc\n");
	return 77;
#endif
	if (RUNNING_ON_VALGRIND) {
		printf("skip: valgrind replaces malloc\n");
		return 77;
	}

	/* malloc, as the host calls it, is glibc's. */
	check(in_libc("&malloc", (const void *)malloc_ptr),
	      "&malloc resolves to libc.so.6");
	check(in_libc("dlsym(malloc)", dlsym(RTLD_DEFAULT, "malloc")),
	      "dlsym(RTLD_DEFAULT, \"malloc\") resolves to libc.so.6");
	check(in_libc("dlsym(free)", dlsym(RTLD_DEFAULT, "free")),
	      "dlsym(RTLD_DEFAULT, \"free\") resolves to libc.so.6");

	/* And glibc's allocator really serves it: its counters move. */
	before = mallinfo2();
	p = malloc_ptr(100000);
	after = mallinfo2();
	check(p != NULL && after.uordblks + after.hblkhd >=
			   before.uordblks + before.hblkhd + 100000,
	      "malloc(100000) is accounted by glibc's mallinfo2()");
	free_ptr(p);

	/* jemalloc's names are not visible to the host. */
	for (i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++) {
		char what[80];

		snprintf(what, sizeof(what), "%s is not visible", hidden[i]);
		check(dlsym(RTLD_DEFAULT, hidden[i]) == NULL, what);
	}

	/* And the pool (whose metadata comes from its private jemalloc)
	 * works next to it. */
	pool = gen_pool_create(4, NUMA_NO_NODE);
	check(pool != NULL, "gen_pool_create");
	if (pool) {
		check(gp_set_name(pool, "host") == 0, "gp_set_name");
		check(gen_pool_add(pool, 0x10000, 0x1000, NUMA_NO_NODE) == 0,
		      "gen_pool_add");
		a = gen_pool_alloc(pool, 100);
		check(a == 0x10000, "gen_pool_alloc returns the chunk start");
		check(gen_pool_avail(pool) == 0x1000 - 112,
		      "gen_pool_avail moved by 7 units");
		gen_pool_free(pool, a, 100);
		check(gp_destroy_checked(pool) == 0, "gp_destroy_checked");
	}
	/* malloc still fine after genpool's metadata arena was created. */
	p = malloc_ptr(64);
	check(p != NULL && in_libc("dlsym(malloc) after", dlsym(RTLD_DEFAULT,
								"malloc")),
	      "malloc after pool use is still glibc's");
	free_ptr(p);
	return failures ? 1 : 0;
}
