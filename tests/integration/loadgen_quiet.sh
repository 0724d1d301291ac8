#!/usr/bin/env bash
# loadgen_quiet.sh - trail's rule pack stays quiet on the generator's normal
# traffic: `trail loadgen` without --attack, at 300,000 and at 1,000,000
# events (a day each, the generator's default population), several seeds,
# raises no alert of the pack at all; and the same traffic with every
# attack raises exactly one alert per attack, of the attack's rule, and
# nothing else (so the pack is at work on this traffic). Seeds are fixed:
# the same events on every run.
# QUIET_SEEDS_300K and QUIET_SEEDS_1M choose the seeds (make test's
# sanitizer pass turns them down).
source "$(dirname "$0")/daemon_common.bash"
TRAIL="$TRAIL_BIN/trail"
RULES="$TRAIL_SOURCE_DIR/rules"

quiet() { # quiet N SEED: the pack over N normal events of SEED
    "$TRAIL" loadgen -n "$1" -s "$2" >"$WORK/normal.ndjson"
    check_eq "$1 events of seed $2 are made" "$(grep -c . "$WORK/normal.ndjson")" "$1"
    "$TRAIL" rules test "$RULES" --events "$WORK/normal.ndjson" --format json >"$WORK/alerts.json"
    check_eq "the pack runs over them" "$?" 0
    check_eq "no alert on $1 normal events of seed $2" "$(grep -c . "$WORK/alerts.json")" 0 ||
        sed -n 's/.*"rule":"\([a-z_]*\)".*/\1/p' "$WORK/alerts.json" | sort | uniq -c
}
for seed in ${QUIET_SEEDS_300K-1 2 3}; do
    quiet 300000 "$seed"
done
for seed in ${QUIET_SEEDS_1M-1 2}; do
    quiet 1000000 "$seed"
done

# every attack in 300,000 events of the same traffic: its rule's alert, once, and no other
"$TRAIL" loadgen -n 300000 -s 1 --attack all >"$WORK/attacked.ndjson"
"$TRAIL" rules test "$RULES" --events "$WORK/attacked.ndjson" --format json >"$WORK/attacked.json"
check_eq "the pack runs over the attacked traffic" "$?" 0
check_eq "each attack raises its rule's alert, once, and nothing else does" \
    "$(sed -n 's/.*"rule":"\([a-z_]*\)".*/\1/p' "$WORK/attacked.json" | sort | tr '\n' ' ')" \
    "lockout_storm mfa_push_fatigue password_guessing password_spraying signin_after_failures token_new_source "
# the groups are the attacks': the spray's source, the guessed account from the attacker's
# address (the attacks come from 2001:db8:ffff::N)
check_grep "the spray's alert groups by its address" '"group":{"src":"2001:db8:ffff::2"}' "$WORK/attacked.json"
guessed=$(sed -n 's/.*"rule":"password_guessing".*"group":{"duser":"\([^"]*\)"}.*/\1/p' "$WORK/attacked.json")
check_grep "the guessed account ($guessed) failed from the guess's address" \
    "\"duser\":\"$guessed\",.*\"src\":\"2001:db8:ffff::1\"" "$WORK/attacked.ndjson"

finish
