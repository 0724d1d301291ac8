#!/usr/bin/env python3
"""query_backends.py - the same random searches and counts through trail's three
sources (--store, --url, --clickhouse) on the same events, each answer checked
against oracle.py's brute force (never against another source), cursors
included: a search is also read in pages, each page continuing with the
cursor the previous one printed.

    query_backends.py N SEED CATALOG INPUT DUMP -- SOURCE-ARGS...   (3 sources, '--' between)

Prints one line per failure and "N passed, N failed" at the end.
"""
import json
import os
import random
import subprocess
import sys
from types import SimpleNamespace

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

TRAIL = os.path.join(os.environ["TRAIL_BIN"], "trail")


def args_of(f):
    out = []
    for k in ("since", "until", "severity"):
        if f.get(k):
            out += ["--" + k, f[k]]
    for k in ("event", "where", "text"):
        for v in f.get(k, []):
            out += ["--" + k, v]
    return out


def ns(f, order="newest", limit=0, by=None):
    return SimpleNamespace(since=f.get("since"), until=f.get("until"), severity=f.get("severity"),
                           event=f.get("event", []), where=f.get("where", []),
                           text=f.get("text", []), order=order, limit=limit, by=by,
                           catalog=[CATALOG])


def random_filters(rng, evs):
    f = {}
    e = rng.choice(evs)
    attrs = e.get("attrs", {})
    kinds = rng.sample(["since", "event", "severity", "where", "text", "net", "prefix", "ne"],
                       rng.randint(1, 3))
    if "since" in kinds:
        a, b = sorted(rng.sample([x["time"] for x in evs], 2))
        f["since"], f["until"] = a, b
        if a == b:
            del f["until"]
    if "event" in kinds:
        i = e["id"]
        f["event"] = [rng.choice([i[:rng.randint(1, len(i))] + "*", "*" + i[-rng.randint(1, 6):],
                                  "[a-m]*", "?" + i[1:], i.replace("_", "?", 1)])]
    if "severity" in kinds:
        f["severity"] = rng.choice([">=WARNING", "NOTICE..ERROR", "<NOTICE", "INFO", ">NOTICE"])
    strs = [(k, v) for k, v in attrs.items() if isinstance(v, str) and v]
    if "where" in kinds and strs:
        k, v = rng.choice(strs)
        f.setdefault("where", []).append("%s=%s" % (k, v))
    if "ne" in kinds and "duser" in attrs:
        f.setdefault("where", []).append("duser!=%s" % attrs["duser"])
    if "prefix" in kinds and strs:
        k, v = rng.choice(strs)
        f.setdefault("where", []).append("%s^=%s" % (k, v[:rng.randint(1, len(v))]))
    if "net" in kinds and "." in attrs.get("src", ""):
        bits = rng.choice([8, 12, 16, 24, 32])
        import ipaddress
        f.setdefault("where", []).append(
            "src=%s" % ipaddress.ip_network("%s/%d" % (attrs["src"], bits), strict=False))
    if "text" in kinds and strs:
        k, v = rng.choice(strs)
        words = [w for w in "".join(c if c.isalnum() else " " for c in v).split() if w]
        if words:
            f["text"] = [rng.choice(words).upper() if rng.random() < 0.3 else rng.choice(words)]
    return f


def run(source, args):
    p = subprocess.run([TRAIL] + args[:1] + source + args[1:], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def main():
    global CATALOG
    n, seed, CATALOG, inp, dump = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
    rest = sys.argv[6:]
    sources, cur = [], []
    for a in rest:
        if a == "--":
            sources.append(cur)
            cur = []
        else:
            cur.append(a)
    sources.append(cur)
    evs = oracle.load([inp], dump)
    rng = random.Random(seed)
    passed = failed = 0

    def verdict(ok, what):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print("FAIL " + what)

    orders = {}
    for i in range(n):
        f = random_filters(rng, evs)
        order = rng.choice(["newest", "oldest", "time", "-time"])
        orders[order] = orders.get(order, 0) + 1
        want = oracle.select(ns(f, order), evs)
        wseq = [e["seq"] for e in want]
        by = rng.choice(["event", "severity", "hour", "day,event", "duser", "src,severity"])
        wcount = oracle.count(ns(f, by=by), evs)
        page = rng.choice([7, 50, 1000])
        for src in sources:
            name = "%s #%d %s --order %s" % (src[0], i, json.dumps(args_of(f)), order)
            st, out, err = run(src, ["query"] + args_of(f) + ["--order", order, "--limit", "0",
                                                               "--format", "ndjson"])
            got = [json.loads(l) for l in out.splitlines() if l.strip()]
            bad = next((oracle.comparable(g) != oracle.comparable(w) for g, w in zip(got, want)
                        if oracle.comparable(g) != oracle.comparable(w)), False)
            verdict(st == 0 and [g["seq"] for g in got] == wseq and not bad,
                    "%s: status %d, %d events, want %d %s" % (name, st, len(got), len(want),
                                                             err.strip()[:300]))
            # the same in pages, each continuing with the cursor the last printed
            seqs, cursor, pages = [], None, 0
            while pages < 60:
                st, out, err = run(src, ["query"] + args_of(f) + [
                    "--order", order, "--limit", str(page), "--format", "ndjson"] +
                    (["--cursor", cursor] if cursor else []))
                pages += 1
                seqs += [json.loads(l)["seq"] for l in out.splitlines() if l.strip()]
                cursor = next((l.split("--cursor ")[1] for l in err.splitlines()
                               if "--cursor " in l), None)
                if st != 0 or not cursor:
                    break
            verdict(seqs == wseq[:page * 60], "%s: pages of %d: %d events, want %d %s" % (
                name, page, len(seqs), len(wseq), err.strip()[:300]))
            st, out, err = run(src, ["count"] + args_of(f) + ["--by", by, "--format", "json"])
            try:
                c = json.loads(out)
                same = c["total"] == wcount["total"] and sorted(
                    (json.dumps(r["keys"]), r["count"]) for r in c["rows"]) == sorted(
                    (json.dumps(r["keys"]), r["count"]) for r in wcount["rows"])
            except (ValueError, KeyError):
                same = False
            verdict(same, "%s: count --by %s: %s, want total %d %s" % (
                name, by, out.strip()[:200], wcount["total"], err.strip()[:200]))
    print("searches by order: " + ", ".join("%s %d" % kv for kv in sorted(orders.items())))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
