// SPDX-License-Identifier: MIT
/*
 * core/bulk.c - gp_alloc_bulk() and gp_free_bulk(): many allocations of
 * one size, cheaper per object than single calls.
 *
 * Allocation, for the first-fit family (first fit, first fit aligned,
 * order-aligned): successive calls only move forward, so the next
 * allocation after one at b is the next aligned start past b + nr if it
 * fits in the same hole, and otherwise the first fit past that hole.  So
 * the engine finds a hole once, as many allocations as fit are packed into
 * it with one CAS per unit-map group, the holes left are announced once per
 * hole and the byte counter is touched once per chunk.  The placements
 * are exactly those of successive gen_pool_alloc() calls (one thread).
 * Other algorithms run the single path per object.
 *
 * Free: every address is checked as gp_free_checked() checks it; the
 * allocations that share a unit-map group are checked and released with
 * one CAS, the holes they leave announced once per run of freed units.
 */
#include <errno.h>

#include "bounds.h"
#include "pool_internal.h"
#include "search.h"

/* Announce the alignment gaps between @k allocations of @nr units every
 * @stride units from @b: each is a hole of stride - nr units, a piece of
 * the hole the allocations came from (hints.h: covering hints need nothing
 * for pieces in the block where that hole started). */
static void announce_gaps(struct gp_chunk *c, unsigned long b,
			  unsigned long nr, unsigned long stride,
			  unsigned long k)
{
	bool at_hole_start = !b || gpi_hints_busy(c->um, b - 1);
	unsigned long gap;

	for (unsigned long j = 0; stride > nr && j + 1 < k; j++) {
		gap = b + j * stride + nr;
		if (!gpi_hints_exact(&c->hints) && at_hole_start &&
		    gap / GP_BLOCK_BITS == b / GP_BLOCK_BITS)
			continue;
		gpi_hints_announce(&c->hints, c->um, c->nbits, gap, stride - nr,
				   true);
	}
}

/*
 * Pack up to @want allocations of @nr units into the hole holding the free
 * run at @b, every @stride units.  Returns how many were claimed (0 when
 * the claim lost a race) and their addresses in @addrs.
 */
static unsigned long pack_hole(struct gen_pool *pool, struct gp_chunk *c,
			       unsigned long b, unsigned long nr,
			       unsigned long stride, unsigned long want,
			       unsigned long *addrs)
{
	unsigned long span = (want - 1) * stride + nr, limit, run, k, e;
	bool contended = false;
	int slot;

	/* How many fit: the free run from b, read no further than needed. */
	limit = c->nbits - b > span ? b + span : c->nbits;
	run = gpi_unext_busy(c->um, limit, b) - b;
	if (run < nr)
		return 0;	/* taken since the search saw it */
	k = (run - nr) / stride + 1;
	slot = gpi_transit_begin(c);
	if (!gpi_umap_claim_many(c->um, b, nr, stride, k, &contended)) {
		gpi_transit_end(c, slot);
		gpi_move_past(c, b);
		return 0;
	}
	if (contended)
		gpi_move_past(c, b);
	e = b + (k - 1) * stride + nr;
	for (unsigned long j = 0, a = c->pub.start_addr +
	     (b << pool->min_alloc_order); j < k;
	     j++, a += stride << pool->min_alloc_order)
		addrs[j] = a;
	/* seq_cst: ordered after the unit-map RMW (view.c). */
	if (__builtin_expect(__atomic_load_n(&c->view, __ATOMIC_SEQ_CST) != NULL,
			     0))
		for (unsigned long j = 0; j < k; j++)
			gpi_view_change(c, b + j * stride, nr, true);
	announce_gaps(c, b, nr, stride, k);
	/* The holes before the first and after the last, as one claim's. */
	gpi_hints_claimed(&c->hints, c->um, c->nbits, b, e - b);
	gpi_transit_end(c, slot);
	return k;
}

