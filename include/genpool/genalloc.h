/* SPDX-License-Identifier: MIT */
/*
 * genpool/genalloc.h - the Linux kernel's genalloc API, user-space edition.
 *
 * A gen_pool manages address ranges ("chunks") that the caller adds; it never
 * reads or writes the managed memory itself (except gen_pool_dma_zalloc*,
 * which zeroes what it returns).  Each chunk is tracked by a bitmap with one
 * bit per 2^min_alloc_order bytes ("unit").  Names, argument order and
 * semantics follow the kernel's lib/genalloc.c; differences are listed in
 * docs/guide.md ("Differences from the kernel").
 *
 * Thread safety: allocation and free are lock-free and may run concurrently
 * from any number of threads; adding a chunk takes a per-pool mutex but never
 * blocks allocation or free.  Each function's comment states its context.
 *
 * Errors: functions returning a pointer or address return NULL/0 on failure
 * and set errno; functions returning int return 0 or a negative errno.
 * Misuse that the kernel answers with BUG() (freeing an address no chunk
 * holds, a double free, a free with the wrong size, destroying a busy pool)
 * is detected and reported; see gp_set_misuse_policy().
 */
#ifndef GENPOOL_GENALLOC_H
#define GENPOOL_GENALLOC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** phys_addr_t - a physical address; 64 bits on every platform. */
typedef uint64_t phys_addr_t;
/** dma_addr_t - a device-visible address; 64 bits on every platform. */
typedef uint64_t dma_addr_t;

/** GP_NO_PHYS - the phys_addr of a chunk added without a physical address. */
#define GP_NO_PHYS ((phys_addr_t)-1)
/** NUMA_NO_NODE - no NUMA placement preference (as in the kernel). */
#ifndef NUMA_NO_NODE
#define NUMA_NO_NODE (-1)
#endif
/** GP_MAX_ORDER - the largest accepted min_alloc_order (1 TiB units). */
#define GP_MAX_ORDER 40

struct gen_pool;
struct gp_device;

/**
 * struct gen_pool_chunk - the public, read-only view of one chunk.
 * @start_addr: first address of the chunk
 * @end_addr:   last address of the chunk (inclusive, as in the kernel)
 * @phys_addr:  physical address of @start_addr, or GP_NO_PHYS
 * @owner:      the owner cookie given to gen_pool_add_owner()
 * @nid:        the NUMA node given when the chunk was added
 *
 * Handed to gen_pool_for_each_chunk() callbacks.  Never modify it; use
 * gp_chunk_avail() for the free byte count.
 */
struct gen_pool_chunk {
	unsigned long start_addr;
	unsigned long end_addr;
	phys_addr_t phys_addr;
	void *owner;
	int nid;
};

/**
 * genpool_algo_t - an allocation algorithm.
 * @map:        the chunk's bitmap (bit i of word i/64 set = unit i busy)
 * @size:       number of units (bits) in @map
 * @start:      first bit to consider
 * @nr:         number of units wanted
 * @data:       the algorithm's private data (from gen_pool_set_algo())
 * @pool:       the pool
 * @start_addr: the chunk's start address (for absolute alignment)
 *
 * Returns the first bit of a free run of @nr bits, or any value >= @size if
 * there is none.  The bitmap may change concurrently; the pool claims the
 * returned run atomically and calls the algorithm again from the same
 * position if another thread got there first.  (genpool's own books keep
 * two bits per unit; the kernel-layout bitmap a user's algorithm gets is
 * made for a chunk the first time one runs there, and then kept in step.)  Unlike the kernel, @nr is an
 * unsigned long so that runs of 2^32 units and more can be asked for.
 */
typedef unsigned long (*genpool_algo_t)(unsigned long *map, unsigned long size,
					unsigned long start, unsigned long nr,
					void *data, struct gen_pool *pool,
					unsigned long start_addr);

/** struct genpool_data_align - data for gen_pool_first_fit_align(). */
struct genpool_data_align {
	int align;		/* alignment in bytes, a power of two */
};

/** struct genpool_data_fixed - data for gen_pool_fixed_alloc(). */
struct genpool_data_fixed {
	unsigned long offset;	/* offset from the chunk start, in bytes */
};

/* ---------------------------------------------------------------- pools */

/**
 * gen_pool_create - create a new special memory pool.
 * @min_alloc_order: log2 of the allocation unit in bytes, 0..GP_MAX_ORDER
 * @nid:             NUMA node for the pool's metadata, or NUMA_NO_NODE
 *
 * The pool starts empty, with first-fit as its algorithm and the abort
 * misuse policy.
 *
 * Return: the pool, or NULL with errno set (EINVAL for a bad order or node,
 * ENOMEM, ENOTSUP on an x86-64 CPU without cmpxchg16b).
 *
 * Context: thread-safe, may block.
 */
