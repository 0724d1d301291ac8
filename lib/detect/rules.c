/*
 * rules.c - a set of rules: made, finished (correlations resolved to the
 * rules they name across files, cycles refused, fields checked against the
 * catalog) and freed.
 *
 * Not here: reading one file (rule.c), evaluation (match.c, correlate.c).
 */
#include "detect_int.h"

#include <dirent.h>
#include <stdio.h>

int detect_rules_new(const struct trail_catalog *cat, struct detect_rules **ret_rules)
{
    struct detect_rules *rs = calloc(1, sizeof *rs);
    if (!rs)
        return -ENOMEM;
    rs->cat = cat;
    *ret_rules = rs;
    return 0;
}

void detect_rules_free(struct detect_rules *rs)
{
    if (!rs)
        return;
    for (size_t i = 0; i < rs->n_rules; i++)
        detect_rule_free(rs->rules[i]);
    free(rs->rules);
    free(rs);
}

static long find_rule(const struct detect_rules *rs, const struct detect_rule *self,
                      const char *ref)
{
    for (size_t i = 0; i < rs->n_rules; i++) {
        const struct detect_rule *o = rs->rules[i];
        if (o != self &&
            ((o->name && strcmp(o->name, ref) == 0) || (o->id && strcmp(o->id, ref) == 0)))
            return (long)i;
    }
    return -1;
}

/* 1 when following r's references comes back to target (or goes too deep) */
static int reaches(const struct detect_rules *rs, const struct detect_rule *r,
                   const struct detect_rule *target, int depth)
{
    if (depth > 32)
        return 1;
    for (size_t i = 0; i < r->n_corr_rules; i++) {
        const struct detect_rule *o = rs->rules[r->corr_refs[i]];
        if (o == target || (o->corr && reaches(rs, o, target, depth + 1)))
            return 1;
    }
    return 0;
}

/* Resolve every correlation; drop those that name a missing rule or loop. Returns errors. */
static int resolve(struct detect_rules *rs, detect_diag_fn diag, void *ctx)
{
    int errors = 0;
    for (;;) {
        long bad = -1;
        for (size_t i = 0; i < rs->n_rules && bad < 0; i++) {
            struct detect_rule *r = rs->rules[i];
            if (!r->corr)
                continue;
            free(r->corr_refs);
            if (!(r->corr_refs = calloc(r->n_corr_rules, sizeof *r->corr_refs)))
                return errors + 1;
            for (size_t k = 0; k < r->n_corr_rules; k++) {
                long j = find_rule(rs, r, r->corr_rules[k]);
                if (j < 0) {
                    detect_report(rs, diag, ctx, r->file, r->corr_line, r->corr_column, 0,
                                  "correlation '%s': rules: '%s' is the name or id of no rule",
                                  r->title, r->corr_rules[k]);
                    bad = (long)i;
                    break;
                }
                r->corr_refs[k] = (size_t)j;
            }
        }
        for (size_t i = 0; i < rs->n_rules && bad < 0; i++) {
            struct detect_rule *r = rs->rules[i];
            if (r->corr && reaches(rs, r, r, 0)) {
                detect_report(rs, diag, ctx, r->file, r->corr_line, r->corr_column, 0,
                              "correlation '%s': its rules lead back to it", r->title);
                bad = (long)i;
            }
        }
        if (bad < 0)
            return errors;
        errors++;
        detect_rule_free(rs->rules[bad]);
        memmove(&rs->rules[bad], &rs->rules[bad + 1],
                (rs->n_rules - (size_t)bad - 1) * sizeof *rs->rules);
        rs->n_rules--;
    }
}

