/*
 * test_query.c - the query language: every parameter's accepted forms and
 * the error that names what is wrong, URL query strings (percent-encoding,
 * '+', repeats), formatting back, cursors, globs, words, and the predicate
 * on records built for the purpose.
 *
 * Not here: searching a store (test_query_oracle.c), the .idx format
 * (test_index.c).
 */
#include "harness.h"
#include "query/query.h"

#include <errno.h>

static struct trail_catalog *cat;
static char err[512];

static struct trail_query *new_query(void)
{
    struct trail_query *q;
    if (trail_query_new(cat, &q) < 0)
        abort();
    trail_query_set_clock(q, 1764000000000000LL); /* 2025-11-24T16:00:00Z */
    return q;
}

/* 0 when name=value is accepted; else TRAIL_E_PARSE with err set. */
static int set1(const char *name, const char *value)
{
    struct trail_query *q = new_query();
    err[0] = '\0';
    int r = trail_query_set(q, name, value, err, sizeof(err));
    trail_query_free(q);
    return r;
}

#define ACCEPTS(name, value) ASSERT_OK(set1(name, value))
#define REFUSES(name, value, part)                                                                 \
    do {                                                                                           \
        ASSERT_EQ(set1(name, value), TRAIL_E_PARSE);                                               \
        if (!strstr(err, part))                                                                    \
            FAIL_AT("%s=%s: error \"%s\" does not say \"%s\"", name, value, err, part);            \
    } while (0)

TEST(times)
{
    ACCEPTS("since", "2026-11-01T08:00:00Z");
    ACCEPTS("since", "2026-11-01T08:00:00.123456789+01:00");
    ACCEPTS("since", "2026-11-01 08:00:00-05:30");
    ACCEPTS("until", "2026-11-01");
    ACCEPTS("until", "now");
    ACCEPTS("since", "15m");
    ACCEPTS("since", "24h");
    ACCEPTS("since", "7d");
    ACCEPTS("since", "2w");
    ACCEPTS("since", "90s");
    REFUSES("--since", "2026-13-01", "bad --since '2026-13-01'");
    REFUSES("since", "2026-11-01T08:00:00", "bad since '2026-11-01T08:00:00': not a time");
    REFUSES("since", "yesterday", "bad since");
    REFUSES("until", "15y", "bad until '15y'");
    REFUSES("until", "", "bad until ''");
    REFUSES("since", "9999999999d", "bad since");
}

static int64_t plan_since(const char *v, int64_t now)
{
    struct trail_query *q = new_query();
    struct qplan p;
    if (trail_query_set(q, "since", v, err, sizeof(err)) < 0 || qplan_init(&p, q, now) < 0)
        abort();
    trail_query_free(q);
    return p.since;
}

TEST(times_resolve)
{
    int64_t now = 1764000000000000LL;
    ASSERT_EQ(plan_since("15m", now), now - 15 * 60000000LL);
    ASSERT_EQ(plan_since("7d", now), now - 7 * 86400000000LL);
    ASSERT_EQ(plan_since("now", now), now);
    ASSERT_EQ(plan_since("2025-11-24", now), 1763942400000000LL);
    ASSERT_EQ(plan_since("2025-11-24T17:00:00+01:00", now), now);
    ASSERT_EQ(plan_since("2025-11-24T11:00:00-05:00", now), now);
}

