/* SPDX-License-Identifier: MIT */
/*
 * genpool/percpu.h - per-CPU caches in front of a pool.
 *
 * A cache keeps, per CPU and per size class, a magazine (an array stack) of
 * ordinary pool allocations.  gp_cache_alloc() of a cached size pops one,
 * gp_cache_free() pushes it back; only when a magazine runs empty or full
 * does the cache go to the pool, half a magazine at a time, through
 * gp_alloc_bulk() / gp_free_bulk().  On x86-64 with glibc's restartable
 * sequences (rseq) registered, the push and the pop are a critical section
 * that ends in one committing store: no lock, no atomic, no system call.
 * Elsewhere, or when asked to, each CPU's magazines sit behind a lock.
 *
 * Every cached object is an allocation of exactly its class's size, so
 * gen_pool_free() of an object the cache handed out is correct, and after
 * gp_cache_drain() the pool's gen_pool_avail() is exact again.  Nothing is
 * ever written into managed memory.
 *
 * Misuse (docs/guide.md, "Per-CPU caches", says the same at length):
 *   default mode - gp_cache_free() checks in O(1) that the address lies in
 *     the span of the pool's chunks and on a unit boundary, and that the
 *     size is a cached class; anything else (a foreign address inside the
 *     span, a wrong class, a double free) is caught when the object next
 *     reaches the pool: every flush is validated by gp_free_bulk(), which
 *     reports it and drops it.  Until that flush the object may be handed
 *     out again, so a double free can hand the same memory out twice.
 *   checked mode (GP_CACHE_CHECKED) - every gp_cache_free() asks the pool
 *     whether the object is exactly one live allocation of its class
 *     (gp_check_alloc()) and sets a bit per cached object: a foreign
 *     address, a wrong class or a double free into the cache is reported
 *     at free time and the object is not taken.  Costs a pool look-up and
 *     two atomic operations per alloc/free pair.
 * Reports go through the pool's misuse handler and policy (abort by
 * default), like the pool's own.
 */
#ifndef GENPOOL_PERCPU_H
#define GENPOOL_PERCPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "genpool/genalloc.h"

