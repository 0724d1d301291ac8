#!/usr/bin/env bash
# query_export.sh - GET /v1/events/export: every matching event as one
# streamed download in CSV, NDJSON or event.log lines, over a store of a few
# thousand events read in pages of 500 ([limits] max_query_limit) so that
# the export goes through many cursors. The CSV has exactly `trail count`
# rows and is byte for byte what `trail query --format csv` writes (one CSV
# writer); the events of a filtered NDJSON export are checked with
# tests/integration/oracle.py, the brute force over the imported file.
# An export is one search, opened once and read through (the metric
# trail_export_searches_total counts them): the old export opened one per
# page and planned the store again each time.
# Also: its headers (attachment, file name), limit, bad parameters, the
# one-use tickets that let a plain link download with a token's role, and a
# client that goes away in the middle (the export's thread ends with it).
source "$(dirname "$0")/daemon_common.bash"
TRAIL="$TRAIL_BIN/trail"

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
S=$WORK/store
"$TRAIL" loadgen -n 4000 -d 2 -u 60 -s 23 >"$WORK/events.ndjson"
"$TRAIL" import "$WORK/events.ndjson" --store "$S" >/dev/null || exit 1
"$TRAIL" token-hash analyst read >"$WORK/r.tok"
"$TRAIL" token-hash sender write >"$WORK/w.tok"
R=$(sed -n 1p "$WORK/r.tok")
W=$(sed -n 1p "$WORK/w.tok")
CONF=$WORK/traild.conf
cat >"$CONF" <<EOF
[store]
path = $S
[listen]
http = 127.0.0.1:$PORT
syslog_udp = off
syslog_tcp = off
[limits]
max_query_limit = 500
[tokens]
$(sed -n 2p "$WORK/r.tok")
$(sed -n 2p "$WORK/w.tok")
EOF
start_traild "$CONF" || exit 1
AUTH=(-H "Authorization: Bearer $R")

# get PATH [CURL ARGS]: body to $WORK/body, status to $WORK/code, headers to $WORK/headers
get() {
    local path=$1
    shift
    curl -s "$@" -D "$WORK/headers" -o "$WORK/body" -w '%{http_code}' "$URL$path" >"$WORK/code"
}
header() { grep -i "^$1:" "$WORK/headers" | cut -d' ' -f2- | tr -d '\r'; }

# metric NAME: its value in traild's /metrics
metric() { curl -s "${AUTH[@]}" "$URL/metrics" | awk -v n="$1" '$1 == n { print $2 }'; }

# the whole store as CSV, more than 9 pages of max_query_limit
SEARCHES0=$(metric trail_export_searches_total)
ROWS0=$(metric trail_export_events_total)
get "/v1/events/export?format=csv" "${AUTH[@]}"
check_eq "csv: 200" "$(cat "$WORK/code")" 200
check_eq "csv: an attachment with a file name" "$(header Content-Disposition)" \
    'attachment; filename="trail-events.csv"'
