/* SPDX-License-Identifier: MIT */
/*
 * genpool/io.h - DMA-capable pools and an io_uring registered-buffer
 * provider (the io/ layer of libgenpool; programs using it link -luring,
 * which genpool.pc names).
 *
 * Three parts:
 *
 *  - struct gp_mem: backing memory that is "DMA-capable" in the honest
 *    user-space sense: pinned (mlocked, then pinned again by io_uring when
 *    registered), resident (pre-faulted), hugepage-contiguous where asked
 *    for, aligned to its page size, with physical addresses only where the
 *    process may read /proc/self/pagemap (CAP_SYS_ADMIN).  No IOVA is
 *    promised: that needs VFIO.  gp_mem_add_to_pool() hands it to a
 *    gen_pool as chunks of at most 1 GiB.
 *
 *  - struct gp_uring_buffers: the pool's chunks registered with io_uring as
 *    fixed buffers, one tagged slot of a sparse table per chunk, so that
 *    every gp_iobuf_alloc() result is {addr, len, buf_index} ready for
 *    READ_FIXED / WRITE_FIXED / SEND_ZC with IORING_RECVSEND_FIXED_BUF.
 *    The table is registered once on a small private ring of the library
 *    and cloned into each application ring (IORING_REGISTER_CLONE_BUFFERS,
 *    Linux 6.12+): memory is pinned and charged once however many rings use
 *    it, and the slots' tag CQEs arrive on the private ring, never in the
 *    application's completion queue.  Where the kernel cannot clone, each
 *    ring registers the table itself (charged per ring against
 *    RLIMIT_MEMLOCK unless the process has CAP_IPC_LOCK); where it cannot
 *    register at all, buffers are served unregistered (buf_index
 *    GP_IOBUF_UNREGISTERED) so that a server still runs.
 *
 *  - struct gp_buf_ring: a provided-buffer ring of buffers carved from the
 *    pool for multishot receive, refilled from the pool, with -ENOBUFS and
 *    the end of a multishot receive handled by re-arming (the data waits in
 *    the socket, nothing is lost); incremental consumption where the
 *    kernel offers it.  And gp_send_zc_*(): SEND_ZC that keeps a buffer
 *    owned until its notification CQE and says when the kernel copied.
 *
 * The application's ring belongs to the application: the library never
 * submits on it and never reaps its CQEs.  It does own the ring's
 * fixed-buffer table once the ring is registered or attached.
 *
 * Teardown order: gp_uring_unregister() every provider over a pool (or
 * gp_buf_ring_destroy() its buffer rings first), then destroy the pool,
 * then gp_mem_destroy().  gp_mem_destroy() refuses (-EBUSY) while a
 * registration still holds the memory.
 *
 * Errors: pointer-returning functions return NULL and set errno; int
 * functions return 0 (or a count) or a negative errno, and print a line on
 * stderr naming the cause when it is the environment (memlock limit,
 * hugepages, io_uring disabled) rather than a bad argument.
 */
#ifndef GENPOOL_IO_H
#define GENPOOL_IO_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <liburing.h>

#include "genpool/genalloc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------ backing memory */

/**
 * enum gp_mem_backing - what a gp_mem's pages are.
 * @GP_MEM_ANON:       private anonymous memory, base pages
 * @GP_MEM_MEMFD:      a memfd (shmem), shareable through gp_mem_fd()
 * @GP_MEM_THP:        anonymous memory advised MADV_HUGEPAGE (transparent
 *                     huge pages where the kernel can give them)
 * @GP_MEM_HUGETLB_2M: hugetlb pages of 2 MiB (reserved pages needed)
 * @GP_MEM_HUGETLB_1G: hugetlb pages of 1 GiB (reserved pages needed)
 *
 * From strongest to weakest: HUGETLB_1G, HUGETLB_2M, THP, ANON.  MEMFD is
 * the weakest shareable backing (see GP_MEM_SHAREABLE).
 */
enum gp_mem_backing {
	GP_MEM_ANON,
	GP_MEM_MEMFD,
	GP_MEM_THP,
	GP_MEM_HUGETLB_2M,
	GP_MEM_HUGETLB_1G,
};

/** GP_MEM_FALLBACK - a weaker backing, or unlocked memory, may stand in. */
#define GP_MEM_FALLBACK		(1u << 0)
/**
 * GP_MEM_SHAREABLE - back the memory with a memfd (hugetlb memfd for the
 * hugetlb backings) that another process can map through gp_mem_fd().
 */
#define GP_MEM_SHAREABLE	(1u << 1)
/** GP_MEM_NO_MLOCK - do not mlock (registration still pins the pages). */
#define GP_MEM_NO_MLOCK		(1u << 2)
/**
 * GP_MEM_TOUCH_PREFAULT - pre-fault by writing every page under a SIGBUS
 * guard instead of MADV_POPULATE_WRITE (what kernels before 5.14 get).
 */
#define GP_MEM_TOUCH_PREFAULT	(1u << 3)

/**
 * struct gp_mem_config - how gp_mem_create() backs the memory.
 * @backing: the backing wanted
 * @flags:   GP_MEM_* flags
 * @nid:     NUMA node to bind the pages to (mbind MPOL_BIND), or
 *           NUMA_NO_NODE
 * @name:    name of the memfd (shown in /proc/PID/maps), or NULL
 *
 * A NULL config means GP_MEM_CONFIG_DEFAULT: 2 MiB hugetlb pages with
 * fallback, no NUMA binding.
 */