/* Bulk allocation in @c for the first-fit family. */
static unsigned long bulk_forward(struct gen_pool *pool, struct gp_chunk *c,
				  unsigned long nr, genpool_algo_t algo,
				  void *data, unsigned long *addrs,
				  unsigned long n)
{
	unsigned long mask, offset, stride, start, from, b, k, done = 0;
	bool spread = false;

	if (!gpi_algo_forward_align(pool, c, algo, data, nr, &mask, &offset))
		return 0;
	stride = gpi_align_up(nr, mask + 1);
	if (gpi_search_path() != GP_SEARCH_REFERENCE)
		start = gpi_first_fit_start(c, &spread);
	else
		start = 0;
	from = start;
	while (done < n) {
		b = gpi_engine_find(&c->hints, c->um, c->nbits, from, nr, mask,
				    offset);
		if (b == GPI_NO_FIT) {
			if (!spread)
				break;
			/* Nothing past the thread's own start: from the
			 * chunk's first free unit. */
			spread = false;
			start = from = __atomic_load_n(&c->first_free,
						       __ATOMIC_RELAXED);
			continue;
		}
		if (!done && !spread && b >= start + GP_FIRST_FREE_LAG)
			gpi_first_free_advance(c, start, b);
		k = pack_hole(pool, c, b, nr, stride, n - done, addrs + done);
		if (!k) {
			/* Lost a race: this one the single path's way. */
			b = gpi_alloc_in_chunk(pool, c, nr, algo, data);
			if (b == GPI_NO_FIT)
				break;
			addrs[done] = c->pub.start_addr +
				      (b << pool->min_alloc_order);
			k = 1;
		}
		done += k;
		from = b + (k - 1) * stride + nr;
	}
	return done;
}

/* Bulk allocation in @c for any other algorithm: the single path. */
static unsigned long bulk_each(struct gen_pool *pool, struct gp_chunk *c,
			       unsigned long nr, genpool_algo_t algo,
			       void *data, unsigned long *addrs,
			       unsigned long n)
{
	unsigned long done, b;

	for (done = 0; done < n; done++) {
		b = gpi_alloc_in_chunk(pool, c, nr, algo, data);
		if (b == GPI_NO_FIT)
			break;
		addrs[done] = c->pub.start_addr + (b << pool->min_alloc_order);
	}
	return done;
}

GP_EXPORT size_t gp_alloc_bulk(struct gen_pool *pool, size_t size,
			       unsigned long *addrs, size_t n)
{
	struct gp_chunk *c;
	unsigned long nr, got;
	size_t done = 0;

	if (!pool || !addrs) {
		errno = EINVAL;
		return 0;
	}
	if (!n)
		return 0;
	nr = gpi_units_for(pool, size);
	if (!nr) {
		gpi_count_failure(pool);
		errno = EINVAL;
		return 0;
	}
	for (c = gpi_first_chunk(pool); c && done < n; c = c->next) {
		if (!gpi_hints_may_fit(&c->hints, nr))
			continue;
		got = gpi_algo_first_fit_family(pool->algo) ?
		      bulk_forward(pool, c, nr, pool->algo, pool->data,
				   addrs + done, n - done) :
		      bulk_each(pool, c, nr, pool->algo, pool->data,
				addrs + done, n - done);
		if (got)
			gpi_used_add(c, (long)((got * nr) << pool->min_alloc_order));
		done += got;
	}
	if (done < n) {
		gpi_count_failure(pool);
		errno = ENOMEM;
	}
	return done;
}

/* ----------------------------------------------------------------- free */

/* Consecutive addresses of the input, all in one unit-map group of one
 * chunk, freed together: @addrs[@from .. @to). */
struct group_batch {
	struct gp_chunk *c;
	unsigned long g;		/* the group */
	size_t from, to;
	unsigned long taken;		/* busy bits of the batch */
	unsigned long starts;		/* their start marks */
	unsigned long ends;		/* the units just past them, in the group */
	bool end_next;			/* one ends at the group's end */
};

struct free_state {
	struct gen_pool *pool;
	const unsigned long *addrs;
	size_t size;
	unsigned long nr;
	struct gp_chunk *c;		/* chunk of the bytes below */
	long bytes;			/* freed in @c, not yet counted */
	int first_err;
	bool reported;
};

static void refuse(struct free_state *st, unsigned long addr, int err,
		   const char *why)
{
	if (!st->first_err)
		st->first_err = err;
	st->reported = true;
	gpi_report_only(st->pool, gpi_free_misuse_kind(err), addr, st->size,
			"gp_free_bulk: %s", why);
}

/* Count what was freed in st->c and switch to @c. */
static void count_bytes(struct free_state *st, struct gp_chunk *c)
{
	if (st->c && st->bytes)
		gpi_used_add(st->c, -st->bytes);
	st->c = c;
	st->bytes = 0;
}

/* First unit, in its group, of address @addr of @gb's chunk. */
static unsigned long lo_of(const struct free_state *st,
			   const struct group_batch *gb, unsigned long addr)
{
	return ((addr - gb->c->pub.start_addr) >> st->pool->min_alloc_order) %
	       GP_GROUP_UNITS;
}

