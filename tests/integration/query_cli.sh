#!/usr/bin/env bash
# query_cli.sh - trail query, trail count and trail tail on a store
# directory: generator events imported into a store, results and counts
# checked against tests/integration/oracle.py, a brute-force filter over the
# imported file (not over trail's answers), paging with cursors, every output
# format, counts, tail and tail -f while
# events are appended, the empty store, time zones, and bad queries (exit
# status 2, the message naming the option).
source "$(dirname "$0")/daemon_common.bash"
TRAIL="$TRAIL_BIN/trail"

# bad NAME PATTERN ARGS...: exit status 2 and a message matching PATTERN
bad() {
    local name=$1 pattern=$2
    shift 2
    "$TRAIL" "$@" >"$WORK/bad.out" 2>"$WORK/bad.err"
    local st=$?
    if [ "$st" = 2 ] && grep -Eq -- "$pattern" "$WORK/bad.err"; then
        PASSED=$((PASSED + 1))
        echo "ok   $name"
    else
        FAILED=$((FAILED + 1))
        echo "FAIL $name: status $st, stderr: $(cat "$WORK/bad.err")"
    fi
}

S=$WORK/store
"$TRAIL" loadgen -n 4000 -d 3 -u 80 -s 5 >"$WORK/events.ndjson"
"$TRAIL" import "$WORK/events.ndjson" --store "$S" >/dev/null || exit 1
"$TRAIL" events --format json >"$WORK/catalog.json"
"$TRAIL" query --store "$S" --limit 0 --order oldest --format ndjson >"$WORK/all.ndjson"
check_eq "every event comes back" "$(wc -l <"$WORK/all.ndjson")" 4000

# The brute force: tests/integration/oracle.py over the imported file (never
# over trail's own answers), with the same options trail is given.
ORACLE=$(dirname "$0")/oracle.py
oracle() { # WHAT ARGS...: oracle.py WHAT over the imported events
    local what=$1
    shift
    python3 "$ORACLE" --catalog "$WORK/catalog.json" "$what" "$@" "$WORK/events.ndjson"
}

# same NAME OPTION...: trail query --limit 0 with OPTIONs = the oracle's events
same() {
    local name=$1
    shift
    "$TRAIL" query --store "$S" --limit 0 --format ndjson "$@" >"$WORK/got" 2>"$WORK/got.err"
    check_eq "$name ($(oracle events "$@" | wc -l) events)" "$(oracle check-events "$WORK/got" "$@")" ok
}

check_eq "the store holds the imported file, in its order" \
    "$(oracle check-events "$WORK/all.ndjson" --order oldest)" ok
