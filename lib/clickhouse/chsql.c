/*
 * chsql.c - trail's filters (lib/query) as ClickHouse SQL over the table of
 * the clickhouse sink (docs/clickhouse.md, "The table"): every attribute is
 * text in attrs.key / attrs.value as trail_value_format() writes it, so the
 * translation works on that text form.
 *
 * Not for: running the SQL or reading its answers (chquery.c).
 *
 * Exactness: each condition selects exactly the rows whose events the
 * store's predicate (query.c, qplan_match) selects; where that cannot be
 * decided from the table, the filter is refused rather than approximated.
 * What it relies on, and why:
 *   - where key=value compares the text. The store compares by type (03 is
 *     3 for an int), and the table has lost the type; but when the value is
 *     already in the form trail writes (3, 2001:db8::1, a time in UTC with
 *     microseconds) the text comparison and the typed one agree for every
 *     type. Other forms are refused.
 *   - networks apply to IP attributes only; a string attribute may hold the
 *     same text. IP attributes come only from keys the catalog declares as
 *     ip, so the condition names the events that declare the key as ip.
 *   - text searches every value but times; time attributes come only from
 *     keys the catalog declares as time, excluded per event the same way.
 * Both catalog rules hold for the catalog the reader is given: the one
 * traild stored the events with (custom events included).
 */
#include "clickhouse/chsql.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int bad(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return TRAIL_E_PARSE;
}

static int put(struct trail_buf *b, const char *s)
{
    return trail_buf_append(b, s, strlen(s));
}

static int putf(struct trail_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int putf(struct trail_buf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return -ENOSPC;
    return trail_buf_append(b, tmp, (size_t)n);
}

int chsql_quote(struct trail_buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (trail_buf_reserve(out, n * 4 + 2) < 0)
        return -ENOMEM;
    char *o = out->data + out->len;
    *o++ = '\'';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\' || c == '\'') {
            *o++ = '\\';
            *o++ = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            *o++ = '\\';
            *o++ = 'x';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        } else {
            *o++ = (char)c;
        }
    }
    *o++ = '\'';
    out->len = (size_t)(o - out->data);
    out->data[out->len] = '\0';
    return 0;
}

int chsql_table_ok(const char *name)
{
    size_t n = strlen(name), dots = 0;
    if (n == 0 || n > 127 || name[0] == '.' || name[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (c == '.') {
            if (++dots > 1 || name[i + 1] == '.')
                return 0;
        } else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '_')) {
            return 0;
        }
    }
    return 1;
}

/* ---- event globs as one RE2 pattern ---- */

/* The characters of event ids (glob_check in query.c allows nothing else). */
static const char id_chars[] = "abcdefghijklmnopqrstuvwxyz0123456789_";

/* One [set] of glob g at *gi (past the '['): the id characters it matches, as a class. */
static int glob_set(struct trail_buf *re, const char *g, size_t *gi)
{
    size_t i = *gi;
    int neg = 0, first = 1;
    char in[sizeof(id_chars)] = {0};
    if (g[i] == '!' || g[i] == '^') {
        neg = 1;
        i++;
    }
    while (g[i] && (first || g[i] != ']')) {
        char lo = g[i], hi = lo;
        if (g[i + 1] == '-' && g[i + 2] && g[i + 2] != ']') {
            hi = g[i + 2];
            i += 3;
        } else {
            i++;
        }
        for (size_t k = 0; id_chars[k]; k++)
            if (id_chars[k] >= lo && id_chars[k] <= hi)
                in[k] = 1;
        first = 0;
    }
    *gi = g[i] == ']' ? i + 1 : i;
    /* the class spelled out over the id characters: no ranges, nothing to escape */
    char cls[sizeof(id_chars) + 2];
    size_t n = 0;
    cls[n++] = '[';
    for (size_t k = 0; id_chars[k]; k++)
        if (in[k] != neg)
            cls[n++] = id_chars[k];
    if (n == 1)
        return put(re, "[^\\x00-\\x{10ffff}]"); /* matches nothing */
    cls[n++] = ']';
    return trail_buf_append(re, cls, n);
}

