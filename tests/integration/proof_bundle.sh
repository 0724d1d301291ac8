#!/usr/bin/env bash
# proof_bundle.sh - evidence bundles (docs/integrity.md, "Evidence bundles"):
# one traild that witnesses its own origin (its tlog-witness sink posts to its
# own POST /add-checkpoint) so that STORE/sinks/self.cosigned holds a cosigned
# checkpoint; `trail proof bundle` from the store and from traild's
# GET /v1/proof/bundle; `trail proof check BUNDLE` accepts them offline and
# refuses each part tampered with (a record's byte, a proof hash, the log's
# signature, the cosignature, a policy it does not meet), and a store with no
# cosigned checkpoint gives a bundle that says so.
#
# Not here: the cosignature and policy formats (tests/unit/test_witness.c,
# witness.sh), proofs one by one (verify_proofs.sh).
source "$(dirname "$0")/daemon_common.bash"
TRAIL=$TRAIL_BIN/trail

P=$(free_port)
U=http://127.0.0.1:$P
"$TRAIL" keygen --out "$WORK/log" >/dev/null
"$TRAIL" keygen --out "$WORK/w" >/dev/null
"$TRAIL" keygen --out "$WORK/other" >/dev/null
VL=$("$TRAIL" keygen --key "$WORK/log.pub" --origin trail.test/bundle)
VW=$("$TRAIL" keygen --key "$WORK/w.pub" --witness witness.test/self)
VO=$("$TRAIL" keygen --key "$WORK/other.pub" --witness witness.test/other)
cat >"$WORK/t.conf" <<EOF
[store]
path = $WORK/store
fsync = always
signing_key = $WORK/log.key
origin = trail.test/bundle
checkpoint_interval_s = 1
[listen]
http = 127.0.0.1:$P
syslog_udp = off
syslog_tcp = off
[witness]
name = witness.test/self
key = $WORK/w.key
accept = $VL
[sink self]
type = tlog-witness
witness = true
url = $U
witness_key = $VW
retry_min_ms = 100
retry_max_ms = 500
EOF
printf 'witness self %s\nquorum 1\n' "$VW" >"$WORK/policy"
printf 'witness self %s\nwitness other %s\nquorum 2\n' "$VW" "$VO" >"$WORK/policy2"

start_traild "$WORK/t.conf" "$WORK/t.log" || finish
for i in $(seq 1 20); do
    printf '{"id":"auth_logout_local","attrs":{"duser":"u%d","phxTraceId":"#b%d"}}\n' "$i" "$i"
done | curl -s -o /dev/null -X POST -H 'Content-Type: application/x-ndjson' --data-binary @- "$U/v1/events"
check "a checkpoint covers the 20 events" tick_until_checkpoint "$U" 20
cosigned_20() { # the kept cosigned note covers seq 20
    local size
    size=$(sed -n 2p "$WORK/store/sinks/self.cosigned" 2>/dev/null)
    [ "${size:-0}" -ge 20 ] && grep -q "^— witness.test/self " "$WORK/store/sinks/self.cosigned"
}
check "the witness cosigned a checkpoint covering them" wait_for 30 cosigned_20

# from traild, as the viewer's link downloads it
curl -s -D "$WORK/h" -o "$WORK/http.bundle" "$U/v1/proof/bundle?seq=3,17"
check_grep "GET /v1/proof/bundle: 200" "^HTTP/1.1 200" "$WORK/h"
check_grep "GET /v1/proof/bundle: a download" "^Content-Disposition: attachment; filename=\"trail-bundle-3-more.txt\"" "$WORK/h"
check_eq "GET /v1/proof/bundle: bad seq is 400" \
    "$(curl -s -o /dev/null -w '%{http_code}' "$U/v1/proof/bundle?seq=3,")" 400
check_eq "GET /v1/proof/bundle: a seq not in the store is 404" \
    "$(curl -s -o /dev/null -w '%{http_code}' "$U/v1/proof/bundle?seq=999999")" 404
"$TRAIL" proof check "$WORK/http.bundle" --policy "$WORK/policy" --pubkey "$WORK/log.pub" >"$WORK/out" 2>&1
check_eq "traild's bundle checks offline (exit 0)" "$?" 0
check_grep "it says the log's signature holds" "^signature ok: trail.test/bundle size" "$WORK/out"
check_grep "it says the policy is met" "^witness policy: checkpoint of size [0-9]+ cosigned by 1 of 1 witnesses, 1 needed" "$WORK/out"
check_grep "it says both records are in the tree" "^inclusion ok: 2 events are records of trail.test/bundle's tree" "$WORK/out"
same_events() { # the events printed are traild's records 3 and 17, as GET /v1/proof gives them
    curl -s "$U/v1/proof?seq=3" >"$WORK/p3"
    curl -s "$U/v1/proof?seq=17" >"$WORK/p17"
    python3 - "$WORK/out" "$WORK/p3" "$WORK/p17" <<'EOF'
import json, sys
printed = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]
want = [json.load(open(f))['event'] for f in sys.argv[2:]]
sys.exit(0 if printed == want and [e['seq'] for e in printed] == [3, 17] else 1)
EOF
}
check "it prints the two events, records 3 and 17, as traild has them" same_events
"$TRAIL" proof bundle 17 3 --url "$U" --out "$WORK/url.bundle" 2>"$WORK/err"
check_eq "trail proof bundle --url (exit 0)" "$?" 0
check_grep "it says how many cosignatures" "url.bundle: 2 events, checkpoint of size [0-9]+ with 1 cosignatures" "$WORK/err"
"$TRAIL" proof check "$WORK/url.bundle" --policy "$WORK/policy" >"$WORK/out" 2>&1
check_eq "a bundle checks with the policy alone (exit 0)" "$?" 0
check_grep "it says the log's signature was not checked" "^signature not checked \(no --pubkey\)" "$WORK/out"

