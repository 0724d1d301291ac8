/*
 * store_recover.c - opening a store's files: store.meta (the store's id,
 * made at creation, rebuilt from a segment header when lost) and recovery,
 * which lists the segments, settles an interrupted seal, scans every
 * segment and the active .open file (cutting a torn tail, keeping damaged
 * bytes aside), rebuilds the chain and the tree's frontier, and leaves the
 * store's live state where the last good record ends.
 *
 * Not here: the lock and the claims checked before (store_open.c), the
 * segment file formats (segment.c), known damage and quarantine
 * (store_damage.c), tree.roots (store_tree.c).
 */
#include "base/fileio.h"
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define META_LEN     64
#define META_MAGIC   "TRAILSTO"
#define META_VERSION 1

/* ---- store.meta ---- */

/*
 * DIR/store.meta, 64 bytes:
 *   0 8 magic "TRAILSTO"  8 2 version (1)  10 2 zero  12 4 length (64)
 *   16 16 store id  32 8 created µs  40 20 zero  60 4 CRC-32C of bytes 0..59
 */
static int meta_read(struct trail_store *s)
{
    uint8_t m[META_LEN];
    int fd = openat(s->dir_fd, "store.meta", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, m, sizeof(m));
    int err = errno;
    close(fd);
    if (n < 0)
        return -err;
    if (n != META_LEN || memcmp(m, META_MAGIC, 8) != 0 || get_u16(m + 8) != META_VERSION)
        return TRAIL_E_VERSION;
    if (get_u32(m + 60) != crc32c(0, m, 60))
        return TRAIL_E_CORRUPT;
    memcpy(s->store_id, m + 16, 16);
    s->created_us = (int64_t)get_u64(m + 32);
    return 0;
}

static int meta_write(struct trail_store *s)
{
    uint8_t m[META_LEN] = {0};
    memcpy(m, META_MAGIC, 8);
    put_u16(m + 8, META_VERSION);
    put_u32(m + 12, META_LEN);
    memcpy(m + 16, s->store_id, 16);
    put_u64(m + 32, (uint64_t)s->created_us);
    put_u32(m + 60, crc32c(0, m, 60));
    int fd = openat(s->dir_fd, "store.meta.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return -errno;
    int r = 0;
    if (write(fd, m, sizeof(m)) != (ssize_t)sizeof(m) || fsync(fd) < 0)
        r = errno ? -errno : -EIO;
    close(fd);
    if (r == 0 && renameat(s->dir_fd, "store.meta.tmp", s->dir_fd, "store.meta") < 0)
        r = -errno;
    if (r == 0)
        r = fsync(s->dir_fd) < 0 ? -errno : 0;
    return r;
}

/*
 * At open: does a segment starting at first_seq leave a gap after the one
 * before (ending at prev_last), or overlap it, other than a gap that known
 * damage covers? Needs the segments pushed so far (none: no gap).
 */
static int seqs_gap(struct trail_store *s, uint64_t first_seq, uint64_t prev_last)
{
    return s->n_segs > 0 && first_seq != prev_last + 1 &&
           !(first_seq > prev_last + 1 && store_damage_covers(s, prev_last + 1, first_seq - 1));
}

/* ---- recovery ---- */

static int cmp_found(const void *a, const void *b)
{
    const struct store_found *x = a, *y = b;
    return x->first_seq < y->first_seq ? -1 : x->first_seq > y->first_seq;
}

int store_list_segments(struct trail_store *s, struct store_found **ret, size_t *ret_n,
                        struct trail_store_report *rep)
{
    int fd = openat(s->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -errno;
    }
    struct store_found *f = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int r = 0;
    while ((e = readdir(d))) {
        const char *name = e->d_name;
        size_t len = strlen(name);
        if (len > 4 && strcmp(name + len - 4, ".tmp") == 0) {
            if (!s->read_only) {
                unlinkat(s->dir_fd, name, 0);
                if (rep)
                    rep->leftovers++;
                store_report(rep, "%s: unfinished temporary file removed", name);
            }
            continue;
        }
        if (strncmp(name, "seg-", 4) != 0 || len < 4 + 16 + 4)
            continue;
        char *endp;
        uint64_t first = strtoull(name + 4, &endp, 16);
        if (endp != name + 20)
            continue;
        int is_open = strcmp(endp, ".open") == 0, is_seg = strcmp(endp, ".seg") == 0;
        if (!is_open && !is_seg)
            continue;
        size_t i;
        for (i = 0; i < n && f[i].first_seq != first; i++)
            ;
        if (i == n) {
            if (n == cap) {
                cap = cap ? cap * 2 : 32;
                struct store_found *p = realloc(f, cap * sizeof(*p));
                if (!p) {
                    r = -ENOMEM;
                    break;
                }
                f = p;
            }
            f[n++] = (struct store_found){.first_seq = first};
        }
        if (is_open)
            f[i].has_open = 1;
        else
            f[i].has_seg = 1;
    }
    closedir(d);
    if (r < 0) {
        free(f);
        return r;
    }
    if (n > 1)
        qsort(f, n, sizeof(*f), cmp_found);
    *ret = f;
    *ret_n = n;
    return 0;
}

/* Move a damaged file's cut-off bytes aside (repair keeps what it cuts). */
static void keep_damaged(struct trail_store *s, int src_fd, uint64_t from, uint64_t to,
                         const char *name)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/damaged", s->dir);
    mkdir(path, 0750);
    snprintf(path, sizeof(path), "%s/damaged/%s.%" PRIu64, s->dir, name, from);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return;
    char buf[65536];
    for (uint64_t off = from; off < to;) {
        ssize_t n = pread(src_fd, buf, sizeof(buf), (off_t)off);
        if (n <= 0 || write(fd, buf, (size_t)n) != n)
            break;
        off += (uint64_t)n;
    }
    fsync(fd);
    close(fd);
}

