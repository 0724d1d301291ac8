#!/usr/bin/env python3
"""gen.py - write the rule pack's test events: for each rule that alerts,
NAME.fires.ndjson (an attack that must fire it) and NAME.quiet.ndjson
(near misses and normal traffic that must fire nothing). Times are pinned
(2026-11-24 from 08:00 UTC), so the files are the same on any date.
tests/integration/rules_pack.sh runs `trail rules test rules/` over each.

Usage: python3 rules/tests/gen.py   (rewrites rules/tests/*.ndjson)
"""
import datetime
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
BASE = datetime.datetime(2026, 11, 24, tzinfo=datetime.timezone.utc)
T0 = 8 * 3600  # seconds after BASE


def ts(sec):
    t = BASE + datetime.timedelta(seconds=T0 + sec)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def ev(sec, eid, own=False, **attrs):
    o = {"id": eid, "time": ts(sec), "host": "idp1", "attrs": attrs}
    if own:  # as traild stores trail's own records (and `trail export` prints them)
        o["input"] = "trail"
        o["origin"] = "trail"
    return o


def client(n):
    return {"phxTraceId": "#t%06d" % n}


def oidc_failed(sec, user, src, n):
    return ev(sec, "auth_entrypoints_oidc_auth_failed", duser=user, src=src,
              phxEntrypointId="oidc1", phxEntrypointType="OIDC", reason="bad password",
              **client(n))


def bankid_failed(sec, user, src, n):
    """one failed sign-in that logs two failures, the authenticator's and the entrypoint's,
    under one correlation id (the pack counts it once)"""
    return [ev(sec, "auth_authenticators_bankid_failed", duser=user, src=src,
               reason="user cancelled", **client(n)),
            ev(sec + 1, "auth_entrypoints_oidc_auth_failed", duser=user, src=src,
               phxEntrypointId="oidc1", phxEntrypointType="OIDC", reason="user cancelled",
               **client(n))]


def write(name, kind, events):
    with open(os.path.join(HERE, "%s.%s.ndjson" % (name, kind)), "w") as f:
        for e in events:
            f.write(json.dumps(e, separators=(",", ":")) + "\n")


# password guessing: 10 failures of alice within 5 minutes
write("password_guessing", "fires",
      [oidc_failed(20 * i, "alice", "192.0.2.10", i) for i in range(10)])
# 9 within 5 minutes; 10 spread over 50 minutes; 10 users failing once each from 10 sources;
# 9 sign-ins within 5 minutes that log two failures each (18 events, 9 sign-ins)
write("password_guessing", "quiet",
      [oidc_failed(20 * i, "alice", "192.0.2.10", i) for i in range(9)] +
      [oidc_failed(600 + 300 * i, "bob", "192.0.2.11", 100 + i) for i in range(10)] +
      [oidc_failed(4000 + i, "user%d" % i, "198.51.100.%d" % i, 200 + i) for i in range(10)] +
      [e for i in range(9) for e in bankid_failed(5000 + 20 * i, "victor", "192.0.2.12", 300 + i)])

# password spraying: 10 users from one address within 10 minutes
write("password_spraying", "fires",
      [oidc_failed(30 * i, "user%d" % i, "203.0.113.5", i) for i in range(10)])
write("password_spraying", "quiet",
      [oidc_failed(30 * i, "user%d" % i, "203.0.113.5", i) for i in range(9)] +
      [oidc_failed(1000 + 30 * i, "user%d" % i, "203.0.113.%d" % (100 + i), 50 + i)
       for i in range(10)])


def locked(sec, user, n):
    return ev(sec, "pipes_authentication_failed_locked_temporarily", duser=user,
              src="192.0.2.20", locked_until=ts(sec + 900), **client(n))


# 20 accounts within 10 minutes
write("lockout_storm", "fires", [locked(25 * i, "user%d" % i, i) for i in range(20)])
# 19 within 10 minutes; one account locked 20 times; 20 accounts over 13 minutes
write("lockout_storm", "quiet",
      [locked(25 * i, "user%d" % i, i) for i in range(19)] +
      [locked(1000 + 25 * i, "carol", 100 + i) for i in range(20)] +
      [locked(3000 + 40 * i, "user%d" % (100 + i), 200 + i) for i in range(20)])


def push(sec, user, ok, n):
    if ok:
        return ev(sec, "pki_onetouch_assignment_successful", duser=user, **client(n))
    return ev(sec, "pki_onetouch_assignment_rejected", duser=user, reason="declined",
              **client(n))


write("mfa_push_fatigue", "fires",
      [push(30 * i, "dave", False, i) for i in range(4)] + [push(150, "dave", True, 9)])
write("mfa_push_fatigue", "quiet",
      # two denials, then approved
      [push(0, "erin", False, 1), push(30, "erin", False, 2), push(60, "erin", True, 3)] +
      # approved first, then denials only
      [push(1000, "frank", True, 4)] + [push(1030 + 30 * i, "frank", False, 5 + i)
                                         for i in range(3)] +
      # three denials, the approval more than 15 minutes after the third
      [push(3000 + 30 * i, "gina", False, 10 + i) for i in range(3)] +
      [push(3060 + 15 * 60 + 1, "gina", True, 20)])

