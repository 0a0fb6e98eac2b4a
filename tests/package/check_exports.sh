#!/bin/sh
# SPDX-License-Identifier: MIT
# usage: check_exports.sh NM LIBGENPOOL.so MAP PYTHON KDOC HEADER...
#
# The ABI is three lists that must agree: the symbols libgenpool.so
# exports, the symbols the version script MAP names (explicitly: no
# wildcards), and the functions the public HEADERs declare (listed by
# KDOC, scripts/kdoc.py).  Every export must also carry a version node
# that MAP defines.
set -eu
nm=$1 lib=$2 map=$3 python=$4 kdoc=$5
shift 5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bad=0

# Exports (the version nodes show up as absolute symbols: skip them).
"$nm" -D --defined-only "$lib" |
	awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' | sort -u > "$tmp/exports"
if [ ! -s "$tmp/exports" ]; then
	echo "FAIL: no exported symbols found in $lib"
	exit 1
fi

# The map: comments dropped, then the names inside each global: section.
sed -e 's|/\*.*\*/||g' -e '/\/\*/,/\*\//d' "$map" | awk '
	/^[ \t]*global:/ { g = 1; next }
	/^[ \t]*local:/ || /^[ \t]*}/ { g = 0 }
	/^[ \t]*[A-Za-z_0-9.]+[ \t]*\{/ { sub(/[ \t]*\{.*/, ""); gsub(/[ \t]/, ""); print > "/dev/stderr"; next }
	g { gsub(/[ \t;]/, ""); if ($0 != "") print }' \
	2> "$tmp/nodes" | sort > "$tmp/map.all"
sort -u "$tmp/map.all" > "$tmp/map"
if grep -n '[*?[]' "$tmp/map"; then
	echo "FAIL: $map: wildcards above; list every symbol by name"
	bad=1
fi
if [ "$(wc -l < "$tmp/map.all")" != "$(wc -l < "$tmp/map")" ]; then
	echo "FAIL: $map names a symbol twice: $(uniq -d "$tmp/map.all" | tr '\n' ' ')"
	bad=1
fi

# The headers' functions.
"$python" "$kdoc" functions "$@" | sort -u > "$tmp/headers"

report() {	# report FILE-A FILE-B WHAT: names in A but not in B
	comm -23 "$1" "$2" > "$tmp/diff"
	if [ -s "$tmp/diff" ]; then
		echo "FAIL: $3: $(tr '\n' ' ' < "$tmp/diff")"
		bad=1
	fi
}
report "$tmp/exports" "$tmp/map" "exported but not in $map"
report "$tmp/map" "$tmp/exports" "in $map but not exported (no definition with GP_EXPORT?)"
report "$tmp/headers" "$tmp/exports" "declared in a public header but not exported"
report "$tmp/exports" "$tmp/headers" "exported but declared in no public header"

# Every export carries one of the map's version nodes.
"$nm" -D --defined-only --with-symbol-versions "$lib" |
	awk '$2 != "A" { print $3 }' | while read -r sym; do
	node=${sym#*@}
	node=${node#@}
	if [ "$node" = "$sym" ] || ! grep -qx "$node" "$tmp/nodes"; then
		echo "FAIL: $sym: not in a version node of $map"
		echo x >> "$tmp/unversioned"
	fi
done
[ -e "$tmp/unversioned" ] && bad=1

echo "$(wc -l < "$tmp/exports") exported symbols; map nodes: $(tr '\n' ' ' < "$tmp/nodes")"
exit $bad