/* Are the bytes [from, to) of fd all zero? */
static int all_zero(int fd, uint64_t from, uint64_t to)
{
    uint8_t buf[512];
    while (from < to) {
        size_t n = to - from < sizeof(buf) ? (size_t)(to - from) : sizeof(buf);
        if (pread(fd, buf, n, (off_t)from) != (ssize_t)n)
            return 0;
        for (size_t i = 0; i < n; i++)
            if (buf[i])
                return 0;
        from += n;
    }
    return 1;
}

/*
 * A bad frame at `at`, good frames from `to`: did part of what lies between
 * never reach the disk? The segment is written sequentially into a file made
 * empty, so a sector that was never written reads as zeros: the bad frame's
 * bytes up to the next 512-byte boundary are zeros, or a whole sector between
 * it and the good frames is. (Damage that zeroed such a sector of the last
 * segment would be taken for this.)
 */
static int unwritten_sector(int fd, uint64_t at, uint64_t to)
{
    if (((at | 511) + 1) <= to && all_zero(fd, at, (at | 511) + 1))
        return 1;
    for (uint64_t off = (at + 511) & ~(uint64_t)511; off + 512 <= to; off += 512)
        if (all_zero(fd, off, off + 512))
            return 1;
    return 0;
}

/*
 * Scan an open segment: check every frame, cut a torn tail (writer, last
 * segment), report damage. With hash != 0 also carry the chain and frontier
 * from the header over every record into *chain / *fr.
 */
