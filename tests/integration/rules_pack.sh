#!/usr/bin/env bash
# rules_pack.sh - trail's rule pack (rules/) and `trail rules`: the pack
# checks clean under --strict; each rule fires on its attack set
# (rules/tests/NAME.fires.ndjson) and the whole pack stays quiet on its near
# misses (NAME.quiet.ndjson); `trail rules check` reports errors with
# file:line:column, warns on fields the catalog never carries, reads rules of
# another product as not applicable, and exits as its help says.
source "$(dirname "$0")/daemon_common.bash"
TRAIL="$TRAIL_BIN/trail"
RULES="$TRAIL_SOURCE_DIR/rules"

"$TRAIL" rules check --strict "$RULES" >"$WORK/check.out" 2>&1
check_eq "the pack checks clean under --strict" "$?" 0
check_grep "the pack's summary" "^21 rules \(10 correlations, 0 not applicable\), 0 errors, 0 warnings$" "$WORK/check.out"

cat >"$WORK/warn.yml" <<'YML'
title: unknown field
logsource: {product: trail}
detection:
  s:
    id: prism_user_locked
    usernme: alice
  condition: s
YML

# set name -> the rule (its name:) that the attack set must fire
for pair in password_guessing:password_guessing password_spraying:password_spraying \
    lockout_storm:lockout_storm mfa_push_fatigue:mfa_push_fatigue config_changes:config_change \
    alert_emergency:alert_or_emergency expiry_warnings:expiry_warning \
    rejected_burst:rejected_burst signin_after_failures:signin_after_failures \
    token_new_source:token_new_source; do
    set_name=${pair%%:*}
    rule=${pair#*:}
    "$TRAIL" rules test "$RULES" --events "$RULES/tests/$set_name.fires.ndjson" --format json \
        >"$WORK/$set_name.fires.out" 2>"$WORK/$set_name.fires.err"
    check_eq "$set_name: runs" "$?" 0
    check_grep "$set_name: the attack fires $rule" "\"rule\":\"$rule\"" "$WORK/$set_name.fires.out"
    "$TRAIL" rules test "$RULES" --events "$RULES/tests/$set_name.quiet.ndjson" --format json \
        >"$WORK/$set_name.quiet.out" 2>&1
    check_eq "$set_name: the near misses fire nothing" "$(cat "$WORK/$set_name.quiet.out")" ""
done

# what the guessing alert says: group, count, window and the ten seqs
"$TRAIL" rules test "$RULES" --events "$RULES/tests/password_guessing.fires.ndjson" >"$WORK/guess.txt"
check_eq "the guessing alert in text" "$(cat "$WORK/guess.txt")" \
    "2026-11-24T08:03:00.000000Z high Password guessing on one account duser=alice count=10 window=2026-11-24T08:00:00.000000Z/2026-11-24T08:03:00.000000Z grace_until=2026-11-24T08:18:00.000000Z seqs=1,2,3,4,5,6,7,8,9,10"

# a storm under the pack's grace: 35 failures of alice, 10 s apart, fire at the 10th, 20th
# and 30th; the first alerts (grace_until: its time + 15m), the two others are held back and
# summed up in one summary when the input ends (traild: when time passes the grace)
for i in $(seq 0 34); do
    printf '{"id":"auth_entrypoints_oidc_auth_failed","time":"2026-11-24T09:%02d:%02dZ","attrs":{"duser":"alice","src":"192.0.2.10","phxEntrypointId":"oidc1","phxEntrypointType":"OIDC","phxTraceId":"#s%d"}}\n' \
        $((i * 10 / 60)) $((i * 10 % 60)) "$i"
done >"$WORK/storm.ndjson"
"$TRAIL" rules test "$RULES" --events "$WORK/storm.ndjson" >"$WORK/storm.txt"
check_eq "a storm: one alert and one summary" "$(cat "$WORK/storm.txt")" \
    "2026-11-24T09:01:30.000000Z high Password guessing on one account duser=alice count=10 window=2026-11-24T09:00:00.000000Z/2026-11-24T09:01:30.000000Z grace_until=2026-11-24T09:16:30.000000Z seqs=1,2,3,4,5,6,7,8,9,10
2026-11-24T09:05:40.000000Z high Password guessing on one account duser=alice held=2 window=2026-11-24T09:03:10.000000Z/2026-11-24T09:04:50.000000Z updates=10 seqs=20,30"
"$TRAIL" rules test "$RULES" --events "$WORK/storm.ndjson" --format json >"$WORK/storm.json"
check_grep "the summary in JSON" '"summary":true,"updates_seq":10,"events":2,"first_seqs":\[20,30\]' "$WORK/storm.json"
# without the grace, the same storm is three alerts
sed '/^grace:/d' "$RULES/password_guessing.yml" >"$WORK/guess_nograce.yml"
"$TRAIL" rules test "$RULES/failed_signin.yml" "$WORK/guess_nograce.yml" --events "$WORK/storm.ndjson" >"$WORK/storm0.txt"
check_eq "without a grace: three alerts" "$(grep -c . "$WORK/storm0.txt")" 3

# test: the rules' warnings go to standard error, never among the alerts
"$TRAIL" rules test "$RULES" "$WORK/warn.yml" --events "$RULES/tests/password_guessing.fires.ndjson" \
    >"$WORK/warned.out" 2>"$WORK/warned.err"
check_eq "test with a warning: the alerts alone on standard output" "$(cut -d' ' -f2-3 "$WORK/warned.out")" "high Password"
check_grep "test with a warning: the warning on standard error" "warning: rule 'unknown field'" "$WORK/warned.err"

# errors: file, line, column; neighbours kept; exit 1
cat >"$WORK/bad.yml" <<'YML'
title: good
logsource: {product: trail}
detection:
  s: {id: prism_user_locked}
  condition: s
---
title: bad
logsource: {product: trail}
detection:
  s:
    duser|contains: x
  condition: s and t
YML
"$TRAIL" rules check "$WORK/bad.yml" >"$WORK/bad.out" 2>&1
check_eq "a rule with an error: exit 1" "$?" 1
check_grep "the error names file:line:column" "^$WORK/bad.yml:12:20: error: condition: 't' is not a selection of this rule$" "$WORK/bad.out"
check_grep "its neighbour is read" "^$WORK/bad.yml: 1 rule$" "$WORK/bad.out"

cat >"$WORK/broken.yml" <<'YML'
title: broken
detection: [unclosed
YML
"$TRAIL" rules check "$WORK/broken.yml" >"$WORK/broken.out" 2>&1
check_eq "broken YAML: exit 1" "$?" 1
check_grep "broken YAML: where libyaml stopped" "^$WORK/broken.yml:3:1: error: YAML: " "$WORK/broken.out"

# warnings: exit 0, or 1 under --strict
"$TRAIL" rules check "$WORK/warn.yml" >"$WORK/warn.out" 2>&1
check_eq "a warning alone: exit 0" "$?" 0
check_grep "the warning names the field" "^$WORK/warn.yml:6:5: warning: rule 'unknown field': no event of the catalog carries the attribute 'usernme'$" "$WORK/warn.out"
"$TRAIL" rules check --strict "$WORK/warn.yml" >/dev/null 2>&1
check_eq "a warning under --strict: exit 1" "$?" 1

# another product: read, not applicable, no error and no warning about its fields
cat >"$WORK/win.yml" <<'YML'
title: Windows logon failure
logsource: {product: windows, service: security}
detection:
  s: {EventID: 4625, TargetUserName|endswith: '$'}
  condition: s
YML
"$TRAIL" rules check --strict "$WORK/win.yml" >"$WORK/win.out" 2>&1
check_eq "another product: exit 0" "$?" 0
check_grep "another product: not applicable" "^$WORK/win.yml: 1 rule, 1 not applicable" "$WORK/win.out"

# bad usage: exit 2
"$TRAIL" rules check >/dev/null 2>&1
check_eq "no file: exit 2" "$?" 2
"$TRAIL" rules check "$WORK/nonexistent.yml" >/dev/null 2>&1
check_eq "a missing file: exit 2" "$?" 2
"$TRAIL" rules check --bogus "$RULES" >/dev/null 2>&1
check_eq "an unknown option: exit 2" "$?" 2
"$TRAIL" rules test "$RULES" >/dev/null 2>&1
check_eq "test without --events: exit 2" "$?" 2
"$TRAIL" rules test "$RULES" --events "$WORK/storm.ndjson" --store "$WORK" >/dev/null 2>&1
check_eq "test with --events and --store: exit 2" "$?" 2
"$TRAIL" rules test "$RULES" --events "$WORK/storm.ndjson" --since 1h >/dev/null 2>&1
check_eq "test --since without --store: exit 2" "$?" 2
"$TRAIL" rules test "$RULES" --store "$WORK/nostore" >/dev/null 2>"$WORK/nostore.err"
check_eq "test --store without a store: exit 2" "$?" 2
"$TRAIL" rules test "$RULES" --store "$WORK" --since yesterday >/dev/null 2>"$WORK/since.err"
check_eq "test --since with a bad time: exit 2" "$?" 2
check_grep "the bad time is named" "since needs a time" "$WORK/since.err"

# test --store: the rules over a store's records; --since/--until keep a time range
"$TRAIL" import --store "$WORK/store" "$RULES/tests/password_guessing.fires.ndjson" >/dev/null 2>&1
"$TRAIL" import --store "$WORK/store" "$WORK/storm.ndjson" >/dev/null 2>&1
"$TRAIL" rules test "$RULES" --store "$WORK/store" --format json >"$WORK/bt.json"
check_eq "backtest: the attack and the storm (alert, summary)" "$(grep -o '"rule":"[a-z_]*"' "$WORK/bt.json" | tr '\n' ' ')" \
    '"rule":"password_guessing" "rule":"password_guessing" "rule":"password_guessing" '
"$TRAIL" rules test "$RULES" --store "$WORK/store" --since 2026-11-24T08:30:00Z >"$WORK/bt2.txt"
check_eq "backtest --since: the storm only" "$(grep -c . "$WORK/bt2.txt")" 2
"$TRAIL" rules test "$RULES" --store "$WORK/store" --until 2026-11-24T08:30:00Z >"$WORK/bt3.txt"
check_eq "backtest --until: the attack only" "$(cut -d' ' -f1 "$WORK/bt3.txt")" "2026-11-24T08:03:00.000000Z"
"$TRAIL" rules test "$WORK/bad.yml" --events "$RULES/tests/password_guessing.fires.ndjson" >/dev/null 2>&1
check_eq "test with a rule in error: exit 2" "$?" 2
printf '{"id":"prism_user_locked","attrs":{}}\nnot json\n' >"$WORK/ev.ndjson"
"$TRAIL" rules test "$RULES" --events "$WORK/ev.ndjson" >/dev/null 2>"$WORK/ev.err"
check_eq "test with an unreadable event line: exit 1" "$?" 1
check_grep "the line is named" "ev.ndjson line 2: " "$WORK/ev.err"

finish
