#!/usr/bin/env bash
# security_framing.sh - HTTP request smuggling: a request whose length a
# proxy in front and traild could read differently (both Content-Length and
# Transfer-Encoding, two Content-Length headers, a Transfer-Encoding other
# than chunked) is refused with 400 and the connection closed, so that a
# request smuggled after it is never answered. Plain framings still work.
source "$(dirname "$0")/daemon_common.bash"
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
{
    base_conf "$WORK" | sed '/^\[listen\]/,/^syslog_tcp/d'
    printf '[listen]\nhttp = 127.0.0.1:%s\nsyslog_udp = off\nsyslog_tcp = off\n' "$PORT"
} >"$WORK/traild.conf"
start_traild "$WORK/traild.conf" || exit 1

# send RAW to traild on one connection; print the status lines of every answer, then "closed"
raw() {
    python3 - "$PORT" "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
s.settimeout(3)
import re
data, end = b"", "open"
try:
    while True:
        b = s.recv(65536)
        if not b:
            end = "closed"
            break
        data += b
except socket.timeout:
    pass
for line in re.findall(rb"HTTP/1\.1 \d{3} [^\r\n]*", data):
    print(line.decode())
print(end)
PY
}
EV='{"id":"acme_badge_swiped","attrs":{"duser":"smuggled"}}'
SMUGGLED='GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'
out=$(raw "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n$SMUGGLED")
check_eq "Content-Length and Transfer-Encoding: 400, closed, the smuggled request unanswered" \
    "$(echo $out)" "HTTP/1.1 400 Bad Request closed"
len=${#EV}
out=$(raw "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: $len\r\nContent-Length: 2\r\n\r\n$EV$SMUGGLED")
check_eq "two Content-Length headers: 400, closed" "$(echo $out)" "HTTP/1.1 400 Bad Request closed"
out=$(raw "POST /v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n$SMUGGLED")
check_eq "an unknown Transfer-Encoding: 400, closed" "$(echo $out)" "HTTP/1.1 400 Bad Request closed"
check_eq "none of them stored anything" "$(curl -s "$URL/v1/count?where=duser%3Dsmuggled" | sed 's/.*"total":\([0-9]*\).*/\1/')" 0
# plain framings: two requests on one connection, both answered
out=$(raw "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: $len\r\n\r\n$EV$SMUGGLED")
check_eq "Content-Length alone: both requests answered, the connection kept" "$(echo $out)" \
    "HTTP/1.1 200 OK HTTP/1.1 200 OK open"
hex=$(printf '%x' "$len")
out=$(raw "POST /v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n$hex\r\n$EV\r\n0\r\n\r\n$SMUGGLED")
check_eq "chunked alone: both answered" "$(echo $out)" "HTTP/1.1 200 OK HTTP/1.1 200 OK open"
check_eq "the two plain ones stored" "$(curl -s "$URL/v1/count?where=duser%3Dsmuggled" | sed 's/.*"total":\([0-9]*\).*/\1/')" 2
check_grep "the refusal is logged with its reason" "refused: the request has both Content-Length and Transfer-Encoding" "$WORK/traild.log"
finish
