#!/usr/bin/env bash
# output_safety.sh - event text cannot inject into what trail writes
# (issue 15, "Output injection"): an event whose values hold a terminal
# escape (ESC [2J), BEL, DEL, a C1 CSI, U+2028 and a line feed followed by a
# forged CEF line, and a spreadsheet formula, goes through
#   - the file sink (event.log): the file's bytes hold no raw ESC, BEL, DEL,
#     C1, U+2028 or extra line, and the values are there escaped;
#   - the syslog sink, octet-counted RFC 5424 and LF-framed CEF, to a
#     receiver that splits what it gets on LF: it never sees a line starting
#     with the forged "CEF:0|" nor any raw control character;
#   - trail export --format eventlog, trail query --format cef|eventlog|csv
#     and the default table: the same, and the CSV cell holding
#     =cmd|' /C calc'!A0 is written as '=cmd|' /C calc'!A0 inside quotes;
#   - traild's own log, which quotes what it refused from a syslog sender,
#     and trail sinks and /v1/sinks, which quote a SIEM's error answer.
source "$(dirname "$0")/daemon_common.bash"

# ---- a receiver that keeps the raw bytes of every TCP connection ----
cat >"$WORK/receiver.py" <<'PY'
import socket, sys, threading, time
portfile, out = sys.argv[1], sys.argv[2]
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(8)
lock = threading.Lock()
def serve(c):
    while True:
        b = c.recv(65536)
        if not b:
            return
        with lock, open(out, "ab") as f:
            f.write(b)
def accept():
    while True:
        c, _ = srv.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()
threading.Thread(target=accept, daemon=True).start()
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.getsockname()[1]))
import os
os.rename(portfile + ".tmp", portfile)
time.sleep(600)  # the test kills it long before; never outlives a forgotten run
PY
port_of() { # FILE: the port a helper wrote to FILE once it listened (waits for it)
    for _ in $(seq 1 400); do
        [ -s "$1" ] && break
        sleep 0.05
    done
    cat "$1"
}
start_receiver() { # NAME: starts it, sets RPORT
    python3 "$WORK/receiver.py" "$WORK/$1.port" "$WORK/$1.bytes" &
    EXTRA_PIDS="$EXTRA_PIDS $!"
    RPORT=$(port_of "$WORK/$1.port")
}
# ---- a SIEM that answers every POST with 500 and a terminal escape in its body ----
cat >"$WORK/hostile_http.py" <<'PY'
import http.server, os, sys, threading, time
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b"\x1b]0;owned\x07\x1b[2Jbusy\xc2\x9b31m\xe2\x80\xa8"
        self.send_response(500)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
threading.Thread(target=srv.serve_forever, daemon=True).start()
time.sleep(600)  # the test kills it long before
PY
python3 "$WORK/hostile_http.py" "$WORK/hook.port" &
EXTRA_PIDS="$EXTRA_PIDS $!"
HOOK_PORT=$(port_of "$WORK/hook.port")

start_receiver octet
OCTET_PORT=$RPORT
start_receiver lf
LF_PORT=$RPORT

HPORT=$(free_port)
SPORT=$(free_port)
URL=http://127.0.0.1:$HPORT
CONF=$WORK/traild.conf
cat >"$CONF" <<EOF
[store]
path = $WORK/store
fsync = always
[listen]
http = 127.0.0.1:$HPORT
syslog_udp = off
syslog_tcp = 127.0.0.1:$SPORT
[event acme_note]
severity = WARNING
description = A note was left.
schema = duser:string, note:string
[sink file]
type = file
dir = $WORK/files
events = acme_*
[sink octet]
type = syslog
transport = tcp
address = 127.0.0.1:$OCTET_PORT
events = acme_*
retry_min_ms = 50
retry_max_ms = 500
[sink hook]
type = webhook
url = http://127.0.0.1:$HOOK_PORT/events
events = acme_*
retry_min_ms = 50
retry_max_ms = 500
[sink lf]
type = syslog
transport = tcp
framing = lf
format = cef
address = 127.0.0.1:$LF_PORT
events = acme_*
retry_min_ms = 50
retry_max_ms = 500
EOF
start_traild "$CONF" || exit 1

# the hostile event: JSON escapes, so the request itself is plain ASCII
FORGED='CEF:0|PhenixID|PAS|6.0.0|core_server_run_stopped|FORGED|10|'
cat >"$WORK/events.ndjson" <<EOF
{"id":"acme_note","attrs":{"duser":"mallory\u001b[2J\u0007\u007f\u009b31m\u2028\u2029x\n$FORGED","note":"=cmd|' /C calc'!A0"}}
{"id":"acme_note","attrs":{"duser":"@SUM(A1)\r\n-2\t","note":"+1"}}
{"id":"acme_note","host":"=cmd|' /C calc'!A0","attrs":{"duser":"=cmd|' /C calc'!A0","note":"-2"}}
EOF
http_post "$URL/v1/events" "$WORK/events.ndjson" application/x-ndjson >/dev/null
check_eq "3 hostile events accepted" "$(cat "$WORK/http.code")" 200
LAST=$("$TRAIL_BIN/trail" stats --store "$WORK/store" --json | sed 's/.*"last_seq":\([0-9]*\).*/\1/')

