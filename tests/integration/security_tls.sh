#!/usr/bin/env bash
# security_tls.sh - HTTPS on traild's HTTP listener ([listen] http_tls) with
# throwaway certificates made here: curl and openssl s_client against it,
# TLS 1.2+ only, client certificates mapped to roles by CN and by SHA-256
# fingerprint ([client_certs]), refused when signed by another CA or not
# mapped, tokens over TLS, plain HTTP refused on the TLS port, bad
# certificate files named at start; and syslog over TLS with a client
# certificate required ([tls] ca) checked with s_client.
source "$(dirname "$0")/daemon_common.bash"

TRAIL="$TRAIL_BIN/trail"
C=$WORK/certs
mkdir -p "$C"

# ca NAME: a self-signed CA; leaf NAME CA CN [server]: a key and a certificate signed by CA
ca() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=$1" -keyout "$C/$1.key" -out "$C/$1.crt" 2>/dev/null
}
leaf() {
    local name=$1 ca=$2 cn=$3 ext
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$cn" \
        -keyout "$C/$name.key" -out "$C/$name.csr" 2>/dev/null
    if [ "${4:-}" = server ]; then
        printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$C/$name.ext"
    else
        printf 'extendedKeyUsage=clientAuth\n' >"$C/$name.ext"
    fi
    openssl x509 -req -in "$C/$name.csr" -CA "$C/$ca.crt" -CAkey "$C/$ca.key" -CAcreateserial \
        -days 2 -extfile "$C/$name.ext" -out "$C/$name.crt" 2>/dev/null
}
ca ca
ca otherca
leaf server ca 127.0.0.1 server
leaf reader ca reader
leaf ops ca ops-by-fingerprint
leaf nobody ca nobody
leaf rogue otherca reader # the same CN, from a CA traild does not trust
check "throwaway certificates made" test -s "$C/server.crt" -a -s "$C/rogue.crt"
OPS_FP=$(openssl x509 -in "$C/ops.crt" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f)

"$TRAIL" token-hash idp write >"$WORK/w.tok"
W=$(sed -n 1p "$WORK/w.tok")
PORT=$(free_port)
SPORT=$(free_port)
URL=https://127.0.0.1:$PORT
CONF=$WORK/traild.conf
cat >"$CONF" <<EOF
[store]
path = $WORK/store
[listen]
http = 127.0.0.1:$PORT
http_tls = on
syslog_udp = off
syslog_tcp = off
syslog_tls = 127.0.0.1:$SPORT
[tls]
cert = $C/server.crt
key = $C/server.key
ca = $C/ca.crt
http_ca = $C/ca.crt
[tokens]
$(sed -n 2p "$WORK/w.tok")
[client_certs]
reader = read
$OPS_FP = admin
EOF
start_traild "$CONF" || exit 1
check_grep "started with TLS and client certificates" "http: 127.0.0.1:$PORT \(2 threads, TLS with client certificates\)" "$WORK/traild.log"

# cu NAME [curl args...]: status to $WORK/code, body to $WORK/body
cu() {
    curl -s --cacert "$C/ca.crt" -o "$WORK/body" -w '%{http_code}' --max-time 10 "$@" >"$WORK/code"
}
cert() { echo --cert "$C/$1.crt" --key "$C/$1.key"; }

cu "$URL/healthz"
check_eq "https: /healthz 200 with the CA" "$(cat "$WORK/code")" 200
curl -s -o /dev/null --max-time 5 "$URL/healthz"
check "https: a client that does not trust the certificate fails" test $? -ne 0
check_eq "plain http on the TLS port gets no answer" \
    "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PORT/healthz")" 000

cu "$URL/v1/events?limit=1"
check_eq "no certificate, no token: 401" "$(cat "$WORK/code")" 401
# shellcheck disable=SC2046
cu $(cert reader) "$URL/v1/events?limit=1"
check_eq "client certificate CN=reader (read): query 200" "$(cat "$WORK/code")" 200
# shellcheck disable=SC2046
cu $(cert reader) -H 'Content-Type: application/json' \
    --data-binary '{"id":"core_server_run_started","attrs":{"msg":"tls"}}' "$URL/v1/events"
check_eq "CN=reader: ingest 403" "$(cat "$WORK/code")" 403
check_grep "CN=reader: 403 names the certificate" '"error":"certificate reader has role read; this needs write"' "$WORK/body"
# shellcheck disable=SC2046
cu $(cert rogue) "$URL/v1/events?limit=1"
check_eq "CN=reader from another CA: 401" "$(cat "$WORK/code")" 401
check_grep "another CA: error says not valid" "the client certificate is not valid" "$WORK/body"
# shellcheck disable=SC2046
cu $(cert nobody) "$URL/v1/events?limit=1"
check_eq "a certificate not in [client_certs]: 401" "$(cat "$WORK/code")" 401
check_grep "not mapped: error names the CN" "the client certificate \(CN 'nobody'\) is not in \[client_certs\]" "$WORK/body"
# shellcheck disable=SC2046
cu $(cert ops) "$URL/v1/sinks"
check_eq "certificate mapped by fingerprint (admin): sinks 200" "$(cat "$WORK/code")" 200
cu -H "Authorization: Bearer $W" -H 'Content-Type: application/json' \
    --data-binary '{"id":"core_server_run_started","attrs":{"msg":"over https"}}' "$URL/v1/events"
