#!/usr/bin/env bash
# query_tiered.sh - traild's ClickHouse tier ([query] clickhouse): a store
# whose oldest events retention purged, and their copy in a clickhouse-server
# started here (written by traild's own clickhouse sink before the purge).
# GET /v1/events and /v1/count answer over both: every page, by seq and by
# event time either way, followed by its cursor across the boundary, is
# checked against oracle.py's brute force over the generated events
# (nothing lost, nothing twice, the same filters); counts likewise. Events
# from ClickHouse name their origin and seq; their proof comes from the origin's traild (here
# an archive copy of the store taken before the purge) while it answers, and
# is "proof unavailable" once it does not. What the tier cannot answer
# (received-time filters) is refused.
source "$(dirname "$0")/daemon_common.bash"
TRAIL="$TRAIL_BIN/trail"
ORACLE=$(dirname "$0")/oracle.py

source "$(dirname "$0")/clickhouse_single.bash"
HPORT=$(free_port)
APORT=$(free_port)
URL=http://127.0.0.1:$HPORT
AURL=http://127.0.0.1:$APORT
ORIGIN=tiered.example/trail

check "clickhouse-server starts" start_clickhouse || finish

# the events, imported in two runs so that the first run's segment is sealed
# and a purge can remove it
S=$WORK/store
"$TRAIL" keygen --out "$WORK/key" >/dev/null || exit 1
# shuffled (seeded), so that event times interleave the purged seqs and the held ones
"$TRAIL" loadgen -n 1200 -d 2 -u 30 -s 5 |
    python3 -c 'import random,sys; l=sys.stdin.readlines(); random.Random(5).shuffle(l); sys.stdout.writelines(l)' \
        >"$WORK/events.ndjson"
"$TRAIL" events --format json >"$WORK/catalog.json"
head -n 500 "$WORK/events.ndjson" >"$WORK/part1.ndjson"
tail -n +501 "$WORK/events.ndjson" >"$WORK/part2.ndjson"
# the first run three hours ago (by its clock alone), so that the second rolls to a new segment
# (a segment rolls at an hour's age) and the first can be sealed and purged
[ -r "$FAKETIME_LIB" ] || {
    echo "libfaketime is missing (scripts/install-deps.sh test installs it)"
    exit 1
}
at_offset -10800 "$TRAIL" import "$WORK/part1.ndjson" --store "$S" >/dev/null || exit 1
"$TRAIL" import "$WORK/part2.ndjson" --store "$S" >/dev/null || exit 1

conf() { # EXTRA: traild's config, with the sink into ClickHouse and EXTRA sections
    cat <<EOC
[store]
path = $S
origin = $ORIGIN
signing_key = $WORK/key.key
checkpoint_interval_s = 1
[listen]
http = 127.0.0.1:$HPORT
syslog_udp = off
syslog_tcp = off
[sink ch]
type = clickhouse
url = $CHURL
database = trail
table = events
batch_events = 400
retry_min_ms = 50
retry_max_ms = 500
$1
EOC
}
conf "" >"$WORK/t1.conf"
start_traild "$WORK/t1.conf" "$WORK/t1.log" || exit 1
store_last() { "$TRAIL" stats --store "$S" --json | sed 's/.*"last_seq":\([0-9]*\).*/\1/'; }
delivered() { [ "$(chq 'SELECT count() FROM trail.events')" = "$(store_last)" ]; }
check "the sink copies every record into ClickHouse" wait_for 60 delivered
# a checkpoint that covers the first run's events, for their proofs later
check "a checkpoint covers the events" tick_until_checkpoint "$URL" 1200
check "the ticks reach ClickHouse too" wait_for 60 delivered
# walk PATH [PAGES]: GET PATH, then its "next" links (at most PAGES pages), events as
# NDJSON; the "next" left over (or nothing) into $WORK/next
walk() {
    python3 - "$URL" "$WORK/next" "$@" <<'PY'
import json, sys, urllib.request
url, rest, path = sys.argv[1], sys.argv[2], sys.argv[3]
left = int(sys.argv[4]) if len(sys.argv) > 4 else 1 << 30
while path and left:
    with urllib.request.urlopen(url + path) as r:
        a = json.load(r)
    for ev in a["events"]:
        print(json.dumps(ev))
    left -= 1
    path = a["next"]
open(rest, "w").write(path or "")
PY
}
# page ORDER LIMIT [PARAMS]: every page of GET /v1/events, followed by "next", as NDJSON
page() { walk "/v1/events?order=$1&limit=$2${3:-}"; }
# a search begun before the purge: three pages of 97, oldest first, from the store alone
walk "/v1/events?order=oldest&limit=97" 3 >"$WORK/before.ndjson"
BEFORE_NEXT=$(cat "$WORK/next")
check "the search before the purge stopped inside the seqs to be purged" \
    test "$(wc -l <"$WORK/before.ndjson")" -eq 291