struct gp_mem_config {
	enum gp_mem_backing backing;
	unsigned int flags;
	int nid;
	const char *name;
};

/** GP_MEM_CONFIG_DEFAULT - the config a NULL @cfg stands for. */
#define GP_MEM_CONFIG_DEFAULT \
	((struct gp_mem_config){ .backing = GP_MEM_HUGETLB_2M, \
				 .flags = GP_MEM_FALLBACK, \
				 .nid = NUMA_NO_NODE, .name = NULL })

/**
 * struct gp_mem_info - what a gp_mem got.
 * @backing:    the backing it has (may be weaker than asked with fallback)
 * @page_size:  bytes per page of that backing (4 KiB for THP: huge pages
 *              are a best effort there; see @huge_bytes)
 * @size:       bytes mapped (the request rounded up to @page_size)
 * @huge_bytes: bytes backed by huge pages when last measured (hugetlb:
 *              all; THP: from /proc/self/smaps at creation; else 0)
 * @locked:     the memory is mlocked
 * @phys_known: /proc/self/pagemap gave physical frame numbers
 * @nid:        the NUMA node it is bound to, or NUMA_NO_NODE
 * @fd:         the memfd, or -1
 * @holds:      registered slots over this memory not yet released by the
 *              kernel (their tag CQE not yet seen)
 * @fallback_errno: why a weaker backing or unlocked memory stands in
 *              (positive errno of the refused attempt), or 0
 */
struct gp_mem_info {
	enum gp_mem_backing backing;
	size_t page_size;
	size_t size;
	size_t huge_bytes;
	bool locked;
	bool phys_known;
	int nid;
	int fd;
	unsigned int holds;
	int fallback_errno;
};

struct gp_mem;

/**
 * gp_mem_create - map, pre-fault, bind and lock backing memory.
 * @size: bytes wanted (> 0); rounded up to the backing's page size
 * @cfg:  how to back it, or NULL for GP_MEM_CONFIG_DEFAULT
 *
 * Every page is faulted in before this returns (MADV_POPULATE_WRITE, or
 * touching under a SIGBUS guard), so a hugetlb shortfall is an error here
 * (ENOMEM) and never a SIGBUS later.  With GP_MEM_FALLBACK a refused
 * backing gives way to the next weaker one (1G, 2M, THP, then ANON, or
 * MEMFD when shareable) and a refused mlock leaves the memory unlocked;
 * gp_mem_get_info() says what was obtained and why.  Returns the memory,
 * or NULL with errno: EINVAL (size 0, bad backing, flags or node), ENOMEM
 * (no such memory: hugepages not reserved, memlock limit without
 * GP_MEM_FALLBACK), EPERM.  Context: thread-safe, may block.
 */
struct gp_mem *gp_mem_create(size_t size, const struct gp_mem_config *cfg);

/**
 * gp_mem_addr - where the memory starts.
 * @mem: the memory
 *
 * Return: its first byte, or NULL for a NULL @mem.
 *
 * Context: thread-safe.
 */
void *gp_mem_addr(const struct gp_mem *mem);

/**
 * gp_mem_size - how much memory there is.
 * @mem: the memory
 *
 * Return: the bytes mapped (the request rounded up to the page size), or
 * 0 for a NULL @mem.
 *
 * Context: thread-safe.
 */
size_t gp_mem_size(const struct gp_mem *mem);

/**
 * gp_mem_fd - the memfd behind the memory, to share it.
 * @mem: the memory
 *
 * Another process maps the same pages with mmap(MAP_SHARED) of this fd
 * (passed over a unix socket, or inherited).  The fd stays the memory's:
 * do not close it.
 *
 * Return: the fd, or -1 (not shareable, or a NULL @mem).
 *
 * Context: thread-safe.
 */
int gp_mem_fd(const struct gp_mem *mem);

/**
 * gp_mem_get_info - what the memory got.
 * @mem:  the memory
 * @info: filled with its backing, locking, phys and holds
 *
 * Return: 0, or -EINVAL for a NULL argument.
 *
 * Context: thread-safe; a snapshot.
 */
int gp_mem_get_info(const struct gp_mem *mem, struct gp_mem_info *info);

/**
 * gp_mem_backing_name - a backing's name, for messages.
 * @backing: the backing
 *
 * Return: "anon", "memfd", "thp", "hugetlb-2m", "hugetlb-1g" or "unknown".
 *
 * Context: any.
 */
const char *gp_mem_backing_name(enum gp_mem_backing backing);

/**
 * gp_mem_add_to_pool - add the memory to @pool as chunks.
 * @mem:  the memory (added to at most one pool, once)
 * @pool: the pool; its unit must divide the backing page size
 *
 * gp_mem_add_to_pool_flags() with no flags: chunks for DMA users.
 * Chunks are at most 1 GiB (the kernel's limit for one fixed buffer) and
 * carry the physical address of their first byte when pagemap shows frame
 * numbers: then each physically contiguous run of huge pages (or of at
 * least 2 MiB of base pages) is its own chunk, so gen_pool_dma_alloc()
 * and gen_pool_virt_to_phys() return real physical addresses.  Pieces that
 * are not contiguous, and all chunks when pagemap hides frames, carry
 * GP_NO_PHYS.  As no allocation spans two chunks, with visible frames the
 * largest allocation may be as small as one huge page (2 MiB): servers
 * that need large buffers more than phys use GP_MEM_ADD_LARGE.  The
 * chunks' owner cookie is @mem.  Returns the number of chunks added
 * (>= 1), or -EINVAL, -EBUSY (already added), -ENOMEM.
 * Context: thread-safe, may block.
 */