static int scan_open(struct trail_store *s, int fd, const char *name, struct seg *g, int is_last,
                     int hash, uint8_t chain[TRAIL_HASH_LEN], struct trail_frontier *fr,
                     struct trail_store_report *rep)
{
    struct seg_header h;
    struct stat st;
    int r = seg_header_read(fd, &h);
    if (r < 0)
        return r;
    if (fstat(fd, &st) < 0)
        return -errno;
    struct frame_reader rd = {.fd = fd, .off = h.header_len, .end = (uint64_t)st.st_size};
    uint64_t next = h.first_seq;
    g->first_seq = h.first_seq;
    g->created_us = h.created_us;
    g->min_time = INT64_MAX;
    g->max_time = INT64_MIN;
    if (hash) {
        memcpy(chain, h.chain, TRAIL_HASH_LEN);
        *fr = h.frontier;
    }
    for (;;) {
        const uint8_t *rec;
        uint32_t len;
        uint64_t at = rd.off;
        r = frame_next(&rd, &rec, &len);
        if (r < 0)
            goto out;
        if (r == FRAME_OK && record_seq(rec) != next)
            r = FRAME_BAD;
        if (r == FRAME_OK) {
            int64_t t = record_time(rec);
            g->min_time = t < g->min_time ? t : g->min_time;
            g->max_time = t > g->max_time ? t : g->max_time;
            if (hash) {
                uint8_t leaf[TRAIL_HASH_LEN], root[TRAIL_HASH_LEN];
                int done;
                if ((r = trail_hash_leaf(rec, len, leaf)) < 0 ||
                    (r = hash_chain(chain, leaf, chain)) < 0 ||
                    (r = store_frontier_push(fr, leaf, root, &done)) < 0)
                    goto out;
            }
            next++;
            continue;
        }
        if (r == FRAME_END) {
            g->data_end = at;
            break;
        }
        /* torn or bad at `at`: is anything good after it? */
        uint64_t good_off = 0;
        rd.off = at;
        int found = frame_resync(&rd, next - 1, &good_off);
        if (found < 0) {
            r = found;
            goto out;
        }
        g->data_end = at;
        if (is_last && (!found || unwritten_sector(fd, at, good_off))) {
            /* a torn tail: what a crash leaves; never acknowledged. Good frames after a
               sector that holds only zeros are part of it: a power cut can keep later pages of
               an unsynced write and lose earlier ones, and nothing after a page that never
               reached the disk was synced (test_store_powercut.c) */
            if (rep)
                rep->torn_bytes += (uint64_t)st.st_size - at;
            store_report(rep, "%s: torn tail at offset %" PRIu64 " (%" PRIu64 " bytes) %s", name,
                         at, (uint64_t)st.st_size - at, s->read_only ? "ignored" : "cut");
            if (!s->read_only && ftruncate(fd, (off_t)at) < 0) {
                r = -errno;
                goto out;
            }
            break;
        }
        if (rep)
            rep->damaged++;
        if (found)
            store_report(rep,
                         "%s: damaged frame at offset %" PRIu64 " (seq %" PRIu64
                         " expected) with good frames after it, from offset %" PRIu64,
                         name, at, next, good_off);
        else
            store_report(rep,
                         "%s: damaged tail at offset %" PRIu64 " (seq %" PRIu64
                         " expected) in a segment that is not the last",
                         name, at, next);
        if (s->read_only)
            break;
        if (!s->o.repair) {
            r = TRAIL_E_CORRUPT;
            goto out;
        }
        keep_damaged(s, fd, at, (uint64_t)st.st_size, name);
        if (rep)
            rep->repaired_bytes += (uint64_t)st.st_size - at;
        store_report(rep,
                     "%s: repair cut %" PRIu64 " bytes from offset %" PRIu64 " (kept in damaged/)",
                     name, (uint64_t)st.st_size - at, at);
        if (ftruncate(fd, (off_t)at) < 0) {
            r = -errno;
            goto out;
        }
        r = 1; /* tells the caller that what follows this segment must go */
        g->last_seq = next - 1;
        g->bytes = at;
        goto out_set;
    }
    r = 0;
    g->last_seq = next - 1;
    g->bytes = g->data_end;
out_set:
    if (g->last_seq < g->first_seq) {
        g->min_time = INT64_MAX;
        g->max_time = INT64_MIN;
    }
out:
    frame_reader_free(&rd);
    return r;
}

