// SPDX-License-Identifier: MIT
/*
 * core/stats_print.c - gp_stats_print(): a pool's statistics as a table or
 * as JSON, and the printers that layers above the pool add to it.
 *
 * One walk over the chunks (newest first, from one snapshot of the head)
 * fills a view per chunk; the summary, the chunk rows and the histogram
 * are printed from the views, so the parts agree with each other.  Only
 * engine_classes() knows the search engine's hints (core/hints.h); the rest
 * reads the bitmaps, as gp_get_stats() does.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "genpool/search.h"
#include "genpool/stats.h"
#include "genpool/version.h"
#include "bitmap.h"
#include "bounds.h"
#include "pool_internal.h"
#include "hints.h"

#define GP_STATS_FLAGS (GP_STATS_JSON | GP_STATS_NO_CHUNKS | \
			GP_STATS_NO_HOLES | GP_STATS_NO_SECTIONS)
/* Room for the engine's classes (checked in engine_classes()). */
#define MAX_CLASSES 32

/* The hole-size classes of the engine and its per-class block counters. */
struct class_view {
	unsigned int n;				/* classes */
	unsigned long min_units[MAX_CLASSES];	/* smallest hole of each */
	unsigned long blocks[MAX_CLASSES];	/* blocks marked with it */
};

/* What one chunk holds, from one walk of its bitmaps. */
struct chunk_view {
	const struct gp_chunk *chunk;
	size_t avail;				/* bytes, the chunk's counter */
	unsigned long allocations;
	unsigned long holes, largest;		/* holes; longest, in units */
	unsigned long holes_in[MAX_CLASSES];	/* holes per class */
	unsigned long units_in[MAX_CLASSES];	/* their free units */
	struct class_view engine;
};

/*
 * The one place that reads the engine's hints (core/hints.h): the class
 * boundaries, found by asking gpi_size_class() where each class begins,
 * and the counters of blocks per class of chunk @c (zero if @c is NULL).
 */
static void engine_classes(const struct gp_chunk *c, struct class_view *v)
{
	static_assert(GP_CLASSES <= MAX_CLASSES, "MAX_CLASSES too small");

	memset(v, 0, sizeof(*v));
	v->n = GP_CLASSES;
	for (unsigned long n = GP_TOP_CLASS_MIN; n >= 1; n--)
		v->min_units[gpi_size_class(n)] = n;
	for (unsigned int cls = 0; c && cls < GP_CLASSES; cls++)
		v->blocks[cls] = __atomic_load_n(&c->hints.class_blocks[cls],
						 __ATOMIC_RELAXED);
}

/* The class of a hole of @len units under @v's boundaries. */
static unsigned int class_of(const struct class_view *v, unsigned long len)
{
	unsigned int cls = v->n - 1;

	while (cls > 0 && len < v->min_units[cls])
		cls--;
	return cls;
}

/* Walk @c's bitmaps into @v. */
static void view_chunk(const struct gp_chunk *c, struct chunk_view *v)
{
	unsigned long bit, units, zero, busy;

	memset(v, 0, sizeof(*v));
	v->chunk = c;
	v->avail = gpi_chunk_avail(c);
	engine_classes(c, &v->engine);
	for (bit = 0; gpi_next_allocation(c->um, c->nbits, bit, &bit, &units);
	     bit += units)
		v->allocations++;
	for (zero = gpi_unext_free(c->um, c->nbits, 0); zero < c->nbits;
	     zero = gpi_unext_free(c->um, c->nbits, busy)) {
		unsigned int cls;

		busy = gpi_unext_busy(c->um, c->nbits, zero);
		cls = class_of(&v->engine, busy - zero);
		v->holes++;
		v->holes_in[cls]++;
		v->units_in[cls] += busy - zero;
		if (busy - zero > v->largest)
			v->largest = busy - zero;
	}
}

/* The pool's figures, summed over the views. */
struct pool_view {
	size_t nchunks;
	struct chunk_view *chunks;
	struct gp_stats st;
	struct chunk_view sum;		/* holes, classes, engine counters */
};

