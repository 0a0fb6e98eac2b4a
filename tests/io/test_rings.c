// SPDX-License-Identifier: MIT
/*
 * tests/io/test_rings.c - one registration shared by two rings (cloned,
 * and registered per ring), with pinned memory read from VmPin; chunks
 * added later reach every ring; unregister and ring teardown while a
 * READ_FIXED is in flight: the I/O completes with its data (or is
 * cancelled with its ring), the pins go, no descriptor leaks;
 * SINGLE_ISSUER rings registered while disabled and detached from another
 * thread after their owner exited.
 */
#include "iotest.h"

#include <pthread.h>

#define POOL (4u << 20)
#define BS 4096u

struct fixture {
	struct mem_pool mp;
	struct io_uring a, b;
	int fd;
	char path[512];
	long pin0;
	int fds0;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct gp_mem_config cfg = anon_config();

	assert_non_null(f);
	f->pin0 = status_kib("VmPin");
	f->fds0 = count_fds();
	assert_int_equal(mem_pool_init(&f->mp, POOL, &cfg), 0);
	assert_int_equal(io_uring_queue_init(16, &f->a, 0), 0);
	assert_int_equal(io_uring_queue_init(16, &f->b, 0), 0);
	f->fd = scratch_open(f->path, sizeof(f->path), "rings");
	assert_true(f->fd >= 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	close(f->fd);
	unlink(f->path);
	io_uring_queue_exit(&f->a);
	if (f->b.ring_fd >= 0)
		io_uring_queue_exit(&f->b);
	assert_int_equal(mem_pool_fini(&f->mp), 0);
	/* Everything pinned was let go; every descriptor closed. */
	assert_int_equal(wait_vmpin(f->pin0), f->pin0);
	assert_int_equal(count_fds(), f->fds0);
	free(f);
	return 0;
}

/* A checked block through fixed buffers, written on @ring, read on @other. */
static void write_then_read(struct gp_uring_buffers *bufs, struct io_uring *ring,
			    struct io_uring *other, int fd, unsigned long seed)
{
	struct gp_iobuf probe;

