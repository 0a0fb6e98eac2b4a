// SPDX-License-Identifier: MIT
/*
 * examples/nbd/main.c - genpool-nbd: an NBD server whose request buffers
 * are genpool buffers registered with io_uring.
 *
 *   genpool-nbd --file PATH [--size BYTES] [--port [ADDR:]N | --unix PATH]
 *               [--threads N] [--backing hugetlb|thp|anon] [--no-zerocopy]
 *               [--readonly]
 *
 * The main thread accepts connections and signals; each new connection
 * negotiates on its own short-lived thread (handshake.c), then joins the
 * least loaded worker (worker.c).  SIGINT/SIGTERM: stop accepting, let
 * every request in flight complete, print the stats, exit 0.  SIGUSR1:
 * print the stats.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "nbd.h"
#include "nbd-proto.h"

/* Handshake threads still running. */
static atomic_uint handshakes;

static void usage(FILE *out)
{
	fprintf(out,
		"usage: genpool-nbd --file PATH [--size BYTES] [--port [ADDR:]N | --unix PATH]\n"
		"                   [--threads N] [--backing hugetlb|thp|anon] [--no-zerocopy]\n"
		"                   [--readonly]\n"
		"  --file PATH     the export: a regular file or block device (opened O_DIRECT)\n"
		"  --size BYTES    export size (K/M/G suffixes); a shorter file is extended\n"
		"  --port [ADDR:]N TCP address (default 127.0.0.1) and port (default 10809;\n"
		"                  0: any free port); the bound address is printed\n"
		"  --unix PATH     listen on a Unix socket instead\n"
		"  --threads N     worker threads, one io_uring each (default: online CPUs)\n"
		"  --backing KIND  buffer memory: hugetlb, thp or anon (default: hugetlb,\n"
		"                  falling back to thp, then anon)\n"
		"  --no-zerocopy   malloc'd buffers, plain read/send (for comparison)\n"
		"  --readonly      writes get EPERM\n");
}

/* "123", "4K", "16M", "2G" -> bytes; 0 on error. */
static uint64_t parse_size(const char *s)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	}
	if (*end || v > (~0ULL >> shift))
		return 0;
	return (uint64_t)v << shift;
}

static bool parse_port(struct nbd_config *cfg, char *arg)
{
	char *colon = strrchr(arg, ':');
	char *end;
	long v;

	if (colon) {
		*colon = '\0';
		cfg->host = arg;
		arg = colon + 1;
	}
	v = strtol(arg, &end, 10);
	if (end == arg || *end || v < 0 || v > 65535)
		return false;
	cfg->port = (int)v;
	return true;
}

static bool parse_backing(struct nbd_config *cfg, const char *s)
{
	static const char *const names[] = { "", "hugetlb", "thp", "anon" };
	int i;

	for (i = 1; i < 4; i++)
		if (!strcmp(s, names[i])) {
			cfg->backing = (enum nbd_backing)i;
			return true;
		}
	return false;
}

/* Fill @cfg from argv; exits on error or --help. */
static void parse_args(int argc, char **argv, struct nbd_config *cfg)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "size", required_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' },
		{ "unix", required_argument, NULL, 'u' },
		{ "threads", required_argument, NULL, 't' },
		{ "backing", required_argument, NULL, 'b' },
		{ "no-zerocopy", no_argument, NULL, 'z' },
		{ "readonly", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long n;
	int c;

	memset(cfg, 0, sizeof(*cfg));
	cfg->host = "127.0.0.1";
	cfg->port = 10809;
	cfg->zerocopy = true;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	cfg->threads = n > 0 ? (unsigned int)n : 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		bool ok = true;

		switch (c) {
		case 'f': cfg->file = optarg; break;
		case 's': ok = (cfg->size = parse_size(optarg)) != 0; break;
		case 'p': ok = parse_port(cfg, optarg); break;
		case 'u': cfg->unix_path = optarg; break;
		case 't':
			n = strtol(optarg, NULL, 10);
			ok = n >= 1 && n <= 256;
			cfg->threads = (unsigned int)n;
			break;
		case 'b': ok = parse_backing(cfg, optarg); break;
		case 'z': cfg->zerocopy = false; break;
		case 'r': cfg->readonly = true; break;
		case 'h': usage(stdout); exit(0);
		default: ok = false; break;
		}
		if (!ok) {
			if (c != '?')
				fprintf(stderr, "genpool-nbd: invalid value '%s'\n", optarg);
			usage(stderr);
			exit(2);
		}
	}
	if (!cfg->file || optind != argc) {
		usage(stderr);
		exit(2);
	}
}

