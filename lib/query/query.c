/*
 * query.c - the query language: parameters (since, until, received_since,
 * received_until, event, severity, where, text, order, limit, cursor, by) read from names and
 * values or from a URL query string, their errors, cursors, and the predicate that decides whether
 * one stored record matches, run on the record's bytes in place.
 *
 * Not for: finding candidate records (the indexes, index*.c), output forms
 * (the CLI and the daemon), counting (index.c).
 *
 * Every check of the predicate is exact; the indexes only ever narrow the
 * records it is run on, so a hash collision or a coarse index costs time,
 * never a wrong answer.
 */
#include "query/query.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_CLAUSES   64 /* per kind: globs, wheres, text items */
#define DEFAULT_LIMIT 100

/* ---- term hashes and words ---- */

uint32_t qterm_word(const uint8_t *word, size_t len)
{
    return crc32c(crc32c(0, "w", 1), word, len);
}

uint32_t qterm_value(const char *key, size_t klen, const char *val, size_t vlen)
{
    uint32_t c = crc32c(0, "v", 1);
    c = crc32c(c, key, klen);
    c = crc32c(c, "=", 1);
    return crc32c(c, val, vlen);
}

uint32_t qterm_event(const char *id, size_t len)
{
    return qterm_value("@event", 6, id, len);
}

size_t qwords(const char *text, size_t len, int complete_only,
              void (*fn)(void *arg, const uint8_t *word, size_t wlen), void *arg)
{
    const uint8_t *p = (const uint8_t *)text, *end = p + len;
    uint8_t w[QWORD_MAX];
    size_t n = 0;
    while (p < end) {
        while (p < end && !qword_char(*p))
            p++;
        if (p == end)
            break;
        size_t wl = 0;
        while (p < end && qword_char(*p)) {
            if (wl < QWORD_MAX)
                w[wl++] = qlower(*p);
            p++;
        }
        if (p == end && complete_only)
            break;
        fn(arg, w, wl);
        n++;
    }
    return n;
}

size_t rec_attr_text(const struct rec_attr *a, char *buf, const char **ret_text)
{
    switch (a->type) {
    case TRAIL_TYPE_STRING:
    case TRAIL_TYPE_ENUM:
        *ret_text = (const char *)a->val;
        return a->vlen;
    case TRAIL_TYPE_BOOL:
        *ret_text = a->i ? "true" : "false";
        return a->i ? 4 : 5;
    case TRAIL_TYPE_INT:
    case TRAIL_TYPE_TIME:
    case TRAIL_TYPE_IP: {
        /* the one text form of each (trail_value_format), without printf or inet_ntop: the
           index builder formats every such attribute of every record it seals */
        struct trail_value v = {.type = (uint8_t)a->type};
        if (a->type == TRAIL_TYPE_IP) {
            v.u.ip.family = a->vlen == 16 ? 6 : 4;
            memcpy(v.u.ip.addr, a->val, a->vlen == 16 ? 16 : 4);
        } else if (a->type == TRAIL_TYPE_TIME) {
            v.u.time_us = a->i;
        } else {
            v.u.i = a->i;
        }
        *ret_text = buf;
        return trail_value_format(&v, buf, 64);
    }
    default:
        *ret_text = "";
        return 0;
    }
}

/* ---- errors ---- */

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

/* A value fit to quote in a message: at most 80 bytes, control characters as '?'. */
static const char *shown(const char *v, char buf[96])
{
    size_t n = 0;
    for (; v[n] && n < 80; n++)
        buf[n] = (unsigned char)v[n] < 0x20 || v[n] == 0x7f ? '?' : v[n];
    if (v[n]) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n] = '\0';
    return buf;
}

/* ---- times ---- */

/*
 * parse_time - "now", N[smhdw] before now, YYYY-MM-DD (midnight UTC), or
 * RFC 3339 with Z or an offset.
 */
static int parse_time(const char *v, int64_t now, int64_t *ret)
{
    size_t len = strlen(v);
    if (strcmp(v, "now") == 0) {
        *ret = now;
        return 0;
    }
    size_t digits = 0;
    while (digits < len && v[digits] >= '0' && v[digits] <= '9')
        digits++;
    int64_t ago;
    if (digits > 0 && len == digits + 1 && trail_duration_parse(v, len, &ago) == 0) {
        *ret = now - ago;
        return 0;
    }
    if (len == 10 && digits == 4) {
        char full[32];
        snprintf(full, sizeof(full), "%sT00:00:00Z", v);
        return trail_time_parse(full, strlen(full), ret) == 0 ? 0 : TRAIL_E_PARSE;
    }
    return trail_time_parse(v, len, ret) == 0 ? 0 : TRAIL_E_PARSE;
}

/* ---- globs ---- */

/* One character class or character at g[*gi] against c; advances *gi. -1: malformed. */
static int glob_one(const char *g, size_t *gi, char c)
{
    size_t i = *gi;
    if (g[i] == '?') {
        *gi = i + 1;
        return 1;
    }
    if (g[i] != '[') {
        *gi = i + 1;
        return g[i] == c;
    }
    i++;
    int neg = 0, hit = 0, first = 1;
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
        if (c >= lo && c <= hi)
            hit = 1;
        first = 0;
    }
    if (g[i] != ']')
        return -1;
    *gi = i + 1;
    return hit != neg;
}

int qglob_match(const char *g, const char *s, size_t n)
{
    size_t gi = 0, si = 0, star_g = 0, star_s = 0;
    int have_star = 0;
    while (si < n) {
        if (g[gi] == '*') {
            while (g[gi] == '*')
                gi++;
            star_g = gi;
            star_s = si;
            have_star = 1;
            continue;
        }
        if (g[gi]) {
            size_t next = gi;
            int m = glob_one(g, &next, s[si]);
            if (m > 0) {
                gi = next;
                si++;
                continue;
            }
            if (m < 0)
                return 0;
        }
        if (!have_star)
            return 0;
        gi = star_g;
        si = ++star_s;
    }
    while (g[gi] == '*')
        gi++;
    return g[gi] == '\0';
}

