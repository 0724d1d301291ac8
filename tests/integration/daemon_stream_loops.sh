#!/usr/bin/env bash
# daemon_stream_loops.sh - the stream inputs on several event loops: raw CEF
# over TCP and the Unix socket at [listen] stream_threads = 2, syslog TCP at
# syslog_threads = 2, and [store] seal_threads = 2. Four senders at once on
# each input: the connections go round the loops (two each, by the
# per-loop metrics), each loop stores its own connections' events, and the
# store holds every event sent exactly once. Reloads name stream_threads
# and seal_threads as waiting for a restart; a restart with seal_threads = 1
# and stream_threads unset has one sealing thread and one loop per CPU
# traild may run on.
#
# Not here: kill -9 during this load (daemon_crash_streams.sh), the limits
# on connections (security_limits.sh).
source "$(dirname "$0")/daemon_common.bash"

HPORT=$(free_port)
CPORT=$(free_port)
SPORT=$(free_port)
URL=http://127.0.0.1:$HPORT
SOCK=$WORK/traild.sock
CONF=$WORK/traild.conf
write_conf() { # write_conf STORE-KEYS LISTEN-KEYS
    cat >"$CONF" <<EOF
[store]
path = $WORK/store
fsync = always
$1
[listen]
http = 127.0.0.1:$HPORT
syslog_udp = off
syslog_tcp = 127.0.0.1:$SPORT
syslog_threads = 2
cef_tcp = 127.0.0.1:$CPORT
unix = $SOCK
$2
[event acme_badge_swiped]
severity = NOTICE
description = A badge was swiped at a door.
schema = duser:string:required:indexed, door:string
EOF
}
write_conf "seal_threads = 2" "stream_threads = 2"
start_traild "$CONF" || exit 1

