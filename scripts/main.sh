#!/bin/bash
# SPDX-License-Identifier: MIT
# scripts/main.sh - the main job: install what is needed (Debian 12, as
# root), build genpool, run the demo, then the quick benchmark.
#
# usage: bash scripts/main.sh [BUILD_DIR]   (default build-main)
set -eu -o pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh

builddir=${1:-build-main}

# The benchmark peers (rte_malloc, mimalloc, tcmalloc; jemalloc is already
# in GP_PACKAGES): best effort, as root only, before the build so that
# meson finds DPDK; the benchmark reports any peer that is missing.
gp_install_bench_peers()
{
	local pkgs="libdpdk-dev libmimalloc-dev libgoogle-perftools-dev"

	[ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null || return 0
	for p in $pkgs; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q 'ok installed' || {
			echo "deps: apt-get install -y $pkgs (benchmark peers)"
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
				--no-install-recommends $pkgs >/dev/null ||
				echo "deps: benchmark peers not installed" >&2
			return 0
		}
	done
}
gp_install_deps
gp_install_bench_peers
if [ -f "$builddir/build.ninja" ]; then
	meson setup --reconfigure "$builddir" >/dev/null
else
	meson setup --buildtype=debugoptimized "$builddir" >/dev/null
fi
meson compile -C "$builddir"
echo
"$builddir/examples/genpool-demo"

# The quick benchmark: genpool against the kernel-faithful baseline and
# the peer allocators, printed as a table (bench/run-quick.sh, about a
# minute).  The peers come from optional packages (DPDK, mimalloc,
# tcmalloc); one that is missing shows as "unavailable" in the table.
# Skipped, not fatal, if the build has no benchmark binary.
if [ -x bench/run-quick.sh ]; then
	echo
	bench/run-quick.sh "$builddir" ||
		echo "main: the quick benchmark failed (see above)" >&2
fi
