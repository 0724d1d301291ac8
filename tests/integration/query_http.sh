#!/usr/bin/env bash
# query_http.sh - traild's query API with curl, and trail query/count/tail
# --url: GET /v1/events (filters, paging through `next` until the end,
# NDJSON, headers), GET /v1/count, GET /v1/events/stream (events as they are
# stored, resuming with Last-Event-ID so that nothing is missed or
# repeated), answers compared with `trail query --store` on the same store
# while traild writes it, and bad queries answered 400 with a JSON body
# naming the parameter.
source "$(dirname "$0")/daemon_common.bash"
TRAIL="$TRAIL_BIN/trail"
CURL_PIDS=""

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
S=$WORK/store
"$TRAIL" loadgen -n 3000 -d 2 -u 60 -s 9 >"$WORK/events.ndjson"
"$TRAIL" import "$WORK/events.ndjson" --store "$S" >/dev/null || exit 1
CONF=$WORK/traild.conf
cat >"$CONF" <<EOF
[store]
path = $S
[listen]
http = 127.0.0.1:$PORT
syslog_udp = off
syslog_tcp = off
EOF
start_traild "$CONF" || exit 1

# get PATH: body to stdout, status to $WORK/code, headers to $WORK/headers
get() {
    curl -s -D "$WORK/headers" -o "$WORK/body" -w '%{http_code}' "$URL$1" >"$WORK/code"
    cat "$WORK/body"
}
seqs() { python3 -c 'import json,sys; d=json.load(sys.stdin); [print(e["seq"]) for e in d["events"]]'; }

# one page
get "/v1/events?limit=5&event=auth_*" >/dev/null
check_eq "events: 200" "$(cat "$WORK/code")" 200
check_eq "events: 5 of them, more, a next link" \
    "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["count"], d["more"], d["next"].startswith("/v1/events?"), len(d["events"]))' "$WORK/body")" \
    "5 True True 5"
check_grep "events: X-Trail-Cursor" '^X-Trail-Cursor: n\.[0-9]+\.' "$WORK/headers"
check_grep "events: Link rel=next" '^Link: </v1/events\?.*cursor=n\..*>; rel="next"' "$WORK/headers"

# follow `next` to the end: the same events as the store gives, no repeats
for order in newest oldest; do
    path="/v1/events?limit=250&order=$order&where=sourceServiceName%5E%3Dhttps"
    : >"$WORK/paged"
    pages=0
    while [ -n "$path" ] && [ "$pages" -lt 100 ]; do
        get "$path" | seqs >>"$WORK/paged"
        path=$(python3 -c 'import json,sys; n=json.load(open(sys.argv[1]))["next"]; print(n or "")' "$WORK/body")
        pages=$((pages + 1))
    done
    "$TRAIL" query --store "$S" --limit 0 --order $order --format ndjson --where 'sourceServiceName^=https' |
        python3 -c 'import json,sys; [print(json.loads(l)["seq"]) for l in sys.stdin]' >"$WORK/store.seqs"
    check_eq "paging $order through next ($pages pages) = trail query --store" \
        "$(md5sum <"$WORK/paged") $(sort -u "$WORK/paged" | wc -l)" \
        "$(md5sum <"$WORK/store.seqs") $(wc -l <"$WORK/store.seqs")"
done

# filters through the query string ('+' and %20 are spaces)
U=$(python3 -c 'import json,sys; print(next(json.loads(l)["attrs"]["duser"] for l in open(sys.argv[1]) if "duser" in json.loads(l)["attrs"]))' "$WORK/events.ndjson")
get "/v1/events?limit=0&format=ndjson&where=duser%3D$U&severity=%3E%3DINFO&since=2026-11-01T00:00:00%2B01:00" >"$WORK/nd"
check_eq "ndjson with filters = the store's answer" "$(md5sum <"$WORK/nd")" \
    "$("$TRAIL" query --store "$S" --limit 0 --format ndjson --where "duser=$U" --severity '>=INFO' \
        --since 2026-11-01T00:00:00+01:00 | md5sum)"
check_eq "ndjson: its content type" "$(grep -i '^Content-Type' "$WORK/headers" | tr -d '\r')" \
    "Content-Type: application/x-ndjson"
