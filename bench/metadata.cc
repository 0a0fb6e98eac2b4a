// SPDX-License-Identifier: MIT
//
// bench/metadata.cc - metadata per unit of a 1 GiB pool (one chunk) at
// orders 0, 6 and 12, genpool against the kernel's genalloc.
//
// Names: metadata/<impl>/order:<n>; one iteration, nothing timed; the
// counters say it all: bytes (the chunk's metadata), units, bytes_per_unit
// and bits_per_unit.
//   genpool  the chunk record (struct gp_chunk, with its per-thread byte
//            counters), the unit map (busy bits and start marks: 2 bits per
//            unit) and the hole-class masks (2 bytes per 512 units, plus
//            padding for the vector scans), from core's own definitions;
//            "genpool+view" adds the plain view a user's own algorithm
//            gets (1 bit per unit, made only for chunks one has run on).
//   kernel   lib/genalloc.c: one allocation holding struct gen_pool_chunk
//            (list head, avail, phys_addr, owner, start and end: 56 bytes
//            on 64-bit) and the bitmap, one bit per unit in longs.
#include <benchmark/benchmark.h>

extern "C" {
#include "pool_internal.h"
}

namespace {

constexpr size_t kPool = 1UL << 30;
constexpr size_t kKernelChunk = 56;

double genpool_bytes(unsigned long nbits, bool view)
{
	return (double)(sizeof(struct gp_chunk) +
			gpi_umap_words(nbits) * sizeof(unsigned long) +
			gpi_hint_bytes(nbits) +
			(view ? gpi_bitmap_words(nbits) * sizeof(unsigned long)
			      : 0));
}

double kernel_bytes(unsigned long nbits)
{
	return (double)(kKernelChunk +
			gpi_bitmap_words(nbits) * sizeof(unsigned long));
}

void bm_metadata(benchmark::State &state, int impl, int order)
{
	unsigned long nbits = kPool >> order;
	double bytes = impl == 0 ? genpool_bytes(nbits, false) :
		       impl == 1 ? genpool_bytes(nbits, true) : kernel_bytes(nbits);

	for (auto _ : state)
		benchmark::DoNotOptimize(bytes);
	state.counters["bytes"] = bytes;
	state.counters["units"] = (double)nbits;
	state.counters["bytes_per_unit"] = bytes / (double)nbits;
	state.counters["bits_per_unit"] = 8 * bytes / (double)nbits;
}

int register_metadata()
{
	static const char *const names[] = {"genpool", "genpool+view",
					    "kernel"};

	for (int impl = 0; impl < 3; impl++)
		for (int order : {0, 6, 12})
			benchmark::RegisterBenchmark(
				(std::string("metadata/") + names[impl] +
				 "/order:" + std::to_string(order)).c_str(),
				bm_metadata, impl, order)
				->Iterations(1);
	return 0;
}

const int registered = register_metadata();

} // namespace
