#!/usr/bin/env python3
"""unit_sandbox_check.py UNIT STRACE_LOG PROGRAM - would systemd's sandbox of
UNIT have let PROGRAM do what strace saw it do?

Where systemd does not run, the unit's filters cannot be tried; what the
program did under `strace -f -o STRACE_LOG` (from its execve on: what came
before is the service manager's work) is held against them instead:

  SystemCallFilter=           every system call is in the allow list, the
                              unit's groups expanded by `systemd-analyze
                              syscall-filter`, less each ~ line's groups
  RestrictAddressFamilies=    every socket() family is listed
  MemoryDenyWriteExecute=yes  no mapping both writable and executable, no
                              mprotect() to executable

Prints each breach and exits 1 if any, else prints what was checked.
Only the paths the run took are covered (tests/integration/package.sh).
"""
import re
import subprocess
import sys

unit, log, program = sys.argv[1:4]


def groups():
    out = subprocess.run(["systemd-analyze", "syscall-filter"], capture_output=True,
                         text=True).stdout
    g, cur = {}, None
    for line in out.splitlines():
        if line.startswith("@"):
            cur = g.setdefault(line.strip(), set())
        elif cur is not None and line.strip() and not line.strip().startswith("#"):
            cur.add(line.strip())
    return g


def expand(names, g, seen=None):
    seen = set() if seen is None else seen
    out = set()
    for n in names:
        if n.startswith("@"):
            if n not in seen:
                seen.add(n)
                out |= expand(g.get(n, ()), g, seen)
        else:
            out.add(n)
    return out


allowed, denied, families, mdwe = None, set(), None, False
for line in open(unit):
    key, _, value = line.strip().partition("=")
    if key == "SystemCallFilter":
        g = groups()
        if value.startswith("~"):
            denied |= expand(value[1:].split(), g)
        else:
            allowed = (allowed or set()) | expand(value.split(), g)
    elif key == "RestrictAddressFamilies":
        families = set(value.split())
    elif key == "MemoryDenyWriteExecute":
        mdwe = value in ("yes", "true", "1")

calls, seen_fams, breaches, started = set(), set(), [], False
call_re = re.compile(r"^\d+ +(?:<\.\.\. )?(\w+)(\(| resumed>)")
for line in open(log, errors="replace"):
    if not started:
        started = re.search(r'execve\("' + re.escape(program) + r'",.*\) = 0', line) is not None
        continue
    m = call_re.match(line)
    if not m:
        continue
    name = m.group(1)
    calls.add(name)
    if name == "socket" and m.group(2) == "(":
        fam = line.split("(", 1)[1].split(",", 1)[0]
        seen_fams.add(fam)
        if families is not None and fam not in families:
            breaches.append("RestrictAddressFamilies: " + line.strip())
    # mmap(addr, len, PROT, ...), mprotect(addr, len, PROT)
    args = line.split(",")
    prot = args[2] if len(args) > 2 else ""
    if mdwe and "PROT_EXEC" in prot and (
            name in ("mprotect", "pkey_mprotect") or (name == "mmap" and "PROT_WRITE" in prot)):
        breaches.append("MemoryDenyWriteExecute: " + line.strip())

if not started:
    print("no execve of %s in %s" % (program, log))
    sys.exit(1)
if allowed is not None:
    for c in sorted(calls):
        if c not in allowed or c in denied:
            breaches.append("SystemCallFilter: %s is not allowed" % c)
for b in breaches:
    print(b)
print("%d system calls (%s), socket families %s: %d outside the unit's sandbox"
      % (len(calls), " ".join(sorted(calls)), " ".join(sorted(seen_fams)), len(breaches)))
sys.exit(1 if breaches else 0)
