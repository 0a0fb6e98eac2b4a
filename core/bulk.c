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
 * it with one CAS per unit-map word, the holes left are announced once per
 * hole and the byte counter is touched once per chunk.  The placements
 * are exactly those of successive gen_pool_alloc() calls (one thread).
 * Other algorithms run the single path per object.
 *
 * Free: every address is checked as gp_free_checked() checks it; the
 * allocations that share a unit-map word are checked and released with
 * one CAS, the holes they leave announced once per run of freed units.
 */
#include <errno.h>

#include "bounds.h"
#include "pool_internal.h"
#include "search.h"

/* Announce the alignment gaps between @k allocations of @nr units every
 * @stride units from @b: each is a hole of stride - nr units. */
static void announce_gaps(struct gp_chunk *c, unsigned long b,
			  unsigned long nr, unsigned long stride,
			  unsigned long k)
{
	for (unsigned long j = 0; stride > nr && j + 1 < k; j++)
		gpi_hints_announce(&c->hints, b + j * stride + nr, stride - nr,
				   true);
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

	/* How many fit: the free run from b, read no further than needed. */
	limit = c->nbits - b > span ? b + span : c->nbits;
	run = gpi_unext_busy(c->um, limit, b) - b;
	if (run < nr)
		return 0;	/* taken since the search saw it */
	k = (run - nr) / stride + 1;
	if (!gpi_umap_claim_many(c->um, b, nr, stride, k, &contended)) {
		gpi_move_past(c, b);
		return 0;
	}
	if (contended)
		gpi_move_past(c, b);
	e = b + (k - 1) * stride + nr;
	for (unsigned long j = 0; j < k; j++) {
		addrs[j] = c->pub.start_addr +
			   ((b + j * stride) << pool->min_alloc_order);
		gpi_view_update(c, b + j * stride, nr, true);
	}
	announce_gaps(c, b, nr, stride, k);
	/* The holes before the first and after the last, as one claim's. */
	gpi_hints_claimed(&c->hints, c->um, c->nbits, b, e - b);
	return k;
}

