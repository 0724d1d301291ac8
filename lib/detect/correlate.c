/*
 * correlate.c - evaluation over a stream of events: detection rules alert on
 * each event they select, correlations keep a window per group and alert
 * when their condition holds (Sigma correlation rules: event_count,
 * value_count, temporal, temporal_ordered).
 *
 * Windows are in event time, taken in arrival order: a group's window holds
 * the matches whose time is within timespan of the latest time the group
 * has seen; a match older than that arrives too late and is not counted. A
 * window that fires starts over, so that the next alert of that group needs
 * the condition met again by later events. A correlation's match is the
 * event that made it fire, which is how correlations chain: an outer
 * correlation counts the inner one's firings, grouped by its own fields of
 * those events. docs/rules.md, "Windows", says the same for users.
 *
 * Not here: matching one event (match.c); durability of the state (traild
 * rebuilds it by replaying the store from before the longest timespan).
 */
#include "detect_int.h"

#include <stdio.h>

/* a group holds at most this many matches; past it the oldest go (a bound on memory
   for conditions that a flood keeps false, such as eq) */
#define MAX_ENTRIES 65536

struct entry {
    int64_t t;
    uint64_t seq;
    uint64_t vhash;  /* value_count: the hash of the value */
    uint32_t rule_k; /* temporal: which of the correlation's rules matched */
};

/* value_count: a distinct value of the window and how many of its entries hold it, in
   an open-addressing table (linear probing; count 0 marks a free slot) */
struct distinct {
    uint64_t hash;
    uint32_t count;
};

struct group {
    struct group *next_spare;
    uint64_t hash;
    char *key; /* the group-by values, each NUL-terminated, one after another */
    size_t klen, key_cap;
    const char **values; /* into key, made when the group alerts */
    struct entry *e;
    size_t head, n, cap; /* entries e[head..head+n) in arrival order */
    bool disorder;       /* an entry arrived with an earlier time than the one before it */
    int64_t max_t;
    struct distinct *d; /* cap_d slots (a power of two), n_d in use */
    size_t n_d, cap_d;
};

/* a group dropped by sweep() is kept for the next new group, so that groups that come and
   go (a window fires, starts over, is swept, and its key comes back) cost no malloc. A
   sweep runs every 1024 matches, so no more than that many groups are made between two:
   so many spares per correlation are enough, and their buffers are kept only up to
   SPARE_KEEP entries (a bound on memory: at most ~1.5 MB of spares per correlation) */
#define MAX_SPARES 1024
#define SPARE_KEEP 32

/* a group in the table of a correlation (open addressing, linear probing) */
struct gslot {
    uint64_t hash;
    struct group *g; /* NULL: free */
};

struct corr {
    const struct detect_rule *r;
    size_t index; /* in the set */
    struct gslot *slots;
    size_t n_slots, n_groups; /* n_slots a power of two, at most half of it used */
    struct group **live;      /* sweep()'s room for the groups it keeps: n_slots / 2 */
    struct group *spares;
    size_t n_spares;
    int64_t max_t;
    uint64_t adds;
};

/* at most this many graces open at once; past it a firing alerts as if its rule had none
   (a bound on memory when a storm spreads over very many groups) */
#define MAX_GRACES 65536

/* An open grace: the rule alerted for this group and holds back its firings until `until`. */
struct grace {
    struct grace *next;
    const struct detect_rule *r;
    uint64_t hash;
    char *key; /* the group's values as in struct group (a copy: the group may go first) */
    size_t klen, n_values;
    const char **values;
    int64_t until;
    uint64_t fired_seq; /* the seq that fired the alert that opened it */
    uint64_t held;      /* firings held back */
    int64_t first_t, last_t;
    uint64_t first[DETECT_ALERT_SEQS], last[DETECT_ALERT_SEQS]; /* last: a ring */
};

/* the fields of the event being fed that correlations read (group-by, value_count): read
   once per event, as several correlations group by the same field (duser, src) */
#define FIELD_CACHE 16

struct fcached {
    enum detect_field_kind kind;
    const char *name;
    int present;
    const char *text; /* into ev or buf */
    size_t len;
    char buf[96];
};