int gp_mem_add_to_pool(struct gp_mem *mem, struct gen_pool *pool);

/**
 * GP_MEM_ADD_LARGE - gp_mem_add_to_pool_flags(): add the memory as
 * virtually contiguous chunks of 1 GiB (the last one shorter), whatever
 * the physical layout, so that one allocation can be as large as 1 GiB.
 * A chunk carries the physical address of its first byte only when the
 * whole chunk is physically contiguous (a 1 GiB hugetlb page, or pages
 * the kernel happened to place in order) and pagemap shows frames; other
 * chunks carry GP_NO_PHYS (gen_pool_virt_to_phys() and the @dma of
 * gen_pool_dma_alloc() then give GP_NO_PHYS).  Each chunk is one
 * fixed-buffer slot when registered.
 */
#define GP_MEM_ADD_LARGE	(1u << 0)

/**
 * gp_mem_add_to_pool_flags - add the memory to a pool as chunks of a kind.
 * @mem:   the memory (added to at most one pool, once)
 * @pool:  the pool; its unit must divide the backing page size
 * @flags: 0 (one chunk per physically contiguous piece, as
 *         gp_mem_add_to_pool()) or GP_MEM_ADD_LARGE
 *
 * Returns the number of chunks added (>= 1), or -EINVAL (also for an
 * unknown flag), -EBUSY (already added), -ENOMEM.
 * Context: thread-safe, may block.
 */
int gp_mem_add_to_pool_flags(struct gp_mem *mem, struct gen_pool *pool,
			     unsigned int flags);

/**
 * gp_mem_destroy - unmap the memory.
 * @mem: the memory, or NULL (no-op)
 *
 * Refuses with -EBUSY (and a message) while a registration still holds
 * the memory (gp_uring_unregister() first).  The pool @mem was added to
 * must be destroyed before: the library cannot see it.  Returns 0 or
 * -EBUSY.  Context: thread-safe, may block.
 */
int gp_mem_destroy(struct gp_mem *mem);

/* -------------------------------------------- registered-buffer provider */

/** GP_IOBUF_UNREGISTERED - the buf_index of a buffer no slot covers. */
#define GP_IOBUF_UNREGISTERED UINT_MAX
/** GP_URING_MAX_SLOTS - fixed-buffer slots per provider (kernel: 16384). */
#define GP_URING_MAX_SLOTS 4096
/** GP_URING_MAX_SLOT_BYTES - the largest fixed buffer the kernel takes. */
#define GP_URING_MAX_SLOT_BYTES ((size_t)1 << 30)

/**
 * GP_URING_REQUIRE_FIXED - gp_uring_register() fails instead of serving
 * unregistered buffers when the kernel refuses the registration.
 */
#define GP_URING_REQUIRE_FIXED	(1u << 0)
/**
 * GP_URING_NO_CLONE - register the table on each ring separately even
 * where the kernel could clone it (what kernels before 6.12 get; every
 * ring is then charged against RLIMIT_MEMLOCK).
 */
#define GP_URING_NO_CLONE	(1u << 1)

/**
 * enum gp_uring_mode - how a provider's buffers reach the kernel.
 * @GP_URING_CLONED:       one registration on the library's private ring,
 *                         cloned into every attached ring
 * @GP_URING_PER_RING:     each attached ring registered the table itself
 * @GP_URING_UNREGISTERED: no registration (refused); buf_index is always
 *                         GP_IOBUF_UNREGISTERED
 */
enum gp_uring_mode {
	GP_URING_CLONED,
	GP_URING_PER_RING,
	GP_URING_UNREGISTERED,
};

/**
 * struct gp_iobuf - one I/O buffer from a provider.
 * @addr:      first byte
 * @len:       bytes, as asked for (the pool may hold a little more: see
 *             struct gp_uring_config; gp_iobuf_free() knows)
 * @buf_index: the fixed-buffer slot covering [@addr, @addr + @len), or
 *             GP_IOBUF_UNREGISTERED (use the plain, non-fixed opcodes)
 *
 * A sub-range of a buffer has the same @buf_index: the kernel finds the
 * offset from the address.
 */
struct gp_iobuf {
	void *addr;
	size_t len;
	unsigned int buf_index;
};

/**
 * struct gp_uring_info - a provider's state and counters.
 * @mode:            enum gp_uring_mode
 * @reason:          why the mode is weaker than asked (positive errno of
 *                   the refused step), or 0
 * @rings:           application rings attached
 * @slots:           slots registered
 * @unregistered_chunks: pool chunks (or 1 GiB pieces) without a slot
 *                   (table full, memory the kernel would not pin, or
 *                   added after the last gp_uring_sync())
 * @registered_bytes: bytes covered by slots
 * @charged_bytes:   bytes this provider has charged against
 *                   RLIMIT_MEMLOCK (0 with CAP_IPC_LOCK)
 * @unregistered_allocs: gp_iobuf_alloc() results without a slot
 * @alloc_failures:  gp_iobuf_alloc() failures
 * @wakeups:         eventfds signalled because buffers came back after a
 *                   gp_iobuf_alloc_notify() failed
 * @zc_sends:        SEND_ZC completions seen by gp_send_zc_complete()
 * @zc_copied:       of which the kernel reported as copied
 * @zc_unknown:      of which the kernel could not say (no usage report)
 */
