#!/usr/bin/env bash
# sink_syslog.sh - traild's syslog sink against a real rsyslogd on loopback:
# RFC 5424 with structured data over TCP (octet counting) and UDP, CEF as
# MSG over TLS with certificate verification (a throwaway CA made here), and
# a TLS sink given the wrong CA, which must deliver nothing and say why.
# rsyslog writes what it parsed (facility, severity, time, host, app, msgid,
# structured data, msg) with a JSON template; every field of every event is
# compared with the store, hostile values included (quotes, brackets, pipes,
# equals signs, backslashes, newlines, terminal escapes, C1, U+2028). The TCP sink is a witness: a signed
# checkpoint arrives as its own message and verifies.
source "$(dirname "$0")/daemon_common.bash"

if ! command -v rsyslogd >/dev/null; then
    echo "rsyslogd not installed (scripts/install-deps.sh test)"
    FAILED=1
    finish
fi

RS=$WORK/rsyslog
mkdir -p "$RS/work"
TCP_PORT=$(free_port)
TLS_PORT=$(free_port)
TLS2_PORT=$(free_port)
UDP_PORT=$(free_port)
HPORT=$(free_port)
URL=http://127.0.0.1:$HPORT

# ---- a throwaway CA, the server's certificate, and a CA that signed nothing ----
(
    cd "$RS" || exit 1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key \
        -out ca.pem -days 2 -subj "/CN=trail test CA" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout srv.key \
        -out srv.csr -subj "/CN=localhost" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >ext
    openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem \
        -days 2 -extfile ext 2>/dev/null
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout other.key \
        -out other.pem -days 2 -subj "/CN=another CA" 2>/dev/null
) || exit 1

cat >"$RS/rsyslog.conf" <<EOF
global(workDirectory="$RS/work" parser.escapeControlCharactersOnReceive="off"
       maxMessageSize="64k"
       DefaultNetstreamDriverCAFile="$RS/ca.pem"
       DefaultNetstreamDriverCertFile="$RS/srv.pem"
       DefaultNetstreamDriverKeyFile="$RS/srv.key")
module(load="imtcp" maxSessions="20")
module(load="imudp")
input(type="imtcp" address="127.0.0.1" port="$TCP_PORT" ruleset="tcp")
input(type="imtcp" address="127.0.0.1" port="$TLS_PORT" ruleset="tls"
      streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode="anon")
input(type="imtcp" address="127.0.0.1" port="$TLS2_PORT" ruleset="tlsip"
      streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode="anon")
input(type="imudp" address="127.0.0.1" port="$UDP_PORT" ruleset="udp")
template(name="fields" type="list") {
  constant(value="{")
  property(name="syslogfacility" outname="facility" format="jsonf") constant(value=",")
  property(name="syslogseverity" outname="severity" format="jsonf") constant(value=",")
  property(name="timereported" dateFormat="rfc3339" outname="time" format="jsonf")
  constant(value=",")
  property(name="hostname" outname="host" format="jsonf") constant(value=",")
  property(name="app-name" outname="app" format="jsonf") constant(value=",")
  property(name="msgid" outname="msgid" format="jsonf") constant(value=",")
  property(name="structured-data" outname="sd" format="jsonf") constant(value=",")
  property(name="msg" outname="msg" format="jsonf")
  constant(value="}\n")
}
ruleset(name="tcp") { action(type="omfile" file="$RS/tcp.json" template="fields") }
ruleset(name="tls") { action(type="omfile" file="$RS/tls.json" template="fields") }
ruleset(name="udp") { action(type="omfile" file="$RS/udp.json" template="fields") }
ruleset(name="tlsip") { action(type="omfile" file="$RS/tlsip.json" template="fields") }
EOF
rsyslogd -n -f "$RS/rsyslog.conf" -i "$RS/rsyslogd.pid" >"$RS/rsyslogd.log" 2>&1 &
EXTRA_PIDS="$EXTRA_PIDS $!"

"$TRAIL_BIN/trail" keygen --out "$WORK/sign" >/dev/null || exit 1

