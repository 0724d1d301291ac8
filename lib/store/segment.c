/*
 * segment.c - the segment files: the header every segment starts with, the
 * frames of an open segment and the buffered reader over them, and the
 * sealed form (zstd blocks, block index, trailer) with the code that writes
 * and reads it.
 *
 * Not for: deciding when to roll or seal, or which files exist (store.c),
 * the record inside a frame (record.c).
 *
 * Formats (docs/format.md has them byte by byte):
 *
 *   open segment    header(kind 1) | frame | frame | ...
 *   sealed segment  header(kind 2) | zstd block | ... | index | trailer
 *                   version 2: header | dictionary | blocks of sub-frames | ...
 *   frame           u32 record length | u32 CRC-32C(record) | record
 *
 * The header carries the integrity state at the segment's start (chain head
 * and the Merkle frontier), so one segment can be checked on its own and
 * recovery only needs the last segment to continue the tree.
 */
#include "base/fileio.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

/* ---- header ---- */

size_t seg_header_encode(const struct seg_header *h, uint8_t *out)
{
    uint64_t size = h->frontier.size;
    int n_nodes = __builtin_popcountll(size);
    size_t len = TRAIL_SEG_FIXED + 32 * (size_t)n_nodes + 4;
    memset(out, 0, TRAIL_SEG_FIXED);
    memcpy(out + SEG_H_MAGIC, TRAIL_SEG_MAGIC, 8);
    int dict = h->version >= TRAIL_SEG_VERSION_DICT;
    put_u16(out + SEG_H_VERSION, dict ? (uint16_t)h->version : TRAIL_SEG_VERSION);
    out[SEG_H_KIND] = (uint8_t)h->kind;
    out[SEG_H_NODES] = (uint8_t)n_nodes;
    put_u32(out + SEG_H_LEN, (uint32_t)len);
    memcpy(out + SEG_H_STORE_ID, h->store_id, 16);
    put_u64(out + SEG_H_FIRST_SEQ, h->first_seq);
    put_u64(out + SEG_H_CREATED, (uint64_t)h->created_us);
    memcpy(out + SEG_H_CHAIN, h->chain, 32);
    put_u64(out + SEG_H_TREE_SIZE, size);
    if (dict) {
        put_u32(out + SEG_H_DICT_LEN, h->dict_len);
        put_u32(out + SEG_H_DICT_CRC, h->dict_crc);
    }
    uint8_t *p = out + TRAIL_SEG_FIXED;
    for (int k = 63; k >= 0; k--) {
        if (size & ((uint64_t)1 << k)) {
            memcpy(p, h->frontier.nodes[k], 32);
            p += 32;
        }
    }
    put_u32(p, crc32c(0, out, (size_t)(p - out)));
    return len;
}

int seg_header_decode(const uint8_t *p, size_t len, struct seg_header *h)
{
    if (len < TRAIL_SEG_FIXED + 4 || memcmp(p, TRAIL_SEG_MAGIC, 8) != 0)
        return TRAIL_E_VERSION;
    int version = get_u16(p + SEG_H_VERSION);
    if (version != TRAIL_SEG_VERSION && version != TRAIL_SEG_VERSION_DICT &&
        version != TRAIL_SEG_VERSION_LEAN)
        return TRAIL_E_VERSION;
    int n_nodes = p[11];
    size_t hlen = get_u32(p + SEG_H_LEN);
    if (n_nodes > 64 || hlen != TRAIL_SEG_FIXED + 32 * (size_t)n_nodes + 4 || hlen > len)
        return TRAIL_E_CORRUPT;
    if (get_u32(p + hlen - 4) != crc32c(0, p, hlen - 4))
        return TRAIL_E_CORRUPT;
    memset(h, 0, sizeof(*h));
    h->kind = p[10];
    if (h->kind != TRAIL_SEG_KIND_OPEN && h->kind != TRAIL_SEG_KIND_SEAL)
        return TRAIL_E_CORRUPT;
    h->version = version;
    if (version >= TRAIL_SEG_VERSION_DICT) {
        /* only sealing writes versions 2 and 3, with a dictionary of at least one frame */
        h->dict_len = get_u32(p + SEG_H_DICT_LEN);
        h->dict_crc = get_u32(p + SEG_H_DICT_CRC);
        if (h->kind != TRAIL_SEG_KIND_SEAL || h->dict_len == 0 ||
            h->dict_len > ZSTD_COMPRESSBOUND(TRAIL_SEG_DICT_MAX))
            return TRAIL_E_CORRUPT;
    }
    h->header_len = (uint32_t)hlen;
    memcpy(h->store_id, p + SEG_H_STORE_ID, 16);
    h->first_seq = get_u64(p + SEG_H_FIRST_SEQ);
    h->created_us = (int64_t)get_u64(p + SEG_H_CREATED);
    memcpy(h->chain, p + SEG_H_CHAIN, 32);
    uint64_t size = get_u64(p + SEG_H_TREE_SIZE);
    if (__builtin_popcountll(size) != n_nodes || h->first_seq != size + 1)
        return TRAIL_E_CORRUPT;
    h->frontier.size = size;
    const uint8_t *q = p + TRAIL_SEG_FIXED;
    for (int k = 63; k >= 0; k--) {
        if (size & ((uint64_t)1 << k)) {
            memcpy(h->frontier.nodes[k], q, 32);
            q += 32;
        }
    }
    return 0;
}