/* Hash every record of a sealed segment from its header state (the last segment sealed). */
static int hash_sealed(int fd, const struct seg_sealed *ss, uint8_t chain[TRAIL_HASH_LEN],
                       struct trail_frontier *fr)
{
    struct trail_buf comp = {0}, raw = {0};
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    int r = dctx ? 0 : -ENOMEM;
    memcpy(chain, ss->h.chain, TRAIL_HASH_LEN);
    *fr = ss->h.frontier;
    for (uint32_t i = 0; r == 0 && i < ss->n_blocks; i++) {
        r = seg_block_read(fd, &ss->blocks[i], dctx, &comp, &raw);
        size_t off = 0;
        while (r == 0 && off + TRAIL_FRAME_HEAD <= raw.len) {
            const uint8_t *p = (const uint8_t *)raw.data + off;
            uint32_t len = get_u32(p);
            /* a version 3 frame carries no CRC: its block's covers it */
            if (len > raw.len - off - TRAIL_FRAME_HEAD ||
                (!ss->blocks[i].lean && crc32c(0, p + 8, len) != get_u32(p + 4))) {
                r = TRAIL_E_CORRUPT;
                break;
            }
            uint8_t leaf[TRAIL_HASH_LEN], root[TRAIL_HASH_LEN];
            int done;
            if ((r = trail_hash_leaf(p + 8, len, leaf)) < 0 ||
                (r = hash_chain(chain, leaf, chain)) < 0 ||
                (r = store_frontier_push(fr, leaf, root, &done)) < 0)
                break;
            off += TRAIL_FRAME_HEAD + len;
        }
    }
    ZSTD_freeDCtx(dctx);
    trail_buf_free(&comp);
    trail_buf_free(&raw);
    return r;
}

/*
 * A header that never reached the disk whole: the file is shorter than the
 * fixed part, or holds nothing but zeros. Anything else that fails its check
 * is damage, not a crash.
 */
static int header_torn(int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return 0;
    if (st.st_size < TRAIL_SEG_FIXED + 4)
        return 1;
    uint8_t buf[4096];
    for (off_t off = 0; off < st.st_size;) {
        ssize_t n = pread(fd, buf, sizeof(buf), off);
        if (n <= 0)
            return 0;
        for (ssize_t i = 0; i < n; i++)
            if (buf[i])
                return 0;
        off += n;
    }
    return 1;
}

/* Read the store id from a segment header when store.meta is gone. */
static int id_from_segment(struct trail_store *s, const struct store_found *f)
{
    char path[4200];
    store_seg_path(s, f->first_seq, f->has_open ? ".open" : ".seg", path, sizeof(path));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct seg_header h;
    int r = seg_header_read(fd, &h);
    close(fd);
    if (r < 0)
        return r;
    memcpy(s->store_id, h.store_id, 16);
    s->created_us = h.created_us;
    return 0;
}

/*
 * Recovery's steps, in order (store_recover below): the segments listed,
 * store.meta read or rebuilt (meta_recover), interrupted seals settled
 * (settle_seals), each segment checked and pushed onto the segment list
 * (recover_segment: recover_sealed, recover_open), and the live state set
 * where the last good record ends (set_live).
 */

/* What recovery carries from one segment to the next. */
struct walk {
    struct store_found *f; /* the segments the directory holds, in order */
    size_t n;
    uint8_t chain[TRAIL_HASH_LEN]; /* the chain after the records hashed so far */
    struct trail_frontier fr;      /* and the tree's frontier over them */
    struct seg_header last_h;      /* the last segment's header, when it is an .open file */
    int last_open;
    uint64_t prev_last; /* the last seq of the segment pushed before */
};

/* recover_segment's answers besides 0 (pushed) and errors */
#define SEG_DONE    1 /* dealt with (left out, or pushed as damage): on to the next */
#define SEG_RESTART 2 /* the last .open file was removed: recover again without it */

/* store.meta: read it, make it for a new store, or rebuild it from the first segment's header. */
static int meta_recover(struct trail_store *s, const struct store_found *f, size_t n,
                        struct trail_store_report *rep)
{
    int r = meta_read(s);
    if (r == -ENOENT || (r == TRAIL_E_CORRUPT && n > 0)) {
        if (n == 0) {
            if (!s->o.create || s->read_only)
                return TRAIL_E_NOT_FOUND;
            if ((r = random_bytes(s->store_id, 16)) < 0)
                return r;
            s->created_us = trail_now();
            return meta_write(s);
        }
        int was = r; /* what reading store.meta found: -ENOENT or TRAIL_E_CORRUPT */
        if ((r = id_from_segment(s, &f[0])) < 0)
            return r;
        store_report(rep, "store.meta: %s, rebuilt from the first segment's header",
                     was == -ENOENT ? "missing" : "damaged");
        if (!s->read_only && (r = meta_write(s)) < 0)
            return r;
        return 0;
    }
    return r < 0 ? r : 0;
}

