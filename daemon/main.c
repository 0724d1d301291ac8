/*
 * main.c - traild: read the config, open the store, start the inputs, and
 * run the lifecycle: start-up, SIGHUP reloads, SIGTERM/SIGINT shutdown,
 * each step written to the store as one of trail's own records
 * (lib/event/own_events.c), marked as trail's so that no input can imitate them.
 *
 *   trail_run_starting     the store is open, inputs not yet started
 *   trail_run_started      every input listens
 *   trail_run_startfailed  an input could not start (also on stderr,
 *                          which is all there is when the store
 *                          cannot be opened)
 *   trail_config_reloaded / _reloadfailed   after SIGHUP
 *   trail_run_stopped      inputs stopped and drained, before close
 *
 * Not here: the inputs (input_*.c), the queue to the store (ingest.c).
 */
#include "core/config.h"
#include "core/ingest.h"
#include "core/damage.h"
#include "detect/detect_run.h"
#include "reports/reports.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/notify.h"
#include "sinks/sink.h"
#include "core/traild.h"
#include "inputs/input.h"
#include "http/witness_http.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define EXIT_CONFIG      2
#define DRAIN_GIVE_UP_MS 10000

static const struct input_ops *const inputs[] = {
    &input_http_ops, &input_syslog_ops, &input_tcp_ops, &input_unix_ops, &input_file_ops,
};
#define N_INPUTS (sizeof(inputs) / sizeof(inputs[0]))

static void *input_state[N_INPUTS];
static int input_started[N_INPUTS];

/* Configs replaced by a reload: kept until exit, since events in flight point at their catalog. */
static struct config *retired[256];
static size_t n_retired;

/*
 * The config traild started with (kept until exit, in retired[] once
 * replaced): the store, listeners, TLS files and follows it names are what
 * runs whatever the reloads since, so a reload compares with it.
 */
static const struct config *started;

static void usage(FILE *f)
{
    fprintf(f, "usage: traild [-c FILE] [-t] [-v] [-h] [-V] [--sink-options-markdown]\n"
               "\n"
               "Receive audit events (HTTP, syslog, CEF over TCP, a Unix socket, followed\n"
               "files), validate them against the catalog and store them durably.\n"
               "\n"
               "  -c FILE  the configuration (see trail.conf.example); without it the\n"
               "           built-in defaults: store /var/lib/trail/store, HTTP on\n"
               "           127.0.0.1:8080, syslog UDP and TCP on 127.0.0.1:5514\n"
               "  -t       check the configuration and exit (0 good, 2 bad)\n"
               "  -v       log more (debug)\n"
               "  -V       print the version\n"
               "  --sink-options-markdown\n"
               "           print docs/sinks.md's tables of the [sink NAME] keys, made\n"
               "           from the tables traild parses them with, and exit\n"
               "\n"
               "Signals: SIGHUP reloads the configuration; SIGTERM and SIGINT stop.\n"
               "See traild(8) and docs/traild.md.\n");
}

/* ---- traild's own events ---- */

static struct trail_event *own_event(const struct config *cfg, const char *id)
{
    struct trail_event *ev = NULL;
    if (trail_event_new(cfg->cat, id, &ev) < 0)
        return NULL;
    trail_event_mark_own(ev);
    trail_event_set_host(ev, cfg->host, strlen(cfg->host));
    trail_event_set_time(ev, trail_now());
    return ev;
}

static void set_attr(struct trail_event *ev, const char *key, const char *value)
{
    if (!ev || !value || !*value)
        return;
    /* traild's texts are short; a path in one may not be: cut at a character boundary */
    size_t n = strlen(value);
    if (n > 1000) {
        n = 1000;
        while (n > 0 && ((unsigned char)value[n] & 0xC0) == 0x80)
            n--;
    }
    if (trail_event_set_string(ev, key, value, n) < 0)
        log_msg(LOG_WARN, "%s: attribute %s: %s", trail_event_id(ev), key, trail_event_error(ev));
}

static void print_event(FILE *f, const struct trail_event *ev)
{
    struct trail_buf out = {0};
    if (trail_event_to_json(ev, &out) == 0)
        fprintf(f, "%s\n", out.data);
    trail_buf_free(&out);
}

