/* SPDX-License-Identifier: MIT */
/*
 * core/device.h - the device registry shared by device.c and of.c.
 */
#ifndef GENPOOL_CORE_DEVICE_H
#define GENPOOL_CORE_DEVICE_H

#include "genpool/genalloc.h"

/* The device bound to node @offset of @fdt, or NULL. */
struct gp_device *gpi_device_of_node(const void *fdt, int offset);

#endif /* GENPOOL_CORE_DEVICE_H */
