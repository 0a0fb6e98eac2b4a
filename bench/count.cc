// SPDX-License-Identifier: MIT
//
// bench/count.cc - genpool-count: a fixed number of alloc+free operations
// on the benchmarks' prefilled pool, for instruction counting under
// callgrind (bench/count.py runs it).  Timing on a shared machine is
// noise; callgrind's counts are repeatable, so the work on the pair's cost
// is steered by them.
//
// usage: genpool-count IMPL ALGO OCC SIZE OP N
//   IMPL  engine | reference (genpool, that search path) | kernel (the
//         kernel-true baseline, bench/kernel_genalloc.h)
//   ALGO  first_fit | best_fit | first_fit_align | order_align
//   OCC   0..95, the prefill (bench/prefill.h)
//   SIZE  bytes per allocation
//   OP    pair (alloc + free) | bulkK (gp_alloc_bulk + gp_free_bulk of K;
//         engine and reference only)
//   N     how many operations measure() runs
// Only measure() is meant to be counted (callgrind --toggle-collect).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common.h"
#include "prefill.h"

using namespace gpbench;

namespace {

struct Setup {
	struct gen_pool *pool = nullptr;
	kgenalloc::Pool *kpool = nullptr;
	Algo algo{};
	size_t size = 0, bulk = 0;
};

void *alloc_one(Setup &s, size_t size)
{
	if (s.kpool)
		return (void *)kgenalloc::alloc(s.kpool, size, s.algo.kernel,
						s.algo.data);
	return (void *)gen_pool_alloc_algo(s.pool, size, s.algo.fn,
					   s.algo.data);
}

void free_one(Setup &s, void *p, size_t size)
{
	if (s.kpool)
		kgenalloc::free(s.kpool, (unsigned long)p, size);
	else
		gen_pool_free(s.pool, (unsigned long)p, size);
}

// The operations callgrind counts.
extern "C" __attribute__((noinline)) unsigned long measure(Setup *s,
							   unsigned long n)
{
	std::vector<unsigned long> addrs(s->bulk ? s->bulk : 1);
	unsigned long failed = 0;

	for (unsigned long i = 0; i < n; i++) {
		if (s->bulk) {
			size_t got = gp_alloc_bulk(s->pool, s->size,
						   addrs.data(), s->bulk);

			failed += s->bulk - got;
			gp_free_bulk(s->pool, addrs.data(), got, s->size);
			continue;
		}
		void *p = alloc_one(*s, s->size);

		if (!p) {
			failed++;
			continue;
		}
		free_one(*s, p, s->size);
	}
	return failed;
}

bool find_algo(const char *name, Algo *out)
{
	for (const Algo &a : search_algos()) {
		if (!strcmp(a.name, name)) {
			*out = a;
			return true;
		}
	}
	return false;
}

} // namespace

int main(int argc, char **argv)
{
	Setup s;
	std::string impl;
	int occ;
	unsigned long n;

	if (argc != 7 || !find_algo(argv[2], &s.algo)) {
		fprintf(stderr, "usage: genpool-count engine|reference|kernel "
			"ALGO OCC SIZE pair|bulkK N\n");
		return 2;
	}
	impl = argv[1];
	occ = atoi(argv[3]);
	s.size = strtoul(argv[4], nullptr, 0);
	if (!strncmp(argv[5], "bulk", 4))
		s.bulk = strtoul(argv[5] + 4, nullptr, 0);
	n = strtoul(argv[6], nullptr, 0);
	if (impl == "kernel") {
		if (s.bulk) {
			fprintf(stderr, "genpool-count: no bulk in the kernel\n");
			return 2;
		}
		s.kpool = kgenalloc::create(kOrder, kgenalloc::Relax::none);
		if (!s.kpool || kgenalloc::add(s.kpool, kFakeBase, kPoolBytes))
			return 1;
	} else {
		if (gp_search_set_path(impl == "reference" ? GP_SEARCH_REFERENCE
							   : GP_SEARCH_AUTO))
			return 1;
		s.pool = gen_pool_create(kOrder, NUMA_NO_NODE);
		if (!s.pool ||
		    gen_pool_add(s.pool, kFakeBase, kPoolBytes, NUMA_NO_NODE))
			return 1;
	}
	PrefillPlan plan = make_plan(occ);
	std::vector<void *> objs(plan.sizes.size());

	for (size_t i = 0; i < plan.sizes.size(); i++) {
		objs[i] = s.kpool ? (void *)kgenalloc::alloc(s.kpool,
							      plan.sizes[i],
							      kgenalloc::first_fit,
							      nullptr)
				  : (void *)gen_pool_alloc(s.pool,
							   plan.sizes[i]);
		if (!objs[i])
			return 1;
	}
	for (size_t i = 0; i < plan.sizes.size(); i++)
		if (!plan.keep[i])
			free_one(s, objs[i], plan.sizes[i]);
	/* A best-fit user sets it as the pool's algorithm (exact hints). */
	if (s.pool && s.algo.fn == gen_pool_best_fit)
		gen_pool_set_algo(s.pool, gen_pool_best_fit, nullptr);
	unsigned long failed = measure(&s, n);

	printf("%s %s occ=%d size=%zu op=%s n=%lu failed=%lu\n", argv[1],
	       argv[2], occ, s.size, argv[5], n, failed);
	return 0;
}
