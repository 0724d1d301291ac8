/*
 * event.c - the event model: an id, its catalog definition, time, severity,
 * host, uuid, sequence number and typed attributes kept sorted by key, with
 * validation against the catalog's schema, policy and limits.
 *
 * Memory: one allocation for the event, one for the attribute array and one
 * arena for undeclared keys and string values, all reused by
 * trail_event_reset() and the trail_event_parse_* decoders, so a producer
 * emitting in a loop, or an input decoding item after item, allocates
 * nothing once the event has grown.
 *
 * The decoders set attributes through the counted-key event_put_text()
 * and event_put_scalar() (event.h): a key's schema entry is looked
 * up once, first where the previous key's was, and a key arriving after the
 * last one is appended without a search, since decoders read keys in order.
 */
#include "event/event.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

int event_errorf(struct trail_event *ev, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ev->err, sizeof(ev->err), fmt, ap);
    va_end(ap);
    return code;
}

void event_set_valid_id(struct trail_event *ev, const char *id, size_t len)
{
    memcpy(ev->id, id, len);
    ev->id[len] = '\0';
    ev->id_len = (uint8_t)len;
    ev->def = trail_catalog_lookup(ev->cat, id, len);
    ev->def_hint = 0;
    ev->severity = ev->def ? ev->def->severity : TRAIL_SEV_INFO;
}

static int set_id(struct trail_event *ev, const char *id, size_t len)
{
    if (len == 0 || len > TRAIL_MAX_ID_LEN)
        return event_errorf(ev, TRAIL_E_BAD_ID, "event id is empty or longer than %d bytes",
                            TRAIL_MAX_ID_LEN);
    event_set_valid_id(ev, id, len);
    return 0;
}

/* Everything but the id, the catalog and the memory cleared. */
static void clear_content(struct trail_event *ev)
{
    ev->def = NULL;
    ev->time_us = 0;
    ev->seq = 0;
    ev->has_uuid = false;
    ev->host_len = 0;
    ev->host[0] = '\0';
    ev->own = false;
    ev->input = TRAIL_INPUT_NONE;
    ev->input_name_len = 0;
    ev->input_name[0] = '\0';
    ev->principal_len = 0;
    ev->principal[0] = '\0';
    ev->peer.family = 0;
    ev->received_us = 0;
    ev->dup_of = 0;
    ev->requested_severity = 0;
    ev->problems_len = 0;
    ev->problems[0] = '\0';
    ev->n_via = 0;
    ev->via_len = 0;
    ev->n_attrs = 0;
    ev->def_hint = 0;
    ev->arena_len = 0;
    ev->err[0] = '\0';
}

void event_clear(struct trail_event *ev)
{
    clear_content(ev);
    ev->severity = TRAIL_SEV_INFO;
    ev->id_len = 0;
    ev->id[0] = '\0';
}

int trail_event_reset(struct trail_event *ev, const char *id, size_t id_len)
{
    if (id_len == (size_t)-1)
        id_len = strlen(id);
    clear_content(ev);
    return set_id(ev, id, id_len);
}

int trail_event_new(const struct trail_catalog *cat, const char *id, struct trail_event **ret_event)
{
    struct trail_event *ev = calloc(1, sizeof(*ev));
    if (!ev)
        return -ENOMEM;
    ev->cat = cat;
    if (!id || !*id) {
        /* a blank event, for a decoder to parse into */
        event_clear(ev);
        *ret_event = ev;
        return 0;
    }
    int r = trail_event_reset(ev, id, strlen(id));
    if (r < 0) {
        free(ev);
        return r;
    }
    *ret_event = ev;
    return 0;
}

int event_new_parsed(const struct trail_catalog *cat, event_parse_fn parse, const char *data,
                     size_t len, struct trail_event **ret_event, char *err, size_t errlen)
{
    struct trail_event *ev;
    int r = trail_event_new(cat, NULL, &ev);
    if (r < 0)
        return r;
    r = parse(ev, data, len, err, errlen);
    if (r < 0) {
        trail_event_free(ev);
        return r;
    }
    *ret_event = ev;
    return 0;
}

void trail_event_free(struct trail_event *ev)
{
    if (!ev)
        return;
    free(ev->attrs);
    free(ev->arena);
    free(ev);
}

