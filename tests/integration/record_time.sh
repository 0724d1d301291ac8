#!/usr/bin/env bash
# record_time.sh - the producer's clock is a claim, the received time is
# trail's: an event dated 9999 or year 1 is stored with the skew listed (or
# refused by policy), the file sink names its files by the day events
# arrived (2,000 events dated on 2,000 days make one day's file, not 2,000),
# and queries filter on either time. What is asserted is computed from the
# records themselves, so the test holds whatever the date.
source "$(dirname "$0")/daemon_common.bash"

HPORT=$(free_port)
URL=http://127.0.0.1:$HPORT
conf() {
    cat <<EOF
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
[validation]
$1
[sink days]
type = file
dir = $WORK/files
format = json
EOF
}
q() { "$TRAIL_BIN/trail" query --store "$WORK/store" --limit 0 --format ndjson "$@"; }

conf "" >"$WORK/flag.conf"
start_traild "$WORK/flag.conf" "$WORK/flag.log" || exit 1

# ---- 9999 and year 1: stored, with the skew in the record ----
printf '%s\n' \
    '{"id":"acme_badge_swiped","time":"9999-01-01T00:00:00Z","attrs":{"duser":"future"}}' \
    '{"id":"acme_badge_swiped","time":"0001-01-01T00:00:00Z","attrs":{"duser":"past"}}' \
    '{"id":"acme_badge_swiped","attrs":{"duser":"now"}}' >"$WORK/skew.ndjson"
http_post "$URL/v1/events" "$WORK/skew.ndjson" application/x-ndjson >/dev/null
check_eq "skewed events are accepted (flag is the default)" "$(cat "$WORK/http.code")" 200
check_grep "9999: the skew ahead is listed" \
    '"duser":"future".*|"problems":"time skew: the event time is [0-9]+ days ahead of its arrival"' \
    <(q --where duser=future)
check_grep "year 1: the skew behind is listed" \
    '"problems":"time skew: the event time is [0-9]+ days behind its arrival"' \
    <(q --where duser=past)
check "an event without a time has no problem" test -z "$(q --where duser=now | grep problems)"

# ---- 2,000 events on 2,000 days: files by the day they arrived ----
python3 - >"$WORK/days.ndjson" <<'EOF'
import datetime, json
d0 = datetime.date(2020, 1, 1)
for i in range(2000):
    t = (d0 + datetime.timedelta(days=i)).isoformat() + "T12:00:00Z"
    print(json.dumps({"id": "acme_badge_swiped", "time": t, "attrs": {"duser": "d%d" % i}}))
EOF
http_post "$URL/v1/events" "$WORK/days.ndjson" application/x-ndjson >/dev/null
check_eq "2,000 events on distinct days accepted" "$(cat "$WORK/http.code")" 200
for _ in $(seq 1 600); do
    last=$("$TRAIL_BIN/trail" stats --store "$WORK/store" --json | sed 's/.*"last_seq":\([0-9]*\).*/\1/')
    [ "$(sed -n 's/^seq //p' "$WORK/store/sinks/days.cursor" 2>/dev/null)" = "$last" ] && break
    sleep 0.05
done
q >"$WORK/all.ndjson"
python3 - "$WORK" >"$WORK/files.out" 2>&1 <<'EOF'
import glob, json, os, sys
w = sys.argv[1]
recs = [json.loads(l) for l in open(w + "/all.ndjson")]
days = {r["received"][:10] for r in recs}
files = sorted(os.path.basename(f) for f in glob.glob(w + "/files/*.ndjson"))
want = sorted("event.%s.ndjson" % d for d in days)
print("files", len(files), "days", len(days))
if files != want:
    print("BAD files", files[:5], "want", want)
lines = sum(1 for f in glob.glob(w + "/files/*.ndjson") for _ in open(f))
print("lines", lines, "records", len(recs))
EOF
check_grep "one file per day of arrival, not per producer's day" '^files [12] days [12]$' "$WORK/files.out"
check "... named by those days" test -z "$(grep BAD "$WORK/files.out")"
check_grep "... holding every record" '^lines ([0-9]+) records \1$' "$WORK/files.out"

# ---- filters on either time: compared with the records' own times ----
read -r cut n_before n_both <<<"$(python3 - "$WORK/all.ndjson" <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
rs = sorted(r["received"] for r in recs)
cut = rs[len(rs) // 2]
before = sum(1 for r in recs if r["received"] < cut)
# received before the cut and dated in 2021 by the producer
both = sum(1 for r in recs if r["received"] < cut and "2021-01-01" <= r["time"] < "2022-01-01")
print(cut, before, both)
EOF
)"
check_eq "--received-until: what arrived before an instant" \
    "$(q --received-until "$cut" | wc -l)" "$n_before"
check_eq "--received-since: the rest" \
    "$(q --received-since "$cut" | wc -l)" "$(($(wc -l <"$WORK/all.ndjson") - n_before))"
check_eq "both times at once" \
    "$(q --received-until "$cut" --since 2021-01-01 --until 2022-01-01 | wc -l)" "$n_both"
check_eq "trail count takes it too" \
    "$("$TRAIL_BIN/trail" count --store "$WORK/store" --received-until "$cut" --format csv | tail -n1)" \
    "$n_before"
check_eq "and the HTTP API" \
    "$(curl -s "$URL/v1/count?received_until=$cut" | sed -n 's/.*"count":\([0-9]*\).*/\1/p')" "$n_before"
check_grep "a bad received time is a clear error" "bad --received-since 'soon': not a time" \
    <("$TRAIL_BIN/trail" query --store "$WORK/store" --received-since soon 2>&1)
stop_traild

# ---- refuse: the skewed event is refused, and its sender told why ----
conf "time_skew = refuse
time_skew_future_s = 3600" >"$WORK/refuse.conf"
start_traild "$WORK/refuse.conf" "$WORK/refuse.log" || exit 1
printf '%s\n' '{"id":"acme_badge_swiped","time":"9999-01-01T00:00:00Z","attrs":{"duser":"refused"}}' \
    >"$WORK/one.json"
http_post "$URL/v1/events" "$WORK/one.json" >"$WORK/refused.out"
check_eq "refused by policy" "$(cat "$WORK/http.code")" 400
check_grep "... saying why" 'days ahead of its arrival \(refused by policy\)' "$WORK/refused.out"
check_eq "... not stored as an event" "$(q --where duser=refused | wc -l)" 0
stop_traild

# ---- the configuration refuses nonsense ----
conf "time_skew = sometimes" >"$WORK/bad.conf"
check_grep "time_skew takes flag or refuse" "time_skew: 'sometimes' is not one of: flag, refuse" \
    <("$TRAILD" -t -c "$WORK/bad.conf" 2>&1)

finish
