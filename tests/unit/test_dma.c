// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_dma.c - gen_pool_dma_alloc/_algo/_align, the zeroing
 * variants, and gen_pool_virt_to_phys(), on real mmap'd memory.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "unit.h"

#define REGION 0x10000UL
#define PHYS 0x80000000UL
#define ORDER 5		/* 32-byte units */

struct dma_fixture {
	unsigned char *mem;
	struct gen_pool *pool;
	struct captured_misuse cap;
};

static int setup(void **state)
{
	struct dma_fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->mem = map_region(REGION);
	if (!f->mem)
		return -1;
	memset(f->mem, 0xAA, REGION);
	f->pool = ut_pool(ORDER, &f->cap);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct dma_fixture *f = *state;

	ut_free_all(f->pool);
	assert_int_equal(gp_destroy_checked(f->pool), 0);
	munmap(f->mem, REGION);
	free(f);
	return 0;
}

/* Are @n bytes at @p all equal to @v? */
static int all_bytes(const unsigned char *p, size_t n, unsigned char v)
{
	while (n--)
		if (*p++ != v)
			return 0;
	return 1;
}

static void test_dma_alloc_phys(void **state)
{
	struct dma_fixture *f = *state;
	unsigned long base = (unsigned long)f->mem;
	dma_addr_t dma = 0;
	unsigned char *p, *q;

	assert_int_equal(gen_pool_add_virt(f->pool, base, PHYS, REGION,
					   NUMA_NO_NODE), 0);
	p = gen_pool_dma_alloc(f->pool, 100, &dma);
	assert_ptr_equal(p, f->mem);
	assert_int_equal(dma, PHYS);
	q = gen_pool_dma_alloc(f->pool, 100, &dma);
	assert_ptr_equal(q, f->mem + 128);
	assert_int_equal(dma, PHYS + 128);
	/* Plain alloc never writes managed memory. */
	assert_true(all_bytes(f->mem, REGION, 0xAA));
	/* phys = virt + (phys_base - virt_base), anywhere in the chunk. */
	assert_int_equal(gen_pool_virt_to_phys(f->pool, base + 7), PHYS + 7);
	assert_int_equal(gen_pool_virt_to_phys(f->pool, base + REGION - 1),
			 PHYS + REGION - 1);
	assert_int_equal(gen_pool_virt_to_phys(f->pool, base + REGION),
			 GP_NO_PHYS);
	assert_int_equal(gen_pool_virt_to_phys(f->pool, base - 1), GP_NO_PHYS);
	assert_int_equal(gen_pool_virt_to_phys(NULL, base), GP_NO_PHYS);
	/* The dma pointer is optional. */
	assert_ptr_equal(gen_pool_dma_alloc(f->pool, 32, NULL), f->mem + 256);
	gen_pool_free(f->pool, (unsigned long)p, 100);
	gen_pool_free(f->pool, (unsigned long)q, 100);
	gen_pool_free(f->pool, base + 256, 32);
	assert_int_equal(f->cap.count, 0);
}

static void test_dma_alloc_algo(void **state)
{
	struct dma_fixture *f = *state;
	unsigned long base = (unsigned long)f->mem;
	struct genpool_data_fixed fd = { .offset = 0x1000 };
	dma_addr_t dma = 0;
	void *p;

	assert_int_equal(gen_pool_add_virt(f->pool, base, PHYS, REGION, 0), 0);
	p = gen_pool_dma_alloc_algo(f->pool, 64, &dma, gen_pool_fixed_alloc,
				    &fd);
	assert_ptr_equal(p, f->mem + 0x1000);
	assert_int_equal(dma, PHYS + 0x1000);
	errno = 0;
	dma = 1;
	assert_null(gen_pool_dma_alloc_algo(f->pool, 64, &dma,
					    gen_pool_fixed_alloc, &fd));
	assert_int_equal(errno, ENOMEM);
	errno = 0;
	assert_null(gen_pool_dma_alloc_algo(f->pool, 64, &dma, NULL, NULL));
	assert_int_equal(errno, EINVAL);
	p = gen_pool_dma_alloc_algo(f->pool, 64, &dma, gen_pool_best_fit, NULL);
	assert_ptr_equal(p, f->mem);
	assert_int_equal(dma, PHYS);
	assert_true(all_bytes(f->mem, REGION, 0xAA));
	assert_int_equal(f->cap.count, 0);
}

static void test_dma_alloc_align(void **state)
{
	struct dma_fixture *f = *state;
	/* The chunk starts 0x20 into the page: alignment is absolute. */
	unsigned long start = (unsigned long)f->mem + 0x20;
	dma_addr_t dma = 0;
	unsigned char *p;

	assert_int_equal(gen_pool_add_virt(f->pool, start, PHYS + 0x20,
					   REGION - 0x20, NUMA_NO_NODE), 0);
	p = gen_pool_dma_alloc_align(f->pool, 32, &dma, 4096);
	assert_ptr_equal(p, f->mem + 0x1000);
	assert_int_equal((unsigned long)p % 4096, 0);
	assert_int_equal(dma, PHYS + 0x1000);
	p = gen_pool_dma_alloc_align(f->pool, 32, &dma, 64);
	assert_ptr_equal(p, f->mem + 0x40);
	assert_int_equal(dma, PHYS + 0x40);
	/* Alignment below the unit: the lowest free unit. */
	p = gen_pool_dma_alloc_align(f->pool, 32, &dma, 8);
	assert_ptr_equal(p, f->mem + 0x20);
	assert_int_equal(dma, PHYS + 0x20);
	assert_true(all_bytes(f->mem, REGION, 0xAA));
	assert_int_equal(f->cap.count, 0);
}

