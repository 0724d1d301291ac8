/*
 * query_http.c - traild's query routes: GET /v1/events, GET /v1/count and
 * GET /v1/events/stream (server-sent events).
 *
 * Parameters are those of `trail query` without dashes (since, until,
 * event, severity, where, text, order, limit, cursor; by for a count), read
 * by trail_query_set() so that a bad one is answered 400 with the same
 * message the command line prints: {"error":"bad since '...': ..."}.
 *
 *   GET /v1/events   200 {"events":[...],"count":N,"more":bool,"cursor":C,
 *                         "horizon":H,"next":"/v1/events?...&cursor=C"|null}
 *                    with format=ndjson: one event a line. Either way the
 *                    headers X-Trail-Cursor, X-Trail-More (1/0) and
 *                    X-Trail-Horizon, and Link: <...>; rel="next" when more.
 *                    limit: default 100; 0 asks for the largest page,
 *                    [limits] max_query_limit (10000; input_http.c refuses
 *                    a larger limit); `next` continues after the last event.
 *                    A search goes past damaged runs of the store and lists
 *                    them: "skipped":[{"from_seq","to_seq","file","reason",
 *                    "quarantined"}], and the header X-Trail-Skipped: A-B,..
 *   GET /v1/count    200 {"by":[..],"total":N,"rows":[{"keys":[..],"count":N}]}
 *                    (and "skipped", X-Trail-Skipped: every damaged run)
 *   GET /v1/events/stream
 *                    text/event-stream: for each matching event, oldest
 *                    first, "id: SEQ" and "data: <event JSON>". It starts
 *                    after Last-Event-ID (header, or last_event_id=SEQ),
 *                    else at the first event at or after since, else at
 *                    the events that arrive from now on; a comment line
 *                    every 15 s keeps idle connections open. Filters as
 *                    above; order, limit and cursor do not apply.
 *   GET /v1/events/export?format=csv|ndjson|eventlog|cef
 *                    every matching event (the filters and order of
 *                    /v1/events; limit caps the total, 0 or none: all) as
 *                    one download, Content-Disposition: attachment;
 *                    filename="trail-events.EXT". Written as the client
 *                    reads: one search, opened once, reads the store in
 *                    order (each segment planned once, blocks through the
 *                    index's bounded cache), rows are made on the export's
 *                    own thread at most EXPORT_BUFS chunks of EXPORT_CHUNK
 *                    bytes ahead of the socket, so memory does not grow
 *                    with the export. The rows are those of `trail query
 *                    --format` (libtrail's writers, from the stored
 *                    records: trail_results_write). An export
 *                    stops at the horizon its search saw when it opened:
 *                    events that arrive meanwhile are not in it.
 *   POST /v1/events/export?<the same parameters>
 *                    200 {"url":"/v1/events/export?...&ticket=T","expires_in":60}:
 *                    a one-use ticket that lets a plain link (which cannot
 *                    carry an Authorization header) download the export
 *                    within 60 s with the role of whoever asked for it.
 *
 * The index is one struct trail_index over traild's store, made at the
 * first query. A stream's connection is parked (MHD_suspend_connection)
 * while it has nothing to send; the pump thread wakes the parked streams
 * when the store's durable seq moves, so no HTTP thread waits for events.
 *
 * Not here: routing (input_http.c), the search itself (libtrail).
 */
#include "http/answer.h"
#include "http/query_http.h"

#include "core/json_out.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/traild.h"
#include "http/query_tier.h"
#include "http/tickets.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sys/random.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAGE_MAX     10000
#define STREAM_BATCH 500
#define KEEPALIVE_MS 15000
#define PUMP_MS      200
/* bytes made per read of the client, and the block libmicrohttpd asks for: big writes, few calls */
#define EXPORT_CHUNK (256u << 10)

static pthread_mutex_t ix_lock = PTHREAD_MUTEX_INITIALIZER;
static struct trail_index *qix;
static atomic_int stopping;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct trail_index *index_get(void)
{
    pthread_mutex_lock(&ix_lock);
    if (!qix && !atomic_load(&stopping)) {
        int r = trail_index_open(traild.store, NULL, &qix);
        if (r < 0)
            log_msg(LOG_ERR, "query: cannot open the index: %s", trail_strerror(r));
    }
    struct trail_index *ix = qix;
    pthread_mutex_unlock(&ix_lock);
    return ix;
}

/* ---- answers ---- */

static enum MHD_Result queue(struct MHD_Connection *conn, int status, const char *type,
                             struct trail_buf *b, const char *const *headers)
{
    struct MHD_Response *resp = answer_take(b);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    for (size_t i = 0; headers && headers[i]; i += 2)
        MHD_add_response_header(resp, headers[i], headers[i + 1]);
    return answer_queue(conn, status, resp);
}

