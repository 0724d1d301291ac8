/*
 * rule.c - read Sigma rules from YAML (libyaml's document API) into the rule
 * model of detect.h: the metadata, the logsource, the detection's selections
 * with their field modifiers, and correlation rules. Every problem is
 * reported with its file, line and column from libyaml's marks.
 *
 * Not here: conditions (cond.c), resolving correlations across files and the
 * catalog's warnings (rules.c), matching (match.c).
 */
#include "detect_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <yaml.h>

struct pctx {
    struct detect_rules *rs;
    const char *file;
    yaml_document_t *doc;
    detect_diag_fn diag;
    void *ctx;
    int errors;
};

void detect_report(struct detect_rules *rs, detect_diag_fn diag, void *ctx, const char *file,
                   unsigned line, unsigned column, int warning, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (warning)
        rs->n_warnings++;
    else
        rs->n_errors++;
    if (!diag)
        return;
    struct detect_diag d = {
        .file = file, .line = line, .column = column, .warning = warning, .msg = msg};
    diag(ctx, &d);
}

#define NODE_LINE(n) ((unsigned)(n)->start_mark.line + 1)
#define NODE_COL(n)  ((unsigned)(n)->start_mark.column + 1)

__attribute__((format(printf, 3, 4))) static void err(struct pctx *p, const yaml_node_t *n,
                                                      const char *fmt, ...)
{
    char msg[480];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    p->errors++;
    detect_report(p->rs, p->diag, p->ctx, p->file, n ? NODE_LINE(n) : 0, n ? NODE_COL(n) : 0, 0,
                  "%s", msg);
}

static yaml_node_t *node(struct pctx *p, int i)
{
    return yaml_document_get_node(p->doc, i);
}

static int is_scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE;
}

static const char *sval(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static int key_is(const yaml_node_t *k, const char *name)
{
    return is_scalar(k) && strcmp(sval(k), name) == 0;
}

/* A plain (unquoted) scalar that YAML 1.1 reads as null: "", "~", "null". */
static int is_null(const yaml_node_t *n)
{
    if (!is_scalar(n) || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *s = sval(n);
    return !*s || strcmp(s, "~") == 0 || strcasecmp(s, "null") == 0;
}

static int parse_int(const char *s, int64_t *ret)
{
    char *end;
    errno = 0;
    if (!*s || isspace((unsigned char)*s))
        return -1;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *ret = v;
    return 0;
}

static int parse_bool(const char *s, bool *ret)
{
    if (strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0) {
        *ret = true;
        return 0;
    }
    if (strcasecmp(s, "false") == 0 || strcasecmp(s, "no") == 0) {
        *ret = false;
        return 0;
    }
    return -1;
}

/* A scalar as an owned string; NULL for another node (an error) or no memory. */
static char *want_string(struct pctx *p, const yaml_node_t *n, const char *what)
{
    if (!is_scalar(n)) {
        err(p, n, "%s: expected a text value", what);
        return NULL;
    }
    char *s = strdup(sval(n));
    if (!s)
        err(p, n, "out of memory");
    return s;
}

/* A scalar or a sequence of scalars as an owned string list. */
static int want_list(struct pctx *p, const yaml_node_t *n, const char *what, char ***ret,
                     size_t *ret_n)
{
    size_t cap = n->type == YAML_SEQUENCE_NODE
                     ? (size_t)(n->data.sequence.items.top - n->data.sequence.items.start)
                     : 1;
    char **v = calloc(cap ? cap : 1, sizeof *v);
    if (!v) {
        err(p, n, "out of memory");
        return -1;
    }
    size_t k = 0;
    if (is_scalar(n)) {
        if (!(v[k++] = want_string(p, n, what)))
            goto fail;
    } else if (n->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++) {
            if (!(v[k] = want_string(p, node(p, *it), what)))
                goto fail;
            k++;
        }
    } else {
        err(p, n, "%s: expected a text or a list of texts", what);
        goto fail;
    }
    *ret = v;
    *ret_n = k;
    return 0;
fail:
    for (size_t i = 0; i < k; i++)
        free(v[i]);
    free(v);
    return -1;
}

static const char *const level_names[] = {"", "informational", "low", "medium", "high", "critical"};

const char *detect_level_name(enum detect_level level)
{
    return (unsigned)level < ARRAY_SIZE(level_names) ? level_names[level] : "";
}

/* docs/rules.md, "Levels": informational INFO, low NOTICE, medium WARNING,
   high ERROR, critical CRITICAL; no level: WARNING */
int detect_level_severity(enum detect_level level)
{
    static const int sev[] = {TRAIL_SEV_WARNING, TRAIL_SEV_INFO,  TRAIL_SEV_NOTICE,
                              TRAIL_SEV_WARNING, TRAIL_SEV_ERROR, TRAIL_SEV_CRITICAL};
    return (unsigned)level < ARRAY_SIZE(sev) ? sev[level] : TRAIL_SEV_WARNING;
}

static const char *const corr_names[] = {"", "event_count", "value_count", "temporal",
                                         "temporal_ordered"};

const char *detect_corr_type_name(enum detect_corr_type t)
{
    return (unsigned)t < ARRAY_SIZE(corr_names) ? corr_names[t] : "";
}

int detect_field_kind(const char *name, enum detect_field_kind *ret)
{
    static const struct {
        const char *name;
        enum detect_field_kind kind;
    } fixed[] = {{"id", DF_ID},         {"severity", DF_SEVERITY}, {"host", DF_HOST},
                 {"@input", DF_INPUT},  {"@peer", DF_PEER},        {"@principal", DF_PRINCIPAL},
                 {"@origin", DF_ORIGIN}};
    for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
        if (strcmp(name, fixed[i].name) == 0) {
            *ret = fixed[i].kind;
            return 0;
        }
    if (!*name || strlen(name) > 255)
        return -1;
    for (const char *c = name; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '_' && *c != '.' && *c != '-')
            return -1;
    *ret = DF_ATTR;
    return 0;
}

/* 1 when text has a * or ? that no backslash escapes. */
static bool has_wildcard(const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' && s[1]) {
            s++;
            continue;
        }
        if (*s == '*' || *s == '?')
            return true;
    }
    return false;
}

