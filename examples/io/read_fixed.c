// SPDX-License-Identifier: MIT
/*
 * examples/io/read_fixed.c - fixed-buffer file I/O from a genpool pool.
 *
 * usage: io-read-fixed FILE
 *
 * Creates hugepage-backed (or THP, with fallback) pinned memory, puts it in
 * a pool, registers the pool with an io_uring, writes FILE with
 * WRITE_FIXED from pool buffers, reads it back with READ_FIXED, 8 reads
 * in flight, checks every byte, then tears everything down in order.
 * Exits 0 on success, 77 when io_uring is unavailable, 1 on error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <genpool/io.h>	/* link with $(pkg-config --libs genpool) */

#define BS 4096
#define BLOCKS 64
#define DEPTH 8

static int fail(const char *what, int err)
{
	fprintf(stderr, "io-read-fixed: %s: %s\n", what, strerror(err));
	return 1;
}

/* Submit what is queued and reap @n completions, each of BS bytes. */
static int complete(struct io_uring *ring, int n)
{
	struct io_uring_cqe *cqe;
	int ret = io_uring_submit_and_wait(ring, (unsigned int)n);

	for (int i = 0; ret >= 0 && i < n; i++) {
		ret = io_uring_wait_cqe(ring, &cqe);
		if (ret == 0 && cqe->res != BS)
			ret = cqe->res < 0 ? cqe->res : -EIO;
		if (ret == 0)
			io_uring_cqe_seen(ring, cqe);
	}
	return ret < 0 ? ret : 0;
}

int main(int argc, char **argv)
{
	struct gp_mem *mem;
	struct gen_pool *pool;
	struct io_uring ring;
	struct gp_uring_buffers *bufs;
	struct gp_iobuf buf[DEPTH];
	struct gp_mem_info mi;
	int fd, ret;

	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE\n", argv[0]);
		return 2;
	}
	ret = io_uring_queue_init(DEPTH, &ring, 0);
	if (ret) {
		printf("io_uring unavailable: %s\n", strerror(-ret));
		return 77;
	}
	/* 1. Memory: 2 MiB hugetlb pages if reserved, else THP, else 4 KiB
	 *    pages; pre-faulted and locked (or unlocked, with fallback). */
	mem = gp_mem_create(4 << 20, NULL);
	if (!mem)
		return fail("gp_mem_create", errno);
	gp_mem_get_info(mem, &mi);
	/* 2. A pool of 4 KiB units over it (O_DIRECT wants aligned buffers). */
	pool = gen_pool_create(12, NUMA_NO_NODE);
	if (!pool || gp_mem_add_to_pool(mem, pool) < 0)
		return fail("pool", ENOMEM);
	/* 3. Register: every chunk becomes a fixed-buffer slot of @ring. */
	bufs = gp_uring_register(&ring, pool, 0);
	if (!bufs)
		return fail("gp_uring_register", errno);
	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0600);
	if (fd < 0)
		return fail(argv[1], errno);

	for (int i = 0; i < DEPTH; i++)
		if (gp_iobuf_alloc(bufs, BS, &buf[i]))
			return fail("gp_iobuf_alloc", ENOMEM);
	/* 4. WRITE_FIXED, DEPTH blocks at a time: block b holds byte b. */
	for (int b = 0; b < BLOCKS; b += DEPTH) {
		for (int i = 0; i < DEPTH; i++) {
			memset(buf[i].addr, b + i, BS);
			gp_iobuf_prep_write(io_uring_get_sqe(&ring), fd, &buf[i],
					    (uint64_t)(b + i) * BS);
		}
		if ((ret = complete(&ring, DEPTH)))
			return fail("write", -ret);
	}
	/* 5. READ_FIXED back into the same buffers, and check. */
	for (int b = 0; b < BLOCKS; b += DEPTH) {
		for (int i = 0; i < DEPTH; i++) {
			memset(buf[i].addr, 0xff, BS);
			gp_iobuf_prep_read(io_uring_get_sqe(&ring), fd, &buf[i],
					   (uint64_t)(b + i) * BS);
		}
		if ((ret = complete(&ring, DEPTH)))
			return fail("read", -ret);
		for (int i = 0; i < DEPTH; i++)
			for (int k = 0; k < BS; k++)
				if (((unsigned char *)buf[i].addr)[k] != (unsigned char)(b + i))
					return fail("data check", EIO);
	}
	printf("io-read-fixed: %d blocks written and read back with %s buffers "
	       "(slot %u) on %s memory\n", BLOCKS,
	       buf[0].buf_index == GP_IOBUF_UNREGISTERED ? "unregistered" : "fixed",
	       buf[0].buf_index, gp_mem_backing_name(mi.backing));

	/* 6. Teardown, in this order: buffers, provider, ring, pool, memory. */
	for (int i = 0; i < DEPTH; i++)
		gp_iobuf_free(bufs, &buf[i]);
	close(fd);
	gp_uring_unregister(bufs);
	io_uring_queue_exit(&ring);
	gen_pool_destroy(pool);
	return gp_mem_destroy(mem) ? 1 : 0;
}
