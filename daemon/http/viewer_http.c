/*
 * viewer_http.c - the web viewer's side of traild: its static files, built
 * into the binary from web/ (web/embed.cmake), served with their type,
 * ETag, caching headers and a strict Content-Security-Policy; and the API
 * routes the viewer needs beyond the query routes (viewer_http.h):
 *
 *   GET /v1/proof?seq=N
 *       {"seq":N,"record":"BASE64","event":{...},"cef":"...",
 *        "proof":{"leaf_index":N-1,"tree_size":S,"leaf_hash":"HEX","path":["HEX",...]},
 *        "checkpoint":{"origin":..,"tree_size":S,"root":..,"chain":..,"time":..,
 *                      "key_id":..,"text":"trail-checkpoint/1 ..."}}
 *       record: the record's canonical bytes (docs/format.md, "Record"), so
 *       that a client hashes the leaf itself (SHA-256(0x00 || record)) and
 *       walks the path to the checkpoint's root (RFC 9162 2.1.3.2).
 *       400 bad seq, 404 no such record or no checkpoint yet, 409 the record
 *       is newer than the latest checkpoint ("checkpoint_size" says how far
 *       it reaches), 410 the record was purged.
 *   GET /v1/proof?seq=N&origin=NAME
 *       the same for record N of the store named NAME (an event the
 *       ClickHouse tier found: its "source"): answered here when NAME is
 *       this store's and it still holds N, else asked of the traild that
 *       [origins] names for NAME and passed on (query_tier.c); without one,
 *       or when it cannot be reached, 404 or 502 {"error":"proof
 *       unavailable: ...","proof_unavailable":true}.
 *   GET /v1/proof/bundle?seq=N[,N...]
 *       the evidence bundle (trail-bundle/1, lib/verify/bundle.c) of 1 to
 *       1000 records: text/plain, Content-Disposition: attachment. 400 bad
 *       seq, 404 a record not in the store or not covered by a checkpoint
 *       yet (JSON {"error":..}).
 *   GET /v1/verify    the last run of trail_verify_store() on the store:
 *       {"state":"running"|"done"|"failed","started":..,"finished":..,
 *        "ok":bool,"records":..,"first_seq":..,"last_seq":..,"root":..,
 *        "segments":..,"checkpoints":..,"signatures":..,"checked":..,
 *        "damage":[{"kind":..,"seq":..,"seq_last":..,"file":..,"message":..}],
 *        "notes":[..]}
 *       The first GET starts a run (answered with state "running").
 *   POST /v1/verify   start a run now: 202, or 409 while one runs.
 *   GET /v1/sinks
 *   GET /v1/rules  (the detector's, daemon/detect/)
 *       {"durable_seq":D,"sinks":[{"name":..,"type":..,"cursor":..,"lag":..,
 *        "delivered":..,"witnessed":..,"updated":..,"error":..,"error_time":..}]}
 *       from the configured sinks and the files the sink runner keeps in
 *       STORE/sinks/ (NAME.cursor, NAME.error; daemon/sinks/sink.h).
 *
 * A verification runs on its own detached thread, one at a time,
 * single-threaded so that ingest keeps the other core; it reads the files
 * itself, as `trail verify` does, and checks checkpoint signatures with
 * traild's key (loaded again from its file: the run owns everything it
 * uses, so traild can stop while it goes on).
 *
 * Not here: routing and authentication (input_http.c), the query routes
 * (query_http.c), the page itself (web/).
 */
#include "http/answer.h"
#include "http/viewer_http.h"

#include "core/json_out.h"
#include "core/log.h"
#include "core/metrics.h"
#include "http/query_tier.h"
#include "sinks/sink.h"
#include "core/traild.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * The page loads only its own files and talks only to traild: no inline
 * script or style, no other origin, no framing.
 */
#define VIEWER_CSP                                                                                 \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "                  \
    "form-action 'self'; frame-ancestors 'none'"

/* ---- static files ---- */

