#!/usr/bin/env bash
# rules_backtest.sh - `trail rules test --store` reads most records by their
# head alone, as traild's detection thread does (detect_engine_feed_stored):
# over generated traffic with every attack, through the pack and 100
# generated rules (bench_detect's kinds: an id or a glob, a user prefix, an
# address range, every fourth a correlation; here two in eight with a grace
# of 2 minutes, so that graces end on records of all kinds), the backtest gives the same
# alerts, byte for byte, as with every record decoded (--no-skim), and as the
# same events exported and read back as NDJSON (--events: a decoder of its
# own); a grace still open at the end is summed up citing the store's last
# record also when no rule selects that record (only its head was read).
# BACKTEST_EVENTS sets the generated events (make test's sanitizer pass
# turns it down).
source "$(dirname "$0")/daemon_common.bash"
TRAIL="$TRAIL_BIN/trail"
RULES="$TRAIL_SOURCE_DIR/rules"
N=${BACKTEST_EVENTS:-100000}

# ---- 100 generated rules, as bench/bench_detect.c's add_generated() writes them
ids=('auth_entrypoints_*_auth_failed' prism_user_locked auth_entrypoints_oidc_auth_success
    'core_server_*' 'messagingapns_*' 'prism_user_*')
groups=(duser src host)
mkdir -p "$WORK/gen"
for i in $(seq 0 99); do
    [ "$i" -gt 0 ] && echo ---
    if [ $((i % 4)) -eq 3 ]; then
        if [ $((i % 8)) -eq 3 ]; then type=event_count extra=; else type=value_count extra=', field: duser'; fi
        if [ $((i % 8)) -eq 7 ]; then grace='grace: 2m\n'; else grace=; fi
        printf "title: gen %d\nname: gen%d\nlevel: medium\n${grace}correlation:\n  type: %s\n  rules: gen%d\n  group-by: [%s]\n  timespan: %dm\n  condition: {gte: %d%s}\n" \
            "$i" "$i" "$type" $((i - 1)) "${groups[i % 3]}" $((1 + i % 10)) $((5 + i % 20)) "$extra"
    else
        if [ $((i % 8)) -eq 0 ]; then grace='grace: 2m\n'; else grace=; fi
        printf "title: gen %d\nname: gen%d\nlevel: low\n${grace}logsource: {product: trail}\ndetection:\n  s:\n    id: '%s'\n  u:\n    duser|startswith: 'user%d'\n  n:\n    src|cidr: 10.%d.0.0/16\n  condition: s and (u or not n)\n" \
            "$i" "$i" "${ids[i % 6]}" $((i % 50)) $((i % 200))
    fi
done >"$WORK/gen/generated.yml"
"$TRAIL" rules check --quiet "$WORK/gen/generated.yml" >"$WORK/gen.check" 2>&1
check_eq "the generated rules read without an error" "$?" 0

# ---- generated traffic with every attack, in a store and as NDJSON
"$TRAIL" loadgen -n "$N" -s 17 --attack all >"$WORK/events.ndjson"
"$TRAIL" import --store "$WORK/store" "$WORK/events.ndjson" >"$WORK/import.out" 2>&1
check_eq "the events are stored" "$?" 0

bt() { "$TRAIL" rules test "$RULES" "$WORK/gen" --format json "$@"; }
bt --store "$WORK/store" >"$WORK/skim.json" 2>"$WORK/skim.err"
check_eq "the backtest runs" "$?" 0
bt --store "$WORK/store" --no-skim >"$WORK/full.json" 2>"$WORK/full.err"
check_eq "the backtest with every record decoded runs" "$?" 0
n=$(grep -c . "$WORK/full.json")
echo "alerts: $n; digest with skim $(sha256sum <"$WORK/skim.json" | cut -c1-16)," \
    "with every record decoded $(sha256sum <"$WORK/full.json" | cut -c1-16)"
check "alerts to compare (more than one per hundred events)" test "$n" -gt $((N / 100))
# what the comparison covers: the pack's rules and its correlations of every type fired, the
# graces held firings back (summaries), and the generated rules' correlations fired
for rule in password_guessing password_spraying lockout_storm mfa_push_fatigue \
    signin_after_failures token_new_source; do
    check_grep "the backtest has alerts of $rule" "\"rule\":\"$rule\"" "$WORK/full.json"
done
check_grep "the backtest has summaries of graces" '"summary":true' "$WORK/full.json"
check_grep "the backtest has generated value_count correlations" '"type":"value_count".*"rule":"gen|"rule":"gen[0-9]*".*"type":"value_count"' "$WORK/full.json"
check "the same alerts, byte for byte, with skim and with every record decoded" \
    cmp -s "$WORK/skim.json" "$WORK/full.json"
# the store's events read back through another decoder (JSON): the same alerts again
"$TRAIL" export --store "$WORK/store" >"$WORK/exported.ndjson"
bt --events "$WORK/exported.ndjson" >"$WORK/events.json" 2>"$WORK/events.err"
check "the same alerts over the store's events exported as NDJSON" \
    cmp -s "$WORK/events.json" "$WORK/full.json"

# ---- a grace open at the end, and the store's last record one that no rule selects: the
# summary cites it in both ways (the skimming backtest decodes it again at the end)
for i in $(seq 0 34); do
    printf '{"id":"auth_entrypoints_oidc_auth_failed","time":"2026-11-24T09:%02d:%02dZ","attrs":{"duser":"alice","src":"192.0.2.10","phxEntrypointId":"oidc1","phxEntrypointType":"OIDC","phxTraceId":"#s%d"}}\n' \
        $((i * 10 / 60)) $((i * 10 % 60)) "$i"
done >"$WORK/storm.ndjson"
printf '{"id":"auth_authenticators_authselector_selected","time":"2026-11-24T09:06:00Z","attrs":{"selected":"otp1","phxTraceId":"#q"}}\n' >>"$WORK/storm.ndjson"
"$TRAIL" import --store "$WORK/storm" "$WORK/storm.ndjson" >/dev/null 2>&1
"$TRAIL" rules test "$RULES" --store "$WORK/storm" >"$WORK/storm_skim.txt"
"$TRAIL" rules test "$RULES" --store "$WORK/storm" --no-skim >"$WORK/storm_full.txt"
check_eq "the storm: an alert, and a summary at the end fired by the last record (09:06)" \
    "$(cat "$WORK/storm_full.txt")" \
    "2026-11-24T09:01:30.000000Z high Password guessing on one account duser=alice count=10 window=2026-11-24T09:00:00.000000Z/2026-11-24T09:01:30.000000Z grace_until=2026-11-24T09:16:30.000000Z seqs=1,2,3,4,5,6,7,8,9,10
2026-11-24T09:06:00.000000Z high Password guessing on one account duser=alice held=2 window=2026-11-24T09:03:10.000000Z/2026-11-24T09:04:50.000000Z updates=10 seqs=20,30"
check_eq "the same with skim" "$(cat "$WORK/storm_skim.txt")" "$(cat "$WORK/storm_full.txt")"
"$TRAIL" rules test "$RULES" --store "$WORK/storm" --format json | tail -n 1 >"$WORK/storm_last.json"
check_grep "the summary was fired by the last record" '"seq":36,.*"summary":true' "$WORK/storm_last.json"

"$TRAIL" rules test "$RULES" --events "$WORK/storm.ndjson" --no-skim >/dev/null 2>&1
check_eq "--no-skim without --store: exit 2" "$?" 2

finish
