#!/usr/bin/env bash
# daemon_lifecycle.sh - traild's configuration errors (file, line, key; exit
# 2), its lifecycle as catalog events in the store (starting, started,
# stopped, startfailed), and SIGHUP with a good and a bad configuration.
source "$(dirname "$0")/daemon_common.bash"

# ---- bad configurations: a message naming file, line and key; status 2 ----
bad() { # bad NAME EXPECTED-MESSAGE-REGEX CONTENT
    printf '%b' "$3" >"$WORK/bad.conf"
    "$TRAILD" -t -c "$WORK/bad.conf" >"$WORK/bad.out" 2>&1
    local st=$?
    check_eq "bad config ($1): exit 2" "$st" 2
    check_grep "bad config ($1): message" "$2" "$WORK/bad.out"
}
bad "unknown key" 'bad.conf:3: \[store\] fsinc: unknown key' '[store]\npath = /x\nfsinc = always\n'
bad "unknown section" 'bad.conf:3: unknown section \[stor\]' '\n[stor]\npath = /x\n'
bad "not ini" "bad.conf:2: not a \[section\] or a 'key = value' line" '[store]\nthis is not ini\n'
bad "bad number" "bad.conf:2: \[limits\] batch_size: 'lots' is not a whole number" '[limits]\nbatch_size = lots\n'
bad "bad size" "bad.conf:2: \[limits\] max_body_bytes: '12Q' is not a size" '[limits]\nmax_body_bytes = 12Q\n'
# a record must fit a tlog-tiles entry, whose length is a uint16: 64K (65,536) is one too many
bad "record limit over an entry" "bad.conf:2: \[limits\] max_record_bytes: '64K' is over 65535 bytes: a record must fit a tlog-tiles entry" '[limits]\nmax_record_bytes = 64K\n'
printf '[store]\npath = %s\n[limits]\nmax_record_bytes = 65535\n' "$WORK/store" >"$WORK/limit.conf"
check "a record limit of 65535 is valid" "$TRAILD" -t -c "$WORK/limit.conf"
# the store's sealing threads (at most 4, TRAIL_SEAL_THREADS_MAX) and the stream inputs' loops (at most 8)
bad "seal_threads over 4" "bad.conf:2: \[store\] seal_threads: '5' is not a whole number from 0 to 4" '[store]\nseal_threads = 5\n'
bad "stream_threads over 8" "bad.conf:2: \[listen\] stream_threads: '9' is not a whole number from 0 to 8" '[listen]\nstream_threads = 9\n'
bad "stream_threads not a number" "bad.conf:2: \[listen\] stream_threads: 'all' is not a whole number" '[listen]\nstream_threads = all\n'
printf '[store]\npath = %s\nseal_threads = 4\n[listen]\nstream_threads = 8\nsyslog_threads = 0\n' "$WORK/store" >"$WORK/threads.conf"
check "seal_threads = 4, stream_threads = 8: valid" "$TRAILD" -t -c "$WORK/threads.conf"
# the unsealed backlog's bound, in rolled segments: 0 (none) to 4096
bad "seal_backlog_max over 4096" "bad.conf:2: \[store\] seal_backlog_max: '5000' is not a whole number from 0 to 4096" '[store]\nseal_backlog_max = 5000\n'
bad "seal_backlog_max not a number" "bad.conf:2: \[store\] seal_backlog_max: 'lots' is not a whole number" '[store]\nseal_backlog_max = lots\n'
printf '[store]\npath = %s\nseal_backlog_max = 0\n' "$WORK/store" >"$WORK/backlog.conf"
check "seal_backlog_max = 0 (no bound): valid" "$TRAILD" -t -c "$WORK/backlog.conf"
bad "bad address" "bad.conf:2: \[listen\] http: 'localhost' is not HOST:PORT" '[listen]\nhttp = localhost\n'
bad "bad policy" "bad.conf:2: \[validation\] policy: 'loose' is not one of: strict, lenient, off" '[validation]\npolicy = loose\n'
bad "event severity" 'bad.conf:3: \[event acme_x\] severity: not one of TRACE' '[event acme_x]\ndescription = x\nseverity = LOUD\n'
bad "event schema" 'bad.conf:4: \[event acme_x\] schema: expected' '[event acme_x]\nseverity = INFO\ndescription = x\nschema = a:float\n'
bad "event id taken" 'bad.conf:2: \[event core_server_run_started\] id: already declared' '[event core_server_run_started]\nseverity = INFO\ndescription = x\n'
bad "event id reserved" 'bad.conf:2: \[event trail_door\] id: the trail_ namespace is trail.s own' '[event trail_door]\nseverity = INFO\ndescription = x\n'
bad "key twice" 'bad.conf:3: \[store\] path: given twice' '[store]\npath = /a\npath = /b\n'
bad "token secret" 'bad.conf:2: \[token t1\] secret: a secret of at least 16' '[token t1]\nsecret = short\n'
bad "tls without files" 'syslog_tls needs \[tls\] cert and key' '[listen]\nsyslog_tls = 127.0.0.1:6514\n'

