#!/usr/bin/env bash
# compare_ingest.sh - daemon ingest over TCP syslog: traild against rsyslog and
# syslog-ng on the same stream, each server pinned to one core, fed by
# bench/sender pinned to the other.
#
# What it does, in order:
#   1. renders N generator events as RFC 5424 syslog (`trail loadgen --format
#      syslog`, the event in [trail@32473 ...] structured data); the sender
#      frames them with octet counting (RFC 6587) and splits them over C
#      connections;
#   2. measures the sender alone into a discarding sink (sender drain), to
#      show that the sender is not what limits the servers;
#   3. traild, durable (fsync = interval, 10 ms) with integrity on (hash chain
#      and Merkle tree always; signed checkpoints with a fresh key), strict
#      validation; counted by its metric trail_events_in_total{input=
#      "syslog_tcp"} while it runs and by `trail stats` after it stops;
#   4. rsyslog: imptcp on a port, one omfile action with a plain template,
#      its own config, work directory and pid file, `-n`;
#   5. syslog-ng: its syslog() source (RFC 5424 with octet counting; network()
#      reads LF-framed lines only), one file() destination with a plain
#      template, `-F`, its own control socket, pid and persist files;
#   and prints events/s of each (what the server wrote, divided by the time
#   from the first byte sent to the last output seen) and trail's ratios.
#
# Not here: HTTP ingest (compare_http.sh), library ingest (compare_store.sh).
# Every server listens on 127.0.0.1 only and is stopped on exit.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

usage() {
    cat <<EOF
usage: bench/compare_ingest.sh [--events N] [--conns C] [--only trail|rsyslog|syslog-ng]
                               [--fsync-ms MS] [--max-secs S] [--uuids]

Daemon ingest over TCP syslog (RFC 5424, octet counting): traild against
rsyslog and syslog-ng on the same N events (default 1000000) over C
connections (default 4). Servers pinned to core $SERVER_CORE, the sender to core
$SENDER_CORE. traild: fsync every MS ms (default 10), integrity on. The sender
stops after S seconds per server (default 120) if the server has not taken
the whole stream by then; the rate is then over what it wrote. --uuids gives
every message a producer uuid, so that traild's duplicate check runs on
each event (docs/store.md, "Duplicates").

Environment: TRAIL_BIN (build directory, default build/), BENCH_TMP (scratch,
default /var/tmp), BENCH_KEEP=1 keeps the scratch directory,
SYSLOG_NG (the syslog-ng binary; default: syslog-ng on PATH, else the copy
that scripts/install-deps.sh bench unpacks under /opt/trail-bench).
EOF
}

events=1000000
conns=4
only=""
fsync_ms=10
max_secs=120
uuids=0
while [ $# -gt 0 ]; do
    case "$1" in
    --events) events=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --fsync-ms) fsync_ms=$2; shift 2 ;;
    --max-secs) max_secs=$2; shift 2 ;;
    --uuids) uuids=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done

bench_need "$TRAIL_BIN/trail" "$TRAIL_BIN/traild" "$TRAIL_BIN/bench/sender"
sender=$TRAIL_BIN/bench/sender
bench_scratch ingest
dir=$BENCH_DIR

echo "== daemon ingest over TCP syslog: $events events, $conns connections"
bench_load_note
"$TRAIL_BIN/trail" loadgen -n "$events" -d 1 --format syslog >"$dir/stream.syslog"
if [ "$uuids" = 1 ]; then
    # a distinct producer uuid in each message's structured data
    python3 - "$dir/stream.syslog" "$dir/stream.uuid" <<'PY'
import sys
with open(sys.argv[1], "rb") as src, open(sys.argv[2], "wb") as out:
    for n, line in enumerate(src, 1):
        out.write(line.replace(b"[trail@32473 ", b'[trail@32473 uuid="%08x-0000-4000-8000-%012x" ' % (n, n), 1))
PY
    mv "$dir/stream.uuid" "$dir/stream.syslog"
fi
echo "stream: $(wc -c <"$dir/stream.syslog") bytes, $(awk -v b="$(wc -c <"$dir/stream.syslog")" -v n="$events" 'BEGIN { printf "%.0f", b / n }') bytes per message before framing"

declare -A rate written rss

