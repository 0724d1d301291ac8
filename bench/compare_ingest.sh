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
#      then the same traild with detection on ([detect] rules = the rule
#      pack, rules/, or --rules DIR), whose rules run on the same core: its
#      ingest rate, how long its detection took after the last event was
#      stored to catch up (trail_detect_lag_events 0), and the ratio of its
#      ingest to the first's (issue 17 wants at least 0.90); --rounds N runs
#      the two N times, alternating which goes first, and takes the medians;
#   4. rsyslog: imptcp on a port, one omfile action with a plain template,
#      its own config, work directory and pid file, `-n`;
#   5. syslog-ng: its syslog() source (RFC 5424 with octet counting; network()
#      reads LF-framed lines only), one file() destination with a plain
#      template, `-F`, its own control socket, pid and persist files;
#   and prints events/s of each (what the server wrote, divided by the time
#   from the first byte sent to the last output seen) and trail's ratios.
#   --syscalls counts each server's system calls while it takes the stream
#   (perf stat on the syscalls tracepoints, attached to the running server
#   from just before the first byte until its output stops) and prints them
#   per 1,000 events. --before DIR runs the traild of another build
#   directory too, as trail-before, beside this one in every round.
#   --cef sends traild raw CEF lines (the event.log form, LF-framed) on its
#   cef_tcp listener instead of syslog, and runs no peer.
#
# Not here: HTTP ingest (compare_http.sh), library ingest (compare_store.sh).
# Every server listens on 127.0.0.1 only and is stopped on exit.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

usage() {
    cat <<EOF
usage: bench/compare_ingest.sh [--events N] [--conns C] [--only trail|rsyslog|syslog-ng]
                               [--fsync-ms MS] [--max-secs S] [--uuids]
                               [--rules DIR] [--rounds R] [--no-detect]
                               [--before BUILD_DIR] [--syscalls] [--cef] [--loops N]

Daemon ingest over TCP syslog (RFC 5424, octet counting): traild against
rsyslog and syslog-ng on the same N events (default 1000000) over C
connections (default 4). Servers pinned to core $SERVER_CORE, the sender to core
$SENDER_CORE. traild: fsync every MS ms (default 10), integrity on. The sender
stops after S seconds per server (default 120) if the server has not taken
the whole stream by then; the rate is then over what it wrote. --uuids gives
every message a producer uuid, so that traild's duplicate check runs on
each event (docs/store.md, "Duplicates"). traild runs twice, without and
with detection ([detect] rules = DIR, default the rule pack rules/); --only
trail runs just these two, --rounds R runs them R times, alternating which
goes first, and reports the medians and the ratio of their ingest rates;
--no-detect leaves the second out. --before BUILD_DIR runs that build's
traild as well (trail-before, no detection) in each round, alternating
with this one, for a before/after ratio in one sitting. --syscalls counts
every server's system calls during its stream with perf stat (read,
write, fdatasync, futex, epoll_wait, ... per 1,000 events). --cef sends
traild the events as raw CEF lines on [listen] cef_tcp (LF framing) and
runs traild alone. --loops N sets the event loops of traild's input
(syslog_threads, and stream_threads for --cef; default: traild's, one per
CPU it may run on; a build before stream_threads refuses it with --cef).

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
rules_dir=$(cd "$(dirname "$0")/.." && pwd)/rules
rounds=1
detect=1
before=""
syscalls=0
cef=0
loops=""
while [ $# -gt 0 ]; do
    case "$1" in
    --events) events=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --fsync-ms) fsync_ms=$2; shift 2 ;;
    --max-secs) max_secs=$2; shift 2 ;;
    --uuids) uuids=1; shift ;;
    --rules) rules_dir=$(cd "$2" && pwd); shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --no-detect) detect=0; shift ;;
    --before) before=$(cd "$2" && pwd); shift 2 ;;
    --syscalls) syscalls=1; shift ;;
    --cef) cef=1; shift ;;
    --loops) loops=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done

bench_need "$TRAIL_BIN/trail" "$TRAIL_BIN/traild" "$TRAIL_BIN/bench/sender"
[ -z "$before" ] || bench_need "$before/trail" "$before/traild"
if [ "$syscalls" = 1 ] && ! perf stat -e raw_syscalls:sys_enter true >/dev/null 2>&1; then
    echo "--syscalls: perf cannot count the syscalls tracepoints here (perf_event_paranoid, tracefs)" >&2
    exit 1
