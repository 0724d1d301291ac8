#!/usr/bin/env bash
# detect_oracle.sh - `trail rules test` against a brute force: random
# event_count and value_count correlations (thresholds, bounds, windows,
# group-by keys, selections) over random events, some out of time order, the
# alerts of each counted by trail and by tests/integration/detect_oracle.py's
# own re-implementation of the windows (docs/rules.md, "Windows"). Live
# evaluation agrees with `trail rules test` on the same records
# (detect_daemon.sh compares the two over a store).
source "$(dirname "$0")/daemon_common.bash"
python3 "$(dirname "$0")/detect_oracle.py" "$TRAIL_BIN/trail" "$WORK" 1 2 3 4 5 6 7 8 >"$WORK/oracle.out"
status=$?
while read -r line; do
    case $line in
    "ok "*) PASSED=$((PASSED + 1)) ; echo "$line" ;;
    FAIL*) FAILED=$((FAILED + 1)) ; echo "$line" ;;
    esac
done <"$WORK/oracle.out"
check_eq "the oracle ran to its end" "$status:$(tail -n 1 "$WORK/oracle.out")" "0:8 passed, 0 failed"
finish
