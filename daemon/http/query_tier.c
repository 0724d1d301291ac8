/*
 * query_tier.c - the ClickHouse tier of traild's queries ([query]
 * clickhouse; docs/scale-out.md, "A tier in ClickHouse").
 *
 * The rule: a seq below the store's first seq (what retention purged) is
 * answered from ClickHouse, the rows of this store (its store_id) that the
 * clickhouse sink copied there; every other seq from the store. The two
 * tiers split the seqs without overlap, and both are paged by seq with the
 * store's cursors, so one search is a concatenation: oldest first,
 * ClickHouse's part then the store's; newest first, the other way round. A
 * page that ends in one tier leaves a cursor of that tier; the next page
 * starts in whichever tier holds the seqs after it. Where a page crosses
 * the boundary, the second tier's search starts at the boundary as if a
 * cursor of the same search stood there (same filters, same clock), so
 * nothing is skipped or repeated even when the store purges between pages.
 * In event time order (time, -time) the tiers interleave: each gives its
 * next events after the page's (time, seq) position, and the page is the
 * first of both merged (time_search), with a time cursor.
 *
 * A count is the store's count plus ClickHouse's count of the seqs below
 * the boundary, merged by key.
 *
 * ClickHouse's table cannot answer every filter (received time,
 * provenance: lib/clickhouse/chsql.h); a search with such a filter is
 * refused (400) while the tier is in use, rather than answered without the
 * older part. ClickHouse down: 502 (the store's part alone would be a wrong
 * answer that looks right).
 *
 * Proofs: an event found in ClickHouse names its origin (the store's origin
 * name) and seq; the store here no longer holds it, so its proof is asked
 * of the traild that [origins] names for that origin (an archive copy, or
 * the edge it came from), else "proof unavailable".
 *
 * Not here: the routes (query_http.c, viewer_http.c), the SQL
 * (lib/clickhouse).
 */
#include "http/query_tier.h"

#include "clickhouse/chquery.h"
#include "clickhouse/chsql.h"
#include "client/http.h"
#include "core/config.h"
#include "core/json_out.h"
#include "core/traild.h"
#include "query/query.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tier_wanted(void)
{
    return traild_config()->query.clickhouse && trail_store_first_seq(traild.store) > 1;
}

static void store_hex(char out[33])
{
    uint8_t id[16];
    trail_store_id(traild.store, id);
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", id[i]);
}

/* A ClickHouse source over this store's rows below seq `below`: one per request (not shared). */
static int ch_open(uint64_t below, struct trail_ch **ret, char *err, size_t errlen)
{
    const struct config *c = traild_config();
    char id[33];
    store_hex(id);
    struct trail_ch_opts o = {.table = c->query.table,
                              .store_id = id,
                              .user = c->query.user,
                              .password = c->query.password,
                              .ca = c->query.ca,
                              .timeout_ms = (int)c->query.timeout_ms};
    int r = trail_ch_open(c->query.clickhouse, &o, c->cat, ret, err, errlen);
    if (r < 0)
        return r;
    chquery_seqs_below(*ret, below);
    return 0;
}

/* The HTTP status of a failure of the ClickHouse tier; err prefixed so the reader knows. */
static int ch_status(int r, char *err, size_t errlen)
{
    if (r == TRAIL_E_PARSE)
        return 400;
    if (r == -ENOMEM)
        return 500;
    char m[400];
    snprintf(m, sizeof(m), "%s", err);
    snprintf(err, errlen, "the ClickHouse tier (for the seqs this store no longer holds): %s", m);
    return 502;
}

