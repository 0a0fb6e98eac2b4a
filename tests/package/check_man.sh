#!/bin/sh
# SPDX-License-Identifier: MIT
# usage: check_man.sh MAN3DIR GENPOOL.7 NM LIBGENPOOL.so
#
# The generated pages cover the ABI: every function libgenpool.so exports
# has a page in MAN3DIR (its own, or a .so link to the page it shares).
# Every page, and the overview GENPOOL.7, formats with groff without a
# single warning (-ww: all of them), and mandoc -T lint is clean too when
# it is installed.
set -eu
man3=$1 overview=$2 nm=$3 lib=$4
command -v groff >/dev/null || { echo "skip: no groff (groff-base)"; exit 77; }
bad=0 pages=0 links=0

for sym in $("$nm" -D --defined-only "$lib" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }'); do
	[ -f "$man3/$sym.3" ] || { echo "FAIL: no page for $sym"; bad=1; }
done

lint() {	# lint PAGE: formats it; any diagnostic is a failure
	out=$(LC_ALL=C groff -man -ww -z -t "$1" 2>&1)
	if [ -n "$out" ]; then
		echo "FAIL: groff: $1: $out"
		bad=1
	fi
	if command -v mandoc >/dev/null; then
		out=$(mandoc -T lint -W warning "$1" 2>&1) || true
		if [ -n "$out" ]; then
			echo "FAIL: mandoc: $out"
			bad=1
		fi
	fi
}

for page in "$man3"/*.3; do
	first=$(head -n 1 "$page")
	case $first in
	.so\ *)
		target=${first#.so }
		[ -f "$man3/../$target" ] || { echo "FAIL: $page: .so $target: no such page"; bad=1; }
		links=$((links + 1))
		;;
	*)
		grep -q '^\.SH NAME' "$page" && grep -q '^\.SH SYNOPSIS' "$page" ||
			{ echo "FAIL: $page: no NAME or SYNOPSIS section"; bad=1; }
		lint "$page"
		pages=$((pages + 1))
		;;
	esac
done
lint "$overview"
echo "$pages pages and $links links checked, and genpool(7)"
exit $bad
