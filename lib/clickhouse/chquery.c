/*
 * chquery.c - ClickHouse as a query source: trail_ch_* (include/trail.h).
 * A search or a count of a trail_query becomes one SELECT over the clickhouse
 * sink's table (chsql.c writes its conditions), posted to ClickHouse's HTTP
 * interface; the rows come back as RowBinary (no text escaping to undo:
 * little-endian integers, strings and arrays behind LEB128 lengths) and are
 * turned into events and counts as the store's search gives them.
 *
 * Not for: the SQL of the filters (chsql.c), the sink that fills the table
 * (daemon/sinks/sink_clickhouse.c).
 *
 * A search covers one store: the table holds the events of every store a
 * sink writes from, and seqs order only one store's. The store's lowest and
 * highest seq in the table play the part of the store's first seq and
 * horizon, so cursors are the store's own (lib/query/index.c,
 * trail_results_cursor) and a page continues strictly past its seq.
 */
#include "clickhouse/chquery.h"
#include "clickhouse/chsql.h"

#include "client/http.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define PAGE_ROWS  10000
#define MAX_ANSWER (64u << 20)

struct trail_ch {
    const struct trail_catalog *cat;
    struct client_http http;
    char table[128];
    char store_id[80]; /* "" : the only one in the table */
    char *auth;        /* "user=..&password=.." for the URL, or NULL */
    uint64_t below;    /* only seqs below it (chquery_seqs_below); 0: all */
    struct trail_buf path, resp;
};

struct trail_ch_results {
    struct trail_ch *ch;
    const struct trail_query *q;
    struct qplan plan;
    struct trail_buf where; /* store and filters, without the seq range */
    int newest, done, more;
    int by_time; /* TRAIL_ORDER_TIME or _TIME_DESC: by (time_us, seq); 0: by seq */
    int has_pos; /* by time: pos_time, pos_seq are the position to continue after */
    int64_t pos_time;
    uint64_t pos_seq;
    uint64_t page_want, page_rows; /* rows asked for and read of the current page */
    uint64_t lo, hi;               /* seqs looked at: as index.c's results */
    uint64_t limit, returned, last_seq;
    struct trail_buf page; /* RowBinary rows */
    size_t pos;
    char err[512];
};

static int fail(char *err, size_t errlen, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int r, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return r;
}

static int url_encode(struct trail_buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '~';
        char e[3] = {'%', hex[c >> 4], hex[c & 15]};
        if ((plain ? trail_buf_append(out, s, 1) : trail_buf_append(out, e, 3)) < 0)
            return -ENOMEM;
    }
    return 0;
}

int trail_ch_open(const char *url, const struct trail_ch_opts *opts,
                  const struct trail_catalog *cat, struct trail_ch **ret, char *err, size_t errlen)
{
    struct trail_ch_opts none = {0};
    struct client_url u;
    if (!opts)
        opts = &none;
    if (!url || client_url_parse(url, &u) < 0)
        return fail(err, errlen, -EINVAL, "'%.200s' is not an http:// or https:// URL",
                    url ? url : "");
    const char *table = opts->table ? opts->table : "trail.events";
    if (!chsql_table_ok(table))
        return fail(err, errlen, -EINVAL,
                    "bad table '%.80s': expected TABLE or DATABASE.TABLE of A-Z, a-z, 0-9, _",
                    table);
    if (opts->store_id && (strlen(opts->store_id) >= 80 || !*opts->store_id))
        return fail(err, errlen, -EINVAL, "bad store id: 1 to 79 characters");
    struct trail_ch *ch = calloc(1, sizeof(*ch));
    if (!ch)
        return -ENOMEM;
    ch->cat = cat;
    snprintf(ch->table, sizeof(ch->table), "%s", table);
    snprintf(ch->store_id, sizeof(ch->store_id), "%s", opts->store_id ? opts->store_id : "");
    struct trail_buf a = {0};
    int r = 0;
    if (opts->user) {
        r |= trail_buf_append(&a, "user=", 5) | url_encode(&a, opts->user);
    }
    if (opts->password) {
        r |= trail_buf_append(&a, a.len ? "&password=" : "password=", a.len ? 10 : 9) |
             url_encode(&a, opts->password);
    }
    if (r) {
        trail_buf_free(&a);
        free(ch);
        return -ENOMEM;
    }
    ch->auth = a.data;
    struct client_tls tls = {.ca = opts->ca, .verify = !opts->insecure};
    client_http_init(&ch->http, &u, &tls, opts->timeout_ms > 0 ? opts->timeout_ms : 30000, "trail");
    *ret = ch;
    return 0;
}