CONF=$WORK/traild.conf
cat >"$CONF" <<EOF
[store]
path = $WORK/store
fsync = always
signing_key = $WORK/sign.key
checkpoint_interval_s = 1
[listen]
http = 127.0.0.1:$HPORT
syslog_udp = off
syslog_tcp = off
[event acme_badge_swiped]
severity = WARNING
description = A badge was swiped at a door.
schema = duser:string:required:indexed, door:string, src:ip, attempts:int, note:string
[sink tcp]
type = syslog
transport = tcp
address = 127.0.0.1:$TCP_PORT
witness = true
retry_min_ms = 50
retry_max_ms = 500
[sink tls]
type = syslog
transport = tls
format = cef
address = 127.0.0.1:$TLS_PORT
ca = $RS/ca.pem
server_name = localhost
facility = 10
app = trail-cef
events = acme_*
retry_min_ms = 50
retry_max_ms = 500
[sink tlsip]
type = syslog
transport = tls
address = 127.0.0.1:$TLS2_PORT
ca = $RS/ca.pem
events = acme_*
retry_min_ms = 50
retry_max_ms = 500
[sink udp]
type = syslog
transport = udp
address = 127.0.0.1:$UDP_PORT
min_severity = WARNING
[sink badca]
type = syslog
transport = tls
address = 127.0.0.1:$TLS_PORT
ca = $RS/other.pem
server_name = localhost
retry_min_ms = 50
retry_max_ms = 200
EOF
check "traild -t accepts the sink sections" "$TRAILD" -t -c "$CONF"

# wait until rsyslog listens (TCP port open)
rsyslog_listens() {
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $TCP_PORT)).close()" 2>/dev/null
}
check "rsyslogd listens" wait_for 60 rsyslog_listens

start_traild "$CONF" || exit 1

# events with hostile values: quotes, brackets, pipes, equals signs, backslashes, newlines, terminal escapes
python3 - "$WORK/events.ndjson" <<'PY'
import json, sys
hostile = [
    'al"ice',
    'bob] [x="y"]',
    'c|d|e=f',
    'back\\slash \\" \\]',
    'line1\nline2\r\nline3',
    'tab\there = = ==',
    'CEF:0|forged|x|1|id|name|10|src=6.6.6.6',
    ' lead and trail ',
    'ünïcødé ✓',
    '#012 not an escape',
    'esc\x1b[31mred\x07 del\x7f c1\u009b ls\u2028ps\u2029 \\u001b stays text',
]
with open(sys.argv[1], "w") as f:
    for i, h in enumerate(hostile):
        ev = {"id": "acme_badge_swiped",
              "attrs": {"duser": h, "door": "d%d]|=\"\\" % i, "src": "203.0.113.%d" % (i + 1),
                        "attempts": i, "note": h[::-1]}}
        f.write(json.dumps(ev) + "\n")
    for i in range(20):
        f.write(json.dumps({"id": "auth_entrypoints_oidc_logout",
                            "attrs": {"phxTraceId": "#t%d" % i, "phxEntrypointId": "oidc1",
                                      "phxEntrypointType": "OIDC", "duser": "u%d" % i,
                                      "src": "198.51.100.%d" % (i + 1)}}) + "\n")
PY
http_post "$URL/v1/events" "$WORK/events.ndjson" application/x-ndjson >/dev/null
check_eq "31 events accepted" "$(cat "$WORK/http.code")" 200
# the store signs a checkpoint after a commit once checkpoint_interval_s has
# passed: small events a little later make one that covers everything above
store_last() { "$TRAIL_BIN/trail" stats --store "$WORK/store" --json | sed 's/.*"last_seq":\([0-9]*\).*/\1/'; }
check "a checkpoint covers the 31 events" tick_until_checkpoint "$URL" "$(store_last)"

# everything delivered: the cursors reach the end of the store (wait_cursor: daemon_common.bash)
LAST=$(store_last)
check "tcp sink cursor reaches seq $LAST" wait_cursor tcp "$LAST"
check "tls sink cursor reaches seq $LAST" wait_cursor tls "$LAST"
check "udp sink cursor reaches seq $LAST" wait_cursor udp "$LAST"
check "tls sink checking the IP address in the certificate reaches seq $LAST" \
    wait_cursor tlsip "$LAST"
