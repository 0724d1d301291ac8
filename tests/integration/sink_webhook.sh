#!/usr/bin/env bash
# sink_webhook.sh - traild's webhook sink against a local receiver
# (sink_webhook_receiver.py) that answers 503 to every third request and
# sometimes hangs past the sink's timeout after keeping the batch: every
# event must arrive, each exactly once after deduplication by uuid, with
# exactly the JSON the store holds; the auth header and the idempotency key
# are sent; a second sink maps to OCSF; a third sends the wrong auth header
# and must deliver nothing, lag, and say why.
source "$(dirname "$0")/daemon_common.bash"

HPORT=$(free_port)
URL=http://127.0.0.1:$HPORT
RECV=$WORK/recv
mkdir -p "$RECV"
python3 "$TRAIL_SOURCE_DIR/tests/integration/sink_webhook_receiver.py" "$WORK/recv.port" \
    "$RECV" --fail-every 3 --hang-every 7 --hang-s 2 --auth "Authorization: Bearer s3cret" &
EXTRA_PIDS="$EXTRA_PIDS $!"
for _ in $(seq 1 100); do
    [ -s "$WORK/recv.port" ] && break
    sleep 0.05
done
RPORT=$(cat "$WORK/recv.port")

# an HTTPS receiver with a certificate from a throwaway CA
(
    cd "$WORK" || exit 1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key \
        -out ca.pem -days 2 -subj "/CN=trail test CA" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout srv.key \
        -out srv.csr -subj "/CN=localhost" 2>/dev/null
    printf 'subjectAltName=DNS:localhost\n' >ext
    openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem \
        -days 2 -extfile ext 2>/dev/null
) || exit 1
mkdir -p "$WORK/recvtls"
python3 "$TRAIL_SOURCE_DIR/tests/integration/sink_webhook_receiver.py" "$WORK/recvtls.port" \
    "$WORK/recvtls" --tls "$WORK/srv.pem" "$WORK/srv.key" &
EXTRA_PIDS="$EXTRA_PIDS $!"
for _ in $(seq 1 100); do
    [ -s "$WORK/recvtls.port" ] && break
    sleep 0.05
done
TPORT=$(cat "$WORK/recvtls.port")

CONF=$WORK/traild.conf
cat >"$CONF" <<EOF
[store]
path = $WORK/store
fsync = always
[listen]
http = 127.0.0.1:$HPORT
syslog_udp = off
syslog_tcp = off
[sink hook]
type = webhook
url = http://127.0.0.1:$RPORT/events
auth_header = Authorization: Bearer s3cret
timeout_ms = 700
batch_events = 25
retry_min_ms = 20
retry_max_ms = 200
[sink ocsf]
type = webhook
url = http://127.0.0.1:$RPORT/ocsf
mapping = ocsf
auth_header = Authorization: Bearer s3cret
timeout_ms = 700
batch_events = 40
retry_min_ms = 20
retry_max_ms = 200
[sink https]
type = webhook
url = https://localhost:$TPORT/tls
ca = $WORK/ca.pem
mapping = ecs
retry_min_ms = 50
retry_max_ms = 200
[sink httpsip]
type = webhook
url = https://127.0.0.1:$TPORT/ip
ca = $WORK/ca.pem
retry_min_ms = 50
retry_max_ms = 100
[sink noauth]
type = webhook
url = http://127.0.0.1:$RPORT/noauth
auth_header = Authorization: Bearer wrong
retry_min_ms = 50
retry_max_ms = 100
EOF
start_traild "$CONF" || exit 1

"$TRAIL_BIN/trail" loadgen -n 400 -s 7 >"$WORK/events.ndjson"
split -l 100 "$WORK/events.ndjson" "$WORK/part."
for p in "$WORK"/part.*; do
    http_post "$URL/v1/events" "$p" application/x-ndjson >/dev/null
    check_eq "batch $(basename "$p") accepted" "$(cat "$WORK/http.code")" 200
done

store_last() { "$TRAIL_BIN/trail" stats --store "$WORK/store" --json | sed 's/.*"last_seq":\([0-9]*\).*/\1/'; }
wait_cursor() { # NAME SEQ
    for _ in $(seq 1 600); do
        local c
        c=$(sed -n 's/^seq //p' "$WORK/store/sinks/$1.cursor" 2>/dev/null)
        if [ -n "$c" ] && [ "$c" -ge "$2" ]; then
            return 0
        fi
        sleep 0.05
    done
    return 1
}
LAST=$(store_last)
check "hook sink delivers up to seq $LAST" wait_cursor hook "$LAST"
check "ocsf sink delivers up to seq $LAST" wait_cursor ocsf "$LAST"
check "https sink (certificate checked) delivers up to seq $LAST" wait_cursor https "$LAST"

