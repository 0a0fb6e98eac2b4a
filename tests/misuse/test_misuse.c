// SPDX-License-Identifier: MIT
/*
 * tests/misuse/test_misuse.c - every misuse the kernel answers with BUG(),
 * and every bad argument, must be detected, reported and change nothing.
 *
 * Table-driven.  Each case is run three times, each time on a fresh pool
 * with the same known layout:
 *   1. report mode (GP_MISUSE_REPORT, capturing handler): the kernel-shaped
 *      call must produce the documented reports (kind, address, size, pool
 *      name) and leave the pool exactly as it was, still usable;
 *   2. the checked variant must return the documented errno, report nothing
 *      and change nothing;
 *   3. default (abort) mode, in a forked child: the process must die of
 *      SIGABRT (or, for calls that return an error, carry on) after printing
 *      the report line on stderr, which we read through a pipe.
 *
 * The fixture (order 4, so a unit is 16 bytes):
 *
 *   chunk A  base + 0x0000 .. base + 0x0fff   X5 = A + 0     (32 bytes)
 *   gap      base + 0x1000 .. base + 0x1fff   (no chunk)
 *   chunk B  base + 0x2000 .. base + 0x2fff   X0 = B + 0     (64 bytes)
 *                                             X1 = B + 64    (32 bytes)
 *                                             X2 = B + 96    (48, freed)
 *                                             X3 = B + 144   (16 bytes)
 *                                             X4 = B + 4032  (64, the end)
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define POOL_NAME "misuse-pool"
#define ORDER 4
#define CHUNK 4096UL
#define REGION (4 * CHUNK)
#define MAX_REPORTS 32
#define MAX_ALLOCS 32

/* ------------------------------------------------------------- fixture */

enum { X0, X1, X2, X3, X4, X5, NX };

static const size_t x_size[NX] = { 64, 32, 48, 16, 64, 32 };
static const unsigned long x_off[NX] = { 0x2000, 0x2040, 0x2060, 0x2090,
					 0x2000 + CHUNK - 64, 0 };
static unsigned long base;	/* the region; inherited by forked children */
static int owner_a, owner_b;	/* owner cookies of the chunks */

struct fixture {
	struct gen_pool *pool;
	struct gp_device *dev;		/* set for a device-owned pool */
	unsigned long x[NX];
};

static unsigned long chunk_a(void)
{
	return base;
}

static unsigned long chunk_b(void)
{
	return base + 2 * CHUNK;
}

/* Build the fixture; returns NULL (with a message) if the pool does not
 * come out as described above. */
static const char *setup(struct fixture *f, bool devm)
{
	struct genpool_data_fixed at = { 0 };
	int i;

	memset(f, 0, sizeof(*f));
	if (devm) {
		f->dev = gp_device_create("misuse-dev");
		if (!f->dev)
			return "gp_device_create failed";
		f->pool = devm_gen_pool_create(f->dev, ORDER, NUMA_NO_NODE,
					       POOL_NAME);
	} else {
		f->pool = gen_pool_create(ORDER, NUMA_NO_NODE);
	}
	if (!f->pool)
		return "pool creation failed";
	if (gp_set_name(f->pool, POOL_NAME))
		return "gp_set_name failed";
	if (gen_pool_add_owner(f->pool, chunk_a(), GP_NO_PHYS, CHUNK,
			       NUMA_NO_NODE, &owner_a) ||
	    gen_pool_add_owner(f->pool, chunk_b(), GP_NO_PHYS, CHUNK,
			       NUMA_NO_NODE, &owner_b))
		return "gen_pool_add_owner failed";
	/* The newest chunk (B) is searched first. */
	for (i = X0; i <= X3; i++)
		f->x[i] = gen_pool_alloc(f->pool, x_size[i]);
	at.offset = CHUNK - 64;
	f->x[X4] = gen_pool_alloc_algo(f->pool, 64, gen_pool_fixed_alloc, &at);
	/* Offset 0 of B is taken, so the fixed allocation lands in A. */
	at.offset = 0;
	f->x[X5] = gen_pool_alloc_algo(f->pool, 32, gen_pool_fixed_alloc, &at);
	for (i = 0; i < NX; i++)
		if (f->x[i] != base + x_off[i])
			return "allocations did not land where expected";
	if (gp_free_checked(f->pool, f->x[X2], x_size[X2], NULL))
		return "freeing X2 failed";
	return NULL;
}