static int glob_regex(struct trail_buf *re, const char *g)
{
    int r = 0;
    for (size_t i = 0; g[i] && r == 0;) {
        char c = g[i];
        if (c == '*') {
            r = put(re, ".*");
            i++;
        } else if (c == '?') {
            r = put(re, ".");
            i++;
        } else if (c == '[') {
            i++;
            r = glob_set(re, g, &i);
        } else {
            r = trail_buf_append(re, &c, 1); /* a-z 0-9 _: literal in RE2 */
            i++;
        }
    }
    return r;
}

/* ---- the catalog's typed keys ---- */

/* event_id IN ('a', 'b') for the events that declare key with type; "0" when none do. */
static int ids_declaring(struct trail_buf *out, const struct trail_catalog *cat, const char *key,
                         size_t klen, int type)
{
    size_t n = cat ? trail_catalog_count(cat) : 0, found = 0;
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        const struct trail_event_def *d = trail_catalog_at(cat, i);
        const struct trail_attr_def *a = trail_attr_def_find(d, key, klen);
        if (!a || a->type != type)
            continue;
        r = put(out, found++ ? ", " : "event_id IN (");
        if (r == 0)
            r = chsql_quote(out, d->id, strlen(d->id));
    }
    if (r == 0)
        r = put(out, found ? ")" : "0");
    return r;
}

/* ---- where ---- */

/* Is w's value in the text form trail stores under every type it reads as? */
static int where_canonical(const struct qwhere *w)
{
    char canon[64];
    size_t cl;
    if (w->has_ip) {
        struct trail_value tv = {.type = TRAIL_TYPE_IP};
        tv.u.ip.family = w->ip_family;
        memcpy(tv.u.ip.addr, w->ip, 16);
        cl = trail_value_format(&tv, canon, sizeof(canon));
        if (cl != w->vlen || memcmp(canon, w->value, cl) != 0)
            return 0;
    }
    if (w->has_int) {
        cl = (size_t)snprintf(canon, sizeof(canon), "%" PRId64, w->ival);
        if (cl != w->vlen || memcmp(canon, w->value, cl) != 0)
            return 0;
    }
    if (w->has_time) {
        cl = trail_time_format(w->tval, canon);
        if (cl != w->vlen || memcmp(canon, w->value, cl) != 0)
            return 0;
    }
    return 1;
}

/* The text v (a column of the lambda) in w's network, given that it is an IP's text. */
static int network_cond(struct trail_buf *o, const struct qwhere *w)
{
    int bits = w->prefix_bits, r;
    if (w->ip_family == 4) {
        uint32_t net = (uint32_t)w->ip[0] << 24 | (uint32_t)w->ip[1] << 16 |
                       (uint32_t)w->ip[2] << 8 | w->ip[3];
        uint32_t mask = bits ? 0xffffffffu << (32 - bits) : 0;
        /* trail writes IPv4 as a dotted quad and IPv6 with a ':' */
        return putf(o,
                    "position(v, ':') = 0 AND bitAnd(IPv4StringToNum(v), %" PRIu32 ") = %" PRIu32,
                    mask, net & mask);
    }
    r = put(o, "position(v, ':') > 0");
    if (r == 0 && bits / 8) {
        r = putf(o, " AND substring(IPv6StringToNum(v), 1, %d) = unhex('", bits / 8);
        for (int i = 0; i < bits / 8 && r == 0; i++)
            r = putf(o, "%02x", w->ip[i]);
        if (r == 0)
            r = put(o, "')");
    }
    if (r == 0 && bits % 8) {
        unsigned mask = (0xffu << (8 - bits % 8)) & 0xff;
        r = putf(o,
                 " AND bitAnd(reinterpretAsUInt8(substring(IPv6StringToNum(v), %d, 1)), %u) = %u",
                 bits / 8 + 1, mask, w->ip[bits / 8] & mask);
    }
    return r;
}

