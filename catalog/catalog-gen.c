/*
 * catalog-gen.c - turn catalog/events.cat into libtrail's C table and the
 * reference docs (docs/events.md). Runs at build time; not installed.
 *
 * Usage: catalog-gen events.cat out_table.c out_events.md
 *
 * The format of events.cat (catalog/README.md has it in full, with the
 * schemas' conventions and how to add an event), one declaration per line,
 * '#' starts a comment line:
 *
 *   [group NAME]                  a set of attributes shared by many events
 *   KEY TYPE [required] [indexed] ["one line of documentation"]
 *
 *   [event ID]                    one catalog event
 *   severity    = 6 WARNING       number and name, as the seed writes them
 *   description = text            verbatim, to the end of the line
 *   note        = text            an editor's note (optional)
 *   use         = GROUP [GROUP..] include groups' attributes
 *   attr        = KEY TYPE [required] [indexed] ["doc"]
 *
 * TYPE is string, int, bool, ip, time, or enum(A|B|C). A later declaration
 * of a key (a later group, or the event's own attr) replaces an earlier one.
 * Errors name the line and stop the build.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ATTRS 64
#define MAX_ENUM  32

struct attr {
    char *key;
    char *type; /* "string", ..., "enum" */
    char *enum_values[MAX_ENUM];
    int n_enum;
    int required;
    int indexed;
    char *doc;
    int emitted_index; /* index in the emitted table of unique attrs */
};

struct group {
    char *name;
    struct attr attrs[MAX_ATTRS];
    int n_attrs;
};

struct event {
    char *id;
    char *description;
    char *note;
    int severity;
    char *severity_name;
    struct attr attrs[MAX_ATTRS];
    int n_attrs;
    int line;
};

static struct group groups[64];
static int n_groups;
static struct event events[1024];
static int n_events;
static const char *path;
static int lineno;

static void die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s:%d: ", path, lineno);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static char *xstrndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static struct group *find_group(const char *name)
{
    for (int i = 0; i < n_groups; i++)
        if (strcmp(groups[i].name, name) == 0)
            return &groups[i];
    return NULL;
}

/* "KEY TYPE [required] [indexed] ["doc"]" */
static void parse_attr(char *s, struct attr *a)
{
    memset(a, 0, sizeof(*a));
    char *p = s;
    while (*p && !isspace((unsigned char)*p))
        p++;
    a->key = xstrndup(s, (size_t)(p - s));
    for (char *k = a->key; *k; k++)
        if (!isalnum((unsigned char)*k) && *k != '_' && *k != '.' && *k != '-')
            die("attribute key '%s' has characters outside [A-Za-z0-9_.-]", a->key);
    while (isspace((unsigned char)*p))
        p++;
    char *t = p;
    while (*p && !isspace((unsigned char)*p) && *p != '(')
        p++;
    a->type = xstrndup(t, (size_t)(p - t));
    static const char *const types[] = {"string", "int", "bool", "ip", "time", "enum"};
    int ok = 0;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        ok |= strcmp(types[i], a->type) == 0;
    if (!ok)
        die("attribute '%s': unknown type '%s'", a->key, a->type);
    if (*p == '(') {
        if (strcmp(a->type, "enum") != 0)
            die("attribute '%s': only enum takes values", a->key);
        char *close = strchr(p, ')');
        if (!close)
            die("attribute '%s': enum values not closed with ')'", a->key);
        char *v = p + 1;
        while (v < close) {
            char *e = v;
            while (e < close && *e != '|')
                e++;
            if (a->n_enum == MAX_ENUM)
                die("attribute '%s': more than %d enum values", a->key, MAX_ENUM);
            a->enum_values[a->n_enum++] = xstrndup(v, (size_t)(e - v));
            v = e + 1;
        }
        p = close + 1;
    } else if (strcmp(a->type, "enum") == 0) {
        die("attribute '%s': enum needs its values, enum(A|B)", a->key);
    }
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        if (*p == '"') {
            char *e = strrchr(p + 1, '"');
            if (!e || e == p)
                die("attribute '%s': documentation not closed with '\"'", a->key);
            a->doc = xstrndup(p + 1, (size_t)(e - p - 1));
            p = e + 1;
            continue;
        }
        char *w = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        size_t n = (size_t)(p - w);
        if (n == 8 && strncmp(w, "required", 8) == 0)
            a->required = 1;
        else if (n == 8 && strncmp(w, "optional", 8) == 0)
            a->required = 0;
        else if (n == 7 && strncmp(w, "indexed", 7) == 0)
            a->indexed = 1;
        else
            die("attribute '%s': unknown flag '%.*s'", a->key, (int)n, w);
    }
}

