/*
 * test_chsql.c - the ClickHouse source's one quoting function (chsql_quote)
 * on hostile values: quotes, backslashes, control bytes and NUL come out as
 * escapes inside one literal that nothing can close early; table names are
 * checked.
 */
#include "harness.h"

#include "clickhouse/chsql.h"

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

TEST_MAIN(quote_hostile, table_names)