TEST(globs)
{
    ASSERT(qglob_match("auth_*", "auth_entrypoints_oidc_logout", 28));
    ASSERT(!qglob_match("auth_*", "saml_x", 6));
    ASSERT(qglob_match("*_failed*", "pipes_authentication_failed_locked", 34));
    ASSERT(qglob_match("a?c", "abc", 3));
    ASSERT(!qglob_match("a?c", "ac", 2));
    ASSERT(qglob_match("[a-c]x", "bx", 2));
    ASSERT(!qglob_match("[!a-c]x", "bx", 2));
    ASSERT(qglob_match("[^a-c]x", "dx", 2));
    ASSERT(qglob_match("*", "", 0));
    ASSERT(qglob_match("a*b*c", "axxbyyc", 7));
    ASSERT(!qglob_match("a*b*c", "axxbyy", 6));
    ASSERT(qglob_match("**x", "x", 1));
    ACCEPTS("event", "auth_*,saml_?ncoming*");
    ACCEPTS("event", "AUTH_*"); /* folded to lower case */
    ACCEPTS("event", "[a-z]*_[!x]");
    REFUSES("--event", "auth_[",
            "bad --event 'auth_[': not a glob over event ids at byte 6: '[' is not closed");
    REFUSES("event", "a]", "']' without '['");
    REFUSES("event", "auth-x", "at byte 5");
    REFUSES("event", "a[]", "'[]' matches nothing");
    REFUSES("event", "a,,b", "an empty glob");
    REFUSES("event", "", "an event id or glob is needed");
}

TEST(severity)
{
    ACCEPTS("severity", ">=WARNING");
    ACCEPTS("severity", "notice..error");
    ACCEPTS("severity", "4..7");
    ACCEPTS("severity", "..ERROR");
    ACCEPTS("severity", "INFO");
    REFUSES("--severity", ">=LOUD", "bad --severity '>=LOUD': expected a level");
    REFUSES("severity", "ERROR..NOTICE", "bad severity");
    REFUSES("severity", "5", "bad severity '5'");
}

TEST(where)
{
    ACCEPTS("where", "duser=alice");
    ACCEPTS("where", "duser!=alice");
    ACCEPTS("where", "duser^=ali");
    ACCEPTS("where", "duser=");
    ACCEPTS("where", "msg=a=b");
    ACCEPTS("where", "src=10.0.0.0/8");
    ACCEPTS("where", "src=2001:db8::/32");
    ACCEPTS("where", "src!=192.168.0.0/16");
    ACCEPTS("where", "request=/a/b"); /* a path is not a network */
    ACCEPTS("where", "my.key-1=x");
    REFUSES("--where", "duser",
            "bad --where 'duser': expected key=value, key!=value or key^=prefix");
    REFUSES("where", "=alice", "expected key=value");
    REFUSES("where", "duser~=x", "after the key 'duser'");
    REFUSES("where", "src=10.0.0.0/33", "bad CIDR: the prefix length must be 0..32");
    REFUSES("where", "src=10.0.0.1/24", "bad CIDR: the address has bits set past the /24 prefix");
    REFUSES("where", "src=10.0.300.0/24", "bad CIDR: '10.0.300.0' is not an IP address");
    REFUSES("where", "src=2001:db8::/129", "0..128");
    REFUSES("where", "src=10.0.0.0/x", "bad CIDR");
}

TEST(text_limit_order_cursor_by)
{
    ACCEPTS("text", "alice");
    ACCEPTS("text", "  alice   203.0.113.7 ");
    ACCEPTS("text", "#YFTp4LhpTqezu06B");
    REFUSES("--text", "#", "bad --text '#': '#' has no letter or digit");
    REFUSES("text", "  ", "no words to search for");
    ACCEPTS("order", "oldest");
    REFUSES("order", "asc", "bad order 'asc': expected newest or oldest");
    ACCEPTS("limit", "0");
    ACCEPTS("limit", "1000000000");
    REFUSES("limit", "1000000001", "bad limit");
    REFUSES("limit", "-1", "bad limit");
    REFUSES("limit", "1e3", "bad limit");
    ACCEPTS("cursor", "n.12.1764000000000000.0a0b0c0d");
    ACCEPTS("cursor", "o.0.0.ffffffff");
    REFUSES("cursor", "n.12.0.0a0b0c0", "bad cursor");
    REFUSES("cursor", "x.12.0.0a0b0c0d", "bad cursor");
    REFUSES("cursor", "n.12.0.0a0b0c0d.", "bad cursor");
    ACCEPTS("by", "hour,event");
    ACCEPTS("by", "day,severity,duser");
    REFUSES("--by", "colour", "unknown --by 'colour'");
    REFUSES("by", "event,event", "'event' is given twice");
    REFUSES("by", "event,severity,hour,day", "at most 3");
    REFUSES("by", "event,", "unknown by");
    REFUSES("colour", "red", "unknown parameter 'colour'");
}

