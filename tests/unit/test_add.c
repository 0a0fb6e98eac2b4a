// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_add.c - adding memory: gen_pool_add/add_virt/add_owner,
 * rejections, search order, size/avail accounting, gen_pool_for_each_chunk.
 */
#include <string.h>

#include "unit.h"

/* Unit of the pools below: 16 bytes. */
#define ORDER 4

static void test_add_basic(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(ORDER, &cap);
	int owner;

	assert_int_equal(gen_pool_add(pool, UT_BASE, 0x1000, NUMA_NO_NODE), 0);
	assert_int_equal(gen_pool_size(pool), 0x1000);
	assert_int_equal(gen_pool_avail(pool), 0x1000);
	assert_int_equal(gen_pool_add_virt(pool, 0x20000, 0x80000000, 0x200,
					   NUMA_NO_NODE), 0);
	assert_int_equal(gen_pool_size(pool), 0x1200);
	assert_int_equal(gen_pool_add_owner(pool, 0x30000, GP_NO_PHYS, 0x10, 0,
					    &owner), 0);
	assert_int_equal(gen_pool_size(pool), 0x1210);
	assert_int_equal(gen_pool_avail(pool), 0x1210);
	/* Adjacent chunks do not overlap. */
	assert_int_equal(gen_pool_add(pool, UT_BASE + 0x1000, 0x10,
				      NUMA_NO_NODE), 0);
	assert_int_equal(gen_pool_add(pool, UT_BASE - 0x10, 0x10,
				      NUMA_NO_NODE), 0);
	assert_int_equal(gen_pool_size(pool), 0x1230);
	assert_int_equal(cap.count, 0);
	ut_destroy(pool);
}

/* Expect @ret == @err, reported as a bad argument naming @why. */
static void expect_rejected(struct captured_misuse *cap, int ret, int err,
			    const char *why)
{
	assert_int_equal(ret, err);
	assert_int_equal(cap->last.kind, GP_MISUSE_BAD_ARGUMENT);
	assert_non_null(strstr(cap->last_what, why));
}

static void test_add_rejections(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(ORDER, &cap);
	int n = 0;

	assert_int_equal(gen_pool_add(NULL, UT_BASE, 0x100, NUMA_NO_NODE),
			 -EINVAL);
	expect_rejected(&cap, gen_pool_add(pool, UT_BASE, 0, NUMA_NO_NODE),
			-EINVAL, "size is 0");
	assert_int_equal(cap.count, ++n);
	expect_rejected(&cap, gen_pool_add(pool, UT_BASE, 0x108, NUMA_NO_NODE),
			-EINVAL, "multiple");
	assert_int_equal(cap.count, ++n);
	expect_rejected(&cap, gen_pool_add(pool, UT_BASE, 8, NUMA_NO_NODE),
			-EINVAL, "multiple");
	assert_int_equal(cap.count, ++n);
	expect_rejected(&cap, gen_pool_add(pool, 0, 0x100, NUMA_NO_NODE),
			-EINVAL, "address 0");
	assert_int_equal(cap.count, ++n);
	/* [ULONG_MAX - 15, ULONG_MAX + 16] wraps. */
	expect_rejected(&cap, gen_pool_add(pool, ULONG_MAX - 15, 0x20,
					   NUMA_NO_NODE), -EINVAL, "wraps");
	assert_int_equal(cap.count, ++n);
	expect_rejected(&cap, gen_pool_add(pool, 0x8000000000000010UL,
					   0x8000000000000000UL, NUMA_NO_NODE),
			-EINVAL, "wraps");
	assert_int_equal(cap.count, ++n);
	/* Physical range wrapping (and reaching GP_NO_PHYS) is refused. */
	expect_rejected(&cap, gen_pool_add_virt(pool, UT_BASE, GP_NO_PHYS - 0x10,
						0x20, NUMA_NO_NODE),
			-EINVAL, "physical");
	assert_int_equal(cap.count, ++n);
	expect_rejected(&cap, gen_pool_add(pool, UT_BASE, 0x100, -2), -EINVAL,
			"NUMA");
	assert_int_equal(cap.count, ++n);
	expect_rejected(&cap, gen_pool_add(pool, UT_BASE, 0x100, 64), -EINVAL,
			"NUMA");
	assert_int_equal(cap.count, ++n);
	expect_rejected(&cap, gen_pool_add_owner(pool, UT_BASE, GP_NO_PHYS,
						 0x100, 100000, NULL),
			-EINVAL, "NUMA");
	assert_int_equal(cap.count, ++n);
	/* None of that added anything. */
	assert_int_equal(gen_pool_size(pool), 0);
	assert_int_equal(gen_pool_avail(pool), 0);

	/* A chunk that ends exactly at the top of the address space. */
	assert_int_equal(gen_pool_add(pool, ULONG_MAX - 15, 0x10,
				      NUMA_NO_NODE), 0);
	assert_int_equal(gen_pool_alloc(pool, 16), ULONG_MAX - 15);
	gen_pool_free(pool, ULONG_MAX - 15, 16);
	assert_int_equal(cap.count, n);
	ut_destroy(pool);
}

