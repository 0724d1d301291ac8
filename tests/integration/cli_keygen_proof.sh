#!/usr/bin/env bash
# cli_keygen_proof.sh - `trail keygen` and `trail proof check` end to end.
#
# The proofs and checkpoints checked here are made without trail's library:
# a Python script (hashlib) builds RFC 9162 trees over record files and
# writes inclusion and consistency proofs in trail's text form, and
# `openssl pkeyutl` signs the checkpoint messages with the key `trail keygen`
# wrote (and with a key `openssl genpkey` made). So this also shows that an
# auditor's own tools agree with trail on every byte (docs/integrity.md).
#
# Not here: the algorithms in depth (tests/unit/test_proof.c,
# test_checkpoint.c); proofs made from a store.
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

# ---- trail keygen ----
out=$("$trail" keygen --out "$tmp/store" 2>"$tmp/err")
expect_eq "keygen: exit status 0" "$?" 0
expect_eq "keygen: private key mode 0600" "$(stat -c %a "$tmp/store.key")" 600
expect_eq "keygen: public key mode 0644" "$(stat -c %a "$tmp/store.pub")" 644
expect_eq "keygen: private key is PKCS#8 PEM" "$(head -1 "$tmp/store.key")" "-----BEGIN PRIVATE KEY-----"
expect_eq "keygen: public key is SPKI PEM" "$(head -1 "$tmp/store.pub")" "-----BEGIN PUBLIC KEY-----"
key_id=$(printf '%s\n' "$out" | sed -n 's/^key id \([0-9a-f]\{8\}\)$/\1/p')
# the key id, computed with openssl and coreutils
want_id=$(openssl pkey -pubin -in "$tmp/store.pub" -outform DER | tail -c 32 |
    openssl dgst -sha256 -binary | head -c 4 | od -An -tx1 | tr -d ' \n')
expect_eq "keygen: prints the key id, SHA-256 of the raw public key" "$key_id" "$want_id"
expect_eq "keygen: names the files" "$(printf '%s\n' "$out" | sed -n 2,3p)" \
    "private key $tmp/store.key
public key $tmp/store.pub"
openssl pkey -in "$tmp/store.key" -pubout 2>/dev/null | cmp -s - "$tmp/store.pub"
expect_eq "keygen: openssl reads the private key and derives the same public key" "$?" 0

before=$(sha256sum "$tmp/store.key" "$tmp/store.pub")
"$trail" keygen --out "$tmp/store" >/dev/null 2>"$tmp/err"
expect_eq "keygen: refuses to overwrite (exit 1)" "$?" 1
expect_eq "keygen: files unchanged" "$(sha256sum "$tmp/store.key" "$tmp/store.pub")" "$before"
grep -q "never overwritten" "$tmp/err"
expect_eq "keygen: says why" "$?" 0
: >"$tmp/half.pub"
"$trail" keygen --out "$tmp/half" >/dev/null 2>&1
expect_eq "keygen: an existing .pub alone also refuses" "$?" 1
[ ! -e "$tmp/half.key" ]
expect_eq "keygen: and leaves no .key behind" "$?" 0
"$trail" keygen --out "$tmp/no/such/dir/k" >/dev/null 2>&1
expect_eq "keygen: missing directory (exit 1)" "$?" 1
"$trail" keygen extra >/dev/null 2>&1
expect_eq "keygen: positional argument (exit 2)" "$?" 2
"$trail" keygen --out >/dev/null 2>&1
expect_eq "keygen: --out without a value (exit 2)" "$?" 2
"$trail" keygen --help | grep -q "^SYNOPSIS"
expect_eq "keygen: --help" "$?" 0
(cd "$tmp" && mkdir default && cd default && "$trail" keygen >/dev/null && [ -f trail.key ] && [ -f trail.pub ])
expect_eq "keygen: default prefix 'trail'" "$?" 0

# a second, unrelated key pair made by openssl
openssl genpkey -algorithm ed25519 -out "$tmp/other.key" 2>/dev/null
openssl pkey -in "$tmp/other.key" -pubout -out "$tmp/other.pub" 2>/dev/null

# ---- proofs and checkpoints made with python and openssl ----
# make.py KEY ORIGIN: writes records, proofs and checkpoint messages into $tmp/w
mkdir -p "$tmp/w"
cat >"$tmp/make.py" <<'PY'
import hashlib, os, sys
w = sys.argv[1]
H = lambda b: hashlib.sha256(b).digest()
leaf = lambda rec: H(b"\x00" + rec)
node = lambda l, r: H(b"\x01" + l + r)
def split(n):
    k = 1
    while k * 2 < n: k *= 2
    return k
def mth(L):
    if not L: return H(b"")
    if len(L) == 1: return L[0]
    k = split(len(L)); return node(mth(L[:k]), mth(L[k:]))
