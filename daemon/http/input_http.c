/*
 * input_http.c - traild's HTTP server (libmicrohttpd, a pool of threads
 * each with its own epoll loop) and its routes.
 *
 *   POST /v1/events     one JSON object, an array of them, or NDJSON
 *                       (Content-Type application/x-ndjson, or sniffed);
 *                       answered once the accepted events are durable:
 *                       {"accepted":N,"rejected":M,"results":[{"seq":..,"uuid":".."},
 *                        {"error":"..","index":I},...]}   (one result per item, in order)
 *                       200 when at least one was accepted, 400 when none was
 *                       or the body cannot be read, 413 over max_body_bytes,
 *                       503 + Retry-After when the queue is full or the store
 *                       refuses writes (nothing of the request was stored).
 *   GET  /v1/catalog    the catalog in force (built-in and custom events)
 *   GET  /v1/checkpoint the latest signed checkpoint, its note and verifier key
 *   GET  /checkpoint, /tile/...  C2SP tlog-tiles (tiles_http.c)
 *   GET  /healthz       200 when the store accepts writes, else 503; status ok,
 *                       degraded (damage not quarantined) or failing
 *   GET  /metrics       Prometheus text format
 *   GET  /v1/proof, /v1/verify, /v1/sinks, POST /v1/verify, and the web
 *                       viewer's files at / (viewer_http.c)
 *   GET  /v1/events, /v1/count, /v1/events/stream   queries (query_http.c)
 *   POST /v1/reload     reload the configuration, as SIGHUP does (202)
 *
 * Each route declares the role it needs (auth.h); with tokens or client
 * certificates configured, a request without credentials is answered 401
 * with WWW-Authenticate, one whose role is too small 403, and both are
 * recorded as trail_auth_failed events (rate limited). /healthz and the
 * viewer's static files are open. With [listen] http_tls the listener
 * speaks HTTPS (tls_http.c).
 *
 * Routes are a table (method, path, handler); a POST route's handler gets
 * the whole body. A POST is parked (MHD_suspend_connection) while its batch
 * is in ingest and resumed from ingest's done callback, so no HTTP thread
 * ever waits for the disk.
 *
 * Not here: the body's structure (http_body.c), decoding (decode.c).
 */
#include "core/auth.h"
#include "core/connlimit.h"
#include "core/damage.h"
#include "http/http_body.h"
#include "core/json_out.h"
#include "core/log.h"
#include "core/metrics.h"
#include "http/query_http.h"
#include "http/tiles_http.h"
#include "http/tls_http.h"
#include "core/traild.h"
#include "inputs/input.h"
#include "http/viewer_http.h"

#include <microhttpd.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RETRY_AFTER_S "1"
#define WATCH_MS      250 /* how often the header deadline is checked */

/*
 * One connection, from libmicrohttpd's STARTED to its CLOSED notification
 * (on_connection), for the request-head deadline and for making room.
 * Guarded by http_input.conns_lock; fd stays open until CLOSED, which takes
 * that lock, so a shutdown() under the lock never reaches a reused fd.
 */
struct hconn {
    MHD_socket fd;
    struct sockaddr_storage sa;
    char peer[80];
    int64_t wait_since_ms; /* monotonic: waiting for a request head since; 0 while serving one */
    int doomed;            /* shut down by traild, CLOSED not yet seen */
    struct hconn *prev, *next;
};

struct http_input;

/* One request. */
struct req {
    struct http_input *h;
    const struct route *route;
    struct MHD_Connection *conn;
    const char *url;
    struct trail_buf body;
    int too_large;
    char peer[80];
    char addr[64];        /* the client's address alone, for trail_auth_failed */
    struct provenance pv; /* what every event of the request records of its sender */
    int close;            /* the answer closes the connection (a framing it refused) */
    int counted_stream;   /* holds one of [limits] max_streams */
    /* POST /v1/events */
    struct ingest_batch batch;
    struct trail_event **events; /* the accepted events, in item order */
    size_t n_items;
    int *item_event;   /* per item: index into events, or -1 */
    char **item_error; /* per item: the error text, or NULL */
    size_t n_rejected;
    /* the answer, prepared before the connection is resumed */
    int status;
    struct trail_buf answer;
    int answered;
    int ingested;           /* POST: ingest completed the batch (its status in batch.status) */
    enum MHD_Result queued; /* a route that queued its own answer (returned 2) */
};

/* A route's handler: 0 with rq->answer ready, 1 when parked (POST), or -errno. */
typedef int (*route_fn)(struct req *rq);

struct route {
    const char *method;
    const char *path;
    route_fn fn;
    int has_body;
    int need; /* AUTH_OPEN or the ROLE_* a caller needs (auth.h) */
};

struct http_input {
    struct MHD_Daemon *mhd;
    atomic_int stopping;
    pthread_mutex_t lock;
    pthread_cond_t idle_cv;
    int parked; /* requests suspended in ingest */
    /* GET /v1/catalog: the JSON of the config it was made for */
    const struct config *catalog_cfg;
    struct trail_buf catalog_json;
    struct tls_http *tls; /* [listen] http_tls, or NULL */
    atomic_int n_streams; /* event streams open, against [limits] max_streams */
    /* connections (struct hconn), newest first; live: those not doomed */
    pthread_mutex_t conns_lock;
    struct hconn *conns;
    uint32_t live;
    pthread_cond_t watch_cv; /* the header deadline's thread (watch) */
    pthread_t watch;
    int watch_started, watch_stop;
    MHD_socket quiesced_fd; /* the listening socket once quiesced, closed at free */
};

