/*
 * fuzz_query.c - libFuzzer target for the query-parameter parser:
 * trail_query_parse() on a URL query string (every parameter's own parser
 * behind it: times, globs, severity ranges, where conditions and networks,
 * text, order, limit, cursors, by), and the predicate on a few records.
 *
 * What the parser accepts must survive a round trip: formatting the query
 * (trail_query_format) and parsing that again gives a query that formats
 * to the same bytes and binds cursors to the same filters. An error must
 * come with a message. The accepted query is then run (qplan_match) on a
 * handful of fixed records, which must answer 0 or 1.
 *
 * Not here: searching through indexes (tests/unit/test_query_oracle.c). In
 * ordinary builds tests/fuzz/replay.c runs this over corpus/fuzz_query/.
 */
#include "query/query.h"

#include <stdio.h>
#include <stdlib.h>

static struct trail_catalog *cat;
static uint8_t recs[3][512];
static size_t rec_lens[3];

static void die(const char *what, const uint8_t *in, size_t in_len, const char *out)
{
    fprintf(stderr, "fuzz_query: %s\n input:  %.*s\n output: %s\n", what, (int)in_len,
            (const char *)in, out ? out : "");
    abort();
}

static void setup(void)
{
    if (cat)
        return;
    if (trail_catalog_new(&cat) < 0)
        abort();
    static const char *const ids[] = {"auth_entrypoints_oidc_logout", "core_server_run_starting",
                                      "pipes_authentication_failed_locked_permanently"};
    for (int i = 0; i < 3; i++) {
        struct trail_event *ev;
        if (trail_event_new(cat, ids[i], &ev) < 0)
            abort();
        trail_event_set_string(ev, "phxTraceId", "#YFTp4LhpTqezu06B", (size_t)-1);
        trail_event_set_string(ev, "duser", i ? "astrid.olsson" : "Bob", (size_t)-1);
        trail_event_set_ip(ev, "src", i == 1 ? "2001:db8::7" : "203.0.113.7", (size_t)-1);
        trail_event_set_int(ev, "failed_attempts", i * 3);
        trail_event_set_bool(ev, "flag", i & 1);
        trail_event_set_time_attr(ev, "at", 1764000000000000LL);
        rec_lens[i] = record_size(ev);
        if (rec_lens[i] > sizeof(recs[i]))
            abort();
        record_write(ev, 10 + (uint64_t)i, 1764000000000000LL + i * 3600000000LL,
                     1764000000000000LL, recs[i]);
        trail_event_free(ev);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512] = "";
    struct trail_query *q = NULL, *q2 = NULL;
    struct trail_buf once = {0}, twice = {0};
    setup();
    if (trail_query_new(cat, &q) < 0)
        abort();
    int r = trail_query_parse(q, (const char *)data, size, err, sizeof(err));
    if (r < 0) {
        if (r == TRAIL_E_PARSE && !err[0])
            die("an error without a message", data, size, NULL);
        goto out;
    }
    if (trail_query_format(q, NULL, &once) < 0)
        abort();
    if (trail_query_new(cat, &q2) < 0)
        abort();
    if (trail_query_parse(q2, once.data ? once.data : "", once.len, err, sizeof(err)) < 0)
        die("a formatted query does not parse", data, size, err);
    if (trail_query_format(q2, NULL, &twice) < 0)
        abort();
    if (once.len != twice.len || (once.len && memcmp(once.data, twice.data, once.len) != 0))
        die("formatting is not stable", data, size, twice.data);
    if (qquery_hash(q) != qquery_hash(q2))
        die("the filters' hash changed in a round trip", data, size, once.data);
    struct qplan *plan = malloc(sizeof(*plan));
    if (!plan)
        abort();
    if (qplan_init(plan, q, 1764003600000000LL) == 0) {
        for (int i = 0; i < 3; i++) {
            struct rec_view v;
            if (rec_view_parse(recs[i], rec_lens[i], &v) < 0)
                abort();
            int m = qplan_match(plan, &v);
            if (m != 0 && m != 1)
                die("the predicate failed on a good record", data, size, once.data);
        }
    }
    free(plan);
out:
    trail_buf_free(&once);
    trail_buf_free(&twice);
    trail_query_free(q);
    trail_query_free(q2);
    return 0;
}
