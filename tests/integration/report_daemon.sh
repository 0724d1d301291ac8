#!/usr/bin/env bash
# report_daemon.sh - traild's reports over HTTP: `trail report list|show|run
# --url` gives what --store gives on the same data (every format, a pinned
# now), GET /v1/reports's JSON, and reports made, changed and deleted
# through the API: the admin role only (403 for the read role), config
# reports read-only (409), bad definitions refused (400), every change a
# trail_report_changed record naming who and the definition's SHA-256, the
# files kept in STORE/reports across a restart. One traild, restarted once.
source "$(dirname "$0")/daemon_common.bash"
TRAIL="$TRAIL_BIN/trail"
PACK=$(cd "$(dirname "$0")/../../reports" && pwd)
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
CONF=$WORK/traild.conf
NOW=2026-11-18T12:00:00Z

# seeded data on a fixed time base, imported before traild opens the store
"$TRAIL" loadgen -n 3000 -d 10 -u 50 -s 5 --start 2026-11-10T00:00:00Z >"$WORK/events.ndjson"
"$TRAIL" import "$WORK/events.ndjson" --store "$WORK/store" >/dev/null || exit 1

"$TRAIL" token-hash analyst read >"$WORK/r.tok"
"$TRAIL" token-hash ops admin >"$WORK/a.tok"
R=$(sed -n 1p "$WORK/r.tok")
A=$(sed -n 1p "$WORK/a.tok")
cat >"$CONF" <<EOF
[store]
path = $WORK/store
[listen]
http = 127.0.0.1:$PORT
syslog_udp = off
syslog_tcp = off
[tokens]
$(sed -n 2p "$WORK/r.tok")
$(sed -n 2p "$WORK/a.tok")
[reports]
dir = $PACK
[report local-logins]
title = Local logins
category = Authentication
range = previous day
schedule = daily 06:00 Europe/Stockholm
count = Logins per hour
event = auth_*_success
by = hour
events = Latest
event = auth_*_success
limit = 5
EOF
start_traild "$CONF" "$WORK/traild1.log" || exit 1

# --url and --store: the same bytes
"$TRAIL" report list --url "$URL" --token "$R" >"$WORK/list.url"
"$TRAIL" report list --reports "$PACK" --config "$CONF" >"$WORK/list.store"
check "list --url is list --reports --config" cmp -s "$WORK/list.url" "$WORK/list.store"
check_eq "list names the pack and the config's report" "$(awk 'NR>1{print $1}' "$WORK/list.url" | grep -c .)" \
    "$(($(ls "$PACK"/*.conf | wc -l) + 1))"
"$TRAIL" report show local-logins --url "$URL" --token "$R" >"$WORK/show.url"
"$TRAIL" report show local-logins --config "$CONF" >"$WORK/show.store"
check "show --url is show --config" cmp -s "$WORK/show.url" "$WORK/show.store"
for name in failed-sign-ins local-logins; do
    for fmt in table csv json html; do
        "$TRAIL" report run "$name" --url "$URL" --token "$R" --format "$fmt" --now "$NOW" \
            >"$WORK/$name.$fmt.url"
        "$TRAIL" report run "$name" --reports "$PACK" --config "$CONF" --store "$WORK/store" \
            --format "$fmt" --now "$NOW" >"$WORK/$name.$fmt.store"
        check "run $name --format $fmt: --url is --store" \
            cmp -s "$WORK/$name.$fmt.url" "$WORK/$name.$fmt.store"
    done
done
check_grep "the report has figures" '"total":[1-9]' "$WORK/failed-sign-ins.json.url"
check_grep "a zoned report says its zone" '"zone":"Europe/Stockholm"' "$WORK/local-logins.json.url"
"$TRAIL" report run nosuch --url "$URL" --token "$R" >/dev/null 2>&1
check_eq "an unknown report: exit 2" "$?" 2

# req TOKEN METHOD PATH [BODY] - status in $WORK/code, body in $WORK/body
req() {
    local args=(-s -o "$WORK/body" -w '%{http_code}' -X "$2" --max-time 20)
    [ -n "$1" ] && args+=(-H "Authorization: Bearer $1")
    [ -n "${4:-}" ] && args+=(-H 'Content-Type: text/plain' --data-binary "$4")
    curl "${args[@]}" "$URL$3" >"$WORK/code"
}
req "$R" GET /v1/reports
check_eq "GET /v1/reports: 200" "$(cat "$WORK/code")" 200
check_eq "GET /v1/reports: the JSON shape" "$(python3 -c '
import json, sys
d = {r["name"]: r for r in json.load(open(sys.argv[1]))["reports"]}
l = d["local-logins"]
f = d["failed-sign-ins"]
print(l["source"], l["editable"], l["schedule"], l["zone"], l["formats"], l["next_run"] is not None,
      l["last_run"], f["schedule"], f["source"], [s["kind"] for s in l["sections"]])' "$WORK/body")" \
    "config False daily 06:00 Europe/Stockholm Europe/Stockholm ['html'] True None None config ['count', 'events']"
