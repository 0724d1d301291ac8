/*
 * index_build.c - the index builder: it reads records one by one (in seq
 * order) and keeps, for one segment, what searches need to skip work:
 *
 *   units     runs of records (a sealed segment's blocks, or QLIVE_UNIT
 *             records of a live one) with their seq and time ranges, a
 *             mask of their severities, a bitset of their event ids and
 *             their parts (up to QPARTS runs of records: a block's
 *             sub-frames, as the caller marks them with qbuilder_part)
 *   events    the segment's event ids (a unit's bitset indexes them)
 *   rollup    (hour, event, severity) -> number of records
 *   terms     word terms (every word of every attribute value but times)
 *             -> the units holding it, each with a mask of the parts that
 *             do; value terms (key=value of the keys the catalog marks
 *             indexed) -> the seqs holding it
 *
 * The builder is the in-memory index of a live segment, read in place by
 * searches (qbuilder_lookup, ...), and the source of a sealed segment's
 * .idx file (qbuilder_serialize; the format is in index_file.c and
 * docs/format.md).
 *
 * Not for: deciding what to index when (index.c, index_file.c), reading
 * .idx files (index_file.c).
 *
 * Cost: a record is parsed once; a value already seen in the same unit is
 * not split into words again (user agents, entry point ids and user names
 * repeat): in another part of it, its words' terms (kept with the value)
 * get that part's bit. So most of the work is one CRC-32C per value and one
 * hash probe per new word.
 */
#include "query/query.h"

#include <errno.h>
#include <stdlib.h>

struct term {
    uint64_t key; /* kind << 32 | hash; 0: empty slot */
    struct qpost p;
};

struct bunit {
    struct qunit u;
    uint64_t *ev; /* bitset of local event ids */
    uint32_t n_ev_words;
    uint32_t n_parts;
    uint32_t part_first[QPARTS]; /* each part's first record, from the unit's first */
};

struct roll_slot {
    int64_t hour;
    uint32_t event;
    uint8_t severity;
    uint8_t used;
    uint64_t count;
};

/* A value seen in the current unit: its words are already in (for part `part`). */
struct vseen {
    uint32_t h;
    uint32_t gen;
    uint32_t off, len;   /* in vbytes */
    uint32_t part;       /* the last part its words' masks have */
    uint32_t w_off, w_n; /* its words' term keys in wkeys (w_n NO_KEYS: not kept) */
};

#define NO_KEYS  UINT32_MAX
#define KEYS_MAX (1u << 18) /* term keys kept for the values of a unit */

struct qbuilder {
    uint64_t first_seq, next_seq;
    struct bunit *units;
    uint32_t n_units, cap_units;

    char **ev_ids;
    uint8_t *ev_lens;
    uint32_t n_ev, cap_ev;
    uint32_t *ev_slots; /* open addressing: local id + 1, 0 empty */
    uint32_t ev_slots_cap;

    struct roll_slot *roll;
    size_t roll_cap, roll_n;

    struct term *terms;
    size_t term_cap, term_n;

    struct vseen *seen;
    size_t seen_cap;
    uint32_t gen;
    struct trail_buf vbytes;
    uint64_t *wkeys; /* the term keys of the words of the values seen */
    uint32_t n_wkeys, cap_wkeys;

    char **keys; /* indexed keys */
    uint8_t *key_lens;
    uint32_t n_keys;
};

int qpost_push(struct qpost *p, uint32_t v)
{
    if (p->n == p->cap) {
        uint32_t cap = p->cap ? p->cap * 2 : 2;
        uint32_t *a = realloc(p->v, cap * sizeof(*a));
        if (!a)
            return -ENOMEM;
        p->v = a;
        p->cap = cap;
    }
    p->v[p->n++] = v;
    return 0;
}

int qpost_reserve(struct qpost *p, uint32_t n, int masks)
{
    if (p->cap < n) {
        uint32_t cap = p->cap ? p->cap : 2;
        while (cap < n)
            cap = cap > UINT32_MAX / 2 ? n : cap * 2;
        uint32_t *a = realloc(p->v, cap * sizeof(*a));
        if (!a)
            return -ENOMEM;
        p->v = a;
        p->cap = cap;
    }
    if (masks && p->mcap < p->cap) {
        uint32_t *m = realloc(p->m, p->cap * sizeof(*m));
        if (!m)
            return -ENOMEM;
        p->m = m;
        p->mcap = p->cap;
    }
    return 0;
}

void qpost_free(struct qpost *p)
{
    free(p->v);
    free(p->m);
    p->v = p->m = NULL;
    p->n = p->cap = p->mcap = 0;
}