struct detect_engine {
    const struct detect_rules *rs;
    struct fcached fc[FIELD_CACHE];
    size_t n_fc;
    char spill[96];             /* a field past the cache's */
    struct detect_index *index; /* the rules an event can meet (index.c) */
    bool *matched;              /* per rule, for the event being fed */
    uint32_t *set;              /* the rules whose matched is true: cleared at the next event */
    size_t n_set;
    struct corr *corrs; /* in an order where a correlation comes after those it names */
    size_t n_corrs;
    uint64_t *scratch_first, *scratch_last;
    /* graces: "now" is the latest event time fed, at which graces end, so that arrival
       order decides alike in traild and in `trail rules test` */
    struct grace **gb;
    size_t n_gb, n_graces;
    int64_t now, next_due; /* next_due: the earliest until of the open graces */
    uint64_t alerted;      /* alerts given to the callback */
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

#define FNV_INIT 0xcbf29ce484222325ULL

static int depth_of(const struct detect_rules *rs, const struct detect_rule *r, int d)
{
    int best = 0;
    if (d > 32)
        return d;
    for (size_t i = 0; r->corr && i < r->n_corr_rules; i++) {
        int x = 1 + depth_of(rs, rs->rules[r->corr_refs[i]], d + 1);
        if (x > best)
            best = x;
    }
    return best;
}

int detect_engine_new(const struct detect_rules *rs, struct detect_engine **ret_engine)
{
    struct detect_engine *e = calloc(1, sizeof *e);
    if (!e)
        return -ENOMEM;
    e->rs = rs;
    e->matched = calloc(rs->n_rules ? rs->n_rules : 1, sizeof *e->matched);
    e->set = calloc(rs->n_rules ? rs->n_rules : 1, sizeof *e->set);
    e->corrs = calloc(rs->n_rules ? rs->n_rules : 1, sizeof *e->corrs);
    e->scratch_first = calloc(DETECT_ALERT_SEQS, sizeof(uint64_t));
    e->scratch_last = calloc(DETECT_ALERT_SEQS, sizeof(uint64_t));
    e->n_gb = 64;
    e->gb = calloc(e->n_gb, sizeof *e->gb);
    e->now = INT64_MIN;
    e->next_due = INT64_MAX;
    if (!e->matched || !e->set || !e->corrs || !e->scratch_first || !e->scratch_last || !e->gb ||
        detect_index_new(rs, &e->index) < 0) {
        detect_engine_free(e);
        return -ENOMEM;
    }
    /* by depth, so that a chain is evaluated from its base within one event */
    for (int depth = 1; depth <= 34; depth++)
        for (size_t i = 0; i < rs->n_rules; i++) {
            const struct detect_rule *r = rs->rules[i];
            if (!r->corr || !r->applicable || !r->corr_refs || depth_of(rs, r, 0) != depth)
                continue;
            struct corr *c = &e->corrs[e->n_corrs++];
            c->r = r;
            c->index = i;
            c->n_slots = 64;
            c->slots = calloc(c->n_slots, sizeof *c->slots);
            c->live = calloc(c->n_slots / 2, sizeof *c->live);
            if (!c->slots || !c->live) {
                detect_engine_free(e);
                return -ENOMEM;
            }
        }
    *ret_engine = e;
    return 0;
}

static void group_free(struct group *g)
{
    if (!g)
        return;
    free(g->key);
    free(g->values);
    free(g->e);
    free(g->d);
    free(g);
}

void detect_engine_free(struct detect_engine *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n_corrs; i++) {
        struct corr *c = &e->corrs[i];
        for (size_t b = 0; c->slots && b < c->n_slots; b++)
            group_free(c->slots[b].g);
        for (struct group *g = c->spares, *nx; g; g = nx) {
            nx = g->next_spare;
            group_free(g);
        }
        free(c->slots);
        free(c->live);
    }
    for (size_t b = 0; e->gb && b < e->n_gb; b++)
        for (struct grace *q = e->gb[b], *nx; q; q = nx) {
            nx = q->next;
            free(q->key);
            free(q->values);
            free(q);
        }
    free(e->gb);
    free(e->corrs);
    free(e->matched);
    free(e->set);
    detect_index_free(e->index);
    free(e->scratch_first);
    free(e->scratch_last);
    free(e);
}