for s in file octet lf; do
    check "$s sink cursor reaches seq $LAST" wait_cursor "$s" "$LAST"
done
# the receivers write what the kernel gave them; wait for both events' bytes
wait_bytes() { # FILE COUNT-OF-acme_note
    for _ in $(seq 1 400); do
        [ "$(grep -o acme_note "$1" 2>/dev/null | wc -l)" -ge "$2" ] && return 0
        sleep 0.05
    done
    return 1
}
check "octet receiver got both events" wait_bytes "$WORK/octet.bytes" 2
check "lf receiver got both events" wait_bytes "$WORK/lf.bytes" 2

# ---- the outputs from the CLI ----
"$TRAIL_BIN/trail" export --store "$WORK/store" --format eventlog >"$WORK/export.log"
"$TRAIL_BIN/trail" query --url "$URL" --event acme_note --format cef >"$WORK/query.cef"
"$TRAIL_BIN/trail" query --url "$URL" --event acme_note --format eventlog >"$WORK/query.eventlog"
"$TRAIL_BIN/trail" query --url "$URL" --event acme_note --format csv >"$WORK/query.csv"
"$TRAIL_BIN/trail" query --url "$URL" --event acme_note >"$WORK/query.table"
"$TRAIL_BIN/trail" query --url "$URL" --event acme_note --format ndjson >"$WORK/query.ndjson"

# one oracle for all: no raw control character, C1 or U+2028/9; lines as expected
python3 - "$WORK" <<'PY' >"$WORK/scan.out" 2>&1
import csv, glob, io, json, sys
w = sys.argv[1]
ok = bad = 0
def check(name, cond, detail=""):
    global ok, bad
    if cond:
        ok += 1
    else:
        bad += 1
        print("FAIL %s %s" % (name, detail))

def unsafe(b, allowed=b"\n"):
    """the first raw C0 (but the line ends), DEL, C1, U+2028/9, or invalid UTF-8 in b"""
    try:
        t = b.decode("utf-8")
    except UnicodeDecodeError as e:
        return "invalid UTF-8 at %d" % e.start
    for i, c in enumerate(t):
        o = ord(c)
        if (o < 0x20 and c.encode() not in allowed) or o == 0x7f or 0x80 <= o <= 0x9f \
                or o in (0x2028, 0x2029):
            return "U+%04X at %d" % (o, i)
    return None

files = glob.glob(w + "/files/*.log")
check("the file sink wrote one file", len(files) == 1, files)
outputs = {"file sink": files[0] if files else None,
           "trail export --format eventlog": w + "/export.log",
           "trail query --format cef": w + "/query.cef",
           "trail query --format eventlog": w + "/query.eventlog",
           "trail query --format csv": w + "/query.csv",
           "trail query (table)": w + "/query.table",
           "trail query --format ndjson": w + "/query.ndjson"}
for name, path in outputs.items():
    if not path:
        continue
    b = open(path, "rb").read()
    check(name + ": no raw control character", unsafe(b) is None, unsafe(b))
    lines = b.decode("utf-8", "replace").splitlines()  # splits at U+2028, \x1c, \x85 too
    acme = [l for l in lines if "acme_note" in l]
    check(name + ": one line per event", len(acme) == 3, len(acme))
    # every line is trail's own (a header, or an event's: acme_note); none is the forged one
    check(name + ": no forged line",
          not any("core_server_run_stopped" in l and "acme_note" not in l for l in lines), lines)
    if name != "trail query --format ndjson":
        check(name + ": the escape sequence is visible as text",
              "\\u001b[2J\\u0007\\u007f\\u009b31m\\u2028\\u2029" in b.decode(), b[:300])

# the syslog receivers split on LF, as a naive receiver does
for name in ("octet", "lf"):
    b = open("%s/%s.bytes" % (w, name), "rb").read()
    check(name + ": no raw control character but the LF framing",
          unsafe(b, b"\n" if name == "lf" else b"") is None, unsafe(b))
    pieces = b.split(b"\n")
    check(name + ": no piece split on LF starts with CEF:0|",
          not any(p.startswith(b"CEF:0|") for p in pieces), pieces)
    check(name + ": the forged line is inside the value, escaped",
          (b"x\\u000a" if name == "octet" else b"x\\n") +
          b"CEF:0|PhenixID|PAS|6.0.0|core_server_run_stopped|FORGED|10|" in b, b[:400])
    if name == "octet":
        check("octet: no LF at all in three octet-counted frames", b.count(b"\n") == 0,
              b.count(b"\n"))
    else:
        check("lf: three LF-framed messages", b.count(b"\n") == 3, b.count(b"\n"))

