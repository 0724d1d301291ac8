/*
 * index.c - struct trail_index: a store handle's indexes, open for
 * searching and counting.
 *
 * Not for: the filter language and the predicate (query.c), building and
 * reading one segment's index (index_build.c, index_file.c).
 *
 * What it keeps, per segment of the store (struct iseg):
 *   sealed  the .seg file, its block table, and its index: the .idx file
 *           mapped in place, or (missing or damaged) one built in memory
 *           from the blocks (and written again when the handle is a
 *           writer's);
 *   live    the .open file (or, once sealed, until its .idx is there), the
 *           file offset of each record, and a builder that indexes records
 *           as a refresh finds them (up to the durable seq for a writer's
 *           handle, up to the last complete frame for a reader's); once a
 *           later segment exists and every record is indexed, the builder
 *           is replaced by its serialized .idx form (compact_live).
 * The horizon is the last seq up to which every record is indexed;
 * searches look at nothing past it, so what they answer is a consistent
 * prefix of the store.
 *
 * A search (struct trail_results) plans one segment at a time: the units
 * (blocks) whose seq range, time range, severities and event ids can
 * match, narrowed by the word terms of its where and text clauses, and,
 * when an indexed key=value is asked for, the exact seqs of its value
 * term. It then reads only those records (through a cache of decompressed
 * blocks for sealed segments) and runs the exact predicate on each. A
 * block of a version 2 segment is decompressed one sub-frame (~32 KiB) at
 * a time, only the sub-frames whose records a search reads
 * (cblock_need), so a cold search of 100 scattered records decompresses
 * about 100 sub-frames instead of the 1 MiB blocks that hold them.
 *
 * Locks: ix->lock guards the segment list and refreshes; each live
 * segment's rwlock guards its builder and offsets (a refresh writes, a
 * search reads); the cache has its own mutex. A search holds references
 * to the segments it saw, so a purge or an upgrade from live to sealed
 * never pulls data from under it.
 */
#include "base/fileio.h"
#include "codec/codec.h"
#include "query/query.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define DEFAULT_CACHE  (64u << 20)
#define CACHE_BUCKETS  1024
#define HOUR_US        3600000000LL
#define CATCH_UP_BATCH 4096
#define SPARE_MAX      8

/* ---- segments ---- */

struct iseg {
    atomic_int refs;
    uint64_t first_seq;
    int fd;
    /* sealed */
    int sealed;
    struct seg_sealed ss;
    void *map; /* the .idx mapped */
    size_t map_len;
    dev_t map_dev; /* the file mapped, to notice one written again */
    ino_t map_ino;
    struct trail_buf own; /* or its bytes built in memory */
    /* the index: a view (sealed) or a builder (live) */
    struct qindex x;
    /* live */
    pthread_rwlock_t rw;
    struct qbuilder *b;
    uint64_t last_seq; /* indexed up to (first_seq - 1: none) */
    uint64_t *offs;    /* file offset of the frame of record first_seq + i */
    uint32_t *lens;    /* its record length */
    /* or, compacted (compact_live): the offset of each unit's first frame, each record's
       offset from it, and the end of the last frame; a length is the distance to the next */
    uint64_t *ubase;
    uint32_t *roff;
    uint64_t end_off;
    size_t cap_recs;
    struct frame_reader fr;
    int complete; /* a later segment exists and every record here is indexed */
};

struct cblock {
    uint64_t seg_first;
    uint32_t block;
    int refs;
    int in_table;
    uint64_t first_seq;
    uint32_t count;
    struct trail_buf raw; /* the decompressed block (version 2: the sub-frames read so far) */
    uint32_t *offs;       /* each record's frame in raw (version 2: of the sub-frames read) */
    size_t bytes;
    struct cblock *prev, *next, *hnext;
    /* version 2: the checked compressed bytes and which sub-frames are in raw */
    pthread_mutex_t lock; /* guards have, raw and offs of the sub-frames as they are read */
    struct trail_buf comp;
    struct seg_subframe *sub;
    uint32_t n_sub; /* 0: version 1, everything read at once */
    uint8_t *have;
    int raw_mapped;    /* version 2: raw is an anonymous mapping of its own (cache_get) */
    int raw_whole;     /* and it was read whole: every page of it touched */
    uint32_t n_have;   /* sub-frames read (under lock) */
    atomic_int loaded; /* every sub-frame read: no need to take lock again */
};

struct trail_index {
    struct trail_store *s;
    pthread_mutex_t lock;
    struct iseg **segs;
    size_t n_segs;
    uint64_t horizon;
    uint64_t rebuilt;

    pthread_mutex_t cache_lock;
    /* mappings of blocks read whole, evicted: every page touched, taken again by the next
       block read whole (no page faults, no zeroing); at most SPARE_MAX (~8 MiB) beside the
       cache's budget, the rest unmapped */
    void *spare[SPARE_MAX];
    size_t spare_cap[SPARE_MAX];
    int n_spare;
    struct cblock *table[CACHE_BUCKETS];
    struct cblock *lru_head, *lru_tail;
    size_t cache_bytes, cache_max;
    uint64_t hits, misses;
    atomic_uint_fast64_t vrolled; /* segments counted by an attribute from value rollups */
};

static void iseg_unref(struct iseg *g)
{
    if (!g || atomic_fetch_sub(&g->refs, 1) != 1)
        return;
    if (g->b) {
        qbuilder_free(g->b);
        pthread_rwlock_destroy(&g->rw);
    } else {
        qindex_free(&g->x);
    }
    if (g->map)
        munmap(g->map, g->map_len);
    trail_buf_free(&g->own);
    seg_sealed_free(&g->ss);
    frame_reader_free(&g->fr);
    free(g->offs);
    free(g->lens);
    free(g->ubase);
    free(g->roff);
    if (g->fd >= 0)
        close(g->fd);
    free(g);
}

/* Do the index's units line up with the segment's blocks? */
static int units_match_blocks(const struct qindex *x, const struct seg_sealed *ss)
{
    if (x->first_seq != ss->first_seq || x->last_seq != ss->last_seq || x->n_units != ss->n_blocks)
        return 0;
    for (uint32_t i = 0; i < x->n_units; i++) {
        struct qunit u;
        qindex_unit(x, i, &u);
        if (u.first_seq != ss->blocks[i].first_seq || u.count != ss->blocks[i].count)
            return 0;
    }
    return 1;
}

/* Map DIR/seg-X.idx and check it against the segment. 0, or why not. */
static int map_idx(struct trail_index *ix, struct iseg *g)
{
    char path[4200];
    idx_path(ix->s, g->first_seq, path, sizeof(path));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int r = 0;
    if (fstat(fd, &st) < 0)
        r = -errno;
    else if (st.st_size <= 0 || st.st_size > (1LL << 32))
        r = TRAIL_E_CORRUPT;
    g->map_dev = st.st_dev;
    g->map_ino = st.st_ino;
    void *m = MAP_FAILED;
    if (r == 0) {
        m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED)
            r = -errno;
    }
    close(fd);
    if (r < 0)
        return r;
    r = qindex_view(m, (size_t)st.st_size, ix->s->store_id, &g->x);
    if (r == 0 && !units_match_blocks(&g->x, &g->ss)) {
        qindex_free(&g->x);
        r = TRAIL_E_CORRUPT;
    }
    if (r < 0) {
        munmap(m, (size_t)st.st_size);
        return r;
    }
    g->map = m;
    g->map_len = (size_t)st.st_size;
    return 0;
}

/*
 * A sealed segment. With need_idx, a missing or damaged .idx is built now
 * (and written by a writer); without, its absence is TRAIL_E_NOT_FOUND.
 */
static int open_sealed(struct trail_index *ix, uint64_t first_seq, int need_idx, struct iseg **ret)
{
    char path[4200];
    struct iseg *g = calloc(1, sizeof(*g));
    int r;
    if (!g)
        return -ENOMEM;
    atomic_init(&g->refs, 1);
    g->first_seq = first_seq;
    g->sealed = 1;
    store_seg_path(ix->s, first_seq, ".seg", path, sizeof(path));
    g->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (g->fd < 0) {
        r = errno == ENOENT ? TRAIL_E_NOT_FOUND : -errno;
        goto fail;
    }
    if ((r = seg_sealed_load(g->fd, &g->ss)) < 0)
        goto fail;
    r = map_idx(ix, g);
    if (r < 0 && r != -ENOMEM) {
        if (!need_idx) {
            r = TRAIL_E_NOT_FOUND;
            goto fail;
        }
        if ((r = idx_build_sealed(ix->s, first_seq, &g->own)) < 0)
            goto fail;
        if ((r = qindex_view((const uint8_t *)g->own.data, g->own.len, ix->s->store_id, &g->x)) < 0)
            goto fail;
        if (!units_match_blocks(&g->x, &g->ss)) {
            r = TRAIL_E_CORRUPT;
            goto fail;
        }
        ix->rebuilt++;
        if (!ix->s->read_only)
            idx_write(ix->s, first_seq, &g->own);
    }
    if (r < 0)
        goto fail;
    *ret = g;
    return 0;
fail:
    g->refs = 1;
    iseg_unref(g);
    return r;
}

static int open_live(struct trail_index *ix, uint64_t first_seq, struct iseg **ret)
{
    char path[4200];
    struct iseg *g = calloc(1, sizeof(*g));
    int r;
    if (!g)
        return -ENOMEM;
    atomic_init(&g->refs, 1);
    g->fd = -1;
    g->first_seq = first_seq;
    g->last_seq = first_seq - 1;
    pthread_rwlock_init(&g->rw, NULL);
    if ((r = qbuilder_new(ix->s->cat, first_seq, &g->b)) < 0) {
        pthread_rwlock_destroy(&g->rw);
        g->b = NULL;
        goto fail;
    }
    g->x.live = 1;
    g->x.b = g->b;
    store_seg_path(ix->s, first_seq, ".open", path, sizeof(path));
    g->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (g->fd < 0) {
        r = errno == ENOENT ? TRAIL_E_NOT_FOUND : -errno;
        goto fail;
    }
    struct seg_header h;
    if ((r = seg_header_read(g->fd, &h)) < 0)
        goto fail;
    if (h.first_seq != first_seq) {
        r = TRAIL_E_CORRUPT;
        goto fail;
    }
    g->fr = (struct frame_reader){.fd = g->fd, .off = h.header_len, .end = UINT64_MAX};
    *ret = g;
    return 0;
fail:
    g->refs = 1;
    iseg_unref(g);
    return r;
}

/* Index the live segment's new records, up to limit (and the end of its frames). */
static int live_catch_up(struct iseg *g, uint64_t limit, uint64_t next_first)
{
    int r = 0;
    if (g->complete || g->last_seq >= limit)
        goto done;
    pthread_rwlock_wrlock(&g->rw);
    g->fr.buf.len = 0; /* read what is on the file now, not what a buffer held */
    size_t n_batch = 0;
    while (g->last_seq < limit) {
        const uint8_t *rec;
        uint32_t len;
        uint64_t at = g->fr.off;
        int st = frame_next(&g->fr, &rec, &len);
        if (st < 0) {
            r = st;
            break;
        }
        if (st != FRAME_OK || record_seq(rec) != g->last_seq + 1) {
            g->fr.off = at;
            break;
        }
        size_t i = (size_t)(g->last_seq + 1 - g->first_seq);
        if (i == g->cap_recs) {
            size_t cap = g->cap_recs ? g->cap_recs * 2 : 4096;
            uint64_t *o = realloc(g->offs, cap * sizeof(*o));
            if (!o) {
                r = -ENOMEM;
                g->fr.off = at;
                break;
            }
            g->offs = o;
            uint32_t *l = realloc(g->lens, cap * sizeof(*l));
            if (!l) {
                r = -ENOMEM;
                g->fr.off = at;
                break;
            }
            g->lens = l;
            g->cap_recs = cap;
        }
        if (i % QLIVE_UNIT == 0)
            r = qbuilder_unit(g->b);
        else if (i % QLIVE_PART == 0)
            qbuilder_part(g->b);
        if (r < 0 || (r = qbuilder_add(g->b, rec, len)) < 0) {
            g->fr.off = at;
            break;
        }
        g->offs[i] = at;
        g->lens[i] = len;
        g->last_seq++;
        if (++n_batch == CATCH_UP_BATCH) {
            /* let searches in between batches */
            n_batch = 0;
            pthread_rwlock_unlock(&g->rw);
            pthread_rwlock_wrlock(&g->rw);
        }
    }
    pthread_rwlock_unlock(&g->rw);
done:
    if (next_first && g->last_seq + 1 == next_first)
        g->complete = 1;
    return r;
}

/*
 * A complete live segment (a later one exists, every record indexed) in
 * less memory: its builder, tens of MB for a full segment, serialized into
 * the .idx form (what the sealer will write, a few hundred KB) and read as
 * a view, beside the same frame offsets. A store left with a backlog of
 * unsealed segments (the sealer runs at idle priority) so costs a reader
 * the size of its indexes, not of its builders. A new iseg, so that
 * searches that hold the old one go on with it. 0 and *ret, or -errno.
 */