TEST(failure_leaves_query_unchanged)
{
    struct trail_query *q = new_query();
    ASSERT_OK(trail_query_set(q, "event", "auth_*", err, sizeof(err)));
    ASSERT_EQ(trail_query_set(q, "event", "core_*,bad[", err, sizeof(err)), TRAIL_E_PARSE);
    ASSERT_EQ(q->n_globs, 1);
    ASSERT_EQ(trail_query_set(q, "text", "ok #", err, sizeof(err)), TRAIL_E_PARSE);
    ASSERT_EQ(q->n_texts, 0);
    ASSERT_EQ(trail_query_set(q, "by", "event,colour", err, sizeof(err)), TRAIL_E_PARSE);
    ASSERT_EQ(q->n_by, 0);
    struct trail_buf b = {0};
    ASSERT_OK(trail_query_format(q, NULL, &b));
    ASSERT_STREQ(b.data, "event=auth_*");
    trail_buf_free(&b);
    trail_query_free(q);
}

TEST(url_query_strings)
{
    struct trail_query *q = new_query();
    const char *qs =
        "?since=24h&event=auth_*&event=saml_*&where=duser%3Dastrid.olsson"
        "&text=olsson+203.0.113.7&severity=%3E%3DWARNING&order=oldest&limit=5&by=event";
    ASSERT_OK(trail_query_parse(q, qs, strlen(qs), err, sizeof(err)));
    ASSERT_EQ(q->n_globs, 2);
    ASSERT_EQ(q->n_wheres, 1);
    ASSERT_STREQ(q->wheres[0].value, "astrid.olsson");
    ASSERT_EQ(q->n_texts, 2);
    ASSERT_STREQ(q->texts[1].item, "203.0.113.7");
    ASSERT_EQ(q->sev_min, 6);
    ASSERT_EQ(trail_query_order(q), TRAIL_ORDER_OLDEST);
    ASSERT_EQ(trail_query_limit(q), 5);
    struct trail_buf b = {0};
    ASSERT_OK(trail_query_format(q, "o.9.0.00000000", &b));
    ASSERT_STREQ(b.data, "since=24h&event=auth_*&event=saml_*&where=duser%3Dastrid.olsson"
                         "&text=olsson%20203.0.113.7&severity=%3E%3DWARNING&order=oldest&limit=5"
                         "&by=event&cursor=o.9.0.00000000");
    /* parsing the formatted form gives the same query */
    struct trail_query *q2 = new_query();
    ASSERT_OK(trail_query_parse(q2, b.data, b.len, err, sizeof(err)));
    ASSERT_EQ(qquery_hash(q2), qquery_hash(q));
    trail_buf_free(&b);
    trail_query_free(q2);
    trail_query_free(q);

    q = new_query();
    ASSERT_EQ(trail_query_parse(q, "since=%ZZ", 9, err, sizeof(err)), TRAIL_E_PARSE);
    ASSERT(strstr(err, "bad percent-encoding") != NULL);
    ASSERT_EQ(trail_query_parse(q, "a=%00", 5, err, sizeof(err)), TRAIL_E_PARSE);
    ASSERT_EQ(trail_query_parse(q, "&&limit=3&", 10, err, sizeof(err)), 0);
    ASSERT_EQ(trail_query_limit(q), 3);
    ASSERT_EQ(trail_query_parse(q, "colour=red", 10, err, sizeof(err)), TRAIL_E_PARSE);
    ASSERT_STREQ(err, "unknown parameter 'colour'");
    trail_query_free(q);
}

