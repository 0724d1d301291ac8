#!/usr/bin/env bash
# daemon_fulldisk.sh - traild on a full disk: a syslog stream over two TCP
# connections keeps going in while the store cannot write, nothing read is
# dropped, and once space returns every message is stored exactly once, each
# connection's messages in the order they were sent. HTTP, which can tell its
# client, answers 503 meanwhile.
#
# Makes its own small filesystem (a 4 MiB tmpfs; needs root, as the tests run
# here and in CI); skips with a message only when mounting is not permitted.
source "$(dirname "$0")/daemon_common.bash"
small_disk 4m
PORT=$(free_port)
HPORT=$(free_port)
URL=http://127.0.0.1:$HPORT
CONF=$WORK/traild.conf
cat >"$CONF" <<EOF
[store]
path = $MNT/store
fsync = interval
fsync_interval_ms = 10
[listen]
http = 127.0.0.1:$HPORT
syslog_udp = off
syslog_tcp = 127.0.0.1:$PORT
[limits]
batch_size = 64
EOF
start_traild "$CONF" || exit 1

# leave about 300 KB: the 2 x 3000 messages below (~1.4 MB of records) do not fit
avail=$(df --output=avail -B1 "$MNT" | tail -1)
fallocate -l $((avail - 300000)) "$MNT/filler"

# two connections, 3000 messages each, numbered; octet-counting framing
python3 - "$PORT" >"$WORK/sender.out" 2>&1 <<'PY' &
import socket, sys, threading
port = int(sys.argv[1])
pad = "p" * 150
def send(conn):
    s = socket.create_connection(("127.0.0.1", port))
    for i in range(3000):
        m = ('<110>1 2026-11-01T00:00:00Z idp trail - core_server_run_starting '
             '[trail@32473 id="core_server_run_starting" version="c%d-%05d-%s"] starting'
             % (conn, i, pad)).encode()
        s.sendall(b"%d %s" % (len(m), m))
    s.close()
ts = [threading.Thread(target=send, args=(c,)) for c in (1, 2)]
for t in ts: t.start()
for t in ts: t.join()
print("sent")
PY
SENDER=$!
EXTRA_PIDS="$SENDER"

# the store fills up and refuses; the input holds what it read
for _ in $(seq 1 200); do
    grep -q "the store refused" "$WORK/traild.log" 2>/dev/null && break
    sleep 0.1
done
check_grep "the full disk is in the log" "the store refused a batch: .*holding the events and trying again" "$WORK/traild.log"
code=$(curl -s -o "$WORK/http.out" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data '{"id":"core_server_run_started","attrs":{"version":"http-full"}}' "$URL/v1/events")
check_eq "HTTP while the disk is full: 503" "$code" 503
sleep 1
rm -f "$MNT/filler"

# everything comes in once there is room again
n=0
for _ in $(seq 1 300); do
    n=$(curl -s "$URL/metrics" | awk '$1 == "trail_events_in_total{input=\"syslog_tcp\"}" { print $2 }')
    [ "${n:-0}" -ge 6000 ] && break
    sleep 0.1
done
check_eq "every message stored after the disk has room" "$n" 6000
wait "$SENDER"
check_grep "the sender sent everything" "^sent$" "$WORK/sender.out"
stop_traild

"$TRAIL_BIN/trail" export --store "$MNT/store" >"$WORK/export.ndjson"
grep -o '"version":"c[12]-[0-9]*' "$WORK/export.ndjson" | cut -d'"' -f4 >"$WORK/order.txt"
check_eq "6000 stream events in the store" "$(wc -l <"$WORK/order.txt")" 6000
check_eq "none stored twice" "$(sort -u "$WORK/order.txt" | wc -l)" 6000
for c in 1 2; do
    grep "^c$c-" "$WORK/order.txt" >"$WORK/got$c.txt"
    seq -f "c$c-%05g" 0 2999 >"$WORK/want$c.txt"
    check "connection $c: stored in the order sent" cmp -s "$WORK/got$c.txt" "$WORK/want$c.txt"
done
"$TRAIL_BIN/trail" verify --store "$MNT/store" >"$WORK/verify.out" 2>&1
check_eq "the store verifies" "$?" 0
finish
