/*
 * detect_run.c - the detection thread of traild. It reads the store forward
 * from its cursor (STORE/detect.cursor, the sink cursor's format with type
 * "detect": the last seq evaluated), feeds each durable record to the rules
 * (lib/detect/), writes each alert as trail's own record trail_alert, and
 * saves the cursor only once the batch's alerts are durable.
 *
 * A restart neither misses nor fires twice: the windows are rebuilt by
 * evaluating again the records from the longest timespan before the
 * cursor's record up to the cursor, with their alerts held back; an alert
 * after the cursor that was already stored before a crash comes again with
 * the same uuid (derived from the rule and the seq that fired it), found
 * among the trail_alert records after the cursor and not written again.
 * Records of trail_alert are not evaluated: a rule over alerts would feed
 * on its own output. SIGHUP reads the rules again and rebuilds the windows
 * the same way.
 *
 * Not here: the rules (lib/detect/), the config key (config.c).
 */
#include "detect_run.h"

#include "detect/detect.h" /* lib/detect/ */
#include "core/ingest.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/traild.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH      1024 /* records evaluated between two saves of the cursor */
#define MAX_ALERTS 4096 /* alerts held for one batch; past it the batch is written early */

struct detector {
    pthread_t thread;
    atomic_int stop, reload;
    struct trail_store *store;
    char *cursor_path;
    char store_hex[33];
    uint64_t cursor;      /* last seq evaluated and saved */
    uint64_t replay_upto; /* alerts for seqs up to here are held back (rebuilding windows) */
    uint64_t evaluated;
    struct detect_rules *rs;
    struct detect_engine *engine;
    int64_t max_span_us;
    struct trail_event *alerts[MAX_ALERTS];
    size_t n_alerts;
    /* the uuids of the alerts stored after the cursor (a crash came before it was saved):
       these firings are not written again */
    uint8_t (*stored)[16];
    size_t n_stored;
};

static struct detector *D;

static void on_diag(void *ctx, const struct detect_diag *d)
{
    (void)ctx;
    log_msg(d->warning ? LOG_WARN : LOG_ERR, "detect: %s:%u:%u: %s: %s", d->file, d->line,
            d->column, d->warning ? "warning" : "error", d->msg);
}

/* The rules of dir, finished; NULL when the directory cannot be read. */
static struct detect_rules *load_rules(const char *dir, char *err, size_t errlen)
{
    struct detect_rules *rs;
    char **files;
    size_t n;
    int r = detect_rule_files(dir, &files, &n);
    if (r < 0) {
        snprintf(err, errlen, "[detect] rules %s: %s", dir, strerror(-r));
        return NULL;
    }
    if (detect_rules_new(traild_config()->cat, &rs) < 0) {
        snprintf(err, errlen, "out of memory");
        rs = NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (rs)
            detect_rules_add_file(rs, files[i], on_diag, NULL);
        free(files[i]);
    }
    free(files);
    if (rs)
        detect_rules_finish(rs, on_diag, NULL);
    return rs;
}

static int64_t max_span(const struct detect_rules *rs)
{
    int64_t m = 0;
    for (size_t i = 0; i < rs->n_rules; i++)
        if (rs->rules[i]->applicable && rs->rules[i]->timespan_us > m)
            m = rs->rules[i]->timespan_us;
    return m;
}

static void seqs_text(char *out, size_t size, const uint64_t *v, size_t n)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && len + 22 < size; i++)
        len += (size_t)snprintf(out + len, size - len, "%s%" PRIu64, i ? "," : "", v[i]);
}

/*
 * The alert's uuid: the rule and the seq that fired it, hashed, so that the
 * same firing evaluated again after a crash is the same record to the store.
 */
static void alert_uuid(const struct detect_alert *a, uint8_t u[16])
{
    const struct detect_rule *r = a->rule;
    uint8_t md[32];
    uint64_t seq = trail_event_seq(a->ev);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    const char *key = r->id ? r->id : r->name ? r->name : r->title;
    if (!c || !EVP_DigestInit_ex(c, EVP_sha256(), NULL) ||
        !EVP_DigestUpdate(c, "trail_alert", 12) || !EVP_DigestUpdate(c, D->store_hex, 32) ||
        !EVP_DigestUpdate(c, key, strlen(key) + 1) || !EVP_DigestUpdate(c, &seq, sizeof seq) ||
        !EVP_DigestFinal_ex(c, md, NULL))
        memset(md, 0, sizeof md); /* out of memory: the record still goes, without dedup */
    EVP_MD_CTX_free(c);
    memcpy(u, md, 16);
    u[6] = (u[6] & 0x0f) | 0x80; /* version 8: made by trail's own rule */
    u[8] = (u[8] & 0x3f) | 0x80;
}