/* ---- answers ---- */

static enum MHD_Result send_buf(struct MHD_Connection *conn, int status, const char *type,
                                struct trail_buf *b, int retry_after, int close)
{
    /* MHD frees the buffer with free() once sent */
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(b->len, b->data, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        trail_buf_free(b);
        return MHD_NO;
    }
    b->data = NULL;
    b->len = b->cap = 0;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (retry_after)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, RETRY_AFTER_S);
    if (close) /* MHD closes the connection once this answer is sent */
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result r = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    if (status >= 100 && status < 600)
        atomic_fetch_add_explicit(&metrics.http_responses[status / 100], 1, memory_order_relaxed);
    if (status == 503)
        atomic_fetch_add_explicit(&metrics.http_503, 1, memory_order_relaxed);
    return r;
}

/* Prepare {"error":"..."} (plus extra JSON members) as the answer. */
static int answer_error(struct req *rq, int status, const char *msg)
{
    trail_buf_reset(&rq->answer);
    if (json_printf(&rq->answer, "{\"error\":") < 0 || json_str(&rq->answer, msg, (size_t)-1) < 0 ||
        json_printf(&rq->answer, "}\n") < 0)
        return -ENOMEM;
    rq->status = status;
    rq->answered = 1;
    return 0;
}

static const char *header(struct MHD_Connection *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

/* ---- GET routes ---- */

/*
 * GET /healthz: open to anyone (a load balancer has no token), so without
 * one it says only ok or failing; the details (the store's error, the
 * queue, the durable seq, the version) need a token of any role when
 * authentication is on.
 */
static int get_healthz(struct req *rq)
{
    char tampered[1024] = "";
    /* a tampered store is failing even before an append finds out */
    int err = trail_store_tampered(traild.store, tampered, sizeof(tampered), NULL);
    if (!err)
        err = ingest_store_error(traild.ingest);
    int status = err ? 503 : 200;
    struct trail_buf *a = &rq->answer;
    const struct config *cfg = traild_config();
    /* damage that is not quarantined: still serving (200), but degraded */
    struct trail_buf dmg = {0};
    int degraded = 0;
    const char *state = err ? "failing" : "ok";
    if (auth_enabled(cfg)) {
        struct auth_result ar;
        auth_check(cfg, ROLE_READ, header(rq->conn, MHD_HTTP_HEADER_AUTHORIZATION), NULL, &ar);
        if (ar.status == 401) { /* 403: a known token of another role, which may see them */
            damage_health(&dmg, 0, &degraded);
            json_printf(a, "{\"status\":\"%s\"}\n", !err && degraded ? "degraded" : state);
            rq->status = status;
            rq->answered = 1;
            return 0;
        }
    }
    damage_health(&dmg, 1, &degraded);
    json_printf(a, "{\"status\":\"%s\",\"store\":", !err && degraded ? "degraded" : state);
    json_str(a, err ? trail_strerror(err) : degraded ? "damaged" : "ok", (size_t)-1);
    if (tampered[0]) {
        json_printf(a, ",\"reason\":");
        json_str(a, tampered, (size_t)-1);
    }
    if (dmg.len)
        trail_buf_append(a, dmg.data, dmg.len);
    trail_buf_free(&dmg);
    json_printf(a,
                ",\"queue_events\":%lld,\"queue_limit\":%lld,\"durable_seq\":%llu,"
                "\"version\":\"%s\"}\n",
                (long long)ingest_depth(traild.ingest),
                (long long)atomic_load(&metrics.queue_limit),
                (unsigned long long)trail_store_durable_seq(traild.store), TRAIL_VERSION_STRING);
    rq->status = status;
    rq->answered = 1;
    return 0;
}

static int get_metrics(struct req *rq)
{
    struct trail_store_stats st;
    int64_t bytes = -1, events = -1;
    if (trail_store_stats(traild.store, &st) == 0) {
        bytes = (int64_t)(st.segment_bytes + st.side_bytes);
        events = (int64_t)st.records;
    }
    if (metrics_render(&rq->answer, bytes, events) < 0 || damage_metrics(&rq->answer) < 0)
        return -ENOMEM;
    uint64_t failures, suppressed;
    auth_stats(&failures, &suppressed);
    if (json_printf(&rq->answer,
                    "# HELP trail_http_auth_failures_total HTTP requests refused 401 or 403.\n"
                    "# TYPE trail_http_auth_failures_total counter\n"
                    "trail_http_auth_failures_total %llu\n"
                    "# HELP trail_http_auth_failures_unrecorded_total Refused requests not "
                    "stored as trail_auth_failed (rate limited).\n"
                    "# TYPE trail_http_auth_failures_unrecorded_total counter\n"
                    "trail_http_auth_failures_unrecorded_total %llu\n",
                    (unsigned long long)failures, (unsigned long long)suppressed) < 0)
        return -ENOMEM;
    rq->status = 200;
    rq->answered = 1;
    return 0;
}

static int catalog_to_json(const struct config *cfg, struct trail_buf *out)
{
    const struct trail_catalog *cat = cfg->cat;
    size_t n_all = trail_catalog_count(cat), n = 0;
    for (size_t i = 0; i < n_all; i++)
        n += trail_catalog_at(cat, i)->custom != TRAIL_DEF_OWN;
    const char *policy = cfg->policy == TRAIL_POLICY_STRICT    ? "strict"
                         : cfg->policy == TRAIL_POLICY_LENIENT ? "lenient"
                                                               : "off";
    int r = json_printf(out, "{\"policy\":\"%s\",\"count\":%zu,\"events\":[", policy, n);
    /* the catalog senders use: trail's own events are not theirs to send */
    for (size_t i = 0, shown = 0; i < n_all && r == 0; i++) {
        const struct trail_event_def *d = trail_catalog_at(cat, i);
        if (d->custom == TRAIL_DEF_OWN)
            continue;
        r |= json_printf(out, "%s{\"id\":", shown++ ? "," : "");
        r |= json_str(out, d->id, (size_t)-1);
        r |= json_printf(out,
                         ",\"severity\":%d,\"severity_name\":\"%s\",\"description\":", d->severity,
                         trail_severity_name(d->severity));
        r |= json_str(out, d->description, (size_t)-1);
        r |= json_printf(out, ",\"custom\":%s,\"attrs\":[", d->custom ? "true" : "false");
        for (uint16_t j = 0; j < d->n_attrs; j++) {
            const struct trail_attr_def *a = d->attrs[j];
            r |= json_printf(out, "%s{\"key\":", j ? "," : "");
            r |= json_str(out, a->key, (size_t)-1);
            r |= json_printf(out, ",\"type\":\"%s\",\"required\":%s,\"indexed\":%s",
                             trail_type_name(a->type),
                             (a->flags & TRAIL_ATTR_REQUIRED) ? "true" : "false",
                             (a->flags & TRAIL_ATTR_INDEXED) ? "true" : "false");
            if (a->n_enum) {
                r |= json_printf(out, ",\"values\":[");
                for (uint16_t k = 0; k < a->n_enum; k++) {
                    r |= json_printf(out, "%s", k ? "," : "");
                    r |= json_str(out, a->enum_values[k], (size_t)-1);
                }
                r |= json_printf(out, "]");
            }
            if (a->doc) {
                r |= json_printf(out, ",\"doc\":");
                r |= json_str(out, a->doc, (size_t)-1);
            }
            r |= json_printf(out, "}");
        }
        r |= json_printf(out, "]");
        if (d->note) {
            r |= json_printf(out, ",\"note\":");
            r |= json_str(out, d->note, (size_t)-1);
        }
        r |= json_printf(out, "}");
    }
    r |= json_printf(out, "]}\n");
    return r ? -ENOMEM : 0;
}

static int get_catalog(struct req *rq)
{
    struct http_input *h = rq->h;
    const struct config *cfg = traild_config();
    int r = 0;
    pthread_mutex_lock(&h->lock);
    if (h->catalog_cfg != cfg) {
        trail_buf_reset(&h->catalog_json);
        r = catalog_to_json(cfg, &h->catalog_json);
        h->catalog_cfg = r == 0 ? cfg : NULL;
    }
    if (r == 0)
        r = trail_buf_append(&rq->answer, h->catalog_json.data, h->catalog_json.len);
    pthread_mutex_unlock(&h->lock);
    if (r < 0)
        return r;
    rq->status = 200;
    rq->answered = 1;
    return 0;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

static int get_checkpoint(struct req *rq)
{
    struct trail_checkpoint cp;
    pthread_mutex_lock(&traild.cp_lock);
    int have = traild.have_checkpoint;
    cp = traild.checkpoint;
    pthread_mutex_unlock(&traild.cp_lock);
    if (!have) /* none signed in this run yet: the last one in STORE/checkpoints */
        have = trail_store_checkpoint_latest(traild.store, &cp) == 0;
    if (!have)
        return answer_error(
            rq, 404,
            traild.signing_key ? "no checkpoint signed yet"
                               : "no checkpoints: traild has no signing key ([store] signing_key)");
    struct trail_buf line = {0}, note = {0}, vkey = {0};
    char root[65], chain[65], ts[32], origin[TRAIL_ORIGIN_MAX + 1];
    hex(cp.root, TRAIL_HASH_LEN, root);
    hex(cp.chain, TRAIL_HASH_LEN, chain);
    trail_time_format(cp.time_us, ts);
    int r = trail_checkpoint_format(&cp, &line);
    if (r == 0) {
        r |= json_printf(&rq->answer, "{\"origin\":");
        r |= json_str(&rq->answer, cp.origin, (size_t)-1);
        r |= json_printf(&rq->answer,
                         ",\"tree_size\":%llu,\"root\":\"%s\",\"chain\":\"%s\",\"time\":\"%s\","
                         "\"key_id\":\"%s\",\"text\":",
                         (unsigned long long)cp.tree_size, root, chain, ts, cp.key_id);
        r |= json_str(&rq->answer, line.data, line.len);
        /* the C2SP forms: the signed note, and the key a C2SP verifier is given */
        if (!cp.legacy && trail_checkpoint_note(&cp, &note) == 0) {
            r |= json_printf(&rq->answer, ",\"note\":");
            r |= json_str(&rq->answer, note.data, note.len);
        }
        if (traild.signing_key && trail_store_origin(traild.store, origin) == 0 &&
            trail_key_verifier(traild.signing_key, origin, &vkey) == 0) {
            r |= json_printf(&rq->answer, ",\"verifier_key\":");
            r |= json_str(&rq->answer, vkey.data, vkey.len);
        }
        r |= json_printf(&rq->answer, "}\n");
    }
    trail_buf_free(&line);
    trail_buf_free(&note);
    trail_buf_free(&vkey);
    if (r)
        return -ENOMEM;
    rq->status = 200;
    rq->answered = 1;
    return 0;
}

/* ---- POST /v1/events ---- */

static void free_post(struct req *rq)
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

/* The answer to a POST that ingest completed with status (on the HTTP thread). */
static void answer_post(struct req *rq, int status)
{
    if (status == 0) {
        rq->status = 200;
        if (answer_items(rq, 0) < 0)
            answer_error(rq, 500, "out of memory");
    } else {
        char msg[256];
        snprintf(msg, sizeof(msg), "the store cannot accept events now: %s; nothing was stored",
                 trail_strerror(status));
        answer_error(rq, 503, msg);
    }
}

/* Ingest's callback (on its writer thread): note the outcome and wake the request. */
static void post_done(struct ingest_batch *b)
{
    struct req *rq = b->arg;
    rq->ingested = 1;
    rq->answered = 1;
    struct http_input *h = rq->h;
    MHD_resume_connection(rq->conn);
    pthread_mutex_lock(&h->lock);
    if (--h->parked == 0)
        pthread_cond_broadcast(&h->idle_cv);
    pthread_mutex_unlock(&h->lock);
}

static int post_events(struct req *rq)
{
    const struct config *cfg = traild_config();
    struct body_item *items = NULL;
    size_t n = 0;
    int kind;
    char err[512];
    if (atomic_load(&rq->h->stopping))
        return answer_error(rq, 503, "traild is shutting down");
    const char *ctype = header(rq->conn, MHD_HTTP_HEADER_CONTENT_TYPE);
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
        return answer_error(rq, r == -ENOMEM ? 500 : r == TRAIL_E_TOO_LARGE ? 413 : 400, err);
    }
    rq->n_items = n;
    rq->events = calloc(n, sizeof(*rq->events));
    rq->item_event = malloc(n * sizeof(*rq->item_event));
    rq->item_error = calloc(n, sizeof(*rq->item_error));
    if (!rq->events || !rq->item_event || !rq->item_error) {
        free(items);
        return answer_error(rq, 500, "out of memory");
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
    pthread_mutex_lock(&rq->h->lock);
    rq->h->parked++;
    pthread_mutex_unlock(&rq->h->lock);
    MHD_suspend_connection(rq->conn);
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
        answer_error(rq, 503, msg);
        /* answered as if from ingest: the resumed call sends it */
        MHD_resume_connection(rq->conn);
        pthread_mutex_lock(&rq->h->lock);
        if (--rq->h->parked == 0)
            pthread_cond_broadcast(&rq->h->idle_cv);
        pthread_mutex_unlock(&rq->h->lock);
    }
    return 1; /* parked: the answer is sent when the connection is resumed */
}

/* ---- the viewer's routes (viewer_http.c) ---- */

static int viewer_route(struct req *rq)
{
    int r = viewer_api(rq->conn, rq->route->method, rq->route->path, &rq->answer, &rq->status);
    rq->answered = r == 0;
    return r;
}

/* ---- the C2SP tlog-tiles routes (tiles_http.c): they queue their own answers ---- */

static int tiles_route(struct req *rq)
{
    rq->queued = tiles_http_answer(rq->conn, rq->url);
    return 2;
}

/* every /tile/... path, matched by tiles_http_path() */
static const struct route tile_route = {"GET", "/tile/", tiles_route, 0, ROLE_READ};

/* ---- the query routes (query_http.c): they queue their own answers ---- */

static int query_route(struct req *rq)
{
    rq->queued = query_http_answer(rq->conn, rq->route->path);
    return 2;
}

/* ---- POST /v1/reload ---- */

static int post_reload(struct req *rq)
{
    /* main's signal loop does the reload and records it, as for SIGHUP */
    if (kill(getpid(), SIGHUP) < 0)
        return -errno;
    log_msg(LOG_INFO, "http: reload requested by %s", rq->peer);
    if (json_printf(&rq->answer, "{\"reload\":\"requested\"}\n") < 0)
        return -ENOMEM;
    rq->status = 202;
    rq->answered = 1;
    return 0;
}

/* ---- dispatch ---- */

/* method, path, handler, has a body, the role it needs */
static const struct route routes[] = {
    {"POST", "/v1/events", post_events, 1, ROLE_WRITE},
    {"GET", "/v1/catalog", get_catalog, 0, ROLE_READ},
    {"GET", "/v1/checkpoint", get_checkpoint, 0, ROLE_READ},
    {"GET", "/checkpoint", tiles_route, 0, ROLE_READ},
    {"GET", "/healthz", get_healthz, 0, AUTH_OPEN},
    {"GET", "/metrics", get_metrics, 0, ROLE_READ},
    {"GET", "/v1/proof", viewer_route, 0, ROLE_READ},
    {"GET", "/v1/verify", viewer_route, 0, ROLE_READ},
    {"POST", "/v1/verify", viewer_route, 0, ROLE_ADMIN},
    {"GET", "/v1/sinks", viewer_route, 0, ROLE_ADMIN},
    {"GET", "/v1/rules", viewer_route, 0, ROLE_READ},
    {"GET", "/v1/events", query_route, 0, ROLE_READ},
    {"GET", "/v1/count", query_route, 0, ROLE_READ},
    {"GET", "/v1/events/stream", query_route, 0, ROLE_READ},
    {"POST", "/v1/reload", post_reload, 0, ROLE_ADMIN},
};

static enum MHD_Result send_answer(struct req *rq)
{
    const char *type = rq->route && rq->route->fn == get_metrics
                           ? "text/plain; version=0.0.4; charset=utf-8"
                           : "application/json";
    return send_buf(rq->conn, rq->status, type, &rq->answer, rq->status == 503, rq->close);
}

/* "http:HOST:PORT" of sa into out, and HOST alone into addr when not NULL. */
static void addr_name(const struct sockaddr *sa, char *out, size_t n, char *addr, size_t addrlen)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (sa) {
        if (sa->sa_family == AF_INET) {
            const struct sockaddr_in *s = (const void *)sa;
            inet_ntop(AF_INET, &s->sin_addr, host, sizeof(host));
            port = ntohs(s->sin_port);
        } else if (sa->sa_family == AF_INET6) {
            const struct sockaddr_in6 *s = (const void *)sa;
            inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof(host));
            port = ntohs(s->sin6_port);
        }
    }
    snprintf(out, n, "http:%s:%u", host, port);
    if (addr)
        snprintf(addr, addrlen, "%s", host);
}

