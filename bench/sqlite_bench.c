/*
 * sqlite_bench.c - the peers' side of the store and query comparisons: the
 * workload generator's events as rows of SQLite (indexed, optionally with an
 * FTS5 table for free text) or as TSV for ClickHouse, and the query set
 * timed inside SQLite.
 *
 *   sqlite_bench load  --db FILE [--events N] [--days D] [--seed S] [--batch B]
 *                      [--fts] [--no-index] [--sync full|normal|off]
 *   sqlite_bench query --db FILE [--runs R] [--user U] [--trace T] [--text WORD] [--rare WORD]
 *   sqlite_bench rows  [--events N] [--days D] [--seed S]        (TSV on stdout)
 *   sqlite_bench pick  [--events N] [--days D] [--seed S]        (query parameters)
 *
 * The rows (one per event; the same columns in SQLite and ClickHouse):
 *
 *   seq       1, 2, ... in generator order (time order)
 *   time      microseconds since the epoch, UTC
 *   event     the event id          severity  trail's scale (WARNING = 6)
 *   host      the host name         uuid      16 random bytes (as a server assigns)
 *   duser, src, trace_id            the attributes duser, src, phxTraceId ('' if absent)
 *   attrs     the other attributes as a JSON object
 *
 * SQLite indexes: time; (event, time); (severity, time); (duser, time);
 * (src, time); trace_id. With --fts a contentless FTS5 table holds the
 * attribute values as text, rowid = seq. Loading: WAL, one transaction per
 * batch, synchronous FULL by default (every commit durable, as trail's are);
 * only the inserts and commits are timed, not the generator.
 *
 * Not here: ClickHouse itself (bench/compare_store.sh, compare_query.sh),
 * trail's own figures (bench_store, bench_query). Not a test.
 */
#include "trail.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define DAY_US   (86400LL * 1000000LL)
#define HOUR_US  (3600LL * 1000000LL)
#define MAX_COLS 16

struct row {
    int64_t seq, time;
    int severity;
    char event[96], host[64], duser[64], src[64], trace[64];
    uint8_t uuid[16];
    struct trail_buf attrs; /* JSON object */
    struct trail_buf text;  /* attribute values separated by spaces */
};

static const char usage_text[] =
    "usage: sqlite_bench load  --db FILE [--events N] [--days D] [--seed S] [--batch B]\n"
    "                          [--fts] [--no-index] [--sync full|normal|off]\n"
    "       sqlite_bench query --db FILE [--runs R] [--user U] [--trace T] [--text WORD]\n"
    "                          [--rare WORD]\n"
    "       sqlite_bench rows  [--events N] [--days D] [--seed S]   (TSV for ClickHouse)\n"
    "       sqlite_bench pick  [--events N] [--days D] [--seed S]   (query parameters)\n"
    "\n"
    "Defaults: 1000000 events over 30 days, seed 1, batches of 1000 rows,\n"
    "synchronous FULL in WAL mode, 5 warm runs per query.\n"
    "load prints rows/s and bytes per row (database and WAL after a checkpoint);\n"
    "query prints each question's median time in milliseconds, measured\n"
    "around sqlite3_step() over every result row.\n";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Append s as a JSON string (quotes, backslash and control characters escaped). */
static int json_string(struct trail_buf *b, const char *s, size_t n)
{
    int r = trail_buf_append(b, "\"", 1);
    for (size_t i = 0; i < n && r == 0; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c;
            r = trail_buf_append(b, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            r = trail_buf_append(b, esc, 6);
        } else {
            r = trail_buf_append(b, s + i, 1);
        }
    }
    return r ? r : trail_buf_append(b, "\"", 1);
}

/*
 * Fill r from ev. duser, src and phxTraceId go to their own columns; the
 * other attributes to the attrs JSON object (ints and bools bare, the rest
 * as strings), and every value to the free text.
 */
