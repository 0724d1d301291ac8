#!/usr/bin/env bash
# run-daemon.sh - the `make run` demo once build/traild exists (scripts/run-demo.sh
# calls it): start traild on ./var (store ./var/store, HTTP on 127.0.0.1:8080,
# syslog on 127.0.0.1:5514 UDP and TCP, a Unix socket ./var/traild.sock, the
# rule pack of rules/ under [detect]), load a short demo workload with attacks
# in it through two of its inputs, say what to try next, and keep traild in
# the foreground until Ctrl-C (which stops it cleanly).
#
# Environment: TRAIL_BIN (build), TRAIL_VAR (var), TRAIL_HTTP (127.0.0.1:8080),
# TRAIL_SYSLOG (127.0.0.1:5514), DEMO_EVENTS (5000), DEMO_ATTACKS (all: the
# attacks of `trail loadgen --attack` added to the workload; none for none).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${TRAIL_BIN:-build}
VAR=${TRAIL_VAR:-var}
HTTP=${TRAIL_HTTP:-127.0.0.1:8080}
SYSLOG=${TRAIL_SYSLOG:-127.0.0.1:5514}
DEMO_EVENTS=${DEMO_EVENTS:-5000}
DEMO_ATTACKS=${DEMO_ATTACKS:-all}
RULES=$(pwd)/rules
URL=http://$HTTP
mkdir -p "$VAR"
VAR=$(cd "$VAR" && pwd)

# a signing key for checkpoints, made once
KEY_LINE="#signing_key ="
if [ -f "$VAR/trail.key" ]; then
    KEY_LINE="signing_key = $VAR/trail.key"
elif "$BIN/trail" keygen --out "$VAR/trail" >/dev/null 2>&1; then
    KEY_LINE="signing_key = $VAR/trail.key"
fi

CONF=$VAR/trail.conf
cat >"$CONF" <<EOF
# written by scripts/run-daemon.sh (make run); trail.conf.example documents every key
[store]
path = $VAR/store
fsync = always
$KEY_LINE
checkpoint_interval_s = 10
[listen]
http = $HTTP
syslog_udp = $SYSLOG
syslog_tcp = $SYSLOG
unix = $VAR/traild.sock
[validation]
policy = strict
[detect]
# trail's rule pack (rules/README.md): each firing is a trail_alert record
rules = $RULES
[event acme_badge_swiped]
severity = NOTICE
description = A badge was swiped at a door (a custom event of the demo).
schema = duser:string:required:indexed, door:string:required, src:ip
EOF

LOG=$VAR/traild.log
: >"$LOG"
"$BIN/traild" -c "$CONF" 2> >(tee -a "$LOG" >&2) &
TRAILD=$!
stop() {
    trap - INT TERM
    echo
    echo "== stopping traild (SIGTERM: drain, make durable, final checkpoint)"
    kill -TERM "$TRAILD" 2>/dev/null || true
    wait "$TRAILD" 2>/dev/null || true
    exit 0
}
trap stop INT TERM
# should this script fail, traild must not be left behind
trap 'kill -TERM "$TRAILD" 2>/dev/null || true' EXIT

for _ in $(seq 1 100); do
    grep -q "info: started:" "$LOG" && break
    if ! kill -0 "$TRAILD" 2>/dev/null; then
        echo "traild did not start; see above (is $HTTP or $SYSLOG in use?)" >&2
        exit 1
    fi
    sleep 0.1
done

echo
ATTACK_OPT=()
[ "$DEMO_ATTACKS" = none ] || ATTACK_OPT=(--attack "$DEMO_ATTACKS")
echo "== demo workload 1: $DEMO_EVENTS simulated identity-server events as NDJSON over HTTP,"
echo "   a week of them with attacks in it (${DEMO_ATTACKS}) that the rule pack alerts on"
"$BIN/trail" loadgen -n "$DEMO_EVENTS" -d 7 "${ATTACK_OPT[@]}" --format ndjson >"$VAR/demo.ndjson"
curl -s -H 'Content-Type: application/x-ndjson' --data-binary @"$VAR/demo.ndjson" \
    -o "$VAR/demo.answer" "$URL/v1/events" || true
echo "$(head -c 150 "$VAR/demo.answer") ..."

echo
echo "== demo workload 2: the sample event.log (CEF lines) as RFC 3164 syslog over TCP"
if command -v logger >/dev/null; then
    logger --rfc3164 --tcp -n "${SYSLOG%:*}" -P "${SYSLOG##*:}" -t pas \
        -f tests/data/pas-event.log
    sleep 0.5
    curl -s "$URL/metrics" | grep '^trail_events_in_total{input="syslog_tcp"}' || true
else
    echo "   (logger from util-linux is not installed: skipped)"
fi

echo
echo "== the rule pack's alerts on them (trail_alert records: the viewer's Alerts page)"
# the detector follows ingest on a thread of its own: wait until it has caught up
caught_up() { curl -s "$URL/metrics" | grep -q '^trail_detect_lag_events 0$'; }
for _ in $(seq 1 100); do
    caught_up && break
    sleep 0.1
done
"$BIN/trail" count --url "$URL" --event trail_alert --by rule 2>/dev/null || true
echo
echo "== traild is running: store $VAR/store, HTTP $URL, syslog $SYSLOG (UDP, TCP)"
cat <<EOF

Try next (in another terminal):
  open $URL/ in a browser     # the web viewer: search, histogram, live mode, proofs
  open $URL/?view=alerts      # the alerts the rule pack raised on the demo's attacks
  $BIN/trail query --url $URL --event trail_alert --severity '>=ERROR'
  $BIN/trail rules test $RULES --events $VAR/demo.ndjson
  $BIN/trail query --url $URL --severity '>=WARNING' --limit 10
  $BIN/trail count --url $URL --by event
  $BIN/trail tail -f --url $URL
  $BIN/trail verify --store $VAR/store
  curl -s $URL/healthz
  curl -s $URL/metrics | grep ^trail_
  curl -s $URL/v1/catalog | head -c 600
  curl -s $URL/v1/checkpoint
  curl -s -X POST $URL/v1/events \\
       -d '{"id":"acme_badge_swiped","attrs":{"duser":"alice","door":"B2"}}'
  curl -s -X POST $URL/v1/events -d '{"id":"acme_badge_swiped","attrs":{}}'   # rejected: says why
  logger --rfc5424 --tcp -n ${SYSLOG%:*} -P ${SYSLOG##*:} --sd-id trail@32473 \\
       --sd-param 'duser="bob"' --sd-param 'door="C3"' --msgid acme_badge_swiped 'badge'
  $BIN/trail emit auth_entrypoints_oidc_logout phxEntrypointId=oidc1 phxEntrypointType=OIDC \\
       phxTraceId='#Kq2mX81bVdPz4tRw' --url $URL
  kill -HUP $TRAILD        # reload $CONF
Logs: $LOG. Ctrl-C stops traild.
EOF
wait "$TRAILD" || true