USER1=$(python3 -c 'import json,sys; print(next(json.loads(l)["attrs"]["duser"] for l in open(sys.argv[1]) if "duser" in json.loads(l)["attrs"]))' "$WORK/events.ndjson")
IP1=$(python3 -c 'import json,sys; print(next(json.loads(l)["attrs"]["src"] for l in open(sys.argv[1]) if "." in json.loads(l)["attrs"].get("src","")))' "$WORK/events.ndjson")
NET1=$(python3 -c 'import sys,ipaddress; print(ipaddress.ip_network(sys.argv[1] + "/16", strict=False))' "$IP1")
SURNAME=${USER1#*.}
# an int attribute's value that the events hold (failed_attempts of the first that has one)
FA=$(python3 -c 'import json,sys; print(next(json.loads(l)["attrs"]["failed_attempts"] for l in open(sys.argv[1]) if "failed_attempts" in json.loads(l)["attrs"]))' "$WORK/events.ndjson")
same "--event glob" --event 'auth_*_failed*'
same "--event list" --event 'saml_?ncoming*,core_*'
same "--event sets and ?" --event '[a-c]*_[!s]?*'
same "--severity >=WARNING" --severity '>=WARNING'
same "--severity NOTICE..ERROR" --severity NOTICE..ERROR
same "--where duser=" --where "duser=$USER1"
same "--where src CIDR" --where "src=$NET1"
same "--where src=address" --where "src=$IP1"
same "--where !=" --where "duser!=$USER1" --event 'auth_*'
same "--where ^=" --where 'sourceServiceName^=https://'
same "--where int, with a leading zero" --where "failed_attempts=0$FA"
same "--text a surname" --text "$SURNAME"
same "--text two words, any case" --text "${USER1%%.*} ${SURNAME^^}"
same "--since/--until" --since 2026-11-02T06:00:00Z --until 2026-11-02T18:00:00Z
same "time zones: +02:00 is the same instant" \
    --since 2026-11-02T08:00:00+02:00 --until 2026-11-02T13:00:00-05:00
same "--order oldest --limit 50" --order oldest --limit 50 --event 'auth_*'
same "everything together" \
    --since 2026-11-01T12:00:00Z --event 'auth_*' --severity '>=NOTICE' --where "duser^=${USER1%%.*}"

# paging: pages of 97 with the cursor from standard error, newest and oldest first
first_cursor=""
for order in newest oldest; do
    : >"$WORK/paged"
    cursor=""
    pages=0
    while :; do
        "$TRAIL" query --store "$S" --limit 97 --order $order --format ndjson --event 'auth_*' \
            ${cursor:+--cursor "$cursor"} >"$WORK/page" 2>"$WORK/page.err" || break
        cat "$WORK/page" >>"$WORK/paged"
        pages=$((pages + 1))
        cursor=$(sed -n 's/.*--cursor //p' "$WORK/page.err")
        [ -z "$cursor" ] && break
        first_cursor=${first_cursor:-$cursor}
    done
    check_eq "paging $order: $pages pages give each match once, in order" \
        "$(oracle check-events "$WORK/paged" --order $order --event 'auth_*')" ok
done
bad "a cursor of other filters" "cursor: it continues a search with other filters" \
    query --store "$S" --event 'saml_*' --cursor "$first_cursor"

# formats
"$TRAIL" query --store "$S" --limit 3 >"$WORK/table" 2>/dev/null
check_eq "table: header and 3 rows" "$(head -1 "$WORK/table" | awk '{print $1, $2, $3, $4, $5}') $(wc -l <"$WORK/table")" \
    "SEQ TIME SEVERITY FROM EVENT 4"
"$TRAIL" query --store "$S" --limit 3 --format csv >"$WORK/csv" 2>/dev/null
check_eq "csv: header" "$(head -1 "$WORK/csv")" "seq,time,severity,severity_name,id,host,uuid,attrs,received,input,peer,principal,origin,problems"
check_eq "csv: rows read back" "$(python3 -c 'import csv,sys,json; r=list(csv.DictReader(open(sys.argv[1]))); print(len(r), all(isinstance(json.loads(x["attrs"]), dict) for x in r))' "$WORK/csv")" "3 True"
"$TRAIL" query --store "$S" --limit 3 --format json >"$WORK/json" 2>/dev/null
check_eq "json: an array of 3" "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$WORK/json")" 3
check_eq "cef: CEF lines" "$("$TRAIL" query --store "$S" --limit 2 --format cef 2>/dev/null | grep -c '^CEF:0|')" 2
check_eq "eventlog: event.log lines" "$("$TRAIL" query --store "$S" --limit 2 --format eventlog 2>/dev/null | grep -c ' \[EVENT\] ')" 2

# counts: the total, and rows grouped every way, against the oracle's
check_eq "count: the total" "$("$TRAIL" count --store "$S")" 4000
count_same() { # NAME OPTION...: trail count --format json = the oracle's count
    local name=$1
    shift
    "$TRAIL" count --store "$S" --format json "$@" >"$WORK/count.json"
    check_eq "$name" "$(oracle check-count "$WORK/count.json" "$@")" ok
}
count_same "count --by hour,event" --by hour,event
count_same "count --by event --severity (rows largest first)" --by event --severity '>=WARNING'
count_same "count --by day,severity in a range" --by day,severity --since 2026-11-01T12:00:00Z \
    --until 2026-11-03T06:30:00+01:00
