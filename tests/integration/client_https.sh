#!/usr/bin/env bash
# client_https.sh - the CLI (and through it trail_client_*) against a traild
# that turns TLS on ([listen] http_tls) and maps client certificates: emit,
# query, count, tail -f and loadgen over https:// with --cacert, a token
# from --token-file, a client certificate (--cert/--key); refused without
# the CA (a certificate error, nothing stored), with a name the certificate
# does not hold, and with a certificate from another CA.
source "$(dirname "$0")/daemon_common.bash"

TRAIL="$TRAIL_BIN/trail"
C=$WORK/certs
mkdir -p "$C"

# throwaway certificates, made as security_tls.sh makes them
ca() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=$1" -keyout "$C/$1.key" -out "$C/$1.crt" 2>/dev/null
}
leaf() {
    local name=$1 ca=$2 cn=$3
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
leaf rogue otherca reader # the same CN, from a CA traild does not trust
check "throwaway certificates made" test -s "$C/server.crt" -a -s "$C/rogue.crt"

"$TRAIL" token-hash idp write >"$WORK/w.tok"
sed -n 1p "$WORK/w.tok" >"$WORK/write.token"
PORT=$(free_port)
URL=https://127.0.0.1:$PORT
CONF=$WORK/traild.conf
cat >"$CONF" <<EOF2
[store]
path = $WORK/store
[listen]
http = 127.0.0.1:$PORT
http_tls = on
syslog_udp = off
syslog_tcp = off
[tls]
cert = $C/server.crt
key = $C/server.key
http_ca = $C/ca.crt
[tokens]
$(sed -n 2p "$WORK/w.tok")
[client_certs]
reader = read
EOF2
start_traild "$CONF" || exit 1

# emit over https with the CA and a token from a file
"$TRAIL" emit prism_user_locked duser=alice phxTraceId=#t1 --url "$URL" --cacert "$C/ca.crt" \
    --token-file "$WORK/write.token" >"$WORK/emit.out" 2>"$WORK/emit.err"
check_eq "emit over https: exit 0" "$?" 0
check_grep "emit over https: prints the seq" '^[0-9]+$' "$WORK/emit.out"

# refused without the CA: the system's store does not hold this throwaway CA
"$TRAIL" emit prism_user_locked duser=bob phxTraceId=#t2 --url "$URL" --token-file "$WORK/write.token" \
    >/dev/null 2>"$WORK/noca.err"
check_eq "emit without the CA: exit 1" "$?" 1
check_grep "emit without the CA: a certificate error" 'certificate not accepted: (unable to get local issuer certificate|self-signed certificate)' "$WORK/noca.err"
"$TRAIL" query --url "$URL" --cert "$C/reader.crt" --key "$C/reader.key" \
    >/dev/null 2>"$WORK/qnoca.err"
check_eq "query without the CA: exit 1" "$?" 1
check_grep "query without the CA: a certificate error" 'certificate not accepted' "$WORK/qnoca.err"
# the certificate names 127.0.0.1, not localhost
"$TRAIL" query --url "https://localhost:$PORT" --cacert "$C/ca.crt" \
    --cert "$C/reader.crt" --key "$C/reader.key" >/dev/null 2>"$WORK/name.err"
check_eq "a name the certificate does not hold: exit 1" "$?" 1
check_grep "a name the certificate does not hold: says so" 'certificate not accepted: [Hh]ostname mismatch' "$WORK/name.err"
"$TRAIL" query --url "$URL" --cacert "$WORK/none.crt" >/dev/null 2>"$WORK/cafile.err"
check_eq "a CA file that is not there: exit 1" "$?" 1
check_grep "a CA file that is not there: names it" "cannot load the CA file $WORK/none.crt" "$WORK/cafile.err"

# query with the CA and the reader's client certificate (role read)
"$TRAIL" query --url "$URL" --cacert "$C/ca.crt" --cert "$C/reader.crt" --key "$C/reader.key" \
    --event prism_user_locked --format ndjson >"$WORK/q.ndjson" 2>"$WORK/q.err"
check_eq "query over https with a client certificate: exit 0" "$?" 0
check_eq "query over https: the one event emitted" \
    "$(python3 -c 'import json,sys; print(",".join(json.loads(l)["attrs"]["duser"] for l in open(sys.argv[1])))' "$WORK/q.ndjson")" alice
"$TRAIL" query --url "$URL" --cacert "$C/ca.crt" --cert "$C/rogue.crt" --key "$C/rogue.key" \
    >/dev/null 2>"$WORK/rogue.err"
check_eq "a client certificate from another CA: exit 1" "$?" 1
check_grep "a client certificate from another CA: 401" 'traild answered 401' "$WORK/rogue.err"

# loadgen over https, then count what arrived
"$TRAIL" loadgen --url "$URL" --ca "$C/ca.crt" --token-file "$WORK/write.token" -n 40 \
    --batch 7 >"$WORK/lg.out" 2>&1
check_eq "loadgen over https: exit 0" "$?" 0
"$TRAIL" count --url "$URL" --cacert "$C/ca.crt" --cert "$C/reader.crt" --key "$C/reader.key" \
    --input http >"$WORK/count.out" 2>"$WORK/count.err"
check_eq "count over https: 1 emitted + 40 from loadgen" "$(cat "$WORK/count.out")" 41

# tail -f over https: an event emitted after the start shows up
"$TRAIL" tail -f -n 0 --url "$URL" --cacert "$C/ca.crt" --cert "$C/reader.crt" \
    --key "$C/reader.key" --event prism_user_unlocked --format ndjson >"$WORK/tail.out" \
    2>"$WORK/tail.err" &
TAIL_PID=$!
# an event sent before the stream opened is not shown (-n 0): send one more
# until one arrives, whatever the machine's pace
deadline=$((SECONDS + 60))
while [ $SECONDS -lt $deadline ] && ! grep -q '"duser":"carol' "$WORK/tail.out"; do
    "$TRAIL" emit prism_user_unlocked duser=carol$SECONDS phxTraceId=#t3 --url "$URL" --cacert "$C/ca.crt" \
        --token-file "$WORK/write.token" >/dev/null
    wait_for 2 grep -q '"duser":"carol' "$WORK/tail.out"
done
check "tail -f over https: a new event arrives" grep -q '"duser":"carol' "$WORK/tail.out"
kill "$TAIL_PID" 2>/dev/null
wait "$TAIL_PID" 2>/dev/null

finish