static int view_pool(struct gen_pool *pool, struct pool_view *pv)
{
	const struct gp_chunk *head = gpi_first_chunk(pool), *c;
	const int order = pool->min_alloc_order;
	size_t i = 0;

	memset(pv, 0, sizeof(*pv));
	for (c = head; c; c = c->next)
		pv->nchunks++;
	pv->chunks = calloc(pv->nchunks ? pv->nchunks : 1, sizeof(*pv->chunks));
	if (!pv->chunks)
		return -ENOMEM;
	engine_classes(NULL, &pv->sum.engine);
	for (c = head; c; c = c->next, i++) {
		struct chunk_view *v = &pv->chunks[i];

		view_chunk(c, v);
		pv->st.size += gpi_chunk_size(c);
		pv->st.avail += v->avail;
		pv->st.allocations += v->allocations;
		if ((size_t)v->largest << order > pv->st.largest_free)
			pv->st.largest_free = (size_t)v->largest << order;
		pv->sum.holes += v->holes;
		for (unsigned int k = 0; k < v->engine.n; k++) {
			pv->sum.holes_in[k] += v->holes_in[k];
			pv->sum.units_in[k] += v->units_in[k];
			pv->sum.engine.blocks[k] += v->engine.blocks[k];
		}
	}
	pv->st.chunks = pv->nchunks;
	pv->st.in_use = pv->st.size - pv->st.avail;
	pv->st.failures = __atomic_load_n(&pool->failures, __ATOMIC_RELAXED);
	pv->st.fragmentation = pv->st.avail ?
		1.0 - (double)pv->st.largest_free / (double)pv->st.avail : 0.0;
	return 0;
}

/* ------------------------------------------------------------ printers */

struct gp_stats_printer {
	struct gp_stats_printer *next;
	gp_stats_printer_t fn;
	void *arg;
	char name[];
};

/* Guards every pool's printer list, and is held while printers run. */
static pthread_mutex_t printers_lock = PTHREAD_MUTEX_INITIALIZER;

GP_EXPORT int gp_stats_add_printer(struct gen_pool *pool, const char *name,
				   gp_stats_printer_t fn, void *arg)
{
	struct gp_stats_printer **pp, *p;
	int ret = 0;

	if (!pool || !name || !*name || !fn)
		return -EINVAL;
	p = calloc(1, sizeof(*p) + strlen(name) + 1);
	if (!p)
		return -ENOMEM;
	p->fn = fn;
	p->arg = arg;
	strcpy(p->name, name);
	pthread_mutex_lock(&printers_lock);
	for (pp = &pool->printers; *pp; pp = &(*pp)->next)
		if (((*pp)->fn == fn && (*pp)->arg == arg) ||
		    !strcmp((*pp)->name, name))
			ret = -EEXIST;
	if (!ret)
		*pp = p;
	pthread_mutex_unlock(&printers_lock);
	if (ret)
		free(p);
	return ret;
}

GP_EXPORT int gp_stats_remove_printer(struct gen_pool *pool,
				      gp_stats_printer_t fn, void *arg)
{
	struct gp_stats_printer **pp, *p = NULL;

	if (!pool || !fn)
		return -EINVAL;
	pthread_mutex_lock(&printers_lock);
	for (pp = &pool->printers; *pp; pp = &(*pp)->next)
		if ((*pp)->fn == fn && (*pp)->arg == arg) {
			p = *pp;
			*pp = p->next;
			break;
		}
	pthread_mutex_unlock(&printers_lock);
	free(p);
	return p ? 0 : -ENOENT;
}

void gpi_stats_drop_printers(struct gen_pool *pool)
{
	struct gp_stats_printer *p, *next;

	pthread_mutex_lock(&printers_lock);
	p = pool->printers;
	pool->printers = NULL;
	pthread_mutex_unlock(&printers_lock);
	for (; p; p = next) {
		next = p->next;
		free(p);
	}
}

/*
 * Run one printer into a buffer, so that an empty or failed JSON section
 * can still be a value and text can be indented.  *@text is malloc'ed.
 */
static int run_printer(struct gen_pool *pool, const struct gp_stats_printer *p,
		       unsigned int flags, char **text)
{
	size_t len = 0;
	FILE *buf = open_memstream(text, &len);
	int ret;

	if (!buf)
		return -ENOMEM;
	ret = p->fn(pool, buf, flags, p->arg);
	if (fclose(buf) && !ret)
		ret = -ENOMEM;
	return ret > 0 ? -EINVAL : ret;
}

/* ---------------------------------------------------------------- text */

static const char *algorithm_name(genpool_algo_t algo)
{
	static const struct {
		genpool_algo_t algo;
		const char *name;
	} names[] = {
		{ gen_pool_first_fit, "first_fit" },
		{ gen_pool_first_fit_align, "first_fit_align" },
		{ gen_pool_first_fit_order_align, "first_fit_order_align" },
		{ gen_pool_best_fit, "best_fit" },
		{ gen_pool_fixed_alloc, "fixed_alloc" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].algo == algo)
			return names[i].name;
	return "custom";
}

static const char *policy_name(const struct gen_pool *pool)
{
	return __atomic_load_n(&pool->policy, __ATOMIC_RELAXED) ==
	       GP_MISUSE_REPORT ? "report" : "abort";
}

/* The upper bound of class @k in units, or 0 for the open top class. */
static unsigned long class_max(const struct class_view *v, unsigned int k)
{
	return k + 1 < v->n ? v->min_units[k + 1] - 1 : 0;
}