int trail_event_clone(const struct trail_event *ev, struct trail_event **ret_copy)
{
    struct trail_event *c = malloc(sizeof(*c));
    if (!c)
        return -ENOMEM;
    *c = *ev;
    c->attrs = NULL;
    c->arena = NULL;
    c->cap_attrs = ev->n_attrs;
    c->arena_cap = ev->arena_len;
    if (ev->n_attrs) {
        c->attrs = malloc(ev->n_attrs * sizeof(*c->attrs));
        if (!c->attrs)
            goto fail;
        memcpy(c->attrs, ev->attrs, ev->n_attrs * sizeof(*c->attrs));
    }
    if (ev->arena_len) {
        c->arena = malloc(ev->arena_len);
        if (!c->arena)
            goto fail;
        memcpy(c->arena, ev->arena, ev->arena_len);
    }
    *ret_copy = c;
    return 0;
fail:
    free(c->attrs);
    free(c);
    return -ENOMEM;
}

const char *trail_event_id(const struct trail_event *ev)
{
    return ev->id;
}

const struct trail_event_def *trail_event_def(const struct trail_event *ev)
{
    return ev->def;
}

const struct trail_catalog *trail_event_catalog(const struct trail_event *ev)
{
    return ev->cat;
}

void trail_event_prefetch(const struct trail_event *ev, int deep)
{
    const char *p = (const char *)ev;
    for (size_t off = 0; off < offsetof(struct trail_event, err) + 64; off += 64)
        __builtin_prefetch(p + off, 1);
    if (!deep)
        return;
    const char *a = (const char *)ev->attrs;
    for (size_t off = 0; a && off < (size_t)ev->cap_attrs * sizeof(*ev->attrs) && off < 512;
         off += 64)
        __builtin_prefetch(a + off, 1);
    for (size_t off = 0; ev->arena && off < ev->arena_cap && off < 512; off += 64)
        __builtin_prefetch(ev->arena + off, 1);
}

int trail_event_severity(const struct trail_event *ev)
{
    return ev->severity;
}

int64_t trail_event_time(const struct trail_event *ev)
{
    return ev->time_us;
}

uint64_t trail_event_seq(const struct trail_event *ev)
{
    return ev->seq;
}

const char *trail_event_host(const struct trail_event *ev)
{
    return ev->host;
}

int trail_event_uuid(const struct trail_event *ev, uint8_t ret_uuid[16])
{
    if (!ev->has_uuid)
        return TRAIL_E_NOT_FOUND;
    memcpy(ret_uuid, ev->uuid, 16);
    return 0;
}

void trail_event_set_time(struct trail_event *ev, int64_t time_us)
{
    ev->time_us = time_us;
}

void trail_event_set_seq(struct trail_event *ev, uint64_t seq)
{
    ev->seq = seq;
}

int trail_event_set_severity(struct trail_event *ev, int sev)
{
    if (!trail_severity_valid(sev))
        return event_errorf(ev, TRAIL_E_BAD_SEVERITY, "severity %d is not on the scale", sev);
    ev->severity = sev;
    return 0;
}

int trail_event_set_host(struct trail_event *ev, const char *host, size_t len)
{
    if (len == (size_t)-1)
        len = strlen(host);
    if (len > TRAIL_MAX_HOST_LEN)
        return event_errorf(ev, TRAIL_E_VALUE_TOO_LONG, "host is longer than %d bytes",
                            TRAIL_MAX_HOST_LEN);
    if (!utf8_valid(host, len))
        return event_errorf(ev, TRAIL_E_UTF8, "host is not valid UTF-8");
    memcpy(ev->host, host, len);
    ev->host[len] = '\0';
    ev->host_len = (uint8_t)len;
    return 0;
}

void trail_event_set_uuid(struct trail_event *ev, const uint8_t uuid[16])
{
    memcpy(ev->uuid, uuid, 16);
    ev->has_uuid = true;
}

int trail_event_gen_uuid(struct trail_event *ev)
{
    uint8_t u[16];
    int r = random_bytes(u, sizeof(u));
    if (r < 0)
        return r;
    u[6] = (u[6] & 0x0f) | 0x40; /* version 4 */
    u[8] = (u[8] & 0x3f) | 0x80; /* RFC 4122 variant */
    trail_event_set_uuid(ev, u);
    return 0;
}

/* ---- attributes ---- */

static inline int attr_cmp(const struct trail_event *ev, const struct trail_attr *a,
                           const char *key, size_t len)
{
    return keycmp_n(attr_key(ev, a), a->key_len, key, len);
}

/*
 * Find key; returns its index or, negated minus one, where it would go.
 * Decoders mostly set keys in order, so the place after the last attribute
 * is tried before a binary search.
 */
