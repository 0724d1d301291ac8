#!/usr/bin/env bash
# format.sh - the C sources are formatted as .clang-format says: any drift
# (a file clang-format would change) fails, naming the file and the first
# lines it would change. Fix with `make format`.
set -u
src=${TRAIL_SOURCE_DIR:?}
cd "$src" || exit 2
if ! command -v clang-format >/dev/null; then
    echo "FAIL clang-format is not installed (scripts/install-deps.sh test installs it)"
    echo "0 passed, 1 failed"
    exit 1
fi
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find lib daemon cli include tests bench -name '*.[ch]')
# one run over every file (a process per file takes a minute on a loaded machine)
out=$(clang-format --dry-run -Werror $files 2>&1)
bad=$(printf '%s\n' "$out" | sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error:.*/\1/p' | sort -u)
total=$(printf '%s\n' $files | wc -l)
failed=$(printf '%s' "$bad" | grep -c .)
for f in $bad; do
    echo "FAIL $f is not formatted (make format):"
    printf '%s\n' "$out" | grep -A3 -m2 "^$f:" | sed 's/^/     /'
done
echo "$((total - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
