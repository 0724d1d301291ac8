#!/usr/bin/env python3
"""layers.py - the parts of lib/ and daemon/ include only the parts below them.

A part is a folder: lib/<part>/ or daemon/<part>/. Its dependencies are
declared once, in the CMake file that builds it:
  lib/CMakeLists.txt     trail_part(NAME BELOW...)
  daemon/CMakeLists.txt  traild_part(NAME BELOW...)
Every `#include "..."` in a part's .c and .h files is resolved to the part
that holds the header. The check fails on
  - an include of a part that is not declared below (directly or through
    another part), which is how a layer is climbed;
  - a cycle in the declared graph itself;
  - a header that no part holds.
It prints the graph it found, one `part -> parts` line each.

With a build directory, it checks the objects too: a call through the
public header (trail.h) is invisible to the includes, so every symbol a
lib part's objects use from another part (nm) must come from a part below.

Usage: layers.py SOURCE_DIR [BUILD_DIR]
"""
import os, re, sys

import subprocess

root = sys.argv[1] if len(sys.argv) > 1 else '.'
build = sys.argv[2] if len(sys.argv) > 2 else None
failures = []

def declared(cmake_file, fn):
    deps = {}
    text = open(cmake_file).read()
    for m in re.finditer(r'^\s*%s\(([^)]*)\)' % fn, text, re.M):
        words = m.group(1).split()
        deps[words[0]] = set(words[1:])
    return deps

def closure(deps):
    """every part each part may reach; a part reaching itself is a cycle"""
    reach = {}
    for p in deps:
        seen, todo = set(), list(deps[p])
        while todo:
            q = todo.pop()
            if q in seen:
                continue
            seen.add(q)
            todo.extend(deps.get(q, ()))
        if p in seen:
            failures.append('cycle: %s reaches itself through %s' % (p, ' '.join(sorted(seen))))
        reach[p] = seen
    return reach

def scan(top, deps, outside):
    """outside: {include prefix: allowed} for headers of other trees (lib parts from daemon)"""
    reach = closure(deps)
    used = {}
    for part in sorted(deps):
        d = os.path.join(root, top, part)
        if not os.path.isdir(d):
            failures.append('%s/%s: declared but not there' % (top, part))
            continue
        for name in sorted(os.listdir(d)):
            if not name.endswith(('.c', '.h')):
                continue
            path = os.path.join(d, name)
            for n, line in enumerate(open(path, errors='replace'), 1):
                m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                if not m:
                    continue
                inc = m.group(1)
                where = '%s/%s/%s:%d' % (top, part, name, n)
                if '/' not in inc:
                    if inc == 'trail.h' or os.path.exists(os.path.join(d, inc)):
                        continue
                    failures.append('%s: "%s" is in no part (name its folder)' % (where, inc))
                    continue
                first = inc.split('/')[0]
                if first in deps and os.path.exists(os.path.join(root, top, inc)):
                    if first != part:
                        used.setdefault(part, set()).add(first)
                        if first not in reach[part]:
                            failures.append('%s: includes "%s", but %s is not below %s' %
                                            (where, inc, first, part))
                    continue
                if first in outside and os.path.exists(os.path.join(root, outside[first], inc)):
                    continue
                failures.append('%s: "%s" is in no part' % (where, inc))
    for part in sorted(deps):
        print('%s/%s -> %s' % (top, part, ' '.join(sorted(used.get(part, ()))) or '-'))

lib = declared(os.path.join(root, 'lib', 'CMakeLists.txt'), 'trail_part')
scan('lib', lib, {})
daemon = declared(os.path.join(root, 'daemon', 'CMakeLists.txt'), 'traild_part')
# what daemon parts may include from lib/: its parts, and the folders built as
# libraries of their own beside libtrail (lib/detect: its own CMakeLists.txt)
libs = {p: 'lib' for p in lib}
for d in os.listdir(os.path.join(root, 'lib')):
    if os.path.exists(os.path.join(root, 'lib', d, 'CMakeLists.txt')):
        libs[d] = 'lib'
scan('daemon', daemon, libs)

def objects(top, prefix, deps):
    """the symbols each part's objects define and use"""
    defs, uses = {}, {}
    for part in deps:
        d = os.path.join(build, top, 'CMakeFiles', '%s_%s.dir' % (prefix, part))
        objs = [os.path.join(dp, f) for dp, _, fs in os.walk(d) for f in fs if f.endswith('.o')]
        if not objs:
            failures.append('%s: no objects of %s/%s' % (d, top, part))
            continue
        out = subprocess.run(['nm', '--defined-only', '-g'] + objs, capture_output=True,
                             text=True).stdout
        defs[part] = {l.split()[-1] for l in out.splitlines() if len(l.split()) == 3}
        out = subprocess.run(['nm', '-u'] + objs, capture_output=True, text=True).stdout
        uses[part] = {l.split()[-1] for l in out.splitlines() if l.strip().startswith('U ')}
    reach = closure(deps)
    owner = {s: p for p, ss in defs.items() for s in ss}
    for part in sorted(uses):
        for sym in sorted(uses[part]):
            other = owner.get(sym)
            if other and other != part and other not in reach[part]:
                failures.append('%s/%s uses %s of %s/%s, which is not below it' %
                                (top, part, sym, top, other))

if build:
    objects('lib', 'trail', lib)
    objects('daemon', 'traild', daemon)

for f in failures:
    print('FAIL', f)
print('%d passed, %d failed' % (0 if failures else 1, len(failures)))
sys.exit(1 if failures else 0)
