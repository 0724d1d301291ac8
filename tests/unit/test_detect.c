/*
 * test_detect.c - Sigma rules (lib/detect/): reading them (every construct,
 * and bad input with the file, line and column of the problem), matching
 * trail's events, and correlations over windows of pinned event times.
 */
#include "detect_int.h" /* detect_glob */
#include "harness.h"

#include <stdarg.h>

static struct trail_catalog *cat;
static char diags[8192]; /* every problem reported, one per line: "file:line:col: error: msg" */

static void on_diag(void *ctx, const struct detect_diag *d)
{
    (void)ctx;
    size_t n = strlen(diags);
    snprintf(diags + n, sizeof diags - n, "%s:%u:%u: %s: %s\n", d->file, d->line, d->column,
             d->warning ? "warning" : "error", d->msg);
}

/* the rules of text, finished; NULL (with diags) when any error */
static struct detect_rules *load(const char *text)
{
    struct detect_rules *rs;
    diags[0] = '\0';
    if (detect_rules_new(cat, &rs) < 0)
        return NULL;
    int e = detect_rules_add(rs, "r.yml", text, strlen(text), on_diag, NULL);
    e += detect_rules_finish(rs, on_diag, NULL);
    if (e) {
        detect_rules_free(rs);
        return NULL;
    }
    return rs;
}

/* an event: id, then "key=value" attributes set from text; time in seconds, seq */
static struct trail_event *mkev(const char *id, int64_t t, uint64_t seq, ...)
{
    struct trail_event *ev;
    if (trail_event_new(cat, id, &ev) < 0)
        return NULL;
    trail_event_set_time(ev, t * 1000000);
    trail_event_set_seq(ev, seq);
    va_list ap;
    va_start(ap, seq);
    const char *kv;
    while ((kv = va_arg(ap, const char *))) {
        const char *eq = strchr(kv, '=');
        if (strncmp(kv, "host=", 5) == 0)
            trail_event_set_host(ev, kv + 5, strlen(kv + 5));
        else
            trail_event_set_text(ev, kv, (size_t)(eq - kv), eq + 1, strlen(eq + 1));
    }
    va_end(ap);
    return ev;
}

#define HEAD "title: t\nlogsource:\n  product: trail\n"

/* 1/0: the one rule of text matches ev; -1 when text does not load */
static int m1(const char *detection, struct trail_event *ev)
{
    char text[2048];
    snprintf(text, sizeof text, HEAD "detection:\n%s", detection);
    struct detect_rules *rs = load(text);
    if (!rs) {
        fprintf(stderr, "  rule refused: %s", diags);
        return -1;
    }
    int r = rs->n_rules == 1 ? detect_match(rs->rules[0], ev) : -2;
    detect_rules_free(rs);
    return r;
}

/* the rule of text is refused with a message containing want at file:line:col */
static int refused(const char *text, const char *where, const char *want)
{
    struct detect_rules *rs = load(text);
    if (rs) {
        detect_rules_free(rs);
        fprintf(stderr, "  accepted: %s\n", text);
        return 0;
    }
    if (!strstr(diags, where) || !strstr(diags, want)) {
        fprintf(stderr, "  wanted %s ... %s, got: %s", where, want, diags);
        return 0;
    }
    return 1;
}

TEST(plain_values_case_insensitive)
{
    struct trail_event *ev =
        mkev("auth_entrypoints_oidc_auth_failed", 1, 1, "duser=Alice", "src=192.0.2.7", NULL);
    ASSERT_EQ(m1("  sel:\n    id: auth_entrypoints_oidc_auth_failed\n    duser: alice\n"
                 "  condition: sel\n",
                 ev),
              1);
    ASSERT_EQ(m1("  sel:\n    duser|cased: alice\n  condition: sel\n", ev), 0);
    ASSERT_EQ(m1("  sel:\n    duser|cased: Alice\n  condition: sel\n", ev), 1);
    ASSERT_EQ(m1("  sel:\n    duser: bob\n  condition: sel\n", ev), 0);
    /* a list is any of its values */
    ASSERT_EQ(m1("  sel:\n    duser: [bob, ALICE]\n  condition: sel\n", ev), 1);
    /* an attribute the event lacks */
    ASSERT_EQ(m1("  sel:\n    suser: alice\n  condition: sel\n", ev), 0);
    trail_event_free(ev);
}