/* the slot of h in g's table of distinct values, or the free slot where it would go */
static size_t distinct_slot(const struct group *g, uint64_t h)
{
    size_t mask = g->cap_d - 1, i = h & mask;
    while (g->d[i].count && g->d[i].hash != h)
        i = (i + 1) & mask;
    return i;
}

static int distinct_grow(struct group *g)
{
    size_t cap = g->cap_d ? g->cap_d * 2 : 16;
    struct distinct *v = calloc(cap, sizeof *v);
    if (!v)
        return -ENOMEM;
    struct distinct *old = g->d;
    size_t old_cap = g->cap_d;
    g->d = v;
    g->cap_d = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].count)
            g->d[distinct_slot(g, old[i].hash)] = old[i];
    free(old);
    return 0;
}

/* Take slot i out, moving up the slots after it that probed past it (no tombstones). */
static void distinct_remove(struct group *g, size_t i)
{
    size_t mask = g->cap_d - 1;
    for (size_t j = (i + 1) & mask; g->d[j].count; j = (j + 1) & mask) {
        size_t home = g->d[j].hash & mask;
        /* j stays when its home lies cyclically in (i, j] */
        if (i <= j ? (home > i && home <= j) : (home > i || home <= j))
            continue;
        g->d[i] = g->d[j];
        i = j;
    }
    g->d[i].count = 0;
    g->n_d--;
}

static void distinct_add(struct group *g, uint64_t h, int delta)
{
    if (g->cap_d) {
        size_t i = distinct_slot(g, h);
        if (g->d[i].count) {
            if (delta > 0)
                g->d[i].count++;
            else if (--g->d[i].count == 0)
                distinct_remove(g, i);
            return;
        }
    }
    if (delta < 0)
        return;
    /* at most half full; without memory to grow, the last free slots still serve, then a
       value is counted as not seen: a bound under memory pressure, not a crash */
    if ((g->n_d + 1) * 2 > g->cap_d && distinct_grow(g) < 0 && g->n_d + 1 >= g->cap_d)
        return;
    g->d[distinct_slot(g, h)] = (struct distinct){h, 1};
    g->n_d++;
}

static void drop_entry(const struct corr *c, struct group *g, size_t i)
{
    if (c->r->corr == DCT_VALUE_COUNT)
        distinct_add(g, g->e[i].vhash, -1);
}

/* Forget the matches older than the window allows. */
static void expire(const struct corr *c, struct group *g)
{
    int64_t cutoff = g->max_t - c->r->timespan_us;
    while (g->n && g->e[g->head].t < cutoff) {
        drop_entry(c, g, g->head);
        g->head++;
        g->n--;
    }
    if (g->disorder && g->n) {
        size_t w = g->head;
        for (size_t i = g->head; i < g->head + g->n; i++) {
            if (g->e[i].t < cutoff)
                drop_entry(c, g, i);
            else
                g->e[w++] = g->e[i];
        }
        g->n = w - g->head;
    }
    if (g->n == 0) {
        g->head = 0;
        g->disorder = false;
    }
}

static int push(const struct corr *c, struct group *g, const struct entry *en)
{
    if (g->n >= MAX_ENTRIES) {
        drop_entry(c, g, g->head);
        g->head++;
        g->n--;
    }
    if (g->head + g->n == g->cap) {
        if (g->head > 0 && g->head >= g->n) {
            memmove(g->e, g->e + g->head, g->n * sizeof *g->e);
            g->head = 0;
        } else {
            size_t cap = g->cap ? g->cap * 2 : 8;
            struct entry *v = realloc(g->e, cap * sizeof *v);
            if (!v)
                return -ENOMEM;
            g->e = v;
            g->cap = cap;
        }
    }
    if (g->n && en->t < g->e[g->head + g->n - 1].t)
        g->disorder = true;
    g->e[g->head + g->n++] = *en;
    if (c->r->corr == DCT_VALUE_COUNT)
        distinct_add(g, en->vhash, +1);
    return 0;
}