TEST(cursor_hash_binds_filters)
{
    struct trail_query *a = new_query(), *b = new_query();
    trail_query_set(a, "event", "auth_*", err, sizeof(err));
    trail_query_set(a, "limit", "5", err, sizeof(err));
    trail_query_set(b, "limit", "50", err, sizeof(err)); /* limit is not a filter */
    trail_query_set(b, "event", "auth_*", err, sizeof(err));
    ASSERT_EQ(qquery_hash(a), qquery_hash(b));
    trail_query_set(b, "text", "x", err, sizeof(err));
    ASSERT_NE(qquery_hash(a), qquery_hash(b));
    char c[TRAIL_QUERY_CURSOR_MAX];
    ASSERT_OK(qcursor_format(TRAIL_ORDER_NEWEST, 42, 1764000000000000LL, 0xabcdef01, c, sizeof(c)));
    ASSERT_STREQ(c, "n.42.1764000000000000.abcdef01");
    ASSERT_EQ(qcursor_format(TRAIL_ORDER_OLDEST, 42, 1, 2, c, 8), -ENOSPC);
    trail_query_free(a);
    trail_query_free(b);
}

TEST(time_orders_and_their_cursors)
{
    struct trail_query *q = new_query();
    ASSERT_OK(trail_query_set(q, "--order", "time", err, sizeof(err)));
    ASSERT_EQ(trail_query_order(q), TRAIL_ORDER_TIME);
    ASSERT_OK(trail_query_set(q, "order", "-time", err, sizeof(err)));
    ASSERT_EQ(trail_query_order(q), TRAIL_ORDER_TIME_DESC);
    ASSERT_EQ(trail_query_set(q, "order", "Time", err, sizeof(err)), TRAIL_E_PARSE);
    ASSERT(strstr(err, "time or -time") != NULL);
    ASSERT_EQ(trail_query_order(q), TRAIL_ORDER_TIME_DESC); /* unchanged */
    /* the cursor: order, time, seq, horizon, clock, hash; a time before 1970 too */
    char c[TRAIL_QUERY_CURSOR_MAX];
    ASSERT_OK(qcursor_format_time(TRAIL_ORDER_TIME_DESC, 1793491200000000LL, 42, 9000,
                                  1764000000000000LL, 0xabcdef01, c, sizeof(c)));
    ASSERT_STREQ(c, "r.1793491200000000.42.9000.1764000000000000.abcdef01");
    ASSERT_OK(qcursor_format_time(TRAIL_ORDER_TIME, -5, 0, 7, 1, 2, c, sizeof(c)));
    ASSERT_STREQ(c, "t.-5.0.7.1.00000002");
    /* the widest one fits */
    ASSERT_OK(qcursor_format_time(TRAIL_ORDER_TIME, INT64_MIN, UINT64_MAX, UINT64_MAX, INT64_MIN,
                                  0xffffffffu, c, sizeof(c)));
    ASSERT_OK(trail_query_set(q, "cursor", c, err, sizeof(err)));
    ASSERT_EQ(q->cur_time, INT64_MIN);
    ASSERT_EQ(q->cur_horizon, UINT64_MAX);
    ASSERT_OK(trail_query_set(q, "cursor", "r.1793491200000000.42.9000.1764000000000000.abcdef01",
                              err, sizeof(err)));
    ASSERT_EQ(q->cur_order, TRAIL_ORDER_TIME_DESC);
    ASSERT_EQ(q->cur_time, 1793491200000000LL);
    ASSERT_EQ(q->cur_seq, 42);
    ASSERT_EQ(q->cur_horizon, 9000);
    ASSERT_EQ(q->cur_now, 1764000000000000LL);
    ASSERT_EQ(q->cur_hash, 0xabcdef01);
    /* formatted back as it came */
    struct trail_buf b = {0};
    ASSERT_OK(trail_query_format(q, NULL, &b));
    ASSERT(strstr(b.data, "cursor=r.1793491200000000.42.9000.1764000000000000.abcdef01") != NULL);
    trail_buf_free(&b);
    /* not cursors: a field missing, a bad hash, a seq cursor's shape with a time letter */
    static const char *const bad[] = {"t.1.2.3.4",          "t.1.2.3.4.abc",
                                      "r.x.2.3.4.00000000", "t.1.2.3.4.00000000.5",
                                      "x.1.2.3.4.00000000", "t.5.1764000000000000.abcdef01"};
    for (size_t i = 0; i < TRAIL_ARRAY_SIZE(bad); i++)
        ASSERT_EQ(trail_query_set(q, "cursor", bad[i], err, sizeof(err)), TRAIL_E_PARSE);
    trail_query_free(q);
}