/* Free what setup() left live and destroy the pool; 0 if all went well. */
static int teardown(struct fixture *f)
{
	int i, bad = 0;

	for (i = 0; i < NX; i++)
		if (i != X2 && gp_free_checked(f->pool, f->x[i], x_size[i],
					       NULL))
			bad = 1;
	if (f->dev)
		gp_device_destroy(f->dev);
	else if (gp_destroy_checked(f->pool))
		bad = 1;
	return bad;
}

/* ------------------------------------------------------------ snapshot */

struct alloc_rec {
	unsigned long addr;
	size_t size;
};

struct snapshot {
	size_t avail, size;
	long nallocs;
	struct alloc_rec allocs[MAX_ALLOCS];
	int nchunks;
	struct gen_pool_chunk chunks[8];
	size_t chunk_avail[8];
};

static void snap_alloc(struct gen_pool *pool, unsigned long addr, size_t size,
		       void *data)
{
	struct snapshot *s = data;

	if (s->nallocs < MAX_ALLOCS) {
		s->allocs[s->nallocs].addr = addr;
		s->allocs[s->nallocs].size = size;
	}
	s->nallocs++;
}

static void snap_chunk(struct gen_pool *pool, struct gen_pool_chunk *c,
		       void *data)
{
	struct snapshot *s = data;

	if (s->nchunks < 8) {
		s->chunks[s->nchunks] = *c;
		s->chunk_avail[s->nchunks] = gp_chunk_avail(c);
	}
	s->nchunks++;
}

static void take_snapshot(struct gen_pool *pool, struct snapshot *s)
{
	long n;

	memset(s, 0, sizeof(*s));
	s->avail = gen_pool_avail(pool);
	s->size = gen_pool_size(pool);
	n = gp_for_each_allocation(pool, snap_alloc, s);
	if (n != s->nallocs)
		s->nallocs = -1;
	gen_pool_for_each_chunk(pool, snap_chunk, s);
}

static bool same_snapshot(const struct snapshot *a, const struct snapshot *b)
{
	int i;

	if (a->avail != b->avail || a->size != b->size ||
	    a->nallocs != b->nallocs || a->nchunks != b->nchunks ||
	    a->nallocs < 0 || a->nallocs > MAX_ALLOCS || a->nchunks > 8)
		return false;
	for (i = 0; i < a->nallocs; i++)
		if (a->allocs[i].addr != b->allocs[i].addr ||
		    a->allocs[i].size != b->allocs[i].size)
			return false;
	for (i = 0; i < a->nchunks; i++)
		if (a->chunks[i].start_addr != b->chunks[i].start_addr ||
		    a->chunks[i].end_addr != b->chunks[i].end_addr ||
		    a->chunks[i].owner != b->chunks[i].owner ||
		    a->chunk_avail[i] != b->chunk_avail[i])
			return false;
	return true;
}

/* ------------------------------------------------------------- reports */

struct report_log {
	int count;
	struct {
		enum gp_misuse_kind kind;
		unsigned long addr;
		size_t size;
		const struct gen_pool *pool;
		char pool_name[64];
		char what[256];
	} r[MAX_REPORTS];
};

static void log_report(const struct gp_misuse_report *r, void *arg)
{
	struct report_log *log = arg;
	int i = log->count++;

	if (i >= MAX_REPORTS)
		return;
	log->r[i].kind = r->kind;
	log->r[i].addr = r->addr;
	log->r[i].size = r->size;
	log->r[i].pool = r->pool;
	snprintf(log->r[i].pool_name, sizeof(log->r[i].pool_name), "%s",
		 r->pool_name ? r->pool_name : "");
	snprintf(log->r[i].what, sizeof(log->r[i].what), "%s",
		 r->what ? r->what : "");
}

/* ---------------------------------------------------------- the table */

