#!/usr/bin/env bash
# store_selfdefence.sh - the store defends its own files (docs/store.md, "The
# store's own files"; issue 15, Found 2). Each part is an attack that once
# went unnoticed:
#
#   1. rm LOCK let a second traild (and `trail import`) open a running store;
#   2. the open segment removed while traild ran: later events were answered
#      200 and written to the removed file; /healthz said ok;
#   3. after that, a restart logged "0 records" and began again at seq 1,
#      cutting tree.roots, with sink cursors past the new end skipping every
#      new event while showing lag 0;
#   4. checkpoints (or tree.roots) removed or replaced while traild ran:
#      it went on writing to the removed file, without a word.
source "$(dirname "$0")/daemon_common.bash"

TRAIL=$TRAIL_BIN/trail
"$TRAIL" keygen --out "$WORK/key" >/dev/null || exit 1

# conf DIR PORT [EXTRA]: traild on store DIR/store with HTTP on PORT and a file sink
conf() {
    cat <<EOF
[store]
path = $1/store
fsync = always
${3:-}
[listen]
http = 127.0.0.1:$2
syslog_udp = off
syslog_tcp = off
[sink out]
type = file
dir = $1/out
format = json
EOF
}

# new_store DIR: a store signing its checkpoints with the test's key
new_store() {
    mkdir -p "$1/store"
    cp "$WORK/key.key" "$1/store/checkpoint.key"
}

# post URL FILE: POST NDJSON; the HTTP status on stdout, the answer in $WORK/http.out
post() {
    http_post "$1/v1/events" "$2" application/x-ndjson >/dev/null
    cat "$WORK/http.code"
}

producer_records() { store_dump "$1" | grep -vc '"origin":"trail"'; }
cursor() { sed -n 's/^seq //p' "$1/store/sinks/out.cursor" 2>/dev/null; }
# wait_for SECONDS COMMAND...: poll until the command succeeds
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    while ((SECONDS < deadline)); do
        "$@" && return 0
        sleep 0.05
    done
    "$@"
}
healthz_failing() { curl -s "$1/healthz" | grep -q '"status":"failing"'; }

"$TRAIL" loadgen -n 300 -s 11 >"$WORK/p1.ndjson"
"$TRAIL" loadgen -n 50 -s 12 >"$WORK/p2.ndjson"
"$TRAIL" loadgen -n 40 -s 13 >"$WORK/p3.ndjson"

# ---- 1: the writer lock survives rm LOCK ----
A=$WORK/a
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
new_store "$A"
conf "$A" "$PORT" >"$A.conf"
start_traild "$A.conf" "$A.log" || exit 1
FIRST_PID=$TRAILD_PID
check_eq "events accepted" "$(post "$URL" "$WORK/p1.ndjson")" 200
rm -f "$A/store/LOCK"
PORT2=$(free_port)
conf "$A" "$PORT2" >"$A.second.conf"
"$TRAILD" -c "$A.second.conf" >"$A.second.log" 2>&1 &
SECOND=$!
EXTRA_PIDS="$EXTRA_PIDS $SECOND"
wait_for 30 sh -c "! kill -0 $SECOND 2>/dev/null"
check "a second traild is refused after rm LOCK" sh -c "! kill -0 $SECOND 2>/dev/null"
check_grep "... saying the store is locked" "store is locked by another writer" "$A.second.log"
check_grep "... and naming the holder's pid" "writer lock is held by pid $FIRST_PID \\(traild\\)" \
    "$A.second.log"
"$TRAIL" import "$WORK/p2.ndjson" --store "$A/store" >"$WORK/import.out" 2>&1
check "trail import is refused on the running store" test $? -ne 0
check_grep "... naming the holder" "held by pid $FIRST_PID" "$WORK/import.out"

