#!/usr/bin/env bash
# security_limits.sh - every limit on input that arrives at traild, set low
# in [limits], hit once: each answer or log line names the limit, and good
# traffic beside it still goes through. Connections per listener (HTTP and
# syslog TCP), HTTP body size, header size, events per request, attributes
# per event, key and value length, record size, syslog line size, the query
# page (limit=), event-stream clients, and slow clients (an HTTP connection
# that stops sending is closed after http_timeout_s, a syslog TCP connection
# idle for stream_idle_timeout_s too). The ingest queue's
# limit (503 + Retry-After, streams paused) is daemon_backpressure.sh's; the
# rate limit on recorded authentication failures is security_auth.sh's.
source "$(dirname "$0")/daemon_common.bash"

PORT=$(free_port)
TPORT=$(free_port)
URL=http://127.0.0.1:$PORT
CONF=$WORK/traild.conf
cat >"$CONF" <<EOF
[store]
path = $WORK/store
[listen]
http = 127.0.0.1:$PORT
http_threads = 1
syslog_udp = off
syslog_tcp = 127.0.0.1:$TPORT
[validation]
policy = lenient
[limits]
max_connections = 3
max_body_bytes = 8K
max_batch_events = 5
max_attrs = 4
max_key_len = 12
max_value_len = 40
max_record_bytes = 1K
max_line_bytes = 512
max_query_limit = 20
max_streams = 2
EOF
start_traild "$CONF" || exit 1

ev() { # ev ATTRS_JSON: one event with these attributes
    printf '{"id":"core_server_run_started","attrs":%s}' "$1"
}
post() { # post BODY: status to $WORK/code, answer to $WORK/body
    curl -s -o "$WORK/body" -w '%{http_code}' --max-time 10 -H 'Content-Type: application/json' \
        --data-binary "$1" "$URL/v1/events" >"$WORK/code"
}
GOOD=$(ev '{"msg":"good"}')

# ---- events per request ----
post "[$GOOD,$GOOD,$GOOD,$GOOD,$GOOD,$GOOD]"
check_eq "max_batch_events: 6 of 5 refused 413" "$(cat "$WORK/code")" 413
check_grep "max_batch_events: named" '"error":"more than 5 events in one request \(\[limits\] max_batch_events\); nothing was stored"' "$WORK/body"
post "[$GOOD,$GOOD,$GOOD,$GOOD,$GOOD]"
check_eq "max_batch_events: 5 accepted" "$(grep -o '"accepted":[0-9]*' "$WORK/body")" '"accepted":5'

# ---- attributes per event, key length, value length, record size: per item, neighbours stored ----
post "[$(ev '{"a":"1","b":"2","c":"3","d":"4","e":"5"}'),$GOOD]"
check_grep "max_attrs: the item's error" '"error":"byte [0-9]+: more than 4 attributes","index":0' "$WORK/body"
check_grep "max_attrs: the neighbour accepted" '"accepted":1,"rejected":1' "$WORK/body"
post "[$GOOD,$(ev '{"averyveryverylongkey":"x"}')]"
check_grep "max_key_len: the item's error" '"error":"byte [0-9]+: attribute key .averyveryverylongkey.... is longer than 12 bytes","index":1' "$WORK/body"
check_grep "max_key_len: the neighbour accepted" '"accepted":1,"rejected":1' "$WORK/body"
post "[$(ev "{\"msg\":\"$(printf 'v%.0s' $(seq 1 41))\"}"),$GOOD]"
check_grep "max_value_len: the item's error" '"error":"byte [0-9]+: attribute .msg.: value is longer than 40 bytes","index":0' "$WORK/body"
check_grep "max_value_len: the neighbour accepted" '"accepted":1,"rejected":1' "$WORK/body"
big=$(printf '"k%d":"%s",' 1 "$(printf 'x%.0s' $(seq 1 40))" 2 "$(printf 'y%.0s' $(seq 1 40))" 3 "$(printf 'z%.0s' $(seq 1 40))")
post "[$GOOD,$(ev "{${big%,}}")]"
check_eq "max_record_bytes: a small one passes (4 attrs of 40 bytes fit 1K)" "$(grep -o '"accepted":[0-9]*' "$WORK/body")" '"accepted":2'
pad=$(printf 'p%.0s' $(seq 1 1100))
post "[$(ev "{\"msg\":\"x\"}" | sed "s/}}\$/},\"host\":\"h\",\"uuid\":\"$pad\"}/"),$GOOD]"
check_grep "max_record_bytes: the item refused, named" '"error":"item of [0-9]+ bytes is over the limit of 1024 \(max_record_bytes\)","index":0' "$WORK/body"
check_grep "max_record_bytes: the neighbour accepted" '"accepted":1,"rejected":1' "$WORK/body"

