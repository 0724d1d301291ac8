#!/usr/bin/env bash
# report_pack.sh - trail's report pack (reports/) run by `trail report` over
# generated events (a seeded trail loadgen on a fixed time base, plus one
# event with markup in it), every figure checked against
# tests/integration/report_oracle.py, which resolves the ranges and counts
# the imported NDJSON itself; the four formats; definitions from a
# trail.conf; HTML escaping; and refused definitions (exit status 2).
source "$(dirname "$0")/daemon_common.bash"
TRAIL="$TRAIL_BIN/trail"
PACK=$(dirname "$0")/../../reports
S=$WORK/store

# a fixed time base: the data and "now" are the same on any date; a last week with the
# lockout attack in it, so that the lockouts report has locks to count at 2026-11-18 (300
# people lock an account a few times a month)
"$TRAIL" loadgen -n 20000 -d 38 -u 300 -s 11 --start 2026-10-20T00:00:00Z >"$WORK/events.ndjson"
"$TRAIL" loadgen -n 2000 -d 7 -u 300 -s 12 --start 2026-11-11T00:00:00Z --attack lockout \
    >>"$WORK/events.ndjson"
# one failed sign-in whose user name is markup, inside the last 7 days of NOW
python3 - "$WORK/events.ndjson" <<'PY' >>"$WORK/events.ndjson"
import json, sys
e = next(json.loads(l) for l in open(sys.argv[1]) if '"auth_authenticators_freja_failed"' in l)
e["time"] = "2026-11-17T10:00:00Z"
e["attrs"]["duser"] = "<script>alert(1)</script>&\"'"
print(json.dumps(e))
PY
"$TRAIL" import "$WORK/events.ndjson" --store "$S" >/dev/null || exit 1
"$TRAIL" events --format json >"$WORK/catalog.json"

# every report of the pack, at two instants, against the oracle
names=$(ls "$PACK"/*.conf | xargs -n1 basename | sed 's/\.conf$//')
check_eq "the pack lists its reports" "$("$TRAIL" report list --reports "$PACK" | tail -n +2 | awk '{print $1}' | tr '\n' ' ')" "$(echo $names) "
for now in 2026-11-18T12:00:00Z 2026-12-03T00:00:00Z; do
    for name in $names; do
        "$TRAIL" report run "$name" --reports "$PACK" --store "$S" --format json --now "$now" \
            >"$WORK/$name.json"
        out="$WORK/$name.$now.oracle"
        python3 "$(dirname "$0")/report_oracle.py" --catalog "$WORK/catalog.json" --now "$now" --store "$S" \
            "$PACK/$name.conf" "$WORK/$name.json" "$WORK/events.ndjson" >"$out"
        check_eq "$name at $now: $(grep -c '^ok ' "$out") sections as the oracle" \
            "$(tail -1 "$out")" ok || cat "$out"
    done
done
# the figures are not all zero: the data reaches the reports it is meant for
for name in authentications failed-sign-ins lockouts password-resets tokens federation \
    configuration-changes server-availability latest-events; do
    check "$name counts something at 2026-11-18" \
        grep -Eq '^ok .*: [1-9][0-9]* events' "$WORK/$name.2026-11-18T12:00:00Z.oracle"
done 2>/dev/null
"$TRAIL" report run failed-sign-ins --reports "$PACK" --store "$S" --format json \
    --now 2026-11-18T12:00:00Z >"$WORK/failed.json"
# latest-events.json is of the last instant; "all" makes it the same at any
check_eq "the latest 200 events are 200" "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["sections"][0]["events"]))' "$WORK/latest-events.json")" 200

# the other formats: the same figures, escaped for each
for f in table csv html; do
    "$TRAIL" report run failed-sign-ins --reports "$PACK" --store "$S" --format $f \
        --now 2026-11-18T12:00:00Z >"$WORK/failed.$f"
done
total=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sections"][0]["total"])' "$WORK/failed.json")
check_grep "table: the total of the first section" "^total $total\$" "$WORK/failed.table"
check_grep "csv: the total row" "^total,$total\$" "$WORK/failed.csv"
check_grep "html: the total cell" ">total</th><th class=\"n\">$total<" "$WORK/failed.html"
check_grep "html: the markup in a user name is text" "duser=&lt;script&gt;alert\\(1\\)&lt;/script&gt;&amp;&quot;&#39; " "$WORK/failed.html"
check_eq "html: no script element, nothing fetched" "$(grep -Eci '<script|<img|<link|<iframe|href=|url\(' "$WORK/failed.html")" 0
check_grep "html: a bar chart" "<svg xmlns=\"http://www.w3.org/2000/svg\"" "$WORK/failed.html"
check_grep "table: the markup shown as it is" "duser=<script>alert\\(1\\)</script>&\"' " "$WORK/failed.table"

# definitions in a trail.conf, beside traild's own sections
cat >"$WORK/trail.conf" <<'CONF'
[store]
dir = /var/lib/trail

[report locked-now] ; inline comments as in trail.conf
title = Locked this month
category = Authentication
description = Accounts locked
  this month.
range = this month
count = Locks per user
event = prism_user_locked
by = duser
limit = 3
events = The locks
event = prism_user_locked
order = oldest
limit = 5
CONF
"$TRAIL" report run locked-now --config "$WORK/trail.conf" --store "$S" --format json \
    --now 2026-11-18T12:00:00Z >"$WORK/locked-now.json"
python3 "$(dirname "$0")/report_oracle.py" --catalog "$WORK/catalog.json" --now 2026-11-18T12:00:00Z \
    "$WORK/trail.conf" "$WORK/locked-now.json" "$WORK/events.ndjson" >"$WORK/locked-now.oracle"
check_eq "a report from a trail.conf, as the oracle" "$(tail -1 "$WORK/locked-now.oracle")" ok
check_grep "its description joins its lines" '"description":"Accounts locked this month."' "$WORK/locked-now.json"
"$TRAIL" report show locked-now --config "$WORK/trail.conf" >"$WORK/show"
check_grep "show prints the definition" "^by = duser$" "$WORK/show"

# refused definitions and usage: exit status 2, the message says what
refused() { # NAME PATTERN LINE...: a report file with those lines is refused
    local name=$1 pattern=$2
    shift 2
    mkdir -p "$WORK/bad"
    printf '%s\n' "[report bad]" "$@" >"$WORK/bad/bad.conf"
    "$TRAIL" report list --reports "$WORK/bad" >/dev/null 2>"$WORK/bad.err"
    check_eq "$name: exit status" "$?" 2
    check_grep "$name: message" "$pattern" "$WORK/bad.err"
}
refused "a bad range" "bad range 'last week'" "range = last week" "count = x"
refused "an unknown key" "unknown key 'colour'" "count = x" "colour = red"
refused "by in an events section" "by = is for count" "events = x" "by = duser"
refused "a bad filter" "bad severity 'LOUD'" "count = x" "severity = LOUD"
refused "a filter before a section" "comes before the first" "event = x"
refused "no section" "no section" "title = nothing"
"$TRAIL" report run nosuch --reports "$PACK" --store "$S" 2>"$WORK/err"
check_eq "an unknown report: exit status 2" "$?" 2
check_grep "an unknown report: message" "no report named 'nosuch'" "$WORK/err"

finish
