#!/usr/bin/env bash
# witness.sh - two traild witness each other on loopback (C2SP tlog-witness):
# A's tlog-witness sink sends its checkpoints to B's POST /add-checkpoint and
# B's to A's; each keeps the cosignature it gets back, /checkpoint serves it
# and `trail verify --policy` counts it. B answers a stale request 409 with
# its size (text/x.tlog.size), an unknown log 404, a bad signature 403, a
# malformed body 400. Then A's origin comes back, with A's key, on a fresh
# store: with fewer records (a rollback) and with other records past what B
# cosigned (a fork); B refuses both and keeps each refusal as a
# trail_witness_refused record. The cosignature is also checked by Go
# (tests/c2sp/c2sp_verify.go -cosigner) where Debian's Go is installed.
#
# Not here: the formats byte for byte (tests/unit/test_witness.c).
source "$(dirname "$0")/daemon_common.bash"
TRAIL=$TRAIL_BIN/trail

PA=$(free_port)
PB=$(free_port)
A=http://127.0.0.1:$PA
B=http://127.0.0.1:$PB
mkdir -p "$WORK/a" "$WORK/b" "$WORK/a2" "$WORK/a3"
for k in a b wa wb; do
    "$TRAIL" keygen --out "$WORK/$k" >/dev/null
done
VA=$("$TRAIL" keygen --key "$WORK/a.pub" --origin trail.test/a)
VB=$("$TRAIL" keygen --key "$WORK/b.pub" --origin trail.test/b)
WA=$("$TRAIL" keygen --key "$WORK/wa.pub" --witness witness.test/a)
WB=$("$TRAIL" keygen --key "$WORK/wb.pub" --witness witness.test/b)
check_grep "keygen --witness: NAME+KEYID+BASE64 of type 0x04" \
    '^witness.test/b\+[0-9a-f]{8}\+B[A-P][A-Za-z0-9+/]{42}$' <(echo "$WB")

# a [witness] section traild cannot use is refused at load, saying why
tconf() { # TEXT: traild -t on [store] and TEXT, its first line of output
    printf '[store]\npath = %s\n%b' "$WORK/t" "$1" >"$WORK/t.conf"
    "$TRAILD" -t -c "$WORK/t.conf" 2>&1 | head -1
}
check_grep "[witness] name: a note key name" "\[witness\] name: 'a b' is not a key name" \
    <(tconf '[witness]\nname = a b\n')
check_grep "[witness] accept: a log's verifier key" "\[witness\] accept: 'x\+1\+2' is not a log's" \
    <(tconf "[witness]\nname = w\nkey = $WORK/wa.key\naccept = x+1+2\n")
check_grep "[witness] accept: a witness's key is not a log's" "\[witness\] accept: .* is not a log's" \
    <(tconf "[witness]\nname = w\nkey = $WORK/wa.key\naccept = $WB\n")
check_grep "[witness] needs its three keys" "\[witness\] needs name, key and accept" \
    <(tconf '[witness]\nname = w\n')
check_grep "[witness] key: an Ed25519 private key" "\[witness\] key: .*wa.pub is not an Ed25519 private key" \
    <(tconf "[witness]\nname = w\nkey = $WORK/wa.pub\naccept = $VA\n")

# conf NAME PORT STOREDIR KEY ORIGIN WITNESSKEY ACCEPT PEER_URL PEER_WITNESS
conf() {
    cat <<EOF
[store]
path = $3
fsync = always
signing_key = $WORK/$4.key
origin = $5
checkpoint_interval_s = 1
[listen]
http = 127.0.0.1:$2
syslog_udp = off
syslog_tcp = off
[witness]
name = witness.test/$1
key = $WORK/$6.key
accept = $7
[sink peer]
type = tlog-witness
witness = true
url = $8
witness_key = $9
retry_min_ms = 100
retry_max_ms = 500
EOF
}
conf a "$PA" "$WORK/a/store" a trail.test/a wa "$VB" "$B" "$WB" >"$WORK/a.conf"
conf b "$PB" "$WORK/b/store" b trail.test/b wb "$VA" "$A" "$WA" >"$WORK/b.conf"