TEST(wildcards_and_modifiers)
{
    struct trail_event *ev = mkev("auth_entrypoints_oidc_auth_failed", 1, 1, "duser=alice.olsson",
                                  "reason=bad password*", NULL);
    ASSERT_EQ(m1("  s:\n    id: auth_*_failed\n  condition: s\n", ev), 1);
    ASSERT_EQ(m1("  s:\n    id: auth_?_failed\n  condition: s\n", ev), 0);
    ASSERT_EQ(m1("  s:\n    duser: alic?.olsson\n  condition: s\n", ev), 1);
    ASSERT_EQ(m1("  s:\n    duser|contains: E.OLS\n  condition: s\n", ev), 1);
    ASSERT_EQ(m1("  s:\n    duser|startswith: alice\n  condition: s\n", ev), 1);
    ASSERT_EQ(m1("  s:\n    duser|startswith: olsson\n  condition: s\n", ev), 0);
    ASSERT_EQ(m1("  s:\n    duser|endswith: olsson\n  condition: s\n", ev), 1);
    ASSERT_EQ(m1("  s:\n    duser|contains|all: [alice, olsson]\n  condition: s\n", ev), 1);
    ASSERT_EQ(m1("  s:\n    duser|contains|all: [alice, bob]\n  condition: s\n", ev), 0);
    /* an escaped star is a star */
    ASSERT_EQ(m1("  s:\n    reason: 'bad password\\*'\n  condition: s\n", ev), 1);
    ASSERT_EQ(m1("  s:\n    reason: 'bad\\*'\n  condition: s\n", ev), 0);
    ASSERT_EQ(m1("  s:\n    duser|re: '^ali(ce|x)\\.'\n  condition: s\n", ev), 1);
    ASSERT_EQ(m1("  s:\n    duser|re: '^Alice'\n  condition: s\n", ev), 0);
    ASSERT_EQ(m1("  s:\n    duser|re|i: '^Alice'\n  condition: s\n", ev), 1);
    ASSERT_EQ(m1("  s:\n    duser|exists: true\n  condition: s\n", ev), 1);
    ASSERT_EQ(m1("  s:\n    suser|exists: false\n  condition: s\n", ev), 1);
    ASSERT_EQ(m1("  s:\n    suser: null\n  condition: s\n", ev), 1);
    ASSERT_EQ(m1("  s:\n    duser: null\n  condition: s\n", ev), 0);
    trail_event_free(ev);
}

TEST(numbers_addresses_severity)
{
    struct trail_event *ev = mkev("pipes_authentication_failed_incrementlogincounter", 1, 1,
                                  "failed_attempts=7", "src=10.1.2.3", "host=idp1", NULL);
    ASSERT_EQ(m1("  s:\n    failed_attempts|gte: 7\n  condition: s\n", ev), 1);
    ASSERT_EQ(m1("  s:\n    failed_attempts|gt: 7\n  condition: s\n", ev), 0);
    ASSERT_EQ(m1("  s:\n    failed_attempts|lt: 10\n  condition: s\n", ev), 1);
    ASSERT_EQ(m1("  s:\n    failed_attempts|lte: 6\n  condition: s\n", ev), 0);
    ASSERT_EQ(m1("  s:\n    failed_attempts: 07\n  condition: s\n", ev), 1);
    ASSERT_EQ(m1("  s:\n    src|cidr: 10.0.0.0/8\n  condition: s\n", ev), 1);
    ASSERT_EQ(m1("  s:\n    src|cidr: [192.168.0.0/16, 2001:db8::/32]\n  condition: s\n", ev), 0);
    ASSERT_EQ(m1("  s:\n    src: 10.1.2.3\n  condition: s\n", ev), 1);
    ASSERT_EQ(m1("  s:\n    host: IDP1\n  condition: s\n", ev), 1);
    /* NOTICE is 4: by name, by number, and ordered */
    ASSERT_EQ(m1("  s:\n    severity: notice\n  condition: s\n", ev), 1);
    ASSERT_EQ(m1("  s:\n    severity: 4\n  condition: s\n", ev), 1);
    ASSERT_EQ(m1("  s:\n    severity|gte: WARNING\n  condition: s\n", ev), 0);
    ASSERT_EQ(m1("  s:\n    severity|lt: WARNING\n  condition: s\n", ev), 1);
    trail_event_free(ev);
}

TEST(provenance_fields)
{
    struct trail_event *ev = mkev("prism_user_locked", 1, 1, "duser=bob", NULL);
    struct trail_peer peer = {.family = 4, .addr = {198, 51, 100, 9}, .port = 5514};
    trail_event_set_input(ev, TRAIL_INPUT_SYSLOG_TCP, NULL, 0);
    trail_event_set_peer(ev, &peer);
    trail_event_set_principal(ev, "idp-token", 9);
    ASSERT_EQ(m1("  s:\n    '@input': syslog_tcp\n    '@peer|cidr': 198.51.100.0/24\n"
                 "    '@principal': idp-*\n    '@origin': producer\n  condition: s\n",
                 ev),
              1);
    ASSERT_EQ(m1("  s:\n    '@origin': trail\n  condition: s\n", ev), 0);
    ASSERT_EQ(m1("  s:\n    '@peer': 198.51.100.9\n  condition: s\n", ev), 1);
    trail_event_free(ev);
}

