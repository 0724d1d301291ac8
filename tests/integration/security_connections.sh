#!/usr/bin/env bash
# security_connections.sh - connection exhaustion does not lock normal clients
# out (issue 15, Found 3). With traild's default [limits], 2,000 HTTP
# connections trickle a request head one byte every 3 s (slowloris) and
# 2,000 syslog TCP connections stay silent, from 500 addresses of
# 127.0.0.0/8, reconnecting whenever traild closes them; one more address
# tries 100 connections to each. Throughout, a normal client is served:
# curl GET /healthz answers 200 within a 1 s deadline every time, and a
# syslog TCP sender's message (sent within 1 s) is stored, every time.
#
# Why the normal client is simply served, with no retries: it sends its
# request at once, and a connection whose request head has arrived is never
# the one that gives way; at max_connections the slow connection that has
# waited longest does (docs/traild.md "Connections"). The attackers open at
# most 500 connections a second (slow_clients.py): a test's load is
# bounded, and each run of the checks below sees the listeners full.
source "$(dirname "$0")/daemon_common.bash"

# 4,200 sockets here, as many in traild
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt 10000 ]; then
    echo "the open files limit $(ulimit -Hn) is too small for 4,200 connections"
    FAILED=$((FAILED + 1))
    finish
fi

PORT=$(free_port)
TPORT=$(free_port)
URL=http://127.0.0.1:$PORT
CONF=$WORK/traild.conf
cat >"$CONF" <<EOF
[store]
path = $WORK/store
[listen]
http = 127.0.0.1:$PORT
syslog_udp = off
syslog_tcp = 127.0.0.1:$TPORT
[validation]
policy = lenient
EOF
ulimit -Sn 1024 # as a service often starts; traild raises it to the hard limit itself
start_traild "$CONF" || exit 1
ulimit -Sn "$(ulimit -Hn)"
check_grep "traild raised its open files limit to the hard limit" "^Max open files +$(ulimit -Hn) +$(ulimit -Hn) " "/proc/$TRAILD_PID/limits"

ATTACK_S=40 # longer than http_header_timeout_s (10) several times over
python3 "$(dirname "$0")/slow_clients.py" "$PORT" "$TPORT" 2000 "$ATTACK_S" "$WORK/attack.status" &
ATTACKER=$!
for _ in $(seq 1 600); do # the attack is in full force once every connection was tried
    grep -q ready "$WORK/attack.status" 2>/dev/null && break
    sleep 0.05
done
check_grep "the attackers opened their connections" '^ready' "$WORK/attack.status"
curl -s --max-time 10 "$URL/metrics" >"$WORK/m0.txt"
check_grep "the HTTP listener is full" '^trail_connections\{input="http"\} (9[5-9][0-9]|10[0-9][0-9])$' "$WORK/m0.txt"
check_grep "the syslog TCP listener is full" '^trail_connections\{input="syslog_tcp"\} (9[5-9][0-9]|10[0-9][0-9])$' "$WORK/m0.txt"

# the normal client, until the attack ends: every request within 1 s
n=0 http_ok=0 sent=0
end=$((SECONDS + ATTACK_S - 12))
while [ "$SECONDS" -lt "$end" ]; do
    n=$((n + 1))
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$URL/healthz")
    if [ "$code" = 200 ]; then
        http_ok=$((http_ok + 1))
    else
        echo "GET /healthz #$n: $code"
    fi
    if timeout 1 bash -c 'printf "%s\n" "$1" >/dev/tcp/127.0.0.1/$2' _ \
        "<134>1 - h app - core_server_run_started [trail@32473 msg=\"normal sender $n\"] x" "$TPORT"; then
        sent=$((sent + 1))
    else
        echo "syslog sender #$n: not sent within 1 s"
    fi
    sleep 0.3