/* Listen on TCP or a Unix socket; print where.  Returns the fd or -1. */
static int listen_on(const struct nbd_config *cfg)
{
	union { struct sockaddr sa; struct sockaddr_in in; struct sockaddr_un un; } a;
	socklen_t alen;
	int fd, one = 1;

	memset(&a, 0, sizeof(a));
	if (cfg->unix_path) {
		struct stat st;

		if (strlen(cfg->unix_path) >= sizeof(a.un.sun_path)) {
			fprintf(stderr, "genpool-nbd: --unix path too long\n");
			return -1;
		}
		a.un.sun_family = AF_UNIX;
		strcpy(a.un.sun_path, cfg->unix_path);
		alen = sizeof(a.un);
		/* A stale socket from an earlier run. */
		if (stat(cfg->unix_path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(cfg->unix_path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	} else {
		a.in.sin_family = AF_INET;
		a.in.sin_port = htons((uint16_t)cfg->port);
		if (inet_pton(AF_INET, cfg->host, &a.in.sin_addr) != 1) {
			fprintf(stderr, "genpool-nbd: bad IPv4 address %s\n", cfg->host);
			return -1;
		}
		alen = sizeof(a.in);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0)
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	}
	if (fd < 0 || bind(fd, &a.sa, alen) < 0 || listen(fd, 128) < 0) {
		fprintf(stderr, "genpool-nbd: listen: %s\n", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (cfg->unix_path) {
		printf("genpool-nbd: listening on unix:%s\n", cfg->unix_path);
	} else {
		alen = sizeof(a.in);
		getsockname(fd, &a.sa, &alen);
		printf("genpool-nbd: listening on %s:%u\n", cfg->host, ntohs(a.in.sin_port));
	}
	fflush(stdout);
	return fd;
}

struct hs_arg { struct nbd_server *srv; int fd; };

static void *handshake_thread(void *p)
{
	struct hs_arg a = *(struct hs_arg *)p;

	free(p);
	handshake_run(a.srv, a.fd);
	atomic_fetch_sub(&handshakes, 1);
	return NULL;
}

/* Negotiate with a new connection on its own detached thread. */
static void start_handshake(struct nbd_server *srv, int fd)
{
	struct hs_arg *a = malloc(sizeof(*a));
	pthread_attr_t attr;
	pthread_t t;

	if (!a) {
		close(fd);
		return;
	}
	atomic_fetch_add(&handshakes, 1);
	a->srv = srv;
	a->fd = fd;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 << 10);
	if (pthread_create(&t, &attr, handshake_thread, a)) {
		atomic_fetch_sub(&handshakes, 1);
		free(a);
		close(fd);
	}
	pthread_attr_destroy(&attr);
}

static const char *const cmd_names[8] = {
	"read", "write", "disc", "flush", "trim", "cache", "write_zeroes", "other",
};

/* The server's figures (until gp_stats_print() lands, the pool's own). */
static void print_stats(struct nbd_server *srv, const char *why)
{
	struct nbd_stats s = { 0 };
	unsigned int i;

	for (i = 0; i < srv->nworkers; i++)
		worker_add_stats(srv->workers[i], &s);
	fprintf(stderr, "genpool-nbd: stats (%s): %u workers, %s, %s\n", why,
		srv->nworkers, srv->cfg.zerocopy ? "zero-copy" : "no-zerocopy",
		srv->exp.direct ? "O_DIRECT" : "page cache");
	fprintf(stderr, "  connections %llu, dropped %llu, error replies %llu\n",
		(unsigned long long)s.conns, (unsigned long long)s.dropped,
		(unsigned long long)s.errors);
	fprintf(stderr, "  requests:");
	for (i = 0; i < 8; i++)
		if (s.cmds[i])
			fprintf(stderr, " %s %llu", cmd_names[i], (unsigned long long)s.cmds[i]);
	fprintf(stderr, "\n  bytes read %llu, written %llu; unaligned (bounced) %llu; "
		"payload bytes copied from the header buffer %llu\n",
		(unsigned long long)s.bytes_read, (unsigned long long)s.bytes_written,
		(unsigned long long)s.unaligned, (unsigned long long)s.staged_copy);
	fprintf(stderr, "  SEND_ZC replies %llu (kernel copied %llu); waits for a buffer %llu\n",
		(unsigned long long)s.zc_sends, (unsigned long long)s.zc_copied,
		(unsigned long long)s.buf_waits);
	provider_print_stats(srv->prov, stderr);
}

/* Accept and dispatch until SIGINT/SIGTERM. */
static void serve(struct nbd_server *srv, int lfd, int sfd)
{
	struct pollfd p[2] = { { .fd = lfd, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };

	for (;;) {
		struct signalfd_siginfo si;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("genpool-nbd: poll");
			return;
		}
		if (p[1].revents & POLLIN) {
			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGUSR1) {
				print_stats(srv, "SIGUSR1");
				continue;
			}
			fprintf(stderr, "genpool-nbd: %s: finishing requests in flight\n",
				strsignal((int)si.ssi_signo));
			return;
		}
		if (p[0].revents & POLLIN) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

			if (fd >= 0)
				start_handshake(srv, fd);
		}
	}
}

/* Start the workers; false after printing why. */
static bool start_workers(struct nbd_server *srv)
{
	unsigned int i;

	srv->workers = calloc(srv->cfg.threads, sizeof(*srv->workers));
	if (!srv->workers)
		return false;
	for (i = 0; i < srv->cfg.threads; i++) {
		srv->workers[i] = worker_create(srv, i);
		if (!srv->workers[i])
			return false;
		srv->nworkers++;
	}
	return true;
}

/* Stop every worker (each drains its connections) and free them. */
static void stop_workers(struct nbd_server *srv)
{
	unsigned int i;

	atomic_store(&srv->stopping, true);
	/* Cut negotiations short; their threads end at once. */
	handshake_abort_all();
	while (atomic_load(&handshakes))
		usleep(10000);
	for (i = 0; i < srv->nworkers; i++)
		worker_stop(srv->workers[i]);
	for (i = 0; i < srv->nworkers; i++)
		worker_join(srv->workers[i]);
}

int main(int argc, char **argv)
{
	static struct nbd_server srv;
	sigset_t set;
	int lfd, sfd, rc = 1;
	unsigned int i;

	parse_args(argc, argv, &srv.cfg);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	/* Blocked in every thread; the main thread reads them from a signalfd. */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0 || export_open(&srv.exp, &srv.cfg) < 0)
		return 1;
	srv.prov = provider_create(&srv.cfg, srv.exp.mem_align);
	if (srv.prov && start_workers(&srv) && (lfd = listen_on(&srv.cfg)) >= 0) {
		serve(&srv, lfd, sfd);
		close(lfd);
		if (srv.cfg.unix_path)
			unlink(srv.cfg.unix_path);
		rc = 0;
	}
	stop_workers(&srv);
	if (srv.prov) {
		provider_drain(srv.prov);
		print_stats(&srv, "exit");
	}
	for (i = 0; i < srv.nworkers; i++)
		worker_destroy(srv.workers[i]);
	free(srv.workers);
	provider_destroy(srv.prov);
	export_close(&srv.exp);
	close(sfd);
	return rc;
}
