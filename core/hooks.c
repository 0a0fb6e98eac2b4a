// SPDX-License-Identifier: MIT
/*
 * core/hooks.c - what a layer in front of the pool (percpu/) needs beyond
 * the kernel API: asking whether a free would be accepted without doing it,
 * and reporting misuse the layer found through the pool's own handler and
 * policy, so that a pool's owner sees one stream of reports.
 */
#include <errno.h>

#include "bounds.h"
#include "pool_internal.h"

/* The check itself; on failure sets @why. */
static int check_alloc(const struct gen_pool *pool, unsigned long addr,
		       size_t size, const char **why)
{
	struct gp_chunk *c;
	unsigned long bit, nr;
	int ret = gpi_locate_range(pool, addr, size, &c, &bit, &nr, why);

	if (ret)
		return ret;
	ret = gpi_umap_check(c->um, c->nbits, bit, nr);
	if (ret)
		*why = gpi_inexact_why(ret);
	return ret;
}

GP_EXPORT int gp_check_alloc(struct gen_pool *pool, unsigned long addr,
			     size_t size, const char *who)
{
	const char *why = NULL;
	int ret = check_alloc(pool, addr, size, &why);

	if (ret && who)
		gpi_report(pool, gpi_free_misuse_kind(ret), addr, size,
			   "%s: %s", who, why);
	return ret;
}

GP_EXPORT void gp_report_misuse(struct gen_pool *pool, enum gp_misuse_kind kind,
				unsigned long addr, size_t size,
				const char *what)
{
	gpi_report(pool, kind, addr, size, "%s", what ? what : "");
}
