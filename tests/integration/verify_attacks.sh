#!/usr/bin/env bash
# verify_attacks.sh - every attack of issue 15 "Found 1" on a store of 3,000
# events, and what `trail verify` says of each: with only the store's own
# checkpoints and the auditor's copy of the public key (--pubkey), the same
# accepting 1,000 unsigned records, and with an external checkpoint (a copy of
# the store's checkpoint at 2,000 or at 3,000, kept outside the store). The
# attacker has write access to the stopped store's directory and recomputes
# everything the store keeps (tests/tools/store_attacker, tests/attacker.h),
# so only what is signed can tell.
#
# It prints the results as the markdown table that docs/integrity.md §8 and
# docs/THREATS.md §2 hold, and fails when a doc's table differs from what the
# attacks gave (so the docs stay true): the table sits between the lines
# "<!-- verify_attacks.sh table -->" and "<!-- end of verify_attacks.sh table -->".
#
# Not here: damage that the structure or hashes catch (test_verify.c,
# verify_cli.sh).
source "$(dirname "$0")/daemon_common.bash"

TRAIL="$TRAIL_BIN/trail"
ATTACKER="$TRAIL_BIN/tests/store_attacker"
[ -x "$ATTACKER" ] || { echo "no $ATTACKER"; echo "0 passed, 1 failed"; exit 1; }

# ---- the store: 3 x 1,000 events, a checkpoint after each, segments of 64 KiB ----
"$TRAIL" keygen --out "$WORK/key" >/dev/null || exit 1
cp "$WORK/key.pub" "$WORK/auditor.pub" # the auditor's copy, kept outside the store
S0="$WORK/pristine"
mkdir "$S0" && cp "$WORK/key.key" "$S0/checkpoint.key"
for seed in 1 2 3; do
    "$TRAIL" loadgen -n 1000 --seed "$seed" >"$WORK/in$seed.ndjson"
    "$ATTACKER" import "$S0" 65536 "$WORK/in$seed.ndjson" || exit 1
done
check_eq "the store's checkpoints: 1000, 2000, 3000" \
    "$(cut -d' ' -f3 "$S0/checkpoints" | tr '\n' ' ')" "1000 2000 3000 "
n_segs=$(ls "$S0"/seg-* | grep -c '\.seg$\|\.open$')
check "several segments ($n_segs)" test "$n_segs" -ge 4
grep ' 2000 ' "$S0/checkpoints" >"$WORK/witness-2000.log" # what a witness kept
grep ' 3000 ' "$S0/checkpoints" >"$WORK/witness-3000.log"
# A C2SP witness (§14) cosigned the honest checkpoint of 3000; its note with
# the cosignature sits where a tlog-witness sink keeps it, in the store.
"$TRAIL" keygen --out "$WORK/wit" >/dev/null || exit 1
{
    echo "witness w $("$TRAIL" keygen --key "$WORK/wit.pub" --witness witness.test/w)"
    echo "quorum 1"
} >"$WORK/witness.policy"
mkdir -p "$S0/sinks"
"$TRAIL" checkpoint --store "$S0" --note |
    "$TRAIL_BIN/tests/witness_cosign" "$WORK/wit.key" witness.test/w 1796000000 \
        >"$S0/sinks/w.cosigned" || exit 1
"$TRAIL" verify --store "$S0" --pubkey "$WORK/auditor.pub" >"$WORK/pristine.out"
check_eq "the untouched store verifies with --pubkey" "$?" 0
check_grep "... against the store's own checkpoints, and says what that is worth" \
    "^ok: .*; verified against the store's own checkpoints \(an attacker with write access to the directory and the key could have rewritten it\)$" \
    "$WORK/pristine.out"
"$TRAIL" verify --store "$S0" --pubkey "$WORK/auditor.pub" --checkpoint "$WORK/witness-2000.log" \
    >"$WORK/pristine-w.out"
check_grep "... with a witness's checkpoint: records up to 2000 against it, and its date" \
    "^ok: .*; records up to 2000 verified against an external checkpoint of 20[0-9-]{8}T[0-9:.]+Z, records 2001\.\.3000 against the store's own checkpoints" \
    "$WORK/pristine-w.out"
"$TRAIL" verify --store "$S0" --pubkey "$WORK/auditor.pub" --policy "$WORK/witness.policy" \
    >"$WORK/pristine-p.out"
