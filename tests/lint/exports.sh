#!/usr/bin/env bash
# exports.sh - libtrail.so exports exactly its public API: every dynamic
# symbol it defines is declared in include/trail.h, so the library's
# internals (store_*, seg_*, qplan_*, codec_*, ...) cannot be linked against
# by mistake and can change without breaking programs. libtrail is built
# with hidden visibility; trail.h marks its declarations default.
set -u
src=${TRAIL_SOURCE_DIR:?}
lib=${TRAIL_BUILD_DIR:?}/libtrail.so
passed=0
failed=0
if [ ! -f "$lib" ]; then
    echo "FAIL $lib is not built"
    echo "0 passed, 1 failed"
    exit 1
fi
# identifiers declared in trail.h: function names before "(" and extern objects
declared=$(sed -e 's|/\*.*\*/||g' "$src/include/trail.h" |
    grep -oE '\b[a-z_][a-z0-9_]*[[:space:]]*\(' | sed 's/[[:space:]]*($//' | sort -u)
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort -u)
n=$(printf '%s\n' "$exported" | grep -c .)
bad=$(comm -23 <(printf '%s\n' "$exported") <(printf '%s\n' "$declared"))
if [ -z "$bad" ]; then
    echo "ok   all $n exported symbols are declared in trail.h"
    passed=$((passed + 1))
else
    echo "FAIL exported but not declared in trail.h:"
    printf '     %s\n' $bad
    failed=$((failed + 1))
fi
if [ "$n" -ge 100 ]; then
    echo "ok   the public API is exported ($n symbols, trail_store_open among them: $(printf '%s\n' "$exported" | grep -cx trail_store_open))"
    passed=$((passed + 1))
else
    echo "FAIL only $n symbols exported"
    failed=$((failed + 1))
fi
if printf '%s\n' "$exported" | grep -qx trail_store_open; then
    passed=$((passed + 1))
else
    echo "FAIL trail_store_open is not exported"
    failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
