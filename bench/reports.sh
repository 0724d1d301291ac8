#!/usr/bin/env bash
# reports.sh - the report pack (reports/) over a large store: N generator
# events over the 30 days from 2026-11-01 (default 10,000,000) written with
# `trail loadgen --store`, then every report of the pack run once for the
# instant 2026-12-01T00:00:00Z (--now; so `last 7d` is the data's last
# week and `this quarter` all of it), timed by the wall clock, two ways:
#
#   cli     `trail report run NAME --store DIR --format json`: a new process
#           each, which opens the store and its indexes (cold in the process;
#           the page cache as the runs before left it);
#   traild  GET /v1/reports/NAME/run?format=json of one traild over the store,
#           whose index is open (warm) after a first /v1/count.
#
# Each report is one line `RESULT name=report_WAY_NAME seconds=S bytes=B`,
# then `RESULT name=report_pack_WAY seconds=TOTAL reports=N`. The target of
# issue 19 is the whole pack in <= 2 s at 10,000,000 events. For traild each
# line also has cpu=C: the CPU seconds traild spent on it (user and system,
# /proc/PID/stat), which the machine's other load changes far less than the
# wall clock.
#
# Not here: the reports' figures (tests/integration/report_pack.sh).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

usage() {
    cat <<EOF
usage: bench/reports.sh [--events N] [--ways cli,traild] [--now TIME]

Environment: TRAIL_BIN (build directory, default build/), BENCH_TMP, BENCH_KEEP=1,
STORE=DIR (run over an existing store instead of generating one; it is not removed).
EOF
}

events=10000000
ways=cli,traild
now=2026-12-01T00:00:00Z
while [ $# -gt 0 ]; do
    case "$1" in
    --events) events=$2; shift 2 ;;
    --ways) ways=$2; shift 2 ;;
    --now) now=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
bench_need "$TRAIL_BIN/trail" "$TRAIL_BIN/traild"
bench_scratch reports
dir=$BENCH_DIR
store=${STORE:-$dir/store}
pack=$BENCH_SRC/reports
bench_load_note
if [ -z "${STORE:-}" ]; then
    t0=$(date +%s.%N)
    "$TRAIL_BIN/trail" loadgen -n "$events" -d 30 -s 1 --start 2026-11-01T00:00:00Z --store "$store" >/dev/null
    t1=$(date +%s.%N)
    echo "store: $events events written in $(echo "$t1 - $t0" | bc) s"
fi
names=$(ls "$pack"/*.conf | xargs -n1 basename | sed 's/\.conf$//')
echo "store: $(find "$store" -maxdepth 1 -name 'seg-*.open' | wc -l) segments unsealed, $(find "$store" -maxdepth 1 -name 'seg-*.seg' | wc -l) sealed"

# idx_versions: "N of version V, ..." of the store's .idx files (version 1 has no value
# rollups: a traild rewrites them in the background after it opens the store)
idx_versions() {
    local f
    for f in "$store"/seg-*.idx; do
        [ -e "$f" ] && od -An -tu2 -j8 -N2 "$f" | tr -d ' '
    done | sort | uniq -c | awk '{printf "%s%d of version %d", (NR > 1 ? ", " : ""), $1, $2}'
}
echo "store: .idx files: $(idx_versions)"

# cpu_of PID: the CPU seconds (user and system) PID has used
cpu_of() {
    awk -v t="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / t}' "/proc/$1/stat"
}

# run_pack WAY CMD...: run CMD NAME OUT for each report, timed; then the total
# (with $cpu_pid set: also that process's CPU seconds)
run_pack() {
    local way=$1 total=0 n=0 cpu_total=0
    shift
    for name in $names; do
        local t0 t1 s c0 c1 cpu=
        [ -n "${cpu_pid:-}" ] && c0=$(cpu_of "$cpu_pid")
        t0=$(date +%s.%N)
        "$@" "$name" "$dir/$name.$way.json"
        t1=$(date +%s.%N)
        if [ -n "${cpu_pid:-}" ]; then
            c1=$(cpu_of "$cpu_pid")
            cpu=" cpu=$(echo "$c1 - $c0" | bc)"
            cpu_total=$(echo "$cpu_total + $c1 - $c0" | bc)
        fi
        s=$(echo "$t1 - $t0" | bc)
        total=$(echo "$total + $s" | bc)
        n=$((n + 1))
        echo "RESULT name=report_${way}_$name seconds=$s bytes=$(wc -c <"$dir/$name.$way.json")$cpu"
    done
    echo "RESULT name=report_pack_$way seconds=$total reports=$n${cpu_pid:+ cpu=$cpu_total}"
}

cli_run() {
    "$TRAIL_BIN/trail" report run "$1" --reports "$pack" --store "$store" --format json --now "$now" -o "$2"
}

traild_run() {
    curl -sf -o "$2" "http://127.0.0.1:$port/v1/reports/$1/run?format=json&now=$now"
}

if [[ ,$ways, == *,cli,* ]]; then
    run_pack cli cli_run
fi
if [[ ,$ways, == *,traild,* ]]; then
    port=$(bench_port)
    cat >"$dir/traild.conf" <<EOF
[store]
path = $store
[listen]
http = 127.0.0.1:$port
syslog_udp = off
syslog_tcp = off
[reports]
dir = $pack
EOF
    "$TRAIL_BIN/traild" -c "$dir/traild.conf" >"$dir/traild.log" 2>&1 &
    pid=$!
    bench_track "$pid"
    bench_wait_port "$port" 120 "$pid" "$dir/traild.log"
    t0=$(date +%s.%N)
    curl -sf -o /dev/null "http://127.0.0.1:$port/v1/count"
    t1=$(date +%s.%N)
    echo "traild: index opened by a first /v1/count in $(echo "$t1 - $t0" | bc) s; RSS $(rss_peak "$pid") MB (VmHWM)"
    # indexes of another version: measure once traild's sealer has written them again (every
    # .idx file of one version, at most one segment unsealed, and no .idx file changed for 5 s)
    t0=$(date +%s.%N)
    for _ in $(seq 900); do
        [ "$(idx_versions | grep -c ' of version ')" -le 1 ] &&
            [ "$(idx_versions | grep -o ', ' | wc -l)" = 0 ] &&
            [ "$(find "$store" -maxdepth 1 -name 'seg-*.open' | wc -l)" -le 1 ] &&
            [ -z "$(find "$store" -maxdepth 1 -name 'seg-*.idx' -newermt '-5 seconds')" ] &&
            [ "$(echo "$(date +%s.%N) - $t0 > 5" | bc)" = 1 ] && break
        sleep 1
    done
    t1=$(date +%s.%N)
    echo "traild: .idx files: $(idx_versions) ($(echo "$t1 - $t0" | bc) s waited)"
    curl -sf -o /dev/null "http://127.0.0.1:$port/v1/count"
    cpu_pid=$pid run_pack traild traild_run
    echo "traild: peak RSS $(rss_peak "$pid") MB (VmHWM)"
    bench_stop "$pid"
fi
