/* SPDX-License-Identifier: MIT */
/* tests/package/kdoc_fixture_bad.h - kernel-doc that kdoc.py check refuses. */
#include <stddef.h>

/** fx_size - a summary, and nothing on @cache, no Return:, no Context:. */
size_t fx_size(const void *cache);

/**
 * fx_misnamed - the block names another function.
 * @n: a number
 *
 * Return: 0.  Context: any.
 */
int fx_named(int n);

int fx_undocumented(void);
