#!/usr/bin/env bash
# daemon_streams.sh - traild's other stream inputs with real peers: syslog
# over TLS with `openssl s_client`, raw CEF lines over TCP (the sixty lines
# of tests/data/pas-event.log, plus bad lines), and the Unix socket with
# NDJSON and CEF lines mixed; every good event stored, every bad one
# rejected with its reason.
source "$(dirname "$0")/daemon_common.bash"

TPORT=$(free_port)
CPORT=$(free_port)
HPORT=$(free_port)
URL=http://127.0.0.1:$HPORT
SOCK=$WORK/traild.sock
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=127.0.0.1 -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
CONF=$WORK/traild.conf
cat >"$CONF" <<EOF
[store]
path = $WORK/store
[listen]
http = 127.0.0.1:$HPORT
syslog_udp = off
syslog_tcp = off
syslog_tls = 127.0.0.1:$TPORT
cef_tcp = 127.0.0.1:$CPORT
unix = $SOCK
[tls]
cert = $WORK/cert.pem
key = $WORK/key.pem
[validation]
policy = lenient
[event acme_badge_swiped]
severity = NOTICE
description = A badge was swiped at a door.
schema = duser:string:required:indexed, door:string
EOF
start_traild "$CONF" || exit 1

# ---- TLS: octet-counted RFC 5424 and an LF-framed RFC 3164 message ----
m1='<13>1 2026-11-24T08:59:58Z tlshost app - acme_badge_swiped [trail@32473 duser="tls1"] x'
m2='<13>Nov 24 08:59:58 tlshost pas: CEF:0|PhenixID|PAS|6.0.0|acme_badge_swiped|x|4|duser=tls2'
m3='<13>1 - tlshost app - - - not an event'
{
    printf '%d %s' "${#m1}" "$m1"
    printf '%s\n%s\n' "$m2" "$m3"
    sleep 0.5
} | openssl s_client -quiet -no_ign_eof -connect 127.0.0.1:"$TPORT" >"$WORK/s_client.out" 2>&1
check_grep "tls: the handshake worked" 'CN ?= ?127.0.0.1' "$WORK/s_client.out"
# a client that does not speak TLS is refused, and says so in the log
printf '%s\n' "$m1" >/dev/tcp/127.0.0.1/"$TPORT"

# ---- raw CEF over TCP: the sample event.log and bad lines ----
{
    cat "$TRAIL_SOURCE_DIR/tests/data/pas-event.log"
    echo "CEF:0|PhenixID|PAS|6.0.0|no_such_event|?|4|duser=x"
    echo "not CEF at all"
    printf '%s' "CEF:0|PhenixID|PAS|6.0.0|acme_badge_swiped|A badge was swiped at a door.|4|duser=lastline"
} >/dev/tcp/127.0.0.1/"$CPORT"
sample=$(grep -c 'CEF:0' "$TRAIL_SOURCE_DIR/tests/data/pas-event.log")

# ---- the Unix socket: NDJSON and CEF lines, one bad ----
python3 - "$SOCK" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b'{"id":"acme_badge_swiped","attrs":{"duser":"unix1"}}\n'
          b'CEF:0|PhenixID|PAS|6.0.0|acme_badge_swiped|x|4|duser=unix2\n'
          b'{"id":"acme_badge_swiped","attrs":{"door":"nouser"}}\n'
          b'{"id":"acme_badge_swiped","attrs":{"duser":"unix3"}}')
s.close()
PY

check "tls: two events in" wait_metric "$URL" '^trail_events_in_total\{input="syslog_tls"\} 2$' 30
check "cef: the sample's and the last line in" \
    wait_metric "$URL" "^trail_events_in_total\\{input=\"cef_tcp\"\\} $((sample + 1))\$" 30
# four: the three good lines and, lenient, the one without its duser (its wait
# for three ran out its deadline at every run)
check "unix: four events in" wait_metric "$URL" '^trail_events_in_total\{input="unix"\} 4$' 30
LOG=$WORK/traild.log
# logged by the inputs' threads as they come: waited for, on a busy machine
logged() { grep -Eq -- "$1" "$LOG"; }
check "tls: a client without TLS is refused with the reason" wait_for 30 logged 'syslog_tls: tcp:127.0.0.1:[0-9]+: TLS failed: .*(wrong version|http request|packet length|unknown protocol)'
check "tls: a message without an event is rejected" wait_for 30 logged 'syslog_tls: rejected from tcp:127.0.0.1:[0-9]+: syslog: no trail event'
check "cef: unknown id rejected" wait_for 30 logged "cef_tcp: rejected from tcp:127.0.0.1:[0-9]+: unknown event id 'no_such_event'"
check "cef: not CEF rejected" wait_for 30 logged "cef_tcp: rejected .*\(malformed\)"
# lenient: the event without its required duser is kept, with the problem in the record
check_grep "unix: an event missing duser is stored with the problem listed" \
    '"input":"unix","principal":"uid=[0-9]+","problems":"missing required attribute .duser.","attrs":\{"door":"nouser"\}' \
    <("$TRAIL_BIN/trail" query --store "$WORK/store" --input unix --format ndjson)

stop_traild TERM
check_eq "SIGTERM: exit 0" "$STOP_STATUS" 0
check "the socket file is removed" test ! -e "$SOCK"
store_dump "$WORK/store" >"$WORK/dump.ndjson"
check_eq "tls: both events stored" "$(grep -Ec '"duser":"tls[12]"' "$WORK/dump.ndjson")" 2
check_grep "tls: host from the syslog header" '"host":"tlshost".*"duser":"tls1"' "$WORK/dump.ndjson"
n=$(grep -c '"phxTraceId"\|"host":"idp' "$WORK/dump.ndjson")
check "cef: the sample event.log lines are stored ($sample lines)" test "$n" -ge "$sample"
check_grep "cef: the last line, without its newline, is stored" '"duser":"lastline"' "$WORK/dump.ndjson"
check_eq "unix: the three good lines stored" "$(grep -Ec '"duser":"unix[123]"' "$WORK/dump.ndjson")" 3
finish