static inline size_t slot_of(uint64_t key, size_t cap)
{
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

static int add_key(struct qbuilder *b, const char *key)
{
    size_t len = strlen(key);
    for (uint32_t i = 0; i < b->n_keys; i++)
        if (b->key_lens[i] == len && memcmp(b->keys[i], key, len) == 0)
            return 0;
    if ((b->n_keys & (b->n_keys - 1)) == 0) {
        uint32_t cap = b->n_keys ? b->n_keys * 2 : 1;
        char **k = realloc(b->keys, cap * sizeof(*k));
        if (!k)
            return -ENOMEM;
        b->keys = k;
        uint8_t *l = realloc(b->key_lens, cap);
        if (!l)
            return -ENOMEM;
        b->key_lens = l;
    }
    if (!(b->keys[b->n_keys] = strdup(key)))
        return -ENOMEM;
    b->key_lens[b->n_keys++] = (uint8_t)len;
    return 0;
}

int qbuilder_new(const struct trail_catalog *cat, uint64_t first_seq, struct qbuilder **ret)
{
    struct qbuilder *b = calloc(1, sizeof(*b));
    int r = -ENOMEM;
    if (!b)
        return -ENOMEM;
    b->first_seq = b->next_seq = first_seq;
    b->ev_slots_cap = 256;
    b->roll_cap = 1024;
    b->term_cap = 4096;
    b->seen_cap = 4096;
    b->ev_slots = calloc(b->ev_slots_cap, sizeof(*b->ev_slots));
    b->roll = calloc(b->roll_cap, sizeof(*b->roll));
    b->terms = calloc(b->term_cap, sizeof(*b->terms));
    b->seen = calloc(b->seen_cap, sizeof(*b->seen));
    if (!b->ev_slots || !b->roll || !b->terms || !b->seen)
        goto fail;
    b->gen = 1;
    size_t n = cat ? trail_catalog_count(cat) : 0;
    for (size_t i = 0; i < n; i++) {
        const struct trail_event_def *d = trail_catalog_at(cat, i);
        for (uint16_t j = 0; j < d->n_attrs; j++)
            if ((d->attrs[j]->flags & TRAIL_ATTR_INDEXED) && (r = add_key(b, d->attrs[j]->key)) < 0)
                goto fail;
    }
    *ret = b;
    return 0;
fail:
    qbuilder_free(b);
    return r;
}

void qbuilder_free(struct qbuilder *b)
{
    if (!b)
        return;
    for (uint32_t i = 0; i < b->n_units; i++)
        free(b->units[i].ev);
    free(b->units);
    for (uint32_t i = 0; i < b->n_ev; i++)
        free(b->ev_ids[i]);
    free(b->ev_ids);
    free(b->ev_lens);
    free(b->ev_slots);
    free(b->roll);
    for (size_t i = 0; i < b->term_cap; i++)
        qpost_free(&b->terms[i].p);
    free(b->terms);
    free(b->seen);
    trail_buf_free(&b->vbytes);
    free(b->wkeys);
    for (uint32_t i = 0; i < b->n_keys; i++)
        free(b->keys[i]);
    free(b->keys);
    free(b->key_lens);
    free(b);
}

uint64_t qbuilder_records(const struct qbuilder *b)
{
    return b->next_seq - b->first_seq;
}

int qbuilder_unit(struct qbuilder *b)
{
    if (b->n_units && b->units[b->n_units - 1].u.count == 0)
        return 0; /* the current unit is still empty */
    if (b->n_units == b->cap_units) {
        uint32_t cap = b->cap_units ? b->cap_units * 2 : 16;
        struct bunit *u = realloc(b->units, cap * sizeof(*u));
        if (!u)
            return -ENOMEM;
        b->units = u;
        b->cap_units = cap;
    }
    struct bunit *u = &b->units[b->n_units++];
    memset(u, 0, sizeof(*u));
    u->u.first_seq = b->next_seq;
    u->u.min_time = INT64_MAX;
    u->u.max_time = INT64_MIN;
    u->n_parts = 1;
    b->gen++; /* forget the values seen in the last unit */
    b->vbytes.len = 0;
    b->n_wkeys = 0;
    return 0;
}

void qbuilder_part(struct qbuilder *b)
{
    if (!b->n_units)
        return;
    struct bunit *u = &b->units[b->n_units - 1];
    if (u->u.count == 0 || u->n_parts == QPARTS || u->part_first[u->n_parts - 1] == u->u.count)
        return;
    u->part_first[u->n_parts++] = u->u.count;
}

/* ---- events ---- */

static int event_local(struct qbuilder *b, const uint8_t *id, size_t len, uint32_t *ret)
{
    uint32_t h = crc32c(0, id, len);
    size_t mask = b->ev_slots_cap - 1, i = h & mask;
    for (; b->ev_slots[i]; i = (i + 1) & mask) {
        uint32_t l = b->ev_slots[i] - 1;
        if (b->ev_lens[l] == len && memcmp(b->ev_ids[l], id, len) == 0) {
            *ret = l;
            return 0;
        }
    }
    if (b->n_ev >= 65535)
        return TRAIL_E_TOO_LARGE;
    if (b->n_ev == b->cap_ev) {
        uint32_t cap = b->cap_ev ? b->cap_ev * 2 : 64;
        char **ids = realloc(b->ev_ids, cap * sizeof(*ids));
        if (!ids)
            return -ENOMEM;
        b->ev_ids = ids;
        uint8_t *lens = realloc(b->ev_lens, cap);
        if (!lens)
            return -ENOMEM;
        b->ev_lens = lens;
        b->cap_ev = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, id, len);
    copy[len] = '\0';
    uint32_t l = b->n_ev++;
    b->ev_ids[l] = copy;
    b->ev_lens[l] = (uint8_t)len;
    b->ev_slots[i] = l + 1;
    if (b->n_ev * 2 > b->ev_slots_cap) {
        uint32_t cap = b->ev_slots_cap * 2;
        uint32_t *slots = calloc(cap, sizeof(*slots));
        if (!slots)
            return -ENOMEM;
        for (uint32_t k = 0; k < b->n_ev; k++) {
            uint32_t kh = crc32c(0, b->ev_ids[k], b->ev_lens[k]);
            size_t j = kh & (cap - 1);
            while (slots[j])
                j = (j + 1) & (cap - 1);
            slots[j] = k + 1;
        }
        free(b->ev_slots);
        b->ev_slots = slots;
        b->ev_slots_cap = cap;
    }
    *ret = l;
    return 0;
}

static int unit_set_event(struct bunit *u, uint32_t local)
{
    uint32_t w = local / 64;
    if (w >= u->n_ev_words) {
        uint32_t n = w + 1;
        uint64_t *ev = realloc(u->ev, n * sizeof(*ev));
        if (!ev)
            return -ENOMEM;
        memset(ev + u->n_ev_words, 0, (n - u->n_ev_words) * sizeof(*ev));
        u->ev = ev;
        u->n_ev_words = n;
    }
    u->ev[w] |= (uint64_t)1 << (local % 64);
    return 0;
}

/* ---- rollup ---- */

static int64_t hour_of(int64_t t)
{
    int64_t h = t / 3600000000LL;
    return t < 0 && t % 3600000000LL ? h - 1 : h;
}

static int rollup_add(struct qbuilder *b, int64_t hour, uint32_t event, int sev)
{
    uint64_t key = (uint64_t)hour * 1000003u ^ ((uint64_t)event << 8 | (uint64_t)sev);
    size_t mask = b->roll_cap - 1, i = slot_of(key, b->roll_cap);
    for (; b->roll[i].used; i = (i + 1) & mask) {
        struct roll_slot *s = &b->roll[i];
        if (s->hour == hour && s->event == event && s->severity == sev) {
            s->count++;
            return 0;
        }
    }
    b->roll[i] = (struct roll_slot){
        .hour = hour, .event = event, .severity = (uint8_t)sev, .used = 1, .count = 1};
    if (++b->roll_n * 2 > b->roll_cap) {
        size_t cap = b->roll_cap * 2;
        struct roll_slot *t = calloc(cap, sizeof(*t));
        if (!t)
            return -ENOMEM;
        for (size_t k = 0; k < b->roll_cap; k++) {
            struct roll_slot *s = &b->roll[k];
            if (!s->used)
                continue;
            uint64_t kk = (uint64_t)s->hour * 1000003u ^ ((uint64_t)s->event << 8 | s->severity);
            size_t j = slot_of(kk, cap);
            while (t[j].used)
                j = (j + 1) & (cap - 1);
            t[j] = *s;
        }
        free(b->roll);
        b->roll = t;
        b->roll_cap = cap;
    }
    return 0;
}

/* ---- terms ---- */

static int terms_grow(struct qbuilder *b)
{
    size_t cap = b->term_cap * 2;
    struct term *t = calloc(cap, sizeof(*t));
    if (!t)
        return -ENOMEM;
    for (size_t k = 0; k < b->term_cap; k++) {
        if (!b->terms[k].key)
            continue;
        size_t j = slot_of(b->terms[k].key, cap);
        while (t[j].key)
            j = (j + 1) & (cap - 1);
        t[j] = b->terms[k];
    }
    free(b->terms);
    b->terms = t;
    b->term_cap = cap;
    return 0;
}

static struct term *term_get(struct qbuilder *b, uint64_t key)
{
    size_t mask = b->term_cap - 1, i = slot_of(key, b->term_cap);
    for (; b->terms[i].key; i = (i + 1) & mask)
        if (b->terms[i].key == key)
            return &b->terms[i];
    if ((b->term_n + 1) * 2 > b->term_cap) {
        if (terms_grow(b) < 0)
            return NULL;
        return term_get(b, key);
    }
    b->terms[i].key = key;
    b->term_n++;
    return &b->terms[i];
}

static struct term *term_find(const struct qbuilder *b, uint64_t key)
{
    size_t mask = b->term_cap - 1, i = slot_of(key, b->term_cap);
    for (; b->terms[i].key; i = (i + 1) & mask)
        if (b->terms[i].key == key)
            return &b->terms[i];
    return NULL;
}

struct word_ctx {
    struct qbuilder *b;
    uint32_t unit;
    uint32_t part_bit;
    struct vseen *keep; /* the value whose words' keys are kept as they come */
    int err;
};

/* Keep a word's term key with the value being split. */
static void keep_key(struct word_ctx *c, uint64_t key)
{
    struct qbuilder *b = c->b;
    struct vseen *s = c->keep;
    if (b->n_wkeys == b->cap_wkeys) {
        uint32_t cap = b->cap_wkeys ? b->cap_wkeys * 2 : 1024;
        uint64_t *k = cap <= KEYS_MAX ? realloc(b->wkeys, cap * sizeof(*k)) : NULL;
        if (!k) {
            s->w_n = NO_KEYS; /* its words are split again in another part */
            c->keep = NULL;
            return;
        }
        b->wkeys = k;
        b->cap_wkeys = cap;
    }
    b->wkeys[b->n_wkeys++] = key;
    s->w_n++;
}

static void add_word(void *arg, const uint8_t *w, size_t n)
{
    struct word_ctx *c = arg;
    uint64_t key = (uint64_t)QTERM_WORD << 32 | qterm_word(w, n);
    struct term *t = term_get(c->b, key);
    if (!t) {
        c->err = -ENOMEM;
        return;
    }
    if (c->keep)
        keep_key(c, key);
    if (t->p.n && t->p.v[t->p.n - 1] == c->unit) {
        t->p.m[t->p.n - 1] |= c->part_bit;
        return;
    }
    if (qpost_reserve(&t->p, t->p.n + 1, 1) < 0) {
        c->err = -ENOMEM;
        return;
    }
    t->p.v[t->p.n] = c->unit;
    t->p.m[t->p.n++] = c->part_bit;
}

/*
 * Are this value's words in the current part already? 1: yes, or now (a
 * value seen in an earlier part of the unit: its words' terms get this
 * part's bit). 0: the caller splits it into words, which keeps their keys
 * with c->keep when that is set (the value remembered now).
 */
static int value_seen(struct word_ctx *c, int type, const char *text, size_t n)
{
    struct qbuilder *b = c->b;
    uint32_t part = (uint32_t)__builtin_ctz(c->part_bit);
    uint32_t h = crc32c((uint32_t)type, text, n);
    size_t mask = b->seen_cap - 1, i = h & mask;
    c->keep = NULL;
    for (size_t probes = 0; probes < 16; probes++, i = (i + 1) & mask) {
        struct vseen *s = &b->seen[i];
        if (s->gen != b->gen) {
            /* free slot: remember the value (an exact copy decides later hits) */
            if (b->vbytes.len + n > (1u << 20) || trail_buf_append(&b->vbytes, text, n) < 0)
                return 0;
            *s = (struct vseen){.h = h,
                                .gen = b->gen,
                                .off = (uint32_t)(b->vbytes.len - n),
                                .len = (uint32_t)n,
                                .part = part,
                                .w_off = b->n_wkeys};
            c->keep = s;
            return 0;
        }
        if (s->h != h || s->len != n || memcmp(b->vbytes.data + s->off, text, n) != 0)
            continue;
        if (s->part == part)
            return 1;
        s->part = part;
        if (s->w_n == NO_KEYS)
            return 0;
        for (uint32_t k = 0; k < s->w_n; k++) {
            /* each word's last posting is this unit: it was added in it */
            struct term *t = term_find(b, b->wkeys[s->w_off + k]);
            if (t)
                t->p.m[t->p.n - 1] |= c->part_bit;
        }
        return 1;
    }
    return 0;
}

int qbuilder_key_indexed(const struct qbuilder *b, const char *key, size_t klen)
{
    for (uint32_t i = 0; i < b->n_keys; i++)
        if (b->key_lens[i] == klen && memcmp(b->keys[i], key, klen) == 0)
            return 1;
    return 0;
}

int qbuilder_add(struct qbuilder *b, const uint8_t *rec, size_t len)
{
    struct rec_view v;
    int r = rec_view_parse(rec, len, &v);
    if (r < 0)
        return r;
    if (v.seq != b->next_seq || v.severity > 15)
        return TRAIL_E_CORRUPT;
    if (b->n_units == 0 && (r = qbuilder_unit(b)) < 0)
        return r;
    uint32_t ui = b->n_units - 1;
    struct bunit *u = &b->units[ui];
    uint32_t local;
    if ((r = event_local(b, v.id, v.id_len, &local)) < 0 || (r = unit_set_event(u, local)) < 0 ||
        (r = rollup_add(b, hour_of(v.time_us), local, v.severity)) < 0)
        return r;
    u->u.count++;
    u->u.sev_mask |= (uint16_t)(1u << v.severity);
    if (v.time_us < u->u.min_time)
        u->u.min_time = v.time_us;
    if (v.time_us > u->u.max_time)
        u->u.max_time = v.time_us;

    uint32_t off = (uint32_t)(v.seq - b->first_seq);
    struct word_ctx wc = {.b = b, .unit = ui, .part_bit = 1u << (u->n_parts - 1)};
    const uint8_t *p = v.attrs;
    struct rec_attr a;
    while ((r = rec_attr_next(&p, v.end, &a)) == 1) {
        char buf[64];
        const char *text;
        size_t n = rec_attr_text(&a, buf, &text);
        if (qbuilder_key_indexed(b, a.key, a.klen)) {
            struct term *t =
                term_get(b, (uint64_t)QTERM_VALUE << 32 | qterm_value(a.key, a.klen, text, n));
            if (!t || qpost_push(&t->p, off) < 0)
                return -ENOMEM;
        }
        if (a.type == TRAIL_TYPE_TIME || value_seen(&wc, a.type, text, n))
            continue;
        qwords(text, n, 0, add_word, &wc);
        if (wc.err)
            return wc.err;
    }
    if (r < 0)
        return r;
    b->next_seq++;
    return 0;
}

/* ---- reading the builder in place (live segments) ---- */

uint32_t qbuilder_n_units(const struct qbuilder *b)
{
    return b->n_units;
}

void qbuilder_unit_at(const struct qbuilder *b, uint32_t i, struct qunit *ret)
{
    *ret = b->units[i].u;
}

uint32_t qbuilder_unit_parts(const struct qbuilder *b, uint32_t i, uint32_t starts[QPARTS + 1])
{
    const struct bunit *u = &b->units[i];
    memcpy(starts, u->part_first, u->n_parts * sizeof(*starts));
    starts[u->n_parts] = u->u.count;
    return u->n_parts;
}

uint32_t qbuilder_n_events(const struct qbuilder *b)
{
    return b->n_ev;
}

const char *qbuilder_event(const struct qbuilder *b, uint32_t local, size_t *ret_len)
{
    *ret_len = b->ev_lens[local];
    return b->ev_ids[local];
}

int qbuilder_unit_has_event(const struct qbuilder *b, uint32_t unit, uint32_t local)
{
    const struct bunit *u = &b->units[unit];
    uint32_t w = local / 64;
    return w < u->n_ev_words && (u->ev[w] >> (local % 64) & 1);
}

int qbuilder_lookup(const struct qbuilder *b, int kind, uint32_t hash, struct qpost *out)
{
    out->n = 0;
    const struct term *t = term_find(b, (uint64_t)kind << 32 | hash);
    if (!t)
        return 0;
    if (qpost_reserve(out, t->p.n, kind == QTERM_WORD) < 0)
        return -ENOMEM;
    memcpy(out->v, t->p.v, t->p.n * sizeof(*out->v));
    if (kind == QTERM_WORD)
        memcpy(out->m, t->p.m, t->p.n * sizeof(*out->m));
    out->n = t->p.n;
    return 1;
}

int qbuilder_rollup(const struct qbuilder *b, int (*fn)(void *arg, const struct qrollup *r),
                    void *arg)
{
    for (size_t i = 0; i < b->roll_cap; i++) {
        const struct roll_slot *s = &b->roll[i];
        if (!s->used)
            continue;
        struct qrollup r = {
            .hour = s->hour, .event = s->event, .severity = s->severity, .count = s->count};
        int rc = fn(arg, &r);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- serializing (the .idx file, see index_file.c for the layout) ---- */

static int put_varint(struct trail_buf *o, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    return trail_buf_append(o, tmp, n);
}

static int put32(struct trail_buf *o, uint32_t v)
{
    uint8_t b[4];
    put_u32(b, v);
    return trail_buf_append(o, b, 4);
}

static int put64(struct trail_buf *o, uint64_t v)
{
    uint8_t b[8];
    put_u64(b, v);
    return trail_buf_append(o, b, 8);
}

struct sterm {
    uint32_t key; /* the hash's top QIDX_KEY_BITS bits */
    uint8_t kind;
    uint8_t keep; /* a value term worth its bytes (value_worth_keeping) */
    const struct qpost *p;
};

static int cmp_sterm(const void *a, const void *b)
{
    const struct sterm *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (int)x->kind - (int)y->kind;
}

struct sroll {
    int64_t hour;
    uint32_t event;
    uint8_t sev;
    uint64_t count;
};

static int cmp_sroll(const void *a, const void *b)
{
    const struct sroll *x = a, *y = b;
    if (x->hour != y->hour)
        return x->hour < y->hour ? -1 : 1;
    if (x->event != y->event)
        return x->event < y->event ? -1 : 1;
    return (int)x->sev - (int)y->sev;
}

static int posting_bytes(struct trail_buf *o, const struct qpost *p)
{
    uint32_t prev = 0;
    for (uint32_t i = 0; i < p->n; i++) {
        int r = put_varint(o, i ? p->v[i] - prev : p->v[i]);
        if (r < 0)
            return r;
        prev = p->v[i];
    }
    return 0;
}

/*
 * Elias-Fano: with l = floor(log2(U / n)) (U = the last posting + 1), one
 * byte l, the low l bits of each posting packed LSB first, then a bitmap
 * with bit (v >> l) + i set for the i-th posting v.
 */
static int posting_ef(struct trail_buf *o, const struct qpost *p)
{
    uint64_t n = p->n, u = (uint64_t)p->v[n - 1] + 1;
    uint8_t l = 0;
    while (l < 31 && (u >> (l + 1)) >= n)
        l++;
    size_t low_bytes = (size_t)((n * l + 7) / 8);
    size_t high_bits = (size_t)((p->v[n - 1] >> l) + n);
    size_t total = 1 + low_bytes + (high_bits + 7) / 8;
    size_t start = o->len;
    if (trail_buf_reserve(o, total) < 0)
        return -ENOMEM;
    uint8_t *b = (uint8_t *)o->data + start;
    memset(b, 0, total);
    b[0] = l;
    uint8_t *low = b + 1, *high = b + 1 + low_bytes;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v = p->v[i], bit = i * l;
        for (uint8_t k = 0; k < l; k++, bit++)
            if (v >> k & 1)
                low[bit / 8] |= (uint8_t)(1u << (bit % 8));
        uint64_t hb = (v >> l) + i;
        high[hb / 8] |= (uint8_t)(1u << (hb % 8));
    }
    o->len = start + total;
    o->data[o->len] = '\0';
    return 0;
}

/*
 * Exact seqs are worth their bytes for a value found in many units, but not
 * in most records: a value found in a few units (a trace id) is found as
 * fast through its words, one in every hundred records by reading the
 * newest units.
 */
static int value_worth_keeping(const struct qbuilder *b, const struct qpost *p, uint32_t n_units)
{
    /* a value in more than 1/QVALUE_MAX_SHARE of the records is found as fast by reading
       its newest units */
    if (p->n < QVALUE_MIN_SEQS || (uint64_t)p->n * QVALUE_MAX_SHARE > b->next_seq - b->first_seq)
        return 0;
    uint32_t units = 0, u = 0;
    for (uint32_t i = 0; i < p->n && units < QVALUE_MIN_UNITS; i++) {
        uint64_t seq = b->first_seq + p->v[i];
        if (units && seq < b->units[u].u.first_seq + b->units[u].u.count)
            continue;
        while (u + 1 < n_units && b->units[u + 1].u.first_seq <= seq)
            u++;
        units++;
    }
    return units >= QVALUE_MIN_UNITS;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_pair(const void *a, const void *b)
{
    const uint32_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

/*
 * Terms st[0..n) share a key and kind: one posting list holding all of
 * theirs (units with their masks OR'd, or seqs), in out.
 */
static int merge_terms(const struct sterm *st, size_t n, struct qpost *out)
{
    int word = st[0].kind == QTERM_WORD;
    uint32_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += st[i].p->n;
    uint32_t *pairs = malloc((size_t)total * 2 * sizeof(*pairs));
    if (!pairs || qpost_reserve(out, total, word) < 0) {
        free(pairs);
        return -ENOMEM;
    }
    uint32_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < st[i].p->n; j++, k++) {
            pairs[2 * k] = st[i].p->v[j];
            pairs[2 * k + 1] = word ? st[i].p->m[j] : 0;
        }
    qsort(pairs, total, 2 * sizeof(*pairs), cmp_pair);
    out->n = 0;
    for (k = 0; k < total; k++) {
        if (out->n && out->v[out->n - 1] == pairs[2 * k]) {
            if (word)
                out->m[out->n - 1] |= pairs[2 * k + 1];
            continue;
        }
        out->v[out->n] = pairs[2 * k];
        if (word)
            out->m[out->n] = pairs[2 * k + 1];
        out->n++;
    }
    free(pairs);
    return 0;
}

/*
 * One term's entry (format version 2, index_file.c): its tag and postings.
 * A word in at most QPART_LIST_MAX parts, or in at most QPART_LIST_MEAN
 * parts a unit on average, names its parts (unit * QPARTS + part), any
 * other its units (a search then reads every part of them); parts holds
 * the part numbers meanwhile, one and ef are scratch.
 */
static int put_term(struct trail_buf *o, uint8_t kind, const struct qpost *p, uint32_t n_units,
                    struct qpost *parts, struct trail_buf *one, struct trail_buf *ef)
{
    const struct qpost *list = p;
    uint64_t code = kind == QTERM_VALUE ? 1 : 0;
    if (kind == QTERM_WORD) {
        uint64_t pc = 0;
        for (uint32_t i = 0; i < p->n; i++)
            pc += (uint64_t)__builtin_popcount(p->m[i]);
        if ((pc <= QPART_LIST_MAX || pc <= (uint64_t)QPART_LIST_MEAN * p->n) &&
            n_units <= UINT32_MAX / QPARTS) {
            if (qpost_reserve(parts, (uint32_t)pc, 0) < 0)
                return -ENOMEM;
            parts->n = 0;
            for (uint32_t i = 0; i < p->n; i++)
                for (uint32_t k = 0; k < QPARTS; k++)
                    if (p->m[i] >> k & 1)
                        parts->v[parts->n++] = p->v[i] * QPARTS + k;
            list = parts;
            code = 2;
        }
        /* one posting, or two parts: the tag holds the first (and a varint the gap) */
        if (list->n == 1)
            return put_varint(o, (uint64_t)list->v[0] << 3 | (code == 2) << 1 | 1);
        if (code == 2 && list->n == 2 && list->v[1] == list->v[0] + 1)
            return put_varint(o, (uint64_t)list->v[0] << 3 | 2 << 1 | 1);
        if (code == 2 && list->n == 2)
            return put_varint(o, (uint64_t)list->v[0] << 3 | 3 << 1 | 1) < 0 ||
                           put_varint(o, list->v[1] - list->v[0] - 2) < 0
                       ? -ENOMEM
                       : 0;
    }
    /* the smaller of delta varints and Elias-Fano */
    trail_buf_reset(one);
    trail_buf_reset(ef);
    int r1 = posting_bytes(one, list), r2 = posting_ef(ef, list);
    int use_ef = r2 == 0 && ef->len < one->len;
    const struct trail_buf *pick = use_ef ? ef : one;
    uint64_t tag = (uint64_t)list->n << 4 | (uint64_t)use_ef << 3 | code << 1;
    if (r1 < 0 || put_varint(o, tag) < 0 || put_varint(o, pick->len) < 0 ||
        trail_buf_append(o, pick->data, pick->len) < 0)
        return -ENOMEM;
    return 0;
}

int qbuilder_serialize(struct qbuilder *b, const uint8_t store_id[16], struct trail_buf *out)
{
    struct sterm *st = NULL;
    struct sroll *sr = NULL;
    struct trail_buf post = {0}, one = {0}, ef = {0};
    struct qpost parts = {0};
    uint32_t *bucket_off = NULL, *kept_keys = NULL;
    size_t start = out->len, n_st = 0, n_sr = 0, n_out = 0, n_kept = 0;
    int r = -ENOMEM;
    uint32_t n_units = b->n_units;
    if (n_units && b->units[n_units - 1].u.count == 0)
        n_units--;

    /* header */
    uint8_t h[64] = {0};
    memcpy(h, "TRAILIDX", 8);
    put_u16(h + 8, 2);
    put_u32(h + 12, 64);
    memcpy(h + 16, store_id, 16);
    put_u64(h + 32, b->first_seq);
    put_u64(h + 40, b->next_seq - 1);
    put_u32(h + 48, n_units);
    put_u32(h + 52, b->n_ev);
    put_u32(h + 56, b->n_keys);
    if (trail_buf_append(out, h, sizeof(h)) < 0)
        goto fail;

    /* event dictionary, indexed keys */
    for (uint32_t i = 0; i < b->n_ev; i++)
        if (trail_buf_append(out, &b->ev_lens[i], 1) < 0 ||
            trail_buf_append(out, b->ev_ids[i], b->ev_lens[i]) < 0)
            goto fail;
    for (uint32_t i = 0; i < b->n_keys; i++)
        if (trail_buf_append(out, &b->key_lens[i], 1) < 0 ||
            trail_buf_append(out, b->keys[i], b->key_lens[i]) < 0)
            goto fail;

    /* units */
    size_t ev_bytes = (b->n_ev + 7) / 8;
    for (uint32_t i = 0; i < n_units; i++) {
        const struct bunit *u = &b->units[i];
        uint8_t fixed[26];
        put_u32(fixed, (uint32_t)(u->u.first_seq - b->first_seq));
        put_u32(fixed + 4, u->u.count);
        put_u64(fixed + 8, (uint64_t)u->u.min_time);
        put_u64(fixed + 16, (uint64_t)u->u.max_time);
        put_u16(fixed + 24, u->u.sev_mask);
        if (trail_buf_append(out, fixed, sizeof(fixed)) < 0)
            goto fail;
        for (size_t k = 0; k < ev_bytes; k++) {
            uint32_t w = (uint32_t)(k / 8);
            uint8_t byte = w < u->n_ev_words ? (uint8_t)(u->ev[w] >> (8 * (k % 8))) : 0;
            if (trail_buf_append(out, &byte, 1) < 0)
                goto fail;
        }
    }

    /* parts: per unit, varint P and the records of each part but the last */
    for (uint32_t i = 0; i < n_units; i++) {
        const struct bunit *u = &b->units[i];
        if (put_varint(out, u->n_parts) < 0)
            goto fail;
        for (uint32_t k = 0; k + 1 < u->n_parts; k++)
            if (put_varint(out, u->part_first[k + 1] - u->part_first[k]) < 0)
                goto fail;
    }

    /* rollup, sorted, varints: hour (zigzag, then the difference), event, severity, count */
    sr = malloc((b->roll_n ? b->roll_n : 1) * sizeof(*sr));
    if (!sr)
        goto fail;
    for (size_t i = 0; i < b->roll_cap; i++)
        if (b->roll[i].used)
            sr[n_sr++] = (struct sroll){b->roll[i].hour, b->roll[i].event, b->roll[i].severity,
                                        b->roll[i].count};
    qsort(sr, n_sr, sizeof(*sr), cmp_sroll);
    struct trail_buf rb = {0};
    int rr = 0;
    for (size_t i = 0; i < n_sr && rr == 0; i++) {
        uint64_t hv = i ? (uint64_t)(sr[i].hour - sr[i - 1].hour)
                        : ((uint64_t)sr[i].hour << 1) ^ (uint64_t)(sr[i].hour >> 63);
        rr = put_varint(&rb, hv);
        if (rr == 0)
            rr = put_varint(&rb, sr[i].event);
        if (rr == 0)
            rr = trail_buf_append(&rb, &sr[i].sev, 1);
        if (rr == 0)
            rr = put_varint(&rb, sr[i].count);
    }
    if (rr < 0 || put32(out, (uint32_t)n_sr) < 0 || put32(out, (uint32_t)rb.len) < 0 ||
        (rb.len && trail_buf_append(out, rb.data, rb.len) < 0)) {
        trail_buf_free(&rb);
        goto fail;
    }
    trail_buf_free(&rb);

    /*
     * terms, by their keys (the hash's top QIDX_KEY_BITS bits): terms of one
     * key and kind become one entry holding all of their postings; value
     * terms only where one of them is worth its bytes (the others are found
     * by their words), and then all of them, so that a value's lookup never
     * answers with another value's seqs alone
     */
    st = malloc((b->term_n ? b->term_n : 1) * sizeof(*st));
    kept_keys = malloc((b->term_n ? b->term_n : 1) * sizeof(*kept_keys));
    if (!st || !kept_keys)
        goto fail;
    for (int pass = 0; pass < 2; pass++) {
        /* words and the value terms kept, then the others of a kept one's key (few) */
        for (size_t i = 0; i < b->term_cap; i++) {
            const struct term *t = &b->terms[i];
            if (!t->key)
                continue;
            uint8_t kind = (uint8_t)(t->key >> 32);
            uint32_t key = (uint32_t)t->key >> (32 - QIDX_KEY_BITS);
            int keep = kind == QTERM_WORD || value_worth_keeping(b, &t->p, n_units);
            if (pass == 0 && keep && kind == QTERM_VALUE)
                kept_keys[n_kept++] = key;
            if (pass == 0 ? keep
                          : !keep && bsearch(&key, kept_keys, n_kept, sizeof(*kept_keys), cmp_u32))
                st[n_st++] =
                    (struct sterm){.key = key, .kind = kind, .keep = (uint8_t)keep, .p = &t->p};
        }
        if (pass == 0)
            qsort(kept_keys, n_kept, sizeof(*kept_keys), cmp_u32);
    }
    qsort(st, n_st, sizeof(*st), cmp_sterm);
    /* st[0..n_out): one entry a group of one key and kind, kept (n_out <= i: in place) */
    for (size_t i = 0, j; i < n_st; i = j) {
        int keep = 0;
        for (j = i; j < n_st && st[j].key == st[i].key && st[j].kind == st[i].kind; j++)
            keep |= st[j].keep;
        if (!keep)
            continue;
        struct qpost *mp = NULL;
        if (j - i > 1 && (!(mp = calloc(1, sizeof(*mp))) || merge_terms(st + i, j - i, mp) < 0)) {
            if (mp)
                qpost_free(mp);
            free(mp);
            goto fail_terms;
        }
        st[n_out] = st[i];
        if (mp) { /* the group's postings merged, freed below */
            st[n_out].p = mp;
            st[n_out].keep = 2;
        }
        n_out++;
    }
    uint32_t bits = 0;
    while (bits < 24 && ((size_t)8 << bits) < n_out)
        bits++;
    uint32_t n_buckets = 1u << bits;
    bucket_off = calloc(n_buckets + 1, sizeof(*bucket_off));
    if (!bucket_off)
        goto fail_terms;
    size_t k = 0;
    for (uint32_t bk = 0; bk < n_buckets; bk++) {
        bucket_off[bk] = (uint32_t)post.len;
        uint32_t prev = bits ? bk << (QIDX_KEY_BITS - bits) : 0;
        while (k < n_out && (bits ? st[k].key >> (QIDX_KEY_BITS - bits) : 0) == bk) {
            const struct sterm *t = &st[k++];
            if (put_varint(&post, t->key - prev) < 0 ||
                put_term(&post, t->kind, t->p, n_units, &parts, &one, &ef) < 0)
                goto fail_terms;
            prev = t->key;
        }
    }
    bucket_off[n_buckets] = (uint32_t)post.len;
    if (put32(out, bits) < 0 || put32(out, (uint32_t)n_out) < 0)
        goto fail_terms;
    for (uint32_t i = 0; i <= n_buckets; i++)
        if (put32(out, bucket_off[i]) < 0)
            goto fail_terms;
    if (post.len && trail_buf_append(out, post.data, post.len) < 0)
        goto fail_terms;

    /* trailer: length, CRC-32C of everything before it, magic */
    uint64_t total = out->len - start + 16;
    uint32_t crc = crc32c(0, out->data + start, out->len - start);
    if (put64(out, total) < 0 || put32(out, crc) < 0 || trail_buf_append(out, "TIDX", 4) < 0)
        goto fail_terms;
    r = 0;
fail_terms:
    for (size_t i = 0; i < n_out; i++)
        if (st[i].keep == 2) {
            qpost_free((struct qpost *)st[i].p);
            free((struct qpost *)st[i].p);
        }
fail:
    if (r < 0)
        out->len = start;
    free(st);
    free(kept_keys);
    free(sr);
    free(bucket_off);
    trail_buf_free(&post);
    trail_buf_free(&one);
    trail_buf_free(&ef);
    qpost_free(&parts);
    return r;
}
