// SPDX-License-Identifier: MIT
/*
 * examples/kv/bufring.h - a provided-buffer ring for multishot receive.
 *
 * The kernel picks a buffer from the ring for each receive that has data,
 * so a connection holds no buffer while idle.  A small internal interface,
 * so the server does not care who builds it: today liburing 2.3's
 * io_uring_register_buf_ring() over memory of its own, the io layer's
 * gp_buf_ring (buffers carved from a pool) once it is in main.
 * Single-threaded: one ring per worker.
 */
#ifndef KV_BUFRING_H
#define KV_BUFRING_H

#include <liburing.h>
#include <stddef.h>

struct kv_bufring;

/**
 * kv_bufring_create - @count (a power of two) buffers of @size bytes,
 * registered with @ring as buffer group @bgid, all handed to the kernel.
 * NULL with errno (-ret of the registration) on failure.
 */
struct kv_bufring *kv_bufring_create(struct io_uring *ring, unsigned short bgid,
				     unsigned int count, size_t size);

/** kv_bufring_buf - the buffer with id @bid (from a CQE's flags). */
void *kv_bufring_buf(struct kv_bufring *br, unsigned int bid);

/** kv_bufring_recycle - give buffer @bid back (visible at the next publish). */
void kv_bufring_recycle(struct kv_bufring *br, unsigned int bid);

/** kv_bufring_publish - make every recycled buffer visible to the kernel. */
void kv_bufring_publish(struct kv_bufring *br);

/** kv_bufring_destroy - unregister from @ring and free. */
void kv_bufring_destroy(struct kv_bufring *br, struct io_uring *ring);

#endif