# ---- 2: the open segment removed while traild runs ----
SEG=$(cd "$A/store" && ls seg-*.open)
rm "$A/store/$SEG"
check_eq "an event after the segment is removed is refused (503)" "$(post "$URL" "$WORK/p2.ndjson")" 503
check_grep "... saying why" "removed or replaced while open" "$WORK/http.out"
check_eq "... and so is the next one" "$(post "$URL" "$WORK/p3.ndjson")" 503
check "/healthz says failing" healthz_failing "$URL"
curl -s "$URL/healthz" >"$WORK/healthz.json"
check_grep "... with the reason, naming the file" "\"reason\":\"$SEG was removed or renamed while open" \
    "$WORK/healthz.json"
check "the metrics say so" wait_metric "$URL" '^trail_store_tampered 1$'
check "an EMERGENCY record is written to a fresh file" wait_for 30 sh -c "ls $A/store/EMERGENCY-*.ndjson >/dev/null 2>&1"
EMERG=$(ls "$A"/store/EMERGENCY-*.ndjson | head -1)
check_grep "... as trail's own trail_store_tampered, severity EMERGENCY" \
    '"id":"trail_store_tampered".*"severity_name":"EMERGENCY"' \
    "$EMERG"
check_grep "... naming the removed file" "$SEG was removed" "$EMERG"
check_grep "traild logs it" "EMERGENCY trail_store_tampered" "$A.log"
RESCUED=$(cd "$A/store" && ls "$SEG".rescued-* 2>/dev/null | head -1)
check "what the removed segment held is rescued beside it" test -n "$RESCUED"
stop_traild
cp -a "$A" "$WORK/short"

# the rescued copy put back: every acknowledged event is there, and the store opens as it was
mv "$A/store/$RESCUED" "$A/store/$SEG"
check_eq "the rescued segment holds every acknowledged event" "$(producer_records "$A/store")" 300
start_traild "$A.conf" "$A.restored.log" || exit 1
check_grep "the restored store opens without acceptance" "open: .* last seq [0-9]+" "$A.restored.log"
stop_traild

