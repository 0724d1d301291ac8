/*
 * sink.c - the sink runner: one thread per sink reading the store from its
 * durable cursor, filters, witness checkpoints, retry with exponential
 * backoff, the cursor and error files, the sinks' metrics.
 *
 * Not here: the [sink NAME] configuration (sink_conf.c), the plug-ins
 * (sink_*.c), the rest of the config (core/config.c), the network
 * (lib/client).
 */
#include "core/json_out.h"
#include "sinks/sink.h"

#include "core/log.h"
#include "core/traild.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int sink_encode_line(const struct sink_conf *conf, const struct sink_item *item,
                     struct trail_buf *out)
{
    if (item->checkpoint) {
        if (conf->format == SINK_FMT_JSON) {
            /* the text form has no character that needs escaping in JSON */
            if (trail_buf_append(out, "{\"checkpoint\":\"", 15) < 0 ||
                trail_buf_append(out, item->checkpoint, item->checkpoint_len) < 0 ||
                trail_buf_append(out, "\"}", 2) < 0)
                return -ENOMEM;
            return 0;
        }
        return trail_buf_append(out, item->checkpoint, item->checkpoint_len);
    }
    if (conf->format == SINK_FMT_JSON)
        return trail_event_to_mapped(item->ev, conf->mapping, out);
    return trail_event_to_cef(item->ev, &conf->cef, out);
}

/* ------------------------------------------------------------------------ */
/* The runner                                                               */
/* ------------------------------------------------------------------------ */

struct sink {
    const struct sink_conf *conf;
    struct trail_store *store;
    char *cursor_path, *error_path, *dir;
    pthread_t thread;
    int started;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    atomic_int stop;

    uint64_t cursor;    /* the last seq delivered or filtered out */
    uint64_t witnessed; /* tree size of the last checkpoint delivered */
    uint64_t delivered_total;

    /* for metrics, read from other threads */
    atomic_uint_fast64_t m_cursor, m_delivered, m_errors, m_filtered, m_skipped, m_checkpoints;
    atomic_int m_up;
    atomic_int m_blocked; /* 1 while the sink waits at damaged records (at_damage) */
    char last_error[512]; /* under lock */
};

static struct sink *all_sinks;
static size_t n_all_sinks;
static uint8_t store_id[16];

static void hex16(const uint8_t id[16], char out[33])
{
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", id[i]);
}

static char store_origin[33];
static char store_name[TRAIL_ORIGIN_MAX + 1];

const char *sink_store_origin(void)
{
    return store_origin;
}

const char *sink_store_name(void)
{
    return store_name;
}

static int save_cursor(struct sink *s)
{
    struct trail_sink_cursor c = {.seq = s->cursor,
                                  .witnessed = s->witnessed,
                                  .delivered = s->delivered_total,
                                  .time_us = trail_now()};
    snprintf(c.type, sizeof(c.type), "%s", s->conf->ops->name);
    hex16(store_id, c.store);
    return trail_sink_cursor_write(s->cursor_path, &c);
}

/* Read the cursor file: 1 when there is one for this store, 0 when none, < 0 when unreadable. */
static int load_cursor(struct sink *s)
{
    struct trail_sink_cursor c;
    char id[33];
    int r = trail_sink_cursor_read(s->cursor_path, &c);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    hex16(store_id, id);
    if (strcmp(c.store, id) != 0) {
        log_msg(LOG_WARN, "sink %s: %s belongs to store %s, not this one (%s): starting afresh",
                s->conf->name, s->cursor_path, c.store, id);
        return 0;
    }
    s->cursor = c.seq;
    s->witnessed = c.witnessed;
    s->delivered_total = c.delivered;
    return 1;
}

