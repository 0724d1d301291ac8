/*
 * catalog.c - the event catalog at run time: the built-in table generated
 * from catalog/events.cat, custom events declared by the deployment, the
 * validation policy and limits, and O(1) lookup by id.
 *
 * Not here: the catalog's data (catalog/events.cat) and the generator that
 * turns it into C and docs (catalog/catalog-gen.c).
 */
#include "event/event.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

struct trail_catalog_custom {
    struct trail_event_def def;
    struct trail_catalog_custom *next;
};

/* A slot of the id table: the id's hash and length decide most probes without a compare. */
struct trail_catalog_slot {
    const struct trail_event_def *def; /* NULL: empty */
    uint32_t hash;                     /* the high half of hash_id() */
    uint32_t id_len;
};

static const struct trail_limits default_limits = {
    .max_attrs = 64,
    .max_key_len = 64,
    .max_value_len = 8192,
    .max_record_bytes = TRAIL_RECORD_BYTES_MAX,
};

static const char *const type_names[] = {
    [TRAIL_TYPE_STRING] = "string", [TRAIL_TYPE_INT] = "int",   [TRAIL_TYPE_BOOL] = "bool",
    [TRAIL_TYPE_IP] = "ip",         [TRAIL_TYPE_TIME] = "time", [TRAIL_TYPE_ENUM] = "enum",
};

const char *trail_type_name(int type)
{
    if (type < TRAIL_TYPE_STRING || type > TRAIL_TYPE_ENUM)
        return NULL;
    return type_names[type];
}

int trail_type_parse(const char *name, int *ret_type)
{
    for (int t = TRAIL_TYPE_STRING; t <= TRAIL_TYPE_ENUM; t++) {
        if (strcmp(type_names[t], name) == 0) {
            *ret_type = t;
            return 0;
        }
    }
    return TRAIL_E_BAD_TYPE;
}

/*
 * A 64-bit hash of an id, eight bytes at a time (each word mixed by a
 * multiply and a shift, as in splitmix64's finaliser): ids run to tens of
 * bytes and are hashed once per decoded event.
 */
static uint64_t hash_id(const char *s, size_t len)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ len;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 29;
        s += 8;
        len -= 8;
    }
    uint64_t w = 0;
    for (size_t i = 0; i < len; i++)
        w |= (uint64_t)(unsigned char)s[i] << (8 * i);
    h = (h ^ w) * 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

static int cmp_def(const void *a, const void *b)
{
    const struct trail_event_def *x = *(const struct trail_event_def *const *)a;
    const struct trail_event_def *y = *(const struct trail_event_def *const *)b;
    return strcmp(x->id, y->id);
}

/* Rebuild the sorted list and the hash table from the built-ins and customs. */
static int rebuild(struct trail_catalog *cat, size_t n_custom)
{
    size_t n = builtin_n_events + n_custom;
    size_t n_slots = 16;
    while (n_slots < 2 * n)
        n_slots *= 2;
    const struct trail_event_def **sorted = calloc(n ? n : 1, sizeof(*sorted));
    struct trail_catalog_slot *slots = calloc(n_slots, sizeof(*slots));
    if (!sorted || !slots) {
        free(sorted);
        free(slots);
        return -ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < builtin_n_events; i++)
        sorted[k++] = &builtin_events[i];
    for (struct trail_catalog_custom *c = cat->customs; c; c = c->next)
        sorted[k++] = &c->def;
    qsort(sorted, n, sizeof(*sorted), cmp_def);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(sorted[i]->id);
        uint64_t h = hash_id(sorted[i]->id, len);
        size_t j = h & (n_slots - 1);
        while (slots[j].def)
            j = (j + 1) & (n_slots - 1);
        slots[j] = (struct trail_catalog_slot){
            .def = sorted[i], .hash = (uint32_t)(h >> 32), .id_len = (uint32_t)len};
    }
    free(cat->sorted);
    free(cat->slots);
    cat->sorted = sorted;
    cat->slots = slots;
    cat->n_events = n;
    cat->n_slots = n_slots;
    return 0;
}

