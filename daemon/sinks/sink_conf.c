/*
 * sink_conf.c - the [sink NAME] sections of trail.conf: the common keys
 * (their table below, parsed into struct sink_conf), each type's own keys
 * (the plug-in's table, struct sink_key, parsed once into the type's
 * options struct at conf->typed), the checks once a section is read, and
 * docs/sinks.md's option tables made from the same tables
 * (sink_options_markdown, `traild --sink-options-markdown`;
 * tests/lint/sink_options.sh fails when the document differs).
 *
 * Not here: the runner (sink.c), the plug-ins (sink_*.c), the rest of the
 * config (core/config.c, which calls sink_conf_load through config_sink_ops).
 */
#include "sinks/sink.h"

#include "client/url.h"
#include "core/config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct sink_ops *const sink_types[] = {
    &sink_file_ops,  &sink_syslog_ops,     &sink_webhook_ops,
    &sink_trail_ops, &sink_clickhouse_ops, &sink_tlog_witness_ops,
};
#define N_TYPES (sizeof(sink_types) / sizeof(sink_types[0]))

/* ------------------------------------------------------------------------ */
/* Configuration                                                            */
/* ------------------------------------------------------------------------ */

static int seterr(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int seterr(char *err, size_t errlen, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return code;
}

static int dup_into(char **dst, const char *v)
{
    char *s = strdup(v);
    if (!s)
        return -ENOMEM;
    free(*dst);
    *dst = s;
    return 0;
}

static int parse_bool(const char *v, int *ret)
{
    if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcmp(v, "1") || !strcasecmp(v, "on"))
        *ret = 1;
    else if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcmp(v, "0") ||
             !strcasecmp(v, "off"))
        *ret = 0;
    else
        return -EINVAL;
    return 0;
}

static int parse_u32(const char *v, uint32_t min, uint32_t max, uint32_t *ret)
{
    if (!isdigit((unsigned char)*v))
        return -EINVAL;
    errno = 0;
    char *end;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || *end || x < min || x > max)
        return -EINVAL;
    *ret = (uint32_t)x;
    return 0;
}

static int set_events(struct sink_conf *s, const char *v)
{
    for (size_t i = 0; i < s->n_events; i++)
        free(s->events[i]);
    free(s->events);
    s->events = NULL;
    s->n_events = 0;
    const char *p = v;
    while (*p) {
        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
        size_t n = strcspn(p, ", \t");
        if (!n)
            break;
        char **e = realloc(s->events, (s->n_events + 1) * sizeof(*e));
        if (!e)
            return -ENOMEM;
        s->events = e;
        if (!(e[s->n_events] = strndup(p, n)))
            return -ENOMEM;
        s->n_events++;
        p += n;
    }
    return 0;
}

/*
 * The keys every sink takes. sink_conf_load parses each into struct
 * sink_conf (format and min_severity take aliases and names that a table
 * type cannot say); the table names them for the unknown-key message and
 * for docs/sinks.md.
 */