/* A value without wildcards is compared as it stands: \* \? \\ become * ? \ */
static void unescape(struct detect_value *v)
{
    size_t w = 0;
    for (size_t i = 0; i < v->len; i++) {
        if (v->text[i] == '\\' && i + 1 < v->len &&
            (v->text[i + 1] == '*' || v->text[i + 1] == '?' || v->text[i + 1] == '\\'))
            i++;
        v->text[w++] = v->text[i];
    }
    v->text[w] = '\0';
    v->len = w;
}

static int parse_cidr(const char *text, struct detect_value *v)
{
    char addr[64];
    const char *slash = strchr(text, '/');
    size_t alen = slash ? (size_t)(slash - text) : strlen(text);
    if (alen == 0 || alen >= sizeof addr)
        return -1;
    memcpy(addr, text, alen);
    addr[alen] = '\0';
    memset(v->net, 0, sizeof v->net);
    if (inet_pton(AF_INET, addr, v->net) == 1)
        v->family = 4;
    else if (inet_pton(AF_INET6, addr, v->net) == 1)
        v->family = 6;
    else
        return -1;
    unsigned max = v->family == 4 ? 32 : 128;
    v->prefix = max;
    if (slash) {
        int64_t pfx;
        if (parse_int(slash + 1, &pfx) < 0 || pfx < 0 || pfx > max)
            return -1;
        v->prefix = (unsigned)pfx;
    }
    /* host bits past the prefix are cleared, as a network is written */
    for (unsigned b = v->prefix; b < max; b++)
        v->net[b / 8] &= (uint8_t) ~(0x80u >> (b % 8));
    return 0;
}

/* One value of a field (or a keyword) from its scalar node, under the field's op. */
static int make_value(struct pctx *p, const yaml_node_t *n, const struct detect_field *f,
                      const char *prefix, const char *suffix, bool icase_re, struct detect_value *v)
{
    memset(v, 0, sizeof *v);
    if (!is_scalar(n)) {
        err(p, n, "'%s': expected a value or a list of values", f->name);
        return -1;
    }
    const char *s = sval(n);
    bool plain = n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    if (is_null(n)) {
        if (f->op != DOP_MATCH || *prefix || *suffix) {
            err(p, n, "'%s': null takes no modifier", f->name);
            return -1;
        }
        v->is_null = true;
        v->text = strdup("");
        return v->text ? 0 : (err(p, n, "out of memory"), -1);
    }
    size_t len = strlen(prefix) + strlen(s) + strlen(suffix);
    if (!(v->text = malloc(len + 1))) {
        err(p, n, "out of memory");
        return -1;
    }
    snprintf(v->text, len + 1, "%s%s%s", prefix, s, suffix);
    v->len = len;
    v->is_int = plain && parse_int(s, &v->num) == 0;
    switch (f->op) {
    case DOP_MATCH:
        v->has_wild = has_wildcard(v->text);
        if (!v->has_wild) {
            unescape(v);
            /* read once here, not at every comparison with an address field */
            if (!detect_text_ip(v->text, v->len, &v->family, v->net))
                v->family = 0;
        }
        if (f->kind == DF_SEVERITY) {
            int sev;
            if (v->has_wild || trail_severity_parse(s, &sev) < 0) {
                err(p, n, "'%s': '%s' is not a severity (a number 1..10 or a name)", f->name, s);
                return -1;
            }
            v->is_int = true;
            v->num = sev;
        }
        return 0;
    case DOP_RE: {
        int rc = regcomp(&v->re, s, REG_EXTENDED | REG_NOSUB | (icase_re ? REG_ICASE : 0));
        if (rc != 0) {
            char msg[160];
            regerror(rc, &v->re, msg, sizeof msg);
            err(p, n, "'%s|re': bad regular expression '%s': %s (POSIX extended syntax)", f->name,
                s, msg);
            return -1;
        }
        v->regex_ok = true;
        return 0;
    }
    case DOP_CIDR:
        if (parse_cidr(s, v) < 0) {
            err(p, n, "'%s|cidr': '%s' is not a network (ADDRESS/PREFIX)", f->name, s);
            return -1;
        }
        return 0;
    case DOP_GT:
    case DOP_GTE:
    case DOP_LT:
    case DOP_LTE:
        if (f->kind == DF_SEVERITY) {
            int sev;
            if (trail_severity_parse(s, &sev) == 0) {
                v->is_int = true;
                v->num = sev;
                return 0;
            }
        }
        if (v->is_int)
            return 0;
        if (trail_time_parse(s, strlen(s), &v->num) == 0) {
            v->is_time = true;
            return 0;
        }
        err(p, n, "'%s': '%s' is not a number or an RFC 3339 time", f->name, s);
        return -1;
    case DOP_EXISTS: {
        bool b;
        if (parse_bool(s, &b) < 0) {
            err(p, n, "'%s|exists': expected true or false", f->name);
            return -1;
        }
        v->is_int = true;
        v->num = b;
        return 0;
    }
    }
    return 0;
}