/* Why the allocation at @lo of @gb is refused by its group's words @w
 * (@next: the next group's), or 0. */
static int batch_refuse(const struct group_batch *gb, unsigned long lo,
			unsigned long nr, const unsigned long w[2],
			const unsigned long next[2])
{
	unsigned long e = lo + nr;
	int err = gpi_umap_refuse(w, lo, nr, true);

	if (err)
		return err;
	if (gb->g * GP_GROUP_UNITS + e < gb->c->nbits &&
	    gpi_umap_continues(e < GP_GROUP_UNITS ? w : next, e))
		return -EBADSLT;
	return 0;
}

/*
 * The usual case: every allocation of the batch is exact, checked on the
 * masks of all at once, and released with one CAS.  False (nothing
 * changed) when the check fails: then they are checked one by one.
 */
static bool release_all(struct gp_chunk *c, const struct group_batch *gb)
{
	unsigned long w[2], next[2];

	/* A torn read of the next group can only make unit 0 look like a
	 * continuation (it is one for real only if it is ours, and then it
	 * does not change): then the slow check decides on a snapshot. */
	if (gb->end_next) {
		gpi_umap_load2(c->um, gb->g + 1, next);
		if (gpi_umap_continues(next, 0))
			return false;
	}
	gpi_umap_load2(c->um, gb->g, w);
	while ((w[0] & gb->taken) == gb->taken &&
	       (w[1] & gb->taken) == gb->starts && !(gb->ends & w[0] & ~w[1]))
		if (gpi_umap_cas2(c->um, gb->g, w, w[0] & ~gb->taken,
				  w[1] & ~gb->starts))
			return true;
	return false;
}

/* Check the batch one allocation at a time, release the exact ones with
 * one CAS, report the others; the busy bits released. */
static unsigned long release_each(struct free_state *st,
				  const struct group_batch *gb)
{
	struct gp_chunk *c = gb->c;
	unsigned long nr = st->nr, w[2], next[2] = { 0, 0 }, busy, starts, lo;
	bool refused, confirmed = false, next_loaded = false;
	int err;

	if ((gb->g + 1) * GP_GROUP_UNITS < c->nbits) {
		gpi_umap_load2(c->um, gb->g + 1, next);
		next_loaded = true;
	}
	gpi_umap_load2(c->um, gb->g, w);
	for (;;) {
		busy = starts = 0;
		refused = false;
		for (size_t i = gb->from; i < gb->to; i++) {
			lo = lo_of(st, gb, st->addrs[i]);
			if (batch_refuse(gb, lo, nr, w, next)) {
				refused = true;
				continue;
			}
			busy |= gpi_umap_run_mask(lo, nr);
			starts |= 1UL << lo;
		}
		/* Refuse only on what was really there (not a torn read). */
		if (refused && !confirmed) {
			gpi_umap_snapshot(c->um, gb->g, w);
			if (next_loaded)
				gpi_umap_snapshot(c->um, gb->g + 1, next);
			confirmed = true;
			continue;
		}
		if (!busy || gpi_umap_cas2(c->um, gb->g, w, w[0] & ~busy,
					   w[1] & ~starts))
			break;
	}
	for (size_t i = gb->from; i < gb->to; i++) {
		err = batch_refuse(gb, lo_of(st, gb, st->addrs[i]), nr, w, next);
		if (err)
			refuse(st, st->addrs[i], err, gpi_inexact_why(err));
	}
	return busy;
}

/* Release the batch and announce the runs of freed units. */
static void flush_batch(struct free_state *st, struct group_batch *gb)
{
	struct gp_chunk *c = gb->c;
	unsigned long busy, base = gb->g * GP_GROUP_UNITS, units;

	if (gb->from == gb->to)
		return;
	if (release_all(c, gb)) {
		busy = gb->taken;
		units = (gb->to - gb->from) * st->nr;
	} else {
		busy = release_each(st, gb);
		units = (unsigned long)__builtin_popcountl(busy);
	}
	if (st->c != c)
		count_bytes(st, c);
	st->bytes += (long)(units << st->pool->min_alloc_order);
	/* seq_cst: ordered after the unit-map RMW (view.c). */
	if (__builtin_expect(__atomic_load_n(&c->view, __ATOMIC_SEQ_CST) != NULL,
			     0))
		for (size_t i = gb->from; i < gb->to; i++) {
			unsigned long lo = lo_of(st, gb, st->addrs[i]);

			if (busy >> lo & 1)
				gpi_view_change(c, base + lo, st->nr, false);
		}
	if (busy)
		gpi_first_free_lower(c, base + (unsigned long)__builtin_ctzl(busy));
	/* One announcement per run of freed units. */
	while (busy) {
		unsigned long lo = (unsigned long)__builtin_ctzl(busy);
		unsigned long rest = busy >> lo;
		unsigned long n = ~rest ? (unsigned long)__builtin_ctzl(~rest)
					: GP_GROUP_UNITS - lo;

		gpi_hints_released(&c->hints, c->um, c->nbits, base + lo, n);
		busy &= ~gpi_umap_run_mask(lo, n);
	}
	gb->from = gb->to;
	gb->taken = gb->starts = gb->ends = 0;
	gb->end_next = false;
}

