#!/usr/bin/env bash
# soak_short.sh - traild under load from several HTTP clients while it is
# killed with SIGKILL and restarted in a loop and its webhook sink's
# receiver fails (503s, hangs) and goes away and comes back; then the store
# must verify and hold exactly what was acknowledged: nothing lost, nothing
# duplicated, nothing stored that traild said it did not store, and the
# sink must have delivered every stored event (at least once).
#
# Each client sends NDJSON batches of events with uuids it makes, never
# resends a batch, and sorts every uuid it sent into one of:
#   acked    200 and a seq for it: must be in the store, once
#   refused  503 ("nothing was stored") or the connection refused: must not be
#   doubt    sent, and the connection died before the answer (traild killed):
#            may or may not be in the store, at most once
# Bounded: SOAK_SECONDS of load (default 40) and at most SOAK_DRAIN_S (60) of
# draining.
# bench/soak.sh runs it for longer with more clients.
source "$(dirname "$0")/daemon_common.bash"

TRAIL="$TRAIL_BIN/trail"
SOAK_SECONDS=${SOAK_SECONDS:-40}
SOAK_CLIENTS=${SOAK_CLIENTS:-3}
SOAK_RATE=${SOAK_RATE:-400}         # events/s per client
SOAK_BATCH=${SOAK_BATCH:-20}        # events per request
SOAK_KILL_MIN_MS=${SOAK_KILL_MIN_MS:-2000}
SOAK_KILL_MAX_MS=${SOAK_KILL_MAX_MS:-5000}
SOAK_DRAIN_S=${SOAK_DRAIN_S:-60}     # the most the sink may take to catch up at the end

HPORT=$(free_port)
URL=http://127.0.0.1:$HPORT
RECV=$WORK/recv
mkdir -p "$RECV"
start_receiver() { # start_receiver [PORT]
    : >"$WORK/recv.port"
    python3 "$TRAIL_SOURCE_DIR/tests/integration/sink_webhook_receiver.py" "$WORK/recv.port" \
        "$RECV" --fail-every 5 --hang-every 11 --hang-s 1.5 ${1:+--port "$1"} &
    RECV_PID=$!
    EXTRA_PIDS="$EXTRA_PIDS $RECV_PID"
    for _ in $(seq 1 100); do
        [ -s "$WORK/recv.port" ] && break
        sleep 0.05
    done
}
start_receiver
RPORT=$(cat "$WORK/recv.port")

CONF=$WORK/traild.conf
cat >"$CONF" <<EOF
[store]
path = $WORK/store
fsync = interval
fsync_interval_ms = 5
[listen]
http = 127.0.0.1:$HPORT
syslog_udp = off
syslog_tcp = off
[sink hook]
type = webhook
url = http://127.0.0.1:$RPORT/events
timeout_ms = 700
batch_events = 200
retry_min_ms = 20
retry_max_ms = 300
EOF

