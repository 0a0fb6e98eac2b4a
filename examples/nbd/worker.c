// SPDX-License-Identifier: MIT
/*
 * examples/nbd/worker.c - a worker thread: one io_uring, many connections.
 *
 * Per connection, a receive state machine reads request headers into a
 * small staging buffer and WRITE payloads straight into the request's
 * buffer; each request takes a slot (at most MAX_INFLIGHT per connection,
 * which is the back-pressure) and a buffer from the provider, runs its disk
 * operation on the ring and queues its reply.  Replies leave in completion
 * order, so they come out of order whenever the disk finishes out of
 * order.  The replies of one connection go out as linked chains of sends
 * (MSG_WAITALL, so none is short), one chain at a time, which keeps the
 * byte stream in order.  A READ's reply header is written just in front of
 * its data in the same buffer, so header and payload leave in one SEND_ZC
 * from the registered buffer, which is freed at the notification CQE.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/falloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "nbd.h"
#include "nbd-proto.h"

#define MAX_INFLIGHT		64	/* requests per connection */
#define STAGE_SIZE		(16 * NBD_REQUEST_SIZE)
#define CALM_BATCH		16	/* non-WRITEs in a row before batching headers */
/*
 * Smaller READ replies go by plain send from the same registered buffer:
 * below ~10 KiB the kernel's zero-copy bookkeeping (notification, page
 * references) costs more than the copy it saves (Documentation/networking/
 * msg_zerocopy.rst), and on loopback the kernel copies anyway.
 */
#define ZC_MIN_PAYLOAD		(16U << 10)
#define RING_ENTRIES		512
#define MAX_CHAIN		32	/* replies per linked send chain */
#define DISCARD_SIZE		(64U << 10)
#define DRAIN_TIMEOUT_NS	(10LL * 1000000000)
#define TICK_NS			(100LL * 1000000)
#define PARKED_TICK_NS		(1LL * 1000000)

#define container_of(p, type, member) \
	((type *)((char *)(p) - offsetof(type, member)))

#define STAT_ADD(w, field, n) \
	__atomic_store_n(&(w)->st.field, (w)->st.field + (n), __ATOMIC_RELAXED)

/* What a CQE's user_data points at: the op embedded in its owner. */
enum op_kind { OP_WAKE, OP_RECV, OP_DISK, OP_SYNC, OP_SEND };
struct op { uint8_t kind; };

enum rx_state { RX_HEADER, RX_PAYLOAD, RX_DISCARD };

struct nbd_conn;

/**
 * struct nbd_req - one request in flight (a slot of its connection).
 * @buf:      its buffer (addr NULL: none)
 * @data:     where the payload sits in @buf
 * @io_off:   disk extent (the request's range, widened to the O_DIRECT block)
 * @io_done:  bytes of the extent done (short transfers are resubmitted)
 * @error:    NBD error for the reply (0: success)
 * @pending:  disk operations in flight
 * @zero_fallback: fallocate cannot zero here: zero by hand once @pending ends
 * @zc:       the reply went by SEND_ZC: released at its notification
 * @out:      the reply's bytes (in @hdr, or in @buf just before @data)
 */
struct nbd_req {
	struct op disk_op, sync_op, send_op;
	struct nbd_conn *conn;
	struct nbd_request rq;
	struct nbd_buf buf;
	unsigned char *data;
	uint64_t io_off;
	uint32_t io_len, io_done;
	uint32_t error;
	uint8_t pending;
	bool zc;
	bool zero_fallback;
	unsigned char hdr[NBD_ERROR_CHUNK_SIZE];
	const unsigned char *out;
	uint32_t out_len;
	struct nbd_req *next;
};

/**
 * struct nbd_conn - a connection in transmission phase.
 * @refs:     SQEs in flight that point into this connection (incl. SEND_ZC
 *            notifications still to come)
 * @closing:  no more requests are read (DISC, EOF, error, shutdown)
 * @dead:     the socket is unusable: replies are dropped
 * @stage:    request headers as received; [parsed, staged) not yet decoded
 * @calm:     requests in a row without a WRITE (saturating at CALM_BATCH);
 *            below CALM_BATCH exactly one header is received at a time,
 *            so that a WRITE's payload lands in its own buffer, not in
 *            @stage (a batch of headers can end in payload, which is copied)
 * @rx_req:   the WRITE whose payload is being received (RX_PAYLOAD)
 * @discard:  payload bytes still to throw away (RX_DISCARD)
 * @parked:   a request waiting for a buffer (the pool is exhausted for now)
 * @sendq:    replies waiting for the chain in flight (@sending SQEs) to end
 */
struct nbd_conn {
	struct op recv_op;
	struct nbd_worker *w;
	int fd;
	bool structured;
	bool zc_send;
	bool closing;
	bool dead;
	bool recv_armed;
	bool in_flushq;
	enum rx_state rx;
	unsigned int refs;
	unsigned int inflight;
	unsigned int sending;
	unsigned char stage[STAGE_SIZE];
	uint32_t staged, parsed;
	uint8_t calm;
	struct nbd_req *rx_req;
	uint32_t rx_got;
	struct msghdr msg;		/* RX_PAYLOAD: payload + next header */
	struct iovec iov[2];
	uint64_t discard;
	struct nbd_req *parked;
	struct nbd_req *free_reqs;
	struct nbd_req *sendq, **sendq_tail;
	struct nbd_conn *prev, *next;
	struct nbd_conn *flush_next;
	struct nbd_req reqs[MAX_INFLIGHT];
};