static const struct sink_key common_keys[] = {
    {.name = "type",
     .type = SINK_KEY_ENUM,
     .choices = "file|syslog|webhook|clickhouse|trail",
     .required = "the sink's type",
     .doc = "what the sink delivers to (the sections below)"},
    {.name = "format",
     .type = SINK_KEY_ENUM,
     .choices = "cef|json|rfc5424",
     .def_doc = "file: `cef`; syslog: `rfc5424`; webhook, clickhouse, trail: `json`",
     .doc = "`cef` (the event.log line, or CEF as the syslog MSG), `json` (one JSON object per "
            "line), `rfc5424` (syslog with structured data)"},
    {.name = "mapping",
     .type = SINK_KEY_ENUM,
     .choices = "none|ocsf|ecs",
     .def = "none",
     .doc = "JSON only: `none` (trail's JSON), `ocsf` or `ecs` (below)"},
    {.name = "events",
     .type = SINK_KEY_STRING,
     .def_doc = "every event",
     .doc = "event id globs separated by spaces or commas (`auth_* core_server_*`); an event "
            "matching any of them passes"},
    {.name = "min_severity",
     .type = SINK_KEY_STRING,
     .def_doc = "any",
     .doc = "a severity name or number; events below it are left out"},
    {.name = "witness",
     .type = SINK_KEY_BOOL,
     .def = "false",
     .doc = "also deliver the store's signed checkpoints (below)"},
    {.name = "start",
     .type = SINK_KEY_ENUM,
     .choices = "beginning|end",
     .def = "beginning",
     .doc = "where a new sink starts: at the store's beginning or its end"},
    {.name = "batch_events",
     .type = SINK_KEY_INT,
     .def = "1000",
     .min = 1,
     .max = 100000,
     .doc = "events per delivery, at most"},
    {.name = "retry_min_ms",
     .type = SINK_KEY_INT,
     .def = "500",
     .min = 1,
     .max = 3600000,
     .doc = "milliseconds: the first wait after a failure"},
    {.name = "retry_max_ms",
     .type = SINK_KEY_INT,
     .def = "30000",
     .min = 1,
     .max = 3600000,
     .doc = "milliseconds: the most the wait doubles to"},
    {.name = "cef_vendor",
     .type = SINK_KEY_STRING,
     .def = "PhenixID",
     .doc = "the CEF header's Device Vendor"},
    {.name = "cef_product",
     .type = SINK_KEY_STRING,
     .def = "PAS",
     .doc = "the CEF header's Device Product"},
    {.name = "cef_version",
     .type = SINK_KEY_STRING,
     .def_doc = "trail's version",
     .doc = "the CEF header's Device Version"},
    {.name = "utc_offset",
     .type = SINK_KEY_STRING,
     .def = "Z",
     .doc = "`+HH:MM`/`-HH:MM`/`Z`: the offset of the event.log prefix, of the ISO time, and of "
            "the file sink's days"},
    {.name = NULL},
};

/* ------------------------------------------------------------------------ */
/* The typed keys                                                           */
/* ------------------------------------------------------------------------ */

/* A whole number with an optional unit (name, multiplier) from units; -EINVAL. */
static int parse_units(const char *v, const char *const *names, const int64_t *mult, int64_t *ret)
{
    if (!isdigit((unsigned char)*v))
        return -EINVAL;
    errno = 0;
    char *end;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || x > (1ull << 53))
        return -EINVAL;
    int64_t m = 1;
    if (*end) {
        int found = 0;
        for (size_t i = 0; names[i] && !found; i++)
            if (!strcasecmp(end, names[i])) {
                m = mult[i];
                found = 1;
            }
        if (!found)
            return -EINVAL;
    }
    *ret = (int64_t)x * m;
    return 0;
}

/* The i-th choice of "a|b|c" into out; 0, or -ENOENT past the last. */
static int choice(const char *choices, int i, char *out, size_t n)
{
    const char *p = choices;
    for (; i > 0 && p; i--)
        if ((p = strchr(p, '|')))
            p++;
    if (!p)
        return -ENOENT;
    size_t len = strcspn(p, "|");
    snprintf(out, n, "%.*s", (int)len, p);
    return 0;
}

