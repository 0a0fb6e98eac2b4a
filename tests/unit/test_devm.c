// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_devm.c - gp_device_*, devm_gen_pool_create(),
 * gen_pool_get(), gp_devm_add_action() and the release order.
 */
#include <pthread.h>
#include <string.h>

#include "unit.h"

static void test_device_create_destroy(void **state)
{
	struct gp_device *dev = gp_device_create("sram-ctl");
	struct gp_device *anon = gp_device_create(NULL);
	char name[16] = "copied";
	struct gp_device *dev2 = gp_device_create(name);

	assert_non_null(dev);
	assert_non_null(anon);
	assert_non_null(dev2);
	assert_string_equal(gp_device_name(dev), "sram-ctl");
	assert_null(gp_device_name(anon));
	assert_null(gp_device_name(NULL));
	strcpy(name, "x");
	assert_string_equal(gp_device_name(dev2), "copied");
	gp_device_destroy(dev);
	gp_device_destroy(anon);
	gp_device_destroy(dev2);
	gp_device_destroy(NULL);
}

static void test_devm_pool_and_get(void **state)
{
	struct gp_device *dev = gp_device_create("dev");
	struct gp_device *other = gp_device_create("other");
	struct gen_pool *unnamed, *a, *b, *o;

	assert_non_null(dev);
	assert_non_null(other);
	a = devm_gen_pool_create(dev, 4, NUMA_NO_NODE, "a");
	assert_non_null(a);
	assert_string_equal(gp_name(a), "a");
	assert_int_equal(gp_min_alloc_order(a), 4);
	/* Without an unnamed pool, NULL matches nothing. */
	assert_null(gen_pool_get(dev, NULL));
	unnamed = devm_gen_pool_create(dev, 6, 0, NULL);
	assert_non_null(unnamed);
	assert_null(gp_name(unnamed));
	b = devm_gen_pool_create(dev, 0, NUMA_NO_NODE, "b");
	assert_non_null(b);
	o = devm_gen_pool_create(other, 0, NUMA_NO_NODE, "a");
	assert_non_null(o);

	assert_ptr_equal(gen_pool_get(dev, "a"), a);
	assert_ptr_equal(gen_pool_get(dev, "b"), b);
	assert_ptr_equal(gen_pool_get(dev, NULL), unnamed);
	assert_ptr_equal(gen_pool_get(other, "a"), o);
	assert_null(gen_pool_get(other, NULL));
	assert_null(gen_pool_get(dev, "c"));
	assert_null(gen_pool_get(dev, ""));
	assert_null(gen_pool_get(NULL, "a"));

	/* The pools work like any other. */
	assert_int_equal(gen_pool_add(unnamed, 0x10000, 0x1000, 0), 0);
	assert_int_equal(gen_pool_alloc(unnamed, 1), 0x10000);
	gen_pool_free(unnamed, 0x10000, 1);

	/* Duplicate names (and a second unnamed pool) are refused. */
	errno = 0;
	assert_null(devm_gen_pool_create(dev, 4, NUMA_NO_NODE, "a"));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(devm_gen_pool_create(dev, 4, NUMA_NO_NODE, NULL));
	assert_int_equal(errno, EINVAL);
	/* Bad arguments. */
	errno = 0;
	assert_null(devm_gen_pool_create(NULL, 4, NUMA_NO_NODE, "z"));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(devm_gen_pool_create(dev, -1, NUMA_NO_NODE, "z"));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(devm_gen_pool_create(dev, GP_MAX_ORDER + 1, NUMA_NO_NODE,
					 "z"));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(devm_gen_pool_create(dev, 4, -7, "z"));
	assert_int_equal(errno, EINVAL);
	/* None of the failures registered anything. */
	assert_null(gen_pool_get(dev, "z"));
	assert_ptr_equal(gen_pool_get(dev, "a"), a);

	gp_device_destroy(dev);
	/* The other device's pools are untouched. */
	assert_ptr_equal(gen_pool_get(other, "a"), o);
	assert_int_equal(gen_pool_add(o, 0x10000, 0x10, NUMA_NO_NODE), 0);
	assert_int_equal(gen_pool_alloc(o, 16), 0x10000);
	gen_pool_free(o, 0x10000, 16);
	gp_device_destroy(other);
}

/* ------------------------------------------------------- release order */

struct release_log {
	struct gp_device *dev;
	int n;
	char order[8];		/* action letters in release order */
	int saw_a[8];		/* gen_pool_get(dev, "a") != NULL then */
	int saw_b[8];		/* gen_pool_get(dev, "b") != NULL then */
};

struct action_arg {
	struct release_log *log;
	char letter;
};

static void record(void *data)
{
	struct action_arg *arg = data;
	struct release_log *log = arg->log;

	log->order[log->n] = arg->letter;
	log->saw_a[log->n] = gen_pool_get(log->dev, "a") != NULL;
	log->saw_b[log->n] = gen_pool_get(log->dev, "b") != NULL;
	log->n++;
}

