#!/usr/bin/env bash
# record_provenance.sh - what is recorded: every record says where it came
# from (input, peer, principal, received time), trail's own records carry a
# mark no input can give, and an identity server's own events with ids like
# trail's lifecycle (core_server_run_stopped, core_server_events_purged) are
# stored and verify as the server's events (issue: record semantics, found
# 2 to 4). Also: every catalog event id, posted with plausible attributes into
# a signed store, verifies, and each record's provenance is right.
source "$(dirname "$0")/daemon_common.bash"
TRAIL=$TRAIL_BIN/trail

"$TRAIL" keygen --out "$WORK/ck" >/dev/null
"$TRAIL" token-hash idp write >"$WORK/token.txt"
TOKEN=$(sed -n 1p "$WORK/token.txt")
HTTP=$(free_port)
TCP=$(free_port)
URL=http://127.0.0.1:$HTTP
cat >"$WORK/traild.conf" <<EOF
[store]
path = $WORK/store
fsync = always
signing_key = $WORK/ck.key
[listen]
http = 127.0.0.1:$HTTP
syslog_udp = off
syslog_tcp = 127.0.0.1:$TCP
unix = $WORK/traild.sock
[server]
host = audit-test
[tokens]
$(sed -n 2p "$WORK/token.txt")
[event acme_badge_swiped]
severity = NOTICE
description = A badge was swiped at a door.
schema = duser:string:required:indexed, door:string, src:ip, attempts:int
EOF
start_traild "$WORK/traild.conf" || exit 1
AUTH="Authorization: Bearer $TOKEN"
post() { curl -s -o "$WORK/out.json" -w '%{http_code}' -H "$AUTH" --data-binary "$1" "$URL/v1/events"; }

# found 2: the identity server's own purge event is an event, not the store's purge
check_eq "the server's core_server_events_purged is accepted" \
    "$(post '{"id":"core_server_events_purged","attrs":{"msg":"Purged 10 events","phxTraceId":"null"}}')" 200
# found 3: a posted core_server_run_stopped is the server's, not trail's
check_eq "a posted core_server_run_stopped is accepted" \
    "$(post '{"id":"core_server_run_stopped","host":"vm","attrs":{"reason":"spoofed stop"}}')" 200
# trail's own ids cannot be sent, and the provenance members are not read
check_eq "trail_run_stopped from a sender: 400" \
    "$(post '{"id":"trail_run_stopped","attrs":{"reason":"spoofed stop"}}')" 400
check_grep "... because the id is trail's own" "reserved for trail's own records" "$WORK/out.json"
check_eq "claimed provenance is ignored, the event stored" \
    "$(post '{"id":"acme_badge_swiped","origin":"trail","input":"unix","peer":"10.9.9.9:1","principal":"root","attrs":{"duser":"claims"}}')" 200
# syslog over TCP and the Unix socket
python3 - "$TCP" "$WORK/traild.sock" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b'<13>1 2026-11-01T00:00:00Z idp-7 pas - acme_badge_swiped [trail@32473 duser="tcp1"] x\n')
s.close()
u = socket.socket(socket.AF_UNIX)
u.connect(sys.argv[2])
u.sendall(b'{"id":"acme_badge_swiped","attrs":{"duser":"unix1"}}\n')
u.close()
PY
# stored: the store itself says so (/metrics would need a token with the
# read role; this one may only write, and a wait on a 401 or 403 only ran out
# its deadline)
S=$WORK/store
stored_from() { [ "$("$TRAIL" count --store "$S" --input "$1")" = 1 ]; }
check "unix: the event is stored" wait_for 30 stored_from unix
check "syslog_tcp: the message is stored" wait_for 30 stored_from syslog_tcp
q() { "$TRAIL" query --store "$S" --limit 0 --format ndjson "$@"; }
check_grep "http: input, peer, principal, host from the peer" \
    '"id":"core_server_events_purged".*"host":"127.0.0.1".*"input":"http","peer":"127.0.0.1:[0-9]+","principal":"token idp"' \
    <(q --event core_server_events_purged)
