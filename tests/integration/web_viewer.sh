#!/usr/bin/env bash
# web_viewer.sh - the web viewer in a real browser: a store filled by the
# generator (the three days up to the hour of one instant, TEST_NOW, read
# once: the clock, or TRAIL_TEST_NOW), a few ERROR and CRITICAL events
# posted at setup, traild serving it with a signing key,
# a custom event and two sinks (one delivering, one refused), then the
# Playwright tests of tests/web/run.mjs driving Debian's chromium headless
# (search, counts against the test's own brute force, paging, histogram, detail and
# proof, tampered proofs, live mode, catalog, integrity, keyboard, login,
# phone layout, headers, alerts and rules, the search's marks of cited
# events, the Reports page: the pack, a run and its downloads, trail-health's
# sinks and checkpoints against the store's own files). Authentication is on: an admin token, which the pages start with
# (the login test signs in with it). Screenshots go to
# $TRAIL_BUILD_DIR/web-artifacts/ (web-artifacts@TIME/ under tests/at_time.sh).
#
# Whatever the clock says: what the browser tests assert comes from this data
# (counts against tests/integration/oracle.py over the generated NDJSON and
# the records stored after it, the histogram over the generated span), the
# browser's clock is pinned to TEST_NOW by Playwright (run.mjs), and the
# setup's own ERROR/CRITICAL events make `>=ERROR` match, which the generator
# alone does not at every hour. ctest also runs it with the clock moved
# (tests/at_time.sh, libfaketime): integration/web_viewer@2026-12-06T23:30Z.
# There the setup's checks all run, and of the browser tests those tagged
# `clock` in run.mjs (WEB_TEST_TAG=clock: the browser's clock, the histogram,
# search by severity with its histogram, live mode, integrity, the phone
# list): the others (proofs, catalog, keyboard, login, paging, assets) do
# not depend on the clock, and the unmoved run has them. WEB_TEST_TAG= runs
# them all at a moved clock too.
#
# Needs node, npm and /usr/bin/chromium (scripts/install-deps.sh test);
# `npm ci` installs playwright-core into tests/web/node_modules (never a
# browser).
source "$(dirname "$0")/daemon_common.bash"

WEB_DIR="$TRAIL_SOURCE_DIR/tests/web"
ART="${TRAIL_BUILD_DIR:-$TRAIL_BIN}/web-artifacts${TRAIL_TEST_AT:+@$(date -u -d "@$TRAIL_TEST_AT" +%FT%H%MZ)}"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

for tool in node npm "$CHROMIUM"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "FAIL $tool is missing (scripts/install-deps.sh test installs it)"
        FAILED=$((FAILED + 1))
        finish
    fi
done

# playwright-core from the lock file; PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: the browser is Debian's
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
lock_sum=$(sha256sum "$WEB_DIR/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$WEB_DIR/node_modules/.trail-lock" ] ||
    [ "$(cat "$WEB_DIR/node_modules/.trail-lock")" != "$lock_sum" ]; then
    if ! (cd "$WEB_DIR" && npm ci --no-audit --no-fund --loglevel=error >"$WORK/npm.log" 2>&1); then
        echo "FAIL npm ci in tests/web:"
        tail -20 "$WORK/npm.log"
        FAILED=$((FAILED + 1))
        finish
    fi
    echo "$lock_sum" >"$WEB_DIR/node_modules/.trail-lock"
fi

