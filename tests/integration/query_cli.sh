#!/usr/bin/env bash
# query_cli.sh - trail query, trail count and trail tail on a store
# directory: generator events imported into a store, results checked against
# a brute-force filter in Python over the same events (fnmatch, ipaddress),
# paging with cursors, every output format, counts, tail and tail -f while
# events are appended, the empty store, time zones, and bad queries (exit
# status 2, the message naming the option).
set -u
TRAIL_BIN=${TRAIL_BIN:-$(cd "$(dirname "$0")/../../build" && pwd)}
TRAIL="$TRAIL_BIN/trail"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/query-cli.XXXXXX")
PASSED=0
FAILED=0
TAIL_PID=""
cleanup() {
    [ -n "$TAIL_PID" ] && kill "$TAIL_PID" 2>/dev/null
    wait 2>/dev/null
    if [ "$FAILED" -gt 0 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

check_eq() {
    if [ "$2" = "$3" ]; then
        PASSED=$((PASSED + 1))
        echo "ok   $1"
    else
        FAILED=$((FAILED + 1))
        echo "FAIL $1: got '$2', want '$3'"
    fi
}

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
"$TRAIL" query --store "$S" --limit 0 --order oldest --format ndjson >"$WORK/all.ndjson"
check_eq "every event comes back" "$(wc -l <"$WORK/all.ndjson")" 4000

# The brute force: python over all.ndjson; prints the seqs, newest first.
brute() {
    python3 - "$WORK/all.ndjson" "$@" <<'EOF'
import sys, json, fnmatch, ipaddress, re
from datetime import datetime, timezone
evs = [json.loads(l) for l in open(sys.argv[1])]
args = sys.argv[2:]
def t(s):
    return datetime.fromisoformat(s.replace('Z', '+00:00')).timestamp()
sev = {'TRACE':1,'DEBUG':2,'INFO':3,'NOTICE':4,'WARNING':6,'ERROR':7,'CRITICAL':8,'ALERT':9,'EMERGENCY':10}
out = []
for e in evs:
    ok = True
    i = 0
    globs = []
    while i < len(args):
        k, v = args[i], args[i + 1]; i += 2
        a = e['attrs']
        if k == 'event': globs.append(v)
        elif k == 'since': ok &= t(e['time']) >= t(v)
        elif k == 'until': ok &= t(e['time']) < t(v)
        elif k == 'sevmin': ok &= e['severity'] >= int(v)
        elif k == 'eq':
            key, val = v.split('=', 1)
            if '/' in val:
                ok &= key in a and ipaddress.ip_address(a[key]) in ipaddress.ip_network(val)
            else:
                ok &= str(a.get(key)) == val
        elif k == 'ne':
            key, val = v.split('=', 1); ok &= str(a.get(key)) != val
        elif k == 'prefix':
            key, val = v.split('=', 1); ok &= key in a and str(a[key]).startswith(val)
        elif k == 'text':
            pat = re.compile(r'(?<![A-Za-z0-9\x80-\uffff])' + re.escape(v.lower()) + r'(?![A-Za-z0-9\x80-\uffff])')
            ok &= any(pat.search(str(x).lower()) for x in a.values())
    if globs:
        ok &= any(fnmatch.fnmatchcase(e['id'], g) for g in globs)
    if ok: out.append(e['seq'])
for s in sorted(out, reverse=True): print(s)
EOF
}

# same NAME "trail query options" "brute-force options"
same() {
    local name=$1 qopts=$2 bopts=$3
    # shellcheck disable=SC2086
    eval "\"$TRAIL\" query --store \"$S\" --limit 0 --format ndjson $qopts" |
        python3 -c 'import sys, json; [print(json.loads(l)["seq"]) for l in sys.stdin]' >"$WORK/got"
    # shellcheck disable=SC2086
    eval "brute $bopts" >"$WORK/want"
    if cmp -s "$WORK/got" "$WORK/want" && [ -s "$WORK/want" ]; then
        PASSED=$((PASSED + 1))
        echo "ok   $name ($(wc -l <"$WORK/want") events)"
    else
        FAILED=$((FAILED + 1))
        echo "FAIL $name: $(wc -l <"$WORK/got") events, expected $(wc -l <"$WORK/want")"
    fi
}

USER1=$(python3 -c 'import json,sys; print(next(json.loads(l)["attrs"]["duser"] for l in open(sys.argv[1]) if "duser" in json.loads(l)["attrs"]))' "$WORK/all.ndjson")
IP1=$(python3 -c 'import json,sys; print(next(json.loads(l)["attrs"]["src"] for l in open(sys.argv[1]) if "." in json.loads(l)["attrs"].get("src","")))' "$WORK/all.ndjson")
NET1=$(python3 -c 'import sys,ipaddress; print(ipaddress.ip_network(sys.argv[1] + "/16", strict=False))' "$IP1")
SURNAME=${USER1#*.}
same "--event glob" "--event 'auth_*_failed*'" "event 'auth_*_failed*'"
same "--event list" "--event 'saml_?ncoming*,core_*'" "event 'saml_?ncoming*' event 'core_*'"
same "--severity >=WARNING" "--severity '>=WARNING'" "sevmin 6"
same "--where duser=" "--where duser=$USER1" "eq duser=$USER1"
same "--where src CIDR" "--where src=$NET1" "eq src=$NET1"
same "--where !=" "--where duser!=$USER1 --event 'auth_*'" "ne duser=$USER1 event 'auth_*'"
same "--where ^=" "--where sourceServiceName^=https://" "prefix sourceServiceName=https://"
same "--text a surname" "--text $SURNAME" "text $SURNAME"
same "--since/--until" "--since 2026-11-02T06:00:00Z --until 2026-11-02T18:00:00Z" \
    "since 2026-11-02T06:00:00Z until 2026-11-02T18:00:00Z"
same "time zones: +02:00 is the same instant" \
    "--since 2026-11-02T08:00:00+02:00 --until 2026-11-02T13:00:00-05:00" \
    "since 2026-11-02T06:00:00Z until 2026-11-02T18:00:00Z"
same "everything together" \
    "--since 2026-11-01T12:00:00Z --event 'auth_*' --severity '>=NOTICE' --where duser^=${USER1%%.*}" \
    "since 2026-11-01T12:00:00Z event 'auth_*' sevmin 4 prefix duser=${USER1%%.*}"

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
    "$TRAIL" query --store "$S" --limit 0 --order $order --format ndjson --event 'auth_*' >"$WORK/whole"
    check_eq "paging $order: $pages pages equal one query" "$(md5sum <"$WORK/paged")" \
        "$(md5sum <"$WORK/whole")"
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

# counts
check_eq "count: the total" "$("$TRAIL" count --store "$S")" 4000
"$TRAIL" count --store "$S" --by hour,event --format json >"$WORK/count.json"
check_eq "count --by hour,event: rows sum to the total" \
    "$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print(sum(r["count"] for r in c["rows"]), c["total"])' "$WORK/count.json")" "4000 4000"
"$TRAIL" count --store "$S" --by event --format csv --severity '>=WARNING' >"$WORK/count.csv"
check_eq "count --by event --severity: equals the brute force" \
    "$(python3 -c 'import csv,sys; print(sum(int(r["count"]) for r in csv.DictReader(open(sys.argv[1]))))' "$WORK/count.csv")" \
    "$(brute sevmin 6 | wc -l)"
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
"$TRAIL" tail --store "$S" -n 0 -f --interval 50 --event core_server_run_starting --format ndjson \
    >"$WORK/follow" 2>&1 &
TAIL_PID=$!
sleep 0.5
for i in 1 2 3; do
    "$TRAIL" emit core_server_run_starting "phxTraceId=#f$i" version=1 --store "$S" >/dev/null
done
"$TRAIL" emit core_server_run_started "phxTraceId=#g1" version=1 --store "$S" >/dev/null
for _ in $(seq 1 40); do
    [ "$(wc -l <"$WORK/follow")" -ge 3 ] && break
    sleep 0.1
done
kill "$TAIL_PID" 2>/dev/null
wait "$TAIL_PID" 2>/dev/null
TAIL_PID=""
check_eq "tail -f: the appended events, filtered, in order" \
    "$(python3 -c 'import json,sys; print(" ".join(json.loads(l)["attrs"]["phxTraceId"] for l in open(sys.argv[1])))' "$WORK/follow")" \
    "#f1 #f2 #f3"

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
bad "no source" "give either --store DIR or --url URL" query
bad "both sources" "give either --store DIR or --url URL" count --store "$S" --url http://127.0.0.1:1
bad "tail: bad -n" "bad -n 'x'" tail --store "$S" -n x

for c in query count tail; do
    check_eq "trail $c --help" "$("$TRAIL" $c --help | head -2 | tail -1 | awk '{print $1, $2}')" "trail $c"
done

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
