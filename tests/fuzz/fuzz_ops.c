// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_ops.c - libFuzzer target: byte strings become operation
 * sequences on one pool, checked against a small shadow model.
 *
 * Input layout (every read past the end yields 0, so any input is valid):
 *   byte 0        pool order (0..12 mostly, up to GP_MAX_ORDER)
 *   byte 1        search path (% 5: auto, reference, word, avx2, avx512;
 *                 one this CPU cannot run means auto)
 *   then ops      one selector byte each, followed by its arguments
 *
 * The shadow keeps, per chunk, which allocation owns each unit.  Any
 * disagreement (overlap, a misplaced or misaligned allocation, an avail or
 * count that does not add up, a bad free that succeeded, returned the wrong
 * errno or changed something) calls abort(), which libFuzzer reports as a
 * crash together with the input.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "genpool/genalloc.h"
#include "genpool/search.h"
#include "testutil.h"

#define FZ_MAX_CHUNKS 8
#define FZ_MAX_LIVE 512
#define FZ_SLOT_SHIFT 44	/* chunk i lives in [(i + 1) << 44, (i + 2) << 44) */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz_chunk {
	unsigned long start;
	unsigned long nbits;
	phys_addr_t phys;
	uint32_t *own;		/* allocation id per unit, 0 = free */
	unsigned long free_units;
};

struct fz_alloc {
	unsigned long addr;
	size_t req;
	unsigned long nr;
	int chunk;
};

struct fz {
	const uint8_t *p, *end;
	struct gen_pool *pool;
	int order;
	unsigned long unit;
	unsigned long max_bits;
	int nchunks;
	struct fz_chunk chunks[FZ_MAX_CHUNKS];
	struct fz_alloc live[FZ_MAX_LIVE];
	int nlive;
	struct fz_alloc gone[8];	/* recently freed, for double frees */
	unsigned ngone;
	uint32_t next_id;
	struct captured_misuse cap;
	unsigned pool_kind;		/* algorithm set with gen_pool_set_algo */
	struct genpool_data_align pool_align;
	struct genpool_data_fixed pool_fixed;
};

#define FZ_ASSERT(cond)                                                       \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "fuzz_ops: %s:%d: %s\n", __FILE__,    \
				__LINE__, #cond);                             \
			abort();                                              \
		}                                                             \
	} while (0)

static unsigned get8(struct fz *f)
{
	return f->p < f->end ? *f->p++ : 0;
}

static unsigned get16(struct fz *f)
{
	unsigned lo = get8(f);

	return lo | get8(f) << 8;
}

static size_t shadow_avail(const struct fz *f)
{
	size_t a = 0;
	int i;

	for (i = 0; i < f->nchunks; i++)
		a += (size_t)f->chunks[i].free_units << f->order;
	return a;
}

static size_t shadow_size(const struct fz *f)
{
	size_t s = 0;
	int i;

	for (i = 0; i < f->nchunks; i++)
		s += (size_t)f->chunks[i].nbits << f->order;
	return s;
}

static unsigned long chunk_last(const struct fz *f, const struct fz_chunk *c)
{
	return c->start + ((c->nbits << f->order) - 1);
}

static int chunk_of(const struct fz *f, unsigned long addr)
{
	int i;

	for (i = 0; i < f->nchunks; i++)
		if (addr >= f->chunks[i].start &&
		    addr <= chunk_last(f, &f->chunks[i]))
			return i;
	return -1;
}

static unsigned long units_of(const struct fz *f, size_t size)
{
	if (size == 0 || size > SIZE_MAX - (f->unit - 1))
		return 0;
	return (unsigned long)((size + (f->unit - 1)) >> f->order);
}

static unsigned long largest_run(const struct fz_chunk *c)
{
	unsigned long b, run = 0, best = 0;

	for (b = 0; b < c->nbits; b++) {
		run = c->own[b] ? 0 : run + 1;
		if (run > best)
			best = run;
	}
	return best;
}

/* The pool's counters and listings against the shadow. */
static void check_totals(struct fz *f)
{
	struct gp_stats st;

	FZ_ASSERT(gen_pool_avail(f->pool) == shadow_avail(f));
	FZ_ASSERT(gen_pool_size(f->pool) == shadow_size(f));
	FZ_ASSERT(gp_get_stats(f->pool, &st) == 0);
	FZ_ASSERT(st.allocations == (uint64_t)f->nlive);
	FZ_ASSERT(st.chunks == (size_t)f->nchunks);
	FZ_ASSERT(st.avail == shadow_avail(f));
	FZ_ASSERT(gp_for_each_allocation(f->pool, NULL, NULL) == f->nlive);
}

