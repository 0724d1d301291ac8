#!/usr/bin/env bash
# loadgen_attacks.sh - `trail loadgen --attack`: known attacks at known times,
# the same on every run, added to normal traffic that stays the same event
# for event; sent into a traild with trail's rule pack, each attack raises the
# alert of its rule (at the severity its level maps to), and the same traffic
# without --attack raises no alert of the pack at all. One traild; times are pinned by
# --start, so the test is the same on any date.
source "$(dirname "$0")/daemon_common.bash"
TRAIL="$TRAIL_BIN/trail"

"$TRAIL" loadgen --attack guess,bogus >/dev/null 2>"$WORK/bad.err"
check_eq "an unknown attack: exit 2" "$?" 2
check_grep "the unknown attack is named" "'bogus' is not an attack" "$WORK/bad.err"

# the same options, the same events; the normal ones as without --attack
"$TRAIL" loadgen -n 3000 --attack all >"$WORK/a1.ndjson"
"$TRAIL" loadgen -n 3000 --attack all >"$WORK/a2.ndjson"
check "two runs with attacks are the same" cmp -s "$WORK/a1.ndjson" "$WORK/a2.ndjson"
"$TRAIL" loadgen -n 3000 >"$WORK/q.ndjson"
# every line of the attacked run is either the quiet run's next line, in order,
# or an attack's (from 2001:db8:ffff::N, or the token attack's enrolment)
python3 - "$WORK/q.ndjson" "$WORK/a1.ndjson" >"$WORK/diff.out" <<'PY'
import json, sys
quiet = open(sys.argv[1]).read().splitlines()
i = 0
extra = []
for line in open(sys.argv[2]).read().splitlines():
    if i < len(quiet) and line == quiet[i]:
        i += 1
        continue
    e = json.loads(line)
    src = e["attrs"].get("src", "")
    token = e["id"] in ("prism_token_enrolled", "prism_token_activated",
                        "pipes_token_validation_success")
    extra.append("attack" if src.startswith("2001:db8:ffff::") or token else "normal:" + line)
print(i, len(extra), sorted(set(extra)))
PY
# the attacks' events, as docs/rules.md describes them: guess 12 sign-ins of 2 events; spray
# 15 of 3; lockout 24 accounts of 3 failures (2 events each) and 2 lock events; fatigue 5
# pushes of 2; breakin 6 failures of 2 and a success of 3; token an enrolment, its activation
# and 2 uses. They are among the 3000 asked for, so the quiet run gives the rest.
attack_events=$((12 * 2 + 15 * 3 + 24 * (3 * 2 + 2) + 5 * 2 + 6 * 2 + 3 + 4))
check_eq "the attacks are $attack_events events beside the quiet run's first $((3000 - attack_events))" \
    "$(cat "$WORK/diff.out")" "$((3000 - attack_events)) $attack_events ['attack']"

# ---- into traild with the pack
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
mkdir -p "$WORK/rules"
cp "$TRAIL_SOURCE_DIR"/rules/*.yml "$WORK/rules/"
{
    base_conf "$WORK" | sed "s#^http = off#http = 127.0.0.1:$PORT#"
    printf '[detect]\nrules = %s\n' "$WORK/rules"
} >"$WORK/trail.conf"
start_traild "$WORK/trail.conf" "$WORK/traild.log" || exit 1

alerts() { "$TRAIL" query --url "$URL" --event trail_alert --order oldest --format ndjson "$@"; }
last_seq() {
    "$TRAIL" query --url "$URL" --order newest --limit 1 --format ndjson 2>/dev/null |
        sed -n 's/.*"seq":\([0-9]*\).*/\1/p'
}
cursor_at_least() {
    local c
    c=$(sed -n 's/^seq //p' "$WORK/store/detect.cursor" 2>/dev/null)
    [ -n "$c" ] && [ "$c" -ge "$1" ]
}
ATTACK_RULES=(password_guessing password_spraying lockout_storm mfa_push_fatigue
    signin_after_failures token_new_source)

# a day of normal traffic (a Sunday, as the attacked day: 3000 events cover the day): none of the attacks' rules fires
"$TRAIL" loadgen -n 3000 --start 2026-11-01T00:00:00Z --url "$URL" >"$WORK/quiet.out"
check_grep "the quiet day is accepted" "3000 accepted and durable, 0 rejected" "$WORK/quiet.out"
seq=$(last_seq)
check "the detector evaluated the quiet day" wait_for 60 cursor_at_least "$seq"
check_eq "quiet: no alert of the pack at all" "$(alerts | grep -c .)" 0

# a later day with every attack: each raises its rule's alert
"$TRAIL" loadgen -n 3000 --start 2026-11-08T00:00:00Z --attack all --url "$URL" >"$WORK/attack.out"
check_grep "the attacked day is accepted" "3000 accepted and durable, 0 rejected" "$WORK/attack.out"
seq=$(last_seq)
check "the detector evaluated the attacked day" wait_for 60 cursor_at_least "$seq"
for rule in "${ATTACK_RULES[@]}"; do
    alerts --where "rule=$rule" >"$WORK/$rule.json"
    check_eq "attacked: one $rule alert" "$(grep -c . "$WORK/$rule.json")" 1
done
# at known points: of six attacks in 3000 events, the first (guess) begins at the time of
# event 3000/7 = 428 (from 0), which is the quiet run's, and its first failure comes 15.2 to
# 16 s later; the spray's source is the attacker's address N=2
"$TRAIL" loadgen -n 3000 --start 2026-11-08T00:00:00Z >"$WORK/q8.ndjson"
check_eq "the guess began at its event" "$(python3 - "$WORK/q8.ndjson" "$WORK/password_guessing.json" <<'PY'
import datetime, json, sys
def t(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")
begin = t(json.loads(open(sys.argv[1]).read().splitlines()[428])["time"])
first = t(json.loads(open(sys.argv[2]).readline())["attrs"]["window_start"])
d = (first - begin).total_seconds()
print("ok" if 15.2 <= d < 16 else "%s is %s s after event 428 at %s" % (first, d, begin))
PY
)" ok
check_grep "the spray came from 2001:db8:ffff::2" '"group":"src=2001:db8:ffff::2"' "$WORK/password_spraying.json"
check_grep "the token used from the attacker's address" '"type":"temporal_ordered"' "$WORK/token_new_source.json"
# the alert's severity is its rule's level: high is ERROR, critical is CRITICAL
check_grep "a high rule's alert is an ERROR" '"severity":7,"severity_name":"ERROR"' "$WORK/password_guessing.json"
check_grep "a critical rule's alert is CRITICAL" '"severity":8,"severity_name":"CRITICAL"' "$WORK/mfa_push_fatigue.json"
check_eq "searching by severity finds the critical alert" \
    "$(alerts --severity CRITICAL | grep -o '"rule":"[a-z_]*"' | sort -u | tr '\n' ' ')" \
    '"rule":"mfa_push_fatigue" '
stop_traild
finish
