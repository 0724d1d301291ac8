#!/usr/bin/env bash
# cli_emit.sh - `trail emit` end to end: the four output forms byte for byte
# (time, host and uuid fixed by options), what the JSON holds read back by
# Python's json module, values with spaces, '=' and line breaks, the
# defaults (now, this host, a fresh uuid), --help, and bad input answered
# with exit status 2 and the exact message naming the bad part.
#
# Not here: the encoders in depth (tests/unit/test_json.c, test_cef.c,
# test_syslog.c, test_roundtrip.c).
set -u

trail="${TRAIL_BIN:?TRAIL_BIN is not set}/trail"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
not_ok() { failed=$((failed + 1)); echo "FAIL $1"; shift; for l in "$@"; do echo "     $l"; done; }

# expect_eq NAME GOT WANT
expect_eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got:  $2" "want: $3"; fi
}

fixed=(--time 2026-11-24T08:59:58.150Z --host idp1 --uuid 0b6f3f6e-3c1d-4b7a-9d2e-5f8a1c4e7b90)
logout=(auth_entrypoints_oidc_logout phxTraceId=#YFTp4LhpTqezu06B phxEntrypointId=oidc1
    phxEntrypointType=OIDC src=203.0.113.7 'requestClientApplication=Mozilla/5.0 (X11; Linux x86_64)')

# ---- the four forms, byte for byte ----
out=$("$trail" emit "${logout[@]}" "${fixed[@]}")
expect_eq "json: exit status 0" "$?" 0
expect_eq "json: the canonical object" "$out" \
    '{"id":"auth_entrypoints_oidc_logout","time":"2026-11-24T08:59:58.150000Z","severity":4,"severity_name":"NOTICE","host":"idp1","uuid":"0b6f3f6e-3c1d-4b7a-9d2e-5f8a1c4e7b90","attrs":{"phxEntrypointId":"oidc1","phxEntrypointType":"OIDC","phxTraceId":"#YFTp4LhpTqezu06B","requestClientApplication":"Mozilla/5.0 (X11; Linux x86_64)","src":"203.0.113.7"}}'
expect_eq "json is the default format" "$("$trail" emit "${logout[@]}" "${fixed[@]}" --format json)" "$out"

out=$("$trail" emit "${logout[@]}" "${fixed[@]}" --format cef)
expect_eq "cef: keys in order, declared but missing as null" "$out" \
    'CEF:0|PhenixID|PAS|0.1.0|auth_entrypoints_oidc_logout|An OIDC Logout has been performed|4|duser=null phxEntrypointId=oidc1 phxEntrypointTransactionType=null phxEntrypointType=OIDC phxHttpServerId=null phxTraceId=#YFTp4LhpTqezu06B requestClientApplication=Mozilla/5.0 (X11; Linux x86_64) sourceServiceName=null src=203.0.113.7'

out=$(TZ=XST-1 "$trail" emit "${logout[@]}" "${fixed[@]}" -f eventlog)
expect_eq "eventlog: the event.log prefix in local time" "${out%% CEF:*}" \
    '2026-11-24 09:59:58,150 [EVENT]  INFO: 2026-11-24T09:59:58+01:00 idp1'
expect_eq "eventlog: the same CEF line after it" "CEF:${out#* CEF:}" \
    "$("$trail" emit "${logout[@]}" "${fixed[@]}" --format cef)"

out=$("$trail" emit "${logout[@]}" "${fixed[@]}" --format=syslog)
expect_eq "syslog: RFC 5424 with the event in structured data" "$out" \
    '<109>1 2026-11-24T08:59:58.150000Z idp1 trail - auth_entrypoints_oidc_logout [trail@32473 id="auth_entrypoints_oidc_logout" uuid="0b6f3f6e-3c1d-4b7a-9d2e-5f8a1c4e7b90" phxEntrypointId="oidc1" phxEntrypointType="OIDC" phxTraceId="#YFTp4LhpTqezu06B" requestClientApplication="Mozilla/5.0 (X11; Linux x86_64)" src="203.0.113.7"] An OIDC Logout has been performed'

# ---- values with '=', quotes and a line break stay one line and read back ----
value=$'a=b "c" \\ d\nCEF:0|x|y|z|evil|e|10|duser=admin'
"$trail" emit prism_user_locked duser=alice phxTraceId=#j02r "reason=$value" "${fixed[@]}" \
    >"$tmp/hostile.json"
expect_eq "hostile value: json is one line" "$(wc -l <"$tmp/hostile.json")" 1
got=$(python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); print(e["attrs"]["reason"], end="")' \
    "$tmp/hostile.json")
expect_eq "hostile value: json reads back" "$got" "$value"
"$trail" emit prism_user_locked duser=alice phxTraceId=#j02r "reason=$value" "${fixed[@]}" -f cef \
    >"$tmp/hostile.cef"
expect_eq "hostile value: cef is one line" "$(wc -l <"$tmp/hostile.cef")" 1
expect_eq "hostile value: cef escapes '=', '\\' and the line break" \
    "$(grep -o 'reason=.*requestClientApplication' "$tmp/hostile.cef")" \
    'reason=a\=b "c" \\ d\nCEF:0|x|y|z|evil|e|10|duser\=admin requestClientApplication'
"$trail" emit prism_user_locked duser=alice phxTraceId=#j02r "reason=$value" "${fixed[@]}" \
    -f syslog >"$tmp/hostile.syslog"
