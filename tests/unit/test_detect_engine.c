/*
 * test_detect_engine.c - the detection engine's fast roads against the slow
 * ones: the index of rules by event id, origin and severity
 * (lib/detect/index.c) against trying every rule on every event
 * (detect_match), skimming records by their head (detect_engine_skim, as
 * traild does before it decodes one) against feeding every one, and the
 * correlations' tables (groups that go and come back, value_count's distinct
 * values that come and go) against a brute force written here, over random
 * rules and events from a fixed seed.
 *
 * Not here: reading rules and the meaning of each construct (test_detect.c).
 */
#include "detect_int.h"
#include "harness.h"

#include <stdarg.h>

static struct trail_catalog *cat;
static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng_state >> 33) % n;
}

static const char *pick(const char *const *v, size_t n)
{
    return v[rnd((uint32_t)n)];
}

#define PICK(v) pick(v, sizeof v / sizeof v[0])

static void on_diag(void *ctx, const struct detect_diag *d)
{
    (void)ctx;
    if (!d->warning)
        fprintf(stderr, "  %s:%u:%u: %s\n", d->file, d->line, d->column, d->msg);
}

static struct detect_rules *load(const char *text)
{
    struct detect_rules *rs;
    if (detect_rules_new(cat, &rs) < 0)
        return NULL;
    if (detect_rules_add(rs, "r.yml", text, strlen(text), on_diag, NULL) != 0 ||
        detect_rules_finish(rs, on_diag, NULL) != 0) {
        detect_rules_free(rs);
        return NULL;
    }
    return rs;
}

/* ---- the index against every rule tried -------------------------------------------- */

static const char *const ids[] = {"auth_entrypoints_oidc_auth_failed",
                                  "auth_entrypoints_saml_auth_failed",
                                  "prism_user_locked",
                                  "prism_user_unlocked",
                                  "core_server_config_updated",
                                  "trail_event_rejected",
                                  "Prism_User_Locked",
                                  "made_up_event"};

/* a `field: value` line of a selection map whose field is not `other`'s */
static const char *field_line(const char *other)
{
    static const char *const lines[] = {
        "id: prism_user_locked",
        "id: PRISM_USER_LOCKED",
        "id|cased: prism_user_locked",
        "id: [auth_entrypoints_oidc_auth_failed, core_server_*]",
        "id: auth_*_failed",
        "id: prism_user_?ocked",
        "id|contains: user",
        "id|endswith: _failed",
        "id|re: '^(prism|core)_'",
        "id|contains|all: [auth, saml]",
        "id|exists: true",
        "id: null",
        "'@origin': trail",
        "'@origin': producer",
        "'@origin|startswith': TR",
        "host: idp1",
        "host: idp*",
        "duser: alice",
        "duser|startswith: b",
        "duser|exists: false",
        "src|cidr: 192.0.2.0/24",
        "src: 198.51.100.7",
        "severity|gte: 5",
        "severity: 3",
    };
    for (;;) {
        const char *l = PICK(lines);
        size_t k = strcspn(l, "|:");
        if (!other || strncmp(l, other, k) != 0 || strcspn(other, "|:") != k)
            return l;
    }
}

/* a selection map of one or two fields */
static void add_map(char *buf, size_t size, const char *name)
{
    const char *a = field_line(NULL), *b = rnd(2) ? field_line(a) : NULL;
    size_t n = strlen(buf);
    snprintf(buf + n, size - n, "  %s:\n    %s\n%s%s%s", name, a, b ? "    " : "", b ? b : "",
             b ? "\n" : "");
}

