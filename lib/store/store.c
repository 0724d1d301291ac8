/*
 * store.c - the store's engine room: appends with group commit (encoded and
 * hashed on the appending thread, chained and copied into the current batch
 * under the lock, in seq order), the tree nodes an append hashes over its
 * own leaves (store_subtrees), rolling to a
 * new segment, durability waits and tickets, the segment list, the state
 * and statistics readers see, and the small I/O helpers the other parts
 * share (writes and syncs through the test hook, the monotonic clock).
 *
 * The store's other jobs, one file each: open, lock and close
 * (store_open.c), store.meta and recovery (store_recover.c), the guard of
 * the store's own files (store_files.c), the flusher (store_flush.c), the
 * sealer (store_seal.c).
 *
 * Not here: the record bytes (record.c), the file formats (segment.c),
 * reading (store_iter.c), tree.roots, subtree hashes and anchors
 * (store_tree.c), retention (store_purge.c), checkpoints
 * (store_checkpoint.c), damage (store_damage.c), duplicates
 * (store_dedup.c).
 *
 * Concurrency. One mutex (s->lock) covers the append path: an append call
 * takes its seqs under it, encodes and hashes its batch without it, and
 * chains and copies the batch into the current batch buffer under it again,
 * in seq order (trail_store_append). The flusher swaps that buffer for an empty one
 * under the lock, then writes and syncs it without the lock, and publishes
 * the new durable seq under the lock again; waiters sleep on durable_cv.
 * With the ALWAYS policy the flusher writes as soon as something is there,
 * so all appends made while one fdatasync runs share the next one.
 *
 * A failed write or sync rolls the store back to its last durable state: the
 * file is cut there, the in-memory chain, tree and seq return to it, every
 * record after it fails its waiters, and the next flush tries again with
 * whatever is appended meanwhile. So the store on disk is always a prefix
 * of what was appended, and nothing acknowledged is ever lost or repeated.
 *
 * The segment list (s->segs, seg_lock) is what readers in this process use;
 * the flusher adds segments as it creates them, the sealer swaps .open for
 * .seg, the purge removes the oldest.
 */
#include "base/fileio.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

/* The generation of the last append of this thread, for trail_store_wait(). */
static _Thread_local struct {
    const struct trail_store *store;
    uint64_t gen;
    uint64_t last_seq;
} last_append;

void store_report(struct trail_store_report *rep, const char *fmt, ...)
{
    if (!rep)
        return;
    va_list ap;
    va_start(ap, fmt);
    text_addline(rep->message, sizeof(rep->message), fmt, ap);
    va_end(ap);
}

void store_seg_path(const struct trail_store *s, uint64_t first_seq, const char *ext, char *out,
                    size_t size)
{
    snprintf(out, size, "%s/seg-%016" PRIx64 "%s", s->dir, first_seq, ext);
}

int store_fault(const struct trail_store *s, int op, int fd)
{
    if (!s->o.fault)
        return 0;
    return s->o.fault(s->o.fault_arg, op, fd);
}

int store_fsync_dir(struct trail_store *s)
{
    int r = store_fault(s, TRAIL_STORE_OP_SYNC, s->dir_fd);
    if (r < 0)
        return r;
    return fsync(s->dir_fd) < 0 ? -errno : 0;
}

int store_write_at(struct trail_store *s, int fd, const void *buf, size_t n, uint64_t off)
{
    int r = store_fault(s, TRAIL_STORE_OP_WRITE, fd);
    return r < 0 ? r : io_pwrite_full(fd, buf, n, off);
}

int store_sync_fd(struct trail_store *s, int fd)
{
    int r = store_fault(s, TRAIL_STORE_OP_SYNC, fd);
    if (r < 0)
        return r;
    return fdatasync(fd) < 0 ? -errno : 0;
}