void detect_value_free(struct detect_value *v)
{
    if (v->regex_ok)
        regfree(&v->re);
    free(v->text);
}

static void free_field(struct detect_field *f)
{
    for (size_t i = 0; i < f->n_values; i++)
        detect_value_free(&f->values[i]);
    free(f->values);
    free(f->name);
}

/* `field|mod|mod: value(s)`. */
static int parse_field(struct pctx *p, const yaml_node_t *k, const yaml_node_t *val,
                       struct detect_field *f)
{
    memset(f, 0, sizeof *f);
    f->line = NODE_LINE(k);
    f->column = NODE_COL(k);
    if (!is_scalar(k)) {
        err(p, k, "a field name must be text");
        return -1;
    }
    char *spec = strdup(sval(k));
    if (!spec) {
        err(p, k, "out of memory");
        return -1;
    }
    char *save = NULL, *tok = strtok_r(spec, "|", &save);
    const char *prefix = "", *suffix = "";
    bool icase_re = false, have_op = false, have_wrap = false;
    int r = -1;
    if (!tok || spec[0] == '|') {
        err(p, k, "'%s': a field name is missing before the modifiers", sval(k));
        goto out;
    }
    if (!(f->name = strdup(tok))) {
        err(p, k, "out of memory");
        goto out;
    }
    if (detect_field_kind(f->name, &f->kind) < 0) {
        err(p, k,
            "'%s': not a field (id, severity, host, @input, @peer, @principal, @origin or "
            "an attribute key of [A-Za-z0-9_.-])",
            f->name);
        goto out;
    }
    f->op = DOP_MATCH;
    while ((tok = strtok_r(NULL, "|", &save))) {
        static const struct {
            const char *name;
            enum detect_op op;
        } ops[] = {{"re", DOP_RE}, {"cidr", DOP_CIDR}, {"gt", DOP_GT},        {"gte", DOP_GTE},
                   {"lt", DOP_LT}, {"lte", DOP_LTE},   {"exists", DOP_EXISTS}};
        bool known = false;
        for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
            if (strcmp(tok, ops[i].name) == 0) {
                if (have_op || have_wrap) {
                    err(p, k, "'%s': modifier '%s' does not combine with the one before it",
                        sval(k), tok);
                    goto out;
                }
                f->op = ops[i].op;
                have_op = known = true;
            }
        if (known)
            continue;
        if (strcmp(tok, "contains") == 0 || strcmp(tok, "startswith") == 0 ||
            strcmp(tok, "endswith") == 0) {
            if (have_op || have_wrap) {
                err(p, k, "'%s': modifier '%s' does not combine with the one before it", sval(k),
                    tok);
                goto out;
            }
            have_wrap = true;
            prefix = tok[0] == 's' ? "" : "*";
            suffix = tok[0] == 'e' ? "" : "*";
        } else if (strcmp(tok, "all") == 0) {
            f->all = true;
        } else if (strcmp(tok, "cased") == 0) {
            f->cased = true;
        } else if (strcmp(tok, "i") == 0 && f->op == DOP_RE) {
            icase_re = true;
        } else {
            err(p, k, "'%s': modifier '%s' is not supported (docs/rules.md lists those that are)",
                sval(k), tok);
            goto out;
        }
    }
    if (f->cased && f->op != DOP_MATCH) {
        err(p, k, "'%s': cased applies to plain, contains, startswith and endswith values",
            sval(k));
        goto out;
    }
    size_t n = val->type == YAML_SEQUENCE_NODE
                   ? (size_t)(val->data.sequence.items.top - val->data.sequence.items.start)
                   : 1;
    if (n == 0) {
        err(p, val, "'%s': an empty list matches nothing; give at least one value", f->name);
        goto out;
    }
    if (val->type == YAML_MAPPING_NODE) {
        err(p, val, "'%s': expected a value or a list of values, not a map", f->name);
        goto out;
    }
    if ((f->op == DOP_EXISTS) && n != 1) {
        err(p, val, "'%s|exists': takes one value, true or false", f->name);
        goto out;
    }
    if (!(f->values = calloc(n, sizeof *f->values))) {
        err(p, val, "out of memory");
        goto out;
    }
    if (val->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = val->data.sequence.items.start;
             it < val->data.sequence.items.top; it++) {
            if (make_value(p, node(p, *it), f, prefix, suffix, icase_re, &f->values[f->n_values]) <
                0) {
                detect_value_free(&f->values[f->n_values]);
                goto out;
            }
            f->n_values++;
        }
    } else {
        if (make_value(p, val, f, prefix, suffix, icase_re, &f->values[0]) < 0) {
            detect_value_free(&f->values[0]);
            goto out;
        }
        f->n_values = 1;
    }
    r = 0;