/*
 * Write one of traild's own events and wait until it is durable: through
 * ingest while it runs, else straight to the store from this thread.
 */
static int write_own(struct trail_event *ev)
{
    if (!ev)
        return -ENOMEM;
    int r = trail_event_validate(ev);
    if (r < 0) {
        log_msg(LOG_ERR, "%s does not validate: %s", trail_event_id(ev), trail_event_error(ev));
    } else if (traild.ingest) {
        r = ingest_write(traild.ingest, &ev, 1, IN_INTERNAL);
    } else if (traild.store) {
        uint64_t seq;
        r = trail_store_append(traild.store, &ev, 1, &seq);
        if (r == 0)
            r = trail_store_wait(traild.store, seq);
        if (r == 0)
            atomic_fetch_add(&metrics.events_in[IN_INTERNAL], 1);
    } else {
        r = TRAIL_E_CLOSED;
    }
    if (r < 0)
        log_msg(LOG_ERR, "cannot store %s: %s", trail_event_id(ev), trail_strerror(r));
    else
        log_msg(LOG_DEBUG, "%s stored as seq %llu", trail_event_id(ev),
                (unsigned long long)trail_event_seq(ev));
    trail_event_free(ev);
    return r;
}

/* Start-up failed: the event goes to the store when it is open, and to stderr always. */
static void start_failed(const struct config *cfg, const char *reason)
{
    log_msg(LOG_ERR, "trail_run_startfailed: %s", reason);
    notify_status(reason);
    if (!cfg)
        return;
    struct trail_event *ev = own_event(cfg, "trail_run_startfailed");
    set_attr(ev, "reason", reason);
    set_attr(ev, "msg", "traild failed to start");
    set_attr(ev, "version", TRAIL_VERSION_STRING);
    if (ev)
        print_event(stderr, ev);
    if (traild.store || traild.ingest)
        write_own(ev);
    else
        trail_event_free(ev);
}

/* ---- checkpoints ---- */

/* Keep the store's latest signed checkpoint at hand for GET /v1/checkpoint. */
static void note_checkpoint(struct trail_store *store)
{
    struct trail_checkpoint cp;
    if (trail_store_checkpoint_latest(store, &cp) < 0)
        return;
    pthread_mutex_lock(&traild.cp_lock);
    traild.checkpoint = cp;
    traild.have_checkpoint = 1;
    pthread_mutex_unlock(&traild.cp_lock);
    log_msg(LOG_DEBUG, "checkpoint signed at tree size %llu", (unsigned long long)cp.tree_size);
}

/*
 * The store's checkpoint hook: the store has just signed its durable state
 * and appended it to DIR/checkpoints (when it has a key).
 */
static int on_checkpoint(void *arg, struct trail_store *store,
                         const struct trail_store_state *state)
{
    (void)arg, (void)state;
    note_checkpoint(store);
    return 0;
}

/*
 * The store checkpoints when records become durable; an idle daemon signs
 * its last state here too, every checkpoint_interval_s, once.
 */
static void checkpoint_idle(void)
{
    struct trail_checkpoint cp;
    int have;
    pthread_mutex_lock(&traild.cp_lock);
    have = traild.have_checkpoint;
    cp = traild.checkpoint;
    pthread_mutex_unlock(&traild.cp_lock);
    if (have && cp.tree_size == trail_store_durable_seq(traild.store))
        return;
    int r = trail_store_checkpoint_now(traild.store, &cp);
    if (r == 0)
        note_checkpoint(traild.store);
    else if (r != TRAIL_E_NOT_FOUND)
        log_msg(LOG_ERR, "cannot write a checkpoint: %s", trail_strerror(r));
}

/* ---- inputs ---- */

static int start_inputs(const struct config *cfg, char *err, size_t errlen)
{
    for (size_t i = 0; i < N_INPUTS; i++) {
        if (!inputs[i]->enabled(cfg))
            continue;
        char e[512] = "";
        int r = inputs[i]->start(cfg, &input_state[i], e, sizeof(e));
        if (r < 0) {
            snprintf(err, errlen, "%s input: %s", inputs[i]->name, e[0] ? e : trail_strerror(r));
            return r;
        }
        input_started[i] = 1;
    }
    return 0;
}

