#!/usr/bin/env bash
# daemon_http.sh - traild's HTTP input with curl: POST /v1/events as one
# object, an array and NDJSON (by Content-Type and sniffed), per-item
# answers, every class of bad input with its error text (the good events
# beside it stored), 413, 404/405, and the GET routes.
source "$(dirname "$0")/daemon_common.bash"

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
CONF=$WORK/traild.conf
cat >"$CONF" <<EOF
[store]
path = $WORK/store
[listen]
http = 127.0.0.1:$PORT
syslog_udp = off
syslog_tcp = off
[limits]
max_body_bytes = 4K
max_value_len = 100
[event acme_badge_swiped]
severity = NOTICE
description = A badge was swiped at a door.
schema = duser:string:required:indexed, door:string, src:ip, attempts:int
EOF
start_traild "$CONF" || exit 1

# one object
printf '%s' '{"id":"acme_badge_swiped","attrs":{"duser":"alice","door":"B2"}}' >"$WORK/one.json"
out=$(http_post "$URL/v1/events" "$WORK/one.json")
check_eq "one object: 200" "$(cat "$WORK/http.code")" 200
check "one object: seq and uuid" grep -Eq '^\{"accepted":1,"rejected":0,"results":\[\{"seq":[0-9]+,"uuid":"[0-9a-f-]{36}"\}\]\}$' <<<"$out"

# a severity the catalog replaces: stored as the catalog's, and the answer says so
printf '%s' '{"id":"acme_badge_swiped","severity":9,"attrs":{"duser":"sev","door":"B2"}}' >"$WORK/sev.json"
out=$(http_post "$URL/v1/events" "$WORK/sev.json")
check "a replaced severity: the answer names both" \
    grep -Eq '^\{"accepted":1,"rejected":0,"results":\[\{"seq":[0-9]+,"uuid":"[0-9a-f-]{36}","severity":4,"severity_requested":9\}\]\}$' <<<"$out"
printf '%s' '{"id":"acme_badge_swiped","severity":4,"attrs":{"duser":"sev","door":"B2"}}' >"$WORK/sev4.json"
out=$(http_post "$URL/v1/events" "$WORK/sev4.json")
check_eq "the catalog's own severity: nothing to say" "$(grep -c severity_requested <<<"$out")" 0

# an array with bad neighbours: each class of bad item, with its text
cat >"$WORK/array.json" <<'EOF'
[{"id":"acme_badge_swiped","attrs":{"duser":"bob"}},
 {"id":"no_such_event","attrs":{}},
 {"id":"acme_badge_swiped","attrs":{"door":"A1"}},
 {"id":"acme_badge_swiped","attrs":{"duser":"x","src":"not-an-ip"}},
 {"id":"acme_badge_swiped","attrs":{"duser":"x","colour":"red"}},
 {"id":"acme_badge_swiped","attrs":{"duser":"x","attempts":"many"}},
 {"id":"acme_badge_swiped","attrs":{"duser":"0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789toolong"}},
 {"id":"acme_badge_swiped","attrs":{"duser" "x"}},
 {"id":"Bad-Id"},
 42,
 {"id":"acme_badge_swiped","attrs":{"duser":"carol","door":"C3"}},
 {"id":"auth_entrypoints_oidc_logout","attrs":{"phxEntrypointId":"oidc1"}}]
EOF
out=$(http_post "$URL/v1/events" "$WORK/array.json")
echo "$out" >"$WORK/array.out"
check_eq "array: 200 when some are accepted" "$(cat "$WORK/http.code")" 200
check "array: 2 accepted, 10 rejected" grep -q '^{"accepted":2,"rejected":10,' "$WORK/array.out"
check "array: unknown id named" grep -q "\"error\":\"unknown event id 'no_such_event'\",\"index\":1" "$WORK/array.out"
check "array: missing attribute named" grep -q "needs attribute 'duser'\",\"index\":2" "$WORK/array.out"
check "array: wrong type named" grep -Eq "attribute 'src'[^\"]*not[^\"]*\",\"index\":3" "$WORK/array.out"
check "array: undeclared attribute named" grep -q "attribute 'colour' is not declared[^\"]*\",\"index\":4" "$WORK/array.out"
check "array: bad int named" grep -Eq "attribute 'attempts'[^\"]*\",\"index\":5" "$WORK/array.out"
check "array: value too long" grep -Eq "\"index\":6" "$WORK/array.out"
check "array: malformed item" grep -q "expected .:. after an attribute name[^}]*\"index\":7" "$WORK/array.out"
check "array: malformed id" grep -Eq "\"index\":8" "$WORK/array.out"
check "array: not an object" grep -Eq "\"index\":9" "$WORK/array.out"
check "array: last good one has a seq" grep -Eq '\{"seq":[0-9]+,"uuid":"[^"]+"\},\{"error"[^}]*"index":11\}\]\}$' "$WORK/array.out"
check "array: every missing attribute named at once" grep -q "needs attributes 'phxEntrypointType', 'phxTraceId'\",\"index\":11" "$WORK/array.out"

# NDJSON by Content-Type, with a bad line in the middle
printf '%s\n' '{"id":"acme_badge_swiped","attrs":{"duser":"dave"}}' 'this is not json' \
    '' '{"id":"acme_badge_swiped","attrs":{"duser":"erin"}}' >"$WORK/lines.ndjson"
out=$(http_post "$URL/v1/events" "$WORK/lines.ndjson" application/x-ndjson)
check_eq "ndjson: 200" "$(cat "$WORK/http.code")" 200
check "ndjson: 2 accepted, 1 rejected at index 1" grep -Eq '^\{"accepted":2,"rejected":1,.*"index":1\}' <<<"$out"