out:
    free(spec);
    return r;
}

static void free_map(struct detect_map *m)
{
    for (size_t i = 0; i < m->n_fields; i++)
        free_field(&m->fields[i]);
    free(m->fields);
    memset(m, 0, sizeof *m);
}

static int parse_map(struct pctx *p, const yaml_node_t *n, struct detect_map *m)
{
    size_t cap = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    memset(m, 0, sizeof *m);
    if (cap == 0) {
        err(p, n, "an empty map selects every event; name at least one field");
        return -1;
    }
    if (!(m->fields = calloc(cap, sizeof *m->fields))) {
        err(p, n, "out of memory");
        return -1;
    }
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        if (parse_field(p, node(p, pr->key), node(p, pr->value), &m->fields[m->n_fields]) < 0) {
            free_field(&m->fields[m->n_fields]);
            free_map(m);
            return -1;
        }
        m->n_fields++;
    }
    return 0;
}

void detect_sel_free(struct detect_sel *s)
{
    for (size_t i = 0; i < s->n_maps; i++)
        free_map(&s->maps[i]);
    free(s->maps);
    for (size_t i = 0; i < s->n_keywords; i++)
        detect_value_free(&s->keywords[i]);
    free(s->keywords);
    free(s->name);
}

static int sel_list(struct pctx *p, const yaml_node_t *v, const yaml_node_t **elems, size_t n,
                    struct detect_sel *s);

/* A search identifier: a map, a list of maps, or a list of keywords. */
static int parse_sel(struct pctx *p, const yaml_node_t *k, const yaml_node_t *v,
                     struct detect_sel *s)
{
    memset(s, 0, sizeof *s);
    if (!(s->name = strdup(sval(k)))) {
        err(p, k, "out of memory");
        return -1;
    }
    if (v->type == YAML_MAPPING_NODE) {
        if (!(s->maps = calloc(1, sizeof *s->maps))) {
            err(p, v, "out of memory");
            return -1;
        }
        if (parse_map(p, v, &s->maps[0]) < 0)
            return -1;
        s->n_maps = 1;
        return 0;
    }
    /* a lone text is a one-keyword list */
    size_t n = v->type == YAML_SEQUENCE_NODE
                   ? (size_t)(v->data.sequence.items.top - v->data.sequence.items.start)
                   : 1;
    if (n == 0) {
        err(p, v, "selection '%s': an empty list matches nothing", s->name);
        return -1;
    }
    const yaml_node_t **elems = calloc(n, sizeof *elems);
    if (!elems) {
        err(p, v, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        elems[i] = v->type == YAML_SEQUENCE_NODE ? node(p, v->data.sequence.items.start[i]) : v;
    int r = sel_list(p, v, elems, n, s);
    free(elems);
    return r;
}

static int sel_list(struct pctx *p, const yaml_node_t *v, const yaml_node_t **elems, size_t n,
                    struct detect_sel *s)
{
    int maps = 0, scalars = 0;
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *e = elems[i];
        if (e->type == YAML_MAPPING_NODE)
            maps++;
        else if (is_scalar(e))
            scalars++;
        else {
            err(p, e, "selection '%s': a list holds maps or keywords, not lists", s->name);
            return -1;
        }
    }
    if (maps && scalars) {
        err(p, v, "selection '%s': a list holds either maps or keywords, not both", s->name);
        return -1;
    }
    if (maps) {
        if (!(s->maps = calloc(n, sizeof *s->maps))) {
            err(p, v, "out of memory");
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            if (parse_map(p, elems[i], &s->maps[s->n_maps]) < 0) {
                free_map(&s->maps[s->n_maps]);
                return -1;
            }
            s->n_maps++;
        }
        return 0;
    }
    if (!(s->keywords = calloc(n, sizeof *s->keywords))) {
        err(p, v, "out of memory");
        return -1;
    }
    struct detect_field kw = {.name = s->name, .op = DOP_MATCH, .kind = DF_ATTR};
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *e = elems[i];
        if (is_null(e)) {
            err(p, e, "selection '%s': a keyword cannot be null", s->name);
            return -1;
        }
        if (make_value(p, e, &kw, "*", "*", false, &s->keywords[s->n_keywords]) < 0) {
            detect_value_free(&s->keywords[s->n_keywords]);
            return -1;
        }
        s->n_keywords++;
    }
    return 0;
}