/* Check a glob's form: event-id characters and well-formed sets. 0, or the offending byte index
 * + 1. */
static size_t glob_check(const char *g, const char **why)
{
    for (size_t i = 0; g[i];) {
        char c = g[i];
        if (c == '[') {
            size_t j = i + 1;
            if (g[j] == '!' || g[j] == '^')
                j++;
            size_t start = j;
            if (g[j] == ']') {
                *why = "'[]' matches nothing";
                return i + 1;
            }
            while (g[j] && (j == start || g[j] != ']')) {
                char d = g[j];
                if (!((d >= 'a' && d <= 'z') || (d >= '0' && d <= '9') || d == '_' || d == '-')) {
                    *why = "only a-z, 0-9, '_' and ranges may appear inside [ ]";
                    return j + 1;
                }
                j++;
            }
            if (g[j] != ']') {
                *why = "'[' is not closed";
                return i + 1;
            }
            if (j == start) {
                *why = "'[]' matches nothing";
                return i + 1;
            }
            i = j + 1;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '*' ||
              c == '?')) {
            *why = c == ']' ? "']' without '['"
                            : "event ids hold only a-z, 0-9 and '_' (and the glob * ? [ ])";
            return i + 1;
        }
        i++;
    }
    return 0;
}

/* ---- parameters ---- */

int trail_query_new(const struct trail_catalog *cat, struct trail_query **ret)
{
    struct trail_query *q = calloc(1, sizeof(*q));
    if (!q)
        return -ENOMEM;
    q->cat = cat;
    q->limit = DEFAULT_LIMIT;
    q->order = TRAIL_ORDER_NEWEST;
    q->sev_min = 1;
    q->sev_max = 10;
    *ret = q;
    return 0;
}

void trail_query_free(struct trail_query *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->n_pairs; i++) {
        free(q->pairs[i].name);
        free(q->pairs[i].value);
    }
    free(q->pairs);
    free(q->since_text);
    free(q->until_text);
    free(q->rsince_text);
    free(q->runtil_text);
    for (size_t i = 0; i < q->n_globs; i++)
        free(q->globs[i]);
    free(q->globs);
    for (size_t i = 0; i < q->n_wheres; i++) {
        free(q->wheres[i].key);
        free(q->wheres[i].value);
    }
    free(q->wheres);
    for (size_t i = 0; i < q->n_texts; i++)
        free(q->texts[i].item);
    free(q->texts);
    for (int i = 0; i < q->n_by; i++)
        free(q->by_attr[i]);
    free(q);
}

void trail_query_set_clock(struct trail_query *q, int64_t now_us)
{
    q->now_us = now_us;
}

void trail_query_start_after(struct trail_query *q, uint64_t seq)
{
    q->has_cursor = 2; /* a position, not bound to the filters */
    q->cur_order = TRAIL_ORDER_OLDEST;
    q->order = TRAIL_ORDER_OLDEST;
    q->cur_seq = seq;
    q->cur_now = 0;
}

int trail_query_order(const struct trail_query *q)
{
    return q->order;
}

uint64_t trail_query_limit(const struct trail_query *q)
{
    return q->limit;
}

/* Record name=value for formatting and hashing (replacing an earlier one when single). */
static int add_pair(struct trail_query *q, const char *name, const char *value, int single)
{
    if (single) {
        for (size_t i = 0; i < q->n_pairs; i++) {
            if (strcmp(q->pairs[i].name, name) == 0) {
                char *v = strdup(value);
                if (!v)
                    return -ENOMEM;
                free(q->pairs[i].value);
                q->pairs[i].value = v;
                return 0;
            }
        }
    }
    if (q->n_pairs == q->cap_pairs) {
        size_t cap = q->cap_pairs ? q->cap_pairs * 2 : 8;
        struct qpair *p = realloc(q->pairs, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        q->pairs = p;
        q->cap_pairs = cap;
    }
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return -ENOMEM;
    }
    q->pairs[q->n_pairs++] = (struct qpair){.name = n, .value = v};
    return 0;
}

static int grow(void **arr, size_t n, size_t size)
{
    if (n & (n - 1))
        return 0; /* capacity is the next power of two of n; only grow at powers of two */
    void *p = realloc(*arr, (n ? n * 2 : 1) * size);
    if (!p)
        return -ENOMEM;
    *arr = p;
    return 0;
}

static int set_glob_list(struct trail_query *q, const char *shown_name, const char *value,
                         char *err, size_t errlen)
{
    char sb[96];
    const char *p = value;
    size_t added = 0;
    if (!*value)
        return bad(err, errlen, "bad %s '': an event id or glob is needed", shown_name);
    /* check all first, so that a failure leaves the query unchanged */
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char g[160];
        if (n == 0 || n >= sizeof(g))
            return bad(err, errlen, "bad %s '%s': %s", shown_name, shown(value, sb),
                       n ? "a glob is at most 159 bytes" : "an empty glob in the list");
        for (size_t i = 0; i < n; i++)
            g[i] = (char)qlower((uint8_t)p[i]);
        g[n] = '\0';
        const char *why = NULL;
        size_t at = glob_check(g, &why);
        if (at)
            return bad(err, errlen, "bad %s '%s': not a glob over event ids at byte %zu: %s",
                       shown_name, shown(value, sb), (size_t)(p - value) + at, why);
        added++;
        if (!comma)
            break;
        p = comma + 1;
    }
    if (q->n_globs + added > MAX_CLAUSES)
        return bad(err, errlen, "bad %s: at most %d event globs", shown_name, MAX_CLAUSES);
    p = value;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char *g = strndup(p, n);
        if (!g || grow((void **)&q->globs, q->n_globs, sizeof(*q->globs)) < 0) {
            free(g);
            return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
            g[i] = (char)qlower((uint8_t)g[i]);
        q->globs[q->n_globs++] = g;
        if (!comma)
            break;
        p = comma + 1;
    }
    return 0;
}

