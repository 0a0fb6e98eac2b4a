// SPDX-License-Identifier: MIT
/*
 * examples/nbd/bufprov.c - where request buffers come from.
 *
 * Zero-copy mode: one genpool pool over the io/ layer's pinned memory
 * (gp_mem: hugetlb, THP or anonymous), registered by gp_uring_register()
 * with the first worker's ring and gp_uring_attach()ed to the others, so
 * each allocation is a gp_iobuf {addr, len, buf_index} that READ_FIXED,
 * WRITE_FIXED and SEND_ZC use on any worker without pinning pages per I/O.
 * When the pool is exhausted, the failed allocation leaves the worker's
 * eventfd with the io layer, which signals it at the next free.
 *
 * --no-zerocopy: each buffer is malloc'd (aligned for O_DIRECT) and freed,
 * as a server without a registered pool does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>

#include <genpool/genalloc.h>
#include <genpool/io.h>
#include <genpool/percpu.h>
#include <genpool/stats.h>

#include "nbd.h"

/*
 * Pool size: room for two largest requests and plenty of small ones.
 * Smaller sizes come from the io layer's per-CPU cache, whose default
 * quarter-power steps (4, 5, 6, 7, 8, 10, ... 128 KiB) also take a READ
 * buffer, its data plus a small prefix for the reply header, at most a
 * quarter bigger.
 */
#define POOL_BYTES	(4ULL * NBD_MAX_PAYLOAD)

struct nbd_provider {
	bool zerocopy;
	size_t align;
	/* zero-copy mode */
	struct gp_mem *mem;
	struct gen_pool *pool;
	struct gp_uring_buffers *bufs;	/* NULL until the first ring */
	pthread_mutex_t lock;		/* serialises attach/detach */
	atomic_ullong waits;		/* allocations refused for now */
};

/* log2 of the pool unit: the buffer alignment, at least 512 bytes. */
static int unit_order(size_t align)
{
	int order = 9;

	while ((1UL << order) < align)
		order++;
	return order;
}

static const struct { enum nbd_backing nbd; enum gp_mem_backing gp; } backings[] = {
	{ BACKING_DEFAULT, GP_MEM_HUGETLB_2M }, { BACKING_HUGETLB, GP_MEM_HUGETLB_2M },
	{ BACKING_THP, GP_MEM_THP }, { BACKING_ANON, GP_MEM_ANON },
};

/*
 * The pool over gp_mem memory.  By default 2 MiB huge pages, falling back
 * to THP or base pages; an explicit --backing gets exactly that or fails.
 */
static int pool_init(struct nbd_provider *p, const struct nbd_config *cfg)
{
	struct gp_mem_config mc = GP_MEM_CONFIG_DEFAULT;

	mc.backing = backings[cfg->backing].gp;
	mc.flags = cfg->backing == BACKING_DEFAULT ? GP_MEM_FALLBACK : 0;
	mc.name = "genpool-nbd";
	p->mem = gp_mem_create(POOL_BYTES, &mc);
	if (!p->mem) {
		fprintf(stderr, "genpool-nbd: %zu MiB of %s buffer memory: %s%s\n",
			(size_t)(POOL_BYTES >> 20), gp_mem_backing_name(mc.backing),
			strerror(errno), mc.backing == GP_MEM_HUGETLB_2M ?
			" (reserve pages: echo 64 > /proc/sys/vm/nr_hugepages)" : "");
		return -1;
	}
	p->pool = gen_pool_create(unit_order(p->align), -1);
	/*
	 * Large chunks (here one, one fixed-buffer slot, over the whole
	 * mapping) rather than one per physically contiguous piece: an
	 * allocation cannot span two chunks, and NBD requests go up to
	 * 32 MiB.  The chunk has its phys only where it is all contiguous.
	 */
	if (!p->pool || gp_mem_add_to_pool_flags(p->mem, p->pool, GP_MEM_ADD_LARGE) < 0) {
		fprintf(stderr, "genpool-nbd: cannot create the buffer pool\n");
		return -1;
	}
	gp_set_name(p->pool, "nbd-buffers");
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
	pthread_mutex_init(&p->lock, NULL);
	if (p->zerocopy && pool_init(p, cfg) < 0) {
		provider_destroy(p);
		return NULL;
	}
	return p;
}

/**
 * provider_attach - give @ring the pool's fixed buffers (once per worker,
 * before the ring is enabled).  A refusal (RLIMIT_MEMLOCK, old kernel) is
 * not fatal: the io layer then serves unregistered buffers and the ring
 * uses the plain opcodes (provider_ring_fixed()).
 */
int provider_attach(struct nbd_provider *p, struct io_uring *ring)
{
	int r = 0;

	if (!p->zerocopy)
		return 0;
	pthread_mutex_lock(&p->lock);
	if (!p->bufs) {
		p->bufs = gp_uring_register(ring, p->pool, 0);
		if (!p->bufs)
			r = -errno;
	} else {
		r = gp_uring_attach(p->bufs, ring);
	}
	pthread_mutex_unlock(&p->lock);
	if (r)
		fprintf(stderr, "genpool-nbd: registering the buffers: %s\n", strerror(-r));
	return r;
}

/** provider_detach - drop @ring's fixed buffers (before the ring exits). */
void provider_detach(struct nbd_provider *p, struct io_uring *ring)
{
	if (!p->zerocopy || !p->bufs)
		return;
	pthread_mutex_lock(&p->lock);
	gp_uring_detach(p->bufs, ring);
	pthread_mutex_unlock(&p->lock);
}

/** provider_ring_fixed - may @ring use the fixed opcodes with our buffers? */
bool provider_ring_fixed(struct nbd_provider *p, const struct io_uring *ring)
{
	return p->zerocopy && p->bufs && gp_uring_ring_fixed(p->bufs, ring) == 1;
}