/* Parse v as k says into its field of typed. 0, or -EINVAL with err "KEY: ...". */
static int parse_key(const struct sink_key *k, const char *v, void *typed, char *err, size_t errlen)
{
    static const char *const dur_names[] = {"ms", "s", "m", "h", NULL};
    static const int64_t dur_mult[] = {1, 1000, 60000, 3600000};
    static const char *const size_names[] = {"K", "M", "G", NULL};
    static const int64_t size_mult[] = {1 << 10, 1 << 20, 1 << 30};
    char *field = (char *)typed + k->offset;
    int64_t x;
    switch (k->type) {
    case SINK_KEY_STRING:
        *(const char **)field = v;
        return 0;
    case SINK_KEY_BOOL:
        if (parse_bool(v, (int *)field) < 0)
            return seterr(err, errlen, -EINVAL, "%s: '%s' is not true or false", k->name, v);
        return 0;
    case SINK_KEY_INT:
        if (parse_units(v, dur_names + 4, NULL, &x) < 0 || x < k->min || x > k->max)
            return seterr(err, errlen, -EINVAL,
                          "%s: '%s' is not a whole number from %" PRId64 " to %" PRId64, k->name, v,
                          k->min, k->max);
        *(int64_t *)field = x;
        return 0;
    case SINK_KEY_DURATION:
        if (parse_units(v, dur_names, dur_mult, &x) < 0 || x < k->min || x > k->max)
            return seterr(err, errlen, -EINVAL,
                          "%s: '%s' is not a duration from %" PRId64 " to %" PRId64
                          " ms (a number of ms, or with ms, s, m or h)",
                          k->name, v, k->min, k->max);
        *(int64_t *)field = x;
        return 0;
    case SINK_KEY_SIZE:
        if (parse_units(v, size_names, size_mult, &x) < 0 || x < k->min || x > k->max)
            return seterr(err, errlen, -EINVAL,
                          "%s: '%s' is not a size of at least %" PRId64 " (K, M, G)", k->name, v,
                          k->min);
        *(int64_t *)field = x;
        return 0;
    case SINK_KEY_URL:
        if (client_url_parse(v, (struct client_url *)field) < 0)
            return seterr(err, errlen, -EINVAL, "%s: '%s' is not an http:// or https:// URL",
                          k->name, v);
        return 0;
    case SINK_KEY_ENUM: {
        char c[64], list[256] = "";
        for (int i = 0; choice(k->choices, i, c, sizeof(c)) == 0; i++) {
            if (!strcmp(c, v)) {
                *(int *)field = i;
                return 0;
            }
            snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "", c);
        }
        return seterr(err, errlen, -EINVAL, "%s: '%s' is not one of: %s", k->name, v, list);
    }
    }
    return -EINVAL;
}

/*
 * conf->typed from the type's table: the defaults, then each key given. A
 * problem names its key; *ret_line is then the key's line (or the section's).
 */