static void stop_inputs(void)
{
    /* stop everything from taking new data first, then wait for each to drain */
    for (size_t i = N_INPUTS; i-- > 0;)
        if (input_started[i]) {
            inputs[i]->stop(input_state[i]);
        }
    for (size_t i = 0; i < N_INPUTS; i++)
        if (input_started[i]) {
            inputs[i]->free(input_state[i]);
            input_started[i] = 0;
        }
}

/* ---- reload ---- */

static void reload(void)
{
    struct config *cur = traild_config(), *next = NULL;
    char err[1024];
    log_msg(LOG_INFO, "SIGHUP: reloading %s", cur->path ? cur->path : "(no file: defaults)");
    int r = config_load(cur->path, &next, err, sizeof(err));
    if (r < 0) {
        atomic_fetch_add(&metrics.reloads_failed, 1);
        log_msg(LOG_ERR, "reload failed, the configuration in force stays: %s", err);
        struct trail_event *ev = own_event(cur, "trail_config_reloadfailed");
        set_attr(ev, "reason", err);
        set_attr(ev, "msg", "the configuration in force stays");
        write_own(ev);
        return;
    }
    if (n_retired == sizeof(retired) / sizeof(retired[0])) {
        atomic_fetch_add(&metrics.reloads_failed, 1);
        log_msg(LOG_ERR, "reload refused: too many reloads since start; restart traild");
        struct trail_event *ev = own_event(cur, "trail_config_reloadfailed");
        set_attr(ev, "reason", "too many reloads since start; restart traild");
        write_own(ev);
        config_free(next);
        return;
    }
    const char *restart = config_diff_restart(started, next);
    char msg[512];
    snprintf(msg, sizeof(msg),
             "configuration reloaded from %s: %zu custom events, policy %s, %zu tokens%s%s%s",
             next->path ? next->path : "(defaults)", next->n_events,
             next->policy == TRAIL_POLICY_STRICT    ? "strict"
             : next->policy == TRAIL_POLICY_LENIENT ? "lenient"
                                                    : "off",
             next->n_tokens, restart ? "; " : "", restart ? restart : "",
             restart ? " changed and takes effect at the next restart" : "");
    if (restart)
        log_msg(LOG_WARN, "%s changed: it takes effect at the next restart", restart);
    retired[n_retired++] = cur;
    atomic_store_explicit(&traild.cfg, next, memory_order_release);
    atomic_fetch_add(&metrics.reloads_ok, 1);
    log_msg(LOG_INFO, "%s", msg);
    struct trail_event *ev = own_event(next, "trail_config_reloaded");
    set_attr(ev, "msg", msg);
    write_own(ev);
}

/* ---- retention ---- */

static void apply_retention(const struct config *cfg)
{
    if (!cfg->retention_days && !cfg->retention_bytes)
        return;
    int64_t older =
        cfg->retention_days ? trail_now() - (int64_t)cfg->retention_days * 86400 * 1000000 : 0;
    struct trail_store_purge_report rep;
    int r = trail_store_purge(traild.store, older, cfg->retention_bytes, &rep);
    if (r < 0)
        log_msg(LOG_ERR, "retention: purge failed: %s", trail_strerror(r));
    else if (rep.segments)
        log_msg(LOG_INFO, "retention: purged seq %llu..%llu (%llu segments, %llu bytes)",
                (unsigned long long)rep.from_seq, (unsigned long long)rep.to_seq,
                (unsigned long long)rep.segments, (unsigned long long)rep.bytes);
}

