// SPDX-License-Identifier: MIT
/*
 * core/misuse.c - reporting misuse and applying the pool's policy.
 *
 * The kernel calls BUG() on these; a library linked into a server must say
 * exactly what happened (pool, address, size) and then either stop, like
 * the kernel, or carry on with nothing changed, as the pool's owner chose.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "pool_internal.h"

static const char *const kind_names[] = {
	[GP_MISUSE_BAD_ARGUMENT] = "bad argument",
	[GP_MISUSE_FOREIGN_ADDR] = "foreign address",
	[GP_MISUSE_PAST_END] = "range past chunk end",
	[GP_MISUSE_DOUBLE_FREE] = "double free",
	[GP_MISUSE_WRONG_SIZE] = "wrong size",
	[GP_MISUSE_DESTROY_BUSY] = "destroy of a busy pool",
};

GP_EXPORT const char *gp_misuse_kind_name(enum gp_misuse_kind kind)
{
	if ((unsigned)kind >= sizeof(kind_names) / sizeof(kind_names[0]))
		return "unknown";
	return kind_names[kind];
}

/* The default handler: one line on stderr. */
static void print_report(const struct gp_misuse_report *r, void *arg)
{
	fprintf(stderr,
		"genpool: pool '%s' (%p): %s: addr 0x%lx size %zu: %s\n",
		r->pool_name, (const void *)r->pool,
		gp_misuse_kind_name(r->kind), r->addr, r->size, r->what);
}

static void vreport(const struct gen_pool *pool, enum gp_misuse_kind kind,
		    unsigned long addr, size_t size, const char *fmt,
		    va_list ap)
{
	char what[256];
	struct gp_misuse_report r = {
		.pool = pool,
		.pool_name = pool && pool->name ? pool->name : "(unnamed)",
		.kind = kind,
		.addr = addr,
		.size = size,
		.what = what,
	};
	gp_misuse_handler_t handler = pool && pool->handler ? pool->handler :
				      print_report;

	vsnprintf(what, sizeof(what), fmt, ap);
	handler(&r, pool ? pool->handler_arg : NULL);
}

void gpi_report_only(const struct gen_pool *pool, enum gp_misuse_kind kind,
		     unsigned long addr, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(pool, kind, addr, size, fmt, ap);
	va_end(ap);
}

void gpi_apply_policy(const struct gen_pool *pool)
{
	if (pool && __atomic_load_n(&pool->policy, __ATOMIC_RELAXED) ==
		    GP_MISUSE_ABORT)
		abort();
}

void gpi_report(const struct gen_pool *pool, enum gp_misuse_kind kind,
		unsigned long addr, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(pool, kind, addr, size, fmt, ap);
	va_end(ap);
	gpi_apply_policy(pool);
}

GP_EXPORT int gp_set_misuse_policy(struct gen_pool *pool,
				   enum gp_misuse_policy policy)
{
	if (!pool || (policy != GP_MISUSE_ABORT && policy != GP_MISUSE_REPORT))
		return -EINVAL;
	__atomic_store_n(&pool->policy, (int)policy, __ATOMIC_RELAXED);
	return 0;
}

GP_EXPORT int gp_set_misuse_handler(struct gen_pool *pool,
				    gp_misuse_handler_t handler, void *arg)
{
	if (!pool)
		return -EINVAL;
	pool->handler = handler;
	pool->handler_arg = arg;
	return 0;
}