static int add_def(struct trail_catalog *cat, const char *id, const char *severity,
                   const char *description, const char *schema, int kind);

int trail_catalog_new(struct trail_catalog **ret_cat)
{
    struct trail_catalog *cat = calloc(1, sizeof(*cat));
    if (!cat)
        return -ENOMEM;
    cat->policy = TRAIL_POLICY_STRICT;
    cat->skew_future_us = TRAIL_DEFAULT_SKEW_FUTURE_US;
    cat->skew_past_us = TRAIL_DEFAULT_SKEW_PAST_US;
    cat->limits = default_limits;
    int r = rebuild(cat, 0);
    for (size_t i = 0; i < n_own_events && r == 0; i++) {
        const struct own_event *o = &own_events[i];
        r = add_def(cat, o->id, o->severity, o->description, o->schema, TRAIL_DEF_OWN);
    }
    if (r < 0) {
        trail_catalog_free(cat);
        return r;
    }
    *ret_cat = cat;
    return 0;
}

static void free_custom(struct trail_catalog_custom *c)
{
    for (uint16_t i = 0; i < c->def.n_attrs; i++) {
        struct trail_attr_def *a = (struct trail_attr_def *)c->def.attrs[i];
        for (uint16_t e = 0; e < a->n_enum; e++)
            free((char *)a->enum_values[e]);
        free((void *)a->enum_values);
        free((char *)a->key);
        free(a);
    }
    free((void *)c->def.attrs);
    free((char *)c->def.id);
    free((char *)c->def.description);
    free(c);
}

void trail_catalog_free(struct trail_catalog *cat)
{
    if (!cat)
        return;
    struct trail_catalog_custom *c = cat->customs;
    while (c) {
        struct trail_catalog_custom *next = c->next;
        free_custom(c);
        c = next;
    }
    free(cat->sorted);
    free(cat->slots);
    free(cat);
}

int trail_catalog_set_policy(struct trail_catalog *cat, int policy)
{
    if (policy != TRAIL_POLICY_STRICT && policy != TRAIL_POLICY_LENIENT &&
        policy != TRAIL_POLICY_OFF)
        return -EINVAL;
    cat->policy = policy;
    return 0;
}

int trail_catalog_policy(const struct trail_catalog *cat)
{
    return cat->policy;
}

int trail_catalog_set_time_skew(struct trail_catalog *cat, int64_t future_us, int64_t past_us,
                                int refuse)
{
    if (future_us < 0 || past_us < 0)
        return -EINVAL;
    cat->skew_future_us = future_us;
    cat->skew_past_us = past_us;
    cat->skew_refuse = refuse != 0;
    return 0;
}

int trail_catalog_set_limits(struct trail_catalog *cat, const struct trail_limits *l)
{
    struct trail_limits n = cat->limits;
    if (l->max_attrs)
        n.max_attrs = l->max_attrs;
    if (l->max_key_len)
        n.max_key_len = l->max_key_len;
    if (l->max_value_len)
        n.max_value_len = l->max_value_len;
    if (l->max_record_bytes)
        n.max_record_bytes = l->max_record_bytes;
    if (n.max_record_bytes < 256 || n.max_record_bytes > TRAIL_RECORD_BYTES_MAX ||
        n.max_key_len > 255 || n.max_attrs > 65535)
        return -EINVAL;
    cat->limits = n;
    return 0;
}

const struct trail_limits *trail_catalog_limits(const struct trail_catalog *cat)
{
    return &cat->limits;
}

const struct trail_event_def *trail_catalog_lookup(const struct trail_catalog *cat, const char *id,
                                                   size_t len)
{
    if (len == (size_t)-1)
        len = strlen(id);
    uint64_t h = hash_id(id, len);
    size_t j = h & (cat->n_slots - 1);
    for (const struct trail_catalog_slot *s = &cat->slots[j]; s->def; s = &cat->slots[j]) {
        if (s->hash == (uint32_t)(h >> 32) && s->id_len == len && memcmp(s->def->id, id, len) == 0)
            return s->def;
        j = (j + 1) & (cat->n_slots - 1);
    }
    return NULL;
}

