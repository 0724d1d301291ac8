/*
 * report.c - `trail report list|show|run`: the reports defined in report
 * files and in a trail.conf, run over a store directory, or asked of a
 * running traild (GET /v1/reports, /v1/reports/NAME/run).
 *
 * Not here: what a report is and how it is written (lib/report), the HTTP
 * routes (daemon/http/routes_report.c).
 */
#include "cli.h"

#include <openssl/evp.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef TRAIL_REPORTS_DIR
#define TRAIL_REPORTS_DIR "/usr/share/trail/reports"
#endif

static const char help[] =
    "usage: trail report list [SOURCES] [--format table|json]\n"
    "       trail report show NAME [SOURCES]\n"
    "       trail report run NAME (--store DIR | --url URL | --clickhouse URL) [SOURCES]\n"
    "                        [--format table|csv|json|html] [--now TIME] [-o FILE]\n"
    "       trail report check FILE --store DIR\n"
    "\n"
    "Reports are saved searches and counts over a time range, with a title,\n"
    "a category and a description (docs/reports.md). `run` evaluates each\n"
    "section against the store (or asks traild to) and writes the report.\n"
    "`check` holds a report file that traild's scheduler delivered to the\n"
    "trail_report_run record of its run: its SHA-256 must be one the record holds.\n"
    "\n"
    "Where the definitions come from (SOURCES; with --url: traild's own):\n"
    "  --reports DIR       every *.conf report file of DIR (repeatable);\n"
    "                      default, when no --reports or --config is given:\n"
    "                      " TRAIL_REPORTS_DIR " (trail's report pack)\n"
    "  --config FILE       the [report NAME] sections of FILE, e.g. trail.conf\n"
    "                      (repeatable)\n"
    "\n"
    "Options:\n"
    "  --store DIR         run over the store in DIR (read-only; traild may be\n"
    "                      writing it)\n"
    "  --url URL           ask the traild at URL (read role)\n"
    "  --clickhouse URL    run over ClickHouse's copy of the events, written by\n"
    "                      traild's clickhouse sink (http://HOST:8123/), as trail\n"
    "                      query --clickhouse does; --clickhouse-table DB.TABLE\n"
    "                      (default trail.events), --clickhouse-store ID,\n"
    "                      --clickhouse-user NAME (password from\n"
    "                      $TRAIL_CLICKHOUSE_PASSWORD). Sections of sinks or\n"
    "                      checkpoints read the store's files: refused there\n"
    "  --format FMT        table (default), csv, json, or html: one self-contained\n"
    "                      printable page with tables and bar charts\n"
    "  --now TIME          read the ranges (last 7d, previous month, ...) against\n"
    "                      TIME, RFC 3339, instead of the clock: the same report\n"
    "                      again, for a test or a filed copy\n"
    "  -o, --out FILE      write the report to FILE instead of standard output\n"
    "  with --url, to reach traild:\n" CLI_CONN_HELP "  -h, --help          this text\n"
    "\n"
    "Examples:\n"
    "  trail report list --reports reports\n"
    "  trail report run failed-sign-ins --reports reports --store DIR --now 2026-11-30T12:00:00Z\n"
    "  trail report run latest-events --url http://127.0.0.1:8080 --format html -o latest.html\n"
    "\n"
    "Exit status: 0 on success, 1 when the store or traild fails or a checked file\n"
    "matches no run, 2 for bad usage, a bad definition or an unknown report.\n";

struct ropts {
    const char *verb, *name, *store, *url, *clickhouse, *out, *now_text;
    struct trail_ch_opts ch;
    const char **dirs, **confs;
    size_t n_dirs, n_confs;
    int format;
    int64_t now_us;
    struct cli_conn conn;
    struct trail_client_opts copts;
};