/* ev as JSON, with "source" naming its origin store and seq, and where its proof is asked. */
static int ch_event_json(const struct trail_event *ev, struct trail_buf *out)
{
    char origin[TRAIL_ORIGIN_MAX + 1], id[33];
    int r = trail_event_to_json(ev, out);
    if (r < 0)
        return r;
    if (trail_store_origin(traild.store, origin) < 0)
        origin[0] = '\0';
    store_hex(id);
    out->len--; /* the object's '}', to add one member */
    uint64_t seq = trail_event_seq(ev);
    struct trail_buf proof = {0};
    r = json_printf(&proof, "/v1/proof?seq=%" PRIu64 "&origin=", seq);
    for (const char *p = origin; *p && r == 0; p++) {
        /* an origin is printable ASCII without space; the URL encodes the rest */
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p))
            r = trail_buf_append(&proof, p, 1);
        else
            r = json_printf(&proof, "%%%02X", (unsigned char)*p);
    }
    if (r == 0)
        r = json_printf(out, ",\"source\":{\"tier\":\"clickhouse\",\"origin\":");
    if (r == 0)
        r = json_str(out, origin, strlen(origin));
    if (r == 0)
        r = json_printf(out, ",\"store_id\":\"%s\",\"seq\":%" PRIu64 ",\"proof\":", id, seq);
    if (r == 0)
        r = json_str(out, proof.data, proof.len);
    if (r == 0)
        r = json_printf(out, "}}");
    trail_buf_free(&proof);
    return r;
}

static int put_event(struct trail_buf *out, int ndjson, size_t n, const struct trail_event *ev,
                     int from_ch)
{
    int r = 0;
    if (!ndjson && n)
        r = trail_buf_append(out, ",", 1);
    if (r == 0)
        r = from_ch ? ch_event_json(ev, out) : trail_event_to_json(ev, out);
    if (r == 0 && ndjson)
        r = trail_buf_append(out, "\n", 1);
    return r;
}

/* Let q continue after seq as a cursor of the same search would (the plan's clock and hash). */
static void place_cursor(struct trail_query *q, const struct qplan *plan, uint64_t seq)
{
    q->has_cursor = 1;
    q->cur_order = q->order;
    q->cur_seq = seq;
    q->cur_now = plan->now_us;
    q->cur_hash = plan->hash;
}

/* The ClickHouse part: up to q->limit events of seqs below `below`. */
static int ch_part(struct trail_query *q, uint64_t below, int ndjson, struct trail_buf *out,
                   struct tier_page *pg, int *ended, char *err, size_t errlen)
{
    struct trail_ch *ch = NULL;
    struct trail_ch_results *res = NULL;
    struct trail_event *ev = NULL;
    int r = ch_open(below, &ch, err, errlen);
    if (r == 0)
        r = trail_ch_results_open(ch, q, &res, err, errlen);
    if (r == 0)
        r = trail_event_new(traild_config()->cat, "x", &ev);
    while (r == 0 && (r = trail_ch_results_next(res, ev)) == 1) {
        r = put_event(out, ndjson, pg->n, ev, 1);
        pg->n++;
    }
    if (r < 0 && res && trail_ch_results_error(res)[0])
        snprintf(err, errlen, "%s", trail_ch_results_error(res));
    if (r == 0) {
        pg->more = trail_ch_results_more(res);
        trail_ch_results_cursor(res, pg->cursor, sizeof(pg->cursor));
        *ended = !pg->more;
    }
    trail_event_free(ev);
    trail_ch_results_free(res);
    trail_ch_close(ch);
    return r < 0 ? ch_status(r, err, errlen) : 0;
}