static enum MHD_Result error_answer(struct MHD_Connection *conn, int status, const char *msg)
{
    struct trail_buf b = {0};
    if (json_printf(&b, "{\"error\":") < 0 || json_str(&b, msg, (size_t)-1) < 0 ||
        json_printf(&b, "}\n") < 0) {
        trail_buf_free(&b);
        return MHD_NO;
    }
    return queue(conn, status, "application/json", &b, NULL);
}

/* ---- parameters ---- */

enum route_kind { R_EVENTS, R_COUNT, R_STREAM, R_EXPORT };

/* an export's form: as `trail query --format` writes it */
enum export_format { X_CSV, X_NDJSON, X_EVENTLOG, X_CEF };

struct params {
    int kind;
    struct trail_query *q;
    int ndjson;
    int export_format;
    int has_format;
    int bad;
    int has_since;
    uint64_t last_event_id;
    int has_last_event_id;
    char err[512];
};

static enum MHD_Result on_param(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    struct params *p = cls;
    (void)kind;
    if (!value)
        value = "";
    if (p->kind == R_EXPORT && strcmp(key, "ticket") == 0)
        return MHD_YES; /* input_http.c took it */
    if (p->kind == R_EXPORT && strcmp(key, "format") == 0) {
        static const char *const names[] = {"csv", "ndjson", "eventlog", "cef"};
        for (int i = 0; i < 4; i++)
            if (strcmp(value, names[i]) == 0) {
                p->export_format = i;
                p->has_format = 1;
                return MHD_YES;
            }
        snprintf(p->err, sizeof(p->err),
                 "bad format '%.80s': expected csv, ndjson, eventlog or cef", value);
        p->bad = 1;
        return MHD_NO;
    }
    if (strcmp(key, "format") == 0 && p->kind != R_STREAM) {
        if (strcmp(value, "ndjson") == 0)
            p->ndjson = 1;
        else if (strcmp(value, "json") != 0) {
            snprintf(p->err, sizeof(p->err), "bad format '%.80s': expected json or ndjson", value);
            p->bad = 1;
            return MHD_NO;
        }
        return MHD_YES;
    }
    if (p->kind == R_STREAM && strcmp(key, "last_event_id") == 0) {
        char *end;
        p->last_event_id = strtoull(value, &end, 10);
        if (!*value || *end) {
            snprintf(p->err, sizeof(p->err), "bad last_event_id '%.80s': expected a seq", value);
            p->bad = 1;
            return MHD_NO;
        }
        p->has_last_event_id = 1;
        return MHD_YES;
    }
    if ((p->kind == R_STREAM && (strcmp(key, "order") == 0 || strcmp(key, "limit") == 0 ||
                                 strcmp(key, "cursor") == 0 || strcmp(key, "by") == 0)) ||
        (p->kind != R_COUNT && strcmp(key, "by") == 0) ||
        (p->kind == R_COUNT &&
         (strcmp(key, "order") == 0 || strcmp(key, "limit") == 0 || strcmp(key, "cursor") == 0))) {
        snprintf(p->err, sizeof(p->err), "parameter '%.80s' does not apply to %s", key,
                 p->kind == R_STREAM   ? "a stream (it resumes with Last-Event-ID)"
                 : p->kind == R_COUNT  ? "a count"
                 : p->kind == R_EXPORT ? "an export (by is for /v1/count)"
                                       : "a search (by is for /v1/count)");
        p->bad = 1;
        return MHD_NO;
    }
    if (trail_query_set(p->q, key, value, p->err, sizeof(p->err)) < 0) {
        p->bad = 1;
        return MHD_NO;
    }
    if (strcmp(key, "since") == 0)
        p->has_since = 1;
    return MHD_YES;
}

/* Read the query string into p (with a new query). 0, or an answer was queued (*ret). */
static int read_params(struct MHD_Connection *conn, struct params *p, enum MHD_Result *ret)
{
    if (trail_query_new(traild_config()->cat, &p->q) < 0) {
        *ret = error_answer(conn, 500, "out of memory");
        return -1;
    }
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, on_param, p);
    if (p->bad) {
        *ret = error_answer(conn, 400, p->err);
        return -1;
    }
    return 0;
}

/* ---- GET /v1/events ---- */

/*
 * The damaged runs a search went past: ,"skipped":[{"from_seq":A,"to_seq":B,
 * "file":F,"reason":R,"quarantined":bool}] into out (nothing when none), and
 * "A-B,C-D" into hdr (the X-Trail-Skipped header; "" when none).
 */
