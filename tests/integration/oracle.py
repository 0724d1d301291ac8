#!/usr/bin/env python3
"""oracle.py - the tests' own answer to a search or a count, by brute force.

A test gives it the NDJSON it generated (and imported or posted) and the
same filters it gives trail; it selects the events with a plain loop that
implements docs/query.md's filter semantics on its own, without trail's
query engine, so that an answer of `trail query`, `trail count`,
GET /v1/events, GET /v1/count or the viewer can be checked against it.

    oracle.py [--catalog FILE]... [--after DUMP] events [FILTERS] INPUT...
    oracle.py ... count [FILTERS] [--by KEYS] INPUT...
    oracle.py ... check-events ANSWER [FILTERS] INPUT...   # prints "ok" or why not
    oracle.py ... check-count ANSWER [FILTERS] [--by KEYS] INPUT...

INPUT: NDJSON events in the order they were stored; an event without a
"seq" gets the next one (an import into an empty store numbers them 1, 2,
...). --after DUMP adds the events of DUMP (NDJSON with seqs, e.g. a dump of
the store) whose seq is past the inputs': what traild and the test wrote
after the generated events. --catalog FILE: `trail events --format json`
(and --own): attribute types; without it JSON numbers are ints, JSON
booleans bools, and strings strings.

FILTERS as trail spells them: --since/--until (absolute times only: a
relative time would read a clock), --event GLOBS, --severity EXPR, --where
K=V|K!=V|K^=P, --text WORDS, --order newest|oldest|time|-time, --limit N (0: all, the
default here).

`events` prints the selected input events (with their seq) as NDJSON;
`count` prints {"by","total","rows"} like trail count --format json, rows
in time order when the first group is hour or day, otherwise largest
first (ties by keys). check-events compares an answer (NDJSON, or a JSON
object with "events") event by event: seq, id, time, severity, host and
attributes. check-count compares the total and the rows as a set, and the
order of the rows that docs/query.md promises.
"""
import argparse
import ipaddress
import json
import re
import sys
from collections import Counter
from datetime import datetime, timezone

SEVERITIES = {"TRACE": 1, "DEBUG": 2, "INFO": 3, "NOTICE": 4, "WARNING": 6, "ERROR": 7,
              "CRITICAL": 8, "ALERT": 9, "EMERGENCY": 10}
SEV_NAMES = {v: k for k, v in SEVERITIES.items()}
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def die(msg):
    print("oracle.py: " + msg, file=sys.stderr)
    sys.exit(2)


def time_us(text):
    """RFC 3339 with Z or an offset, 'T' or a space; a date alone is midnight UTC."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        text += "T00:00:00Z"
    if not re.search(r"(Z|[+-]\d{2}:\d{2})$", text):
        die("not an absolute time with Z or an offset: %r" % text)
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    d = dt - EPOCH
    return (d.days * 86400 + d.seconds) * 1000000 + d.microseconds


def time_text(us):
    s, u = divmod(us, 1000000)
    return datetime.fromtimestamp(s, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + ".%06dZ" % u


def glob_re(g):
    """An event glob (*, ?, [abc], [a-z], [!abc], [^abc]) as a regex; ids are lower-case."""
    out, i = "", 0
    g = g.lower()
    while i < len(g):
        c = g[i]
        if c == "*":
            out += ".*"
        elif c == "?":
            out += "."
        elif c == "[":
            j = g.index("]", i + 2)  # a ']' right after '[' (or '[!') is a member
            body = g[i + 1:j]
            neg = body[:1] in ("!", "^")
            if neg:
                body = body[1:]
            out += "[" + ("^" if neg else "") + body.replace("\\", "\\\\").replace("^", "\\^") + "]"
            i = j
        else:
            out += re.escape(c)
        i += 1
    return re.compile(out + r"\Z", re.S)


def sev_level(name):
    return int(name) if name.isdigit() else SEVERITIES[name.upper()]


def sev_range(expr):
    for op, lo, hi in ((">=", 0, None), ("<=", None, 0), (">", 1, None), ("<", None, -1), ("=", 0, 0)):
        if expr.startswith(op):
            v = sev_level(expr[len(op):])
            return (v + lo if lo is not None else 0, v + hi if hi is not None else 255)
    if ".." in expr:
        a, b = expr.split("..", 1)
        return (sev_level(a) if a else 0, sev_level(b) if b else 255)
    v = sev_level(expr)
    return (v, v)


class Catalog:
    def __init__(self, files):
        self.types = {}
        for f in files:
            for d in json.load(open(f)):
                self.types[d["id"]] = {a["key"]: a["type"] for a in d["attrs"]}

    def type_of(self, ev_id, key, value):
        t = self.types.get(ev_id, {}).get(key)
        if t:
            return t
        if isinstance(value, bool):
            return "bool"
        return "int" if isinstance(value, int) else "string"


def ip_text(a):
    """An address as trail writes it (docs/query.md): RFC 5952, and an IPv6
    address whose first 80 bits are zero and next 16 are ffff (IPv4-mapped,
    ::ffff:192.0.2.1) or whose first 96 bits are zero and next 16 are not
    (IPv4-compatible, ::1.2.3.4) with its last 32 bits as a dotted quad, as
    inet_ntop(3) does. Python's own str() writes those in hex
    (::ffff:c000:201)."""
    if a.version == 6:
        b = a.packed
        if b[:10] == bytes(10) and (b[10:12] == b"\xff\xff" or
                                    (b[10:12] == bytes(2) and b[12:14] != bytes(2))):
            tail = str(ipaddress.IPv4Address(b[12:]))
            return ("::ffff:" if b[10:12] == b"\xff\xff" else "::") + tail
    return str(a)


def text_form(typ, v):
    """An attribute value's text form: what ^= and --text see."""
    if typ == "bool":
        return "true" if v else "false"
    if typ == "ip":
        return ip_text(ipaddress.ip_address(v))
    if typ == "time":
        return time_text(time_us(v))
    return str(v)