struct gp_uring_info {
	enum gp_uring_mode mode;
	int reason;
	unsigned int rings;
	unsigned int slots;
	unsigned int unregistered_chunks;
	size_t registered_bytes;
	size_t charged_bytes;
	uint64_t unregistered_allocs;
	uint64_t alloc_failures;
	uint64_t wakeups;
	uint64_t zc_sends;
	uint64_t zc_copied;
	uint64_t zc_unknown;
};

struct gp_uring_buffers;
struct gp_cache;

/**
 * struct gp_uring_config - how gp_uring_register_config() sets a provider
 * up (all zero: what gp_uring_register() with flags 0 does).
 * @flags:       GP_URING_* flags
 * @class_sizes: the buffer sizes, in bytes, the per-CPU cache in front of
 *               the pool serves: ascending, each a multiple of the pool's
 *               unit and at most GP_CACHE_MAX_UNITS units; NULL for the
 *               default, the quarter-power steps from 4 KiB to 128 KiB
 *               (4, 5, 6, 7, 8, 10, 12, 14, 16, 20, ... 112, 128 KiB) that
 *               are multiples of the unit
 * @nr_classes:  entries of @class_sizes, 1 .. GP_CACHE_MAX_CLASSES (0 with
 *               a NULL @class_sizes)
 * @cpu_bytes:   the cache's byte cap per CPU, shared equally by the
 *               sizes (a size whose share holds fewer than two buffers is
 *               not cached); 0: each size's share is the pool size
 *               / (24 x CPUs), clamped to 64 KiB .. 2 MiB (what each of
 *               six powers of two had with a quarter of the pool per CPU),
 *               times the number of sizes
 *
 * gp_iobuf_alloc() rounds a request up to the smallest cached size when
 * that costs at most a quarter more than the pool's own rounding to its
 * unit (with the default sizes: every request from 4 KiB to 128 KiB), so
 * that data plus a small header still comes from the cache.
 */
struct gp_uring_config {
	unsigned int flags;
	const size_t *class_sizes;
	unsigned int nr_classes;
	size_t cpu_bytes;
};

/**
 * gp_uring_register - register a pool's memory as fixed buffers of @ring.
 * @ring:  the application's ring; its fixed-buffer table must be empty and
 *         belongs to the provider from now on
 * @pool:  the pool whose chunks become slots
 * @flags: GP_URING_* flags
 *
 * Every chunk of @pool gets one tagged slot (chunks over 1 GiB get one per
 * GiB) of a sparse table of GP_URING_MAX_SLOTS.  Chunks added later get
 * their slots from gp_uring_sync(), never from the allocation path.  If the
 * kernel refuses (memlock limit, old kernel, memory it cannot pin) the
 * provider serves unregistered buffers and says why on stderr and in
 * gp_uring_get_info(), unless GP_URING_REQUIRE_FIXED.  The provider keeps
 * its own reference to each attached ring (a duplicate of the ring fd), so
 * an application that tears a ring down first leaves nothing dangling.
 * The provider adds an "io_uring" section to gp_stats_print() of @pool.
 * gp_uring_register_config() with only @flags set.  Returns the provider,
 * or NULL with errno: EINVAL, EBUSY (the ring has a buffer table already),
 * ENOMEM, or with GP_URING_REQUIRE_FIXED the kernel's reason.  Context: thread-safe, may block.  An
 * IORING_SETUP_SINGLE_ISSUER ring may be registered from any thread while
 * it is still disabled (IORING_SETUP_R_DISABLED: the thread that enables
 * it becomes its owner); once enabled, only from its owner (the kernel
 * refuses other threads: EEXIST).
 */
struct gp_uring_buffers *gp_uring_register(struct io_uring *ring,
					   struct gen_pool *pool,
					   unsigned int flags);

/**
 * gp_uring_register_config - gp_uring_register() with the per-CPU cache's
 * sizes and byte cap chosen.
 * @ring: as gp_uring_register()
 * @pool: as gp_uring_register()
 * @cfg:  the configuration, or NULL for the defaults
 *
 * Returns the provider, or NULL with errno: EINVAL (also for sizes that
 * break the rules of struct gp_uring_config, or a cache percpu refuses),
 * EBUSY, ENOMEM, or with GP_URING_REQUIRE_FIXED the kernel's reason.
 * Context: as gp_uring_register().
 */
struct gp_uring_buffers *
gp_uring_register_config(struct io_uring *ring, struct gen_pool *pool,
			 const struct gp_uring_config *cfg);

/**
 * gp_uring_attach - give another ring the same fixed buffers.
 * @bufs:       the provider
 * @other_ring: a ring with an empty fixed-buffer table, or one already
 *              attached (its table is then refreshed)
 *
 * Clones the table (no new pinning, no memlock charge); in per-ring mode
 * registers it again, first checking the RLIMIT_MEMLOCK budget.  In
 * unregistered mode it only records the ring.  Returns 0, or -EINVAL,
 * -EBUSY (the ring has buffers of its own), -ENOMEM (memlock budget or
 * kernel memory, with a message saying how much was needed), -EEXIST
 * (an enabled SINGLE_ISSUER ring, called from a thread other than its
 * owner; a disabled one may be attached from any thread).  On failure the ring
 * is not attached and must not use fixed opcodes with this provider's
 * buffers.  Context: thread-safe, may block.
 */
