// SPDX-License-Identifier: MIT
/*
 * examples/kv/backing.c - item memory mapped by the server itself (see
 * backing.h); replaced by the io layer's gp_mem once it is in main.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <genpool/genalloc.h>

#include "backing.h"

#define KV_HUGE_PAGE	(2UL << 20)
#define KV_CHUNK_MAX	(1UL << 30)	/* one fixed buffer's limit */

struct kv_backing {
	void *addr;
	size_t size;
	enum kv_backing_kind kind;
};

static const char *const kind_names[] = {
	[KV_BACKING_THP] = "thp",
	[KV_BACKING_ANON] = "anon",
	[KV_BACKING_HUGETLB] = "hugetlb",
};

/* Fault every page in now, not on a request's path. */
static void prefault(char *p, size_t size)
{
	size_t off;

#ifdef MADV_POPULATE_WRITE
	if (madvise(p, size, MADV_POPULATE_WRITE) == 0)
		return;
#endif
	for (off = 0; off < size; off += 4096)
		p[off] = 0;
}

struct kv_backing *kv_backing_create(size_t size, enum kv_backing_kind kind)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;
	struct kv_backing *b;
	void *p;

	if (!size) {
		errno = EINVAL;
		return NULL;
	}
	if (kind == KV_BACKING_HUGETLB) {
		size = (size + KV_HUGE_PAGE - 1) & ~(KV_HUGE_PAGE - 1);
		flags |= MAP_HUGETLB;
	}
	if (kind != KV_BACKING_THP)
		flags |= MAP_POPULATE;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (p == MAP_FAILED) {
		int err = errno;

		fprintf(stderr, "genpool-kv: cannot map %zu bytes of %s memory: %s%s\n",
			size, kind_names[kind], strerror(err),
			kind == KV_BACKING_HUGETLB ?
			" (reserve 2 MiB pages in /proc/sys/vm/nr_hugepages)" : "");
		errno = err;
		return NULL;
	}
	/* THP: advise first, then fault in, so the faults are huge ones. */
	if (kind == KV_BACKING_THP) {
		(void)madvise(p, size, MADV_HUGEPAGE);
		prefault(p, size);
	}
	b = malloc(sizeof(*b));
	if (!b) {
		munmap(p, size);
		errno = ENOMEM;
		return NULL;
	}
	*b = (struct kv_backing){ .addr = p, .size = size, .kind = kind };
	return b;
}

int kv_backing_add_to_pool(struct kv_backing *b, struct gen_pool *pool)
{
	size_t off;

	for (off = 0; off < b->size; off += KV_CHUNK_MAX) {
		size_t len = b->size - off < KV_CHUNK_MAX ? b->size - off : KV_CHUNK_MAX;
		int ret = gen_pool_add(pool, (unsigned long)b->addr + off, len, -1);

		if (ret)
			return ret;
	}
	return 0;
}

void *kv_backing_addr(const struct kv_backing *b)
{
	return b->addr;
}

size_t kv_backing_size(const struct kv_backing *b)
{
	return b->size;
}

const char *kv_backing_kind_name(const struct kv_backing *b)
{
	return kind_names[b->kind];
}

void kv_backing_destroy(struct kv_backing *b)
{
	if (!b)
		return;
	munmap(b->addr, b->size);
	free(b);
}