write("config_changes", "fires",
      [ev(0, "core_server_config_updated", suser="admin", src="192.0.2.30",
          msg="authenticator settings saved"),
       ev(60, "store_config_apicall", suser="deploy", request="/config/api/pipes",
          requestMethod="PUT", status=200, **client(1))])
write("config_changes", "quiet",
      [ev(0, "store_config_apicall", suser="monitor", request="/config/api/pipes",
          requestMethod="GET", status=200, **client(1)),
       ev(60, "prism_user_unlocked", duser="alice", **client(2))])

write("alert_emergency", "fires",
      [ev(0, "core_server_license_expired", msg="license expired",
          license_not_after=ts(-86400))])
write("alert_emergency", "quiet",
      [ev(0, "prism_user_locked", duser="alice", reason="too many attempts", **client(1)),
       ev(10, "core_server_schedule_failed", job="nightly-export", msg="export failed")])

write("expiry_warnings", "fires",
      [ev(0, "messagingapns_certificate_warning", cert_subject="CN=push.example",
          days_left=14)])
write("expiry_warnings", "quiet",
      [ev(0, "pipes_mail_delivered", duser="alice", **client(1))])


def oidc_ok(sec, user, src, n):
    return ev(sec, "auth_entrypoints_oidc_auth_successful", duser=user, src=src,
              phxEntrypointId="oidc1", phxEntrypointType="OIDC", **client(n))


# successful sign-in after a run of failures: 5 failures of ivan within 10 minutes, then a success
write("signin_after_failures", "fires",
      [oidc_failed(60 * i, "ivan", "192.0.2.40", i) for i in range(5)] +
      [oidc_ok(400, "ivan", "192.0.2.40", 9)])
write("signin_after_failures", "quiet",
      # four failures, then a success
      [oidc_failed(60 * i, "judy", "192.0.2.41", i) for i in range(4)] +
      [oidc_ok(300, "judy", "192.0.2.41", 5)] +
      # a success first, then five failures
      [oidc_ok(1000, "kim", "192.0.2.42", 10)] +
      [oidc_failed(1060 + 60 * i, "kim", "192.0.2.42", 11 + i) for i in range(5)] +
      # five failures, the success more than 15 minutes after the fifth
      [oidc_failed(3000 + 60 * i, "leo", "192.0.2.43", 20 + i) for i in range(5)] +
      [oidc_ok(3240 + 15 * 60 + 1, "leo", "192.0.2.43", 30)] +
      # five failures of one user, a success of another
      [oidc_failed(6000 + 60 * i, "mia", "192.0.2.44", 40 + i) for i in range(5)] +
      [oidc_ok(6400, "ned", "192.0.2.44", 50)] +
      # four sign-ins that log two failures each (eight events), then a success
      [e for i in range(4) for e in bankid_failed(9000 + 60 * i, "otto", "192.0.2.45", 60 + i)] +
      [oidc_ok(9300, "otto", "192.0.2.45", 70)])


def token(sec, eid, user, serial, src, n, **more):
    return ev(sec, eid, duser=user, token_serial=serial, token_type="OATH TOTP", src=src,
              **client(n), **more)


def enrolled(sec, user, serial, src, n, **more):
    return token(sec, "prism_token_enrolled", user, serial, src, n, **more)


def used(sec, user, serial, src, n):
    return token(sec, "pipes_token_validation_success", user, serial, src, n)


# a token enrolled from the user's address, used from there, then from another one
write("token_new_source", "fires",
      [enrolled(0, "olga", "OATH0001", "192.0.2.50", 1),
       used(120, "olga", "OATH0001", "192.0.2.50", 2),
       used(900, "olga", "OATH0001", "203.0.113.66", 3)])
write("token_new_source", "quiet",
      # enrolled and used from one address
      [enrolled(0, "pia", "OATH0002", "192.0.2.51", 1),
       used(120, "pia", "OATH0002", "192.0.2.51", 2),
       used(900, "pia", "OATH0002", "192.0.2.51", 3),
       # another token used from another address
       enrolled(1000, "quinn", "OATH0003", "192.0.2.52", 4),
       used(1100, "rolf", "OATH0004", "203.0.113.67", 5),
       # used from two addresses without an enrolment
       used(2000, "sven", "OATH0005", "192.0.2.53", 6),
       used(2100, "sven", "OATH0005", "203.0.113.68", 7),
       # enrolled by an administrator from the helpdesk, used by the user
       enrolled(3000, "tove", "OATH0006", "198.51.100.9", 8, suser="helpdesk"),
       used(3100, "tove", "OATH0006", "192.0.2.54", 9),
       # used from another address more than a day after the enrolment
       enrolled(4000, "ulla", "OATH0007", "192.0.2.55", 10),
       used(4000 + 86400 + 1, "ulla", "OATH0007", "203.0.113.69", 11)])


def rejected(sec, inp, n):
    return ev(sec, "trail_event_rejected", own=True, input=inp, reason="unknown event id",
              raw="garbage %d" % n, raw_bytes=9)


write("rejected_burst", "fires", [rejected(2 * i, "syslog_tcp", i) for i in range(20)])
write("rejected_burst", "quiet",
      [rejected(2 * i, "syslog_tcp", i) for i in range(19)] +
      [rejected(100 + 2 * i, "syslog_tcp" if i % 2 else "http", 50 + i) for i in range(20)])