done
curl -s --max-time 10 "$URL/metrics" >"$WORK/m1.txt"
check "the normal client ran throughout ($n rounds)" test "$n" -ge 5
check_eq "GET /healthz answered 200 within 1 s every time" "$http_ok/$n" "$n/$n"
check_eq "the syslog TCP sender was accepted within 1 s every time" "$sent/$n" "$n/$n"

wait "$ATTACKER" # it stops by itself after ATTACK_S
echo "attack: $(tail -1 "$WORK/attack.status")"

# every message the sender sent is stored
check "the syslog messages are durable" wait_metric "$URL" "^trail_events_in_total\\{input=\"syslog_tcp\"\\} $n\$" 30
curl -s "$URL/v1/events?event=core_server_run_started&text=normal&limit=1000" >"$WORK/stored.json"
check_eq "every syslog message of the normal sender is stored" \
    "$(grep -o 'normal sender [0-9]*' "$WORK/stored.json" | sort -u | wc -l)" "$n"

# how: the slow HTTP connections timed out and gave way, the silent streams gave way, the
# greedy address was held to connections_per_peer (64) on both listeners
m() { grep -E "^$1 " "$WORK/m1.txt" | awk '{print $2}'; }
check "http: slow connections gave way at max_connections" \
    test "$(m 'trail_connections_shed_total\{input="http",reason="capacity"\}')" -gt 0
check "syslog_tcp: silent connections gave way at max_connections" \
    test "$(m 'trail_connections_shed_total\{input="syslog_tcp",reason="capacity"\}')" -gt 0
check "http: the greedy address refused past connections_per_peer" \
    test "$(m 'trail_connections_refused_total\{input="http",reason="per_peer"\}')" -gt 0
check "syslog_tcp: the greedy address refused past connections_per_peer" \
    test "$(m 'trail_connections_refused_total\{input="syslog_tcp",reason="per_peer"\}')" -gt 0
check_grep "a refusal logged" 'syslog_tcp: refused tcp:127.0.200.1:[0-9]+: its address has \[limits\] connections_per_peer connections open' "$WORK/traild.log"
# thousands closed, a few lines: one a kind every 10 s at most
lines=$(grep -cE '(http|syslog_tcp): (closed|refused) ' "$WORK/traild.log")
check "closing and refusing logged at most once a kind every 10 s ($lines lines)" test "$lines" -le $((5 * (ATTACK_S / 10 + 2)))
check_grep "the held-back lines counted" 'and [0-9]+ more like it in the last 10 s' "$WORK/traild.log"

# ---- the request-head deadline alone, below max_connections ----
# five connections trickle a request head, a byte every second: libmicrohttpd's inactivity
# timeout (http_timeout_s = 120) never fires, http_header_timeout_s (10) does
python3 - "$PORT" >"$WORK/trickle.out" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(5)]
head = b"GET /v1/catalog HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200
open_ = set(range(5))
deadline = time.monotonic() + 60  # well below http_timeout_s
sent = 0
while open_ and time.monotonic() < deadline:
    for i in list(open_):
        try:
            conns[i].send(head[sent:sent + 1])
            conns[i].settimeout(0.01)
            if conns[i].recv(10) == b"":
                open_.discard(i)
        except socket.timeout:
            pass
        except OSError:
            open_.discard(i)
    sent += 1
    time.sleep(1)
print("closed %d of 5 after %d bytes each at most" % (5 - len(open_), sent))
PY
check_grep "http_header_timeout_s: trickling request heads are closed" '^closed 5 of 5 ' "$WORK/trickle.out"
curl -s --max-time 10 "$URL/metrics" >"$WORK/m2.txt"
check_grep "http_header_timeout_s: counted" '^trail_connections_shed_total\{input="http",reason="header_timeout"\} ([5-9]|[1-9][0-9]+)$' "$WORK/m2.txt"
check_grep "http_header_timeout_s: logged" 'http: closed http:127.0.0.1:[0-9]+: no complete request head within \[limits\] http_header_timeout_s' "$WORK/traild.log"

stop_traild
check_eq "traild stopped cleanly" "$STOP_STATUS" 0
finish