# a section given twice: its keys would silently join or override the first one's
bad "listen twice" 'bad.conf:5: \[listen\] given twice \(first at line 3\)' \
    "[store]\npath = $WORK/store\n[listen]\nhttp = off\n[listen]\nsyslog_udp = off\n"
bad "store twice, the second empty" 'bad.conf:4: \[store\] given twice \(first at line 1\)' \
    "[store]\npath = $WORK/store\n# comment\n[store]\n"
bad "server twice, apart" 'bad.conf:5: \[server\] given twice \(first at line 1\)' \
    "[server]\nhost = a\n[store]\npath = $WORK/store\n[server]\nhost = b\n"
bad "named sink twice" 'bad.conf:5: \[sink out\] given twice \(first at line 3\)' \
    "[store]\npath = $WORK/store\n[sink out]\ntype = file\n[sink  out]\ntype = file\n"
bad "event twice" 'bad.conf:4: \[event acme_x\] given twice \(first at line 1\)' \
    "[event acme_x]\nseverity = INFO\ndescription = x\n[event acme_x]\nseverity = INFO\n"
# an indented '[...]' after a key continues that key's value (inih): not a header
bad "indented header continues a value" 'bad.conf:3: \[event acme_x\] severity: only description and schema may continue' \
    "[event acme_x]\nseverity = INFO\n  [event acme_x]\n"
# a key given twice is found however many keys the section has
tokens=""
for i in $(seq 1 70); do tokens+="t$i = write:00112233445566778899aabbccddeeff:$(printf '%064d' 0)\n"; done
bad "key twice after 70 keys" "bad.conf:74: \[tokens\] t5: given twice" \
    "[store]\npath = $WORK/store\n[tokens]\n${tokens}t5 = read:00112233445566778899aabbccddeeff:$(printf '%064d' 0)\n"

# what the file names outside itself: refused by -t as by a start, with file and line
bad "signing key missing" "bad.conf:3: \[store\] signing_key: cannot read $WORK/no-such.key: No such file or directory" \
    "[store]\npath = $WORK/store\nsigning_key = $WORK/no-such.key\n"
printf 'not a key\n' >"$WORK/not.key"
bad "signing key not a key" "bad.conf:3: \[store\] signing_key: $WORK/not.key is not an Ed25519 private key" \
    "[store]\npath = $WORK/store\nsigning_key = $WORK/not.key\n"
bad "store parent missing" "bad.conf:2: \[store\] path: cannot make the store directory $WORK/no/store: $WORK/no: No such file or directory" \
    "[store]\npath = $WORK/no/store\n"
bad "store under a file" "bad.conf:2: \[store\] path: cannot use $WORK/not.key/store: Not a directory" \
    "[store]\npath = $WORK/not.key/store\n"
