// SPDX-License-Identifier: MIT
//
// bench/pool_bench.cc - alloc+free pairs on a prefilled pool, genpool's
// engine and kernel-faithful baseline against the peer allocators.
//
// Names: pool/<impl>/<algo>/occ:<percent>/size:<bytes>/threads:<n>/real_time
//   impl: engine (GP_SEARCH_AUTO), reference (GP_SEARCH_REFERENCE: the
//         kernel's scalar search on genpool's pool, with genpool's
//         bookkeeping), kernel / kernel-relax (the kernel-true baseline,
//         bench/kernel_genalloc.h: exactly the kernel's cost), or a peer;
//   algo: a genpool algorithm, or "-" for peers (they have none).
// One iteration is one alloc(size) followed by one free of it; the time
// per iteration (real time, all threads together) is ns per pair.
//
// The prefill: a 256 MiB pool (64-byte units) is filled from the bottom
// with objects of log-uniform random sizes (64 B - 64 KiB) up to 4 MiB
// below the top, then randomly chosen objects are freed until the live
// bytes are the target occupancy of the whole pool.  The top 4 MiB stays
// free so that every measured size (up to 1 MiB) fits somewhere; at high
// occupancy large requests have to search past the fragmented part.  The
// peers get the same objects in the same order (real memory), so they hold
// the same live set.  The prefilled state is kept between the runs of one
// (allocator, occupancy) and rebuilt when that changes.
#include <benchmark/benchmark.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "common.h"
#include "peers.h"
#include "prefill.h"

namespace gpbench {

namespace {

const size_t kSizes[] = {64, 256, 1024, 4096, 16384, 65536, 262144, 1048576};
const int kOccupancies[] = {0, 50, 90, 95};
const int kThreads[] = {1, 2, 4, 8};


// What is prefilled right now: genpool's pool, the kernel-true baseline's
// or a peer's live objects.
struct Fixture {
	std::string kind;		// "genpool", a kernel impl or a peer
	int occ = -1;
	struct gen_pool *pool = nullptr;
	kgenalloc::Pool *kpool = nullptr;
	const Peer *peer = nullptr;
	std::vector<std::pair<void *, size_t>> live;