int64_t store_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The node of level h, block b, when pre holds it; else NULL. */
static const uint8_t *subtree_node(const struct store_subtrees *pre, unsigned h, uint64_t b)
{
    if (!pre || h >= pre->levels || b < pre->first[h] || b - pre->first[h] >= pre->count[h])
        return NULL;
    return h == 0 ? pre->leaves[b - pre->base] : pre->nodes[pre->at[h] + (b - pre->first[h])];
}

int store_subtrees_hash(struct store_subtrees *t, uint64_t base,
                        const uint8_t (*leaves)[TRAIL_HASH_LEN], size_t n,
                        uint8_t (*nodes)[TRAIL_HASH_LEN])
{
    size_t used = 0;
    unsigned h;
    t->base = base;
    t->n = n;
    t->leaves = leaves;
    t->nodes = nodes;
    t->first[0] = base;
    t->count[0] = n;
    t->at[0] = 0;
    t->levels = 1;
    for (h = 1; h < 63; h++) {
        uint64_t size = (uint64_t)1 << h;
        /* whole blocks only: from the first aligned start at or after base to the last end */
        uint64_t first = base / size + (base % size != 0), end = (base + n) / size;
        if (end <= first)
            break;
        t->first[h] = first;
        t->count[h] = (size_t)(end - first);
        t->at[h] = used;
        t->levels = h + 1;
        for (uint64_t b = first; b < end; b++) {
            /* both children are whole blocks of the level below, inside the leaves */
            int r = trail_hash_node(subtree_node(t, h - 1, 2 * b),
                                    subtree_node(t, h - 1, 2 * b + 1), nodes[used]);
            if (r < 0)
                return r;
            used++;
        }
    }
    TRAIL_ASSERT(n == 0 || used < n);
    return 0;
}

int store_frontier_push_pre(struct trail_frontier *f, const uint8_t leaf[TRAIL_HASH_LEN],
                            const struct store_subtrees *pre, uint8_t group_root[TRAIL_HASH_LEN],
                            int *ret_group_done)
{
    /* frontier_append's merge, watching for the 8th merge: that hash is the
       root of the 256-leaf group just completed (no extra hashing) */
    uint8_t carry[TRAIL_HASH_LEN];
    unsigned k = 0;
    memcpy(carry, leaf, TRAIL_HASH_LEN);
    *ret_group_done = 0;
    while (f->size & ((uint64_t)1 << k)) {
        /* merging k times made the level-k block of leaf number size; this makes
           its parent, which pre has when all of its leaves are pre's */
        const uint8_t *node = subtree_node(pre, k + 1, f->size >> (k + 1));
        if (node) {
            memcpy(carry, node, TRAIL_HASH_LEN);
        } else {
            int r = trail_hash_node(f->nodes[k], carry, carry);
            if (r < 0)
                return r;
        }
        k++;
        if (k == 8) {
            memcpy(group_root, carry, TRAIL_HASH_LEN);
            *ret_group_done = 1;
        }
    }
    memcpy(f->nodes[k], carry, TRAIL_HASH_LEN);
    f->size++;
    /* the merge took exactly the trailing one bits of the old size */
    TRAIL_ASSERT((f->size & (((uint64_t)1 << (k + 1)) - 1)) == (uint64_t)1 << k);
    return 0;
}

int store_frontier_push(struct trail_frontier *f, const uint8_t leaf[TRAIL_HASH_LEN],
                        uint8_t group_root[TRAIL_HASH_LEN], int *ret_group_done)
{
    return store_frontier_push_pre(f, leaf, NULL, group_root, ret_group_done);
}

int store_segs_copy(struct trail_store *s, struct seg **ret, size_t *ret_n)
{
    pthread_mutex_lock(&s->seg_lock);
    size_t n = s->n_segs;
    struct seg *segs = malloc((n ? n : 1) * sizeof(*segs));
    if (segs && n)
        memcpy(segs, s->segs, n * sizeof(*segs));
    pthread_mutex_unlock(&s->seg_lock);
    if (!segs)
        return -ENOMEM;
    *ret = segs;
    *ret_n = n;
    return 0;
}

