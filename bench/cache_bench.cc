// SPDX-License-Identifier: MIT
//
// bench/cache_bench.cc - the per-CPU cache (include/genpool/percpu.h)
// against the central pool alone and the peers' own per-thread or
// per-CPU caches.
//
// Names: cache/<bench>/<impl>[/size:<bytes>]/real_time[/threads:<n>]
//   bench: pair     one alloc + free of one object per iteration (the hit
//                   path once the magazine is warm)
//          mixed    sizes of 1..16 units (64 B units), random lifetimes: a
//                   random one of 1024 live slots is freed and refilled
//                   with a random size per iteration; counter miss_rate =
//                   (alloc misses + free misses) / cache operations
//          prodcons thread 0 allocates, thread 1 frees what it gets
//                   through a ring: per-CPU caches' worst case
//   impl:  cache          gp_cache_alloc/free, the mode gp_cache_create()
//                         picks (rseq here unless the environment says
//                         otherwise); the label says which ran
//          cache-locked   the same with GP_CACHE_LOCKED
//          cache-checked  the same with GP_CACHE_CHECKED
//          cache-via-peer the cache through the same function-pointer
//                         adapter the peers are called through
//          pool           gen_pool_alloc/gen_pool_free: the central pool
//          a peer         jemalloc (mallocx/sdallocx, thread cache on),
//                         tcmalloc, mimalloc, glibc, rte_mempool (a
//                         256-object cache per thread), via peers.h
// Every iteration is one pair; with several threads items_per_second is
// the pairs per second of all threads together.  The pools manage a fake
// address range: genpool never touches managed memory.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <sched.h>
#include <string>
#include <vector>

#include <genpool/percpu.h>

#include "common.h"
#include "peers.h"
#ifdef GP_BENCH_HAVE_DPDK
#include "peer_dpdk.h"
#endif