static void record_error(struct sink *s, const char *what, const char *detail)
{
    char text[700], line[600];
    snprintf(line, sizeof(line), "%s%s%s", what, detail && *detail ? ": " : "",
             detail ? detail : "");
    for (char *p = line; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    pthread_mutex_lock(&s->lock);
    snprintf(s->last_error, sizeof(s->last_error), "%.511s", line);
    pthread_mutex_unlock(&s->lock);
    atomic_fetch_add(&s->m_errors, 1);
    log_msg(LOG_WARN, "sink %s: %s", s->conf->name, line);
    snprintf(text, sizeof(text), "time %" PRId64 "\nerror %s\n", trail_now(), line);
    trail_file_replace(s->error_path, text, strlen(text), 0640);
}

/* Sleep ms, or less when the sink is told to stop. Returns 1 when stopping. */
static int nap(struct sink *s, uint32_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->lock);
    while (!atomic_load(&s->stop))
        if (pthread_cond_timedwait(&s->wake, &s->lock, &ts) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&s->lock);
    return atomic_load(&s->stop);
}

static int passes(const struct sink_conf *c, const struct trail_event *ev)
{
    if (c->min_severity && trail_event_severity(ev) < c->min_severity)
        return 0;
    if (!c->n_events)
        return 1;
    const char *id = trail_event_id(ev);
    for (size_t i = 0; i < c->n_events; i++)
        if (fnmatch(c->events[i], id, 0) == 0)
            return 1;
    return 0;
}

/* The latest signed checkpoint when it is new to this sink and covers only delivered events. */
static int next_checkpoint(struct sink *s, uint64_t upto, struct trail_checkpoint *ret_cp)
{
    int have = 0;
    pthread_mutex_lock(&traild.cp_lock);
    if (traild.have_checkpoint && traild.checkpoint.tree_size > s->witnessed &&
        traild.checkpoint.tree_size <= upto) {
        *ret_cp = traild.checkpoint;
        have = 1;
    }
    pthread_mutex_unlock(&traild.cp_lock);
    return have;
}

static uint32_t backoff_next(const struct sink_conf *c, uint32_t cur)
{
    uint64_t n = (uint64_t)cur * 2;
    return n > c->retry_max_ms ? c->retry_max_ms : (uint32_t)n;
}

/* A wait of about ms, +-20% so that sinks failing together do not retry together. */
static uint32_t jitter(uint32_t ms)
{
    uint32_t r;
    if (ms < 10)
        return ms;
    r = (uint32_t)rand();
    return ms - ms / 5 + r % (2 * (ms / 5) + 1);
}

/*
 * The sink's next record (cursor + 1) lies in a damaged run of the store. It
 * goes on past it only when an operator says so: `trail sinks skip NAME --to
 * SEQ` writes STORE/sinks/NAME.skip ("trail-sink-skip/1", "to SEQ"), applied
 * here when SEQ reaches into the run (a stale one, behind the cursor, is
 * removed). Returns 1 when the cursor moved, 0 when the sink keeps waiting.
 */
static int at_damage(struct sink *s, const struct trail_store_damage *d)
{
    char path[4200], line[128];
    snprintf(path, sizeof(path), "%s/%s.skip", s->dir, s->conf->name);
    FILE *f = fopen(path, "re");
    uint64_t to = 0;
    int magic = 0;
    while (f && fgets(line, sizeof(line), f)) {
        if (!strcmp(line, "trail-sink-skip/1\n"))
            magic = 1;
        else
            sscanf(line, "to %" SCNu64, &to);
    }
    if (f)
        fclose(f);
    uint64_t durable = trail_store_durable_seq(s->store);
    if (f && magic && to > s->cursor && to >= d->first_seq && to <= durable) {
        char msg[600];
        uint64_t from = s->cursor + 1;
        snprintf(msg, sizeof(msg),
                 "sink %s: skipped seqs %" PRIu64 "..%" PRIu64 " as an operator asked "
                 "(%s %s: %s); they were not delivered",
                 s->conf->name, from, to, d->file, d->quarantined ? "quarantined" : "damaged",
                 d->reason);
        log_msg(LOG_WARN, "%s", msg);
        struct trail_event *ev = NULL;
        const struct config *cfg = traild_config();
        if (trail_event_new(cfg->cat, "trail_sink_skipped", &ev) == 0) {
            trail_event_mark_own(ev);
            trail_event_set_host(ev, cfg->host, strlen(cfg->host));
            trail_event_set_time(ev, trail_now());
            trail_event_set_string(ev, "sink", s->conf->name, (size_t)-1);
            trail_event_set_int(ev, "from_seq", (int64_t)from);
            trail_event_set_int(ev, "to_seq", (int64_t)to);
            trail_event_set_string(ev, "reason", d->reason, (size_t)-1);
            trail_event_set_string(ev, "msg", msg, (size_t)-1);
            own_record_submit(ev);
        }
        s->cursor = to;
        atomic_fetch_add(&s->m_skipped, to - from + 1);
        int r = save_cursor(s);
        if (r < 0)
            record_error(s, "cannot save the cursor", trail_strerror(r));
        atomic_store(&s->m_cursor, s->cursor);
        unlink(path);
        atomic_store(&s->m_blocked, 0);
        return 1;
    }
    if (f && to <= s->cursor)
        unlink(path); /* behind the cursor: it can never apply */
    char why[600];
    snprintf(why, sizeof(why),
             "seqs %" PRIu64 "..%" PRIu64 " cannot be read (%s %s: %s); the sink waits there. "
             "To go on without them: trail sinks skip %s --to %" PRIu64 " --store DIR",
             d->first_seq, d->last_seq, d->file, d->quarantined ? "quarantined" : "damaged",
             d->reason, s->conf->name, d->last_seq);
    atomic_store(&s->m_blocked, 1);
    record_error(s, "store damaged", why);
    return 0;
}

