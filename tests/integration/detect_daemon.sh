#!/usr/bin/env bash
# detect_daemon.sh - traild evaluates [detect] rules on what it stores: an
# attack raises one trail_alert record (rule, group, count, window, seqs),
# near misses raise none; a kill -9 in the middle of a window neither loses
# the alert (the window is rebuilt from the store) nor, when the cursor is
# behind an alert already stored, stores it twice (the same uuid); SIGHUP
# reads the rules again; a storm under a grace is one alert and one summary
# that updates it, also when the record that ends the grace is one that no
# rule selects (traild evaluates those from the record's head, undecoded);
# the thread runs 10 nice values below traild; GET /v1/rules and the
# detection metrics (records decoded fewer than evaluated); `trail rules test
# --store` beside traild finds the same firings; `traild -t` checks the rules.
# One traild at a time, restarted on the same store.
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
check_grep "the rules are loaded" "detect: 21 rules from $WORK/rules" "$WORK/traild1.log"

# ---- an attack: ten failed sign-ins of alice in three minutes
check_eq "the attack is stored" "$(post "$TRAIL_SOURCE_DIR/rules/tests/password_guessing.fires.ndjson")" 200
check "an alert is stored" wait_for 30 has_alerts --where rule=password_guessing
alerts --where rule=password_guessing >"$WORK/alert.json"

# the attack's seqs: the ten records after traild's two lifecycle records; the
# severity: the level high is ERROR
for want in '"rule":"password_guessing"' '"rule_id":"6f0b5a8e-1d2c-4c3e-9b1a-7e5d0c9a1f02"' \
    '"title":"Password guessing on one account"' '"level":"high"' '"level_severity":7' \
    '"type":"value_count"' '"group":"duser=alice"' '"count":10' '"events":10' \
    '"window_start":"2026-11-24T08:00:00.000000Z"' '"window_end":"2026-11-24T08:03:00.000000Z"' \
    '"first_seqs":"3,4,5,6,7,8,9,10,11,12"' '"fired_seq":12' '"origin":"trail"' \
    '"severity":7,"severity_name":"ERROR"'; do
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
check "the new rule is loaded" wait_for 30 grep -q "detect: 22 rules loaded" "$WORK/traild3.log"
printf '{"id":"prism_user_locked","attrs":{"duser":"zed","phxTraceId":"#z"}}\n' >"$WORK/z.ndjson"
check_eq "zed is locked" "$(post "$WORK/z.ndjson")" 200
check "the new rule fires" wait_for 30 has_alerts --where rule=zed_locked
# ---- a storm under the pack's grace (15m): one alert, then one summary that updates it.
# Its times are a day ahead of this run's clock, past every record before (traild's own have
# the wall clock's time), so that a grace ends only when this test's last event comes.
t0=$(($(date -u +%s) + 86400))
for i in $(seq 0 34); do
    printf '{"id":"auth_entrypoints_oidc_auth_failed","time":"%s","attrs":{"duser":"stormy","src":"192.0.2.77","phxEntrypointId":"oidc1","phxEntrypointType":"OIDC","phxTraceId":"#s%d"}}\n' \
        "$(date -u -d "@$((t0 + i * 10))" +%Y-%m-%dT%H:%M:%SZ)" "$i"
done >"$WORK/storm.ndjson"
check_eq "a storm of 35 failures" "$(post "$WORK/storm.ndjson")" 200
seq=$(last_seq)
check "the detector evaluated it" wait_for 30 cursor_at_least "$seq"
check_eq "the storm: one alert (two more firings held back)" "$(n_alerts --where "group=duser=stormy")" 1
alerts --where "group=duser=stormy" >"$WORK/storm1.json"
check_grep "the alert says until when" '"grace_until":"' "$WORK/storm1.json"
first_uuid=$(sed -n 's/.*"uuid":"\([0-9a-f-]*\)".*/\1/p' "$WORK/storm1.json")
printf '{"id":"auth_entrypoints_oidc_auth_failed","time":"%s","attrs":{"duser":"calm","src":"192.0.2.78","phxEntrypointId":"oidc1","phxEntrypointType":"OIDC","phxTraceId":"#c"}}\n' \
    "$(date -u -d "@$((t0 + 3600))" +%Y-%m-%dT%H:%M:%SZ)" >"$WORK/later.ndjson"