static int skipped_json(const struct trail_store_damage *d, size_t n, struct trail_buf *out,
                        char *hdr, size_t hdrlen)
{
    int r = 0;
    size_t hl = 0;
    hdr[0] = '\0';
    if (!n)
        return 0;
    r = json_printf(out, ",\"skipped\":[");
    for (size_t i = 0; i < n && r == 0; i++) {
        r = json_printf(out, "%s{\"from_seq\":%" PRIu64 ",\"to_seq\":%" PRIu64 ",\"file\":",
                        i ? "," : "", d[i].first_seq, d[i].last_seq);
        if (r == 0)
            r = json_str(out, d[i].file, (size_t)-1);
        if (r == 0)
            r = json_printf(out, ",\"reason\":");
        if (r == 0)
            r = json_str(out, d[i].reason, (size_t)-1);
        if (r == 0)
            r = json_printf(out, ",\"quarantined\":%s}", d[i].quarantined ? "true" : "false");
        if (hl + 48 < hdrlen)
            hl += (size_t)snprintf(hdr + hl, hdrlen - hl, "%s%" PRIu64 "-%" PRIu64, i ? "," : "",
                                   d[i].first_seq, d[i].last_seq);
    }
    if (r == 0)
        r = json_printf(out, "]");
    return r;
}

static enum MHD_Result get_events(struct MHD_Connection *conn, struct trail_index *ix)
{
    struct params p = {.kind = R_EVENTS};
    enum MHD_Result ret;
    if (read_params(conn, &p, &ret) < 0) {
        trail_query_free(p.q);
        return ret;
    }
    char lim[32], err[512], cursor[TRAIL_QUERY_CURSOR_MAX] = "";
    /* the largest page: [limits] max_query_limit (input_http.c refuses larger limits) */
    uint64_t page_max = traild_config()->max_query_limit;
    if (page_max == 0 || page_max > PAGE_MAX)
        page_max = PAGE_MAX;
    uint64_t limit = trail_query_limit(p.q);
    if (limit == 0 || limit > page_max) {
        snprintf(lim, sizeof(lim), "%" PRIu64, page_max);
        trail_query_set(p.q, "limit", lim, err, sizeof(err));
    }
    struct trail_results *res = NULL;
    struct trail_event *ev = NULL;
    struct trail_buf out = {0}, next = {0};
    struct tier_page pg = {0};
    int r = 0;
    if (!p.ndjson && (r = json_printf(&out, "{\"events\":[")) < 0)
        goto fail;
    if (tier_wanted()) {
        /* the store no longer holds its first seqs: they come from ClickHouse (query_tier.c) */
        int st = tier_search(ix, p.q, p.ndjson, &out, &pg, err, sizeof(err));
        if (st) {
            free(pg.skipped);
            ret = error_answer(conn, st, err);
            goto out;
        }
        snprintf(cursor, sizeof(cursor), "%s", pg.cursor);
    } else {
        if ((r = trail_results_open(ix, p.q, &res, err, sizeof(err))) < 0) {
            ret = error_answer(conn, r == TRAIL_E_PARSE ? 400 : 500,
                               r == TRAIL_E_PARSE ? err : trail_strerror(r));
            goto out;
        }
        if ((r = trail_event_new(traild_config()->cat, "x", &ev)) < 0)
            goto fail;
        while ((r = trail_results_next(res, ev)) == 1) {
            if (!p.ndjson && pg.n && (r = trail_buf_append(&out, ",", 1)) < 0)
                goto fail;
            if ((r = trail_event_to_json(ev, &out)) < 0)
                goto fail;
            if (p.ndjson && (r = trail_buf_append(&out, "\n", 1)) < 0)
                goto fail;
            pg.n++;
        }
        if (r < 0)
            goto fail;
        pg.more = trail_results_more(res);
        pg.horizon = trail_results_horizon(res);
        trail_results_cursor(res, cursor, sizeof(cursor));
        if ((r = trail_results_skipped(res, &pg.skipped, &pg.n_skipped)) < 0)
            goto fail;
    }
    size_t n = pg.n;
    int more = pg.more;
    uint64_t horizon = pg.horizon;
    struct trail_store_damage *skipped = pg.skipped;
    size_t n_skipped = pg.n_skipped;
    char skipped_hdr[1024];
    if (more && ((r = trail_buf_append(&next, "/v1/events?", 11)) < 0 ||
                 (r = trail_query_format(p.q, cursor, &next)) < 0 ||
                 (p.ndjson && (r = trail_buf_append(&next, "&format=ndjson", 14)) < 0)))
        goto fail;
    if (!p.ndjson) {
        r = json_printf(
            &out,
            "],\"count\":%zu,\"more\":%s,\"cursor\":\"%s\",\"horizon\":%" PRIu64 ",\"next\":", n,
            more ? "true" : "false", cursor, horizon);
        if (r == 0)
            r = more ? json_str(&out, next.data, next.len) : json_printf(&out, "null");
    }
    struct trail_buf sk = {0};
    if (r == 0)
        r = skipped_json(skipped, n_skipped, p.ndjson ? &sk : &out, skipped_hdr,
                         sizeof(skipped_hdr));
    trail_buf_free(&sk);
    free(skipped);
    if (r == 0 && !p.ndjson)
        r = json_printf(&out, "}\n");
    if (r < 0)
        goto fail;
    char hz[32];
    snprintf(hz, sizeof(hz), "%" PRIu64, horizon);
    struct trail_buf link = {0};
    if (more && (json_printf(&link, "<%s>; rel=\"next\"", next.data) < 0)) {
        r = -ENOMEM;
        goto fail;
    }
    const char *headers[11] = {"X-Trail-Cursor",  cursor, "X-Trail-More", more ? "1" : "0",
                               "X-Trail-Horizon", hz};
    size_t nh = 6;
    if (skipped_hdr[0]) {
        headers[nh++] = "X-Trail-Skipped";
        headers[nh++] = skipped_hdr;
    }
    if (more) {
        headers[nh++] = "Link";
        headers[nh++] = link.data;
    }
    ret = queue(conn, 200, p.ndjson ? "application/x-ndjson" : "application/json", &out, headers);
    trail_buf_free(&link);
    goto out;
fail:
    log_msg(LOG_ERR, "query: GET /v1/events: %s", trail_strerror(r));
    ret = error_answer(conn, 500, trail_strerror(r));
out:
    trail_results_free(res);
    trail_event_free(ev);
    trail_buf_free(&out);
    trail_buf_free(&next);
    trail_query_free(p.q);
    return ret;
}