long store_segs_find(const struct trail_store *s, uint64_t seq)
{
    size_t lo = 0, hi = s->n_segs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->segs[mid].first_seq <= seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return -1;
    return (long)lo - 1;
}

int store_segs_push(struct trail_store *s, const struct seg *g)
{
    if (s->n_segs == s->cap_segs) {
        size_t cap = s->cap_segs ? s->cap_segs * 2 : 16;
        struct seg *p = realloc(s->segs, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        s->segs = p;
        s->cap_segs = cap;
    }
    s->segs[s->n_segs++] = *g;
    return 0;
}

/* ---- append and wait ---- */

/* Start a new segment at the next record (the flusher creates the file). */
static int roll(struct trail_store *s, struct batch *b, int64_t now)
{
    struct live *lv = &s->live;
    struct roll *rl = &b->rolls[b->n_rolls++];
    rl->at = b->data.len;
    rl->prev_bytes = lv->seg_bytes;
    rl->prev_min_time = lv->seg_min_time;
    rl->prev_max_time = lv->seg_max_time;
    memset(&rl->h, 0, sizeof(rl->h));
    rl->h.kind = TRAIL_SEG_KIND_OPEN;
    memcpy(rl->h.store_id, s->store_id, 16);
    rl->h.first_seq = lv->next_seq;
    rl->h.created_us = now;
    memcpy(rl->h.chain, lv->chain, TRAIL_HASH_LEN);
    rl->h.frontier = lv->frontier;
    uint8_t tmp[TRAIL_SEG_HEADER_MAX];
    rl->h.header_len = (uint32_t)seg_header_encode(&rl->h, tmp);
    lv->seg = rl->h;
    lv->seg_exists = 1;
    lv->seg_bytes = rl->h.header_len;
    lv->seg_min_time = INT64_MAX;
    lv->seg_max_time = INT64_MIN;
    return 0;
}

/*
 * Per-thread scratch of the append path: the encoded frames and their leaf
 * hashes, made outside the store's lock. Grows, never shrinks; freed when
 * the thread exits.
 */
struct scratch {
    uint8_t *frames;
    size_t cap;
    uint8_t (*leaves)[TRAIL_HASH_LEN];
    size_t cap_leaves;
    size_t *lens;
    struct trail_event **keep;        /* the batch without its duplicates (cap_leaves of them) */
    uint8_t (*nodes)[TRAIL_HASH_LEN]; /* the batch's inner tree nodes (cap_leaves of them) */
    struct store_subtrees sub;
};

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static _Thread_local struct scratch *my_scratch;

static void scratch_free(void *p)
{
    struct scratch *sc = p;
    if (!sc)
        return;
    free(sc->frames);
    free(sc->leaves);
    free(sc->lens);
    free(sc->keep);
    free(sc->nodes);
    free(sc);
}

static void scratch_key_make(void)
{
    pthread_key_create(&scratch_key, scratch_free);
}

static struct scratch *scratch_get(size_t bytes, size_t n)
{
    struct scratch *sc = my_scratch;
    if (!sc) {
        pthread_once(&scratch_once, scratch_key_make);
        sc = calloc(1, sizeof(*sc));
        if (!sc || pthread_setspecific(scratch_key, sc) != 0) {
            free(sc);
            return NULL;
        }
        my_scratch = sc;
    }
    if (sc->cap < bytes) {
        size_t cap = bytes > 2 * sc->cap ? bytes : 2 * sc->cap;
        uint8_t *p = realloc(sc->frames, cap);
        if (!p)
            return NULL;
        sc->frames = p;
        sc->cap = cap;
    }
    if (sc->cap_leaves < n) {
        size_t cap = n > 2 * sc->cap_leaves ? n : 2 * sc->cap_leaves;
        uint8_t(*l)[TRAIL_HASH_LEN] = realloc(sc->leaves, cap * TRAIL_HASH_LEN);
        if (!l)
            return NULL;
        sc->leaves = l;
        size_t *lens = realloc(sc->lens, cap * sizeof(*lens));
        if (!lens)
            return NULL;
        sc->lens = lens;
        struct trail_event **keep = realloc(sc->keep, cap * sizeof(*keep));
        if (!keep)
            return NULL;
        sc->keep = keep;
        uint8_t(*nodes)[TRAIL_HASH_LEN] = realloc(sc->nodes, cap * TRAIL_HASH_LEN);
        if (!nodes)
            return NULL;
        sc->nodes = nodes;
        sc->cap_leaves = cap;
    }
    return sc;
}

/*
 * Something that cannot be undone went wrong on the append path (out of
 * memory, a hash that failed): the handle stops taking appends. Needs the
 * lock.
 */
static void go_fatal(struct trail_store *s, int r)
{
    if (!s->fatal)
        s->fatal = r;
    pthread_cond_broadcast(&s->turn_cv);
    pthread_cond_broadcast(&s->durable_cv);
    pthread_cond_broadcast(&s->room_cv);
}

/*
 * An append in steps. Under the lock, the batch gets its seqs. Without
 * the lock, it is encoded, checksummed and leaf-hashed, and the tree nodes
 * over its own leaves are hashed (the costly part, so appending threads do
 * it in parallel: with batches of 256 that is all but ~1 node hash of the
 * tree's ~1 an event). Under the lock again and in seq order (each call
 * waits for the one before it), the leaves extend the chain (one hash an
 * event, the one hash that must be serial) and the tree (lookups, and the
 * nodes that join the batch to what came before), and the frames are
 * copied into the current batch.
 */
/*
 * Step 1's duplicates (the lock held): events whose producer uuid the store
 * holds, or an earlier event of this batch has, get dup_of and leave the
 * batch; the others go to keep[] and are remembered at the seqs they will
 * get from first on. Returns how many are kept; *ret_max_dup is the highest
 * seq a duplicate points at (0: none), which the caller's ticket must cover.
 */
static size_t take_duplicates(struct trail_store *s, struct trail_event *const *events, size_t n,
                              uint64_t first, int64_t now, struct trail_event **keep,
                              uint64_t *ret_max_dup, int *ret_err)
{
    size_t n_keep = 0;
    uint64_t max_dup = 0;
    for (size_t i = 0; i < n; i++) {
        struct trail_event *ev = events[i];
        ev->dup_of = 0;
        if (s->dedup && ev->has_uuid && !ev->own) {
            uint64_t seq = store_dedup_find(s->dedup, ev->uuid);
            if (seq) {
                ev->dup_of = seq;
                ev->seq = seq;
                max_dup = seq > max_dup ? seq : max_dup;
                continue;
            }
            int r = store_dedup_add(s->dedup, ev->uuid, first + n_keep, now);
            if (r < 0 && !*ret_err)
                *ret_err = r;
        }
        keep[n_keep++] = ev;
    }
    *ret_max_dup = max_dup;
    return n_keep;
}

int trail_store_append(struct trail_store *s, struct trail_event *const *in_events, size_t n_in,
                       uint64_t *ret_last_seq)
{
    if (s->read_only)
        return TRAIL_E_READONLY;
    if (n_in == 0)
        return 0;
    uint32_t max_rec = trail_catalog_limits(s->cat)->max_record_bytes;
    size_t total = 0;
    for (size_t i = 0; i < n_in; i++) {
        size_t len = record_size(in_events[i]);
        /* the catalog's limit is at most TRAIL_RECORD_BYTES_MAX: every record is a tile entry */
        if (len > max_rec || len > TRAIL_RECORD_BYTES_MAX)
            return TRAIL_E_TOO_LARGE;
        total += TRAIL_FRAME_HEAD + len;
    }
    struct scratch *sc = scratch_get(total, n_in);
    if (!sc)
        return -ENOMEM;
    int64_t now = trail_now();
    int r = 0;

    /* 1: duplicates out, seqs for the rest */
    pthread_mutex_lock(&s->lock);
    if (s->closing) {
        r = TRAIL_E_CLOSED;
    } else if (s->fatal) {
        r = TRAIL_E_FAILED;
    } else if (s->tampered) {
        r = TRAIL_E_TAMPERED;
    } else if (s->error && store_mono_us() < s->refuse_until_us) {
        r = s->error;
    } else {
        /* room: the flusher behind by max_pending_bytes, or the sealers by seal_backlog_max */
        int64_t waited_from = 0;
        while ((s->cur->data.len > s->o.max_pending_bytes || store_seal_behind(s)) && !s->closing &&
               !s->fatal && !s->tampered) {
            if (!waited_from && store_seal_behind(s)) {
                waited_from = store_mono_us();
                s->seal_waits++;
            }
            pthread_cond_wait(&s->room_cv, &s->lock);
        }
        if (waited_from)
            s->seal_wait_us += (uint64_t)(store_mono_us() - waited_from);
        if (s->closing || s->fatal || s->tampered)
            r = s->closing ? TRAIL_E_CLOSED : s->fatal ? TRAIL_E_FAILED : TRAIL_E_TAMPERED;
    }
    if (r < 0) {
        pthread_mutex_unlock(&s->lock);
        return r;
    }
    uint64_t first = s->reserve_next, max_dup = 0;
    struct trail_event **events = sc->keep;
    size_t n = take_duplicates(s, in_events, n_in, first, now, events, &max_dup, &r);
    if (r < 0 || n == 0) {
        /* all were duplicates: nothing to store, the answer waits for the originals */
        if (r == 0) {
            last_append.store = s;
            last_append.gen = s->fail_gen;
            last_append.last_seq = max_dup;
            if (ret_last_seq)
                *ret_last_seq = max_dup;
        }
        pthread_mutex_unlock(&s->lock);
        return r;
    }
    if (n < n_in) { /* the frames of fewer events */
        total = 0;
        for (size_t i = 0; i < n; i++)
            total += TRAIL_FRAME_HEAD + record_size(events[i]);
    }
    uint64_t gen = s->fail_gen;
    s->reserve_next += n;
    s->in_flight++;
    pthread_mutex_unlock(&s->lock);

    /* 2: encode and hash, in parallel with other appenders */
    size_t off = 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        struct trail_event *ev = events[i];
        uint8_t *p = sc->frames + off;
        int64_t t = ev->time_us ? ev->time_us : now;
        size_t len = record_write(ev, first + i, t, ev->received_us ? ev->received_us : now,
                                  p + TRAIL_FRAME_HEAD);
        put_u32(p, (uint32_t)len);
        put_u32(p + 4, crc32c(0, p + TRAIL_FRAME_HEAD, len));
        r = trail_hash_leaf(p + TRAIL_FRAME_HEAD, len, sc->leaves[i]);
        sc->lens[i] = len;
        off += TRAIL_FRAME_HEAD + len;
    }
    /*
     * The tree's inner nodes over this batch's own leaves are known now: hash
     * them here, beside the other appenders, so that the turn below only
     * hashes the few nodes that join this batch to the ones before it.
     */
    if (r == 0)
        r = store_subtrees_hash(&sc->sub, first - 1, (const uint8_t(*)[TRAIL_HASH_LEN])sc->leaves,
                                n, sc->nodes);

    /* 3: in seq order, chain and tree, copy into the batch */
    pthread_mutex_lock(&s->lock);
    while (s->live.next_seq != first && s->fail_gen == gen && !s->fatal)
        pthread_cond_wait(&s->turn_cv, &s->lock);
    if (s->fail_gen != gen || s->fatal) {
        /* a flush failed meanwhile and cut the store back: these seqs are void */
        r = s->fatal ? TRAIL_E_FAILED : s->error ? s->error : -EIO;
        goto done;
    }
    if (r < 0) {
        go_fatal(s, r);
        goto done;
    }
    struct batch *b = s->cur;
    struct live *lv = &s->live;
    size_t max_rolls = 1 + total / (s->o.segment_max_bytes > 1 ? s->o.segment_max_bytes / 2 : 1);
    if (max_rolls > n + 1)
        max_rolls = n + 1;
    r = store_batch_reserve(b, total, max_rolls, n / 256 + 2);
    if (r < 0) {
        go_fatal(s, r);
        goto done;
    }
    if (b->data.len == 0)
        b->first_seq = first;
    off = 0;
    for (size_t i = 0; i < n; i++) {
        size_t frame = TRAIL_FRAME_HEAD + sc->lens[i];
        const uint8_t *p = sc->frames + off;
        int64_t t = record_time(p + TRAIL_FRAME_HEAD);
        if (!lv->seg_exists || (lv->seg.first_seq < lv->next_seq &&
                                (lv->seg_bytes + frame > s->o.segment_max_bytes ||
                                 now - lv->seg.created_us >= s->o.segment_max_age_us))) {
            if (b->n_rolls == b->cap_rolls && (r = store_batch_reserve(b, 0, 1, 0)) < 0) {
                go_fatal(s, r);
                goto done;
            }
            roll(s, b, now);
        }
        int group_done;
        if ((r = hash_chain(lv->chain, sc->leaves[i], lv->chain)) < 0 ||
            (r = store_frontier_push_pre(&lv->frontier, sc->leaves[i], &sc->sub,
                                         b->groups[b->n_groups], &group_done)) < 0) {
            go_fatal(s, r);
            goto done;
        }
        if (group_done) {
            b->n_groups++;
            lv->n_groups++;
            if (b->n_groups == b->cap_groups && (r = store_batch_reserve(b, 0, 0, 256)) < 0) {
                go_fatal(s, r);
                goto done;
            }
        }
        /* the record's seq is the next one, and the tree has one leaf per record */
        TRAIL_ASSERT(record_seq(p + TRAIL_FRAME_HEAD) == lv->next_seq);
        TRAIL_ASSERT(lv->frontier.size == lv->next_seq);
        memcpy(b->data.data + b->data.len, p, frame);
        b->data.len += frame;
        off += frame;
        b->last_seq = lv->next_seq;
        lv->next_seq++;
        lv->seg_bytes += frame;
        lv->seg_min_time = t < lv->seg_min_time ? t : lv->seg_min_time;
        lv->seg_max_time = t > lv->seg_max_time ? t : lv->seg_max_time;
    }
    for (size_t i = 0; i < n; i++) {
        events[i]->seq = first + i;
        if (!events[i]->time_us)
            events[i]->time_us = now;
    }
    if (s->flusher_waiting)
        pthread_cond_signal(&s->flush_cv);
    last_append.store = s;
    last_append.gen = gen;
    last_append.last_seq = first + n - 1 > max_dup ? first + n - 1 : max_dup;
    if (ret_last_seq)
        *ret_last_seq = last_append.last_seq;
done:
    s->in_flight--;
    pthread_cond_broadcast(&s->turn_cv);
    if (s->in_flight == 0 && s->closing)
        pthread_cond_signal(&s->flush_cv);
    pthread_mutex_unlock(&s->lock);
    return r;
}