check_eq "token over https: ingest 200" "$(cat "$WORK/code")" 200
# shellcheck disable=SC2046
cu $(cert reader) -H "Authorization: Bearer $W" "$URL/v1/events?limit=1"
check_eq "a token decides over the certificate (write token, read cert): query 403" "$(cat "$WORK/code")" 403

# openssl s_client: the certificate served, TLS 1.2+ only
echo | openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$C/ca.crt" >"$WORK/s_client.out" 2>&1
check_grep "s_client: verified" "Verify return code: 0 \(ok\)" "$WORK/s_client.out"
check_grep "s_client: TLS 1.2 or 1.3" "Protocol *: TLSv1\.[23]|New, TLSv1\.[23]" "$WORK/s_client.out"
check_grep "s_client: the server asks for a client certificate from the CA" "Acceptable client certificate CA names|CN *= *ca" "$WORK/s_client.out"
echo | openssl s_client -connect "127.0.0.1:$PORT" -tls1_1 >"$WORK/s11.out" 2>&1
check_grep "s_client: TLS 1.1 refused (no handshake)" "no peer certificate available" "$WORK/s11.out"

# syslog over TLS with a required client certificate
MSG='<134>1 2026-11-25T10:00:00Z idp1 pas - core_server_run_started [trail@32473 msg="syslog over tls"] x'
# s_client's input stays open until what is tested has happened (the event
# stored, the handshake refused): its end would close the connection
stored_over_tls() {
    # shellcheck disable=SC2046
    cu $(cert reader) "$URL/v1/events?event=core_server_run_started&text=tls&limit=10"
    grep -q '"msg":"syslog over tls"' "$WORK/body"
}
mkfifo "$WORK/sys1.in" "$WORK/sys2.in"
openssl s_client -quiet -no_ign_eof -connect "127.0.0.1:$SPORT" -CAfile "$C/ca.crt" \
    -cert "$C/reader.crt" -key "$C/reader.key" <"$WORK/sys1.in" >"$WORK/sys1.out" 2>&1 &
SC1=$!
exec 7>"$WORK/sys1.in"
printf '%s\n' "$MSG" >&7
check "syslog over TLS with a client certificate: stored" wait_for 60 stored_over_tls
exec 7>&-
wait "$SC1"
openssl s_client -quiet -no_ign_eof -connect "127.0.0.1:$SPORT" -CAfile "$C/ca.crt" \
    <"$WORK/sys2.in" >"$WORK/sys2.out" 2>&1 &
SC2=$!
exec 7>"$WORK/sys2.in"
printf '%s\n' "${MSG/syslog over tls/no client cert}" >&7
wait_for 60 grep -q "syslog_tls: .*TLS failed" "$WORK/traild.log"
exec 7>&-
wait "$SC2"
# shellcheck disable=SC2046
cu $(cert reader) "$URL/v1/events?event=core_server_run_started&limit=50"
check "syslog over TLS without a client certificate: nothing stored" bash -c "! grep -q 'no client cert' '$WORK/body'"
check_grep "syslog over TLS without a certificate: handshake failure logged" "syslog_tls: .*TLS failed" "$WORK/traild.log"
stop_traild
check_eq "traild stopped cleanly" "$STOP_STATUS" 0

# bad TLS files are named with file and line, at start as by -t; http_ca without http_tls is refused
sed -e "s|^key = .*|key = $C/missing.key|" "$CONF" >"$WORK/badkey.conf"
"$TRAILD" -c "$WORK/badkey.conf" >"$WORK/badkey.out" 2>&1
check_eq "missing key file: a start exits 2" "$?" 2
check_grep "missing key file: named at start" "badkey.conf:[0-9]+: \[tls\] key: cannot read $C/missing.key: No such file" "$WORK/badkey.out"
"$TRAILD" -t -c "$WORK/badkey.conf" >"$WORK/badkey-t.out" 2>&1
check_grep "missing key file: named by -t" "badkey.conf:[0-9]+: \[tls\] key: cannot read $C/missing.key: No such file" "$WORK/badkey-t.out"
sed -e "s|^http_tls = on|http_tls = off|" "$CONF" >"$WORK/noca.conf"
"$TRAILD" -t -c "$WORK/noca.conf" >"$WORK/noca.out" 2>&1
check_grep "http_ca without http_tls refused" "\[tls\] http_ca needs \[listen\] http_tls = on" "$WORK/noca.out"
finish
