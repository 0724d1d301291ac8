#!/usr/bin/env bash
# at_time.sh - run a test script with the wall clock moved to TIME: the
# script's date, trail, traild and node all see TIME when it starts, and the
# clock runs on from there. ctest runs the clock-dependent integration tests
# this way too, at a Sunday night and at the turn of the year
# (tests/CMakeLists.txt: integration/web_viewer@2026-12-06T23:30Z, ...):
#
#   tests/at_time.sh 2027-01-01T00:10:00Z tests/integration/web_viewer.sh
#
# How: libfaketime through Debian's faketime wrapper (scripts/install-deps.sh
# test installs it), preloaded into every process of the run by LD_PRELOAD.
#  - The time is a relative offset (FAKETIME=-12999), not a start-at time
#    (@2026-12-06 23:30:00): with @ each new process would start its own clock
#    at TIME, so traild started a minute later would stamp events a minute
#    before what the script's date says. One offset, one clock for all.
#  - -m: libfaketimeMT, the variant for multi-threaded programs (traild).
#  - --exclude-monotonic (FAKETIME_DONT_FAKE_MONOTONIC=1): CLOCK_MONOTONIC
#    stays real, so poll/epoll and libevent timeouts, pthread_cond_timedwait
#    on a monotonic condition variable and node's timers run as usual. The
#    offset needs no FAKETIME_NO_CACHE: it is read once from the environment.
#  - The browser side is not preloaded: web_viewer.sh starts node (and so
#    chromium) without libfaketime, and run.mjs pins the pages' clock with
#    Playwright's clock API, moved by TRAIL_FAKETIME_OFFSET_S. (Playwright
#    syncs the page clock by comparing node's clock with the browser's: with
#    node moved and chromium not, the page clock would be off by the offset.)
# TRAIL_TEST_AT tells the script the time it must see: daemon_common.bash
# checks it; this wrapper checks the moved clock before it starts the script.
set -u
if [ $# -lt 2 ]; then
    echo "usage: tests/at_time.sh TIME SCRIPT [ARGUMENTS]" >&2
    exit 2
fi
at=$1
shift
fail() {
    echo "FAIL $*"
    echo "0 passed, 1 failed"
    exit 1
}
command -v faketime >/dev/null 2>&1 || fail "faketime is missing (scripts/install-deps.sh test installs it)"
target=$(date -u -d "$at" +%s) || fail "'$at' is not a time"
offset=$((target - $(date -u +%s)))
[ "$offset" -ge 0 ] && offset=+$offset
seen=$(faketime -m --exclude-monotonic -f "$offset" date -u +%s)
[ "$((seen - target))" -ge 0 ] && [ "$((seen - target))" -le 5 ] ||
    fail "faketime $offset gives $(date -u -d "@$seen" +%FT%TZ), not $at"
echo "clock moved to $(date -u -d "@$target" +%FT%TZ) (FAKETIME=$offset)"
export TRAIL_TEST_AT=$target TRAIL_FAKETIME_OFFSET_S=$((offset))
exec faketime -m --exclude-monotonic -f "$offset" bash "$@"