req "$R" GET /v1/reports/local-logins
check_eq "GET /v1/reports/NAME: its definition" "$(python3 -c '
import json, sys
print(json.load(open(sys.argv[1]))["definition"].splitlines()[0])' "$WORK/body")" "[report local-logins]"
req "$R" GET "/v1/reports/local-logins/run?format=pdf"
check_eq "run?format=pdf: 400" "$(cat "$WORK/code")" 400
req "$R" GET /v1/reports/nosuch/run
check_eq "run of an unknown report: 404" "$(cat "$WORK/code")" 404

# reports made through the API
DEF='[report my-locks]
title = My lockouts
category = Authentication
count = Locks
event = *_locked
by = day'
req "$R" POST /v1/reports "$DEF"
check_eq "POST with the read role: 403" "$(cat "$WORK/code")" 403
req "" POST /v1/reports "$DEF"
check_eq "POST without a token: 401" "$(cat "$WORK/code")" 401
req "$A" POST /v1/reports "$DEF"
check_eq "POST with the admin role: 201" "$(cat "$WORK/code")" 201
SHA1=$(printf '%s\n' "$DEF" | sha256sum | cut -d' ' -f1)
check_grep "POST: created, with the definition's SHA-256" "\"action\":\"created\",\"definition_sha256\":\"$SHA1\"" "$WORK/body"
check "POST: kept in STORE/reports/my-locks.conf" cmp -s "$WORK/store/reports/my-locks.conf" <(printf '%s\n' "$DEF")
req "$A" POST /v1/reports "$DEF"
check_eq "POST of an existing report: 409" "$(cat "$WORK/code")" 409
req "$A" PUT /v1/reports/my-locks 'title = My lockouts and unlocks
count = Locks and unlocks
event = *_locked, *_unlocked
by = event'
check_eq "PUT of the keys alone: 200" "$(cat "$WORK/code")" 200
"$TRAIL" report run my-locks --url "$URL" --token "$R" --now "$NOW" --format json >"$WORK/my.json"
check_grep "the changed report runs" '"title":"My lockouts and unlocks"' "$WORK/my.json"
req "$A" PUT /v1/reports/my-locks '[report my-locks]
count = x
by = nosuchkey'
check_eq "PUT of a bad definition: 400" "$(cat "$WORK/code")" 400
check_grep "... saying what is wrong" "nosuchkey" "$WORK/body"
req "$A" PUT /v1/reports/my-locks '[report other]
count = x'
check_eq "PUT whose section names another report: 400" "$(cat "$WORK/code")" 400
req "$A" PUT /v1/reports/local-logins '[report local-logins]
count = all' 
check_eq "PUT of a config report: 409" "$(cat "$WORK/code")" 409
req "$A" DELETE /v1/reports/failed-sign-ins
check_eq "DELETE of a pack report: 409" "$(cat "$WORK/code")" 409
req "$R" DELETE /v1/reports/my-locks
check_eq "DELETE with the read role: 403" "$(cat "$WORK/code")" 403
req "$A" POST /v1/reports '[report gone]
count = all'
req "$A" DELETE /v1/reports/gone
check_eq "DELETE: 200" "$(cat "$WORK/code")" 200
check "DELETE: the file is gone" test ! -e "$WORK/store/reports/gone.conf"
req "$A" DELETE /v1/reports/gone
check_eq "DELETE of a missing report: 404" "$(cat "$WORK/code")" 404

# every change is a record: who, which, what, the definition and its hash
changes() {
    "$TRAIL" query --url "$URL" --token "$R" --event trail_report_changed --order oldest \
        --format ndjson 2>/dev/null
}
four_changes() { [ "$(changes | wc -l)" -ge 4 ]; }
check "the changes are recorded" wait_for 30 four_changes
check_eq "records: report, action, who" "$(changes | python3 -c '
import json, sys
for l in sys.stdin:
    a = json.loads(l)["attrs"]
    print(a["report"], a["action"], a["suser"])')" "my-locks created token ops
my-locks changed token ops
gone created token ops
gone deleted token ops"
check_eq "the record's hash is the definition's" "$(changes | head -1 | python3 -c '
import json, sys, hashlib
a = json.loads(sys.stdin.readline())["attrs"]
print(a["definition_sha256"] == hashlib.sha256(a["definition"].encode()).hexdigest(), a["definition_sha256"])')" \
    "True $SHA1"

# a restart keeps what the API made
stop_traild
start_traild "$CONF" "$WORK/traild2.log" || exit 1
"$TRAIL" report list --url "$URL" --token "$R" >"$WORK/list2"
check_grep "after a restart: the made report is served" '^my-locks ' "$WORK/list2"
check "after a restart: not the deleted one" bash -c "! grep -q '^gone ' '$WORK/list2'"
req "$R" GET /v1/reports/my-locks
check_grep "after a restart: source api, editable" '"source":"api","editable":true' "$WORK/body"
finish