int gp_uring_attach(struct gp_uring_buffers *bufs, struct io_uring *other_ring);

/**
 * gp_uring_detach - remove a ring's fixed buffers and forget the ring.
 * @bufs: the provider
 * @ring: an attached ring (the one given to gp_uring_register() too)
 *
 * I/O in flight on @ring keeps the pages it uses pinned in the kernel
 * until it completes.  Detaching an enabled SINGLE_ISSUER ring from
 * another thread, for instance after the ring's owner exited, works too:
 * the kernel refuses that thread the unregister (EEXIST), so the ring
 * keeps its table, and with it the pages pinned, until the application
 * closes it (io_uring_queue_exit()); the provider forgets the ring all
 * the same, and neither gp_uring_unregister() nor gp_mem_destroy() waits
 * for it.  Returns 0 or -EINVAL (not attached).
 * Context: thread-safe, may block.
 */
int gp_uring_detach(struct gp_uring_buffers *bufs, struct io_uring *ring);

/**
 * gp_uring_sync - give slots to chunks added to the pool since the last
 * registration or sync, and refresh every attached ring's table.
 * @bufs: the provider
 *
 * Returns the number of slots added (>= 0), or a negative errno (the
 * chunks stay unregistered and their buffers are served with
 * GP_IOBUF_UNREGISTERED).  Context: thread-safe, may block; allocation
 * and I/O on other threads go on meanwhile.  An attached SINGLE_ISSUER
 * ring must be refreshed with gp_uring_attach() from its own thread.
 */
int gp_uring_sync(struct gp_uring_buffers *bufs);

/**
 * gp_uring_unregister - unregister from every ring and free the provider.
 * @bufs: the provider, or NULL (no-op)
 *
 * Removes the table from every attached ring (a SINGLE_ISSUER ring
 * unregistered from a thread other than its owner keeps it until it is
 * closed: see gp_uring_detach()), then from the private ring, whose tag
 * CQEs release the memory (gp_mem_destroy() may then proceed).
 * I/O still in flight completes normally: the kernel keeps its pages
 * pinned until then; the buffers involved must, as always, be freed only
 * after their completion.  Returns 0, or the first error met (the
 * provider is freed anyway).  Context: thread-safe with respect to other
 * providers; no other call on @bufs may run concurrently or follow.
 */
int gp_uring_unregister(struct gp_uring_buffers *bufs);

/**
 * gp_uring_pool - the pool behind a provider.
 * @bufs: the provider
 *
 * Return: the pool given to gp_uring_register(), or NULL for NULL @bufs.
 *
 * Context: thread-safe.
 */
struct gen_pool *gp_uring_pool(const struct gp_uring_buffers *bufs);

/**
 * gp_uring_cache - the per-CPU cache in front of a provider's pool.
 * @bufs: the provider
 *
 * gp_uring_register() puts a per-CPU cache (genpool/percpu.h) of the
 * sizes of struct gp_uring_config (by default the quarter-power steps
 * 4 KiB .. 128 KiB) in front of the pool, which gp_iobuf_alloc(),
 * gp_iobuf_free() and buffer rings go through.  Use it
 * for gp_cache_drain() (gen_pool_avail() of the pool is exact afterwards)
 * or gp_cache_get_stats(); do not destroy it (gp_uring_unregister() does).
 *
 * Return: the cache, or NULL (no such size fits the pool's unit: every
 * buffer then comes from the pool itself, or a NULL @bufs).
 *
 * Context: thread-safe.
 */
struct gp_cache *gp_uring_cache(const struct gp_uring_buffers *bufs);

/**
 * gp_uring_get_info - a provider's state and counters.
 * @bufs: the provider
 * @info: filled with its mode, slots, rings, charges and counters
 *
 * Return: 0, or -EINVAL for a NULL argument.
 *
 * Context: thread-safe; a snapshot.
 */
int gp_uring_get_info(struct gp_uring_buffers *bufs, struct gp_uring_info *info);

/**
 * gp_uring_mode_name - a mode's name, for messages.
 * @mode: the mode
 *
 * Return: "cloned", "per-ring", "unregistered" or "unknown".
 *
 * Context: any.
 */
const char *gp_uring_mode_name(enum gp_uring_mode mode);

/**
 * gp_uring_ring_fixed - may a ring use fixed opcodes with these buffers?
 * @bufs: the provider
 * @ring: the ring
 *
 * Return: 1 if @ring is attached and the provider is registered, else 0.
 *
 * Context: thread-safe; takes the provider's lock (not for every I/O).
 */
int gp_uring_ring_fixed(struct gp_uring_buffers *bufs, const struct io_uring *ring);

/**
 * gp_uring_iobuf_of - describe any memory of the pool as a gp_iobuf.
 * @bufs: the provider
 * @addr: first byte (for instance inside an item the server allocated
 *        from the pool itself)
 * @len:  bytes
 * @out:  receives {addr, len, buf_index}
 *
 * Returns 0 (buf_index may be GP_IOBUF_UNREGISTERED) or -EINVAL.  Does not
 * allocate anything.  Context: thread-safe, lock-free.
 */
int gp_uring_iobuf_of(struct gp_uring_buffers *bufs, const void *addr,
		      size_t len, struct gp_iobuf *out);