namespace gpbench {

namespace {

constexpr int kOrder = 6;
constexpr size_t kUnit = 1UL << kOrder;
constexpr size_t kPoolBytes = 256UL << 20;
constexpr unsigned kSlots = 1024;
constexpr unsigned kRing = 1024;

enum class Kind { cache, pool, peer };

struct Impl {
	Kind kind;
	gp_cache *cache = nullptr;
	gen_pool *pool = nullptr;
	const Peer *peer = nullptr;
};

gen_pool *new_pool()
{
	gen_pool *pool = gen_pool_create(kOrder, NUMA_NO_NODE);

	if (!pool || gen_pool_add(pool, kFakeBase, kPoolBytes, NUMA_NO_NODE)) {
		fprintf(stderr, "genpool-bench: cache pool setup failed\n");
		std::abort();
	}
	return pool;
}

// One pool and cache per set of flags, for the whole process.
gp_cache *cache_with(unsigned flags)
{
	static std::map<unsigned, gp_cache *> caches;
	gp_cache_config cfg = {};
	auto it = caches.find(flags);

	if (it != caches.end())
		return it->second;
	cfg.flags = flags;
	gp_cache *c = gp_cache_create(new_pool(), &cfg);
	if (!c) {
		fprintf(stderr, "genpool-bench: gp_cache_create failed\n");
		std::abort();
	}
	caches[flags] = c;
	return c;
}

gen_pool *central_pool()
{
	static gen_pool *pool = new_pool();

	return pool;
}

template <Kind K> inline void *take(const Impl &im, size_t size)
{
	if constexpr (K == Kind::cache)
		return (void *)gp_cache_alloc(im.cache, size);
	else if constexpr (K == Kind::pool)
		return (void *)gen_pool_alloc(im.pool, size);
	else
		return im.peer->alloc(im.peer->ctx, size);
}

template <Kind K> inline void give(const Impl &im, void *p, size_t size)
{
	if constexpr (K == Kind::cache)
		gp_cache_free(im.cache, (unsigned long)p, size);
	else if constexpr (K == Kind::pool)
		gen_pool_free(im.pool, (unsigned long)p, size);
	else
		im.peer->free(im.peer->ctx, p, size);
}

// The cache's misses so far (alloc + free) and operations, for rates.
void cache_counts(const Impl &im, double &misses, double &ops)
{
	gp_cache_stats st;

	misses = ops = 0;
	if (!im.cache || gp_cache_get_stats(im.cache, &st))
		return;
	misses = (double)(st.total.alloc_misses + st.total.free_misses);
	ops = misses + (double)(st.total.alloc_hits + st.total.free_hits);
}

void label_mode(benchmark::State &state, const Impl &im)
{
	gp_cache_stats st;

	if (state.thread_index() == 0 && im.cache &&
	    !gp_cache_get_stats(im.cache, &st))
		state.SetLabel(std::string(st.mode_name) +
			       (st.checked ? ",checked" : ""));
}

template <Kind K> void bm_pair(benchmark::State &state, Impl im, size_t size)
{
	uint64_t fails = 0;

	label_mode(state, im);
	for (auto _ : state) {
		void *p = take<K>(im, size);

		benchmark::DoNotOptimize(p);
		if (__builtin_expect(!p, 0)) {
			fails++;
			continue;
		}
		give<K>(im, p, size);
	}
	state.SetItemsProcessed((int64_t)state.iterations());
	state.counters["fail_rate"] = benchmark::Counter(
		(double)fails, benchmark::Counter::kAvgIterations);
}

template <Kind K> void bm_mixed(benchmark::State &state, Impl im)
{
	std::vector<std::pair<void *, size_t>> slots(kSlots, {nullptr, 0});
	Rng rng(0x313 + (uint64_t)state.thread_index());
	double m0, o0, m1, o1;
	uint64_t fails = 0;

	label_mode(state, im);
	for (auto &s : slots) {
		s.second = (1 + rng.below(16)) * kUnit;
		s.first = take<K>(im, s.second);
	}
	cache_counts(im, m0, o0);
	for (auto _ : state) {
		uint64_t r = rng.next();
		auto &s = slots[r % kSlots];

		if (s.first)
			give<K>(im, s.first, s.second);
		s.second = (1 + (r >> 32) % 16) * kUnit;
		s.first = take<K>(im, s.second);
		fails += !s.first;
	}
	cache_counts(im, m1, o1);
	for (auto &s : slots)
		if (s.first)
			give<K>(im, s.first, s.second);
	state.SetItemsProcessed((int64_t)state.iterations());
	state.counters["fail_rate"] = benchmark::Counter(
		(double)fails, benchmark::Counter::kAvgIterations);
	if (im.cache && o1 > o0)
		state.counters["miss_rate"] = (m1 - m0) / (o1 - o0);
}

// The producer/consumer ring (single producer, single consumer).
struct Ring {
	std::atomic<uint64_t> head{0}, tail{0};
	void *slot[kRing];
	size_t size;
};
Ring g_ring;

// Spin briefly, then yield: on a machine with more threads than CPUs the
// other side may not be running at all.
inline void wait_a_little(unsigned &spins)
{
	if (++spins < 256)
		__builtin_ia32_pause();
	else
		sched_yield();
}

template <Kind K> void bm_prodcons(benchmark::State &state, Impl im)
{
	Ring &r = g_ring;
	bool producer = state.thread_index() == 0;

	label_mode(state, im);
	for (auto _ : state) {
		if (producer) {
			void *p = take<K>(im, 64);
			uint64_t h = r.head.load(std::memory_order_relaxed);

			for (unsigned spins = 0;
			     h - r.tail.load(std::memory_order_acquire) == kRing;)
				wait_a_little(spins);
			r.slot[h % kRing] = p;
			r.head.store(h + 1, std::memory_order_release);
		} else {
			uint64_t t = r.tail.load(std::memory_order_relaxed);

			for (unsigned spins = 0;
			     r.head.load(std::memory_order_acquire) == t;)
				wait_a_little(spins);
			void *p = r.slot[t % kRing];
			r.tail.store(t + 1, std::memory_order_release);
			if (p)
				give<K>(im, p, 64);
		}
	}
	if (producer)
		state.SetItemsProcessed((int64_t)state.iterations());
}

// The cache through the peers' adapter shape (an indirect call).
void *cache_peer_alloc(void *ctx, size_t size)
{
	return (void *)gp_cache_alloc(static_cast<gp_cache *>(ctx), size);
}

void cache_peer_free(void *ctx, void *ptr, size_t size)
{
	gp_cache_free(static_cast<gp_cache *>(ctx), (unsigned long)ptr, size);
}

struct Named {
	std::string name;
	Kind kind;
	Impl im;
};

// Every implementation the benchmarks compare, available ones only.
std::vector<Named> impls()
{
	static Peer via_peer, mempool;
	std::vector<Named> v = {
		{"cache", Kind::cache, {Kind::cache, cache_with(0)}},
		{"cache-locked", Kind::cache,
		 {Kind::cache, cache_with(GP_CACHE_LOCKED)}},
		{"cache-checked", Kind::cache,
		 {Kind::cache, cache_with(GP_CACHE_CHECKED)}},
		{"pool", Kind::pool, {Kind::pool, nullptr, central_pool()}},
	};

	via_peer.name = "cache-via-peer";
	via_peer.alloc = cache_peer_alloc;
	via_peer.free = cache_peer_free;
	via_peer.ctx = cache_with(0);
	v.push_back({via_peer.name, Kind::peer,
		     {Kind::peer, cache_with(0), nullptr, &via_peer}});
	for (const Peer &p : peers())
		if (p.available && p.name != "rte_malloc")
			v.push_back({p.name, Kind::peer,
				     {Kind::peer, nullptr, nullptr, &p}});
#ifdef GP_BENCH_HAVE_DPDK
	std::string why;
	bool eal = false;

	for (const Peer &p : peers())
		eal |= p.name == "rte_malloc" && p.available;
	if (eal && (mempool.available || dpdk_mempool(64, why, mempool)))
		v.push_back({"rte_mempool", Kind::peer,
			     {Kind::peer, nullptr, nullptr, &mempool}});
	else if (eal)
		fprintf(stderr, "genpool-bench: rte_mempool: %s\n", why.c_str());
#endif
	return v;
}

template <template <Kind> class F, typename... Args>
benchmark::internal::Benchmark *reg(const std::string &name, Kind k,
				    Args... args)
{
	switch (k) {
	case Kind::cache:
		return benchmark::RegisterBenchmark(name.c_str(),
						    F<Kind::cache>::run, args...);
	case Kind::pool:
		return benchmark::RegisterBenchmark(name.c_str(),
						    F<Kind::pool>::run, args...);
	default:
		return benchmark::RegisterBenchmark(name.c_str(),
						    F<Kind::peer>::run, args...);
	}
}

template <Kind K> struct Pair {
	static void run(benchmark::State &s, Impl im, size_t size)
	{
		bm_pair<K>(s, im, size);
	}
};
template <Kind K> struct Mixed {
	static void run(benchmark::State &s, Impl im) { bm_mixed<K>(s, im); }
};
template <Kind K> struct ProdCons {
	static void run(benchmark::State &s, Impl im) { bm_prodcons<K>(s, im); }
};

} // namespace

void register_cache_benchmarks()
{
	for (const Named &n : impls()) {
		bool peer = n.kind == Kind::peer && n.name != "cache-via-peer";

		// The hit pair: 64 B on one thread against everyone; the
		// scaling rows (threads 2 and 8) for the caches and jemalloc.
		auto *b = reg<Pair>("cache/pair/" + n.name + "/size:64", n.kind,
				    n.im, (size_t)64);
		b->UseRealTime()->Threads(1);
		if (!peer || n.name == "jemalloc" || n.name == "rte_mempool")
			b->Threads(2)->Threads(8);
		if (n.name == "rte_mempool" || n.name == "cache-via-peer")
			continue;
		reg<Mixed>("cache/mixed/" + n.name, n.kind, n.im)
			->UseRealTime()->Threads(1);
		reg<ProdCons>("cache/prodcons/" + n.name, n.kind, n.im)
			->UseRealTime()->Threads(2);
	}
}

} // namespace gpbench