/* Expected gp_free_checked() result for [addr, addr + size). */
static int expected_free(const struct fz *f, unsigned long addr, size_t size)
{
	unsigned long nr = units_of(f, size), bit;
	const struct fz_chunk *c;
	int ci;

	if (!nr)
		return -EINVAL;
	ci = chunk_of(f, addr);
	if (ci < 0)
		return -EFAULT;
	c = &f->chunks[ci];
	if ((addr - c->start) & (f->unit - 1))
		return -EINVAL;
	bit = (addr - c->start) >> f->order;
	return shadow_free_errno(c->own, c->nbits, bit, nr);
}

static void shadow_release(struct fz *f, int idx)
{
	struct fz_alloc *a = &f->live[idx];
	struct fz_chunk *c = &f->chunks[a->chunk];
	unsigned long bit = (a->addr - c->start) >> f->order, b;

	for (b = bit; b < bit + a->nr; b++) {
		FZ_ASSERT(c->own[b] != 0);
		c->own[b] = 0;
	}
	c->free_units += a->nr;
	f->gone[f->ngone++ % 8] = *a;
	f->live[idx] = f->live[--f->nlive];
}

static int live_index(const struct fz *f, unsigned long addr)
{
	int i;

	for (i = 0; i < f->nlive; i++)
		if (f->live[i].addr == addr)
			return i;
	return -1;
}

static void op_add(struct fz *f)
{
	unsigned long nbits = 1 + get16(f) % f->max_bits;
	unsigned long off = get8(f) % (f->max_bits + 1);
	unsigned flags = get8(f);
	struct fz_chunk *c;
	int i = f->nchunks, ret, before = f->cap.count;
	unsigned long start;

	if (i == FZ_MAX_CHUNKS || (i > 0 && (flags & 0x80))) {
		/* Overlap with an existing chunk: refused, reported. */
		c = &f->chunks[flags % (unsigned)i];
		start = c->start + ((off % c->nbits) << f->order);
		ret = gen_pool_add(f->pool, start, nbits << f->order,
				   NUMA_NO_NODE);
		FZ_ASSERT(ret == -EEXIST);
		FZ_ASSERT(f->cap.count == before + 1);
		return;
	}
	c = &f->chunks[i];
	c->start = ((unsigned long)(i + 1) << FZ_SLOT_SHIFT) + (off << f->order);
	c->nbits = nbits;
	c->phys = flags & 1 ? GP_NO_PHYS :
		  ((phys_addr_t)(flags >> 1) << 32) + (off << f->order);
	c->own = calloc(nbits, sizeof(*c->own));
	FZ_ASSERT(c->own != NULL);
	c->free_units = nbits;
	ret = gen_pool_add_virt(f->pool, c->start, c->phys, nbits << f->order,
				NUMA_NO_NODE);
	FZ_ASSERT(ret == 0);
	f->nchunks++;
}

static size_t decode_size(struct fz *f)
{
	unsigned kind = get8(f), v = get16(f);

	switch (kind % 8) {
	case 0:
		return 0;
	case 1:
		return SIZE_MAX - v;
	case 2:		/* larger than any chunk */
		return ((f->max_bits + 1 + v % 8) << f->order) - (v & (f->unit - 1));
	default:
		return (((unsigned long)(v % (kind % 8 == 3 ? f->max_bits : 32))
			 + 1) << f->order) - (v & (f->unit - 1));
	}
}