# the instant the data is made against, read once; TRAIL_TEST_NOW replays an
# hour (e.g. 2026-12-07T01:50:00Z, when the generator makes no ERROR event)
clock_s=$(date -u +%s)
now_s=$(date -u -d "${TRAIL_TEST_NOW:-@$clock_s}" +%s) || {
    echo "FAIL TRAIL_TEST_NOW '$TRAIL_TEST_NOW' is not a time"
    FAILED=$((FAILED + 1))
    finish
}
TEST_NOW=$(date -u -d "@$now_s" +%Y-%m-%dT%H:%M:%SZ)
echo "test time: $TEST_NOW"
# the store: 20,000 generated events over about three days from the hour
# three days before that (the generator's rate is an estimate: its last
# events can be hours later); the browser tests get the span the events
# really cover, in whole hours
"$TRAIL_BIN/trail" keygen --out "$WORK/ck" >/dev/null
data_start=$(date -u -d "@$((now_s / 3600 * 3600 - 3 * 86400))" +%Y-%m-%dT%H:%M:%SZ)
# the generated NDJSON is kept: the oracle's input (what the store must hold)
"$TRAIL_BIN/trail" loadgen -n 20000 -d 3 --start "$data_start" >"$WORK/generated.ndjson"
# and two warnings of the push certificate (the generator's traffic has none: the
# certificate warns in the month before its yearly expiry), stored before traild starts:
# expiry events that no alert cites, beside the setup's that the alert cites
# (in time order among the generated events, which stay the first and the last)
for d in 1 2; do
    printf '{"id":"messagingapns_certificate_warning","time":"%s","severity":6,"severity_name":"WARNING","host":"idp-node1","attrs":{"days_left":%d}}\n' \
        "$(date -u -d "@$((now_s / 3600 * 3600 - 3 * 86400 + d * 86400 + 7200))" +%Y-%m-%dT%H:%M:%S.000000Z)" $((30 - d))
done >"$WORK/warnings.ndjson"
python3 - "$WORK/generated.ndjson" "$WORK/warnings.ndjson" >"$WORK/merged.ndjson" <<'PY'
import json, sys
events, extra = (open(f).read().splitlines() for f in sys.argv[1:3])
for line in events:
    while extra and json.loads(extra[0])["time"] < json.loads(line)["time"]:
        print(extra.pop(0))
    print(line)
PY
mv "$WORK/merged.ndjson" "$WORK/generated.ndjson"
N_GENERATED=$(grep -c . "$WORK/generated.ndjson")
"$TRAIL_BIN/trail" import "$WORK/generated.ndjson" --store "$WORK/store" >/dev/null
check "generator filled the store" test -d "$WORK/store"
"$TRAIL_BIN/trail" events --format json >"$WORK/catalog.json"
"$TRAIL_BIN/trail" events --own --format json >"$WORK/own.json"
ORACLE=$TRAIL_SOURCE_DIR/tests/integration/oracle.py
event_time() { # ORDER: the time of the oldest or newest generated event, by the oracle
    python3 "$ORACLE" events --order "$1" --limit 1 "$WORK/generated.ndjson" |
        sed -n 's/.*"time": *"\([^"]*\)".*/\1/p'
}
check_eq "the generated events start at $data_start" "$(event_time oldest)" "${data_start%Z}.000000Z"
last_s=$(date -u -d "$(event_time newest)" +%s)
data_end=$(date -u -d "@$((last_s / 3600 * 3600 + 3600))" +%Y-%m-%dT%H:%M:%SZ)
"$TRAIL_BIN/trail" count --store "$WORK/store" --since "$data_start" --until "$data_end" --by hour \
    --format json >"$WORK/span.json"
check_eq "all $N_GENERATED between $data_start and $data_end, hour by hour as the oracle counts" \
    "$(python3 "$ORACLE" --catalog "$WORK/catalog.json" check-count "$WORK/span.json" --by hour \
        --since "$data_start" --until "$data_end" "$WORK/generated.ndjson") $(python3 -c \
        'import json,sys; print(json.load(open(sys.argv[1]))["total"])' "$WORK/span.json")" "ok $N_GENERATED"

# authentication on: an admin token for the pages and the test's own requests
"$TRAIL_BIN/trail" token-hash viewer admin >"$WORK/token.txt"
TOKEN=$(sed -n 1p "$WORK/token.txt")
TOKEN_ENTRY=$(sed -n 2p "$WORK/token.txt")
check "a token was made" test -n "$TOKEN"
AUTH="Authorization: Bearer $TOKEN"