sealed() { "$TRAIL" stats --store "$S" --json | grep -Eq '"sealed_segments":[1-9]'; }
check "the first run's segment is sealed" wait_for 60 sealed
stop_traild

# the origin's archive: the store as it was before the purge, served by a traild of its own
cp -a "$S" "$WORK/archive"
"$TRAIL" purge --store "$S" --max-size 1 >"$WORK/purge.out" 2>&1
cat "$WORK/purge.out"
FIRST=$("$TRAIL" stats --store "$S" --json | sed 's/.*"first_seq":\([0-9]*\).*/\1/')
check "the purge removed the oldest events (the store now starts at $FIRST)" test "${FIRST:-1}" -gt 1
# the dump: every record with its seq, the purged ones from before the purge
"$TRAIL" query --store "$WORK/archive" --limit 0 --order oldest --format ndjson >"$WORK/dump.ndjson"

cat >"$WORK/archive.conf" <<EOC
[store]
path = $WORK/archive
origin = $ORIGIN
signing_key = $WORK/key.key
[listen]
http = 127.0.0.1:$APORT
syslog_udp = off
syslog_tcp = off
EOC
start_traild "$WORK/archive.conf" "$WORK/archive.log" || exit 1
ARCHIVE_PID=$TRAILD_PID
EXTRA_PIDS="$EXTRA_PIDS $ARCHIVE_PID"

# the origin's verifier key, given beside its traild for the viewer to check its checkpoints
VKEY=$("$TRAIL" keygen --key "$WORK/key.pub" --origin "$ORIGIN")
"$TRAIL" keygen --out "$WORK/other" >/dev/null
conf "[query]
clickhouse = $CHURL
table = trail.events
timeout_ms = 5000
[origins]
$ORIGIN = $AURL $VKEY" >"$WORK/t2.conf"
check "traild -t takes [query] and [origins]" "$TRAILD" -t -c "$WORK/t2.conf"
# a typo in them stops traild -t (and a start) with the line and the key
printf '[query]\nclickhouse = 127.0.0.1:8123\n' >"$WORK/bad1.conf"
printf '[origins]\n%s = archive.example:8443\n' "$ORIGIN" >"$WORK/bad2.conf"
printf '[query]\nclickhose = http://127.0.0.1:8123/\n' >"$WORK/bad3.conf"
printf '[origins]\n%s = %s %s\n' "$ORIGIN" "$AURL" \
    "$("$TRAIL" keygen --key "$WORK/other.pub" --origin other.example)" >"$WORK/bad4.conf"
printf '[origins]\n%s = %s %s\n' "$ORIGIN" "$AURL" "not-a-key" >"$WORK/bad5.conf"
for i in 1 2 3 4 5; do
    "$TRAILD" -t -c "$WORK/bad$i.conf" >"$WORK/bad$i.out" 2>&1
    check_eq "traild -t refuses bad$i.conf" "$?" 2
done
check_grep "... a ClickHouse URL without its scheme" "bad1.conf:2: \\[query\\] clickhouse: '127.0.0.1:8123' is not an http" "$WORK/bad1.out"
check_grep "... an origin's traild without a URL" "bad2.conf:2: \\[origins\\]" "$WORK/bad2.out"
check_grep "... an unknown key" "unknown key \\(known: clickhouse," "$WORK/bad3.out"
check_grep "... an origin's verifier key of another origin" \
    "bad4.conf:2: \\[origins\\] .*is the key of another origin" "$WORK/bad4.out"
