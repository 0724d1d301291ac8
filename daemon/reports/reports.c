/*
 * reports.c - traild's reports: the set it serves, the API's changes to it
 * and the scheduler (docs/reports.md, "In traild").
 *
 * The set is rebuilt whole at start, at a reload and after each change: the
 * config's reports ([reports] dir, else the installed pack, and [report
 * NAME] sections) and then every STORE/reports/NAME.conf the API made. A
 * request takes the current set under the lock and uses it without: sets
 * replaced are kept until exit (changes are an administrator's, few), so
 * a report being run is never freed under it.
 *
 * Files in STORE/reports/ (written to NAME.tmp, fsynced, renamed, the
 * directory fsynced):
 *
 *   NAME.conf   a report made through the API: its [report NAME] section as
 *               it was sent
 *   NAME.state  the scheduler's state of a scheduled report: a first line
 *               with the instant (µs since the epoch) of the last run done
 *               or skipped, a second with the last run as the JSON object
 *               GET /v1/reports shows as "last_run"
 *
 * The scheduler wakes every second. A report's run is due when the latest
 * scheduled instant at or before now is later than the one in its state; a
 * report seen for the first time starts its state at now (nothing was
 * missed). So a run missed while traild was down is done once, at the next
 * start, for the latest instant missed, and marked made_up. A run renders
 * each of the report's formats for the scheduled instant (its periods read
 * against it, in its zone), delivers the files, records trail_report_run
 * and waits for it to be durable, then saves the state: a crash before
 * that runs it again at the next start.
 *
 * Not here: the routes (daemon/http/routes_reports.c), reports themselves
 * (lib/report).
 */
#include "reports/reports.h"

#include "core/json_out.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/traild.h"

#include <openssl/evp.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TICK_MS     1000
#define INDEX_CACHE (16u << 20) /* decompressed blocks kept for reports */

static const char *const fmt_ext[] = {"txt", "csv", "json", "html"};
static const char *const fmt_type[] = {"text/plain; charset=utf-8", "text/csv; charset=utf-8",
                                       "application/json", "text/html; charset=utf-8"};

static struct {
    int started;
    pthread_mutex_t lock; /* set, retired, cfg; changes are made one at a time under it */
    pthread_cond_t cv;
    int stop;
    pthread_t thread;
    const struct config *cfg; /* the config in force (reports_reload) */
    struct trail_reports *set;
    struct trail_reports **retired;
    size_t n_retired;
    struct trail_index *ix;
    char dir[4096]; /* STORE/reports */
    int64_t started_us;
} S = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* ---- files ---- */

static int write_atomic(const char *dir, const char *name, const char *data, size_t len)
{
    char tmp[4600], path[4600];
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640), r = 0;
    if (fd < 0)
        return -errno;
    for (size_t off = 0; off < len && r == 0;) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno != EINTR)
            r = -errno;
        else if (w > 0)
            off += (size_t)w;
    }
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    if (close(fd) < 0 && r == 0)
        r = -errno;
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0) {
        unlink(tmp);
        return r;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        if (fsync(dfd) < 0)
            r = -errno;
        close(dfd);
    }
    return r;
}

static int remove_durably(const char *dir, const char *name)
{
    char path[4600];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (unlink(path) < 0)
        return -errno;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;
    if (dfd >= 0) {
        if (fsync(dfd) < 0)
            r = -errno;
        close(dfd);
    }
    return r;
}