void trail_store_ticket(struct trail_store *s, struct trail_store_ticket *ret)
{
    ret->last_seq = last_append.store == s ? last_append.last_seq : 0;
    ret->gen = last_append.store == s ? last_append.gen : 0;
}

int trail_store_wait(struct trail_store *s, uint64_t seq)
{
    if (s->read_only)
        return seq <= trail_store_last_seq(s) ? 0 : -EINVAL;
    pthread_mutex_lock(&s->lock);
    uint64_t gen = last_append.store == s ? last_append.gen : s->fail_gen;
    pthread_mutex_unlock(&s->lock);
    struct trail_store_ticket t = {.last_seq = seq, .gen = gen};
    return trail_store_wait_ticket(s, &t);
}

int trail_store_wait_ticket(struct trail_store *s, const struct trail_store_ticket *t)
{
    uint64_t seq = t->last_seq, gen = t->gen;
    if (s->read_only)
        return seq <= trail_store_last_seq(s) ? 0 : -EINVAL;
    int r;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        if (s->fail_gen > gen) {
            /* a flush failed since: seqs after its durable point were cut */
            uint64_t g = s->fail_gen - gen > 63 ? s->fail_gen - 63 : gen + 1;
            r = seq <= s->fail_floor[g % 64] ? 0 : s->fail_err[g % 64];
            break;
        }
        if (seq <= s->durable_seq) {
            r = 0;
            break;
        }
        if (seq >= s->reserve_next) {
            r = -EINVAL;
            break;
        }
        if (s->fatal && seq >= s->live.next_seq) {
            r = s->fatal;
            break;
        }
        if (s->flusher_done) {
            r = TRAIL_E_CLOSED;
            break;
        }
        pthread_cond_wait(&s->durable_cv, &s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    return r;
}

uint64_t trail_store_durable_seq(struct trail_store *s)
{
    /* every iterator step asks: no lock (the flusher publishes it with a release store,
       after the segment list covers it) */
    return __atomic_load_n(&s->durable_seq, __ATOMIC_ACQUIRE);
}

uint64_t trail_store_last_seq(struct trail_store *s)
{
    if (s->read_only) {
        pthread_mutex_lock(&s->seg_lock);
        uint64_t v = s->n_segs ? s->segs[s->n_segs - 1].last_seq : s->live.next_seq - 1;
        pthread_mutex_unlock(&s->seg_lock);
        return v;
    }
    pthread_mutex_lock(&s->lock);
    uint64_t v = s->reserve_next - 1;
    pthread_mutex_unlock(&s->lock);
    return v;
}

uint64_t trail_store_first_seq(struct trail_store *s)
{
    pthread_mutex_lock(&s->seg_lock);
    uint64_t v = s->n_segs ? s->segs[0].first_seq : s->live.next_seq;
    pthread_mutex_unlock(&s->seg_lock);
    return v;
}

int store_frontier(struct trail_store *s, struct trail_frontier *ret)
{
    pthread_mutex_lock(&s->lock);
    *ret = s->durable.frontier;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

/*
 * A reader's state: the last segment's header state carried over its records
 * (a writer keeps its state as it appends; a reader computes it when asked).
 */
static int reader_state(struct trail_store *s)
{
    pthread_mutex_lock(&s->seg_lock);
    int have = s->n_segs > 0;
    struct seg last = have ? s->segs[s->n_segs - 1] : (struct seg){0};
    pthread_mutex_unlock(&s->seg_lock);
    if (!have)
        return 0;
    char path[4200];
    store_seg_path(s, last.first_seq, last.sealed ? ".seg" : ".open", path, sizeof(path));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && !last.sealed) {
        store_seg_path(s, last.first_seq, ".seg", path, sizeof(path));
        fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0)
        return -errno;
    struct live *st = malloc(sizeof(*st));
    struct trail_store_iter *it = NULL;
    int r = st ? seg_header_read(fd, &st->seg) : -ENOMEM;
    close(fd);
    if (r == 0)
        r = trail_store_iter_new(s, TRAIL_ITER_FORWARD, &it);
    if (r == 0) {
        memcpy(st->chain, st->seg.chain, TRAIL_HASH_LEN);
        st->frontier = st->seg.frontier;
        trail_store_iter_seek_seq(it, last.first_seq);
        const uint8_t *rec;
        size_t len;
        uint64_t seq, next = last.first_seq;
        while ((r = trail_store_iter_next_raw(it, &rec, &len, &seq)) == 1 && seq == next) {
            uint8_t leaf[TRAIL_HASH_LEN], root[TRAIL_HASH_LEN];
            int done;
            if ((r = trail_hash_leaf(rec, len, leaf)) < 0 ||
                (r = hash_chain(st->chain, leaf, st->chain)) < 0 ||
                (r = store_frontier_push(&st->frontier, leaf, root, &done)) < 0)
                break;
            next++;
        }
        if (r >= 0) {
            r = 0;
            pthread_mutex_lock(&s->lock);
            memcpy(s->durable.chain, st->chain, TRAIL_HASH_LEN);
            s->durable.frontier = st->frontier;
            pthread_mutex_unlock(&s->lock);
        }
    }
    trail_store_iter_free(it);
    free(st);
    return r;
}

int trail_store_state(struct trail_store *s, struct trail_store_state *ret)
{
    if (s->read_only) {
        int r = reader_state(s);
        if (r < 0)
            return r;
    }
    struct trail_store_state st = {0};
    struct trail_frontier *f = malloc(sizeof(*f));
    if (!f)
        return -ENOMEM;
    pthread_mutex_lock(&s->lock);
    *f = s->durable.frontier;
    memcpy(st.chain, s->durable.chain, TRAIL_HASH_LEN);
    st.time_us = s->durable_time_us ? s->durable_time_us : trail_now();
    pthread_mutex_unlock(&s->lock);
    st.tree_size = f->size;
    int r = frontier_root(f, st.root);
    free(f);
    if (r < 0)
        return r;
    *ret = st;
    return 0;
}

void trail_store_id(const struct trail_store *s, uint8_t ret_id[16])
{
    memcpy(ret_id, s->store_id, 16);
}

void trail_store_uuid(const struct trail_store *s, uint64_t seq, uint8_t ret_uuid[16])
{
    uuid_derive(s->store_id, seq, ret_uuid);
}

int trail_store_stats(struct trail_store *s, struct trail_store_stats *ret)
{
    struct trail_store_stats st = {0};
    pthread_mutex_lock(&s->seg_lock);
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; i < s->n_segs; i++) {
        const struct seg *g = &s->segs[i];
        st.segments++;
        st.sealed_segments += g->sealed ? 1 : 0;
        st.segment_bytes += g->bytes;
        if (g->last_seq >= g->first_seq) {
            lo = g->min_time < lo ? g->min_time : lo;
            hi = g->max_time > hi ? g->max_time : hi;
        }
    }
    for (size_t i = 0; i < s->n_segs; i++) {
        char idx[40];
        struct stat sb;
        snprintf(idx, sizeof(idx), "seg-%016" PRIx64 ".idx", s->segs[i].first_seq);
        if (s->segs[i].sealed && fstatat(s->dir_fd, idx, &sb, 0) == 0)
            st.index_bytes += (uint64_t)sb.st_size;
    }
    st.first_seq = s->n_segs ? s->segs[0].first_seq : 1;
    st.last_seq = s->n_segs ? s->segs[s->n_segs - 1].last_seq : 0;
    pthread_mutex_unlock(&s->seg_lock);
    if (!s->read_only) {
        pthread_mutex_lock(&s->lock);
        st.durable_seq = s->durable_seq;
        st.seal_waits = s->seal_waits;
        st.seal_wait_us = s->seal_wait_us;
        pthread_mutex_unlock(&s->lock);
        st.unsealed = (uint64_t)__atomic_load_n(&s->seal_backlog, __ATOMIC_RELAXED);
        if (st.durable_seq > st.last_seq)
            st.last_seq = st.durable_seq;
    } else {
        st.durable_seq = st.last_seq;
    }
    st.records = st.last_seq >= st.first_seq ? st.last_seq - st.first_seq + 1 : 0;
    st.tree_size = st.last_seq;
    st.first_time_us = lo == INT64_MAX ? 0 : lo;
    st.last_time_us = hi == INT64_MIN ? 0 : hi;
    static const char *const side[] = {"tree.roots", "anchors", "checkpoints", "store.meta"};
    for (size_t i = 0; i < TRAIL_ARRAY_SIZE(side); i++) {
        struct stat sb;
        if (fstatat(s->dir_fd, side[i], &sb, 0) == 0)
            st.side_bytes += (uint64_t)sb.st_size;
    }
    *ret = st;
    return 0;
}