/* Does the text look like an attempt at an IP network ("10.0.0.0/8", "fe80::/10")? */
static int looks_like_cidr(const char *v, size_t len)
{
    const char *slash = memchr(v, '/', len);
    if (!slash || slash == v)
        return 0;
    int dots = 0, colons = 0;
    for (const char *c = v; c < slash; c++) {
        if (*c == '.')
            dots++;
        else if (*c == ':')
            colons++;
        else if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f') ||
                   (*c >= 'A' && *c <= 'F')))
            return 0;
    }
    return dots > 0 || colons > 0;
}

static int set_where(struct trail_query *q, const char *shown_name, const char *value, char *err,
                     size_t errlen)
{
    char sb[96];
    struct qwhere w = {0};
    size_t k = 0;
    while (value[k] && trail_key_valid(value + k, 1))
        k++;
    const char *op = value + k;
    if (k == 0)
        return bad(err, errlen,
                   "bad %s '%s': expected key=value, key!=value or key^=prefix (a key is "
                   "A-Z, a-z, 0-9, '_', '.', '-')",
                   shown_name, shown(value, sb));
    if (k > 255)
        return bad(err, errlen, "bad %s '%s': the key is over 255 bytes", shown_name,
                   shown(value, sb));
    if (op[0] == '=') {
        w.op = QOP_EQ;
        op += 1;
    } else if (op[0] == '!' && op[1] == '=') {
        w.op = QOP_NE;
        op += 2;
    } else if (op[0] == '^' && op[1] == '=') {
        w.op = QOP_PREFIX;
        op += 2;
    } else {
        return bad(
            err, errlen,
            "bad %s '%s': expected key=value, key!=value or key^=prefix after the key '%.*s'",
            shown_name, shown(value, sb), (int)(k > 64 ? 64 : k), value);
    }
    if (q->n_wheres >= MAX_CLAUSES)
        return bad(err, errlen, "bad %s: at most %d conditions", shown_name, MAX_CLAUSES);
    size_t vlen = strlen(op);
    if (w.op != QOP_PREFIX && looks_like_cidr(op, vlen)) {
        const char *slash = strchr(op, '/');
        char *endp;
        uint8_t fam, addr[16];
        if (ip_parse(op, (size_t)(slash - op), &fam, addr) < 0)
            return bad(err, errlen, "bad %s '%s': bad CIDR: '%.*s' is not an IP address",
                       shown_name, shown(value, sb), (int)(slash - op > 64 ? 64 : slash - op), op);
        int max = fam == 4 ? 32 : 128;
        errno = 0;
        long bits = strtol(slash + 1, &endp, 10);
        if (!slash[1] || *endp || slash[1] < '0' || slash[1] > '9' || errno || bits < 0 ||
            bits > max)
            return bad(err, errlen, "bad %s '%s': bad CIDR: the prefix length must be 0..%d",
                       shown_name, shown(value, sb), max);
        /* host bits set below the prefix are a mistake worth naming */
        for (int b = (int)bits; b < max; b++) {
            if (addr[b / 8] & (0x80 >> (b % 8)))
                return bad(err, errlen,
                           "bad %s '%s': bad CIDR: the address has bits set past the /%ld prefix",
                           shown_name, shown(value, sb), bits);
        }
        w.cidr = 1;
        w.prefix_bits = (int)bits;
        w.has_ip = 1;
        w.ip_family = fam;
        memcpy(w.ip, addr, 16);
    } else {
        if (vlen < 64 && ip_parse(op, vlen, &w.ip_family, w.ip) == 0)
            w.has_ip = 1;
        char *endp;
        errno = 0;
        long long iv = vlen ? strtoll(op, &endp, 10) : 0;
        if (vlen && !*endp && !errno) {
            w.has_int = 1;
            w.ival = iv;
        }
        int64_t t;
        if (vlen && trail_time_parse(op, vlen, &t) == 0) {
            w.has_time = 1;
            w.tval = t;
        }
    }
    w.key = strndup(value, k);
    w.klen = k;
    w.value = strdup(op);
    w.vlen = vlen;
    if (!w.key || !w.value || grow((void **)&q->wheres, q->n_wheres, sizeof(*q->wheres)) < 0) {
        free(w.key);
        free(w.value);
        return -ENOMEM;
    }
    /* the canonical text of the value under the types it reads as (what records hold) */
    char canon[64];
    size_t cl = 0;
    int has_canon = 0;
    if (w.has_ip && !w.cidr) {
        struct trail_value tv = {.type = TRAIL_TYPE_IP};
        tv.u.ip.family = w.ip_family;
        memcpy(tv.u.ip.addr, w.ip, 16);
        cl = trail_value_format(&tv, canon, sizeof(canon));
        has_canon = 1;
    } else if (w.has_int) {
        cl = (size_t)snprintf(canon, sizeof(canon), "%lld", (long long)w.ival);
        has_canon = 1;
    } else if (w.has_time) {
        cl = trail_time_format(w.tval, canon);
        has_canon = 1;
    }
    int is_canon = !has_canon || (cl == w.vlen && memcmp(canon, w.value, cl) == 0);
    if (w.op == QOP_EQ && !w.cidr) {
        w.terms[w.n_terms++] = qterm_value(w.key, w.klen, w.value, w.vlen);
        if (!is_canon)
            w.terms[w.n_terms++] = qterm_value(w.key, w.klen, canon, cl);
        /* words of times are not indexed; other values are indexed by their canonical text */
        w.words_ok = !w.has_time && is_canon;
    } else if (w.op == QOP_PREFIX) {
        /* a prefix of a time's text (digits, '-', ':', 'T', '.', 'Z') may not use words */
        w.words_ok = strspn(w.value, "0123456789-:T.Z") != w.vlen;
    }
    q->wheres[q->n_wheres++] = w;
    return 0;
}

/*
 * --input, --peer, --principal and --origin: a where clause on the record's
 * provenance, under a key no attribute can have ("@input", ...). "!" before
 * the value negates it; --peer takes an address or a CIDR network.
 */