struct words {
    char got[8][QWORD_MAX + 1];
    int n;
};

static void collect(void *arg, const uint8_t *w, size_t n)
{
    struct words *ws = arg;
    if (ws->n < 8) {
        memcpy(ws->got[ws->n], w, n);
        ws->got[ws->n++][n] = '\0';
    }
}

TEST(words_and_terms)
{
    struct words ws = {0};
    const char *text = "Astrid.Olsson@Ex-ample 203.0.113.7 Åsa";
    ASSERT_EQ(qwords(text, strlen(text), 0, collect, &ws), 9); /* the first 8 are kept */
    ASSERT_STREQ(ws.got[0], "astrid");
    ASSERT_STREQ(ws.got[1], "olsson");
    ASSERT_STREQ(ws.got[2], "ex");
    ASSERT_STREQ(ws.got[4], "203");
    ASSERT_STREQ(ws.got[7], "7");
    memset(&ws, 0, sizeof(ws));
    ASSERT_EQ(qwords("Åsa", 4, 0, collect, &ws), 1);
    ASSERT_STREQ(ws.got[0], "Åsa"); /* UTF-8 kept, ASCII folded only */
    memset(&ws, 0, sizeof(ws));
    ASSERT_EQ(qwords("astrid.ols", 10, 1, collect, &ws), 1); /* a prefix's last word is cut */
    /* a long word is cut at QWORD_MAX, the same for the index and the query */
    char longw[100];
    memset(longw, 'a', sizeof(longw));
    memset(&ws, 0, sizeof(ws));
    qwords(longw, sizeof(longw), 0, collect, &ws);
    ASSERT_EQ(strlen(ws.got[0]), QWORD_MAX);
    /* the term hashes are CRC-32C of a kind byte and the bytes (docs/format.md) */
    ASSERT_EQ(qterm_word((const uint8_t *)"alice", 5), crc32c(0, "walice", 6));
    ASSERT_EQ(qterm_value("duser", 5, "alice", 5), crc32c(0, "vduser=alice", 12));
}

/* A record of the given attributes, through the store's encoder. */
static size_t make_record(uint8_t *out, const char *id, int64_t t, const char *const *kv)
{
    struct trail_event *ev;
    if (trail_event_new(cat, id, &ev) < 0)
        abort();
    for (size_t i = 0; kv[i]; i += 2)
        if (trail_event_set_text(ev, kv[i], (size_t)-1, kv[i + 1], strlen(kv[i + 1])) < 0)
            abort();
    size_t n = record_write(ev, 7, t, t, out);
    trail_event_free(ev);
    return n;
}

static int matches(const char *const *params, const uint8_t *rec, size_t len)
{
    struct trail_query *q = new_query();
    for (size_t i = 0; params[i]; i += 2)
        if (trail_query_set(q, params[i], params[i + 1], err, sizeof(err)) < 0)
            abort();
    struct qplan *p = malloc(sizeof(*p));
    struct rec_view v;
    if (!p || qplan_init(p, q, 1764000000000000LL) < 0 || rec_view_parse(rec, len, &v) < 0)
        abort();
    int m = qplan_match(p, &v);
    free(p);
    trail_query_free(q);
    return m;
}

