/*
 * verify_read.c - reading one segment start to end (frames, seqs, leaf
 * hashes, chain, frontier, group roots, the checkpoints that fall in it),
 * the purge records met on the way, the checkpoint signatures, and the
 * worker threads that do both.
 *
 * Not here: what one segment's end means for the next (verify_join.c).
 */
#include "verify/verify_int.h"

/* ---- records ---- */

/* Find attribute key of a parsed record: 1 with its type and value bytes, 0 absent, -1 malformed.
 */
static int record_attr(const struct rec_view *v, const char *key, int *ret_type,
                       const uint8_t **ret_val, size_t *ret_vlen)
{
    size_t klen = strlen(key);
    const uint8_t *p = v->attrs;
    struct rec_attr a;
    for (uint32_t i = 0; i < v->n_attrs; i++) {
        if (rec_attr_next(&p, v->end, &a) != 1)
            return -1;
        if (a.klen == klen && memcmp(a.key, key, klen) == 0) {
            *ret_type = a.type;
            *ret_val = a.val;
            *ret_vlen = a.vlen;
            return 1;
        }
    }
    return 0;
}

/*
 * Is this record one of the store's purge records? In version 2 only a
 * record that trail marked as its own, with the id trail_events_purged, is:
 * an identity server's own core_server_events_purged is an event like any
 * other. Version 1 had no mark: there the old id counts only with the anchor
 * attribute trail wrote, so that stores from before still verify.
 */
static int is_purge_record(const struct rec_view *v)
{
    if (v->version >= 2)
        return (v->flags & TRAIL_REC_F_OWN) && v->id_len == sizeof(PURGE_ID) - 1 &&
               memcmp(v->id, PURGE_ID, v->id_len) == 0;
    int type;
    const uint8_t *val;
    size_t vlen;
    return v->id_len == sizeof(PURGE_ID_V1) - 1 && memcmp(v->id, PURGE_ID_V1, v->id_len) == 0 &&
           record_attr(v, "anchor", &type, &val, &vlen) == 1;
}

