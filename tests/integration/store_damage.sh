#!/usr/bin/env bash
# store_damage.sh - one damaged byte in a sealed segment degrades traild; it
# does not take it down (issue 15, Found 5 and Deliver 3).
#
# A store of 3000 loadgen events in 64 KiB segments gets one byte changed in
# the block of one sealed segment and one in the trailer of another. Then:
# traild starts (it did not, with a damaged trailer); /healthz says degraded
# with both runs (it said ok); the metrics count them; one trail_store_damaged
# record per run; /v1/events answers (it answered 500) with exactly the
# imported events outside the runs, in order, and lists the runs as
# "skipped", as does /v1/count; the CLI warns and exits 3; a file sink stops
# at the first run with an error (it stopped there for good, silently) and
# goes on only after `trail sinks skip`, recorded as trail_sink_skipped;
# `trail repair` refuses a store traild holds, and once traild is stopped
# moves the damaged files to quarantine/ with a report of the lost seqs and
# the files' SHA-256; the store then opens, searches still name the runs as
# quarantined, and trail verify reports them (never ok).
source "$(dirname "$0")/daemon_common.bash"
TRAIL="$TRAIL_BIN/trail"
ATTACKER="$TRAIL_BIN/tests/store_attacker"
STORE=$WORK/store
N=3000
ok() { check "$1" bash -c "$2"; } # NAME SHELL-EXPRESSION

"$TRAIL" loadgen -n $N -s 7 --start 2026-11-01T00:00:00Z >"$WORK/events.ndjson"
"$ATTACKER" import "$STORE" 65536 "$WORK/events.ndjson" || exit 1
mapfile -t SEGS < <(cd "$STORE" && ls seg-*.seg)
ok "the store has several sealed segments" "[ ${#SEGS[@]} -ge 6 ]"

# the runs: from a file's name to the next file's name - 1
first_of() { printf '%d' "0x$(basename "$1" | sed -E 's/seg-([0-9a-f]+)\..*/\1/')"; }
B=${SEGS[1]}
R=${SEGS[3]}
B_FROM=$(first_of "$B")
B_TO=$(($(first_of "${SEGS[2]}") - 1))
T_FROM=$(first_of "$R")
T_TO=$(($(first_of "${SEGS[4]}") - 1))
LOST=$((B_TO - B_FROM + 1 + T_TO - T_FROM + 1))

flip() { # FILE OFFSET: change one byte
    python3 -c 'import sys
f = open(sys.argv[1], "r+b"); f.seek(int(sys.argv[2])); b = f.read(1)
f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 0x55]))' "$1" "$2"
}
flip "$STORE/$B" $(($(stat -c %s "$STORE/$B") / 2))     # inside the block
flip "$STORE/$R" $(($(stat -c %s "$STORE/$R") - 50))    # inside the trailer
B_SHA=$(sha256sum "$STORE/$B" | cut -d' ' -f1)
R_SHA=$(sha256sum "$STORE/$R" | cut -d' ' -f1)

HPORT=$(free_port)
URL=http://127.0.0.1:$HPORT
CONF=$WORK/traild.conf
cat >"$CONF" <<EOF
[store]
path = $STORE
fsync = always
[listen]
http = 127.0.0.1:$HPORT
syslog_udp = off
syslog_tcp = off
[sink f]
type = file
dir = $WORK/out
EOF

# ---- traild starts, and says it is degraded ----
start_traild "$CONF" "$WORK/traild1.log" || exit 1
ok "traild starts on a store with a damaged block and a damaged trailer" "kill -0 $TRAILD_PID"
wait_metric "$URL" "^trail_store_damaged_ranges 2$" 60
check_eq "metric: damaged records" \
    "$(curl -s "$URL/metrics" | sed -n 's/^trail_store_damaged_records //p')" "$LOST"
curl -s "$URL/healthz" >"$WORK/healthz.json"
check_eq "/healthz: degraded" "$(jq -r .status "$WORK/healthz.json")" degraded
check_eq "/healthz: the runs" "$(jq -c '[.damaged[] | [.from_seq, .to_seq, .file]]' "$WORK/healthz.json")" \
    "[[$B_FROM,$B_TO,\"$B\"],[$T_FROM,$T_TO,\"$R\"]]"
check_eq "/healthz: still 200 (it serves)" "$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")" 200

# one trail_store_damaged record per run
for _ in $(seq 1 300); do
    n=$("$TRAIL" query --url "$URL" --event trail_store_damaged --format ndjson 2>/dev/null | wc -l)
    [ "$n" -ge 2 ] && break
    sleep 0.05
