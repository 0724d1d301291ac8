#!/usr/bin/env bash
# daemon_crash_parallel.sh - kill -9 traild while its input threads hash in
# parallel: four HTTP threads taking NDJSON batches of 500 (each thread
# hashes its batch's leaves and the tree nodes over them before its turn on
# the store) and two syslog TCP loops taking a stream. Two rounds of
# start, load, kill -9. After each:
# every event whose request got its success answer is in the store with the
# seq the answer gave, the seqs are gapless, and `trail verify` finds
# nothing; at the end traild opens the store, takes an event and stops
# cleanly, and the store verifies again.
#
# Not here: one HTTP thread killed once (daemon_crash.sh), the store's own
# kill -9 rounds (unit/test_store_crash).
source "$(dirname "$0")/daemon_common.bash"
source "$(dirname "$0")/crash_common.bash"

HPORT=$(free_port)
SPORT=$(free_port)
URL=http://127.0.0.1:$HPORT
CONF=$WORK/traild.conf
cat >"$CONF" <<EOF
[store]
path = $WORK/store
fsync = always
[listen]
http = 127.0.0.1:$HPORT
http_threads = 4
syslog_udp = off
syslog_tcp = 127.0.0.1:$SPORT
syslog_threads = 2
[event acme_badge_swiped]
severity = NOTICE
description = A badge was swiped at a door.
schema = duser:string:required:indexed, door:string
EOF

# the syslog load: generator events, octet-counted, sent twice on one connection
# per sender (4,000 events: enough to overlap the HTTP batches, few enough that
# dumping and verifying the store stay quick), or until the server goes away
"$TRAIL_BIN/trail" loadgen -n 2000 -d 1 --format syslog >"$WORK/stream.syslog"
cat >"$WORK/syslog_sender.py" <<'PY'
import socket, sys
port = int(sys.argv[1])
lines = [l.rstrip(b"\n") for l in open(sys.argv[2], "rb")]
data = b"".join(b"%d %s" % (len(l), l) for l in lines)
try:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    for _ in range(2):
        s.sendall(data)
    s.close()
except Exception:
    pass
PY

# HTTP clients: NDJSON batches of 500 until the server goes away; each writes
# "duser seq" for every event of every answer 200 it got
crash_write_client 500 keep-alive

for round in 1 2; do
    start_traild "$CONF" "$WORK/traild.$round.log" || exit 1
    before=$(crash_acked_all | wc -l)
    pids=""
    crash_start_clients "r$round" "$round."
    for c in 1 2; do
        python3 "$WORK/syslog_sender.py" "$SPORT" "$WORK/stream.syslog" &
        pids="$pids $!"
    done
    EXTRA_PIDS=$pids
    # kill once this round has 3 batches acknowledged (at most 60 s): the clients'
    # next batches are then being hashed on the HTTP threads
    check "round $round: batches acknowledged before the kill" \
        wait_for 60 sh -c "test \$(cat '$WORK'/acked.$round.* 2>/dev/null | wc -l) -ge 1500"
    # shellcheck disable=SC2086
    crash_kill $pids
    check "round $round: more acknowledged than before" test "$(wc -l <"$WORK/acked")" -gt "$before"

    crash_check_store "round $round"
    check "round $round: syslog events were stored beside the HTTP ones" \
        grep -q -m1 -v acme_badge_swiped "$WORK/dump.ndjson"
done

# traild opens the store again (recovery) and goes on where it stopped
crash_check_restart "$CONF" "$WORK/traild.after.log" "after the crashes"
finish