/**
 * provider_alloc - a buffer of at least @len bytes.
 * @wake_fd: the caller's eventfd, written to once buffers come back after
 *           a failure (zero-copy mode; see provider_wakes())
 * Returns 0, or -ENOMEM when none is free now (the caller retries later).
 */
int provider_alloc(struct nbd_provider *p, size_t len, int wake_fd,
		   struct nbd_buf *out)
{
	size_t sz = (len + p->align - 1) / p->align * p->align;
	struct gp_iobuf iob;
	void *m = NULL;

	if (!sz)
		sz = p->align;
	if (p->zerocopy) {
		if (gp_iobuf_alloc_notify(p->bufs, sz, 0, wake_fd, &iob)) {
			atomic_fetch_add_explicit(&p->waits, 1, memory_order_relaxed);
			return -ENOMEM;
		}
		out->addr = iob.addr;
		out->index = iob.buf_index == GP_IOBUF_UNREGISTERED ? -1 : (int)iob.buf_index;
	} else {
		if (posix_memalign(&m, p->align, sz))
			return -ENOMEM;
		out->addr = m;
		out->index = -1;
	}
	out->len = sz;
	return 0;
}

/**
 * provider_wakes - does a failed provider_alloc() have its wake_fd written
 * to when buffers come back?  (Else the caller retries on a timer.)
 */
bool provider_wakes(const struct nbd_provider *p)
{
	return p->zerocopy;
}

/** provider_unwait - forget @wake_fd (before closing it). */
void provider_unwait(struct nbd_provider *p, int wake_fd)
{
	if (p->zerocopy && p->bufs)
		gp_iobuf_notify_cancel(p->bufs, wake_fd);
}

/* The gp_iobuf for [addr, addr+len) inside @buf. */
static struct gp_iobuf iobuf_of(const struct nbd_buf *buf, const void *addr, size_t len)
{
	struct gp_iobuf iob = {
		(void *)addr, len,
		buf->index < 0 ? GP_IOBUF_UNREGISTERED : (unsigned int)buf->index,
	};

	return iob;
}

/** provider_free - give back a buffer from provider_alloc(). */
void provider_free(struct nbd_provider *p, const struct nbd_buf *buf)
{
	struct gp_iobuf iob = iobuf_of(buf, buf->addr, buf->len);

	if (p->zerocopy)
		gp_iobuf_free(p->bufs, &iob);
	else
		free(buf->addr);
}

/**
 * provider_prep_send_zc - SEND_ZC of [addr, addr+len) inside @buf, from
 * the fixed buffer where it has one, asking for a usage report where the
 * kernel gives one.
 */
void provider_prep_send_zc(struct nbd_provider *p, struct io_uring_sqe *sqe, int fd,
			   const struct nbd_buf *buf, const void *addr, size_t len,
			   int msg_flags)
{
	struct gp_iobuf iob = iobuf_of(buf, addr, len);

	gp_send_zc_prep(p->bufs, sqe, fd, &iob, msg_flags);
}

/**
 * provider_send_zc_cqe - account one CQE of a provider_prep_send_zc() send.
 * Returns 1 when the kernel is done with the buffer (the caller frees it),
 * 0 when the notification is still to come; *@notif says which CQE this
 * was, *@copied whether the kernel copied the data anyway.
 */
int provider_send_zc_cqe(struct nbd_provider *p, const struct io_uring_cqe *cqe,
			 bool *notif, bool *copied)
{
	struct gp_zc_result r;
	int done = gp_send_zc_complete(p->bufs, cqe, NULL, &r);

	*notif = r.notif;
	*copied = r.copied;
	return done;
}

/**
 * provider_drain - return every cached buffer to the pool, so that the
 * pool's figures are exact (at exit: in use must then be 0).
 */
void provider_drain(struct nbd_provider *p)
{
	struct gp_cache *cache = p->bufs ? gp_uring_cache(p->bufs) : NULL;

	if (cache)
		gp_cache_drain(cache);
}

/** provider_print_stats - the provider's and the pool's figures. */
void provider_print_stats(struct nbd_provider *p, FILE *out)
{
	struct gp_uring_info ui;
	struct gp_mem_info mi;

	if (!p->zerocopy) {
		fprintf(out, "  buffers: malloc (--no-zerocopy)\n");
		return;
	}
	gp_mem_get_info(p->mem, &mi);
	fprintf(out, "  buffers: %s memory (%zu huge bytes), %s; %llu allocations waited "
		"for room\n", gp_mem_backing_name(mi.backing), mi.huge_bytes,
		mi.locked ? "locked" : "not locked",
		(unsigned long long)atomic_load(&p->waits));
	if (p->bufs && gp_uring_get_info(p->bufs, &ui) == 0)
		fprintf(out, "  registration: %s%s%s, %u rings, %u slots, %zu bytes\n",
			gp_uring_mode_name(ui.mode), ui.reason ? " because " : "",
			ui.reason ? strerror(ui.reason) : "", ui.rings, ui.slots,
			ui.registered_bytes);
	gp_stats_print(p->pool, out, GP_STATS_NO_HOLES);
	if (p->bufs && gp_uring_cache(p->bufs))
		gp_cache_print_stats(gp_uring_cache(p->bufs), out);
}

/** provider_destroy - free the pool and its memory (rings detached first). */
void provider_destroy(struct nbd_provider *p)
{
	if (!p)
		return;
	if (p->bufs)
		gp_uring_unregister(p->bufs);
	if (p->pool)
		gen_pool_destroy(p->pool);
	if (p->mem)
		gp_mem_destroy(p->mem);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
