#!/usr/bin/env bash
# daemon_stream_inflight.sh - what one stream connection has in flight is
# bounded: at most 16,384 events (then one more batch of at most
# batch_size, 4,096) besides 64 batches, whatever size its reads are. A
# full disk holds everything in flight (the store refuses, ingest keeps the
# batches and tries again): one connection sends 40,000 raw CEF events,
# reads until the bound and pauses; once space returns, all 40,000 are
# stored, once each, in the order sent.
#
# Makes its own filesystem (a 32 MiB tmpfs; needs root, as the tests run
# here and in CI); skips with a message only when mounting is not permitted.
#
# Not here: the full disk itself (daemon_fulldisk.sh), the loops
# (daemon_stream_loops.sh).
source "$(dirname "$0")/daemon_common.bash"
small_disk 32m
CPORT=$(free_port)
HPORT=$(free_port)
URL=http://127.0.0.1:$HPORT
CONF=$WORK/traild.conf
cat >"$CONF" <<CONF
[store]
path = $MNT/store
fsync = interval
fsync_interval_ms = 10
[listen]
http = 127.0.0.1:$HPORT
syslog_udp = off
syslog_tcp = off
cef_tcp = 127.0.0.1:$CPORT
stream_threads = 1
[event acme_badge_swiped]
severity = NOTICE
description = A badge was swiped at a door.
schema = duser:string:required:indexed, door:string
CONF
start_traild "$CONF" || exit 1

# leave about 300 KB: the store refuses the connection's events after a thousand or so
avail=$(df --output=avail -B1 "$MNT" | tail -1)
fallocate -l $((avail - 300000)) "$MNT/filler"

python3 - "$CPORT" >"$WORK/sender.out" 2>&1 <<'PY' &
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"".join(b"CEF:0|PhenixID|PAS|6.0.0|acme_badge_swiped|x|4|duser=held-%05d\n" % i
                   for i in range(40000)))
s.close()
print("sent")
PY
SENDER=$!
EXTRA_PIDS="$SENDER"

metric() { # metric NAME{LABELS}: its value now
    curl -s "$URL/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}
# the connection reads until its bound and pauses; nothing becomes durable meanwhile
check "the connection paused at its bound" \
    wait_metric "$URL" '^trail_backpressure_pauses_total\{input="cef_tcp"\} [1-9]' 120
check_grep "the full disk is in the log" "the store refused a batch: .*holding the events and trying again" "$WORK/traild.log"
held=$(metric trail_queue_events)
check "at most 16,384 + 4,095 events in flight, at least 16,384 ($held)" \
    test "${held:-0}" -ge 16384 -a "${held:-0}" -le 20479
rm -f "$MNT/filler"

# everything comes in once there is room again
check "all 40,000 stored once the disk has room" \
    wait_metric "$URL" '^trail_events_in_total\{input="cef_tcp"\} 40000$' 120
wait "$SENDER"
check_grep "the sender sent everything" "^sent$" "$WORK/sender.out"
stop_traild
check_eq "traild stopped cleanly" "$STOP_STATUS" 0
store_dump "$MNT/store" | grep -o '"duser":"held-[0-9]*' | cut -d'"' -f4 >"$WORK/order.txt"
seq -f "held-%05g" 0 39999 >"$WORK/want.txt"
check "the store holds the 40,000, once each, in the order sent" cmp -s "$WORK/order.txt" "$WORK/want.txt"
finish
