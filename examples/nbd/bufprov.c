// SPDX-License-Identifier: MIT
/*
 * examples/nbd/bufprov.c - where request buffers come from.
 *
 * Zero-copy mode: one genpool pool over pinned memory (hugetlb, THP or
 * anonymous), registered with every worker's ring as one fixed buffer, so
 * each allocation is {addr, len, buf_index} that READ_FIXED, WRITE_FIXED
 * and SEND_ZC use without pinning pages per I/O.  (Until the io/ layer's
 * gp_uring_register()/gp_iobuf_alloc() land, the registration is done
 * here with io_uring_register_buffers().)
 *
 * --no-zerocopy: each buffer is malloc'd (aligned for O_DIRECT) and freed,
 * as a server without a registered pool does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <genpool/genalloc.h>
#include <genpool/stats.h>

#include "nbd.h"

/* Pool size: room for two largest requests and plenty of small ones. */
#define POOL_BYTES	(4ULL * NBD_MAX_PAYLOAD)
#define HUGE_2M		(2ULL << 20)

struct nbd_provider {
	bool zerocopy;
	size_t align;
	/* zero-copy mode */
	struct gen_pool *pool;
	void *mem;
	size_t mem_size;
	const char *backing;		/* what the memory really is */
	bool registered;		/* every ring took the fixed buffer */
	atomic_uint rings;		/* rings holding the registration */
	atomic_ullong waits;		/* allocations refused for now */
};

/* Map @size bytes of the asked backing; say in @p->backing what we got. */
static void *map_backing(struct nbd_provider *p, enum nbd_backing b, size_t size)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE;
	void *m;

	if (b == BACKING_HUGETLB) {
		m = mmap(NULL, size, PROT_READ | PROT_WRITE, flags | MAP_HUGETLB, -1, 0);
		if (m == MAP_FAILED) {
			fprintf(stderr, "genpool-nbd: --backing hugetlb: %s (reserve pages: "
				"echo %zu > /proc/sys/vm/nr_hugepages)\n", strerror(errno),
				(size_t)(size / HUGE_2M));
			return NULL;
		}
		p->backing = "hugetlb";
		return m;
	}
	m = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (m == MAP_FAILED) {
		fprintf(stderr, "genpool-nbd: mmap %zu bytes: %s\n", size, strerror(errno));
		return NULL;
	}
	p->backing = "anon";
	if (b != BACKING_ANON && madvise(m, size, MADV_HUGEPAGE) == 0)
		p->backing = "thp";
	return m;
}

/* log2 of the pool unit: the buffer alignment, at least 512 bytes. */
static int unit_order(size_t align)
{
	int order = 9;

	while ((1UL << order) < align)
		order++;
	return order;
}

static int pool_init(struct nbd_provider *p, const struct nbd_config *cfg)
{
	p->mem_size = POOL_BYTES;
	p->mem = map_backing(p, cfg->backing, p->mem_size);
	if (!p->mem)
		return -1;
	if (mlock(p->mem, p->mem_size) < 0)
		fprintf(stderr, "genpool-nbd: mlock pool: %s (continuing unlocked)\n",
			strerror(errno));
	p->pool = gen_pool_create(unit_order(p->align), -1);
	if (!p->pool || gen_pool_add(p->pool, (unsigned long)p->mem, p->mem_size, -1)) {
		fprintf(stderr, "genpool-nbd: cannot create the buffer pool\n");
		return -1;
	}
	gp_set_name(p->pool, "nbd-buffers");
	p->registered = true;
	return 0;
}

/**
 * provider_create - the buffer provider for @cfg (zero-copy or malloc).
 * @align: buffer address alignment (the export's mem_align)
 * Returns the provider or NULL after printing why.
 */
struct nbd_provider *provider_create(const struct nbd_config *cfg, size_t align)
{
	struct nbd_provider *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->zerocopy = cfg->zerocopy;
	p->align = align;
	if (p->zerocopy && pool_init(p, cfg) < 0) {
		provider_destroy(p);
		return NULL;
	}
	return p;
}

/**
 * provider_attach - register the pool's memory as fixed buffer 0 of @ring.
 * A refusal (RLIMIT_MEMLOCK, old kernel) is not fatal: the server then
 * uses the pool's buffers unregistered (index -1) and says so.
 */
int provider_attach(struct nbd_provider *p, struct io_uring *ring)
{
	struct iovec iov = { p->mem, p->mem_size };
	int r;

	if (!p->zerocopy)
		return 0;
	r = io_uring_register_buffers(ring, &iov, 1);
	if (r < 0) {
		fprintf(stderr, "genpool-nbd: registering %zu MiB of buffers: %s; "
			"serving from unregistered pool memory\n", p->mem_size >> 20,
			strerror(-r));
		p->registered = false;
		return 0;
	}
	atomic_fetch_add(&p->rings, 1);
	return 0;
}

/** provider_detach - drop @ring's registration (before the ring exits). */
void provider_detach(struct nbd_provider *p, struct io_uring *ring)
{
	if (p->zerocopy && io_uring_unregister_buffers(ring) == 0)
		atomic_fetch_sub(&p->rings, 1);
}

/** provider_registered - true if buffers carry a fixed-buffer index. */
bool provider_registered(const struct nbd_provider *p)
{
	return p->zerocopy && p->registered;
}

/**
 * provider_alloc - a buffer of at least @len bytes.
 * Returns 0, or -ENOMEM when none is free now (the caller retries later).
 */
int provider_alloc(struct nbd_provider *p, size_t len, struct nbd_buf *out)
{
	size_t sz = (len + p->align - 1) / p->align * p->align;
	void *m = NULL;

	if (!sz)
		sz = p->align;
	if (p->zerocopy) {
		unsigned long a = gen_pool_alloc(p->pool, sz);

		if (!a) {
			atomic_fetch_add_explicit(&p->waits, 1, memory_order_relaxed);
			return -ENOMEM;
		}
		out->addr = (unsigned char *)a;
		out->index = p->registered ? 0 : -1;
	} else {
		if (posix_memalign(&m, p->align, sz))
			return -ENOMEM;
		out->addr = m;
		out->index = -1;
	}
	out->len = sz;
	out->cookie = 0;
	return 0;
}

/** provider_free - give back a buffer from provider_alloc(). */
void provider_free(struct nbd_provider *p, const struct nbd_buf *buf)
{
	if (p->zerocopy)
		gen_pool_free(p->pool, (unsigned long)buf->addr, buf->len);
	else
		free(buf->addr);
}

/** provider_print_stats - the pool's figures (zero-copy mode). */
void provider_print_stats(struct nbd_provider *p, FILE *out)
{
	if (!p->zerocopy) {
		fprintf(out, "  buffers: malloc (--no-zerocopy)\n");
		return;
	}
	fprintf(out, "  buffers: %s memory, %s; %llu allocations waited for room\n",
		p->backing, p->registered ? "registered as fixed buffer 0 of every ring"
					  : "unregistered",
		(unsigned long long)atomic_load(&p->waits));
	gp_stats_print(p->pool, out, 0);
}

/** provider_destroy - free the pool and its memory (rings detached first). */
void provider_destroy(struct nbd_provider *p)
{
	if (!p)
		return;
	if (p->pool)
		gen_pool_destroy(p->pool);
	if (p->mem)
		munmap(p->mem, p->mem_size);
	free(p);
}
