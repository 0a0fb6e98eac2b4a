// SPDX-License-Identifier: MIT
/*
 * examples/kv/store.c - genpool-kv's item store (see store.h).
 *
 * Items are found through KV_SHARDS hash shards, each its own mutex and
 * bucket array; all items are on one LRU list under its own mutex, so that
 * eviction frees memory in the order it was written: a pool filled in
 * time order is filled in address order, and evicting the oldest items
 * opens contiguous holes (what lets a large item replace small ones).
 * A get bumps an item to the LRU head at most once a second, so reads of
 * hot keys rarely touch the LRU lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <genpool/genalloc.h>
#include <genpool/io.h>
#include <genpool/percpu.h>

#include "store.h"

#define KV_SHARD_BITS	6
#define KV_SHARDS	(1U << KV_SHARD_BITS)
#define KV_BUCKETS_INIT	256U
#define KV_BUCKETS_MAX	(1U << 26)	/* bits left above the shard bits */
#define KV_UNIT_ORDER	4		/* 16-byte pool units */
#define KV_UNIT		(1UL << KV_UNIT_ORDER)
#define KV_REC_BYTES	sizeof(struct kv_item)
#define KV_BUMP_SECS	1
#define KV_EVICT_SCAN	32		/* LRU items looked at per eviction */
#define KV_THIRTY_DAYS	(60 * 60 * 24 * 30)
#define KV_REC_BLOCK	1024		/* records per slab block (64 KiB) */
#define KV_CACHE_UNITS	32		/* items up to 512 B: per-CPU caches */
#define KV_DRAIN_AFTER	8		/* failed fits before draining them */

_Static_assert(sizeof(struct kv_item) == 64, "a record is one cache line");

struct kv_shard {
	pthread_mutex_t lock;
	struct kv_item **buckets;
	uint32_t mask;
	uint32_t count;
} __attribute__((aligned(64)));

struct kv_counter {
	_Atomic uint64_t v;
};

/* Records come from 64 KiB blocks of cache-line-aligned slots: one line
 * per record (malloc's 80-byte spacing would split most across two, and a
 * lookup would miss twice), no per-record malloc on the set path. */
struct kv_rec_block {
	struct kv_item recs[KV_REC_BLOCK];
	struct kv_rec_block *next;
} __attribute__((aligned(64)));	/* (a size aligned_alloc() accepts) */

struct kv_recs {
	pthread_mutex_t lock;
	struct kv_item *free;		/* chained through hnext */
	struct kv_rec_block *blocks;
};

struct kv_store {
	struct kv_shard shards[KV_SHARDS];
	pthread_mutex_t lru_lock __attribute__((aligned(64)));
	struct kv_item lru;		/* sentinel: lnext = newest, lprev = oldest */
	struct gen_pool *pool;
	struct gp_cache *cache;		/* small items; NULL: --no-cache */
	struct gp_mem *mem;		/* the io layer's backing memory */
	const char *backing;		/* what it got */
	size_t limit, max_item;
	uint64_t seed;
	_Atomic size_t used __attribute__((aligned(64)));
	_Atomic uint64_t cas_seq;
	_Atomic uint32_t flush_when;
	struct kv_counter curr_items, total_items, bytes, evictions, reclaimed,
			  expired_unfetched, evict_failures, flushes;
	struct kv_recs recs;
};

static struct kv_item *rec_alloc(struct kv_recs *r)
{
	struct kv_item *it;

	pthread_mutex_lock(&r->lock);
	if (!r->free) {
		struct kv_rec_block *b = aligned_alloc(64, sizeof(*b));
		unsigned int i;

		if (!b) {
			pthread_mutex_unlock(&r->lock);
			return NULL;
		}
		b->next = r->blocks;
		r->blocks = b;
		for (i = 0; i < KV_REC_BLOCK; i++) {
			b->recs[i].hnext = r->free;
			r->free = &b->recs[i];
		}
	}
	it = r->free;
	r->free = it->hnext;
	pthread_mutex_unlock(&r->lock);
	return it;
}

