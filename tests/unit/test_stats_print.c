// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_stats_print.c - gp_stats_print() as text and as JSON,
 * and the printers layers add to it.
 *
 * usage: unit_stats_print PYTHON CHECK_STATS_JSON.py
 * Every JSON document is handed to check_stats_json.py, which parses it
 * with Python's json module and checks the values and invariants given.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "genpool/search.h"
#include "genpool/stats.h"
#include "genpool/version.h"

static const char *python, *checker;

/* gp_stats_print() into a string (free it); asserts the return value. */
static char *print_to_string(struct gen_pool *pool, unsigned int flags,
			     int expect)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	assert_int_equal(gp_stats_print(pool, f, flags), expect);
	assert_int_equal(fclose(f), 0);
	return text;
}

/* Run check_stats_json.py on @json with the expectations @expect[]. */
static int check_json(const char *json, const char *const *expect)
{
	char path[] = "/tmp/gp-stats-json-XXXXXX";
	const char *argv[32] = { python, checker, path };
	int fd = mkstemp(path), status, n = 3;
	pid_t pid;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
	close(fd);
	while (*expect && n < 31)
		argv[n++] = *expect++;
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execv(python, (char *const *)argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	unlink(path);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The JSON of @pool, checked against @expect (NULL-terminated). */
static void assert_json(struct gen_pool *pool, unsigned int flags, int ret,
			const char *const *expect)
{
	char *json = print_to_string(pool, flags | GP_STATS_JSON, ret);

	assert_int_equal(check_json(json, expect), 0);
	free(json);
}

/* The line of @text that starts with @prefix, or NULL. */
static const char *line_starting(const char *text, const char *prefix)
{
	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : l)
		if (!strncmp(l, prefix, strlen(prefix)))
			return l;
	return NULL;
}

static void test_text_summary_and_chunks(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_fragmented(&cap);
	char *text = print_to_string(pool, 0, 0);
	const char *l;
	size_t size, avail, in_use, largest;
	unsigned long long allocs, failures;
	double frag;
	char path[64], phys[24];
	unsigned long start, end, nallocs, holes;
	size_t csize, cavail, clargest;
	int nid;

	snprintf(path, sizeof(path), "search path %s",
		 gp_search_path_name(gp_search_get_path()));
	assert_non_null(strstr(text, "pool \"(unnamed)\""));
	assert_non_null(strstr(text, "unit 16 bytes (order 4)"));
	assert_non_null(strstr(text, "algorithm first_fit"));
	assert_non_null(strstr(text, "misuse policy report"));
	assert_non_null(strstr(text, path));

	l = line_starting(text, "  pool ");
	assert_non_null(l);
	assert_int_equal(sscanf(l, " pool %zu %zu %zu %llu %llu %zu %lf", &size,
				&avail, &in_use, &allocs, &failures, &largest,
				&frag), 7);
	assert_int_equal(size, 0x500);
	assert_int_equal(avail, 38 * 16 + 15 * 16);
	assert_int_equal(in_use, 0x500 - avail);
	assert_int_equal(allocs, 4);
	assert_int_equal(failures, 0);
	assert_int_equal(largest, 24 * 16);
	assert_true(frag > 0.5465 && frag < 0.5475);	/* 1 - 384 / 848 */

	/* Newest chunk (B) first. */
	l = line_starting(text, "    0 ");
	assert_non_null(l);
	assert_int_equal(sscanf(l, " 0 %lx %lx %23s %zu %zu %lu %lu %zu %d",
				&start, &end, phys, &csize, &cavail, &nallocs,
				&holes, &clargest, &nid), 9);
	assert_int_equal(start, UT_FRAG_B);
	assert_int_equal(end, UT_FRAG_B + 0xff);
	assert_string_equal(phys, "-");
	assert_int_equal(csize, 0x100);
	assert_int_equal(cavail, 15 * 16);
	assert_int_equal(nallocs, 1);
	assert_int_equal(holes, 2);
	assert_int_equal(clargest, 13 * 16);
	assert_int_equal(nid, NUMA_NO_NODE);
	l = line_starting(text, "    1 ");
	assert_non_null(l);
	assert_int_equal(sscanf(l, " 1 %lx %lx %23s %zu %zu %lu %lu %zu %d",
				&start, &end, phys, &csize, &cavail, &nallocs,
				&holes, &clargest, &nid), 9);
	assert_int_equal(start, UT_FRAG_A);
	assert_int_equal(nallocs, 3);
	assert_int_equal(holes, 3);
	assert_int_equal(clargest, 24 * 16);
	free(text);
	ut_destroy(pool);
}

/*
 * The histogram: holes of 2, 6, 8, 13 and 24 units, one per class; rows
 * with no hole are the engine's stale marks.
 */
static void test_text_histogram(void **state)
{
	static const struct {
		const char *range;
		size_t bytes;
	} want[] = { { "2", 32 }, { "6-7", 96 }, { "8-11", 128 },
		     { "12-15", 208 }, { "24-31", 384 } };
	struct captured_misuse cap;
	struct gen_pool *pool = ut_fragmented(&cap);
	char *text = print_to_string(pool, 0, 0);
	const char *l = line_starting(text, "holes by size class: 5 holes");
	unsigned long marked_above[8] = { 0 };	/* per hole row */
	int rows = 0;

	assert_non_null(l);
	l = strchr(l, '\n') + 1;		/* the column names */
	assert_non_null(line_starting(l, "  units "));
	for (l = strchr(l, '\n') + 1; *l == ' '; l = strchr(l, '\n') + 1) {
		char range[32];
		unsigned long holes, blocks;
		size_t bytes;

		assert_int_equal(sscanf(l, " %31s %lu %zu %lu", range, &holes,
					&bytes, &blocks), 4);
		/* Blocks marked at this class count for its hole and for
		 * every hole of a lower class. */
		for (int r = 0; r < rows + (holes != 0) && r < 8; r++)
			marked_above[r] += blocks;
		if (!holes) {	/* a stale mark of the engine: shown too */
			assert_int_equal(bytes, 0);
			assert_true(blocks > 0);
			continue;
		}
		assert_true(rows < 5);
		assert_string_equal(range, want[rows].range);
		assert_int_equal(holes, 1);
		assert_int_equal(bytes, want[rows].bytes);
		rows++;
	}
	assert_int_equal(rows, 5);
	/* The engine's hints cover every hole: some block is marked at the
	 * hole's class or above (core/hints.h). */
	if (gp_search_get_path() != GP_SEARCH_REFERENCE)
		for (int r = 0; r < rows; r++)
			assert_true(marked_above[r] >= 1);
	free(text);
	ut_destroy(pool);
}

static void test_json_fragmented(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_fragmented(&cap);
	char path[64], version[64];
	const char *expect[] = {
		"summary.size=1280", "summary.avail=848", "summary.in_use=432",
		"summary.allocations=4", "summary.failures=1",
		"summary.largest_free=384", "summary.chunks=2",
		"chunks.0.start=\"0x20000\"", "chunks.0.end=\"0x200ff\"",
		"chunks.0.phys=null", "chunks.0.holes=2",
		"chunks.0.largest_hole=208", "chunks.0.nid=-1",
		"chunks.1.start=\"0x10000\"", "chunks.1.allocations=3",
		"holes.count=5", "holes.classes.1.min_units=2",
		"holes.classes.1.holes=1", "holes.classes.1.free_bytes=32",
		"name=null", "unit=16", "min_alloc_order=4",
		"algorithm=\"first_fit\"", "misuse_policy=\"report\"", path,
		version, "sections={}", NULL
	};

	snprintf(path, sizeof(path), "search_path=\"%s\"",
		 gp_search_path_name(gp_search_get_path()));
	snprintf(version, sizeof(version), "version=\"%s\"", GENPOOL_VERSION);
	assert_int_equal(gen_pool_alloc(pool, 0x1000), 0);	/* a failure */
	assert_json(pool, 0, 0, expect);
	ut_destroy(pool);
}

/* A name that needs escaping, a chunk with phys, a best-fit pool. */
static void test_json_escapes_and_phys(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(6, &cap);
	const char *expect[] = {
		"name=\"a \\\"quoted\\\" \\\\ name\\n\\u0001\"",
		"chunks.0.phys=\"0x90000\"", "algorithm=\"best_fit\"",
		"summary.avail=4096", "holes.count=1", NULL
	};

	assert_int_equal(gp_set_name(pool, "a \"quoted\" \\ name\n\x01"), 0);
	assert_int_equal(gen_pool_add_virt(pool, 0x40000, 0x90000, 0x1000,
					   NUMA_NO_NODE), 0);
	gen_pool_set_algo(pool, gen_pool_best_fit, NULL);
	assert_json(pool, 0, 0, expect);
	ut_destroy(pool);
}

static void test_json_empty_pool(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(4, &cap);
	const char *expect[] = { "chunks=[]", "holes.count=0",
				 "summary.size=0", "summary.fragmentation=0",
				 NULL };

	assert_json(pool, 0, 0, expect);
	ut_destroy(pool);
}

/* The GP_STATS_NO_* flags leave their parts out; unknown flags fail. */
static void test_flags(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_fragmented(&cap);
	const char *no_chunks[] = { "!chunks", "holes.count=5", NULL };
	const char *no_holes[] = { "!holes", "chunks.1.holes=3", NULL };
	const char *none[] = { "!chunks", "!holes", "!sections",
			       "summary.allocations=4", NULL };
	char *text;
	FILE *devnull = fopen("/dev/null", "w");

	assert_json(pool, GP_STATS_NO_CHUNKS, 0, no_chunks);
	assert_json(pool, GP_STATS_NO_HOLES, 0, no_holes);
	assert_json(pool, GP_STATS_NO_CHUNKS | GP_STATS_NO_HOLES |
		    GP_STATS_NO_SECTIONS, 0, none);
	text = print_to_string(pool, GP_STATS_NO_CHUNKS | GP_STATS_NO_HOLES, 0);
	assert_null(strstr(text, "chunks (newest first)"));
	assert_null(strstr(text, "holes by size class"));
	assert_non_null(line_starting(text, "  pool "));
	free(text);

	assert_non_null(devnull);
	assert_int_equal(gp_stats_print(pool, devnull, 1u << 20), -EINVAL);
	assert_int_equal(gp_stats_print(NULL, devnull, 0), -EINVAL);
	assert_int_equal(gp_stats_print(pool, NULL, 0), -EINVAL);
	fclose(devnull);
	ut_destroy(pool);
}

/* A stream that cannot be written: -EIO. */
static void test_write_error(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_fragmented(&cap);
	FILE *full = fopen("/dev/full", "w");

	if (!full)
		skip();
	assert_int_equal(gp_stats_print(pool, full, 0), -EIO);
	clearerr(full);
	assert_int_equal(gp_stats_print(pool, full, GP_STATS_JSON), -EIO);
	fclose(full);
	ut_destroy(pool);
}

/* ------------------------------------------------------------ printers */

struct section {
	int calls;
	int ret;		/* what the printer returns */
	bool silent;		/* writes nothing */
};

static int print_section(struct gen_pool *pool, FILE *out, unsigned int flags,
			 void *arg)
{
	struct section *s = arg;
	const char *name = gp_name(pool) ? gp_name(pool) : "-";

	s->calls++;
	if (s->silent)
		return s->ret;
	if (flags & GP_STATS_JSON)
		fprintf(out, "{\"calls\": %d, \"pool\": \"%s\"}", s->calls,
			name);
	else
		fprintf(out, "calls %d\npool %s\n", s->calls, name);
	return s->ret;
}

static void test_printers_text_and_json(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_fragmented(&cap);
	struct section a = { 0 }, b = { 0 };
	const char *expect[] = { "sections.cache.calls=2",
				 "sections.cache.pool=\"p\"",
				 "sections.other.calls=2", NULL };
	char *text;
	const char *l;

	assert_int_equal(gp_set_name(pool, "p"), 0);
	assert_int_equal(gp_stats_add_printer(pool, "cache", print_section, &a), 0);
	assert_int_equal(gp_stats_add_printer(pool, "other", print_section, &b), 0);
	text = print_to_string(pool, 0, 0);
	l = line_starting(text, "cache:");
	assert_non_null(l);
	assert_non_null(line_starting(l, "cache:\n  calls 1\n  pool p\nother:\n  calls 1\n"));
	free(text);
	assert_json(pool, 0, 0, expect);

	/* No sections: the printers are not called. */
	free(print_to_string(pool, GP_STATS_NO_SECTIONS, 0));
	assert_int_equal(a.calls, 2);

	/* Removed: never called again. */
	assert_int_equal(gp_stats_remove_printer(pool, print_section, &a), 0);
	assert_int_equal(gp_stats_remove_printer(pool, print_section, &a), -ENOENT);
	text = print_to_string(pool, 0, 0);
	assert_null(strstr(text, "cache:"));
	assert_non_null(strstr(text, "other:"));
	free(text);
	assert_int_equal(a.calls, 2);
	assert_int_equal(b.calls, 3);
	assert_int_equal(gp_stats_remove_printer(pool, print_section, &b), 0);
	ut_destroy(pool);
}

static void test_printer_arguments(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(4, &cap);
	struct section a = { 0 }, b = { 0 };

	assert_int_equal(gp_stats_add_printer(NULL, "x", print_section, &a), -EINVAL);
	assert_int_equal(gp_stats_add_printer(pool, NULL, print_section, &a), -EINVAL);
	assert_int_equal(gp_stats_add_printer(pool, "", print_section, &a), -EINVAL);
	assert_int_equal(gp_stats_add_printer(pool, "x", NULL, &a), -EINVAL);
	assert_int_equal(gp_stats_remove_printer(NULL, print_section, &a), -EINVAL);
	assert_int_equal(gp_stats_remove_printer(pool, NULL, &a), -EINVAL);
	assert_int_equal(gp_stats_remove_printer(pool, print_section, &a), -ENOENT);

	assert_int_equal(gp_stats_add_printer(pool, "x", print_section, &a), 0);
	/* The same printer twice, or the same name twice. */
	assert_int_equal(gp_stats_add_printer(pool, "y", print_section, &a), -EEXIST);
	assert_int_equal(gp_stats_add_printer(pool, "x", print_section, &b), -EEXIST);
	assert_int_equal(gp_stats_add_printer(pool, "y", print_section, &b), 0);
	/* Still registered at destroy: dropped with the pool (no leak). */
	ut_destroy(pool);
}

/* A failing printer: its error comes back, the JSON stays valid. */
static void test_printer_failure_and_silence(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_fragmented(&cap);
	struct section bad = { .ret = -EAGAIN }, quiet = { .silent = true },
		       good = { 0 };
	const char *expect[] = { "sections.bad=null", "sections.quiet=null",
				 "sections.good.calls=1", NULL };
	char *text;

	assert_int_equal(gp_stats_add_printer(pool, "bad", print_section, &bad), 0);
	assert_int_equal(gp_stats_add_printer(pool, "quiet", print_section, &quiet), 0);
	assert_int_equal(gp_stats_add_printer(pool, "good", print_section, &good), 0);
	assert_json(pool, 0, -EAGAIN, expect);
	text = print_to_string(pool, 0, -EAGAIN);
	assert_non_null(strstr(text, "bad:\n  (printer failed: "));
	assert_non_null(strstr(text, "quiet:\ngood:\n  calls 2\n"));
	free(text);
	ut_destroy(pool);
}

/* Printing while another thread allocates and adds/removes a printer. */
struct churn {
	struct gen_pool *pool;
	struct section sec;
	int rounds;
	int errors;
};

/* cmocka's asserts belong to the main thread: this one counts errors. */
static void *churn_thread(void *arg)
{
	struct churn *c = arg;

	for (int i = 0; i < c->rounds; i++) {
		size_t size = 16 * (1 + i % 7);
		unsigned long a = gen_pool_alloc(c->pool, size);

		if (gp_stats_add_printer(c->pool, "churn", print_section,
					 &c->sec) ||
		    gp_stats_remove_printer(c->pool, print_section, &c->sec))
			c->errors++;
		if (a && gp_free_checked(c->pool, a, size, NULL))
			c->errors++;
	}
	return NULL;
}

static void test_print_concurrently(void **state)
{
	struct captured_misuse cap;
	struct churn c = { .pool = ut_fragmented(&cap), .rounds = 500 };
	FILE *devnull = fopen("/dev/null", "w");
	pthread_t t;

	assert_non_null(devnull);
	assert_int_equal(pthread_create(&t, NULL, churn_thread, &c), 0);
	for (int i = 0; i < 50; i++)
		assert_int_equal(gp_stats_print(c.pool, devnull,
						i & 1 ? GP_STATS_JSON : 0), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(c.errors, 0);
	fclose(devnull);
	assert_int_equal(cap.count, 0);
	ut_destroy(c.pool);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_summary_and_chunks),
		cmocka_unit_test(test_text_histogram),
		cmocka_unit_test(test_json_fragmented),
		cmocka_unit_test(test_json_escapes_and_phys),
		cmocka_unit_test(test_json_empty_pool),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_write_error),
		cmocka_unit_test(test_printers_text_and_json),
		cmocka_unit_test(test_printer_arguments),
		cmocka_unit_test(test_printer_failure_and_silence),
		cmocka_unit_test(test_print_concurrently),
	};

	if (argc != 3) {
		fprintf(stderr, "usage: %s PYTHON CHECK_STATS_JSON.py\n", argv[0]);
		return 2;
	}
	python = argv[1];
	checker = argv[2];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