TEST(keywords_lists_of_maps_conditions)
{
    struct trail_event *ev =
        mkev("prism_user_locked", 1, 1, "duser=bob", "reason=Too many tries", NULL);
    ASSERT_EQ(m1("  kw:\n    - 'many tries'\n    - nothing\n  condition: kw\n", ev), 1);
    ASSERT_EQ(m1("  kw:\n    - nothing\n  condition: kw\n", ev), 0);
    ASSERT_EQ(m1("  kw: prism_user\n  condition: kw\n", ev), 1);
    /* a list of maps is any of them */
    ASSERT_EQ(m1("  s:\n    - duser: alice\n    - duser: bob\n      id: prism_user_locked\n"
                 "  condition: s\n",
                 ev),
              1);
    const char *sels = "  sel_a:\n    duser: bob\n  sel_b:\n    duser: alice\n"
                       "  filter:\n    reason|contains: tries\n";
    char d[512];
    snprintf(d, sizeof d, "%s  condition: sel_a and not filter\n", sels);
    ASSERT_EQ(m1(d, ev), 0);
    snprintf(d, sizeof d, "%s  condition: (sel_a or sel_b) and filter\n", sels);
    ASSERT_EQ(m1(d, ev), 1);
    snprintf(d, sizeof d, "%s  condition: 1 of sel_*\n", sels);
    ASSERT_EQ(m1(d, ev), 1);
    snprintf(d, sizeof d, "%s  condition: all of sel_*\n", sels);
    ASSERT_EQ(m1(d, ev), 0);
    snprintf(d, sizeof d, "%s  condition: all of them\n", sels);
    ASSERT_EQ(m1(d, ev), 0);
    snprintf(d, sizeof d, "%s  condition: not sel_b and filter or sel_b\n", sels);
    ASSERT_EQ(m1(d, ev), 1);
    /* `them` leaves out identifiers that start with _ */
    ASSERT_EQ(m1("  s:\n    duser: bob\n  _x:\n    duser: zed\n  condition: all of them\n", ev), 1);
    /* a list of conditions is any of them */
    ASSERT_EQ(
        m1("  a:\n    duser: zed\n  b:\n    duser: bob\n  condition:\n    - a\n    - b\n", ev), 1);
    trail_event_free(ev);
}

TEST(metadata_and_logsource)
{
    struct detect_rules *rs =
        load("title: Locked\nid: 5d3c1e9a-0000-4000-8000-000000000001\nstatus: test\nlevel: high\n"
             "description: a user was locked\ntags: [attack.t1110, attack.credential_access]\n"
             "falsepositives:\n  - a user who forgot\nauthor: someone\ndate: 2026-12-07\n"
             "logsource:\n  product: phenixid\n  service: audit\n"
             "detection:\n  s:\n    id: prism_user_locked\n  condition: s\n"
             "---\n"
             "title: Windows\nlogsource:\n  product: windows\n  category: process_creation\n"
             "detection:\n  s:\n    Image|endswith: '\\cmd.exe'\n  condition: s\n");
    ASSERT(rs);
    ASSERT_EQ(rs->n_rules, 2);
    struct detect_rule *r = rs->rules[0];
    ASSERT_STREQ(r->title, "Locked");
    ASSERT_EQ(r->level, DL_HIGH);
    ASSERT_EQ(detect_level_severity(r->level), TRAIL_SEV_ERROR);
    ASSERT_STREQ(r->status, "test");
    ASSERT_EQ(r->n_tags, 2);
    ASSERT_STREQ(r->tags[1], "attack.credential_access");
    ASSERT_EQ(r->n_falsepositives, 1);
    ASSERT(r->applicable);
    /* another product parses, is not applicable, and no warning about its fields */
    ASSERT(!rs->rules[1]->applicable);
    ASSERT_EQ(rs->rules[1]->line, 19); /* its first key */
    ASSERT_EQ(rs->n_warnings, 0);
    struct trail_event *ev = mkev("prism_user_locked", 1, 1, NULL);
    ASSERT_EQ(detect_match(rs->rules[0], ev), 1);
    ASSERT_EQ(detect_match(rs->rules[1], ev), 0);
    trail_event_free(ev);
    detect_rules_free(rs);
}

TEST(warnings_for_fields_the_catalog_never_carries)
{
    struct detect_rules *rs =
        load(HEAD "detection:\n  s:\n    id: no_such_event\n    nosuchkey: x\n    duser: y\n"
                  "  condition: s\n");
    ASSERT(rs);
    ASSERT_EQ(rs->n_warnings, 2);
    ASSERT(strstr(diags, "r.yml:7:5: warning: rule 't': no event of the catalog carries the "
                         "attribute 'nosuchkey'"));
    ASSERT(strstr(diags, "r.yml:6:5: warning: rule 't': 'no_such_event' is not an event"));
    detect_rules_free(rs);
}