check_eq "... with the witness policy: it verifies" "$?" 0
check_grep "... and the cosigned checkpoint of 3000 meets it" \
    "^witness policy: checkpoint of size 3000 cosigned by 1 of 1 witnesses, 1 needed$" \
    "$WORK/pristine-p.out"

# ---- the attacks: each on a fresh copy, in $WORK/attack-NAME ----
attack() { # NAME: make the attacked store
    local d="$WORK/attack-$1"
    rm -rf "$d" && cp -a "$S0" "$d"
    case $1 in
    edit) # duser of seq 1000 changed, everything recomputed, checkpoints deleted
        "$ATTACKER" rewrite "$d" 1000 all && rm "$d/checkpoints" ;;
    edit-key) # the same, every checkpoint signed again with the key
        "$ATTACKER" rewrite "$d" 1000 all "$WORK/key.key" ;;
    cut) # the last 100 records cut, with their tree.roots entries and checkpoint lines
        "$ATTACKER" rewrite "$d" 0 2900 ;;
    drop) # the newest segment deleted, with its checkpoint lines and tree.roots entries
        local newest first
        newest=$(ls "$d" | grep -E '^seg-[0-9a-f]{16}\.(seg|open)$' | sort | tail -1)
        first=$((16#${newest:4:16}))
        rm "$d/$newest" "$d/${newest%.*}.idx" 2>/dev/null
        rm -f "$d/$newest"
        awk -v last=$((first - 1)) '$3 <= last' "$d/checkpoints" >"$d/cp" && mv "$d/cp" "$d/checkpoints"
        truncate -s $((64 + 32 * ((first - 1) / 256))) "$d/tree.roots" ;;
    import | import-key) # a modified export imported into a new store that takes its place
        "$TRAIL" export --store "$S0" >"$WORK/export.ndjson"
        sed -E '/"seq":1000,/s/"duser":"[^"]*"/"duser":"mallory"/' "$WORK/export.ndjson" \
            >"$WORK/forged.ndjson"
        rm -rf "$d" && mkdir "$d"
        [ "$1" = import-key ] && cp "$WORK/key.key" "$d/checkpoint.key"
        "$TRAIL" import "$WORK/forged.ndjson" --store "$d" >/dev/null 2>&1 ;;
    esac
}

# One cell: what verify says, from its --json.
cell() { # DIR ARGS...
    local d=$1
    shift
    "$TRAIL" verify --store "$d" --pubkey "$WORK/auditor.pub" "$@" --json 2>/dev/null |
        python3 -c '
import json, sys
d = json.load(sys.stdin)
if d["ok"]:
    print("passes")
else:
    x = d["damage"][0]
    r = str(x["seq"]) if x["seq_last"] == x["seq"] else "%d..%d" % (x["seq"], x["seq_last"])
    print("**%s** %s" % (x["kind"], r) if x["seq"] else "**%s**" % x["kind"])'
}

# The witness column: verify --policy, the first damage named, or that no
# checkpoint of the store met the policy.
wcell() { # DIR
    "$TRAIL" verify --store "$1" --pubkey "$WORK/auditor.pub" --policy "$WORK/witness.policy" \
        --json 2>"$WORK/wcell.err" >"$WORK/wcell.json"
    local rc=$?
    python3 - "$rc" "$WORK/wcell.json" "$WORK/wcell.err" <<'PY'
import json, sys
rc, d, err = int(sys.argv[1]), json.load(open(sys.argv[2])), open(sys.argv[3]).read()
if d["damage"]:
    x = d["damage"][0]
    r = str(x["seq"]) if x["seq_last"] == x["seq"] else "%d..%d" % (x["seq"], x["seq_last"])
    print("**%s** %s" % (x["kind"], r) if x["seq"] else "**%s**" % x["kind"])
elif "not enough cosignatures" in err:
    print("**not cosigned**")
else:
    print("passes" if rc == 0 else "exit %d" % rc)
PY
}

