/*
 * test_loadgen.c - the workload generator: determinism, time order, validity
 * of every event against the catalog, and the shape of the simulated traffic:
 * that of a real identity server, on which the rule pack stays quiet
 * (tests/integration/loadgen_quiet.sh runs the pack): a population that follows
 * the volume, no user with a large share of it, a serial per token, locks
 * that expire, and nothing in it that the pack reports by design.
 */
#include "harness.h"
#include "event/event.h"

#include <stdlib.h>

static struct trail_catalog *cat(void)
{
    static struct trail_catalog *c;
    if (!c && trail_catalog_new(&c) != 0)
        abort();
    return c;
}

/* a digest of one event's id, time, host and attributes, for comparing runs */
static uint64_t event_digest(const struct trail_event *ev)
{
    uint64_t h = 1469598103934665603ULL;
    char text[8192];
#define MIX(p, n)                                                                                  \
    for (size_t i_ = 0; i_ < (n); i_++)                                                            \
    h = (h ^ ((const unsigned char *)(p))[i_]) * 1099511628211ULL
    MIX(trail_event_id(ev), strlen(trail_event_id(ev)));
    int64_t t = trail_event_time(ev);
    MIX(&t, sizeof(t));
    MIX(trail_event_host(ev), strlen(trail_event_host(ev)));
    for (size_t i = 0; i < trail_event_attr_count(ev); i++) {
        const char *k;
        struct trail_value v;
        trail_event_attr_at(ev, i, &k, &v);
        size_t n = trail_value_format(&v, text, sizeof(text));
        MIX(k, strlen(k));
        MIX(text, n < sizeof(text) ? n : sizeof(text) - 1);
    }
#undef MIX
    return h;
}

TEST(same_seed_same_events_other_seed_other_events)
{
    struct trail_loadgen_opts o = {.seed = 42, .events = 5000};
    struct trail_loadgen *a, *b, *c;
    struct trail_event *ea, *eb, *ec;
    ASSERT_OK(trail_loadgen_new(cat(), &o, &a));
    ASSERT_OK(trail_loadgen_new(cat(), &o, &b));
    o.seed = 43;
    ASSERT_OK(trail_loadgen_new(cat(), &o, &c));
    ASSERT_OK(trail_event_new(cat(), "core_server_run_started", &ea));
    ASSERT_OK(trail_event_new(cat(), "core_server_run_started", &eb));
    ASSERT_OK(trail_event_new(cat(), "core_server_run_started", &ec));
    int differ = 0;
    for (int i = 0; i < 5000; i++) {
        ASSERT_OK(trail_loadgen_next(a, ea));
        ASSERT_OK(trail_loadgen_next(b, eb));
        ASSERT_OK(trail_loadgen_next(c, ec));
        ASSERT_EQ(event_digest(ea), event_digest(eb));
        differ += event_digest(ea) != event_digest(ec);
    }
    ASSERT(differ > 4000);
    ASSERT_EQ(trail_loadgen_count(a), 5000);
    trail_event_free(ea);
    trail_event_free(eb);
    trail_event_free(ec);
    trail_loadgen_free(a);
    trail_loadgen_free(b);
    trail_loadgen_free(c);
}

struct shape {
    int n;
    int invalid;
    int out_of_order;
    int failed;     /* ids ending in _failed */
    int locked;     /* prism_user_locked */
    int unlocked;   /* prism_user_unlocked */
    uint64_t kinds; /* bit i: an event of KINDS[i] was seen */
    int ipv6;
    int office; /* 08:00-17:00 on weekdays */
    int night;  /* 00:00-05:00 */
    int with_trace;
    int64_t first, last;
};