/**
 * gp_iobuf_alloc - allocate an I/O buffer.
 * @bufs: the provider
 * @len:  bytes (> 0)
 * @out:  receives {addr, len, buf_index}
 *
 * Cached sizes (gp_uring_cache(); @len is rounded up to one when that
 * costs at most a quarter more, see struct gp_uring_config) come from the
 * per-CPU cache, the rest from the pool with its algorithm.  The address
 * is a multiple of the pool's unit (for memory from gp_mem, whose chunks
 * are page-aligned): O_DIRECT wants buffers aligned to the file's
 * stx_dio_mem_align (statx STATX_DIOALIGN), so give the pool a
 * min_alloc_order of at least log2(stx_dio_mem_align) (9 or 12), or use
 * gp_iobuf_alloc_align().  Never calls io_uring_register().  Returns 0,
 * -EINVAL, or -ENOMEM (pool exhausted; @out is cleared).
 * Context: thread-safe; lock-free (a per-CPU lock where the cache runs in
 * its locked mode).
 */
int gp_iobuf_alloc(struct gp_uring_buffers *bufs, size_t len,
		   struct gp_iobuf *out);

/**
 * gp_iobuf_alloc_align - allocate an I/O buffer at a multiple of @align.
 * @bufs:  the provider
 * @len:   bytes (> 0)
 * @align: a power of two, at most GP_URING_MAX_SLOT_BYTES; 0 or anything
 *         up to the pool's unit: as gp_iobuf_alloc()
 * @out:   receives {addr, len, buf_index}
 *
 * An @align up to the pool's unit is served as gp_iobuf_alloc() (the
 * per-CPU cache included); a larger one by the pool's aligned algorithm
 * (gen_pool_first_fit_align(): a search, not a cache hit; the cache is
 * drained and the search tried again before failing).  Free the buffer
 * with gp_iobuf_free() as any other.  Returns 0, -EINVAL (also for an
 * @align that is not a power of two), or -ENOMEM (@out is cleared).
 * Context: as gp_iobuf_alloc(); lock-free only up to the unit.
 */
int gp_iobuf_alloc_align(struct gp_uring_buffers *bufs, size_t len,
			 size_t align, struct gp_iobuf *out);

/**
 * gp_iobuf_alloc_notify - gp_iobuf_alloc_align() that, when the pool is
 * exhausted, arranges a wake-up for when buffers come back.
 * @bufs:  the provider
 * @len:   bytes (> 0)
 * @align: as gp_iobuf_alloc_align()
 * @efd:   an eventfd of the caller's (say the one its event loop already
 *         reads); the provider writes 1 to it, once, at the first free
 *         (gp_iobuf_free(), a buffer ring's put or destroy, a finished
 *         SEND_ZC) after the failure
 * @out:   receives {addr, len, buf_index}
 *
 * On failure @efd is recorded and the allocation is tried again (so a free
 * racing with the failure is never missed); -ENOMEM then means that the
 * wake-up is armed.  Each thread (each event loop) that waits gives its
 * own eventfd: a wake-up goes to every eventfd recorded since the last
 * one.  A wake-up says buffers were freed, not that @len bytes are free:
 * try again, and call this again to wait again.  A wake-up may also come
 * after the retry succeeded (spurious, harmless).  Before closing @efd,
 * withdraw it with gp_iobuf_notify_cancel() (or unregister).  Returns
 * 0, -EINVAL (also for @efd < 0), or -ENOMEM (armed; @out is cleared).
 * Context: as gp_iobuf_alloc_align(); the failure path takes a lock and a
 * membarrier() system call.  While nobody waits, frees pay no lock and no
 * atomic read-modify-write for this (one relaxed load).
 */
int gp_iobuf_alloc_notify(struct gp_uring_buffers *bufs, size_t len,
			  size_t align, int efd, struct gp_iobuf *out);

/**
 * gp_iobuf_notify_cancel - withdraw an eventfd recorded by a failed
 * gp_iobuf_alloc_notify(), so that it may be closed.
 * @bufs: the provider
 * @efd:  the eventfd
 *
 * Return: 1 if @efd was waiting (it will not be written to), 0 if not,
 * -EINVAL for a NULL @bufs.
 *
 * Context: thread-safe; takes the waiters' lock.
 */
int gp_iobuf_notify_cancel(struct gp_uring_buffers *bufs, int efd);

/**
 * gp_iobuf_free - free a buffer from gp_iobuf_alloc().
 * @bufs: the provider
 * @buf:  the buffer as returned (a NULL @buf or addr is a no-op)
 *
 * Any gp_iobuf_alloc*() buffer, whole (the same @len).  Free a buffer
 * only after every operation using it has completed (for SEND_ZC: after
 * its notification; gp_send_zc_complete() does that).  Wakes the
 * eventfds of failed gp_iobuf_alloc_notify() calls.
 * A bad buffer is a misuse of the pool, reported by its policy.
 * Context: as gp_iobuf_alloc().
 */
void gp_iobuf_free(struct gp_uring_buffers *bufs, const struct gp_iobuf *buf);

/* The fixed opcode when @buf has a slot, else the plain one. */
static inline void gp_iobuf_prep_rw(struct io_uring_sqe *sqe, int fixed_op,
				    int plain_op, int fd,
				    const struct gp_iobuf *buf, uint64_t offset)
{
	bool fixed = buf->buf_index != GP_IOBUF_UNREGISTERED;

	io_uring_prep_rw(fixed ? fixed_op : plain_op, sqe, fd, buf->addr,
			 (unsigned int)buf->len, offset);
	if (fixed)
		sqe->buf_index = (uint16_t)buf->buf_index;
}

