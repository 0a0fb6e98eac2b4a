// SPDX-License-Identifier: MIT
/*
 * io/iobuf.c - the provider's allocation side: the per-CPU cache in front
 * of the pool and the sizes gp_iobuf_alloc() rounds up to, aligned
 * allocation, and the wake-up of eventfds whose allocation failed.
 *
 * The wake-up is a Dekker pair made asymmetric: a failing allocation
 * records its eventfd, forces a full barrier on every thread of the
 * process (membarrier), then tries once more; a free puts its memory
 * back, then reads the waiter count with a plain relaxed load.  Either the
 * retry sees the freed memory, or the free sees the waiter.  Without
 * membarrier, frees pay a full fence instead.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "io_internal.h"

/* The default cached sizes, in KiB: four steps per power of two. */
static const unsigned short default_kib[] = {
	4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64,
	80, 96, 112, 128,
};

static pthread_once_t fence_once = PTHREAD_ONCE_INIT;
static bool asym_fence;

static void fence_setup(void)
{
	asym_fence = syscall(SYS_membarrier,
			     MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
}

/* The failing side's barrier: every running thread executes one. */
static void heavy_fence(void)
{
	if (!asym_fence ||
	    syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0)
		atomic_thread_fence(memory_order_seq_cst);
}

/*
 * Each cached size gets pool / (24 x CPUs) per CPU, 64 KiB .. 2 MiB: the
 * share each of the six powers of two 4 KiB .. 128 KiB had when those
 * were the only sizes (a quarter of the pool per CPU among six).  Memory
 * parks only in the sizes in use, so more sizes do not park more of a
 * small pool unless they are all used; an exhausted pool drains every CPU.
 */
static size_t default_cpu_bytes(struct gen_pool *pool, unsigned int nsizes)
{
	long cpus = sysconf(_SC_NPROCESSORS_CONF);
	size_t share = gen_pool_size(pool) / (24 * (size_t)(cpus > 0 ? cpus : 1));

	share = share < (64u << 10) ? (64u << 10) :
		share > (2u << 20) ? (2u << 20) : share;
	return share * nsizes;
}

/* The sizes to cache, in units: @cfg's (checked) or the default ones that
 * fit the unit.  The count, or -EINVAL. */
static int class_units(const struct gp_uring_buffers *bufs,
		       const struct gp_uring_config *cfg, unsigned int *units)
{
	size_t u = bufs->unit;
	unsigned int n = 0;

	if (!cfg->class_sizes) {
		if (cfg->nr_classes)
			return -EINVAL;
		for (size_t i = 0; i < sizeof(default_kib) / sizeof(default_kib[0]); i++) {
			size_t sz = (size_t)default_kib[i] << 10;

			if (sz % u == 0 && sz / u <= GP_CACHE_MAX_UNITS)
				units[n++] = (unsigned int)(sz / u);
		}
		return (int)n;
	}
	if (cfg->nr_classes == 0 || cfg->nr_classes > GP_CACHE_MAX_CLASSES)
		return -EINVAL;
	for (; n < cfg->nr_classes; n++) {
		size_t sz = cfg->class_sizes[n];

		if (sz == 0 || sz % u || sz / u > GP_CACHE_MAX_UNITS ||
		    (n && sz <= cfg->class_sizes[n - 1]))
			return -EINVAL;
		units[n] = (unsigned int)(sz / u);
	}
	return (int)n;
}

/* Round up to the cached sizes the cache really keeps (capacity > 0). */
static void learn_round(struct gp_uring_buffers *bufs)
{
	struct gp_cache_stats st;

	if (gp_cache_get_stats(bufs->cache, &st))
		return;
	for (unsigned int i = 0; i < st.nr_classes; i++)
		if (st.classes[i].capacity)
			bufs->round[bufs->nround++] = st.classes[i].size;
}

int gp_io_alloc_setup(struct gp_uring_buffers *bufs,
		      const struct gp_uring_config *cfg)
{
	unsigned int units[GP_CACHE_MAX_CLASSES];
	struct gp_cache_config cc = { 0 };
	int order = gp_min_alloc_order(bufs->pool), n;

	if (order < 0 || order >= 31)
		return -EINVAL;
	bufs->unit = (size_t)1 << order;
	n = class_units(bufs, cfg, units);
	if (n < 0)
		return n;
	pthread_once(&fence_once, fence_setup);
	bufs->fence_on_free = !asym_fence;
	if (n) {
		cc.class_units = units;
		cc.nr_classes = (unsigned int)n;
		cc.cpu_bytes = cfg->cpu_bytes ? cfg->cpu_bytes
					      : default_cpu_bytes(bufs->pool, (unsigned int)n);
		bufs->cache = gp_cache_create(bufs->pool, &cc);
		/* Sizes of the caller's that percpu refuses are an error; with
		 * the defaults, everything simply comes from the pool. */
		if (!bufs->cache && cfg->class_sizes)
			return errno == ENOMEM ? -ENOMEM : -EINVAL;
	}
	if (bufs->cache)
		learn_round(bufs);
	pthread_mutex_init(&bufs->wait_lock, NULL);
	return 0;
}

int gp_io_alloc_teardown(struct gp_uring_buffers *bufs)
{
	int ret = bufs->cache ? gp_cache_destroy(bufs->cache) : 0;

	pthread_mutex_destroy(&bufs->wait_lock);
	free(bufs->waiters);
	return ret;
}

/*
 * What the pool holds for a @len-byte gp_iobuf: the smallest cached size
 * that holds it, if that is at most a quarter more than the pool's own
 * rounding to its unit; else @len.  The same at alloc and free.
 */
static size_t iobuf_size(const struct gp_uring_buffers *bufs, size_t len)
{
	unsigned int lo = 0, hi = bufs->nround;
	size_t r;

	if (!hi || len > bufs->round[hi - 1])
		return len;
	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;

		if (bufs->round[mid] < len)
			lo = mid + 1;
		else
			hi = mid;
	}
	r = (len + bufs->unit - 1) & ~(bufs->unit - 1);
	return bufs->round[lo] <= r + r / 4 ? bufs->round[lo] : len;
}