static int hex_val(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int hash_hex(const uint8_t *p, size_t n, uint8_t out[TRAIL_HASH_LEN])
{
    if (n != 64)
        return -1;
    for (size_t i = 0; i < 32; i++) {
        int hi = hex_val(p[2 * i]), lo = hex_val(p[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* "size=N chain=HEX frontier=HEX,HEX,..." (highest frontier node first) */
static int parse_anchor(const uint8_t *p, size_t n, struct purge_rec *pr)
{
    const uint8_t *end = p + n;
    if (n < 5 || memcmp(p, "size=", 5) != 0)
        return -1;
    p += 5;
    uint64_t size = 0;
    int digits = 0;
    while (p < end && *p >= '0' && *p <= '9') {
        size = size * 10 + (uint64_t)(*p++ - '0');
        digits++;
    }
    if (!digits || digits > 19 || end - p < 7 + 64 || memcmp(p, " chain=", 7) != 0)
        return -1;
    p += 7;
    if (hash_hex(p, 64, pr->chain) < 0)
        return -1;
    p += 64;
    if (end - p < 10 || memcmp(p, " frontier=", 10) != 0)
        return -1;
    p += 10;
    frontier_init(&pr->fr);
    pr->fr.size = size;
    int first = 1;
    for (int k = 63; k >= 0; k--) {
        if (!((size >> k) & 1))
            continue;
        if (!first) {
            if (p >= end || *p != ',')
                return -1;
            p++;
        }
        first = 0;
        if (end - p < 64 || hash_hex(p, 64, pr->fr.nodes[k]) < 0)
            return -1;
        p += 64;
    }
    return p == end ? 0 : -1;
}

static void take_purge(struct seg_job *j, const struct rec_view *v, uint64_t seq)
{
    struct purge_rec pr = {.seq = seq};
    int type;
    const uint8_t *val;
    size_t vlen;
    if (record_attr(v, "purged_to_seq", &type, &val, &vlen) == 1 && type == TRAIL_TYPE_INT)
        pr.to_seq = get_u64(val);
    if (record_attr(v, "anchor", &type, &val, &vlen) == 1 && type == TRAIL_TYPE_STRING &&
        parse_anchor(val, vlen, &pr) == 0)
        pr.anchor_ok = 1;
    struct purge_rec *p = realloc(j->purges, (j->n_purges + 1) * sizeof(*p));
    if (!p) {
        j->error = -ENOMEM;
        return;
    }
    j->purges = p;
    j->purges[j->n_purges++] = pr;
}

static void set_finding(struct finding *f, int kind, uint64_t seq, uint64_t seq_last,
                        const char *file, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static void set_finding(struct finding *f, int kind, uint64_t seq, uint64_t seq_last,
                        const char *file, const char *fmt, ...)
{
    f->kind = kind;
    f->seq = seq;
    f->seq_last = seq_last < seq ? seq : seq_last;
    snprintf(f->file, sizeof(f->file), "%s", file);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
    va_end(ap);
}

/* ---- reading one segment ---- */

/* What a segment's reader carries from frame to frame. */
struct run {
    struct verify *v;
    struct seg_job *j;
    uint64_t next; /* the seq the next record must have */
    size_t cp_i;   /* next checkpoint (in v->sorted) to meet */
    uint8_t ring[RING][TRAIL_HASH_LEN];
    int stop_now;
};

/* The seq of the frame at p (n bytes there), or 0 when no whole frame is there. */
static uint64_t peek_seq(const uint8_t *p, size_t n, size_t *ret_frame)
{
    if (n < TRAIL_FRAME_HEAD)
        return 0;
    uint32_t len = get_u32(p);
    if (len < TRAIL_RECORD_MIN || len > TRAIL_RECORD_MAX || len > n - TRAIL_FRAME_HEAD)
        return 0;
    *ret_frame = TRAIL_FRAME_HEAD + (size_t)len;
    return get_u64(p + TRAIL_FRAME_HEAD + 1);
}

/* A record's seq is not the one expected: say what it looks like (one finding, stop). */
static void seq_anomaly(struct run *rn, uint64_t s, const uint8_t leaf[TRAIL_HASH_LEN],
                        const uint8_t *after, size_t after_len, const char *where)
{
    struct seg_job *j = rn->j;
    uint64_t e = rn->next;
    size_t fl = 0;
    uint64_t following = peek_seq(after, after_len, &fl);
    j->stopped = 1;
    if (following && following == e + 1) {
        set_finding(&j->stop, TRAIL_DAMAGE_MODIFIED, e, e, j->name,
                    "the record in the place of seq %" PRIu64 " (%s) says seq %" PRIu64
                    ": its seq field was changed",
                    e, where, s);
        return;
    }
    if (s < e) {
        if (s >= j->h.first_seq && e - s <= RING &&
            memcmp(rn->ring[s % RING], leaf, TRAIL_HASH_LEN) == 0) {
            set_finding(&j->stop, TRAIL_DAMAGE_DUPLICATED, s, s, j->name,
                        "record %" PRIu64 " appears again after record %" PRIu64 " (%s)", s, e - 1,
                        where);
            return;
        }
        set_finding(&j->stop, TRAIL_DAMAGE_INSERTED, s, s, j->name,
                    "a second, different record with seq %" PRIu64 " follows record %" PRIu64
                    " (%s): a record was inserted",
                    s, e - 1, where);
        return;
    }
    /* s > e: is a record of [e, s) further on? then they were moved, else removed */
    const uint8_t *p = after;
    size_t n = after_len;
    for (int i = 0; i < LOOKAHEAD && fl; i++) {
        size_t frame = 0;
        uint64_t q = peek_seq(p, n, &frame);
        if (!q)
            break;
        if (q >= e && q < s) {
            set_finding(&j->stop, TRAIL_DAMAGE_MOVED, e, e, j->name,
                        "records out of order: record %" PRIu64 " comes after record %" PRIu64
                        " (%s)",
                        q, s, where);
            return;
        }
        p += frame;
        n -= frame;
    }
    set_finding(&j->stop, TRAIL_DAMAGE_REMOVED, e, s - 1, j->name,
                "record%s %" PRIu64 "..%" PRIu64 " missing: record %" PRIu64
                " follows record %" PRIu64 " (%s)",
                s - 1 > e ? "s" : "", e, s - 1, s, e - 1, where);
}

/* The checkpoints whose size is seq q: compare the state there. */
static int meet_checkpoints(struct run *rn, uint64_t q)
{
    struct verify *v = rn->v;
    struct seg_job *j = rn->j;
    while (rn->cp_i < v->n_sorted && v->sorted[rn->cp_i]->size < q)
        rn->cp_i++;
    if (rn->cp_i >= v->n_sorted || v->sorted[rn->cp_i]->size != q)
        return 0;
    uint8_t root[TRAIL_HASH_LEN];
    int r = frontier_root(&j->fr, root);
    if (r < 0)
        return r;
    for (; rn->cp_i < v->n_sorted && v->sorted[rn->cp_i]->size == q; rn->cp_i++) {
        struct vcp *c = v->sorted[rn->cp_i];
        int res = memcmp(root, c->root, TRAIL_HASH_LEN) != 0        ? CP_ROOT_DIFFERS
                  : memcmp(j->chain, c->chain, TRAIL_HASH_LEN) != 0 ? CP_CHAIN_DIFFERS
                                                                    : CP_MATCH;
        __atomic_store_n(&c->result, res, __ATOMIC_RELAXED);
        if (c->external)
            continue; /* a witness's: the join tells a fork from damage */
        if (res == CP_MATCH) {
            if (!j->bad_cp)
                j->good_upto = q;
            if (j->bad_group && !j->bad_cp)
                j->bad_group_cleared = 1;
        } else if (!j->bad_cp) {
            j->bad_cp = 1;
            j->bad_cp_size = q;
            j->bad_cp_lo = j->good_upto + 1;
            j->bad_cp_line = c->line;
        }
    }
    return 0;
}

/*
 * Check the frames in p[0..n): returns the bytes of whole frames used (the
 * rest is an unfinished frame, for the caller to complete or report), and
 * sets rn->stop_now on damage. base: the file offset of p (open segments)
 * or (uint64_t)-1 inside a sealed block (block_no says which).
 */
static size_t check_frames(struct run *rn, const uint8_t *p, size_t n, uint64_t base,
                           uint32_t block_no, int *ret_err)
{
    struct verify *v = rn->v;
    struct seg_job *j = rn->j;
    size_t pos = 0;
    char where[64]; /* where a frame is, for messages: only made when one is needed */
#define WHERE()                                                                                    \
    (base != (uint64_t)-1                                                                          \
         ? snprintf(where, sizeof(where), "offset %" PRIu64, base + pos)                           \
         : snprintf(where, sizeof(where), "block %" PRIu32 " offset %zu", block_no, pos),          \
     where)
    *ret_err = 0;
    /* a version 3 block's frames carry no CRC: the block's CRC-32C covers them */
    int has_crc = base != (uint64_t)-1 || j->h.version != TRAIL_SEG_VERSION_LEAN;
    while (n - pos >= TRAIL_FRAME_HEAD) {
        const uint8_t *f = p + pos;
        uint32_t len = get_u32(f);
        if (len < TRAIL_RECORD_MIN || len > TRAIL_RECORD_MAX) {
            if (j->is_last && base != (uint64_t)-1 && verify_is_zero(f, n - pos)) {
                j->torn_off = base + pos; /* zeros a crash left: a tail never written */
                j->torn_zero = 1;
                return pos;
            }
            j->stopped = 1;
            set_finding(&j->stop, TRAIL_DAMAGE_FORMAT, rn->next, rn->next, j->name,
                        "the frame where record %" PRIu64 " belongs (%s) has an impossible "
                        "length %" PRIu32,
                        rn->next, WHERE(), len);
            rn->stop_now = 1;
            return pos;
        }
        if (n - pos - TRAIL_FRAME_HEAD < len)
            break;
        const uint8_t *rec = f + TRAIL_FRAME_HEAD;
        if (has_crc && crc32c(0, rec, len) != get_u32(f + 4)) {
            j->stopped = 1;
            set_finding(&j->stop, TRAIL_DAMAGE_CHECKSUM, rn->next, rn->next, j->name,
                        "the frame of record %" PRIu64 " (%s) fails its CRC-32C: its bytes "
                        "changed",
                        rn->next, WHERE());
            rn->stop_now = 1;
            return pos;
        }
        if (!TRAIL_RECORD_VERSION_OK(rec[0])) {
            j->stopped = 1;
            set_finding(&j->stop, TRAIL_DAMAGE_FORMAT, rn->next, rn->next, j->name,
                        "record %" PRIu64 " (%s) has an unknown version %u", rn->next, WHERE(),
                        rec[0]);
            rn->stop_now = 1;
            return pos;
        }
        uint8_t leaf[TRAIL_HASH_LEN], group_root[TRAIL_HASH_LEN];
        int r = trail_hash_leaf(rec, len, leaf);
        if (r < 0) {
            *ret_err = r;
            return pos;
        }
        uint64_t s = record_seq(rec);
        if (s != rn->next) {
            seq_anomaly(rn, s, leaf, f + TRAIL_FRAME_HEAD + len, n - pos - TRAIL_FRAME_HEAD - len,
                        WHERE());
            rn->stop_now = 1;
            return pos;
        }
        struct rec_view view;
        if (rec_view_parse(rec, len, &view) == 0 && is_purge_record(&view))
            take_purge(j, &view, s);
        int done;
        if ((r = hash_chain(j->chain, leaf, j->chain)) < 0 ||
            (r = store_frontier_push(&j->fr, leaf, group_root, &done)) < 0) {
            *ret_err = r;
            return pos;
        }
        memcpy(rn->ring[s % RING], leaf, TRAIL_HASH_LEN);
        j->last_seq = s;
        j->n_records++;
        rn->next++;
        if (done) {
            uint64_t g = (s - 1) / 256;
            if (g < v->n_roots && !verify_is_zero(v->roots[g], TRAIL_HASH_LEN)) {
                j->groups_checked++;
                /* a group root that differs narrows the damage to the group; one that
                   matches proves nothing (whoever changed a record could rebuild it) */
                if (memcmp(v->roots[g], group_root, TRAIL_HASH_LEN) != 0 && !j->bad_group) {
                    j->bad_group = 1;
                    j->bad_group_no = g;
                    j->bad_lo = g * 256 + 1 > j->good_upto + 1 ? g * 256 + 1 : j->good_upto + 1;
                    j->bad_hi = s;
                }
            }
        }
        if (rn->cp_i < v->n_sorted && v->sorted[rn->cp_i]->size <= s &&
            (r = meet_checkpoints(rn, s)) < 0) {
            *ret_err = r;
            return pos;
        }
        pos += TRAIL_FRAME_HEAD + len;
    }
    return pos;
#undef WHERE
}

static void run_init(struct run *rn, struct verify *v, struct seg_job *j)
{
    memset(rn, 0, sizeof(*rn));
    rn->v = v;
    rn->j = j;
    rn->next = j->h.first_seq;
    memcpy(j->chain, j->h.chain, TRAIL_HASH_LEN);
    j->fr = j->h.frontier;
    j->last_seq = j->h.first_seq - 1;
    j->good_upto = j->h.first_seq - 1;
    /* the first checkpoint at or after the first record */
    size_t lo = 0, hi = v->n_sorted;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v->sorted[mid]->size < j->h.first_seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    rn->cp_i = lo;
}

static int read_open(struct worker *w, struct seg_job *j, int fd, uint64_t file_size)
{
    struct run rn;
    run_init(&rn, w->v, j);
    uint64_t off = j->h.header_len;
    size_t have = 0; /* bytes of w->in holding the file from off */
    w->in.len = 0;
    int r = trail_buf_reserve(&w->in, READ_CHUNK + 1);
    if (r < 0)
        return r;
    j->bytes = file_size;
    while (off + have < file_size || have > 0) {
        /* fill up; what is left of an unfinished frame stays at the front */
        size_t want = READ_CHUNK;
        if (have >= TRAIL_FRAME_HEAD && TRAIL_FRAME_HEAD + (size_t)get_u32((uint8_t *)w->in.data) >
                                            want) /* a frame larger than a chunk */
            want = TRAIL_FRAME_HEAD + (size_t)get_u32((uint8_t *)w->in.data);
        if (w->in.cap < want + 1) {
            w->in.len = have;
            if ((r = trail_buf_reserve(&w->in, want + 1 - have)) < 0)
                return r;
        }
        size_t got = 0;
        if (off + have < file_size && have < want) {
            size_t room = want - have;
            if (room > file_size - off - have)
                room = (size_t)(file_size - off - have);
            if ((r = io_pread_full(fd, w->in.data + have, room, off + have, &got)) < 0)
                return r;
            have += got;
        }
        int err;
        size_t used = check_frames(&rn, (const uint8_t *)w->in.data, have, off, 0, &err);
        if (err < 0)
            return err;
        if (rn.stop_now || j->torn_zero)
            return 0;
        off += used;
        have -= used;
        memmove(w->in.data, w->in.data + used, have);
        if (got == 0 && used == 0) {
            if (have > 0) {
                j->torn_off = off;
                j->torn_bytes = have;
            }
            break;
        }
    }
    return 0;
}

static int read_sealed(struct worker *w, struct seg_job *j, int fd, uint64_t file_size)
{
    uint8_t t[TRAIL_SEG_TRAILER];
    size_t got = 0;
    int r;
    if (file_size < j->h.header_len + TRAIL_SEG_TRAILER) {
        j->stopped = 1;
        set_finding(&j->stop, TRAIL_DAMAGE_FORMAT, j->h.first_seq, j->h.first_seq, j->name,
                    "the sealed segment is too short to hold its index and trailer");
        return 0;
    }
    if ((r = io_pread_full(fd, t, sizeof(t), file_size - TRAIL_SEG_TRAILER, &got)) < 0)
        return r;
    if (got != sizeof(t) || memcmp(t + 88, TRAIL_SEG_END_MAGIC, 8) != 0 ||
        get_u32(t + 84) != crc32c(0, t, 84)) {
        j->stopped = 1;
        set_finding(&j->stop,
                    memcmp(t + 88, TRAIL_SEG_END_MAGIC, 8) ? TRAIL_DAMAGE_FORMAT
                                                           : TRAIL_DAMAGE_CHECKSUM,
                    j->h.first_seq, j->h.first_seq, j->name,
                    "the sealed segment's trailer is damaged (magic or CRC-32C)");
        return 0;
    }
    uint64_t index_off = get_u64(t);
    uint32_t n_blocks = get_u32(t + 8);
    j->has_trailer = 1;
    j->trailer_last = get_u64(t + 24);
    memcpy(j->trailer_chain, t + 32, TRAIL_HASH_LEN);
    uint64_t index_len = (uint64_t)n_blocks * TRAIL_SEG_INDEX_ENTRY;
    if (get_u64(t + 16) != j->h.first_seq || n_blocks == 0 || index_off < j->h.header_len ||
        index_off + index_len != file_size - TRAIL_SEG_TRAILER) {
        j->stopped = 1;
        set_finding(&j->stop, TRAIL_DAMAGE_FORMAT, j->h.first_seq, j->h.first_seq, j->name,
                    "the sealed segment's trailer does not fit its header and size");
        return 0;
    }
    w->in.len = 0;
    if ((r = trail_buf_reserve(&w->in, index_len)) < 0)
        return r;
    uint8_t *idx = (uint8_t *)w->in.data;
    if ((r = io_pread_full(fd, idx, index_len, index_off, &got)) < 0)
        return r;
    if (got != index_len || crc32c(0, idx, index_len) != get_u32(t + 12)) {
        j->stopped = 1;
        set_finding(&j->stop, TRAIL_DAMAGE_CHECKSUM, j->h.first_seq, j->h.first_seq, j->name,
                    "the sealed segment's block index fails its CRC-32C");
        return 0;
    }
    /* the index is copied out: w->in is reused for the compressed blocks */
    struct seg_block *blocks = malloc(n_blocks * sizeof(*blocks));
    if (!blocks)
        return -ENOMEM;
    uint64_t next_off = seg_data_off(&j->h);
    void *ddict = NULL;
    if (index_off < next_off || (r = seg_dict_load(fd, &j->h, &ddict)) == TRAIL_E_CORRUPT) {
        j->stopped = 1;
        set_finding(&j->stop, TRAIL_DAMAGE_CHECKSUM, j->h.first_seq, j->h.first_seq, j->name,
                    "the sealed segment's dictionary fails its CRC-32C or does not fit");
        free(blocks);
        return 0;
    }
    if (r < 0) {
        free(blocks);
        return r;
    }
    for (uint32_t i = 0; i < n_blocks; i++) {
        const uint8_t *e = idx + (size_t)i * TRAIL_SEG_INDEX_ENTRY;
        struct seg_block *b = &blocks[i];
        b->first_seq = get_u64(e);
        b->count = get_u32(e + 8);
        b->comp_len = get_u32(e + 12);
        b->offset = get_u64(e + 16);
        b->raw_len = get_u32(e + 40);
        b->crc = get_u32(e + 44);
        b->ddict = ddict;
        if (b->offset != next_off || b->comp_len == 0 || b->raw_len > (1u << 30)) {
            ZSTD_freeDDict(ddict);
            j->stopped = 1;
            set_finding(&j->stop, TRAIL_DAMAGE_FORMAT, j->h.first_seq, j->h.first_seq, j->name,
                        "block %" PRIu32 " of the index does not fit the file", i);
            free(blocks);
            return 0;
        }
        next_off += b->comp_len;
    }
    if (next_off != index_off) {
        ZSTD_freeDDict(ddict);
        j->stopped = 1;
        set_finding(&j->stop, TRAIL_DAMAGE_FORMAT, j->h.first_seq, j->h.first_seq, j->name,
                    "the blocks of the index do not end where the index starts");
        free(blocks);
        return 0;
    }
    j->bytes = file_size;
    struct run rn;
    run_init(&rn, w->v, j);
    r = 0;
    for (uint32_t i = 0; i < n_blocks && r == 0; i++) {
        const struct seg_block *b = &blocks[i];
        w->in.len = 0;
        if ((r = trail_buf_reserve(&w->in, b->comp_len)) < 0)
            break;
        if ((r = io_pread_full(fd, w->in.data, b->comp_len, b->offset, &got)) < 0)
            break;
        if (got != b->comp_len || crc32c(0, w->in.data, got) != b->crc) {
            j->stopped = 1;
            set_finding(&j->stop, TRAIL_DAMAGE_CHECKSUM, rn.next, rn.next, j->name,
                        "block %" PRIu32 " (records from %" PRIu64 ") fails its CRC-32C", i,
                        rn.next);
            break;
        }
        w->raw.len = 0;
        if ((r = trail_buf_reserve(&w->raw, b->raw_len ? b->raw_len : 1)) < 0)
            break;
        /* a version 2 block: its table skipped, its sub-frames with the dictionary */
        size_t out =
            ZSTD_decompress_usingDDict(w->dctx, w->raw.data, b->raw_len, w->in.data, got, ddict);
        if (ZSTD_isError(out) || out != b->raw_len) {
            j->stopped = 1;
            set_finding(&j->stop, TRAIL_DAMAGE_FORMAT, rn.next, rn.next, j->name,
                        "block %" PRIu32 " (records from %" PRIu64 ") does not decompress", i,
                        rn.next);
            break;
        }
        if (j->h.version == TRAIL_SEG_VERSION_LEAN &&
            seg_frames_restore((uint8_t *)w->raw.data, out, b->first_seq) < 0) {
            j->stopped = 1;
            set_finding(&j->stop, TRAIL_DAMAGE_FORMAT, rn.next, rn.next, j->name,
                        "block %" PRIu32 " (records from %" PRIu64 ") holds a frame that "
                        "does not fit or a stored CRC or seq that is not zero",
                        i, rn.next);
            break;
        }
        int err;
        size_t used = check_frames(&rn, (const uint8_t *)w->raw.data, out, (uint64_t)-1, i, &err);
        if (err < 0) {
            r = err;
            break;
        }
        if (rn.stop_now)
            break;
        if (used != out) {
            j->stopped = 1;
            set_finding(&j->stop, TRAIL_DAMAGE_FORMAT, rn.next, rn.next, j->name,
                        "block %" PRIu32 " ends in the middle of a frame", i);
            break;
        }
        if (b->first_seq + b->count != rn.next) {
            j->stopped = 1;
            set_finding(&j->stop, TRAIL_DAMAGE_FORMAT, b->first_seq, rn.next - 1, j->name,
                        "the index says block %" PRIu32 " holds records %" PRIu64 "..%" PRIu64
                        " but it holds up to %" PRIu64,
                        i, b->first_seq, b->first_seq + b->count - 1, rn.next - 1);
            break;
        }
    }
    ZSTD_freeDDict(ddict);
    free(blocks);
    return r;
}

int verify_read_segment(struct worker *w, struct seg_job *j)
{
    struct verify *v = w->v;
    uint8_t hbuf[TRAIL_SEG_HEADER_MAX];
    size_t got = 0;
    struct stat st;
    int fd = openat(v->dir_fd, j->name, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && !j->sealed) {
        /* sealed since the directory was listed (a live writer): read the sealed copy */
        char *ext = strrchr(j->name, '.');
        snprintf(ext, sizeof(j->name) - (size_t)(ext - j->name), ".seg");
        j->sealed = 1;
        fd = openat(v->dir_fd, j->name, O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0)
        return -errno;
    int r = fstat(fd, &st) < 0 ? -errno : io_pread_full(fd, hbuf, sizeof(hbuf), 0, &got);
    if (r < 0)
        goto out;
    if (got < TRAIL_SEG_FIXED + 4 && j->is_last && !j->sealed && verify_is_zero(hbuf, got)) {
        /* created, header never written: what a crash right after a roll leaves */
        j->header_ok = 2;
        goto out;
    }
    r = seg_header_decode(hbuf, got, &j->h);
    if (r < 0) {
        int crc_only = 0;
        if (r == TRAIL_E_CORRUPT && got >= TRAIL_SEG_FIXED + 4) {
            size_t hl = get_u32(hbuf + 12);
            crc_only = hl <= got && hl >= TRAIL_SEG_FIXED + 4 &&
                       get_u32(hbuf + hl - 4) != crc32c(0, hbuf, hl - 4);
        }
        j->stopped = 1;
        set_finding(&j->stop, crc_only ? TRAIL_DAMAGE_CHECKSUM : TRAIL_DAMAGE_FORMAT, j->name_seq,
                    j->name_seq, j->name,
                    crc_only ? "the segment header fails its CRC-32C"
                             : "the segment header does not parse (magic, version or sizes)");
        r = 0;
        goto out;
    }
    j->header_ok = 1;
    if ((j->h.kind == TRAIL_SEG_KIND_SEAL) != j->sealed) {
        j->stopped = 1;
        set_finding(&j->stop, TRAIL_DAMAGE_FORMAT, j->h.first_seq, j->h.first_seq, j->name,
                    "the header says %s but the file name says %s",
                    j->h.kind == TRAIL_SEG_KIND_SEAL ? "sealed" : "open",
                    j->sealed ? "sealed" : "open");
        goto out;
    }
    if (v->have_id && memcmp(j->h.store_id, v->store_id, 16) != 0) {
        char other[33];
        verify_hex(j->h.store_id, 16, other);
        j->stopped = 1;
        set_finding(&j->stop, TRAIL_DAMAGE_SEGMENT_REPLACED, j->h.first_seq, j->h.first_seq,
                    j->name, "the segment belongs to another store (%s)", other);
        goto out;
    }
    if (j->h.first_seq != j->name_seq) {
        j->stopped = 1;
        set_finding(&j->stop, TRAIL_DAMAGE_SEGMENT_REPLACED, j->name_seq, j->name_seq, j->name,
                    "the file name says it starts at seq %" PRIu64 " but its header says %" PRIu64,
                    j->name_seq, j->h.first_seq);
        goto out;
    }
    r = j->sealed ? read_sealed(w, j, fd, (uint64_t)st.st_size)
                  : read_open(w, j, fd, (uint64_t)st.st_size);
out:
    close(fd);
    return r;
}

/* ---- checkpoint signatures ---- */

const struct trail_key *verify_key_for(const struct verify *v, const struct trail_checkpoint *c)
{
    for (size_t i = 0; i < v->o->n_keys; i++)
        if (trail_checkpoint_signed_by(c, v->o->keys[i]))
            return v->o->keys[i];
    return NULL;
}

/* c names this store: its origin, or for a checkpoint of trail before C2SP its id */
int verify_origin_ok(const struct verify *v, const struct trail_checkpoint *c)
{
    return strcmp(c->origin, c->legacy ? v->origin : v->name) == 0;
}

static int check_signatures(struct verify *v, size_t from, size_t to)
{
    uint64_t ok = 0;
    for (size_t i = from; i < to; i++) {
        struct trail_checkpoint c;
        if (trail_checkpoint_parse(v->cp_text + v->cp_off[i], v->cp_linelen[i], &c) < 0)
            continue; /* reported when read */
        const struct trail_key *key = verify_key_for(v, &c);
        if (!key) {
            v->sig_bad[i] = 2;
            continue;
        }
        int r = trail_checkpoint_verify(&c, key);
        if (r == -ENOMEM)
            return r;
        if (r == 0)
            ok++;
        else
            v->sig_bad[i] = 1;
    }
    __atomic_add_fetch(&v->signatures, ok, __ATOMIC_RELAXED);
    return 0;
}

/* ---- the workers ---- */

/*
 * Take jobs until none is left: in the first phase (v->phase 0) the
 * signatures of DIR/checkpoints in chunks, so that a checkpoint that does
 * not verify is never taken as evidence; in the second the segments.
 */
static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct verify *v = w->v;
    for (;;) {
        pthread_mutex_lock(&v->lock);
        size_t job = v->next_job < v->n_jobs ? v->next_job++ : (size_t)-1;
        pthread_mutex_unlock(&v->lock);
        if (job == (size_t)-1)
            break;
        if (v->phase == 1) {
            struct seg_job *j = &v->segs[job];
            int r = verify_read_segment(w, j);
            if (r < 0 && !j->error)
                j->error = r;
        } else {
            size_t from = job * SIG_CHUNK;
            size_t to = from + SIG_CHUNK < v->n_internal ? from + SIG_CHUNK : v->n_internal;
            int r = check_signatures(v, from, to);
            if (r < 0) {
                pthread_mutex_lock(&v->lock);
                verify_note(v, "checkpoint signatures: %s", trail_strerror(r));
                pthread_mutex_unlock(&v->lock);
            }
        }
    }
    return NULL;
}

/* Run the workers over n jobs of the given phase. Returns the threads used. */
int verify_run_pool(struct verify *v, struct worker *workers, pthread_t *tids, int n_threads,
                    int phase, size_t n_jobs)
{
    v->phase = phase;
    v->next_job = 0;
    v->n_jobs = n_jobs;
    if ((size_t)n_threads > n_jobs)
        n_threads = n_jobs ? (int)n_jobs : 1;
    int started = 0;
    for (int i = 1; i < n_threads; i++) {
        if (pthread_create(&tids[i], NULL, worker_main, &workers[i]) != 0)
            break;
        started = i;
    }
    worker_main(&workers[0]);
    for (int i = 1; i <= started; i++)
        pthread_join(tids[i], NULL);
    return started + 1;
}
