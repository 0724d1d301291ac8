/*
 * rules.c - `trail rules`: check Sigma rule files (errors with file, line and
 * column; warnings for fields the catalog never carries) and run rules over
 * events to see what would fire. The rules themselves are lib/detect/'s
 * (docs/rules.md).
 *
 * Not here: reading or matching rules (lib/detect/), evaluation inside
 * traild (daemon/detect/).
 */
#include "cli.h"
#include "detect.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_EVENTS_FILE (1u << 30)

static const char help[] =
    "NAME\n"
    "    trail rules - check Sigma detection rules and run them over events\n"
    "\n"
    "SYNOPSIS\n"
    "    trail rules check [--strict] [--quiet] RULES...\n"
    "    trail rules test RULES... --events FILE [--format text|json]\n"
    "    trail rules test RULES... --store DIR [--since TIME] [--until TIME]\n"
    "                     [--no-skim] [--format text|json]\n"
    "\n"
    "DESCRIPTION\n"
    "    RULES are Sigma rule files (YAML; several rules per file separated by\n"
    "    ---) or directories, of which every *.yml and *.yaml file is read in\n"
    "    name order. Correlations may name rules of any file given.\n"
    "    docs/rules.md is the supported subset of Sigma and the names of\n"
    "    trail's fields (id, severity, host, @input, @peer, @principal,\n"
    "    @origin, and attribute keys).\n"
    "\n"
    "    check reads every rule and prints each problem as\n"
    "        FILE:LINE:COLUMN: error: MESSAGE\n"
    "        FILE:LINE:COLUMN: warning: MESSAGE\n"
    "    then one line per file (its rules, and how many are not applicable:\n"
    "    rules of another logsource product, read but never matched) and a\n"
    "    total. A rule with an error is left out, its neighbours are not.\n"
    "    Warnings: an attribute key that no event of the catalog carries, an\n"
    "    id that is not in the catalog, an id used by two rules, a\n"
    "    correlation condition with only an upper bound.\n"
    "\n"
    "    test runs the rules over the events of FILE (NDJSON, one event per\n"
    "    line, as 'trail export' prints them; '-' is standard input) in the\n"
    "    order given, and prints each alert that would fire. An event without\n"
    "    a seq gets its line number. With --store, the rules run over the\n"
    "    store's records in seq order, as traild runs them (by the same code:\n"
    "    the head of each record, its id, origin, severity and time, is read,\n"
    "    and the record decoded only when some rule may select it or its time\n"
    "    ends a grace), trail's own trail_alert records left out (a backtest:\n"
    "    what would have fired); --since and --until keep the records whose\n"
    "    time is in [since, until): RFC 3339, now, or a time before now (15m,\n"
    "    24h, 7d).\n"
    "    Windows and graces are in event time, as in traild. A rule with a\n"
    "    grace that is still open at the end of the input prints its\n"
    "    summary then (traild prints it when a later event comes).\n"
    "    The rules' problems go to standard error, the alerts to standard\n"
    "    output.\n"
    "\n"
    "OPTIONS\n"
    "    --strict        check: a warning fails the check too\n"
    "    -q, --quiet     check: print the problems only\n"
    "    --events FILE   test: the events to run the rules over\n"
    "    --store DIR     test: the store whose records to run the rules over\n"
    "    --since TIME, --until TIME\n"
    "                    test --store: records with a time in [since, until)\n"
    "    --no-skim       test --store: decode every record instead of reading\n"
    "                    the head of most (slower; the same alerts, a check)\n"
    "    -f, --format FORMAT\n"
    "        test: text (default): one line per alert: the time of the event\n"
    "        that fired it, the level, the rule's title, and for a\n"
    "        correlation the group, count and window; then 'seqs' and the\n"
    "        seqs of the matched events (first and last ten, '...' between).\n"
    "        An alert that opens a grace adds grace_until=TIME; the summary\n"
    "        at its end says held=N (firings held back), their window, and\n"
    "        updates=SEQ (the seq of the alert it updates).\n"
    "        json: one object per line: rule_id, rule, title, level,\n"
    "        severity, time, seq, and for a correlation type, group (an\n"
    "        object), count, window_start, window_end; events (how many\n"
    "        matched), first_seqs, last_seqs; grace_until, and for a\n"
    "        summary summary (true) and updates_seq.\n"
    "    -h, --help      print this help and exit\n"
    "\n"
    "EXIT STATUS\n"
    "    0  check: no error (warnings allowed unless --strict); test: ran\n"
    "    1  check: a rule has an error (with --strict, or a warning); test:\n"
    "       an event line could not be read (named on standard error)\n"
    "    2  bad usage: an unknown option, no RULES, a RULES or FILE that\n"
    "       cannot be read; test: a rule with an error\n"
    "\n"
    "EXAMPLES\n"
    "    trail rules check rules/\n"
    "    trail rules check --strict rules/password_guessing.yml\n"
    "    trail rules test rules/ --events rules/tests/password_guessing.fires.ndjson\n"
    "    trail rules test rules/ --store /var/lib/trail --since 7d\n";

