// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_of.c - of_gen_pool_get() and gp_device_set_of_node() on
 * device trees compiled by dtc at build time (of_sram.dts, of_other.dts),
 * and on the crafted, corrupt blobs of tests/fuzz/corpus-of/ (written by
 * tests/fuzz/make-of-corpus.py, which says what each one does).
 *
 * usage: unit_of SRAM.dtb OTHER.dtb CORPUS-OF-DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libfdt.h>

#include "unit.h"

static void *sram_fdt, *other_fdt;
static const char *corpus_dir;

/* Read a whole file (its size in *@size if not NULL); NULL on error. */
static void *slurp(const char *path, size_t *size)
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
		if (size)
			*size = (size_t)len;
	}
	fclose(f);
	return buf;
}

/* Blob @name of the crafted corpus, malloc'ed; its size in *@size. */
static void *crafted(const char *name, size_t *size)
{
	char path[4096];
	void *blob;

	snprintf(path, sizeof(path), "%s/%s", corpus_dir, name);
	blob = slurp(path, size);
	assert_non_null(blob);
	return blob;
}

/* A blob placed so that it ends where an inaccessible page begins: any
 * read past its end faults, in every build. */
struct guarded {
	void *map;
	size_t map_len;
	void *fdt;
	size_t len;
};

static struct guarded guarded_blob(const char *name)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), len;
	void *blob = crafted(name, &len);
	struct guarded g;
	char *p;

	/* libfdt wants the blob 8-aligned; the page end is. */
	assert_int_equal(len % 8, 0);
	g.len = len;
	g.map_len = (len + page - 1) / page * page + page;
	p = mmap(NULL, g.map_len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	assert_int_equal(mprotect(p + g.map_len - page, page, PROT_NONE), 0);
	g.map = p;
	g.fdt = p + g.map_len - page - len;
	memcpy(g.fdt, blob, len);
	free(blob);
	assert_int_equal(fdt_check_header(g.fdt), 0);
	return g;
}

static void guarded_free(struct guarded *g)
{
	munmap(g->map, g->map_len);
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

/* A device bound to /sram@10000000 of @fdt. */
static struct gp_device *bound_sram_device(const void *fdt)
{
	struct gp_device *dev = gp_device_create("sram0");

	assert_non_null(dev);
	assert_int_equal(gp_device_set_of_node(dev, fdt,
					       node(fdt, "/sram@10000000")), 0);
	return dev;
}

/*
 * A property of length 0xffffffff: libfdt returns it with len = -1.  No
 * index may read a phandle outside the blob, not even the first word
 * past its end.
 */
static void test_prop_len_minus1(void **state)
{
	struct guarded g = guarded_blob("prop-len-minus1.dtb");
	struct gp_device *dev = bound_sram_device(g.fdt);
	struct gp_of_node np = { .fdt = g.fdt,
				 .offset = node(g.fdt, "/consumer") };
	const int indices[] = { 0, 1, 2, INT_MAX, 1 << 20 };
	const char *cells;
	int len, past_end;

	assert_non_null(devm_gen_pool_create(dev, 4, NUMA_NO_NODE, NULL));
	cells = fdt_getprop(g.fdt, np.offset, "sram", &len);
	assert_non_null(cells);
	assert_int_equal(len, -1);
	past_end = (int)(((const char *)g.fdt + g.len - cells) / 4);
	assert_null(of_gen_pool_get(&np, "sram", past_end));
	assert_null(of_gen_pool_get(&np, "sram", past_end - 1));
	for (unsigned i = 0; i < sizeof(indices) / sizeof(indices[0]); i++)
		assert_null(of_gen_pool_get(&np, "sram", indices[i]));
	gp_device_destroy(dev);
	guarded_free(&g);
}

/*
 * A property of length -12: libfdt's step from it leads back to it, so a
 * walk over it never ends.  The whole blob is refused, at once (an alarm
 * ends the test if a call loops).
 */
static void test_prop_len_loop(void **state)
{
	size_t len;
	void *fdt = crafted("prop-len-loop.dtb", &len);
	struct gp_device *dev = gp_device_create("sram0");
	struct gp_of_node np;

	assert_non_null(dev);
	alarm(10);
	np.fdt = fdt;
	np.offset = node(fdt, "/consumer");
	assert_null(of_gen_pool_get(&np, "sram", 0));
	assert_null(of_gen_pool_get(&np, "other", 0));
	assert_int_equal(gp_device_set_of_node(dev, fdt,
					       node(fdt, "/sram@10000000")),
			 -EINVAL);
	assert_int_equal(gp_device_set_of_node(dev, fdt, 0), -EINVAL);
	alarm(0);
	gp_device_destroy(dev);
	free(fdt);
}

/* A structure block off a 4-byte boundary: phandles are read byte-wise
 * (UBSan reports a misaligned 4-byte load otherwise) and still found. */
static void test_struct_misaligned(void **state)
{
	size_t len;
	void *fdt = crafted("struct-misaligned.dtb", &len);
	struct gp_device *dev;
	struct gp_of_node np;
	struct gen_pool *pool;

	assert_int_equal(fdt_check_header(fdt), 0);
	assert_int_equal(fdt_off_dt_struct(fdt) % 4, 2);
	dev = bound_sram_device(fdt);
	np.fdt = fdt;
	np.offset = node(fdt, "/consumer");
	pool = devm_gen_pool_create(dev, 4, NUMA_NO_NODE, NULL);
	assert_non_null(pool);
	assert_ptr_equal(of_gen_pool_get(&np, "sram", 0), pool);
	assert_null(of_gen_pool_get(&np, "sram", 1));
	gp_device_destroy(dev);
	free(fdt);
}

/*
 * A partition's label without its NUL, at the very end of the blob: not a
 * string, so (as the kernel's of_property_read_string() refuses it) the
 * node's name names the pool, and nothing past the blob is read.
 */
static void test_label_unterminated(void **state)
{
	struct guarded g = guarded_blob("label-unterminated.dtb");
	struct gp_device *dev = bound_sram_device(g.fdt);
	struct gp_of_node np = { .fdt = g.fdt,
				 .offset = node(g.fdt, "/consumer") };
	struct gen_pool *by_name;

	/* What a compare that ran on past the label would have matched. */
	assert_non_null(devm_gen_pool_create(dev, 4, NUMA_NO_NODE,
					     "audio-sram-0"));
	by_name = devm_gen_pool_create(dev, 4, NUMA_NO_NODE, "partition@0");
	assert_non_null(by_name);
	assert_ptr_equal(of_gen_pool_get(&np, "audio-sram", 0), by_name);
	gp_device_destroy(dev);
	guarded_free(&g);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bound_device_unnamed_pool),
		cmocka_unit_test(test_partitions),
		cmocka_unit_test(test_partition_with_own_device),
		cmocka_unit_test(test_set_of_node_errors),
		cmocka_unit_test(test_root_node),
		cmocka_unit_test(test_prop_len_minus1),
		cmocka_unit_test(test_prop_len_loop),
		cmocka_unit_test(test_struct_misaligned),
		cmocka_unit_test(test_label_unterminated),
	};
	int ret;

	if (argc != 4) {
		fprintf(stderr, "usage: %s SRAM.dtb OTHER.dtb CORPUS-OF-DIR\n",
			argv[0]);
		return 1;
	}
	sram_fdt = slurp(argv[1], NULL);
	other_fdt = slurp(argv[2], NULL);
	corpus_dir = argv[3];
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