static int parse_detection(struct pctx *p, const yaml_node_t *n, struct detect_rule *r)
{
    if (n->type != YAML_MAPPING_NODE) {
        err(p, n, "detection: expected a map of selections and a condition");
        return -1;
    }
    size_t cap = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    if (!(r->sels = calloc(cap ? cap : 1, sizeof *r->sels))) {
        err(p, n, "out of memory");
        return -1;
    }
    const yaml_node_t *cond = NULL;
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        const yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
        if (!is_scalar(k)) {
            err(p, k, "detection: a search identifier must be text");
            return -1;
        }
        if (key_is(k, "condition")) {
            cond = v;
            continue;
        }
        if (key_is(k, "timeframe")) {
            err(p, k,
                "detection: timeframe is Sigma's old aggregation; write a correlation rule "
                "(event_count, ...) with a timespan");
            return -1;
        }
        for (size_t i = 0; i < r->n_sels; i++)
            if (strcmp(r->sels[i].name, sval(k)) == 0) {
                err(p, k, "detection: selection '%s' is defined twice", sval(k));
                return -1;
            }
        if (parse_sel(p, k, v, &r->sels[r->n_sels]) < 0) {
            detect_sel_free(&r->sels[r->n_sels]);
            return -1;
        }
        r->n_sels++;
    }
    if (!cond) {
        err(p, n, "detection: the condition is missing");
        return -1;
    }
    if (r->n_sels == 0) {
        err(p, n, "detection: no selection");
        return -1;
    }
    /* a list of conditions is their disjunction (Sigma 1) */
    if (cond->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = cond->data.sequence.items.start;
             it < cond->data.sequence.items.top; it++) {
            const yaml_node_t *c = node(p, *it);
            struct detect_cond *one = NULL;
            if (!is_scalar(c)) {
                err(p, c, "condition: expected text");
                return -1;
            }
            if (detect_cond_parse(r, sval(c), p->file, NODE_LINE(c),
                                  NODE_COL(c) + (c->data.scalar.style != YAML_PLAIN_SCALAR_STYLE),
                                  p->rs, p->diag, p->ctx, &one) < 0) {
                p->errors++;
                return -1;
            }
            if (!r->cond) {
                r->cond = one;
            } else {
                struct detect_cond *o = calloc(1, sizeof *o);
                if (!o) {
                    detect_cond_free(one);
                    err(p, c, "out of memory");
                    return -1;
                }
                o->kind = DC_OR;
                o->a = r->cond;
                o->b = one;
                r->cond = o;
            }
        }
        if (!r->cond) {
            err(p, cond, "condition: the list is empty");
            return -1;
        }
        return 0;
    }
    if (!is_scalar(cond)) {
        err(p, cond, "condition: expected text");
        return -1;
    }
    if (detect_cond_parse(r, sval(cond), p->file, NODE_LINE(cond),
                          NODE_COL(cond) + (cond->data.scalar.style != YAML_PLAIN_SCALAR_STYLE),
                          p->rs, p->diag, p->ctx, &r->cond) < 0) {
        p->errors++;
        return -1;
    }
    return 0;
}

/* "30s", "5m", "1h", "2d", "1w" (trail_duration_parse), and not zero. */
static int parse_timespan(const char *s, int64_t *ret_us)
{
    int64_t us;
    if (trail_duration_parse(s, strlen(s), &us) < 0 || us <= 0)
        return -1;
    *ret_us = us;
    return 0;
}

static int parse_corr_cond(struct pctx *p, const yaml_node_t *n, struct detect_rule *r)
{
    struct detect_corr_cond *c = &r->ccond;
    if (n->type != YAML_MAPPING_NODE) {
        err(p, n, "correlation condition: expected a map (gte: 10, field: duser, ...)");
        return -1;
    }
    int bounds = 0;
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        const yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
        if (key_is(k, "field")) {
            if (!(c->field = want_string(p, v, "correlation condition field")))
                return -1;
            if (detect_field_kind(c->field, &c->field_kind) < 0) {
                err(p, v, "'%s': not a field", c->field);
                return -1;
            }
            continue;
        }
        static const char *const ops[] = {"gt", "gte", "lt", "lte", "eq"};
        bool *has[] = {&c->has_gt, &c->has_gte, &c->has_lt, &c->has_lte, &c->has_eq};
        int64_t *val[] = {&c->gt, &c->gte, &c->lt, &c->lte, &c->eq};
        size_t i;
        for (i = 0; i < ARRAY_SIZE(ops); i++)
            if (key_is(k, ops[i]))
                break;
        if (i == ARRAY_SIZE(ops)) {
            err(p, k, "correlation condition: '%s' is not one of gt, gte, lt, lte, eq, field",
                is_scalar(k) ? sval(k) : "?");
            return -1;
        }
        if (!is_scalar(v) || parse_int(sval(v), val[i]) < 0 || *val[i] < 0) {
            err(p, v, "correlation condition %s: expected a count (0 or more)", ops[i]);
            return -1;
        }
        *has[i] = true;
        bounds++;
    }
    if (bounds == 0) {
        err(p, n, "correlation condition: no bound (gt, gte, lt, lte or eq)");
        return -1;
    }
    if (c->has_eq && bounds > 1) {
        err(p, n, "correlation condition: eq does not combine with other bounds");
        return -1;
    }
    if ((c->has_gt && c->has_gte) || (c->has_lt && c->has_lte)) {
        err(p, n, "correlation condition: two lower or two upper bounds");
        return -1;
    }
    return 0;
}

