/*
 * routes_info.c - the routes that tell about traild and its store:
 *
 *   GET /healthz        200 when the store accepts writes, else 503; status ok,
 *                       degraded (damage not quarantined) or failing; the
 *                       details only to a caller with a role when
 *                       authentication is on
 *   GET /metrics        Prometheus text format
 *   GET /v1/catalog     the catalog in force (built-in and custom events)
 *   GET /v1/checkpoint  the latest signed checkpoint, its note and verifier key
 *
 * Not here: the route table and the roles (routes.c), the metrics
 * themselves (core/metrics.c), signing checkpoints (main.c, libtrail).
 */
#include "http/routes.h"

#include "core/auth.h"
#include "core/damage.h"
#include "core/json_out.h"
#include "core/metrics.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/*
 * GET /healthz: open to anyone (a load balancer has no token), so without
 * one it says only ok or failing; the details (the store's error, the
 * queue, the durable seq, the version) need a token of any role when
 * authentication is on.
 */
int route_get_healthz(struct req *rq)
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
        auth_check(cfg, ROLE_READ, http_header(rq->conn, MHD_HTTP_HEADER_AUTHORIZATION), NULL, &ar);
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

int route_get_metrics(struct req *rq)
{
    struct trail_store_stats st;
    int64_t bytes = -1, events = -1;
    int have_stats = trail_store_stats(traild.store, &st) == 0;
    if (have_stats) {
        bytes = (int64_t)(st.segment_bytes + st.side_bytes);
        events = (int64_t)st.records;
    }
    if (metrics_render(&rq->answer, bytes, events) < 0 || damage_metrics(&rq->answer) < 0)
        return -ENOMEM;
    /* the unsealed backlog and its bound ([store] seal_backlog_max, docs/store.md) */
    if (have_stats &&
        json_printf(&rq->answer,
                    "# HELP trail_store_unsealed_segments Rolled segments waiting to be sealed.\n"
                    "# TYPE trail_store_unsealed_segments gauge\n"
                    "trail_store_unsealed_segments %llu\n"
                    "# HELP trail_store_seal_waits_total Appends that waited for sealing "
                    "(the backlog at seal_backlog_max).\n"
                    "# TYPE trail_store_seal_waits_total counter\n"
                    "trail_store_seal_waits_total %llu\n"
                    "# HELP trail_store_seal_wait_seconds_total The time those appends waited.\n"
                    "# TYPE trail_store_seal_wait_seconds_total counter\n"
                    "trail_store_seal_wait_seconds_total %.6f\n",
                    (unsigned long long)st.unsealed, (unsigned long long)st.seal_waits,
                    (double)st.seal_wait_us / 1e6) < 0)
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

/*
 * GET /v1/catalog: the JSON is made once per config in force (a reload
 * makes a new config) and kept, since the catalog changes only then.
 */
static pthread_mutex_t catalog_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct config *catalog_cfg; /* what catalog_json was made for */
static struct trail_buf catalog_json;

int route_get_catalog(struct req *rq)
{
    const struct config *cfg = traild_config();
    int r = 0;
    pthread_mutex_lock(&catalog_lock);
    if (catalog_cfg != cfg) {
        trail_buf_reset(&catalog_json);
        r = catalog_to_json(cfg, &catalog_json);
        catalog_cfg = r == 0 ? cfg : NULL;
    }
    if (r == 0)
        r = trail_buf_append(&rq->answer, catalog_json.data, catalog_json.len);
    pthread_mutex_unlock(&catalog_lock);
    if (r < 0)
        return r;
    rq->status = 200;
    rq->answered = 1;
    return 0;
}

void route_info_free(void)
{
    pthread_mutex_lock(&catalog_lock);
    trail_buf_free(&catalog_json);
    catalog_cfg = NULL;
    pthread_mutex_unlock(&catalog_lock);
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

int route_get_checkpoint(struct req *rq)
{
    struct trail_checkpoint cp;
    pthread_mutex_lock(&traild.cp_lock);
    int have = traild.have_checkpoint;
    cp = traild.checkpoint;
    pthread_mutex_unlock(&traild.cp_lock);
    if (!have) /* none signed in this run yet: the last one in STORE/checkpoints */
        have = trail_store_checkpoint_latest(traild.store, &cp) == 0;
    if (!have)
        return http_answer_error(
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
