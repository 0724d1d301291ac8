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
 * Most records meet no rule: of each, only its head (id, origin, severity
 * and time: trail_store_iter_next_head) is read and shown to the engine
 * before it is decoded; only those that some rule may select, or whose time
 * ends a grace, are decoded and fed (detect_engine_feed_stored, which `trail
 * rules test --store` calls too). That is the same evaluation as feeding
 * every record (lib/detect's tests and tests/integration/rules_backtest.sh
 * hold the two to it) at a fraction of the cost.
 *
 * Not here: the rules (lib/detect/), the config key (config.c).
 */
#include "detect_run.h"

#include "detect/detect.h" /* lib/detect/ */
#include "core/ingest.h"
#include "core/json_out.h"
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
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define BATCH 1024 /* records evaluated, and their alerts made durable, at a time */
/* while records keep coming the cursor is saved at most this often (a save is a file
   replaced and two fsyncs: once per batch, they made detection lag seconds behind a
   fast ingest), and always once caught up. Safe: a restart evaluates again from the
   cursor and does not store twice the alerts it finds stored after it (rebuild). */
#define SAVE_MS    250
#define MAX_ALERTS 4096 /* alerts held for one batch; past it the batch is written early */
/* the thread's nice value above traild's: ingest first (docs/detection.md, "Cost") */
#define NICER 10

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
    const char *alert_keys[MAX_ALERTS]; /* the rule of each (rs's strings) */
    size_t n_alerts;
    /* the uuids of the alerts stored after the cursor (a crash came before it was saved):
       these firings are not written again */
    uint8_t (*stored)[16];
    size_t n_stored;
};

static struct detector *D;

/*
 * What /metrics and GET /v1/rules read from other threads, under info_lock:
 * the rules in force as JSON (built when they are loaded), and the alerts
 * stored per rule since traild started (kept across reloads, by rule key).
 */
#define MAX_PROBLEMS   100   /* problems of the rules kept for GET /v1/rules */
#define MAX_SOURCE     65536 /* bytes of a rule file shown by GET /v1/rules */
#define MAX_RULE_STATS 4096

struct rule_stat {
    char *key; /* the rule's id, else name, else title */
    uint64_t alerts;
    int64_t last_us;
};

static pthread_mutex_t info_lock = PTHREAD_MUTEX_INITIALIZER;
static struct trail_buf info_rules; /* "dir":...,"rules":[...],... without the braces */
static struct rule_stat *stats;
static size_t n_stats;
static atomic_uint_fast64_t m_evaluated, m_decoded, m_cursor, m_loaded, m_not_applicable, m_errors,
    m_alerts_dropped;
static atomic_int m_running;

/* the diagnostics of one load: logged (or printed by traild -t), kept for GET /v1/rules */
struct problems {
    FILE *print; /* traild -t: standard error; NULL: the log */
    struct trail_buf json;
    size_t n;
    int errors, warnings;
};

static void on_diag(void *ctx, const struct detect_diag *d)
{
    struct problems *p = ctx;
    char line[900];
    snprintf(line, sizeof line, "%s:%u:%u: %s: %s", d->file, d->line, d->column,
             d->warning ? "warning" : "error", d->msg);
    if (p->print)
        fprintf(p->print, "traild: detect: %s\n", line);
    else
        log_msg(d->warning ? LOG_WARN : LOG_ERR, "detect: %s", line);
    if (d->warning)
        p->warnings++;
    else
        p->errors++;
    if (p->n++ < MAX_PROBLEMS) {
        json_printf(&p->json, "%s", p->n > 1 ? "," : "");
        json_str(&p->json, line, (size_t)-1);
    }
}

static const char *rule_key(const struct detect_rule *r)
{
    return r->id ? r->id : r->name ? r->name : r->title;
}