events() { # N DUSER: N events as NDJSON
    for ((i = 0; i < $1; i++)); do
        printf '{"id":"auth_logout_local","attrs":{"duser":"%s%d","phxTraceId":"#w%d"}}\n' "$2" "$i" "$i"
    done
}
post() { # URL N DUSER
    events "$2" "$3" | curl -s -o /dev/null -w '%{http_code}' -X POST \
        -H 'Content-Type: application/x-ndjson' --data-binary @- "$1/v1/events"
}
# the size B's witness state holds for trail.test/a
b_holds() { sed -n 's|^trail.test/a \([0-9]*\) .*|\1|p' "$WORK/b/store/witness.state" 2>/dev/null; }
holds_at_least() { [ "$(b_holds)" -ge "$1" ] 2>/dev/null; }
cosigned_by() { # FILE NAME: the kept note carries NAME's line
    grep -q "^— $2 " "$1" 2>/dev/null
}

start_traild "$WORK/a.conf" "$WORK/a.log" || finish
A_PID=$TRAILD_PID
EXTRA_PIDS="$A_PID"
start_traild "$WORK/b.conf" "$WORK/b.log" || finish
B_PID=$TRAILD_PID
EXTRA_PIDS="$A_PID $B_PID"
check "B logs its cosigner verifier key at start" \
    grep -qF "witness witness.test/b for 1 logs; its verifier key: $WB" "$WORK/b.log"

check_eq "A takes 50 events" "$(post "$A" 50 alice)" 200
check_eq "B takes 30 events" "$(post "$B" 30 bob)" 200
check "A's checkpoint covers its 50 events" tick_until_checkpoint "$A" 52
check "B's checkpoint covers its 30 events" tick_until_checkpoint "$B" 32
check "B cosigned a checkpoint of A of 52 or more" wait_for 30 holds_at_least 52
check "A kept B's cosignature" wait_for 30 cosigned_by "$WORK/a/store/sinks/peer.cosigned" witness.test/b
check "B kept A's cosignature" wait_for 30 cosigned_by "$WORK/b/store/sinks/peer.cosigned" witness.test/a
N=$(b_holds)

# the kept note is the checkpoint B holds: its size, its root, A's signature and B's line
check_eq "A's kept note: the origin, then the size B holds" \
    "$(head -2 "$WORK/a/store/sinks/peer.cosigned" | tr '\n' ' ')" "trail.test/a $N "
check_eq "A's kept note: its root is the one B holds" \
    "$(sed -n 3p "$WORK/a/store/sinks/peer.cosigned")" \
    "$(sed -n 's|^trail.test/a [0-9]* ||p' "$WORK/b/store/witness.state")"

# /checkpoint with the cosignature once it serves the checkpoint B cosigned: stop A's ticks
# and let A's sink catch up with the latest
served_cosigned() {
    curl -s "$A/checkpoint" >"$WORK/served"
    grep -q "^— witness.test/b " "$WORK/served"
}
check "A's /checkpoint carries B's cosignature line" wait_for 30 served_cosigned

# the cosignature checked by code that is not trail's: tests/c2sp/c2sp_verify.go (Go's
# x/mod note opens the log's signature; the cosignature/v1 is checked by hand there)
if command -v go >/dev/null && [ -d /usr/share/gocode/src/golang.org/x/mod/sumdb/note ]; then
    mkdir -p "$TRAIL_BIN/go-cache"
    GO111MODULE=off GOPATH=/usr/share/gocode GOPROXY=off GOFLAGS= GOCACHE="$TRAIL_BIN/go-cache" \
        go build -o "$WORK/c2sp_verify" "$TRAIL_SOURCE_DIR/tests/c2sp/c2sp_verify.go" 2>"$WORK/go.err"
    check_eq "the Go verifier builds" "$?" 0
    "$WORK/c2sp_verify" -url "$A" -checkpoint "$WORK/served" -vkey "$VA" -cosigner "$WB" \
        -entries 4 >"$WORK/go.out" 2>&1
    check_eq "Go: the served note's cosignature by B verifies (exit 0)" "$?" 0
    check_grep "Go: says by whom" ", cosigned by witness.test/b at [0-9]+$" "$WORK/go.out"
    "$WORK/c2sp_verify" -url "$A" -checkpoint "$WORK/served" -vkey "$VA" -cosigner "$WA" \
        -entries 1 >"$WORK/go.out" 2>&1
    check_eq "Go: no cosignature of a witness that did not cosign (exit 1)" "$?" 1
    # a base64 character in the middle of the cosignature's signature changed
    python3 -c 'import sys