static void on_alert(void *ctx, const struct detect_alert *a)
{
    (void)ctx;
    const struct detect_rule *r = a->rule;
    if (trail_event_seq(a->ev) <= D->replay_upto)
        return; /* rebuilding the windows: this one was written before */
    if (D->n_alerts == MAX_ALERTS) {
        log_msg(LOG_ERR, "detect: more than %d alerts in one batch; '%s' is dropped", MAX_ALERTS,
                r->title);
        return;
    }
    const struct config *cfg = traild_config();
    struct trail_event *ev;
    if (trail_event_new(cfg->cat, "trail_alert", &ev) < 0)
        return;
    trail_event_mark_own(ev);
    trail_event_set_host(ev, cfg->host, strlen(cfg->host));
    trail_event_set_time(ev, trail_now());
    uint8_t u[16];
    alert_uuid(a, u);
    for (size_t i = 0; i < D->n_stored; i++)
        if (memcmp(D->stored[i], u, 16) == 0) {
            trail_event_free(ev);
            return; /* stored before a crash, after the cursor that was saved */
        }
    trail_event_set_uuid(ev, u);
    char text[1024];
    if (r->id)
        trail_event_set_string(ev, "rule_id", r->id, strlen(r->id));
    if (r->name)
        trail_event_set_string(ev, "rule", r->name, strlen(r->name));
    /* a title longer than the limits allow is cut: the rule id names it anyway */
    snprintf(text, 512, "%s", r->title);
    trail_event_set_string(ev, "title", text, strlen(text));
    const char *level = r->level ? detect_level_name(r->level) : "medium";
    trail_event_set_string(ev, "level", level, strlen(level));
    trail_event_set_int(ev, "level_severity", detect_level_severity(r->level));
    const char *type = r->corr ? detect_corr_type_name(r->corr) : "detection";
    trail_event_set_string(ev, "type", type, strlen(type));
    if (a->n_group) {
        size_t len = 0;
        text[0] = '\0';
        for (size_t i = 0; i < a->n_group && len < sizeof text - 1; i++)
            len += (size_t)snprintf(text + len, sizeof text - len, "%s%s=%s", i ? ", " : "",
                                    r->group_by[i], a->group_values[i]);
        trail_event_set_string(ev, "group", text, strnlen(text, sizeof text - 1));
    }
    trail_event_set_int(ev, "count", (int64_t)a->count);
    trail_event_set_time_attr(ev, "window_start", a->window_start_us);
    trail_event_set_time_attr(ev, "window_end", a->window_end_us);
    trail_event_set_int(ev, "events", (int64_t)a->n_seqs);
    seqs_text(text, sizeof text, a->first_seqs, a->n_first);
    trail_event_set_string(ev, "first_seqs", text, strlen(text));
    if (a->n_last) {
        seqs_text(text, sizeof text, a->last_seqs, a->n_last);
        trail_event_set_string(ev, "last_seqs", text, strlen(text));
    }
    trail_event_set_int(ev, "fired_seq", (int64_t)trail_event_seq(a->ev));
    snprintf(text, sizeof text, "%s rule '%.300s' fired at seq %" PRIu64 " (%" PRIu64 " events)",
             level, r->title, trail_event_seq(a->ev), a->n_seqs);
    trail_event_set_string(ev, "msg", text, strlen(text));
    if (trail_event_validate(ev) < 0) {
        log_msg(LOG_ERR, "detect: the alert of '%s' does not validate: %s", r->title,
                trail_event_error(ev));
        trail_event_free(ev);
        return;
    }
    D->alerts[D->n_alerts++] = ev;
}

/* Write the held alerts; 0 when they are durable (or there were none). */
static int flush_alerts(void)
{
    int r = 0;
    if (D->n_alerts) {
        struct ingest *ig = traild.ingest;
        r = ig ? ingest_write(ig, D->alerts, D->n_alerts, IN_INTERNAL) : TRAIL_E_CLOSED;
        if (r < 0)
            log_msg(LOG_ERR, "detect: cannot store %zu alerts: %s", D->n_alerts, trail_strerror(r));
        else
            log_msg(LOG_INFO, "detect: %zu alerts stored", D->n_alerts);
    }
    for (size_t i = 0; i < D->n_alerts; i++)
        trail_event_free(D->alerts[i]);
    D->n_alerts = 0;
    return r;
}

