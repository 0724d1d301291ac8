/*
 * events.c - `trail events`: list and filter the event catalog (built-in
 * events and the deployment's custom ones) as an aligned table, TSV, JSON or
 * a Markdown table.
 *
 * Not here: the catalog itself (lib/event/catalog.c, catalog/events.cat) and the
 * severity filter's grammar (trail_severity_range_parse in lib/event/severity.c).
 */
#include "cli.h"

#include <assert.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MATCH 64

static const char help[] =
    "NAME\n"
    "    trail events - list and filter the event catalog\n"
    "\n"
    "SYNOPSIS\n"
    "    trail events [--match GLOB]... [--severity EXPR] [--format table|json|tsv|markdown]\n"
    "\n"
    "DESCRIPTION\n"
    "    Prints the events trail knows: the 214 events of the identity server's\n"
    "    catalog and any custom events of the deployment, in id order. Each has an\n"
    "    id, a severity, a description kept verbatim from the catalog (typos\n"
    "    included) and a schema of typed attributes. Without options every event\n"
    "    is listed. docs/events.md and man trail(1) describe the catalog.\n"
    "\n"
    "OPTIONS\n"
    "    -m, --match GLOB\n"
    "        Only events whose id matches the shell pattern GLOB ('*' any run,\n"
    "        '?' one character, '[a-z]' a class, '[!a-z]' its complement, '\\'\n"
    "        quotes the next character). The pattern must match the whole id:\n"
    "        'saml' matches nothing, '*saml*' every SAML event. Give --match\n"
    "        more than once to list events matching any of the patterns.\n"
    "\n"
    "    -s, --severity EXPR\n"
    "        Only events whose severity is in EXPR (see SEVERITY). Given twice,\n"
    "        the last one counts.\n"
    "\n"
    "    --own\n"
    "        List trail's own events instead: the records trail writes itself\n"
    "        (trail_run_*, trail_config_*, trail_auth_failed, trail_events_purged,\n"
    "        trail_event_rejected, trail_store_*). No input can send these ids.\n"
    "\n"
    "    -f, --format FORMAT\n"
    "        How to print the events (see FORMATS); table by default.\n"
    "\n"
    "    -h, --help\n"
    "        Print this help and exit.\n"
    "\n"
    "SEVERITY\n"
    "    The scale: 1 TRACE, 2 DEBUG, 3 INFO, 4 NOTICE, 6 WARNING, 7 ERROR,\n"
    "    8 CRITICAL, 9 ALERT, 10 EMERGENCY (5 is unassigned). A LEVEL is a name in\n"
    "    any case or its number. EXPR is one of:\n"
    "        LEVEL            exactly that level             WARNING\n"
    "        >=LEVEL, >LEVEL  at least / above that level     '>=WARNING'\n"
    "        <=LEVEL, <LEVEL  at most / below that level      '<NOTICE'\n"
    "        LOW..HIGH        from LOW to HIGH, both included NOTICE..ERROR, 4..7\n"
    "    Quote expressions with < or > from the shell.\n"
    "\n"
    "FORMATS\n"
    "    table     aligned columns ID, SEVERITY, DESCRIPTION with a header line.\n"
    "    tsv       one line per event, no header, tab-separated: id, severity\n"
    "              number, severity name, description. A tab, newline, carriage\n"
    "              return or backslash inside a field is written as \\t, \\n, \\r\n"
    "              or \\\\, any other control character as \\uXXXX.\n"
    "    json      one JSON array of objects: id, severity, severity_name,\n"
    "              description, note (when the catalog has one), custom (true\n"
    "              for an event the deployment declared) and attrs, an array of\n"
    "              {key, type, required, indexed, enum (enum types only), doc}.\n"
    "    markdown  a Markdown table: event id, severity, description.\n"
    "\n"
    "EXIT STATUS\n"
    "    0  at least one event was printed\n"
    "    1  no event matched the filters (json prints [], the others nothing)\n"
    "    2  bad usage: an unknown option, a malformed GLOB, a bad severity\n"
    "       expression or an unknown format; the message names it\n"
    "\n"
    "EXAMPLES\n"
    "    trail events --severity '>=WARNING'\n"
    "    trail events --match 'auth_entrypoints_saml_*' --format tsv\n"
    "    trail events --match '*bankid*' --match '*freja*' --severity NOTICE\n"
    "    trail events --match core_server_events_purged --format json\n";