static const struct viewer_asset *find_asset(const char *url)
{
    if (strcmp(url, "/") == 0)
        url = "/index.html";
    for (size_t i = 0; i < viewer_n_assets; i++)
        if (strcmp(viewer_assets[i].path, url) == 0)
            return &viewer_assets[i];
    return NULL;
}

/* 1 when an If-None-Match header names etag (or is "*"). */
static int etag_matches(const char *header, const char *etag)
{
    if (!header)
        return 0;
    if (strcmp(header, "*") == 0)
        return 1;
    size_t n = strlen(etag);
    for (const char *p = strstr(header, etag); p; p = strstr(p + 1, etag)) {
        /* a whole list item: after start, ',' or blank, or a weak "W/" prefix */
        int start_ok = p == header || p[-1] == ',' || p[-1] == ' ' || p[-1] == '/';
        int end_ok = p[n] == '\0' || p[n] == ',' || p[n] == ' ';
        if (start_ok && end_ok)
            return 1;
    }
    return 0;
}

int viewer_asset_answer(struct MHD_Connection *conn, const char *method, const char *url,
                        enum MHD_Result *ret)
{
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return 0;
    const struct viewer_asset *a = find_asset(url);
    if (!a)
        return 0;
    const char *inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "If-None-Match");
    int not_modified = etag_matches(inm, a->etag);
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        not_modified ? 0 : a->len, not_modified ? NULL : (void *)a->data, MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        *ret = MHD_NO;
        return 1;
    }
    if (!not_modified)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, a->type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, a->etag);
    /* always revalidate: a new traild brings new files under the same names */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(resp, "Content-Security-Policy", VIEWER_CSP);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
    unsigned status = not_modified ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK;
    *ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    atomic_fetch_add_explicit(&metrics.http_responses[status / 100], 1, memory_order_relaxed);
    return 1;
}

/* ---- helpers ---- */

static void hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static int base64(struct trail_buf *out, const uint8_t *p, size_t n)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char quad[4];
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        quad[0] = b64[(v >> 18) & 63];
        quad[1] = b64[(v >> 12) & 63];
        quad[2] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        quad[3] = i + 2 < n ? b64[v & 63] : '=';
        r = trail_buf_append(out, quad, 4);
    }
    return r;
}

static int answer_error(struct trail_buf *answer, int *ret_status, int status, const char *msg)
{
    trail_buf_reset(answer);
    int r = json_printf(answer, "{\"error\":");
    r |= json_str(answer, msg, (size_t)-1);
    r |= json_printf(answer, "}\n");
    *ret_status = status;
    return r ? -ENOMEM : 0;
}

/* The checkpoint proofs are made against: traild's latest, else the store's file. */
static int latest_checkpoint(struct trail_checkpoint *ret_cp)
{
    int have;
    pthread_mutex_lock(&traild.cp_lock);
    have = traild.have_checkpoint;
    if (have)
        *ret_cp = traild.checkpoint;
    pthread_mutex_unlock(&traild.cp_lock);
    if (have)
        return 0;
    return trail_store_checkpoint_latest(traild.store, ret_cp);
}

static int checkpoint_json(struct trail_buf *a, const struct trail_checkpoint *cp)
{
    char root[65], chain[65], ts[32];
    struct trail_buf line = {0};
    hex(cp->root, TRAIL_HASH_LEN, root);
    hex(cp->chain, TRAIL_HASH_LEN, chain);
    trail_time_format(cp->time_us, ts);
    int r = trail_checkpoint_format(cp, &line);
    r |= json_printf(a, "{\"origin\":");
    r |= json_str(a, cp->origin, (size_t)-1);
    r |= json_printf(a,
                     ",\"tree_size\":%" PRIu64 ",\"root\":\"%s\",\"chain\":\"%s\",\"time\":\"%s\","
                     "\"key_id\":\"%s\",\"text\":",
                     cp->tree_size, root, chain, ts, cp->key_id);
    r |= json_str(a, line.data ? line.data : "", line.len);
    r |= json_printf(a, "}");
    trail_buf_free(&line);
    return r ? -ENOMEM : 0;
}

/*
 * The record seq: its canonical bytes (malloc'd, the caller frees) and the
 * same record decoded (the caller frees). 0, 1 when it is not there, or an
 * error reading the store.
 */