static void sha256_hex(const void *data, size_t len, char hex[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* ---- the set ---- */

static int made_by_api(const struct trail_report *r)
{
    struct trail_report_info in;
    trail_report_info(r, &in);
    size_t n = strlen(S.dir);
    return !strncmp(in.source, S.dir, n) && in.source[n] == '/';
}

static int conf_file(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return d->d_name[0] != '.' && n > 5 && !strcmp(d->d_name + n - 5, ".conf");
}

/* Does the file at path hold exactly one report, named name? 0, or TRAIL_E_PARSE with err. */
static int check_one(const struct config *cfg, const char *path, const char *name, char *err,
                     size_t errlen)
{
    struct trail_reports *t;
    int r = trail_reports_new(cfg->cat, &t);
    if (r < 0)
        return r;
    if ((r = trail_reports_load_file(t, path, err, errlen)) == 0 &&
        (r = trail_reports_check(t, err, errlen)) == 0) {
        if (trail_reports_count(t) != 1 || !trail_reports_find(t, name)) {
            snprintf(err, errlen, "the definition must hold one section, [report %s]", name);
            r = TRAIL_E_PARSE;
        }
    }
    trail_reports_free(t);
    return r;
}

/* A new set: cfg's reports, then those made through the API. */
static int build_set(const struct config *cfg, struct trail_reports **ret, char *err, size_t errlen)
{
    struct trail_reports *rs;
    struct dirent **names;
    int r = trail_reports_new(cfg->cat, &rs);
    if (r < 0)
        return r;
    if ((r = config_reports_load(cfg, rs, err, errlen)) < 0) {
        trail_reports_free(rs);
        return r;
    }
    int n = scandir(S.dir, &names, conf_file, alphasort);
    for (int i = 0; i < n; i++) {
        char path[4600], name[256], e[512];
        snprintf(path, sizeof(path), "%s/%s", S.dir, names[i]->d_name);
        snprintf(name, sizeof(name), "%.*s", (int)(strlen(names[i]->d_name) - 5), names[i]->d_name);
        free(names[i]);
        if (trail_reports_find(rs, name)) {
            log_msg(LOG_WARN, "reports: %s is not served: the configuration defines %s too", path,
                    name);
            continue;
        }
        if (check_one(cfg, path, name, e, sizeof(e)) < 0 ||
            trail_reports_load_file(rs, path, e, sizeof(e)) < 0) {
            log_msg(LOG_WARN, "reports: %s is not served: %s", path, e);
            continue;
        }
    }
    free(n > 0 ? names : NULL);
    *ret = rs;
    return 0;
}

/* Make next the set in force (the lock held); the one before is kept until exit. */
static int install(struct trail_reports *next)
{
    if (S.set) {
        struct trail_reports **g = realloc(S.retired, (S.n_retired + 1) * sizeof(*g));
        if (!g)
            return -ENOMEM;
        S.retired = g;
        g[S.n_retired++] = S.set;
    }
    S.set = next;
    return 0;
}

static struct trail_reports *current(void)
{
    pthread_mutex_lock(&S.lock);
    struct trail_reports *rs = S.set;
    pthread_mutex_unlock(&S.lock);
    return rs;
}

static struct trail_index *index_get(void)
{
    pthread_mutex_lock(&S.lock);
    if (!S.ix) {
        struct trail_index_opts o = {.cache_bytes = INDEX_CACHE};
        int r = trail_index_open(traild.store, &o, &S.ix);
        if (r < 0)
            log_msg(LOG_ERR, "reports: cannot open the index: %s", trail_strerror(r));
    }
    struct trail_index *ix = S.ix;
    pthread_mutex_unlock(&S.lock);
    return ix;
}

/* ---- the scheduler's state ---- */

/* The state of report name: 1 with *ret_due (and the last run's JSON in last, if not NULL), 0
 * when it has none. */
static int state_read(const char *name, int64_t *ret_due, struct trail_buf *last)
{
    char path[4600], line[4096];
    snprintf(path, sizeof(path), "%s/%s.state", S.dir, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int ok = fgets(line, sizeof(line), f) != NULL;
    if (ok)
        *ret_due = strtoll(line, NULL, 10);
    if (ok && last) {
        char *l = NULL;
        size_t cap = 0;
        ssize_t n = getline(&l, &cap, f);
        while (n > 0 && (l[n - 1] == '\n' || l[n - 1] == '\r'))
            n--;
        if (n > 0)
            trail_buf_append(last, l, (size_t)n);
        free(l);
    }
    fclose(f);
    return ok;
}

static void state_write(const char *name, int64_t due, const struct trail_buf *last)
{
    struct trail_buf b = {0};
    char fname[300];
    json_printf(&b, "%" PRId64 "\n", due);
    if (last && last->len) {
        trail_buf_append(&b, last->data, last->len);
        trail_buf_append(&b, "\n", 1);
    }
    snprintf(fname, sizeof(fname), "%s.state", name);
    int r = b.data ? write_atomic(S.dir, fname, b.data, b.len) : -ENOMEM;
    if (r < 0)
        log_msg(LOG_ERR, "reports: cannot save %s/%s: %s", S.dir, fname, trail_strerror(r));
    trail_buf_free(&b);
}

/* ---- a scheduled run ---- */

struct rendered {
    char name[320];
    char sha[65];
    int fmt;
    struct trail_buf data;
};

static int deliver_dir(const char *dir, struct rendered *f, size_t n, char *err, size_t errlen)
{
    if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -errno;
    }
    for (size_t i = 0; i < n; i++) {
        int r = write_atomic(dir, f[i].name, f[i].data.data ? f[i].data.data : "", f[i].data.len);
        if (r < 0) {
            snprintf(err, errlen, "%.300s/%.100s: %s", dir, f[i].name, trail_strerror(r));
            return r;
        }
    }
    return 0;
}

/* POST each file to url, with its name, report and SHA-256 in headers (lib/client). */
static int deliver_webhook(const char *url, const char *report, struct rendered *f, size_t n,
                           char *err, size_t errlen)
{
    struct trail_client *c;
    int r = trail_client_open(url, NULL, &c, err, errlen);
    if (r < 0)
        return r;
    for (size_t i = 0; r == 0 && i < n; i++) {
        char headers[1024];
        int status = 0;
        struct trail_buf answer = {0};
        snprintf(headers, sizeof(headers),
                 "Content-Type: %s\r\nX-Trail-Report: %.64s\r\nX-Trail-File: %.200s\r\n"
                 "X-Trail-Sha256: %s\r\n",
                 fmt_type[f[i].fmt], report, f[i].name, f[i].sha);
        r = trail_client_request(c, "POST", "/", headers, f[i].data.data ? f[i].data.data : "",
                                 f[i].data.len, &status, err, errlen);
        if (r == 0)
            r = trail_client_read_all(c, &answer, err, errlen);
        trail_buf_free(&answer);
        if (r == 0 && (status < 200 || status > 299)) {
            snprintf(err, errlen, "%.300s answered %d to %.100s", url, status, f[i].name);
            r = -EIO;
        }
    }
    trail_client_close(c);
    return r;
}

static void set_str_attr(struct trail_event *ev, const char *k, const char *v)
{
    if (v && *v && trail_event_set_string(ev, k, v, strlen(v)) < 0)
        log_msg(LOG_WARN, "%s: attribute %s: %s", trail_event_id(ev), k, trail_event_error(ev));
}

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

/* Store ev and wait until it is durable. */
static int write_record(struct trail_event *ev)
{
    int r = ev ? trail_event_validate(ev) : -ENOMEM;
    if (r < 0 && ev)
        log_msg(LOG_ERR, "%s does not validate: %s", trail_event_id(ev), trail_event_error(ev));
    if (r == 0)
        r = traild.ingest ? ingest_write(traild.ingest, &ev, 1, IN_INTERNAL) : TRAIL_E_CLOSED;
    trail_event_free(ev);
    return r;
}

static void run_due(const struct config *cfg, const struct trail_report *rep, int64_t due)
{
    struct trail_report_info in;
    trail_report_info(rep, &in);
    struct trail_index *ix = index_get();
    struct rendered f[4];
    size_t n = 0;
    char err[512] = "", when[32], stamp[32];
    int r = ix ? 0 : -EIO;
    if (!ix)
        snprintf(err, sizeof(err), "no index over the store");
    time_t secs = (time_t)(due / 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    trail_time_format(due, when);
    unsigned fmts = trail_report_formats(rep);
    memset(f, 0, sizeof(f));
    for (int k = 0; r == 0 && k < 4; k++) {
        if (!(fmts & (1u << k)))
            continue;
        f[n].fmt = k;
        snprintf(f[n].name, sizeof(f[n].name), "%s-%s.%s", in.name, stamp, fmt_ext[k]);
        r = trail_report_run(rep, ix, due, k, &f[n].data, err, sizeof(err));
        if (r == 0)
            sha256_hex(f[n].data.data ? f[n].data.data : "", f[n].data.len, f[n].sha);
        n++;
    }
    uint64_t tree_size = ix ? trail_index_horizon(ix) : 0;
    const char *status = "rendered";
    if (r == 0 && !strncmp(in.deliver, "dir:", 4))
        r = deliver_dir(in.deliver + 4, f, n, err, sizeof(err));
    else if (r == 0 && !strncmp(in.deliver, "webhook:", 8))
        r = deliver_webhook(in.deliver + 8, in.name, f, n, err, sizeof(err));
    if (r == 0 && *in.deliver)
        status = "delivered";
    if (r < 0)
        status = "failed";
    int made_up = due < S.started_us;

    /* the record: files as "NAME SHA256" lines */
    struct trail_buf files = {0}, last = {0};
    json_printf(&last, "{\"now\":\"%s\",\"ran\":", when);
    char ran[32];
    trail_time_format(trail_now(), ran);
    json_printf(&last, "\"%s\",\"status\":\"%s\",\"made_up\":%s", ran, status,
                made_up ? "true" : "false");
    int64_t since = INT64_MIN, until = INT64_MAX;
    trail_report_period(rep, due, &since, &until);
    char a[32] = "", b[32] = "";
    if (since != INT64_MIN)
        trail_time_format(since, a);
    if (until != INT64_MAX)
        trail_time_format(until, b);
    json_printf(&last, ",\"since\":%s%s%s,\"until\":%s%s%s", *a ? "\"" : "", *a ? a : "null",
                *a ? "\"" : "", *b ? "\"" : "", *b ? b : "null", *b ? "\"" : "");
    json_printf(&last, ",\"tree_size\":%" PRIu64 ",\"files\":[", tree_size);
    for (size_t i = 0; r == 0 && i < n; i++) {
        json_printf(&files, "%s%s %s", i ? "\n" : "", f[i].name, f[i].sha);
        json_printf(&last, "%s{\"name\":\"%s\",\"sha256\":\"%s\"}", i ? "," : "", f[i].name,
                    f[i].sha);
    }
    json_printf(&last, "],\"reason\":");
    json_str(&last, err, r < 0 ? strlen(err) : 0);
    json_printf(&last, "}");

    struct trail_event *ev = own_event(cfg, "trail_report_run");
    if (ev) {
        char msg[600];
        set_str_attr(ev, "report", in.name);
        trail_event_set_time_attr(ev, "report_now", due);
        if (since != INT64_MIN)
            trail_event_set_time_attr(ev, "since", since);
        if (until != INT64_MAX)
            trail_event_set_time_attr(ev, "until", until);
        set_str_attr(ev, "range", in.range);
        set_str_attr(ev, "zone", in.zone);
        set_str_attr(ev, "files", files.data);
        trail_event_set_int(ev, "tree_size", (int64_t)tree_size);
        set_str_attr(ev, "deliver", in.deliver);
        trail_event_set_bool(ev, "made_up", made_up);
        set_str_attr(ev, "status", status);
        if (r < 0)
            set_str_attr(ev, "reason", err);
        snprintf(msg, sizeof(msg), "report %s for %s%s: %s%s%s", in.name, when,
                 made_up ? " (made up: traild was down)" : "", status, r < 0 ? ": " : "",
                 r < 0 ? err : "");
        set_str_attr(ev, "msg", msg);
        log_msg(r < 0 ? LOG_ERR : LOG_INFO, "reports: %s", msg);
    }
    int w = write_record(ev);
    if (w < 0)
        log_msg(LOG_ERR, "reports: cannot record the run of %s: %s", in.name, trail_strerror(w));
    else
        state_write(in.name, due, &last);
    for (size_t i = 0; i < n; i++)
        trail_buf_free(&f[i].data);
    trail_buf_free(&files);
    trail_buf_free(&last);
}

static void tick(void)
{
    pthread_mutex_lock(&S.lock);
    struct trail_reports *rs = S.set;
    const struct config *cfg = S.cfg;
    pthread_mutex_unlock(&S.lock);
    int64_t now = trail_now();
    for (size_t i = 0; rs && i < trail_reports_count(rs); i++) {
        const struct trail_report *rep = trail_reports_at(rs, i);
        struct trail_report_info in;
        int64_t due, last_done;
        trail_report_info(rep, &in);
        if (!*in.schedule || trail_report_schedule_last(rep, now, &due) < 0)
            continue;
        if (!state_read(in.name, &last_done, NULL)) {
            state_write(in.name, now, NULL); /* seen for the first time: nothing was missed */
            continue;
        }
        if (due > last_done)
            run_due(cfg, rep, due);
    }
}

static void *sched_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "reports");
    pthread_mutex_lock(&S.lock);
    while (!S.stop) {
        pthread_mutex_unlock(&S.lock);
        tick();
        pthread_mutex_lock(&S.lock);
        if (S.stop)
            break;
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += TICK_MS / 1000;
        pthread_cond_timedwait(&S.cv, &S.lock, &until);
    }
    pthread_mutex_unlock(&S.lock);
    return NULL;
}

/* ---- start, reload, stop ---- */

int reports_start(const struct config *cfg, const char *store_path, char *err, size_t errlen)
{
    snprintf(S.dir, sizeof(S.dir), "%s/reports", store_path);
    if (mkdir(S.dir, 0750) < 0 && errno != EEXIST) {
        int e = -errno;
        snprintf(err, errlen, "%s: %s", S.dir, strerror(errno));
        return e;
    }
    struct trail_reports *rs;
    int r = build_set(cfg, &rs, err, errlen);
    if (r < 0)
        return r;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&S.cv, &ca);
    pthread_condattr_destroy(&ca);
    S.cfg = cfg;
    S.set = rs;
    S.stop = 0;
    S.started_us = trail_now();
    if ((r = pthread_create(&S.thread, NULL, sched_main, NULL)) != 0) {
        snprintf(err, errlen, "cannot start the report scheduler: %s", strerror(r));
        pthread_cond_destroy(&S.cv);
        trail_reports_free(rs);
        S.set = NULL;
        return -r;
    }
    S.started = 1;
    return 0;
}

