// SPDX-License-Identifier: MIT
/*
 * bench/search_bench.cc - search micro-benchmarks: the kernel-faithful
 * reference search against the engine's word, AVX2 and AVX-512 paths, on
 * a bare 16 Mi-bit bitmap (1 GiB of pool at order 6).
 *
 * Names are "search/<pattern>/<algo>/<path>/<nr>" so a table script can
 * pivot <path> into columns:
 *   pattern  empty, fullhole (all busy but the last 4096 units), rand50,
 *            rand90, rand99 (random busy bits at that density), rand90hole
 *            (rand90 plus one 4096-unit hole at a random position), adv
 *            (alignment adversary: every hole is one unit too short for
 *            the request or its alignment, one fitting hole at the end),
 *            classmate (best fit only: every hole is nr + 1 units, in the
 *            same size class as nr, and one exact hole at the end)
 *   algo     ff (first fit), ffa8 / ffa64 (first fit with the start a
 *            multiple of 8 / 64 units, as first_fit_align folds it into a
 *            mask), bf (best fit)
 *   path     reference (gpi_find_zero_area, or for bf the kernel's walk
 *            gen_pool_best_fit on the raw bitmap), word, avx2, avx512
 *   nr       the run length in units
 * and "search-update/<pattern>/claim-release/<hints|bare>/<nr>" for the
 * cost the hints add to one allocation and free.
 *
 * Time per search is reported in ns.  bytes_per_second is an *effective*
 * bandwidth, the same for every path of one search: the bitmap bytes the
 * reference search has to read to answer it, i.e. per search
 *   first fit: ceil((result + nr) / 8) if a run was found, else nbits / 8;
 *   best fit:  ceil((result + nr) / 8) if the chosen hole fits exactly (the
 *              kernel's walk stops there), else nbits / 8 (it walks all).
 * The engine reads far less (its 2-byte-per-block class masks and the few
 * blocks they point at), which is the point.
 *
 * Every benchmark checks once, outside the timed loop, that its path gives
 * the reference's answer, and fails with SkipWithError otherwise.  Paths
 * the CPU lacks are skipped with "not on this CPU".
 *
 * The suite has a few hundred benchmarks, so each runs for 0.05 s by
 * default (the whole suite in about a minute);
 * GENPOOL_BENCH_SEARCH_MIN_TIME=<seconds> changes that.
 */
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

extern "C" {
#include "bitmap.h"
#include "bounds.h"
#include "search.h"
}
#include "genpool/genalloc.h"
#include "genpool/search.h"

namespace {

constexpr unsigned long kBits = 1UL << 24;	// 16 Mi units
constexpr unsigned long kHole = 4096;		// the largest run we ask for
// Where the update benchmarks claim and release: 200 units into a block.
constexpr unsigned long kUpdateAt = kBits / 2 + 200;

// A bare chunk bitmap (plain, the kernel's layout: what the reference
// searches) and the same units as a pool's unit map with its hole classes
// (what the engine searches).
struct Bitmap {
	std::vector<unsigned long> map;
	std::vector<unsigned long> um;
	std::vector<uint16_t> cls;
	gp_hints hints;

	Bitmap()
		: map(gpi_bitmap_words(kBits) + 1, 0UL),
		  um(gpi_umap_words(kBits) + 2, 0UL),
		  cls(gpi_hint_bytes(kBits) / sizeof(uint16_t), 0)
	{
		gpi_hints_init(&hints, cls.data(), kBits);
	}
	Bitmap(const Bitmap &) = delete;
	Bitmap &operator=(const Bitmap &) = delete;

