// SPDX-License-Identifier: MIT
/*
 * io/bufring.c - provided-buffer rings for multishot receive, their
 * buffers carved from a provider's pool and refilled from it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "io_internal.h"

enum bid_state {
	BID_KERNEL,	/* in the ring: the kernel may pick (or is filling) it */
	BID_APP,	/* completed: the application must recycle or take it */
	BID_EMPTY,	/* no buffer: the pool had none when it was refilled */
};

struct gp_buf_ring {
	struct gp_uring_buffers *bufs;
	int fd;				/* our duplicate of the ring's fd */
	struct io_uring_buf_ring *br;
	size_t br_bytes;
	unsigned int entries;
	size_t buf_size;
	unsigned short bgid;
	bool inc;
	uint16_t tail;			/* ours; published with a release store */
	unsigned long *addr;		/* per id: the buffer */
	uint32_t *used;			/* per id: bytes consumed (incremental) */
	unsigned char *state;		/* per id: enum bid_state */
	unsigned int empty, in_kernel;
	unsigned long *taken;		/* buffers handed out by take() */
	unsigned int ntaken, taken_cap;
	uint64_t enobufs, rearms;
};

/* Queue buffer @bid at the tail (not yet visible to the kernel). */
static void ring_add(struct gp_buf_ring *r, unsigned int bid)
{
	struct io_uring_buf *b = &r->br->bufs[r->tail & (r->entries - 1)];

	b->addr = r->addr[bid];
	b->len = (uint32_t)r->buf_size;
	b->bid = (uint16_t)bid;
	r->tail++;
	r->used[bid] = 0;
	r->state[bid] = BID_KERNEL;
	r->in_kernel++;
}

/* Make the queued entries visible: the kernel reads the tail with an
 * acquire load, so the entries written before it are seen whole. */
static void ring_publish(struct gp_buf_ring *r)
{
	__atomic_store_n(&r->br->tail, r->tail, __ATOMIC_RELEASE);
}

static int ring_register(struct gp_buf_ring *r, bool inc)
{
	struct gp_k_buf_reg reg = {
		.ring_addr = (uintptr_t)r->br,
		.ring_entries = r->entries,
		.bgid = r->bgid,
		.flags = inc ? GP_K_PBUF_RING_INC : 0,
	};

	return gp_io_register(r->fd, IORING_REGISTER_PBUF_RING, &reg, 1);
}

static void ring_free(struct gp_buf_ring *r)
{
	for (unsigned int i = 0; r->addr && r->state && i < r->entries; i++)
		if (r->state[i] != BID_EMPTY)
			gp_io_give(r->bufs, r->addr[i], r->buf_size);
	if (r->br)
		munmap(r->br, r->br_bytes);
	if (r->fd >= 0)
		close(r->fd);
	free(r->addr);
	free(r->used);
	free(r->state);
	free(r->taken);
	free(r);
}

static bool config_ok(const struct gp_buf_ring_config *cfg)
{
	return cfg && cfg->entries >= 1 && cfg->entries <= 32768 &&
	       !(cfg->entries & (cfg->entries - 1)) && cfg->buf_size > 0 &&
	       cfg->buf_size <= UINT32_MAX && !(cfg->flags & ~GP_BUF_RING_INC);
}

GP_IO_EXPORT struct gp_buf_ring *gp_buf_ring_create(struct io_uring *ring,
						    struct gp_uring_buffers *bufs,
						    const struct gp_buf_ring_config *cfg)
{
	long page = sysconf(_SC_PAGESIZE);
	struct gp_buf_ring *r;
	int ret;

	if (!ring || !bufs || !config_ok(cfg) || ring->ring_fd < 0) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->bufs = bufs;
	r->entries = cfg->entries;
	r->buf_size = cfg->buf_size;
	r->bgid = cfg->bgid;
	r->br_bytes = ((size_t)cfg->entries * sizeof(struct io_uring_buf) + page - 1) &
		      ~(size_t)(page - 1);
	r->fd = gp_io_ring_dup(ring);
	r->addr = calloc(cfg->entries, sizeof(*r->addr));
	r->used = calloc(cfg->entries, sizeof(*r->used));
	r->state = malloc(cfg->entries);
	r->br = mmap(NULL, r->br_bytes, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->br == MAP_FAILED)
		r->br = NULL;
	if (r->fd < 0 || !r->addr || !r->used || !r->state || !r->br) {
		ret = r->fd < 0 ? r->fd : -ENOMEM;
		goto fail;
	}
	memset(r->state, BID_EMPTY, cfg->entries);
	/* Every entry gets a buffer, or the ring is not made. */
	for (unsigned int i = 0; i < r->entries; i++) {
		r->addr[i] = gp_io_take(bufs, r->buf_size);
		if (!r->addr[i]) {
			ret = -ENOMEM;
			goto fail;
		}
		r->state[i] = BID_APP;
	}
	ret = -EINVAL;
	if (cfg->flags & GP_BUF_RING_INC) {
		ret = ring_register(r, true);
		r->inc = ret == 0;
	}
	if (ret == -EINVAL)
		ret = ring_register(r, false);
	if (ret)
		goto fail;
	for (unsigned int i = 0; i < r->entries; i++)
		ring_add(r, i);
	ring_publish(r);
	return r;
fail:
	ring_free(r);
	errno = -ret;
	return NULL;
}

