#!/usr/bin/env bash
# relay.sh - trail-to-trail relays: two edge traild, each with a `type = trail`
# sink, forward to a centre traild on loopback. Events go to both edges
# (trail loadgen) while the centre, then edge a, then edge b are killed with
# SIGKILL in the middle of delivery and started again. At the end every
# producer event of the edges is stored exactly once at the centre (by uuid),
# with its hop (the edge's origin, its seq there, the identity server's
# principal) and the centre's own provenance (the edge's token); the three
# stores verify. A token without the relay role cannot forge provenance: its
# Trail-Relay-Origin is refused (403), and the provenance members and "via"
# of its body are ignored (the event is stored with its own).
source "$(dirname "$0")/daemon_common.bash"
TRAIL="$TRAIL_BIN/trail"
N=${RELAY_EVENTS:-300} # events per edge per round (two rounds)

token() { # token NAME ROLE SECRET: the [tokens] line
    printf '%s\n' "$3" | "$TRAIL" token-hash "$1" "$2" --stdin
}
IDP_A=idp-a-secret-0123456789abcdef0123456789
IDP_B=idp-b-secret-0123456789abcdef0123456789
RELAY_A=edge-a-relay-0123456789abcdef0123456789
RELAY_B=edge-b-relay-0123456789abcdef0123456789
FORGER=forger-write-0123456789abcdef0123456789
READER=reader-read-0123456789abcdef0123456789ab

PC=$(free_port)
PA=$(free_port)
PB=$(free_port)
C=http://127.0.0.1:$PC
A=http://127.0.0.1:$PA
B=http://127.0.0.1:$PB

conf() { # conf NAME PORT TOKEN-LINES [SINK]
    cat <<EOF
[store]
path = $WORK/$1/store
fsync = always
origin = relay-test/$1
signing_key = $WORK/$1.key
checkpoint_interval_s = 1
[listen]
http = 127.0.0.1:$2
syslog_udp = off
syslog_tcp = off
[tokens]
$3
$(token reader read "$READER")
EOF
    printf '%s\n' "${4:-}"
}
sink() { # sink TOKEN: the edge's [sink centre]
    cat <<EOF
[sink centre]
type = trail
url = $C
token = $1
batch_events = 40
retry_min_ms = 20
retry_max_ms = 200
timeout_ms = 2000
EOF
}
mkdir -p "$WORK/centre" "$WORK/a" "$WORK/b"
for n in centre a b; do # each trail signs its own checkpoints with its own key
    "$TRAIL" keygen --out "$WORK/$n" >/dev/null || exit 1
done
conf centre "$PC" "$(token edge-a relay "$RELAY_A")
$(token edge-b relay "$RELAY_B")
$(token forger write "$FORGER")" >"$WORK/centre.conf"
conf a "$PA" "$(token idp-a write "$IDP_A")" "$(sink "$RELAY_A")" >"$WORK/a.conf"
conf b "$PB" "$(token idp-b write "$IDP_B")" "$(sink "$RELAY_B")" >"$WORK/b.conf"

NSTART=0
start() { # start NAME: start (again) that traild, its pid in PID_NAME
    NSTART=$((NSTART + 1))
    start_traild "$WORK/$1.conf" "$WORK/$1.$NSTART.log" || exit 1
    printf -v "PID_$1" '%s' "$TRAILD_PID"
    EXTRA_PIDS="$EXTRA_PIDS $TRAILD_PID"
    TRAILD_PID=""
}
kill9() { # kill9 NAME
    local v="PID_$1"
    kill -9 "${!v}" 2>/dev/null
    wait "${!v}" 2>/dev/null
}
cursor() { sed -n 's/^seq //p' "$WORK/$1/store/sinks/centre.cursor" 2>/dev/null; }
durable() { curl -s -H "Authorization: Bearer $READER" "$2/healthz" | sed -n 's/.*"durable_seq":\([0-9]*\).*/\1/p'; }
delivered() { # delivered NAME URL: the edge's sink has passed every durable record
    local c d
    c=$(cursor "$1")
    d=$(durable "$1" "$2")
    [ -n "$c" ] && [ -n "$d" ] && [ "$c" -ge "$d" ]
}
moved() { [ "$(cursor "$1")" -gt "$2" ] 2>/dev/null; }
send() { # send URL TOKEN SEED HOST: N loadgen events, acknowledged
    "$TRAIL" loadgen -n "$N" -s "$3" --host "$4" --batch 25 --url "$1" --token "$2" >/dev/null
}