/* The store's part: up to q->limit events of seqs from `from` on. */
static int store_part(struct trail_index *ix, struct trail_query *q, uint64_t from, int ndjson,
                      struct trail_buf *out, struct tier_page *pg, int *ended, char *err,
                      size_t errlen)
{
    struct trail_results *res = NULL;
    struct trail_event *ev = NULL;
    int r = trail_results_open(ix, q, &res, err, errlen);
    if (r < 0)
        return r == TRAIL_E_PARSE ? 400 : (snprintf(err, errlen, "%s", trail_strerror(r)), 500);
    int below = 0;
    if ((r = trail_event_new(traild_config()->cat, "x", &ev)) == 0) {
        while ((r = trail_results_next(res, ev)) == 1) {
            if (trail_event_seq(ev) < from) {
                below = 1; /* ClickHouse's from here on */
                r = 0;
                break;
            }
            if ((r = put_event(out, ndjson, pg->n, ev, 0)) < 0)
                break;
            pg->n++;
        }
    }
    if (r == 0) {
        pg->more = !below && trail_results_more(res);
        pg->horizon = trail_results_horizon(res);
        trail_results_cursor(res, pg->cursor, sizeof(pg->cursor));
        r = trail_results_skipped(res, &pg->skipped, &pg->n_skipped);
        *ended = !pg->more;
    }
    trail_event_free(ev);
    trail_results_free(res);
    if (r < 0) {
        snprintf(err, errlen, "%s", trail_strerror(r));
        return 500;
    }
    return 0;
}

/* ---- event time order: both tiers' next events after the position, merged ---- */

/* Events of one tier in the search's order, as JSON slices of one buffer. */
struct tier_items {
    struct item {
        int64_t time;
        uint64_t seq;
        size_t off, len;
    } * v;
    size_t n, cap;
    struct trail_buf json;
    int more;
};

static int items_add(struct tier_items *t, const struct trail_event *ev, int from_ch)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        struct item *v = realloc(t->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        t->v = v;
        t->cap = cap;
    }
    size_t off = t->json.len;
    int r = from_ch ? ch_event_json(ev, &t->json) : trail_event_to_json(ev, &t->json);
    if (r < 0)
        return r;
    t->v[t->n++] = (struct item){trail_event_time(ev), trail_event_seq(ev), off, t->json.len - off};
    return 0;
}

/* 1 when x comes before y in the order (ascending or descending (time, seq)). */
static int before(const struct item *x, const struct item *y, int asc)
{
    if (x->time != y->time)
        return asc ? x->time < y->time : x->time > y->time;
    return asc ? x->seq < y->seq : x->seq > y->seq;
}

/*
 * A page in event time order: up to limit events after the position from
 * each tier (the store's, and ClickHouse's below b, both bound to the
 * horizon of the first page as a time cursor is), merged, the first limit
 * of them kept. The cursor is a time cursor of the last one kept.
 */
