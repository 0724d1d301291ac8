#!/usr/bin/env bash
# query_backends.sh - one query language over three sources: the same events
# searched and counted through --store, --url (traild) and --clickhouse (the
# copy traild's clickhouse sink wrote into a clickhouse-server started here),
# every answer checked against oracle.py's brute force, pages and cursors
# included (query_backends.py); then what --clickhouse refuses rather than
# answer differently, hostile values passed to ClickHouse as data, and the
# table and store options.
source "$(dirname "$0")/daemon_common.bash"
TRAIL="$TRAIL_BIN/trail"

source "$(dirname "$0")/clickhouse_single.bash"
HPORT=$(free_port)
URL=http://127.0.0.1:$HPORT


check "clickhouse-server starts" start_clickhouse || finish

# the events: generator events and a few hostile values, imported into a store
# that traild then serves and copies into ClickHouse from its beginning; the
# lockout attack gives the lockouts report locks to count (two days of 40 people
# rarely lock an account)
S=$WORK/store
"$TRAIL" loadgen -n 1500 -d 2 -u 40 -s 11 --attack lockout >"$WORK/events.ndjson"
python3 - >>"$WORK/events.ndjson" <<'PY'
import json
for i, v in enumerate(["o'brien", "back\\slash", "quote' OR 1=1 --", "tab\there", "x\\' OR '1'='1",
                       "ünïcödé name", "new\nline", "semi;colon) FROM system.tables --"]):
    print(json.dumps({"id": "auth_authenticators_bankid_failed", "time": "2026-11-02T10:00:%02d.5Z" % i, "severity": 6,
                      "host": "idp-h", "attrs": {"duser": v, "phxTraceId": "#T%d" % i,
                                                "src": "198.51.100.%d" % (i + 1)}}))
PY
"$TRAIL" import "$WORK/events.ndjson" --store "$S" >/dev/null || exit 1
"$TRAIL" events --format json >"$WORK/catalog.json"
N=$(wc -l <"$WORK/events.ndjson")

CONF=$WORK/traild.conf
cat >"$CONF" <<EOC
[store]
path = $S
[listen]
http = 127.0.0.1:$HPORT
syslog_udp = off
syslog_tcp = off
[sink ch]
type = clickhouse
url = $CHURL
database = trail
table = events
batch_events = 500
retry_min_ms = 50
retry_max_ms = 500
EOC
start_traild "$CONF" "$WORK/traild.log" || exit 1
store_last() { "$TRAIL" stats --store "$S" --json | sed 's/.*"last_seq":\([0-9]*\).*/\1/'; }
ch_rows() { chq "SELECT count() FROM trail.events"; }
delivered() { [ "$(ch_rows)" = "$(store_last)" ]; }
check "the sink copies every record of the store into ClickHouse" wait_for 60 delivered
"$TRAIL" query --store "$S" --limit 0 --order oldest --format ndjson >"$WORK/dump.ndjson"
check_eq "traild wrote nothing more meanwhile" "$(ch_rows)" "$(store_last)"

# the oracle's answers against all three sources, pages and counts included
python3 "$(dirname "$0")/query_backends.py" "${BACKEND_QUERIES:-15}" 7 "$WORK/catalog.json" \
    "$WORK/events.ndjson" "$WORK/dump.ndjson" \
    --store "$S" -- --url "$URL" -- --clickhouse "$CHURL" >"$WORK/backends.out" 2>&1