# a checkpoint covering the events reaches the witness, and rsyslog (which
# writes asynchronously) has written every message the sinks sent: as many
# as the store has events for each sink, and a checkpoint on tcp
store_dump "$WORK/store" >"$WORK/store.ndjson"
rsyslog_has_all() {
    python3 - "$WORK/store.ndjson" "$RS" <<'PY'
import json, sys
store = [json.loads(l) for l in open(sys.argv[1])]
def lines(name):
    try:
        return [l for l in open("%s/%s.json" % (sys.argv[2], name)) if l.strip()]
    except FileNotFoundError:
        return []
tcp = lines("tcp")
cps = sum('"msgid":"checkpoint"' in l for l in tcp)
acme = sum(e["id"].startswith("acme_") for e in store)
warn = sum(e["severity"] >= 6 for e in store)
sys.exit(0 if cps >= 1 and len(tcp) - cps >= len(store) and len(lines("tls")) >= acme
         and len(lines("tlsip")) >= acme and len(lines("udp")) >= warn else 1)
PY
}
check "rsyslog wrote every message and a checkpoint" wait_for 60 rsyslog_has_all

store_dump "$WORK/store" >"$WORK/store.ndjson"
python3 - "$WORK/store.ndjson" "$RS" "$WORK/sign.pub" <<'PY' >"$WORK/compare.out" 2>&1
import base64, json, subprocess, sys
store = [json.loads(l) for l in open(sys.argv[1])]
rs = sys.argv[2]
def lines(name):
    try:
        return [json.loads(l) for l in open("%s/%s.json" % (rs, name))]
    except FileNotFoundError:
        return []
SYSLOG_SEV = {1: 7, 2: 7, 3: 6, 4: 5, 6: 4, 7: 3, 8: 2, 9: 1, 10: 0}
ok = bad = 0
def check(name, got, want):
    global ok, bad
    if got == want:
        ok += 1
    else:
        bad += 1
        print("FAIL %s: got %r want %r" % (name, got, want))

def attr_text(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)

def unsafe_escape(s, i):
    """trail writes an unsafe character (C0, DEL, C1, U+2028/9) as \\uXXXX
    (docs/wire-formats.md): (the character, its length) at s[i], or None."""
    h = s[i + 2:i + 6]
    if s[i + 1:i + 2] != "u" or len(h) != 4 or any(c not in "0123456789abcdef" for c in h):
        return None
    cp = int(h, 16)
    if cp < 0x20 or cp == 0x7f or 0x80 <= cp <= 0x9f or cp in (0x2028, 0x2029):
        return chr(cp), 6
    return None

def parse_sd(sd):
    """[id p="v" ...] elements into {id: [(name, value)]}, escapes removed."""
    out, i = {}, 0
    while i < len(sd) and sd[i] == "[":
        j = i + 1
        while sd[j] not in " ]":
            j += 1
        sid = sd[i + 1:j]
        params = []
        i = j
        while sd[i] == " ":
            i += 1
            k = sd.index("=", i)
            name = sd[i:k]
            assert sd[k + 1] == '"'
            i = k + 2
            val = []
            while sd[i] != '"':
                if sd[i] == "\\" and sd[i + 1] in '"\\]':
                    val.append(sd[i + 1]); i += 2
                elif sd[i] == "\\" and unsafe_escape(sd, i):
                    c, n = unsafe_escape(sd, i)
                    val.append(c); i += n
                else:
                    val.append(sd[i]); i += 1
            params.append((name, "".join(val)))
            i += 1
        assert sd[i] == "]"
        out[sid] = params
        i += 1
    return out

def sd_attrs(params):
    d = dict(params)
    attrs = {}
    for n, v in params:
        if n in ("id", "seq", "uuid") or n.startswith("k.") or n.startswith("a."):
            continue
        attrs[n] = v
    for n, v in params:
        if n.startswith("k."):
            attrs[v] = d["a." + n[2:]]
    return d, attrs

