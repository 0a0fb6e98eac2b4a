// SPDX-License-Identifier: MIT
//
// bench/frag.cc - fragmentation traces, per algorithm, run on the engine,
// on genpool's reference path and on the kernel-true baseline
// (bench/kernel_genalloc.h); all three must place every allocation at the
// same address (checked op by op: a difference is reported as an error on
// the benchmark, and on stderr).
//
// Names: frag/<trace>/<algo>.  One iteration replays the whole trace on
// both paths.  Counters (they land in the JSON):
//   util_first_fail  bytes in use / pool size when the first allocation
//                    failed (0 if none failed)
//   frag_first_fail  1 - largest free / total free (gp_get_stats) then
//   frag_end         the same at the end of the trace
//   allocs, failures allocation attempts and failures (, stopped: below)
//   p50_ns, p99_ns   allocation latency on the engine (clock_gettime
//                    around each allocation, so ~20 ns of it is the clock)
//   ref_p50_ns, ref_p99_ns  the same on the reference path
//   kernel_p50_ns, kernel_p99_ns  the same on the kernel-true baseline
//   identical        1 when every placement matched
//
// Traces (a 16 MiB pool of 64-byte units over a fake address range; the
// operations are generated up front, independent of where things land, so
// both paths replay exactly the same requests):
//   phased     ramps, plateaus with churn and a peak, each phase with its own
//              random size range, ending in a ramp past the pool's size
//   overwrite  fill to 92% with large extents (64 KiB - 1 MiB), then free
//              random objects and allocate small ones (64 B - 4 KiB) until
//              5x the pool's size has been rewritten, then ask for large
//              extents again until they fail
//   align      an alignment adversary: the pool is filled with pairs of a
//              64-byte pin and a medium object (1 - 8 KiB), the medium ones
//              are freed, and medium sizes are asked for again: ~95% of the
//              pool is free, but every hole starts just past a pin
// A replay stops after kMaxFailures failed allocations (counter "stopped"
// = 1): past the first failure only the latency of failing searches would
// be added, and aligned algorithms on these traces fail thousands of times.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common.h"

namespace gpbench {

namespace {

constexpr size_t kFragPool = 16UL << 20;
constexpr int kFragOrder = 6;
constexpr size_t kUnit = 1UL << kFragOrder;
constexpr uint64_t kMaxFailures = 1000;

struct Op {
	bool alloc;
	uint32_t obj;
	uint32_t size;
};

// Builds a trace while tracking the requested live bytes, as if every
// allocation succeeded.
class TraceBuilder {
public:
	explicit TraceBuilder(uint64_t seed) : rng_(seed) {}

