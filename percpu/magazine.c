// SPDX-License-Identifier: MIT
/*
 * percpu/magazine.c - the current CPU's state and one push or pop of one of
 * its magazines, in either mode: an rseq section, or under the CPU's lock.
 * The hit path in cache.c inlines the rseq sections itself; these are for
 * the slow paths and the locked mode.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "cache_internal.h"
#if GP_PERCPU_RSEQ
#include "rseq_x86_64.h"
#endif

/* Allocate and publish CPU @cpu's state, under drain_lock so that no
 * drain is stopping the CPU meanwhile; NULL if memory ran out. */
__attribute__((noinline)) static struct gp_pcpu *
pcpu_create(struct gp_cache *c, unsigned long cpu)
{
	struct gp_pcpu *p = aligned_alloc(128, c->pcpu_size), *old;
	unsigned long *slots;

	if (!p)
		return NULL;
	memset(p, 0, c->pcpu_size);
	p->cpu = cpu;
	p->slow = (struct gp_slow *)((char *)p + c->slow_off);
	slots = (unsigned long *)((char *)p + c->slots_off);
	for (unsigned int i = 0; i < c->nr_classes; i++) {
		p->mag[i].cap = c->cap[i];
		p->mag[i].slots = slots;
		slots += c->cap[i];
	}
	pthread_mutex_lock(&c->drain_lock);
	old = c->states[cpu];
	if (!old) {
		__atomic_store_n(&c->states[cpu], p, __ATOMIC_RELEASE);
		__atomic_store_n(&c->cpus[cpu], p, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&c->drain_lock);
	if (!old)
		return p;
	free(p);
	return old;
}

/* The CPU this thread runs on (rseq), or uses (locked). */
static inline long current_cpu(const struct gp_cache *c)
{
#if GP_PERCPU_RSEQ
	if (c->mode == GP_CACHE_MODE_RSEQ)
		return gpc_rseq_cpu();
#endif
	return gpc_locked_cpu();
}

static inline struct gp_pcpu *this_pcpu(struct gp_cache *c)
{
	long cpu = current_cpu(c);
	struct gp_pcpu *p;

	if (gpc_unlikely(cpu < 0 || (unsigned long)cpu >= c->ncpus))
		return NULL;
	p = gpc_state(c, cpu);
	return gpc_likely(p) ? p : pcpu_create(c, cpu);
}

struct gp_pcpu *gpc_this_pcpu(struct gp_cache *c)
{
	return this_pcpu(c);
}

void gpc_pcpu_free_all(struct gp_cache *c)
{
	for (unsigned long i = 0; i < c->ncpus; i++)
		free(c->states[i]);
}

/* A lock held for a few instructions: spin a little, then yield (the
 * holder may have been preempted). */
__attribute__((noinline)) static void spin_wait(uint32_t *lock)
{
	unsigned int spins = 0;

	do {
		while (__atomic_load_n(lock, __ATOMIC_RELAXED)) {
			if (++spins < 128) {
#if defined(__x86_64__) || defined(__i386__)
				__builtin_ia32_pause();
#endif
			} else {
				sched_yield();
			}
		}
	} while (__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE));
}

static inline void spin_lock(uint32_t *lock)
{
	if (gpc_unlikely(__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE)))
		spin_wait(lock);
}

static void spin_unlock(uint32_t *lock)
{
	__atomic_store_n(lock, 0, __ATOMIC_RELEASE);
}

/* A store that the stats and the reap may read at the same time (with
 * relaxed loads): the owner's writes are relaxed atomic stores, plain
 * moves on x86-64. */
static inline void publish(uint32_t *field, uint32_t v)
{
	__atomic_store_n(field, v, __ATOMIC_RELAXED);
}

static inline void publish64(uint64_t *field, uint64_t v)
{
	__atomic_store_n(field, v, __ATOMIC_RELAXED);
}

/* This CPU's state with its lock held, or NULL. */
static struct gp_pcpu *lock_this_pcpu(struct gp_cache *c)
{
	struct gp_pcpu *p = this_pcpu(c);

	if (p)
		spin_lock(&p->lock);
	return p;
}

static bool locked_pop(struct gp_cache *c, unsigned int cls,
		       unsigned long *addr, bool count)
{
	struct gp_pcpu *p = lock_this_pcpu(c);
	struct gp_mag *m = p ? &p->mag[cls] : NULL;
	bool ok = m && m->count > 0;

	if (ok) {
		*addr = m->slots[m->count - 1];
		publish(&m->count, m->count - 1);
		publish64(&m->alloc_hits, m->alloc_hits + count);
	}
	if (p)
		spin_unlock(&p->lock);
	return ok;
}

static bool locked_push(struct gp_cache *c, unsigned int cls,
			unsigned long addr, bool count)
{
	struct gp_pcpu *p = lock_this_pcpu(c);
	struct gp_mag *m = p ? &p->mag[cls] : NULL;
	bool ok = m && m->count < m->cap;

	if (ok) {
		m->slots[m->count] = addr;
		publish(&m->count, m->count + 1);
		publish64(&m->free_hits, m->free_hits + count);
	}
	if (p)
		spin_unlock(&p->lock);
	return ok;
}

bool gpc_pop(struct gp_cache *c, unsigned int cls, unsigned long *addr,
	     bool count)
{
#if GP_PERCPU_RSEQ
	if (c->mode == GP_CACHE_MODE_RSEQ) {
		uint16_t off = gpc_off_of_class(cls);

		*addr = count ? gpc_rseq_pop(c, off) : gpc_rseq_pop_quiet(c, off);
		return *addr != 0;
	}
#endif
	return locked_pop(c, cls, addr, count);
}

#if GP_PERCPU_RSEQ
static bool rseq_push(struct gp_cache *c, uint16_t off, unsigned long addr,
		      bool count)
{
	return count ? gpc_rseq_push(c, off, addr)
		     : gpc_rseq_push_quiet(c, off, addr);
}
#endif

bool gpc_push(struct gp_cache *c, unsigned int cls, unsigned long addr,
	      bool count)
{
#if GP_PERCPU_RSEQ
	if (c->mode == GP_CACHE_MODE_RSEQ) {
		uint16_t off = gpc_off_of_class(cls);
		long cpu;

		if (rseq_push(c, off, addr, count))
			return true;
		/* A CPU without state yet: create it and try once more. */
		cpu = gpc_rseq_cpu();
		if (cpu < 0 || (unsigned long)cpu >= c->ncpus ||
		    gpc_state(c, cpu) ||
		    !gpc_this_pcpu(c))
			return false;
		return rseq_push(c, off, addr, count);
	}
#endif
	return locked_push(c, cls, addr, count);
}

void gpc_take_all(struct gp_cache *c, struct gp_pcpu *p, unsigned long *buf,
		  size_t *counts)
{
	bool locked = c->mode == GP_CACHE_MODE_LOCKED;

	/* The rseq mode's caller has stopped @p and fenced its CPU. */
	if (locked)
		spin_lock(&p->lock);
	for (unsigned int i = 0; i < c->nr_classes; i++) {
		struct gp_mag *m = &p->mag[i];

		counts[i] = m->count;
		memcpy(buf, m->slots, m->count * sizeof(*buf));
		buf += m->cap;
		publish(&m->count, 0);
	}
	if (locked)
		spin_unlock(&p->lock);
}
