#!/usr/bin/env bash
# sink_clickhouse.sh - traild's ClickHouse sink against a real clickhouse-server
# (Debian's 18.16) started here with its own config, data directory and free
# ports: the table is made by the sink, the rows are counted and compared
# field by field with the store (hostile values included), the witness
# checkpoints land in their table; then clickhouse-server is killed (-9) in
# the middle of a run and started again on the same data: nothing is lost and
# no row is there twice (without FINAL); the queries of docs/clickhouse.md run.
source "$(dirname "$0")/daemon_common.bash"

source "$(dirname "$0")/clickhouse_single.bash"
HPORT=$(free_port)
URL=http://127.0.0.1:$HPORT

check "clickhouse-server starts" start_clickhouse || finish

"$TRAIL_BIN/trail" keygen --out "$WORK/sign" >/dev/null || exit 1
CONF=$WORK/traild.conf
cat >"$CONF" <<EOF
[store]
path = $WORK/store
fsync = always
signing_key = $WORK/sign.key
checkpoint_interval_s = 1
[listen]
http = 127.0.0.1:$HPORT
syslog_udp = off
syslog_tcp = off
[event acme_badge_swiped]
severity = WARNING
description = A badge was swiped at a door.
schema = duser:string:required:indexed, door:string, src:ip, attempts:int, ok:bool
[sink ch]
type = clickhouse
url = $CHURL
database = audit
table = events
batch_events = 300
witness = true
timeout_ms = 5000
retry_min_ms = 50
retry_max_ms = 500
EOF
start_traild "$CONF" || exit 1