struct new_conn { int fd; bool structured; struct new_conn *next; };

struct nbd_worker {
	struct nbd_server *srv;
	unsigned int id;
	struct io_uring ring;
	pthread_t thread;
	int efd;			/* wakes the ring: new connections, stop, freed buffers */
	uint64_t efd_val;
	struct op wake_op;
	bool disabled;			/* the ring waits for io_uring_enable_rings() */
	int file;			/* fixed file index 0, or the raw fd */
	unsigned int file_flags;
	bool can_zc;
	bool fixed;			/* this ring has the pool's fixed buffers */
	atomic_uint nconns;
	unsigned int nparked;
	struct nbd_conn *conns;
	struct nbd_conn *flushq;	/* connections with replies to send */
	pthread_mutex_t lock;		/* guards newq */
	struct new_conn *newq;
	bool stopping;			/* seen by the worker itself */
	int64_t drain_deadline;
	unsigned char *discard_buf;
	struct nbd_stats st;
};

static void conn_parse(struct nbd_conn *c);
static void arm_recv(struct nbd_conn *c);
static void conn_close(struct nbd_conn *c, bool hard);
static void flush_sends(struct nbd_conn *c);

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A free SQE, submitting what is queued if the ring is full. */
static struct io_uring_sqe *get_sqe(struct nbd_worker *w)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);

	while (!sqe) {
		io_uring_submit(&w->ring);
		sqe = io_uring_get_sqe(&w->ring);
	}
	return sqe;
}

/* Make room for @n SQEs that must be submitted together (a link chain). */
static void reserve_sqes(struct nbd_worker *w, unsigned int n)
{
	if (io_uring_sq_space_left(&w->ring) < n)
		io_uring_submit(&w->ring);
}

/* The protocol's error for a failed system call. */
static uint32_t nbd_error(int err)
{
	switch (err) {
	case EPERM: case EROFS: return NBD_EPERM;
	case ENOMEM: return NBD_ENOMEM;
	case ENOSPC: case EDQUOT: case EFBIG: return NBD_ENOSPC;
	case EINVAL: return NBD_EINVAL;
	default: return NBD_EIO;
	}
}

static uint64_t round_down64(uint64_t v, uint32_t a) { return v - v % a; }
static uint64_t round_up64(uint64_t v, uint32_t a) { return round_down64(v + a - 1, a); }

/* Bytes in front of a READ's data: room for the reply header, aligned. */
static uint32_t read_prefix(const struct nbd_worker *w)
{
	return w->srv->exp.mem_align;
}

/* ---------------------------------------------------------------- slots */

static struct nbd_req *req_get(struct nbd_conn *c)
{
	struct nbd_req *r = c->free_reqs;

	if (!r)
		return NULL;
	c->free_reqs = r->next;
	memset(&r->buf, 0, sizeof(*r) - offsetof(struct nbd_req, buf));
	c->inflight++;
	return r;
}

/* Free the request's buffer; if a connection was waiting for one, retry. */
static void req_put_buf(struct nbd_req *r)
{
	if (!r->buf.addr)
		return;
	provider_free(r->conn->w->srv->prov, &r->buf);
	r->buf.addr = NULL;
}

/*
 * Is the connection finished with?  Then close and free it.  Called only
 * where nothing touches @c afterwards (the end of a CQE's handling, or of
 * a pass over the worker's list); helpers never free.
 */
static void conn_maybe_free(struct nbd_conn *c)
{
	struct nbd_worker *w = c->w;

	if (!c->closing || c->inflight || c->in_flushq)
		return;
	if (c->refs) {
		/* Only a receive can be left: wake it. */
		shutdown(c->fd, SHUT_RDWR);
		return;
	}
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	atomic_fetch_sub(&w->nconns, 1);
	free(c);
}

/* The request is over (replied, or its connection died): recycle it. */
static void req_release(struct nbd_req *r)
{
	struct nbd_conn *c = r->conn;
	bool was_full = !c->free_reqs;

	req_put_buf(r);
	r->next = c->free_reqs;
	c->free_reqs = r;
	c->inflight--;
	if (!c->closing && was_full && c->rx == RX_HEADER) {
		conn_parse(c);
		arm_recv(c);
	}
}

/* ---------------------------------------------------------------- replies */

/*
 * Send @c's queued replies at the end of this pass over the CQEs: the
 * replies of every request that completed in the pass leave together as
 * one chain (one TCP push, thanks to MSG_MORE), not one by one.
 */
static void want_flush(struct nbd_conn *c)
{
	if (c->in_flushq)
		return;
	c->in_flushq = true;
	c->flush_next = c->w->flushq;
	c->w->flushq = c;
}

/* Queue @r's reply (built by the caller); it leaves at the pass's end. */
static void queue_reply(struct nbd_req *r)
{
	struct nbd_conn *c = r->conn;

	if (r->error)
		STAT_ADD(c->w, errors, 1);
	if (c->dead) {
		req_release(r);
		return;
	}
	r->next = NULL;
	*c->sendq_tail = r;
	c->sendq_tail = &r->next;
	want_flush(c);
}

