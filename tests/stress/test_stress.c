// SPDX-License-Identifier: MIT
/*
 * tests/stress/test_stress.c - many threads hammering one pool over real
 * memory.
 *
 * Each thread allocates random sizes with random algorithms (a user's own
 * among them, which runs on the chunks' plain views), fills every
 * word of each allocation with a canary derived from (thread, sequence,
 * word address), keeps a random set live, checks the canary before freeing
 * and frees in random order.  Overlaps are caught twice: by an owner map
 * with one byte per unit (claimed with an atomic exchange at allocation,
 * released at free) and by canary corruption.  One configuration adds
 * chunks from another thread while the others allocate.
 *
 * Environment: GP_STRESS_SECONDS (per configuration, default 2, 0.4 under
 * valgrind), GP_STRESS_SEED.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define ORDER 4
#define UNIT ((size_t)1 << ORDER)
#define REGION_SIZE ((size_t)64 << 20)
#define MAX_CHUNKS 64
#define MAX_THREADS 8
#define MAX_LIVE 384

/* ------------------------------------------------------------ the arena */

struct chunk_rec {
	unsigned long start;
	size_t size;
};

static unsigned char *region;
static unsigned char *owner_map;	/* one byte per unit: 0 or tid + 1 */
static struct chunk_rec chunks[MAX_CHUNKS];
static int nchunks;			/* atomic: published after the add */
static struct gen_pool *pool;
static int misuse_reports;		/* atomic */
static int add_reports;			/* atomic: refused chunk adds */

/* A user's own algorithm (the pool hands it the chunk's plain view): the
 * first fit in the upper half of the bitmap, else in the lower. */
static unsigned long middle_fit(unsigned long *map, unsigned long size,
				unsigned long start, unsigned long nr,
				void *data, struct gen_pool *p,
				unsigned long start_addr)
{
	unsigned long from = start > size / 2 ? start : size / 2;
	unsigned long bit = gp_bitmap_find_next_zero_area_off(map, size, from,
							      nr, 0, 0);

	if (bit < size)
		return bit;
	return gp_bitmap_find_next_zero_area_off(map, size, start, nr, 0, 0);
}

static double run_seconds;
static size_t max_size_log;		/* sizes up to 2^max_size_log bytes */
static int max_live;

