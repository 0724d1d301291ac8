#!/usr/bin/env bash
# c2sp_interop.sh - trail's checkpoints and tiles checked by an implementation
# that is not trail's: tests/c2sp/c2sp_verify.go, built here from Go's
# standard library and Debian's golang.org/x/mod (sumdb/note: the C2SP signed
# note; sumdb/tlog: the Merkle tree, tiles and proofs) alone.
#
# The static tree of `trail tiles` and traild's GET /checkpoint and
# /tile/... verify: the signature with the verifier key trail prints, the
# root recomputed from the tiles, inclusion of entries, and consistency
# between two checkpoints taken while events arrive. A flipped byte in a
# tile, an entry or the signed note fails; `trail verify` accepts and
# refuses the same checkpoint notes.
#
# Not here: the formats byte for byte (tests/unit/test_checkpoint.c,
# test_c2sp_store.c).
source "$(dirname "$0")/daemon_common.bash"
TRAIL=$TRAIL_BIN/trail

if ! command -v go >/dev/null || [ ! -d /usr/share/gocode/src/golang.org/x/mod/sumdb/tlog ]; then
    skip_test "no golang-go and golang-golang-x-mod-dev (scripts/install-deps.sh test)"
fi
V=$WORK/c2sp_verify
mkdir -p "$TRAIL_BIN/go-cache"
# offline: GOPATH mode over Debian's packaged sources, no module proxy
if ! GO111MODULE=off GOPATH=/usr/share/gocode GOPROXY=off GOFLAGS= GOCACHE="$TRAIL_BIN/go-cache" \
    go build -o "$V" "$TRAIL_SOURCE_DIR/tests/c2sp/c2sp_verify.go" 2>"$WORK/go.err"; then
    cat "$WORK/go.err"
    check "the Go verifier builds" false
    finish
fi

# flip BYTE (an offset) of FILE
flip() {
    python3 -c 'import sys
p, o = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read()); b[o] ^= 1; open(p, "wb").write(b)' "$1" "$2"
}

# ---- the static tree: trail tiles ----
S=$WORK/s
mkdir -p "$S"
"$TRAIL" keygen --out "$S/checkpoint" >/dev/null
"$TRAIL" loadgen -n 1300 --store "$S" >/dev/null
origin=$("$TRAIL" checkpoint --store "$S" | cut -d' ' -f2)
check_grep "a store without a chosen origin: its id in hex" '^[0-9a-f]{32}$' <(echo "$origin")
vkey=$("$TRAIL" keygen --key "$S/checkpoint.pub" --origin "$origin")
"$TRAIL" tiles --store "$S" --out "$WORK/t" >"$WORK/tiles.out"
check_eq "tiles: exit 0" "$?" 0
check_grep "tiles: 5 full and 1 partial level-0 tiles, 1 of level 1, 6 bundles" \
    '^size 1300: 7 tiles and 6 entry bundles written, 0 full ones kept, 0 pruned$' "$WORK/tiles.out"
check "tiles: a partial tile of 20 hashes" test "$(stat -c %s "$WORK/t/tile/0/005.p/20")" -eq 640
"$V" -dir "$WORK/t" -vkey "$vkey" -entries 40 >"$WORK/v.out" 2>&1
check_eq "Go verifier: the static tree verifies (exit 0)" "$?" 0
check_grep "Go verifier: size, root, 40 entries included" \
    "^ok $origin size 1300 root [A-Za-z0-9+/]{43}=, 40 entries included\$" "$WORK/v.out"

cp -r "$WORK/t" "$WORK/bad"
flip "$WORK/bad/tile/0/002" 100
"$V" -dir "$WORK/bad" -vkey "$vkey" >"$WORK/v.out" 2>&1
check_eq "Go verifier: a flipped hash tile fails (exit 1)" "$?" 1
rm -rf "$WORK/bad" && cp -r "$WORK/t" "$WORK/bad"
flip "$WORK/bad/tile/entries/005.p/20" 50 # the newest bundle: always read
"$V" -dir "$WORK/bad" -vkey "$vkey" >"$WORK/v.out" 2>&1
check_eq "Go verifier: a flipped entry fails (exit 1)" "$?" 1
rm -rf "$WORK/bad" && cp -r "$WORK/t" "$WORK/bad"
sed -i '2s/1300/1299/' "$WORK/bad/checkpoint"
"$V" -dir "$WORK/bad" -vkey "$vkey" >"$WORK/v.out" 2>&1
check_eq "Go verifier: an altered note fails (exit 1)" "$?" 1
check_grep "Go verifier: ... at its signature" 'signature' "$WORK/v.out"
"$TRAIL" keygen --out "$WORK/other" >/dev/null
"$V" -dir "$WORK/t" -vkey "$("$TRAIL" keygen --key "$WORK/other.pub" --origin "$origin")" \
    >"$WORK/v.out" 2>&1
