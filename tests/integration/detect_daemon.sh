#!/usr/bin/env bash
# detect_daemon.sh - traild evaluates [detect] rules on what it stores: an
# attack raises one trail_alert record (rule, group, count, window, seqs),
# near misses raise none; a kill -9 in the middle of a window neither loses
# the alert (the window is rebuilt from the store) nor, when the cursor is
# behind an alert already stored, stores it twice (the same uuid); SIGHUP
# reads the rules again. One traild at a time, restarted on the same store.
source "$(dirname "$0")/daemon_common.bash"
TRAIL="$TRAIL_BIN/trail"
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
mkdir -p "$WORK/rules"
cp "$TRAIL_SOURCE_DIR"/rules/*.yml "$WORK/rules/"
CONF=$WORK/trail.conf
{
    base_conf "$WORK" | sed "s#^http = off#http = 127.0.0.1:$PORT#"
    printf '[detect]\nrules = %s\n' "$WORK/rules"
} >"$CONF"

post() { # post FILE: NDJSON events to traild
    curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/x-ndjson' \
        --data-binary @"$1" "$URL/v1/events"
}
alerts() { # alerts [FILTER...]: trail_alert records as NDJSON
    "$TRAIL" query --url "$URL" --event trail_alert --order oldest --format ndjson "$@"
}
n_alerts() { alerts "$@" | grep -c . ; }
last_seq() {
    "$TRAIL" query --url "$URL" --order newest --limit 1 --format ndjson 2>/dev/null |
        sed -n 's/.*"seq":\([0-9]*\).*/\1/p'
}
cursor_at_least() { # the detector's cursor has evaluated seq $1
    local c
    c=$(sed -n 's/^seq //p' "$WORK/store/detect.cursor" 2>/dev/null)
    [ -n "$c" ] && [ "$c" -ge "$1" ]
}
has_alerts() { [ "$(n_alerts "$@")" -ge 1 ]; }

start_traild "$CONF" "$WORK/traild1.log" || exit 1
check_grep "the rules are loaded" "detect: 14 rules from $WORK/rules" "$WORK/traild1.log"

# ---- an attack: ten failed sign-ins of alice in three minutes
check_eq "the attack is stored" "$(post "$TRAIL_SOURCE_DIR/rules/tests/password_guessing.fires.ndjson")" 200
check "an alert is stored" wait_for 30 has_alerts --where rule=password_guessing
alerts --where rule=password_guessing >"$WORK/alert.json"

# the attack's seqs: the ten records after traild's two lifecycle records
for want in '"rule":"password_guessing"' '"rule_id":"6f0b5a8e-1d2c-4c3e-9b1a-7e5d0c9a1f02"' \
    '"title":"Password guessing on one account"' '"level":"high"' '"level_severity":7' \
    '"type":"event_count"' '"group":"duser=alice"' '"count":10' '"events":10' \
    '"window_start":"2026-11-24T08:00:00.000000Z"' '"window_end":"2026-11-24T08:03:00.000000Z"' \
    '"first_seqs":"3,4,5,6,7,8,9,10,11,12"' '"fired_seq":12' '"origin":"trail"'; do
    check_grep "the alert carries $want" "$want" "$WORK/alert.json"
done

# ---- near misses: nothing more
check_eq "the near misses are stored" "$(post "$TRAIL_SOURCE_DIR/rules/tests/password_guessing.quiet.ndjson")" 200
seq=$(last_seq)
check "the detector evaluated them" wait_for 30 cursor_at_least "$seq"
check_eq "they raise no alert" "$(n_alerts)" 1

# ---- kill -9 in the middle of a window: five failures of mallory, then five more
gen() { # gen USER FROM COUNT: failed sign-ins at 10:00:00 + 10 s apart
    for i in $(seq "$2" $(($2 + $3 - 1))); do
        printf '{"id":"auth_entrypoints_saml_auth_failed","time":"2026-11-24T10:%02d:%02dZ","attrs":{"duser":"%s","src":"192.0.2.66","phxEntrypointId":"saml1","phxEntrypointType":"SAML","phxTraceId":"#m%d"}}\n' \
            $((i * 10 / 60)) $((i * 10 % 60)) "$1" "$i"
    done
}
gen mallory 0 5 >"$WORK/m1.ndjson"
gen mallory 5 5 >"$WORK/m2.ndjson"
check_eq "five failures of mallory" "$(post "$WORK/m1.ndjson")" 200
seq=$(last_seq)
check "the detector evaluated them" wait_for 30 cursor_at_least "$seq"
stop_traild KILL
start_traild "$CONF" "$WORK/traild2.log" || exit 1
check_grep "the windows are rebuilt from the store" "detect: windows rebuilt from [0-9]+ records" "$WORK/traild2.log"
check_eq "five more after the restart" "$(post "$WORK/m2.ndjson")" 200
check "the alert of the whole window comes" wait_for 30 has_alerts --where "group=duser=mallory"
seq=$(last_seq)
check "the detector evaluated everything" wait_for 30 cursor_at_least "$seq"
check_eq "exactly one alert for mallory" "$(n_alerts --where "group=duser=mallory")" 1
check_grep "with all ten failures" '"count":10' <(alerts --where "group=duser=mallory")

# ---- a cursor behind alerts already stored (a crash between the two): no second copy
stop_traild KILL
sed -i 's/^seq .*/seq 1/' "$WORK/store/detect.cursor"
start_traild "$CONF" "$WORK/traild3.log" || exit 1
seq=$(last_seq)
check "the detector evaluated everything again" wait_for 60 cursor_at_least "$seq"
check_eq "still one alert for alice" "$(n_alerts --where "group=duser=alice")" 1
check_eq "still one alert for mallory" "$(n_alerts --where "group=duser=mallory")" 1

# ---- SIGHUP reads the rules again
cat >"$WORK/rules/zed.yml" <<'YML'
title: Zed locked
name: zed_locked
logsource: {product: trail}
detection:
  s: {id: prism_user_locked, duser: zed}
  condition: s
level: low
YML
kill -HUP "$TRAILD_PID"
check "the new rule is loaded" wait_for 30 grep -q "detect: 15 rules loaded" "$WORK/traild3.log"
printf '{"id":"prism_user_locked","attrs":{"duser":"zed","phxTraceId":"#z"}}\n' >"$WORK/z.ndjson"
check_eq "zed is locked" "$(post "$WORK/z.ndjson")" 200
check "the new rule fires" wait_for 30 has_alerts --where rule=zed_locked
stop_traild TERM
check_eq "traild stops cleanly" "$STOP_STATUS" 0
finish
