#!/usr/bin/env bash
# sustained.sh - traild under a long peak: TCP syslog at 80% of the rate it
# sustains, for minutes, with a light HTTP NDJSON probe beside it; sampled
# every few seconds: ingest rate, the unsealed backlog, bytes per event on
# disk, resident memory and the probe's acknowledgement p99.
#
# What it does, in order:
#   1. renders generator events as RFC 5424 syslog (`trail loadgen --format
#      syslog`), as compare_ingest.sh does;
#   2. unless --rate is given, measures the sustained rate: a traild of its
#      own (--fsync, default always; integrity on, a signing key) takes the stream
#      unpaced for --measure-secs (default 60); its rate is what it stored
#      over the second half of that time, sealing included: past [store]
#      seal_backlog_max (8 rolled segments, reached within seconds) appends
#      wait for the sealers, so the rate is one the store keeps up with;
#   3. starts a fresh traild the same way and sends the stream over --conns
#      TCP connections paced to --load (default 0.8) of that rate, round and
#      round, for --duration seconds (default 600);
#   4. beside it, the probe: one keep-alive connection POSTing batches of 10
#      NDJSON events to /v1/events every 100 ms, each answer's time kept;
#   5. every --every seconds (default 5) one CSV row: seconds, events stored
#      per second since the last row, rolled segments not sealed yet and
#      their bytes (the .open files but the active one), bytes per event of
#      the whole store directory, RSS, and the p99 of the probe's answers in
#      that interval;
#   6. after the load, keeps sampling for --after seconds (default 60) and
#      reports bytes per event then, the peak RSS against 256 MB, the largest
#      backlog, and the probe's p99 over the run and after it.
#   Writes the CSV and a gnuplot PNG (rate, backlog and p99 over time) to
#   --out (default docs/img/sustained.{csv,png}).
#
# Not here: the ratios against rsyslog and syslog-ng (compare_ingest.sh), HTTP
# ingest rates (compare_http.sh). traild listens on 127.0.0.1 only and is
# stopped on exit. Needs gnuplot for the PNG (scripts/install-deps.sh bench).
set -euo pipefail
# both cores shared by traild and the load unless told otherwise, as a daemon runs
SERVER_CORE=${SERVER_CORE:-0-1}
SENDER_CORE=${SENDER_CORE:-0-1}
source "$(dirname "$0")/lib.sh"

usage() {
    cat <<EOF
usage: bench/sustained.sh [--duration S] [--rate EVENTS_PER_S] [--load F] [--conns C]
                          [--every S] [--after S] [--measure-secs S] [--events N]
                          [--fsync always|MS] [--out PREFIX]

TCP syslog at F (default 0.8) of traild's sustained rate (measured first for
--measure-secs, default 60, unless --rate gives it) for S seconds (default
600), with an HTTP NDJSON probe (10 events every 100 ms); a CSV row every
--every seconds (default 5) and --after seconds (default 60) past the end.
--fsync: traild's fsync policy, always (the default, as traild ships: every
answer waits for its group commit's fdatasync) or an interval in ms.
Output: PREFIX.csv and PREFIX.png (default docs/img/sustained).

Environment: TRAIL_BIN (build directory, default build/), BENCH_TMP (scratch,
default /var/tmp), BENCH_KEEP=1 keeps the scratch directory, SERVER_CORE and
SENDER_CORE (default: both cores shared, 0-1, as a daemon runs).
EOF
}

duration=600
rate=""
load=0.8
conns=4
every=5
after=60
measure_secs=60
events=500000
out=$BENCH_SRC/docs/img/sustained
fsync=always
while [ $# -gt 0 ]; do
    case "$1" in
    --duration) duration=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --load) load=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    --every) every=$2; shift 2 ;;
    --after) after=$2; shift 2 ;;
    --measure-secs) measure_secs=$2; shift 2 ;;
    --events) events=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --fsync) fsync=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done

if [ "$fsync" = always ]; then
    policy="fsync = always"
else
    policy="fsync = interval
fsync_interval_ms = $fsync"
fi
bench_need "$TRAIL_BIN/trail" "$TRAIL_BIN/traild" "$TRAIL_BIN/bench/sender"
sender=$TRAIL_BIN/bench/sender
bench_scratch sustained
dir=$BENCH_DIR
echo "== sustained TCP syslog: ${duration}s at $load of the sustained rate, probe over HTTP"
bench_load_note
"$TRAIL_BIN/trail" loadgen -n "$events" -d 1 --format syslog >"$dir/stream.syslog"