check_eq "Go verifier: another key's verifier key fails (exit 1)" "$?" 1

# trail's own check agrees on the same notes
"$TRAIL" verify --store "$S" --pubkey "$S/checkpoint.pub" --checkpoint "$WORK/t/checkpoint" \
    >/dev/null 2>&1
check_eq "trail verify: accepts the note (exit 0)" "$?" 0
"$TRAIL" verify --store "$S" --pubkey "$S/checkpoint.pub" --checkpoint "$WORK/bad/checkpoint" \
    >/dev/null 2>&1
check "trail verify: refuses the altered note" test "$?" -ne 0

"$TRAIL" loadgen -n 300 --seed 2 --store "$S" >/dev/null
"$TRAIL" tiles --store "$S" --out "$WORK/t" >"$WORK/tiles.out"
check_grep "tiles again: the full tiles are kept, the new ones written" \
    '^size 1600: 3 tiles and 2 entry bundles written, 10 full ones kept, 0 pruned$' "$WORK/tiles.out"
"$V" -dir "$WORK/t" -vkey "$vkey" >/dev/null 2>&1
check_eq "Go verifier: the grown tree verifies" "$?" 0

# ---- traild: GET /checkpoint and /tile/... ----
HPORT=$(free_port)
URL=http://127.0.0.1:$HPORT
"$TRAIL" keygen --out "$WORK/key" >/dev/null
CONF=$WORK/traild.conf
cat >"$CONF" <<CONF
[store]
path = $WORK/store
signing_key = $WORK/key.key
origin = trail.test/idp
checkpoint_interval_s = 1
[listen]
http = 127.0.0.1:$HPORT
syslog_udp = off
syslog_tcp = off
CONF
start_traild "$CONF" || exit 1
"$TRAIL" loadgen -n 600 --url "$URL" >/dev/null
tick_until_checkpoint "$URL" 600
curl -s "$URL/v1/checkpoint" >"$WORK/cp.json"
dvkey=$("$TRAIL" keygen --key "$WORK/key.pub" --origin trail.test/idp)
check_grep "GET /v1/checkpoint: the verifier key" "\"verifier_key\":\"${dvkey//+/\\+}\"" "$WORK/cp.json"
check_grep "GET /v1/checkpoint: the note" '"note":"trail.test/idp\\u000a[0-9]+\\u000a' "$WORK/cp.json"
check_eq "DIR/origin holds the chosen origin" "$(cat "$WORK/store/origin")" "trail.test/idp"
curl -s -o "$WORK/old.note" "$URL/checkpoint"
"$V" -url "$URL" -vkey "$dvkey" -checkpoint "$WORK/old.note" >"$WORK/v.out" 2>&1
check_eq "Go verifier over HTTP: exit 0" "$?" 0
check_grep "Go verifier over HTTP: origin and entries" '^ok trail.test/idp size [0-9]+ ' "$WORK/v.out"
old_size=$(sed -n 2p "$WORK/old.note")
"$TRAIL" loadgen -n 700 --seed 3 --url "$URL" >/dev/null
tick_until_checkpoint "$URL" $((old_size + 700))
"$V" -url "$URL" -vkey "$dvkey" -old "$WORK/old.note" >"$WORK/v.out" 2>&1
check_eq "Go verifier: the newer checkpoint extends the older (exit 0)" "$?" 0
check_grep "Go verifier: consistent with the older size" "consistent with size $old_size\$" \
    "$WORK/v.out"
curl -s -D "$WORK/h" -o /dev/null "$URL/tile/0/000"
check_grep "a full tile: cached for good" '^Cache-Control: public, max-age=31536000, immutable' \
    "$WORK/h"
