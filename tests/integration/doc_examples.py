#!/usr/bin/env python3
"""doc_examples.py - find the shell examples of trail's documentation and
write, per source, a bash script that runs each one as a check (run by
doc_examples.sh, which starts the traild they talk to; not a test itself:
ctest runs *.sh only).

What counts as an example:
  * Markdown (README.md, docs/*.md): fenced ``` / ```sh / ```bash / ```console
    blocks and 4-space-indented blocks whose first line is a command (a known
    program, a path to one, or an assignment); every logical line of such a
    block (continued with a trailing backslash) is one example. In a console
    block, lines starting with "$ " are commands and the lines after one are
    its expected output (compared exactly unless they contain "...").
    A ```c block is compiled against libtrail and run; a ```python block
    after "Save it as `NAME`" is saved as NAME for the examples after it.
  * man pages (docs/man/*.[1-8]): the .nf/.fi blocks, unescaped.
  * hints: the "Try next" lines that `make run` (scripts/run-daemon.sh and
    scripts/run-demo.sh) printed, given as a captured output file.

A trailing comment says what an example is meant to do:
  # ... exit N ...        it exits with status N
  # rejected ... / # refused ...
                          traild refuses it (an HTTP status >= 400, or a
                          rejected event counted in traild's /metrics)
Otherwise an example must exit 0 and traild must reject nothing it sent.

Usage: doc_examples.py OUTDIR RUNROOT HTTP_PORT SYSLOG_PORT TRAILD_PID SOURCE...
  where SOURCE is a file of the source tree, or hints:NAME=FILE for a
  captured "Try next" output. Writes OUTDIR/NN.sh per source and prints one
  line per script: "NN.sh SOURCE RUNDIR RUN SKIPPED", tab-separated.
"""
import os
import re
import sys

# The first word of a line that makes a block a block of commands.
PROGRAMS = {
    "trail", "traild", "curl", "logger", "make", "openssl", "cp", "mkdir", "mv", "rm",
    "set", "printf", "{", "kill", "cc", "python3", "cd", "jq", "tail", "cat", "echo",
    "valgrind", "ln", "ls", "grep", "sed", "awk", "sha256sum", "base64", "timeout",
}

# The explicit skip list: examples that cannot run inside a test, and why.
# Each rule is (reason, regex over the command); a skipped example is printed.
SKIPS = [
    ("a synopsis, not a command (optional parts in [ ])",
     re.compile(r"\[-|\[[A-Z]+\]")),
    ("the build and test loop itself (make test runs this harness; make run is "
     "scripts/run-daemon.sh, whose hints are checked)",
     re.compile(r"^(make\b|cd build && ctest\b)")),
    ("a benchmark: minutes long, with builds of its own (make bench runs it)",
     re.compile(r"^(\w+=\S+\s+)*(bench/|build(-\w+)?/bench/|valgrind\b)")),
    ("a second traild in the foreground (the harness runs one; traild -t is checked)",
     re.compile(r"^traild\b(?!.*\s-(t|V|h)\b)")),
    ("opens a web browser", re.compile(r"^open\s")),
]

# Commands that follow forever: run for a few seconds under timeout(1).
FOLLOW = re.compile(r"(^|\s)(tail\b.*\s-f\b|trail tail\b.*\s-f\b|curl -N\b)")


def sq(s):
    """s as one single-quoted shell word"""
    return "'" + s.replace("'", "'\\''") + "'"


def comment_of(cmd):
    """the trailing comment of a logical line (text after an unquoted ' #')"""
    q = None
    for i, c in enumerate(cmd):
        if q:
            if c == q:
                q = None
            elif c == "\\" and q == '"':
                continue
        elif c in "'\"":
            q = c
        elif c == "#" and (i == 0 or cmd[i - 1] in " \t"):
            return cmd[i + 1:].strip()
    return ""


def is_command_start(line):
    words = line.split()
    if not words:
        return False
    w = words[0]
    if len(words) > 1 and words[1].endswith(":"):
        return False  # "trail import: ..." is a message, not a command
    if re.match(r"^[A-Za-z_][A-Za-z_0-9]*=", w):
        return True  # an assignment: root=$4, leaf=$(...)
    if w in PROGRAMS or w.startswith(("build/", "bench/", "build-", "./")):
        return True
    return False


