#!/usr/bin/env bash
# export.sh - GET /v1/events/export at size: N generator events over 30 days
# (default 10,000,000) written into a store with `trail loadgen --store`,
# traild started over it, and the whole store exported once in each format
# asked for (default csv) with curl into /dev/null. Reports the export's
# events per second (rows / wall time of curl) and traild's peak resident
# set (VmHWM) after the exports, which is the figure that says whether the
# export holds events in memory: the target is >= 1,000,000 events/s and
# < 256 MB at 10,000,000 events.
#
# Before the exports one /v1/count opens traild's index, and the script
# prints the resident set then, with the segments still unsealed: the index
# of an unsealed (.open) segment is built in memory (a builder of tens of MB
# while it is built, then kept in its .idx form and 4 bytes of frame offset
# a record, ~4 MB for a full one), and the sealer, at idle CPU priority, may
# not have sealed the backlog that loadgen leaves on a busy machine. Then the peak is reset
# (/proc/PID/clear_refs, where allowed) before each export, so that
# export_peak_rss_mb is what the export itself adds; peak_rss_mb is traild's
# peak over its whole run. traild_cpu_s is the CPU time (user + system, all
# of traild's threads) the export took: on a machine shared with other work
# the steadier figure, where events_per_s follows the load.
#
# Not here: the test of what an export holds (tests/integration/query_export.sh).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

usage() {
    cat <<EOF
usage: bench/export.sh [--events N] [--formats csv,ndjson,eventlog]

Environment: TRAIL_BIN (build directory, default build/), BENCH_TMP, BENCH_KEEP=1,
STORE=DIR (export an existing store instead of generating one; it is not removed).
EOF
}

events=10000000
formats=csv
while [ $# -gt 0 ]; do
    case "$1" in
    --events) events=$2; shift 2 ;;
    --formats) formats=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
bench_need "$TRAIL_BIN/trail" "$TRAIL_BIN/traild"
bench_scratch export
dir=$BENCH_DIR
store=${STORE:-$dir/store}
bench_load_note
if [ -z "${STORE:-}" ]; then
    t0=$(date +%s.%N)
    "$TRAIL_BIN/trail" loadgen -n "$events" -d 30 -s 1 --store "$store" >/dev/null
    # sealed, compressed and indexed before traild opens it, as a store of 30 days would be
    "$TRAIL_BIN/trail" count --store "$store" >/dev/null
    t1=$(date +%s.%N)
    echo "store: $events events written in $(echo "$t1 - $t0" | bc) s"
fi
port=$(bench_port)
cat >"$dir/traild.conf" <<EOF
[store]
path = $store
[listen]
http = 127.0.0.1:$port
syslog_udp = off
syslog_tcp = off
EOF
"$TRAIL_BIN/traild" -c "$dir/traild.conf" >"$dir/traild.log" 2>&1 &
pid=$!
bench_track "$pid"
bench_wait_port "$port" 120 "$pid" "$dir/traild.log"
# counted from the files: traild's first query opens the index, which the first export then finds open
total=$("$TRAIL_BIN/trail" count --store "$store" --format json |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
echo "traild: $total events in the store; RSS before any export $(rss_peak "$pid") MB (VmHWM)"
curl -s -o /dev/null "http://127.0.0.1:$port/v1/count"
unsealed=$(find "$store" -maxdepth 1 -name 'seg-*.open' | wc -l)
rss_now=$(awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$pid/status")
echo "traild: index open: RSS $rss_now MB, peak $(rss_peak "$pid") MB; $unsealed segments unsealed (.open, indexed in memory)"
peak=$(rss_peak "$pid")
# cpu_ticks: traild's user + system time so far, in clock ticks, its threads' that ended included
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
for f in ${formats//,/ }; do
    echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true
    c0=$(cpu_ticks)
    t0=$(date +%s.%N)
    bytes=$(curl -s -o /dev/null -w '%{size_download}' \
        "http://127.0.0.1:$port/v1/events/export?format=$f")
    t1=$(date +%s.%N)
    s=$(echo "$t1 - $t0" | bc)
    rate=$(echo "$total / $s" | bc)
    cpu=$(echo "scale=2; ($(cpu_ticks) - $c0) / $hz" | bc)
    xpeak=$(rss_peak "$pid")
    peak=$((peak > xpeak ? peak : xpeak))
    echo "RESULT name=export_$f events=$total bytes=$bytes seconds=$s events_per_s=$rate traild_cpu_s=$cpu export_peak_rss_mb=$xpeak peak_rss_mb=$peak"
done
bench_stop "$pid"
