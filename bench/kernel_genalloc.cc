// SPDX-License-Identifier: MIT
//
// bench/kernel_genalloc.cc - the kernel-true baseline (see the header).
#include "kernel_genalloc.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <new>

namespace kgenalloc {

namespace {

constexpr unsigned long kWordBits = sizeof(unsigned long) * CHAR_BIT;

struct Chunk {
	Chunk *next;			// older chunk
	long avail;			// atomic, bytes
	unsigned long start_addr;
	unsigned long end_addr;		// inclusive
	unsigned long bits[];		// the bitmap follows, as in the kernel
};

} // namespace

struct Pool {
	Chunk *chunks;			// newest first
	int min_alloc_order;
	Relax relax;
};

namespace {

// The kernel's words are read with plain loads; relaxed atomics cost the
// same on x86 and keep the compiler from caching them.
inline unsigned long load(const unsigned long *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

inline unsigned long first_word_mask(unsigned long start)
{
	return ~0UL << (start % kWordBits);
}

inline unsigned long last_word_mask(unsigned long nbits)
{
	return ~0UL >> (-nbits & (kWordBits - 1));
}

// lib/find_bit.c: the next set (or, with Zero, clear) bit; out of line,
// a word at a time.
template <bool Zero>
__attribute__((noinline)) unsigned long
find_next(const unsigned long *map, unsigned long size, unsigned long start)
{
	const unsigned long munge = Zero ? ~0UL : 0;
	unsigned long idx, w;

	if (start >= size)
		return size;
	idx = start / kWordBits;
	for (w = (load(&map[idx]) ^ munge) & first_word_mask(start); !w;
	     w = load(&map[idx]) ^ munge) {
		if ((idx + 1) * kWordBits >= size)
			return size;
		idx++;
	}
	idx = idx * kWordBits + (unsigned long)__builtin_ctzl(w);
	return idx < size ? idx : size;
}

inline unsigned long find_next_bit(const unsigned long *map, unsigned long size,
				   unsigned long start)
{
	return find_next<false>(map, size, start);
}

inline unsigned long find_next_zero_bit(const unsigned long *map,
					unsigned long size, unsigned long start)
{
	return find_next<true>(map, size, start);
}

// lib/bitmap.c's bitmap_find_next_zero_area_off (out of line there too).
__attribute__((noinline)) unsigned long
find_next_zero_area_off(const unsigned long *map, unsigned long size,
			unsigned long start, unsigned long nr,
			unsigned long align_mask, unsigned long align_offset)
{
	unsigned long index, end, i;

	for (;;) {
		index = find_next_zero_bit(map, size, start);
		index = ((index + align_offset + align_mask) & ~align_mask) -
			align_offset;
		end = index + nr;
		if (end > size)
			return end;
		i = find_next_bit(map, end, index);
		if (i < end) {
			start = i + 1;
			continue;
		}
		return index;
	}
}

template <bool Pause>
inline void cpu_relax()
{
	if (Pause)
		__builtin_ia32_pause();
	else
		__asm__ __volatile__("" ::: "memory");
}

// set_bits_ll / clear_bits_ll: one CAS loop per word.
template <bool Pause>
inline bool set_bits_ll(unsigned long *addr, unsigned long mask)
{
	unsigned long val = load(addr);

	do {
		if (val & mask)
			return false;
		cpu_relax<Pause>();
	} while (!__atomic_compare_exchange_n(addr, &val, val | mask, false,
					      __ATOMIC_SEQ_CST,
					      __ATOMIC_RELAXED));
	return true;
}

template <bool Pause>
inline bool clear_bits_ll(unsigned long *addr, unsigned long mask)
{
	unsigned long val = load(addr);

	do {
		if ((val & mask) != mask)
			return false;
		cpu_relax<Pause>();
	} while (!__atomic_compare_exchange_n(addr, &val, val & ~mask, false,
					      __ATOMIC_SEQ_CST,
					      __ATOMIC_RELAXED));
	return true;
}

// bitmap_set_ll / bitmap_clear_ll: the bits not yet changed when a word
// refused (0 when all were).
template <bool Pause, bool Set>
unsigned long change_bits_ll(unsigned long *map, unsigned long start,
			     unsigned long nr)
{
	unsigned long *p = map + start / kWordBits;
	const unsigned long size = start + nr;
	unsigned long bits = kWordBits - start % kWordBits;
	unsigned long mask = first_word_mask(start);

	while (nr >= bits) {
		if (!(Set ? set_bits_ll<Pause>(p, mask)
			  : clear_bits_ll<Pause>(p, mask)))
			return nr;
		nr -= bits;
		bits = kWordBits;
		mask = ~0UL;
		p++;
	}
	if (nr) {
		mask &= last_word_mask(size);
		if (!(Set ? set_bits_ll<Pause>(p, mask)
			  : clear_bits_ll<Pause>(p, mask)))
			return nr;
	}
	return 0;
}

inline size_t chunk_size(const Chunk *c)
{
	return c->end_addr - c->start_addr + 1;
}

// gen_pool_alloc_algo_owner.
template <bool Pause>
unsigned long alloc_t(Pool *pool, size_t size, Algo algo, void *data)
{
	int order = pool->min_alloc_order;
	unsigned long nbits, start_bit, end_bit, remain;

	if (size == 0)
		return 0;
	nbits = (size + (1UL << order) - 1) >> order;
	for (Chunk *c = __atomic_load_n(&pool->chunks, __ATOMIC_ACQUIRE); c;
	     c = c->next) {
		if (size > (size_t)__atomic_load_n(&c->avail, __ATOMIC_RELAXED))
			continue;
		start_bit = 0;
		end_bit = chunk_size(c) >> order;
		for (;;) {
			start_bit = algo(c->bits, end_bit, start_bit,
					 (unsigned int)nbits, data, pool,
					 c->start_addr);
			if (start_bit >= end_bit)
				break;
			remain = change_bits_ll<Pause, true>(c->bits, start_bit,
							      nbits);
			if (!remain) {
				__atomic_fetch_sub(&c->avail,
						   (long)(nbits << order),
						   __ATOMIC_RELAXED);
				return c->start_addr + (start_bit << order);
			}
			change_bits_ll<Pause, false>(c->bits, start_bit,
						     nbits - remain);
		}
	}
	return 0;
}

// gen_pool_free_owner.
template <bool Pause>
bool free_t(Pool *pool, unsigned long addr, size_t size)
{
	int order = pool->min_alloc_order;
	unsigned long nbits = (size + (1UL << order) - 1) >> order;

	for (Chunk *c = __atomic_load_n(&pool->chunks, __ATOMIC_ACQUIRE); c;
	     c = c->next) {
		if (addr < c->start_addr || addr > c->end_addr)
			continue;
		if (addr + size - 1 > c->end_addr)
			return false;
		if (change_bits_ll<Pause, false>(c->bits,
						 (addr - c->start_addr) >> order,
						 nbits))
			return false;
		__atomic_fetch_add(&c->avail, (long)(nbits << order),
				   __ATOMIC_RELAXED);
		return true;
	}
	return false;
}

} // namespace

Pool *create(int min_alloc_order, Relax relax)
{
	Pool *pool = new (std::nothrow) Pool;

	if (pool) {
		pool->chunks = nullptr;
		pool->min_alloc_order = min_alloc_order;
		pool->relax = relax;
	}
	return pool;
}

int add(Pool *pool, unsigned long virt, size_t size)
{
	unsigned long nbits = size >> pool->min_alloc_order;
	size_t words = (nbits + kWordBits - 1) / kWordBits;
	Chunk *c = (Chunk *)calloc(1, sizeof(Chunk) + words * sizeof(long));

	if (!c)
		return -ENOMEM;
	c->avail = (long)size;
	c->start_addr = virt;
	c->end_addr = virt + size - 1;
	c->next = pool->chunks;
	__atomic_store_n(&pool->chunks, c, __ATOMIC_RELEASE);
	return 0;
}

void destroy(Pool *pool)
{
	if (!pool)
		return;
	for (Chunk *c = pool->chunks, *next; c; c = next) {
		next = c->next;
		::free(c);
	}
	delete pool;
}

unsigned long alloc(Pool *pool, size_t size, Algo algo, void *data)
{
	return pool->relax == Relax::pause ? alloc_t<true>(pool, size, algo, data)
					   : alloc_t<false>(pool, size, algo, data);
}

bool free(Pool *pool, unsigned long addr, size_t size)
{
	return pool->relax == Relax::pause ? free_t<true>(pool, addr, size)
					   : free_t<false>(pool, addr, size);
}

size_t avail(Pool *pool)
{
	size_t sum = 0;

	for (Chunk *c = pool->chunks; c; c = c->next)
		sum += (size_t)__atomic_load_n(&c->avail, __ATOMIC_RELAXED);
	return sum;
}

unsigned long first_fit(unsigned long *map, unsigned long size,
			unsigned long start, unsigned int nr, void *data,
			Pool *pool, unsigned long start_addr)
{
	return find_next_zero_area_off(map, size, start, nr, 0, 0);
}

unsigned long first_fit_align(unsigned long *map, unsigned long size,
			      unsigned long start, unsigned int nr, void *data,
			      Pool *pool, unsigned long start_addr)
{
	DataAlign *d = (DataAlign *)data;
	int order = pool->min_alloc_order;
	unsigned long align_mask, align_off;

	align_mask = (((unsigned long)d->align + (1UL << order) - 1) >> order) - 1;
	align_off = (start_addr & ((unsigned long)d->align - 1)) >> order;
	return find_next_zero_area_off(map, size, start, nr, align_mask,
				       align_off);
}

unsigned long first_fit_order_align(unsigned long *map, unsigned long size,
				    unsigned long start, unsigned int nr,
				    void *data, Pool *pool,
				    unsigned long start_addr)
{
	unsigned long align_mask = nr <= 1 ? 0 :
		(1UL << (kWordBits - (unsigned long)__builtin_clzl(nr - 1))) - 1;

	return find_next_zero_area_off(map, size, start, nr, align_mask, 0);
}

// Visits every hole that fits; stops at an exact fit.
unsigned long best_fit(unsigned long *map, unsigned long size,
		       unsigned long start, unsigned int nr, void *data,
		       Pool *pool, unsigned long start_addr)
{
	unsigned long start_bit = size, len = size + 1, index, next_bit;

	index = find_next_zero_area_off(map, size, start, nr, 0, 0);
	while (index < size) {
		next_bit = find_next_bit(map, size, index + nr);
		if (next_bit - index < len) {
			len = next_bit - index;
			start_bit = index;
			if (len == nr)
				return start_bit;
		}
		index = find_next_zero_area_off(map, size, next_bit + 1, nr,
						0, 0);
	}
	return start_bit;
}

unsigned long fixed_alloc(unsigned long *map, unsigned long size,
			  unsigned long start, unsigned int nr, void *data,
			  Pool *pool, unsigned long start_addr)
{
	DataFixed *d = (DataFixed *)data;
	int order = pool->min_alloc_order;
	unsigned long offset_bit = d->offset >> order, start_bit;

	if (d->offset & ((1UL << order) - 1))
		return size;
	start_bit = find_next_zero_area_off(map, size, start + offset_bit, nr,
					    0, 0);
	return start_bit != offset_bit ? size : start_bit;
}

} // namespace kgenalloc
