// SPDX-License-Identifier: MIT
/*
 * examples/kv/net.c - workers, rings and connections (see net.h).
 *
 * A worker owns everything it touches: its ring, its buffer ring, its
 * listener and its connections; only the store is shared.  One loop:
 * submit and wait, then for every completion
 *   accept  -> a connection, its multishot receive armed;
 *   receive -> the bytes of a provided buffer fed to the protocol (which
 *              copies what it keeps), the buffer recycled at once;
 *   send    -> the head batch of replies advanced or done, the next sent;
 *   notif   -> a zero-copy send's value released to the store.
 * A connection is freed only when nothing of it is in flight in the ring.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <liburing.h>

#include <genpool/genalloc.h>
#include <genpool/io.h>
#include <genpool/percpu.h>

#include "net.h"
#include "out.h"
#include "proto.h"


#define KV_RING_ENTRIES	1024
#define KV_CQ_ENTRIES	16384
/* Receive buffers per worker, carved from the item pool (and counted
 * against --memory): a 64th of it shared by the workers, 16 to 128 buffers
 * each, consumed incrementally where the kernel can (6.12+), so that many
 * short requests share one buffer. */
#define KV_RBUF_MIN	16
#define KV_RBUF_MAX	128
#define KV_RBUF_SIZE	8192
#define KV_BGID		1
#define KV_OUT_HIGH	(4UL << 20)	/* queued replies: stop reading */
#define KV_OUT_LOW	(1UL << 20)	/* ... and read again */
#define KV_FREE_BATCHES	256
#define KV_REPLY_BATCH	16		/* completions between reply flushes */

/* What a CQE is for: the low 4 bits of its user_data (connections, batches
 * and workers are 16-byte aligned), a pointer (or a descriptor) above. */
enum ud_kind {
	UD_ACCEPT = 1, UD_RECV, UD_SEND, UD_ZC, UD_WAKE, UD_IGNORE, UD_TIMER,
	UD_HANDOFF,			/* a connection from the accepting worker */
	UD_HANDED,			/* our MSG_RING of one: fd << 4 */
};
#define UD_KIND_MASK	15ULL

struct kv_conn {
	struct kv_worker *w;
	struct kv_conn *prev, *next;	/* the worker's connections */
	struct kv_conn *dirty_next;	/* has replies to send */
	int fd;
	bool recv_armed, send_busy, dirty, closing, paused, quit;
	unsigned int zc_pending;	/* zero-copy sends not yet notified */
	struct kv_batch *zc_sent;	/* their batches */
	struct kv_session sess;
	struct kv_out out;
};

struct kv_worker {
	struct kv_server *srv;
	unsigned int id;
	pthread_t thread;
	struct io_uring ring;
	bool ring_ok, thread_ok;
	struct gp_buf_ring *br;		/* receive buffers from the item pool */
	bool accept_armed, timer_armed, stopping;
	bool attached;			/* to the provider of the item pool */
	struct kv_ctx ctx;
	struct kv_wstats stats;
	struct kv_batch_cache batches;
	struct kv_conn *conns, *dirty;
	unsigned int nconns, max_conns;
	unsigned int rbufs;		/* receive buffers in its ring */
	struct __kernel_timespec retry;
	uint64_t wake_buf;
	int status;			/* of the startup, then of the loop */
	uint32_t stop_deadline;		/* for zero-copy notifications */
} __attribute__((aligned(16)));

struct kv_server {
	struct kv_server_config cfg;
	struct kv_store *store;
	struct kv_worker *workers;
	unsigned int nworkers;
	unsigned int port;
	int wake_fd;
	int listen_fd;			/* worker 0 accepts, and deals them out */
	unsigned int next_worker;	/* round robin (worker 0's thread only) */
	bool zc;			/* the kernel has SEND_ZC */
	struct gp_uring_buffers *bufs;	/* the item pool as fixed buffers */
	_Atomic size_t pending;
	_Atomic int verbosity;
	pthread_mutex_t lock;		/* startup handshake, stats reset */
	pthread_cond_t cond;
	unsigned int ready;
	uint64_t base[KV_ST_COUNT];	/* counters at the last "stats reset" */
};

/* ------------------------------------------------------------ helpers */

static uint64_t ud(void *p, enum ud_kind k)
{
	return (uint64_t)(uintptr_t)p | (uint64_t)k;
}