TEST(malformed_rules)
{
    /* broken YAML: where libyaml stopped */
    ASSERT(refused("title: t\ndetection: [a,\n", "r.yml:3:1", "YAML:"));
    ASSERT(refused("title: t\n  bad: indent\n", "r.yml:2:6", "YAML:"));
    ASSERT(refused("- a\n- b\n", "r.yml:1:1", "a rule is a map"));
    ASSERT(refused("logsource: {product: trail}\ndetection:\n  s: {id: x}\n  condition: s\n",
                   "r.yml:1:1", "the title is missing"));
    ASSERT(refused(HEAD "level: urgent\ndetection:\n  s: {id: x}\n  condition: s\n", "r.yml:4:8",
                   "level: 'urgent'"));
    ASSERT(refused(HEAD "status: maybe\ndetection:\n  s: {id: x}\n  condition: s\n", "r.yml:1:1",
                   "status: 'maybe'"));
    ASSERT(refused(HEAD "detection:\n  s: {id: x}\n", "r.yml:5:3", "condition is missing"));
    ASSERT(refused(HEAD "detection:\n  s:\n    duser|base64: x\n  condition: s\n", "r.yml:6:5",
                   "modifier 'base64' is not supported"));
    ASSERT(refused(HEAD "detection:\n  s:\n    duser|re: '(a'\n  condition: s\n", "r.yml:6:15",
                   "bad regular expression"));
    ASSERT(refused(HEAD "detection:\n  s:\n    src|cidr: 10.0.0.0/33\n  condition: s\n",
                   "r.yml:6:15", "not a network"));
    ASSERT(refused(HEAD "detection:\n  s:\n    failed_attempts|gt: many\n  condition: s\n",
                   "r.yml:6:25", "not a number"));
    ASSERT(refused(HEAD "detection:\n  s:\n    duser|exists: maybe\n  condition: s\n", "r.yml:6:19",
                   "expected true or false"));
    ASSERT(refused(HEAD "detection:\n  s:\n    severity: loud\n  condition: s\n", "r.yml:6:15",
                   "not a severity"));
    ASSERT(refused(HEAD "detection:\n  s:\n    duser|contains|re: x\n  condition: s\n", "r.yml:6:5",
                   "does not combine"));
    ASSERT(refused(HEAD "detection:\n  s:\n    'bad key!': x\n  condition: s\n", "r.yml:6:5",
                   "not a field"));
    ASSERT(refused(HEAD "detection:\n  s:\n    duser: []\n  condition: s\n", "r.yml:6:12",
                   "empty list"));
    ASSERT(refused(HEAD "detection:\n  s:\n    - duser: a\n    - b\n  condition: s\n", "r.yml:6:5",
                   "either maps or keywords"));
    ASSERT(refused(HEAD "detection:\n  s:\n    duser: {a: b}\n  condition: s\n", "r.yml:6:12",
                   "not a map"));
    /* conditions: the column of the token */
    ASSERT(refused(HEAD "detection:\n  s: {id: x}\n  condition: s and nope\n", "r.yml:6:20",
                   "'nope' is not a selection"));
    ASSERT(refused(HEAD "detection:\n  s: {id: x}\n  condition: (s or s\n", "r.yml:6:14",
                   "'(' is not closed"));
    ASSERT(refused(HEAD "detection:\n  s: {id: x}\n  condition: s s\n", "r.yml:6:16",
                   "after a complete condition"));
    ASSERT(refused(HEAD "detection:\n  s: {id: x}\n  condition: 1 of x*\n", "r.yml:6:19",
                   "names no selection"));
    ASSERT(refused(HEAD "detection:\n  s: {id: x}\n  condition: 2 of s\n", "r.yml:6:14",
                   "use '1 of' or 'all of'"));
    ASSERT(refused(HEAD "detection:\n  s: {id: x}\n  condition: s | count() > 5\n", "r.yml:6:16",
                   "old aggregation"));
    ASSERT(
        refused(HEAD "detection:\n  s: {id: x}\n  condition: s and\n", "r.yml:6:19", "at the end"));
    ASSERT(
        refused(HEAD "detection:\n  s: {id: x}\n  condition: 'not'\n", "r.yml:6:18", "at the end"));
    ASSERT(refused(HEAD "detection:\n  s: {id: x}\n  timeframe: 5m\n  condition: s\n", "r.yml:6:3",
                   "timeframe"));
    ASSERT(refused("action: global\ntitle: t\n", "r.yml:1:1", "rule collections"));
    /* a key twice (found by fuzz_rules: the first value leaked) */
    ASSERT(refused(HEAD "title: u\ndetection:\n  s: {id: x}\n  condition: s\n", "r.yml:4:1",
                   "'title' is given twice in this map (first at line 1)"));
    ASSERT(refused(HEAD "detection:\n  s: {id: x, id: y}\n  condition: s\n", "r.yml:5:14",
                   "'id' is given twice"));
}

TEST(one_bad_rule_leaves_its_neighbours)
{
    struct detect_rules *rs;
    diags[0] = '\0';
    ASSERT_OK(detect_rules_new(cat, &rs));
    const char *text = HEAD "detection:\n  s: {id: prism_user_locked}\n  condition: s\n"
                            "---\n" HEAD "detection:\n  s: {id: x}\n  condition: t\n"
                            "---\n" HEAD "detection:\n  s: {id: prism_user_unlocked}\n"
                            "  condition: s\n";
    ASSERT_EQ(detect_rules_add(rs, "r.yml", text, strlen(text), on_diag, NULL), 1);
    ASSERT_EQ(rs->n_rules, 2);
    ASSERT(strstr(diags, "r.yml:13:14: error: condition: 't' is not a selection"));
    detect_rules_free(rs);
}

/* ---- correlations ---- */

struct fired {
    char rule[64];
    char group[128];
    uint64_t count, n_seqs, first, last;
    int64_t start, end;
    int64_t grace_until; /* seconds; 0 without */
    bool summary;
    uint64_t updates_seq;
};
static struct fired fires[64];
static int n_fires;

