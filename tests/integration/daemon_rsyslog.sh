#!/usr/bin/env bash
# daemon_rsyslog.sh - rsyslog as the peer: an rsyslogd of the test's own
# (config, pid file and work directory under the test's directory, in the
# foreground) follows three event.log files with imfile and forwards them to
# traild with omfwd: RFC 3164 over TCP with LF framing (rsyslog's
# traditional forwarding format), RFC 5424 over TCP with octet counting, and
# RFC 5424 over UDP. Every good line must arrive; a bad one is rejected.
source "$(dirname "$0")/daemon_common.bash"

RSYSLOGD=$(command -v rsyslogd || echo /usr/sbin/rsyslogd)
if [ ! -x "$RSYSLOGD" ]; then
    echo "rsyslogd is not installed (scripts/install-deps.sh test installs it)"
    echo "0 passed, 1 failed"
    exit 1
fi
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
[event acme_badge_swiped]
severity = NOTICE
description = A badge was swiped at a door.
schema = duser:string:required:indexed, door:string
EOF
start_traild "$CONF" || exit 1

R=$WORK/rsyslog
mkdir -p "$R/work" "$WORK/pas"
line() { echo "2026-11-24 08:59:58,150 [EVENT]  NOTICE: 2026-11-24T08:59:58+01:00 idp1 CEF:0|PhenixID|PAS|6.2.1|acme_badge_swiped|A badge was swiped at a door.|4|duser=$1"; }
for kind in legacy counted udp; do
    : >"$WORK/pas/$kind.log"
done
cat >"$R/rsyslog.conf" <<EOF
global(workDirectory="$R/work")
module(load="imfile")
input(type="imfile" File="$WORK/pas/legacy.log" Tag="pas:" ruleset="legacy")
input(type="imfile" File="$WORK/pas/counted.log" Tag="pas:" ruleset="counted")
input(type="imfile" File="$WORK/pas/udp.log" Tag="pas:" ruleset="udp")
ruleset(name="legacy") {
    action(type="omfwd" target="127.0.0.1" port="$PORT" protocol="tcp"
           template="RSYSLOG_TraditionalForwardFormat")
}
ruleset(name="counted") {
    action(type="omfwd" target="127.0.0.1" port="$PORT" protocol="tcp"
           TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
}
ruleset(name="udp") {
    action(type="omfwd" target="127.0.0.1" port="$PORT" protocol="udp"
           template="RSYSLOG_SyslogProtocol23Format")
}
EOF
"$RSYSLOGD" -n -f "$R/rsyslog.conf" -i "$R/rsyslogd.pid" >"$R/rsyslogd.out" 2>&1 &
EXTRA_PIDS=$!
sleep 0.5
check "rsyslogd runs with the test's config" kill -0 "$EXTRA_PIDS"

for i in 1 2 3; do
    line "legacy$i" >>"$WORK/pas/legacy.log"
    line "counted$i" >>"$WORK/pas/counted.log"
    line "udp$i" >>"$WORK/pas/udp.log"
done
echo "2026-11-24 08:59:58,150 [EVENT]  NOTICE: 2026-11-24T08:59:58+01:00 idp1 CEF:0|PhenixID|PAS|6.2.1|acme_badge_swiped|A badge was swiped at a door.|4|door=nouser" >>"$WORK/pas/legacy.log"
line legacy4 >>"$WORK/pas/legacy.log"

check "rsyslog over TCP: 7 events" wait_metric "$URL" '^trail_events_in_total\{input="syslog_tcp"\} 7$'
check "rsyslog over UDP: 3 events" wait_metric "$URL" '^trail_events_in_total\{input="syslog_udp"\} 3$'
check_grep "the bad line is rejected with its reason" "syslog_tcp: rejected from tcp:127.0.0.1:[0-9]+: event 'acme_badge_swiped' needs attribute 'duser'" "$WORK/traild.log"
kill "$EXTRA_PIDS"
wait "$EXTRA_PIDS" 2>/dev/null
EXTRA_PIDS=""

stop_traild TERM
check_eq "SIGTERM: exit 0" "$STOP_STATUS" 0
store_dump "$WORK/store" >"$WORK/dump.ndjson"
got=$(grep -o '"duser":"[a-z]*[0-9]"' "$WORK/dump.ndjson" | cut -d'"' -f4 | sort | tr '\n' ' ')
check_eq "store: every line forwarded by rsyslog" "$got" \
    "counted1 counted2 counted3 legacy1 legacy2 legacy3 legacy4 udp1 udp2 udp3 "
check_grep "store: host and time from the event.log line" '"time":"2026-11-24T07:59:58.150000Z".*"host":"idp1"' "$WORK/dump.ndjson"
finish
