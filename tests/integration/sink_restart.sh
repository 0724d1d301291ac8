#!/usr/bin/env bash
# sink_restart.sh - traild killed (-9) and started again while its sinks lag:
# each sink resumes from its durable cursor. Phase 1 delivers everything;
# phase 2 takes events while the webhook receiver is down (the sinks lag,
# the lag shows in the metrics and in `trail sinks`), then traild is killed;
# phase 3 starts the receiver and traild again: every event of phase 2 (and
# the lifecycle events since) arrives once, none of phase 1 is sent again,
# and the file sink holds each event exactly once.
source "$(dirname "$0")/daemon_common.bash"

HPORT=$(free_port)
RPORT=$(free_port)
URL=http://127.0.0.1:$HPORT
RECV=$WORK/recv
mkdir -p "$RECV"
start_receiver() {
    rm -f "$WORK/recv.port"
    python3 "$TRAIL_SOURCE_DIR/tests/integration/sink_webhook_receiver.py" "$WORK/recv.port" \
        "$RECV" --port "$RPORT" &
    RECV_PID=$!
    EXTRA_PIDS="$EXTRA_PIDS $RECV_PID"
    for _ in $(seq 1 100); do
        [ -s "$WORK/recv.port" ] && return 0
        sleep 0.05
    done
    return 1
}
check "the receiver starts" start_receiver

CONF=$WORK/traild.conf
cat >"$CONF" <<EOF
[store]
path = $WORK/store
fsync = always
[listen]
http = 127.0.0.1:$HPORT
syslog_udp = off
syslog_tcp = off
[sink hook]
type = webhook
url = http://127.0.0.1:$RPORT/events
batch_events = 50
retry_min_ms = 50
retry_max_ms = 300
[sink file]
type = file
dir = $WORK/out
format = json
EOF
start_traild "$CONF" || exit 1

store_last() { "$TRAIL_BIN/trail" stats --store "$WORK/store" --json | sed 's/.*"last_seq":\([0-9]*\).*/\1/'; }
cursor() { sed -n 's/^seq //p' "$WORK/store/sinks/$1.cursor" 2>/dev/null; }
wait_cursor() { # NAME SEQ
    for _ in $(seq 1 400); do
        local c
        c=$(cursor "$1")
        if [ -n "$c" ] && [ "$c" -ge "$2" ]; then
            return 0
        fi
        sleep 0.05
    done
    return 1
}

# ---- phase 1: everything delivered ----
"$TRAIL_BIN/trail" loadgen -n 200 -s 5 >"$WORK/p1.ndjson"
http_post "$URL/v1/events" "$WORK/p1.ndjson" application/x-ndjson >/dev/null
check_eq "phase 1 accepted" "$(cat "$WORK/http.code")" 200
L1=$(store_last)
check "phase 1: hook delivered up to $L1" wait_cursor hook "$L1"
check "phase 1: file delivered up to $L1" wait_cursor file "$L1"
cp "$RECV/events.ndjson" "$WORK/phase1.ndjson"

# ---- phase 2: the receiver is down; events keep coming; the sink lags; traild dies ----
kill "$RECV_PID"
wait "$RECV_PID" 2>/dev/null
"$TRAIL_BIN/trail" loadgen -n 300 -s 6 >"$WORK/p2.ndjson"
http_post "$URL/v1/events" "$WORK/p2.ndjson" application/x-ndjson >/dev/null
check_eq "phase 2 accepted while the receiver is down" "$(cat "$WORK/http.code")" 200
L2=$(store_last)
check "phase 2: the file sink keeps up" wait_cursor file "$L2"
check "phase 2: the hook sink's lag is a metric" wait_metric "$URL" \
    'trail_sink_lag_events\{sink="hook",type="webhook"\} (2[0-9][0-9]|3[0-9][0-9])'