t = open(sys.argv[1]).read().split("\n")
i = max(k for k, l in enumerate(t) if l.startswith("\u2014 witness.test/b "))
c = t[i][-20]
t[i] = t[i][:-20] + ("B" if c == "A" else "A") + t[i][-19:]
open(sys.argv[2], "w").write("\n".join(t))' "$WORK/served" "$WORK/served.bad"
    "$WORK/c2sp_verify" -url "$A" -checkpoint "$WORK/served.bad" -vkey "$VA" -cosigner "$WB" \
        -entries 1 >"$WORK/go.out" 2>&1
    check_eq "Go: a changed cosignature fails (exit 1)" "$?" 1
    check_grep "Go: says so" "cosignature: does not verify" "$WORK/go.out"
else
    echo "note: no golang-go and golang-golang-x-mod-dev: the cosignature is not checked by Go here"
fi

# the policy: B's key, quorum 1; then a second witness that never cosigned, quorum 2
printf '# who must have seen A\nwitness b %s\nquorum 1\n' "$WB" >"$WORK/p1"
printf 'witness b %s\nwitness other %s\nquorum 2\n' "$WB" "$WA" >"$WORK/p2"
"$TRAIL" verify --store "$WORK/a/store" --pubkey "$WORK/a.pub" --policy "$WORK/p1" >"$WORK/v1.out" 2>&1
check_eq "verify --policy: cosigned by 1 of 1 needed: exit 0" "$?" 0
check_grep "verify --policy says by how many" \
    "^witness policy: checkpoint of size [0-9]+ cosigned by 1 of 1 witnesses, 1 needed$" "$WORK/v1.out"
"$TRAIL" verify --store "$WORK/a/store" --pubkey "$WORK/a.pub" --policy "$WORK/p2" >"$WORK/v2.out" 2>&1
check_eq "verify --policy: 1 of the 2 needed: exit 1" "$?" 1
check_grep "verify --policy: not enough cosignatures, said" "not enough cosignatures" "$WORK/v2.out"
"$TRAIL" proof inclusion 5 --store "$WORK/a/store" --checkpoint "$WORK/served" \
    --out "$WORK/incl" >/dev/null
check_eq "an inclusion proof of record 5 in the served checkpoint" "$?" 0
pcheck() { # POLICY: proof check of it against the served note
    "$TRAIL" proof check --proof "$WORK/incl.proof" --checkpoint "$WORK/served" \
        --pubkey "$WORK/a.pub" --policy "$1" >"$WORK/pc.out" 2>&1
}
pcheck "$WORK/p1"
check_eq "proof check --policy: the served note, 1 of 1: exit 0" "$?" 0
check_grep "proof check --policy: the line" "^witness policy: checkpoint of size" "$WORK/pc.out"
pcheck "$WORK/p2"
check_eq "proof check --policy: 1 of 2 needed: exit 1" "$?" 1
check_grep "proof check --policy: said" "^witness policy: not enough cosignatures" "$WORK/pc.out"

# ---- B's answers to requests made by hand ----
note_body() { # OLD FILE: an add-checkpoint body with no proof
    printf 'old %s\n\n' "$1"
    cat "$2"
}
ask_b() { # FILE: POST it to B, the status and body into $WORK/ans, the type into $WORK/type
    curl -s -o "$WORK/ans" -w '%{http_code} %{content_type}' -X POST --data-binary @"$1" \
        "$B/add-checkpoint"
}
note_body 0 "$WORK/served" >"$WORK/req"
check_eq "stale old size: 409 as text/x.tlog.size" "$(ask_b "$WORK/req")" "409 text/x.tlog.size"
check_grep "409: the body is a size B holds" '^[0-9]+$' "$WORK/ans"
check "409: no less than what it held before" test "$(cat "$WORK/ans")" -ge "$N"
curl -s "$B/checkpoint" >"$WORK/b.note"
note_body 0 "$WORK/b.note" >"$WORK/req"
check_eq "a log B does not accept: 404" "$(ask_b "$WORK/req" | cut -d' ' -f1)" 404
# another root (its first character changed: A to B, any other to A): the signature fails. The
# root follows traild's own events, stamped now: one run in 64 or so it starts with an A
awk 'NR == 3 { $0 = (substr($0, 1, 1) == "A" ? "B" : "A") substr($0, 2) } 1' "$WORK/served" >"$WORK/bad.note"
check "the changed note is not the served one" \
    bash -c '! cmp -s "$1" "$2"' _ "$WORK/served" "$WORK/bad.note"
