// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_of.c - of_gen_pool_get() and gp_device_set_of_node() on
 * device trees compiled by dtc at build time (of_sram.dts, of_other.dts).
 *
 * usage: unit_of SRAM.dtb OTHER.dtb
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

#include "unit.h"

static void *sram_fdt, *other_fdt;

/* Read a whole file; NULL on error. */
static void *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	void *buf = NULL;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)len);
		if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

static int node(const void *fdt, const char *path)
{
	int off = fdt_path_offset(fdt, path);

	assert_true(off >= 0);
	return off;
}

static struct gp_of_node consumer(const void *fdt)
{
	struct gp_of_node np = { .fdt = fdt, .offset = node(fdt, "/consumer") };

	return np;
}

static void test_bound_device_unnamed_pool(void **state)
{
	struct gp_device *d0 = gp_device_create("sram0");
	struct gp_device *d1 = gp_device_create("sram1");
	struct gp_of_node np = consumer(sram_fdt);
	struct gen_pool *p0, *p1, *named;

	assert_non_null(d0);
	assert_non_null(d1);
	/* Nothing bound yet. */
	assert_null(of_gen_pool_get(&np, "sram", 0));

	assert_int_equal(gp_device_set_of_node(d0, sram_fdt,
					       node(sram_fdt, "/sram@10000000")),
			 0);
	assert_int_equal(gp_device_set_of_node(d1, sram_fdt,
					       node(sram_fdt, "/sram@20000000")),
			 0);
	/* Bound, but without an unnamed pool: NULL. */
	named = devm_gen_pool_create(d0, 4, NUMA_NO_NODE, "other");
	assert_non_null(named);
	assert_null(of_gen_pool_get(&np, "sram", 0));

	p0 = devm_gen_pool_create(d0, 4, NUMA_NO_NODE, NULL);
	p1 = devm_gen_pool_create(d1, 5, NUMA_NO_NODE, NULL);
	assert_non_null(p0);
	assert_non_null(p1);
	assert_ptr_equal(of_gen_pool_get(&np, "sram", 0), p0);
	assert_ptr_equal(of_gen_pool_get(&np, "sram", 1), p1);
	/* Bad index / missing or bad property. */
	assert_null(of_gen_pool_get(&np, "sram", 2));
	assert_null(of_gen_pool_get(&np, "sram", -1));
	assert_null(of_gen_pool_get(&np, "sram", INT_MAX));
	assert_null(of_gen_pool_get(&np, "no-such-prop", 0));
	assert_null(of_gen_pool_get(&np, "empty", 0));
	assert_null(of_gen_pool_get(&np, "bad-phandle", 0));
	assert_null(of_gen_pool_get(&np, NULL, 0));
	assert_null(of_gen_pool_get(NULL, "sram", 0));

	/* The same path in another blob is another node. */
	{
		struct gp_of_node onp = consumer(other_fdt);

		assert_null(of_gen_pool_get(&onp, "sram", 0));
	}

	/* A destroyed device is unbound. */
	gp_device_destroy(d1);
	assert_null(of_gen_pool_get(&np, "sram", 1));
	assert_ptr_equal(of_gen_pool_get(&np, "sram", 0), p0);
	gp_device_destroy(d0);
	assert_null(of_gen_pool_get(&np, "sram", 0));
}

static void test_partitions(void **state)
{
	struct gp_device *d0 = gp_device_create("sram0");
	struct gp_of_node np = consumer(sram_fdt);
	struct gen_pool *whole, *audio, *video, *wrong;

	assert_non_null(d0);
	assert_int_equal(gp_device_set_of_node(d0, sram_fdt,
					       node(sram_fdt, "/sram@10000000")),
			 0);
	whole = devm_gen_pool_create(d0, 4, NUMA_NO_NODE, NULL);
	assert_non_null(whole);
	/* A partition without its named pool yet: NULL. */
	assert_null(of_gen_pool_get(&np, "audio-sram", 0));
	/* The label is the name, not the node name. */
	wrong = devm_gen_pool_create(d0, 4, NUMA_NO_NODE, "partition@0");
	assert_non_null(wrong);
	assert_null(of_gen_pool_get(&np, "audio-sram", 0));
	audio = devm_gen_pool_create(d0, 4, NUMA_NO_NODE, "audio-sram");
	assert_non_null(audio);
	assert_ptr_equal(of_gen_pool_get(&np, "audio-sram", 0), audio);
	/* No label: the node's full name (with unit address). */
	assert_null(of_gen_pool_get(&np, "video-sram", 0));
	video = devm_gen_pool_create(d0, 4, NUMA_NO_NODE, "partition@1000");
	assert_non_null(video);
	assert_ptr_equal(of_gen_pool_get(&np, "video-sram", 0), video);
	assert_null(of_gen_pool_get(&np, "video-sram", 1));
	/* The parent's own pool is still what "sram" gives. */
	assert_ptr_equal(of_gen_pool_get(&np, "sram", 0), whole);
	/* A node whose parent has no device. */
	assert_null(of_gen_pool_get(&np, "orphan-sram", 0));
	gp_device_destroy(d0);
	assert_null(of_gen_pool_get(&np, "audio-sram", 0));
}

