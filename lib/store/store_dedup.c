/*
 * store_dedup.c - idempotent ingest: the producer uuids the store holds
 * from its recent past, so that an event sent again (a retry after a
 * timeout, a batch resent after traild was killed between its fsync and
 * its answer, a relay's at-least-once) is stored once.
 *
 * Two generations of an open-addressing table of (uuid, seq). New uuids go
 * into the current one; a lookup asks both. When the current generation is
 * dedup_window old, or holds half of dedup_max uuids, the previous one is
 * dropped and the current one becomes previous. So a uuid is remembered for
 * at least dedup_window, unless more than dedup_max / 2 newer uuids came in
 * meanwhile; memory is at most about 48 bytes per remembered uuid
 * (docs/store.md, "Duplicates").
 *
 * At open, the writer rebuilds it from the records of the last window
 * (newest first), so it holds across restarts. Events without a producer
 * uuid are never deduplicated: two identical lines can be two real events.
 *
 * Everything here runs under the store's lock (store.c). Not for: what the
 * answers say (the daemon), the store's own records (they have no uuid).
 */
#include "store/store.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>

struct dedup_slot {
    uint8_t uuid[16];
    uint64_t seq; /* 0: empty */
};

struct dedup_gen {
    struct dedup_slot *slots;
    size_t cap; /* a power of two, or 0 */
    size_t n;
    int64_t started_us;
};

struct store_dedup {
    struct dedup_gen gen[2]; /* [0] current, [1] previous */
    int64_t window_us;
    size_t max;
};

static uint64_t uuid_hash(const uint8_t u[16])
{
    uint64_t a, b;
    memcpy(&a, u, 8);
    memcpy(&b, u + 8, 8);
    /* uuids are mostly random; mix anyway, for producers that count */
    uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15ULL)) * 0xBF58476D1CE4E5B9ULL;
    return h ^ (h >> 31);
}

static struct dedup_slot *gen_find(const struct dedup_gen *g, const uint8_t u[16])
{
    if (!g->cap)
        return NULL;
    size_t mask = g->cap - 1;
    for (size_t i = uuid_hash(u) & mask;; i = (i + 1) & mask) {
        struct dedup_slot *s = &g->slots[i];
        if (!s->seq)
            return NULL;
        if (memcmp(s->uuid, u, 16) == 0)
            return s;
    }
}

static void gen_put_slot(struct dedup_gen *g, const uint8_t u[16], uint64_t seq)
{
    size_t mask = g->cap - 1;
    size_t i = uuid_hash(u) & mask;
    while (g->slots[i].seq)
        i = (i + 1) & mask;
    memcpy(g->slots[i].uuid, u, 16);
    g->slots[i].seq = seq;
    g->n++;
}

/* A table of at least want slots (a power of two, and more than the current one). */
static int gen_grow(struct dedup_gen *g, size_t want)
{
    size_t cap = g->cap ? g->cap * 2 : 1024;
    while (cap < want)
        cap *= 2;
    struct dedup_slot *slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return -ENOMEM;
    struct dedup_gen old = *g;
    g->slots = slots;
    g->cap = cap;
    g->n = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].seq)
            gen_put_slot(g, old.slots[i].uuid, old.slots[i].seq);
    free(old.slots);
    return 0;
}

static void gen_free(struct dedup_gen *g)
{
    free(g->slots);
    memset(g, 0, sizeof(*g));
}

int store_dedup_new(int64_t window_us, size_t max, struct store_dedup **ret)
{
    struct store_dedup *d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->window_us = window_us;
    d->max = max < 2 ? 2 : max;
    *ret = d;
    return 0;
}

void store_dedup_free(struct store_dedup *d)
{
    if (!d)
        return;
    gen_free(&d->gen[0]);
    gen_free(&d->gen[1]);
    free(d);
}

uint64_t store_dedup_find(const struct store_dedup *d, const uint8_t uuid[16])
{
    for (int k = 0; k < 2; k++) {
        const struct dedup_slot *s = gen_find(&d->gen[k], uuid);
        if (s)
            return s->seq;
    }
    return 0;
}

int store_dedup_add(struct store_dedup *d, const uint8_t uuid[16], uint64_t seq, int64_t now_us)
{
    assert(seq != 0);
    struct dedup_gen *cur = &d->gen[0];
    if (!cur->started_us)
        cur->started_us = now_us;
    if (now_us - cur->started_us >= d->window_us || cur->n >= d->max / 2) {
        /* rotate: the previous generation is older than a window */
        gen_free(&d->gen[1]);
        d->gen[1] = *cur;
        memset(cur, 0, sizeof(*cur));
        cur->started_us = now_us;
    }
    if ((cur->n + 1) * 2 > cur->cap) {
        /* a generation holds at most max / 2: the first growth takes the whole table at
           once, so that no rehash of a growing table stalls appends under the lock */
        int r = gen_grow(cur, cur->n > 64 ? d->max : 1024);
        if (r < 0)
            return r;
    }
    gen_put_slot(cur, uuid, seq);
    return 0;
}

int store_dedup_forget_after(struct store_dedup *d, uint64_t seq)
{
    for (int k = 0; k < 2; k++) {
        struct dedup_gen *g = &d->gen[k];
        size_t keep = 0;
        for (size_t i = 0; i < g->cap; i++)
            keep += g->slots[i].seq && g->slots[i].seq <= seq;
        if (keep == g->n)
            continue;
        /* rare (a failed flush cut the store back): rebuild without them */
        struct dedup_gen old = *g;
        memset(g, 0, sizeof(*g));
        g->started_us = old.started_us;
        g->cap = 1024;
        while (g->cap < keep * 2 + 2)
            g->cap *= 2;
        g->slots = calloc(g->cap, sizeof(*g->slots));
        if (!g->slots) {
            *g = old;
            return -ENOMEM;
        }
        for (size_t i = 0; i < old.cap; i++)
            if (old.slots[i].seq && old.slots[i].seq <= seq)
                gen_put_slot(g, old.slots[i].uuid, old.slots[i].seq);
        free(old.slots);
    }
    return 0;
}

size_t store_dedup_count(const struct store_dedup *d)
{
    return d->gen[0].n + d->gen[1].n;
}
