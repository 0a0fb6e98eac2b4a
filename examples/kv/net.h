// SPDX-License-Identifier: MIT
/*
 * examples/kv/net.h - genpool-kv's network side: one io_uring per worker
 * thread; one listener, whose multishot accept on worker 0 deals
 * connections round robin to the workers (MSG_RING); multishot receive
 * into a provided-buffer ring, gathered sends of replies and zero-copy
 * sends of large values.
 */
#ifndef KV_NET_H
#define KV_NET_H

#include <stddef.h>

#include "store.h"

struct kv_server_config {
	const char *listen;		/* IPv4 address, default 0.0.0.0 */
	unsigned int port;		/* 0: let the kernel pick */
	unsigned int threads;
	unsigned int max_conns;
	size_t zc_threshold;		/* values this large go zero-copy; 0 off */
	struct kv_store_config store;
};

struct kv_server;

/**
 * kv_server_create - the store, the listeners and the workers (each with its
 * ring, ready to accept).  NULL with a reason on stderr on failure.
 */
struct kv_server *kv_server_create(const struct kv_server_config *cfg);

/** kv_server_port - the TCP port the listeners are bound to. */
unsigned int kv_server_port(const struct kv_server *srv);

/**
 * kv_server_stop - ask every worker to close its connections and exit.
 * Async-signal-safe (one write to an eventfd).
 */
void kv_server_stop(struct kv_server *srv);

/** kv_server_wait - join the workers; 0 when all ended cleanly. */
int kv_server_wait(struct kv_server *srv);

/** kv_server_destroy - free everything (after kv_server_wait). */
void kv_server_destroy(struct kv_server *srv);

#endif
