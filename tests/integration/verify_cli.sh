#!/usr/bin/env bash
# verify_cli.sh - `trail verify`, `trail checkpoint` and `trail proof
# inclusion|consistency` end to end, on stores made with `trail import` and
# damaged the way an attacker with access to the files would: records edited
# inside the segment file with their CRC-32C recomputed (by a Python script
# that knows the frame format, docs/format.md), records removed, the store
# rolled back to an earlier copy or forked, a checkpoint's signature changed.
#
# Not here: every kind of damage on sealed segments, whole segments and
# tree.roots (tests/unit/test_verify.c), the proof primitives
# (cli_keygen_proof.sh, test_proof.c).
set -u

trail="${TRAIL_BIN:?TRAIL_BIN is not set}/trail"
[ -x "$trail" ] || { echo "no trail command at $trail"; echo "0 passed, 1 failed"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
not_ok() { failed=$((failed + 1)); echo "FAIL $1"; shift; for l in "$@"; do echo "     $l"; done; }
expect_eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got:  $2" "want: $3"; fi
}
expect_match() { # name text regex
    if printf '%s\n' "$2" | grep -Eq -- "$3"; then ok "$1"; else not_ok "$1" "got:  $2" "want: /$3/"; fi
}

# The attacker's tool: edit records of an open segment, CRC-32C made to fit.
cat >"$tmp/tamper.py" <<'EOF'
import struct, sys

def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc = TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF

TABLE = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    TABLE.append(c)

path, op, seq = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = bytearray(open(path, "rb").read())
header_len = struct.unpack_from("<I", data, 12)[0]
frames, pos = [], header_len
while pos + 8 <= len(data):
    n = struct.unpack_from("<I", data, pos)[0]
    frames.append(bytearray(data[pos:pos + 8 + n]))
    pos += 8 + n
at = [i for i, f in enumerate(frames) if struct.unpack_from("<Q", f, 9)[0] == seq][0]
if op == "flip":                      # one byte of the record, CRC made to fit
    frames[at][8 + 60] ^= 0x20
    struct.pack_into("<I", frames[at], 4, crc32c(frames[at][8:]))
elif op == "remove":
    del frames[at]
elif op == "truncate":                # cut the file before this record
    frames = frames[:at]
out = data[:header_len] + b"".join(frames)
open(path, "wb").write(out)
EOF

store="$tmp/store"
mkdir "$store"
"$trail" keygen --out "$store/checkpoint" >/dev/null || exit 1
cp "$store/checkpoint.pub" "$tmp/store.pub" # the auditor's copy, kept elsewhere
"$trail" loadgen -n 3000 >"$tmp/a.ndjson"
"$trail" loadgen -n 1000 --seed 2 >"$tmp/b.ndjson"
"$trail" loadgen -n 1000 --seed 3 >"$tmp/c.ndjson"
"$trail" import "$tmp/a.ndjson" --store "$store" >/dev/null 2>&1 || exit 1

# ---- a store that holds ----
out=$("$trail" verify --store "$store" --pubkey "$tmp/store.pub")
expect_eq "verify: exit 0 on an intact store" "$?" 0
expect_match "verify: one summary line, last, starting ok:" "$(printf '%s\n' "$out" | tail -1)" \
    '^ok: store [0-9a-f]{32}, records 1\.\.3000 in 1 segments, root [0-9a-f]{16}\.\.\.; 1 checkpoints \(1 signatures verified\)'
json=$("$trail" verify --store "$store" --pubkey "$tmp/store.pub" --json)
expect_eq "verify --json: ok, records, signatures" \
    "$(printf '%s' "$json" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["ok"], d["records"], d["signatures_verified"], d["damage"])')" \
    "True 3000 1 []"
out=$("$trail" verify --store "$store")
expect_match "verify: without --pubkey, DIR/checkpoint.pub is used and said so" "$out" \
    '^note: signatures checked with .*checkpoint.pub, found in the store directory'