static int read_record(uint64_t seq, uint8_t **ret_rec, size_t *ret_len,
                       struct trail_event **ret_ev)
{
    struct trail_store_iter *it = NULL;
    struct trail_event *ev = NULL;
    const uint8_t *raw;
    uint8_t *rec = NULL;
    size_t len = 0;
    uint64_t got = 0;
    int r = trail_store_iter_new(traild.store, TRAIL_ITER_FORWARD, &it);
    if (r < 0)
        return r;
    if ((r = trail_store_iter_seek_seq(it, seq)) < 0 ||
        (r = trail_store_iter_next_raw(it, &raw, &len, &got)) < 0)
        goto fail;
    if (r == 0 || got != seq) {
        r = 1;
        goto fail;
    }
    if (!(rec = malloc(len ? len : 1))) {
        r = -ENOMEM;
        goto fail;
    }
    memcpy(rec, raw, len);
    if ((r = trail_store_iter_seek_seq(it, seq)) < 0 ||
        (r = trail_event_new(traild_config()->cat, "x", &ev)) < 0 ||
        (r = trail_store_iter_next(it, ev)) < 0)
        goto fail;
    if (r == 0) {
        r = 1;
        goto fail;
    }
    trail_store_iter_free(it);
    *ret_rec = rec;
    *ret_len = len;
    *ret_ev = ev;
    return 0;
fail:
    trail_event_free(ev);
    free(rec);
    trail_store_iter_free(it);
    return r;
}

/* ---- GET /v1/proof ---- */

static int get_proof(struct MHD_Connection *conn, struct trail_buf *a, int *status)
{
    const char *arg = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "seq");
    char *end = NULL;
    char msg[200];
    errno = 0;
    unsigned long long seq = arg && *arg >= '0' && *arg <= '9' ? strtoull(arg, &end, 10) : 0;
    if (!arg || !end || *end || errno || seq == 0)
        return answer_error(a, status, 400, "seq=N is required: the record's sequence number");
    uint64_t first = trail_store_first_seq(traild.store);
    uint64_t durable = trail_store_durable_seq(traild.store);
    /* an event of another store, or one purged here: its origin's traild may hold it */
    const char *origin = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "origin");
    char own[TRAIL_ORIGIN_MAX + 1];
    if (trail_store_origin(traild.store, own) < 0)
        own[0] = '\0';
    if (origin && *origin && (strcmp(origin, own) != 0 || seq < first))
        return tier_proof(origin, seq, a, status);
    if (seq > durable) {
        snprintf(msg, sizeof(msg), "no record %llu: the store holds %" PRIu64 "..%" PRIu64, seq,
                 first, durable);
        return answer_error(a, status, 404, msg);
    }
    if (seq < first) {
        snprintf(msg, sizeof(msg), "record %llu was purged (the store keeps %" PRIu64 "..)", seq,
                 first);
        return answer_error(a, status, 410, msg);
    }
    struct trail_checkpoint cp;
    int r = latest_checkpoint(&cp);
    if (r < 0)
        return answer_error(a, status, 404,
                            traild.signing_key ? "no checkpoint signed yet"
                                               : "no checkpoints: traild has no signing key "
                                                 "([store] signing_key)");
    if (seq > cp.tree_size) {
        trail_buf_reset(a);
        snprintf(msg, sizeof(msg),
                 "record %llu is newer than the latest checkpoint (size %" PRIu64
                 "); the next one covers it",
                 seq, cp.tree_size);
        r = json_printf(a, "{\"error\":");
        r |= json_str(a, msg, (size_t)-1);
        r |= json_printf(a, ",\"checkpoint_size\":%" PRIu64 "}\n", cp.tree_size);
        *status = 409;
        return r ? -ENOMEM : 0;
    }

    struct trail_proof proof;
    struct trail_event *ev = NULL;
    uint8_t *rec = NULL;
    size_t rec_len = 0;
    struct trail_buf text = {0};
    r = trail_proof_inclusion(seq - 1, cp.tree_size, trail_store_subtree_hash, traild.store,
                              &proof);
    if (r < 0) {
        snprintf(msg, sizeof(msg), "cannot make the proof of record %llu: %s", seq,
                 trail_strerror(r));
        r = answer_error(a, status, 500, msg);
        goto out;
    }
    r = read_record(seq, &rec, &rec_len, &ev);
    if (r != 0) {
        snprintf(msg, sizeof(msg), "cannot read record %llu: %s", seq,
                 r < 0 ? trail_strerror(r) : "not found");
        r = r == -ENOMEM ? r : answer_error(a, status, 500, msg);
        goto out;
    }
    char h[65];
    r = json_printf(a, "{\"seq\":%llu,\"record\":\"", seq);
    r |= base64(a, rec, rec_len);
    r |= json_printf(a, "\",\"event\":");
    r |= trail_event_to_json(ev, a);
    r |= trail_event_to_cef(ev, NULL, &text);
    r |= json_printf(a, ",\"cef\":");
    r |= json_str(a, text.data ? text.data : "", text.len);
    hex(proof.leaf_hash, TRAIL_HASH_LEN, h);
    r |= json_printf(a,
                     ",\"proof\":{\"leaf_index\":%" PRIu64 ",\"tree_size\":%" PRIu64
                     ",\"leaf_hash\":\"%s\",\"path\":[",
                     proof.leaf_index, proof.tree_size, h);
    for (uint32_t i = 0; i < proof.n_path; i++) {
        hex(proof.path[i], TRAIL_HASH_LEN, h);
        r |= json_printf(a, "%s\"%s\"", i ? "," : "", h);
    }
    r |= json_printf(a, "]},\"checkpoint\":");
    r |= checkpoint_json(a, &cp);
    r |= json_printf(a, "}\n");
    *status = 200;
    r = r ? -ENOMEM : 0;
