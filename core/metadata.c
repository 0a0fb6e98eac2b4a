// SPDX-License-Identifier: MIT
/*
 * core/metadata.c - memory for pools, chunks and bitmaps.
 *
 * Metadata never lives in managed memory (it may be device memory or a DMA
 * buffer in flight).  It comes from a private copy of jemalloc (see
 * core/jemalloc-private.sh): one dedicated arena for NUMA_NO_NODE and one
 * per NUMA node, whose extents are bound to that node with mbind() when
 * libnuma is present.  The tcache is bypassed: metadata is allocated rarely
 * and freed from any thread.  Built with -Dmetadata=libc, the host's malloc
 * is used instead so that sanitizers see every metadata access.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>

#include "pool_internal.h"

#ifdef GP_HAVE_NUMA
#include <numa.h>
#include <numaif.h>
#endif

/* Most nodes we give an arena of their own; more are refused as invalid. */
#define GP_MAX_NODES 64

bool gpi_valid_nid(int nid)
{
	if (nid == NUMA_NO_NODE)
		return true;
	if (nid < 0 || nid >= GP_MAX_NODES)
		return false;
#ifdef GP_HAVE_NUMA
	return numa_available() >= 0 ? nid <= numa_max_node() : nid == 0;
#else
	return nid == 0;
#endif
}

/* Blocks this large are checked against the machine's memory; smaller
 * ones cannot exceed any machine genpool runs on (and stay syscall-free). */
#define GP_META_CHECKED_SIZE (1UL << 20)

/*
 * Could this machine ever hold @size bytes?  Not if they exceed its RAM
 * and swap together, the bound the kernel's default overcommit heuristic
 * puts on one mapping.  Metadata is committed lazily, as allocations write
 * the bitmaps, so a block past that bound is a promise of an OOM kill: the
 * private jemalloc maps with MAP_NORESERVE under that heuristic (so the
 * kernel never checks), and a chunk whose bitmaps no machine of this size
 * can hold used to be accepted.
 */
static bool machine_can_hold(size_t size)
{
	struct sysinfo si;

	if (size < GP_META_CHECKED_SIZE || sysinfo(&si) != 0)
		return true;
	return size / si.mem_unit <= (unsigned long long)si.totalram +
				     si.totalswap;
}

#ifdef GP_METADATA_JEMALLOC

#include <jemalloc/jemalloc.h>

/* Every block on a cache line boundary (pool_internal.h lays out the
 * chunk's per-thread counters by lines); freed with the same flag, which
 * the sized free needs to find the size class. */
#define META_ALIGN MALLOCX_ALIGN(GP_CACHE_LINE)

/* The private copy's entry points (renamed by jemalloc-private.sh). */
void *gpje_mallocx(size_t size, int flags);
void gpje_dallocx(void *ptr, int flags);
void gpje_sdallocx(void *ptr, size_t size, int flags);
int gpje_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp,
		 size_t newlen);

#ifdef GP_HAVE_NUMA
/* extent hook: fresh, node-bound pages for a node's arena. */
static void *node_extent_alloc(extent_hooks_t *hooks, void *new_addr,
			       size_t size, size_t alignment, bool *zero,
			       bool *commit, unsigned arena_ind);
static bool node_extent_dalloc(extent_hooks_t *hooks, void *addr, size_t size,
			       bool committed, unsigned arena_ind);
#endif

struct node_arena {
	unsigned arena;		/* valid once @ready is set */
	int ready;		/* atomic: 1 once the arena exists */
#ifdef GP_HAVE_NUMA
	extent_hooks_t hooks;	/* first member use: container lookup */
#endif
};

static struct node_arena arenas[GP_MAX_NODES + 1];
static pthread_mutex_t arenas_lock = PTHREAD_MUTEX_INITIALIZER;

#ifdef GP_HAVE_NUMA
/* Node whose hooks are @hooks. */
static int node_of_hooks(const extent_hooks_t *hooks)
{
	for (int i = 0; i < GP_MAX_NODES; i++)
		if (&arenas[i + 1].hooks == hooks)
			return i;
	return NUMA_NO_NODE;
}