/* ---- GET /v1/count ---- */

static enum MHD_Result get_count(struct MHD_Connection *conn, struct trail_index *ix)
{
    struct params p = {.kind = R_COUNT};
    enum MHD_Result ret;
    if (read_params(conn, &p, &ret) < 0) {
        trail_query_free(p.q);
        return ret;
    }
    struct trail_count *c = NULL;
    struct trail_buf out = {0};
    char err[512];
    int r = 0;
    if (tier_wanted()) {
        int st = tier_count(ix, p.q, &c, err, sizeof(err));
        if (st) {
            ret = error_answer(conn, st, err);
            goto out;
        }
    } else if ((r = trail_count_run(ix, p.q, &c, err, sizeof(err))) < 0) {
        ret = error_answer(conn, r == TRAIL_E_PARSE ? 400 : 500,
                           r == TRAIL_E_PARSE ? err : trail_strerror(r));
        goto out;
    }
    r = json_printf(&out, "{\"by\":[");
    for (int d = 0; d < c->n_by && r == 0; d++) {
        r = json_printf(&out, "%s", d ? "," : "");
        if (r == 0)
            r = json_str(&out, c->by[d], (size_t)-1);
    }
    if (r == 0)
        r = json_printf(&out, "],\"total\":%" PRIu64 ",\"rows\":[", c->total);
    for (size_t i = 0; i < c->n_rows && r == 0; i++) {
        r = json_printf(&out, "%s{\"keys\":[", i ? "," : "");
        for (int d = 0; d < c->n_by && r == 0; d++) {
            r = json_printf(&out, "%s", d ? "," : "");
            if (r == 0)
                r = c->rows[i].keys[d] ? json_str(&out, c->rows[i].keys[d], (size_t)-1)
                                       : json_printf(&out, "null");
        }
        if (r == 0)
            r = json_printf(&out, "],\"count\":%" PRIu64 "}", c->rows[i].count);
    }
    if (r == 0)
        r = json_printf(&out, "]");
    /* a count goes over every seq: any known damage is left out of it */
    struct trail_store_damage *skipped = NULL;
    size_t n_skipped = 0;
    char skipped_hdr[1024];
    if (r == 0)
        r = trail_index_damage(ix, 1, UINT64_MAX, &skipped, &n_skipped);
    if (r == 0)
        r = skipped_json(skipped, n_skipped, &out, skipped_hdr, sizeof(skipped_hdr));
    free(skipped);
    if (r == 0)
        r = json_printf(&out, "}\n");
    if (r < 0) {
        ret = error_answer(conn, 500, trail_strerror(r));
        goto out;
    }
    const char *headers[] = {skipped_hdr[0] ? "X-Trail-Skipped" : NULL, skipped_hdr, NULL};
    ret = queue(conn, 200, "application/json", &out, headers);
out:
    trail_count_free(c);
    trail_buf_free(&out);
    trail_query_free(p.q);
    return ret;
}

