// SPDX-License-Identifier: MIT
/*
 * tests/model/model_ops.c - differential test: the pool against a shadow
 * model.
 *
 * Every seed builds one pool and runs a random sequence of operations on it
 * and on a deliberately simple model: for each chunk, the allocation that
 * owns each unit (0 = free), plus the list of live allocations.  The model
 * computes by brute force the exact address every built-in algorithm must
 * return (newest chunk first, chunks screened by free bytes >= the rounded
 * size), the exact errno of every free, and the state the public queries
 * must show; the pool must agree after every single operation.
 *
 * Environment:
 *   GENPOOL_MODEL_SEEDS  number of seeds (default 64)
 *   GENPOOL_MODEL_OPS    operations per seed (default 5000)
 *   GENPOOL_MODEL_SEED   first seed (default 1); with SEEDS=1 it replays one
 *   GENPOOL_MODEL_VERBOSE=1 prints every operation
 *
 * Argument: a search path (reference, word, avx2, avx512) to force with
 * gp_search_set_path(); without one the pool uses the path it picks.  A
 * path this CPU cannot run is a skip (exit 77), never a silent fallback.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "genpool/genalloc.h"
#include "genpool/search.h"
#include "testutil.h"

#define MAX_CHUNKS 8
/* Chunks live in disjoint 64 GiB slots of a fake address range: the pool
 * never touches managed memory, so nothing needs to be mapped. */
#define SLOT_BASE 0x100000000000UL
#define SLOT_SPAN 0x1000000000UL

enum algo_kind { A_FIRST, A_ALIGN, A_ORDER, A_BEST, A_FIXED, A_NKINDS };

static const char *const algo_names[] = {
	"first_fit", "first_fit_align", "first_fit_order_align", "best_fit",
	"fixed_alloc",
};

struct mchunk {
	unsigned long start;
	unsigned long nbits;
	phys_addr_t phys;
	void *owner;
	uint32_t *unit_owner;		/* allocation id per unit, 0 = free */
	unsigned long free_units;
};

struct mrec {
	unsigned long addr;
	size_t req;			/* the size that was asked for */
	unsigned long nr;		/* units */
	int chunk;
	uint32_t id;
};

/* What the pool reported about one allocation, in its visiting order. */
struct seen {
	unsigned long addr;
	size_t size;
};

struct model {
	struct gen_pool *pool;
	int order;
	size_t unit;
	int max_chunks;
	int nchunks;			/* chunks[nchunks - 1] is the newest */
	struct mchunk chunks[MAX_CHUNKS];
	struct mrec *live;
	size_t nlive, live_cap;
	struct mrec freed[16];		/* recently freed: double-free fodder */
	unsigned nfreed;
	uint32_t next_id;
	uint64_t failures;
	uint64_t rng;
	uint64_t seed;
	unsigned long op;
	bool verbose;
	/* the pool's own algorithm (gen_pool_set_algo) */
	enum algo_kind pool_kind;
	struct genpool_data_align pool_align;
	struct genpool_data_fixed pool_fixed;
	struct captured_misuse misuse;
	unsigned long *runlen;		/* scratch: free run from each unit */
	size_t runlen_cap;
	struct seen *seen;
	size_t nseen, seen_cap;
};

static unsigned long total_mismatches;

#define MISMATCH(m, ...)                                                      \
	do {                                                                  \
		fprintf(stderr, "model: MISMATCH seed %" PRIu64 " op %lu: ",  \
			(m)->seed, (m)->op);                                  \
		fprintf(stderr, __VA_ARGS__);                                 \
		fprintf(stderr, "\n  reproduce: GENPOOL_MODEL_SEED=%" PRIu64  \
			" GENPOOL_MODEL_SEEDS=1 GENPOOL_MODEL_OPS=%lu "       \
			"GENPOOL_MODEL_VERBOSE=1\n", (m)->seed, (m)->op + 1); \
		total_mismatches++;                                           \
		return false;                                                 \
	} while (0)

#define CHECK(m, cond, ...)                                                   \
	do {                                                                  \
		if (!(cond))                                                  \
			MISMATCH(m, __VA_ARGS__);                             \
	} while (0)

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p) {
		perror("calloc");
		exit(2);
	}
	return p;
}

static void *xrealloc(void *p, size_t size)
{
	p = realloc(p, size);
	if (!p) {
		perror("realloc");
		exit(2);
	}
	return p;
}

static uint64_t rnd(struct model *m)
{
	return test_rand(&m->rng);
}

/* Uniform-ish value in [0, n); n > 0. */
static unsigned long rnd_below(struct model *m, unsigned long n)
{
	return (unsigned long)(rnd(m) % n);
}

static unsigned long chunk_end(const struct model *m, const struct mchunk *c)
{
	return c->start + ((c->nbits << m->order) - 1);
}

/* Units for @size, or 0 for a size of 0 or one that overflows rounding. */
static unsigned long units_of(const struct model *m, size_t size)
{
	if (size == 0 || size > SIZE_MAX - (m->unit - 1))
		return 0;
	return (unsigned long)((size + (m->unit - 1)) >> m->order);
}

static bool valid_align(int align)
{
	return align > 0 && (align & (align - 1)) == 0;
}

/* ----------------------------------------------------------- model side */

static void fill_runs(struct model *m, const struct mchunk *c)
{
	unsigned long b;

	if (c->nbits > m->runlen_cap) {
		m->runlen_cap = c->nbits;
		m->runlen = xrealloc(m->runlen,
				     m->runlen_cap * sizeof(*m->runlen));
	}
	for (b = c->nbits; b-- > 0;) {
		if (c->unit_owner[b])
			m->runlen[b] = 0;
		else
			m->runlen[b] = 1 + (b + 1 < c->nbits ?
					    m->runlen[b + 1] : 0);
	}
}