/* Free @addrs[@i] on its own (gp_free_checked()'s way): it is not a unit
 * of a chunk, runs past one, or spans groups. */
static void free_alone(struct free_state *st, size_t i)
{
	const char *why = NULL;
	int err = gpi_free_range(st->pool, st->addrs[i], st->size, NULL, &why);

	if (err)
		refuse(st, st->addrs[i], err, why);
}

/*
 * Gather into @gb the run of addresses from @addrs[@i] that lie in the
 * group of @addrs[@i] (in chunk @c, unit @bit), one allocation each, and
 * return the index past them.  A tight loop: the per-address work of a
 * bulk free.
 */
static size_t gather_group(const struct free_state *st, struct group_batch *gb,
			   struct gp_chunk *c, unsigned long bit, size_t i,
			   size_t n)
{
	const int order = st->pool->min_alloc_order;
	const unsigned long nr = st->nr, run0 = gpi_umap_run_mask(0, nr);
	unsigned long g = bit / GP_GROUP_UNITS, units, base, d, lo, run;
	unsigned long taken = 0, starts = 0, ends = 0;

	/* Units of the group inside the chunk (the last may be short). */
	units = c->nbits - g * GP_GROUP_UNITS < GP_GROUP_UNITS ?
		c->nbits - g * GP_GROUP_UNITS : GP_GROUP_UNITS;
	base = c->pub.start_addr + ((g * GP_GROUP_UNITS) << order);
	gb->c = c;
	gb->g = g;
	gb->from = i;
	for (; i < n; i++) {
		d = st->addrs[i] - base;
		lo = d >> order;
		/* Outside the group, off a unit, past it, or the same units
		 * again (the next batch then finds them free: a double
		 * free): the batch ends here. */
		if (lo >= units || (d & ((1UL << order) - 1)) || nr > units - lo)
			break;
		run = run0 << lo;
		if (taken & run)
			break;
		taken |= run;
		starts |= 1UL << lo;
		ends |= lo + nr < GP_GROUP_UNITS ? 1UL << (lo + nr) : 0;
	}
	gb->to = i;
	gb->taken = taken;
	gb->starts = starts;
	gb->ends = ends;
	/* One ends at the group's end: the next group's unit 0 decides. */
	gb->end_next = (taken >> (GP_GROUP_UNITS - 1)) && units == GP_GROUP_UNITS &&
		       (g + 1) * GP_GROUP_UNITS < c->nbits;
	return i;
}

GP_EXPORT int gp_free_bulk(struct gen_pool *pool, const unsigned long *addrs,
			   size_t n, size_t size)
{
	struct free_state st = { .pool = pool, .addrs = addrs, .size = size };
	struct group_batch gb = { .c = NULL, .from = 0, .to = 0 };
	struct gp_chunk *c = NULL;
	unsigned long off, bit;
	size_t i = 0;

	if (!pool || (!addrs && n))
		return -EINVAL;
	st.nr = gpi_units_for(pool, size);
	while (i < n) {
		if (!c || addrs[i] - c->pub.start_addr >
			  c->pub.end_addr - c->pub.start_addr)
			c = gpi_chunk_of(pool, addrs[i]);
		off = c ? addrs[i] - c->pub.start_addr : 0;
		bit = off >> pool->min_alloc_order;
		if (!c || !st.nr || st.nr > GP_GROUP_UNITS ||
		    !gpi_is_aligned(off, 1UL << pool->min_alloc_order) ||
		    st.nr > c->nbits - bit || !gpi_umap_one_group(bit, st.nr)) {
			free_alone(&st, i++);
			continue;
		}
		i = gather_group(&st, &gb, c, bit, i, n);
		flush_batch(&st, &gb);
	}
	count_bytes(&st, NULL);
	/* Every valid address is free by now: the policy may abort. */
	if (st.reported)
		gpi_apply_policy(pool);
	return st.first_err;
}
