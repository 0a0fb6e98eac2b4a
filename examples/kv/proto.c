// SPDX-License-Identifier: MIT
/*
 * examples/kv/proto.c - memcached's text protocol (see proto.h).
 *
 * The replies, their wording and the corner cases (which malformed lines
 * get ERROR and which CLIENT_ERROR, what is swallowed, what noreply hides)
 * follow memcached 1.6 as observed on the wire; doc/protocol.txt in
 * memcached's tree describes the commands.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "proto.h"

/* The protocol level first (clients compare it), then who we are. */
#define KV_VERSION	"1.6.0 genpool-kv/0.1.0"
#define KV_MAX_TOKENS	8

enum { S_LINE, S_DATA, S_DATA_END, S_SWALLOW };

const char *const kv_stat_names[KV_ST_COUNT] = {
#define KV_STAT_NAME(n) #n,
	KV_STATS(KV_STAT_NAME)
#undef KV_STAT_NAME
};

struct tok {
	const char *p;
	size_t n;
};

static bool tok_is(const struct tok *t, const char *s)
{
	size_t n = strlen(s);

	return t->n == n && memcmp(t->p, s, n) == 0;
}

/* Split on spaces; returns the number of tokens, max + 1 if there are more. */
static int tokenize(const char *p, const char *end, struct tok *t, int max)
{
	int n = 0;

	for (;;) {
		const char *s;

		while (p < end && *p == ' ')
			p++;
		if (p == end)
			return n;
		if (n == max)
			return max + 1;
		for (s = p; p < end && *p != ' '; p++)
			;
		t[n++] = (struct tok){ s, (size_t)(p - s) };
	}
}

