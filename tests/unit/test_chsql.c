/*
 * test_chsql.c - the ClickHouse source's one quoting function (chsql_quote)
 * on hostile values: quotes, backslashes, control bytes and NUL come out as
 * escapes inside one literal that nothing can close early; table names are
 * checked; event time orders refused before anything is asked of the
 * server (its table is paged by seq).
 */
#include "harness.h"

#include "clickhouse/chsql.h"

#include <stdio.h>

static void quoted(const char *s, size_t n, const char *want)
{
    struct trail_buf b = {0};
    ASSERT_OK(chsql_quote(&b, s, n));
    ASSERT_STREQ(b.data, want);
    /* the literal ends only at its last byte: every quote inside is escaped */
    for (size_t i = 1; i + 1 < b.len; i++) {
        if (b.data[i] == '\\') {
            i++;
            continue;
        }
        ASSERT(b.data[i] != '\'');
    }
    trail_buf_free(&b);
}

TEST(quote_hostile)
{
    quoted("alice", 5, "'alice'");
    quoted("", 0, "''");
    quoted("o'brien", 7, "'o\\'brien'");
    quoted("x\\' OR '1'='1", 13, "'x\\\\\\' OR \\'1\\'=\\'1'");
    quoted("a\\", 2, "'a\\\\'");
    quoted("\\", 1, "'\\\\'");
    quoted("tab\tnl\ncr\r", 10, "'tab\\x09nl\\x0acr\\x0d'");
    quoted("nul\0x", 5, "'nul\\x00x'");
    quoted("del\x7f", 4, "'del\\x7f'");
    quoted("ünï", 5, "'ünï'");
    quoted("'; DROP TABLE t; --", 19, "'\\'; DROP TABLE t; --'");
}

TEST(table_names)
{
    ASSERT(chsql_table_ok("trail.events"));
    ASSERT(chsql_table_ok("events"));
    ASSERT(!chsql_table_ok(""));
    ASSERT(!chsql_table_ok("a.b.c"));
    ASSERT(!chsql_table_ok(".events"));
    ASSERT(!chsql_table_ok("trail."));
    ASSERT(!chsql_table_ok("events; DROP TABLE x"));
    ASSERT(!chsql_table_ok("ev`ents"));
}

/*
 * Event time orders are searched in ClickHouse (by time_us, then seq): no
 * longer refused, they reach the server (here nothing listens: a connection
 * error, not TRAIL_E_PARSE); a cursor of another order is still refused
 * before any request.
 */
TEST(time_orders_taken)
{
    struct trail_catalog *cat;
    struct trail_ch *ch;
    struct trail_query *q;
    struct trail_ch_results *res = NULL;
    char err[256], cursor[TRAIL_QUERY_CURSOR_MAX];
    ASSERT_OK(trail_catalog_new(&cat));
    ASSERT_OK(trail_ch_open("http://127.0.0.1:9/", NULL, cat, &ch, err, sizeof(err)));
    static const char *const orders[] = {"time", "-time"};
    for (int i = 0; i < 2; i++) {
        ASSERT_OK(trail_query_new(cat, &q));
        ASSERT_OK(trail_query_set(q, "order", orders[i], err, sizeof(err)));
        int r = trail_ch_results_open(ch, q, &res, err, sizeof(err));
        ASSERT(r < 0 && r != TRAIL_E_PARSE);
        /* a cursor of a search by seq does not continue one by time */
        snprintf(cursor, sizeof(cursor), "n.5.%lld.%08x", 1796658461217331LL, 0u);
        ASSERT_OK(trail_query_set(q, "cursor", cursor, err, sizeof(err)));
        ASSERT_EQ(trail_ch_results_open(ch, q, &res, err, sizeof(err)), TRAIL_E_PARSE);
        ASSERT(strstr(err, "bad cursor") != NULL);
        trail_query_free(q);
    }
    trail_ch_close(ch);
    trail_catalog_free(cat);
}

TEST_MAIN(quote_hostile, table_names, time_orders_taken)