	void alloc(size_t size)
	{
		uint32_t id = (uint32_t)sizes_.size();

		sizes_.push_back(size);
		live_ids_.push_back(id);
		live_ += round_up(size, kUnit);
		ops_.push_back({true, id, (uint32_t)size});
	}
	// Free a random live object.
	void free_random()
	{
		if (live_ids_.empty())
			return;
		size_t i = rng_.below(live_ids_.size());
		free_at(i);
	}
	void free_at(size_t i)
	{
		uint32_t id = live_ids_[i];

		live_ids_[i] = live_ids_.back();
		live_ids_.pop_back();
		live_ -= round_up(sizes_[id], kUnit);
		ops_.push_back({false, id, (uint32_t)sizes_[id]});
	}
	// Allocate sizes in [lo, hi] until live >= frac of the pool; then free
	// until live <= frac; then churn @churn bytes at that level.
	void phase(double frac, size_t lo, size_t hi, size_t churn)
	{
		size_t target = (size_t)(frac * (double)kFragPool), done = 0;

		while (live_ < target)
			alloc(rng_.log_uniform(lo, hi));
		while (live_ > target && !live_ids_.empty())
			free_random();
		while (done < churn) {
			free_random();
			while (live_ < target) {
				size_t s = rng_.log_uniform(lo, hi);

				alloc(s);
				done += round_up(s, kUnit);
			}
		}
	}
	Rng &rng() { return rng_; }
	size_t live() const { return live_; }
	std::vector<Op> take() { return std::move(ops_); }
	size_t objects() const { return sizes_.size(); }
	const std::vector<uint32_t> &live_ids() const { return live_ids_; }
	size_t size_of(uint32_t id) const { return sizes_[id]; }

private:
	Rng rng_;
	std::vector<Op> ops_;
	std::vector<size_t> sizes_;
	std::vector<uint32_t> live_ids_;
	size_t live_ = 0;
};

struct Trace {
	std::vector<Op> ops;
	size_t objects;
};

Trace trace_phased()
{
	TraceBuilder b(0xf4a5ed);

	b.phase(0.50, 64, 1024, 0);			// ramp, small
	b.phase(0.50, 64, 65536, 2 * kFragPool);	// plateau, mixed
	b.phase(0.85, 4096, 262144, 0);			// peak, large
	b.phase(0.30, 64, 65536, 0);			// drop
	b.phase(0.30, 256, 16384, 2 * kFragPool);	// plateau, medium
	b.phase(1.20, 64, 65536, 0);			// ramp past the top
	return {b.take(), b.objects()};
}

Trace trace_overwrite()
{
	TraceBuilder b(0x0e1f17e);
	size_t rewritten = 0, target = kFragPool / 100 * 92;

	while (b.live() < target)
		b.alloc(b.rng().log_uniform(65536, 1048576));
	while (rewritten < 5 * kFragPool) {
		b.free_random();
		while (b.live() < target) {
			size_t s = b.rng().log_uniform(64, 4096);

			b.alloc(s);
			rewritten += round_up(s, kUnit);
		}
	}
	while (b.live() < kFragPool + kFragPool / 5)
		b.alloc(b.rng().log_uniform(65536, 1048576));
	return {b.take(), b.objects()};
}

Trace trace_align()
{
	TraceBuilder b(0xa119e);
	std::vector<uint32_t> medium;

	// Fill the pool with (pin, medium) pairs, then free every medium
	// one: most of the pool is free again, but each hole starts just
	// past a 64-byte pin, at no useful alignment.
	while (b.live() < kFragPool - kFragPool / 32) {
		b.alloc(64);
		medium.push_back((uint32_t)b.objects());
		b.alloc(b.rng().log_uniform(1024, 8192));
	}
	for (size_t i = b.live_ids().size(); i-- > 0;) {
		uint32_t id = b.live_ids()[i];

		if (std::binary_search(medium.begin(), medium.end(), id))
			b.free_at(i);
	}
	// Ask for medium sizes again, past what could fit.
	while (b.live() < kFragPool + kFragPool / 5)
		b.alloc(b.rng().log_uniform(1024, 8192));
	return {b.take(), b.objects()};
}

struct Result {
	std::vector<unsigned long> placed;	// per alloc op, 0 = failed
	std::vector<uint32_t> lat;
	double util_first_fail = 0, frag_first_fail = 0, frag_end = 0;
	uint64_t allocs = 0, failures = 0;
	bool stopped = false;
	std::string error;
};

// A genpool pool on one search path.
class GenpoolReplay {
public:
	GenpoolReplay(const Algo &algo, enum gp_search_path path)
		: algo_(algo), pool_(gen_pool_create(kFragOrder, NUMA_NO_NODE))
	{
		if (!pool_ ||
		    gen_pool_add(pool_, kFakeBase, kFragPool, NUMA_NO_NODE))
			error = "cannot create the pool";
		else if (gp_search_set_path(path))
			error = "search path not supported";
		else
			gen_pool_set_algo(pool_, algo_.fn, algo_.data);
	}
	~GenpoolReplay() { gen_pool_destroy(pool_); }
	unsigned long alloc(size_t size)
	{
		return gen_pool_alloc_algo(pool_, size, algo_.fn, algo_.data);
	}
	void free(unsigned long a, size_t size) { gen_pool_free(pool_, a, size); }
	bool stats(struct gp_stats *st) { return !gp_get_stats(pool_, st); }

	std::string error;

private:
	Algo algo_;
	struct gen_pool *pool_;
};

// The kernel-true baseline (no statistics: it has none).
class KernelReplay {
public:
	explicit KernelReplay(const Algo &algo)
		: algo_(algo),
		  pool_(kgenalloc::create(kFragOrder, kgenalloc::Relax::none))
	{
		if (!pool_ || kgenalloc::add(pool_, kFakeBase, kFragPool))
			error = "cannot create the kernel baseline's pool";
	}
	~KernelReplay() { kgenalloc::destroy(pool_); }
	unsigned long alloc(size_t size)
	{
		return kgenalloc::alloc(pool_, size, algo_.kernel, algo_.data);
	}
	void free(unsigned long a, size_t size) { kgenalloc::free(pool_, a, size); }
	bool stats(struct gp_stats *) { return false; }