	~Fixture() { release(); }
	void *alloc(size_t size)
	{
		if (pool)
			return (void *)gen_pool_alloc(pool, size);
		if (kpool)
			return (void *)kgenalloc::alloc(kpool, size,
							kgenalloc::first_fit,
							nullptr);
		return peer->alloc(peer->ctx, size);
	}
	void free(void *p, size_t size)
	{
		if (pool)
			gen_pool_free(pool, (unsigned long)p, size);
		else if (kpool)
			kgenalloc::free(kpool, (unsigned long)p, size);
		else
			peer->free(peer->ctx, p, size);
	}
	void release()
	{
		for (auto &o : live)
			free(o.first, o.second);
		live.clear();
		if (pool)
			gen_pool_destroy(pool);
		kgenalloc::destroy(kpool);
		pool = nullptr;
		kpool = nullptr;
		peer = nullptr;
		kind.clear();
		occ = -1;
	}
};

Fixture g_fix;

// Make g_fix hold the prefill for (@kind, @occ): a peer's, the kernel
// baseline's (@kernel) or else genpool's.  Returns an error text or an
// empty string.
std::string prepare(const std::string &kind, const Peer *peer, int occ,
		    const KernelImpl *kernel = nullptr)
{
	if (g_fix.kind == kind && g_fix.occ == occ)
		return "";
	g_fix.release();

	PrefillPlan plan = make_plan(occ);
	std::vector<void *> objs(plan.sizes.size(), nullptr);

	if (peer) {
		g_fix.peer = peer;
	} else if (kernel) {
		g_fix.kpool = kgenalloc::create(kOrder, kernel->relax);
		if (!g_fix.kpool ||
		    kgenalloc::add(g_fix.kpool, kFakeBase, kPoolBytes))
			return "cannot create the kernel baseline's pool";
	} else {
		g_fix.pool = gen_pool_create(kOrder, NUMA_NO_NODE);
		if (!g_fix.pool ||
		    gen_pool_add(g_fix.pool, kFakeBase, kPoolBytes,
				 NUMA_NO_NODE))
			return "cannot create the pool";
	}
	g_fix.kind = kind;
	g_fix.occ = occ;
	for (size_t i = 0; i < plan.sizes.size(); i++) {
		void *p = g_fix.alloc(plan.sizes[i]);

		if (!p)
			return "prefill allocation failed";
		objs[i] = p;
		g_fix.live.emplace_back(p, plan.sizes[i]);
	}
	g_fix.live.clear();
	for (size_t i = 0; i < plan.sizes.size(); i++) {
		if (plan.keep[i])
			g_fix.live.emplace_back(objs[i], plan.sizes[i]);
		else
			g_fix.free(objs[i], plan.sizes[i]);
	}
	return "";
}

void bm_genpool(benchmark::State &state, enum gp_search_path path,
		Algo algo, size_t size, int occ)
{
	uint64_t fails = 0;

	if (state.thread_index() == 0) {
		// A best-fit pool is a pool of its own: best fit keeps exact
		// hints (docs/ARCHITECTURE.md), which first fit does not need.
		bool bf = algo.fn == gen_pool_best_fit;
		std::string err = prepare(bf ? "genpool-bf" : "genpool", nullptr,
					  occ);

		if (err.empty() && bf)
			gen_pool_set_algo(g_fix.pool, gen_pool_best_fit, nullptr);
		if (err.empty() && gp_search_set_path(path))
			err = std::string("search path ") +
			      gp_search_path_name(path) + " not supported";
		if (!err.empty())
			state.SkipWithError(err.c_str());
	}
	genpool_data_fixed fixed = {0};
	void *data = algo.fn == gen_pool_fixed_alloc ? &fixed : algo.data;

	// g_fix is read inside the loop: the other threads get here before
	// thread 0 has prepared it, and the loop starts with a barrier.
	for (auto _ : state) {
		struct gen_pool *pool = g_fix.pool;

		if (__builtin_expect(!pool, 0)) {
			state.SkipWithError("no pool");
			break;
		}
		unsigned long a = gen_pool_alloc_algo(pool, size, algo.fn,
						      data);
		if (__builtin_expect(!a, 0)) {
			fails++;
			continue;
		}
		gen_pool_free(pool, a, size);
	}
	state.counters["fail_rate"] = benchmark::Counter(
		(double)fails, benchmark::Counter::kAvgIterations);
	state.counters["size"] = (double)size;
	state.counters["occupancy"] = occ;
	if (state.thread_index() == 0)
		state.SetLabel(gp_search_path_name(gp_search_get_path()));
}

void bm_kernel(benchmark::State &state, const KernelImpl *k, Algo algo,
	       size_t size, int occ)
{
	uint64_t fails = 0;

	if (state.thread_index() == 0) {
		std::string err = prepare(k->name, nullptr, occ, k);

		if (!err.empty())
			state.SkipWithError(err.c_str());
	}
	kgenalloc::DataFixed fixed = {0};
	void *data = algo.fn == gen_pool_fixed_alloc ? &fixed : algo.data;

	for (auto _ : state) {
		kgenalloc::Pool *pool = g_fix.kpool;

		if (__builtin_expect(!pool, 0)) {
			state.SkipWithError("no pool");
			break;
		}
		unsigned long a = kgenalloc::alloc(pool, size, algo.kernel,
						   data);
		if (__builtin_expect(!a, 0)) {
			fails++;
			continue;
		}
		kgenalloc::free(pool, a, size);
	}
	state.counters["fail_rate"] = benchmark::Counter(
		(double)fails, benchmark::Counter::kAvgIterations);
	state.counters["size"] = (double)size;
	state.counters["occupancy"] = occ;
}

void bm_peer(benchmark::State &state, const Peer *peer, size_t size, int occ)
{
	uint64_t fails = 0;

	if (state.thread_index() == 0) {
		std::string err = prepare(peer->name, peer, occ);

		if (!err.empty())
			state.SkipWithError(err.c_str());
	}
	for (auto _ : state) {
		void *p = peer->alloc(peer->ctx, size);

		benchmark::DoNotOptimize(p);
		if (__builtin_expect(!p, 0)) {
			fails++;
			continue;
		}
		peer->free(peer->ctx, p, size);
	}
	state.counters["fail_rate"] = benchmark::Counter(
		(double)fails, benchmark::Counter::kAvgIterations);
	state.counters["size"] = (double)size;
	state.counters["occupancy"] = occ;
}

// gp_alloc_bulk of @n objects then gp_free_bulk of them: one iteration is
// one such round (the table divides by n for the cost per object).
void bm_bulk(benchmark::State &state, size_t size, int occ, size_t n)
{
	std::vector<unsigned long> addrs(n);
	uint64_t short_rounds = 0;

	if (state.thread_index() == 0) {
		std::string err = prepare("genpool", nullptr, occ);

		if (err.empty() && gp_search_set_path(GP_SEARCH_AUTO))
			err = "cannot choose the search path";
		if (!err.empty())
			state.SkipWithError(err.c_str());
	}
	for (auto _ : state) {
		struct gen_pool *pool = g_fix.pool;

		if (__builtin_expect(!pool, 0)) {
			state.SkipWithError("no pool");
			break;
		}
		size_t got = gp_alloc_bulk(pool, size, addrs.data(), n);

		short_rounds += got < n;
		gp_free_bulk(pool, addrs.data(), got, size);
	}
	state.counters["objects"] = (double)n;
	state.counters["short_rate"] = benchmark::Counter(
		(double)short_rounds, benchmark::Counter::kAvgIterations);
	state.counters["size"] = (double)size;
	state.counters["occupancy"] = occ;
}

void bm_unavailable(benchmark::State &state, std::string why)
{
	state.SkipWithError(why.c_str());
	for (auto _ : state) {
	}
}

std::string name_of(const char *impl, const char *algo, int occ, size_t size)
{
	char buf[160];

	snprintf(buf, sizeof(buf), "pool/%s/%s/occ:%d/size:%zu", impl, algo,
		 occ, size);
	return buf;
}

// Real time, every thread count unless @one (a fixed offset: one thread;
// others would collide).
void with_threads(benchmark::internal::Benchmark *b, const Algo &a,
		  bool one = false)
{
	b->UseRealTime();
	for (int t : kThreads) {
		if ((one || a.fn == gen_pool_fixed_alloc) && t > 1)
			break;
		b->Threads(t);
	}
}

} // namespace

void register_pool_benchmarks()
{
	static const Algo fixed = {"fixed", gen_pool_fixed_alloc, nullptr,
				   kgenalloc::fixed_alloc};
	const struct {
		const char *name;
		enum gp_search_path path;
	} paths[] = {
		{"engine", GP_SEARCH_AUTO},
		{"reference", GP_SEARCH_REFERENCE},
	};

	for (int occ : kOccupancies) {
		// A fixed offset is meaningful on an empty pool, and for one
		// thread (others collide).
		std::vector<Algo> algos = search_algos();

		if (occ == 0)
			algos.push_back(fixed);
		for (size_t size : kSizes) {
			for (const Algo &a : algos) {
				for (auto &p : paths)
					with_threads(benchmark::RegisterBenchmark(
						name_of(p.name, a.name, occ,
							size).c_str(),
						bm_genpool, p.path, a, size,
						occ), a);
				for (const KernelImpl &k : kernel_impls())
					with_threads(benchmark::RegisterBenchmark(
						name_of(k.name, a.name, occ,
							size).c_str(),
						bm_kernel, &k, a, size, occ), a,
						!k.threads);
			}
			for (const Peer &peer : peers()) {
				if (!peer.available)
					continue;
				auto *b = benchmark::RegisterBenchmark(
					name_of(peer.name.c_str(), "-", occ,
						size).c_str(),
					bm_peer, &peer, size, occ);
				b->UseRealTime();
				for (int t : kThreads)
					b->Threads(t);
			}
		}
	}
	// Bulk rounds (names "bulk/engine/first_fit/occ:X/size:B/n:N"): the
	// per-CPU caches' refill and flush, against the single pairs above.
	for (int occ : {0, 50, 90}) {
		for (size_t size : {64UL, 256UL, 4096UL}) {
			for (size_t n : {8UL, 32UL}) {
				char name[160];

				snprintf(name, sizeof(name),
					 "bulk/engine/first_fit/occ:%d/size:%zu/n:%zu",
					 occ, size, n);
				benchmark::RegisterBenchmark(name, bm_bulk, size,
							     occ, n)
					->UseRealTime()
					->Threads(1)
					->Threads(2);
			}
		}
	}
	for (const Peer &peer : peers()) {
		if (peer.available)
			continue;
		benchmark::RegisterBenchmark(
			("pool/" + peer.name + "/unavailable").c_str(),
			bm_unavailable, "unavailable: " + peer.reason)
			->Iterations(1);
	}
}

} // namespace gpbench