struct checker {
    const char *cmd;
    FILE *out; /* where the problems go: stdout for check, stderr beside test's alerts */
    bool quiet;
    int n_errors, n_warnings;
};

/* a line of output that may quote a rule file: escaped as every output is */
static void print_escaped(FILE *out, const char *s)
{
    struct trail_buf b = {0};
    if (trail_text_escape(&b, s, strlen(s), NULL, TRAIL_ESC_TAB) == 0 &&
        trail_buf_append(&b, "\n", 1) == 0)
        fwrite(b.data, 1, b.len, out);
    trail_buf_free(&b);
}

static void on_diag(void *ctx, const struct detect_diag *d)
{
    struct checker *c = ctx;
    char line[1024];
    if (d->warning)
        c->n_warnings++;
    else
        c->n_errors++;
    if (d->line)
        snprintf(line, sizeof line, "%s:%u:%u: %s: %s", d->file, d->line, d->column,
                 d->warning ? "warning" : "error", d->msg);
    else
        snprintf(line, sizeof line, "%s: %s: %s", d->file, d->warning ? "warning" : "error",
                 d->msg);
    print_escaped(c->out, line);
}

struct paths {
    char **v;
    size_t n, cap;
};

static int paths_add(struct paths *p, const char *s)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        char **v = realloc(p->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        p->v = v;
        p->cap = cap;
    }
    if (!(p->v[p->n] = strdup(s)))
        return -ENOMEM;
    p->n++;
    return 0;
}

static void paths_free(struct paths *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i]);
    free(p->v);
}