/* A .seg beside its .open: sealing finished (remove the .open) or did not (redo it). */
static void settle_seals(struct trail_store *s, struct store_found *f, size_t n,
                         struct trail_store_report *rep)
{
    int removed = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(f[i].has_open && f[i].has_seg))
            continue;
        char path[4200];
        store_seg_path(s, f[i].first_seq, ".seg", path, sizeof(path));
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct seg_sealed ss = {0};
        int ok = fd >= 0 && seg_sealed_load(fd, &ss) == 0;
        seg_sealed_free(&ss);
        if (fd >= 0)
            close(fd);
        if (ok) {
            f[i].has_open = 0;
            if (!s->read_only) {
                store_seg_path(s, f[i].first_seq, ".open", path, sizeof(path));
                unlink(path);
                removed = 1;
                if (rep)
                    rep->leftovers++;
                store_report(rep, "seg-%016" PRIx64 ".open: sealed copy complete, removed",
                             f[i].first_seq);
            }
        } else {
            f[i].has_seg = 0;
            if (!s->read_only) {
                unlink(path);
                removed = 1;
                if (rep)
                    rep->resealed++;
                store_report(rep,
                             "seg-%016" PRIx64 ".seg: half-sealed, removed; sealing again "
                             "from the .open file",
                             f[i].first_seq);
            }
        }
    }
    if (removed)
        fsync(s->dir_fd);
}

/*
 * A damaged sealed segment with a later one: its run of seqs is known from
 * the file names, and the store goes on around it (docs/store.md,
 * "Damage"): quarantined with repair, otherwise known damage in the list.
 * load_r is what loading it said, bad_block the block whose CRC failed.
 */
static int around_damaged(struct trail_store *s, struct walk *w, size_t i, const char *name,
                          int load_r, long bad_block, struct trail_store_report *rep)
{
    const struct store_found *f = w->f;
    char why[160];
    int r;
    if (load_r < 0)
        snprintf(why, sizeof(why), "header, index or trailer fails its check (%s)",
                 trail_strerror(load_r));
    else
        snprintf(why, sizeof(why), "block %ld: CRC-32C does not match", bad_block);
    uint64_t last = f[i + 1].first_seq - 1;
    if (s->o.repair && !s->read_only) {
        if ((r = store_quarantine_segment(s, name, f[i].first_seq, last, why, rep)) < 0)
            return r;
        return SEG_DONE;
    }
    if (rep)
        rep->damaged++;
    store_report(rep,
                 "%s: sealed segment damaged (%s): seqs %" PRIu64 "..%" PRIu64 " cannot be read",
                 name, why, f[i].first_seq, last);
    if ((r = store_damage_add(s, f[i].first_seq, last, name, why, 0, 0)) < 0)
        return r;
    struct seg g = {.first_seq = f[i].first_seq,
                    .last_seq = last,
                    .sealed = 1,
                    .damaged = 1,
                    .min_time = INT64_MAX,
                    .max_time = INT64_MIN};
    if (seqs_gap(s, g.first_seq, w->prev_last)) {
        store_report(rep, "%s: starts at seq %" PRIu64 " but the segment before ends at %" PRIu64,
                     name, g.first_seq, w->prev_last);
        if (!s->read_only)
            return TRAIL_E_CORRUPT;
    }
    if ((r = store_segs_push(s, &g)) < 0)
        return r;
    w->prev_last = g.last_seq;
    return SEG_DONE;
}

/*
 * A .seg file (fd, closed here): its range and header into *g and *h; the
 * last one, for a writer, is hashed to carry the chain and the frontier.
 */