/* one event of each kind of flow, of each authentication method and of the schedules */
static const char *const KINDS[] = {
    "auth_entrypoints_saml_auth_started",               /* SAML */
    "auth_entrypoints_oidc_auth_started",               /* OIDC */
    "auth_entrypoints_internal_auth_started",           /* internal */
    "auth_authenticators_relay_session_created",        /* relay */
    "radius_authenticators_failed",                     /* RADIUS */
    "core_bankid_auth_started",                         /* BankID */
    "core_freja_auth_started",                          /* Freja */
    "auth_authenticators_fido_successful",              /* FIDO */
    "core_siths_auth_started",                          /* SITHS */
    "pipes_authentication_failed_incrementlockcounter", /* a password */
    "pipes_sms_delivered",                              /* OTP by SMS */
    "pki_onetouch_assignment_created",                  /* OneTouch */
    "prism_pwdreset_success",                           /* self-service */
    "prism_token_enrolled",
    "prism_fido_enrolled",
    "pki_onetouch_profile_created",
    "prism_token_revoked",
    "core_internaluser_passwordchanged",
    "prism_user_locked",               /* someone who forgot their password */
    "store_config_apicall",            /* administrators' tools */
    "schedule_scheduledjob_performed", /* the schedules */
    "saml_metadata_loaded",
    "auth_entrypoints_oidc_consent_prompted",
    "auth_entrypoints_saml_logout_started",
};

static void run_shape(uint64_t seed, int n, uint32_t days, struct shape *s)
{
    struct trail_loadgen_opts o = {.seed = seed, .events = (uint64_t)n, .days = days};
    struct trail_loadgen *g;
    struct trail_event *ev;
    memset(s, 0, sizeof(*s));
    if (trail_loadgen_new(cat(), &o, &g) || trail_event_new(cat(), "core_server_run_started", &ev))
        abort();
    int64_t prev = INT64_MIN;
    for (int i = 0; i < n; i++) {
        if (trail_loadgen_next(g, ev) != 0)
            abort();
        s->n++;
        if (trail_event_validate(ev) != 0) {
            if (s->invalid++ < 5)
                fprintf(stderr, "  invalid: %s: %s\n", trail_event_id(ev), trail_event_error(ev));
        }
        int64_t t = trail_event_time(ev);
        s->out_of_order += t < prev;
        prev = t;
        if (i == 0)
            s->first = t;
        s->last = t;
        const char *id = trail_event_id(ev);
        size_t len = strlen(id);
        s->failed += len > 7 && strcmp(id + len - 7, "_failed") == 0;
        s->locked += strcmp(id, "prism_user_locked") == 0;
        s->unlocked += strcmp(id, "prism_user_unlocked") == 0;
        for (size_t k = 0; k < TRAIL_ARRAY_SIZE(KINDS); k++)
            if (strcmp(id, KINDS[k]) == 0)
                s->kinds |= 1ULL << k;
        struct trail_value v;
        if (trail_event_attr_get(ev, "src", &v) == 0 && v.u.ip.family == 6)
            s->ipv6++;
        if (trail_event_attr_get(ev, "phxTraceId", &v) == 0)
            s->with_trace++;
        int64_t secs = t / 1000000;
        int hour = (int)(secs % 86400 / 3600);
        int weekday = (int)((secs / 86400 + 3) % 7);
        s->office += weekday < 5 && hour >= 8 && hour < 17;
        s->night += hour < 5;
    }
    trail_event_free(ev);
    trail_loadgen_free(g);
}

TEST(every_event_valid_and_in_time_order)
{
    struct shape s;
    run_shape(7, 50000, 7, &s);
    ASSERT_EQ(s.invalid, 0);
    ASSERT_EQ(s.out_of_order, 0);
    ASSERT_EQ(s.n, 50000);
}

TEST(traffic_has_the_shape_of_an_identity_server)
{
    struct shape s;
    run_shape(11, 60000, 7, &s);
    /* failures are present but not most of the traffic */
    ASSERT(s.failed > s.n / 100);
    ASSERT(s.failed < s.n / 4);
    /* three failures in a row lock an account: a few a week (people who forgot their
       password), far fewer than the failures; a reset unlocks some */
    ASSERT(s.locked > 0);
    ASSERT(s.locked < s.failed / 20);
    ASSERT(s.unlocked > 0);
    /* a broad part of the catalog is exercised: every kind of flow and method */
    for (size_t k = 0; k < TRAIL_ARRAY_SIZE(KINDS); k++)
        if (!(s.kinds & (1ULL << k)))
            FAIL_AT("no %s in 60000 events", KINDS[k]);
    /* both address families */
    ASSERT(s.ipv6 > s.n / 20);
    /* office hours are busier than nights: 45 office hours vs 35 night hours a week */
    ASSERT(s.office > 4 * s.night);
    /* the events cover the week they were asked to cover, roughly */
    double days = (double)(s.last - s.first) / 86400e6;
    if (days < 5.0 || days > 9.0)
        FAIL_AT("60000 events over 7 days covered %.2f days", days);
}