check_eq "an event past the grace" "$(post "$WORK/later.ndjson")" 200
# counted anew at each try (a $(...) in wait_for's arguments would be read once)
stormy_alerts_at_least() { test "$(n_alerts --where "group=duser=stormy")" -ge "$1"; }
check "the summary comes" wait_for 30 stormy_alerts_at_least 2
alerts --where "group=duser=stormy" | tail -n 1 >"$WORK/storm2.json"
check_grep "the summary updates the first alert" "\"updates\":\"$first_uuid\"" "$WORK/storm2.json"
check_grep "the summary counts the firings held back" '"count":2,' "$WORK/storm2.json"
# ---- a grace that ends on a record that no rule selects: that record is decoded and
# fed (detect_engine_skim), and the summary cites it as the record that fired it
for i in $(seq 0 34); do
    printf '{"id":"auth_entrypoints_oidc_auth_failed","time":"%s","attrs":{"duser":"gusty","src":"192.0.2.79","phxEntrypointId":"oidc1","phxEntrypointType":"OIDC","phxTraceId":"#g%d"}}\n' \
        "$(date -u -d "@$((t0 + 7200 + i * 10))" +%Y-%m-%dT%H:%M:%SZ)" "$i"
done >"$WORK/storm_g.ndjson"
check_eq "a second storm" "$(post "$WORK/storm_g.ndjson")" 200
seq=$(last_seq)
check "the detector evaluated it" wait_for 30 cursor_at_least "$seq"
check_eq "the second storm: one alert" "$(n_alerts --where "group=duser=gusty")" 1
printf '{"id":"auth_authenticators_authselector_selected","time":"%s","attrs":{"selected":"otp1","phxTraceId":"#q"}}\n' \
    "$(date -u -d "@$((t0 + 7200 + 3600))" +%Y-%m-%dT%H:%M:%SZ)" >"$WORK/quiet.ndjson"
check_eq "a record of no rule's, past the grace" "$(post "$WORK/quiet.ndjson")" 200
# by its id: the summary may be stored before a "last record" could be asked for
quiet_seq=$("$TRAIL" query --url "$URL" --event auth_authenticators_authselector_selected \
    --format ndjson | sed -n 's/.*"seq":\([0-9]*\).*/\1/p')
gusty_alerts_at_least() { test "$(n_alerts --where "group=duser=gusty")" -ge "$1"; }
check "the summary comes on it" wait_for 30 gusty_alerts_at_least 2
alerts --where "group=duser=gusty" | tail -n 1 >"$WORK/storm_g2.json"
check_grep "the summary was fired by that record" "\"fired_seq\":$quiet_seq," "$WORK/storm_g2.json"
check_grep "the summary counts the firings held back" '"count":2,' "$WORK/storm_g2.json"

# ---- GET /v1/rules (read role) and the detector's metrics
curl -s "$URL/v1/rules" >"$WORK/rules.json"
check_grep "GET /v1/rules: enabled" '^\{"enabled":true,' "$WORK/rules.json"
check_grep "GET /v1/rules: a rule with its grace" '"name":"password_guessing".*"grace_s":900' "$WORK/rules.json"
check_grep "GET /v1/rules: a file's text" '"path":"[^"]*/rules/password_guessing.yml","text":"#' "$WORK/rules.json"
check_grep "GET /v1/rules: alerts per rule" '"alerts":\{.*"6f0b5a8e-1d2c-4c3e-9b1a-7e5d0c9a1f02":\{"count":' "$WORK/rules.json"
curl -s "$URL/metrics" >"$WORK/metrics.txt"
check_grep "metrics: rules loaded" '^trail_detect_rules\{state="loaded"\} 22$' "$WORK/metrics.txt"
check_grep "metrics: events evaluated" '^trail_detect_events_evaluated_total [1-9]' "$WORK/metrics.txt"
check_grep "metrics: alerts by rule" '^trail_detect_alerts_total\{rule="zed_locked"\} 1$' "$WORK/metrics.txt"
check_grep "metrics: the cursor's lag" '^trail_detect_lag_events [0-9]+$' "$WORK/metrics.txt"
# traild's own records (started, ...) and the quiet record's kind meet no rule: evaluated
# from their head, not decoded
evaluated=$(awk '$1 == "trail_detect_events_evaluated_total" { print $2 }' "$WORK/metrics.txt")
decoded=$(awk '$1 == "trail_detect_events_decoded_total" { print $2 }' "$WORK/metrics.txt")
check "metrics: records decoded ($decoded) fewer than evaluated ($evaluated)" \
    test -n "$decoded" -a "${decoded:-0}" -gt 0 -a "${decoded:-0}" -lt "${evaluated:-0}"