static TRAIL_ALWAYS_INLINE long find_attr(const struct trail_event *ev, const char *key, size_t len)
{
    size_t n = ev->n_attrs;
    if (n == 0)
        return -1;
    int c = attr_cmp(ev, &ev->attrs[n - 1], key, len);
    if (c < 0)
        return -(long)n - 1;
    if (c == 0)
        return (long)n - 1;
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        c = attr_cmp(ev, &ev->attrs[mid], key, len);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(long)lo - 1;
}

/*
 * The schema's entry for key, or NULL: trail_attr_def_find(), trying first
 * the few entries after the one the previous key found, where the next key
 * of a decoder (which reads keys in order) usually is.
 */
static TRAIL_ALWAYS_INLINE const struct trail_attr_def *def_find(struct trail_event *ev,
                                                                 const char *key, size_t klen)
{
    const struct trail_event_def *d = ev->def;
    if (!d)
        return NULL;
    size_t end = (size_t)ev->def_hint + 4 < d->n_attrs ? (size_t)ev->def_hint + 4 : d->n_attrs;
    for (size_t i = ev->def_hint; i < end; i++) {
        const struct trail_attr_def *a = d->attrs[i];
        if (a->key_len == klen && bytes_eq(a->key, key, klen)) {
            ev->def_hint = (uint16_t)(i + 1);
            return a;
        }
    }
    long i = attr_def_index(d, key, klen);
    if (i < 0)
        return NULL;
    ev->def_hint = (uint16_t)(i + 1);
    return d->attrs[i];
}

/*
 * Find or make the slot for key[0..klen), checking the key's form and the
 * limits. def is the schema's entry for the key (def_find()), or NULL.
 */
static TRAIL_ALWAYS_INLINE int attr_slot(struct trail_event *ev, const char *key, size_t klen,
                                         const struct trail_attr_def *def, struct trail_attr **ret)
{
    const struct trail_limits *lim = &ev->cat->limits;
    if (klen > lim->max_key_len)
        return event_errorf(ev, TRAIL_E_KEY_TOO_LONG,
                            "attribute key '%.*s...' is longer than %u bytes",
                            (int)(klen > 40 ? 40 : klen), key, lim->max_key_len);
    /* a key the schema declares is valid: the catalog takes no other */
    if (!def && !key_ok(key, klen))
        return event_errorf(ev, TRAIL_E_BAD_KEY,
                            "attribute key '%.*s' is empty or has characters outside "
                            "[A-Za-z0-9_.-]",
                            (int)(klen > 64 ? 64 : klen), key);
    long at = find_attr(ev, key, klen);
    if (at >= 0) {
        *ret = &ev->attrs[at];
        return 0;
    }
    if (ev->n_attrs >= lim->max_attrs)
        return event_errorf(ev, TRAIL_E_TOO_MANY_ATTRS, "more than %u attributes", lim->max_attrs);
    if (TRAIL_UNLIKELY(ev->n_attrs == ev->cap_attrs)) {
        uint32_t cap = ev->cap_attrs ? ev->cap_attrs * 2 : 16;
        struct trail_attr *p = realloc(ev->attrs, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        ev->attrs = p;
        ev->cap_attrs = cap;
    }
    size_t pos = (size_t)(-at - 1);
    struct trail_attr a = {.def = def, .key_len = (uint16_t)klen};
    if (!def) {
        int r = event_arena_put(ev, key, klen, &a.key_off);
        if (r < 0)
            return r;
    }
    if (pos < ev->n_attrs)
        memmove(&ev->attrs[pos + 1], &ev->attrs[pos], (ev->n_attrs - pos) * sizeof(*ev->attrs));
    ev->attrs[pos] = a;
    ev->n_attrs++;
    *ret = &ev->attrs[pos];
    return 0;
}

/* Remove key[0..klen) if it is there; 0 or TRAIL_E_NOT_FOUND. */
static int unset_n(struct trail_event *ev, const char *key, size_t klen)
{
    long at = find_attr(ev, key, klen);
    if (at < 0)
        return TRAIL_E_NOT_FOUND;
    memmove(&ev->attrs[at], &ev->attrs[at + 1],
            (ev->n_attrs - (size_t)at - 1) * sizeof(*ev->attrs));
    ev->n_attrs--;
    return 0;
}

static int type_mismatch(struct trail_event *ev, const struct trail_attr_def *def, int given)
{
    return event_errorf(ev, TRAIL_E_BAD_TYPE, "attribute '%s': expected %s, got %s", def->key,
                        trail_type_name(def->type), trail_type_name(given));
}

/* Is the declared type satisfied by a value of type given? Policy OFF accepts all. */
static bool type_ok(const struct trail_event *ev, const struct trail_attr_def *def, int given)
{
    if (!def || ev->cat->policy == TRAIL_POLICY_OFF)
        return true;
    return def->type == given || (def->type == TRAIL_TYPE_ENUM && given == TRAIL_TYPE_STRING);
}

static int check_enum(struct trail_event *ev, const struct trail_attr_def *def, const char *v,
                      size_t len)
{
    for (uint16_t i = 0; i < def->n_enum; i++) {
        const char *e = def->enum_values[i];
        /* the first byte rules out most values without a strlen */
        if (len > 0 && e[0] != v[0])
            continue;
        if (strlen(e) == len && memcmp(e, v, len) == 0)
            return 0;
    }
    return event_errorf(ev, TRAIL_E_BAD_ENUM, "attribute '%s': '%.*s' is not one of its values",
                        def->key, (int)(len > 64 ? 64 : len), v);
}

/* 1 when s[0..n) is all ASCII, and so valid UTF-8: a quick look before utf8_valid(). */
static inline int all_ascii(const char *s, size_t n)
{
    uint64_t acc = 0, w;
    if (n >= 8) {
        for (size_t i = 0; i + 8 <= n; i += 8) {
            memcpy(&w, s + i, 8);
            acc |= w;
        }
        memcpy(&w, s + n - 8, 8); /* the tail, overlapping */
        acc |= w;
    } else {
        for (size_t i = 0; i < n; i++)
            acc |= (unsigned char)s[i];
    }
    return (acc & 0x8080808080808080ULL) == 0;
}

/*
 * Dotted-quad IPv4 text as inet_pton(AF_INET) reads it: four decimal parts
 * of 0..255, no leading zeros, nothing else. 0, or -1 for anything else
 * (which ip_parse() then reads, or refuses).
 */
static int ipv4_parse(const char *s, size_t len, uint8_t out[4])
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part) {
            if (i >= len || s[i] != '.')
                return -1;
            i++;
        }
        size_t start = i;
        unsigned v = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 3)
            v = v * 10 + (unsigned)(s[i++] - '0');
        if (i == start || v > 255 || (s[start] == '0' && i - start > 1))
            return -1;
        out[part] = (uint8_t)v;
    }
    return i == len ? 0 : -1;
}

