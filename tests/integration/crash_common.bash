# crash_common.bash - what the kill -9 tests of traild share, sourced after
# daemon_common.bash by daemon_crash.sh and daemon_crash_parallel.sh. Their
# events are acme_badge_swiped records, each with a duser of its own, sent
# in NDJSON batches over HTTP; the acknowledgements a client got are lines
# "duser seq" in $WORK/acked.* files.
#
#   crash_write_client BATCH [keep-alive]   writes $WORK/client.py
#   crash_acked_all                         every acknowledgement so far, sorted
#   crash_kill PIDS...                      kill -9 traild, wait for the clients, $WORK/acked
#   crash_check_store LABEL                 after a kill: the store holds what was acknowledged
#   crash_check_restart CONF LOG LABEL      traild recovers the store and goes on
#
# A test's config declares the event as both do:
#   [event acme_badge_swiped] severity = NOTICE, schema = duser:string:required:indexed, door:string

# crash_write_client BATCH [keep-alive]: $WORK/client.py PORT NAME OUT sends
# batches of BATCH events (dusers NAME-0, NAME-1, ...) until the server goes
# away, and writes "duser seq" for every event of every answer 200 it got.
# keep-alive: one connection for all batches, else a new one per batch.
crash_write_client() {
    cat >"$WORK/client.py" <<PY
import http.client, json, sys
port, name, out = int(sys.argv[1]), sys.argv[2], open(sys.argv[3], "w")
batch, keep_alive = $1, "${2:-}" == "keep-alive"
n = 0
conn = None
try:
    while True:
        if conn is None or not keep_alive:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20 if keep_alive else 10)
        users = ["%s-%d" % (name, n + i) for i in range(batch)]
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
        n += batch
        if not keep_alive:
            conn.close()
except Exception:
    pass
PY
}

# crash_start_clients NAME OUT: four $WORK/client.py on $HPORT in the background,
# client c named NAMEc<c> writing $WORK/acked.OUT<c>; their pids added to $pids
crash_start_clients() {
    local c
    for c in 1 2 3 4; do
        python3 "$WORK/client.py" "$HPORT" "${1}c$c" "$WORK/acked.${2}$c" &
        pids="$pids $!"
    done
}

# crash_acked_all: every acknowledgement so far ($WORK/acked.*), "duser seq", sorted
crash_acked_all() {
    cat "$WORK"/acked.* 2>/dev/null | sort
}

# crash_kill PIDS...: kill -9 traild and wait for it, then for the clients PIDS
# (they stop when the server goes away); every acknowledgement they got is
# then in $WORK/acked, sorted
crash_kill() {
    local p
    kill -9 "$TRAILD_PID"
    wait "$TRAILD_PID" 2>/dev/null
    TRAILD_PID=""
    for p in "$@"; do wait "$p" 2>/dev/null; done
    EXTRA_PIDS=""
    crash_acked_all >"$WORK/acked"
}

# crash_check_store LABEL: with traild killed, the store as the crash left it
# (a reader recovers nothing, it reads; $WORK/dump.ndjson) holds every
# acknowledged event ($WORK/acked, sorted) with the seq its answer gave, its
# seqs are gapless, and `trail verify` passes (a torn tail is not damage).
crash_check_store() {
    local label=$1
    store_dump "$WORK/store" >"$WORK/dump.ndjson"
    python3 - "$WORK/dump.ndjson" >"$WORK/stored" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    ev = json.loads(line)
    if ev["id"] == "acme_badge_swiped":
        print(ev["attrs"]["duser"], ev["seq"])
PY
    sort -o "$WORK/stored" "$WORK/stored"
    check_eq "$label: every acknowledged event is stored with its seq ($(wc -l <"$WORK/acked") acknowledged)" \
        "$(comm -23 "$WORK/acked" "$WORK/stored" | wc -l)" 0
    comm -23 "$WORK/acked" "$WORK/stored" | head -3
    check "$label: seqs are gapless" python3 -c "
import json, sys
seqs = [json.loads(l)['seq'] for l in open('$WORK/dump.ndjson')]
sys.exit(0 if seqs == list(range(1, len(seqs) + 1)) else 1)"
    "$TRAIL_BIN/trail" verify --store "$WORK/store" >"$WORK/verify.$label.out" 2>&1
    check_eq "$label: the store verifies after kill -9" "$?" 0
}

# crash_check_restart CONF LOG LABEL: traild opens the store again (recovery),
# takes one more event and stops cleanly; every acknowledged event is still
# there with its seq, the new one is stored, and the store verifies.
crash_check_restart() {
    local conf=$1 log=$2 label=$3
    start_traild "$conf" "$log" || return 1
    printf '%s' '{"id":"acme_badge_swiped","attrs":{"duser":"after"}}' >"$WORK/after.json"
    http_post "$URL/v1/events" "$WORK/after.json" >/dev/null
    check_eq "$label: accepted" "$(cat "$WORK/http.code")" 200
    stop_traild TERM
    check_eq "$label: clean stop" "$STOP_STATUS" 0
    store_dump "$WORK/store" >"$WORK/dump2.ndjson"
    check_eq "$label: every acknowledged event still there" \
        "$(python3 -c "
import json
s = set((json.loads(l)['attrs'].get('duser'), json.loads(l)['seq']) for l in open('$WORK/dump2.ndjson'))
a = [tuple([x.split()[0], int(x.split()[1])]) for x in open('$WORK/acked')]
print(sum(1 for x in a if x not in s))")" 0
    check_grep "$label: the new event is stored" '"duser":"after"' "$WORK/dump2.ndjson"
    "$TRAIL_BIN/trail" verify --store "$WORK/store" >"$WORK/verify.$label.out" 2>&1
    check_eq "$label: the store verifies after recovery and a clean stop" "$?" 0
}
