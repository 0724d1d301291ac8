#!/usr/bin/env bash
# sink_file.sh - traild's file sink: the event.log lines are exactly what
# `trail export --format eventlog` prints for the same store; files roll by
# the event's day (at the configured offset) and by size, named
# NAME.YYYY-MM-DD[.N].log; vendor, product, version and offset are
# configurable; an NDJSON sink with an ECS mapping and filters (event glob,
# minimum severity) holds exactly the matching events.
source "$(dirname "$0")/daemon_common.bash"

HPORT=$(free_port)
URL=http://127.0.0.1:$HPORT
CONF=$WORK/traild.conf
cat >"$CONF" <<EOF
[store]
path = $WORK/store
fsync = always
[listen]
http = 127.0.0.1:$HPORT
syslog_udp = off
syslog_tcp = off
[sink plain]
type = file
dir = $WORK/plain
[sink pas]
type = file
dir = $WORK/pas
name = audit
cef_vendor = PhenixID
cef_product = PAS
cef_version = 6.0.0
utc_offset = +02:00
max_bytes = 64K
[sink ecs]
type = file
dir = $WORK/ecs
format = json
mapping = ecs
events = auth_* pipes_*
min_severity = WARNING
EOF
# configuration mistakes are named with their file and line
bad_conf() { # EXPECTED-REGEX then the [sink] lines
    local want=$1
    shift
    printf '[store]\npath = %s\n' "$WORK/badstore" >"$WORK/bad.conf"
    printf '%s\n' "$@" >>"$WORK/bad.conf"
    "$TRAILD" -t -c "$WORK/bad.conf" >"$WORK/bad.out" 2>&1
    local rc=$?
    check_grep "traild -t refuses: $want" "$want" "$WORK/bad.out"
    check_eq "traild -t exits 2 for it" "$rc" 2
}
bad_conf 'bad.conf:4: \[sink a\] dir: the directory' '[sink a]' 'type = file'
bad_conf 'bad.conf:4: \[sink a\] has no type' '[sink a]' 'dir = /tmp'
bad_conf 'bad.conf:5: \[sink a\] url: unknown key' '[sink a]' 'type = file' 'url = http://x/'
bad_conf 'bad.conf:6: \[sink a\] transport: .sctp. is not one of' '[sink a]' 'type = syslog' \
    'address = 127.0.0.1:514' 'transport = sctp'
bad_conf 'mapping applies to JSON lines' '[sink a]' 'type = file' 'dir = /tmp' 'mapping = ecs'
bad_conf "bad.conf:5: \\[sink a\\] min_severity: 'LOUD'" '[sink a]' 'type = file' 'min_severity = LOUD'
# each type's keys are typed (sink_conf.c): a value is parsed once, by its key's type
bad_conf 'bad.conf:4: \[sink a\] url: an http:// or https:// URL is needed' '[sink a]' 'type = webhook'
bad_conf "bad.conf:5: \\[sink a\\] url: 'ftp://x/' is not an http:// or https:// URL" '[sink a]' \
    'type = webhook' 'url = ftp://x/'
bad_conf "bad.conf:6: \\[sink a\\] timeout_ms: '5 days' is not a duration" '[sink a]' \
    'type = webhook' 'url = http://127.0.0.1:9/' 'timeout_ms = 5 days'
bad_conf "bad.conf:6: \\[sink a\\] max_bytes: '1K' is not a size of at least 4096" '[sink a]' \
    'type = file' 'dir = /tmp' 'max_bytes = 1K'
bad_conf "bad.conf:6: \\[sink a\\] verify: 'maybe' is not true or false" '[sink a]' \
    'type = clickhouse' 'url = http://127.0.0.1:9/' 'verify = maybe'
# a duration takes a unit: 2s is 2000 ms, within timeout_ms's 100 to 600000
printf '[store]\npath = %s\n[sink a]\ntype = syslog\naddress = 127.0.0.1:514\ntimeout_ms = 2s\n' \
    "$WORK/badstore" >"$WORK/good.conf"
"$TRAILD" -t -c "$WORK/good.conf" >"$WORK/good.out" 2>&1
check_eq "traild -t takes timeout_ms = 2s" "$?" 0

T0=$(date -u +%s)
start_traild "$CONF" || exit 1
"$TRAIL_BIN/trail" loadgen -n 3000 -s 9 -d 3 >"$WORK/load.ndjson"
http_post "$URL/v1/events" "$WORK/load.ndjson" application/x-ndjson >/dev/null
check_eq "3000 events accepted" "$(cat "$WORK/http.code")" 200
stop_traild
check_eq "traild stopped" "$STOP_STATUS" 0
# the stop event is after the sinks stopped: deliver it with one more start and stop
start_traild "$CONF" || exit 1
delivered_all() { # every file sink's cursor is the store's last seq (LAST)
    LAST=$("$TRAIL_BIN/trail" stats --store "$WORK/store" --json | sed 's/.*"last_seq":\([0-9]*\).*/\1/')
    [ "$(sed -n 's/^seq //p' "$WORK/store/sinks/plain.cursor" 2>/dev/null)" = "$LAST" ] &&
        [ "$(sed -n 's/^seq //p' "$WORK/store/sinks/pas.cursor" 2>/dev/null)" = "$LAST" ] &&
        [ "$(sed -n 's/^seq //p' "$WORK/store/sinks/ecs.cursor" 2>/dev/null)" = "$LAST" ]
}
check "every file sink delivered the whole store" wait_for 60 delivered_all
kill -STOP "$TRAILD_PID" # hold it still while the files are read
"$TRAIL_BIN/trail" export --store "$WORK/store" --format eventlog --to "$LAST" >"$WORK/export.log"
store_dump "$WORK/store" | head -n "$LAST" >"$WORK/store.ndjson"
kill -CONT "$TRAILD_PID"