# ---- body size ----
post "[$GOOD,$(printf ' %.0s' $(seq 1 9000))$GOOD]"
check_eq "max_body_bytes: 413" "$(cat "$WORK/code")" 413
check_grep "max_body_bytes: named" 'over the limit of 8192' "$WORK/body"
post "$GOOD"
check_eq "max_body_bytes: a small body next 200" "$(cat "$WORK/code")" 200

# ---- header size (libmicrohttpd's per-connection memory, 128 KiB) ----
{
    printf 'X-Big: '
    head -c 200000 /dev/zero | tr '\0' a
    echo
} >"$WORK/big.hdr"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H @"$WORK/big.hdr" "$URL/healthz")
check "headers over 128 KiB: 413 or 431 ($code)" test "$code" = 431 -o "$code" = 413
check_eq "headers: a normal request next 200" "$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")" 200

# ---- query page ----
for _ in 1 2 3 4 5; do post "[$GOOD,$GOOD,$GOOD,$GOOD,$GOOD]"; done
code=$(curl -s -o "$WORK/body" -w '%{http_code}' "$URL/v1/events?limit=21")
check_eq "max_query_limit: limit=21 of 20 refused 400" "$code" 400
check_grep "max_query_limit: named" '"error":"limit 21 is over the largest page of 20 events \(\[limits\] max_query_limit\); page with the cursor"' "$WORK/body"
code=$(curl -s -o "$WORK/body" -w '%{http_code}' "$URL/v1/events?limit=0")
check_eq "max_query_limit: limit=0 (the largest page) refused when capped" "$code" 400
code=$(curl -s -o "$WORK/body" -w '%{http_code}' "$URL/v1/events?limit=20")
check_eq "max_query_limit: limit=20 200" "$code" 200
check_grep "max_query_limit: 20 events on the page" '"count":20,' "$WORK/body"

# ---- event-stream clients ----
curl -s -N --max-time 30 "$URL/v1/events/stream" >"$WORK/s1" 2>&1 &
S1=$!
curl -s -N --max-time 30 "$URL/v1/events/stream" >"$WORK/s2" 2>&1 &
S2=$!
EXTRA_PIDS="$S1 $S2"
sleep 0.5
code=$(curl -s -o "$WORK/body" -w '%{http_code}' --max-time 5 "$URL/v1/events/stream")
check_eq "max_streams: a third stream 503" "$code" 503
check_grep "max_streams: named" '"error":"2 event streams are open, the most allowed \(\[limits\] max_streams\); try again later"' "$WORK/body"
kill "$S1" 2>/dev/null
wait "$S1" 2>/dev/null
# traild sees a stream's client gone at its next write: an event (or the 15 s keep-alive)
for _ in $(seq 1 20); do
    post "$GOOD"
    sleep 0.2
    curl -s -N -D "$WORK/s3.hdr" -o /dev/null --max-time 1 "$URL/v1/events/stream"
    grep -q '^HTTP/1.1 200' "$WORK/s3.hdr" && break
done
check_grep "max_streams: one closed, a new stream is served" '^HTTP/1.1 200' "$WORK/s3.hdr"
kill "$S2" 2>/dev/null
wait "$S2" 2>/dev/null

