#!/bin/bash
# store_cli.sh - trail import, export, stats, purge and emit --store on a real
# store directory: the documented product's event.log imported and exported
# back, per-line errors with line numbers, NDJSON round trips, usage errors.
#
# Not here: the full disk (store_fulldisk.sh), crashes (test_store_crash.c).
set -u
T=${TRAIL_BIN:?}/trail
SRC=${TRAIL_SOURCE_DIR:?}
pass=0
fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }

work=$(mktemp -d /tmp/trail-store-cli-XXXXXX)
trap 'rm -rf "$work"' EXIT
D=$work/store
# the identity server's event.log: the sample kept in the repository
LOG=$SRC/tests/data/pas-event.log
n_log=$(grep -c . "$LOG")
"$T" import "$LOG" --store "$D" > "$work/imp.out" 2> "$work/imp.err"
check "import event.log exits 0" "[ $? -eq 0 ]"
check "the summary counts every line ($n_log)" "grep -q '^imported $n_log events (seq 1..$n_log), 0 rejected' '$work/imp.out'"
"$T" export --store "$D" --format eventlog > "$work/back.log"
check "export --format eventlog gives one line per event" "[ \$(wc -l < '$work/back.log') -eq $n_log ]"
# same ids and attributes as the input lines (the CEF after the host)
check "the exported lines carry the same events" \
    "diff <(sed 's/.*CEF:0|[^|]*|[^|]*|[^|]*|\([^|]*\)|.*/\1/' '$LOG') <(sed 's/.*CEF:0|[^|]*|[^|]*|[^|]*|\([^|]*\)|.*/\1/' '$work/back.log') > /dev/null"

# NDJSON round trip: export, import into a second store, export again
"$T" export --store "$D" > "$work/a.ndjson"
"$T" import "$work/a.ndjson" --store "$work/copy" > /dev/null 2>&1
check "import of an export succeeds" "[ $? -eq 0 ]"
"$T" export --store "$work/copy" > "$work/b.ndjson"
# the same events: uuids and received times are each store's own
check "and exports the same events" \
    "diff <(sed 's/\"uuid\":\"[^\"]*\",//; s/\"received\":\"[^\"]*\",//' '$work/a.ndjson') <(sed 's/\"uuid\":\"[^\"]*\",//; s/\"received\":\"[^\"]*\",//' '$work/b.ndjson') > /dev/null"

# a JSON array with one bad element: the good ones kept, the bad one named with its line
cat > "$work/arr.json" <<'EOF'
[
  {"id": "prism_user_locked", "attrs": {"duser": "alice", "phxTraceId": "#a1"}},
  {"id": "no_such_event_here", "attrs": {}},
  {"id": "prism_user_locked", "attrs": {"duser": "bob", "phxTraceId": "#b1"}}
]
EOF
"$T" import "$work/arr.json" --store "$D" > "$work/arr.out" 2> "$work/arr.err"
check "import with a bad element exits 1" "[ $? -eq 1 ]"
check "names the file and line of the bad element" "grep -q 'arr.json:3:' '$work/arr.err'"
check "keeps the two good ones" "grep -q '^imported 2 events (seq $((n_log + 1))..$((n_log + 2))), 1 rejected' '$work/arr.out'"

# export by seq range
"$T" export --store "$D" --from 2 --to 4 > "$work/range.ndjson"
check "export --from 2 --to 4 gives seqs 2, 3, 4" \
    "[ \"\$(grep -o '\"seq\":[0-9]*' '$work/range.ndjson' | tr '\n' ' ')\" = '\"seq\":2 \"seq\":3 \"seq\":4 ' ]"

# emit --store prints the seq, and stamps the event with the clock (moved to
# TRAIL_TEST_AT under tests/at_time.sh)
t0=$(date -u +%s)
if [ -n "${TRAIL_TEST_AT:-}" ]; then
    check "the clock is moved to $(date -u -d "@$TRAIL_TEST_AT" +%FT%TZ) (date: $(date -u +%FT%TZ))" \
        "[ $((t0 - TRAIL_TEST_AT)) -ge 0 ] && [ $((t0 - TRAIL_TEST_AT)) -lt 600 ]"
fi
seq=$("$T" emit prism_user_locked duser=carol phxTraceId=#c1 --store "$D")
check "emit --store prints the next seq" "[ '$seq' = '$((n_log + 3))' ]"
stamp=$("$T" export --store "$D" --from "$seq" | sed -n 's/.*"time":"\([^"]*\)".*/\1/p')
stamp_s=$(date -u -d "${stamp:-x}" +%s 2>/dev/null || echo 0)
check "emit --store stamps the clock's time ($stamp)" \
    "[ $((stamp_s - t0)) -ge 0 ] && [ $((stamp_s - t0)) -le 60 ]"

# stats
"$T" stats --store "$D" > "$work/stats.txt"
check "stats counts the events" "grep -q '^events *$((n_log + 3))\$' '$work/stats.txt'"
check "stats shows bytes per event" "grep -q '^bytes/event' '$work/stats.txt'"
"$T" stats --store "$D" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d["tree_size"] == d["last_seq"] else 1)'
check "stats --json is JSON with the tree size" "[ $? -eq 0 ]"

# purge: nothing is sealed yet in a small store, so nothing goes
"$T" purge --store "$D" --older-than 1d > "$work/purge.out"
check "purge with nothing old enough exits 0" "[ $? -eq 0 ] && grep -q 'nothing to purge' '$work/purge.out'"

# usage errors: exit 2 and a message naming the bad part
"$T" purge --store "$D" > /dev/null 2> "$work/e1"
check "purge without a limit is a usage error" "[ $? -eq 2 ] && grep -q 'older-than' '$work/e1'"
"$T" purge --store "$D" --max-size 10Q > /dev/null 2> "$work/e2"
check "a bad size is named" "[ $? -eq 2 ] && grep -q \"'10Q'\" '$work/e2'"
"$T" export --store "$D" --from x > /dev/null 2> "$work/e3"
check "a bad seq is named" "[ $? -eq 2 ] && grep -q \"'x'\" '$work/e3'"
"$T" import --store "$D" > /dev/null 2> "$work/e4"
check "import without FILE is a usage error" "[ $? -eq 2 ]"
"$T" import "$work/none" --store "$D" > /dev/null 2> "$work/e5"
check "import of a missing file is a usage error naming it" "[ $? -eq 2 ] && grep -q none '$work/e5'"
"$T" stats --store "$work/nothing" > /dev/null 2> "$work/e6"
check "stats of a directory with no store fails" "[ $? -eq 1 ] && grep -q 'no store' '$work/e6'"
for c in import export purge stats; do
    "$T" $c --help | grep -q "^SYNOPSIS" 
    check "$c --help prints a manual page" "[ $? -eq 0 ]"
done

# audit data is not world-readable: files 0640 or stricter, directories 0750
check "store files give others nothing" "[ -z \"\$(find '$D' -type f -perm /o=rwx)\" ] && [ -n \"\$(find '$D' -type f)\" ]"
check "the store directory gives others nothing" "[ -z \"\$(find '$D' -type d -perm /o=rwx)\" ]"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
