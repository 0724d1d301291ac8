#!/usr/bin/env bash
# daemon_crash.sh - kill -9 traild while several HTTP clients send events;
# every event whose request got its success answer must be in the store
# afterwards, with the seq the answer gave; the store must verify (trail
# verify), open again (recovery) and keep taking events.
source "$(dirname "$0")/daemon_common.bash"

HPORT=$(free_port)
URL=http://127.0.0.1:$HPORT
CONF=$WORK/traild.conf
cat >"$CONF" <<EOF
[store]
path = $WORK/store
fsync = always
[listen]
http = 127.0.0.1:$HPORT
syslog_udp = off
syslog_tcp = off
[event acme_badge_swiped]
severity = NOTICE
description = A badge was swiped at a door.
schema = duser:string:required:indexed, door:string
EOF
start_traild "$CONF" || exit 1

# four clients, each sending NDJSON batches of 50 until the server goes away;
# each writes "duser seq" for every event of every answer 200 it got
cat >"$WORK/client.py" <<'PY'
import http.client, json, sys
port, name, out = int(sys.argv[1]), sys.argv[2], open(sys.argv[3], "w")
n = 0
try:
    while True:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        users = ["%s-%d" % (name, n + i) for i in range(50)]
        body = "".join(json.dumps({"id": "acme_badge_swiped", "attrs": {"duser": u}}) + "\n"
                       for u in users)
        conn.request("POST", "/v1/events", body, {"Content-Type": "application/x-ndjson"})
        resp = conn.getresponse()
        data = resp.read()
        if resp.status == 200:
            res = json.loads(data)["results"]
            for u, r in zip(users, res):
                out.write("%s %d\n" % (u, r["seq"]))
            out.flush()
        n += 50
        conn.close()
except Exception:
    pass
PY
pids=""
for c in 1 2 3 4; do
    python3 "$WORK/client.py" "$HPORT" "c$c" "$WORK/acked.$c" &
    pids="$pids $!"
done
EXTRA_PIDS=$pids
# let them run until a few thousand events are acknowledged (at most 10 s), then kill -9
for _ in $(seq 1 200); do
    n=$(cat "$WORK"/acked.* 2>/dev/null | wc -l)
    [ "$n" -ge 2000 ] && break
    sleep 0.05
done
kill -9 "$TRAILD_PID"
wait "$TRAILD_PID" 2>/dev/null
TRAILD_PID=""
for p in $pids; do wait "$p" 2>/dev/null; done
EXTRA_PIDS=""
cat "$WORK"/acked.* | sort >"$WORK/acked"
acked=$(wc -l <"$WORK/acked")
check "clients got answers before the kill" test "$acked" -ge 200

# the store as the crash left it (a reader recovers nothing, it reads)
store_dump "$WORK/store" >"$WORK/dump.ndjson"
python3 - "$WORK/dump.ndjson" >"$WORK/stored" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    ev = json.loads(line)
    if ev["id"] == "acme_badge_swiped":
        print(ev["attrs"]["duser"], ev["seq"])
PY
sort -o "$WORK/stored" "$WORK/stored"
missing=$(comm -23 "$WORK/acked" "$WORK/stored" | wc -l)
check_eq "every acknowledged event is stored with its seq ($acked acknowledged)" "$missing" 0
comm -23 "$WORK/acked" "$WORK/stored" | head -3
check "seqs are gapless" python3 -c "
import json, sys
seqs = [json.loads(l)['seq'] for l in open('$WORK/dump.ndjson')]
sys.exit(0 if seqs == list(range(1, len(seqs) + 1)) else 1)"

# the store as the crash left it verifies (a torn tail, if any, is not damage)
"$TRAIL_BIN/trail" verify --store "$WORK/store" >"$WORK/verify1.out" 2>&1
check_eq "the store verifies after kill -9" "$?" 0

# traild opens the store again (recovery) and goes on where it stopped
: >"$WORK/traild2.log"
start_traild "$CONF" "$WORK/traild2.log" || exit 1
printf '%s' '{"id":"acme_badge_swiped","attrs":{"duser":"after"}}' >"$WORK/after.json"
out=$(http_post "$URL/v1/events" "$WORK/after.json")
check_eq "after the crash: accepted" "$(cat "$WORK/http.code")" 200
stop_traild TERM
check_eq "after the crash: clean stop" "$STOP_STATUS" 0
store_dump "$WORK/store" >"$WORK/dump2.ndjson"
check_eq "after the crash: every acknowledged event still there" \
    "$(python3 -c "
import json
s = set((json.loads(l)['attrs'].get('duser'), json.loads(l)['seq']) for l in open('$WORK/dump2.ndjson'))
a = [tuple([x.split()[0], int(x.split()[1])]) for x in open('$WORK/acked')]
print(sum(1 for x in a if x not in s))")" 0
check_grep "after the crash: the new event is stored" '"duser":"after"' "$WORK/dump2.ndjson"
"$TRAIL_BIN/trail" verify --store "$WORK/store" >"$WORK/verify2.out" 2>&1
check_eq "the store verifies after recovery and a clean stop" "$?" 0
finish
