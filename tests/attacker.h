/*
 * attacker.h - the attacker of docs/integrity.md §8 with write access to a
 * stopped store's directory, who rewrites the store so that it is consistent
 * in itself: every record's frame and CRC-32C, every header's chain head and
 * frontier, every sealed segment's blocks, index and trailer, and
 * DIR/tree.roots are recomputed from the changed records. With the signing
 * key, every checkpoint line is signed again over the rewritten tree;
 * without it, the lines the change or the cut contradicts are what is left
 * (the caller deletes them, or they are caught).
 *
 * Used by tests/unit/test_verify.c and tests/tools/store_attacker.c (the same
 * attacker for tests/integration/verify_attacks.sh). Everything here is
 * static: one copy per test program. It uses the store's own encoders
 * (store/segment.h, integrity/merkle.h), as an attacker who read docs/format.md would.
 *
 * Not for: stores after a purge (it starts from the first segment's header
 * and needs the whole of its first group of 256 leaves).
 */
#ifndef TRAIL_TEST_ATTACKER_H
#define TRAIL_TEST_ATTACKER_H

#include "store/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define ATK_MAX_SEGS 4096
#define ATK_BLOCK    (16u << 10)

struct atk_seg {
    char name[40];
    uint64_t first;
    int sealed;
};

static int atk_cmp_seg(const void *a, const void *b)
{
    const struct atk_seg *x = a, *y = b;
    return x->first < y->first ? -1 : x->first > y->first;
}

/* The segment files of dir, by first seq; returns how many, or -1. */
static int atk_list(const char *dir, struct atk_seg *segs)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < ATK_MAX_SEGS) {
        size_t len = strlen(e->d_name);
        int sealed = len == 24 && strcmp(e->d_name + 20, ".seg") == 0;
        int open_ = len == 25 && strcmp(e->d_name + 20, ".open") == 0;
        if (strncmp(e->d_name, "seg-", 4) != 0 || (!sealed && !open_))
            continue;
        snprintf(segs[n].name, sizeof(segs[n].name), "%.30s", e->d_name);
        segs[n].first = strtoull(e->d_name + 4, NULL, 16);
        segs[n].sealed = sealed;
        n++;
    }
    closedir(d);
    qsort(segs, (size_t)n, sizeof(*segs), atk_cmp_seg);
    return n;
}

/*
 * Every frame of a sealed segment's blocks, appended to frames, each with its
 * CRC as an open segment and a version 1 block hold it (a version 3 block's
 * reader leaves it zero): what this attacker writes back is version 1.
 */
static int atk_read_blocks(int fd, const struct seg_sealed *ss, struct trail_buf *frames)
{
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    struct trail_buf comp = {0}, raw = {0};
    int r = 0;
    for (uint32_t i = 0; i < ss->n_blocks && r == 0; i++) {
        r = seg_block_read(fd, &ss->blocks[i], dctx, &comp, &raw);
        uint8_t *p = (uint8_t *)raw.data;
        for (size_t off = 0; r == 0 && off + TRAIL_FRAME_HEAD <= raw.len;) {
            uint32_t len = get_u32(p + off);
            put_u32(p + off + 4, crc32c(0, p + off + TRAIL_FRAME_HEAD, len));
            off += TRAIL_FRAME_HEAD + len;
        }
        if (r == 0)
            r = trail_buf_append(frames, raw.data, raw.len);
    }
    ZSTD_freeDCtx(dctx);
    trail_buf_free(&comp);
    trail_buf_free(&raw);
    return r;
}

/* The header and every frame of a segment file. */
static int atk_load(int fd, int sealed, struct seg_header *h, struct trail_buf *frames)
{
    if (seg_header_read(fd, h) < 0)
        return -1;
    trail_buf_reset(frames);
    if (!sealed) {
        struct stat st;
        if (fstat(fd, &st) < 0)
            return -1;
        size_t n = (size_t)st.st_size - h->header_len;
        if (trail_buf_reserve(frames, n) < 0 ||
            pread(fd, frames->data, n, h->header_len) != (ssize_t)n)
            return -1;
        frames->len = n;
        return 0;
    }
    struct seg_sealed ss;
    if (seg_sealed_load(fd, &ss) < 0)
        return -1;
    int r = atk_read_blocks(fd, &ss, frames);
    seg_sealed_free(&ss);
    return r < 0 ? -1 : 0;
}

