#!/usr/bin/env bash
# verify_proofs.sh - proofs made from a store with `trail proof inclusion`
# and `trail proof consistency`, checked offline with `trail proof check`
# (only the proof, the checkpoint lines, the record bytes and the public
# key): an inclusion proof for every record of a small store; consistency
# proofs between its checkpoints; and, on a store purged three times (made by
# tests/unit/test_verify with TRAIL_TEST_KEEP), consistency proofs from every
# checkpoint taken before a purge to the latest one.
#
# Not here: damage (verify_cli.sh, test_verify.c), the proof algorithms
# (test_proof.c, cli_keygen_proof.sh).
set -u

bin="${TRAIL_BIN:?TRAIL_BIN is not set}"
trail="$bin/trail"
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

store="$tmp/store"
mkdir "$store"
"$trail" keygen --out "$store/checkpoint" >/dev/null || exit 1
cp "$store/checkpoint.pub" "$tmp/store.pub"
"$trail" loadgen -n 70 >"$tmp/a.ndjson"
"$trail" loadgen -n 30 --seed 5 >"$tmp/b.ndjson"
"$trail" import "$tmp/a.ndjson" --store "$store" >/dev/null 2>&1 || exit 1
first_cp=$("$trail" checkpoint --store "$store")
"$trail" import "$tmp/b.ndjson" --store "$store" >/dev/null 2>&1 || exit 1
last_cp=$("$trail" checkpoint --store "$store")

# ---- an inclusion proof for every record, checked offline ----
bad=""
for seq in $(seq 1 100); do
    "$trail" proof inclusion "$seq" --store "$store" --out "$tmp/p" >/dev/null 2>"$tmp/err" ||
        { bad="$bad $seq(make)"; continue; }
    "$trail" proof check --proof "$tmp/p.proof" --checkpoint "$tmp/p.checkpoint" \
        --event "$tmp/p.record" --pubkey "$tmp/store.pub" >"$tmp/out" 2>&1 ||
        bad="$bad $seq(check)"
done
expect_eq "inclusion: records 1..100 each proven against the latest checkpoint, offline" "$bad" ""
expect_eq "inclusion: the record file hashes to the proof's leaf" \
    "$({ printf '\0'; cat "$tmp/p.record"; } | sha256sum | cut -d' ' -f1)" \
    "$(sed -n 's/^leaf //p' "$tmp/p.proof")"

# the default output: proof, checkpoint line, record in hex
out=$("$trail" proof inclusion 42 --store "$store")
expect_eq "inclusion: prints the proof first" "$(printf '%s\n' "$out" | head -3)" \
    "trail-proof/1 inclusion
index 41
size 100"
expect_eq "inclusion: then the checkpoint line" "$(printf '%s\n' "$out" | sed -n 's/^checkpoint: //p')" \
    "$last_cp"
printf '%s\n' "$out" | sed -n 's/^record: //p' | xxd -r -p >"$tmp/r42"
printf '%s\n' "$out" | sed -n '/^trail-proof/,/^checkpoint: /p' | sed '$d' >"$tmp/p42.proof"
"$trail" proof check --proof "$tmp/p42.proof" --checkpoint "$last_cp" --event "$tmp/r42" \
    --pubkey "$tmp/store.pub" >/dev/null
expect_eq "inclusion: ... and the hex record, which checks offline" "$?" 0

# against an older checkpoint
"$trail" proof inclusion 70 --store "$store" --checkpoint "$first_cp" --out "$tmp/o" >/dev/null
"$trail" proof check --proof "$tmp/o.proof" --checkpoint "$first_cp" --event "$tmp/o.record" \
    --pubkey "$tmp/store.pub" >/dev/null