/* trail_event_set_string() with a counted key (no NUL in it) and its schema entry. */
static int put_string(struct trail_event *ev, const char *key, size_t klen,
                      const struct trail_attr_def *def, const char *value, size_t len)
{
    struct trail_attr *a = NULL;
    const struct trail_limits *lim = &ev->cat->limits;
    if (len > lim->max_value_len)
        return event_errorf(ev, TRAIL_E_VALUE_TOO_LONG,
                            "attribute '%.*s': value is longer than %u bytes", (int)klen, key,
                            lim->max_value_len);
    if (!all_ascii(value, len) && !utf8_valid(value, len))
        return event_errorf(ev, TRAIL_E_UTF8, "attribute '%.*s': value is not valid UTF-8",
                            (int)klen, key);
    int r = attr_slot(ev, key, klen, def, &a);
    if (r < 0)
        return r;
    if (!type_ok(ev, def, TRAIL_TYPE_STRING)) {
        r = type_mismatch(ev, def, TRAIL_TYPE_STRING);
        goto undo;
    }
    int type = TRAIL_TYPE_STRING;
    if (def && def->type == TRAIL_TYPE_ENUM && ev->cat->policy != TRAIL_POLICY_OFF) {
        r = check_enum(ev, def, value, len);
        if (r < 0)
            goto undo;
        type = TRAIL_TYPE_ENUM;
    }
    uint32_t off;
    r = event_arena_put(ev, value, len, &off);
    if (r < 0)
        goto undo;
    a->type = (uint8_t)type;
    a->v.s.off = off;
    a->v.s.len = (uint32_t)len;
    return 0;
undo:
    /* a slot made for this call and left without a value must not stay */
    if (a->type == 0)
        unset_n(ev, key, klen);
    return r;
}

int trail_event_set_string(struct trail_event *ev, const char *key, const char *value, size_t len)
{
    if (len == (size_t)-1)
        len = strlen(value);
    size_t klen = strlen(key);
    return put_string(ev, key, klen, def_find(ev, key, klen), value, len);
}

