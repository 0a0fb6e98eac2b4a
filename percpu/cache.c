// SPDX-License-Identifier: MIT
/*
 * percpu/cache.c - creating and destroying a cache, and the way of an
 * allocation and a free: the hit (an rseq section inlined here, or a
 * locked push/pop), the miss (a batch from the pool), the overflow (a
 * batch back), exhaustion (drain everything, try once more) and misuse.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cache_internal.h"
#if GP_PERCPU_RSEQ
#include "rseq_x86_64.h"
#endif

#define GPC_DEFAULT_UNITS 16
#define GPC_DEFAULT_MAGAZINE 128
#define GPC_DEFAULT_CPU_BYTES ((size_t)1 << 20)
#define GPC_DEFAULT_IDLE_MS 1000
#define GPC_MIN_CAP 2

/* ------------------------------------------------------------ create */

/* The class sizes @cfg asks for, into @c->units; false if they are bad. */
static bool pick_classes(struct gp_cache *c, const struct gp_cache_config *cfg)
{
	unsigned int n = cfg->class_units ? cfg->nr_classes : cfg->max_units;

	if (!cfg->class_units && !n)
		n = GPC_DEFAULT_UNITS;
	if (!n || n > GP_CACHE_MAX_CLASSES)
		return false;
	for (unsigned int i = 0; i < n; i++) {
		c->units[i] = cfg->class_units ? cfg->class_units[i] : i + 1;
		if (!c->units[i] || c->units[i] > GP_CACHE_MAX_UNITS ||
		    (i && c->units[i] <= c->units[i - 1]))
			return false;
	}
	c->nr_classes = n;
	return true;
}

/* Magazine and batch sizes: an equal share of the byte cap per class. */
static void size_magazines(struct gp_cache *c, unsigned int magazine)
{
	size_t share = c->cpu_bytes / c->nr_classes;

	for (unsigned int i = 0; i < c->nr_classes; i++) {
		size_t fits = share / gpc_class_bytes(c, i);
		unsigned int cap = fits < magazine ? (unsigned int)fits
						   : magazine;

		c->cap[i] = cap < GPC_MIN_CAP ? 0 : cap;
		c->bat[i] = c->batch < cap / 2 ? c->batch : cap / 2;
		if (c->cap[i] && !c->bat[i])
			c->bat[i] = 1;
	}
}

/* The size-to-class table and the per-CPU allocation's layout. */
static void lay_out(struct gp_cache *c)
{
	size_t slots = 0;
	unsigned int top = 0;

	for (unsigned int i = 0; i < c->nr_classes; i++) {
		if (!c->cap[i])
			continue;
		c->magoff_table[c->units[i] - 1] = gpc_off_of_class(i);
		top = c->units[i];
		slots += c->cap[i];
	}
	c->max_bytes = (size_t)top << c->order;
	c->magoff = c->magoff_table;
	c->slow_off = offsetof(struct gp_pcpu, mag) +
		      c->nr_classes * sizeof(struct gp_mag);
	c->slots_off = c->slow_off + c->nr_classes * sizeof(struct gp_slow);
	c->pcpu_size = (c->slots_off + slots * sizeof(unsigned long) + 127) &
		       ~(size_t)127;
}

static size_t total_slots(const struct gp_cache *c)
{
	size_t n = 0;

	for (unsigned int i = 0; i < c->nr_classes; i++)
		n += c->cap[i];
	return n;
}

/* Apply @cfg (NULL: defaults) to @c; false if it is invalid. */
static bool configure(struct gp_cache *c, const struct gp_cache_config *cfg)
{
	static const struct gp_cache_config defaults;
	unsigned int magazine;

	if (!cfg)
		cfg = &defaults;
	magazine = cfg->magazine ? cfg->magazine : GPC_DEFAULT_MAGAZINE;
	if (magazine > GP_CACHE_MAX_MAGAZINE || !pick_classes(c, cfg) ||
	    (cfg->batch && cfg->batch > magazine) ||
	    (cfg->flags & ~(GP_CACHE_LOCKED | GP_CACHE_CHECKED |
			    GP_CACHE_REAP_THREAD)) ||
	    ((cfg->flags & GP_CACHE_REAP_THREAD) &&
	     cfg->idle_ms == GP_CACHE_IDLE_NEVER))
		return false;
	c->batch = cfg->batch ? cfg->batch : magazine / 2;
	c->cpu_bytes = cfg->cpu_bytes ? cfg->cpu_bytes : GPC_DEFAULT_CPU_BYTES;
	if (cfg->idle_ms == GP_CACHE_IDLE_NEVER)
		c->idle_ns = UINT64_MAX;
	else
		c->idle_ns = (uint64_t)(cfg->idle_ms ? cfg->idle_ms
						     : GPC_DEFAULT_IDLE_MS) *
			     1000000u;
	for (unsigned int i = 0; i < c->nr_classes; i++)
		if (gpc_class_bytes(c, i) >> c->order != c->units[i])
			return false;	/* the class size overflows */
	size_magazines(c, magazine);
	return true;
}