count_same "count --by src,severity of a network" --by src,severity --where "src=$NET1"
count_same "count --by failed_attempts (an int; missing is null)" --by failed_attempts --event 'auth_*'
count_same "count --by duser with --text" --by duser --text "$SURNAME"
"$TRAIL" count --store "$S" --by event --format csv --severity '>=WARNING' >"$WORK/count.csv"
check_eq "count --format csv: its rows sum to the oracle's total" \
    "$(python3 -c 'import csv,sys; print(sum(int(r["count"]) for r in csv.DictReader(open(sys.argv[1]))))' "$WORK/count.csv")" \
    "$(oracle count --severity '>=WARNING' | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')"
check_eq "count --by duser: a missing attribute is (none)" \
    "$("$TRAIL" count --store "$S" --by duser | grep -c '^(none) ')" 1
check_eq "count --by day --since 2026-11-02: whole days" \
    "$("$TRAIL" count --store "$S" --by day --since 2026-11-02 --until 2026-11-03 | sed -n 2p | awk '{print $1}')" \
    "2026-11-02"

# tail: the last 5, oldest first; then -f while events are appended
"$TRAIL" tail --store "$S" -n 5 --format ndjson >"$WORK/tail"
check_eq "tail -n 5: the last five, oldest first" \
    "$(python3 -c 'import json,sys; print(" ".join(str(json.loads(l)["seq"]) for l in open(sys.argv[1])))' "$WORK/tail")" \
    "3996 3997 3998 3999 4000"
# -n 1 first prints the newest match that is there already: once it is out,
# tail is following, and the events emitted next are new to it
READY=$(oracle events --event core_server_run_starting --limit 1 |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["attrs"]["phxTraceId"])')
"$TRAIL" tail --store "$S" -n 1 -f --interval 50 --event core_server_run_starting --format ndjson \
    >"$WORK/follow" 2>&1 &
TAIL_PID=$!
EXTRA_PIDS="$EXTRA_PIDS $TAIL_PID"
check "tail -n 1 -f: the newest match first" wait_for 60 lines_at_least 1 "$WORK/follow"
for i in 1 2 3; do
    "$TRAIL" emit core_server_run_starting "phxTraceId=#f$i" version=1 --store "$S" >/dev/null
done
"$TRAIL" emit core_server_run_started "phxTraceId=#g1" version=1 --store "$S" >/dev/null
wait_for 60 lines_at_least 4 "$WORK/follow"
kill "$TAIL_PID" 2>/dev/null
wait "$TAIL_PID" 2>/dev/null
check_eq "tail -f: the appended events, filtered, in order" \
    "$(python3 -c 'import json,sys; print(" ".join(json.loads(l)["attrs"]["phxTraceId"] for l in open(sys.argv[1])))' "$WORK/follow")" \
    "$READY #f1 #f2 #f3"

# the empty store
"$TRAIL" emit core_server_run_starting "phxTraceId=#e" version=1 --store "$WORK/empty" >/dev/null
check_eq "a store of one event: found" "$("$TRAIL" query --store "$WORK/empty" --format ndjson | wc -l)" 1
check_eq "a store of one event: not before it" \
    "$("$TRAIL" query --store "$WORK/empty" --until 2000-01-01 --format ndjson | wc -l)" 0
check_eq "a store of one event: count" "$("$TRAIL" count --store "$WORK/empty" --by event | tail -1)" "total 1"
check_eq "no store there: exit 1" "$("$TRAIL" query --store "$WORK/nothing" >/dev/null 2>&1; echo $?)" 1

