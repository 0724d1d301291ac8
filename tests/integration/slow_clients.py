#!/usr/bin/env python3
"""slow_clients.py - many slow connections to traild from many loopback
addresses, for security_connections.sh.

    slow_clients.py HTTP_PORT TCP_PORT COUNT SECONDS STATUS_FILE

COUNT connections to the HTTP port that send a request head one byte every
3 s and never finish it (slowloris), and COUNT connections to the syslog TCP
port that send nothing, each from one of many addresses of 127.0.0.0/8
(8 connections an address, from 127.0.1.1 on for HTTP and 127.0.64.1 on for
syslog). A connection that traild closes is opened again, as an attacker
would; new connections are opened at most RATE a second (a test's load is
bounded; see security_connections.sh). Besides, one greedy address
(127.0.200.1) tries GREEDY connections to each port, more than
connections_per_peer allows.

STATUS_FILE gets "ready" once every connection has been tried once, and at
the end one line of counts: open now, opened, closed by traild, refused.
Runs SECONDS and stops by itself.
"""
import errno
import selectors
import socket
import sys
import time

RATE = 500  # new connections a second, at most
PER_ADDR = 8
GREEDY = 100
TRICKLE_S = 3.0
HEAD = b"GET /v1/catalog HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 4000

http_port, tcp_port, count, seconds, status = (
    int(sys.argv[1]),
    int(sys.argv[2]),
    int(sys.argv[3]),
    float(sys.argv[4]),
    sys.argv[5],
)
IP_BIND_ADDRESS_NO_PORT = 24  # linux: pick the port at connect, per destination


def addr(base, i):
    k = i // PER_ADDR
    return "127.0.%d.%d" % (base + k // 250, k % 250 + 1)


# the slots: (kind, source address); kind "http" trickles, "tcp" stays silent
slots = []
for i in range(count):
    slots.append(("http", addr(1, i)))
for i in range(count):
    slots.append(("tcp", addr(64, i)))
for i in range(GREEDY):
    slots.append(("http", "127.0.200.1"))
    slots.append(("tcp", "127.0.200.1"))

sel = selectors.DefaultSelector()
conns = {}  # slot index -> [socket, bytes sent, next send time, connected]
todo = list(range(len(slots)))  # slots to (re)open
stats = {"opened": 0, "closed": 0, "refused": 0}
ready = False
start = time.monotonic()
budget, last = 0.0, start
next_scan = start


def close(i, counted):
    s = conns.pop(i)[0]
    sel.unregister(s)
    s.close()
    if counted:
        stats[counted] += 1
    todo.append(i)


def open_slot(i):
    kind, src = slots[i]
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
    s.bind((src, 0))
    s.setblocking(False)
    r = s.connect_ex(("127.0.0.1", http_port if kind == "http" else tcp_port))
    if r not in (0, errno.EINPROGRESS):
        s.close()
        stats["refused"] += 1
        todo.append(i)
        return
    conns[i] = [s, 0, time.monotonic(), False]
    sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, i)


while time.monotonic() - start < seconds:
    now = time.monotonic()
    budget = min(RATE, budget + (now - last) * RATE)
    last = now
    while todo and budget >= 1:
        budget -= 1
        open_slot(todo.pop(0))
    if not ready and stats["opened"] + stats["refused"] >= len(slots) - 10:
        ready = True
        with open(status, "w") as f:
            f.write("ready\n")
    for key, ev in sel.select(timeout=0.05):
        i = key.data
        c = conns.get(i)
        if c is None:
            continue
        s = c[0]
        if not c[3]:
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                close(i, "refused")
                continue
            c[3] = True
            stats["opened"] += 1
            sel.modify(s, selectors.EVENT_READ, i)
            continue
        try:
            data = s.recv(4096)
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        if not data:  # traild closed it (refused at once, timed out or gave way)
            close(i, "closed")
    now = time.monotonic()
    if now < next_scan:
        continue
    next_scan = now + 0.5
    for i, c in list(conns.items()):
        if c[3] and slots[i][0] == "http" and now >= c[2] and c[1] < len(HEAD):
            try:
                c[1] += c[0].send(HEAD[c[1] : c[1] + 1])
            except OSError:
                close(i, "closed")
                continue
            c[2] = now + TRICKLE_S

with open(status, "a") as f:
    f.write(
        "open %d opened %d closed %d refused %d\n"
        % (sum(1 for c in conns.values() if c[3]), stats["opened"], stats["closed"], stats["refused"])
    )
for c in conns.values():
    c[0].close()