	// Set [lo, hi) busy or free, a word at a time.
	void fill(unsigned long lo, unsigned long hi, bool busy)
	{
		for (unsigned long i = lo / GP_WORD_BITS;
		     i * GP_WORD_BITS < hi; i++) {
			unsigned long m = gpi_bitmap_word_mask(lo, hi, i);

			map[i] = busy ? map[i] | m : map[i] & ~m;
		}
	}
	// The unit map, masks and counters after filling the plain map.
	void sync()
	{
		for (unsigned long i = 0; i < gpi_bitmap_words(kBits); i++) {
			um[2 * i] = map[i];
			um[2 * i + 1] = 0;
		}
		gpi_hints_rebuild(&hints, um.data(), kBits);
	}
	const unsigned long *bits() const { return map.data(); }
	const unsigned long *units() const { return um.data(); }
};

uint64_t next_rand(uint64_t *s)	// splitmix64
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

// Each unit busy with probability @pct / 100 (16-bit resolution).
void fill_random(Bitmap &b, unsigned pct, uint64_t seed)
{
	const uint64_t below = 65536ULL * pct / 100;
	const unsigned long words = kBits / GP_WORD_BITS;

	for (unsigned long i = 0; i < words; i++) {
		unsigned long w = 0;

		if (pct == 50) {
			b.map[i] = next_rand(&seed);
			continue;
		}
		for (unsigned j = 0; j < GP_WORD_BITS; j += 4) {
			uint64_t r = next_rand(&seed);

			for (unsigned k = 0; k < 4; k++)
				if (((r >> (16 * k)) & 0xffff) < below)
					w |= 1UL << (j + k);
		}
		b.map[i] = w;
	}
}

/*
 * Alignment adversary for a run of @nr with starts aligned to @align
 * (1: unaligned): holes of nr + align - 2 units starting one past an
 * aligned unit (unaligned: nr - 1 units), each one unit short of holding
 * an aligned run, and one aligned hole of @nr near the end.  Best fit sees
 * only too-short holes, so this is its adversary too.
 */
void fill_adversary(Bitmap &b, unsigned long nr, unsigned long align)
{
	const unsigned long off = align > 1 ? 1 : 0;
	const unsigned long len = nr + align - 2;
	const unsigned long stride =
		(off + len + 1 + align - 1) / align * align;
	const unsigned long fit = (kBits - nr) / align * align;

	b.fill(0, kBits, true);
	for (unsigned long base = 0; base + stride + 1 < fit; base += stride)
		b.fill(base + off, base + off + len, false);
	b.fill(fit, fit + nr, false);
}

// Best fit's class adversary: holes of nr + 1 (the same size class as nr
// from nr = 4 on), one busy unit apart, and one hole of exactly @nr at the
// end.  The engine visits every block of the class, as the kernel does.
void fill_classmate(Bitmap &b, unsigned long nr)
{
	const unsigned long fit = kBits - nr;

	b.fill(0, kBits, true);
	for (unsigned long base = 0; base + nr + 3 < fit; base += nr + 2)
		b.fill(base, base + nr + 1, false);
	b.fill(fit, kBits, false);
}

std::unique_ptr<Bitmap> build(const std::string &pattern, unsigned long nr,
			      unsigned long align)
{
	std::unique_ptr<Bitmap> b(new Bitmap);
	uint64_t seed = 0x5eed0000 + pattern.size();

	if (pattern == "fullhole") {
		b->fill(0, kBits - kHole, true);
	} else if (pattern == "rand50") {
		fill_random(*b, 50, seed);
	} else if (pattern == "rand90") {
		fill_random(*b, 90, seed);
	} else if (pattern == "rand99") {
		fill_random(*b, 99, seed);
	} else if (pattern == "rand90hole") {
		fill_random(*b, 90, seed);
		// A fixed "random" place in the middle half of the bitmap.
		unsigned long at = kBits / 4 + next_rand(&seed) % (kBits / 2);
		b->fill(at, at + kHole, false);
	} else if (pattern == "adv") {
		fill_adversary(*b, nr, align);
	} else if (pattern == "classmate") {
		fill_classmate(*b, nr);
	} else if (pattern == "rand50u" || pattern == "rand90u") {
		// Update benchmarks: a free run of 512 at run_update's place,
		// inside randomly filled blocks, and one free unit after it (a
		// busy unit there without a start mark would continue the
		// allocation, and its free would be refused as the wrong size).
		fill_random(*b, pattern == "rand50u" ? 50 : 90, seed);
		b->fill(kUpdateAt, kUpdateAt + 513, false);
	}
	b->sync();
	return b;
}

// Patterns that depend on the request are built per request; only the
// last of those is kept (the benchmarks using it run one after another).
bool per_request(const std::string &pattern)
{
	return pattern == "adv" || pattern == "classmate";
}

Bitmap &get_pattern(const std::string &pattern, unsigned long nr,
		    unsigned long align)
{
	static std::map<std::string, std::unique_ptr<Bitmap>> cache;
	static std::string last_per_request;
	std::string key = pattern;

	if (per_request(pattern)) {
		key += "/" + std::to_string(nr) + "/" + std::to_string(align);
		if (!last_per_request.empty() && last_per_request != key)
			cache.erase(last_per_request);
		last_per_request = key;
	}
	std::unique_ptr<Bitmap> &slot = cache[key];
	if (!slot)
		slot = build(pattern, nr, align);
	return *slot;
}

enum class Algo { kFirstFit, kBestFit };

struct Case {
	std::string pattern;
	std::string algo_name;
	Algo algo;
	unsigned long align;	// units, 1 = unaligned
	gp_search_path path;
	unsigned long nr;