static int compact_live(struct trail_index *ix, struct iseg *g, struct iseg **ret)
{
    struct iseg *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    atomic_init(&c->refs, 1);
    c->first_seq = g->first_seq;
    c->last_seq = g->last_seq;
    c->complete = 1;
    pthread_rwlock_init(&c->rw, NULL);
    size_t n = (size_t)(g->last_seq + 1 - g->first_seq);
    size_t n_units = (n + QLIVE_UNIT - 1) / QLIVE_UNIT;
    int r = 0;
    c->fd = dup(g->fd);
    c->roff = malloc((n ? n : 1) * sizeof(*c->roff));
    c->ubase = malloc((n_units ? n_units : 1) * sizeof(*c->ubase));
    if (c->fd < 0 || !c->roff || !c->ubase) {
        r = c->fd < 0 ? -errno : -ENOMEM;
        goto fail;
    }
    pthread_rwlock_rdlock(&g->rw);
    for (size_t i = 0; i < n && r == 0; i++) {
        /* the frames follow each other (a length is the distance to the next); a unit of
           QLIVE_UNIT records spans far less than 4 GiB */
        if (i + 1 < n && g->offs[i] + TRAIL_FRAME_HEAD + g->lens[i] != g->offs[i + 1])
            r = TRAIL_E_CORRUPT;
        if (i % QLIVE_UNIT == 0)
            c->ubase[i / QLIVE_UNIT] = g->offs[i];
        c->roff[i] = (uint32_t)(g->offs[i] - c->ubase[i / QLIVE_UNIT]);
    }
    c->end_off = n ? g->offs[n - 1] + TRAIL_FRAME_HEAD + g->lens[n - 1] : 0;
    if (r == 0)
        r = qbuilder_serialize(g->b, ix->s->store_id, &c->own);
    pthread_rwlock_unlock(&g->rw);
    if (r == 0)
        r = qindex_view((const uint8_t *)c->own.data, c->own.len, ix->s->store_id, &c->x);
    if (r < 0)
        goto fail;
    *ret = c;
    return 0;
fail:
    iseg_unref(c);
    return r;
}

/*
 * Was g's .idx, mapped in an older version, written again since (a
 * writer's sweep rewrites older indexes in the background)?
 */
static int idx_upgraded(struct trail_index *ix, const struct iseg *g)
{
    if (!g->sealed || !g->map || g->x.version >= QIDX_VERSION)
        return 0;
    char path[4200];
    struct stat st;
    idx_path(ix->s, g->first_seq, path, sizeof(path));
    return stat(path, &st) == 0 && (st.st_ino != g->map_ino || st.st_dev != g->map_dev);
}

/*
 * What the segments are: the writer's own list, or for a reader the
 * directory as it is now (store_list_segments).
 */
static int list_entries(struct trail_index *ix, struct store_found **ret, size_t *ret_n)
{
    struct trail_store *s = ix->s;
    if (s->read_only)
        return store_list_segments(s, ret, ret_n, NULL);
    pthread_mutex_lock(&s->seg_lock);
    size_t n = s->n_segs;
    struct store_found *e = malloc((n ? n : 1) * sizeof(*e));
    for (size_t i = 0; e && i < n; i++)
        e[i] = (struct store_found){.first_seq = s->segs[i].first_seq,
                                    .has_seg = s->segs[i].sealed,
                                    .has_open = !s->segs[i].sealed};
    pthread_mutex_unlock(&s->seg_lock);
    if (!e)
        return -ENOMEM;
    *ret = e;
    *ret_n = n;
    return 0;
}

/* Needs ix->lock. */
static int refresh_locked(struct trail_index *ix)
{
    struct store_found *e = NULL;
    size_t n = 0;
    int r = list_entries(ix, &e, &n);
    if (r < 0)
        return r;
    struct iseg **next = calloc(n ? n : 1, sizeof(*next));
    if (!next) {
        free(e);
        return -ENOMEM;
    }
    size_t j = 0, k = 0;
    for (size_t i = 0; i < n; i++) {
        while (j < ix->n_segs && ix->segs[j]->first_seq < e[i].first_seq)
            iseg_unref(ix->segs[j++]); /* purged */
        struct iseg *old =
            j < ix->n_segs && ix->segs[j]->first_seq == e[i].first_seq ? ix->segs[j++] : NULL;
        struct iseg *g = old;
        if (old && !old->sealed && e[i].has_seg) {
            /* sealed since: switch to its .idx once the sealer has written it; until then
               the live one serves (it reads the .open it holds open, unlinked or not, and
               catches up to the segment's end below) */
            struct iseg *sg;
            r = open_sealed(ix, e[i].first_seq, 0, &sg);
            if (r == 0) {
                iseg_unref(old);
                g = sg;
            } else if (r != TRAIL_E_NOT_FOUND) {
                next[k++] = old;
                goto fail;
            }
        } else if (old && idx_upgraded(ix, old)) {
            /* searches from now on read the new file (those running keep the old) */
            struct iseg *sg;
            if (open_sealed(ix, e[i].first_seq, 0, &sg) == 0) {
                iseg_unref(old);
                g = sg;
            }
        } else if (!old) {
            if (e[i].has_seg) {
                r = open_sealed(ix, e[i].first_seq, 1, &g);
                if (r == TRAIL_E_NOT_FOUND && e[i].has_open)
                    r = open_live(ix, e[i].first_seq, &g); /* sealed and gone meanwhile? */
            } else {
                r = open_live(ix, e[i].first_seq, &g);
                if (r == TRAIL_E_NOT_FOUND) {
                    /* sealed between listing and opening */
                    r = open_sealed(ix, e[i].first_seq, 1, &g);
                }
            }
            if (r == TRAIL_E_NOT_FOUND)
                continue; /* purged meanwhile */
            if (r == TRAIL_E_CORRUPT && e[i].has_seg) {
                /* a damaged sealed segment: known damage, searched around (its run ends
                   where the next file begins) */
                if (i + 1 < n) {
                    char name[48];
                    snprintf(name, sizeof(name), "seg-%016" PRIx64 ".seg", e[i].first_seq);
                    r = store_damage_add(ix->s, e[i].first_seq, e[i + 1].first_seq - 1, name,
                                         "header, index or trailer fails its check", 0, 0);
                    if (r < 0)
                        goto fail;
                }
                continue;
            }
            if (r < 0)
                goto fail;
        }
        next[k++] = g;
    }
    while (j < ix->n_segs)
        iseg_unref(ix->segs[j++]);
    free(ix->segs);
    ix->segs = next;
    ix->n_segs = k;
    next = NULL;

    /* catch the live segments up, and find the horizon */
    uint64_t limit = ix->s->read_only ? UINT64_MAX : trail_store_durable_seq(ix->s);
    uint64_t horizon = ix->n_segs ? ix->segs[0]->first_seq - 1 : trail_store_first_seq(ix->s) - 1;
    for (size_t i = 0; i < ix->n_segs; i++) {
        struct iseg *g = ix->segs[i];
        if (g->first_seq > horizon + 1 && store_damage_covers(ix->s, horizon + 1, g->first_seq - 1))
            horizon = g->first_seq - 1; /* known damage (or quarantined): searched around */
        if (g->first_seq != horizon + 1)
            break;
        if (g->sealed) {
            horizon = g->ss.last_seq;
            continue;
        }
        uint64_t next_first = i + 1 < ix->n_segs ? ix->segs[i + 1]->first_seq : 0;
        if ((r = live_catch_up(g, limit, next_first)) < 0)
            goto fail;
        horizon = g->last_seq;
        if (!g->complete)
            break;
        struct iseg *c = NULL;
        if (g->b && compact_live(ix, g, &c) == 0) {
            /* (kept as it is when there is no memory to compact it: it still answers) */
            ix->segs[i] = c;
            iseg_unref(g);
        }
    }
    if (!ix->s->read_only && horizon > limit)
        horizon = limit;
    ix->horizon = horizon;
    r = 0;
fail:
    if (next) {
        /* forget everything (searches keep their references); the next refresh starts over */
        for (size_t i = 0; i < k; i++)
            iseg_unref(next[i]);
        for (; j < ix->n_segs; j++)
            iseg_unref(ix->segs[j]);
        free(next);
        free(ix->segs);
        ix->segs = NULL;
        ix->n_segs = 0;
        ix->horizon = 0;
    }
    free(e);
    return r;
}

int trail_index_refresh(struct trail_index *ix)
{
    pthread_mutex_lock(&ix->lock);
    int r = refresh_locked(ix);
    pthread_mutex_unlock(&ix->lock);
    return r;
}

uint64_t trail_index_horizon(struct trail_index *ix)
{
    pthread_mutex_lock(&ix->lock);
    uint64_t h = ix->horizon;
    pthread_mutex_unlock(&ix->lock);
    return h;
}

uint64_t qindex_vrolled(struct trail_index *ix)
{
    return atomic_load(&ix->vrolled);
}

struct trail_store *query_index_store(struct trail_index *ix)
{
    return ix->s;
}

int trail_index_open(struct trail_store *store, const struct trail_index_opts *opts,
                     struct trail_index **ret)
{
    struct trail_index *ix = calloc(1, sizeof(*ix));
    if (!ix)
        return -ENOMEM;
    ix->s = store;
    ix->cache_max = opts && opts->cache_bytes ? opts->cache_bytes : DEFAULT_CACHE;
    pthread_mutex_init(&ix->lock, NULL);
    pthread_mutex_init(&ix->cache_lock, NULL);
    *ret = ix;
    return 0;
}

static void cblock_free(struct cblock *c)
{
    if (c->raw_mapped)
        munmap(c->raw.data, c->raw.cap);
    else
        trail_buf_free(&c->raw);
    trail_buf_free(&c->comp);
    free(c->offs);
    free(c->sub);
    free(c->have);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

void trail_index_close(struct trail_index *ix)
{
    if (!ix)
        return;
    for (size_t i = 0; i < ix->n_segs; i++)
        iseg_unref(ix->segs[i]);
    free(ix->segs);
    for (struct cblock *c = ix->lru_head, *nx; c; c = nx) {
        nx = c->next;
        cblock_free(c);
    }
    for (int i = 0; i < ix->n_spare; i++)
        munmap(ix->spare[i], ix->spare_cap[i]);
    pthread_mutex_destroy(&ix->lock);
    pthread_mutex_destroy(&ix->cache_lock);
    free(ix);
}

int trail_index_stats(struct trail_index *ix, struct trail_index_stats *ret)
{
    struct trail_index_stats st = {0};
    pthread_mutex_lock(&ix->lock);
    st.segments = ix->n_segs;
    st.rebuilt = ix->rebuilt;
    st.horizon = ix->horizon;
    for (size_t i = 0; i < ix->n_segs; i++) {
        struct iseg *g = ix->segs[i];
        if (g->map) {
            st.idx_files++;
            st.idx_bytes += g->map_len;
        }
        if (!g->sealed)
            st.live_records += g->last_seq + 1 - g->first_seq;
    }
    pthread_mutex_unlock(&ix->lock);
    pthread_mutex_lock(&ix->cache_lock);
    st.cache_bytes = ix->cache_bytes;
    st.cache_hits = ix->hits;
    st.cache_misses = ix->misses;
    pthread_mutex_unlock(&ix->cache_lock);
    *ret = st;
    return 0;
}

/* ---- the block cache ---- */

static size_t cache_slot(uint64_t seg_first, uint32_t block)
{
    return (size_t)(((seg_first * 0x9E3779B97F4A7C15ull) ^ block) * 0xff51afd7ed558ccdull >> 40) %
           CACHE_BUCKETS;
}

static void lru_unlink(struct trail_index *ix, struct cblock *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        ix->lru_head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        ix->lru_tail = c->prev;
    c->prev = c->next = NULL;
}

static void lru_push_front(struct trail_index *ix, struct cblock *c)
{
    c->prev = NULL;
    c->next = ix->lru_head;
    if (ix->lru_head)
        ix->lru_head->prev = c;
    ix->lru_head = c;
    if (!ix->lru_tail)
        ix->lru_tail = c;
}

static void table_remove(struct trail_index *ix, struct cblock *c)
{
    struct cblock **pp = &ix->table[cache_slot(c->seg_first, c->block)];
    while (*pp && *pp != c)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = c->hnext;
    c->in_table = 0;
}

/* Needs cache_lock: drop unused blocks, oldest first, while over the limit. */
static void cache_evict(struct trail_index *ix)
{
    struct cblock *c = ix->lru_tail;
    while (c && ix->cache_bytes > ix->cache_max) {
        struct cblock *prev = c->prev;
        if (c->refs == 0) {
            lru_unlink(ix, c);
            table_remove(ix, c);
            ix->cache_bytes -= c->bytes;
            if (c->raw_whole && ix->n_spare < SPARE_MAX) {
                ix->spare[ix->n_spare] = c->raw.data;
                ix->spare_cap[ix->n_spare++] = c->raw.cap;
                c->raw_mapped = 0;
                c->raw.data = NULL;
            }
            cblock_free(c);
        }
        c = prev;
    }
}

static void cache_release(struct trail_index *ix, struct cblock *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&ix->cache_lock);
    c->refs--;
    if (ix->cache_bytes > ix->cache_max)
        cache_evict(ix);
    pthread_mutex_unlock(&ix->cache_lock);
}

