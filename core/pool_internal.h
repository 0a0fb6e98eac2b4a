/* SPDX-License-Identifier: MIT */
/*
 * core/pool_internal.h - the pool and chunk structures shared by core/.
 *
 * Each chunk carries its unit map (bitmap.h: busy bits and start marks,
 * two bits per unit), the engine's hole classes (hints.h, 1/32 bit per
 * unit) and, only once a user's own algorithm has run on it, a plain
 * kernel-layout view of its busy bits for that algorithm (view.c).
 *
 * What every operation reads (addresses, sizes, pointers) is kept apart
 * from what operations write: the byte counters, one cache line per
 * thread slot (thread_slot.h), and the hint counters (hints.h).
 */
#ifndef GENPOOL_CORE_POOL_INTERNAL_H
#define GENPOOL_CORE_POOL_INTERNAL_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "genpool/genalloc.h"
#include "bitmap.h"
#include "export.h"
#include "hints.h"
#include "thread_slot.h"

#define GP_CACHE_LINE 64

/* Bytes a thread slot took from a chunk (negative: it freed more than it
 * took), and the claims it began and ended there (a claim is "in transit"
 * from before its CAS until its hints are announced: pool.c); exactly one
 * cache line (the chunk is allocated on a line boundary: metadata.c), or
 * two threads' slots would share one and every operation would bounce it. */
struct gp_used {
	long bytes;
	unsigned long begun, ended;
} __attribute__((aligned(GP_CACHE_LINE)));

struct gp_chunk {
	struct gen_pool_chunk pub;	/* what users see; first member */
	struct gp_chunk *next;		/* older chunk; immutable once published */
	unsigned long nbits;		/* units in the chunk */
	unsigned long *um;		/* unit map */
	unsigned long serial;		/* names the chunk for thread hints */
	unsigned long *view;		/* plain view for user algorithms, or
					 * NULL; atomic (view.c) */
	bool view_ready;		/* atomic: the view is in step */
	struct gp_hints hints;		/* the engine's per-block hints */
	/* Every unit below it is busy (atomic): where first fit starts.
	 * Read by every allocation and free, written rarely: its own line. */
	unsigned long first_free __attribute__((aligned(GP_CACHE_LINE)));
	struct gp_used used[GP_THREAD_SLOTS + 1];
};

/* Units [@bit, ...) of @c were just released: keep every unit below
 * first_free busy.  seq_cst, after the release's RMW (pool.c explains). */