static void *run(void *arg)
{
    struct sink *s = arg;
    const struct sink_conf *c = s->conf;
    const struct sink_ops *ops = c->ops;
    struct trail_event *ev = NULL;
    struct trail_store_iter *it = NULL;
    void *state = NULL;
    int need_seek = 1, pending = 0;
    uint32_t backoff = c->retry_min_ms;
    char err[512];
    struct trail_buf cp_text = {0};

    if (trail_event_new(traild_config()->cat, "x", &ev) < 0 ||
        trail_store_iter_new(s->store, TRAIL_ITER_FORWARD, &it) < 0) {
        record_error(s, "cannot start", "out of memory");
        goto out;
    }
    while (!atomic_load(&s->stop)) {
        if (!state) {
            err[0] = '\0';
            int r = ops->open(c, &state, err, sizeof(err));
            if (r < 0) {
                state = NULL;
                record_error(s, "cannot open", err[0] ? err : trail_strerror(r));
                if (nap(s, jitter(backoff)))
                    break;
                backoff = backoff_next(c, backoff);
                continue;
            }
            atomic_store(&s->m_up, 1);
            need_seek = 1;
        }
        if (need_seek) {
            trail_store_iter_seek_seq(it, s->cursor + 1);
            need_seek = 0;
            pending = 0;
        }
        uint64_t durable = trail_store_durable_seq(s->store);
        if (s->cursor > durable) {
            /* never "caught up": every event up to the cursor would be skipped */
            char what[200];
            snprintf(what, sizeof(what),
                     "the cursor is at seq %" PRIu64 ", past the store's end (seq %" PRIu64
                     "); nothing is delivered",
                     s->cursor, durable);
            record_error(s, "cursor past the end", what);
            if (nap(s, 1000))
                break;
            continue;
        }
        uint64_t last = s->cursor;
        uint32_t n = 0, filtered = 0;
        int failed = 0;
        err[0] = '\0';
        while (n < c->batch_events) {
            if (!pending) {
                int r = trail_store_iter_next(it, ev);
                struct trail_store_damage d;
                if (r == 0 && last + 1 <= durable && trail_store_damage_at(s->store, last + 1, &d))
                    r = TRAIL_E_CORRUPT; /* a quarantined run: no record there at all */
                if (r == 0)
                    break;
                if (r < 0 && trail_store_damage_at(s->store, last + 1, &d)) {
                    /* damaged records next: deliver what came before them first */
                    if (n || filtered || last != s->cursor)
                        break;
                    /* then an error until an operator says to skip them */
                    if (at_damage(s, &d)) {
                        need_seek = 1;
                        break;
                    }
                    uint32_t ms = c->retry_max_ms < 5000 ? c->retry_max_ms : 5000;
                    if (nap(s, ms))
                        goto out;
                    need_seek = 1;
                    break;
                }
                if (r < 0) {
                    snprintf(err, sizeof(err), "reading the store after seq %" PRIu64 ": %s", last,
                             trail_strerror(r));
                    failed = 1;
                    break;
                }
                pending = 1;
            }
            uint64_t seq = trail_event_seq(ev);
            if (seq > durable)
                break; /* not durable yet: it stays pending */
            pending = 0;
            if (seq <= last)
                continue;
            if (seq != last + 1) {
                /* retention purged records before this sink delivered them */
                atomic_fetch_add(&s->m_skipped, seq - last - 1);
                log_msg(LOG_ERR,
                        "sink %s: seq %" PRIu64 "..%" PRIu64
                        " were purged before delivery (retention ran while the sink lagged)",
                        c->name, last + 1, seq - 1);
            }
            last = seq;
            if (!passes(c, ev)) {
                filtered++;
                continue;
            }
            uint8_t u[16];
            if (trail_event_uuid(ev, u) < 0) {
                trail_store_uuid(s->store, seq, u);
                trail_event_set_uuid(ev, u);
            }
            struct sink_item item = {.ev = ev, .seq = seq};
            int r = ops->write(state, &item, err, sizeof(err));
            if (r < 0) {
                if (!err[0])
                    snprintf(err, sizeof(err), "%s", trail_strerror(r));
                failed = 1;
                break;
            }
            n++;
        }
        struct trail_checkpoint cp;
        int have_cp = 0;
        if (!failed && c->witness && next_checkpoint(s, last, &cp)) {
            trail_buf_reset(&cp_text);
            if (trail_checkpoint_format(&cp, &cp_text) == 0) {
                struct sink_item item = {.checkpoint = cp_text.data,
                                         .checkpoint_len = cp_text.len,
                                         .cp = &cp,
                                         .seq = cp.tree_size,
                                         .store = s->store,
                                         .sinks_dir = s->dir};
                int r = ops->write(state, &item, err, sizeof(err));
                if (r < 0) {
                    if (!err[0])
                        snprintf(err, sizeof(err), "%s", trail_strerror(r));
                    failed = 1;
                } else {
                    have_cp = 1;
                }
            }
        }
        if (!failed && (n || have_cp)) {
            int r = ops->flush(state, err, sizeof(err));
            if (r < 0) {
                if (!err[0])
                    snprintf(err, sizeof(err), "%s", trail_strerror(r));
                failed = 1;
            }
        }
        if (failed) {
            record_error(s, "delivery failed", err);
            ops->close(state);
            state = NULL;
            atomic_store(&s->m_up, 0);
            need_seek = 1;
            if (nap(s, jitter(backoff)))
                break;
            backoff = backoff_next(c, backoff);
            continue;
        }
        backoff = c->retry_min_ms;
        if (last > s->cursor || have_cp) {
            s->cursor = last;
            s->delivered_total += n;
            if (have_cp) {
                s->witnessed = cp.tree_size;
                atomic_fetch_add(&s->m_checkpoints, 1);
            }
            int r = save_cursor(s);
            if (r < 0)
                record_error(s, "cannot save the cursor", trail_strerror(r));
            atomic_store(&s->m_cursor, s->cursor);
            atomic_fetch_add(&s->m_delivered, n);
            atomic_fetch_add(&s->m_filtered, filtered);
            continue; /* there may be more right away */
        }
        nap(s, 50);
    }
out:
    if (state)
        ops->close(state);
    atomic_store(&s->m_up, 0);
    trail_store_iter_free(it);
    trail_event_free(ev);
    trail_buf_free(&cp_text);
    return NULL;
}

