// SPDX-License-Identifier: MIT
/*
 * tests/percpu/cache_ops.c - a byte string becomes a pool, a cache and a
 * sequence of operations on them, checked against a shadow model after
 * every step.  The model test (model_cache.c) feeds it seeded random bytes,
 * the libFuzzer target (fuzz_cache.c) feeds it the fuzzer's.
 *
 * The cache runs in the locked mode so that "CPU switch" operations can
 * choose the CPU (gp_cache_set_thread_cpu()); 8 CPUs are made possible.
 *
 * Input (a read past the end gives 0, so every input is valid):
 *   byte 0     pool order 4..9
 *   byte 1     bit 0 checked mode; bits 1-2 classes (default, max_units,
 *              an explicit list); bit 3 a small byte cap
 *   byte 2-4   magazine, batch, byte cap
 *   byte 5-6   chunks (1..3) and units per chunk
 *   then ops   a selector byte each and its argument bytes
 *
 * Checked after every step, abort() with a message if not:
 *   - no object is out twice: every allocation lies in a chunk, on units
 *     that no live allocation holds;
 *   - cached + live + free in the pool = the pool's size;
 *   - each CPU's cached bytes <= its cap, each class <= its magazine;
 *   - hits + misses = the cache's own allocations (and frees);
 *   - an allocation fails only when, with nothing cached, the pool itself
 *     cannot serve it; no misuse report for valid operations;
 *   - after a drain, gen_pool_avail() = size - live.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_ops.h"
#include "percpu_test.h"

#define CO_CPUS 8
#define CO_MAX_LIVE 1024
#define CO_MAX_OPS 4096
#define CO_BASE 0x40000000UL
#define CO_STRIDE 0x10000000UL	/* chunk i at CO_BASE + i * CO_STRIDE */

struct co_obj {
	unsigned long addr;
	size_t size;		/* as asked */
	unsigned long units;
	bool cached_class;
};

struct co_state {
	const uint8_t *data;
	size_t size, pos;
	bool verbose;
	struct gen_pool *pool;
	struct gp_cache *cache;
	struct captured_misuse cap;
	unsigned int order, nchunks;
	unsigned long chunk_units;
	uint32_t *owner[3];		/* per unit: live id + 1, 0 = not live */
	struct co_obj live[CO_MAX_LIVE];
	unsigned int nlive;
	uint32_t next_id;
	size_t live_bytes;
	unsigned int cap_of_units[GP_CACHE_MAX_UNITS + 1];
	unsigned int max_units;
	uint64_t cache_allocs, cache_frees;	/* of cached classes */
	struct gp_cache_stats st;
	unsigned long op;
};

#define co_fail(s, ...)							\
	do {								\
		fprintf(stderr, "cache_ops: op %lu: ", (s)->op);	\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		abort();						\
	} while (0)

static unsigned int next_byte(struct co_state *s)
{
	return s->pos < s->size ? s->data[s->pos++] : 0;
}

static unsigned long chunk_start(unsigned int i)
{
	return CO_BASE + i * CO_STRIDE;
}

/* ------------------------------------------------------------ set-up */

static void setup_pool(struct co_state *s, const uint8_t *hdr)
{
	unsigned long unit;

	s->order = 4 + hdr[0] % 6;
	unit = 1UL << s->order;
	s->pool = gen_pool_create((int)s->order, NUMA_NO_NODE);
	if (!s->pool)
		co_fail(s, "gen_pool_create");
	capture_pool_misuse(s->pool, &s->cap);
	s->nchunks = 1 + hdr[5] % 3;
	s->chunk_units = 16 + hdr[6] * 8UL;
	for (unsigned int i = 0; i < s->nchunks; i++) {
		s->owner[i] = calloc(s->chunk_units, sizeof(uint32_t));
		if (!s->owner[i] ||
		    gen_pool_add(s->pool, chunk_start(i), s->chunk_units * unit,
				 NUMA_NO_NODE))
			co_fail(s, "gen_pool_add");
	}
}