store_last() { "$TRAIL_BIN/trail" stats --store "$WORK/store" --json | sed 's/.*"last_seq":\([0-9]*\).*/\1/'; }
wait_cursor() { # SEQ [TRIES]
    for _ in $(seq 1 "${2:-600}"); do
        local c
        c=$(sed -n 's/^seq //p' "$WORK/store/sinks/ch.cursor" 2>/dev/null)
        if [ -n "$c" ] && [ "$c" -ge "$1" ]; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# ---- phase 1: a realistic load plus hostile values, compared field by field ----
"$TRAIL_BIN/trail" loadgen -n 2000 -s 3 -d 40 >"$WORK/load.ndjson"
python3 - >"$WORK/hostile.ndjson" <<'PY'
import json
vals = ['quote"s', "back\\slash", "tab\there", "new\nline\r\n", "[brackets]", "pipe|eq=",
        "'single' quotes", "ünïcødé ✓", "\u0001ctl", "null", ""]
for i, v in enumerate(vals):
    print(json.dumps({"id": "acme_badge_swiped",
                      "attrs": {"duser": v or "x", "door": v, "src": "2001:db8::%x" % (i + 1),
                                "attempts": -i, "ok": i % 2 == 0}}))
PY
http_post "$URL/v1/events" "$WORK/load.ndjson" application/x-ndjson >/dev/null
check_eq "2000 events accepted" "$(cat "$WORK/http.code")" 200
http_post "$URL/v1/events" "$WORK/hostile.ndjson" application/x-ndjson >/dev/null
check_eq "hostile events accepted" "$(cat "$WORK/http.code")" 200
# a later commit makes the store sign a checkpoint covering all of the above
check "a checkpoint covers the events" tick_until_checkpoint "$URL" "$(store_last)"
LAST=$(store_last)
check "the sink delivers up to seq $LAST" wait_cursor "$LAST"
check_eq "rows in ClickHouse" "$(chq "SELECT count() FROM audit.events")" "$LAST"

store_dump "$WORK/store" >"$WORK/store.ndjson"
chq "SELECT time, time_us, event_id, severity, severity_name, host, duser, src, phxTraceId,
     sourceServiceName, attrs.key, attrs.value, uuid, store_id, seq
     FROM audit.events ORDER BY seq FORMAT JSONEachRow" >"$WORK/rows.ndjson"
python3 - "$WORK/store.ndjson" "$WORK/rows.ndjson" <<'PY' >"$WORK/compare.out" 2>&1
import datetime, json, sys
store = [json.loads(l) for l in open(sys.argv[1])]
rows = [json.loads(l) for l in open(sys.argv[2])]
bad = 0
def check(what, got, want):
    global bad
    if got != want:
        bad += 1
        if bad < 20:
            print("FAIL %s: got %r want %r" % (what, got, want))
def us(t):
    d = datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return int(d.timestamp()) * 1000000 + d.microsecond
def text(v):
    return ("true" if v else "false") if isinstance(v, bool) else str(v)
check("row count", len(rows), len(store))
for e, r in zip(store, rows):
    t = "seq %d" % e["seq"]
    check(t + " seq", int(r["seq"]), e["seq"])
    check(t + " uuid", r["uuid"], e["uuid"])
    check(t + " event_id", r["event_id"], e["id"])
    check(t + " time_us", int(r["time_us"]), us(e["time"]))
    check(t + " time", r["time"], e["time"][:19].replace("T", " "))
    check(t + " severity", r["severity"], e["severity"])
    check(t + " severity_name", r["severity_name"], e["severity_name"])
    check(t + " host", r["host"], e.get("host", ""))
    check(t + " attrs", dict(zip(r["attrs.key"], r["attrs.value"])),
          {k: text(v) for k, v in e["attrs"].items()})
    check(t + " attrs order", r["attrs.key"], sorted(e["attrs"]))
    for k in ("duser", "src", "phxTraceId", "sourceServiceName"):
        check(t + " " + k, r[k], text(e["attrs"][k]) if k in e["attrs"] else "")
print("%d rows compared, %d problems" % (len(rows), bad))
sys.exit(1 if bad else 0)
PY
COMPARE=$?
tail -3 "$WORK/compare.out"
check "every row equals its stored event, field by field" test "$COMPARE" -eq 0
check "a witness checkpoint is in audit.events_checkpoints" \
    test "$(chq "SELECT count() FROM audit.events_checkpoints WHERE tree_size >= 2000")" -ge 1
CPLINE=$(chq "SELECT line FROM audit.events_checkpoints ORDER BY tree_size DESC LIMIT 1 FORMAT TabSeparatedRaw")
python3 - "$CPLINE" "$WORK/sign.pub" "$WORK" <<'PY'
import base64, subprocess, sys
f = sys.argv[1].split(" ")
# the C2SP tlog-checkpoint text the line stands for (docs/integrity.md)
open(sys.argv[3] + "/cp.msg", "w").write("%s\n%s\n%s\ntrail-time %s\ntrail-chain %s\n" % (
    f[1], f[2], base64.b64encode(bytes.fromhex(f[3])).decode(), f[5], f[4]))
open(sys.argv[3] + "/cp.sig", "wb").write(base64.b64decode(f[7]))
PY
check "the stored checkpoint's signature verifies" openssl pkeyutl -verify -pubin \
    -inkey "$WORK/sign.pub" -rawin -in "$WORK/cp.msg" -sigfile "$WORK/cp.sig"

# the analyst's queries of docs/clickhouse.md run on 18.16
for q in \
    "SELECT event_id, toStartOfHour(time) AS hour, count() FROM audit.events GROUP BY event_id, hour ORDER BY hour, event_id LIMIT 5" \
    "SELECT time, event_id, src, attrs.value[indexOf(attrs.key, 'phxEntrypointId')] AS entrypoint FROM audit.events WHERE duser = 'tick' ORDER BY time DESC LIMIT 100" \
    "SELECT time, event_id, duser FROM audit.events WHERE phxTraceId = '#tick' ORDER BY time" \
    "SELECT time, event_id, severity_name, duser FROM audit.events WHERE severity >= 6 ORDER BY time DESC LIMIT 100" \
    "SELECT src, count() AS failures, uniqExact(duser) AS users FROM audit.events WHERE event_id LIKE '%failed%' AND time > now() - INTERVAL 3650 DAY GROUP BY src ORDER BY failures DESC LIMIT 20" \
    "SELECT count() FROM audit.events FINAL" \
    "SELECT sourceServiceName, countIf(event_id LIKE '%successful') AS ok, countIf(event_id LIKE '%failed') AS failed FROM audit.events WHERE sourceServiceName != '' GROUP BY sourceServiceName ORDER BY failed DESC LIMIT 10"; do
    curl -s -o "$WORK/q.out" -w '%{http_code}' --data-binary "$q" "$CHURL" >"$WORK/q.code"
    check "query runs: ${q:0:60}" test "$(cat "$WORK/q.code")" = 200
done

# ---- phase 2: clickhouse-server killed in the middle of a run, then back ----
"$TRAIL_BIN/trail" loadgen -n 6000 -s 11 -d 10 >"$WORK/load2.ndjson"
split -l 300 "$WORK/load2.ndjson" "$WORK/p2."
(
    for p in "$WORK"/p2.*; do
        curl -s -o /dev/null -X POST -H 'Content-Type: application/x-ndjson' \
            --data-binary @"$p" "$URL/v1/events"
        sleep 0.05 # a pace, not a wait: the sends go on while ClickHouse is killed below
    done
) &
SENDER=$!
# kill it while inserts are going on: as soon as rows from the second load arrive
for _ in $(seq 1 200); do
    n=$(chq "SELECT count() FROM audit.events" 2>/dev/null)
    if [ -n "$n" ] && [ "$n" -gt "$((LAST + 600))" ]; then
        break
    fi
    sleep 0.02
done
kill -9 "$CH_PID"
wait "$CH_PID" 2>/dev/null
echo "clickhouse-server killed with $n rows"
check "the sink is down while ClickHouse is" wait_metric "$URL" \
    'trail_sink_up\{sink="ch",type="clickhouse"\} 0' 60
printf '{"id":"auth_logout_local","attrs":{"duser":"while.down","phxTraceId":"#down"}}\n' >"$WORK/down.ndjson"
http_post "$URL/v1/events" "$WORK/down.ndjson" application/x-ndjson >/dev/null
check_eq "ingest goes on while ClickHouse is down" "$(cat "$WORK/http.code")" 200
check "clickhouse-server starts again on the same data" start_clickhouse
wait "$SENDER"
LAST2=$(store_last)
check "the sink catches up to seq $LAST2" wait_cursor "$LAST2"
check_eq "rows after the crash: as many as events" "$(chq "SELECT count() FROM audit.events")" \
    "$LAST2"
check_eq "no duplicate rows (without FINAL)" "$(chq "SELECT count() - uniqExact(uuid) FROM audit.events")" 0
check_eq "every seq 1..$LAST2 once" \
    "$(chq "SELECT min(seq), max(seq), uniqExact(seq) FROM audit.events FORMAT CSV")" \
    "1,$LAST2,$LAST2"
check "the sink recorded the outage" wait_metric "$URL" \
    'trail_sink_errors_total\{sink="ch",type="clickhouse"\} [1-9]'
"$TRAIL_BIN/trail" sinks --store "$WORK/store" >"$WORK/sinks.txt"
check_grep "trail sinks shows the last error of the outage" '^ch +clickhouse .*(connect|closed|refused|reset)' \
    "$WORK/sinks.txt"

# ---- phase 3: the cursor file goes back to the start (restored from an old backup) ----
stop_traild
LAST3=$(store_last)
sed -i 's/^seq .*/seq 0/' "$WORK/store/sinks/ch.cursor"
start_traild "$CONF" || exit 1
LAST3=$(store_last)
check "the rewound sink catches up to seq $LAST3" wait_cursor "$LAST3"
# traild's own start-up events may still be arriving: wait until the cursor is the store's end
for _ in $(seq 1 100); do
    LAST3=$(store_last)
    [ "$(sed -n 's/^seq //p' "$WORK/store/sinks/ch.cursor")" = "$LAST3" ] && break
    sleep 0.05
done
check_eq "rows after the rewind: as many as events" "$(chq "SELECT count() FROM audit.events")" \
    "$LAST3"
check_eq "no row sent twice after the rewind" "$(chq "SELECT count() - uniqExact(uuid) FROM audit.events")" 0
check_grep "the sink said it skipped rows already there" 'rows of the batch were already in audit.events' \
    "$WORK/traild.log"

stop_traild
finish