int sinks_cosignatures(const char *note, size_t len, struct trail_buf *out)
{
    char path[4300], buf[16384];
    for (size_t i = 0; i < n_all_sinks; i++) {
        struct sink *s = &all_sinks[i];
        if (s->conf->ops != &sink_tlog_witness_ops)
            continue;
        snprintf(path, sizeof(path), "%s/%s.cosigned", s->dir, s->conf->name);
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        size_t n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        /* the same checkpoint, byte for byte, then its cosignature lines */
        if (n > len && n < sizeof(buf) && memcmp(buf, note, len) == 0 && buf[n - 1] == '\n' &&
            trail_buf_append(out, buf + len, n - len) < 0)
            return -ENOMEM;
    }
    return 0;
}

static char *path_join(const char *a, const char *b, const char *c)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s%s%s", a, b, c);
    return p;
}

int sinks_start(const struct sink_conf *conf, size_t n, struct trail_store *store,
                const char *store_dir, char *err, size_t errlen)
{
    if (!n)
        return 0;
    char *dir = path_join(store_dir, "/sinks", "");
    if (!dir)
        return -ENOMEM;
    if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
        int e = -errno;
        snprintf(err, errlen, "cannot make %s: %s", dir, strerror(errno));
        free(dir);
        return e;
    }
    all_sinks = calloc(n, sizeof(*all_sinks));
    if (!all_sinks) {
        free(dir);
        return -ENOMEM;
    }
    n_all_sinks = n;
    trail_store_id(store, store_id);
    hex16(store_id, store_origin);
    if (trail_store_origin(store, store_name) < 0)
        memcpy(store_name, store_origin, sizeof(store_origin));
    srand((unsigned)trail_now());
    uint64_t durable = trail_store_durable_seq(store);
    int r = 0;
    for (size_t i = 0; i < n; i++) {
        struct sink *s = &all_sinks[i];
        s->conf = &conf[i];
        s->store = store;
        pthread_mutex_init(&s->lock, NULL);
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&s->wake, &ca);
        pthread_condattr_destroy(&ca);
        s->dir = strdup(dir);
        s->cursor_path = path_join(dir, "/", conf[i].name);
        char *cp = s->cursor_path ? path_join(s->cursor_path, ".cursor", "") : NULL;
        s->error_path = s->cursor_path ? path_join(s->cursor_path, ".error", "") : NULL;
        free(s->cursor_path);
        s->cursor_path = cp;
        if (!s->dir || !s->cursor_path || !s->error_path) {
            r = -ENOMEM;
            break;
        }
        int have = load_cursor(s);
        if (have < 0) {
            snprintf(err, errlen, "sink %s: cannot read %s: %s", conf[i].name, s->cursor_path,
                     trail_strerror(have));
            r = have;
            break;
        }
        if (!have) {
            uint64_t first = trail_store_first_seq(store);
            s->cursor = conf[i].start_at_end ? durable : (first ? first - 1 : 0);
            if ((r = save_cursor(s)) < 0) {
                snprintf(err, errlen, "sink %s: cannot write %s: %s", conf[i].name, s->cursor_path,
                         trail_strerror(r));
                break;
            }
        }
        if (s->cursor > traild.opened_last_seq) {
            /* the store lost records this sink delivered: going on would skip every new
               event up to the cursor, silently */
            if (!traild.accept_truncation) {
                snprintf(err, errlen,
                         "sink %s: its cursor (%s) is at seq %" PRIu64 ", %" PRIu64
                         " past the store's last seq %" PRIu64
                         ": the store lost records the sink delivered. To go on, accept the loss "
                         "with [store] accept_truncation = %" PRIu64,
                         conf[i].name, s->cursor_path, s->cursor,
                         s->cursor - traild.opened_last_seq, traild.opened_last_seq,
                         traild.opened_last_seq);
                r = TRAIL_E_SHORTER;
                break;
            }
            size_t used = strlen(traild.sinks_reset);
            snprintf(traild.sinks_reset + used, sizeof(traild.sinks_reset) - used,
                     "%s%s from %" PRIu64, used ? ", " : "", conf[i].name, s->cursor);
            log_msg(LOG_WARN,
                    "sink %s: cursor %" PRIu64 " reset to the store's last seq %" PRIu64
                    " ([store] accept_truncation)",
                    conf[i].name, s->cursor, traild.opened_last_seq);
            s->cursor = traild.opened_last_seq;
            if ((r = save_cursor(s)) < 0) {
                snprintf(err, errlen, "sink %s: cannot write %s: %s", conf[i].name, s->cursor_path,
                         trail_strerror(r));
                break;
            }
        }
        atomic_store(&s->m_cursor, s->cursor);
        log_msg(LOG_INFO, "sink %s (%s): from seq %" PRIu64 " (store at %" PRIu64 ")", conf[i].name,
                conf[i].ops->name, s->cursor + 1, durable);
        if ((r = -pthread_create(&s->thread, NULL, run, s)) < 0) {
            snprintf(err, errlen, "sink %s: cannot start its thread: %s", conf[i].name,
                     strerror(-r));
            break;
        }
        s->started = 1;
    }
    free(dir);
    if (r < 0)
        sinks_stop();
    return r;
}

