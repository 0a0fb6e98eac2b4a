/* SPDX-License-Identifier: MIT */
/*
 * io/io_internal.h - what the io layer's files share: the kernel ABI
 * newer than liburing 2.3's headers, the gp_mem registry, small helpers.
 */
#ifndef GENPOOL_IO_INTERNAL_H
#define GENPOOL_IO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "genpool/io.h"

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

/* The provider's allocation and free (uring.c): where hot sizes will
 * switch to the per-CPU cache. */
unsigned long gp_io_take(struct gp_uring_buffers *bufs, size_t len);
void gp_io_give(struct gp_uring_buffers *bufs, unsigned long addr, size_t len);

/* Does the kernel take IORING_SEND_ZC_REPORT_USAGE (uring.c)? */
bool gp_io_zc_report(const struct gp_uring_buffers *bufs);
/* Count one finished zero-copy send (uring.c). */
void gp_io_count_zc(struct gp_uring_buffers *bufs, bool reported, bool copied);

#endif /* GENPOOL_IO_INTERNAL_H */