static void op_alloc(struct fz *f)
{
	unsigned kind = get8(f) % 7;
	size_t size = decode_size(f);
	unsigned abyte = get8(f), obyte = get16(f);
	struct genpool_data_align al;
	struct genpool_data_fixed fx;
	genpool_algo_t algo = NULL;
	void *data = NULL, *owner = (void *)1;
	unsigned long addr = 0, nr = units_of(f, size), bit, b, run;
	size_t avail = gen_pool_avail(f->pool);
	int ret, ci;
	bool could_fit = false;
	struct fz_chunk *c;

	al.align = abyte & 0x80 ? (int)(abyte & 0x7f) - 8 : 1 << (abyte % 31);
	fx.offset = ((unsigned long)(obyte % (f->max_bits + 4)) << f->order) +
		    (obyte & 0x8000 && f->unit > 1 ? 1 : 0);
	switch (kind) {
	case 0:
		algo = gen_pool_first_fit;
		break;
	case 1:
		algo = gen_pool_first_fit_align;
		data = &al;
		break;
	case 2:
		algo = gen_pool_first_fit_order_align;
		break;
	case 3:
		algo = gen_pool_best_fit;
		break;
	case 4:
		algo = gen_pool_fixed_alloc;
		data = &fx;
		break;
	case 5:		/* the pool's algorithm, whatever it was set to */
		break;
	default:	/* set the pool's algorithm, then use it */
		f->pool_align = al;
		f->pool_fixed = fx;
		f->pool_kind = abyte % 5;
		switch (abyte % 5) {
		case 0:
			gen_pool_set_algo(f->pool, NULL, NULL);
			break;
		case 1:
			gen_pool_set_algo(f->pool, gen_pool_first_fit_align,
					  &f->pool_align);
			break;
		case 2:
			gen_pool_set_algo(f->pool,
					  gen_pool_first_fit_order_align, NULL);
			break;
		case 3:
			gen_pool_set_algo(f->pool, gen_pool_best_fit, NULL);
			break;
		default:
			gen_pool_set_algo(f->pool, gen_pool_fixed_alloc,
					  &f->pool_fixed);
			break;
		}
		break;
	}
	ret = gp_alloc_checked(f->pool, size, algo, data, &addr, &owner);
	if (kind >= 5) {	/* check against what the pool was set to */
		kind = f->pool_kind;
		al = f->pool_align;
		fx = f->pool_fixed;
	}

	/* first_fit and best_fit must succeed whenever some chunk that
	 * passes the free-bytes screen has a long enough free run. */
	for (ci = 0; nr && ci < f->nchunks; ci++)
		if (f->chunks[ci].free_units >= nr &&
		    largest_run(&f->chunks[ci]) >= nr)
			could_fit = true;
	if (ret) {
		FZ_ASSERT(addr == 0 && owner == NULL);
		FZ_ASSERT(ret == (nr ? -ENOMEM : -EINVAL));
		FZ_ASSERT(gen_pool_avail(f->pool) == avail);
		if (kind == 0 || kind == 3)
			FZ_ASSERT(!could_fit);
		return;
	}
	FZ_ASSERT(nr != 0 && addr != 0);
	ci = chunk_of(f, addr);
	FZ_ASSERT(ci >= 0);
	c = &f->chunks[ci];
	FZ_ASSERT(((addr - c->start) & (f->unit - 1)) == 0);
	bit = (addr - c->start) >> f->order;
	FZ_ASSERT(nr <= c->nbits - bit);
	FZ_ASSERT(gen_pool_has_addr(f->pool, addr, size) == 1);
	for (b = bit; b < bit + nr; b++)
		FZ_ASSERT(c->own[b] == 0);	/* no overlap */
	FZ_ASSERT(c->free_units >= nr);	/* the screen */
	if (kind == 1)
		FZ_ASSERT(al.align > 0 && (addr & ((unsigned long)al.align - 1)) == 0);
	if (kind == 2) {
		run = test_roundup_pow2(nr);
		FZ_ASSERT((bit & (run - 1)) == 0);
	}
	if (kind == 4)
		FZ_ASSERT(addr - c->start == fx.offset);
	FZ_ASSERT(gen_pool_avail(f->pool) == avail - (nr << f->order));
	if (f->nlive == FZ_MAX_LIVE) {
		/* The shadow is full: give it straight back. */
		FZ_ASSERT(gp_free_checked(f->pool, addr, size, NULL) == 0);
		FZ_ASSERT(gen_pool_avail(f->pool) == avail);
		return;
	}
	f->next_id++;
	for (b = bit; b < bit + nr; b++)
		c->own[b] = f->next_id;
	c->free_units -= nr;
	f->live[f->nlive].addr = addr;
	f->live[f->nlive].req = size;
	f->live[f->nlive].nr = nr;
	f->live[f->nlive].chunk = ci;
	f->nlive++;
}