/* Reply with @r->error and no data. */
static void reply_status(struct nbd_req *r)
{
	r->out = r->hdr;
	req_put_buf(r);
	if (r->conn->structured && r->rq.type == NBD_CMD_READ) {
		/* Structured replies forbid a simple reply to READ. */
		if (r->error) {
			nbd_encode_chunk(r->hdr, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_ERROR,
					 r->rq.cookie, 6);
			nbd_put32(r->hdr + NBD_CHUNK_HEADER_SIZE, r->error);
			nbd_put16(r->hdr + NBD_CHUNK_HEADER_SIZE + 4, 0);
			r->out_len = NBD_ERROR_CHUNK_SIZE;
		} else {
			nbd_encode_chunk(r->hdr, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_NONE,
					 r->rq.cookie, 0);
			r->out_len = NBD_CHUNK_HEADER_SIZE;
		}
	} else {
		nbd_encode_simple_reply(r->hdr, r->error, r->rq.cookie);
		r->out_len = NBD_SIMPLE_REPLY_SIZE;
	}
	queue_reply(r);
}

/* Reply to a successful READ: header written just in front of the data. */
static void reply_data(struct nbd_req *r)
{
	uint32_t len = r->rq.length;
	unsigned char *p;

	if (r->conn->structured) {
		p = r->data - NBD_READ_CHUNK_PREFIX;
		nbd_encode_chunk(p, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_OFFSET_DATA,
				 r->rq.cookie, 8 + len);
		nbd_put64(p + NBD_CHUNK_HEADER_SIZE, r->rq.offset);
	} else {
		p = r->data - NBD_SIMPLE_REPLY_SIZE;
		nbd_encode_simple_reply(p, 0, r->rq.cookie);
	}
	r->out = p;
	r->out_len = (uint32_t)(r->data - p) + len;
	r->zc = r->conn->zc_send && len >= ZC_MIN_PAYLOAD;
	STAT_ADD(r->conn->w, bytes_read, len);
	queue_reply(r);
}

/* One send SQE for @r's reply. */
static void prep_send(struct nbd_conn *c, struct nbd_req *r, struct io_uring_sqe *sqe,
		      bool more)
{
	/* MSG_MORE while the chain goes on: TCP packs replies into full segments. */
	int flags = MSG_WAITALL | MSG_NOSIGNAL | (more ? MSG_MORE : 0);

	if (r->zc) {
		struct nbd_buf b = r->buf;

		if (!c->w->fixed)
			b.index = -1;
		provider_prep_send_zc(c->w->srv->prov, sqe, c->fd, &b, r->out, r->out_len,
				      flags);
		STAT_ADD(c->w, zc_sends, 1);
	} else {
		io_uring_prep_send(sqe, c->fd, r->out, r->out_len, flags);
	}
	io_uring_sqe_set_data(sqe, &r->send_op);
}

/*
 * Send the queued replies as one linked chain, unless a chain is still in
 * flight (then they wait for it: two chains at once could interleave).
 */
static void flush_sends(struct nbd_conn *c)
{
	struct nbd_worker *w = c->w;
	unsigned int n = 0;
	struct nbd_req *r;

	if (c->sending || !c->sendq)
		return;
	for (r = c->sendq; r && n < MAX_CHAIN; r = r->next)
		n++;
	reserve_sqes(w, n);
	c->sending = n;
	c->refs += n;
	while (n--) {
		struct io_uring_sqe *sqe = get_sqe(w);

		r = c->sendq;
		c->sendq = r->next;
		prep_send(c, r, sqe, n != 0);
		if (n)
			sqe->flags |= IOSQE_IO_LINK;
	}
	if (!c->sendq)
		c->sendq_tail = &c->sendq;
}

static void on_send(struct nbd_req *r, const struct io_uring_cqe *cqe)
{
	struct nbd_conn *c = r->conn;
	bool done = true, notif = false, copied = false;

	if (r->zc)
		done = provider_send_zc_cqe(c->w->srv->prov, cqe, &notif, &copied) == 1;
	if (notif) {
		/* The kernel is done with the buffer. */
		if (copied)
			STAT_ADD(c->w, zc_copied, 1);
		c->refs--;
		req_release(r);
		return;
	}
	c->sending--;
	if (cqe->res != (int)r->out_len && !c->dead) {
		c->dead = true;
		conn_close(c, true);
	}
	if (done) {
		c->refs--;
		req_release(r);
	}
	if (!c->sending) {
		if (c->dead) {
			while (c->sendq) {
				r = c->sendq;
				c->sendq = r->next;
				req_release(r);
			}
			c->sendq_tail = &c->sendq;
		}
		if (c->sendq)
			want_flush(c);
	}
}

/* ---------------------------------------------------------------- disk */

/* Point @sqe at the export file and at @op's owner. */
static void prep_file(struct nbd_worker *w, struct io_uring_sqe *sqe,
		      struct op *op)
{
	sqe->flags |= w->file_flags;
	io_uring_sqe_set_data(sqe, op);
}

