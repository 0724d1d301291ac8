#!/usr/bin/env python3
"""detect_oracle.py - a brute-force re-implementation of trail's correlation
windows (docs/rules.md, "Windows"), independent of lib/detect/, to check
`trail rules test` against: random event_count and value_count correlations
(random thresholds, bounds, windows, group-by keys and selections) over
random events, in arrival order with some out of time order, and the alerts
each correlation raises counted by both.

The semantics re-implemented, per correlation and group: a group's window
holds the matches whose time is within timespan of the latest time the group
has seen; a match older than that is too late and not counted; the
condition is checked as each match enters and a window that fires starts
over. value_count counts the distinct values of its field, an event without
the field not counted at all. Events are kept under 1024 per correlation,
below the engine's sweep of empty groups.

Usage: detect_oracle.py TRAIL WORKDIR SEED... ; prints "ok"/"FAIL" lines and
ends with "N passed, N failed" (exit 1 on a failure).
"""
import json
import random
import subprocess
import sys

IDS = ["auth_entrypoints_oidc_auth_failed", "auth_entrypoints_saml_auth_failed", "prism_user_locked"]
USERS = ["alice", "bob", "carol", "dave", "erin", "Alice"]
SRCS = ["192.0.2.1", "192.0.2.2", "198.51.100.7", "203.0.113.9"]
FIELDS = ["duser", "src", "host"]


def gen_events(rng, n):
    t = 1795000000  # 2026-11-18, pinned
    out = []
    for i in range(n):
        t += rng.randint(0, 40)
        et = t - rng.randint(0, 400) if rng.random() < 0.1 else t  # some arrive late
        attrs = {"phxTraceId": "#%d" % i}
        if rng.random() < 0.9:
            attrs["duser"] = rng.choice(USERS)
        if rng.random() < 0.8:
            attrs["src"] = rng.choice(SRCS)
        ev = {"id": rng.choice(IDS), "seq": i + 1, "time": et, "host": rng.choice(["idp1", "idp2"]), "attrs": attrs}
        out.append(ev)
    return out


def field(ev, name):
    if name == "host":
        return ev["host"]
    return ev["attrs"].get(name)


def gen_rules(rng, k):
    rules = []
    for i in range(k):
        ids = rng.sample(IDS, rng.randint(1, 3))
        user_prefix = rng.choice([None, None, "a", "b", "c"])
        typ = rng.choice(["event_count", "value_count"])
        group = rng.sample(["duser", "src", "host"], rng.randint(0, 2))
        vfield = rng.choice([f for f in FIELDS if f not in group] or ["duser"]) if typ == "value_count" else None
        span = rng.choice([30, 60, 120, 300, 900])
        c = rng.choice(["gte", "gt", "eq", "range"])
        a = rng.randint(1, 6)
        cond = {"gte": {"gte": a}, "gt": {"gt": a}, "eq": {"eq": a}, "range": {"gte": a, "lte": a + rng.randint(0, 3)}}[c]
        rules.append(dict(n=i, ids=ids, prefix=user_prefix, type=typ, group=group, field=vfield, span=span, cond=cond))
    return rules


def rules_yaml(rules):
    docs = []
    for r in rules:
        sel = "    id: [%s]\n" % ", ".join(r["ids"])
        if r["prefix"]:
            sel += "    duser|startswith: %s\n" % r["prefix"]
        docs.append(
            "title: base %(n)d\nname: base%(n)d\nlogsource: {product: trail}\ndetection:\n  s:\n%(sel)s  condition: s\n"
            % dict(n=r["n"], sel=sel)
        )
        cond = dict(r["cond"])
        if r["field"]:
            cond["field"] = r["field"]
        docs.append(
            "title: corr %d\nname: corr%d\ncorrelation:\n  type: %s\n  rules: base%d\n  group-by: [%s]\n"
            "  timespan: %ds\n  condition: %s\n"
            % (r["n"], r["n"], r["type"], r["n"], ", ".join(r["group"]), r["span"], json.dumps(cond))
        )
    return "---\n".join(docs)


def holds(cond, n):
    return all(
        {"gt": n > v, "gte": n >= v, "lt": n < v, "lte": n <= v, "eq": n == v}[op]
        for op, v in cond.items()
        if op != "field"
    )


def matches(r, ev):
    if ev["id"] not in r["ids"]:
        return False
    if r["prefix"]:
        u = ev["attrs"].get("duser")
        return u is not None and u.lower().startswith(r["prefix"])  # Sigma: any case
    return True


def oracle(rules, events):
    counts = {}
    for r in rules:
        groups = {}  # key -> {"max": t, "win": [(t, value)]}
        fired = 0
        for ev in events:
            if not matches(r, ev):
                continue
            v = None
            if r["field"]:
                v = field(ev, r["field"])
                if v is None:
                    continue
            key = tuple(field(ev, g) or "" for g in r["group"])
            g = groups.setdefault(key, {"max": None, "win": []})
            t = ev["time"]
            g["max"] = t if g["max"] is None else max(g["max"], t)
            if t < g["max"] - r["span"]:
                continue
            g["win"] = [(x, y) for (x, y) in g["win"] if x >= g["max"] - r["span"]]
            g["win"].append((t, v))
            n = len(g["win"]) if r["type"] == "event_count" else len({y for (_, y) in g["win"]})
            if holds(r["cond"], n):
                fired += 1
                g["win"] = []
        counts["corr%d" % r["n"]] = fired
    return counts


def iso(t):
    import datetime

    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def main():
    trail, work, seeds = sys.argv[1], sys.argv[2], sys.argv[3:]
    passed = failed = 0
    for seed in seeds:
        rng = random.Random(int(seed))
        events = gen_events(rng, 600)
        rules = gen_rules(rng, 12)
        rpath, epath = "%s/oracle%s.yml" % (work, seed), "%s/oracle%s.ndjson" % (work, seed)
        with open(rpath, "w") as f:
            f.write(rules_yaml(rules))
        with open(epath, "w") as f:
            for ev in events:
                o = dict(ev, time=iso(ev["time"]))
                f.write(json.dumps(o) + "\n")
        p = subprocess.run([trail, "rules", "test", rpath, "--events", epath, "--format", "json"],
                           capture_output=True, text=True)
        if p.returncode != 0:
            print("FAIL seed %s: trail rules test exited %d: %s" % (seed, p.returncode, p.stderr.strip()))
            failed += 1
            continue
        got = {"corr%d" % r["n"]: 0 for r in rules}
        for line in p.stdout.splitlines():
            got[json.loads(line)["rule"]] += 1
        want = oracle(rules, events)
        total = sum(want.values())
        if got == want and total > 0:
            print("ok   seed %s: %d alerts from 12 random correlations agree with the brute force" % (seed, total))
            passed += 1
        else:
            diff = {k: (got[k], want[k]) for k in want if got[k] != want[k]}
            print("FAIL seed %s: (trail, oracle) differ: %s (total %d)" % (seed, diff, total))
            failed += 1
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
