/*
 * store.c - the store's life: open and recovery, appends with group commit
 * (the flusher thread), durability waits, rolling, background sealing (the
 * sealer thread), statistics and close.
 *
 * Not here: the record bytes (record.c), the file formats (segment.c),
 * reading (store_iter.c), tree.roots, subtree hashes and anchors
 * (store_tree.c), retention (store_purge.c).
 *
 * Concurrency. One mutex (s->lock) covers the append path: an append call
 * encodes, hashes and copies its whole batch into the current batch buffer
 * under it, once per call. The flusher swaps that buffer for an empty one
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

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/ioprio.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#define META_LEN          64
#define META_MAGIC        "TRAILSTO"
#define META_VERSION      1
#define REFUSE_US         100000 /* appends fail fast this long after a failed flush */
#define DEFAULT_LEVEL     6
#define KEEP_CACHED_BYTES (256u << 20) /* unsealed data left in the page cache for the sealer */

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

/* The index's hooks: none until lib/query registers them (store.h). */
static _Atomic(const struct store_index_hooks *) index_hooks;

void store_index_hooks_set(const struct store_index_hooks *hooks)
{
    atomic_store_explicit(&index_hooks, hooks, memory_order_release);
}

static void index_hook_sealed(struct trail_store *s, uint64_t first_seq)
{
    const struct store_index_hooks *h = atomic_load_explicit(&index_hooks, memory_order_acquire);
    if (h)
        h->on_sealed(s, first_seq);
}