store_dump "$WORK/store" >"$WORK/store.ndjson"
python3 - "$WORK/store.ndjson" "$RECV" <<'PY' >"$WORK/compare.out" 2>&1
import json, sys
store = [json.loads(l) for l in open(sys.argv[1])]
recv = sys.argv[2]
bad = 0
def fail(msg):
    global bad
    bad += 1
    print("FAIL " + msg)

got = [json.loads(l) for l in open(recv + "/events.ndjson")]
byuuid = {}
for e in got:
    byuuid.setdefault(e["uuid"], []).append(e)
want = {e["uuid"]: e for e in store}
if set(byuuid) != set(want):
    fail("uuids: %d missing, %d unexpected" % (len(set(want) - set(byuuid)),
                                               len(set(byuuid) - set(want))))
for u, copies in byuuid.items():
    for c in copies:
        if c != want.get(u):
            fail("event %s differs from the store: %r" % (u, c))
            break
dups = len(got) - len(byuuid)
print("events: %d stored, %d received, %d distinct, %d duplicates" %
      (len(store), len(got), len(byuuid), dups))
# order: the first copy of each event arrives in seq order
seqs, seen = [], set()
for e in got:
    if e["uuid"] not in seen:
        seen.add(e["uuid"]); seqs.append(e["seq"])
if seqs != sorted(seqs):
    fail("first copies not in seq order")

oc = [json.loads(l) for l in open(recv + "/ocsf.ndjson")]
ouids = {e["metadata"]["uid"] for e in oc}
if ouids != set(want):
    fail("ocsf: uuids differ (%d vs %d)" % (len(ouids), len(want)))
for e in oc:
    s = want.get(e["metadata"]["uid"])
    if not s:
        continue
    if e["class_uid"] != 3002 or e["metadata"]["event_code"] != s["id"] or \
       e["metadata"]["sequence"] != s["seq"] or e["unmapped"] != s["attrs"]:
        fail("ocsf event %s does not match the store" % s["uuid"])
        break

reqs = [l.split() for l in open(recv + "/requests.log")]
st = [r[2] for r in reqs]
print("requests: %d, 503: %d, hangs: %d, 401: %d" %
      (len(reqs), st.count("503"), sum(1 for r in reqs if r[-1] == "hang"), st.count("401")))
if st.count("503") == 0 or not any(r[-1] == "hang" for r in reqs):
    fail("the receiver never failed or hung: the test proves nothing")
# a request that hangs past the sink's timeout (2 s against 700 ms) has kept
# its batch, and the sink sends it again: each path that hung has duplicates
odups = len(oc) - len(ouids)
for path, n in (("events", dups), ("ocsf", odups)):
    if any(r[1] == path and r[-1] == "hang" for r in reqs) and n == 0:
        fail("no duplicates on %s although its requests hung past the timeout" % path)
for r in reqs:
    if r[1] == "events" and r[4] == "None":
        fail("a request without an idempotency key")
        break
noauth = [r for r in reqs if r[1] == "noauth"]
if not noauth or any(r[2] != "401" for r in noauth):
    fail("the wrong auth header was not refused every time")
print("%d problems" % bad)
sys.exit(1 if bad else 0)
PY
COMPARE=$?
cat "$WORK/compare.out" | tail -6
check "every event delivered, exactly once after dedup by uuid, as stored" test "$COMPARE" -eq 0

"$TRAIL_BIN/trail" sinks --store "$WORK/store" >"$WORK/sinks.txt"
check_grep "trail sinks: noauth lags with the HTTP 401" '^noauth +webhook +[0-9]+ +[1-9][0-9]* .*HTTP 401' \
    "$WORK/sinks.txt"
check_grep "trail sinks: hook has lag 0" "^hook +webhook +$LAST +0 " "$WORK/sinks.txt"
check_grep "trail sinks: a certificate without the IP is refused" \
    '^httpsip +webhook +0 .*(certificate|IP address mismatch)' "$WORK/sinks.txt"
check_eq "https: every event once, as ECS" \
    "$(python3 -c 'import json,sys; print(sorted(json.loads(l)["event"]["id"] for l in open(sys.argv[1])) == sorted(json.loads(l)["uuid"] for l in open(sys.argv[2])))' \
        "$WORK/recvtls/tls.ndjson" "$WORK/store.ndjson")" True
check "retries are counted" wait_metric "$URL" 'trail_sink_errors_total\{sink="hook",type="webhook"\} [1-9]'
check "noauth lag is a metric" wait_metric "$URL" 'trail_sink_lag_events\{sink="noauth",type="webhook"\} [1-9]'

stop_traild
check_eq "traild stopped cleanly while a sink was failing" "$STOP_STATUS" 0
finish