fi
sender=$TRAIL_BIN/bench/sender
bench_scratch ingest
dir=$BENCH_DIR

echo "== daemon ingest over TCP $([ "$cef" = 1 ] && echo "(raw CEF lines)" || echo syslog): $events events, $conns connections"
bench_load_note
# the input traild takes the stream on, and its framing
input=syslog_tcp
framing=octet
if [ "$cef" = 1 ]; then
    input=cef_tcp
    framing=lf
    only=trail # rsyslog and syslog-ng would take the lines as syslog messages
fi
"$TRAIL_BIN/trail" loadgen -n "$events" -d 1 --format "$([ "$cef" = 1 ] && echo cef || echo syslog)" \
    >"$dir/stream.syslog"
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

declare -A rate written rss catchup lag_end cpu cpu_detect sys_line

# --syscalls: the tracepoints counted, and the columns they are summed into
sys_cols="read write fdatasync futex epoll_wait ioctl mprotect other all"
sys_events="raw_syscalls:sys_enter"
for c in read readv recvfrom recvmsg write writev pwrite64 pwritev sendto sendmsg \
    fdatasync fsync futex epoll_wait epoll_pwait ioctl mprotect; do
    sys_events="$sys_events,syscalls:sys_enter_$c"
done

# syscalls_start PID OUT: count PID's system calls (all its threads) into OUT until
# syscalls_stop; nothing without --syscalls
syscalls_start() {
    sys_perf=""
    [ "$syscalls" = 1 ] || return 0
    perf stat -x, -o "$2" -e "$sys_events" -p "$1" >/dev/null 2>&1 &
    sys_perf=$!
    sleep 1 # perf opens a counter per thread and tracepoint before it counts
}

# syscalls_stop: stop counting (at the end of the stream, before the server stops)
syscalls_stop() {
    [ -n "$sys_perf" ] || return 0
    kill -INT "$sys_perf" 2>/dev/null || true
    wait "$sys_perf" 2>/dev/null || true
}