static int strings_json(struct trail_buf *b, char **v, size_t n)
{
    int r = json_printf(b, "[");
    for (size_t i = 0; i < n; i++) {
        r |= json_printf(b, "%s", i ? "," : "");
        r |= json_str(b, v[i], (size_t)-1);
    }
    return r | json_printf(b, "]");
}

static int opt_str(struct trail_buf *b, const char *name, const char *v)
{
    if (!v)
        return 0;
    return json_printf(b, ",\"%s\":", name) | json_str(b, v, (size_t)-1);
}

/* The rules of rs, their files' text and the load's problems, as GET /v1/rules shows them. */
static void publish(const char *dir, const struct detect_rules *rs, char **files, size_t n_files,
                    const struct problems *p)
{
    struct trail_buf b = {0};
    int r = json_printf(&b, "\"dir\":") | json_str(&b, dir, (size_t)-1);
    char ts[32];
    trail_time_format(trail_now(), ts);
    r |= json_printf(&b, ",\"loaded\":\"%s\",\"errors\":%d,\"warnings\":%d,\"problems\":[%.*s]", ts,
                     p->errors, p->warnings, (int)p->json.len, p->json.data ? p->json.data : "");
    r |= json_printf(&b, ",\"rules\":[");
    size_t na = 0;
    for (size_t i = 0; i < rs->n_rules; i++) {
        const struct detect_rule *x = rs->rules[i];
        na += !x->applicable;
        r |= json_printf(&b, "%s{\"key\":", i ? "," : "");
        r |= json_str(&b, rule_key(x), (size_t)-1);
        r |= json_printf(&b, ",\"title\":") | json_str(&b, x->title, (size_t)-1);
        r |= opt_str(&b, "id", x->id) | opt_str(&b, "name", x->name) |
             opt_str(&b, "status", x->status) | opt_str(&b, "description", x->description);
        r |= json_printf(&b, ",\"level\":\"%s\",\"severity\":%d,\"type\":\"%s\"",
                         x->level ? detect_level_name(x->level) : "medium",
                         detect_level_severity(x->level),
                         x->corr ? detect_corr_type_name(x->corr) : "detection");
        r |= json_printf(&b, ",\"file\":") | json_str(&b, x->file, (size_t)-1);
        r |=
            json_printf(&b,
                        ",\"line\":%u,\"applicable\":%s,\"alerts_on_its_own\":%s,"
                        "\"timespan_s\":%" PRId64 ",\"grace_s\":%" PRId64,
                        x->line, x->applicable ? "true" : "false", x->referenced ? "false" : "true",
                        x->timespan_us / 1000000, x->grace_us / 1000000);
        r |= json_printf(&b, ",\"tags\":") | strings_json(&b, x->tags, x->n_tags);
        if (x->corr) {
            r |= json_printf(&b, ",\"rules\":") | strings_json(&b, x->corr_rules, x->n_corr_rules);
            r |= json_printf(&b, ",\"group_by\":") | strings_json(&b, x->group_by, x->n_group_by);
        }
        r |= json_printf(&b, "}");
    }
    r |= json_printf(&b, "],\"not_applicable\":%zu,\"files\":[", na);
    for (size_t i = 0; i < n_files; i++) {
        struct trail_buf text = {0};
        FILE *f = fopen(files[i], "r");
        char chunk[4096];
        size_t got;
        while (f && text.len < MAX_SOURCE && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
            r |= trail_buf_append(&text, chunk, got);
        if (f)
            fclose(f);
        r |= json_printf(&b, "%s{\"path\":", i ? "," : "");
        r |= json_str(&b, files[i], (size_t)-1);
        r |= json_printf(&b, ",\"text\":");
        r |=
            json_str(&b, text.data ? text.data : "", text.len < MAX_SOURCE ? text.len : MAX_SOURCE);
        r |= json_printf(&b, "}");
        trail_buf_free(&text);
    }
    r |= json_printf(&b, "]");
    if (r) {
        trail_buf_free(&b);
        return; /* out of memory: GET /v1/rules shows the rules before */
    }
    pthread_mutex_lock(&info_lock);
    trail_buf_free(&info_rules);
    info_rules = b;
    pthread_mutex_unlock(&info_lock);
    atomic_store(&m_loaded, rs->n_rules - na);
    atomic_store(&m_not_applicable, na);
    atomic_store(&m_errors, (uint64_t)p->errors);
}

/* Count the alerts of one stored batch, per rule. */
static void count_alerts(const char *const *keys, size_t n)
{
    pthread_mutex_lock(&info_lock);
    int64_t now = trail_now();
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < n_stats && strcmp(stats[k].key, keys[i]) != 0)
            k++;
        if (k == n_stats) {
            struct rule_stat *v =
                n_stats < MAX_RULE_STATS ? realloc(stats, (n_stats + 1) * sizeof *v) : NULL;
            char *key = v ? strdup(keys[i]) : NULL;
            if (v)
                stats = v;
            if (!key)
                continue;
            stats[n_stats++] = (struct rule_stat){.key = key};
        }
        stats[k].alerts++;
        stats[k].last_us = now;
    }
    pthread_mutex_unlock(&info_lock);
}