# start_trail NAME: a traild as compare_ingest.sh runs it; sets pid, sport, hport, d
start_trail() {
    d=$dir/$1
    mkdir -p "$d"
    sport=$(bench_port)
    hport=$(bench_port)
    "$TRAIL_BIN/trail" keygen --out "$d/key" >/dev/null
    cat >"$d/trail.conf" <<EOF
[server]
host = bench
[store]
path = $d/store
$policy
signing_key = $d/key.key
[listen]
http = 127.0.0.1:$hport
syslog_udp = off
syslog_tcp = 127.0.0.1:$sport
[validation]
policy = strict
[event bench_probe]
severity = INFO
description = The sustained benchmark's HTTP probe.
schema = n:int
EOF
    bench_pin "$SERVER_CORE" "$TRAIL_BIN/traild" -c "$d/trail.conf" >"$d/traild.log" 2>&1 &
    pid=$!
    bench_track "$pid"
    bench_wait_port "$sport" 30 "$pid" "$d/traild.log"
    bench_wait_port "$hport" 30 "$pid" "$d/traild.log"
}

metric() {
    curl -s "http://127.0.0.1:$2/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}

# 2. the sustained rate
if [ -z "$rate" ]; then
    start_trail measure
    bench_pin "$SENDER_CORE" "$sender" tcp --connect "127.0.0.1:$sport" \
        --input "$dir/stream.syslog" --conns "$conns" --loops 1000 --max-secs "$measure_secs" \
        --watch-metric "127.0.0.1:$hport" 'trail_events_in_total{input="syslog_tcp"}' \
        --stall-ms 3000 >"$dir/measure.out" &
    send_pid=$!
    bench_track "$send_pid"
    # the second half only: the first fills the backlog up to its bound at the unbounded rate
    sleep "$(awk -v m="$measure_secs" 'BEGIN { print m / 2 }')" # a point in the window, not a wait for a condition
    n1=$(metric 'trail_events_in_total{input="syslog_tcp"}' "$hport")
    t1=$(date +%s.%N)
    wait "$send_pid" || true
    n2=$(metric 'trail_events_in_total{input="syslog_tcp"}' "$hport")
    t2=$(date +%s.%N)
    rate=$(awk -v a="$n1" -v b="$n2" -v s="$t1" -v e="$t2" 'BEGIN { printf "%.0f", (b - a) / (e - s) }')
    bench_stop "$pid"
    rm -rf "$d/store"
    echo "sustained rate: $rate events/s over the last $((measure_secs / 2))s of ${measure_secs}s ($(cat "$dir/measure.out"))"
fi
target=$(awk -v r="$rate" -v l="$load" 'BEGIN { printf "%.0f", r * l }')
echo "load: $target events/s for ${duration}s, $conns connections"

# 3. the run
start_trail run
store=$d/store
bench_pin "$SENDER_CORE" "$sender" tcp --connect "127.0.0.1:$sport" --input "$dir/stream.syslog" \
    --conns "$conns" --rate "$target" --duration "$duration" >"$dir/load.out" 2>&1 &
load_pid=$!
bench_track "$load_pid"

# 4. the probe: "unix_time latency_ms" a line
cat >"$dir/probe.py" <<'PY'
import http.client, json, sys, time
port, until, out = int(sys.argv[1]), float(sys.argv[2]), open(sys.argv[3], "w", buffering=1)
n = 0
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
nxt = time.time()
while time.time() < until:
    body = "".join(json.dumps({"id": "bench_probe", "attrs": {"n": n + i}}) + "\n" for i in range(10))
    t0 = time.time()
    try:
        conn.request("POST", "/v1/events", body, {"Content-Type": "application/x-ndjson"})
        r = conn.getresponse()
        r.read()
        ok = r.status == 200
    except Exception:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        ok = False
    t1 = time.time()
    out.write("%.3f %.3f %d\n" % (t1, (t1 - t0) * 1e3, ok))
    n += 10
    nxt += 0.1
    time.sleep(max(0.0, nxt - time.time()))
PY
t_start=$(date +%s.%N)
end_load=$(awk -v t="$t_start" -v d="$duration" 'BEGIN { printf "%.3f", t + d }')
end_all=$(awk -v t="$end_load" -v a="$after" 'BEGIN { printf "%.3f", t + a }')
python3 "$dir/probe.py" "$hport" "$end_all" "$dir/probe.txt" &
probe_pid=$!
bench_track "$probe_pid"

# p99_between A B: the p99 of the probe's answers that ended in (A, B], "" when none
p99_between() {
    awk -v a="$1" -v b="$2" '$1 > a && $1 <= b { print $2 }' "$dir/probe.txt" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR) { i = int(0.99 * NR + 0.999); print v[i < 1 ? 1 : i] } }'
}

