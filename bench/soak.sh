#!/usr/bin/env bash
# soak.sh - the long soak: tests/integration/soak_short.sh's scenario (HTTP
# clients under load, traild killed with SIGKILL and restarted in a loop,
# the webhook sink's receiver failing, going away and coming back; then the
# store verifies and holds exactly what was acknowledged, and the sink
# delivered all of it) for minutes instead of seconds. Not part of `make
# test` nor of bench/run-all.sh: run it by hand.
#
#   bench/soak.sh                      10 minutes, 4 clients of 500 events/s
#   SOAK_SECONDS=3600 bench/soak.sh    an hour
#   SOAK_CLIENTS, SOAK_RATE (events/s per client), SOAK_BATCH (per request),
#   SOAK_KILL_MIN_MS, SOAK_KILL_MAX_MS (between kills), SOAK_DRAIN_S (the most
#   the sink may take to catch up at the end) as in soak_short.sh
#
# Uses the binaries in $TRAIL_BIN (default build/; `make build` first).
# Prints the counts and ends with "N passed, N failed" like the tests.
set -u
here=$(cd "$(dirname "$0")" && pwd)
export TRAIL_SOURCE_DIR=${TRAIL_SOURCE_DIR:-$(cd "$here/.." && pwd)}
export TRAIL_BIN=${TRAIL_BIN:-$TRAIL_SOURCE_DIR/build}
export SOAK_SECONDS=${SOAK_SECONDS:-600}
export SOAK_CLIENTS=${SOAK_CLIENTS:-4}
export SOAK_RATE=${SOAK_RATE:-500}
export SOAK_BATCH=${SOAK_BATCH:-50}
export SOAK_KILL_MIN_MS=${SOAK_KILL_MIN_MS:-5000}
export SOAK_KILL_MAX_MS=${SOAK_KILL_MAX_MS:-20000}
export SOAK_DRAIN_S=${SOAK_DRAIN_S:-600}
if [ ! -x "$TRAIL_BIN/traild" ]; then
    echo "soak.sh: no $TRAIL_BIN/traild (make build, or set TRAIL_BIN)" >&2
    exit 2
fi
echo "soak: ${SOAK_SECONDS}s, $SOAK_CLIENTS clients x $SOAK_RATE events/s in batches of" \
    "$SOAK_BATCH, a SIGKILL every $SOAK_KILL_MIN_MS-$SOAK_KILL_MAX_MS ms"
exec bash "$TRAIL_SOURCE_DIR/tests/integration/soak_short.sh"
