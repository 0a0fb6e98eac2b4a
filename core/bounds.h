/* SPDX-License-Identifier: MIT */
/*
 * core/bounds.h - the bounds of live allocations.
 *
 * A chunk's bounds bitmap has two bits per unit: bit 2u is set when unit u
 * is the first unit of a live allocation, bit 2u + 1 when it is the last.
 * Marks are set after a run is claimed and cleared before it is released,
 * so a correct free only ever inspects bits of its own allocation.  These
 * three functions are the only code that reads or writes the marks.
 */
#ifndef GENPOOL_CORE_BOUNDS_H
#define GENPOOL_CORE_BOUNDS_H

#include <stdbool.h>

struct gp_chunk;

/* Set (@on) or clear both marks of the allocation [@bit, @bit + @nr). */
void gpi_bounds_mark(struct gp_chunk *c, unsigned long bit, unsigned long nr,
		     bool on);

/*
 * Is [@bit, @bit + @nr) of @c exactly one live allocation?  Returns 0, or
 * -EALREADY (some unit is free) or -EBADSLT (busy, but not exactly one
 * allocation: wrong size or interior address), as gp_free_checked().
 */
int gpi_bounds_check_exact(const struct gp_chunk *c, unsigned long bit,
			   unsigned long nr);

/*
 * The next live allocation of @c at or after unit @from, as far as the
 * marks say: its first unit in *@bit and its length in *@units.  Returns
 * false when there is none.
 */
bool gpi_next_allocation(const struct gp_chunk *c, unsigned long from,
			 unsigned long *bit, unsigned long *units);

#endif /* GENPOOL_CORE_BOUNDS_H */
