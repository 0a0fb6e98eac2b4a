// SPDX-License-Identifier: MIT
/*
 * core/pool.c - pools, chunks, allocation and free.
 *
 * Concurrency model (the kernel's, without RCU): chunks are only ever pushed
 * at the head of a singly linked list and freed only by gen_pool_destroy(),
 * so readers walk the list with an acquire load of the head and need no
 * lock.  Writers (gen_pool_add_owner) serialise on add_lock to check for
 * overlap.  Allocation claims unit runs with CAS (bounds.h) and retries on
 * conflict; free checks that the range is exactly one live allocation and
 * releases it in one CAS (bounds.h).
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "bitmap.h"
#include "bounds.h"
#include "pool_internal.h"
#include "search.h"

/* A claim that fails this often in a row at one chunk gives up on it:
 * only a user algorithm returning busy runs can get here. */
#define GP_CLAIM_RETRIES (1UL << 20)

/* ------------------------------------------------------------- helpers */

static size_t unit_of(const struct gen_pool *pool)
{
	return (size_t)1 << pool->min_alloc_order;
}

size_t gpi_chunk_avail(const struct gp_chunk *c)
{
	long used = 0;

	for (int s = 0; s <= GP_THREAD_SLOTS; s++)
		used += __atomic_load_n(&c->used[s].bytes, __ATOMIC_RELAXED);
	/* The slots are read one after another: while threads churn, the
	 * sum can stray past either end; a snapshot stays in range. */
	if (used < 0)
		return gpi_chunk_size(c);
	return (size_t)used > gpi_chunk_size(c) ? 0
						 : gpi_chunk_size(c) - (size_t)used;
}

void gpi_used_add_shared(struct gp_chunk *c, long delta)
{
	int s = gpi_thread_slot();

	if (s == GP_THREAD_SLOTS)
		__atomic_fetch_add(&c->used[s].bytes, delta, __ATOMIC_RELAXED);
	else
		gpi_used_add(c, delta);
}

bool gpi_pool_busy(const struct gen_pool *pool)
{
	const struct gp_chunk *c;

	for (c = gpi_first_chunk(pool); c; c = c->next)
		if (gpi_chunk_avail(c) != gpi_chunk_size(c))
			return true;
	return false;
}

/* ------------------------------------------------------------- pools */

GP_EXPORT struct gen_pool *gen_pool_create(int min_alloc_order, int nid)
{
	struct gen_pool *pool;

	if (min_alloc_order < 0 || min_alloc_order > GP_MAX_ORDER ||
	    !gpi_valid_nid(nid)) {
		errno = EINVAL;
		return NULL;
	}
	/* The unit map needs a double-width CAS (bitmap.h): every x86-64
	 * CPU since about 2006 has cmpxchg16b. */
	if (!gpi_cas2_supported()) {
		errno = ENOTSUP;
		return NULL;
	}
	pool = gpi_meta_zalloc(sizeof(*pool), nid);
	if (!pool) {
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&pool->add_lock, NULL);
	pool->min_alloc_order = min_alloc_order;
	pool->nid = nid;
	pool->algo = gen_pool_first_fit;
	pool->policy = GP_MISUSE_ABORT;
	return pool;
}

/* Free a chunk's metadata. */
static void free_chunk(struct gp_chunk *c)
{
	/* A unit map allocated at the same place later is another's. */
	if ((uintptr_t)gpi_self.seen_at - (uintptr_t)c->um <
	    gpi_umap_words(c->nbits) * sizeof(unsigned long))
		gpi_self.seen_at = NULL;
	gpi_meta_free(c->um, gpi_umap_words(c->nbits) * sizeof(unsigned long));
	gpi_meta_free(c->view, gpi_bitmap_words(c->nbits) *
			       sizeof(unsigned long));
	gpi_meta_free(c->hints.cls, gpi_hint_bytes(c->nbits));
	gpi_meta_free(c, sizeof(*c));
}

void gpi_pool_release(struct gen_pool *pool)
{
	struct gp_chunk *c, *next;

	for (c = pool->chunks; c; c = next) {
		next = c->next;
		free_chunk(c);
	}
	gpi_stats_drop_printers(pool);
	pthread_mutex_destroy(&pool->add_lock);
	gpi_meta_strfree(pool->name);
	gpi_meta_free(pool, sizeof(*pool));
}

/* Report every live allocation of @pool (used before refusing a destroy). */
static void report_live(struct gen_pool *pool, unsigned long addr,
			size_t size, void *data)
{
	gpi_report_only(pool, GP_MISUSE_DESTROY_BUSY, addr, size,
			"still allocated when the pool was destroyed");
}

GP_EXPORT int gp_destroy_checked(struct gen_pool *pool)
{
	if (!pool)
		return -EINVAL;
	if (pool->device)
		return -EPERM;
	if (gpi_pool_busy(pool))
		return -EBUSY;
	gpi_pool_release(pool);
	return 0;
}