TEST(flows_share_trace_ids)
{
    struct trail_loadgen_opts o = {.seed = 3, .events = 20000};
    struct trail_loadgen *g;
    struct trail_event *ev;
    ASSERT_OK(trail_loadgen_new(cat(), &o, &g));
    ASSERT_OK(trail_event_new(cat(), "core_server_run_started", &ev));
    /* a SAML flow: every event from started to successful carries one trace id */
    char trace[32] = "";
    int started = 0, joined = 0;
    for (int i = 0; i < 20000; i++) {
        ASSERT_OK(trail_loadgen_next(g, ev));
        struct trail_value v;
        if (trail_event_attr_get(ev, "phxTraceId", &v) != 0)
            continue;
        if (strcmp(trail_event_id(ev), "auth_entrypoints_saml_auth_started") == 0 && !started) {
            snprintf(trace, sizeof(trace), "%.*s", (int)v.u.str.len, v.u.str.ptr);
            started = 1;
        } else if (started && v.u.str.len == strlen(trace) &&
                   memcmp(v.u.str.ptr, trace, v.u.str.len) == 0) {
            joined++;
        }
    }
    ASSERT(started);
    ASSERT(joined >= 1);
    trail_event_free(ev);
    trail_loadgen_free(g);
}

/* What a day of the generator's traffic holds, told by user and by token. */
struct day {
    uint64_t n, with_user;
    size_t users;           /* distinct duser */
    uint64_t busiest;       /* events of the busiest user */
    uint64_t enrolments;    /* prism_token_enrolled */
    size_t serials;         /* distinct token_serial among them */
    uint64_t config_reads;  /* store_config_apicall with requestMethod GET */
    uint64_t config_writes; /* core_server_config_updated, or the API with another method */
    uint64_t cert_warnings; /* messagingapns_certificate_warning */
    uint64_t locked;        /* prism_user_locked */
};

/* an open-addressing set of strings with a count each (the test's own, no library's) */
struct tally {
    char **key;
    uint64_t *count;
    size_t cap, n;
};

static uint64_t *tally_add(struct tally *t, const char *s, size_t len)
{
    if ((t->n + 1) * 2 > t->cap) {
        struct tally b = {calloc(t->cap ? t->cap * 2 : 1024, sizeof(char *)),
                          calloc(t->cap ? t->cap * 2 : 1024, sizeof(uint64_t)),
                          t->cap ? t->cap * 2 : 1024, 0};
        if (!b.key || !b.count)
            abort();
        for (size_t i = 0; i < t->cap; i++)
            if (t->key[i])
                *tally_add(&b, t->key[i], strlen(t->key[i])) = t->count[i], free(t->key[i]);
        free(t->key);
        free(t->count);
        *t = b;
    }
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    size_t i = h & (t->cap - 1);
    while (t->key[i] && (strlen(t->key[i]) != len || memcmp(t->key[i], s, len) != 0))
        i = (i + 1) & (t->cap - 1);
    if (!t->key[i]) {
        if (!(t->key[i] = strndup(s, len)))
            abort();
        t->n++;
    }
    return &t->count[i];
}

static void tally_free(struct tally *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->key[i]);
    free(t->key);
    free(t->count);
}

static void run_day(struct trail_loadgen_opts *o, struct day *d)
{
    struct trail_loadgen *g;
    struct trail_event *ev;
    struct tally users = {0}, serials = {0};
    memset(d, 0, sizeof(*d));
    if (trail_loadgen_new(cat(), o, &g) || trail_event_new(cat(), "core_server_run_started", &ev))
        abort();
    for (uint64_t i = 0; i < o->events; i++) {
        if (trail_loadgen_next(g, ev) != 0)
            abort();
        d->n++;
        const char *id = trail_event_id(ev);
        struct trail_value v;
        if (trail_event_attr_get(ev, "duser", &v) == 0) {
            uint64_t *c = tally_add(&users, v.u.str.ptr, v.u.str.len);
            d->with_user++;
            if (++*c > d->busiest)
                d->busiest = *c;
        }
        if (strcmp(id, "prism_token_enrolled") == 0 &&
            trail_event_attr_get(ev, "token_serial", &v) == 0) {
            d->enrolments++;
            (*tally_add(&serials, v.u.str.ptr, v.u.str.len))++;
        }
        if (strcmp(id, "store_config_apicall") == 0) {
            int get = trail_event_attr_get(ev, "requestMethod", &v) == 0 && v.u.str.len == 3 &&
                      memcmp(v.u.str.ptr, "GET", 3) == 0;
            d->config_reads += get;
            d->config_writes += !get;
        }
        d->config_writes += strcmp(id, "core_server_config_updated") == 0;
        d->cert_warnings += strcmp(id, "messagingapns_certificate_warning") == 0;
        d->locked += strcmp(id, "prism_user_locked") == 0;
    }
    d->users = users.n;
    d->serials = serials.n;
    tally_free(&users);
    tally_free(&serials);
    trail_event_free(ev);
    trail_loadgen_free(g);
}

