// SPDX-License-Identifier: MIT
/*
 * examples/kv/store.h - genpool-kv's item store: a sharded hash table and
 * one LRU list over items whose bytes live in a genpool pool.
 *
 * An item's bytes (one pool allocation) are exactly the text a get sends:
 *
 *   "VALUE <key> <flags> <bytes>" "\r\n" <value> "\r\n"
 *   |<------------ head ------->|
 *
 * so a get is one contiguous region of item memory (and gets inserts
 * " <cas>" between head and the rest).  Everything that changes after the
 * item is written (hash and LRU links, refcount, cas, expiry) lives in an
 * out-of-band record, never in pool memory: a bookkeeping bug can corrupt
 * records, not the bytes of another item, and item memory is read-only once
 * stored (a send may be reading it).
 *
 * Memory limit: the pool holds item bytes; records and item bytes together
 * are charged against the configured limit, so "--memory 64" means 64 MiB
 * of everything per item, as memcached's -m covers its in-slab headers.
 *
 * Thread safety: every function may be called from any thread.  Lock order:
 * shard, then LRU; eviction holds the LRU lock and only try-locks shards.
 */
#ifndef KV_STORE_H
#define KV_STORE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KV_KEY_MAX	250		/* memcached's KEY_MAX_LENGTH */
#define KV_VALUE_MAX	(1U << 30)	/* a pool chunk's limit */

struct kv_store;
struct gen_pool;
struct gp_cache;

/* The out-of-band record of one item (64 bytes). */
struct kv_item {
	struct kv_item *hnext;		/* hash chain (shard lock) */
	struct kv_item *lprev, *lnext;	/* LRU list (LRU lock) */
	char *mem;			/* the item's bytes in the pool */
	uint64_t cas;
	uint32_t hash;			/* low 32 bits of the key's hash */
	uint32_t vlen;			/* value bytes */
	uint32_t exptime;		/* absolute unix seconds, 0 = never */
	uint32_t atime;			/* last LRU bump, unix seconds */
	_Atomic uint32_t refs;		/* the table's (while linked) + readers' */
	uint8_t klen;
	uint8_t linked;			/* in the hash table and the LRU */
};

/* Where the parts of an item's text start. */
static inline const char *kv_item_key(const struct kv_item *it)
{
	return it->mem + 6;		/* after "VALUE " */
}

/* Bytes of "VALUE <key> <flags> <bytes>" (before the first CRLF). */
size_t kv_item_head_len(const struct kv_item *it);
/* Bytes of the whole text: head + CRLF + value + CRLF. */
size_t kv_item_total_len(const struct kv_item *it);
/* Where the value starts. */
char *kv_item_value(const struct kv_item *it);
/* The flags, read back from the head. */
uint32_t kv_item_flags(const struct kv_item *it);

enum kv_backing_kind { KV_BACKING_THP, KV_BACKING_ANON, KV_BACKING_HUGETLB };

struct kv_store_config {
	size_t memory;			/* bytes: pool + records */
	size_t max_item;		/* largest value accepted (bytes) */
	enum kv_backing_kind backing;
	bool cache;			/* per-CPU caches for small items */
};

enum kv_store_mode {
	KV_SET, KV_ADD, KV_REPLACE, KV_APPEND, KV_PREPEND, KV_CAS,
};

enum kv_result {
	KV_STORED, KV_NOT_STORED, KV_EXISTS, KV_NOT_FOUND,
	KV_NON_NUMERIC,		/* incr/decr of a value that is no number */
	KV_NO_MEMORY,		/* nothing left to evict */
	KV_TOO_LARGE,
};

/* Counters a worker reads for "stats"; a snapshot, not a transaction. */
struct kv_store_stats {
	uint64_t curr_items, total_items, bytes, meta_bytes, used;
	uint64_t evictions, reclaimed, expired_unfetched, evict_failures;
	uint64_t flushes;
	size_t limit, max_item;
	const char *backing;
};

