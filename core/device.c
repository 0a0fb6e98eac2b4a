// SPDX-License-Identifier: MIT
/*
 * core/device.c - a small user-space device object with managed resources
 * (the devm_* half of the API).
 *
 * A device keeps a stack of resources; destroying the device pops and
 * releases them newest first, exactly like devres in the kernel.  Devices
 * bound to a device-tree node are also kept in a global list so that
 * of_gen_pool_get() can find them.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <libfdt.h>

#include "device.h"
#include "pool_internal.h"

struct gp_devres {
	struct gp_devres *older;
	void (*release)(void *data);
	void *data;
	struct gen_pool *pool;		/* set for devm_gen_pool_create() */
};

struct gp_device {
	char *name;
	pthread_mutex_t lock;		/* protects @newest */
	struct gp_devres *newest;
	const void *fdt;		/* device-tree binding, or NULL */
	int of_offset;
	struct gp_device *next_bound;	/* in the bound list */
};

static pthread_mutex_t bound_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gp_device *bound_devices;

GP_EXPORT struct gp_device *gp_device_create(const char *name)
{
	struct gp_device *dev = gpi_meta_zalloc(sizeof(*dev), NUMA_NO_NODE);

	if (!dev) {
		errno = ENOMEM;
		return NULL;
	}
	if (name) {
		dev->name = gpi_meta_strdup(name, NUMA_NO_NODE);
		if (!dev->name) {
			gpi_meta_free(dev, sizeof(*dev));
			errno = ENOMEM;
			return NULL;
		}
	}
	pthread_mutex_init(&dev->lock, NULL);
	return dev;
}

GP_EXPORT const char *gp_device_name(const struct gp_device *dev)
{
	return dev ? dev->name : NULL;
}

/* Push a resource; returns 0 or -ENOMEM. */
static int devres_push(struct gp_device *dev, void (*release)(void *),
		       void *data, struct gen_pool *pool)
{
	struct gp_devres *res = gpi_meta_zalloc(sizeof(*res), NUMA_NO_NODE);

	if (!res)
		return -ENOMEM;
	res->release = release;
	res->data = data;
	res->pool = pool;
	pthread_mutex_lock(&dev->lock);
	res->older = dev->newest;
	dev->newest = res;
	pthread_mutex_unlock(&dev->lock);
	return 0;
}

GP_EXPORT int gp_devm_add_action(struct gp_device *dev,
				 void (*action)(void *data), void *data)
{
	if (!dev || !action)
		return -EINVAL;
	return devres_push(dev, action, data, NULL);
}

/* Release of a device-managed pool: the device lets go, then destroy. */
static void release_pool(void *data)
{
	struct gen_pool *pool = data;

	pool->device = NULL;
	gen_pool_destroy(pool);
}

/* Does pool @pool answer to @name as in the kernel's devm_gen_pool_match? */
static bool pool_has_name(const struct gen_pool *pool, const char *name)
{
	if (!name || !pool->name)
		return !name && !pool->name;
	return strcmp(name, pool->name) == 0;
}

GP_EXPORT struct gen_pool *gen_pool_get(struct gp_device *dev,
					const char *name)
{
	struct gp_devres *res;
	struct gen_pool *found = NULL;

	if (!dev)
		return NULL;
	pthread_mutex_lock(&dev->lock);
	for (res = dev->newest; res && !found; res = res->older)
		if (res->pool && pool_has_name(res->pool, name))
			found = res->pool;
	pthread_mutex_unlock(&dev->lock);
	return found;
}

GP_EXPORT struct gen_pool *devm_gen_pool_create(struct gp_device *dev,
						int min_alloc_order, int nid,
						const char *name)
{
	struct gen_pool *pool;

	if (!dev || gen_pool_get(dev, name)) {
		errno = EINVAL;
		return NULL;
	}
	pool = gen_pool_create(min_alloc_order, nid);
	if (!pool)
		return NULL;
	if ((name && gp_set_name(pool, name)) ||
	    devres_push(dev, release_pool, pool, pool)) {
		gpi_pool_release(pool);
		errno = ENOMEM;
		return NULL;
	}
	pool->device = dev;
	return pool;
}

/* Remove @dev from the bound list if it is there. */
static void unbind(struct gp_device *dev)
{
	struct gp_device **p;

	pthread_mutex_lock(&bound_lock);
	for (p = &bound_devices; *p; p = &(*p)->next_bound) {
		if (*p == dev) {
			*p = dev->next_bound;
			break;
		}
	}
	pthread_mutex_unlock(&bound_lock);
}

GP_EXPORT void gp_device_destroy(struct gp_device *dev)
{
	struct gp_devres *res;

	if (!dev)
		return;
	unbind(dev);
	while ((res = dev->newest) != NULL) {
		dev->newest = res->older;
		res->release(res->data);
		gpi_meta_free(res, sizeof(*res));
	}
	pthread_mutex_destroy(&dev->lock);
	gpi_meta_strfree(dev->name);
	gpi_meta_free(dev, sizeof(*dev));
}

/* The device bound to (@fdt, @offset); caller holds bound_lock. */
static struct gp_device *find_bound(const void *fdt, int offset)
{
	struct gp_device *dev;

	for (dev = bound_devices; dev; dev = dev->next_bound)
		if (dev->fdt == fdt && dev->of_offset == offset)
			break;
	return dev;
}

struct gp_device *gpi_device_of_node(const void *fdt, int offset)
{
	struct gp_device *dev;

	pthread_mutex_lock(&bound_lock);
	dev = find_bound(fdt, offset);
	pthread_mutex_unlock(&bound_lock);
	return dev;
}

GP_EXPORT int gp_device_set_of_node(struct gp_device *dev, const void *fdt,
				    int offset)
{
	int ret = 0;

	if (!dev || !fdt || offset < 0 || dev->fdt ||
	    fdt_check_header(fdt) != 0 || !fdt_get_name(fdt, offset, NULL))
		return -EINVAL;
	pthread_mutex_lock(&bound_lock);
	if (find_bound(fdt, offset))
		ret = -EEXIST;
	else {
		dev->fdt = fdt;
		dev->of_offset = offset;
		dev->next_bound = bound_devices;
		bound_devices = dev;
	}
	pthread_mutex_unlock(&bound_lock);
	return ret;
}