/*
 * The rules of dir, finished; NULL when the directory cannot be read (err).
 * print: traild -t prints the problems there instead of logging them, and
 * nothing is published. *ret_errors (may be NULL): the rules' errors.
 */
static struct detect_rules *load_rules(const struct trail_catalog *cat, const char *dir,
                                       FILE *print, int *ret_errors, char *err, size_t errlen)
{
    struct detect_rules *rs;
    struct problems p = {.print = print};
    char **files;
    size_t n;
    int r = detect_rule_files(dir, &files, &n);
    if (r < 0) {
        snprintf(err, errlen, "[detect] rules %s: %s", dir, strerror(-r));
        return NULL;
    }
    if (detect_rules_new(cat, &rs) < 0) {
        snprintf(err, errlen, "out of memory");
        rs = NULL;
    }
    for (size_t i = 0; rs && i < n; i++)
        detect_rules_add_file(rs, files[i], on_diag, &p);
    if (rs)
        detect_rules_finish(rs, on_diag, &p);
    if (rs && !print)
        publish(dir, rs, files, n, &p);
    for (size_t i = 0; i < n; i++)
        free(files[i]);
    free(files);
    trail_buf_free(&p.json);
    if (ret_errors)
        *ret_errors = p.errors;
    return rs;
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
static void alert_uuid(const struct detect_rule *r, uint64_t seq,
                       const struct detect_alert *summary, uint8_t u[16])
{
    uint8_t md[32];
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    const char *key = r->id ? r->id : r->name ? r->name : r->title;
    int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) &&
             EVP_DigestUpdate(c, "trail_alert", 12) && EVP_DigestUpdate(c, D->store_hex, 32) &&
             EVP_DigestUpdate(c, key, strlen(key) + 1) && EVP_DigestUpdate(c, &seq, sizeof seq);
    /* one event may close the graces of many groups of a rule: a summary's uuid has its group */
    if (ok && summary) {
        ok = EVP_DigestUpdate(c, "summary", 8);
        for (size_t i = 0; ok && i < summary->n_group; i++)
            ok =
                EVP_DigestUpdate(c, summary->group_values[i], strlen(summary->group_values[i]) + 1);
    }
    if (!ok || !EVP_DigestFinal_ex(c, md, NULL))
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
        atomic_fetch_add(&m_alerts_dropped, 1);
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
    alert_uuid(r, trail_event_seq(a->ev), a->summary ? a : NULL, u);
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
    /* the record is as severe as its rule says, so that severity filters (sinks, searches,
     * the viewer) tell a critical alert from an informational one */
    trail_event_set_severity(ev, detect_level_severity(r->level));
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
    if (a->grace_until_us)
        trail_event_set_time_attr(ev, "grace_until", a->grace_until_us);
    if (a->summary) {
        uint8_t first[16];
        char hex[37];
        alert_uuid(r, a->updates_seq, NULL, first);
        trail_uuid_format(first, hex);
        trail_event_set_string(ev, "updates", hex, strlen(hex));
        snprintf(text, sizeof text,
                 "%s rule '%.300s' fired %" PRIu64 " more times during its grace, held back "
                 "(the alert of seq %" PRIu64 " updated)",
                 level, r->title, a->count, a->updates_seq);
    } else {
        snprintf(text, sizeof text,
                 "%s rule '%.300s' fired at seq %" PRIu64 " (%" PRIu64 " events)", level, r->title,
                 trail_event_seq(a->ev), a->n_seqs);
    }
    trail_event_set_string(ev, "msg", text, strlen(text));
    if (trail_event_validate(ev) < 0) {
        log_msg(LOG_ERR, "detect: the alert of '%s' does not validate: %s", r->title,
                trail_event_error(ev));
        trail_event_free(ev);
        return;
    }
    D->alert_keys[D->n_alerts] = rule_key(r);
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
        else {
            log_msg(LOG_INFO, "detect: %zu alerts stored", D->n_alerts);
            count_alerts(D->alert_keys, D->n_alerts);
        }
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

/*
 * Evaluate the record whose head it has just returned: told to the engine by
 * its head, and decoded into ev and fed only when the engine says that it
 * must be (lib/detect/stored.c, the same call as `trail rules test --store`).
 * 1 when it was decoded, 0 when its head was enough, or the error of reading
 * it (TRAIL_E_CORRUPT) or of the engine (-ENOMEM).
 */
static int evaluate(struct trail_store_iter *it, const struct trail_record_head *h,
                    struct trail_event *ev)
{
    return detect_engine_feed_stored(D->engine, it, h, ev, true, on_alert, NULL);
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
    D->max_span_us = detect_rules_replay_us(D->rs);
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
    struct trail_record_head h;
    while ((r = trail_store_iter_next_head(it, &h)) == 1 && h.seq <= D->cursor) {
        if ((r = evaluate(it, &h, ev)) < 0)
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
    while ((r = trail_store_iter_next_head(it, &h)) == 1 && h.seq <= durable) {
        uint8_t u[16];
        /* only trail's alerts are decoded */
        if (!h.own || h.id_len != 11 || memcmp(h.id, "trail_alert", 11))
            continue;
        if ((r = trail_store_iter_decode(it, ev)) < 0)
            return r;
        if (trail_event_uuid(ev, u) < 0)
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

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *run(void *arg)
{
    (void)arg;
    /* named, so that its share of traild's CPU can be told (top -H, bench/compare_ingest.sh) */
    pthread_setname_np(pthread_self(), "traild-detect");
    /* Ingest first: where the CPU is short, the inputs' threads get it and the rules
       evaluate in the gaps, behind, and catch up when the burst is over (a store's
       records wait for them; nothing is missed). A nice value and not SCHED_IDLE, as the
       sealer has: a saturating ingest slows the rules down but cannot stop them. A nice
       value cannot be lowered again without privilege, so this is for the thread's life. */
    errno = 0;
    int nice_now = getpriority(PRIO_PROCESS, (id_t)gettid());
    if (errno == 0)
        setpriority(PRIO_PROCESS, (id_t)gettid(), nice_now + NICER > 19 ? 19 : nice_now + NICER);
    struct trail_store_iter *it = NULL;
    struct trail_event *ev = NULL;
    int need_rebuild = 1;
    int64_t saved_ms = 0;
    bool unsaved = false; /* D->cursor moved on since the last save */
    if (trail_event_new(traild_config()->cat, "x", &ev) < 0 ||
        trail_store_iter_new(D->store, TRAIL_ITER_FORWARD, &it) < 0) {
        log_msg(LOG_ERR, "detect: cannot start: out of memory");
        goto out;
    }
    while (!atomic_load(&D->stop)) {
        if (atomic_exchange(&D->reload, 0)) {
            const char *dir = traild_config()->detect_rules;
            char err[512] = "";
            struct detect_rules *rs =
                dir ? load_rules(traild_config()->cat, dir, NULL, NULL, err, sizeof err) : NULL;
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
            trail_store_iter_seek_seq(it, D->cursor + 1);
        }
        uint64_t durable = trail_store_durable_seq(D->store), last = D->cursor;
        int n = 0, n_decoded = 0, failed = 0;
        while (n < BATCH && D->n_alerts < MAX_ALERTS / 2) {
            struct trail_record_head h;
            int r = trail_store_iter_next_head(it, &h);
            if (r == 0)
                break;
            if (r == 1 && h.seq > durable) {
                trail_store_iter_seek_seq(it, h.seq); /* the next batch's first */
                break;
            }
            if (r == 1 && h.seq <= last)
                continue;
            if (r == 1 && (r = evaluate(it, &h, ev)) == -ENOMEM) {
                failed = 1;
                break;
            }
            if (r < 0) {
                /* damage: the sinks report it; detection waits and reads again */
                log_msg(LOG_ERR, "detect: reading the store after seq %" PRIu64 ": %s", last,
                        trail_strerror(r));
                failed = 1;
                break;
            }
            last = h.seq;
            n++;
            n_decoded += r;
        }
        if (!failed && last > D->cursor) {
            if (flush_alerts() < 0) {
                failed = 1;
            } else {
                D->evaluated += (uint64_t)n;
                D->cursor = last;
                atomic_fetch_add(&m_evaluated, (uint64_t)n);
                atomic_fetch_add(&m_decoded, (uint64_t)n_decoded);
                atomic_store(&m_cursor, last);
                /* a full batch: more records wait, and the cursor may wait for them */
                unsaved = true;
                if (n < BATCH || mono_ms() - saved_ms >= SAVE_MS) {
                    save_cursor();
                    saved_ms = mono_ms();
                    unsaved = false;
                }
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
    if (unsaved)
        save_cursor(); /* stopped in the middle of a backlog */
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
    if (!(D->rs = load_rules(cfg->cat, cfg->detect_rules, NULL, NULL, err, errlen)))
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
    atomic_store(&m_cursor, D->cursor);
    atomic_store(&m_running, 1);
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

int detect_check(const struct config *cfg, FILE *print, char *err, size_t errlen)
{
    if (!cfg->detect_rules)
        return 0;
    int errors = 0;
    struct detect_rules *rs = load_rules(cfg->cat, cfg->detect_rules, print, &errors, err, errlen);
    if (!rs)
        return -EINVAL;
    detect_rules_free(rs);
    if (errors) {
        snprintf(err, errlen,
                 "[detect] rules %s: %d error%s in the rules (a start would leave those rules "
                 "out)",
                 cfg->detect_rules, errors, errors == 1 ? "" : "s");
        return -EINVAL;
    }
    return 0;
}

/* a Prometheus label value: backslash, quote and newline escaped */
static int label(struct trail_buf *out, const char *s)
{
    int r = 0;
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            r |= json_printf(out, "\\%c", *s);
        else if (*s == '\n')
            r |= json_printf(out, "\\n");
        else
            r |= trail_buf_append(out, s, 1);
    }
    return r;
}

int detect_metrics(struct trail_buf *out)
{
    if (!atomic_load(&m_running))
        return 0;
    uint64_t cursor = atomic_load(&m_cursor);
    uint64_t durable = traild.store ? trail_store_durable_seq(traild.store) : 0;
    int r = json_printf(
        out,
        "# HELP trail_detect_rules Rules of [detect] in force by state (loaded: applicable; "
        "not_applicable: another logsource product), and rules left out for an error.\n"
        "# TYPE trail_detect_rules gauge\n"
        "trail_detect_rules{state=\"loaded\"} %" PRIu64 "\n"
        "trail_detect_rules{state=\"not_applicable\"} %" PRIu64 "\n"
        "trail_detect_rules{state=\"error\"} %" PRIu64 "\n"
        "# HELP trail_detect_events_evaluated_total Records the rules evaluated since traild "
        "started.\n"
        "# TYPE trail_detect_events_evaluated_total counter\n"
        "trail_detect_events_evaluated_total %" PRIu64 "\n"
        "# HELP trail_detect_events_decoded_total Records decoded for the rules since traild "
        "started: those that a rule may select by their id, origin and severity (the others are "
        "evaluated from the head of the record alone).\n"
        "# TYPE trail_detect_events_decoded_total counter\n"
        "trail_detect_events_decoded_total %" PRIu64 "\n"
        "# HELP trail_detect_cursor_seq The last seq the rules evaluated.\n"
        "# TYPE trail_detect_cursor_seq gauge\ntrail_detect_cursor_seq %" PRIu64 "\n"
        "# HELP trail_detect_lag_events Durable records the rules have not evaluated yet.\n"
        "# TYPE trail_detect_lag_events gauge\ntrail_detect_lag_events %" PRIu64 "\n"
        "# HELP trail_detect_alerts_dropped_total Alerts dropped: more than one batch holds.\n"
        "# TYPE trail_detect_alerts_dropped_total counter\n"
        "trail_detect_alerts_dropped_total %" PRIu64 "\n"
        "# HELP trail_detect_alerts_total Alerts stored (trail_alert records) since traild "
        "started, by rule (its id, else name, else title).\n"
        "# TYPE trail_detect_alerts_total counter\n",
        atomic_load(&m_loaded), atomic_load(&m_not_applicable), atomic_load(&m_errors),
        atomic_load(&m_evaluated), atomic_load(&m_decoded), cursor,
        durable > cursor ? durable - cursor : 0, atomic_load(&m_alerts_dropped));
    pthread_mutex_lock(&info_lock);
    for (size_t i = 0; i < n_stats; i++) {
        r |= json_printf(out, "trail_detect_alerts_total{rule=\"");
        r |= label(out, stats[i].key);
        r |= json_printf(out, "\"} %" PRIu64 "\n", stats[i].alerts);
    }
    pthread_mutex_unlock(&info_lock);
    return r ? -ENOMEM : 0;
}

int detect_rules_json(struct trail_buf *out)
{
    if (!atomic_load(&m_running))
        return json_printf(out, "{\"enabled\":false,\"rules\":[]}\n");
    uint64_t cursor = atomic_load(&m_cursor);
    uint64_t durable = traild.store ? trail_store_durable_seq(traild.store) : 0;
    pthread_mutex_lock(&info_lock);
    int r = json_printf(out,
                        "{\"enabled\":true,\"cursor\":%" PRIu64 ",\"lag\":%" PRIu64
                        ",\"evaluated\":%" PRIu64 ",%.*s,\"alerts\":{",
                        cursor, durable > cursor ? durable - cursor : 0, atomic_load(&m_evaluated),
                        (int)info_rules.len, info_rules.data ? info_rules.data : "\"rules\":[]");
    char ts[32];
    for (size_t i = 0; i < n_stats; i++) {
        r |= json_printf(out, "%s", i ? "," : "");
        r |= json_str(out, stats[i].key, (size_t)-1);
        trail_time_format(stats[i].last_us, ts);
        r |= json_printf(out, ":{\"count\":%" PRIu64 ",\"last\":\"%s\"}", stats[i].alerts, ts);
    }
    pthread_mutex_unlock(&info_lock);
    r |= json_printf(out, "}}\n");
    return r ? -ENOMEM : 0;
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
    atomic_store(&m_running, 0);
}
