#!/usr/bin/env bash
# compare_query.sh - the query set on the same generator events in SQLite
# (indexed, FTS5 for free text) and in clickhouse-server, timed inside each
# engine, beside trail's own bench/bench_query when it is built.
#
# The questions, the six of bench/bench_query.c, with the same parameters
# (`sqlite_bench pick` takes them from the data as bench_query does):
#   user        one user's events in the last 30 days, newest first, limit 100
#   trace       every event of one trace id (phxTraceId)
#   counts      counts per event id per hour over 30 days
#   text        a free-text term in any attribute (a surname), newest 100
#   rare        a rare free-text term (a trace id's word), newest 100
#   warning     the newest 100 events of severity WARNING or worse
# (free text: SQLite an FTS5 word match; ClickHouse a case-insensitive
# substring search over every attribute column)
# and bytes per event on disk, indexes included.
#
# Timing: SQLite in process around sqlite3_step() over every row
# (sqlite_bench query); ClickHouse the server's own "elapsed" of FORMAT JSON.
# Median of --runs warm runs after one warm-up run.
#
# Not here: the load rates (compare_store.sh); trail's own timing, which is
# bench_query's.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

usage() {
    cat <<EOF
usage: bench/compare_query.sh [--events N] [--runs R] [--no-sqlite] [--no-clickhouse]

The query set on N generator events over 30 days (default 10000000; run-all.sh
passes 1000000 unless --full) in SQLite (indexed + FTS5) and ClickHouse
(MergeTree ordered by (event, time)), median of R warm runs (default 5), with
trail's bench/bench_query beside them when it is built.

Environment: TRAIL_BIN (build directory, default build/), BENCH_TMP, BENCH_KEEP=1.
EOF
}

events=10000000
runs=5
do_sqlite=1
do_ch=1
while [ $# -gt 0 ]; do
    case "$1" in
    --events) events=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --no-sqlite) do_sqlite=0; shift ;;
    --no-clickhouse) do_ch=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done

if [ ! -x "$TRAIL_BIN/bench/sqlite_bench" ]; then
    echo "query comparison: bench/sqlite_bench not built (needs libsqlite3-dev), skipped"
    exit 0
fi
sb=$TRAIL_BIN/bench/sqlite_bench
bench_scratch query
dir=$BENCH_DIR
echo "== query set: $events events over 30 days, median of $runs warm runs"
bench_load_note
params=$("$sb" pick --events "$events" --days 30)
echo "parameters: $params"
user=$(kv user "$params")
trace=$(kv trace "$params")
text=$(kv text "$params")
rare=$(kv rare "$params")
since=$(kv since_us "$params")
warning=$(kv warning "$params")
questions=(user trace counts text rare warning)
declare -A sq chq sqrows chrows trq trrows

# trail first: bench_query builds its store and picks the values from it;
# SQLite and ClickHouse then get the same values (pick's, if they differ)
trail_bytes=""
if [ -x "$TRAIL_BIN/bench/bench_query" ]; then
    echo "trail: bench_query --events $events --days 30 --runs $runs"
    tout=$("$TRAIL_BIN/bench/bench_query" --events "$events" --days 30 --runs "$runs" 2>&1) ||
        echo "trail: bench_query failed"
    echo "$tout"
    for q in "${questions[@]}"; do
        l=$(grep "^RESULT name=$q " <<<"$tout" || true)
        trq[$q]=$(kv median_ms "$l")
        trrows[$q]=$(kv rows "$l")
    done
    trail_bytes=$(kv value "$(grep '^RESULT name=bytes_per_event ' <<<"$tout" || true)")
    values=$(grep '^values: user ' <<<"$tout" | head -n1 || true)
    if [[ "$values" =~ ^values:\ user\ ([^,]*),\ trace\ ([^,]*),\ term\ ([^,]*),\ rare\ term\ ([^;]*)\; ]]; then
        if [ "$user $trace $text $rare" != "${BASH_REMATCH[1]} ${BASH_REMATCH[2]} ${BASH_REMATCH[3]} ${BASH_REMATCH[4]}" ]; then
            echo "note: bench_query took other values than sqlite_bench pick; the peers get bench_query's"
            user=${BASH_REMATCH[1]} trace=${BASH_REMATCH[2]} text=${BASH_REMATCH[3]} rare=${BASH_REMATCH[4]}
        fi
    fi
else
    echo "trail: bench/bench_query not built yet; trail's column is empty"
fi
echo "values: user=$user trace=$trace text=$text rare=$rare since_us=$since"