"$TRAIL_BIN/trail" sinks --store "$WORK/store" >"$WORK/sinks.txt"
check_grep "phase 2: trail sinks shows the lag and the error" \
    "^hook +webhook +$L1 +$((L2 - L1)) .*(delivery failed|cannot open)" "$WORK/sinks.txt"
"$TRAIL_BIN/trail" stats --store "$WORK/store" >"$WORK/stats.txt"
check_grep "phase 2: trail stats shows the sink lag too" \
    "^hook +webhook +$L1 +$((L2 - L1)) " "$WORK/stats.txt"
stop_traild KILL
check_eq "the hook cursor stayed at the end of phase 1" "$(cursor hook)" "$L1"

# ---- phase 3: receiver and traild back: resume from the cursors ----
check "the receiver starts again" start_receiver
start_traild "$CONF" || exit 1
L3=$(store_last)
check "phase 3: hook catches up to $L3" wait_cursor hook "$L3"
check "phase 3: file catches up to $L3" wait_cursor file "$L3"
for _ in $(seq 1 100); do # traild's own start-up events may still be coming
    L3=$(store_last)
    [ "$(cursor hook)" = "$L3" ] && [ "$(cursor file)" = "$L3" ] && break
    sleep 0.05
done

store_dump "$WORK/store" >"$WORK/store.ndjson"
python3 - "$WORK/store.ndjson" "$WORK/phase1.ndjson" "$RECV/events.ndjson" "$WORK/out" "$L1" \
    "$L3" <<'PY' >"$WORK/compare.out" 2>&1
import glob, json, sys
store = [json.loads(l) for l in open(sys.argv[1])]
p1 = [json.loads(l) for l in open(sys.argv[2])]
allrecv = [json.loads(l) for l in open(sys.argv[3])]
l1, l3 = int(sys.argv[5]), int(sys.argv[6])
bad = 0
def fail(m):
    global bad
    bad += 1
    print("FAIL " + m)
after = allrecv[len(p1):]
if [e["seq"] for e in p1] != list(range(1, l1 + 1)):
    fail("phase 1 was not seq 1..%d once each" % l1)
if [e["seq"] for e in after] != list(range(l1 + 1, l3 + 1)):
    fail("after the restart the receiver got seqs %s..%s (%d), want %d..%d once each" % (
        after[0]["seq"] if after else None, after[-1]["seq"] if after else None, len(after),
        l1 + 1, l3))
want = {e["uuid"]: e for e in store if e["seq"] <= l3}
for e in allrecv:
    if want.get(e["uuid"]) != e:
        fail("received event %s differs from the store" % e["uuid"])
        break
lines = []
for f in sorted(glob.glob(sys.argv[4] + "/*.ndjson")):
    lines += [json.loads(l) for l in open(f)]
seqs = sorted(e["seq"] for e in lines)
if seqs != list(range(1, l3 + 1)):
    fail("file sink: %d lines, want seqs 1..%d once each" % (len(seqs), l3))
print("phase 1: %d events, after restart: %d, file: %d lines; %d problems" % (
    len(p1), len(after), len(lines), bad))
sys.exit(1 if bad else 0)
PY
COMPARE=$?
tail -4 "$WORK/compare.out"
check "resumed exactly at the cursors: nothing skipped, nothing sent twice" test "$COMPARE" -eq 0

stop_traild

# a cursor of another store (a sinks/ directory copied from elsewhere) is not shown as this
# store's: trail sinks names it, and traild would start that sink afresh
c=$(ls "$WORK/store/sinks/"*.cursor | head -n1)
name=$(basename "$c" .cursor)
sed -i 's/^store .*/store 00000000000000000000000000000000/' "$c"
"$TRAIL_BIN/trail" sinks --store "$WORK/store" >"$WORK/sinks.out" 2>&1
check_grep "trail sinks: a cursor of another store is named as such" \
    "^$name .*cursor of another store: .*belongs to store 00000000000000000000000000000000, not this one" \
    "$WORK/sinks.out"
finish