/* Submit the (rest of the) READ or WRITE extent. */
static void submit_rw(struct nbd_req *r)
{
	struct nbd_worker *w = r->conn->w;
	struct io_uring_sqe *sqe = get_sqe(w);
	unsigned char *p = r->buf.addr + (r->rq.type == NBD_CMD_READ ? read_prefix(w) : 0)
			   + r->io_done;
	uint32_t len = r->io_len - r->io_done;
	uint64_t off = r->io_off + r->io_done;

	if (r->rq.type == NBD_CMD_READ) {
		if (w->fixed && r->buf.index >= 0)
			io_uring_prep_read_fixed(sqe, w->file, p, len, off, r->buf.index);
		else
			io_uring_prep_read(sqe, w->file, p, len, off);
	} else {
		if (w->fixed && r->buf.index >= 0)
			io_uring_prep_write_fixed(sqe, w->file, p, len, off, r->buf.index);
		else
			io_uring_prep_write(sqe, w->file, p, len, off);
		if (r->rq.flags & NBD_CMD_FLAG_FUA)
			sqe->rw_flags = RWF_DSYNC;
	}
	prep_file(w, sqe, &r->disk_op);
	r->pending++;
	r->conn->refs++;
}

/* Submit fallocate (TRIM, WRITE_ZEROES) or fsync, plus a linked fsync for FUA. */
static void submit_meta(struct nbd_req *r, int mode, uint64_t off, uint64_t len)
{
	struct nbd_worker *w = r->conn->w;
	bool fua = (r->rq.flags & NBD_CMD_FLAG_FUA) && r->rq.type != NBD_CMD_FLUSH;
	struct io_uring_sqe *sqe;

	reserve_sqes(w, 2);
	sqe = get_sqe(w);
	if (r->rq.type == NBD_CMD_FLUSH)
		io_uring_prep_fsync(sqe, w->file, IORING_FSYNC_DATASYNC);
	else
		io_uring_prep_fallocate(sqe, w->file, mode, off, len);
	prep_file(w, sqe, &r->disk_op);
	r->pending++;
	r->conn->refs++;
	if (!fua)
		return;
	sqe->flags |= IOSQE_IO_LINK;
	sqe = get_sqe(w);
	io_uring_prep_fsync(sqe, w->file, IORING_FSYNC_DATASYNC);
	prep_file(w, sqe, &r->sync_op);
	r->pending++;
	r->conn->refs++;
}

/* A WRITE's payload is all in its buffer: write it. */
static void payload_done(struct nbd_req *r)
{
	struct nbd_export *exp = &r->conn->w->srv->exp;
	int e;

	STAT_ADD(r->conn->w, bytes_written, r->rq.length);
	if (export_aligned(exp, r->rq.offset, r->rq.length)) {
		submit_rw(r);
		return;
	}
	e = export_write_unaligned(exp, r->buf.addr, r->rq.offset, r->rq.length,
				   r->rq.flags & NBD_CMD_FLAG_FUA);
	r->error = e ? nbd_error(-e) : 0;
	reply_status(r);
}

/* WRITE_ZEROES the slow way (partial blocks, or no fallocate support). */
static void zero_sync(struct nbd_req *r)
{
	int e = export_zero_sync(&r->conn->w->srv->exp, r->rq.offset, r->rq.length,
				 !(r->rq.flags & NBD_CMD_FLAG_NO_HOLE),
				 r->rq.flags & NBD_CMD_FLAG_FUA);

	r->error = e ? nbd_error(-e) : 0;
	reply_status(r);
}

static void on_disk(struct nbd_req *r, struct op *op, int res)
{
	struct nbd_export *exp = &r->conn->w->srv->exp;
	uint16_t type = r->rq.type;

	r->pending--;
	r->conn->refs--;
	if (op == &r->sync_op) {
		if (res < 0 && res != -ECANCELED && !r->error)
			r->error = nbd_error(-res);
	} else if (type == NBD_CMD_READ || type == NBD_CMD_WRITE) {
		if (res > 0 && r->io_done + (uint32_t)res < r->io_len) {
			r->io_done += (uint32_t)res;
			submit_rw(r);
			return;
		}
		if (res <= 0)
			r->error = res < 0 ? nbd_error(-res) : NBD_EIO;
	} else if (res == -EOPNOTSUPP && type == NBD_CMD_TRIM) {
		res = 0;	/* TRIM is advisory */
	} else if (res == -EOPNOTSUPP && type == NBD_CMD_WRITE_ZEROES) {
		atomic_store(&exp->no_zero_range, true);
		r->zero_fallback = true;
	} else if (res < 0) {
		r->error = nbd_error(-res);
	}
	if (r->pending)
		return;
	if (r->zero_fallback) {
		r->error = 0;	/* the linked fsync was cancelled, not failed */
		zero_sync(r);
		return;
	}
	if (r->conn->dead) {
		req_release(r);
		return;
	}
	if (type == NBD_CMD_READ && !r->error)
		reply_data(r);
	else
		reply_status(r);
}

/* ---------------------------------------------------------------- requests */

/*
 * Check @r->rq against the protocol and the export.  Returns the NBD error
 * to reply with (0: valid).
 */
