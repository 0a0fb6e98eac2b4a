// SPDX-License-Identifier: MIT
/*
 * bench/kv/kvload.c - a closed-loop memcached-protocol load generator that
 * measures every request's latency (memcaslap reports latency only in
 * powers of two, too coarse for a p99).
 *
 *   genpool-kvload -p PORT [-h HOST] [-c CONNS] [-T THREADS] [-t SECS]
 *                  [-v VALUE_BYTES] [-k KEYS] [-g GET_FRACTION] [-w WARMUP]
 *
 * Each connection keeps one request in flight: a get (fraction -g, default
 * 0.9) or a set of a -v byte value, of a key drawn uniformly from -k keys,
 * all of which are set once before the clock starts.  It prints one line:
 *   ops_per_s=... p50_us=... p90_us=... p99_us=... p999_us=... hit_rate=...
 * Latency is from the request's send to its reply's last byte; the first
 * -w seconds (default 1) are not counted.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SUB_BITS	6		/* 64 buckets per power of two: < 1.6% */
#define HIST_BUCKETS	(64 * (1 << SUB_BITS))

struct opts {
	const char *host;
	int port, conns, threads;
	double secs, warmup, get_frac;
	unsigned int value, keys;
};

struct conn {
	int fd;
	bool get;
	uint64_t sent_ns;
	size_t have, need;	/* reply bytes buffered; bytes of the value block */
	char buf[1 << 17];
};

struct worker {
	const struct opts *o;
	pthread_t tid;
	int first, count;	/* connections [first, first + count) */
	uint64_t seed;
	uint64_t ops, gets, hits, errors;
	uint64_t hist[HIST_BUCKETS];
};

static struct opts opt = {
	.host = "127.0.0.1", .conns = 16, .threads = 2, .secs = 5,
	.warmup = 1, .get_frac = 0.9, .value = 100, .keys = 10000,
};
static char *value_buf;
static uint64_t t_start, t_measure, t_end;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static unsigned int bucket_of(uint64_t ns)
{
	unsigned int msb, shift;

	if (ns < (1U << SUB_BITS))
		return (unsigned int)ns;
	msb = 63 - (unsigned int)__builtin_clzll(ns);
	shift = msb - SUB_BITS;
	return ((shift + 1) << SUB_BITS) + (unsigned int)((ns >> shift) & ((1U << SUB_BITS) - 1));
}

static uint64_t bucket_value(unsigned int b)
{
	unsigned int shift;

	if (b < (1U << SUB_BITS))
		return b;
	shift = (b >> SUB_BITS) - 1;
	return ((uint64_t)(1U << SUB_BITS) + (b & ((1U << SUB_BITS) - 1))) << shift;
}

static int dial(const struct opts *o)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)o->port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	inet_pton(AF_INET, o->host, &sa.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("kvload: connect");
		exit(1);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w <= 0) {
			perror("kvload: write");
			exit(1);
		}
		p += w;
		n -= (size_t)w;
	}
}

static void send_request(struct worker *w, struct conn *c)
{
	char head[128];
	unsigned int key = (unsigned int)(rnd(&w->seed) % w->o->keys);
	int n;

	c->get = (double)(rnd(&w->seed) >> 11) / (double)(1ULL << 53) < w->o->get_frac;
	c->have = c->need = 0;
	c->sent_ns = now_ns();
	if (c->get) {
		n = snprintf(head, sizeof(head), "get key:%08u\r\n", key);
		write_all(c->fd, head, (size_t)n);
		return;
	}
	n = snprintf(head, sizeof(head), "set key:%08u 0 0 %u\r\n", key, w->o->value);
	memcpy(value_buf + 64 - n, head, (size_t)n);	/* one write: head + value */
	write_all(c->fd, value_buf + 64 - n, (size_t)n + w->o->value + 2);
}

/* True when the reply in c->buf is complete. */
static bool reply_done(struct worker *w, struct conn *c)
{
	char *nl, *sp;

	if (!c->get) {
		if (c->have < 2 || memcmp(c->buf + c->have - 2, "\r\n", 2))
			return false;
		w->errors += strncmp(c->buf, "STORED\r\n", 8) != 0;
		return true;
	}
	if (!c->need) {
		nl = memchr(c->buf, '\n', c->have);
		if (!nl)
			return false;
		if (!strncmp(c->buf, "END\r\n", 5))
			return true;
		if (strncmp(c->buf, "VALUE ", 6)) {
			w->errors++;
			return true;
		}
		/* "VALUE <key> <flags> <bytes>\r\n" <bytes> "\r\nEND\r\n" */
		for (sp = nl; sp > c->buf && sp[-1] != ' '; sp--)
			;
		c->need = (size_t)(nl - c->buf) + 1 + strtoul(sp, NULL, 10) + 2 + 5;
	}
	return c->have >= c->need;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct conn *conns = calloc((size_t)w->count, sizeof(*conns));
	struct epoll_event ev[64];
	int ep = epoll_create1(0), i;

	for (i = 0; i < w->count; i++) {
		struct epoll_event e = { .events = EPOLLIN, .data.ptr = &conns[i] };

		conns[i].fd = dial(w->o);
		epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &e);
	}
	while (now_ns() < t_start)
		usleep(1000);
	for (i = 0; i < w->count; i++)
		send_request(w, &conns[i]);
	for (;;) {
		int n = epoll_wait(ep, ev, 64, 100);
		uint64_t t = now_ns();

		if (t >= t_end)
			break;
		for (i = 0; i < n; i++) {
			struct conn *c = ev[i].data.ptr;
			ssize_t r = read(c->fd, c->buf + c->have, sizeof(c->buf) - c->have - 1);

			if (r <= 0) {
				fprintf(stderr, "kvload: the server closed a connection\n");
				exit(1);
			}
			c->have += (size_t)r;
			c->buf[c->have] = '\0';
			if (!reply_done(w, c))
				continue;
			if (c->sent_ns >= t_measure) {
				w->ops++;
				w->gets += c->get;
				w->hits += c->get && c->need;
				w->hist[bucket_of((t - c->sent_ns) / 100)]++;	/* 0.1 us */
			}
			send_request(w, c);
		}
	}
	for (i = 0; i < w->count; i++)
		close(conns[i].fd);
	free(conns);
	close(ep);
	return NULL;
}

