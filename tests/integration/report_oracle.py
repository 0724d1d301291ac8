#!/usr/bin/env python3
"""report_oracle.py - the tests' own figures for a report, by brute force.

    report_oracle.py --catalog FILE --now TIME REPORT_FILE ANSWER INPUT...

REPORT_FILE is a report definition (docs/reports.md), read here with a
reader of its own; ANSWER is `trail report run NAME --format json --now
TIME` of that report over a store into which INPUT (NDJSON, in the order
stored) was imported. Each section's range is resolved here, in Python's
calendar, and its events selected and counted by oracle.py (docs/query.md's
rules by a plain loop, not trail's engine). Prints one line per section
("ok TITLE: N events" or "FAIL TITLE: why") and a last line "ok" or "FAIL".
"""
import argparse
import json
import os
import sys
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_time(text):
    text = text.strip()
    if len(text) == 10:
        text += "T00:00:00Z"
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def period_start(p, now, back):
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if p == "week":
        return day - timedelta(days=day.weekday() + 7 * back)
    months = {"month": 1, "quarter": 3, "year": 12}[p]
    m = day.year * 12 + day.month - 1
    m = m - m % months - months * back
    return datetime(m // 12, m % 12 + 1, 1, tzinfo=timezone.utc)


def resolve(rng, now):
    """[since, until) as datetimes, None where open"""
    if ".." in rng:
        a, b = (x.strip() for x in rng.split("..", 1))
        return (parse_time(a) if a else None, parse_time(b) if b else None)
    if rng == "all":
        return (None, None)
    if rng.startswith("last "):
        n = rng[5:]
        return (now - timedelta(seconds=int(n[:-1]) * UNITS[n[-1]]), now)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if rng == "today":
        return (day, now)
    if rng == "yesterday":
        return (day - timedelta(days=1), day)
    which, p = rng.split()
    if which == "this":
        return (period_start(p, now, 0), now)
    return (period_start(p, now, 1), period_start(p, now, 0))


def read_report(path):
    """the report's keys and its sections, each a list of (key, value)"""
    head, sections = [], []
    last = None
    for line in open(path, encoding="utf-8"):
        s = line.strip()
        if not s or s[0] in ";#" or s.startswith("["):
            continue
        if line[0] in " \t" and "=" not in s:
            (sections[-1] if sections else head).append((last, s))
            continue
        k, v = (x.strip() for x in s.split("=", 1))
        last = k
        if k in ("count", "events"):
            sections.append([(k, v)])
        elif sections and k not in ("title", "category", "description"):
            sections[-1].append((k, v))
        else:
            head.append((k, v))
    return dict(head), sections


def fmt(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def check_section(sec, report_range, now, got, evs, catalog):
    kind, title = sec[0]
    keys = dict(sec[1:])
    rng = keys.get("range", report_range)
    since, until = resolve(rng, now)
    a = argparse.Namespace(catalog=catalog, since=fmt(since) if since else None,
                           until=fmt(until) if until else None, severity=keys.get("severity"),
                           by=keys.get("by"), event=[], where=[], text=[],
                           order=keys.get("order", "newest"), limit=0)
    for k, v in sec[1:]:
        if k == "event":
            a.event += [g.strip() for g in v.split(",") if g.strip()]
        elif k in ("where", "text"):
            getattr(a, k).append(v)
    if got.get("title") != title or got.get("kind") != kind:
        return "FAIL %s: the answer's section is %r (%s)" % (title, got.get("title"), got.get("kind"))
    if got.get("since") != (fmt(since) if since else None) or \
       got.get("until") != (fmt(until) if until else None):
        return "FAIL %s: range %s..%s, want %s..%s" % (title, got.get("since"), got.get("until"),
                                                       since, until)
    limit = int(keys.get("limit", 100 if kind == "events" else 0))
    if kind == "events":
        a.limit = limit
        want = [e["seq"] for e in oracle.select(a, evs)]
        have = [e["seq"] for e in got["events"]]
        if have != want:
            return "FAIL %s: seqs %s..., want %s..." % (title, have[:5], want[:5])
        a.limit = 0
        more = len(oracle.select(a, evs)) > limit > 0
        if got.get("more") != more:
            return "FAIL %s: more %s, want %s" % (title, got.get("more"), more)
        return "ok %s: %d events" % (title, len(want))
    want = oracle.count(a, evs)
    if got["total"] != want["total"]:
        return "FAIL %s: total %d, want %d" % (title, got["total"], want["total"])
    rows = want["rows"]
    if got["groups"] != len(rows):
        return "FAIL %s: %d groups, want %d" % (title, got["groups"], len(rows))
    shown = rows[:limit] if limit else rows
    wanted = {tuple(r["keys"]): r["count"] for r in rows}
    for r in got["rows"]:
        if wanted.get(tuple(r["keys"])) != r["count"]:
            return "FAIL %s: %s counted %d, want %s" % (title, r["keys"], r["count"],
                                                       wanted.get(tuple(r["keys"])))
    # the same top counts (rows of equal count may come in either order at the cut)
    if sorted(r["count"] for r in got["rows"]) != sorted(r["count"] for r in shown):
        return "FAIL %s: the rows shown are not the largest %d" % (title, len(shown))
    if a.by and a.by.split(",")[0] in ("hour", "day"):
        firsts = [r["keys"][0] for r in got["rows"]]
        if firsts != sorted(firsts):
            return "FAIL %s: rows not in time order" % title
    return "ok %s: %d events in %d groups" % (title, want["total"], len(rows))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--catalog", action="append", default=[])
    p.add_argument("--now", required=True)
    p.add_argument("report")
    p.add_argument("answer")
    p.add_argument("inputs", nargs="+")
    a = p.parse_args()
    head, sections = read_report(a.report)
    got = json.load(open(a.answer, encoding="utf-8"))
    evs = oracle.load(a.inputs, None)
    now = parse_time(a.now)
    lines = []
    if len(got["sections"]) != len(sections):
        lines.append("FAIL %d sections, want %d" % (len(got["sections"]), len(sections)))
    for sec, g in zip(sections, got["sections"]):
        lines.append(check_section(sec, head.get("range", "last 7d"), now, g, evs, a.catalog))
    print("\n".join(lines))
    print("FAIL" if any(l.startswith("FAIL") for l in lines) else "ok")


if __name__ == "__main__":
    main()