/*
 * After a header of head_len bytes at the start of fd, write a segment's
 * body: the frames (open), or blocks of about block bytes, the index and the
 * trailer with chain_end (sealed), every checksum made to fit. Closes fd.
 */
static int atk_write_body(int fd, size_t head_len, int sealed, uint64_t first_seq,
                          const struct trail_buf *frames, const uint8_t chain_end[TRAIL_HASH_LEN],
                          size_t block)
{
    int r = 0;
    if (!sealed) {
        if (frames->len &&
            pwrite(fd, frames->data, frames->len, (off_t)head_len) != (ssize_t)frames->len)
            r = -1;
        close(fd);
        return r;
    }
    struct trail_buf index = {0};
    uint32_t n_blocks = 0;
    uint64_t off = head_len, last_seq = first_seq - 1;
    int64_t tmin = INT64_MAX, tmax = INT64_MIN;
    const uint8_t *p = (const uint8_t *)frames->data;
    for (size_t pos = 0; pos < frames->len && r == 0;) {
        size_t start = pos;
        uint32_t count = 0;
        int64_t bmin = INT64_MAX, bmax = INT64_MIN;
        uint64_t first = record_seq(p + pos + 8);
        while (pos < frames->len && (pos - start < block || count == 0)) {
            int64_t t = record_time(p + pos + 8);
            bmin = t < bmin ? t : bmin;
            bmax = t > bmax ? t : bmax;
            last_seq = record_seq(p + pos + 8);
            pos += 8 + get_u32(p + pos);
            count++;
        }
        size_t bound = ZSTD_compressBound(pos - start);
        uint8_t *comp = malloc(bound);
        size_t clen = ZSTD_compress(comp, bound, p + start, pos - start, 1);
        if (ZSTD_isError(clen) || pwrite(fd, comp, clen, (off_t)off) != (ssize_t)clen)
            r = -1;
        uint8_t e[TRAIL_SEG_INDEX_ENTRY];
        put_u64(e + SEG_I_FIRST_SEQ, first);
        put_u32(e + SEG_I_COUNT, count);
        put_u32(e + SEG_I_COMP_LEN, (uint32_t)clen);
        put_u64(e + SEG_I_OFFSET, off);
        put_u64(e + SEG_I_MIN_TIME, (uint64_t)bmin);
        put_u64(e + SEG_I_MAX_TIME, (uint64_t)bmax);
        put_u32(e + SEG_I_RAW_LEN, (uint32_t)(pos - start));
        put_u32(e + SEG_I_CRC, crc32c(0, comp, clen));
        free(comp);
        trail_buf_append(&index, e, sizeof(e));
        off += clen;
        n_blocks++;
        tmin = bmin < tmin ? bmin : tmin;
        tmax = bmax > tmax ? bmax : tmax;
    }
    if (index.len && pwrite(fd, index.data, index.len, (off_t)off) != (ssize_t)index.len)
        r = -1;
    uint8_t t[TRAIL_SEG_TRAILER] = {0};
    put_u64(t + SEG_T_INDEX_OFF, off);
    put_u32(t + SEG_T_BLOCKS, n_blocks);
    put_u32(t + SEG_T_INDEX_CRC, crc32c(0, index.data, index.len));
    put_u64(t + SEG_T_FIRST_SEQ, first_seq);
    put_u64(t + SEG_T_LAST_SEQ, last_seq);
    memcpy(t + SEG_T_CHAIN, chain_end, TRAIL_HASH_LEN);
    put_u64(t + SEG_T_MIN_TIME, (uint64_t)tmin);
    put_u64(t + SEG_T_MAX_TIME, (uint64_t)tmax);
    put_u32(t + SEG_T_CRC, crc32c(0, t, SEG_T_CRC));
    memcpy(t + SEG_T_MAGIC, TRAIL_SEG_END_MAGIC, 8);
    if (pwrite(fd, t, sizeof(t), (off_t)(off + index.len)) != (ssize_t)sizeof(t))
        r = -1;
    trail_buf_free(&index);
    close(fd);
    return r;
}

