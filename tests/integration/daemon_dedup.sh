#!/usr/bin/env bash
# daemon_dedup.sh - idempotent ingest: an event whose producer uuid is
# stored already is answered with the original seq and not stored again:
# a retry, a batch resent after a client timeout, two connections sending
# the same batch at once, a stream resending, and a batch resent after
# traild was killed (kill -9) anywhere between receiving it and answering,
# 50 times (DEDUP_ROUNDS; make test's sanitizer passes run 10). Events without a uuid are never deduplicated.
source "$(dirname "$0")/daemon_common.bash"
TRAIL=$TRAIL_BIN/trail
PORT=$(free_port)
TCP=$(free_port)
URL=http://127.0.0.1:$PORT
{
    base_conf "$WORK" | sed '/^\[listen\]/,/^syslog_tcp/d'
    cat <<EOF
[listen]
http = 127.0.0.1:$PORT
syslog_udp = off
syslog_tcp = 127.0.0.1:$TCP
EOF
} >"$WORK/traild.conf"
start_traild "$WORK/traild.conf" || exit 1
post() { curl -s -o "$WORK/out.json" -w '%{http_code}' --data-binary "$@" "$URL/v1/events"; }
count() { curl -s "$URL/v1/count?$1" | sed -n 's/.*"total":\([0-9]*\).*/\1/p'; }

# a retry of one event: 200 twice, the same seq, stored once
EV='{"id":"acme_badge_swiped","uuid":"11111111-2222-4333-8444-555555555555","attrs":{"duser":"retry"}}'
check_eq "first send: 200" "$(post "$EV")" 200
first=$(cat "$WORK/out.json")
check_eq "the retry: 200" "$(post "$EV")" 200
second=$(cat "$WORK/out.json")
seq1=$(sed -n 's/.*"seq":\([0-9]*\).*/\1/p' <<<"$first")
check_grep "the retry names the original seq and uuid and says duplicate" \
    "^\\{\"accepted\":1,\"rejected\":0,\"duplicates\":1,\"results\":\\[\\{\"seq\":$seq1,\"uuid\":\"11111111-2222-4333-8444-555555555555\",\"duplicate\":true\\}\\]\\}" \
    <(echo "$second")
check_eq "the first answer is not a duplicate" "$(grep -c duplicate <<<"$first")" 0
check_eq "stored once" "$(count 'where=duser%3Dretry')" 1

# without a uuid: two identical events are two events
NOUUID='{"id":"acme_badge_swiped","attrs":{"duser":"twice"}}'
post "$NOUUID" >/dev/null
post "$NOUUID" >/dev/null
check_eq "no uuid: stored twice" "$(count 'where=duser%3Dtwice')" 2

# a 2,000-event batch sent with a client timeout, then again: 2,000 stored
python3 - "$WORK/batch.ndjson" <<'PY'
import json, sys, uuid
with open(sys.argv[1], "w") as f:
    for i in range(2000):
        u = str(uuid.UUID(int=(0xaaaa << 112) | i, version=4))
        f.write(json.dumps({"id": "acme_badge_swiped", "uuid": u, "attrs": {"duser": "batch", "attempts": i}}) + "\n")
PY
curl -s -m 0.001 --data-binary @"$WORK/batch.ndjson" "$URL/v1/events" >/dev/null 2>&1
check_eq "the batch again: 200" "$(post @"$WORK/batch.ndjson")" 200
check_eq "after a timed-out send and a resend: 2000 stored" "$(count 'where=duser%3Dbatch')" 2000
# two connections with the same batch at once
sed 's/"batch"/"twin"/; s/"aaaa/"bbbb/' "$WORK/batch.ndjson" | python3 -c '
import sys, json, uuid
for i, l in enumerate(sys.stdin):
    e = json.loads(l); e["uuid"] = str(uuid.UUID(int=(0xbbbb << 112) | i, version=4)); print(json.dumps(e))' >"$WORK/twin.ndjson"