void chquery_seqs_below(struct trail_ch *ch, uint64_t below)
{
    ch->below = below;
}

void trail_ch_close(struct trail_ch *ch)
{
    if (!ch)
        return;
    client_http_close(&ch->http);
    trail_buf_free(&ch->path);
    trail_buf_free(&ch->resp);
    free(ch->auth);
    free(ch);
}

/* POST sql; a 200 leaves the answer in ch->resp. */
static int ch_run(struct trail_ch *ch, const struct trail_buf *sql, char *err, size_t errlen)
{
    const char *base = ch->http.url.path;
    trail_buf_reset(&ch->path);
    if (trail_buf_append(&ch->path, base, strlen(base)) < 0 ||
        (ch->auth && (trail_buf_append(&ch->path, strchr(base, '?') ? "&" : "?", 1) < 0 ||
                      trail_buf_append(&ch->path, ch->auth, strlen(ch->auth)) < 0)))
        return -ENOMEM;
    int status = 0;
    int r = client_http_post(&ch->http, ch->path.data, NULL, sql->data, sql->len, &status,
                             &ch->resp, err, errlen);
    if (r < 0)
        return r;
    if (status != 200) {
        size_t n = ch->resp.len < 300 ? ch->resp.len : 300;
        snprintf(err, errlen, "ClickHouse answered %d: %.*s", status, (int)n,
                 n ? ch->resp.data : "");
        for (char *p = err; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
        return -EPROTO;
    }
    return 0;
}

/* ---- RowBinary ---- */

struct rb {
    const uint8_t *p, *end;
};

static int rb_u64(struct rb *b, uint64_t *v)
{
    if (b->end - b->p < 8)
        return -EPROTO;
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--)
        x = x << 8 | b->p[i];
    b->p += 8;
    *v = x;
    return 0;
}

static int rb_u8(struct rb *b, uint8_t *v)
{
    if (b->p >= b->end)
        return -EPROTO;
    *v = *b->p++;
    return 0;
}

static int rb_len(struct rb *b, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (b->p >= b->end)
            return -EPROTO;
        uint8_t c = *b->p++;
        x |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -EPROTO;
}

static int rb_str(struct rb *b, const char **s, size_t *n)
{
    uint64_t len;
    if (rb_len(b, &len) < 0 || (uint64_t)(b->end - b->p) < len)
        return -EPROTO;
    *s = (const char *)b->p;
    *n = (size_t)len;
    b->p += len;
    return 0;
}

/* ---- the store's seqs in the table ---- */