static int where_sql(struct trail_buf *o, const struct trail_query *q, const struct qwhere *w,
                     char *err, size_t errlen)
{
    char sb[96];
    if (w->field != QF_ATTR)
        return bad(err, errlen,
                   "--%s with --clickhouse: the ClickHouse table does not keep where a record "
                   "came from (input, peer, principal, origin); ask the store or traild",
                   w->key + 1);
    snprintf(sb, sizeof(sb), "%.*s", 80, w->value);
    if (w->op != QOP_PREFIX && !w->cidr && !where_canonical(w))
        return bad(err, errlen,
                   "bad --where '%s%s%s' with --clickhouse: ClickHouse holds values as text, "
                   "so give the value in the form trail writes it (ints in decimal without "
                   "leading zeros, IPs in RFC 5952 form, times in UTC with microseconds)",
                   w->key, w->op == QOP_NE ? "!=" : "=", sb);
    /* ClickHouse 18.16's lambdas cannot always see other columns: event_id stays outside */
    int r = put(o, w->op == QOP_NE ? "NOT (" : "(");
    if (r == 0 && w->cidr) {
        r = ids_declaring(o, q->cat, w->key, w->klen, TRAIL_TYPE_IP);
        if (r == 0)
            r = put(o, " AND ");
    }
    if (r == 0)
        r = put(o, "arrayExists((k, v) -> k = ");
    if (r == 0)
        r = chsql_quote(o, w->key, w->klen);
    if (r == 0 && w->cidr) {
        r = put(o, " AND ");
        if (r == 0)
            r = network_cond(o, w);
    } else if (r == 0 && w->op == QOP_PREFIX) {
        r = putf(o, " AND substring(v, 1, %zu) = ", w->vlen);
        if (r == 0)
            r = chsql_quote(o, w->value, w->vlen);
    } else if (r == 0) {
        r = put(o, " AND v = ");
        if (r == 0)
            r = chsql_quote(o, w->value, w->vlen);
    }
    if (r == 0)
        r = put(o, ", attrs.key, attrs.value))");
    return r;
}

/* ---- text ---- */

/* A byte that is not part of a word (query.h, qword_char), lower-cased text assumed. */
#define NONWORD "[\\x00-\\x2f\\x3a-\\x40\\x5b-\\x60\\x7b-\\x7f]"

/* Do two events declare the same keys as time? */
static int same_time_keys(const struct trail_event_def *x, const struct trail_event_def *y)
{
    size_t i = 0, j = 0;
    for (;;) {
        while (i < x->n_attrs && x->attrs[i]->type != TRAIL_TYPE_TIME)
            i++;
        while (j < y->n_attrs && y->attrs[j]->type != TRAIL_TYPE_TIME)
            j++;
        if (i == x->n_attrs || j == y->n_attrs)
            return i == x->n_attrs && j == y->n_attrs;
        if (strcmp(x->attrs[i]->key, y->attrs[j]->key) != 0)
            return 0;
        i++;
        j++;
    }
}

static int text_sql(struct trail_buf *o, const struct trail_query *q, const struct qtext *t,
                    char *err, size_t errlen)
{
    if (!utf8_valid(t->item, t->len))
        return bad(err, errlen, "bad --text '%.*s' with --clickhouse: not UTF-8",
                   (int)(t->len > 64 ? 64 : t->len), t->item);
    struct trail_buf re = {0};
    int r = put(&re, t->word_start ? "(?:^|" NONWORD ")" : "");
    for (size_t i = 0; i < t->len && r == 0; i++) {
        unsigned char c = (unsigned char)t->item[i];
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80)
            r = trail_buf_append(&re, &t->item[i], 1);
        else
            r = putf(&re, "\\x%02x", c);
    }
    if (r == 0)
        r = put(&re, t->word_end ? "(?:" NONWORD "|$)" : "");
    /*
     * Times are not searched: the keys the catalog declares as time, in the
     * events that declare them. The events are grouped by their set of time
     * keys, one arrayExists each, so that no lambda needs event_id.
     */
    size_t n = q->cat ? trail_catalog_count(q->cat) : 0, nd = 0;
    const struct trail_event_def **defs = calloc(n ? n : 1, sizeof(*defs));
    uint8_t *done = calloc(n ? n : 1, 1);
    if (r == 0 && (!defs || !done))
        r = -ENOMEM;
    for (size_t i = 0; i < n && r == 0; i++) {
        const struct trail_event_def *d = trail_catalog_at(q->cat, i);
        for (size_t a = 0; a < d->n_attrs; a++)
            if (d->attrs[a]->type == TRAIL_TYPE_TIME) {
                defs[nd++] = d;
                break;
            }
    }
    if (r == 0)
        r = put(o, "((");
    if (r == 0 && nd) { /* events without time keys: every value */
        r = put(o, "event_id NOT IN (");
        for (size_t i = 0; i < nd && r == 0; i++) {
            r = put(o, i ? ", " : "");
            if (r == 0)
                r = chsql_quote(o, defs[i]->id, strlen(defs[i]->id));
        }
        if (r == 0)
            r = put(o, ") AND ");
    }
    if (r == 0)
        r = put(o, "arrayExists((k, v) -> match(lower(v), ");
    if (r == 0)
        r = chsql_quote(o, re.data, re.len);
    if (r == 0)
        r = put(o, "), attrs.key, attrs.value))");
    for (size_t i = 0; i < nd && r == 0; i++) {
        if (done[i])
            continue;
        r = put(o, " OR (event_id IN ("); /* the events with defs[i]'s time keys */
        int first = 1;
        for (size_t j = i; j < nd && r == 0; j++) {
            if (done[j] || !same_time_keys(defs[i], defs[j]))
                continue;
            done[j] = 1;
            r = put(o, first ? "" : ", ");
            first = 0;
            if (r == 0)
                r = chsql_quote(o, defs[j]->id, strlen(defs[j]->id));
        }
        if (r == 0)
            r = put(o, ") AND arrayExists((k, v) -> k NOT IN (");
        first = 1;
        for (size_t a = 0; a < defs[i]->n_attrs && r == 0; a++) {
            const struct trail_attr_def *ad = defs[i]->attrs[a];
            if (ad->type != TRAIL_TYPE_TIME)
                continue;
            r = put(o, first ? "" : ", ");
            first = 0;
            if (r == 0)
                r = chsql_quote(o, ad->key, ad->key_len);
        }
        if (r == 0)
            r = put(o, ") AND match(lower(v), ");
        if (r == 0)
            r = chsql_quote(o, re.data, re.len);
        if (r == 0)
            r = put(o, "), attrs.key, attrs.value))");
    }
    if (r == 0)
        r = put(o, ")");
    free(defs);
    free(done);
    trail_buf_free(&re);
    return r;
}

