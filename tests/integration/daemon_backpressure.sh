#!/usr/bin/env bash
# daemon_backpressure.sh - a full ingest queue: HTTP answers 503 with
# Retry-After and a JSON reason (and stores nothing of that request), a TCP
# syslog sender is paused instead of dropped, and everything accepted is
# stored. The queue is made to fill by a tiny queue_events and an fsync
# interval long enough that a batch stays in it while the test looks.
source "$(dirname "$0")/daemon_common.bash"

PORT=$(free_port)
HPORT=$(free_port)
URL=http://127.0.0.1:$HPORT
CONF=$WORK/traild.conf
cat >"$CONF" <<EOF
[store]
path = $WORK/store
fsync = interval
fsync_interval_ms = 500
[listen]
http = 127.0.0.1:$HPORT
syslog_udp = off
syslog_tcp = 127.0.0.1:$PORT
[limits]
queue_events = 4
batch_size = 5
[event acme_badge_swiped]
severity = NOTICE
description = A badge was swiped at a door.
schema = duser:string:required:indexed
EOF
start_traild "$CONF" || exit 1
# let the lifecycle events' commit pass, so that the queue is empty
wait_metric "$URL" '^trail_queue_events 0$' >/dev/null

ev() { printf '{"id":"acme_badge_swiped","attrs":{"duser":"%s"}}\n' "$@"; }
got503=0
# the four stay in the queue until the interval's fsync, at most 0.5 s: a
# poll that misses that window tries again with the next four, rather than
# waiting its whole deadline for a queue that has drained
for attempt in $(seq 1 10); do
    ev "a$attempt-1" "a$attempt-2" "a$attempt-3" "a$attempt-4" >"$WORK/four.ndjson"
    curl -s -o "$WORK/a.out" -w '%{http_code}' -H 'Content-Type: application/x-ndjson' \
        --data-binary @"$WORK/four.ndjson" "$URL/v1/events" >"$WORK/a.code" &
    apid=$!
    wait_metric "$URL" '^trail_queue_events 4$' 2 >/dev/null
    ev "b$attempt" >"$WORK/one.ndjson"
    curl -s -D "$WORK/b.headers" -o "$WORK/b.out" -w '%{http_code}' \
        --data-binary @"$WORK/one.ndjson" "$URL/v1/events" >"$WORK/b.code"
    wait "$apid"
    # the interval's fsync may have completed the first request in between: try again
    if [ "$(cat "$WORK/b.code")" = 503 ]; then
        got503=1
        break
    fi
done
check_eq "queue full: 503" "$got503" 1
check_grep "503: Retry-After" '^Retry-After: 1' "$WORK/b.headers"
check_grep "503: the reason as JSON" '^\{"error":"the ingest queue is full; retry later; nothing was stored"\}' "$WORK/b.out"
check_eq "the request in the queue is answered 200 once durable" "$(cat "$WORK/a.code")" 200
check_grep "... with its four events" '^\{"accepted":4,' "$WORK/a.out"

# TCP: a sender faster than the queue is paused, not dropped
python3 - "$PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
for burst in range(4):
    s.sendall(b"".join(b'<13>1 - h app - acme_badge_swiped [trail@32473 duser="t%d"] x\n'
                       % (burst * 5 + i) for i in range(5)))
    time.sleep(0.1)
s.close()
PY
# one batch of 5 per half-second commit: give it time on a busy machine
check "tcp: all 20 messages stored in the end" wait_metric "$URL" '^trail_events_in_total\{input="syslog_tcp"\} 20$' 30
curl -s "$URL/metrics" >"$WORK/metrics.out"
check_grep "tcp: reading was paused" '^trail_backpressure_pauses_total\{input="syslog_tcp"\} [1-9]' "$WORK/metrics.out"
check_grep "http: the 503 is counted" '^trail_http_responses_total\{code="5xx"\} [1-9]' "$WORK/metrics.out"

stop_traild TERM
check_eq "SIGTERM: exit 0" "$STOP_STATUS" 0
store_dump "$WORK/store" >"$WORK/dump.ndjson"
# only the attempt answered 503 must be missing: an earlier attempt may have been stored (200)
check_eq "store: no event of a 503 answer" "$(grep -Ec "\"duser\":\"b$attempt\"" "$WORK/dump.ndjson")" 0
check_eq "store: the 20 TCP messages" "$(grep -Ec '"duser":"t[0-9]+"' "$WORK/dump.ndjson")" 20
finish
