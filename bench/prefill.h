// SPDX-License-Identifier: MIT
//
// bench/prefill.h - the occupied pool every alloc+free benchmark starts
// from (see pool_bench.cc for the recipe), shared by genpool-bench and
// genpool-count so that both measure the same state.
#ifndef GENPOOL_BENCH_PREFILL_H
#define GENPOOL_BENCH_PREFILL_H

#include <cstddef>
#include <vector>

#include "common.h"

namespace gpbench {

constexpr size_t kPoolBytes = 256UL << 20;
constexpr int kOrder = 6;
constexpr size_t kTailReserve = 4UL << 20;

struct PrefillPlan {
	std::vector<size_t> sizes;	// allocation order
	std::vector<bool> keep;		// live after the prefill
};

// The same plan for every allocator at a given occupancy.
inline PrefillPlan make_plan(int occ)
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

} // namespace gpbench

#endif