start centre
start a
start b

# round 1: both edges take events; the centre is killed once it has some
send "$A" "$IDP_A" 1 idp-a-node1 &
S1=$!
send "$B" "$IDP_B" 2 idp-b-node1 &
S2=$!
check "the centre receives relayed events" wait_for 60 moved a 1
kill9 centre
wait "$S1" && wait "$S2"
check "the edges took round 1 while the centre was down" test $? -eq 0
start centre

# round 2: edge a is killed while it delivers, then edge b (each while its sender runs)
C_A=$(cursor a)
send "$A" "$IDP_A" 3 idp-a-node2 &
S1=$!
check "edge a delivers again" wait_for 60 moved a "${C_A:-0}"
kill9 a
echo "# edge a killed at cursor $(cursor a)"
wait "$S1" # fails when the kill came first: what edge a acknowledged is what counts
start a
C_B=$(cursor b)
send "$B" "$IDP_B" 4 idp-b-node2 &
S2=$!
check "edge b delivers again" wait_for 60 moved b "${C_B:-0}"
kill9 b
echo "# edge b killed at cursor $(cursor b)"
wait "$S2"
start b
# what the killed senders did not deliver is sent again: the edges take the same
# seeds (new uuids: the edges derive them), so every edge event must reach the centre
send "$A" "$IDP_A" 5 idp-a-node3
check "edge a takes round 3" test $? -eq 0
send "$B" "$IDP_B" 6 idp-b-node3
check "edge b takes round 3" test $? -eq 0
check "edge a has delivered everything" wait_for 90 delivered a "$A"
check "edge b has delivered everything" wait_for 90 delivered b "$B"

# a write token cannot forge provenance
printf '{"id":"auth_logout_local","uuid":"5f0c2a9e-1d3b-4c6a-8e7f-0123456789ab","seq":7,"received":"2020-01-01T00:00:00Z","input":"syslog_tls","peer":"192.0.2.9:514","principal":"token idp-a","via":[{"origin":"relay-test/a","seq":7,"received":"2020-01-01T00:00:00Z","input":"http","principal":"token idp-a"}],"attrs":{"duser":"mallory","phxTraceId":"#forged"}}\n' >"$WORK/forged.ndjson"
code=$(curl -s -o "$WORK/forged.out" -w '%{http_code}' -H "Authorization: Bearer $FORGER" \
    -H "Trail-Relay-Origin: relay-test/a" -H 'Content-Type: application/x-ndjson' \
    --data-binary @"$WORK/forged.ndjson" "$C/v1/events")
check_eq "Trail-Relay-Origin from a write token is refused" 403 "$code"
check_grep "the refusal names the relay role" "relay role" "$WORK/forged.out"
code=$(curl -s -o "$WORK/forged2.out" -w '%{http_code}' -H "Authorization: Bearer $FORGER" \
    -H 'Content-Type: application/x-ndjson' --data-binary @"$WORK/forged.ndjson" "$C/v1/events")
check_eq "the same body without the header is stored" 200 "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $READER" \
    -H "Trail-Relay-Origin: relay-test/a" -H 'Content-Type: application/x-ndjson' \
    --data-binary @"$WORK/forged.ndjson" "$C/v1/events")
check_eq "a read token cannot post at all" 403 "$code"

for n in centre a b; do
    kill "$(eval echo "\$PID_$n")"
    wait "$(eval echo "\$PID_$n")" 2>/dev/null
done

