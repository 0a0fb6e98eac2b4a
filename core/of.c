// SPDX-License-Identifier: MIT
/*
 * core/of.c - of_gen_pool_get() over a flattened device tree (libfdt).
 *
 * Embedded Linux describes on-chip SRAM in the device tree; a user-space
 * driver maps it (UIO) and puts it in a pool on a device bound to the SRAM
 * node.  Consumers name the SRAM by phandle, as in the kernel.
 */
#include <stdint.h>
#include <string.h>

#include <libfdt.h>

#include "device.h"
#include "pool_internal.h"

/*
 * libfdt steps from tag to tag by the lengths the blob states, and trusts
 * them: a property whose length is -12 steps back onto itself, and every
 * walk across it (a property lookup, a phandle search, finding a parent)
 * loops for ever.  So before anything else the tags are walked once from
 * the start, and each step must move forward until the end (a real
 * FDT_END or libfdt's premature one); @offset must be a node tag on that
 * walk.  Every later walk starts on it and follows it, so it ends.
 */
bool gpi_fdt_node_valid(const void *fdt, int offset)
{
	int at = 0, next;
	bool found = false;
	uint32_t tag;

	if (!fdt || offset < 0 || fdt_check_header(fdt) != 0)
		return false;
	for (;;) {
		tag = fdt_next_tag(fdt, at, &next);
		if (tag == FDT_END)
			return found;
		if (tag == FDT_BEGIN_NODE && at == offset)
			found = true;
		if (next <= at)
			return false;
		at = next;
	}
}

/*
 * Value of property @propname of @node, if it lies wholly inside the blob;
 * its length in *@lenp.  A corrupt blob can make libfdt return a property
 * whose length is negative (a length field of 0xffffffff) or, with a
 * wrapped offset, one that runs past the end: neither is read.
 */
static const void *prop_in_blob(const void *fdt, int node,
				const char *propname, int *lenp)
{
	const char *value = fdt_getprop(fdt, node, propname, lenp);
	size_t at, total = fdt_totalsize(fdt);

	if (!value || *lenp < 0)
		return NULL;
	at = (size_t)(value - (const char *)fdt);
	if (at > total || (size_t)*lenp > total - at)
		return NULL;
	return value;
}

/* Offset of the node the @index-th phandle of @propname points to, or < 0. */
static int phandle_target(const void *fdt, int node, const char *propname,
			  int index)
{
	const char *cells;
	int len;

	if (index < 0)
		return -FDT_ERR_BADVALUE;
	cells = prop_in_blob(fdt, node, propname, &len);
	if (!cells)
		return -FDT_ERR_BADVALUE;
	if ((size_t)index >= (size_t)len / sizeof(fdt32_t))
		return -FDT_ERR_NOTFOUND;
	/* Byte-wise: the blob's structure block need not be 4-aligned. */
	return fdt_node_offset_by_phandle(fdt, fdt32_ld((const fdt32_t *)
					  (cells + index * sizeof(fdt32_t))));
}

/* The pool name a partition node @node stands for: its "label" if that is
 * a NUL-terminated string inside the blob, else its name (the kernel's
 * of_property_read_string() refuses an unterminated label too). */
static const char *partition_name(const void *fdt, int node)
{
	const char *label;
	int len;

	label = prop_in_blob(fdt, node, "label", &len);
	if (label && len > 0 && memchr(label, '\0', (size_t)len))
		return label;
	return fdt_get_name(fdt, node, NULL);
}

GP_EXPORT struct gen_pool *of_gen_pool_get(const struct gp_of_node *np,
					   const char *propname, int index)
{
	struct gp_device *dev;
	const char *name = NULL;
	int target, parent;

	if (!np || !propname || !gpi_fdt_node_valid(np->fdt, np->offset))
		return NULL;
	target = phandle_target(np->fdt, np->offset, propname, index);
	if (target < 0)
		return NULL;
	dev = gpi_device_of_node(np->fdt, target);
	if (!dev) {
		/* A partition of a device's memory: the parent device made
		 * the pool and named it after the node's label or name. */
		parent = fdt_parent_offset(np->fdt, target);
		if (parent < 0)
			return NULL;
		dev = gpi_device_of_node(np->fdt, parent);
		name = partition_name(np->fdt, target);
		if (!name)
			return NULL;
	}
	return dev ? gen_pool_get(dev, name) : NULL;
}