expect_eq "inclusion: against an older checkpoint (--checkpoint)" "$?" 0
"$trail" proof inclusion 71 --store "$store" --checkpoint "$first_cp" >/dev/null 2>&1
expect_eq "inclusion: a record after the checkpoint (exit 2)" "$?" 2
"$trail" proof inclusion 0 --store "$store" >/dev/null 2>&1
expect_eq "inclusion: seq 0 (exit 2)" "$?" 2
# a changed record does not check
cp "$tmp/p.record" "$tmp/changed" && printf 'x' | dd of="$tmp/changed" bs=1 seek=40 conv=notrunc 2>/dev/null
"$trail" proof check --proof "$tmp/p.proof" --checkpoint "$tmp/p.checkpoint" --event "$tmp/changed" \
    --pubkey "$tmp/store.pub" >/dev/null 2>&1
expect_eq "inclusion: a changed record does not check (exit 1)" "$?" 1

# ---- consistency ----
"$trail" proof consistency --from "$first_cp" --store "$store" >"$tmp/c.proof"
expect_eq "consistency: made (to the latest by default)" "$?" 0
expect_eq "consistency: 70 to 100" "$(sed -n 2,3p "$tmp/c.proof")" "old-size 70
size 100"
"$trail" proof check --proof "$tmp/c.proof" --checkpoint "$first_cp" --checkpoint "$last_cp" \
    --pubkey "$tmp/store.pub" >/dev/null
expect_eq "consistency: checks offline" "$?" 0
"$trail" proof consistency --from "$last_cp" --to "$first_cp" --store "$store" >/dev/null 2>&1
expect_eq "consistency: --from newer than --to (exit 2)" "$?" 2

# ---- a store purged three times ----
purged="$tmp/purged"
TRAIL_TEST_KEEP="$purged" TEST_ONLY=purged_three_times "$bin/tests/test_verify" >"$tmp/out" 2>&1
expect_eq "purged store: made by test_verify" "$?" 0
out=$("$trail" verify --store "$purged" --pubkey "$purged.pub")
expect_eq "purged store: verifies (exit 0)" "$?" 0
first=$(printf '%s\n' "$out" | sed -n 's/^ok: .*, records \([0-9]*\)\.\..*/\1/p')
expect_eq "purged store: starts after the purges, from the last purge's anchor" \
    "$(printf '%s\n' "$out" | grep -c "^note: starts after a purge of records up to $((first - 1)) ")" 1
latest=$(tail -1 "$purged/checkpoints")
n_before=0
bad=""
while read -r line; do
    [ "$line" = "$latest" ] && continue
    size=$(echo "$line" | cut -d' ' -f3)
    [ "$size" -lt "$first" ] && n_before=$((n_before + 1))
    "$trail" proof consistency --from "$line" --store "$purged" --out "$tmp/pc.proof" 2>"$tmp/err" ||
        { bad="$bad $size(make: $(cat "$tmp/err"))"; continue; }
    "$trail" proof check --proof "$tmp/pc.proof" --checkpoint "$line" --checkpoint "$latest" \
        --pubkey "$purged.pub" >/dev/null 2>&1 || bad="$bad $size(check)"
done <"$purged/checkpoints"
expect_eq "purged store: consistency proofs from every checkpoint to the latest check" "$bad" ""
[ "$n_before" -ge 2 ]
expect_eq "purged store: ... $n_before of them from before the purge point" "$?" 0
"$trail" proof inclusion "$first" --store "$purged" --out "$tmp/pi" >/dev/null &&
    "$trail" proof check --proof "$tmp/pi.proof" --checkpoint "$tmp/pi.checkpoint" \
        --event "$tmp/pi.record" --pubkey "$purged.pub" >/dev/null
expect_eq "purged store: the first record kept has its inclusion proof" "$?" 0
"$trail" proof inclusion 1 --store "$purged" >/dev/null 2>"$tmp/err"
expect_eq "purged store: a purged record has none (exit 1)" "$?" 1
expect_eq "purged store: ... and it says so" "$(grep -c 'was purged' "$tmp/err")" 1

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