struct algo_req {
	enum algo_kind kind;
	struct genpool_data_align align;
	struct genpool_data_fixed fixed;
};

/* May an allocation of @nr units start at unit @b of @c under @r? */
static bool model_aligned(const struct model *m, const struct mchunk *c,
			  unsigned long b, unsigned long nr,
			  const struct algo_req *r)
{
	unsigned long addr = c->start + (b << m->order);

	switch (r->kind) {
	case A_ALIGN:
		return (addr & ((unsigned long)r->align.align - 1)) == 0;
	case A_ORDER:
		return (b & (test_roundup_pow2(nr) - 1)) == 0;
	default:
		return true;
	}
}

/* The unit where @r places @nr units in @c, by brute force, or false. */
static bool model_place(struct model *m, const struct mchunk *c,
			unsigned long nr, const struct algo_req *r,
			unsigned long *bitp)
{
	unsigned long b, best = ULONG_MAX, best_len = ULONG_MAX;

	if (nr > c->nbits)
		return false;
	if (r->kind == A_ALIGN && !valid_align(r->align.align))
		return false;
	fill_runs(m, c);
	switch (r->kind) {
	case A_FIXED:
		if (r->fixed.offset & (m->unit - 1))
			return false;
		b = r->fixed.offset >> m->order;
		if (b >= c->nbits || nr > c->nbits - b || m->runlen[b] < nr)
			return false;
		*bitp = b;
		return true;
	case A_BEST:
		/* Visit every maximal hole; keep the smallest that fits,
		 * the lowest among equals. */
		for (b = 0; b < c->nbits;) {
			if (!m->runlen[b]) {
				b++;
				continue;
			}
			if (m->runlen[b] >= nr && m->runlen[b] < best_len) {
				best_len = m->runlen[b];
				best = b;
			}
			b += m->runlen[b];
		}
		if (best == ULONG_MAX)
			return false;
		*bitp = best;
		return true;
	default:
		for (b = 0; b + nr <= c->nbits; b++) {
			if (m->runlen[b] >= nr &&
			    model_aligned(m, c, b, nr, r)) {
				*bitp = b;
				return true;
			}
		}
		return false;
	}
}

/* Where the pool must put @size bytes: chunk index and unit, or false. */
static bool model_alloc_where(struct model *m, size_t size,
			      const struct algo_req *r, int *chunkp,
			      unsigned long *bitp)
{
	unsigned long nr = units_of(m, size);
	int i;

	if (!nr)
		return false;
	for (i = m->nchunks - 1; i >= 0; i--) {
		struct mchunk *c = &m->chunks[i];

		/* Screen by free bytes against the rounded size. */
		if (c->free_units < nr)
			continue;
		if (model_place(m, c, nr, r, bitp)) {
			*chunkp = i;
			return true;
		}
	}
	return false;
}

static void model_claim(struct model *m, int ci, unsigned long bit,
			unsigned long nr, size_t req)
{
	struct mchunk *c = &m->chunks[ci];
	struct mrec *rec;
	unsigned long b;
	uint32_t id = ++m->next_id;

	for (b = bit; b < bit + nr; b++)
		c->unit_owner[b] = id;
	c->free_units -= nr;
	if (m->nlive == m->live_cap) {
		m->live_cap = m->live_cap ? 2 * m->live_cap : 64;
		m->live = xrealloc(m->live, m->live_cap * sizeof(*m->live));
	}
	rec = &m->live[m->nlive++];
	rec->addr = c->start + (bit << m->order);
	rec->req = req;
	rec->nr = nr;
	rec->chunk = ci;
	rec->id = id;
}

static void model_release(struct model *m, size_t idx)
{
	struct mrec *rec = &m->live[idx];
	struct mchunk *c = &m->chunks[rec->chunk];
	unsigned long bit = (rec->addr - c->start) >> m->order, b;

	for (b = bit; b < bit + rec->nr; b++)
		c->unit_owner[b] = 0;
	c->free_units += rec->nr;
	m->freed[m->nfreed++ % 16] = *rec;
	m->live[idx] = m->live[--m->nlive];
}

/* Index of the chunk holding @addr, or -1. */
static int model_chunk_of(const struct model *m, unsigned long addr)
{
	int i;

	for (i = 0; i < m->nchunks; i++)
		if (addr >= m->chunks[i].start &&
		    addr <= chunk_end(m, &m->chunks[i]))
			return i;
	return -1;
}

static size_t live_index_of(const struct model *m, unsigned long addr)
{
	size_t i;

	for (i = 0; i < m->nlive; i++)
		if (m->live[i].addr == addr)
			return i;
	return SIZE_MAX;
}

/* The errno gp_free_checked(@addr, @size) must return (0: a valid free). */
static int model_free_errno(const struct model *m, unsigned long addr,
			    size_t size)
{
	unsigned long nr = units_of(m, size), bit;
	const struct mchunk *c;
	int ci;

	if (!nr)
		return -EINVAL;
	ci = model_chunk_of(m, addr);
	if (ci < 0)
		return -EFAULT;
	c = &m->chunks[ci];
	if ((addr - c->start) & (m->unit - 1))
		return -EINVAL;
	bit = (addr - c->start) >> m->order;
	return shadow_free_errno(c->unit_owner, c->nbits, bit, nr);
}

/* --------------------------------------------------------- invariants */

static void collect(struct gen_pool *pool, unsigned long addr, size_t size,
		    void *data)
{
	struct model *m = data;

	if (m->nseen == m->seen_cap) {
		m->seen_cap = m->seen_cap ? 2 * m->seen_cap : 64;
		m->seen = xrealloc(m->seen, m->seen_cap * sizeof(*m->seen));
	}
	m->seen[m->nseen].addr = addr;
	m->seen[m->nseen].size = size;
	m->nseen++;
}

struct chunk_walk {
	struct model *m;
	int next;			/* model index expected next */
	bool ok;
	char why[160];
};