struct gen_pool *gen_pool_create(int min_alloc_order, int nid);

/**
 * gen_pool_destroy - destroy a pool and its metadata.
 * @pool: the pool (NULL is reported and ignored)
 *
 * The managed memory itself is not touched.  Destroying a pool that still
 * has allocations is misuse: every live allocation is reported and the pool
 * is left intact (policy GP_MISUSE_REPORT) or the process aborts (the
 * default).
 *
 * Context: no other thread may use @pool during or after the call.
 */
void gen_pool_destroy(struct gen_pool *pool);

/**
 * gp_destroy_checked - destroy a pool unless it has live allocations.
 * @pool: the pool
 *
 * Return: 0 when destroyed, -EINVAL for NULL, -EPERM if a device owns the
 * pool (destroying the device destroys it), -EBUSY (pool left intact, not
 * reported, whatever the policy) if allocations are still live.
 *
 * Context: no other thread may use @pool during or after the call.
 */
int gp_destroy_checked(struct gen_pool *pool);

/* --------------------------------------------------------------- memory */

/**
 * gen_pool_add_owner - add a chunk of memory to a pool.
 * @pool:  the pool
 * @virt:  first address of the chunk (must be a multiple of the unit)
 * @phys:  its physical address, or GP_NO_PHYS
 * @size:  bytes; a non-zero multiple of the unit
 * @nid:   NUMA node for the chunk's metadata, or NUMA_NO_NODE
 * @owner: cookie handed back by gen_pool_alloc_owner()/gen_pool_free_owner()
 *
 * The range must not wrap around the address space nor overlap a chunk
 * already in the pool.  The newest chunk is searched first.
 *
 * Return: 0, -EINVAL (bad argument, with a message on stderr naming it),
 * -EEXIST (overlap) or -ENOMEM.
 *
 * Context: thread-safe; takes the pool's add lock, never blocks concurrent
 * allocation or free.
 */
int gen_pool_add_owner(struct gen_pool *pool, unsigned long virt,
		       phys_addr_t phys, size_t size, int nid, void *owner);

/**
 * gen_pool_add_virt - add a chunk with a physical address and no owner.
 * @pool: the pool
 * @virt: first address of the chunk (must be a multiple of the unit)
 * @phys: its physical address, or GP_NO_PHYS
 * @size: bytes; a non-zero multiple of the unit
 * @nid:  NUMA node for the chunk's metadata, or NUMA_NO_NODE
 *
 * gen_pool_add_owner() with a NULL owner.
 *
 * Return: as gen_pool_add_owner().
 *
 * Context: as gen_pool_add_owner().
 */
int gen_pool_add_virt(struct gen_pool *pool, unsigned long virt,
		      phys_addr_t phys, size_t size, int nid);

/**
 * gen_pool_add - add a chunk without a physical address.
 * @pool: the pool
 * @addr: first address of the chunk (must be a multiple of the unit)
 * @size: bytes; a non-zero multiple of the unit
 * @nid:  NUMA node for the chunk's metadata, or NUMA_NO_NODE
 *
 * gen_pool_add_virt() with GP_NO_PHYS: gen_pool_virt_to_phys() and the
 * @dma of gen_pool_dma_alloc() then give GP_NO_PHYS for this chunk.
 *
 * Return: as gen_pool_add_owner().
 *
 * Context: as gen_pool_add_owner().
 */
int gen_pool_add(struct gen_pool *pool, unsigned long addr, size_t size,
		 int nid);

/* ----------------------------------------------------------- allocation */

/**
 * gen_pool_alloc_algo_owner - allocate with a given algorithm.
 * @pool:  the pool
 * @size:  bytes; rounded up to whole units
 * @algo:  the algorithm (any genpool_algo_t)
 * @data:  its data
 * @owner: if not NULL, receives the chunk's owner (NULL on failure)
 *
 * Chunks are tried newest first, skipping those whose free space is below
 * the rounded size.
 *
 * Return: the address, or 0 with errno set: EINVAL (NULL pool or
 * algorithm, size 0 or so large it overflows), ENOMEM (no fit).  As in the
 * kernel, 0 is also the failure value: never add a chunk at 0.
 *
 * Context: thread-safe, lock-free, never blocks.
 */
unsigned long gen_pool_alloc_algo_owner(struct gen_pool *pool, size_t size,
					genpool_algo_t algo, void *data,
					void **owner);

/**
 * gen_pool_alloc_owner - allocate with the pool's algorithm, with owner.
 * @pool:  the pool
 * @size:  bytes; rounded up to whole units
 * @owner: if not NULL, receives the chunk's owner (NULL on failure)
 *
 * gen_pool_alloc_algo_owner() with the algorithm set by
 * gen_pool_set_algo() (first fit by default).
 *
 * Return: the address, or 0 with errno set (EINVAL, ENOMEM).
 *
 * Context: thread-safe, lock-free, never blocks.
 */