static int parse_correlation(struct pctx *p, const yaml_node_t *n, struct detect_rule *r)
{
    if (n->type != YAML_MAPPING_NODE) {
        err(p, n, "correlation: expected a map (type, rules, group-by, timespan, condition)");
        return -1;
    }
    const yaml_node_t *cond = NULL, *type = NULL, *rules = NULL, *span = NULL;
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        const yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
        if (key_is(k, "type")) {
            type = v;
        } else if (key_is(k, "rules")) {
            rules = v;
            r->corr_line = NODE_LINE(v);
            r->corr_column = NODE_COL(v);
            if (want_list(p, v, "rules", &r->corr_rules, &r->n_corr_rules) < 0)
                return -1;
        } else if (key_is(k, "group-by")) {
            if (want_list(p, v, "group-by", &r->group_by, &r->n_group_by) < 0)
                return -1;
            if (!(r->group_kinds =
                      calloc(r->n_group_by ? r->n_group_by : 1, sizeof *r->group_kinds))) {
                err(p, v, "out of memory");
                return -1;
            }
            for (size_t i = 0; i < r->n_group_by; i++)
                if (detect_field_kind(r->group_by[i], &r->group_kinds[i]) < 0) {
                    err(p, v, "group-by: '%s' is not a field", r->group_by[i]);
                    return -1;
                }
        } else if (key_is(k, "timespan")) {
            span = v;
            if (!is_scalar(v) || parse_timespan(sval(v), &r->timespan_us) < 0) {
                err(p, v, "timespan: expected a positive length with a unit: 30s, 5m, 1h, 2d, 1w");
                return -1;
            }
        } else if (key_is(k, "condition")) {
            cond = v;
        } else if (key_is(k, "generate")) {
            if (!is_scalar(v) || parse_bool(sval(v), &r->generate) < 0) {
                err(p, v, "generate: expected true or false");
                return -1;
            }
        } else if (key_is(k, "aliases")) {
            err(p, k, "correlation: aliases are not supported; group by a field the rules share");
            return -1;
        } else {
            err(p, k, "correlation: unknown key '%s'", is_scalar(k) ? sval(k) : "?");
            return -1;
        }
    }
    if (!type) {
        err(p, n,
            "correlation: the type is missing (event_count, value_count, temporal, "
            "temporal_ordered)");
        return -1;
    }
    for (size_t i = 1; i < ARRAY_SIZE(corr_names); i++)
        if (key_is(type, corr_names[i]))
            r->corr = (enum detect_corr_type)i;
    if (r->corr == DCT_NONE) {
        err(p, type,
            "correlation type: '%s' is not event_count, value_count, temporal or "
            "temporal_ordered",
            is_scalar(type) ? sval(type) : "?");
        return -1;
    }
    if (!rules || r->n_corr_rules == 0) {
        err(p, rules ? rules : n, "correlation: rules names no rule");
        return -1;
    }
    if (!span) {
        err(p, n, "correlation: the timespan is missing");
        return -1;
    }
    if (cond) {
        if (parse_corr_cond(p, cond, r) < 0)
            return -1;
    } else if (r->corr == DCT_EVENT_COUNT || r->corr == DCT_VALUE_COUNT) {
        err(p, n, "correlation: %s needs a condition", corr_names[r->corr]);
        return -1;
    } else {
        /* temporal: every rule named, by default */
        r->ccond.has_gte = true;
        r->ccond.gte = (int64_t)r->n_corr_rules;
    }
    if (r->corr == DCT_VALUE_COUNT && !r->ccond.field) {
        err(p, cond, "correlation condition: value_count needs the field whose values it counts");
        return -1;
    }
    if (r->corr != DCT_VALUE_COUNT && r->ccond.field) {
        err(p, cond, "correlation condition: field is for value_count only");
        return -1;
    }
    if ((r->corr == DCT_TEMPORAL || r->corr == DCT_TEMPORAL_ORDERED) && r->n_corr_rules < 2) {
        err(p, rules, "correlation: %s needs at least two rules", corr_names[r->corr]);
        return -1;
    }
    return 0;
}