static void op_free(struct fz *f)
{
	unsigned sel = get8(f);
	int idx;
	struct fz_alloc a;
	size_t avail = gen_pool_avail(f->pool), sz;
	void *owner = (void *)1;
	int before = f->cap.count;

	if (!f->nlive)
		return;
	idx = (int)(sel % (unsigned)f->nlive);
	a = f->live[idx];
	sz = sel & 0x80 ? a.req : (size_t)a.nr << f->order;
	if (sel & 0x40) {
		gen_pool_free_owner(f->pool, a.addr, sz, &owner);
		FZ_ASSERT(owner == NULL);	/* gen_pool_add_virt: no owner */
		FZ_ASSERT(f->cap.count == before);
	} else {
		FZ_ASSERT(gp_free_checked(f->pool, a.addr, sz, &owner) == 0);
	}
	FZ_ASSERT(gen_pool_avail(f->pool) == avail + (a.nr << f->order));
	shadow_release(f, idx);
}

/* A deliberately doubtful free: it must do exactly what the shadow says. */
static void op_bad_free(struct fz *f)
{
	unsigned sel = get8(f), k = get8(f);
	unsigned long addr = 0x1000;
	size_t sz = f->unit, avail = gen_pool_avail(f->pool);
	long count = gp_for_each_allocation(f->pool, NULL, NULL);
	int expect, ret, idx, before = f->cap.count;

	switch (sel % 6) {
	case 0:		/* foreign: below every slot, or between chunks */
		addr = k & 1 ? 0x1000UL + ((unsigned long)k << f->order) :
		       ((unsigned long)(FZ_MAX_CHUNKS + 1) << FZ_SLOT_SHIFT);
		break;
	case 1:		/* wrong size */
		if (f->nlive) {
			const struct fz_alloc *a = &f->live[k % f->nlive];

			addr = a->addr;
			sz = (a->nr + 1 + k % 3) << f->order;
			if (k & 0x80 && a->nr > 1)
				sz = (a->nr - 1) << f->order;
		}
		break;
	case 2:		/* double free of something freed recently */
		if (f->ngone) {
			const struct fz_alloc *a =
				&f->gone[k % (f->ngone < 8 ? f->ngone : 8)];

			addr = a->addr;
			sz = a->req;
		}
		break;
	case 3:		/* interior or off-boundary address */
		if (f->nlive) {
			const struct fz_alloc *a = &f->live[k % f->nlive];

			addr = a->addr + (a->nr > 1 ? f->unit : 1);
			sz = f->unit;
		}
		break;
	case 4:		/* runs past the chunk end */
		if (f->nchunks) {
			const struct fz_chunk *c = &f->chunks[k % f->nchunks];

			addr = chunk_last(f, c) + 1 - f->unit;
			sz = (size_t)(2 + k % 4) << f->order;
		}
		break;
	default:	/* size 0, or one that overflows */
		if (f->nlive)
			addr = f->live[k % f->nlive].addr;
		sz = k & 1 ? 0 : SIZE_MAX - k;
		break;
	}
	expect = expected_free(f, addr, sz);
	ret = gp_free_checked(f->pool, addr, sz, NULL);
	FZ_ASSERT(ret == expect);
	if (ret) {
		FZ_ASSERT(gen_pool_avail(f->pool) == avail);
		FZ_ASSERT(gp_for_each_allocation(f->pool, NULL, NULL) == count);
		FZ_ASSERT(f->cap.count == before);	/* never reported */
		return;
	}
	/* The shadow says it was a valid free after all. */
	idx = live_index(f, addr);
	FZ_ASSERT(idx >= 0);
	FZ_ASSERT(gen_pool_avail(f->pool) ==
		  avail + (f->live[idx].nr << f->order));
	shadow_release(f, idx);
}

/* Where first fit puts @nr units now, by the shadow: the newest chunk
 * with a free run that long, its lowest one.  False if none. */
static bool shadow_first_fit(const struct fz *f, unsigned long nr, int *cip,
			     unsigned long *bitp)
{
	for (int ci = f->nchunks - 1; ci >= 0; ci--) {
		const struct fz_chunk *c = &f->chunks[ci];
		unsigned long run = 0;

		for (unsigned long b = 0; nr && b < c->nbits; b++) {
			run = c->own[b] ? 0 : run + 1;
			if (run == nr) {
				*cip = ci;
				*bitp = b + 1 - nr;
				return true;
			}
		}
	}
	return false;
}

/* Take @nr units at @bit of chunk @ci into the shadow (or, when it is
 * full, give them straight back to the pool). */
