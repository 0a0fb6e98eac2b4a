// SPDX-License-Identifier: MIT
/*
 * tests/io/test_bufring.c - multishot receive over loopback TCP with a
 * provided-buffer ring from the pool: the stream arrives whole and in
 * order through recycling, -ENOBUFS bursts (re-armed, nothing lost),
 * buffers handed on to other work (refilled from the pool), a pool that
 * runs dry mid-stream, and incremental consumption.
 */
#include "iotest.h"

#include <pthread.h>

#define BUF 4096u

struct fixture {
	struct mem_pool mp;
	struct io_uring ring;
	struct gp_uring_buffers *bufs;
	int fds[2];			/* [0] sends, [1] receives */
};

static struct fixture *fixture_new(size_t pool_bytes)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct gp_mem_config cfg = anon_config();

	assert_non_null(f);
	assert_int_equal(mem_pool_init(&f->mp, pool_bytes, &cfg), 0);
	assert_int_equal(io_uring_queue_init(64, &f->ring, 0), 0);
	f->bufs = gp_uring_register(&f->ring, f->mp.pool, 0);
	assert_non_null(f->bufs);
	assert_int_equal(tcp_pair(f->fds), 0);
	return f;
}

static void fixture_free(struct fixture *f)
{
	close(f->fds[0]);
	close(f->fds[1]);
	assert_int_equal(gp_uring_unregister(f->bufs), 0);
	io_uring_queue_exit(&f->ring);
	assert_int_equal(gen_pool_avail(f->mp.pool), gen_pool_size(f->mp.pool));
	assert_int_equal(mem_pool_fini(&f->mp), 0);
	free(f);
}

struct sender {
	int fd;
	size_t total, piece;
	unsigned int pause_us;
	pthread_t thread;
};

static void *send_stream(void *arg)
{
	struct sender *s = arg;
	unsigned char *buf = malloc(s->piece);
	size_t off = 0;

	while (buf && off < s->total) {
		size_t n = s->total - off < s->piece ? s->total - off : s->piece;
		ssize_t w;

		fill_pattern(buf, n, 1, off);
		w = send(s->fd, buf, n, MSG_NOSIGNAL);
		if (w <= 0)
			break;
		off += (size_t)w;
		if (s->pause_us)
			usleep(s->pause_us);
	}
	free(buf);
	return NULL;
}

static void sender_start(struct sender *s, int fd, size_t total, size_t piece,
			 unsigned int pause_us)
{
	*s = (struct sender){ .fd = fd, .total = total, .piece = piece,
			      .pause_us = pause_us };
	assert_int_equal(pthread_create(&s->thread, NULL, send_stream, s), 0);
}

/* What the receive loop does with a finished buffer. */
enum policy { RECYCLE, HOLD_UNTIL_ENOBUFS, TAKE_AND_PUT_LATER };

struct rx {
	size_t got;
	unsigned int cqes, partial, held_max;
	unsigned int held[64];		/* ids held back (HOLD) */
	void *taken[256];		/* buffers kept (TAKE) */
	unsigned int nheld, ntaken;
	bool armed;			/* a receive is still armed */
};

static void arm(struct fixture *f, struct gp_buf_ring *br)
{
	gp_buf_ring_prep_recv(br, io_uring_get_sqe(&f->ring), f->fds[1], 0);
	assert_int_equal(io_uring_submit(&f->ring), 1);
}

/* Give back what the policy held: ids to the ring, buffers to the pool. */
static void release_held(struct gp_buf_ring *br, struct rx *rx)
{
	for (unsigned int i = 0; i < rx->nheld; i++)
		assert_int_equal(gp_buf_ring_recycle(br, rx->held[i]), 0);
	rx->nheld = 0;
	for (unsigned int i = 0; i < rx->ntaken; i++)
		assert_int_equal(gp_buf_ring_put(br, rx->taken[i]), 0);
	rx->ntaken = 0;
}

/* Receive @total bytes of the pattern, checking every byte in order. */
static void receive(struct fixture *f, struct gp_buf_ring *br, size_t total,
		    enum policy pol, struct rx *rx)
{
	time_t deadline = time(NULL) + 20;