PORT=$(free_port)
DEAD_PORT=$(free_port) # nothing listens there: the soc sink lags with an error
URL=http://127.0.0.1:$PORT
mkdir -p "$WORK/archive" "$WORK/rules"
# detection: the pack's expiry rule alone, which the setup's expired certificate fires once
cp "$TRAIL_SOURCE_DIR/rules/expiry_warnings.yml" "$WORK/rules/"
cat >"$WORK/traild.conf" <<EOF
[store]
path = $WORK/store
signing_key = $WORK/ck.key
checkpoint_interval_s = 1
[listen]
http = 127.0.0.1:$PORT
syslog_udp = off
syslog_tcp = off
[tokens]
$TOKEN_ENTRY
[event acme_badge_swiped]
severity = NOTICE
description = A badge was swiped at a door.
schema = duser:string:required:indexed, door:string, src:ip, attempts:int
[detect]
rules = $WORK/rules
[sink archive]
type = file
dir = $WORK/archive
[sink soc]
type = webhook
url = http://127.0.0.1:$DEAD_PORT/ingest
retry_max_ms = 2000
[reports]
dir = $TRAIL_SOURCE_DIR/reports
[report daily-failures]
title    = Failed sign-ins, daily
category = Authentication
range    = previous day
schedule = daily 00:00 UTC
formats  = csv
deliver  = dir:$WORK/reports-out
count    = Failed sign-ins per hour
event    = auth_authenticators_*_failed
by       = hour
EOF
# the scheduled report last ran three days ago (the state traild keeps: the
# instant in µs): the run missed since is made up once at the start, so the
# Reports page has a last run to show
mkdir -p "$WORK/store/reports"
echo "$(((now_s - 3 * 86400) * 1000000))" >"$WORK/store/reports/daily-failures.state"
start_traild "$WORK/traild.conf" || exit 1
made_up() { curl -s -H "$AUTH" "$URL/v1/reports/daily-failures" | grep -q '"made_up":true'; }
check "the missed run of the scheduled report is made up" wait_for 60 made_up

# the setup's own events, stamped by traild: one custom event, and the
# ERROR and CRITICAL ones the phone test lists (the generator makes few or
# none); a checkpoint then covers the store
cat >"$WORK/setup.ndjson" <<'EOF'
{"id":"acme_badge_swiped","attrs":{"duser":"setup","door":"S1"}}
{"id":"core_server_schedule_failed","attrs":{"job":"nightly-export","reason":"disk full"}}
{"id":"core_server_schedule_failed","attrs":{"job":"cert-renewal","reason":"timeout"}}
{"id":"messagingapns_certificate_expired","attrs":{"cert_subject":"CN=push.example"}}
EOF
check_eq "the setup's events are accepted" "$(curl -s -H "$AUTH" -H 'Content-Type: application/x-ndjson' \
    --data-binary @"$WORK/setup.ndjson" "$URL/v1/events" | grep -o '"accepted":[0-9]*')" '"accepted":4'
curl -s -H "$AUTH" "$URL/v1/events?event=core_server_schedule_failed&limit=1&format=ndjson" >"$WORK/stamped.ndjson"
stamped=$(sed -n 's/.*"time":"\([^"]*\)".*/\1/p' "$WORK/stamped.ndjson")
stamped_s=$(date -u -d "${stamped:-x}" +%s 2>/dev/null || echo 0)
# traild's clock is the script's: under tests/at_time.sh both are moved
check "traild stamps the setup's events at the test's time ($stamped, clock at start $(date -u -d "@$clock_s" +%FT%TZ))" \
    test "$((stamped_s - clock_s))" -ge 0 -a "$((stamped_s - clock_s))" -le 600
# the alert is stored before the pages count anything
alert_stored() { curl -s -H "$AUTH" "$URL/v1/count?event=trail_alert" | grep -q '"total":1'; }
check "the expired certificate raised one alert" wait_for 60 alert_stored
checkpoint_covers() { # N: traild's latest checkpoint covers N records or more
    local size
    size=$(curl -s -H "$AUTH" "$URL/v1/checkpoint" | sed -n 's/.*"tree_size":\([0-9]*\).*/\1/p')
    [ "${size:-0}" -ge "$1" ]
}
check "a checkpoint covers the generated events" wait_for 60 checkpoint_covers "$N_GENERATED"
check_eq "the page is served at / without a token" \
    "$(curl -s -o /dev/null -w '%{http_code} %{content_type}' "$URL/")" "200 text/html; charset=utf-8"
check_eq "the API asks for one" "$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/events")" 401

