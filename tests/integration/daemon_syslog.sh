#!/usr/bin/env bash
# daemon_syslog.sh - traild's syslog input with util-linux logger as the
# peer: RFC 5424 and RFC 3164, TCP (LF and octet-counting framing) and UDP,
# the event as structured data, JSON in MSG and a CEF payload; bad messages
# in the same stream as good ones, each rejected with its reason in the log
# and the good ones stored; RFC 5424 messages run together with no LF
# (log4j2), each stored on its own.
source "$(dirname "$0")/daemon_common.bash"

PORT=$(free_port)
HPORT=$(free_port)
URL=http://127.0.0.1:$HPORT
CONF=$WORK/traild.conf
cat >"$CONF" <<EOF
[store]
path = $WORK/store
[listen]
http = 127.0.0.1:$HPORT
syslog_udp = 127.0.0.1:$PORT
syslog_tcp = 127.0.0.1:$PORT
[limits]
max_line_bytes = 2K
max_record_bytes = 8K
[event acme_badge_swiped]
severity = NOTICE
description = A badge was swiped at a door.
schema = duser:string:required:indexed, door:string, src:ip, attempts:int
EOF
start_traild "$CONF" || exit 1
L="logger -n 127.0.0.1 -P $PORT"

# log4j2's SyslogAppender over TCP at its default (format RFC5424, no newLine): RFC 5424
# messages back to back with no LF, as its Rfc5424Layout writes a StructuredDataMessage
# (id trail, type the event id, enterprise number 32473). Each is a message of its own,
# delivered as soon as the next one's header shows where it ends (the last one at LF or
# at the end of the connection).
cat >"$WORK/log4j2.py" <<'PY'
import os, socket, sys, time
port, release = int(sys.argv[1]), sys.argv[2]
def msg(i, user, trace, text):
    return (b'<134>1 2026-11-24T08:59:58.%03d+01:00 idp1.example.com PAS 4242 prism_user_locked '
            b'[trail@32473 duser="%s" phxTraceId="%s"] %s' % (i, user, trace, text))
s = socket.create_connection(("127.0.0.1", port))
s.sendall(msg(1, b"l4jalice", b"#A1", b"User alice locked") +
          msg(2, b"l4jbob", b"#B2", b"User bob locked") +
          msg(3, b"l4jcarol", b"#C3", b"User carol locked"))
while not os.path.exists(release):  # hold the connection open until the test has looked
    time.sleep(0.05)
s.close()
PY
python3 "$WORK/log4j2.py" "$PORT" "$WORK/log4j2.release" &
L4J_PID=$!
EXTRA_PIDS="$L4J_PID"
wait_metric "$URL" '^trail_events_in_total\{input="syslog_tcp"\} 2$' || true
check_grep "log4j2 run: the first two stored while the connection is open" \
    '^trail_events_in_total\{input="syslog_tcp"\} 2$' <(curl -s "$URL/metrics")
touch "$WORK/log4j2.release"
wait "$L4J_PID"
wait_metric "$URL" '^trail_events_in_total\{input="syslog_tcp"\} 3$' || true
# the same with the event as CEF in MSG, where the first message's last extension value
# (phxTraceId) would otherwise run on into the second message
python3 - "$PORT" <<'PY'
import socket, sys
cef = b'<134>1 2026-11-24T08:59:59.000+01:00 idp1 PAS 4242 - - CEF:0|PhenixID|PAS|6.0.0|' \
      b'prism_user_locked|User locked|6|duser=%s phxTraceId=%s'
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(cef % (b"l4jdave", b"#D4") + cef % (b"l4jerin", b"#E5"))
s.close()
PY
# a header quoted in an SD-PARAM value is data: one message, the value whole
python3 - "$PORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b'<134>1 - idp1 PAS - prism_user_locked [trail@32473 duser="l4jfrank" '
          b'phxTraceId="#F6" reason="peer sent <134>1 - h a - - - x"] quoted\n')
s.close()
PY
wait_metric "$URL" '^trail_events_in_total\{input="syslog_tcp"\} 6$' || true
CEF='CEF:0|PhenixID|PAS|6.0.0|acme_badge_swiped|A badge was swiped at a door.|4'

# RFC 5424, event in structured data, TCP with LF framing and UDP
$L --rfc5424 --tcp --sd-id trail@32473 --sd-param 'duser="a5424tcp"' --sd-param 'door="B\]2"' \
    --msgid acme_badge_swiped 'A badge was swiped at a door.'
$L --rfc5424 --udp --sd-id trail@32473 --sd-param 'duser="a5424udp"' --msgid acme_badge_swiped x
# RFC 5424 with octet counting
$L --rfc5424 --tcp --octet-count --sd-id trail@32473 --sd-param 'duser="a5424oct"' \
    --msgid acme_badge_swiped x
# JSON in MSG
$L --rfc5424 --udp '{"id":"acme_badge_swiped","attrs":{"duser":"ajson","attempts":3}}'
# RFC 3164 with a CEF payload, TCP and UDP
$L --rfc3164 --tcp -t pas "$CEF|duser=a3164tcp src=203.0.113.7"
$L --rfc3164 --udp -t pas "$CEF|duser=a3164udp"