check_grep "a full tile: bytes" '^Content-Length: 8192' "$WORK/h"
curl -s -D "$WORK/h" -o /dev/null "$URL/tile/entries/000.p/3"
check_grep "a partial bundle: cached briefly" '^Cache-Control: public, max-age=60' "$WORK/h"
check_eq "a tile past the log: 404" "$(curl -s -o /dev/null -w '%{http_code}' "$URL/tile/0/x001/000")" 404
check_eq "a misspelt tile path: 404" "$(curl -s -o /dev/null -w '%{http_code}' "$URL/tile/0/0")" 404
check_eq "an unpruned log: minimum index 0" "$(curl -s "$URL/minimum-index")" 0
stop_traild
"$TRAIL" verify --store "$WORK/store" --pubkey "$WORK/key.pub" --checkpoint "$WORK/old.note" \
    >"$WORK/verify.out" 2>&1
check_eq "trail verify: the store with its chosen origin and the served note (exit 0)" "$?" 0

# ---- a pruned log: retention purged the oldest records (tlog-tiles "Pruning") ----
# (before, nothing said where the entries began, and a verifier asking for a purged
# entry found no bundle)
P=$WORK/purged
TRAIL_TEST_KEEP="$P" TEST_ONLY=purged_three_times "$TRAIL_BIN/tests/test_verify" >"$WORK/tv.out" 2>&1
check_eq "a purged store, made by test_verify" "$?" 0
first=$("$TRAIL" stats --store "$P" | sed -n 's/^seq *\([0-9]*\)\.\..*/\1/p')
want=$(((first - 1 + 255) / 256 * 256)) # the first stored index, up to a whole bundle
porigin=$("$TRAIL" checkpoint --store "$P" | cut -d' ' -f2)
pvkey=$("$TRAIL" keygen --key "$P.pub" --origin "$porigin")
mkdir -p "$WORK/pt/tile/entries/000.p"
echo stale >"$WORK/pt/tile/entries/000" # as an earlier run, before the purge, left them
echo stale >"$WORK/pt/tile/entries/000.p/7"
"$TRAIL" tiles --store "$P" --out "$WORK/pt" >"$WORK/tiles.out"
check_eq "tiles of a pruned log: exit 0" "$?" 0
check "a pruned log: purged records in it ($first > 256)" test "$first" -gt 256
check_eq "tiles: OUT/minimum-index, the first stored index up to a bundle" \
    "$(cat "$WORK/pt/minimum-index")" "$want"
check "tiles: the bundles below it are removed" \
    test ! -e "$WORK/pt/tile/entries/000" -a ! -e "$WORK/pt/tile/entries/000.p"
check "tiles: the bundle from it on is there" \
    test -n "$(find "$WORK/pt/tile/entries" -path "*/$(printf '%03d' $((want / 256)))*" -type f)"
check "tiles: the level-1 tile stays" test -n "$(find "$WORK/pt/tile/1" -type f)"
"$V" -dir "$WORK/pt" -vkey "$pvkey" -entries 40 -pruned-check >"$WORK/v.out" 2>&1
check_eq "Go verifier: the pruned static tree verifies (exit 0)" "$?" 0
check_grep "Go verifier: entries from the minimum index on" \
    "^ok $porigin size [0-9]+ root .*, 40 entries included, minimum index $want\$" "$WORK/v.out"

# and traild serving the pruned store
HPORT=$(free_port)
URL=http://127.0.0.1:$HPORT
cat >"$WORK/pruned.conf" <<CONF
[store]
path = $P
signing_key = $P.key
checkpoint_interval_s = 1
[listen]
http = 127.0.0.1:$HPORT
syslog_udp = off
syslog_tcp = off
CONF
start_traild "$WORK/pruned.conf" "$WORK/traild-pruned.log" || exit 1
check_eq "GET /minimum-index" "$(curl -s "$URL/minimum-index")" "$want"
check_eq "GET a bundle below it: 404" \
    "$(curl -s -o /dev/null -w '%{http_code}' "$URL/tile/entries/000")" 404
psize=$(curl -s "$URL/checkpoint" | sed -n 2p)
check_eq "GET the level-1 tile: 200" \
    "$(curl -s -o /dev/null -w '%{http_code}' "$URL/tile/1/000.p/$((psize / 256))")" 200
"$V" -url "$URL" -vkey "$pvkey" -entries 40 -pruned-check >"$WORK/v.out" 2>&1
check_eq "Go verifier over HTTP: the pruned log verifies (exit 0)" "$?" 0
check_grep "Go verifier over HTTP: minimum index" ", minimum index $want\$" "$WORK/v.out"
stop_traild
finish
