// SPDX-License-Identifier: MIT
/*
 * tests/kv/fuzz_proto.c - libFuzzer target: genpool-kv's protocol parser
 * and item store, fed a byte stream cut into pieces (as the network may).
 *
 * Input: two bytes seed the cuts (pieces of 1..64 bytes; seed 0: whole),
 * the rest is what a client sends.  After each input the session is torn
 * down and the store flushed: then no item, record, reference or pool byte
 * may be left, whatever the input did (a leak of a reference shows here,
 * an overrun or use after free under the sanitizers).  The corpus in
 * corpus/ is replayed by every build (kv-fuzz-replay).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <genpool/genalloc.h>

#include "out.h"
#include "proto.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct kv_store *store;
static struct kv_batch_cache cache;
static struct kv_wstats wstats;
static _Atomic size_t pending;
static _Atomic int verbosity;

static void ops_sum(struct kv_ctx *ctx, uint64_t out[KV_ST_COUNT])
{
	for (int i = 0; i < KV_ST_COUNT; i++)
		out[i] = atomic_load(&ctx->stats->v[i]);
}

static void ops_reset(struct kv_ctx *ctx)
{
	(void)ctx;
}

static void ops_extra(struct kv_ctx *ctx, struct kv_out *out)
{
	(void)ctx;
	kv_out_stat(out, "fuzz", "%d", 1);
}

static const struct kv_server_ops ops = { ops_sum, ops_reset, ops_extra };

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_proto: %s\n", what);
	abort();
}

static void setup(void)
{
	struct kv_store_config cfg = {
		.memory = 2 << 20, .max_item = 64 << 10,
		.backing = KV_BACKING_ANON, .cache = true,
	};

	store = kv_store_create(&cfg);
	if (!store)
		fail("kv_store_create");
	kv_batch_cache_init(&cache, store, 16);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kv_ctx ctx = {
		.stats = &wstats, .ops = &ops, .now = 1700000000,
		.started = 1700000000, .zc_threshold = 4096, .threads = 1,
		.max_conns = 1, .pending = &pending, .pending_max = 1 << 20,
		.verbosity = &verbosity,
	};
	struct kv_session s;
	struct kv_store_stats ss;
	struct kv_batch *b;
	struct gp_stats ps;
	struct kv_out out;
	uint32_t cut;

	if (!store)
		setup();
	ctx.store = store;
	if (size < 2)
		return 0;
	cut = (uint32_t)data[0] << 8 | data[1];
	data += 2;
	size -= 2;
	kv_session_init(&s);
	kv_out_init(&out, &cache);
	while (size) {
		size_t n = size;

		if (cut) {
			cut = cut * 1103515245u + 12345u;
			n = 1 + (cut >> 16) % 64;
			if (n > size)
				n = size;
		}
		if (kv_session_feed(&ctx, &s, &out, (const char *)data, n) == KV_FEED_CLOSE)
			break;
		data += n;
		size -= n;
		if (out.bytes > (1 << 20))	/* a reader that keeps up */
			kv_out_clear(&out);
	}
	while ((b = kv_out_pop(&out)))
		kv_batch_put(&cache, b);
	kv_session_fini(&ctx, &s);
	kv_flush(store);
	kv_store_get_stats(store, &ss);
	if (ss.curr_items || ss.used || ss.bytes)
		fail("items, bytes or references left after a flush");
	if (atomic_load(&pending))
		fail("pending bytes left after the session");
	if (gp_get_stats(kv_store_pool(store), &ps) || ps.in_use)
		fail("pool bytes left after a flush");
	return 0;
}
