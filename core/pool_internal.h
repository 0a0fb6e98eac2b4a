/* SPDX-License-Identifier: MIT */
/*
 * core/pool_internal.h - the pool and chunk structures shared by core/.
 *
 * Each chunk carries two bitmaps:
 *   map    - 1 bit per unit, 1 = busy; the kernel's bitmap, handed to
 *            algorithms;
 *   bounds - 2 bits per unit: bit 2u = unit u is the first unit of a live
 *            allocation, bit 2u + 1 = unit u is its last unit.
 * Interleaving the two marks puts both ends of a small allocation in one
 * word, so one atomic OR marks it and one atomic AND unmarks it.  Marks
 * are set after a run is claimed and cleared before it is released, so a
 * correct free only ever inspects bits of its own allocation; that is what
 * lets free() tell a double free, a wrong size and an interior address
 * apart without false alarms under concurrency.
 */
#ifndef GENPOOL_CORE_POOL_INTERNAL_H
#define GENPOOL_CORE_POOL_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "genpool/genalloc.h"
#include "bitmap.h"
#include "export.h"
#include "search.h"

struct gp_chunk {
	struct gen_pool_chunk pub;	/* what users see; first member */
	struct gp_chunk *next;		/* older chunk; immutable once published */
	unsigned long nbits;		/* units in the chunk */
	size_t avail;			/* free bytes; atomic */
	unsigned long *map;
	unsigned long *bounds;
	struct gp_hints hints;		/* the engine's per-block hints */
};

struct gen_pool {
	struct gp_chunk *chunks;	/* newest first; atomic (acquire/release) */
	pthread_mutex_t add_lock;	/* serialises writers of @chunks */
	int min_alloc_order;
	int nid;
	genpool_algo_t algo;
	void *data;
	char *name;
	int policy;			/* enum gp_misuse_policy; atomic */
	gp_misuse_handler_t handler;
	void *handler_arg;
	uint64_t failures;		/* atomic; only the failure path writes */
	struct gp_device *device;	/* set when a device owns the pool */
	struct gp_stats_printer *printers; /* gp_stats_add_printer() */
};

/* Container of a public chunk view. */
static inline struct gp_chunk *gpi_chunk(const struct gen_pool_chunk *pub)
{
	return (struct gp_chunk *)pub;
}

/* Newest chunk of @pool (acquire: its contents are visible). */
static inline struct gp_chunk *gpi_first_chunk(const struct gen_pool *pool)
{
	return __atomic_load_n(&pool->chunks, __ATOMIC_ACQUIRE);
}

/* The chunk holding @addr, or NULL. */
struct gp_chunk *gpi_chunk_of(const struct gen_pool *pool, unsigned long addr);

/* Bytes in @chunk. */
static inline size_t gpi_chunk_size(const struct gp_chunk *chunk)
{
	return chunk->pub.end_addr - chunk->pub.start_addr + 1;
}

/* Run @algo on @c from bit @start for @nr units; built-in algorithms run
 * on the search engine (core/algorithms.c). */
unsigned long gpi_algo_run(struct gen_pool *pool, struct gp_chunk *c,
			   genpool_algo_t algo, void *data,
			   unsigned long start, unsigned long nr);

/* Words of metadata behind a chunk's map and bounds. */
static inline unsigned long gpi_chunk_map_words(unsigned long nbits)
{
	return gpi_bitmap_words(nbits) + gpi_bitmap_words(2 * nbits);
}

/*
 * Report misuse on @pool (may be NULL): call the handler, then abort if the
 * policy says so.  @fmt formats the explanation.
 */
void gpi_report(const struct gen_pool *pool, enum gp_misuse_kind kind,
		unsigned long addr, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Report, but never abort (used to list live allocations before aborting). */
void gpi_report_only(const struct gen_pool *pool, enum gp_misuse_kind kind,
		     unsigned long addr, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Abort if @pool's policy is GP_MISUSE_ABORT. */
void gpi_apply_policy(const struct gen_pool *pool);

/* Metadata memory (core/metadata.c): zeroed, from the node's arena. */
void *gpi_meta_zalloc(size_t size, int nid);
void gpi_meta_free(void *ptr, size_t size);
char *gpi_meta_strdup(const char *s, int nid);
void gpi_meta_strfree(char *s);

/* Is @nid NUMA_NO_NODE or a node this machine has? */
bool gpi_valid_nid(int nid);

/* Free a pool that has no live allocations (device.c uses it too). */
void gpi_pool_release(struct gen_pool *pool);

/* Drop the printers still registered on @pool (core/stats_print.c). */
void gpi_stats_drop_printers(struct gen_pool *pool);

/* Does @pool have live allocations? */
bool gpi_pool_busy(const struct gen_pool *pool);

#endif /* GENPOOL_CORE_POOL_INTERNAL_H */
