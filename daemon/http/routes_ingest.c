/*
 * routes_ingest.c - POST /v1/events: one JSON object, an array of them, or
 * NDJSON (Content-Type application/x-ndjson, or sniffed); answered once the
 * accepted events are durable:
 *
 *     {"accepted":N,"rejected":M,"results":[{"seq":..,"uuid":".."},
 *      {"error":"..","index":I},...]}   (one result per item, in order)
 *
 * 200 when at least one was accepted, 400 when none was or the body cannot
 * be read, 413 over max_body_bytes (input_http.c checks Content-Length and
 * the body as it comes), 503 + Retry-After when the queue is full or the
 * store refuses writes (nothing of the request was stored).
 *
 * The request is parked (http_park) while its batch is in ingest and
 * resumed from ingest's done callback, so no HTTP thread ever waits for
 * the disk; the answer is built when it resumes, on the HTTP thread.
 *
 * Not here: the body's structure (http_body.c), decoding (core/decode.c),
 * the queue (core/ingest.c).
 */
#include "http/routes.h"

#include "core/json_out.h"
#include "core/log.h"
#include "core/metrics.h"
#include "http/http_body.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void route_post_free(struct req *rq)
{
    for (size_t i = 0; i < rq->batch.n; i++)
        decoded_release(rq->events[i]);
    free(rq->events);
    rq->events = NULL;
    rq->batch.n = 0;
    if (rq->item_error)
        for (size_t i = 0; i < rq->n_items; i++)
            free(rq->item_error[i]);
    free(rq->item_error);
    free(rq->item_event);
    rq->item_error = NULL;
    rq->item_event = NULL;
}

/*
 * Append ",{"seq":N,"uuid":"..."}" (no comma for the first) without printf: 1000 of them per
 * batch. An event whose uuid was stored already says so: ,"duplicate":true, and seq is the
 * original's.
 */
static int answer_accepted(struct trail_buf *a, int first, const struct trail_event *ev)
{
    int r = trail_buf_reserve(a, 160);
    if (r < 0)
        return r;
    char *p = a->data + a->len;
    if (!first)
        *p++ = ',';
    memcpy(p, "{\"seq\":", 7);
    p += 7;
    char digits[20];
    int nd = 0;
    uint64_t seq = trail_event_seq(ev);
    do {
        digits[nd++] = (char)('0' + seq % 10);
        seq /= 10;
    } while (seq);
    while (nd)
        *p++ = digits[--nd];
    memcpy(p, ",\"uuid\":\"", 9);
    p += 9;
    uint8_t u[16];
    traild_event_uuid(ev, u);
    trail_uuid_format(u, p);
    p += 36;
    *p++ = '"';
    if (trail_event_duplicate_of(ev)) {
        memcpy(p, ",\"duplicate\":true", 17);
        p += 17;
    }
    if (trail_event_requested_severity(ev)) /* the sender is told its severity was replaced */
        p += snprintf(p, 64, ",\"severity\":%d,\"severity_requested\":%d", trail_event_severity(ev),
                      trail_event_requested_severity(ev));
    *p++ = '}';
    a->len = (size_t)(p - a->data);
    return 0;
}

/*
 * The per-item answer, once the accepted events are durable (or not). Built
 * on the HTTP thread when the request resumes, not on ingest's writer.
 */
static int answer_items(struct req *rq, int status_all)
{
    struct trail_buf *a = &rq->answer;
    size_t accepted = status_all == 0 ? rq->batch.n : 0;
    size_t rejected = rq->n_items - accepted, duplicates = 0;
    for (size_t i = 0; i < rq->batch.n && status_all == 0; i++)
        duplicates += trail_event_duplicate_of(rq->events[i]) != 0;
    /* accepted counts the duplicates too: each is stored, once */
    int r = json_printf(a, "{\"accepted\":%zu,\"rejected\":%zu,", accepted, rejected);
    if (duplicates)
        r |= json_printf(a, "\"duplicates\":%zu,", duplicates);
    r |= json_printf(a, "\"results\":[");
    for (size_t i = 0; i < rq->n_items && r == 0; i++) {
        if (rq->item_event[i] >= 0 && status_all == 0) {
            r |= answer_accepted(a, i == 0, rq->events[rq->item_event[i]]);
        } else {
            const char *e = rq->item_error[i] ? rq->item_error[i] : trail_strerror(status_all);
            r |= json_printf(a, "%s{\"error\":", i ? "," : "");
            r |= json_str(a, e, (size_t)-1);
            r |= json_printf(a, ",\"index\":%zu}", i);
        }
    }
    r |= json_printf(a, "]}\n");
    return r ? -ENOMEM : 0;
}

void route_post_answer(struct req *rq, int status)
{
    if (status == 0) {
        rq->status = 200;
        if (answer_items(rq, 0) < 0)
            http_answer_error(rq, 500, "out of memory");
    } else {
        char msg[256];
        snprintf(msg, sizeof(msg), "the store cannot accept events now: %s; nothing was stored",
                 trail_strerror(status));
        http_answer_error(rq, 503, msg);
    }
}

