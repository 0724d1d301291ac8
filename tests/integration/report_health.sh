#!/usr/bin/env bash
# report_health.sh - the pack's trail-health report over a store with sinks
# and signed checkpoints: its sinks = section (each sink's cursor, lag,
# last error) and checkpoints = section (those signed in the period, the
# longest gap, what the latest does not cover) against figures that
# tests/integration/report_oracle.py works out from the store's own files
# (sinks/*.cursor and *.error, checkpoints, store.meta) and the imported
# NDJSON; the same figures in every format and through traild; and the
# definitions a sinks or checkpoints section refuses.
source "$(dirname "$0")/daemon_common.bash"
TRAIL="$TRAIL_BIN/trail"
PACK=$(dirname "$0")/../../reports
S=$WORK/store
mkdir -p "$S/sinks"

# a signing key in the store: every writer's close signs a checkpoint
"$TRAIL" keygen --out "$WORK/key" >/dev/null || exit 1
cp "$WORK/key.key" "$S/checkpoint.key"
"$TRAIL" loadgen -n 3000 -d 2 -s 5 --start 2026-11-10T00:00:00Z >"$WORK/events.ndjson"
# three imports, so three writers and at least three checkpoints at three tree sizes
head -n 1000 "$WORK/events.ndjson" >"$WORK/a.ndjson"
sed -n 1001,2200p "$WORK/events.ndjson" >"$WORK/b.ndjson"
tail -n +2201 "$WORK/events.ndjson" >"$WORK/c.ndjson"
for part in a b c; do
    "$TRAIL" import "$WORK/$part.ndjson" --store "$S" >/dev/null || exit 1
done
check "checkpoints were signed" test "$(wc -l <"$S/checkpoints")" -ge 3

# sinks as traild leaves them: one caught up, one behind with an error,
# one past the end, one of another store (a copied directory)
id=$(od -An -tx1 -j16 -N16 "$S/store.meta" | tr -d ' \n')
cursor() { # NAME TYPE STORE SEQ DELIVERED
    printf 'trail-sink-cursor/1\ntype %s\nstore %s\nseq %s\nwitnessed 0\ndelivered %s\ntime 1795000000000000\n' \
        "$2" "$3" "$4" "$5" >"$S/sinks/$1.cursor"
}
cursor siem syslog "$id" 3000 3000
cursor ch clickhouse "$id" 1234 1200
printf 'time 1795000100000000\nerror HTTP 503 from the ClickHouse server, "busy"\n' >"$S/sinks/ch.error"
cursor gone file "$id" 3500 3500
cursor copied webhook 0123456789abcdef0123456789abcdef 10 10
echo "not a cursor" >"$S/sinks/junk.cursor"

# now: read once, a second on (whole seconds), so that every checkpoint signed above is before it
sleep 1
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
"$TRAIL" events --format json >"$WORK/catalog.json"
"$TRAIL" report run trail-health --reports "$PACK" --store "$S" --format json --now "$now" \
    >"$WORK/health.json"
python3 "$(dirname "$0")/report_oracle.py" --catalog "$WORK/catalog.json" --now "$now" \
    --store "$S" "$PACK/trail-health.conf" "$WORK/health.json" "$WORK/events.ndjson" >"$WORK/oracle"
check_eq "trail-health: every section as the oracle" "$(tail -1 "$WORK/oracle")" ok || cat "$WORK/oracle"
sec() { # TITLE EXPR: a figure of the JSON answer
    python3 -c 'import json,sys; s=[s for s in json.load(open(sys.argv[1]))["sections"] if s["title"]==sys.argv[2]][0]; print(eval(sys.argv[3]))' \
        "$WORK/health.json" "$1" "$2"
}
# the figures the oracle agreed with, as a reader would check them
check_eq "four sinks (the junk file is not one)" "$(sec 'Sink lag' 's["summary"]["sinks"]')" 4
check_eq "the lag of the sink behind" "$(sec 'Sink lag' '[r["lag"] for r in s["rows"] if r["sink"]=="ch"][0]')" 1766
check_eq "its last error" "$(sec 'Sink lag' '[r["last_error"] for r in s["rows"] if r["sink"]=="ch"][0]')" \
    'HTTP 503 from the ClickHouse server, "busy"'