int seg_header_read(int fd, struct seg_header *h)
{
    uint8_t buf[TRAIL_SEG_HEADER_MAX];
    size_t got = 0;
    int r = io_pread_full(fd, buf, sizeof(buf), 0, &got);
    if (r < 0)
        return r;
    if (got < TRAIL_SEG_FIXED + 4)
        return got == 0 ? TRAIL_E_NOT_FOUND : TRAIL_E_CORRUPT;
    return seg_header_decode(buf, got, h);
}

/* ---- the frame reader ---- */

#define READ_CHUNK (1u << 20)

/* Make [off, off + n) available in r->buf if the file has it; returns what it has (<= n). */
static int ensure(struct frame_reader *r, uint64_t off, size_t n, size_t *ret_have)
{
    uint64_t limit = r->end;
    if (off >= limit) {
        *ret_have = 0;
        return 0;
    }
    if (limit - off < n)
        n = (size_t)(limit - off);
    if (off >= r->buf_off && off + n <= r->buf_off + r->buf.len) {
        *ret_have = n;
        return 0;
    }
    /*
     * A reader going backward (newest first: the dedup window rebuilt at
     * open, a search of the open segment) asks for what lies just before
     * the window: read the chunk that ends where the request ends, so that
     * the records before it come from the same read (the chunk reaches 64 KiB,
     * the largest record traild takes, past the request: the frame's head
     * comes first, then the whole frame; a larger one is read again). Starting every read at the
     * request read a whole chunk per record, O(records x 1 MiB).
     */
    uint64_t start = off;
    if (r->buf.len && off < r->buf_off && n < READ_CHUNK / 2) {
        uint64_t end = off + n + TRAIL_FRAME_HEAD + 65536;
        start = end > READ_CHUNK ? end - READ_CHUNK : 0;
    }
    size_t want = (size_t)(off - start) + n;
    if (want < READ_CHUNK)
        want = READ_CHUNK;
    if (limit - start < want)
        want = (size_t)(limit - start);
    r->buf.len = 0;
    int rc = trail_buf_reserve(&r->buf, want);
    if (rc < 0)
        return rc;
    size_t got = 0;
    rc = io_pread_full(r->fd, r->buf.data, want, start, &got);
    if (rc < 0)
        return rc;
    r->buf_off = start;
    r->buf.len = got;
    size_t past = (size_t)(off - start);
    *ret_have = got <= past ? 0 : got - past < n ? got - past : n;
    return 0;
}

int frame_next(struct frame_reader *r, const uint8_t **ret_rec, uint32_t *ret_len)
{
    size_t have;
    int rc = ensure(r, r->off, TRAIL_FRAME_HEAD, &have);
    if (rc < 0)
        return rc;
    if (have == 0)
        return FRAME_END;
    if (have < TRAIL_FRAME_HEAD)
        return FRAME_TORN;
    const uint8_t *h = (const uint8_t *)r->buf.data + (r->off - r->buf_off);
    uint32_t len = get_u32(h);
    uint32_t crc = get_u32(h + 4);
    if (len < TRAIL_RECORD_MIN || len > TRAIL_RECORD_MAX)
        return FRAME_BAD;
    rc = ensure(r, r->off, TRAIL_FRAME_HEAD + (size_t)len, &have);
    if (rc < 0)
        return rc;
    if (have < TRAIL_FRAME_HEAD + (size_t)len)
        return FRAME_TORN;
    const uint8_t *rec = (const uint8_t *)r->buf.data + (r->off - r->buf_off) + TRAIL_FRAME_HEAD;
    if (!r->no_crc && crc32c(0, rec, len) != crc)
        return FRAME_BAD;
    *ret_rec = rec;
    *ret_len = len;
    r->off += TRAIL_FRAME_HEAD + (uint64_t)len;
    return FRAME_OK;
}

void frame_reader_free(struct frame_reader *r)
{
    trail_buf_free(&r->buf);
}