def cef_split(msg):
    """CEF:0|V|P|Ver|Sig|Name|Sev|ext -> header list, {key: value} unescaped."""
    assert msg.startswith("CEF:0|"), msg[:40]
    head, i, cur = [], 0, []
    s = msg
    while len(head) < 7:
        c = s[i]
        if c == "\\" and s[i + 1] in "\\|":
            cur.append(s[i + 1]); i += 2; continue
        if c == "|":
            head.append("".join(cur)); cur = []; i += 1; continue
        cur.append(c); i += 1
    ext = s[i:]
    # split at " key=" where '=' is not escaped
    import re
    pos = [m.start() for m in re.finditer(r"(?:^| )([A-Za-z0-9_.-]+)=", ext)]
    out = {}
    for n, p in enumerate(pos):
        seg = ext[p:pos[n + 1]] if n + 1 < len(pos) else ext[p:]
        seg = seg.lstrip(" ")
        k, v = seg.split("=", 1)
        r, j = [], 0
        while j < len(v):
            if v[j] == "\\" and j + 1 < len(v) and v[j + 1] in "\\=|nr":
                r.append({"n": "\n", "r": "\r"}.get(v[j + 1], v[j + 1])); j += 2
            elif v[j] == "\\" and unsafe_escape(v, j):
                c, n = unsafe_escape(v, j)
                r.append(c); j += n
            else:
                r.append(v[j]); j += 1
        out[k] = "".join(r)
    return head, out

# --- TCP, RFC 5424 with structured data: every event of the store, in order, once ---
tcp = [m for m in lines("tcp") if m["msgid"] != "checkpoint"]
check("tcp: one message per stored event", len(tcp), len(store))
for ev, m in zip(store, tcp):
    d, attrs = sd_attrs(parse_sd(m["sd"])["trail@32473"])
    tag = "tcp seq %d" % ev["seq"]
    check(tag + " id", d["id"], ev["id"])
    check(tag + " msgid", m["msgid"], ev["id"][:32])
    check(tag + " seq", d["seq"], str(ev["seq"]))
    check(tag + " uuid", d["uuid"], ev["uuid"])
    check(tag + " attrs", attrs, {k: attr_text(v) for k, v in ev["attrs"].items()})
    check(tag + " time", m["time"], ev["time"])
    check(tag + " host", m["host"], ev.get("host", "-"))
    check(tag + " app", m["app"], "trail")
    check(tag + " facility", m["facility"], "13")
    check(tag + " severity", m["severity"], str(SYSLOG_SEV[ev["severity"]]))

# --- UDP: only WARNING and above ---
udp = lines("udp")
want = [e for e in store if e["severity"] >= 6]
check("udp: the WARNING+ events", [parse_sd(m["sd"])["trail@32473"][2][1] for m in udp],
      [e["uuid"] for e in want])

def prov_cef(ev):
    """the stored event's provenance as the CEF sink writes it: rt, dvc, cs5, cs6"""
    import calendar, datetime
    out = {}
    if ev.get("received"):
        dt = datetime.datetime.strptime(ev["received"], "%Y-%m-%dT%H:%M:%S.%fZ")
        out["rt"] = str(calendar.timegm(dt.timetuple()) * 1000 + dt.microsecond // 1000)
    if ev.get("peer"):
        out["dvc"] = ev["peer"].rsplit(":", 1)[0].strip("[]")
    if ev.get("principal"):
        out["cs5"], out["cs5Label"] = ev["principal"], "trailPrincipal"
    if ev.get("input"):
        out["cs6"], out["cs6Label"] = ev["input"], "trailInput"
    return out

# --- TLS, CEF as MSG: only acme_* events ---
tls = lines("tls")
want = [e for e in store if e["id"].startswith("acme_")]
check("tls: one message per acme event", len(tls), len(want))
for ev, m in zip(want, tls):
    tag = "tls seq %d" % ev["seq"]
    head, ext = cef_split(m["msg"])
    check(tag + " signature id", head[4], ev["id"])
    check(tag + " severity", head[6], str(ev["severity"]))
    check(tag + " ext", ext, dict({k: attr_text(v) for k, v in ev["attrs"].items()}, **prov_cef(ev)))
    check(tag + " app", m["app"], "trail-cef")
    check(tag + " facility", m["facility"], "10")
    check(tag + " msgid", m["msgid"], ev["id"][:32])
    check(tag + " time", m["time"], ev["time"])

# --- the witness checkpoint: its own message, and it verifies ---
cps = [m for m in lines("tcp") if m["msgid"] == "checkpoint"]
check("tcp: at least one checkpoint message", len(cps) >= 1, True)
if cps:
    line = cps[-1]["msg"].strip()
    f = line.split(" ")
    check("checkpoint has 8 fields", len(f), 8)
    size = int(f[2])
    check("checkpoint covers delivered events only", size <= len(store), True)
    # verify the Ed25519 signature with openssl over the signed message
    # the C2SP tlog-checkpoint text the line stands for (docs/integrity.md)
    msg = ("%s\n%s\n%s\ntrail-time %s\ntrail-chain %s\n"
           % (f[1], f[2], base64.b64encode(bytes.fromhex(f[3])).decode(), f[5], f[4]))
    open(rs + "/cp.msg", "w").write(msg)
    open(rs + "/cp.sig", "wb").write(base64.b64decode(f[7]))
    r = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", sys.argv[3],
                        "-rawin", "-in", rs + "/cp.msg", "-sigfile", rs + "/cp.sig"],
                       capture_output=True, text=True)
    check("checkpoint signature verifies", r.returncode, 0)