static void reset(struct group *g)
{
    g->head = g->n = 0;
    if (g->n_d)
        memset(g->d, 0, g->cap_d * sizeof *g->d);
    g->n_d = 0;
    g->disorder = false;
}

static bool cond_holds(const struct detect_corr_cond *c, uint64_t n)
{
    int64_t v = (int64_t)n;
    return (!c->has_gt || v > c->gt) && (!c->has_gte || v >= c->gte) && (!c->has_lt || v < c->lt) &&
           (!c->has_lte || v <= c->lte) && (!c->has_eq || v == c->eq);
}

/* What the condition counts in the group's window. */
static uint64_t measure(const struct corr *c, const struct group *g)
{
    const struct detect_rule *r = c->r;
    switch (r->corr) {
    case DCT_EVENT_COUNT:
        return g->n;
    case DCT_VALUE_COUNT:
        return g->n_d;
    case DCT_TEMPORAL: {
        uint64_t seen = 0, mask_words[4] = {0};
        for (size_t i = g->head; i < g->head + g->n; i++) {
            uint32_t k = g->e[i].rule_k;
            if (k < 256 && !(mask_words[k / 64] & (1ULL << (k % 64)))) {
                mask_words[k / 64] |= 1ULL << (k % 64);
                seen++;
            }
        }
        return seen;
    }
    case DCT_TEMPORAL_ORDERED: {
        /* how far the rules' order is followed by a subsequence of the window */
        uint32_t want = 0;
        for (size_t i = g->head; i < g->head + g->n && want < r->n_corr_rules; i++)
            if (g->e[i].rule_k == want)
                want++;
        return want;
    }
    case DCT_NONE:
        break;
    }
    return 0;
}

/* A group as calloc() would make it, from the spares when there are. */
static struct group *group_new(struct corr *c, size_t n_values)
{
    struct group *g = c->spares;
    if (g) {
        c->spares = g->next_spare;
        c->n_spares--;
        g->next_spare = NULL;
        g->head = g->n = 0;
        g->disorder = false;
        return g;
    }
    g = calloc(1, sizeof *g);
    if (g && !(g->values = calloc(n_values ? n_values : 1, sizeof *g->values))) {
        free(g);
        g = NULL;
    }
    return g;
}

/* Keep g for a later group_new(), or free it past the bound. */
static void group_drop(struct corr *c, struct group *g)
{
    if (c->n_spares >= MAX_SPARES) {
        group_free(g);
        return;
    }
    /* what a storm made large is not hoarded */
    if (g->cap > SPARE_KEEP) {
        free(g->e);
        g->e = NULL;
        g->cap = 0;
    }
    if (g->cap_d > SPARE_KEEP) {
        free(g->d);
        g->d = NULL;
        g->cap_d = 0;
    } else if (g->n_d) {
        memset(g->d, 0, g->cap_d * sizeof *g->d);
    }
    g->n_d = 0;
    g->next_spare = c->spares;
    c->spares = g;
    c->n_spares++;
}

static void place(struct gslot *slots, size_t n_slots, uint64_t h, struct group *g)
{
    size_t i = h & (n_slots - 1);
    while (slots[i].g)
        i = (i + 1) & (n_slots - 1);
    slots[i] = (struct gslot){h, g};
}

/* Make the table hold n_slots slots (a power of two) for the groups it has. */
static int rehash(struct corr *c, size_t n_slots)
{
    struct gslot *v = calloc(n_slots, sizeof *v);
    struct group **live = calloc(n_slots / 2, sizeof *live);
    if (!v || !live) {
        free(v);
        free(live);
        return -ENOMEM;
    }
    for (size_t i = 0; i < c->n_slots; i++)
        if (c->slots[i].g)
            place(v, n_slots, c->slots[i].hash, c->slots[i].g);
    free(c->slots);
    free(c->live);
    c->slots = v;
    c->live = live;
    c->n_slots = n_slots;
    return 0;
}

