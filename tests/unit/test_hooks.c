// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_hooks.c - gp_check_alloc() and gp_report_misuse(), the
 * calls a layer in front of the pool (percpu/) builds on.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

#define ORDER 4

/* gp_check_alloc answers like gp_free_checked would, changing nothing. */
static void test_check_alloc(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(ORDER, &cap);
	unsigned long a;

	assert_int_equal(gen_pool_add(pool, UT_BASE, 0x400, NUMA_NO_NODE), 0);
	a = gen_pool_alloc(pool, 48);
	assert_int_equal(gp_check_alloc(pool, a, 48, NULL), 0);
	assert_int_equal(gp_check_alloc(pool, a, 33, NULL), 0);
	assert_int_equal(gp_check_alloc(NULL, a, 48, NULL), -EINVAL);
	assert_int_equal(gp_check_alloc(pool, a, 0, NULL), -EINVAL);
	assert_int_equal(gp_check_alloc(pool, a + 1, 16, NULL), -EINVAL);
	assert_int_equal(gp_check_alloc(pool, 0x10, 16, NULL), -EFAULT);
	assert_int_equal(gp_check_alloc(pool, UT_BASE + 0x3f0, 32, NULL),
			 -ERANGE);
	assert_int_equal(gp_check_alloc(pool, a + 48, 16, NULL), -EALREADY);
	assert_int_equal(gp_check_alloc(pool, a, 16, NULL), -EBADSLT);
	assert_int_equal(gp_check_alloc(pool, a + 16, 32, NULL), -EBADSLT);
	assert_int_equal(cap.count, 0);
	assert_int_equal(gen_pool_avail(pool), 0x400 - 48);
	/* With @who, a refusal is reported as the pool's own would be. */
	assert_int_equal(gp_check_alloc(pool, a, 16, "layer"), -EBADSLT);
	assert_int_equal(cap.count, 1);
	assert_int_equal(cap.last.kind, GP_MISUSE_WRONG_SIZE);
	assert_int_equal(cap.last.addr, a);
	assert_int_equal(cap.last.size, 16);
	assert_non_null(strstr(cap.last.what, "layer: "));
	assert_int_equal(gp_check_alloc(pool, a + 48, 16, "layer"), -EALREADY);
	assert_int_equal(cap.last.kind, GP_MISUSE_DOUBLE_FREE);
	gen_pool_free(pool, a, 48);
	ut_destroy(pool);
}

/* gp_report_misuse goes to the handler; the policy applies. */
static void test_report_misuse(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(ORDER, &cap);

	gp_set_name(pool, "hooked");
	gp_report_misuse(pool, GP_MISUSE_DOUBLE_FREE, 0x1230, 64, "cache: x");
	assert_int_equal(cap.count, 1);
	assert_int_equal(cap.last.kind, GP_MISUSE_DOUBLE_FREE);
	assert_int_equal(cap.last.addr, 0x1230);
	assert_int_equal(cap.last.size, 64);
	assert_string_equal(cap.last_what, "cache: x");
	assert_string_equal(cap.last_pool_name, "hooked");
	gp_report_misuse(pool, GP_MISUSE_FOREIGN_ADDR, 1, 1, NULL);
	assert_string_equal(cap.last_what, "");
	ut_destroy(pool);
}

/* With the abort policy (the default) the report does not return. */
static void test_report_aborts(void **state)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (!pid) {
		struct gen_pool *pool = gen_pool_create(ORDER, NUMA_NO_NODE);

		gp_set_misuse_handler(pool, capture_misuse,
				      &(struct captured_misuse){ 0 });
		gp_report_misuse(pool, GP_MISUSE_DOUBLE_FREE, 1, 1, "x");
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_alloc),
		cmocka_unit_test(test_report_misuse),
		cmocka_unit_test(test_report_aborts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
