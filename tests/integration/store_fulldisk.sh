#!/bin/bash
# store_fulldisk.sh - the store on a full disk: appends fail with ENOSPC and
# say so, nothing acknowledged is lost, nothing is stored twice, and appends
# resume once space returns.
#
# Makes its own small filesystem (a 2 MiB tmpfs; needs root, as the tests run
# here and in CI) and fills it with a filler file. Skips with a message only
# when mounting is not permitted. Uses $TRAIL_BIN/trail and python3.
#
# Not here: write failures injected through the fault hook (test_store.c).
set -u
T=${TRAIL_BIN:?}/trail
pass=0
fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }

work=$(mktemp -d /tmp/trail-fulldisk-XXXXXX)
mnt=$work/mnt
mkdir -p "$mnt"
if ! mount -t tmpfs -o size=2m tmpfs "$mnt" 2>"$work/mount.err"; then
    why="cannot mount a tmpfs here ($(cat "$work/mount.err")); run as root"
    rm -rf "$work"
    if [ "${TRAIL_TEST_NO_SKIP:-0}" = 1 ]; then # make test as root: no skips
        echo "FAIL this case would be skipped: $why"
        echo "0 passed, 1 failed"
        exit 1
    fi
    echo "skipped: $why"
    echo "0 passed, 0 failed, 1 skipped"
    exit 77
fi
trap 'umount "$mnt" 2>/dev/null; rm -rf "$work"' EXIT
D=$mnt/store

# 3000 realistic events, about 1.1 MB as NDJSON: more than the room left.
# The first 100 go in while there is room, so the store exists and holds some.
"$T" loadgen --count 3000 --seed 5 > "$work/in.ndjson"
head -100 "$work/in.ndjson" | "$T" import - --store "$D" > /dev/null 2>&1
check "the first 100 events go in while there is room" "[ $? -eq 0 ]"
# leave about 400 KiB free
avail=$(df -k --output=avail "$mnt" | tail -1)
dd if=/dev/zero of="$mnt/filler" bs=1k count=$((avail - 400)) status=none 2>/dev/null

tail -n +101 "$work/in.ndjson" | "$T" import - --store "$D" > "$work/imp1.out" 2> "$work/imp1.err"
rc=$?
check "import into a full disk fails (exit 1)" "[ $rc -eq 1 ]"
check "and says why: No space left on device" "grep -q 'No space left on device' '$work/imp1.err'"

"$T" stats --store "$D" --json > "$work/stats1.json"
n1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["events"])' "$work/stats1.json")
check "the store holds what went in before the disk filled ($n1 events)" "[ '$n1' -ge 100 ] && [ '$n1' -lt 3000 ]"

# what is stored is exactly the first n1 input events, in order
cat > "$work/same.py" <<'EOF'
import json, sys
stored = [json.loads(l) for l in open(sys.argv[1])]
given = [json.loads(l) for l in open(sys.argv[2])]
first = int(sys.argv[3]) if len(sys.argv) > 3 else 0
def key(e):
    return (e["id"], e.get("time"), e.get("host"), json.dumps(e.get("attrs", {}), sort_keys=True))
bad = 0
for i, e in enumerate(stored):
    if e["seq"] != i + 1:
        print("seq %d at position %d" % (e["seq"], i)); bad += 1
want = [key(e) for e in given]
got = [key(e) for e in stored if e["id"] != "prism_user_locked" or e.get("attrs", {}).get("duser") != "fulldisk-probe"]
if got != want[:len(got)] or (first and len(got) != first):
    print("stored events differ from the input's first %d" % len(got)); bad += 1
sys.exit(1 if bad else 0)
EOF
"$T" export --store "$D" > "$work/out1.ndjson"
check "the stored events are the input's first $n1, in order, each once" \
    "python3 '$work/same.py' '$work/out1.ndjson' '$work/in.ndjson' '$n1'"

# still full (the failed flush gave back what it had written: take that too); an event
# that needs new pages fails, nothing is acknowledged
dd if=/dev/zero of="$mnt/filler2" bs=4k status=none 2>/dev/null
big=$(head -c 6000 /dev/zero | tr '\0' x)
"$T" emit prism_user_locked duser=fulldisk-probe phxTraceId=#probe1 "reason=$big" --store "$D" \
    > "$work/emit1.out" 2> "$work/emit1.err"
rc=$?
check "emit on the full disk fails (exit 1) and prints no seq" "[ $rc -eq 1 ] && [ ! -s '$work/emit1.out' ]"
check "and names the cause" "grep -q 'No space left on device' '$work/emit1.err'"

# space returns: appends resume where the store left off
rm -f "$mnt/filler" "$mnt/filler2"
"$T" emit prism_user_locked duser=fulldisk-probe phxTraceId=#probe2 --store "$D" \
    > "$work/emit2.out" 2> "$work/emit2.err"
rc=$?
check "emit after space returns succeeds" "[ $rc -eq 0 ]"
check "with the next seq ($((n1 + 1)))" "[ \"\$(cat '$work/emit2.out')\" = '$((n1 + 1))' ]"

tail -n +$((n1 + 1)) "$work/in.ndjson" > "$work/rest.ndjson"
"$T" import "$work/rest.ndjson" --store "$D" > "$work/imp2.out" 2> "$work/imp2.err"
check "importing the rest succeeds" "[ $? -eq 0 ]"

"$T" export --store "$D" > "$work/out2.ndjson"
check "the store holds every input event once, in order, and the probe" \
    "python3 '$work/same.py' '$work/out2.ndjson' '$work/in.ndjson' 3000 && [ \$(wc -l < '$work/out2.ndjson') -eq 3001 ]"
check "the failed probe is not in the store" "! grep -q '#probe1' '$work/out2.ndjson'"

# a writer's open finds nothing to repair
"$T" emit prism_user_locked duser=fulldisk-probe phxTraceId=#probe3 --store "$D" \
    > "$work/emit3.out" 2> "$work/emit3.err"
check "reopening needs no recovery" "[ $? -eq 0 ] && ! grep -q recovery '$work/emit3.err'"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