enum op {
	OP_FREE,		/* gen_pool_free_owner / gp_free_checked */
	OP_FREE_NULL,		/* ... with a NULL pool */
	OP_DESTROY,		/* gen_pool_destroy / gp_destroy_checked */
	OP_DESTROY_NULL,
	OP_ADD,			/* gen_pool_add_owner (returns its error) */
	OP_ADD_NULL,
	OP_ALLOC,		/* gen_pool_alloc / gp_alloc_checked */
	OP_ALLOC_NOALGO,	/* gen_pool_alloc_algo with a NULL algorithm */
	OP_DMA_ALIGN,		/* gen_pool_dma_alloc_align */
	OP_CREATE,		/* gen_pool_create */
};

/* Where a case's address comes from: an allocation, a chunk, or absolute. */
enum where { AT_ABS, AT_X0, AT_X1, AT_X2, AT_X3, AT_X4, AT_X5, AT_A, AT_B,
	     AT_GAP };

/* How the default (abort) mode must end. */
enum ending {
	END_ABORT,		/* report on stderr, then SIGABRT */
	END_REPORT_RETURN,	/* report on stderr, then the call returns */
	END_SILENT_RETURN,	/* no report; the call returns an error */
};

struct misuse_case {
	const char *name;
	enum op op;
	enum where where;
	long off;		/* added to the address */
	size_t size;
	int arg;		/* order, align or nid */
	bool devm;		/* the fixture pool belongs to a device */
	int nreports;		/* reports in report mode; -1: one per live
				 * allocation plus a summary */
	enum gp_misuse_kind kind;
	int err;		/* documented errno (positive) */
	enum ending ending;
};

#define LIVE_PLUS_SUMMARY (-1)