static inline void gpi_first_free_lower(struct gp_chunk *c, unsigned long bit)
{
	unsigned long ff = __atomic_load_n(&c->first_free, __ATOMIC_SEQ_CST);

	while (bit < ff &&
	       !__atomic_compare_exchange_n(&c->first_free, &ff, bit, false,
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		;
}

struct gen_pool {
	/* read by every operation */
	struct gp_chunk *chunks;	/* newest first; atomic (acquire/release) */
	int min_alloc_order;
	int nid;
	genpool_algo_t algo;
	void *data;
	char *name;
	int policy;			/* enum gp_misuse_policy; atomic */
	gp_misuse_handler_t handler;
	void *handler_arg;
	struct gp_device *device;	/* set when a device owns the pool */
	struct gp_stats_printer *printers; /* gp_stats_add_printer() */
	char pad0[GP_CACHE_LINE];
	pthread_mutex_t add_lock;	/* serialises writers of @chunks */
	char pad1[GP_CACHE_LINE];
	uint64_t failures;		/* atomic; only the failure path writes */
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
static inline struct gp_chunk *gpi_chunk_of(const struct gen_pool *pool,
					    unsigned long addr)
{
	struct gp_chunk *c;

	for (c = gpi_first_chunk(pool); c; c = c->next)
		if (addr - c->pub.start_addr <= c->pub.end_addr - c->pub.start_addr)
			return c;
	return NULL;
}

/* Bytes in @chunk. */
static inline size_t gpi_chunk_size(const struct gp_chunk *chunk)
{
	return chunk->pub.end_addr - chunk->pub.start_addr + 1;
}

/* Units needed for @size bytes, or 0 if @size is 0 or rounding overflows
 * (one compare: size - 1 wraps for 0). */
static inline unsigned long gpi_units_for(const struct gen_pool *pool,
					  size_t size)
{
	unsigned order = (unsigned)pool->min_alloc_order;

	if (size - 1 > SIZE_MAX - ((size_t)1 << order))
		return 0;
	return ((size - 1) >> order) + 1;
}

/* Find the chunk, first unit and unit count of a free of [@addr, +@size)
 * and check they make sense (pool, size, chunk, unit boundary, inside the
 * chunk).  0, or the errno gp_free_checked() gives, with @why set.
 * Inline: on the path of every free. */
static inline __attribute__((always_inline)) int
gpi_locate_range(const struct gen_pool *pool, unsigned long addr, size_t size,
		 struct gp_chunk **chunk, unsigned long *bit,
		 unsigned long *nr, const char **why)
{
	struct gp_chunk *c;
	unsigned long off;

	if (!pool) {
		*why = "NULL pool";
		return -EINVAL;
	}
	*nr = gpi_units_for(pool, size);
	if (!*nr) {
		*why = size ? "size overflows when rounded to units" : "size is 0";
		return -EINVAL;
	}
	c = gpi_chunk_of(pool, addr);
	if (!c) {
		*why = "no chunk of the pool holds this address";
		return -EFAULT;
	}
	off = addr - c->pub.start_addr;
	if (off & (((unsigned long)1 << pool->min_alloc_order) - 1)) {
		*why = "address is not on a unit boundary of its chunk";
		return -EINVAL;
	}
	*bit = off >> pool->min_alloc_order;
	if (*nr > c->nbits - *bit) {
		*why = "range runs past the end of its chunk";
		return -ERANGE;
	}
	*chunk = c;
	return 0;
}

/* Free bytes of @c: a snapshot, exact when the chunk is quiet. */
size_t gpi_chunk_avail(const struct gp_chunk *c);

/* gpi_used_add() for a thread without a slot of its own yet, or sharing
 * the last one (pool.c). */
void gpi_used_add_shared(struct gp_chunk *c, long delta);

/*
 * Add @delta to a counter in the calling thread's own slot (no other thread
 * writes it, so no lock): one instruction on x86-64, so a signal handler
 * that allocates cannot tear it; elsewhere a load and a release store.
 * Ordered by the compiler where the code puts it.
 */
static inline void gpi_own_add(unsigned long *p, unsigned long delta)
{
#if defined(__x86_64__) && !GPI_TSAN
	__asm__ __volatile__("addq %1, %0" : "+m"(*p) : "er"(delta) : "memory");
#else
	__atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + delta,
			 __ATOMIC_RELEASE);
#endif
}

/*
 * Count @delta bytes taken (or, negative, given back) by the calling
 * thread.  One compare sends the threads without a slot of their own (no
 * slot yet: -1; the shared one) out of line.
 */
static inline void gpi_used_add(struct gp_chunk *c, long delta)
{
	unsigned s = (unsigned)gpi_self.slot;

	if (__builtin_expect(s >= GP_THREAD_SLOTS, 0)) {
		gpi_used_add_shared(c, delta);
		return;
	}
	gpi_own_add((unsigned long *)&c->used[s].bytes, (unsigned long)delta);
}

/* Add one to the calling thread's slot counter @p (slot @s); the shared
 * slot's with an atomic add. */
static inline void gpi_slot_inc(unsigned long *p, int s)
{
	if (s == GP_THREAD_SLOTS)
		__atomic_fetch_add(p, 1, __ATOMIC_RELEASE);
	else
		gpi_own_add(p, 1);
}

/*
 * A claim in @c begins: before its unit-map CAS, whose release orders this
 * count before the CAS for anyone who sees the CAS's effect.  Until
 * gpi_transit_end() the hole it takes from may have no hint (pool.c).
 * Returns the calling thread's slot, for gpi_transit_end().
 */
static inline int gpi_transit_begin(struct gp_chunk *c)
{
	int s = gpi_thread_slot();

	gpi_slot_inc(&c->used[s].begun, s);
	return s;
}

/* The claim that gpi_transit_begin() (which returned @s) counted has its
 * hints announced (a release: they are visible to whoever reads this
 * count). */
static inline void gpi_transit_end(struct gp_chunk *c, int s)
{
	gpi_slot_inc(&c->used[s].ended, s);
}

/* Is @algo first fit, first fit aligned or order-aligned (placements that
 * move forward: a later call never lands below an earlier one)? */
static inline bool gpi_algo_first_fit_family(genpool_algo_t algo)
{
	return algo == gen_pool_first_fit || algo == gen_pool_first_fit_align ||
	       algo == gen_pool_first_fit_order_align;
}

/* Is @algo one of the five built-in algorithms? */
bool gpi_algo_builtin(genpool_algo_t algo);

/* The alignment a first-fit-family @algo searches @c with for @nr units
 * (mask and offset, in units, as gpi_engine_find() takes them); false if
 * its data makes every search fail. */
bool gpi_algo_forward_align(const struct gen_pool *pool,
			    const struct gp_chunk *c, genpool_algo_t algo,
			    void *data, unsigned long nr,
			    unsigned long *align_mask,
			    unsigned long *align_offset);

/* Run @algo on @c from bit @start for @nr units; built-in algorithms run
 * on the search engine (core/algorithms.c).  GPI_NO_FIT if none. */
unsigned long gpi_algo_run(struct gen_pool *pool, struct gp_chunk *c,
			   genpool_algo_t algo, void *data,
			   unsigned long start, unsigned long nr);

/* The plain view of @c for a user's algorithm (view.c): made on first
 * use, then kept in step.  NULL if it cannot be allocated. */
unsigned long *gpi_view_get(struct gp_chunk *c);

/* Bring the view's words over [@bit, @bit + @nr) in step with the unit
 * map (a claim from what the view showed failed). */
void gpi_view_resync(struct gp_chunk *c, unsigned long bit, unsigned long nr);

/* After [@bit, @bit + @nr) was claimed (@busy) or released in the unit
 * map: the same in the view, if there is one. */
void gpi_view_change(struct gp_chunk *c, unsigned long bit, unsigned long nr,
		     bool busy);

static inline void gpi_view_update(struct gp_chunk *c, unsigned long bit,
				   unsigned long nr, bool busy)
{
	/* seq_cst: ordered after the unit map RMW (view.c). */
	if (__builtin_expect(__atomic_load_n(&c->view, __ATOMIC_SEQ_CST) !=
			     NULL, 0))
		gpi_view_change(c, bit, nr, busy);
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

/* Metadata memory (core/metadata.c): zeroed, from the node's arena, on a
 * cache line boundary. */
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

/* Where the calling thread's first fits in @c start: the chunk's
 * first_free, or (*@spread) a stretch of its own after it met contention
 * there; the move past a contended unit @bit; and the move of first_free
 * up after a first fit from @from landed at @bit. */
unsigned long gpi_first_fit_start(const struct gp_chunk *c, bool *spread);
/* How far past first_free a first fit must land to move it. */
#define GP_FIRST_FREE_LAG 128UL
unsigned long gpi_move_past(const struct gp_chunk *c, unsigned long bit);
void gpi_first_free_advance(struct gp_chunk *c, unsigned long from,
			    unsigned long bit);

/* The allocation and free paths that gp_alloc_bulk()/gp_free_bulk()
 * (bulk.c) share with the single calls (pool.c). */
unsigned long gpi_alloc_in_chunk(struct gen_pool *pool, struct gp_chunk *c,
				 unsigned long nr, genpool_algo_t algo,
				 void *data);

/* What a -EALREADY or -EBADSLT from the unit map means, in words. */
const char *gpi_inexact_why(int err);

int gpi_free_range(struct gen_pool *pool, unsigned long addr, size_t size,
		   void **owner, const char **why);
enum gp_misuse_kind gpi_free_misuse_kind(int err);
void gpi_count_failure(struct gen_pool *pool);

#endif /* GENPOOL_CORE_POOL_INTERNAL_H */