GP_EXPORT void gen_pool_destroy(struct gen_pool *pool)
{
	long n;

	if (!pool) {
		gpi_report(NULL, GP_MISUSE_BAD_ARGUMENT, 0, 0,
			   "gen_pool_destroy: NULL pool");
		return;
	}
	if (pool->device) {
		gpi_report(pool, GP_MISUSE_BAD_ARGUMENT, 0, 0,
			   "gen_pool_destroy: the pool belongs to device '%s'; "
			   "destroying the device destroys it",
			   gp_device_name(pool->device) ?
			   gp_device_name(pool->device) : "(unnamed)");
		return;
	}
	if (gpi_pool_busy(pool)) {
		n = gp_for_each_allocation(pool, report_live, NULL);
		gpi_report(pool, GP_MISUSE_DESTROY_BUSY, 0,
			   gen_pool_size(pool) - gen_pool_avail(pool),
			   "gen_pool_destroy: %ld allocation(s) still live; "
			   "pool left intact", n);
		return;
	}
	gpi_pool_release(pool);
}

/* ------------------------------------------------------------- memory */

/* Does [start, end] overlap a chunk of @pool?  Caller holds add_lock. */
static bool overlaps_chunk(const struct gen_pool *pool, unsigned long start,
			   unsigned long end)
{
	const struct gp_chunk *c;

	for (c = pool->chunks; c; c = c->next)
		if (start <= c->pub.end_addr && c->pub.start_addr <= end)
			return true;
	return false;
}

/* Why the chunk [virt, virt + size) cannot be added, or NULL. */
static const char *bad_chunk(const struct gen_pool *pool, unsigned long virt,
			     phys_addr_t phys, size_t size, int nid)
{
	if (size == 0)
		return "size is 0";
	if (!gpi_is_aligned(size, unit_of(pool)))
		return "size is not a multiple of the pool's unit";
	if (virt == 0)
		return "address 0 is the allocation failure value";
	/* The alignment arithmetic (as the kernel's) assumes it. */
	if (!gpi_is_aligned(virt, unit_of(pool)))
		return "address is not a multiple of the pool's unit";
	if (size - 1 > ULONG_MAX - virt)
		return "range wraps around the address space";
	if (phys != GP_NO_PHYS && size - 1 > GP_NO_PHYS - 1 - phys)
		return "physical range wraps around";
	if (!gpi_valid_nid(nid))
		return "no such NUMA node";
	return NULL;
}