check_eq "csv: its type" "$(header Content-Type)" "text/csv; charset=utf-8; header=present"
check_eq "csv: streamed (chunked, no length known before)" "$(header Transfer-Encoding)" chunked
cp "$WORK/body" "$WORK/all.csv"
TOTAL=$("$TRAIL" count --store "$S" --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
check "the store holds more than the 4000 imported events (traild's own too)" test "$TOTAL" -gt 4000
check_eq "csv: one row per event of trail count, and the header" \
    "$(($(wc -l <"$WORK/all.csv") - 1))" "$TOTAL"
"$TRAIL" query --store "$S" --limit 0 --format csv >"$WORK/cli.csv"
check "csv: byte for byte trail query --format csv" cmp -s "$WORK/all.csv" "$WORK/cli.csv"
check_eq "csv: one search for the whole export, not one per page" \
    "$(($(metric trail_export_searches_total) - ${SEARCHES0:-0}))" 1
check_eq "csv: the metric counts its rows" "$(($(metric trail_export_events_total) - ${ROWS0:-0}))" "$TOTAL"
check_eq "csv: no event twice" "$(tail -n +2 "$WORK/all.csv" | cut -d, -f1 | sort -u | wc -l)" "$TOTAL"

# a filter, oldest first, NDJSON: the oracle's events in its order
"$TRAIL" events --format json >"$WORK/catalog.json"
"$TRAIL" events --own --format json >"$WORK/own.json"
store_dump "$S" >"$WORK/dump.ndjson"
oracle() {
    local what=$1
    shift
    python3 "$(dirname "$0")/oracle.py" --catalog "$WORK/catalog.json" --catalog "$WORK/own.json" \
        --after "$WORK/dump.ndjson" "$what" "$@" "$WORK/events.ndjson"
}
get "/v1/events/export?format=ndjson&order=oldest&event=auth_*&severity=%3E%3DINFO" "${AUTH[@]}"
check_eq "ndjson: 200, its type" "$(cat "$WORK/code") $(header Content-Type)" "200 application/x-ndjson"
check_eq "ndjson: a filtered export, oldest first = the oracle" \
    "$(oracle check-events "$WORK/body" --order oldest --event 'auth_*' --severity '>=INFO')" ok
check "ndjson: the filter leaves out events (a real filter)" test "$(wc -l <"$WORK/body")" -lt "$TOTAL"

# event.log lines: trail query --format eventlog's
get "/v1/events/export?format=eventlog&where=sourceServiceName%5E%3Dhttps" "${AUTH[@]}"
check_eq "eventlog: file name" "$(header Content-Disposition)" 'attachment; filename="trail-events.log"'
"$TRAIL" query --store "$S" --limit 0 --where 'sourceServiceName^=https' --format eventlog >"$WORK/cli.log"
check "eventlog: byte for byte trail query --format eventlog" cmp -s "$WORK/body" "$WORK/cli.log"
check_eq "eventlog: as many lines as the oracle counts" "$(wc -l <"$WORK/body")" \
    "$(oracle count --where 'sourceServiceName^=https' | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')"
check_grep "eventlog: the event.log prefix" \
    '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8},[0-9]{3} \[EVENT\]  INFO: .* CEF:0\|' "$WORK/body"

# limit caps the whole export, across pages
get "/v1/events/export?format=csv&limit=1234" "${AUTH[@]}"
check_eq "limit=1234 over pages of 500: 1234 rows" "$(($(wc -l <"$WORK/body") - 1))" 1234
check "limit: the newest 1234 of the whole export" cmp -s "$WORK/body" <(head -n 1235 "$WORK/all.csv")

# bad parameters: 400 before anything is streamed
get "/v1/events/export" "${AUTH[@]}"
check_eq "no format: 400" "$(cat "$WORK/code")" 400
get "/v1/events/export?format=xml" "${AUTH[@]}"
check_grep "format=xml: 400 naming the formats" "csv, ndjson, eventlog or cef" "$WORK/body"
get "/v1/events/export?format=csv&by=event" "${AUTH[@]}"
check_eq "by: 400" "$(cat "$WORK/code")" 400
get "/v1/events/export?format=csv&since=2026-13-01" "${AUTH[@]}"
check_grep "bad since: 400 as for a search" "bad since '2026-13-01'" "$WORK/body"

# who may export: a reader, with a token or with a ticket
get "/v1/events/export?format=csv"
check_eq "no token: 401" "$(cat "$WORK/code")" 401
get "/v1/events/export?format=csv" -H "Authorization: Bearer $W"
check_eq "a write token: 403" "$(cat "$WORK/code")" 403
get "/v1/events/export?format=csv&event=auth_*" -X POST "${AUTH[@]}"
check_eq "POST: a ticket, 200" "$(cat "$WORK/code")" 200
LINK=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$WORK/body")
check_grep "POST: the link keeps the parameters" '"url":"/v1/events/export\?ticket=[0-9a-f]{32}&format=csv&event=auth_\*"' "$WORK/body"
get "$LINK"
check_eq "the link without a token: 200" "$(cat "$WORK/code")" 200
"$TRAIL" query --store "$S" --limit 0 --event 'auth_*' --format csv >"$WORK/auth.csv"
check "the link: trail query's CSV of the filter" cmp -s "$WORK/body" "$WORK/auth.csv"
get "$LINK"
check_eq "the link a second time: 401 (one use)" "$(cat "$WORK/code")" 401
get "/v1/events/export?format=csv&ticket=00000000000000000000000000000000"
check_eq "a made-up ticket: 401" "$(cat "$WORK/code")" 401
get "/v1/events/export?format=csv&ticket=$(python3 -c 'import sys; print(sys.argv[1].split("ticket=")[1][:32])' "$LINK")" -X POST
check_eq "a ticket does not let anyone make tickets: 401" "$(cat "$WORK/code")" 401
get "/v1/events/export?format=xml" -X POST "${AUTH[@]}"
check_eq "POST with a bad format: 400 at once" "$(cat "$WORK/code")" 400

# the rows are made on a thread of the export's own: a client that goes away in the middle
# ends it (no thread left behind), and traild exports on
threads_at_most() { [ "$(ls "/proc/$TRAILD_PID/task" | wc -l)" -le "$1" ]; }
THREADS0=$(ls "/proc/$TRAILD_PID/task" | wc -l)
curl -s "${AUTH[@]}" --limit-rate 50k -o "$WORK/slow.csv" "$URL/v1/events/export?format=ndjson" &
SLOW=$!
check "a slow client gets the first rows" wait_for 20 test -s "$WORK/slow.csv"
kill "$SLOW"
wait "$SLOW" 2>/dev/null
check "the client gone: the export's threads end ($THREADS0 threads before)" \
    wait_for 20 threads_at_most "$THREADS0"
get "/v1/events/export?format=csv" "${AUTH[@]}"
"$TRAIL" query --store "$S" --limit 0 --format csv >"$WORK/cli2.csv"
check "and the next export is the whole store again (traild's own records of the refusals above too)" \
    cmp -s "$WORK/body" "$WORK/cli2.csv"

stop_traild
check_eq "traild stopped cleanly" "$STOP_STATUS" 0
finish