size_t trail_catalog_count(const struct trail_catalog *cat)
{
    return cat->n_events;
}

const struct trail_event_def *trail_catalog_at(const struct trail_catalog *cat, size_t i)
{
    return i < cat->n_events ? cat->sorted[i] : NULL;
}

long attr_def_index(const struct trail_event_def *def, const char *key, size_t len)
{
    size_t lo = 0, hi = def->n_attrs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const struct trail_attr_def *a = def->attrs[mid];
        int c = keycmp_n(a->key, a->key_len, key, len);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

const struct trail_attr_def *trail_attr_def_find(const struct trail_event_def *def, const char *key,
                                                 size_t len)
{
    if (!def)
        return NULL;
    if (len == (size_t)-1)
        len = strlen(key);
    long i = attr_def_index(def, key, len);
    return i < 0 ? NULL : def->attrs[i];
}

/* ---- custom events: "key:type[:required][:indexed]" separated by ',' or ';' ---- */

static char *dup_range(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static void trim(const char **s, const char **e)
{
    while (*s < *e && isspace((unsigned char)**s))
        (*s)++;
    while (*e > *s && isspace((unsigned char)(*e)[-1]))
        (*e)--;
}

/* Parse one declaration [s, e) into a new attr def. */
static int parse_attr_decl(const char *s, const char *e, struct trail_attr_def **ret)
{
    trim(&s, &e);
    const char *colon = memchr(s, ':', (size_t)(e - s));
    if (!colon)
        return TRAIL_E_PARSE;
    const char *ks = s, *ke = colon;
    trim(&ks, &ke);
    if (!trail_key_valid(ks, (size_t)(ke - ks)) || ke - ks > 255)
        return TRAIL_E_BAD_KEY;

    struct trail_attr_def *a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    int r = -ENOMEM;
    a->key = dup_range(ks, (size_t)(ke - ks));
    if (!a->key)
        goto fail;
    a->key_len = (uint16_t)(ke - ks);

    /* the type, possibly enum(a|b|c), then flags */
    const char *p = colon + 1;
    const char *te = p;
    while (te < e && *te != ':' && *te != '(')
        te++;
    const char *ts = p, *tend = te;
    trim(&ts, &tend);
    char tname[16];
    if ((size_t)(tend - ts) >= sizeof(tname)) {
        r = TRAIL_E_PARSE;
        goto fail;
    }
    memcpy(tname, ts, (size_t)(tend - ts));
    tname[tend - ts] = '\0';
    int type;
    if (trail_type_parse(tname, &type) < 0) {
        r = TRAIL_E_PARSE;
        goto fail;
    }
    a->type = (uint8_t)type;
    p = te;
    if (p < e && *p == '(') {
        const char *close = memchr(p, ')', (size_t)(e - p));
        if (type != TRAIL_TYPE_ENUM || !close) {
            r = TRAIL_E_PARSE;
            goto fail;
        }
        size_t n = 1;
        for (const char *q = p + 1; q < close; q++)
            n += *q == '|';
        a->enum_values = calloc(n, sizeof(char *));
        if (!a->enum_values)
            goto fail;
        const char *vs = p + 1;
        while (vs <= close) {
            const char *ve = vs;
            while (ve < close && *ve != '|')
                ve++;
            const char *x = vs, *y = ve;
            trim(&x, &y);
            if (x == y) {
                r = TRAIL_E_PARSE;
                goto fail;
            }
            char *v = dup_range(x, (size_t)(y - x));
            if (!v)
                goto fail;
            ((const char **)a->enum_values)[a->n_enum++] = v;
            vs = ve + 1;
        }
        p = close + 1;
    } else if (type == TRAIL_TYPE_ENUM) {
        r = TRAIL_E_PARSE; /* an enum needs its values */
        goto fail;
    }
    while (p < e) {
        if (*p != ':') {
            r = TRAIL_E_PARSE;
            goto fail;
        }
        const char *fs = p + 1, *fe = fs;
        while (fe < e && *fe != ':')
            fe++;
        const char *x = fs, *y = fe;
        trim(&x, &y);
        if ((size_t)(y - x) == 8 && memcmp(x, "required", 8) == 0)
            a->flags |= TRAIL_ATTR_REQUIRED;
        else if ((size_t)(y - x) == 7 && memcmp(x, "indexed", 7) == 0)
            a->flags |= TRAIL_ATTR_INDEXED;
        else if ((size_t)(y - x) == 8 && memcmp(x, "optional", 8) == 0)
            ;
        else {
            r = TRAIL_E_PARSE;
            goto fail;
        }
        p = fe;
    }
    *ret = a;
    return 0;
fail:
    for (uint16_t i = 0; i < a->n_enum; i++)
        free((char *)a->enum_values[i]);
    free((void *)a->enum_values);
    free((char *)a->key);
    free(a);
    return r;
}

static int cmp_attr(const void *x, const void *y)
{
    const struct trail_attr_def *a = *(const struct trail_attr_def *const *)x;
    const struct trail_attr_def *b = *(const struct trail_attr_def *const *)y;
    return strcmp(a->key, b->key);
}

int trail_catalog_add(struct trail_catalog *cat, const char *id, const char *severity,
                      const char *description, const char *schema)
{
    size_t id_len = id ? strlen(id) : 0;
    if (!trail_id_valid(id, id_len))
        return TRAIL_E_BAD_ID;
    if (id_reserved(id, id_len))
        return TRAIL_E_RESERVED;
    return add_def(cat, id, severity, description, schema, TRAIL_DEF_CUSTOM);
}

static int add_def(struct trail_catalog *cat, const char *id, const char *severity,
                   const char *description, const char *schema, int kind)
{
    size_t id_len = strlen(id);
    if (trail_catalog_lookup(cat, id, id_len))
        return TRAIL_E_DUPLICATE;
    int sev;
    if (trail_severity_parse(severity, &sev) < 0)
        return TRAIL_E_BAD_SEVERITY;

    struct trail_catalog_custom *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    int r = -ENOMEM;
    c->def.custom = (uint8_t)kind;
    c->def.severity = (uint8_t)sev;
    c->def.id = dup_range(id, id_len);
    c->def.description =
        dup_range(description ? description : "", description ? strlen(description) : 0);
    if (!c->def.id || !c->def.description)
        goto fail;

    if (schema && *schema) {
        size_t n = 1;
        for (const char *q = schema; *q; q++)
            n += *q == ',' || *q == ';';
        c->def.attrs = calloc(n, sizeof(struct trail_attr_def *));
        if (!c->def.attrs)
            goto fail;
        const char *s = schema;
        for (;;) {
            const char *e = s;
            int depth = 0;
            while (*e && (depth || (*e != ',' && *e != ';'))) {
                depth += *e == '(' ? 1 : *e == ')' ? -1 : 0;
                e++;
            }
            const char *x = s, *y = e;
            trim(&x, &y);
            if (x < y) {
                struct trail_attr_def *a;
                r = parse_attr_decl(x, y, &a);
                if (r < 0)
                    goto fail;
                ((const struct trail_attr_def **)c->def.attrs)[c->def.n_attrs++] = a;
            }
            if (!*e)
                break;
            s = e + 1;
        }
        qsort((void *)c->def.attrs, c->def.n_attrs, sizeof(*c->def.attrs), cmp_attr);
        for (uint16_t i = 1; i < c->def.n_attrs; i++) {
            if (strcmp(c->def.attrs[i - 1]->key, c->def.attrs[i]->key) == 0) {
                r = TRAIL_E_DUPLICATE;
                goto fail;
            }
        }
    }

    size_t n_custom = 1;
    for (struct trail_catalog_custom *k = cat->customs; k; k = k->next)
        n_custom++;
    c->next = cat->customs;
    cat->customs = c;
    r = rebuild(cat, n_custom);
    if (r < 0) {
        cat->customs = c->next;
        goto fail;
    }
    return 0;
fail:
    free_custom(c);
    return r;
}