unsigned long gen_pool_alloc_owner(struct gen_pool *pool, size_t size,
				   void **owner);

/**
 * gen_pool_alloc_algo - allocate with a given algorithm.
 * @pool: the pool
 * @size: bytes; rounded up to whole units
 * @algo: the algorithm (any genpool_algo_t)
 * @data: its data
 *
 * gen_pool_alloc_algo_owner() without the owner.
 *
 * Return: the address, or 0 with errno set (EINVAL, ENOMEM).
 *
 * Context: thread-safe, lock-free, never blocks.
 */
unsigned long gen_pool_alloc_algo(struct gen_pool *pool, size_t size,
				  genpool_algo_t algo, void *data);

/**
 * gen_pool_alloc - allocate with the pool's algorithm.
 * @pool: the pool
 * @size: bytes; rounded up to whole units
 *
 * The everyday allocation: the algorithm set by gen_pool_set_algo() (first
 * fit by default), chunks tried newest first.  Free with gen_pool_free()
 * and the same @size.
 *
 * Return: the address, or 0 with errno set: EINVAL (NULL pool, size 0 or
 * overflowing), ENOMEM (no fit).
 *
 * Context: thread-safe, lock-free, never blocks.
 */
unsigned long gen_pool_alloc(struct gen_pool *pool, size_t size);

/**
 * gp_alloc_checked - allocate, reporting why it failed.
 * @pool, @size, @algo, @data: as gen_pool_alloc_algo_owner(); @algo NULL
 *                             means the pool's algorithm
 * @addr:  receives the address (0 on failure)
 * @owner: if not NULL, receives the chunk's owner
 *
 * Return: 0, -EINVAL or -ENOMEM; errno is left alone.
 *
 * Context: as gen_pool_alloc().
 */
int gp_alloc_checked(struct gen_pool *pool, size_t size, genpool_algo_t algo,
		     void *data, unsigned long *addr, void **owner);

/**
 * gen_pool_dma_alloc - allocate and return the physical address too.
 * @pool: the pool
 * @size: bytes
 * @dma:  if not NULL, receives the physical address of the allocation, or
 *        GP_NO_PHYS if its chunk was added without one
 *
 * Return: the virtual address as a pointer, or NULL (errno set).
 *
 * Context: thread-safe, lock-free.
 */
void *gen_pool_dma_alloc(struct gen_pool *pool, size_t size, dma_addr_t *dma);

/**
 * gen_pool_dma_alloc_algo - gen_pool_dma_alloc() with a given algorithm.
 * @pool: the pool
 * @size: bytes
 * @dma:  if not NULL, receives the physical address, or GP_NO_PHYS
 * @algo: the algorithm (any genpool_algo_t)
 * @data: its data
 *
 * Return: the virtual address as a pointer, or NULL (errno set).
 *
 * Context: thread-safe, lock-free.
 */
void *gen_pool_dma_alloc_algo(struct gen_pool *pool, size_t size,
			      dma_addr_t *dma, genpool_algo_t algo, void *data);

/**
 * gen_pool_dma_alloc_align - gen_pool_dma_alloc() aligned to @align bytes.
 * @pool:  the pool
 * @size:  bytes
 * @dma:   if not NULL, receives the physical address, or GP_NO_PHYS
 * @align: a power of two; the address is a multiple of it (absolute
 *         alignment, as gen_pool_first_fit_align())
 *
 * Return: the virtual address as a pointer, or NULL with errno set (EINVAL
 * also for an @align that is not a positive power of two).
 *
 * Context: thread-safe, lock-free.
 */
void *gen_pool_dma_alloc_align(struct gen_pool *pool, size_t size,
			       dma_addr_t *dma, int align);

/**
 * gen_pool_dma_zalloc - gen_pool_dma_alloc(), memory zeroed.
 * @pool: the pool
 * @size: bytes
 * @dma:  if not NULL, receives the physical address, or GP_NO_PHYS
 *
 * The @size bytes returned are zeroed: the only write genpool makes to
 * managed memory.
 *
 * Return: the virtual address as a pointer, or NULL (errno set).
 *
 * Context: thread-safe, lock-free.
 */
void *gen_pool_dma_zalloc(struct gen_pool *pool, size_t size, dma_addr_t *dma);

/**
 * gen_pool_dma_zalloc_algo - gen_pool_dma_alloc_algo(), memory zeroed.
 * @pool: the pool
 * @size: bytes
 * @dma:  if not NULL, receives the physical address, or GP_NO_PHYS
 * @algo: the algorithm (any genpool_algo_t)
 * @data: its data
 *
 * Return: the virtual address as a pointer, or NULL (errno set).
 *
 * Context: thread-safe, lock-free.
 */