tail -5 "$WORK/backends.out"
read -r bp bf < <(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$WORK/backends.out")
PASSED=$((PASSED + ${bp:-0}))
FAILED=$((FAILED + ${bf:-1}))
grep '^FAIL' "$WORK/backends.out" | head -10

ORACLE=$(dirname "$0")/oracle.py
oracle() { # WHAT ARGS...: oracle.py WHAT over the imported events and what traild added
    local what=$1
    shift
    python3 "$ORACLE" --catalog "$WORK/catalog.json" --after "$WORK/dump.ndjson" "$what" "$@" \
        "$WORK/events.ndjson"
}
# hostile values reach ClickHouse as data: each finds its own event, and only it
while IFS= read -r v; do
    "$TRAIL" query --clickhouse "$CHURL" --where "duser=$v" --limit 0 --format ndjson \
        >"$WORK/got" 2>"$WORK/got.err"
    check_eq "--where duser=$(printf %q "$v") finds its event" \
        "$(oracle check-events "$WORK/got" --where "duser=$v")" ok
done < <(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("host") == "idp-h" and "\n" not in e["attrs"]["duser"]: print(e["attrs"]["duser"])' "$WORK/events.ndjson")
"$TRAIL" query --clickhouse "$CHURL" --text "ünïcödé" --limit 0 --format ndjson >"$WORK/got" 2>&1
check_eq "--text with UTF-8" "$(oracle check-events "$WORK/got" --text "ünïcödé")" ok

# bad BADNAME PATTERN ARGS...: exit status 2 and a message matching PATTERN
bad() {
    local name=$1 pattern=$2
    shift 2
    "$TRAIL" "$@" >"$WORK/bad.out" 2>"$WORK/bad.err"
    local st=$?
    check_eq "$name: exit 2" "$st" 2
    check_grep "$name: says why" "$pattern" "$WORK/bad.err"
}
bad "a where value not in trail's text form" "ClickHouse holds values as text" \
    query --clickhouse "$CHURL" --where failed_attempts=03
bad "the received time" "does not keep the received time" \
    query --clickhouse "$CHURL" --received-since 2026-11-01
bad "provenance" "does not keep where a record came from" count --clickhouse "$CHURL" --input http
bad "a table name that is not one" "bad table" \
    query --clickhouse "$CHURL" --clickhouse-table "events; DROP TABLE trail.events"
bad "two sources" "give one of" query --clickhouse "$CHURL" --store "$S"
bad "a cursor of other filters" "other filters" \
    query --clickhouse "$CHURL" --event 'saml_*' --cursor "n.100.1764000000000000.00000000"
check_eq "the table is still there" "$(ch_rows)" "$(store_last)"

# the report pack over ClickHouse: the same report as over the store, section by
# section (searches and counts); a section of the store's own files is refused
for rep in failed-sign-ins lockouts tokens authentications latest-events; do
    for src in store clickhouse; do
        case $src in
        store) from=(--store "$S") ;;
        clickhouse) from=(--clickhouse "$CHURL" --clickhouse-table trail.events) ;;
        esac
        "$TRAIL" report run "$rep" --reports "$TRAIL_SOURCE_DIR/reports" "${from[@]}" \
            --now 2026-11-03T00:00:00Z --format json >"$WORK/report-$src.json" 2>"$WORK/report-$src.err"
        check_eq "report $rep over $src: exit 0" "$?" 0
    done
    # the same, but for what ClickHouse does not keep: the received time and provenance
    python3 - "$WORK/report-store.json" "$WORK/report-clickhouse.json" >"$WORK/report-cmp" <<'PY'
import json, sys
KEEP_OUT = {"received", "input", "origin", "peer", "principal", "via"}
def norm(x):
    if isinstance(x, dict):
        return {k: norm(v) for k, v in x.items() if k not in KEEP_OUT}
    if isinstance(x, list):
        return [norm(v) for v in x]
    return x
a, b = (norm(json.load(open(f))) for f in sys.argv[1:3])
filled = sum(1 for s in a["sections"] if s.get("events") or s.get("rows"))
print("same" if a == b else "differ", filled)
PY
    read -r same filled <"$WORK/report-cmp"
    check_eq "report $rep over ClickHouse is the report over the store" "$same" same
    check "... with sections that found something ($filled)" test "${filled:-0}" -gt 0
done
bad "a report of the store's own files" "reads the store's sink cursors" \
    report run trail-health --reports "$TRAIL_SOURCE_DIR/reports" --clickhouse "$CHURL" \
    --clickhouse-table trail.events --now 2026-11-03T00:00:00Z

# a table that holds two stores: refused without --clickhouse-store, one with it
chq "CREATE TABLE trail.two AS trail.events" >/dev/null
chq "INSERT INTO trail.two SELECT * FROM trail.events" >/dev/null
chq "INSERT INTO trail.two SELECT time, time_us, event_id, severity, severity_name, host, duser, src, phxTraceId, sourceServiceName, attrs.key, attrs.value, uuid, 'other', seq FROM trail.events" >/dev/null
bad "two stores in the table" "several stores" \
    query --clickhouse "$CHURL" --clickhouse-table trail.two
SID=$(chq "SELECT any(store_id) FROM trail.events")
"$TRAIL" count --clickhouse "$CHURL" --clickhouse-table trail.two --clickhouse-store "$SID" \
    >"$WORK/count" 2>&1
check_eq "--clickhouse-store picks one store" "$(cat "$WORK/count")" "$(store_last)"

stop_traild
finish