static void check_chunk(struct gen_pool *pool, struct gen_pool_chunk *pc,
			void *data)
{
	struct chunk_walk *w = data;
	const struct mchunk *c;

	if (!w->ok)
		return;
	if (w->next < 0) {
		w->ok = false;
		snprintf(w->why, sizeof(w->why), "more chunks than the model");
		return;
	}
	c = &w->m->chunks[w->next];
	if (pc->start_addr != c->start || pc->end_addr != chunk_end(w->m, c) ||
	    pc->phys_addr != c->phys || pc->owner != c->owner ||
	    pc->nid != NUMA_NO_NODE ||
	    gp_chunk_avail(pc) != (size_t)c->free_units << w->m->order) {
		w->ok = false;
		snprintf(w->why, sizeof(w->why),
			 "chunk %d: start 0x%lx end 0x%lx avail %zu, model "
			 "0x%lx 0x%lx %zu", w->next, pc->start_addr,
			 pc->end_addr, gp_chunk_avail(pc), c->start,
			 chunk_end(w->m, c),
			 (size_t)c->free_units << w->m->order);
	}
	w->next--;
}

/* Everything the public API shows must equal the model. */
static bool check_state(struct model *m)
{
	size_t size = 0, avail = 0, k = 0, largest = 0, live_bytes = 0;
	struct chunk_walk walk = { .m = m, .ok = true };
	struct gp_stats st;
	double frag;
	long n;
	int i;

	m->nseen = 0;
	n = gp_for_each_allocation(m->pool, collect, m);
	CHECK(m, n >= 0 && (size_t)n == m->nseen,
	      "gp_for_each_allocation returned %ld, visited %zu", n, m->nseen);
	CHECK(m, m->nseen == m->nlive,
	      "pool lists %zu allocations, model has %zu", m->nseen, m->nlive);
	for (i = m->nchunks - 1; i >= 0; i--) {
		const struct mchunk *c = &m->chunks[i];
		unsigned long b = 0, e, run = 0;

		size += (size_t)c->nbits << m->order;
		avail += (size_t)c->free_units << m->order;
		while (b < c->nbits) {
			uint32_t id = c->unit_owner[b];

			if (!id) {
				run++;
				if (run > largest)
					largest = run;
				b++;
				continue;
			}
			run = 0;
			for (e = b; e < c->nbits && c->unit_owner[e] == id; e++)
				;
			CHECK(m, k < m->nseen, "pool lists too few allocations");
			CHECK(m, m->seen[k].addr == c->start + (b << m->order) &&
				 m->seen[k].size == (size_t)(e - b) << m->order,
			      "allocation %zu: pool 0x%lx+%zu, model 0x%lx+%zu",
			      k, m->seen[k].addr, m->seen[k].size,
			      c->start + (b << m->order),
			      (size_t)(e - b) << m->order);
			/* Independent of the model: inside the chunk and
			 * after the previous allocation of the same chunk. */
			CHECK(m, m->seen[k].addr >= c->start &&
				 m->seen[k].addr + m->seen[k].size - 1 <=
				 chunk_end(m, c), "allocation outside its chunk");
			if (b > 0 && k > 0 && m->seen[k - 1].addr >= c->start &&
			    m->seen[k - 1].addr <= chunk_end(m, c))
				CHECK(m, m->seen[k - 1].addr + m->seen[k - 1].size
					 <= m->seen[k].addr,
				      "allocations overlap: 0x%lx+%zu and 0x%lx",
				      m->seen[k - 1].addr, m->seen[k - 1].size,
				      m->seen[k].addr);
			live_bytes += m->seen[k].size;
			k++;
			b = e;
		}
	}
	largest <<= m->order;
	CHECK(m, gen_pool_size(m->pool) == size,
	      "gen_pool_size %zu, model %zu", gen_pool_size(m->pool), size);
	CHECK(m, gen_pool_avail(m->pool) == avail,
	      "gen_pool_avail %zu, model %zu", gen_pool_avail(m->pool), avail);
	CHECK(m, gen_pool_avail(m->pool) == size - live_bytes,
	      "gen_pool_avail %zu != size %zu - live bytes %zu",
	      gen_pool_avail(m->pool), size, live_bytes);
	walk.next = m->nchunks - 1;
	gen_pool_for_each_chunk(m->pool, check_chunk, &walk);
	CHECK(m, walk.ok, "gen_pool_for_each_chunk: %s", walk.why);
	CHECK(m, walk.next == -1, "pool has %d chunks fewer than the model",
	      walk.next + 1);
	CHECK(m, gp_get_stats(m->pool, &st) == 0, "gp_get_stats failed");
	frag = avail ? 1.0 - (double)largest / (double)avail : 0.0;
	CHECK(m, st.chunks == (size_t)m->nchunks && st.size == size &&
		 st.avail == avail && st.in_use == size - avail &&
		 st.allocations == m->nlive && st.failures == m->failures &&
		 st.largest_free == largest && fabs(st.fragmentation - frag) < 1e-9,
	      "gp_get_stats: chunks %zu size %zu avail %zu in_use %zu allocs "
	      "%" PRIu64 " failures %" PRIu64 " largest %zu; model %d %zu %zu "
	      "%zu %zu %" PRIu64 " %zu", st.chunks, st.size, st.avail,
	      st.in_use, st.allocations, st.failures, st.largest_free,
	      m->nchunks, size, avail, size - avail, m->nlive, m->failures,
	      largest);
	return true;
}