/* Every key set once, pipelined on one connection. */
static void prefill(const struct opts *o)
{
	int fd = dial(o);
	char head[128], sink[65536];
	unsigned int k;

	for (k = 0; k < o->keys; k++) {
		int n = snprintf(head, sizeof(head), "set key:%08u 0 0 %u noreply\r\n", k, o->value);

		memcpy(value_buf + 64 - n, head, (size_t)n);
		write_all(fd, value_buf + 64 - n, (size_t)n + o->value + 2);
	}
	write_all(fd, "version\r\n", 9);
	while (read(fd, sink, sizeof(sink)) > 0 && !memmem(sink, sizeof(sink), "VERSION", 7))
		;
	close(fd);
}

static double percentile(const uint64_t *hist, uint64_t total, double p)
{
	uint64_t want = (uint64_t)((double)total * p), seen = 0;
	unsigned int b;

	for (b = 0; b < HIST_BUCKETS; b++) {
		seen += hist[b];
		if (seen > want)
			return (double)bucket_value(b) / 10.0;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct worker *ws;
	uint64_t hist[HIST_BUCKETS] = { 0 }, ops = 0, gets = 0, hits = 0, errors = 0;
	int c, i;

	while ((c = getopt(argc, argv, "h:p:c:T:t:v:k:g:w:")) != -1) {
		switch (c) {
		case 'h': opt.host = optarg; break;
		case 'p': opt.port = atoi(optarg); break;
		case 'c': opt.conns = atoi(optarg); break;
		case 'T': opt.threads = atoi(optarg); break;
		case 't': opt.secs = atof(optarg); break;
		case 'v': opt.value = (unsigned int)atoi(optarg); break;
		case 'k': opt.keys = (unsigned int)atoi(optarg); break;
		case 'g': opt.get_frac = atof(optarg); break;
		case 'w': opt.warmup = atof(optarg); break;
		default:
			fprintf(stderr, "usage: genpool-kvload -p PORT [-h HOST] [-c CONNS] "
				"[-T THREADS] [-t SECS] [-v BYTES] [-k KEYS] [-g GETS] [-w WARMUP]\n");
			return 2;
		}
	}
	if (!opt.port || opt.conns < 1 || opt.threads < 1 || !opt.keys ||
	    opt.value < 1 || opt.value > 1000000) {
		fprintf(stderr, "kvload: bad arguments\n");
		return 2;
	}
	if (opt.threads > opt.conns)
		opt.threads = opt.conns;
	value_buf = malloc(64 + opt.value + 2);
	memset(value_buf + 64, 'v', opt.value);
	memcpy(value_buf + 64 + opt.value, "\r\n", 2);
	prefill(&opt);
	ws = calloc((size_t)opt.threads, sizeof(*ws));
	t_start = now_ns() + 200000000ULL;	/* every connection up first */
	t_measure = t_start + (uint64_t)(opt.warmup * 1e9);
	t_end = t_measure + (uint64_t)(opt.secs * 1e9);
	for (i = 0; i < opt.threads; i++) {
		ws[i].o = &opt;
		ws[i].first = opt.conns * i / opt.threads;
		ws[i].count = opt.conns * (i + 1) / opt.threads - ws[i].first;
		ws[i].seed = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);
		pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]);
	}
	for (i = 0; i < opt.threads; i++) {
		pthread_join(ws[i].tid, NULL);
		ops += ws[i].ops;
		gets += ws[i].gets;
		hits += ws[i].hits;
		errors += ws[i].errors;
		for (c = 0; c < HIST_BUCKETS; c++)
			hist[c] += ws[i].hist[c];
	}
	printf("ops_per_s=%.0f p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f "
	       "hit_rate=%.4f errors=%llu\n", (double)ops / opt.secs,
	       percentile(hist, ops, 0.5), percentile(hist, ops, 0.9),
	       percentile(hist, ops, 0.99), percentile(hist, ops, 0.999),
	       gets ? (double)hits / (double)gets : 0.0, (unsigned long long)errors);
	free(ws);
	free(value_buf);
	return errors ? 1 : 0;
}
