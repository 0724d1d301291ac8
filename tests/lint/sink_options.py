#!/usr/bin/env python3
"""sink_options.py - docs/sinks.md's option tables are the ones traild parses with.

`traild --sink-options-markdown` prints a table per section (the keys every
sink takes, then each type's), each between the markers

    <!-- sink-options SECTION: made by traild --sink-options-markdown -->
    ...
    <!-- /sink-options -->

made from the key tables of daemon/sinks/sink_conf.c and each sink's file.
The check fails when docs/sinks.md lacks a section or holds another text
between its markers (a key added, renamed, retyped or redocumented in the
code and not in the document, or the reverse); --write puts the made
tables in the document instead.

Usage: sink_options.py SOURCE_DIR BUILD_DIR [--write]
"""
import difflib, re, subprocess, sys

src, build = sys.argv[1], sys.argv[2]
write = '--write' in sys.argv[3:]
doc_path = src + '/docs/sinks.md'
made = subprocess.run([build + '/traild', '--sink-options-markdown'], capture_output=True,
                      text=True, check=True).stdout
block = re.compile(r'<!-- sink-options (\w+):[^\n]*-->\n.*?<!-- /sink-options -->', re.S)
want = {m.group(1): m.group(0) for m in block.finditer(made)}
doc = open(doc_path).read()
have = {m.group(1): m.group(0) for m in block.finditer(doc)}
failures = []
if not want:
    failures.append('traild --sink-options-markdown printed no table')
for name, text in want.items():
    if name not in have:
        failures.append('docs/sinks.md has no table of %s (its markers are missing)' % name)
    elif have[name] != text:
        if write:
            doc = doc.replace(have[name], text)
            continue
        diff = difflib.unified_diff(have[name].splitlines(), text.splitlines(),
                                    'docs/sinks.md (%s)' % name, 'traild (%s)' % name, lineterm='')
        failures.append('the table of %s differs from traild\'s:\n    %s' %
                        (name, '\n    '.join(diff)))
for name in have:
    if name not in want:
        failures.append('docs/sinks.md has a table of %s, which traild does not know' % name)
if write:
    open(doc_path, 'w').write(doc)
    failures = [f for f in failures if 'differs' not in f]
for name in sorted(want):
    if not any(name in f for f in failures):
        print('ok   docs/sinks.md: the table of %s' % name)
for f in failures:
    print('FAIL', f)
print('%d passed, %d failed' % (len(want) - len(failures) if len(want) >= len(failures) else 0,
                                len(failures)))
sys.exit(1 if failures else 0)