static void rec_free(struct kv_recs *r, struct kv_item *it)
{
	pthread_mutex_lock(&r->lock);
	it->hnext = r->free;
	r->free = it;
	pthread_mutex_unlock(&r->lock);
}

static void recs_fini(struct kv_recs *r)
{
	struct kv_rec_block *b;

	while ((b = r->blocks)) {
		r->blocks = b->next;
		free(b);
	}
	pthread_mutex_destroy(&r->lock);
}

static void count(struct kv_counter *c, int64_t d)
{
	atomic_fetch_add_explicit(&c->v, (uint64_t)d, memory_order_relaxed);
}

static uint64_t counter(const struct kv_counter *c)
{
	return atomic_load_explicit(&c->v, memory_order_relaxed);
}

/* ------------------------------------------------------------ item text */

static unsigned int decimal_len(uint64_t v)
{
	unsigned int n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

/* Write @v in decimal at @p; returns the end. */
static char *put_decimal(char *p, uint64_t v)
{
	unsigned int n = decimal_len(v), i;

	for (i = n; i > 0; i--) {
		p[i - 1] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + n;
}

static size_t head_len(size_t klen, uint32_t flags, size_t vlen)
{
	return 6 + klen + 1 + decimal_len(flags) + 1 + decimal_len(vlen);
}

size_t kv_item_head_len(const struct kv_item *it)
{
	return head_len(it->klen, kv_item_flags(it), it->vlen);
}

size_t kv_item_total_len(const struct kv_item *it)
{
	return kv_item_head_len(it) + 2 + it->vlen + 2;
}

char *kv_item_value(const struct kv_item *it)
{
	return it->mem + kv_item_head_len(it) + 2;
}

uint32_t kv_item_flags(const struct kv_item *it)
{
	const char *p = it->mem + 6 + it->klen + 1;
	uint32_t v = 0;

	while (*p != ' ')
		v = v * 10 + (uint32_t)(*p++ - '0');
	return v;
}

/* What an item costs against the limit: its pool units and its record. */
static size_t item_cost(size_t total)
{
	return ((total + KV_UNIT - 1) & ~(KV_UNIT - 1)) + KV_REC_BYTES;
}

/* ------------------------------------------------------------ hashing */

/* A seeded multiply-xorshift over 8-byte words; the seed keeps a hostile
 * client from choosing keys that share a chain. */
static uint64_t key_hash(const struct kv_store *st, const char *k, size_t n)
{
	uint64_t h = st->seed ^ (n * 0x9e3779b97f4a7c15ULL), w;

	for (; n >= 8; k += 8, n -= 8) {
		memcpy(&w, k, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 29;
	}
	if (n) {
		w = 0;
		memcpy(&w, k, n);
		h = (h ^ w) * 0x94d049bb133111ebULL;
		h ^= h >> 31;
	}
	h *= 0xff51afd7ed558ccdULL;
	return h ^ (h >> 33);
}

static struct kv_shard *shard_of(struct kv_store *st, uint32_t hash)
{
	return &st->shards[hash & (KV_SHARDS - 1)];
}

static struct kv_item **bucket_of(struct kv_shard *sh, uint32_t hash)
{
	return &sh->buckets[(hash >> KV_SHARD_BITS) & sh->mask];
}

static bool is_live(const struct kv_item *it, uint32_t now)
{
	return it->exptime == 0 || it->exptime > now;
}

/* ------------------------------------------------------------ memory */

static void item_free(struct kv_store *st, struct kv_item *it)
{
	size_t total = kv_item_total_len(it);

	if (st->cache)
		gp_cache_free(st->cache, (unsigned long)it->mem, total);
	else
		gen_pool_free(st->pool, (unsigned long)it->mem, total);
	atomic_fetch_sub_explicit(&st->used, item_cost(total), memory_order_relaxed);
	rec_free(&st->recs, it);
}

size_t kv_store_max_item(const struct kv_store *st)
{
	return st->max_item;
}

void kv_item_release(struct kv_store *st, struct kv_item *it)
{
	if (atomic_fetch_sub_explicit(&it->refs, 1, memory_order_acq_rel) == 1)
		item_free(st, it);
}

/* ------------------------------------------------------------ the LRU */

static void lru_remove(struct kv_item *it)
{
	it->lprev->lnext = it->lnext;
	it->lnext->lprev = it->lprev;
}

static void lru_push(struct kv_store *st, struct kv_item *it)
{
	it->lnext = st->lru.lnext;
	it->lprev = &st->lru;
	st->lru.lnext->lprev = it;
	st->lru.lnext = it;
}

/* ------------------------------------------------------------ the table */

/* The slot that points at the live-or-not item for the key, or at NULL. */
static struct kv_item **chain_find(struct kv_shard *sh, uint32_t hash,
				   const char *key, size_t klen)
{
	struct kv_item **pp = bucket_of(sh, hash);

	for (; *pp; pp = &(*pp)->hnext) {
		const struct kv_item *it = *pp;

		if (it->hash == hash && it->klen == klen &&
		    memcmp(kv_item_key(it), key, klen) == 0)
			return pp;
	}
	return pp;
}

static struct kv_item **chain_slot(struct kv_shard *sh, struct kv_item *it)
{
	struct kv_item **pp = bucket_of(sh, it->hash);

	while (*pp != it)
		pp = &(*pp)->hnext;
	return pp;
}

/* Double a shard's buckets when chains grow past 1.5 on average; a failed
 * allocation only leaves chains longer. */
static void shard_grow(struct kv_shard *sh)
{
	uint32_t n = sh->mask + 1, i;
	struct kv_item **nb;

	if (sh->count <= n + n / 2 || n >= KV_BUCKETS_MAX)
		return;
	nb = calloc((size_t)n * 2, sizeof(*nb));
	if (!nb)
		return;
	for (i = 0; i < n; i++) {
		struct kv_item *it = sh->buckets[i], *next;

		for (; it; it = next) {
			struct kv_item **b = &nb[(it->hash >> KV_SHARD_BITS) & (2 * n - 1)];

			next = it->hnext;
			it->hnext = *b;
			*b = it;
		}
	}
	free(sh->buckets);
	sh->buckets = nb;
	sh->mask = 2 * n - 1;
}

/* Take @it out of the table and the LRU (shard locked; takes the LRU
 * lock); the table's reference is the caller's to drop. */
static void unlink_locked(struct kv_store *st, struct kv_shard *sh,
			  struct kv_item **slot)
{
	struct kv_item *it = *slot;

	*slot = it->hnext;
	sh->count--;
	pthread_mutex_lock(&st->lru_lock);
	lru_remove(it);
	pthread_mutex_unlock(&st->lru_lock);
	it->linked = 0;
	count(&st->curr_items, -1);
	count(&st->bytes, -(int64_t)kv_item_total_len(it));
}

/* Put @it where @slot points (replacing *slot if any) and at the LRU head.
 * Returns the replaced item, whose table reference the caller drops. */
static struct kv_item *link_locked(struct kv_store *st, struct kv_shard *sh,
				   struct kv_item **slot, struct kv_item *it,
				   uint32_t now)
{
	struct kv_item *old = *slot;

	it->cas = atomic_fetch_add_explicit(&st->cas_seq, 1, memory_order_relaxed) + 1;
	it->atime = now;
	it->linked = 1;
	it->hnext = old ? old->hnext : NULL;
	*slot = it;
	pthread_mutex_lock(&st->lru_lock);
	if (old)
		lru_remove(old);
	lru_push(st, it);
	pthread_mutex_unlock(&st->lru_lock);
	count(&st->curr_items, 1);
	count(&st->total_items, 1);
	count(&st->bytes, (int64_t)kv_item_total_len(it));
	if (old) {
		old->linked = 0;
		count(&st->curr_items, -1);
		count(&st->bytes, -(int64_t)kv_item_total_len(old));
	} else {
		sh->count++;
	}
	return old;
}

/* The live item for the key (shard locked), unlinking an expired one;
 * *@slotp is where it is (or where it would go). */
static struct kv_item *find_live(struct kv_store *st, struct kv_shard *sh,
				 uint32_t hash, const char *key, size_t klen,
				 uint32_t now, struct kv_item ***slotp)
{
	struct kv_item **slot = chain_find(sh, hash, key, klen);
	struct kv_item *it = *slot;

	if (it && !is_live(it, now)) {
		unlink_locked(st, sh, slot);
		count(&st->reclaimed, 1);
		kv_item_release(st, it);
		slot = chain_find(sh, hash, key, klen);
		it = NULL;
	}
	*slotp = slot;
	return it;
}

/* ------------------------------------------------------------ eviction */

/* Unlink one item from the LRU tail: the oldest whose shard can be taken
 * without waiting, preferring one no send is holding.  Returns false when
 * nothing could be taken. */
static bool evict_one(struct kv_store *st, uint32_t now)
{
	struct kv_item *it, *victim = NULL;
	struct kv_shard *vsh = NULL;
	int scanned = 0;

	pthread_mutex_lock(&st->lru_lock);
	for (it = st->lru.lprev; it != &st->lru && scanned < KV_EVICT_SCAN;
	     it = it->lprev, scanned++) {
		struct kv_shard *sh = shard_of(st, it->hash);
		bool held = atomic_load_explicit(&it->refs, memory_order_relaxed) > 1;

		if (victim && held)
			continue;
		if (pthread_mutex_trylock(&sh->lock))
			continue;
		if (victim)
			pthread_mutex_unlock(&vsh->lock);
		victim = it;
		vsh = sh;
		if (!held)
			break;
	}
	if (victim) {
		struct kv_item **slot = chain_slot(vsh, victim);

		*slot = victim->hnext;
		vsh->count--;
		lru_remove(victim);
		victim->linked = 0;
	}
	pthread_mutex_unlock(&st->lru_lock);
	if (!victim)
		return false;
	pthread_mutex_unlock(&vsh->lock);
	count(&st->curr_items, -1);
	count(&st->bytes, -(int64_t)kv_item_total_len(victim));
	count(is_live(victim, now) ? &st->evictions : &st->reclaimed, 1);
	kv_item_release(st, victim);
	return true;
}

/* Small items from this CPU's cache, the rest from the pool's best fit.
 * Large ones skip the cache: its drain-and-retry on a full pool would run
 * at every failed fit of an eviction loop. */
static unsigned long pool_alloc(struct kv_store *st, size_t total)
{
	if (st->cache && total <= (KV_CACHE_UNITS << KV_UNIT_ORDER))
		return gp_cache_alloc(st->cache, total);
	return gen_pool_alloc(st->pool, total);
}

/* Reserve @cost against the limit and allocate @total bytes from the pool. */
static unsigned long try_alloc(struct kv_store *st, size_t total, size_t cost)
{
	unsigned long addr;

	if (atomic_fetch_add_explicit(&st->used, cost, memory_order_relaxed) + cost >
	    st->limit) {
		atomic_fetch_sub_explicit(&st->used, cost, memory_order_relaxed);
		return 0;
	}
	addr = pool_alloc(st, total);
	if (!addr)
		atomic_fetch_sub_explicit(&st->used, cost, memory_order_relaxed);
	return addr;
}

/* Allocate, evicting LRU items until it fits.  The eviction budget (the
 * item's cost 16 times over, and at least 1 MiB worth of average items)
 * keeps a hopelessly fragmented pool from being emptied for one item. */
static unsigned long alloc_evicting(struct kv_store *st, size_t total, uint32_t now)
{
	size_t cost = item_cost(total);
	unsigned long addr;
	unsigned int evicted = 0, budget;

	budget = (unsigned int)(16 * cost / 256 + 4096);
	while (!(addr = try_alloc(st, total, cost))) {
		/* Free small items wait in per-CPU caches: give them back to
		 * the pool once, where they may complete a hole. */
		if (evicted == KV_DRAIN_AFTER && st->cache)
			gp_cache_drain(st->cache);
		if (evicted++ >= budget || !evict_one(st, now)) {
			count(&st->evict_failures, 1);
			return 0;
		}
	}
	return addr;
}

struct kv_item *kv_item_alloc(struct kv_store *st, const char *key,
			      size_t klen, uint32_t flags, uint32_t exptime,
			      size_t vlen, enum kv_result *res)
{
	size_t head = head_len(klen, flags, vlen), total = head + 2 + vlen + 2;
	struct kv_item *it;
	unsigned long addr;
	char *p;

	if (vlen > st->max_item) {
		*res = KV_TOO_LARGE;
		return NULL;
	}
	it = rec_alloc(&st->recs);
	if (!it) {
		*res = KV_NO_MEMORY;
		return NULL;
	}
	addr = alloc_evicting(st, total, kv_now());
	if (!addr) {
		rec_free(&st->recs, it);
		*res = KV_NO_MEMORY;
		return NULL;
	}
	*it = (struct kv_item){
		.mem = (char *)addr,
		.hash = (uint32_t)key_hash(st, key, klen),
		.vlen = (uint32_t)vlen,
		.exptime = exptime,
		.klen = (uint8_t)klen,
	};
	atomic_init(&it->refs, 1);
	p = it->mem;
	memcpy(p, "VALUE ", 6);
	memcpy(p + 6, key, klen);
	p += 6 + klen;
	*p++ = ' ';
	p = put_decimal(p, flags);
	*p++ = ' ';
	p = put_decimal(p, vlen);
	memcpy(p, "\r\n", 2);
	memcpy(p + 2 + vlen, "\r\n", 2);
	*res = KV_STORED;
	return it;
}

/* ------------------------------------------------------------ commands */

/* A new item for the key of @old holding @a then @b (append, prepend and
 * incr build their results this way: item memory is never rewritten). */
static struct kv_item *item_concat(struct kv_store *st, const struct kv_item *old,
				   const char *a, size_t alen,
				   const char *b, size_t blen)
{
	enum kv_result res;
	struct kv_item *it = kv_item_alloc(st, kv_item_key(old), old->klen,
					   kv_item_flags(old), old->exptime,
					   alen + blen, &res);

	if (it) {
		memcpy(kv_item_value(it), a, alen);
		memcpy(kv_item_value(it) + alen, b, blen);
	}
	return it;
}

enum kv_result kv_store_item(struct kv_store *st, struct kv_item *it,
			     enum kv_store_mode mode, uint64_t cas, uint32_t now)
{
	struct kv_shard *sh = shard_of(st, it->hash);
	struct kv_item **slot, *old, *put = it;
	enum kv_result res = KV_STORED;

	pthread_mutex_lock(&sh->lock);
	old = find_live(st, sh, it->hash, kv_item_key(it), it->klen, now, &slot);
	switch (mode) {
	case KV_SET:
		break;
	case KV_ADD:
		if (old)
			res = KV_NOT_STORED;
		break;
	case KV_REPLACE:
		if (!old)
			res = KV_NOT_STORED;
		break;
	case KV_CAS:
		if (!old)
			res = KV_NOT_FOUND;
		else if (old->cas != cas)
			res = KV_EXISTS;
		break;
	case KV_APPEND:
	case KV_PREPEND:
		if (!old) {
			res = KV_NOT_STORED;
			break;
		}
		put = mode == KV_APPEND ?
			item_concat(st, old, kv_item_value(old), old->vlen,
				    kv_item_value(it), it->vlen) :
			item_concat(st, old, kv_item_value(it), it->vlen,
				    kv_item_value(old), old->vlen);
		if (!put)	/* (eviction skips this shard: we hold it) */
			res = KV_NO_MEMORY;
		break;
	}
	old = res == KV_STORED ? link_locked(st, sh, slot, put, now) : NULL;
	if (res == KV_STORED)
		shard_grow(sh);
	pthread_mutex_unlock(&sh->lock);
	if (old)
		kv_item_release(st, old);
	if (put != it || res != KV_STORED)
		kv_item_release(st, it);
	return res;
}

struct kv_item *kv_get(struct kv_store *st, const char *key, size_t klen,
		       uint32_t now, bool touch, uint32_t exptime)
{
	uint32_t hash = (uint32_t)key_hash(st, key, klen);
	struct kv_shard *sh = shard_of(st, hash);
	struct kv_item **slot, *it;

	pthread_mutex_lock(&sh->lock);
	it = find_live(st, sh, hash, key, klen, now, &slot);
	if (it) {
		atomic_fetch_add_explicit(&it->refs, 1, memory_order_relaxed);
		if (touch)
			it->exptime = exptime;
		if (now - it->atime >= KV_BUMP_SECS) {
			it->atime = now;
			pthread_mutex_lock(&st->lru_lock);
			lru_remove(it);
			lru_push(st, it);
			pthread_mutex_unlock(&st->lru_lock);
		}
	}
	pthread_mutex_unlock(&sh->lock);
	return it;
}

enum kv_result kv_delete(struct kv_store *st, const char *key, size_t klen,
			 uint32_t now)
{
	uint32_t hash = (uint32_t)key_hash(st, key, klen);
	struct kv_shard *sh = shard_of(st, hash);
	struct kv_item **slot, *it;

	pthread_mutex_lock(&sh->lock);
	it = find_live(st, sh, hash, key, klen, now, &slot);
	if (it)
		unlink_locked(st, sh, slot);
	pthread_mutex_unlock(&sh->lock);
	if (!it)
		return KV_NOT_FOUND;
	kv_item_release(st, it);
	return KV_STORED;
}

/* memcached's reading of a value as a number: optional blanks, 1 to 20
 * digits that fit in 64 bits, optional blanks. */
static bool parse_counter(const char *p, size_t n, uint64_t *out)
{
	const char *end = p + n;
	uint64_t v = 0;
	int digits = 0;

	while (p < end && *p == ' ')
		p++;
	for (; p < end && *p >= '0' && *p <= '9'; p++, digits++) {
		unsigned int d = (unsigned int)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	while (p < end && *p == ' ')
		p++;
	*out = v;
	return digits > 0 && p == end;
}

enum kv_result kv_incr(struct kv_store *st, const char *key, size_t klen,
		       bool decr, uint64_t delta, uint32_t now, uint64_t *out)
{
	uint32_t hash = (uint32_t)key_hash(st, key, klen);
	struct kv_shard *sh = shard_of(st, hash);
	struct kv_item **slot, *it, *put, *old = NULL;
	enum kv_result res = KV_STORED;
	static const char blanks[20] = "                    ";
	char digits[20];
	uint64_t v;

	pthread_mutex_lock(&sh->lock);
	it = find_live(st, sh, hash, key, klen, now, &slot);
	if (!it)
		res = KV_NOT_FOUND;
	else if (!parse_counter(kv_item_value(it), it->vlen, &v))
		res = KV_NON_NUMERIC;
	if (res == KV_STORED) {
		size_t n, pad;

		/* incr wraps at 2^64 and decr stops at 0, as memcached's do; a
		 * shorter result keeps the old length, padded with blanks, as
		 * memcached's in-place update leaves it. */
		v = decr ? (v > delta ? v - delta : 0) : v + delta;
		*out = v;
		n = (size_t)(put_decimal(digits, v) - digits);
		pad = it->vlen > n ? it->vlen - n : 0;
		if (pad > sizeof(blanks))
			pad = sizeof(blanks);
		put = item_concat(st, it, digits, n, blanks, pad);
		if (!put)
			res = KV_NO_MEMORY;
		else
			old = link_locked(st, sh, slot, put, now);
	}
	pthread_mutex_unlock(&sh->lock);
	if (old)
		kv_item_release(st, old);
	return res;
}

void kv_flush(struct kv_store *st)
{
	unsigned int s, b;

	atomic_store(&st->flush_when, 0);
	count(&st->flushes, 1);
	for (s = 0; s < KV_SHARDS; s++) {
		struct kv_shard *sh = &st->shards[s];
		struct kv_item *dead = NULL, *it;

		pthread_mutex_lock(&sh->lock);
		for (b = 0; b <= sh->mask; b++) {
			while ((it = sh->buckets[b])) {
				unlink_locked(st, sh, &sh->buckets[b]);
				it->hnext = dead;
				dead = it;
			}
		}
		pthread_mutex_unlock(&sh->lock);
		while ((it = dead)) {
			dead = it->hnext;
			kv_item_release(st, it);
		}
	}
	if (st->cache)		/* a flushed cache gives the pool back whole */
		gp_cache_drain(st->cache);
}

void kv_flush_at(struct kv_store *st, uint32_t when)
{
	atomic_store(&st->flush_when, when);
}

void kv_flush_due(struct kv_store *st, uint32_t now)
{
	uint32_t when = atomic_load_explicit(&st->flush_when, memory_order_relaxed);

	if (when && now >= when &&
	    atomic_compare_exchange_strong(&st->flush_when, &when, 0))
		kv_flush(st);
}

/* ------------------------------------------------------------ life cycle */

/* Pre-faulted, locked item memory from the io layer: thp may fall back to
 * plain pages and anon to unlocked memory; hugetlb is what was asked for
 * or nothing (and needs no mlock: huge pages do not swap). */
static struct gp_mem *item_memory(size_t size, enum kv_backing_kind kind,
				  const char **got)
{
	static const struct gp_mem_config cfgs[] = {
		[KV_BACKING_THP] = { GP_MEM_THP, GP_MEM_FALLBACK, -1, "genpool-kv items" },
		[KV_BACKING_ANON] = { GP_MEM_ANON, GP_MEM_FALLBACK, -1, "genpool-kv items" },
		[KV_BACKING_HUGETLB] = { GP_MEM_HUGETLB_2M, GP_MEM_NO_MLOCK, -1,
					 "genpool-kv items" },
	};
	struct gp_mem *mem = gp_mem_create(size, &cfgs[kind]);
	struct gp_mem_info info;

	if (!mem) {
		fprintf(stderr, "genpool-kv: cannot map %zu bytes of %s memory: %s%s\n",
			size, gp_mem_backing_name(cfgs[kind].backing), strerror(errno),
			kind == KV_BACKING_HUGETLB ?
			" (reserve 2 MiB pages in /proc/sys/vm/nr_hugepages)" : "");
		return NULL;
	}
	*got = gp_mem_get_info(mem, &info) == 0 ? gp_mem_backing_name(info.backing) : "?";
	return mem;
}

struct kv_store *kv_store_create(const struct kv_store_config *cfg)
{
	struct kv_store *st;
	unsigned int s;

	if (cfg->memory < (1UL << 20) || cfg->max_item > KV_VALUE_MAX) {
		errno = EINVAL;
		return NULL;
	}
	st = aligned_alloc(64, sizeof(*st));
	if (!st)
		return NULL;
	memset(st, 0, sizeof(*st));
	st->limit = cfg->memory;
	pthread_mutex_init(&st->recs.lock, NULL);
	st->max_item = cfg->max_item;
	pthread_mutex_init(&st->lru_lock, NULL);
	st->lru.lnext = st->lru.lprev = &st->lru;
	if (getrandom(&st->seed, sizeof(st->seed), 0) != sizeof(st->seed))
		st->seed = (uint64_t)time(NULL) * 0x2545f4914f6cdd1dULL;
	for (s = 0; s < KV_SHARDS; s++) {
		pthread_mutex_init(&st->shards[s].lock, NULL);
		st->shards[s].mask = KV_BUCKETS_INIT - 1;
		st->shards[s].buckets = calloc(KV_BUCKETS_INIT, sizeof(struct kv_item *));
		if (!st->shards[s].buckets)
			goto fail;
	}
	st->mem = item_memory(cfg->memory, cfg->backing, &st->backing);
	if (!st->mem)
		goto fail;
	st->pool = gen_pool_create(KV_UNIT_ORDER, -1);
	if (!st->pool)
		goto fail;
	gen_pool_set_algo(st->pool, gen_pool_best_fit, NULL);
	gp_set_name(st->pool, "genpool-kv items");
	/* Virtually contiguous chunks of up to 1 GiB: the default split into
	 * physically contiguous runs (2 MiB huge pages) would keep any item
	 * from straddling two, and a cache needs no physical addresses. */
	if (gp_mem_add_to_pool_flags(st->mem, st->pool, GP_MEM_ADD_LARGE) < 0)
		goto fail;
	if (cfg->cache) {
		struct gp_cache_config cc = { .max_units = KV_CACHE_UNITS };

		st->cache = gp_cache_create(st->pool, &cc);
		if (!st->cache)
			goto fail;
	}
	return st;
fail:
	kv_store_destroy(st);
	errno = ENOMEM;
	return NULL;
}

void kv_store_destroy(struct kv_store *st)
{
	unsigned int s;

	if (!st)
		return;
	if (st->pool)
		kv_flush(st);
	if (st->cache)
		gp_cache_destroy(st->cache);
	for (s = 0; s < KV_SHARDS; s++) {
		free(st->shards[s].buckets);
		pthread_mutex_destroy(&st->shards[s].lock);
	}
	if (st->pool)
		gen_pool_destroy(st->pool);
	if (st->mem && gp_mem_destroy(st->mem))
		fprintf(stderr, "genpool-kv: item memory still registered at exit\n");
	pthread_mutex_destroy(&st->lru_lock);
	recs_fini(&st->recs);
	free(st);
}

struct gen_pool *kv_store_pool(struct kv_store *st)
{
	return st->pool;
}

struct gp_cache *kv_store_cache(struct kv_store *st)
{
	return st->cache;
}

void kv_store_charge(struct kv_store *st, int64_t bytes)
{
	atomic_fetch_add_explicit(&st->used, (size_t)bytes, memory_order_relaxed);
}

void kv_store_get_stats(struct kv_store *st, struct kv_store_stats *out)
{
	*out = (struct kv_store_stats){
		.curr_items = counter(&st->curr_items),
		.total_items = counter(&st->total_items),
		.bytes = counter(&st->bytes),
		.used = atomic_load_explicit(&st->used, memory_order_relaxed),
		.evictions = counter(&st->evictions),
		.reclaimed = counter(&st->reclaimed),
		.evict_failures = counter(&st->evict_failures),
		.flushes = counter(&st->flushes),
		.limit = st->limit,
		.max_item = st->max_item,
		.backing = st->backing,
	};
	out->meta_bytes = out->curr_items * KV_REC_BYTES;
}

void kv_store_reset_stats(struct kv_store *st)
{
	struct kv_counter *c[] = { &st->total_items, &st->evictions,
				   &st->reclaimed, &st->evict_failures,
				   &st->flushes };
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		atomic_store_explicit(&c[i]->v, 0, memory_order_relaxed);
}

/* ------------------------------------------------------------ time */

uint32_t kv_expiry(int64_t exptime, uint32_t now)
{
	if (exptime == 0)
		return 0;
	if (exptime < 0)
		return 1;
	if (exptime <= KV_THIRTY_DAYS)
		exptime += now;
	return exptime > UINT32_MAX ? UINT32_MAX : (uint32_t)exptime;
}

uint32_t kv_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return (uint32_t)ts.tv_sec;
}