/* store_id = '...' AND the filters, into res->where; the store's seq range into lo, hi. */
static int find_store(struct trail_ch *ch, struct trail_buf *where, uint64_t *lo, uint64_t *hi,
                      char *err, size_t errlen)
{
    struct trail_buf sql = {0};
    int r = 0;
    r |= trail_buf_append(&sql, "SELECT store_id, min(seq), max(seq) FROM ", 41);
    r |= trail_buf_append(&sql, ch->table, strlen(ch->table));
    if (*ch->store_id) {
        r |= trail_buf_append(&sql, " WHERE store_id = ", 18);
        r |= chsql_quote(&sql, ch->store_id, strlen(ch->store_id));
    }
    r |=
        trail_buf_append(&sql, " GROUP BY store_id ORDER BY store_id LIMIT 4 FORMAT RowBinary", 61);
    if (r) {
        trail_buf_free(&sql);
        return -ENOMEM;
    }
    r = ch_run(ch, &sql, err, errlen);
    trail_buf_free(&sql);
    if (r < 0)
        return r;
    struct rb b = {(const uint8_t *)ch->resp.data, (const uint8_t *)ch->resp.data + ch->resp.len};
    char names[200] = "";
    const char *id = NULL;
    size_t idn = 0, rows = 0;
    *lo = 1;
    *hi = 0;
    while (b.p < b.end) {
        const char *s;
        size_t n;
        uint64_t a, z;
        if (rb_str(&b, &s, &n) < 0 || rb_u64(&b, &a) < 0 || rb_u64(&b, &z) < 0)
            return fail(err, errlen, -EPROTO, "ClickHouse's answer does not read as rows");
        if (rows++ == 0) {
            id = s;
            idn = n;
            *lo = a;
            *hi = z;
        }
        size_t used = strlen(names);
        snprintf(names + used, sizeof(names) - used, "%s%.*s", used ? ", " : "",
                 (int)(n > 40 ? 40 : n), s);
    }
    if (rows > 1)
        return fail(err, errlen, TRAIL_E_PARSE,
                    "the table %s holds the events of several stores (%s%s): choose one with "
                    "--clickhouse-store",
                    ch->table, names, rows > 3 ? ", ..." : "");
    r = trail_buf_append(where, "store_id = ", 11);
    if (r == 0 && *ch->store_id)
        r = chsql_quote(where, ch->store_id, strlen(ch->store_id));
    else if (r == 0)
        r = chsql_quote(where, id ? id : "", id ? idn : 0);
    if (r == 0 && ch->below) {
        /* a number formatted here, never text from a caller */
        char cond[48];
        snprintf(cond, sizeof(cond), " AND seq < %" PRIu64, ch->below);
        r = trail_buf_append(where, cond, strlen(cond));
        if (*hi >= ch->below)
            *hi = ch->below - 1;
    }
    return r;
}

/* The plan of q (its clock: the cursor's, the query's, or now) and its checks, as index.c's. */
static int plan_query(const struct trail_query *q, struct qplan *p, char *err, size_t errlen)
{
    int64_t now = q->now_us ? q->now_us : trail_now();
    if (q->has_cursor == 1)
        now = q->cur_now;
    if (qplan_init(p, q, now) < 0)
        return fail(err, errlen, TRAIL_E_PARSE, "bad since or until: not a time");
    if (p->since >= p->until && q->since_text && q->until_text)
        return fail(err, errlen, TRAIL_E_PARSE, "bad until '%s': it is not after since '%s'",
                    q->until_text, q->since_text);
    return 0;
}

int trail_ch_results_open(struct trail_ch *ch, const struct trail_query *q,
                          struct trail_ch_results **ret, char *err, size_t errlen)
{
    struct trail_ch_results *res = calloc(1, sizeof(*res));
    int r;
    if (!res)
        return -ENOMEM;
    res->ch = ch;
    res->q = q;
    res->newest = q->order == TRAIL_ORDER_NEWEST;
    res->limit = q->limit;
    if ((r = plan_query(q, &res->plan, err, errlen)) < 0)
        goto fail;
    if (q->order == TRAIL_ORDER_TIME || q->order == TRAIL_ORDER_TIME_DESC)
        res->by_time = q->order;
    if (q->has_cursor == 1) {
        if (q->cur_order != q->order) {
            r = fail(err, errlen, TRAIL_E_PARSE,
                     "bad cursor: it continues a search in %s order, not %s",
                     qorder_name(q->cur_order), qorder_name(q->order));
            goto fail;
        }
        if (q->cur_hash != res->plan.hash) {
            r = fail(err, errlen, TRAIL_E_PARSE,
                     "bad cursor: it continues a search with other filters (since, until, "
                     "event, severity, where, text must be the same)");
            goto fail;
        }
    }
    struct trail_buf filters = {0};
    r = chsql_filters(&res->plan, &filters, err, errlen);
    if (r == 0)
        r = find_store(ch, &res->where, &res->lo, &res->hi, err, errlen);
    if (r == 0 && (trail_buf_append(&res->where, " AND ", 5) < 0 ||
                   trail_buf_append(&res->where, filters.data, filters.len) < 0))
        r = -ENOMEM;
    trail_buf_free(&filters);
    if (r < 0)
        goto fail;
    if (res->by_time) {
        /* as the store's: later pages see the seqs the first saw, past the position */
        if (q->has_cursor == 1) {
            if (q->cur_horizon < res->hi)
                res->hi = q->cur_horizon;
            res->has_pos = 1;
            res->pos_time = q->cur_time;
            res->pos_seq = q->cur_seq;
        }
    } else if (q->has_cursor) {
        if (q->cur_order == TRAIL_ORDER_NEWEST) {
            if (q->cur_seq == 0 || q->cur_seq - 1 < res->hi)
                res->hi = q->cur_seq ? q->cur_seq - 1 : 0;
        } else if (q->cur_seq + 1 > res->lo) {
            res->lo = q->cur_seq + 1;
        }
    }
    if (res->lo > res->hi || res->hi == 0)
        res->done = 1;
    *ret = res;
    return 0;
fail:
    trail_ch_results_free(res);
    return r;
}