cp_line=$("$trail" checkpoint --store "$store")
expect_eq "checkpoint: exit 0" "$?" 0
expect_match "checkpoint: prints the latest line, size 3000" "$cp_line" \
    '^trail-checkpoint/2 [0-9a-f]{32} 3000 [0-9a-f]{64} [0-9a-f]{64} [0-9]+ [0-9a-f]{8} [A-Za-z0-9+/]{86}==$'
expect_eq "checkpoint: it is the last line of DIR/checkpoints" "$cp_line" "$(tail -1 "$store/checkpoints")"
"$trail" verify --store "$store" --pubkey "$tmp/store.pub" --checkpoint "$cp_line" >/dev/null
expect_eq "verify: an external checkpoint of the same store holds" "$?" 0
printf '%s\n' "$cp_line" >"$tmp/witness.log"
"$trail" verify --store "$store" --pubkey "$tmp/store.pub" --checkpoint "$tmp/witness.log" >/dev/null
expect_eq "verify: --checkpoint FILE" "$?" 0

# ---- bad usage: 2 ----
"$trail" verify >/dev/null 2>&1
expect_eq "verify: no --store (exit 2)" "$?" 2
"$trail" verify --store "$tmp/nowhere" >/dev/null 2>&1
expect_eq "verify: no store there (exit 2)" "$?" 2
"$trail" verify --store "$store" --checkpoint "trail-checkpoint/1 junk" >/dev/null 2>&1
expect_eq "verify: malformed --checkpoint (exit 2)" "$?" 2
"$trail" verify --store "$store" --pubkey "$tmp/a.ndjson" >/dev/null 2>&1
expect_eq "verify: a --pubkey that is not a key (exit 2)" "$?" 2
"$trail" verify --store "$store" --frobnicate >/dev/null 2>&1
expect_eq "verify: unknown option (exit 2)" "$?" 2
"$trail" checkpoint >/dev/null 2>&1
expect_eq "checkpoint: no --store (exit 2)" "$?" 2

# ---- checkpoint --sign ----
"$trail" keygen --out "$tmp/other" >/dev/null
signed=$("$trail" checkpoint --store "$store" --sign --key "$tmp/other.key")
expect_eq "checkpoint --sign --key: exit 0" "$?" 0
# the note key id: SHA-256(origin \n 0x01 pub)[0..4], the second field of the verifier key
origin=$(printf '%s\n' "$signed" | cut -d' ' -f2)
other_id=$("$trail" keygen --key "$tmp/other.pub" --origin "$origin" | cut -d+ -f2)
expect_match "checkpoint --sign: size 3000, signed by the key given" "$signed" \
    "^trail-checkpoint/2 [0-9a-f]{32} 3000 .* $other_id [^ ]+\$"
"$trail" verify --store "$store" --pubkey "$tmp/store.pub" --pubkey "$tmp/other.pub" >/dev/null
expect_eq "verify: checkpoints of two keys, both keys given (exit 0)" "$?" 0
"$trail" verify --store "$store" --pubkey "$tmp/store.pub" >"$tmp/out"
expect_eq "verify: a checkpoint signed by a key not given (exit 1)" "$?" 1
expect_match "verify: ... named bad-signature, line 2" "$(cat "$tmp/out")" \
    '^damage: seq 3000 in checkpoints: bad-signature: line 2 .* not among the keys given'
head -1 "$store/checkpoints" >"$tmp/cps" && cp "$tmp/cps" "$store/checkpoints"

# ---- damage in records ----
cp -a "$store" "$tmp/pristine"
restore() { rm -rf "$store" && cp -a "$tmp/pristine" "$store"; }
seg=$(ls "$store"/seg-*.open)
segname=$(basename "$seg")

