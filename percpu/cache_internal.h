/* SPDX-License-Identifier: MIT */
/*
 * percpu/cache_internal.h - the cache's structures, shared by percpu/.
 *
 * Per CPU, one struct gp_pcpu holds a magazine per class: a count and an
 * array of addresses, used as a stack.  The rseq sections (rseq_x86_64.h)
 * read the gp_mag fields at fixed offsets: keep the layout in step with
 * the assembly (the static asserts below).
 *
 * Two tables point at the per-CPU state: @states (every CPU's, once it
 * exists) and @cpus, which the hit path reads: the same pointer, or NULL
 * while the CPU has no state or a drainer has stopped it.
 */
#ifndef GENPOOL_PERCPU_CACHE_INTERNAL_H
#define GENPOOL_PERCPU_CACHE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "genpool/genalloc.h"
#include "genpool/percpu.h"

#if defined(__GNUC__)
#define GPC_EXPORT __attribute__((visibility("default")))
#else
#define GPC_EXPORT
#endif

#define gpc_likely(x) __builtin_expect(!!(x), 1)
#define gpc_unlikely(x) __builtin_expect(!!(x), 0)

/* One class's magazine on one CPU. */
struct gp_mag {
	uint32_t count;		/* objects in @slots: the committing store */
	uint32_t cap;		/* most objects it may hold */
	unsigned long *slots;	/* [cap], in the CPU's gp_pcpu allocation */
	uint64_t alloc_hits;	/* bumped inside the section, before commit */
	uint64_t free_hits;
};

/* What the slow paths count, per CPU and class (relaxed atomics: threads
 * that migrated may share a CPU's slow path). */
struct gp_slow {
	uint64_t alloc_misses;
	uint64_t free_misses;
	uint64_t refills;
	uint64_t refilled;
	uint64_t flushes;
	uint64_t flushed;
};

/* One CPU's state, allocated the first time a thread uses that CPU. */
struct gp_pcpu {
	uint32_t lock;		/* guards the magazines (locked mode) */
	unsigned int cpu;
	uint64_t reap_seen;	/* activity at the previous reap */
	struct gp_slow *slow;	/* [nr_classes] */
	struct gp_mag mag[];	/* [nr_classes] */
};

_Static_assert(offsetof(struct gp_mag, count) == 0 &&
	       offsetof(struct gp_mag, cap) == 4 &&
	       offsetof(struct gp_mag, slots) == 8 &&
	       offsetof(struct gp_mag, alloc_hits) == 16 &&
	       offsetof(struct gp_mag, free_hits) == 24 &&
	       sizeof(struct gp_mag) == 32, "rseq: gp_mag layout");

/* The checked mode's record of cached objects: a bit per unit of each
 * chunk, set while the object starting there sits in a magazine. */
struct gpc_span {
	unsigned long start;	/* first address of the chunk */
	unsigned long end;	/* one past its last */
	unsigned long *bits;
};
struct gpc_table {
	unsigned int n;
	struct gpc_table *older;	/* replaced tables, freed at destroy */
	struct gpc_span s[];		/* sorted by start */
};

struct gp_cache {
	/* What every hit reads: one cache line. */
	struct gp_pcpu **cpus;		/* [ncpus]; NULL: none or stopped */
	unsigned long ncpus;		/* possible CPUs */
	size_t hit_max;			/* rseq mode, not checked: max_bytes;
					 * else 0 (every call takes the slow
					 * path); one compare on the hit path */
	size_t max_bytes;		/* largest request that may be a class */
	const uint16_t *magoff;		/* [units - 1]: offset of the class's
					 * gp_mag in gp_pcpu; 0: not cached */
	unsigned long span_lo;		/* the chunks' span, for the O(1) free */
	unsigned long span_len;		/* check (relaxed atomics) */
	unsigned long unit_mask;	/* unit - 1 */
	unsigned int order;		/* the pool's min_alloc_order */

	struct gen_pool *pool;
	enum gp_cache_mode mode;
	const char *mode_reason;
	bool checked;
	unsigned int nr_classes;
	unsigned int units[GP_CACHE_MAX_CLASSES];	/* class sizes, units */
	unsigned int cap[GP_CACHE_MAX_CLASSES];		/* magazine sizes */
	unsigned int bat[GP_CACHE_MAX_CLASSES];		/* refill/flush sizes */
	unsigned int batch;
	size_t cpu_bytes;
	uint64_t idle_ns;		/* UINT64_MAX: never */
	size_t pcpu_size;		/* bytes of one gp_pcpu allocation */
	size_t slow_off;		/* offset of its gp_slow array */
	size_t slots_off;		/* offset of its slot arrays */

	/* Not on any hot path: its own cache lines. */
	_Alignas(64) struct gp_pcpu **states;	/* [ncpus]; set once each */
	pthread_mutex_t drain_lock;	/* drains, reaps, new CPU states */
	unsigned long *drain_buf;	/* [sum of caps], under drain_lock */
	uint64_t last_reap;		/* ns, CLOCK_MONOTONIC; atomic */
	uint64_t bypassed, exhausted, idle_drains, misuse;	/* atomic */
	pthread_mutex_t chk_lock;	/* writers of @chk and of the span */
	struct gpc_table *chk;		/* atomic (acquire/release) */
	pthread_t reaper;
	bool reaper_running;
	bool reaper_stop;		/* under reaper_lock */
	pthread_mutex_t reaper_lock;
	pthread_cond_t reaper_cond;
	bool stats_attached;		/* our section in gp_stats_print() */
	uint16_t magoff_table[];	/* what @magoff points to */
};