static void test_add_overlap(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(ORDER, &cap);
	static const struct {
		unsigned long addr;
		size_t size;
	} bad[] = {
		{ UT_BASE, 0x1000 },		/* identical */
		{ UT_BASE - 0x10, 0x20 },	/* straddles the start */
		{ UT_BASE + 0xff0, 0x20 },	/* straddles the end */
		{ UT_BASE + 0x100, 0x10 },	/* inside */
		{ UT_BASE - 0x100, 0x2000 },	/* contains it */
		{ UT_BASE + 0xff0, 0x10 },	/* its last unit */
	};
	size_t i;

	assert_int_equal(gen_pool_add(pool, UT_BASE, 0x1000, NUMA_NO_NODE), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(gen_pool_add(pool, bad[i].addr, bad[i].size,
					      NUMA_NO_NODE), -EEXIST);
		assert_int_equal(cap.count, (int)i + 1);
		assert_non_null(strstr(cap.last_what, "overlaps"));
		assert_int_equal(cap.last.addr, bad[i].addr);
	}
	assert_int_equal(gen_pool_size(pool), 0x1000);
	assert_int_equal(gen_pool_avail(pool), 0x1000);
	ut_destroy(pool);
}

/*
 * The header: "@virt: first address of the chunk (must be a multiple of
 * the unit)".  A chunk that starts off the unit grid breaks absolute
 * alignment (first_fit_align computes its offset in whole units).
 */
static void test_add_unaligned_start(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(ORDER, &cap);

	assert_int_equal(gen_pool_add(pool, UT_BASE + 8, 0x100, NUMA_NO_NODE),
			 -EINVAL);
	assert_int_equal(gen_pool_size(pool), 0);
	ut_destroy(pool);
}

static void test_newest_first(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(ORDER, &cap);
	int i;

	assert_int_equal(gen_pool_add(pool, 0x10000, 0x40, NUMA_NO_NODE), 0);
	assert_int_equal(gen_pool_add(pool, 0x20000, 0x40, NUMA_NO_NODE), 0);
	/* The newest chunk (0x20000) is searched first, even though it is
	 * higher in the address space. */
	for (i = 0; i < 4; i++)
		assert_int_equal(gen_pool_alloc(pool, 16), 0x20000 + 16 * i);
	/* Full: the older one serves. */
	assert_int_equal(gen_pool_alloc(pool, 16), 0x10000);
	/* A chunk added now (below both) becomes the first searched. */
	assert_int_equal(gen_pool_add(pool, 0x8000, 0x40, NUMA_NO_NODE), 0);
	assert_int_equal(gen_pool_alloc(pool, 16), 0x8000);
	/* Freeing in the middle chunk makes it serve again before 0x10000. */
	assert_int_equal(gen_pool_alloc(pool, 48), 0x8010);
	gen_pool_free(pool, 0x20020, 16);
	assert_int_equal(gen_pool_alloc(pool, 16), 0x20020);
	assert_int_equal(gen_pool_alloc(pool, 16), 0x10010);
	/* A request that only the oldest chunk can hold skips the rest. */
	assert_int_equal(gen_pool_alloc(pool, 32), 0x10020);
	assert_int_equal(cap.count, 0);
	ut_destroy(pool);
}

static void test_avail_whole_units(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(6, &cap); /* 64-byte units */
	unsigned long a, b, c;

	assert_int_equal(gen_pool_add(pool, UT_BASE, 0x1000, NUMA_NO_NODE), 0);
	a = gen_pool_alloc(pool, 1);
	assert_int_equal(a, UT_BASE);
	assert_int_equal(gen_pool_avail(pool), 0x1000 - 64);
	b = gen_pool_alloc(pool, 65);
	assert_int_equal(b, UT_BASE + 64);
	assert_int_equal(gen_pool_avail(pool), 0x1000 - 64 - 128);
	c = gen_pool_alloc(pool, 128);
	assert_int_equal(c, UT_BASE + 192);
	assert_int_equal(gen_pool_avail(pool), 0x1000 - 320);
	/* size never changes with allocations. */
	assert_int_equal(gen_pool_size(pool), 0x1000);
	gen_pool_free(pool, b, 65);
	assert_int_equal(gen_pool_avail(pool), 0x1000 - 192);
	gen_pool_free(pool, a, 1);
	gen_pool_free(pool, c, 128);
	assert_int_equal(gen_pool_avail(pool), 0x1000);
	assert_int_equal(cap.count, 0);
	ut_destroy(pool);
}

struct seen_chunk {
	unsigned long start, end;
	phys_addr_t phys;
	void *owner;
	int nid;
	size_t avail;
	struct gen_pool *pool;
};

struct seen {
	int n;
	struct seen_chunk c[8];
};