void reports_reload(const struct config *cfg)
{
    if (!S.started)
        return;
    char err[1024];
    struct trail_reports *rs;
    pthread_mutex_lock(&S.lock);
    if (build_set(cfg, &rs, err, sizeof(err)) < 0) {
        log_msg(LOG_ERR, "reports: the reports in force stay: %s", err);
    } else if (install(rs) < 0) {
        trail_reports_free(rs);
    } else {
        S.cfg = cfg;
    }
    pthread_mutex_unlock(&S.lock);
}

void reports_stop(void)
{
    if (!S.started)
        return;
    pthread_mutex_lock(&S.lock);
    S.stop = 1;
    pthread_cond_broadcast(&S.cv);
    pthread_mutex_unlock(&S.lock);
    pthread_join(S.thread, NULL);
    pthread_cond_destroy(&S.cv);
    trail_index_close(S.ix);
    S.ix = NULL;
    trail_reports_free(S.set);
    S.set = NULL;
    for (size_t i = 0; i < S.n_retired; i++)
        trail_reports_free(S.retired[i]);
    free(S.retired);
    S.retired = NULL;
    S.n_retired = 0;
    S.started = 0;
}

/* ---- the API ---- */

static void answer_error(struct reports_answer *a, int status, const char *msg)
{
    a->status = status;
    a->type = "application/json";
    a->body.len = 0;
    json_printf(&a->body, "{\"error\":");
    json_str(&a->body, msg, strlen(msg));
    json_printf(&a->body, "}\n");
}

