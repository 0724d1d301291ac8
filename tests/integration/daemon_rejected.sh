#!/usr/bin/env bash
# daemon_rejected.sh - nothing refused is lost: on the inputs that cannot
# answer per event (syslog, raw CEF, the Unix socket), what traild refuses is
# kept as trail's own trail_event_rejected record with the input, the peer,
# the reason and the raw bytes (escaped), at most [limits]
# rejected_events_per_minute per peer. Under policy = lenient the issue's
# CEF line without phxTraceId is stored as the event, its problem listed.
source "$(dirname "$0")/daemon_common.bash"
TRAIL=$TRAIL_BIN/trail
run() { # run POLICY: a traild with that policy; sends; leaves the store in $WORK/$1
    local policy=$1
    PORT=$(free_port)
    TCP=$(free_port)
    CEF=$(free_port)
    URL=http://127.0.0.1:$PORT
    cat >"$WORK/$policy.conf" <<EOF
[store]
path = $WORK/$policy
fsync = always
[listen]
http = 127.0.0.1:$PORT
syslog_udp = off
syslog_tcp = 127.0.0.1:$TCP
cef_tcp = 127.0.0.1:$CEF
unix = $WORK/$policy.sock
[validation]
policy = $policy
[limits]
rejected_events_per_minute = 3
EOF
    start_traild "$WORK/$policy.conf" "$WORK/$policy.log" || exit 1
    python3 - "$TCP" "$CEF" "$WORK/$policy.sock" <<'PY'
import socket, sys
tcp, cef, sock = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
line = (b"CEF:0|PhenixID|PAS|6.0.0|auth_logout_local|A user has logged out and their "
        b"session has been destroyed.|4|duser=alice src=198.51.100.7\n")
s = socket.create_connection(("127.0.0.1", tcp))
s.sendall(b"<13>1 - idp pas - - - " + line)
s.close()
c = socket.create_connection(("127.0.0.1", cef))
# bytes no terminal should see (ESC, BEL, a bad UTF-8 byte, U+2028, a backslash): refused as bad UTF-8
c.sendall(b"CEF:0|PhenixID|PAS|6.0.0|no_such_event|x|4|duser=\x1b[31mred\x07 \xff \xe2\x80\xa8 a\\b \xc3\xa5\n")
c.close()
u = socket.socket(socket.AF_UNIX)
u.connect(sock)
u.sendall(b"".join(b'{"id":"no_such_event_%d"}\n' % i for i in range(10)))
u.close()
PY
    wait_metric "$URL" '^trail_events_rejected_total\{input="unix",reason="unknown_event"\} 10$' >/dev/null
    wait_metric "$URL" '^trail_events_rejected_total\{input="cef_tcp",reason="bad_utf8"\} 1$' >/dev/null
    sleep 0.5 # the kept records follow their rejection through ingest
    stop_traild TERM
}

run strict
S=$WORK/strict
q() { "$TRAIL" query --store "$S" --limit 0 --format ndjson "$@"; }
check_grep "strict: the CEF line over syslog is kept, with input, peer, reason and raw bytes" \
    '"id":"trail_event_rejected".*"input":"trail","peer":"127.0.0.1:[0-9]+","origin":"trail","attrs":\{"input":"syslog_tcp","raw":"<13>1 - idp pas - - - CEF:0\|PhenixID\|PAS\|6.0.0\|auth_logout_local\|.*duser=alice src=198.51.100.7","raw_bytes":[0-9]+,"reason":"event .auth_logout_local. needs attribute .phxTraceId."' \
    <(q --event trail_event_rejected --where input=syslog_tcp)
check_grep "strict: raw bytes escaped: ESC, BEL, a bad byte, U+2028 and backslash as \\xNN / \\\\; valid UTF-8 kept" \
    '"raw":"CEF:0\|PhenixID\|PAS\|6.0.0\|no_such_event\|x\|4\|duser=\\\\x1b\[31mred\\\\x07 \\\\xff \\\\xe2\\\\x80\\\\xa8 a\\\\\\\\b å"' \
    <(q --event trail_event_rejected --where input=cef_tcp)
check_eq "strict: the Unix peer's 10 unknown ids: 3 kept (the per-peer limit a minute)" \
    "$(q --event trail_event_rejected --where input=unix | wc -l)" 3
check_grep "strict: ... by the peer's uid" "\"principal\":\"uid=$(id -u)\"" <(q --event trail_event_rejected --where input=unix)
check_grep "strict: the rest are counted, not kept (logged once)" \
    "unix: more rejected items from uid=$(id -u) than \[limits\] rejected_events_per_minute \(3" "$WORK/strict.log"
check_eq "strict: kept records are trail's own" "$(q --event trail_event_rejected --origin producer | wc -l)" 0
"$TRAIL" verify --store "$S" >/dev/null 2>&1
check_eq "strict: the store verifies" "$?" 0

run lenient
S=$WORK/lenient
check_grep "lenient: the CEF line is stored as the event, its missing phxTraceId listed" \
    '"id":"auth_logout_local".*"input":"syslog_tcp".*"problems":"missing required attribute .phxTraceId.","attrs":\{"duser":"alice","src":"198.51.100.7"\}' \
    <(q --event auth_logout_local)
check_eq "lenient: nothing rejected for it" "$(q --event trail_event_rejected --where input=syslog_tcp | wc -l)" 0
finish