/* Bulk allocation in @c for the first-fit family. */
static unsigned long bulk_forward(struct gen_pool *pool, struct gp_chunk *c,
				  unsigned long nr, genpool_algo_t algo,
				  void *data, unsigned long *addrs,
				  unsigned long n)
{
	unsigned long mask, offset, stride, from, b, k, done = 0;

	if (!gpi_algo_forward_align(pool, c, algo, data, nr, &mask, &offset))
		return 0;
	stride = gpi_align_up(nr, mask + 1);
	from = gpi_first_fit_start(c);
	while (done < n) {
		b = gpi_engine_find(&c->hints, c->um, c->nbits, from, nr, mask,
				    offset);
		if (b == GPI_NO_FIT) {
			if (!from)
				break;
			from = 0;	/* nothing past the thread's own start */
			continue;
		}
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

/* Allocations of one chunk that share a unit-map word, freed together. */
struct word_batch {
	struct gp_chunk *c;
	unsigned long word;		/* unit-map word */
	unsigned n;
	unsigned char lo[GP_UNITS_PER_WORD];	/* first unit, in the word */
	unsigned char len[GP_UNITS_PER_WORD];	/* units */
	size_t addr[GP_UNITS_PER_WORD];		/* as given, for reports */
	unsigned long taken;		/* busy bits of the batch so far */
};

struct free_state {
	struct gen_pool *pool;
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

/* Why allocation @j of @wb is refused in the word value @old, or 0. */
static int batch_refuse(const struct word_batch *wb, unsigned j,
			unsigned long old, unsigned long next)
{
	unsigned long e = wb->lo[j] + wb->len[j];
	int err = gpi_umap_refuse(old, wb->lo[j], wb->len[j], true);

	if (err)
		return err;
	if (wb->word * GP_UNITS_PER_WORD + e < wb->c->nbits &&
	    gpi_umap_continues(e < GP_UNITS_PER_WORD ? old : next, e))
		return -EBADSLT;
	return 0;
}

/* Release the batch with one CAS (re-checking each allocation against the
 * word it replaces) and announce the runs of freed units. */
static void flush_batch(struct free_state *st, struct word_batch *wb)
{
	struct gp_chunk *c = wb->c;
	unsigned long *w, old, next = 0, clear, busy;
	bool ok[GP_UNITS_PER_WORD];
	int err;

	if (!wb->n)
		return;
	w = &c->um[wb->word];	/* only now: an empty batch has no chunk */
	if ((wb->word + 1) * GP_UNITS_PER_WORD < c->nbits)
		next = gpi_bitmap_word(w, 1);
	old = gpi_bitmap_word(w, 0);
	do {
		clear = 0;
		for (unsigned j = 0; j < wb->n; j++) {
			ok[j] = !batch_refuse(wb, j, old, next);
			if (ok[j])
				clear |= gpi_umap_run_mask(wb->lo[j], wb->len[j]) |
					 gpi_umap_start_mark(wb->lo[j]);
		}
	} while (clear && !__atomic_compare_exchange_n(w, &old, old & ~clear,
						       false, __ATOMIC_SEQ_CST,
						       __ATOMIC_RELAXED));
	if (st->c != c)
		count_bytes(st, c);
	for (unsigned j = 0; j < wb->n; j++) {
		unsigned long bit = wb->word * GP_UNITS_PER_WORD + wb->lo[j];

		if (!ok[j]) {
			err = batch_refuse(wb, j, old, next);
			refuse(st, wb->addr[j], err, gpi_inexact_why(err));
			continue;
		}
		gpi_view_update(c, bit, wb->len[j], false);
		st->bytes += (long)((unsigned long)wb->len[j]
				    << st->pool->min_alloc_order);
	}
	/* One announcement per run of freed units. */
	for (busy = clear & GP_BUSY_HALF; busy;) {
		unsigned long lo = (unsigned long)__builtin_ctzl(busy);
		unsigned long n = (unsigned long)__builtin_ctzl(~(busy >> lo));

		gpi_hints_released(&c->hints, c->um, c->nbits,
				   wb->word * GP_UNITS_PER_WORD + lo, n);
		busy &= ~gpi_umap_run_mask(lo, n);
	}
	wb->n = 0;
	wb->taken = 0;
}

/* Free one address: into the word batch if it fits one word, else on its
 * own. */
static void free_one(struct free_state *st, struct word_batch *wb,
		     unsigned long addr)
{
	struct gp_chunk *c = wb->n ? wb->c : st->c;
	unsigned long bit, word, lo, busy;
	const char *why = NULL;
	int err;

	if (!c || addr - c->pub.start_addr > c->pub.end_addr - c->pub.start_addr)
		c = gpi_chunk_of(st->pool, addr);
	if (!c || !gpi_is_aligned(addr - c->pub.start_addr,
				  1UL << st->pool->min_alloc_order) ||
	    st->nr > c->nbits - ((addr - c->pub.start_addr) >>
				 st->pool->min_alloc_order) ||
	    !gpi_umap_one_word((addr - c->pub.start_addr) >>
			       st->pool->min_alloc_order, st->nr)) {
		/* The single path says what is wrong, or frees it. */
		flush_batch(st, wb);
		err = gpi_free_range(st->pool, addr, st->size, NULL, &why);
		if (err)
			refuse(st, addr, err, why);
		return;
	}
	bit = (addr - c->pub.start_addr) >> st->pool->min_alloc_order;
	word = bit / GP_UNITS_PER_WORD;
	lo = bit % GP_UNITS_PER_WORD;
	if (wb->n && (wb->c != c || wb->word != word))
		flush_batch(st, wb);
	busy = gpi_umap_run_mask(lo, st->nr);
	if (wb->taken & busy) {
		/* The same allocation twice in one batch. */
		refuse(st, addr, -EALREADY, gpi_inexact_why(-EALREADY));
		return;
	}
	wb->c = c;
	wb->word = word;
	wb->lo[wb->n] = (unsigned char)lo;
	wb->len[wb->n] = (unsigned char)st->nr;
	wb->addr[wb->n++] = addr;
	wb->taken |= busy;
}

GP_EXPORT int gp_free_bulk(struct gen_pool *pool, const unsigned long *addrs,
			   size_t n, size_t size)
{
	struct free_state st = { .pool = pool, .size = size };
	struct word_batch wb = { .n = 0 };
	const char *why = NULL;

	if (!pool || (!addrs && n))
		return -EINVAL;
	st.nr = gpi_units_for(pool, size);
	for (size_t i = 0; i < n; i++) {
		if (!st.nr) {
			refuse(&st, addrs[i], gpi_free_range(pool, addrs[i], size,
							      NULL, &why), why);
			continue;
		}
		free_one(&st, &wb, addrs[i]);
	}
	flush_batch(&st, &wb);
	count_bytes(&st, NULL);
	/* Every valid address is free by now: the policy may abort. */
	if (st.reported)
		gpi_apply_policy(pool);
	return st.first_err;
}