void *gen_pool_dma_zalloc_algo(struct gen_pool *pool, size_t size,
			       dma_addr_t *dma, genpool_algo_t algo,
			       void *data);

/**
 * gen_pool_dma_zalloc_align - gen_pool_dma_alloc_align(), memory zeroed.
 * @pool:  the pool
 * @size:  bytes
 * @dma:   if not NULL, receives the physical address, or GP_NO_PHYS
 * @align: a power of two; the address is a multiple of it
 *
 * Return: the virtual address as a pointer, or NULL (errno set).
 *
 * Context: thread-safe, lock-free.
 */
void *gen_pool_dma_zalloc_align(struct gen_pool *pool, size_t size,
				dma_addr_t *dma, int align);

/* ----------------------------------------------------------------- free */

/**
 * gen_pool_free_owner - free an allocation.
 * @pool:  the pool
 * @addr:  the address gen_pool_alloc*() returned
 * @size:  the size that was asked for (rounded up to units like the alloc)
 * @owner: if not NULL, receives the chunk's owner (NULL on error)
 *
 * Freeing an address no chunk holds, a range past the chunk's end, a range
 * that is not exactly one live allocation (double free, wrong size, interior
 * address) is misuse: it is reported with pool, address and size, nothing
 * is changed, and the pool's policy applies (abort by default).
 * Context: thread-safe, lock-free.
 */
void gen_pool_free_owner(struct gen_pool *pool, unsigned long addr,
			 size_t size, void **owner);

/**
 * gen_pool_free - free an allocation.
 * @pool: the pool
 * @addr: the address gen_pool_alloc*() returned
 * @size: the size that was asked for
 *
 * gen_pool_free_owner() without the owner: misuse is reported and the
 * pool's policy applies (abort by default); gp_free_checked() returns an
 * error instead.
 *
 * Context: thread-safe, lock-free.
 */
void gen_pool_free(struct gen_pool *pool, unsigned long addr, size_t size);

/**
 * gp_free_checked - free an allocation, returning an error on misuse.
 * @pool, @addr, @size, @owner: as gen_pool_free_owner()
 *
 * Return: 0, or without changing anything and without reporting:
 * -EINVAL (NULL pool, size 0, address not on a unit boundary),
 * -EFAULT (no chunk holds @addr), -ERANGE (range runs past the chunk end),
 * -EALREADY (some of the range is not allocated: a double free),
 * -EBADSLT (the range is allocated but is not exactly one allocation:
 * wrong size or interior address).
 *
 * Context: thread-safe, lock-free.
 */
int gp_free_checked(struct gen_pool *pool, unsigned long addr, size_t size,
		    void **owner);

/* ----------------------------------------------------------------- bulk */

/**
 * gp_alloc_bulk - allocate up to @n separate allocations of @size bytes.
 * @pool:  the pool
 * @size:  bytes of each allocation; rounded up to whole units
 * @addrs: receives the addresses, @addrs[0] .. @addrs[ret - 1]
 * @n:     how many are wanted
 *
 * Each allocation is placed by the pool's algorithm exactly as
 * gen_pool_alloc() would place it, one after the other, and is an ordinary
 * allocation: gen_pool_free() or gp_free_bulk() frees it.
 *
 * Return: how many were allocated (0 .. @n); fewer than @n means the pool
 * ran out (errno ENOMEM) or the arguments are bad (errno EINVAL: NULL pool
 * or @addrs, size 0 or overflowing).
 *
 * Context: thread-safe, lock-free.
 */
size_t gp_alloc_bulk(struct gen_pool *pool, size_t size, unsigned long *addrs,
		     size_t n);

/**
 * gp_free_bulk - free @n allocations of @size bytes each.
 * @pool:  the pool
 * @addrs: the addresses, as gen_pool_alloc() or gp_alloc_bulk() gave them
 * @n:     how many
 * @size:  bytes of each, as allocated
 *
 * Every address is validated like gp_free_checked(); a bad one changes
 * nothing, is reported with pool, address and size, and the pool's misuse
 * policy applies (abort by default); the valid ones are still freed.
 *
 * Return: 0, or the first negative errno (-EINVAL for a NULL pool or
 * @addrs).
 *
 * Context: thread-safe, lock-free.
 */
int gp_free_bulk(struct gen_pool *pool, const unsigned long *addrs, size_t n,
		 size_t size);

/* -------------------------------------------------------------- queries */

/**
 * gen_pool_virt_to_phys - translate a virtual address to a physical one.
 * @pool: the pool
 * @addr: an address inside one of the pool's chunks
 *
 * Return: the physical address, or (phys_addr_t)-1 if no chunk holds @addr
 * or its chunk has no physical address.
 *
 * Context: thread-safe, lock-free.
 */
