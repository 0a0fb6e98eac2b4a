// SPDX-License-Identifier: MIT
/* examples/kv/bufring.c - provided-buffer ring on liburing 2.3 (see bufring.h). */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "bufring.h"

struct kv_bufring {
	struct io_uring_buf_ring *br;
	char *bufs;
	size_t size, ring_bytes;
	unsigned int count, added;
	unsigned short bgid;
};

struct kv_bufring *kv_bufring_create(struct io_uring *ring, unsigned short bgid,
				     unsigned int count, size_t size)
{
	struct io_uring_buf_reg reg = { 0 };
	struct kv_bufring *b;
	unsigned int i;
	int ret;

	if (!count || (count & (count - 1)) || count > 32768 || !size) {
		errno = EINVAL;
		return NULL;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->count = count;
	b->size = size;
	b->bgid = bgid;
	b->ring_bytes = count * sizeof(struct io_uring_buf);
	b->br = mmap(NULL, b->ring_bytes, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	b->bufs = mmap(NULL, count * size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->br == MAP_FAILED || b->bufs == MAP_FAILED) {
		ret = -ENOMEM;
		goto fail;
	}
	io_uring_buf_ring_init(b->br);
	reg.ring_addr = (unsigned long)b->br;
	reg.ring_entries = count;
	reg.bgid = bgid;
	ret = io_uring_register_buf_ring(ring, &reg, 0);
	if (ret)
		goto fail;
	for (i = 0; i < count; i++)
		kv_bufring_recycle(b, i);
	kv_bufring_publish(b);
	return b;
fail:
	if (b->br != MAP_FAILED)
		munmap(b->br, b->ring_bytes);
	if (b->bufs != MAP_FAILED)
		munmap(b->bufs, count * size);
	free(b);
	errno = -ret;
	return NULL;
}

void *kv_bufring_buf(struct kv_bufring *b, unsigned int bid)
{
	return b->bufs + (size_t)bid * b->size;
}

void kv_bufring_recycle(struct kv_bufring *b, unsigned int bid)
{
	io_uring_buf_ring_add(b->br, kv_bufring_buf(b, bid), (unsigned int)b->size,
			      (unsigned short)bid, io_uring_buf_ring_mask(b->count),
			      (int)b->added++);
}

void kv_bufring_publish(struct kv_bufring *b)
{
	if (b->added) {
		io_uring_buf_ring_advance(b->br, (int)b->added);
		b->added = 0;
	}
}

void kv_bufring_destroy(struct kv_bufring *b, struct io_uring *ring)
{
	if (!b)
		return;
	io_uring_unregister_buf_ring(ring, b->bgid);
	munmap(b->br, b->ring_bytes);
	munmap(b->bufs, b->count * b->size);
	free(b);
}