static void peer_of(struct MHD_Connection *conn, char *out, size_t n, char *addr, size_t addrlen)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    addr_name(ci ? ci->client_addr : NULL, out, n, addr, addrlen);
}

/* 401 (with WWW-Authenticate, RFC 6750) or 403, and the refusal recorded. */
static enum MHD_Result refuse(struct req *rq, const struct config *cfg,
                              const struct auth_result *ar, const char *method, const char *url)
{
    auth_refused(cfg, ar, rq->addr, method, url);
    answer_error(rq, ar->status, ar->error);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(rq->answer.len, rq->answer.data, MHD_RESPMEM_MUST_FREE);
    if (!resp)
        return MHD_NO;
    rq->answer.data = NULL;
    rq->answer.len = rq->answer.cap = 0;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    const char *challenge =
        ar->status == 403               ? "Bearer realm=\"trail\", error=\"insufficient_scope\""
        : ar->outcome == AUTH_BAD_TOKEN ? "Bearer realm=\"trail\", error=\"invalid_token\""
                                        : "Bearer realm=\"trail\"";
    MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, challenge);
    enum MHD_Result r = MHD_queue_response(rq->conn, (unsigned)ar->status, resp);
    MHD_destroy_response(resp);
    atomic_fetch_add_explicit(&metrics.http_responses[4], 1, memory_order_relaxed);
    return r;
}

