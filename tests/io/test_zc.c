// SPDX-License-Identifier: MIT
/*
 * tests/io/test_zc.c - SEND_ZC from pool buffers over loopback TCP: the
 * peer gets every byte, each buffer stays allocated until its
 * notification and is freed then, copied sends are reported, and sends
 * that fail (peer gone) still free their buffer exactly once.
 */
#include "iotest.h"

#include <pthread.h>

#define NSEND 64u
#define LEN (16u << 10)

struct peer {
	int fd;
	size_t want, got;
	long bad;		/* first wrong byte, or -1 */
	pthread_t thread;
};

static void *drain(void *arg)
{
	struct peer *p = arg;
	unsigned char buf[8192];

	p->bad = -1;
	while (p->got < p->want) {
		ssize_t n = recv(p->fd, buf, sizeof(buf), 0);

		if (n <= 0)
			break;
		if (p->bad < 0) {
			long at = check_pattern(buf, (size_t)n, 5, p->got);

			if (at >= 0)
				p->bad = (long)p->got + at;
		}
		p->got += (size_t)n;
	}
	return NULL;
}

struct fixture {
	struct mem_pool mp;
	struct io_uring ring;
	struct gp_uring_buffers *bufs;
	int fds[2];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct gp_mem_config cfg = anon_config();

	assert_non_null(f);
	assert_int_equal(mem_pool_init(&f->mp, 4u << 20, &cfg), 0);
	assert_int_equal(io_uring_queue_init(128, &f->ring, 0), 0);
	f->bufs = gp_uring_register(&f->ring, f->mp.pool, 0);
	assert_non_null(f->bufs);
	assert_int_equal(tcp_pair(f->fds), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	close(f->fds[0]);
	close(f->fds[1]);
	assert_int_equal(gp_uring_unregister(f->bufs), 0);
	io_uring_queue_exit(&f->ring);
	assert_int_equal(mem_pool_fini(&f->mp), 0);
	free(f);
	return 0;
}

/* Send NSEND buffers at once; free each at its notification. */
static void test_send_zc(void **state)
{
	struct fixture *f = *state;
	struct gp_iobuf b[NSEND];
	struct peer p = { .fd = f->fds[1], .want = (size_t)NSEND * LEN };
	struct gp_uring_info info;
	unsigned int done = 0, notifs = 0, copied = 0;
	size_t sent = 0, full = pool_avail(f->bufs);

	assert_int_equal(pthread_create(&p.thread, NULL, drain, &p), 0);
	for (unsigned int i = 0; i < NSEND; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&f->ring);

		assert_int_equal(gp_iobuf_alloc(f->bufs, LEN, &b[i]), 0);
		assert_int_not_equal(b[i].buf_index, GP_IOBUF_UNREGISTERED);
		fill_pattern(b[i].addr, LEN, 5, (size_t)i * LEN);
		/* One at a time in order: linked, so the stream stays ordered. */
		gp_send_zc_prep(f->bufs, sqe, f->fds[0], &b[i], MSG_WAITALL);
		sqe->flags |= i + 1 < NSEND ? IOSQE_IO_LINK : 0;
		sqe->user_data = i;
	}
	assert_int_equal(io_uring_submit(&f->ring), (int)NSEND);
	while (done < NSEND) {
		struct io_uring_cqe *cqe;
		struct gp_zc_result r;
		unsigned int i;
		int fin;

		assert_int_equal(io_uring_wait_cqe(&f->ring, &cqe), 0);
		i = (unsigned int)cqe->user_data;
		assert_true(i < NSEND);
		if (!(cqe->flags & IORING_CQE_F_NOTIF))
			/* Until the notification the buffer is still allocated. */
			assert_true(pool_avail(f->bufs) <= full - LEN * (NSEND - done));
		fin = gp_send_zc_complete(f->bufs, cqe, &b[i], &r);
		assert_int_equal(fin, r.done);
		io_uring_cqe_seen(&f->ring, cqe);
		if (!r.notif) {
			assert_int_equal(r.res, (int)LEN);
			sent += (size_t)r.res;
		} else {
			notifs++;
			copied += r.copied;
		}
		done += r.done;
	}
	pthread_join(p.thread, NULL);
	assert_int_equal(sent, (size_t)NSEND * LEN);
	assert_int_equal(p.got, (size_t)NSEND * LEN);
	assert_int_equal(p.bad, -1);
	assert_int_equal(notifs, NSEND);
	/* Every buffer came back, once. */
	assert_int_equal(pool_avail(f->bufs), full);
	assert_int_equal(gp_uring_get_info(f->bufs, &info), 0);
	assert_int_equal(info.zc_sends, NSEND);
	assert_int_equal(info.zc_copied, copied);
	assert_int_equal(info.zc_copied + info.zc_unknown <= NSEND, 1);
	/* Loopback delivers to a local socket: the kernel copies, and says so
	 * where it can report usage. */
	if (info.zc_unknown == 0)
		assert_int_equal(copied, NSEND);
	printf("zc: %u sends, %u reported copied, %llu unknown\n", NSEND, copied,
	       (unsigned long long)info.zc_unknown);
}

