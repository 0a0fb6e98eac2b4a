/* SPDX-License-Identifier: MIT */
/*
 * core/util.h - small arithmetic shared by core/: the "no fit" sentinel
 * and rounding helpers.
 */
#ifndef GENPOOL_CORE_UTIL_H
#define GENPOOL_CORE_UTIL_H

#include <limits.h>
#include <stdbool.h>

/*
 * What every internal search returns when nothing fits (and what a bit
 * search returns when it finds nothing).  It is >= any bitmap size, so it
 * is also a valid "no fit" answer of the public algorithms (the kernel's
 * contract: any value >= size).
 */
#define GPI_NO_FIT ULONG_MAX

/* Is @x a power of two (x > 0)? */
static inline bool gpi_is_pow2(unsigned long x)
{
	return x && !(x & (x - 1));
}

/* @x rounded up to a multiple of @align, a power of two (no overflow
 * check: callers bound @x). */
static inline unsigned long gpi_align_up(unsigned long x, unsigned long align)
{
	return (x + align - 1) & ~(align - 1);
}

/* Is @x a multiple of @align, a power of two? */
static inline bool gpi_is_aligned(unsigned long x, unsigned long align)
{
	return !(x & (align - 1));
}

/* ceil(@x / @d) for @d > 0, without overflow. */
static inline unsigned long gpi_div_round_up(unsigned long x, unsigned long d)
{
	return x / d + (x % d != 0);
}

/* ceil(@x / 2^@shift), without overflow (and without a division). */
static inline unsigned long gpi_shift_round_up(unsigned long x, unsigned shift)
{
	return (x >> shift) + !gpi_is_aligned(x, 1UL << shift);
}

/* Smallest power of two >= @n (n <= 2^63). */
static inline unsigned long gpi_roundup_pow2(unsigned long n)
{
	return n <= 1 ? 1 : 1UL << (sizeof(long) * CHAR_BIT -
				    (unsigned long)__builtin_clzl(n - 1));
}

/* Is this a ThreadSanitizer build?  TSan cannot see inside asm, so the
 * asm fast paths give way to the compiler's atomics under it (gcc says
 * __SANITIZE_THREAD__, clang __has_feature). */
#if defined(__SANITIZE_THREAD__)
#define GPI_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GPI_TSAN 1
#endif
#endif
#ifndef GPI_TSAN
#define GPI_TSAN 0
#endif

#endif /* GENPOOL_CORE_UTIL_H */