static uint32_t validate(const struct nbd_conn *c, const struct nbd_request *rq)
{
	const struct nbd_export *exp = &c->w->srv->exp;
	bool modifies = rq->type == NBD_CMD_WRITE || rq->type == NBD_CMD_TRIM ||
			rq->type == NBD_CMD_WRITE_ZEROES;

	if (rq->flags & ~(NBD_CMD_FLAG_FUA | NBD_CMD_FLAG_NO_HOLE))
		return NBD_EINVAL;
	switch (rq->type) {
	case NBD_CMD_READ: case NBD_CMD_WRITE:
		if (rq->length > NBD_MAX_PAYLOAD)
			return NBD_EINVAL;
		break;
	case NBD_CMD_FLUSH: case NBD_CMD_TRIM: case NBD_CMD_WRITE_ZEROES:
		break;
	default:
		return NBD_EINVAL;
	}
	if (modifies && exp->readonly)
		return NBD_EPERM;
	if (rq->offset > exp->size || rq->length > exp->size - rq->offset)
		return rq->type == NBD_CMD_FLUSH ? 0 : NBD_EINVAL;
	return 0;
}

/* Take payload bytes that arrived in the header buffer. */
static uint32_t take_staged(struct nbd_conn *c, void *dst, uint64_t want)
{
	uint32_t n = c->staged - c->parsed;

	if (n > want)
		n = (uint32_t)want;
	if (dst && n) {
		memcpy(dst, c->stage + c->parsed, n);
		STAT_ADD(c->w, staged_copy, n);
	}
	c->parsed += n;
	return n;
}

/* Start receiving (or finish, from the header buffer) a WRITE's payload. */
static void start_payload(struct nbd_req *r)
{
	struct nbd_conn *c = r->conn;

	r->data = r->buf.addr + (r->rq.offset - r->io_off);
	c->rx_got = take_staged(c, r->data, r->rq.length);
	if (c->rx_got == r->rq.length) {
		payload_done(r);
		return;
	}
	c->rx_req = r;
	c->rx = RX_PAYLOAD;
}

/*
 * Run a valid request whose buffer (if it needs one) we now try to get.
 * Returns false if the pool is exhausted: the request is parked.
 */
static bool dispatch(struct nbd_req *r)
{
	struct nbd_worker *w = r->conn->w;
	struct nbd_export *exp = &w->srv->exp;
	const struct nbd_request *rq = &r->rq;
	uint32_t a = exp->align;

	switch (rq->type) {
	case NBD_CMD_READ:
	case NBD_CMD_WRITE:
		if (!rq->length) {
			reply_status(r);
			return true;
		}
		r->io_off = round_down64(rq->offset, a);
		r->io_len = (uint32_t)(round_up64(rq->offset + rq->length, a) - r->io_off);
		if (!r->buf.addr &&
		    provider_alloc(w->srv->prov, r->io_len +
				   (rq->type == NBD_CMD_READ ? read_prefix(w) : 0),
				   w->efd, &r->buf)) {
			STAT_ADD(w, buf_waits, 1);
			return false;
		}
		if (!export_aligned(exp, rq->offset, rq->length))
			STAT_ADD(w, unaligned, 1);
		if (rq->type == NBD_CMD_WRITE) {
			start_payload(r);
			return true;
		}
		r->data = r->buf.addr + read_prefix(w) + (rq->offset - r->io_off);
		submit_rw(r);
		return true;
	case NBD_CMD_FLUSH:
		submit_meta(r, 0, 0, 0);
		return true;
	case NBD_CMD_TRIM: {
		/* Punch only whole blocks: TRIM may leave the rest alone. */
		uint64_t t0 = round_up64(rq->offset, a);
		uint64_t t1 = round_down64(rq->offset + rq->length, a);

		if (t1 <= t0)
			reply_status(r);
		else
			submit_meta(r, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, t0, t1 - t0);
		return true;
	}
	default: /* NBD_CMD_WRITE_ZEROES */
		if (!rq->length)
			reply_status(r);
		else if (export_aligned(exp, rq->offset, rq->length) &&
			 !atomic_load(&exp->no_zero_range))
			submit_meta(r, FALLOC_FL_ZERO_RANGE, rq->offset, rq->length);
		else
			zero_sync(r);
		return true;
	}
}

/* A request header has been decoded into @r->rq. */
static void start_request(struct nbd_req *r)
{
	struct nbd_conn *c = r->conn;
	const struct nbd_request *rq = &r->rq;

	STAT_ADD(c->w, cmds[rq->type < 8 ? rq->type : 7], 1);
	if (rq->type == NBD_CMD_WRITE)
		c->calm = 0;
	else if (c->calm < CALM_BATCH)
		c->calm++;
	r->error = validate(c, rq);
	if (!r->error) {
		if (!dispatch(r)) {
			c->parked = r;
			c->w->nparked++;
		}
		return;
	}
	if (rq->type == NBD_CMD_WRITE) {
		/* Answer now; throw the payload away as it comes. */
		c->discard = rq->length - take_staged(c, NULL, rq->length);
		if (c->discard)
			c->rx = RX_DISCARD;
	}
	reply_status(r);
}