static void gen_rule(char *buf, size_t size, int i)
{
    static const char *const conds[] = {"a",         "not a",       "a and b",
                                        "a or b",    "a and not b", "not (a or b)",
                                        "1 of them", "all of them", "not a and not b or kw",
                                        "kw and a",  "a or kw"};
    static const char *const keywords[] = {"locked", "*_failed", "alice", "idp2", "nothing"};
    snprintf(buf, size, "%stitle: r%d\nlogsource: {product: trail}\ndetection:\n", i ? "---\n" : "",
             i);
    add_map(buf, size, "a");
    add_map(buf, size, "b");
    size_t n = strlen(buf);
    snprintf(buf + n, size - n, "  kw:\n    - '%s'\n    - '%s'\n  condition: %s\n", PICK(keywords),
             PICK(keywords), PICK(conds));
}

static void gen_event(struct trail_event *ev, const char *id, uint64_t seq)
{
    static const char *const users[] = {"alice", "bob", "Alice", "carol"};
    static const char *const srcs[] = {"192.0.2.9", "198.51.100.7", "203.0.113.1", "not an ip"};
    trail_event_reset(ev, id, strlen(id));
    trail_event_set_seq(ev, seq);
    trail_event_set_time(ev, 1795000000000000 + (int64_t)seq * 1000000);
    trail_event_set_severity(ev, 1 + (int)rnd(10));
    trail_event_set_host(ev, rnd(2) ? "idp1" : "idp2", 4);
    if (rnd(4)) {
        const char *u = PICK(users);
        trail_event_set_string(ev, "duser", u, strlen(u));
    }
    if (rnd(3)) {
        const char *s = PICK(srcs);
        trail_event_set_string(ev, "src", s, strlen(s));
    }
    if (rnd(5) == 0)
        trail_event_mark_own(ev);
}

/* every alert of the engine, as (rule index, seq) */
struct seen {
    const struct detect_rules *rs;
    size_t n;
    uint64_t v[1 << 16];
};

static void on_alert(void *ctx, const struct detect_alert *a)
{
    struct seen *s = ctx;
    size_t i = 0;
    while (s->rs->rules[i] != a->rule)
        i++;
    if (s->n < sizeof s->v / sizeof s->v[0])
        s->v[s->n++] = trail_event_seq(a->ev) << 16 | i;
}

/* events of id_of(k) fed to an engine and tried against every rule: the same alerts */
static int agree(struct detect_rules *rs, int n_events, int distinct_ids)
{
    static struct seen got, want;
    struct detect_engine *e;
    struct trail_event *ev;
    if (detect_engine_new(rs, &e) < 0 || trail_event_new(cat, "x", &ev) < 0)
        return 0;
    got = (struct seen){.rs = rs};
    want = (struct seen){.rs = rs};
    int ok = 1;
    for (int k = 0; k < n_events && ok; k++) {
        char made[64];
        const char *id = PICK(ids);
        if (distinct_ids) {
            snprintf(made, sizeof made, "made_up_%d_locked", k % distinct_ids);
            id = made;
        }
        gen_event(ev, id, (uint64_t)k + 1);
        if (detect_engine_feed(e, ev, on_alert, &got) < 0)
            ok = 0;
        for (size_t i = 0; i < rs->n_rules; i++)
            if (detect_match(rs->rules[i], ev) && want.n < sizeof want.v / sizeof want.v[0])
                want.v[want.n++] = (uint64_t)(k + 1) << 16 | i;
    }
    if (got.n != want.n) {
        fprintf(stderr, "  %zu alerts, %zu wanted\n", got.n, want.n);
        ok = 0;
    }
    for (size_t i = 0; ok && i < got.n; i++)
        if (got.v[i] != want.v[i]) {
            fprintf(stderr, "  alert %zu: seq %llu rule %llu, wanted seq %llu rule %llu\n", i,
                    (unsigned long long)(got.v[i] >> 16), (unsigned long long)(got.v[i] & 0xffff),
                    (unsigned long long)(want.v[i] >> 16),
                    (unsigned long long)(want.v[i] & 0xffff));
            ok = 0;
        }
    trail_event_free(ev);
    detect_engine_free(e);
    return ok;
}