/* One trail_store_damaged record for a damaged run (damage.c says when). */
static int write_damage_record(const struct config *cfg, const struct trail_store_damage *d)
{
    struct trail_event *ev = own_event(cfg, "trail_store_damaged");
    char msg[600];
    snprintf(msg, sizeof(msg), "%s: records %llu..%llu %s (%s)", d->file,
             (unsigned long long)d->first_seq, (unsigned long long)d->last_seq,
             d->quarantined ? "were quarantined by trail repair" : "cannot be read", d->reason);
    set_attr(ev, "file", d->file);
    set_attr(ev, "reason", d->reason);
    set_attr(ev, "msg", msg);
    if (ev && (trail_event_set_int(ev, "from_seq", (int64_t)d->first_seq) < 0 ||
               trail_event_set_int(ev, "to_seq", (int64_t)d->last_seq) < 0 ||
               trail_event_set_int(ev, "quarantined", d->quarantined) < 0))
        log_msg(LOG_WARN, "trail_store_damaged: %s", trail_event_error(ev));
    return write_own(ev);
}

/* ---- main ---- */

/* the highest seq the store's files claimed when an accepted truncation opened it, else 0 */
static uint64_t opened_claimed;

static int open_store(const struct config *cfg, char *err, size_t errlen)
{
    struct trail_store_opts opts = {
        .create = 1,
        .fsync_policy = cfg->fsync == FSYNC_ALWAYS ? TRAIL_FSYNC_ALWAYS : TRAIL_FSYNC_INTERVAL,
        .fsync_interval_ms = cfg->fsync_interval_ms,
        .dedup_window_us = (int64_t)cfg->dedup_window_s * 1000000,
        .dedup_max = cfg->dedup_max ? (int64_t)cfg->dedup_max : -1,
        /* a damaged sealed segment is reported and searched around, not a reason to stay
           down (docs/store.md, "Damage") */
        .allow_damaged = 1,
        .seal_threads = (int)cfg->seal_threads, /* 0: per CPU (trail_store_opts) */
        .seal_backlog_max = cfg->seal_backlog_max ? (int)cfg->seal_backlog_max : -1,
    };
    /* the store signs checkpoints with [store] signing_key, or else STORE/checkpoint.key */
    char keypath[4200];
    const char *key = config_signing_key(cfg, keypath, sizeof(keypath));
    if (key) {
        int r = trail_key_load_private(key, &traild.signing_key);
        if (r < 0) {
            snprintf(err, errlen, "cannot load the signing key %.900s: %s", key, trail_strerror(r));
            return r;
        }
        opts.checkpoint_key = traild.signing_key;
    }
    opts.origin = cfg->origin; /* chosen when the store is made (docs/integrity.md) */
    opts.accept_truncation = cfg->accept_truncation;
    opts.accept_truncation_to = cfg->accept_truncation_to;
    opts.checkpoint = on_checkpoint;
    opts.checkpoint_every_ms =
        cfg->checkpoint_interval_s ? cfg->checkpoint_interval_s * 1000 : 60000;
    struct trail_store_report rep;
    memset(&rep, 0, sizeof(rep));
    int r = trail_store_open(cfg->store_path, cfg->cat, &opts, &traild.store, &rep);
    if (r < 0) {
        size_t n = strlen(rep.message);
        while (n && rep.message[n - 1] == '\n')
            rep.message[--n] = '\0';
        snprintf(err, errlen, "cannot open the store %s: %s%s%s", cfg->store_path,
                 trail_strerror(r), n ? ": " : "", rep.message);
        return r;
    }
    if (rep.message[0]) {
        char *line = strtok(rep.message, "\n");
        while (line) {
            log_msg(LOG_WARN, "store recovery: %s", line);
            line = strtok(NULL, "\n");
        }
    }
    log_msg(LOG_INFO, "store %s open: %llu records in %llu segments, last seq %llu",
            cfg->store_path, (unsigned long long)rep.records, (unsigned long long)rep.segments,
            (unsigned long long)rep.last_seq);
    traild.opened_last_seq = rep.last_seq;
    traild.accept_truncation = cfg->accept_truncation && cfg->accept_truncation_to == rep.last_seq;
    if (cfg->accept_truncation && !traild.accept_truncation)
        log_msg(LOG_WARN,
                "[store] accept_truncation = %llu: the store's last seq is %llu and holds what it "
                "claims; nothing accepted (remove the setting)",
                (unsigned long long)cfg->accept_truncation_to, (unsigned long long)rep.last_seq);
    opened_claimed = rep.truncation_accepted ? rep.claimed_seq : 0;
    return 0;
}

