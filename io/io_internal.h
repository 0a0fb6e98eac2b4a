/* SPDX-License-Identifier: MIT */
/*
 * io/io_internal.h - what the io layer's files share: the kernel ABI
 * newer than liburing 2.3's headers, the gp_mem registry, small helpers.
 */
#ifndef GENPOOL_IO_INTERNAL_H
#define GENPOOL_IO_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "genpool/io.h"
#include "genpool/percpu.h"

#if defined(__GNUC__)
#define GP_IO_EXPORT __attribute__((visibility("default")))
#else
#define GP_IO_EXPORT
#endif

/*
 * Kernel ABI newer than liburing 2.3 (include/uapi/linux/io_uring.h of
 * Linux 6.12+).  Values are the kernel's; the structures are declared here
 * under our own names so that a newer liburing cannot clash with them.
 */
enum {
	GP_K_REGISTER_PBUF_STATUS = 26,		/* 6.8 */
	GP_K_REGISTER_CLONE_BUFFERS = 30,	/* 6.12 */
};
#define GP_K_CLONE_DST_REPLACE	(1u << 1)	/* 6.13 */
#define GP_K_PBUF_RING_INC	(1u << 1)	/* 6.12 (IOU_PBUF_RING_INC) */
#define GP_K_CQE_F_BUF_MORE	(1u << 4)	/* 6.12 */
#define GP_K_SEND_ZC_REPORT_USAGE	(1u << 3)	/* 6.2 */
#define GP_K_NOTIF_USAGE_ZC_COPIED	(1u << 31)	/* 6.2 */

/* struct io_uring_clone_buffers */
struct gp_k_clone_buffers {
	uint32_t src_fd;
	uint32_t flags;
	uint32_t src_off;
	uint32_t dst_off;
	uint32_t nr;
	uint32_t pad[3];
};

/* struct io_uring_buf_reg, with the flags field 2.3 calls "pad" */
struct gp_k_buf_reg {
	uint64_t ring_addr;
	uint32_t ring_entries;
	uint16_t bgid;
	uint16_t flags;
	uint64_t resv[3];
};

/* struct io_uring_buf_status */
struct gp_k_buf_status {
	uint32_t buf_group;
	uint32_t head;
	uint32_t resv[8];
};

struct piece;
struct piece_table;
struct ring_ref;

/*
 * A provider.  The registration side (uring.c) is under @lock; the
 * allocation side (iobuf.c) is fixed at registration but for the waiters,
 * which have @wait_lock, and the counters.
 */
struct gp_uring_buffers {
	struct gen_pool *pool;
	/* allocation side */
	struct gp_cache *cache;		/* hot sizes, or NULL: all from the pool */
	size_t unit;			/* the pool's unit */
	unsigned int nround;
	size_t round[GP_CACHE_MAX_CLASSES]; /* cached sizes, ascending */
	bool fence_on_free;		/* no asymmetric fence: a full one */
	atomic_uint nwaiters;		/* eventfds to signal at the next free */
	pthread_mutex_t wait_lock;	/* the waiters */
	int *waiters;
	unsigned int wait_cap;
	/* registration side */
	unsigned int flags;
	enum gp_uring_mode mode;
	int reason;
	bool home_ok;
	bool zc_report;
	struct io_uring home;
	pthread_mutex_t lock;		/* everything below but the counters */
	_Atomic(struct piece_table *) table;
	struct piece *all;		/* every known piece, sorted by start */
	size_t nall, cap;
	unsigned int next_slot;
	unsigned int slots;
	unsigned long gen;		/* home table generation */
	size_t registered_bytes;
	size_t charged_bytes;		/* home (cloned) or per-ring total */
	struct ring_ref *rings;
	unsigned int nrings;
	bool unpublished;		/* pieces the lookups do not see yet */
	atomic_uint_fast64_t unregistered_allocs;
	atomic_uint_fast64_t alloc_failures;
	atomic_uint_fast64_t wakeups;
	atomic_uint_fast64_t zc_sends, zc_copied, zc_unknown;
};

/* The slot covering [addr, addr + len), or GP_IOBUF_UNREGISTERED
 * (uring.c; lock-free). */
unsigned int gp_io_lookup_slot(struct gp_uring_buffers *bufs,
			       unsigned long addr, size_t len);

/* Set up the allocation side: the per-CPU cache from @cfg, the sizes
 * gp_iobuf_alloc() rounds to, the waiters (iobuf.c).  0 or -errno. */
int gp_io_alloc_setup(struct gp_uring_buffers *bufs,
		      const struct gp_uring_config *cfg);
/* Undo gp_io_alloc_setup(); -EBUSY if the cache refused objects. */
int gp_io_alloc_teardown(struct gp_uring_buffers *bufs);

/* The registry of live gp_mem objects (mem.c). */

/* The gp_mem holding [addr, addr + len) with one more hold, or NULL. */
struct gp_mem *gp_io_mem_hold(unsigned long addr, size_t len);
/* Drop a hold taken by gp_io_mem_hold(). */
void gp_io_mem_release(struct gp_mem *mem);

/* Does the calling thread have capability @cap in its effective set? */
bool gp_io_capable(int cap);

/* A close-on-exec duplicate of @ring's fd (so a ring the application
 * closes first stays valid for our unregister), or -errno. */
int gp_io_ring_dup(const struct io_uring *ring);

/* io_uring_register() with liburing 2.3's -errno convention. */
int gp_io_register(int fd, unsigned int opcode, const void *arg,
		   unsigned int nr_args);

/* The provider's allocation and free of exactly @len bytes (iobuf.c):
 * hot sizes through the per-CPU cache; a free wakes the waiters. */
unsigned long gp_io_take(struct gp_uring_buffers *bufs, size_t len);
void gp_io_give(struct gp_uring_buffers *bufs, unsigned long addr, size_t len);

/* Does the kernel take IORING_SEND_ZC_REPORT_USAGE (uring.c)? */
bool gp_io_zc_report(const struct gp_uring_buffers *bufs);
/* Count one finished zero-copy send (uring.c). */
void gp_io_count_zc(struct gp_uring_buffers *bufs, bool reported, bool copied);

#endif /* GENPOOL_IO_INTERNAL_H */