bad "store is a file" "bad.conf:2: \[store\] path: $WORK/not.key exists and is not a directory" \
    "[store]\npath = $WORK/not.key\n"
if [ ! -d /var/lib/trail ]; then # the default store, /var/lib/trail/store, cannot be made here
    bad "default store" "^traild: .*bad.conf: \[store\] path: cannot make the store directory /var/lib/trail/store" \
        "[server]\nhost = h\n"
fi
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=a \
    -keyout "$WORK/a.key" -out "$WORK/a.crt" >/dev/null 2>&1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=b \
    -keyout "$WORK/b.key" -out "$WORK/b.crt" >/dev/null 2>&1
tls() { printf '[store]\npath = %s\n[listen]\nhttp_tls = on\n[tls]\n%s' "$WORK/store" "$1"; }
bad "tls cert missing" "bad.conf:6: \[tls\] cert: cannot read $WORK/no.crt: No such file or directory" \
    "$(tls "cert = $WORK/no.crt\nkey = $WORK/a.key\n")"
bad "tls key missing" "bad.conf:7: \[tls\] key: cannot read $WORK/no.key: No such file or directory" \
    "$(tls "cert = $WORK/a.crt\nkey = $WORK/no.key\n")"
bad "tls ca missing" "bad.conf:8: \[tls\] ca: cannot read $WORK/no-ca.crt" \
    "$(tls "cert = $WORK/a.crt\nkey = $WORK/a.key\nca = $WORK/no-ca.crt\n")"
bad "tls http_ca a directory" "bad.conf:8: \[tls\] http_ca: cannot read $WORK: Is a directory" \
    "$(tls "cert = $WORK/a.crt\nkey = $WORK/a.key\nhttp_ca = $WORK\n")"
bad "tls cert not PEM" "bad.conf:6: \[tls\] cert: TLS: $WORK/not.key: " \
    "$(tls "cert = $WORK/not.key\nkey = $WORK/a.key\n")"
bad "tls key of another cert" "bad.conf:7: \[tls\] key: TLS: $WORK/b.key: .*key values mismatch" \
    "$(tls "cert = $WORK/a.crt\nkey = $WORK/b.key\n")"
bad "tls ca not PEM" "bad.conf:8: \[tls\] ca: TLS: $WORK/not.key: " \
    "$(tls "cert = $WORK/a.crt\nkey = $WORK/a.key\nca = $WORK/not.key\n")"
tls "cert = $WORK/a.crt\nkey = $WORK/a.key\nca = $WORK/b.crt\nhttp_ca = $WORK/b.crt\n" |
    sed 's/\\n/\n/g' >"$WORK/good-tls.conf"
check "tls files that load: valid" "$TRAILD" -t -c "$WORK/good-tls.conf"
# a start refuses with the very message -t gives (one check, run by both)
printf '[store]\npath = %s\nsigning_key = %s\n' "$WORK/store" "$WORK/no-such.key" >"$WORK/bad.conf"
"$TRAILD" -t -c "$WORK/bad.conf" >"$WORK/bad-t.out" 2>&1
"$TRAILD" -c "$WORK/bad.conf" >"$WORK/bad-start.out" 2>&1
check_eq "a start refuses a missing signing key: exit 2" "$?" 2
check_eq "a start refuses with -t's message" "$(cat "$WORK/bad-start.out")" "$(cat "$WORK/bad-t.out")"
check "a refused start makes no store" test ! -e "$WORK/store"
"$TRAILD" -c "$WORK/no-such.conf" >"$WORK/bad.out" 2>&1
check_eq "missing config file: exit 2" "$?" 2
check_grep "missing config file: message" 'no-such.conf: No such file or directory' "$WORK/bad.out"
# its store where this test may make one (the example's /var/lib/trail may not exist here)
sed "s|^path = /var/lib/trail/store|path = $WORK/example-store|" "$TRAIL_SOURCE_DIR/trail.conf.example" \
    >"$WORK/example.conf"
check "the example configuration is valid" "$TRAILD" -t -c "$WORK/example.conf"

