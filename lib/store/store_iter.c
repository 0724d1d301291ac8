/*
 * store_iter.c - reading the store: iterators forward and backward from a
 * seq or a time, across open and sealed segments, while a writer appends.
 *
 * Not for: queries over indexes (the query layer), verification (the
 * integrity layer reads through trail_store_iter_next_raw()).
 *
 * An iterator fetches one seq at a time. Open segments get an in-memory
 * table of frame offsets, made by one scan when the iterator enters the
 * segment and extended as the writer adds frames; sealed segments are read
 * a block at a time (the block index says which), with a table of frame
 * offsets inside the decompressed block. Buffers are kept between calls, so
 * a steady loop allocates nothing.
 *
 * A writer's own iterators return records up to its durable seq. A
 * read-only handle returns every complete frame it finds and follows new
 * frames and new segment files as they appear.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

struct trail_store_iter {
    struct trail_store *s;
    int dir;
    uint64_t next; /* the seq to fetch next; 0 (backward) or UINT64_MAX: done */

    /* the segment in hand */
    int have_seg;
    struct seg seg;
    int fd;
    int sealed;
    /* open segment: offsets of frames seg.first_seq + i */
    uint64_t *offs;
    size_t n_offs, cap_offs;
    uint64_t scan_off; /* where the offset scan goes on */
    struct frame_reader fr;
    /* sealed segment */
    struct seg_sealed ss;
    long block;
    struct trail_buf comp, raw;
    uint32_t *boffs;
    size_t n_boffs, cap_boffs;
    ZSTD_DCtx *dctx;
    /* the record the last next_raw/next_head returned, for trail_store_iter_decode();
       NULL once a call returned none or a seek moved the iterator */
    const uint8_t *cur;
    size_t cur_len;
};

static void drop_seg(struct trail_store_iter *it)
{
    if (it->fd >= 0)
        close(it->fd);
    it->fd = -1;
    it->have_seg = 0;
    it->n_offs = 0;
    it->block = -1;
    seg_sealed_free(&it->ss);
    frame_reader_free(&it->fr);
    memset(&it->fr, 0, sizeof(it->fr));
}

int trail_store_iter_new(struct trail_store *s, int direction, struct trail_store_iter **ret)
{
    struct trail_store_iter *it = calloc(1, sizeof(*it));
    if (!it)
        return -ENOMEM;
    it->s = s;
    it->dir = direction;
    it->fd = -1;
    it->block = -1;
    it->dctx = ZSTD_createDCtx();
    if (!it->dctx) {
        free(it);
        return -ENOMEM;
    }
    if (direction == TRAIL_ITER_BACKWARD)
        it->next = trail_store_durable_seq(s);
    else
        it->next = trail_store_first_seq(s);
    *ret = it;
    return 0;
}

void trail_store_iter_free(struct trail_store_iter *it)
{
    if (!it)
        return;
    drop_seg(it);
    trail_buf_free(&it->comp);
    trail_buf_free(&it->raw);
    free(it->offs);
    free(it->boffs);
    ZSTD_freeDCtx(it->dctx);
    free(it);
}

int trail_store_iter_seek_seq(struct trail_store_iter *it, uint64_t seq)
{
    it->cur = NULL;
    it->next = seq;
    return 0;
}

/* The highest seq this iterator may return now. */
static uint64_t limit(struct trail_store_iter *it)
{
    if (!it->s->read_only)
        return trail_store_durable_seq(it->s);
    return UINT64_MAX; /* whatever complete frames there are */
}