static void index_hook_sweep(struct trail_store *s)
{
    const struct store_index_hooks *h = atomic_load_explicit(&index_hooks, memory_order_acquire);
    if (h)
        h->sweep(s);
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

static int write_at(struct trail_store *s, int fd, const void *buf, size_t n, uint64_t off)
{
    int r = store_fault(s, TRAIL_STORE_OP_WRITE, fd);
    return r < 0 ? r : io_pwrite_full(fd, buf, n, off);
}

static int sync_fd(struct trail_store *s, int fd)
{
    int r = store_fault(s, TRAIL_STORE_OP_SYNC, fd);
    if (r < 0)
        return r;
    return fdatasync(fd) < 0 ? -errno : 0;
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int store_frontier_push(struct trail_frontier *f, const uint8_t leaf[TRAIL_HASH_LEN],
                        uint8_t group_root[TRAIL_HASH_LEN], int *ret_group_done)
{
    /* frontier_append's merge, watching for the 8th merge: that hash is the
       root of the 256-leaf group just completed (no extra hashing) */
    uint8_t carry[TRAIL_HASH_LEN];
    unsigned k = 0;
    memcpy(carry, leaf, TRAIL_HASH_LEN);
    *ret_group_done = 0;
    while (f->size & ((uint64_t)1 << k)) {
        int r = trail_hash_node(f->nodes[k], carry, carry);
        if (r < 0)
            return r;
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

/* ---- the segment list ---- */

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

static int segs_push(struct trail_store *s, const struct seg *g)
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
            if (len > raw.len - off - TRAIL_FRAME_HEAD || crc32c(0, p + 8, len) != get_u32(p + 4)) {
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

static int recover(struct trail_store *s, struct trail_store_report *rep)
{
    struct store_found *f = NULL;
    size_t n = 0;
    int r = store_list_segments(s, &f, &n, rep);
    if (r < 0)
        return r;
    r = meta_read(s);
    if (r == -ENOENT || (r == TRAIL_E_CORRUPT && n > 0)) {
        if (n == 0) {
            if (!s->o.create || s->read_only) {
                r = TRAIL_E_NOT_FOUND;
                goto out;
            }
            if ((r = random_bytes(s->store_id, 16)) < 0)
                goto out;
            s->created_us = trail_now();
            if ((r = meta_write(s)) < 0)
                goto out;
        } else {
            if ((r = id_from_segment(s, &f[0])) < 0)
                goto out;
            store_report(rep, "store.meta: %s, rebuilt from the first segment's header",
                         r == -ENOENT ? "missing" : "damaged");
            if (!s->read_only && (r = meta_write(s)) < 0)
                goto out;
        }
    } else if (r < 0) {
        goto out;
    }

    /* a .seg beside its .open: sealing finished (remove the .open) or did not (redo it) */
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

    /* runs an earlier repair quarantined: a gap there is known, not new damage */
    if ((r = store_quarantine_load(s)) < 0)
        goto out;

    uint8_t chain[TRAIL_HASH_LEN] = {0};
    struct trail_frontier fr;
    frontier_init(&fr);
    struct seg_header last_h = {0};
    int last_open = 0;
    uint64_t prev_last = 0;
    for (size_t i = 0; i < n; i++) {
        int is_last = i == n - 1;
        char name[64], path[4200];
        snprintf(name, sizeof(name), "seg-%016" PRIx64 "%s", f[i].first_seq,
                 f[i].has_seg ? ".seg" : ".open");
        snprintf(path, sizeof(path), "%s/%s", s->dir, name);
        struct seg g = {0};
        int fd = open(path, (s->read_only || f[i].has_seg ? O_RDONLY : O_RDWR) | O_CLOEXEC);
        if (fd < 0) {
            r = -errno;
            goto out;
        }
        struct seg_header h;
        if (f[i].has_seg) {
            struct seg_sealed ss;
            r = seg_sealed_load(fd, &ss);
            long bad_block = -1;
            if (r == 0 && s->o.repair && !s->read_only && !is_last &&
                (bad_block = store_blocks_check(fd, &ss)) == -2)
                r = -ENOMEM;
            if ((r < 0 || bad_block >= 0) && r != -ENOMEM && !is_last &&
                (s->read_only || s->o.allow_damaged || s->o.repair)) {
                /* a damaged sealed segment with a later one: its run of seqs is known from
                   the file names, and the store goes on around it (docs/store.md, "Damage") */
                char why[160];
                if (r < 0)
                    snprintf(why, sizeof(why), "header, index or trailer fails its check (%s)",
                             trail_strerror(r));
                else
                    snprintf(why, sizeof(why), "block %ld: CRC-32C does not match", bad_block);
                uint64_t last = f[i + 1].first_seq - 1;
                if (r == 0)
                    seg_sealed_free(&ss);
                close(fd);
                if (s->o.repair && !s->read_only) {
                    if ((r = store_quarantine_segment(s, name, f[i].first_seq, last, why, rep)) < 0)
                        goto out;
                    continue;
                }
                if (rep)
                    rep->damaged++;
                store_report(rep,
                             "%s: sealed segment damaged (%s): seqs %" PRIu64 "..%" PRIu64
                             " cannot be read",
                             name, why, f[i].first_seq, last);
                if ((r = store_damage_add(s, f[i].first_seq, last, name, why, 0, 0)) < 0)
                    goto out;
                g = (struct seg){.first_seq = f[i].first_seq,
                                 .last_seq = last,
                                 .sealed = 1,
                                 .damaged = 1,
                                 .min_time = INT64_MAX,
                                 .max_time = INT64_MIN};
                if (seqs_gap(s, g.first_seq, prev_last)) {
                    store_report(rep,
                                 "%s: starts at seq %" PRIu64 " but the segment before ends at "
                                 "%" PRIu64,
                                 name, g.first_seq, prev_last);
                    if (!s->read_only) {
                        r = TRAIL_E_CORRUPT;
                        goto out;
                    }
                }
                if ((r = segs_push(s, &g)) < 0)
                    goto out;
                prev_last = g.last_seq;
                continue;
            }
            if (r < 0) {
                close(fd);
                if (rep)
                    rep->damaged++;
                store_report(rep, "%s: sealed segment damaged (%s)", name, trail_strerror(r));
                if (s->read_only)
                    continue;
                r = r == -ENOMEM ? r : TRAIL_E_CORRUPT;
                goto out;
            }
            h = ss.h;
            g = (struct seg){.first_seq = ss.first_seq,
                             .last_seq = ss.last_seq,
                             .sealed = 1,
                             .bytes = ss.file_size,
                             .min_time = ss.min_time,
                             .max_time = ss.max_time,
                             .created_us = ss.h.created_us};
            if (is_last && !s->read_only)
                r = hash_sealed(fd, &ss, chain, &fr);
            seg_sealed_free(&ss);
            close(fd);
            if (r < 0) {
                store_report(rep, "%s: sealed segment damaged (%s)", name, trail_strerror(r));
                goto out;
            }
        } else {
            r = seg_header_read(fd, &h);
            if (r < 0 && r != -ENOMEM && is_last && !s->read_only && header_torn(fd)) {
                /* the file was made but its header never reached the disk: no record in it
                   was ever acknowledged */
                close(fd);
                unlink(path);
                fsync(s->dir_fd);
                store_report(rep, "%s: header incomplete (crash while creating it), removed", name);
                /* the segment before is the last one now: start over without this file */
                free(f);
                s->n_segs = 0;
                return recover(s, rep);
            }
            if (r < 0) {
                close(fd);
                if (rep)
                    rep->damaged++;
                store_report(rep, "%s: header damaged (%s)", name, trail_strerror(r));
                if (s->read_only)
                    continue;
                r = r == -ENOMEM ? r : TRAIL_E_CORRUPT;
                goto out;
            }
            r = scan_open(s, fd, name, &g, is_last, is_last && !s->read_only, chain, &fr, rep);
            if (r == 1) {
                /* repair cut this segment: later ones cannot follow it */
                for (size_t j = i + 1; j < n; j++) {
                    char later[64], from[4200], to[4200];
                    snprintf(later, sizeof(later), "seg-%016" PRIx64 "%s", f[j].first_seq,
                             f[j].has_seg ? ".seg" : ".open");
                    snprintf(from, sizeof(from), "%s/%s", s->dir, later);
                    snprintf(to, sizeof(to), "%s/damaged/%s", s->dir, later);
                    rename(from, to);
                    store_report(rep, "%s: after a repaired segment, moved to damaged/", later);
                }
                n = i + 1;
                is_last = 1;
                r = scan_open(s, fd, name, &g, 1, 1, chain, &fr, rep);
            }
            close(fd);
            if (r < 0)
                goto out;
            if (is_last) {
                last_open = 1;
                last_h = h;
            }
        }
        if (memcmp(h.store_id, s->store_id, 16) != 0) {
            store_report(rep, "%s: belongs to another store (its store id differs)", name);
            if (rep)
                rep->damaged++;
            if (s->read_only)
                continue;
            r = TRAIL_E_CORRUPT;
            goto out;
        }
        if (seqs_gap(s, g.first_seq, prev_last)) {
            store_report(rep,
                         "%s: starts at seq %" PRIu64 " but the segment before ends at %" PRIu64,
                         name, g.first_seq, prev_last);
            if (rep)
                rep->damaged++;
            if (!s->read_only) {
                r = TRAIL_E_CORRUPT;
                goto out;
            }
        }
        if ((r = segs_push(s, &g)) < 0)
            goto out;
        prev_last = g.last_seq;
    }

    struct live *lv = &s->live;
    memset(lv, 0, sizeof(*lv));
    lv->next_seq = s->n_segs ? s->segs[s->n_segs - 1].last_seq + 1 : 1;
    memcpy(lv->chain, chain, TRAIL_HASH_LEN);
    lv->frontier = fr;
    lv->n_groups = (lv->next_seq - 1) / 256;
    lv->seg_min_time = INT64_MAX;
    lv->seg_max_time = INT64_MIN;
    if (last_open && s->n_segs) {
        const struct seg *g = &s->segs[s->n_segs - 1];
        lv->seg = last_h;
        lv->seg_exists = 1;
        lv->seg_bytes = g->data_end;
        lv->seg_min_time = g->min_time;
        lv->seg_max_time = g->max_time;
    }
    if (!s->read_only && (lv->next_seq - 1) != fr.size) {
        store_report(rep, "tree: %" PRIu64 " leaves rebuilt for %" PRIu64 " records", fr.size,
                     lv->next_seq - 1);
        r = TRAIL_E_CORRUPT;
        goto out;
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
    r = 0;
out:
    free(f);
    return r;
}

/* ---- the store's own files ---- */

/*
 * A writer holds the active segment, tree.roots and checkpoints open and
 * writes through those descriptors. Removed or replaced behind its back, it
 * would go on writing to a file nobody can read again and acknowledge what
 * it wrote (the records vanish at the next start). So the flusher checks,
 * at every flush before anything is acknowledged, at every roll before the
 * old segment is closed, and once a second when idle, that each name in DIR
 * still is the file it holds (same device and inode, still linked) and
 * that DIR still is the directory it opened (each flush checks only the
 * segment its records went to: two system calls, where the full check
 * costs about 20 µs on a VM). A finding stops the store for
 * good (TRAIL_E_TAMPERED; trail_store_tampered() says what), and what the
 * descriptors still hold is copied to a fresh NAME.rescued-<unix time>.
 */

#define CHECK_EVERY_US 1000000

/*
 * Copy the first limit bytes (UINT64_MAX: all) that fd holds into a new
 * file DIR/name (made with O_EXCL: never over another), synced. 0 or -errno.
 */
static int copy_out(struct trail_store *s, int fd, uint64_t limit, const char *name)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    uint64_t size = (uint64_t)st.st_size < limit ? (uint64_t)st.st_size : limit;
    int out = openat(s->dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (out < 0) {
        /* the directory we hold may be gone: the path may name a new one */
        char path[4200];
        snprintf(path, sizeof(path), "%s/%s", s->dir, name);
        out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
        if (out < 0)
            return -errno;
    }
    char buf[65536];
    int r = 0;
    for (uint64_t off = 0; off < size && r == 0;) {
        size_t want = size - off < sizeof(buf) ? (size_t)(size - off) : sizeof(buf);
        ssize_t n = pread(fd, buf, want, (off_t)off);
        if (n <= 0) {
            r = n < 0 ? -errno : -EIO;
            break;
        }
        r = write_at(s, out, buf, (size_t)n, off);
        off += (uint64_t)n;
    }
    if (r == 0 && fsync(out) < 0)
        r = -errno;
    close(out);
    fsync(s->dir_fd);
    return r;
}

/* Whether DIR/name is still the file fd: 0, or TRAIL_E_TAMPERED and why. */
static int same_file(struct trail_store *s, int fd, const char *name, char *why, size_t len)
{
    struct stat held, now;
    if (fd < 0 || fstat(fd, &held) < 0)
        return 0;
    if (fstatat(s->dir_fd, name, &now, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno != ENOENT && held.st_nlink > 0)
            return 0; /* cannot tell (EACCES, EIO): not a finding */
        snprintf(why, len, "%s was removed or renamed while open", name);
        return TRAIL_E_TAMPERED;
    }
    if (held.st_nlink == 0 || now.st_dev != held.st_dev || now.st_ino != held.st_ino) {
        snprintf(why, len, "%s was replaced by another file while open", name);
        return TRAIL_E_TAMPERED;
    }
    return 0;
}

/*
 * The active segment's acknowledged part: its size at the last durable
 * state when it is that state's segment; 0 when nothing in it was
 * acknowledged yet. Flusher only.
 */
static uint64_t acked_bytes(const struct trail_store *s)
{
    const struct live *d = &s->durable;
    return d->seg_exists && d->seg.first_seq == s->active_first ? d->seg_bytes : 0;
}

/*
 * Check the files the writer holds (flusher only): with full, every one and
 * the directory; else the active segment only. 0 when intact; else the
 * store stops (TRAIL_E_TAMPERED from now on), each finding and its rescued
 * copy said in tamper_reason.
 */
static int guard(struct trail_store *s, int full)
{
    if (__atomic_load_n(&s->tampered, __ATOMIC_ACQUIRE))
        return TRAIL_E_TAMPERED;
    char reason[sizeof(s->tamper_reason)] = "", why[300], seg[64], copy[128];
    int found = 0;
    long long t = (long long)(trail_now() / 1000000);
    struct stat held, now;
    if (full && fstat(s->dir_fd, &held) == 0 &&
        (stat(s->dir, &now) < 0 ? errno == ENOENT || errno == ENOTDIR
                                : now.st_ino != held.st_ino || now.st_dev != held.st_dev)) {
        snprintf(reason, sizeof(reason), "the store directory %s was removed, renamed or replaced",
                 s->dir);
        found = 1;
    }
    snprintf(seg, sizeof(seg), "seg-%016" PRIx64 ".open", s->active_first);
    const struct {
        int fd;
        const char *name;
        uint64_t limit;
    } held_files[] = {
        {s->active_fd, seg, s->active_fd >= 0 ? acked_bytes(s) : 0},
        {s->roots_fd, "tree.roots", UINT64_MAX},
        {store_checkpoint_fd(s), "checkpoints", UINT64_MAX},
    };
    /* each flush checks the file its records go to (two system calls); the rest once a
       second and at rolls (about 20 µs on a VM) */
    for (size_t i = 0; i < (full ? TRAIL_ARRAY_SIZE(held_files) : 1); i++) {
        if (same_file(s, held_files[i].fd, held_files[i].name, why, sizeof(why)) == 0)
            continue;
        found = 1;
        size_t used = strlen(reason);
        snprintf(copy, sizeof(copy), "%s.rescued-%lld", held_files[i].name, t);
        int r = held_files[i].limit ? copy_out(s, held_files[i].fd, held_files[i].limit, copy) : 1;
        snprintf(reason + used, sizeof(reason) - used, "%s%s%s%s%s", used ? "; " : "", why,
                 r == 0  ? " (what it held is copied to "
                 : r > 0 ? " (it held nothing acknowledged"
                         : " (cannot copy what it held: ",
                 r == 0  ? copy
                 : r > 0 ? ""
                         : strerror(-r),
                 ")");
    }
    if (!found)
        return 0;
    pthread_mutex_lock(&s->lock);
    snprintf(s->tamper_reason, sizeof(s->tamper_reason), "%s", reason);
    s->tamper_seq = s->durable_seq;
    __atomic_store_n(&s->tampered, TRAIL_E_TAMPERED, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&s->room_cv);
    pthread_mutex_unlock(&s->lock);
    return TRAIL_E_TAMPERED;
}

int trail_store_tampered(struct trail_store *s, char *reason, size_t reason_size, uint64_t *ret_seq)
{
    if (!__atomic_load_n(&s->tampered, __ATOMIC_ACQUIRE))
        return 0;
    pthread_mutex_lock(&s->lock);
    if (reason && reason_size)
        snprintf(reason, reason_size, "%s", s->tamper_reason);
    if (ret_seq)
        *ret_seq = s->tamper_seq;
    pthread_mutex_unlock(&s->lock);
    return TRAIL_E_TAMPERED;
}

/* ---- batches ---- */

static void batch_reset(struct batch *b)
{
    b->data.len = 0;
    b->n_rolls = 0;
    b->n_groups = 0;
    b->first_seq = 0;
    b->last_seq = 0;
}

static void batch_free(struct batch *b)
{
    if (!b)
        return;
    trail_buf_free(&b->data);
    free(b->rolls);
    free(b->groups);
    free(b);
}

static int batch_reserve(struct batch *b, size_t bytes, size_t rolls, size_t groups)
{
    int r = trail_buf_reserve(&b->data, bytes);
    if (r < 0)
        return r;
    if (b->cap_rolls - b->n_rolls < rolls) {
        size_t cap = b->n_rolls + rolls + 4;
        struct roll *p = realloc(b->rolls, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        b->rolls = p;
        b->cap_rolls = cap;
    }
    if (b->cap_groups - b->n_groups < groups) {
        size_t cap = (b->n_groups + groups) * 2 + 8;
        uint8_t(*p)[TRAIL_HASH_LEN] = realloc(b->groups, cap * TRAIL_HASH_LEN);
        if (!p)
            return -ENOMEM;
        b->groups = p;
        b->cap_groups = cap;
    }
    return 0;
}

/* ---- the flusher ---- */

/*
 * When the sealer falls behind (rolled segments of more than
 * KEEP_CACHED_BYTES wait for it), synced segment data leaves the page cache: the pages are reused
 * for the next writes instead of new ones being taken (on a VM a never-touched page costs several
 * times a reused one), and a store that takes hundreds of MB/s does not push everything else out of
 * memory. Readers read it back from the disk. While the sealer keeps up, the pages stay, so that
 * sealing reads them from memory instead of competing with the appends' syncs for the disk; they go
 * when the sealed segment's .open file is removed. The last partial page stays (it is written
 * again).
 */
static void drop_synced(struct trail_store *s, int fd, uint64_t upto)
{
    uint64_t end = upto & ~(uint64_t)4095;
    uint64_t backlog = (uint64_t)__atomic_load_n(&s->seal_backlog, __ATOMIC_RELAXED);
    if (!s->o.no_seal && backlog * s->o.segment_max_bytes <= KEEP_CACHED_BYTES)
        return;
    if (end > s->dropped_off)
        posix_fadvise(fd, (off_t)s->dropped_off, (off_t)(end - s->dropped_off),
                      POSIX_FADV_DONTNEED);
    s->dropped_off = end;
}

/* Write one batch: frames, and new segment files where it rolls. */
static int write_batch(struct trail_store *s, struct batch *b, uint64_t *created, size_t *n_created)
{
    int sync = s->o.fsync_policy != TRAIL_FSYNC_NEVER;
    size_t pos = 0;
    int r;
    *n_created = 0;
    if (s->trunc_pending && s->active_fd >= 0) {
        if (ftruncate(s->active_fd, (off_t)s->active_off) < 0)
            return -errno;
        s->trunc_pending = 0;
    }
    for (size_t i = 0; i <= b->n_rolls; i++) {
        size_t upto = i < b->n_rolls ? b->rolls[i].at : b->data.len;
        if (upto > pos) {
            if (s->active_fd < 0)
                return -EBADF; /* frames before any segment: cannot happen */
            r = write_at(s, s->active_fd, b->data.data + pos, upto - pos, s->active_off);
            if (r < 0)
                return r;
            s->active_off += upto - pos;
            pos = upto;
        }
        if (i == b->n_rolls)
            break;
        if (s->active_fd >= 0) {
            /* the segment about to be closed must still be the one in DIR */
            if ((r = guard(s, 1)) < 0)
                return r;
            if (sync && (r = sync_fd(s, s->active_fd)) < 0)
                return r;
            if (sync)
                drop_synced(s, s->active_fd, s->active_off + 4095);
            close(s->active_fd);
            s->active_fd = -1;
        }
        const struct roll *rl = &b->rolls[i];
        char path[4200];
        uint8_t hdr[TRAIL_SEG_HEADER_MAX];
        store_seg_path(s, rl->h.first_seq, ".open", path, sizeof(path));
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
        if (fd < 0)
            return -errno;
        created[(*n_created)++] = rl->h.first_seq;
        s->active_fd = fd;
        s->active_first = rl->h.first_seq;
        size_t hlen = seg_header_encode(&rl->h, hdr);
        r = write_at(s, fd, hdr, hlen, 0);
        if (r < 0)
            return r;
        s->active_off = hlen;
        s->dropped_off = 0;
        if (sync && ((r = sync_fd(s, fd)) < 0 || (r = store_fsync_dir(s)) < 0))
            return r;
    }
    if (sync && s->active_fd >= 0) {
        if ((r = sync_fd(s, s->active_fd)) < 0)
            return r;
        drop_synced(s, s->active_fd, s->active_off);
    }
    return 0;
}

/* After a failed flush: the files back to the last durable state. */
static void undo_files(struct trail_store *s, const uint64_t *created, size_t n_created)
{
    const struct live *d = &s->durable;
    for (size_t i = 0; i < n_created; i++) {
        char path[4200];
        if (s->active_fd >= 0 && s->active_first == created[i]) {
            close(s->active_fd);
            s->active_fd = -1;
        }
        store_seg_path(s, created[i], ".open", path, sizeof(path));
        unlink(path);
    }
    if (n_created)
        fsync(s->dir_fd);
    if (s->active_fd < 0 && d->seg_exists) {
        char path[4200];
        store_seg_path(s, d->seg.first_seq, ".open", path, sizeof(path));
        s->active_fd = open(path, O_RDWR | O_CLOEXEC);
        s->active_first = d->seg.first_seq;
    }
    s->active_off = d->seg_bytes;
    if (s->active_fd >= 0 && ftruncate(s->active_fd, (off_t)d->seg_bytes) < 0)
        s->trunc_pending = 1;
}

/* The segment list after a good flush of b, whose end state is end. */
static void segs_after_flush(struct trail_store *s, const struct batch *b, const struct live *end)
{
    int kick = 0;
    pthread_mutex_lock(&s->seg_lock);
    for (size_t i = 0; i < b->n_rolls; i++) {
        const struct roll *rl = &b->rolls[i];
        if (s->n_segs > 0) {
            struct seg *prev = &s->segs[s->n_segs - 1];
            if (!prev->sealed && prev->first_seq < rl->h.first_seq) {
                prev->last_seq = rl->h.first_seq - 1;
                prev->bytes = prev->data_end = rl->prev_bytes;
                prev->min_time = rl->prev_min_time;
                prev->max_time = rl->prev_max_time;
                __atomic_store_n(&s->seal_backlog, s->seal_backlog + 1, __ATOMIC_RELAXED);
                kick = 1;
            }
        }
        struct seg g = {.first_seq = rl->h.first_seq,
                        .last_seq = rl->h.first_seq - 1,
                        .bytes = rl->h.header_len,
                        .data_end = rl->h.header_len,
                        .min_time = INT64_MAX,
                        .max_time = INT64_MIN,
                        .created_us = rl->h.created_us};
        if (segs_push(s, &g) < 0)
            break; /* readers then see less until the next open; nothing is lost */
    }
    if (s->n_segs > 0 && end->seg_exists) {
        struct seg *a = &s->segs[s->n_segs - 1];
        if (a->first_seq == end->seg.first_seq) {
            a->last_seq = end->next_seq - 1;
            a->bytes = a->data_end = end->seg_bytes;
            a->min_time = end->seg_min_time;
            a->max_time = end->seg_max_time;
        }
    }
    pthread_mutex_unlock(&s->seg_lock);
    if (kick && !s->o.no_seal) {
        pthread_mutex_lock(&s->seal_lock);
        s->seal_kick = 1;
        pthread_cond_signal(&s->seal_cv);
        pthread_mutex_unlock(&s->seal_lock);
    }
}

static void run_checkpoint(struct trail_store *s)
{
    struct trail_store_state st;
    if (trail_store_state(s, &st) < 0)
        return;
    if (st.tree_size == s->last_checkpoint_seq)
        return;
    /* the store's own signed checkpoint first (DIR/checkpoints), then the hook, which
       runs even when the first failed; the first error is kept */
    int r = store_checkpoint_write(s, &st);
    if (s->o.checkpoint) {
        int rh = s->o.checkpoint(s->o.checkpoint_arg, s, &st);
        if (r == 0)
            r = rh;
    }
    s->checkpoint_error = r;
    s->last_checkpoint_seq = st.tree_size;
    s->last_checkpoint_us = mono_us();
}

static void *flusher_main(void *arg)
{
    struct trail_store *s = arg;
    struct batch *b = s->spare;
    struct live *end = malloc(sizeof(*end));
    uint64_t created[64];
    int64_t interval_us = (int64_t)s->o.fsync_interval_ms * 1000;
    int64_t next_flush = mono_us() + interval_us;
    int always = s->o.fsync_policy == TRAIL_FSYNC_ALWAYS;

    s->spare = NULL;
    pthread_mutex_lock(&s->lock);
    s->next_check_us = mono_us() + CHECK_EVERY_US;
    for (;;) {
        if (always) {
            while (!s->closing && s->cur->data.len == 0 && !s->flush_now &&
                   mono_us() < s->next_check_us) {
                s->flusher_waiting = 1;
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                int64_t wait_us = s->next_check_us - mono_us();
                ts.tv_sec += wait_us / 1000000;
                ts.tv_nsec += (wait_us % 1000000) * 1000;
                if (ts.tv_nsec >= 1000000000) {
                    ts.tv_sec++;
                    ts.tv_nsec -= 1000000000;
                }
                pthread_cond_timedwait(&s->flush_cv, &s->lock, &ts);
                s->flusher_waiting = 0;
            }
        } else {
            while (!s->closing && !s->flush_now) {
                int64_t now = mono_us();
                if (now >= next_flush) {
                    if (s->cur->data.len > 0)
                        break;
                    next_flush = now + interval_us;
                }
                if (now >= s->next_check_us)
                    break;
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                int64_t wait_us =
                    (next_flush < s->next_check_us ? next_flush : s->next_check_us) - now;
                ts.tv_sec += wait_us / 1000000;
                ts.tv_nsec += (wait_us % 1000000) * 1000;
                if (ts.tv_nsec >= 1000000000) {
                    ts.tv_sec++;
                    ts.tv_nsec -= 1000000000;
                }
                pthread_cond_timedwait(&s->flush_cv, &s->lock, &ts);
            }
            /* a fixed cadence: the time a flush takes counts toward the next interval */
            next_flush += interval_us;
            if (next_flush < mono_us())
                next_flush = mono_us();
        }
        s->flush_now = 0;
        if (mono_us() >= s->next_check_us) {
            /* idle too: a file removed now is found before the next event comes */
            s->next_check_us = mono_us() + CHECK_EVERY_US;
            pthread_mutex_unlock(&s->lock);
            guard(s, 1);
            pthread_mutex_lock(&s->lock);
        }
        if (s->cur->data.len == 0) {
            if (s->closing && s->in_flight == 0)
                break;
            if (s->closing)
                pthread_cond_wait(&s->flush_cv, &s->lock);
            continue;
        }
        struct batch *full = s->cur;
        s->cur = b;
        b = full;
        if (end)
            *end = s->live;
        pthread_cond_broadcast(&s->room_cv);
        pthread_mutex_unlock(&s->lock);

        size_t n_created = 0;
        int r = end ? 0 : -ENOMEM;
        if (r == 0 && b->n_rolls > TRAIL_ARRAY_SIZE(created))
            r = -E2BIG; /* more than 64 segments in one flush: segment_max_bytes too small */
        if (r == 0 && __atomic_load_n(&s->tampered, __ATOMIC_ACQUIRE))
            r = TRAIL_E_TAMPERED; /* appended before the finding: written nowhere */
        if (r == 0)
            r = write_batch(s, b, created, &n_created);
        if (r == 0)
            r = guard(s, 0); /* nothing is acknowledged from a file that is gone */
        if (r == 0) {
            segs_after_flush(s, b, end);
            if (b->n_groups && !s->roots_broken &&
                store_roots_write(s, (const uint8_t(*)[TRAIL_HASH_LEN])b->groups, b->n_groups,
                                  end->n_groups - b->n_groups) < 0)
                s->roots_broken = 1;
        } else {
            undo_files(s, created, n_created);
        }

        pthread_mutex_lock(&s->lock);
        if (r == 0) {
            s->durable = *end;
            /* atomic: readers poll it without the lock (trail_store_durable_seq) */
            __atomic_store_n(&s->durable_seq, b->last_seq, __ATOMIC_RELEASE);
            s->written_seq = b->last_seq;
            s->durable_time_us = trail_now();
            s->error = 0;
        } else {
            s->live = s->durable;
            s->reserve_next = s->durable.next_seq;
            batch_reset(s->cur);
            pthread_cond_broadcast(&s->turn_cv);
            s->fail_gen++;
            s->fail_floor[s->fail_gen % 64] = s->durable_seq;
            if (s->dedup)
                store_dedup_forget_after(s->dedup, s->durable_seq); /* those seqs are void */
            s->fail_err[s->fail_gen % 64] = r;
            s->error = r;
            s->refuse_until_us = mono_us() + REFUSE_US;
            pthread_cond_broadcast(&s->room_cv);
        }
        pthread_cond_broadcast(&s->durable_cv);
        batch_reset(b);
        if (b->data.cap > (32u << 20)) /* a burst's buffer goes back; the usual one stays */
            trail_buf_free(&b->data);
        if (r == 0 && (s->o.checkpoint || s->cp_signing) &&
            (s->durable_seq - s->last_checkpoint_seq >= s->o.checkpoint_every_events ||
             mono_us() - s->last_checkpoint_us >= (int64_t)s->o.checkpoint_every_ms * 1000)) {
            pthread_mutex_unlock(&s->lock);
            run_checkpoint(s);
            pthread_mutex_lock(&s->lock);
        }
    }
    pthread_mutex_unlock(&s->lock);
    /* closing: NEVER made nothing durable on its own; close does */
    if (s->o.fsync_policy == TRAIL_FSYNC_NEVER && s->active_fd >= 0)
        fdatasync(s->active_fd);
    if (s->o.checkpoint || s->cp_signing)
        run_checkpoint(s);
    pthread_mutex_lock(&s->lock);
    s->spare = b;
    s->flusher_done = 1;
    pthread_cond_broadcast(&s->durable_cv);
    pthread_mutex_unlock(&s->lock);
    free(end);
    return NULL;
}

/* ---- the sealer ---- */

static int seal_one(struct trail_store *s, const struct seg *g, uint64_t next_first)
{
    char open_path[4200], tmp_path[4200], seg_path[4200];
    struct seg_sealed ss = {0};
    struct seg_header h, nh;
    int src = -1, dst = -1, r;

    store_seg_path(s, g->first_seq, ".open", open_path, sizeof(open_path));
    store_seg_path(s, g->first_seq, ".seg.tmp", tmp_path, sizeof(tmp_path));
    store_seg_path(s, g->first_seq, ".seg", seg_path, sizeof(seg_path));
    /* the chain head after this segment is the next segment's starting state */
    char next_path[4200];
    store_seg_path(s, next_first, ".open", next_path, sizeof(next_path));
    int nfd = open(next_path, O_RDONLY | O_CLOEXEC);
    if (nfd < 0) {
        store_seg_path(s, next_first, ".seg", next_path, sizeof(next_path));
        nfd = open(next_path, O_RDONLY | O_CLOEXEC);
    }
    if (nfd < 0)
        return -errno;
    r = seg_header_read(nfd, &nh);
    close(nfd);
    if (r < 0)
        return r;
    if (nh.first_seq != g->last_seq + 1)
        return TRAIL_E_CORRUPT;
    memcpy(ss.chain_end, nh.chain, TRAIL_HASH_LEN);

    src = open(open_path, O_RDONLY | O_CLOEXEC);
    if (src < 0)
        return -errno;
    if ((r = seg_header_read(src, &h)) < 0)
        goto out;
    dst = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (dst < 0) {
        r = -errno;
        goto out;
    }
    r = seg_seal(src, &h, g->data_end, dst, s->o.block_bytes, s->o.zstd_level, &ss);
    if (r < 0)
        goto out;
    if (ss.last_seq != g->last_seq) {
        r = TRAIL_E_CORRUPT;
        goto out;
    }
    if (rename(tmp_path, seg_path) < 0) {
        r = -errno;
        goto out;
    }
    fsync(s->dir_fd);
    pthread_mutex_lock(&s->seg_lock);
    long i = store_segs_find(s, g->first_seq);
    if (i >= 0 && s->segs[i].first_seq == g->first_seq) {
        s->segs[i].sealed = 1;
        s->segs[i].bytes = ss.file_size;
        if (s->seal_backlog > 0)
            __atomic_store_n(&s->seal_backlog, s->seal_backlog - 1, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&s->seg_lock);
    unlink(open_path);
    fsync(s->dir_fd);
    r = 0;
out:
    if (r < 0 && dst >= 0)
        unlink(tmp_path);
    if (dst >= 0)
        close(dst);
    if (src >= 0)
        close(src);
    seg_sealed_free(&ss);
    return r;
}

/*
 * Sealing (compression and the query index) is catch-up work: it runs only on
 * CPU time nothing else wants (SCHED_IDLE, else the lowest nice value), and
 * its reads and writes go to the disk when nothing else waits for it (the
 * idle I/O class, where the I/O scheduler has classes), so that it never
 * slows appends, their syncs or the daemon's inputs. Under a sustained peak
 * open segments wait and are sealed when the rate drops.
 */
static void seal_at_idle_priority(void)
{
    struct sched_param sp = {0};
    if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) != 0)
        setpriority(PRIO_PROCESS, (id_t)gettid(), 19);
    /* a hint: without I/O classes (or permission) sealing just competes as before */
    syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, gettid(), IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 0));
}

static void *sealer_main(void *arg)
{
    struct trail_store *s = arg;
    int swept = 0;
    seal_at_idle_priority();
    pthread_mutex_lock(&s->seal_lock);
    for (;;) {
        while (!s->seal_stop && !s->seal_kick)
            pthread_cond_wait(&s->seal_cv, &s->seal_lock);
        if (s->seal_stop)
            break;
        s->seal_kick = 0;
        pthread_mutex_unlock(&s->seal_lock);
        for (;;) {
            struct seg job;
            uint64_t next_first = 0;
            int found = 0;
            pthread_mutex_lock(&s->seg_lock);
            for (size_t i = 0; i + 1 < s->n_segs; i++) {
                if (!s->segs[i].sealed) {
                    job = s->segs[i];
                    next_first = s->segs[i + 1].first_seq;
                    found = 1;
                    break;
                }
            }
            pthread_mutex_unlock(&s->seg_lock);
            if (!found)
                break;
            int r = seal_one(s, &job, next_first);
            if (r == 0)
                index_hook_sealed(s, job.first_seq); /* its .idx (lib/query/index_file.c) */
            pthread_mutex_lock(&s->seal_lock);
            s->seal_error = r;
            int stop = s->seal_stop || r < 0;
            pthread_mutex_unlock(&s->seal_lock);
            if (stop)
                break;
        }
        if (!swept) {
            index_hook_sweep(s); /* once: the .idx files a crash or an older version left out */
            swept = 1;
        }
        pthread_mutex_lock(&s->seal_lock);
    }
    pthread_mutex_unlock(&s->seal_lock);
    return NULL;
}

/* ---- open and close ---- */

static void opts_defaults(struct trail_store_opts *o)
{
    if (o->fsync_policy == TRAIL_FSYNC_DEFAULT)
        o->fsync_policy = TRAIL_FSYNC_INTERVAL;
    if (!o->fsync_interval_ms)
        o->fsync_interval_ms = 10;
    if (!o->segment_max_bytes)
        o->segment_max_bytes = 64u << 20;
    if (!o->segment_max_age_us)
        o->segment_max_age_us = 3600LL * 1000000;
    if (!o->zstd_level)
        o->zstd_level = DEFAULT_LEVEL;
    if (!o->block_bytes)
        o->block_bytes = 1u << 20;
    if (!o->max_pending_bytes)
        o->max_pending_bytes = 64u << 20;
    if (!o->checkpoint_every_events)
        o->checkpoint_every_events = 100000;
    if (!o->checkpoint_every_ms)
        o->checkpoint_every_ms = 10000;
    if (!o->dedup_window_us)
        o->dedup_window_us = 24LL * 3600 * 1000000;
    if (!o->dedup_max)
        o->dedup_max = 1000000;
}

/*
 * The recent producer uuids, from the newest records back over one window
 * (of received times) or dedup_max of them: a batch resent after a crash
 * is known again (lib/store/store_dedup.c).
 */
static int dedup_rebuild(struct trail_store *s)
{
    int r = store_dedup_new(s->o.dedup_window_us, (size_t)s->o.dedup_max, &s->dedup);
    if (r < 0 || s->live.next_seq <= 1)
        return r;
    struct trail_store_iter *it = NULL;
    struct trail_event *ev = NULL;
    if ((r = trail_event_new(s->cat, NULL, &ev)) < 0 ||
        (r = trail_store_iter_new(s, TRAIL_ITER_BACKWARD, &it)) < 0)
        goto out;
    int64_t newest = 0, now = trail_now();
    size_t seen = 0;
    struct {
        uint8_t uuid[16];
        uint64_t seq;
    } *found = NULL;
    size_t n_found = 0, cap_found = 0;
    uint64_t at = s->live.next_seq - 1; /* the seq the iterator reads next */
    struct trail_store_damage dmg;
    for (;;) {
        r = trail_store_iter_next(it, ev);
        if (r == TRAIL_E_CORRUPT && trail_store_damage_at(s, at, &dmg)) {
            /* known damage: the uuids in it are lost; go on before it */
            if (dmg.first_seq <= 1)
                break;
            at = dmg.first_seq - 1;
            trail_store_iter_seek_seq(it, at);
            continue;
        }
        if (r != 1)
            break;
        at = ev->seq - 1;
        int64_t t = ev->received_us ? ev->received_us : ev->time_us;
        if (!newest)
            newest = t;
        if (newest - t > s->o.dedup_window_us || ++seen > (size_t)s->o.dedup_max / 2)
            break;
        uint8_t derived[16];
        uuid_derive(s->store_id, ev->seq, derived);
        if (ev->own || memcmp(ev->uuid, derived, 16) == 0)
            continue; /* no producer uuid */
        if (n_found == cap_found) {
            size_t nc = cap_found ? cap_found * 2 : 1024;
            void *p = realloc(found, nc * sizeof(*found));
            if (!p) {
                r = -ENOMEM;
                break;
            }
            found = p;
            cap_found = nc;
        }
        memcpy(found[n_found].uuid, ev->uuid, 16);
        found[n_found++].seq = ev->seq;
    }
    /* oldest first, so that a uuid stored twice (before dedup) names its first seq */
    for (size_t i = n_found; i-- > 0 && r >= 0;)
        if (!store_dedup_find(s->dedup, found[i].uuid))
            r = store_dedup_add(s->dedup, found[i].uuid, found[i].seq, now);
    free(found);
    if (r > 0)
        r = 0;
out:
    trail_store_iter_free(it);
    trail_event_free(ev);
    return r;
}

static void store_free(struct trail_store *s)
{
    store_checkpoint_close(s);
    if (s->active_fd >= 0)
        close(s->active_fd);
    if (s->roots_fd >= 0)
        close(s->roots_fd);
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    if (s->dir_fd >= 0)
        close(s->dir_fd);
    batch_free(s->cur);
    batch_free(s->spare);
    free(s->segs);
    free(s->damage);
    free(s->dir);
    store_dedup_free(s->dedup);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->seg_lock);
    pthread_mutex_destroy(&s->seal_lock);
    pthread_mutex_destroy(&s->purge_lock);
    pthread_cond_destroy(&s->flush_cv);
    pthread_cond_destroy(&s->durable_cv);
    pthread_cond_destroy(&s->room_cv);
    pthread_cond_destroy(&s->turn_cv);
    pthread_cond_destroy(&s->seal_cv);
    free(s);
}

/*
 * Who holds the writer lock of DIR, for the refusal: the pid /proc/locks
 * shows on the directory's flock, else the one DIR/LOCK names.
 */
static void name_holder(struct trail_store *s, struct trail_store_report *rep)
{
    struct stat st;
    long pid = 0;
    char line[256];
    FILE *f = fstat(s->dir_fd, &st) == 0 ? fopen("/proc/locks", "re") : NULL;
    while (f && fgets(line, sizeof(line), f)) {
        long p;
        unsigned maj, min;
        unsigned long ino;
        char *at = strstr(line, "FLOCK");
        if (at && sscanf(at, "FLOCK %*s %*s %ld %x:%x:%lu", &p, &maj, &min, &ino) == 4 &&
            ino == (unsigned long)st.st_ino && maj == major(st.st_dev) && min == minor(st.st_dev) &&
            p > 0) {
            pid = p;
            break;
        }
    }
    if (f)
        fclose(f);
    int fd = pid ? -1 : openat(s->dir_fd, "LOCK", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, line, sizeof(line) - 1);
        line[n > 0 ? n : 0] = '\0';
        pid = strtol(line, NULL, 10);
        close(fd);
    }
    char comm[64] = "", path[64];
    snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
    fd = pid > 0 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd >= 0) {
        ssize_t n = read(fd, comm, sizeof(comm) - 1);
        comm[n > 0 ? n : 0] = '\0';
        comm[strcspn(comm, "\n")] = '\0';
        close(fd);
    }
    if (pid > 0)
        store_report(rep, "%s: the writer lock is held by pid %ld%s%s%s", s->dir, pid,
                     comm[0] ? " (" : "", comm, comm[0] ? ")" : "");
    else
        store_report(rep, "%s: the writer lock is held by another process", s->dir);
}

/*
 * The writer lock. flock on the directory itself: no rm of a file undoes
 * it (removing DIR/LOCK once let a second writer in, which lost
 * acknowledged records). DIR/LOCK is still locked too, for trail versions
 * that take only it, and holds the holder's pid for people to read.
 */
static int take_lock(struct trail_store *s, struct trail_store_report *rep)
{
    if (flock(s->dir_fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        if (e == EWOULDBLOCK)
            name_holder(s, rep);
        return e == EWOULDBLOCK ? TRAIL_E_LOCKED : -e;
    }
    s->lock_fd = openat(s->dir_fd, "LOCK", O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (s->lock_fd < 0)
        return -errno;
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        if (e == EWOULDBLOCK)
            name_holder(s, rep);
        return e == EWOULDBLOCK ? TRAIL_E_LOCKED : -e;
    }
    char pid[32];
    int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(s->lock_fd, 0) < 0 || pwrite(s->lock_fd, pid, (size_t)n, 0) != n)
        return -errno;
    return 0;
}

/*
 * A writer's check that the store is not shorter than its own files say
 * (a removed segment once restarted silently at seq 1): the highest tree
 * size in DIR/checkpoints and the groups of DIR/tree.roots against the last
 * seq. Refused (TRAIL_E_SHORTER) unless the operator accepted this very
 * last seq (opts accept_truncation), or repair cut the records: then the
 * claims go aside as evidence (checkpoints renamed, tree.roots copied; the
 * open cuts it to the records) so that the next open is not refused again.
 */
static int check_claims(struct trail_store *s, struct trail_store_report *rep)
{
    uint64_t last = s->live.next_seq - 1, cp_max = 0, roots_max = 0, *sizes = NULL;
    size_t n = 0;
    int r = store_checkpoint_sizes(s, &sizes, &n);
    for (size_t i = 0; i < n; i++)
        cp_max = sizes[i] > cp_max ? sizes[i] : cp_max;
    free(sizes);
    if (r < 0)
        return r;
    struct stat st;
    int roots_fd = openat(s->dir_fd, "tree.roots", O_RDONLY | O_CLOEXEC);
    if (roots_fd >= 0 && fstat(roots_fd, &st) == 0 && st.st_size > 64)
        roots_max = ((uint64_t)st.st_size - 64) / TRAIL_HASH_LEN * 256;
    uint64_t claimed = cp_max > roots_max ? cp_max : roots_max;
    if (rep) {
        rep->last_seq = last;
        rep->claimed_seq = claimed;
    }
    if (claimed <= last) {
        if (roots_fd >= 0)
            close(roots_fd);
        return 0;
    }
    if (cp_max > last)
        store_report(rep,
                     "checkpoints: a signed checkpoint covers %" PRIu64
                     " records but the store ends at seq %" PRIu64 ": %" PRIu64 " missing",
                     cp_max, last, cp_max - last);
    if (roots_max > last)
        store_report(rep,
                     "tree.roots: holds the roots of %" PRIu64 " records but the store ends at "
                     "seq %" PRIu64 ": at least %" PRIu64 " missing",
                     roots_max, last, roots_max - last);
    int accepted = s->o.repair || (s->o.accept_truncation && s->o.accept_truncation_to == last);
    if (!accepted) {
        if (s->o.accept_truncation)
            store_report(rep,
                         "accept_truncation = %" PRIu64
                         " does not name the store's last seq (%" PRIu64 "): refused",
                         s->o.accept_truncation_to, last);
        else
            store_report(rep,
                         "refused: records were removed. To open it anyway, accept the loss by "
                         "naming the last seq: accept_truncation = %" PRIu64,
                         last);
        if (roots_fd >= 0)
            close(roots_fd);
        return TRAIL_E_SHORTER;
    }
    char name[96];
    long long t = (long long)(trail_now() / 1000000);
    r = 0;
    if (roots_max > last) {
        snprintf(name, sizeof(name), "tree.roots.truncated-%lld", t);
        r = copy_out(s, roots_fd, UINT64_MAX, name);
        store_report(rep, "tree.roots: copied to %s before it is cut%s%s", name, r ? ": " : "",
                     r ? strerror(-r) : "");
    }
    if (roots_fd >= 0)
        close(roots_fd);
    if (r == 0 && cp_max > last) {
        snprintf(name, sizeof(name), "checkpoints.truncated-%lld", t);
        r = renameat(s->dir_fd, "checkpoints", s->dir_fd, name) < 0 ? -errno : store_fsync_dir(s);
        store_report(rep, "checkpoints: moved to %s; new ones start at the next checkpoint%s%s",
                     name, r ? ": " : "", r ? strerror(-r) : "");
    }
    if (r < 0)
        return r;
    store_report(rep, "opened %" PRIu64 " records short, as %s accepted", claimed - last,
                 s->o.repair ? "repair" : "accept_truncation");
    if (rep)
        rep->truncation_accepted = 1;
    return 0;
}

int trail_store_open(const char *dir, const struct trail_catalog *cat,
                     const struct trail_store_opts *opts, struct trail_store **ret_store,
                     struct trail_store_report *ret_report)
{
    struct trail_store *s = calloc(1, sizeof(*s));
    int r;
    if (ret_report)
        memset(ret_report, 0, sizeof(*ret_report));
    if (!s)
        return -ENOMEM;
    s->dir_fd = s->lock_fd = s->active_fd = s->roots_fd = -1;
    if (opts)
        s->o = *opts;
    opts_defaults(&s->o);
    s->read_only = s->o.read_only;
    s->cat = cat;
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->seg_lock, NULL);
    pthread_mutex_init(&s->seal_lock, NULL);
    pthread_mutex_init(&s->purge_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->flush_cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&s->durable_cv, NULL);
    pthread_cond_init(&s->room_cv, NULL);
    pthread_cond_init(&s->turn_cv, NULL);
    pthread_cond_init(&s->seal_cv, NULL);
    s->dir = strdup(dir);
    if (!s->dir) {
        r = -ENOMEM;
        goto fail;
    }
    if (s->o.create && !s->read_only && mkdir(dir, 0750) < 0 && errno != EEXIST) {
        r = -errno;
        goto fail;
    }
    s->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dir_fd < 0) {
        r = errno == ENOENT ? TRAIL_E_NOT_FOUND : -errno;
        goto fail;
    }
    if (!s->read_only && (r = take_lock(s, ret_report)) < 0)
        goto fail;
    r = recover(s, ret_report);
    if (r < 0)
        goto fail;
    if (!s->read_only && (r = check_claims(s, ret_report)) < 0)
        goto fail;
    r = store_roots_open(s, ret_report);
    if (r < 0)
        goto fail;
    if (!s->read_only) {
        s->cur = calloc(1, sizeof(*s->cur));
        s->spare = calloc(1, sizeof(*s->spare));
        if (!s->cur || !s->spare) {
            r = -ENOMEM;
            goto fail;
        }
        if (s->live.seg_exists) {
            char path[4200];
            store_seg_path(s, s->live.seg.first_seq, ".open", path, sizeof(path));
            s->active_fd = open(path, O_RDWR | O_CLOEXEC);
            if (s->active_fd < 0) {
                r = -errno;
                goto fail;
            }
            s->active_first = s->live.seg.first_seq;
            s->active_off = s->live.seg_bytes;
        }
        if (s->o.dedup_max > 0 && (r = dedup_rebuild(s)) < 0)
            goto fail;
        s->last_checkpoint_seq = s->durable_seq;
        s->last_checkpoint_us = mono_us();
        if ((r = store_checkpoint_open(s, ret_report)) < 0) /* the signing key, DIR/checkpoints */
            goto fail;
        if (pthread_create(&s->flusher, NULL, flusher_main, s) != 0) {
            r = -EAGAIN;
            goto fail;
        }
        s->flusher_started = 1;
        if (!s->o.no_seal) {
            for (size_t i = 0; i + 1 < s->n_segs; i++) /* left unsealed by the last run */
                s->seal_backlog += !s->segs[i].sealed;
            if (pthread_create(&s->sealer, NULL, sealer_main, s) != 0) {
                r = -EAGAIN;
                goto fail;
            }
            s->sealer_started = 1;
            pthread_mutex_lock(&s->seal_lock);
            s->seal_kick = 1; /* segments left unsealed by an earlier run */
            pthread_cond_signal(&s->seal_cv);
            pthread_mutex_unlock(&s->seal_lock);
        }
    }
    *ret_store = s;
    return 0;