static const struct misuse_case cases[] = {
	/* free: the kernel's BUG()s */
	{ "free of an address in the gap between chunks", OP_FREE, AT_GAP, 0x100,
	  64, 0, false, 1, GP_MISUSE_FOREIGN_ADDR, EFAULT, END_ABORT },
	{ "free of an address far from every chunk", OP_FREE, AT_ABS, 0x10000,
	  64, 0, false, 1, GP_MISUSE_FOREIGN_ADDR, EFAULT, END_ABORT },
	{ "free one byte past the last chunk's end", OP_FREE, AT_B, CHUNK, 16,
	  0, false, 1, GP_MISUSE_FOREIGN_ADDR, EFAULT, END_ABORT },
	{ "free running past the chunk end", OP_FREE, AT_X4, 0, 128, 0, false,
	  1, GP_MISUSE_PAST_END, ERANGE, END_ABORT },
	{ "free of the last unit with a huge size", OP_FREE, AT_X4, 48,
	  (size_t)1 << 40, 0, false, 1, GP_MISUSE_PAST_END, ERANGE, END_ABORT },
	{ "double free", OP_FREE, AT_X2, 0, 48, 0, false, 1,
	  GP_MISUSE_DOUBLE_FREE, EALREADY, END_ABORT },
	{ "double free, one unit", OP_FREE, AT_X2, 16, 16, 0, false, 1,
	  GP_MISUSE_DOUBLE_FREE, EALREADY, END_ABORT },
	{ "free with a smaller size", OP_FREE, AT_X0, 0, 32, 0, false, 1,
	  GP_MISUSE_WRONG_SIZE, EBADSLT, END_ABORT },
	{ "free with a larger size covering the next allocation", OP_FREE,
	  AT_X0, 0, 96, 0, false, 1, GP_MISUSE_WRONG_SIZE, EBADSLT, END_ABORT },
	{ "free with a larger size running into free space", OP_FREE, AT_X1, 0,
	  64, 0, false, 1, GP_MISUSE_DOUBLE_FREE, EALREADY, END_ABORT },
	{ "free of an interior address", OP_FREE, AT_X0, 16, 48, 0, false, 1,
	  GP_MISUSE_WRONG_SIZE, EBADSLT, END_ABORT },
	{ "free of an interior address to the end of the next", OP_FREE, AT_X0,
	  48, 48, 0, false, 1, GP_MISUSE_WRONG_SIZE, EBADSLT, END_ABORT },
	{ "free of an address not on a unit boundary", OP_FREE, AT_X0, 8, 56, 0,
	  false, 1, GP_MISUSE_BAD_ARGUMENT, EINVAL, END_ABORT },
	{ "free with size 0", OP_FREE, AT_X0, 0, 0, 0, false, 1,
	  GP_MISUSE_BAD_ARGUMENT, EINVAL, END_ABORT },
	{ "free with size SIZE_MAX", OP_FREE, AT_X0, 0, SIZE_MAX, 0, false, 1,
	  GP_MISUSE_BAD_ARGUMENT, EINVAL, END_ABORT },
	{ "free with a NULL pool", OP_FREE_NULL, AT_X0, 0, 64, 0, false, 1,
	  GP_MISUSE_BAD_ARGUMENT, EINVAL, END_REPORT_RETURN },
	/* destroy */
	{ "destroy of a pool with live allocations", OP_DESTROY, AT_ABS, 0, 0, 0,
	  false, LIVE_PLUS_SUMMARY, GP_MISUSE_DESTROY_BUSY, EBUSY, END_ABORT },
	{ "destroy with a NULL pool", OP_DESTROY_NULL, AT_ABS, 0, 0, 0, false,
	  1, GP_MISUSE_BAD_ARGUMENT, EINVAL, END_REPORT_RETURN },
	{ "destroy of a device-owned pool", OP_DESTROY, AT_ABS, 0, 0, 0, true, 1,
	  GP_MISUSE_BAD_ARGUMENT, EPERM, END_ABORT },
	/* adding chunks */
	{ "add a chunk overlapping two chunks", OP_ADD, AT_A, 0x800, CHUNK * 2,
	  NUMA_NO_NODE, false, 1, GP_MISUSE_BAD_ARGUMENT, EEXIST,
	  END_REPORT_RETURN },
	{ "add a chunk identical to one in the pool", OP_ADD, AT_B, 0, CHUNK,
	  NUMA_NO_NODE, false, 1, GP_MISUSE_BAD_ARGUMENT, EEXIST,
	  END_REPORT_RETURN },
	{ "add a chunk whose last unit overlaps", OP_ADD, AT_GAP, 0x10, CHUNK,
	  NUMA_NO_NODE, false, 1, GP_MISUSE_BAD_ARGUMENT, EEXIST,
	  END_REPORT_RETURN },
	{ "add a chunk that wraps around", OP_ADD, AT_ABS, -(long)CHUNK,
	  2 * CHUNK, NUMA_NO_NODE, false, 1, GP_MISUSE_BAD_ARGUMENT, EINVAL,
	  END_REPORT_RETURN },
	{ "add a chunk of size 0", OP_ADD, AT_GAP, 0, 0, NUMA_NO_NODE, false, 1,
	  GP_MISUSE_BAD_ARGUMENT, EINVAL, END_REPORT_RETURN },
	{ "add a chunk whose size is not a multiple of the unit", OP_ADD,
	  AT_GAP, 0, 24, NUMA_NO_NODE, false, 1, GP_MISUSE_BAD_ARGUMENT,
	  EINVAL, END_REPORT_RETURN },
	{ "add a chunk at address 0", OP_ADD, AT_ABS, 0, CHUNK, NUMA_NO_NODE,
	  false, 1, GP_MISUSE_BAD_ARGUMENT, EINVAL, END_REPORT_RETURN },
	{ "add a chunk whose address is not a multiple of the unit", OP_ADD,
	  AT_GAP, 8, 64, NUMA_NO_NODE, false, 1, GP_MISUSE_BAD_ARGUMENT,
	  EINVAL, END_REPORT_RETURN },
	{ "add a chunk on a NUMA node that does not exist", OP_ADD, AT_GAP, 0,
	  64, 4095, false, 1, GP_MISUSE_BAD_ARGUMENT, EINVAL,
	  END_REPORT_RETURN },
	{ "add a chunk to a NULL pool", OP_ADD_NULL, AT_GAP, 0, 64,
	  NUMA_NO_NODE, false, 1, GP_MISUSE_BAD_ARGUMENT, EINVAL,
	  END_REPORT_RETURN },
	/* allocation: errors, not reports (size 0 is the kernel's "no") */
	{ "alloc with size 0", OP_ALLOC, AT_ABS, 0, 0, 0, false, 0,
	  GP_MISUSE_BAD_ARGUMENT, EINVAL, END_SILENT_RETURN },
	{ "alloc with size SIZE_MAX", OP_ALLOC, AT_ABS, 0, SIZE_MAX, 0, false, 0,
	  GP_MISUSE_BAD_ARGUMENT, EINVAL, END_SILENT_RETURN },
	{ "alloc with size SIZE_MAX - 14", OP_ALLOC, AT_ABS, 0, SIZE_MAX - 14, 0,
	  false, 0, GP_MISUSE_BAD_ARGUMENT, EINVAL, END_SILENT_RETURN },
	{ "alloc with a NULL algorithm", OP_ALLOC_NOALGO, AT_ABS, 0, 64, 0,
	  false, 0, GP_MISUSE_BAD_ARGUMENT, EINVAL, END_SILENT_RETURN },
	{ "dma_alloc_align with align 48", OP_DMA_ALIGN, AT_ABS, 0, 64, 48,
	  false, 0, GP_MISUSE_BAD_ARGUMENT, EINVAL, END_SILENT_RETURN },
	{ "dma_alloc_align with align 0", OP_DMA_ALIGN, AT_ABS, 0, 64, 0, false,
	  0, GP_MISUSE_BAD_ARGUMENT, EINVAL, END_SILENT_RETURN },
	{ "dma_alloc_align with a negative align", OP_DMA_ALIGN, AT_ABS, 0, 64,
	  -64, false, 0, GP_MISUSE_BAD_ARGUMENT, EINVAL, END_SILENT_RETURN },
	/* pool creation */
	{ "gen_pool_create with order -1", OP_CREATE, AT_ABS, 0, 0, -1, false,
	  0, GP_MISUSE_BAD_ARGUMENT, EINVAL, END_SILENT_RETURN },
	{ "gen_pool_create with order GP_MAX_ORDER + 1", OP_CREATE, AT_ABS, 0,
	  0, GP_MAX_ORDER + 1, false, 0, GP_MISUSE_BAD_ARGUMENT, EINVAL,
	  END_SILENT_RETURN },
	{ "gen_pool_create with order 64", OP_CREATE, AT_ABS, 0, 0, 64, false,
	  0, GP_MISUSE_BAD_ARGUMENT, EINVAL, END_SILENT_RETURN },
};