/* A reader discovers a segment file the writer made after it opened: 1 when one was added. */
static int discover(struct trail_store *s, uint64_t seq)
{
    char path[4200];
    const char *exts[] = {".open", ".seg"};
    for (int i = 0; i < 2; i++) {
        store_seg_path(s, seq, exts[i], path, sizeof(path));
        struct stat st;
        if (stat(path, &st) == 0) {
            struct seg g = {.first_seq = seq,
                            .last_seq = seq - 1,
                            .sealed = i == 1,
                            .bytes = (uint64_t)st.st_size,
                            .min_time = INT64_MAX,
                            .max_time = INT64_MIN};
            pthread_mutex_lock(&s->seg_lock);
            int r = 0, added = 0;
            if (s->n_segs == 0 || s->segs[s->n_segs - 1].first_seq < seq) {
                if (s->n_segs == s->cap_segs) {
                    size_t cap = s->cap_segs ? s->cap_segs * 2 : 16;
                    struct seg *p = realloc(s->segs, cap * sizeof(*p));
                    if (!p)
                        r = -ENOMEM;
                    else {
                        s->segs = p;
                        s->cap_segs = cap;
                    }
                }
                if (r == 0) {
                    s->segs[s->n_segs++] = g;
                    added = 1;
                }
            }
            pthread_mutex_unlock(&s->seg_lock);
            return r < 0 ? r : added;
        }
    }
    return 0;
}

/* Open the file of it->seg (sealed or not, whichever exists now). */
static int open_seg(struct trail_store_iter *it)
{
    char path[4200];
    struct trail_store *s = it->s;
    for (int attempt = 0; attempt < 2; attempt++) {
        int sealed = it->seg.sealed ? attempt == 0 : attempt == 1;
        store_seg_path(s, it->seg.first_seq, sealed ? ".seg" : ".open", path, sizeof(path));
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT)
                continue;
            return -errno;
        }
        it->fd = fd;
        it->sealed = sealed;
        if (sealed) {
            int r = seg_sealed_load(fd, &it->ss);
            if (r < 0)
                return r;
            it->seg.last_seq = it->ss.last_seq;
        } else {
            struct seg_header h;
            int r = seg_header_read(fd, &h);
            if (r < 0)
                return r;
            it->fr = (struct frame_reader){.fd = fd, .off = h.header_len, .end = UINT64_MAX};
            it->scan_off = h.header_len;
            it->n_offs = 0;
        }
        it->have_seg = 1;
        return 0;
    }
    return TRAIL_E_NOT_FOUND; /* purged meanwhile */
}

/* Put the segment holding seq in hand; 0, or TRAIL_E_NOT_FOUND when none has it. */
static int enter(struct trail_store_iter *it, uint64_t seq)
{
    struct trail_store *s = it->s;
    if (it->have_seg && seq >= it->seg.first_seq && (seq <= it->seg.last_seq || !it->sealed)) {
        /* an open segment may have grown; a later one may have started */
        if (it->sealed || seq <= it->seg.last_seq)
            return 0;
        pthread_mutex_lock(&s->seg_lock);
        long i = store_segs_find(s, seq);
        int same = i >= 0 && s->segs[i].first_seq == it->seg.first_seq;
        pthread_mutex_unlock(&s->seg_lock);
        if (same)
            return 0;
    }
    drop_seg(it);
    pthread_mutex_lock(&s->seg_lock);
    long i = store_segs_find(s, seq);
    if (i >= 0)
        it->seg = s->segs[i];
    pthread_mutex_unlock(&s->seg_lock);
    if (i < 0)
        return TRAIL_E_NOT_FOUND;
    return open_seg(it);
}

/*
 * Open segment: make sure offs[] reaches seq (scanning on); 1 if it does, 0 if
 * not yet. When the scan read seq's frame last, *ret_rec and *ret_len are that
 * frame's record, its checksum checked (a forward reader's usual case: the
 * frame need not be read and checked again); else *ret_rec is NULL.
 */