TEST(the_index_agrees_with_every_rule_tried)
{
    static char text[1 << 17];
    for (int round = 0; round < 20; round++) {
        rng_state = 0x5eed0000u + (uint64_t)round;
        text[0] = '\0';
        for (int i = 0; i < 40; i++) {
            size_t n = strlen(text);
            gen_rule(text + n, sizeof text - n, i);
        }
        struct detect_rules *rs = load(text);
        ASSERT(rs);
        ASSERT_EQ(rs->n_rules, 40);
        ASSERT(agree(rs, 2000, 0));
        detect_rules_free(rs);
    }
}

TEST(ids_past_what_the_index_keeps)
{
    /* more distinct ids than the index keeps (MAX_IDS, 16384): the ones past it are
       worked out at each event, and still right */
    rng_state = 0xfeed;
    struct detect_rules *rs = load("title: a\nlogsource: {product: trail}\ndetection:\n"
                                   "  s:\n    id: made_up_1*\n  condition: s\n---\n"
                                   "title: b\nlogsource: {product: trail}\ndetection:\n"
                                   "  s:\n    id|endswith: 7_locked\n  t:\n    duser: alice\n"
                                   "  condition: s and not t\n---\n"
                                   "title: c\nlogsource: {product: trail}\ndetection:\n"
                                   "  k:\n    - '*99_*'\n  condition: k\n");
    ASSERT(rs);
    ASSERT(agree(rs, 40000, 20000));
    detect_rules_free(rs);
}

/* ---- correlations against a brute force ------------------------------------------------ */

/* a brute force of one correlation over events in time order (docs/detection.md,
   "Windows"): per group (a user), the matches within timespan of the group's latest
   time; a window that fires starts over */
#define BF_USERS 4096
#define BF_MAX   256

struct bf_group {
    int64_t t[BF_MAX];
    uint64_t seq[BF_MAX];
    uint32_t val[BF_MAX];
    size_t n;
};

static struct bf_group *bf; /* by user */

static uint64_t bf_count(const struct bf_group *g, bool values)
{
    static uint32_t mark[4096], stamp;
    if (!values)
        return g->n;
    uint64_t d = 0;
    stamp++;
    for (size_t i = 0; i < g->n; i++)
        if (mark[g->val[i]] != stamp) {
            mark[g->val[i]] = stamp;
            d++;
        }
    return d;
}

struct fired {
    uint64_t seq, count, n_seqs, first;
    char group[32];
};

static struct fired got_fires[1 << 16];
static size_t n_got;

static void on_fire(void *ctx, const struct detect_alert *a)
{
    (void)ctx;
    if (!a->rule->corr || n_got == sizeof got_fires / sizeof got_fires[0])
        return;
    struct fired *f = &got_fires[n_got++];
    f->seq = trail_event_seq(a->ev);
    f->count = a->count;
    f->n_seqs = a->n_seqs;
    f->first = a->first_seqs[0];
    snprintf(f->group, sizeof f->group, "%s", a->n_group ? a->group_values[0] : "");
}

/*
 * A correlation grouped by user (`users` of them, each with values out of `values`),
 * the time moving on by 0..gap ms at each event (so that windows slide, groups empty,
 * are swept every 1024 matches and come back), against the brute force.
 */
