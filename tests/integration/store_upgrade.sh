#!/usr/bin/env bash
# store_upgrade.sh - a store written by trail's first on-disk format
# (tests/data/store-format-1: 300 records, a sealed segment and an open one,
# three checkpoints signed by the test key beside it; made by
# tests/data/make_store_fixture.c) opens, verifies and answers queries with
# today's trail and traild, which append to it. A format change that would
# strand it fails here: it must migrate such a store or refuse it with a
# message, and change this test knowingly (docs/operations.md, "Upgrades").
# A store of a format version this trail does not know is refused, not read.
source "$(dirname "$0")/daemon_common.bash"

TRAIL=$TRAIL_BIN/trail
FIX=$TRAIL_SOURCE_DIR/tests/data/store-format-1
PUB=$FIX/test.pub
S=$WORK/store
# quiet COMMAND...: its output only when it fails
quiet() { "$@" >"$WORK/quiet.out" 2>&1 || { cat "$WORK/quiet.out"; return 1; }; }
cp -r "$FIX/store" "$S"

# the fixture is what it says: format version 1 of store.meta, segments, records
ver() { od -An -tu2 -j8 -N2 "$1" | tr -d ' '; }
check_eq "store.meta is format version 1" "$(ver "$S/store.meta")" 1
check_eq "the sealed segment is format version 1" "$(ver "$S/seg-0000000000000001.seg")" 1
check_eq "the open segment is format version 1" "$(ver "$S/seg-00000000000000a0.open")" 1

# read in place (a reader changes nothing), then on the copy
sums() { (cd "$FIX" && find . -type f | sort | xargs sha256sum); }
sums >"$WORK/sums.before"
out=$("$TRAIL" verify --store "$FIX/store" --pubkey "$PUB" 2>&1)
check_eq "trail verify of the fixture as checked in: exit 0" "$?" 0
check_grep "records 1..300 in 2 segments, 3 checkpoints signed" \
    'records 1\.\.300 in 2 segments, .* 3 checkpoints \(3 signatures verified\)' <(echo "$out")
check "the fixture's files are unchanged by reading them" cmp -s "$WORK/sums.before" <(sums)

check_eq "trail count: 300 events of 51 kinds" \
    "$("$TRAIL" count --store "$S" --by event | sed '1d;$d' | awk '{n += $2; k++} END {print n, k}')" "300 51"
check_eq "the first record reads back as written" \
    "$("$TRAIL" query --store "$S" --order oldest --limit 1 --format csv 2>/dev/null | sed -n 2p | cut -d, -f1-7)" \
    "1,2026-11-01T00:00:00.000000Z,4,NOTICE,core_server_run_starting,idp-node1,a907b232-24d4-8eb8-a210-1a42044868c5"
check_eq "an indexed search across both segments (the sealed one ends at 159)" \
    "$("$TRAIL" query --store "$S" --where duser=anna.lindqvist --limit 0 --format csv 2>/dev/null | sed 1d | cut -d, -f1 | tr '\n' ' ')" \
    "300 171 151 150 149 148 147 146 145 144 112 111 110 109 108 107 106 105 98 61 60 59 58 57 56 55 54 34 33 32 31 30 "
"$TRAIL" backup --store "$S" --to "$WORK/bk" --pubkey "$PUB" >"$WORK/bk.out" 2>&1
check_eq "trail backup of it: exit 0" "$?" 0
check_grep "the sealed segment is hard-linked" 'records 1\.\.300 .* 1 segment\(s\) hard-linked' "$WORK/bk.out"

# today's traild opens it and appends after the 300 records
HPORT=$(free_port)
URL=http://127.0.0.1:$HPORT
cat >"$WORK/traild.conf" <<EOC
[store]
path = $S
signing_key = $FIX/test.key
checkpoint_interval_s = 1
[listen]
http = 127.0.0.1:$HPORT
syslog_udp = off
syslog_tcp = off
EOC
start_traild "$WORK/traild.conf" "$WORK/traild.log" || exit 1
seq=$("$TRAIL" emit core_server_schedule_done job=after-upgrade --url "$URL" 2>"$WORK/emit.err")
check "traild appends after the fixture's records" test "${seq:-0}" -gt 300
stop_traild
check "the store verifies after traild wrote to it" quiet \
    "$TRAIL" verify --store "$S" --pubkey "$PUB"

# a format version this trail does not know: refused, saying so
cp -r "$FIX/store" "$WORK/newer"
printf '\002' | dd of="$WORK/newer/store.meta" bs=1 seek=8 conv=notrunc status=none
"$TRAIL" stats --store "$WORK/newer" >/dev/null 2>"$WORK/newer.err"
check_eq "a store.meta of version 2: trail refuses it (exit 1)" "$?" 1
check_grep "and says why" 'unknown file format or version' "$WORK/newer.err"
finish