/* RULES arguments to files: a directory gives its *.yml and *.yaml in name order. */
static int expand(const char *cmd, const char *arg, struct paths *out)
{
    struct stat st;
    if (stat(arg, &st) < 0)
        return cli_usage_error(cmd, "%s: %s", arg, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return paths_add(out, arg) < 0 ? cli_fail(cmd, "out of memory") : 0;
    char **v;
    size_t n;
    int r = detect_rule_files(arg, &v, &n);
    if (r < 0)
        return cli_usage_error(cmd, "%s: %s", arg, strerror(-r));
    for (size_t i = 0; i < n; i++) {
        if (r == 0)
            r = paths_add(out, v[i]);
        free(v[i]);
    }
    free(v);
    return r < 0 ? cli_fail(cmd, "out of memory") : 0;
}

/*
 * Read every file of paths into rs, counting into c; print a line per file
 * unless quiet. Returns 0, or 2 when a file cannot be read.
 */
static int load(struct checker *c, const struct paths *paths, struct detect_rules *rs)
{
    int status = 0;
    for (size_t i = 0; i < paths->n; i++) {
        size_t before = rs->n_rules;
        int r = detect_rules_add_file(rs, paths->v[i], on_diag, c);
        if (r < 0 && r != -ENOMEM)
            status = EXIT_USAGE;
        else if (r == -ENOMEM)
            return cli_fail(c->cmd, "out of memory");
        if (c->quiet || r < 0)
            continue;
        size_t n = rs->n_rules - before, na = 0;
        for (size_t k = before; k < rs->n_rules; k++)
            na += !rs->rules[k]->applicable;
        char line[600];
        snprintf(line, sizeof line, "%s: %zu rule%s", paths->v[i], n, n == 1 ? "" : "s");
        if (na) {
            size_t l = strlen(line);
            snprintf(line + l, sizeof line - l, ", %zu not applicable (another logsource product)",
                     na);
        }
        print_escaped(stdout, line);
    }
    return status;
}

static int check(int argc, char **argv)
{
    const char *cmd = "rules check";
    struct checker c = {.cmd = cmd, .out = stdout};
    bool strict = false;
    struct paths paths = {0};
    int status = 0;
    for (int i = 2; i < argc && status == 0; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--strict") == 0)
            strict = true;
        else if (cli_is_option(arg, "-q", "--quiet"))
            c.quiet = true;
        else if (arg[0] == '-' && arg[1])
            status = cli_usage_error(cmd, "unknown option '%s' (see 'trail rules --help')", arg);
        else
            status = expand(cmd, arg, &paths);
    }
    if (status == 0 && paths.n == 0)
        status = cli_usage_error(cmd, "no rule file given (and no *.yml in the directories)");
    struct detect_rules *rs = NULL;
    if (status == 0 && detect_rules_new(cli_catalog(), &rs) < 0)
        status = cli_fail(cmd, "out of memory");
    if (status == 0)
        status = load(&c, &paths, rs);
    if (rs) {
        detect_rules_finish(rs, on_diag, &c);
        if (!c.quiet) {
            size_t na = 0, nc = 0;
            for (size_t k = 0; k < rs->n_rules; k++) {
                na += !rs->rules[k]->applicable;
                nc += rs->rules[k]->corr != DCT_NONE;
            }
            printf("%zu rules (%zu correlations, %zu not applicable), %d errors, %d warnings\n",
                   rs->n_rules, nc, na, c.n_errors, c.n_warnings);
        }
        if (status == 0 && (c.n_errors || (strict && c.n_warnings)))
            status = 1;
    }
    detect_rules_free(rs);
    paths_free(&paths);
    return status;
}

struct tester {
    bool json;
};

static void fmt_seqs(struct trail_buf *b, const struct detect_alert *a)
{
    char num[32];
    for (size_t i = 0; i < a->n_first; i++) {
        int n =
            snprintf(num, sizeof num, "%s%llu", i ? "," : "", (unsigned long long)a->first_seqs[i]);
        trail_buf_append(b, num, (size_t)n);
    }
    if (a->n_first + a->n_last < a->n_seqs)
        trail_buf_append(b, ",...", 4);
    for (size_t i = 0; i < a->n_last; i++) {
        int n = snprintf(num, sizeof num, ",%llu", (unsigned long long)a->last_seqs[i]);
        trail_buf_append(b, num, (size_t)n);
    }
}

/* the alert's JSON: a member (prefix holds the comma and the key) with a string or a number */
static void jstr(struct trail_buf *o, const char *prefix, const char *s)
{
    trail_buf_append(o, prefix, strlen(prefix));
    trail_json_string(o, s, strlen(s));
}

static void jint(struct trail_buf *o, const char *prefix, uint64_t v)
{
    char num[24];
    int n = snprintf(num, sizeof num, "%" PRIu64, v);
    trail_buf_append(o, prefix, strlen(prefix));
    trail_buf_append(o, num, (size_t)n);
}

static void on_alert(void *ctx, const struct detect_alert *a)
{
    struct tester *t = ctx;
    const struct detect_rule *r = a->rule;
    char when[32], ws[32], we[32];
    trail_time_format(trail_event_time(a->ev), when);
    trail_time_format(a->window_start_us, ws);
    trail_time_format(a->window_end_us, we);
    const char *level = r->level ? detect_level_name(r->level) : "medium";
    if (t->json) {
        /* one compact object a line; strings through trail_json_string, the one JSON escaper */
        struct trail_buf o = {0};
        jstr(&o, "{\"rule_id\":", r->id ? r->id : "");
        jstr(&o, ",\"rule\":", r->name ? r->name : "");
        jstr(&o, ",\"title\":", r->title);
        jstr(&o, ",\"level\":", level);
        jint(&o, ",\"severity\":", (uint64_t)detect_level_severity(r->level));
        jstr(&o, ",\"time\":", when);
        jint(&o, ",\"seq\":", trail_event_seq(a->ev));
        if (r->corr) {
            jstr(&o, ",\"type\":", detect_corr_type_name(r->corr));
            for (size_t i = 0; i < a->n_group; i++) {
                trail_buf_append(&o, i ? "," : ",\"group\":{", i ? 1 : 10);
                trail_json_string(&o, r->group_by[i], strlen(r->group_by[i]));
                jstr(&o, ":", a->group_values[i]);
            }
            trail_buf_append(&o, a->n_group ? "}" : ",\"group\":{}", a->n_group ? 1 : 11);
            jint(&o, ",\"count\":", (uint64_t)a->count);
            jstr(&o, ",\"window_start\":", ws);
            jstr(&o, ",\"window_end\":", we);
        }
        if (a->grace_until_us) {
            char gu[32];
            trail_time_format(a->grace_until_us, gu);
            jstr(&o, ",\"grace_until\":", gu);
        }
        if (a->summary) {
            trail_buf_append(&o, ",\"summary\":true", 15);
            jint(&o, ",\"updates_seq\":", a->updates_seq);
        }
        jint(&o, ",\"events\":", (uint64_t)a->n_seqs);
        trail_buf_append(&o, ",\"first_seqs\":[", 15);
        for (size_t i = 0; i < a->n_first; i++)
            jint(&o, i ? "," : "", a->first_seqs[i]);
        trail_buf_append(&o, "],\"last_seqs\":[", 15);
        for (size_t i = 0; i < a->n_last; i++)
            jint(&o, i ? "," : "", a->last_seqs[i]);
        trail_buf_append(&o, "]}\n", 3);
        if (o.len)
            fwrite(o.data, 1, o.len, stdout);
        trail_buf_free(&o);
        return;
    }
    struct trail_buf b = {0};
    char head[600];
    snprintf(head, sizeof head, "%s %s %s", when, level, r->title);
    trail_buf_append(&b, head, strlen(head));
    if (a->summary) {
        /* the end of a grace: the firings held back since the alert of updates_seq */
        for (size_t i = 0; i < a->n_group; i++) {
            snprintf(head, sizeof head, " %s=%s", r->group_by[i], a->group_values[i]);
            trail_buf_append(&b, head, strlen(head));
        }
        snprintf(head, sizeof head, " held=%llu window=%s/%s updates=%llu",
                 (unsigned long long)a->count, ws, we, (unsigned long long)a->updates_seq);
        trail_buf_append(&b, head, strlen(head));
    } else if (r->corr) {
        for (size_t i = 0; i < a->n_group; i++) {
            snprintf(head, sizeof head, " %s=%s", r->group_by[i], a->group_values[i]);
            trail_buf_append(&b, head, strlen(head));
        }
        snprintf(head, sizeof head, " count=%llu window=%s/%s", (unsigned long long)a->count, ws,
                 we);
        trail_buf_append(&b, head, strlen(head));
    }
    if (a->grace_until_us && !a->summary) {
        char gu[32];
        trail_time_format(a->grace_until_us, gu);
        snprintf(head, sizeof head, " grace_until=%s", gu);
        trail_buf_append(&b, head, strlen(head));
    }
    trail_buf_append(&b, " seqs=", 6);
    fmt_seqs(&b, a);
    if (b.data)
        print_escaped(stdout, b.data);
    trail_buf_free(&b);
}

/* --since/--until: RFC 3339, "now", or a time before now (trail_duration_parse: 15m, 7d) */
static int parse_when(const char *v, int64_t *ret)
{
    int64_t ago;
    if (strcmp(v, "now") == 0) {
        *ret = trail_now();
        return 0;
    }
    if (trail_duration_parse(v, strlen(v), &ago) == 0) {
        *ret = trail_now() - ago;
        return 0;
    }
    return trail_time_parse(v, strlen(v), ret) < 0 ? -1 : 0;
}

/* what test runs the rules over, and the last event fed (for the graces still open) */
struct feed {
    const char *cmd;
    struct detect_engine *e;
    struct tester *t;
    struct trail_event *last;
};

/* Feed ev (taken) to the rules; 0, or the exit status of a failure (printed). */
static int feed_one(struct feed *f, struct trail_event *ev)
{
    int r = detect_engine_feed(f->e, ev, on_alert, f->t);
    trail_event_free(f->last);
    f->last = ev;
    return r < 0 ? cli_fail(f->cmd, "out of memory") : 0;
}

static int feed_file(struct feed *f, const char *events)
{
    struct trail_buf buf = {0};
    int r, status = 0;
    if ((r = cli_read_file(events, MAX_EVENTS_FILE, &buf)) < 0)
        return cli_usage_error(f->cmd, "%s: %s", events, trail_strerror(r));
    uint64_t line = 0;
    for (size_t pos = 0; status == 0 && pos < buf.len;) {
        const char *s = buf.data + pos, *nl = memchr(s, '\n', buf.len - pos);
        size_t len = nl ? (size_t)(nl - s) : buf.len - pos;
        pos += len + (nl != NULL);
        line++;
        if (len == 0 || (len == 1 && s[0] == '\r'))
            continue;
        struct trail_event *ev;
        char err[256];
        /* a file the user holds, for a backtest: its provenance members count */
        if (trail_event_from_stored_json(cli_catalog(), s, len, &ev, err, sizeof err) < 0) {
            cli_fail(f->cmd, "%s line %llu: %s", events, (unsigned long long)line, err);
            status = 1;
            continue;
        }
        if (!trail_event_seq(ev))
            trail_event_set_seq(ev, line);
        status = feed_one(f, ev);
    }
    trail_buf_free(&buf);
    return status;
}

/*
 * The records of a store in seq order, as traild evaluates them, those with a
 * time in [since, until) only: each told to the rules by its head and decoded
 * only when some rule may select it (skim false: every one decoded), through
 * the call traild's detection thread makes (detect_engine_feed_stored).
 * Records are in seq order, not time order, so the whole store after
 * --since's first record is read.
 */
static int feed_store(struct feed *f, const char *dir, int64_t since, int64_t until, bool skim)
{
    struct trail_store *s;
    struct trail_store_opts o = {.read_only = 1};
    struct trail_store_report rep;
    int r = trail_store_open(dir, cli_catalog(), &o, &s, &rep);
    if (r == TRAIL_E_NOT_FOUND)
        return cli_usage_error(f->cmd, "%s: no store there", dir);
    if (r < 0)
        return cli_usage_error(f->cmd, "%s: cannot open the store: %s", dir, trail_strerror(r));
    struct trail_store_iter *it = NULL;
    struct trail_event *ev = NULL;
    int status = 0;
    if (trail_event_new(cli_catalog(), "x", &ev) < 0 ||
        trail_store_iter_new(s, TRAIL_ITER_FORWARD, &it) < 0 ||
        (r = since > INT64_MIN ? trail_store_iter_seek_time(it, since) : 0) < 0) {
        trail_event_free(ev);
        trail_store_iter_free(it);
        trail_store_close(s);
        return cli_fail(f->cmd, "%s: cannot read the store", dir);
    }
    uint64_t last = 0;  /* the seq of the last record evaluated */
    bool holds = false; /* ev holds it, decoded */
    for (;;) {
        struct trail_record_head h;
        r = trail_store_iter_next_head(it, &h);
        if (r == 0)
            break;
        if (r == 1 && (h.time_us < since || h.time_us >= until))
            continue;
        if (r == 1)
            r = detect_engine_feed_stored(f->e, it, &h, ev, skim, on_alert, f->t);
        if (r < 0) {
            if (r == -ENOMEM)
                status = cli_fail(f->cmd, "out of memory");
            else
                status = cli_fail(f->cmd,
                                  "%s: reading the store: %s (the alerts above are "
                                  "those of the records before)",
                                  dir, trail_strerror(r));
            holds = false; /* a failed decode leaves ev reset */
            break;
        }
        last = h.seq;
        holds = r == 1;
    }
    /* the graces still open are summed up with the last record evaluated as the one that
       ends them, as when every record is decoded: read again when only its head was */
    if (last && !holds) {
        trail_store_iter_seek_seq(it, last);
        holds = trail_store_iter_next(it, ev) == 1 && trail_event_seq(ev) == last;
    }
    if (holds) {
        f->last = ev;
        ev = NULL;
    }
    trail_event_free(ev);
    trail_store_iter_free(it);
    trail_store_close(s);
    return status;
}

static int test(int argc, char **argv)
{
    const char *cmd = "rules test";
    struct checker c = {.cmd = cmd, .out = stderr, .quiet = true};
    struct tester t = {0};
    const char *events = NULL, *store = NULL;
    int64_t since = INT64_MIN, until = INT64_MAX;
    bool skim = true;
    struct paths paths = {0};
    int status = 0;
    for (int i = 2; i < argc && status == 0; i++) {
        const char *arg = argv[i], *v;
        int o;
        if (strcmp(arg, "--no-skim") == 0) {
            skim = false;
        } else if ((o = cli_opt_value(argv, argc, &i, "--events", &v)) != 0) {
            if (o < 0)
                status = cli_usage_error(cmd, "--events needs a FILE");
            events = v;
        } else if ((o = cli_opt_value(argv, argc, &i, "--store", &v)) != 0) {
            if (o < 0)
                status = cli_usage_error(cmd, "--store needs a DIR");
            store = v;
        } else if ((o = cli_opt_value(argv, argc, &i, "--since", &v)) != 0) {
            if (o < 0 || parse_when(v, &since) < 0)
                status = cli_usage_error(cmd, "--since needs a time: RFC 3339, now, 15m, 24h, 7d");
        } else if ((o = cli_opt_value(argv, argc, &i, "--until", &v)) != 0) {
            if (o < 0 || parse_when(v, &until) < 0)
                status = cli_usage_error(cmd, "--until needs a time: RFC 3339, now, 15m, 24h, 7d");
        } else if (cli_is_option(arg, "-f", "--format")) {
            v = cli_option_value(argc, argv, &i, arg);
            if (!v || (strcmp(v, "text") != 0 && strcmp(v, "json") != 0))
                status = cli_usage_error(cmd, "--format needs text or json");
            else
                t.json = strcmp(v, "json") == 0;
        } else if (arg[0] == '-' && arg[1]) {
            status = cli_usage_error(cmd, "unknown option '%s' (see 'trail rules --help')", arg);
        } else {
            status = expand(cmd, arg, &paths);
        }
    }
    if (status == 0 && paths.n == 0)
        status = cli_usage_error(cmd, "no rule file given");
    if (status == 0 && !events == !store)
        status = cli_usage_error(cmd, "give either --events FILE or --store DIR");
    if (status == 0 && events && (since > INT64_MIN || until < INT64_MAX || !skim))
        status = cli_usage_error(cmd, "--since, --until and --no-skim go with --store");
    struct detect_rules *rs = NULL;
    struct feed f = {.cmd = cmd, .t = &t};
    if (status == 0 && detect_rules_new(cli_catalog(), &rs) < 0)
        status = cli_fail(cmd, "out of memory");
    if (status == 0)
        status = load(&c, &paths, rs);
    if (status == 0) {
        detect_rules_finish(rs, on_diag, &c);
        if (c.n_errors)
            status = EXIT_USAGE;
    }
    if (status == 0 && detect_engine_new(rs, &f.e) < 0)
        status = cli_fail(cmd, "out of memory");
    if (status == 0)
        status = events ? feed_file(&f, events) : feed_store(&f, store, since, until, skim);
    /* the graces still open end with the input: their summaries now */
    if (f.e && f.last)
        detect_engine_finish(f.e, f.last, on_alert, &t);
    trail_event_free(f.last);
    detect_engine_free(f.e);
    detect_rules_free(rs);
    paths_free(&paths);
    return status;
}

int cmd_rules(int argc, char **argv)
{
    if (argc < 2 || cli_wants_help(argc, argv)) {
        if (argc < 2) {
            fputs(help, stderr);
            return EXIT_USAGE;
        }
        fputs(help, stdout);
        return 0;
    }
    if (strcmp(argv[1], "check") == 0)
        return check(argc, argv);
    if (strcmp(argv[1], "test") == 0)
        return test(argc, argv);
    return cli_usage_error("rules", "unknown subcommand '%s': check or test", argv[1]);
}