# ---- connections per listener: HTTP ----
# at the limit a new connection takes the place of the one that has waited longest for a
# request head: three silent connections, and a fourth that asks for /healthz is served
# while the oldest silent one is closed. First the event streams above must be gone (the
# only HTTP connection left is the one asking for the metrics).
# traild sees the stream's client gone at its next write: post events until it has (a
# 15 s keep-alive would do it too, but at the edge of wait_metric's deadline)
streams_gone() {
    post "$GOOD"
    sleep 0.2
    curl -s "$URL/metrics" | grep -q '^trail_connections{input="http"} 1$'
}
check "max_connections (http): the event streams above are closed" wait_for 60 streams_gone
python3 - "$PORT" >"$WORK/conns.out" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
idle = []
for _ in range(3):
    idle.append(socket.create_connection(("127.0.0.1", port)))
    time.sleep(0.1)  # an order of age among them
time.sleep(0.3)
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
s.settimeout(10)
print("fourth:", "served" if s.recv(100).startswith(b"HTTP/1.1 200") else "not served")
for n, i in enumerate(idle):
    i.settimeout(0.5 if n else 10)
    try:
        print("idle %d:" % n, "closed" if i.recv(10) == b"" else "data")
    except socket.timeout:
        print("idle %d: open" % n)
    except ConnectionResetError:
        print("idle %d: closed" % n)
    i.close()