/* Everything but the struct itself; safe on a half-built cache. */
static void release(struct gp_cache *c)
{
	gpc_stats_detach(c);
	if (c->states)
		gpc_pcpu_free_all(c);
	free(c->cpus);
	free(c->states);
	free(c->drain_buf);
	gpc_chk_free(c);
	pthread_mutex_destroy(&c->drain_lock);
	pthread_mutex_destroy(&c->chk_lock);
	pthread_mutex_destroy(&c->reaper_lock);
	pthread_cond_destroy(&c->reaper_cond);
	free(c);
}

GPC_EXPORT struct gp_cache *gp_cache_create(struct gen_pool *pool,
					    const struct gp_cache_config *cfg)
{
	unsigned int max_units = GP_CACHE_MAX_UNITS;
	int order = gp_min_alloc_order(pool);
	struct gp_cache *c;
	unsigned int flags;

	if (order < 0) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c) + max_units * sizeof(c->magoff_table[0]));
	if (!c)
		return NULL;
	pthread_mutex_init(&c->drain_lock, NULL);
	pthread_mutex_init(&c->chk_lock, NULL);
	pthread_mutex_init(&c->reaper_lock, NULL);
	pthread_cond_init(&c->reaper_cond, NULL);
	c->pool = pool;
	c->order = (unsigned int)order;
	if (!configure(c, cfg)) {
		release(c);
		errno = EINVAL;
		return NULL;
	}
	lay_out(c);
	flags = (cfg ? cfg->flags : 0) | gpc_env_flags();
	c->checked = flags & GP_CACHE_CHECKED;
	gpc_choose_mode(flags, &c->mode, &c->mode_reason);
	c->unit_mask = (1UL << c->order) - 1;
	if (c->mode == GP_CACHE_MODE_RSEQ && !c->checked)
		c->hit_max = c->max_bytes;
	c->ncpus = gpc_possible_cpus();
	c->cpus = calloc(c->ncpus, sizeof(*c->cpus));
	c->states = calloc(c->ncpus, sizeof(*c->states));
	c->drain_buf = malloc((total_slots(c) + 1) * sizeof(unsigned long));
	c->last_reap = gpc_now_ns();
	if (!c->cpus || !c->states || !c->drain_buf || !gpc_span_refresh(c, 0) ||
	    !gpc_stats_attach(c) ||
	    ((flags & GP_CACHE_REAP_THREAD) && gpc_reaper_start(c))) {
		release(c);
		errno = ENOMEM;
		return NULL;
	}
	return c;
}

GPC_EXPORT int gp_cache_destroy(struct gp_cache *c)
{
	bool all_back;

	if (!c)
		return -EINVAL;
	gpc_reaper_stop(c);
	gpc_stats_detach(c);	/* no section printing from a dying cache */
	all_back = gpc_drain_all(c);
	release(c);
	return all_back ? 0 : -EBUSY;
}

GPC_EXPORT struct gen_pool *gp_cache_pool(const struct gp_cache *c)
{
	return c ? c->pool : NULL;
}

/* ------------------------------------------------------ to the pool */

/* Class of a request of @size bytes, or -1 if it is not cached. */
static int class_of(const struct gp_cache *c, size_t size)
{
	uint16_t off;

	if (size - 1 >= c->max_bytes)
		return -1;
	off = c->magoff[(size - 1) >> c->order];
	return off ? (int)gpc_class_of_off(off) : -1;
}