static int set_provenance_where(struct trail_query *q, const char *given, const char *name,
                                const char *value, char *err, size_t errlen)
{
    char sb[96];
    int field = strcmp(name, "input") == 0    ? QF_INPUT
                : strcmp(name, "peer") == 0   ? QF_PEER
                : strcmp(name, "origin") == 0 ? QF_ORIGIN
                                              : QF_PRINCIPAL;
    int negate = value[0] == '!';
    const char *v = value + negate;
    if (field == QF_INPUT && strncmp(v, "follow:", 7) != 0 && trail_input_parse(v, (size_t)-1) < 0)
        return bad(err, errlen,
                   "bad %s '%s': expected an input: library, import, http, syslog_udp, "
                   "syslog_tcp, syslog_tls, cef_tcp, unix, follow, follow:NAME or trail",
                   given, shown(value, sb));
    if (field == QF_ORIGIN && strcmp(v, "trail") != 0 && strcmp(v, "producer") != 0)
        return bad(err, errlen, "bad %s '%s': expected trail or producer", given, shown(value, sb));
    if (field == QF_PEER && !looks_like_cidr(v, strlen(v))) {
        uint8_t fam, addr[16];
        if (ip_parse(v, strlen(v), &fam, addr) < 0)
            return bad(err, errlen, "bad %s '%s': expected an IP address or a CIDR network", given,
                       shown(value, sb));
    }
    size_t n = strlen(name) + strlen(v) + 3;
    char *text = malloc(n);
    if (!text)
        return -ENOMEM;
    snprintf(text, n, "%s%s%s", name, negate ? "!=" : "=", v);
    int r = set_where(q, given, text, err, errlen);
    free(text);
    if (r < 0)
        return r;
    struct qwhere *w = &q->wheres[q->n_wheres - 1];
    char *key = malloc(w->klen + 2);
    if (!key)
        return -ENOMEM;
    key[0] = '@';
    memcpy(key + 1, w->key, w->klen + 1);
    free(w->key);
    w->key = key;
    w->klen++;
    w->field = field;
    w->n_terms = 0; /* provenance is not in the indexes: no narrowing */
    w->words_ok = 0;
    if (field == QF_PEER && !w->has_ip)
        return bad(err, errlen, "bad %s '%s': expected an IP address or a CIDR network", given,
                   shown(value, sb));
    return 0;
}

static int has_word_char(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (qword_char((uint8_t)s[i]))
            return 1;
    return 0;
}

static int set_text(struct trail_query *q, const char *shown_name, const char *value, char *err,
                    size_t errlen)
{
    char sb[96];
    size_t n_items = 0;
    const char *p = value;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        if (!*p)
            break;
        const char *s = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            p++;
        if (!has_word_char(s, (size_t)(p - s)))
            return bad(err, errlen, "bad %s '%s': '%.*s' has no letter or digit to search for",
                       shown_name, shown(value, sb), (int)(p - s > 64 ? 64 : p - s), s);
        n_items++;
    }
    if (n_items == 0)
        return bad(err, errlen, "bad %s '%s': no words to search for", shown_name,
                   shown(value, sb));
    if (q->n_texts + n_items > MAX_CLAUSES)
        return bad(err, errlen, "bad %s: at most %d words", shown_name, MAX_CLAUSES);
    p = value;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        if (!*p)
            break;
        const char *s = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            p++;
        size_t n = (size_t)(p - s);
        struct qtext t = {.item = strndup(s, n), .len = n};
        if (!t.item || grow((void **)&q->texts, q->n_texts, sizeof(*q->texts)) < 0) {
            free(t.item);
            return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
            t.item[i] = (char)qlower((uint8_t)t.item[i]);
        t.word_start = qword_char((uint8_t)t.item[0]);
        t.word_end = qword_char((uint8_t)t.item[n - 1]);
        /* ints write digits and '-', addresses hex digits, '.' and ':', bools true or false */
        t.strings_only = strspn(t.item, "0123456789abcdef.:-") < n && !strstr("true", t.item) &&
                         !strstr("false", t.item);
        q->texts[q->n_texts++] = t;
    }
    return 0;
}

/* Is key an attribute of some event of the catalog? */
static int catalog_has_key(const struct trail_catalog *cat, const char *key)
{
    if (!cat)
        return 1;
    size_t n = trail_catalog_count(cat);
    for (size_t i = 0; i < n; i++) {
        const struct trail_event_def *d = trail_catalog_at(cat, i);
        if (trail_attr_def_find(d, key, (size_t)-1))
            return 1;
    }
    return 0;
}

static int set_by(struct trail_query *q, const char *shown_name, const char *value, char *err,
                  size_t errlen)
{
    char sb[96];
    int by[TRAIL_COUNT_MAX_BY];
    char *attr[TRAIL_COUNT_MAX_BY] = {0};
    int n = 0, r = 0;
    const char *p = value;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char name[256];
        if (len == 0 || len >= sizeof(name)) {
            r = bad(err, errlen,
                    "unknown %s '%s': expected event, severity, hour, day or an "
                    "attribute key, separated by commas",
                    shown_name, shown(value, sb));
            goto fail;
        }
        if (n == TRAIL_COUNT_MAX_BY) {
            r = bad(err, errlen, "bad %s '%s': at most %d groupings", shown_name, shown(value, sb),
                    TRAIL_COUNT_MAX_BY);
            goto fail;
        }
        memcpy(name, p, len);
        name[len] = '\0';
        int kind = strcmp(name, "event") == 0      ? QBY_EVENT
                   : strcmp(name, "severity") == 0 ? QBY_SEVERITY
                   : strcmp(name, "hour") == 0     ? QBY_HOUR
                   : strcmp(name, "day") == 0      ? QBY_DAY
                                                   : QBY_ATTR;
        if (kind == QBY_ATTR && (!trail_key_valid(name, len) || !catalog_has_key(q->cat, name))) {
            r = bad(err, errlen,
                    "unknown %s '%s': not event, severity, hour, day, nor an attribute key of "
                    "the catalog",
                    shown_name, shown(name, sb));
            goto fail;
        }
        for (int i = 0; i < n; i++) {
            if (by[i] == kind && (kind != QBY_ATTR || strcmp(attr[i], name) == 0)) {
                r = bad(err, errlen, "bad %s '%s': '%s' is given twice", shown_name,
                        shown(value, sb), name);
                goto fail;
            }
        }
        by[n] = kind;
        if (kind == QBY_ATTR && !(attr[n] = strdup(name))) {
            r = -ENOMEM;
            goto fail;
        }
        n++;
        if (!comma)
            break;
        p = comma + 1;
    }
    for (int i = 0; i < q->n_by; i++)
        free(q->by_attr[i]);
    for (int i = 0; i < n; i++) {
        q->by[i] = by[i];
        q->by_attr[i] = attr[i];
    }
    q->n_by = n;
    return 0;