static int recover_sealed(struct trail_store *s, struct walk *w, size_t i, const char *name, int fd,
                          struct seg *g, struct seg_header *h, struct trail_store_report *rep)
{
    int is_last = i == w->n - 1;
    struct seg_sealed ss;
    int r = seg_sealed_load(fd, &ss);
    long bad_block = -1;
    if (r == 0 && s->o.repair && !s->read_only && !is_last &&
        (bad_block = store_blocks_check(fd, &ss)) == -2)
        r = -ENOMEM;
    if ((r < 0 || bad_block >= 0) && r != -ENOMEM && !is_last &&
        (s->read_only || s->o.allow_damaged || s->o.repair)) {
        if (r == 0)
            seg_sealed_free(&ss);
        close(fd);
        return around_damaged(s, w, i, name, r, bad_block, rep);
    }
    if (r < 0) {
        close(fd);
        if (rep)
            rep->damaged++;
        store_report(rep, "%s: sealed segment damaged (%s)", name, trail_strerror(r));
        if (s->read_only)
            return SEG_DONE;
        return r == -ENOMEM ? r : TRAIL_E_CORRUPT;
    }
    *h = ss.h;
    *g = (struct seg){.first_seq = ss.first_seq,
                      .last_seq = ss.last_seq,
                      .sealed = 1,
                      .bytes = ss.file_size,
                      .min_time = ss.min_time,
                      .max_time = ss.max_time,
                      .created_us = ss.h.created_us};
    if (is_last && !s->read_only)
        r = hash_sealed(fd, &ss, w->chain, &w->fr);
    seg_sealed_free(&ss);
    close(fd);
    if (r < 0) {
        store_report(rep, "%s: sealed segment damaged (%s)", name, trail_strerror(r));
        return r;
    }
    return 0;
}

/* Repair cut the segment at i: the later ones cannot follow it, they go to DIR/damaged/. */
static void move_later_aside(struct trail_store *s, const struct walk *w, size_t i,
                             struct trail_store_report *rep)
{
    const struct store_found *f = w->f;
    for (size_t j = i + 1; j < w->n; j++) {
        char later[64], from[4200], to[4200];
        snprintf(later, sizeof(later), "seg-%016" PRIx64 "%s", f[j].first_seq,
                 f[j].has_seg ? ".seg" : ".open");
        snprintf(from, sizeof(from), "%s/%s", s->dir, later);
        snprintf(to, sizeof(to), "%s/damaged/%s", s->dir, later);
        rename(from, to);
        store_report(rep, "%s: after a repaired segment, moved to damaged/", later);
    }
}

/*
 * An .open file (fd, closed here): its header into *h and its good frames
 * scanned into *g (the last one, for a writer, cut after its last good
 * frame and hashed to carry the chain and the frontier).
 */
static int recover_open(struct trail_store *s, struct walk *w, size_t i, const char *name,
                        const char *path, int fd, struct seg *g, struct seg_header *h,
                        struct trail_store_report *rep)
{
    int is_last = i == w->n - 1;
    int r = seg_header_read(fd, h);
    if (r < 0 && r != -ENOMEM && is_last && !s->read_only && header_torn(fd)) {
        /* the file was made but its header never reached the disk: no record in it
           was ever acknowledged */
        close(fd);
        unlink(path);
        fsync(s->dir_fd);
        store_report(rep, "%s: header incomplete (crash while creating it), removed", name);
        return SEG_RESTART;
    }
    if (r < 0) {
        close(fd);
        if (rep)
            rep->damaged++;
        store_report(rep, "%s: header damaged (%s)", name, trail_strerror(r));
        if (s->read_only)
            return SEG_DONE;
        return r == -ENOMEM ? r : TRAIL_E_CORRUPT;
    }
    r = scan_open(s, fd, name, g, is_last, is_last && !s->read_only, w->chain, &w->fr, rep);
    if (r == 1) {
        /* repair cut this segment: later ones cannot follow it */
        move_later_aside(s, w, i, rep);
        w->n = i + 1;
        is_last = 1;
        r = scan_open(s, fd, name, g, 1, 1, w->chain, &w->fr, rep);
    }
    close(fd);
    if (r < 0)
        return r;
    if (is_last) {
        w->last_open = 1;
        w->last_h = *h;
    }
    return 0;
}