def path(m, L):                       # RFC 9162 2.1.3.1
    if len(L) <= 1: return []
    k = split(len(L))
    return path(m, L[:k]) + [mth(L[k:])] if m < k else path(m - k, L[k:]) + [mth(L[:k])]
def subproof(m, L, b):                # RFC 9162 2.1.4.1
    n = len(L)
    if m == n: return [] if b else [mth(L)]
    k = split(n)
    if m <= k: return subproof(m, L[:k], b) + [mth(L[k:])]
    return subproof(m - k, L[k:], False) + [mth(L[:k])]
records = [('{"id":"auth_login","seq":%d,"user":"user%d"}' % (i + 1, i % 7)).encode() for i in range(40)]
L = [leaf(r) for r in records]
def chain(n):
    c = bytes(32)
    for h in L[:n]: c = H(c + h)
    return c
def write(name, text):
    open(os.path.join(w, name), "w").write(text)
open(os.path.join(w, "record-12"), "wb").write(records[11])  # seq 12 = leaf index 11
open(os.path.join(w, "record-13"), "wb").write(records[12])
write("leaf-12", L[11].hex())
write("inclusion-12-of-37", "trail-proof/1 inclusion\nindex 11\nsize 37\nleaf %s\n" % L[11].hex()
      + "".join("path %s\n" % h.hex() for h in path(11, L[:37])))
write("consistency-21-37", "trail-proof/1 consistency\nold-size 21\nsize 37\n"
      + "".join("path %s\n" % h.hex() for h in subproof(21, L[:37], True)))
write("consistency-0-37", "trail-proof/1 consistency\nold-size 0\nsize 37\n")
for n in (21, 37, 40):
    write("msg-%d" % n, "trail-checkpoint/1\norigin idp-store-1\nsize %d\nroot %s\nchain %s\ntime %d\nkey KEYID\n"
          % (n, mth(L[:n]).hex(), chain(n).hex(), 1764000000000000 + n))
# a forged tree of 37 records where record 5 differs: validly signed, different root
L2 = list(L); L2[4] = leaf(b"rewritten")
write("msg-37-fork", "trail-checkpoint/1\norigin idp-store-1\nsize 37\nroot %s\nchain %s\ntime %d\nkey KEYID\n"
      % (mth(L2[:37]).hex(), chain(37).hex(), 1764000000000099))
write("msg-37-other-origin", "trail-checkpoint/1\norigin idp-store-2\nsize 37\nroot %s\nchain %s\ntime 1\nkey KEYID\n"
      % (mth(L[:37]).hex(), chain(37).hex()))
PY
python3 "$tmp/make.py" "$tmp/w"
expect_eq "python made the proofs" "$?" 0

# sign MSGFILE KEYFILE KEYID: print the checkpoint line for a message
sign() {
    sed "s/^key KEYID\$/key $3/" "$1" >"$1.k"
    local sig
    sig=$(openssl pkeyutl -sign -rawin -inkey "$2" -in "$1.k" | base64 -w0)
    awk -v sig="$sig" 'NR > 1 { f[NR] = $2 } END {
        printf "trail-checkpoint/1 %s %s %s %s %s %s %s\n", f[2], f[3], f[4], f[5], f[6], f[7], sig }' "$1.k"
}
other_id=$(openssl pkey -pubin -in "$tmp/other.pub" -outform DER | tail -c 32 |
    openssl dgst -sha256 -binary | head -c 4 | od -An -tx1 | tr -d ' \n')
cp21=$(sign "$tmp/w/msg-21" "$tmp/store.key" "$key_id")
cp37=$(sign "$tmp/w/msg-37" "$tmp/store.key" "$key_id")
cp40=$(sign "$tmp/w/msg-40" "$tmp/store.key" "$key_id")
cp37_fork=$(sign "$tmp/w/msg-37-fork" "$tmp/store.key" "$key_id")
cp37_origin=$(sign "$tmp/w/msg-37-other-origin" "$tmp/store.key" "$key_id")
cp37_other_key=$(sign "$tmp/w/msg-37" "$tmp/other.key" "$other_id")
printf '%s\n\n%s\n%s\n' "$cp21" "$cp37" "$cp40" >"$tmp/witness.log"
leaf12=$(cat "$tmp/w/leaf-12")
inc="$tmp/w/inclusion-12-of-37"
con="$tmp/w/consistency-21-37"