/* A device bound to the partition itself wins over the parent's pools. */
static void test_partition_with_own_device(void **state)
{
	struct gp_device *parent = gp_device_create("sram0");
	struct gp_device *part = gp_device_create("audio");
	struct gp_of_node np = consumer(sram_fdt);
	struct gen_pool *by_label, *own;

	assert_non_null(parent);
	assert_non_null(part);
	assert_int_equal(gp_device_set_of_node(parent, sram_fdt,
					       node(sram_fdt, "/sram@10000000")),
			 0);
	by_label = devm_gen_pool_create(parent, 4, NUMA_NO_NODE, "audio-sram");
	assert_non_null(by_label);
	assert_ptr_equal(of_gen_pool_get(&np, "audio-sram", 0), by_label);
	assert_int_equal(gp_device_set_of_node(part, sram_fdt,
				node(sram_fdt, "/sram@10000000/partition@0")),
			 0);
	own = devm_gen_pool_create(part, 4, NUMA_NO_NODE, NULL);
	assert_non_null(own);
	assert_ptr_equal(of_gen_pool_get(&np, "audio-sram", 0), own);
	gp_device_destroy(part);
	assert_ptr_equal(of_gen_pool_get(&np, "audio-sram", 0), by_label);
	gp_device_destroy(parent);
}

static void test_set_of_node_errors(void **state)
{
	struct gp_device *a = gp_device_create("a");
	struct gp_device *b = gp_device_create("b");
	int sram0 = node(sram_fdt, "/sram@10000000");
	int prop = fdt_first_property_offset(sram_fdt, sram0);
	unsigned char junk[64];

	assert_non_null(a);
	assert_non_null(b);
	assert_true(prop > 0);
	memset(junk, 0x5a, sizeof(junk));

	/* Bad node offsets. */
	assert_int_equal(gp_device_set_of_node(a, sram_fdt, -1), -EINVAL);
	assert_int_equal(gp_device_set_of_node(a, sram_fdt, prop), -EINVAL);
	assert_int_equal(gp_device_set_of_node(a, sram_fdt, sram0 + 2), -EINVAL);
	assert_int_equal(gp_device_set_of_node(a, sram_fdt, 1 << 24), -EINVAL);
	/* Not a device tree. */
	assert_int_equal(gp_device_set_of_node(a, junk, 0), -EINVAL);
	assert_int_equal(gp_device_set_of_node(a, NULL, 0), -EINVAL);
	assert_int_equal(gp_device_set_of_node(NULL, sram_fdt, sram0), -EINVAL);

	assert_int_equal(gp_device_set_of_node(a, sram_fdt, sram0), 0);
	/* Another device on the same node. */
	assert_int_equal(gp_device_set_of_node(b, sram_fdt, sram0), -EEXIST);
	/* The same node offset in another blob is a different node. */
	assert_int_equal(gp_device_set_of_node(b, other_fdt,
					       node(other_fdt, "/sram@10000000")),
			 0);
	/* Once a is gone, the node is free again. */
	gp_device_destroy(a);
	a = gp_device_create("a2");
	assert_non_null(a);
	assert_int_equal(gp_device_set_of_node(a, sram_fdt, sram0), 0);
	gp_device_destroy(a);
	gp_device_destroy(b);
}

/* The root node (offset 0) is a valid node to bind. */
static void test_root_node(void **state)
{
	struct gp_device *r = gp_device_create("root");

	assert_non_null(r);
	assert_int_equal(gp_device_set_of_node(r, other_fdt, 0), 0);
	gp_device_destroy(r);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bound_device_unnamed_pool),
		cmocka_unit_test(test_partitions),
		cmocka_unit_test(test_partition_with_own_device),
		cmocka_unit_test(test_set_of_node_errors),
		cmocka_unit_test(test_root_node),
	};
	int ret;

	if (argc != 3) {
		fprintf(stderr, "usage: %s SRAM.dtb OTHER.dtb\n", argv[0]);
		return 1;
	}
	sram_fdt = slurp(argv[1]);
	other_fdt = slurp(argv[2]);
	if (!sram_fdt || !other_fdt || fdt_check_header(sram_fdt) ||
	    fdt_check_header(other_fdt)) {
		fprintf(stderr, "%s: cannot read the device trees\n", argv[0]);
		return 1;
	}
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	free(sram_fdt);
	free(other_fdt);
	return ret;
}
