/*
 * count_rows.c - the rows of a count, the same wherever they come from:
 * the names of the group-by dimensions, how two rows' keys compare, and the
 * order trail_count_run() gives them. The store's count (index.c), the
 * count ClickHouse answers (lib/clickhouse) and the two merged by traild's
 * query tier use these, so that the three orders cannot drift apart.
 */
#include "query/query.h"

#include <stdlib.h>
#include <string.h>

const char *qcount_by_name(const struct trail_query *q, int d)
{
    switch (q->by[d]) {
    case QBY_EVENT:
        return "event";
    case QBY_SEVERITY:
        return "severity";
    case QBY_HOUR:
        return "hour";
    case QBY_DAY:
        return "day";
    default:
        return q->by_attr[d];
    }
}

int qcount_by_key(const struct trail_query *q)
{
    return q->n_by && (q->by[0] == QBY_HOUR || q->by[0] == QBY_DAY);
}

int qcount_cmp_keys(const struct trail_count_row *x, const struct trail_count_row *y)
{
    for (int d = 0; d < TRAIL_COUNT_MAX_BY; d++) {
        const char *p = x->keys[d], *q = y->keys[d];
        if (p == q)
            continue;
        if (!p || !q)
            return p ? -1 : 1; /* a row without the attribute after those with it */
        int c = strcmp(p, q);
        if (c)
            return c;
    }
    return 0;
}

static int cmp_rows(const void *a, const void *b, void *arg)
{
    const struct trail_count_row *x = a, *y = b;
    if (!*(const int *)arg && x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return qcount_cmp_keys(x, y);
}

void qcount_sort(struct trail_count_row *rows, size_t n, int by_key)
{
    qsort_r(rows, n, sizeof(*rows), cmp_rows, &by_key);
}
