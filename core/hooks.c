// SPDX-License-Identifier: MIT
/*
 * core/hooks.c - what a layer in front of the pool (percpu/) needs beyond
 * the kernel API: asking whether a free would be accepted without doing it,
 * and reporting misuse the layer found through the pool's own handler and
 * policy, so that a pool's owner sees one stream of reports.
 */
#include <errno.h>

#include "pool_internal.h"

/* The misuse kind each errno of gp_free_checked() stands for. */
static enum gp_misuse_kind kind_of_errno(int err)
{
	static const struct { int err; enum gp_misuse_kind kind; } kinds[] = {
		{ -EFAULT, GP_MISUSE_FOREIGN_ADDR },
		{ -ERANGE, GP_MISUSE_PAST_END },
		{ -EALREADY, GP_MISUSE_DOUBLE_FREE },
		{ -EBADSLT, GP_MISUSE_WRONG_SIZE },
	};

	for (unsigned i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].err == err)
			return kinds[i].kind;
	return GP_MISUSE_BAD_ARGUMENT;
}

/* The check itself; on failure sets @why. */
static int check_alloc(const struct gen_pool *pool, unsigned long addr,
		       size_t size, const char **why)
{
	const struct gp_chunk *c;
	size_t unit = (size_t)1 << pool->min_alloc_order;
	unsigned long nr, bit;

	if (!size || size > SIZE_MAX - (unit - 1)) {
		*why = "size is 0 or overflows when rounded to units";
		return -EINVAL;
	}
	nr = (size + unit - 1) >> pool->min_alloc_order;
	c = gpi_chunk_of(pool, addr);
	if (!c) {
		*why = "no chunk of the pool holds this address";
		return -EFAULT;
	}
	if ((addr - c->pub.start_addr) & (unit - 1)) {
		*why = "address is not on a unit boundary of its chunk";
		return -EINVAL;
	}
	bit = (addr - c->pub.start_addr) >> pool->min_alloc_order;
	if (nr > c->nbits - bit) {
		*why = "range runs past the end of its chunk";
		return -ERANGE;
	}
	if (!gpi_bitmap_all_set(c->map, bit, nr)) {
		*why = "part of the range is not allocated (double free?)";
		return -EALREADY;
	}
	if (!gpi_bitmap_test(c->bounds, 2 * bit) ||
	    !gpi_bitmap_test(c->bounds, 2 * (bit + nr - 1) + 1) ||
	    gpi_bitmap_any_set(c->bounds, 2 * bit + 1, 2 * nr - 2)) {
		*why = "range is allocated but is not exactly one allocation "
		       "(wrong size or interior address)";
		return -EBADSLT;
	}
	return 0;
}

GP_EXPORT int gp_check_alloc(struct gen_pool *pool, unsigned long addr,
			     size_t size, const char *who)
{
	const char *why = "NULL pool";
	int ret = pool ? check_alloc(pool, addr, size, &why) : -EINVAL;

	if (ret && who)
		gpi_report(pool, kind_of_errno(ret), addr, size, "%s: %s", who,
			   why);
	return ret;
}

GP_EXPORT void gp_report_misuse(struct gen_pool *pool, enum gp_misuse_kind kind,
				unsigned long addr, size_t size,
				const char *what)
{
	gpi_report(pool, kind, addr, size, "%s", what ? what : "");
}