unsigned long gpc_pool_alloc(struct gp_cache *c, size_t size)
{
	unsigned long addr = gen_pool_alloc(c->pool, size);

	if (addr || !gpc_cached_objects(c))
		return addr;
	gpc_count(&c->exhausted, 1);
	gpc_drain_all(c);
	addr = gen_pool_alloc(c->pool, size);
	if (!addr)
		errno = ENOMEM;
	return addr;
}

int gpc_give_back(struct gp_cache *c, struct gp_pcpu *p, unsigned int cls,
		  unsigned long *addrs, size_t n)
{
	if (!n)
		return 0;
	if (c->checked)
		gpc_chk_leave_all(c, addrs, n);
	if (p) {
		gpc_count(&p->slow[cls].flushes, 1);
		gpc_count(&p->slow[cls].flushed, n);
	}
	return gp_free_bulk(c->pool, addrs, n, gpc_class_bytes(c, cls));
}

/* A thread the cache cannot serve here: straight to the pool. */
static unsigned long bypass_alloc(struct gp_cache *c, size_t size)
{
	gpc_count(&c->bypassed, 1);
	return gpc_pool_alloc(c, size);
}

/* How many objects of @size a refill may take: a batch, but never more
 * than half of what the pool has left, so other CPUs still find some. */
static size_t refill_count(const struct gp_cache *c, unsigned int cls,
			   size_t size)
{
	size_t spare = gen_pool_avail(c->pool) / size / 2;

	if (!spare)
		spare = 1;
	return spare < c->bat[cls] ? spare : c->bat[cls];
}

/* The miss: take a batch, keep one, put the others in the magazine. */
static unsigned long refill(struct gp_cache *c, unsigned int cls)
{
	size_t size = gpc_class_bytes(c, cls), got, i;
	unsigned long buf[GP_CACHE_MAX_MAGAZINE];
	struct gp_pcpu *p = gpc_this_pcpu(c);

	if (!p || gpc_stopped(c, p))
		return bypass_alloc(c, size);
	gpc_count(&p->slow[cls].alloc_misses, 1);
	gpc_maybe_reap(c);
	got = gp_alloc_bulk(c->pool, size, buf, refill_count(c, cls, size));
	if (!got)
		return gpc_pool_alloc(c, size);
	gpc_count(&p->slow[cls].refills, 1);
	gpc_count(&p->slow[cls].refilled, got);
	for (i = 1; i < got; i++) {
		/* In the checked mode an object is marked before it is in a
		 * magazine and unmarked after it has left one. */
		if (c->checked)
			gpc_chk_enter(c, buf[i]);
		if (!gpc_push(c, cls, buf[i], false))
			break;
	}
	gpc_give_back(c, p, cls, buf + i, got - i);
	return buf[0];
}

__attribute__((noinline)) static unsigned long alloc_slow(struct gp_cache *c,
						      size_t size)
{
	unsigned long addr;
	int cls;

	if (!c || !size) {
		errno = EINVAL;
		return 0;
	}
	cls = class_of(c, size);
	if (cls < 0)
		return bypass_alloc(c, size);
	if (!gpc_pop(c, (unsigned int)cls, &addr, true))
		return refill(c, (unsigned int)cls);
	if (c->checked)
		gpc_chk_leave(c, addr);
	return addr;
}

GPC_EXPORT unsigned long gp_cache_alloc(struct gp_cache *c, size_t size)
{
#if GP_PERCPU_RSEQ
	if (gpc_likely(c && size - 1 < c->hit_max)) {
		uint16_t off = c->magoff[(size - 1) >> c->order];

		if (gpc_likely(off)) {
			unsigned long addr = gpc_rseq_pop(c, off);

			if (gpc_likely(addr))
				return addr;
		}
	}
#endif
	return alloc_slow(c, size);
}

/* --------------------------------------------------------------- free */