static int corr_agrees(bool value_count, unsigned users, unsigned values, unsigned gap,
                       unsigned threshold, int n_events)
{
    char text[1024];
    snprintf(text, sizeof text,
             "title: base\nname: base\nlogsource: {product: trail}\ndetection:\n"
             "  s:\n    id: auth_entrypoints_oidc_auth_failed\n  condition: s\n---\n"
             "title: corr\ncorrelation:\n  type: %s\n  rules: base\n  group-by: [duser]\n"
             "  timespan: 60s\n  condition: {gte: %u%s}\n",
             value_count ? "value_count" : "event_count", threshold,
             value_count ? ", field: suser" : "");
    struct detect_rules *rs = load(text);
    struct detect_engine *e;
    struct trail_event *ev;
    if (!rs || users > BF_USERS || values > 4096 || detect_engine_new(rs, &e) < 0 ||
        trail_event_new(cat, "x", &ev) < 0)
        return 0;
    memset(bf, 0, BF_USERS * sizeof *bf);
    n_got = 0;
    int ok = 1;
    size_t n_want = 0;
    int64_t t = 1795000000000; /* ms, pinned */
    for (int k = 0; k < n_events && ok; k++) {
        uint64_t seq = (uint64_t)k + 1;
        uint32_t u = rnd(users), v = rnd(values);
        char user[16], val[16];
        t += rnd(gap + 1);
        snprintf(user, sizeof user, "u%u", u);
        snprintf(val, sizeof val, "v%u", v);
        const char *id = rnd(8) ? "auth_entrypoints_oidc_auth_failed" : "prism_user_locked";
        trail_event_reset(ev, id, strlen(id));
        trail_event_set_seq(ev, seq);
        trail_event_set_time(ev, t * 1000);
        trail_event_set_string(ev, "duser", user, strlen(user));
        bool has_val = rnd(10) != 0;
        if (has_val)
            trail_event_set_string(ev, "suser", val, strlen(val));
        if (detect_engine_feed(e, ev, on_fire, NULL) < 0)
            ok = 0;
        /* the brute force */
        if (id[0] != 'a' || (value_count && !has_val))
            continue;
        struct bf_group *g = &bf[u];
        size_t w = 0;
        for (size_t i = 0; i < g->n; i++)
            if (g->t[i] >= t - 60000) {
                g->t[w] = g->t[i];
                g->seq[w] = g->seq[i];
                g->val[w] = g->val[i];
                w++;
            }
        g->n = w;
        if (g->n == BF_MAX) {
            fprintf(stderr, "  the brute force's window is too small for this test\n");
            ok = 0;
            break;
        }
        g->t[g->n] = t;
        g->seq[g->n] = seq;
        g->val[g->n] = v;
        g->n++;
        uint64_t c = bf_count(g, value_count);
        if (c < threshold)
            continue;
        const struct fired *f = n_want < n_got ? &got_fires[n_want] : NULL;
        if (!f || f->seq != seq || f->count != c || f->n_seqs != g->n || f->first != g->seq[0] ||
            strcmp(f->group, user) != 0) {
            fprintf(stderr, "  alert %zu: wanted seq %llu %s count %llu of %zu from %llu; got ",
                    n_want, (unsigned long long)seq, user, (unsigned long long)c, g->n,
                    (unsigned long long)g->seq[0]);
            if (f)
                fprintf(stderr, "seq %llu %s count %llu of %llu from %llu\n",
                        (unsigned long long)f->seq, f->group, (unsigned long long)f->count,
                        (unsigned long long)f->n_seqs, (unsigned long long)f->first);
            else
                fprintf(stderr, "none\n");
            ok = 0;
        }
        n_want++;
        g->n = 0;
    }
    if (ok && n_got != n_want) {
        fprintf(stderr, "  %zu alerts, %zu wanted\n", n_got, n_want);
        ok = 0;
    }
    if (ok && n_want < 10) {
        fprintf(stderr, "  %zu alerts: the test tests too little\n", n_want);
        ok = 0;
    }
    trail_event_free(ev);
    detect_engine_free(e);
    detect_rules_free(rs);
    return ok;
}

TEST(groups_that_go_and_come_back)
{
    /* 3000 users, two or three events each a minute: groups fire, empty, are swept
       and come back, many times over */
    rng_state = 0xabc;
    ASSERT(corr_agrees(false, 3000, 1, 20, 3, 60000));
    /* few users, each window fuller */
    rng_state = 0xabd;
    ASSERT(corr_agrees(false, 50, 1, 200, 8, 30000));
}

