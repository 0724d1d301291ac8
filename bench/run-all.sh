#!/usr/bin/env bash
# run-all.sh - every benchmark and comparison in bench/, at a size that
# finishes in minutes (1,000,000 events) or, with --full, at ten million;
# then a summary table. What `make bench` runs.
#
# Each part is its own script or program and can be run alone (each has
# --help); a part whose program is not built yet (bench_query, bench_verify
# while they are being written) is skipped with a line saying so.
#
# Not here: the figures themselves (docs/BENCHMARKS.md records them).
set -uo pipefail
source "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)

usage() {
    cat <<EOF
usage: bench/run-all.sh [--full] [--events N] [--only PART[,PART...]] [--log FILE] [--plots]

Runs, in order: hash (bench_hash), json (bench_json), store
(compare_store.sh: bench_store vs SQLite vs ClickHouse), ingest
(compare_ingest.sh: traild vs rsyslog vs syslog-ng over TCP syslog), http
(compare_http.sh), query (compare_query.sh: SQLite and ClickHouse beside
bench_query), verify (bench_verify), cluster (compare_cluster.sh: delivery
into a replicated ClickHouse cluster against its bulk load, the six questions
through --clickhouse beside --store), then prints a summary.

  --full       ten million events (default: 1000000). At ten million the
               ingest comparison's sender holds ~9 GB of syslog lines while
               it frames them, and stops after 120 s per server.
  --events N   another size
  --only LIST  only these parts (comma-separated names above)
  --log FILE   also write everything to FILE (default: $BENCH_TMP/trail-bench-DATE.log)
  --plots      then sweep bench_store over batch sizes and fsync intervals
               (best of PLOT_REPEAT=3 runs a point, PLOT_EVENTS events each;
               PLOT_PARTS="store query" picks the curves),
               and (when bench_query is built) compare_query.sh over store
               sizes, and render the curves with gnuplot (bench/plots/*.gp)
               into docs/img/*.png, the data beside them as *.dat

Environment: TRAIL_BIN (build directory, default build/), BENCH_TMP, BENCH_KEEP=1.
The machine should be otherwise idle; the scripts print its load average.
EOF
}

events=1000000
full=0
plots=0
only=""
log=""
while [ $# -gt 0 ]; do
    case "$1" in
    --full) full=1; events=10000000; shift ;;
    --events) events=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --log) log=$2; shift 2 ;;
    --plots) plots=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
[ -n "$log" ] || log=$BENCH_TMP/trail-bench-$(date +%Y%m%d-%H%M%S).log
exec > >(tee "$log") 2>&1

# store_rate ARGS...: events/s of bench_store (durable, no size part), the
# best of PLOT_REPEAT runs (default 3): on a shared machine the best run is
# the one least disturbed by the others.
store_rate() {
    local r best=0
    for _ in $(seq "${PLOT_REPEAT:-3}"); do
        r=$("$TRAIL_BIN/bench/bench_store" --size-events 0 "$@" |
            sed -n 's/^ingest: .* \([0-9]*\) events\/s durable.*/\1/p')
        [ "${r:-0}" -gt "$best" ] && best=$r
    done
    echo "$best"
}

# plots: the sweeps and their PNGs (docs/img/).
plots() {
    local img=$BENCH_SRC/docs/img n=$1 b i r1 r2 r3 sizes s l q e v row
    mkdir -p "$img"
    echo
    echo "################ plots: bench_store sweeps at $n events per point"
    if [[ " ${PLOT_PARTS:-store query} " == *" store "* ]] && [ -x "$TRAIL_BIN/bench/bench_store" ]; then
        echo "# batch always interval2ms interval10ms (events/s, best of ${PLOT_REPEAT:-3} runs of $n events, $(date -u +%F), load $(cut -d' ' -f1-3 /proc/loadavg))" >"$img/store_batch.dat"
        for b in 8 16 32 64 128 256 512 1024; do # bench_store takes batches up to its pool of 1024 per thread
            r1=$(store_rate --events "$n" --batch "$b" --policy always)
            r2=$(store_rate --events "$n" --batch "$b" --policy interval --interval-ms 2)
            r3=$(store_rate --events "$n" --batch "$b" --policy interval --interval-ms 10)
            echo "$b $r1 $r2 $r3" | tee -a "$img/store_batch.dat"
        done
        echo "# interval_ms batch64 batch512 (events/s, best of ${PLOT_REPEAT:-3} runs of $n events, $(date -u +%F), load $(cut -d' ' -f1-3 /proc/loadavg))" >"$img/store_interval.dat"
        for i in 1 2 5 10 20 50; do
            r1=$(store_rate --events "$n" --batch 64 --policy interval --interval-ms "$i")
            r2=$(store_rate --events "$n" --batch 512 --policy interval --interval-ms "$i")
            echo "$i $r1 $r2" | tee -a "$img/store_interval.dat"
        done
        if bench_have gnuplot; then
            for s in store_batch store_interval; do
                gnuplot -e "datafile='$img/$s.dat'; outfile='$img/$s.png'" "$here/plots/$s.gp"
                echo "wrote $img/$s.png"
            done
        else
            echo "plots: gnuplot not installed (scripts/install-deps.sh bench), PNGs not rendered"
        fi
    fi
    if [[ " ${PLOT_PARTS:-store query} " != *" query "* ]]; then
        :
    elif [ -x "$TRAIL_BIN/bench/bench_query" ]; then
        sizes="100000 300000 1000000"
        [ "$full" = 1 ] && sizes="$sizes 3000000 10000000"
        echo "# events then trail/SQLite/ClickHouse ms for user trace counts text rare warning ($(date -u +%F), load $(cut -d' ' -f1-3 /proc/loadavg))" >"$img/query_size.dat"
        for s in $sizes; do
            l=$("$here/compare_query.sh" --events "$s" --runs 3 | grep '^RESULT ')
            row="$s"
            for q in user trace counts text rare warning; do
                for e in trail sqlite clickhouse; do
                    v=$(kv "${e}_$q" "$l")
                    row="$row ${v:--1}"
                done
            done
            echo "$row" | tee -a "$img/query_size.dat"
        done
        bench_have gnuplot && gnuplot -e "datafile='$img/query_size.dat'; outfile='$img/query_size.png'" "$here/plots/query_size.gp" &&
            echo "wrote $img/query_size.png"
    else
        echo "plots: bench_query not built yet, no query-time curve"
    fi
}

want() {
    [ -z "$only" ] || [[ ",$only," == *",$1,"* ]]
}

bench_need "$TRAIL_BIN/trail"
echo "trail benchmarks: $events events$([ "$full" = 1 ] && echo " (--full)"), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "build: $TRAIL_BIN ($(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$TRAIL_BIN/CMakeCache.txt" 2>/dev/null))"
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; kernel $(uname -r)"
bench_load_note
results=()
status=0

part() {
    local name=$1
    shift
    echo
    echo "################ $name"
    local t0=$SECONDS rc tmp
    tmp=$(mktemp "$BENCH_TMP/trail-bench-part-XXXXXX")
    "$@" 2>&1 | tee "$tmp"
    rc=${PIPESTATUS[0]}
    local l
    while IFS= read -r l; do
        results+=("$l")
    done < <(grep '^RESULT ' "$tmp" || true)
    if [ "$name" = verify ]; then
        # bench_verify prints "verify, T threads: ... best S s = N events/s, ..."
        results+=("RESULT verify best=$(sed -n 's/^verify, .* best [0-9.]* s = \([0-9]*\) events\/s.*/\1/p' "$tmp" | sort -n | tail -n1)")
    fi
    rm -f "$tmp"
    if [ "$rc" -ne 0 ]; then
        echo "$name: failed (exit $rc)"
        status=1
    fi
    echo "($name: $((SECONDS - t0)) s)"
}

if want hash; then
    if [ -x "$TRAIL_BIN/bench/bench_hash" ]; then
        part hash "$TRAIL_BIN/bench/bench_hash" 1000000
    else
        echo "hash: bench_hash not built yet, skipped"
    fi
fi
if want json; then
    if [ -x "$TRAIL_BIN/bench/bench_json" ]; then
        part json "$TRAIL_BIN/bench/bench_json"
    else
        echo "json: bench_json not built yet, skipped"
    fi
fi
want store && part store "$here/compare_store.sh" --events "$events"
want ingest && part ingest "$here/compare_ingest.sh" --events "$events"
want http && part http "$here/compare_http.sh" --events "$events"
# the same with small batches over more connections: the latency a producer
# sending as events happen sees
want http && part http "$here/compare_http.sh" --events "$events" --batch 100 --conns 16
want query && part query "$here/compare_query.sh" --events "$events"
want cluster && part cluster "$here/compare_cluster.sh" --events "$events" --runs 3
if want verify; then
    if [ -x "$TRAIL_BIN/bench/bench_verify" ]; then
        args=()
        vhelp=$("$TRAIL_BIN/bench/bench_verify" --help 2>&1 || true)
        grep -q -- "--events" <<<"$vhelp" && args+=(--events "$events")
        part verify "$TRAIL_BIN/bench/bench_verify" "${args[@]}"
    else
        echo
        echo "verify: bench_verify not built yet, skipped"
    fi
fi

# summary from the RESULT lines
get() { # get PART KEY
    local l
    for l in "${results[@]}"; do
        if [[ "$l" == "RESULT $1 "* ]]; then
            kv "$2" "$l"
            return
        fi
    done
}
getb() { # getb PART BATCH KEY: from the RESULT line of that batch size
    local l
    for l in "${results[@]}"; do
        if [[ "$l" == "RESULT $1 "* && "$l" == *" batch=$2 "* ]]; then
            kv "$3" "$l"
            return
        fi
    done
}
row() { # row WHAT TRAIL PEER1 PEER2 TARGET
    printf "%-44s %14s %14s %14s   %s\n" "$1" "${2:--}" "${3:--}" "${4:--}" "$5"
}
echo
echo "################ summary ($events events; see the parts above for the commands' own lines)"
row "" "trail" "peer 1" "peer 2" "target"
row "library ingest, events/s durable" "$(get store trail)" "$(get store sqlite)" "$(get store clickhouse)" ">= 1000000 (peers: SQLite, ClickHouse)"
row "bytes per event on disk" "$(get store trail_bytes)" "$(get store sqlite_bytes)" "$(get store clickhouse_bytes)" "<= 40"
row "TCP syslog ingest, events/s" "$(get ingest trail)" "$(get ingest rsyslog)" "$(get ingest syslog_ng)" ">= 2x rsyslog (peers: rsyslog, syslog-ng)"
row "TCP syslog sender alone, msg/s" "$(get ingest sender)" "" "" "well above every server"
row "HTTP NDJSON ingest, events/s (batch 1000)" "$(getb http 1000 rate)" "" "" ">= 300000"
row "HTTP ack p99 at half load, ms (batch 1000)" "$(getb http 1000 half_p99_ms)" "" "" "<= 5"
row "HTTP NDJSON ingest, events/s (batch 100)" "$(getb http 100 rate)" "" "" ">= 300000"
row "HTTP ack p99 at half load, ms (batch 100)" "$(getb http 100 half_p99_ms)" "" "" "<= 5"
row "traild peak RSS, MB (HTTP run)" "$(get http rss_mb)" "" "" "<= 256"
for q in user trace counts text rare warning; do
    row "query $q, ms" "$(get query trail_$q)" "$(get query sqlite_$q)" "$(get query clickhouse_$q)" "(peers: SQLite, ClickHouse)"
done
row "trail verify, events/s (best thread count)" "$(get verify best)" "" "" ">= 1000000"
row "bytes per event, query set (with FTS)" "$(get query trail_bytes)" "$(get query sqlite_bytes)" "$(get query clickhouse_bytes)" ""
bench_load_note
if [ "$plots" = 1 ]; then
    plots "${PLOT_EVENTS:-$([ "$full" = 1 ] && echo 2000000 || echo 500000)}"
fi
echo "log: $log"
exit $status