PY
check_grep "max_connections (http): a fourth connection that sends its request is served" '^fourth: served' "$WORK/conns.out"
check_grep "max_connections (http): the oldest silent one gave way" '^idle 0: closed' "$WORK/conns.out"
check_grep "max_connections (http): the younger silent ones stay" '^idle 2: open' "$WORK/conns.out"
check_grep "max_connections (http): logged" 'http: closed http:127.0.0.1:[0-9]+: at \[limits\] max_connections it had waited longest' "$WORK/traild.log"
# three requests whose heads have arrived (their bodies come slowly) do not give way: a
# fourth connection is refused, and served once one of them ends
python3 - "$PORT" >"$WORK/busy.out" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
busy = []
for _ in range(3):
    b = socket.create_connection(("127.0.0.1", port))
    b.sendall(b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: 100\r\n\r\n[")
    busy.append(b)
time.sleep(0.5)
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
s.settimeout(10)
try:
    print("fourth:", "served" if s.recv(100).startswith(b"HTTP/1.1 200") else "closed")
except ConnectionResetError:
    print("fourth: closed")
for b in busy:
    b.close()
deadline = time.time() + 10
while time.time() < deadline:
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    try:
        if s.recv(100).startswith(b"HTTP/1.1 200"):
            print("after: served")
            break
    except ConnectionResetError:
        pass
    time.sleep(0.1)
PY
check_grep "max_connections (http): no request in progress gives way, a fourth is refused" '^fourth: closed' "$WORK/busy.out"
check_grep "max_connections (http): refusal logged" 'http: refused http:127.0.0.1:[0-9]+: \[limits\] max_connections open, and none waiting to give way' "$WORK/traild.log"
check_grep "max_connections (http): served once one of them ends" '^after: served' "$WORK/busy.out"
curl -s "$URL/metrics" >"$WORK/metrics.txt"
check_grep "max_connections (http): counted as shed" '^trail_connections_shed_total\{input="http",reason="capacity"\} 1$' "$WORK/metrics.txt"
check_grep "max_connections (http): counted as refused" '^trail_connections_refused_total\{input="http",reason="full"\} [1-9]' "$WORK/metrics.txt"

# ---- syslog over TCP: connections and line size ----
python3 - "$TPORT" >"$WORK/tcp.out" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
idle = []
for _ in range(3):
    idle.append(socket.create_connection(("127.0.0.1", port)))
    time.sleep(0.1)
time.sleep(0.3)
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"<134>1 - h app - core_server_run_started [trail@32473 msg=\"fourth sender\"] x\n")
for n, i in enumerate(idle):
    i.settimeout(2)
    try:
        print("idle %d:" % n, "closed" if i.recv(10) == b"" else "data")
    except socket.timeout:
        print("idle %d: open" % n)
    except ConnectionResetError:
        print("idle %d: closed" % n)
s.close()
for i in idle:
    i.close()
time.sleep(0.3)
s = socket.create_connection(("127.0.0.1", port))
long = b"<134>1 - h app - core_server_run_started [trail@32473 msg=\"" + b"L" * 600 + b"\"] x\n"
good = b"<134>1 - h app - core_server_run_started [trail@32473 msg=\"after the long line\"] x\n"
s.sendall(long + good)
time.sleep(0.5)
s.close()
PY
# the connection idle longest on the loop that took the new one (syslog_threads loops)
check_eq "max_connections (syslog_tcp): one idle connection gave way, the others stay" "$(grep -c ': closed$' "$WORK/tcp.out")/$(grep -c ': open$' "$WORK/tcp.out")" 1/2
check_grep "max_connections (syslog_tcp): logged" 'syslog_tcp: closed tcp:127.0.0.1:[0-9]+: at \[limits\] max_connections it had waited longest' "$WORK/traild.log"
check_grep "max_line_bytes: named in the log" 'syslog_tcp: rejected .*over the limit of 512 bytes \(max_line_bytes\)' "$WORK/traild.log"
sleep 0.3
curl -s "$URL/v1/events?event=core_server_run_started&text=fourth&limit=5" >"$WORK/fourth.json"
check_grep "max_connections (syslog_tcp): the new sender's message is stored" '"msg":"fourth sender"' "$WORK/fourth.json"
curl -s "$URL/v1/events?event=core_server_run_started&text=long&limit=5" >"$WORK/after.json"
check_grep "max_line_bytes: the next message on the connection stored" '"msg":"after the long line"' "$WORK/after.json"

stop_traild
check_eq "traild stopped cleanly" "$STOP_STATUS" 0

# ---- slow clients: restarted with http_timeout_s = 2 ----
sed -i 's/^max_streams = 2$/max_streams = 2\nhttp_timeout_s = 2\nstream_idle_timeout_s = 2/' "$CONF"
start_traild "$CONF" || exit 1
# ---- slow HTTP client: closed after http_timeout_s without a byte ----
python3 - "$PORT" >"$WORK/slow.out" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /v1/catalog HTTP/1.1\r\nHost: x\r\n")  # and never the end of the headers
s.settimeout(30)
t0 = time.time()
try:
    data = s.recv(100)
    print("closed" if data == b"" else "answered")
except (socket.timeout, ConnectionResetError) as e:
    print("closed" if isinstance(e, ConnectionResetError) else "still open")
PY
check_eq "http_timeout_s: a client that stops sending is closed" "$(cat "$WORK/slow.out")" closed
check_eq "http_timeout_s: a normal request next 200" "$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")" 200
python3 - "$TPORT" >"$WORK/idle.out" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"<134>1 - h app - core_server_run_started [trail@32473 msg=\"before idling\"] x\n")
s.settimeout(30)
try:
    print("closed" if s.recv(10) == b"" else "data")
except socket.timeout:
    print("still open")
except ConnectionResetError:
    print("closed")
PY
check_eq "stream_idle_timeout_s: an idle syslog TCP connection is closed" "$(cat "$WORK/idle.out")" closed
check_grep "stream_idle_timeout_s: logged" 'syslog_tcp: closed tcp:127.0.0.1:[0-9]+: idle for \[limits\] stream_idle_timeout_s' "$WORK/traild.log"
curl -s "$URL/v1/events?event=core_server_run_started&text=idling&limit=5" >"$WORK/idle.json"
check_grep "stream_idle_timeout_s: what it sent before idling is stored" '"msg":"before idling"' "$WORK/idle.json"

stop_traild
"$TRAIL_BIN/trail" verify --store "$WORK/store" >"$WORK/verify.out" 2>&1
check_eq "the store verifies" "$?" 0
finish
