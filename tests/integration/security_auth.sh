#!/usr/bin/env bash
# security_auth.sh - traild's token authentication and roles over HTTP:
# tokens made by `trail token-hash` (the config holds only salted hashes),
# 401 with WWW-Authenticate without a token or with a wrong one, 403 for a
# role too small, each role on the routes it may and may not use (ingest,
# query, stream, catalog, proof, checkpoint, metrics, sinks, reload, verify),
# /healthz and the viewer's files open, refusals stored as trail_auth_failed
# events and rate limited per source, revocation by reload, the trail
# clients' --token, clear-text secrets refused, and the warning when
# authentication is off on a non-loopback address.
source "$(dirname "$0")/daemon_common.bash"

TRAIL="$TRAIL_BIN/trail"
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
CONF=$WORK/traild.conf

"$TRAIL" token-hash idp-node1 write >"$WORK/w.tok"
"$TRAIL" token-hash analyst read >"$WORK/r.tok"
"$TRAIL" token-hash ops admin >"$WORK/a.tok"
W=$(sed -n 1p "$WORK/w.tok")
R=$(sed -n 1p "$WORK/r.tok")
A=$(sed -n 1p "$WORK/a.tok")
check "token-hash: 43-character base64url token" grep -Eq '^[A-Za-z0-9_-]{43}$' <<<"$W"
check "token-hash: entry NAME = ROLE:SALT:HASH" \
    grep -Eq '^idp-node1 = write:[0-9a-f]{32}:[0-9a-f]{64}$' <(sed -n 2p "$WORK/w.tok")
check "token-hash: two tokens differ" test "$W" != "$R"
check_eq "token-hash: bad role refused" "$("$TRAIL" token-hash x root >/dev/null 2>&1; echo $?)" 2
echo "short" | "$TRAIL" token-hash x read --stdin >/dev/null 2>"$WORK/short.err"
check_grep "token-hash --stdin: short token refused" "a token of 32 to 512 characters" "$WORK/short.err"

write_conf() { # write_conf PER_MINUTE [extra tokens lines]
    cat >"$CONF" <<EOF
[store]
path = $WORK/store
[listen]
http = 127.0.0.1:$PORT
syslog_udp = off
syslog_tcp = off
[limits]
auth_events_per_minute = $1
auth_events_total_per_minute = 1000
[tokens]
$(sed -n 2p "$WORK/w.tok")
$(sed -n 2p "$WORK/a.tok")
$2
EOF
}
write_conf 1000 "$(sed -n 2p "$WORK/r.tok")"
check "config holds no token" bash -c "! grep -qF -e '$W' -e '$R' -e '$A' '$CONF'"
start_traild "$CONF" || exit 1