python3 "$tmp/tamper.py" "$seg" flip 1500
out=$("$trail" verify --store "$store" --pubkey "$tmp/store.pub")
expect_eq "flipped byte (CRC fitted): exit 1" "$?" 1
expect_match "flipped byte: named modified, in a range holding 1500, in the segment" \
    "$(printf '%s\n' "$out" | head -1)" \
    "^damage: seq 1([0-4][0-9][0-9]|500)\.\.(1[5-9][0-9][0-9]|[2-3][0-9]{3}) in $segname: modified: "
expect_match "flipped byte: summary starts DAMAGED:" "$(printf '%s\n' "$out" | tail -1)" \
    "^DAMAGED: seq [0-9.]+ in $segname: modified "
kind=$("$trail" verify --store "$store" --pubkey "$tmp/store.pub" --json |
    python3 -c 'import json,sys; d=json.load(sys.stdin); x=d["damage"][0]; print(d["ok"], x["kind"], x["seq"] <= 1500 <= x["seq_last"], x["file"])')
expect_eq "flipped byte: --json names it too" "$kind" "False modified True $segname"
restore

python3 "$tmp/tamper.py" "$seg" remove 1234
out=$("$trail" verify --store "$store" --pubkey "$tmp/store.pub")
expect_eq "removed record: exit 1" "$?" 1
expect_match "removed record: seq 1234 exactly, removed" "$(printf '%s\n' "$out" | head -1)" \
    "^damage: seq 1234 in $segname: removed: record 1234\.\.1234 missing: record 1235 follows record 1233"
restore

python3 "$tmp/tamper.py" "$seg" truncate 2991
out=$("$trail" verify --store "$store" --pubkey "$tmp/store.pub")
expect_eq "truncated tail: exit 1" "$?" 1
expect_match "truncated tail: against the store's own checkpoint" "$(printf '%s\n' "$out" | head -1)" \
    "^damage: seq 2991\.\.3000 in $segname: truncated: records 2991\.\.3000 are missing"
restore

# ---- rollback and fork, against a witness ----
cp -a "$store" "$tmp/early" # the attacker's copy at 3000
"$trail" import "$tmp/b.ndjson" --store "$store" >/dev/null 2>&1
witness=$("$trail" checkpoint --store "$store")
expect_match "witness: checkpoint at 4000" "$witness" '^trail-checkpoint/2 [0-9a-f]{32} 4000 '
rm -rf "$store" && cp -a "$tmp/early" "$store"
"$trail" verify --store "$store" --pubkey "$tmp/store.pub" >/dev/null
expect_eq "rollback: the copy holds on its own (exit 0)" "$?" 0
out=$("$trail" verify --store "$store" --pubkey "$tmp/store.pub" --checkpoint "$witness")
expect_eq "rollback: against the witness (exit 1)" "$?" 1
expect_match "rollback: named" "$(printf '%s\n' "$out" | head -1)" \
    '^damage: seq 3001\.\.4000 in \(external\): rollback: external checkpoint 1 covers 4000 records but the store ends at 3000'
"$trail" import "$tmp/c.ndjson" --store "$store" >/dev/null 2>&1 # other events after 3000
out=$("$trail" verify --store "$store" --pubkey "$tmp/store.pub" --checkpoint "$cp_line" --checkpoint "$witness")
expect_eq "fork: against the witness (exit 1)" "$?" 1
expect_match "fork: named, after the last checkpoint that holds" "$(printf '%s\n' "$out" | head -1)" \
    '^damage: seq 3001\.\.4000 in \(external\): fork: '
"$trail" proof consistency --from "$cp_line" --to "$witness" --store "$store" >/dev/null 2>"$tmp/err"
expect_eq "fork: no consistency proof to the witness's checkpoint (exit 1)" "$?" 1

