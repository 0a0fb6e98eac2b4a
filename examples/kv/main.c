// SPDX-License-Identifier: MIT
/*
 * examples/kv/main.c - genpool-kv: a memcached-protocol cache whose item
 * memory is one genpool pool.
 *
 *   genpool-kv [--port N] [--memory MiB] [--threads N]
 *              [--backing hugetlb|thp|anon] [--max-item-size BYTES]
 *              [--listen ADDR] [--max-conns N] [--zc-threshold BYTES]
 *
 * --port 0 lets the kernel pick a free port; the first line on stdout
 * always says where the server listens.  SIGINT or SIGTERM stops it: every
 * connection is closed, every item freed, and it exits 0.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "net.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: genpool-kv [options]\n"
		"  -p, --port N             TCP port (default 11211; 0: any free one)\n"
		"  -l, --listen ADDR        IPv4 address to listen on (default 0.0.0.0)\n"
		"  -m, --memory MiB         memory for items and their records (default 64)\n"
		"  -t, --threads N          worker threads, one io_uring each (default 4)\n"
		"  -B, --backing KIND       hugetlb | thp | anon (default thp)\n"
		"  -I, --max-item-size N    largest value, bytes (k, m suffixes; default 1m)\n"
		"  -c, --max-conns N        connections at most (default 65536)\n"
		"  -z, --zc-threshold N     values of N bytes or more go zero-copy\n"
		"                           (default 16k; 0: never)\n"
		"  -C, --no-cache           no per-CPU caches for small items\n"
		"  -h, --help               this text\n");
}

/* A byte count with an optional k or m suffix (as memcached's -I). */
static bool parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return false;
	if (*end == 'k' || *end == 'K')
		v <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		v <<= 20, end++;
	*out = (size_t)v;
	return *end == '\0';
}

static bool parse_uint(const char *s, unsigned int lo, unsigned int hi,
		       unsigned int *out)
{
	size_t v;

	if (!parse_size(s, &v) || v < lo || v > hi)
		return false;
	*out = (unsigned int)v;
	return true;
}

static bool parse_backing(const char *s, enum kv_backing_kind *out)
{
	static const char *const names[] = {
		[KV_BACKING_THP] = "thp",
		[KV_BACKING_ANON] = "anon",
		[KV_BACKING_HUGETLB] = "hugetlb",
	};

	for (unsigned int i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(s, names[i])) {
			*out = (enum kv_backing_kind)i;
			return true;
		}
	}
	return false;
}

static int parse_args(int argc, char **argv, struct kv_server_config *cfg)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "listen", required_argument, NULL, 'l' },
		{ "memory", required_argument, NULL, 'm' },
		{ "threads", required_argument, NULL, 't' },
		{ "backing", required_argument, NULL, 'B' },
		{ "max-item-size", required_argument, NULL, 'I' },
		{ "max-conns", required_argument, NULL, 'c' },
		{ "zc-threshold", required_argument, NULL, 'z' },
		{ "no-cache", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int mib = 64;
	int c;

	while ((c = getopt_long(argc, argv, "p:l:m:t:B:I:c:z:Ch", opts, NULL)) != -1) {
		bool ok = true;

		switch (c) {
		case 'p':
			ok = parse_uint(optarg, 0, 65535, &cfg->port);
			break;
		case 'l':
			cfg->listen = optarg;
			break;
		case 'm':
			ok = parse_uint(optarg, 2, 1U << 20, &mib);
			break;
		case 't':
			ok = parse_uint(optarg, 1, 256, &cfg->threads);
			break;
		case 'B':
			ok = parse_backing(optarg, &cfg->store.backing);
			break;
		case 'I':
			ok = parse_size(optarg, &cfg->store.max_item) &&
			     cfg->store.max_item >= 1024 &&
			     cfg->store.max_item <= KV_VALUE_MAX;
			break;
		case 'c':
			ok = parse_uint(optarg, 1, 1U << 24, &cfg->max_conns);
			break;
		case 'z':
			ok = parse_size(optarg, &cfg->zc_threshold);
			break;
		case 'C':
			cfg->store.cache = false;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
		if (!ok) {
			fprintf(stderr, "genpool-kv: bad value for -%c: %s\n", c, optarg);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "genpool-kv: unexpected argument: %s\n", argv[optind]);
		return -1;
	}
	cfg->store.memory = (size_t)mib << 20;
	if (cfg->store.max_item > cfg->store.memory / 2) {
		fprintf(stderr, "genpool-kv: --max-item-size is more than half of --memory\n");
		return -1;
	}
	return 0;
}

/* Thousands of connections need thousands of descriptors. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	struct kv_server_config cfg = {
		.listen = "0.0.0.0",
		.port = 11211,
		.threads = 4,
		.max_conns = 65536,
		.zc_threshold = 16384,
		.store = { .max_item = 1U << 20, .backing = KV_BACKING_THP, .cache = true },
	};
	struct kv_server *srv;
	sigset_t stop;
	int sig, status;

	if (parse_args(argc, argv, &cfg))
		return 2;
	raise_nofile();
	/* Workers inherit the mask: only the main thread takes the signals. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);
	srv = kv_server_create(&cfg);
	if (!srv)
		return 1;
	printf("genpool-kv: listening on %s:%u (%u threads, %zu MiB, max item %zu)\n",
	       cfg.listen, kv_server_port(srv), cfg.threads, cfg.store.memory >> 20,
	       cfg.store.max_item);
	fflush(stdout);
	if (sigwait(&stop, &sig) == 0)
		fprintf(stderr, "genpool-kv: %s: stopping\n", strsignal(sig));
	kv_server_stop(srv);
	status = kv_server_wait(srv);
	kv_server_destroy(srv);
	return status ? 1 : 0;
}