#define NCASES ((int)(sizeof(cases) / sizeof(cases[0])))

static unsigned long case_addr(const struct misuse_case *mc,
			       const struct fixture *f)
{
	unsigned long a = 0;

	switch (mc->where) {
	case AT_ABS:
		a = 0;
		break;
	case AT_X0: case AT_X1: case AT_X2: case AT_X3: case AT_X4:
	case AT_X5:
		a = f->x[mc->where - AT_X0];
		break;
	case AT_A:
		a = chunk_a();
		break;
	case AT_B:
		a = chunk_b();
		break;
	case AT_GAP:
		a = chunk_a() + CHUNK;
		break;
	}
	return a + (unsigned long)mc->off;
}

/* Does @op pass a NULL pool? */
static bool is_null_pool_op(enum op op)
{
	return op == OP_FREE_NULL || op == OP_DESTROY_NULL || op == OP_ADD_NULL;
}

/* The pool a case operates on (NULL for the NULL-pool cases). */
static struct gen_pool *case_pool(const struct misuse_case *mc,
				  const struct fixture *f)
{
	return is_null_pool_op(mc->op) ? NULL : f->pool;
}

/*
 * Run the misuse.  @checked selects the checked variant.  Returns the
 * negative errno the call produced (for void calls: 0), or 1 if a call that
 * must fail succeeded (its result is released so the fixture stays sane).
 */