TEST(distinct_values_that_come_and_go)
{
    /* one group with a hundred-odd values of 400 in its window: the table of distinct
       values grows, and takes values out as their last entry leaves */
    rng_state = 0xdef;
    ASSERT(corr_agrees(true, 1, 400, 1000, 95, 40000));
    /* many groups of few values */
    rng_state = 0xdf0;
    ASSERT(corr_agrees(true, 2000, 5, 20, 3, 40000));
}

/* ---- skimming by the head of a record against feeding every record --------------------- */

/* every alert, whole: its rule, the event that fired it, and what it says */
struct told {
    size_t n;
    struct told_alert {
        uint32_t rule;
        uint64_t seq, count, n_seqs, first, updates;
        int64_t start, end, until;
        bool summary;
        char group[32];
    } v[1 << 14];
};

static const struct detect_rules *told_rs;

static void on_told(void *ctx, const struct detect_alert *a)
{
    struct told *t = ctx;
    if (t->n == sizeof t->v / sizeof t->v[0])
        return;
    struct told_alert *x = &t->v[t->n++];
    memset(x, 0, sizeof *x);
    while (told_rs->rules[x->rule] != a->rule)
        x->rule++;
    x->seq = trail_event_seq(a->ev);
    x->count = a->count;
    x->n_seqs = a->n_seqs;
    x->first = a->n_first ? a->first_seqs[0] : 0;
    x->updates = a->updates_seq;
    x->start = a->window_start_us;
    x->end = a->window_end_us;
    x->until = a->grace_until_us;
    x->summary = a->summary;
    snprintf(x->group, sizeof x->group, "%s", a->n_group ? a->group_values[0] : "");
}