/*
 * The query routes' limits, checked before query_http.c sees the request:
 * limit= over [limits] max_query_limit (400), and a stream over
 * max_streams (503). 0 when the request may go on, else answered.
 */
static int query_limits(struct req *rq, const struct config *cfg)
{
    const char *lim = MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, "limit");
    if (lim && strcmp(rq->route->path, "/v1/events") == 0) {
        char *end;
        unsigned long long n = strtoull(lim, &end, 10);
        /* limit=0 asks for the largest page, which the cap bounds */
        int number = *lim && *lim != '-' && !*end;
        if (number && (n > cfg->max_query_limit || (n == 0 && cfg->max_query_limit < 10000))) {
            char msg[200];
            snprintf(msg, sizeof(msg),
                     "limit %s is over the largest page of %u events ([limits] "
                     "max_query_limit); page with the cursor",
                     lim, cfg->max_query_limit);
            answer_error(rq, 400, msg);
            return 1;
        }
    }
    if (strcmp(rq->route->path, "/v1/events/stream") == 0) {
        int n = atomic_fetch_add(&rq->h->n_streams, 1);
        rq->counted_stream = 1;
        if ((uint32_t)n >= cfg->max_streams) {
            char msg[200];
            snprintf(msg, sizeof(msg),
                     "%d event streams are open, the most allowed ([limits] "
                     "max_streams); try again later",
                     n);
            log_rejected("http", rq->peer, "%s", msg);
            answer_error(rq, 503, msg);
            return 1;
        }
    }
    return 0;
}