declare -A TITLE=(
    [edit]='edit `duser` of seq 1000, recompute every CRC, block, trailer, header and `tree.roots`, delete `checkpoints`'
    [edit-key]='the same, and sign every checkpoint again with the key'
    [cut]='cut the last 100 records with their `tree.roots` entries and checkpoint lines'
    [drop]='delete the newest segment with its checkpoint lines and `tree.roots` entries'
    [import]='`trail import` a modified export into a new store, without the key'
    [import-key]='the same, with the key'
)
ATTACKS="edit edit-key cut drop import import-key"
table="$WORK/table.md"
{
    echo "| attack (write access to the stopped store's directory) | \`--pubkey\` only | \`--pubkey --allow-unsigned-tail 1000\` | and an external checkpoint of 2000 | and an external checkpoint of 3000 | witnesses (C2SP cosigning) |"
    echo "|---|---|---|---|---|---|"
} >"$table"
declare -A RESULT
for a in $ATTACKS; do
    attack "$a"
    check_eq "attack $a: made" "$?" 0
    d="$WORK/attack-$a"
    # the attacker's store is consistent in itself: without a key given, it passes
    "$TRAIL" verify --store "$d" >"$WORK/$a-nokey.out" 2>&1
    RESULT[$a.nokey]=$?
    c1=$(cell "$d")
    c2=$(cell "$d" --allow-unsigned-tail 1000)
    c3=$(cell "$d" --checkpoint "$WORK/witness-2000.log")
    c4=$(cell "$d" --checkpoint "$WORK/witness-3000.log")
    c5=$(wcell "$d")
    RESULT[$a]="$c1|$c2|$c3|$c4|$c5"
    # the attacker's best move against the witness: delete its cosigned note
    rm -f "$d/sinks/w.cosigned"
    RESULT[$a.nonote]=$(wcell "$d")
    grep -q "^witness policy: not enough cosignatures" "$WORK/wcell.err" &&
        RESULT[$a.nonote]+=" (not cosigned)"
    echo "| ${TITLE[$a]} | $c1 | $c2 | $c3 | $c4 | $c5 |" >>"$table"
done
echo
cat "$table"
echo

# What must hold, whatever the wording of the table.
for a in edit edit-key cut drop; do
    check_eq "attack $a: the structure and hashes alone pass it (the attacker redid them)" \
        "${RESULT[$a.nokey]}" 0
done
for a in edit cut drop import; do
    check "attack $a: --pubkey fails it as unsigned" \
        test "${RESULT[$a]%%|*}" != passes -a "${RESULT[$a]#\*\*unsigned\*\*}" != "${RESULT[$a]}"
done
check_eq "attack edit-key: with the key re-signing, the store's own checkpoints cannot tell" \
    "${RESULT[edit-key]%%|*}" passes
check "attack edit-key: an external checkpoint from before the edit can (fork)" \
    grep -q 'fork' <<<"$(cut -d'|' -f3 <<<"${RESULT[edit-key]}")"
check_eq "attack edit: no unsigned tail makes up for no checkpoint at all" \
    "$(cut -d'|' -f2 <<<"${RESULT[edit]}")" "**unsigned** 1..3000"
check "attack cut: an external checkpoint of 3000 sees the cut (rollback)" \
    grep -q 'rollback' <<<"$(cut -d'|' -f4 <<<"${RESULT[cut]}")"
for a in $ATTACKS; do
    check "attack $a: an external checkpoint of 3000 catches it" \
        test "$(cut -d'|' -f4 <<<"${RESULT[$a]}")" != passes
done

for a in $ATTACKS; do
    check "attack $a: the witness policy catches it" \
        test "$(cut -d'|' -f5 <<<"${RESULT[$a]}")" != passes
    check "attack $a: with the cosigned note deleted too, it fails: no checkpoint meets the policy" \
        test "${RESULT[$a.nonote]}" != passes -a \
        "${RESULT[$a.nonote]% (not cosigned)}" != "${RESULT[$a.nonote]}" -o \
        "${RESULT[$a.nonote]}" = "**not cosigned**"
done

# The docs hold the same table.
for doc in docs/integrity.md docs/THREATS.md; do
    sed -n '/^<!-- verify_attacks.sh table -->$/,/^<!-- end of verify_attacks.sh table -->$/p' \
        "$TRAIL_SOURCE_DIR/$doc" | grep '^|' >"$WORK/doc-table.md"
    if diff -u "$WORK/doc-table.md" "$table" >"$WORK/doc.diff"; then
        check "$doc holds the table these attacks gave" true
    else
        cat "$WORK/doc.diff"
        check "$doc holds the table these attacks gave" false
    fi
done
finish
