#!/bin/bash
# SPDX-License-Identifier: MIT
# scripts/main.sh - the main job: install what is needed (Debian 12, as
# root), build genpool, run the demo.
#
# usage: bash scripts/main.sh [BUILD_DIR]   (default build-main)
set -eu -o pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh

builddir=${1:-build-main}
gp_install_deps
if [ -f "$builddir/build.ninja" ]; then
	meson setup --reconfigure "$builddir" >/dev/null
else
	meson setup --buildtype=debugoptimized "$builddir" >/dev/null
fi
meson compile -C "$builddir"
echo
"$builddir/examples/genpool-demo"

# Further steps of the main job (e.g. a quick benchmark table) go here,
# each guarded so that a missing piece is skipped, not fatal:
#   if [ -x bench/run-quick.sh ]; then bench/run-quick.sh "$builddir"; fi