W1=${U%%.*}
W2=${U#*.}
check_eq "text with '+' as a space" "$(get "/v1/events?limit=0&text=$W1+$W2" | seqs | md5sum)" \
    "$(get "/v1/events?limit=0&text=$W1%20$W2" | seqs | md5sum)"

# counts
get "/v1/count?by=hour,event&event=saml_*" >/dev/null
check_eq "count: 200" "$(cat "$WORK/code")" 200
check_eq "count: rows sum to the total, = trail count --store" \
    "$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print(c["by"], sum(r["count"] for r in c["rows"]) == c["total"], c["total"])' "$WORK/body")" \
    "['hour', 'event'] True $("$TRAIL" count --store "$S" --event 'saml_*')"
check_eq "trail count --url = trail count --store" \
    "$("$TRAIL" count --url "$URL" --by severity,day --format csv)" \
    "$("$TRAIL" count --store "$S" --by severity,day --format csv)"
check_eq "trail query --url = trail query --store" \
    "$("$TRAIL" query --url "$URL" --limit 0 --event 'auth_*' --format ndjson | md5sum)" \
    "$("$TRAIL" query --store "$S" --limit 0 --event 'auth_*' --format ndjson | md5sum)"
check_eq "trail query --url --limit 0: every event" \
    "$("$TRAIL" query --url "$URL" --limit 0 --format csv | wc -l)" 3003

# bad queries: 400 and {"error": naming the parameter}
bad400() {
    get "$2" >/dev/null
    if [ "$(cat "$WORK/code")" = 400 ] && python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["error"]; sys.exit(0 if sys.argv[2] in e else 1)' "$WORK/body" "$3"; then
        PASSED=$((PASSED + 1))
        echo "ok   $1"
    else
        FAILED=$((FAILED + 1))
        echo "FAIL $1: $(cat "$WORK/code") $(cat "$WORK/body")"
    fi
}
bad400 "400 bad since" "/v1/events?since=2026-13-01" "bad since '2026-13-01'"
bad400 "400 bad glob" "/v1/events?event=auth_%5B" "bad event 'auth_['"
bad400 "400 bad CIDR" "/v1/events?where=src%3D10.0.0.0/40" "bad CIDR"
bad400 "400 bad severity" "/v1/events?severity=LOUD" "bad severity 'LOUD'"
bad400 "400 unknown parameter" "/v1/events?colour=red" "unknown parameter 'colour'"
bad400 "400 unknown by" "/v1/count?by=colour" "unknown by 'colour'"
bad400 "400 by on a search" "/v1/events?by=event" "'by' does not apply"
bad400 "400 bad cursor" "/v1/events?cursor=nope" "bad cursor 'nope'"
bad400 "400 limit on a stream" "/v1/events/stream?limit=5" "does not apply to a stream"
get "/v1/events?limit=1&event=auth_*" >/dev/null
C=$(grep -i '^X-Trail-Cursor' "$WORK/headers" | cut -d' ' -f2 | tr -d '\r')
bad400 "400 cursor of another search" "/v1/events?event=saml_*&cursor=$C" "other filters"
"$TRAIL" query --url "$URL" --event 'saml_*' --cursor "$C" >/dev/null 2>"$WORK/err"
check_eq "trail query --url: a refused cursor exits 2" "$?" 2
check_grep "trail query --url: the server's message" "other filters" "$WORK/err"

# the stream: new events arrive; a reconnect with Last-Event-ID resumes exactly
curl -sN "$URL/v1/events/stream?event=core_server_run_starting" >"$WORK/sse1" &
CURL_PIDS="$CURL_PIDS $!"
EXTRA_PIDS="$EXTRA_PIDS $!"
"$TRAIL" tail --url "$URL" -n 0 -f --event core_server_run_starting --format ndjson >"$WORK/tailf" 2>&1 &
EXTRA_PIDS="$EXTRA_PIDS $!"
TAILF=$!
sleep 0.5
for i in 1 2 3 4; do
    "$TRAIL" emit core_server_run_starting "phxTraceId=#s$i" version=1 --url "$URL" >/dev/null
done
"$TRAIL" emit core_server_run_started "phxTraceId=#n1" version=1 --url "$URL" >/dev/null
for _ in $(seq 1 50); do
    [ "$(grep -c '^id: ' "$WORK/sse1")" -ge 4 ] && [ "$(wc -l <"$WORK/tailf")" -ge 4 ] && break
    sleep 0.1
done
check_eq "stream: the four matching events, in order" \
    "$(grep '^data: ' "$WORK/sse1" | sed 's/^data: //' | python3 -c 'import json,sys; print(" ".join(json.loads(l)["attrs"]["phxTraceId"] for l in sys.stdin))')" \
    "#s1 #s2 #s3 #s4"
check_eq "stream: ids are the seqs" \
    "$(grep '^id: ' "$WORK/sse1" | sed 's/^id: //' | tr '\n' ' ')" \
    "$(grep '^data: ' "$WORK/sse1" | sed 's/^data: //' | python3 -c 'import json,sys; print(" ".join(str(json.loads(l)["seq"]) for l in sys.stdin), end=" ")')"
check_eq "trail tail --url -f: the same four" \
    "$(python3 -c 'import json,sys; print(" ".join(json.loads(l)["attrs"]["phxTraceId"] for l in open(sys.argv[1])))' "$WORK/tailf")" \
    "#s1 #s2 #s3 #s4"
kill $TAILF 2>/dev/null
SECOND=$(grep '^id: ' "$WORK/sse1" | sed -n 2p | sed 's/^id: //')
curl -sN -m 2 -H "Last-Event-ID: $SECOND" "$URL/v1/events/stream?event=core_server_run_starting" >"$WORK/sse2"
check_eq "stream: Last-Event-ID resumes right after it" \
    "$(grep '^data: ' "$WORK/sse2" | sed 's/^data: //' | python3 -c 'import json,sys; print(" ".join(json.loads(l)["attrs"]["phxTraceId"] for l in sys.stdin))')" \
    "#s3 #s4"
curl -sN -m 2 "$URL/v1/events/stream?event=core_server_run_starting&since=2026-11-01" >"$WORK/sse3"
check_eq "stream: since starts at the first match" "$(grep -c '^id: ' "$WORK/sse3")" \
    "$("$TRAIL" count --store "$S" --event core_server_run_starting --since 2026-11-01)"
check_eq "stream content type" \
    "$(curl -s -m 1 -o /dev/null -w '%{content_type}' "$URL/v1/events/stream")" "text/event-stream"

# traild stops cleanly with a stream open
stop_traild TERM
check_eq "traild stops with a stream open" "$STOP_STATUS" 0
for p in $CURL_PIDS; do wait "$p" 2>/dev/null; done
finish
