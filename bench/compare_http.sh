#!/usr/bin/env bash
# compare_http.sh - HTTP NDJSON ingest into traild: the sustained rate with
# batches, then the acknowledgement latency at half that rate.
#
# traild is pinned to one core and bench/sender to the other. The sender
# POSTs NDJSON batches to /v1/events on several keep-alive connections, one
# request in flight on each; traild answers once the batch is durable, so
# the latency is the acknowledgement latency (request's first byte to the
# answer's last). The paced run sends at half the sustained rate for a few
# seconds and reports p50/p99 both from each request's send and from its
# scheduled time (the second includes any queueing behind a slow answer).
#
# Not here: the syslog peers (compare_ingest.sh); other HTTP servers (the
# peers have no acknowledged HTTP ingest to compare with).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

usage() {
    cat <<EOF
usage: bench/compare_http.sh [--events N] [--conns C] [--batch B] [--batches "B1 B2 ..."]
                             [--fsync always|MS] [--duration S]

HTTP NDJSON ingest into traild (pinned to core $SERVER_CORE; the sender to core
$SENDER_CORE): N events (default 1000000) in batches of B (default 1000) over C
connections (default 4), unpaced; then S seconds (default 5) paced at half the
rate measured, for the acknowledgement latency. --batches runs the unpaced
part once per batch size (the paced run uses --batch). --fsync: traild's
policy, always (the default: every batch durable before its answer, group
commit) or an interval in ms. Integrity is always on; a signing key is set.

Environment: TRAIL_BIN (build directory, default build/), BENCH_TMP, BENCH_KEEP=1.
EOF
}

events=1000000
conns=4
batch=1000
batches=""
fsync=always
duration=5
while [ $# -gt 0 ]; do
    case "$1" in
    --events) events=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --batches) batches=$2; shift 2 ;;
    --fsync) fsync=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
[ -n "$batches" ] || batches=$batch

bench_need "$TRAIL_BIN/trail" "$TRAIL_BIN/traild" "$TRAIL_BIN/bench/sender"
sender=$TRAIL_BIN/bench/sender
bench_scratch http
dir=$BENCH_DIR

echo "== HTTP NDJSON ingest: $events events, $conns connections, fsync $fsync"
bench_load_note
"$TRAIL_BIN/trail" loadgen -n "$events" -d 1 >"$dir/events.ndjson"
echo "stream: $(awk -v b="$(wc -c <"$dir/events.ndjson")" -v n="$events" 'BEGIN { printf "%.0f", b / n }') bytes per NDJSON line"

hport=$(bench_port)
"$TRAIL_BIN/trail" keygen --out "$dir/key" >/dev/null
if [ "$fsync" = always ]; then
    policy="fsync = always"
else
    policy="fsync = interval
fsync_interval_ms = $fsync"
fi
cat >"$dir/trail.conf" <<EOF
[server]
host = bench
[store]
path = $dir/store
$policy
signing_key = $dir/key.key
[listen]
http = 127.0.0.1:$hport
syslog_udp = off
syslog_tcp = off
EOF
bench_pin "$SERVER_CORE" "$TRAIL_BIN/traild" -c "$dir/trail.conf" >"$dir/traild.log" 2>&1 &
pid=$!
bench_track "$pid"
bench_wait_port "$hport" 30 "$pid" "$dir/traild.log"

best=0
best_batch=$batch
declare -A by_batch
for b in $batches; do
    line=$(bench_pin "$SENDER_CORE" "$sender" http --connect "127.0.0.1:$hport" \
        --input "$dir/events.ndjson" --conns "$conns" --batch "$b" --max-secs 120)
    echo "unpaced, batch $b: $line"
    r=$(kv accepted_rate "$line")
    by_batch[$b]=$r
    if [ "$b" = "$batch" ]; then
        best=$r
        unpaced_p99=$(kv p99_ms "$line")
    fi
done
half=$(awk -v r="$best" 'BEGIN { printf "%.0f", r / 2 }')
paced=$(bench_pin "$SENDER_CORE" "$sender" http --connect "127.0.0.1:$hport" \
    --input "$dir/events.ndjson" --conns "$conns" --batch "$best_batch" \
    --rate "$half" --duration "$duration")
echo "paced at $half events/s, batch $best_batch: $paced"
rss=$(rss_peak "$pid")
bench_stop "$pid"

echo
printf "%-44s %14s\n" "HTTP NDJSON ingest (traild)" "value"
for b in $batches; do
    printf "%-44s %14s\n" "events/s, batch $b, $conns connections" "${by_batch[$b]}"
done
printf "%-44s %14s\n" "ack p99 at full load, batch $batch (ms)" "$unpaced_p99"
printf "%-44s %14s\n" "paced rate (events/s)" "$(kv accepted_rate "$paced")"
printf "%-44s %14s\n" "ack p50 at half load (ms)" "$(kv p50_ms "$paced")"
printf "%-44s %14s\n" "ack p99 at half load (ms)" "$(kv p99_ms "$paced")"
printf "%-44s %14s\n" "ack p99 from schedule at half load (ms)" "$(kv sched_p99_ms "$paced")"
printf "%-44s %14s\n" "traild peak resident MB" "$rss"
echo "targets: >= 300000 events/s; p99 <= 5 ms at half load"
echo "RESULT http events=$events batch=$batch rate=$best half_p50_ms=$(kv p50_ms "$paced") half_p99_ms=$(kv p99_ms "$paced") rss_mb=$rss"
