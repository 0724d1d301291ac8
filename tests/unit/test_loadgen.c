/*
 * test_loadgen.c - the workload generator: determinism, time order, validity
 * of every event against the catalog, and the shape of the simulated traffic.
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
    int failed;   /* ids ending in _failed */
    int locked;   /* prism_user_locked */
    int unlocked; /* prism_user_unlocked */
    int distinct_ids;
    int ipv6;
    int office; /* 08:00-17:00 on weekdays */
    int night;  /* 00:00-05:00 */
    int with_trace;
    int64_t first, last;
};

static void run_shape(uint64_t seed, int n, uint32_t days, struct shape *s)
{
    struct trail_loadgen_opts o = {.seed = seed, .events = (uint64_t)n, .days = days};
    struct trail_loadgen *g;
    struct trail_event *ev;
    static char seen[4096];
    memset(s, 0, sizeof(*s));
    memset(seen, 0, sizeof(seen));
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
        uint64_t h = 0;
        for (const char *p = id; *p; p++)
            h = h * 131 + (unsigned char)*p;
        if (!seen[h % sizeof(seen)]) {
            seen[h % sizeof(seen)] = 1;
            s->distinct_ids++;
        }
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
    /* repeated failures lock accounts, and some get unlocked */
    ASSERT(s.locked > 10);
    ASSERT(s.unlocked > 0);
    /* a broad part of the catalog is exercised */
    ASSERT(s.distinct_ids > 90);
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

TEST_MAIN(same_seed_same_events_other_seed_other_events, every_event_valid_and_in_time_order,
          traffic_has_the_shape_of_an_identity_server, flows_share_trace_ids)