/* What count_framing() found among a request's headers. */
struct framing {
    int n_length, n_encoding;
    int other_encoding; /* a Transfer-Encoding other than chunked */
};

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    struct framing *f = cls;
    (void)kind;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
        f->n_length++;
    else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        f->n_encoding++;
        f->other_encoding |= !value || strcasecmp(value, "chunked") != 0;
    }
    return MHD_YES;
}

/*
 * A request whose length a proxy in front and traild could read differently
 * (RFC 9112 section 6.3: request smuggling): both Content-Length and
 * Transfer-Encoding, several Content-Length headers, or a Transfer-Encoding
 * other than one "chunked". NULL when its framing is plain.
 */
static const char *framing_problem(struct MHD_Connection *conn)
{
    struct framing f = {0};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, count_framing, &f);
    if (f.n_length && f.n_encoding)
        return "both Content-Length and Transfer-Encoding";
    if (f.n_length > 1)
        return "more than one Content-Length";
    if (f.n_encoding > 1 || f.other_encoding)
        return "a Transfer-Encoding other than chunked";
    return NULL;
}

/* ---- connections: per-peer limits, the request-head deadline, making room ---- */

/*
 * libmicrohttpd 0.9.75 has no deadline for a request head: its connection
 * timeout ([limits] http_timeout_s) counts inactivity, so a client that
 * sends a byte every few seconds keeps a connection forever, and a
 * thousand of them fill max_connections (slowloris). So traild keeps its
 * own table of connections: libmicrohttpd tells it each connection's start
 * and end (MHD_OPTION_NOTIFY_CONNECTION) and socket, on_request marks when
 * a request's head has arrived, on_completed when the connection waits for
 * the next one, and a thread (watch) shuts down the socket of every
 * connection that has waited longer than [limits] http_header_timeout_s;
 * libmicrohttpd then sees the end of the stream and closes it as usual.
 * That keeps libmicrohttpd's own listener and threads (rather than
 * accepting sockets here and handing them over with MHD_add_connection,
 * which would duplicate its listen, quiesce and TLS handling).
 *
 * The same table makes room: at max_connections a new connection (checked
 * in on_accept, libmicrohttpd's accept policy callback, before it
 * counts it) takes the place of the connection that has waited longest for
 * a request head. A request whose head has arrived is never shed, so a
 * client that sends its request at once (a probe of /healthz, any client
 * with a token) is served however many slow connections there are; the
 * slow ones are what gives way. libmicrohttpd's own limit is set above
 * max_connections (HTTP_SLACK) so that connections shut down but not yet
 * closed do not make it stop accepting.
 */