check_eq "the plain sink holds the export's lines, sorted" \
    "$(cat "$WORK"/plain/event.*.log | sort | md5sum)" "$(sort "$WORK/export.log" | md5sum)"
check_eq "one plain line per event" "$(cat "$WORK"/plain/event.*.log | wc -l)" "$LAST"
# traild's own events are stamped by its clock and filed by their day: under
# tests/at_time.sh 2026-12-06T23:30Z is the 6th in UTC, the 7th at +02:00
own=$(grep -m1 '"id":"trail_run_starting"' "$WORK/store.ndjson" | sed -n 's/.*"time":"\([^"]*\)".*/\1/p')
own_s=$(date -u -d "${own:-x}" +%s 2>/dev/null || echo 0)
check "traild stamps its start by the script's clock ($own)" \
    test "$((own_s - T0))" -ge 0 -a "$((own_s - T0))" -le 600
check_grep "... filed in the plain file of its UTC day" '\|trail_run_starting\|' \
    "$WORK/plain/event.$(date -u -d "@$own_s" +%F).log"
check "... and in a pas file of its +02:00 day" \
    grep -q '|trail_run_starting|' "$WORK/pas/audit.$(date -u -d "@$((own_s + 7200))" +%F)".*log
python3 - "$WORK" "$LAST" <<'PY' >"$WORK/check.out" 2>&1
import datetime, glob, json, os, re, sys
w, last = sys.argv[1], int(sys.argv[2])
bad = 0
def fail(m):
    global bad
    bad += 1
    print("FAIL " + m)
store = [json.loads(l) for l in open(w + "/store.ndjson")]
# pas: offset +02:00, vendor/product/version, rolled by size
files = glob.glob(w + "/pas/audit.*.log")
names = sorted(os.path.basename(f) for f in files)
pat = re.compile(r"^audit\.(\d{4}-\d\d-\d\d)(?:\.(\d+))?\.log$")
if not all(pat.match(n) for n in names):
    fail("names: %s" % names)
if not any(pat.match(n).group(2) for n in names):
    fail("no file rolled by size: %s" % names)
def day_at(t, hours):
    """the day of an RFC 3339 UTC time at an offset of whole hours"""
    d = datetime.datetime.strptime(t[:19], "%Y-%m-%dT%H:%M:%S")
    return (d + datetime.timedelta(hours=hours)).date().isoformat()
# the plain files: one per UTC day on which trail received events
plain = sorted(os.path.basename(f) for f in glob.glob(w + "/plain/event.*.log"))
want_plain = sorted({"event.%s.log" % day_at(e["received"], 0) for e in store})
if plain != want_plain:
    fail("plain files %s, want %s (the days events arrived)" % (plain[:4], want_plain[:4]))
# the pas files in day and roll order hold the records in seq order; a line
# is in the file of the day (at +02:00) its record arrived, and its own
# prefix and time are the event's time at +02:00
def order(n):
    m = pat.match(n)
    return (m.group(1), int(m.group(2) or 0))
lines = 0
for n in sorted(names, key=order):
    f = w + "/pas/" + n
    day = pat.match(n).group(1)
    data = open(f).read()
    first = data.split("\n", 1)[0]
    if os.path.getsize(f) > 64 * 1024 + len(first) + 4096:
        fail("%s is %d bytes, over max_bytes" % (f, os.path.getsize(f)))
    for l in data.splitlines():
        rec = store[lines] if lines < len(store) else None
        lines += 1
        m = re.match(r"^(\d{4}-\d\d-\d\d) \d\d:\d\d:\d\d,\d{3} \[EVENT\]  [A-Z]+: "
                     r"(\d{4}-\d\d-\d\d)T\d\d:\d\d:\d\d(\.\d+)?\+02:00 \S+ "
                     r"CEF:0\|PhenixID\|PAS\|6\.0\.0\|" + (re.escape(rec["id"]) if rec else ""), l)
        if not m or not rec or day_at(rec["received"], 2) != day or \
                m.group(1) != day_at(rec["time"], 2) or m.group(2) != m.group(1):
            fail("%s: line %d not of the day %s its record arrived at +02:00: %s" %
                 (f, lines, day, l[:120]))
            break
if lines != last:
    fail("pas: %d lines, want %d" % (lines, last))
# ecs: exactly the auth_*/pipes_* events of WARNING and above, as ECS documents
want = sorted(e["uuid"] for e in store if e["severity"] >= 6 and
              (e["id"].startswith("auth_") or e["id"].startswith("pipes_")))
got = []
for f in glob.glob(w + "/ecs/event.*.ndjson"):
    for l in open(f):
        d = json.loads(l)
        got.append(d["event"]["id"])
        if d["event"]["severity"] < 6 or not re.match(r"^(auth|pipes)_", d["event"]["action"]):
            fail("ecs line outside the filters: %s" % l[:100])
            break
if sorted(got) != want or not want:
    fail("ecs: %d events, want %d" % (len(got), len(want)))
print("pas: %d files, %d lines; ecs: %d events; %d problems" % (len(files), lines, len(got), bad))
sys.exit(1 if bad else 0)
PY
RES=$?
tail -3 "$WORK/check.out"
check "pas files: offset, vendor, product, version, daily and size rolls; ecs filters" test "$RES" -eq 0
stop_traild
finish