/* Write a segment: header, then frames (open) or blocks, index and trailer (sealed). */
static int atk_save(const char *path, int sealed, const struct seg_header *h,
                    const struct trail_buf *frames, const uint8_t chain_end[TRAIL_HASH_LEN])
{
    uint8_t head[TRAIL_SEG_HEADER_MAX];
    /* its blocks are format version 1 (one zstd frame each), which trail reads as well */
    struct seg_header v1 = *h;
    v1.version = TRAIL_SEG_VERSION;
    v1.dict_len = v1.dict_crc = 0;
    size_t head_len = seg_header_encode(&v1, head);
    int fd = open(path, O_WRONLY | O_TRUNC | O_CREAT, 0600);
    if (fd < 0)
        return -1;
    if (pwrite(fd, head, head_len, 0) != (ssize_t)head_len) {
        close(fd);
        return -1;
    }
    /* this attacker knows the chain head */
    return atk_write_body(fd, head_len, sealed, h->first_seq, frames, chain_end, ATK_BLOCK);
}

/* Change the first character of the record's duser value (its length stays). */
static int atk_edit(uint8_t *rec, size_t len)
{
    struct rec_view v;
    if (rec_view_parse(rec, len, &v) < 0)
        return -1;
    const uint8_t *p = v.attrs;
    struct rec_attr a;
    while (rec_attr_next(&p, v.end, &a) == 1)
        if (a.klen == 5 && memcmp(a.key, "duser", 5) == 0 && a.vlen > 0) {
            uint8_t *c = rec + (a.val - rec);
            *c = *c == 'm' ? 'n' : 'm'; /* "mallory" was here */
            return 0;
        }
    return -1;
}

/* The tree at each checkpoint size, as the rewrite passes it. */
struct atk_cp {
    struct trail_checkpoint cp;
    int seen;
};

/*
 * atk_rewrite - rewrite the stopped store in dir: change the duser of record
 * edit_seq (0: none), drop every record after keep_upto (UINT64_MAX: none),
 * and recompute everything the store keeps (above). DIR/checkpoints loses
 * its lines past keep_upto; with key (a private key) every line left is
 * signed again over the new tree, without it the other lines stay as they
 * were. Returns 0 or -1.
 */