/*
 * Every connection is a file descriptor, and each listener may hold
 * [limits] max_connections (1024 by default) of them: the usual soft limit
 * of 1024 would run out first, and then accept() fails for everyone. So the
 * soft limit goes up to the hard one, which the operator controls.
 */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == rl.rlim_max)
        return;
    rlim_t before = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        log_msg(LOG_WARN, "cannot raise the open files limit from %llu: %s",
                (unsigned long long)before, strerror(errno));
}

/*
 * The operator's acceptance of a shorter store (the store's own claims, or
 * sink cursors past its end), kept as trail's own record: who accepted
 * what, and how much was lost.
 */
static void note_truncation(const struct config *cfg)
{
    if (!opened_claimed && !traild.sinks_reset[0])
        return;
    uint64_t last = traild.opened_last_seq;
    char msg[1024], by[600];
    snprintf(msg, sizeof(msg),
             "the store holds records up to seq %llu, %llu fewer than it claimed; accepted%s%s",
             (unsigned long long)last,
             (unsigned long long)(opened_claimed > last ? opened_claimed - last : 0),
             traild.sinks_reset[0] ? "; sink cursors reset to its end: " : "", traild.sinks_reset);
    snprintf(by, sizeof(by), "%s: [store] accept_truncation = %llu (traild uid %ld)",
             cfg->path ? cfg->path : "(built-in configuration)",
             (unsigned long long)cfg->accept_truncation_to, (long)getuid());
    log_msg(LOG_WARN, "%s (%s)", msg, by);
    struct trail_event *ev = own_event(cfg, "trail_store_truncation_accepted");
    set_attr(ev, "msg", msg);
    set_attr(ev, "accepted_by", by);
    set_attr(ev, "sinks_reset", traild.sinks_reset);
    if (ev) {
        trail_event_set_int(ev, "last_seq", (int64_t)last);
        trail_event_set_int(ev, "claimed_seq", (int64_t)(opened_claimed ? opened_claimed : last));
        trail_event_set_int(ev, "missing",
                            (int64_t)(opened_claimed > last ? opened_claimed - last : 0));
    }
    write_own(ev);
}

/*
 * A file the store held was removed or replaced (the store found it and
 * acknowledges nothing more): say so once, loudly, as an EMERGENCY record
 * in a fresh file beside the store. Not in the store: the store is what
 * can no longer be trusted, and its chain continues only from files that
 * are gone. One JSON line (the record's JSON form, as `trail query
 * --format json` prints it), made with O_EXCL and synced; also on stderr.
 */
static void check_tampered(const struct config *cfg)
{
    static int reported;
    char reason[1024], path[4200], msg[1400];
    uint64_t seq = 0;
    if (reported || !traild.store ||
        !trail_store_tampered(traild.store, reason, sizeof(reason), &seq))
        return;
    reported = 1;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char stamp[32];
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    snprintf(path, sizeof(path), "%s/EMERGENCY-%s-%ld.ndjson", cfg->store_path, stamp,
             (long)getpid());
    snprintf(msg, sizeof(msg),
             "traild stopped acknowledging events: %s; the last acknowledged seq is %llu", reason,
             (unsigned long long)seq);
    struct trail_event *ev = own_event(cfg, "trail_store_tampered");
    set_attr(ev, "msg", msg);
    set_attr(ev, "reason", reason);
    set_attr(ev, "store", cfg->store_path);
    set_attr(ev, "file", path);
    if (ev)
        trail_event_set_int(ev, "durable_seq", (int64_t)seq);
    struct trail_buf out = {0};
    int r = ev ? trail_event_validate(ev) : -ENOMEM;
    if (r == 0)
        r = trail_event_to_json(ev, &out);
    if (r == 0 && trail_buf_append(&out, "\n", 1) < 0)
        r = -ENOMEM;
    int fd = r == 0 ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640) : -1;
    if (fd >= 0) {
        if (write(fd, out.data, out.len) != (ssize_t)out.len || fsync(fd) < 0)
            r = -errno;
        close(fd);
        int dfd = open(cfg->store_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    } else if (r == 0) {
        r = -errno;
    }
    log_msg(LOG_ERR, "EMERGENCY trail_store_tampered: %s", msg);
    if (r == 0)
        log_msg(LOG_ERR, "EMERGENCY record written to %s", path);
    else
        log_msg(LOG_ERR, "cannot write the EMERGENCY record to %s: %s", path, trail_strerror(r));
    if (ev)
        print_event(stderr, ev);
    trail_buf_free(&out);
    trail_event_free(ev);
}