static void on_alert(void *ctx, const struct detect_alert *a)
{
    (void)ctx;
    if (n_fires >= 64)
        return;
    struct fired *f = &fires[n_fires++];
    snprintf(f->rule, sizeof f->rule, "%s", a->rule->name ? a->rule->name : a->rule->title);
    f->group[0] = '\0';
    for (size_t i = 0; i < a->n_group; i++) {
        size_t n = strlen(f->group);
        snprintf(f->group + n, sizeof f->group - n, "%s%s", i ? "," : "", a->group_values[i]);
    }
    f->count = a->count;
    f->n_seqs = a->n_seqs;
    f->first = a->n_first ? a->first_seqs[0] : 0;
    f->last = a->n_last ? a->last_seqs[a->n_last - 1] : a->first_seqs[a->n_first - 1];
    f->start = a->window_start_us / 1000000;
    f->end = a->window_end_us / 1000000;
    f->grace_until = a->grace_until_us / 1000000;
    f->summary = a->summary;
    f->updates_seq = a->updates_seq;
}

/* feed ev to e and free it */
static void feed(struct detect_engine *e, struct trail_event *ev)
{
    detect_engine_feed(e, ev, on_alert, NULL);
    trail_event_free(ev);
}

#define FAILED                                                                                     \
    "title: failed\nname: failed\nlogsource: {product: trail}\n"                                   \
    "detection:\n  s:\n    id: auth_entrypoints_oidc_auth_failed\n  condition: s\n---\n"

TEST(event_count_by_group)
{
    struct detect_rules *rs = load(FAILED "title: guessing\nname: guessing\nlevel: medium\n"
                                          "correlation:\n  type: event_count\n  rules: failed\n"
                                          "  group-by: [duser]\n  timespan: 60s\n"
                                          "  condition: {gte: 3}\n");
    ASSERT(rs);
    ASSERT(rs->rules[0]->referenced);
    struct detect_engine *e;
    ASSERT_OK(detect_engine_new(rs, &e));
    n_fires = 0;
    const char *id = "auth_entrypoints_oidc_auth_failed";
    feed(e, mkev(id, 1000, 1, "duser=alice", NULL));
    feed(e, mkev(id, 1010, 2, "duser=bob", NULL));
    feed(e, mkev(id, 1020, 3, "duser=alice", NULL));
    /* 1000 leaves the window at 1061: alice has 2 */
    feed(e, mkev(id, 1061, 4, "duser=alice", NULL));
    ASSERT_EQ(n_fires, 0);
    feed(e, mkev(id, 1070, 5, "duser=alice", NULL));
    ASSERT_EQ(n_fires, 1);
    ASSERT_STREQ(fires[0].rule, "guessing");
    ASSERT_STREQ(fires[0].group, "alice");
    ASSERT_EQ(fires[0].count, 3);
    ASSERT_EQ(fires[0].first, 3);
    ASSERT_EQ(fires[0].last, 5);
    ASSERT_EQ(fires[0].start, 1020);
    ASSERT_EQ(fires[0].end, 1070);
    /* the window starts over after it fires */
    feed(e, mkev(id, 1071, 6, "duser=alice", NULL));
    feed(e, mkev(id, 1072, 7, "duser=alice", NULL));
    ASSERT_EQ(n_fires, 1);
    feed(e, mkev(id, 1073, 8, "duser=alice", NULL));
    ASSERT_EQ(n_fires, 2);
    ASSERT_EQ(fires[1].first, 6);
    /* another event id is not counted; a late event is not counted */
    feed(e, mkev("prism_user_locked", 1074, 9, "duser=bob", NULL));
    feed(e, mkev(id, 1075, 10, "duser=bob", NULL));
    feed(e, mkev(id, 900, 11, "duser=bob", NULL));
    ASSERT_EQ(n_fires, 2);
    detect_engine_free(e);
    detect_rules_free(rs);
}

TEST(value_count_spraying)
{
    struct detect_rules *rs =
        load(FAILED "title: spraying\nname: spraying\ncorrelation:\n  type: value_count\n"
                    "  rules: [failed]\n  group-by: [src]\n  timespan: 10m\n"
                    "  condition:\n    field: duser\n    gte: 3\n");
    ASSERT(rs);
    struct detect_engine *e;
    ASSERT_OK(detect_engine_new(rs, &e));
    n_fires = 0;
    const char *id = "auth_entrypoints_oidc_auth_failed";
    feed(e, mkev(id, 0, 1, "duser=a", "src=192.0.2.1", NULL));
    feed(e, mkev(id, 10, 2, "duser=a", "src=192.0.2.1", NULL));
    feed(e, mkev(id, 20, 3, "duser=b", "src=192.0.2.1", NULL));
    feed(e, mkev(id, 30, 4, "duser=c", "src=192.0.2.2", NULL));
    feed(e, mkev(id, 40, 5, "src=192.0.2.1", NULL)); /* no user: no value to count */
    ASSERT_EQ(n_fires, 0);
    feed(e, mkev(id, 50, 6, "duser=c", "src=192.0.2.1", NULL));
    ASSERT_EQ(n_fires, 1);
    ASSERT_STREQ(fires[0].group, "192.0.2.1");
    ASSERT_EQ(fires[0].count, 3);
    ASSERT_EQ(fires[0].n_seqs, 4);
    detect_engine_free(e);
    detect_rules_free(rs);
}

