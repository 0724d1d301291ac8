#!/usr/bin/env bash
# daemon_follow.sh - traild following an event.log like `tail -F`: a file
# that appears late, a line written in two pieces, a bad line, rotation
# (rename + new file, with a last line written to the old file after the
# rename), truncation, a restart with the file appended to and rotated
# while traild was down, and a restart whose saved offset is behind what
# the store holds (a crash before the offset was written). Every line must
# be stored exactly once.
source "$(dirname "$0")/daemon_common.bash"

HPORT=$(free_port)
URL=http://127.0.0.1:$HPORT
LOGS=$WORK/logs
mkdir -p "$LOGS"
F=$LOGS/event.log
CONF=$WORK/traild.conf
cat >"$CONF" <<EOF
[store]
path = $WORK/store
[listen]
http = 127.0.0.1:$HPORT
syslog_udp = off
syslog_tcp = off
[event acme_badge_swiped]
severity = NOTICE
description = A badge was swiped at a door.
schema = duser:string:required:indexed, door:string
[follow pas]
path = $F
format = auto
poll_ms = 20
EOF
line() { echo "2026-11-24 08:59:58,150 [EVENT]  NOTICE: 2026-11-24T08:59:58+01:00 idp1 CEF:0|PhenixID|PAS|6.2.1|acme_badge_swiped|A badge was swiped at a door.|4|duser=$1"; }
stored() { wait_metric "$URL" "^trail_events_in_total\\{input=\"follow\"\\} $1\$"; }

start_traild "$CONF" || exit 1
# the file appears after traild started; one bad line among good ones, one JSON line
{
    line f01
    echo "CEF:0|PhenixID|PAS|6.2.1|no_such_event|x|4|duser=bad"
    line f02
    echo '{"id":"acme_badge_swiped","attrs":{"duser":"f03"}}'
} >"$F"
check "a file that appears later is read" stored 3
check_grep "a bad line is rejected with file and byte offset" "follow: rejected from file:$F at byte [0-9]+: unknown event id 'no_such_event'" "$WORK/traild.log"

# a line written in two pieces is read once, whole
line f04 | head -c 60 >>"$F"
sleep 0.2
line f04 | tail -c +61 >>"$F"
check "a line written in two pieces" stored 4

# rotation: rename, one more line to the old file, then a new file
mv "$F" "$F.1"
line f05 >>"$F.1"
line f06 >"$F"
line f07 >>"$F"
check "rotation: the old file's last line and the new file" stored 7
check_grep "rotation: logged" "follow pas: .*event.log was rotated" "$WORK/traild.log"

# truncation: the file is emptied and written again
: >"$F"
sleep 0.2
line f08 >"$F"
check "truncation: read again from the start" stored 8

stop_traild TERM
check_eq "SIGTERM: exit 0" "$STOP_STATUS" 0
check_grep "the offset is kept in the store directory" '^trail-follow/1 [0-9]+ [0-9]+ [0-9]+$' "$WORK/store/follow/pas.offset"

# while traild is down: more lines, then a rotation and a new file
line f09 >>"$F"
mv "$F" "$F.2"
line f10 >"$F"
: >"$WORK/traild2.log"
start_traild "$CONF" "$WORK/traild2.log" || exit 1
check "restart: the rest of the rotated file, then the new one" stored 2
check_grep "restart: the rotated file is found by its inode" "follow pas: finishing the rotated .*event.log.2 from offset" "$WORK/traild2.log"
line f11 >>"$F"
check "restart: following goes on" stored 3
stop_traild TERM

# a restart with nothing new reads nothing again
: >"$WORK/traild3.log"
start_traild "$CONF" "$WORK/traild3.log" || exit 1
sleep 0.3
curl -s "$URL/metrics" >"$WORK/metrics3"
check_grep "restart without news: nothing read twice" '^trail_events_in_total\{input="follow"\} 0$' "$WORK/metrics3"
stop_traild TERM

# a crash between a commit and the offset's write, made by hand: the offset
# goes back to the start of the current file, whose lines are all stored
read -r magic dev ino off <"$WORK/store/follow/pas.offset"
echo "$magic $dev $ino 0" >"$WORK/store/follow/pas.offset"
: >"$WORK/traild4.log"
start_traild "$CONF" "$WORK/traild4.log" || exit 1
check_grep "offset behind the store: the stored lines are recognised" \
    "follow pas: 2 lines after the saved offset 0 were stored already .*going on at $off" "$WORK/traild4.log"
line f12 >>"$F"
check "offset behind the store: the next line is read" stored 1
stop_traild TERM

store_dump "$WORK/store" >"$WORK/dump.ndjson"
got=$(grep -o '"duser":"f[0-9]*"' "$WORK/dump.ndjson" | cut -d'"' -f4 | tr '\n' ' ')
check_eq "store: every line exactly once, in order" "$got" "f01 f02 f03 f04 f05 f06 f07 f08 f09 f10 f11 f12 "
check_grep "store: the time from the event.log line" '"time":"2026-11-24T07:59:58.150000Z"' "$WORK/dump.ndjson"
finish