/* Decode and start every complete header in the staging buffer. */
static void conn_parse(struct nbd_conn *c)
{
	while (!c->closing && !c->parked && c->rx == RX_HEADER &&
	       c->staged - c->parsed >= NBD_REQUEST_SIZE) {
		struct nbd_request rq;
		struct nbd_req *r;

		nbd_decode_request(c->stage + c->parsed, &rq);
		if (rq.magic != NBD_REQUEST_MAGIC ||
		    (rq.type == NBD_CMD_WRITE && rq.length > NBD_MAX_DISCARD)) {
			/* Cannot find the next request: hard disconnect. */
			STAT_ADD(c->w, dropped, 1);
			conn_close(c, true);
			return;
		}
		if (rq.type == NBD_CMD_DISC) {
			STAT_ADD(c->w, cmds[NBD_CMD_DISC], 1);
			conn_close(c, false);
			return;
		}
		r = req_get(c);
		if (!r)
			break;		/* resumes when a slot frees */
		c->parsed += NBD_REQUEST_SIZE;
		r->rq = rq;
		start_request(r);
	}
	if (c->parsed) {
		memmove(c->stage, c->stage + c->parsed, c->staged - c->parsed);
		c->staged -= c->parsed;
		c->parsed = 0;
	}
}

/* Retry a parked request now that buffers may be free. */
static void conn_unpark(struct nbd_conn *c)
{
	struct nbd_req *r = c->parked;

	if (!dispatch(r))
		return;
	c->parked = NULL;
	c->w->nparked--;
	conn_parse(c);
	arm_recv(c);
}

/* ---------------------------------------------------------------- receive */

/* Post the next receive for the connection's state, if it wants one. */
static void arm_recv(struct nbd_conn *c)
{
	struct io_uring_sqe *sqe;
	void *p;
	size_t len;

	if (c->recv_armed || c->closing || c->parked)
		return;
	switch (c->rx) {
	case RX_HEADER:
		if (!c->free_reqs)
			return;
		p = c->stage + c->staged;
		len = STAGE_SIZE - c->staged;
		if (c->calm < CALM_BATCH && c->staged < NBD_REQUEST_SIZE)
			len = NBD_REQUEST_SIZE - c->staged;
		break;
	case RX_PAYLOAD:
		/*
		 * The payload's rest, and the next header behind it in the same
		 * receive: a stream of WRITEs then costs one receive each.
		 */
		c->iov[0].iov_base = c->rx_req->data + c->rx_got;
		c->iov[0].iov_len = c->rx_req->rq.length - c->rx_got;
		c->iov[1].iov_base = c->stage + c->staged;
		c->iov[1].iov_len = c->staged < NBD_REQUEST_SIZE ?
				    NBD_REQUEST_SIZE - c->staged : 0;
		c->msg.msg_iov = c->iov;
		c->msg.msg_iovlen = c->iov[1].iov_len ? 2 : 1;
		sqe = get_sqe(c->w);
		io_uring_prep_recvmsg(sqe, c->fd, &c->msg, 0);
		goto armed;
	default:
		p = c->w->discard_buf;
		len = c->discard < DISCARD_SIZE ? c->discard : DISCARD_SIZE;
		break;
	}
	if (!len)
		return;
	sqe = get_sqe(c->w);
	io_uring_prep_recv(sqe, c->fd, p, len, 0);
armed:
	io_uring_sqe_set_data(sqe, &c->recv_op);
	c->recv_armed = true;
	c->refs++;
}

static void on_recv(struct nbd_conn *c, int res)
{
	c->recv_armed = false;
	c->refs--;
	if (res == -EINTR || res == -EAGAIN || res == -ENOBUFS) {
		arm_recv(c);
		return;
	}
	if (res <= 0 || c->closing) {
		/* EOF or error: a request cut short is dropped, never half-done. */
		if (!c->closing && (res < 0 || c->rx != RX_HEADER || c->staged))
			STAT_ADD(c->w, dropped, 1);
		conn_close(c, res < 0);
		return;
	}
	switch (c->rx) {
	case RX_HEADER:
		c->staged += (uint32_t)res;
		conn_parse(c);
		break;
	case RX_PAYLOAD: {
		uint32_t want = c->rx_req->rq.length - c->rx_got;
		uint32_t got = (uint32_t)res < want ? (uint32_t)res : want;

		c->rx_got += got;
		c->staged += (uint32_t)res - got;	/* the next header's start */
		if (c->rx_got == c->rx_req->rq.length) {
			struct nbd_req *r = c->rx_req;

			c->rx = RX_HEADER;
			c->rx_req = NULL;
			payload_done(r);
			conn_parse(c);
		}
		break;
	}
	default:
		c->discard -= (uint32_t)res;
		if (!c->discard) {
			c->rx = RX_HEADER;
			conn_parse(c);
		}
		break;
	}
	arm_recv(c);
}

/* ---------------------------------------------------------------- connections */

/*
 * Stop reading requests.  Requests in flight still complete and (unless
 * @hard, or the socket is dead) are answered; then the connection goes.
 */
static void conn_close(struct nbd_conn *c, bool hard)
{
	if (hard)
		c->dead = true;
	if (!c->closing) {
		c->closing = true;
		if (c->rx_req) {	/* payload never completed */
			struct nbd_req *r = c->rx_req;

			c->rx_req = NULL;
			req_release(r);
		}
		if (c->parked) {
			struct nbd_req *r = c->parked;

			c->parked = NULL;
			c->w->nparked--;
			req_release(r);
		}
	}
	shutdown(c->fd, c->dead ? SHUT_RDWR : SHUT_RD);
}

