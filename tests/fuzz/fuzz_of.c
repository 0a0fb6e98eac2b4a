// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_of.c - a libFuzzer target for the device-tree half of
 * the API: the input is a flattened device tree blob, as hostile as the
 * mutator makes it, put through gp_device_set_of_node() and
 * of_gen_pool_get().
 *
 * The blob is copied into a buffer of exactly its size (8-aligned, as
 * libfdt wants) and its header's totalsize is cut to that size: the API
 * may read fdt_totalsize() bytes and nothing more, and ASan sees a read
 * past them.  Every node (up to MAX_NODES) gets a device with an unnamed
 * pool and pools named after the node's label and name; then every
 * property of every node is looked up at a spread of indices, and
 * offsets that are not nodes are tried as nodes and consumers.  A blob
 * that libfdt cannot walk to its end (core/of.c, gpi_fdt_node_valid())
 * must be refused whole; the harness walks only the others itself.
 * abort() if a lookup returns a pool that is not one of ours, or if
 * binding accepts an offset inside a node's header, or a refused blob.
 * Seeds: corpus-of/ (make-of-corpus.py).
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

#include "device.h"
#include "genpool/genalloc.h"

#define MAX_BLOB (64 << 10)
#define MAX_NODES 64
#define MAX_PROPS 32
#define POOLS_PER_NODE 3

struct subject {
	const void *fdt;
	struct gp_device *dev[MAX_NODES];
	struct gen_pool *pool[MAX_NODES * POOLS_PER_NODE];
	int ndevs, npools;
};

static void fail(const char *what, int offset)
{
	fprintf(stderr, "fuzz_of: %s (offset %d)\n", what, offset);
	abort();
}

/* Is @pool one of the pools the subject made (or NULL)? */
static bool ours(const struct subject *s, const struct gen_pool *pool)
{
	if (!pool)
		return true;
	for (int i = 0; i < s->npools; i++)
		if (s->pool[i] == pool)
			return true;
	return false;
}

static void add_pool(struct subject *s, struct gp_device *dev,
		     const char *name)
{
	struct gen_pool *pool = devm_gen_pool_create(dev, 4, NUMA_NO_NODE,
						     name);

	/* A second pool of one name (label == node name) is refused. */
	if (pool)
		s->pool[s->npools++] = pool;
}

/* A device on node @offset with its pools; the label only if it is a
 * string (the harness must not read past the blob either). */
static void bind_node(struct subject *s, int offset)
{
	struct gp_device *dev = gp_device_create("fuzz");
	const char *label;
	int len;

	if (!dev)
		fail("gp_device_create", offset);
	if (gp_device_set_of_node(dev, s->fdt, offset) != 0) {
		gp_device_destroy(dev);
		return;
	}
	s->dev[s->ndevs++] = dev;
	add_pool(s, dev, NULL);
	label = fdt_getprop(s->fdt, offset, "label", &len);
	if (label && len > 0 && memchr(label, '\0', (size_t)len))
		add_pool(s, dev, label);
	add_pool(s, dev, fdt_get_name(s->fdt, offset, NULL));
}

/* of_gen_pool_get() on every property of node @offset. */
static void look_up_props(const struct subject *s, int offset)
{
	static const int fixed[] = { 0, 1, 2, 3, -1, INT_MAX, 1 << 20 };
	struct gp_of_node np = { .fdt = s->fdt, .offset = offset };
	const char *name;
	int prop, len, nprops = 0;

	fdt_for_each_property_offset(prop, s->fdt, offset) {
		if (++nprops > MAX_PROPS)
			break;
		if (!fdt_getprop_by_offset(s->fdt, prop, &name, &len) || !name)
			continue;
		for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
			if (!ours(s, of_gen_pool_get(&np, name, fixed[i])))
				fail("a pool that is not ours", offset);
		/* The last cell and the one past it. */
		if (!ours(s, of_gen_pool_get(&np, name, len / 4 - 1)) ||
		    !ours(s, of_gen_pool_get(&np, name, len / 4)))
			fail("a pool that is not ours", offset);
		/* A property offset is not a node. */
		np.offset = prop;
		if (!ours(s, of_gen_pool_get(&np, name, 0)))
			fail("a pool that is not ours", prop);
		np.offset = offset;
	}
}

/* Inside node @offset's header (its tag and at least a NUL name: the
 * next tag is 8 bytes on or more) nothing is a node: binding refuses. */
static void bind_non_nodes(const struct subject *s, int offset)
{
	struct gp_device *dev = gp_device_create("stray");

	if (!dev)
		fail("gp_device_create", offset);
	for (int delta = 1; delta < 8; delta++)
		if (gp_device_set_of_node(dev, s->fdt, offset + delta) == 0)
			fail("bound to something that is not a node",
			     offset + delta);
	gp_device_destroy(dev);
}

/* A blob refused whole: no binding, no lookup. */
static void check_refused(const void *fdt)
{
	struct gp_device *dev = gp_device_create("refused");
	struct gp_of_node np = { .fdt = fdt, .offset = 0 };

	if (!dev)
		fail("gp_device_create", 0);
	if (gp_device_set_of_node(dev, fdt, 0) == 0)
		fail("bound to a blob that cannot be walked", 0);
	if (of_gen_pool_get(&np, "sram", 0))
		fail("a pool from a blob that cannot be walked", 0);
	gp_device_destroy(dev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct subject s = { 0 };
	int offsets[MAX_NODES], n = 0, offset, depth = 0;
	void *blob;

	if (size < sizeof(struct fdt_header) || size > MAX_BLOB)
		return 0;
	blob = malloc(size);
	if (!blob)
		return 0;
	memcpy(blob, data, size);
	if (fdt_totalsize(blob) > size)
		fdt_set_totalsize(blob, (uint32_t)size);
	s.fdt = blob;
	/* The root is offset 0; checking it walks the whole blob. */
	if (!gpi_fdt_node_valid(blob, 0)) {
		check_refused(blob);
		free(blob);
		return 0;
	}
	/* Below depth 0 libfdt hands back the offset after an extra
	 * END_NODE, which is not a node. */
	for (offset = fdt_next_node(blob, -1, &depth);
	     offset >= 0 && depth >= 0 && n < MAX_NODES;
	     offset = fdt_next_node(blob, offset, &depth))
		offsets[n++] = offset;
	for (int i = 0; i < n; i++)
		bind_node(&s, offsets[i]);
	for (int i = 0; i < n; i++) {
		look_up_props(&s, offsets[i]);
		bind_non_nodes(&s, offsets[i]);
	}
	for (int i = 0; i < s.ndevs; i++)
		gp_device_destroy(s.dev[i]);
	free(blob);
	return 0;
}