enum format { FORMAT_TABLE, FORMAT_JSON, FORMAT_TSV, FORMAT_MARKDOWN };

struct filter {
    const char *globs[MAX_MATCH];
    int n_globs;
    int sev_min, sev_max;
    int own; /* 1: trail's own events (trail_*) instead of the identity server's */
};

/*
 * Check a shell pattern: not empty, every '[' closed, no '\' at the end.
 * Returns NULL when it is well-formed, else what is wrong with it.
 */
static const char *glob_problem(const char *pat)
{
    if (!*pat)
        return "the pattern is empty";
    for (const char *p = pat; *p; p++) {
        if (*p == '\\') {
            if (!p[1])
                return "it ends with a lone '\\'";
            p++;
        } else if (*p == '[') {
            const char *q = p + 1;
            if (*q == '!' || *q == '^')
                q++;
            if (*q == ']') /* a ']' first in the class is an ordinary character */
                q++;
            while (*q && *q != ']')
                q++;
            if (!*q)
                return "a '[' is not closed with ']'";
            p = q;
        }
    }
    return NULL;
}

static int wanted(const struct filter *f, const struct trail_event_def *def)
{
    if ((def->custom == TRAIL_DEF_OWN) != (f->own != 0))
        return 0;
    if (def->severity < f->sev_min || def->severity > f->sev_max)
        return 0;
    if (f->n_globs == 0)
        return 1;
    for (int i = 0; i < f->n_globs; i++)
        if (fnmatch(f->globs[i], def->id, 0) == 0)
            return 1;
    return 0;
}

/*
 * Catalog text (a custom event's description is the deployment's) on one
 * line, escaped as every text output is (trail_text_escape): specials get a
 * backslash, unsafe characters become \n, \r, \t (flags), \uXXXX or \xHH.
 */
static void put_escaped(const char *s, const char *specials, unsigned flags, FILE *out)
{
    struct trail_buf b = {0};
    if (trail_text_escape(&b, s, strlen(s), specials, flags) == 0 && b.len)
        fwrite(b.data, 1, b.len, out);
    trail_buf_free(&b);
}

/* Free text on one line of a table. */
static void put_flat(const char *s, FILE *out)
{
    put_escaped(s, NULL, TRAIL_ESC_NL, out);
}

static void put_tsv_field(const char *s, FILE *out)
{
    put_escaped(s, "\\", TRAIL_ESC_NL | TRAIL_ESC_TAB, out);
}

/* Markdown table cell text: the characters the docs generator escapes, on one line. */
static void put_markdown(const char *s, FILE *out)
{
    put_escaped(s, "\\|*_<>`", 0, out);
}

/*
 * The catalog as JSON: an array of events, each an object with its
 * attributes, indented by two spaces per level. Every string goes through
 * trail_json_string, the one JSON escaper of trail's outputs (control
 * characters, DEL, C1, U+2028/9 and bytes that are not UTF-8 escaped, as
 * docs/wire-formats.md "Unsafe characters" says).
 */
struct jw {
    struct trail_buf b;
    int depth;    /* open objects and arrays */
    int first[8]; /* per depth: no member written yet */
    int bad;
};

static void jw_raw(struct jw *w, const char *s)
{
    w->bad |= trail_buf_append(&w->b, s, strlen(s)) < 0;
}

static void jw_indent(struct jw *w)
{
    jw_raw(w, "\n");
    for (int i = 0; i < w->depth; i++)
        jw_raw(w, "  ");
}

/* before a member or an element: the comma, the line and the key, if any */
static void jw_next(struct jw *w, const char *key)
{
    if (w->depth > 0) {
        if (!w->first[w->depth])
            jw_raw(w, ",");
        w->first[w->depth] = 0;
        jw_indent(w);
    }
    if (key) {
        w->bad |= trail_json_string(&w->b, key, strlen(key)) < 0;
        jw_raw(w, ": ");
    }
}

static void jw_open(struct jw *w, const char *key, const char *brace)
{
    jw_next(w, key);
    jw_raw(w, brace);
    assert(w->depth + 1 < (int)(sizeof(w->first) / sizeof(w->first[0])));
    w->first[++w->depth] = 1;
}