static void shadow_claim(struct fz *f, int ci, unsigned long bit,
			 unsigned long nr, size_t size)
{
	struct fz_chunk *c = &f->chunks[ci];
	unsigned long addr = c->start + (bit << f->order);

	for (unsigned long b = bit; b < bit + nr; b++)
		FZ_ASSERT(c->own[b] == 0);	/* no overlap */
	if (f->nlive == FZ_MAX_LIVE) {
		FZ_ASSERT(gp_free_checked(f->pool, addr, size, NULL) == 0);
		return;
	}
	f->next_id++;
	for (unsigned long b = bit; b < bit + nr; b++)
		c->own[b] = f->next_id;
	c->free_units -= nr;
	f->live[f->nlive].addr = addr;
	f->live[f->nlive].req = size;
	f->live[f->nlive].nr = nr;
	f->live[f->nlive].chunk = ci;
	f->nlive++;
}

#define FZ_BULK 64

/* gp_alloc_bulk with the pool's algorithm: every allocation sound; with
 * first fit, each exactly where the next single call would have put it. */
static void op_bulk_alloc(struct fz *f)
{
	size_t n = 1 + get8(f) % FZ_BULK, size = decode_size(f), got;
	unsigned long addrs[FZ_BULK], nr = units_of(f, size), bit = 0;
	int ci = -1;

	/* No more than the shadow can hold. */
	if (n > (size_t)(FZ_MAX_LIVE - f->nlive))
		n = (size_t)(FZ_MAX_LIVE - f->nlive);
	if (!n)
		return;
	errno = 0;
	got = gp_alloc_bulk(f->pool, size, addrs, n);
	FZ_ASSERT(got <= n);
	if (got < n)
		FZ_ASSERT(errno == (nr ? ENOMEM : EINVAL));
	for (size_t i = 0; i < got; i++) {
		if (f->pool_kind == 0) {
			FZ_ASSERT(shadow_first_fit(f, nr, &ci, &bit));
			FZ_ASSERT(addrs[i] == f->chunks[ci].start +
					      (bit << f->order));
		} else {
			ci = chunk_of(f, addrs[i]);
			FZ_ASSERT(ci >= 0);
			FZ_ASSERT(((addrs[i] - f->chunks[ci].start) &
				   (f->unit - 1)) == 0);
			bit = (addrs[i] - f->chunks[ci].start) >> f->order;
			FZ_ASSERT(nr <= f->chunks[ci].nbits - bit);
		}
		shadow_claim(f, ci, bit, nr, size);
	}
	/* First fit stopped short only if nothing more fits. */
	if (f->pool_kind == 0 && got < n)
		FZ_ASSERT(!shadow_first_fit(f, nr, &ci, &bit));
	FZ_ASSERT(gen_pool_avail(f->pool) == shadow_avail(f));
}

/*
 * gp_free_bulk of live allocations of one size with bad addresses mixed
 * in (the selector's bits: the same one twice, a freed one, an interior
 * or off-unit one, a foreign one): each judged as gp_free_checked() in
 * that order would judge it, the bad ones reported, the first error
 * returned.
 */
static void op_bulk_free(struct fz *f)
{
	unsigned want = 1 + get8(f) % FZ_BULK, mix = get8(f), k = get8(f);
	unsigned long addrs[2 * FZ_BULK] = { 0 }, nr;
	size_t n = 0, size;
	int expect = 0, bad = 0, before = f->cap.count, ret, e, idx;

	if (!f->nlive)
		return;
	nr = f->live[k % f->nlive].nr;
	size = nr << f->order;
	for (int i = 0; i < f->nlive && n < want; i++) {
		const struct fz_alloc *a = &f->live[(k + (unsigned)i) % f->nlive];

		if (a->nr != nr)
			continue;
		addrs[n++] = a->addr;
		switch ((mix >> (2 * (n % 4))) & 7) {
		case 1:
			addrs[n++] = a->addr;	/* the same twice */
			break;
		case 2:
			if (f->ngone)
				addrs[n++] = f->gone[k % (f->ngone < 8 ?
							  f->ngone : 8)].addr;
			break;
		case 3:
			addrs[n++] = a->addr + (nr > 1 ? f->unit : 1);
			break;
		case 4:
			addrs[n++] = 0x1000UL + ((unsigned long)k << f->order);
			break;
		default:
			break;
		}
	}
	ret = gp_free_bulk(f->pool, addrs, n, size);
	for (size_t i = 0; i < n; i++) {
		e = expected_free(f, addrs[i], size);
		if (e) {
			bad++;
			if (!expect)
				expect = e;
			continue;
		}
		idx = live_index(f, addrs[i]);
		FZ_ASSERT(idx >= 0);
		shadow_release(f, idx);
	}
	FZ_ASSERT(ret == expect);
	FZ_ASSERT(f->cap.count - before == bad);
	FZ_ASSERT(gen_pool_avail(f->pool) == shadow_avail(f));
}