static int do_op(const struct misuse_case *mc, struct fixture *f,
		 bool checked)
{
	struct gen_pool *pool = case_pool(mc, f);
	unsigned long addr = case_addr(mc, f), got;
	void *owner = &owner_a;
	dma_addr_t dma;
	struct gen_pool *p;
	void *ptr;
	int ret;

	switch (mc->op) {
	case OP_FREE:
	case OP_FREE_NULL:
		if (checked) {
			ret = gp_free_checked(pool, addr, mc->size, &owner);
		} else {
			gen_pool_free_owner(pool, addr, mc->size, &owner);
			ret = 0;
		}
		/* On error the owner must come back NULL. */
		if (owner != NULL)
			return 1;
		return ret;
	case OP_DESTROY:
	case OP_DESTROY_NULL:
		if (checked)
			return gp_destroy_checked(pool);
		gen_pool_destroy(pool);
		return 0;
	case OP_ADD:
	case OP_ADD_NULL:
		return gen_pool_add_owner(pool, addr, GP_NO_PHYS, mc->size,
					  mc->arg, &owner_b);
	case OP_ALLOC:
		if (checked) {
			ret = gp_alloc_checked(pool, mc->size, NULL, NULL,
					       &got, NULL);
			if (ret == 0 || got != 0)
				return 1;
			return ret;
		}
		errno = 0;
		got = gen_pool_alloc(pool, mc->size);
		return got ? 1 : -errno;
	case OP_ALLOC_NOALGO:
		errno = 0;
		got = gen_pool_alloc_algo_owner(pool, mc->size, NULL, NULL,
						&owner);
		return got || owner ? 1 : -errno;
	case OP_DMA_ALIGN:
		errno = 0;
		dma = 0;
		ptr = gen_pool_dma_alloc_align(pool, mc->size, &dma, mc->arg);
		return ptr ? 1 : -errno;
	case OP_CREATE:
		errno = 0;
		p = gen_pool_create(mc->arg, NUMA_NO_NODE);
		if (p) {
			gp_destroy_checked(p);
			return 1;
		}
		return -errno;
	}
	return 1;
}

/* The reports a case must produce in report mode, given its fixture. */
struct expected_report {
	enum gp_misuse_kind kind;
	unsigned long addr;
	size_t size;
};

static int expected_reports(const struct misuse_case *mc,
			    const struct fixture *f,
			    struct expected_report *e)
{
	int i, n = 0;

	if (mc->nreports == LIVE_PLUS_SUMMARY) {
		/* Every live allocation, in address order within a chunk,
		 * chunks newest first (B before A), then the summary. */
		static const int order[] = { X0, X1, X3, X4, X5 };
		size_t in_use = 0;

		for (i = 0; i < 5; i++) {
			e[n].kind = GP_MISUSE_DESTROY_BUSY;
			e[n].addr = f->x[order[i]];
			e[n].size = x_size[order[i]];
			in_use += x_size[order[i]];
			n++;
		}
		e[n].kind = GP_MISUSE_DESTROY_BUSY;
		e[n].addr = 0;
		e[n].size = in_use;
		return n + 1;
	}
	for (i = 0; i < mc->nreports; i++) {
		e[i].kind = mc->kind;
		e[i].addr = mc->op == OP_DESTROY ? 0 : case_addr(mc, f);
		e[i].size = mc->size;
	}
	return mc->nreports;
}

/* ------------------------------------------------------------ checking */

static int case_failed;		/* checks failed in the current case */

