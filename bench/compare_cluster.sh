#!/usr/bin/env bash
# compare_cluster.sh - trail past one machine, measured: N generator events
# over 30 days in a local store, delivered by traild's ClickHouse sink into a
# replicated cluster (one shard of two clickhouse-server replicas and a
# ZooKeeper: the tests' tests/integration/clickhouse_cluster.bash, on
# loopback), then in the same run:
#
#   delivery  events/s from traild's start until the sink's cursor holds the
#             store's last seq and both replicas hold every event
#   bulk      ClickHouse's own load rate of the same rows: the events table
#             read back as JSONEachRow (what the sink sends) and INSERTed in
#             requests of 500,000 rows through a second Distributed table
#             over a ReplicatedReplacingMergeTree of the same schema
#   queries   the six questions of bench/bench_query.c asked with the CLI
#             (`trail query` / `trail count`) through --clickhouse and through
#             --store, median of --runs runs by the wall clock (the process's
#             start included, as a user waits for it), with the rows each gave
#
# Not here: ClickHouse or SQLite timed inside the engine (compare_query.sh),
# trail's query engine without the CLI (bench_query).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

usage() {
    cat <<EOF
usage: bench/compare_cluster.sh [--events N] [--runs R] [--batch B]

N generator events over 30 days (default 10000000) delivered by traild into a
replicated ClickHouse cluster, against ClickHouse's own bulk load of the same
rows, and the six bench_query questions through --clickhouse beside --store
(median of R runs, default 5). B is the sink's batch_events (default 100000,
its largest: every INSERT through the Distributed table waits for the shard).

Needs clickhouse-server, java and Debian's zookeeper (scripts/install-deps.sh
test). Environment: TRAIL_BIN (build directory, default build/), BENCH_KEEP=1
keeps the work directory.
EOF
}

events=10000000
runs=5
batch=100000
while [ $# -gt 0 ]; do
    case "$1" in
    --events) events=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done

# the test harness's work directory, ports and cleanup; KEEP_WORK keeps it
KEEP_WORK=${BENCH_KEEP:-0}
TMPDIR=$BENCH_TMP # on disk, not tmpfs
TRAIL_BIN=$(cd "$TRAIL_BIN" && pwd)
source "$here/../tests/integration/daemon_common.bash"
source "$here/../tests/integration/clickhouse_cluster.bash"
TRAIL=$TRAIL_BIN/trail

echo "== cluster: $events events over 30 days, one shard of two replicas, median of $runs runs"
bench_load_note

# ---- the local store ----
t0=$(date +%s.%N)
"$TRAIL" loadgen -n "$events" --days 30 --seed 1 --store "$WORK/store" >/dev/null || exit 1
t1=$(date +%s.%N)
last=$("$TRAIL" stats --store "$WORK/store" --json | sed 's/.*"last_seq":\([0-9]*\).*/\1/')
echo "store: $last events ($(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s to generate and store)"

cluster_start || { echo "cluster: did not start, nothing measured"; exit 1; }

# ---- delivery by traild ----
HPORT=$(free_port)
cat >"$WORK/traild.conf" <<EOF
[store]
path = $WORK/store
[listen]
http = 127.0.0.1:$HPORT
syslog_udp = off
syslog_tcp = off
[sink ch]
type = clickhouse
url = $(ch_url 1)
cluster = trail_cluster
database = audit
table = events
batch_events = $batch
timeout_ms = 60000
EOF
cursor() { sed -n 's/^seq //p' "$WORK/store/sinks/ch.cursor" 2>/dev/null; }
t0=$(date +%s.%N)
start_traild "$WORK/traild.conf" "$WORK/traild.log" || exit 1
until [ "$(cursor)" -ge "$last" ] 2>/dev/null; do
    kill -0 "$TRAILD_PID" 2>/dev/null || { echo "traild exited"; tail "$WORK/traild.log"; exit 1; }
    sleep 0.2
done
t1=$(date +%s.%N)
rss=$(rss_peak "$TRAILD_PID")
stop_traild
last=$(cursor) # with traild's own records (its start, a checkpoint), all delivered
# both replicas hold every event once (the replica that was not written fetches the parts)
for n in 1 2; do
    for _ in $(seq 1 600); do
        [ "$(chq "$n" "SELECT count(), uniqExact(seq) FROM audit.events_local FORMAT CSV")" = "$last,$last" ] &&
            break
        sleep 0.5
    done
done
t2=$(date +%s.%N)
r1=$(chq 1 "SELECT count(), uniqExact(seq) FROM audit.events_local FORMAT CSV")
r2=$(chq 2 "SELECT count(), uniqExact(seq) FROM audit.events_local FORMAT CSV")
deliver_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
repl_s=$(awk -v a="$t0" -v b="$t2" 'BEGIN { printf "%.2f", b - a }')
deliver_rate=$(awk -v n="$last" -v s="$deliver_s" 'BEGIN { printf "%.0f", n / s }')
echo "delivery: $last events in $deliver_s s ($deliver_rate events/s; on both replicas after $repl_s s); replica 1 count,distinct $r1, replica 2 $r2; traild peak RSS $rss MB"