def is_word_byte(b):
    return (0x30 <= b <= 0x39) or (0x41 <= b <= 0x5A) or (0x61 <= b <= 0x7A) or b >= 0x80


def ascii_lower(bs):
    return bytes(b + 32 if 0x41 <= b <= 0x5A else b for b in bs)


def text_has(item, value):
    """item (lower-cased bytes) occurs in value at word boundaries, ignoring ASCII case."""
    s = ascii_lower(value.encode())
    at = s.find(item)
    while at >= 0:
        before_ok = not is_word_byte(item[0]) or at == 0 or not is_word_byte(s[at - 1])
        end = at + len(item)
        after_ok = not is_word_byte(item[-1]) or end == len(s) or not is_word_byte(s[end])
        if before_ok and after_ok:
            return True
        at = s.find(item, at + 1)
    return False


def where_eq(typ, attr, value):
    if typ == "ip":
        a = ipaddress.ip_address(attr)
        try:
            if "/" in value:
                return a in ipaddress.ip_network(value, strict=True)
            return a == ipaddress.ip_address(value)
        except ValueError:
            return False
    if "/" in value:
        try:  # a network matches only IP attributes
            ipaddress.ip_network(value, strict=True)
            return False
        except ValueError:
            pass
    if typ == "int":
        return re.fullmatch(r"[+-]?\d+", value) is not None and int(value) == attr
    if typ == "bool":
        return value == ("true" if attr else "false")
    if typ == "time":
        try:
            return time_us(value) == time_us(attr)
        except (ValueError, SystemExit):
            return False
    return attr == value


class Query:
    def __init__(self, a, catalog):
        self.cat = catalog
        self.since = time_us(a.since) if a.since else None
        self.until = time_us(a.until) if a.until else None
        self.globs = [glob_re(g) for e in a.event for g in e.split(",")]
        self.sev = sev_range(a.severity) if a.severity else (0, 255)
        self.wheres = []
        for w in a.where:
            m = re.fullmatch(r"([^=!^]+)(!=|\^=|=)(.*)", w, re.S)
            if not m:
                die("bad --where %r" % w)
            self.wheres.append(m.groups())
        # items are split at spaces, tabs and line breaks only, as query.c
        # does (str.split() would also split at \v, \f and Unicode spaces)
        self.texts = [ascii_lower(item.encode()) for t in a.text
                      for item in re.split(r"[ \t\n\r]+", t) if item]

    def match(self, e):
        t = time_us(e["time"])
        if self.since is not None and t < self.since:
            return False
        if self.until is not None and t >= self.until:
            return False
        if not self.sev[0] <= e["severity"] <= self.sev[1]:
            return False
        if self.globs and not any(g.match(e["id"]) for g in self.globs):
            return False
        attrs = e.get("attrs", {})
        for key, op, value in self.wheres:
            have = key in attrs
            typ = self.cat.type_of(e["id"], key, attrs.get(key)) if have else None
            if op == "^=":
                hit = have and text_form(typ, attrs[key]).startswith(value)
            else:
                hit = have and where_eq(typ, attrs[key], value)
            if hit != (op != "!="):
                return False
        words = [text_form(typ, v) for k, v in attrs.items()
                 for typ in [self.cat.type_of(e["id"], k, v)] if typ != "time"]
        return all(any(text_has(item, w) for w in words) for item in self.texts)


def load(inputs, after):
    evs = []
    for f in inputs:
        for line in open(f, encoding="utf-8"):
            if line.strip():
                e = json.loads(line)
                e.setdefault("seq", len(evs) + 1)
                evs.append(e)
    if after:
        last = evs[-1]["seq"] if evs else 0
        evs += [e for e in (json.loads(l) for l in open(after, encoding="utf-8") if l.strip())
                if e["seq"] > last]
    return evs


def select(a, evs):
    q = Query(a, Catalog(a.catalog))
    out = [e for e in evs if q.match(e)]
    if a.order in ("time", "-time"):
        # event time, ties by seq (docs/query.md, "Order, limit and paging")
        out.sort(key=lambda e: (time_us(e["time"]), e["seq"]), reverse=(a.order == "-time"))
    else:
        out.sort(key=lambda e: e["seq"], reverse=(a.order == "newest"))
    return out[:a.limit] if a.limit else out


