// SPDX-License-Identifier: MIT
/*
 * examples/kv/proto.h - memcached's text protocol for genpool-kv.
 *
 * A session is one connection's parser state.  kv_session_feed() takes
 * whatever bytes the network delivered (any split: half a command line,
 * a value spread over many receive buffers, many pipelined commands),
 * runs every complete command against the store and queues the replies on
 * a kv_out.  It never keeps a pointer into the bytes it was given: a
 * partial command line is copied into a small buffer of the session's own
 * (only while it is partial, so idle connections hold nothing), and a
 * value goes straight into its item's memory.  Single-threaded per session.
 */
#ifndef KV_PROTO_H
#define KV_PROTO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "out.h"
#include "store.h"

#define KV_LINE_MAX	2048	/* a partial command line, as memcached's */
#define KV_COPY_MAX	512	/* values sent from a copy, not item memory */

/* Per-worker counters: written by their worker only, read by any. */
#define KV_STATS(X)							\
	X(cmd_get) X(cmd_set) X(cmd_flush) X(cmd_touch)			\
	X(get_hits) X(get_misses) X(delete_misses) X(delete_hits)	\
	X(incr_misses) X(incr_hits) X(decr_misses) X(decr_hits)		\
	X(cas_misses) X(cas_hits) X(cas_badval)				\
	X(touch_hits) X(touch_misses)					\
	X(bytes_read) X(bytes_written)					\
	X(total_connections) X(curr_connections)			\
	X(zc_sends) X(zc_copied) X(recv_nobufs) X(protocol_errors)

enum kv_stat {
#define KV_STAT_ENUM(n) KV_ST_##n,
	KV_STATS(KV_STAT_ENUM)
#undef KV_STAT_ENUM
	KV_ST_COUNT
};

extern const char *const kv_stat_names[KV_ST_COUNT];

struct kv_wstats {
	_Atomic uint64_t v[KV_ST_COUNT];
};

/* One writer: a plain add, no locked instruction. */
static inline void kv_stat_add(struct kv_wstats *s, enum kv_stat i, uint64_t d)
{
	atomic_store_explicit(&s->v[i],
			      atomic_load_explicit(&s->v[i], memory_order_relaxed) + d,
			      memory_order_relaxed);
}

struct kv_ctx;

/* What "stats" needs from the server around the protocol. */
struct kv_server_ops {
	/* Sum of every worker's counters since the last reset. */
	void (*sum)(struct kv_ctx *ctx, uint64_t out[KV_ST_COUNT]);
	void (*reset)(struct kv_ctx *ctx);
	/* Extra "STAT name value" lines (pool, cache and io figures). */
	void (*extra)(struct kv_ctx *ctx, struct kv_out *out);
};

/* A worker's view of the server, shared by its sessions. */
struct kv_ctx {
	struct kv_store *store;
	struct kv_wstats *stats;
	const struct kv_server_ops *ops;
	void *server;
	uint32_t now;			/* unix seconds, refreshed per loop */
	uint32_t started;
	size_t zc_threshold;		/* 0: no zero-copy sends */
	unsigned int threads, port, max_conns;
	_Atomic size_t *pending;	/* bytes of values still arriving */
	size_t pending_max;
	_Atomic int *verbosity;
};

enum kv_feed { KV_FEED_OK, KV_FEED_CLOSE };

struct kv_session {
	uint8_t state;
	uint8_t mode;			/* enum kv_store_mode of the pending set */
	bool noreply;
	uint8_t crlf_got;
	char crlf[2];
	uint32_t line_len, line_cap;
	char *line;			/* a partial command line (heap) */
	struct kv_item *item;		/* the value being received */
	char *dst;
	size_t need;			/* value bytes still to come */
	size_t reserved;		/* of ctx->pending */
	uint64_t cas;
	uint64_t swallow;		/* bytes to discard */
};

/** kv_out_stat - queue "STAT @name <printf of @fmt>\r\n" (at most 250 bytes). */
void kv_out_stat(struct kv_out *out, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** kv_session_init - a session waiting for its first command. */
void kv_session_init(struct kv_session *s);

/**
 * kv_session_feed - consume @len bytes at @data.  Returns KV_FEED_CLOSE
 * when the connection should close once its replies are sent (quit, or a
 * command line too long to be one).
 */
enum kv_feed kv_session_feed(struct kv_ctx *ctx, struct kv_session *s,
			     struct kv_out *out, const char *data, size_t len);

/** kv_session_fini - drop what a session holds (a half-received item). */
void kv_session_fini(struct kv_ctx *ctx, struct kv_session *s);

/** kv_session_idle - true when the session holds no partial request. */
bool kv_session_idle(const struct kv_session *s);

#endif