static struct group *find_group(struct corr *c, const char *key, size_t klen, uint64_t h,
                                size_t n_values)
{
    size_t mask = c->n_slots - 1;
    for (size_t i = h & mask; c->slots[i].g; i = (i + 1) & mask) {
        struct group *g = c->slots[i].g;
        if (c->slots[i].hash == h && g->klen == klen && (!klen || memcmp(g->key, key, klen) == 0))
            return g;
    }
    if ((c->n_groups + 1) * 2 > c->n_slots && rehash(c, c->n_slots * 2) < 0)
        return NULL;
    struct group *g = group_new(c, n_values);
    if (!g)
        return NULL;
    if (g->key_cap < klen) {
        size_t cap = klen < 64 ? 64 : klen;
        char *k = realloc(g->key, cap);
        if (!k) {
            group_drop(c, g);
            return NULL;
        }
        g->key = k;
        g->key_cap = cap;
    }
    g->hash = h;
    g->klen = klen;
    if (klen) /* a rule without group-by has one group, of the empty key (g->key may be NULL) */
        memcpy(g->key, key, klen);
    g->max_t = INT64_MIN;
    place(c->slots, c->n_slots, h, g);
    c->n_groups++;
    return g;
}

/*
 * Forget the groups whose windows are empty by now. A group forgotten is one
 * made anew: so that a key that comes back (a user who signs in again) costs
 * no malloc, a forgotten group stays in the table made as new (max_t
 * INT64_MIN, nothing counted), which find_group() cannot tell from a group it
 * makes, and goes at the next sweep when nothing touched it since. The table
 * is made again from the groups kept, in place: linear probing has no other
 * way to take entries out.
 */
static void sweep(struct corr *c)
{
    int64_t cutoff = c->max_t - c->r->timespan_us;
    size_t n_live = 0;
    for (size_t i = 0; i < c->n_slots; i++) {
        struct group *g = c->slots[i].g;
        if (!g)
            continue;
        c->slots[i].g = NULL;
        if (g->max_t < cutoff || g->n == 0) {
            if (g->max_t == INT64_MIN && g->n == 0) {
                group_drop(c, g);
                continue;
            }
            reset(g);
            g->max_t = INT64_MIN;
        }
        c->live[n_live++] = g;
    }
    c->n_groups = n_live;
    for (size_t i = 0; i < n_live; i++)
        place(c->slots, c->n_slots, c->live[i]->hash, c->live[i]);
}

/* by the rule's place and title, not its address: the same order of summaries in traild
   and in `trail rules test` */
static uint64_t grace_hash(const struct detect_rule *r, const char *key, size_t klen)
{
    uint64_t h = fnv(FNV_INIT, &r->line, sizeof r->line);
    h = fnv(h, r->title, strlen(r->title));
    return fnv(h, key, klen);
}

/* Give an alert of r for the group key (its values, NUL after each) to the callback,
   unless a grace of that rule and group holds it back. */
static void emit(struct detect_engine *e, const char *key, size_t klen, size_t n_values,
                 struct detect_alert *a, detect_alert_fn alert, void *ctx)
{
    const struct detect_rule *r = a->rule;
    if (!r->grace_us) {
        alert(ctx, a);
        e->alerted++;
        return;
    }
    uint64_t h = grace_hash(r, key, klen);
    struct grace **slot = &e->gb[h & (e->n_gb - 1)];
    for (struct grace *q = *slot; q; q = q->next)
        if (q->r == r && q->hash == h && q->klen == klen &&
            (!klen || memcmp(q->key, key, klen) == 0)) {
            /* open (a grace that ended was closed before this event's rules ran) */
            uint64_t seq = trail_event_seq(a->ev);
            int64_t t = trail_event_time(a->ev);
            if (q->held < DETECT_ALERT_SEQS)
                q->first[q->held] = seq;
            q->last[q->held % DETECT_ALERT_SEQS] = seq;
            if (q->held == 0 || t < q->first_t)
                q->first_t = t;
            if (q->held == 0 || t > q->last_t)
                q->last_t = t;
            q->held++;
            return;
        }
    struct grace *q = e->n_graces < MAX_GRACES ? calloc(1, sizeof *q) : NULL;
    if (q && (!(q->key = malloc(klen ? klen : 1)) ||
              !(q->values = calloc(n_values ? n_values : 1, sizeof *q->values)))) {
        free(q->key);
        free(q);
        q = NULL;
    }
    if (q) {
        q->r = r;
        q->hash = h;
        q->klen = klen;
        q->n_values = n_values;
        if (klen) /* a rule without group-by: the empty key, which may be NULL */
            memcpy(q->key, key, klen);
        for (size_t i = 0, off = 0; i < n_values; i++) {
            q->values[i] = q->key + off;
            off += strlen(q->key + off) + 1;
        }
        /* from the firing event's own time: an event with a forged time far ahead moves
           "now" and so ends graces early (more alerts), never holds others back */
        q->until = trail_event_time(a->ev) + r->grace_us;
        q->fired_seq = trail_event_seq(a->ev);
        q->next = *slot;
        *slot = q;
        e->n_graces++;
        if (q->until < e->next_due)
            e->next_due = q->until;
        a->grace_until_us = q->until;
    }
    /* without memory for a grace, the alert goes as if the rule had none */
    alert(ctx, a);
    e->alerted++;
}