# check NAME WANT_STATUS [GREP_PATTERN] -- ARGS...: run trail proof check
check() {
    local name=$1 want=$2 pattern=$3
    shift 4
    "$trail" proof check "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    if [ "$got" != "$want" ]; then
        not_ok "$name" "exit $got, want $want" "$(cat "$tmp/out" "$tmp/err" | head -5)"
    elif [ -n "$pattern" ] && ! grep -q -- "$pattern" "$tmp/out" "$tmp/err"; then
        not_ok "$name" "no line matching '$pattern'" "$(cat "$tmp/out" "$tmp/err" | head -5)"
    else
        ok "$name"
    fi
}

# ---- what holds ----
check "inclusion with --leaf-hash" 0 "inclusion ok: record 12 (leaf index 11" -- \
    --proof "$inc" --checkpoint "$cp37" --pubkey "$tmp/store.pub" --leaf-hash "$leaf12"
check "inclusion with --event (the record's bytes)" 0 "inclusion ok" -- \
    --proof "$inc" --checkpoint "$cp37" --pubkey "$tmp/store.pub" --event "$tmp/w/record-12"
check "inclusion with the proof's own leaf, says so" 0 "note: no --leaf-hash" -- \
    --proof "$inc" --checkpoint "$cp37" --pubkey "$tmp/store.pub"
check "inclusion with a witness file of checkpoints" 0 "signature ok: idp-store-1 size 40" -- \
    --proof "$inc" --checkpoint "$tmp/witness.log" --pubkey "$tmp/store.pub" --leaf-hash "$leaf12"
check "--option=value form" 0 "inclusion ok" -- \
    --proof="$inc" --checkpoint="$cp37" --pubkey="$tmp/store.pub" --leaf-hash="$leaf12"
check "inclusion, proof on standard input" 0 "inclusion ok" -- \
    --proof - --checkpoint "$cp37" --pubkey "$tmp/store.pub" --leaf-hash "$leaf12" <"$inc"
check "consistency from 21 to 37" 0 "consistency ok: idp-store-1's tree of 21 records is a prefix" -- \
    --proof "$con" --checkpoint "$cp21" --checkpoint "$cp37" --pubkey "$tmp/store.pub"
check "consistency from the empty tree" 0 "consistency ok" -- \
    --proof "$tmp/w/consistency-0-37" --checkpoint "$cp37" --pubkey "$tmp/store.pub"
check "checkpoints signed by an openssl-made key" 0 "consistency ok" -- \
    --proof "$tmp/w/consistency-0-37" --checkpoint "$cp37_other_key" --pubkey "$tmp/other.pub"

# ---- what does not hold: exit 1 with the reason ----
check "another record's bytes" 1 "is not the proof's leaf hash" -- \
    --proof "$inc" --checkpoint "$cp37" --pubkey "$tmp/store.pub" --event "$tmp/w/record-13"
printf 'x' >>"$tmp/w/record-12"
check "a record with one byte added" 1 "is not the proof's leaf hash" -- \
    --proof "$inc" --checkpoint "$cp37" --pubkey "$tmp/store.pub" --event "$tmp/w/record-12"
# flip_first HEX: the same hex with its first digit changed
flip_first() { case "$1" in 0*) printf '1%s' "${1#?}" ;; *) printf '0%s' "${1#?}" ;; esac; }
bad_leaf=$(flip_first "$leaf12")
check "a wrong --leaf-hash" 1 "is not the proof's leaf hash" -- \
    --proof "$inc" --checkpoint "$cp37" --pubkey "$tmp/store.pub" --leaf-hash "$bad_leaf"
# a path node changed, and the leaf changed in the proof together with --leaf-hash
first_path=$(sed -n '5s/^path //p' "$inc")
sed "5s/^path .*/path $(flip_first "$first_path")/" "$inc" >"$tmp/bad-path"
check "a changed path node" 1 "the proof does not hold: it leads to root" -- \
    --proof "$tmp/bad-path" --checkpoint "$cp37" --pubkey "$tmp/store.pub" --leaf-hash "$leaf12"
sed "s/^leaf .*/leaf $bad_leaf/" "$inc" >"$tmp/bad-leaf"
check "a changed leaf, consistently claimed" 1 "does not hold" -- \
    --proof "$tmp/bad-leaf" --checkpoint "$cp37" --pubkey "$tmp/store.pub" --leaf-hash "$bad_leaf"
sed 's/^index 11$/index 12/' "$inc" >"$tmp/bad-index"
check "a changed leaf index" 1 "does not hold" -- \
    --proof "$tmp/bad-index" --checkpoint "$cp37" --pubkey "$tmp/store.pub" --leaf-hash "$leaf12"
sed '$d' "$inc" >"$tmp/short-path"
check "a path node removed" 1 "does not hold" -- \
    --proof "$tmp/short-path" --checkpoint "$cp37" --pubkey "$tmp/store.pub" --leaf-hash "$leaf12"