static int time_search(struct trail_index *ix, struct trail_query *q, const struct qplan *plan,
                       uint64_t b, int ndjson, struct trail_buf *out, struct tier_page *pg,
                       char *err, size_t errlen)
{
    struct tier_items st = {0}, ct = {0};
    struct trail_results *res = NULL;
    struct trail_ch *ch = NULL;
    struct trail_ch_results *cres = NULL;
    struct trail_event *ev = NULL;
    int status = 500, asc = q->order == TRAIL_ORDER_TIME;
    int r = trail_results_open(ix, q, &res, err, errlen);
    if (r < 0) {
        status = r == TRAIL_E_PARSE ? 400 : 500;
        if (r != TRAIL_E_PARSE)
            snprintf(err, errlen, "%s", trail_strerror(r));
        goto out;
    }
    if ((r = trail_event_new(traild_config()->cat, "x", &ev)) < 0)
        goto fail;
    while ((r = trail_results_next(res, ev)) == 1)
        if ((r = items_add(&st, ev, 0)) < 0)
            goto fail;
    if (r < 0)
        goto fail;
    st.more = trail_results_more(res);
    pg->horizon = trail_results_horizon(res);
    uint64_t horizon =
        q->has_cursor == 1 && q->cur_horizon < pg->horizon ? q->cur_horizon : pg->horizon;
    if ((r = trail_results_skipped(res, &pg->skipped, &pg->n_skipped)) < 0)
        goto fail;
    r = ch_open(b, &ch, err, errlen);
    if (r == 0)
        r = trail_ch_results_open(ch, q, &cres, err, errlen);
    while (r == 0 && (r = trail_ch_results_next(cres, ev)) == 1)
        r = items_add(&ct, ev, 1);
    if (r < 0 && cres && trail_ch_results_error(cres)[0])
        snprintf(err, errlen, "%s", trail_ch_results_error(cres));
    if (r < 0) {
        status = ch_status(r, err, errlen);
        goto out;
    }
    ct.more = trail_ch_results_more(cres);
    size_t i = 0, j = 0;
    const struct item *last = NULL;
    while (pg->n < q->limit && (i < st.n || j < ct.n)) {
        int from_ch = i == st.n || (j < ct.n && before(&ct.v[j], &st.v[i], asc));
        const struct item *it = from_ch ? &ct.v[j++] : &st.v[i++];
        const struct trail_buf *src = from_ch ? &ct.json : &st.json;
        if ((!ndjson && pg->n && (r = trail_buf_append(out, ",", 1)) < 0) ||
            (r = trail_buf_append(out, src->data + it->off, it->len)) < 0 ||
            (ndjson && (r = trail_buf_append(out, "\n", 1)) < 0))
            goto fail;
        pg->n++;
        last = it;
    }
    pg->more = pg->n == q->limit && (i < st.n || j < ct.n || st.more || ct.more);
    if (last)
        r = qcursor_format_time(q->order, last->time, last->seq, horizon, plan->now_us, plan->hash,
                                pg->cursor, sizeof(pg->cursor));
    else if (q->has_cursor == 1)
        r = qcursor_format_time(q->order, q->cur_time, q->cur_seq, horizon, plan->now_us,
                                plan->hash, pg->cursor, sizeof(pg->cursor));
    else
        r = qcursor_format_time(q->order, asc ? INT64_MIN : INT64_MAX, asc ? 0 : UINT64_MAX,
                                horizon, plan->now_us, plan->hash, pg->cursor, sizeof(pg->cursor));
    if (r < 0)
        goto fail;
    status = 0;
    goto out;
fail:
    snprintf(err, errlen, "%s", trail_strerror(r));
    status = 500;
out:
    trail_event_free(ev);
    trail_results_free(res);
    trail_ch_results_free(cres);
    trail_ch_close(ch);
    free(st.v);
    free(ct.v);
    trail_buf_free(&st.json);
    trail_buf_free(&ct.json);
    return status;
}

int tier_search(struct trail_index *ix, struct trail_query *q, int ndjson, struct trail_buf *out,
                struct tier_page *pg, char *err, size_t errlen)
{
    uint64_t b = trail_store_first_seq(traild.store); /* the store's from b on */
    if (q->has_cursor == 1 && q->cur_order != q->order) {
        snprintf(err, errlen, "bad cursor: it continues a search in %s order, not %s",
                 qorder_name(q->cur_order), qorder_name(q->order));
        return 400;
    }
    /* one clock for both tiers: the cursor's, else now */
    struct qplan plan;
    int64_t now = q->has_cursor == 1 ? q->cur_now : (q->now_us ? q->now_us : trail_now());
    if (qplan_init(&plan, q, now) < 0) {
        snprintf(err, errlen, "bad since or until: not a time");
        return 400;
    }
    /* a filter ClickHouse cannot answer is refused on every page, not only on those that reach it
     */
    struct trail_buf sql = {0};
    int r = chsql_filters(&plan, &sql, err, errlen);
    trail_buf_free(&sql);
    if (r < 0)
        return r == TRAIL_E_PARSE ? 400 : 500;
    q->now_us = now;
    if (q->order == TRAIL_ORDER_TIME || q->order == TRAIL_ORDER_TIME_DESC)
        return time_search(ix, q, &plan, b, ndjson, out, pg, err, errlen);
    uint64_t limit = q->limit, pos = q->has_cursor ? q->cur_seq : 0;
    int st = 0, ended = 1;
    if (q->order == TRAIL_ORDER_OLDEST) {
        if (!q->has_cursor || pos < b - 1) {
            if ((st = ch_part(q, b, ndjson, out, pg, &ended, err, errlen)) != 0 || !ended)
                return st;
            place_cursor(q, &plan, b - 1);
        }
        q->limit = limit - pg->n;
        st = store_part(ix, q, 0, ndjson, out, pg, &ended, err, errlen);
    } else {
        if (!q->has_cursor || pos > b) {
            if ((st = store_part(ix, q, b, ndjson, out, pg, &ended, err, errlen)) != 0 || !ended)
                return st;
            place_cursor(q, &plan, b);
        }
        q->limit = limit - pg->n;
        uint64_t horizon = pg->horizon;
        st = q->limit ? ch_part(q, b, ndjson, out, pg, &ended, err, errlen) : 0;
        pg->horizon = horizon ? horizon : trail_index_horizon(ix);
    }
    q->limit = limit;
    if (!pg->horizon)
        pg->horizon = trail_index_horizon(ix);
    return st;
}

