// SPDX-License-Identifier: MIT
//
// bench/common.h - small helpers shared by the benchmark files: a
// deterministic random generator, size distributions, percentiles, the
// fake address range genpool pools are built over, and the algorithm
// table.
#ifndef GENPOOL_BENCH_COMMON_H
#define GENPOOL_BENCH_COMMON_H

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <time.h>
#include <vector>

#include <genpool/genalloc.h>
#include <genpool/search.h>

#include "kernel_genalloc.h"

namespace gpbench {

// genpool never touches managed memory, so a pool used for pure
// alloc/free timing may manage an address range nobody mapped.
constexpr unsigned long kFakeBase = 1UL << 40;

// xoshiro-style 64-bit generator (splitmix64 steps); deterministic per seed.
class Rng {
public:
	explicit Rng(uint64_t seed) : s_(seed) {}
	uint64_t next()
	{
		uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		return z ^ (z >> 31);
	}
	// Uniform in [0, n).
	uint64_t below(uint64_t n) { return n ? next() % n : 0; }
	double unit() { return (double)(next() >> 11) * 0x1.0p-53; }
	// Log-uniform in [lo, hi] (bytes).
	size_t log_uniform(size_t lo, size_t hi)
	{
		double a = std::log((double)lo), b = std::log((double)hi);
		size_t v = (size_t)std::exp(a + (b - a) * unit());

		return std::min(std::max(v, lo), hi);
	}

private:
	uint64_t s_;
};

inline uint64_t now_ns()
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

// The p-th percentile (0..100) of @v (sorted in place); 0 if empty.
inline double percentile(std::vector<uint32_t> &v, double p)
{
	size_t i;

	if (v.empty())
		return 0.0;
	std::sort(v.begin(), v.end());
	i = (size_t)std::ceil(p / 100.0 * (double)v.size());
	if (i > 0)
		i--;
	return (double)v[std::min(i, v.size() - 1)];
}

inline size_t round_up(size_t v, size_t unit)
{
	return (v + unit - 1) / unit * unit;
}

// The built-in algorithms under test, with the kernel-true baseline's
// version of each (its data structures have the same layout).
struct Algo {
	const char *name;
	genpool_algo_t fn;
	void *data;
	kgenalloc::Algo kernel;
};

inline genpool_data_align *align_4k_data()
{
	static genpool_data_align d = {4096};

	return &d;
}

inline const std::vector<Algo> &search_algos()
{
	static const std::vector<Algo> a = {
		{"first_fit", gen_pool_first_fit, nullptr,
		 kgenalloc::first_fit},
		{"best_fit", gen_pool_best_fit, nullptr, kgenalloc::best_fit},
		{"first_fit_align", gen_pool_first_fit_align, align_4k_data(),
		 kgenalloc::first_fit_align},
		{"order_align", gen_pool_first_fit_order_align, nullptr,
		 kgenalloc::first_fit_order_align},
	};
	return a;
}

// The kernel-true baseline's variants (bench/kernel_genalloc.h): "kernel"
// with cpu_relax() as a compiler barrier (the stricter baseline, the one
// the targets are measured against) and "kernel-relax" with PAUSE, as the
// kernel's set_bits_ll() on x86.
struct KernelImpl {
	const char *name;
	kgenalloc::Relax relax;
	bool threads;		// also registered with more than one thread
};

inline const std::vector<KernelImpl> &kernel_impls()
{
	static const std::vector<KernelImpl> k = {
		{"kernel", kgenalloc::Relax::none, true},
		{"kernel-relax", kgenalloc::Relax::pause, false},
	};
	return k;
}

// Registration hooks of the files that build their benchmarks at run time.
void register_pool_benchmarks();
void register_frag_benchmarks();
void register_cache_benchmarks();

} // namespace gpbench

#endif
