// SPDX-License-Identifier: MIT
/*
 * percpu/stats.c - the cache's counters, per CPU and per class, read
 * without stopping anyone, and printed as text.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "genpool/stats.h"
#include "cache_internal.h"

/* Add class @i of CPU state @p to @k. */
static void add_class(const struct gp_cache *c, const struct gp_pcpu *p,
		      unsigned int i, struct gp_cache_counters *k)
{
	const struct gp_mag *m = &p->mag[i];
	const struct gp_slow *s = &p->slow[i];
	uint64_t objects = __atomic_load_n(&m->count, __ATOMIC_RELAXED);

	k->alloc_hits += gpc_read(&m->alloc_hits);
	k->free_hits += gpc_read(&m->free_hits);
	k->alloc_misses += gpc_read(&s->alloc_misses);
	k->free_misses += gpc_read(&s->free_misses);
	k->refills += gpc_read(&s->refills);
	k->refilled += gpc_read(&s->refilled);
	k->flushes += gpc_read(&s->flushes);
	k->flushed += gpc_read(&s->flushed);
	k->objects += objects;
	k->bytes += objects * gpc_class_bytes(c, i);
}

static void add_counters(struct gp_cache_counters *to,
			 const struct gp_cache_counters *k)
{
	uint64_t *t = (uint64_t *)to;
	const uint64_t *f = (const uint64_t *)k;

	for (size_t i = 0; i < sizeof(*k) / sizeof(uint64_t); i++)
		t[i] += f[i];
}

static const struct gp_pcpu *state_of(const struct gp_cache *c,
				      unsigned long cpu)
{
	return gpc_state(c, cpu);
}

GPC_EXPORT int gp_cache_get_stats(struct gp_cache *c,
				  struct gp_cache_stats *st)
{
	if (!c || !st)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	st->mode = c->mode;
	st->mode_name = c->mode == GP_CACHE_MODE_RSEQ ? "rseq" : "locked";
	st->mode_reason = c->mode_reason;
	st->checked = c->checked;
	st->possible_cpus = (unsigned int)c->ncpus;
	st->nr_classes = c->nr_classes;
	st->cpu_bytes = c->cpu_bytes;
	st->batch = c->batch;
	st->bypassed = gpc_read(&c->bypassed);
	st->exhausted = gpc_read(&c->exhausted);
	st->idle_drains = gpc_read(&c->idle_drains);
	st->misuse = gpc_read(&c->misuse);
	for (unsigned int i = 0; i < c->nr_classes; i++) {
		st->classes[i].size = gpc_class_bytes(c, i);
		st->classes[i].capacity = c->cap[i];
	}
	for (unsigned long cpu = 0; cpu < c->ncpus; cpu++) {
		const struct gp_pcpu *p = state_of(c, cpu);

		if (!p)
			continue;
		st->active_cpus++;
		for (unsigned int i = 0; i < c->nr_classes; i++)
			add_class(c, p, i, &st->classes[i].c);
	}
	for (unsigned int i = 0; i < c->nr_classes; i++)
		add_counters(&st->total, &st->classes[i].c);
	return 0;
}

GPC_EXPORT int gp_cache_get_cpu_stats(struct gp_cache *c, unsigned int cpu,
				      struct gp_cache_counters *k)
{
	const struct gp_pcpu *p;

	if (!c || !k || cpu >= c->ncpus)
		return -EINVAL;
	p = state_of(c, cpu);
	if (!p)
		return -ENOENT;
	memset(k, 0, sizeof(*k));
	for (unsigned int i = 0; i < c->nr_classes; i++)
		add_class(c, p, i, k);
	return 0;
}

/* One line of counters after @label. */
static void print_counters(FILE *fp, const char *label,
			   const struct gp_cache_counters *k)
{
	fprintf(fp,
		"  %-10s hits %" PRIu64 "/%" PRIu64 " misses %" PRIu64
		"/%" PRIu64 " refills %" PRIu64 " (%" PRIu64
		") flushes %" PRIu64 " (%" PRIu64 ") cached %" PRIu64
		" (%" PRIu64 " B)\n",
		label, k->alloc_hits, k->free_hits, k->alloc_misses,
		k->free_misses, k->refills, k->refilled, k->flushes,
		k->flushed, k->objects, k->bytes);
}

