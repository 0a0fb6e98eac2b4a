#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/run-quick.sh - the quick benchmark: a representative subset of
# genpool-bench (well under two minutes on a 2-core machine), written as
# JSON and printed as a compact comparison table by bench/table.py.
#
# usage: bench/run-quick.sh [BUILD_DIR]
#   BUILD_DIR defaults to build-bench (configured with --buildtype=release
#   if it does not exist yet); genpool-bench is (re)built there if needed.
#   The JSON goes to BUILD_DIR/bench-quick.json, the console log next to it.
#
# The subset: pool alloc+free for first_fit and best_fit at 0/50/90/95%
# occupancy, 64 B / 1 KiB / 4 KiB / 64 KiB, one thread, engine vs the
# kernel-true baseline (bench/kernel_genalloc.h) vs every peer; 64 B pairs
# on 1, 2 and 8 threads sharing the pool; bulk rounds of 32; metadata; the phased and overwrite
# fragmentation traces for first_fit and best_fit; the search
# micro-benchmarks on the 90%-full random bitmap (first fit and best fit,
# runs of 1, 64 and 4096 units); the per-CPU cache's 64 B hit pair against
# the pool and the peers (1, 2 and 8 threads), its mixed workload and
# producer/consumer against the pool alone and jemalloc; the io rows
# (bench/io/run-io.py --quick).  Each runs for about 0.01 s (the machine
# is shared; the full run in bench/RESULTS.md takes medians instead).
# Then genpool-nbd against nbdkit and qemu-nbd: bench/nbd-bench.py --quick.
set -eu -o pipefail
cd "$(dirname "$0")/.."

builddir=${1:-build-bench}
start=$(date +%s)

if [ ! -f "$builddir/build.ninja" ]; then
	meson setup --buildtype=release "$builddir" >/dev/null
fi
if ! ninja -C "$builddir" bench/genpool-bench >"$builddir/bench-build.log" 2>&1; then
	cat "$builddir/bench-build.log" >&2
	echo "run-quick: building genpool-bench failed" >&2
	exit 1
fi
bin="$builddir/bench/genpool-bench"
if [ ! -x "$bin" ]; then
	echo "run-quick: $bin was not built (-Dbench=false, or no C++" \
	     "compiler / Google Benchmark); skipping" >&2
	exit 0
fi

pool='^pool/(engine|kernel|kernel-relax|rte_malloc|jemalloc|glibc|mimalloc|tcmalloc)/(first_fit|best_fit|-)/occ:(0|50|90|95)/size:(64|1024|4096|65536)/real_time/threads:1$'
threads='^pool/(engine|kernel|jemalloc|tcmalloc)/(first_fit|-)/occ:(0|50)/size:64/real_time/threads:(1|2|8)$'
bulk='^bulk/engine/first_fit/occ:(0|50)/size:(64|4096)/n:32/real_time/threads:1$'
meta='^metadata/'
unavail='^pool/[^/]+/unavailable(/|$)'
frag='^frag/(phased|overwrite)/(first_fit|best_fit)/'
search='^search/rand90/(ff|bf)/[^/]+/(1|64|4096)(/|$)'
cache='^cache/(pair/[^/]+/size:64/real_time/threads:(1|2|8)|(mixed|prodcons)/(cache|cache-locked|pool|jemalloc)/)'
json="$builddir/bench-quick.json"

echo "run-quick: running genpool-bench (subset; log in $builddir/bench-quick.log)"
GENPOOL_BENCH_SEARCH_MIN_TIME=0.01 "$bin" \
	--benchmark_filter="$pool|$threads|$bulk|$meta|$unavail|$frag|$search|$cache" \
	--benchmark_min_time=0.01 \
	--benchmark_out="$json" --benchmark_out_format=json \
	>"$builddir/bench-quick.log" 2>&1 || {
	tail -20 "$builddir/bench-quick.log" >&2
	echo "run-quick: genpool-bench failed" >&2
	exit 1
}
# The io rows (bench/io/run-io.py --quick, ~20 s): fio against genpool
# buffers on zram0 (tmpfs when zram0 is busy), registration, the pair.
# They need root (zram, hugepages) and io_uring; otherwise left out.
io_json="$builddir/io-quick.json"
io_arg=()
rm -f "$io_json"
if [ "$(id -u)" -eq 0 ] && command -v fio >/dev/null &&
   ninja -C "$builddir" bench/io/genpool-iobench >>"$builddir/bench-build.log" 2>&1; then
	echo "run-quick: running bench/io/run-io.py --quick (log in $builddir/io-quick.log)"
	if python3 bench/io/run-io.py --build "$builddir" --quick --json "$io_json" \
		>"$builddir/io-quick.log" 2>&1; then
		io_arg=(--io "$io_json")
	else
		tail -5 "$builddir/io-quick.log" >&2
		echo "run-quick: io rows left out (run-io.py failed)" >&2
	fi
else
	echo "run-quick: io rows left out (need root, fio and genpool-iobench)" >&2
fi
echo
python3 bench/table.py "$json" "${io_arg[@]}"

# The NBD server against nbdkit and qemu-nbd (a peer that is not installed
# is skipped with the reason): bench/nbd-bench.py --quick, about 40 s.
if ninja -C "$builddir" examples/nbd/genpool-nbd >>"$builddir/bench-build.log" 2>&1 &&
   [ -x "$builddir/examples/nbd/genpool-nbd" ]; then
	python3 bench/nbd-bench.py --quick --build "$builddir" ||
		echo "run-quick: bench/nbd-bench.py failed" >&2
else
	echo "run-quick: genpool-nbd not built (liburing missing?): no NBD rows"
fi

# genpool-kv against memcached (bench/kv/kvbench.py --quick: 16 connections,
# 100 B and 4 KiB values, the memory phase change, 3000 idle connections;
# about half a minute).  Without memcached, genpool-kv runs alone and says so.
if ninja -C "$builddir" examples/kv/genpool-kv examples/kv/genpool-kvload \
	>>"$builddir/bench-build.log" 2>&1; then
	echo
	echo "run-quick: genpool-kv against memcached (short version; the full tables are in bench/RESULTS.md)"
	python3 bench/kv/kvbench.py "$builddir" --quick --reps 1 --secs 2 \
		--out "$builddir/bench-kv-quick.json" ||
		echo "run-quick: the genpool-kv rows failed" >&2
else
	echo "run-quick: genpool-kv was not built (no liburing?): no server rows" >&2
fi
echo
echo "run-quick: JSON in $json; $(( $(date +%s) - start )) s wall"