static int parse_typed(struct sink_conf *s, int *ret_line, char *err, size_t errlen)
{
    const struct sink_ops *ops = s->ops;
    free(s->typed);
    if (!(s->typed = calloc(1, ops->opts_size ? ops->opts_size : 1)))
        return -ENOMEM;
    for (const struct sink_key *k = ops->keys; k && k->name; k++)
        if (k->def && parse_key(k, k->def, s->typed, err, errlen) < 0)
            return -EINVAL; /* a table's own default that does not parse: a bug, said at -t */
    for (const struct sink_key *k = ops->keys; k && k->name; k++) {
        const struct sink_opt *given = NULL;
        for (size_t i = 0; i < s->n_opts; i++)
            if (!strcmp(s->opts[i].key, k->name))
                given = &s->opts[i]; /* the last one given wins, as for the common keys */
        if (!given) {
            if (k->required)
                return seterr(err, errlen, -EINVAL, "%s: %s is needed", k->name, k->required);
            continue;
        }
        if (parse_key(k, given->value, s->typed, err, errlen) < 0) {
            *ret_line = given->line;
            return -EINVAL;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* docs/sinks.md's tables                                                   */
/* ------------------------------------------------------------------------ */

static int md_table(const char *section, const struct sink_key *keys, struct trail_buf *out)
{
    char line[2048], type[256], def[256], c[64];
    int r = 0;
    snprintf(line, sizeof(line),
             "<!-- sink-options %s: made by traild --sink-options-markdown -->\n"
             "| key | type | default | meaning |\n| --- | --- | --- | --- |\n",
             section);
    r |= trail_buf_append(out, line, strlen(line));
    for (const struct sink_key *k = keys; k->name; k++) {
        switch (k->type) {
        case SINK_KEY_STRING:
            snprintf(type, sizeof(type), "string");
            break;
        case SINK_KEY_BOOL:
            snprintf(type, sizeof(type), "bool");
            break;
        case SINK_KEY_INT:
            snprintf(type, sizeof(type), "int, %" PRId64 " to %" PRId64, k->min, k->max);
            break;
        case SINK_KEY_DURATION:
            snprintf(type, sizeof(type), "duration, %" PRId64 " ms to %" PRId64 " ms", k->min,
                     k->max);
            break;
        case SINK_KEY_SIZE:
            snprintf(type, sizeof(type), "size, at least %" PRId64, k->min);
            break;
        case SINK_KEY_URL:
            snprintf(type, sizeof(type), "URL");
            break;
        case SINK_KEY_ENUM:
            snprintf(type, sizeof(type), "one of");
            for (int i = 0; choice(k->choices, i, c, sizeof(c)) == 0; i++)
                snprintf(type + strlen(type), sizeof(type) - strlen(type), "%s`%s`", i ? ", " : " ",
                         c);
            break;
        }
        if (k->required)
            snprintf(def, sizeof(def), "(required)");
        else if (k->def_doc)
            snprintf(def, sizeof(def), "%s", k->def_doc);
        else if (k->def)
            snprintf(def, sizeof(def), "`%s`", k->def);
        else
            snprintf(def, sizeof(def), "none");
        snprintf(line, sizeof(line), "| `%s` | %s | %s | %s |\n", k->name, type, def,
                 k->required && !k->doc ? k->required : k->doc);
        r |= trail_buf_append(out, line, strlen(line));
    }
    r |= trail_buf_append(out, "<!-- /sink-options -->\n", 23);
    return r ? -ENOMEM : 0;
}

int sink_options_markdown(const char *section, struct trail_buf *out)
{
    int n = 0, r;
    if (!section || !strcmp(section, "common")) {
        if ((r = md_table("common", common_keys, out)) < 0)
            return r;
        n++;
    }
    for (size_t i = 0; i < N_TYPES; i++) {
        if (section && strcmp(section, sink_types[i]->name))
            continue;
        if ((n && trail_buf_append(out, "\n", 1) < 0) ||
            (r = md_table(sink_types[i]->name, sink_types[i]->keys, out)) < 0)
            return -ENOMEM;
        n++;
    }
    return n ? 0 : -ENOENT;
}

int sink_conf_load(struct sink_conf **sinks, size_t *n_sinks, const char *name, int first,
                   const char *key, const char *v, int line, char *err, size_t errlen)
{
    if (first) {
        if (!*name || strlen(name) > 64)
            return seterr(err, errlen, -EINVAL, "a sink name of 1 to 64 characters is needed");
        for (const char *p = name; *p; p++)
            if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.')
                return seterr(err, errlen, -EINVAL, "a sink name is made of [A-Za-z0-9_.-]");
        struct sink_conf *a = realloc(*sinks, (*n_sinks + 1) * sizeof(*a));
        if (!a)
            return -ENOMEM;
        *sinks = a;
        struct sink_conf *s = &a[*n_sinks];
        memset(s, 0, sizeof(*s));
        (*n_sinks)++;
        if (!(s->name = strdup(name)))
            return -ENOMEM;
        s->line = line;
        s->batch_events = 1000;
        s->retry_min_ms = 500;
        s->retry_max_ms = 30000;
    }
    struct sink_conf *s = &(*sinks)[*n_sinks - 1];
    if (!strcmp(key, "type")) {
        for (size_t i = 0; i < N_TYPES; i++)
            if (!strcmp(v, sink_types[i]->name)) {
                s->ops = sink_types[i];
                return 0;
            }
        return seterr(err, errlen, -EINVAL,
                      "'%s' is not one of: file, syslog, webhook, clickhouse, trail", v);
    }
    if (!strcmp(key, "format")) {
        if (!strcmp(v, "cef") || !strcmp(v, "event.log"))
            s->format = SINK_FMT_CEF;
        else if (!strcmp(v, "json") || !strcmp(v, "ndjson"))
            s->format = SINK_FMT_JSON;
        else if (!strcmp(v, "rfc5424") || !strcmp(v, "syslog"))
            s->format = SINK_FMT_SYSLOG;
        else
            return seterr(err, errlen, -EINVAL, "'%s' is not one of: cef, json, rfc5424", v);
        return 0;
    }
    if (!strcmp(key, "mapping")) {
        if (trail_mapping_parse(v, &s->mapping) < 0)
            return seterr(err, errlen, -EINVAL, "'%s' is not one of: none, ocsf, ecs", v);
        return 0;
    }
    if (!strcmp(key, "events"))
        return set_events(s, v);
    if (!strcmp(key, "min_severity")) {
        if (trail_severity_parse(v, &s->min_severity) < 0)
            return seterr(err, errlen, -EINVAL,
                          "'%s' is not a severity (TRACE, DEBUG, INFO, NOTICE, WARNING, ERROR, "
                          "CRITICAL, ALERT, EMERGENCY or its number)",
                          v);
        return 0;
    }
    if (!strcmp(key, "witness")) {
        if (parse_bool(v, &s->witness) < 0)
            return seterr(err, errlen, -EINVAL, "'%s' is not true or false", v);
        return 0;
    }
    if (!strcmp(key, "start")) {
        if (!strcmp(v, "beginning"))
            s->start_at_end = 0;
        else if (!strcmp(v, "end"))
            s->start_at_end = 1;
        else
            return seterr(err, errlen, -EINVAL, "'%s' is not one of: beginning, end", v);
        return 0;
    }
    if (!strcmp(key, "batch_events") || !strcmp(key, "retry_min_ms") ||
        !strcmp(key, "retry_max_ms")) {
        uint32_t *dst = !strcmp(key, "batch_events")   ? &s->batch_events
                        : !strcmp(key, "retry_min_ms") ? &s->retry_min_ms
                                                       : &s->retry_max_ms;
        uint32_t max = !strcmp(key, "batch_events") ? 100000 : 3600000;
        if (parse_u32(v, 1, max, dst) < 0)
            return seterr(err, errlen, -EINVAL, "'%s' is not a whole number from 1 to %u", v, max);
        return 0;
    }
    if (!strcmp(key, "cef_vendor"))
        return dup_into(&s->cef_vendor, v);
    if (!strcmp(key, "cef_product"))
        return dup_into(&s->cef_product, v);
    if (!strcmp(key, "cef_version"))
        return dup_into(&s->cef_version, v);
    if (!strcmp(key, "utc_offset")) {
        /* "+01:00", "-05:30", "Z" */
        int sign = 1, hh, mm;
        if (!strcmp(v, "Z") || !strcmp(v, "UTC")) {
            s->cef.utc_offset_min = 0;
            return 0;
        }
        if ((v[0] != '+' && v[0] != '-') || strlen(v) != 6 || v[3] != ':' ||
            sscanf(v + 1, "%2d:%2d", &hh, &mm) != 2 || hh > 23 || mm > 59)
            return seterr(err, errlen, -EINVAL, "'%s' is not an offset such as +01:00 or Z", v);
        if (v[0] == '-')
            sign = -1;
        s->cef.utc_offset_min = sign * (hh * 60 + mm);
        return 0;
    }
    /* the type's own key: checked once the type is known (sink_conf_check) */
    struct sink_opt *o = realloc(s->opts, (s->n_opts + 1) * sizeof(*o));
    if (!o)
        return -ENOMEM;
    s->opts = o;
    o = &o[s->n_opts];
    memset(o, 0, sizeof(*o));
    s->n_opts++;
    o->line = line;
    if (!(o->key = strdup(key)) || !(o->value = strdup(v)))
        return -ENOMEM;
    return 0;
}

int sink_conf_check(struct sink_conf *sinks, size_t n_sinks, int *ret_line, char *err,
                    size_t errlen)
{
    for (size_t i = 0; i < n_sinks; i++) {
        struct sink_conf *s = &sinks[i];
        *ret_line = s->line;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(sinks[j].name, s->name))
                return seterr(err, errlen, -EINVAL, "[sink %s] is given twice", s->name);
        if (!s->ops)
            return seterr(err, errlen, -EINVAL,
                          "[sink %s] has no type (file, syslog, webhook, clickhouse, trail)",
                          s->name);
        for (size_t k = 0; k < s->n_opts; k++) {
            int known = 0;
            for (const struct sink_key *t = s->ops->keys; t && t->name; t++)
                if (!strcmp(t->name, s->opts[k].key))
                    known = 1;
            if (!known) {
                char list[1024] = "";
                for (const struct sink_key *t = s->ops->keys; t && t->name; t++)
                    snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
                             t == s->ops->keys ? "" : ", ", t->name);
                snprintf(list + strlen(list), sizeof(list) - strlen(list), "; and");
                for (const struct sink_key *t = common_keys; t->name; t++)
                    snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
                             t == common_keys ? " " : ", ", t->name);
                *ret_line = s->opts[k].line;
                return seterr(err, errlen, -EINVAL,
                              "[sink %s] %s: unknown key (known for type %s: %s)", s->name,
                              s->opts[k].key, s->ops->name, list);
            }
        }
        char e[400] = "";
        int r = parse_typed(s, ret_line, e, sizeof(e));
        if (r == -ENOMEM)
            return r;
        if (r < 0)
            return seterr(err, errlen, -EINVAL, "[sink %s] %s", s->name, e);
        if (s->retry_max_ms < s->retry_min_ms)
            return seterr(err, errlen, -EINVAL, "[sink %s] retry_max_ms is below retry_min_ms",
                          s->name);
        if (!s->format)
            s->format = s->ops == &sink_file_ops     ? SINK_FMT_CEF
                        : s->ops == &sink_syslog_ops ? SINK_FMT_SYSLOG
                                                     : SINK_FMT_JSON;
        if (s->mapping && s->format != SINK_FMT_JSON)
            return seterr(err, errlen, -EINVAL,
                          "[sink %s] mapping applies to JSON lines: set format = json", s->name);
        s->cef.vendor = s->cef_vendor;
        s->cef.product = s->cef_product;
        s->cef.version = s->cef_version;
        s->cef.log_prefix = 1;
        if (s->ops->check && s->ops->check(s, e, sizeof(e)) < 0) {
            /* "key: problem": point at that key's line */
            for (size_t k = 0; k < s->n_opts; k++) {
                size_t kl = strlen(s->opts[k].key);
                if (!strncmp(e, s->opts[k].key, kl) && e[kl] == ':')
                    *ret_line = s->opts[k].line;
            }
            return seterr(err, errlen, -EINVAL, "[sink %s] %s", s->name, e);
        }
    }
    return 0;
}