/* A few address queries against the model. */
static bool check_queries(struct model *m)
{
	unsigned long addr, len;
	int ci, expect;
	phys_addr_t phys;

	if (!m->nchunks)
		return true;
	ci = (int)rnd_below(m, (unsigned long)m->nchunks);
	len = (rnd_below(m, m->chunks[ci].nbits + 2) << m->order) + 1;
	addr = m->chunks[ci].start +
	       (rnd_below(m, m->chunks[ci].nbits + 2) << m->order) -
	       (rnd_below(m, 2) << m->order);
	expect = model_chunk_of(m, addr) == ci &&
		 len - 1 <= chunk_end(m, &m->chunks[ci]) - addr;
	CHECK(m, gen_pool_has_addr(m->pool, addr, len) == expect &&
		 addr_in_gen_pool(m->pool, addr, len) == expect,
	      "gen_pool_has_addr(0x%lx, %lu) != %d", addr, len, expect);
	ci = model_chunk_of(m, addr);
	phys = gen_pool_virt_to_phys(m->pool, addr);
	if (ci < 0 || m->chunks[ci].phys == GP_NO_PHYS)
		CHECK(m, phys == GP_NO_PHYS,
		      "virt_to_phys(0x%lx) = 0x%" PRIx64 ", expected none",
		      addr, phys);
	else
		CHECK(m, phys == m->chunks[ci].phys + (addr - m->chunks[ci].start),
		      "virt_to_phys(0x%lx) = 0x%" PRIx64, addr, phys);
	return true;
}

/* ---------------------------------------------------------- operations */

static genpool_algo_t algo_fn(enum algo_kind k)
{
	switch (k) {
	case A_ALIGN:
		return gen_pool_first_fit_align;
	case A_ORDER:
		return gen_pool_first_fit_order_align;
	case A_BEST:
		return gen_pool_best_fit;
	case A_FIXED:
		return gen_pool_fixed_alloc;
	default:
		return gen_pool_first_fit;
	}
}

static size_t random_size(struct model *m)
{
	unsigned long r = rnd_below(m, 100), units, maxbits = 1;
	int i;

	for (i = 0; i < m->nchunks; i++)
		if (m->chunks[i].nbits > maxbits)
			maxbits = m->chunks[i].nbits;
	if (r < 3)
		return 0;
	if (r < 5) {
		switch (rnd_below(m, 4)) {
		case 0:
			return SIZE_MAX;
		case 1:		/* overflows when rounded (unit > 1) */
			return SIZE_MAX - (m->unit - 1) + (m->unit > 1);
		case 2:
			return SIZE_MAX - (m->unit - 1);
		default:
			return (size_t)1 << 62;
		}
	}
	if (r < 9)		/* more than any chunk holds */
		units = maxbits + 1 + rnd_below(m, 8);
	else if (r < 12)
		units = 1 + rnd_below(m, maxbits);
	else if (r < 40)
		units = 1 + rnd_below(m, 64);
	else
		units = 1 + rnd_below(m, 8);
	return (units << m->order) - rnd_below(m, m->unit);
}

static int random_align(struct model *m)
{
	static const int bad[] = { 0, -8, 3, 24, 48, 96 };

	if (rnd_below(m, 20) == 0)
		return bad[rnd_below(m, sizeof(bad) / sizeof(bad[0]))];
	return 1 << rnd_below(m, (unsigned long)m->order + 7);
}

static unsigned long random_fixed_offset(struct model *m)
{
	const struct mchunk *c;
	unsigned long r = rnd_below(m, 10), b;

	if (!m->nchunks)
		return rnd_below(m, 64) << m->order;
	c = &m->chunks[rnd_below(m, (unsigned long)m->nchunks)];
	if (r < 5)
		return rnd_below(m, c->nbits) << m->order;
	if (r < 7) {		/* the start of some free unit */
		b = rnd_below(m, c->nbits);
		while (b < c->nbits && c->unit_owner[b])
			b++;
		return (b % c->nbits) << m->order;
	}
	if (r < 8 && m->unit > 1)	/* not on a unit boundary */
		return (rnd_below(m, c->nbits) << m->order) +
		       1 + rnd_below(m, m->unit - 1);
	if (r < 9)		/* past the end */
		return (c->nbits + rnd_below(m, 4)) << m->order;
	return 0;
}

static void random_req(struct model *m, struct algo_req *r)
{
	r->kind = (enum algo_kind)rnd_below(m, A_NKINDS);
	r->align.align = random_align(m);
	r->fixed.offset = random_fixed_offset(m);
}

/* Check a placement the pool made, independently of the exact address. */
static bool check_placement(struct model *m, int ci, unsigned long bit,
			    unsigned long nr, const struct algo_req *r)
{
	const struct mchunk *c = &m->chunks[ci];
	unsigned long addr = c->start + (bit << m->order), b;

	CHECK(m, nr <= c->nbits - bit, "allocation runs past the chunk");
	for (b = bit; b < bit + nr; b++)
		CHECK(m, !c->unit_owner[b],
		      "allocation 0x%lx overlaps live allocation %u",
		      addr, c->unit_owner[b]);
	switch (r->kind) {
	case A_ALIGN:
		CHECK(m, (addr & ((unsigned long)r->align.align - 1)) == 0,
		      "0x%lx not aligned to %d", addr, r->align.align);
		break;
	case A_ORDER:
		CHECK(m, ((addr - c->start) & ((test_roundup_pow2(nr) << m->order) - 1))
			 == 0, "0x%lx not order-aligned from chunk 0x%lx",
		      addr, c->start);
		break;
	case A_FIXED:
		CHECK(m, addr - c->start == r->fixed.offset,
		      "0x%lx not at offset 0x%lx of chunk 0x%lx", addr,
		      r->fixed.offset, c->start);
		break;
	default:
		break;
	}
	return true;
}

