# lib.sh - shared helpers of the bench/compare_*.sh and run-all.sh scripts:
# finding the binaries, free loopback ports, starting servers pinned to a
# core and stopping them (and removing the scratch directory) on exit.
#
# Sourced, not run. Not here: any benchmark itself.
#
# The scripts read:
#   TRAIL_BIN   the build directory with trail, traild, bench/ (default: build/
#               beside this file's parent, the one `make build` makes)
#   BENCH_TMP   where scratch directories go (default /var/tmp: on disk, not
#               tmpfs, so that fsync means what it says)

BENCH_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TRAIL_BIN=${TRAIL_BIN:-$BENCH_SRC/build}
# shellcheck source=../scripts/clickhouse-config.bash
source "$BENCH_SRC/scripts/clickhouse-config.bash"
BENCH_TMP=${BENCH_TMP:-/var/tmp}
SERVER_CORE=${SERVER_CORE:-0}
SENDER_CORE=${SENDER_CORE:-1}

_bench_pids=()
_bench_dirs=()

bench_cleanup() {
    local pid
    for pid in "${_bench_pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${_bench_pids[@]}"; do
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    done
    if [ -z "${BENCH_KEEP:-}" ]; then
        local d
        for d in "${_bench_dirs[@]}"; do
            rm -rf "$d"
        done
    fi
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# bench_track PID: stop PID on exit (SIGTERM, then SIGKILL after 5 s).
bench_track() {
    _bench_pids+=("$1")
}

# bench_stop PID: stop PID now (SIGTERM), wait up to 30 s for it to exit.
bench_stop() {
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 300); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

# bench_scratch NAME: make a new scratch directory, removed on exit (kept
# with BENCH_KEEP=1), and set BENCH_DIR to it. Call it in the script's own
# shell (not in $(...)), or the exit trap would not know the directory.
bench_scratch() {
    BENCH_DIR=$(mktemp -d "$BENCH_TMP/trail-$1-XXXXXX")
    _bench_dirs+=("$BENCH_DIR")
}

# bench_port: a TCP port no socket uses, below the kernel's ephemeral range
# (net.ipv4.ip_local_port_range): a port in that range can be taken by any
# client's connect() (the sender's, a metrics poll's) between the pick and
# the server's bind, which then fails with "Address already in use".
bench_port() {
    local p lo
    lo=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
    lo=${lo:-32768}
    [ "$lo" -gt 12000 ] || lo=12000
    while :; do
        p=$((lo - 10000 + RANDOM % 10000))
        if ! ss -Htan "sport = :$p" 2>/dev/null | grep -q .; then
            echo "$p"
            return
        fi
    done
}

# bench_wait_port PORT [SECONDS [PID LOG]]: wait until something listens on
# 127.0.0.1:PORT. With PID and LOG: give up as soon as PID has exited, and
# show the end of LOG when giving up.
bench_wait_port() {
    for _ in $(seq $((${2:-20} * 10))); do
        ss -Htln "sport = :$1" 2>/dev/null | grep -q . && return 0
        if [ -n "${3:-}" ] && ! kill -0 "$3" 2>/dev/null; then
            echo "the server (pid $3) exited before listening on 127.0.0.1:$1" >&2
            [ -n "${4:-}" ] && tail -n 20 "$4" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "nothing listens on 127.0.0.1:$1 after ${2:-20} s" >&2
    [ -n "${4:-}" ] && tail -n 20 "$4" >&2
    return 1
}

# bench_pin CORE CMD...: exec CMD pinned to CORE when the machine has two
# cores or more and taskset is there; as it is otherwise. It execs, so call
# it in a subshell: `bench_pin 0 server &` (then $! is the server's pid) or
# `out=$(bench_pin 1 client)`.
bench_pin() {
    local core=$1
    shift
    if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
        exec taskset -c "$core" "$@"
    else
        exec "$@"
    fi
}

# bench_need FILE...: fail with a clear line when a binary is missing.
bench_need() {
    local f
    for f in "$@"; do
        if [ ! -x "$f" ]; then
            echo "missing $f: build first (make build, or cmake --build \$TRAIL_BIN)" >&2
            exit 1
        fi
    done
}

# bench_have CMD: is CMD installed?
bench_have() {
    command -v "$1" >/dev/null 2>&1
}

# kv KEY LINE: the value of key=value in a line of key=value pairs.
kv() {
    tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p" | head -n1
}

# ratio A B: A/B with two decimals, or "-" when either is missing or zero.
ratio() {
    awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else printf "-" }'
}

# rss_peak PID: the peak resident set size of PID in MB (VmHWM), or "-".
rss_peak() {
    awk '/^VmHWM:/ { printf "%.0f", $2 / 1024; found = 1 } END { if (!found) printf "-" }' \
        "/proc/$1/status" 2>/dev/null || echo -
}

# bench_load_note: one line on what else the machine is doing.
bench_load_note() {
    echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine shows here)"
}

# ch_start DIR: start a clickhouse-server with its own config and data under
# DIR, HTTP and native ports free on 127.0.0.1 only; sets CH_PORT (HTTP) and
# CH_PID. Returns 1 when clickhouse-server is not installed.
ch_start() {
    local d=$1 tport
    bench_have clickhouse-server || [ -x /usr/bin/clickhouse ] || return 1
    CH_PORT=$(bench_port)
    tport=$(bench_port)
    CH_CACHE_BYTES=268435456 CH_MEMORY_BYTES=4000000000 \
        clickhouse_write_config "$d" "$CH_PORT" "$tport" "" "<log_queries>0</log_queries>"
    local bin=clickhouse-server
    bench_have clickhouse-server || bin="/usr/bin/clickhouse server"
    # shellcheck disable=SC2086
    $bin --config-file="$d/config.xml" >"$d/stdout" 2>&1 &
    CH_PID=$!
    bench_track "$CH_PID"
    for _ in $(seq 300); do
        if curl -sf "http://127.0.0.1:$CH_PORT/ping" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    echo "clickhouse-server did not start; $d/server.err.log says:" >&2
    tail -5 "$d/server.err.log" >&2 || true
    return 1
}

# ch SQL: run SQL on the server ch_start started; the answer on stdout.
ch() {
    curl -sS --fail-with-body "http://127.0.0.1:$CH_PORT/" --data-binary "$1"
}

# ch_table: the events table (the rows of sqlite_bench rows), MergeTree
# ordered by (event, time), a partition per month.
ch_table() {
    ch "CREATE TABLE events (seq UInt64, time Int64, event String, severity UInt8, host String,
        uuid UUID, duser String, src String, trace_id String, attrs String)
        ENGINE = MergeTree PARTITION BY toYYYYMM(toDateTime(intDiv(time, 1000000)))
        ORDER BY (event, time)"
}