# bad queries: exit 2, the option named
bad "bad --since" "bad --since '2026-13-01'" query --store "$S" --since 2026-13-01
bad "bad --until" "bad --until 'yesterday'" query --store "$S" --until yesterday
bad "since after until" "bad until .* not after since" query --store "$S" --since 2026-11-03 --until 2026-11-02
bad "bad glob" "bad --event 'auth_\\[': .*'\\[' is not closed" query --store "$S" --event 'auth_['
bad "bad glob character" "bad --event 'Auth\\*x!': .*byte 7" query --store "$S" --event 'Auth*x!'
bad "bad CIDR prefix" "bad --where 'src=10.0.0.0/33': bad CIDR" query --store "$S" --where src=10.0.0.0/33
bad "bad CIDR address" "bad CIDR: '10.0.300.0' is not an IP address" query --store "$S" --where src=10.0.300.0/24
bad "bad --where" "bad --where 'duser': expected key=value" query --store "$S" --where duser
bad "bad --severity" "bad --severity '>=LOUD'" query --store "$S" --severity '>=LOUD'
bad "bad --text" "bad --text '#': '#' has no letter or digit" query --store "$S" --text '#'
bad "bad --order" "bad --order 'sideways'" query --store "$S" --order sideways
bad "bad --limit" "bad --limit '-1'" query --store "$S" --limit -1
bad "bad --cursor" "bad --cursor 'x'" query --store "$S" --cursor x
bad "bad --format" "bad --format 'xml'" query --store "$S" --format xml
bad "unknown option" "unknown option '--colour'" query --store "$S" --colour
bad "unknown --by" "unknown --by 'colour'" count --store "$S" --by colour
bad "--by of a query" "unknown option '--by'" query --store "$S" --by event
bad "no source" "give one of --store DIR, --url URL or --clickhouse URL" query
bad "both sources" "give one of --store DIR, --url URL or --clickhouse URL" count --store "$S" --url http://127.0.0.1:1
bad "tail: bad -n" "bad -n 'x'" tail --store "$S" -n x

# --text on the values people search for, against the oracle: apostrophes,
# hyphens, dots, @, one-letter words, digits, non-ASCII letters, and IPv6
# addresses that trail writes with a dotted IPv4 part (::ffff:192.0.2.1, not
# ::ffff:c000:201); items are split at spaces, tabs and line breaks only.
W=$WORK/words
cat >"$WORK/words.ndjson" <<'EOF'
{"id":"prism_user_locked","time":"2026-11-02T10:00:00Z","severity":6,"attrs":{"phxTraceId":"#w1","duser":"o'brien","src":"::ffff:192.0.2.1"}}
{"id":"prism_user_locked","time":"2026-11-02T10:00:01Z","severity":6,"attrs":{"phxTraceId":"#w2","duser":"Anne-Marie.Dupont@Example.com","src":"::198.51.100.7"}}
{"id":"prism_user_locked","time":"2026-11-02T10:00:02Z","severity":6,"attrs":{"phxTraceId":"#w3","duser":"D'Angelo-O'Neil","src":"2001:db8::7","reason":"x user42"}}
{"id":"prism_user_locked","time":"2026-11-02T10:00:03Z","severity":6,"attrs":{"phxTraceId":"#w4","duser":"Øyvind Sørensen","reason":"a b"}}
EOF
"$TRAIL" import "$WORK/words.ndjson" --store "$W" >/dev/null || exit 1
for t in "o'brien" o brien obrien "o'" 'anne-marie' '@example.com' marie x user42 42 \
    'Øyvind' 'øyvind' yvind 192.0.2.1 ffff c000 198.51.100.7 c633 2001:db8::7 $'o\'brien\vbrien' \
    $'o\'brien\u00a0brien' $'brien\tneil'; do
    "$TRAIL" query --store "$W" --limit 0 --format ndjson --text "$t" >"$WORK/got"
    n=$(python3 "$ORACLE" --catalog "$WORK/catalog.json" events --text "$t" "$WORK/words.ndjson" | wc -l)
    if [ "$n" = 0 ]; then # the oracle compares only what selects something
        check_eq "--text $(printf '%q' "$t") finds nothing" "$(wc -l <"$WORK/got")" 0
    else
        check_eq "--text $(printf '%q' "$t") ($n events)" \
            "$(python3 "$ORACLE" --catalog "$WORK/catalog.json" check-events "$WORK/got" --text "$t" "$WORK/words.ndjson")" ok
    fi
done
check_eq "--text 192.0.2.1 finds the IPv4-mapped address" \
    "$("$TRAIL" query --store "$W" --limit 0 --format ndjson --text 192.0.2.1 | grep -c '#w1')" 1

for c in query count tail; do
    check_eq "trail $c --help" "$("$TRAIL" $c --help | head -2 | tail -1 | awk '{print $1, $2}')" "trail $c"
done

finish
