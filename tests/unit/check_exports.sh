#!/bin/sh
# SPDX-License-Identifier: MIT
# usage: check_exports.sh NM LIBGENPOOL.so
#
# libgenpool.so must export only the genalloc API: gen_pool_*,
# devm_gen_pool_create, of_gen_pool_get, addr_in_gen_pool and gp_*.
# (The version node GENPOOL_0 shows up as an absolute symbol.)
set -eu
nm=$1
lib=$2
syms=$("$nm" -D --defined-only "$lib" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' | sort -u)
if [ -z "$syms" ]; then
	echo "FAIL: no exported symbols found in $lib"
	exit 1
fi
bad=0
count=0
for s in $syms; do
	count=$((count + 1))
	case $s in
	gen_pool_*|devm_gen_pool_create|of_gen_pool_get|addr_in_gen_pool|gp_*)
		;;
	*)
		echo "FAIL: unexpected export: $s"
		bad=1
		;;
	esac
done
# The API must actually be there.
for s in gen_pool_create gen_pool_destroy gen_pool_add_owner gen_pool_alloc \
	 gen_pool_free gen_pool_first_fit gen_pool_best_fit gen_pool_dma_zalloc_align \
	 devm_gen_pool_create of_gen_pool_get addr_in_gen_pool gp_get_stats \
	 gp_bitmap_find_next_zero_area_off; do
	if ! echo "$syms" | grep -qx "$s"; then
		echo "FAIL: missing export: $s"
		bad=1
	fi
done
# Every export belongs to the GENPOOL_0 version node.
unversioned=$("$nm" -D --defined-only --with-symbol-versions "$lib" 2>/dev/null |
	awk '$2 != "A" && $3 !~ /@@?GENPOOL_0$/ { print $3 }' || true)
if [ -n "$unversioned" ]; then
	echo "FAIL: exports outside GENPOOL_0: $unversioned"
	bad=1
fi
echo "$count exported symbols checked"
exit $bad