static void conn_start(struct nbd_worker *w, int fd, bool structured)
{
	struct nbd_conn *c = calloc(1, sizeof(*c));
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int one = 1, i;

	if (!c) {
		close(fd);
		atomic_fetch_sub(&w->nconns, 1);
		return;
	}
	c->w = w;
	c->fd = fd;
	c->structured = structured;
	c->recv_op.kind = OP_RECV;
	c->sendq_tail = &c->sendq;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)) {
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->zc_send = w->srv->cfg.zerocopy && w->can_zc;
	}
	for (i = MAX_INFLIGHT - 1; i >= 0; i--) {
		struct nbd_req *r = &c->reqs[i];

		r->conn = c;
		r->disk_op.kind = OP_DISK;
		r->sync_op.kind = OP_SYNC;
		r->send_op.kind = OP_SEND;
		r->next = c->free_reqs;
		c->free_reqs = r;
	}
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	STAT_ADD(w, conns, 1);
	arm_recv(c);
}

/* ---------------------------------------------------------------- the loop */

static void arm_wake(struct nbd_worker *w)
{
	struct io_uring_sqe *sqe = get_sqe(w);

	io_uring_prep_read(sqe, w->efd, &w->efd_val, sizeof(w->efd_val), 0);
	io_uring_sqe_set_data(sqe, &w->wake_op);
}

/* Take new connections; notice a stop request. */
static void on_wake(struct nbd_worker *w)
{
	struct new_conn *q, *n;
	struct nbd_conn *c;

	pthread_mutex_lock(&w->lock);
	q = w->newq;
	w->newq = NULL;
	pthread_mutex_unlock(&w->lock);
	for (; q; q = n) {
		n = q->next;
		if (w->stopping || atomic_load(&w->srv->stopping)) {
			close(q->fd);
			atomic_fetch_sub(&w->nconns, 1);
		} else {
			conn_start(w, q->fd, q->structured);
		}
		free(q);
	}
	if (atomic_load(&w->srv->stopping) && !w->stopping) {
		w->stopping = true;
		w->drain_deadline = now_ns() + DRAIN_TIMEOUT_NS;
		for (c = w->conns; c; ) {
			struct nbd_conn *next = c->next;

			conn_close(c, false);
			conn_maybe_free(c);
			c = next;
		}
	}
	if (!w->stopping)
		arm_wake(w);
}

static void handle_cqe(struct nbd_worker *w, const struct io_uring_cqe *cqe)
{
	struct op *op = io_uring_cqe_get_data(cqe);
	struct nbd_conn *c;
	struct nbd_req *r;

	switch (op->kind) {
	case OP_WAKE:
		on_wake(w);
		return;
	case OP_RECV:
		c = container_of(op, struct nbd_conn, recv_op);
		on_recv(c, cqe->res);
		break;
	case OP_DISK:
		r = container_of(op, struct nbd_req, disk_op);
		c = r->conn;
		on_disk(r, op, cqe->res);
		break;
	case OP_SYNC:
		r = container_of(op, struct nbd_req, sync_op);
		c = r->conn;
		on_disk(r, op, cqe->res);
		break;
	default:
		r = container_of(op, struct nbd_req, send_op);
		c = r->conn;
		on_send(r, cqe);
		break;
	}
	conn_maybe_free(c);
}

/* Periodic work: parked requests, and the drain deadline at shutdown. */
static void housekeeping(struct nbd_worker *w)
{
	struct nbd_conn *c, *next;

	if (w->nparked)
		for (c = w->conns; c; c = next) {
			next = c->next;
			if (c->parked)
				conn_unpark(c);
			conn_maybe_free(c);
		}
	if (w->stopping && now_ns() > w->drain_deadline)
		for (c = w->conns; c; c = next) {
			next = c->next;
			conn_close(c, true);
			conn_maybe_free(c);
		}
}

/* Send what the pass queued, connection by connection. */
static void flush_all(struct nbd_worker *w)
{
	while (w->flushq) {
		struct nbd_conn *c = w->flushq;

		w->flushq = c->flush_next;
		c->in_flushq = false;
		flush_sends(c);
		conn_maybe_free(c);
	}
}

static void *worker_main(void *arg)
{
	struct nbd_worker *w = arg;

	/* liburing 2.3 declares io_uring_enable_rings() but does not export it. */
	if (w->disabled)
		syscall(__NR_io_uring_register, w->ring.ring_fd,
			IORING_REGISTER_ENABLE_RINGS, NULL, 0);
	arm_wake(w);
	while (!w->stopping || w->conns) {
		/* Parked requests are retried after every batch of CQEs; a
		 * free wakes the ring through efd, else a short tick. */
		bool poll_parked = w->nparked && !provider_wakes(w->srv->prov);
		struct __kernel_timespec ts = { 0, poll_parked ? PARKED_TICK_NS : TICK_NS };
		struct io_uring_cqe *cqe;
		unsigned int head, n = 0;

		io_uring_submit_and_wait_timeout(&w->ring, &cqe, 1, &ts, NULL);
		io_uring_for_each_cqe(&w->ring, head, cqe) {
			handle_cqe(w, cqe);
			n++;
		}
		io_uring_cq_advance(&w->ring, n);
		housekeeping(w);
		flush_all(w);
	}
	io_uring_submit(&w->ring);
	return NULL;
}

