/*
 * match.c - whether a detection rule selects an event: the fields of
 * trail's events (docs/rules.md, "Fields"), Sigma's value matching
 * (case-insensitive with * and ? unless cased; numbers as numbers, addresses
 * as addresses), the modifiers, keywords, and the condition tree.
 *
 * Not here: reading rules (rule.c), windows (correlate.c).
 */
#include "detect_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>

static inline unsigned char fold(unsigned char ch)
{
    return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch;
}

/* the bytes of one UTF-8 character starting at s[0] (at least 1) */
static size_t utf8_len(const char *s, size_t n)
{
    size_t k = 1;
    while (k < n && ((unsigned char)s[k] & 0xC0) == 0x80)
        k++;
    return k;
}

bool detect_glob(const char *pat, size_t plen, const char *text, size_t n, bool cased)
{
    size_t p = 0, t = 0, star_p = (size_t)-1, star_t = 0;
    while (t < n) {
        if (p < plen) {
            unsigned char pc = (unsigned char)pat[p];
            size_t step = 1;
            if (pc == '*') {
                star_p = ++p;
                star_t = t;
                continue;
            }
            if (pc == '?') {
                p++;
                t += utf8_len(text + t, n - t);
                continue;
            }
            /* \* \? \\ are the literal character; any other backslash is itself */
            if (pc == '\\' && p + 1 < plen &&
                (pat[p + 1] == '*' || pat[p + 1] == '?' || pat[p + 1] == '\\')) {
                pc = (unsigned char)pat[p + 1];
                step = 2;
            }
            unsigned char tc = (unsigned char)text[t];
            if (cased ? pc == tc : fold(pc) == fold(tc)) {
                p += step;
                t++;
                continue;
            }
        }
        if (star_p == (size_t)-1)
            return false;
        p = star_p;
        t = ++star_t;
    }
    while (p < plen && pat[p] == '*')
        p++;
    return p == plen;
}

/* A field's value in an event. Text fields are read as they stand; the text of
   the others (severity, @peer, numbers, times, addresses) is made only when a
   value asks for it (fval_text), as most comparisons read the number. */
struct fval {
    bool present;
    uint8_t type;  /* enum trail_type */
    const char *s; /* NULL until fval_text() */
    size_t len;
    int64_t i;
    uint8_t family;
    uint8_t ip[16];
    const struct trail_peer *peer; /* DF_PEER */
    struct trail_value v;          /* DF_ATTR of another type than text */
    enum detect_field_kind kind;
    char buf[96];
};

static void get_field(const struct trail_event *ev, enum detect_field_kind kind, const char *name,
                      struct fval *f)
{
    f->present = false;
    f->type = TRAIL_TYPE_STRING;
    f->s = "";
    f->len = 0;
    f->kind = kind;
    switch (kind) {
    case DF_ID:
        f->s = trail_event_id(ev);
        break;
    case DF_SEVERITY:
        f->type = TRAIL_TYPE_INT;
        f->i = trail_event_severity(ev);
        f->s = NULL;
        f->present = true;
        return;
    case DF_HOST:
        f->s = trail_event_host(ev);
        break;
    case DF_INPUT:
        f->len = trail_event_input_text(ev, f->buf);
        f->s = f->buf;
        f->present = f->len > 0;
        return;
    case DF_PEER: {
        const struct trail_peer *peer = trail_event_peer(ev);
        if (peer->family != 4 && peer->family != 6)
            return;
        f->type = TRAIL_TYPE_IP;
        f->family = peer->family;
        memcpy(f->ip, peer->addr, 16);
        f->peer = peer;
        f->s = NULL;
        f->present = true;
        return;
    }
    case DF_PRINCIPAL:
        f->s = trail_event_principal(ev);
        break;
    case DF_ORIGIN:
        f->s = trail_event_is_own(ev) ? "trail" : "producer";
        break;
    case DF_ATTR: {
        struct trail_value *v = &f->v;
        if (trail_event_attr_get(ev, name, v) != 0)
            return;
        f->present = true;
        f->type = v->type;
        switch (v->type) {
        case TRAIL_TYPE_STRING:
        case TRAIL_TYPE_ENUM:
            f->s = v->u.str.ptr;
            f->len = v->u.str.len;
            return;
        case TRAIL_TYPE_INT:
            f->i = v->u.i;
            break;
        case TRAIL_TYPE_BOOL:
            f->i = v->u.b;
            break;
        case TRAIL_TYPE_TIME:
            f->i = v->u.time_us;
            break;
        case TRAIL_TYPE_IP:
            f->family = v->u.ip.family;
            memcpy(f->ip, v->u.ip.addr, 16);
            break;
        }
        f->s = NULL;
        return;
    }
    }
    f->len = strlen(f->s);
    f->present = f->len > 0;
}