def logical_lines(lines):
    """[(offset, text)]: lines joined where one ends in a backslash"""
    out, cur, start = [], [], 0
    for i, l in enumerate(lines):
        if not cur:
            start = i
        cur.append(l)
        if not l.rstrip().endswith("\\"):
            out.append((start, "\n".join(cur)))
            cur = []
    if cur:
        out.append((start, "\n".join(cur)))
    return out


def markdown_blocks(path):
    """[(kind, first line number, lines, extra)] of a Markdown file"""
    lines = open(path, encoding="utf-8").read().split("\n")
    blocks = []
    i = 0
    prev_text = ""
    while i < len(lines):
        m = re.match(r"^(\s*)```(\w*)\s*$", lines[i])
        if m:
            indent, lang = len(m.group(1)), m.group(2)
            j = i + 1
            body = []
            while j < len(lines) and not re.match(r"^\s*```\s*$", lines[j]):
                body.append(lines[j][indent:] if lines[j][:indent].strip() == "" else lines[j])
                j += 1
            if lang in ("", "sh", "bash", "shell", "console"):
                blocks.append(("shell", i + 2, body, None))
            elif lang == "c":
                blocks.append(("c", i + 2, body, None))
            elif lang == "python":
                s = re.search(r"[Ss]ave it as `([^`]+)`", prev_text)
                if s:
                    blocks.append(("save", i + 2, body, s.group(1)))
            i = j + 1
            prev_text = ""
            continue
        if lines[i].startswith("    ") and lines[i].strip() and (i == 0 or not lines[i - 1].strip()):
            base = len(lines[i]) - len(lines[i].lstrip())
            j = i
            body = []
            while j < len(lines) and (not lines[j].strip() or
                                      len(lines[j]) - len(lines[j].lstrip()) >= base):
                body.append(lines[j][base:])
                j += 1
            # blank lines part an indented block into blocks of their own: a
            # synopsis and the option list under it are not one command block
            part, start = [], i + 1
            for k, l in enumerate(body + [""]):
                if l.strip():
                    if not part:
                        start = i + 1 + k
                    part.append(l)
                elif part:
                    blocks.append(("shell", start, part, None))
                    part = []
            i = j
            continue
        # the text since the last block: where "Save it as `NAME`" is said
        if lines[i].strip():
            prev_text = (prev_text + " " + lines[i]) if prev_text else lines[i]
        i += 1
    return blocks


def roff_unescape(s):
    s = s.replace("\\-", "-").replace("\\(aq", "'").replace("\\(em", "-")
    s = re.sub(r"\\f[BIRP]", "", s)
    s = s.replace("\\&", "").replace("\\e", "\\")
    return s


def man_blocks(path):
    lines = open(path, encoding="utf-8").read().split("\n")
    blocks = []
    i = 0
    while i < len(lines):
        if lines[i].strip() == ".nf":
            j = i + 1
            body = []
            while j < len(lines) and lines[j].strip() != ".fi":
                body.append(roff_unescape(lines[j]))
                j += 1
            blocks.append(("shell", i + 2, body, None))
            i = j
        i += 1
    return blocks


def hint_blocks(path):
    """the indented lines after "Try next" in a captured `make run` output"""
    lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
    blocks = []
    on = False
    for n, l in enumerate(lines, 1):
        if l.startswith("Try next"):
            on = True
            continue
        if on and l.startswith("  "):
            blocks.append(("shell", n, [l.strip()], None))
        elif on and l.strip():
            on = False
    # join continuations across the one-line blocks
    joined = []
    for b in blocks:
        if joined and joined[-1][2][-1].rstrip().endswith("\\"):
            joined[-1][2].append("     " + b[2][0])
        else:
            joined.append(b)
    return joined


class Rewriter:
    """the fixed paths and addresses of the docs, as a user would change them"""

    def __init__(self, run, http, syslog, traild_pid):
        self.rules = [
            (re.compile(r"127\.0\.0\.1:8080"), "127.0.0.1:%s" % http),
            (re.compile(r"\b5514\b"), str(syslog)),
            # absolute paths are taken under the run's own root
            (re.compile(r"(?<![\w.:/$-])/(tmp|var|etc|somewhere)/"), run + r"/\1/"),
            (re.compile(r"(?<=\s)DIR(?=[\s)]|$)"), run + "/var/lib/trail"),
            (re.compile(r"\$\(pidof traild\)"), str(traild_pid)),
        ]

    def __call__(self, s):
        for rx, to in self.rules:
            s = rx.sub(to, s)
        return s