curl -s -o "$WORK/twin1" --data-binary @"$WORK/twin.ndjson" "$URL/v1/events" &
c1=$!
curl -s -o "$WORK/twin2" --data-binary @"$WORK/twin.ndjson" "$URL/v1/events" &
c2=$!
wait "$c1" "$c2"
check_eq "two connections, one batch: 2000 stored" "$(count 'where=duser%3Dtwin')" 2000
check_eq "... and 2000 answers say duplicate" "$(cat "$WORK/twin1" "$WORK/twin2" | grep -o '"duplicate":true' | wc -l)" 2000

# a stream resending: counted, not stored
python3 - "$TCP" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
m = b'<13>1 - h app - acme_badge_swiped [trail@32473 duser="tcp-dup" uuid="22222222-2222-4333-8444-555555555555"] x\n'
s.sendall(m * 3)
s.close()
PY
check "syslog: the resent messages are counted as duplicates" \
    wait_metric "$URL" '^trail_events_duplicate_total\{input="syslog_tcp"\} 2$'
check_eq "syslog: stored once" "$(count 'where=duser%3Dtcp-dup')" 1

# kill -9 between receiving a batch and answering it, then the whole batch again: once.
# Each round's traild is the one that took the previous round's resend: it
# was started after a kill -9 too, so every start but the first recovers.
rounds=${DEDUP_ROUNDS:-50}
# every round's batch of 300 (uuids of its own, duser killROUND), made at once
python3 - "$WORK" "$rounds" <<'PY'
import json, sys, uuid
for r in range(1, int(sys.argv[2]) + 1):
    with open("%s/kill-%d.ndjson" % (sys.argv[1], r), "w") as f:
        for i in range(300):
            u = str(uuid.UUID(int=(0xcccc << 112) | (r << 32) | i, version=4))
            f.write(json.dumps({"id": "acme_badge_swiped", "uuid": u, "attrs": {"duser": "kill%d" % r}}) + "\n")
PY
stop_traild TERM
bad=0
after=0 # rounds whose kill came after the batch was durable: the resend is all duplicates
# a log of each start's own: start_traild waits for its "started" line
start_traild "$WORK/traild.conf" "$WORK/kill-0.log" || bad=1
for round in $(seq 1 "$rounds"); do
    [ "$bad" = 0 ] || break
    batch=$WORK/kill-$round.ndjson
    curl -s -o /dev/null --data-binary @"$batch" "$URL/v1/events" &
    cpid=$!
    # the kill lands anywhere: before the batch is durable, after it, before the answer;
    # on a machine so slow that no kill has landed after durability by the last
    # round, that one lands after the answer (the batch durable for sure)
    if [ "$round" = "$rounds" ] && [ "$after" = 0 ]; then
        wait "$cpid" 2>/dev/null
    else
        sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
    fi
    kill -9 "$TRAILD_PID"
    wait "$TRAILD_PID" 2>/dev/null
    wait "$cpid" 2>/dev/null
    start_traild "$WORK/traild.conf" "$WORK/kill-$round.log" || { bad=$((bad + 1)); break; }
    code=$(post @"$batch")
    grep -q '"duplicates":300,' "$WORK/out.json" && after=$((after + 1))
    n=$(count "where=duser%3Dkill$round")
    if [ "$code" != 200 ] || [ "$n" != 300 ]; then
        echo "round $round: answer $code, stored $n of 300"
        bad=$((bad + 1))
    fi
done
stop_traild TERM
check_eq "the last traild stopped cleanly" "$STOP_STATUS" 0
check_eq "kill -9 x $rounds, then the batch again: every event stored exactly once" "$bad" 0
echo "kill -9: in $after of $rounds rounds the batch was durable before the kill"
check "some kills came after the batch was durable (the store remembered its uuids)" test "$after" -gt 0
"$TRAIL" verify --store "$WORK/store" >"$WORK/verify.out" 2>&1
check_eq "the store verifies" "$?" 0
finish