/* ---- counts ---- */

/* One count of a and b, laid out in one block as trail_count_free() frees it. */
static int merge_counts(const struct trail_count *a, const struct trail_count *b, int by_key,
                        struct trail_count **ret)
{
    size_t n = a->n_rows + b->n_rows, strs = 0;
    struct trail_count_row *all = calloc(n ? n : 1, sizeof(*all));
    if (!all)
        return -ENOMEM;
    memcpy(all, a->rows, a->n_rows * sizeof(*all));
    memcpy(all + a->n_rows, b->rows, b->n_rows * sizeof(*all));
    qcount_sort(all, n, 1);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m && qcount_cmp_keys(&all[m - 1], &all[i]) == 0)
            all[m - 1].count += all[i].count;
        else
            all[m++] = all[i];
    }
    for (int d = 0; d < a->n_by; d++)
        strs += strlen(a->by[d]) + 1;
    for (size_t i = 0; i < m; i++)
        for (int d = 0; d < a->n_by; d++)
            strs += all[i].keys[d] ? strlen(all[i].keys[d]) + 1 : 0;
    struct trail_count *c = calloc(1, sizeof(*c) + m * sizeof(*all) + strs);
    if (!c) {
        free(all);
        return -ENOMEM;
    }
    c->n_by = a->n_by;
    c->total = a->total + b->total;
    c->n_rows = m;
    c->rows = (struct trail_count_row *)(c + 1);
    char *s = (char *)(c->rows + m);
    for (int d = 0; d < a->n_by; d++) {
        size_t l = strlen(a->by[d]) + 1;
        c->by[d] = memcpy(s, a->by[d], l);
        s += l;
    }
    for (size_t i = 0; i < m; i++) {
        c->rows[i].count = all[i].count;
        for (int d = 0; d < a->n_by; d++) {
            if (!all[i].keys[d])
                continue;
            size_t l = strlen(all[i].keys[d]) + 1;
            c->rows[i].keys[d] = memcpy(s, all[i].keys[d], l);
            s += l;
        }
    }
    free(all);
    qcount_sort(c->rows, c->n_rows, by_key);
    *ret = c;
    return 0;
}

int tier_count(struct trail_index *ix, struct trail_query *q, struct trail_count **ret, char *err,
               size_t errlen)
{
    uint64_t b = trail_store_first_seq(traild.store);
    struct trail_count *s = NULL, *c = NULL;
    struct trail_ch *ch = NULL;
    int st = 0;
    q->now_us = q->now_us ? q->now_us : trail_now(); /* one clock for both tiers */
    int r = trail_count_run(ix, q, &s, err, errlen);
    if (r < 0) {
        if (r != TRAIL_E_PARSE)
            snprintf(err, errlen, "%s", trail_strerror(r));
        return r == TRAIL_E_PARSE ? 400 : 500;
    }
    r = ch_open(b, &ch, err, errlen);
    if (r == 0)
        r = trail_ch_count_run(ch, q, &c, err, errlen);
    trail_ch_close(ch);
    if (r < 0)
        st = ch_status(r, err, errlen);
    if (st == 0 && merge_counts(s, c, qcount_by_key(q), ret) < 0) {
        snprintf(err, errlen, "out of memory");
        st = 500;
    }
    trail_count_free(s);
    trail_count_free(c);
    return st;
}

