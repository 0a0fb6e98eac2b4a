/* SPDX-License-Identifier: MIT */
/*
 * core/export.h - GP_EXPORT marks a function as part of libgenpool's ABI.
 *
 * The library is built with -fvisibility=hidden, so only what carries this
 * attribute (and is listed in libgenpool.map) is exported.
 */
#ifndef GENPOOL_CORE_EXPORT_H
#define GENPOOL_CORE_EXPORT_H

#if defined(__GNUC__)
#define GP_EXPORT __attribute__((visibility("default")))
#else
#define GP_EXPORT
#endif

#endif /* GENPOOL_CORE_EXPORT_H */