static int fill_row(const struct trail_event *ev, int64_t seq, struct row *r)
{
    r->seq = seq;
    r->time = trail_event_time(ev);
    r->severity = trail_event_severity(ev);
    snprintf(r->event, sizeof(r->event), "%s", trail_event_id(ev));
    snprintf(r->host, sizeof(r->host), "%s", trail_event_host(ev));
    if (trail_event_uuid(ev, r->uuid) < 0)
        memset(r->uuid, 0, sizeof(r->uuid));
    r->duser[0] = r->src[0] = r->trace[0] = '\0';
    trail_buf_reset(&r->attrs);
    trail_buf_reset(&r->text);
    int rc = trail_buf_append(&r->attrs, "{", 1);
    size_t n = trail_event_attr_count(ev), n_json = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *key;
        struct trail_value v;
        char val[1024];
        if (trail_event_attr_at(ev, i, &key, &v) < 0)
            continue;
        size_t len = trail_value_format(&v, val, sizeof(val));
        if (len >= sizeof(val))
            len = sizeof(val) - 1;
        if ((i && trail_buf_append(&r->text, " ", 1) < 0) ||
            trail_buf_append(&r->text, val, len) < 0)
            return -ENOMEM;
        char *column = !strcmp(key, "duser")        ? r->duser
                       : !strcmp(key, "src")        ? r->src
                       : !strcmp(key, "phxTraceId") ? r->trace
                                                    : NULL;
        if (column) {
            size_t m = len < 63 ? len : 63; /* the columns are 64 bytes */
            memcpy(column, val, m);
            column[m] = '\0';
            continue;
        }
        if (n_json++)
            rc = trail_buf_append(&r->attrs, ",", 1);
        rc |= json_string(&r->attrs, key, strlen(key));
        rc |= trail_buf_append(&r->attrs, ":", 1);
        if (v.type == TRAIL_TYPE_INT || v.type == TRAIL_TYPE_BOOL)
            rc |= trail_buf_append(&r->attrs, val, len);
        else
            rc |= json_string(&r->attrs, val, len);
    }
    rc |= trail_buf_append(&r->attrs, "}", 1);
    return rc ? -ENOMEM : 0;
}

struct gen {
    struct trail_catalog *cat;
    struct trail_loadgen *lg;
    struct trail_event *ev;
    int64_t seq;
};

static int gen_open(struct gen *g, uint64_t events, uint32_t days, uint64_t seed)
{
    memset(g, 0, sizeof(*g));
    struct trail_loadgen_opts o = {.seed = seed, .days = days, .events = events};
    if (trail_catalog_new(&g->cat) < 0 || trail_loadgen_new(g->cat, &o, &g->lg) < 0 ||
        trail_event_new(g->cat, "x", &g->ev) < 0)
        return -1;
    return 0;
}

static int gen_next(struct gen *g, struct row *r)
{
    if (trail_loadgen_next(g->lg, g->ev) < 0 || trail_event_gen_uuid(g->ev) < 0)
        return -1;
    return fill_row(g->ev, ++g->seq, r);
}

static void gen_close(struct gen *g)
{
    trail_event_free(g->ev);
    trail_loadgen_free(g->lg);
    trail_catalog_free(g->cat);
}

static int exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "sqlite_bench: %s: %s\n", sql, err ? err : "?");
        sqlite3_free(err);
        return -1;
    }
    return 0;
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

struct opts {
    const char *db, *user, *trace, *text, *rare, *sync;
    uint64_t events, seed;
    uint32_t days;
    size_t batch;
    int fts, no_index, runs;
};