/* Is there a good frame at p (n bytes available) holding a record with seq > after_seq? */
static int frame_plausible(const uint8_t *p, size_t n, uint64_t after_seq)
{
    if (n < TRAIL_FRAME_HEAD + TRAIL_RECORD_MIN)
        return 0;
    uint32_t len = get_u32(p);
    if (len < TRAIL_RECORD_MIN || len > TRAIL_RECORD_MAX || len > n - TRAIL_FRAME_HEAD)
        return 0;
    const uint8_t *rec = p + TRAIL_FRAME_HEAD;
    if (!TRAIL_RECORD_VERSION_OK(rec[0]))
        return 0;
    uint64_t seq = get_u64(rec + 1);
    if (seq <= after_seq || seq - after_seq > ((uint64_t)1 << 40))
        return 0;
    return crc32c(0, rec, len) == get_u32(p + 4);
}

int frame_resync(struct frame_reader *r, uint64_t after_seq, uint64_t *ret_off)
{
    /* the rest of the file at once: resyncing is rare (recovery, damage) */
    struct stat st;
    if (fstat(r->fd, &st) < 0)
        return -errno;
    uint64_t start = r->off + 1;
    uint64_t end = (uint64_t)st.st_size < r->end ? (uint64_t)st.st_size : r->end;
    if (start >= end)
        return 0;
    size_t have;
    int rc = ensure(r, start, (size_t)(end - start), &have);
    if (rc < 0)
        return rc;
    const uint8_t *base = (const uint8_t *)r->buf.data + (start - r->buf_off);
    for (size_t i = 0; i + TRAIL_FRAME_HEAD + TRAIL_RECORD_MIN <= have; i++) {
        if (frame_plausible(base + i, have - i, after_seq)) {
            *ret_off = start + i;
            return 1;
        }
    }
    return 0;
}

/* ---- sealed segments ---- */

static void encode_block(const struct seg_block *b, uint8_t *p)
{
    put_u64(p + SEG_I_FIRST_SEQ, b->first_seq);
    put_u32(p + SEG_I_COUNT, b->count);
    put_u32(p + SEG_I_COMP_LEN, b->comp_len);
    put_u64(p + SEG_I_OFFSET, b->offset);
    put_u64(p + SEG_I_MIN_TIME, (uint64_t)b->min_time);
    put_u64(p + SEG_I_MAX_TIME, (uint64_t)b->max_time);
    put_u32(p + SEG_I_RAW_LEN, b->raw_len);
    put_u32(p + SEG_I_CRC, b->crc);
}

static void decode_block(const uint8_t *p, struct seg_block *b)
{
    b->first_seq = get_u64(p + SEG_I_FIRST_SEQ);
    b->count = get_u32(p + SEG_I_COUNT);
    b->comp_len = get_u32(p + SEG_I_COMP_LEN);
    b->offset = get_u64(p + SEG_I_OFFSET);
    b->min_time = (int64_t)get_u64(p + SEG_I_MIN_TIME);
    b->max_time = (int64_t)get_u64(p + SEG_I_MAX_TIME);
    b->raw_len = get_u32(p + SEG_I_RAW_LEN);
    b->crc = get_u32(p + SEG_I_CRC);
}

void seg_sealed_free(struct seg_sealed *s)
{
    if (!s)
        return;
    free(s->blocks);
    s->blocks = NULL;
    ZSTD_freeDDict(s->ddict);
    s->ddict = NULL;
}

int seg_dict_load(int fd, const struct seg_header *h, void **ret)
{
    if (h->version < TRAIL_SEG_VERSION_DICT) {
        *ret = NULL;
        return 0;
    }
    uint8_t *d = malloc(h->dict_len);
    size_t got = 0;
    if (!d)
        return -ENOMEM;
    int r = io_pread_full(fd, d, h->dict_len, h->header_len, &got);
    if (r == 0 && (got != h->dict_len || crc32c(0, d, got) != h->dict_crc))
        r = TRAIL_E_CORRUPT;
    /* the dictionary is kept compressed (one zstd frame of at most TRAIL_SEG_DICT_MAX) */
    uint8_t *raw = NULL;
    size_t n = 0;
    if (r == 0) {
        unsigned long long size = ZSTD_getFrameContentSize(d, h->dict_len);
        if (size == ZSTD_CONTENTSIZE_UNKNOWN || size == ZSTD_CONTENTSIZE_ERROR ||
            size > TRAIL_SEG_DICT_MAX || size < TRAIL_FRAME_HEAD)
            r = TRAIL_E_CORRUPT;
        else if (!(raw = malloc(size)))
            r = -ENOMEM;
        else if (ZSTD_isError(n = ZSTD_decompress(raw, size, d, h->dict_len)) || n != size)
            r = TRAIL_E_CORRUPT;
    }
    ZSTD_DDict *dd = NULL;
    if (r == 0 && !(dd = ZSTD_createDDict(raw, n)))
        r = -ENOMEM;
    free(raw);
    free(d);
    if (r == 0)
        *ret = dd;
    return r;
}