static void fail(const struct misuse_case *mc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail(const struct misuse_case *mc, const char *fmt, ...)
{
	va_list ap;

	fprintf(stdout, "  FAIL [%s]: ", mc->name);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	case_failed++;
}

/* Is the fixture pool usable: can it allocate and free one unit, and does
 * it come back to @before? */
static void check_usable(const struct misuse_case *mc, struct fixture *f,
			 const struct snapshot *before)
{
	struct snapshot after;
	unsigned long a = gen_pool_alloc(f->pool, 16);

	if (!a || gp_free_checked(f->pool, a, 16, NULL))
		fail(mc, "pool no longer allocates and frees");
	take_snapshot(f->pool, &after);
	if (!same_snapshot(before, &after))
		fail(mc, "pool state changed by a plain alloc/free");
}

/* 1. Report mode: the documented reports, nothing changed. */
static void run_report_mode(const struct misuse_case *mc)
{
	struct expected_report exp[MAX_REPORTS];
	struct report_log log;
	struct snapshot before, after;
	struct fixture f;
	const char *why;
	int nexp, ret, i;
	bool null_pool = is_null_pool_op(mc->op);

	why = setup(&f, mc->devm);
	if (why) {
		fail(mc, "report mode: setup: %s", why);
		return;
	}
	memset(&log, 0, sizeof(log));
	gp_set_misuse_policy(f.pool, GP_MISUSE_REPORT);
	gp_set_misuse_handler(f.pool, log_report, &log);
	take_snapshot(f.pool, &before);

	ret = do_op(mc, &f, false);

	if (mc->ending == END_ABORT || mc->op == OP_FREE_NULL ||
	    mc->op == OP_DESTROY_NULL) {
		/* void calls: do_op() only complains about the owner */
		if (ret != 0)
			fail(mc, "report mode: call result %d (owner not "
			     "cleared?)", ret);
	} else if (ret != -mc->err) {
		fail(mc, "report mode: returned %d, expected %d", ret,
		     -mc->err);
	}
	take_snapshot(f.pool, &after);
	if (!same_snapshot(&before, &after))
		fail(mc, "report mode: pool state changed");

	/* A NULL pool has no handler of ours: its report goes to stderr and
	 * is checked in the forked run; our pool must hear nothing. */
	nexp = null_pool ? 0 : expected_reports(mc, &f, exp);
	if (log.count != nexp) {
		fail(mc, "report mode: %d report(s), expected %d", log.count,
		     nexp);
	} else {
		for (i = 0; i < nexp; i++) {
			if (log.r[i].kind != exp[i].kind ||
			    log.r[i].addr != exp[i].addr ||
			    log.r[i].size != exp[i].size)
				fail(mc, "report %d: kind '%s' addr 0x%lx size "
				     "%zu, expected '%s' 0x%lx %zu", i,
				     gp_misuse_kind_name(log.r[i].kind),
				     log.r[i].addr, log.r[i].size,
				     gp_misuse_kind_name(exp[i].kind),
				     exp[i].addr, exp[i].size);
			if (strcmp(log.r[i].pool_name, POOL_NAME) ||
			    log.r[i].pool != f.pool)
				fail(mc, "report %d: pool '%s' %p, expected "
				     "'%s' %p", i, log.r[i].pool_name,
				     (const void *)log.r[i].pool, POOL_NAME,
				     (void *)f.pool);
			if (!log.r[i].what[0])
				fail(mc, "report %d: no explanation", i);
		}
	}
	check_usable(mc, &f, &before);
	if (teardown(&f))
		fail(mc, "report mode: teardown failed");
}

/* 2. The checked variant: the errno, no report, nothing changed. */
static void run_checked(const struct misuse_case *mc)
{
	struct report_log log;
	struct snapshot before, after;
	struct fixture f;
	const char *why;
	int ret;
	/* For add, alloc and create the call returning an error is itself
	 * the checked form; add still reports (its documented message). */
	int nexp = mc->op == OP_ADD ? 1 : 0;

	why = setup(&f, mc->devm);
	if (why) {
		fail(mc, "checked: setup: %s", why);
		return;
	}
	memset(&log, 0, sizeof(log));
	gp_set_misuse_policy(f.pool, GP_MISUSE_REPORT);
	gp_set_misuse_handler(f.pool, log_report, &log);
	take_snapshot(f.pool, &before);

	ret = do_op(mc, &f, true);
	if (ret != -mc->err)
		fail(mc, "checked: returned %d (%s), expected %d (%s)", ret,
		     ret < 0 ? strerror(-ret) : "-", -mc->err,
		     strerror(mc->err));
	if (log.count != nexp)
		fail(mc, "checked: %d report(s), expected %d", log.count, nexp);
	take_snapshot(f.pool, &after);
	if (!same_snapshot(&before, &after))
		fail(mc, "checked: pool state changed");
	check_usable(mc, &f, &before);
	if (teardown(&f))
		fail(mc, "checked: teardown failed");
}

/* Does @text contain @needle? */
static bool has(const char *text, const char *needle)
{
	return strstr(text, needle) != NULL;
}

/* Does @text contain a "genpool:" report line naming @name, @addr and
 * @size? */
static bool has_report_line(const char *text, const char *name,
			    unsigned long addr, size_t size)
{
	char want_name[96], want_addr[40], want_size[40];
	const char *line = text, *end;
	char buf[1024];
	size_t len;

	snprintf(want_name, sizeof(want_name), "'%s'", name);
	snprintf(want_addr, sizeof(want_addr), "0x%lx ", addr);
	snprintf(want_size, sizeof(want_size), "size %zu", size);
	while ((line = strstr(line, "genpool:")) != NULL) {
		end = strchr(line, '\n');
		len = end ? (size_t)(end - line) : strlen(line);
		if (len >= sizeof(buf))
			len = sizeof(buf) - 1;
		memcpy(buf, line, len);
		buf[len] = '\0';
		if (has(buf, want_name) && has(buf, want_addr) &&
		    has(buf, want_size))
			return true;
		line += len;
	}
	return false;
}

/* 3. Default policy in a child: SIGABRT (or a return) and the stderr line. */
static void run_abort_mode(const struct misuse_case *mc)
{
	struct expected_report exp[MAX_REPORTS];
	struct fixture f;
	char out[16384];
	size_t got = 0;
	ssize_t n;
	int fds[2], status, nexp, i;
	pid_t pid;
	const char *name;

	fflush(NULL);
	if (pipe(fds)) {
		fail(mc, "abort mode: pipe: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid < 0) {
		fail(mc, "abort mode: fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };

		setrlimit(RLIMIT_CORE, &no_core);
		close(fds[0]);
		if (setup(&f, mc->devm))
			_exit(90);
		dup2(fds[1], STDERR_FILENO);
		close(fds[1]);
		do_op(mc, &f, false);
		_exit(0);
	}
	close(fds[1]);
	while (got < sizeof(out) - 1 &&
	       (n = read(fds[0], out + got, sizeof(out) - 1 - got)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		got += (size_t)n;
	}
	out[got] = '\0';
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;

	if (mc->ending == END_ABORT) {
		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
			fail(mc, "abort mode: child did not die of SIGABRT "
			     "(status 0x%x)", status);
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fail(mc, "abort mode: child did not return normally (status "
		     "0x%x)", status);
	}
	if (mc->ending == END_SILENT_RETURN) {
		if (has(out, "genpool:"))
			fail(mc, "abort mode: unexpected report: %s", out);
		return;
	}
	/* The child's fixture is the parent's: same region, same layout. */
	memset(&f, 0, sizeof(f));
	for (i = 0; i < NX; i++)
		f.x[i] = base + x_off[i];
	name = is_null_pool_op(mc->op) ? "(unnamed)" : POOL_NAME;
	nexp = expected_reports(mc, &f, exp);
	for (i = 0; i < nexp; i++)
		if (!has_report_line(out, name, exp[i].addr, exp[i].size))
			fail(mc, "abort mode: stderr lacks a report naming "
			     "'%s', 0x%lx, size %zu; it was: %s", name,
			     exp[i].addr, exp[i].size, out);
}

int main(void)
{
	int i, detected = 0;
	void *region = map_region(REGION);

	if (!region) {
		perror("mmap");
		return 1;
	}
	base = (unsigned long)region;
	/* Sanity: the fixture itself must come out as documented. */
	{
		struct fixture f;
		const char *why = setup(&f, false);

		if (why || teardown(&f)) {
			printf("fixture broken: %s\n", why ? why : "teardown");
			return 1;
		}
	}
	for (i = 0; i < NCASES; i++) {
		const struct misuse_case *mc = &cases[i];

		case_failed = 0;
		run_report_mode(mc);
		run_checked(mc);
		run_abort_mode(mc);
		printf("%s %2d %s\n", case_failed ? "MISSED  " : "detected",
		       i + 1, mc->name);
		if (!case_failed)
			detected++;
	}
	printf("misuse: %d of %d detected\n", detected, NCASES);
	munmap(region, REGION);
	return detected == NCASES ? 0 : 1;
}