TEST(temporal_and_ordered)
{
    const char *base =
        "title: denied\nname: denied\nlogsource: {product: trail}\n"
        "detection:\n  s: {id: pki_onetouch_assignment_rejected}\n  condition: s\n---\n"
        "title: approved\nname: approved\nlogsource: {product: trail}\n"
        "detection:\n  s: {id: pki_onetouch_assignment_successful}\n  condition: s\n---\n";
    char text[2048];
    snprintf(text, sizeof text,
             "%stitle: both\nname: both\ncorrelation:\n  type: temporal\n"
             "  rules: [denied, approved]\n  group-by: [duser]\n  timespan: 5m\n---\n"
             "title: ordered\nname: ordered\ncorrelation:\n  type: temporal_ordered\n"
             "  rules: [denied, approved]\n  group-by: [duser]\n  timespan: 5m\n",
             base);
    struct detect_rules *rs = load(text);
    ASSERT(rs);
    struct detect_engine *e;
    ASSERT_OK(detect_engine_new(rs, &e));
    n_fires = 0;
    /* approved then denied: temporal fires, ordered does not */
    feed(e, mkev("pki_onetouch_assignment_successful", 0, 1, "duser=a", "phxTraceId=x", NULL));
    feed(e, mkev("pki_onetouch_assignment_rejected", 10, 2, "duser=a", "phxTraceId=x", NULL));
    ASSERT_EQ(n_fires, 1);
    ASSERT_STREQ(fires[0].rule, "both");
    /* then approved: ordered sees denied (seq 2) before it */
    feed(e, mkev("pki_onetouch_assignment_successful", 20, 3, "duser=a", "phxTraceId=x", NULL));
    ASSERT_EQ(n_fires, 2);
    ASSERT_STREQ(fires[1].rule, "ordered");
    ASSERT_EQ(fires[1].first, 1);
    /* too far apart: nothing */
    feed(e, mkev("pki_onetouch_assignment_rejected", 1000, 4, "duser=b", NULL));
    feed(e, mkev("pki_onetouch_assignment_successful", 1301, 5, "duser=b", NULL));
    ASSERT_EQ(n_fires, 2);
    detect_engine_free(e);
    detect_rules_free(rs);
}

TEST(chained_correlations_and_conditions)
{
    /* three guessing windows of one user (2 failures each within 10s) within an hour */
    struct detect_rules *rs = load(
        FAILED "title: burst\nname: burst\ncorrelation:\n  type: event_count\n  rules: failed\n"
               "  group-by: [duser]\n  timespan: 10s\n  condition: {gte: 2}\n---\n"
               "title: persistent\nname: persistent\ncorrelation:\n  type: event_count\n"
               "  rules: burst\n  group-by: [duser]\n  timespan: 1h\n  condition: {gt: 2}\n---\n"
               "title: exactly\nname: exactly\ncorrelation:\n  type: event_count\n"
               "  rules: failed\n  timespan: 1h\n  condition: {eq: 5}\n  generate: true\n");
    ASSERT(rs);
    struct detect_engine *e;
    ASSERT_OK(detect_engine_new(rs, &e));
    n_fires = 0;
    const char *id = "auth_entrypoints_oidc_auth_failed";
    for (int i = 0; i < 6; i++)
        feed(e, mkev(id, 100 * i, (uint64_t)(2 * i + 1), "duser=a", NULL)),
            feed(e, mkev(id, 100 * i + 5, (uint64_t)(2 * i + 2), "duser=a", NULL));
    /* generate: true makes `failed` alert on each of its 12 events; exactly fires at the
       5th; burst is named by persistent and stays quiet; persistent fires at its 3rd and
       6th burst */
    int failed = 0, exactly = 0, persistent = 0, other = 0;
    for (int i = 0; i < n_fires; i++)
        if (strcmp(fires[i].rule, "failed") == 0)
            failed++;
        else if (strcmp(fires[i].rule, "exactly") == 0)
            exactly++;
        else if (strcmp(fires[i].rule, "persistent") == 0)
            persistent++;
        else
            other++;
    ASSERT_EQ(failed, 12);
    ASSERT_EQ(exactly, 2); /* at the 5th and, after the reset, the 10th */
    ASSERT_EQ(persistent, 2);
    ASSERT_EQ(other, 0);
    detect_engine_free(e);
    detect_rules_free(rs);
}

TEST(range_condition)
{
    struct detect_rules *rs = load(FAILED "title: r\nname: r\ncorrelation:\n  type: value_count\n"
                                          "  rules: failed\n  timespan: 1m\n"
                                          "  condition: {field: duser, gt: 1, lte: 2}\n");
    ASSERT(rs);
    struct detect_engine *e;
    ASSERT_OK(detect_engine_new(rs, &e));
    n_fires = 0;
    const char *id = "auth_entrypoints_oidc_auth_failed";
    feed(e, mkev(id, 0, 1, "duser=a", NULL));
    ASSERT_EQ(n_fires, 0);
    feed(e, mkev(id, 1, 2, "duser=b", NULL));
    ASSERT_EQ(n_fires, 1);
    ASSERT_EQ(fires[0].count, 2);
    detect_engine_free(e);
    detect_rules_free(rs);
}