def emit_shell(out, src, first, body, rewrite, counts, hints=False):
    stripped = [l for l in body if l.strip()]
    if not stripped:
        return
    console = stripped[0].startswith("$ ")
    if not console and not hints and not is_command_start(stripped[0]):
        return
    items = []  # (line number, command, expected output or None)
    if console:
        for k, l in enumerate(body):
            if l.startswith("$ "):
                items.append([first + k, l[2:], []])
            elif items and l.strip():
                items[-1][2].append(l)
    else:
        for off, text in logical_lines(body):
            if not text.strip() or text.strip().startswith("#"):
                continue
            items.append([first + off, text, None])
    for line, cmd, want_out in items:
        where = "%s:%d" % (src, line)
        shown = " ".join(cmd.split())
        for reason, rx in SKIPS:
            if rx.search(cmd):
                out.write("__skip %s %s %s\n" % (sq(where), sq(reason), sq(shown)))
                counts["skip"] += 1
                break
        else:
            com = comment_of(cmd.split("\n")[-1])
            m = re.search(r"\bexit (?:status )?(\d+)\b", com)
            want = m.group(1) if m else "-"
            refused = 1 if re.match(r"(rejected|refused)\b", com) else 0
            run = rewrite(cmd) if rewrite else cmd
            follow = 1 if FOLLOW.search(cmd) else 0
            if follow:
                run = "timeout -k 5 3 " + run  # -k: a process that ignores TERM (or hangs in a sanitizer's exit) is killed
            if want_out is not None and want_out and not any("..." in l for l in want_out):
                out.write("__want_output <<'__TRAIL_DOC_EOF__'\n%s\n__TRAIL_DOC_EOF__\n" %
                          "\n".join(want_out))
            out.write("__ex %s %s %s %d %d %s\n" % (sq(where), want if want != "-" else "0",
                                                    "1" if m else "0", refused, follow, sq(shown)))
            # every status of the last pipeline: a failure inside it counts too
            out.write("{\n%s\n__PS=(\"${PIPESTATUS[@]}\")\n} </dev/null >\"$__OUT\" 2>&1\n"
                      "__done \"${__PS[@]}\"\n" % run)
            counts["run"] += 1


def main():
    outdir, runroot, http, syslog, pid = sys.argv[1:6]
    os.makedirs(outdir, exist_ok=True)
    for n, source in enumerate(sys.argv[6:], 1):
        name = "%02d.sh" % n
        run = os.path.join(runroot, "%02d" % n)
        if source.startswith("hints:"):
            label, path = source[6:].split("=", 1)
            blocks, rewrite = hint_blocks(path), None
        else:
            path = source
            m = re.search(r"(docs/.*)$", source)
            label = m.group(1) if m else os.path.basename(source)
            blocks = man_blocks(path) if re.search(r"\.[1-8]$", path) else markdown_blocks(path)
            rewrite = Rewriter(run, http, syslog, pid)
        counts = {"run": 0, "skip": 0}
        with open(os.path.join(outdir, name), "w") as out:
            out.write("# the examples of %s\ncd %s\n" % (label, sq(run + "/root")))
            for kind, first, body, extra in blocks:
                if kind == "shell":
                    emit_shell(out, label, first, body, rewrite, counts, rewrite is None)
                elif kind == "c":
                    out.write("__c_example %s <<'__TRAIL_DOC_EOF__'\n%s\n__TRAIL_DOC_EOF__\n" %
                              (sq("%s:%d" % (label, first)), "\n".join(body)))
                    counts["run"] += 1
                elif kind == "save":
                    out.write("cat > %s <<'__TRAIL_DOC_EOF__'\n%s\n__TRAIL_DOC_EOF__\n" %
                              (sq(extra), "\n".join(body)))
        print("\t".join([name, label, run, str(counts["run"]), str(counts["skip"])]))


if __name__ == "__main__":
    main()