size_t qindex_cache_drop(struct trail_index *ix)
{
    pthread_mutex_lock(&ix->cache_lock);
    size_t max = ix->cache_max;
    ix->cache_max = 0;
    cache_evict(ix);
    ix->cache_max = max;
    size_t left = ix->cache_bytes;
    pthread_mutex_unlock(&ix->cache_lock);
    return left;
}

/*
 * The frames of records [first, first + count) of c at raw[off, end):
 * each one's length and seq checked, its offset noted. Not each frame's
 * CRC-32C: these bytes were decompressed from a block whose CRC-32C over
 * its compressed bytes cache_get checked, which the sealer wrote over
 * frames whose CRCs it had checked, so a CRC of each frame again would
 * find nothing that one did not (an export spent ~5% of its time on it).
 * trail verify checks every frame's CRC, and the leaf hash of its record.
 */
static int check_frames(struct cblock *c, size_t off, size_t end, uint32_t first, uint32_t count)
{
    for (uint32_t i = first; i < first + count; i++) {
        const uint8_t *f = (const uint8_t *)c->raw.data + off;
        uint32_t len;
        if (end - off < TRAIL_FRAME_HEAD || (len = get_u32(f)) > end - off - 8 ||
            len < TRAIL_RECORD_MIN || record_seq(f + 8) != c->first_seq + i)
            return TRAIL_E_CORRUPT;
        c->offs[i] = (uint32_t)off;
        off += TRAIL_FRAME_HEAD + len;
    }
    return off == end ? 0 : TRAIL_E_CORRUPT;
}

/*
 * Make records [i, j] of c readable: a version 2 block's sub-frames that
 * hold them are decompressed and checked (once; c->lock, since searches
 * share c). blk is c's block in the caller's segment (its dictionary).
 */
static int cblock_need(struct trail_index *ix, struct cblock *c, const struct iseg *g,
                       ZSTD_DCtx *dctx, uint32_t i, uint32_t j)
{
    const struct seg_block *blk = &g->ss.blocks[c->block];
    if (!c->n_sub || atomic_load_explicit(&c->loaded, memory_order_acquire))
        return 0;
    uint32_t lo = 0, hi = c->n_sub;
    while (hi - lo > 1) { /* the last sub-frame starting at or before i */
        uint32_t mid = (lo + hi) / 2;
        if (c->sub[mid].first <= i)
            lo = mid;
        else
            hi = mid;
    }
    size_t added = 0;
    int r = 0;
    pthread_mutex_lock(&c->lock);
    for (uint32_t k = lo; k < c->n_sub && c->sub[k].first <= j && r == 0; k++) {
        const struct seg_subframe *f = &c->sub[k];
        if (c->have[k])
            continue;
        uint8_t *dst = (uint8_t *)c->raw.data + f->raw_off;
        r = seg_subframe_read(blk, (const uint8_t *)c->comp.data, f, dctx, dst);
        if (r == 0)
            r = check_frames(c, f->raw_off, (size_t)f->raw_off + f->raw_len, f->first, f->count);
        if (r == 0) {
            c->have[k] = 1;
            added += f->raw_len;
            if (++c->n_have == c->n_sub)
                atomic_store_explicit(&c->loaded, 1, memory_order_release);
        }
    }
    pthread_mutex_unlock(&c->lock);
    if (added) {
        pthread_mutex_lock(&ix->cache_lock);
        c->bytes += added;
        if (c->in_table)
            ix->cache_bytes += added;
        pthread_mutex_unlock(&ix->cache_lock);
    }
    return r;
}

/* Block b of sealed segment g, its frames checked (version 2: as cblock_need reads them); held
 * until released. whole: the caller will read all of it. */
static int cache_get(struct trail_index *ix, struct iseg *g, uint32_t b, int whole, ZSTD_DCtx *dctx,
                     struct trail_buf *comp, struct cblock **ret)
{
    size_t slot = cache_slot(g->first_seq, b);
    pthread_mutex_lock(&ix->cache_lock);
    for (struct cblock *c = ix->table[slot]; c; c = c->hnext) {
        if (c->seg_first == g->first_seq && c->block == b) {
            c->refs++;
            lru_unlink(ix, c);
            lru_push_front(ix, c);
            ix->hits++;
            pthread_mutex_unlock(&ix->cache_lock);
            *ret = c;
            return 0;
        }
    }
    ix->misses++;
    pthread_mutex_unlock(&ix->cache_lock);

    const struct seg_block *blk = &g->ss.blocks[b];
    struct cblock *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    pthread_mutex_init(&c->lock, NULL);
    c->seg_first = g->first_seq;
    c->block = b;
    c->first_seq = blk->first_seq;
    c->count = blk->count;
    int r;
    if (blk->ddict) {
        /*
         * version 2: the compressed block in one read (one I/O a block when
         * the files are not in the page cache, where a read per sub-frame
         * would be one I/O a record), its CRC and table checked; each
         * sub-frame decompressed when a record of it is asked for
         * (cblock_need)
         */
        size_t got = 0;
        r = trail_buf_reserve(&c->comp, blk->comp_len);
        if (r == 0)
            r = io_pread_full(g->fd, c->comp.data, blk->comp_len, blk->offset, &got);
        if (r == 0 && (got != blk->comp_len || crc32c(0, c->comp.data, got) != blk->crc))
            r = TRAIL_E_CORRUPT;
        c->comp.len = got;
        if (r == 0)
            r = seg_block_frames(blk, (const uint8_t *)c->comp.data, got, &c->sub, &c->n_sub);
        if (r == -EAGAIN)
            r = TRAIL_E_CORRUPT;
        if (r == 0 && !(c->have = calloc(c->n_sub, 1)))
            r = -ENOMEM;
        /*
         * raw_len of address space, touched only where sub-frames land: a
         * mapping of its own, since memory from malloc may come back
         * touched (an arena's freed blocks stay resident, and blocks freed
         * by another thread, a search's read-ahead, stay in that thread's
         * arena), and once freed the mapping's pages go back at once. A
         * block read whole has its pages made at once (fewer page faults).
         */
        if (r == 0) {
            size_t need = blk->raw_len ? blk->raw_len : 1, cap = need;
            void *m = NULL;
            if (whole) {
                pthread_mutex_lock(&ix->cache_lock);
                for (int i = 0; i < ix->n_spare && !m; i++)
                    if (ix->spare_cap[i] >= need) {
                        m = ix->spare[i];
                        cap = ix->spare_cap[i];
                        ix->spare[i] = ix->spare[--ix->n_spare];
                        ix->spare_cap[i] = ix->spare_cap[ix->n_spare];
                    }
                pthread_mutex_unlock(&ix->cache_lock);
                /* room for the next blocks' slightly longer ones when it is a spare again */
                if (!m)
                    cap = (need + (64u << 10)) & ~(size_t)((64u << 10) - 1);
            }
            if (!m)
                m = mmap(NULL, cap, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | (whole ? MAP_POPULATE : 0), -1, 0);
            if (m == MAP_FAILED) {
                r = -ENOMEM;
            } else {
                c->raw.data = m;
                c->raw.cap = cap;
                c->raw_mapped = 1;
                c->raw_whole = whole;
            }
        }
        if (r == 0 && !(c->offs = malloc(blk->count * sizeof(*c->offs))))
            r = -ENOMEM;
        c->raw.len = blk->raw_len;
        if (r < 0) {
            cblock_free(c);
            return r;
        }
        c->bytes =
            c->comp.cap + blk->count * sizeof(*c->offs) + c->n_sub * sizeof(*c->sub) + sizeof(*c);
    } else {
        r = seg_block_read(g->fd, blk, dctx, comp, &c->raw);
        if (r == 0 && !(c->offs = malloc(blk->count * sizeof(*c->offs))))
            r = -ENOMEM;
        if (r == 0)
            r = check_frames(c, 0, c->raw.len, 0, blk->count);
        if (r < 0) {
            cblock_free(c);
            return r;
        }
        c->bytes = c->raw.cap + blk->count * sizeof(*c->offs) + sizeof(*c);
    }
    c->refs = 1;
    pthread_mutex_lock(&ix->cache_lock);
    for (struct cblock *o = ix->table[slot]; o; o = o->hnext) {
        if (o->seg_first == g->first_seq && o->block == b) {
            /* another search read it meanwhile: use theirs */
            o->refs++;
            pthread_mutex_unlock(&ix->cache_lock);
            cblock_free(c);
            *ret = o;
            return 0;
        }
    }
    c->hnext = ix->table[slot];
    ix->table[slot] = c;
    c->in_table = 1;
    lru_push_front(ix, c);
    ix->cache_bytes += c->bytes;
    cache_evict(ix);
    pthread_mutex_unlock(&ix->cache_lock);
    *ret = c;
    return 0;
}

/* ---- read-ahead ---- */

/*
 * A bulk reader's helper (trail_results_write): while the search writes
 * the rows of one block, a thread of its own reads, checks and
 * decompresses the next block the search will read into the cache, so
 * that decompressing (a fifth of an export's time) runs beside the
 * writing on a second core. It is asked for one block at a time (a newer
 * request replaces one not yet started) and does nothing else: the search
 * still takes every block from the cache itself (waiting on the block's
 * lock if the helper is still at it), and a block the helper could not
 * read is the search's to find damaged.
 */
struct readahead {
    struct trail_index *ix;
    pthread_t th;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stop;
    struct iseg *g; /* the block asked for: b of sealed segment g (a reference held), or NULL */
    uint32_t b;
    ZSTD_DCtx *dctx;
    struct trail_buf comp;
};

static void *readahead_main(void *arg)
{
    struct readahead *ra = arg;
    pthread_mutex_lock(&ra->lock);
    for (;;) {
        while (!ra->stop && !ra->g)
            pthread_cond_wait(&ra->cond, &ra->lock);
        if (ra->stop)
            break;
        struct iseg *g = ra->g;
        uint32_t b = ra->b;
        ra->g = NULL;
        pthread_mutex_unlock(&ra->lock);
        struct cblock *c;
        if (cache_get(ra->ix, g, b, 1, ra->dctx, &ra->comp, &c) == 0) {
            cblock_need(ra->ix, c, g, ra->dctx, 0, c->count - 1);
            cache_release(ra->ix, c);
        }
        iseg_unref(g);
        pthread_mutex_lock(&ra->lock);
    }
    pthread_mutex_unlock(&ra->lock);
    return NULL;
}

static void readahead_free(struct readahead *ra)
{
    if (!ra)
        return;
    pthread_mutex_lock(&ra->lock);
    ra->stop = 1;
    pthread_cond_signal(&ra->cond);
    pthread_mutex_unlock(&ra->lock);
    pthread_join(ra->th, NULL);
    iseg_unref(ra->g);
    pthread_mutex_destroy(&ra->lock);
    pthread_cond_destroy(&ra->cond);
    ZSTD_freeDCtx(ra->dctx);
    trail_buf_free(&ra->comp);
    free(ra);
}

/* A helper for ix, or NULL when there can be none (no memory, no thread): reading goes on
   without it. */
static struct readahead *readahead_new(struct trail_index *ix)
{
    struct readahead *ra = calloc(1, sizeof(*ra));
    if (!ra)
        return NULL;
    ra->ix = ix;
    pthread_mutex_init(&ra->lock, NULL);
    pthread_cond_init(&ra->cond, NULL);
    if (!(ra->dctx = ZSTD_createDCtx()) || pthread_create(&ra->th, NULL, readahead_main, ra) != 0) {
        ZSTD_freeDCtx(ra->dctx);
        pthread_mutex_destroy(&ra->lock);
        pthread_cond_destroy(&ra->cond);
        free(ra);
        return NULL;
    }
    return ra;
}

/* Ask for block b of sealed segment g (in place of a request not yet started). */
static void readahead_ask(struct readahead *ra, struct iseg *g, uint32_t b)
{
    atomic_fetch_add(&g->refs, 1);
    pthread_mutex_lock(&ra->lock);
    struct iseg *old = ra->g;
    ra->g = g;
    ra->b = b;
    pthread_cond_signal(&ra->cond);
    pthread_mutex_unlock(&ra->lock);
    iseg_unref(old);
}

/* ---- searching ---- */

struct trail_results {
    struct trail_index *ix;
    const struct trail_query *q;
    struct qplan plan;
    struct iseg **segs;
    uint64_t *seg_last; /* each segment's last seq as seen at the start */
    size_t n_segs;
    uint64_t lo, hi; /* candidates: lo <= seq <= hi */
    uint64_t horizon;
    int newest;
    uint64_t limit, returned, last_seq;
    int more, done;

    long si; /* current segment (position in search order) */
    int seg_planned;
    struct iseg *g;
    uint64_t g_last;
    struct qunit *units;
    uint32_t n_units, cap_units;
    uint8_t *umask;
    uint32_t *pmask; /* per unit: the parts that may match (bit k: part k) */
    long parts_of;   /* the unit whose parts are in starts (-1: none) */
    uint32_t n_parts, starts[QPARTS + 1];
    int use_seqs;
    struct qpost seqs, tmp, tmp2;
    long pos; /* in seqs (seq mode) or units (unit mode) */
    /* the unit in hand (unit mode) */
    int have_unit;
    uint32_t unit;
    uint32_t rec_i, rec_n; /* records of the unit, in order */
    uint64_t unit_first;   /* the first of them */
    struct cblock *cb;
    struct trail_buf live;
    uint32_t *live_offs;
    size_t cap_live_offs;
    ZSTD_DCtx *dctx;
    struct trail_buf comp;
    uint8_t *allowed; /* per local event of the segment */
    size_t cap_allowed;
    char errbuf[256];