/* Close the graces that end by now (all of them when all): a summary for each that held
   firings back, ev being the event that made it due. */
static void close_graces(struct detect_engine *e, bool all, const struct trail_event *ev,
                         detect_alert_fn alert, void *ctx)
{
    if (!all && e->now < e->next_due)
        return;
    e->next_due = INT64_MAX;
    for (size_t b = 0; b < e->n_gb; b++)
        for (struct grace **p = &e->gb[b]; *p;) {
            struct grace *q = *p;
            if (!all && q->until > e->now) {
                if (q->until < e->next_due)
                    e->next_due = q->until;
                p = &q->next;
                continue;
            }
            *p = q->next;
            e->n_graces--;
            if (q->held) {
                size_t nf = q->held < DETECT_ALERT_SEQS ? q->held : DETECT_ALERT_SEQS;
                uint64_t rest = q->held - nf;
                size_t nl = rest < DETECT_ALERT_SEQS ? rest : DETECT_ALERT_SEQS;
                for (size_t i = 0; i < nl; i++)
                    e->scratch_last[i] = q->last[(q->held - nl + i) % DETECT_ALERT_SEQS];
                struct detect_alert a = {.rule = q->r,
                                         .ev = ev,
                                         .group_values = q->values,
                                         .n_group = q->n_values,
                                         .window_start_us = q->first_t,
                                         .window_end_us = q->last_t,
                                         .count = q->held,
                                         .n_seqs = q->held,
                                         .first_seqs = q->first,
                                         .n_first = nf,
                                         .last_seqs = e->scratch_last,
                                         .n_last = nl,
                                         .grace_until_us = q->until,
                                         .summary = true,
                                         .updates_seq = q->fired_seq};
                alert(ctx, &a);
                e->alerted++;
            }
            free(q->key);
            free(q->values);
            free(q);
        }
}

static void alert_simple(struct detect_engine *e, const struct detect_rule *r,
                         const struct trail_event *ev, detect_alert_fn alert, void *ctx)
{
    uint64_t seq = trail_event_seq(ev);
    int64_t t = trail_event_time(ev);
    struct detect_alert a = {.rule = r,
                             .ev = ev,
                             .window_start_us = t,
                             .window_end_us = t,
                             .count = 1,
                             .n_seqs = 1,
                             .first_seqs = &seq,
                             .n_first = 1,
                             .last_seqs = &seq,
                             .n_last = 0};
    emit(e, "", 0, 0, &a, alert, ctx);
}