static bool parse_u64(const struct tok *t, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!t->n)
		return false;
	for (i = 0; i < t->n; i++) {
		unsigned int d = (unsigned int)(t->p[i] - '0');

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static bool parse_i64(const struct tok *t, int64_t *out)
{
	struct tok digits = *t;
	uint64_t v;
	bool neg = t->n && t->p[0] == '-';

	if (neg) {
		digits.p++;
		digits.n--;
	}
	if (!parse_u64(&digits, &v) || v > (uint64_t)INT64_MAX)
		return false;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return true;
}

static bool parse_u32(const struct tok *t, uint32_t *out)
{
	uint64_t v;

	if (!parse_u64(t, &v) || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* ------------------------------------------------------------ replies */

static void reply(struct kv_session *s, struct kv_out *out, const char *str)
{
	if (!s->noreply)
		kv_out_text(out, str, strlen(str));
}

static void reply_u64(struct kv_session *s, struct kv_out *out, uint64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%llu\r\n", (unsigned long long)v);

	if (!s->noreply)
		kv_out_text(out, buf, (size_t)n);
}

void kv_out_stat(struct kv_out *out, const char *name, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n = snprintf(buf, sizeof(buf), "STAT %s ", name);

	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n - 2, fmt, ap);
	va_end(ap);
	memcpy(buf + n, "\r\n", 2);
	kv_out_text(out, buf, (size_t)n + 2);
}

/* ------------------------------------------------------------ retrieval */

/* Queue one item's VALUE block (and its cas for gets); consumes the ref. */
static void emit_value(struct kv_ctx *ctx, struct kv_out *out,
		       struct kv_item *it, bool with_cas)
{
	size_t head = kv_item_head_len(it), total = kv_item_total_len(it);
	char cas[24];
	size_t casn = 0;

	if (with_cas)
		casn = (size_t)snprintf(cas, sizeof(cas), " %llu",
					(unsigned long long)it->cas);
	if (total <= KV_COPY_MAX) {
		struct iovec parts[3] = {
			{ it->mem, head }, { cas, casn }, { it->mem + head, total - head },
		};

		kv_out_gather(out, parts, 3);
		kv_item_release(ctx->store, it);
	} else if (ctx->zc_threshold && it->vlen >= ctx->zc_threshold) {
		/* The head goes as text, the value from item memory, zero-copy. */
		kv_out_text(out, it->mem, head);
		kv_out_text(out, cas, casn);
		kv_out_item(out, it, it->mem + head, total - head, NULL, 0,
			    NULL, 0, true);
	} else {
		kv_out_item(out, it, it->mem, head, cas, casn, it->mem + head,
			    total - head, false);
	}
}

/* Look up and queue every key in [p, end); no END. */
static void get_keys(struct kv_ctx *ctx, struct kv_out *out, const char *p,
		     const char *end, bool with_cas, bool touch, uint32_t exptime)
{
	struct tok k;

	while (tokenize(p, end, &k, 1) >= 1) {
		struct kv_item *it = kv_get(ctx->store, k.p, k.n, ctx->now, touch,
					    exptime);

		p = k.p + k.n;
		kv_stat_add(ctx->stats, touch ? KV_ST_cmd_touch : KV_ST_cmd_get, 1);
		if (touch)
			kv_stat_add(ctx->stats, it ? KV_ST_touch_hits : KV_ST_touch_misses, 1);
		kv_stat_add(ctx->stats, it ? KV_ST_get_hits : KV_ST_get_misses, 1);
		if (it)
			emit_value(ctx, out, it, with_cas);
	}
}

/* Every key in [p, end) is at most KV_KEY_MAX bytes. */
static bool keys_valid(const char *p, const char *end)
{
	struct tok k;

	while (tokenize(p, end, &k, 1) >= 1) {
		if (k.n > KV_KEY_MAX)
			return false;
		p = k.p + k.n;
	}
	return true;
}

/* get/gets <key>*, gat/gats <exptime> <key>*: @rest follows the command. */
static void cmd_get(struct kv_ctx *ctx, struct kv_session *s, struct kv_out *out,
		    const char *rest, const char *end, bool with_cas, bool touch)
{
	uint32_t exptime = 0;
	struct tok t[2];

	if (tokenize(rest, end, t, 2) < 1) {	/* gat's exptime alone: END */
		reply(s, out, "ERROR\r\n");
		return;
	}
	if (touch) {
		int64_t e;

		if (!parse_i64(&t[0], &e)) {
			reply(s, out, "CLIENT_ERROR invalid exptime argument\r\n");
			return;
		}
		exptime = kv_expiry(e, ctx->now);
		rest = t[0].p + t[0].n;
	}
	if (!keys_valid(rest, end)) {
		reply(s, out, "CLIENT_ERROR bad command line format\r\n");
		return;
	}
	get_keys(ctx, out, rest, end, with_cas, touch, exptime);
	reply(s, out, "END\r\n");
}

/* ------------------------------------------------------------ storage */

static void swallow(struct kv_session *s, uint64_t n)
{
	s->swallow = n;
	s->state = n ? S_SWALLOW : S_LINE;
}

/* set/add/replace/append/prepend <key> <flags> <exptime> <bytes> [noreply],
 * cas <key> <flags> <exptime> <bytes> <cas> [noreply].  @avail: input bytes
 * already here after the line (a value still to arrive is reserved). */
static void cmd_store(struct kv_ctx *ctx, struct kv_session *s, struct kv_out *out,
		      const struct tok *t, int nt, enum kv_store_mode mode,
		      size_t avail)
{
	int args = mode == KV_CAS ? 6 : 5;
	uint32_t flags;
	int64_t exptime, vlen;
	uint64_t cas = 0;
	enum kv_result res;
	struct kv_item *it;
	size_t want;
	bool later;

	if (nt != args && nt != args + 1) {
		reply(s, out, "ERROR\r\n");
		return;
	}
	s->noreply = nt == args + 1 && tok_is(&t[args], "noreply");
	kv_stat_add(ctx->stats, KV_ST_cmd_set, 1);
	if (t[1].n > KV_KEY_MAX || !parse_u32(&t[2], &flags) ||
	    !parse_i64(&t[3], &exptime) || !parse_i64(&t[4], &vlen) ||
	    vlen < 0 || vlen > INT32_MAX - 2 ||
	    (mode == KV_CAS && !parse_u64(&t[5], &cas))) {
		reply(s, out, "CLIENT_ERROR bad command line format\r\n");
		s->noreply = false;
		return;
	}
	want = (size_t)vlen + 2;
	/* A value that is still to come holds its item meanwhile: cap the
	 * bytes so held, so slow or stalled senders cannot take the memory of
	 * everyone else's items.  Reserved before the item is allocated: the
	 * allocation evicts to make room, and a set the cap then refused had
	 * already pushed others' items out (under load, when many stalled
	 * senders are in flight at once).  A value over the largest gets its
	 * own answer, not this one. */
	later = avail < want && (size_t)vlen <= kv_store_max_item(ctx->store);
	if (later && atomic_fetch_add(ctx->pending, want) + want > ctx->pending_max) {
		atomic_fetch_sub(ctx->pending, want);
		it = NULL;
		res = KV_NO_MEMORY;
	} else {
		it = kv_item_alloc(ctx->store, t[1].p, t[1].n, flags,
				   kv_expiry(exptime, ctx->now), (size_t)vlen, &res);
		if (later && it)
			s->reserved = want;
		else if (later)
			atomic_fetch_sub(ctx->pending, want);
	}
	if (!it) {
		reply(s, out, res == KV_TOO_LARGE ?
		      "SERVER_ERROR object too large for cache\r\n" :
		      "SERVER_ERROR out of memory storing object\r\n");
		s->noreply = false;
		swallow(s, (uint64_t)vlen + 2);
		return;
	}
	s->item = it;
	s->dst = kv_item_value(it);
	s->need = (size_t)vlen;
	s->mode = (uint8_t)mode;
	s->cas = cas;
	s->crlf_got = 0;
	s->state = vlen ? S_DATA : S_DATA_END;
}

/* The value and its CRLF are in: store it and say how that went. */
static void store_commit(struct kv_ctx *ctx, struct kv_session *s, struct kv_out *out)
{
	static const char *const replies[] = {
		[KV_STORED] = "STORED\r\n",
		[KV_NOT_STORED] = "NOT_STORED\r\n",
		[KV_EXISTS] = "EXISTS\r\n",
		[KV_NOT_FOUND] = "NOT_FOUND\r\n",
		[KV_NO_MEMORY] = "SERVER_ERROR out of memory storing object\r\n",
	};
	struct kv_item *it = s->item;
	enum kv_result res;

	s->item = NULL;
	if (s->reserved) {
		atomic_fetch_sub(ctx->pending, s->reserved);
		s->reserved = 0;
	}
	s->state = S_LINE;
	if (s->crlf[0] != '\r' || s->crlf[1] != '\n') {
		kv_item_release(ctx->store, it);
		reply(s, out, "CLIENT_ERROR bad data chunk\r\n");
		s->noreply = false;
		return;
	}
	res = kv_store_item(ctx->store, it, (enum kv_store_mode)s->mode, s->cas,
			    ctx->now);
	if (s->mode == KV_CAS)
		kv_stat_add(ctx->stats, res == KV_STORED ? KV_ST_cas_hits :
			    res == KV_EXISTS ? KV_ST_cas_badval : KV_ST_cas_misses, 1);
	reply(s, out, replies[res]);
	s->noreply = false;
}

/* ------------------------------------------------------------ the rest */

static void cmd_delete(struct kv_ctx *ctx, struct kv_session *s, struct kv_out *out,
		       const struct tok *t, int nt)
{
	/* "delete <key> 0" is an old client's hold time of zero: allowed. */
	bool zero = nt >= 3 && tok_is(&t[2], "0");

	if (nt < 2 || nt > 4) {
		reply(s, out, "ERROR\r\n");
		return;
	}
	s->noreply = nt > 2 && tok_is(&t[nt - 1], "noreply");
	if ( (nt == 3 && !zero && !s->noreply) ||
	    (nt == 4 && !(zero && s->noreply))) {
		reply(s, out, "CLIENT_ERROR bad command line format.  "
		      "Usage: delete <key> [noreply]\r\n");
		return;
	}
	if (t[1].n > KV_KEY_MAX) {
		reply(s, out, "CLIENT_ERROR bad command line format\r\n");
		return;
	}
	if (kv_delete(ctx->store, t[1].p, t[1].n, ctx->now) == KV_STORED) {
		kv_stat_add(ctx->stats, KV_ST_delete_hits, 1);
		reply(s, out, "DELETED\r\n");
	} else {
		kv_stat_add(ctx->stats, KV_ST_delete_misses, 1);
		reply(s, out, "NOT_FOUND\r\n");
	}
}

/* "<cmd> <key> <arg> [noreply]" (incr, decr, touch): the shape and the key
 * are sound, else the reply says why. */
static bool key_arg_ok(struct kv_session *s, struct kv_out *out,
		       const struct tok *t, int nt)
{
	if (nt != 3 && nt != 4) {
		reply(s, out, "ERROR\r\n");
		return false;
	}
	s->noreply = nt == 4 && tok_is(&t[3], "noreply");
	if (t[1].n > KV_KEY_MAX) {
		reply(s, out, "CLIENT_ERROR bad command line format\r\n");
		return false;
	}
	return true;
}

static void cmd_incr(struct kv_ctx *ctx, struct kv_session *s, struct kv_out *out,
		     const struct tok *t, int nt, bool decr)
{
	uint64_t delta, v;
	enum kv_result res;

	if (!key_arg_ok(s, out, t, nt))
		return;
	if (!parse_u64(&t[2], &delta)) {
		reply(s, out, "CLIENT_ERROR invalid numeric delta argument\r\n");
		return;
	}
	res = kv_incr(ctx->store, t[1].p, t[1].n, decr, delta, ctx->now, &v);
	kv_stat_add(ctx->stats, res == KV_NOT_FOUND ?
		    (decr ? KV_ST_decr_misses : KV_ST_incr_misses) :
		    (decr ? KV_ST_decr_hits : KV_ST_incr_hits), 1);
	switch (res) {
	case KV_STORED:
		reply_u64(s, out, v);
		break;
	case KV_NOT_FOUND:
		reply(s, out, "NOT_FOUND\r\n");
		break;
	case KV_NON_NUMERIC:
		reply(s, out, "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
		break;
	default:
		reply(s, out, "SERVER_ERROR out of memory\r\n");
		break;
	}
}

static void cmd_touch(struct kv_ctx *ctx, struct kv_session *s, struct kv_out *out,
		      const struct tok *t, int nt)
{
	struct kv_item *it;
	int64_t e;

	if (!key_arg_ok(s, out, t, nt))
		return;
	if (!parse_i64(&t[2], &e)) {
		reply(s, out, "CLIENT_ERROR invalid exptime argument\r\n");
		return;
	}
	kv_stat_add(ctx->stats, KV_ST_cmd_touch, 1);
	it = kv_get(ctx->store, t[1].p, t[1].n, ctx->now, true, kv_expiry(e, ctx->now));
	kv_stat_add(ctx->stats, it ? KV_ST_touch_hits : KV_ST_touch_misses, 1);
	if (it)
		kv_item_release(ctx->store, it);
	reply(s, out, it ? "TOUCHED\r\n" : "NOT_FOUND\r\n");
}

static void cmd_flush_all(struct kv_ctx *ctx, struct kv_session *s,
			  struct kv_out *out, const struct tok *t, int nt)
{
	int64_t delay = 0;

	if (nt > 3) {
		reply(s, out, "ERROR\r\n");
		return;
	}
	s->noreply = nt > 1 && tok_is(&t[nt - 1], "noreply");
	if (nt - s->noreply == 2 && !parse_i64(&t[1], &delay)) {
		reply(s, out, "CLIENT_ERROR invalid exptime argument\r\n");
		return;
	}
	kv_stat_add(ctx->stats, KV_ST_cmd_flush, 1);
	if (delay > 0)
		kv_flush_at(ctx->store, kv_expiry(delay, ctx->now));
	else
		kv_flush(ctx->store);
	reply(s, out, "OK\r\n");
}

static void cmd_verbosity(struct kv_ctx *ctx, struct kv_session *s,
			  struct kv_out *out, const struct tok *t, int nt)
{
	uint32_t level;

	if (nt != 2 && nt != 3) {
		reply(s, out, "ERROR\r\n");
		return;
	}
	s->noreply = tok_is(&t[nt - 1], "noreply");
	if (!parse_u32(&t[1], &level)) {
		reply(s, out, "CLIENT_ERROR bad command line format\r\n");
		return;
	}
	atomic_store(ctx->verbosity, (int)(level > 2 ? 2 : level));
	reply(s, out, "OK\r\n");
}

static double timeval_secs(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

/* "stats": memcached's general figures, then the store's and the server's. */
static void stats_general(struct kv_ctx *ctx, struct kv_out *out)
{
	uint64_t sum[KV_ST_COUNT];
	struct kv_store_stats ss;
	struct rusage ru;
	int i;

	ctx->ops->sum(ctx, sum);
	kv_store_get_stats(ctx->store, &ss);
	getrusage(RUSAGE_SELF, &ru);
	kv_out_stat(out, "pid", "%ld", (long)getpid());
	kv_out_stat(out, "uptime", "%u", ctx->now - ctx->started);
	kv_out_stat(out, "time", "%u", ctx->now);
	kv_out_stat(out, "version", "%s", KV_VERSION);
	kv_out_stat(out, "pointer_size", "%zu", 8 * sizeof(void *));
	kv_out_stat(out, "rusage_user", "%.6f", timeval_secs(&ru.ru_utime));
	kv_out_stat(out, "rusage_system", "%.6f", timeval_secs(&ru.ru_stime));
	kv_out_stat(out, "max_connections", "%u", ctx->max_conns);
	for (i = 0; i < KV_ST_COUNT; i++)
		kv_out_stat(out, kv_stat_names[i], "%llu", (unsigned long long)sum[i]);
	kv_out_stat(out, "limit_maxbytes", "%zu", ss.limit);
	kv_out_stat(out, "threads", "%u", ctx->threads);
	kv_out_stat(out, "bytes", "%llu", (unsigned long long)ss.bytes);
	kv_out_stat(out, "curr_items", "%llu", (unsigned long long)ss.curr_items);
	kv_out_stat(out, "total_items", "%llu", (unsigned long long)ss.total_items);
	kv_out_stat(out, "evictions", "%llu", (unsigned long long)ss.evictions);
	kv_out_stat(out, "reclaimed", "%llu", (unsigned long long)ss.reclaimed);
	kv_out_stat(out, "evict_failures", "%llu", (unsigned long long)ss.evict_failures);
	kv_out_stat(out, "kv_meta_bytes", "%llu", (unsigned long long)ss.meta_bytes);
	kv_out_stat(out, "kv_used_bytes", "%llu", (unsigned long long)ss.used);
	ctx->ops->extra(ctx, out);
}

static void stats_settings(struct kv_ctx *ctx, struct kv_out *out)
{
	struct kv_store_stats ss;

	kv_store_get_stats(ctx->store, &ss);
	kv_out_stat(out, "maxbytes", "%zu", ss.limit);
	kv_out_stat(out, "maxconns", "%u", ctx->max_conns);
	kv_out_stat(out, "tcpport", "%u", ctx->port);
	kv_out_stat(out, "verbosity", "%d", atomic_load(ctx->verbosity));
	kv_out_stat(out, "num_threads", "%u", ctx->threads);
	kv_out_stat(out, "item_size_max", "%zu", ss.max_item);
	kv_out_stat(out, "evictions", "on");
	kv_out_stat(out, "backing", "%s", ss.backing);
	kv_out_stat(out, "zc_threshold", "%zu", ctx->zc_threshold);
}

static void cmd_stats(struct kv_ctx *ctx, struct kv_session *s, struct kv_out *out,
		      const struct tok *t, int nt)
{
	if (nt == 1) {
		stats_general(ctx, out);
	} else if (tok_is(&t[1], "reset")) {
		ctx->ops->reset(ctx);
		kv_store_reset_stats(ctx->store);
		reply(s, out, "RESET\r\n");
		return;
	} else if (tok_is(&t[1], "settings")) {
		stats_settings(ctx, out);
	} else if (!(tok_is(&t[1], "items") || tok_is(&t[1], "slabs") ||
		     tok_is(&t[1], "sizes") || tok_is(&t[1], "conns"))) {
		/* items/slabs/sizes/conns: empty lists (no slab classes). */
		reply(s, out, "ERROR\r\n");
		return;
	}
	reply(s, out, "END\r\n");
}

/* ------------------------------------------------------------ dispatch */

/* Run one command line ([line, end), no newline, CR stripped). */
static enum kv_feed run_line(struct kv_ctx *ctx, struct kv_session *s,
			     struct kv_out *out, const char *line,
			     const char *end, size_t avail)
{
	struct tok t[KV_MAX_TOKENS];
	int nt = tokenize(line, end, t, KV_MAX_TOKENS);
	const struct tok *c = &t[0];
	const char *rest = nt ? c->p + c->n : end;

	s->noreply = false;
	if (nt == 0) {
		reply(s, out, "ERROR\r\n");
	} else if (tok_is(c, "get") || tok_is(c, "gets")) {
		cmd_get(ctx, s, out, rest, end, c->n == 4, false);
	} else if (tok_is(c, "gat") || tok_is(c, "gats")) {
		cmd_get(ctx, s, out, rest, end, c->n == 4, true);
	} else if (tok_is(c, "set")) {
		cmd_store(ctx, s, out, t, nt, KV_SET, avail);
	} else if (tok_is(c, "add")) {
		cmd_store(ctx, s, out, t, nt, KV_ADD, avail);
	} else if (tok_is(c, "replace")) {
		cmd_store(ctx, s, out, t, nt, KV_REPLACE, avail);
	} else if (tok_is(c, "append")) {
		cmd_store(ctx, s, out, t, nt, KV_APPEND, avail);
	} else if (tok_is(c, "prepend")) {
		cmd_store(ctx, s, out, t, nt, KV_PREPEND, avail);
	} else if (tok_is(c, "cas")) {
		cmd_store(ctx, s, out, t, nt, KV_CAS, avail);
	} else if (tok_is(c, "delete")) {
		cmd_delete(ctx, s, out, t, nt);
	} else if (tok_is(c, "incr") || tok_is(c, "decr")) {
		cmd_incr(ctx, s, out, t, nt, c->p[0] == 'd');
	} else if (tok_is(c, "touch")) {
		cmd_touch(ctx, s, out, t, nt);
	} else if (tok_is(c, "flush_all")) {
		cmd_flush_all(ctx, s, out, t, nt);
	} else if (tok_is(c, "stats")) {
		cmd_stats(ctx, s, out, t, nt);
	} else if (tok_is(c, "version")) {
		reply(s, out, "VERSION " KV_VERSION "\r\n");
	} else if (tok_is(c, "verbosity")) {
		cmd_verbosity(ctx, s, out, t, nt);
	} else if (tok_is(c, "quit")) {
		return KV_FEED_CLOSE;
	} else if (tok_is(c, "shutdown")) {
		reply(s, out, "ERROR: shutdown not enabled\r\n");
	} else {
		kv_stat_add(ctx->stats, KV_ST_protocol_errors, 1);
		reply(s, out, "ERROR\r\n");
	}
	if (s->state == S_LINE)
		s->noreply = false;
	return KV_FEED_OK;
}

/* A line ends at LF; a CR before it is dropped. */
static enum kv_feed run_terminated(struct kv_ctx *ctx, struct kv_session *s,
				   struct kv_out *out, const char *line,
				   const char *nl, size_t avail)
{
	if (nl > line && nl[-1] == '\r')
		nl--;
	return run_line(ctx, s, out, line, nl, avail);
}

static bool line_append(struct kv_session *s, const char *p, size_t n)
{
	if (s->line_len + n > s->line_cap) {
		uint32_t cap = s->line_cap ? s->line_cap : 256;
		char *nb;

		while (cap < s->line_len + n)
			cap *= 2;
		nb = realloc(s->line, cap);
		if (!nb)
			return false;
		s->line = nb;
		s->line_cap = cap;
	}
	memcpy(s->line + s->line_len, p, n);
	s->line_len += (uint32_t)n;
	return true;
}

static void line_drop(struct kv_session *s)
{
	free(s->line);
	s->line = NULL;
	s->line_len = s->line_cap = 0;
}

/* A partial line reached KV_LINE_MAX.  A long get or gets (a client
 * fetching thousands of keys at once) is served key by key: run the keys
 * already complete and keep the command name and the unfinished key.
 * Anything else is no command: say so and close.  False: close. */
static bool line_overflow(struct kv_ctx *ctx, struct kv_session *s,
			  struct kv_out *out)
{
	const char *p = s->line, *end = p + s->line_len, *last;
	size_t cmd = s->line_len > 5 && !memcmp(p, "gets ", 5) ? 5 :
		     s->line_len > 4 && !memcmp(p, "get ", 4) ? 4 : 0;

	if (cmd) {
		for (last = end; last > p + cmd && last[-1] != ' '; last--)
			;
		if (end - last <= KV_KEY_MAX && keys_valid(p + cmd, last)) {
			get_keys(ctx, out, p + cmd, last, cmd == 5, false, 0);
			memmove(s->line + cmd, last, (size_t)(end - last));
			s->line_len = (uint32_t)(cmd + (size_t)(end - last));
			return true;
		}
		kv_out_text(out, "CLIENT_ERROR bad command line format\r\n", 38);
		return false;
	}
	kv_out_text(out, "CLIENT_ERROR line too long\r\n", 28);
	return false;
}

/* Bytes of a command line that started in an earlier buffer. */
static size_t feed_partial_line(struct kv_ctx *ctx, struct kv_session *s,
				struct kv_out *out, const char *data, size_t len,
				enum kv_feed *ret)
{
	const char *nl = memchr(data, '\n', len);
	size_t n = nl ? (size_t)(nl - data) + 1 : len, room;

	room = KV_LINE_MAX - s->line_len;
	if (n > room && !nl)
		n = room;
	if (!line_append(s, data, n)) {
		*ret = KV_FEED_CLOSE;
		return len;
	}
	if (nl && n == (size_t)(nl - data) + 1) {
		*ret = run_terminated(ctx, s, out, s->line, s->line + s->line_len - 1,
				      len - n);
		line_drop(s);
	} else if (s->line_len >= KV_LINE_MAX && !line_overflow(ctx, s, out)) {
		kv_stat_add(ctx->stats, KV_ST_protocol_errors, 1);
		*ret = KV_FEED_CLOSE;
		return len;
	}
	return n;
}

enum kv_feed kv_session_feed(struct kv_ctx *ctx, struct kv_session *s,
			     struct kv_out *out, const char *data, size_t len)
{
	enum kv_feed ret = KV_FEED_OK;

	kv_stat_add(ctx->stats, KV_ST_bytes_read, len);
	while (len && ret == KV_FEED_OK) {
		size_t n;

		switch (s->state) {
		case S_LINE:
			if (!s->line_len) {
				const char *nl = memchr(data, '\n', len);

				if (nl) {	/* the common case: parse in place */
					n = (size_t)(nl - data) + 1;
					ret = run_terminated(ctx, s, out, data, nl, len - n);
					break;
				}
			}
			n = feed_partial_line(ctx, s, out, data, len, &ret);
			break;
		case S_DATA:
			n = len < s->need ? len : s->need;
			memcpy(s->dst, data, n);
			s->dst += n;
			s->need -= n;
			if (!s->need)
				s->state = S_DATA_END;
			break;
		case S_DATA_END:
			n = 2U - s->crlf_got;
			if (n > len)
				n = len;
			memcpy(s->crlf + s->crlf_got, data, n);
			s->crlf_got += (uint8_t)n;
			if (s->crlf_got == 2)
				store_commit(ctx, s, out);
			break;
		default:	/* S_SWALLOW */
			n = len < s->swallow ? len : (size_t)s->swallow;
			s->swallow -= n;
			if (!s->swallow)
				s->state = S_LINE;
			break;
		}
		data += n;
		len -= n;
	}
	if (out->failed)
		ret = KV_FEED_CLOSE;
	return ret;
}

void kv_session_init(struct kv_session *s)
{
	memset(s, 0, sizeof(*s));
	s->state = S_LINE;
}

void kv_session_fini(struct kv_ctx *ctx, struct kv_session *s)
{
	if (s->item)
		kv_item_release(ctx->store, s->item);
	if (s->reserved)
		atomic_fetch_sub(ctx->pending, s->reserved);
	line_drop(s);
	kv_session_init(s);
}

bool kv_session_idle(const struct kv_session *s)
{
	return s->state == S_LINE && !s->line_len;
}
