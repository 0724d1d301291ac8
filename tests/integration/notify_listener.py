#!/usr/bin/env python3
"""notify_listener.py SOCKET OUT - stand in for systemd's notification socket.

Binds a Unix datagram socket at SOCKET (mode 0666, so that a service run as
another user can send to it, as to systemd's), and appends each message that
arrives to OUT as one line, its assignments joined by " | " (READY=1 |
STATUS=...). Runs until killed. For the tests of traild under a Type=notify
unit (daemon_notify.sh, package.sh), on machines where systemd does not run.
"""
import os
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
with open(out, "a", buffering=1) as f:
    while True:
        msg = s.recv(65536).decode("utf-8", "replace")
        f.write(" | ".join(msg.split("\n")) + "\n")