/* the decimal text of n into buf (at least 21 bytes); returns the length */
static size_t int_text(int64_t n, char *buf)
{
    char tmp[24];
    size_t k = 0;
    uint64_t u = n < 0 ? 0 - (uint64_t)n : (uint64_t)n;
    do {
        tmp[k++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t len = 0;
    if (n < 0)
        buf[len++] = '-';
    while (k)
        buf[len++] = tmp[--k];
    buf[len] = '\0';
    return len;
}

/* Make the text of a present field that is not text: what a pattern, a
   regular expression or an empty value compares with. */
static void fval_text(struct fval *f)
{
    if (f->s)
        return;
    if (f->kind == DF_SEVERITY) {
        f->len = int_text(f->i, f->buf);
    } else if (f->kind == DF_PEER) {
        f->len = trail_peer_address(f->peer, f->buf);
    } else {
        size_t n = trail_value_format(&f->v, f->buf, sizeof f->buf);
        f->len = n < sizeof f->buf ? n : sizeof f->buf - 1;
    }
    f->s = f->buf;
}

int detect_field_text(const struct trail_event *ev, enum detect_field_kind kind, const char *name,
                      char *buf, size_t size, const char **ret_text, size_t *ret_len)
{
    struct fval f;
    get_field(ev, kind, name, &f);
    if (!f.present) {
        *ret_text = "";
        *ret_len = 0;
        return 0;
    }
    fval_text(&f);
    if (f.s == f.buf) {
        size_t n = f.len < size ? f.len : size ? size - 1 : 0;
        if (size) {
            memcpy(buf, f.buf, n);
            buf[n] = '\0';
        }
        *ret_text = buf;
        *ret_len = n;
    } else {
        *ret_text = f.s;
        *ret_len = f.len;
    }
    return 1;
}

bool detect_text_ip(const char *s, size_t len, uint8_t *family, uint8_t ip[16])
{
    char tmp[64];
    if (len == 0 || len >= sizeof tmp)
        return false;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    memset(ip, 0, 16);
    if (inet_pton(AF_INET, tmp, ip) == 1) {
        *family = 4;
        return true;
    }
    if (inet_pton(AF_INET6, tmp, ip) == 1) {
        *family = 6;
        return true;
    }
    return false;
}

static bool in_net(const struct detect_value *v, uint8_t family, const uint8_t ip[16])
{
    if (family != v->family)
        return false;
    unsigned full = v->prefix / 8, rest = v->prefix % 8;
    if (memcmp(ip, v->net, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xFF00u >> rest);
    return (ip[full] & mask) == v->net[full];
}

/* a number from a field: ints, times and severities are; a string is when it reads as one */
static bool field_num(const struct fval *f, const struct detect_value *v, int64_t *ret)
{
    if (f->type == TRAIL_TYPE_TIME)
        return v->is_time ? (*ret = f->i, true) : false;
    if (v->is_time)
        return false;
    if (f->type == TRAIL_TYPE_INT) {
        *ret = f->i;
        return true;
    }
    if (f->type != TRAIL_TYPE_STRING || f->len == 0 || f->len > 20)
        return false;
    char tmp[24], *end;
    memcpy(tmp, f->s, f->len);
    tmp[f->len] = '\0';
    errno = 0;
    long long n = strtoll(tmp, &end, 10);
    if (errno || *end || isspace((unsigned char)tmp[0]))
        return false;
    *ret = n;
    return true;
}

static bool value_match(const struct detect_field *fd, const struct detect_value *v, struct fval *f)
{
    switch (fd->op) {
    case DOP_EXISTS:
        return f->present == (v->num != 0);
    case DOP_MATCH:
        if (v->is_null) {
            if (!f->present)
                return true;
            fval_text(f);
            return f->len == 0;
        }
        if (!f->present)
            return false;
        if (!v->has_wild) {
            if (f->type == TRAIL_TYPE_INT && v->is_int)
                return f->i == v->num;
            /* the value's address was read when the rule was (rule.c) */
            if (f->type == TRAIL_TYPE_IP && v->family)
                return v->family == f->family &&
                       memcmp(v->net, f->ip, v->family == 4 ? 4 : 16) == 0;
            fval_text(f);
            if (fd->cased)
                return v->len == f->len && memcmp(v->text, f->s, f->len) == 0;
            return v->len == f->len && strncasecmp(v->text, f->s, f->len) == 0 &&
                   memchr(f->s, '\0', f->len) == NULL;
        }
        fval_text(f);
        return detect_glob(v->text, v->len, f->s, f->len, fd->cased);
    case DOP_RE: {
        if (!f->present)
            return false;
        fval_text(f);
        regmatch_t m[1] = {{.rm_so = 0, .rm_eo = (regoff_t)f->len}};
        return regexec(&v->re, f->s, 1, m, REG_STARTEND) == 0;
    }
    case DOP_CIDR: {
        if (!f->present)
            return false;
        if (f->type == TRAIL_TYPE_IP)
            return in_net(v, f->family, f->ip);
        uint8_t fam, ip[16];
        return f->type == TRAIL_TYPE_STRING && detect_text_ip(f->s, f->len, &fam, ip) &&
               in_net(v, fam, ip);
    }
    case DOP_GT:
    case DOP_GTE:
    case DOP_LT:
    case DOP_LTE: {
        int64_t n;
        if (!f->present || !field_num(f, v, &n))
            return false;
        return fd->op == DOP_GT    ? n > v->num
               : fd->op == DOP_GTE ? n >= v->num
               : fd->op == DOP_LT  ? n < v->num
                                   : n <= v->num;
    }
    }
    return false;
}

static bool values_match(const struct detect_field *fd, struct fval *f)
{
    for (size_t i = 0; i < fd->n_values; i++) {
        bool m = value_match(fd, &fd->values[i], f);
        if (fd->all && !m)
            return false;
        if (!fd->all && m)
            return true;
    }
    return fd->all;
}

static bool field_match(const struct detect_field *fd, const struct trail_event *ev)
{
    struct fval f;
    get_field(ev, fd->kind, fd->name, &f);
    return values_match(fd, &f);
}

/* a keyword occurs in the id, the host or the text of some attribute */
static bool keyword_match(const struct detect_value *kw, const struct trail_event *ev)
{
    const char *id = trail_event_id(ev), *host = trail_event_host(ev);
    if (detect_glob(kw->text, kw->len, id, strlen(id), false) ||
        detect_glob(kw->text, kw->len, host, strlen(host), false))
        return true;
    size_t n = trail_event_attr_count(ev);
    for (size_t i = 0; i < n; i++) {
        const char *key;
        struct trail_value v;
        if (trail_event_attr_at(ev, i, &key, &v) != 0)
            continue;
        if (v.type == TRAIL_TYPE_STRING || v.type == TRAIL_TYPE_ENUM) {
            if (detect_glob(kw->text, kw->len, v.u.str.ptr, v.u.str.len, false))
                return true;
            continue;
        }
        char buf[96];
        size_t len = trail_value_format(&v, buf, sizeof buf);
        if (len >= sizeof buf)
            len = sizeof buf - 1;
        if (detect_glob(kw->text, kw->len, buf, len, false))
            return true;
    }
    return false;
}

static bool sel_match(const struct detect_sel *s, const struct trail_event *ev)
{
    for (size_t i = 0; i < s->n_keywords; i++)
        if (keyword_match(&s->keywords[i], ev))
            return true;
    for (size_t i = 0; i < s->n_maps; i++) {
        const struct detect_map *m = &s->maps[i];
        size_t k;
        for (k = 0; k < m->n_fields; k++)
            if (!field_match(&m->fields[k], ev))
                break;
        if (k == m->n_fields)
            return true;
    }
    return false;
}

static bool cond_eval(const struct detect_rule *r, const struct detect_cond *c,
                      const struct trail_event *ev)
{
    switch (c->kind) {
    case DC_SEL:
        return sel_match(&r->sels[c->sel], ev);
    case DC_AND:
        return cond_eval(r, c->a, ev) && cond_eval(r, c->b, ev);
    case DC_OR:
        return cond_eval(r, c->a, ev) || cond_eval(r, c->b, ev);
    case DC_NOT:
        return !cond_eval(r, c->a, ev);
    case DC_ONE_OF:
        for (size_t i = 0; i < c->n_sels; i++)
            if (sel_match(&r->sels[c->sels[i]], ev))
                return true;
        return false;
    case DC_ALL_OF:
        for (size_t i = 0; i < c->n_sels; i++)
            if (!sel_match(&r->sels[c->sels[i]], ev))
                return false;
        return true;
    }
    return false;
}

int detect_match(const struct detect_rule *r, const struct trail_event *ev)
{
    if (!r->applicable || !r->cond)
        return 0;
    return cond_eval(r, r->cond, ev);
}

/* ---- what the id and the origin alone decide ------------------------------------- */

/* Kleene's three values: and, or and not over DETECT_NO, DETECT_MAYBE, DETECT_YES */
static int tri_and(int a, int b)
{
    return a < b ? a : b;
}

static int tri_or(int a, int b)
{
    return a > b ? a : b;
}

/* The event's id, origin and severity, the fields that the index of rules is keyed by
   (all three at the head of a stored record): a field of another kind is not known
   (DETECT_MAYBE). */
struct known {
    const char *id;
    size_t id_len;
    bool own;
    int severity;
};

static int field_tri(const struct detect_field *fd, const struct known *k)
{
    struct fval f = {.type = TRAIL_TYPE_STRING, .kind = fd->kind};
    if (fd->kind == DF_ID) {
        f.s = k->id;
        f.len = k->id_len;
        f.present = f.len > 0; /* as get_field() */
    } else if (fd->kind == DF_ORIGIN) {
        f.s = k->own ? "trail" : "producer";
        f.len = strlen(f.s);
        f.present = true;
    } else if (fd->kind == DF_SEVERITY) {
        f.type = TRAIL_TYPE_INT; /* as get_field(): its text is made when a pattern wants it */
        f.i = k->severity;
        f.s = NULL;
        f.present = true;
    } else {
        return DETECT_MAYBE;
    }
    return values_match(fd, &f) ? DETECT_YES : DETECT_NO;
}

static int sel_tri(const struct detect_sel *s, const struct known *k)
{
    int t = DETECT_NO;
    /* a keyword is looked for in the id first, then in what is not known */
    for (size_t i = 0; i < s->n_keywords && t != DETECT_YES; i++)
        t = detect_glob(s->keywords[i].text, s->keywords[i].len, k->id, k->id_len, false)
                ? DETECT_YES
                : DETECT_MAYBE;
    for (size_t i = 0; i < s->n_maps && t != DETECT_YES; i++) {
        const struct detect_map *m = &s->maps[i];
        int all = DETECT_YES;
        for (size_t j = 0; j < m->n_fields && all != DETECT_NO; j++)
            all = tri_and(all, field_tri(&m->fields[j], k));
        t = tri_or(t, all);
    }
    return t;
}

static int cond_tri(const struct detect_rule *r, const struct detect_cond *c, const struct known *k)
{
    int t;
    switch (c->kind) {
    case DC_SEL:
        return sel_tri(&r->sels[c->sel], k);
    case DC_AND:
        return tri_and(cond_tri(r, c->a, k), cond_tri(r, c->b, k));
    case DC_OR:
        return tri_or(cond_tri(r, c->a, k), cond_tri(r, c->b, k));
    case DC_NOT:
        return DETECT_YES - cond_tri(r, c->a, k);
    case DC_ONE_OF:
        t = DETECT_NO;
        for (size_t i = 0; i < c->n_sels; i++)
            t = tri_or(t, sel_tri(&r->sels[c->sels[i]], k));
        return t;
    case DC_ALL_OF:
        t = DETECT_YES;
        for (size_t i = 0; i < c->n_sels; i++)
            t = tri_and(t, sel_tri(&r->sels[c->sels[i]], k));
        return t;
    }
    return DETECT_MAYBE;
}

int detect_prematch(const struct detect_rule *r, const char *id, size_t id_len, bool own,
                    int severity)
{
    if (!r->applicable || !r->cond)
        return DETECT_NO;
    struct known k = {.id = id, .id_len = id_len, .own = own, .severity = severity};
    return cond_tri(r, r->cond, &k);
}