static void setup_cache(struct co_state *s, const uint8_t *hdr)
{
	static const unsigned int lists[][4] = {
		{ 1, 2, 4, 8 }, { 1, 3, 16, 0 }, { 2, 5, 0, 0 }, { 1, 0, 0, 0 },
	};
	unsigned int flags = hdr[1], mag = hdr[2], bat = hdr[3], capb = hdr[4];
	struct gp_cache_config cfg = { .flags = GP_CACHE_LOCKED,
				       .idle_ms = GP_CACHE_IDLE_NEVER };
	const unsigned int *list = lists[(mag >> 4) % 4];

	cfg.flags |= flags & 1 ? GP_CACHE_CHECKED : 0;
	cfg.magazine = 2 + mag % 63;
	cfg.batch = bat % (cfg.magazine + 1);
	if ((flags >> 1 & 3) == 1)
		cfg.max_units = 1 + bat % 20;
	if ((flags >> 1 & 3) == 2) {
		cfg.class_units = list;
		for (cfg.nr_classes = 0; cfg.nr_classes < 4 &&
					 list[cfg.nr_classes];)
			cfg.nr_classes++;
	}
	if (flags & 8)
		cfg.cpu_bytes = (64 + capb * 16UL) << s->order;
	s->cache = gp_cache_create(s->pool, &cfg);
	if (!s->cache || gp_cache_get_stats(s->cache, &s->st))
		co_fail(s, "gp_cache_create: %s", strerror(errno));
	for (unsigned int i = 0; i < s->st.nr_classes; i++) {
		unsigned long u = s->st.classes[i].size >> s->order;

		s->cap_of_units[u] = s->st.classes[i].capacity;
		if (u > s->max_units)
			s->max_units = (unsigned int)u;
	}
}

/* ------------------------------------------------------------ shadow */

/* The chunk and first unit of [addr, addr + units); false if outside. */
static bool locate(struct co_state *s, unsigned long addr,
		   unsigned long units, unsigned int *chunk,
		   unsigned long *first)
{
	for (unsigned int i = 0; i < s->nchunks; i++) {
		unsigned long off = addr - chunk_start(i);

		if (addr < chunk_start(i) || off >> s->order >= s->chunk_units)
			continue;
		*chunk = i;
		*first = off >> s->order;
		return !(off & ((1UL << s->order) - 1)) &&
		       *first + units <= s->chunk_units;
	}
	return false;
}

static void mark(struct co_state *s, const struct co_obj *o, uint32_t id)
{
	unsigned int chunk;
	unsigned long first;

	if (!locate(s, o->addr, o->units, &chunk, &first))
		co_fail(s, "0x%lx (+%lu units) is not in a chunk", o->addr,
			o->units);
	for (unsigned long u = first; u < first + o->units; u++) {
		if (id && s->owner[chunk][u])
			co_fail(s, "0x%lx is out twice (unit %lu held by %u)",
				o->addr, u, s->owner[chunk][u] - 1);
		s->owner[chunk][u] = id;
	}
}

/* ------------------------------------------------------------- checks */

static void check_counts(struct co_state *s)
{
	const struct gp_cache_counters *t = &s->st.total;

	if (t->alloc_hits + t->alloc_misses != s->cache_allocs)
		co_fail(s, "alloc hits %lu + misses %lu != %lu allocations",
			(unsigned long)t->alloc_hits,
			(unsigned long)t->alloc_misses,
			(unsigned long)s->cache_allocs);
	if (t->free_hits + t->free_misses != s->cache_frees)
		co_fail(s, "free hits + misses != %lu frees",
			(unsigned long)s->cache_frees);
}

static void check(struct co_state *s)
{
	size_t avail = gen_pool_avail(s->pool);

	if (gp_cache_get_stats(s->cache, &s->st))
		co_fail(s, "gp_cache_get_stats");
	if (s->st.total.bytes + s->live_bytes + avail !=
	    gen_pool_size(s->pool))
		co_fail(s, "cached %lu + live %zu + free %zu != size %zu",
			(unsigned long)s->st.total.bytes, s->live_bytes, avail,
			gen_pool_size(s->pool));
	for (unsigned int i = 0; i < s->st.nr_classes; i++)
		if (s->st.classes[i].c.objects >
		    (uint64_t)s->st.classes[i].capacity * s->st.active_cpus)
			co_fail(s, "class %u holds more than its magazines", i);
	for (unsigned int cpu = 0; cpu < CO_CPUS; cpu++) {
		struct gp_cache_counters k;

		if (!gp_cache_get_cpu_stats(s->cache, cpu, &k) &&
		    k.bytes > s->st.cpu_bytes)
			co_fail(s, "cpu %u caches %lu B > cap %zu", cpu,
				(unsigned long)k.bytes, s->st.cpu_bytes);
	}
	check_counts(s);
	if (s->cap.count)
		co_fail(s, "misuse reported: %s", s->cap.last_what);
}

/* ---------------------------------------------------------------- ops */

static bool is_cached(struct co_state *s, unsigned long units)
{
	return units <= GP_CACHE_MAX_UNITS && s->cap_of_units[units];
}