int seg_block_frames(const struct seg_block *b, const uint8_t *comp, size_t avail,
                     struct seg_subframe **ret, uint32_t *ret_n)
{
    if (!b->ddict)
        return 1;
    if (b->comp_len < 12 || avail < 12 || get_u32(comp) != TRAIL_SEG_TABLE_MAGIC)
        return TRAIL_E_CORRUPT;
    uint32_t tlen = get_u32(comp + 4), n = get_u32(comp + 8);
    if (n == 0 || n > TRAIL_SEG_SUBFRAMES_MAX || tlen != 4 + 12 * n ||
        8 + (uint64_t)tlen > b->comp_len)
        return TRAIL_E_CORRUPT;
    if (8 + (size_t)tlen > avail) {
        *ret_n = 8 + tlen;
        return -EAGAIN;
    }
    struct seg_subframe *f = malloc(n * sizeof(*f));
    if (!f)
        return -ENOMEM;
    uint64_t first = 0, raw = 0, off = 8 + (uint64_t)tlen;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = comp + 12 + 12 * (size_t)i;
        f[i] = (struct seg_subframe){.first = (uint32_t)first,
                                     .count = get_u32(e),
                                     .raw_off = (uint32_t)raw,
                                     .raw_len = get_u32(e + 4),
                                     .comp_off = (uint32_t)off,
                                     .comp_len = get_u32(e + 8)};
        if (f[i].count == 0 || f[i].comp_len == 0) {
            free(f);
            return TRAIL_E_CORRUPT;
        }
        first += f[i].count;
        raw += f[i].raw_len;
        off += f[i].comp_len;
    }
    if (first != b->count || raw != b->raw_len || off != b->comp_len) {
        free(f);
        return TRAIL_E_CORRUPT;
    }
    *ret = f;
    *ret_n = n;
    return 0;
}

int seg_frames_restore(uint8_t *raw, size_t len, uint64_t first_seq)
{
    static const uint8_t zero[8] = {0};
    uint64_t seq = first_seq;
    for (size_t off = 0; off < len; seq++) {
        if (len - off < TRAIL_FRAME_HEAD)
            return TRAIL_E_CORRUPT;
        uint8_t *p = raw + off;
        uint32_t n = get_u32(p);
        if (n < TRAIL_RECORD_MIN || n > len - off - TRAIL_FRAME_HEAD ||
            memcmp(p + 4, zero, 4) != 0 || memcmp(p + TRAIL_FRAME_HEAD + 1, zero, 8) != 0)
            return TRAIL_E_CORRUPT;
        put_u64(p + TRAIL_FRAME_HEAD + 1, seq); /* record_seq()'s field */
        off += TRAIL_FRAME_HEAD + n;
    }
    return 0;
}

/* The frame at p as version 3 stores it: the CRC and the record's seq zero. */
static void frame_lean(uint8_t *p)
{
    memset(p + 4, 0, 4);
    memset(p + TRAIL_FRAME_HEAD + 1, 0, 8);
}

int seg_subframe_read(const struct seg_block *b, const uint8_t *comp, const struct seg_subframe *f,
                      void *dctx, uint8_t *out)
{
    size_t n = ZSTD_decompress_usingDDict(dctx, out, f->raw_len, comp + f->comp_off, f->comp_len,
                                          b->ddict);
    if (ZSTD_isError(n) || n != f->raw_len)
        return TRAIL_E_CORRUPT;
    return b->lean ? seg_frames_restore(out, n, b->first_seq + f->first) : 0;
}