static bool op_alloc(struct model *m)
{
	struct algo_req r;
	size_t size = random_size(m);
	unsigned long addr = 0, nr = units_of(m, size), bit = 0;
	bool use_pool_algo = rnd_below(m, 4) == 0, expect_ok;
	unsigned long variant = rnd_below(m, 4);
	void *owner = (void *)1;
	dma_addr_t dma = 0;
	bool want_dma = false;
	int ci = -1, err = 0, ret;

	if (use_pool_algo) {
		r.kind = m->pool_kind;
		r.align = m->pool_align;
		r.fixed = m->pool_fixed;
	} else {
		random_req(m, &r);
	}
	expect_ok = model_alloc_where(m, size, &r, &ci, &bit);
	if (m->verbose)
		fprintf(stderr, "op %lu: alloc %zu %s%s align %d off 0x%lx "
			"variant %lu -> %s\n", m->op, size,
			use_pool_algo ? "pool " : "", algo_names[r.kind],
			r.align.align, r.fixed.offset, variant,
			expect_ok ? "fit" : "no fit");

	errno = 0;
	if (use_pool_algo) {
		switch (variant) {
		case 0:
			addr = gen_pool_alloc(m->pool, size);
			owner = NULL;
			break;
		case 1:
			addr = gen_pool_alloc_owner(m->pool, size, &owner);
			break;
		case 2:
			ret = gp_alloc_checked(m->pool, size, NULL, NULL,
					       &addr, &owner);
			err = -ret;
			break;
		default:
			addr = (unsigned long)gen_pool_dma_alloc(m->pool, size,
								 &dma);
			want_dma = true;
			owner = NULL;
			break;
		}
	} else {
		void *data = r.kind == A_ALIGN ? (void *)&r.align :
			     r.kind == A_FIXED ? (void *)&r.fixed : NULL;

		switch (variant) {
		case 0:
			addr = gen_pool_alloc_algo(m->pool, size,
						   algo_fn(r.kind), data);
			owner = NULL;
			break;
		case 1:
			addr = gen_pool_alloc_algo_owner(m->pool, size,
							 algo_fn(r.kind), data,
							 &owner);
			break;
		case 2:
			ret = gp_alloc_checked(m->pool, size, algo_fn(r.kind),
					       data, &addr, &owner);
			err = -ret;
			break;
		default:
			if (r.kind == A_ALIGN && valid_align(r.align.align))
				addr = (unsigned long)gen_pool_dma_alloc_align(
					m->pool, size, &dma, r.align.align);
			else
				addr = (unsigned long)gen_pool_dma_alloc_algo(
					m->pool, size, &dma, algo_fn(r.kind),
					data);
			want_dma = true;
			owner = NULL;
			break;
		}
	}
	if (variant != 2)
		err = addr ? 0 : errno;

	if (!expect_ok) {
		m->failures++;
		CHECK(m, addr == 0, "alloc(%zu, %s) returned 0x%lx, model: no fit",
		      size, algo_names[r.kind], addr);
		CHECK(m, err == (nr ? ENOMEM : EINVAL),
		      "alloc(%zu) failed with errno %d, expected %d", size, err,
		      nr ? ENOMEM : EINVAL);
		CHECK(m, variant != 1 && variant != 2 ? true : owner == NULL,
		      "failed alloc left owner %p", owner);
		return true;
	}
	CHECK(m, addr != 0, "alloc(%zu, %s) failed (errno %d), model: 0x%lx",
	      size, algo_names[r.kind], err,
	      m->chunks[ci].start + (bit << m->order));
	{
		int pci = model_chunk_of(m, addr);
		unsigned long pbit;

		CHECK(m, pci >= 0, "alloc returned 0x%lx outside every chunk",
		      addr);
		CHECK(m, ((addr - m->chunks[pci].start) & (m->unit - 1)) == 0,
		      "0x%lx not on a unit boundary", addr);
		pbit = (addr - m->chunks[pci].start) >> m->order;
		if (!check_placement(m, pci, pbit, nr, &r))
			return false;
	}
	CHECK(m, addr == m->chunks[ci].start + (bit << m->order),
	      "alloc(%zu, %s) returned 0x%lx, model 0x%lx (chunk %d)", size,
	      algo_names[r.kind], addr, m->chunks[ci].start + (bit << m->order),
	      ci);
	if (variant == 1 || variant == 2)
		CHECK(m, owner == m->chunks[ci].owner, "owner %p, expected %p",
		      owner, m->chunks[ci].owner);
	if (want_dma) {
		dma_addr_t exp = m->chunks[ci].phys == GP_NO_PHYS ? GP_NO_PHYS :
				 m->chunks[ci].phys + (bit << m->order);

		CHECK(m, dma == exp, "dma 0x%" PRIx64 ", expected 0x%" PRIx64,
		      dma, exp);
	}
	model_claim(m, ci, bit, nr, size);
	return true;
}

static bool op_free(struct model *m)
{
	size_t idx = rnd_below(m, m->nlive);
	struct mrec rec = m->live[idx];
	size_t size = rnd_below(m, 2) ? rec.req : rec.nr << m->order;
	void *owner = (void *)1;
	int ret = 0;

	if (m->verbose)
		fprintf(stderr, "op %lu: free 0x%lx %zu\n", m->op, rec.addr,
			size);
	switch (rnd_below(m, 3)) {
	case 0:
		gen_pool_free(m->pool, rec.addr, size);
		owner = m->chunks[rec.chunk].owner;
		break;
	case 1:
		gen_pool_free_owner(m->pool, rec.addr, size, &owner);
		break;
	default:
		ret = gp_free_checked(m->pool, rec.addr, size, &owner);
		break;
	}
	CHECK(m, ret == 0, "gp_free_checked(0x%lx, %zu) = %d", rec.addr, size,
	      ret);
	CHECK(m, m->misuse.count == 0, "valid free reported misuse: %s",
	      m->misuse.last_what);
	CHECK(m, owner == m->chunks[rec.chunk].owner,
	      "free owner %p, expected %p", owner, m->chunks[rec.chunk].owner);
	model_release(m, idx);
	return true;
}