/**
 * gp_iobuf_prep_read - prepare a read of @buf->len bytes at @offset into
 * @buf: READ_FIXED when @buf has a slot, READ otherwise.
 */
static inline void gp_iobuf_prep_read(struct io_uring_sqe *sqe, int fd,
				      const struct gp_iobuf *buf,
				      uint64_t offset)
{
	gp_iobuf_prep_rw(sqe, IORING_OP_READ_FIXED, IORING_OP_READ, fd, buf,
			 offset);
}

/**
 * gp_iobuf_prep_write - prepare a write of @buf at @offset: WRITE_FIXED
 * when @buf has a slot, WRITE otherwise.
 */
static inline void gp_iobuf_prep_write(struct io_uring_sqe *sqe, int fd,
				       const struct gp_iobuf *buf,
				       uint64_t offset)
{
	gp_iobuf_prep_rw(sqe, IORING_OP_WRITE_FIXED, IORING_OP_WRITE, fd, buf,
			 offset);
}

/* ------------------------------------------------------ zero-copy send */

/**
 * struct gp_zc_result - what one SEND_ZC CQE said.
 * @res:    on the result CQE: bytes sent or a negative errno; on the
 *          notification: 0
 * @done:   this was the send's last CQE (the kernel has let go of the
 *          buffer; a buffer passed to gp_send_zc_complete() is freed)
 * @notif:  this was the notification CQE
 * @copied: the notification said the kernel copied the data anyway
 *          (loopback does; so do devices without scatter-gather)
 */
struct gp_zc_result {
	int res;
	bool done;
	bool notif;
	bool copied;
};

/**
 * gp_send_zc_prep - prepare a zero-copy send of @buf.
 * @bufs:      the provider (it knows whether usage reports are supported)
 * @sqe:       the SQE to fill; set its user_data afterwards as usual
 * @sockfd:    the socket
 * @buf:       the data: any sub-range of a gp_iobuf, or gp_uring_iobuf_of()
 * @msg_flags: send(2) flags (MSG_WAITALL makes io_uring retry short sends)
 *
 * Uses IORING_RECVSEND_FIXED_BUF when @buf has a slot and asks for a usage
 * report where the kernel has it (6.2+).  The send yields one or two CQEs
 * with the SQE's user_data: pass each to gp_send_zc_complete().  The
 * buffer must stay untouched until then.  Context: any thread.
 */
void gp_send_zc_prep(struct gp_uring_buffers *bufs, struct io_uring_sqe *sqe,
		     int sockfd, const struct gp_iobuf *buf, int msg_flags);

/**
 * gp_send_zc_complete - account one CQE of a zero-copy send.
 * @bufs: the provider
 * @cqe:  a CQE of a send prepared by gp_send_zc_prep()
 * @buf:  the buffer to free when the kernel has let go of it (the whole
 *        gp_iobuf from gp_iobuf_alloc()), or NULL to keep it
 * @r:    receives what the CQE said (may be NULL)
 *
 * Returns 1 when the send is finished (@r->done; @buf freed), 0 when its
 * notification is still to come.  Context: the ring's reaping thread.
 */
int gp_send_zc_complete(struct gp_uring_buffers *bufs,
			const struct io_uring_cqe *cqe,
			const struct gp_iobuf *buf, struct gp_zc_result *r);

/* ------------------------------------------------ provided-buffer rings */

/**
 * GP_BUF_RING_INC - consume buffers incrementally (IOU_PBUF_RING_INC,
 * Linux 6.12+) where the kernel offers it: a short receive uses only part
 * of a buffer and the next continues in it.  Without kernel support the
 * ring works whole-buffer (gp_buf_ring_get_info() says which).
 */
#define GP_BUF_RING_INC (1u << 0)

/**
 * struct gp_buf_ring_config - a provided-buffer ring's shape.
 * @entries:  buffers in the ring, a power of two, 1 .. 32768
 * @buf_size: bytes per buffer (> 0, < 4 GiB)
 * @bgid:     buffer group id (unique per ring)
 * @flags:    GP_BUF_RING_* flags
 */
struct gp_buf_ring_config {
	unsigned int entries;
	size_t buf_size;
	unsigned short bgid;
	unsigned int flags;
};

/**
 * struct gp_recv - one receive completion, decoded.
 * @data:     first byte received (NULL without a buffer)
 * @len:      bytes received
 * @bid:      the buffer id
 * @has_buf:  the CQE carries a buffer
 * @buf_done: the kernel is done with the buffer: after using @data, hand
 *            it back with gp_buf_ring_recycle() or keep it with
 *            gp_buf_ring_take().  False in incremental mode while the
 *            kernel still fills the same buffer (IORING_CQE_F_BUF_MORE):
 *            then neither.
 * @rearm:    the multishot receive has ended (no IORING_CQE_F_MORE)
 *            without EOF or a hard error: prepare it again
 *            (gp_buf_ring_prep_recv()); unread data waits in the socket
 */
struct gp_recv {
	void *data;
	size_t len;
	unsigned int bid;
	bool has_buf;
	bool buf_done;
	bool rearm;
};