/* The segment at i: checked, and pushed onto the segment list when it belongs there. */
static int recover_segment(struct trail_store *s, struct walk *w, size_t i,
                           struct trail_store_report *rep)
{
    const struct store_found *fi = &w->f[i];
    char name[64], path[4200];
    snprintf(name, sizeof(name), "seg-%016" PRIx64 "%s", fi->first_seq,
             fi->has_seg ? ".seg" : ".open");
    snprintf(path, sizeof(path), "%s/%s", s->dir, name);
    struct seg g = {0};
    struct seg_header h;
    int fd = open(path, (s->read_only || fi->has_seg ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int r = fi->has_seg ? recover_sealed(s, w, i, name, fd, &g, &h, rep)
                        : recover_open(s, w, i, name, path, fd, &g, &h, rep);
    if (r != 0)
        return r;
    if (memcmp(h.store_id, s->store_id, 16) != 0) {
        store_report(rep, "%s: belongs to another store (its store id differs)", name);
        if (rep)
            rep->damaged++;
        if (s->read_only)
            return SEG_DONE;
        return TRAIL_E_CORRUPT;
    }
    if (seqs_gap(s, g.first_seq, w->prev_last)) {
        store_report(rep, "%s: starts at seq %" PRIu64 " but the segment before ends at %" PRIu64,
                     name, g.first_seq, w->prev_last);
        if (rep)
            rep->damaged++;
        if (!s->read_only)
            return TRAIL_E_CORRUPT;
    }
    if ((r = store_segs_push(s, &g)) < 0)
        return r;
    w->prev_last = g.last_seq;
    return 0;
}

/* Where appending stands after recovery: the live and durable state, from the walk. */
static int set_live(struct trail_store *s, const struct walk *w, struct trail_store_report *rep)
{
    struct live *lv = &s->live;
    memset(lv, 0, sizeof(*lv));
    lv->next_seq = s->n_segs ? s->segs[s->n_segs - 1].last_seq + 1 : 1;
    memcpy(lv->chain, w->chain, TRAIL_HASH_LEN);
    lv->frontier = w->fr;
    lv->n_groups = (lv->next_seq - 1) / 256;
    lv->seg_min_time = INT64_MAX;
    lv->seg_max_time = INT64_MIN;
    if (w->last_open && s->n_segs) {
        const struct seg *g = &s->segs[s->n_segs - 1];
        lv->seg = w->last_h;
        lv->seg_exists = 1;
        lv->seg_bytes = g->data_end;
        lv->seg_min_time = g->min_time;
        lv->seg_max_time = g->max_time;
    }
    if (!s->read_only && (lv->next_seq - 1) != w->fr.size) {
        store_report(rep, "tree: %" PRIu64 " leaves rebuilt for %" PRIu64 " records", w->fr.size,
                     lv->next_seq - 1);
        return TRAIL_E_CORRUPT;
    }
    s->durable = *lv;
    s->reserve_next = lv->next_seq;
    s->durable_seq = s->written_seq = lv->next_seq - 1;
    s->first_seq = s->n_segs ? s->segs[0].first_seq : lv->next_seq;
    for (size_t i = 0; i < s->n_segs; i++)
        if (s->segs[i].max_time > s->last_time_us && s->segs[i].max_time != INT64_MIN)
            s->last_time_us = s->segs[i].max_time;
    if (rep) {
        rep->segments = s->n_segs;
        rep->records = s->n_segs ? lv->next_seq - s->first_seq : 0;
    }
    return 0;
}

int store_recover(struct trail_store *s, struct trail_store_report *rep)
{
    struct walk w = {0};
    int r = store_list_segments(s, &w.f, &w.n, rep);
    if (r < 0)
        return r;
    if ((r = meta_recover(s, w.f, w.n, rep)) < 0)
        goto out;
    settle_seals(s, w.f, w.n, rep);
    /* runs an earlier repair quarantined: a gap there is known, not new damage */
    if ((r = store_quarantine_load(s)) < 0)
        goto out;
    frontier_init(&w.fr);
    for (size_t i = 0; i < w.n; i++) {
        r = recover_segment(s, &w, i, rep);
        if (r == SEG_RESTART) {
            /* the segment before is the last one now: start over without this file */
            free(w.f);
            s->n_segs = 0;
            return store_recover(s, rep);
        }
        if (r < 0)
            goto out;
    }
    r = set_live(s, &w, rep);
out:
    free(w.f);
    return r;
}