/* ---- GET /v1/events/stream ---- */

struct stream {
    struct MHD_Connection *conn;
    struct trail_index *ix;
    struct trail_query *q;
    uint64_t after; /* the last seq looked at: the next message is after it */
    struct trail_buf out;
    size_t out_off;
    int suspended;
    int64_t last_send_ms;
    struct stream *prev, *next;
};

static pthread_mutex_t streams_lock = PTHREAD_MUTEX_INITIALIZER;
static struct stream *streams;
static pthread_t pump;
static int pump_started;

/* Search after st->after and append the messages; 0 or an error. */
static int stream_fill(struct stream *st)
{
    char err[256];
    struct trail_results *res;
    struct trail_event *ev;
    trail_query_start_after(st->q, st->after);
    int r = trail_results_open(st->ix, st->q, &res, err, sizeof(err));
    if (r < 0)
        return r;
    if ((r = trail_event_new(traild_config()->cat, "x", &ev)) < 0) {
        trail_results_free(res);
        return r;
    }
    uint64_t sent = 0;
    while ((r = trail_results_next(res, ev)) == 1) {
        uint64_t seq = trail_event_seq(ev);
        if ((r = json_printf(&st->out, "id: %" PRIu64 "\ndata: ", seq)) < 0 ||
            (r = trail_event_to_json(ev, &st->out)) < 0 ||
            (r = trail_buf_append(&st->out, "\n\n", 2)) < 0)
            break;
        st->after = seq;
        if (++sent == STREAM_BATCH)
            break;
    }
    /* with nothing more to send, everything up to the horizon was looked at */
    if (r == 0 && !trail_results_more(res) && sent < STREAM_BATCH &&
        trail_results_horizon(res) > st->after)
        st->after = trail_results_horizon(res);
    trail_results_free(res);
    trail_event_free(ev);
    return r < 0 ? r : 0;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream *st = cls;
    (void)pos;
    if (st->out_off == st->out.len) {
        st->out.len = st->out_off = 0;
        if (atomic_load(&stopping))
            return MHD_CONTENT_READER_END_OF_STREAM;
        int r = stream_fill(st);
        if (r < 0) {
            log_msg(LOG_ERR, "query: event stream: %s", trail_strerror(r));
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        if (st->out.len == 0 && mono_ms() - st->last_send_ms >= KEEPALIVE_MS &&
            trail_buf_append(&st->out, ": keepalive\n\n", 13) < 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (st->out.len == 0) {
            /* nothing now: park until the pump sees the durable seq move */
            pthread_mutex_lock(&streams_lock);
            st->suspended = 1;
            MHD_suspend_connection(st->conn);
            pthread_mutex_unlock(&streams_lock);
            return 0;
        }
    }
    size_t n = st->out.len - st->out_off;
    if (n > max)
        n = max;
    memcpy(buf, st->out.data + st->out_off, n);
    st->out_off += n;
    st->last_send_ms = mono_ms();
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    struct stream *st = cls;
    pthread_mutex_lock(&streams_lock);
    if (st->prev)
        st->prev->next = st->next;
    else
        streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    pthread_mutex_unlock(&streams_lock);
    trail_query_free(st->q);
    trail_buf_free(&st->out);
    free(st);
}

/* Wake the parked streams (all, or when the store moved on / a keepalive is due). */
static void wake_streams(void)
{
    pthread_mutex_lock(&streams_lock);
    for (struct stream *st = streams; st; st = st->next) {
        if (st->suspended) {
            st->suspended = 0;
            MHD_resume_connection(st->conn);
        }
    }
    pthread_mutex_unlock(&streams_lock);
}

static void *pump_main(void *arg)
{
    (void)arg;
    uint64_t seen = 0;
    int64_t last_wake = mono_ms();
    while (!atomic_load(&stopping)) {
        struct timespec ts = {0, PUMP_MS * 1000000L};
        nanosleep(&ts, NULL);
        uint64_t d = trail_store_durable_seq(traild.store);
        if (d != seen || mono_ms() - last_wake >= KEEPALIVE_MS) {
            seen = d;
            last_wake = mono_ms();
            wake_streams();
        }
    }
    return NULL;
}

static enum MHD_Result get_stream(struct MHD_Connection *conn, struct trail_index *ix)
{
    struct params p = {.kind = R_STREAM};
    enum MHD_Result ret;
    if (read_params(conn, &p, &ret) < 0) {
        trail_query_free(p.q);
        return ret;
    }
    const char *lei = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Last-Event-ID");
    if (lei && *lei) {
        char *end;
        uint64_t v = strtoull(lei, &end, 10);
        if (*end) {
            trail_query_free(p.q);
            return error_answer(conn, 400, "bad Last-Event-ID: expected the seq of an event");
        }
        p.last_event_id = v;
        p.has_last_event_id = 1;
    }
    struct stream *st = calloc(1, sizeof(*st));
    if (!st) {
        trail_query_free(p.q);
        return error_answer(conn, 500, "out of memory");
    }
    st->conn = conn;
    st->ix = ix;
    st->q = p.q;
    char lim[32], err[64];
    snprintf(lim, sizeof(lim), "%d", STREAM_BATCH);
    trail_query_set(st->q, "limit", lim, err, sizeof(err));
    st->last_send_ms = mono_ms();
    if (p.has_last_event_id) {
        st->after = p.last_event_id;
    } else if (!p.has_since) {
        /* from now on */
        int r = trail_index_refresh(ix);
        if (r < 0) {
            trail_query_free(p.q);
            free(st);
            return error_answer(conn, 500, trail_strerror(r));
        }
        st->after = trail_index_horizon(ix);
    }
    /* a first line at once, so that the client sees the stream open */
    if (json_printf(&st->out, ": trail events after seq %" PRIu64 "\nretry: 2000\n\n", st->after) <
        0) {
        trail_query_free(p.q);
        free(st);
        return error_answer(conn, 500, "out of memory");
    }
    pthread_mutex_lock(&streams_lock);
    if (atomic_load(&stopping)) {
        pthread_mutex_unlock(&streams_lock);
        trail_query_free(p.q);
        trail_buf_free(&st->out);
        free(st);
        return error_answer(conn, 503, "traild is shutting down");
    }
    if (!pump_started && pthread_create(&pump, NULL, pump_main, NULL) == 0)
        pump_started = 1;
    st->next = streams;
    if (streams)
        streams->prev = st;
    streams = st;
    pthread_mutex_unlock(&streams_lock);
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_read, st, stream_free);
    if (!resp) {
        stream_free(st);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    return answer_queue(conn, 200, resp);
}

/* ---- GET /v1/events/export ---- */

/*
 * An export's rows are made on a thread of its own (export_main), into
 * EXPORT_BUFS buffers of about EXPORT_CHUNK bytes taken in turn, while the
 * connection's thread (export_read) copies the one before to
 * libmicrohttpd and the kernel sends it: on two cores the sending, and
 * the search's own read-ahead (trail_results_write), run beside the
 * writing of rows. Memory stays at those buffers whatever the export's
 * size; the producer waits when they are all full.
 */
#define EXPORT_BUFS 3

struct export
{
    struct trail_index *ix;
    struct trail_query *q;
    struct trail_results *res; /* the one search the whole export reads */
    struct trail_event *ev;
    int format;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t th;
    int th_started;
    struct trail_buf buf[EXPORT_BUFS];
    unsigned head, filled; /* buf[head] is sent next; filled: how many from head on are full */
    size_t off;            /* bytes of buf[head] sent (the connection's thread's alone) */
    int done;              /* the last rows are made (every match, or the limit) */
    int err;               /* the producer's error: the export is cut there */
    int quit;              /* export_free: stop making rows */
};

/*
 * Make up to EXPORT_CHUNK bytes of rows into out: 1 when there are more, 0
 * at the end, or an error. The export is one search, opened once: it plans
 * each segment once and reads the store in order, where pages continued
 * with their cursor would plan again for every page. Its horizon is that
 * of the open, so events that arrive meanwhile are not in it. The rows are
 * written from the stored records without decoding them
 * (trail_results_write): the bytes of `trail query --format`.
 */
static int export_fill(struct export *x, struct trail_buf *out)
{
    static const int forms[] = {[X_CSV] = TRAIL_ROWS_CSV,
                                [X_NDJSON] = TRAIL_ROWS_NDJSON,
                                [X_EVENTLOG] = TRAIL_ROWS_CEF,
                                [X_CEF] = TRAIL_ROWS_CEF};
    char err[256];
    int r = 0;
    if (!x->res) {
        if ((r = trail_results_open(x->ix, x->q, &x->res, err, sizeof(err))) < 0)
            return r;
        atomic_fetch_add_explicit(&metrics.export_searches, 1, memory_order_relaxed);
    }
    struct trail_cef_opts cef = {.log_prefix = x->format == X_EVENTLOG};
    uint64_t rows = 0;
    r = trail_results_write(x->res, x->ev, forms[x->format], &cef, out, EXPORT_CHUNK, &rows);
    atomic_fetch_add_explicit(&metrics.export_events, rows, memory_order_relaxed);
    return r;
}

/* The producer: fill the free buffers in turn until the end, an error or quit. */
static void *export_main(void *arg)
{
    struct export *x = arg;
    pthread_mutex_lock(&x->lock);
    while (!x->quit && !x->done && !x->err) {
        if (x->filled == EXPORT_BUFS) {
            pthread_cond_wait(&x->cond, &x->lock);
            continue;
        }
        struct trail_buf *b = &x->buf[(x->head + x->filled) % EXPORT_BUFS];
        pthread_mutex_unlock(&x->lock);
        /* not sent, not to be sent until filled counts it: this thread's alone */
        trail_buf_reset(b);
        int r = export_fill(x, b);
        pthread_mutex_lock(&x->lock);
        if (r < 0) {
            x->err = r;
        } else {
            if (b->len)
                x->filled++;
            x->done = r == 0;
        }
        pthread_cond_broadcast(&x->cond);
    }
    pthread_mutex_unlock(&x->lock);
    return NULL;
}

static ssize_t export_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct export *x = cls;
    (void)pos;
    pthread_mutex_lock(&x->lock);
    for (;;) {
        if (atomic_load(&stopping)) {
            pthread_mutex_unlock(&x->lock);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        if (x->filled && x->off == x->buf[x->head].len) {
            /* sent: the producer may fill it again */
            x->off = 0;
            x->head = (x->head + 1) % EXPORT_BUFS;
            x->filled--;
            pthread_cond_broadcast(&x->cond);
            continue;
        }
        if (x->filled)
            break;
        if (x->err) {
            /* the client sees a cut answer (no last chunk), never a short "complete" one */
            int err = x->err;
            pthread_mutex_unlock(&x->lock);
            log_msg(LOG_ERR, "query: export: %s", trail_strerror(err));
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        if (x->done) {
            pthread_mutex_unlock(&x->lock);
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        if (!x->th_started) {
            /* no thread of its own (it could not start): the rows made here, as they go */
            struct trail_buf *b = &x->buf[x->head];
            trail_buf_reset(b);
            int r = export_fill(x, b);
            if (r < 0) {
                x->err = r;
            } else {
                x->done = r == 0;
                x->filled = b->len > 0;
            }
            continue;
        }
        /* the producer is at it; a timed wait so that a stopping traild is seen */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&x->cond, &x->lock, &ts);
    }
    /* buf[head] is full and the producer does not touch it until it is given back */
    struct trail_buf *b = &x->buf[x->head];
    pthread_mutex_unlock(&x->lock);
    size_t n = b->len - x->off;
    if (n > max)
        n = max;
    memcpy(buf, b->data + x->off, n);
    x->off += n;
    return (ssize_t)n;
}

static void export_free(void *cls)
{
    struct export *x = cls;
    if (x->th_started) {
        pthread_mutex_lock(&x->lock);
        x->quit = 1;
        pthread_cond_broadcast(&x->cond);
        pthread_mutex_unlock(&x->lock);
        pthread_join(x->th, NULL);
    }
    trail_results_free(x->res);
    trail_event_free(x->ev);
    trail_query_free(x->q);
    for (int i = 0; i < EXPORT_BUFS; i++)
        trail_buf_free(&x->buf[i]);
    pthread_mutex_destroy(&x->lock);
    pthread_cond_destroy(&x->cond);
    free(x);
}

static const struct {
    const char *type, *ext;
} export_forms[] = {
    [X_CSV] = {"text/csv; charset=utf-8; header=present", "csv"},
    [X_NDJSON] = {"application/x-ndjson", "ndjson"},
    [X_EVENTLOG] = {"text/plain; charset=utf-8", "log"},
    [X_CEF] = {"text/plain; charset=utf-8", "cef"},
};

static enum MHD_Result get_export(struct MHD_Connection *conn, struct trail_index *ix)
{
    struct params p = {.kind = R_EXPORT};
    enum MHD_Result ret;
    if (read_params(conn, &p, &ret) < 0) {
        trail_query_free(p.q);
        return ret;
    }
    if (!p.has_format) {
        trail_query_free(p.q);
        return error_answer(conn, 400, "format is needed: csv, ndjson, eventlog or cef");
    }
    struct export *x = calloc(1, sizeof(*x));
    char err[512];
    if (!x || trail_event_new(traild_config()->cat, "x", &x->ev) < 0) {
        free(x);
        trail_query_free(p.q);
        return error_answer(conn, 500, "out of memory");
    }
    pthread_mutex_init(&x->lock, NULL);
    pthread_cond_init(&x->cond, NULL);
    x->ix = ix;
    x->q = p.q;
    x->format = p.export_format;
    /* limit counts the whole export (0 or none: all); the search is not paged */
    if (MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit") == NULL)
        trail_query_set(x->q, "limit", "0", err, sizeof(err));
    /* the header before the rows, as `trail query --format csv` writes it */
    if (x->format == X_CSV &&
        (trail_event_csv_header(&x->buf[0]) < 0 || trail_buf_append(&x->buf[0], "\n", 1) < 0)) {
        export_free(x);
        return error_answer(conn, 500, "out of memory");
    }
    /* the first rows now, so that a bad cursor or a broken store is a 400 or a 500 */
    int r = export_fill(x, &x->buf[0]);
    if (r < 0) {
        export_free(x);
        return error_answer(conn, r == TRAIL_E_PARSE ? 400 : 500,
                            r == TRAIL_E_PARSE ? "bad cursor for this export" : trail_strerror(r));
    }
    x->done = r == 0;
    x->filled = x->buf[0].len > 0;
    /* the rest on the export's own thread (or, failing one, as the client reads) */
    if (!x->done && pthread_create(&x->th, NULL, export_main, x) == 0)
        x->th_started = 1;
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, EXPORT_CHUNK,
                                                                  export_read, x, export_free);
    if (!resp) {
        export_free(x);
        return MHD_NO;
    }
    char disp[96];
    snprintf(disp, sizeof(disp), "attachment; filename=\"trail-events.%s\"",
             export_forms[x->format].ext);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, export_forms[x->format].type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, disp);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    return answer_queue(conn, 200, resp);
}

/* ---- export tickets: a plain link's credentials (tickets.c) ---- */

static enum MHD_Result post_export(struct MHD_Connection *conn, const char *who)
{
    /* the parameters are checked now, so that the link does not fail later */
    struct params p = {.kind = R_EXPORT};
    enum MHD_Result ret;
    if (read_params(conn, &p, &ret) < 0) {
        trail_query_free(p.q);
        return ret;
    }
    trail_query_free(p.q);
    if (!p.has_format)
        return error_answer(conn, 400, "format is needed: csv, ndjson, eventlog or cef");
    /* the same parameters, as the client sent them, and the ticket */
    struct trail_buf url = {0}, out = {0};
    int r = ticket_url(conn, "/v1/events/export", who, &url);
    if (r == 0)
        r = json_printf(&out, "{\"url\":");
    if (r == 0)
        r = json_str(&out, url.data, url.len);
    if (r == 0)
        r = json_printf(&out, ",\"expires_in\":%d}\n", TICKET_TTL_MS / 1000);
    trail_buf_free(&url);
    if (r < 0) {
        trail_buf_free(&out);
        return error_answer(conn, 500, r == -EIO ? "no randomness for a ticket" : "out of memory");
    }
    return queue(conn, 200, "application/json", &out, NULL);
}

/* ---- the entry points ---- */

enum MHD_Result query_http_answer(struct MHD_Connection *conn, const char *method, const char *path,
                                  const char *who)
{
    if (atomic_load(&stopping))
        return error_answer(conn, 503, "traild is shutting down");
    struct trail_index *ix = index_get();
    if (!ix)
        return error_answer(conn, 500, "the index cannot be opened (see traild's log)");
    if (strcmp(path, "/v1/events") == 0)
        return get_events(conn, ix);
    if (strcmp(path, "/v1/count") == 0)
        return get_count(conn, ix);
    if (strcmp(path, "/v1/events/export") == 0)
        return strcmp(method, "POST") == 0 ? post_export(conn, who) : get_export(conn, ix);
    return get_stream(conn, ix);
}

size_t query_http_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls, (void)conn;
    char *w = s;
    for (const char *r = s; *r; r++) {
        if (*r == '+') {
            *w++ = ' ';
        } else if (*r == '%' && r[1] && r[2] && strchr("0123456789abcdefABCDEF", r[1]) &&
                   strchr("0123456789abcdefABCDEF", r[2])) {
            char hex[3] = {r[1], r[2], 0};
            *w++ = (char)strtol(hex, NULL, 16);
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

void query_http_stop(void)
{
    atomic_store(&stopping, 1);
    wake_streams(); /* each ends at its next read */
    pthread_mutex_lock(&streams_lock);
    int started = pump_started;
    pump_started = 0;
    pthread_mutex_unlock(&streams_lock);
    if (started)
        pthread_join(pump, NULL);
}

void query_http_free(void)
{
    pthread_mutex_lock(&ix_lock);
    trail_index_close(qix);
    qix = NULL;
    pthread_mutex_unlock(&ix_lock);
}