static void text_summary(struct gen_pool *pool, const struct pool_view *pv,
			 FILE *out)
{
	const struct gp_stats *st = &pv->st;

	fprintf(out, "genpool %s: pool \"%s\" at %p\n", GENPOOL_VERSION,
		pool->name ? pool->name : "(unnamed)", (void *)pool);
	fprintf(out, "  unit %lu bytes (order %d), algorithm %s, misuse policy %s, search path %s\n",
		1UL << pool->min_alloc_order, pool->min_alloc_order,
		algorithm_name(pool->algo), policy_name(pool),
		gp_search_path_name(gp_search_get_path()));
	fprintf(out, "  %-12s %14s %14s %14s %12s %10s %14s %6s\n", "", "size",
		"free", "in use", "allocations", "failures", "largest free",
		"frag");
	fprintf(out, "  %-12s %14zu %14zu %14zu %12llu %10llu %14zu %6.3f\n",
		"pool", st->size, st->avail, st->in_use,
		(unsigned long long)st->allocations,
		(unsigned long long)st->failures, st->largest_free,
		st->fragmentation);
}

static void text_chunks(const struct gen_pool *pool,
			const struct pool_view *pv, FILE *out)
{
	const int order = pool->min_alloc_order;

	fprintf(out, "chunks (newest first):\n");
	fprintf(out, "  %3s %18s %18s %18s %14s %14s %12s %10s %14s %4s\n",
		"#", "start", "end", "phys", "size", "free", "allocations",
		"holes", "largest hole", "nid");
	for (size_t i = 0; i < pv->nchunks; i++) {
		const struct chunk_view *v = &pv->chunks[i];
		const struct gen_pool_chunk *c = &v->chunk->pub;
		char phys[24] = "-";

		if (c->phys_addr != GP_NO_PHYS)
			snprintf(phys, sizeof(phys), "%#llx",
				 (unsigned long long)c->phys_addr);
		fprintf(out, "  %3zu %#18lx %#18lx %18s %14zu %14zu %12lu %10lu %14zu %4d\n",
			i, c->start_addr, c->end_addr, phys,
			gpi_chunk_size(v->chunk), v->avail, v->allocations,
			v->holes, (size_t)v->largest << order, c->nid);
	}
}

static void text_holes(const struct gen_pool *pool,
		       const struct pool_view *pv, FILE *out)
{
	const struct chunk_view *s = &pv->sum;
	const int order = pool->min_alloc_order;

	fprintf(out, "holes by size class: %lu holes (engine blocks: 512-unit blocks marked as holding the class, a superset)\n",
		s->holes);
	fprintf(out, "  %-13s %10s %14s %14s\n", "units", "holes",
		"free bytes", "engine blocks");
	for (unsigned int k = 0; k < s->engine.n; k++) {
		char range[32];
		unsigned long lo = s->engine.min_units[k];
		unsigned long hi = class_max(&s->engine, k);

		if (!s->holes_in[k] && !s->engine.blocks[k])
			continue;	/* the table shows what is there */
		if (!hi)
			snprintf(range, sizeof(range), "%lu+", lo);
		else if (hi == lo)
			snprintf(range, sizeof(range), "%lu", lo);
		else
			snprintf(range, sizeof(range), "%lu-%lu", lo, hi);
		fprintf(out, "  %-13s %10lu %14zu %14lu\n", range,
			s->holes_in[k], (size_t)s->units_in[k] << order,
			s->engine.blocks[k]);
	}
}

/* Indent each line of @text under the section's heading. */
static void text_section(const char *name, const char *text, int err,
			 FILE *out)
{
	fprintf(out, "%s:\n", name);
	for (const char *line = text; line && *line;) {
		size_t len = strcspn(line, "\n");

		fprintf(out, "  %.*s\n", (int)len, line);
		line += len + (line[len] == '\n');
	}
	if (err)
		fprintf(out, "  (printer failed: %s)\n", strerror(-err));
}

/* ---------------------------------------------------------------- JSON */

