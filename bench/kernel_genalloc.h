// SPDX-License-Identifier: MIT
//
// bench/kernel_genalloc.h - the kernel-true baseline: our own faithful
// implementation of the Linux kernel's lib/genalloc.c cost model, written
// from its documented behaviour (not its code), for side-by-side timing.
//
// Exactly what the kernel does per allocation and free, nothing more:
//   - chunks in a list, newest first; the chunk screen is "size > avail"
//     with the *unrounded* size (the kernel's);
//   - the algorithm is called through a pointer with the kernel's
//     signature and searches with the kernel's bitmap_find_next_zero_area
//     (find_next_zero_bit, align, find_next_bit inside the candidate run,
//     restart past a busy bit; the bit helpers out of line, as they are
//     in lib/find_bit.c);
//   - bitmap_set_ll(): one CAS loop per word that gives up when a bit is
//     already set (then bitmap_clear_ll() rolls the set words back and the
//     algorithm is asked again from the same bit);
//   - one atomic subtraction from avail on success; on free the list walk,
//     one CAS loop per word to clear, one atomic addition to avail;
//   - no misuse detection, no hints, no statistics.
// The one knob is cpu_relax(): the kernel calls it before every cmpxchg
// attempt, and on x86 it is PAUSE (tens of cycles).  Relax::pause is that;
// Relax::none makes it a compiler barrier, the cheaper and stricter
// baseline.  Placements are the kernel's, so the benchmarks check them
// against genpool's (frag traces).
#ifndef GENPOOL_BENCH_KERNEL_GENALLOC_H
#define GENPOOL_BENCH_KERNEL_GENALLOC_H

#include <cstddef>

namespace kgenalloc {

struct Pool;

// The kernel's genpool_algo_t (with the pool type of this file).
typedef unsigned long (*Algo)(unsigned long *map, unsigned long size,
			      unsigned long start, unsigned int nr,
			      void *data, Pool *pool,
			      unsigned long start_addr);

// The kernel's algorithm data.
struct DataAlign {
	int align;
};
struct DataFixed {
	unsigned long offset;
};

enum class Relax { none, pause };

Pool *create(int min_alloc_order, Relax relax);
// Add [virt, virt + size); returns 0 or -ENOMEM.
int add(Pool *pool, unsigned long virt, size_t size);
void destroy(Pool *pool);
// 0 on failure, as the kernel.
unsigned long alloc(Pool *pool, size_t size, Algo algo, void *data);
// Returns false where the kernel would BUG().
bool free(Pool *pool, unsigned long addr, size_t size);
size_t avail(Pool *pool);

// The kernel's five algorithms.
unsigned long first_fit(unsigned long *map, unsigned long size,
			unsigned long start, unsigned int nr, void *data,
			Pool *pool, unsigned long start_addr);
unsigned long first_fit_align(unsigned long *map, unsigned long size,
			      unsigned long start, unsigned int nr, void *data,
			      Pool *pool, unsigned long start_addr);
unsigned long first_fit_order_align(unsigned long *map, unsigned long size,
				    unsigned long start, unsigned int nr,
				    void *data, Pool *pool,
				    unsigned long start_addr);
unsigned long best_fit(unsigned long *map, unsigned long size,
		       unsigned long start, unsigned int nr, void *data,
		       Pool *pool, unsigned long start_addr);
unsigned long fixed_alloc(unsigned long *map, unsigned long size,
			  unsigned long start, unsigned int nr, void *data,
			  Pool *pool, unsigned long start_addr);

} // namespace kgenalloc

#endif