/* The next page of rows after the last one returned (or from the start of the range). */
static int fetch_page(struct trail_ch_results *res)
{
    struct trail_ch *ch = res->ch;
    uint64_t want = PAGE_ROWS;
    if (res->limit && res->limit - res->returned < want)
        want = res->limit - res->returned;
    uint64_t lo = res->lo, hi = res->hi;
    if (res->returned && !res->by_time) {
        if (res->newest)
            hi = res->last_seq - 1;
        else
            lo = res->last_seq + 1;
    }
    struct trail_buf sql = {0};
    int r = 0;
    const char *cols = "SELECT seq, time_us, event_id, severity, host, uuid, attrs.key, "
                       "attrs.value FROM ";
    r |= trail_buf_append(&sql, cols, strlen(cols));
    r |= trail_buf_append(&sql, ch->table, strlen(ch->table));
    char range[160];
    snprintf(range, sizeof(range), " WHERE seq >= %" PRIu64 " AND seq <= %" PRIu64 " AND ", lo, hi);
    r |= trail_buf_append(&sql, range, strlen(range));
    r |= trail_buf_append(&sql, res->where.data, res->where.len);
    int asc = res->by_time == TRAIL_ORDER_TIME;
    if (res->by_time && res->has_pos) {
        /* strictly past (time, seq) in the order's direction; numbers formatted here */
        const char *op = asc ? ">" : "<";
        snprintf(range, sizeof(range),
                 " AND (toInt64(time_us) %s %" PRId64 " OR (toInt64(time_us) = %" PRId64
                 " AND seq %s %" PRIu64 "))",
                 op, res->pos_time, res->pos_time, op, res->pos_seq);
        r |= trail_buf_append(&sql, range, strlen(range));
    }
    if (res->by_time)
        snprintf(range, sizeof(range),
                 " ORDER BY time_us %s, seq %s LIMIT %" PRIu64 " FORMAT RowBinary",
                 asc ? "ASC" : "DESC", asc ? "ASC" : "DESC", want);
    else
        snprintf(range, sizeof(range), " ORDER BY seq %s LIMIT %" PRIu64 " FORMAT RowBinary",
                 res->newest ? "DESC" : "ASC", want);
    r |= trail_buf_append(&sql, range, strlen(range));
    if (r) {
        trail_buf_free(&sql);
        return -ENOMEM;
    }
    r = ch_run(ch, &sql, res->err, sizeof(res->err));
    trail_buf_free(&sql);
    if (r < 0)
        return r;
    trail_buf_reset(&res->page);
    if (trail_buf_append(&res->page, ch->resp.data ? ch->resp.data : "", ch->resp.len) < 0)
        return -ENOMEM;
    res->pos = 0;
    res->page_want = want;
    res->page_rows = 0;
    return 0;
}

