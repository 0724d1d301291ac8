#!/bin/sh
# build-deb.sh - build trail's Debian packages (trail, libtrail0, libtrail-dev)
# with Debian's own tooling, from a copy of the source tree, and check them
# with lintian.
#
# Usage: scripts/build-deb.sh OUTDIR
#   OUTDIR gets the .deb files, the .changes and .buildinfo, lintian.txt
#   (lintian's output) and build.log; OUTDIR/src is the copy that was built
#   (dpkg-buildpackage writes its results beside the tree it builds, and
#   build files of the working tree must not end up in the package).
# Environment: DEB_BUILD_OPTIONS as dpkg-buildpackage takes it (the package
# test adds noautodbgsym: no -dbgsym packages); LINTIAN=0 skips lintian.
# Exit status: 0 built and lintian clean (no error or warning; overrides in
# debian/*.lintian-overrides say why each is there), 1 otherwise.
set -eu
out=$1
top=$(cd "$(dirname "$0")/.." && pwd)

# the package version is the project's: debian/changelog and CMakeLists.txt agree
project=$(sed -n 's/^project(trail VERSION \([0-9.]*\).*/\1/p' "$top/CMakeLists.txt")
package=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
if [ "$project" != "$package" ]; then
    echo "build-deb.sh: debian/changelog says $package, CMakeLists.txt $project: add a changelog entry (dch -v $project)" >&2
    exit 1
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -rf "$out/src"
mkdir "$out/src"
# the source as committed and as edited, without builds, VCS or node modules
(cd "$top" && tar -cf - --exclude-vcs --exclude='./build*' --exclude='./var' \
    --exclude='node_modules' --exclude='./tests/fuzz/corpus' .) | (cd "$out/src" && tar -xf -)

jobs=$(nproc)
[ "$jobs" -gt 2 ] && jobs=2
if ! (cd "$out/src" && dpkg-buildpackage -b -us -uc -j"$jobs") >"$out/build.log" 2>&1; then
    tail -40 "$out/build.log" >&2
    echo "build-deb.sh: dpkg-buildpackage failed; the whole log is $out/build.log" >&2
    exit 1
fi
ls "$out"/*.deb

if [ "${LINTIAN:-1}" = 0 ]; then
    exit 0
fi
# errors and warnings fail; info tags are shown for the reader
lintian --info --display-info --fail-on error,warning "$out"/trail_*.changes >"$out/lintian.txt" 2>&1 ||
    { cat "$out/lintian.txt" >&2; echo "build-deb.sh: lintian is not clean" >&2; exit 1; }
echo "lintian: clean ($(grep -c . "$out/lintian.txt" || true) lines of notes in $out/lintian.txt)"