out:
    trail_buf_free(&text);
    trail_event_free(ev);
    free(rec);
    return r;
}

/* ---- GET /v1/proof/bundle ---- */

static enum MHD_Result bundle_queue(struct MHD_Connection *conn, int status, const char *type,
                                    const char *disposition, struct trail_buf *b)
{
    struct MHD_Response *resp = answer_take(b);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (disposition)
        MHD_add_response_header(resp, "Content-Disposition", disposition);
    return answer_queue(conn, status, resp);
}

static enum MHD_Result bundle_error(struct MHD_Connection *conn, int status, const char *msg)
{
    struct trail_buf b = {0};
    if (answer_error(&b, &status, status, msg) < 0) {
        trail_buf_free(&b);
        return MHD_NO;
    }
    return bundle_queue(conn, status, "application/json", NULL, &b);
}

enum MHD_Result viewer_bundle_answer(struct MHD_Connection *conn)
{
    const char *arg = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "seq");
    uint64_t seqs[TRAIL_BUNDLE_MAX];
    size_t n = 0;
    char err[400], name[96];
    int bad = !arg || !*arg;
    for (const char *p = arg; !bad && *p;) {
        char *end = NULL;
        errno = 0;
        unsigned long long v = *p >= '0' && *p <= '9' ? strtoull(p, &end, 10) : 0;
        bad = n == TRAIL_BUNDLE_MAX || !end || errno || v == 0 || (*end && *end != ',') ||
              (*end == ',' && !end[1]);
        if (!bad) {
            seqs[n++] = v;
            p = *end ? end + 1 : end;
        }
    }
    if (bad)
        return bundle_error(conn, 400,
                            "seq=N[,N...] is required: 1 to 1000 records' sequence numbers");
    struct trail_checkpoint cp;
    int have = latest_checkpoint(&cp) == 0;
    const struct config *cfg = traild_config();
    struct trail_buf b = {0};
    size_t cosigs = 0;
    int r = trail_bundle_make(traild.store, cfg->store_path, have ? &cp : NULL, seqs, n, &b,
                              &cosigs, err, sizeof(err));
    if (r < 0) {
        trail_buf_free(&b);
        return bundle_error(conn, r == TRAIL_E_NOT_FOUND ? 404 : r == -EINVAL ? 400 : 500, err);
    }
    snprintf(name, sizeof(name), "attachment; filename=\"trail-bundle-%" PRIu64 "%s.txt\"", seqs[0],
             n > 1 ? "-more" : "");
    return bundle_queue(conn, 200, "text/plain; charset=utf-8", name, &b);
}