phys_addr_t gen_pool_virt_to_phys(struct gen_pool *pool, unsigned long addr);

/**
 * gen_pool_for_each_chunk - call @func for every chunk, newest first.
 * @pool: the pool
 * @func: called with the pool, the chunk and @data
 * @data: passed through
 *
 * Chunks added concurrently may or may not be visited.
 *
 * Context: thread-safe; @func may allocate and free but must not destroy
 * the pool.
 */
void gen_pool_for_each_chunk(struct gen_pool *pool,
			     void (*func)(struct gen_pool *pool,
					  struct gen_pool_chunk *chunk,
					  void *data),
			     void *data);

/**
 * gen_pool_has_addr - does the pool hold the whole range?
 * @pool:  the pool
 * @start: first address
 * @size:  bytes
 *
 * As in the kernel, an empty range (@size 0) is held when a chunk holds
 * @start; unlike the kernel, a range that wraps around the address space
 * never is.
 *
 * Return: 1 if one chunk holds [@start, @start + @size), else 0.
 *
 * Context: thread-safe, lock-free.
 */
int gen_pool_has_addr(struct gen_pool *pool, unsigned long start, size_t size);

/**
 * addr_in_gen_pool - the older name of gen_pool_has_addr().
 * @pool:  the pool
 * @start: first address
 * @size:  bytes
 *
 * Return: 1 if one chunk holds [@start, @start + @size), else 0.
 *
 * Context: thread-safe, lock-free.
 */
int addr_in_gen_pool(struct gen_pool *pool, unsigned long start, size_t size);

/**
 * gen_pool_avail - free bytes in the pool (whole units).
 * @pool: the pool
 *
 * Return: the free bytes of every chunk, or 0 for a NULL pool.
 *
 * Context: thread-safe, lock-free; a snapshot.
 */
size_t gen_pool_avail(struct gen_pool *pool);

/**
 * gen_pool_size - total bytes managed by the pool.
 * @pool: the pool
 *
 * Return: the bytes of every chunk, or 0 for a NULL pool.
 *
 * Context: thread-safe, lock-free; a snapshot.
 */
size_t gen_pool_size(struct gen_pool *pool);

/**
 * gp_chunk_avail - free bytes in one chunk.
 * @chunk: a chunk, as gen_pool_for_each_chunk() hands it over
 *
 * Return: the chunk's free bytes, or 0 for NULL.
 *
 * Context: thread-safe, lock-free; a snapshot.
 */
size_t gp_chunk_avail(const struct gen_pool_chunk *chunk);

/**
 * gp_min_alloc_order - the pool's allocation unit.
 * @pool: the pool
 *
 * Return: the min_alloc_order given to gen_pool_create() (the unit is
 * 2^order bytes), or -EINVAL for NULL.
 *
 * Context: thread-safe.
 */
int gp_min_alloc_order(const struct gen_pool *pool);

/* ----------------------------------------------------------- algorithms */

/**
 * gen_pool_set_algo - set the pool's allocation algorithm.
 * @pool: the pool
 * @algo: the algorithm; NULL restores gen_pool_first_fit
 * @data: its data; must stay valid while the algorithm is in use
 *
 * Context: call before the pool is shared; not safe against concurrent
 * allocation with the pool's algorithm (as in the kernel).
 */
void gen_pool_set_algo(struct gen_pool *pool, genpool_algo_t algo, void *data);

/**
 * gen_pool_first_fit - the first free run that fits (the default).
 * @map:        the chunk's bitmap
 * @size:       number of units (bits) in @map
 * @start:      first bit to consider
 * @nr:         number of units wanted
 * @data:       unused
 * @pool:       the pool
 * @start_addr: the chunk's start address
 *
 * A genpool_algo_t for gen_pool_set_algo() or gen_pool_alloc_algo().
 *
 * Return: the first bit at or after @start of a free run of @nr bits, or
 * a value >= @size if there is none.
 *
 * Context: reads @map only; called by the pool, or by a custom algorithm
 * that delegates to it.
 */
unsigned long gen_pool_first_fit(unsigned long *map, unsigned long size,
				 unsigned long start, unsigned long nr,
				 void *data, struct gen_pool *pool,
				 unsigned long start_addr);

/**
 * gen_pool_first_fit_align - first fit at an aligned address.
 * @map:        the chunk's bitmap
 * @size:       number of units (bits) in @map
 * @start:      first bit to consider
 * @nr:         number of units wanted
 * @data:       a struct genpool_data_align: the alignment in bytes
 * @pool:       the pool
 * @start_addr: the chunk's start address
 *
 * The run's address is a multiple of the alignment (absolute alignment,
 * measured from address 0, not from the chunk start).
 *
 * Return: the first bit of such a free run of @nr bits, or a value >= @size
 * if there is none (also for a NULL @data or an alignment that is not a
 * power of two).
 *
 * Context: reads @map only; called by the pool, or by a custom algorithm
 * that delegates to it.
 */