# the viewer's own routes, as a client other than the page sees them
code() { curl -s -o "$WORK/out.json" -w '%{http_code}' -H "$AUTH" "$@"; }
check_eq "proof: seq missing is 400" "$(code "$URL/v1/proof")" 400
check_eq "proof: seq=0 is 400" "$(code "$URL/v1/proof?seq=0")" 400
check_eq "proof: a seq beyond the store is 404" "$(code "$URL/v1/proof?seq=99999999")" 404
check_eq "proof: record 7 is 200" "$(code "$URL/v1/proof?seq=7")" 200
check_grep "proof: record, event, cef, path and checkpoint" \
    '^\{"seq":7,"record":"[A-Za-z0-9+/=]+","event":\{.*"seq":7,.*\},"cef":"CEF:0\|.*"proof":\{"leaf_index":6,"tree_size":[0-9]+,"leaf_hash":"[0-9a-f]{64}","path":\["[0-9a-f]{64}".*"checkpoint":\{"origin":"[0-9a-f]{32}"' \
    "$WORK/out.json"
check_eq "sinks: 200" "$(code "$URL/v1/sinks")" 200
check_grep "sinks: both, with cursor and lag" \
    '"name":"archive","type":"file",.*"cursor":[0-9]+,"lag":[0-9]+.*"name":"soc","type":"webhook"' "$WORK/out.json"
check_eq "verify: a run starts (202) or runs (409)" "$(code -X POST "$URL/v1/verify" | sed 's/409/202/')" 202
verify_done() { code "$URL/v1/verify" >/dev/null && grep -q '"state":"done"' "$WORK/out.json"; }
wait_for 120 verify_done
check_grep "verify: the store is intact" '"state":"done".*"ok":true,.*"records":[0-9]+,.*"damage":\[\]' \
    "$WORK/out.json"
records=$(sed -n 's/.*"records":\([0-9]*\).*/\1/p' "$WORK/out.json")
check "verify: the records checked ($records) are the $N_GENERATED imported and traild's few" \
    test "${records:-0}" -ge "$N_GENERATED" -a "${records:-0}" -lt $((N_GENERATED + 20))

# the browser tests' oracle reads the store raw with this (daemon_common.bash)
DUMP=$(dump_tool) || {
    echo "FAIL the store reader does not build"
    FAILED=$((FAILED + 1))
    finish
}
rm -rf "$ART"
mkdir -p "$ART"
# node and chromium on the real clock, without libfaketime (Playwright's clock
# sync needs both on one clock); the pages' clock is pinned to the script's,
# moved by TRAIL_TEST_NOW and by tests/at_time.sh's offset. The timeout only
# guards against a browser that hangs (each test has its own limit in run.mjs):
# it is no bound on speed, and the suite on a loaded two-core machine took
# over 300 s once it grew to check signatures too.
(cd "$WEB_DIR" && env -u LD_PRELOAD -u FAKETIME -u FAKETIME_SHARED -u FAKETIME_DONT_FAKE_MONOTONIC \
    TRAIL_URL=$URL TRAIL_TOKEN=$TOKEN TRAIL_STORE=$WORK/store WEB_ARTIFACTS=$ART \
    TRAIL_ORACLE=$ORACLE TRAIL_EVENTS=$WORK/generated.ndjson TRAIL_DUMP=$DUMP \
    TRAIL_CLI=$TRAIL_BIN/trail TRAIL_PUBKEY=$WORK/ck.pub \
    TRAIL_CATALOGS=$WORK/catalog.json:$WORK/own.json \
    TRAIL_TEST_NOW=$TEST_NOW TRAIL_CLOCK_SHIFT_MS=$(((now_s - clock_s + ${TRAIL_FAKETIME_OFFSET_S:-0}) * 1000)) \
    TRAIL_DATA_START=$data_start TRAIL_DATA_END=$data_end \
    WEB_TEST_TAG=${WEB_TEST_TAG-${TRAIL_TEST_AT:+clock}} \
    CHROMIUM=$CHROMIUM timeout 900 node run.mjs) 2>&1 | tee "$WORK/browser.log"
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$WORK/browser.log" | tail -1)
if [ -z "$summary" ]; then
    echo "FAIL the browser tests did not finish"
    FAILED=$((FAILED + 1))
else
    read -r bp _ bf _ <<<"${summary//,/}"
    PASSED=$((PASSED + bp))
    FAILED=$((FAILED + bf))
fi
echo "screenshots: $ART"
finish