    /* time orders: a merge of the units (time_plan, next_time_match) */
    int by_time;          /* TRAIL_ORDER_TIME or TRAIL_ORDER_TIME_DESC; 0: seq order */
    int t_planned;        /* tunits gathered and sorted */
    struct tunit *tunits; /* every unit that may match, in opening order */
    uint64_t *tseqs;      /* the candidate seqs of units narrowed by an indexed value */
    size_t n_tseqs, cap_tseqs;
    size_t n_tunits, ti; /* ti: the next to open */
    struct trun **heap;  /* the opened units' runs, by their next record */
    size_t n_heap, cap_heap;
    uint64_t held_recs; /* candidates in the runs (the merge's memory) */
    int has_pos;        /* returned past (pos_time, pos_seq): the cursor's or the last */
    int64_t pos_time;
    uint64_t pos_seq;
    struct codec_attr *row_attrs; /* trail_results_write's rows' attributes */
    size_t cap_row_attrs;
    struct readahead *ra; /* trail_results_write's helper, when it could start one */
    int ra_tried;
    struct trun *held; /* the run of the record returned last when it ended there */
    int64_t held_time;
    uint64_t opened, peak_heap;
    uint64_t examined; /* records read and checked against the filter (seq order) */
};

static uint16_t sev_range_mask(const struct qplan *p)
{
    uint16_t m = 0;
    for (int s = 0; s < 16; s++)
        if (s >= p->sev_min && s <= p->sev_max)
            m |= (uint16_t)(1u << s);
    return m;
}

/* Intersect sorted a with sorted b into out. */
static int post_and(const struct qpost *a, const struct qpost *b, struct qpost *out)
{
    out->n = 0;
    uint32_t i = 0, j = 0;
    while (i < a->n && j < b->n) {
        if (a->v[i] < b->v[j])
            i++;
        else if (a->v[i] > b->v[j])
            j++;
        else {
            if (qpost_push(out, a->v[i]) < 0)
                return -ENOMEM;
            i++, j++;
        }
    }
    return 0;
}

static int post_or(const struct qpost *a, const struct qpost *b, struct qpost *out)
{
    out->n = 0;
    uint32_t i = 0, j = 0;
    while (i < a->n || j < b->n) {
        uint32_t v;
        if (j == b->n || (i < a->n && a->v[i] < b->v[j]))
            v = a->v[i++];
        else if (i == a->n || b->v[j] < a->v[i])
            v = b->v[j++];
        else
            v = a->v[i++], j++;
        if (qpost_push(out, v) < 0)
            return -ENOMEM;
    }
    return 0;
}

static void post_swap(struct qpost *a, struct qpost *b)
{
    struct qpost t = *a;
    *a = *b;
    *b = t;
}

/* res->tmp2 |= res->tmp, or res->tmp2 = res->tmp for the first (*found 0); then *found = 1. */
static int post_gather(struct trail_results *res, int *found)
{
    if (*found) {
        struct qpost merged = {0};
        int r = post_or(&res->tmp2, &res->tmp, &merged);
        post_swap(&merged, &res->tmp2);
        qpost_free(&merged);
        if (r < 0)
            return r;
    } else {
        post_swap(&res->tmp, &res->tmp2);
    }
    *found = 1;
    return 0;
}

struct words_and {
    struct trail_results *res;
    const struct qindex *x;
    int r;
};

/* AND the units holding one word, and the parts of them that do, into the masks. */
static void mask_word(void *arg, const uint8_t *w, size_t n)
{
    struct words_and *c = arg;
    struct trail_results *res = c->res;
    if (c->r < 0)
        return;
    int r = qindex_lookup(c->x, QTERM_WORD, qterm_word(w, n), &res->tmp);
    if (r < 0) {
        c->r = r;
        return;
    }
    uint32_t k = 0;
    for (uint32_t u = 0; u < res->n_units; u++) {
        while (k < res->tmp.n && res->tmp.v[k] < u)
            k++;
        if (r == 0 || k == res->tmp.n || res->tmp.v[k] != u) {
            res->umask[u] = 0;
            continue;
        }
        if (!(res->pmask[u] &= res->tmp.m[k]))
            res->umask[u] = 0;
    }
}

/* The parts of unit u of segment g into res->starts (kept while the same unit is asked for). */
static void unit_parts(struct trail_results *res, struct iseg *g, uint32_t u)
{
    if (res->parts_of == (long)u)
        return;
    if (g->b)
        pthread_rwlock_rdlock(&g->rw);
    res->n_parts = qindex_unit_parts(&g->x, u, res->starts);
    if (g->b)
        pthread_rwlock_unlock(&g->rw);
    res->parts_of = (long)u;
}

