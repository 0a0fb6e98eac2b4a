// SPDX-License-Identifier: MIT
/*
 * examples/io/recv_loop.c - a multishot receive loop on a provided-buffer
 * ring filled from a genpool pool.
 *
 * usage: io-recv-loop [BYTES]
 *
 * Listens on a loopback port the kernel picks, lets a child process
 * connect and send BYTES (default 8 MiB) of a counting pattern, and
 * receives them with one multishot recv over a ring of 16 buffers: every
 * completion's data is checked and its buffer recycled; when the ring
 * runs dry (-ENOBUFS) or the kernel ends the multishot, the receive is
 * armed again and nothing is lost.  SIGINT/SIGTERM stop it cleanly.
 * Exits 0 when every byte arrived in order, 77 without io_uring.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <genpool/io.h>	/* link with $(pkg-config --libs genpool) */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = sig;
}

/* The child: connect to @port and send @total bytes, byte i = i % 251. */
static int send_all(unsigned short port, size_t total)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	unsigned char chunk[65536];
	int s = socket(AF_INET, SOCK_STREAM, 0);

	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)))
		return 1;
	for (size_t off = 0; off < total;) {
		size_t n = total - off < sizeof(chunk) ? total - off : sizeof(chunk);
		ssize_t w;

		for (size_t i = 0; i < n; i++)
			chunk[i] = (unsigned char)((off + i) % 251);
		w = send(s, chunk, n, MSG_NOSIGNAL);
		if (w <= 0)
			return 1;
		off += (size_t)w;
	}
	close(s);
	return 0;
}

/* A listening loopback socket on a port the kernel picks. */
static int listen_any(unsigned short *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &len))
		return -1;
	*port = ntohs(a.sin_port);
	return l;
}

int main(int argc, char **argv)
{
	size_t total = argc > 1 ? strtoull(argv[1], NULL, 0) : 8u << 20, got = 0;
	struct gp_buf_ring_config cfg = { .entries = 16, .buf_size = 16384, .bgid = 7 };
	struct gp_mem_config mcfg = { .backing = GP_MEM_THP, .flags = GP_MEM_FALLBACK,
				      .nid = NUMA_NO_NODE };
	struct gp_mem *mem;
	struct gen_pool *pool;
	struct io_uring ring;
	struct gp_uring_buffers *bufs;
	struct gp_buf_ring *br;
	struct gp_buf_ring_info info;
	unsigned short port;
	int l, conn, status, ret, bad = 0;
	pid_t child;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	ret = io_uring_queue_init(64, &ring, 0);
	if (ret) {
		printf("io_uring unavailable: %s\n", strerror(-ret));
		return 77;
	}
	mem = gp_mem_create(1 << 20, &mcfg);
	pool = gen_pool_create(12, NUMA_NO_NODE);
	if (!mem || !pool || gp_mem_add_to_pool(mem, pool) < 0)
		return 1;
	bufs = gp_uring_register(&ring, pool, 0);
	br = bufs ? gp_buf_ring_create(&ring, bufs, &cfg) : NULL;
	l = listen_any(&port);
	if (!br || l < 0)
		return 1;
	child = fork();
	if (child == 0)
		_exit(send_all(port, total));
	conn = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		return 1;

	/* Arm once; re-arm whenever the kernel ends the multishot. */
	gp_buf_ring_prep_recv(br, io_uring_get_sqe(&ring), conn, 0);
	io_uring_submit(&ring);
	while (!stop && got < total && !bad) {
		struct io_uring_cqe *cqe;
		struct gp_recv rv;
		int res;

		if (io_uring_wait_cqe(&ring, &cqe))
			break;
		res = gp_buf_ring_complete(br, cqe, &rv);
		io_uring_cqe_seen(&ring, cqe);
		if (res < 0 && res != -ENOBUFS) {
			fprintf(stderr, "io-recv-loop: recv: %s\n", strerror(-res));
			break;
		}
		if (res == 0)
			break;			/* EOF */
		for (size_t i = 0; i < rv.len; i++)
			bad |= ((unsigned char *)rv.data)[i] != (got + i) % 251;
		got += rv.len;
		if (rv.has_buf && rv.buf_done)
			gp_buf_ring_recycle(br, rv.bid);
		if (rv.rearm) {
			gp_buf_ring_prep_recv(br, io_uring_get_sqe(&ring), conn, 0);
			io_uring_submit(&ring);
		}
	}
	gp_buf_ring_get_info(br, &info);
	printf("io-recv-loop: %zu of %zu bytes%s, %llu -ENOBUFS, %llu re-arms%s\n",
	       got, total, bad ? " (DATA WRONG)" : "",
	       (unsigned long long)info.enobufs, (unsigned long long)info.rearms,
	       stop ? " (interrupted)" : "");

	/* Teardown: the socket (ends the receive), then ring, provider, pool,
	 * memory. */
	close(conn);
	close(l);
	waitpid(child, &status, 0);
	io_uring_queue_exit(&ring);
	gp_buf_ring_destroy(br);
	gp_uring_unregister(bufs);
	gen_pool_destroy(pool);
	gp_mem_destroy(mem);
	return got == total && !bad ? 0 : 1;
}
