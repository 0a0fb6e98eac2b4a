# SPDX-License-Identifier: MIT
# scripts/deps.sh - the Debian 12 packages genpool needs, and a function
# that installs them.  Sourced by scripts/main.sh and .ci/run.

# Build: meson, ninja, a C compiler (gcc 12) and clang 14 with its runtime
# (sanitizers, libFuzzer).  Libraries: jemalloc (private metadata copy),
# libfdt + dtc (device trees), libnuma, liburing.  Tests: cmocka, valgrind,
# groff and man (the man pages are linted and read back after install).
# Benchmarks: g++ and Google Benchmark.  The servers' real clients and
# peers (examples/nbd, examples/kv, their tests and benchmarks): libnbd-bin
# (nbdinfo, nbdcopy), nbdkit, qemu-utils (qemu-img, qemu-io, qemu-nbd), fio,
# memcached and libmemcached-tools (memccapable, memcslap).
GP_PACKAGES="meson ninja-build pkg-config python3 gcc g++ libc6-dev binutils
	clang-14 libclang-rt-14-dev
	libjemalloc-dev libfdt-dev device-tree-compiler libnuma-dev liburing-dev
	libcmocka-dev valgrind libbenchmark-dev groff-base man-db
	libnbd-bin nbdkit qemu-utils fio memcached libmemcached-tools"

# Print the packages of GP_PACKAGES that are not installed.
gp_missing_packages()
{
	local p

	for p in $GP_PACKAGES; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q 'ok installed' || echo "$p"
	done
}

# apt-get update && apt-get install -y the packages.  Without root (or
# without network) it only succeeds if everything is already there.
gp_install_deps()
{
	local missing

	if ! command -v apt-get >/dev/null; then
		echo "deps: no apt-get; install by hand: $GP_PACKAGES" >&2
		return 0
	fi
	if [ "$(id -u)" -ne 0 ]; then
		missing=$(gp_missing_packages | tr '\n' ' ')
		if [ -n "$missing" ]; then
			echo "deps: not root; missing packages: $missing" >&2
			return 1
		fi
		echo "deps: not root, but every package is installed"
		return 0
	fi
	export DEBIAN_FRONTEND=noninteractive
	echo "deps: apt-get update && apt-get install -y <${GP_PACKAGES//[[:space:]]/ }>" | tr -s ' '
	apt-get update -q >/dev/null || echo "deps: apt-get update failed (offline?)" >&2
	if ! apt-get install -y -q --no-install-recommends $GP_PACKAGES >/dev/null; then
		missing=$(gp_missing_packages | tr '\n' ' ')
		if [ -n "$missing" ]; then
			echo "deps: apt-get install failed; missing: $missing" >&2
			return 1
		fi
		echo "deps: apt-get install failed, but every package is installed" >&2
	fi
	return 0
}