static void op_query(struct fz *f)
{
	unsigned sel = get8(f), k = get16(f);
	unsigned long addr, len;
	const struct fz_chunk *c;
	phys_addr_t phys;
	int ci, expect;

	if (!f->nchunks) {
		FZ_ASSERT(gen_pool_has_addr(f->pool, 0x1000, 1) == 0);
		FZ_ASSERT(gen_pool_virt_to_phys(f->pool, 0x1000) == GP_NO_PHYS);
		return;
	}
	c = &f->chunks[sel % f->nchunks];
	addr = c->start + ((unsigned long)(k % (c->nbits + 2)) << f->order) -
	       (sel & 0x80 ? f->unit : 0) + (sel & 0x40 ? 1 : 0);
	len = ((unsigned long)(k >> 8) << f->order) + (sel & 0x20 ? 0 : 1);
	ci = chunk_of(f, addr);
	/* An empty range is held where a chunk holds its address (as the
	 * kernel); a range is held when it ends inside the chunk. */
	expect = ci >= 0 &&
		 (len == 0 || len - 1 <= chunk_last(f, &f->chunks[ci]) - addr);
	FZ_ASSERT(gen_pool_has_addr(f->pool, addr, len) == expect);
	phys = gen_pool_virt_to_phys(f->pool, addr);
	if (ci < 0 || f->chunks[ci].phys == GP_NO_PHYS)
		FZ_ASSERT(phys == GP_NO_PHYS);
	else
		FZ_ASSERT(phys == f->chunks[ci].phys +
				  (addr - f->chunks[ci].start));
	check_totals(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz *f = calloc(1, sizeof(*f));
	unsigned b0;
	int i, ret;

	FZ_ASSERT(f != NULL);
	f->p = data;
	f->end = data + size;
	b0 = get8(f);
	f->order = b0 < 208 ? (int)(b0 % 13) : 13 + (int)(b0 % 28);
	f->unit = 1UL << f->order;
	/* Chunk plus its offset stay inside a 2^44-byte slot. */
	f->max_bits = f->order > 31 ? 1UL << (43 - f->order) : 4096;
	/* Every path must give the same answers; the shadow cannot tell
	 * them apart, so any path may serve any input. */
	if (gp_search_set_path((enum gp_search_path)(get8(f) % 5)) != 0)
		FZ_ASSERT(gp_search_set_path(GP_SEARCH_AUTO) == 0);
	f->pool = gen_pool_create(f->order, NUMA_NO_NODE);
	FZ_ASSERT(f->pool != NULL);
	capture_pool_misuse(f->pool, &f->cap);

	while (f->p < f->end) {
		switch (get8(f) % 10) {
		case 0:
			op_add(f);
			break;
		case 1:
		case 2:
		case 3:
			op_alloc(f);
			break;
		case 4:
		case 5:
			op_free(f);
			break;
		case 6:
			op_bad_free(f);
			break;
		case 7:
			op_query(f);
			break;
		case 8:
			op_bulk_alloc(f);
			break;
		default:
			op_bulk_free(f);
			break;
		}
		FZ_ASSERT(gen_pool_avail(f->pool) == shadow_avail(f));
	}
	check_totals(f);

	/* Conservation: free everything, then the pool must be whole. */
	if (f->nlive)
		FZ_ASSERT(gp_destroy_checked(f->pool) == -EBUSY);
	while (f->nlive) {
		struct fz_alloc a = f->live[f->nlive - 1];

		FZ_ASSERT(gp_free_checked(f->pool, a.addr, a.req, NULL) == 0);
		shadow_release(f, f->nlive - 1);
	}
	FZ_ASSERT(gen_pool_avail(f->pool) == gen_pool_size(f->pool));
	check_totals(f);
	ret = gp_destroy_checked(f->pool);
	FZ_ASSERT(ret == 0);
	for (i = 0; i < f->nchunks; i++)
		free(f->chunks[i].own);
	free(f);
	return 0;
}
