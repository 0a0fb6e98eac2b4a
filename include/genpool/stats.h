/* SPDX-License-Identifier: MIT */
/*
 * genpool/stats.h - a pool's statistics as text or JSON, as jemalloc's
 * malloc_stats_print() does it, and a hook for the layers above the pool
 * to add their own section.
 *
 * gp_stats_print() writes the pool's summary (the figures of
 * gp_get_stats()), one row per chunk, the histogram of free holes by size
 * class with the search engine's own per-class block counters, and the
 * search path in use; then one section per printer registered with
 * gp_stats_add_printer() (a per-CPU cache in front of the pool, for
 * example).
 */
#ifndef GENPOOL_STATS_H
#define GENPOOL_STATS_H

#include <stdio.h>

#include "genpool/genalloc.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * GP_STATS_JSON - flags of gp_stats_print(), or-ed together.
 *
 * GP_STATS_JSON writes one JSON object instead of the human table.
 * GP_STATS_NO_CHUNKS leaves out the per-chunk rows, GP_STATS_NO_HOLES the
 * hole histogram and GP_STATS_NO_SECTIONS the sections that printers add.
 * Printers receive the flags too, so that they can honour GP_STATS_JSON.
 */
#define GP_STATS_JSON		(1u << 0)
#define GP_STATS_NO_CHUNKS	(1u << 1)
#define GP_STATS_NO_HOLES	(1u << 2)
#define GP_STATS_NO_SECTIONS	(1u << 3)

/**
 * gp_stats_printer_t - writes one section of a pool's statistics.
 * @pool:  the pool being printed
 * @out:   where to write
 * @flags: the flags given to gp_stats_print()
 * @arg:   the argument given to gp_stats_add_printer()
 *
 * With GP_STATS_JSON the printer writes exactly one JSON value (an object,
 * usually), which becomes the value of the section's name in "sections";
 * otherwise lines of text, which are indented under a heading with the
 * name.  It must not add or remove printers.
 *
 * Returns 0, or a negative errno, which gp_stats_print() passes on.
 */
typedef int (*gp_stats_printer_t)(struct gen_pool *pool, FILE *out,
				  unsigned int flags, void *arg);

/**
 * gp_stats_print - write a pool's statistics, as a table or as JSON.
 * @pool:  the pool
 * @out:   where to write (stdout, a file, open_memstream()...)
 * @flags: GP_STATS_JSON and the GP_STATS_NO_* flags, or 0 for the table
 *
 * The text form is a summary (size, free, in use, live allocations,
 * failures, largest free run, fragmentation, unit, algorithm, misuse
 * policy, search path), a row per chunk (newest first: addresses, size,
 * free bytes, allocations, holes, largest hole), the histogram of holes by
 * size class (how many, their free bytes, and how many of the engine's
 * 512-unit blocks are marked as holding that class: a superset, since the
 * marks are repaired lazily) and the printers' sections.  GP_STATS_JSON
 * writes the same as one JSON object: keys "version", "name", "unit",
 * "min_alloc_order", "algorithm", "misuse_policy", "search_path",
 * "summary", "chunks", "holes" and "sections" (the last three as the flags
 * leave them).  Addresses are JSON strings ("0x10000"), a chunk without a
 * physical address has "phys": null.
 *
 * Return: 0; -EINVAL for a NULL @pool or @out, or an unknown flag; -ENOMEM;
 * -EIO if writing to @out failed; or the first error a printer returned
 * (its section then shows the failure, the rest is still printed).
 *
 * Context: thread-safe; a snapshot, like gp_get_stats(): it walks every
 * bitmap (O(size)) while allocations may go on.  Printers run one at a
 * time, under a lock that gp_stats_add_printer() also takes.
 */
int gp_stats_print(struct gen_pool *pool, FILE *out, unsigned int flags);

/**
 * gp_stats_add_printer - add a section to the pool's gp_stats_print().
 * @pool: the pool
 * @name: the section's name (copied): a heading, and its key in JSON
 * @fn:   writes the section
 * @arg:  passed to @fn
 *
 * A layer above the pool (the per-CPU caches, for example) registers a
 * printer when it attaches to a pool and removes it with
 * gp_stats_remove_printer() when it detaches; the core knows nothing of
 * what is printed.  Sections come in the order they were added.  Printers
 * still registered when the pool is destroyed are dropped with it.
 *
 * Return: 0; -EINVAL for a NULL @pool, @name or @fn, or an empty @name;
 * -EEXIST if @fn with @arg, or a section called @name, is already
 * registered on @pool; -ENOMEM.
 *
 * Context: thread-safe; waits while a gp_stats_print() of any pool runs
 * printers.
 */
int gp_stats_add_printer(struct gen_pool *pool, const char *name,
			 gp_stats_printer_t fn, void *arg);

/**
 * gp_stats_remove_printer - remove a section added by gp_stats_add_printer().
 * @pool: the pool
 * @fn:   the printer
 * @arg:  the argument it was added with
 *
 * Once it returns, @fn is not running for @pool and will not be called
 * again, so @arg may be freed.
 *
 * Return: 0, -EINVAL for a NULL @pool or @fn, or -ENOENT if @fn with @arg
 * is not registered on @pool.
 *
 * Context: thread-safe; waits for a gp_stats_print() that is running
 * printers.  Must not be called from a printer.
 */
int gp_stats_remove_printer(struct gen_pool *pool, gp_stats_printer_t fn,
			    void *arg);

#ifdef __cplusplus
}
#endif

#endif /* GENPOOL_STATS_H */