TEST(malformed_correlations)
{
    ASSERT(refused(FAILED "title: c\ncorrelation:\n  type: event_sum\n  rules: failed\n"
                          "  timespan: 1m\n  condition: {gte: 1}\n",
                   "r.yml:11:9", "is not event_count"));
    ASSERT(refused(FAILED "title: c\ncorrelation:\n  type: event_count\n  rules: failed\n"
                          "  timespan: 1 minute\n  condition: {gte: 1}\n",
                   "r.yml:13:13", "timespan"));
    ASSERT(refused(FAILED "title: c\ncorrelation:\n  type: event_count\n  rules: failed\n"
                          "  timespan: 1m\n",
                   "r.yml:11:3", "needs a condition"));
    ASSERT(refused(FAILED "title: c\ncorrelation:\n  type: event_count\n  rules: failed\n"
                          "  timespan: 1m\n  condition: {above: 1}\n",
                   "r.yml:14:15", "'above' is not one of"));
    ASSERT(refused(FAILED "title: c\ncorrelation:\n  type: value_count\n  rules: failed\n"
                          "  timespan: 1m\n  condition: {gte: 2}\n",
                   "r.yml:14:14", "needs the field"));
    ASSERT(refused(FAILED "title: c\ncorrelation:\n  type: temporal\n  rules: failed\n"
                          "  timespan: 1m\n",
                   "r.yml:12:10", "at least two rules"));
    ASSERT(refused(FAILED "title: c\ncorrelation:\n  type: event_count\n  rules: nosuch\n"
                          "  timespan: 1m\n  condition: {gte: 1}\n",
                   "r.yml:12:10", "'nosuch' is the name or id of no rule"));
    ASSERT(refused("title: a\nname: a\ncorrelation:\n  type: event_count\n  rules: b\n"
                   "  timespan: 1m\n  condition: {gte: 1}\n---\n"
                   "title: b\nname: b\ncorrelation:\n  type: event_count\n  rules: a\n"
                   "  timespan: 1m\n  condition: {gte: 1}\n",
                   "r.yml:5:10", "lead back to it"));
    ASSERT(refused(FAILED "title: c\ncorrelation:\n  type: event_count\n  rules: failed\n"
                          "  timespan: 1m\n  condition: {gte: 1}\n  aliases: {}\n",
                   "r.yml:15:3", "aliases"));
    /* a correlation over a rule of another product is not applicable */
    struct detect_rules *rs =
        load("title: w\nname: w\nlogsource: {product: windows}\ndetection:\n  s: {EventID: 4625}\n"
             "  condition: s\n---\ntitle: c\ncorrelation:\n  type: event_count\n  rules: w\n"
             "  timespan: 1m\n  condition: {gte: 1}\n");
    ASSERT(rs);
    ASSERT(!rs->rules[1]->applicable);
    detect_rules_free(rs);
}

TEST(grace_holds_a_storm_back_and_sums_it_up)
{
    struct detect_rules *rs = load(FAILED "title: guessing\nname: guessing\ngrace: 5m\n"
                                          "correlation:\n  type: event_count\n  rules: failed\n"
                                          "  group-by: [duser]\n  timespan: 60s\n"
                                          "  condition: {gte: 3}\n");
    ASSERT(rs);
    ASSERT_EQ(rs->rules[1]->grace_us, 300 * 1000000LL);
    /* the replay before a restart covers the window and the grace */
    ASSERT_EQ(detect_rules_replay_us(rs), 360 * 1000000LL);
    struct detect_engine *e;
    ASSERT_OK(detect_engine_new(rs, &e));
    n_fires = 0;
    const char *id = "auth_entrypoints_oidc_auth_failed";
    /* a storm: 30 failures of alice, one a second; the window fires every third */
    for (uint64_t i = 0; i < 30; i++)
        feed(e, mkev(id, 1000 + (int64_t)i, 1 + i, "duser=alice", NULL));
    /* and bob's own alert is not held back by alice's grace */
    for (uint64_t i = 0; i < 3; i++)
        feed(e, mkev(id, 1030 + (int64_t)i, 31 + i, "duser=bob", NULL));
    ASSERT_EQ(n_fires, 2);
    ASSERT_STREQ(fires[0].group, "alice");
    ASSERT_EQ(fires[0].first, 1);
    ASSERT_EQ(fires[0].last, 3);
    ASSERT_EQ(fires[0].grace_until, 1002 + 300);
    ASSERT(!fires[0].summary);
    ASSERT_STREQ(fires[1].group, "bob");
    /* time passes alice's grace (1302): one summary of the nine firings held back */
    feed(e, mkev("prism_user_locked", 1301, 34, NULL));
    ASSERT_EQ(n_fires, 2);
    feed(e, mkev("prism_user_locked", 1302, 35, NULL));
    ASSERT_EQ(n_fires, 3);
    ASSERT(fires[2].summary);
    ASSERT_STREQ(fires[2].group, "alice");
    ASSERT_EQ(fires[2].count, 9);
    ASSERT_EQ(fires[2].n_seqs, 9);
    ASSERT_EQ(fires[2].first, 6); /* the seqs that fired, held back: 6, 9, ..., 30 */
    ASSERT_EQ(fires[2].last, 30);
    ASSERT_EQ(fires[2].start, 1005);
    ASSERT_EQ(fires[2].end, 1029);
    ASSERT_EQ(fires[2].updates_seq, 3);
    /* bob's grace held nothing: no summary at its end */
    feed(e, mkev("prism_user_locked", 1400, 36, NULL));
    ASSERT_EQ(n_fires, 3);
    /* after the grace, alice alerts again, with a grace of her own */
    for (uint64_t i = 0; i < 3; i++)
        feed(e, mkev(id, 1500 + (int64_t)i, 37 + i, "duser=alice", NULL));
    ASSERT_EQ(n_fires, 4);
    ASSERT(!fires[3].summary);
    ASSERT_EQ(fires[3].grace_until, 1502 + 300);
    detect_engine_free(e);
    detect_rules_free(rs);

    /* a detection rule: one group; the end of the input closes the grace (rules test) */
    rs = load("title: locked\nname: locked\ngrace: 1h\nlogsource: {product: trail}\n"
              "detection:\n  s: {id: prism_user_locked}\n  condition: s\n");
    ASSERT(rs);
    ASSERT_OK(detect_engine_new(rs, &e));
    n_fires = 0;
    struct trail_event *last = NULL;
    for (uint64_t i = 0; i < 5; i++) {
        trail_event_free(last);
        last = mkev("prism_user_locked", 2000 + (int64_t)i, 1 + i, NULL);
        detect_engine_feed(e, last, on_alert, NULL);
    }
    ASSERT_EQ(n_fires, 1);
    ASSERT_EQ(detect_engine_finish(e, last, on_alert, NULL), 1);
    ASSERT_EQ(n_fires, 2);
    ASSERT(fires[1].summary);
    ASSERT_EQ(fires[1].count, 4);
    ASSERT_EQ(fires[1].updates_seq, 1);
    trail_event_free(last);
    detect_engine_free(e);
    detect_rules_free(rs);

    /* bad input: clear error where it is; nothing else refused */
    ASSERT(refused(HEAD "grace: soon\ndetection:\n  s: {id: x}\n  condition: s\n", "r.yml:4:8",
                   "grace: expected a positive length"));
    ASSERT(refused(HEAD "grace: [5m]\ndetection:\n  s: {id: x}\n  condition: s\n", "r.yml:4:8",
                   "grace: expected"));
}