# syscalls_report NAME OUT EVENTS: sys_line[NAME], the calls per 1,000 events, printed
syscalls_report() {
    [ "$syscalls" = 1 ] || return 0
    sys_line[$1]=$(awk -F, -v n="$3" '
        $3 ~ /^raw_syscalls:sys_enter$/ { all = $1 }
        $3 ~ /sys_enter_(read|readv|recvfrom|recvmsg)$/ { c["read"] += $1 }
        $3 ~ /sys_enter_(write|writev|pwrite64|pwritev|sendto|sendmsg)$/ { c["write"] += $1 }
        $3 ~ /sys_enter_(fdatasync|fsync)$/ { c["fdatasync"] += $1 }
        $3 ~ /sys_enter_futex$/ { c["futex"] += $1 }
        $3 ~ /sys_enter_(epoll_wait|epoll_pwait)$/ { c["epoll_wait"] += $1 }
        $3 ~ /sys_enter_ioctl$/ { c["ioctl"] += $1 }
        $3 ~ /sys_enter_mprotect$/ { c["mprotect"] += $1 }
        END {
            if (n <= 0) n = 1
            for (k in c) listed += c[k]
            c["other"] = all - listed
            c["all"] = all
            split("read write fdatasync futex epoll_wait ioctl mprotect other all", cols, " ")
            for (i = 1; i <= 9; i++) printf "%s%.1f", (i > 1 ? " " : ""), c[cols[i]] * 1000 / n
        }' "$2")
    echo "$1: system calls per 1,000 events ($sys_cols): ${sys_line[$1]}"
}

# 1. the sender alone
port=$(bench_port)
bench_pin "$SERVER_CORE" "$sender" drain --listen "127.0.0.1:$port" --conns "$conns" >"$dir/drain.out" &
drain_pid=$!
bench_track "$drain_pid"
bench_wait_port "$port"
line=$(bench_pin "$SENDER_CORE" "$sender" tcp --connect "127.0.0.1:$port" --input "$dir/stream.syslog" --conns "$conns" --framing "$framing")
wait "$drain_pid" || true
sender_rate=$(kv rate "$line")
echo "sender alone into a discarding sink: $sender_rate msg/s ($(cat "$dir/drain.out"))"

# cpu_secs PID [THREAD_NAME]: the CPU time (user and system) of a process, or of its
# threads of that name, in seconds
cpu_secs() {
    local f tick
    tick=$(getconf CLK_TCK)
    for f in /proc/"$1"/task/*; do
        if [ -z "${2:-}" ] || [ "$(cat "$f/comm" 2>/dev/null)" = "$2" ]; then
            # fields 14 and 15 after the command (which may hold spaces) in parentheses
            sed 's/.*) //' "$f/stat" 2>/dev/null | awk '{ print $12 + $13 }'
        fi
    done | awk -v t="$tick" '{ s += $1 } END { printf "%.2f", s / t }'
}

# cpu_settle PID: wait (at most 30 s) until the process has stopped working after the stream:
# the store seals and indexes its segments in the background, and both runs must count that
cpu_settle() {
    local a b
    b=$(cpu_secs "$1")
    for _ in $(seq 1 60); do
        sleep 0.5
        a=$b
        b=$(cpu_secs "$1")
        awk -v a="$a" -v b="$b" 'BEGIN { exit !(b - a < 0.02) }' && break
    done
}

# metric NAME PORT: the value of a metric line of traild's /metrics ("" when absent)
metric() {
    curl -s "http://127.0.0.1:$2/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}

# 2. traild: run_trail NAME [RULES_DIR [BUILD_DIR]] sets rate[NAME], written[NAME], rss[NAME]
# and, with rules, catchup[NAME] (seconds from the sender's end until detection had evaluated
# all); BUILD_DIR's traild and trail (default $TRAIL_BIN's)
run_trail() {
    local name=$1 rules=${2:-} bin=${3:-$TRAIL_BIN} d=$dir/$1 sport hport pid line n own t0 threads
    rm -rf "$d"
    mkdir -p "$d"
    sport=$(bench_port)
    hport=$(bench_port)
    "$bin/trail" keygen --out "$d/key" >/dev/null
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
EOF
    if [ "$cef" = 1 ]; then
        printf 'syslog_tcp = off\ncef_tcp = 127.0.0.1:%s\n' "$sport" >>"$d/trail.conf"
        [ -z "$loops" ] || printf 'stream_threads = %s\n' "$loops" >>"$d/trail.conf"
    else
        printf 'syslog_tcp = 127.0.0.1:%s\n' "$sport" >>"$d/trail.conf"
        [ -z "$loops" ] || printf 'syslog_threads = %s\n' "$loops" >>"$d/trail.conf"
    fi
    printf '[validation]\npolicy = strict\n' >>"$d/trail.conf"
    if [ -n "$rules" ]; then
        printf '[detect]\nrules = %s\n' "$rules" >>"$d/trail.conf"
    fi
    bench_pin "$SERVER_CORE" "$bin/traild" -c "$d/trail.conf" >"$d/traild.log" 2>&1 &
    pid=$!
    bench_track "$pid"
    bench_wait_port "$sport" 30 "$pid" "$d/traild.log"
    bench_wait_port "$hport" 30 "$pid" "$d/traild.log"
    syscalls_start "$pid" "$d/syscalls.csv"
    line=$(bench_pin "$SENDER_CORE" "$sender" tcp --connect "127.0.0.1:$sport" \
        --input "$dir/stream.syslog" --conns "$conns" --max-secs "$max_secs" --framing "$framing" \
        --watch-metric "127.0.0.1:$hport" "trail_events_in_total{input=\"$input\"}" \
        --expect "$events" --stall-ms 5000)
    syscalls_stop
    syscalls_report "$name" "$d/syscalls.csv" "$(kv served "$line")"
    if [ -n "$rules" ]; then
        # the rules run behind ingest, from the store: how far behind they were when the
        # stream was stored, and how long they took to catch up (a poll costs some time
        # on a loaded machine: a bound, not a measure, under about a second)
        t0=$(date +%s.%N)
        lag_end[$name]=$(metric trail_detect_lag_events "$hport")
        for _ in $(seq 1 "$((max_secs * 20))"); do
            curl -s "http://127.0.0.1:$hport/metrics" >"$d/metrics"
            awk -v n="$events" '$1 == "trail_detect_lag_events" { lag = $2 }
                $1 == "trail_detect_cursor_seq" { seq = $2 }
                END { exit !(lag == 0 && seq >= n) }' "$d/metrics" && break
            sleep 0.05
        done
        catchup[$name]=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
        echo "$name: detection was ${lag_end[$name]} events behind when the stream was stored, caught up ${catchup[$name]} s later; $(awk '$1 ~ /^trail_detect_alerts_total/ { n += $2 } END { print n + 0 }' "$d/metrics") alerts"
    fi
    rss[$name]=$(rss_peak "$pid")
    cpu_settle "$pid"
    cpu[$name]=$(cpu_secs "$pid")
    cpu_detect[$name]=$(cpu_secs "$pid" traild-detect)
    threads=$(for t in $(cat /proc/"$pid"/task/*/comm | sort -u); do printf '%s %s, ' "$t" "$(cpu_secs "$pid" "$t")"; done)
    # the store holds the stream's events and traild's own (start, started,
    # and the stopped event written at shutdown)
    own=$(metric 'trail_events_in_total{input="trail"}' "$hport")
    bench_stop "$pid"
    n=$("$bin/trail" stats --store "$d/store" | awk '$1 == "events" { print $2 }')
    n=$((n - ${own:-0} - 1))
    written[$name]=$n
    rate[$name]=$(awk -v n="$(kv served "$line")" -v s="$(kv served_secs "$line")" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
    echo "$name: $line"
    echo "$name: CPU ${cpu[$name]} s, of which the rules' thread ${cpu_detect[$name]} s (by thread: $threads)"
    echo "$name: store holds $n events from the stream; $("$bin/trail" stats --store "$d/store" | awk '$1 == "bytes/event"')"
}