static void signal_fd(int efd)
{
	const uint64_t one = 1;

	/* Failure is a full counter (readable already) or the caller's
	 * closed fd: nothing to do either way. */
	if (write(efd, &one, sizeof(one)) < 0)
		return;
}

/* Write to every recorded eventfd and forget them. */
static void wake_waiters(struct gp_uring_buffers *bufs)
{
	unsigned int n;

	pthread_mutex_lock(&bufs->wait_lock);
	n = atomic_load_explicit(&bufs->nwaiters, memory_order_relaxed);
	for (unsigned int i = 0; i < n; i++)
		signal_fd(bufs->waiters[i]);
	atomic_store_explicit(&bufs->nwaiters, 0, memory_order_relaxed);
	pthread_mutex_unlock(&bufs->wait_lock);
	if (n)
		atomic_fetch_add_explicit(&bufs->wakeups, n, memory_order_relaxed);
}

/* Record @efd (once) for the next free.  If there is no room to record
 * it, wake it now: a spurious wake-up, never a lost one. */
static void waiter_add(struct gp_uring_buffers *bufs, int efd)
{
	unsigned int n;
	bool lost = false;

	pthread_mutex_lock(&bufs->wait_lock);
	n = atomic_load_explicit(&bufs->nwaiters, memory_order_relaxed);
	for (unsigned int i = 0; i < n; i++)
		if (bufs->waiters[i] == efd)
			goto out;
	if (n == bufs->wait_cap) {
		unsigned int cap = n ? 2 * n : 8;
		int *w = realloc(bufs->waiters, cap * sizeof(*w));

		if (!w) {
			lost = true;
			goto out;
		}
		bufs->waiters = w;
		bufs->wait_cap = cap;
	}
	bufs->waiters[n] = efd;
	atomic_store_explicit(&bufs->nwaiters, n + 1, memory_order_relaxed);
out:
	pthread_mutex_unlock(&bufs->wait_lock);
	if (lost)
		signal_fd(efd);
}

GP_IO_EXPORT int gp_iobuf_notify_cancel(struct gp_uring_buffers *bufs, int efd)
{
	int found = 0;
	unsigned int n;

	if (!bufs)
		return -EINVAL;
	pthread_mutex_lock(&bufs->wait_lock);
	n = atomic_load_explicit(&bufs->nwaiters, memory_order_relaxed);
	for (unsigned int i = 0; i < n && !found; i++) {
		if (bufs->waiters[i] == efd) {
			bufs->waiters[i] = bufs->waiters[n - 1];
			atomic_store_explicit(&bufs->nwaiters, n - 1,
					      memory_order_relaxed);
			found = 1;
		}
	}
	pthread_mutex_unlock(&bufs->wait_lock);
	return found;
}

/* The one place buffers come from: cached sizes through the per-CPU cache
 * (which sends the other sizes to the pool), or the pool itself. */