#ifdef __cplusplus
extern "C" {
#endif

struct gp_cache;

/* At most this many size classes per cache. */
#define GP_CACHE_MAX_CLASSES 32
/* The largest class, in units of the pool. */
#define GP_CACHE_MAX_UNITS 4096
/* The largest magazine, in objects. */
#define GP_CACHE_MAX_MAGAZINE 1024
/* gp_cache_config.idle_ms: never drain idle CPUs. */
#define GP_CACHE_IDLE_NEVER 0xffffffffu

/* gp_cache_config.flags */
#define GP_CACHE_LOCKED (1u << 0)      /* force the locked mode */
#define GP_CACHE_CHECKED (1u << 1)     /* detect misuse at free time */
#define GP_CACHE_REAP_THREAD (1u << 2) /* a thread runs the idle drain */

/**
 * struct gp_cache_config - how a cache is built (all zero: defaults).
 * @flags:       GP_CACHE_* flags
 * @max_units:   cache every size of 1 .. @max_units units (default 16);
 *               ignored when @class_units is given
 * @class_units: or exactly these sizes, in units, ascending, each at most
 *               GP_CACHE_MAX_UNITS; a request of any other size goes to
 *               the pool (sizes are never rounded up to a class, so that
 *               gen_pool_free() of a cached object stays correct)
 * @nr_classes:  entries in @class_units (at most GP_CACHE_MAX_CLASSES)
 * @magazine:    most objects per class per CPU (default 128, at most
 *               GP_CACHE_MAX_MAGAZINE)
 * @batch:       objects per refill or flush (default half a magazine)
 * @cpu_bytes:   byte cap per CPU (default 1 MiB): each class gets an equal
 *               share, and its magazine holds at most share / size objects;
 *               a class whose share holds fewer than 2 is not cached
 * @idle_ms:     a CPU whose magazines saw no use for this long is drained
 *               (default 1000; GP_CACHE_IDLE_NEVER: never)
 */
struct gp_cache_config {
	unsigned int flags;
	unsigned int max_units;
	const unsigned int *class_units;
	unsigned int nr_classes;
	unsigned int magazine;
	unsigned int batch;
	size_t cpu_bytes;
	unsigned int idle_ms;
};

/** enum gp_cache_mode - how the per-CPU magazines are protected. */
enum gp_cache_mode {
	GP_CACHE_MODE_RSEQ = 1,	  /* restartable sequences, no locks */
	GP_CACHE_MODE_LOCKED = 2, /* a lock per CPU */
};

/**
 * gp_cache_create - create a per-CPU cache in front of @pool.
 * @pool: the pool; it must outlive the cache
 * @cfg:  the configuration, or NULL for the defaults
 *
 * The mode is chosen here, once: the locked mode if @cfg asks for it
 * (GP_CACHE_LOCKED), if the environment variable GENPOOL_CACHE contains
 * "locked", if the library was built without rseq (-Dpercpu_rseq=disabled,
 * or not x86-64), if glibc registered no rseq area (for example
 * GLIBC_TUNABLES=glibc.pthread.rseq=0) or if membarrier's rseq fence is
 * unavailable; the rseq mode otherwise.  GENPOOL_CACHE containing
 * "checked" sets GP_CACHE_CHECKED.  Per-CPU state is sized by the possible
 * CPUs and allocated on first use of each CPU.
 *
 * Returns the cache, or NULL with errno EINVAL (NULL pool, a bad
 * configuration) or ENOMEM.  Context: thread-safe, may block.
 */
struct gp_cache *gp_cache_create(struct gen_pool *pool,
				 const struct gp_cache_config *cfg);

/**
 * gp_cache_destroy - drain the cache back into its pool and free it.
 * @cache: the cache
 *
 * Objects the cache handed out and that are still in use stay ordinary
 * allocations of the pool: free them with gen_pool_free().
 * Returns 0, -EINVAL for NULL, or -EBUSY when the pool refused some of
 * the cached objects (misuse in the default mode, already reported): the
 * cache is destroyed all the same and those addresses are dropped.
 * Context: no other thread may use @cache during or after the call.
 */
int gp_cache_destroy(struct gp_cache *cache);

/**
 * gp_cache_alloc - allocate @size bytes, from this CPU's cache if it can.
 * @cache: the cache
 * @size:  bytes
 *
 * A size that is a cached class comes from this CPU's magazine, refilled
 * from the pool when empty; any other size is gen_pool_alloc() of the pool.
 * If the pool has no room, every CPU's cache is drained and the allocation
 * is tried once more before it fails.  Returns the address, or 0 with
 * errno EINVAL (NULL cache, size 0) or ENOMEM.
 * Context: thread-safe; lock-free in the rseq mode; not async-signal-safe.
 */
unsigned long gp_cache_alloc(struct gp_cache *cache, size_t size);

/**
 * gp_cache_free - give back what gp_cache_alloc() (or gen_pool_alloc() of
 * the same pool) returned.
 * @cache: the cache
 * @addr:  the address
 * @size:  the size it was allocated with
 *
 * A cached size goes to this CPU's magazine (flushing half of it to the
 * pool when full), any other size to gen_pool_free().  Misuse is reported
 * through the pool's handler and policy: at once for what the mode checks,
 * at the next flush for the rest (see the top of this header).
 * Context: as gp_cache_alloc().
 */
void gp_cache_free(struct gp_cache *cache, unsigned long addr, size_t size);

/**
 * gp_cache_free_checked - gp_cache_free() that validates first and returns
 * an error instead of reporting.
 * @cache, @addr, @size: as gp_cache_free()
 *
 * The object is taken only if the pool holds it as exactly one live
 * allocation of @size bytes and, in the checked mode, it is not already in
 * the cache.  Returns 0, or with nothing changed: -EINVAL (NULL cache,
 * size 0, address off a unit boundary), -EFAULT (no chunk of the pool
 * holds @addr), -ERANGE (runs past its chunk), -EBADSLT (allocated, but
 * not with this size), -EALREADY (already free: in the pool, or in the
 * cache in the checked mode).  Costs a pool look-up.
 * Context: as gp_cache_alloc().
 */
int gp_cache_free_checked(struct gp_cache *cache, unsigned long addr,
			  size_t size);

/**
 * gp_cache_drain - give every CPU's cached objects back to the pool.
 * @cache: the cache
 *
 * Afterwards gen_pool_avail() of the pool is exact, unless other threads
 * use the cache meanwhile.  In the rseq mode another CPU's magazines are
 * emptied after a membarrier() rseq fence on that CPU.
 * Context: thread-safe, may block (a system call per active CPU).
 */
void gp_cache_drain(struct gp_cache *cache);

/**
 * gp_cache_reap - drain the CPUs whose magazines saw no use since the
 * previous reap, if that was at least the idle time ago.
 * @cache: the cache
 *
 * The cache reaps by itself from its slow paths (and from its thread with
 * GP_CACHE_REAP_THREAD); a server with its own timer may call this too.
 * Returns the number of CPUs drained, or -EINVAL.
 * Context: thread-safe, may block.
 */
int gp_cache_reap(struct gp_cache *cache);

/**
 * gp_cache_pool - the pool behind a cache.
 * @cache: the cache, or NULL
 *
 * Return: the pool @cache was created over, or NULL when @cache is NULL.
 * Context: thread-safe, lock-free.
 */
struct gen_pool *gp_cache_pool(const struct gp_cache *cache);

/**
 * gp_cache_set_thread_cpu - make the calling thread use CPU @cpu's
 * magazines in every locked-mode cache (a test and debugging hook).
 * @cpu: a possible CPU, or -1 to go back to the CPU the thread runs on
 *
 * The rseq mode always uses the CPU the thread runs on and ignores this.
 * Returns 0, or -EINVAL if @cpu is not a possible CPU.
 * Context: affects the calling thread only.
 */
int gp_cache_set_thread_cpu(int cpu);

/**
 * struct gp_cache_counters - what a CPU's (or a class's) magazines did.
 * @alloc_hits:   allocations served from a magazine
 * @free_hits:    frees kept in a magazine
 * @alloc_misses: allocations that found the magazine empty
 * @free_misses:  frees that found it full
 * @refills:      batches taken from the pool
 * @refilled:     objects taken from the pool
 * @flushes:      batches given back (full magazine, drain, idle drain)
 * @flushed:      objects given back
 * @objects:      objects cached now
 * @bytes:        bytes cached now
 *
 * In the rseq mode a hit is counted inside the critical section, before
 * its commit, so a section the kernel aborts and restarts counts twice:
 * the hit counts may run a little high, never low.
 */
struct gp_cache_counters {
	uint64_t alloc_hits;
	uint64_t free_hits;
	uint64_t alloc_misses;
	uint64_t free_misses;
	uint64_t refills;
	uint64_t refilled;
	uint64_t flushes;
	uint64_t flushed;
	uint64_t objects;
	uint64_t bytes;
};

/**
 * struct gp_cache_class_stats - one size class.
 * @size:     bytes of each object
 * @capacity: magazine size per CPU (0: the class is not cached)
 * @c:        its counters, summed over CPUs
 */
struct gp_cache_class_stats {
	size_t size;
	unsigned int capacity;
	struct gp_cache_counters c;
};

/**
 * struct gp_cache_stats - a snapshot of a cache.
 * @mode:          the mode that runs
 * @mode_name:     "rseq" or "locked"
 * @mode_reason:   why that mode was chosen, in a few words
 * @checked:       the checked mode is on
 * @possible_cpus: CPUs the per-CPU state is sized for
 * @active_cpus:   CPUs whose state has been allocated
 * @nr_classes:    size classes
 * @cpu_bytes:     the byte cap per CPU
 * @batch:         objects per refill or flush
 * @bypassed:      requests that went straight to the pool (size not a
 *                 class, or a thread rseq could not serve)
 * @exhausted:     times the pool ran out and every CPU was drained
 * @idle_drains:   CPUs drained because they were idle
 * @misuse:        misuse the cache detected itself (the pool counts none
 *                 of it; what a flush finds, the pool reports)
 * @total:         counters summed over CPUs and classes
 * @classes:       per class, @nr_classes of them
 */
struct gp_cache_stats {
	enum gp_cache_mode mode;
	const char *mode_name;
	const char *mode_reason;
	bool checked;
	unsigned int possible_cpus;
	unsigned int active_cpus;
	unsigned int nr_classes;
	size_t cpu_bytes;
	unsigned int batch;
	uint64_t bypassed;
	uint64_t exhausted;
	uint64_t idle_drains;
	uint64_t misuse;
	struct gp_cache_counters total;
	struct gp_cache_class_stats classes[GP_CACHE_MAX_CLASSES];
};

/**
 * gp_cache_get_stats - fill @st with a snapshot of @cache.
 * @cache: the cache
 * @st:    receives the figures
 *
 * Return: 0, or -EINVAL for a NULL argument.
 * Context: thread-safe; reads every active CPU's counters without stopping
 * anyone, so the figures are a snapshot.
 */
int gp_cache_get_stats(struct gp_cache *cache, struct gp_cache_stats *st);

/**
 * gp_cache_get_cpu_stats - the counters of one CPU, summed over classes.
 * @cache: the cache
 * @cpu:   a possible CPU
 * @c:     receives the counters
 * Returns 0, -EINVAL (NULL argument, @cpu not possible) or -ENOENT (the
 * CPU's state was never allocated: it has cached nothing).
 * Context: as gp_cache_get_stats().
 */
int gp_cache_get_cpu_stats(struct gp_cache *cache, unsigned int cpu,
			   struct gp_cache_counters *c);

/**
 * gp_cache_print_stats - print the cache's stats as a few lines of text:
 * the mode and why, the totals, one line per class and per active CPU.
 * @cache: the cache
 * @fp:    where to
 * Returns 0 or -EINVAL.  Context: as gp_cache_get_stats().
 */
int gp_cache_print_stats(struct gp_cache *cache, FILE *fp);

#ifdef __cplusplus
}
#endif

#endif /* GENPOOL_PERCPU_H */