TEST(skimming_records_changes_no_alert)
{
    /* rules of an id, of a severity, correlations over them, graces that end on records
       that no rule selects (so that skimming must hand those to feed), and in the first
       rounds the random rules of the index's test (which leave few records to skim) */
    static char text[1 << 17];
    static struct told fed, skimmed;
    static const char *const sk_ids[] = {"auth_entrypoints_oidc_auth_failed",
                                         "prism_user_locked",
                                         "core_server_config_updated",
                                         "made_up_event",
                                         "made_up_other",
                                         "auth_entrypoints_saml_auth_failed"};
    for (int round = 0; round < 6; round++) {
        rng_state = 0x5c1d0000u + (uint64_t)round;
        snprintf(text, sizeof text,
                 "title: failed\nname: failed\nlogsource: {product: trail}\ndetection:\n"
                 "  s:\n    id: auth_entrypoints_oidc_auth_failed\n  condition: s\n---\n"
                 "title: guess\ngrace: 30s\ncorrelation:\n  type: event_count\n"
                 "  rules: failed\n  group-by: [duser]\n  timespan: 20s\n"
                 "  condition: {gte: 3}\n---\n"
                 "title: spray\ncorrelation:\n  type: value_count\n  rules: failed\n"
                 "  group-by: [src]\n  timespan: 1m\n  condition: {gte: 3, field: duser}\n---\n"
                 "title: severe\ngrace: 10s\nlogsource: {product: trail}\ndetection:\n"
                 "  s:\n    severity|gte: ALERT\n  condition: s\n---\n"
                 "title: locked\ngrace: 5s\nlogsource: {product: trail}\ndetection:\n"
                 "  s:\n    id: prism_user_locked\n  t:\n    duser: alice\n"
                 "  condition: s and not t\n");
        int n_rules = round < 3 ? 25 : 5;
        for (int i = 5; i < n_rules; i++) {
            size_t n = strlen(text);
            snprintf(text + n, sizeof text - n, "---\n");
            gen_rule(text + n + 4, sizeof text - n - 4, 0);
            /* gen_rule titles them r0: make each its own */
            char *t = strstr(text + n, "title: r0");
            if (t) {
                char title[16];
                int k = snprintf(title, sizeof title, "title: r%02d", i);
                memmove(t + k, t + 9, strlen(t + 9) + 1);
                memcpy(t, title, (size_t)k);
            }
        }
        struct detect_rules *rs = load(text);
        ASSERT(rs);
        ASSERT_EQ(rs->n_rules, (size_t)n_rules);
        told_rs = rs;
        struct detect_engine *a, *b;
        struct trail_event *ev;
        ASSERT(detect_engine_new(rs, &a) == 0 && detect_engine_new(rs, &b) == 0);
        ASSERT(trail_event_new(cat, "x", &ev) == 0);
        fed.n = skimmed.n = 0;
        size_t n_fed = 0;
        for (uint64_t seq = 1; seq <= 6000; seq++) {
            const char *id = PICK(sk_ids);
            gen_event(ev, id, seq);
            /* time moves on by 0..4 s, now and then by a minute (graces end on whatever
               comes next), and now and then goes back (a producer's clock) */
            trail_event_set_time(ev, 1795000000000000 + (int64_t)seq * 700000 +
                                         (rnd(50) == 0 ? -30000000 : 0) +
                                         (int64_t)(seq / 500) * 60000000);
            if (rnd(40) == 0) {
                trail_event_reset(ev, "trail_alert", 11);
                trail_event_set_seq(ev, seq);
                trail_event_set_time(ev, 1795000000000000 + (int64_t)seq * 900000);
                trail_event_set_severity(ev, 10);
                trail_event_mark_own(ev);
            }
            ASSERT(detect_engine_feed(a, ev, on_told, &fed) >= 0);
            const char *eid = trail_event_id(ev);
            if (detect_engine_skim(b, eid, strlen(eid), trail_event_is_own(ev) != 0,
                                   trail_event_severity(ev), trail_event_time(ev))) {
                n_fed++;
                ASSERT(detect_engine_feed(b, ev, on_told, &skimmed) >= 0);
            }
        }
        ASSERT_EQ(skimmed.n, fed.n);
        for (size_t i = 0; i < fed.n; i++)
            if (memcmp(&fed.v[i], &skimmed.v[i], sizeof fed.v[i]) != 0) {
                fprintf(stderr,
                        "  round %d alert %zu: rule %u seq %llu%s, skimmed: rule %u seq %llu%s\n",
                        round, i, fed.v[i].rule, (unsigned long long)fed.v[i].seq,
                        fed.v[i].summary ? " (summary)" : "", skimmed.v[i].rule,
                        (unsigned long long)skimmed.v[i].seq,
                        skimmed.v[i].summary ? " (summary)" : "");
                ASSERT(0);
            }
        /* the test tests something: alerts of every kind, and records skimmed */
        size_t summaries = 0;
        for (size_t i = 0; i < fed.n; i++)
            summaries += fed.v[i].summary;
        ASSERT(fed.n > 50);
        ASSERT(summaries > 5);
        if (n_rules == 5)
            ASSERT(n_fed < 6000 * 6 / 10);
        trail_event_free(ev);
        detect_engine_free(a);
        detect_engine_free(b);
        detect_rules_free(rs);
    }
}

int main(void)
{
    if (trail_catalog_new(&cat) < 0 || !(bf = calloc(BF_USERS, sizeof *bf)))
        return 1;
    static const char *const names[] = {
        "the_index_agrees_with_every_rule_tried", "ids_past_what_the_index_keeps",
        "groups_that_go_and_come_back", "distinct_values_that_come_and_go",
        "skimming_records_changes_no_alert"};
    static const harness_fn fns[] = {
        test_the_index_agrees_with_every_rule_tried, test_ids_past_what_the_index_keeps,
        test_groups_that_go_and_come_back, test_distinct_values_that_come_and_go,
        test_skimming_records_changes_no_alert};
    int r = harness_run(names, fns, (int)(sizeof fns / sizeof fns[0]));
    free(bf);
    trail_catalog_free(cat);
    return r;
}
