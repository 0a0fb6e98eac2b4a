/* SPDX-License-Identifier: MIT */
/* tests/percpu/cache_ops.h - the shadow-model interpreter (cache_ops.c). */
#ifndef GENPOOL_TESTS_CACHE_OPS_H
#define GENPOOL_TESTS_CACHE_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Run the operations @data encodes; abort()s on the first violation.
 * Returns 0 (or -1 if memory ran out). */
int cache_ops_run(const uint8_t *data, size_t size, bool verbose);

#endif