/* ---- proofs from the origin's traild ---- */

static int unavailable(struct trail_buf *a, int *status, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int unavailable(struct trail_buf *a, int *status, int code, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(msg, sizeof(msg), "proof unavailable: ");
    vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
    va_end(ap);
    trail_buf_reset(a);
    *status = code;
    int r = json_printf(a, "{\"error\":");
    r |= json_str(a, msg, strlen(msg));
    r |= json_printf(a, ",\"proof_unavailable\":true}\n");
    return r ? -ENOMEM : 0;
}

int tier_proof(const char *origin, uint64_t seq, struct trail_buf *a, int *status)
{
    const struct config *c = traild_config();
    const char *url = NULL, *vkey = NULL;
    for (size_t i = 0; i < c->n_origins && !url; i++)
        if (strcmp(c->origins[i].name, origin) == 0) {
            url = c->origins[i].url;
            vkey = c->origins[i].key;
        }
    if (!url)
        return unavailable(a, status, 404,
                           "record %" PRIu64 " of %.200s is not held here, and no traild is "
                           "configured for that origin ([origins])",
                           seq, origin);
    struct client_url u;
    if (client_url_parse(url, &u) < 0)
        return unavailable(a, status, 502, "bad URL for origin %.200s", origin);
    struct client_tls tls = {.ca = c->query.ca, .verify = 1};
    struct client_http h = {0};
    client_http_init(&h, &u, &tls, c->query.timeout_ms ? (int)c->query.timeout_ms : 10000,
                     "traild");
    char path[1200], hdr[600] = "", err[300] = "";
    const char *base = strcmp(u.path, "/") ? u.path : "";
    size_t bl = strlen(base);
    snprintf(path, sizeof(path), "%.*s/v1/proof?seq=%" PRIu64,
             (int)(bl && base[bl - 1] == '/' ? bl - 1 : bl), base, seq);
    if (c->query.origin_token)
        snprintf(hdr, sizeof(hdr), "Authorization: Bearer %.500s\r\n", c->query.origin_token);
    int code = 0;
    struct trail_buf body = {0};
    int r =
        client_http_request(&h, "GET", path, hdr[0] ? hdr : NULL, NULL, 0, &code, err, sizeof(err));
    if (r == 0)
        r = client_http_read_all(&h, &body, 16u << 20, err, sizeof(err));
    client_http_close(&h);
    if (r < 0) {
        trail_buf_free(&body);
        return unavailable(a, status, 502,
                           "the traild of origin %.200s (%.200s) cannot be reached: %s", origin,
                           url, err);
    }
    if (code != 200) {
        /* its own reason (purged there too, not yet covered), named as the origin's */
        int rr = unavailable(a, status, code == 409 ? 409 : 502,
                             "the traild of origin %.200s answered %d: %.*s", origin, code,
                             (int)(body.len > 300 ? 300 : body.len), body.data ? body.data : "");
        trail_buf_free(&body);
        return rr;
    }
    trail_buf_reset(a);
    /*
     * its answer as it is (the viewer checks the proof against the checkpoint
     * it names), with the origin's verifier key from [origins] when given, for
     * the viewer to check that checkpoint's signature with: this traild's own
     * key is another store's
     */
    size_t end = body.len;
    while (end && body.data[end - 1] != '}')
        end--;
    if (vkey && end) {
        r = trail_buf_append(a, body.data, end - 1);
        static const char member[] = ",\"origin_verifier_key\":";
        r |= trail_buf_append(a, member, sizeof(member) - 1);
        r |= json_str(a, vkey, strlen(vkey));
        r |= trail_buf_append(a, body.data + end - 1, body.len - (end - 1));
    } else {
        r = trail_buf_append(a, body.data ? body.data : "", body.len);
    }
    trail_buf_free(&body);
    *status = 200;
    return r < 0 ? -ENOMEM : 0;
}