check_eq "no lag past the end" "$(sec 'Sink lag' '[r["lag"] for r in s["rows"] if r["sink"]=="gone"][0]')" None
check_eq "the largest lag" "$(sec 'Sink lag' 's["summary"]["max_lag"]')" 1766
check_eq "the latest checkpoint covers every record" \
    "$(sec 'Checkpoints signed' 's["summary"]["not_covered"]')" 0
check_eq "the last size of the period is the store's" "$(sec 'Checkpoints signed' 's["summary"]["last_size"]')" 3000
check_eq "the first import's checkpoint" "$(sec 'Checkpoints signed' 's["rows"][-1]["tree_size"]')" 1000

# the other formats carry the same figures
for f in table csv html; do
    "$TRAIL" report run trail-health --reports "$PACK" --store "$S" --format $f --now "$now" >"$WORK/health.$f"
done
check_grep "table: the sink behind and its lag" '^ch  *clickhouse  *1234  *1766  *1200 ' "$WORK/health.table"
check_grep "table: the summary" '^max_lag: 1766$' "$WORK/health.table"
check_grep "csv: the summary row" '^max_lag,1766$' "$WORK/health.csv"
check_grep "csv: the error quoted" '^ch,clickhouse,1234,1766,1200,.*,"HTTP 503 from the ClickHouse server, ""busy""",' "$WORK/health.csv"
check_grep "html: the lag cell" '<td>ch</td><td>clickhouse</td><td class="n">1234</td><td class="n">1766</td>' "$WORK/health.html"
check_grep "html: the error escaped" 'server, &quot;busy&quot;' "$WORK/health.html"

# a store with neither: the sections say so, nothing fails
"$TRAIL" import "$WORK/a.ndjson" --store "$WORK/plain" >/dev/null
"$TRAIL" report run trail-health --reports "$PACK" --store "$WORK/plain" --format json --now "$now" >"$WORK/plain.json"
check_eq "no sinks, no checkpoints" \
    "$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["sections"]; print(s[-2]["summary"], s[-1]["summary"]["checkpoints"], s[-1]["summary"]["latest"])' "$WORK/plain.json")" \
    "{'sinks': 0, 'max_lag': 0, 'last_seq': 1000} 0 None"

# traild answers the report from the same files (its own records raise the store's last seq:
# each lag is checked against the last seq its answer names)
port=$(free_port)
cat >"$WORK/traild.conf" <<EOF
[store]
path = $S
[listen]
http = 127.0.0.1:$port
syslog_udp = off
syslog_tcp = off
[reports]
dir = $PACK
EOF
start_traild "$WORK/traild.conf" "$WORK/traild.log"
curl -s "http://127.0.0.1:$port/v1/reports/trail-health/run?format=json&now=$now" >"$WORK/daemon.json"
stop_traild
check_eq "traild: each sink's cursor, lag and error as the files say" "$(python3 - "$WORK/daemon.json" "$WORK/health.json" <<'PY'
import json, sys
d = [s for s in json.load(open(sys.argv[1]))["sections"] if s["kind"] == "sinks"][0]
c = [s for s in json.load(open(sys.argv[2]))["sections"] if s["kind"] == "sinks"][0]
last = d["summary"]["last_seq"]
same = [(r["sink"], r["cursor"], r["last_error"]) for r in d["rows"]] == \
    [(r["sink"], r["cursor"], r["last_error"]) for r in c["rows"]]
lags = all(r["lag"] == (last - r["cursor"] if r["lag"] is not None else None) for r in d["rows"])
print("ok" if last > 3000 and same and lags else "differ: %s" % d)
PY
)" ok

# what such sections refuse
bad() { # NAME DEFINITION... : refused with exit status 2 and the message
    mkdir -p "$WORK/bad-$1"
    printf '%s\n' "[report $1]" "${@:2}" >"$WORK/bad-$1/r.conf"
    "$TRAIL" report list --reports "$WORK/bad-$1" >/dev/null 2>"$WORK/bad-$1/err"
}
bad r1 "sinks = Lag" "event = auth_*"
check_eq "a filter in a sinks section: exit 2" "$?" 2
check_grep "  and why" "a sinks = section reads trail's own state" "$WORK/bad-r1/err"
bad r2 "sinks = Lag" "range = last 1d"
check_eq "a range in a sinks section: exit 2" "$?" 2
bad r3 "checkpoints = Signed" "by = day"
check_eq "by in a checkpoints section: exit 2" "$?" 2
finish