# ---- lifecycle and reload ----
HPORT=$(free_port)
URL=http://127.0.0.1:$HPORT
CONF=$WORK/traild.conf
write_conf() { # write_conf POLICY EXTRA [HTTP]
    cat >"$CONF" <<EOF
[server]
host = audit-test
[store]
path = $WORK/store
[listen]
http = ${3:-127.0.0.1:$HPORT}
syslog_udp = off
syslog_tcp = off
[validation]
policy = $1
[event acme_door_opened]
severity = INFO
description = A door was opened.
schema = door:string
$2
EOF
}
write_conf strict ""
start_traild "$CONF" || exit 1
# strict: an undeclared attribute is refused
printf '%s' '{"id":"acme_door_opened","attrs":{"colour":"red"}}' >"$WORK/ev.json"
http_post "$URL/v1/events" "$WORK/ev.json" >/dev/null
check_eq "strict policy: undeclared attribute refused" "$(cat "$WORK/http.code")" 400

# a bad config on SIGHUP: the old one stays
write_conf strictest ""
kill -HUP "$TRAILD_PID"
for _ in $(seq 50); do grep -q "reload failed" "$WORK/traild.log" && break; sleep 0.05; done
check_grep "bad reload: logged with file and line" "reload failed, the configuration in force stays: .*traild.conf:10: \[validation\] policy" "$WORK/traild.log"
http_post "$URL/v1/events" "$WORK/ev.json" >/dev/null
check_eq "bad reload: the old policy is still in force" "$(cat "$WORK/http.code")" 400

# a good config on SIGHUP: lenient policy and a new custom event take effect
write_conf lenient "[event acme_door_closed]
severity = INFO
description = A door was closed.
schema = door:string:required"
kill -HUP "$TRAILD_PID"
for _ in $(seq 50); do grep -q "configuration reloaded" "$WORK/traild.log" && break; sleep 0.05; done
check_grep "good reload: logged" "configuration reloaded from .*traild.conf: 2 custom events, policy lenient" "$WORK/traild.log"
http_post "$URL/v1/events" "$WORK/ev.json" >/dev/null
check_eq "good reload: lenient policy in force" "$(cat "$WORK/http.code")" 200
printf '%s' '{"id":"acme_door_closed","attrs":{"door":"D4"}}' >"$WORK/ev2.json"
http_post "$URL/v1/events" "$WORK/ev2.json" >/dev/null
check_eq "good reload: the new custom event is known" "$(cat "$WORK/http.code")" 200
curl -s "$URL/metrics" | grep '^trail_config_reloads_total' >"$WORK/reloads.out"
check_grep "metrics: reloads counted" 'result="failed"\} 1' "$WORK/reloads.out"

# a restart-only change is reported against what runs, not against the last file read:
# reload 1 moves [listen] http (it waits for a restart), reload 2 moves it back (nothing waits)
DOOR_CLOSED="[event acme_door_closed]
severity = INFO
description = A door was closed.
schema = door:string:required"
reload_and_wait() { # reload_and_wait N: SIGHUP, wait for the Nth "configuration reloaded"
    kill -HUP "$TRAILD_PID"
    for _ in $(seq 100); do
        [ "$(grep -c 'configuration reloaded' "$WORK/traild.log")" -ge "$1" ] && break
        sleep 0.05
    done
}
write_conf lenient "$DOOR_CLOSED" "127.0.0.1:$(free_port)"
reload_and_wait 2
grep 'configuration reloaded' "$WORK/traild.log" | sed -n 2p >"$WORK/reload1.out"
check_grep "reload 1: the new http address waits for a restart" \
    '; \[listen\] http changed and takes effect at the next restart' "$WORK/reload1.out"