static void test_dma_align_rejects_non_pow2(void **state)
{
	struct dma_fixture *f = *state;
	static const int bad[] = { 0, -1, -64, 3, 48, 96, 4095, INT_MIN };
	dma_addr_t dma = 0;
	size_t i;

	assert_int_equal(gen_pool_add_virt(f->pool, (unsigned long)f->mem, PHYS,
					   REGION, NUMA_NO_NODE), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		assert_null(gen_pool_dma_alloc_align(f->pool, 32, &dma,
						     bad[i]));
		assert_int_equal(errno, EINVAL);
		errno = 0;
		assert_null(gen_pool_dma_zalloc_align(f->pool, 32, &dma,
						      bad[i]));
		assert_int_equal(errno, EINVAL);
	}
	assert_int_equal(gen_pool_avail(f->pool), REGION);
	assert_true(all_bytes(f->mem, REGION, 0xAA));
}

static void test_dma_zalloc(void **state)
{
	struct dma_fixture *f = *state;
	unsigned long base = (unsigned long)f->mem;
	struct genpool_data_fixed fd = { .offset = 0x2000 };
	dma_addr_t dma = 0;
	unsigned char *p;

	assert_int_equal(gen_pool_add_virt(f->pool, base, PHYS, REGION,
					   NUMA_NO_NODE), 0);
	p = gen_pool_dma_zalloc(f->pool, 100, &dma);
	assert_ptr_equal(p, f->mem);
	assert_int_equal(dma, PHYS);
	assert_true(all_bytes(p, 100, 0));
	/* Only what was asked for is written. */
	assert_true(all_bytes(p + 100, REGION - 100, 0xAA));

	p = gen_pool_dma_zalloc_algo(f->pool, 0x300, &dma,
				     gen_pool_fixed_alloc, &fd);
	assert_ptr_equal(p, f->mem + 0x2000);
	assert_int_equal(dma, PHYS + 0x2000);
	assert_true(all_bytes(p, 0x300, 0));
	assert_int_equal(f->mem[0x1fff], 0xAA);
	assert_int_equal(f->mem[0x2300], 0xAA);

	p = gen_pool_dma_zalloc_align(f->pool, 50, &dma, 0x1000);
	assert_ptr_equal(p, f->mem + 0x1000);
	assert_int_equal(dma, PHYS + 0x1000);
	assert_true(all_bytes(p, 50, 0));
	assert_int_equal(f->mem[0x1000 + 50], 0xAA);
	assert_int_equal(f->mem[0xfff], 0xAA);

	/* A failed zalloc writes nothing. */
	errno = 0;
	assert_null(gen_pool_dma_zalloc(f->pool, REGION, &dma));
	assert_int_equal(errno, ENOMEM);
	errno = 0;
	assert_null(gen_pool_dma_zalloc_algo(f->pool, 0x10, &dma,
					     gen_pool_fixed_alloc, &fd));
	assert_int_equal(errno, ENOMEM);
	assert_true(all_bytes(f->mem + 100, 0x1000 - 100, 0xAA));
	assert_true(all_bytes(f->mem + 0x2300, REGION - 0x2300, 0xAA));
	assert_int_equal(f->cap.count, 0);
}

static void test_dma_no_phys(void **state)
{
	struct dma_fixture *f = *state;
	unsigned long base = (unsigned long)f->mem;
	dma_addr_t dma = 0;
	unsigned char *p;

	assert_int_equal(gen_pool_add(f->pool, base, REGION / 2, NUMA_NO_NODE),
			 0);
	assert_int_equal(gen_pool_add_virt(f->pool, base + REGION / 2, PHYS,
					   REGION / 2, NUMA_NO_NODE), 0);
	/* Newest chunk has phys. */
	p = gen_pool_dma_alloc(f->pool, REGION / 2, &dma);
	assert_ptr_equal(p, f->mem + REGION / 2);
	assert_int_equal(dma, PHYS);
	/* The older one does not. */
	p = gen_pool_dma_alloc(f->pool, 64, &dma);
	assert_ptr_equal(p, f->mem);
	assert_int_equal(dma, GP_NO_PHYS);
	p = gen_pool_dma_zalloc_align(f->pool, 64, &dma, 256);
	assert_ptr_equal(p, f->mem + 256);
	assert_int_equal(dma, GP_NO_PHYS);
	assert_true(all_bytes(p, 64, 0));
	assert_int_equal(gen_pool_virt_to_phys(f->pool, base + 5), GP_NO_PHYS);
	assert_int_equal(gen_pool_virt_to_phys(f->pool, base + REGION / 2 + 5),
			 PHYS + 5);
}

static void test_dma_null_pool(void **state)
{
	dma_addr_t dma = 0;

	errno = 0;
	assert_null(gen_pool_dma_alloc(NULL, 32, &dma));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(gen_pool_dma_zalloc(NULL, 32, &dma));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(gen_pool_dma_alloc_align(NULL, 32, &dma, 64));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(gen_pool_dma_alloc_algo(NULL, 32, &dma, gen_pool_first_fit,
					    NULL));
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dma_alloc_phys, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_dma_alloc_algo, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_dma_alloc_align, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_dma_align_rejects_non_pow2,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_zalloc, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_dma_no_phys, setup,
						teardown),
		cmocka_unit_test(test_dma_null_pool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