static void jw_close(struct jw *w, const char *brace)
{
    int empty = w->first[w->depth];
    w->depth--;
    if (!empty)
        jw_indent(w);
    jw_raw(w, brace);
}

static void jw_str(struct jw *w, const char *key, const char *s)
{
    jw_next(w, key);
    w->bad |= trail_json_string(&w->b, s, strlen(s)) < 0;
}

static void jw_lit(struct jw *w, const char *key, const char *lit)
{
    jw_next(w, key);
    jw_raw(w, lit);
}

static void attr_json(struct jw *w, const struct trail_attr_def *a)
{
    jw_open(w, NULL, "{");
    jw_str(w, "key", a->key);
    jw_str(w, "type", trail_type_name(a->type));
    jw_lit(w, "required", a->flags & TRAIL_ATTR_REQUIRED ? "true" : "false");
    jw_lit(w, "indexed", a->flags & TRAIL_ATTR_INDEXED ? "true" : "false");
    if (a->type == TRAIL_TYPE_ENUM) {
        jw_open(w, "enum", "[");
        for (uint16_t i = 0; i < a->n_enum; i++)
            jw_str(w, NULL, a->enum_values[i]);
        jw_close(w, "]");
    }
    if (a->doc)
        jw_str(w, "doc", a->doc);
    jw_close(w, "}");
}

static void event_json(struct jw *w, const struct trail_event_def *def)
{
    char sev[16];
    snprintf(sev, sizeof(sev), "%d", def->severity);
    jw_open(w, NULL, "{");
    jw_str(w, "id", def->id);
    jw_lit(w, "severity", sev);
    jw_str(w, "severity_name", trail_severity_name(def->severity));
    jw_str(w, "description", def->description);
    if (def->note)
        jw_str(w, "note", def->note);
    jw_lit(w, "custom", def->custom ? "true" : "false");
    jw_open(w, "attrs", "[");
    for (uint16_t i = 0; i < def->n_attrs; i++)
        attr_json(w, def->attrs[i]);
    jw_close(w, "]");
    jw_close(w, "}");
}

static int print_json(const char *cmd, const struct trail_event_def **defs, size_t n)
{
    struct jw w = {0};
    jw_open(&w, NULL, "[");
    for (size_t i = 0; i < n; i++)
        event_json(&w, defs[i]);
    jw_close(&w, "]");
    jw_raw(&w, "\n");
    int r = w.bad ? -ENOMEM : 0;
    if (r == 0 && fwrite(w.b.data, 1, w.b.len, stdout) != w.b.len)
        r = -EIO;
    trail_buf_free(&w.b);
    if (r == -ENOMEM)
        return cli_fail(cmd, "%s", strerror(ENOMEM));
    if (r < 0)
        return cli_fail(cmd, "cannot write the JSON output");
    return 0;
}

static void print_table(const struct trail_event_def **defs, size_t n)
{
    int id_width = 2, sev_width = 8;
    for (size_t i = 0; i < n; i++) {
        int w = (int)strlen(defs[i]->id);
        if (w > id_width)
            id_width = w;
        char sev[32];
        w = snprintf(sev, sizeof(sev), "%d %s", defs[i]->severity,
                     trail_severity_name(defs[i]->severity));
        if (w > sev_width)
            sev_width = w;
    }
    printf("%-*s  %-*s  %s\n", id_width, "ID", sev_width, "SEVERITY", "DESCRIPTION");
    for (size_t i = 0; i < n; i++) {
        char sev[32];
        snprintf(sev, sizeof(sev), "%d %s", defs[i]->severity,
                 trail_severity_name(defs[i]->severity));
        printf("%-*s  %-*s  ", id_width, defs[i]->id, sev_width, sev);
        put_flat(defs[i]->description, stdout);
        fputc('\n', stdout);
    }
}

static void print_tsv(const struct trail_event_def **defs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        put_tsv_field(defs[i]->id, stdout);
        printf("\t%d\t%s\t", defs[i]->severity, trail_severity_name(defs[i]->severity));
        put_tsv_field(defs[i]->description, stdout);
        fputc('\n', stdout);
    }
}