void detect_rule_free(struct detect_rule *r)
{
    if (!r)
        return;
    free(r->file);
    free(r->title);
    free(r->id);
    free(r->name);
    free(r->status);
    free(r->description);
    for (size_t i = 0; i < r->n_tags; i++)
        free(r->tags[i]);
    free(r->tags);
    for (size_t i = 0; i < r->n_falsepositives; i++)
        free(r->falsepositives[i]);
    free(r->falsepositives);
    free(r->product);
    free(r->category);
    free(r->service);
    for (size_t i = 0; i < r->n_sels; i++)
        detect_sel_free(&r->sels[i]);
    free(r->sels);
    detect_cond_free(r->cond);
    for (size_t i = 0; i < r->n_corr_rules; i++)
        free(r->corr_rules[i]);
    free(r->corr_rules);
    free(r->corr_refs);
    for (size_t i = 0; i < r->n_group_by; i++)
        free(r->group_by[i]);
    free(r->group_by);
    free(r->group_kinds);
    free(r->ccond.field);
    free(r);
}

/* logsource products that select trail's events (docs/rules.md, "Logsource") */
static bool product_is_trails(const char *product)
{
    return product && (strcasecmp(product, "trail") == 0 || strcasecmp(product, "phenixid") == 0);
}

static int parse_logsource(struct pctx *p, const yaml_node_t *n, struct detect_rule *r)
{
    if (n->type != YAML_MAPPING_NODE) {
        err(p, n, "logsource: expected a map (product: trail)");
        return -1;
    }
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        const yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
        char **slot = key_is(k, "product")    ? &r->product
                      : key_is(k, "category") ? &r->category
                      : key_is(k, "service")  ? &r->service
                                              : NULL;
        if (!slot)
            continue; /* definition and the like: free text */
        if (!(*slot = want_string(p, v, sval(k))))
            return -1;
    }
    return 0;
}

/* A key given twice in any map of the document: YAML forbids it, libyaml lets it through. */
static int dup_keys(struct pctx *p)
{
    for (yaml_node_t *n = p->doc->nodes.start; n < p->doc->nodes.top; n++) {
        if (n->type != YAML_MAPPING_NODE)
            continue;
        for (yaml_node_pair_t *a = n->data.mapping.pairs.start; a < n->data.mapping.pairs.top;
             a++) {
            const yaml_node_t *ka = node(p, a->key);
            if (!is_scalar(ka))
                continue;
            for (yaml_node_pair_t *b = n->data.mapping.pairs.start; b < a; b++) {
                const yaml_node_t *kb = node(p, b->key);
                if (is_scalar(kb) && strcmp(sval(ka), sval(kb)) == 0) {
                    err(p, ka, "'%s' is given twice in this map (first at line %u)", sval(ka),
                        NODE_LINE(kb));
                    return -1;
                }
            }
        }
    }
    return 0;
}