check_grep "... a verifier key that is none" \
    "bad5.conf:2: \\[origins\\] .*'not-a-key' is not a C2SP verifier key" "$WORK/bad5.out"
start_traild "$WORK/t2.conf" "$WORK/t2.log" || exit 1
LAST=$(curl -s "$URL/v1/events?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["events"][0]["seq"])')
# the records traild wrote since the dump come from the store (seqs past the dump's)
page oldest 10000 >"$WORK/now.ndjson" 2>/dev/null
python3 - "$WORK/dump.ndjson" "$WORK/now.ndjson" >"$WORK/after.ndjson" <<'PY'
import json, sys
dump = [json.loads(l) for l in open(sys.argv[1])]
top = max(e["seq"] for e in dump)
for l in open(sys.argv[1]):
    print(l, end="")
for l in open(sys.argv[2]):
    e = json.loads(l)
    if e["seq"] > top and "source" not in e:
        print(l, end="")
PY
oracle() { # WHAT ARGS...: oracle.py over the generated events and what traild added
    local what=$1
    shift
    python3 "$ORACLE" --catalog "$WORK/catalog.json" --after "$WORK/after.ndjson" "$what" "$@" \
        "$WORK/events.ndjson"
}

# every event once, in order, across the boundary, pages of 97 in every order
for order in oldest newest time -time; do
    page "$order" 97 >"$WORK/p-$order.ndjson" 2>"$WORK/p-$order.err"
    check_eq "order $order, pages of 97: the oracle's events" \
        "$(oracle check-events "$WORK/p-$order.ndjson" --order="$order")" ok
done
seqs_ok() { # FILE: seqs 1..N each once
    python3 -c 'import json,sys; s=[json.loads(l)["seq"] for l in open(sys.argv[1])]; print("ok" if sorted(s)==list(range(1,len(s)+1)) else "seqs %s..%s, %d events, %d distinct" % (min(s),max(s),len(s),len(set(s))))' "$1"
}
# ... continued after the purge with its cursor: the rest from ClickHouse, then the store
walk "$BEFORE_NEXT" >"$WORK/after-purge.ndjson"
cat "$WORK/before.ndjson" "$WORK/after-purge.ndjson" >"$WORK/p-resumed.ndjson"
check_eq "a cursor from before the purge continues across it: the oracle's events" \
    "$(oracle check-events "$WORK/p-resumed.ndjson" --order oldest)" ok
# the CLI over traild (trail query --url) reads the events of both tiers, in pages too
"$TRAIL" query --url "$URL" --order oldest --limit 0 --format ndjson >"$WORK/cli.ndjson" 2>"$WORK/cli.err"
check_eq "trail query --url over the tier: the oracle's events" \
    "$(oracle check-events "$WORK/cli.ndjson" --order oldest)" ok
"$TRAIL" query --url "$URL" --order oldest --limit 150 >"$WORK/cli.txt" 2>&1
check_eq "... and its table, 150 rows from seq 1" "$(grep -c '^[0-9]' "$WORK/cli.txt") $(awk '/^[0-9]/ {print $1; exit}' "$WORK/cli.txt")" "150 1"
check_eq "oldest first: seqs 1..$LAST, each once" "$(seqs_ok "$WORK/p-oldest.ndjson")" ok
check_eq "newest first: the same" "$(seqs_ok "$WORK/p-newest.ndjson")" ok
from_ch() { python3 -c 'import json,sys; [print(l, end="") for l in open(sys.argv[1]) if "source" in json.loads(l)]' "$1"; }
n_ch=$(from_ch "$WORK/p-oldest.ndjson" | wc -l)
check_eq "the purged seqs 1..$((FIRST - 1)) came from ClickHouse, the rest from the store" \
    "$n_ch" $((FIRST - 1))
check_eq "the last event from ClickHouse names its origin and seq" \
    "$(from_ch "$WORK/p-oldest.ndjson" | tail -1 |
        python3 -c 'import json,sys; s=json.load(sys.stdin)["source"]; print(s["origin"], s["seq"], s["proof"])')" \
    "$ORIGIN $((FIRST - 1)) /v1/proof?seq=$((FIRST - 1))&origin=tiered.example%2Ftrail"