static void collect_chunk(struct gen_pool *pool, struct gen_pool_chunk *chunk,
			  void *data)
{
	struct seen *s = data;
	struct seen_chunk *c = &s->c[s->n++];

	c->start = chunk->start_addr;
	c->end = chunk->end_addr;
	c->phys = chunk->phys_addr;
	c->owner = chunk->owner;
	c->nid = chunk->nid;
	c->avail = gp_chunk_avail(chunk);
	c->pool = pool;
}

static void test_for_each_chunk(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(ORDER, &cap);
	struct seen s = { 0 };
	int o1, o2;

	assert_int_equal(gen_pool_add(pool, 0x10000, 0x100, NUMA_NO_NODE), 0);
	assert_int_equal(gen_pool_add_virt(pool, 0x20000, 0x7000000000UL,
					   0x400, 0), 0);
	assert_int_equal(gen_pool_add_owner(pool, 0x30000, 0x1000, 0x40,
					    NUMA_NO_NODE, &o1), 0);
	assert_int_equal(gen_pool_add_owner(pool, 0x40000, GP_NO_PHYS, 0x20, 0,
					    &o2), 0);
	assert_int_equal(gen_pool_alloc(pool, 20), 0x40000);
	assert_int_equal(gen_pool_alloc(pool, 33), 0x30000);

	gen_pool_for_each_chunk(pool, collect_chunk, &s);
	assert_int_equal(s.n, 4);
	/* Newest first. */
	assert_int_equal(s.c[0].start, 0x40000);
	assert_int_equal(s.c[0].end, 0x4001f);
	assert_int_equal(s.c[0].phys, GP_NO_PHYS);
	assert_ptr_equal(s.c[0].owner, &o2);
	assert_int_equal(s.c[0].nid, 0);
	assert_int_equal(s.c[0].avail, 0);
	assert_ptr_equal(s.c[0].pool, pool);

	assert_int_equal(s.c[1].start, 0x30000);
	assert_int_equal(s.c[1].end, 0x3003f);
	assert_int_equal(s.c[1].phys, 0x1000);
	assert_ptr_equal(s.c[1].owner, &o1);
	assert_int_equal(s.c[1].nid, NUMA_NO_NODE);
	assert_int_equal(s.c[1].avail, 0x40 - 48);

	assert_int_equal(s.c[2].start, 0x20000);
	assert_int_equal(s.c[2].end, 0x203ff);
	assert_int_equal(s.c[2].phys, 0x7000000000UL);
	assert_null(s.c[2].owner);
	assert_int_equal(s.c[2].nid, 0);
	assert_int_equal(s.c[2].avail, 0x400);

	assert_int_equal(s.c[3].start, 0x10000);
	assert_int_equal(s.c[3].end, 0x100ff);
	assert_int_equal(s.c[3].phys, GP_NO_PHYS);
	assert_null(s.c[3].owner);
	assert_int_equal(s.c[3].nid, NUMA_NO_NODE);
	assert_int_equal(s.c[3].avail, 0x100);

	/* NULL pool or callback: nothing happens. */
	s.n = 0;
	gen_pool_for_each_chunk(NULL, collect_chunk, &s);
	gen_pool_for_each_chunk(pool, NULL, &s);
	assert_int_equal(s.n, 0);
	assert_int_equal(gp_chunk_avail(NULL), 0);

	gen_pool_free(pool, 0x40000, 20);
	gen_pool_free(pool, 0x30000, 33);
	assert_int_equal(cap.count, 0);
	ut_destroy(pool);
}

/* The callback may allocate and free (header: "@func may allocate"). */
static void alloc_in_callback(struct gen_pool *pool,
			      struct gen_pool_chunk *chunk, void *data)
{
	unsigned long *got = data;
	unsigned long a = gen_pool_alloc(pool, 16);

	got[0]++;
	got[got[0]] = a;
}

static void test_for_each_chunk_allocating(void **state)
{
	struct captured_misuse cap;
	struct gen_pool *pool = ut_pool(ORDER, &cap);
	unsigned long got[4] = { 0 };

	assert_int_equal(gen_pool_add(pool, 0x10000, 0x10, NUMA_NO_NODE), 0);
	assert_int_equal(gen_pool_add(pool, 0x20000, 0x10, NUMA_NO_NODE), 0);
	gen_pool_for_each_chunk(pool, alloc_in_callback, got);
	assert_int_equal(got[0], 2);
	assert_int_equal(got[1], 0x20000);
	assert_int_equal(got[2], 0x10000);
	assert_int_equal(gen_pool_avail(pool), 0);
	gen_pool_free(pool, 0x20000, 16);
	gen_pool_free(pool, 0x10000, 16);
	assert_int_equal(cap.count, 0);
	ut_destroy(pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_basic),
		cmocka_unit_test(test_add_rejections),
		cmocka_unit_test(test_add_overlap),
		cmocka_unit_test(test_add_unaligned_start),
		cmocka_unit_test(test_newest_first),
		cmocka_unit_test(test_avail_whole_units),
		cmocka_unit_test(test_for_each_chunk),
		cmocka_unit_test(test_for_each_chunk_allocating),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