/* Common tail of the non-string setters, with a counted key (no NUL in it) and its schema entry. */
static int put_scalar(struct trail_event *ev, const char *key, size_t klen,
                      const struct trail_attr_def *def, int type, const struct trail_attr *v)
{
    struct trail_attr *a = NULL;
    int r = attr_slot(ev, key, klen, def, &a);
    if (r < 0)
        return r;
    if (!type_ok(ev, def, type)) {
        r = type_mismatch(ev, def, type);
        if (a->type == 0)
            unset_n(ev, key, klen);
        return r;
    }
    a->type = (uint8_t)type;
    a->ip_family = v->ip_family;
    a->v = v->v;
    return 0;
}

static int set_scalar(struct trail_event *ev, const char *key, int type, const struct trail_attr *v)
{
    size_t klen = strlen(key);
    return put_scalar(ev, key, klen, def_find(ev, key, klen), type, v);
}

int event_put_scalar(struct trail_event *ev, const char *key, size_t klen, int type, int64_t value)
{
    struct trail_attr v = {.v.i = value};
    return put_scalar(ev, key, klen, def_find(ev, key, klen), type, &v);
}

int trail_event_set_int(struct trail_event *ev, const char *key, int64_t value)
{
    struct trail_attr v = {.v.i = value};
    return set_scalar(ev, key, TRAIL_TYPE_INT, &v);
}

int trail_event_set_bool(struct trail_event *ev, const char *key, int value)
{
    struct trail_attr v = {.v.i = value ? 1 : 0};
    return set_scalar(ev, key, TRAIL_TYPE_BOOL, &v);
}

int trail_event_set_time_attr(struct trail_event *ev, const char *key, int64_t time_us)
{
    struct trail_attr v = {.v.i = time_us};
    return set_scalar(ev, key, TRAIL_TYPE_TIME, &v);
}

int trail_event_set_ip(struct trail_event *ev, const char *key, const char *text, size_t len)
{
    struct trail_attr v = {0};
    if (len == (size_t)-1)
        len = strlen(text);
    if (ip_parse(text, len, &v.ip_family, v.v.ip) < 0)
        return event_errorf(ev, TRAIL_E_BAD_TYPE, "attribute '%s': '%.*s' is not an IP address",
                            key, (int)(len > 64 ? 64 : len), text);
    return set_scalar(ev, key, TRAIL_TYPE_IP, &v);
}