/* Decode one row at res->pos into ev. */
static int decode_row(struct trail_ch_results *res, struct trail_event *ev)
{
    struct rb b = {(const uint8_t *)res->page.data + res->pos,
                   (const uint8_t *)res->page.data + res->page.len};
    uint64_t seq, t, nk, nv;
    uint8_t sev;
    const char *id, *host, *uuid;
    size_t idn, hostn, uuidn;
    if (rb_u64(&b, &seq) < 0 || rb_u64(&b, &t) < 0 || rb_str(&b, &id, &idn) < 0 ||
        rb_u8(&b, &sev) < 0 || rb_str(&b, &host, &hostn) < 0 || rb_str(&b, &uuid, &uuidn) < 0 ||
        rb_len(&b, &nk) < 0)
        goto bad;
    const uint8_t *keys = b.p;
    for (uint64_t i = 0; i < nk; i++) {
        const char *s;
        size_t n;
        if (rb_str(&b, &s, &n) < 0)
            goto bad;
    }
    if (rb_len(&b, &nv) < 0 || nv != nk)
        goto bad;
    struct rb kb = {keys, b.p};
    char idz[256];
    if (idn >= sizeof(idz))
        goto bad;
    memcpy(idz, id, idn);
    idz[idn] = '\0';
    int r = trail_event_reset(ev, idz, idn);
    if (r < 0)
        goto bad_r;
    trail_event_set_time(ev, (int64_t)t);
    trail_event_set_seq(ev, seq);
    if ((r = trail_event_set_severity(ev, sev)) < 0 ||
        (r = trail_event_set_host(ev, host, hostn)) < 0)
        goto bad_r;
    uint8_t u[16];
    if (uuidn && trail_uuid_parse(uuid, uuidn, u) == 0)
        trail_event_set_uuid(ev, u);
    for (uint64_t i = 0; i < nk; i++) {
        const char *k, *v;
        size_t kn, vn;
        rb_str(&kb, &k, &kn);
        if (rb_str(&b, &v, &vn) < 0)
            goto bad;
        if ((r = trail_event_set_text(ev, k, kn, v, vn)) < 0)
            goto bad_r;
    }
    res->pos = (size_t)(b.p - (const uint8_t *)res->page.data);
    res->last_seq = seq;
    if (res->by_time) {
        res->has_pos = 1;
        res->pos_time = (int64_t)t;
        res->pos_seq = seq;
    }
    return 0;
bad:
    snprintf(res->err, sizeof(res->err), "ClickHouse's answer does not read as the table's rows");
    return -EPROTO;
bad_r:
    snprintf(res->err, sizeof(res->err), "a row of seq %" PRIu64 " does not read as an event: %s",
             seq, trail_strerror(r));
    return TRAIL_E_CORRUPT;
}

int trail_ch_results_next(struct trail_ch_results *res, struct trail_event *ev)
{
    if (res->limit && res->returned >= res->limit) {
        res->more = 1;
        return 0;
    }
    if (res->done)
        return 0;
    if (res->pos >= res->page.len) {
        /* a short page was the last: everything in the range has been looked at */
        if (res->page_want && res->page_rows < res->page_want) {
            res->done = 1;
            return 0;
        }
        int r = fetch_page(res);
        if (r < 0)
            return r;
        if (res->page.len == 0) {
            res->done = 1;
            return 0;
        }
    }
    int r = decode_row(res, ev);
    if (r < 0)
        return r;
    res->returned++;
    res->page_rows++;
    if (res->limit && res->returned >= res->limit)
        res->more = 1;
    return 1;
}

const char *trail_ch_results_error(const struct trail_ch_results *res)
{
    return res->err;
}

int trail_ch_results_more(const struct trail_ch_results *res)
{
    return res->more;
}

int trail_ch_results_cursor(const struct trail_ch_results *res, char *buf, size_t size)
{
    struct qposition p = {.newest = res->newest,
                          .done = res->done,
                          .more = res->more,
                          .by_time = res->by_time,
                          .has_pos = res->has_pos,
                          .pos_time = res->pos_time,
                          .pos_seq = res->pos_seq,
                          .lo = res->lo,
                          .hi = res->hi,
                          .returned = res->returned,
                          .last_seq = res->last_seq};
    return qposition_cursor(&p, &res->plan, buf, size);
}

