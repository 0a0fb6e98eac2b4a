/* SPDX-License-Identifier: MIT */
/*
 * core/device.h - the device registry shared by device.c and of.c.
 */
#ifndef GENPOOL_CORE_DEVICE_H
#define GENPOOL_CORE_DEVICE_H

#include "genpool/genalloc.h"

#include <stdbool.h>

/* Is @offset a node of the blob @fdt, and does every libfdt walk through
 * the blob end (core/of.c)? */
bool gpi_fdt_node_valid(const void *fdt, int offset);

/* The device bound to node @offset of @fdt, or NULL. */
struct gp_device *gpi_device_of_node(const void *fdt, int offset);

#endif /* GENPOOL_CORE_DEVICE_H */