/* the members GET /v1/reports adds to each report: where from, editable, the runs */
static int extra_members(void *arg, const struct trail_report *rep, struct trail_buf *out)
{
    (void)arg;
    struct trail_report_info in;
    trail_report_info(rep, &in);
    int api = made_by_api(rep);
    int e = json_printf(out, ",\"source\":\"%s\",\"editable\":%s", api ? "api" : "config",
                        api ? "true" : "false");
    int64_t next, due;
    char t[32];
    struct trail_buf last = {0};
    if (e == 0 && trail_report_schedule_next(rep, trail_now(), &next) == 0) {
        trail_time_format(next, t);
        e = json_printf(out, ",\"next_run\":\"%s\"", t);
    } else if (e == 0) {
        e = json_printf(out, ",\"next_run\":null");
    }
    if (e == 0 && *in.schedule && state_read(in.name, &due, &last) && last.len)
        e = trail_buf_append(out, ",\"last_run\":", 12) ||
            trail_buf_append(out, last.data, last.len);
    else if (e == 0)
        e = json_printf(out, ",\"last_run\":null");
    trail_buf_free(&last);
    return e;
}

void reports_http_list(const char *format, struct reports_answer *a)
{
    struct trail_reports *rs = current();
    if (format && strcmp(format, "json") && strcmp(format, "table")) {
        answer_error(a, 400, "bad format: json or table");
        return;
    }
    a->status = 200;
    if (format && !strcmp(format, "table")) {
        a->type = fmt_type[0];
        trail_reports_list_table(rs, &a->body);
    } else {
        a->type = "application/json";
        trail_reports_list_json(rs, &a->body, extra_members, NULL);
    }
}

