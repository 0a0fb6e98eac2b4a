// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_version.c - genpool/version.h and gp_version().
 */
#include <stdio.h>
#include <string.h>

#include "unit.h"
#include "genpool/version.h"

/* The headers' numbers, the string and the library agree. */
static void test_version_agrees(void **state)
{
	char want[64];

	snprintf(want, sizeof(want), "%d.%d.%d", GENPOOL_VERSION_MAJOR,
		 GENPOOL_VERSION_MINOR, GENPOOL_VERSION_PATCH);
	assert_string_equal(GENPOOL_VERSION, want);
	assert_string_equal(gp_version(), GENPOOL_VERSION);
}

/* The compile-time check, at and around the current release. */
static void test_check_version_macro(void **state)
{
	const int ma = GENPOOL_VERSION_MAJOR, mi = GENPOOL_VERSION_MINOR,
		  pa = GENPOOL_VERSION_PATCH;

	assert_true(GENPOOL_CHECK_VERSION(ma, mi, pa));
	assert_true(GENPOOL_CHECK_VERSION(0, 0, 0));
	assert_false(GENPOOL_CHECK_VERSION(ma, mi, pa + 1));
	assert_false(GENPOOL_CHECK_VERSION(ma, mi + 1, 0));
	assert_false(GENPOOL_CHECK_VERSION(ma + 1, 0, 0));
	if (pa > 0)
		assert_true(GENPOOL_CHECK_VERSION(ma, mi, pa - 1));
	if (mi > 0)
		assert_true(GENPOOL_CHECK_VERSION(ma, mi - 1, 99));
#if !GENPOOL_CHECK_VERSION(0, 1, 0)
#error "these headers are at least 0.1.0"
#endif
}

/* The run-time check answers like the macro (the library is this build). */
static void test_check_version_runtime(void **state)
{
	const int ma = GENPOOL_VERSION_MAJOR, mi = GENPOOL_VERSION_MINOR,
		  pa = GENPOOL_VERSION_PATCH;

	assert_int_equal(gp_check_version(ma, mi, pa), 1);
	assert_int_equal(gp_check_version(ma, mi, pa + 1), 0);
	assert_int_equal(gp_check_version(ma, mi + 1, 0), 0);
	assert_int_equal(gp_check_version(ma + 1, 0, 0), 0);
	assert_int_equal(gp_check_version(ma - 1, 99, 99), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_agrees),
		cmocka_unit_test(test_check_version_macro),
		cmocka_unit_test(test_check_version_runtime),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