fail:
    for (int i = 0; i < n; i++)
        free(attr[i]);
    return r;
}

/* A seq-order cursor, "n.SEQ.NOW.HASH" or "o.SEQ.NOW.HASH". */
static int parse_seq_cursor(const char *v, struct trail_query *c)
{
    char o;
    unsigned long long seq;
    long long now;
    unsigned hash;
    int used = 0;
    if (v[2] < '0' || v[2] > '9')
        return TRAIL_E_PARSE;
    if (sscanf(v, "%c.%llu.%lld.%8x%n", &o, &seq, &now, &hash, &used) != 4 || v[used] ||
        strlen(v) - (size_t)(strrchr(v, '.') - v) != 9)
        return TRAIL_E_PARSE;
    c->cur_order = o == 'n' ? TRAIL_ORDER_NEWEST : TRAIL_ORDER_OLDEST;
    c->cur_seq = seq;
    c->cur_now = now;
    c->cur_hash = hash;
    return 0;
}

/* A time-order cursor, "t.TIME.SEQ.HORIZON.NOW.HASH" or "r..." (qcursor_format_time). */
static int parse_time_cursor(const char *v, struct trail_query *c)
{
    char o;
    long long t, now;
    unsigned long long seq, horizon;
    unsigned hash;
    int used = 0;
    if (v[2] != '-' && (v[2] < '0' || v[2] > '9'))
        return TRAIL_E_PARSE;
    if (sscanf(v, "%c.%lld.%llu.%llu.%lld.%8x%n", &o, &t, &seq, &horizon, &now, &hash, &used) !=
            6 ||
        v[used] || strlen(v) - (size_t)(strrchr(v, '.') - v) != 9)
        return TRAIL_E_PARSE;
    c->cur_order = o == 't' ? TRAIL_ORDER_TIME : TRAIL_ORDER_TIME_DESC;
    c->cur_time = t;
    c->cur_seq = seq;
    c->cur_horizon = horizon;
    c->cur_now = now;
    c->cur_hash = hash;
    return 0;
}

/* Parse cursor text into c's cur_* fields (c is scratch: the caller copies on success). */
static int parse_cursor(const char *v, struct trail_query *c)
{
    if (strlen(v) >= TRAIL_QUERY_CURSOR_MAX || v[0] == 0 || v[1] != '.')
        return TRAIL_E_PARSE;
    if (v[0] == 'n' || v[0] == 'o')
        return parse_seq_cursor(v, c);
    if (v[0] == 't' || v[0] == 'r')
        return parse_time_cursor(v, c);
    return TRAIL_E_PARSE;
}

int trail_query_set(struct trail_query *q, const char *given, const char *value, char *err,
                    size_t errlen)
{
    char sb[96];
    const char *name = given;
    while (*name == '-')
        name++;
    char norm[32]; /* --received-since on a command line is received_since */
    if (strchr(name, '-') && strlen(name) < sizeof(norm)) {
        for (size_t i = 0; (norm[i] = name[i] == '-' ? '_' : name[i]); i++)
            ;
        name = norm;
    }
    if (!value)
        value = "";
    int r, single = 1;
    int received = strcmp(name, "received_since") == 0 || strcmp(name, "received_until") == 0;
    if (strcmp(name, "since") == 0 || strcmp(name, "until") == 0 || received) {
        int64_t t;
        if (parse_time(value, trail_now(), &t) < 0)
            return bad(err, errlen,
                       "bad %s '%s': not a time: use RFC 3339 with Z or an offset "
                       "(2026-11-01T08:00:00+01:00), a date (2026-11-01, midnight UTC), now, "
                       "or a time ago (15m, 24h, 7d, 2w)",
                       given, shown(value, sb));
        char *copy = strdup(value);
        if (!copy)
            return -ENOMEM;
        int is_since = strstr(name, "since") != NULL;
        char **slot = received ? (is_since ? &q->rsince_text : &q->runtil_text)
                               : (is_since ? &q->since_text : &q->until_text);
        free(*slot);
        *slot = copy;
    } else if (strcmp(name, "event") == 0) {
        if ((r = set_glob_list(q, given, value, err, errlen)) < 0)
            return r;
        single = 0;
    } else if (strcmp(name, "severity") == 0) {
        int lo, hi;
        if (trail_severity_range_parse(value, &lo, &hi) < 0)
            return bad(err, errlen,
                       "bad %s '%s': expected a level (TRACE, DEBUG, INFO, NOTICE, WARNING, "
                       "ERROR, CRITICAL, ALERT, EMERGENCY or its number), >=LEVEL, >LEVEL, "
                       "<=LEVEL, <LEVEL or LOW..HIGH",
                       given, shown(value, sb));
        q->has_sev = 1;
        q->sev_min = lo;
        q->sev_max = hi;
    } else if (strcmp(name, "where") == 0) {
        if ((r = set_where(q, given, value, err, errlen)) < 0)
            return r;
        single = 0;
    } else if (strcmp(name, "text") == 0) {
        if ((r = set_text(q, given, value, err, errlen)) < 0)
            return r;
        single = 0;
    } else if (strcmp(name, "input") == 0 || strcmp(name, "peer") == 0 ||
               strcmp(name, "principal") == 0 || strcmp(name, "origin") == 0) {
        if ((r = set_provenance_where(q, given, name, value, err, errlen)) < 0)
            return r;
        single = 0;
    } else if (strcmp(name, "order") == 0) {
        if (strcmp(value, "newest") == 0)
            q->order = TRAIL_ORDER_NEWEST;
        else if (strcmp(value, "oldest") == 0)
            q->order = TRAIL_ORDER_OLDEST;
        else if (strcmp(value, "time") == 0)
            q->order = TRAIL_ORDER_TIME;
        else if (strcmp(value, "-time") == 0)
            q->order = TRAIL_ORDER_TIME_DESC;
        else
            return bad(err, errlen,
                       "bad %s '%s': expected newest or oldest (the order received), time or "
                       "-time (event time, oldest or newest first)",
                       given, shown(value, sb));
    } else if (strcmp(name, "limit") == 0) {
        char *endp;
        errno = 0;
        unsigned long long v = strtoull(value, &endp, 10);
        if (!*value || *value < '0' || *value > '9' || *endp || errno || v > 1000000000ULL)
            return bad(err, errlen,
                       "bad %s '%s': expected a number of events, 0 for no limit (at most "
                       "1000000000)",
                       given, shown(value, sb));
        q->limit = v;
    } else if (strcmp(name, "cursor") == 0) {
        struct trail_query c = {0};
        if (parse_cursor(value, &c) < 0)
            return bad(err, errlen, "bad %s '%s': not a cursor (pass on the one a page ended with)",
                       given, shown(value, sb));
        q->has_cursor = 1;
        q->cur_order = c.cur_order;
        q->cur_seq = c.cur_seq;
        q->cur_now = c.cur_now;
        q->cur_hash = c.cur_hash;
        q->cur_time = c.cur_time;
        q->cur_horizon = c.cur_horizon;
        return 0; /* not a pair: trail_query_format writes it last */
    } else if (strcmp(name, "by") == 0) {
        if ((r = set_by(q, given, value, err, errlen)) < 0)
            return r;
    } else {
        return bad(err, errlen, "unknown parameter '%s'", shown(given, sb));
    }
    return add_pair(q, name, value, single);
}