#define HTTP_SLACK(max) ((max) / 4 > 64 ? (max) / 4 : 64)

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Shut hc's socket down (libmicrohttpd closes it); conns_lock held. */
static void doom(struct http_input *h, struct hconn *hc, int reason)
{
    shutdown(hc->fd, SHUT_RDWR);
    hc->doomed = 1;
    h->live--;
    connlimit_shed(IN_HTTP, reason, hc->peer);
}

/* MHD_OPTION_ACCEPT_POLICY_CALLBACK: the peer's limit, then room for one more. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    struct http_input *h = cls;
    const struct config *cfg = traild_config();
    char peer[80];
    (void)addrlen;
    addr_name(addr, peer, sizeof(peer), NULL, 0);
    if (cfg->connections_per_peer && connlimit_count(IN_HTTP, addr) >= cfg->connections_per_peer) {
        connlimit_refused(IN_HTTP, CR_PER_PEER, peer);
        return MHD_NO;
    }
    enum MHD_Result ok = MHD_YES;
    pthread_mutex_lock(&h->conns_lock);
    if (h->live >= cfg->max_connections) {
        struct hconn *oldest = NULL;
        for (struct hconn *hc = h->conns; hc; hc = hc->next)
            if (!hc->doomed && hc->wait_since_ms &&
                (!oldest || hc->wait_since_ms <= oldest->wait_since_ms))
                oldest = hc;
        if (oldest)
            doom(h, oldest, CS_CAPACITY);
        else
            ok = MHD_NO;
    }
    pthread_mutex_unlock(&h->conns_lock);
    if (!ok)
        connlimit_refused(IN_HTTP, CR_FULL, peer);
    return ok;
}

/* The connection's entry in the table, or NULL. */
static struct hconn *hconn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* A request's head has arrived (since_ms 0), or the connection waits for the next one. */
static void set_waiting(struct http_input *h, struct MHD_Connection *conn, int64_t since_ms)
{
    struct hconn *hc = hconn_of(conn);
    if (!hc)
        return;
    pthread_mutex_lock(&h->conns_lock);
    hc->wait_since_ms = since_ms;
    pthread_mutex_unlock(&h->conns_lock);
}

/*
 * Connections opened and closed: the table, the gauge and the peer's
 * count. CLOSED comes before libmicrohttpd closes the socket.
 */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct http_input *h = cls;
    struct hconn *hc = *socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        atomic_fetch_add(&metrics.connections[IN_HTTP], 1);
        const union MHD_ConnectionInfo *fd =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *ca =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (!fd || !ca || !ca->client_addr || !(hc = calloc(1, sizeof(*hc))))
            return; /* untracked: no deadline, never shed (only without memory) */
        hc->fd = fd->connect_fd;
        size_t len = ca->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                            : sizeof(struct sockaddr_in);
        memcpy(&hc->sa, ca->client_addr, len);
        addr_name(ca->client_addr, hc->peer, sizeof(hc->peer), NULL, 0);
        hc->wait_since_ms = mono_ms();
        connlimit_add(IN_HTTP, (struct sockaddr *)&hc->sa);
        pthread_mutex_lock(&h->conns_lock);
        hc->next = h->conns;
        if (h->conns)
            h->conns->prev = hc;
        h->conns = hc;
        h->live++;
        pthread_mutex_unlock(&h->conns_lock);
        *socket_context = hc;
    } else {
        atomic_fetch_sub(&metrics.connections[IN_HTTP], 1);
        if (!hc)
            return;
        pthread_mutex_lock(&h->conns_lock);
        if (hc->prev)
            hc->prev->next = hc->next;
        else
            h->conns = hc->next;
        if (hc->next)
            hc->next->prev = hc->prev;
        if (!hc->doomed)
            h->live--;
        pthread_mutex_unlock(&h->conns_lock);
        connlimit_release(IN_HTTP, (struct sockaddr *)&hc->sa);
        free(hc);
        *socket_context = NULL;
    }
}