print("compare: %d ok, %d bad" % (ok, bad))
sys.exit(1 if bad else 0)
PY
COMPARE=$?
tail -3 "$WORK/compare.out"
check "rsyslog got every field of every event as stored" test "$COMPARE" -eq 0
if [ "$COMPARE" -ne 0 ]; then head -20 "$WORK/compare.out"; fi

# the sink with the wrong CA delivers nothing and says why
"$TRAIL_BIN/trail" sinks --store "$WORK/store" >"$WORK/sinks.txt"
check_grep "trail sinks lists the badca sink with a certificate error" \
    '^badca +syslog +0 .*certificate' "$WORK/sinks.txt"
check_grep "trail sinks shows the tcp sink with lag 0" "^tcp +syslog +$LAST +0 " "$WORK/sinks.txt"
check "badca delivered nothing" test "$(grep -c . "$RS/tls.json")" -eq 11
check_eq "tlsip delivered the 11 acme events" "$(grep -c acme_badge_swiped "$RS/tlsip.json")" 11
check "badca lag is a metric" wait_metric "$URL" "trail_sink_lag_events\\{sink=\"badca\",type=\"syslog\"\\} [1-9]"
check "badca is down" wait_metric "$URL" "trail_sink_up\\{sink=\"badca\",type=\"syslog\"\\} 0"

# rsyslog stops; events keep coming in (ingest does not wait); rsyslog returns; the sink catches up
# (the first rsyslogd is this shell's child: wait reaps it, so it is gone)
RS_PID=$(cat "$RS/rsyslogd.pid")
kill "$RS_PID"
wait "$RS_PID" 2>/dev/null
for i in $(seq 1 5); do
    printf '{"id":"acme_badge_swiped","attrs":{"duser":"late%d"}}\n' "$i"
done >"$WORK/late.ndjson"
http_post "$URL/v1/events" "$WORK/late.ndjson" application/x-ndjson >/dev/null
check_eq "events accepted while rsyslog is down" "$(cat "$WORK/http.code")" 200
check "tcp sink is down while rsyslog is" wait_metric "$URL" \
    "trail_sink_up\\{sink=\"tcp\",type=\"syslog\"\\} 0"
rsyslogd -n -f "$RS/rsyslog.conf" -i "$RS/rsyslogd.pid" >>"$RS/rsyslogd.log" 2>&1 &
RSYSLOGD=$!
EXTRA_PIDS="$EXTRA_PIDS $RSYSLOGD"
LAST2=$(store_last)
check "tcp sink catches up to seq $LAST2" wait_cursor tcp "$LAST2"
# rsyslog writes asynchronously: the last one written means the four before it are
wait_for 60 grep -q "duser=\\\\\"late5\\\\\"" "$RS/tcp.json"
for i in $(seq 1 5); do
    check "late$i reached rsyslog after the outage" grep -q "duser=\\\\\"late$i\\\\\"" "$RS/tcp.json"
done

stop_traild
kill "$RSYSLOGD" 2>/dev/null
wait "$RSYSLOGD" 2>/dev/null
finish
