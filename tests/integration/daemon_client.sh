#!/usr/bin/env bash
# daemon_client.sh - `trail emit --url` (libtrail's trail_client_send) with a
# running traild: the seq it prints is the stored one; a rejection, a refused
# connection and a bad URL each end with a message and a non-zero status;
# and GET /v1/checkpoint serves a checkpoint signed with the configured key.
source "$(dirname "$0")/daemon_common.bash"

HPORT=$(free_port)
URL=http://127.0.0.1:$HPORT
TRAIL=$TRAIL_BIN/trail
"$TRAIL" keygen --out "$WORK/key" >/dev/null
CONF=$WORK/traild.conf
cat >"$CONF" <<EOF
[store]
path = $WORK/store
signing_key = $WORK/key.key
checkpoint_interval_s = 1
[listen]
http = 127.0.0.1:$HPORT
syslog_udp = off
syslog_tcp = off
EOF
start_traild "$CONF" || exit 1

seq=$("$TRAIL" emit auth_entrypoints_oidc_logout phxEntrypointId=oidc1 phxEntrypointType=OIDC \
    phxTraceId='#YFTp4LhpTqezu06B' duser=alice --url "$URL" 2>"$WORK/emit.err")
check_eq "emit --url: exit 0" "$?" 0
check "emit --url: prints a seq" grep -Eq '^[0-9]+$' <<<"$seq"
seq2=$("$TRAIL" emit core_server_schedule_done job=backup --url "$URL/")
check_eq "emit --url: the next seq" "$seq2" "$((seq + 1))"

"$TRAIL" emit core_server_schedule_done job=x --url http://127.0.0.1:1 >/dev/null 2>"$WORK/refused.err"
check_eq "refused connection: exit 1" "$?" 1
check_grep "refused connection: says so" 'not stored: cannot connect to 127.0.0.1:1: Connection refused' "$WORK/refused.err"
"$TRAIL" emit core_server_schedule_done job=x --url https://127.0.0.1:$HPORT >/dev/null 2>"$WORK/https.err"
# https to a traild without TLS: the handshake fails, and nothing is stored
check_eq "https to plain HTTP: exit 1" "$?" 1
check_grep "https to plain HTTP: says so" 'not stored: TLS handshake with 127.0.0.1:[0-9]* failed' "$WORK/https.err"
"$TRAIL" emit core_server_schedule_done job=x --url "ftp:/x" >/dev/null 2>"$WORK/url.err"
check_eq "bad url: exit 2" "$?" 2

# a checkpoint is signed within a second of the first events
for _ in $(seq 1 60); do
    code=$(curl -s -o "$WORK/cp.json" -w '%{http_code}' "$URL/v1/checkpoint")
    [ "$code" = 200 ] && break
    sleep 0.05
done
check_eq "checkpoint: 200 once signed" "$code" 200
check_grep "checkpoint: the signed one-line form" '"text":"trail-checkpoint/2 [0-9a-f]{32} [0-9]+ [0-9a-f]{64} [0-9a-f]{64} [0-9]+ [0-9a-f]{8} [A-Za-z0-9+/=]{88}"' "$WORK/cp.json"
stop_traild TERM
check_eq "SIGTERM: exit 0" "$STOP_STATUS" 0

store_dump "$WORK/store" >"$WORK/dump.ndjson"
check_grep "store: the emitted event has the printed seq" "\"id\":\"auth_entrypoints_oidc_logout\".*\"seq\":$seq,.*\"duser\":\"alice\"" "$WORK/dump.ndjson"
finish