TEST(a_real_servers_day)
{
    /* a day of 100,000 events: the default population is one user per 25 events a day */
    struct trail_loadgen_opts o = {.seed = 5, .events = 100000, .days = 1};
    struct day d;
    run_day(&o, &d);
    ASSERT_EQ(d.n, 100000);
    /* thousands of people, each a few sign-ins: most of the 4,000 show up */
    ASSERT(d.users > 2500);
    ASSERT(d.users <= 4000);
    /* no user makes a large share of the traffic: the busiest a few hundred events, 30 times
       the mean at most (the old skew gave one user a tenth of it) */
    ASSERT(d.busiest * 1000 < d.with_user * 5);
    ASSERT(d.busiest < 30 * d.with_user / d.users);
    /* every token enrolled has a serial of its own */
    ASSERT(d.enrolments > 50);
    ASSERT_EQ(d.serials, d.enrolments);
    /* administrators' tools read the configuration; nobody changes it, and the push
       certificate is not about to expire: what the pack reports by design is not traffic */
    ASSERT(d.config_reads > 10);
    ASSERT_EQ(d.config_writes, 0);
    ASSERT_EQ(d.cert_warnings, 0);
    /* a few accounts lock (people who forgot their password) */
    ASSERT(d.locked > 0);
    ASSERT(d.locked * 1000 < d.n);

    /* the population asked for is kept: 1,000 users make the same volume busier */
    o.users = 1000;
    struct day busy;
    run_day(&o, &busy);
    ASSERT(busy.users <= 1000);
    ASSERT(busy.users > 900);
    ASSERT(busy.busiest > d.busiest);
}

TEST(the_certificate_warns_in_the_month_before_its_yearly_expiry)
{
    /* a few hundred events a day, read until day 366: the warnings come once a day in days
       335..364 */
    struct trail_loadgen_opts o = {.seed = 9, .events = 120000, .days = 400};
    struct trail_loadgen *g;
    struct trail_event *ev;
    ASSERT_OK(trail_loadgen_new(cat(), &o, &g));
    ASSERT_OK(trail_event_new(cat(), "core_server_run_started", &ev));
    int64_t start = 1793491200LL * 1000000, day_us = 86400LL * 1000000;
    int warnings = 0, outside = 0, wrong_left = 0;
    for (int i = 0; i < 1000000 && trail_event_time(ev) < start + 366 * day_us; i++) {
        ASSERT_OK(trail_loadgen_next(g, ev));
        if (strcmp(trail_event_id(ev), "messagingapns_certificate_warning") != 0)
            continue;
        int64_t day = (trail_event_time(ev) - start) / day_us;
        struct trail_value v;
        warnings++;
        outside += day < 335 || day >= 365;
        wrong_left += trail_event_attr_get(ev, "days_left", &v) != 0 || v.u.i != 365 - day;
    }
    /* the days that the events reached (the rhythm may leave the last ones out) */
    int64_t last_day = (trail_event_time(ev) - start) / day_us;
    ASSERT(last_day >= 365);
    ASSERT_EQ(warnings, 30);
    ASSERT_EQ(outside, 0);
    ASSERT_EQ(wrong_left, 0);
    trail_event_free(ev);
    trail_loadgen_free(g);
}

TEST_MAIN(same_seed_same_events_other_seed_other_events, every_event_valid_and_in_time_order,
          traffic_has_the_shape_of_an_identity_server, flows_share_trace_ids, a_real_servers_day,
          the_certificate_warns_in_the_month_before_its_yearly_expiry)