# ---- a checkpoint's signature changed ----
rm -rf "$store" && cp -a "$tmp/pristine" "$store"
line=$(head -1 "$store/checkpoints")
sig=${line##* }
bad_sig=$(printf '%s' "$sig" | python3 -c 'import sys,base64; s=bytearray(base64.b64decode(sys.stdin.read())); s[10]^=1; print(base64.b64encode(bytes(s)).decode())')
printf '%s %s\n' "${line% *}" "$bad_sig" >"$store/checkpoints"
out=$("$trail" verify --store "$store" --pubkey "$tmp/store.pub")
expect_eq "bad signature: exit 1" "$?" 1
expect_match "bad signature: named, with the line" "$(printf '%s\n' "$out" | head -1)" \
    '^damage: seq 3000 in checkpoints: bad-signature: line 1 \(size 3000\) has a signature that does not verify'
"$trail" verify --store "$store" --pubkey "$tmp/store.pub" --checkpoint "${line% *} $bad_sig" >"$tmp/out"
expect_match "bad signature: an external one too" "$(cat "$tmp/out")" \
    'in \(external\): bad-signature: external checkpoint 1 \(size 3000\) does not verify'

# The identity server's own core_server_events_purged events (its catalog has
# the id trail records its purges under) are events like any other: the
# sample event.log holds six, and they are no damage.
"$trail" import "${TRAIL_SOURCE_DIR:-$(dirname "$0")/../..}/tests/data/pas-event.log" \
    --store "$tmp/idp-purges" >/dev/null 2>&1
"$trail" verify --store "$tmp/idp-purges" >"$tmp/out" 2>&1
expect_eq "an identity server's purge events: verify exit 0" "$?" 0
expect_match "an identity server's purge events: ok" "$(tail -1 "$tmp/out")" '^ok: store [0-9a-f]+, records 1\.\.60 '

# The time of each seal (journald's CVE-2023-31439): checkpoints signed with the store's key
# by a clock two hours ahead (faketime), then by one two hours behind. Before, the signed
# times were never compared and both stores verified.
# shellcheck source=clock_common.bash
source "${TRAIL_SOURCE_DIR:-$(dirname "$0")/../..}/tests/integration/clock_common.bash"
if [ -r "$FAKETIME_LIB" ]; then
    ts="$tmp/times"
    mkdir -p "$ts"
    "$trail" keygen --out "$ts/checkpoint" >/dev/null
    at_offset +2h "$trail" loadgen -n 300 --store "$ts" >/dev/null
    out=$("$trail" verify --store "$ts" --pubkey "$ts/checkpoint.pub")
    expect_eq "a checkpoint in the future: exit 1" "$?" 1
    expect_match "a checkpoint in the future: named" "$(printf '%s\n' "$out" | head -1)" \
        '^damage: seq 300 in checkpoints: checkpoint-time: checkpoints line 1 \(size 300\) is dated .*, in the future: now is .* and 300 s of clock skew are tolerated'
    "$trail" verify --store "$ts" --pubkey "$ts/checkpoint.pub" --time-tolerance 3h >/dev/null
    expect_eq "a checkpoint two hours ahead, --time-tolerance 3h: exit 0" "$?" 0
    at_offset -2h "$trail" loadgen -n 300 --seed 2 --store "$ts" >/dev/null
    out=$("$trail" verify --store "$ts" --pubkey "$ts/checkpoint.pub" --time-tolerance 3h)
    expect_eq "a checkpoint four hours back, --time-tolerance 3h: exit 1" "$?" 1
    expect_match "a checkpoint back in time: named, with the one it goes back from" \
        "$(printf '%s\n' "$out" | head -1)" \
        '^damage: seq 600 in checkpoints: checkpoint-time: checkpoints line 2 \(size 600\) is dated .*, before checkpoints line 1 \(size 300, dated .*\): its time goes backwards'
    "$trail" verify --store "$ts" --pubkey "$ts/checkpoint.pub" --time-tolerance off >/dev/null
    expect_eq "--time-tolerance off: times unchecked, exit 0" "$?" 0
    "$trail" verify --store "$ts" --time-tolerance 5 >/dev/null 2>"$tmp/err"
    expect_eq "--time-tolerance without a unit: exit 2" "$?" 2
else
    not_ok "faketime is missing (scripts/install-deps.sh test installs it)"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
