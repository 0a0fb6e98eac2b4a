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

/* A new resource record, not yet on any device; NULL if out of memory. */
static struct gp_devres *devres_new(void (*release)(void *), void *data,
				    struct gen_pool *pool)
{
	struct gp_devres *res = gpi_meta_zalloc(sizeof(*res), NUMA_NO_NODE);

	if (res) {
		res->release = release;
		res->data = data;
		res->pool = pool;
	}
	return res;
}

/* Put @res on top of @dev's stack; caller holds dev->lock. */
static void devres_link(struct gp_device *dev, struct gp_devres *res)
{
	res->older = dev->newest;
	dev->newest = res;
}

GP_EXPORT int gp_devm_add_action(struct gp_device *dev,
				 void (*action)(void *data), void *data)
{
	struct gp_devres *res;

	if (!dev || !action)
		return -EINVAL;
	res = devres_new(action, data, NULL);
	if (!res)
		return -ENOMEM;
	pthread_mutex_lock(&dev->lock);
	devres_link(dev, res);
	pthread_mutex_unlock(&dev->lock);
	return 0;
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

/* @dev's pool named @name, or NULL; caller holds dev->lock. */
static struct gen_pool *find_pool(const struct gp_device *dev,
				  const char *name)
{
	struct gp_devres *res;

	for (res = dev->newest; res; res = res->older)
		if (res->pool && pool_has_name(res->pool, name))
			return res->pool;
	return NULL;
}

GP_EXPORT struct gen_pool *gen_pool_get(struct gp_device *dev,
					const char *name)
{
	struct gen_pool *found;

	if (!dev)
		return NULL;
	pthread_mutex_lock(&dev->lock);
	found = find_pool(dev, name);
	pthread_mutex_unlock(&dev->lock);
	return found;
}

/*
 * The pool is made first, outside the lock; the name check and the push
 * are one critical section, so two creations of one name cannot both
 * pass the check.  A pool that lost is freed again (it was never seen).
 */
GP_EXPORT struct gen_pool *devm_gen_pool_create(struct gp_device *dev,
						int min_alloc_order, int nid,
						const char *name)
{
	struct gen_pool *pool;
	struct gp_devres *res;
	bool taken;

	if (!dev) {
		errno = EINVAL;
		return NULL;
	}
	pool = gen_pool_create(min_alloc_order, nid);
	if (!pool)
		return NULL;
	res = devres_new(release_pool, pool, pool);
	if (!res || (name && gp_set_name(pool, name))) {
		gpi_meta_free(res, sizeof(*res));
		gpi_pool_release(pool);
		errno = ENOMEM;
		return NULL;
	}
	/* Before the pool can be found: it is destroyed only via @dev. */
	pool->device = dev;
	pthread_mutex_lock(&dev->lock);
	taken = find_pool(dev, name) != NULL;
	if (!taken)
		devres_link(dev, res);
	pthread_mutex_unlock(&dev->lock);
	if (taken) {
		gpi_meta_free(res, sizeof(*res));
		gpi_pool_release(pool);
		errno = EINVAL;
		return NULL;
	}
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

	if (!dev || dev->fdt || !gpi_fdt_node_valid(fdt, offset))
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