void trail_ch_results_free(struct trail_ch_results *res)
{
    if (!res)
        return;
    trail_buf_free(&res->where);
    trail_buf_free(&res->page);
    free(res);
}

/* ---- counting ---- */

static int put_s(struct trail_buf *b, const char *s)
{
    return trail_buf_append(b, s, strlen(s)) < 0 ? -ENOMEM : 0;
}

/* "2026-11-01T13:00:00Z" for an hour, "2026-11-01" for a day (index.c's hour_text). */
static size_t period_text(int64_t n, int day, char buf[32])
{
    char t[32];
    trail_time_format(n * (day ? 86400 : 3600) * (int64_t)1000000, t);
    if (day) {
        memcpy(buf, t, 10);
        buf[10] = '\0';
        return 10;
    }
    memcpy(buf + 13, ":00:00Z", 8);
    memcpy(buf, t, 13);
    return 20;
}

/*
 * The groups' keys are read into one arena as (present, text) and the
 * count laid out in one block, as index.c's count_result, so that
 * trail_count_free() frees it.
 */
int trail_ch_count_run(struct trail_ch *ch, const struct trail_query *q, struct trail_count **ret,
                       char *err, size_t errlen)
{
    struct qplan plan;
    struct trail_buf sql = {0}, filters = {0}, where = {0}, arena = {0};
    uint64_t lo, hi, *counts = NULL;
    size_t n_rows = 0, cap = 0;
    int r = plan_query(q, &plan, err, errlen);
    if (r == 0)
        r = chsql_filters(&plan, &filters, err, errlen);
    if (r == 0)
        r = find_store(ch, &where, &lo, &hi, err, errlen);
    if (r < 0)
        goto out;
    /* the dimensions first, each named _N for the GROUP BY, then the count */
    r = trail_buf_append(&sql, "SELECT ", 7);
    int col = 0;
    for (int d = 0; d < q->n_by && r == 0; d++) {
        char alias[32];
        switch (q->by[d]) {
        case QBY_EVENT:
            r = put_s(&sql, "event_id");
            break;
        case QBY_SEVERITY:
            r = put_s(&sql, "severity");
            break;
        case QBY_HOUR:
            r = put_s(&sql, "intDiv(time_us, 3600000000)");
            break;
        case QBY_DAY:
            r = put_s(&sql, "intDiv(time_us, 86400000000)");
            break;
        default: {
            const char *k = q->by_attr[d];
            r = put_s(&sql, "has(attrs.key, ");
            r |= chsql_quote(&sql, k, strlen(k));
            snprintf(alias, sizeof(alias), ") AS _%d, ", ++col);
            r |= put_s(&sql, alias);
            r |= put_s(&sql, "attrs.value[indexOf(attrs.key, ");
            r |= chsql_quote(&sql, k, strlen(k));
            r |= put_s(&sql, ")]");
        }
        }
        snprintf(alias, sizeof(alias), " AS _%d, ", ++col);
        r |= put_s(&sql, alias);
    }
    /* filtered in a subquery: 18.16 cannot group by an attribute over lambdas that see event_id */
    r |= put_s(&sql, "count() FROM (SELECT event_id, severity, time_us, attrs.key, attrs.value "
                     "FROM ");
    r |= put_s(&sql, ch->table);
    r |= put_s(&sql, " WHERE ");
    r |= trail_buf_append(&sql, where.data, where.len);
    r |= put_s(&sql, " AND ");
    r |= trail_buf_append(&sql, filters.data, filters.len);
    r |= put_s(&sql, ")");
    for (int c = 1; c <= col; c++) {
        char g[24];
        snprintf(g, sizeof(g), "%s_%d", c == 1 ? " GROUP BY " : ", ", c);
        r |= put_s(&sql, g);
    }
    r |= put_s(&sql, " FORMAT RowBinary");
    if (r) {
        r = -ENOMEM;
        goto out;
    }
    if ((r = ch_run(ch, &sql, err, errlen)) < 0)
        goto out;
    /* rows: per dimension its key, then the count */
    struct rb b = {(const uint8_t *)ch->resp.data, (const uint8_t *)ch->resp.data + ch->resp.len};
    uint64_t total = 0;
    while (b.p < b.end) {
        for (int d = 0; d < q->n_by; d++) {
            char text[40];
            const char *s = NULL;
            size_t n = 0;
            uint8_t u8 = 0;
            uint64_t u64 = 0;
            int bad = 0;
            switch (q->by[d]) {
            case QBY_EVENT:
                bad = rb_str(&b, &s, &n) < 0;
                break;
            case QBY_SEVERITY:
                bad = rb_u8(&b, &u8) < 0;
                s = trail_severity_name(u8);
                s = s ? s : "?";
                n = strlen(s);
                break;
            case QBY_HOUR:
            case QBY_DAY:
                bad = rb_u64(&b, &u64) < 0;
                n = period_text((int64_t)u64, q->by[d] == QBY_DAY, text);
                s = text;
                break;
            default:
                bad = rb_u8(&b, &u8) < 0 || rb_str(&b, &s, &n) < 0;
                if (!u8)
                    s = NULL;
            }
            if (bad) {
                r = fail(err, errlen, -EPROTO, "ClickHouse's answer does not read as counts");
                goto out;
            }
            uint8_t present = s != NULL;
            r = trail_buf_append(&arena, &present, 1);
            r |= trail_buf_append(&arena, &n, sizeof(n));
            if (s && n)
                r |= trail_buf_append(&arena, s, n);
            if (r) {
                r = -ENOMEM;
                goto out;
            }
        }
        if (n_rows == cap) {
            cap = cap ? cap * 2 : 64;
            uint64_t *nc = realloc(counts, cap * sizeof(*nc));
            if (!nc) {
                r = -ENOMEM;
                goto out;
            }
            counts = nc;
        }
        if (rb_u64(&b, &counts[n_rows]) < 0) {
            r = fail(err, errlen, -EPROTO, "ClickHouse's answer does not read as counts");
            goto out;
        }
        total += counts[n_rows++];
    }
    size_t names = 0;
    for (int d = 0; d < q->n_by; d++)
        names += strlen(qcount_by_name(q, d)) + 1;
    size_t size = sizeof(struct trail_count) + n_rows * sizeof(struct trail_count_row) + names +
                  arena.len + n_rows * (size_t)TRAIL_COUNT_MAX_BY + 1;
    struct trail_count *out = calloc(1, size);
    if (!out) {
        r = -ENOMEM;
        goto out;
    }
    out->n_by = q->n_by;
    out->total = total;
    out->rows = (struct trail_count_row *)(out + 1);
    char *strs = (char *)(out->rows + n_rows);
    for (int d = 0; d < q->n_by; d++) {
        size_t l = strlen(qcount_by_name(q, d)) + 1;
        memcpy(strs, qcount_by_name(q, d), l);
        out->by[d] = strs;
        strs += l;
    }
    const uint8_t *p = (const uint8_t *)arena.data;
    for (size_t i = 0; i < n_rows; i++) {
        struct trail_count_row *row = &out->rows[out->n_rows++];
        row->count = counts[i];
        for (int d = 0; d < q->n_by; d++) {
            int present = p[0];
            size_t n;
            memcpy(&n, p + 1, sizeof(n));
            p += 1 + sizeof(n);
            if (present) {
                memcpy(strs, p, n);
                strs[n] = '\0';
                row->keys[d] = strs;
                strs += n + 1;
            }
            p += present ? n : 0;
        }
    }
    qcount_sort(out->rows, out->n_rows, qcount_by_key(q));
    *ret = out;
    r = 0;
out:
    free(counts);
    trail_buf_free(&sql);
    trail_buf_free(&filters);
    trail_buf_free(&where);
    trail_buf_free(&arena);
    return r;
}
