/*
 * witness_http.c - traild as a C2SP witness (https://c2sp.org/tlog-witness):
 * POST /add-checkpoint from the trail logs [witness] accept names.
 *
 * For each request, under one lock: read the body (old size, consistency
 * proof, signed checkpoint); find the log by the checkpoint's origin (404);
 * check the log's signature (403); compare with what the witness holds of
 * that log: a checkpoint smaller than it is a rollback (409, and a record),
 * another old size than its own is stale (409 with its size, as
 * text/x.tlog.size); the proof must lead from the tree it holds to the new
 * one (422, a fork, and a record). Then the new size and root are written
 * to the state file (replaced atomically and synced) BEFORE the answer, so
 * that a witness that cosigned never forgets it did, and the answer is the
 * cosignature/v1 line.
 *
 * The state file ([witness] state, default STORE/witness.state):
 *
 *     trail-witness-state/1
 *     ORIGIN SIZE ROOT          one line per log seen; ROOT in base64
 *
 * Lines of logs no longer accepted are kept, so that taking a log out of
 * accept and back again does not reset it.
 *
 * A refusal (rollback or fork) is stored as trail's own record
 * trail_witness_refused, once per distinct checkpoint refused.
 *
 * Not here: the request's framing and cosignatures (lib/integrity/witness.c),
 * the route's role (routes.c).
 */
#include "http/witness_http.h"

#include "core/log.h"
#include "core/metrics.h"
#include "core/traild.h"
#include "integrity/note.h"
#include "integrity/witness.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STATE_MAGIC "trail-witness-state/1"

struct wlog {
    char origin[TRAIL_ORIGIN_MAX + 1];
    struct trail_key *key; /* NULL: a log of the state file no longer accepted */
    uint64_t size;
    uint8_t root[TRAIL_HASH_LEN];
    /* the last refusal recorded: one record per reason while the witness's state stays */
    const char *refused_reason;
    uint64_t refused_known;
};

static struct {
    pthread_mutex_t lock;
    int on;
    struct trail_key *key;
    char *name, *state_path;
    struct wlog *logs;
    size_t n;
} W = {.lock = PTHREAD_MUTEX_INITIALIZER};

static struct wlog *log_find(const char *origin)
{
    for (size_t i = 0; i < W.n; i++)
        if (!strcmp(W.logs[i].origin, origin))
            return &W.logs[i];
    return NULL;
}

static struct wlog *log_add(const char *origin)
{
    struct wlog *l = realloc(W.logs, (W.n + 1) * sizeof(*l));
    if (!l)
        return NULL;
    W.logs = l;
    l = &W.logs[W.n++];
    memset(l, 0, sizeof(*l));
    snprintf(l->origin, sizeof(l->origin), "%s", origin);
    trail_hash_empty(l->root);
    return l;
}

static int state_read(char *err, size_t errlen)
{
    FILE *f = fopen(W.state_path, "re");
    char line[512];
    int n = 0;
    if (!f)
        return errno == ENOENT ? 0 : -errno;
    while (fgets(line, sizeof(line), f)) {
        char origin[TRAIL_ORIGIN_MAX + 2], root64[64];
        uint64_t size;
        uint8_t root[TRAIL_HASH_LEN + 2];
        n++;
        line[strcspn(line, "\n")] = '\0';
        if (n == 1) {
            if (strcmp(line, STATE_MAGIC) != 0)
                goto bad;
            continue;
        }
        if (sscanf(line, "%129s %" SCNu64 " %63s", origin, &size, root64) != 3 ||
            strlen(origin) > TRAIL_ORIGIN_MAX ||
            b64_decode(root64, strlen(root64), root, sizeof(root)) != TRAIL_HASH_LEN)
            goto bad;
        struct wlog *l = log_find(origin);
        if (!l && !(l = log_add(origin))) {
            fclose(f);
            return -ENOMEM;
        }
        l->size = size;
        memcpy(l->root, root, TRAIL_HASH_LEN);
    }
    fclose(f);
    return 0;
bad:
    fclose(f);
    snprintf(err, errlen, "%s:%d: not a line of %s", W.state_path, n, STATE_MAGIC);
    return TRAIL_E_PARSE;
}

static int state_write(void)
{
    struct trail_buf b = {0};
    char head[200];
    int r = trail_buf_append(&b, STATE_MAGIC "\n", strlen(STATE_MAGIC) + 1);
    for (size_t i = 0; r == 0 && i < W.n; i++) {
        if (!W.logs[i].size)
            continue;
        int n = snprintf(head, sizeof(head), "%s %" PRIu64 " ", W.logs[i].origin, W.logs[i].size);
        if ((r = trail_buf_append(&b, head, (size_t)n)) == 0 &&
            (r = b64_encode(W.logs[i].root, TRAIL_HASH_LEN, &b)) == 0)
            r = trail_buf_append(&b, "\n", 1);
    }
    if (r == 0)
        r = trail_file_replace(W.state_path, b.data, b.len, 0640);
    trail_buf_free(&b);
    return r;
}