# ---- ClickHouse's own bulk load of the same rows ----
ddl=$(chq 1 "SHOW CREATE TABLE audit.events_local FORMAT TSVRaw")
ddl=${ddl//audit.events_local/audit.bulk_local ON CLUSTER trail_cluster}
ddl=${ddl//\/audit_events/\/audit_bulk}
say() { [[ "$2" != *Exception* ]] || echo "$1: $2"; }
say "bulk table" "$(chq 1 "$ddl")"
say "bulk table" "$(chq 1 "CREATE TABLE audit.bulk ON CLUSTER trail_cluster AS audit.bulk_local
    ENGINE = Distributed(trail_cluster, audit, bulk_local, rand())")"
chq 1 "SELECT * FROM audit.events_local FORMAT JSONEachRow" >"$WORK/rows.json"
# in requests of 500,000 rows: one request of all of them outgrows the
# servers' max_memory_usage (2 GB) in the Distributed table's buffer
split -l 500000 "$WORK/rows.json" "$WORK/rows.part."
t0=$(date +%s.%N)
for p in "$WORK"/rows.part.*; do
    curl -sS --fail-with-body -H "Expect:" -X POST -T "$p" \
        "$(ch_url 1)?query=INSERT%20INTO%20audit.bulk%20FORMAT%20JSONEachRow" || echo "bulk load failed"
done
t1=$(date +%s.%N)
bulk_n=$(chq 1 "SELECT count() FROM audit.bulk_local")
bulk_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
bulk_rate=$(awk -v n="$bulk_n" -v s="$bulk_s" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
echo "bulk: $bulk_n rows ($(du -h "$WORK/rows.json" | cut -f1) of JSONEachRow) in $bulk_s s ($bulk_rate rows/s)"
rm -f "$WORK/rows.json" "$WORK"/rows.part.*

# ---- the six questions ----
# the values, as bench_query picks them: a user and a trace id from the
# first events, a surname and a trace id's word from the middle
pick() { # SINCE ATTR
    "$TRAIL" query --store "$WORK/store" --order time --since "$1" --limit 50 --format ndjson 2>/dev/null |
        python3 -c 'import json, sys
for l in sys.stdin:
    v = json.loads(l)["attrs"].get(sys.argv[1])
    if v:
        print(v); break' "$2"
}
user=$(pick 2026-11-01T00:00:00Z duser)
trace=$(pick 2026-11-01T00:00:00Z phxTraceId)
mid=$(pick 2026-11-16T00:00:00Z duser)
surname=${mid#*.}
rare=$(pick 2026-11-16T00:00:00Z phxTraceId)
rare=${rare:1}
since=2026-11-01T00:00:00Z
until=2026-12-01T00:00:00Z
echo "values: user $user, trace $trace, term $surname, rare term $rare"
declare -A Q=(
    [user]="query --where duser=$user --since $since --limit 100 --format ndjson"
    [trace]="query --where phxTraceId=$trace --limit 0 --format ndjson"
    [counts]="count --since $since --until $until --by hour,event --format csv"
    [text]="query --text $surname --limit 100 --format ndjson"
    [rare]="query --text $rare --limit 100 --format ndjson"
    [warning]="query --severity >=WARNING --limit 100 --format ndjson"
)
questions=(user trace counts text rare warning)
# ask SOURCE... Q: the median wall-clock ms of $runs runs after one warm-up, and the lines
ask() {
    local q=$1 k ms=() rows=0 a b
    shift
    for k in $(seq 0 "$runs"); do
        a=$(date +%s%N)
        # shellcheck disable=SC2086 # the question's words
        rows=$("$TRAIL" ${Q[$q]} "$@" 2>/dev/null | wc -l)
        b=$(date +%s%N)
        [ "$k" = 0 ] || ms+=("$(((b - a) / 1000))")
    done
    printf '%s\n' "${ms[@]}" | sort -n | awk -v rows="$rows" '{ v[NR] = $1 } END {
        m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.1f %s\n", m / 1000, rows }'
}
declare -A sms srows cms crows
for q in "${questions[@]}"; do
    read -r sms[$q] srows[$q] < <(ask "$q" --store "$WORK/store")
    read -r cms[$q] crows[$q] < <(ask "$q" --clickhouse "$(ch_url 1)" --clickhouse-table audit.events)
done

echo
printf "%-10s %12s %16s %14s %12s\n" question "store ms" "clickhouse ms" "rows st/ch" "ch/store"
for q in "${questions[@]}"; do
    printf "%-10s %12s %16s %14s %12s\n" "$q" "${sms[$q]}" "${cms[$q]}" "${srows[$q]}/${crows[$q]}" \
        "$(ratio "${cms[$q]}" "${sms[$q]}")"
done
echo "(wall clock of the CLI, its start included; ch/store > 1: the local store answered sooner)"
printf "delivery %s events/s against ClickHouse's bulk load %s rows/s: %s of it\n" \
    "$deliver_rate" "$bulk_rate" "$(ratio "$deliver_rate" "$bulk_rate")"
res="RESULT cluster events=$last delivery_eps=$deliver_rate bulk_rps=$bulk_rate traild_rss_mb=$rss"
for q in "${questions[@]}"; do
    res="$res store_$q=${sms[$q]} clickhouse_$q=${cms[$q]}"
done
echo "$res"
PASSED=1 # the harness's bookkeeping: nothing failed, so the work directory goes