/* Objects cached now. */
static uint64_t cached_now(struct co_state *s)
{
	if (gp_cache_get_stats(s->cache, &s->st))
		co_fail(s, "gp_cache_get_stats");
	return s->st.total.objects;
}

/* Allocate, from the cache or (@from_pool) straight from the pool. */
static void op_alloc(struct co_state *s, bool from_pool)
{
	unsigned long units = 1 + next_byte(s) % (s->max_units + 4);
	size_t size = (units << s->order) - next_byte(s) % (1UL << s->order);
	unsigned long addr;
	struct co_obj *o;

	if (s->nlive == CO_MAX_LIVE)
		return;
	s->cache_allocs += !from_pool && is_cached(s, units);
	addr = from_pool ? gen_pool_alloc(s->pool, size)
			 : gp_cache_alloc(s->cache, size);
	if (s->verbose)
		fprintf(stderr, "alloc %zu -> 0x%lx\n", size, addr);
	if (!addr) {
		if (from_pool)
			return;
		if (errno != ENOMEM || cached_now(s) ||
		    gen_pool_alloc(s->pool, size))
			co_fail(s, "alloc %zu failed though it could be served",
				size);
		return;
	}
	o = &s->live[s->nlive++];
	*o = (struct co_obj){ addr, size, units, is_cached(s, units) };
	mark(s, o, ++s->next_id);
	s->live_bytes += units << s->order;
}

static void op_free(struct co_state *s, unsigned int how)
{
	unsigned int i = s->nlive ? next_byte(s) % s->nlive : 0;
	struct co_obj o;

	if (!s->nlive)
		return;
	o = s->live[i];
	s->live[i] = s->live[--s->nlive];
	mark(s, &o, 0);
	s->live_bytes -= o.units << s->order;
	if (s->verbose)
		fprintf(stderr, "free 0x%lx %zu (%u)\n", o.addr, o.size, how);
	if (how == 0) {
		gen_pool_free(s->pool, o.addr, o.size);
		return;
	}
	s->cache_frees += o.cached_class;
	if (how == 1 && gp_cache_free_checked(s->cache, o.addr, o.size))
		co_fail(s, "gp_cache_free_checked refused a valid free");
	if (how > 1)
		gp_cache_free(s->cache, o.addr, o.size);
}

static void op_drain(struct co_state *s)
{
	gp_cache_drain(s->cache);
	if (gen_pool_avail(s->pool) + s->live_bytes != gen_pool_size(s->pool))
		co_fail(s, "avail after drain is not size - live");
}

static void run_op(struct co_state *s)
{
	unsigned int sel = next_byte(s);

	if (sel < 90)
		op_alloc(s, false);
	else if (sel < 100)
		op_alloc(s, true);
	else if (sel < 180)
		op_free(s, sel % 8 == 0 ? 0 : sel % 8 == 1 ? 1 : 2);
	else if (sel < 215)
		gp_cache_set_thread_cpu((int)(next_byte(s) % CO_CPUS));
	else if (sel < 225)
		op_drain(s);
	else if (sel < 232)
		gp_cache_reap(s->cache);
	else if (sel < 248)
		for (int n = 0; n < 64 && s->nlive < CO_MAX_LIVE; n++)
			op_alloc(s, false);
	else
		while (s->nlive)
			op_free(s, 2);
}

int cache_ops_run(const uint8_t *data, size_t size, bool verbose)
{
	struct co_state *s = calloc(1, sizeof(*s));
	uint8_t hdr[7];

	if (!s)
		return -1;
	setenv("GENPOOL_CACHE_CPUS", "8", 0);
	s->data = data;
	s->size = size;
	s->verbose = verbose;
	for (int i = 0; i < 7; i++)
		hdr[i] = (uint8_t)next_byte(s);
	setup_pool(s, hdr);
	setup_cache(s, hdr);
	for (s->op = 0; s->pos < s->size && s->op < CO_MAX_OPS; s->op++) {
		run_op(s);
		check(s);
	}
	while (s->nlive)
		op_free(s, 2);
	op_drain(s);
	check(s);
	if (gp_cache_destroy(s->cache) || gen_pool_avail(s->pool) !=
						  gen_pool_size(s->pool))
		co_fail(s, "destroy left the pool short");
	gp_cache_set_thread_cpu(-1);
	gen_pool_destroy(s->pool);
	for (unsigned int i = 0; i < s->nchunks; i++)
		free(s->owner[i]);
	free(s);
	return 0;
}