int main(int argc, char **argv)
{
    const char *conf_path = NULL;
    int check_only = 0, c;
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"test", no_argument, NULL, 't'},
        {"verbose", no_argument, NULL, 'v'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {"sink-options-markdown", no_argument, NULL, 'M'},
        {NULL, 0, NULL, 0},
    };
    while ((c = getopt_long(argc, argv, "c:tvVh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            conf_path = optarg;
            break;
        case 't':
            check_only = 1;
            break;
        case 'v':
            log_set_level(LOG_DEBUG);
            break;
        case 'V':
            printf("traild %s\n", TRAIL_VERSION_STRING);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        case 'M': {
            struct trail_buf md = {0};
            int r = sink_options_markdown(NULL, &md);
            if (r == 0)
                fwrite(md.data, 1, md.len, stdout);
            trail_buf_free(&md);
            return r == 0 && fflush(stdout) == 0 ? 0 : 1;
        }
        default:
            usage(stderr);
            return EXIT_CONFIG;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return EXIT_CONFIG;
    }

    /* the parts above the config and the metrics hand them their calls */
    config_set_sink_ops(&sink_config_ops);
    metrics_add_source(sinks_metrics);
    metrics_add_source(detect_metrics);
    traild.rules_json = detect_rules_json;

    char err[1024];
    struct config *cfg = NULL;
    /* -t and a start take the same two steps: one refuses what the other would */
    if (config_load(conf_path, &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "traild: %s\n", err);
        return EXIT_CONFIG;
    }
    if (config_preflight(cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "traild: %s\n", err);
        config_free(cfg);
        return EXIT_CONFIG;
    }
    if (check_only && detect_check(cfg, stderr, err, sizeof(err)) < 0) {
        fprintf(stderr, "traild: %s\n", err);
        config_free(cfg);
        return EXIT_CONFIG;
    }
    if (check_only) {
        printf("traild: %s is valid\n", conf_path ? conf_path : "the built-in configuration");
        config_free(cfg);
        return 0;
    }
    atomic_store(&traild.cfg, cfg);
    started = cfg;
    metrics.started_us = trail_now();

    /* signals are taken by sigtimedwait below; every thread inherits the mask */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();

    int status = 1;
    if (open_store(cfg, err, sizeof(err)) < 0) {
        start_failed(cfg, err);
        goto out;
    }
    int r = ingest_start(traild.store, cfg->queue_events, &traild.ingest);
    if (r < 0) {
        snprintf(err, sizeof(err), "cannot start the ingest thread: %s", trail_strerror(r));
        start_failed(cfg, err);
        goto out;
    }
    struct trail_event *ev = own_event(cfg, "trail_run_starting");
    set_attr(ev, "msg", "traild is starting");
    set_attr(ev, "version", TRAIL_VERSION_STRING);
    if ((r = write_own(ev)) < 0) {
        snprintf(err, sizeof(err), "cannot write to the store: %s", trail_strerror(r));
        start_failed(cfg, err);
        goto out;
    }
    if (sinks_start(cfg->sinks, cfg->n_sinks, traild.store, cfg->store_path, err, sizeof(err)) <
        0) {
        start_failed(cfg, err);
        goto out;
    }
    if (detect_start(cfg, traild.store, cfg->store_path, err, sizeof(err)) < 0) {
        start_failed(cfg, err);
        goto out;
    }
    if (reports_start(cfg, cfg->store_path, err, sizeof(err)) < 0) {
        start_failed(cfg, err);
        goto out;
    }
    if (witness_start(cfg, err, sizeof(err)) < 0) {
        start_failed(cfg, err);
        goto out;
    }
    note_truncation(cfg);
    if (start_inputs(cfg, err, sizeof(err)) < 0) {
        start_failed(cfg, err);
        stop_inputs();
        goto out;
    }
    ev = own_event(cfg, "trail_run_started");
    char msg[1024];
    snprintf(msg, sizeof(msg), "traild %s: http %s, syslog udp %s tcp %s tls %s, cef %s, unix %s",
             TRAIL_VERSION_STRING, cfg->http ? cfg->http : "off",
             cfg->syslog_udp ? cfg->syslog_udp : "off", cfg->syslog_tcp ? cfg->syslog_tcp : "off",
             cfg->syslog_tls ? cfg->syslog_tls : "off", cfg->cef_tcp ? cfg->cef_tcp : "off",
             cfg->unix_path ? cfg->unix_path : "off");
    set_attr(ev, "msg", msg);
    set_attr(ev, "version", TRAIL_VERSION_STRING);
    write_own(ev);
    log_msg(LOG_INFO, "started: %s; store %s", msg, cfg->store_path);
    notify_ready(msg);

    damage_start();
    damage_poll(cfg, write_damage_record);

    const char *why = "signal";
    int64_t next_retention = trail_now() + 5 * 1000000;
    int64_t next_checkpoint = trail_now() + (int64_t)cfg->checkpoint_interval_s * 1000000;
    const struct timespec tick = notify_init((struct timespec){1, 0});
    for (;;) {
        int sig = sigtimedwait(&sigs, NULL, &tick);
        if (sig == SIGHUP) {
            size_t before = n_retired; /* a reload that took the file retires the old config */
            notify_reloading();
            reload();
            detect_reload();
            reports_reload(traild_config());
            notify_ready(n_retired > before ? "configuration reloaded"
                                            : "reload failed: the configuration in force stays");
        } else if (sig == SIGTERM || sig == SIGINT) {
            why = sig == SIGTERM ? "SIGTERM" : "SIGINT";
            break;
        }
        notify_watchdog();
        check_tampered(cfg);
        if (trail_now() >= next_retention) {
            apply_retention(traild_config());
            next_retention = trail_now() + 60 * 1000000LL;
        }
        damage_poll(traild_config(), write_damage_record);
        if (traild.signing_key && cfg->checkpoint_interval_s && trail_now() >= next_checkpoint) {
            checkpoint_idle();
            next_checkpoint = trail_now() + (int64_t)cfg->checkpoint_interval_s * 1000000;
        }
    }

    log_msg(LOG_INFO, "%s: stopping inputs and draining", why);
    notify_stopping("stopping: draining what was accepted");
    atomic_store(&traild.stopping, 1);
    detect_stop();  /* it writes through ingest, which drains next */
    reports_stop(); /* so does the scheduler */
    stop_inputs();
    witness_stop(); /* after the HTTP server: no request is in it */
    uint64_t lost = ingest_drain(traild.ingest, DRAIN_GIVE_UP_MS);
    ingest_free(traild.ingest);
    traild.ingest = NULL;
    ev = own_event(traild_config(), "trail_run_stopped");
    snprintf(msg, sizeof(msg), "stopped on %s", why);
    set_attr(ev, "reason", msg);
    if (lost) {
        snprintf(msg, sizeof(msg), "%llu events accepted from streams could not be stored",
                 (unsigned long long)lost);
        set_attr(ev, "msg", msg);
        log_msg(LOG_ERR, "%s", msg);
    }
    r = write_own(ev);
    status = r < 0 || lost ? 1 : 0;

out:
    damage_stop();
    detect_stop();
    reports_stop();
    sinks_stop();
    if (traild.ingest) {
        ingest_drain(traild.ingest, DRAIN_GIVE_UP_MS);
        ingest_free(traild.ingest);
        traild.ingest = NULL;
    }
    if (traild.store) {
        r = trail_store_close(traild.store);
        traild.store = NULL;
        if (r < 0) {
            log_msg(LOG_ERR, "closing the store: %s", trail_strerror(r));
            status = 1;
        } else if (status == 0) {
            log_msg(LOG_INFO, "store closed; stopped");
        }
    }
    trail_key_free(traild.signing_key);
    decoded_pool_free();
    for (size_t i = 0; i < n_retired; i++)
        config_free(retired[i]);
    config_free(traild_config());
    return status;
}
