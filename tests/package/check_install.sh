#!/bin/sh
# SPDX-License-Identifier: MIT
# usage: check_install.sh MESON BUILDDIR SANITIZE "CC..." LINK_TEST.c
#
# Install the build into a scratch DESTDIR, then build LINK_TEST.c with
# exactly what the installed genpool.pc says (PKG_CONFIG_SYSROOT_DIR
# points it into the DESTDIR), dynamically and fully statically, and run
# both.  A control link with the dynamic flags only must fail statically,
# which shows the static flags are needed and sufficient.  Then man(1)
# must find the installed pages.
set -eu
meson=$1 build=$2 sanitize=$3 cc=$4 src=$5
if [ "$sanitize" != none ]; then
	echo "skip: a sanitizer build (b_sanitize=$sanitize) needs its runtime in every link"
	exit 77
fi
command -v pkg-config >/dev/null || { echo "skip: no pkg-config"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$meson" install -C "$build" --destdir "$tmp/root" --no-rebuild --quiet \
	> "$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; exit 1; }
pc=$(find "$tmp/root" -name genpool.pc | head -n 1)
[ -n "$pc" ] || { echo "FAIL: no genpool.pc installed"; exit 1; }
export PKG_CONFIG_PATH="${pc%/*}" PKG_CONFIG_LIBDIR="${pc%/*}"
export PKG_CONFIG_SYSROOT_DIR="$tmp/root"
libdir=${pc%/pkgconfig/*}
cflags=$(pkg-config --cflags genpool)
libs=$(pkg-config --libs genpool)
static_libs=$(pkg-config --static --libs genpool)
echo "pkg-config --cflags: $cflags"
echo "pkg-config --libs: $libs"
echo "pkg-config --static --libs: $static_libs"
case " $static_libs " in *" -ldl "*)
	echo "FAIL: -ldl in the static flags: nothing needs it (glibc >= 2.34)"
	exit 1;;
esac

# shellcheck disable=SC2086 # the flags are word lists
$cc -o "$tmp/dynamic" "$src" $cflags $libs
LD_LIBRARY_PATH=$libdir "$tmp/dynamic"
if LD_LIBRARY_PATH=$libdir ldd "$tmp/dynamic" | grep -q "$libdir/libgenpool"; then :; else
	echo "FAIL: the dynamic program does not load $libdir/libgenpool.so"
	exit 1
fi

# shellcheck disable=SC2086
$cc -static -o "$tmp/static" "$src" $cflags $static_libs \
	2> "$tmp/static.log" || { cat "$tmp/static.log"; exit 1; }
grep -v 'statically linked applications requires at runtime' \
	"$tmp/static.log" | grep -v 'in function' >&2 || true
if readelf -l "$tmp/static" | grep -q INTERP; then
	echo "FAIL: the -static program has a dynamic loader"
	exit 1
fi
"$tmp/static"

# shellcheck disable=SC2086
if $cc -static -o "$tmp/control" "$src" $cflags $libs \
	> "$tmp/control.log" 2>&1; then
	echo "FAIL: control: a static link with the dynamic flags only succeeded"
	exit 1
fi
echo "control: the dynamic flags alone cannot link statically (as expected)"

# Each private library is needed: without it the static link fails.
# (-lpthread is kept for C libraries where it is not part of libc.)
for flag in $static_libs; do
	case " $libs -lpthread " in *" $flag "*) continue;; esac
	rest=$(echo " $static_libs " | sed "s| $flag | |")
	# shellcheck disable=SC2086
	if $cc -static -o "$tmp/without" "$src" $cflags $rest \
		> "$tmp/without.log" 2>&1; then
		echo "FAIL: $flag is in Libs.private but the static link does not need it"
		exit 1
	fi
	echo "needed: $flag"
done

# man(1) finds the generated pages, a .so link and the overview.
if command -v man >/dev/null; then
	mandir=$(find "$tmp/root" -type d -name man3 -path '*/man/*' | head -n 1)
	mandir=${mandir%/man3}
	for page in gen_pool_alloc GENPOOL_VERSION_MINOR 7:genpool; do
		sec=; name=$page
		case $page in *:*) sec=${page%%:*}; name=${page#*:};; esac
		# shellcheck disable=SC2086
		out=$(MANWIDTH=80 man -M "$mandir" -P cat $sec "$name" 2>&1) || {
			echo "FAIL: man $sec $name: $out"; exit 1; }
		echo "$out" | grep -q "$name" || { echo "FAIL: man $name: $out"; exit 1; }
		echo "man $sec $name: $(echo "$out" | grep -c '') lines"
	done
else
	echo "note: no man(1); installed pages not read back"
fi
