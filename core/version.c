// SPDX-License-Identifier: MIT
/*
 * core/version.c - the library's own release, for programs that loaded it
 * (the macros in genpool/version.h give the headers' release).
 */
#include "genpool/version.h"
#include "export.h"

GP_EXPORT const char *gp_version(void)
{
	return GENPOOL_VERSION;
}

GP_EXPORT int gp_check_version(int major, int minor, int patch)
{
	return GENPOOL_CHECK_VERSION(major, minor, patch);
}