	std::string error;

private:
	Algo algo_;
	kgenalloc::Pool *pool_;
};

template <class Pool>
Result replay(const Trace &t, Pool &pool)
{
	Result r;
	std::vector<unsigned long> addr(t.objects, 0);
	struct gp_stats st;

	if (!pool.error.empty()) {
		r.error = pool.error;
		return r;
	}
	r.placed.reserve(t.ops.size());
	r.lat.reserve(t.ops.size());
	for (const Op &op : t.ops) {
		if (!op.alloc) {
			if (addr[op.obj])
				pool.free(addr[op.obj], op.size);
			addr[op.obj] = 0;
			continue;
		}
		uint64_t t0 = now_ns();
		unsigned long a = pool.alloc(op.size);
		uint64_t t1 = now_ns();

		r.lat.push_back((uint32_t)std::min<uint64_t>(t1 - t0,
							      UINT32_MAX));
		r.placed.push_back(a);
		r.allocs++;
		addr[op.obj] = a;
		if (!a && !r.failures++ && pool.stats(&st)) {
			r.util_first_fail = (double)st.in_use / (double)st.size;
			r.frag_first_fail = st.fragmentation;
		}
		if (r.failures >= kMaxFailures) {
			r.stopped = true;
			break;
		}
	}
	if (pool.stats(&st))
		r.frag_end = st.fragmentation;
	// Free what is still live (sizes from the trace's alloc ops).
	for (const Op &op : t.ops) {
		if (op.alloc && addr[op.obj]) {
			pool.free(addr[op.obj], op.size);
			addr[op.obj] = 0;
		}
	}
	return r;
}

// Where @a and @b first place differently, or -1 (with a message in @msg).
long first_difference(const Result &a, const Result &b, const char *what,
		      std::string *msg)
{
	size_t n = std::min(a.placed.size(), b.placed.size()), i;
	char buf[200];

	for (i = 0; i < n && a.placed[i] == b.placed[i]; i++)
		;
	if (i == n && a.placed.size() == b.placed.size())
		return -1;
	snprintf(buf, sizeof(buf), "placements differ at allocation %zu: "
		 "engine %#lx, %s %#lx", i, i < a.placed.size() ? a.placed[i] : 0UL,
		 what, i < b.placed.size() ? b.placed[i] : 0UL);
	*msg = buf;
	return (long)i;
}

void bm_frag(benchmark::State &state, std::string name,
	     const Trace *(*make)(), Algo algo)
{
	const Trace &t = *make();
	Result eng, ref, kern;
	std::string msg;

	for (auto _ : state) {
		{
			KernelReplay k(algo);
			kern = replay(t, k);
		}
		{
			GenpoolReplay r(algo, GP_SEARCH_REFERENCE);
			ref = replay(t, r);
		}
		GenpoolReplay e(algo, GP_SEARCH_AUTO);
		eng = replay(t, e);
	}
	gp_search_set_path(GP_SEARCH_AUTO);
	if (!ref.error.empty() || !eng.error.empty() || !kern.error.empty()) {
		state.SkipWithError((ref.error + eng.error + kern.error).c_str());
		return;
	}
	if (first_difference(eng, ref, "reference", &msg) >= 0 ||
	    first_difference(eng, kern, "kernel", &msg) >= 0) {
		fprintf(stderr, "%s: %s\n", name.c_str(), msg.c_str());
		state.SkipWithError(msg.c_str());
		return;
	}
	state.counters["identical"] = 1;
	state.counters["util_first_fail"] = eng.util_first_fail;
	state.counters["frag_first_fail"] = eng.frag_first_fail;
	state.counters["frag_end"] = eng.frag_end;
	state.counters["allocs"] = (double)eng.allocs;
	state.counters["failures"] = (double)eng.failures;
	state.counters["stopped"] = eng.stopped;
	state.counters["p50_ns"] = percentile(eng.lat, 50);
	state.counters["p99_ns"] = percentile(eng.lat, 99);
	state.counters["ref_p50_ns"] = percentile(ref.lat, 50);
	state.counters["ref_p99_ns"] = percentile(ref.lat, 99);
	state.counters["kernel_p50_ns"] = percentile(kern.lat, 50);
	state.counters["kernel_p99_ns"] = percentile(kern.lat, 99);
}

template <Trace (*F)()>
const Trace *cached()
{
	static const Trace t = F();

	return &t;
}

} // namespace

void register_frag_benchmarks()
{
	const struct {
		const char *name;
		const Trace *(*make)();
	} traces[] = {
		{"phased", cached<trace_phased>},
		{"overwrite", cached<trace_overwrite>},
		{"align", cached<trace_align>},
	};

	for (auto &tr : traces) {
		for (const Algo &a : search_algos()) {
			std::string name = std::string("frag/") + tr.name +
					   "/" + a.name;

			benchmark::RegisterBenchmark(name.c_str(), bm_frag,
						     name, tr.make, a)
				->Iterations(1)
				->Unit(benchmark::kMillisecond);
		}
	}
}

} // namespace gpbench