int seg_sealed_load(int fd, struct seg_sealed *ret)
{
    struct seg_sealed s = {0};
    uint8_t t[TRAIL_SEG_TRAILER];
    size_t got = 0;
    int r;
    off_t size = lseek(fd, 0, SEEK_END);
    if (size < 0)
        return -errno;
    s.file_size = (uint64_t)size;
    r = seg_header_read(fd, &s.h);
    if (r < 0)
        return r;
    if (s.h.kind != TRAIL_SEG_KIND_SEAL)
        return TRAIL_E_CORRUPT;
    if (s.file_size < s.h.header_len + TRAIL_SEG_TRAILER)
        return TRAIL_E_CORRUPT;
    r = io_pread_full(fd, t, sizeof(t), s.file_size - TRAIL_SEG_TRAILER, &got);
    if (r < 0)
        return r;
    if (got != sizeof(t) || memcmp(t + SEG_T_MAGIC, TRAIL_SEG_END_MAGIC, 8) != 0 ||
        get_u32(t + SEG_T_CRC) != crc32c(0, t, SEG_T_CRC))
        return TRAIL_E_CORRUPT;
    uint64_t index_off = get_u64(t + SEG_T_INDEX_OFF);
    s.n_blocks = get_u32(t + SEG_T_BLOCKS);
    uint32_t index_crc = get_u32(t + SEG_T_INDEX_CRC);
    s.first_seq = get_u64(t + SEG_T_FIRST_SEQ);
    s.last_seq = get_u64(t + SEG_T_LAST_SEQ);
    memcpy(s.chain_end, t + SEG_T_CHAIN, 32);
    s.min_time = (int64_t)get_u64(t + SEG_T_MIN_TIME);
    s.max_time = (int64_t)get_u64(t + SEG_T_MAX_TIME);
    uint64_t index_len = (uint64_t)s.n_blocks * TRAIL_SEG_INDEX_ENTRY;
    if (s.first_seq != s.h.first_seq || s.last_seq < s.first_seq - 1 || s.n_blocks == 0 ||
        index_off < s.h.header_len || index_off + index_len != s.file_size - TRAIL_SEG_TRAILER)
        return TRAIL_E_CORRUPT;
    uint8_t *idx = malloc(index_len);
    s.blocks = calloc(s.n_blocks, sizeof(*s.blocks));
    if (!idx || !s.blocks) {
        r = -ENOMEM;
        goto fail;
    }
    r = io_pread_full(fd, idx, index_len, index_off, &got);
    if (r < 0)
        goto fail;
    r = TRAIL_E_CORRUPT;
    if (got != index_len || crc32c(0, idx, index_len) != index_crc)
        goto fail;
    uint64_t next_seq = s.first_seq, next_off = seg_data_off(&s.h);
    if ((r = seg_dict_load(fd, &s.h, &s.ddict)) < 0)
        goto fail;
    r = TRAIL_E_CORRUPT;
    for (uint32_t i = 0; i < s.n_blocks; i++) {
        struct seg_block *b = &s.blocks[i];
        decode_block(idx + (size_t)i * TRAIL_SEG_INDEX_ENTRY, b);
        b->ddict = s.ddict;
        b->lean = s.h.version == TRAIL_SEG_VERSION_LEAN;
        if (b->first_seq != next_seq || b->count == 0 || b->offset != next_off ||
            b->comp_len == 0 || b->raw_len > (1u << 30))
            goto fail;
        next_seq += b->count;
        next_off += b->comp_len;
    }
    if (next_seq != s.last_seq + 1 || next_off != index_off)
        goto fail;
    free(idx);
    *ret = s;
    return 0;
fail:
    free(idx);
    seg_sealed_free(&s);
    return r;
}

int seg_block_read(int fd, const struct seg_block *b, void *dctx, struct trail_buf *comp,
                   struct trail_buf *out)
{
    size_t got = 0;
    comp->len = 0;
    int r = trail_buf_reserve(comp, b->comp_len);
    if (r < 0)
        return r;
    r = io_pread_full(fd, comp->data, b->comp_len, b->offset, &got);
    if (r < 0)
        return r;
    if (got != b->comp_len || crc32c(0, comp->data, got) != b->crc)
        return TRAIL_E_CORRUPT;
    out->len = 0;
    r = trail_buf_reserve(out, b->raw_len ? b->raw_len : 1);
    if (r < 0)
        return r;
    /* the whole block: zstd skips a version 2 block's table and runs its sub-frames on */
    size_t n =
        ZSTD_decompress_usingDDict(dctx, out->data, b->raw_len, comp->data, b->comp_len, b->ddict);
    if (ZSTD_isError(n) || n != b->raw_len)
        return TRAIL_E_CORRUPT;
    if (b->lean && (r = seg_frames_restore((uint8_t *)out->data, n, b->first_seq)) < 0)
        return r;
    out->len = n;
    return 0;
}

/*
 * Compress raw (whole frames) as one version 2 block: its table, then
 * sub-frames of about TRAIL_SEG_SUBFRAME bytes, each with the dictionary.
 */
