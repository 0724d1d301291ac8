#!/usr/bin/env bash
# report_schedule.sh - traild's report scheduler on a clock the test moves:
# traild runs under libfaketime reading its offset from a file
# (FAKETIME_TIMESTAMP_FILE, re-read at every call; CLOCK_MONOTONIC stays
# real), and the test jumps it to a few seconds before each run. A report
# "daily 06:00 Europe/Stockholm" over the previous day runs at 05:00Z in
# winter and 04:00Z once the clocks went forward (Sunday 28 March 2027),
# and its previous day is the local one (23 hours long that Sunday); a run
# missed while traild was down is made up once at the next start, not again
# after another restart; the next run after the clocks went back (31
# October) is at 05:00Z again. Every run is a trail_report_run record whose
# SHA-256s are those of the files delivered, and `trail report check`
# holds each file to its record.
source "$(dirname "$0")/daemon_common.bash"
TRAIL="$TRAIL_BIN/trail"
[ -r "$FAKETIME_LIB" ] || skip_test "libfaketime is missing (scripts/install-deps.sh test installs it)"
[ -r /usr/share/zoneinfo/Europe/Stockholm ] || skip_test "tzdata is missing"
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
CONF=$WORK/traild.conf
CLOCK=$WORK/clock

# jump TIME: traild's clock reads TIME from now on (and runs on from there)
jump() {
    local off=$(($(date -u -d "$1" +%s) - $(date -u +%s)))
    [ "$off" -ge 0 ] && off=+$off
    echo "$off" >"$CLOCK.tmp" && mv "$CLOCK.tmp" "$CLOCK"
}
start() { # start LOG: traild alone on the moved clock (not start_traild's own greps:
    # libfaketime after the sanitizer's runtime hangs a plain grep)
    TRAILD_ENV="LD_PRELOAD=$(faketime_preload "$TRAIL_BIN/traild" MT) FAKETIME_TIMESTAMP_FILE=$CLOCK \
FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1" start_traild "$CONF" "$1"
}
post() { # post N: N sign-ins, stamped by traild at its clock's now
    for i in $(seq "$1"); do
        printf '{"id":"auth_logout_local","attrs":{"duser":"u%s","phxTraceId":"#t%s"}}\n' "$i" "$i"
    done | curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/x-ndjson' \
        --data-binary @- "$URL/v1/events"
}
runs() {
    "$TRAIL" query --url "$URL" --event trail_report_run --order oldest --format ndjson 2>/dev/null
}
runs_at_least() { [ "$(runs | wc -l)" -ge "$1" ]; }
# the runs as "REPORT_NOW SINCE UNTIL TOTAL MADE_UP STATUS" lines
summary() {
    runs | python3 -c '
import json, sys, os
for l in sys.stdin:
    a = json.loads(l)["attrs"]
    files = dict(reversed(x.split(" ")) for x in a["files"].splitlines())
    j = [n for n in files.values() if n.endswith(".json")][0]
    total = json.load(open(os.path.join(sys.argv[1], j)))["sections"][0]["total"]
    print(a["report_now"], a["since"], a["until"], total, a["made_up"], a["status"])' "$WORK/out"
}

cat >"$CONF" <<EOF
[store]
path = $WORK/store
[listen]
http = 127.0.0.1:$PORT
syslog_udp = off
syslog_tcp = off
[reports]
dir = $WORK/none
[report daily]
title = Logouts of the day before
range = previous day
schedule = daily 06:00 Europe/Stockholm
formats = html, csv, json
deliver = dir:$WORK/out
count = Logouts
event = auth_logout_local
EOF
mkdir -p "$WORK/none"
jump 2027-03-26T12:00:00Z
start "$WORK/traild1.log" || exit 1
check_eq "events in on Friday" "$(post 4)" 200
jump 2027-03-27T04:59:57Z # Saturday 05:59:57 CET
check "the Saturday run" wait_for 60 runs_at_least 1
jump 2027-03-27T12:00:00Z
check_eq "events in on Saturday" "$(post 3)" 200
jump 2027-03-28T03:59:57Z # Sunday 05:59:57 CEST: the clocks went forward at 01:00Z
check "the Sunday run" wait_for 60 runs_at_least 2
jump 2027-03-28T12:00:00Z
check_eq "events in on Sunday" "$(post 2)" 200
jump 2027-03-29T03:59:57Z
check "the Monday run" wait_for 60 runs_at_least 3
stop_traild

# down over seven months; the clocks went back on 31 October
jump 2027-11-02T12:00:00Z
start "$WORK/traild2.log" || exit 1
check "the missed run is made up at the start" wait_for 60 runs_at_least 4
stop_traild
start "$WORK/traild3.log" || exit 1
jump 2027-11-03T04:59:57Z # Wednesday 05:59:57 CET
check "the next run after the autumn change" wait_for 60 runs_at_least 5
check_eq "runs at 06:00 Stockholm, over the local day before, the missed one once" "$(summary)" \
    "2027-03-27T05:00:00.000000Z 2027-03-25T23:00:00.000000Z 2027-03-26T23:00:00.000000Z 4 False delivered
2027-03-28T04:00:00.000000Z 2027-03-26T23:00:00.000000Z 2027-03-27T23:00:00.000000Z 3 False delivered
2027-03-29T04:00:00.000000Z 2027-03-27T23:00:00.000000Z 2027-03-28T22:00:00.000000Z 2 False delivered
2027-11-02T05:00:00.000000Z 2027-10-31T23:00:00.000000Z 2027-11-01T23:00:00.000000Z 0 True delivered
2027-11-03T05:00:00.000000Z 2027-11-01T23:00:00.000000Z 2027-11-02T23:00:00.000000Z 0 False delivered"

# the files delivered are those the records hash
check_eq "15 files delivered" "$(ls "$WORK/out" | wc -l)" 15
check_eq "every file's SHA-256 is in its run's record" "$(runs | python3 -c '
import json, sys, hashlib, os
bad = 0
for l in sys.stdin:
    for f in json.loads(l)["attrs"]["files"].splitlines():
        name, sha = f.split(" ")
        bad += hashlib.sha256(open(os.path.join(sys.argv[1], name), "rb").read()).hexdigest() != sha
print(bad)' "$WORK/out")" 0
check_grep "a record holds the tree size it covered" '"tree_size":[1-9]' <(runs | head -1)
stop_traild

# trail report check: a filed report against its run record, and a changed copy
f=$WORK/out/daily-20270328T040000Z.html
"$TRAIL" report check "$f" --store "$WORK/store" >"$WORK/check.out"
check_eq "report check: a filed report matches" "$?" 0
check_grep "... naming its run" "daily.*2027-03-28T04:00:00" "$WORK/check.out"
sed 's/Logouts/Logins/' "$f" >"$WORK/changed.html"
"$TRAIL" report check "$WORK/changed.html" --store "$WORK/store" >"$WORK/check2.out" 2>&1
check_eq "report check: a changed copy does not" "$?" 1
finish