static int load(struct ropts *o, struct trail_reports **ret)
{
    char err[1024];
    int r = trail_reports_new(cli_catalog(), ret);
    if (r < 0)
        return cli_fail("report", "out of memory");
    if (o->n_dirs == 0 && o->n_confs == 0 && access(TRAIL_REPORTS_DIR, R_OK) == 0)
        r = trail_reports_load_dir(*ret, TRAIL_REPORTS_DIR, err, sizeof(err));
    for (size_t i = 0; r == 0 && i < o->n_dirs; i++)
        r = trail_reports_load_dir(*ret, o->dirs[i], err, sizeof(err));
    for (size_t i = 0; r == 0 && i < o->n_confs; i++)
        r = trail_reports_load_file(*ret, o->confs[i], err, sizeof(err));
    if (r == 0)
        r = trail_reports_check(*ret, err, sizeof(err));
    if (r < 0) {
        trail_reports_free(*ret);
        *ret = NULL;
        return cli_usage_error("report", "%s", err);
    }
    return 0;
}

static int write_out(const struct ropts *o, const struct trail_buf *b)
{
    FILE *f = o->out ? fopen(o->out, "w") : stdout;
    if (!f)
        return cli_fail("report", "%s: %s", o->out, strerror(errno));
    int ok = fwrite(b->data ? b->data : "", 1, b->len, f) == b->len;
    ok = (o->out ? fclose(f) : fflush(f)) == 0 && ok;
    return ok ? 0 : cli_fail("report", "cannot write: %s", strerror(errno));
}

/* GET path from traild into b: 0, or the exit status after saying what went wrong. */
static int fetch(struct ropts *o, const char *path, struct trail_buf *b)
{
    struct trail_client *c;
    char err[512];
    int status = 0;
    if (trail_client_open(o->url, &o->copts, &c, err, sizeof(err)) < 0)
        return cli_usage_error("report", "bad --url %s", err);
    int r = trail_client_request(c, "GET", path, NULL, NULL, 0, &status, err, sizeof(err));
    if (r == 0)
        r = trail_client_read_all(c, b, err, sizeof(err));
    trail_client_close(c);
    if (r < 0)
        return cli_fail("report", "%s", err);
    if (status != 200) {
        trail_buf_append(b, "", 0);
        /* the body is traild's {"error":"..."}: shown as it came, escaped by cli_fail */
        if (status == 400 || status == 404)
            return cli_usage_error("report", "traild answered %d: %s", status,
                                   b->data ? b->data : "");
        return cli_fail("report", "traild answered %d: %s", status, b->data ? b->data : "");
    }
    return 0;
}

static int by_url(struct ropts *o)
{
    static const char *const fmts[] = {"table", "csv", "json", "html"};
    struct trail_buf path = {0}, b = {0};
    int st;
    if (!strcmp(o->verb, "list")) {
        trail_buf_append(&path, "/v1/reports", 11);
        if (o->format != TRAIL_REPORT_JSON)
            trail_buf_append(&path, "?format=table", 13);
    } else {
        trail_buf_append(&path, "/v1/reports/", 12);
        trail_buf_append(&path, o->name, strlen(o->name));
        if (!strcmp(o->verb, "show"))
            trail_buf_append(&path, "?format=ini", 11);
        if (!strcmp(o->verb, "run")) {
            trail_buf_append(&path, "/run?format=", 12);
            trail_buf_append(&path, fmts[o->format], strlen(fmts[o->format]));
            if (o->now_text) {
                char t[32];
                trail_time_format(o->now_us, t);
                trail_buf_append(&path, "&now=", 5);
                trail_buf_append(&path, t, strlen(t));
            }
        }
    }
    if (!path.data)
        return cli_fail("report", "out of memory");
    st = fetch(o, path.data, &b);
    if (st == 0)
        st = write_out(o, &b);
    trail_buf_free(&path);
    trail_buf_free(&b);
    return st;
}