/* Add or replace an attribute of a list. */
static void put_attr(struct attr *list, int *n, const struct attr *a, int replace)
{
    for (int i = 0; i < *n; i++) {
        if (strcmp(list[i].key, a->key) == 0) {
            if (!replace)
                die("attribute '%s' declared twice", a->key);
            list[i] = *a;
            return;
        }
    }
    if (*n == MAX_ATTRS)
        die("more than %d attributes", MAX_ATTRS);
    list[(*n)++] = *a;
}

static void parse(FILE *f)
{
    char line[4096];
    struct group *g = NULL;
    struct event *ev = NULL;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f))
            die("line longer than %zu bytes", sizeof(line) - 2);
        char *s = trim(line);
        if (*s == '#' || *s == '\0')
            continue;
        if (*s == '[') {
            char *e = strchr(s, ']');
            if (!e)
                die("section header not closed with ']'");
            *e = '\0';
            char *kind = trim(s + 1);
            char *name = kind;
            while (*name && !isspace((unsigned char)*name))
                name++;
            if (*name)
                *name++ = '\0';
            name = trim(name);
            g = NULL;
            ev = NULL;
            if (!*name)
                die("section '%s' has no name", kind);
            if (strcmp(kind, "group") == 0) {
                if (find_group(name))
                    die("group '%s' declared twice", name);
                if (n_groups == (int)(sizeof(groups) / sizeof(groups[0])))
                    die("more than %zu groups", sizeof(groups) / sizeof(groups[0]));
                g = &groups[n_groups++];
                g->name = xstrndup(name, strlen(name));
            } else if (strcmp(kind, "event") == 0) {
                for (int i = 0; i < n_events; i++)
                    if (strcmp(events[i].id, name) == 0)
                        die("event '%s' declared twice", name);
                for (char *k = name; *k; k++)
                    if (!islower((unsigned char)*k) && !isdigit((unsigned char)*k) && *k != '_')
                        die("event id '%s' is not lower-case [a-z0-9_]", name);
                if (n_events == (int)(sizeof(events) / sizeof(events[0])))
                    die("more than %zu events", sizeof(events) / sizeof(events[0]));
                ev = &events[n_events++];
                memset(ev, 0, sizeof(*ev));
                ev->id = xstrndup(name, strlen(name));
                ev->line = lineno;
            } else {
                die("unknown section kind '%s'", kind);
            }
            continue;
        }
        if (g) {
            struct attr a;
            parse_attr(s, &a);
            put_attr(g->attrs, &g->n_attrs, &a, 0);
            continue;
        }
        if (!ev)
            die("declaration outside a section");
        char *eq = strchr(s, '=');
        if (!eq)
            die("expected 'name = value'");
        *eq = '\0';
        char *name = trim(s), *value = trim(eq + 1);
        if (strcmp(name, "severity") == 0) {
            char *end;
            ev->severity = (int)strtol(value, &end, 10);
            ev->severity_name = xstrndup(trim(end), strlen(trim(end)));
        } else if (strcmp(name, "description") == 0) {
            ev->description = xstrndup(value, strlen(value));
        } else if (strcmp(name, "note") == 0) {
            ev->note = xstrndup(value, strlen(value));
        } else if (strcmp(name, "use") == 0) {
            char *tok = strtok(value, " \t");
            while (tok) {
                struct group *ug = find_group(tok);
                if (!ug)
                    die("unknown group '%s'", tok);
                for (int i = 0; i < ug->n_attrs; i++)
                    put_attr(ev->attrs, &ev->n_attrs, &ug->attrs[i], 1);
                tok = strtok(NULL, " \t");
            }
        } else if (strcmp(name, "attr") == 0) {
            struct attr a;
            parse_attr(value, &a);
            put_attr(ev->attrs, &ev->n_attrs, &a, 1);
        } else {
            die("unknown field '%s'", name);
        }
    }
    static const char *const sev_names[] = {NULL,       "TRACE", "DEBUG",    "INFO",
                                            "NOTICE",   NULL,    "WARNING",  "ERROR",
                                            "CRITICAL", "ALERT", "EMERGENCY"};
    for (int i = 0; i < n_events; i++) {
        lineno = events[i].line;
        if (!events[i].description)
            die("event '%s' has no description", events[i].id);
        int sv = events[i].severity;
        if (sv < 1 || sv > 10 || !sev_names[sv] || !events[i].severity_name ||
            strcmp(sev_names[sv], events[i].severity_name) != 0)
            die("event '%s': severity must be a number and its name, e.g. '6 WARNING'",
                events[i].id);
    }
}