static void test_release_order(void **state)
{
	struct release_log log = { 0 };
	struct action_arg x = { &log, 'X' }, y = { &log, 'Y' },
			  z = { &log, 'Z' };
	struct gen_pool *a, *b;

	log.dev = gp_device_create("ordered");
	assert_non_null(log.dev);
	/* Registration: X, pool a, Y, pool b, Z. */
	assert_int_equal(gp_devm_add_action(log.dev, record, &x), 0);
	a = devm_gen_pool_create(log.dev, 4, NUMA_NO_NODE, "a");
	assert_non_null(a);
	assert_int_equal(gp_devm_add_action(log.dev, record, &y), 0);
	b = devm_gen_pool_create(log.dev, 4, NUMA_NO_NODE, "b");
	assert_non_null(b);
	assert_int_equal(gp_devm_add_action(log.dev, record, &z), 0);
	/* Pools with chunks (and no live allocation) are released too. */
	assert_int_equal(gen_pool_add(a, 0x10000, 0x100, NUMA_NO_NODE), 0);
	assert_int_equal(gen_pool_add(b, 0x20000, 0x100, NUMA_NO_NODE), 0);

	assert_int_equal(gp_devm_add_action(NULL, record, &x), -EINVAL);
	assert_int_equal(gp_devm_add_action(log.dev, NULL, &x), -EINVAL);

	gp_device_destroy(log.dev);
	/* Release: Z, pool b, Y, pool a, X. */
	assert_int_equal(log.n, 3);
	assert_memory_equal(log.order, "ZYX", 3);
	assert_int_equal(log.saw_b[0], 1);	/* Z: b still there */
	assert_int_equal(log.saw_a[0], 1);
	assert_int_equal(log.saw_b[1], 0);	/* Y: b gone, a there */
	assert_int_equal(log.saw_a[1], 1);
	assert_int_equal(log.saw_b[2], 0);	/* X: both gone */
	assert_int_equal(log.saw_a[2], 0);
}

/* --------------------------------------- destroying a device-owned pool */

static void test_destroy_device_pool_refused(void **state)
{
	struct gp_device *dev = gp_device_create("owner");
	struct captured_misuse cap;
	struct gen_pool *pool;

	assert_non_null(dev);
	pool = devm_gen_pool_create(dev, 4, NUMA_NO_NODE, "mine");
	assert_non_null(pool);
	capture_pool_misuse(pool, &cap);
	assert_int_equal(gen_pool_add(pool, 0x10000, 0x100, NUMA_NO_NODE), 0);

	gen_pool_destroy(pool);
	assert_int_equal(cap.count, 1);
	assert_int_equal(cap.last.kind, GP_MISUSE_BAD_ARGUMENT);
	assert_ptr_equal(cap.last.pool, pool);
	assert_string_equal(cap.last_pool_name, "mine");
	assert_non_null(strstr(cap.last_what, "owner"));
	/* Still registered and usable. */
	assert_ptr_equal(gen_pool_get(dev, "mine"), pool);
	assert_int_equal(gen_pool_alloc(pool, 16), 0x10000);
	gen_pool_free(pool, 0x10000, 16);

	assert_int_equal(gp_destroy_checked(pool), -EPERM);
	assert_int_equal(cap.count, 1);
	assert_ptr_equal(gen_pool_get(dev, "mine"), pool);
	assert_int_equal(gen_pool_size(pool), 0x100);

	gp_device_destroy(dev);
	assert_int_equal(cap.count, 1);
}

/* Two threads asking one device for a pool of the same name at once. */
struct devm_racer {
	struct gp_device *dev;
	const char *name;
	pthread_barrier_t *start;
	struct gen_pool *pool;
	int err;
};

static void *devm_race(void *arg)
{
	struct devm_racer *r = arg;

	pthread_barrier_wait(r->start);
	errno = 0;
	r->pool = devm_gen_pool_create(r->dev, 4, NUMA_NO_NODE, r->name);
	r->err = errno;
	return NULL;
}

/*
 * The name check and the registration are one step: of two racing
 * creations of a name (or of the unnamed pool), exactly one wins and the
 * other gets EINVAL.  Up to 2000 rounds or 1 s; the race the check once
 * lost showed up in most rounds.
 */
static void test_devm_same_name_race(void **state)
{
	const double until = test_now() + 1.0;
	pthread_barrier_t start;
	int rounds = 0;

	assert_int_equal(pthread_barrier_init(&start, NULL, 2), 0);
	for (; rounds < 2000 && test_now() < until; rounds++) {
		struct gp_device *dev = gp_device_create("racy");
		const char *name = rounds % 2 ? "dup" : NULL;
		struct devm_racer r[2] = {
			{ .dev = dev, .name = name, .start = &start },
			{ .dev = dev, .name = name, .start = &start },
		};
		pthread_t t[2];
		int won;

		assert_non_null(dev);
		for (int i = 0; i < 2; i++)
			assert_int_equal(pthread_create(&t[i], NULL, devm_race,
							&r[i]), 0);
		for (int i = 0; i < 2; i++)
			assert_int_equal(pthread_join(t[i], NULL), 0);
		won = r[0].pool ? 0 : 1;
		assert_non_null(r[won].pool);
		assert_null(r[!won].pool);
		assert_int_equal(r[!won].err, EINVAL);
		assert_ptr_equal(gen_pool_get(dev, name), r[won].pool);
		gp_device_destroy(dev);
	}
	pthread_barrier_destroy(&start);
	assert_true(rounds > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_device_create_destroy),
		cmocka_unit_test(test_devm_pool_and_get),
		cmocka_unit_test(test_release_order),
		cmocka_unit_test(test_destroy_device_pool_refused),
		cmocka_unit_test(test_devm_same_name_race),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