static void count_report(const struct gp_misuse_report *r, void *arg)
{
	if (r->kind == GP_MISUSE_BAD_ARGUMENT &&
	    strncmp(r->what, "gen_pool_add_owner", 18) == 0) {
		__atomic_fetch_add(&add_reports, 1, __ATOMIC_RELAXED);
		return;
	}
	__atomic_fetch_add(&misuse_reports, 1, __ATOMIC_RELAXED);
	fprintf(stderr, "stress: unexpected report: %s at 0x%lx size %zu: %s\n",
		gp_misuse_kind_name(r->kind), r->addr, r->size, r->what);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Add [off, off + size) of the region as a chunk whose owner is its record. */
static int add_chunk(size_t off, size_t size)
{
	int i = __atomic_load_n(&nchunks, __ATOMIC_ACQUIRE);
	int ret;

	if (i >= MAX_CHUNKS)
		return -ENOSPC;
	/* Publish the record first: workers may get addresses from the new
	 * chunk as soon as the pool has it. */
	chunks[i].start = (unsigned long)(region + off);
	chunks[i].size = size;
	__atomic_store_n(&nchunks, i + 1, __ATOMIC_RELEASE);
	ret = gen_pool_add_owner(pool, chunks[i].start, GP_NO_PHYS, size,
				 NUMA_NO_NODE, &chunks[i]);
	if (ret)
		__atomic_store_n(&nchunks, i, __ATOMIC_RELEASE);
	return ret;
}

/* The record of the chunk holding @addr, or NULL. */
static const struct chunk_rec *chunk_of(unsigned long addr)
{
	int i, n = __atomic_load_n(&nchunks, __ATOMIC_ACQUIRE);

	for (i = 0; i < n; i++)
		if (addr >= chunks[i].start &&
		    addr - chunks[i].start < chunks[i].size)
			return &chunks[i];
	return NULL;
}

/* ----------------------------------------------------------- a thread */

struct live {
	unsigned long addr;
	size_t bytes;		/* rounded to units: what the pool holds */
	size_t asked;
	uint64_t tag;
};

struct worker {
	pthread_t thread;
	int tid;
	uint64_t rng;
	pthread_barrier_t *start;
	struct live live[MAX_LIVE];
	int nlive;
	/* results */
	uint64_t ops, allocs, frees, nomem;
	uint64_t overlaps;	/* owner map or canary disagreed */
	uint64_t lost;		/* a free the pool refused */
	uint64_t misplaced;	/* outside the pool, misaligned, wrong owner */
	uint64_t in_added;	/* allocations landing in chunks added late */
	int first_added;	/* index of the first late chunk, or MAX_CHUNKS */
	char first_error[200];
};

static void note(struct worker *w, const char *fmt, unsigned long a,
		 size_t b)
{
	if (!w->first_error[0])
		snprintf(w->first_error, sizeof(w->first_error), fmt, a, b);
}

static uint64_t canary(uint64_t tag, const uint64_t *word)
{
	return tag ^ ((uint64_t)(uintptr_t)word * 0x9E3779B97F4A7C15ULL);
}

static void fill(const struct live *l)
{
	uint64_t *p = (uint64_t *)l->addr;
	size_t i, n = l->bytes / sizeof(uint64_t);

	for (i = 0; i < n; i++)
		p[i] = canary(l->tag, &p[i]);
}

static bool intact(const struct live *l)
{
	const uint64_t *p = (const uint64_t *)l->addr;
	size_t i, n = l->bytes / sizeof(uint64_t);

	for (i = 0; i < n; i++)
		if (p[i] != canary(l->tag, &p[i]))
			return false;
	return true;
}

/* Claim (or release) the owner-map bytes of @l; false on a conflict. */
static bool own(struct worker *w, const struct live *l, bool claim)
{
	size_t first = (l->addr - (unsigned long)region) >> ORDER;
	size_t i, n = l->bytes >> ORDER;
	unsigned char me = (unsigned char)(w->tid + 1), was;
	bool ok = true;

	for (i = 0; i < n; i++) {
		was = __atomic_exchange_n(&owner_map[first + i],
					  claim ? me : 0, __ATOMIC_RELAXED);
		if (was != (claim ? 0 : me))
			ok = false;
	}
	return ok;
}

/* Allocate one random block; returns false if the pool said no. */
static bool one_alloc(struct worker *w)
{
	struct genpool_data_align al;
	const struct chunk_rec *c;
	unsigned long addr = 0, units;
	size_t size, align = 0;
	void *owner = NULL;
	struct live *l;
	int how = (int)(test_rand(&w->rng) % 7);
	bool order_aligned = false;

	size = 1 + test_rand(&w->rng) %
		   ((size_t)1 << (1 + test_rand(&w->rng) % max_size_log));
	switch (how) {
	case 0:
		addr = gen_pool_alloc_algo_owner(pool, size, gen_pool_first_fit,
						 NULL, &owner);
		break;
	case 1:
		addr = gen_pool_alloc_algo_owner(pool, size, gen_pool_best_fit,
						 NULL, &owner);
		break;
	case 2:
		addr = gen_pool_alloc_algo_owner(pool, size,
						 gen_pool_first_fit_order_align,
						 NULL, &owner);
		order_aligned = true;
		break;
	case 3:
		al.align = 1 << (test_rand(&w->rng) % 13);
		align = (size_t)al.align;
		addr = gen_pool_alloc_algo_owner(pool, size,
						 gen_pool_first_fit_align,
						 &al, &owner);
		break;
	case 5:
		/* A user's own algorithm: it runs on the chunk's view. */
		addr = gen_pool_alloc_algo_owner(pool, size, middle_fit, NULL,
						 &owner);
		break;
	case 4:
		align = (size_t)1 << (4 + test_rand(&w->rng) % 9);
		addr = (unsigned long)gen_pool_dma_alloc_align(pool, size, NULL,
							       (int)align);
		owner = (void *)chunk_of(addr);
		break;
	default:
		if (gp_alloc_checked(pool, size, NULL, NULL, &addr, &owner) &&
		    addr)
			note(w, "gp_alloc_checked failed with addr 0x%lx (%zu)",
			     addr, size);
		break;
	}
	w->ops++;
	if (!addr) {
		w->nomem++;
		return false;
	}
	w->allocs++;
	units = (size + UNIT - 1) >> ORDER;
	c = chunk_of(addr);
	if (!c || addr - c->start + (units << ORDER) > c->size ||
	    (addr - c->start) % UNIT || owner != c) {
		w->misplaced++;
		note(w, "allocation 0x%lx (%zu bytes) misplaced", addr, size);
	} else if ((align > UNIT && addr % align) ||
		   (order_aligned &&
		    ((addr - c->start) >> ORDER) % test_roundup_pow2(units))) {
		w->misplaced++;
		note(w, "allocation 0x%lx (%zu bytes) misaligned", addr, size);
	}
	if (c && c >= &chunks[w->first_added])
		w->in_added++;

	l = &w->live[w->nlive++];
	l->addr = addr;
	l->asked = size;
	l->bytes = units << ORDER;
	l->tag = ((uint64_t)w->tid << 56) ^ (w->allocs << 8) ^ 0x5a;
	if (!own(w, l, true)) {
		w->overlaps++;
		note(w, "allocation 0x%lx (%zu bytes) overlaps a live one",
		     addr, size);
	}
	fill(l);
	return true;
}

/* Free live entry @i (checking its canary); swap-removes it. */
static void one_free(struct worker *w, int i)
{
	struct live l = w->live[i];
	void *owner = NULL;
	int ret = 0;

	w->live[i] = w->live[--w->nlive];
	if (!intact(&l)) {
		w->overlaps++;
		note(w, "canary of 0x%lx (%zu bytes) corrupted", l.addr,
		     l.bytes);
	}
	if (!own(w, &l, false)) {
		w->overlaps++;
		note(w, "owner map of 0x%lx (%zu bytes) changed", l.addr,
		     l.bytes);
	}
	if (test_rand(&w->rng) & 1) {
		ret = gp_free_checked(pool, l.addr, l.asked, &owner);
	} else {
		int before = __atomic_load_n(&misuse_reports, __ATOMIC_RELAXED);

		gen_pool_free_owner(pool, l.addr, l.asked, &owner);
		if (__atomic_load_n(&misuse_reports, __ATOMIC_RELAXED) != before)
			ret = -EIO;
	}
	w->ops++;
	if (ret || owner != chunk_of(l.addr)) {
		w->lost++;
		note(w, "free of 0x%lx (%zu bytes) refused or wrong owner",
		     l.addr, l.asked);
		return;
	}
	w->frees++;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	double end;
	uint64_t r;

	pthread_barrier_wait(w->start);
	end = now() + run_seconds;
	while ((w->ops & 63) || now() < end) {
		r = test_rand(&w->rng) % 100;
		if (w->nlive < max_live && (w->nlive == 0 || r < 55)) {
			if (!one_alloc(w) && w->nlive)
				one_free(w, (int)(test_rand(&w->rng) %
						  (uint64_t)w->nlive));
		} else {
			one_free(w, (int)(test_rand(&w->rng) %
					  (uint64_t)w->nlive));
		}
	}
	while (w->nlive)
		one_free(w, (int)(test_rand(&w->rng) % (uint64_t)w->nlive));
	return NULL;
}

/* ----------------------------------------------------------- the adder */

struct adder {
	pthread_t thread;
	pthread_barrier_t *start;
	size_t next_off, piece;
	int added, refused, failed;
	double slowest;		/* seconds, the slowest add */
};

static void *adder_main(void *arg)
{
	struct adder *a = arg;
	double end, t0, took, step;
	int ret;

	pthread_barrier_wait(a->start);
	end = now() + run_seconds;
	step = run_seconds / (double)((REGION_SIZE - a->next_off) / a->piece + 1);
	while (a->next_off + a->piece <= REGION_SIZE && now() < end) {
		t0 = now();
		ret = add_chunk(a->next_off, a->piece);
		took = now() - t0;
		if (took > a->slowest)
			a->slowest = took;
		if (ret)
			a->failed++;
		else
			a->added++;
		/* Adding the same range again must be refused. */
		if (gen_pool_add(pool, (unsigned long)(region + a->next_off),
				 a->piece, NUMA_NO_NODE) == -EEXIST)
			a->refused++;
		else
			a->failed++;
		a->next_off += a->piece;
		while (now() < t0 + step && now() < end)
			usleep(1000);
	}
	return NULL;
}

/* ------------------------------------------------------------- one run */

static void count_alloc(struct gen_pool *p, unsigned long addr, size_t size,
			void *data)
{
	(*(long *)data)++;
}

static int run(int nthreads, bool with_adder, uint64_t seed)
{
	static struct worker workers[MAX_THREADS];
	struct adder adder = { 0 };
	pthread_barrier_t start;
	uint64_t ops = 0, overlaps = 0, lost = 0, misplaced = 0, allocs = 0,
		 frees = 0, nomem = 0, in_added = 0;
	size_t size, avail, glitches = 0, samples = 0, off, i;
	long left = 0, walked;
	double end;
	int t, bad = 0, initial;

	memset(owner_map, 0, REGION_SIZE >> ORDER);
	nchunks = 0;
	misuse_reports = 0;
	add_reports = 0;
	pool = gen_pool_create(ORDER, NUMA_NO_NODE);
	if (!pool) {
		perror("gen_pool_create");
		return 1;
	}
	gp_set_name(pool, "stress");
	gp_set_misuse_policy(pool, GP_MISUSE_REPORT);
	gp_set_misuse_handler(pool, count_report, NULL);

	/* Without the adder: four chunks of 15 MiB with 1 MiB gaps.  With
	 * it: two chunks of 4 MiB, the adder adds the rest 2 MiB at a time,
	 * so the pool runs full and the new chunks are needed. */
	if (!with_adder) {
		for (off = 0; off < REGION_SIZE; off += (size_t)16 << 20)
			if (add_chunk(off, (size_t)15 << 20))
				bad = 1;
	} else {
		if (add_chunk(0, (size_t)4 << 20) ||
		    add_chunk((size_t)4 << 20, (size_t)4 << 20))
			bad = 1;
		adder.next_off = (size_t)8 << 20;
		adder.piece = (size_t)2 << 20;
	}
	initial = nchunks;
	if (bad) {
		printf("stress: adding the initial chunks failed\n");
		return 1;
	}

	pthread_barrier_init(&start, NULL,
			     (unsigned)(nthreads + 1 + (with_adder ? 1 : 0)));
	for (t = 0; t < nthreads; t++) {
		struct worker *w = &workers[t];

		memset(w, 0, sizeof(*w));
		w->tid = t;
		w->rng = seed * 0x9E3779B97F4A7C15ULL + (uint64_t)t + 1;
		w->start = &start;
		w->first_added = with_adder ? initial : MAX_CHUNKS;
		if (pthread_create(&w->thread, NULL, worker_main, w)) {
			perror("pthread_create");
			return 1;
		}
	}
	adder.start = &start;
	if (with_adder && pthread_create(&adder.thread, NULL, adder_main,
					 &adder)) {
		perror("pthread_create");
		return 1;
	}
	pthread_barrier_wait(&start);

	/* Meanwhile: avail is a snapshot, but it must always be a sane one. */
	end = now() + run_seconds;
	while (now() < end) {
		size = gen_pool_size(pool);
		avail = gen_pool_avail(pool);
		samples++;
		if (avail > size) {
			if (!glitches)
				printf("stress: avail %zu > size %zu while "
				       "running\n", avail, size);
			glitches++;
		}
		usleep(50);
	}

	for (t = 0; t < nthreads; t++) {
		struct worker *w = &workers[t];

		pthread_join(w->thread, NULL);
		ops += w->ops;
		overlaps += w->overlaps;
		lost += w->lost;
		misplaced += w->misplaced;
		allocs += w->allocs;
		frees += w->frees;
		nomem += w->nomem;
		in_added += w->in_added;
		if (w->first_error[0])
			printf("stress: thread %d: %s\n", t, w->first_error);
	}
	if (with_adder)
		pthread_join(adder.thread, NULL);
	pthread_barrier_destroy(&start);

	/* Every allocation freed: the pool must be back where it started. */
	walked = gp_for_each_allocation(pool, count_alloc, &left);
	lost += (uint64_t)(walked > 0 ? walked : 0);
	for (i = 0; i < REGION_SIZE >> ORDER; i++)
		if (owner_map[i]) {
			overlaps++;
			break;
		}
	size = gen_pool_size(pool);
	avail = gen_pool_avail(pool);

	printf("stress: %d threads%s: %" PRIu64 " allocs, %" PRIu64 " frees, %"
	       PRIu64 " no-fit, %zu avail samples\n", nthreads,
	       with_adder ? " + chunk adder" : "", allocs, frees, nomem,
	       samples);
	if (with_adder) {
		printf("stress: adder added %d chunks of %zu KiB (slowest add "
		       "%.3f ms), %d overlapping adds refused, %d failures; "
		       "%" PRIu64 " allocations landed in added chunks\n",
		       adder.added, adder.piece >> 10, adder.slowest * 1e3,
		       adder.refused, adder.failed, in_added);
		if (adder.failed || adder.added == 0 ||
		    adder.refused != adder.added || in_added == 0 ||
		    add_reports != adder.refused)
			bad = 1;
	}
	if (misuse_reports) {
		printf("stress: %d unexpected misuse reports\n", misuse_reports);
		bad = 1;
	}
	if (misplaced) {
		printf("stress: %" PRIu64 " misplaced allocations\n", misplaced);
		bad = 1;
	}
	if (glitches) {
		printf("stress: avail exceeded size in %zu of %zu samples\n",
		       glitches, samples);
		bad = 1;
	}
	if (walked != 0 || avail != size || size == 0 || overlaps || lost ||
	    allocs == 0 || frees != allocs)
		bad = 1;
	printf("stress: %d threads, %" PRIu64 " ops, %" PRIu64 " overlaps, %"
	       PRIu64 " lost, %s\n", nthreads, ops, overlaps, lost,
	       avail == size ? "avail back to size" : "avail NOT back to size");
	if (avail != size)
		printf("stress: avail %zu, size %zu, %ld allocations left\n",
		       avail, size, walked);
	if (gp_destroy_checked(pool)) {
		printf("stress: gp_destroy_checked refused\n");
		bad = 1;
	}
	pool = NULL;
	return bad;
}

int main(void)
{
	const char *env;
	uint64_t seed;
	int bad = 0;

	if (search_path_unavailable()) {
		printf("skip: GENPOOL_SEARCH=%s is not a path this CPU runs\n",
		       getenv("GENPOOL_SEARCH"));
		return TEST_SKIP;
	}
	run_seconds = UNDER_VALGRIND() ? 0.4 : 2.0;
	max_size_log = UNDER_VALGRIND() ? 12 : 17;
	max_live = UNDER_VALGRIND() ? 64 : MAX_LIVE;
	env = getenv("GP_STRESS_SECONDS");
	if (env && *env) {
		run_seconds = strtod(env, NULL);
		if (!(run_seconds > 0.0 && run_seconds < 3600.0)) {
			fprintf(stderr, "bad GP_STRESS_SECONDS '%s'\n", env);
			return 2;
		}
	}
	env = getenv("GP_STRESS_SEED");
	seed = env && *env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL);
	printf("stress: seed %" PRIu64 " (GP_STRESS_SEED), %.2f s per run "
	       "(GP_STRESS_SECONDS)%s\n", seed, run_seconds,
	       UNDER_VALGRIND() ? ", valgrind: scaled down" : "");

	region = map_region(REGION_SIZE);
	owner_map = map_region(REGION_SIZE >> ORDER);
	if (!region || !owner_map) {
		perror("mmap");
		return 1;
	}
	bad |= run(4, false, seed);
	bad |= run(8, false, seed + 1);
	bad |= run(4, true, seed + 2);
	munmap(owner_map, REGION_SIZE >> ORDER);
	munmap(region, REGION_SIZE);
	return bad;
}