static int cmp_event(const void *a, const void *b)
{
    return strcmp(((const struct event *)a)->id, ((const struct event *)b)->id);
}

static int cmp_attr(const void *a, const void *b)
{
    return strcmp(((const struct attr *)a)->key, ((const struct attr *)b)->key);
}

static void c_string(FILE *o, const char *s)
{
    if (!s) {
        fputs("NULL", o);
        return;
    }
    fputc('"', o);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(o, "\\%c", *p);
        else if (*p < 0x20 || *p >= 0x7f)
            fprintf(o, "\\%03o", *p);
        else
            fputc(*p, o);
    }
    fputc('"', o);
}

static int same_attr(const struct attr *a, const struct attr *b)
{
    if (strcmp(a->key, b->key) || strcmp(a->type, b->type) || a->required != b->required ||
        a->indexed != b->indexed || a->n_enum != b->n_enum)
        return 0;
    if ((a->doc == NULL) != (b->doc == NULL) || (a->doc && strcmp(a->doc, b->doc)))
        return 0;
    for (int i = 0; i < a->n_enum; i++)
        if (strcmp(a->enum_values[i], b->enum_values[i]))
            return 0;
    return 1;
}

static const char *type_const(const char *t)
{
    if (!strcmp(t, "string"))
        return "TRAIL_TYPE_STRING";
    if (!strcmp(t, "int"))
        return "TRAIL_TYPE_INT";
    if (!strcmp(t, "bool"))
        return "TRAIL_TYPE_BOOL";
    if (!strcmp(t, "ip"))
        return "TRAIL_TYPE_IP";
    if (!strcmp(t, "time"))
        return "TRAIL_TYPE_TIME";
    return "TRAIL_TYPE_ENUM";
}

static void write_table(FILE *o)
{
    /* one static definition per distinct attribute, shared by every event using it */
    static struct attr *uniq[4096];
    int n_uniq = 0;
    fprintf(o, "/* Generated by catalog/catalog-gen.c from catalog/events.cat. Do not edit. */\n");
    fprintf(o, "#include \"event/event.h\"\n\n");
    for (int i = 0; i < n_events; i++) {
        for (int j = 0; j < events[i].n_attrs; j++) {
            struct attr *a = &events[i].attrs[j];
            int k;
            for (k = 0; k < n_uniq; k++)
                if (same_attr(uniq[k], a))
                    break;
            if (k == n_uniq) {
                if (n_uniq == 4096)
                    die("too many distinct attributes");
                uniq[n_uniq++] = a;
                if (a->n_enum) {
                    fprintf(o, "static const char *const enum_%d[] = {", k);
                    for (int e = 0; e < a->n_enum; e++) {
                        c_string(o, a->enum_values[e]);
                        fputs(e + 1 < a->n_enum ? ", " : "", o);
                    }
                    fprintf(o, "};\n");
                }
                fprintf(o, "static const struct trail_attr_def attr_%d = {", k);
                c_string(o, a->key);
                fprintf(o, ", %s, %s, %d, ", type_const(a->type),
                        a->required && a->indexed ? "TRAIL_ATTR_REQUIRED | TRAIL_ATTR_INDEXED"
                        : a->required             ? "TRAIL_ATTR_REQUIRED"
                        : a->indexed              ? "TRAIL_ATTR_INDEXED"
                                                  : "0",
                        a->n_enum);
                fprintf(o, "%zu, ", strlen(a->key));
                if (a->n_enum)
                    fprintf(o, "enum_%d, ", k);
                else
                    fputs("NULL, ", o);
                c_string(o, a->doc);
                fputs("};\n", o);
            }
            a->emitted_index = k;
        }
    }
    fputc('\n', o);
    for (int i = 0; i < n_events; i++) {
        if (!events[i].n_attrs)
            continue;
        fprintf(o, "static const struct trail_attr_def *const attrs_%d[] = {", i);
        for (int j = 0; j < events[i].n_attrs; j++)
            fprintf(o, "%s&attr_%d", j ? ", " : "", events[i].attrs[j].emitted_index);
        fputs("};\n", o);
    }
    fprintf(o, "\nconst struct trail_event_def builtin_events[] = {\n");
    for (int i = 0; i < n_events; i++) {
        fputs("    {", o);
        c_string(o, events[i].id);
        fputs(", ", o);
        c_string(o, events[i].description);
        fprintf(o, ", %d, 0, %d, ", events[i].severity, events[i].n_attrs);
        if (events[i].n_attrs)
            fprintf(o, "attrs_%d, ", i);
        else
            fputs("NULL, ", o);
        c_string(o, events[i].note);
        fputs("},\n", o);
    }
    fprintf(o, "};\nconst size_t builtin_n_events = %d;\n", n_events);
}