static int cmd_load(const struct opts *o)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *ins = NULL, *ins_fts = NULL;
    struct row *rows = calloc(o->batch, sizeof(*rows));
    struct gen g;
    int status = 1;
    char path[4200];
    snprintf(path, sizeof(path), "%s-wal", o->db);
    remove(o->db);
    remove(path);
    if (!rows || gen_open(&g, o->events, o->days, o->seed) < 0) {
        fprintf(stderr, "sqlite_bench: cannot start the generator\n");
        return 1;
    }
    if (sqlite3_open(o->db, &db) != SQLITE_OK) {
        fprintf(stderr, "sqlite_bench: %s: %s\n", o->db, sqlite3_errmsg(db));
        goto done;
    }
    char pragma[128];
    snprintf(pragma, sizeof(pragma), "PRAGMA synchronous=%s", o->sync);
    if (exec(db, "PRAGMA journal_mode=WAL") < 0 || exec(db, pragma) < 0 ||
        exec(db, "PRAGMA cache_size=-262144") < 0 ||
        exec(db, "CREATE TABLE events(seq INTEGER PRIMARY KEY, time INTEGER NOT NULL,"
                 " event TEXT NOT NULL, severity INTEGER NOT NULL, host TEXT NOT NULL,"
                 " uuid BLOB NOT NULL, duser TEXT NOT NULL, src TEXT NOT NULL,"
                 " trace_id TEXT NOT NULL, attrs TEXT NOT NULL)") < 0)
        goto done;
    if (!o->no_index && (exec(db, "CREATE INDEX events_time ON events(time)") < 0 ||
                         exec(db, "CREATE INDEX events_event ON events(event, time)") < 0 ||
                         exec(db, "CREATE INDEX events_severity ON events(severity, time)") < 0 ||
                         exec(db, "CREATE INDEX events_duser ON events(duser, time)") < 0 ||
                         exec(db, "CREATE INDEX events_src ON events(src, time)") < 0 ||
                         exec(db, "CREATE INDEX events_trace ON events(trace_id)") < 0))
        goto done;
    if (o->fts && exec(db, "CREATE VIRTUAL TABLE events_fts USING fts5(text, content='')") < 0)
        goto done;
    if (sqlite3_prepare_v2(db, "INSERT INTO events VALUES(?,?,?,?,?,?,?,?,?,?)", -1, &ins, NULL) !=
            SQLITE_OK ||
        (o->fts && sqlite3_prepare_v2(db, "INSERT INTO events_fts(rowid, text) VALUES(?,?)", -1,
                                      &ins_fts, NULL) != SQLITE_OK)) {
        fprintf(stderr, "sqlite_bench: prepare: %s\n", sqlite3_errmsg(db));
        goto done;
    }
    double timed = 0;
    uint64_t done_rows = 0;
    while (done_rows < o->events) {
        size_t n = o->events - done_rows < o->batch ? (size_t)(o->events - done_rows) : o->batch;
        for (size_t i = 0; i < n; i++) {
            if (gen_next(&g, &rows[i]) < 0) {
                fprintf(stderr, "sqlite_bench: generator failed\n");
                goto done;
            }
        }
        double t0 = now_s();
        if (exec(db, "BEGIN") < 0)
            goto done;
        for (size_t i = 0; i < n; i++) {
            struct row *r = &rows[i];
            sqlite3_bind_int64(ins, 1, r->seq);
            sqlite3_bind_int64(ins, 2, r->time);
            sqlite3_bind_text(ins, 3, r->event, -1, SQLITE_STATIC);
            sqlite3_bind_int(ins, 4, r->severity);
            sqlite3_bind_text(ins, 5, r->host, -1, SQLITE_STATIC);
            sqlite3_bind_blob(ins, 6, r->uuid, 16, SQLITE_STATIC);
            sqlite3_bind_text(ins, 7, r->duser, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 8, r->src, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 9, r->trace, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 10, r->attrs.data, (int)r->attrs.len, SQLITE_STATIC);
            if (sqlite3_step(ins) != SQLITE_DONE) {
                fprintf(stderr, "sqlite_bench: insert: %s\n", sqlite3_errmsg(db));
                goto done;
            }
            sqlite3_reset(ins);
            if (ins_fts) {
                sqlite3_bind_int64(ins_fts, 1, r->seq);
                sqlite3_bind_text(ins_fts, 2, r->text.data, (int)r->text.len, SQLITE_STATIC);
                if (sqlite3_step(ins_fts) != SQLITE_DONE) {
                    fprintf(stderr, "sqlite_bench: fts insert: %s\n", sqlite3_errmsg(db));
                    goto done;
                }
                sqlite3_reset(ins_fts);
            }
        }
        if (exec(db, "COMMIT") < 0)
            goto done;
        timed += now_s() - t0;
        done_rows += n;
    }
    sqlite3_finalize(ins);
    sqlite3_finalize(ins_fts);
    ins = ins_fts = NULL;
    if (exec(db, "PRAGMA wal_checkpoint(TRUNCATE)") < 0)
        goto done;
    long long bytes = file_size(o->db) + file_size(path);
    printf("sqlite load: rows=%llu secs=%.3f rows_per_s=%.0f bytes=%lld bytes_per_row=%.1f "
           "indexes=%s fts=%s sync=%s batch=%zu\n",
           (unsigned long long)done_rows, timed, (double)done_rows / timed, bytes,
           (double)bytes / (double)done_rows, o->no_index ? "no" : "yes", o->fts ? "yes" : "no",
           o->sync, o->batch);
    /* where the bytes are, when SQLite has the dbstat table */
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC",
                           -1, &st, NULL) == SQLITE_OK) {
        printf("sqlite bytes by table/index:");
        while (sqlite3_step(st) == SQLITE_ROW)
            printf(" %s=%.1f", (const char *)sqlite3_column_text(st, 0),
                   (double)sqlite3_column_int64(st, 1) / (double)done_rows);
        printf(" (bytes per row)\n");
        sqlite3_finalize(st);
    }
    status = 0;