static int atk_rewrite(const char *dir, uint64_t edit_seq, uint64_t keep_upto,
                       const struct trail_key *key)
{
    static struct atk_seg segs[ATK_MAX_SEGS];
    int n = atk_list(dir, segs);
    if (n <= 0)
        return -1;
    char path[4200];
    /* the checkpoint lines, to re-sign at their sizes as the new tree passes them */
    struct atk_cp *cps = NULL;
    size_t n_cps = 0;
    snprintf(path, sizeof(path), "%.4000s/checkpoints", dir);
    FILE *f = fopen(path, "r");
    char line[1024];
    while (f && fgets(line, sizeof(line), f)) {
        struct trail_checkpoint c;
        if (trail_checkpoint_parse(line, strlen(line), &c) < 0 || c.tree_size > keep_upto)
            continue;
        cps = realloc(cps, (n_cps + 1) * sizeof(*cps));
        cps[n_cps].cp = c;
        cps[n_cps++].seen = c.tree_size == 0;
    }
    if (f)
        fclose(f);

    struct trail_buf frames = {0}, kept = {0};
    struct seg_header h;
    uint8_t chain[TRAIL_HASH_LEN];
    struct trail_frontier fr;
    uint8_t(*group)[TRAIL_HASH_LEN] = malloc(256 * TRAIL_HASH_LEN);
    struct trail_buf roots = {0};
    int r = 0, started = 0;
    for (int i = 0; i < n && r == 0; i++) {
        snprintf(path, sizeof(path), "%.4000s/%.39s", dir, segs[i].name);
        if (segs[i].first > keep_upto) {
            r = unlink(path);
            continue;
        }
        int fd = open(path, O_RDONLY);
        if (fd < 0 || atk_load(fd, segs[i].sealed, &h, &frames) < 0) {
            if (fd >= 0)
                close(fd);
            r = -1;
            break;
        }
        close(fd);
        if (!started) {
            if (h.frontier.size % 256 != 0 && h.frontier.size != 0) {
                r = -1; /* a purged store: not this attacker's */
                break;
            }
            memcpy(chain, h.chain, TRAIL_HASH_LEN);
            fr = h.frontier;
            started = 1;
        } else {
            memcpy(h.chain, chain, TRAIL_HASH_LEN);
            h.frontier = fr;
        }
        trail_buf_reset(&kept);
        uint8_t *p = (uint8_t *)frames.data;
        for (size_t pos = 0; pos + 8 <= frames.len && r == 0;) {
            uint32_t len = get_u32(p + pos);
            uint8_t *rec = p + pos + 8;
            uint64_t seq = record_seq(rec);
            pos += 8 + len;
            if (seq > keep_upto)
                break;
            if (seq == edit_seq && atk_edit(rec, len) < 0)
                r = -1;
            put_u32(rec - 4, crc32c(0, rec, len));
            uint8_t leaf[TRAIL_HASH_LEN];
            trail_hash_leaf(rec, len, leaf);
            hash_chain(chain, leaf, chain);
            memcpy(group[(fr.size) % 256], leaf, TRAIL_HASH_LEN);
            frontier_append(&fr, leaf);
            if (fr.size % 256 == 0) {
                uint8_t root[TRAIL_HASH_LEN];
                hash_tree((const uint8_t(*)[TRAIL_HASH_LEN])group, 256, root);
                trail_buf_append(&roots, root, TRAIL_HASH_LEN);
            }
            for (size_t k = 0; key && k < n_cps; k++)
                if (cps[k].cp.tree_size == fr.size) {
                    frontier_root(&fr, cps[k].cp.root);
                    memcpy(cps[k].cp.chain, chain, TRAIL_HASH_LEN);
                    cps[k].seen = 1;
                }
            trail_buf_append(&kept, rec - 8, 8 + len);
        }
        if (r == 0 && kept.len == 0 && segs[i].sealed)
            r = unlink(path);
        else if (r == 0)
            r = atk_save(path, segs[i].sealed, &h, &kept, chain);
    }
    /* tree.roots: its header, then the new group roots */
    if (r == 0) {
        snprintf(path, sizeof(path), "%.4000s/tree.roots", dir);
        uint8_t head[64];
        int fd = open(path, O_RDWR);
        if (fd < 0 || pread(fd, head, 64, 0) != 64 || ftruncate(fd, 64) < 0 ||
            (roots.len && pwrite(fd, roots.data, roots.len, 64) != (ssize_t)roots.len))
            r = -1;
        if (fd >= 0)
            close(fd);
    }
    /* DIR/checkpoints: the lines left, signed again when the key is at hand */
    if (r == 0) {
        snprintf(path, sizeof(path), "%.4000s/checkpoints", dir);
        FILE *out = fopen(path, "w");
        struct trail_buf text = {0};
        for (size_t k = 0; out && k < n_cps && r == 0; k++) {
            if (key && cps[k].seen)
                r = trail_checkpoint_sign(&cps[k].cp, key) < 0 ? -1 : 0;
            trail_buf_reset(&text);
            if (r == 0 && trail_checkpoint_format(&cps[k].cp, &text) == 0)
                fprintf(out, "%s\n", text.data);
        }
        if (!out || fclose(out) != 0)
            r = -1;
        trail_buf_free(&text);
    }
    trail_buf_free(&frames);
    trail_buf_free(&kept);
    trail_buf_free(&roots);
    free(group);
    free(cps);
    return r;
}

#endif
