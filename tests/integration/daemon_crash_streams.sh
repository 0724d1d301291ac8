#!/usr/bin/env bash
# daemon_crash_streams.sh - kill -9 traild while raw CEF over TCP and the
# Unix socket are read on two event loops each ([listen] stream_threads =
# 2), two senders on each input, beside four HTTP threads taking NDJSON
# batches of 500. Two rounds of start, load, kill -9. After each, besides
# daemon_crash_parallel.sh's checks (every acknowledged HTTP event at the seq
# its answer gave, gapless seqs, `trail verify`): a stream has no
# acknowledgement, so what traild counted durable on each input
# (trail_events_in_total) just before the kill is a floor of what the store
# holds of it; every stream event is stored at most once; and each
# connection's events are a prefix of what it sent, in the order it sent
# them (a loop appends a connection's batches in order, and what is durable
# is a prefix of the seqs). At the end traild recovers the store, takes an
# event and stops cleanly.
#
# Not here: the loops without a crash (daemon_stream_loops.sh), syslog and
# HTTP alone (daemon_crash_parallel.sh).
source "$(dirname "$0")/daemon_common.bash"
source "$(dirname "$0")/crash_common.bash"

HPORT=$(free_port)
CPORT=$(free_port)
URL=http://127.0.0.1:$HPORT
SOCK=$WORK/traild.sock
CONF=$WORK/traild.conf
cat >"$CONF" <<EOF
[store]
path = $WORK/store
fsync = always
seal_threads = 2
[listen]
http = 127.0.0.1:$HPORT
http_threads = 4
syslog_udp = off
syslog_tcp = off
cef_tcp = 127.0.0.1:$CPORT
unix = $SOCK
stream_threads = 2
[event acme_badge_swiped]
severity = NOTICE
description = A badge was swiped at a door.
schema = duser:string:required:indexed, door:string
EOF

# stream senders: python3 stream_sender.py cef PORT NAME | unix PATH NAME sends
# acme_badge_swiped events with dusers NAME-0, NAME-1, ... in sends of 200
# until the server goes away (at most 200,000: a kill that never came)
cat >"$WORK/stream_sender.py" <<'PY'
import socket, sys
kind, where, name = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    if kind == "cef":
        s = socket.create_connection(("127.0.0.1", int(where)), timeout=20)
    else:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(20)
        s.connect(where)
    for n in range(0, 200000, 200):
        if kind == "cef":
            data = b"".join(b"CEF:0|PhenixID|PAS|6.0.0|acme_badge_swiped|x|4|duser=%s-%d\n"
                            % (name.encode(), i) for i in range(n, n + 200))
        else:
            data = b"".join(b'{"id":"acme_badge_swiped","attrs":{"duser":"%s-%d"}}\n'
                            % (name.encode(), i) for i in range(n, n + 200))
        s.sendall(data)
except Exception:
    pass
PY

crash_write_client 500 keep-alive

metric() { # metric NAME{LABELS}: its value in $WORK/metrics.before
    awk -v m="$1" '$1 == m { print $2 }' "$WORK/metrics.before"
}
stream_in() { # stream_in INPUT N: traild counts N events of INPUT durable (for wait_for)
    [ "$(curl -s "$URL/metrics" | awk -v m="trail_events_in_total{input=\"$1\"}" '$1 == m { print $2 }')" -ge "$2" ]
}

for round in 1 2; do
    start_traild "$CONF" "$WORK/traild.$round.log" || exit 1
    before=$(crash_acked_all | wc -l)
    pids=""
    crash_start_clients "r$round" "$round."
    for c in 1 2; do
        python3 "$WORK/stream_sender.py" cef "$CPORT" "r${round}cef$c" &
        pids="$pids $!"
        python3 "$WORK/stream_sender.py" unix "$SOCK" "r${round}unix$c" &
        pids="$pids $!"
    done
    EXTRA_PIDS=$pids
    # kill once this round has 3 HTTP batches acknowledged and both stream inputs
    # have stored some (at most 60 s each): every input is then mid-stream
    check "round $round: HTTP batches acknowledged before the kill" \
        wait_for 60 sh -c "test \$(cat '$WORK'/acked.$round.* 2>/dev/null | wc -l) -ge 1500"
    for input in cef_tcp unix; do
        check "round $round: both $input senders connected" \
            wait_metric "$URL" "^trail_connections\\{input=\"$input\"\\} 2\$" 60
    done
    check "round $round: raw CEF events stored before the kill" wait_for 60 stream_in cef_tcp 2000
    check "round $round: Unix socket events stored before the kill" wait_for 60 stream_in unix 2000
    curl -s "$URL/metrics" >"$WORK/metrics.before"
    # shellcheck disable=SC2086
    crash_kill $pids
    check "round $round: more acknowledged than before" test "$(wc -l <"$WORK/acked")" -gt "$before"
    for input in cef_tcp unix; do
        check_eq "round $round: $input was served by two loops" \
            "$(metric "trail_stream_loops{input=\"$input\"}")" 2
        for loop in 0 1; do
            check_eq "round $round: $input loop $loop took one of the two senders" \
                "$(metric "trail_stream_loop_connections_total{input=\"$input\",loop=\"$loop\"}")" 1
        done
    done

    crash_check_store "round $round"
    # the stream events of this round and the one before, checked against what was counted
    python3 - "$WORK/dump.ndjson" "r$round" "$(metric 'trail_events_in_total{input="cef_tcp"}')" \
        "$(metric 'trail_events_in_total{input="unix"}')" >"$WORK/streams.$round.out" <<'PY'
import collections, json, re, sys
dump, rnd, cef_counted, unix_counted = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
conns = collections.defaultdict(list)  # sender name -> its indexes, in seq order
for line in open(dump):
    ev = json.loads(line)
    m = re.fullmatch(r"(r\d+(?:cef|unix)\d)-(\d+)", ev["attrs"].get("duser", ""))
    if ev["id"] == "acme_badge_swiped" and m:
        conns[m.group(1)].append(int(m.group(2)))
problems = []
for name, idx in sorted(conns.items()):
    if idx != list(range(len(idx))):
        problems.append("%s: not a prefix in order (%d events, first out of place at %d)" % (
            name, len(idx), next(i for i, x in enumerate(idx) if x != i)))
stored = {k: sum(len(v) for n, v in conns.items() if n.startswith(rnd + k)) for k in ("cef", "unix")}
if stored["cef"] < cef_counted:
    problems.append("cef: %d stored, %d counted durable before the kill" % (stored["cef"], cef_counted))
if stored["unix"] < unix_counted:
    problems.append("unix: %d stored, %d counted durable before the kill" % (stored["unix"], unix_counted))
print("; ".join(problems) or "ok %d senders, this round cef %d (counted %d) unix %d (counted %d)" % (
    len(conns), stored["cef"], cef_counted, stored["unix"], unix_counted))
PY
    check_grep "round $round: each stream connection's events stored once, a prefix in order, at least what was counted" \
        '^ok ' "$WORK/streams.$round.out"
    cat "$WORK/streams.$round.out"
done

crash_check_restart "$CONF" "$WORK/traild.after.log" "after the crashes"
finish