/**
 * struct gp_buf_ring_info - a buffer ring's state and counters.
 * @entries, @buf_size, @bgid: as configured
 * @incremental: the kernel consumes buffers incrementally
 * @in_kernel:   buffers the kernel can still pick (from
 *               IORING_REGISTER_PBUF_STATUS where the kernel has it,
 *               else the ring's own count), or -1 if unknown
 * @empty:       ids without a buffer (the pool ran dry while refilling)
 * @taken:       buffers handed out with gp_buf_ring_take() and not put
 * @enobufs:     -ENOBUFS completions seen
 * @rearms:      multishot receives that ended and asked to be re-armed
 */
struct gp_buf_ring_info {
	unsigned int entries;
	size_t buf_size;
	unsigned short bgid;
	bool incremental;
	int in_kernel;
	unsigned int empty;
	unsigned int taken;
	uint64_t enobufs;
	uint64_t rearms;
};

struct gp_buf_ring;

/**
 * gp_buf_ring_create - register a provided-buffer ring filled from a pool.
 * @ring: the application's ring
 * @bufs: the provider whose pool the buffers come from
 * @cfg:  the shape
 *
 * Returns the ring, or NULL with errno: EINVAL (bad config), EEXIST (the
 * bgid is taken), ENOMEM (the pool cannot fill every entry, or no
 * memory), or the kernel's error.  Context: thread-safe, may block; the
 * ring is then used by one thread (the one reaping @ring).
 */
struct gp_buf_ring *gp_buf_ring_create(struct io_uring *ring,
				       struct gp_uring_buffers *bufs,
				       const struct gp_buf_ring_config *cfg);

/**
 * gp_buf_ring_prep_recv - prepare a multishot receive into the ring's
 * buffers.
 * @br:        the buffer ring
 * @sqe:       the SQE to fill (IOSQE_BUFFER_SELECT with the ring's bgid);
 *             set its user_data afterwards
 * @sockfd:    the socket
 * @msg_flags: recv(2) flags
 *
 * Context: the ring's thread.
 */
void gp_buf_ring_prep_recv(struct gp_buf_ring *br, struct io_uring_sqe *sqe,
			   int sockfd, int msg_flags);

/**
 * gp_buf_ring_complete - decode a receive CQE.
 * @br:  the buffer ring
 * @cqe: a CQE of a receive prepared by gp_buf_ring_prep_recv()
 * @rv:  receives the decoded completion
 *
 * On -ENOBUFS (every buffer in use) it refills empty ids from the pool
 * and asks for a re-arm (@rv->rearm); the data stays in the socket.
 * Returns cqe->res: bytes (> 0), 0 at EOF, or a negative errno.
 * Context: the ring's thread.
 */
int gp_buf_ring_complete(struct gp_buf_ring *br, const struct io_uring_cqe *cqe,
			 struct gp_recv *rv);

/**
 * gp_buf_ring_recycle - give a finished buffer back to the kernel.
 * @br:  the buffer ring
 * @bid: a buffer id from a gp_recv with @buf_done, its data used up
 *
 * Return: 0, or -EINVAL (bad id, or a buffer the kernel still holds).
 *
 * Context: the ring's thread.
 */
int gp_buf_ring_recycle(struct gp_buf_ring *br, unsigned int bid);

/**
 * gp_buf_ring_take - keep a finished buffer and refill its id from the pool.
 * @br:  the buffer ring
 * @bid: a buffer id from a gp_recv with @buf_done
 *
 * The caller now owns the buffer (gp_buf_ring_info.buf_size bytes from
 * the pool) and returns it with gp_buf_ring_put().  If the pool has
 * nothing to refill with, the id stays empty until gp_buf_ring_replenish()
 * (gp_buf_ring_put() and -ENOBUFS do that).  Returns the buffer, or NULL
 * with errno EINVAL.  Context: the ring's thread.
 */
void *gp_buf_ring_take(struct gp_buf_ring *br, unsigned int bid);

/**
 * gp_buf_ring_put - return a taken buffer to the pool.
 * @br:  the buffer ring
 * @buf: a buffer from gp_buf_ring_take()
 *
 * Then refills empty ids from the pool.
 *
 * Return: 0, or -EINVAL (not a taken buffer).
 *
 * Context: the ring's thread.
 */
int gp_buf_ring_put(struct gp_buf_ring *br, void *buf);

/**
 * gp_buf_ring_replenish - refill empty ids from the pool.
 * @br: the buffer ring
 *
 * Return: the number of ids still empty (0: the ring is full), or
 * -EINVAL for NULL.
 *
 * Context: the ring's thread.
 */
int gp_buf_ring_replenish(struct gp_buf_ring *br);

/**
 * gp_buf_ring_get_info - the ring's state and counters.
 * @br:   the buffer ring
 * @info: filled with its shape, what the kernel holds and the counters
 *
 * Return: 0, or -EINVAL for a NULL argument.
 *
 * Context: the ring's thread.
 */
int gp_buf_ring_get_info(struct gp_buf_ring *br, struct gp_buf_ring_info *info);

/**
 * gp_buf_ring_destroy - unregister the ring and free its buffers.
 * @br: the ring, or NULL (no-op)
 *
 * Cancel (or finish) the receives using it first: once unregistered the
 * kernel can pick no more buffers.  Buffers still taken stay the caller's
 * (free them with gen_pool_free(pool, addr, buf_size)).  Returns 0 or
 * the kernel's error (the ring is freed anyway).  Context: the ring's
 * thread.
 */
int gp_buf_ring_destroy(struct gp_buf_ring *br);

#ifdef __cplusplus
}
#endif

#endif /* GENPOOL_IO_H */