/**
 * kv_store_create - map @cfg->memory of backing memory, make the pool over
 * it and an empty table.  Returns NULL with errno set and a reason printed
 * to stderr on failure.
 */
struct kv_store *kv_store_create(const struct kv_store_config *cfg);

/** kv_store_destroy - free every item, the pool and its memory. */
void kv_store_destroy(struct kv_store *st);

/** kv_store_pool - the pool of item memory (for stats). */
struct gen_pool *kv_store_pool(struct kv_store *st);

/** kv_store_cache - the per-CPU cache of small items, or NULL. */
struct gp_cache *kv_store_cache(struct kv_store *st);

/**
 * kv_store_charge - count @bytes (negative: give back) of the pool that is
 * not items against the limit (the receive buffers carved from it).
 */
void kv_store_charge(struct kv_store *st, int64_t bytes);

/**
 * kv_item_alloc - a new, unlinked item for @key with room for @vlen value
 * bytes; the head and both CRLFs are written, the value is for the caller
 * to fill at kv_item_value().  Evicts least recently used items until the
 * item fits.  The caller owns the one reference.
 * Returns NULL with *@res = KV_TOO_LARGE (over max_item) or KV_NO_MEMORY.
 */
struct kv_item *kv_item_alloc(struct kv_store *st, const char *key,
			      size_t klen, uint32_t flags, uint32_t exptime,
			      size_t vlen, enum kv_result *res);

/** kv_store_max_item - the largest value kv_item_alloc() accepts. */
size_t kv_store_max_item(const struct kv_store *st);

/** kv_item_release - drop one reference; the last frees the item. */
void kv_item_release(struct kv_store *st, struct kv_item *it);

/**
 * kv_store_item - link @it (a kv_item_alloc() item, value filled) under
 * @mode; for KV_CAS the stored item must have cas @cas.  Consumes the
 * caller's reference in every case.  Returns what memcached replies.
 */
enum kv_result kv_store_item(struct kv_store *st, struct kv_item *it,
			     enum kv_store_mode mode, uint64_t cas,
			     uint32_t now);

/**
 * kv_get - the live item for @key with a reference for the caller, or NULL.
 * When @touch, its expiry becomes @exptime (gat, touch).  Bumps the LRU.
 */
struct kv_item *kv_get(struct kv_store *st, const char *key, size_t klen,
		       uint32_t now, bool touch, uint32_t exptime);

/** kv_delete - unlink the live item for @key.  KV_STORED (deleted) or KV_NOT_FOUND. */
enum kv_result kv_delete(struct kv_store *st, const char *key, size_t klen,
			 uint32_t now);

/**
 * kv_incr - add @delta to (or, @decr, subtract it from, stopping at 0) the
 * decimal value of @key; the result goes to *@out.  KV_STORED, KV_NOT_FOUND,
 * KV_NON_NUMERIC or KV_NO_MEMORY.
 */
enum kv_result kv_incr(struct kv_store *st, const char *key, size_t klen,
		       bool decr, uint64_t delta, uint32_t now, uint64_t *out);

/** kv_flush - unlink every item now (flush_all). */
void kv_flush(struct kv_store *st);

/**
 * kv_flush_at - flush_all with a delay: every item stored before @when
 * goes at @when (0: cancel).  kv_flush_due() runs it once due.
 */
void kv_flush_at(struct kv_store *st, uint32_t when);
void kv_flush_due(struct kv_store *st, uint32_t now);

/** kv_store_get_stats - the store's counters. */
void kv_store_get_stats(struct kv_store *st, struct kv_store_stats *out);

/** kv_store_reset_stats - zero the resettable counters (stats reset). */
void kv_store_reset_stats(struct kv_store *st);

/**
 * kv_expiry - memcached's exptime rule: 0 never; negative: already past;
 * up to 30 days: relative to @now; beyond: absolute unix time.
 */
uint32_t kv_expiry(int64_t exptime, uint32_t now);

/** kv_now - the current unix time in seconds (coarse clock). */
uint32_t kv_now(void);

#endif