expect_eq "hostile value: syslog is one line" "$(wc -l <"$tmp/hostile.syslog")" 1

# ---- defaults: now, this host, a fresh uuid ----
before=$(date -u +%s)
"$trail" emit prism_user_locked duser=alice phxTraceId=#j02r >"$tmp/a.json"
"$trail" emit prism_user_locked duser=alice phxTraceId=#j02r >"$tmp/b.json"
after=$(date -u +%s)
python3 - "$tmp/a.json" "$tmp/b.json" "$before" "$after" "$(hostname)" >"$tmp/defaults" <<'EOF'
import json, sys, datetime, re
a, b = (json.load(open(p)) for p in sys.argv[1:3])
t = datetime.datetime.strptime(a["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
print("time", int(sys.argv[3]) <= int(t.timestamp()) <= int(sys.argv[4]))
print("host", a["host"] == sys.argv[5])
print("uuid", bool(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", a["uuid"])) and a["uuid"] != b["uuid"])
EOF
expect_eq "defaults: time is now, host is this machine, uuids are fresh v4" \
    "$(tr '\n' ' ' <"$tmp/defaults")" "time True host True uuid True "

# ---- typed values ----
out=$("$trail" emit core_server_events_purged count=183204 'older_than=2026-08-26T00:00:00+02:00' \
    'msg=Purged 183204 events' "${fixed[@]}")
got=$(python3 -c 'import json,sys; a=json.loads(sys.argv[1])["attrs"]; print(a["count"], a["older_than"], a["msg"])' "$out")
expect_eq "typed values: int as a number, time in UTC" "$got" \
    "183204 2026-08-25T22:00:00.000000Z Purged 183204 events"

# ---- --help ----
"$trail" emit --help >"$tmp/help"
expect_eq "--help: exit status 0" "$?" 0
for section in NAME SYNOPSIS DESCRIPTION OPTIONS FORMATS 'EXIT STATUS' EXAMPLES; do
    grep -q "^$section\$" "$tmp/help" && ok "--help has $section" || not_ok "--help has $section"
done

# ---- bad input: exit status 2, the exact message ----
# expect_usage NAME WANT-MESSAGE ARGS...
expect_usage() {
    local name=$1 want=$2
    shift 2
    "$trail" emit "$@" >"$tmp/out" 2>"$tmp/err"
    local status=$?
    expect_eq "$name: exit status 2" "$status" 2
    expect_eq "$name: message" "$(cat "$tmp/err")" "trail emit: $want"
    expect_eq "$name: nothing on stdout" "$(wc -c <"$tmp/out")" 0
}
expect_usage "no id" "missing EVENT_ID (see 'trail emit --help')"
expect_usage "unknown id" "unknown event id 'no_such_event' ('trail events' lists the catalog)" \
    no_such_event
expect_usage "malformed id" "event id 'Prism-User' is not lower-case [a-z0-9_]" Prism-User
expect_usage "missing required attribute" "event 'prism_user_locked' needs attribute 'phxTraceId'" \
    prism_user_locked duser=alice
expect_usage "every missing required attribute at once" \
    "event 'auth_entrypoints_oidc_logout' needs attributes 'phxEntrypointType', 'phxTraceId'" \
    auth_entrypoints_oidc_logout phxEntrypointId=oidc1
expect_usage "undeclared attribute" "attribute 'colour' is not declared for event 'prism_user_locked'" \
    prism_user_locked duser=alice phxTraceId=#j02r colour=blue
expect_usage "bad ip" "attribute 'src': '10.0.0.256' is not a valid ip" \
    prism_user_locked duser=alice phxTraceId=#j02r src=10.0.0.256
expect_usage "bad enum" "attribute 'phxEntrypointType': 'LDAP' is not one of its values" \
    auth_entrypoints_oidc_logout phxTraceId=#x phxEntrypointId=oidc1 phxEntrypointType=LDAP
expect_usage "bad int" "attribute 'count': '12x' is not a valid int" \
    core_server_events_purged count=12x
expect_usage "bad key" "attribute key 'a b' is empty or has characters outside [A-Za-z0-9_.-]" \
    prism_user_locked 'a b=1'
expect_usage "not key=value" "argument 'duser' is not KEY=VALUE" prism_user_locked duser
expect_usage "empty key" "argument '=x' has no key before '='" prism_user_locked =x
expect_usage "key twice" "attribute 'duser' is given twice" prism_user_locked duser=a duser=b
expect_usage "unknown format" "unknown format 'xml' (json, cef, eventlog or syslog)" \
    prism_user_locked --format xml
expect_usage "unknown option" "unknown option '--colour' (see 'trail emit --help')" \
    prism_user_locked --colour
expect_usage "option without value" "option --time needs a value" prism_user_locked --time
expect_usage "bad time" "--time 'yesterday' is not an RFC 3339 time (e.g. 2026-11-24T08:59:58.150000Z)" \
    prism_user_locked duser=a phxTraceId=#x --time yesterday
expect_usage "bad uuid" "--uuid 'x-y' is not a uuid (8-4-4-4-12 hex digits)" \
    prism_user_locked duser=a phxTraceId=#x --uuid x-y
expect_usage "bad host" "--host: host is longer than 255 bytes" \
    prism_user_locked duser=a phxTraceId=#x --host "$(printf '%0300d' 0)"

# '--' lets a value start with '-'
out=$("$trail" emit "${fixed[@]}" -- prism_user_locked duser=-alice phxTraceId=#x)
expect_eq "'--' ends the options" "$?" 0

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