static void alert_group(struct detect_engine *e, const struct corr *c, struct group *g,
                        uint64_t count, const struct trail_event *ev, detect_alert_fn alert,
                        void *ctx)
{
    struct detect_alert a = {.rule = c->r,
                             .ev = ev,
                             .group_values = g->values,
                             .n_group = c->r->n_group_by,
                             .count = count,
                             .n_seqs = g->n};
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = g->head; i < g->head + g->n; i++) {
        lo = g->e[i].t < lo ? g->e[i].t : lo;
        hi = g->e[i].t > hi ? g->e[i].t : hi;
    }
    a.window_start_us = lo;
    a.window_end_us = hi;
    /* the first and the last DETECT_ALERT_SEQS, without citing one twice */
    size_t nf = g->n < DETECT_ALERT_SEQS ? g->n : DETECT_ALERT_SEQS;
    size_t nl = g->n - nf < DETECT_ALERT_SEQS ? g->n - nf : DETECT_ALERT_SEQS;
    for (size_t i = 0; i < nf; i++)
        e->scratch_first[i] = g->e[g->head + i].seq;
    for (size_t i = 0; i < nl; i++)
        e->scratch_last[i] = g->e[g->head + g->n - nl + i].seq;
    a.first_seqs = e->scratch_first;
    a.n_first = nf;
    a.last_seqs = e->scratch_last;
    a.n_last = nl;
    for (size_t i = 0, off = 0; i < c->r->n_group_by; i++) {
        g->values[i] = g->key + off;
        off += strlen(g->key + off) + 1;
    }
    emit(e, g->key, g->klen, c->r->n_group_by, &a, alert, ctx);
}

/* detect_field_text() of the event being fed, through the engine's cache of its fields */
static int field_text(struct detect_engine *e, const struct trail_event *ev,
                      enum detect_field_kind kind, const char *name, const char **ret_text,
                      size_t *ret_len)
{
    for (size_t i = 0; i < e->n_fc; i++) {
        const struct fcached *f = &e->fc[i];
        if (f->kind == kind && (kind != DF_ATTR || strcmp(f->name, name) == 0)) {
            *ret_text = f->text;
            *ret_len = f->len;
            return f->present;
        }
    }
    if (e->n_fc == FIELD_CACHE) /* read as before; the caller uses the text at once */
        return detect_field_text(ev, kind, name, e->spill, sizeof e->spill, ret_text, ret_len);
    struct fcached *f = &e->fc[e->n_fc++];
    f->kind = kind;
    f->name = name;
    f->present = detect_field_text(ev, kind, name, f->buf, sizeof f->buf, &f->text, &f->len);
    *ret_text = f->text;
    *ret_len = f->len;
    return f->present;
}

/* One correlation on the event being fed: 1 when it fired, 0 when not, -ENOMEM. */
static int correlate(struct detect_engine *e, struct corr *c, const struct trail_event *ev,
                     detect_alert_fn alert, void *ctx)
{
    const struct detect_rule *r = c->r;
    bool any = false;
    for (size_t k = 0; k < r->n_corr_rules; k++)
        any |= e->matched[r->corr_refs[k]];
    if (!any)
        return 0;
    struct entry en = {.t = trail_event_time(ev), .seq = trail_event_seq(ev)};
    if (r->corr == DCT_VALUE_COUNT) {
        const char *v;
        size_t vl;
        /* an event without the field has no value to count */
        if (!field_text(e, ev, r->ccond.field_kind, r->ccond.field, &v, &vl))
            return 0;
        en.vhash = fnv(FNV_INIT, v, vl);
    }
    /* the group's key: each group-by value and a NUL */
    char kb[1024];
    size_t klen = 0;
    for (size_t i = 0; i < r->n_group_by; i++) {
        const char *v;
        size_t vl;
        field_text(e, ev, r->group_kinds[i], r->group_by[i], &v, &vl);
        if (memchr(v, '\0', vl))
            vl = strlen(v);
        if (vl > 255)
            vl = 255; /* a longer value is grouped by its start */
        memcpy(kb + klen, v, vl);
        klen += vl;
        kb[klen++] = '\0';
    }
    uint64_t h = detect_hash(kb, klen, 0);
    struct group *g = find_group(c, kb, klen, h, r->n_group_by);
    if (!g)
        return -ENOMEM;
    if (en.t > g->max_t)
        g->max_t = en.t;
    if (en.t > c->max_t)
        c->max_t = en.t;
    if (en.t < g->max_t - r->timespan_us)
        return 0; /* too late for the window */
    expire(c, g);
    for (size_t k = 0; k < r->n_corr_rules; k++) {
        if (!e->matched[r->corr_refs[k]])
            continue;
        en.rule_k = (uint32_t)k;
        if (push(c, g, &en) < 0)
            return -ENOMEM;
        if (r->corr == DCT_EVENT_COUNT || r->corr == DCT_VALUE_COUNT)
            break; /* one event counts once, whichever of the rules it matched */
    }
    uint64_t n = measure(c, g);
    bool fired = r->corr == DCT_TEMPORAL_ORDERED ? n == r->n_corr_rules : cond_holds(&r->ccond, n);
    if (fired) {
        if (!r->referenced)
            alert_group(e, c, g, n, ev, alert, ctx);
        reset(g);
    }
    if (++c->adds % 1024 == 0)
        sweep(c);
    return fired;
}