	memset(rx, 0, sizeof(*rx));
	arm(f, br);
	while (rx->got < total) {
		struct io_uring_cqe *cqe;
		struct gp_recv rv;
		int res;

		assert_true(time(NULL) < deadline);
		assert_int_equal(io_uring_wait_cqe(&f->ring, &cqe), 0);
		res = gp_buf_ring_complete(br, cqe, &rv);
		rx->armed = cqe->flags & IORING_CQE_F_MORE;
		io_uring_cqe_seen(&f->ring, cqe);
		rx->cqes++;
		if (res == -ENOBUFS) {
			assert_true(rv.rearm);
			release_held(br, rx);
		} else {
			assert_true(res > 0);
			assert_true(rv.has_buf);
			assert_int_equal(check_pattern(rv.data, rv.len, 1, rx->got), -1);
			rx->got += rv.len;
			if (!rv.buf_done) {
				rx->partial++;
			} else if (pol == RECYCLE) {
				assert_int_equal(gp_buf_ring_recycle(br, rv.bid), 0);
			} else if (pol == HOLD_UNTIL_ENOBUFS) {
				rx->held[rx->nheld++] = rv.bid;
			} else {
				void *b = gp_buf_ring_take(br, rv.bid);

				assert_non_null(b);
				/* The data stays where it was received. */
				assert_int_equal(check_pattern(b, rv.len, 1,
							       rx->got - rv.len), -1);
				rx->taken[rx->ntaken++] = b;
				if (rx->ntaken == 256)
					release_held(br, rx);
			}
		}
		if (rv.rearm && rx->got < total) {
			arm(f, br);
			rx->armed = true;
		}
	}
	release_held(br, rx);
}

/* Cancel the armed receive and reap until it is gone. */
static void disarm(struct fixture *f, struct gp_buf_ring *br, struct rx *rx)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	bool ended = false;

	if (!rx->armed)
		return;
	sqe = io_uring_get_sqe(&f->ring);
	io_uring_prep_cancel_fd(sqe, f->fds[1], 0);
	sqe->user_data = 99;
	assert_int_equal(io_uring_submit(&f->ring), 1);
	for (int n = 0; n < 2 || !ended; n++) {
		assert_int_equal(io_uring_wait_cqe(&f->ring, &cqe), 0);
		if (cqe->user_data != 99) {
			struct gp_recv rv;

			gp_buf_ring_complete(br, cqe, &rv);
			ended = !(cqe->flags & IORING_CQE_F_MORE);
		}
		io_uring_cqe_seen(&f->ring, cqe);
	}
}

/* The end of a test: receive disarmed, ring and fixture gone. */
static void finish(struct fixture *f, struct gp_buf_ring *br, struct rx *rx)
{
	disarm(f, br, rx);
	assert_int_equal(gp_buf_ring_destroy(br), 0);
	fixture_free(f);
}

static struct gp_buf_ring *ring_new(struct fixture *f, unsigned int entries,
				    size_t size, unsigned int flags)
{
	struct gp_buf_ring_config cfg = { .entries = entries, .buf_size = size,
					  .bgid = 1, .flags = flags };
	struct gp_buf_ring *br = gp_buf_ring_create(&f->ring, f->bufs, &cfg);

	assert_non_null(br);
	return br;
}

/* 4 MiB through 8 buffers, recycled as they come. */
static void test_stream_recycle(void **state)
{
	struct fixture *f = fixture_new(1u << 20);
	struct gp_buf_ring *br = ring_new(f, 8, BUF, 0);
	struct gp_buf_ring_info info;
	struct sender s;
	struct rx rx;

	assert_int_equal(pool_avail(f->bufs), (1u << 20) - 8 * BUF);
	sender_start(&s, f->fds[0], 4u << 20, 60000, 0);
	receive(f, br, 4u << 20, RECYCLE, &rx);
	pthread_join(s.thread, NULL);
	assert_int_equal(rx.got, 4u << 20);
	assert_int_equal(gp_buf_ring_get_info(br, &info), 0);
	assert_int_equal(info.entries, 8);
	assert_int_equal(info.in_kernel, 8);
	assert_int_equal(info.empty, 0);
	finish(f, br, &rx);
}