static int run_store(struct ropts *o, const struct trail_report *rep)
{
    struct trail_store *s;
    struct trail_index *ix;
    struct trail_store_opts so = {.read_only = 1};
    struct trail_store_report srep;
    struct trail_buf b = {0};
    char err[512];
    int r = trail_store_open(o->store, cli_catalog(), &so, &s, &srep);
    if (r == TRAIL_E_NOT_FOUND)
        return cli_fail("report", "%s: no store there", o->store);
    if (r < 0)
        return cli_fail("report", "%s: cannot open the store: %s", o->store, trail_strerror(r));
    if (srep.damaged)
        cli_note("trail report: %s: damage found (trail verify tells more):\n%s", o->store,
                 srep.message);
    if ((r = trail_index_open(s, NULL, &ix)) < 0) {
        trail_store_close(s);
        return cli_fail("report", "%s", trail_strerror(r));
    }
    r = trail_report_run(rep, ix, o->now_us, o->format, &b, err, sizeof(err));
    int st = r < 0 ? cli_fail("report", "%s", err) : write_out(o, &b);
    trail_buf_free(&b);
    trail_index_close(ix);
    trail_store_close(s);
    return st;
}

/* trail report run NAME --clickhouse URL: the same report over ClickHouse's copy */
static int run_ch(struct ropts *o, const struct trail_report *rep)
{
    struct trail_ch *ch;
    struct trail_buf b = {0};
    char err[512] = "";
    if (trail_ch_open(o->clickhouse, &o->ch, cli_catalog(), &ch, err, sizeof(err)) < 0)
        return cli_usage_error("report", "bad --clickhouse: %s", err);
    int r = trail_report_run_ch(rep, ch, o->now_us, o->format, &b, err, sizeof(err));
    int st = r == TRAIL_E_PARSE || r == -EINVAL ? cli_usage_error("report", "%s", err)
             : r < 0 ? cli_fail("report", "ClickHouse: %s", *err ? err : trail_strerror(r))
                     : write_out(o, &b);
    trail_buf_free(&b);
    trail_ch_close(ch);
    return st;
}

/* The string attribute key of ev into out (NUL-terminated, cut to n), "" when absent. */
static void attr_str(const struct trail_event *ev, const char *key, char *out, size_t n)
{
    struct trail_value v;
    out[0] = '\0';
    if (trail_event_attr_get(ev, key, &v) == 0 &&
        (v.type == TRAIL_TYPE_STRING || v.type == TRAIL_TYPE_ENUM))
        snprintf(out, n, "%.*s", (int)v.u.str.len, v.u.str.ptr);
}

/* trail report check FILE --store DIR: the file's SHA-256 among the run records' */
static int check_file(struct ropts *o)
{
    FILE *f = fopen(o->name, "rb");
    if (!f)
        return cli_fail("report", "%s: %s", o->name, strerror(errno));
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char buf[65536], h[32];
    unsigned int hl = 0;
    size_t n;
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        EVP_DigestUpdate(md, buf, n);
    int rerr = ferror(f);
    fclose(f);
    EVP_DigestFinal_ex(md, h, &hl);
    EVP_MD_CTX_free(md);
    if (rerr)
        return cli_fail("report", "%s: cannot read", o->name);
    char sha[65], needle[70];
    for (int i = 0; i < 32; i++)
        snprintf(sha + 2 * i, 3, "%02x", h[i]);
    snprintf(needle, sizeof(needle), " %s", sha);

    struct trail_store *s;
    struct trail_index *ix;
    struct trail_store_opts so = {.read_only = 1};
    struct trail_query *q = NULL;
    struct trail_results *res = NULL;
    struct trail_event *ev = NULL;
    char err[512];
    int r = trail_store_open(o->store, cli_catalog(), &so, &s, NULL);
    if (r < 0)
        return cli_fail("report", "%s: cannot open the store: %s", o->store, trail_strerror(r));
    if ((r = trail_index_open(s, NULL, &ix)) < 0) {
        trail_store_close(s);
        return cli_fail("report", "%s", trail_strerror(r));
    }
    int st = 1, found = 0;
    if (trail_query_new(cli_catalog(), &q) < 0 ||
        trail_query_set(q, "event", "trail_report_run", err, sizeof(err)) < 0 ||
        trail_query_set(q, "limit", "0", err, sizeof(err)) < 0 ||
        trail_query_set(q, "order", "oldest", err, sizeof(err)) < 0 ||
        trail_event_new(cli_catalog(), "x", &ev) < 0) {
        st = cli_fail("report", "out of memory");
    } else if ((r = trail_results_open(ix, q, &res, err, sizeof(err))) < 0) {
        st = cli_fail("report", "%s", err);
    } else {
        while (!found && (r = trail_results_next(res, ev)) == 1) {
            char files[4096], report[128], t[32];
            struct trail_value v;
            attr_str(ev, "files", files, sizeof(files));
            const char *at = strstr(files, needle);
            if (!at || !trail_event_is_own(ev) ||
                (at[strlen(needle)] && at[strlen(needle)] != '\n'))
                continue;
            const char *line = at;
            while (line > files && line[-1] != '\n')
                line--;
            attr_str(ev, "report", report, sizeof(report));
            t[0] = '\0';
            if (trail_event_attr_get(ev, "report_now", &v) == 0)
                trail_time_format(v.u.time_us, t);
            int64_t tree = trail_event_attr_get(ev, "tree_size", &v) == 0 ? v.u.i : 0;
            printf("%s: matches %.*s of the run of report %s for %s (record seq %llu, tree size "
                   "%lld)\n",
                   o->name, (int)(at - line), line, report, t,
                   (unsigned long long)trail_event_seq(ev), (long long)tree);
            found = 1;
            st = 0;
        }
        if (r < 0)
            st = cli_fail("report", "cannot read the store: %s", trail_strerror(r));
        else if (!found)
            printf("%s: no trail_report_run record holds its SHA-256 %s: not a file traild "
                   "filed, or changed since\n",
                   o->name, sha);
    }
    trail_results_free(res);
    trail_event_free(ev);
    trail_query_free(q);
    trail_index_close(ix);
    trail_store_close(s);
    return st;
}