done
"$TRAIL" query --url "$URL" --event trail_store_damaged --order oldest --format ndjson \
    >"$WORK/damaged.ndjson" 2>/dev/null
check_eq "one trail_store_damaged record per run" "$(wc -l <"$WORK/damaged.ndjson")" 2
check_eq "... with file and seqs" \
    "$(jq -c '[.attrs.file, .attrs.from_seq, .attrs.to_seq]' "$WORK/damaged.ndjson" | sort | tr -d '\n')" \
    "$(printf '["%s",%d,%d]\n["%s",%d,%d]\n' "$B" "$B_FROM" "$B_TO" "$R" "$T_FROM" "$T_TO" | sort | tr -d '\n')"
check_eq "... severity ALERT" "$(jq -r .severity_name "$WORK/damaged.ndjson" | sort -u)" ALERT

# ---- searches go past the runs and say so ----
code=$(curl -s -o "$WORK/events.json" -w '%{http_code}' \
    "$URL/v1/events?order=oldest&limit=10000&origin=producer")
check_eq "/v1/events across the damage: 200" "$code" 200
check_eq "/v1/events: skipped runs" \
    "$(jq -c '[.skipped[] | [.from_seq, .to_seq]]' "$WORK/events.json")" "[[$B_FROM,$B_TO],[$T_FROM,$T_TO]]"
# the answer is exactly the imported events outside the runs, in order
jq -c '.events[] | [.seq, .id, .time, .attrs]' "$WORK/events.json" >"$WORK/got"
jq -c '[input_line_number, .id, .time, .attrs]' "$WORK/events.ndjson" |
    awk -F, -v a="$B_FROM" -v b="$B_TO" -v c="$T_FROM" -v d="$T_TO" \
        '{ s = substr($1, 2) + 0; if ((s < a || s > b) && (s < c || s > d)) print }' >"$WORK/want"
check_eq "/v1/events: $((N - LOST)) events" "$(wc -l <"$WORK/got")" $((N - LOST))
ok "/v1/events: exactly the imported events outside the runs" "cmp -s '$WORK/got' '$WORK/want'"
curl -s -D "$WORK/h" -o /dev/null "$URL/v1/events?format=ndjson&order=oldest&limit=10000"
check_grep "ndjson: X-Trail-Skipped header" "X-Trail-Skipped: $B_FROM-$B_TO,$T_FROM-$T_TO" "$WORK/h"
curl -s "$URL/v1/count?origin=producer" >"$WORK/count.json"
check_eq "/v1/count: the events outside the runs" "$(jq .total "$WORK/count.json")" $((N - LOST))
check_eq "/v1/count: skipped runs" "$(jq -c '[.skipped[] | .from_seq]' "$WORK/count.json")" \
    "[$B_FROM,$T_FROM]"
"$TRAIL" query --url "$URL" --limit 0 --origin producer --format ndjson >/dev/null 2>"$WORK/q.err"
check_eq "trail query --url: exit 3" "$?" 3
check_grep "... warns with the runs" "seqs $B_FROM-$B_TO,$T_FROM-$T_TO skipped" "$WORK/q.err"
"$TRAIL" query --store "$STORE" --limit 0 --origin producer --format ndjson >"$WORK/q.out" 2>"$WORK/q.err"
check_eq "trail query --store: exit 3" "$?" 3
check_eq "... the same events" "$(wc -l <"$WORK/q.out")" $((N - LOST))
check_grep "... names the block's run" "seqs $B_FROM..$B_TO skipped: $B is damaged" "$WORK/q.err"
"$TRAIL" export --store "$STORE" --to $N >"$WORK/export.out" 2>"$WORK/export.err"
check_eq "trail export: exit 3" "$?" 3
check_eq "... every event outside the runs" "$(wc -l <"$WORK/export.out")" $((N - LOST))
check_grep "... names the trailer's run" "seqs $T_FROM..$T_TO skipped: $R is damaged" "$WORK/export.err"

# ---- the sink stops at the damage until told to skip it ----
wait_metric "$URL" "^trail_sink_blocked_by_damage\{sink=\"f\"[^}]*\} 1$" 60
check_eq "sink: delivered up to the first run" \
    "$(curl -s "$URL/metrics" | sed -n 's/^trail_sink_cursor_seq{sink="f"[^}]*} //p')" $((B_FROM - 1))