/* ---- /v1/verify ---- */

static struct {
    pthread_mutex_t lock;
    int state; /* 0 never run, 1 running, 2 done, 3 failed to run */
    int64_t started, finished;
    int error; /* state 3: why */
    struct trail_verify_report report;
} verify = {.lock = PTHREAD_MUTEX_INITIALIZER};

/*
 * What a run needs, its own copies: traild may stop (and free its config
 * and key) while a run goes on, and the run cannot be interrupted.
 */
struct verify_job {
    char *store_path;
    char *key_path; /* traild's signing key, or NULL */
};

static void *verify_thread(void *arg)
{
    struct verify_job *job = arg;
    static struct trail_verify_report report; /* large: not on the thread's stack */
    struct trail_key *key = NULL;
    if (job->key_path && trail_key_load_private(job->key_path, &key) < 0)
        key = NULL; /* the report's notes say that signatures were not checked */
    const struct trail_key *keys[1] = {key};
    struct trail_verify_opts opts = {.keys = keys, .n_keys = key ? 1 : 0, .threads = 1};
    memset(&report, 0, sizeof(report));
    int r = trail_verify_store(job->store_path, &opts, &report);
    trail_key_free(key);
    free(job->store_path);
    free(job->key_path);
    free(job);
    pthread_mutex_lock(&verify.lock);
    verify.finished = trail_now();
    verify.state = r == 0 ? 2 : 3;
    verify.error = r;
    if (r == 0)
        verify.report = report;
    pthread_mutex_unlock(&verify.lock);
    if (r < 0)
        log_msg(LOG_WARN, "verify: cannot check the store: %s", trail_strerror(r));
    else if (report.n_damage)
        log_msg(LOG_ERR, "verify: %u damaged places in the store, the first at seq %" PRIu64 ": %s",
                report.n_damage, report.damage[0].seq, report.damage[0].message);
    else
        log_msg(LOG_INFO, "verify: %" PRIu64 " records verified", report.records);
    return NULL;
}

static struct verify_job *verify_job_new(void)
{
    const struct config *cfg = traild_config();
    struct verify_job *job = calloc(1, sizeof(*job));
    char path[4200];
    if (!job)
        return NULL;
    job->store_path = strdup(cfg->store_path);
    /* the key traild signs with: [store] signing_key, or else STORE/checkpoint.key */
    snprintf(path, sizeof(path), "%s/checkpoint.key", cfg->store_path);
    const char *key = cfg->signing_key ? cfg->signing_key : access(path, R_OK) == 0 ? path : NULL;
    if (key)
        job->key_path = strdup(key);
    if (!job->store_path || (key && !job->key_path)) {
        free(job->store_path);
        free(job->key_path);
        free(job);
        return NULL;
    }
    return job;
}

/* Start a run unless one is running: 1 started, 0 one runs already, -errno. Lock held. */
static int verify_start_locked(void)
{
    if (verify.state == 1)
        return 0;
    struct verify_job *job = verify_job_new();
    if (!job)
        return -ENOMEM;
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int prev = verify.state;
    int64_t prev_started = verify.started;
    verify.state = 1;
    verify.started = trail_now();
    int r = pthread_create(&t, &attr, verify_thread, job);
    pthread_attr_destroy(&attr);
    if (r != 0) {
        verify.state = prev;
        verify.started = prev_started;
        free(job->store_path);
        free(job->key_path);
        free(job);
        return -r;
    }
    return 1;
}