static int run(struct ropts *o)
{
    if (!strcmp(o->verb, "check"))
        return check_file(o);
    if (o->url)
        return by_url(o);
    struct trail_reports *rs;
    struct trail_buf b = {0};
    int st = load(o, &rs);
    if (st)
        return st;
    const struct trail_report *rep = o->name ? trail_reports_find(rs, o->name) : NULL;
    if (o->name && !rep) {
        st = cli_usage_error("report", "no report named '%s' (trail report list)", o->name);
    } else if (!strcmp(o->verb, "list")) {
        if (o->format == TRAIL_REPORT_JSON)
            trail_reports_list_json(rs, &b, NULL, NULL);
        else
            trail_reports_list_table(rs, &b);
        st = write_out(o, &b);
    } else if (!strcmp(o->verb, "show")) {
        trail_report_describe(rep, &b);
        st = write_out(o, &b);
    } else {
        st = o->clickhouse ? run_ch(o, rep) : run_store(o, rep);
    }
    trail_buf_free(&b);
    trail_reports_free(rs);
    return st;
}

static int push(const char ***list, size_t *n, const char *v)
{
    const char **g = realloc(*list, (*n + 1) * sizeof(*g));
    if (!g)
        return -1;
    g[(*n)++] = v;
    *list = g;
    return 0;
}

