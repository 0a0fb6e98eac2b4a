/* SPDX-License-Identifier: MIT */
/*
 * genpool/search.h - choosing the central pool's search path.
 *
 * The built-in algorithms run on a search engine with per-block hints and
 * vector kernels, chosen at run time from the CPU's features.  The paths
 * can be forced, for tests and benchmarks, with the environment variable
 * GENPOOL_SEARCH=reference|word|avx2|avx512 (read once, at first use) or
 * with gp_search_set_path().  Every path returns the same addresses; only
 * the time differs.  The reference path is the kernel's scalar search.
 */
#ifndef GENPOOL_SEARCH_H
#define GENPOOL_SEARCH_H

#ifdef __cplusplus
extern "C" {
#endif

/** enum gp_search_path - how the central pool searches its bitmaps. */
enum gp_search_path {
	GP_SEARCH_AUTO = 0,	/* the fastest path this CPU supports */
	GP_SEARCH_REFERENCE,	/* the kernel's scalar search; hints unused */
	GP_SEARCH_WORD,		/* hints scanned a word (4 blocks) at a time */
	GP_SEARCH_AVX2,		/* hints scanned 16 blocks at a time */
	GP_SEARCH_AVX512,	/* hints scanned 32 blocks at a time */
};

/**
 * gp_search_set_path - force a search path for the whole process.
 * @path: a path, or GP_SEARCH_AUTO for the fastest supported one
 *
 * Return: 0, -EINVAL for an unknown path, or -ENOTSUP if this CPU (or this
 * build) cannot run @path.
 *
 * Context: thread-safe; allocations already searching finish on the path
 * they started with.
 */
int gp_search_set_path(enum gp_search_path path);

/**
 * gp_search_get_path - the search path in force.
 *
 * Return: the path every allocation now starts on (never GP_SEARCH_AUTO):
 * the one forced by gp_search_set_path() or GENPOOL_SEARCH, else the
 * fastest this CPU supports.
 *
 * Context: thread-safe.
 */
enum gp_search_path gp_search_get_path(void);

/**
 * gp_search_path_supported - can this CPU and build run a path?
 * @path: a path
 *
 * Return: 1 if gp_search_set_path(@path) would succeed, else 0
 * (GP_SEARCH_AUTO is always supported).
 *
 * Context: thread-safe.
 */
int gp_search_path_supported(enum gp_search_path path);

/**
 * gp_search_path_name - the name of a search path.
 * @path: a path
 *
 * Return: a static string: "reference", "word", "avx2", "avx512" or "auto"
 * (the names GENPOOL_SEARCH accepts), or "unknown".
 *
 * Context: thread-safe.
 */
const char *gp_search_path_name(enum gp_search_path path);

#ifdef __cplusplus
}
#endif

#endif /* GENPOOL_SEARCH_H */
