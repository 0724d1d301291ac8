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
bad "bad address" "bad.conf:2: \[listen\] http: 'localhost' is not HOST:PORT" '[listen]\nhttp = localhost\n'
bad "bad policy" "bad.conf:2: \[validation\] policy: 'loose' is not one of: strict, lenient, off" '[validation]\npolicy = loose\n'
bad "event severity" 'bad.conf:3: \[event acme_x\] severity: not one of TRACE' '[event acme_x]\ndescription = x\nseverity = LOUD\n'
bad "event schema" 'bad.conf:4: \[event acme_x\] schema: expected' '[event acme_x]\nseverity = INFO\ndescription = x\nschema = a:float\n'
bad "event id taken" 'bad.conf:2: \[event core_server_run_started\] id: already declared' '[event core_server_run_started]\nseverity = INFO\ndescription = x\n'
bad "key twice" 'bad.conf:3: \[store\] path: given twice' '[store]\npath = /a\npath = /b\n'
bad "token secret" 'bad.conf:2: \[token t1\] secret: a secret of at least 16' '[token t1]\nsecret = short\n'
bad "tls without files" 'syslog_tls needs \[tls\] cert and key' '[listen]\nsyslog_tls = 127.0.0.1:6514\n'
"$TRAILD" -c "$WORK/no-such.conf" >"$WORK/bad.out" 2>&1
check_eq "missing config file: exit 2" "$?" 2
check_grep "missing config file: message" 'no-such.conf: No such file or directory' "$WORK/bad.out"
check "the example configuration is valid" "$TRAILD" -t -c "$TRAIL_SOURCE_DIR/trail.conf.example"

# ---- lifecycle and reload ----
HPORT=$(free_port)
URL=http://127.0.0.1:$HPORT
CONF=$WORK/traild.conf
write_conf() { # write_conf POLICY EXTRA
    cat >"$CONF" <<EOF
[server]
host = audit-test
[store]
path = $WORK/store
[listen]
http = 127.0.0.1:$HPORT
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

# a store that cannot be opened: startfailed on stderr only
sed "s|^path = .*|path = /proc/no/store|" "$CONF" >"$WORK/nostore.conf"
"$TRAILD" -c "$WORK/nostore.conf" >"$WORK/nostore.log" 2>&1
check_eq "store cannot be opened: exit 1" "$?" 1
check_grep "store cannot be opened: startfailed on stderr" 'trail_run_startfailed: cannot open the store /proc/no/store' "$WORK/nostore.log"

store_dump "$WORK/store" >"$WORK/dump.ndjson"
ids=$(grep -o '"id":"[a-z_]*"' "$WORK/dump.ndjson" | cut -d'"' -f4 | tr '\n' ' ')
check_eq "store: the lifecycle in order" "$ids" \
    "trail_run_starting trail_run_started trail_config_reloadfailed trail_config_reloaded acme_door_opened acme_door_closed trail_run_stopped trail_run_starting trail_run_startfailed "
check_grep "store: host from [server]" '"id":"trail_run_started".*"host":"audit-test"' "$WORK/dump.ndjson"
check_grep "store: reload failure with its reason" '"id":"trail_config_reloadfailed".*"reason":".*policy' "$WORK/dump.ndjson"
check_grep "store: stop with its reason" '"id":"trail_run_stopped".*"reason":"stopped on SIGTERM"' "$WORK/dump.ndjson"
check_grep "store: startfailed with its reason" '"id":"trail_run_startfailed".*"reason":"http input: cannot listen' "$WORK/dump.ndjson"
finish