unsigned long gp_io_take(struct gp_uring_buffers *bufs, size_t len)
{
	return bufs->cache ? gp_cache_alloc(bufs->cache, len)
			   : gen_pool_alloc(bufs->pool, len);
}

static void put_back(struct gp_uring_buffers *bufs, unsigned long addr,
		     size_t len)
{
	if (bufs->cache)
		gp_cache_free(bufs->cache, addr, len);
	else
		gen_pool_free(bufs->pool, addr, len);
}

void gp_io_give(struct gp_uring_buffers *bufs, unsigned long addr, size_t len)
{
	put_back(bufs, addr, len);
	/* Order the memory's return before the look at the waiters (the
	 * failing side's membarrier makes a compiler barrier enough). */
	if (bufs->fence_on_free)
		atomic_thread_fence(memory_order_seq_cst);
	else
		atomic_signal_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&bufs->nwaiters, memory_order_relaxed))
		wake_waiters(bufs);
}

/* @size bytes at a multiple of @align from the pool's aligned search; the
 * cache drained and the search repeated before giving up. */
static unsigned long take_aligned(struct gp_uring_buffers *bufs, size_t size,
				  size_t align)
{
	struct genpool_data_align d = { .align = (int)align };
	unsigned long addr = gen_pool_alloc_algo(bufs->pool, size,
						 gen_pool_first_fit_align, &d);

	if (!addr && bufs->cache) {
		gp_cache_drain(bufs->cache);
		addr = gen_pool_alloc_algo(bufs->pool, size,
					   gen_pool_first_fit_align, &d);
	}
	return addr;
}

/* @size bytes at a multiple of @align (a power of two). */
static unsigned long take_sized(struct gp_uring_buffers *bufs, size_t size,
				size_t align)
{
	if (align <= bufs->unit) {
		unsigned long addr = gp_io_take(bufs, size);

		/* A chunk that starts off @align (not gp_mem memory). */
		if (!addr || !(addr & (align - 1)))
			return addr;
		put_back(bufs, addr, size);
	}
	return take_aligned(bufs, size, align);
}

static int iobuf_get(struct gp_uring_buffers *bufs, size_t len, size_t align,
		     int efd, struct gp_iobuf *out)
{
	unsigned long addr;
	size_t size;

	if (out)
		*out = (struct gp_iobuf){ .buf_index = GP_IOBUF_UNREGISTERED };
	if (!bufs || !out || len == 0 || (align & (align - 1)) ||
	    align > GP_URING_MAX_SLOT_BYTES)
		return -EINVAL;
	size = iobuf_size(bufs, len);
	addr = take_sized(bufs, size, align ? align : 1);
	if (!addr && efd >= 0) {
		waiter_add(bufs, efd);
		heavy_fence();
		addr = take_sized(bufs, size, align ? align : 1);
	}
	if (!addr) {
		atomic_fetch_add_explicit(&bufs->alloc_failures, 1,
					  memory_order_relaxed);
		return -ENOMEM;
	}
	out->addr = (void *)addr;
	out->len = len;
	out->buf_index = gp_io_lookup_slot(bufs, addr, len);
	if (out->buf_index == GP_IOBUF_UNREGISTERED)
		atomic_fetch_add_explicit(&bufs->unregistered_allocs, 1,
					  memory_order_relaxed);
	return 0;
}

GP_IO_EXPORT int gp_iobuf_alloc(struct gp_uring_buffers *bufs, size_t len,
				struct gp_iobuf *out)
{
	return iobuf_get(bufs, len, 0, -1, out);
}

GP_IO_EXPORT int gp_iobuf_alloc_align(struct gp_uring_buffers *bufs,
				      size_t len, size_t align,
				      struct gp_iobuf *out)
{
	return iobuf_get(bufs, len, align, -1, out);
}

GP_IO_EXPORT int gp_iobuf_alloc_notify(struct gp_uring_buffers *bufs,
				       size_t len, size_t align, int efd,
				       struct gp_iobuf *out)
{
	/* A bad @efd fails as a bad length does: -EINVAL, @out cleared. */
	return iobuf_get(bufs, efd < 0 ? 0 : len, align, efd, out);
}

GP_IO_EXPORT void gp_iobuf_free(struct gp_uring_buffers *bufs,
				const struct gp_iobuf *buf)
{
	if (!bufs || !buf || !buf->addr)
		return;
	gp_io_give(bufs, (unsigned long)buf->addr, iobuf_size(bufs, buf->len));
}

GP_IO_EXPORT struct gp_cache *gp_uring_cache(const struct gp_uring_buffers *bufs)
{
	return bufs ? bufs->cache : NULL;
}