int cmd_report(int argc, char **argv)
{
    struct ropts o = {0};
    const char *v, *fmt = NULL;
    int st = 0;
    if (cli_wants_help(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    for (int i = 1; i < argc && st == 0; i++) {
        int c;
        if ((c = cli_conn_opt(argv, argc, &i, &o.conn)) != 0) {
            if (c < 0)
                st = cli_usage_error("report", "%s needs a value", argv[i]);
        } else if ((c = cli_opt_value(argv, argc, &i, "--reports", &v)) != 0) {
            if (c < 0 || push(&o.dirs, &o.n_dirs, v) < 0)
                st = cli_usage_error("report", "--reports needs a directory");
        } else if ((c = cli_opt_value(argv, argc, &i, "--config", &v)) != 0) {
            if (c < 0 || push(&o.confs, &o.n_confs, v) < 0)
                st = cli_usage_error("report", "--config needs a file");
        } else if ((c = cli_opt_value(argv, argc, &i, "--store", &o.store)) != 0 ||
                   (c = cli_opt_value(argv, argc, &i, "--url", &o.url)) != 0 ||
                   (c = cli_opt_value(argv, argc, &i, "--clickhouse", &o.clickhouse)) != 0 ||
                   (c = cli_opt_value(argv, argc, &i, "--clickhouse-table", &o.ch.table)) != 0 ||
                   (c = cli_opt_value(argv, argc, &i, "--clickhouse-store", &o.ch.store_id)) != 0 ||
                   (c = cli_opt_value(argv, argc, &i, "--clickhouse-user", &o.ch.user)) != 0 ||
                   (c = cli_opt_value(argv, argc, &i, "--format", &fmt)) != 0 ||
                   (c = cli_opt_value(argv, argc, &i, "--now", &o.now_text)) != 0 ||
                   (c = cli_opt_value(argv, argc, &i, "--out", &o.out)) != 0 ||
                   (c = cli_opt_value(argv, argc, &i, "-o", &o.out)) != 0) {
            if (c < 0)
                st = cli_usage_error("report", "%s needs a value", argv[i]);
        } else if (argv[i][0] == '-') {
            st = cli_usage_error("report", "unknown option %s (trail report --help)", argv[i]);
        } else if (!o.verb) {
            o.verb = argv[i];
        } else if (!o.name) {
            o.name = argv[i];
        } else {
            st = cli_usage_error("report", "one report at a time: '%s' is too many", argv[i]);
        }
    }
    if (st == 0 && (!o.verb || (strcmp(o.verb, "list") && strcmp(o.verb, "show") &&
                                strcmp(o.verb, "run") && strcmp(o.verb, "check"))))
        st = cli_usage_error("report",
                             "say list, show NAME, run NAME or check FILE (trail report --help)");
    if (st == 0 && !strcmp(o.verb, "check") && (!o.store || o.url))
        st = cli_usage_error("report", "check needs --store DIR");
    if (st == 0 && strcmp(o.verb, "list") && !o.name)
        st = cli_usage_error("report", "%s needs the name of a report", o.verb);
    if (st == 0 && !strcmp(o.verb, "list") && o.name)
        st = cli_usage_error("report", "list takes no name");
    if (st == 0 && fmt && trail_report_format_parse(fmt, &o.format) < 0)
        st = cli_usage_error("report", "bad --format '%s': table, csv, json or html", fmt);
    if (st == 0 && o.now_text && trail_time_parse(o.now_text, strlen(o.now_text), &o.now_us) < 0)
        st = cli_usage_error("report", "bad --now '%s': use RFC 3339 (2026-11-30T12:00:00Z)",
                             o.now_text);
    if (st == 0 && !!o.store + !!o.url + !!o.clickhouse > 1)
        st = cli_usage_error("report", "one of --store, --url and --clickhouse");
    if (st == 0 && !strcmp(o.verb, "run") && !o.store && !o.url && !o.clickhouse)
        st = cli_usage_error("report", "run needs --store DIR, --url URL or --clickhouse URL");
    if (st == 0 && o.clickhouse && strcmp(o.verb, "run"))
        st = cli_usage_error("report", "--clickhouse goes with run");
    if (st == 0 && !o.clickhouse && (o.ch.table || o.ch.store_id || o.ch.user))
        st = cli_usage_error("report", "--clickhouse-table, --clickhouse-store and "
                                       "--clickhouse-user go with --clickhouse URL");
    o.ch.password = getenv("TRAIL_CLICKHOUSE_PASSWORD");
    if (st == 0 && o.url && (o.n_dirs || o.n_confs))
        st = cli_usage_error("report", "with --url the reports are traild's: no --reports or "
                                       "--config");
    if (st == 0 && o.url)
        st = cli_conn_opts("report", &o.conn, &o.copts);
    if (st == 0)
        st = run(&o);
    cli_conn_free(&o.conn);
    free(o.dirs);
    free(o.confs);
    return st;
}
