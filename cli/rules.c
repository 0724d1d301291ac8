/*
 * rules.c - `trail rules`: check Sigma rule files (errors with file, line and
 * column; warnings for fields the catalog never carries) and run rules over
 * events to see what would fire. The rules themselves are lib/detect/'s
 * (docs/detection.md).
 *
 * Not here: reading or matching rules (lib/detect/), evaluation inside
 * traild (daemon/detect/).
 */
#include "cli.h"
#include "detect.h"

#include <errno.h>
#include <jansson.h>
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
    "\n"
    "DESCRIPTION\n"
    "    RULES are Sigma rule files (YAML; several rules per file separated by\n"
    "    ---) or directories, of which every *.yml and *.yaml file is read in\n"
    "    name order. Correlations may name rules of any file given.\n"
    "    docs/detection.md is the supported subset of Sigma and the names of\n"
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
    "    a seq gets its line number. Windows are in event time, as in traild.\n"
    "    The rules' problems go to standard error, the alerts to standard\n"
    "    output.\n"
    "\n"
    "OPTIONS\n"
    "    --strict        check: a warning fails the check too\n"
    "    -q, --quiet     check: print the problems only\n"
    "    --events FILE   test: the events to run the rules over\n"
    "    -f, --format FORMAT\n"
    "        test: text (default): one line per alert: the time of the event\n"
    "        that fired it, the level, the rule's title, and for a\n"
    "        correlation the group, count and window; then 'seqs' and the\n"
    "        seqs of the matched events (first and last ten, '...' between).\n"
    "        json: one object per line: rule_id, rule, title, level,\n"
    "        severity, time, seq, and for a correlation type, group (an\n"
    "        object), count, window_start, window_end; events (how many\n"
    "        matched), first_seqs, last_seqs.\n"
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
    "    trail rules test rules/ --events rules/tests/password_guessing.fires.ndjson\n";

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
        json_t *o = json_object(), *first = json_array(), *last = json_array();
        json_object_set_new(o, "rule_id", json_string(r->id ? r->id : ""));
        json_object_set_new(o, "rule", json_string(r->name ? r->name : ""));
        json_object_set_new(o, "title", json_string(r->title));
        json_object_set_new(o, "level", json_string(level));
        json_object_set_new(o, "severity", json_integer(detect_level_severity(r->level)));
        json_object_set_new(o, "time", json_string(when));
        json_object_set_new(o, "seq", json_integer((json_int_t)trail_event_seq(a->ev)));
        if (r->corr) {
            json_t *g = json_object();
            for (size_t i = 0; i < a->n_group; i++)
                json_object_set_new(g, r->group_by[i], json_string(a->group_values[i]));
            json_object_set_new(o, "type", json_string(detect_corr_type_name(r->corr)));
            json_object_set_new(o, "group", g);
            json_object_set_new(o, "count", json_integer((json_int_t)a->count));
            json_object_set_new(o, "window_start", json_string(ws));
            json_object_set_new(o, "window_end", json_string(we));
        }
        json_object_set_new(o, "events", json_integer((json_int_t)a->n_seqs));
        for (size_t i = 0; i < a->n_first; i++)
            json_array_append_new(first, json_integer((json_int_t)a->first_seqs[i]));
        for (size_t i = 0; i < a->n_last; i++)
            json_array_append_new(last, json_integer((json_int_t)a->last_seqs[i]));
        json_object_set_new(o, "first_seqs", first);
        json_object_set_new(o, "last_seqs", last);
        char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
        if (s)
            puts(s);
        free(s);
        json_decref(o);
        return;
    }
    struct trail_buf b = {0};
    char head[600];
    snprintf(head, sizeof head, "%s %s %s", when, level, r->title);
    trail_buf_append(&b, head, strlen(head));
    if (r->corr) {
        for (size_t i = 0; i < a->n_group; i++) {
            snprintf(head, sizeof head, " %s=%s", r->group_by[i], a->group_values[i]);
            trail_buf_append(&b, head, strlen(head));
        }
        snprintf(head, sizeof head, " count=%llu window=%s/%s", (unsigned long long)a->count, ws,
                 we);
        trail_buf_append(&b, head, strlen(head));
    }
    trail_buf_append(&b, " seqs=", 6);
    fmt_seqs(&b, a);
    if (b.data)
        print_escaped(stdout, b.data);
    trail_buf_free(&b);
}

static int test(int argc, char **argv)
{
    const char *cmd = "rules test";
    struct checker c = {.cmd = cmd, .out = stderr, .quiet = true};
    struct tester t = {0};
    const char *events = NULL;
    struct paths paths = {0};
    int status = 0;
    for (int i = 2; i < argc && status == 0; i++) {
        const char *arg = argv[i], *v;
        int o;
        if ((o = cli_opt_value(argv, argc, &i, "--events", &v)) != 0) {
            if (o < 0)
                status = cli_usage_error(cmd, "--events needs a FILE");
            events = v;
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
    if (status == 0 && !events)
        status = cli_usage_error(cmd, "--events FILE is missing");
    struct detect_rules *rs = NULL;
    struct detect_engine *e = NULL;
    struct trail_buf buf = {0};
    if (status == 0 && detect_rules_new(cli_catalog(), &rs) < 0)
        status = cli_fail(cmd, "out of memory");
    if (status == 0)
        status = load(&c, &paths, rs);
    if (status == 0) {
        detect_rules_finish(rs, on_diag, &c);
        if (c.n_errors)
            status = EXIT_USAGE;
    }
    if (status == 0 && detect_engine_new(rs, &e) < 0)
        status = cli_fail(cmd, "out of memory");
    int r;
    if (status == 0 && (r = cli_read_file(events, MAX_EVENTS_FILE, &buf)) < 0)
        status = cli_usage_error(cmd, "%s: %s", events, trail_strerror(r));
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
            cli_fail(cmd, "%s line %llu: %s", events, (unsigned long long)line, err);
            status = 1;
            continue;
        }
        if (!trail_event_seq(ev))
            trail_event_set_seq(ev, line);
        if (detect_engine_feed(e, ev, on_alert, &t) < 0)
            status = cli_fail(cmd, "out of memory");
        trail_event_free(ev);
    }
    trail_buf_free(&buf);
    detect_engine_free(e);
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