# NDJSON sniffed (no Content-Type saying so)
printf '%s\n' '{"id":"acme_badge_swiped","attrs":{"duser":"fay"}}' \
    '{"id":"acme_badge_swiped","attrs":{"duser":"gus"}}' >"$WORK/sniff.ndjson"
out=$(http_post "$URL/v1/events" "$WORK/sniff.ndjson")
check "sniffed ndjson: 2 accepted" grep -q '^{"accepted":2,"rejected":0' <<<"$out"

# the whole body malformed: 400 with a JSON error
printf '%s' '[{"id":"acme_badge_swiped","attrs":{"duser":"x"}' >"$WORK/broken.json"
out=$(http_post "$URL/v1/events" "$WORK/broken.json")
check_eq "malformed body: 400" "$(cat "$WORK/http.code")" 400
check "malformed body: error text" grep -q '^{"error":"malformed JSON array' <<<"$out"
printf '%s' 'hello' >"$WORK/text.txt"
out=$(http_post "$URL/v1/events" "$WORK/text.txt")
check_eq "not JSON: 400" "$(cat "$WORK/http.code")" 400
check "not JSON: error text" grep -q 'the body is not JSON' <<<"$out"
: >"$WORK/empty"
out=$(http_post "$URL/v1/events" "$WORK/empty")
check_eq "empty body: 400" "$(cat "$WORK/http.code")" 400

# every item bad: 400 with the per-item answer
printf '%s' '{"id":"no_such_event"}' >"$WORK/allbad.json"
out=$(http_post "$URL/v1/events" "$WORK/allbad.json")
check_eq "all items bad: 400" "$(cat "$WORK/http.code")" 400
check "all items bad: per-item answer" grep -q '^{"accepted":0,"rejected":1,"results":\[{"error":"unknown event id' <<<"$out"

# over max_body_bytes: 413, with and without Content-Length
head -c 5000 /dev/zero | tr '\0' ' ' >"$WORK/big.json"
out=$(http_post "$URL/v1/events" "$WORK/big.json")
check_eq "oversize body: 413" "$(cat "$WORK/http.code")" 413
check "oversize body: error text" grep -q 'over the limit of 4096' <<<"$out"
code=$(head -c 5000 /dev/zero | tr '\0' ' ' | curl -s -o "$WORK/chunked.out" -w '%{http_code}' \
    -H 'Transfer-Encoding: chunked' --data-binary @- "$URL/v1/events")
check_eq "oversize chunked body: 413" "$code" 413

# routes
code=$(curl -s -o "$WORK/404.out" -w '%{http_code}' "$URL/nope")
check_eq "unknown path: 404" "$code" 404
code=$(curl -s -o "$WORK/405.out" -w '%{http_code}' -X DELETE "$URL/v1/events")
check_eq "DELETE on /v1/events: 405" "$code" 405
code=$(curl -s -o "$WORK/health.out" -w '%{http_code}' "$URL/healthz")
check_eq "healthz: 200" "$code" 200
check_grep "healthz: body" '"status":"ok"' "$WORK/health.out"
curl -s "$URL/v1/catalog" >"$WORK/catalog.out"
check_grep "catalog: custom event with its schema" '"id":"acme_badge_swiped","severity":4,"severity_name":"NOTICE".*"custom":true,"attrs":\[\{"key":"attempts","type":"int"' "$WORK/catalog.out"
check_grep "catalog: 215 events" '"count":215,' "$WORK/catalog.out"
code=$(curl -s -o "$WORK/cp.out" -w '%{http_code}' "$URL/v1/checkpoint")
check_eq "checkpoint without a key: 404" "$code" 404
check_grep "checkpoint without a key: says why" 'no signing key' "$WORK/cp.out"
curl -s "$URL/metrics" >"$WORK/metrics.out"
check_grep "metrics: events in" '^trail_events_in_total\{input="http"\} 9$' "$WORK/metrics.out"
check_grep "metrics: rejected per reason" '^trail_events_rejected_total\{input="http",reason="unknown_event"\} 2$' "$WORK/metrics.out"
check_grep "metrics: fsync histogram" '^trail_fsync_seconds_bucket\{le="\+Inf"\} [1-9]' "$WORK/metrics.out"
check_grep "metrics: store events" '^trail_store_events [0-9]+' "$WORK/metrics.out"
# a few events roll no segment: nothing waits to be sealed, no append waited for the sealers
check_grep "metrics: unsealed backlog" '^trail_store_unsealed_segments 0$' "$WORK/metrics.out"
check_grep "metrics: seal waits" '^trail_store_seal_waits_total 0$' "$WORK/metrics.out"
check_grep "metrics: queue depth" '^trail_queue_events 0$' "$WORK/metrics.out"
check_grep "log names the sender and the problem" "rejected from http:127.0.0.1:[0-9]+ item 1: unknown event id 'no_such_event'" "$WORK/traild.log"

stop_traild TERM
check_eq "SIGTERM: exit 0" "$STOP_STATUS" 0

# what the store holds: every accepted event, none of the rejected ones
store_dump "$WORK/store" >"$WORK/dump.ndjson"
users=$(grep -o '"duser":"[a-z]*"' "$WORK/dump.ndjson" | cut -d'"' -f4 | tr '\n' ' ')
check_eq "store: the accepted events, in order" "$users" "alice sev sev bob carol dave erin fay gus "
check_eq "store: seqs of the answers are the stored ones" \
    "$(grep -c '"id":"acme_badge_swiped"' "$WORK/dump.ndjson")" 9
check_eq "store: a replaced severity is stored as the catalog's" \
    "$(grep '"duser":"sev"' "$WORK/dump.ndjson" | grep -c '"severity":4,')" 2
finish
