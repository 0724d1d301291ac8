#!/usr/bin/env bash
# daemon_notify.sh - traild under a Type=notify unit, without systemd: a
# stand-in notification socket (notify_listener.py) gets READY=1 once traild
# listens, WATCHDOG=1 at half the WATCHDOG_USEC period, RELOADING=1 and
# READY=1 around a good and a bad reload, STOPPING=1 at SIGTERM; with stderr
# the journal's stream (JOURNAL_STREAM naming its device and inode) each log
# line starts with its syslog priority, and not when JOURNAL_STREAM names
# another file. docs/traild.md, "Under systemd".
source "$(dirname "$0")/daemon_common.bash"

port=$(free_port)
conf=$WORK/traild.conf
cat >"$conf" <<EOF
[store]
path = $WORK/store
[listen]
http = 127.0.0.1:$port
syslog_udp = off
syslog_tcp = off
EOF

python3 "$(dirname "$0")/notify_listener.py" "$WORK/notify.sock" "$WORK/notify.log" &
EXTRA_PIDS="$EXTRA_PIDS $!"
wait_for 30 test -S "$WORK/notify.sock"
msgs() { grep -c "$1" "$WORK/notify.log" 2>/dev/null || true; }
watchdogs_at_least() { [ "$(msgs '^WATCHDOG=1$')" -ge "$1" ]; }

log=$WORK/journal.log
: >"$log"
NOTIFY_SOCKET=$WORK/notify.sock WATCHDOG_USEC=400000 JOURNAL_STREAM=$(stat -c '%d:%i' "$log") \
    "$TRAILD" -c "$conf" 2>>"$log" &
TRAILD_PID=$!
check "READY=1 once traild serves" wait_for 60 grep -q '^READY=1' "$WORK/notify.log"
check_grep "READY=1 names the listeners in STATUS=" "^READY=1 \| STATUS=traild .*http 127.0.0.1:$port" \
    "$WORK/notify.log"
check_eq "HTTP answers once READY=1 was sent" \
    "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")" 200
check "WATCHDOG=1 every 200 ms (WATCHDOG_USEC 400 ms)" wait_for 30 watchdogs_at_least 3

# a bad file: RELOADING=1, then READY=1 saying the reload failed, an error line <3>
cp "$conf" "$WORK/good.conf"
printf '[limits]\nbatch_size = lots\n' >>"$conf"
kill -HUP "$TRAILD_PID"
check "bad reload: READY=1 again" wait_for 30 grep -q '^READY=1 | STATUS=reload failed' "$WORK/notify.log"
check_eq "bad reload: RELOADING=1 came first" \
    "$(grep -v '^WATCHDOG' "$WORK/notify.log" | sed -n 2p | cut -d' ' -f1)" RELOADING=1
check_grep "bad reload: an error line with priority 3" '^<3>reload failed' "$log"
cp "$WORK/good.conf" "$conf"
kill -HUP "$TRAILD_PID"
check "good reload: RELOADING=1, READY=1" wait_for 30 grep -q '^READY=1 | STATUS=configuration reloaded' \
    "$WORK/notify.log"
check_eq "two reloads, two RELOADING=1" "$(msgs '^RELOADING=1 | MONOTONIC_USEC=[0-9]*$')" 2

stop_traild
check_eq "SIGTERM: exit 0" "$STOP_STATUS" 0
check_grep "SIGTERM: STOPPING=1" '^STOPPING=1' "$WORK/notify.log"
check_grep "journal: the start line is info, <6>" '^<6>started: traild ' "$log"
check_eq "journal: every line starts with a priority, none with a time" \
    "$(grep -cv '^<[3467]>' "$log")" 0

# JOURNAL_STREAM set for another file (inherited, stderr redirected): plain lines
log2=$WORK/plain.log
JOURNAL_STREAM=$(stat -c '%d:%i' "$log") start_traild "$conf" "$log2"
stop_traild
check_grep "another JOURNAL_STREAM: lines with time and level" \
    '^[0-9-]{10}T[0-9:.]+Z traild\[[0-9]+\]: info: started: ' "$log2"
check_eq "another JOURNAL_STREAM: no priorities" "$(grep -c '^<[0-9]>' "$log2")" 0
finish