# CSV: a spreadsheet must not see a formula; one record per event
rows = list(csv.reader(io.StringIO(open(w + "/query.csv", encoding="utf-8").read())))
head = rows[0]
recs = [dict(zip(head, r)) for r in rows[1:]]
check("csv: three records", len(recs) == 3, len(recs))
attrs = [json.loads(r["attrs"]) for r in recs]
notes = {a["note"] for a in attrs}
check("csv: the formula is in the attrs JSON as sent", "=cmd|' /C calc'!A0" in notes, notes)
hosts = {r["host"] for r in recs}
check("csv: the host cell =cmd|' /C calc'!A0 is neutralised with a quote",
      "'=cmd|' /C calc'!A0" in hosts, hosts)
raw = open(w + "/query.csv", encoding="utf-8").read()
check("csv: the formula cell is quoted", "\"'=cmd|' /C calc'!A0\"" in raw)
check("csv: no cell starts with =, +, -, @",
      not any(c[:1] in ("=", "+", "-", "@") for r in rows for c in r), rows)
# the numbers trail writes itself stay numbers
check("csv: seq and severity untouched", all(r["seq"].isdigit() and r["severity"] == "6"
                                             for r in recs), recs)
print("scan: %d ok, %d bad" % (ok, bad))
sys.exit(1 if bad else 0)
PY
SCAN=$?
cat "$WORK/scan.out" | tail -15
check "every output keeps event text inert" test "$SCAN" -eq 0

# CSV cells of event text that start like a formula get a quote (OWASP); trail count --by
"$TRAIL_BIN/trail" count --url "$URL" --event acme_note --by duser --format csv >"$WORK/count.csv"
check_grep "count csv: the hostile duser is one escaped cell" \
    '^mallory\\u001b\[2J\\u0007\\u007f\\u009b31m\\u2028\\u2029x\\n' "$WORK/count.csv"
check_grep "count csv: =cmd formula written as '=cmd inside quotes" \
    "^\"'=cmd\\|' /C calc'!A0\",1$" "$WORK/count.csv"
check_grep "count csv: @SUM with CR LF TAB escaped and neutralised" \
    "^\"'@SUM\\(A1\\)\\\\r\\\\n-2\\\\u0009\",1$" "$WORK/count.csv"
check_eq "count csv: one line per key and a header" "$(wc -l <"$WORK/count.csv")" 4

# a sink's last error quotes the peer's answer: trail sinks shows it inert
for _ in $(seq 1 400); do
    grep -q busy "$WORK/store/sinks/hook.error" 2>/dev/null && break
    sleep 0.05
done
"$TRAIL_BIN/trail" sinks --store "$WORK/store" >"$WORK/sinks.txt"
"$TRAIL_BIN/trail" sinks --store "$WORK/store" --json >"$WORK/sinks.json"
curl -s "$URL/v1/sinks" >"$WORK/sinks.http"
for f in sinks.txt sinks.json sinks.http; do
    check "$f: the webhook's answer holds no raw ESC, BEL, C1 or U+2028" python3 -c '
import sys
b = open(sys.argv[1], "rb").read()
sys.exit(b"busy" not in b or any(x in b for x in (b"\x1b", b"\x07", b"\xc2\x9b", b"\xe2\x80\xa8")))' "$WORK/$f"
done
check_grep "trail sinks shows the answer escaped" '\\u001b\[2Jbusy\\u009b31m\\u2028' "$WORK/sinks.txt"

# trail's own error messages quote the input they refused: escaped too
printf '{"id":"acme\\u001b]0;owned\\u0007x","attrs":{}}\n' >"$WORK/bad.ndjson"
"$TRAIL_BIN/trail" import "$WORK/bad.ndjson" --store "$WORK/other" 2>"$WORK/import.err" >/dev/null
check_grep "trail import names the bad line" "bad.ndjson:1: " "$WORK/import.err"
check "trail import's message holds no raw ESC or BEL" python3 -c '
import sys
b = open(sys.argv[1], "rb").read()
sys.exit(b"\x1b" in b or b"\x07" in b or b"acme\\u001b]0;owned\\u0007x" not in b)' "$WORK/import.err"

# traild's own log quotes what it refused: one line, no raw escape sequence
python3 - "$SPORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b'<13>1 - h app - - [trail@32473 id="x\x1b]0;owned\x07\x1b[2J\xc2\x9b1m\xe2\x80\xa8y"] m\n')
s.close()
PY
for _ in $(seq 1 400); do
    grep -q "rejected from" "$WORK/traild.log" && break
    sleep 0.05
done
check_grep "traild logged the refused message" "syslog_tcp: rejected from" "$WORK/traild.log"
check "traild's log holds no raw ESC, BEL, C1 or U+2028" python3 -c '
import sys
b = open(sys.argv[1], "rb").read()
sys.exit(any(x in b for x in (b"\x1b", b"\x07", b"\xc2\x9b", b"\xe2\x80\xa8")))' "$WORK/traild.log"
check_grep "the refused id is shown escaped" 'x\\u001b\]0;owned\\u0007' "$WORK/traild.log"

stop_traild
finish