static void *node_extent_alloc(extent_hooks_t *hooks, void *new_addr,
			       size_t size, size_t alignment, bool *zero,
			       bool *commit, unsigned arena_ind)
{
	size_t span = size + alignment;
	unsigned long nodemask[GP_MAX_NODES / (8 * sizeof(long))] = { 0 };
	int nid = node_of_hooks(hooks);
	char *raw, *aligned;

	/* jemalloc only asks for a fixed address to grow in place. */
	if (new_addr || span < size)
		return NULL;
	raw = mmap(NULL, span, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	aligned = (char *)(((uintptr_t)raw + alignment - 1) & ~(alignment - 1));
	if (aligned > raw)
		munmap(raw, (size_t)(aligned - raw));
	if (aligned + size < raw + span)
		munmap(aligned + size, (size_t)(raw + span - (aligned + size)));
	if (nid >= 0) {
		nodemask[nid / (8 * sizeof(long))] |= 1UL << (nid % (8 * sizeof(long)));
		/* Preferred, not bound: metadata must not fail for placement. */
		mbind(aligned, size, MPOL_PREFERRED, nodemask, GP_MAX_NODES, 0);
	}
	*zero = true;
	*commit = true;
	return aligned;
}

static bool node_extent_dalloc(extent_hooks_t *hooks, void *addr, size_t size,
			       bool committed, unsigned arena_ind)
{
	return munmap(addr, size) != 0;
}
#endif

/*
 * Create the arena for @nid (NUMA_NO_NODE: slot 0).  Caller holds the lock.
 * A failure (memory short: jemalloc cannot map the arena's first block) is
 * not remembered, so the next allocation tries again: a shortage must not
 * outlive itself.  jemalloc reuses the index of an arena it failed to
 * make, so retries do not use up arena numbers.
 */
static void create_arena(int nid)
{
	struct node_arena *a = &arenas[nid + 1];
	size_t len = sizeof(a->arena);
	void *newp = NULL;
	size_t newlen = 0;
#ifdef GP_HAVE_NUMA
	extent_hooks_t *hooks = &a->hooks;

	if (nid >= 0 && numa_available() >= 0) {
		a->hooks.alloc = node_extent_alloc;
		a->hooks.dalloc = node_extent_dalloc;
		newp = &hooks;
		newlen = sizeof(hooks);
	}
#endif
	if (gpje_mallctl("arenas.create", &a->arena, &len, newp, newlen) == 0)
		__atomic_store_n(&a->ready, 1, __ATOMIC_RELEASE);
}

/* The mallocx flags for metadata of node @nid, or -1 if there is no arena. */
static int arena_flags(int nid)
{
	struct node_arena *a = &arenas[nid + 1];

	if (!__atomic_load_n(&a->ready, __ATOMIC_ACQUIRE)) {
		pthread_mutex_lock(&arenas_lock);
		if (!__atomic_load_n(&a->ready, __ATOMIC_RELAXED))
			create_arena(nid);
		pthread_mutex_unlock(&arenas_lock);
		if (!__atomic_load_n(&a->ready, __ATOMIC_ACQUIRE))
			return -1;
	}
	return (int)(MALLOCX_ARENA(a->arena) | MALLOCX_TCACHE_NONE |
		     META_ALIGN);
}

void *gpi_meta_zalloc(size_t size, int nid)
{
	int flags = arena_flags(gpi_valid_nid(nid) ? nid : NUMA_NO_NODE);

	if (flags < 0 || size == 0 || !machine_can_hold(size))
		return NULL;
	return gpje_mallocx(size, flags | MALLOCX_ZERO);
}

void gpi_meta_free(void *ptr, size_t size)
{
	/* The arena is recorded in the extent: any arena's flags free it. */
	if (ptr)
		gpje_sdallocx(ptr, size, MALLOCX_TCACHE_NONE | META_ALIGN);
}

#else /* metadata from the host's malloc */

void *gpi_meta_zalloc(size_t size, int nid)
{
	void *p;

	if (!size || !machine_can_hold(size) ||
	    posix_memalign(&p, GP_CACHE_LINE, size))
		return NULL;
	return memset(p, 0, size);
}

void gpi_meta_free(void *ptr, size_t size)
{
	free(ptr);
}

#endif

char *gpi_meta_strdup(const char *s, int nid)
{
	size_t len = strlen(s) + 1;
	char *copy = gpi_meta_zalloc(len, nid);

	if (copy)
		memcpy(copy, s, len);
	return copy;
}

void gpi_meta_strfree(char *s)
{
	if (s)
		gpi_meta_free(s, strlen(s) + 1);
}