done:
    sqlite3_finalize(ins);
    sqlite3_finalize(ins_fts);
    sqlite3_close(db);
    for (size_t i = 0; i < o->batch; i++) {
        trail_buf_free(&rows[i].attrs);
        trail_buf_free(&rows[i].text);
    }
    free(rows);
    gen_close(&g);
    return status;
}

/* TSV escaping as ClickHouse reads it: backslash, tab, newline. */
static void tsv(const char *s, size_t n, FILE *f)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\')
            fputs("\\\\", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c == '\n')
            fputs("\\n", f);
        else
            fputc(c, f);
    }
}

static int cmd_rows(const struct opts *o)
{
    struct gen g;
    struct row r = {0};
    if (gen_open(&g, o->events, o->days, o->seed) < 0)
        return 1;
    static char obuf[1 << 20];
    setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
    for (uint64_t i = 0; i < o->events; i++) {
        if (gen_next(&g, &r) < 0)
            return 1;
        char uuid[40];
        const uint8_t *u = r.uuid;
        snprintf(uuid, sizeof(uuid),
                 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
                 u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
                 u[15]);
        printf("%lld\t%lld\t%s\t%d\t", (long long)r.seq, (long long)r.time, r.event, r.severity);
        tsv(r.host, strlen(r.host), stdout);
        printf("\t%s\t", uuid);
        tsv(r.duser, strlen(r.duser), stdout);
        putchar('\t');
        tsv(r.src, strlen(r.src), stdout);
        putchar('\t');
        tsv(r.trace, strlen(r.trace), stdout);
        putchar('\t');
        tsv(r.attrs.data, r.attrs.len, stdout);
        putchar('\n');
    }
    fflush(stdout);
    trail_buf_free(&r.attrs);
    trail_buf_free(&r.text);
    gen_close(&g);
    return 0;
}

/*
 * The query parameters, taken from the data the way bench/bench_query.c
 * takes them from its store (seq = position in the generator's stream,
 * from 1), so that trail, SQLite and ClickHouse answer the same questions:
 * the user and the trace id are the first found going back from seq
 * N - N/100; the free-text term is the part after the dot of the first user
 * name from seq 1 + N/2 on, the rare term the first trace id from there
 * without its '#'; "the last 30 days" end at the newest event.
 */