/* gp_free_checked with a doubtful range: the model says what it must do. */
static bool op_bad_free(struct model *m)
{
	unsigned long addr, r = rnd_below(m, 8);
	size_t size;
	int expect, ret, before = m->misuse.count;
	void *owner = (void *)1;

	if (m->nlive && r < 3) {
		const struct mrec *rec = &m->live[rnd_below(m, m->nlive)];

		addr = rec->addr;
		size = rec->nr << m->order;
		if (r == 0)		/* wrong size */
			size += (rnd_below(m, 3) + 1) << m->order;
		else if (r == 1 && rec->nr > 1)	/* shorter */
			size -= (1 + rnd_below(m, rec->nr - 1)) << m->order;
		else if (rec->nr > 1)	/* interior */
			addr += (1 + rnd_below(m, rec->nr - 1)) << m->order;
		else if (m->unit > 1)	/* off the unit boundary */
			addr += 1 + rnd_below(m, m->unit - 1);
		else
			size = 0;
	} else if (m->nfreed && r < 5) {	/* double free */
		const struct mrec *rec = &m->freed[rnd_below(m,
						m->nfreed < 16 ? m->nfreed : 16)];

		addr = rec->addr;
		size = rec->req;
	} else if (m->nchunks && r < 7) {
		const struct mchunk *c =
			&m->chunks[rnd_below(m, (unsigned long)m->nchunks)];

		if (r == 5) {		/* just outside */
			addr = rnd_below(m, 2) ? c->start - m->unit :
			       chunk_end(m, c) + 1;
			size = m->unit;
		} else {		/* past the end */
			addr = chunk_end(m, c) + 1 -
			       ((1 + rnd_below(m, 4)) << m->order);
			size = (5 + rnd_below(m, 4)) << m->order;
		}
	} else {
		addr = 0x1000 + (rnd_below(m, 64) << m->order);
		size = rnd_below(m, 3) << m->order;
	}
	expect = model_free_errno(m, addr, size);
	if (m->verbose)
		fprintf(stderr, "op %lu: checked free 0x%lx %zu -> %d\n",
			m->op, addr, size, expect);
	ret = gp_free_checked(m->pool, addr, size, &owner);
	CHECK(m, ret == expect, "gp_free_checked(0x%lx, %zu) = %d, model %d",
	      addr, size, ret, expect);
	CHECK(m, m->misuse.count == before,
	      "gp_free_checked reported misuse (it must not)");
	if (ret == 0) {
		size_t idx = live_index_of(m, addr);

		CHECK(m, idx != SIZE_MAX, "model lost allocation 0x%lx", addr);
		CHECK(m, owner == m->chunks[m->live[idx].chunk].owner,
		      "owner %p after free", owner);
		model_release(m, idx);
	} else {
		CHECK(m, owner == NULL, "failed free left owner %p", owner);
	}
	return true;
}

#define BULK_MAX 40

/*
 * gp_alloc_bulk with the pool's algorithm: exactly the placements of as
 * many successive single allocations (the model's), as many as fit.
 */
static bool op_bulk_alloc(struct model *m)
{
	struct algo_req r = { .kind = m->pool_kind, .align = m->pool_align,
			      .fixed = m->pool_fixed };
	size_t size = random_size(m), n = 1 + rnd_below(m, BULK_MAX), got, i;
	unsigned long addrs[BULK_MAX], nr = units_of(m, size), bit, want;
	int ci;

	errno = 0;
	got = gp_alloc_bulk(m->pool, size, addrs, n);
	if (m->verbose)
		fprintf(stderr, "op %lu: bulk alloc %zu x %zu %s -> %zu\n",
			m->op, n, size, algo_names[r.kind], got);
	for (i = 0; i < n && model_alloc_where(m, size, &r, &ci, &bit); i++) {
		want = m->chunks[ci].start + (bit << m->order);
		CHECK(m, i < got, "bulk alloc %zu x %zu (%s) gave %zu, model "
		      "places #%zu at 0x%lx", n, size, algo_names[r.kind], got,
		      i, want);
		CHECK(m, addrs[i] == want, "bulk alloc %zu x %zu (%s): #%zu at "
		      "0x%lx, model 0x%lx", n, size, algo_names[r.kind], i,
		      addrs[i], want);
		model_claim(m, ci, bit, nr, size);
	}
	CHECK(m, got == i, "bulk alloc %zu x %zu (%s) gave %zu, model %zu",
	      n, size, algo_names[r.kind], got, i);
	if (got < n) {
		m->failures++;
		CHECK(m, errno == (nr ? ENOMEM : EINVAL),
		      "short bulk alloc: errno %d", errno);
	}
	return true;
}

/*
 * gp_free_bulk of live allocations of one size, in random order, with bad
 * addresses mixed in (freed ones, the same one twice, interior, off a
 * unit, foreign): each is judged as a gp_free_checked() in that order
 * would be, the valid ones freed, the bad ones reported, the first error
 * returned.
 */
