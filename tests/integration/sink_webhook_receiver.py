#!/usr/bin/env python3
"""sink_webhook_receiver.py - a misbehaving HTTP receiver for the webhook sink tests.

Usage: sink_webhook_receiver.py PORTFILE OUTDIR [--fail-every N] [--hang-every M]
                                [--hang-s S] [--auth 'Name: value'] [--port P]
                                [--tls CERT KEY]

Listens on 127.0.0.1 on port P, or a free one (written to PORTFILE once listening);
with --tls, serves HTTPS with that certificate and key.
Every POST is numbered from 1. Request number k:
  - k % N == 0: answers 503 and keeps nothing (a failure the sink must retry);
  - k % M == 0: keeps the lines, then waits S seconds before answering 200
    (longer than the sink's timeout: the sink gives up and sends them again,
    so the receiver sees duplicates that it must deduplicate by uuid);
  - a wrong or missing auth header: 401, nothing kept;
  - otherwise keeps the lines and answers 200.
Kept lines go to OUTDIR/PATH.ndjson (PATH the request path without '/'),
one request's log line per request to OUTDIR/requests.log:
  "k path status lines idempotency-key first-seq last-seq".
Not a test itself (ctest runs *.sh only).
"""
import argparse
import http.server
import os
import socketserver
import ssl
import sys
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("portfile")
ap.add_argument("outdir")
ap.add_argument("--fail-every", type=int, default=0)
ap.add_argument("--hang-every", type=int, default=0)
ap.add_argument("--hang-s", type=float, default=3.0)
ap.add_argument("--auth", default="")
ap.add_argument("--port", type=int, default=0)
ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), help="serve HTTPS")
args = ap.parse_args()

lock = threading.Lock()
count = [0]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def answer(self, status, text=b""):
        self.send_response(status)
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        with lock:
            count[0] += 1
            k = count[0]
        path = self.path.strip("/").replace("/", "_") or "root"
        lines = [l for l in body.decode("utf-8").split("\n") if l]
        status = 200
        if args.auth:
            name, value = args.auth.split(":", 1)
            if self.headers.get(name.strip()) != value.strip():
                status = 401
        if status == 200 and args.fail_every and k % args.fail_every == 0:
            status = 503
        hang = status == 200 and args.hang_every and k % args.hang_every == 0
        with lock:
            if status == 200:
                with open(os.path.join(args.outdir, path + ".ndjson"), "a") as f:
                    for l in lines:
                        f.write(l + "\n")
            with open(os.path.join(args.outdir, "requests.log"), "a") as f:
                f.write("%d %s %d %d %s %s %s%s\n" % (
                    k, path, status, len(lines), self.headers.get("Idempotency-Key"),
                    self.headers.get("X-Trail-First-Seq"), self.headers.get("X-Trail-Last-Seq"),
                    " hang" if hang else ""))
        if hang:
            time.sleep(args.hang_s)
        try:
            self.answer(status, b"busy\n" if status == 503 else b"")
        except (BrokenPipeError, ConnectionResetError):
            pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


srv = Server(("127.0.0.1", args.port), Handler)
if args.tls:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.tls[0], args.tls[1])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(args.portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(args.portfile + ".tmp", args.portfile)
try:
    srv.serve_forever()
except KeyboardInterrupt:
    sys.exit(0)