/* Nothing recycled until the ring runs dry: -ENOBUFS, re-arm, go on. */
static void test_enobufs_burst(void **state)
{
	struct fixture *f = fixture_new(1u << 20);
	struct gp_buf_ring *br = ring_new(f, 4, BUF, 0);
	struct gp_buf_ring_info info;
	struct sender s;
	struct rx rx;

	sender_start(&s, f->fds[0], 256u << 10, 256u << 10, 0);
	receive(f, br, 256u << 10, HOLD_UNTIL_ENOBUFS, &rx);
	pthread_join(s.thread, NULL);
	assert_int_equal(gp_buf_ring_get_info(br, &info), 0);
	/* 64 buffers' worth through a ring of 4: it ran dry again and again. */
	assert_true(info.enobufs >= 8);
	assert_true(info.rearms >= info.enobufs);
	assert_int_equal(info.in_kernel, 4);
	finish(f, br, &rx);
}

/* Buffers handed on to other work: the ring is refilled from the pool
 * each time; a pool this small runs dry, the ring with it, and the
 * stream resumes once the taken buffers come back. */
static void test_take_pool_exhausted(void **state)
{
	struct fixture *f = fixture_new(24 * BUF);
	struct gp_buf_ring *br = ring_new(f, 8, BUF, 0);
	struct gp_buf_ring_info info;
	struct gp_uring_info ui;
	struct sender s;
	struct rx rx;

	sender_start(&s, f->fds[0], 1u << 20, 1u << 20, 0);
	receive(f, br, 1u << 20, TAKE_AND_PUT_LATER, &rx);
	pthread_join(s.thread, NULL);
	assert_int_equal(gp_buf_ring_get_info(br, &info), 0);
	assert_true(info.enobufs > 0);
	assert_int_equal(info.empty, 0);
	assert_int_equal(info.taken, 0);
	assert_int_equal(info.in_kernel, 8);
	assert_int_equal(pool_avail(f->bufs), 16 * BUF);
	assert_int_equal(gp_uring_get_info(f->bufs, &ui), 0);
	finish(f, br, &rx);
}

/* Short receives share one large buffer where the kernel consumes
 * incrementally. */
static void test_incremental(void **state)
{
	struct fixture *f = fixture_new(1u << 20);
	struct gp_buf_ring *br = ring_new(f, 4, 64u << 10, GP_BUF_RING_INC);
	struct gp_buf_ring_info info;
	struct sender s;
	struct rx rx;

	assert_int_equal(gp_buf_ring_get_info(br, &info), 0);
	if (!info.incremental) {
		gp_buf_ring_destroy(br);
		fixture_free(f);
		skip();
	}
	sender_start(&s, f->fds[0], 200u << 10, 1000, 200);
	receive(f, br, 200u << 10, RECYCLE, &rx);
	pthread_join(s.thread, NULL);
	/* Most receives were short and left the buffer to the next. */
	assert_true(rx.partial > 0);
	assert_true(rx.cqes > rx.partial);
	finish(f, br, &rx);
}

/* Handing back what is not ours is refused; bad configs too. */
static void test_misuse(void **state)
{
	struct fixture *f = fixture_new(1u << 20);
	struct gp_buf_ring *br = ring_new(f, 4, BUF, 0);
	struct gp_buf_ring_config bad = { .entries = 3, .buf_size = BUF, .bgid = 2 };
	char x;

	assert_int_equal(gp_buf_ring_recycle(br, 0), -EINVAL);	/* kernel has it */
	assert_int_equal(gp_buf_ring_recycle(br, 4), -EINVAL);
	assert_null(gp_buf_ring_take(br, 1));
	assert_int_equal(gp_buf_ring_put(br, &x), -EINVAL);
	assert_null(gp_buf_ring_create(&f->ring, f->bufs, &bad));
	assert_int_equal(errno, EINVAL);
	bad.entries = 4;
	bad.bgid = 1;
	assert_null(gp_buf_ring_create(&f->ring, f->bufs, &bad));
	assert_int_equal(errno, EEXIST);
	/* A ring the pool cannot fill is not made, and leaks nothing. */
	bad.bgid = 3;
	bad.entries = 512;
	assert_null(gp_buf_ring_create(&f->ring, f->bufs, &bad));
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(pool_avail(f->bufs), (1u << 20) - 4 * BUF);
	assert_int_equal(gp_buf_ring_destroy(br), 0);
	assert_int_equal(gp_buf_ring_destroy(NULL), 0);
	fixture_free(f);
}

static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream_recycle),
		cmocka_unit_test(test_enobufs_burst),
		cmocka_unit_test(test_take_pool_exhausted),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_misuse),
};

IO_TEST_MAIN(tests)