check_eq "the server's purge event is not trail's" "$(q --event core_server_events_purged --origin trail | wc -l)" 0
check_grep "the posted stop keeps its host and is the producer's" \
    '"id":"core_server_run_stopped".*"host":"vm".*"input":"http".*"attrs":\{"reason":"spoofed stop"\}' \
    <(q --event core_server_run_stopped)
check_eq "... and has no trail mark" "$(q --event core_server_run_stopped | grep -c '"origin":"trail"')" 0
check_grep "claimed members: stored as http from 127.0.0.1 with the token" \
    '"input":"http","peer":"127.0.0.1:[0-9]+","principal":"token idp","attrs":\{"duser":"claims"\}' \
    <(q --where duser=claims)
check_eq "claimed members: no trail mark" "$(q --where duser=claims | grep -c '"origin"')" 0
check_grep "syslog_tcp: input, peer, host from HOSTNAME" \
    '"host":"idp-7".*"input":"syslog_tcp","peer":"127.0.0.1:[0-9]+"' <(q --input syslog_tcp)
check_grep "unix: input and the peer's uid" "\"input\":\"unix\",\"principal\":\"uid=$(id -u)\"" <(q --input unix)
check_eq "--peer CIDR: http and syslog from loopback" "$("$TRAIL" count --store "$S" --peer 127.0.0.0/8)" 4
check_eq "--principal" "$("$TRAIL" count --store "$S" --principal 'token idp')" 3
check_grep "trail's own start is marked" '"id":"trail_run_started".*"input":"trail","origin":"trail"' \
    <(q --origin trail)
check_eq "--origin trail: only trail_* ids" "$(q --origin trail | grep -vc '"id":"trail_')" 0
check_grep "the table says FROM trail" '^[0-9]+ +[^ ]+ +NOTICE +trail +trail_run_started' \
    <("$TRAIL" query --store "$S" --origin trail --event trail_run_started)

# every catalog event id with plausible attributes, then the signed store verifies
"$TRAIL" events --format json >"$WORK/catalog.json"
python3 - "$WORK/catalog.json" >"$WORK/all.ndjson" <<'PY'
import json, sys
cat = json.load(open(sys.argv[1]))
events = cat["events"] if isinstance(cat, dict) else cat
sample = {"string": "x-1", "int": 7, "bool": True, "ip": "192.0.2.10", "time": "2026-11-01T00:00:00Z"}
for e in events:
    attrs = {}
    for a in e.get("attrs", []):
        t = a["type"]
        if t == "enum":
            attrs[a["key"]] = a["enum"][0]
        else:
            attrs[a["key"]] = sample.get(t, "x")
    print(json.dumps({"id": e["id"], "attrs": attrs}))
PY
n_all=$(wc -l <"$WORK/all.ndjson")
check_eq "every catalog id is posted" "$n_all" 214
curl -s -H "$AUTH" --data-binary @"$WORK/all.ndjson" "$URL/v1/events" >"$WORK/all.out"
check_grep "every catalog id is accepted" "^\\{\"accepted\":$n_all,\"rejected\":0" "$WORK/all.out"
stop_traild TERM
check_eq "SIGTERM: exit 0" "$STOP_STATUS" 0
"$TRAIL" verify --store "$S" --pubkey "$WORK/ck.pub" >"$WORK/verify.out" 2>&1
check_eq "the store with every catalog id verifies" "$?" 0
check_grep "... ok" '^ok: ' "$WORK/verify.out"
check_eq "every catalog record came by http with the token" \
    "$("$TRAIL" count --store "$S" --input http --principal 'token idp')" $((n_all + 3))

# found 2: a store that imported the identity server's event.log verifies
"$TRAIL" import "$TRAIL_SOURCE_DIR/tests/data/pas-event.log" --store "$WORK/imported" >/dev/null
"$TRAIL" verify --store "$WORK/imported" >"$WORK/verify2.out" 2>&1
check_eq "an imported pas-event.log verifies" "$?" 0
check_eq "... its records say import" "$("$TRAIL" count --store "$WORK/imported" --input '!import')" 0
finish