static void print_markdown(const struct trail_event_def **defs, size_t n)
{
    printf("| Event id | Severity | Description |\n|---|---|---|\n");
    for (size_t i = 0; i < n; i++) {
        printf("| `%s` | %d %s | ", defs[i]->id, defs[i]->severity,
               trail_severity_name(defs[i]->severity));
        put_markdown(defs[i]->description, stdout);
        fputs(" |\n", stdout);
    }
}

int cmd_events(int argc, char **argv)
{
    const char *cmd = argv[0];
    if (cli_wants_help(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    struct filter f = {.sev_min = TRAIL_SEV_TRACE, .sev_max = TRAIL_SEV_EMERGENCY};
    enum format format = FORMAT_TABLE;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (cli_is_option(arg, "-m", "--match")) {
            const char *v = cli_option_value(argc, argv, &i, arg);
            if (!v)
                return cli_usage_error(cmd, "--match needs a GLOB");
            const char *why = glob_problem(v);
            if (why)
                return cli_usage_error(cmd, "bad --match pattern '%s': %s", v, why);
            if (f.n_globs == MAX_MATCH)
                return cli_usage_error(cmd, "more than %d --match patterns", MAX_MATCH);
            f.globs[f.n_globs++] = v;
        } else if (cli_is_option(arg, "-s", "--severity")) {
            const char *v = cli_option_value(argc, argv, &i, arg);
            if (!v)
                return cli_usage_error(cmd, "--severity needs an expression such as '>=WARNING'");
            if (trail_severity_range_parse(v, &f.sev_min, &f.sev_max) < 0)
                return cli_usage_error(
                    cmd,
                    "bad --severity '%s': expected LEVEL, >=LEVEL, >LEVEL, <=LEVEL, <LEVEL or "
                    "LOW..HIGH that some level satisfies, where LEVEL is TRACE, DEBUG, INFO, "
                    "NOTICE, WARNING, ERROR, CRITICAL, ALERT, EMERGENCY or its number (1-4, 6-10)",
                    v);
        } else if (strcmp(arg, "--own") == 0) {
            f.own = 1;
        } else if (cli_is_option(arg, "-f", "--format")) {
            const char *v = cli_option_value(argc, argv, &i, arg);
            if (!v)
                return cli_usage_error(cmd, "--format needs one of table, json, tsv, markdown");
            if (strcmp(v, "table") == 0)
                format = FORMAT_TABLE;
            else if (strcmp(v, "json") == 0)
                format = FORMAT_JSON;
            else if (strcmp(v, "tsv") == 0)
                format = FORMAT_TSV;
            else if (strcmp(v, "markdown") == 0 || strcmp(v, "md") == 0)
                format = FORMAT_MARKDOWN;
            else
                return cli_usage_error(
                    cmd, "bad --format '%s': expected one of table, json, tsv, markdown", v);
        } else if (arg[0] == '-') {
            return cli_usage_error(cmd, "unknown option '%s' (see 'trail events --help')", arg);
        } else {
            return cli_usage_error(cmd, "unexpected argument '%s' (to filter by id: --match '%s')",
                                   arg, arg);
        }
    }

    struct trail_catalog *cat = cli_catalog();
    if (!cat)
        return 1;
    size_t n_all = trail_catalog_count(cat), n = 0;
    const struct trail_event_def **defs = calloc(n_all ? n_all : 1, sizeof(*defs));
    if (!defs)
        return cli_fail(cmd, "%s", strerror(ENOMEM));
    for (size_t i = 0; i < n_all; i++) {
        const struct trail_event_def *def = trail_catalog_at(cat, i);
        if (wanted(&f, def))
            defs[n++] = def;
    }

    int status = 0;
    switch (format) {
    case FORMAT_JSON:
        status = print_json(cmd, defs, n);
        break;
    case FORMAT_TSV:
        print_tsv(defs, n);
        break;
    case FORMAT_MARKDOWN:
        if (n)
            print_markdown(defs, n);
        break;
    default:
        if (n)
            print_table(defs, n);
        break;
    }
    free(defs);
    if (fflush(stdout) != 0 || ferror(stdout))
        return cli_fail(cmd, "cannot write the output: %s", strerror(errno));
    if (status)
        return status;
    return n ? 0 : 1;
}