/* ---- the whole ---- */

int chsql_filters(const struct qplan *p, struct trail_buf *o, char *err, size_t errlen)
{
    const struct trail_query *q = p->q;
    if (q->rsince_text || q->runtil_text)
        return bad(err, errlen,
                   "--received-since and --received-until with --clickhouse: the ClickHouse "
                   "table does not keep the received time; ask the store or traild");
    int r = put(o, "1");
    /* time: time_us is exact; time (whole seconds, the partition and sorting key) prunes */
    if (r == 0 && p->since != INT64_MIN && p->since > 0) {
        int64_t s = p->since / 1000000;
        r = putf(o, " AND time_us >= %" PRId64 " AND time >= toDateTime(%" PRId64 ")", p->since,
                 s > (int64_t)4294967295 ? (int64_t)4294967295 : s);
    }
    if (r == 0 && p->until != INT64_MAX) {
        if (p->until <= 0) {
            r = put(o, " AND 0"); /* the table keeps no time before 1970 */
        } else {
            int64_t u = (p->until - 1) / 1000000;
            r = putf(o, " AND time_us < %" PRId64, p->until);
            if (r == 0 && u < 4294967295LL)
                r = putf(o, " AND time <= toDateTime(%" PRId64 ")", u);
        }
    }
    if (r == 0 && q->has_sev)
        r = putf(o, " AND severity >= %d AND severity <= %d", p->sev_min, p->sev_max);
    if (r == 0 && q->n_globs) {
        struct trail_buf re = {0};
        r = put(&re, "^(?:");
        for (size_t i = 0; i < q->n_globs && r == 0; i++) {
            if (i)
                r = put(&re, "|");
            if (r == 0)
                r = glob_regex(&re, q->globs[i]);
        }
        if (r == 0)
            r = put(&re, ")$");
        if (r == 0)
            r = put(o, " AND match(event_id, ");
        if (r == 0)
            r = chsql_quote(o, re.data, re.len);
        if (r == 0)
            r = put(o, ")");
        trail_buf_free(&re);
    }
    for (size_t i = 0; i < q->n_wheres && r == 0; i++) {
        r = put(o, " AND ");
        if (r == 0)
            r = where_sql(o, q, &q->wheres[i], err, errlen);
    }
    for (size_t i = 0; i < q->n_texts && r == 0; i++) {
        r = put(o, " AND ");
        if (r == 0)
            r = text_sql(o, q, &q->texts[i], err, errlen);
    }
    return r;
}
