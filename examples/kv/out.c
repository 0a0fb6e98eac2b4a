// SPDX-License-Identifier: MIT
/* examples/kv/out.c - response batches (see out.h). */
#include <stdlib.h>
#include <string.h>

#include "out.h"
#include "store.h"

void kv_batch_cache_init(struct kv_batch_cache *c, struct kv_store *store,
			 unsigned int max_free)
{
	*c = (struct kv_batch_cache){ .store = store, .max_free = max_free };
}

void kv_batch_cache_fini(struct kv_batch_cache *c)
{
	struct kv_batch *b;
	int k;

	for (k = 0; k < 2; k++) {
		while ((b = c->free[k])) {
			c->free[k] = b->next;
			free(b);
		}
		c->nfree[k] = 0;
	}
}

/* One allocation: the header, then the iovecs, the references, the text. */
static struct kv_batch *batch_new(bool large)
{
	unsigned int niov = large ? KV_BATCH_IOV : KV_SMALL_IOV;
	size_t arena = large ? KV_BATCH_ARENA : KV_SMALL_ARENA;
	struct kv_batch *b = malloc(sizeof(*b) + niov * (sizeof(struct iovec) +
							 sizeof(struct kv_item *)) + arena);

	if (!b)
		return NULL;
	b->large = large;
	b->cap_iov = (uint16_t)niov;
	b->cap_arena = (uint16_t)arena;
	b->iov = (struct iovec *)(b + 1);
	b->ref = (struct kv_item **)(b->iov + niov);
	b->arena = (char *)(b->ref + niov);
	return b;
}

static struct kv_batch *batch_get(struct kv_batch_cache *c, bool large)
{
	struct kv_batch *b = c->free[large];

	if (b) {
		c->free[large] = b->next;
		c->nfree[large]--;
	} else {
		b = batch_new(large);
		if (!b)
			return NULL;
	}
	b->next = NULL;
	b->owner = NULL;
	b->niov = b->nref = b->arena_used = 0;
	b->zc = b->sealed = 0;
	b->bytes = 0;
	c->live++;
	return b;
}

void kv_batch_put(struct kv_batch_cache *c, struct kv_batch *b)
{
	unsigned int i;

	for (i = 0; i < b->nref; i++)
		kv_item_release(c->store, b->ref[i]);
	c->live--;
	if (c->nfree[b->large] >= c->max_free) {
		free(b);
		return;
	}
	b->next = c->free[b->large];
	c->free[b->large] = b;
	c->nfree[b->large]++;
}

void kv_out_init(struct kv_out *out, struct kv_batch_cache *cache)
{
	*out = (struct kv_out){ .cache = cache };
}

/* The tail batch if it has @niov iovecs and @text arena bytes to spare
 * (and no @fresh one is wanted), else a new one queued behind it. */
static struct kv_batch *room(struct kv_out *out, unsigned int niov, size_t text,
			     bool fresh)
{
	struct kv_batch *b = out->tail;

	/* (iovecs of adjacent items merge: references can outnumber them) */
	if (!fresh && b && !b->zc && !b->sealed && b->niov + niov <= b->cap_iov &&
	    b->nref < b->cap_iov && b->arena_used + text <= b->cap_arena)
		return b;
	b = batch_get(out->cache, out->head || niov > KV_SMALL_IOV ||
		      text > KV_SMALL_ARENA);
	if (!b) {
		out->failed = true;
		return NULL;
	}
	if (out->tail)
		out->tail->next = b;
	else
		out->head = b;
	out->tail = b;
	return b;
}

static void add_iov(struct kv_out *out, struct kv_batch *b, const void *p, size_t n)
{
	struct iovec *last = b->niov ? &b->iov[b->niov - 1] : NULL;

	if (last && (const char *)last->iov_base + last->iov_len == (const char *)p)
		last->iov_len += n;	/* text right after text: one iovec */
	else
		b->iov[b->niov++] = (struct iovec){ (void *)p, n };
	b->bytes += n;
	out->bytes += n;
}

static void add_text(struct kv_out *out, struct kv_batch *b, const char *s, size_t n)
{
	char *dst = b->arena + b->arena_used;

	memcpy(dst, s, n);
	b->arena_used += (uint16_t)n;
	add_iov(out, b, dst, n);
}

bool kv_out_text(struct kv_out *out, const char *s, size_t n)
{
	while (n) {
		size_t part = n < KV_BATCH_ARENA ? n : KV_BATCH_ARENA;
		struct kv_batch *b = room(out, 1, part, false);

		if (!b)
			return false;
		add_text(out, b, s, part);
		s += part;
		n -= part;
	}
	return true;
}

bool kv_out_gather(struct kv_out *out, const struct iovec *parts, unsigned int n)
{
	size_t total = 0;
	struct kv_batch *b;
	unsigned int i;

	for (i = 0; i < n; i++)
		total += parts[i].iov_len;
	if (total > KV_BATCH_ARENA) {
		for (i = 0; i < n; i++)
			if (!kv_out_text(out, parts[i].iov_base, parts[i].iov_len))
				return false;
		return true;
	}
	b = room(out, 1, total, false);
	if (!b)
		return false;
	for (i = 0; i < n; i++)
		add_text(out, b, parts[i].iov_base, parts[i].iov_len);
	return true;
}

bool kv_out_item(struct kv_out *out, struct kv_item *it, const char *a,
		 size_t an, const char *mid, size_t midn, const char *b,
		 size_t bn, bool zc)
{
	struct kv_batch *bt;

	bt = room(out, 3, midn, zc);
	if (!bt) {
		kv_item_release(out->cache->store, it);
		return false;
	}
	add_iov(out, bt, a, an);
	if (midn)
		add_text(out, bt, mid, midn);
	if (bn)
		add_iov(out, bt, b, bn);
	bt->ref[bt->nref++] = it;
	bt->zc = zc;
	return true;
}

struct kv_batch *kv_out_pop(struct kv_out *out)
{
	struct kv_batch *b = out->head;

	if (!b)
		return NULL;
	out->head = b->next;
	if (!out->head)
		out->tail = NULL;
	out->bytes -= b->bytes;
	b->next = NULL;
	return b;
}

void kv_out_consumed(struct kv_out *out, size_t n)
{
	struct kv_batch *b = out->head;
	struct iovec *v = b->msg.msg_iov;

	b->bytes -= n;
	out->bytes -= n;
	while (n && b->msg.msg_iovlen) {
		size_t take = n < v->iov_len ? n : v->iov_len;

		v->iov_base = (char *)v->iov_base + take;
		v->iov_len -= take;
		n -= take;
		if (!v->iov_len) {
			v++;
			b->msg.msg_iovlen--;
		}
	}
	b->msg.msg_iov = v;
}

void kv_out_clear(struct kv_out *out)
{
	struct kv_batch *b;

	while ((b = kv_out_pop(out)))
		kv_batch_put(out->cache, b);
}