GP_EXPORT int gen_pool_add_owner(struct gen_pool *pool, unsigned long virt,
				 phys_addr_t phys, size_t size, int nid,
				 void *owner)
{
	static unsigned long serials;	/* atomic */
	const char *why;
	struct gp_chunk *c;
	unsigned long nbits;
	uint16_t *hints;
	int ret = 0;

	if (!pool) {
		gpi_report_only(NULL, GP_MISUSE_BAD_ARGUMENT, virt, size,
				"gen_pool_add_owner: NULL pool");
		return -EINVAL;
	}
	why = bad_chunk(pool, virt, phys, size, nid);
	if (why) {
		gpi_report_only(pool, GP_MISUSE_BAD_ARGUMENT, virt, size,
				"gen_pool_add_owner: %s", why);
		return -EINVAL;
	}
	nbits = size >> pool->min_alloc_order;
	c = gpi_meta_zalloc(sizeof(*c), nid);
	if (!c)
		return -ENOMEM;
	c->nbits = nbits;
	c->um = gpi_meta_zalloc(gpi_umap_words(nbits) * sizeof(unsigned long),
				nid);
	hints = gpi_meta_zalloc(gpi_hint_bytes(nbits), nid);
	if (!c->um || !hints) {
		gpi_meta_free(hints, gpi_hint_bytes(nbits));
		c->hints.cls = NULL;
		free_chunk(c);
		return -ENOMEM;
	}
	gpi_hints_init(&c->hints, hints, nbits);
	c->hints.exact = c->hints.exact_ready = pool->algo == gen_pool_best_fit;
	c->serial = __atomic_add_fetch(&serials, 1, __ATOMIC_RELAXED);
	c->pub.start_addr = virt;
	c->pub.end_addr = virt + (size - 1);
	c->pub.phys_addr = phys;
	c->pub.owner = owner;
	c->pub.nid = nid;

	pthread_mutex_lock(&pool->add_lock);
	if (overlaps_chunk(pool, virt, c->pub.end_addr)) {
		ret = -EEXIST;
	} else {
		c->next = pool->chunks;
		__atomic_store_n(&pool->chunks, c, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&pool->add_lock);
	if (ret) {
		gpi_report_only(pool, GP_MISUSE_BAD_ARGUMENT, virt, size,
				"gen_pool_add_owner: overlaps a chunk "
				"already in the pool");
		free_chunk(c);
	}
	return ret;
}

GP_EXPORT int gen_pool_add_virt(struct gen_pool *pool, unsigned long virt,
				phys_addr_t phys, size_t size, int nid)
{
	return gen_pool_add_owner(pool, virt, phys, size, nid, NULL);
}

GP_EXPORT int gen_pool_add(struct gen_pool *pool, unsigned long addr,
			   size_t size, int nid)
{
	return gen_pool_add_virt(pool, addr, GP_NO_PHYS, size, nid);
}

/* --------------------------------------------------------- allocation */

/* Claims a thread makes after contention before it tries the chunk's
 * true first fit again. */
#define GP_CALM_CLAIMS 1024UL
/*
 * How far apart contended threads' first fits start: more than the 1024
 * units a hole's upkeep may read back past a claim or free (hints.h), so a
 * thread's upkeep never reads the lines another thread is writing.
 */
#define GP_SPREAD_UNITS (2 * GP_TOP_CLASS_MIN)

/*
 * The calling thread lost a CAS at unit @bit of @c: from now on its first
 * fits in @c start past that place, in a stretch of their own (one per
 * thread slot), instead of racing the other threads for the same first
 * hole.  A thread that never meets contention keeps the exact first fit.
 */
unsigned long gpi_move_past(const struct gp_chunk *c, unsigned long bit)
{
	unsigned long start = (bit / GP_SPREAD_UNITS + 1 +
			       (unsigned long)gpi_thread_slot()) *
			      GP_SPREAD_UNITS;

	if (start >= c->nbits)
		start = 0;
	gpi_self.chunk = c->serial;
	gpi_self.start = start;
	gpi_self.calm = 0;
	return start;
}

unsigned long gpi_first_fit_start(const struct gp_chunk *c, bool *spread)
{
	*spread = false;
	if (__builtin_expect(gpi_self.chunk == c->serial, 0)) {
		if (++gpi_self.calm > GP_CALM_CLAIMS)
			gpi_self.chunk = 0;	/* calm again: the true first fit */
		*spread = true;
		return gpi_self.start;
	}
	return __atomic_load_n(&c->first_free, __ATOMIC_RELAXED);
}

/*
 * First fit from @from found its place at @bit: if that lies well past
 * the chunk's first_free (the pool filled up), move first_free up to the
 * first free unit at or after @from, so later searches skip the busy
 * prefix.  A release below first_free lowers it after its RMW; we store
 * it, then read the units we skipped again (all seq_cst): either that
 * release's load sees our store and lowers it, or our second read sees
 * the unit free and we lower it ourselves (the store-buffering pattern).
 */
void gpi_first_free_advance(struct gp_chunk *c, unsigned long from,
			    unsigned long bit)
{
	unsigned long ff, again;

	/* Well past it (the caller checked), and not just because small
	 * holes come first. */
	if (!gpi_umap_busy(c->um, from))
		return;
	ff = gpi_unext_free(c->um, bit, from);
	if (ff <= from || !__atomic_compare_exchange_n(&c->first_free, &from,
						       ff, false,
						       __ATOMIC_SEQ_CST,
						       __ATOMIC_RELAXED))
		return;
	again = gpi_find_next_t(c->um, ff, from, ~0UL, gpi_umap_busy64_sc);
	if (again < ff)
		gpi_first_free_lower(c, again);
}

/*
 * What a claim of [@bit, @bit + @nr) in @c leaves to do: a first fit that
 * met contention (@move_past) moves the thread's start; then the view and
 * the hints (@free_before: the unit before @bit is free).
 */
static inline __attribute__((always_inline)) void
after_claim(struct gp_chunk *c, unsigned long bit, unsigned long nr,
	    bool move_past, bool free_before)
{
	if (__builtin_expect(move_past, 0))
		gpi_move_past(c, bit);
	gpi_view_update(c, bit, nr, true);
	gpi_hints_claimed_at(&c->hints, c->um, c->nbits, bit, nr, free_before);
}

/*
 * after_claim() for a claim a search from @from found: one from first_free
 * (@from_first_free) that landed well past it, uncontended, moves
 * first_free first.
 */
static inline __attribute__((always_inline)) void
after_search_claim(struct gp_chunk *c, unsigned long from, unsigned long bit,
		   unsigned long nr, bool move_past, bool from_first_free)
{
	if (from_first_free && !move_past && bit >= from + GP_FIRST_FREE_LAG)
		gpi_first_free_advance(c, from, bit);
	after_claim(c, bit, nr, move_past,
		    bit > 0 && !gpi_hints_busy(c->um, bit - 1));
}

unsigned long gpi_alloc_in_chunk(struct gen_pool *pool, struct gp_chunk *c,
				 unsigned long nr, genpool_algo_t algo,
				 void *data)
{
	bool forward = gpi_algo_first_fit_family(algo), contended, spread = false;
	unsigned long start = 0, from, bit, tries;
	int slot;

	if (forward && gpi_search_path() != GP_SEARCH_REFERENCE)
		start = gpi_first_fit_start(c, &spread);
	from = start;
	for (tries = 0; tries < GP_CLAIM_RETRIES; tries++) {
		/* Plain first fit, the default, straight to the engine. */
		if (__builtin_expect(algo == gen_pool_first_fit, 1))
			bit = gpi_engine_find(&c->hints, c->um, c->nbits, start,
					      nr, 0, 0);
		else
			bit = gpi_algo_run(pool, c, algo, data, start, nr);
		/* A user algorithm may return anything: check the run fits. */
		if (bit >= c->nbits || nr > c->nbits - bit) {
			/* Nothing past a thread's own start: the whole chunk
			 * (first_free needs no second look: all below it
			 * is busy). */
			if (spread) {
				spread = false;
				start = from = __atomic_load_n(&c->first_free,
							       __ATOMIC_RELAXED);
				continue;
			}
			return GPI_NO_FIT;
		}
		contended = false;
		slot = gpi_transit_begin(c);
		if (gpi_umap_claim(c->um, bit, nr, &contended)) {
			after_search_claim(c, from, bit, nr, contended && forward,
					   forward && !spread);
			gpi_transit_end(c, slot);
			return bit;
		}
		/* A claim across words may have set and rolled back some:
		 * others saw those units busy and announced shorter holes, so
		 * the hole they belong to again must be announced, as a
		 * free's. */
		if (!gpi_umap_one_group(bit, nr))
			gpi_hints_released(&c->hints, c->um, c->nbits, bit, nr);
		gpi_transit_end(c, slot);
		if (!gpi_algo_builtin(algo))
			gpi_view_resync(c, bit, nr);
		/* The kernel asks again from the lost bit; the first-fit
		 * family moves past the contended place. */
		if (forward) {
			start = from = gpi_move_past(c, bit);
			spread = true;
		} else {
			start = bit;
		}
	}
	return GPI_NO_FIT;
}

/*
 * Why a search may say "no fit" with room to spare, and what is done.  A
 * claim moves the hole it takes from: the piece it leaves may start in
 * the next block, or be of a smaller class, and its hint is announced
 * only after the claim's CAS.  Meanwhile the hole's old hint is stale,
 * and a search that finds it so repairs it away: until the claimer
 * announces, no hint shows the piece, and a search (or the screen by the
 * class counters) misses it.  On a loaded machine a claimer preempted
 * there holds that window open for milliseconds.  So a search that fails
 * is not believed at once: the claims in transit in the chunk (begun, not
 * ended: gpi_transit_begin()) are waited out, the search is run again,
 * and its failure stands only if no claim began in the chunk meanwhile
 * (the acquire fence and loads below see any whose CAS that search saw,
 * directly or through a repair's release).  Failures are the slow path;
 * claims pay two increments of their own slot's line.
 */
#define GP_SETTLE_ROUNDS 8
/* sched_yield()s to wait for one claim in transit (it runs no lock). */
#define GP_SETTLE_YIELDS 100000UL

/* Are slot @s's claims other threads' for the thread in slot @self?  Its
 * own slot's are not waited for (a signal handler may have interrupted its
 * claim); the shared slot's are. */
static bool transit_others(int s, int self)
{
	return s != self || s == GP_THREAD_SLOTS;
}

/* Claims begun in @c per slot, once other threads' in transit have ended. */
static void transit_settle(struct gp_chunk *c, unsigned long begun[])
{
	int self = gpi_thread_slot();

	for (int s = 0; s <= GP_THREAD_SLOTS; s++) {
		begun[s] = __atomic_load_n(&c->used[s].begun, __ATOMIC_ACQUIRE);
		if (!transit_others(s, self))
			continue;
		for (unsigned long y = 0; y < GP_SETTLE_YIELDS &&
		     (long)(__atomic_load_n(&c->used[s].ended, __ATOMIC_ACQUIRE) -
			    begun[s]) < 0; y++)
			sched_yield();
	}
}

/* Did no other thread begin a claim in @c since transit_settle()? */
static bool transit_quiet(struct gp_chunk *c, const unsigned long begun[])
{
	int self = gpi_thread_slot();

	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	for (int s = 0; s <= GP_THREAD_SLOTS; s++)
		if (transit_others(s, self) &&
		    __atomic_load_n(&c->used[s].begun, __ATOMIC_ACQUIRE) !=
		    begun[s])
			return false;
	return true;
}

/* Screen @c by its hole classes, then allocate in it. */
static unsigned long alloc_screened(struct gen_pool *pool, struct gp_chunk *c,
				    unsigned long nr, genpool_algo_t algo,
				    void *data)
{
	/* Screened by the largest hole class present, on every path: free
	 * bytes alone say nothing about a fragmented chunk (and the kernel
	 * compared the unrounded size with them). */
	if (!gpi_hints_may_fit(&c->hints, nr))
		return GPI_NO_FIT;
	return gpi_alloc_in_chunk(pool, c, nr, algo, data);
}

/* @c had no fit for @nr units: make sure of it (see above).  Too few
 * free bytes need no second look.  Out of line: the slow path. */
static __attribute__((noinline)) unsigned long
alloc_settled(struct gen_pool *pool, struct gp_chunk *c, unsigned long nr,
	      genpool_algo_t algo, void *data)
{
	unsigned long begun[GP_THREAD_SLOTS + 1], bit = GPI_NO_FIT;

	if (gpi_chunk_avail(c) >> pool->min_alloc_order < nr)
		return GPI_NO_FIT;
	for (int round = 0; round < GP_SETTLE_ROUNDS; round++) {
		transit_settle(c, begun);
		bit = alloc_screened(pool, c, nr, algo, data);
		if (bit != GPI_NO_FIT || transit_quiet(c, begun))
			break;
	}
	return bit;
}

/* Count a failed allocation on @pool (the failure path only: no shared
 * cache line on the success path). */
void gpi_count_failure(struct gen_pool *pool)
{
	if (pool)
		__atomic_fetch_add(&pool->failures, 1, __ATOMIC_RELAXED);
}

/*
 * A short run's first fit from first_free (@from) in the rest of its
 * block, word at a time, claimed: the usual next place in a full pool.
 * false (nothing changed): the general path.  Out of line.
 */
static __attribute__((noinline)) bool
first_fit_in_block(struct gp_chunk *c, unsigned long from, unsigned long nr,
		   unsigned long *bit)
{
	unsigned long hi = (from / GP_BLOCK_BITS + 1) * GP_BLOCK_BITS;
	bool contended = false, claimed;
	int slot;

	*bit = gpi_umap_first_fit_small(c->um, c->nbits, from,
					hi < c->nbits ? hi : c->nbits, nr);
	if (*bit == GPI_NO_FIT)
		return false;
	slot = gpi_transit_begin(c);
	claimed = gpi_umap_claim(c->um, *bit, nr, &contended);
	if (claimed)
		after_search_claim(c, from, *bit, nr, contended, true);
	gpi_transit_end(c, slot);
	return claimed;
}

/*
 * The everyday allocation, inline: plain first fit of at most a group's
 * units whose run lies in the group holding the thread's first-fit start
 * (first_free, where a first fit in a lightly used pool lands, or the
 * stretch a contended thread moved to), claimed with one CAS; its first
 * unit in *@bit.  false sends the call on (nothing changed): a run
 * further on.
 */
static inline __attribute__((always_inline)) bool
first_fit_in_group(struct gp_chunk *c, unsigned long nr, unsigned long *bit)
{
	unsigned long from, lo, before;
	bool contended = false, spread;
	int slot;

	from = gpi_first_fit_start(c, &spread);
	/* Another thread works first_free's group too (its line bounces
	 * though the CASes may all succeed): move away as after a lost CAS. */
	if (__builtin_expect(!spread && gpi_umap_changed_by_other(
				     c->um, from / GP_GROUP_UNITS), 0)) {
		from = gpi_move_past(c, from);
		spread = true;
	}
	slot = gpi_transit_begin(c);
	if (!gpi_umap_claim_first_in_group(c->um, c->nbits, from, nr, bit,
					   &before, &contended)) {
		gpi_transit_end(c, slot);
		return !spread && nr <= GP_WORD_SCAN_UNITS &&
		       first_fit_in_block(c, from, nr, bit);
	}
	/* first_free stays: bit lies within GP_GROUP_UNITS <
	 * GP_FIRST_FREE_LAG of it (or the thread's own start, which never
	 * moves it).  The unit before, from the word the CAS replaced when it
	 * is in the group (the RMW read it latest: hints.c). */
	lo = *bit % GP_GROUP_UNITS;
	after_claim(c, *bit, nr, contended,
		    lo ? !(before >> (lo - 1) & 1)
		       : *bit > 0 && !gpi_hints_busy(c->um, *bit - 1));
	gpi_transit_end(c, slot);
	return true;
}

/*
 * The everyday allocation, inline in each entry point: a first fit of at
 * most a group's units in the newest chunk, first_fit_in_group()'s or the
 * engine's, its address in *@addr.  false (nothing changed): then
 * alloc_slow() decides.  No chunk screen before the group: a run found
 * there is a hole the screen would have passed.
 */
static inline __attribute__((always_inline)) bool
alloc_fast(struct gen_pool *pool, size_t size, genpool_algo_t algo,
	   void **owner, unsigned long *addr)
{
	struct gp_chunk *c;
	unsigned long nr, bit;

	if (!pool || !(c = gpi_first_chunk(pool)))
		return false;
	if (!algo)
		algo = pool->algo;
	nr = gpi_units_for(pool, size);
	if (algo != gen_pool_first_fit || nr - 1 >= GP_GROUP_UNITS ||
	    __atomic_load_n(&gpi_current_path, __ATOMIC_RELAXED) <=
	    GP_SEARCH_REFERENCE)
		return false;
	/* Not in that group: the rest of this chunk's first fit, on its
	 * screen, before the general path (which starts over). */
	if (!first_fit_in_group(c, nr, &bit) &&
	    (bit = alloc_screened(pool, c, nr, algo, NULL)) == GPI_NO_FIT)
		return false;
	gpi_used_add(c, (long)(nr << pool->min_alloc_order));
	if (owner)
		*owner = c->pub.owner;
	*addr = c->pub.start_addr + (bit << pool->min_alloc_order);
	return true;
}

/*
 * Every allocation, in full: the address, or 0 with *@err set (and the
 * failure counted, as the kernel API counts it).  *@owner is set on
 * success only.
 */
static __attribute__((noinline)) unsigned long
alloc_slow(struct gen_pool *pool, size_t size, genpool_algo_t algo,
	   void *data, void **owner, int *err)
{
	struct gp_chunk *c;
	unsigned long nr, bit;

	if (!pool) {
		*err = -EINVAL;
		return 0;
	}
	nr = gpi_units_for(pool, size);
	if (!nr) {
		gpi_count_failure(pool);
		*err = -EINVAL;
		return 0;
	}
	if (!algo) {
		algo = pool->algo;
		data = pool->data;
	}
	for (c = gpi_first_chunk(pool); c; c = c->next) {
		bit = alloc_screened(pool, c, nr, algo, data);
		if (bit == GPI_NO_FIT)
			bit = alloc_settled(pool, c, nr, algo, data);
		if (bit == GPI_NO_FIT)
			continue;
		gpi_used_add(c, (long)(nr << pool->min_alloc_order));
		if (owner)
			*owner = c->pub.owner;
		return c->pub.start_addr + (bit << pool->min_alloc_order);
	}
	gpi_count_failure(pool);
	*err = -ENOMEM;
	return 0;
}

GP_EXPORT int gp_alloc_checked(struct gen_pool *pool, size_t size,
			       genpool_algo_t algo, void *data,
			       unsigned long *addr, void **owner)
{
	int err = 0;

	if (owner)
		*owner = NULL;
	if (!addr)
		return -EINVAL;
	if (!alloc_fast(pool, size, algo, owner, addr))
		*addr = alloc_slow(pool, size, algo, data, owner, &err);
	return err;
}

/* alloc_slow() with the kernel's shape: 0 and errno on failure. */
static __attribute__((noinline)) unsigned long
alloc_or_errno(struct gen_pool *pool, size_t size, genpool_algo_t algo,
	       void *data, void **owner)
{
	unsigned long addr;
	int err = 0;

	addr = alloc_slow(pool, size, algo, data, owner, &err);
	if (!addr)
		errno = -err;
	return addr;
}

/* The kernel-shaped entry points: the inline first fit, else the rest.
 * @owner is cleared first, as a failure leaves it. */
static inline __attribute__((always_inline)) unsigned long
alloc_entry(struct gen_pool *pool, size_t size, genpool_algo_t algo,
	    void *data, void **owner)
{
	unsigned long addr;

	if (owner)
		*owner = NULL;
	return alloc_fast(pool, size, algo, owner, &addr) ? addr :
	       alloc_or_errno(pool, size, algo, data, owner);
}

GP_EXPORT unsigned long gen_pool_alloc_algo_owner(struct gen_pool *pool,
						  size_t size,
						  genpool_algo_t algo,
						  void *data, void **owner)
{
	if (!algo) {
		if (owner)
			*owner = NULL;
		gpi_count_failure(pool);
		errno = EINVAL;
		return 0;
	}
	return alloc_entry(pool, size, algo, data, owner);
}

GP_EXPORT unsigned long gen_pool_alloc_owner(struct gen_pool *pool,
					     size_t size, void **owner)
{
	return alloc_entry(pool, size, NULL, NULL, owner);
}

GP_EXPORT unsigned long gen_pool_alloc_algo(struct gen_pool *pool, size_t size,
					    genpool_algo_t algo, void *data)
{
	if (!algo)
		return gen_pool_alloc_algo_owner(pool, size, algo, data, NULL);
	return alloc_entry(pool, size, algo, data, NULL);
}

GP_EXPORT unsigned long gen_pool_alloc(struct gen_pool *pool, size_t size)
{
	return alloc_entry(pool, size, NULL, NULL, NULL);
}

GP_EXPORT void *gen_pool_dma_alloc_algo(struct gen_pool *pool, size_t size,
					dma_addr_t *dma, genpool_algo_t algo,
					void *data)
{
	unsigned long addr = gen_pool_alloc_algo(pool, size, algo, data);

	if (!addr)
		return NULL;
	if (dma)
		*dma = gen_pool_virt_to_phys(pool, addr);
	return (void *)addr;
}

GP_EXPORT void *gen_pool_dma_alloc(struct gen_pool *pool, size_t size,
				   dma_addr_t *dma)
{
	unsigned long addr = gen_pool_alloc(pool, size);

	if (addr && dma)
		*dma = gen_pool_virt_to_phys(pool, addr);
	return (void *)addr;
}

GP_EXPORT void *gen_pool_dma_alloc_align(struct gen_pool *pool, size_t size,
					 dma_addr_t *dma, int align)
{
	struct genpool_data_align data = { .align = align };

	if (align <= 0 || !gpi_is_pow2((unsigned long)align)) {
		gpi_count_failure(pool);
		errno = EINVAL;
		return NULL;
	}
	return gen_pool_dma_alloc_algo(pool, size, dma,
				       gen_pool_first_fit_align, &data);
}

/* Zero what an allocation returned: the one write genpool makes. */
static void *zeroed(void *vaddr, size_t size)
{
	if (vaddr)
		memset(vaddr, 0, size);
	return vaddr;
}

GP_EXPORT void *gen_pool_dma_zalloc(struct gen_pool *pool, size_t size,
				    dma_addr_t *dma)
{
	return zeroed(gen_pool_dma_alloc(pool, size, dma), size);
}

GP_EXPORT void *gen_pool_dma_zalloc_algo(struct gen_pool *pool, size_t size,
					 dma_addr_t *dma, genpool_algo_t algo,
					 void *data)
{
	return zeroed(gen_pool_dma_alloc_algo(pool, size, dma, algo, data),
		      size);
}

GP_EXPORT void *gen_pool_dma_zalloc_align(struct gen_pool *pool, size_t size,
					  dma_addr_t *dma, int align)
{
	return zeroed(gen_pool_dma_alloc_align(pool, size, dma, align), size);
}

/* --------------------------------------------------------------- free */

const char *gpi_inexact_why(int err)
{
	return err == -EALREADY ?
	       "part of the range is not allocated (double free?)" :
	       "range is allocated but is not exactly one allocation "
	       "(wrong size or interior address)";
}

/*
 * What a release of [@bit, @bit + @nr) of @c leaves to do: the view, the
 * hints (from @busy, the group's busy word the release's CAS left, when
 * not NULL), first_free, the bytes.
 */
static inline __attribute__((always_inline)) void
after_release(struct gen_pool *pool, struct gp_chunk *c, unsigned long bit,
	      unsigned long nr, const unsigned long *busy)
{
	gpi_view_update(c, bit, nr, false);
	if (busy)
		gpi_hints_released_in_group(&c->hints, c->um, c->nbits, bit,
					    nr, *busy);
	else
		gpi_hints_released(&c->hints, c->um, c->nbits, bit, nr);
	gpi_first_free_lower(c, bit);
	gpi_used_add(c, -(long)(nr << pool->min_alloc_order));
}

/*
 * The everyday free, inline in each entry point: an allocation of the
 * newest chunk, within one group checked and released by
 * gpi_umap_free_in_group().  false (nothing changed): free_slow() decides,
 * and reports.
 */
static inline __attribute__((always_inline)) bool
free_fast(struct gen_pool *pool, unsigned long addr, size_t size,
	  void **owner)
{
	struct gp_chunk *c;
	unsigned long nr, off, bit, busy;
	unsigned order;

	if (!pool || !(c = gpi_first_chunk(pool)))
		return false;
	order = (unsigned)pool->min_alloc_order;
	nr = gpi_units_for(pool, size);
	off = addr - c->pub.start_addr;
	bit = off >> order;
	/* On a unit boundary, inside the chunk. */
	if ((off & (((unsigned long)1 << order) - 1)) || !nr ||
	    bit >= c->nbits || nr > c->nbits - bit)
		return false;
	if (!gpi_umap_one_group(bit, nr)) {
		/* Refused: free_slow() finds it again and says why. */
		if (gpi_umap_free_slow(c->um, c->nbits, bit, nr))
			return false;
		after_release(pool, c, bit, nr, NULL);
	} else if (gpi_umap_free_in_group(c->um, c->nbits, bit, nr, &busy)) {
		after_release(pool, c, bit, nr, &busy);
	} else {
		return false;
	}
	if (owner)
		*owner = c->pub.owner;
	return true;
}

/* The whole free path; on error fills @why and changes nothing. */
static __attribute__((noinline)) int
free_slow(struct gen_pool *pool, unsigned long addr, size_t size,
	  void **owner, const char **why)
{
	struct gp_chunk *c;
	unsigned long nr, bit;
	int ret;

	ret = gpi_locate_range(pool, addr, size, &c, &bit, &nr, why);
	if (ret)
		return ret;
	ret = gpi_umap_free(c->um, c->nbits, bit, nr);
	if (ret) {
		*why = gpi_inexact_why(ret);
		return ret;
	}
	after_release(pool, c, bit, nr, NULL);
	if (owner)
		*owner = c->pub.owner;
	return 0;
}

int gpi_free_range(struct gen_pool *pool, unsigned long addr, size_t size,
		   void **owner, const char **why)
{
	if (owner)
		*owner = NULL;
	return free_fast(pool, addr, size, owner) ? 0 :
	       free_slow(pool, addr, size, owner, why);
}

/* Map a gpi_free_range() errno to the misuse kind it reports. */
enum gp_misuse_kind gpi_free_misuse_kind(int err)
{
	switch (err) {
	case -EFAULT:
		return GP_MISUSE_FOREIGN_ADDR;
	case -ERANGE:
		return GP_MISUSE_PAST_END;
	case -EALREADY:
		return GP_MISUSE_DOUBLE_FREE;
	case -EBADSLT:
		return GP_MISUSE_WRONG_SIZE;
	default:
		return GP_MISUSE_BAD_ARGUMENT;
	}
}

GP_EXPORT int gp_free_checked(struct gen_pool *pool, unsigned long addr,
			      size_t size, void **owner)
{
	const char *why;

	return gpi_free_range(pool, addr, size, owner, &why);
}

/* gen_pool_free_owner() past free_fast(): the full path, and the report
 * of a refusal. */
static __attribute__((noinline)) void
free_or_report(struct gen_pool *pool, unsigned long addr, size_t size,
	       void **owner)
{
	const char *why = NULL;
	int ret = free_slow(pool, addr, size, owner, &why);

	if (ret)
		gpi_report(pool, gpi_free_misuse_kind(ret), addr, size,
			   "gen_pool_free: %s", why);
}

GP_EXPORT void gen_pool_free_owner(struct gen_pool *pool, unsigned long addr,
				   size_t size, void **owner)
{
	if (owner)
		*owner = NULL;
	if (!free_fast(pool, addr, size, owner))
		free_or_report(pool, addr, size, owner);
}

GP_EXPORT void gen_pool_free(struct gen_pool *pool, unsigned long addr,
			     size_t size)
{
	if (!free_fast(pool, addr, size, NULL))
		free_or_report(pool, addr, size, NULL);
}

/* ------------------------------------------------------------ queries */

GP_EXPORT phys_addr_t gen_pool_virt_to_phys(struct gen_pool *pool,
					    unsigned long addr)
{
	const struct gp_chunk *c;

	if (!pool)
		return GP_NO_PHYS;
	c = gpi_chunk_of(pool, addr);
	if (!c || c->pub.phys_addr == GP_NO_PHYS)
		return GP_NO_PHYS;
	return c->pub.phys_addr + (addr - c->pub.start_addr);
}

GP_EXPORT void gen_pool_for_each_chunk(struct gen_pool *pool,
				       void (*func)(struct gen_pool *pool,
						    struct gen_pool_chunk *chunk,
						    void *data),
				       void *data)
{
	struct gp_chunk *c;

	if (!pool || !func)
		return;
	for (c = gpi_first_chunk(pool); c; c = c->next)
		func(pool, &c->pub, data);
}

GP_EXPORT int gen_pool_has_addr(struct gen_pool *pool, unsigned long start,
				size_t size)
{
	const struct gp_chunk *c;

	if (!pool)
		return 0;
	c = gpi_chunk_of(pool, start);
	/* As the kernel, an empty range at an address a chunk holds is
	 * held; unlike it, a range that wraps around the address space is
	 * not (docs/guide.md, section 13). */
	return c && (size == 0 || size - 1 <= c->pub.end_addr - start);
}

GP_EXPORT int addr_in_gen_pool(struct gen_pool *pool, unsigned long start,
			       size_t size)
{
	return gen_pool_has_addr(pool, start, size);
}

GP_EXPORT size_t gen_pool_avail(struct gen_pool *pool)
{
	const struct gp_chunk *c;
	size_t avail = 0;

	if (!pool)
		return 0;
	for (c = gpi_first_chunk(pool); c; c = c->next)
		avail += gpi_chunk_avail(c);
	return avail;
}

GP_EXPORT size_t gen_pool_size(struct gen_pool *pool)
{
	const struct gp_chunk *c;
	size_t size = 0;

	if (!pool)
		return 0;
	for (c = gpi_first_chunk(pool); c; c = c->next)
		size += gpi_chunk_size(c);
	return size;
}

GP_EXPORT size_t gp_chunk_avail(const struct gen_pool_chunk *chunk)
{
	return chunk ? gpi_chunk_avail(gpi_chunk(chunk)) : 0;
}

GP_EXPORT int gp_min_alloc_order(const struct gen_pool *pool)
{
	return pool ? pool->min_alloc_order : -EINVAL;
}

GP_EXPORT void gen_pool_set_algo(struct gen_pool *pool, genpool_algo_t algo,
				 void *data)
{
	struct gp_chunk *c;

	if (!pool)
		return;
	pool->algo = algo ? algo : gen_pool_first_fit;
	pool->data = algo ? data : NULL;
	/* Best fit wants exact hole classes (hints.h): make them so now
	 * rather than at its first allocation. */
	for (c = gpi_first_chunk(pool); c; c = c->next)
		if (pool->algo == gen_pool_best_fit &&
		    !gpi_hints_exact_ready(&c->hints))
			gpi_hints_make_exact(&c->hints, c->um, c->nbits);
}

GP_EXPORT int gp_set_name(struct gen_pool *pool, const char *name)
{
	char *copy = NULL;

	if (!pool)
		return -EINVAL;
	if (name) {
		copy = gpi_meta_strdup(name, pool->nid);
		if (!copy)
			return -ENOMEM;
	}
	gpi_meta_strfree(pool->name);
	pool->name = copy;
	return 0;
}

GP_EXPORT const char *gp_name(const struct gen_pool *pool)
{
	return pool ? pool->name : NULL;
}
