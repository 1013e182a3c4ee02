#!/bin/sh
# mk/layers.sh [--only L:X,Y,...] LAYER... — fails when a file includes a
# layer above its own.
#
# The arguments are the project's folders from the top layer to the bottom
# (the Makefile's LAYERS).  A file in folder L may include "X/..." only when X
# is L itself or comes after L in that list.  tests/ and bench/ sit above
# everything and may include any layer.  Every violation is printed as
# FILE:LINE: the include and the rule it breaks (docs/architecture.md).
# --only L:X,Y narrows what L may include to the folders X, Y (the portable
# driver core: core:core,hw,scsi).
set -u
only=""
while [ "${1:-}" = --only ]; do only="$only $2"; shift 2; done
[ $# -gt 0 ] || { echo "usage: mk/layers.sh [--only L:X,Y] LAYER..." >&2; exit 2; }
order="$*"
files=""
for l in "$@"; do
    [ -d "$l" ] && files="$files $(find "$l" -name '*.[ch]' | sort)"
done
# shellcheck disable=SC2086
[ -n "$files" ] || exit 0
# shellcheck disable=SC2086
awk -v order="$order" -v only="$only" '
BEGIN {
    n = split(order, names, " ")
    for (i = 1; i <= n; i++) rank[names[i]] = i
    m = split(only, rules, " ")
    for (i = 1; i <= m; i++) {
        split(rules[i], lr, ":")
        allowed[lr[1]] = "," lr[2] ","
    }
}
FNR == 1 {
    split(FILENAME, parts, "/")
    own = parts[1]
}
/^[ \t]*#[ \t]*include[ \t]*"/ {
    inc = $0
    sub(/^[^"]*"/, "", inc); sub(/".*$/, "", inc)
    if (index(inc, "/") == 0) next          # a file beside this one
    split(inc, ip, "/")
    to = ip[1]
    if (!(to in rank)) next                  # not a layer folder (tests/, ...)
    if ((own in allowed) && index(allowed[own], "," to ",") == 0) {
        printf "%s:%d: %s/ includes \"%s\": %s/ may include only %s\n", \
            FILENAME, FNR, own, inc, own, substr(allowed[own], 2, length(allowed[own]) - 2)
        bad++
    } else if (rank[to] < rank[own]) {
        printf "%s:%d: %s/ includes \"%s\": %s/ is a layer above %s/ (layers, top to bottom: %s)\n", \
            FILENAME, FNR, own, inc, to, own, order
        bad++
    }
}
END {
    if (bad) {
        printf "layers: %d include(s) point upward; see docs/architecture.md\n", bad
        exit 1
    }
}' $files