static int unhex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decode s[0..n) into a new NUL-terminated string; NULL with *bad_enc on bad input. */
static char *url_decode(const char *s, size_t n, int *bad_enc)
{
    char *out = malloc(n + 1);
    size_t o = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%') {
            int hi = i + 2 < n ? unhex(s[i + 1]) : -1;
            int lo = i + 2 < n ? unhex(s[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                free(out);
                *bad_enc = 1;
                return NULL;
            }
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else if (s[i] == '\0') {
            free(out);
            *bad_enc = 1;
            return NULL;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

int trail_query_parse(struct trail_query *q, const char *qs, size_t len, char *err, size_t errlen)
{
    size_t i = 0;
    if (len && qs[0] == '?')
        i = 1;
    while (i < len) {
        size_t j = i;
        while (j < len && qs[j] != '&')
            j++;
        if (j > i) {
            const char *eq = memchr(qs + i, '=', j - i);
            size_t nlen = eq ? (size_t)(eq - (qs + i)) : j - i;
            int bad_enc = 0;
            char *name = url_decode(qs + i, nlen, &bad_enc);
            char *value = name ? url_decode(eq ? eq + 1 : qs + j,
                                            eq ? (size_t)(qs + j - eq - 1) : 0, &bad_enc)
                               : NULL;
            if (!name || !value) {
                free(name);
                free(value);
                if (!bad_enc)
                    return -ENOMEM;
                return bad(err, errlen, "bad percent-encoding in '%.*s'",
                           (int)(j - i > 80 ? 80 : j - i), qs + i);
            }
            int r = trail_query_set(q, name, value, err, errlen);
            free(name);
            free(value);
            if (r < 0)
                return r;
        }
        i = j + 1;
    }
    return 0;
}

static int url_encode(struct trail_buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '~' || c == '*';
        char e[3] = {'%', hex[c >> 4], hex[c & 15]};
        int r = plain ? trail_buf_append(out, s, 1) : trail_buf_append(out, e, 3);
        if (r < 0)
            return r;
    }
    return 0;
}

int trail_query_format(const struct trail_query *q, const char *cursor, struct trail_buf *out)
{
    size_t start = out->len;
    int r = 0, first = 1;
    char own[TRAIL_QUERY_CURSOR_MAX];
    for (size_t i = 0; i < q->n_pairs && r == 0; i++) {
        if (!first)
            r = trail_buf_append(out, "&", 1);
        first = 0;
        if (r == 0)
            r = url_encode(out, q->pairs[i].name);
        if (r == 0)
            r = trail_buf_append(out, "=", 1);
        if (r == 0)
            r = url_encode(out, q->pairs[i].value);
    }
    if (!cursor && q->has_cursor == 1) {
        if (q->cur_order == TRAIL_ORDER_TIME || q->cur_order == TRAIL_ORDER_TIME_DESC)
            qcursor_format_time(q->cur_order, q->cur_time, q->cur_seq, q->cur_horizon, q->cur_now,
                                q->cur_hash, own, sizeof(own));
        else
            qcursor_format(q->cur_order, q->cur_seq, q->cur_now, q->cur_hash, own, sizeof(own));
        cursor = own;
    }
    if (r == 0 && cursor) {
        if (!first)
            r = trail_buf_append(out, "&", 1);
        if (r == 0)
            r = trail_buf_append(out, "cursor=", 7);
        if (r == 0)
            r = url_encode(out, cursor);
    }
    if (r == 0 && out->len == start)
        r = trail_buf_append(out, "", 0);
    if (r < 0)
        out->len = start;
    return r;
}

/* ---- cursors ---- */

uint32_t qquery_hash(const struct trail_query *q)
{
    static const char *const names[] = {
        "since", "until", "event",     "severity", "where",          "text",          "order",
        "input", "peer",  "principal", "origin",   "received_since", "received_until"};
    uint32_t h = 0;
    for (size_t k = 0; k < TRAIL_ARRAY_SIZE(names); k++) {
        for (size_t i = 0; i < q->n_pairs; i++) {
            if (strcmp(q->pairs[i].name, names[k]) != 0)
                continue;
            h = crc32c(h, names[k], strlen(names[k]) + 1);
            h = crc32c(h, q->pairs[i].value, strlen(q->pairs[i].value) + 1);
        }
    }
    return h;
}

int qcursor_format(int order, uint64_t seq, int64_t now_us, uint32_t hash, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%c.%" PRIu64 ".%" PRId64 ".%08x",
                     order == TRAIL_ORDER_NEWEST ? 'n' : 'o', seq, now_us, hash);
    return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
}

int qcursor_format_time(int order, int64_t time_us, uint64_t seq, uint64_t horizon, int64_t now_us,
                        uint32_t hash, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%c.%" PRId64 ".%" PRIu64 ".%" PRIu64 ".%" PRId64 ".%08x",
                     order == TRAIL_ORDER_TIME ? 't' : 'r', time_us, seq, horizon, now_us, hash);
    return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
}