int detect_engine_feed(struct detect_engine *e, const struct trail_event *ev, detect_alert_fn alert,
                       void *ctx)
{
    const struct detect_rules *rs = e->rs;
    uint64_t before = e->alerted;
    /* trail's alerts are never evaluated: a rule over them would feed on its own output */
    if (trail_event_is_own(ev) && strcmp(trail_event_id(ev), "trail_alert") == 0)
        return 0;
    if (trail_event_time(ev) > e->now)
        e->now = trail_event_time(ev);
    close_graces(e, false, ev, alert, ctx);
    while (e->n_set)
        e->matched[e->set[--e->n_set]] = false;
    e->n_fc = 0;
    /* only the rules that the event's id and origin leave open (index.c), in the set's
       order, so that alerts come in the order of a test of every rule */
    const uint32_t *plan;
    size_t n_plan = detect_index_get(e->index, ev, &plan);
    for (size_t k = 0; k < n_plan; k++) {
        uint32_t i = plan[k] >> 1;
        const struct detect_rule *r = rs->rules[i];
        if (!(plan[k] & 1) && !detect_match(r, ev))
            continue;
        e->matched[i] = true;
        e->set[e->n_set++] = i;
        if (!r->referenced)
            alert_simple(e, r, ev, alert, ctx);
    }
    /* a correlation counts only the events that its rules matched */
    for (size_t i = 0; e->n_set && i < e->n_corrs; i++) {
        int f = correlate(e, &e->corrs[i], ev, alert, ctx);
        if (f < 0)
            return f;
        if (f > 0) {
            e->matched[e->corrs[i].index] = true;
            e->set[e->n_set++] = (uint32_t)e->corrs[i].index;
        }
    }
    return (int)(e->alerted - before);
}

int detect_engine_skim(struct detect_engine *e, const char *id, size_t id_len, bool own,
                       int severity, int64_t time_us)
{
    /* as detect_engine_feed: an alert is not evaluated and moves nothing */
    if (own && id_len == 11 && memcmp(id, "trail_alert", 11) == 0)
        return 0;
    /* an id with a NUL reads shorter once decoded: feed it and let the event say */
    if (memchr(id, '\0', id_len))
        return 1;
    const uint32_t *plan;
    if (detect_index_plan(e->index, id, id_len, own, severity, &plan) > 0)
        return 1;
    int64_t now = time_us > e->now ? time_us : e->now;
    /* a grace that its time ends makes a summary, which cites the record: feed it */
    if (now >= e->next_due)
        return 1;
    /* what feeding it would have done: no rule selects it, so no correlation counts it */
    e->now = now;
    return 0;
}

int detect_engine_finish(struct detect_engine *e, const struct trail_event *ev,
                         detect_alert_fn alert, void *ctx)
{
    uint64_t before = e->alerted;
    if (ev)
        close_graces(e, true, ev, alert, ctx);
    return (int)(e->alerted - before);
}

/* the timespan of r added along its longest chain of correlations */
static int64_t chain_span(const struct detect_rules *rs, const struct detect_rule *r, int depth)
{
    int64_t best = 0;
    for (size_t i = 0; r->corr && r->corr_refs && depth < 34 && i < r->n_corr_rules; i++) {
        int64_t x = chain_span(rs, rs->rules[r->corr_refs[i]], depth + 1);
        best = x > best ? x : best;
    }
    return r->timespan_us + best;
}

int64_t detect_rules_replay_us(const struct detect_rules *rs)
{
    int64_t m = 0;
    for (size_t i = 0; i < rs->n_rules; i++) {
        const struct detect_rule *r = rs->rules[i];
        int64_t x = r->applicable ? chain_span(rs, r, 0) + r->grace_us : 0;
        m = x > m ? x : m;
    }
    return m;
}