/* The overflow: push, or flush a batch to make room and push again. */
static void put(struct gp_cache *c, unsigned int cls, unsigned long addr)
{
	unsigned long buf[GP_CACHE_MAX_MAGAZINE + 1];
	struct gp_pcpu *p;
	size_t n = 0;

	if (gpc_push(c, cls, addr, true))
		return;
	p = gpc_this_pcpu(c);
	if (!p || gpc_stopped(c, p)) {
		gpc_count(&c->bypassed, 1);
		gpc_give_back(c, NULL, cls, &addr, 1);
		return;
	}
	gpc_count(&p->slow[cls].free_misses, 1);
	gpc_maybe_reap(c);
	while (n < c->bat[cls] && gpc_pop(c, cls, &buf[n], false))
		n++;
	/* Counted as the miss it was, not as a hit too. */
	if (!gpc_push(c, cls, addr, false))
		buf[n++] = addr;
	gpc_give_back(c, p, cls, buf, n);
}

/* Report misuse the cache found, through the pool's handler and policy. */
static void report(struct gp_cache *c, enum gp_misuse_kind kind,
		   unsigned long addr, size_t size, const char *what)
{
	gpc_count(&c->misuse, 1);
	gp_report_misuse(c->pool, kind, addr, size, what);
}

/* The default mode's O(1) checks: in the chunks' span (looking again if
 * not: chunks may have been added), on a unit boundary. */
static bool plausible(struct gp_cache *c, unsigned long addr, size_t size)
{
	unsigned long lo = __atomic_load_n(&c->span_lo, __ATOMIC_RELAXED);
	unsigned long len = __atomic_load_n(&c->span_len, __ATOMIC_RELAXED);

	if (addr & c->unit_mask) {
		report(c, GP_MISUSE_BAD_ARGUMENT, addr, size,
		       "gp_cache_free: address is not on a unit boundary");
		return false;
	}
	if (addr - lo < len || gpc_span_refresh(c, addr))
		return true;
	report(c, GP_MISUSE_FOREIGN_ADDR, addr, size,
	       "gp_cache_free: no chunk of the pool holds this address");
	return false;
}

/* The checked mode's checks: one live allocation of the class, and not
 * in the cache already; on success the object is marked as cached. */
static bool verified(struct gp_cache *c, unsigned long addr, size_t size)
{
	if (gp_check_alloc(c->pool, addr, size, "gp_cache_free")) {
		gpc_count(&c->misuse, 1);
		return false;
	}
	if (!gpc_chk_enter(c, addr))
		return true;
	report(c, GP_MISUSE_DOUBLE_FREE, addr, size,
	       "gp_cache_free: double free: the object is already in the "
	       "per-CPU cache");
	return false;
}

__attribute__((noinline)) static void free_slow(struct gp_cache *c,
					       unsigned long addr, size_t size)
{
	int cls;

	if (!c) {
		gp_report_misuse(NULL, GP_MISUSE_BAD_ARGUMENT, addr, size,
				 "gp_cache_free: NULL cache");
		return;
	}
	cls = size ? class_of(c, size) : -1;
	if (cls < 0) {
		gpc_count(&c->bypassed, 1);
		gen_pool_free(c->pool, addr, size);
		return;
	}
	if (c->checked ? verified(c, addr, size) : plausible(c, addr, size))
		put(c, (unsigned int)cls, addr);
}

GPC_EXPORT void gp_cache_free(struct gp_cache *c, unsigned long addr,
			      size_t size)
{
#if GP_PERCPU_RSEQ
	if (gpc_likely(c && size - 1 < c->hit_max)) {
		uint16_t off = c->magoff[(size - 1) >> c->order];
		unsigned long lo = __atomic_load_n(&c->span_lo, __ATOMIC_RELAXED);
		unsigned long len =
			__atomic_load_n(&c->span_len, __ATOMIC_RELAXED);

		if (gpc_likely(off && addr - lo < len &&
			       !(addr & c->unit_mask) &&
			       gpc_rseq_push(c, off, addr)))
			return;
	}
#endif
	free_slow(c, addr, size);
}

GPC_EXPORT int gp_cache_free_checked(struct gp_cache *c, unsigned long addr,
				     size_t size)
{
	int cls, ret;

	if (!c || !size)
		return -EINVAL;
	ret = gp_check_alloc(c->pool, addr, size, NULL);
	if (ret)
		return ret;
	cls = class_of(c, size);
	if (cls < 0)
		return gp_free_checked(c->pool, addr, size, NULL);
	if (c->checked && gpc_chk_enter(c, addr))
		return -EALREADY;
	put(c, (unsigned int)cls, addr);
	return 0;
}