static int cmd_pick(const struct opts *o)
{
    struct gen g;
    struct row r = {0};
    char user[160] = "", trace[160] = "", text[160] = "", rare[160] = "";
    int64_t newest = 0;
    uint64_t back_from = o->events - o->events / 100, fwd_from = 1 + o->events / 2;
    if (gen_open(&g, o->events, o->days, o->seed) < 0)
        return 1;
    for (uint64_t seq = 1; seq <= o->events; seq++) {
        if (gen_next(&g, &r) < 0)
            return 1;
        if (seq <= back_from) { /* the last ones at or before back_from */
            if (r.duser[0])
                snprintf(user, sizeof(user), "%s", r.duser);
            if (r.trace[0])
                snprintf(trace, sizeof(trace), "%s", r.trace);
        }
        if (seq >= fwd_from) {
            const char *dot = strchr(r.duser, '.');
            if (!text[0] && dot)
                snprintf(text, sizeof(text), "%s", dot + 1);
            if (!rare[0] && strlen(r.trace) > 1)
                snprintf(rare, sizeof(rare), "%s", r.trace + 1);
        }
        newest = r.time;
    }
    printf("user=%s trace=%s text=%s rare=%s newest_us=%lld since_us=%lld warning=%d\n", user,
           trace, text, rare, (long long)newest, (long long)(newest + 1 - 30 * DAY_US),
           TRAIL_SEV_WARNING);
    trail_buf_free(&r.attrs);
    trail_buf_free(&r.text);
    gen_close(&g);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Run stmt to the end `runs` times after one warm-up; the median in ms, rows via ret_rows. */
static double time_query(sqlite3_stmt *st, int runs, long long *ret_rows)
{
    double t[64];
    long long rows = 0;
    if (runs > 63)
        runs = 63;
    for (int k = -1; k < runs; k++) {
        double t0 = now_s();
        rows = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            int n = sqlite3_column_count(st);
            for (int c = 0; c < n; c++)
                (void)sqlite3_column_text(st, c);
            rows++;
        }
        sqlite3_reset(st);
        if (k >= 0)
            t[k] = (now_s() - t0) * 1e3;
    }
    qsort(t, (size_t)runs, sizeof(double), cmp_double);
    *ret_rows = rows;
    return runs % 2 ? t[runs / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2;
}

static int cmd_query(const struct opts *o)
{
    sqlite3 *db = NULL;
    int status = 1, has_fts = 0;
    if (sqlite3_open_v2(o->db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "sqlite_bench: %s: %s\n", o->db, sqlite3_errmsg(db));
        goto done;
    }
    exec(db, "PRAGMA cache_size=-262144");
    sqlite3_stmt *st = NULL;
    int64_t newest = 0;
    if (sqlite3_prepare_v2(db, "SELECT max(time) FROM events", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        newest = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE name='events_fts'", -1, &st,
                           NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        has_fts = 1;
    sqlite3_finalize(st);
    int64_t since = newest - 30 * DAY_US;
    char match[160], like[160], rare_match[160], rare_like[160];
    snprintf(match, sizeof(match), "\"%s\"", o->text);
    snprintf(like, sizeof(like), "%%%s%%", o->text);
    snprintf(rare_match, sizeof(rare_match), "\"%s\"", o->rare);
    snprintf(rare_like, sizeof(rare_like), "%%%s%%", o->rare);
    struct {
        const char *name, *sql;
    } q[] = {
        {"user", "SELECT * FROM events WHERE duser=?1 AND time>=?2 ORDER BY time DESC LIMIT 100"},
        {"trace", "SELECT * FROM events WHERE trace_id=?1 ORDER BY time"},
        {"counts", "SELECT event, time/3600000000 AS hour, count(*) FROM events "
                   "WHERE time>=?2 GROUP BY event, hour"},
        {"text", has_fts ? "SELECT e.* FROM events_fts f JOIN events e ON e.seq=f.rowid "
                           "WHERE events_fts MATCH ?1 ORDER BY f.rowid DESC LIMIT 100"
                         : "SELECT * FROM events WHERE attrs LIKE ?1 ORDER BY seq DESC LIMIT 100"},
        {"rare", has_fts
                     ? "SELECT e.* FROM events_fts f JOIN events e ON e.seq=f.rowid "
                       "WHERE events_fts MATCH ?1 ORDER BY f.rowid DESC LIMIT 100"
                     : "SELECT * FROM events WHERE trace_id LIKE ?1 ORDER BY seq DESC LIMIT 100"},
        {"warning", "SELECT * FROM events WHERE severity>=?1 ORDER BY time DESC LIMIT 100"},
    };
    for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
        if (sqlite3_prepare_v2(db, q[i].sql, -1, &st, NULL) != SQLITE_OK) {
            fprintf(stderr, "sqlite_bench: %s: %s\n", q[i].sql, sqlite3_errmsg(db));
            goto done;
        }
        switch (i) {
        case 0:
            sqlite3_bind_text(st, 1, o->user, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, since);
            break;
        case 1:
            sqlite3_bind_text(st, 1, o->trace, -1, SQLITE_STATIC);
            break;
        case 2:
            sqlite3_bind_int64(st, 2, since);
            break;
        case 3:
            sqlite3_bind_text(st, 1, has_fts ? match : like, -1, SQLITE_TRANSIENT);
            break;
        case 4:
            sqlite3_bind_text(st, 1, has_fts ? rare_match : rare_like, -1, SQLITE_TRANSIENT);
            break;
        case 5:
            sqlite3_bind_int(st, 1, TRAIL_SEV_WARNING);
            break;
        }
        long long rows;
        double ms = time_query(st, o->runs, &rows);
        printf("sqlite query: %s ms=%.3f rows=%lld\n", q[i].name, ms, rows);
        sqlite3_finalize(st);
        st = NULL;
    }
    status = 0;
done:
    sqlite3_close(db);
    return status;
}

int main(int argc, char **argv)
{
    struct opts o = {.events = 1000000,
                     .days = 30,
                     .seed = 1,
                     .batch = 1000,
                     .runs = 5,
                     .sync = "FULL",
                     .user = "",
                     .trace = "",
                     .text = "",
                     .rare = ""};
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--fts"))
            o.fts = 1;
        else if (!strcmp(a, "--no-index"))
            o.no_index = 1;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage_text, stdout);
            return 0;
        } else if (!v)
            goto bad;
        else if (!strcmp(a, "--db"))
            o.db = v, i++;
        else if (!strcmp(a, "--events"))
            o.events = strtoull(v, NULL, 10), i++;
        else if (!strcmp(a, "--days"))
            o.days = (uint32_t)atoi(v), i++;
        else if (!strcmp(a, "--seed"))
            o.seed = strtoull(v, NULL, 10), i++;
        else if (!strcmp(a, "--batch"))
            o.batch = (size_t)atol(v), i++;
        else if (!strcmp(a, "--runs"))
            o.runs = atoi(v), i++;
        else if (!strcmp(a, "--sync"))
            o.sync = v, i++;
        else if (!strcmp(a, "--user"))
            o.user = v, i++;
        else if (!strcmp(a, "--trace"))
            o.trace = v, i++;
        else if (!strcmp(a, "--text"))
            o.text = v, i++;
        else if (!strcmp(a, "--rare"))
            o.rare = v, i++;
        else
            goto bad;
    }
    if (!o.events || !o.batch || o.runs < 1 || !o.days)
        goto bad;
    if (!strcmp(argv[1], "rows"))
        return cmd_rows(&o);
    if (!strcmp(argv[1], "pick"))
        return cmd_pick(&o);
    if (!o.db)
        goto bad;
    if (!strcmp(argv[1], "load"))
        return cmd_load(&o);
    if (!strcmp(argv[1], "query"))
        return cmd_query(&o);
bad:
    fputs(usage_text, stderr);
    return 2;
}