/* Ingest's callback (on its writer thread): note the outcome and wake the request. */
static void post_done(struct ingest_batch *b)
{
    struct req *rq = b->arg;
    rq->ingested = 1;
    rq->answered = 1;
    http_unpark(rq);
}

int route_post_events(struct req *rq)
{
    const struct config *cfg = traild_config();
    struct body_item *items = NULL;
    size_t n = 0;
    int kind;
    char err[512];
    if (http_stopping(rq))
        return http_answer_error(rq, 503, "traild is shutting down");
    /* a relay's events carry the provenance its own trail recorded: only a caller with the
       relay role may say so (not even admin, nor anyone when authentication is off) */
    const char *relay = http_header(rq->conn, "Trail-Relay-Origin");
    if (relay) {
        if (rq->role != ROLE_RELAY) {
            reject_item(IN_HTTP, TRAIL_E_PARSE, rq->peer,
                        "Trail-Relay-Origin from a caller without the relay role");
            return http_answer_error(rq, 403,
                                     "forwarded provenance (Trail-Relay-Origin) needs a token or "
                                     "certificate with the relay role; nothing was stored");
        }
        size_t olen = strlen(relay);
        if (olen >= sizeof(rq->relay_origin))
            return http_answer_error(rq, 400, "Trail-Relay-Origin is not an origin");
        memcpy(rq->relay_origin, relay, olen + 1);
        rq->pv.relay_origin = rq->relay_origin;
    }
    const char *ctype = http_header(rq->conn, MHD_HTTP_HEADER_CONTENT_TYPE);
    int ndjson = ctype && (strncasecmp(ctype, "application/x-ndjson", 20) == 0 ||
                           strncasecmp(ctype, "application/jsonl", 17) == 0);
    size_t max_items = cfg->max_batch_events;
    atomic_fetch_add_explicit(&metrics.bytes_in[IN_HTTP], rq->body.len, memory_order_relaxed);
    int r = body_split(rq->body.data ? rq->body.data : "", rq->body.len, ndjson, max_items, &items,
                       &n, &kind, err, sizeof(err));
    if (r < 0) {
        if (r == TRAIL_E_TOO_LARGE) /* name the setting */
            snprintf(err, sizeof(err),
                     "more than %zu events in one request ([limits] "
                     "max_batch_events); nothing was stored",
                     max_items);
        reject_item(IN_HTTP, r, rq->peer, err);
        return http_answer_error(rq, r == -ENOMEM ? 500 : r == TRAIL_E_TOO_LARGE ? 413 : 400, err);
    }
    rq->n_items = n;
    rq->events = calloc(n, sizeof(*rq->events));
    rq->item_event = malloc(n * sizeof(*rq->item_event));
    rq->item_error = calloc(n, sizeof(*rq->item_error));
    if (!rq->events || !rq->item_event || !rq->item_error) {
        free(items);
        return http_answer_error(rq, 500, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        struct trail_event *ev = NULL;
        rq->item_event[i] = -1;
        r = decode_item(cfg, FMT_JSON, rq->body.data + items[i].off, items[i].len, &rq->pv, &ev,
                        err, sizeof(err));
        if (r < 0) {
            char who[120];
            snprintf(who, sizeof(who), "%s item %zu", rq->peer, i);
            reject_item(IN_HTTP, r, who, err);
            rq->item_error[i] = strdup(err);
            rq->n_rejected++;
            continue;
        }
        rq->item_event[i] = (int)rq->batch.n;
        rq->events[rq->batch.n++] = ev;
    }
    free(items);
    if (rq->batch.n == 0) {
        /* nothing to store: every item was refused, each with its reason */
        rq->status = 400;
        rq->answered = 1;
        return answer_items(rq, TRAIL_E_PARSE);
    }
    rq->batch.events = rq->events;
    rq->batch.input = IN_HTTP;
    rq->batch.retry = 0; /* the client retries on 503 */
    rq->batch.done = post_done;
    rq->batch.arg = rq;
    http_park(rq);
    r = ingest_submit(traild.ingest, &rq->batch, 0);
    if (r < 0) {
        for (size_t i = 0; i < rq->batch.n; i++)
            metrics_reject(IN_HTTP, r == -EAGAIN ? -EAGAIN : TRAIL_E_FAILED);
        const char *why = r == -EAGAIN          ? "the ingest queue is full; retry later"
                          : r == TRAIL_E_CLOSED ? "traild is shutting down"
                                                : trail_strerror(r);
        log_rejected("http", rq->peer, "request of %zu events answered 503: %s", rq->batch.n, why);
        char msg[256];
        snprintf(msg, sizeof(msg), "%s; nothing was stored", why);
        http_answer_error(rq, 503, msg);
        /* answered as if from ingest: the resumed call sends it */
        http_unpark(rq);
    }
    return 1; /* parked: the answer is sent when the connection is resumed */
}