static int save_cursor(void)
{
    struct trail_sink_cursor c = {
        .seq = D->cursor, .delivered = D->evaluated, .time_us = trail_now()};
    snprintf(c.type, sizeof c.type, "detect");
    memcpy(c.store, D->store_hex, sizeof c.store);
    int r = trail_sink_cursor_write(D->cursor_path, &c);
    if (r < 0)
        log_msg(LOG_ERR, "detect: cannot save %s: %s", D->cursor_path, trail_strerror(r));
    return r;
}

static int skipped(const struct trail_event *ev)
{
    return trail_event_is_own(ev) && strcmp(trail_event_id(ev), "trail_alert") == 0;
}

/*
 * A fresh engine, its windows rebuilt from the records of the longest
 * timespan before the cursor's record (their alerts held back).
 */
static int rebuild(struct trail_store_iter *it, struct trail_event *ev)
{
    detect_engine_free(D->engine);
    D->engine = NULL;
    int r = detect_engine_new(D->rs, &D->engine);
    if (r < 0)
        return r;
    D->max_span_us = max_span(D->rs);
    D->replay_upto = D->cursor;
    if (D->cursor == 0 || D->max_span_us == 0)
        return 0;
    trail_store_iter_seek_seq(it, D->cursor);
    if (trail_store_iter_next(it, ev) != 1)
        return 0;
    int64_t from = trail_event_time(ev) - D->max_span_us;
    if ((r = trail_store_iter_seek_time(it, from)) < 0)
        return r;
    uint64_t n = 0;
    while ((r = trail_store_iter_next(it, ev)) == 1 && trail_event_seq(ev) <= D->cursor) {
        if (!skipped(ev) && (r = detect_engine_feed(D->engine, ev, on_alert, NULL)) < 0)
            return r;
        n++;
    }
    log_msg(LOG_INFO, "detect: windows rebuilt from %" PRIu64 " records before seq %" PRIu64, n,
            D->cursor + 1);
    if (r < 0)
        return r;
    /* the alerts already stored after the cursor */
    free(D->stored);
    D->stored = NULL;
    D->n_stored = 0;
    size_t cap = 0;
    trail_store_iter_seek_seq(it, D->cursor + 1);
    uint64_t durable = trail_store_durable_seq(D->store);
    while ((r = trail_store_iter_next(it, ev)) == 1 && trail_event_seq(ev) <= durable) {
        uint8_t u[16];
        if (!skipped(ev) || trail_event_uuid(ev, u) < 0)
            continue;
        if (D->n_stored == cap) {
            cap = cap ? cap * 2 : 16;
            uint8_t(*v)[16] = realloc(D->stored, cap * sizeof *v);
            if (!v)
                return -ENOMEM;
            D->stored = v;
        }
        memcpy(D->stored[D->n_stored++], u, 16);
    }
    if (D->n_stored)
        log_msg(LOG_INFO, "detect: %zu alerts after seq %" PRIu64 " were stored already",
                D->n_stored, D->cursor);
    return r < 0 ? r : 0;
}