check_grep "/v1/sinks: the gap is an error" "seqs $B_FROM..$B_TO cannot be read" \
    <(curl -s "$URL/v1/sinks")
"$TRAIL" sinks skip f --to "$B_TO" --store "$STORE" >/dev/null
check_eq "trail sinks skip: exit 0" "$?" 0
wait_metric "$URL" "^trail_sink_cursor_seq\{sink=\"f\"[^}]*\} $((T_FROM - 1))$" 60
ok "sink: after the skip, up to the second run and stopped there" \
    "curl -s '$URL/metrics' | grep -Eq '^trail_sink_blocked_by_damage\{sink=\"f\"[^}]*\} 1$'"
"$TRAIL" sinks skip f --to "$T_TO" --store "$STORE" >/dev/null
wait_metric "$URL" "^trail_sink_blocked_by_damage\{sink=\"f\"[^}]*\} 0$" 60
for _ in $(seq 1 300); do
    cur=$(curl -s "$URL/metrics" | sed -n 's/^trail_sink_cursor_seq{sink="f"[^}]*} //p')
    [ "$cur" -ge $N ] && break
    sleep 0.05
done
ok "sink: past the second run, on to the end" "[ $cur -ge $N ]"
for _ in $(seq 1 300); do
    n=$("$TRAIL" query --url "$URL" --event trail_sink_skipped --format ndjson 2>/dev/null | wc -l)
    [ "$n" -ge 2 ] && break
    sleep 0.05
done
check_eq "each skip is a trail_sink_skipped record" \
    "$("$TRAIL" query --url "$URL" --event trail_sink_skipped --order oldest --format ndjson |
        jq -c '[.attrs.sink, .attrs.from_seq, .attrs.to_seq]' | tr -d '\n')" \
    "[\"f\",$B_FROM,$B_TO][\"f\",$T_FROM,$T_TO]"

# ---- repair ----
"$TRAIL" repair --store "$STORE" >"$WORK/repair.out" 2>&1
check_eq "trail repair refuses a store traild holds" "$?" 1
ok "... and moved nothing" "[ -f '$STORE/$B' ] && [ ! -e '$STORE/quarantine' ]"
stop_traild
"$TRAIL" repair --store "$STORE" >"$WORK/repair.out" 2>&1
check_eq "trail repair: exit 0" "$?" 0
ok "the damaged files left the store" "[ ! -e '$STORE/$B' ] && [ ! -e '$STORE/$R' ]"
Q=$(ls -d "$STORE"/quarantine/*/ | head -1)
ok "... into quarantine/TIME/, kept whole" \
    "[ \"\$(sha256sum '$Q/$B' | cut -d' ' -f1)\" = $B_SHA ] && [ \"\$(sha256sum '$Q/$R' | cut -d' ' -f1)\" = $R_SHA ]"
check_grep "REPORT: the lost seqs of the block's segment" "records $B_FROM..$B_TO" "$Q/REPORT"
check_grep "REPORT: the moved file's SHA-256" "sha256 $R_SHA" "$Q/REPORT"
check_eq "quarantined lists both runs" "$(grep -v '^trail' "$STORE/quarantined" | cut -d' ' -f1,2 | tr '\n' ' ')" \
    "$B_FROM $B_TO $T_FROM $T_TO "
"$TRAIL" verify --store "$STORE" >"$WORK/verify.out" 2>&1
check_eq "trail verify after repair: not ok (exit 1)" "$?" 1
check_eq "... each run reported as quarantined" "$(grep -c '^damage: .*quarantined: records' "$WORK/verify.out")" 2
start_traild "$CONF" "$WORK/traild2.log" || exit 1
ok "traild starts on the repaired store" "kill -0 $TRAILD_PID"
check_eq "/healthz: ok (the damage is quarantined)" "$(curl -s "$URL/healthz" | jq -r .status)" ok
curl -s "$URL/v1/events?order=oldest&limit=10000&origin=producer" >"$WORK/events2.json"
check_eq "searches still name the runs, as quarantined" \
    "$(jq -c '[.skipped[] | [.from_seq, .quarantined]]' "$WORK/events2.json")" \
    "[[$B_FROM,true],[$T_FROM,true]]"
jq -c '.events[] | [.seq, .id, .time, .attrs]' "$WORK/events2.json" >"$WORK/got2"
ok "... and the same events" "cmp -s '$WORK/got2' '$WORK/want'"
stop_traild
check_eq "traild stops cleanly" "$STOP_STATUS" 0
finish