	assert_int_equal(gp_iobuf_alloc(bufs, 4096, &probe), 0);
	assert_int_not_equal(probe.buf_index, GP_IOBUF_UNREGISTERED);
	gp_iobuf_free(bufs, &probe);
	assert_int_equal(roundtrip(bufs, ring, other, fd, seed), 0);
}

/* Cloned: the second ring costs no pinning; both do fixed I/O. */
static void test_two_rings_cloned(void **state)
{
	struct fixture *f = *state;
	struct gp_uring_buffers *bufs = gp_uring_register(&f->a, f->mp.pool, 0);
	struct gp_uring_info info;

	assert_non_null(bufs);
	assert_int_equal(status_kib("VmPin") - f->pin0, POOL >> 10);
	assert_int_equal(gp_uring_attach(bufs, &f->b), 0);
	assert_int_equal(status_kib("VmPin") - f->pin0, POOL >> 10);
	assert_int_equal(gp_uring_get_info(bufs, &info), 0);
	assert_int_equal(info.mode, GP_URING_CLONED);
	assert_int_equal(info.rings, 2);
	assert_int_equal(gp_uring_ring_fixed(bufs, &f->b), 1);
	write_then_read(bufs, &f->a, &f->b, f->fd, 1);
	write_then_read(bufs, &f->b, &f->a, f->fd, 2);
	/* Attaching again refreshes; the table stays usable. */
	assert_int_equal(gp_uring_attach(bufs, &f->b), 0);
	write_then_read(bufs, &f->b, &f->a, f->fd, 3);
	assert_int_equal(gp_uring_detach(bufs, &f->b), 0);
	assert_int_equal(gp_uring_detach(bufs, &f->b), -EINVAL);
	assert_int_equal(gp_uring_ring_fixed(bufs, &f->b), 0);
	write_then_read(bufs, &f->a, &f->a, f->fd, 4);
	assert_int_equal(gp_uring_unregister(bufs), 0);
}

/* Per ring: each ring pins its own copy. */
static void test_two_rings_per_ring(void **state)
{
	struct fixture *f = *state;
	struct gp_uring_buffers *bufs =
		gp_uring_register(&f->a, f->mp.pool, GP_URING_NO_CLONE);
	struct gp_uring_info info;

	assert_non_null(bufs);
	assert_int_equal(gp_uring_attach(bufs, &f->b), 0);
	assert_int_equal(status_kib("VmPin") - f->pin0, 2 * (POOL >> 10));
	assert_int_equal(gp_uring_get_info(bufs, &info), 0);
	assert_int_equal(info.mode, GP_URING_PER_RING);
	write_then_read(bufs, &f->a, &f->b, f->fd, 5);
	assert_int_equal(gp_uring_unregister(bufs), 0);
	assert_int_equal(wait_vmpin(f->pin0), f->pin0);
}

/* A chunk added later reaches both rings with one gp_uring_sync(). */
static void test_sync_reaches_every_ring(void **state)
{
	struct fixture *f = *state;
	struct gp_mem_config cfg = anon_config();
	struct gp_mem *more = gp_mem_create(1u << 20, &cfg);
	struct gp_uring_buffers *bufs;

	for (int mode = 0; mode < 2; mode++) {
		bufs = gp_uring_register(&f->a, f->mp.pool,
					 mode ? GP_URING_NO_CLONE : 0);
		assert_non_null(bufs);
		assert_int_equal(gp_uring_attach(bufs, &f->b), 0);
		if (mode == 0)
			assert_int_equal(gp_mem_add_to_pool(more, f->mp.pool), 1);
		assert_int_equal(gp_uring_sync(bufs), mode == 0 ? 1 : 0);
		/* The newest chunk is searched first: buffers from the new slot. */
		struct gp_iobuf probe;

		assert_int_equal(gp_iobuf_alloc(bufs, BS, &probe), 0);
		assert_true(probe.buf_index == 0 || probe.buf_index == 1);
		assert_true((char *)probe.addr >= (char *)gp_mem_addr(more));
		gp_iobuf_free(bufs, &probe);
		write_then_read(bufs, &f->b, &f->a, f->fd, 6 + mode);
		assert_int_equal(gp_uring_unregister(bufs), 0);
	}
	gen_pool_destroy(f->mp.pool);
	assert_int_equal(gp_mem_destroy(more), 0);
	f->mp.pool = gen_pool_create(12, NUMA_NO_NODE);
	/* The fixture's memory goes back into a fresh pool by hand. */
	assert_int_equal(gen_pool_add(f->mp.pool, (unsigned long)gp_mem_addr(f->mp.mem),
				      POOL, NUMA_NO_NODE), 0);
}

/* A READ_FIXED from an empty pipe: pending until the pipe is written. */
static void submit_pending_read(struct io_uring *ring, int fd,
				const struct gp_iobuf *buf)
{
	struct io_uring_cqe *cqe;

	gp_iobuf_prep_read(io_uring_get_sqe(ring), fd, buf, (uint64_t)-1);
	assert_int_equal(io_uring_submit(ring), 1);
	usleep(10000);
	assert_int_equal(io_uring_peek_cqe(ring, &cqe), -EAGAIN);
}

/* Unregister with a READ_FIXED in flight: it completes with its data
 * afterwards; the memory stays pinned until then, not after. */
static void test_unregister_in_flight(void **state)
{
	struct fixture *f = *state;
	struct gp_uring_buffers *bufs = gp_uring_register(&f->a, f->mp.pool, 0);
	unsigned char data[BS];
	struct gp_mem_info mi;
	struct io_uring_cqe cqe;
	struct gp_iobuf b;
	int p[2];

	assert_non_null(bufs);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(gp_iobuf_alloc(bufs, BS, &b), 0);
	memset(b.addr, 0, BS);
	submit_pending_read(&f->a, p[0], &b);
	assert_int_equal(gp_uring_unregister(bufs), 0);
	/* The provider is gone and its slot released ... */
	assert_int_equal(gp_mem_get_info(f->mp.mem, &mi), 0);
	assert_int_equal(mi.holds, 0);
	/* ... but the kernel keeps the pages of the read in flight. */
	assert_true(status_kib("VmPin") - f->pin0 == (POOL >> 10));
	fill_pattern(data, BS, 8, 0);
	assert_int_equal(write(p[1], data, BS), (ssize_t)BS);
	assert_int_equal(submit_wait(&f->a, &cqe), 0);
	assert_int_equal(cqe.res, (int)BS);
	assert_int_equal(check_pattern(b.addr, BS, 8, 0), -1);
	assert_int_equal(wait_vmpin(f->pin0), f->pin0);
	gen_pool_free(f->mp.pool, (unsigned long)b.addr, BS);
	close(p[0]);
	close(p[1]);
}

/* The application tears ring B down with a read in flight before
 * detaching it: ring A goes on unharmed, detach and unregister still
 * work and leave nothing pinned or open. */
static void test_ring_teardown_in_flight(void **state)
{
	struct fixture *f = *state;
	struct gp_uring_buffers *bufs = gp_uring_register(&f->a, f->mp.pool, 0);
	unsigned char data[BS];
	struct io_uring_cqe cqe;
	struct gp_iobuf ba, bb;
	int pa[2], pb[2];

	assert_non_null(bufs);
	assert_int_equal(gp_uring_attach(bufs, &f->b), 0);
	assert_int_equal(pipe2(pa, O_CLOEXEC), 0);
	assert_int_equal(pipe2(pb, O_CLOEXEC), 0);
	assert_int_equal(gp_iobuf_alloc(bufs, BS, &ba), 0);
	assert_int_equal(gp_iobuf_alloc(bufs, BS, &bb), 0);
	submit_pending_read(&f->a, pa[0], &ba);
	submit_pending_read(&f->b, pb[0], &bb);
	io_uring_queue_exit(&f->b);
	f->b.ring_fd = -1;
	/* Ring A: the read in flight and new fixed I/O both fine. */
	fill_pattern(data, BS, 9, 0);
	assert_int_equal(write(pa[1], data, BS), (ssize_t)BS);
	assert_int_equal(submit_wait(&f->a, &cqe), 0);
	assert_int_equal(cqe.res, (int)BS);
	assert_int_equal(check_pattern(ba.addr, BS, 9, 0), -1);
	write_then_read(bufs, &f->a, &f->a, f->fd, 10);
	/* Detach the dead ring: its kernel context goes, and with it the
	 * read it still had. */
	assert_int_equal(gp_uring_detach(bufs, &f->b), 0);
	assert_int_equal(gp_uring_unregister(bufs), 0);
	assert_int_equal(wait_vmpin(f->pin0), f->pin0);
	gen_pool_free(f->mp.pool, (unsigned long)ba.addr, BS);
	gen_pool_free(f->mp.pool, (unsigned long)bb.addr, BS);
	for (int i = 0; i < 2; i++) {
		close(pa[i]);
		close(pb[i]);
	}
}

/* A ring whose table is its own is not taken over. */
static void test_attach_busy(void **state)
{
	struct fixture *f = *state;
	struct gp_uring_buffers *bufs = gp_uring_register(&f->a, f->mp.pool, 0);
	char mine[BS] __attribute__((aligned(4096)));
	struct iovec iov = { mine, sizeof(mine) };

	assert_non_null(bufs);
	assert_int_equal(io_uring_register_buffers(&f->b, &iov, 1), 0);
	assert_int_equal(gp_uring_attach(bufs, &f->b), -EBUSY);
	assert_int_equal(gp_uring_ring_fixed(bufs, &f->b), 0);
	assert_int_equal(io_uring_unregister_buffers(&f->b), 0);
	assert_int_equal(gp_uring_unregister(bufs), 0);
}

struct owner_arg {
	struct gp_uring_buffers *bufs;
	struct io_uring *ring;
	int fd;
	int ret;
};

/* The owner of a SINGLE_ISSUER ring: enable it, do fixed I/O, exit. */
static void *ring_owner(void *p)
{
	struct owner_arg *a = p;

	/* liburing 2.3 declares io_uring_enable_rings() but does not export it. */
	if (syscall(__NR_io_uring_register, a->ring->ring_fd,
		    IORING_REGISTER_ENABLE_RINGS, NULL, 0) != 0)
		a->ret = 100;
	else if (!gp_uring_ring_fixed(a->bufs, a->ring))
		a->ret = 101;
	else
		a->ret = roundtrip(a->bufs, a->ring, a->ring, a->fd, 77);
	return NULL;
}

static int single_issuer_ring(struct io_uring *ring)
{
	struct io_uring_params p = {
		.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
			 IORING_SETUP_R_DISABLED,
	};

	return io_uring_queue_init_params(16, ring, &p);
}

/*
 * What the docs promise for IORING_SETUP_SINGLE_ISSUER rings: register
 * and attach from any thread while the ring is disabled (the thread that
 * enables it becomes its owner and does fixed I/O); once enabled, another
 * thread's attach is refused (-EEXIST); detaching from another thread
 * after the owner exited returns 0, forgets the ring, and its pins go
 * when the ring is closed; nothing keeps the memory held.
 */
static void test_single_issuer(void **state)
{
	struct fixture *f = *state;
	struct owner_arg arg = { .fd = f->fd, .ret = -1 };
	struct gp_uring_buffers *bufs;
	struct io_uring si, si2;
	struct gp_mem_info mi;
	pthread_t t;
	int ret = single_issuer_ring(&si);

	if (ret == -EINVAL)
		skip();		/* before Linux 6.1 */
	assert_int_equal(ret, 0);
	assert_int_equal(single_issuer_ring(&si2), 0);
	bufs = gp_uring_register(&si, f->mp.pool, 0);
	assert_non_null(bufs);
	assert_int_equal(gp_uring_attach(bufs, &si2), 0);
	assert_int_equal(gp_uring_ring_fixed(bufs, &si), 1);
	arg.bufs = bufs;
	arg.ring = &si;
	assert_int_equal(pthread_create(&t, NULL, ring_owner, &arg), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(arg.ret, 0);
	assert_int_equal(gp_uring_attach(bufs, &si), -EEXIST);
	assert_int_equal(gp_uring_detach(bufs, &si), 0);
	assert_int_equal(gp_uring_ring_fixed(bufs, &si), 0);
	assert_int_equal(gp_uring_detach(bufs, &si), -EINVAL);
	assert_int_equal(gp_uring_unregister(bufs), 0);
	assert_int_equal(gp_mem_get_info(f->mp.mem, &mi), 0);
	assert_int_equal(mi.holds, 0);
	io_uring_queue_exit(&si);
	io_uring_queue_exit(&si2);
}

static const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_two_rings_cloned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_rings_per_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_reaches_every_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unregister_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_teardown_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attach_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_issuer, setup, teardown),
};

IO_TEST_MAIN(tests)
