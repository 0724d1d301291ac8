#!/usr/bin/env bash
# query_http.sh - traild's query API with curl, and trail query/count/tail
# --url: GET /v1/events (filters, paging through `next` until the end,
# NDJSON, headers), GET /v1/count, GET /v1/events/stream (events as they are
# stored, resuming with Last-Event-ID so that nothing is missed or
# repeated), answers compared with tests/integration/oracle.py, a brute force
# over the imported file and the events written after it (trail's own at
# start, the test's), never with trail's own query engine, and bad queries
# answered 400 with a JSON body naming the parameter.
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

# the oracle: the imported file, then whatever the store holds past it
# (traild's own records, the events this test emits), read back raw
"$TRAIL" events --format json >"$WORK/catalog.json"
"$TRAIL" events --own --format json >"$WORK/own.json"
ORACLE=$(dirname "$0")/oracle.py
oracle() { # WHAT ARGS...: oracle.py WHAT over the imported events and the store's later ones
    local what=$1
    shift
    python3 "$ORACLE" --catalog "$WORK/catalog.json" --catalog "$WORK/own.json" \
        --after "$WORK/dump.ndjson" "$what" "$@" "$WORK/events.ndjson"
}
store_dump "$S" >"$WORK/dump.ndjson"
check_eq "the store holds the imported file, in its order, and traild's own records" \
    "$(oracle check-events "$WORK/dump.ndjson" --order oldest)" ok

# get PATH: body to stdout, status to $WORK/code, headers to $WORK/headers
get() {
    curl -s -D "$WORK/headers" -o "$WORK/body" -w '%{http_code}' "$URL$1" >"$WORK/code"
    cat "$WORK/body"
}
seqs() { python3 -c 'import json,sys; d=json.load(sys.stdin); [print(e["seq"]) for e in d["events"]]'; }
events() { python3 -c 'import json,sys; d=json.load(sys.stdin); [print(json.dumps(e)) for e in d["events"]]'; }

# one page
get "/v1/events?limit=5&event=auth_*" >/dev/null
check_eq "events: 200" "$(cat "$WORK/code")" 200
check_eq "events: 5 of them, more, a next link" \
    "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["count"], d["more"], d["next"].startswith("/v1/events?"), len(d["events"]))' "$WORK/body")" \
    "5 True True 5"
check_grep "events: X-Trail-Cursor" '^X-Trail-Cursor: n\.[0-9]+\.' "$WORK/headers"
check_grep "events: Link rel=next" '^Link: </v1/events\?.*cursor=n\..*>; rel="next"' "$WORK/headers"

# follow `next` to the end: the oracle's events, in order, none twice
for order in newest oldest; do
    path="/v1/events?limit=250&order=$order&where=sourceServiceName%5E%3Dhttps"
    : >"$WORK/paged"
    pages=0
    while [ -n "$path" ] && [ "$pages" -lt 100 ]; do
        get "$path" | events >>"$WORK/paged"
        path=$(python3 -c 'import json,sys; n=json.load(open(sys.argv[1]))["next"]; print(n or "")' "$WORK/body")
        pages=$((pages + 1))
    done
    check_eq "paging $order through next ($pages pages) = the oracle" \
        "$(oracle check-events "$WORK/paged" --order $order --where 'sourceServiceName^=https')" ok
done

# filters through the query string ('+' and %20 are spaces)
U=$(python3 -c 'import json,sys; print(next(json.loads(l)["attrs"]["duser"] for l in open(sys.argv[1]) if "duser" in json.loads(l)["attrs"]))' "$WORK/events.ndjson")
get "/v1/events?limit=0&format=ndjson&where=duser%3D$U&severity=%3E%3DINFO&since=2026-11-01T00:00:00%2B01:00" >"$WORK/nd"
check_eq "ndjson with filters = the oracle" \
    "$(oracle check-events "$WORK/nd" --where "duser=$U" --severity '>=INFO' --since 2026-11-01T00:00:00+01:00)" ok
check_eq "ndjson: its content type" "$(grep -i '^Content-Type' "$WORK/headers" | tr -d '\r')" \
    "Content-Type: application/x-ndjson"