GP_IO_EXPORT void gp_buf_ring_prep_recv(struct gp_buf_ring *br,
					struct io_uring_sqe *sqe, int sockfd,
					int msg_flags)
{
	io_uring_prep_recv_multishot(sqe, sockfd, NULL, 0, msg_flags);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = br->bgid;
}

GP_IO_EXPORT int gp_buf_ring_replenish(struct gp_buf_ring *br)
{
	unsigned int added = 0;

	if (!br)
		return -EINVAL;
	for (unsigned int i = 0; br->empty && i < br->entries; i++) {
		if (br->state[i] != BID_EMPTY)
			continue;
		br->addr[i] = gp_io_take(br->bufs, br->buf_size);
		if (!br->addr[i])
			break;
		br->empty--;
		ring_add(br, i);
		added++;
	}
	if (added)
		ring_publish(br);
	return (int)br->empty;
}

GP_IO_EXPORT int gp_buf_ring_complete(struct gp_buf_ring *br,
				      const struct io_uring_cqe *cqe,
				      struct gp_recv *rv)
{
	struct gp_recv out = { 0 };
	int res;

	if (!br || !cqe)
		return -EINVAL;
	res = cqe->res;
	if (cqe->flags & IORING_CQE_F_BUFFER) {
		unsigned int bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;

		if (bid >= br->entries || br->state[bid] != BID_KERNEL)
			return -EPROTO;	/* not a buffer the kernel had */
		out.has_buf = true;
		out.bid = bid;
		out.data = (char *)br->addr[bid] + br->used[bid];
		out.len = res > 0 ? (size_t)res : 0;
		out.buf_done = !(br->inc && (cqe->flags & GP_K_CQE_F_BUF_MORE));
		br->used[bid] += (uint32_t)out.len;
		if (out.buf_done) {
			br->state[bid] = BID_APP;
			br->in_kernel--;
		}
	}
	if (!(cqe->flags & IORING_CQE_F_MORE)) {
		/* Ended: re-arm unless EOF or a real error.  With -ENOBUFS
		 * nothing was read: the data waits in the socket. */
		if (res == -ENOBUFS) {
			br->enobufs++;
			gp_buf_ring_replenish(br);
		}
		out.rearm = res > 0 || res == -ENOBUFS;
		br->rearms += out.rearm;
	}
	if (rv)
		*rv = out;
	return res;
}

GP_IO_EXPORT int gp_buf_ring_recycle(struct gp_buf_ring *br, unsigned int bid)
{
	if (!br || bid >= br->entries || br->state[bid] != BID_APP)
		return -EINVAL;
	ring_add(br, bid);
	ring_publish(br);
	return 0;
}

GP_IO_EXPORT void *gp_buf_ring_take(struct gp_buf_ring *br, unsigned int bid)
{
	unsigned long buf;

	if (!br || bid >= br->entries || br->state[bid] != BID_APP) {
		errno = EINVAL;
		return NULL;
	}
	if (br->ntaken == br->taken_cap) {
		unsigned int cap = br->taken_cap ? 2 * br->taken_cap : 16;
		unsigned long *t = realloc(br->taken, cap * sizeof(*t));

		if (!t) {
			errno = ENOMEM;
			return NULL;
		}
		br->taken = t;
		br->taken_cap = cap;
	}
	buf = br->addr[bid];
	br->taken[br->ntaken++] = buf;
	br->addr[bid] = 0;
	br->state[bid] = BID_EMPTY;
	br->empty++;
	gp_buf_ring_replenish(br);
	return (void *)buf;
}

GP_IO_EXPORT int gp_buf_ring_put(struct gp_buf_ring *br, void *buf)
{
	if (!br || !buf)
		return -EINVAL;
	for (unsigned int i = 0; i < br->ntaken; i++) {
		if (br->taken[i] == (unsigned long)buf) {
			br->taken[i] = br->taken[--br->ntaken];
			gp_io_give(br->bufs, (unsigned long)buf, br->buf_size);
			gp_buf_ring_replenish(br);
			return 0;
		}
	}
	return -EINVAL;
}

/* The kernel's head via IORING_REGISTER_PBUF_STATUS (6.8+), else -1. */
static int kernel_in_ring(struct gp_buf_ring *br)
{
	struct gp_k_buf_status st = { .buf_group = br->bgid };

	if (gp_io_register(br->fd, GP_K_REGISTER_PBUF_STATUS, &st, 1) != 0)
		return -1;
	return (uint16_t)(br->tail - (uint16_t)st.head);
}

GP_IO_EXPORT int gp_buf_ring_get_info(struct gp_buf_ring *br,
				      struct gp_buf_ring_info *info)
{
	int k;

	if (!br || !info)
		return -EINVAL;
	k = kernel_in_ring(br);
	*info = (struct gp_buf_ring_info){
		.entries = br->entries,
		.buf_size = br->buf_size,
		.bgid = br->bgid,
		.incremental = br->inc,
		.in_kernel = k >= 0 ? k : (int)br->in_kernel,
		.empty = br->empty,
		.taken = br->ntaken,
		.enobufs = br->enobufs,
		.rearms = br->rearms,
	};
	return 0;
}

GP_IO_EXPORT int gp_buf_ring_destroy(struct gp_buf_ring *br)
{
	struct gp_k_buf_reg reg;
	int ret;

	if (!br)
		return 0;
	memset(&reg, 0, sizeof(reg));
	reg.bgid = br->bgid;
	ret = gp_io_register(br->fd, IORING_UNREGISTER_PBUF_RING, &reg, 1);
	ring_free(br);
	return ret;
}