static struct io_uring_sqe *sqe_get(struct kv_worker *w)
{
	struct io_uring_sqe *sqe;

	while (!(sqe = io_uring_get_sqe(&w->ring)))
		io_uring_submit(&w->ring);
	return sqe;
}

static void arm_accept(struct kv_worker *w)
{
	struct io_uring_sqe *sqe = sqe_get(w);

	io_uring_prep_multishot_accept(sqe, w->srv->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, ud(w, UD_ACCEPT));
	w->accept_armed = true;
}

static void arm_recv(struct kv_conn *c)
{
	struct io_uring_sqe *sqe = sqe_get(c->w);

	gp_buf_ring_prep_recv(c->w->br, sqe, c->fd, 0);
	io_uring_sqe_set_data64(sqe, ud(c, UD_RECV));
	c->recv_armed = true;
}

static void cancel(struct kv_worker *w, uint64_t target)
{
	struct io_uring_sqe *sqe = sqe_get(w);

	io_uring_prep_cancel64(sqe, target, 0);
	io_uring_sqe_set_data64(sqe, UD_IGNORE);
}

static void mark_dirty(struct kv_conn *c)
{
	if (!c->dirty) {
		c->dirty = true;
		c->dirty_next = c->w->dirty;
		c->w->dirty = c;
	}
}

/* ------------------------------------------------------------ connections */

static void conn_free(struct kv_conn *c)
{
	struct kv_worker *w = c->w;

	kv_out_clear(&c->out);
	while (c->zc_sent) {		/* (only when a stopping worker gives up) */
		struct kv_batch *b = c->zc_sent;

		c->zc_sent = b->next;
		kv_batch_put(&w->batches, b);
	}
	kv_session_fini(&w->ctx, &c->sess);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->nconns--;
	kv_stat_add(&w->stats, KV_ST_curr_connections, (uint64_t)-1);
	free(c);
}

/* A closing connection whose receive and send are over has its socket
 * closed (that lets the kernel drop what a zero-copy send still holds, and
 * so notify), and is freed once every zero-copy notification is in. */
static void conn_reap(struct kv_conn *c)
{
	if (!c->closing || c->recv_armed || c->send_busy || c->dirty)
		return;
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	if (!c->zc_pending)
		conn_free(c);
}

/* Stop the connection: the socket shut down ends its receive and any send
 * in flight; what is queued is dropped.  @hard: reset, not a FIN after what
 * the kernel still holds (a peer that stopped reading would keep zero-copy
 * pages forever).  Never frees @c: every completion handler ends with
 * conn_reap(). */
static void conn_close(struct kv_conn *c, bool hard)
{
	if (c->closing)
		return;
	c->closing = true;
	if (hard) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	shutdown(c->fd, SHUT_RDWR);
	if (c->recv_armed)
		cancel(c->w, ud(c, UD_RECV));
}