for n in centre a b; do
    "$TRAIL" query --store "$WORK/$n/store" --format ndjson --limit 0 >"$WORK/$n.ndjson" 2>"$WORK/$n.err"
    check "trail query reads $n" test $? -eq 0
    "$TRAIL" verify --store "$WORK/$n/store" --pubkey "$WORK/$n.pub" >"$WORK/verify.$n" 2>&1
    check "trail verify passes on $n, with its own signed checkpoints" test $? -eq 0
    check_grep "$n's checkpoints are signed by its key" "\\([1-9][0-9]* signatures verified" \
        "$WORK/verify.$n"
done

python3 - "$WORK" <<'EOF' >"$WORK/compare.out"
import json, sys
w = sys.argv[1]
def load(n):
    return [json.loads(l) for l in open(f"{w}/{n}.ndjson") if l.strip()]
centre = load("centre")
problems = []
want = {}  # uuid -> (edge, seq, principal)
for edge in ("a", "b"):
    for e in load(edge):
        if e.get("origin") == "trail":
            continue
        want[e["uuid"]] = (edge, e["seq"], e["principal"], e["received"], e["input"])
relayed = [e for e in centre if e.get("via")]
seen = {}
for e in relayed:
    seen[e["uuid"]] = seen.get(e["uuid"], 0) + 1
twice = [u for u, k in seen.items() if k > 1]
missing = [u for u in want if u not in seen]
extra = [u for u in seen if u not in want]
for e in relayed:
    w_ = want.get(e["uuid"])
    if not w_:
        continue
    edge, seq, principal, received, inp = w_
    hop = e["via"][-1]
    if len(e["via"]) != 1 or hop["origin"] != f"relay-test/{edge}" or hop["seq"] != seq \
            or hop["principal"] != principal or hop["received"] != received or hop["input"] != inp:
        problems.append(("hop", e["uuid"], e["via"], w_))
    if e["principal"] != f"token edge-{edge}" or e["input"] != "http":
        problems.append(("centre provenance", e["uuid"], e["principal"], e["input"]))
forged = [e for e in centre if e["attrs"].get("duser") == "mallory"]
print("edge events", len(want), "relayed at the centre", len(relayed), "distinct", len(seen))
print("twice", len(twice), "missing", len(missing), "extra", len(extra), "bad hops", len(problems))
for p in problems[:3]:
    print("  ", p)
print("forged", len(forged), "via" in forged[0] if forged else None,
      forged[0]["principal"] if forged else None, forged[0].get("received", "")[:4] if forged else None)
EOF
cat "$WORK/compare.out"
check_eq "every edge event is at the centre, once, with its hop" \
    "twice 0 missing 0 extra 0 bad hops 0" "$(sed -n 2p "$WORK/compare.out")"
check "the centre holds both edges' events" \
    test "$(sed -n '1s/edge events \([0-9]*\).*/\1/p' "$WORK/compare.out")" -ge $((4 * N))
# the table (trail query's text) shows each relayed event's hops as the JSON has them
"$TRAIL" query --store "$WORK/centre/store" --limit 0 >"$WORK/centre.txt" 2>&1
check_eq "the centre's table ends every relayed row with its hops" "$(
    python3 - "$WORK/centre.ndjson" "$WORK/centre.txt" <<'PY'
import json, sys
rows = {l.split()[0]: l.rstrip("\n") for l in open(sys.argv[2]) if l[:1].isdigit()}
bad = n = 0
for l in open(sys.argv[1]):
    e = json.loads(l)
    if not e.get("via"):
        continue
    n += 1
    want = "  via " + " > ".join("%s#%d %s%s%s" % (h["origin"], h["seq"], h["input"],
                                 "@" + h["peer"] if h.get("peer") else "",
                                 " " + h["principal"] if h.get("principal") else "")
                                 for h in e["via"])
    if not rows.get(str(e["seq"]), "").endswith(want):
        bad += 1
        if bad == 1:
            print("seq", e["seq"], "wants", repr(want), "has", repr(rows.get(str(e["seq"]))))
print("rows", "ok" if n and not bad else "%d bad of %d" % (bad, n))
PY
)" "rows ok"
forged_line=$(sed -n 3p "$WORK/compare.out")
check "the forged body is stored once, without via, as the forger's, received now" \
    test "${forged_line%% 20*}" = "forged 1 False token forger" -a "${forged_line##* }" != "2020"
finish