void reports_http_get(const char *name, const char *format, struct reports_answer *a)
{
    const struct trail_report *rep = trail_reports_find(current(), name);
    if (!rep) {
        answer_error(a, 404, "no such report");
        return;
    }
    if (format && strcmp(format, "json") && strcmp(format, "ini")) {
        answer_error(a, 400, "bad format: json or ini");
        return;
    }
    a->status = 200;
    if (format && !strcmp(format, "ini")) {
        a->type = fmt_type[0];
        trail_report_describe(rep, &a->body);
        return;
    }
    a->type = "application/json";
    struct trail_buf ini = {0};
    trail_report_describe(rep, &ini);
    trail_report_json(rep, &a->body, extra_members, NULL);
    /* the definition as text too, for an editor: before the closing brace */
    if (a->body.len && a->body.data[a->body.len - 1] == '}') {
        a->body.len--;
        json_printf(&a->body, ",\"definition\":");
        json_str(&a->body, ini.data ? ini.data : "", ini.len);
        json_printf(&a->body, "}\n");
    }
    trail_buf_free(&ini);
}

void reports_http_run(const char *name, const char *format, const char *now,
                      struct reports_answer *a)
{
    const struct trail_report *rep = trail_reports_find(current(), name);
    int fmt = TRAIL_REPORT_JSON;
    int64_t now_us = 0;
    char err[512];
    if (!rep) {
        answer_error(a, 404, "no such report");
        return;
    }
    if (format && trail_report_format_parse(format, &fmt) < 0) {
        answer_error(a, 400, "bad format: table, csv, json or html");
        return;
    }
    if (now && trail_time_parse(now, strlen(now), &now_us) < 0) {
        answer_error(a, 400, "bad now: use RFC 3339 (2026-11-30T12:00:00Z)");
        return;
    }
    struct trail_index *ix = index_get();
    if (!ix) {
        answer_error(a, 503, "no index over the store");
        return;
    }
    int r = trail_report_run(rep, ix, now_us, fmt, &a->body, err, sizeof(err));
    if (r < 0) {
        answer_error(a, r == TRAIL_E_PARSE ? 400 : 500, err);
        return;
    }
    a->status = 200;
    a->type = fmt_type[fmt];
}