/* ---------------------------------------------------------------- setup */

static int ring_init(struct nbd_worker *w)
{
	struct io_uring_params p = { 0 };
	struct io_uring_probe *probe;
	int r;

	/*
	 * Single issuer: the worker thread, which enables the ring (made
	 * here, disabled, so that registration can happen first).
	 */
	p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER |
		  IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED;
	p.cq_entries = RING_ENTRIES * 4;
	r = io_uring_queue_init_params(RING_ENTRIES, &w->ring, &p);
	w->disabled = r == 0;
	if (r == -EINVAL) {	/* before Linux 6.1 */
		p.flags = IORING_SETUP_CQSIZE;
		r = io_uring_queue_init_params(RING_ENTRIES, &w->ring, &p);
	}
	if (r < 0) {
		fprintf(stderr, "genpool-nbd: io_uring_queue_init: %s\n", strerror(-r));
		return r;
	}
	probe = io_uring_get_probe_ring(&w->ring);
	w->can_zc = probe && io_uring_opcode_supported(probe, IORING_OP_SEND_ZC);
	io_uring_free_probe(probe);
	w->file = w->srv->exp.fd;
	if (io_uring_register_files(&w->ring, &w->srv->exp.fd, 1) == 0) {
		w->file = 0;
		w->file_flags = IOSQE_FIXED_FILE;
	}
	r = provider_attach(w->srv->prov, &w->ring);
	w->fixed = provider_ring_fixed(w->srv->prov, &w->ring);
	return r;
}

/**
 * worker_create - a worker with its ring (buffers registered), running.
 * Returns NULL after printing why.
 */
struct nbd_worker *worker_create(struct nbd_server *srv, unsigned int id)
{
	struct nbd_worker *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->srv = srv;
	w->id = id;
	w->wake_op.kind = OP_WAKE;
	pthread_mutex_init(&w->lock, NULL);
	w->efd = eventfd(0, EFD_CLOEXEC);
	w->discard_buf = malloc(DISCARD_SIZE);
	if (w->efd < 0 || !w->discard_buf || ring_init(w) < 0) {
		free(w->discard_buf);
		free(w);
		return NULL;
	}
	if (pthread_create(&w->thread, NULL, worker_main, w)) {
		fprintf(stderr, "genpool-nbd: cannot start worker %u\n", id);
		provider_detach(srv->prov, &w->ring);
		io_uring_queue_exit(&w->ring);
		free(w->discard_buf);
		free(w);
		return NULL;
	}
	return w;
}

static void worker_kick(struct nbd_worker *w)
{
	uint64_t one = 1;

	if (write(w->efd, &one, sizeof(one)) < 0)
		perror("genpool-nbd: eventfd");
}

/** server_add_conn - give a negotiated connection to the least loaded worker. */
void server_add_conn(struct nbd_server *srv, int fd, bool structured)
{
	struct nbd_worker *w = srv->workers[0];
	struct new_conn *q = malloc(sizeof(*q));
	unsigned int i;

	if (!q) {
		close(fd);
		return;
	}
	for (i = 1; i < srv->nworkers; i++)
		if (atomic_load(&srv->workers[i]->nconns) < atomic_load(&w->nconns))
			w = srv->workers[i];
	atomic_fetch_add(&w->nconns, 1);
	q->fd = fd;
	q->structured = structured;
	pthread_mutex_lock(&w->lock);
	q->next = w->newq;
	w->newq = q;
	pthread_mutex_unlock(&w->lock);
	worker_kick(w);
}

/** worker_stop - wake the worker to drain (srv->stopping is already set). */
void worker_stop(struct nbd_worker *w)
{
	worker_kick(w);
}

/** worker_join - wait until the worker has drained and exited. */
void worker_join(struct nbd_worker *w)
{
	pthread_join(w->thread, NULL);
}

/** worker_destroy - free a joined worker. */
void worker_destroy(struct nbd_worker *w)
{
	struct new_conn *q, *n;

	/* Connections handed over after the worker stopped. */
	for (q = w->newq; q; q = n) {
		n = q->next;
		close(q->fd);
		free(q);
	}
	provider_detach(w->srv->prov, &w->ring);
	io_uring_queue_exit(&w->ring);
	provider_unwait(w->srv->prov, w->efd);
	close(w->efd);
	pthread_mutex_destroy(&w->lock);
	free(w->discard_buf);
	free(w);
}

/** worker_add_stats - add the worker's counters to @sum. */
void worker_add_stats(const struct nbd_worker *w, struct nbd_stats *sum)
{
	const uint64_t *src = (const uint64_t *)&w->st;
	uint64_t *dst = (uint64_t *)sum;
	size_t i;

	for (i = 0; i < sizeof(*sum) / sizeof(uint64_t); i++)
		dst[i] += __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

/** worker_load - connections the worker serves. */
unsigned int worker_load(const struct nbd_worker *w)
{
	return atomic_load(&((struct nbd_worker *)w)->nconns);
}
