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
 *   value rollups (sealed segments' builders only, qbuilder_for_sealed):
 *             per attribute key with few distinct values, (rollup entry,
 *             value) -> number of records; and each rare event id's seqs,
 *             as a value term of qterm_event
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
#include <zstd.h>

struct term {
    uint64_t key; /* kind << 32 | hash; 0: empty slot */
    int event;    /* an event id's seqs (qterm_event): kept by their share alone */
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
    uint32_t id; /* order of first appearance (what value rollup tuples name) */
    uint64_t count;
};

/* A value rollup tuple being counted: (rollup entry id, value id) -> records. */
struct vtup {
    uint64_t key; /* entry id << 32 | value id, plus one; 0: empty slot */
    uint64_t count;
};

/* One attribute key's value rollup in the making. */
struct vkey {
    char *key;
    uint8_t klen;
    int dropped;             /* too many values: not kept (its memory freed) */
    struct trail_buf vbytes; /* the values' texts, back to back */
    uint32_t *voff, *vlen, *vhash;
    uint32_t n_values, cap_values;
    uint32_t *vslots; /* open addressing: value id + 1, 0 empty */
    uint32_t vslots_cap;
    /* the current unit's tuples (a small table, hot in the cache), moved to out at the
       unit's end: a tuple found in several units is there several times until serialized */
    struct vtup *t;
    size_t t_cap, t_n;
    struct qvtuple *out; /* entry: the rollup entry's id */
    size_t out_n, out_cap;
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

    int vroll; /* a sealed segment's: value rollups and event seqs (qbuilder_for_sealed) */
    struct vkey *vk;
    uint32_t n_vk, cap_vk;
    uint32_t *vk_slots; /* open addressing over key hashes: vk index + 1, 0 empty */
    uint32_t vk_slots_cap;

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

static int vroll_flush(struct qbuilder *b);

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

static void vkey_release(struct vkey *k)
{
    trail_buf_free(&k->vbytes);
    free(k->voff);
    free(k->vlen);
    free(k->vhash);
    free(k->vslots);
    free(k->t);
    free(k->out);
    k->voff = k->vlen = k->vhash = k->vslots = NULL;
    k->t = NULL;
    k->out = NULL;
    k->n_values = k->cap_values = k->vslots_cap = 0;
    k->t_cap = k->t_n = k->out_n = k->out_cap = 0;
}

void qbuilder_free(struct qbuilder *b)
{
    if (!b)
        return;
    for (uint32_t i = 0; i < b->n_vk; i++) {
        vkey_release(&b->vk[i]);
        free(b->vk[i].key);
    }
    free(b->vk);
    free(b->vk_slots);
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
    int r = b->vroll ? vroll_flush(b) : 0;
    if (r < 0)
        return r;
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

static int rollup_add(struct qbuilder *b, int64_t hour, uint32_t event, int sev, uint32_t *ret_id)
{
    uint64_t key = (uint64_t)hour * 1000003u ^ ((uint64_t)event << 8 | (uint64_t)sev);
    size_t mask = b->roll_cap - 1, i = slot_of(key, b->roll_cap);
    for (; b->roll[i].used; i = (i + 1) & mask) {
        struct roll_slot *s = &b->roll[i];
        if (s->hour == hour && s->event == event && s->severity == sev) {
            s->count++;
            *ret_id = s->id;
            return 0;
        }
    }
    *ret_id = (uint32_t)b->roll_n;
    b->roll[i] = (struct roll_slot){.hour = hour,
                                    .event = event,
                                    .severity = (uint8_t)sev,
                                    .used = 1,
                                    .id = (uint32_t)b->roll_n,
                                    .count = 1};
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

/* ---- value rollups ---- */

void qbuilder_for_sealed(struct qbuilder *b)
{
    b->vroll = 1;
}

static struct vkey *vkey_get(struct qbuilder *b, const char *key, size_t klen)
{
    uint32_t h = crc32c(0, key, klen);
    uint32_t mask = b->vk_slots_cap - 1, i = h & mask;
    for (; b->vk_slots_cap && b->vk_slots[i]; i = (i + 1) & mask) {
        struct vkey *k = &b->vk[b->vk_slots[i] - 1];
        if (k->klen == klen && memcmp(k->key, key, klen) == 0)
            return k;
    }
    if ((b->n_vk + 1) * 2 > b->vk_slots_cap) {
        uint32_t cap = b->vk_slots_cap ? b->vk_slots_cap * 2 : 64;
        uint32_t *slots = calloc(cap, sizeof(*slots));
        if (!slots)
            return NULL;
        for (uint32_t j = 0; j < b->n_vk; j++) {
            uint32_t k = crc32c(0, b->vk[j].key, b->vk[j].klen) & (cap - 1);
            while (slots[k])
                k = (k + 1) & (cap - 1);
            slots[k] = j + 1;
        }
        free(b->vk_slots);
        b->vk_slots = slots;
        b->vk_slots_cap = cap;
        mask = cap - 1;
        for (i = h & mask; slots[i]; i = (i + 1) & mask)
            ;
    }
    if (b->n_vk == b->cap_vk) {
        uint32_t cap = b->cap_vk ? b->cap_vk * 2 : 16;
        struct vkey *v = realloc(b->vk, cap * sizeof(*v));
        if (!v)
            return NULL;
        b->vk = v;
        b->cap_vk = cap;
    }
    struct vkey *k = &b->vk[b->n_vk];
    memset(k, 0, sizeof(*k));
    if (!(k->key = malloc(klen + 1)))
        return NULL;
    memcpy(k->key, key, klen);
    k->key[klen] = '\0';
    k->klen = (uint8_t)klen;
    b->vk_slots[i] = ++b->n_vk;
    return k;
}

/* The id of value text in k's dictionary, added when new. */
static int vkey_value(struct vkey *k, const char *text, size_t n, uint32_t h, uint32_t *ret)
{
    uint32_t mask = k->vslots_cap - 1, i = h & mask;
    for (; k->vslots_cap && k->vslots[i]; i = (i + 1) & mask) {
        uint32_t v = k->vslots[i] - 1;
        if (k->vhash[v] == h && k->vlen[v] == n &&
            (n == 0 || memcmp(k->vbytes.data + k->voff[v], text, n) == 0)) {
            *ret = v;
            return 0;
        }
    }
    if ((k->n_values + 1) * 2 > k->vslots_cap) {
        uint32_t cap = k->vslots_cap ? k->vslots_cap * 2 : 64;
        uint32_t *slots = calloc(cap, sizeof(*slots));
        if (!slots)
            return -ENOMEM;
        for (uint32_t j = 0; j < k->n_values; j++) {
            uint32_t s = k->vhash[j] & (cap - 1);
            while (slots[s])
                s = (s + 1) & (cap - 1);
            slots[s] = j + 1;
        }
        free(k->vslots);
        k->vslots = slots;
        k->vslots_cap = cap;
        mask = cap - 1;
        for (i = h & mask; slots[i]; i = (i + 1) & mask)
            ;
    }
    if (k->n_values == k->cap_values) {
        uint32_t cap = k->cap_values ? k->cap_values * 2 : 32;
        uint32_t *o = realloc(k->voff, cap * sizeof(*o));
        if (!o)
            return -ENOMEM;
        k->voff = o;
        uint32_t *l = realloc(k->vlen, cap * sizeof(*l));
        if (!l)
            return -ENOMEM;
        k->vlen = l;
        uint32_t *hh = realloc(k->vhash, cap * sizeof(*hh));
        if (!hh)
            return -ENOMEM;
        k->vhash = hh;
        k->cap_values = cap;
    }
    if (k->vbytes.len + n > UINT32_MAX || (n && trail_buf_append(&k->vbytes, text, n) < 0))
        return -ENOMEM;
    uint32_t v = k->n_values++;
    k->voff[v] = (uint32_t)(k->vbytes.len - n);
    k->vlen[v] = (uint32_t)n;
    k->vhash[v] = h;
    k->vslots[i] = v + 1;
    *ret = v;
    return 0;
}

static int vkey_count(struct vkey *k, uint32_t entry, uint32_t value)
{
    uint64_t key = ((uint64_t)entry << 32 | value) + 1;
    if ((k->t_n + 1) * 2 > k->t_cap) {
        size_t cap = k->t_cap ? k->t_cap * 2 : 256;
        struct vtup *t = calloc(cap, sizeof(*t));
        if (!t)
            return -ENOMEM;
        for (size_t j = 0; j < k->t_cap; j++) {
            if (!k->t[j].key)
                continue;
            size_t s = slot_of(k->t[j].key, cap);
            while (t[s].key)
                s = (s + 1) & (cap - 1);
            t[s] = k->t[j];
        }
        free(k->t);
        k->t = t;
        k->t_cap = cap;
    }
    size_t mask = k->t_cap - 1, i = slot_of(key, k->t_cap);
    for (; k->t[i].key; i = (i + 1) & mask) {
        if (k->t[i].key == key) {
            k->t[i].count++;
            return 0;
        }
    }
    k->t[i] = (struct vtup){.key = key, .count = 1};
    k->t_n++;
    return 0;
}

/* Move the unit's tuples of k to k->out and empty its table. */
static int vkey_flush(struct vkey *k)
{
    if (!k->t_n)
        return 0;
    if (k->out_n + k->t_n > k->out_cap) {
        size_t cap = k->out_cap ? k->out_cap : 1024;
        while (cap < k->out_n + k->t_n)
            cap *= 2;
        struct qvtuple *o = realloc(k->out, cap * sizeof(*o));
        if (!o)
            return -ENOMEM;
        k->out = o;
        k->out_cap = cap;
    }
    for (size_t i = 0; i < k->t_cap; i++) {
        if (!k->t[i].key)
            continue;
        uint64_t key = k->t[i].key - 1;
        k->out[k->out_n++] = (struct qvtuple){
            .entry = (uint32_t)(key >> 32), .value = (uint32_t)key, .count = k->t[i].count};
        k->t[i].key = 0;
    }
    k->t_n = 0;
    return 0;
}

static int vroll_flush(struct qbuilder *b)
{
    for (uint32_t i = 0; i < b->n_vk; i++) {
        int r = b->vk[i].dropped ? 0 : vkey_flush(&b->vk[i]);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Count one attribute of the record being added (its rollup entry: entry). */
static int vroll_add(struct qbuilder *b, const char *key, size_t klen, const char *text, size_t n,
                     uint32_t h, uint32_t entry)
{
    struct vkey *k = vkey_get(b, key, klen);
    if (!k)
        return -ENOMEM;
    if (k->dropped)
        return 0;
    uint32_t v;
    int r = vkey_value(k, text, n, h, &v);
    if (r < 0)
        return r;
    uint64_t recs = b->next_seq - b->first_seq + 1;
    if (k->n_values > QVROLL_MAX_VALUES ||
        (k->n_values > QVROLL_EARLY && (uint64_t)k->n_values * QVROLL_SHARE > recs)) {
        /* a trace id, a time: the records are where such values are counted */
        vkey_release(k);
        k->dropped = 1;
        return 0;
    }
    return vkey_count(k, entry, v);
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
 * with c->keep when that is set (the value remembered now). th: the text's
 * CRC-32C (the value rollups' hash too), told apart by type.
 */
static int value_seen(struct word_ctx *c, int type, const char *text, size_t n, uint32_t th)
{
    struct qbuilder *b = c->b;
    uint32_t part = (uint32_t)__builtin_ctz(c->part_bit);
    uint32_t h = th ^ (uint32_t)type * 0x9E3779B1u;
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

/* Add a record's seq to a value term's postings, once (two terms of a record may share a hash). */
static int posting_add(struct qpost *p, uint32_t off)
{
    return p->n && p->v[p->n - 1] == off ? 0 : qpost_push(p, off);
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
    uint32_t local, entry;
    if ((r = event_local(b, v.id, v.id_len, &local)) < 0 || (r = unit_set_event(u, local)) < 0 ||
        (r = rollup_add(b, hour_of(v.time_us), local, v.severity, &entry)) < 0)
        return r;
    if (b->vroll) {
        struct term *t =
            term_get(b, (uint64_t)QTERM_VALUE << 32 | qterm_event((const char *)v.id, v.id_len));
        if (!t || posting_add(&t->p, (uint32_t)(v.seq - b->first_seq)) < 0)
            return -ENOMEM;
        t->event = 1;
    }
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
            if (!t || posting_add(&t->p, off) < 0)
                return -ENOMEM;
        }
        uint32_t th = crc32c(0, text, n);
        if (b->vroll && (r = vroll_add(b, a.key, a.klen, text, n, th, entry)) < 0)
            return r;
        if (a.type == TRAIL_TYPE_TIME || value_seen(&wc, a.type, text, n, th))
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
    uint32_t id;
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

/*
 * Sort n tuples by (entry, value), as the 64-bit keys entry << 16 | value
 * (values < 2^16): a radix sort, 11 bits a pass, as many passes as the
 * largest key needs (a segment's hundreds of thousands of tuples: a qsort
 * took a sixth of the index's building). tmp holds n tuples.
 */
static void sort_vtup(struct qvtuple *t, struct qvtuple *tmp, size_t n)
{
    uint64_t max = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t k = (uint64_t)t[i].entry << 16 | t[i].value;
        max = k > max ? k : max;
    }
    struct qvtuple *src = t, *dst = tmp;
    for (unsigned shift = 0; shift < 64 && (max >> shift); shift += 11) {
        size_t count[2049] = {0};
        for (size_t i = 0; i < n; i++)
            count[(((uint64_t)src[i].entry << 16 | src[i].value) >> shift & 2047) + 1]++;
        for (size_t b = 1; b <= 2048; b++)
            count[b] += count[b - 1];
        for (size_t i = 0; i < n; i++)
            dst[count[((uint64_t)src[i].entry << 16 | src[i].value) >> shift & 2047]++] = src[i];
        struct qvtuple *x = src;
        src = dst;
        dst = x;
    }
    if (src != t)
        memcpy(t, src, n * sizeof(*t));
}

static int cmp_vkey(const void *a, const void *b)
{
    const struct vkey *x = *(const struct vkey *const *)a, *y = *(const struct vkey *const *)b;
    return strcmp(x->key, y->key);
}

/*
 * The value rollups section: u32 keys N, u32 bytes L, then per key (by
 * name): u8 key length, key, varint B, and B bytes: one zstd frame (its
 * content size given) of the key's block: varint V values, V x (varint
 * length, text), varint T tuples, then the tuples, sorted by (entry,
 * value), as three runs of varints: R (the rollup's entries) numbers of
 * tuples, one per entry in order; T values (the first of an entry's: the
 * value, the others: the difference from the one before); T records less
 * one. sr: the rollup's R entries in file order.
 */
static int serialize_vroll(struct qbuilder *b, const struct sroll *sr, size_t n_sr,
                           struct trail_buf *out)
{
    uint64_t recs = b->next_seq - b->first_seq;
    uint32_t *rank = malloc((n_sr ? n_sr : 1) * sizeof(*rank));
    struct vkey **keep = malloc((b->n_vk ? b->n_vk : 1) * sizeof(*keep));
    struct qvtuple *t = NULL;
    struct trail_buf all = {0}, blk = {0}, z = {0};
    uint32_t n_keep = 0;
    int r = -ENOMEM;
    if (!rank || !keep)
        goto fail;
    for (size_t i = 0; i < n_sr; i++)
        rank[sr[i].id] = (uint32_t)i;
    for (uint32_t i = 0; i < b->n_vk; i++) {
        struct vkey *k = &b->vk[i];
        if (!k->dropped && k->n_values && (uint64_t)k->n_values * QVROLL_SHARE <= recs) {
            if (vkey_flush(k) < 0)
                goto fail;
            keep[n_keep++] = k;
        }
    }
    qsort(keep, n_keep, sizeof(*keep), cmp_vkey);
    for (uint32_t i = 0; i < n_keep; i++) {
        struct vkey *k = keep[i];
        trail_buf_reset(&blk);
        if (put_varint(&blk, k->n_values) < 0)
            goto fail;
        for (uint32_t v = 0; v < k->n_values; v++)
            if (put_varint(&blk, k->vlen[v]) < 0 ||
                (k->vlen[v] && trail_buf_append(&blk, k->vbytes.data + k->voff[v], k->vlen[v]) < 0))
                goto fail;
        struct qvtuple *nt = realloc(t, 2 * (k->out_n ? k->out_n : 1) * sizeof(*t));
        if (!nt)
            goto fail;
        t = nt;
        for (size_t j = 0; j < k->out_n; j++)
            t[j] = (struct qvtuple){
                .entry = rank[k->out[j].entry], .value = k->out[j].value, .count = k->out[j].count};
        sort_vtup(t, t + k->out_n, k->out_n);
        /* one tuple of those the units found alike */
        size_t n = 0;
        for (size_t j = 0; j < k->out_n; j++) {
            if (n && t[n - 1].entry == t[j].entry && t[n - 1].value == t[j].value)
                t[n - 1].count += t[j].count;
            else
                t[n++] = t[j];
        }
        /* three runs of varints (each alike: a quarter fewer bytes once compressed than the
           tuples' fields interleaved): tuples per entry, values, records */
        if (put_varint(&blk, n) < 0)
            goto fail;
        for (size_t e = 0, j = 0; e < n_sr; e++) {
            size_t j0 = j;
            while (j < n && t[j].entry == e)
                j++;
            if (put_varint(&blk, j - j0) < 0)
                goto fail;
        }
        for (size_t j = 0; j < n; j++)
            if (put_varint(&blk, j && t[j].entry == t[j - 1].entry ? t[j].value - t[j - 1].value
                                                                   : t[j].value) < 0)
                goto fail;
        for (size_t j = 0; j < n; j++)
            if (put_varint(&blk, t[j].count - 1) < 0)
                goto fail;
        /* the tuples of a user or an address repeat hour after hour: a third of the bytes */
        size_t bound = ZSTD_compressBound(blk.len);
        trail_buf_reset(&z);
        if (trail_buf_reserve(&z, bound) < 0)
            goto fail;
        size_t zn = ZSTD_compress(z.data, bound, blk.data, blk.len, 3);
        if (ZSTD_isError(zn))
            goto fail;
        if (trail_buf_append(&all, &k->klen, 1) < 0 ||
            trail_buf_append(&all, k->key, k->klen) < 0 || put_varint(&all, zn) < 0 ||
            trail_buf_append(&all, z.data, zn) < 0)
            goto fail;
    }
    if (all.len > UINT32_MAX) {
        r = TRAIL_E_TOO_LARGE;
        goto fail;
    }
    if (put32(out, n_keep) < 0 || put32(out, (uint32_t)all.len) < 0 ||
        (all.len && trail_buf_append(out, all.data, all.len) < 0))
        goto fail;
    r = 0;
fail:
    free(rank);
    free(keep);
    free(t);
    trail_buf_free(&all);
    trail_buf_free(&blk);
    trail_buf_free(&z);
    return r;
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
    put_u16(h + 8, QIDX_VERSION);
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
                                        b->roll[i].count, b->roll[i].id};
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

    /* value rollups, their tuples naming entries by their position above */
    if (serialize_vroll(b, sr, n_sr, out) < 0)
        goto fail;

    /*
     * terms, by their keys (the hash's top QIDX_KEY_BITS bits): terms of one
     * key and kind become one entry holding all of their postings; value
     * terms only where one of them is worth its bytes (the others are found
     * by their words; a common event id by its units' bitsets), and then all
     * of them, so that a value's or an event's lookup never answers with
     * another one's seqs alone
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
            int keep = kind == QTERM_WORD ||
                       (t->event ? (uint64_t)t->p.n * QEVENT_MAX_SHARE <= b->next_seq - b->first_seq
                                 : value_worth_keeping(b, &t->p, n_units));
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