/* The header deadline: shut down connections that waited too long for a request head. */
static void *watch(void *arg)
{
    struct http_input *h = arg;
    pthread_setname_np(pthread_self(), "http-deadline");
    pthread_mutex_lock(&h->conns_lock);
    while (!h->watch_stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += WATCH_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&h->watch_cv, &h->conns_lock, &until);
        int64_t now = mono_ms(), limit = (int64_t)traild_config()->http_header_timeout_s * 1000;
        for (struct hconn *hc = h->conns; hc; hc = hc->next)
            if (!hc->doomed && hc->wait_since_ms && now - hc->wait_since_ms >= limit)
                doom(h, hc, CS_HEADER_TIMEOUT);
    }
    pthread_mutex_unlock(&h->conns_lock);
    return NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct http_input *h = cls;
    struct req *rq = *con_cls;
    (void)version;
    if (!rq) {
        set_waiting(h, conn, 0); /* the head is complete: no deadline while it is served */
        rq = calloc(1, sizeof(*rq));
        if (!rq)
            return MHD_NO;
        rq->h = h;
        rq->conn = conn;
        rq->url = url; /* MHD keeps it until the request completes */
        peer_of(conn, rq->peer, sizeof(rq->peer), rq->addr, sizeof(rq->addr));
        provenance_init(&rq->pv, IN_HTTP, NULL);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci && ci->client_addr)
            provenance_peer(&rq->pv, ci->client_addr, -1);
        *con_cls = rq;
        const char *bad_framing = framing_problem(conn);
        if (bad_framing) {
            char msg[160];
            snprintf(msg, sizeof(msg), "refused: the request has %s (its length is ambiguous)",
                     bad_framing);
            log_rejected("http", rq->peer, "%s", msg);
            rq->close = 1; /* nothing after it on this connection is read */
            answer_error(rq, 400, msg);
            return send_answer(rq);
        }
        int path_known = 0;
        for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
            if (strcmp(url, routes[i].path) != 0)
                continue;
            path_known = 1;
            if (strcmp(method, routes[i].method) == 0 ||
                (strcmp(method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0))
                rq->route = &routes[i];
        }
        if (!rq->route && !path_known && tiles_http_path(url) &&
            (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0))
            rq->route = &tile_route;
        enum MHD_Result asset_result;
        if (!rq->route && !path_known && viewer_asset_answer(conn, method, url, &asset_result))
            return asset_result; /* the web viewer's files */
        if (!rq->route) {
            answer_error(rq, path_known ? 405 : 404,
                         path_known ? "method not allowed on this path" : "no such path");
            return send_answer(rq);
        }
        {
            const struct config *cfg = traild_config();
            const char *authorization = header(conn, MHD_HTTP_HEADER_AUTHORIZATION);
            struct auth_peer_cert cert, *certp = NULL;
            /* a token decides alone: the certificate is read only without one */
            if (h->tls && !authorization && auth_enabled(cfg) && rq->route->need != AUTH_OPEN) {
                tls_http_peer(conn, &cert);
                certp = &cert;
            }
            struct auth_result ar;
            auth_check(cfg, rq->route->need, authorization, certp, &ar);
            if (ar.status)
                return refuse(rq, cfg, &ar, method, url);
            /* "token NAME" or "certificate SUBJECT": who the records say sent them */
            snprintf(rq->pv.principal, sizeof(rq->pv.principal), "%s", ar.who);
            if (rq->route->fn == query_route && query_limits(rq, cfg))
                return send_answer(rq);
        }
        if (rq->route->has_body) {
            const struct config *cfg = traild_config();
            const char *cl = header(conn, MHD_HTTP_HEADER_CONTENT_LENGTH);
            if (cl && strtoull(cl, NULL, 10) > cfg->max_body_bytes) {
                char msg[160];
                snprintf(msg, sizeof(msg), "request body of %s bytes is over the limit of %llu", cl,
                         (unsigned long long)cfg->max_body_bytes);
                reject_item(IN_HTTP, TRAIL_E_TOO_LARGE, rq->peer, msg);
                answer_error(rq, 413, msg);
                return send_answer(rq);
            }
        }
        return MHD_YES; /* the body (if any) comes in the next calls */
    }
    if (*upload_data_size) {
        const struct config *cfg = traild_config();
        if (!rq->too_large && rq->body.len + *upload_data_size > cfg->max_body_bytes)
            rq->too_large = 1;
        if (!rq->too_large && trail_buf_append(&rq->body, upload_data, *upload_data_size) < 0)
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (rq->answered) {
        if (rq->ingested) { /* resumed after ingest */
            rq->ingested = 0;
            answer_post(rq, rq->batch.status);
        }
        return send_answer(rq); /* or answered right away */
    }
    if (rq->too_large) {
        char msg[160];
        snprintf(msg, sizeof(msg), "request body is over the limit of %llu bytes",
                 (unsigned long long)traild_config()->max_body_bytes);
        reject_item(IN_HTTP, TRAIL_E_TOO_LARGE, rq->peer, msg);
        answer_error(rq, 413, msg);
        return send_answer(rq);
    }
    int r = rq->route->fn(rq);
    if (r == 1)
        return MHD_YES; /* parked in ingest; rq is post_done's until it resumes us */
    if (r == 2)
        return rq->queued;
    if (r < 0)
        answer_error(rq, 500, trail_strerror(r));
    return send_answer(rq);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct req *rq = *con_cls;
    (void)toe;
    set_waiting(cls, conn, mono_ms()); /* kept alive: the next request head's deadline runs */
    if (!rq)
        return;
    if (rq->counted_stream)
        atomic_fetch_sub(&rq->h->n_streams, 1);
    free_post(rq);
    trail_buf_free(&rq->body);
    trail_buf_free(&rq->answer);
    free(rq);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n')
        msg[--n] = '\0';
    log_msg(LOG_WARN, "http: %s", msg);
}

