#!/usr/bin/env bash
# daemon_crash.sh - kill -9 traild while several HTTP clients send events;
# every event whose request got its success answer must be in the store
# afterwards, with the seq the answer gave; the store must verify (trail
# verify), open again (recovery) and keep taking events.
source "$(dirname "$0")/daemon_common.bash"
source "$(dirname "$0")/crash_common.bash"

HPORT=$(free_port)
URL=http://127.0.0.1:$HPORT
CONF=$WORK/traild.conf
cat >"$CONF" <<EOF
[store]
path = $WORK/store
fsync = always
[listen]
http = 127.0.0.1:$HPORT
syslog_udp = off
syslog_tcp = off
[event acme_badge_swiped]
severity = NOTICE
description = A badge was swiped at a door.
schema = duser:string:required:indexed, door:string
EOF
start_traild "$CONF" || exit 1

# four clients, each sending NDJSON batches of 50 until the server goes away
crash_write_client 50
pids=""
crash_start_clients "" ""
EXTRA_PIDS=$pids
# let them run until a few thousand events are acknowledged (at most 10 s), then kill -9
for _ in $(seq 1 200); do
    n=$(cat "$WORK"/acked.* 2>/dev/null | wc -l)
    [ "$n" -ge 2000 ] && break
    sleep 0.05
done
# shellcheck disable=SC2086
crash_kill $pids
acked=$(wc -l <"$WORK/acked")
check "clients got answers before the kill" test "$acked" -ge 200

crash_check_store "after kill -9"
crash_check_restart "$CONF" "$WORK/traild2.log" "after the crash"
finish