# bad messages beside good ones in one TCP connection (logger -f: one message a line)
{
    echo "just some text"
    echo "$CEF|duser=amixed1"
    echo "CEF:0|PhenixID|PAS|6.0.0|no_such_event|?|4|duser=x"
    echo "$CEF|door=7"
    echo "$CEF|duser=x attempts=lots"
    echo "$CEF|duser=amixed2"
} >"$WORK/mixed.txt"
$L --rfc3164 --tcp -t pas -f "$WORK/mixed.txt"
# bad structured data events over UDP
$L --rfc5424 --udp --sd-id trail@32473 --sd-param 'duser="x"' --msgid no_such_event x
$L --rfc5424 --udp --sd-id trail@32473 --sd-param 'duser="x"' --sd-param 'src="nowhere"' \
    --msgid acme_badge_swiped x
# too large for max_line_bytes (2K)
big=$(head -c 3000 /dev/zero | tr '\0' 'x')
$L --rfc5424 --tcp --size 8192 "{\"id\":\"acme_badge_swiped\",\"attrs\":{\"duser\":\"$big\"}}"
$L --rfc3164 --tcp -t pas "$CEF|duser=aafterbig"

# octet-counted frames written by hand: a malformed count between good frames
python3 - "$PORT" <<'PY'
import socket, sys
good = b'<13>1 - h app - acme_badge_swiped [trail@32473 duser="araw%d"] x'
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
f1, f2 = good % 1, good % 2
s.sendall(b"%d %s" % (len(f1), f1) + b"12x garbage\n" + b"%d %s" % (len(f2), f2))
s.close()
PY

wait_metric "$URL" '^trail_events_in_total\{input="syslog_tcp"\} 14$' || true
wait_metric "$URL" '^trail_events_in_total\{input="syslog_udp"\} 3$' || true
LOG=$WORK/traild.log
check_grep "plain text: says no event found, names the sender" \
    'syslog_tcp: rejected from tcp:127.0.0.1:[0-9]+: syslog: no trail event in the message' "$LOG"
check_grep "unknown id in CEF" "syslog_tcp: rejected from .*unknown event id 'no_such_event' \(unknown_event\)" "$LOG"
check_grep "missing attribute in CEF" "syslog_tcp: rejected .*needs attribute 'duser' \(missing_attr\)" "$LOG"
check_grep "bad int in CEF" "syslog_tcp: rejected .*attribute 'attempts'.*\(bad_type\)" "$LOG"
check_grep "unknown id in structured data (UDP)" "syslog_udp: rejected from udp:127.0.0.1:[0-9]+: unknown event id 'no_such_event'" "$LOG"
check_grep "bad ip in structured data" "syslog_udp: rejected .*attribute 'src'.*\(bad_type\)" "$LOG"
check_grep "oversize message" "syslog_tcp: rejected .*over the limit.*\(too_large\)" "$LOG"
check_grep "malformed octet count" "syslog_tcp: rejected .*malformed octet count.*\(malformed\)" "$LOG"
curl -s "$URL/metrics" >"$WORK/metrics.out"
check_grep "metrics: malformed counted" '^trail_events_rejected_total\{input="syslog_tcp",reason="malformed"\} 2$' "$WORK/metrics.out"
check_grep "metrics: too_large counted" '^trail_events_rejected_total\{input="syslog_tcp",reason="too_large"\} 1$' "$WORK/metrics.out"

stop_traild TERM
check_eq "SIGTERM: exit 0" "$STOP_STATUS" 0
store_dump "$WORK/store" >"$WORK/dump.ndjson"
got=$(grep -o '"duser":"a[a-z0-9]*"' "$WORK/dump.ndjson" | cut -d'"' -f4 | sort | tr '\n' ' ')
check_eq "store: every good message, none of the bad" "$got" \
    "a3164tcp a3164udp a5424oct a5424tcp a5424udp aafterbig ajson amixed1 amixed2 araw1 araw2 "
check "structured data: escaped ']' kept" grep -q '"door":"B]2"' "$WORK/dump.ndjson"
check "host: from the syslog HOSTNAME" grep -q "\"host\":\"$(hostname)\".*\"duser\":\"a5424tcp\"" "$WORK/dump.ndjson"
check "typed attributes: an int" grep -Eq '"attempts":3' "$WORK/dump.ndjson"
check "CEF src as an ip" grep -q '"src":"203.0.113.7"' "$WORK/dump.ndjson"
got=$(grep '"id":"prism_user_locked"' "$WORK/dump.ndjson" |
    sed -E 's/.*"duser":"([^"]*)".*"phxTraceId":"([^"]*)".*/\1=\2/' | sort | tr '\n' ' ')
check_eq "log4j2 runs: one event per message, each with its own phxTraceId" "$got" \
    "l4jalice=#A1 l4jbob=#B2 l4jcarol=#C3 l4jdave=#D4 l4jerin=#E5 l4jfrank=#F6 "
check "log4j2 runs: no attribute holds a second header" bash -c "! grep -q '<134>1 2026' '$WORK/dump.ndjson'"
check_grep "a header quoted in an SD-PARAM value is kept" '"reason":"peer sent <134>1 - h a - - - x"' "$WORK/dump.ndjson"
finish
