#!/bin/sh
# SPDX-License-Identifier: MIT
# Build a private copy of jemalloc for genpool's metadata.
#
# usage: jemalloc-private.sh CC OUTPUT.o
#
# Debian's jemalloc is unprefixed: linking it normally would hand the host
# program jemalloc's malloc.  We partially link libjemalloc_pic.a into one
# relocatable object, rename the four entry points genpool uses to gpje_*,
# and make every other symbol (malloc, free, je_*, ...) local, so the host
# keeps its own malloc and sees none of jemalloc's names.
set -eu
cc=$1
out=$2
pic=$($cc -print-file-name=libjemalloc_pic.a)
if [ ! -f "$pic" ]; then
	echo "jemalloc-private.sh: libjemalloc_pic.a not found (apt-get install libjemalloc-dev)" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
outabs=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
cd "$tmp"
ar x "$pic"
# The C++ operators need libstdc++ and genpool never calls them.
rm -f jemalloc_cpp*.o
ld -r -o all.o ./*.o
for f in mallocx dallocx sdallocx mallctl; do
	echo "$f gpje_$f" >> redefine
	echo "gpje_$f" >> keep
done
objcopy --redefine-syms=redefine --keep-global-symbols=keep all.o "$outabs"