W1=${U%%.*}
W2=${U#*.}
get "/v1/events?limit=0&text=$W1+$W2" >"$WORK/plus.json"
check_eq "text with '+' as a space = the oracle" "$(oracle check-events "$WORK/plus.json" --text "$W1 $W2")" ok
check_eq "text with %20 as a space: the same" "$(get "/v1/events?limit=0&text=$W1%20$W2" | seqs | md5sum)" \
    "$(seqs <"$WORK/plus.json" | md5sum)"

# counts
get "/v1/count?by=hour,event&event=saml_*" >/dev/null
check_eq "count: 200" "$(cat "$WORK/code")" 200
check_eq "count: the by it was given" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["by"])' "$WORK/body")" \
    "['hour', 'event']"
check_eq "count by hour,event = the oracle" "$(oracle check-count "$WORK/body" --by hour,event --event 'saml_*')" ok
get "/v1/count?by=src,severity&where=src%3D192.0.2.0/24&since=2026-11-01T12:00:00Z" >/dev/null
check_eq "count by an attribute of a network = the oracle" \
    "$(oracle check-count "$WORK/body" --by src,severity --where src=192.0.2.0/24 --since 2026-11-01T12:00:00Z)" ok
"$TRAIL" count --url "$URL" --by severity,day --format json >"$WORK/count.json"
check_eq "trail count --url = the oracle" "$(oracle check-count "$WORK/count.json" --by severity,day)" ok
"$TRAIL" query --url "$URL" --limit 0 --event 'auth_*' --format ndjson >"$WORK/q.ndjson"
check_eq "trail query --url (pages of 1000) = the oracle" "$(oracle check-events "$WORK/q.ndjson" --event 'auth_*')" ok
check_eq "trail query --url --limit 0: every event" \
    "$("$TRAIL" query --url "$URL" --limit 0 --format ndjson | wc -l)" "$(wc -l <"$WORK/dump.ndjson")"

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
sse_events() { [ "$(grep -c '^id: ' "$1")" -ge "$2" ]; } # FILE N: N events in FILE at least
traces() { # FILE: the phxTraceIds of an SSE file's events
    grep '^data: ' "$1" | sed 's/^data: //' |
        python3 -c 'import json,sys; print(" ".join(json.loads(l)["attrs"]["phxTraceId"] for l in sys.stdin))'
}
# stream FILE N ARGS...: read GET /v1/events/stream?ARGS into FILE until it holds N events
stream() {
    local file=$1 n=$2
    shift 2
    curl -sN -m 120 "$@" >"$file" &
    local pid=$!
    wait_for 60 sse_events "$file" "$n"
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}
curl -sN "$URL/v1/events/stream?event=core_server_run_starting" >"$WORK/sse1" &
CURL_PIDS="$CURL_PIDS $!"
EXTRA_PIDS="$EXTRA_PIDS $!"
# -n 1 prints the newest match there is first: once it is out, tail follows
READY=$(oracle events --event core_server_run_starting --limit 1 |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["attrs"]["phxTraceId"])')
"$TRAIL" tail --url "$URL" -n 1 -f --event core_server_run_starting --format ndjson >"$WORK/tailf" 2>&1 &
EXTRA_PIDS="$EXTRA_PIDS $!"
TAILF=$!
# the stream's first line says where it starts: every event emitted after it is new to it
check "stream: it starts after the events stored" wait_for 60 grep -q '^: trail events after seq ' "$WORK/sse1"
check "trail tail --url -n 1 -f: the newest match first" wait_for 60 lines_at_least 1 "$WORK/tailf"
for i in 1 2 3 4; do
    "$TRAIL" emit core_server_run_starting "phxTraceId=#s$i" version=1 --url "$URL" >/dev/null
done
"$TRAIL" emit core_server_run_started "phxTraceId=#n1" version=1 --url "$URL" >/dev/null
wait_for 60 sse_events "$WORK/sse1" 4
wait_for 60 lines_at_least 5 "$WORK/tailf"
check_eq "stream: the four matching events, in order" "$(traces "$WORK/sse1")" "#s1 #s2 #s3 #s4"
check_eq "stream: ids are the seqs" \
    "$(grep '^id: ' "$WORK/sse1" | sed 's/^id: //' | tr '\n' ' ')" \
    "$(grep '^data: ' "$WORK/sse1" | sed 's/^data: //' | python3 -c 'import json,sys; print(" ".join(str(json.loads(l)["seq"]) for l in sys.stdin), end=" ")')"
