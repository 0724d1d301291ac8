#!/usr/bin/env python3
"""report_oracle.py - the tests' own figures for a report, by brute force.

    report_oracle.py --catalog FILE --now TIME [--store DIR] REPORT_FILE ANSWER INPUT...

REPORT_FILE is a report definition (docs/reports.md), read here with a
reader of its own; ANSWER is `trail report run NAME --format json --now
TIME` of that report over a store into which INPUT (NDJSON, in the order
stored) was imported. With --store DIR, the sinks and checkpoints sections
are figured here from the store's own files (DIR/sinks/*.cursor and *.error,
DIR/checkpoints, read by this script's own readers; the store's last seq is
the number of input events); without it, those sections must be empty. Each section's range is resolved here, in Python's
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
        if k in ("count", "events", "sinks", "checkpoints"):
            sections.append([(k, v)])
        elif sections and k not in ("title", "category", "description"):
            sections[-1].append((k, v))
        else:
            head.append((k, v))
    return dict(head), sections


def fmt(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def us_time(us):
    return fmt(datetime.fromtimestamp(us // 1000000, tz=timezone.utc) + timedelta(microseconds=us % 1000000))


def us_of(dt):
    return None if dt is None else int((dt - datetime(1970, 1, 1, tzinfo=timezone.utc)) / timedelta(microseconds=1))


def store_id(store):
    """the store's id: bytes 16..31 of store.meta (docs/format.md)"""
    with open(os.path.join(store, "store.meta"), "rb") as fh:
        return fh.read(32)[16:32].hex()


def want_sinks(store, last_seq, limit):
    """the sinks section from DIR/sinks: (summary, rows) as docs/reports.md says"""
    rows, max_lag = [], 0
    sd = os.path.join(store, "sinks") if store else None
    for f in sorted(os.listdir(sd)) if sd and os.path.isdir(sd) else []:
        if not f.endswith(".cursor") or len(f) <= 7:
            continue
        lines = open(os.path.join(sd, f), encoding="utf-8", errors="replace").read().split("\n")
        kv = dict(l.split(" ", 1) for l in lines if " " in l)
        if "trail-sink-cursor/1" not in lines or "seq" not in kv:
            continue  # not a cursor: `trail sinks` skips it too
        name = f[:-7]
        err = {}
        if os.path.exists(os.path.join(sd, name + ".error")):
            err = dict(l.rstrip("\n").split(" ", 1) for l in open(os.path.join(sd, name + ".error")) if " " in l)
        seq = int(kv["seq"])
        row = {"sink": name, "type": kv.get("type", ""), "cursor": seq, "lag": None,
               "delivered": int(kv.get("delivered", 0)),
               "updated": us_time(int(kv["time"])) if int(kv.get("time", 0)) else None,
               "last_error": err.get("error"),
               "last_error_time": us_time(int(err["time"])) if int(err.get("time", 0)) else None}
        if kv.get("store", "") != store_id(store):
            row["last_error"] = ("cursor of another store: it belongs to store %s, not this one (%s); "
                                 "traild starts this sink afresh" % (kv.get("store") or "(none)", store_id(store)))
        elif seq > last_seq:
            row["last_error"] = "cursor past the end of the store"
        else:
            row["lag"] = last_seq - seq
            max_lag = max(max_lag, row["lag"])
        rows.append(row)
    summary = {"sinks": len(rows), "max_lag": max_lag, "last_seq": last_seq}
    return summary, rows[:limit] if limit else rows


def want_checkpoints(store, last_seq, since, until, limit):
    """the checkpoints section from DIR/checkpoints, by splitting its lines"""
    lines = []
    path = os.path.join(store, "checkpoints") if store else None
    if path and os.path.exists(path):
        text = open(path, encoding="utf-8").read()
        lines = text.split("\n")[:-1]  # a last line without its newline is not a checkpoint
    cps, bad = [], 0
    for l in lines:
        f = l.split(" ")
        if len(f) != 8 or f[0] not in ("trail-checkpoint/1", "trail-checkpoint/2"):
            bad += 1
            continue
        cps.append({"time": int(f[5]), "tree_size": int(f[2]), "key_id": f[6], "root": f[3]})
    lo, hi = us_of(since), us_of(until)
    inp = [c for c in cps if (lo is None or c["time"] >= lo) and (hi is None or c["time"] < hi)]
    gaps = [b["time"] - a["time"] for a, b in zip(inp, inp[1:])]
    latest = max(cps, key=lambda c: c["time"]) if cps else None
    summary = {"checkpoints": len(inp),
               "first_size": inp[0]["tree_size"] if inp else None,
               "last_size": inp[-1]["tree_size"] if inp else None,
               "longest_gap_s": max(gaps) // 1000000 if gaps else None,
               "latest": us_time(latest["time"]) if latest else None,
               "not_covered": max(0, last_seq - latest["tree_size"]) if latest else None,
               "unreadable_lines": bad}
    rows = [dict(c, time=us_time(c["time"])) for c in reversed(inp)]
    return summary, rows[:limit] if limit else rows


def check_state(kind, title, keys, since, until, got, store, last_seq):
    limit = int(keys.get("limit", 10 if kind == "checkpoints" else 0))
    if kind == "sinks":
        summary, rows = want_sinks(store, last_seq, limit)
    else:
        summary, rows = want_checkpoints(store, last_seq, since, until, limit)
    if got.get("summary") != summary:
        return "FAIL %s: summary %s, want %s" % (title, got.get("summary"), summary)
    if got.get("rows") != rows:
        return "FAIL %s: rows %s, want %s" % (title, got.get("rows"), rows)
    return "ok %s: %d %s, %d rows" % (title, summary[kind], kind, len(rows))


def check_section(sec, report_range, now, got, evs, catalog, store=None):
    kind, title = sec[0]
    keys = dict(sec[1:])
    rng = keys.get("range", report_range)
    since, until = resolve(rng, now)
    if kind == "sinks":
        if got.get("title") != title or got.get("kind") != kind or got.get("range") != "now":
            return "FAIL %s: the answer's section is %r (%s)" % (title, got.get("title"), got.get("kind"))
        if got.get("since") is not None or got.get("until") != fmt(now):
            return "FAIL %s: a sinks section is as of now, not %s..%s" % (title, got.get("since"), got.get("until"))
        return check_state(kind, title, keys, None, None, got, store, len(evs))
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
    if kind == "checkpoints":
        return check_state(kind, title, keys, since, until, got, store, len(evs))
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
    p.add_argument("--store", help="the store's directory: its sinks and checkpoints")
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
        lines.append(check_section(sec, head.get("range", "last 7d"), now, g, evs, a.catalog, a.store))
    print("\n".join(lines))
    print("FAIL" if any(l.startswith("FAIL") for l in lines) else "ok")


if __name__ == "__main__":
    main()