# 1. the sender alone
port=$(bench_port)
bench_pin "$SERVER_CORE" "$sender" drain --listen "127.0.0.1:$port" --conns "$conns" >"$dir/drain.out" &
drain_pid=$!
bench_track "$drain_pid"
bench_wait_port "$port"
line=$(bench_pin "$SENDER_CORE" "$sender" tcp --connect "127.0.0.1:$port" --input "$dir/stream.syslog" --conns "$conns")
wait "$drain_pid" || true
sender_rate=$(kv rate "$line")
echo "sender alone into a discarding sink: $sender_rate msg/s ($(cat "$dir/drain.out"))"

# 2. traild
run_trail() {
    local d=$dir/trail sport hport pid line n own
    mkdir -p "$d"
    sport=$(bench_port)
    hport=$(bench_port)
    "$TRAIL_BIN/trail" keygen --out "$d/key" >/dev/null
    cat >"$d/trail.conf" <<EOF
[server]
host = bench
[store]
path = $d/store
fsync = interval
fsync_interval_ms = $fsync_ms
signing_key = $d/key.key
[listen]
http = 127.0.0.1:$hport
syslog_udp = off
syslog_tcp = 127.0.0.1:$sport
[validation]
policy = strict
EOF
    bench_pin "$SERVER_CORE" "$TRAIL_BIN/traild" -c "$d/trail.conf" >"$d/traild.log" 2>&1 &
    pid=$!
    bench_track "$pid"
    bench_wait_port "$sport" 30 "$pid" "$d/traild.log"
    bench_wait_port "$hport" 30 "$pid" "$d/traild.log"
    line=$(bench_pin "$SENDER_CORE" "$sender" tcp --connect "127.0.0.1:$sport" \
        --input "$dir/stream.syslog" --conns "$conns" --max-secs "$max_secs" \
        --watch-metric "127.0.0.1:$hport" 'trail_events_in_total{input="syslog_tcp"}' \
        --expect "$events" --stall-ms 5000)
    rss[trail]=$(rss_peak "$pid")
    # the store holds the stream's events and traild's own (start, started,
    # and the stopped event written at shutdown)
    own=$(curl -s "http://127.0.0.1:$hport/metrics" | awk '$1 == "trail_events_in_total{input=\"trail\"}" { print $2 }')
    bench_stop "$pid"
    n=$("$TRAIL_BIN/trail" stats --store "$d/store" | awk '$1 == "events" { print $2 }')
    n=$((n - ${own:-0} - 1))
    written[trail]=$n
    rate[trail]=$(awk -v n="$(kv served "$line")" -v s="$(kv served_secs "$line")" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
    echo "traild: $line"
    echo "traild: store holds $n events from the stream; $("$TRAIL_BIN/trail" stats --store "$d/store" | awk '$1 == "bytes/event"')"
}

# 3. rsyslog
run_rsyslog() {
    local d=$dir/rsyslog port pid line
    mkdir -p "$d/work"
    port=$(bench_port)
    cat >"$d/rsyslog.conf" <<EOF
global(workDirectory="$d/work" maxMessageSize="64k")
module(load="imptcp")
template(name="plain" type="string"
         string="%TIMESTAMP:::date-rfc3339% %HOSTNAME% %APP-NAME% %MSGID% %STRUCTURED-DATA% %msg%\n")
ruleset(name="bench") {
    action(type="omfile" file="$d/out.log" template="plain")
}
input(type="imptcp" address="127.0.0.1" port="$port" ruleset="bench")
EOF
    bench_pin "$SERVER_CORE" /usr/sbin/rsyslogd -n -f "$d/rsyslog.conf" -i "$d/rsyslogd.pid" >"$d/rsyslogd.log" 2>&1 &
    pid=$!
    bench_track "$pid"
    bench_wait_port "$port" 30 "$pid" "$d/rsyslogd.log"
    line=$(bench_pin "$SENDER_CORE" "$sender" tcp --connect "127.0.0.1:$port" \
        --input "$dir/stream.syslog" --conns "$conns" --max-secs "$max_secs" --watch-file "$d/out.log" --stall-ms 3000)
    rss[rsyslog]=$(rss_peak "$pid")
    bench_stop "$pid"
    written[rsyslog]=$(wc -l <"$d/out.log")
    rate[rsyslog]=$(awk -v n="${written[rsyslog]}" -v s="$(kv served_secs "$line")" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
    echo "rsyslog: $line"
}

# 4. syslog-ng
syslog_ng_cmd() {
    if [ -n "${SYSLOG_NG:-}" ]; then
        echo "$SYSLOG_NG"
    elif bench_have syslog-ng; then
        command -v syslog-ng
    elif [ -x /opt/trail-bench/syslog-ng/usr/sbin/syslog-ng ]; then
        echo /opt/trail-bench/syslog-ng/usr/sbin/syslog-ng
    fi
}

run_syslog_ng() {
    local d=$dir/syslog-ng port pid line bin root
    mkdir -p "$d"
    port=$(bench_port)
    bin=$(syslog_ng_cmd)
    cat >"$d/syslog-ng.conf" <<EOF
@version: 3.38
options { keep-hostname(yes); chain-hostnames(no); use-dns(no); use-fqdn(no);
          dns-cache(no); stats-freq(0); mark-freq(0); threaded(yes);
          log-fifo-size(100000); };
source s_net { syslog(ip("127.0.0.1") port($port) transport("tcp")
                      max-connections(64) log-iw-size(100000)); };
destination d_file { file("$d/out.log"
    template("\${ISODATE} \${HOST} \${PROGRAM} \${MSGID} \${SDATA} \${MESSAGE}\n")); };
log { source(s_net); destination(d_file); };
EOF
    local -a cmd=("$bin" -F --no-caps -f "$d/syslog-ng.conf" -p "$d/syslog-ng.pid"
        -R "$d/syslog-ng.persist" -c "$d/syslog-ng.ctl")
    root=${bin%/usr/sbin/syslog-ng}
    if [ "$root" != "$bin" ] && [ -d "$root/usr/lib/syslog-ng" ] && [ "$root" != "" ]; then
        # the unpacked copy: its library and modules are beside it
        cmd+=(--module-path="$root/usr/lib/syslog-ng/3.38")
        LD_LIBRARY_PATH=$root/usr/lib/syslog-ng bench_pin "$SERVER_CORE" "${cmd[@]}" >"$d/syslog-ng.log" 2>&1 &
    else
        bench_pin "$SERVER_CORE" "${cmd[@]}" >"$d/syslog-ng.log" 2>&1 &
    fi
    pid=$!
    bench_track "$pid"
    bench_wait_port "$port" 30 "$pid" "$d/syslog-ng.log"
    line=$(bench_pin "$SENDER_CORE" "$sender" tcp --connect "127.0.0.1:$port" \
        --input "$dir/stream.syslog" --conns "$conns" --max-secs "$max_secs" --watch-file "$d/out.log" --stall-ms 3000)
    rss[syslog-ng]=$(rss_peak "$pid")
    bench_stop "$pid"
    written[syslog-ng]=$(wc -l <"$d/out.log")
    rate[syslog-ng]=$(awk -v n="${written[syslog-ng]}" -v s="$(kv served_secs "$line")" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
    echo "syslog-ng: $line"
}

servers=()
for s in trail rsyslog syslog-ng; do
    [ -n "$only" ] && [ "$only" != "$s" ] && continue
    case $s in
    trail) run_trail; servers+=(trail) ;;
    rsyslog)
        if [ -x /usr/sbin/rsyslogd ]; then
            run_rsyslog; servers+=(rsyslog)
        else
            echo "rsyslog: not installed (scripts/install-deps.sh bench), skipped"
        fi ;;
    syslog-ng)
        if [ -n "$(syslog_ng_cmd)" ]; then
            run_syslog_ng; servers+=(syslog-ng)
        else
            echo "syslog-ng: not installed (scripts/install-deps.sh bench), skipped"
        fi ;;
    esac
done

echo
printf "%-22s %12s %12s %10s %10s %14s\n" "server" "written" "events/s" "peak MB" "trail/x" "sender/x"
for s in "${servers[@]}"; do
    printf "%-22s %12s %12s %10s %10s %14s\n" "$s" "${written[$s]}" "${rate[$s]}" "${rss[$s]}" \
        "$(ratio "${rate[trail]:-0}" "${rate[$s]}")" "$(ratio "$sender_rate" "${rate[$s]}")"
done
for s in "${servers[@]}"; do
    if awk -v a="$sender_rate" -v b="${rate[$s]}" 'BEGIN { exit !(a < 2 * b) }'; then
        echo "warning: the sender alone ($sender_rate msg/s) is not twice $s's rate: the load may be the limit"
    fi
    if [ "${written[$s]}" -lt "$events" ]; then
        echo "note: $s wrote ${written[$s]} of $events events"
    fi
done
# one line for run-all.sh
echo "RESULT ingest events=$events sender=$sender_rate trail=${rate[trail]:-} rsyslog=${rate[rsyslog]:-} syslog_ng=${rate[syslog-ng]:-} trail_rss_mb=${rss[trail]:-}"