static bool op_bulk_free(struct model *m)
{
	unsigned long addrs[2 * BULK_MAX], nr;
	size_t n = 0, want = 1 + rnd_below(m, BULK_MAX), size, start;
	int expect = 0, bad = 0, before = m->misuse.count, ret, e;

	if (!m->nlive)
		return true;
	nr = m->live[rnd_below(m, m->nlive)].nr;
	size = nr << m->order;
	start = rnd_below(m, m->nlive);
	for (size_t k = 0; k < m->nlive && n < want; k++) {
		const struct mrec *rec = &m->live[(start + k) % m->nlive];

		if (rec->nr != nr)
			continue;
		addrs[n++] = rec->addr;
		if (rnd_below(m, 6))
			continue;
		switch (rnd_below(m, 5)) {	/* a bad one next to it */
		case 0:
			addrs[n++] = rec->addr;	/* the same twice */
			break;
		case 1:
			if (m->nfreed)
				addrs[n++] = m->freed[rnd_below(m,
					m->nfreed < 16 ? m->nfreed : 16)].addr;
			break;
		case 2:
			if (nr > 1)
				addrs[n++] = rec->addr + m->unit;
			break;
		case 3:
			if (m->unit > 1)
				addrs[n++] = rec->addr + 1;
			break;
		default:
			addrs[n++] = 0x1000 + (rnd_below(m, 64) << m->order);
			break;
		}
	}
	/* Any order: allocations of one group, or not. */
	for (size_t k = n; k > 1 && rnd_below(m, 2); k--) {
		size_t j = rnd_below(m, k);
		unsigned long t = addrs[k - 1];

		addrs[k - 1] = addrs[j];
		addrs[j] = t;
	}
	ret = gp_free_bulk(m->pool, addrs, n, size);
	if (m->verbose)
		fprintf(stderr, "op %lu: bulk free %zu x %zu -> %d\n", m->op,
			n, size, ret);
	for (size_t k = 0; k < n; k++) {
		e = model_free_errno(m, addrs[k], size);
		if (e) {
			bad++;
			if (!expect)
				expect = e;
			continue;
		}
		model_release(m, live_index_of(m, addrs[k]));
	}
	CHECK(m, ret == expect, "gp_free_bulk of %zu x %zu = %d, model %d", n,
	      size, ret, expect);
	CHECK(m, m->misuse.count - before == bad,
	      "gp_free_bulk reported %d misuses, model %d",
	      m->misuse.count - before, bad);
	m->misuse.count = before;
	return true;
}

static bool op_add(struct model *m)
{
	int i = m->nchunks, ret;
	struct mchunk *c = &m->chunks[i];
	unsigned long r = rnd_below(m, 10);

	if (r < 3)
		c->nbits = 1 + rnd_below(m, 64);
	else if (r < 9)
		c->nbits = 64 + rnd_below(m, 960);
	else
		c->nbits = 1024 + rnd_below(m, 3072);
	/* Random misalignment (in units) against large alignments. */
	c->start = SLOT_BASE + (unsigned long)i * SLOT_SPAN +
		   (rnd_below(m, 1024) << m->order);
	c->phys = rnd_below(m, 2) ? GP_NO_PHYS :
		  0x80000000ULL + ((phys_addr_t)rnd_below(m, 1 << 20) << m->order);
	c->owner = NULL;
	c->unit_owner = xcalloc(c->nbits, sizeof(*c->unit_owner));
	c->free_units = c->nbits;
	if (m->verbose)
		fprintf(stderr, "op %lu: add chunk 0x%lx %lu units\n", m->op,
			c->start, c->nbits);
	switch (rnd_below(m, 3)) {
	case 0:
		c->owner = (void *)(uintptr_t)(0xc0de00 + i);
		ret = gen_pool_add_owner(m->pool, c->start, c->phys,
					 c->nbits << m->order, NUMA_NO_NODE,
					 c->owner);
		break;
	case 1:
		ret = gen_pool_add_virt(m->pool, c->start, c->phys,
					c->nbits << m->order, NUMA_NO_NODE);
		break;
	default:
		c->phys = GP_NO_PHYS;
		ret = gen_pool_add(m->pool, c->start, c->nbits << m->order,
				   NUMA_NO_NODE);
		break;
	}
	m->nchunks++;
	CHECK(m, ret == 0, "gen_pool_add* = %d", ret);
	return true;
}

/* Chunks the pool must refuse, leaving everything as it was. */
static bool op_bad_add(struct model *m)
{
	unsigned long virt, r = rnd_below(m, 5);
	size_t size;
	int expect = -EINVAL, ret, before = m->misuse.count;

	if (r == 0) {
		virt = SLOT_BASE + (unsigned long)MAX_CHUNKS * SLOT_SPAN;
		size = 0;
	} else if (r == 1 && m->unit > 1) {
		virt = SLOT_BASE + (unsigned long)MAX_CHUNKS * SLOT_SPAN;
		size = m->unit * 4 + 1 + rnd_below(m, m->unit - 1);
	} else if (r == 2) {
		virt = 0;
		size = m->unit;
	} else if (r == 3) {
		virt = ULONG_MAX - m->unit + 1;
		size = 2 * m->unit;
	} else if (m->nchunks) {
		const struct mchunk *c =
			&m->chunks[rnd_below(m, (unsigned long)m->nchunks)];

		/* Overlap: starts before, inside, or covers the chunk. */
		virt = c->start + (rnd_below(m, c->nbits) << m->order) -
		       (rnd_below(m, 4) << m->order);
		size = (1 + rnd_below(m, 2 * c->nbits)) << m->order;
		if (virt < c->start)
			size += c->start - virt;
		expect = -EEXIST;
	} else {
		return true;
	}
	if (m->verbose)
		fprintf(stderr, "op %lu: bad add 0x%lx %zu -> %d\n", m->op,
			virt, size, expect);
	ret = gen_pool_add(m->pool, virt, size, NUMA_NO_NODE);
	CHECK(m, ret == expect, "gen_pool_add(0x%lx, %zu) = %d, expected %d",
	      virt, size, ret, expect);
	CHECK(m, m->misuse.count > before,
	      "refused gen_pool_add(0x%lx, %zu) was not reported", virt, size);
	m->misuse.count = before;
	return true;
}

static bool op_set_algo(struct model *m)
{
	struct algo_req r;

	random_req(m, &r);
	m->pool_kind = r.kind;
	m->pool_align = r.align;
	m->pool_fixed = r.fixed;
	if (m->verbose)
		fprintf(stderr, "op %lu: set_algo %s\n", m->op,
			algo_names[r.kind]);
	if (r.kind == A_FIRST && rnd_below(m, 2))
		gen_pool_set_algo(m->pool, NULL, NULL);
	else
		gen_pool_set_algo(m->pool, algo_fn(r.kind),
				  r.kind == A_ALIGN ? (void *)&m->pool_align :
				  r.kind == A_FIXED ? (void *)&m->pool_fixed :
				  NULL);
	return true;
}