unsigned long gen_pool_first_fit_align(unsigned long *map, unsigned long size,
				       unsigned long start, unsigned long nr,
				       void *data, struct gen_pool *pool,
				       unsigned long start_addr);

/**
 * gen_pool_first_fit_order_align - first fit aligned to its own size.
 * @map:        the chunk's bitmap
 * @size:       number of units (bits) in @map
 * @start:      first bit to consider
 * @nr:         number of units wanted
 * @data:       unused
 * @pool:       the pool
 * @start_addr: the chunk's start address
 *
 * The run starts at a multiple of @nr rounded up to a power of two, in
 * units from the chunk start.
 *
 * Return: the first bit of such a free run of @nr bits, or a value >= @size
 * if there is none.
 *
 * Context: reads @map only; called by the pool, or by a custom algorithm
 * that delegates to it.
 */
unsigned long gen_pool_first_fit_order_align(unsigned long *map,
					     unsigned long size,
					     unsigned long start,
					     unsigned long nr, void *data,
					     struct gen_pool *pool,
					     unsigned long start_addr);

/**
 * gen_pool_best_fit - a smallest free run that fits.
 * @map:        the chunk's bitmap
 * @size:       number of units (bits) in @map
 * @start:      first bit to consider
 * @nr:         number of units wanted
 * @data:       unused
 * @pool:       the pool
 * @start_addr: the chunk's start address
 *
 * Among the free runs of at least @nr bits, the shortest; the lowest one
 * on ties, as in the kernel.
 *
 * Return: the first bit of that run, or a value >= @size if there is none.
 *
 * Context: reads @map only; called by the pool, or by a custom algorithm
 * that delegates to it.
 */
unsigned long gen_pool_best_fit(unsigned long *map, unsigned long size,
				unsigned long start, unsigned long nr,
				void *data, struct gen_pool *pool,
				unsigned long start_addr);

/**
 * gen_pool_fixed_alloc - exactly at a given offset.
 * @map:        the chunk's bitmap
 * @size:       number of units (bits) in @map
 * @start:      first bit to consider
 * @nr:         number of units wanted
 * @data:       a struct genpool_data_fixed: the offset in bytes
 * @pool:       the pool
 * @start_addr: the chunk's start address
 *
 * The run starts at the offset from the chunk start (a multiple of the
 * unit); there is no fit if any of it is busy or out of the chunk.
 *
 * Return: the offset's bit, or a value >= @size if the run is not free.
 *
 * Context: reads @map only; called by the pool, or by a custom algorithm
 * that delegates to it.
 */
unsigned long gen_pool_fixed_alloc(unsigned long *map, unsigned long size,
				   unsigned long start, unsigned long nr,
				   void *data, struct gen_pool *pool,
				   unsigned long start_addr);

/**
 * gp_bitmap_find_next_zero_area_off - the kernel's bitmap helper, for users
 * writing their own algorithm.
 * @map:          the bitmap
 * @size:         its bits
 * @start:        first bit to consider
 * @nr:           run length
 * @align_mask:   alignment - 1 (in bits)
 * @align_offset: bit offset the alignment is measured from
 *
 * Return: the first bit of a free, aligned run of @nr bits, or a value
 * greater than @size if none.
 *
 * Context: reads @map only.
 */
unsigned long gp_bitmap_find_next_zero_area_off(const unsigned long *map,
						unsigned long size,
						unsigned long start,
						unsigned long nr,
						unsigned long align_mask,
						unsigned long align_offset);

/* --------------------------------------------------------------- misuse */

/** enum gp_misuse_policy - what the pool does after reporting misuse. */
enum gp_misuse_policy {
	GP_MISUSE_ABORT = 0,	/* report, then abort() (the kernel's BUG) */
	GP_MISUSE_REPORT = 1,	/* report, change nothing, return */
};

/** enum gp_misuse_kind - what was wrong. */
enum gp_misuse_kind {
	GP_MISUSE_BAD_ARGUMENT,	/* NULL pool, size 0, unaligned address... */
	GP_MISUSE_FOREIGN_ADDR,	/* no chunk holds the address */
	GP_MISUSE_PAST_END,	/* the range runs past its chunk's end */
	GP_MISUSE_DOUBLE_FREE,	/* some of the range is already free */
	GP_MISUSE_WRONG_SIZE,	/* allocated, but not exactly one allocation */
	GP_MISUSE_DESTROY_BUSY,	/* destroy with this allocation still live */
};

/**
 * struct gp_misuse_report - one detected misuse.
 * @pool:      the pool (may be NULL for a NULL-pool call)
 * @pool_name: its name, or "(unnamed)"
 * @kind:      what was wrong
 * @addr:      the address involved
 * @size:      the size involved
 * @what:      a one-line human-readable explanation
 */