# 5. sampling
csv=$dir/sustained.csv
echo "secs,events_per_s,unsealed_segments,unsealed_mb,bytes_per_event,rss_mb,probe_p99_ms,phase" >"$csv"
prev_n=$(metric 'trail_events_in_total{input="syslog_tcp"}' "$hport")
prev_n=${prev_n:-0}
prev_t=$t_start
max_rss=0
while :; do
    sleep "$every" # the sampling period, not a wait for a condition
    now=$(date +%s.%N)
    n=$(metric 'trail_events_in_total{input="syslog_tcp"}' "$hport")
    n=${n:-$prev_n}
    stored=$(metric trail_store_events "$hport")
    # rolled segments waiting: every .open file but the newest (the active one)
    read -r useg ubytes < <(find "$store" -maxdepth 1 -name 'seg-*.open' -printf '%f %s\n' | sort |
        awk '{ name[NR] = $1; size[NR] = $2 } END { s = 0; for (i = 1; i < NR; i++) s += size[i]; print (NR > 0 ? NR - 1 : 0), s }')
    # du says so when a temporary file goes while it counts, and still prints the total
    bytes=$({ du -sb "$store" 2>/dev/null || true; } | awk '{ print $1 }')
    rss=$(awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$pid/status" 2>/dev/null || echo 0)
    max_rss=$((rss > max_rss ? rss : max_rss))
    p99=$(p99_between "$prev_t" "$now")
    phase=load
    awk -v t="$now" -v e="$end_load" 'BEGIN { exit !(t > e) }' && phase=after
    awk -v t0="$t_start" -v t="$now" -v pt="$prev_t" -v n="$n" -v pn="$prev_n" -v us="$useg" \
        -v ub="$ubytes" -v b="$bytes" -v s="${stored:-0}" -v r="$rss" -v p="$p99" -v ph="$phase" \
        'BEGIN { printf "%.1f,%.0f,%d,%.1f,%.1f,%d,%s,%s\n", t - t0, (n - pn) / (t - pt), us,
                 ub / 1048576, (s > 0 ? b / s : 0), r, p, ph }' >>"$csv"
    tail -n1 "$csv"
    prev_n=$n
    prev_t=$now
    awk -v t="$now" -v e="$end_all" 'BEGIN { exit !(t >= e) }' && break
done
wait "$load_pid" || true
wait "$probe_pid" || true
echo "load: $(cat "$dir/load.out")"

# 6. the figures
peak=$(rss_peak "$pid")
summary=$(awk -F, 'NR > 1 { if ($3 > ms) ms = $3; if ($4 > mb) mb = $4; last_bpe = $5
    if ($8 == "load") { r += $2; k++ } }
    END { printf "mean_rate=%.0f max_unsealed_segments=%d max_unsealed_mb=%.1f bytes_per_event_end=%.1f", r / k, ms, mb, last_bpe }' "$csv")
p99_load=$(p99_between 0 "$end_load")
p99_after=$(p99_between "$end_load" 9999999999)
probe_fail=$(awk '$3 == 0 { f++ } END { print f + 0 }' "$dir/probe.txt")
# appends that waited for the sealers (the backlog at [store] seal_backlog_max), and how long
seal_waits=$(metric trail_store_seal_waits_total "$hport")
seal_wait_s=$(metric trail_store_seal_wait_seconds_total "$hport")
bench_stop "$pid"
echo "sustained rate $rate, load $target events/s for ${duration}s: $summary;" \
    "peak RSS ${peak} MB (limit 256); probe p99 ${p99_load} ms during, ${p99_after} ms after; $probe_fail probe requests failed;" \
    "${seal_waits:-?} appends waited for sealing, ${seal_wait_s:-?} s in all"
mkdir -p "$(dirname "$out")"
cp "$csv" "$out.csv"
if bench_have gnuplot; then
    gnuplot -e "datafile='$out.csv'; outfile='$out.png'; target=$target; endload=$duration" \
        "$BENCH_SRC/bench/plots/sustained.gp"
    echo "plot: $out.png"
else
    echo "no gnuplot: $out.csv only (scripts/install-deps.sh bench)"
fi
echo "RESULT sustained rate=$rate load=$target duration=$duration $summary peak_rss_mb=$peak probe_p99_ms=$p99_load probe_p99_after_ms=$p99_after probe_failed=$probe_fail seal_waits=${seal_waits:-} seal_wait_s=${seal_wait_s:-}"