GPC_EXPORT int gp_cache_print_stats(struct gp_cache *c, FILE *fp)
{
	struct gp_cache_stats st;
	char label[32];

	if (!fp || gp_cache_get_stats(c, &st))
		return -EINVAL;
	fprintf(fp,
		"cache: mode %s (%s)%s, %u classes, %u of %u CPUs active, "
		"cap %zu B per CPU, batch %u\n",
		st.mode_name, st.mode_reason, st.checked ? ", checked" : "",
		st.nr_classes, st.active_cpus, st.possible_cpus, st.cpu_bytes,
		st.batch);
	fprintf(fp,
		"  bypassed %" PRIu64 ", exhausted %" PRIu64
		", idle drains %" PRIu64 ", misuse %" PRIu64
		" (hits and misses: alloc/free)\n",
		st.bypassed, st.exhausted, st.idle_drains, st.misuse);
	print_counters(fp, "total", &st.total);
	for (unsigned int i = 0; i < st.nr_classes; i++) {
		snprintf(label, sizeof(label), "%zu B", st.classes[i].size);
		if (st.classes[i].capacity)
			print_counters(fp, label, &st.classes[i].c);
		else
			fprintf(fp, "  %-10s not cached (cap too small)\n",
				label);
	}
	for (unsigned int cpu = 0; cpu < st.possible_cpus; cpu++) {
		struct gp_cache_counters k;

		if (gp_cache_get_cpu_stats(c, cpu, &k))
			continue;
		snprintf(label, sizeof(label), "cpu %u", cpu);
		print_counters(fp, label, &k);
	}
	return 0;
}

/* ------------------------------------------------ gp_stats_print() hook */

/* @k as the members of a JSON object. */
static void json_counters(FILE *fp, const struct gp_cache_counters *k)
{
	fprintf(fp,
		"\"alloc_hits\": %" PRIu64 ", \"free_hits\": %" PRIu64
		", \"alloc_misses\": %" PRIu64 ", \"free_misses\": %" PRIu64
		", \"refills\": %" PRIu64 ", \"refilled\": %" PRIu64
		", \"flushes\": %" PRIu64 ", \"flushed\": %" PRIu64
		", \"objects\": %" PRIu64 ", \"bytes\": %" PRIu64,
		k->alloc_hits, k->free_hits, k->alloc_misses, k->free_misses,
		k->refills, k->refilled, k->flushes, k->flushed, k->objects,
		k->bytes);
}

/* The cache's stats as one JSON object (its strings need no escapes). */
static void print_json(struct gp_cache *c, const struct gp_cache_stats *st,
		       FILE *fp)
{
	const char *sep = "";

	fprintf(fp,
		"{\"mode\": \"%s\", \"mode_reason\": \"%s\", "
		"\"checked\": %s, \"possible_cpus\": %u, "
		"\"active_cpus\": %u, \"cpu_bytes\": %zu, \"batch\": %u, "
		"\"bypassed\": %" PRIu64 ", \"exhausted\": %" PRIu64
		", \"idle_drains\": %" PRIu64 ", \"misuse\": %" PRIu64
		", \"total\": {",
		st->mode_name, st->mode_reason, st->checked ? "true" : "false",
		st->possible_cpus, st->active_cpus, st->cpu_bytes, st->batch,
		st->bypassed, st->exhausted, st->idle_drains, st->misuse);
	json_counters(fp, &st->total);
	fputs("}, \"classes\": [", fp);
	for (unsigned int i = 0; i < st->nr_classes; i++) {
		fprintf(fp, "%s{\"size\": %zu, \"capacity\": %u, ",
			i ? ", " : "", st->classes[i].size,
			st->classes[i].capacity);
		json_counters(fp, &st->classes[i].c);
		fputc('}', fp);
	}
	fputs("], \"cpus\": [", fp);
	for (unsigned int cpu = 0; cpu < st->possible_cpus; cpu++) {
		struct gp_cache_counters k;

		if (gp_cache_get_cpu_stats(c, cpu, &k))
			continue;
		fprintf(fp, "%s{\"cpu\": %u, ", sep, cpu);
		json_counters(fp, &k);
		fputc('}', fp);
		sep = ", ";
	}
	fputs("]}", fp);
}

/* A gp_stats_printer_t: the cache's section of gp_stats_print(). */
static int print_section(struct gen_pool *pool, FILE *out, unsigned int flags,
			 void *arg)
{
	struct gp_cache *c = arg;
	struct gp_cache_stats st;

	if (!(flags & GP_STATS_JSON))
		return gp_cache_print_stats(c, out);
	if (gp_cache_get_stats(c, &st))
		return -EINVAL;
	print_json(c, &st, out);
	return 0;
}

bool gpc_stats_attach(struct gp_cache *c)
{
	char name[48];
	int ret = gp_stats_add_printer(c->pool, "cache", print_section, c);

	/* A second cache on the same pool gets a name of its own. */
	if (ret == -EEXIST) {
		snprintf(name, sizeof(name), "cache %p", (void *)c);
		ret = gp_stats_add_printer(c->pool, name, print_section, c);
	}
	c->stats_attached = !ret;
	return !ret;
}

void gpc_stats_detach(struct gp_cache *c)
{
	if (c->stats_attached)
		gp_stats_remove_printer(c->pool, print_section, c);
	c->stats_attached = false;
}