struct gp_misuse_report {
	const struct gen_pool *pool;
	const char *pool_name;
	enum gp_misuse_kind kind;
	unsigned long addr;
	size_t size;
	const char *what;
};

/** gp_misuse_handler_t - receives reports; must not call into @pool. */
typedef void (*gp_misuse_handler_t)(const struct gp_misuse_report *report,
				    void *arg);

/**
 * gp_set_misuse_policy - choose abort (default) or report-and-return.
 * @pool:   the pool
 * @policy: GP_MISUSE_ABORT or GP_MISUSE_REPORT
 *
 * Return: 0, or -EINVAL for a NULL pool or unknown policy.
 *
 * Context: thread-safe (an atomic store).
 */
int gp_set_misuse_policy(struct gen_pool *pool, enum gp_misuse_policy policy);

/**
 * gp_set_misuse_handler - route the pool's reports to @handler.
 * @pool:    the pool
 * @handler: NULL restores the default, which prints one line to stderr
 * @arg:     passed to @handler
 *
 * Return: 0, or -EINVAL for a NULL pool.
 *
 * Context: call before the pool is shared.
 */
int gp_set_misuse_handler(struct gen_pool *pool, gp_misuse_handler_t handler,
			  void *arg);

/**
 * gp_misuse_kind_name - a short name for a misuse kind.
 * @kind: the kind, as a report carries it
 *
 * Return: a static string such as "double free", or "unknown".
 *
 * Context: thread-safe.
 */
const char *gp_misuse_kind_name(enum gp_misuse_kind kind);

/**
 * gp_check_alloc - would freeing this range be accepted?  Changes nothing.
 * @pool: the pool
 * @addr: address of the allocation
 * @size: its size in bytes (rounded up to units, as a free rounds it)
 * @who:  NULL: only return the answer; else a refusal is also reported
 *        through the pool's handler as "@who: why" and the pool's policy
 *        applies (abort by default)
 *
 * Returns 0 if [@addr, @addr + @size) is exactly one live allocation, else
 * the errno gp_free_checked() would return (-EINVAL, -EFAULT, -ERANGE,
 * -EALREADY, -EBADSLT).  A layer that keeps pool allocations (the per-CPU
 * cache) validates a free with it before taking the object.
 * Context: thread-safe, lock-free; a snapshot under concurrent frees.
 */
int gp_check_alloc(struct gen_pool *pool, unsigned long addr, size_t size,
		   const char *who);

/**
 * gp_report_misuse - report misuse a layer above the pool found.
 * @pool, @kind, @addr, @size: what the report says
 * @what: a one-line explanation (copied into the report)
 *
 * Goes to the pool's handler like the pool's own reports, then the pool's
 * policy applies: with GP_MISUSE_ABORT (the default) this does not return.
 * Context: thread-safe.
 */
void gp_report_misuse(struct gen_pool *pool, enum gp_misuse_kind kind,
		      unsigned long addr, size_t size, const char *what);

/* -------------------------------------------------------- introspection */

/**
 * gp_set_name - give the pool a name used in reports and statistics.
 * @pool: the pool
 * @name: the name (copied), or NULL to clear it
 *
 * Return: 0, -EINVAL (NULL pool) or -ENOMEM.
 *
 * Context: call before the pool is shared.
 */
int gp_set_name(struct gen_pool *pool, const char *name);

/**
 * gp_name - the pool's name.
 * @pool: the pool
 *
 * Return: the name given to gp_set_name() or devm_gen_pool_create(), or
 * NULL (no name, or a NULL pool).
 *
 * Context: thread-safe while the name is not being changed.
 */
const char *gp_name(const struct gen_pool *pool);

/**
 * struct gp_stats - a snapshot of a pool.
 * @chunks:        number of chunks
 * @size:          bytes managed
 * @avail:         bytes free
 * @in_use:        bytes allocated (size - avail)
 * @allocations:   live allocations
 * @failures:      allocations that failed since creation (no fit or bad
 *                 argument)
 * @largest_free:  bytes in the largest free run of any chunk
 * @fragmentation: 1 - largest_free / avail (0 when nothing is free)
 */
struct gp_stats {
	size_t chunks;
	size_t size;
	size_t avail;
	size_t in_use;
	uint64_t allocations;
	uint64_t failures;
	size_t largest_free;
	double fragmentation;
};

/**
 * gp_get_stats - fill @st with a snapshot of @pool.
 * @pool: the pool
 * @st:   receives the statistics
 *
 * Nothing is counted on the allocation path: the figures are derived from
 * the bitmaps.
 *
 * Return: 0, or -EINVAL for a NULL @pool or @st.
 *
 * Context: thread-safe; scans every bitmap (O(size)); concurrent
 * allocations make it a snapshot of a moving target.
 */