note_body "$N" "$WORK/bad.note" >"$WORK/req"
check_eq "a checkpoint whose signature fails: 403" "$(ask_b "$WORK/req" | cut -d' ' -f1)" 403
printf 'old x\n\n' >"$WORK/req"
check_eq "a malformed body: 400" "$(ask_b "$WORK/req" | cut -d' ' -f1)" 400
check_grep "400 says why" 'line 1: not "old SIZE"' "$WORK/ans"

# ---- A's origin, rolled back: a fresh store, A's key, fewer records ----
TRAILD_PID=$A_PID stop_traild
N=$(b_holds)
conf a "$PA" "$WORK/a2/store" a trail.test/a wa "$VB" "$B" "$WB" >"$WORK/a2.conf"
start_traild "$WORK/a2.conf" "$WORK/a2.log" || finish
A_PID=$TRAILD_PID
EXTRA_PIDS="$A_PID $B_PID"
check "the rolled-back A signs a checkpoint" tick_until_checkpoint "$A" 3
refused() { # REASON: B stored a trail_witness_refused record with that reason
    "$TRAIL" query --url "$B" --event trail_witness_refused --format ndjson 2>/dev/null |
        grep -q "\"reason\":\"$1\""
}
check "B refused the rollback and kept a record" wait_for 30 refused rollback
check "the rolled-back A's sink says the witness holds more" \
    wait_for 30 grep -q "holds size $N of trail.test/a, more than" "$WORK/a2/store/sinks/peer.error"
check_eq "B still holds the size it cosigned" "$(b_holds)" "$N"

# ---- A's origin, forked: a fresh store, A's key, other records past N ----
TRAILD_PID=$A_PID stop_traild
conf a "$PA" "$WORK/a3/store" a trail.test/a wa "$VB" "$B" "$WB" >"$WORK/a3.conf"
start_traild "$WORK/a3.conf" "$WORK/a3.log" || finish
A_PID=$TRAILD_PID
EXTRA_PIDS="$A_PID $B_PID"
check_eq "the forked A takes $((N + 20)) events" "$(post "$A" $((N + 20)) mallory)" 200
check "the forked A signs a checkpoint past $N" tick_until_checkpoint "$A" $((N + 21))
check "B refused the fork and kept a record" wait_for 30 refused fork
"$TRAIL" query --url "$B" --event trail_witness_refused --format ndjson >"$WORK/refused" 2>&1
check_grep "the record names the origin" '"origin":"trail.test/a"' "$WORK/refused"
# the forked A's sink began at old 0, got 409 with N and sent again from N (the 409 path)
check_grep "the fork came from the size the 409 gave" "\"old_size\":$N,.*\"reason\":\"fork\"" "$WORK/refused"
check_grep "the record keeps the checkpoint refused" '"checkpoint":"trail.test/a\\u000a' "$WORK/refused"
check_eq "one record for each refusal, however often the sinks retried" \
    "$(wc -l <"$WORK/refused")" 2
check_eq "B still holds the size it cosigned" "$(b_holds)" "$N"

# B's state outlives B: restarted, it answers a stale request with the size it cosigned
TRAILD_PID=$A_PID stop_traild
TRAILD_PID=$B_PID stop_traild
start_traild "$WORK/b.conf" "$WORK/b2.log" || finish
B_PID=$TRAILD_PID
EXTRA_PIDS="$B_PID"
note_body 0 "$WORK/served" >"$WORK/req"
check_eq "restarted B: 409 to a stale request" "$(ask_b "$WORK/req" | cut -d' ' -f1)" 409
check_eq "restarted B: with the size it had cosigned" "$(cat "$WORK/ans")" "$N"
TRAILD_PID=$B_PID stop_traild
finish