/* One YAML document: a rule. Returns 0 with *ret (NULL for an empty document) or -1. */
static int parse_rule(struct pctx *p, unsigned doc_line, struct detect_rule **ret)
{
    yaml_node_t *root = yaml_document_get_root_node(p->doc);
    *ret = NULL;
    if (!root)
        return 0;
    if (root->type != YAML_MAPPING_NODE) {
        err(p, root, "a rule is a map (title, logsource, detection, ...)");
        return -1;
    }
    if (dup_keys(p) < 0)
        return -1;
    struct detect_rule *r = calloc(1, sizeof *r);
    if (!r || !(r->file = strdup(p->file))) {
        free(r);
        err(p, root, "out of memory");
        return -1;
    }
    r->line = doc_line;
    const yaml_node_t *det = NULL, *corr = NULL;
    for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top;
         pr++) {
        const yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
        if (!is_scalar(k)) {
            err(p, k, "a rule's keys are text");
            goto fail;
        }
        char **text = key_is(k, "title")         ? &r->title
                      : key_is(k, "id")          ? &r->id
                      : key_is(k, "name")        ? &r->name
                      : key_is(k, "status")      ? &r->status
                      : key_is(k, "description") ? &r->description
                                                 : NULL;
        if (text) {
            if (!(*text = want_string(p, v, sval(k))))
                goto fail;
        } else if (key_is(k, "level")) {
            if (!is_scalar(v)) {
                err(p, v, "level: expected text");
                goto fail;
            }
            for (size_t i = 1; i < ARRAY_SIZE(level_names); i++)
                if (strcmp(sval(v), level_names[i]) == 0)
                    r->level = (enum detect_level)i;
            if (r->level == DL_NONE) {
                err(p, v, "level: '%s' is not informational, low, medium, high or critical",
                    sval(v));
                goto fail;
            }
        } else if (key_is(k, "tags")) {
            if (want_list(p, v, "tags", &r->tags, &r->n_tags) < 0)
                goto fail;
        } else if (key_is(k, "falsepositives")) {
            if (want_list(p, v, "falsepositives", &r->falsepositives, &r->n_falsepositives) < 0)
                goto fail;
        } else if (key_is(k, "logsource")) {
            if (parse_logsource(p, v, r) < 0)
                goto fail;
        } else if (key_is(k, "detection")) {
            det = v;
        } else if (key_is(k, "correlation")) {
            corr = v;
        } else if (key_is(k, "grace")) {
            /* trail's own key (Sigma has none): suppression per rule and group */
            if (!is_scalar(v) || parse_timespan(sval(v), &r->grace_us) < 0) {
                err(p, v, "grace: expected a positive length with a unit: 30s, 5m, 1h, 2d, 1w");
                goto fail;
            }
        } else if (key_is(k, "action")) {
            err(p, k,
                "action: rule collections (global, reset, repeat) are not supported; write "
                "each rule whole");
            goto fail;
        }
        /* anything else (author, date, references, fields, ...) is kept by Sigma, unused here */
    }
    if (!r->title) {
        err(p, root, "the title is missing");
        goto fail;
    }
    if (r->status) {
        static const char *const statuses[] = {"stable", "test", "experimental", "deprecated",
                                               "unsupported"};
        bool ok = false;
        for (size_t i = 0; i < ARRAY_SIZE(statuses); i++)
            ok |= strcmp(r->status, statuses[i]) == 0;
        if (!ok) {
            err(p, root,
                "status: '%s' is not stable, test, experimental, deprecated or unsupported",
                r->status);
            goto fail;
        }
    }
    if (det && corr) {
        err(p, corr, "a rule has a detection or a correlation, not both");
        goto fail;
    }
    if (det) {
        if (parse_detection(p, det, r) < 0)
            goto fail;
        r->applicable = product_is_trails(r->product);
    } else if (corr) {
        if (parse_correlation(p, corr, r) < 0)
            goto fail;
        r->applicable = true; /* until detect_rules_finish finds a rule it names that is not */
    } else {
        err(p, root, "the detection is missing");
        goto fail;
    }
    *ret = r;
    return 0;
fail:
    detect_rule_free(r);
    return -1;
}

int detect_rules_add(struct detect_rules *rs, const char *file, const char *text, size_t len,
                     detect_diag_fn diag, void *ctx)
{
    yaml_parser_t parser;
    struct pctx p = {.rs = rs, .file = file, .diag = diag, .ctx = ctx};
    if (!yaml_parser_initialize(&parser))
        return -ENOMEM;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    for (;;) {
        yaml_document_t doc;
        if (!yaml_parser_load(&parser, &doc)) {
            /* the YAML itself is broken: where libyaml stopped, and nothing after it */
            const yaml_mark_t *m =
                parser.problem_mark.line || parser.problem_mark.column || !parser.context_mark.line
                    ? &parser.problem_mark
                    : &parser.context_mark;
            p.errors++;
            detect_report(rs, diag, ctx, file, (unsigned)m->line + 1, (unsigned)m->column + 1, 0,
                          "YAML: %s%s%s", parser.problem ? parser.problem : "cannot be read",
                          parser.context ? " " : "", parser.context ? parser.context : "");
            break;
        }
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        if (!root) {
            yaml_document_delete(&doc);
            break; /* the end of the stream */
        }
        p.doc = &doc;
        struct detect_rule *r = NULL;
        if (parse_rule(&p, NODE_LINE(root), &r) == 0 && r) {
            if (rs->n_rules == rs->cap_rules) {
                size_t cap = rs->cap_rules ? rs->cap_rules * 2 : 16;
                struct detect_rule **v = realloc(rs->rules, cap * sizeof *v);
                if (!v) {
                    detect_rule_free(r);
                    yaml_document_delete(&doc);
                    yaml_parser_delete(&parser);
                    return -ENOMEM;
                }
                rs->rules = v;
                rs->cap_rules = cap;
            }
            rs->rules[rs->n_rules++] = r;
        }
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    return p.errors;
}

int detect_rules_add_file(struct detect_rules *rs, const char *path, detect_diag_fn diag, void *ctx)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        detect_report(rs, diag, ctx, path, 0, 0, 0, "cannot open: %s", strerror(e));
        return -e;
    }
    struct trail_buf b = {0};
    char chunk[8192];
    size_t n;
    int r = 0;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if ((r = trail_buf_append(&b, chunk, n)) < 0)
            break;
    if (r == 0 && ferror(f))
        r = -EIO;
    fclose(f);
    if (r == 0 && b.len > DETECT_MAX_FILE)
        r = -EFBIG;
    if (r < 0) {
        detect_report(rs, diag, ctx, path, 0, 0, 0, "cannot read: %s", strerror(-r));
        trail_buf_free(&b);
        return r;
    }
    r = detect_rules_add(rs, path, b.data ? b.data : "", b.len, diag, ctx);
    trail_buf_free(&b);
    return r;
}