check_eq "trail tail --url -f: the same four" \
    "$(python3 -c 'import json,sys; print(" ".join(json.loads(l)["attrs"]["phxTraceId"] for l in open(sys.argv[1])))' "$WORK/tailf")" \
    "$READY #s1 #s2 #s3 #s4"
kill $TAILF 2>/dev/null
SECOND=$(grep '^id: ' "$WORK/sse1" | sed -n 2p | sed 's/^id: //')
# a fifth event, the newest: once a stream has it, it has sent everything before it
"$TRAIL" emit core_server_run_starting "phxTraceId=#s5" version=1 --url "$URL" >/dev/null
stream "$WORK/sse2" 3 -H "Last-Event-ID: $SECOND" "$URL/v1/events/stream?event=core_server_run_starting"
check_eq "stream: Last-Event-ID resumes right after it" "$(traces "$WORK/sse2")" "#s3 #s4 #s5"
store_dump "$S" >"$WORK/dump.ndjson"
since_n=$(oracle events --event core_server_run_starting --since 2026-11-01 | wc -l)
stream "$WORK/sse3" "$since_n" "$URL/v1/events/stream?event=core_server_run_starting&since=2026-11-01"
grep '^data: ' "$WORK/sse3" | sed 's/^data: //' >"$WORK/sse3.ndjson"
check_eq "stream: since starts at the first match, then every one ($since_n) = the oracle" \
    "$(oracle check-events "$WORK/sse3.ndjson" --order oldest --event core_server_run_starting --since 2026-11-01)" ok
curl -s -m 120 -o /dev/null -D "$WORK/sse4.headers" "$URL/v1/events/stream" &
SSE4=$!
wait_for 60 grep -qsi '^content-type' "$WORK/sse4.headers"
kill "$SSE4" 2>/dev/null
wait "$SSE4" 2>/dev/null
check_eq "stream content type" "$(grep -i '^content-type' "$WORK/sse4.headers" | tr -d '\r')" \
    "Content-Type: text/event-stream"

# event time order: a second host's events, dated inside the imported
# file's span but stored after it, so that seq order is not time order;
# paging by time and -time through `next` (pages of 97, ties and all) and
# trail query --url give the oracle's sort by (time, seq)
"$TRAIL" loadgen -n 400 -d 1 -u 20 -s 4 --host idp-node2 --start 2026-11-01T06:00:00Z |
    grep -v '"core_server_' >"$WORK/late.ndjson"
http_post "$URL/v1/events" "$WORK/late.ndjson" application/x-ndjson >/dev/null
check_eq "the second host's events are accepted" "$(cat "$WORK/http.code")" 200
store_dump "$S" >"$WORK/dump.ndjson"
for order in time -time; do
    path="/v1/events?limit=97&order=$order&event=auth_*"
    : >"$WORK/paged"
    pages=0
    while [ -n "$path" ] && [ "$pages" -lt 100 ]; do
        get "$path" | events >>"$WORK/paged"
        path=$(python3 -c 'import json,sys; n=json.load(open(sys.argv[1]))["next"]; print(n or "")' "$WORK/body")
        pages=$((pages + 1))
    done
    check_eq "paging order=$order through next ($pages pages) = the oracle's (time, seq) sort" \
        "$(oracle check-events "$WORK/paged" --order=$order --event 'auth_*')" ok
done
get "/v1/events?limit=3&order=-time" >/dev/null
check_grep "a time cursor names time, seq and horizon" '^X-Trail-Cursor: r\.-?[0-9]+\.[0-9]+\.[0-9]+\.' \
    "$WORK/headers"
"$TRAIL" query --url "$URL" --limit 0 --order time --format ndjson >"$WORK/qt.ndjson"
check_eq "trail query --url --order time (pages of 1000) = the oracle" \
    "$(oracle check-events "$WORK/qt.ndjson" --order=time)" ok
get "/v1/events?limit=1&order=time" >/dev/null
C=$(grep -i '^X-Trail-Cursor' "$WORK/headers" | cut -d' ' -f2 | tr -d '\r')
bad400 "400 a time cursor in seq order" "/v1/events?order=newest&cursor=$C" "in time order, not newest"

# traild stops cleanly with a stream open
stop_traild TERM
check_eq "traild stops with a stream open" "$STOP_STATUS" 0
for p in $CURL_PIDS; do wait "$p" 2>/dev/null; done
finish