static int verify_json(struct trail_buf *a)
{
    char ts[32], root[65];
    static const char *const names[] = {"never", "running", "done", "failed"};
    int r = json_printf(a, "{\"state\":\"%s\"", names[verify.state]);
    if (verify.started) {
        trail_time_format(verify.started, ts);
        r |= json_printf(a, ",\"started\":\"%s\"", ts);
    }
    if (verify.state == 3) {
        r |= json_printf(a, ",\"error\":");
        r |= json_str(a, trail_strerror(verify.error), (size_t)-1);
    }
    if (verify.finished && verify.state >= 2) {
        trail_time_format(verify.finished, ts);
        r |= json_printf(a, ",\"finished\":\"%s\",\"duration_ms\":%" PRId64, ts,
                         (verify.finished - verify.started) / 1000);
    }
    if (verify.state == 2 || (verify.state == 1 && verify.finished)) {
        /* while a new run goes on, the last finished one stays visible */
        const struct trail_verify_report *rep = &verify.report;
        hex(rep->root, TRAIL_HASH_LEN, root);
        r |= json_printf(a,
                         ",\"ok\":%s,\"store_id\":\"%s\",\"records\":%" PRIu64
                         ",\"first_seq\":%" PRIu64 ",\"last_seq\":%" PRIu64
                         ",\"root\":\"%s\",\"segments\":%" PRIu64 ",\"checkpoints\":%" PRIu64
                         ",\"signatures\":%" PRIu64 ",\"checked\":%" PRIu64 ",\"purges\":%" PRIu64
                         ",\"damage\":[",
                         rep->n_damage ? "false" : "true", rep->store_id, rep->records,
                         rep->first_seq, rep->last_seq, root, rep->segments, rep->checkpoints,
                         rep->signatures, rep->checked, rep->purges);
        uint32_t n =
            rep->n_damage < TRAIL_VERIFY_MAX_DAMAGE ? rep->n_damage : TRAIL_VERIFY_MAX_DAMAGE;
        for (uint32_t i = 0; i < n; i++) {
            const struct trail_verify_damage *d = &rep->damage[i];
            r |= json_printf(
                a, "%s{\"kind\":\"%s\",\"seq\":%" PRIu64 ",\"seq_last\":%" PRIu64 ",\"file\":",
                i ? "," : "", trail_damage_name(d->kind), d->seq, d->seq_last);
            r |= json_str(a, d->file, (size_t)-1);
            r |= json_printf(a, ",\"message\":");
            r |= json_str(a, d->message, (size_t)-1);
            r |= json_printf(a, "}");
        }
        r |= json_printf(a, "],\"damage_count\":%u,\"notes\":[", rep->n_damage);
        const char *p = rep->notes;
        int first = 1;
        while (*p) {
            const char *nl = strchr(p, '\n');
            size_t len = nl ? (size_t)(nl - p) : strlen(p);
            if (len) {
                r |= json_printf(a, "%s", first ? "" : ",");
                r |= json_str(a, p, len);
                first = 0;
            }
            p += len + (nl ? 1 : 0);
        }
        r |= json_printf(a, "]");
    }
    r |= json_printf(a, "}\n");
    return r ? -ENOMEM : 0;
}

static int api_verify(int post, struct trail_buf *a, int *status)
{
    int r;
    pthread_mutex_lock(&verify.lock);
    if (post || verify.state == 0) {
        r = verify_start_locked();
        if (r < 0) {
            pthread_mutex_unlock(&verify.lock);
            return answer_error(a, status, 500, "cannot start a verification thread");
        }
        *status = post ? (r == 1 ? 202 : 409) : 200;
    } else {
        *status = 200;
    }
    r = verify_json(a);
    pthread_mutex_unlock(&verify.lock);
    return r;
}

/* ---- GET /v1/sinks ---- */

struct sink_file_state {
    uint64_t seq, witnessed, delivered;
    int64_t time_us, error_time_us;
    char error[700];
};