static bool one_op(struct model *m)
{
	unsigned long r = rnd_below(m, 1000);

	if (r < 30 && m->nchunks < m->max_chunks)
		return op_add(m);
	if (r < 45)
		return op_bad_add(m);
	if (r < 60)
		return op_set_algo(m);
	if (r < 120)
		return op_bad_free(m);
	if (r < 150)
		return op_bulk_alloc(m);
	if (r < 175)
		return op_bulk_free(m);
	if (r < 450 && m->nlive)
		return op_free(m);
	return op_alloc(m);
}

static void model_destroy(struct model *m)
{
	int i;

	for (i = 0; i < m->nchunks; i++)
		free(m->chunks[i].unit_owner);
	free(m->live);
	free(m->runlen);
	free(m->seen);
}

/* One seed; returns false on the first mismatch (the rest is skipped). */
static bool run_seed(uint64_t seed, unsigned long ops, bool verbose)
{
	static const int orders[] = { 0, 3, 6, 12 };
	struct model m;
	bool ok = false;
	int ret;

	memset(&m, 0, sizeof(m));
	m.seed = seed;
	m.rng = seed * 0x9E3779B97F4A7C15ULL + 1;
	m.verbose = verbose;
	m.order = orders[seed % 4];
	m.unit = (size_t)1 << m.order;
	m.max_chunks = 1 + (int)((seed / 4) % MAX_CHUNKS);
	m.pool_kind = A_FIRST;
	m.pool = gen_pool_create(m.order, NUMA_NO_NODE);
	if (!m.pool) {
		fprintf(stderr, "gen_pool_create(%d) failed\n", m.order);
		exit(2);
	}
	capture_pool_misuse(m.pool, &m.misuse);
	gp_set_name(m.pool, "model");
	/* Most seeds start with one chunk; some start empty. */
	if (seed % 5 != 0 && !op_add(&m))
		goto out;
	for (m.op = 0; m.op < ops; m.op++) {
		if (!one_op(&m) || !check_state(&m) || !check_queries(&m))
			goto out;
	}
	/* Conservation: a busy pool refuses to go, then free everything. */
	if (m.nlive) {
		ret = gp_destroy_checked(m.pool);
		if (ret != -EBUSY) {
			fprintf(stderr, "model: seed %" PRIu64 ": "
				"gp_destroy_checked on a busy pool = %d\n",
				seed, ret);
			total_mismatches++;
			goto out;
		}
	}
	while (m.nlive) {
		if (!op_free(&m) || !check_state(&m))
			goto out;
		m.op++;
	}
	if (gen_pool_avail(m.pool) != gen_pool_size(m.pool)) {
		fprintf(stderr, "model: seed %" PRIu64 ": avail %zu != size %zu "
			"after freeing everything\n", seed,
			gen_pool_avail(m.pool), gen_pool_size(m.pool));
		total_mismatches++;
		goto out;
	}
	{
		struct gp_stats st;

		gp_get_stats(m.pool, &st);
		if (st.allocations != 0 || st.in_use != 0) {
			fprintf(stderr, "model: seed %" PRIu64 ": %" PRIu64
				" allocations left\n", seed, st.allocations);
			total_mismatches++;
			goto out;
		}
	}
	ret = gp_destroy_checked(m.pool);
	m.pool = NULL;
	if (ret != 0) {
		fprintf(stderr, "model: seed %" PRIu64 ": destroy = %d\n", seed,
			ret);
		total_mismatches++;
		goto out;
	}
	ok = true;
out:
	if (m.pool) {
		/* After a mismatch the pool may be in any state: drop it. */
		gp_set_misuse_policy(m.pool, GP_MISUSE_REPORT);
		while (m.nlive)
			model_release(&m, 0);
	}
	model_destroy(&m);
	return ok;
}

static unsigned long env_ulong(const char *name, unsigned long def)
{
	const char *s = getenv(name);
	char *end;
	unsigned long v;

	if (!s || !*s)
		return def;
	v = strtoul(s, &end, 0);
	if (*end) {
		fprintf(stderr, "bad %s='%s'\n", name, s);
		exit(2);
	}
	return v;
}

/* Force the search path named @name; exits 77 if this CPU cannot. */
static void force_path(const char *name)
{
	static const enum gp_search_path paths[] = {
		GP_SEARCH_REFERENCE, GP_SEARCH_WORD, GP_SEARCH_AVX2,
		GP_SEARCH_AVX512,
	};
	unsigned i;
	int ret;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (strcmp(name, gp_search_path_name(paths[i])) != 0)
			continue;
		ret = gp_search_set_path(paths[i]);
		if (ret == -ENOTSUP) {
			printf("SKIP: search path %s not supported here\n",
			       name);
			exit(TEST_SKIP);
		}
		if (ret != 0 || gp_search_get_path() != paths[i]) {
			fprintf(stderr, "gp_search_set_path(%s) = %d\n",
				name, ret);
			exit(2);
		}
		return;
	}
	fprintf(stderr, "unknown search path '%s'\n", name);
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long seeds = env_ulong("GENPOOL_MODEL_SEEDS", 64);
	unsigned long ops = env_ulong("GENPOOL_MODEL_OPS", 5000);
	unsigned long first = env_ulong("GENPOOL_MODEL_SEED", 1);
	bool verbose = env_ulong("GENPOOL_MODEL_VERBOSE", 0) != 0;
	unsigned long s;

	if (argc > 1)
		force_path(argv[1]);
	printf("model: search path %s\n",
	       gp_search_path_name(gp_search_get_path()));
	fflush(stdout);
	for (s = first; s < first + seeds; s++)
		run_seed(s, ops, verbose);
	printf("model: %lu ops x %lu seeds, %lu mismatches\n", ops, seeds,
	       total_mismatches);
	return total_mismatches ? 1 : 0;
}