/* A send to a peer that is gone fails; its buffer is still freed once. */
static void test_send_zc_error(void **state)
{
	struct fixture *f = *state;
	struct gp_iobuf b;
	size_t full = pool_avail(f->bufs);
	int finished = 0, cqes = 0;

	shutdown(f->fds[0], SHUT_WR);
	assert_int_equal(gp_iobuf_alloc(f->bufs, LEN, &b), 0);
	gp_send_zc_prep(f->bufs, io_uring_get_sqe(&f->ring), f->fds[0], &b,
			MSG_NOSIGNAL);
	assert_int_equal(io_uring_submit(&f->ring), 1);
	while (!finished) {
		struct io_uring_cqe *cqe;
		struct gp_zc_result r;

		assert_int_equal(io_uring_wait_cqe(&f->ring, &cqe), 0);
		finished = gp_send_zc_complete(f->bufs, cqe, &b, &r);
		if (!r.notif)
			assert_int_equal(r.res, -EPIPE);
		io_uring_cqe_seen(&f->ring, cqe);
		cqes++;
	}
	assert_true(cqes >= 1 && cqes <= 2);
	assert_int_equal(pool_avail(f->bufs), full);
}

/* Memory no slot covers goes out without IORING_RECVSEND_FIXED_BUF. */
static void test_send_zc_unregistered(void **state)
{
	struct fixture *f = *state;
	unsigned char local[64], in[64];
	struct io_uring_sqe *sqe = io_uring_get_sqe(&f->ring);
	struct gp_iobuf u;
	int finished = 0;

	fill_pattern(local, sizeof(local), 9, 0);
	assert_int_equal(gp_uring_iobuf_of(f->bufs, local, sizeof(local), &u), 0);
	assert_int_equal(u.buf_index, GP_IOBUF_UNREGISTERED);
	gp_send_zc_prep(f->bufs, sqe, f->fds[1], &u, 0);
	assert_int_equal(sqe->ioprio & IORING_RECVSEND_FIXED_BUF, 0);
	assert_int_equal(io_uring_submit(&f->ring), 1);
	while (!finished) {
		struct io_uring_cqe *cqe;
		struct gp_zc_result r;

		assert_int_equal(io_uring_wait_cqe(&f->ring, &cqe), 0);
		finished = gp_send_zc_complete(f->bufs, cqe, NULL, &r);
		if (!r.notif)
			assert_int_equal(r.res, (int)sizeof(local));
		io_uring_cqe_seen(&f->ring, cqe);
	}
	assert_int_equal(recv(f->fds[0], in, sizeof(in), MSG_WAITALL), (ssize_t)sizeof(in));
	assert_int_equal(check_pattern(in, sizeof(in), 9, 0), -1);
}

static const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_send_zc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_zc_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_zc_unregistered, setup, teardown),
};

IO_TEST_MAIN(tests)