	std::string name() const
	{
		return "search/" + pattern + "/" + algo_name + "/" +
		       gp_search_path_name(path) + "/" + std::to_string(nr);
	}
	// The same search on every path.
	std::string query() const
	{
		return pattern + "/" + algo_name + "/" + std::to_string(nr);
	}
};

bool is_fit(unsigned long bit) { return bit < kBits; }

bool same_answer(unsigned long want, unsigned long got)
{
	return is_fit(want) == is_fit(got) && (!is_fit(want) || want == got);
}

// The reference search, in the kernel's way.
unsigned long reference(const Case &c, const Bitmap &b)
{
	if (c.algo == Algo::kBestFit)
		return gen_pool_best_fit(const_cast<unsigned long *>(b.bits()),
					 kBits, 0, c.nr, nullptr, nullptr, 0);
	return gpi_find_zero_area(b.bits(), kBits, 0, kBits, c.nr,
				  c.align - 1, 0);
}

// The same search on the engine, on the path in force.
unsigned long engine(const Case &c, Bitmap &b)
{
	if (c.algo == Algo::kBestFit)
		return gpi_engine_best_fit(&b.hints, b.units(), kBits, c.nr);
	return gpi_engine_find(&b.hints, b.units(), kBits, 0, c.nr,
			       c.align - 1, 0);
}

// Reference answers, computed once per query (the best-fit walk can take
// tens of milliseconds) and shared by the paths.
unsigned long reference_answer(const Case &c, const Bitmap &b)
{
	static std::map<std::string, unsigned long> answers;
	auto it = answers.find(c.query());

	if (it != answers.end())
		return it->second;
	unsigned long want = reference(c, b);
	answers[c.query()] = want;
	return want;
}

// Bitmap bytes the reference reads to answer (see the header comment).
int64_t reference_bytes(const Case &c, const Bitmap &b, unsigned long want)
{
	if (!is_fit(want))
		return (int64_t)(kBits / 8);
	if (c.algo == Algo::kBestFit &&
	    gpi_find_next_bit(b.bits(), kBits, want) - want != c.nr)
		return (int64_t)(kBits / 8);
	return (int64_t)((want + c.nr + 7) / 8);
}

// Restores the path the process had before a benchmark forced one.
class PathGuard {
public:
	PathGuard() : saved_(gp_search_get_path()) {}
	~PathGuard() { gp_search_set_path(saved_); }
	PathGuard(const PathGuard &) = delete;
	PathGuard &operator=(const PathGuard &) = delete;

private:
	gp_search_path saved_;
};

void run_search(benchmark::State &state, const Case &c)
{
	PathGuard guard;

	if (c.path != GP_SEARCH_REFERENCE &&
	    (!gp_search_path_supported(c.path) ||
	     gp_search_set_path(c.path) != 0)) {
		state.SkipWithError("not on this CPU");
		return;
	}
	Bitmap &b = get_pattern(c.pattern, c.nr, c.align);
	const unsigned long want = reference_answer(c, b);

	if (c.path != GP_SEARCH_REFERENCE &&
	    !same_answer(want, engine(c, b))) {
		state.SkipWithError("engine answer differs from the reference");
		return;
	}
	if (c.path == GP_SEARCH_REFERENCE) {
		for (auto _ : state) {
			unsigned long bit = reference(c, b);

			benchmark::DoNotOptimize(bit);
		}
	} else {
		for (auto _ : state) {
			unsigned long bit = engine(c, b);

			benchmark::DoNotOptimize(bit);
		}
	}
	state.SetBytesProcessed((int64_t)state.iterations() *
				reference_bytes(c, b, want));
}

/*
 * One allocation and one free of @nr units at a fixed place (a free run
 * 200 units into a block, crossing into the next block for nr = 512; in
 * rand50/rand90 the rest of those blocks is random): the bitmap CAS alone,
 * or with the hole classes kept up to date after each.
 */
void run_update(benchmark::State &state, const std::string &pattern,
		bool hints, unsigned long nr)
{
	Bitmap &b = get_pattern(pattern, 0, 1);
	const unsigned long at = kUpdateAt;
	unsigned long *um = b.um.data();
	bool contended = false;

	if (gpi_uany_busy(um, at, nr) ||
	    !gpi_umap_claim(um, at, nr, &contended) ||
	    gpi_umap_free(um, kBits, at, nr)) {
		state.SkipWithError("update run is not free");
		return;
	}
	if (hints) {
		for (auto _ : state) {
			bool ok = gpi_umap_claim(um, at, nr, &contended);

			gpi_hints_claimed(&b.hints, um, kBits, at, nr);
			ok &= !gpi_umap_free(um, kBits, at, nr);
			gpi_hints_released(&b.hints, um, kBits, at, nr);
			benchmark::DoNotOptimize(ok);
		}
	} else {
		for (auto _ : state) {
			bool ok = gpi_umap_claim(um, at, nr, &contended);

			ok &= !gpi_umap_free(um, kBits, at, nr);
			benchmark::DoNotOptimize(ok);
		}
	}
}

double min_time()
{
	const char *s = std::getenv("GENPOOL_BENCH_SEARCH_MIN_TIME");
	double t = s ? std::strtod(s, nullptr) : 0.0;

	return t > 0.0 ? t : 0.05;
}

int register_all()
{
	static const gp_search_path paths[] = {
		GP_SEARCH_REFERENCE, GP_SEARCH_WORD, GP_SEARCH_AVX2,
		GP_SEARCH_AVX512,
	};
	static const unsigned long nrs[] = { 1, 4, 16, 64, 256, 1024, 4096 };
	struct Family {
		const char *algo_name;
		Algo algo;
		unsigned long align;
		std::vector<std::string> patterns;
	};
	const std::vector<Family> families = {
		{ "ff", Algo::kFirstFit, 1,
		  { "empty", "fullhole", "rand50", "rand90", "rand99",
		    "rand90hole", "adv" } },
		{ "ffa8", Algo::kFirstFit, 8,
		  { "rand50", "rand90", "rand99", "adv" } },
		{ "ffa64", Algo::kFirstFit, 64,
		  { "rand50", "rand90", "rand99", "adv" } },
		{ "bf", Algo::kBestFit, 1,
		  { "empty", "fullhole", "rand50", "rand90", "rand99",
		    "rand90hole", "adv", "classmate" } },
	};
	const double secs = min_time();

	for (const Family &f : families)
		for (const std::string &p : f.patterns)
			for (unsigned long nr : nrs)
				for (gp_search_path path : paths) {
					Case c{ p, f.algo_name, f.algo, f.align,
						path, nr };

					benchmark::RegisterBenchmark(
						c.name().c_str(),
						[c](benchmark::State &st) {
							run_search(st, c);
						})
						->MinTime(secs);
				}

	static const unsigned long update_nrs[] = { 1, 8, 64, 512 };
	static const char *const update_patterns[] = {
		"empty", "rand50u", "rand90u",
	};
	for (const char *p : update_patterns)
		for (unsigned long nr : update_nrs)
			for (bool hints : { true, false }) {
				std::string pattern = p;
				std::string shown = pattern == "empty" ? pattern :
					pattern.substr(0, pattern.size() - 1);
				std::string name = "search-update/" + shown +
					"/claim-release/" +
					(hints ? "hints" : "bare") + "/" +
					std::to_string(nr);

				benchmark::RegisterBenchmark(
					name.c_str(),
					[pattern, hints, nr](benchmark::State &st) {
						run_update(st, pattern, hints, nr);
					})
					->MinTime(secs);
			}
	return 0;
}

[[maybe_unused]] const int registered = register_all();

}  // namespace
