// SPDX-License-Identifier: MIT
/*
 * core/of.c - of_gen_pool_get() over a flattened device tree (libfdt).
 *
 * Embedded Linux describes on-chip SRAM in the device tree; a user-space
 * driver maps it (UIO) and puts it in a pool on a device bound to the SRAM
 * node.  Consumers name the SRAM by phandle, as in the kernel.
 */
#include <stdint.h>

#include <libfdt.h>

#include "device.h"
#include "pool_internal.h"

/* Offset of the node the @index-th phandle of @propname points to, or < 0. */
static int phandle_target(const void *fdt, int node, const char *propname,
			  int index)
{
	const fdt32_t *cells;
	int len;

	if (index < 0)
		return -FDT_ERR_BADVALUE;
	cells = fdt_getprop(fdt, node, propname, &len);
	if (!cells)
		return len;
	if ((size_t)len < ((size_t)index + 1) * sizeof(*cells))
		return -FDT_ERR_NOTFOUND;
	return fdt_node_offset_by_phandle(fdt, fdt32_to_cpu(cells[index]));
}

GP_EXPORT struct gen_pool *of_gen_pool_get(const struct gp_of_node *np,
					   const char *propname, int index)
{
	struct gp_device *dev;
	const char *name = NULL;
	int target, parent;

	if (!np || !np->fdt || !propname || fdt_check_header(np->fdt) != 0)
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
		name = fdt_getprop(np->fdt, target, "label", NULL);
		if (!name)
			name = fdt_get_name(np->fdt, target, NULL);
	}
	return dev ? gen_pool_get(dev, name) : NULL;
}