static int reach_open(struct trail_store_iter *it, uint64_t seq, const uint8_t **ret_rec,
                      uint32_t *ret_len)
{
    uint64_t want = seq - it->seg.first_seq + 1;
    *ret_rec = NULL;
    while (it->n_offs < want) {
        const uint8_t *rec;
        uint32_t len;
        it->fr.off = it->scan_off;
        int r = frame_next(&it->fr, &rec, &len);
        if (r < 0)
            return r;
        if (r != FRAME_OK)
            return 0; /* the end for now (a writer may still be writing it) */
        if (record_seq(rec) != it->seg.first_seq + it->n_offs)
            return 0;
        if (it->n_offs == it->cap_offs) {
            size_t cap = it->cap_offs ? it->cap_offs * 2 : 4096;
            uint64_t *p = realloc(it->offs, cap * sizeof(*p));
            if (!p)
                return -ENOMEM;
            it->offs = p;
            it->cap_offs = cap;
        }
        it->offs[it->n_offs++] = it->scan_off;
        it->scan_off = it->fr.off;
        if (it->n_offs == want) {
            *ret_rec = rec;
            *ret_len = len;
        }
    }
    return 1;
}

/* The block of ss that holds seq (by the index), or -1. */
static long block_of(const struct seg_sealed *ss, uint64_t seq)
{
    uint32_t lo = 0, hi = ss->n_blocks;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (ss->blocks[mid].first_seq <= seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (long)lo - 1;
}

/* Sealed segment: the block holding seq decompressed, with its frame table. */
static int load_block(struct trail_store_iter *it, uint64_t seq)
{
    const struct seg_sealed *ss = &it->ss;
    long b = block_of(ss, seq);
    if (b < 0)
        return TRAIL_E_NOT_FOUND;
    if (b == it->block)
        return 0;
    it->block = -1;
    const struct seg_block *blk = &ss->blocks[b];
    int r = seg_block_read(it->fd, blk, it->dctx, &it->comp, &it->raw);
    if (r < 0)
        return r;
    if (it->cap_boffs < blk->count) {
        uint32_t *p = realloc(it->boffs, blk->count * sizeof(*p));
        if (!p)
            return -ENOMEM;
        it->boffs = p;
        it->cap_boffs = blk->count;
    }
    size_t off = 0;
    for (uint32_t i = 0; i < blk->count; i++) {
        if (it->raw.len - off < TRAIL_FRAME_HEAD)
            return TRAIL_E_CORRUPT;
        uint32_t len = get_u32((const uint8_t *)it->raw.data + off);
        if (len > it->raw.len - off - TRAIL_FRAME_HEAD)
            return TRAIL_E_CORRUPT;
        it->boffs[i] = (uint32_t)off;
        off += TRAIL_FRAME_HEAD + len;
    }
    if (off != it->raw.len)
        return TRAIL_E_CORRUPT;
    it->n_boffs = blk->count;
    it->block = b;
    return 0;
}

/*
 * Fetch record seq: 1 and the record, 0 when it does not exist (yet), or an
 * error. TRAIL_E_NOT_FOUND is returned for a seq before the first stored.
 */
static int fetch(struct trail_store_iter *it, uint64_t seq, const uint8_t **ret_rec,
                 uint32_t *ret_len)
{
    int r = enter(it, seq);
    if (r == TRAIL_E_NOT_FOUND) {
        if (seq >= trail_store_first_seq(it->s)) {
            /* beyond the known segments: a reader looks for a new file */
            if (!it->s->read_only)
                return 0;
            r = discover(it->s, seq);
            if (r <= 0)
                return r; /* nothing (yet), or an error */
            r = enter(it, seq);
            if (r == TRAIL_E_NOT_FOUND)
                return 0;
            if (r == 0)
                return fetch(it, seq, ret_rec, ret_len);
        }
        return r;
    }
    if (r < 0)
        return r;
    if (it->sealed) {
        if (seq > it->ss.last_seq)
            return 0;
        r = load_block(it, seq);
        if (r == TRAIL_E_CORRUPT) {
            /* known damage from now on: searches skip it, the daemon reports it */
            const struct seg_block *blk = &it->ss.blocks[block_of(&it->ss, seq)];
            char name[48], why[96];
            snprintf(name, sizeof(name), "seg-%016" PRIx64 ".seg", it->seg.first_seq);
            snprintf(why, sizeof(why), "block %ld: CRC-32C or framing does not hold",
                     block_of(&it->ss, seq));
            store_damage_add(it->s, blk->first_seq, blk->first_seq + blk->count - 1, name, why, 0,
                             0);
        }
        if (r < 0)
            return r;
        const struct seg_block *blk = &it->ss.blocks[it->block];
        const uint8_t *p = (const uint8_t *)it->raw.data + it->boffs[seq - blk->first_seq];
        uint32_t len = get_u32(p);
        const uint8_t *rec = p + TRAIL_FRAME_HEAD;
        /* a version 3 frame carries no CRC: its block's covers it */
        if (len < TRAIL_RECORD_MIN || (!blk->lean && crc32c(0, rec, len) != get_u32(p + 4)) ||
            record_seq(rec) != seq)
            return TRAIL_E_CORRUPT;
        *ret_rec = rec;
        *ret_len = len;
        return 1;
    }
    const uint8_t *scanned;
    uint32_t scanned_len = 0;
    r = reach_open(it, seq, &scanned, &scanned_len);
    if (r <= 0) {
        if (r == 0 && it->s->read_only) {
            /* the writer may have rolled to a new segment after this one */
            uint64_t last = it->seg.first_seq + it->n_offs - 1;
            if (seq == last + 1 && seq > it->seg.first_seq && (r = discover(it->s, seq)) > 0) {
                pthread_mutex_lock(&it->s->seg_lock);
                long i = store_segs_find(it->s, it->seg.first_seq);
                if (i >= 0 && it->s->segs[i].first_seq == it->seg.first_seq)
                    it->s->segs[i].last_seq = last;
                pthread_mutex_unlock(&it->s->seg_lock);
                drop_seg(it);
                return fetch(it, seq, ret_rec, ret_len);
            }
            return r < 0 ? r : 0;
        }
        return r;
    }
    if (scanned) {
        *ret_rec = scanned;
        *ret_len = scanned_len;
        return 1;
    }
    it->fr.off = it->offs[seq - it->seg.first_seq];
    r = frame_next(&it->fr, ret_rec, ret_len);
    if (r < 0)
        return r;
    if (r != FRAME_OK || record_seq(*ret_rec) != seq)
        return TRAIL_E_CORRUPT;
    return 1;
}

int trail_store_iter_next_raw(struct trail_store_iter *it, const uint8_t **ret_rec, size_t *ret_len,
                              uint64_t *ret_seq)
{
    uint64_t lim = limit(it);
    it->cur = NULL;
    for (;;) {
        uint64_t seq = it->next;
        if (seq == 0 || seq == UINT64_MAX || seq > lim)
            return 0;
        const uint8_t *rec;
        uint32_t len;
        int r = fetch(it, seq, &rec, &len);
        if (r == TRAIL_E_NOT_FOUND) {
            /* purged: forward skips to what is still stored, backward ends */
            uint64_t first = trail_store_first_seq(it->s);
            if (it->dir == TRAIL_ITER_FORWARD && seq < first) {
                it->next = first;
                continue;
            }
            return 0;
        }
        if (r < 0) {
            if (ret_seq)
                *ret_seq = seq;
            return r;
        }
        if (r == 0)
            return 0;
        it->next = it->dir == TRAIL_ITER_FORWARD ? seq + 1 : seq - 1;
        it->cur = rec;
        it->cur_len = len;
        *ret_rec = rec;
        *ret_len = len;
        if (ret_seq)
            *ret_seq = seq;
        return 1;
    }
}

int trail_store_iter_next(struct trail_store_iter *it, struct trail_event *ev)
{
    const uint8_t *rec;
    size_t len;
    uint64_t seq;
    int r = trail_store_iter_next_raw(it, &rec, &len, &seq);
    if (r <= 0)
        return r;
    r = record_decode(rec, len, it->s->store_id, ev);
    return r < 0 ? r : 1;
}

int trail_store_iter_next_head(struct trail_store_iter *it, struct trail_record_head *ret_head)
{
    const uint8_t *rec;
    size_t len;
    struct rec_view v;
    int r = trail_store_iter_next_raw(it, &rec, &len, NULL);
    if (r <= 0)
        return r;
    if ((r = rec_view_parse(rec, len, &v)) == 0 &&
        (v.id_len == 0 || v.id_len > TRAIL_MAX_ID_LEN || !trail_severity_valid(v.severity)))
        r = TRAIL_E_CORRUPT; /* what record_decode() refuses in a head: refused here too */
    if (r < 0) {
        it->cur = NULL;
        return r;
    }
    *ret_head = (struct trail_record_head){.seq = v.seq,
                                           .time_us = v.time_us,
                                           .severity = v.severity,
                                           .id = (const char *)v.id,
                                           .id_len = v.id_len,
                                           .own = (v.flags & TRAIL_REC_F_OWN) != 0};
    return 1;
}

int trail_store_iter_decode(struct trail_store_iter *it, struct trail_event *ev)
{
    if (!it->cur)
        return -EINVAL;
    return record_decode(it->cur, it->cur_len, it->s->store_id, ev);
}

/* ---- seeking by time ---- */

/* Step from seq in the iterator's direction until a record's time matches. */
static int scan_time(struct trail_store_iter *it, uint64_t from, uint64_t to, int64_t t,
                     int *ret_found)
{
    int fwd = it->dir == TRAIL_ITER_FORWARD;
    *ret_found = 0;
    for (uint64_t seq = from;; seq = fwd ? seq + 1 : seq - 1) {
        const uint8_t *rec;
        uint32_t len;
        int r = fetch(it, seq, &rec, &len);
        if (r < 0)
            return r;
        if (r == 0)
            return 0;
        int64_t rt = record_time(rec);
        if (fwd ? rt >= t : rt <= t) {
            it->next = seq;
            *ret_found = 1;
            return 0;
        }
        if (seq == to)
            return 0;
    }
}

int trail_store_iter_seek_time(struct trail_store_iter *it, int64_t t)
{
    struct trail_store *s = it->s;
    it->cur = NULL;
    int fwd = it->dir == TRAIL_ITER_FORWARD;
    uint64_t lim = limit(it);
    struct seg *segs;
    size_t n;
    if (store_segs_copy(s, &segs, &n) < 0)
        return -ENOMEM;
    int r = 0, found = 0;
    for (size_t k = 0; k < n && !found; k++) {
        const struct seg *g = &segs[fwd ? k : n - 1 - k];
        if (g->damaged)
            continue;                              /* known damage: no time can be read from it */
        int open_tail = !g->sealed && fwd ? 1 : 0; /* its time range may be stale */
        if (g->last_seq < g->first_seq && !open_tail)
            continue;
        if (!open_tail && (fwd ? g->max_time < t : g->min_time > t))
            continue;
        uint64_t last = g->last_seq < lim ? g->last_seq : lim;
        if (!g->sealed) {
            if (open_tail)
                last = lim;
            if (last < g->first_seq && !s->read_only)
                continue;
            r = scan_time(it, fwd ? g->first_seq : last, fwd ? last : g->first_seq, t, &found);
            if (r < 0)
                break;
            continue;
        }
        r = enter(it, g->first_seq);
        if (r < 0)
            break;
        uint32_t nb = it->ss.n_blocks;
        for (uint32_t j = 0; j < nb && !found; j++) {
            const struct seg_block *b = &it->ss.blocks[fwd ? j : nb - 1 - j];
            if (fwd ? b->max_time < t : b->min_time > t)
                continue;
            uint64_t b_last = b->first_seq + b->count - 1;
            r = scan_time(it, fwd ? b->first_seq : b_last, fwd ? b_last : b->first_seq, t, &found);
            if (r == TRAIL_E_CORRUPT)
                r = 0; /* a damaged block (now known damage): the seek goes on past it */
            if (r < 0)
                break;
        }
        if (r < 0)
            break;
    }
    free(segs);
    if (r < 0)
        return r;
    if (!found)
        it->next = fwd ? UINT64_MAX : 0;
    return 0;
}