/* The part of record i (from its unit's first) among n parts starting at starts. */
static uint32_t part_of(const uint32_t *starts, uint32_t n, uint32_t i)
{
    uint32_t lo = 0, hi = n;
    while (hi - lo > 1) {
        uint32_t mid = (lo + hi) / 2;
        if (starts[mid] <= i)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/*
 * The seqs of the events the globs allow in segment x, when its index
 * keeps every one's (a sealed index keeps those of the event ids found in
 * at most 1/QEVENT_MAX_SHARE of its records): a search for configuration
 * changes reads their records' sub-frames, not every block that holds one.
 * Leaves use_seqs 0 when one of them is common (its units find it).
 */
static int event_seqs(struct trail_results *res, const struct qindex *x, uint32_t ne)
{
    int found = 0, r;
    res->tmp2.n = 0;
    for (uint32_t e = 0; e < ne; e++) {
        if (!res->allowed[e])
            continue;
        size_t len;
        const char *id = qindex_event(x, e, &len);
        if ((r = qindex_lookup(x, QTERM_VALUE, qterm_event(id, len), &res->tmp)) <= 0)
            return r;
        if ((r = post_gather(res, &found)) < 0)
            return r;
    }
    if (found) {
        post_swap(&res->seqs, &res->tmp2);
        res->use_seqs = 1;
    }
    return 0;
}

/* Plan segment g: the units that may match, and (when an indexed value narrows it) the seqs. */
static int plan_segment(struct trail_results *res, struct iseg *g, uint64_t g_last)
{
    const struct trail_query *q = res->q;
    const struct qindex *x = &g->x;
    int r = 0;
    if (g->b)
        pthread_rwlock_rdlock(&g->rw);
    uint32_t n = qindex_n_units(x);
    if (n > res->cap_units) {
        struct qunit *u = realloc(res->units, n * sizeof(*u));
        uint8_t *m = realloc(res->umask, n);
        uint32_t *pm = realloc(res->pmask, n * sizeof(*pm));
        if (u)
            res->units = u;
        if (m)
            res->umask = m;
        if (pm)
            res->pmask = pm;
        if (!u || !m || !pm) {
            r = -ENOMEM;
            goto out;
        }
        res->cap_units = n;
    }
    res->parts_of = -1;
    res->n_units = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct qunit u;
        qindex_unit(x, i, &u);
        if (u.first_seq > g_last)
            break;
        if (u.first_seq + u.count - 1 > g_last)
            u.count = (uint32_t)(g_last - u.first_seq + 1);
        res->units[res->n_units++] = u;
    }
    n = res->n_units;
    uint32_t ne = qindex_n_events(x);
    if (q->n_globs) {
        if (ne > res->cap_allowed) {
            uint8_t *a = realloc(res->allowed, ne);
            if (!a) {
                r = -ENOMEM;
                goto out;
            }
            res->allowed = a;
            res->cap_allowed = ne;
        }
        for (uint32_t e = 0; e < ne; e++) {
            size_t len;
            const char *id = qindex_event(x, e, &len);
            res->allowed[e] = (uint8_t)qplan_event_ok(&res->plan, (const uint8_t *)id, len);
        }
    }
    uint16_t sevm = sev_range_mask(&res->plan);
    for (uint32_t i = 0; i < n; i++) {
        const struct qunit *u = &res->units[i];
        uint64_t ulast = u->first_seq + u->count - 1;
        int ok = u->count > 0 && ulast >= res->lo && u->first_seq <= res->hi &&
                 u->min_time < res->plan.until && u->max_time >= res->plan.since &&
                 (u->sev_mask & sevm);
        if (ok && q->n_globs) {
            int any = 0;
            for (uint32_t e = 0; e < ne && !any; e++)
                any = res->allowed[e] && qindex_unit_has_event(x, i, e);
            ok = any;
        }
        res->umask[i] = (uint8_t)ok;
        res->pmask[i] = UINT32_MAX;
    }

    /* event ids of few records: their exact seqs; indexed values: exact seqs; words: units */
    res->use_seqs = 0;
    if (q->n_globs && !x->live && (r = event_seqs(res, x, ne)) < 0)
        goto out;
    struct words_and wa = {.res = res, .x = x};
    for (size_t k = 0; k < q->n_wheres && wa.r == 0; k++) {
        const struct qwhere *w = &q->wheres[k];
        if (w->op == QOP_NE || w->cidr)
            continue;
        if (w->op == QOP_EQ && qindex_key_indexed(x, w->key, w->klen)) {
            int found = 0;
            res->tmp2.n = 0;
            for (int t = 0; t < w->n_terms; t++) {
                r = qindex_lookup(x, QTERM_VALUE, w->terms[t], &res->tmp);
                if (r < 0)
                    goto out;
                if (r == 1 && (r = post_gather(res, &found)) < 0)
                    goto out;
            }
            if (found) {
                if (!res->use_seqs) {
                    post_swap(&res->seqs, &res->tmp2);
                    res->use_seqs = 1;
                } else {
                    if ((r = post_and(&res->seqs, &res->tmp2, &res->tmp)) < 0)
                        goto out;
                    post_swap(&res->seqs, &res->tmp);
                }
                continue;
            }
            if (x->live) {
                /* a live index holds every value: none here */
                if (n)
                    memset(res->umask, 0, n);
                break;
            }
        }
        if (w->words_ok)
            qwords(w->value, w->vlen, w->op == QOP_PREFIX, mask_word, &wa);
    }
    for (size_t k = 0; k < q->n_texts && wa.r == 0; k++)
        qwords(q->texts[k].item, q->texts[k].len, 0, mask_word, &wa);
    r = wa.r;
out:
    if (g->b)
        pthread_rwlock_unlock(&g->rw);
    return r;
}

/* The unit holding seq (units ascend). */
static long unit_of(const struct trail_results *res, uint64_t seq)
{
    uint32_t lo = 0, hi = res->n_units;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (res->units[mid].first_seq <= seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return -1;
    const struct qunit *u = &res->units[lo - 1];
    return seq < u->first_seq + u->count ? (long)lo - 1 : -1;
}

static void drop_unit(struct trail_results *res)
{
    cache_release(res->ix, res->cb);
    res->cb = NULL;
    res->have_unit = 0;
}

/* The file offset of the frame of record first_seq + i of live segment g (under g->rw). */
static inline uint64_t rec_off(const struct iseg *g, size_t i)
{
    return g->roff ? g->ubase[i / QLIVE_UNIT] + g->roff[i] : g->offs[i];
}

/* Its record's length. */
static inline uint32_t rec_len(const struct iseg *g, size_t i)
{
    if (!g->roff)
        return g->lens[i];
    uint64_t next = g->first_seq + i < g->last_seq ? rec_off(g, i + 1) : g->end_off;
    return (uint32_t)(next - rec_off(g, i) - TRAIL_FRAME_HEAD);
}

/* Read the records of a live unit of g into res->live (one pread), frame offsets in live_offs. */
static int load_live_unit(struct trail_results *res, struct iseg *g, const struct qunit *u)
{
    if (res->cap_live_offs < u->count) {
        uint32_t *o = realloc(res->live_offs, u->count * sizeof(*o));
        if (!o)
            return -ENOMEM;
        res->live_offs = o;
        res->cap_live_offs = u->count;
    }
    pthread_rwlock_rdlock(&g->rw);
    size_t i0 = (size_t)(u->first_seq - g->first_seq);
    uint64_t start = rec_off(g, i0);
    uint64_t end = rec_off(g, i0 + u->count - 1) + TRAIL_FRAME_HEAD + rec_len(g, i0 + u->count - 1);
    for (uint32_t k = 0; k < u->count; k++)
        res->live_offs[k] = (uint32_t)(rec_off(g, i0 + k) - start);
    pthread_rwlock_unlock(&g->rw);
    res->live.len = 0;
    int r = trail_buf_reserve(&res->live, (size_t)(end - start));
    if (r < 0)
        return r;
    size_t got = 0, want = (size_t)(end - start);
    while (got < want) {
        ssize_t n = pread(g->fd, res->live.data + got, want - got, (off_t)(start + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : TRAIL_E_CORRUPT;
        got += (size_t)n;
    }
    res->live.len = want;
    return 0;
}

/* A frame of res->live or a cached block: check and return the record. */
static int frame_at(const uint8_t *base, size_t avail, uint32_t off, uint64_t seq, int check_crc,
                    const uint8_t **ret_rec, size_t *ret_len)
{
    if (off > avail || avail - off < TRAIL_FRAME_HEAD)
        return TRAIL_E_CORRUPT;
    const uint8_t *f = base + off;
    uint32_t len = get_u32(f);
    if (len < TRAIL_RECORD_MIN || len > avail - off - TRAIL_FRAME_HEAD)
        return TRAIL_E_CORRUPT;
    if (check_crc && crc32c(0, f + 8, len) != get_u32(f + 4))
        return TRAIL_E_CORRUPT;
    if (record_seq(f + 8) != seq)
        return TRAIL_E_CORRUPT;
    *ret_rec = f + 8;
    *ret_len = len;
    return 0;
}

/* Put unit u of the current segment in hand. */
static int load_unit(struct trail_results *res, uint32_t u)
{
    if (res->have_unit && res->unit == u)
        return 0;
    drop_unit(res);
    int r;
    if (res->g->sealed)
        /* whole: a bulk writer (trail_results_write, which reads ahead) reads every record of
           it, unless its words are in some parts only; a page of a search may read a few */
        r = cache_get(res->ix, res->g, u, res->ra && !res->use_seqs && res->pmask[u] == UINT32_MAX,
                      res->dctx, &res->comp, &res->cb);
    else
        r = load_live_unit(res, res->g, &res->units[u]);
    if (r < 0)
        return r;
    res->have_unit = 1;
    res->unit = u;
    return 0;
}

/* Record seq of the unit in hand. */
static int unit_record(struct trail_results *res, uint64_t seq, const uint8_t **rec, size_t *len)
{
    const struct qunit *u = &res->units[res->unit];
    uint32_t i = (uint32_t)(seq - u->first_seq);
    int r;
    if (res->g->sealed && (r = cblock_need(res->ix, res->cb, res->g, res->dctx, i, i)) < 0)
        return r;
    if (res->g->sealed)
        return frame_at((const uint8_t *)res->cb->raw.data, res->cb->raw.len, res->cb->offs[i], seq,
                        0, rec, len);
    return frame_at((const uint8_t *)res->live.data, res->live.len, res->live_offs[i], seq, 1, rec,
                    len);
}

/* A single record of a live segment (seq mode), read on its own. */
static int live_record(struct trail_results *res, uint64_t seq, const uint8_t **rec, size_t *len)
{
    struct iseg *g = res->g;
    pthread_rwlock_rdlock(&g->rw);
    size_t i = (size_t)(seq - g->first_seq);
    uint64_t off = rec_off(g, i);
    uint32_t l = rec_len(g, i);
    pthread_rwlock_unlock(&g->rw);
    res->live.len = 0;
    int r = trail_buf_reserve(&res->live, TRAIL_FRAME_HEAD + (size_t)l);
    if (r < 0)
        return r;
    ssize_t n = pread(g->fd, res->live.data, TRAIL_FRAME_HEAD + (size_t)l, (off_t)off);
    if (n != (ssize_t)(TRAIL_FRAME_HEAD + l))
        return n < 0 ? -errno : TRAIL_E_CORRUPT;
    res->live.len = (size_t)n;
    res->have_unit = 0; /* res->live no longer holds a unit */
    return frame_at((const uint8_t *)res->live.data, res->live.len, 0, seq, 1, rec, len);
}

/* Block u of sealed segment g fails its check: known damage, skipped. */
static void damaged_block(struct trail_results *res, struct iseg *g, uint32_t u)
{
    char name[48], why[96];
    snprintf(name, sizeof(name), "seg-%016" PRIx64 ".seg", g->first_seq);
    snprintf(why, sizeof(why), "block %" PRIu32 ": CRC-32C or framing does not hold", u);
    const struct seg_block *b = &g->ss.blocks[u];
    store_damage_add(res->ix->s, b->first_seq, b->first_seq + b->count - 1, name, why, 0, 0);
}

/* Block u of the sealed segment in hand fails its check. */
static void damaged_unit(struct trail_results *res, uint32_t u)
{
    damaged_block(res, res->g, u);
}

static void end_segment(struct trail_results *res)
{
    drop_unit(res);
    res->seg_planned = 0;
    res->g = NULL;
}

/*
 * The core of a search: the next matching record, raw. 1 with the record
 * (valid until the next call) parsed into v, 0 at the end, or an error.
 */
static int next_match_view(struct trail_results *res, const uint8_t **ret_rec, size_t *ret_len,
                           struct rec_view *v)
{
    for (;;) {
        if (res->done)
            return 0;
        if (!res->seg_planned) {
            if (res->si < 0 || (size_t)res->si >= res->n_segs) {
                res->done = 1;
                return 0;
            }
            size_t k = (size_t)res->si;
            res->si += res->newest ? -1 : 1;
            struct iseg *g = res->segs[k];
            uint64_t g_last = res->seg_last[k];
            if (g_last < g->first_seq || g_last < res->lo || g->first_seq > res->hi)
                continue;
            int r = plan_segment(res, g, g_last);
            if (r < 0)
                return r;
            res->g = g;
            res->g_last = g_last;
            res->seg_planned = 1;
            res->have_unit = 0;
            if (res->use_seqs) {
                /* keep the seqs inside the bounds */
                uint32_t lo_off = res->lo > g->first_seq ? (uint32_t)(res->lo - g->first_seq) : 0;
                uint64_t hi_seq = res->hi < g_last ? res->hi : g_last;
                uint32_t hi_off = (uint32_t)(hi_seq - g->first_seq);
                uint32_t a = 0, b = res->seqs.n;
                while (a < b && res->seqs.v[a] < lo_off)
                    a++;
                while (b > a && res->seqs.v[b - 1] > hi_off)
                    b--;
                if (a > 0 && b > a)
                    memmove(res->seqs.v, res->seqs.v + a, (b - a) * sizeof(uint32_t));
                res->seqs.n = b - a;
                res->pos = res->newest ? (long)res->seqs.n - 1 : 0;
            } else {
                res->pos = res->newest ? (long)res->n_units - 1 : 0;
            }
        }
        const uint8_t *rec = NULL;
        size_t len = 0;
        int r;
        if (res->use_seqs) {
            if (res->pos < 0 || res->pos >= (long)res->seqs.n) {
                end_segment(res);
                continue;
            }
            uint64_t seq = res->g->first_seq + res->seqs.v[res->pos];
            res->pos += res->newest ? -1 : 1;
            long u = unit_of(res, seq);
            if (u < 0 || !res->umask[u])
                continue;
            if (res->pmask[u] != UINT32_MAX) {
                /* a part none of the words is in */
                unit_parts(res, res->g, (uint32_t)u);
                uint32_t i = (uint32_t)(seq - res->units[u].first_seq);
                if (!(res->pmask[u] >> part_of(res->starts, res->n_parts, i) & 1))
                    continue;
            }
            if (res->g->sealed) {
                r = load_unit(res, (uint32_t)u);
                if (r == TRAIL_E_CORRUPT) {
                    damaged_unit(res, (uint32_t)u);
                    continue;
                }
                if (r == 0 && (r = unit_record(res, seq, &rec, &len)) == TRAIL_E_CORRUPT) {
                    damaged_unit(res, (uint32_t)u); /* a sub-frame of it */
                    drop_unit(res);
                    continue;
                }
                if (r < 0)
                    return r;
            } else if ((r = live_record(res, seq, &rec, &len)) < 0) {
                return r;
            }
        } else {
            if (!res->have_unit) {
                while (res->pos >= 0 && res->pos < (long)res->n_units && !res->umask[res->pos])
                    res->pos += res->newest ? -1 : 1;
                if (res->pos < 0 || res->pos >= (long)res->n_units) {
                    end_segment(res);
                    continue;
                }
                const struct qunit *u = &res->units[res->pos];
                r = load_unit(res, (uint32_t)res->pos);
                if (r == TRAIL_E_CORRUPT && res->g->sealed) {
                    damaged_unit(res, (uint32_t)res->pos);
                    res->pos += res->newest ? -1 : 1;
                    continue;
                }
                if (r < 0)
                    return r;
                res->pos += res->newest ? -1 : 1;
                if (res->ra && res->g->sealed) {
                    /* the next unit this segment will read, decompressed meanwhile (whole: not
                       one whose words are in some parts only, which are read as they come) */
                    long nx = res->pos;
                    while (nx >= 0 && nx < (long)res->n_units && !res->umask[nx])
                        nx += res->newest ? -1 : 1;
                    if (nx >= 0 && nx < (long)res->n_units && res->pmask[nx] == UINT32_MAX)
                        readahead_ask(res->ra, res->g, (uint32_t)nx);
                }
                /* the records of the unit inside [lo, hi], in order */
                uint64_t first = u->first_seq > res->lo ? u->first_seq : res->lo;
                uint64_t last = u->first_seq + u->count - 1;
                if (last > res->hi)
                    last = res->hi;
                res->rec_n = (uint32_t)(last - first + 1);
                res->rec_i = 0;
                res->unit_first = first;
            }
            if (res->rec_i == res->rec_n) {
                drop_unit(res);
                continue;
            }
            uint64_t seq = res->newest ? res->unit_first + res->rec_n - 1 - res->rec_i
                                       : res->unit_first + res->rec_i;
            if (res->pmask[res->unit] != UINT32_MAX) {
                /* a part none of the words is in: past the rest of it */
                unit_parts(res, res->g, res->unit);
                uint32_t i = (uint32_t)(seq - res->units[res->unit].first_seq);
                uint32_t k = part_of(res->starts, res->n_parts, i);
                if (!(res->pmask[res->unit] >> k & 1)) {
                    uint32_t skip = res->newest ? i - res->starts[k] + 1 : res->starts[k + 1] - i;
                    res->rec_i = skip >= res->rec_n - res->rec_i ? res->rec_n : res->rec_i + skip;
                    continue;
                }
            }
            res->rec_i++;
            if ((r = unit_record(res, seq, &rec, &len)) == TRAIL_E_CORRUPT && res->g->sealed) {
                damaged_unit(res, res->unit); /* a sub-frame of it: the rest of it is skipped */
                drop_unit(res);
                continue;
            }
            if (r < 0)
                return r;
        }
        if ((r = rec_view_parse(rec, len, v)) < 0)
            return r;
        res->examined++;
        r = qplan_match(&res->plan, v);
        if (r < 0)
            return r;
        if (r == 0)
            continue;
        *ret_rec = rec;
        *ret_len = len;
        return 1;
    }
}

/* The same, without the view (counts parse what they need). */
static int next_match(struct trail_results *res, const uint8_t **ret_rec, size_t *ret_len)
{
    struct rec_view v;
    return next_match_view(res, ret_rec, ret_len, &v);
}

/* ---- time orders ---- */

/*
 * order time / -time: a k-way merge over the units (blocks) that may
 * match, in (event time, seq) order. Every unit knows its time range, so
 * the units are sorted by where their range starts in the order asked
 * (min_time for time, max_time for -time) and opened one by one. Opening a
 * unit makes a run: its candidate records past the position, sorted by
 * (time, seq) read from the records' fixed fields, the block kept in the
 * cache while the run lasts. The runs are merged through a heap; the filter
 * runs on a record only when it comes to the top, so a page reads the
 * predicate of about as many records as it returns. The top can be
 * returned as soon as no unopened unit could hold a record before it (its
 * range starts after it). In a store whose events arrive roughly in time
 * order the ranges barely overlap, so one or two units are open at a time;
 * interleaved imports open the units whose ranges overlap. Units wholly
 * before the position are never opened.
 */
struct tunit {
    uint32_t seg;   /* in res->segs */
    uint32_t block; /* unit number in its segment */
    uint32_t pmask; /* the parts that may match (bit k: part k) */
    struct qunit u; /* count clipped to what the search sees */
    int has_seqs;   /* an indexed value named the candidates: */
    size_t seq_at;  /* res->tseqs[seq_at .. seq_at + seq_n) */
    uint32_t seq_n;
};

struct tkey {
    int64_t time;
    uint64_t seq;
    uint32_t off, len; /* the record in its run's bytes */
};

/* An opened unit: its candidates in the search's order, next at i. */
struct trun {
    struct cblock *cb;   /* sealed: the cached block, held while the run lasts */
    uint8_t *own;        /* live: a copy of the unit's frames */
    const uint8_t *base; /* the bytes the keys point into */
    struct tkey *k;
    uint32_t n, i;
};

/* Does (ta, sa) come out before (tb, sb) in res's order? */
static int tbefore(const struct trail_results *res, int64_t ta, uint64_t sa, int64_t tb,
                   uint64_t sb)
{
    if (res->by_time == TRAIL_ORDER_TIME)
        return ta < tb || (ta == tb && sa < sb);
    return ta > tb || (ta == tb && sa > sb);
}

static int tunit_cmp_asc(const void *pa, const void *pb)
{
    const struct tunit *a = pa, *b = pb;
    if (a->u.min_time != b->u.min_time)
        return a->u.min_time < b->u.min_time ? -1 : 1;
    return a->u.first_seq < b->u.first_seq ? -1 : a->u.first_seq > b->u.first_seq;
}

static int tunit_cmp_desc(const void *pa, const void *pb)
{
    const struct tunit *a = pa, *b = pb;
    if (a->u.max_time != b->u.max_time)
        return a->u.max_time > b->u.max_time ? -1 : 1;
    return a->u.first_seq > b->u.first_seq ? -1 : a->u.first_seq < b->u.first_seq;
}

static int tkey_cmp_asc(const void *pa, const void *pb)
{
    const struct tkey *a = pa, *b = pb;
    if (a->time != b->time)
        return a->time < b->time ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int tkey_cmp_desc(const void *pa, const void *pb)
{
    return tkey_cmp_asc(pb, pa);
}

static void trun_free(struct trail_results *res, struct trun *t)
{
    if (!t)
        return;
    cache_release(res->ix, t->cb);
    free(t->own);
    free(t->k);
    res->held_recs -= t->n;
    free(t);
}

/* Does run a's next record come out before run b's? */
static int trun_before(const struct trail_results *res, const struct trun *a, const struct trun *b)
{
    const struct tkey *x = &a->k[a->i], *y = &b->k[b->i];
    return tbefore(res, x->time, x->seq, y->time, y->seq);
}

static void heap_down(struct trail_results *res, size_t i)
{
    size_t n = res->n_heap;
    struct trun *t = res->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && trun_before(res, res->heap[c + 1], res->heap[c]))
            c++;
        if (!trun_before(res, res->heap[c], t))
            break;
        res->heap[i] = res->heap[c];
        i = c;
    }
    res->heap[i] = t;
}

static int heap_push(struct trail_results *res, struct trun *t)
{
    if (res->n_heap == res->cap_heap) {
        size_t cap = res->cap_heap ? 2 * res->cap_heap : 16;
        struct trun **h = realloc(res->heap, cap * sizeof(*h));
        if (!h)
            return -ENOMEM;
        res->heap = h;
        res->cap_heap = cap;
    }
    size_t i = res->n_heap++;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (!trun_before(res, t, res->heap[up]))
            break;
        res->heap[i] = res->heap[up];
        i = up;
    }
    res->heap[i] = t;
    return 0;
}

/* Keep the units of one planned segment that may hold an answer. */
static int time_plan_segment(struct trail_results *res, uint32_t k, size_t *cap)
{
    struct iseg *g = res->segs[k];
    uint32_t si = 0; /* in res->seqs (ascending), when an indexed value narrows */
    for (uint32_t i = 0; i < res->n_units; i++) {
        const struct qunit *u = &res->units[i];
        size_t seq_at = res->n_tseqs;
        uint32_t seq_n = 0;
        if (res->use_seqs) {
            /* only the seqs of the value's postings can match: keep them, or drop the unit */
            uint64_t end = u->first_seq + u->count;
            while (si < res->seqs.n && g->first_seq + res->seqs.v[si] < u->first_seq)
                si++;
            for (; si < res->seqs.n && g->first_seq + res->seqs.v[si] < end; si++) {
                if (!res->umask[i])
                    continue;
                if (res->n_tseqs == res->cap_tseqs) {
                    size_t c = res->cap_tseqs ? 2 * res->cap_tseqs : 256;
                    uint64_t *t = realloc(res->tseqs, c * sizeof(*t));
                    if (!t)
                        return -ENOMEM;
                    res->tseqs = t;
                    res->cap_tseqs = c;
                }
                res->tseqs[res->n_tseqs++] = g->first_seq + res->seqs.v[si];
                seq_n++;
            }
            if (!seq_n)
                continue;
        }
        if (!res->umask[i])
            continue;
        /* wholly on the far side of the cursor */
        if ((res->has_pos && res->by_time == TRAIL_ORDER_TIME && u->max_time < res->pos_time) ||
            (res->has_pos && res->by_time == TRAIL_ORDER_TIME_DESC &&
             u->min_time > res->pos_time)) {
            res->n_tseqs = seq_at;
            continue;
        }
        if (res->n_tunits == *cap) {
            size_t c = *cap ? 2 * *cap : 64;
            struct tunit *t = realloc(res->tunits, c * sizeof(*t));
            if (!t)
                return -ENOMEM;
            res->tunits = t;
            *cap = c;
        }
        res->tunits[res->n_tunits++] = (struct tunit){.seg = k,
                                                      .block = i,
                                                      .pmask = res->pmask[i],
                                                      .u = *u,
                                                      .has_seqs = res->use_seqs,
                                                      .seq_at = seq_at,
                                                      .seq_n = seq_n};
    }
    return 0;
}

/* Gather the units of every segment that may match, in opening order. */
static int time_plan(struct trail_results *res)
{
    size_t cap = 0;
    for (size_t k = 0; k < res->n_segs; k++) {
        struct iseg *g = res->segs[k];
        uint64_t g_last = res->seg_last[k];
        if (g_last < g->first_seq || g_last < res->lo || g->first_seq > res->hi)
            continue;
        int r = plan_segment(res, g, g_last);
        if (r == 0)
            r = time_plan_segment(res, (uint32_t)k, &cap);
        if (r < 0)
            return r;
    }
    if (res->n_tunits) /* none: tunits may be NULL, which qsort may not take */
        qsort(res->tunits, res->n_tunits, sizeof(*res->tunits),
              res->by_time == TRAIL_ORDER_TIME ? tunit_cmp_asc : tunit_cmp_desc);
    res->t_planned = 1;
    return 0;
}

/* Open a unit: a run of its records past the position and inside [lo, hi], sorted. */
static int open_tunit(struct trail_results *res, const struct tunit *t)
{
    struct iseg *g = res->segs[t->seg];
    struct trun *run = calloc(1, sizeof(*run));
    size_t avail;
    const uint32_t *offs;
    int r;
    if (!run)
        return -ENOMEM;
    res->opened++;
    if (g->sealed) {
        r = cache_get(res->ix, g, t->block, 0, res->dctx, &res->comp, &run->cb);
        if (r == TRAIL_E_CORRUPT) {
            damaged_block(res, g, t->block);
            free(run);
            return 0;
        }
        if (r < 0)
            goto fail;
        run->base = (const uint8_t *)run->cb->raw.data;
        avail = run->cb->raw.len;
        offs = run->cb->offs;
    } else {
        if ((r = load_live_unit(res, g, &t->u)) < 0)
            goto fail;
        run->own = malloc(res->live.len ? res->live.len : 1);
        if (!run->own) {
            r = -ENOMEM;
            goto fail;
        }
        memcpy(run->own, res->live.data, res->live.len);
        run->base = run->own;
        avail = res->live.len;
        offs = res->live_offs;
    }
    uint32_t n = t->has_seqs ? t->seq_n : t->u.count;
    run->k = malloc((n ? n : 1) * sizeof(*run->k));
    if (!run->k) {
        r = -ENOMEM;
        goto fail;
    }
    uint32_t starts[QPARTS + 1], n_parts = 0;
    if (t->pmask != UINT32_MAX) {
        if (g->b)
            pthread_rwlock_rdlock(&g->rw);
        n_parts = qindex_unit_parts(&g->x, t->block, starts);
        if (g->b)
            pthread_rwlock_unlock(&g->rw);
    }
    for (uint32_t j = 0; j < n; j++) {
        uint64_t seq = t->has_seqs ? res->tseqs[t->seq_at + j] : t->u.first_seq + j;
        uint32_t i = (uint32_t)(seq - t->u.first_seq);
        const uint8_t *rec;
        size_t len;
        if (seq < res->lo || seq > res->hi)
            continue;
        if (n_parts && !(t->pmask >> part_of(starts, n_parts, i) & 1))
            continue; /* a part none of the words is in */
        if (g->sealed &&
            (r = cblock_need(res->ix, run->cb, g, res->dctx, i, i)) == TRAIL_E_CORRUPT) {
            damaged_block(res, g, t->block);
            res->held_recs += run->n;
            trun_free(res, run);
            return 0;
        }
        if (r < 0)
            goto fail;
        if ((r = frame_at(run->base, avail, offs[i], seq, !g->sealed, &rec, &len)) < 0)
            goto fail;
        int64_t time = record_time(rec);
        if (res->has_pos && !tbefore(res, res->pos_time, res->pos_seq, time, seq))
            continue;
        run->k[run->n++] = (struct tkey){
            .time = time, .seq = seq, .off = (uint32_t)(rec - run->base), .len = (uint32_t)len};
    }
    res->held_recs += run->n;
    if (res->held_recs > res->peak_heap)
        res->peak_heap = res->held_recs;
    if (!run->n) {
        trun_free(res, run);
        return 0;
    }
    qsort(run->k, run->n, sizeof(*run->k),
          res->by_time == TRAIL_ORDER_TIME ? tkey_cmp_asc : tkey_cmp_desc);
    if ((r = heap_push(res, run)) < 0) {
        trun_free(res, run);
        return r;
    }
    return 0;
fail:
    res->held_recs += run->n;
    trun_free(res, run);
    return r;
}

/* The next matching record in time order: 1 with it (valid until the next call), 0 at the end. */
static int next_time_match(struct trail_results *res, const uint8_t **ret_rec, size_t *ret_len,
                           struct rec_view *v)
{
    trun_free(res, res->held);
    res->held = NULL;
    if (res->done)
        return 0;
    int r;
    if (!res->t_planned && (r = time_plan(res)) < 0)
        return r;
    for (;;) {
        while (res->ti < res->n_tunits) {
            const struct qunit *u = &res->tunits[res->ti].u;
            /* a unit whose range starts at or before the next record may hold one before it */
            if (res->n_heap) {
                const struct trun *top = res->heap[0];
                int64_t t = top->k[top->i].time;
                if (res->by_time == TRAIL_ORDER_TIME ? u->min_time > t : u->max_time < t)
                    break;
            }
            if ((r = open_tunit(res, &res->tunits[res->ti++])) < 0)
                return r;
        }
        if (!res->n_heap) {
            res->done = 1;
            return 0;
        }
        struct trun *run = res->heap[0];
        const struct tkey *k = &run->k[run->i++];
        int last = run->i == run->n;
        if (last) {
            res->heap[0] = res->heap[--res->n_heap];
            if (res->n_heap)
                heap_down(res, 0);
        } else {
            heap_down(res, 0);
        }
        const uint8_t *rec = run->base + k->off;
        if ((r = rec_view_parse(rec, k->len, v)) < 0 || (r = qplan_match(&res->plan, v)) <= 0) {
            if (last)
                trun_free(res, run);
            if (r < 0)
                return r;
            continue;
        }
        if (last)
            res->held = run; /* its bytes hold the record returned */
        res->held_time = k->time;
        *ret_rec = rec;
        *ret_len = k->len;
        return 1;
    }
}

static void results_free(struct trail_results *res)
{
    if (!res)
        return;
    drop_unit(res);
    for (size_t i = 0; i < res->n_segs; i++)
        iseg_unref(res->segs[i]);
    free(res->segs);
    free(res->seg_last);
    free(res->units);
    free(res->umask);
    free(res->pmask);
    free(res->allowed);
    qpost_free(&res->seqs);
    qpost_free(&res->tmp);
    qpost_free(&res->tmp2);
    trail_buf_free(&res->live);
    free(res->live_offs);
    trail_buf_free(&res->comp);
    ZSTD_freeDCtx(res->dctx);
    free(res->tunits);
    free(res->tseqs);
    for (size_t i = 0; i < res->n_heap; i++)
        trun_free(res, res->heap[i]);
    free(res->heap);
    trun_free(res, res->held);
    free(res->row_attrs);
    readahead_free(res->ra);
    free(res);
}

void trail_results_free(struct trail_results *res)
{
    results_free(res);
}

/*
 * Open a search over the current state, the plan made against now: in q's
 * order (search 1), or oldest first by seq whatever q's order (a count).
 */
static int results_new(struct trail_index *ix, const struct trail_query *q, int search,
                       struct trail_results **ret, char *err, size_t errlen)
{
    struct trail_results *res = calloc(1, sizeof(*res));
    int r = -ENOMEM;
    if (!res)
        return -ENOMEM;
    res->ix = ix;
    res->q = q;
    res->newest = search && q->order == TRAIL_ORDER_NEWEST;
    if (search && (q->order == TRAIL_ORDER_TIME || q->order == TRAIL_ORDER_TIME_DESC))
        res->by_time = q->order;
    res->dctx = ZSTD_createDCtx();
    if (!res->dctx)
        goto fail;
    int64_t now = q->now_us ? q->now_us : trail_now();
    if (q->has_cursor == 1)
        now = q->cur_now;
    if ((r = qplan_init(&res->plan, q, now)) < 0) {
        if (err && errlen)
            snprintf(err, errlen, "bad since or until: not a time");
        goto fail;
    }
    if (res->plan.since >= res->plan.until && q->since_text && q->until_text) {
        if (err && errlen)
            snprintf(err, errlen, "bad until '%s': it is not after since '%s'", q->until_text,
                     q->since_text);
        r = TRAIL_E_PARSE;
        goto fail;
    }
    if (q->has_cursor == 1) {
        if (q->cur_order != q->order) {
            if (err && errlen)
                snprintf(err, errlen, "bad cursor: it continues a search in %s order, not %s",
                         qorder_name(q->cur_order), qorder_name(q->order));
            r = TRAIL_E_PARSE;
            goto fail;
        }
        if (q->cur_hash != res->plan.hash) {
            if (err && errlen)
                snprintf(err, errlen,
                         "bad cursor: it continues a search with other filters (since, until, "
                         "event, severity, where, text must be the same)");
            r = TRAIL_E_PARSE;
            goto fail;
        }
    }
    pthread_mutex_lock(&ix->lock);
    r = refresh_locked(ix);
    if (r == 0) {
        res->segs = malloc((ix->n_segs ? ix->n_segs : 1) * sizeof(*res->segs));
        res->seg_last = malloc((ix->n_segs ? ix->n_segs : 1) * sizeof(*res->seg_last));
        if (!res->segs || !res->seg_last)
            r = -ENOMEM;
    }
    if (r == 0) {
        for (size_t i = 0; i < ix->n_segs; i++) {
            struct iseg *g = ix->segs[i];
            if (g->first_seq > ix->horizon)
                break;
            atomic_fetch_add(&g->refs, 1);
            res->segs[res->n_segs] = g;
            uint64_t last = g->sealed ? g->ss.last_seq : g->last_seq;
            res->seg_last[res->n_segs++] = last < ix->horizon ? last : ix->horizon;
        }
        res->lo = res->n_segs ? res->segs[0]->first_seq : 1;
        res->hi = ix->horizon;
        res->horizon = ix->horizon;
    }
    pthread_mutex_unlock(&ix->lock);
    if (r < 0)
        goto fail;
    if (res->by_time) {
        /* later pages see what the first saw */
        if (q->has_cursor == 1) {
            if (q->cur_horizon < res->hi)
                res->hi = q->cur_horizon;
            res->has_pos = 1;
            res->pos_time = q->cur_time;
            res->pos_seq = q->cur_seq;
        }
    } else if (q->has_cursor && q->cur_order <= TRAIL_ORDER_OLDEST) {
        if (q->cur_order == TRAIL_ORDER_NEWEST) {
            if (q->cur_seq == 0 || q->cur_seq - 1 < res->hi)
                res->hi = q->cur_seq ? q->cur_seq - 1 : 0;
        } else if (q->cur_seq + 1 > res->lo) {
            res->lo = q->cur_seq + 1;
        }
    }
    res->si = res->newest ? (long)res->n_segs - 1 : 0;
    if (res->lo > res->hi || res->hi == 0)
        res->done = 1;
    *ret = res;
    return 0;
fail:
    results_free(res);
    return r;
}

int trail_results_open(struct trail_index *ix, const struct trail_query *q,
                       struct trail_results **ret, char *err, size_t errlen)
{
    struct trail_results *res;
    int r = results_new(ix, q, 1, &res, err, errlen);
    if (r < 0)
        return r;
    res->limit = q->limit;
    *ret = res;
    return 0;
}

/* The next record to return, raw and parsed into v: 1, 0 at the end or the limit, or an error. */
static int next_record(struct trail_results *res, const uint8_t **rec, size_t *len,
                       struct rec_view *v)
{
    if (res->limit && res->returned >= res->limit) {
        res->more = 1;
        return 0;
    }
    return res->by_time ? next_time_match(res, rec, len, v) : next_match_view(res, rec, len, v);
}

/* Count the record seq as returned: the cursor continues after it. */
static void took(struct trail_results *res, uint64_t seq)
{
    res->returned++;
    res->last_seq = seq;
    if (res->by_time) {
        res->has_pos = 1;
        res->pos_time = res->held_time;
        res->pos_seq = seq;
    }
    if (res->limit && res->returned >= res->limit)
        res->more = 1;
}

int trail_results_next(struct trail_results *res, struct trail_event *ev)
{
    const uint8_t *rec;
    size_t len;
    struct rec_view v;
    int r = next_record(res, &rec, &len, &v);
    if (r <= 0)
        return r;
    r = record_decode(rec, len, res->ix->s->store_id, ev);
    if (r < 0)
        return r;
    took(res, trail_event_seq(ev));
    return 1;
}

int trail_results_write(struct trail_results *res, struct trail_event *ev, int form,
                        const struct trail_cef_opts *cef, struct trail_buf *out, size_t want,
                        uint64_t *ret_rows)
{
    if (form != TRAIL_ROWS_CSV && form != TRAIL_ROWS_NDJSON && form != TRAIL_ROWS_CEF)
        return -EINVAL;
    /* only CEF writes the catalog's description and declared keys */
    const struct trail_catalog *cat = form == TRAIL_ROWS_CEF ? ev->cat : NULL;
    if (!res->ra_tried && !res->by_time) {
        res->ra_tried = 1;
        res->ra = readahead_new(res->ix);
    }
    uint64_t rows = 0;
    int r = 1;
    while (out->len < want) {
        const uint8_t *rec;
        size_t len;
        struct rec_view v;
        if ((r = next_record(res, &rec, &len, &v)) <= 0)
            break;
        if (v.n_attrs > res->cap_row_attrs) {
            struct codec_attr *a = realloc(res->row_attrs, v.n_attrs * sizeof(*a));
            if (!a) {
                r = -ENOMEM;
                break;
            }
            res->row_attrs = a;
            res->cap_row_attrs = v.n_attrs;
        }
        /* the record read in place; the few it does not take are decoded (record_row.c) */
        struct codec_row row;
        uint8_t uuid[16];
        if (!record_row(&v, rec, res->ix->s->store_id, cat, res->row_attrs, res->cap_row_attrs,
                        uuid, &row)) {
            if ((r = record_decode(rec, len, res->ix->s->store_id, ev)) < 0)
                break;
            codec_row_of_event(ev, &row);
        }
        size_t at = out->len;
        r = form == TRAIL_ROWS_CSV      ? codec_row_csv(&row, out)
            : form == TRAIL_ROWS_NDJSON ? codec_row_json(&row, out)
                                        : codec_row_cef(&row, cef, out);
        if (r == 0 && (r = codec_room(out, 1)) == 0) {
            out->data[out->len++] = '\n';
            out->data[out->len] = '\0';
        }
        if (r < 0) {
            out->len = at;
            if (out->data)
                out->data[at] = '\0';
            break;
        }
        took(res, v.seq);
        rows++;
        r = 1;
    }
    *ret_rows = rows;
    return r;
}

uint64_t qresults_examined(const struct trail_results *res)
{
    return res->examined;
}

void qresults_merge_stats(const struct trail_results *res, uint64_t *ret_opened, uint64_t *ret_peak)
{
    *ret_opened = res->opened;
    *ret_peak = res->peak_heap;
}

int trail_results_skipped(struct trail_results *res, struct trail_store_damage **ret, size_t *ret_n)
{
    /* the part of [lo, hi] this page looked at */
    uint64_t a = res->lo, b = res->hi;
    if (res->more && res->returned && !res->by_time) {
        if (res->newest)
            a = res->last_seq;
        else
            b = res->last_seq;
    }
    return trail_index_damage(res->ix, a, b, ret, ret_n);
}

int trail_index_damage(struct trail_index *ix, uint64_t from, uint64_t to,
                       struct trail_store_damage **ret, size_t *ret_n)
{
    struct trail_store_damage *all;
    size_t n, k = 0;
    int r = trail_store_damage_list(ix->s, &all, &n, NULL);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++)
        if (all[i].last_seq >= from && all[i].first_seq <= to)
            all[k++] = all[i];
    if (!k) {
        free(all);
        all = NULL;
    }
    *ret = all;
    *ret_n = k;
    return 0;
}

int trail_results_more(const struct trail_results *res)
{
    return res->more;
}

uint64_t trail_results_horizon(const struct trail_results *res)
{
    return res->horizon;
}

int trail_results_cursor(const struct trail_results *res, char *buf, size_t size)
{
    struct qposition p = {.newest = res->newest,
                          .done = res->done,
                          .more = res->more,
                          .by_time = res->by_time,
                          .has_pos = res->has_pos,
                          .pos_time = res->pos_time,
                          .pos_seq = res->pos_seq,
                          .lo = res->lo,
                          .hi = res->hi,
                          .returned = res->returned,
                          .last_seq = res->last_seq};
    return qposition_cursor(&p, &res->plan, buf, size);
}

/* ---- counting ---- */

/*
 * Groups are keyed by the bytes of their keys: per dimension a presence
 * byte, a u32 length and the text. A hash table of those keys counts.
 */
struct group {
    uint32_t h;
    uint32_t off, len; /* key bytes in the arena */
    uint64_t count;
};

struct counter {
    const struct trail_query *q;
    struct group *slots;
    size_t cap, n;
    struct trail_buf arena;
    struct trail_buf key;
    uint64_t total;
};

static int counter_add(struct counter *c, const char *key, size_t klen, uint64_t count)
{
    if (count == 0)
        return 0;
    if ((c->n + 1) * 2 > c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 1024;
        struct group *t = calloc(cap, sizeof(*t));
        if (!t)
            return -ENOMEM;
        for (size_t i = 0; i < c->cap; i++) {
            if (!c->slots[i].count)
                continue;
            size_t j = c->slots[i].h & (cap - 1);
            while (t[j].count)
                j = (j + 1) & (cap - 1);
            t[j] = c->slots[i];
        }
        free(c->slots);
        c->slots = t;
        c->cap = cap;
    }
    uint32_t h = crc32c(0, key, klen);
    size_t i = h & (c->cap - 1);
    for (; c->slots[i].count; i = (i + 1) & (c->cap - 1)) {
        struct group *g = &c->slots[i];
        if (g->h == h && g->len == klen &&
            (klen == 0 || memcmp(c->arena.data + g->off, key, klen) == 0)) {
            g->count += count;
            c->total += count;
            return 0;
        }
    }
    size_t off = c->arena.len;
    if (klen && trail_buf_append(&c->arena, key, klen) < 0)
        return -ENOMEM;
    c->slots[i] =
        (struct group){.h = h, .off = (uint32_t)off, .len = (uint32_t)klen, .count = count};
    c->n++;
    c->total += count;
    return 0;
}

/* Append one dimension's key part (text NULL: the attribute is missing). */
static int key_part(struct trail_buf *k, const char *text, size_t n)
{
    uint8_t head[5] = {text ? 1 : 0};
    put_u32(head + 1, (uint32_t)n);
    if (trail_buf_append(k, head, sizeof(head)) < 0 || (n && trail_buf_append(k, text, n) < 0))
        return -ENOMEM;
    return 0;
}

static int64_t hour_of_us(int64_t t)
{
    int64_t h = t / HOUR_US;
    return t < 0 && t % HOUR_US ? h - 1 : h;
}

/* "2026-11-01T13:00:00Z" for an hour, "2026-11-01" for its day. */
static size_t hour_text(int64_t hour, int day, char buf[32])
{
    char t[32];
    int64_t us = day ? (hour >= 0 ? hour / 24 : (hour - 23) / 24) * 24 * HOUR_US : hour * HOUR_US;
    trail_time_format(us, t);
    if (day) {
        memcpy(buf, t, 10);
        buf[10] = '\0';
        return 10;
    }
    memcpy(buf, t, 13);
    memcpy(buf + 13, ":00:00Z", 8);
    return 20;
}

/*
 * The key part of dimension by, one of event, severity, hour and day, from
 * what a record or a rollup entry holds: its id, severity and hour (hours
 * since the epoch; read for hour and day only).
 */
static int key_fixed(struct trail_buf *k, int by, const char *id, size_t idlen, int severity,
                     int64_t hour)
{
    char buf[32];
    switch (by) {
    case QBY_EVENT:
        return key_part(k, id, idlen);
    case QBY_SEVERITY: {
        const char *s = trail_severity_name(severity);
        return key_part(k, s ? s : "?", s ? strlen(s) : 1);
    }
    default:
        assert(by == QBY_HOUR || by == QBY_DAY);
        return key_part(k, buf, hour_text(hour, by == QBY_DAY, buf));
    }
}

/* Count one record. */
static int count_record(struct counter *c, const struct rec_view *v)
{
    const struct trail_query *q = c->q;
    struct trail_buf *k = &c->key;
    k->len = 0;
    for (int d = 0; d < q->n_by; d++) {
        int r = 0;
        char buf[64];
        switch (q->by[d]) {
        case QBY_EVENT:
        case QBY_SEVERITY:
        case QBY_HOUR:
        case QBY_DAY:
            r = key_fixed(k, q->by[d], (const char *)v->id, v->id_len, v->severity,
                          q->by[d] >= QBY_HOUR ? hour_of_us(v->time_us) : 0);
            break;
        default: {
            const uint8_t *p = v->attrs;
            struct rec_attr a;
            int found = 0, rr;
            size_t klen = strlen(q->by_attr[d]);
            while ((rr = rec_attr_next(&p, v->end, &a)) == 1) {
                if (a.klen == klen && memcmp(a.key, q->by_attr[d], klen) == 0) {
                    const char *t;
                    size_t n = rec_attr_text(&a, buf, &t);
                    r = key_part(k, t, n);
                    found = 1;
                    break;
                }
            }
            if (rr < 0)
                return rr;
            if (!found)
                r = key_part(k, NULL, 0);
        }
        }
        if (r < 0)
            return r;
    }
    return counter_add(c, k->data ? k->data : "", k->len, 1);
}

struct rollup_ctx {
    struct counter *c;
    struct trail_results *res;
    const struct qindex *x;
    int64_t h_lo, h_hi; /* whole hours [h_lo, h_hi) */
    int err;
    /* value rollups: the segment's entries, which pass, what their tuples covered */
    struct qrollup *ent;
    size_t n_ent, cap_ent;
    uint8_t *pass;
    uint64_t *covered;
    struct qvroll vr;
};

static int rollup_one(void *arg, const struct qrollup *e)
{
    struct rollup_ctx *rc = arg;
    struct trail_results *res = rc->res;
    const struct trail_query *q = rc->c->q;
    if (e->hour < rc->h_lo || e->hour >= rc->h_hi)
        return 0;
    if (e->severity < res->plan.sev_min || e->severity > res->plan.sev_max)
        return 0;
    size_t idlen;
    const char *id = qindex_event(rc->x, e->event, &idlen);
    if (q->n_globs && !qplan_event_ok(&res->plan, (const uint8_t *)id, idlen))
        return 0;
    struct trail_buf *k = &rc->c->key;
    k->len = 0;
    int r = 0;
    for (int d = 0; d < q->n_by && r == 0; d++)
        r = key_fixed(k, q->by[d], id, idlen, e->severity, e->hour);
    if (r == 0)
        r = counter_add(rc->c, k->data ? k->data : "", k->len, e->count);
    if (r < 0) {
        rc->err = r;
        return 1;
    }
    return 0;
}

/* Does the rollup entry e pass the search (whole hours, severities, event globs)? */
static int entry_passes(struct rollup_ctx *rc, const struct qrollup *e)
{
    struct trail_results *res = rc->res;
    if (e->hour < rc->h_lo || e->hour >= rc->h_hi)
        return 0;
    if (e->severity < res->plan.sev_min || e->severity > res->plan.sev_max)
        return 0;
    size_t idlen;
    const char *id = qindex_event(rc->x, e->event, &idlen);
    return !rc->c->q->n_globs || qplan_event_ok(&res->plan, (const uint8_t *)id, idlen);
}

/* The group key of entry e with the attribute dimension's text (NULL: missing). */
static int entry_key(struct rollup_ctx *rc, const struct qrollup *e, const char *text, size_t n)
{
    const struct trail_query *q = rc->c->q;
    struct trail_buf *k = &rc->c->key;
    k->len = 0;
    int r = 0;
    size_t idlen;
    const char *id = qindex_event(rc->x, e->event, &idlen);
    for (int d = 0; d < q->n_by && r == 0; d++)
        r = q->by[d] == QBY_ATTR ? key_part(k, text, n)
                                 : key_fixed(k, q->by[d], id, idlen, e->severity, e->hour);
    return r;
}

static int collect_entry(void *arg, const struct qrollup *e)
{
    struct rollup_ctx *rc = arg;
    if (rc->n_ent == rc->cap_ent) {
        size_t cap = rc->cap_ent ? rc->cap_ent * 2 : 1024;
        struct qrollup *t = realloc(rc->ent, cap * sizeof(*t));
        uint8_t *p = realloc(rc->pass, cap);
        if (p)
            rc->pass = p;
        uint64_t *c = realloc(rc->covered, cap * sizeof(*c));
        if (c)
            rc->covered = c;
        if (t)
            rc->ent = t;
        if (!t || !p || !c) {
            rc->err = -ENOMEM;
            return 1;
        }
        rc->cap_ent = cap;
    }
    rc->ent[rc->n_ent++] = *e;
    return 0;
}

/*
 * Count segment rc->x by the attribute of dimension d from its value
 * rollup: each tuple of a passing entry under its value, and the entry's
 * records the tuples leave over under the missing value. 1 counted, 0 when
 * the index keeps no value rollup of that key (the segment is read),
 * TRAIL_E_CORRUPT, -ENOMEM.
 */
static int count_vrollup(struct rollup_ctx *rc, int d)
{
    const char *key = rc->c->q->by_attr[d];
    if (rc->x->live || !rc->x->vroll)
        return 0; /* a version 1 file: no value rollups */
    rc->n_ent = 0;
    rc->err = 0;
    int r = qindex_rollup(rc->x, collect_entry, rc);
    if (r < 0)
        return r;
    if (rc->err)
        return rc->err;
    int any = 0;
    for (size_t i = 0; i < rc->n_ent; i++) {
        rc->pass[i] = (uint8_t)entry_passes(rc, &rc->ent[i]);
        rc->covered[i] = 0;
        any |= rc->pass[i];
    }
    if (!any)
        return 1; /* nothing of the segment in the whole hours: whatever it keeps */
    if ((r = qindex_vrollup(rc->x, key, strlen(key), &rc->vr)) <= 0)
        return r;
    for (uint32_t j = 0; j < rc->vr.n_tuples; j++) {
        const struct qvtuple *t = &rc->vr.t[j];
        if (!rc->pass[t->entry])
            continue;
        if ((r = entry_key(rc, &rc->ent[t->entry], (const char *)rc->vr.val[t->value],
                           rc->vr.vlen[t->value])) < 0 ||
            (r = counter_add(rc->c, rc->c->key.data ? rc->c->key.data : "", rc->c->key.len,
                             t->count)) < 0)
            return r;
        rc->covered[t->entry] += t->count;
    }
    for (size_t i = 0; i < rc->n_ent; i++) {
        if (!rc->pass[i])
            continue;
        if (rc->covered[i] > rc->ent[i].count)
            return TRAIL_E_CORRUPT;
        if (rc->covered[i] == rc->ent[i].count)
            continue;
        if ((r = entry_key(rc, &rc->ent[i], NULL, 0)) < 0 ||
            (r = counter_add(rc->c, rc->c->key.data ? rc->c->key.data : "", rc->c->key.len,
                             rc->ent[i].count - rc->covered[i])) < 0)
            return r;
    }
    return 1;
}

/* Count the matches of a search, leaving out records of the whole hours [skip_lo, skip_hi). */
static int count_scan(struct counter *c, struct trail_results *res, int64_t skip_lo,
                      int64_t skip_hi)
{
    const uint8_t *rec;
    size_t len;
    int r;
    while ((r = next_match(res, &rec, &len)) == 1) {
        struct rec_view v;
        if ((r = rec_view_parse(rec, len, &v)) < 0)
            return r;
        int64_t h = hour_of_us(v.time_us);
        if (h >= skip_lo && h < skip_hi)
            continue;
        if ((r = count_record(c, &v)) < 0)
            return r;
    }
    return r;
}

/* Start a search over again (oldest first). */
static void results_rewind(struct trail_results *res)
{
    end_segment(res);
    res->si = 0;
    res->newest = 0;
    res->done = res->lo > res->hi || res->hi == 0;
}

static int count_result(struct counter *c, const struct trail_query *q, struct trail_count **ret)
{
    size_t names = 0;
    for (int d = 0; d < q->n_by; d++)
        names += strlen(qcount_by_name(q, d)) + 1;
    size_t size = sizeof(struct trail_count) + c->n * sizeof(struct trail_count_row) + names +
                  c->arena.len + c->n * (size_t)TRAIL_COUNT_MAX_BY + 1;
    struct trail_count *out = calloc(1, size);
    if (!out)
        return -ENOMEM;
    out->n_by = q->n_by;
    out->total = c->total;
    out->rows = (struct trail_count_row *)(out + 1);
    char *strs = (char *)(out->rows + c->n);
    for (int d = 0; d < q->n_by; d++) {
        size_t l = strlen(qcount_by_name(q, d)) + 1;
        memcpy(strs, qcount_by_name(q, d), l);
        out->by[d] = strs;
        strs += l;
    }
    for (size_t i = 0; i < c->cap; i++) {
        const struct group *g = &c->slots[i];
        if (!g->count)
            continue;
        struct trail_count_row *row = &out->rows[out->n_rows++];
        row->count = g->count;
        const uint8_t *p = (const uint8_t *)c->arena.data + g->off;
        for (int d = 0; d < q->n_by; d++) {
            int present = p[0];
            uint32_t n = get_u32(p + 1);
            p += 5;
            if (present) {
                memcpy(strs, p, n);
                strs[n] = '\0';
                row->keys[d] = strs;
                strs += n + 1;
            }
            p += n;
        }
    }
    qcount_sort(out->rows, out->n_rows, qcount_by_key(q));
    *ret = out;
    return 0;
}

/* Does known damage touch [first, last]? (its records are then counted one by one) */
static int segment_damaged(struct trail_store *s, uint64_t first, uint64_t last)
{
    int hit = 0;
    pthread_mutex_lock(&s->seg_lock);
    for (size_t i = 0; i < s->n_damage && !hit; i++)
        hit = s->damage[i].last_seq >= first && s->damage[i].first_seq <= last;
    pthread_mutex_unlock(&s->seg_lock);
    return hit;
}

int trail_count_run(struct trail_index *ix, const struct trail_query *q, struct trail_count **ret,
                    char *err, size_t errlen)
{
    struct counter c = {.q = q};
    struct trail_results *res = NULL;
    uint64_t *saved = NULL;
    int r = results_new(ix, q, 0, &res, err, errlen);
    if (r < 0)
        return r;
    /* the hourly rollups are by event time: a received-time filter reads records */
    int rollup_ok = q->n_wheres == 0 && q->n_texts == 0 && !q->rsince_text && !q->runtil_text;
    int attr_d = -1; /* the attribute dimension, counted from value rollups */
    for (int d = 0; d < q->n_by; d++) {
        if (q->by[d] != QBY_ATTR)
            continue;
        if (attr_d >= 0)
            rollup_ok = 0; /* two attributes: value rollups count one key at a time */
        attr_d = d;
    }
    if (!rollup_ok || res->done) {
        r = count_scan(&c, res, 0, 0);
        goto done;
    }
    /*
     * Whole hours come from the rollups of the segments wholly inside the
     * search (by an attribute: from their value rollups of its key, where
     * the index keeps one); those segments' partial hours at the edges of
     * [since, until) are read record by record; the other segments are read
     * whole.
     */
    int64_t since = res->plan.since, until = res->plan.until;
    int64_t h_lo = since == INT64_MIN ? INT64_MIN : hour_of_us(since) + (since % HOUR_US != 0);
    int64_t h_hi = until == INT64_MAX ? INT64_MAX : hour_of_us(until);
    if (h_hi < h_lo)
        h_hi = h_lo;
    saved = malloc((res->n_segs ? res->n_segs : 1) * sizeof(*saved));
    if (!saved) {
        r = -ENOMEM;
        goto done;
    }
    struct rollup_ctx rc = {.c = &c, .res = res, .h_lo = h_lo, .h_hi = h_hi};
    for (size_t i = 0; i < res->n_segs && r == 0; i++) {
        struct iseg *g = res->segs[i];
        saved[i] = 0;
        if (!g->sealed)
            continue; /* a live segment grows while it is counted: read it */
        if (g->first_seq >= res->lo && g->ss.last_seq <= res->hi &&
            !segment_damaged(ix->s, g->first_seq, g->ss.last_seq)) {
            rc.x = &g->x;
            if (attr_d >= 0) {
                if ((r = count_vrollup(&rc, attr_d)) <= 0)
                    continue; /* no value rollup of the key (or an error): read */
                r = 0;
                atomic_fetch_add(&ix->vrolled, 1);
            } else {
                r = qindex_rollup(&g->x, rollup_one, &rc);
                if (rc.err)
                    r = rc.err;
            }
            saved[i] = res->seg_last[i];
            res->seg_last[i] = 0; /* counted: the whole-segment scan skips it */
        }
    }
    free(rc.ent);
    free(rc.pass);
    free(rc.covered);
    qvroll_free(&rc.vr);
    if (r == 0)
        r = count_scan(&c, res, INT64_MAX, INT64_MAX);
    for (int side = 0; side < 2 && r == 0; side++) {
        int64_t a, b;
        if (side == 0) {
            if (since == INT64_MIN)
                continue;
            a = since;
            b = h_lo == INT64_MIN || h_lo > INT64_MAX / HOUR_US ? until : h_lo * HOUR_US;
            if (b > until)
                b = until;
        } else {
            if (until == INT64_MAX)
                continue;
            a = h_hi == INT64_MAX || h_hi < INT64_MIN / HOUR_US ? since : h_hi * HOUR_US;
            if (a < since)
                a = since;
            b = until;
        }
        if (a >= b)
            continue;
        for (size_t i = 0; i < res->n_segs; i++)
            res->seg_last[i] = saved[i];
        results_rewind(res);
        res->plan.since = a;
        res->plan.until = b;
        r = count_scan(&c, res, h_lo, h_hi);
    }
done:
    if (r == 0)
        r = count_result(&c, q, ret);
    free(saved);
    results_free(res);
    free(c.slots);
    trail_buf_free(&c.arena);
    trail_buf_free(&c.key);
    return r;
}

void trail_count_free(struct trail_count *c)
{
    free(c);
}