/* The name of the body's first [report NAME] section, into name; 0 or -1. */
static int body_name(const char *body, size_t len, char *name, size_t n)
{
    const char *p = body, *end = body + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol ? eol : end;
        while (p < le && (*p == ' ' || *p == '\t'))
            p++;
        if (p < le && *p == '[') {
            const char *q = p + 1;
            while (q < le && *q == ' ')
                q++;
            if (le - q < 7 || strncmp(q, "report ", 7))
                return -1;
            q += 7;
            while (q < le && *q == ' ')
                q++;
            const char *e = memchr(q, ']', (size_t)(le - q));
            if (!e)
                return -1;
            while (e > q && e[-1] == ' ')
                e--;
            snprintf(name, n, "%.*s", (int)(e - q), q);
            return 0;
        }
        p = eol ? eol + 1 : end;
    }
    return -1;
}

static int valid_name(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len > 64)
        return 0;
    for (; *n; n++)
        if (!((*n >= 'a' && *n <= 'z') || (*n >= '0' && *n <= '9') || *n == '-' || *n == '_'))
            return 0;
    return 1;
}

static void record_change(const struct config *cfg, const char *name, const char *action,
                          const char *who, const struct trail_buf *def)
{
    struct trail_event *ev = own_event(cfg, "trail_report_changed");
    char msg[512], sha[65] = "";
    if (ev) {
        set_str_attr(ev, "report", name);
        set_str_attr(ev, "action", action);
        set_str_attr(ev, "suser", who && *who ? who : "anonymous");
        if (def && def->len) {
            sha256_hex(def->data, def->len, sha);
            if (trail_event_set_string(ev, "definition", def->data, def->len) < 0)
                log_msg(LOG_WARN, "reports: definition of %s: %s", name, trail_event_error(ev));
            set_str_attr(ev, "definition_sha256", sha);
        }
        snprintf(msg, sizeof(msg), "report %s %s by %s", name, action,
                 who && *who ? who : "anonymous");
        set_str_attr(ev, "msg", msg);
        log_msg(LOG_INFO, "reports: %s", msg);
    }
    int r = write_record(ev);
    if (r < 0)
        log_msg(LOG_ERR, "reports: cannot record that %s was %s: %s", name, action,
                trail_strerror(r));
}

