// SPDX-License-Identifier: MIT
/*
 * examples/kv/backing.h - the memory behind genpool-kv's item pool.
 *
 * A small internal interface so the server does not care who maps its
 * memory: today an mmap of its own, the io layer's gp_mem_create() once it
 * lands.  Not thread-safe: created and destroyed by the main thread.
 */
#ifndef KV_BACKING_H
#define KV_BACKING_H

#include <stddef.h>

#include "store.h"

struct kv_backing;
struct gen_pool;

/**
 * kv_backing_create - @size bytes of pre-faulted memory of @kind (hugetlb:
 * 2 MiB pages, nothing weaker stands in; thp: anonymous memory advised
 * MADV_HUGEPAGE; anon: plain pages).  NULL with errno and a reason on stderr.
 */
struct kv_backing *kv_backing_create(size_t size, enum kv_backing_kind kind);

/** kv_backing_add_to_pool - give all of it to @pool (chunks of at most 1 GiB). */
int kv_backing_add_to_pool(struct kv_backing *b, struct gen_pool *pool);

void *kv_backing_addr(const struct kv_backing *b);
size_t kv_backing_size(const struct kv_backing *b);
/** kv_backing_kind_name - "hugetlb", "thp" or "anon". */
const char *kv_backing_kind_name(const struct kv_backing *b);

/** kv_backing_destroy - unmap; the pool over it must be gone. */
void kv_backing_destroy(struct kv_backing *b);

#endif