int qposition_cursor(const struct qposition *p, const struct qplan *plan, char *buf, size_t size)
{
    if (p->by_time) {
        /* after the last event returned, the cursor's position, or before everything */
        int asc = p->by_time == TRAIL_ORDER_TIME;
        int64_t t = p->has_pos ? p->pos_time : asc ? INT64_MIN : INT64_MAX;
        uint64_t seq = p->has_pos ? p->pos_seq : asc ? 0 : UINT64_MAX;
        return qcursor_format_time(p->by_time, t, seq, p->hi, plan->now_us, plan->hash, buf, size);
    }
    uint64_t seq;
    if (p->more || (!p->done && p->returned))
        seq = p->last_seq; /* continue right after the last event returned */
    else if (!p->done)
        seq = p->newest ? p->hi + 1 : p->lo - 1; /* nothing looked at yet */
    else if (p->newest) /* everything in [lo, hi] looked at (never past where it started) */
        seq = p->lo < p->hi + 1 ? p->lo : p->hi + 1;
    else
        seq = p->hi > p->lo - 1 ? p->hi : p->lo - 1;
    int order = p->newest ? TRAIL_ORDER_NEWEST : TRAIL_ORDER_OLDEST;
    return qcursor_format(order, seq, plan->now_us, plan->hash, buf, size);
}

const char *qorder_name(int order)
{
    switch (order) {
    case TRAIL_ORDER_NEWEST:
        return "newest";
    case TRAIL_ORDER_OLDEST:
        return "oldest";
    case TRAIL_ORDER_TIME:
        return "time";
    default:
        return "-time";
    }
}

/* ---- the plan and the predicate ---- */

int qplan_init(struct qplan *p, const struct trail_query *q, int64_t now_us)
{
    memset(p, 0, sizeof(*p));
    p->q = q;
    p->now_us = now_us;
    p->since = INT64_MIN;
    p->until = INT64_MAX;
    if (q->since_text && parse_time(q->since_text, now_us, &p->since) < 0)
        return TRAIL_E_PARSE;
    if (q->until_text && parse_time(q->until_text, now_us, &p->until) < 0)
        return TRAIL_E_PARSE;
    p->rsince = INT64_MIN;
    p->runtil = INT64_MAX;
    if (q->rsince_text && parse_time(q->rsince_text, now_us, &p->rsince) < 0)
        return TRAIL_E_PARSE;
    if (q->runtil_text && parse_time(q->runtil_text, now_us, &p->runtil) < 0)
        return TRAIL_E_PARSE;
    p->sev_min = q->has_sev ? q->sev_min : 0;
    p->sev_max = q->has_sev ? q->sev_max : 255;
    p->hash = qquery_hash(q);
    for (size_t i = 0; i < TRAIL_ARRAY_SIZE(p->idcache); i++)
        p->idcache[i].ok = -1;
    return 0;
}

int qplan_event_ok(struct qplan *p, const uint8_t *id, size_t len)
{
    const struct trail_query *q = p->q;
    if (q->n_globs == 0)
        return 1;
    uint32_t h = crc32c(0, id, len);
    size_t slot = h % TRAIL_ARRAY_SIZE(p->idcache);
    if (p->idcache[slot].ok >= 0 && p->idcache[slot].h == h && p->idcache[slot].len == len &&
        memcmp(p->idcache[slot].id, id, len) == 0)
        return p->idcache[slot].ok;
    int ok = 0;
    for (size_t i = 0; i < q->n_globs && !ok; i++)
        ok = qglob_match(q->globs[i], (const char *)id, len);
    if (len <= sizeof(p->idcache[slot].id)) {
        p->idcache[slot].h = h;
        p->idcache[slot].len = (uint8_t)len;
        p->idcache[slot].ok = (int8_t)ok;
        memcpy(p->idcache[slot].id, id, len);
    }
    return ok;
}

static int in_network(const struct qwhere *w, const struct rec_attr *a)
{
    if (a->type != TRAIL_TYPE_IP || (a->vlen == 4 ? 4 : 6) != w->ip_family)
        return 0;
    int bits = w->prefix_bits;
    for (int i = 0; i < bits / 8; i++)
        if (a->val[i] != w->ip[i])
            return 0;
    if (bits % 8) {
        uint8_t mask = (uint8_t)(0xff << (8 - bits % 8));
        if ((a->val[bits / 8] & mask) != (w->ip[bits / 8] & mask))
            return 0;
    }
    return 1;
}

/* key=value on one attribute of that key (the NE inversion is the caller's). */
static int where_eq(const struct qwhere *w, const struct rec_attr *a)
{
    if (w->cidr)
        return in_network(w, a);
    switch (a->type) {
    case TRAIL_TYPE_STRING:
    case TRAIL_TYPE_ENUM:
        return a->vlen == w->vlen && memcmp(a->val, w->value, w->vlen) == 0;
    case TRAIL_TYPE_IP:
        return w->has_ip && (a->vlen == 4 ? 4 : 6) == w->ip_family &&
               memcmp(a->val, w->ip, a->vlen) == 0;
    case TRAIL_TYPE_INT:
        return w->has_int && a->i == w->ival;
    case TRAIL_TYPE_BOOL:
        return strcmp(w->value, a->i ? "true" : "false") == 0;
    case TRAIL_TYPE_TIME:
        return w->has_time && a->i == w->tval;
    default:
        return 0;
    }
}

static int where_prefix(const struct qwhere *w, const struct rec_attr *a)
{
    char buf[64];
    const char *t;
    size_t n = rec_attr_text(a, buf, &t);
    return n >= w->vlen && memcmp(t, w->value, w->vlen) == 0;
}

