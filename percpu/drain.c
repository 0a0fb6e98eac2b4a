// SPDX-License-Identifier: MIT
/*
 * percpu/drain.c - giving cached objects back: every CPU (gp_cache_drain,
 * exhaustion, destroy), or only the CPUs that went idle (the reap).
 *
 * Only a thread running on a CPU touches that CPU's magazines, except a
 * drainer.  In the locked mode the drainer takes the CPU's lock.  In the
 * rseq mode it clears the CPU's entry in the table the sections read
 * (cpus[]), and then fences with membarrier()'s rseq command: a section
 * that had read the entry is aborted (and when it restarts it finds NULL)
 * or has already committed.  The magazines are then the drainer's until
 * it puts the entry back.  Meanwhile threads on that CPU go straight to
 * the pool.  New CPU states are made under drain_lock, so none appears
 * half-stopped.
 */
#include <errno.h>
#include <time.h>

#include "cache_internal.h"

/* Stop @only, or every CPU with state (rseq mode; under drain_lock). */
static void stop(struct gp_cache *c, struct gp_pcpu *only)
{
	for (unsigned long i = 0; i < c->ncpus; i++)
		if (c->states[i] && (!only || c->states[i] == only))
			__atomic_store_n(&c->cpus[i], NULL, __ATOMIC_SEQ_CST);
}

/* Empty @p's magazines into the pool; false if the pool refused some.
 * The caller holds drain_lock and, in the rseq mode, has stopped @p. */
static bool empty_cpu(struct gp_cache *c, struct gp_pcpu *p)
{
	size_t counts[GP_CACHE_MAX_CLASSES];
	unsigned long *buf = c->drain_buf;
	bool all_back = true;

	gpc_take_all(c, p, buf, counts);
	if (c->mode == GP_CACHE_MODE_RSEQ)
		__atomic_store_n(&c->cpus[p->cpu], p, __ATOMIC_RELEASE);
	for (unsigned int i = 0; i < c->nr_classes; i++) {
		if (gpc_give_back(c, p, i, buf, counts[i]))
			all_back = false;
		buf += c->cap[i];
	}
	return all_back;
}

/* Drain @only, or every CPU; the caller holds drain_lock. */
static bool drain_locked(struct gp_cache *c, struct gp_pcpu *only)
{
	bool all_back = true;
	bool rseq = c->mode == GP_CACHE_MODE_RSEQ;

	if (rseq) {
		stop(c, only);
		gpc_fence(only ? (long)only->cpu : -1);
	}
	for (unsigned long i = 0; i < c->ncpus; i++) {
		struct gp_pcpu *p = c->states[i];

		if (!p || (only && p != only))
			continue;
		if (!empty_cpu(c, p))
			all_back = false;
	}
	return all_back;
}

bool gpc_drain_all(struct gp_cache *c)
{
	bool all_back;

	pthread_mutex_lock(&c->drain_lock);
	all_back = drain_locked(c, NULL);
	pthread_mutex_unlock(&c->drain_lock);
	return all_back;
}

GPC_EXPORT void gp_cache_drain(struct gp_cache *c)
{
	if (c)
		gpc_drain_all(c);
}

/* Objects in @p's magazines (a snapshot). */
static uint64_t cpu_objects(const struct gp_cache *c, const struct gp_pcpu *p)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < c->nr_classes; i++)
		n += __atomic_load_n(&p->mag[i].count, __ATOMIC_RELAXED);
	return n;
}

uint64_t gpc_cached_objects(const struct gp_cache *c)
{
	uint64_t n = 0;

	for (unsigned long i = 0; i < c->ncpus; i++) {
		const struct gp_pcpu *p = gpc_state(c, i);

		if (p)
			n += cpu_objects(c, p);
	}
	return n;
}

/* Every use of @p's magazines moves this (drains do not). */
static uint64_t activity(const struct gp_cache *c, const struct gp_pcpu *p)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < c->nr_classes; i++)
		n += gpc_read(&p->mag[i].alloc_hits) +
		     gpc_read(&p->mag[i].free_hits) +
		     gpc_read(&p->slow[i].alloc_misses) +
		     gpc_read(&p->slow[i].free_misses);
	return n;
}

/* One reap pass; the caller holds drain_lock. */
static int reap_locked(struct gp_cache *c)
{
	int drained = 0;

	__atomic_store_n(&c->last_reap, gpc_now_ns(), __ATOMIC_RELAXED);
	for (unsigned long i = 0; i < c->ncpus; i++) {
		struct gp_pcpu *p = gpc_state(c, i);
		uint64_t seen;

		if (!p)
			continue;
		seen = activity(c, p);
		if (seen == p->reap_seen && cpu_objects(c, p)) {
			drain_locked(c, p);
			gpc_count(&c->idle_drains, 1);
			drained++;
		}
		p->reap_seen = seen;
	}
	return drained;
}

GPC_EXPORT int gp_cache_reap(struct gp_cache *c)
{
	int drained;

	if (!c)
		return -EINVAL;
	pthread_mutex_lock(&c->drain_lock);
	drained = reap_locked(c);
	pthread_mutex_unlock(&c->drain_lock);
	return drained;
}

/* Is a reap pass due? */
static bool reap_due(const struct gp_cache *c)
{
	uint64_t last = __atomic_load_n(&c->last_reap, __ATOMIC_RELAXED);

	return c->idle_ns != UINT64_MAX && gpc_now_ns() - last >= c->idle_ns;
}

void gpc_maybe_reap(struct gp_cache *c)
{
	if (!reap_due(c) || pthread_mutex_trylock(&c->drain_lock))
		return;
	if (reap_due(c))
		reap_locked(c);
	pthread_mutex_unlock(&c->drain_lock);
}

/* ----------------------------------------------------- the reap thread */

static void *reaper(void *arg)
{
	struct gp_cache *c = arg;

	pthread_mutex_lock(&c->reaper_lock);
	while (!c->reaper_stop) {
		struct timespec until;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += (time_t)(c->idle_ns / 1000000000u);
		until.tv_nsec += (long)(c->idle_ns % 1000000000u);
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		if (pthread_cond_timedwait(&c->reaper_cond, &c->reaper_lock,
					   &until) != ETIMEDOUT)
			continue;
		pthread_mutex_unlock(&c->reaper_lock);
		gp_cache_reap(c);
		pthread_mutex_lock(&c->reaper_lock);
	}
	pthread_mutex_unlock(&c->reaper_lock);
	return NULL;
}

int gpc_reaper_start(struct gp_cache *c)
{
	pthread_condattr_t attr;
	int ret;

	/* The thread waits on CLOCK_MONOTONIC: wall-clock jumps do not
	 * matter to an idle time. */
	pthread_cond_destroy(&c->reaper_cond);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&c->reaper_cond, &attr);
	pthread_condattr_destroy(&attr);
	ret = pthread_create(&c->reaper, NULL, reaper, c);
	c->reaper_running = !ret;
	return ret;
}

void gpc_reaper_stop(struct gp_cache *c)
{
	if (!c->reaper_running)
		return;
	pthread_mutex_lock(&c->reaper_lock);
	c->reaper_stop = true;
	pthread_cond_signal(&c->reaper_cond);
	pthread_mutex_unlock(&c->reaper_lock);
	pthread_join(c->reaper, NULL);
	c->reaper_running = false;
}
