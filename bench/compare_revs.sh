#!/usr/bin/env bash
# compare_revs.sh - is a change free? bench_verify and library ingest
# (bench_store) of an older commit against this tree, in one sitting.
#
# The older commit is extracted with `git archive` into
# $BENCH_TMP/trail-rev-SHA and built there (RelWithDebInfo, as `make build`,
# only the two benchmark targets; kept for the next run). This tree's
# binaries come from $TRAIL_BIN (default build/; built here when missing).
# The rounds alternate old then new, every run pinned with taskset to the
# same core and niced, so that whatever else the machine does falls on both
# builds alike. Then the medians and the ratio new/old.
#
#   verify   bench_verify --events N --runs R: the one-thread median of
#            each invocation (events/s), and its CPU time per record; each
#            invocation builds its own store with its own build first
#            (the store format may differ between the two commits)
#   ingest   bench_store --events N --size-events 0 (defaults otherwise:
#            2 producers, batch 512, fsync interval): events/s durable
#
# Not here: the daemon (compare_ingest.sh, compare_http.sh), queries.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

usage() {
    cat <<EOF
usage: bench/compare_revs.sh [--rev-old REV] [--rounds N] [--verify-events N]
                             [--verify-runs R] [--store-events N] [--core C]

bench_verify and bench_store of REV (default \$REV_OLD, else fad8153) and
of this tree's build, alternately, N rounds (default 5), each run pinned to
core C (default \$SERVER_CORE, 0). Prints every figure, then the medians
and new/old; a RESULT line at the end.

  --verify-events N  events in bench_verify's store (default 200000)
  --verify-runs R    verify passes per invocation (default 5)
  --store-events N   events bench_store appends (default 1000000)

Environment: REV_OLD, TRAIL_BIN (this tree's build directory, default
build/), BENCH_TMP (where the old build and the stores go), BENCH_KEEP=1.
EOF
}

rev_old=${REV_OLD:-fad8153}
rounds=5
v_events=200000
v_runs=5
s_events=1000000
core=$SERVER_CORE
while [ $# -gt 0 ]; do
    case "$1" in
    --rev-old) rev_old=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --verify-events) v_events=$2; shift 2 ;;
    --verify-runs) v_runs=$2; shift 2 ;;
    --store-events) s_events=$2; shift 2 ;;
    --core) core=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done

targets=(bench_verify bench_store)
sha=$(git -C "$BENCH_SRC" rev-parse --verify "$rev_old^{commit}")
old_src=$BENCH_TMP/trail-rev-${sha:0:12}
if [ ! -x "$old_src/build/bench/bench_store" ] || [ ! -x "$old_src/build/bench/bench_verify" ]; then
    echo "building ${sha:0:12} in $old_src (once; kept for the next run) ..."
    mkdir -p "$old_src"
    git -C "$BENCH_SRC" archive "$sha" | tar -x -C "$old_src"
    nice cmake -S "$old_src" -B "$old_src/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    nice cmake --build "$old_src/build" -j 1 --target "${targets[@]}" >/dev/null
fi
if [ ! -x "$TRAIL_BIN/bench/bench_store" ] || [ ! -x "$TRAIL_BIN/bench/bench_verify" ]; then
    echo "building this tree's benchmarks in $TRAIL_BIN ..."
    nice cmake -S "$BENCH_SRC" -B "$TRAIL_BIN" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    nice cmake --build "$TRAIL_BIN" -j 1 --target "${targets[@]}" >/dev/null
fi
old_bin=$old_src/build/bench
new_bin=$TRAIL_BIN/bench
bench_scratch revs

echo "== ${sha:0:12} (old) against $(git -C "$BENCH_SRC" rev-parse --short HEAD)$(git -C "$BENCH_SRC" diff --quiet HEAD || echo '+changes') (new), $rounds rounds, core $core"
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(uptime)"

# pinned CMD...: CMD niced, on the chosen core (when taskset and two cores are there).
pinned() {
    if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
        nice taskset -c "$core" "$@"
    else
        nice "$@"
    fi
}

# run_verify BIN: "EVENTS_PER_S CPU_US" of the one-thread median.
run_verify() {
    local out l
    out=$(pinned "$1/bench_verify" --events "$v_events" --runs "$v_runs")
    l=$(grep '^verify, 1 thread:' <<<"$out")
    sed -n 's/.* median [0-9.]* s = \([0-9]*\) events\/s; CPU \([0-9.]*\) us a record.*/\1 \2/p' <<<"$l"
}

# run_store BIN: events/s durable.
run_store() {
    local d=$BENCH_DIR/store out
    rm -rf "$d"
    out=$(pinned "$1/bench_store" --events "$s_events" --size-events 0 --dir "$d")
    rm -rf "$d"
    sed -n 's/^ingest: .* \([0-9]*\) events\/s durable.*/\1/p' <<<"$out"
}

declare -A vals
add() { vals[$1]="${vals[$1]:-} $2"; }
for i in $(seq "$rounds"); do
    for side in old new; do
        bin=$old_bin
        [ "$side" = new ] && bin=$new_bin
        read -r rate cpu < <(run_verify "$bin")
        add "verify_$side" "$rate"
        add "verifycpu_$side" "$cpu"
        s=$(run_store "$bin")
        add "store_$side" "$s"
        echo "round $i $side: verify $rate events/s ($cpu us a record), ingest $s events/s; load $(cut -d' ' -f1-3 /proc/loadavg)"
    done
done

median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo
printf "%-40s %14s %14s %9s\n" "median of $rounds" "old" "new" "new/old"
result="RESULT revs old=${sha:0:12}"
for k in verify verifycpu store; do
    o=$(median "${vals[${k}_old]}")
    n=$(median "${vals[${k}_new]}")
    case $k in
    verify) what="bench_verify 1 thread, events/s" ;;
    verifycpu) what="bench_verify CPU us a record" ;;
    store) what="library ingest, events/s durable" ;;
    esac
    printf "%-40s %14s %14s %9s\n" "$what" "$o" "$n" "$(ratio "$n" "$o")"
    result="$result ${k}_old=$o ${k}_new=$n ${k}_ratio=$(ratio "$n" "$o")"
done
echo "(events/s: higher is better; CPU us a record: lower is better)"
uptime
echo "$result"