static int parse_int(const char *s, size_t len, int64_t *ret)
{
    size_t i = 0;
    int neg = 0;
    uint64_t v = 0;
    if (len && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == len)
        return -1;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
        return -1;
    *ret = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

const struct trail_attr_def *event_find_def(struct trail_event *ev, const char *key, size_t klen)
{
    return def_find(ev, key, klen);
}

int event_put_text(struct trail_event *ev, const char *key, size_t klen,
                   const struct trail_attr_def *def, const char *value, size_t vlen,
                   int check_time_range)
{
    if (klen >= 256)
        return event_errorf(ev, TRAIL_E_KEY_TOO_LONG, "attribute key is longer than %u bytes",
                            ev->cat->limits.max_key_len);
    int type = def ? def->type : TRAIL_TYPE_STRING;
    struct trail_attr v = {0};
    switch (type) {
    case TRAIL_TYPE_INT:
        if (parse_int(value, vlen, &v.v.i) == 0)
            return put_scalar(ev, key, klen, def, TRAIL_TYPE_INT, &v);
        break;
    case TRAIL_TYPE_BOOL:
        if (vlen == 4 && memcmp(value, "true", 4) == 0) {
            v.v.i = 1;
            return put_scalar(ev, key, klen, def, TRAIL_TYPE_BOOL, &v);
        }
        if (vlen == 5 && memcmp(value, "false", 5) == 0)
            return put_scalar(ev, key, klen, def, TRAIL_TYPE_BOOL, &v);
        break;
    case TRAIL_TYPE_IP:
        if (ipv4_parse(value, vlen, v.v.ip) == 0) {
            v.ip_family = 4;
            return put_scalar(ev, key, klen, def, TRAIL_TYPE_IP, &v);
        }
        if (ip_parse(value, vlen, &v.ip_family, v.v.ip) == 0)
            return put_scalar(ev, key, klen, def, TRAIL_TYPE_IP, &v);
        break;
    case TRAIL_TYPE_TIME:
        if (trail_time_parse(value, vlen, &v.v.i) == 0) {
            int r = put_scalar(ev, key, klen, def, TRAIL_TYPE_TIME, &v);
            if (r == 0 && check_time_range && !event_time_ok(v.v.i)) {
                unset_n(ev, key, klen);
                return event_errorf(ev, TRAIL_E_BAD_TYPE,
                                    "attribute '%.*s': '%.*s' is outside years 0000..9999",
                                    (int)klen, key, (int)(vlen > 64 ? 64 : vlen), value);
            }
            return r;
        }
        break;
    default:
        return put_string(ev, key, klen, def, value, vlen);
    }
    if (ev->cat->policy == TRAIL_POLICY_OFF)
        return put_string(ev, key, klen, def, value, vlen);
    return event_errorf(ev, TRAIL_E_BAD_TYPE, "attribute '%.*s': '%.*s' is not a valid %s",
                        (int)klen, key, (int)(vlen > 64 ? 64 : vlen), value, trail_type_name(type));
}

int trail_event_set_text(struct trail_event *ev, const char *key, size_t klen, const char *value,
                         size_t vlen)
{
    char kbuf[256];
    if (klen == (size_t)-1)
        klen = strlen(key);
    if (vlen == (size_t)-1)
        vlen = strlen(value);
    if (klen >= sizeof(kbuf))
        return event_errorf(ev, TRAIL_E_KEY_TOO_LONG, "attribute key is longer than %u bytes",
                            ev->cat->limits.max_key_len);
    if (memchr(key, '\0', klen)) {
        /* no schema entry holds a NUL: a string, under the key up to its first NUL */
        memcpy(kbuf, key, klen);
        kbuf[klen] = '\0';
        return trail_event_set_string(ev, kbuf, value, vlen);
    }
    return event_put_text(ev, key, klen, def_find(ev, key, klen), value, vlen, 0);
}

int trail_event_unset(struct trail_event *ev, const char *key)
{
    return unset_n(ev, key, strlen(key));
}

int event_has_attr(const struct trail_event *ev, const char *key, size_t klen)
{
    return find_attr(ev, key, klen) >= 0;
}

size_t trail_event_attr_count(const struct trail_event *ev)
{
    return ev->n_attrs;
}

static void value_of(const struct trail_event *ev, const struct trail_attr *a,
                     struct trail_value *v)
{
    memset(v, 0, sizeof(*v));
    v->type = a->type;
    switch (a->type) {
    case TRAIL_TYPE_STRING:
    case TRAIL_TYPE_ENUM:
        v->u.str.ptr = ev->arena + a->v.s.off;
        v->u.str.len = a->v.s.len;
        break;
    case TRAIL_TYPE_IP:
        v->u.ip.family = a->ip_family;
        memcpy(v->u.ip.addr, a->v.ip, 16);
        break;
    case TRAIL_TYPE_BOOL:
        v->u.b = (int)a->v.i;
        break;
    case TRAIL_TYPE_TIME:
        v->u.time_us = a->v.i;
        break;
    default:
        v->u.i = a->v.i;
        break;
    }
}

int trail_event_attr_at(const struct trail_event *ev, size_t i, const char **ret_key,
                        struct trail_value *ret_value)
{
    if (i >= ev->n_attrs)
        return TRAIL_E_NOT_FOUND;
    *ret_key = attr_key(ev, &ev->attrs[i]);
    value_of(ev, &ev->attrs[i], ret_value);
    return 0;
}

int trail_event_attr_get(const struct trail_event *ev, const char *key,
                         struct trail_value *ret_value)
{
    long at = find_attr(ev, key, strlen(key));
    if (at < 0)
        return TRAIL_E_NOT_FOUND;
    value_of(ev, &ev->attrs[at], ret_value);
    return 0;
}

size_t trail_value_format(const struct trail_value *v, char *buf, size_t size)
{
    char tmp[64];
    const char *s = tmp;
    size_t n;
    switch (v->type) {
    case TRAIL_TYPE_STRING:
    case TRAIL_TYPE_ENUM:
        s = v->u.str.ptr;
        n = v->u.str.len;
        break;
    case TRAIL_TYPE_INT: {
        /* "%lld" without printf: exports and sinks format every value */
        uint64_t u = v->u.i < 0 ? 0 - (uint64_t)v->u.i : (uint64_t)v->u.i;
        char *t = tmp + sizeof(tmp);
        do {
            *--t = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        if (v->u.i < 0)
            *--t = '-';
        s = t;
        n = (size_t)(tmp + sizeof(tmp) - t);
        break;
    }
    case TRAIL_TYPE_BOOL:
        s = v->u.b ? "true" : "false";
        n = strlen(s);
        break;
    case TRAIL_TYPE_TIME:
        n = trail_time_format(v->u.time_us, tmp);
        break;
    case TRAIL_TYPE_IP:
        n = ip_format(v->u.ip.family, v->u.ip.addr, tmp);
        break;
    default:
        tmp[0] = '\0';
        n = 0;
    }
    if (size) {
        size_t c = n < size - 1 ? n : size - 1;
        memcpy(buf, s, c);
        buf[c] = '\0';
    }
    return n;
}

/* ---- validation ---- */

/*
 * Append "'key'" to a list of keys in buf (", " between). Room for ", ..."
 * is always kept: a key that does not fit ends the list with it.
 */
static void list_key(char *buf, size_t size, size_t *len, const char *key, size_t klen)
{
    if (*len >= size - 1)
        return; /* full, "..." written */
    size_t need = (*len ? 2 : 0) + klen + 2;
    if (*len + need + 5 >= size) {
        snprintf(buf + *len, size - *len, "%s...", *len ? ", " : "");
        *len = size - 1;
        return;
    }
    *len += (size_t)snprintf(buf + *len, size - *len, "%s'%.*s'", *len ? ", " : "", (int)klen, key);
}

/* Append one problem to the record's list ("; " between); "" adds nothing. Returns 0. */
static int add_problem(struct trail_event *ev, const char *text)
{
    if (!text[0])
        return 0;
    size_t len = ev->problems_len;
    int n = snprintf(ev->problems + len, sizeof(ev->problems) - len, "%s%s", len ? "; " : "", text);
    len += n < 0 ? 0 : (size_t)n;
    ev->problems_len = (uint16_t)(len < sizeof(ev->problems) ? len : sizeof(ev->problems) - 1);
    return 0;
}

/*
 * The producer's time against the time of arrival (the received time an input
 * set, or now): outside the catalog's bounds it is a problem to list in *out,
 * or an error under refuse. Only what arrives through traild's inputs is a
 * producer's claim about now; a program writing its own store (library),
 * an import (history) and trail's own records are not checked.
 */
static int check_skew(struct trail_event *ev, char *out, size_t size)
{
    const struct trail_catalog *cat = ev->cat;
    out[0] = '\0';
    if (ev->own || ev->input < TRAIL_INPUT_HTTP || ev->input == TRAIL_INPUT_TRAIL ||
        ev->time_us == 0)
        return 0;
    int64_t arrival = ev->received_us ? ev->received_us : trail_now();
    int64_t ahead = ev->time_us - arrival;
    const char *side = NULL;
    int64_t by = 0;
    if (cat->skew_future_us && ahead > cat->skew_future_us)
        side = "ahead of", by = ahead;
    else if (cat->skew_past_us && -ahead > cat->skew_past_us)
        side = "behind", by = -ahead;
    if (!side)
        return 0;
    /* whole units so that the text is the same for every event of a batch */
    long long secs = (long long)(by / 1000000);
    if (secs >= 2 * 86400)
        snprintf(out, size, "time skew: the event time is %lld days %s its arrival", secs / 86400,
                 side);
    else
        snprintf(out, size, "time skew: the event time is %lld s %s its arrival", secs, side);
    if (cat->skew_refuse)
        return event_errorf(ev, TRAIL_E_TIME_SKEW, "event '%s': %s (refused by policy)", ev->id,
                            out + strlen("time skew: "));
    return 0;
}

int trail_event_validate(struct trail_event *ev)
{
    const struct trail_limits *lim = &ev->cat->limits;
    int policy = ev->cat->policy;
    ev->err[0] = '\0';
    ev->problems_len = 0;
    ev->problems[0] = '\0';

    /* an id the catalog knows is valid: the catalog takes no other */
    if (!ev->def && !id_ok(ev->id, ev->id_len))
        return event_errorf(ev, TRAIL_E_BAD_ID, "event id '%s' is not lower-case [a-z0-9_]",
                            ev->id);
    /* trail's own ids are trail's alone, whatever the policy */
    if (!ev->own && id_reserved(ev->id, ev->id_len))
        return event_errorf(ev, TRAIL_E_RESERVED,
                            "event id '%s' is reserved for trail's own records", ev->id);
    if (ev->n_attrs > lim->max_attrs)
        return event_errorf(ev, TRAIL_E_TOO_MANY_ATTRS, "more than %u attributes", lim->max_attrs);
    /* an upper bound of the stored record's size: fixed header plus keys and values */
    size_t bytes = 64 + ev->id_len + ev->host_len + ev->input_name_len + ev->principal_len + 24 +
                   TRAIL_MAX_PROBLEMS_LEN;
    for (uint32_t i = 0; i < ev->n_attrs; i++)
        bytes += 8 + ev->attrs[i].key_len +
                 (ev->attrs[i].type == TRAIL_TYPE_STRING || ev->attrs[i].type == TRAIL_TYPE_ENUM
                      ? ev->attrs[i].v.s.len
                      : 16);
    if (bytes > lim->max_record_bytes)
        return event_errorf(ev, TRAIL_E_TOO_LARGE, "event is %zu bytes, over the limit of %u",
                            bytes - TRAIL_MAX_PROBLEMS_LEN, lim->max_record_bytes);
    char skew[96];
    int r = check_skew(ev, skew, sizeof(skew));
    if (r < 0)
        return r;
    if (policy == TRAIL_POLICY_OFF)
        return add_problem(ev, skew);
    if (!ev->def)
        return event_errorf(ev, TRAIL_E_UNKNOWN_EVENT, "unknown event id '%s'", ev->id);
    /* trail's own records may say how severe they are (an alert: its rule's level); the
     * catalog's severity of an own event is then its usual one */
    if (ev->severity != ev->def->severity && !(ev->own && ev->def->custom == TRAIL_DEF_OWN))
        return event_errorf(ev, TRAIL_E_BAD_SEVERITY,
                            "event '%s' has severity %d in the catalog, not %d", ev->id,
                            ev->def->severity, ev->severity);
    /* both lists are sorted by key: one merge pass finds every missing and undeclared key */
    char missing[180], undeclared[180]; /* each fits the error text and the record */
    size_t n_missing = 0, n_undeclared = 0, missing_len = 0, undeclared_len = 0;
    missing[0] = undeclared[0] = '\0';
    uint32_t i = 0;
    uint16_t j = 0;
    while (i < ev->n_attrs || j < ev->def->n_attrs) {
        const struct trail_attr_def *d = j < ev->def->n_attrs ? ev->def->attrs[j] : NULL;
        const struct trail_attr *a = i < ev->n_attrs ? &ev->attrs[i] : NULL;
        const char *k = a ? attr_key(ev, a) : NULL;
        int c = !a ? 1 : !d ? -1 : a->def == d ? 0 : keycmp_n(k, a->key_len, d->key, d->key_len);
        if (c == 0) {
            i++, j++;
        } else if (c < 0) {
            list_key(undeclared, sizeof(undeclared), &undeclared_len, k, a->key_len);
            n_undeclared++;
            i++;
        } else {
            if (d->flags & TRAIL_ATTR_REQUIRED) {
                list_key(missing, sizeof(missing), &missing_len, d->key, d->key_len);
                n_missing++;
            }
            j++;
        }
    }
    if (!n_missing && !n_undeclared)
        return add_problem(ev, skew);
    if (policy == TRAIL_POLICY_STRICT) {
        if (n_missing)
            return event_errorf(ev, TRAIL_E_MISSING_ATTR, "event '%s' needs attribute%s %s%s%s",
                                ev->id, n_missing > 1 ? "s" : "", missing,
                                n_undeclared ? "; not declared: " : "", undeclared);
        return event_errorf(
            ev, TRAIL_E_UNDECLARED_ATTR, "attribute%s %s %s not declared for event '%s'",
            n_undeclared > 1 ? "s" : "", undeclared, n_undeclared > 1 ? "are" : "is", ev->id);
    }
    /* lenient: stored as sent, with what is wrong listed in the record */
    int n = snprintf(
        ev->problems, sizeof(ev->problems), "%s%s%s%s%s",
        n_missing ? (n_missing > 1 ? "missing required attributes " : "missing required attribute ")
                  : "",
        missing, n_missing && n_undeclared ? "; " : "",
        n_undeclared ? (n_undeclared > 1 ? "undeclared attributes " : "undeclared attribute ") : "",
        undeclared);
    ev->problems_len = (uint16_t)(n < 0                              ? 0
                                  : (size_t)n < sizeof(ev->problems) ? (size_t)n
                                                                     : sizeof(ev->problems) - 1);
    return add_problem(ev, skew);
}

const char *trail_event_error(const struct trail_event *ev)
{
    return ev->err;
}