write_conf lenient "$DOOR_CLOSED"
reload_and_wait 3
grep 'configuration reloaded' "$WORK/traild.log" | sed -n 3p >"$WORK/reload2.out"
check_grep "reload 2: logged" 'configuration reloaded from .*policy lenient, 0 tokens$' "$WORK/reload2.out"
check "reload 2: http is back to what runs, nothing waits for a restart" \
    test "$(grep -c restart "$WORK/reload2.out")" = 0
http_post "$URL/v1/events" "$WORK/ev2.json" >/dev/null
check_eq "reloads: http still served where it started" "$(cat "$WORK/http.code")" 200

stop_traild TERM
check_eq "SIGTERM: exit 0" "$STOP_STATUS" 0
check_grep "SIGTERM: logged" 'SIGTERM: stopping inputs and draining' "$WORK/traild.log"

# a second run whose HTTP port is taken: startfailed, to stderr and to the store
rm -f "$WORK/port.held"
python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
for _ in range(200):
    try:
        s.bind(('127.0.0.1', $HPORT)); break
    except OSError:
        time.sleep(0.05)
s.listen(1)
open('$WORK/port.held', 'w').close()
time.sleep(30)" &
EXTRA_PIDS="$!"
# start traild only once the port is really held, and never let it run on
for _ in $(seq 100); do [ -e "$WORK/port.held" ] && break; sleep 0.1; done
check "port taken: the test holds the port" test -e "$WORK/port.held"
timeout 20 "$TRAILD" -c "$CONF" >"$WORK/fail.log" 2>&1
check_eq "port taken: exit 1" "$?" 1
check_grep "port taken: startfailed on stderr" 'trail_run_startfailed: http input: cannot listen on 127.0.0.1' "$WORK/fail.log"
check_grep "port taken: the event as JSON on stderr" '^\{"id":"trail_run_startfailed"' "$WORK/fail.log"
kill "$EXTRA_PIDS" 2>/dev/null

# a store that passes the checks of -t but cannot be opened (its LOCK is a directory):
# startfailed on stderr only
mkdir -p "$WORK/nostore/LOCK"
sed "s|^path = .*|path = $WORK/nostore|" "$CONF" >"$WORK/nostore.conf"
check "store cannot be opened: -t cannot tell" "$TRAILD" -t -c "$WORK/nostore.conf"
"$TRAILD" -c "$WORK/nostore.conf" >"$WORK/nostore.log" 2>&1
check_eq "store cannot be opened: exit 1" "$?" 1
check_grep "store cannot be opened: startfailed on stderr" "trail_run_startfailed: cannot open the store $WORK/nostore" "$WORK/nostore.log"

store_dump "$WORK/store" >"$WORK/dump.ndjson"
ids=$(grep -o '"id":"[a-z_]*"' "$WORK/dump.ndjson" | cut -d'"' -f4 | tr '\n' ' ')
check_eq "store: the lifecycle in order" "$ids" \
    "trail_run_starting trail_run_started trail_config_reloadfailed trail_config_reloaded acme_door_opened acme_door_closed trail_config_reloaded trail_config_reloaded acme_door_closed trail_run_stopped trail_run_starting trail_run_startfailed "
check_grep "store: host from [server]" '"id":"trail_run_started".*"host":"audit-test"' "$WORK/dump.ndjson"
check_grep "store: reload 1 says what waits for a restart" '"id":"trail_config_reloaded".*"msg":".*\[listen\] http changed and takes effect at the next restart' "$WORK/dump.ndjson"
check_eq "store: reload 2 says nothing waits" \
    "$(grep '"id":"trail_config_reloaded"' "$WORK/dump.ndjson" | sed -n 3p | grep -c restart)" 0
check_grep "store: reload failure with its reason" '"id":"trail_config_reloadfailed".*"reason":".*policy' "$WORK/dump.ndjson"
check_grep "store: stop with its reason" '"id":"trail_run_stopped".*"reason":"stopped on SIGTERM"' "$WORK/dump.ndjson"
check_grep "store: startfailed with its reason" '"id":"trail_run_startfailed".*"reason":"http input: cannot listen' "$WORK/dump.ndjson"
finish