TEST(alerts_are_never_evaluated)
{
    struct detect_rules *rs = load("title: any\nname: any\nlogsource: {product: trail}\n"
                                   "detection:\n  s:\n    id: trail_*\n  condition: s\n");
    ASSERT(rs);
    struct detect_engine *e;
    ASSERT_OK(detect_engine_new(rs, &e));
    n_fires = 0;
    struct trail_event *ev = mkev("trail_alert", 1000, 1, NULL);
    trail_event_mark_own(ev);
    feed(e, ev);
    ASSERT_EQ(n_fires, 0); /* a rule over alerts would feed on its own output */
    ev = mkev("trail_event_rejected", 1000, 2, NULL);
    trail_event_mark_own(ev);
    feed(e, ev);
    ASSERT_EQ(n_fires, 1);
    detect_engine_free(e);
    detect_rules_free(rs);
}

TEST(glob)
{
    ASSERT(detect_glob("a*b?c", 5, "axxbyc", 6, true));
    ASSERT(!detect_glob("a*b?c", 5, "axxbc", 5, true));
    ASSERT(detect_glob("*", 1, "", 0, true));
    ASSERT(detect_glob("?", 1, "\xc3\xa5", 2, true)); /* one character, two bytes */
    ASSERT(detect_glob("a\\\\b", 4, "a\\b", 3, true));
    ASSERT(detect_glob("a\\b", 3, "a\\b", 3, true));
    ASSERT(detect_glob("*x*y*", 5, "..x..x..y", 9, true));
    ASSERT(!detect_glob("*x*y*", 5, "..y..x..", 8, true));
}

int main(void)
{
    if (trail_catalog_new(&cat) < 0)
        return 1;
    static const char *const names[] = {"plain_values_case_insensitive",
                                        "wildcards_and_modifiers",
                                        "numbers_addresses_severity",
                                        "provenance_fields",
                                        "keywords_lists_of_maps_conditions",
                                        "metadata_and_logsource",
                                        "warnings_for_fields_the_catalog_never_carries",
                                        "malformed_rules",
                                        "one_bad_rule_leaves_its_neighbours",
                                        "event_count_by_group",
                                        "value_count_spraying",
                                        "temporal_and_ordered",
                                        "chained_correlations_and_conditions",
                                        "range_condition",
                                        "malformed_correlations",
                                        "grace_holds_a_storm_back_and_sums_it_up",
                                        "alerts_are_never_evaluated",
                                        "glob"};
    static const harness_fn fns[] = {test_plain_values_case_insensitive,
                                     test_wildcards_and_modifiers,
                                     test_numbers_addresses_severity,
                                     test_provenance_fields,
                                     test_keywords_lists_of_maps_conditions,
                                     test_metadata_and_logsource,
                                     test_warnings_for_fields_the_catalog_never_carries,
                                     test_malformed_rules,
                                     test_one_bad_rule_leaves_its_neighbours,
                                     test_event_count_by_group,
                                     test_value_count_spraying,
                                     test_temporal_and_ordered,
                                     test_chained_correlations_and_conditions,
                                     test_range_condition,
                                     test_malformed_correlations,
                                     test_grace_holds_a_storm_back_and_sums_it_up,
                                     test_alerts_are_never_evaluated,
                                     test_glob};
    int r = harness_run(names, fns, (int)(sizeof fns / sizeof fns[0]));
    trail_catalog_free(cat);
    return r;
}