stop_traild

# from the store, traild stopped: the same checkpoint is the newest cosigned one
"$TRAIL" proof bundle 1 5 20 --store "$WORK/store" --out "$WORK/b" 2>"$WORK/err"
check_eq "trail proof bundle --store (exit 0)" "$?" 0
check_eq "the bundle's first line" "$(head -1 "$WORK/b")" "trail-bundle/1 3"
check_eq "its note is the cosigned one, verbatim" \
    "$(sed -n '3,/^$/p' "$WORK/b" | sed -n '1,/^$/p' | head -n -1)" \
    "$(sed -n '1,/^$/p' "$WORK/store/sinks/self.cosigned" | head -n -1)"
"$TRAIL" proof check "$WORK/b" --policy "$WORK/policy" --pubkey "$WORK/log.pub" >"$WORK/out" 2>&1
check_eq "the store's bundle checks (exit 0)" "$?" 0
"$TRAIL" proof check "$WORK/b" --policy "$WORK/policy2" --pubkey "$WORK/log.pub" >"$WORK/out" 2>&1
check_eq "a policy it does not meet (2 of 2) is exit 1" "$?" 1
check_grep "  and says so" "not enough cosignatures: checkpoint of size [0-9]+ cosigned by 1 of 2 witnesses, 2 needed" "$WORK/out"

# each part tampered with is refused (exit 1), saying which
tamper() { # NAME PYTHON-EXPR-ON-LINES: a copy of the bundle with lines changed
    python3 - "$WORK/b" "$WORK/$1" "$2" <<'EOF'
import base64, sys
src, dst, expr = sys.argv[1:]
lines = open(src, encoding='utf-8').read().split('\n')
def flip(b64, i):  # one byte of the decoded value changed
    raw = bytearray(base64.b64decode(b64))
    raw[i % len(raw)] ^= 1
    return base64.b64encode(bytes(raw)).decode()
def at(prefix, nth=0):
    return [k for k, l in enumerate(lines) if l.startswith(prefix)][nth]
exec(expr)
open(dst, 'w', encoding='utf-8').write('\n'.join(lines))
EOF
}
refused() { # FILE WHAT-STDERR-SAYS
    "$TRAIL" proof check "$WORK/$1" --policy "$WORK/policy" --pubkey "$WORK/log.pub" >"$WORK/out" 2>&1
    local st=$?
    [ "$st" = 1 ] && grep -Eq -- "$2" "$WORK/out" || { echo "exit $st:"; cat "$WORK/out"; return 1; }
}
tamper rec "k = at('record ', 1); lines[k] = 'record ' + flip(lines[k][7:], 40)"
check "a record's byte changed: refused" refused rec "event 5: its record and path do not lead to the checkpoint's root"
tamper path "k = at('path ', 0); h = lines[k].split(' '); h[1] = flip(h[1], 3); lines[k] = ' '.join(h)"
check "a proof hash changed: refused" refused path "event 1: its record and path do not lead"
tamper sig "k = at('— trail.test/bundle '); n, s = lines[k].rsplit(' ', 1); lines[k] = n + ' ' + flip(s, 20)"
check "the log's signature changed: refused" refused sig "the checkpoint's signature does not verify"
tamper root "lines[4] = flip(lines[4], 0)"
check "the checkpoint's root changed: refused" refused root "the checkpoint's signature does not verify"
tamper cosig "k = at('— witness.test/self '); n, s = lines[k].rsplit(' ', 1); lines[k] = n + ' ' + flip(s, 30)"
check "the cosignature changed: refused" refused cosig "not enough cosignatures for the policy"
check_grep "  saying a cosignature line does not verify" "1 of 1 cosignature lines do not verify" "$WORK/out"
tamper nocosig "del lines[at('— witness.test/self ')]"
check "the cosignature removed: refused" refused nocosig "not enough cosignatures"
"$TRAIL" proof check "$WORK/b" --policy "$WORK/policy" --pubkey "$WORK/other.pub" >"$WORK/out" 2>&1
check_eq "another log's key: refused (exit 1)" "$?" 1
check_grep "  saying whose key signed it" "the checkpoint is signed by key [0-9a-f]+, not by the given key" "$WORK/out"
tamper cut "del lines[-4:]; lines.append('')"
"$TRAIL" proof check "$WORK/cut" --policy "$WORK/policy" >"$WORK/out" 2>&1
check_eq "a bundle cut short does not parse (exit 2)" "$?" 2
check_grep "  saying where" "expected 'event SEQ' \(event 3 of 3\)" "$WORK/out"

# with no witness: the signed checkpoint alone, and the bundle says so
rm "$WORK/store/sinks/self.cosigned"
"$TRAIL" proof bundle 2 --store "$WORK/store" --out "$WORK/plain" 2>"$WORK/err"
check_eq "a bundle with no cosigned checkpoint (exit 0)" "$?" 0
check_grep "  says it is not cosigned" "NOT COSIGNED" "$WORK/err"
"$TRAIL" proof check "$WORK/plain" --pubkey "$WORK/log.pub" >"$WORK/out" 2>&1
check_eq "  it checks with the log's key (exit 0)" "$?" 0
"$TRAIL" proof check "$WORK/plain" --policy "$WORK/policy" --pubkey "$WORK/log.pub" >"$WORK/out" 2>&1
check_eq "  and fails a witness policy (exit 1)" "$?" 1
"$TRAIL" proof bundle 99999 --store "$WORK/store" >/dev/null 2>"$WORK/err"
check_eq "a record not in the store (exit 1)" "$?" 1
check_grep "  saying so" "no record 99999 in the store" "$WORK/err"

finish