# ---- 3: a store shorter than its own claims refuses to start ----
S=$WORK/short
sed -i "s|$A/|$S/|g" "$A.conf"
mv "$A.conf" "$S.conf"
rm -f "$S"/store/EMERGENCY-* "$S"/store/*.rescued-*
"$TRAILD" -c "$S.conf" >"$S.refused.log" 2>&1
check "traild refuses to open a store shorter than its checkpoints" test $? -ne 0
check_grep "... saying which claim and by how much" \
    "checkpoints: a signed checkpoint covers [0-9]+ records but the store ends at seq 0: [0-9]+ missing" \
    "$S.refused.log"
check_grep "... tree.roots too" "tree.roots: holds the roots of 256 records but the store ends at seq 0" \
    "$S.refused.log"
check_grep "... and how to accept it" "accept_truncation = 0" "$S.refused.log"
check "... and changes nothing" test "$(cd "$S/store" && ls checkpoints tree.roots)" = "$(printf 'checkpoints\ntree.roots')"

conf "$S" "$PORT" "accept_truncation = 7" >"$S.conf"
"$TRAILD" -c "$S.conf" >"$S.wrong.log" 2>&1
check "an acceptance naming another size is refused" test $? -ne 0
check_grep "... saying so" "accept_truncation = 7 does not name the store's last seq \\(0\\)" "$S.wrong.log"

# a sink cursor past the end alone is refused too
CUR=$(cursor "$S")
check "the sink had delivered past the new end" test "${CUR:-0}" -gt 0
conf "$S" "$PORT" "accept_truncation = 0" >"$S.conf"
start_traild "$S.conf" "$S.accepted.log" || exit 1
check_grep "an acceptance of the last seq opens it" "opened [0-9]+ records short, as accept_truncation accepted" \
    "$S.accepted.log"
check_grep "... resetting the sink cursor past the end" "sink out: cursor $CUR reset to the store's last seq 0" \
    "$S.accepted.log"
check "... the old claims kept aside" sh -c "ls $S/store/checkpoints.truncated-* $S/store/tree.roots.truncated-* >/dev/null"
store_dump "$S/store" >"$WORK/short.dump"
check_grep "... and the acceptance is trail's own record" \
    '"id":"trail_store_truncation_accepted".*"origin":"trail"' "$WORK/short.dump"
check_grep "... with the counts and who accepted" \
    '"accepted_by":"[^"]*accept_truncation = 0.*"claimed_seq":[1-9][0-9]*,"last_seq":0,"missing":[1-9]' \
    "$WORK/short.dump"
check_eq "new events are taken" "$(post "$URL" "$WORK/p3.ndjson")" 200
LAST=$("$TRAIL" stats --store "$S/store" --json | sed 's/.*"last_seq":\([0-9]*\).*/\1/')
sink_caught_up() { [ "$(cursor "$S")" = "$LAST" ]; }
check "the sink delivers them (none skipped)" wait_for 30 sink_caught_up
cp "$S/store/sinks/out.cursor" "$WORK/good.cursor"
# a cursor file past the end (written by hand): /v1/sinks reports an error, never lag 0
printf 'trail-sink-cursor/1\ntype file\nstore x\nseq %s\n' $((LAST + 100)) >"$S/store/sinks/out.cursor"
curl -s "$URL/v1/sinks" >"$WORK/sinks.json"
check_grep "/v1/sinks: a cursor past the end has no lag" '"lag":null,"past_end":100' "$WORK/sinks.json"
check_grep "... but an error" '"error":"cursor past the end' "$WORK/sinks.json"
stop_traild
LAST=$("$TRAIL" stats --store "$S/store" --json | sed 's/.*"last_seq":\([0-9]*\).*/\1/')
sed "s/^seq .*/seq $((LAST + 100))/" "$WORK/good.cursor" >"$S/store/sinks/out.cursor"
conf "$S" "$PORT" >"$S.conf"
"$TRAILD" -c "$S.conf" >"$S.sink.log" 2>&1
check "a sink cursor past the store's end refuses the start" test $? -ne 0
check_grep "... naming the sink and by how much" "sink out: .* is at seq $((LAST + 100)), 100 past the store's last seq $LAST" \
    "$S.sink.log"
"$TRAIL" sinks --store "$S/store" --json >"$WORK/sinks.cli.json"
check_grep "trail sinks: no lag for a cursor past the end" '"lag":null,"past_end":[0-9]+' "$WORK/sinks.cli.json"
check_grep "... but an error" '"last_error":"cursor past the end' "$WORK/sinks.cli.json"

# ---- 4: checkpoints removed, tree.roots replaced, while traild runs ----
for victim in checkpoints tree.roots; do
    D=$WORK/$victim
    new_store "$D"
    conf "$D" "$PORT" >"$D.conf"
    start_traild "$D.conf" "$D.log" || exit 1
    check_eq "$victim: events accepted" "$(post "$URL" "$WORK/p1.ndjson")" 200
    if [ "$victim" = checkpoints ]; then
        rm "$D/store/checkpoints"
    else
        cp "$D/store/tree.roots" "$D/store/tree.roots.new" && mv "$D/store/tree.roots.new" "$D/store/tree.roots"
    fi
    # no event comes: the idle check finds it
    check "$victim: found while idle (/healthz failing)" wait_for 30 healthz_failing "$URL"
    curl -s "$URL/healthz" >"$WORK/healthz.json"
    check_grep "$victim: ... naming it" "\"reason\":\"$victim was (removed|replaced)" "$WORK/healthz.json"
    check_eq "$victim: events are refused from then on" "$(post "$URL" "$WORK/p2.ndjson")" 503
    check "$victim: its content is rescued" sh -c "ls $D/store/$victim.rescued-* >/dev/null"
    check "$victim: an EMERGENCY record" wait_for 30 sh -c "ls $D/store/EMERGENCY-*.ndjson >/dev/null 2>&1"
    stop_traild
done

finish