/* applicable when every rule it names is (in order: a chain is settled from its base) */
static bool corr_applicable(const struct detect_rules *rs, const struct detect_rule *r, int depth)
{
    if (!r->corr)
        return r->applicable;
    if (depth > 32)
        return false;
    for (size_t i = 0; i < r->n_corr_rules; i++)
        if (!corr_applicable(rs, rs->rules[r->corr_refs[i]], depth + 1))
            return false;
    return true;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* every attribute key some event of the catalog declares, sorted */
static const char **catalog_keys(const struct trail_catalog *cat, size_t *ret_n)
{
    size_t n = 0, cap = 0;
    const char **keys = NULL;
    size_t ne = trail_catalog_count(cat);
    for (size_t i = 0; i < ne; i++) {
        const struct trail_event_def *d = trail_catalog_at(cat, i);
        for (size_t k = 0; d && k < d->n_attrs; k++) {
            if (n == cap) {
                cap = cap ? cap * 2 : 256;
                const char **v = realloc(keys, cap * sizeof *v);
                if (!v) {
                    free(keys);
                    return NULL;
                }
                keys = v;
            }
            keys[n++] = d->attrs[k]->key;
        }
    }
    if (keys)
        qsort(keys, n, sizeof *keys, cmp_str);
    *ret_n = n;
    return keys;
}

static void check_key(struct detect_rules *rs, detect_diag_fn diag, void *ctx,
                      const struct detect_rule *r, unsigned line, unsigned col, const char *key,
                      const char **keys, size_t n_keys)
{
    if (!keys || bsearch(&key, keys, n_keys, sizeof *keys, cmp_str))
        return;
    detect_report(rs, diag, ctx, r->file, line, col, 1,
                  "rule '%s': no event of the catalog carries the attribute '%s'", r->title, key);
}

static void check_fields(struct detect_rules *rs, detect_diag_fn diag, void *ctx,
                         const struct detect_rule *r, const char **keys, size_t n_keys)
{
    for (size_t s = 0; s < r->n_sels; s++)
        for (size_t m = 0; m < r->sels[s].n_maps; m++)
            for (size_t f = 0; f < r->sels[s].maps[m].n_fields; f++) {
                const struct detect_field *fd = &r->sels[s].maps[m].fields[f];
                if (fd->kind == DF_ATTR)
                    check_key(rs, diag, ctx, r, fd->line, fd->column, fd->name, keys, n_keys);
                if (fd->kind != DF_ID || fd->op != DOP_MATCH)
                    continue;
                for (size_t v = 0; v < fd->n_values; v++) {
                    const struct detect_value *dv = &fd->values[v];
                    if (!dv->has_wild && !dv->is_null &&
                        !trail_catalog_lookup(rs->cat, dv->text, dv->len))
                        detect_report(rs, diag, ctx, r->file, fd->line, fd->column, 1,
                                      "rule '%s': '%s' is not an event of the catalog", r->title,
                                      dv->text);
                }
            }
    for (size_t g = 0; g < r->n_group_by; g++)
        if (r->group_kinds[g] == DF_ATTR)
            check_key(rs, diag, ctx, r, r->corr_line, r->corr_column, r->group_by[g], keys, n_keys);
    if (r->ccond.field && r->ccond.field_kind == DF_ATTR)
        check_key(rs, diag, ctx, r, r->corr_line, r->corr_column, r->ccond.field, keys, n_keys);
}

int detect_rules_finish(struct detect_rules *rs, detect_diag_fn diag, void *ctx)
{
    int errors = resolve(rs, diag, ctx);
    for (size_t i = 0; i < rs->n_rules; i++) {
        struct detect_rule *r = rs->rules[i];
        if (r->id)
            for (size_t j = 0; j < i; j++)
                if (rs->rules[j]->id && strcmp(rs->rules[j]->id, r->id) == 0) {
                    detect_report(rs, diag, ctx, r->file, r->line, 1, 1,
                                  "rule '%s': id %s is also the id of '%s' (%s line %u)", r->title,
                                  r->id, rs->rules[j]->title, rs->rules[j]->file,
                                  rs->rules[j]->line);
                    break;
                }
        if (!r->corr)
            continue;
        r->applicable = corr_applicable(rs, r, 0);
        for (size_t k = 0; k < r->n_corr_rules; k++)
            rs->rules[r->corr_refs[k]]->referenced = true;
        const struct detect_corr_cond *c = &r->ccond;
        if (!c->has_gt && !c->has_gte && !c->has_eq && (c->has_lt || c->has_lte))
            detect_report(rs, diag, ctx, r->file, r->corr_line, r->corr_column, 1,
                          "correlation '%s': a condition with only an upper bound holds from the "
                          "first event of a window, and fires there",
                          r->title);
    }
    /* generate: the rules a correlation names alert on their own too */
    for (size_t i = 0; i < rs->n_rules; i++) {
        struct detect_rule *r = rs->rules[i];
        for (size_t k = 0; r->corr && r->generate && k < r->n_corr_rules; k++)
            rs->rules[r->corr_refs[k]]->referenced = false;
    }
    if (!rs->cat)
        return errors;
    size_t n_keys = 0;
    const char **keys = catalog_keys(rs->cat, &n_keys);
    for (size_t i = 0; i < rs->n_rules; i++)
        if (rs->rules[i]->applicable)
            check_fields(rs, diag, ctx, rs->rules[i], keys, n_keys);
    free(keys);
    return errors;
}

static int is_rule_file(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && ((n > 4 && strcmp(name + n - 4, ".yml") == 0) ||
                              (n > 5 && strcmp(name + n - 5, ".yaml") == 0));
}

int detect_rule_files(const char *dir, char ***ret_paths, size_t *ret_n)
{
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    char **v = NULL;
    size_t n = 0, cap = 0, dlen = strlen(dir);
    int r = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!is_rule_file(de->d_name))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                r = -ENOMEM;
                break;
            }
            v = nv;
        }
        size_t len = dlen + strlen(de->d_name) + 2;
        if (!(v[n] = malloc(len))) {
            r = -ENOMEM;
            break;
        }
        snprintf(v[n++], len, "%s%s%s", dir, dlen && dir[dlen - 1] == '/' ? "" : "/", de->d_name);
    }
    closedir(d);
    if (r < 0) {
        for (size_t i = 0; i < n; i++)
            free(v[i]);
        free(v);
        return r;
    }
    if (n)
        qsort(v, n, sizeof *v, cmp_str);
    *ret_paths = v;
    *ret_n = n;
    return 0;
}