static int nap(int ms)
{
    for (int slept = 0; slept < ms; slept += 10) {
        if (atomic_load(&D->stop))
            return 1;
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    return atomic_load(&D->stop);
}

static void *run(void *arg)
{
    (void)arg;
    struct trail_store_iter *it = NULL;
    struct trail_event *ev = NULL;
    int need_rebuild = 1, pending = 0;
    if (trail_event_new(traild_config()->cat, "x", &ev) < 0 ||
        trail_store_iter_new(D->store, TRAIL_ITER_FORWARD, &it) < 0) {
        log_msg(LOG_ERR, "detect: cannot start: out of memory");
        goto out;
    }
    while (!atomic_load(&D->stop)) {
        if (atomic_exchange(&D->reload, 0)) {
            const char *dir = traild_config()->detect_rules;
            char err[512] = "";
            struct detect_rules *rs = dir ? load_rules(dir, err, sizeof err) : NULL;
            if (!rs) {
                log_msg(LOG_ERR, "detect: the rules in force stay: %s",
                        dir ? err : "[detect] rules is gone (that takes a restart)");
            } else {
                detect_engine_free(D->engine);
                D->engine = NULL;
                detect_rules_free(D->rs);
                D->rs = rs;
                need_rebuild = 1;
                log_msg(LOG_INFO, "detect: %zu rules loaded from %s", rs->n_rules, dir);
            }
        }
        if (need_rebuild) {
            int r = rebuild(it, ev);
            if (r < 0) {
                log_msg(LOG_ERR, "detect: cannot rebuild the windows: %s", trail_strerror(r));
                if (nap(1000))
                    break;
                continue;
            }
            need_rebuild = 0;
            pending = 0;
            trail_store_iter_seek_seq(it, D->cursor + 1);
        }
        uint64_t durable = trail_store_durable_seq(D->store), last = D->cursor;
        int n = 0, failed = 0;
        while (n < BATCH && D->n_alerts < MAX_ALERTS / 2) {
            if (!pending) {
                int r = trail_store_iter_next(it, ev);
                if (r == 0)
                    break;
                if (r < 0) {
                    /* damage: the sinks report it; detection waits and reads again */
                    log_msg(LOG_ERR, "detect: reading the store after seq %" PRIu64 ": %s", last,
                            trail_strerror(r));
                    failed = 1;
                    break;
                }
                pending = 1;
            }
            if (trail_event_seq(ev) > durable)
                break;
            pending = 0;
            if (trail_event_seq(ev) <= last)
                continue;
            last = trail_event_seq(ev);
            n++;
            if (!skipped(ev) && detect_engine_feed(D->engine, ev, on_alert, NULL) < 0) {
                failed = 1;
                break;
            }
        }
        if (!failed && last > D->cursor) {
            if (flush_alerts() < 0) {
                failed = 1;
            } else {
                D->evaluated += (uint64_t)n;
                D->cursor = last;
                save_cursor();
                continue;
            }
        }
        if (failed) {
            /* evaluate again from the saved cursor: the same alerts, the same uuids */
            for (size_t i = 0; i < D->n_alerts; i++)
                trail_event_free(D->alerts[i]);
            D->n_alerts = 0;
            need_rebuild = 1;
            if (nap(1000))
                break;
            continue;
        }
        nap(50);
    }
out:
    trail_store_iter_free(it);
    trail_event_free(ev);
    return NULL;
}

int detect_start(const struct config *cfg, struct trail_store *store, const char *dir, char *err,
                 size_t errlen)
{
    if (!cfg->detect_rules)
        return 0;
    D = calloc(1, sizeof *D);
    size_t n = strlen(dir) + sizeof "/detect.cursor";
    if (!D || !(D->cursor_path = malloc(n))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    snprintf(D->cursor_path, n, "%s/detect.cursor", dir);
    D->store = store;
    uint8_t id[16];
    trail_store_id(store, id);
    for (int i = 0; i < 16; i++)
        snprintf(D->store_hex + 2 * i, 3, "%02x", id[i]);
    if (!(D->rs = load_rules(cfg->detect_rules, err, errlen)))
        goto fail;
    struct trail_sink_cursor c;
    int r = trail_sink_cursor_read(D->cursor_path, &c);
    if (r == 0 && strcmp(c.store, D->store_hex) == 0) {
        D->cursor = c.seq;
        D->evaluated = c.delivered;
    } else if (r == 0 || r != -ENOENT) {
        log_msg(LOG_WARN, "detect: %s is not this store's cursor (%s): starting at the end",
                D->cursor_path, r ? trail_strerror(r) : "another store");
        D->cursor = trail_store_durable_seq(store);
    } else {
        /* a new detector evaluates what comes from now on; `trail rules test` reads history */
        D->cursor = trail_store_durable_seq(store);
    }
    log_msg(LOG_INFO, "detect: %zu rules from %s, from seq %" PRIu64, D->rs->n_rules,
            cfg->detect_rules, D->cursor + 1);
    if ((r = pthread_create(&D->thread, NULL, run, NULL)) != 0) {
        snprintf(err, errlen, "cannot start the detection thread: %s", strerror(r));
        goto fail;
    }
    return 0;
fail:
    if (D) {
        detect_rules_free(D->rs);
        free(D->cursor_path);
        free(D);
        D = NULL;
    }
    return -EINVAL;
}

void detect_reload(void)
{
    if (D)
        atomic_store(&D->reload, 1);
}

void detect_stop(void)
{
    if (!D)
        return;
    atomic_store(&D->stop, 1);
    pthread_join(D->thread, NULL);
    for (size_t i = 0; i < D->n_alerts; i++)
        trail_event_free(D->alerts[i]);
    detect_engine_free(D->engine);
    detect_rules_free(D->rs);
    free(D->stored);
    free(D->cursor_path);
    free(D);
    D = NULL;
}