def group_key(a, cat, e, by):
    if by == "event":
        return e["id"]
    if by == "severity":
        return SEV_NAMES.get(e["severity"], str(e["severity"]))
    if by in ("hour", "day"):
        t = time_us(e["time"]) // 1000000
        t -= t % (3600 if by == "hour" else 86400)
        dt = datetime.fromtimestamp(t, timezone.utc)
        return dt.strftime("%Y-%m-%dT%H:00:00Z" if by == "hour" else "%Y-%m-%d")
    v = e.get("attrs", {}).get(by)
    return None if v is None else text_form(cat.type_of(e["id"], by, v), v)


def count(a, evs):
    by = a.by.split(",") if a.by else []
    cat = Catalog(a.catalog)
    sel = select(a, evs)
    c = Counter(tuple(group_key(a, cat, e, b) for b in by) for e in sel)
    keyed = lambda kv: tuple("" if k is None else k for k in kv[0])
    if by and by[0] in ("hour", "day"):
        rows = sorted(c.items(), key=keyed)
    else:
        rows = sorted(c.items(), key=lambda kv: (-kv[1],) + keyed(kv))
    return {"by": by, "total": len(sel),
            "rows": [{"keys": list(k), "count": n} for k, n in rows] if by else []}


def comparable(e):
    return {"seq": e["seq"], "id": e["id"], "time": time_us(e["time"]), "severity": e["severity"],
            "host": e.get("host"), "attrs": e.get("attrs", {})}


def check_events(a, evs):
    text = open(a.answer, encoding="utf-8").read()
    if text.lstrip().startswith("{") and '"events"' in text.split("\n", 1)[0]:
        got = json.loads(text)["events"]
    elif text.lstrip().startswith("["):
        got = json.loads(text)
    else:
        got = [json.loads(l) for l in text.splitlines() if l.strip()]
    want = select(a, evs)
    if not want:
        return "the oracle selects no event: the comparison would prove nothing"
    if [e["seq"] for e in got] != [e["seq"] for e in want]:
        gs, ws = [e["seq"] for e in got], [e["seq"] for e in want]
        first = next((i for i in range(min(len(gs), len(ws))) if gs[i] != ws[i]), min(len(gs), len(ws)))
        return "%d events, want %d; first difference at #%d: seq %s, want %s" % (
            len(gs), len(ws), first, gs[first] if first < len(gs) else "-",
            ws[first] if first < len(ws) else "-")
    for g, w in zip(got, want):
        if comparable(g) != comparable(w):
            return "seq %d differs: %s, want %s" % (w["seq"], json.dumps(comparable(g)),
                                                    json.dumps(comparable(w)))
    return "ok"


def check_count(a, evs):
    got = json.load(open(a.answer, encoding="utf-8"))
    want = count(a, evs)
    if want["total"] == 0:
        return "the oracle counts no event: the comparison would prove nothing"
    if got.get("total") != want["total"]:
        return "total %s, want %d" % (got.get("total"), want["total"])
    if want["by"]:
        g = Counter({tuple(r["keys"]): r["count"] for r in got["rows"]})
        w = Counter({tuple(r["keys"]): r["count"] for r in want["rows"]})
        if len(got["rows"]) != len(g) or g != w:
            diff = sorted(set(g.items()) ^ set(w.items()), key=str)[:4]
            return "%d rows, want %d; differing (keys, count): %s" % (len(got["rows"]), len(w), diff)
        firsts = [r["keys"][0] for r in got["rows"]]
        counts = [r["count"] for r in got["rows"]]
        if want["by"][0] in ("hour", "day"):
            if firsts != sorted(firsts):
                return "rows not in time order"
        elif counts != sorted(counts, reverse=True):
            return "rows not largest first"
    return "ok"


def main():
    p = argparse.ArgumentParser(description="brute-force answers to trail's searches and counts")
    p.add_argument("--catalog", action="append", default=[])
    p.add_argument("--after")
    p.add_argument("what", choices=["events", "count", "check-events", "check-count"])
    p.add_argument("rest", nargs=argparse.REMAINDER)
    a = p.parse_args()
    q = argparse.ArgumentParser(prog="oracle.py " + a.what)
    if a.what.startswith("check-"):
        q.add_argument("answer")
    for opt in ("--since", "--until", "--severity", "--by"):
        q.add_argument(opt)
    for opt in ("--event", "--where", "--text"):
        q.add_argument(opt, action="append", default=[])
    q.add_argument("--order", choices=["newest", "oldest", "time", "-time"], default="newest")
    q.add_argument("--limit", type=int, default=0)
    q.add_argument("inputs", nargs="+")
    b = q.parse_args(a.rest)
    b.catalog, b.after = a.catalog, a.after
    evs = load(b.inputs, b.after)
    if a.what == "events":
        for e in select(b, evs):
            print(json.dumps(e, ensure_ascii=False))
    elif a.what == "count":
        print(json.dumps(count(b, evs)))
    elif a.what == "check-events":
        print(check_events(b, evs))
    else:
        print(check_count(b, evs))


if __name__ == "__main__":
    main()