cat >"$WORK/client.py" <<'PY'
import http.client, json, sys, time, uuid
port, name, seconds, rate, batch, prefix = (int(sys.argv[1]), sys.argv[2], float(sys.argv[3]),
                                            float(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
out = {k: open(prefix + "." + k, "w") for k in ("acked", "refused", "doubt", "problems")}
deadline = time.time() + seconds
n = 0
next_t = time.time()
while time.time() < deadline:
    uuids = [str(uuid.uuid4()) for _ in range(batch)]
    body = "\n".join(json.dumps({"id": "core_server_run_started", "uuid": u,
                                 "attrs": {"msg": "soak %s %d" % (name, n + i)}})
                     for i, u in enumerate(uuids)) + "\n"
    n += batch
    sent = False
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        c.connect()
        sent = True
        c.request("POST", "/v1/events", body, {"Content-Type": "application/x-ndjson"})
        r = c.getresponse()
        data = r.read()
        c.close()
        if r.status == 200:
            results = json.loads(data)["results"]
            if len(results) != batch:
                out["problems"].write("%d results for %d events\n" % (len(results), batch))
            for u, item in zip(uuids, results):
                if "seq" in item and item.get("uuid") == u:
                    out["acked"].write(u + "\n")
                else:
                    out["problems"].write("item %s: %s\n" % (u, json.dumps(item)))
        elif r.status == 503:
            for u in uuids:
                out["refused"].write(u + "\n")
        else:
            out["problems"].write("status %d: %s\n" % (r.status, data[:200]))
    except ConnectionRefusedError:
        for u in uuids:
            out["refused"].write(u + "\n")
        time.sleep(0.05)
    except (OSError, http.client.HTTPException, ValueError):
        for u in uuids:
            out["doubt" if sent else "refused"].write(u + "\n")
        time.sleep(0.05)
    next_t += batch / rate
    delay = next_t - time.time()
    if delay > 0:
        time.sleep(delay)
    else:
        next_t = time.time()
for f in out.values():
    f.close()
PY

ROUND=0
start_traild "$CONF" "$WORK/traild.$ROUND.log" || exit 1
CLIENT_PIDS=""
for i in $(seq 1 "$SOAK_CLIENTS"); do
    python3 "$WORK/client.py" "$HPORT" "c$i" "$SOAK_SECONDS" "$SOAK_RATE" "$SOAK_BATCH" \
        "$WORK/c$i" &
    CLIENT_PIDS="$CLIENT_PIDS $!"
done
EXTRA_PIDS="$EXTRA_PIDS $CLIENT_PIDS"

# kill -9 and restart in a loop; the receiver goes away for a while in the middle
t_end=$(($(date +%s) + SOAK_SECONDS))
receiver_down=0
while [ "$(date +%s)" -lt "$t_end" ]; do
    ms=$((SOAK_KILL_MIN_MS + RANDOM % (SOAK_KILL_MAX_MS - SOAK_KILL_MIN_MS + 1)))
    sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
    kill -9 "$TRAILD_PID" 2>/dev/null
    wait "$TRAILD_PID" 2>/dev/null
    ROUND=$((ROUND + 1))
    left=$((t_end - $(date +%s)))
    if [ "$receiver_down" = 0 ] && [ "$left" -lt $((SOAK_SECONDS * 2 / 3)) ]; then
        kill -9 "$RECV_PID" 2>/dev/null
        wait "$RECV_PID" 2>/dev/null
        receiver_down=1
    elif [ "$receiver_down" = 1 ] && [ "$left" -lt $((SOAK_SECONDS / 3)) ]; then
        start_receiver "$RPORT"
        receiver_down=2
    fi
    start_traild "$CONF" "$WORK/traild.$ROUND.log" || break
done
[ "$receiver_down" = 1 ] && start_receiver "$RPORT"
# shellcheck disable=SC2086
wait $CLIENT_PIDS
check "traild killed with SIGKILL and restarted $ROUND times" test "$ROUND" -ge 3
if ! kill -0 "$TRAILD_PID" 2>/dev/null; then
    start_traild "$CONF" "$WORK/traild.final.log" || exit 1
fi

# the sink catches up: its cursor reaches the durable seq
caught_up=0
for _ in $(seq 1 $((SOAK_DRAIN_S * 10))); do
    if curl -s "$URL/v1/sinks" | python3 -c '
import json, sys
d = json.load(sys.stdin)
s = d["sinks"][0]
sys.exit(0 if s["cursor"] >= d["durable_seq"] else 1)' 2>/dev/null; then
        caught_up=1
        break
    fi
    sleep 0.1
done
check_eq "the webhook sink caught up after its receiver came back" "$caught_up" 1
stop_traild
check_eq "traild stopped cleanly at the end" "$STOP_STATUS" 0

"$TRAIL" verify --store "$WORK/store" >"$WORK/verify.out" 2>&1
check_eq "the store verifies after $ROUND kills" "$?" 0
"$TRAIL" export --store "$WORK/store" >"$WORK/export.ndjson"
check_eq "trail export reads the store" "$?" 0

cat "$WORK"/c*.acked | sort >"$WORK/acked"
cat "$WORK"/c*.refused | sort >"$WORK/refused"
cat "$WORK"/c*.doubt | sort >"$WORK/doubt"
cat "$WORK"/c*.problems >"$WORK/problems"
python3 - "$WORK/export.ndjson" >"$WORK/stored.all" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["id"] == "core_server_run_started" and e.get("attrs", {}).get("msg", "").startswith("soak "):
        print(e["uuid"])
PY
sort "$WORK/stored.all" >"$WORK/stored"
sort -u "$WORK/stored" >"$WORK/stored.uniq"
n_acked=$(wc -l <"$WORK/acked")
n_refused=$(wc -l <"$WORK/refused")
n_doubt=$(wc -l <"$WORK/doubt")
n_stored=$(wc -l <"$WORK/stored")
lost=$(comm -23 "$WORK/acked" "$WORK/stored.uniq" | wc -l)
phantom=$(comm -12 "$WORK/refused" "$WORK/stored.uniq" | wc -l)
doubt_stored=$(comm -12 "$WORK/doubt" "$WORK/stored.uniq" | wc -l)
sort -u "$WORK/acked" "$WORK/refused" "$WORK/doubt" >"$WORK/sent"
unknown=$(comm -13 "$WORK/sent" "$WORK/stored.uniq" | wc -l)
echo "soak: $ROUND kills; sent $((n_acked + n_refused + n_doubt)): acknowledged $n_acked," \
    "refused $n_refused, in doubt $n_doubt (of which stored $doubt_stored); stored $n_stored"
check "load reached the store (acknowledged $n_acked)" test "$n_acked" -ge 1000
check_eq "the clients saw no malformed answers" "$(wc -l <"$WORK/problems")" 0
check_eq "nothing acknowledged is lost" "$lost" 0
check_eq "nothing is stored twice" "$n_stored" "$(wc -l <"$WORK/stored.uniq")"
check_eq "nothing answered 503 or refused is stored" "$phantom" 0
check_eq "nothing stored that no client sent" "$unknown" 0
check_eq "stored = acknowledged + the in-doubt ones that made it" "$n_stored" "$((n_acked + doubt_stored))"

# the sink delivered every stored event at least once (the receiver deduplicates by uuid)
python3 - "$RECV/events.ndjson" "$WORK/export.ndjson" >"$WORK/sink.out" <<'PY'
import json, sys
got = {}
for line in open(sys.argv[1]):
    line = line.strip()
    if line:
        u = json.loads(line)["uuid"]
        got[u] = got.get(u, 0) + 1
stored = [json.loads(l) for l in open(sys.argv[2])]
# the last record, trail_run_stopped, is written after the sinks stop: the
# next start delivers it
if stored and stored[-1]["id"] == "trail_run_stopped":
    stored.pop()
missing = [e["seq"] for e in stored if e["uuid"] not in got]
print("stored %d delivered %d distinct, %d duplicate deliveries, missing %d%s"
      % (len(stored), len(got), sum(got.values()) - len(got), len(missing),
         (" (seq %s)" % missing[:10]) if missing else ""))
PY
cat "$WORK/sink.out"
check_grep "sink: every stored event delivered (but the final stop event)" 'missing 0$' "$WORK/sink.out"
check "sink: its receiver failed requests along the way" grep -Eq ' (503|0) ' "$RECV/requests.log"
finish