void witness_stop(void)
{
    pthread_mutex_lock(&W.lock);
    for (size_t i = 0; i < W.n; i++)
        trail_key_free(W.logs[i].key);
    free(W.logs);
    W.logs = NULL;
    W.n = 0;
    trail_key_free(W.key);
    W.key = NULL;
    free(W.name);
    free(W.state_path);
    W.name = W.state_path = NULL;
    W.on = 0;
    pthread_mutex_unlock(&W.lock);
}

int witness_start(const struct config *cfg, char *err, size_t errlen)
{
    int r;
    err[0] = '\0';
    if (!cfg->witness_name)
        return 0;
    if ((r = trail_key_load_private(cfg->witness_key, &W.key)) < 0) {
        snprintf(err, errlen, "[witness] key: cannot load %s: %s", cfg->witness_key,
                 trail_strerror(r));
        return r;
    }
    W.name = strdup(cfg->witness_name);
    if (cfg->witness_state)
        W.state_path = strdup(cfg->witness_state);
    else if (asprintf(&W.state_path, "%s/witness.state", cfg->store_path) < 0)
        W.state_path = NULL;
    if (!W.name || !W.state_path) {
        r = -ENOMEM;
        goto fail;
    }
    /* accept: checked by the config already */
    for (const char *p = cfg->witness_logs; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, " ,");
        if (!len)
            break;
        char origin[TRAIL_ORIGIN_MAX + 1];
        struct trail_key *k = NULL;
        struct wlog *l;
        if ((r = trail_key_from_verifier(p, len, origin, &k)) < 0 || !(l = log_add(origin))) {
            trail_key_free(k);
            r = r < 0 ? r : -ENOMEM;
            goto fail;
        }
        l->key = k;
        p += len;
    }
    if ((r = state_read(err, errlen)) < 0) {
        if (!err[0])
            snprintf(err, errlen, "[witness] state: cannot read %s: %s", W.state_path,
                     trail_strerror(r));
        goto fail;
    }
    struct trail_buf v = {0};
    if (trail_witness_verifier(W.key, W.name, &v) == 0 && trail_buf_append(&v, "", 1) == 0)
        log_msg(LOG_INFO, "witness %s for %zu logs; its verifier key: %s", W.name, W.n, v.data);
    trail_buf_free(&v);
    W.on = 1;
    return 0;
fail:
    if (!err[0] || r == -ENOMEM)
        snprintf(err, errlen, "[witness]: %s", trail_strerror(r));
    witness_stop();
    return r;
}

/* ---- answers ---- */

static enum MHD_Result queue(struct MHD_Connection *conn, unsigned status, const char *type,
                             const char *text, size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    atomic_fetch_add_explicit(&metrics.http_responses[status / 100], 1, memory_order_relaxed);
    return r;
}