static int compress_subframes(ZSTD_CCtx *cctx, const ZSTD_CDict *cdict, struct trail_buf *raw,
                              struct trail_buf *comp, size_t *ret_n)
{
    const uint8_t *p = (const uint8_t *)raw->data;
    uint32_t n = 0;
    /* a block_bytes far above 1 MiB gets larger sub-frames, never more than the table takes */
    size_t piece = raw->len / (TRAIL_SEG_SUBFRAMES_MAX / 2);
    if (piece < TRAIL_SEG_SUBFRAME)
        piece = TRAIL_SEG_SUBFRAME;
    for (size_t off = 0; off < raw->len; n++) /* count them first: the table leads */
        for (size_t start = off; off < raw->len && off - start < piece;)
            off += TRAIL_FRAME_HEAD + get_u32(p + off);
    if (n > TRAIL_SEG_SUBFRAMES_MAX)
        return TRAIL_E_CORRUPT;
    size_t head = 12 + 12 * (size_t)n;
    size_t bound = head + ZSTD_compressBound(raw->len) + (size_t)n * 32;
    comp->len = 0;
    int r = trail_buf_reserve(comp, bound);
    if (r < 0)
        return r;
    uint8_t *c = (uint8_t *)comp->data;
    put_u32(c, TRAIL_SEG_TABLE_MAGIC);
    put_u32(c + 4, (uint32_t)(4 + 12 * n));
    put_u32(c + 8, n);
    size_t at = head, off = 0;
    for (uint32_t i = 0; i < n; i++) {
        size_t start = off;
        uint32_t count = 0;
        while (off < raw->len && off - start < piece) {
            off += TRAIL_FRAME_HEAD + get_u32(p + off);
            count++;
        }
        size_t k =
            ZSTD_compress_usingCDict(cctx, c + at, bound - at, p + start, off - start, cdict);
        if (ZSTD_isError(k))
            return -ENOMEM;
        put_u32(c + 12 + 12 * (size_t)i, count);
        put_u32(c + 16 + 12 * (size_t)i, (uint32_t)(off - start));
        put_u32(c + 20 + 12 * (size_t)i, (uint32_t)k);
        at += k;
    }
    *ret_n = at;
    return 0;
}

/*
 * Compress raw (whole frames, version 3's fields zero) as one block at *off
 * and fill in *b; then hand the frames, their seqs put back, and the block's
 * sub-frames as its table gives them to on_block (when not NULL).
 */
static int flush_block(ZSTD_CCtx *cctx, const ZSTD_CDict *cdict, int dst_fd, struct trail_buf *raw,
                       struct trail_buf *comp, struct seg_block *b, uint64_t *off,
                       seg_block_fn on_block, void *arg)
{
    size_t n;
    int r = compress_subframes(cctx, cdict, raw, comp, &n);
    if (r < 0)
        return r;
    b->comp_len = (uint32_t)n;
    b->raw_len = (uint32_t)raw->len;
    b->offset = *off;
    b->crc = crc32c(0, comp->data, n);
    r = io_pwrite_full(dst_fd, comp->data, n, *off);
    if (r < 0)
        return r;
    /*
     * Start the block's writeback now, so that the seal's fdatasync at the end
     * has little left to write: a sync of megabytes at once held the appends'
     * fdatasync beside it (ext4 commits them together), p99 3.6-5.1 ms against
     * 1.0-1.3 ms with this (bench_fsync_mix modes 1 and 2, docs/BENCHMARKS.md).
     * Advice only: an error here leaves the fdatasync to do it all.
     */
    (void)sync_file_range(dst_fd, (off_t)*off, (off_t)n, SYNC_FILE_RANGE_WRITE);
    *off += n;
    if (on_block) {
        /* the records as a reader gets them, the sub-frames as a reader finds them */
        struct seg_subframe *sub = NULL;
        uint32_t n_sub = 0;
        if ((r = seg_block_frames(b, (const uint8_t *)comp->data, n, &sub, &n_sub)) < 0 ||
            (r = seg_frames_restore((uint8_t *)raw->data, raw->len, b->first_seq)) < 0) {
            free(sub);
            return r;
        }
        on_block(arg, b, (const uint8_t *)raw->data, raw->len, sub, n_sub);
        free(sub);
    }
    raw->len = 0;
    return 0;
}

/*
 * The records of frames [header, data_end) taken every data_end / N bytes,
 * whole frames, until the dictionary is TRAIL_SEG_DICT_MAX bytes.
 */
static int sample_dict(int src_fd, const struct seg_header *h, uint64_t data_end,
                       struct trail_buf *out)
{
    /* seg_seal's own pass checks every frame's CRC; the records sampled here are checked here */
    struct frame_reader fr = {.fd = src_fd, .off = h->header_len, .end = data_end, .no_crc = 1};
    uint64_t span = data_end > h->header_len ? data_end - h->header_len : 0;
    /*
     * At most 1/32 of the segment (a few % of its compressed size), up to
     * TRAIL_SEG_DICT_MAX; ~330 bytes a record: about max / 330 records
     * spread over the segment.
     */
    size_t max = span / 32 < TRAIL_SEG_DICT_MAX ? (size_t)(span / 32) : TRAIL_SEG_DICT_MAX;
    uint64_t step = span / (max / 330 + 1) + 1, next = h->header_len;
    int r;
    for (;;) {
        uint64_t at = fr.off;
        const uint8_t *rec;
        uint32_t len;
        r = frame_next(&fr, &rec, &len);
        if (r < 0)
            break;
        if (r != FRAME_OK) {
            r = r == FRAME_END ? 0 : TRAIL_E_CORRUPT;
            break;
        }
        if (at < next)
            continue;
        if (crc32c(0, rec, len) != get_u32(rec - TRAIL_FRAME_HEAD + 4)) {
            r = TRAIL_E_CORRUPT;
            break;
        }
        if (out->len + TRAIL_FRAME_HEAD + len > max) {
            if (out->len + TRAIL_FRAME_HEAD + TRAIL_RECORD_MIN > max)
                break;
            continue; /* too long for what is left: a later one */
        }
        uint8_t head[TRAIL_FRAME_HEAD];
        put_u32(head, len);
        size_t start = out->len;
        if ((r = trail_buf_append(out, head, sizeof(head))) < 0 ||
            (r = trail_buf_append(out, rec, len)) < 0)
            break;
        frame_lean((uint8_t *)out->data + start); /* as the blocks hold it */
        next = at + step;
    }
    frame_reader_free(&fr);
    if (r == 0 && out->len == 0) {
        /* every record longer than a dictionary: one of zeros, as valid as any */
        uint8_t zero[TRAIL_FRAME_HEAD] = {0};
        r = trail_buf_append(out, zero, sizeof(zero));
    }
    return r;
}