void sink_conf_free(struct sink_conf *sinks, size_t n_sinks)
{
    for (size_t i = 0; i < n_sinks; i++) {
        struct sink_conf *s = &sinks[i];
        free(s->name);
        for (size_t j = 0; j < s->n_events; j++)
            free(s->events[j]);
        free(s->events);
        free(s->cef_vendor);
        free(s->cef_product);
        free(s->cef_version);
        for (size_t j = 0; j < s->n_opts; j++) {
            free(s->opts[j].key);
            free(s->opts[j].value);
        }
        free(s->opts);
        free(s->typed);
    }
    free(sinks);
}

static int strdiff(const char *a, const char *b)
{
    if (!a || !b)
        return a != b;
    return strcmp(a, b) != 0;
}

int sink_conf_differs(const struct sink_conf *a, size_t na, const struct sink_conf *b, size_t nb)
{
    if (na != nb)
        return 1;
    for (size_t i = 0; i < na; i++) {
        const struct sink_conf *x = &a[i], *y = &b[i];
        if (strdiff(x->name, y->name) || x->ops != y->ops || x->format != y->format ||
            x->mapping != y->mapping || x->n_events != y->n_events ||
            x->min_severity != y->min_severity || x->witness != y->witness ||
            x->batch_events != y->batch_events || x->retry_min_ms != y->retry_min_ms ||
            x->retry_max_ms != y->retry_max_ms || x->start_at_end != y->start_at_end ||
            strdiff(x->cef_vendor, y->cef_vendor) || strdiff(x->cef_product, y->cef_product) ||
            strdiff(x->cef_version, y->cef_version) ||
            x->cef.utc_offset_min != y->cef.utc_offset_min || x->n_opts != y->n_opts)
            return 1;
        for (size_t j = 0; j < x->n_events; j++)
            if (strcmp(x->events[j], y->events[j]))
                return 1;
        for (size_t j = 0; j < x->n_opts; j++)
            if (strcmp(x->opts[j].key, y->opts[j].key) ||
                strcmp(x->opts[j].value, y->opts[j].value))
                return 1;
    }
    return 0;
}

const struct config_sink_ops sink_config_ops = {
    .load = sink_conf_load,
    .check = sink_conf_check,
    .free = sink_conf_free,
    .differs = sink_conf_differs,
};