void reports_http_change(const char *method, const char *name, const char *body, size_t len,
                         const char *who, struct reports_answer *a)
{
    char bname[128] = "", err[1024], fname[300], tmp[4600];
    struct trail_buf def = {0};
    int del = !strcmp(method, "DELETE"), post = !strcmp(method, "POST");
    if (!S.started) {
        answer_error(a, 503, "reports are not available");
        return;
    }
    if (!del) {
        if (body_name(body, len, bname, sizeof(bname)) == 0) {
            if (name && strcmp(bname, name)) {
                snprintf(err, sizeof(err), "the body defines [report %s], the path names %s", bname,
                         name);
                answer_error(a, 400, err);
                return;
            }
            name = bname;
        } else if (name && valid_name(name)) {
            json_printf(&def, "[report %s]\n", name); /* PUT of the keys alone */
        } else {
            answer_error(a, 400, "the body must be a [report NAME] section (docs/reports.md)");
            return;
        }
        trail_buf_append(&def, body, len);
        if (def.len && def.data[def.len - 1] != '\n')
            trail_buf_append(&def, "\n", 1);
    }
    if (!valid_name(name)) {
        trail_buf_free(&def);
        answer_error(a, 400, "bad report name: use 1 to 64 of a-z, 0-9, '-' and '_'");
        return;
    }
    pthread_mutex_lock(&S.lock); /* one change at a time, and the set it changes */
    const struct config *cfg = S.cfg;
    const struct trail_report *old = trail_reports_find(S.set, name);
    int status = 0, r = 0;
    const char *action = del ? "deleted" : old ? "changed" : "created";
    snprintf(fname, sizeof(fname), "%s.conf", name);
    if (old && !made_by_api(old)) {
        status = 409;
        snprintf(err, sizeof(err),
                 "report %s is defined in the configuration: change it there (only reports made "
                 "through the API can be changed through it)",
                 name);
    } else if (del && !old) {
        status = 404, snprintf(err, sizeof(err), "no such report");
    } else if (post && old) {
        status = 409, snprintf(err, sizeof(err), "report %s exists: PUT changes it", name);
    } else if (!del) {
        /* checked as a file of its own before it replaces anything */
        snprintf(tmp, sizeof(tmp), "%s/.%s.check", S.dir, name);
        FILE *f = fopen(tmp, "w");
        r = f ? 0 : -errno;
        if (f && (fwrite(def.data, 1, def.len, f) != def.len || fclose(f) != 0))
            r = -EIO;
        else if (f)
            r = check_one(cfg, tmp, name, err, sizeof(err));
        unlink(tmp);
        if (r == TRAIL_E_PARSE) {
            /* the message names the check file: say "the body" instead */
            char *at = strstr(err, tmp);
            if (at) {
                char rest[1024];
                snprintf(rest, sizeof(rest), "the body%s", at + strlen(tmp));
                snprintf(err, sizeof(err), "%s", rest);
            }
            status = 400;
        } else if (r < 0) {
            status = 500, snprintf(err, sizeof(err), "%s", trail_strerror(r));
        } else if ((r = write_atomic(S.dir, fname, def.data, def.len)) < 0) {
            status = 500,
            snprintf(err, sizeof(err), "%.600s/%.100s: %s", S.dir, fname, trail_strerror(r));
        }
    } else if ((r = remove_durably(S.dir, fname)) < 0) {
        status = 500,
        snprintf(err, sizeof(err), "%.600s/%.100s: %s", S.dir, fname, trail_strerror(r));
    }
    if (status == 0) {
        struct trail_reports *rs;
        if ((r = build_set(cfg, &rs, err, sizeof(err))) < 0 || (r = install(rs)) < 0)
            status = 500;
    }
    pthread_mutex_unlock(&S.lock);
    if (status) {
        answer_error(a, status, err);
        trail_buf_free(&def);
        return;
    }
    if (del) {
        char sname[300];
        snprintf(sname, sizeof(sname), "%s.state", name);
        remove_durably(S.dir, sname);
    }
    record_change(cfg, name, action, who, &def);
    a->status = !strcmp(action, "created") ? 201 : 200;
    a->type = "application/json";
    char sha[65] = "";
    if (def.len)
        sha256_hex(def.data, def.len, sha);
    json_printf(&a->body, "{\"report\":\"%s\",\"action\":\"%s\"", name, action);
    if (*sha)
        json_printf(&a->body, ",\"definition_sha256\":\"%s\"", sha);
    json_printf(&a->body, "}\n");
    trail_buf_free(&def);
}