# filters across both tiers, paged
# a user of the generated events, from both parts
U=$(python3 -c 'import json,sys; print(next(e["attrs"]["duser"] for e in map(json.loads, open(sys.argv[1])) if "duser" in e["attrs"]))' "$WORK/events.ndjson")
# a word of the events' text: the last of the first failure's reason (timeout, cancelled, ...)
W=$(python3 -c 'import json,sys; print(next(e["attrs"]["reason"].split()[-1] for e in map(json.loads, open(sys.argv[1])) if "reason" in e["attrs"]))' "$WORK/events.ndjson")
for f in "event=auth_*&severity=%3E%3DWARNING:--event auth_* --severity >=WARNING" \
    "where=duser%3D$U:--where duser=$U" "text=$W:--text $W"; do
    qs=${f%%:*}
    args=${f#*:}
    for order in oldest newest time -time; do
        page "$order" 31 "&$qs" >"$WORK/f.ndjson" 2>/dev/null
        # shellcheck disable=SC2086
        check_eq "$qs, $order first, pages of 31: the oracle's events" \
            "$(oracle check-events "$WORK/f.ndjson" --order="$order" $args)" ok
    done
done

# counts over both tiers
for f in ":" "by=event:--by event" "by=severity,day&event=auth_*:--by severity,day --event auth_*"; do
    qs=${f%%:*}
    args=${f#*:}
    curl -s "$URL/v1/count?$qs" >"$WORK/c.json"
    # shellcheck disable=SC2086
    check_eq "count $qs: the oracle's count" "$(oracle check-count "$WORK/c.json" $args)" ok
done

# what the tier cannot answer is refused, not answered without the older events
check_eq "event time order: seqs 1..$LAST, each once" "$(seqs_ok "$WORK/p-time.ndjson")" ok
code=$(curl -s -o "$WORK/r.json" -w '%{http_code}' "$URL/v1/events?received_since=2000-01-01T00:00:00Z")
check_eq "a received-time filter over the tier: 400" "$code" 400
check_grep "... saying why" "received" "$WORK/r.json"

# proofs: from the origin's traild while it answers
code=$(curl -s -o "$WORK/proof.json" -w '%{http_code}' "$URL/v1/proof?seq=3&origin=tiered.example%2Ftrail")
check_eq "the proof of purged seq 3 comes from the origin's traild" "$code" 200
check_eq "... for seq 3, signed under the origin's name" \
    "$(python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); print(a["seq"], a["checkpoint"]["origin"])' "$WORK/proof.json")" \
    "3 $ORIGIN"
check_eq "... with the origin's verifier key from [origins], for the viewer to check its signature" \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["origin_verifier_key"])' "$WORK/proof.json")" \
    "$VKEY"
code=$(curl -s -o "$WORK/own.json" -w '%{http_code}' "$URL/v1/proof?seq=$LAST&origin=tiered.example%2Ftrail")
check "a seq the store still holds is proved here (or waits for its checkpoint)" \
    test "$code" = 200 -o "$code" = 409
kill "$ARCHIVE_PID"
wait_gone() { ! kill -0 "$ARCHIVE_PID" 2>/dev/null; }
check "the origin's traild stops" wait_for 30 wait_gone
code=$(curl -s -o "$WORK/proof.json" -w '%{http_code}' "$URL/v1/proof?seq=3&origin=tiered.example%2Ftrail")
check_eq "with the origin's traild gone: 502" "$code" 502
check_grep "... proof unavailable" '"proof_unavailable":true' "$WORK/proof.json"
code=$(curl -s -o "$WORK/proof.json" -w '%{http_code}' "$URL/v1/proof?seq=3&origin=other.example")
check_eq "an origin with no traild configured: 404, proof unavailable" \
    "$code $(grep -c proof_unavailable "$WORK/proof.json")" "404 1"

# ClickHouse down: the older part cannot be had, and the answer says so
kill -9 "$CH_PID"
code=$(curl -s -o "$WORK/r.json" -w '%{http_code}' "$URL/v1/events?order=oldest")
check_eq "ClickHouse down: 502, not the store's part alone" "$code" 502
code=$(curl -s -o "$WORK/r.json" -w '%{http_code}' "$URL/v1/count")
check_eq "... and for a count" "$code" 502
stop_traild
finish