# req NAME TOKEN METHOD PATH [BODY] - status in $WORK/code, headers in $WORK/hdr, body in $WORK/body
req() {
    local tok=$2 method=$3 path=$4 body=${5:-}
    local args=(-s -D "$WORK/hdr" -o "$WORK/body" -w '%{http_code}' -X "$method" --max-time 10)
    [ -n "$tok" ] && args+=(-H "Authorization: Bearer $tok")
    [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
    curl "${args[@]}" "$URL$path" >"$WORK/code"
}
EV='{"id":"core_server_run_started","attrs":{"msg":"from the auth test"}}'

metric() { # NAME: its value in traild's metrics (0 when absent)
    curl -s -H "Authorization: Bearer $A" "$URL/metrics" |
        awk -v n="$1" '$1 == n { v = $2 } END { print v + 0 }'
}
stored_refusals() { # how many trail_auth_failed events the store holds
    curl -s -H "Authorization: Bearer $A" "$URL/v1/count?event=trail_auth_failed" |
        grep -Eo '"total":[0-9]+' | cut -d: -f2
}
# refusals_settled: every refusal counted so far is stored, or counted as not
# recorded (rate limit): refusals are stored after their answer, so a test
# waits for this before it reads them
refusals_settled() {
    local total unrec stored
    total=$(metric trail_http_auth_failures_total)
    unrec=$(metric trail_http_auth_failures_unrecorded_total)
    stored=$(stored_refusals)
    [ "${stored:-0}" -gt 0 ] && [ $((stored + unrec)) -eq "$total" ]
}

req - "" GET /healthz
check_eq "/healthz open" "$(cat "$WORK/code")" 200
check_eq "/healthz without a token says only ok" "$(cat "$WORK/body")" '{"status":"ok"}'
req - "not-a-token" GET /healthz
check_eq "/healthz with a wrong token: only ok" "$(cat "$WORK/body")" '{"status":"ok"}'
req - "$W" GET /healthz
check_grep "/healthz with a token: the details" '^\{"status":"ok","store":"ok","queue_events":[0-9]+,"queue_limit":[0-9]+,"durable_seq":[0-9]+,"version":' "$WORK/body"
req - "" GET /
check_eq "the viewer's page open" "$(cat "$WORK/code")" 200

req - "" POST /v1/events "$EV"
check_eq "no token: 401" "$(cat "$WORK/code")" 401
check_grep "no token: WWW-Authenticate Bearer" '^WWW-Authenticate: Bearer realm="trail"' "$WORK/hdr"
check_grep "no token: error names the header" '"error":"a bearer token is needed \(Authorization: Bearer TOKEN\)"' "$WORK/body"

req - "not-a-token-not-a-token-not-a-token" POST /v1/events "$EV"
check_eq "wrong token: 401" "$(cat "$WORK/code")" 401
check_grep "wrong token: invalid_token" 'WWW-Authenticate: Bearer realm="trail", error="invalid_token"' "$WORK/hdr"
check_grep "wrong token: error" '"error":"the token is not valid"' "$WORK/body"

curl -s -o "$WORK/body" -w '%{http_code}' -H "Authorization: Basic $W" "$URL/v1/catalog" >"$WORK/code"
check_eq "Basic scheme: 401" "$(cat "$WORK/code")" 401
check_grep "Basic scheme: error" "not 'Bearer TOKEN'" "$WORK/body"

# a token with one character changed is refused
W2="${W%?}$( [ "${W: -1}" = A ] && echo B || echo A)"
req - "$W2" GET /v1/catalog
check_eq "token with its last character changed: 401" "$(cat "$WORK/code")" 401

# write
req - "$W" POST /v1/events "$EV"
check_eq "write token: ingest 200" "$(cat "$WORK/code")" 200
req - "$W" GET "/v1/events?limit=5"
check_eq "write token: query 403" "$(cat "$WORK/code")" 403
check_grep "write token: 403 names token and roles" '"error":"token idp-node1 has role write; this needs read"' "$WORK/body"
check_grep "403: insufficient_scope" 'error="insufficient_scope"' "$WORK/hdr"
req - "$W" GET /v1/catalog
check_eq "write token: catalog 403" "$(cat "$WORK/code")" 403

# read
req - "$R" POST /v1/events "$EV"
check_eq "read token: ingest 403" "$(cat "$WORK/code")" 403
for p in "/v1/events?limit=5" /v1/count /v1/catalog /metrics "/v1/proof?seq=1" /v1/checkpoint /v1/verify; do
    req - "$R" GET "$p"
    code=$(cat "$WORK/code")
    # proof and checkpoint may be 404/409 (no checkpoint yet): anything but 401/403
    check "read token: GET $p allowed ($code)" test "$code" != 401 -a "$code" != 403
done
req - "$R" GET /v1/sinks
check_eq "read token: sinks 403 (admin)" "$(cat "$WORK/code")" 403
req - "$R" POST /v1/verify
check_eq "read token: start a verification 403 (admin)" "$(cat "$WORK/code")" 403
req - "$R" POST /v1/reload
check_eq "read token: reload 403 (admin)" "$(cat "$WORK/code")" 403

# the event stream: no token 401, read token streams
curl -s -o /dev/null -w '%{http_code}' --max-time 60 "$URL/v1/events/stream" >"$WORK/code"
check_eq "stream without token: 401" "$(cat "$WORK/code")" 401
# the stream runs until stopped: read it until an event is there
curl -s -D "$WORK/hdr" -o "$WORK/stream.out" --max-time 120 -H "Authorization: Bearer $R" \
    "$URL/v1/events/stream?since=1h" >/dev/null &
STREAM=$!
wait_for 60 grep -qs '^data: {' "$WORK/stream.out"
kill "$STREAM" 2>/dev/null
wait "$STREAM" 2>/dev/null
check_grep "stream with read token: 200 text/event-stream" '^Content-Type: text/event-stream' "$WORK/hdr"
check_grep "stream with read token: events" '^data: \{' "$WORK/stream.out"

# admin
req - "$A" POST /v1/events "$EV"
check_eq "admin token: ingest" "$(cat "$WORK/code")" 200
req - "$A" GET "/v1/events?limit=1"
check_eq "admin token: query" "$(cat "$WORK/code")" 200
req - "$A" GET /v1/sinks
check_eq "admin token: sinks" "$(cat "$WORK/code")" 200

# the clients' --token
check "trail query --url --token (read)" \
    bash -c "'$TRAIL' query --url '$URL' --token '$R' --event core_server_run_started --format ndjson --limit 3 >/dev/null 2>&1"
check "trail query --url without a token fails" bash -c "! '$TRAIL' query --url '$URL' --limit 1 >/dev/null 2>&1"
"$TRAIL" loadgen --url "$URL" --token "$W" -n 50 >"$WORK/loadgen.out" 2>&1
check "trail loadgen --url --token (write)" grep -Eq '\b50 accepted|accepted[^0-9]*50\b' "$WORK/loadgen.out"

# refusals are stored as trail_auth_failed, with who and why
check "every refusal so far is stored" wait_for 60 refusals_settled
curl -s -H "Authorization: Bearer $A" "$URL/v1/events?event=trail_auth_failed&limit=100&order=oldest&format=ndjson" >"$WORK/failed.ndjson"
check "trail_auth_failed stored" test "$(wc -l <"$WORK/failed.ndjson")" -ge 10
check_grep "no token: outcome no_credentials, src, request" '"outcome":"no_credentials".*"request":"/v1/events".*"requestMethod":"POST"|"request":"/v1/events".*"outcome":"no_credentials"' "$WORK/failed.ndjson"
check_grep "forbidden: suser is the token's name" '"outcome":"forbidden".*"suser":"idp-node1"|"suser":"idp-node1".*"outcome":"forbidden"' "$WORK/failed.ndjson"
check_grep "bad token: outcome bad_token, status 401" '"outcome":"bad_token"' "$WORK/failed.ndjson"
check_grep "src is the client's address" '"src":"127.0.0.1"' "$WORK/failed.ndjson"
check "the token is not in the stored events" bash -c "! grep -qF -e '$W2' -e 'not-a-token' '$WORK/failed.ndjson'"
curl -s -H "Authorization: Bearer $R" "$URL/metrics" >"$WORK/metrics"
check_grep "metrics: refusals counted" '^trail_http_auth_failures_total [1-9]' "$WORK/metrics"

# reload by HTTP (admin) and revocation: the read token's entry is removed
write_conf 3 ""
req - "$A" POST /v1/reload
check_eq "admin: POST /v1/reload 202" "$(cat "$WORK/code")" 202
wait_for 60 grep -q "configuration reloaded" "$WORK/traild.log"
check_grep "reload done" "configuration reloaded from .*traild.conf" "$WORK/traild.log"
req - "$R" GET /v1/catalog
check_eq "removed token: 401 after reload" "$(cat "$WORK/code")" 401

# rate limit: 3 stored per minute per source, the rest counted (from 127.0.0.2, a
# source that has no refusals yet)
wait_for 60 refusals_settled
curl -s -H "Authorization: Bearer $A" "$URL/metrics" >"$WORK/m0"
before=$(curl -s -H "Authorization: Bearer $A" "$URL/v1/count?event=trail_auth_failed" | grep -Eo '"total":[0-9]+' | cut -d: -f2)
for i in $(seq 1 40); do
    curl -s -o /dev/null --interface 127.0.0.2 -H "Authorization: Bearer wrong-$i" "$URL/v1/catalog"
done
check "the 40 refusals are settled (stored or not recorded)" wait_for 60 refusals_settled
after=$(curl -s -H "Authorization: Bearer $A" "$URL/v1/count?event=trail_auth_failed" | grep -Eo '"total":[0-9]+' | cut -d: -f2)
stored=$((after - before))
curl -s -H "Authorization: Bearer $A" "$URL/metrics" >"$WORK/m1"
unrec0=$(grep -E '^trail_http_auth_failures_unrecorded_total' "$WORK/m0" | awk '{print $2}')
unrec1=$(grep -E '^trail_http_auth_failures_unrecorded_total' "$WORK/m1" | awk '{print $2}')
# 3 a minute: 3, or up to 6 when a minute boundary falls inside the flood
check "rate limit: 3 to 6 of 40 stored ($stored)" test "$stored" -ge 3 -a "$stored" -le 6
check_eq "rate limit: the others counted as unrecorded" "$((unrec1 - unrec0 + stored))" 40
check_grep "rate limit: logged" "more refused requests from 127.0.0.2 than \[limits\] auth_events_per_minute" "$WORK/traild.log"
check_eq "rate limit: good traffic still goes through" \
    "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $W" -H 'Content-Type: application/json' --data-binary "$EV" "$URL/v1/events")" 200