check "no checkpoint of the proof's size" 1 "no checkpoint of tree size 37" -- \
    --proof "$inc" --checkpoint "$cp21" --checkpoint "$cp40" --pubkey "$tmp/store.pub"
check "a fork: two signed checkpoints of size 37" 1 "fork" -- \
    --proof "$inc" --checkpoint "$cp37" --checkpoint "$cp37_fork" --pubkey "$tmp/store.pub"
check "the forked checkpoint alone" 1 "the proof does not hold" -- \
    --proof "$inc" --checkpoint "$cp37_fork" --pubkey "$tmp/store.pub" --leaf-hash "$leaf12"
check "consistency against the forked tree" 1 "is not shown to be a prefix" -- \
    --proof "$con" --checkpoint "$cp21" --checkpoint "$cp37_fork" --pubkey "$tmp/store.pub"
check "consistency without the old checkpoint" 1 "no checkpoint of tree size 21" -- \
    --proof "$con" --checkpoint "$cp37" --pubkey "$tmp/store.pub"
altered=$(printf '%s' "$cp37" | awk '{ $3 = 38; print }')
check "a checkpoint with its size altered" 1 "signature does not verify" -- \
    --proof "$inc" --checkpoint "$altered" --pubkey "$tmp/store.pub"
altered=$(printf '%s' "$cp37" | awk -v r="$(flip_first "$(printf '%s' "$cp37" | cut -d' ' -f4)")" '{ $4 = r; print }')
check "a checkpoint with its root altered" 1 "signature does not verify" -- \
    --proof "$inc" --checkpoint "$altered" --pubkey "$tmp/store.pub"
check "the wrong public key" 1 "not by the given key" -- \
    --proof "$inc" --checkpoint "$cp37" --pubkey "$tmp/other.pub"
check "a checkpoint of another key among good ones" 1 "signed by key $other_id" -- \
    --proof "$tmp/w/consistency-0-37" --checkpoint "$cp37" --checkpoint "$cp37_other_key" \
    --pubkey "$tmp/store.pub"
check "checkpoints of two stores" 1 "of store 'idp-store-2'" -- \
    --proof "$inc" --checkpoint "$cp37" --checkpoint "$cp37_origin" --pubkey "$tmp/store.pub"

# ---- bad usage or unreadable input: exit 2 ----
check "no --proof" 2 "--proof FILE is required" -- --checkpoint "$cp37" --pubkey "$tmp/store.pub"
check "no --pubkey" 2 "--pubkey FILE is required" -- --proof "$inc" --checkpoint "$cp37"
check "no --checkpoint" 2 "--checkpoint" -- --proof "$inc" --pubkey "$tmp/store.pub"
check "--leaf-hash and --event" 2 "not both" -- --proof "$inc" --checkpoint "$cp37" \
    --pubkey "$tmp/store.pub" --leaf-hash "$leaf12" --event "$tmp/w/record-13"
check "--leaf-hash with a consistency proof" 2 "for inclusion proofs" -- --proof "$con" \
    --checkpoint "$cp37" --pubkey "$tmp/store.pub" --leaf-hash "$leaf12"
check "--leaf-hash in upper case" 2 "64 lower-case hex" -- --proof "$inc" --checkpoint "$cp37" \
    --pubkey "$tmp/store.pub" --leaf-hash "$(printf '%s' "$leaf12" | tr a-f A-F)"
check "a malformed proof" 2 "not a proof" -- --proof "$tmp/witness.log" --checkpoint "$cp37" \
    --pubkey "$tmp/store.pub"
check "a missing proof file" 2 "cannot read proof" -- --proof "$tmp/nope" --checkpoint "$cp37" \
    --pubkey "$tmp/store.pub"
check "a malformed checkpoint line" 2 "not a checkpoint line" -- --proof "$inc" \
    --checkpoint "$cp37 extra" --pubkey "$tmp/store.pub"
printf '%s\nnot a checkpoint\n' "$cp37" >"$tmp/bad-witness.log"
check "a checkpoint file with a bad line" 2 "bad-witness.log line 2" -- --proof "$inc" \
    --checkpoint "$tmp/bad-witness.log" --pubkey "$tmp/store.pub"
check "a private key given as --pubkey" 2 "not a PEM Ed25519 public key" -- --proof "$inc" \
    --checkpoint "$cp37" --pubkey "$tmp/store.key"
check "an unknown option" 2 "'--frobnicate'" -- --proof "$inc" --frobnicate
"$trail" proof frobnicate >/dev/null 2>&1
expect_eq "proof: unknown subcommand (exit 2)" "$?" 2
"$trail" proof >/dev/null 2>&1
expect_eq "proof: no subcommand (exit 2)" "$?" 2
"$trail" proof check --help | grep -q "^EXIT STATUS"
expect_eq "proof check --help" "$?" 0

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