# SQLite
sqlite_bytes=""
if [ "$do_sqlite" = 1 ]; then
    line=$("$sb" load --db "$dir/events.db" --events "$events" --days 30 --fts)
    echo "$line"
    sqlite_bytes=$(kv bytes_per_row "$(head -n1 <<<"$line")")
    out=$("$sb" query --db "$dir/events.db" --runs "$runs" --user "$user" --trace "$trace" \
        --text "$text" --rare "$rare")
    echo "$out"
    for q in "${questions[@]}"; do
        l=$(grep "^sqlite query: $q " <<<"$out" || true)
        sq[$q]=$(kv ms "$l")
        sqrows[$q]=$(kv rows "$l")
    done
    rm -f "$dir/events.db" "$dir/events.db-wal" "$dir/events.db-shm"
fi

# ClickHouse
ch_bytes=""
# ch_time SQL: the median of the server's elapsed over $runs runs, in ms, and the rows.
ch_time() {
    local sql=$1 k json ts=() rows=0
    for k in $(seq 0 "$runs"); do
        json=$(ch "$sql FORMAT JSON")
        rows=$(sed -n 's/^\t"rows": \([0-9]*\),*$/\1/p' <<<"$json" | head -n1)
        [ "$k" = 0 ] && continue
        ts+=("$(sed -n 's/^\t\t"elapsed": \([0-9.e-]*\),*$/\1/p' <<<"$json")")
    done
    printf '%s\n' "${ts[@]}" | sort -g | awk -v rows="$rows" '{ v[NR] = $1 } END {
        m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f %s\n", m * 1000, rows }'
}
if [ "$do_ch" = 1 ]; then
    if ch_start "$dir/clickhouse"; then
        ch_table
        "$sb" rows --events "$events" --days 30 >"$dir/rows.tsv"
        curl -sS --fail-with-body "http://127.0.0.1:$CH_PORT/?query=INSERT%20INTO%20events%20FORMAT%20TabSeparated" \
            -H "Expect:" -X POST -T "$dir/rows.tsv"
        rm -f "$dir/rows.tsv"
        ch "OPTIMIZE TABLE events FINAL"
        read -r rows bytes < <(ch "SELECT sum(rows), sum(bytes_on_disk) FROM system.parts WHERE table = 'events' AND active")
        ch_bytes=$(awk -v n="$rows" -v b="$bytes" 'BEGIN { printf "%.1f", b / n }')
        echo "clickhouse: $rows rows, $bytes bytes on disk, $ch_bytes bytes per row"
        any="concat(duser, ' ', src, ' ', trace_id, ' ', attrs)"
        declare -A sql=(
            [user]="SELECT * FROM events WHERE duser = '$user' AND time >= $since ORDER BY time DESC LIMIT 100"
            [trace]="SELECT * FROM events WHERE trace_id = '$trace' ORDER BY time"
            [counts]="SELECT event, intDiv(time, 3600000000) AS hour, count() FROM events WHERE time >= $since GROUP BY event, hour"
            [text]="SELECT * FROM events WHERE positionCaseInsensitive($any, '$text') > 0 ORDER BY time DESC LIMIT 100"
            [rare]="SELECT * FROM events WHERE positionCaseInsensitive($any, '$rare') > 0 ORDER BY time DESC LIMIT 100"
            [warning]="SELECT * FROM events WHERE severity >= $warning ORDER BY time DESC LIMIT 100"
        )
        for q in "${questions[@]}"; do
            read -r ms r < <(ch_time "${sql[$q]}")
            chq[$q]=$ms
            chrows[$q]=$r
            echo "clickhouse query: $q ms=$ms rows=$r"
        done
        bench_stop "$CH_PID"
    else
        echo "clickhouse: clickhouse-server not installed or did not start, skipped"
    fi
fi

echo
printf "%-12s %10s %10s %12s %20s %10s %10s\n" "question" "trail ms" "SQLite ms" "ClickHouse ms" "rows trail/sq/ch" "sq/trail" "ch/trail"
for q in "${questions[@]}"; do
    printf "%-12s %10s %10s %12s %20s %10s %10s\n" "$q" "${trq[$q]:--}" "${sq[$q]:--}" "${chq[$q]:--}" \
        "${trrows[$q]:--}/${sqrows[$q]:--}/${chrows[$q]:--}" "$(ratio "${sq[$q]:-0}" "${trq[$q]:-0}")" \
        "$(ratio "${chq[$q]:-0}" "${trq[$q]:-0}")"
done
printf "%-12s %10s %10s %12s\n" "bytes/event" "${trail_bytes:--}" "${sqlite_bytes:--}" "${ch_bytes:--}"
echo "(sq/trail and ch/trail: how many times longer the peer took; > 1 means trail is faster)"
res="RESULT query events=$events"
for q in "${questions[@]}"; do
    res="$res trail_$q=${trq[$q]:-} sqlite_$q=${sq[$q]:-} clickhouse_$q=${chq[$q]:-}"
done
echo "$res trail_bytes=$trail_bytes sqlite_bytes=$sqlite_bytes clickhouse_bytes=$ch_bytes"