/* ---- the input ---- */

static int enabled(const struct config *cfg)
{
    return cfg->http != NULL;
}

static void free_input(void *state);

static int start(const struct config *cfg, void **ret_state, char *err, size_t errlen)
{
    char host[256], port[8];
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    if (config_split_addr(cfg->http, host, sizeof(host), port, sizeof(port)) < 0 ||
        getaddrinfo(host[0] ? host : NULL, port, &hints, &ai) != 0) {
        snprintf(err, errlen, "cannot resolve %s", cfg->http);
        return -EINVAL;
    }
    struct http_input *h = calloc(1, sizeof(*h));
    if (!h) {
        freeaddrinfo(ai);
        return -ENOMEM;
    }
    if (cfg->http_tls) {
        int r = tls_http_load(cfg, &h->tls, err, errlen);
        if (r < 0) {
            freeaddrinfo(ai);
            free(h);
            return r;
        }
    }
    static const struct MHD_OptionItem no_tls[] = {{MHD_OPTION_END, 0, NULL}};
    h->quiesced_fd = MHD_INVALID_SOCKET;
    pthread_mutex_init(&h->lock, NULL);
    pthread_mutex_init(&h->conns_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->watch_cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&h->idle_cv, NULL);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (h->tls)
        flags |= MHD_USE_TLS;
    /* the logger option first, so that MHD never prints on its own */
    h->mhd = MHD_start_daemon(
        flags, (uint16_t)atoi(port), on_accept, h, on_request, h, MHD_OPTION_EXTERNAL_LOGGER,
        mhd_log, h, MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)cfg->http_threads, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)(cfg->max_connections + HTTP_SLACK(cfg->max_connections)),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(128 * 1024), MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)cfg->http_timeout_s, MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_NOTIFY_CONNECTION, on_connection,
        h, MHD_OPTION_UNESCAPE_CALLBACK, query_http_unescape, NULL, MHD_OPTION_ARRAY,
        h->tls ? h->tls->opts : no_tls, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!h->mhd) {
        snprintf(err, errlen, "cannot listen on %s (address in use or not available)", cfg->http);
        free_input(h);
        return -EADDRINUSE;
    }
    if (pthread_create(&h->watch, NULL, watch, h) != 0) {
        snprintf(err, errlen, "cannot start the request-head deadline's thread");
        free_input(h);
        return -ENOMEM;
    }
    h->watch_started = 1;
    log_msg(LOG_INFO, "http: %s (%u threads%s%s)", cfg->http, cfg->http_threads,
            h->tls ? ", TLS" : "", h->tls && cfg->tls_http_ca ? " with client certificates" : "");
    if (!auth_enabled(cfg))
        log_msg(auth_is_loopback(host) ? LOG_INFO : LOG_WARN,
                "http: no [tokens] and no [client_certs]: authentication is off, every route is "
                "open to whoever reaches %s",
                cfg->http);
    *ret_state = h;
    return 0;
}

static void stop(void *state)
{
    struct http_input *h = state;
    /* no new connections; new requests answer 503; parked ones finish */
    atomic_store(&h->stopping, 1);
    /*
     * Quiescing hands the listening socket to us, but MHD's threads may still
     * be taking it out of their epoll sets: it is closed once they are gone,
     * after MHD_stop_daemon (ThreadSanitizer saw the race).
     */
    h->quiesced_fd = MHD_quiesce_daemon(h->mhd);
    pthread_mutex_lock(&h->lock);
    while (h->parked > 0)
        pthread_cond_wait(&h->idle_cv, &h->lock);
    pthread_mutex_unlock(&h->lock);
    query_http_stop(); /* event streams end */
}

static void free_input(void *state)
{
    struct http_input *h = state;
    if (!h)
        return;
    if (h->watch_started) {
        pthread_mutex_lock(&h->conns_lock);
        h->watch_stop = 1;
        pthread_cond_signal(&h->watch_cv);
        pthread_mutex_unlock(&h->conns_lock);
        pthread_join(h->watch, NULL);
    }
    if (h->mhd)
        MHD_stop_daemon(h->mhd);
    if (h->quiesced_fd != MHD_INVALID_SOCKET)
        close(h->quiesced_fd);
    if (h->mhd)
        query_http_free(); /* the query index, before the store closes */
    trail_buf_free(&h->catalog_json);
    tls_http_free(h->tls);
    pthread_mutex_destroy(&h->lock);
    pthread_cond_destroy(&h->idle_cv);
    pthread_mutex_destroy(&h->conns_lock);
    pthread_cond_destroy(&h->watch_cv);
    free(h);
}

const struct input_ops input_http_ops = {
    .name = "http", .enabled = enabled, .start = start, .stop = stop, .free = free_input};