# the thread's nice value (field 19 of its stat) 10 above traild's main thread's, at most 19
nice_of() { sed 's/.*) //' "$1/stat" | awk '{ print $17 }'; }
main_nice=$(nice_of "/proc/$TRAILD_PID/task/$TRAILD_PID")
detect_nice=
for t in /proc/"$TRAILD_PID"/task/*; do
    [ "$(cat "$t/comm" 2>/dev/null)" = traild-detect ] && detect_nice=$(nice_of "$t")
done
want_nice=$((main_nice + 10 > 19 ? 19 : main_nice + 10))
check_eq "the rules' thread runs nicer than ingest" "$detect_nice" "$want_nice"

# ---- live evaluation and the backtest agree: the same firings (rule and seq) over the store
pairs() { # pairs ATTRS_KEY SEQ_KEY: "rule seq" of each JSON line on standard input, sorted
    python3 -c 'import json, sys
for line in sys.stdin:
    o = json.loads(line)
    a = o.get(sys.argv[1], o)
    print(a["rule"], (a if sys.argv[2] in a else o)[sys.argv[2]])' "$1" "$2" | sort
}
alerts | pairs attrs fired_seq >"$WORK/live.txt"
"$TRAIL" rules test "$WORK/rules" --store "$WORK/store" --format json 2>/dev/null |
    pairs - seq >"$WORK/backtest.txt"
check_eq "there are alerts to compare (alice, mallory, zed, two storms and their summaries)" "$(grep -c . "$WORK/live.txt")" 7
check_eq "the backtest beside traild, read-only: the live alerts" "$(cat "$WORK/backtest.txt")" "$(cat "$WORK/live.txt")"

stop_traild TERM
check_eq "traild stops cleanly" "$STOP_STATUS" 0

# ---- traild -t reads the rules as a start does
"$TRAILD" -t -c "$CONF" >"$WORK/t_ok.out" 2>&1
check_eq "traild -t: good rules" "$?" 0
printf 'title: broken\nlogsource: {product: trail}\ndetection:\n  s: {id: x}\n  condition: s or t\n' >"$WORK/rules/broken.yml"
"$TRAILD" -t -c "$CONF" >"$WORK/t_bad.out" 2>&1
check_eq "traild -t: a rule with an error fails the check" "$?" 2
check_grep "traild -t: the error with file:line:column" "^traild: detect: $WORK/rules/broken.yml:5:19: error: condition: 't' is not a selection" "$WORK/t_bad.out"
rm "$WORK/rules/broken.yml"
sed -i "s#^rules = .*#rules = $WORK/norules#" "$CONF"
"$TRAILD" -t -c "$CONF" >"$WORK/t_missing.out" 2>&1
check_eq "traild -t: a missing rules directory" "$?" 2
check_grep "traild -t: says so" "^traild: \[detect\] rules $WORK/norules: No such file or directory$" "$WORK/t_missing.out"
start_traild "$CONF" "$WORK/traild4.log" >/dev/null
check_grep "a start fails with the same reason" "\[detect\] rules $WORK/norules: No such file or directory" "$WORK/traild4.log"
finish
