// SPDX-License-Identifier: MIT
/*
 * tests/percpu/fuzz_cache.c - libFuzzer target: the fuzzer's bytes become
 * a pool, a cache and operations with CPU switches, checked against the
 * shadow model after every step (cache_ops.c says what is checked).
 */
#include <stddef.h>
#include <stdint.h>

#include "cache_ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cache_ops_run(data, size, false);
	return 0;
}