/* Does text[0..n) hold item at word boundaries, in any ASCII case? */
static int text_has(const struct qtext *it, const char *text, size_t n)
{
    size_t m = it->len;
    if (m > n)
        return 0;
    const uint8_t *s = (const uint8_t *)text;
    uint8_t c0 = (uint8_t)it->item[0];
    for (size_t i = 0; i + m <= n; i++) {
        if (qlower(s[i]) != c0)
            continue;
        if (it->word_start && i > 0 && qword_char(s[i - 1]))
            continue;
        if (it->word_end && i + m < n && qword_char(s[i + m]))
            continue;
        size_t j = 1;
        while (j < m && qlower(s[i + j]) == (uint8_t)it->item[j])
            j++;
        if (j == m)
            return 1;
    }
    return 0;
}

/*
 * Do the bytes p[0..n) hold item anywhere, in any ASCII case? Where only a
 * string value can hold the item, a record whose attribute bytes do not
 * cannot match: most records of a search for a word are turned away here,
 * before their attributes are walked (memchr finds the candidates).
 */
static int bytes_have(const struct qtext *it, const uint8_t *p, size_t n)
{
    size_t m = it->len;
    uint8_t c0 = (uint8_t)it->item[0];
    uint8_t cases[2] = {c0, c0 >= 'a' && c0 <= 'z' ? (uint8_t)(c0 - 32) : c0};
    if (m > n)
        return 0;
    for (int k = 0; k < (cases[1] != c0 ? 2 : 1); k++) {
        const uint8_t *at = p, *last = p + n - m;
        while (at <= last && (at = memchr(at, cases[k], (size_t)(last - at) + 1))) {
            size_t j = 1;
            while (j < m && qlower(at[j]) == (uint8_t)it->item[j])
                j++;
            if (j == m)
                return 1;
            at++;
        }
    }
    return 0;
}

/* A where clause on the record's provenance: 1 when it holds (before a NE inversion). */
static int where_provenance(const struct qwhere *w, const struct rec_view *v)
{
    struct rec_attr a = {.type = TRAIL_TYPE_STRING};
    char text[80];
    switch (w->field) {
    case QF_INPUT: {
        const char *name = trail_input_name(v->input);
        int n = snprintf(text, sizeof(text), "%s", name ? name : "");
        /* "follow" is every followed file; "follow:NAME" one of them */
        if (w->op == QOP_EQ && w->vlen == (size_t)n && memcmp(w->value, text, (size_t)n) == 0)
            return 1;
        if (v->input_name_len)
            n = snprintf(text, sizeof(text), "%s:%.*s", name ? name : "", (int)v->input_name_len,
                         (const char *)v->input_name);
        a.val = (const uint8_t *)text;
        a.vlen = (size_t)n;
        break;
    }
    case QF_PEER:
        if (!v->peer.family)
            return 0;
        a.type = TRAIL_TYPE_IP;
        a.val = v->peer.addr;
        a.vlen = v->peer.family == 4 ? 4 : 16;
        break;
    case QF_PRINCIPAL:
        a.val = v->principal;
        a.vlen = v->principal_len;
        break;
    default: /* QF_ORIGIN */
        a.val = (const uint8_t *)((v->flags & TRAIL_REC_F_OWN) ? "trail" : "producer");
        a.vlen = strlen((const char *)a.val);
        break;
    }
    return w->op == QOP_PREFIX ? where_prefix(w, &a) : where_eq(w, &a);
}

int qplan_match(struct qplan *p, const struct rec_view *v)
{
    const struct trail_query *q = p->q;
    if (v->time_us < p->since || v->time_us >= p->until)
        return 0;
    if (p->rsince != INT64_MIN || p->runtil != INT64_MAX) {
        /* records written before the received time (v1) arrived when they say */
        int64_t rt = v->received_us ? v->received_us : v->time_us;
        if (rt < p->rsince || rt >= p->runtil)
            return 0;
    }
    if (v->severity < p->sev_min || v->severity > p->sev_max)
        return 0;
    if (q->n_globs && !qplan_event_ok(p, v->id, v->id_len))
        return 0;
    if (q->n_wheres == 0 && q->n_texts == 0)
        return 1;
    for (size_t i = 0; i < q->n_texts; i++)
        if (q->texts[i].strings_only &&
            !bytes_have(&q->texts[i], v->attrs, (size_t)(v->end - v->attrs)))
            return 0;
    uint64_t eq_hit = 0, texts_hit = 0;
    for (size_t i = 0; i < q->n_wheres; i++)
        if (q->wheres[i].field != QF_ATTR && where_provenance(&q->wheres[i], v))
            eq_hit |= (uint64_t)1 << i;
    const uint8_t *at = v->attrs;
    struct rec_attr a;
    int r;
    while ((r = rec_attr_next(&at, v->end, &a)) == 1) {
        for (size_t i = 0; i < q->n_wheres; i++) {
            const struct qwhere *w = &q->wheres[i];
            if (w->field != QF_ATTR || w->klen != a.klen || memcmp(w->key, a.key, a.klen) != 0)
                continue;
            int hit = w->op == QOP_PREFIX ? where_prefix(w, &a) : where_eq(w, &a);
            if (hit)
                eq_hit |= (uint64_t)1 << i;
        }
        if (q->n_texts && a.type != TRAIL_TYPE_TIME) {
            char buf[64];
            const char *t;
            size_t n = rec_attr_text(&a, buf, &t);
            for (size_t i = 0; i < q->n_texts; i++)
                if (!(texts_hit >> i & 1) && text_has(&q->texts[i], t, n))
                    texts_hit |= (uint64_t)1 << i;
        }
    }
    if (r < 0)
        return r;
    for (size_t i = 0; i < q->n_wheres; i++) {
        int hit = (int)(eq_hit >> i & 1);
        if (q->wheres[i].op == QOP_NE ? hit : !hit)
            return 0;
    }
    for (size_t i = 0; i < q->n_texts; i++)
        if (!(texts_hit >> i & 1))
            return 0;
    return 1;
}