# median of the numbers given
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# traild without and with the rules (and the build of --before), rounds times, alternating
# the order (the machine's other work drifts: none should always meet the quieter minute)
run_trail_pair() {
    local r v variants=(trail) order ups=() ratios=() cratios=() shares=() bratios=() bcratios=() line
    local -A rates=()
    [ "$detect" = 1 ] && variants+=(trail+detect)
    [ -n "$before" ] && variants+=(trail-before)
    for r in $(seq 1 "$rounds"); do
        order=("${variants[@]}")
        if [ $((r % 2)) = 0 ]; then
            order=()
            for ((v = ${#variants[@]} - 1; v >= 0; v--)); do order+=("${variants[v]}"); done
        fi
        for v in "${order[@]}"; do
            case $v in
            trail) run_trail trail ;;
            trail+detect) run_trail trail+detect "$rules_dir" ;;
            trail-before) run_trail trail-before "" "$before" ;;
            esac
            rates[$v]="${rates[$v]:-} ${rate[$v]}"
        done
        line="round $r: trail ${rate[trail]} events/s"
        if [ "$detect" = 1 ]; then
            ups+=("${catchup[trail+detect]}")
            ratios+=("$(ratio "${rate[trail+detect]}" "${rate[trail]}")")
            cratios+=("$(ratio "${cpu[trail]}" "${cpu[trail+detect]}")")
            shares+=("$(ratio "${cpu_detect[trail+detect]}" "${cpu[trail+detect]}")")
            line="$line, trail+detect ${rate[trail+detect]} events/s, ratio ${ratios[-1]}; CPU ${cpu[trail]} s and ${cpu[trail+detect]} s, ratio ${cratios[-1]}, the rules' thread ${cpu_detect[trail+detect]} s; detection ${lag_end[trail+detect]} events behind at the end, caught up ${catchup[trail+detect]} s later"
        fi
        if [ -n "$before" ]; then
            bratios+=("$(ratio "${rate[trail]}" "${rate[trail-before]}")")
            bcratios+=("$(ratio "${cpu[trail-before]}" "${cpu[trail]}")")
            line="$line; trail-before ${rate[trail-before]} events/s, trail/trail-before ${bratios[-1]}; CPU ${cpu[trail]} s and ${cpu[trail-before]} s, trail-before/trail ${bcratios[-1]}"
        fi
        echo "$line"
    done
    for v in "${variants[@]}"; do
        # shellcheck disable=SC2086 # the rates, one word each
        rate[$v]=$(median ${rates[$v]})
    done
    if [ -n "$before" ]; then
        before_ratio=$(median "${bratios[@]}")
        echo "this build / --before ($before) ingest ratio: $before_ratio (median of ${bratios[*]})"
        # on a shared machine the rates swing with the other work; CPU time per run much less
        echo "--before / this build CPU ratio (the stream's CPU time, sealing included): $(median "${bcratios[@]}") (median of ${bcratios[*]})"
    fi
    [ "$detect" = 1 ] || return 0
    catchup[trail+detect]=$(median "${ups[@]}")
    detect_ratio=$(median "${ratios[@]}")
    detect_cpu_ratio=$(median "${cratios[@]}")
    detect_share=$(median "${shares[@]}")
    echo "detection on/off ingest ratio: $detect_ratio (median of ${ratios[*]}; rules: $rules_dir)"
    # the rate ratio swings with the machine's other work; CPU time per run much less so
    echo "detection on/off CPU ratio (off CPU / on CPU, the ingest ratio on a saturated core): $detect_cpu_ratio (median of ${cratios[*]}); the rules' thread's share of traild's CPU: $detect_share"
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
    syscalls_start "$pid" "$d/syscalls.csv"
    line=$(bench_pin "$SENDER_CORE" "$sender" tcp --connect "127.0.0.1:$port" \
        --input "$dir/stream.syslog" --conns "$conns" --max-secs "$max_secs" --watch-file "$d/out.log" --stall-ms 3000)
    syscalls_stop
    rss[rsyslog]=$(rss_peak "$pid")
    bench_stop "$pid"
    written[rsyslog]=$(wc -l <"$d/out.log")
    syscalls_report rsyslog "$d/syscalls.csv" "${written[rsyslog]}"
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
    syscalls_start "$pid" "$d/syscalls.csv"
    line=$(bench_pin "$SENDER_CORE" "$sender" tcp --connect "127.0.0.1:$port" \
        --input "$dir/stream.syslog" --conns "$conns" --max-secs "$max_secs" --watch-file "$d/out.log" --stall-ms 3000)
    syscalls_stop
    rss[syslog-ng]=$(rss_peak "$pid")
    bench_stop "$pid"
    written[syslog-ng]=$(wc -l <"$d/out.log")
    syscalls_report syslog-ng "$d/syscalls.csv" "${written[syslog-ng]}"
    rate[syslog-ng]=$(awk -v n="${written[syslog-ng]}" -v s="$(kv served_secs "$line")" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
    echo "syslog-ng: $line"
}

servers=()
for s in trail rsyslog syslog-ng; do
    [ -n "$only" ] && [ "$only" != "$s" ] && continue
    case $s in
    trail)
        run_trail_pair
        servers+=(trail)
        [ "$detect" = 1 ] && servers+=(trail+detect)
        [ -n "$before" ] && servers+=(trail-before)
        ;;
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
if [ "$syscalls" = 1 ]; then
    echo
    printf "%-22s" "calls per 1,000 events"
    for c in $sys_cols; do printf " %10s" "$c"; done
    echo
    for s in "${servers[@]}"; do
        printf "%-22s" "$s"
        for c in ${sys_line[$s]:-}; do printf " %10s" "$c"; done
        echo
    done
fi
for s in "${servers[@]}"; do
    if awk -v a="$sender_rate" -v b="${rate[$s]}" 'BEGIN { exit !(a < 2 * b) }'; then
        echo "warning: the sender alone ($sender_rate msg/s) is not twice $s's rate: the load may be the limit"
    fi
    if [ "${written[$s]}" -lt "$events" ]; then
        echo "note: $s wrote ${written[$s]} of $events events"
    fi
done
# one line for run-all.sh
echo "RESULT ingest events=$events sender=$sender_rate trail=${rate[trail]:-} rsyslog=${rate[rsyslog]:-} syslog_ng=${rate[syslog-ng]:-} trail_rss_mb=${rss[trail]:-} trail_detect=${rate[trail+detect]:-} detect_ratio=${detect_ratio:-} detect_cpu_ratio=${detect_cpu_ratio:-} detect_cpu_share=${detect_share:-} detect_catchup_s=${catchup[trail+detect]:-}"