static void read_sink_files(const char *store, const char *name, struct sink_file_state *s)
{
    char path[4200], line[700];
    snprintf(path, sizeof(path), "%s/sinks/%s.cursor", store, name);
    FILE *f = fopen(path, "r");
    if (f) {
        while (fgets(line, sizeof(line), f)) {
            unsigned long long v;
            long long t;
            if (sscanf(line, "seq %llu", &v) == 1)
                s->seq = v;
            else if (sscanf(line, "witnessed %llu", &v) == 1)
                s->witnessed = v;
            else if (sscanf(line, "delivered %llu", &v) == 1)
                s->delivered = v;
            else if (sscanf(line, "time %lld", &t) == 1)
                s->time_us = t;
        }
        fclose(f);
    }
    snprintf(path, sizeof(path), "%s/sinks/%s.error", store, name);
    f = fopen(path, "r");
    if (f) {
        while (fgets(line, sizeof(line), f)) {
            long long t;
            size_t n = strlen(line);
            while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                line[--n] = '\0';
            if (sscanf(line, "time %lld", &t) == 1)
                s->error_time_us = t;
            else if (strncmp(line, "error ", 6) == 0)
                snprintf(s->error, sizeof(s->error), "%s", line + 6);
        }
        fclose(f);
    }
}

static int api_sinks(struct trail_buf *a, int *status)
{
    const struct config *cfg = traild_config();
    uint64_t durable = trail_store_durable_seq(traild.store);
    char ts[32];
    int r = json_printf(a, "{\"durable_seq\":%" PRIu64 ",\"sinks\":[", durable);
    for (size_t i = 0; i < cfg->n_sinks; i++) {
        const struct sink_conf *sc = &cfg->sinks[i];
        struct sink_file_state s;
        memset(&s, 0, sizeof(s));
        read_sink_files(cfg->store_path, sc->name, &s);
        /* after the cursor: durable only grows, so a cursor past it means lost records */
        durable = trail_store_durable_seq(traild.store);
        r |= json_printf(a, "%s{\"name\":", i ? "," : "");
        r |= json_str(a, sc->name, (size_t)-1);
        r |= json_printf(a, ",\"type\":\"%s\",\"witness\":%s,\"cursor\":%" PRIu64,
                         sc->ops ? sc->ops->name : "?", sc->witness ? "true" : "false", s.seq);
        if (s.seq > durable) {
            /* never lag 0: the sink would skip every new event up to its cursor */
            r |= json_printf(a, ",\"lag\":null,\"past_end\":%" PRIu64, s.seq - durable);
            snprintf(s.error, sizeof(s.error),
                     "cursor past the end: the cursor is at seq %" PRIu64
                     ", past the store's end (seq %" PRIu64 ")",
                     s.seq, durable);
            s.error_time_us = 0;
        } else {
            r |= json_printf(a, ",\"lag\":%" PRIu64, durable - s.seq);
        }
        r |= json_printf(a, ",\"delivered\":%" PRIu64 ",\"witnessed\":%" PRIu64, s.delivered,
                         s.witnessed);
        if (s.time_us) {
            trail_time_format(s.time_us, ts);
            r |= json_printf(a, ",\"updated\":\"%s\"", ts);
        }
        if (s.error[0]) {
            r |= json_printf(a, ",\"error\":");
            r |= json_str(a, s.error, (size_t)-1);
            if (s.error_time_us) {
                trail_time_format(s.error_time_us, ts);
                r |= json_printf(a, ",\"error_time\":\"%s\"", ts);
            }
        }
        r |= json_printf(a, "}");
    }
    r |= json_printf(a, "]}\n");
    *status = 200;
    return r ? -ENOMEM : 0;
}

int viewer_api(struct MHD_Connection *conn, const char *method, const char *path,
               struct trail_buf *answer, int *ret_status)
{
    int post = strcmp(method, "POST") == 0;
    if (strcmp(path, "/v1/proof") == 0)
        return get_proof(conn, answer, ret_status);
    if (strcmp(path, "/v1/verify") == 0)
        return api_verify(post, answer, ret_status);
    if (strcmp(path, "/v1/sinks") == 0)
        return api_sinks(answer, ret_status);
    if (strcmp(path, "/v1/rules") == 0) {
        /* the detector's rules (docs/detection.md, "GET /v1/rules") */
        *ret_status = 200;
        return traild.rules_json ? traild.rules_json(answer)
                                 : json_printf(answer, "{\"enabled\":false,\"rules\":[]}\n");
    }
    return answer_error(answer, ret_status, 404, "no such path");
}