int gp_get_stats(struct gen_pool *pool, struct gp_stats *st);

/**
 * gp_for_each_allocation - call @func for every live allocation, in address
 * order within each chunk, chunks newest first.
 * @pool: the pool
 * @func: called with the pool, the allocation's address and rounded size
 *        (NULL: only count)
 * @data: passed through
 *
 * Return: the number of allocations visited, or -EINVAL for a NULL pool.
 *
 * Context: thread-safe; a snapshot only if nothing allocates or frees
 * meanwhile.
 */
long gp_for_each_allocation(struct gen_pool *pool,
			    void (*func)(struct gen_pool *pool,
					 unsigned long addr, size_t size,
					 void *data),
			    void *data);

/* ------------------------------------------------ devices (devm_*, of_*) */

/**
 * gp_device_create - create a user-space device object.
 * @name: the device's name (copied; may be NULL)
 *
 * Resources registered with a device (devm_gen_pool_create(),
 * gp_devm_add_action()) are released in reverse order by
 * gp_device_destroy().
 *
 * Return: the device or NULL (errno ENOMEM).
 *
 * Context: thread-safe.
 */
struct gp_device *gp_device_create(const char *name);

/**
 * gp_device_destroy - release the device's managed resources, newest
 * first, then the device.
 * @dev: the device (NULL is ignored)
 *
 * Context: no other thread may use the device or its pools.
 */
void gp_device_destroy(struct gp_device *dev);

/**
 * gp_device_name - the device's name.
 * @dev: the device
 *
 * Return: the name given to gp_device_create(), or NULL.
 *
 * Context: thread-safe.
 */
const char *gp_device_name(const struct gp_device *dev);

/**
 * gp_devm_add_action - run @action(@data) when @dev is destroyed.
 * @dev:    the device
 * @action: called with @data by gp_device_destroy(), newest action first
 * @data:   passed to @action
 *
 * Return: 0, -EINVAL (NULL @dev or @action) or -ENOMEM.
 *
 * Context: thread-safe.
 */
int gp_devm_add_action(struct gp_device *dev, void (*action)(void *data),
		       void *data);

/**
 * devm_gen_pool_create - create a pool owned by a device.
 * @dev:             the device
 * @min_alloc_order: as gen_pool_create()
 * @nid:             as gen_pool_create()
 * @name:            the pool's name on @dev (copied), or NULL
 *
 * The pool is destroyed when @dev is.
 *
 * Return: the pool, or NULL with errno set: EINVAL (bad argument, or @dev already has a pool of that name),
 * ENOMEM.  (The kernel returns ERR_PTR; user space has errno.)
 *
 * Context: thread-safe.
 */
struct gen_pool *devm_gen_pool_create(struct gp_device *dev,
				      int min_alloc_order, int nid,
				      const char *name);

/**
 * gen_pool_get - find a device's pool by name.
 * @dev:  the device
 * @name: the name, or NULL for the device's unnamed pool
 *
 * Return: the pool or NULL.
 *
 * Context: thread-safe.
 */
struct gen_pool *gen_pool_get(struct gp_device *dev, const char *name);

/**
 * struct gp_of_node - a node of a flattened device tree (struct
 * device_node in the kernel).
 * @fdt:    the device tree blob (must stay valid)
 * @offset: the node's offset in @fdt
 */
struct gp_of_node {
	const void *fdt;
	int offset;
};

/**
 * gp_device_set_of_node - bind @dev to a device-tree node.
 * @dev:    the device
 * @fdt:    the flattened device tree (must stay valid)
 * @offset: the node's offset in @fdt
 *
 * of_gen_pool_get() then finds the pools of @dev behind a phandle to the
 * node.
 *
 * Return: 0, -EINVAL (bad node) or -EEXIST (another device has that node).
 *
 * Context: thread-safe.
 */
int gp_device_set_of_node(struct gp_device *dev, const void *fdt, int offset);

/**
 * of_gen_pool_get - find the pool a device-tree property points to.
 * @np:       the node holding the property
 * @propname: a property holding phandles (e.g. "sram")
 * @index:    which phandle of the property
 *
 * The phandle's node is looked up among devices bound with
 * gp_device_set_of_node(); its unnamed pool is returned.  If no device is
 * bound to it, the pool named by the node's "label" property (or its full
 * name) on the device bound to its parent is returned, as in the kernel.
 *
 * Return: the pool, or NULL.
 *
 * Context: thread-safe.
 */
struct gen_pool *of_gen_pool_get(const struct gp_of_node *np,
				 const char *propname, int index);

#ifdef __cplusplus
}
#endif

#endif /* GENPOOL_GENALLOC_H */
