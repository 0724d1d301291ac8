/*
 * index.c - which detection rules an event can meet. Most rules name the
 * events they are about (`id: prism_user_locked`, `id: core_server_*`) or
 * their severity (`severity|gte: ALERT`), so the id, the origin and the
 * severity of an event settle most rules before any other field is read:
 * for each (id, origin, severity) met, the rules that the three leave open
 * or decide true are worked out once (detect_prematch, match.c) and kept in
 * an open-addressing table, and an event meets only those. A rule that the
 * three decide true matches without being read at all. The three are at the
 * head of a stored record, so traild asks this (detect_engine_skim) before it
 * decodes a record at all: most records meet no rule.
 *
 * The table holds at most MAX_IDS keys (the catalog has fewer ids than
 * that, and an id comes with one or two severities); an event of a key past
 * it gets its list made afresh each time (slower, never wrong), so that a
 * sender of made-up ids cannot grow it without bound.
 *
 * Not here: matching (match.c), windows (correlate.c).
 */
#include "detect_int.h"

#define MAX_IDS 16384

struct slot {
    uint64_t hash; /* 0: empty */
    uint32_t id_off, id_len;
    uint32_t off, n; /* the plan: x->pool[off..off+n) */
    int severity;
    bool own;
};

struct detect_index {
    const struct detect_rules *rs;
    uint32_t *det; /* the rules that can match an event: applicable detection rules */
    size_t n_det;
    struct slot *slots;
    size_t n_slots, used;
    char *ids; /* the ids of the slots, one after another */
    size_t ids_len, ids_cap;
    uint32_t *pool; /* the plans of the slots */
    size_t pool_len, pool_cap;
    uint32_t *scratch; /* the plan of an event whose pair is not kept */
};

static uint64_t hash_id(const char *id, size_t len, bool own, int severity)
{
    return detect_hash(id, len, (own ? 0x5bd1e995u : 0) ^ ((uint64_t)(unsigned)severity << 32));
}

int detect_index_new(const struct detect_rules *rs, struct detect_index **ret)
{
    struct detect_index *x = calloc(1, sizeof *x);
    if (!x)
        return -ENOMEM;
    x->rs = rs;
    x->n_slots = 256;
    x->slots = calloc(x->n_slots, sizeof *x->slots);
    x->det = calloc(rs->n_rules ? rs->n_rules : 1, sizeof *x->det);
    x->scratch = calloc(rs->n_rules ? rs->n_rules : 1, sizeof *x->scratch);
    if (!x->slots || !x->det || !x->scratch) {
        detect_index_free(x);
        return -ENOMEM;
    }
    for (size_t i = 0; i < rs->n_rules; i++) {
        const struct detect_rule *r = rs->rules[i];
        if (!r->corr && r->cond && r->applicable)
            x->det[x->n_det++] = (uint32_t)i;
    }
    *ret = x;
    return 0;
}

void detect_index_free(struct detect_index *x)
{
    if (!x)
        return;
    free(x->slots);
    free(x->det);
    free(x->ids);
    free(x->pool);
    free(x->scratch);
    free(x);
}

/* the plan of (id, own, severity) into out: rule index << 1, | 1 when the rule matches
   for sure */
static size_t make_plan(const struct detect_index *x, const char *id, size_t len, bool own,
                        int severity, uint32_t *out)
{
    size_t n = 0;
    for (size_t k = 0; k < x->n_det; k++) {
        int t = detect_prematch(x->rs->rules[x->det[k]], id, len, own, severity);
        if (t != DETECT_NO)
            out[n++] = x->det[k] << 1 | (t == DETECT_YES);
    }
    return n;
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 1024;
    while (c < need)
        c *= 2;
    void *v = realloc(*p, c * size);
    if (!v)
        return -ENOMEM;
    *p = v;
    *cap = c;
    return 0;
}

static void place(struct slot *slots, size_t n_slots, const struct slot *s)
{
    size_t i = s->hash & (n_slots - 1);
    while (slots[i].hash)
        i = (i + 1) & (n_slots - 1);
    slots[i] = *s;
}

/* Keep the plan of (id, own, severity) in a new slot; -ENOMEM leaves the table as it was. */
static int keep(struct detect_index *x, const char *id, size_t len, bool own, int severity,
                uint64_t h, const uint32_t *plan, size_t n)
{
    if ((x->used + 1) * 2 > x->n_slots) {
        size_t ns = x->n_slots * 2;
        struct slot *v = calloc(ns, sizeof *v);
        if (!v)
            return -ENOMEM;
        for (size_t i = 0; i < x->n_slots; i++)
            if (x->slots[i].hash)
                place(v, ns, &x->slots[i]);
        free(x->slots);
        x->slots = v;
        x->n_slots = ns;
    }
    if (grow((void **)&x->ids, &x->ids_cap, x->ids_len + len, 1) < 0 ||
        grow((void **)&x->pool, &x->pool_cap, x->pool_len + n, sizeof *x->pool) < 0)
        return -ENOMEM;
    struct slot s = {.hash = h,
                     .id_off = (uint32_t)x->ids_len,
                     .id_len = (uint32_t)len,
                     .off = (uint32_t)x->pool_len,
                     .n = (uint32_t)n,
                     .severity = severity,
                     .own = own};
    memcpy(x->ids + x->ids_len, id, len);
    x->ids_len += len;
    if (n)
        memcpy(x->pool + x->pool_len, plan, n * sizeof *plan);
    x->pool_len += n;
    place(x->slots, x->n_slots, &s);
    x->used++;
    return 0;
}

size_t detect_index_plan(struct detect_index *x, const char *id, size_t len, bool own, int severity,
                         const uint32_t **ret_plan)
{
    uint64_t h = hash_id(id, len, own, severity);
    for (size_t i = h & (x->n_slots - 1); x->slots[i].hash; i = (i + 1) & (x->n_slots - 1)) {
        const struct slot *s = &x->slots[i];
        if (s->hash == h && s->id_len == len && s->own == own && s->severity == severity &&
            memcmp(x->ids + s->id_off, id, len) == 0) {
            *ret_plan = x->pool + s->off;
            return s->n;
        }
    }
    size_t n = make_plan(x, id, len, own, severity, x->scratch);
    *ret_plan = x->scratch;
    /* an id too long for the table's offsets is not kept, nor one past the bound, nor
       one without memory for it: its plan is made again next time */
    if (x->used < MAX_IDS && len < 65536 && x->ids_len < (1u << 30) &&
        keep(x, id, len, own, severity, h, x->scratch, n) == 0)
        *ret_plan = x->pool + x->pool_len - n;
    return n;
}

size_t detect_index_get(struct detect_index *x, const struct trail_event *ev,
                        const uint32_t **ret_plan)
{
    const char *id = trail_event_id(ev);
    return detect_index_plan(x, id, strlen(id), trail_event_is_own(ev) != 0,
                             trail_event_severity(ev), ret_plan);
}