static void json_string(const char *s, FILE *out)
{
	if (!s) {
		fputs("null", out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(out, "\\u%04x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

static void json_summary(struct gen_pool *pool, const struct pool_view *pv,
			 FILE *out)
{
	const struct gp_stats *st = &pv->st;

	fprintf(out, "{\n  \"version\": \"%s\",\n  \"name\": ", GENPOOL_VERSION);
	json_string(pool->name, out);
	fprintf(out, ",\n  \"unit\": %lu,\n  \"min_alloc_order\": %d,\n"
		"  \"algorithm\": \"%s\",\n  \"misuse_policy\": \"%s\",\n"
		"  \"search_path\": \"%s\",\n",
		1UL << pool->min_alloc_order, pool->min_alloc_order,
		algorithm_name(pool->algo), policy_name(pool),
		gp_search_path_name(gp_search_get_path()));
	fprintf(out, "  \"summary\": {\"chunks\": %zu, \"size\": %zu, \"avail\": %zu, "
		"\"in_use\": %zu, \"allocations\": %llu, \"failures\": %llu, "
		"\"largest_free\": %zu, \"fragmentation\": %.6f}",
		st->chunks, st->size, st->avail, st->in_use,
		(unsigned long long)st->allocations,
		(unsigned long long)st->failures, st->largest_free,
		st->fragmentation);
}

static void json_chunks(const struct gen_pool *pool,
			const struct pool_view *pv, FILE *out)
{
	const int order = pool->min_alloc_order;

	fputs(",\n  \"chunks\": [", out);
	for (size_t i = 0; i < pv->nchunks; i++) {
		const struct chunk_view *v = &pv->chunks[i];
		const struct gen_pool_chunk *c = &v->chunk->pub;

		fprintf(out, "%s\n    {\"start\": \"%#lx\", \"end\": \"%#lx\", \"phys\": ",
			i ? "," : "", c->start_addr, c->end_addr);
		if (c->phys_addr == GP_NO_PHYS)
			fputs("null", out);
		else
			fprintf(out, "\"%#llx\"", (unsigned long long)c->phys_addr);
		fprintf(out, ", \"size\": %zu, \"avail\": %zu, \"allocations\": %lu, "
			"\"holes\": %lu, \"largest_hole\": %zu, \"nid\": %d}",
			gpi_chunk_size(v->chunk), v->avail, v->allocations,
			v->holes, (size_t)v->largest << order, c->nid);
	}
	fputs(pv->nchunks ? "\n  ]" : "]", out);
}

static void json_holes(const struct gen_pool *pool,
		       const struct pool_view *pv, FILE *out)
{
	const struct chunk_view *s = &pv->sum;
	const int order = pool->min_alloc_order;

	fprintf(out, ",\n  \"holes\": {\"count\": %lu, \"classes\": [", s->holes);
	for (unsigned int k = 0; k < s->engine.n; k++) {
		fprintf(out, "%s\n    {\"min_units\": %lu, \"max_units\": ",
			k ? "," : "", s->engine.min_units[k]);
		if (class_max(&s->engine, k))
			fprintf(out, "%lu", class_max(&s->engine, k));
		else
			fputs("null", out);
		fprintf(out, ", \"holes\": %lu, \"free_bytes\": %zu, \"engine_blocks\": %lu}",
			s->holes_in[k], (size_t)s->units_in[k] << order,
			s->engine.blocks[k]);
	}
	fputs("\n  ]}", out);
}

/* ---------------------------------------------------------------- print */

/* The sections of the printers, in the order they were added. */
static int print_sections(struct gen_pool *pool, unsigned int flags,
			  FILE *out)
{
	const bool json = flags & GP_STATS_JSON;
	const struct gp_stats_printer *p;
	int first_err = 0, n = 0;

	pthread_mutex_lock(&printers_lock);
	if (json)
		fputs(",\n  \"sections\": {", out);
	for (p = pool->printers; p; p = p->next, n++) {
		char *text = NULL;
		int err = run_printer(pool, p, flags, &text);
		bool empty = !text || !text[strspn(text, " \t\r\n")];

		if (err && !first_err)
			first_err = err;
		if (json) {
			fputs(n ? ",\n    " : "\n    ", out);
			json_string(p->name, out);
			fprintf(out, ": %s", err || empty ? "null" : text);
		} else {
			text_section(p->name, err ? NULL : text, err, out);
		}
		free(text);
	}
	if (json)
		fputs(n ? "\n  }" : "}", out);
	pthread_mutex_unlock(&printers_lock);
	return first_err;
}

GP_EXPORT int gp_stats_print(struct gen_pool *pool, FILE *out,
			     unsigned int flags)
{
	const bool json = flags & GP_STATS_JSON;
	struct pool_view pv;
	int ret;

	if (!pool || !out || (flags & ~GP_STATS_FLAGS))
		return -EINVAL;
	ret = view_pool(pool, &pv);
	if (ret)
		return ret;
	(json ? json_summary : text_summary)(pool, &pv, out);
	if (!(flags & GP_STATS_NO_CHUNKS))
		(json ? json_chunks : text_chunks)(pool, &pv, out);
	if (!(flags & GP_STATS_NO_HOLES))
		(json ? json_holes : text_holes)(pool, &pv, out);
	free(pv.chunks);
	if (!(flags & GP_STATS_NO_SECTIONS))
		ret = print_sections(pool, flags, out);
	if (json)
		fputs("\n}\n", out);
	if (fflush(out) || ferror(out))
		return -EIO;
	return ret;
}