# threads NAME-REGEX: how many of traild's threads have a matching name
threads() {
    cat /proc/"$TRAILD_PID"/task/*/comm 2>/dev/null | grep -Ec "$1"
}
check_eq "stream_threads = 2: two raw CEF loops (traild-cef, traild-cef1)" "$(threads '^traild-cef1?$')" 2
check_eq "stream_threads = 2: two Unix socket loops" "$(threads '^traild-unix1?$')" 2
check_eq "seal_threads = 2: two sealing threads" "$(threads '^trail-seal[0-9]*$')" 2
# and the one at normal priority that joins past three waiting ([store] seal_backlog_max)
check_eq "seal_threads = 2: and trail-sealx" "$(threads '^trail-sealx$')" 1
check_grep "the log names the loops" 'cef: tcp 127.0.0.1:[0-9]+; 2 loops' "$WORK/traild.log"
check_grep "the log names the Unix loops" 'unix: .*traild.sock \(mode 0660\); 2 loops' "$WORK/traild.log"

# four connections at once on each input, each its own dusers (PREFIX-CONN-N), N events each;
# a connection's events are written in a few large sends, so the loops read them concurrently
N=3000
cat >"$WORK/senders.py" <<'PY'
import socket, sys, threading
cport, sport, sock, n = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
def cef(c):
    return b"".join(b"CEF:0|PhenixID|PAS|6.0.0|acme_badge_swiped|x|4|duser=cef-%d-%d door=d\n" % (c, i)
                    for i in range(n))
def unix(c):
    return b"".join(b'{"id":"acme_badge_swiped","attrs":{"duser":"unix-%d-%d"}}\n' % (c, i)
                    for i in range(n))
def syslog(c):
    out = []
    for i in range(n):
        m = b'<13>1 - h app - acme_badge_swiped [trail@32473 duser="syslog-%d-%d"] x' % (c, i)
        out.append(b"%d %s" % (len(m), m))
    return b"".join(out)
def send(connect, data):
    s = connect()
    for i in range(0, len(data), 65536):
        s.sendall(data[i:i + 65536])
    s.close()
def tcp(port):
    return lambda: socket.create_connection(("127.0.0.1", port))
def unix_sock():
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    return s
jobs = [(tcp(cport), cef(c)) for c in range(4)] + [(unix_sock, unix(c)) for c in range(4)] + \
       [(tcp(sport), syslog(c)) for c in range(4)]
# every connection open before any sends: the four of an input are accepted together
conns = [(connect(), data) for connect, data in jobs]
threads = [threading.Thread(target=lambda s=s, d=d: (s.sendall(d), s.close())) for s, d in conns]
for t in threads:
    t.start()
for t in threads:
    t.join()
PY
python3 "$WORK/senders.py" "$CPORT" "$SPORT" "$SOCK" "$N"
check_eq "the senders ran" "$?" 0
for input in cef_tcp unix syslog_tcp; do
    check "$input: every event in" \
        wait_metric "$URL" "^trail_events_in_total\\{input=\"$input\"\\} $((4 * N))\$" 60
done
curl -s "$URL/metrics" >"$WORK/metrics"
metric() { # metric NAME{LABELS}: its value
    awk -v m="$1" '$1 == m { print $2 }' "$WORK/metrics"
}
for input in cef_tcp unix syslog_tcp; do
    check_eq "$input: two loops" "$(metric "trail_stream_loops{input=\"$input\"}")" 2
    # round robin: whichever loop accepts, the connections alternate between the loops
    for loop in 0 1; do
        check_eq "$input: loop $loop took two of the four connections" \
            "$(metric "trail_stream_loop_connections_total{input=\"$input\",loop=\"$loop\"}")" 2
        # counted as the loop takes the completions, just after trail_events_in_total
        check "$input: loop $loop stored its two connections' events" wait_metric "$URL" \
            "^trail_stream_loop_events_total\\{input=\"$input\",loop=\"$loop\"\\} $((2 * N))\$"
    done
done
check_eq "no event rejected" "$(grep -c '^trail_events_rejected_total' "$WORK/metrics")" 0

# ---- large reads: libevent 2.1 reads a socket 4 KiB at a time; traild reads the rest of
# what is there at once. With traild stopped, one connection's 90,000 bytes wait in the
# socket; once it runs again they take a read or two, not 22 ----
reads_before=$(metric 'trail_stream_reads_total{input="cef_tcp"}')
bytes_before=$(metric 'trail_bytes_in_total{input="cef_tcp"}')
kill -STOP "$TRAILD_PID"
python3 - "$CPORT" <<'PY' &
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
head = b"CEF:0|PhenixID|PAS|6.0.0|acme_badge_swiped|x|4|duser=big-%03d door="
line = lambda i: head % i + b"d" * (199 - len(head % i)) + b"\n"  # 200 bytes
s.sendall(b"".join(line(i) for i in range(450)))
s.close()
PY
EXTRA_PIDS="$EXTRA_PIDS $!"
queued() { # the bytes waiting in traild's end of its CEF connections (closed by the sender)
    [ "$(ss -Htn "( sport = :$CPORT )" | awk '{ n += $2 } END { print n + 0 }')" -ge 90000 ]
}
check "large reads: the 90,000 bytes wait in the socket while traild is stopped" wait_for 30 queued
kill -CONT "$TRAILD_PID"
check "large reads: the 450 events in" \
    wait_metric "$URL" "^trail_events_in_total\\{input=\"cef_tcp\"\\} $((4 * N + 450))\$" 60
curl -s "$URL/metrics" >"$WORK/metrics"
check_eq "large reads: 90,000 bytes read" \
    $(($(metric 'trail_bytes_in_total{input="cef_tcp"}') - bytes_before)) 90000
reads=$(($(metric 'trail_stream_reads_total{input="cef_tcp"}') - reads_before))
check "large reads: in $reads reads (at 4 KiB a read: 22 or more)" test "$reads" -le 4

# SIGHUP: the loops and the sealers are made at start; a change waits for a restart
reloads=0
reload_and_wait() { # reload_and_wait: SIGHUP, wait for one more "configuration reloaded"
    reloads=$((reloads + 1))
    kill -HUP "$TRAILD_PID"
    check "reload $reloads: done" wait_for 30 \
        sh -c "test \$(grep -c 'configuration reloaded' '$WORK/traild.log') -ge $reloads"
    grep 'configuration reloaded' "$WORK/traild.log" | sed -n "${reloads}p" >"$WORK/reload.out"
}
write_conf "seal_threads = 2" "stream_threads = 1"
reload_and_wait
check_grep "reload: stream_threads waits for a restart" \
    '\[listen\] stream_threads changed and takes effect at the next restart' "$WORK/reload.out"
write_conf "seal_threads = 1" "stream_threads = 2"
reload_and_wait
check_grep "reload: seal_threads waits for a restart" \
    '\[store\] seal_threads changed and takes effect at the next restart' "$WORK/reload.out"
check_eq "reload: the sealing threads are still two" "$(threads '^trail-seal[0-9]*$')" 2

stop_traild TERM
check_eq "SIGTERM: exit 0" "$STOP_STATUS" 0
check "the socket file is removed" test ! -e "$SOCK"

# every event sent is in the store once
store_dump "$WORK/store" >"$WORK/dump.ndjson"
python3 - "$WORK/dump.ndjson" "$N" >"$WORK/once.out" <<'PY'
import collections, json, sys
n = int(sys.argv[2])
seen = collections.Counter()
for line in open(sys.argv[1]):
    ev = json.loads(line)
    if ev["id"] == "acme_badge_swiped":
        seen[ev["attrs"]["duser"]] += 1
want = {"%s-%d-%d" % (p, c, i) for p in ("cef", "unix", "syslog") for c in range(4) for i in range(n)}
want |= {"big-%03d" % i for i in range(450)}
twice = [u for u, k in seen.items() if k > 1]
print("missing %d twice %d unknown %d" % (len(want - set(seen)), len(twice), len(set(seen) - want)))
PY
check_eq "the store holds every event sent, each once" "$(cat "$WORK/once.out")" "missing 0 twice 0 unknown 0"

# seal_threads = 1, stream_threads unset (0): one loop per CPU traild may run on
write_conf "seal_threads = 1" ""
start_traild "$CONF" || exit 1
cpus=$(python3 -c 'import os; print(min(len(os.sched_getaffinity(0)), 8))')
check_eq "seal_threads = 1: one sealing thread" "$(threads '^trail-seal[0-9]*$')" 1
check_eq "stream_threads = 0: one raw CEF loop per CPU ($cpus)" "$(threads '^traild-cef[0-9]?$')" "$cpus"
check "stream_threads = 0: the metric says so" \
    wait_metric "$URL" "^trail_stream_loops\\{input=\"unix\"\\} $cpus\$"
stop_traild TERM
check_eq "second run: exit 0" "$STOP_STATUS" 0
finish