static void md_text(FILE *o, const char *s)
{
    for (; *s; s++) {
        if (*s == '|' || *s == '*' || *s == '_' || *s == '<' || *s == '>' || *s == '`')
            fputc('\\', o);
        fputc(*s, o);
    }
}

static void write_docs(FILE *o)
{
    fprintf(o, "# Event reference\n\n");
    fprintf(o, "Generated from `catalog/events.cat` by `catalog/catalog-gen.c`; do not edit "
               "by hand (`make docs` refreshes it).\n\n");
    fprintf(o,
            "%d events. Descriptions are kept verbatim from the identity server's catalog, "
            "typos included. Severity numbers and names: see docs/severity.md.\n\n",
            n_events);
    fprintf(o, "These are the identity server's events: whatever an input receives is stored as "
               "the server's, and verifies like any other, whichever id it has "
               "(`core_server_run_stopped` and `core_server_events_purged` included).\n\n"
               "trail's own records (its start and stop, reloads, refused requests, purges, and "
               "the items it could not store as sent) have ids of their own in the reserved "
               "`trail_` namespace, listed by `trail events --own` and in docs/traild.md "
               "(\"trail's own records\"). They carry a mark in the record (docs/format.md, "
               "flag 0x02) that no input can set, and validation refuses a `trail_` id from any "
               "sender, so that nobody can mistake the identity server for trail, or imitate "
               "trail. `trail query --origin trail` lists them; the table shows them as "
               "`trail` in its FROM column.\n\n");
    fprintf(o, "| Event id | Severity | Description |\n|---|---|---|\n");
    for (int i = 0; i < n_events; i++) {
        fprintf(o, "| [`%s`](#%s) | %d %s | ", events[i].id, events[i].id, events[i].severity,
                events[i].severity_name);
        md_text(o, events[i].description);
        fputs(" |\n", o);
    }
    for (int i = 0; i < n_events; i++) {
        const struct event *e = &events[i];
        fprintf(o, "\n## %s\n\n", e->id);
        md_text(o, e->description);
        fprintf(o, "\n\n**Severity:** %d %s\n", e->severity, e->severity_name);
        if (e->note) {
            fputs("\n**Note:** ", o);
            md_text(o, e->note);
            fputc('\n', o);
        }
        if (!e->n_attrs) {
            fputs("\nNo attributes.\n", o);
            continue;
        }
        fputs("\n| Attribute | Type | Required | Indexed | Meaning |\n|---|---|---|---|---|\n", o);
        for (int j = 0; j < e->n_attrs; j++) {
            const struct attr *a = &e->attrs[j];
            fprintf(o, "| `%s` | %s", a->key, a->type);
            if (a->n_enum) {
                fputs(": ", o);
                for (int k = 0; k < a->n_enum; k++)
                    fprintf(o, "%s`%s`", k ? ", " : "", a->enum_values[k]);
            }
            fprintf(o, " | %s | %s | ", a->required ? "yes" : "no", a->indexed ? "yes" : "no");
            if (a->doc)
                md_text(o, a->doc);
            fputs(" |\n", o);
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: catalog-gen events.cat out_table.c out_events.md\n");
        return 2;
    }
    path = argv[1];
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return 1;
    }
    parse(f);
    fclose(f);
    qsort(events, (size_t)n_events, sizeof(events[0]), cmp_event);
    for (int i = 0; i < n_events; i++)
        qsort(events[i].attrs, (size_t)events[i].n_attrs, sizeof(struct attr), cmp_attr);

    FILE *c = fopen(argv[2], "w");
    FILE *m = fopen(argv[3], "w");
    if (!c || !m) {
        perror("catalog-gen: output");
        return 1;
    }
    write_table(c);
    write_docs(m);
    if (fclose(c) || fclose(m)) {
        perror("catalog-gen: output");
        return 1;
    }
    return 0;
}