static void conn_new(struct kv_worker *w, int fd)
{
	struct kv_conn *c;
	int one = 1;

	if (w->stopping || w->nconns >= w->max_conns ||
	    !(c = calloc(1, sizeof(*c)))) {
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->w = w;
	c->fd = fd;
	kv_session_init(&c->sess);
	kv_out_init(&c->out, &w->batches);
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	kv_stat_add(&w->stats, KV_ST_curr_connections, 1);
	kv_stat_add(&w->stats, KV_ST_total_connections, 1);
	arm_recv(c);
}

/* Send the head batch of @c if nothing is in flight. */
static void conn_send(struct kv_conn *c)
{
	struct kv_batch *b = c->out.head;
	struct io_uring_sqe *sqe;

	if (c->send_busy || c->closing)
		return;
	if (!b) {
		if (c->quit)
			conn_close(c, false);	/* everything sent: a FIN */
		return;
	}
	if (!b->sealed) {
		b->sealed = 1;
		b->owner = c;
		b->msg = (struct msghdr){ .msg_iov = b->iov, .msg_iovlen = b->niov };
	}
	sqe = sqe_get(c->w);
	if (b->zc) {
		const struct iovec *v = b->msg.msg_iov;
		struct gp_iobuf iob;

		/* The value in item memory, as the provider's fixed buffer. */
		gp_uring_iobuf_of(c->w->srv->bufs, v->iov_base, v->iov_len, &iob);
		gp_send_zc_prep(c->w->srv->bufs, sqe, c->fd, &iob,
				MSG_NOSIGNAL | MSG_WAITALL);
		io_uring_sqe_set_data64(sqe, ud(b, UD_ZC));
		c->zc_pending++;
		kv_stat_add(&c->w->stats, KV_ST_zc_sends, 1);
	} else {
		io_uring_prep_sendmsg(sqe, c->fd, &b->msg, MSG_NOSIGNAL | MSG_WAITALL);
		io_uring_sqe_set_data64(sqe, ud(c, UD_SEND));
	}
	c->send_busy = true;
}

/* Read again once the replies queued have drained. */
static void conn_unpause(struct kv_conn *c)
{
	if (c->paused && c->out.bytes < KV_OUT_LOW && !c->closing) {
		c->paused = false;
		if (!c->recv_armed)
			arm_recv(c);
	}
}

/* @n bytes of the head batch went out. */
static void conn_sent(struct kv_conn *c, size_t n)
{
	kv_stat_add(&c->w->stats, KV_ST_bytes_written, n);
	kv_out_consumed(&c->out, n);
	if (!c->out.head->bytes) {
		struct kv_batch *b = kv_out_pop(&c->out);

		if (!b->zc)
			kv_batch_put(&c->w->batches, b);
	}
	conn_unpause(c);
	mark_dirty(c);
}

/* ------------------------------------------------------------ completions */

static void on_recv(struct kv_conn *c, const struct io_uring_cqe *cqe)
{
	struct kv_worker *w = c->w;
	struct gp_recv rv;
	int res = gp_buf_ring_complete(w->br, cqe, &rv);

	if (!(cqe->flags & IORING_CQE_F_MORE))
		c->recv_armed = false;
	if (res > 0 && rv.has_buf) {
		if (!c->closing && !c->quit &&
		    kv_session_feed(&w->ctx, &c->sess, &c->out, rv.data, rv.len) ==
		    KV_FEED_CLOSE)
			c->quit = true;		/* reply, then close */
		if (rv.buf_done)	/* (the parser kept nothing of it) */
			gp_buf_ring_recycle(w->br, rv.bid);
		mark_dirty(c);
		if (c->quit && c->recv_armed) {
			cancel(w, ud(c, UD_RECV));
		} else if (!c->paused && c->out.bytes > KV_OUT_HIGH && c->recv_armed) {
			/* A client that sends faster than it reads: let TCP
			 * push back instead of queueing without bound. */
			c->paused = true;
			cancel(w, ud(c, UD_RECV));
		}
	}
	if (c->recv_armed)
		return;
	if (res == -ENOBUFS) {
		kv_stat_add(&w->stats, KV_ST_recv_nobufs, 1);
	} else if (res == 0) {
		c->quit = true;		/* EOF: send what is queued, then close */
		mark_dirty(c);
	} else if (res < 0 && res != -ECANCELED) {
		conn_close(c, true);	/* a socket error */
	}
	if (!c->closing && !c->quit && !c->paused)
		arm_recv(c);		/* the multishot ended (ENOBUFS, ...) */
	conn_reap(c);
}

static void on_send(struct kv_conn *c, const struct io_uring_cqe *cqe)
{
	c->send_busy = false;
	if (cqe->res < 0 || c->closing)
		conn_close(c, true);
	else
		conn_sent(c, (size_t)cqe->res);
	conn_reap(c);
}

/* A zero-copy send's pages are the kernel's no longer: release the value. */
static void zc_done(struct kv_conn *c, struct kv_batch *b)
{
	struct kv_batch **pp = &c->zc_sent;

	while (*pp != b)
		pp = &(*pp)->next;
	*pp = b->next;
	kv_batch_put(&c->w->batches, b);
	c->zc_pending--;
	conn_reap(c);
}

/* A zero-copy batch completes twice: the send, then (F_MORE) the
 * notification that the kernel let go of the pages. */
static void on_zc(struct kv_batch *b, const struct io_uring_cqe *cqe)
{
	struct kv_conn *c = b->owner;
	struct gp_zc_result r;
	/* NULL buffer: the value is the item's, released by zc_done() */
	int done = gp_send_zc_complete(c->w->srv->bufs, cqe, NULL, &r);

	if (r.notif) {
		if (r.copied)
			kv_stat_add(&c->w->stats, KV_ST_zc_copied, 1);
		zc_done(c, b);
		return;
	}
	c->send_busy = false;
	kv_out_pop(&c->out);		/* b was the head: it was in flight */
	b->next = c->zc_sent;
	c->zc_sent = b;
	if (r.res < 0 || (size_t)r.res < b->bytes || c->closing) {
		conn_close(c, true);
	} else {
		kv_stat_add(&c->w->stats, KV_ST_bytes_written, (uint64_t)r.res);
		conn_unpause(c);
		mark_dirty(c);
	}
	if (done)
		zc_done(c, b);		/* no notification will come */
	else
		conn_reap(c);
}

/* Deal a new connection to the workers in turn (memcached's dispatch: a
 * kernel hash of SO_REUSEPORT listeners leaves some workers with more
 * connections than others, and their clients with a worse p99).  The
 * descriptor is the process's: a MSG_RING carries its number. */
static void hand_off(struct kv_worker *w, int fd)
{
	struct kv_server *srv = w->srv;
	struct kv_worker *to = &srv->workers[srv->next_worker++ % srv->nworkers];
	struct io_uring_sqe *sqe;

	if (to == w) {
		conn_new(w, fd);
		return;
	}
	sqe = sqe_get(w);
	io_uring_prep_msg_ring(sqe, to->ring.ring_fd, (unsigned int)fd, ud(to, UD_HANDOFF), 0);
	io_uring_sqe_set_data64(sqe, (uint64_t)fd << 4 | UD_HANDED);
}

static void on_accept(struct kv_worker *w, const struct io_uring_cqe *cqe)
{
	if (!(cqe->flags & IORING_CQE_F_MORE))
		w->accept_armed = false;
	if (cqe->res >= 0)
		hand_off(w, cqe->res);
	if (w->accept_armed || w->stopping)
		return;
	if (cqe->res == -EMFILE || cqe->res == -ENFILE || cqe->res == -ENOMEM) {
		/* Out of descriptors: try again in 10 ms, not in a hot loop. */
		struct io_uring_sqe *sqe = sqe_get(w);

		w->retry = (struct __kernel_timespec){ .tv_nsec = 10 * 1000 * 1000 };
		io_uring_prep_timeout(sqe, &w->retry, 0, 0);
		io_uring_sqe_set_data64(sqe, ud(w, UD_TIMER));
		w->timer_armed = true;
		return;
	}
	arm_accept(w);
}

/* The server is stopping: no new connections, close every one. */
static void on_wake(struct kv_worker *w)
{
	struct kv_conn *c, *next;

	w->stopping = true;
	w->stop_deadline = kv_now() + 2;
	if (w->accept_armed)
		cancel(w, ud(w, UD_ACCEPT));
	for (c = w->conns; c; c = next) {
		next = c->next;
		conn_close(c, true);
		conn_reap(c);
	}
}

static void dispatch(struct kv_worker *w, const struct io_uring_cqe *cqe)
{
	void *p = (void *)(uintptr_t)(cqe->user_data & ~UD_KIND_MASK);

	switch ((enum ud_kind)(cqe->user_data & UD_KIND_MASK)) {
	case UD_ACCEPT:
		on_accept(w, cqe);
		break;
	case UD_RECV:
		on_recv(p, cqe);
		break;
	case UD_SEND:
		on_send(p, cqe);
		break;
	case UD_ZC:
		on_zc(p, cqe);
		break;
	case UD_WAKE:
		on_wake(w);
		break;
	case UD_TIMER:
		w->timer_armed = false;
		if (!w->stopping)
			arm_accept(w);
		break;
	case UD_HANDOFF:
		conn_new(w, cqe->res);
		break;
	case UD_HANDED:		/* not delivered (the other ring is gone): ours */
		if (cqe->res < 0)
			conn_new(w, (int)(cqe->user_data >> 4));
		break;
	default:
		break;
	}
}

/* ------------------------------------------------------------ the loop */

static void flush_dirty(struct kv_worker *w)
{
	struct kv_conn *c;

	while ((c = w->dirty)) {
		conn_send(c);		/* (still dirty: cannot be freed here) */
		w->dirty = c->dirty_next;
		c->dirty = false;
		conn_reap(c);
	}
}

/* Stopping, and every socket closed: done once the zero-copy notifications
 * are in, or at the deadline (the kernel keeps what it still holds). */
static bool worker_done(const struct kv_worker *w)
{
	const struct kv_conn *c;
	bool notifs = false;

	if (!w->stopping || w->accept_armed || w->timer_armed)
		return false;
	for (c = w->conns; c; c = c->next) {
		if (c->fd >= 0)
			return false;
		notifs |= c->zc_pending > 0;
	}
	return !notifs || kv_now() >= w->stop_deadline;
}

static void worker_loop(struct kv_worker *w)
{
	while (!worker_done(w)) {
		struct io_uring_cqe *cqe;
		unsigned int head, n = 0;
		struct __kernel_timespec tick = { .tv_nsec = 100 * 1000 * 1000 };
		int ret = w->stopping ?	/* wake up to check the deadline */
			io_uring_submit_and_wait_timeout(&w->ring, &cqe, 1, &tick, NULL) :
			io_uring_submit_and_wait(&w->ring, 1);

		if (ret < 0 && ret != -EINTR && ret != -EBUSY && ret != -EAGAIN &&
		    ret != -ETIME) {
			fprintf(stderr, "genpool-kv: worker %u: io_uring: %s\n", w->id,
				strerror(-ret));
			w->status = 1;
			break;
		}
		w->ctx.now = kv_now();
		kv_flush_due(w->ctx.store, w->ctx.now);
		io_uring_for_each_cqe(&w->ring, head, cqe) {
			dispatch(w, cqe);
			/* Replies go out every KV_REPLY_BATCH completions, not
			 * after all of them: a long round must not hold the
			 * first connections' replies back (p99). */
			if (++n % KV_REPLY_BATCH == 0) {
				flush_dirty(w);
				io_uring_submit(&w->ring);
			}
		}
		io_uring_cq_advance(&w->ring, n);
		flush_dirty(w);
	}
}

/* ------------------------------------------------------------ set-up */

static int ring_setup(struct kv_worker *w)
{
	struct io_uring_params p = {
		.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER |
			 IORING_SETUP_DEFER_TASKRUN,
		.cq_entries = KV_CQ_ENTRIES,
	};
	int ret = io_uring_queue_init_params(KV_RING_ENTRIES, &w->ring, &p);

	if (ret == -EINVAL) {	/* a kernel before 6.1: no deferred task work */
		p = (struct io_uring_params){ .flags = IORING_SETUP_CQSIZE,
					      .cq_entries = KV_CQ_ENTRIES };
		ret = io_uring_queue_init_params(KV_RING_ENTRIES, &w->ring, &p);
	}
	return ret;
}

/* The item pool as this ring's fixed buffers: worker 0 registers it (its
 * provider), the others attach to it (a clone of the table where the
 * kernel can).  Each from its own thread: the rings are SINGLE_ISSUER.
 * Refused registration is no failure: the provider then serves
 * unregistered buffers and zero-copy sends pin pages as they go. */
static int attach_item_memory(struct kv_worker *w)
{
	struct kv_server *srv = w->srv;
	int ret = 0;

	if (w->id == 0) {
		srv->bufs = gp_uring_register(&w->ring, kv_store_pool(srv->store), 0);
		if (!srv->bufs)
			ret = -errno;
	} else {
		ret = gp_uring_attach(srv->bufs, &w->ring);
	}
	if (ret) {
		fprintf(stderr, "genpool-kv: registering item memory: %s\n", strerror(-ret));
		return ret;
	}
	w->attached = true;
	return 0;
}

static int worker_start(struct kv_worker *w)
{
	struct gp_buf_ring_config brc = {
		.entries = w->rbufs, .buf_size = KV_RBUF_SIZE, .bgid = KV_BGID,
		.flags = GP_BUF_RING_INC,
	};
	struct io_uring_sqe *sqe;
	int ret = ring_setup(w);

	if (ret) {
		fprintf(stderr, "genpool-kv: io_uring_queue_init: %s\n", strerror(-ret));
		return ret;
	}
	w->ring_ok = true;
	ret = attach_item_memory(w);
	if (ret)
		return ret;
	w->br = gp_buf_ring_create(&w->ring, w->srv->bufs, &brc);
	if (!w->br) {
		ret = -errno;
		fprintf(stderr, "genpool-kv: provided-buffer ring: %s\n", strerror(errno));
		return ret;
	}
	kv_store_charge(w->ctx.store, (int64_t)w->rbufs * KV_RBUF_SIZE);
	if (w->id == 0)
		arm_accept(w);
	/* Last, so a worker that failed to start holds no read of the eventfd:
	 * each read takes one count (EFD_SEMAPHORE), one per running worker. */
	sqe = sqe_get(w);
	io_uring_prep_read(sqe, w->srv->wake_fd, &w->wake_buf, sizeof(w->wake_buf), 0);
	io_uring_sqe_set_data64(sqe, ud(w, UD_WAKE));
	return 0;
}

/* Undo worker_start() in the worker's own thread (SINGLE_ISSUER rings
 * take registrations from it only). */
static void worker_stop(struct kv_worker *w)
{
	if (w->br) {
		gp_buf_ring_destroy(w->br);
		kv_store_charge(w->ctx.store, -(int64_t)w->rbufs * KV_RBUF_SIZE);
		w->br = NULL;
	}
	if (w->attached)	/* worker 0's ring too: the provider keeps its own */
		gp_uring_detach(w->srv->bufs, &w->ring);
	w->attached = false;
}

/* Tell the main thread how the start went. */
static void worker_ready(struct kv_worker *w, int status)
{
	struct kv_server *srv = w->srv;

	pthread_mutex_lock(&srv->lock);
	w->status = status;
	srv->ready++;
	pthread_cond_broadcast(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
}

static void *worker_main(void *arg)
{
	struct kv_worker *w = arg;
	int ret = worker_start(w);

	worker_ready(w, ret);
	if (!ret)
		worker_loop(w);
	while (w->conns)		/* only notifications were left */
		conn_free(w->conns);
	worker_stop(w);
	if (w->status)		/* a worker that broke down stops the server */
		kill(getpid(), SIGTERM);
	return NULL;
}

static int listen_socket(const struct kv_server_config *cfg, unsigned int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd, one = 1;

	if (inet_pton(AF_INET, cfg->listen, &sa.sin_addr) != 1) {
		fprintf(stderr, "genpool-kv: --listen %s: not an IPv4 address\n", cfg->listen);
		return -1;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4096)) {
		fprintf(stderr, "genpool-kv: %s:%u: %s\n", cfg->listen, port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static unsigned int bound_port(int fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	if (getsockname(fd, (struct sockaddr *)&sa, &len))
		return 0;
	return ntohs(sa.sin_port);
}

/* ------------------------------------------------------------ stats */

static void ops_sum(struct kv_ctx *ctx, uint64_t out[KV_ST_COUNT])
{
	struct kv_server *srv = ctx->server;
	unsigned int i, k;

	pthread_mutex_lock(&srv->lock);
	for (k = 0; k < KV_ST_COUNT; k++) {
		out[k] = 0;
		for (i = 0; i < srv->nworkers; i++)
			out[k] += atomic_load_explicit(&srv->workers[i].stats.v[k],
						       memory_order_relaxed);
		/* gauges are not reset */
		if (k != KV_ST_curr_connections)
			out[k] -= srv->base[k];
	}
	pthread_mutex_unlock(&srv->lock);
}

static void ops_reset(struct kv_ctx *ctx)
{
	struct kv_server *srv = ctx->server;
	unsigned int i, k;

	pthread_mutex_lock(&srv->lock);
	for (k = 0; k < KV_ST_COUNT; k++) {
		srv->base[k] = 0;
		for (i = 0; i < srv->nworkers; i++)
			srv->base[k] += atomic_load_explicit(&srv->workers[i].stats.v[k],
							     memory_order_relaxed);
	}
	pthread_mutex_unlock(&srv->lock);
}

/* The pool's own figures: what a slab allocator would leave to guesswork. */
static void ops_extra(struct kv_ctx *ctx, struct kv_out *out)
{
	struct kv_server *srv = ctx->server;
	struct gp_cache *cache = kv_store_cache(ctx->store);
	struct gp_uring_info ui;
	size_t rbuf = 0;
	unsigned int i;
	struct gp_cache_stats cs = { 0 }, ios;
	struct gp_stats ps;

	if (cache)
		gp_cache_get_stats(cache, &cs);
	for (i = 0; i < srv->nworkers; i++)
		rbuf += srv->workers[i].br ? (size_t)srv->workers[i].rbufs * KV_RBUF_SIZE : 0;
	kv_out_stat(out, "kv_rbuf_bytes", "%zu", rbuf);
	/* the io layer's own per-CPU cache (receive buffer sizes) */
	if (srv->bufs && gp_cache_get_stats(gp_uring_cache(srv->bufs), &ios) == 0) {
		kv_out_stat(out, "genpool_io_cache_bytes", "%llu",
			    (unsigned long long)ios.total.bytes);
		rbuf += ios.total.bytes;
	}
	if (gp_get_stats(kv_store_pool(ctx->store), &ps) == 0) {
		kv_out_stat(out, "genpool_pool_size", "%zu", ps.size);
		kv_out_stat(out, "genpool_pool_avail", "%zu", ps.avail);
		kv_out_stat(out, "genpool_pool_in_use", "%zu", ps.in_use);
		/* what items hold: in use, less the free objects cached per CPU
		 * and the receive buffers */
		kv_out_stat(out, "genpool_items_in_use", "%llu",
			    (unsigned long long)(ps.in_use - cs.total.bytes - rbuf));
		kv_out_stat(out, "genpool_pool_allocations", "%llu",
			 (unsigned long long)ps.allocations);
		kv_out_stat(out, "genpool_pool_failures", "%llu",
			 (unsigned long long)ps.failures);
		kv_out_stat(out, "genpool_largest_free", "%zu", ps.largest_free);
		kv_out_stat(out, "genpool_fragmentation", "%.4f", ps.fragmentation);
	}
	if (cache) {
		kv_out_stat(out, "genpool_cache_mode", "%s", cs.mode_name);
		kv_out_stat(out, "genpool_cache_alloc_hits", "%llu",
			    (unsigned long long)cs.total.alloc_hits);
		kv_out_stat(out, "genpool_cache_alloc_misses", "%llu",
			    (unsigned long long)cs.total.alloc_misses);
		kv_out_stat(out, "genpool_cache_free_hits", "%llu",
			    (unsigned long long)cs.total.free_hits);
		kv_out_stat(out, "genpool_cache_objects", "%llu",
			    (unsigned long long)cs.total.objects);
		kv_out_stat(out, "genpool_cache_bytes", "%llu",
			    (unsigned long long)cs.total.bytes);
		kv_out_stat(out, "genpool_cache_exhausted", "%llu",
			    (unsigned long long)cs.exhausted);
	}
	kv_out_stat(out, "genpool_zc", "%s", srv->zc && srv->cfg.zc_threshold ? "on" : "off");
	if (srv->bufs && gp_uring_get_info(srv->bufs, &ui) == 0) {
		kv_out_stat(out, "genpool_io_mode", "%s", gp_uring_mode_name(ui.mode));
		kv_out_stat(out, "genpool_io_rings", "%u", ui.rings);
		kv_out_stat(out, "genpool_io_registered_bytes", "%zu", ui.registered_bytes);
	}
}

static const struct kv_server_ops server_ops = {
	.sum = ops_sum,
	.reset = ops_reset,
	.extra = ops_extra,
};

/* ------------------------------------------------------------ life cycle */

static bool probe_send_zc(void)
{
	struct io_uring_probe *p = io_uring_get_probe();
	bool ok = p && io_uring_opcode_supported(p, IORING_OP_SEND_ZC);

	if (p)
		io_uring_free_probe(p);
	return ok;
}

static void worker_init(struct kv_server *srv, struct kv_worker *w, unsigned int id)
{
	w->srv = srv;
	w->id = id;
	kv_batch_cache_init(&w->batches, srv->store, KV_FREE_BATCHES);
	w->ctx = (struct kv_ctx){
		.store = srv->store,
		.stats = &w->stats,
		.ops = &server_ops,
		.server = srv,
		.now = kv_now(),
		.zc_threshold = srv->zc ? srv->cfg.zc_threshold : 0,
		.threads = srv->nworkers,
		.max_conns = srv->cfg.max_conns,
		.pending = &srv->pending,
		.pending_max = srv->cfg.store.memory / 2,
		.verbosity = &srv->verbosity,
	};
	w->ctx.started = w->ctx.now;
	w->max_conns = (srv->cfg.max_conns + srv->nworkers - 1) / srv->nworkers;
	w->rbufs = KV_RBUF_MAX;		/* a power of two, as the ring wants */
	while (w->rbufs > KV_RBUF_MIN &&
	       (size_t)w->rbufs * KV_RBUF_SIZE * srv->nworkers * 64 > srv->cfg.store.memory)
		w->rbufs /= 2;
}

/* Wait until @n workers have said how their start went. */
static void wait_ready(struct kv_server *srv, unsigned int n)
{
	pthread_mutex_lock(&srv->lock);
	while (srv->ready < n)
		pthread_cond_wait(&srv->cond, &srv->lock);
	pthread_mutex_unlock(&srv->lock);
}

struct kv_server *kv_server_create(const struct kv_server_config *cfg)
{
	struct kv_server *srv = calloc(1, sizeof(*srv));
	unsigned int i, started = 0;

	if (!srv)
		return NULL;
	srv->cfg = *cfg;
	srv->nworkers = cfg->threads;
	srv->wake_fd = -1;
	srv->listen_fd = -1;
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->cond, NULL);
	srv->zc = probe_send_zc();
	srv->store = kv_store_create(&cfg->store);
	srv->workers = calloc(cfg->threads, sizeof(*srv->workers));
	srv->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_SEMAPHORE);
	if (!srv->store || !srv->workers || srv->wake_fd < 0)
		goto fail;
	srv->listen_fd = listen_socket(cfg, cfg->port);
	if (srv->listen_fd < 0)
		goto fail;
	srv->port = bound_port(srv->listen_fd);
	for (i = 0; i < srv->nworkers; i++) {
		struct kv_worker *w = &srv->workers[i];

		worker_init(srv, w, i);
		w->ctx.port = srv->port;
	}
	/* Worker 0 first: it makes the provider the others attach to. */
	for (i = 0; i < srv->nworkers; i++) {
		struct kv_worker *w = &srv->workers[i];

		w->thread_ok = pthread_create(&w->thread, NULL, worker_main, w) == 0;
		if (!w->thread_ok)
			worker_ready(w, -EAGAIN);
		started++;
		if (i == 0 && (wait_ready(srv, 1), w->status))
			break;
	}
	wait_ready(srv, started);
	for (i = 0; i < started; i++) {
		if (srv->workers[i].status) {
			kv_server_stop(srv);
			kv_server_wait(srv);
			kv_server_destroy(srv);
			return NULL;
		}
	}
	return srv;
fail:
	if (!srv->store)
		fprintf(stderr, "genpool-kv: cannot create the item store: %s\n",
			strerror(errno));
	kv_server_destroy(srv);
	return NULL;
}

unsigned int kv_server_port(const struct kv_server *srv)
{
	return srv->port;
}

void kv_server_stop(struct kv_server *srv)
{
	uint64_t n = srv->nworkers;

	/* A count per worker: each one's read takes one. */
	if (write(srv->wake_fd, &n, sizeof(n)) < 0)
		return;
}

int kv_server_wait(struct kv_server *srv)
{
	int status = 0;
	unsigned int i;

	for (i = 0; i < srv->nworkers; i++) {
		struct kv_worker *w = &srv->workers[i];

		if (w->thread_ok) {
			pthread_join(w->thread, NULL);
			w->thread_ok = false;
		}
		status |= w->status;
	}
	return status;
}

void kv_server_destroy(struct kv_server *srv)
{
	unsigned int i;

	if (!srv)
		return;
	for (i = 0; srv->workers && i < srv->nworkers; i++) {
		struct kv_worker *w = &srv->workers[i];

		if (w->ring_ok && w->br)	/* (a worker that never ran) */
			worker_stop(w);
	}
	/* The provider's tables leave the rings (worker 0's last), then the
	 * rings go, then the pool and its memory (kv_store_destroy). */
	if (srv->bufs && gp_uring_unregister(srv->bufs))
		fprintf(stderr, "genpool-kv: unregistering item memory failed\n");
	for (i = 0; srv->workers && i < srv->nworkers; i++) {
		struct kv_worker *w = &srv->workers[i];

		if (w->ring_ok) {	/* connections handed over too late */
			struct io_uring_cqe *cqe;

			while (io_uring_peek_cqe(&w->ring, &cqe) == 0) {
				if ((cqe->user_data & UD_KIND_MASK) == UD_HANDOFF && cqe->res >= 0)
					close(cqe->res);
				io_uring_cqe_seen(&w->ring, cqe);
			}
			io_uring_queue_exit(&w->ring);
		}
		kv_batch_cache_fini(&w->batches);
	}
	free(srv->workers);
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	kv_store_destroy(srv->store);
	if (srv->wake_fd >= 0)
		close(srv->wake_fd);
	pthread_mutex_destroy(&srv->lock);
	pthread_cond_destroy(&srv->cond);
	free(srv);
}
