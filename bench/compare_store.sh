#!/usr/bin/env bash
# compare_store.sh - library ingest and bytes per event: trail's store
# (bench_store) against SQLite and a ClickHouse bulk load of the same
# generator events.
#
#   trail       bench/bench_store: producer threads append generator events
#               in batches and wait for durability (group commit, fsync
#               interval 10 ms, and again with fsync always); bytes per event
#               of a second, sealed store of fresh events, every file counted
#               (segments, Merkle tree roots, metadata);
#   SQLite      bench/sqlite_bench load: one table with the event's fields
#               and its other attributes as JSON, indexed on time, (event,
#               time), (severity, time), (duser, time), (src, time) and
#               trace id; WAL, synchronous FULL, one transaction per 1000
#               rows; bytes = database + WAL after a checkpoint;
#   ClickHouse  Debian's clickhouse-server, started here with its own config
#               and data directory on free ports: a MergeTree table ordered
#               by (event, time), the same rows as TSV in one INSERT over HTTP
#               (timed: the INSERT only, not rendering the TSV); bytes from
#               system.parts (active parts, bytes_on_disk).
#
# Not here: the query set (compare_query.sh), daemons (compare_ingest.sh).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

usage() {
    cat <<EOF
usage: bench/compare_store.sh [--events N] [--no-sqlite] [--no-clickhouse]

Library ingest (events/s, durable) and bytes per event on disk: trail's
store, SQLite (indexed, WAL, synchronous FULL) and ClickHouse (MergeTree,
bulk TSV over HTTP) on the same N generator events (default 1000000).

Environment: TRAIL_BIN (build directory, default build/), BENCH_TMP, BENCH_KEEP=1.
EOF
}

events=1000000
do_sqlite=1
do_ch=1
while [ $# -gt 0 ]; do
    case "$1" in
    --events) events=$2; shift 2 ;;
    --no-sqlite) do_sqlite=0; shift ;;
    --no-clickhouse) do_ch=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done

bench_need "$TRAIL_BIN/bench/bench_store"
bench_scratch store
dir=$BENCH_DIR
echo "== library ingest and bytes per event: $events events"
bench_load_note

# trail
line=$("$TRAIL_BIN/bench/bench_store" --events "$events" --size-events "$events" --dir "$dir/trail")
echo "$line"
trail_rate=$(sed -n 's/^ingest: .* \([0-9]*\) events\/s durable.*/\1/p' <<<"$line")
trail_bytes=$(sed -n 's/^on disk: .*all files \([0-9.]*\) bytes\/event.*/\1/p' <<<"$line")
trail_sealed=$(sed -n 's/^on disk: .*sealed segments .* \([0-9.]*\) bytes\/event.*/\1/p' <<<"$line")
rm -rf "$dir/trail"
line=$("$TRAIL_BIN/bench/bench_store" --events "$events" --policy always --size-events 0 --dir "$dir/trail")
echo "$line"
trail_always=$(sed -n 's/^ingest: .* \([0-9]*\) events\/s durable.*/\1/p' <<<"$line")
rm -rf "$dir/trail"

# SQLite
sqlite_rate="" sqlite_bytes=""
if [ "$do_sqlite" = 1 ]; then
    if [ -x "$TRAIL_BIN/bench/sqlite_bench" ]; then
        line=$("$TRAIL_BIN/bench/sqlite_bench" load --db "$dir/events.db" --events "$events")
        echo "$line"
        sqlite_rate=$(kv rows_per_s "$(head -n1 <<<"$line")")
        sqlite_bytes=$(kv bytes_per_row "$(head -n1 <<<"$line")")
        rm -f "$dir/events.db" "$dir/events.db-wal" "$dir/events.db-shm"
    else
        echo "sqlite: bench/sqlite_bench not built (needs libsqlite3-dev: scripts/install-deps.sh bench), skipped"
    fi
fi

# ClickHouse
ch_rate="" ch_bytes=""
if [ "$do_ch" = 1 ]; then
    if [ -x "$TRAIL_BIN/bench/sqlite_bench" ] && ch_start "$dir/clickhouse"; then
        ch_table
        "$TRAIL_BIN/bench/sqlite_bench" rows --events "$events" >"$dir/rows.tsv"
        t0=$(date +%s.%N)
        curl -sS --fail-with-body "http://127.0.0.1:$CH_PORT/?query=INSERT%20INTO%20events%20FORMAT%20TabSeparated" \
            -H "Expect:" -X POST -T "$dir/rows.tsv"
        t1=$(date +%s.%N)
        rm -f "$dir/rows.tsv"
        read -r rows bytes < <(ch "SELECT sum(rows), sum(bytes_on_disk) FROM system.parts WHERE table = 'events' AND active")
        ch_rate=$(awk -v n="$rows" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
        ch_bytes=$(awk -v n="$rows" -v b="$bytes" 'BEGIN { printf "%.1f", b / n }')
        echo "clickhouse load: rows=$rows secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }') rows_per_s=$ch_rate bytes=$bytes bytes_per_row=$ch_bytes version=$(ch 'SELECT version()')"
        bench_stop "$CH_PID"
    else
        echo "clickhouse: clickhouse-server not installed or did not start, skipped"
    fi
fi

echo
printf "%-40s %14s %14s %12s\n" "store" "events/s" "bytes/event" "trail/x"
printf "%-40s %14s %14s %12s\n" "trail (fsync interval 10 ms)" "$trail_rate" "$trail_bytes" "1.00"
printf "%-40s %14s %14s %12s\n" "trail (fsync always)" "$trail_always" "$trail_bytes" "$(ratio "$trail_rate" "$trail_always")"
[ -n "$sqlite_rate" ] && printf "%-40s %14s %14s %12s\n" "SQLite (6 indexes, WAL, sync FULL)" "$sqlite_rate" "$sqlite_bytes" "$(ratio "$trail_rate" "$sqlite_rate")"
[ -n "$ch_rate" ] && printf "%-40s %14s %14s %12s\n" "ClickHouse (MergeTree, bulk TSV)" "$ch_rate" "$ch_bytes" "$(ratio "$trail_rate" "$ch_rate")"
if awk -v s="${trail_sealed:-0}" 'BEGIN { exit !(s == 0) }'; then
    echo "note: no segment of trail's store was sealed (compressed) at this size; its bytes/event is the open segment's"
else
    echo "trail: $trail_sealed bytes/event in sealed segments with the tree roots and metadata; $trail_bytes with the open segment"
fi
echo "targets: trail >= 1000000 events/s durable, <= 40 bytes/event"
echo "RESULT store events=$events trail=$trail_rate trail_always=$trail_always trail_bytes=$trail_bytes sqlite=$sqlite_rate sqlite_bytes=$sqlite_bytes clickhouse=$ch_rate clickhouse_bytes=$ch_bytes"