#define MATCH(rec, len, ...)                                                                       \
    do {                                                                                           \
        const char *p_[] = {__VA_ARGS__, NULL};                                                    \
        ASSERT_EQ(matches(p_, rec, len), 1);                                                       \
    } while (0)
#define NO_MATCH(rec, len, ...)                                                                    \
    do {                                                                                           \
        const char *p_[] = {__VA_ARGS__, NULL};                                                    \
        ASSERT_EQ(matches(p_, rec, len), 0);                                                       \
    } while (0)

TEST(predicate)
{
    uint8_t rec[1024];
    const char *kv[] = {"duser",
                        "Astrid.Olsson",
                        "src",
                        "2001:db8::17",
                        "reason",
                        "Wrong password\n!",
                        "failed_attempts",
                        "3",
                        "phxTraceId",
                        "#Tr4ce",
                        NULL};
    size_t n = make_record(rec, "pipes_authentication_failed_incrementlockcounter",
                           1764000000000000LL, kv);
    MATCH(rec, n, "since", "2025-11-24T16:00:00Z");
    NO_MATCH(rec, n, "since", "2025-11-24T16:00:00.000001Z");
    MATCH(rec, n, "until", "2025-11-24T16:00:00.000001Z");
    NO_MATCH(rec, n, "until", "2025-11-24T16:00:00Z");
    MATCH(rec, n, "event", "pipes_*");
    NO_MATCH(rec, n, "event", "auth_*");
    MATCH(rec, n, "event", "auth_*,*_incrementlockcounter");
    MATCH(rec, n, "where", "duser=Astrid.Olsson");
    NO_MATCH(rec, n, "where", "duser=astrid.olsson");
    MATCH(rec, n, "where", "src=2001:db8::/32");
    MATCH(rec, n, "where", "src=2001:0db8:0:0:0:0:0:17"); /* an IP compares as an address */
    NO_MATCH(rec, n, "where", "src=10.0.0.0/8");
    MATCH(rec, n, "where", "src!=10.0.0.0/8");
    MATCH(rec, n, "where", "failed_attempts=03");
    NO_MATCH(rec, n, "where", "failed_attempts=4");
    MATCH(rec, n, "where", "duser^=Astrid.");
    MATCH(rec, n, "where", "src^=2001:db8:");
    MATCH(rec, n, "where", "suser!=anyone"); /* missing counts as not equal */
    NO_MATCH(rec, n, "where", "suser=anyone");
    MATCH(rec, n, "where", "duser=Astrid.Olsson", "where", "failed_attempts=3");
    NO_MATCH(rec, n, "where", "duser=Astrid.Olsson", "where", "failed_attempts=2");
    MATCH(rec, n, "text", "olsson");
    MATCH(rec, n, "text", "OLSSON password");
    NO_MATCH(rec, n, "text", "olss");
    NO_MATCH(rec, n, "text", "olsson nope");
    MATCH(rec, n, "text", "wrong password"); /* two items, both present */
    MATCH(rec, n, "text", "#tr4ce");
    MATCH(rec, n, "text", "2001:db8::17");
    MATCH(rec, n, "text", "3");
    MATCH(rec, n, "severity", ">=NOTICE");
    NO_MATCH(rec, n, "severity", ">NOTICE");
    MATCH(rec, n, "severity", "INFO..WARNING");
}

static void init(void) __attribute__((constructor));
static void init(void)
{
    if (trail_catalog_new(&cat) < 0 || trail_catalog_set_policy(cat, TRAIL_POLICY_LENIENT) < 0)
        abort();
}

TEST_MAIN(time_orders_and_their_cursors, times, times_resolve, globs, severity, where,
          text_limit_order_cursor_by, failure_leaves_query_unchanged, url_query_strings,
          cursor_hash_binds_filters, words_and_terms, predicate)
