// SPDX-License-Identifier: MIT
/*
 * examples/kv/out.h - a connection's queue of responses.
 *
 * Responses are gathered into batches: up to KV_BATCH_IOV iovecs, pointing
 * either at the batch's own text arena (short replies and small values,
 * copied) or at item memory (larger values, sent from where they are
 * stored, with a reference on the item until the batch is done).  A batch
 * is one gathered send (sendmsg); a "zc" batch holds one large value for a
 * zero-copy send and stays alive until the kernel's notification.  Batches
 * come from, and go back to, a per-worker cache.  Single-threaded: a queue
 * and its cache belong to one worker.
 */
#ifndef KV_OUT_H
#define KV_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* Two sizes of batch: a connection's first reply goes in a small one (the
 * common case: one short reply, and what thousands of connections that
 * each sent one request hold at once), a burst continues in large ones. */
#define KV_SMALL_IOV	4
#define KV_SMALL_ARENA	224
#define KV_BATCH_IOV	32
#define KV_BATCH_ARENA	2048

struct kv_item;
struct kv_store;

struct kv_batch {
	struct kv_batch *next;
	void *owner;			/* the connection (net.c) */
	uint16_t niov, nref;
	uint16_t arena_used;
	uint8_t zc;			/* one value for a zero-copy send */
	uint8_t sealed;			/* submitted: nothing more goes in */
	uint8_t large;			/* KV_BATCH_* capacities, else KV_SMALL_* */
	uint16_t cap_iov, cap_arena;
	size_t bytes;			/* bytes the iovecs still hold */
	struct msghdr msg;
	struct iovec *iov;		/* cap_iov of them, after the struct */
	struct kv_item **ref;		/* cap_iov */
	char *arena;			/* cap_arena bytes */
};

struct kv_batch_cache {
	struct kv_store *store;
	struct kv_batch *free[2];	/* small, large */
	unsigned int nfree[2], max_free;
	unsigned long live;		/* batches out of the cache */
};

struct kv_out {
	struct kv_batch *head, *tail;
	size_t bytes;			/* queued, not yet sent */
	bool failed;			/* a reply was lost (no memory) */
	struct kv_batch_cache *cache;
};

/** kv_batch_cache_init - an empty cache releasing item references into @store. */
void kv_batch_cache_init(struct kv_batch_cache *c, struct kv_store *store,
			 unsigned int max_free);
/** kv_batch_cache_fini - free the cached batches (all must be back). */
void kv_batch_cache_fini(struct kv_batch_cache *c);

/** kv_out_init - an empty queue over @cache. */
void kv_out_init(struct kv_out *out, struct kv_batch_cache *cache);

/** kv_out_text - queue a copy of @n bytes at @s.  False when out of memory. */
bool kv_out_text(struct kv_out *out, const char *s, size_t n);

/** kv_out_gather - kv_out_text() of @n pieces, in one batch when they fit. */
bool kv_out_gather(struct kv_out *out, const struct iovec *parts, unsigned int n);

/**
 * kv_out_item - queue @a (@an bytes of item memory), a copy of @mid, then @b
 * (@bn bytes of item memory, may be 0), taking over the caller's reference
 * on @it.  With @zc, @a alone goes out in its own zero-copy batch (@mid and
 * @b must be empty).  False (reference dropped) when out of memory.
 */
bool kv_out_item(struct kv_out *out, struct kv_item *it, const char *a,
		 size_t an, const char *mid, size_t midn, const char *b,
		 size_t bn, bool zc);

/** kv_out_pop - take the head batch off the queue (sent or dropped). */
struct kv_batch *kv_out_pop(struct kv_out *out);

/** kv_out_consumed - @n bytes of the head batch went out; advance its iovecs. */
void kv_out_consumed(struct kv_out *out, size_t n);

/** kv_batch_put - drop @b's item references and return it to @c. */
void kv_batch_put(struct kv_batch_cache *c, struct kv_batch *b);

/** kv_out_clear - drop every queued batch. */
void kv_out_clear(struct kv_out *out);

#endif