int seg_seal(int src_fd, const struct seg_header *h, uint64_t data_end, int dst_fd,
             uint32_t block_bytes, int level, seg_block_fn on_block, void *arg,
             struct seg_sealed *ret)
{
    struct frame_reader fr = {.fd = src_fd, .off = h->header_len, .end = data_end};
    struct trail_buf raw = {0}, comp = {0};
    struct seg_block *blocks = NULL;
    size_t n_blocks = 0, cap_blocks = 0;
    uint8_t hdr[TRAIL_SEG_HEADER_MAX];
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    ZSTD_CDict *cdict = NULL;
    ZSTD_DDict *ddict = NULL;
    struct trail_buf dict = {0};
    uint64_t next_seq = h->first_seq, off;
    int64_t min_time = INT64_MAX, max_time = INT64_MIN;
    int r;

    if (!cctx)
        return -ENOMEM;
    /*
     * The dictionary: records sampled evenly across the segment, so that
     * small sub-frames compress nearly as well as the whole block would
     * (docs/BENCHMARKS.md, "Cold queries"). A first pass over the frames.
     */
    r = sample_dict(src_fd, h, data_end, &dict);
    if (r < 0)
        goto out;
    cdict = ZSTD_createCDict(dict.data, dict.len, level);
    ddict = ZSTD_createDDict(dict.data, dict.len);
    if (!cdict || !ddict) {
        r = -ENOMEM;
        goto out;
    }
    /* stored compressed: a small segment's dictionary costs little beside its blocks */
    if ((r = trail_buf_reserve(&comp, ZSTD_compressBound(dict.len))) < 0)
        goto out;
    size_t dlen = ZSTD_compressCCtx(cctx, comp.data, comp.cap, dict.data, dict.len, level);
    if (ZSTD_isError(dlen)) {
        r = -ENOMEM;
        goto out;
    }
    struct seg_header sh = *h;
    sh.kind = TRAIL_SEG_KIND_SEAL;
    sh.version = TRAIL_SEG_VERSION_LEAN;
    sh.dict_len = (uint32_t)dlen;
    sh.dict_crc = crc32c(0, comp.data, dlen);
    off = seg_header_encode(&sh, hdr);
    sh.header_len = (uint32_t)off;
    r = io_pwrite_full(dst_fd, hdr, off, 0);
    if (r == 0)
        r = io_pwrite_full(dst_fd, comp.data, dlen, off);
    if (r < 0)
        goto out;
    off += dlen;
    r = trail_buf_reserve(&raw, block_bytes + TRAIL_RECORD_MAX / 64);
    if (r < 0)
        goto out;
    /* each block as a reader of the sealed file finds it: the dictionary, version 3 */
    struct seg_block cur = {.first_seq = next_seq,
                            .min_time = INT64_MAX,
                            .max_time = INT64_MIN,
                            .ddict = ddict,
                            .lean = 1};
    for (;;) {
        const uint8_t *rec;
        uint32_t len;
        r = frame_next(&fr, &rec, &len);
        if (r < 0)
            goto out;
        if (r == FRAME_END)
            break;
        if (r != FRAME_OK || record_seq(rec) != next_seq) {
            r = TRAIL_E_CORRUPT;
            goto out;
        }
        int64_t t = record_time(rec);
        uint8_t head[TRAIL_FRAME_HEAD];
        put_u32(head, len);
        size_t start = raw.len;
        if ((r = trail_buf_append(&raw, head, sizeof(head))) < 0 ||
            (r = trail_buf_append(&raw, rec, len)) < 0)
            goto out;
        /*
         * Version 3 stores neither the frame's CRC nor the record's seq: 4 random
         * bytes and a counter that zstd cannot predict, ~5 bytes an event sealed.
         * The block's CRC-32C covers what is stored, the seq follows from the
         * block's first seq, and a reader puts both back (seg_frames_restore).
         */
        frame_lean((uint8_t *)raw.data + start);
        cur.count++;
        cur.min_time = t < cur.min_time ? t : cur.min_time;
        cur.max_time = t > cur.max_time ? t : cur.max_time;
        next_seq++;
        if (raw.len >= block_bytes) {
            if (n_blocks == cap_blocks) {
                cap_blocks = cap_blocks ? cap_blocks * 2 : 64;
                struct seg_block *nb = realloc(blocks, cap_blocks * sizeof(*nb));
                if (!nb) {
                    r = -ENOMEM;
                    goto out;
                }
                blocks = nb;
            }
            r = flush_block(cctx, cdict, dst_fd, &raw, &comp, &cur, &off, on_block, arg);
            if (r < 0)
                goto out;
            min_time = cur.min_time < min_time ? cur.min_time : min_time;
            max_time = cur.max_time > max_time ? cur.max_time : max_time;
            blocks[n_blocks++] = cur;
            cur = (struct seg_block){.first_seq = next_seq,
                                     .min_time = INT64_MAX,
                                     .max_time = INT64_MIN,
                                     .ddict = ddict,
                                     .lean = 1};
        }
    }
    if (cur.count > 0 || n_blocks == 0) {
        if (cur.count == 0) {
            r = TRAIL_E_CORRUPT; /* an empty segment is never sealed */
            goto out;
        }
        if (n_blocks == cap_blocks) {
            struct seg_block *nb = realloc(blocks, (cap_blocks + 1) * sizeof(*nb));
            if (!nb) {
                r = -ENOMEM;
                goto out;
            }
            blocks = nb;
            cap_blocks++;
        }
        r = flush_block(cctx, cdict, dst_fd, &raw, &comp, &cur, &off, on_block, arg);
        if (r < 0)
            goto out;
        min_time = cur.min_time < min_time ? cur.min_time : min_time;
        max_time = cur.max_time > max_time ? cur.max_time : max_time;
        blocks[n_blocks++] = cur;
    }
    /* index and trailer */
    comp.len = 0;
    r = trail_buf_reserve(&comp, n_blocks * TRAIL_SEG_INDEX_ENTRY + TRAIL_SEG_TRAILER);
    if (r < 0)
        goto out;
    uint8_t *p = (uint8_t *)comp.data;
    for (size_t i = 0; i < n_blocks; i++)
        encode_block(&blocks[i], p + i * TRAIL_SEG_INDEX_ENTRY);
    size_t index_len = n_blocks * TRAIL_SEG_INDEX_ENTRY;
    uint8_t *t = p + index_len;
    memset(t, 0, TRAIL_SEG_TRAILER);
    put_u64(t + SEG_T_INDEX_OFF, off);
    put_u32(t + SEG_T_BLOCKS, (uint32_t)n_blocks);
    put_u32(t + SEG_T_INDEX_CRC, crc32c(0, p, index_len));
    put_u64(t + SEG_T_FIRST_SEQ, h->first_seq);
    put_u64(t + SEG_T_LAST_SEQ, next_seq - 1);
    memcpy(t + SEG_T_CHAIN, ret->chain_end, 32);
    put_u64(t + SEG_T_MIN_TIME, (uint64_t)min_time);
    put_u64(t + SEG_T_MAX_TIME, (uint64_t)max_time);
    put_u32(t + SEG_T_CRC, crc32c(0, t, SEG_T_CRC));
    memcpy(t + SEG_T_MAGIC, TRAIL_SEG_END_MAGIC, 8);
    r = io_pwrite_full(dst_fd, p, index_len + TRAIL_SEG_TRAILER, off);
    if (r < 0)
        goto out;
    if (fdatasync(dst_fd) < 0) {
        r = -errno;
        goto out;
    }
    ret->h = sh;
    ret->ddict = ddict; /* the blocks' */
    ddict = NULL;
    ret->first_seq = h->first_seq;
    ret->last_seq = next_seq - 1;
    ret->min_time = min_time;
    ret->max_time = max_time;
    ret->n_blocks = (uint32_t)n_blocks;
    ret->blocks = blocks;
    ret->file_size = off + index_len + TRAIL_SEG_TRAILER;
    blocks = NULL;
    r = 0;
out:
    free(blocks);
    frame_reader_free(&fr);
    trail_buf_free(&raw);
    trail_buf_free(&comp);
    trail_buf_free(&dict);
    ZSTD_freeCDict(cdict);
    ZSTD_freeDDict(ddict);
    ZSTD_freeCCtx(cctx);
    return r;
}