fail:
    if (s->flusher_started) {
        pthread_mutex_lock(&s->lock);
        s->closing = 1;
        pthread_cond_signal(&s->flush_cv);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->flusher, NULL);
    }
    store_free(s);
    return r;
}

int trail_store_close(struct trail_store *s)
{
    if (!s)
        return 0;
    int r = 0;
    if (s->flusher_started) {
        pthread_mutex_lock(&s->lock);
        s->closing = 1;
        pthread_cond_signal(&s->flush_cv);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->flusher, NULL);
        if (s->error)
            r = s->error;
        else if (s->checkpoint_error)
            r = s->checkpoint_error;
        pthread_mutex_lock(&s->lock);
        pthread_cond_broadcast(&s->durable_cv);
        pthread_mutex_unlock(&s->lock);
    }
    if (s->sealer_started) {
        pthread_mutex_lock(&s->seal_lock);
        s->seal_stop = 1;
        pthread_cond_signal(&s->seal_cv);
        pthread_mutex_unlock(&s->seal_lock);
        pthread_join(s->sealer, NULL);
    }
    if (s->roots_fd >= 0 && !s->read_only && s->roots_written != s->roots_synced)
        fsync(s->roots_fd);
    store_free(s);
    return r;
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
    struct trail_event **keep; /* the batch without its duplicates (cap_leaves of them) */
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
 * An append in two steps. Under the lock, the batch gets its seqs. Without
 * the lock, it is encoded, checksummed and leaf-hashed (the costly part, so
 * appending threads do it in parallel). Under the lock again and in seq
 * order (each call waits for the one before it), the leaves extend the
 * chain and the tree and the frames are copied into the current batch.
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
        if (len > max_rec || len > TRAIL_RECORD_MAX)
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
    } else if (s->error && mono_us() < s->refuse_until_us) {
        r = s->error;
    } else {
        while (s->cur->data.len > s->o.max_pending_bytes && !s->closing && !s->fatal &&
               !s->tampered)
            pthread_cond_wait(&s->room_cv, &s->lock);
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
    r = batch_reserve(b, total, max_rolls, n / 256 + 2);
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
            if (b->n_rolls == b->cap_rolls && (r = batch_reserve(b, 0, 1, 0)) < 0) {
                go_fatal(s, r);
                goto done;
            }
            roll(s, b, now);
        }
        int group_done;
        if ((r = hash_chain(lv->chain, sc->leaves[i], lv->chain)) < 0 ||
            (r = store_frontier_push(&lv->frontier, sc->leaves[i], b->groups[b->n_groups],
                                     &group_done)) < 0) {
            go_fatal(s, r);
            goto done;
        }
        if (group_done) {
            b->n_groups++;
            lv->n_groups++;
            if (b->n_groups == b->cap_groups && (r = batch_reserve(b, 0, 0, 256)) < 0) {
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
        pthread_mutex_unlock(&s->lock);
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