void sinks_stop(void)
{
    for (size_t i = 0; i < n_all_sinks; i++) {
        struct sink *s = &all_sinks[i];
        pthread_mutex_lock(&s->lock);
        atomic_store(&s->stop, 1);
        pthread_cond_broadcast(&s->wake);
        pthread_mutex_unlock(&s->lock);
    }
    for (size_t i = 0; i < n_all_sinks; i++) {
        struct sink *s = &all_sinks[i];
        if (s->started)
            pthread_join(s->thread, NULL);
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->wake);
        free(s->dir);
        free(s->cursor_path);
        free(s->error_path);
    }
    free(all_sinks);
    all_sinks = NULL;
    n_all_sinks = 0;
}

int sinks_metrics(struct trail_buf *out)
{
    int r = 0;
    if (!n_all_sinks)
        return 0;
    static const struct {
        const char *name, *type, *help;
    } m[] = {
        {"trail_sink_lag_events", "gauge",
         "Durable events not yet delivered (or filtered out) by the sink; NaN while its cursor "
         "lies past the store's end."},
        {"trail_sink_cursor_past_end_events", "gauge",
         "How far the sink's cursor lies past the store's end (an error: the store lost "
         "records the sink delivered); 0 normally."},
        {"trail_sink_cursor_seq", "gauge", "The last seq the sink delivered or filtered out."},
        {"trail_sink_up", "gauge", "1 while the sink's peer is reachable, 0 while it retries."},
        {"trail_sink_delivered_total", "counter", "Events delivered since traild started."},
        {"trail_sink_filtered_total", "counter", "Events the sink's filters left out."},
        {"trail_sink_errors_total", "counter", "Failed opens and deliveries (each retried)."},
        {"trail_sink_purged_undelivered_total", "counter",
         "Events retention removed before the sink delivered them."},
        {"trail_sink_checkpoints_total", "counter", "Signed checkpoints delivered (witness)."},
        {"trail_sink_blocked_by_damage", "gauge",
         "1 while the sink waits at records the store cannot read (trail sinks skip)."},
    };
    for (size_t k = 0; k < sizeof(m) / sizeof(m[0]); k++) {
        r |= json_printf(out, "# HELP %s %s\n# TYPE %s %s\n", m[k].name, m[k].help, m[k].name,
                         m[k].type);
        for (size_t i = 0; i < n_all_sinks; i++) {
            struct sink *s = &all_sinks[i];
            /* the cursor first: durable only grows, so a cursor read before it is never
               past it unless the store lost records */
            uint64_t cur = atomic_load(&s->m_cursor), v;
            uint64_t durable = traild.store ? trail_store_durable_seq(traild.store) : 0;
            switch (k) {
            case 0:
                if (cur > durable) {
                    r |= json_printf(out, "%s{sink=\"%s\",type=\"%s\"} NaN\n", m[k].name,
                                     s->conf->name, s->conf->ops->name);
                    continue;
                }
                v = durable - cur;
                break;
            case 1:
                v = cur > durable ? cur - durable : 0;
                break;
            case 2:
                v = cur;
                break;
            case 3:
                v = (uint64_t)atomic_load(&s->m_up);
                break;
            case 4:
                v = atomic_load(&s->m_delivered);
                break;
            case 5:
                v = atomic_load(&s->m_filtered);
                break;
            case 6:
                v = atomic_load(&s->m_errors);
                break;
            case 7:
                v = atomic_load(&s->m_skipped);
                break;
            case 8:
                v = atomic_load(&s->m_checkpoints);
                break;
            default:
                v = (uint64_t)atomic_load(&s->m_blocked);
                break;
            }
            r |= json_printf(out, "%s{sink=\"%s\",type=\"%s\"} %" PRIu64 "\n", m[k].name,
                             s->conf->name, s->conf->ops->name, v);
        }
    }
    return r ? -ENOMEM : 0;
}