stop_traild
check_eq "traild stopped cleanly" "$STOP_STATUS" 0
"$TRAIL" verify --store "$WORK/store" >"$WORK/verify.out" 2>&1
check_eq "the store verifies" "$?" 0

# clear-text secrets are refused, with the way to the hashed form
printf '[token old]\nsecret = 0123456789abcdef0123\nrole = read\n' >"$WORK/old.conf"
"$TRAILD" -t -c "$WORK/old.conf" >"$WORK/old.out" 2>&1
check_grep "[token] secret in clear refused" "tokens are no longer kept in clear.*trail token-hash" "$WORK/old.out"
printf '[tokens]\nx = read:00112233445566778899aabbccddeeff:abc\n' >"$WORK/bad.conf"
"$TRAILD" -t -c "$WORK/bad.conf" >"$WORK/bad.out" 2>&1
check_grep "[tokens] bad hash refused with the line" "bad.conf:2: \[tokens\] x: the hash is not 64 hex digits" "$WORK/bad.out"
printf '[tokens]\nx = root:00112233445566778899aabbccddeeff:%064d\n' 0 >"$WORK/bad.conf"
"$TRAILD" -t -c "$WORK/bad.conf" >"$WORK/bad.out" 2>&1
check_grep "[tokens] bad role refused" "role 'root' is not one of: write, read, admin" "$WORK/bad.out"

# no tokens, listening beyond loopback: a warning; everything open
PORT2=$(free_port)
cat >"$WORK/open.conf" <<EOF
[store]
path = $WORK/store2
[listen]
http = 0.0.0.0:$PORT2
syslog_udp = off
syslog_tcp = off
EOF
start_traild "$WORK/open.conf" "$WORK/open.log" || exit 1
check_grep "open on 0.0.0.0: warning at start" "warning: http: no \[tokens\] and no \[client_certs\]: authentication is off" "$WORK/open.log"
check_eq "auth off: query open" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT2/v1/events?limit=1")" 200
stop_traild
finish