static enum MHD_Result text(struct MHD_Connection *conn, unsigned status, const char *msg)
{
    char buf[600];
    int n = snprintf(buf, sizeof(buf), "%s\n", msg);
    return queue(conn, status, "text/plain; charset=utf-8", buf,
                 (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* 409 Conflict with the witness's size of the log, as tlog-witness says */
static enum MHD_Result conflict(struct MHD_Connection *conn, uint64_t size)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", size);
    return queue(conn, 409, "text/x.tlog.size", buf, (size_t)n);
}

/*
 * trail_witness_refused, once per reason and state: a forked log's sink
 * retries, and its next checkpoints are the same fork, one record says it.
 */
static void record_refusal(struct wlog *l, const struct trail_checkpoint *cp, uint64_t old_size,
                           const char *reason, const char *why, const char *addr, const char *note,
                           size_t note_len)
{
    if (l->refused_reason == reason && l->refused_known == l->size)
        return;
    l->refused_reason = reason;
    l->refused_known = l->size;
    const struct config *cfg = traild_config();
    char msg[900];
    snprintf(msg, sizeof(msg),
             "witness %s refused the checkpoint of %s at size %" PRIu64 " from %s: %s", W.name,
             l->origin, cp->tree_size, addr, why);
    log_msg(LOG_ERR, "%s", msg);
    struct trail_event *ev = NULL;
    if (trail_event_new(cfg->cat, "trail_witness_refused", &ev) < 0)
        return;
    trail_event_mark_own(ev);
    trail_event_set_host(ev, cfg->host, strlen(cfg->host));
    trail_event_set_time(ev, trail_now());
    trail_event_set_string(ev, "origin", l->origin, (size_t)-1);
    trail_event_set_string(ev, "reason", reason, (size_t)-1);
    trail_event_set_int(ev, "size", (int64_t)cp->tree_size);
    trail_event_set_int(ev, "old_size", (int64_t)old_size);
    trail_event_set_int(ev, "known_size", (int64_t)l->size);
    trail_event_set_string(ev, "src", addr, (size_t)-1);
    trail_event_set_string(ev, "checkpoint", note, note_len);
    trail_event_set_string(ev, "msg", msg, (size_t)-1);
    own_record_submit(ev);
}

enum MHD_Result witness_http_answer(struct MHD_Connection *conn, const char *body, size_t len,
                                    const char *addr)
{
    struct witness_request q;
    struct trail_checkpoint cp;
    struct trail_proof proof;
    struct trail_buf out = {0};
    char err[300], why[600];
    enum MHD_Result res;

    if (!W.on)
        return text(conn, 404, "this traild is not a witness (no [witness] section)");
    if (witness_request_parse(body, len, &q, err, sizeof(err)) < 0) {
        snprintf(why, sizeof(why), "malformed add-checkpoint request: %s", err);
        return text(conn, 400, why);
    }
    if (trail_checkpoint_note_parse(q.note, q.note_len, &cp) < 0)
        return text(conn, 400, "the checkpoint is not a trail C2SP checkpoint note");
    if (q.old_size > cp.tree_size)
        return text(conn, 400, "old size is larger than the checkpoint's size");
    pthread_mutex_lock(&W.lock);
    struct wlog *l = log_find(cp.origin);
    if (!l || !l->key) {
        pthread_mutex_unlock(&W.lock);
        snprintf(why, sizeof(why), "unknown log %s: not in [witness] accept", cp.origin);
        return text(conn, 404, why);
    }
    if (trail_checkpoint_verify(&cp, l->key) != 0) {
        pthread_mutex_unlock(&W.lock);
        return text(conn, 403, "the checkpoint's signature does not verify with the log's key");
    }
    if (cp.tree_size < l->size) {
        snprintf(why, sizeof(why),
                 "rollback: the log signed size %" PRIu64 ", smaller than the %" PRIu64
                 " this witness cosigned",
                 cp.tree_size, l->size);
        record_refusal(l, &cp, q.old_size, "rollback", why, addr, q.note, q.note_len);
        res = conflict(conn, l->size);
        pthread_mutex_unlock(&W.lock);
        return res;
    }
    if (q.old_size != l->size) {
        res = conflict(conn, l->size);
        pthread_mutex_unlock(&W.lock);
        return res;
    }
    memset(&proof, 0, sizeof(proof));
    proof.type = TRAIL_PROOF_CONSISTENCY;
    proof.old_size = l->size;
    proof.tree_size = cp.tree_size;
    proof.n_path = q.n_proof;
    memcpy(proof.path, q.proof, q.n_proof * sizeof(q.proof[0]));
    if (trail_proof_verify_consistency(&proof, l->root, cp.root) != 0) {
        snprintf(why, sizeof(why),
                 "fork: the checkpoint of size %" PRIu64
                 " does not extend the tree of size %" PRIu64
                 " this witness cosigned (the consistency proof fails)",
                 cp.tree_size, l->size);
        record_refusal(l, &cp, q.old_size, "fork", why, addr, q.note, q.note_len);
        pthread_mutex_unlock(&W.lock);
        return text(conn, 422, why);
    }
    uint64_t old = l->size;
    uint8_t old_root[TRAIL_HASH_LEN];
    memcpy(old_root, l->root, TRAIL_HASH_LEN);
    l->size = cp.tree_size;
    memcpy(l->root, cp.root, TRAIL_HASH_LEN);
    int r = cp.tree_size == old ? 0 : state_write(); /* persisted before it is cosigned */
    if (r < 0) {
        l->size = old;
        memcpy(l->root, old_root, TRAIL_HASH_LEN);
        pthread_mutex_unlock(&W.lock);
        log_msg(LOG_ERR, "witness: cannot write %s: %s", W.state_path, trail_strerror(r));
        return text(conn, 500, "cannot persist the witness's state");
    }
    r = trail_cosignature_sign(W.key, W.name, &cp, (uint64_t)time(NULL), &out);
    pthread_mutex_unlock(&W.lock);
    if (r < 0) {
        trail_buf_free(&out);
        return text(conn, 500, "cannot cosign");
    }
    res = queue(conn, 200, "text/plain; charset=utf-8", out.data, out.len);
    trail_buf_free(&out);
    return res;
}
