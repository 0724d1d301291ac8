/*
 * chsql.h - the query language translated to ClickHouse SQL (internal): the
 * one quoting function for string literals and the WHERE conditions of a
 * query, for the table the clickhouse sink writes (docs/clickhouse.md).
 *
 * Not here: HTTP and the answers (chquery.c), the language itself
 * (lib/query/query.c, whose parsed form this reads).
 *
 * ClickHouse 18.16 (Debian 12's) has no query parameters, so every value a
 * user gives reaches the SQL through chsql_quote(), which writes a string
 * literal by ClickHouse's escaping rules; numbers are formatted from
 * integers, names of the table are checked against [A-Za-z0-9_].
 */
#ifndef TRAIL_CLICKHOUSE_CHSQL_H
#define TRAIL_CLICKHOUSE_CHSQL_H

#include "query/query.h"

/*
 * chsql_quote - append s[0..n) as a ClickHouse string literal: in single
 * quotes, backslash and quote escaped with a backslash, every byte below
 * 0x20 and 0x7f (NUL included) as \xHH; other bytes as they are (ClickHouse
 * strings are bytes). 0 or -ENOMEM.
 */
int chsql_quote(struct trail_buf *out, const char *s, size_t n);

/*
 * chsql_filters - append the conditions of q (read with plan p: times
 * resolved) as one SQL boolean expression over the sink's columns. Filters
 * that ClickHouse's table cannot answer exactly are refused with
 * TRAIL_E_PARSE and err naming them: the received time and provenance (the
 * table has neither), a where value not in the text form trail stores
 * (03 for 3), a text item that is not UTF-8. 0, TRAIL_E_PARSE, -ENOMEM.
 */
int chsql_filters(const struct qplan *p, struct trail_buf *out, char *err, size_t errlen);

/* chsql_table_ok - 1 when name is TABLE or DB.TABLE of [A-Za-z0-9_] (at most 127 bytes). */
int chsql_table_ok(const char *name);

#endif /* TRAIL_CLICKHOUSE_CHSQL_H */
