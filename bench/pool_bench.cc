// SPDX-License-Identifier: MIT
//
// bench/pool_bench.cc - alloc+free pairs on a prefilled pool, genpool's
// engine and kernel-faithful baseline against the peer allocators.
//
// Names: pool/<impl>/<algo>/occ:<percent>/size:<bytes>/threads:<n>/real_time
//   impl: engine (GP_SEARCH_AUTO), reference (GP_SEARCH_REFERENCE: the
//         kernel's scalar search and free-bytes chunk screen), or a peer;
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

namespace gpbench {

namespace {

constexpr size_t kPoolBytes = 256UL << 20;
constexpr int kOrder = 6;
constexpr size_t kTailReserve = 4UL << 20;

const size_t kSizes[] = {64, 256, 1024, 4096, 16384, 65536, 262144, 1048576};
const int kOccupancies[] = {0, 50, 90, 95};
const int kThreads[] = {1, 2, 4, 8};

struct PrefillPlan {
	std::vector<size_t> sizes;	// allocation order
	std::vector<bool> keep;		// live after the prefill
};

// The same plan for every allocator at a given occupancy.
PrefillPlan make_plan(int occ)
{
	PrefillPlan plan;
	Rng rng(0x5eed0000u + (uint64_t)occ);
	size_t filled = 0, live, target = kPoolBytes / 100 * (size_t)occ;
	std::vector<size_t> order;

	if (!occ)
		return plan;
	while (true) {
		size_t s = rng.log_uniform(64, 65536);

		if (filled + round_up(s, 1UL << kOrder) > kPoolBytes - kTailReserve)
			break;
		plan.sizes.push_back(s);
		filled += round_up(s, 1UL << kOrder);
	}
	plan.keep.assign(plan.sizes.size(), true);
	for (size_t i = 0; i < plan.sizes.size(); i++)
		order.push_back(i);
	for (size_t i = order.size(); i > 1; i--)
		std::swap(order[i - 1], order[rng.below(i)]);
	live = filled;
	for (size_t i = 0; i < order.size() && live > target; i++) {
		plan.keep[order[i]] = false;
		live -= round_up(plan.sizes[order[i]], 1UL << kOrder);
	}
	return plan;
}

// What is prefilled right now: genpool's pool or a peer's live objects.
struct Fixture {
	std::string kind;		// "genpool" or the peer's name
	int occ = -1;
	struct gen_pool *pool = nullptr;
	const Peer *peer = nullptr;
	std::vector<std::pair<void *, size_t>> live;

	~Fixture() { release(); }
	void release()
	{
		for (auto &o : live) {
			if (pool)
				gen_pool_free(pool, (unsigned long)o.first,
					      o.second);
			else if (peer)
				peer->free(peer->ctx, o.first, o.second);
		}
		live.clear();
		if (pool)
			gen_pool_destroy(pool);
		pool = nullptr;
		peer = nullptr;
		kind.clear();
		occ = -1;
	}
};

Fixture g_fix;

// Make g_fix hold the prefill for (@kind, @occ).  Returns an error text
// or an empty string.
std::string prepare(const std::string &kind, const Peer *peer, int occ)
{
	if (g_fix.kind == kind && g_fix.occ == occ)
		return "";
	g_fix.release();

	PrefillPlan plan = make_plan(occ);
	std::vector<void *> objs(plan.sizes.size(), nullptr);

	if (!peer) {
		g_fix.pool = gen_pool_create(kOrder, NUMA_NO_NODE);
		if (!g_fix.pool ||
		    gen_pool_add(g_fix.pool, kFakeBase, kPoolBytes,
				 NUMA_NO_NODE))
			return "cannot create the pool";
	} else {
		g_fix.peer = peer;
	}
	g_fix.kind = kind;
	g_fix.occ = occ;
	for (size_t i = 0; i < plan.sizes.size(); i++) {
		void *p = peer ? peer->alloc(peer->ctx, plan.sizes[i])
			       : (void *)gen_pool_alloc(g_fix.pool,
							plan.sizes[i]);
		if (!p)
			return "prefill allocation failed";
		objs[i] = p;
		g_fix.live.emplace_back(p, plan.sizes[i]);
	}
	g_fix.live.clear();
	for (size_t i = 0; i < plan.sizes.size(); i++) {
		if (plan.keep[i]) {
			g_fix.live.emplace_back(objs[i], plan.sizes[i]);
		} else if (peer) {
			peer->free(peer->ctx, objs[i], plan.sizes[i]);
		} else {
			gen_pool_free(g_fix.pool, (unsigned long)objs[i],
				      plan.sizes[i]);
		}
	}
	return "";
}

void bm_genpool(benchmark::State &state, enum gp_search_path path,
		Algo algo, size_t size, int occ)
{
	uint64_t fails = 0;

	if (state.thread_index() == 0) {
		std::string err = prepare("genpool", nullptr, occ);

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

} // namespace

void register_pool_benchmarks()
{
	static const Algo fixed = {"fixed", gen_pool_fixed_alloc, nullptr};
	const struct {
		const char *name;
		enum gp_search_path path;
	} paths[] = {
		{"engine", GP_SEARCH_AUTO},
		{"reference", GP_SEARCH_REFERENCE},
	};

	for (int occ : kOccupancies) {
		for (size_t size : kSizes) {
			for (auto &p : paths) {
				std::vector<Algo> algos = search_algos();

				// A fixed offset is meaningful on an empty
				// pool, and for one thread (others collide).
				if (occ == 0)
					algos.push_back(fixed);
				for (const Algo &a : algos) {
					auto *b = benchmark::RegisterBenchmark(
						name_of(p.name, a.name, occ,
							size).c_str(),
						bm_genpool, p.path, a, size,
						occ);
					b->UseRealTime();
					for (int t : kThreads) {
						if (a.fn == gen_pool_fixed_alloc &&
						    t > 1)
							break;
						b->Threads(t);
					}
				}
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
