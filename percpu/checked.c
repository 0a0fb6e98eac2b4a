// SPDX-License-Identifier: MIT
/*
 * percpu/checked.c - what the cache knows of the pool's chunks: their span
 * (for the default mode's O(1) check of a free) and, in the checked mode,
 * a bit per unit of each chunk that is set while the object starting there
 * is in a magazine, so that a second free of it is caught at once.
 *
 * The table of chunks is rebuilt (under chk_lock) when an address falls
 * outside every chunk it lists: the pool only ever gains chunks, so a new
 * table keeps the old bit arrays and adds arrays for the new chunks.
 * Readers take the newest table with an acquire load; old tables stay
 * allocated until the cache is destroyed, so a reader never sees one
 * freed under it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cache_internal.h"

#define WORD_BITS (8 * sizeof(unsigned long))

/* The chunks found by one walk over the pool. */
struct chunk_list {
	struct gpc_span *s;
	unsigned int n, cap;
	bool failed;
};

static void collect_chunk(struct gen_pool *pool, struct gen_pool_chunk *chunk,
			  void *data)
{
	struct chunk_list *l = data;

	if (l->n == l->cap) {
		unsigned int cap = l->cap ? 2 * l->cap : 8;
		struct gpc_span *s = realloc(l->s, cap * sizeof(*s));

		if (!s) {
			l->failed = true;
			return;
		}
		l->s = s;
		l->cap = cap;
	}
	l->s[l->n++] = (struct gpc_span){ chunk->start_addr,
					  chunk->end_addr + 1, NULL };
}

static int by_start(const void *a, const void *b)
{
	const struct gpc_span *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* The span of @t holding @addr, or NULL. */
static struct gpc_span *span_of(struct gpc_table *t, unsigned long addr)
{
	unsigned int lo = 0, hi = t ? t->n : 0;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (addr < t->s[mid].start)
			hi = mid;
		else if (addr >= t->s[mid].end)
			lo = mid + 1;
		else
			return &t->s[mid];
	}
	return NULL;
}

/* Give each span of @t a bit array: the old table's, or a new one. */
static bool add_bits(struct gp_cache *c, struct gpc_table *t,
		     struct gpc_table *old)
{
	for (unsigned int i = 0; i < t->n; i++) {
		struct gpc_span *s = &t->s[i], *was = span_of(old, s->start);
		size_t units = (s->end - s->start) >> c->order;

		s->bits = was ? was->bits
			      : calloc((units + WORD_BITS - 1) / WORD_BITS,
				       sizeof(unsigned long));
		if (!s->bits)
			return false;
	}
	return true;
}

/* Publish a table of the chunks in @l (checked mode). */
static bool publish_table(struct gp_cache *c, struct chunk_list *l)
{
	struct gpc_table *old = c->chk, *t;

	t = calloc(1, sizeof(*t) + l->n * sizeof(t->s[0]));
	if (!t)
		return false;
	t->n = l->n;
	memcpy(t->s, l->s, l->n * sizeof(t->s[0]));
	if (!add_bits(c, t, old)) {
		for (unsigned int i = 0; i < t->n; i++)
			if (!span_of(old, t->s[i].start))
				free(t->s[i].bits);
		free(t);
		return false;
	}
	t->older = old;
	__atomic_store_n(&c->chk, t, __ATOMIC_RELEASE);
	return true;
}

bool gpc_span_refresh(struct gp_cache *c, unsigned long addr)
{
	struct chunk_list l = { 0 };
	unsigned long lo = ~0UL, hi = 0;
	bool held = false, ok;

	pthread_mutex_lock(&c->chk_lock);
	gen_pool_for_each_chunk(c->pool, collect_chunk, &l);
	ok = !l.failed;
	if (l.n)	/* qsort(NULL, 0, ...) is undefined */
		qsort(l.s, l.n, sizeof(l.s[0]), by_start);
	for (unsigned int i = 0; i < l.n; i++) {
		lo = l.s[i].start < lo ? l.s[i].start : lo;
		hi = l.s[i].end > hi ? l.s[i].end : hi;
		held |= addr >= l.s[i].start && addr < l.s[i].end;
	}
	if (ok && l.n) {
		__atomic_store_n(&c->span_lo, lo, __ATOMIC_RELAXED);
		__atomic_store_n(&c->span_len, hi - lo, __ATOMIC_RELAXED);
	}
	if (ok && c->checked)
		ok = publish_table(c, &l);
	pthread_mutex_unlock(&c->chk_lock);
	free(l.s);
	/* At creation (@addr 0) the answer is whether the walk worked. */
	return addr ? held : ok;
}

/* The word and mask of @addr's bit; NULL if no chunk holds it even after
 * a fresh look at the pool. */
static unsigned long *bit_of(struct gp_cache *c, unsigned long addr,
			     unsigned long *mask)
{
	struct gpc_span *s;
	unsigned long unit;

	s = span_of(__atomic_load_n(&c->chk, __ATOMIC_ACQUIRE), addr);
	if (!s && gpc_span_refresh(c, addr))
		s = span_of(__atomic_load_n(&c->chk, __ATOMIC_ACQUIRE), addr);
	if (!s)
		return NULL;
	unit = (addr - s->start) >> c->order;
	*mask = 1UL << (unit % WORD_BITS);
	return &s->bits[unit / WORD_BITS];
}

int gpc_chk_enter(struct gp_cache *c, unsigned long addr)
{
	unsigned long mask, *word = bit_of(c, addr, &mask);

	if (!word)
		return -EFAULT;
	return __atomic_fetch_or(word, mask, __ATOMIC_ACQ_REL) & mask
		       ? -EALREADY
		       : 0;
}

void gpc_chk_leave(struct gp_cache *c, unsigned long addr)
{
	unsigned long mask, *word = bit_of(c, addr, &mask);

	if (word)
		__atomic_fetch_and(word, ~mask, __ATOMIC_ACQ_REL);
}

void gpc_chk_leave_all(struct gp_cache *c, const unsigned long *addrs,
		       size_t n)
{
	for (size_t i = 0; i < n; i++)
		gpc_chk_leave(c, addrs[i]);
}

void gpc_chk_free(struct gp_cache *c)
{
	struct gpc_table *t = c->chk, *older;

	/* The newest table holds every bit array (chunks are never
	 * removed); the older ones share them. */
	for (unsigned int i = 0; t && i < t->n; i++)
		free(t->s[i].bits);
	for (; t; t = older) {
		older = t->older;
		free(t);
	}
}