/* The locked mode's CPU for this thread, below the possible CPUs: any
 * CPU's lock is correct, so a stale answer costs locality, never safety;
 * hence sched_getcpu() only every few uses (mode.c). */
void gpc_cpu_refresh(void);
extern __thread __attribute__((tls_model("initial-exec"))) int gpc_tls_cpu;
extern __thread
	__attribute__((tls_model("initial-exec"))) unsigned int gpc_tls_left;
static inline long gpc_locked_cpu(void)
{
	if (gpc_unlikely(!gpc_tls_left--))
		gpc_cpu_refresh();
	return gpc_tls_cpu;
}

/* Relaxed atomic counter helpers. */
static inline void gpc_count(uint64_t *ctr, uint64_t n)
{
	__atomic_fetch_add(ctr, n, __ATOMIC_RELAXED);
}
static inline uint64_t gpc_read(const uint64_t *ctr)
{
	return __atomic_load_n(ctr, __ATOMIC_RELAXED);
}

/* Class index of a magazine offset. */
static inline unsigned int gpc_class_of_off(uint16_t off)
{
	return (off - offsetof(struct gp_pcpu, mag)) / sizeof(struct gp_mag);
}

/* Offset of class @cls's magazine. */
static inline uint16_t gpc_off_of_class(unsigned int cls)
{
	return offsetof(struct gp_pcpu, mag) + cls * sizeof(struct gp_mag);
}

/* Bytes of class @cls. */
static inline size_t gpc_class_bytes(const struct gp_cache *c,
				     unsigned int cls)
{
	return (size_t)c->units[cls] << c->order;
}

/* mode.c: choosing the mode, CPUs, the fence. */
void gpc_choose_mode(unsigned int flags, enum gp_cache_mode *mode,
		     const char **reason);
unsigned int gpc_env_flags(void);
unsigned long gpc_possible_cpus(void);
int gpc_fence(long cpu);
uint64_t gpc_now_ns(void);

/* magazine.c: the magazines of this CPU, in either mode. */
struct gp_pcpu *gpc_this_pcpu(struct gp_cache *c);
bool gpc_pop(struct gp_cache *c, unsigned int cls, unsigned long *addr,
	     bool count);
bool gpc_push(struct gp_cache *c, unsigned int cls, unsigned long addr,
	      bool count);
void gpc_pcpu_free_all(struct gp_cache *c);
/* CPU @cpu's state (NULL: none yet). */
static inline struct gp_pcpu *gpc_state(const struct gp_cache *c,
					unsigned long cpu)
{
	return __atomic_load_n(&c->states[cpu], __ATOMIC_ACQUIRE);
}
/* Has a drainer stopped @p (rseq mode)? */
static inline bool gpc_stopped(const struct gp_cache *c,
			       const struct gp_pcpu *p)
{
	return __atomic_load_n(&c->cpus[p->cpu], __ATOMIC_RELAXED) != p;
}
/* Empty every magazine of @p into @buf (class i at the sum of the caps
 * before it), @counts[i] objects each.  Locked mode: takes @p's lock;
 * rseq mode: the caller has stopped @p and fenced its CPU. */
void gpc_take_all(struct gp_cache *c, struct gp_pcpu *p, unsigned long *buf,
		  size_t *counts);

/* drain.c */
/* Drain every CPU; returns false if the pool refused some objects. */
bool gpc_drain_all(struct gp_cache *c);
uint64_t gpc_cached_objects(const struct gp_cache *c);
void gpc_maybe_reap(struct gp_cache *c);
int gpc_reaper_start(struct gp_cache *c);
void gpc_reaper_stop(struct gp_cache *c);

/* stats.c: the cache's section of the pool's gp_stats_print(). */
bool gpc_stats_attach(struct gp_cache *c);
void gpc_stats_detach(struct gp_cache *c);

/* checked.c */
int gpc_chk_enter(struct gp_cache *c, unsigned long addr);
void gpc_chk_leave(struct gp_cache *c, unsigned long addr);
void gpc_chk_leave_all(struct gp_cache *c, const unsigned long *addrs,
		       size_t n);
bool gpc_span_refresh(struct gp_cache *c, unsigned long addr);
void gpc_chk_free(struct gp_cache *c);

/* cache.c: giving objects back to the pool, counted. */
/* Give @n objects of class @cls back to the pool, counted as one flush of
 * @p (if not NULL); returns gp_free_bulk()'s answer. */
int gpc_give_back(struct gp_cache *c, struct gp_pcpu *p, unsigned int cls,
		  unsigned long *addrs, size_t n);
/* gen_pool_alloc(), and if the pool is out of room while the cache holds
 * objects: drain every CPU and try once more. */
unsigned long gpc_pool_alloc(struct gp_cache *c, size_t size);

#endif /* GENPOOL_PERCPU_CACHE_INTERNAL_H */
