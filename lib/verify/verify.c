/*
 * verify.c - trail_verify_store(): an auditor's check of a store directory.
 *
 * It reads the files itself and trusts none of the store's bookkeeping (the
 * segment list, store.meta, tree.roots, anchors, the checkpoints file are all
 * things it checks, not things it believes). What it shares with the store
 * is only the byte formats (store/record.h, store/segment.h, docs/format.md) and the hashing
 * (integrity/merkle.h).
 *
 * Not for: repairing anything (the store's own recovery), proofs (proof.c),
 * deciding what to print (cli/verify.c).
 *
 * How it works. DIR/checkpoints, tree.roots and anchors are read first,
 * then the directory is listed (twice, joined: a live store renames files
 * while it is listed): a writer makes records durable before it writes the
 * checkpoints and group roots that cover them, so every record those cover
 * is in the segments listed after. The workers (one thread per CPU) first
 * check the checkpoint signatures in chunks; a checkpoint that does not
 * verify is never used as evidence. Then every segment is read once, start
 * to end, by one worker, from the state its own header records (chain head
 * and Merkle frontier before its first record): frame lengths and CRC-32C,
 * record versions, the seq of every record, the leaf hash, the chain, the
 * frontier; each completed group of 256 leaves is compared with tree.roots,
 * and the tree at every checkpoint size that falls in the segment is
 * compared with the checkpoint. A segment the listing missed anyway (a gap
 * whose next file exists now) is read then. Then one thread joins the
 * segments in seq order:
 * the state each segment ends with must be the state the next one starts
 * from (so the whole chain and tree are recomputed, just in pieces), the
 * first segment must start from the empty tree or from the anchor of the
 * purge that removed what came before, and every checkpoint must have been
 * met: one beyond the records is a truncated tail (the store's own) or a
 * rollback (a witness's), one before the retained records is recomputed
 * from tree.roots and anchors.
 *
 * Naming the first bad record. Structural damage names the exact seq (a
 * seq that jumps, repeats or goes back; a frame that fails its CRC). A
 * record whose bytes were changed with its checksums made to fit is
 * localised to the smallest span the stored hashes allow: from just after
 * the last signed checkpoint that held (or the segment's start) to the
 * first point where a stored hash stopped agreeing, narrowed to a group of
 * 256 when its root in tree.roots differs (the report gives seq ..
 * seq_last). A group root that matches is no evidence: whoever changed a
 * record could have rebuilt tree.roots.
 *
 * Memory: one read buffer and one decompression buffer per worker, reused;
 * nothing is allocated per record.
 */
#include "base/fileio.h"
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define RING         64         /* recent leaf hashes kept, to tell a duplicate */
#define LOOKAHEAD    32         /* frames looked at past a seq jump, to tell a move */
#define READ_CHUNK   (4u << 20) /* bytes read at a time from an open segment */
#define SIG_CHUNK    64         /* checkpoint signatures per job */
#define MAX_THREADS  8
#define PURGE_ID     "trail_events_purged"       /* trail's own record of a purge */
#define PURGE_ID_V1  "core_server_events_purged" /* its id in record version 1 */
#define ANCHOR_ENTRY (8 + 256 * 32 + 4)

/* ---- findings ---- */

struct finding {
    int kind;
    uint64_t seq, seq_last;
    char file[64];
    char msg[400];
};

/* ---- checkpoints ---- */

enum cp_result { CP_UNSEEN = 0, CP_MATCH = 1, CP_ROOT_DIFFERS = 2, CP_CHAIN_DIFFERS = 3 };

struct vcp {
    uint64_t size;
    uint8_t root[TRAIL_HASH_LEN];
    uint8_t chain[TRAIL_HASH_LEN];
    uint32_t line;     /* DIR/checkpoints line number, 0 for an external one */
    uint32_t external; /* external: its index + 1 */
    int result;        /* enum cp_result, set by the worker whose segment holds size */
    int64_t time_us;
};

/* ---- purge records ---- */

struct purge_rec {
    uint64_t seq;    /* the record's own seq */
    uint64_t to_seq; /* purged_to_seq */
    int anchor_ok;   /* the anchor attribute parsed */
    uint8_t chain[TRAIL_HASH_LEN];
    struct trail_frontier fr; /* size == to_seq when consistent */
};

/* ---- segments ---- */

struct seg_job {
    uint64_t name_seq;
    int sealed;
    char name[40];
    int is_last;
    /* filled by the worker */
    int header_ok;
    struct seg_header h;
    uint64_t bytes, n_records;
    uint64_t last_seq; /* last record accepted; h.first_seq - 1 when none */
    uint8_t chain[TRAIL_HASH_LEN];
    struct trail_frontier fr; /* the state after last_seq */
    int stopped;              /* structural damage: reading stopped at stop */
    struct finding stop;
    int has_trailer;
    uint64_t trailer_last;
    uint8_t trailer_chain[TRAIL_HASH_LEN];
    /* what the stored hashes said inside the segment */
    uint64_t good_upto; /* records first..good_upto agree with a signed checkpoint */
    int bad_group;      /* a group root of tree.roots differs */
    uint64_t bad_group_no, bad_lo, bad_hi;
    int bad_group_cleared; /* a checkpoint after it held: tree.roots is what is wrong */
    int bad_cp;            /* one of the store's own checkpoints differs */
    uint64_t bad_cp_size, bad_cp_lo;
    uint32_t bad_cp_line;
    uint64_t torn_off, torn_bytes; /* an unfinished frame at the end */
    int torn_zero;                 /* ... and everything after it is zero */
    uint64_t groups_checked;
    struct purge_rec *purges;
    size_t n_purges;
    int error;    /* -errno / -ENOMEM reading it */
    int replaced; /* (join) reported as not continuing the one before: its own hash
                     evidence is a consequence */
};

/* ---- the whole run ---- */

struct verify {
    const char *dir;
    int dir_fd;
    const struct trail_verify_opts *o;
    uint8_t store_id[16];
    int have_id;
    char origin[33];                 /* the store id in hex: what legacy checkpoints name */
    char name[TRAIL_ORIGIN_MAX + 1]; /* the store's origin (DIR/origin, else the above) */

    struct seg_job *segs;
    size_t n_segs, cap_segs;

    uint8_t (*roots)[TRAIL_HASH_LEN]; /* tree.roots entries */
    uint64_t n_roots;
    uint8_t *anchors; /* the anchors file */
    size_t anchors_len;

    const char *cp_text; /* DIR/checkpoints, mapped */
    size_t cp_len;
    size_t *cp_off; /* line starts, per internal checkpoint */
    size_t *cp_linelen;
    struct vcp *cps; /* internal then external */
    size_t n_cps, n_internal;
    struct vcp **sorted; /* by size, those taken as evidence */
    size_t n_sorted;
    int *sig_bad; /* per internal checkpoint: 0 ok/unchecked, 1 bad, 2 unknown key */
    uint64_t signatures;

    pthread_mutex_t lock; /* findings, next job */
    struct finding *found;
    size_t n_found, cap_found;
    size_t next_job, n_jobs;
    int phase; /* 0: signatures, 1: segments */
    char notes[1024];
};

static void note(struct verify *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct verify *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    text_addline(v->notes, sizeof(v->notes), fmt, ap);
    va_end(ap);
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

static int add_finding(struct verify *v, const struct finding *f)
{
    pthread_mutex_lock(&v->lock);
    int r = 0;
    if (v->n_found == v->cap_found) {
        size_t cap = v->cap_found ? 2 * v->cap_found : 16;
        struct finding *p = realloc(v->found, cap * sizeof(*p));
        if (!p) {
            r = -ENOMEM;
            goto out;
        }
        v->found = p;
        v->cap_found = cap;
    }
    v->found[v->n_found++] = *f;
out:
    pthread_mutex_unlock(&v->lock);
    return r;
}

static int report(struct verify *v, int kind, uint64_t seq, uint64_t seq_last, const char *file,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int report(struct verify *v, int kind, uint64_t seq, uint64_t seq_last, const char *file,
                  const char *fmt, ...)
{
    struct finding f;
    f.kind = kind;
    f.seq = seq;
    f.seq_last = seq_last < seq ? seq : seq_last;
    snprintf(f.file, sizeof(f.file), "%s", file);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f.msg, sizeof(f.msg), fmt, ap);
    va_end(ap);
    return add_finding(v, &f);
}

const char *trail_damage_name(int damage)
{
    static const char *const names[] = {
        [TRAIL_DAMAGE_NONE] = "ok",
        [TRAIL_DAMAGE_MODIFIED] = "modified",
        [TRAIL_DAMAGE_REMOVED] = "removed",
        [TRAIL_DAMAGE_INSERTED] = "inserted",
        [TRAIL_DAMAGE_DUPLICATED] = "duplicated",
        [TRAIL_DAMAGE_MOVED] = "moved",
        [TRAIL_DAMAGE_TRUNCATED] = "truncated",
        [TRAIL_DAMAGE_SEGMENT_MISSING] = "segment-missing",
        [TRAIL_DAMAGE_SEGMENT_REPLACED] = "segment-replaced",
        [TRAIL_DAMAGE_ROLLBACK] = "rollback",
        [TRAIL_DAMAGE_FORK] = "fork",
        [TRAIL_DAMAGE_SIGNATURE] = "bad-signature",
        [TRAIL_DAMAGE_CHECKPOINT] = "bad-checkpoint",
        [TRAIL_DAMAGE_CHECKSUM] = "checksum",
        [TRAIL_DAMAGE_FORMAT] = "format",
        [TRAIL_DAMAGE_SIDE_FILE] = "side-file",
        [TRAIL_DAMAGE_UNSIGNED] = "unsigned",
        [TRAIL_DAMAGE_QUARANTINED] = "quarantined",
    };
    if (damage < 0 || (size_t)damage >= TRAIL_ARRAY_SIZE(names) || !names[damage])
        return "unknown";
    return names[damage];
}

/* ---- small helpers ---- */

static void hex_of(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static int is_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static int frontier_eq(const struct trail_frontier *a, const struct trail_frontier *b)
{
    if (a->size != b->size)
        return 0;
    for (int k = 0; k < 64; k++)
        if ((a->size >> k) & 1 && memcmp(a->nodes[k], b->nodes[k], TRAIL_HASH_LEN) != 0)
            return 0;
    return 1;
}

static int read_file(int dir_fd, const char *name, uint8_t **ret, size_t *ret_len)
{
    int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int r = 0;
    uint8_t *p = NULL;
    size_t got = 0;
    if (fstat(fd, &st) < 0) {
        r = -errno;
        goto out;
    }
    p = malloc((size_t)st.st_size + 1);
    if (!p) {
        r = -ENOMEM;
        goto out;
    }
    r = io_pread_full(fd, p, (size_t)st.st_size, 0, &got);
out:
    close(fd);
    if (r < 0) {
        free(p);
        return r;
    }
    *ret = p;
    *ret_len = got;
    return 0;
}

/* ---- side files: tree.roots and anchors ---- */

static int side_header_ok(const uint8_t *h, size_t len, const char *magic,
                          const uint8_t store_id[16], int *ret_foreign)
{
    *ret_foreign = 0;
    if (len < 64 || memcmp(h, magic, 8) != 0 || get_u16(h + 8) != 1 || get_u32(h + 12) != 64 ||
        get_u32(h + 60) != crc32c(0, h, 60))
        return 0;
    if (memcmp(h + 16, store_id, 16) != 0) {
        *ret_foreign = 1;
        return 0;
    }
    return 1;
}

static int load_side_files(struct verify *v)
{
    uint8_t *p = NULL;
    size_t len = 0;
    int foreign;
    int r = read_file(v->dir_fd, "tree.roots", &p, &len);
    if (r == -ENOENT) {
        note(v, "tree.roots: missing; group roots not compared");
    } else if (r < 0) {
        return r;
    } else if (!side_header_ok(p, len, "TRAILTRE", v->store_id, &foreign)) {
        r = report(v, TRAIL_DAMAGE_SIDE_FILE, 0, 0, "tree.roots",
                   foreign ? "tree.roots belongs to another store"
                           : "tree.roots has a damaged header");
        free(p);
        if (r < 0)
            return r;
    } else {
        v->n_roots = (len - 64) / TRAIL_HASH_LEN;
        v->roots = malloc(v->n_roots ? v->n_roots * TRAIL_HASH_LEN : 1);
        if (!v->roots) {
            free(p);
            return -ENOMEM;
        }
        memcpy(v->roots, p + 64, v->n_roots * TRAIL_HASH_LEN);
        free(p);
    }
    p = NULL;
    r = read_file(v->dir_fd, "anchors", &p, &len);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    if (!side_header_ok(p, len, "TRAILANC", v->store_id, &foreign)) {
        free(p);
        return report(v, TRAIL_DAMAGE_SIDE_FILE, 0, 0, "anchors",
                      foreign ? "anchors belongs to another store"
                              : "anchors has a damaged header");
    }
    for (size_t off = 64; off + ANCHOR_ENTRY <= len; off += ANCHOR_ENTRY) {
        if (get_u32(p + off + 8 + 256 * 32) != crc32c(0, p + off, 8 + 256 * 32)) {
            r = report(v, TRAIL_DAMAGE_CHECKSUM, 0, 0, "anchors",
                       "the anchor entry at offset %zu fails its CRC-32C", off);
            if (r < 0) {
                free(p);
                return r;
            }
        }
    }
    v->anchors = p;
    v->anchors_len = len;
    return 0;
}

/* The leaf hashes of group g kept in anchors (the last entry for it), or NULL. */
static const uint8_t *anchor_group(const struct verify *v, uint64_t g)
{
    const uint8_t *found = NULL;
    for (size_t off = 64; v->anchors && off + ANCHOR_ENTRY <= v->anchors_len; off += ANCHOR_ENTRY) {
        const uint8_t *e = v->anchors + off;
        if (get_u64(e) == g && get_u32(e + 8 + 256 * 32) == crc32c(0, e, 8 + 256 * 32))
            found = e + 8;
    }
    return found;
}

/*
 * The tree hash of leaves [begin, end) from tree.roots and anchors alone (for
 * what a purge removed): 1 and out, 0 when they do not hold it, or < 0.
 */
static int side_mth(const struct verify *v, uint64_t begin, uint64_t end,
                    uint8_t out[TRAIL_HASH_LEN])
{
    uint64_t n = end - begin;
    if (n == 256 && begin % 256 == 0 && begin / 256 < v->n_roots &&
        !is_zero(v->roots[begin / 256], TRAIL_HASH_LEN)) {
        memcpy(out, v->roots[begin / 256], TRAIL_HASH_LEN);
        return 1;
    }
    if (n <= 256 && begin / 256 == (end - 1) / 256) {
        const uint8_t *leaves = anchor_group(v, begin / 256);
        if (!leaves)
            return 0;
        const uint8_t(*l)[TRAIL_HASH_LEN] = (const uint8_t(*)[TRAIL_HASH_LEN])leaves;
        for (uint64_t i = begin % 256; i < begin % 256 + n; i++)
            if (is_zero(l[i], TRAIL_HASH_LEN))
                return 0; /* not kept */
        int r = hash_tree(l + begin % 256, n, out);
        return r < 0 ? r : 1;
    }
    uint64_t k = 1;
    while (k * 2 < n)
        k *= 2;
    uint8_t a[TRAIL_HASH_LEN], b[TRAIL_HASH_LEN];
    int r = side_mth(v, begin, begin + k, a);
    if (r == 1)
        r = side_mth(v, begin + k, end, b);
    if (r == 1)
        r = trail_hash_node(a, b, out) < 0 ? -ENOMEM : 1;
    return r;
}

/*
 * Check a frontier (a purge point's) against tree.roots and anchors: 1 all
 * nodes agree, 0 one differs (*ret_k names it), 2 some could not be
 * compared, < 0 error.
 */
static int frontier_vs_side(const struct verify *v, const struct trail_frontier *f, int *ret_k)
{
    uint64_t start = 0;
    int unknown = 0;
    for (int k = 63; k >= 0; k--) {
        if (!((f->size >> k) & 1))
            continue;
        uint64_t n = (uint64_t)1 << k;
        uint8_t h[TRAIL_HASH_LEN];
        int r = side_mth(v, start, start + n, h);
        if (r < 0)
            return r;
        if (r == 0)
            unknown = 1;
        else if (memcmp(h, f->nodes[k], TRAIL_HASH_LEN) != 0) {
            *ret_k = k;
            return 0;
        }
        start += n;
    }
    return unknown ? 2 : 1;
}

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

/* ---- reading one segment ---- */

struct worker {
    struct verify *v;
    struct trail_buf in, raw;
    ZSTD_DCtx *dctx;
};

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
    while (n - pos >= TRAIL_FRAME_HEAD) {
        const uint8_t *f = p + pos;
        uint32_t len = get_u32(f);
        if (len < TRAIL_RECORD_MIN || len > TRAIL_RECORD_MAX) {
            if (j->is_last && base != (uint64_t)-1 && is_zero(f, n - pos)) {
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
        if (crc32c(0, rec, len) != get_u32(f + 4)) {
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
            if (g < v->n_roots && !is_zero(v->roots[g], TRAIL_HASH_LEN)) {
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
    uint64_t next_off = j->h.header_len;
    for (uint32_t i = 0; i < n_blocks; i++) {
        const uint8_t *e = idx + (size_t)i * TRAIL_SEG_INDEX_ENTRY;
        struct seg_block *b = &blocks[i];
        b->first_seq = get_u64(e);
        b->count = get_u32(e + 8);
        b->comp_len = get_u32(e + 12);
        b->offset = get_u64(e + 16);
        b->raw_len = get_u32(e + 40);
        b->crc = get_u32(e + 44);
        if (b->offset != next_off || b->comp_len == 0 || b->raw_len > (1u << 30)) {
            j->stopped = 1;
            set_finding(&j->stop, TRAIL_DAMAGE_FORMAT, j->h.first_seq, j->h.first_seq, j->name,
                        "block %" PRIu32 " of the index does not fit the file", i);
            free(blocks);
            return 0;
        }
        next_off += b->comp_len;
    }
    if (next_off != index_off) {
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
        size_t out = ZSTD_decompressDCtx(w->dctx, w->raw.data, b->raw_len, w->in.data, got);
        if (ZSTD_isError(out) || out != b->raw_len) {
            j->stopped = 1;
            set_finding(&j->stop, TRAIL_DAMAGE_FORMAT, rn.next, rn.next, j->name,
                        "block %" PRIu32 " (records from %" PRIu64 ") does not decompress", i,
                        rn.next);
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
    free(blocks);
    return r;
}

static int read_segment(struct worker *w, struct seg_job *j)
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
    if (got < TRAIL_SEG_FIXED + 4 && j->is_last && !j->sealed && is_zero(hbuf, got)) {
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
        hex_of(j->h.store_id, 16, other);
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

static const struct trail_key *key_for(const struct verify *v, const struct trail_checkpoint *c)
{
    for (size_t i = 0; i < v->o->n_keys; i++)
        if (trail_checkpoint_signed_by(c, v->o->keys[i]))
            return v->o->keys[i];
    return NULL;
}

/* c names this store: its origin, or for a checkpoint of trail before C2SP its id */
static int origin_ok(const struct verify *v, const struct trail_checkpoint *c)
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
        const struct trail_key *key = key_for(v, &c);
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
            int r = read_segment(w, j);
            if (r < 0 && !j->error)
                j->error = r;
        } else {
            size_t from = job * SIG_CHUNK;
            size_t to = from + SIG_CHUNK < v->n_internal ? from + SIG_CHUNK : v->n_internal;
            int r = check_signatures(v, from, to);
            if (r < 0) {
                pthread_mutex_lock(&v->lock);
                note(v, "checkpoint signatures: %s", trail_strerror(r));
                pthread_mutex_unlock(&v->lock);
            }
        }
    }
    return NULL;
}

/* ---- loading the directory ---- */

static int cmp_job(const void *a, const void *b)
{
    const struct seg_job *x = a, *y = b;
    if (x->name_seq != y->name_seq)
        return x->name_seq < y->name_seq ? -1 : 1;
    return x->sealed - y->sealed;
}

/* Add the segment files the directory lists now to v->segs (duplicates included). */
static int read_dir(struct verify *v)
{
    int fd = openat(v->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -errno;
    }
    struct dirent *e;
    int r = 0;
    while ((e = readdir(d))) {
        const char *name = e->d_name;
        size_t len = strlen(name);
        if (strncmp(name, "seg-", 4) != 0 || len < 4 + 16 + 4)
            continue;
        char *endp;
        uint64_t first = strtoull(name + 4, &endp, 16);
        if (endp != name + 20)
            continue;
        int sealed = strcmp(endp, ".seg") == 0;
        if (!sealed && strcmp(endp, ".open") != 0)
            continue;
        if (v->n_segs == v->cap_segs) {
            size_t cap = v->cap_segs ? 2 * v->cap_segs : 64;
            struct seg_job *p = realloc(v->segs, cap * sizeof(*p));
            if (!p) {
                r = -ENOMEM;
                break;
            }
            v->segs = p;
            v->cap_segs = cap;
        }
        struct seg_job *j = &v->segs[v->n_segs++];
        memset(j, 0, sizeof(*j));
        j->name_seq = first;
        j->sealed = sealed;
        snprintf(j->name, sizeof(j->name), "%.39s", name);
    }
    closedir(d);
    return r;
}

/*
 * The segments, in seq order, one per first seq. The directory is listed
 * twice and the lists joined: while a live store seals a segment (writes
 * seg-N.seg, then removes seg-N.open) one readdir can miss both names, two
 * in a row cannot. Where both exist, the .seg is read (it is only renamed
 * into place once complete; a .open left beside it is a leftover).
 */
static int list_segments(struct verify *v)
{
    free(v->segs);
    v->segs = NULL;
    v->n_segs = v->cap_segs = 0;
    int r = read_dir(v);
    if (r == 0)
        r = read_dir(v);
    if (r < 0)
        return r;
    if (v->n_segs)
        qsort(v->segs, v->n_segs, sizeof(*v->segs), cmp_job);
    size_t out = 0;
    for (size_t i = 0; i < v->n_segs; i++) {
        if (i + 1 < v->n_segs && v->segs[i + 1].name_seq == v->segs[i].name_seq)
            continue; /* keep the last of a run: the .seg sorts after the .open */
        v->segs[out++] = v->segs[i];
    }
    v->n_segs = out;
    if (v->n_segs)
        v->segs[v->n_segs - 1].is_last = 1;
    return 0;
}

static int load_store_id(struct verify *v)
{
    uint8_t *m = NULL;
    size_t len = 0;
    int r = read_file(v->dir_fd, "store.meta", &m, &len);
    if (r == 0 && len == 64 && memcmp(m, "TRAILSTO", 8) == 0 && get_u16(m + 8) == 1 &&
        get_u32(m + 60) == crc32c(0, m, 60)) {
        memcpy(v->store_id, m + 16, 16);
        v->have_id = 1;
    } else if (r == 0 || r == -ENOENT) {
        note(v, "store.meta: %s; the store id is taken from the first segment",
             r == -ENOENT ? "missing" : "damaged");
    }
    free(m);
    if (r < 0 && r != -ENOENT)
        return r;
    r = 0;
    if (v->n_segs) {
        uint8_t h[TRAIL_SEG_HEADER_MAX];
        struct seg_header sh;
        size_t got = 0;
        int fd = openat(v->dir_fd, v->segs[0].name, O_RDONLY | O_CLOEXEC);
        if (fd >= 0 && io_pread_full(fd, h, sizeof(h), 0, &got) == 0 &&
            seg_header_decode(h, got, &sh) == 0) {
            if (!v->have_id) {
                memcpy(v->store_id, sh.store_id, 16);
                v->have_id = 1;
            } else if (memcmp(sh.store_id, v->store_id, 16) != 0) {
                char other[33];
                hex_of(sh.store_id, 16, other);
                r = report(v, TRAIL_DAMAGE_SIDE_FILE, 0, 0, "store.meta",
                           "store.meta names another store than the first segment (%s)", other);
            }
        }
        if (fd >= 0)
            close(fd);
    }
    if (v->have_id) {
        hex_of(v->store_id, 16, v->origin);
        int e = store_origin_read(v->dir_fd, v->store_id, v->name);
        if (e < 0 && r >= 0) {
            r = report(v, TRAIL_DAMAGE_SIDE_FILE, 0, 0, "origin",
                       "origin is not one origin line: checkpoints are taken to name %s",
                       v->origin);
            memcpy(v->name, v->origin, sizeof(v->origin));
        }
    }
    return r < 0 ? r : 0;
}

static int cmp_vcp(const void *a, const void *b)
{
    const struct vcp *x = *(struct vcp *const *)a, *y = *(struct vcp *const *)b;
    if (x->size != y->size)
        return x->size < y->size ? -1 : 1;
    return x < y ? -1 : x > y;
}

static int add_cp(struct verify *v, size_t *cap, const struct trail_checkpoint *c, uint32_t line,
                  uint32_t external)
{
    if (v->n_cps == *cap) {
        *cap = *cap ? 2 * *cap : 64;
        struct vcp *p = realloc(v->cps, *cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        v->cps = p;
        if (!external) {
            size_t *o = realloc(v->cp_off, *cap * sizeof(*o));
            if (!o)
                return -ENOMEM;
            v->cp_off = o;
            size_t *l = realloc(v->cp_linelen, *cap * sizeof(*l));
            if (!l)
                return -ENOMEM;
            v->cp_linelen = l;
        }
    }
    struct vcp *e = &v->cps[v->n_cps++];
    memset(e, 0, sizeof(*e));
    e->size = c->tree_size;
    memcpy(e->root, c->root, TRAIL_HASH_LEN);
    memcpy(e->chain, c->chain, TRAIL_HASH_LEN);
    e->line = line;
    e->external = external;
    e->time_us = c->time_us;
    return 0;
}

static int load_checkpoints(struct verify *v, struct trail_verify_report *rep)
{
    size_t cap = 0;
    int r;
    int fd = openat(v->dir_fd, "checkpoints", O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno != ENOENT)
        return -errno;
    if (fd >= 0) {
        struct stat st;
        if (fstat(fd, &st) < 0) {
            r = -errno;
            close(fd);
            return r;
        }
        if (st.st_size > 0) {
            void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
            if (m == MAP_FAILED) {
                r = -errno;
                close(fd);
                return r;
            }
            v->cp_text = m;
            v->cp_len = (size_t)st.st_size;
        }
        close(fd);
    }
    uint32_t line_no = 0;
    for (size_t pos = 0; pos < v->cp_len;) {
        const char *nl = memchr(v->cp_text + pos, '\n', v->cp_len - pos);
        size_t end = nl ? (size_t)(nl - v->cp_text) : v->cp_len;
        line_no++;
        struct trail_checkpoint c;
        if (!nl) {
            /* a last line without its '\n': a write a crash cut short (never synced) */
            note(v, "checkpoints: unfinished last line %" PRIu32 " ignored", line_no);
            break;
        }
        if (trail_checkpoint_parse(v->cp_text + pos, end - pos, &c) < 0) {
            r = report(v, TRAIL_DAMAGE_CHECKPOINT, 0, 0, "checkpoints",
                       "line %" PRIu32 " is not a checkpoint line", line_no);
        } else if (v->have_id && !origin_ok(v, &c)) {
            r = report(v, TRAIL_DAMAGE_CHECKPOINT, c.tree_size, c.tree_size, "checkpoints",
                       "line %" PRIu32 " is a checkpoint of another store (%s)", line_no, c.origin);
        } else {
            r = add_cp(v, &cap, &c, line_no, 0);
            if (r == 0) {
                v->cp_off[v->n_cps - 1] = pos;
                v->cp_linelen[v->n_cps - 1] = end - pos;
                rep->latest_size = c.tree_size;
            }
        }
        if (r < 0)
            return r;
        pos = end + 1;
    }
    rep->checkpoints = line_no;
    v->n_internal = v->n_cps;
    v->sig_bad = calloc(v->n_internal ? v->n_internal : 1, sizeof(*v->sig_bad));
    if (!v->sig_bad)
        return -ENOMEM;
    for (size_t i = 0; i < v->o->n_checkpoints; i++) {
        const struct trail_checkpoint *c = &v->o->checkpoints[i];
        if (v->have_id && !origin_ok(v, c)) {
            r = report(v, TRAIL_DAMAGE_FORK, c->tree_size, c->tree_size, "(external)",
                       "external checkpoint %zu is of store %s, but this store is %s: the store "
                       "was replaced, or the checkpoint is another store's",
                       i + 1, c->origin, v->name);
            if (r < 0)
                return r;
            continue;
        }
        if (v->o->n_keys) {
            const struct trail_key *key = key_for(v, c);
            r = key ? trail_checkpoint_verify(c, key) : TRAIL_E_SIGNATURE;
            if (r == -ENOMEM)
                return r;
            if (r < 0) {
                r = report(v, TRAIL_DAMAGE_SIGNATURE, c->tree_size, c->tree_size, "(external)",
                           key ? "external checkpoint %zu (size %" PRIu64
                                 ") does not verify: it was altered or forged"
                               : "external checkpoint %zu (size %" PRIu64
                                 ") is signed by key %s, which is not among the keys given",
                           i + 1, c->tree_size, c->key_id);
                if (r < 0)
                    return r;
                continue;
            }
            v->signatures++;
        }
        if ((r = add_cp(v, &cap, c, 0, (uint32_t)i + 1)) < 0)
            return r;
    }
    rep->external = v->o->n_checkpoints;
    if (v->n_internal == 0 && v->o->n_checkpoints == 0)
        note(v, "no checkpoint in DIR/checkpoints and none given: nothing signed covers these "
                "records (a cut tail would leave no trace; see 'trail checkpoint --help')");
    if (v->n_internal && !v->o->n_keys)
        note(v, "no public key given: the signatures of %zu checkpoints were not checked",
             v->n_internal);
    return 0;
}

/* The checkpoints taken as evidence, by size: all but those whose signature failed. */
static int sort_checkpoints(struct verify *v)
{
    v->sorted = malloc((v->n_cps ? v->n_cps : 1) * sizeof(*v->sorted));
    if (!v->sorted)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < v->n_cps; i++)
        if (i >= v->n_internal || !v->sig_bad[i])
            v->sorted[n++] = &v->cps[i];
    v->n_sorted = n;
    qsort(v->sorted, n, sizeof(*v->sorted), cmp_vcp);
    return 0;
}

/* Run the workers over n jobs of the given phase. Returns the threads used. */
static int run_pool(struct verify *v, struct worker *workers, pthread_t *tids, int n_threads,
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

/* ---- joining the segments ---- */

static const char *cp_name(const struct vcp *c, char buf[64])
{
    if (c->external)
        snprintf(buf, 64, "external checkpoint %" PRIu32, c->external);
    else
        snprintf(buf, 64, "checkpoints line %" PRIu32, c->line);
    return buf;
}

/* The damage inside segment j found from hashes (not structure), if any; 1 when reported. */
static int hash_damage(struct verify *v, const struct seg_job *j, int boundary_bad,
                       const char *boundary_why)
{
    char cpn[64];
    if (j->replaced)
        return 0;
    if (j->bad_cp) {
        uint64_t lo = j->bad_cp_lo, hi = j->bad_cp_size;
        if (j->bad_group && j->bad_hi <= hi) {
            lo = j->bad_lo > lo ? j->bad_lo : lo;
            hi = j->bad_hi;
        }
        struct vcp tmp = {.line = j->bad_cp_line};
        report(v, TRAIL_DAMAGE_MODIFIED, lo, hi, j->name,
               "the records do not give the tree that %s signs at size %" PRIu64
               ": a record between %" PRIu64 " and %" PRIu64 " was changed",
               cp_name(&tmp, cpn), j->bad_cp_size, lo, hi);
        return 1;
    }
    if (boundary_bad) {
        uint64_t lo = j->good_upto + 1, hi = j->last_seq;
        if (j->bad_group) {
            lo = j->bad_lo;
            hi = j->bad_hi;
        }
        report(v, TRAIL_DAMAGE_MODIFIED, lo, hi, j->name,
               "the records do not lead to the chain head %s: a record between %" PRIu64
               " and %" PRIu64 " was changed",
               boundary_why, lo, hi);
        return 1;
    }
    if (j->bad_group && !j->bad_group_cleared && !boundary_why) {
        report(v, TRAIL_DAMAGE_MODIFIED, j->bad_lo, j->bad_hi, j->name,
               "the records of group %" PRIu64 " do not give its root in tree.roots: a record "
               "between %" PRIu64 " and %" PRIu64 " was changed (or tree.roots was)",
               j->bad_group_no, j->bad_lo, j->bad_hi);
        return 1;
    }
    if (j->bad_group) {
        report(v, TRAIL_DAMAGE_SIDE_FILE, j->bad_group_no * 256 + 1, j->bad_group_no * 256 + 256,
               "tree.roots",
               "the root of group %" PRIu64 " in tree.roots is not the root of its records, "
               "which agree with the chain: tree.roots was changed",
               j->bad_group_no);
        return 1;
    }
    return 0;
}

/*
 * Is [first, last] a run that trail repair quarantined (a line of
 * DIR/quarantined, lib/store/store_damage.c)? Then it is reported as that: known
 * damage, never ok. 1 and where it went in ret_where, else 0.
 */
static int quarantined_run(struct verify *v, uint64_t first, uint64_t last, char *ret_where,
                           size_t size)
{
    int fd = openat(v->dir_fd, "quarantined", O_RDONLY | O_CLOEXEC);
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    char line[1024], where[300];
    int found = 0;
    uint64_t at = first;
    /* several lines may together cover the gap (neighbouring segments quarantined) */
    for (int pass = 0; pass < 64 && at <= last && !found; pass++) {
        int moved = 0;
        rewind(f);
        while (fgets(line, sizeof(line), f)) {
            uint64_t a, b;
            int64_t t;
            if (sscanf(line, "%" SCNu64 " %" SCNu64 " %" SCNd64 " %299s", &a, &b, &t, where) == 4 &&
                a <= at && b >= at) {
                if (at == first)
                    snprintf(ret_where, size, "%s", where);
                at = b + 1;
                moved = 1;
            }
        }
        if (!moved)
            break;
        found = at > last;
    }
    fclose(f);
    return found;
}

/* Does the first segment start where it must? (from nothing, or from a purge's anchor) */
static int check_start(struct verify *v, const struct seg_job *j, const struct purge_rec *purges,
                       size_t n_purges, struct trail_verify_report *rep)
{
    uint64_t first = j->h.first_seq;
    if (first == 1) {
        static const uint8_t zero[TRAIL_HASH_LEN];
        if (memcmp(j->h.chain, zero, TRAIL_HASH_LEN) != 0)
            return report(v, TRAIL_DAMAGE_SEGMENT_REPLACED, 1, 1, j->name,
                          "the first segment does not start from the empty chain");
        return 0;
    }
    const struct purge_rec *match = NULL;
    uint64_t best_below = 0;
    for (size_t i = 0; i < n_purges; i++) {
        if (purges[i].to_seq == first - 1)
            match = &purges[i];
        else if (purges[i].to_seq < first - 1 && purges[i].to_seq > best_below)
            best_below = purges[i].to_seq;
    }
    char where[300];
    if (!match && quarantined_run(v, best_below + 1, first - 1, where, sizeof(where)))
        return report(v, TRAIL_DAMAGE_QUARANTINED, best_below + 1, first - 1, j->name,
                      "records %" PRIu64 "..%" PRIu64 " were quarantined by trail repair (%s): "
                      "they are gone",
                      best_below + 1, first - 1, where);
    if (!match)
        return report(v, TRAIL_DAMAGE_SEGMENT_MISSING, best_below + 1, first - 1, j->name,
                      "records %" PRIu64 "..%" PRIu64 " are missing and no purge record "
                      "accounts for them: a segment was removed",
                      best_below + 1, first - 1);
    if (!match->anchor_ok || match->fr.size != first - 1 ||
        memcmp(match->chain, j->h.chain, TRAIL_HASH_LEN) != 0 ||
        !frontier_eq(&match->fr, &j->h.frontier))
        return report(v, TRAIL_DAMAGE_SEGMENT_REPLACED, first, first, j->name,
                      "the first segment does not start from the anchor of the purge recorded "
                      "at seq %" PRIu64,
                      match->seq);
    (void)rep;
    note(v,
         "starts after a purge of records up to %" PRIu64 " (recorded at seq %" PRIu64
         "), from its anchor",
         first - 1, match->seq);
    return 0;
}

/*
 * A checkpoint the store was found to hold: what it vouches for. Only a
 * signature checked with a key the caller gave counts: a checkpoint taken
 * unchecked, or checked with DIR/checkpoint.pub, is no more trustworthy than
 * the directory it came from.
 */
static void vouched(struct verify *v, struct trail_verify_report *rep, const struct vcp *c)
{
    if (!v->o->n_keys)
        return;
    rep->signed_checkpoints++;
    if (c->size > rep->signed_size)
        rep->signed_size = c->size;
    if (c->external && c->size >= rep->witnessed_size) {
        rep->witnessed_size = c->size;
        rep->witnessed_time_us = c->time_us;
    }
}

/*
 * With require_signed: the records no signed checkpoint covers. An attacker
 * who can write to DIR can rewrite every record, hash, side file and header
 * consistently, and delete DIR/checkpoints or the lines past a cut; then
 * the only thing left that tells is what is *not* signed. So a record after
 * the last signed checkpoint is damage, and a store with none is damage
 * however small, except for the tail the caller accepts (a live store's
 * records since its last checkpoint).
 */
static int check_signed(struct verify *v, struct trail_verify_report *rep)
{
    if (!v->o->require_signed || !v->o->n_keys)
        return 0;
    uint64_t first = rep->first_seq, last = rep->last_seq;
    int any = rep->records > 0 && last >= first;
    if (v->n_found) {
        /* the store fails already, and the damage found says why the checkpoints do not
           hold: reported first, it names the place; this only adds the extent */
        uint64_t lo = rep->signed_size + 1 > first ? rep->signed_size + 1 : first;
        if (any && lo <= last)
            note(v,
                 "records %" PRIu64 "..%" PRIu64 " are covered by no signed checkpoint that holds",
                 lo, last);
        return 0;
    }
    if (rep->signed_checkpoints == 0) {
        if (any)
            return report(v, TRAIL_DAMAGE_UNSIGNED, first, last, "checkpoints",
                          "no checkpoint signed by the keys given holds: records %" PRIu64
                          "..%" PRIu64 " are vouched for by nothing (DIR/checkpoints was "
                          "deleted or rewritten, or the store was rebuilt)",
                          first, last);
        return report(v, TRAIL_DAMAGE_UNSIGNED, 0, 0, "checkpoints",
                      "no checkpoint signed by the keys given holds: nothing vouches that "
                      "the store is meant to be empty");
    }
    uint64_t lo = rep->signed_size + 1 > first ? rep->signed_size + 1 : first;
    if (!any || lo > last)
        return 0;
    uint64_t n = last - lo + 1;
    if (n <= v->o->allow_unsigned_tail) {
        note(v,
             "records %" PRIu64 "..%" PRIu64 " (%" PRIu64 ") are after the last signed "
             "checkpoint (size %" PRIu64 "): accepted unsigned (--allow-unsigned-tail %" PRIu64
             "); anyone who can write to DIR could have changed them",
             lo, last, n, rep->signed_size, v->o->allow_unsigned_tail);
        return 0;
    }
    return report(v, TRAIL_DAMAGE_UNSIGNED, lo, last, "checkpoints",
                  "records %" PRIu64 "..%" PRIu64 " (%" PRIu64 ") are covered by no checkpoint "
                  "signed by the keys given (the last covers %" PRIu64 " records): anyone who "
                  "can write to DIR could have changed or cut them",
                  lo, last, n, rep->signed_size);
}

/* What the steps of the join share. */
struct join_ctx {
    struct verify *v;
    struct trail_verify_report *rep;
    struct purge_rec *purges; /* every segment's purge records, in seq order */
    size_t n_purges;
    int started;               /* a segment with a readable header was met */
    struct seg_job *prev;      /* the segment before, when it ended cleanly */
    struct seg_job *last_read; /* the last segment whose records were read */
    /* for matching the checkpoints */
    uint64_t have_last, first_kept;
    const struct seg_job *first_job;    /* the first segment whose header reads */
    uint8_t start_root[TRAIL_HASH_LEN]; /* the tree it starts from */
    uint64_t ext_ok;                    /* the largest witness checkpoint the store agrees with */
};

/* Every segment's purge records, gathered in seq order (the segments are). */
static int collect_purges(struct join_ctx *jc)
{
    struct verify *v = jc->v;
    for (size_t i = 0; i < v->n_segs; i++) {
        const struct seg_job *j = &v->segs[i];
        for (size_t k = 0; k < j->n_purges; k++) {
            struct purge_rec *p = realloc(jc->purges, (jc->n_purges + 1) * sizeof(*p));
            if (!p)
                return -ENOMEM;
            jc->purges = p;
            jc->purges[jc->n_purges++] = j->purges[k];
        }
    }
    jc->rep->purges = jc->n_purges;
    return 0;
}

/* The boundary between jc->prev, which ended cleanly, and j, the segment after it. */
static void join_boundary(struct join_ctx *jc, struct seg_job *j)
{
    struct verify *v = jc->v;
    struct seg_job *prev = jc->prev;
    uint64_t want = prev->last_seq + 1;
    char qwhere[300];
    if (j->h.first_seq > want) {
        if (prev->has_trailer && prev->trailer_last >= want)
            report(v, TRAIL_DAMAGE_REMOVED, want, prev->trailer_last, prev->name,
                   "records %" PRIu64 "..%" PRIu64
                   " are missing from the end of the segment (its trailer says it "
                   "ends at %" PRIu64 ")",
                   want, prev->trailer_last, prev->trailer_last);
        else if (quarantined_run(v, want, j->h.first_seq - 1, qwhere, sizeof(qwhere)))
            report(v, TRAIL_DAMAGE_QUARANTINED, want, j->h.first_seq - 1, j->name,
                   "records %" PRIu64 "..%" PRIu64 " were quarantined by trail repair "
                   "(%s): they are gone",
                   want, j->h.first_seq - 1, qwhere);
        else
            report(v, TRAIL_DAMAGE_SEGMENT_MISSING, want, j->h.first_seq - 1, j->name,
                   "records %" PRIu64 "..%" PRIu64 " are missing: no segment holds "
                   "them (a segment was removed)",
                   want, j->h.first_seq - 1);
    } else if (j->h.first_seq < want) {
        report(v, TRAIL_DAMAGE_INSERTED, prev->good_upto + 1, prev->last_seq, prev->name,
               "the segment holds records up to %" PRIu64 " but the next one starts "
               "at %" PRIu64 ": records were inserted between %" PRIu64 " and %" PRIu64,
               prev->last_seq, j->h.first_seq, prev->good_upto + 1, prev->last_seq);
    } else if (memcmp(j->h.chain, prev->chain, TRAIL_HASH_LEN) != 0 ||
               !frontier_eq(&j->h.frontier, &prev->fr)) {
        if (prev->has_trailer && memcmp(prev->trailer_chain, prev->chain, TRAIL_HASH_LEN) == 0 &&
            !prev->bad_cp && !prev->bad_group) {
            j->replaced = 1;
            report(v, TRAIL_DAMAGE_SEGMENT_REPLACED, j->h.first_seq, j->h.first_seq, j->name,
                   "the segment does not continue the one before it (its starting chain "
                   "head and tree are not where %s ends)",
                   prev->name);
        } else {
            char why[96];
            snprintf(why, sizeof(why), "that %s starts from", j->name);
            hash_damage(v, prev, 1, why);
        }
    } else {
        hash_damage(v, prev, 0, "");
        /* the records join up: a trailer that says otherwise was changed */
        if (prev->has_trailer && (prev->trailer_last != prev->last_seq ||
                                  memcmp(prev->trailer_chain, prev->chain, TRAIL_HASH_LEN) != 0))
            report(v, TRAIL_DAMAGE_SIDE_FILE, prev->last_seq, prev->last_seq, prev->name,
                   "the sealed segment's trailer (last seq %" PRIu64
                   ", chain head) is not what its records give, though they lead to the "
                   "next segment: the trailer was changed",
                   prev->trailer_last);
    }
}

/*
 * The segments in seq order: each one's counts into the report, the first
 * one's start, each boundary with the one before, each one's own structural
 * damage and torn end.
 */
static int walk_segments(struct join_ctx *jc)
{
    struct verify *v = jc->v;
    struct trail_verify_report *rep = jc->rep;
    int r;
    for (size_t i = 0; i < v->n_segs; i++) {
        struct seg_job *j = &v->segs[i];
        if (j->error) {
            report(v, TRAIL_DAMAGE_FORMAT, j->name_seq, j->name_seq, j->name, "cannot read: %s",
                   trail_strerror(j->error));
            if (jc->prev)
                hash_damage(v, jc->prev, 0, NULL);
            jc->prev = NULL;
            continue;
        }
        if (j->header_ok == 2) {
            note(v, "%s: empty (created just before a crash or now): nothing in it", j->name);
            continue;
        }
        rep->segments++;
        rep->records += j->n_records;
        rep->bytes += j->bytes;
        rep->group_roots += j->groups_checked;
        if (!j->header_ok) {
            add_finding(v, &j->stop);
            if (jc->prev)
                hash_damage(v, jc->prev, 0, NULL);
            if (!jc->started)
                rep->first_seq = j->name_seq;
            jc->started = 1;
            jc->prev = NULL;
            continue;
        }
        if (!jc->started) {
            jc->started = 1;
            rep->first_seq = j->h.first_seq;
            if ((r = check_start(v, j, jc->purges, jc->n_purges, rep)) < 0)
                return r;
        }
        /* the boundary with the segment before (not when this one is another store's) */
        int foreign = j->stopped && j->stop.kind == TRAIL_DAMAGE_SEGMENT_REPLACED;
        if (jc->prev && foreign)
            hash_damage(v, jc->prev, 0, NULL);
        else if (jc->prev)
            join_boundary(jc, j);
        if (j->stopped) {
            add_finding(v, &j->stop);
            if (j->bad_cp || j->bad_group)
                hash_damage(v, j, 0, NULL); /* before the structural damage */
            jc->prev = NULL;
            jc->last_read = j;
            continue;
        }
        if (j->torn_off && !j->is_last)
            report(v, TRAIL_DAMAGE_FORMAT, j->last_seq + 1, j->last_seq + 1, j->name,
                   "the segment ends in an unfinished frame at offset %" PRIu64
                   " but it is not the last",
                   j->torn_off);
        else if (j->torn_off)
            note(v,
                 "%s: an unfinished frame at offset %" PRIu64
                 " (a write in progress, or a crash): not a record yet",
                 j->name, j->torn_off);
        jc->prev = j;
        jc->last_read = j;
    }
    return 0;
}

/* The last segment's own evidence (no segment after it to join), and where the records end. */
static int last_segment(struct join_ctx *jc)
{
    struct verify *v = jc->v;
    struct trail_verify_report *rep = jc->rep;
    struct seg_job *prev = jc->prev;
    int r;
    if (prev) {
        if (prev->has_trailer && memcmp(prev->trailer_chain, prev->chain, TRAIL_HASH_LEN) != 0)
            hash_damage(v, prev, 1, "in its trailer");
        else
            hash_damage(v, prev, 0, NULL);
        if (prev->has_trailer && prev->trailer_last > prev->last_seq)
            report(v, TRAIL_DAMAGE_TRUNCATED, prev->last_seq + 1, prev->trailer_last, prev->name,
                   "records %" PRIu64 "..%" PRIu64
                   " are missing from the end (the segment's trailer says it ends at %" PRIu64 ")",
                   prev->last_seq + 1, prev->trailer_last, prev->trailer_last);
        rep->last_seq = prev->last_seq;
        memcpy(rep->chain, prev->chain, TRAIL_HASH_LEN);
        if ((r = frontier_root(&prev->fr, rep->root)) < 0)
            return r;
    } else if (jc->last_read) {
        rep->last_seq = jc->last_read->last_seq;
    }
    if (!jc->started)
        rep->first_seq = 1;
    return 0;
}

/* Every purge's anchor against tree.roots and anchors. */
static int purge_anchors(struct join_ctx *jc)
{
    struct verify *v = jc->v;
    for (size_t i = 0; i < jc->n_purges; i++) {
        const struct purge_rec *p = &jc->purges[i];
        if (!p->anchor_ok || p->fr.size != p->to_seq) {
            report(v, TRAIL_DAMAGE_FORMAT, p->seq, p->seq, "(purge record)",
                   "the purge record at seq %" PRIu64 " has no usable anchor", p->seq);
            continue;
        }
        int k = -1;
        int fr = frontier_vs_side(v, &p->fr, &k);
        if (fr < 0)
            return fr;
        if (fr == 0)
            report(v, TRAIL_DAMAGE_SIDE_FILE, p->to_seq, p->to_seq, "tree.roots",
                   "the anchor of the purge at seq %" PRIu64 " (a subtree of %" PRIu64
                   " leaves) does not match tree.roots and anchors",
                   p->seq, (uint64_t)1 << k);
    }
    return 0;
}

/* tree.roots beyond the records: group roots for records that are not there. */
static void roots_beyond(struct join_ctx *jc)
{
    struct verify *v = jc->v;
    uint64_t have_last = jc->rep->last_seq;
    if (v->n_roots > have_last / 256 && !is_zero(v->roots[v->n_roots - 1], TRAIL_HASH_LEN) &&
        v->n_segs) {
        uint64_t covered = v->n_roots * 256;
        const char *file = v->segs[v->n_segs - 1].name;
        report(v, TRAIL_DAMAGE_TRUNCATED, have_last + 1, covered, file,
               "tree.roots holds group roots up to record %" PRIu64
               " but the records end at %" PRIu64 ": the tail was cut",
               covered, have_last);
    }
}

/*
 * A witness's checkpoint the store's records disagree with (res says in
 * what). Damage in the records is reported from the segment; a fork is when
 * the store is consistent in itself and still not what the witness saw.
 */
static void witness_differs(struct join_ctx *jc, const struct vcp *c, int res)
{
    struct verify *v = jc->v;
    char cpn[64];
    int seg_damaged = 0;
    for (size_t k = 0; k < v->n_found; k++)
        if (v->found[k].seq && v->found[k].seq <= c->size)
            seg_damaged = 1;
    if (!seg_damaged)
        report(v, TRAIL_DAMAGE_FORK, jc->ext_ok + 1, c->size, "(external)",
               "at size %" PRIu64 " the store's tree %s is not the one %s signs: "
               "the store was rewritten (a fork) after record %" PRIu64
               " and at or before record %" PRIu64,
               c->size, res == CP_ROOT_DIFFERS ? "root" : "chain head", cp_name(c, cpn), jc->ext_ok,
               c->size);
}

/* A checkpoint that covers more records than the store holds. */
static void checkpoint_beyond(struct join_ctx *jc, const struct vcp *c)
{
    struct verify *v = jc->v;
    uint64_t have_last = jc->have_last;
    char cpn[64];
    if (c->external)
        report(v, TRAIL_DAMAGE_ROLLBACK, have_last + 1, c->size, "(external)",
               "%s covers %" PRIu64 " records but the store ends at %" PRIu64
               ": it was rolled back or its tail cut",
               cp_name(c, cpn), c->size, have_last);
    else
        report(v, TRAIL_DAMAGE_TRUNCATED, have_last + 1, c->size,
               v->n_segs ? v->segs[v->n_segs - 1].name : "(no segment)",
               "records %" PRIu64 "..%" PRIu64 " are missing: the store's own %s covers "
               "%" PRIu64 " records",
               have_last + 1, c->size, cp_name(c, cpn), c->size);
}

/* A checkpoint of records purged: the root from tree.roots and anchors (the chain is gone). */
static int checkpoint_purged(struct join_ctx *jc, const struct vcp *c)
{
    struct verify *v = jc->v;
    char cpn[64];
    uint8_t root[TRAIL_HASH_LEN];
    int sr = side_mth(v, 0, c->size, root);
    if (sr < 0)
        return sr;
    if (sr == 0) {
        note(v, "%s (size %" PRIu64 ") predates the records kept; not rechecked", cp_name(c, cpn),
             c->size);
        return 0;
    }
    jc->rep->checked++;
    if (memcmp(root, c->root, TRAIL_HASH_LEN) != 0)
        report(v, c->external ? TRAIL_DAMAGE_FORK : TRAIL_DAMAGE_SIDE_FILE, 1, c->size,
               c->external ? "(external)" : "tree.roots",
               "%s (size %" PRIu64 ", before the purge point) does not match the tree "
               "kept in tree.roots and anchors",
               cp_name(c, cpn), c->size);
    else
        vouched(v, jc->rep, c);
    return 0;
}

/* One checkpoint (in size order): met by a worker, or placed against the records now. */
static int match_checkpoint(struct join_ctx *jc, struct vcp *c)
{
    struct verify *v = jc->v;
    struct trail_verify_report *rep = jc->rep;
    char cpn[64];
    int res = __atomic_load_n(&c->result, __ATOMIC_RELAXED);
    if (res == CP_MATCH) {
        rep->checked++;
        if (c->external)
            jc->ext_ok = c->size;
        vouched(v, rep, c);
        return 0;
    }
    if (res != CP_UNSEEN) {
        rep->checked++;
        if (c->external)
            witness_differs(jc, c, res);
        return 0;
    }
    if (c->size > jc->have_last) {
        checkpoint_beyond(jc, c);
        return 0;
    }
    if (c->size == 0) {
        uint8_t empty[TRAIL_HASH_LEN];
        static const uint8_t zero[TRAIL_HASH_LEN];
        trail_hash_empty(empty);
        rep->checked++;
        if (memcmp(c->root, empty, TRAIL_HASH_LEN) || memcmp(c->chain, zero, TRAIL_HASH_LEN))
            report(v, c->external ? TRAIL_DAMAGE_FORK : TRAIL_DAMAGE_CHECKPOINT, 0, 0,
                   c->external ? "(external)" : "checkpoints",
                   "%s of size 0 does not sign the empty tree", cp_name(c, cpn));
        else
            vouched(v, rep, c);
        return 0;
    }
    if (jc->first_job && c->size == jc->first_kept - 1) {
        rep->checked++;
        if (memcmp(c->root, jc->start_root, TRAIL_HASH_LEN) ||
            memcmp(c->chain, jc->first_job->h.chain, TRAIL_HASH_LEN))
            report(v, c->external ? TRAIL_DAMAGE_FORK : TRAIL_DAMAGE_SEGMENT_REPLACED,
                   jc->first_kept, jc->first_kept, jc->first_job->name,
                   "the state the first segment starts from is not what %s signs", cp_name(c, cpn));
        else
            vouched(v, rep, c);
        return 0;
    }
    if (c->size < jc->first_kept)
        return checkpoint_purged(jc, c);
    note(v, "%s (size %" PRIu64 ") falls among damaged records; not compared", cp_name(c, cpn),
         c->size);
    return 0;
}

/* Every checkpoint taken as evidence: was it met? */
static int match_checkpoints(struct join_ctx *jc)
{
    struct verify *v = jc->v;
    int r;
    jc->have_last = jc->rep->last_seq;
    jc->first_kept = jc->rep->first_seq;
    for (size_t i = 0; i < v->n_segs; i++)
        if (v->segs[i].header_ok == 1) {
            jc->first_job = &v->segs[i];
            break;
        }
    if (jc->first_job && (r = frontier_root(&jc->first_job->h.frontier, jc->start_root)) < 0)
        return r;
    for (size_t i = 0; i < v->n_sorted; i++)
        if ((r = match_checkpoint(jc, v->sorted[i])) < 0)
            return r;
    return 0;
}

/* Same size, different tree: a fork among the store's own checkpoints. */
static void checkpoint_forks(struct verify *v)
{
    for (size_t i = 1; i < v->n_sorted; i++) {
        const struct vcp *a = v->sorted[i - 1], *b = v->sorted[i];
        if (a->external || b->external)
            continue; /* a witness's disagreeing with the store is reported above */
        if (a->size == b->size && (memcmp(a->root, b->root, TRAIL_HASH_LEN) ||
                                   memcmp(a->chain, b->chain, TRAIL_HASH_LEN))) {
            char an[64], bn[64];
            report(v, TRAIL_DAMAGE_FORK, 1, a->size, b->external ? "(external)" : "checkpoints",
                   "%s and %s both sign size %" PRIu64 " with different trees", cp_name(a, an),
                   cp_name(b, bn), a->size);
        }
    }
}

/* The signatures of DIR/checkpoints that did not verify (checked by the workers). */
static void bad_signatures(struct verify *v)
{
    for (size_t i = 0; i < v->n_internal; i++) {
        if (!v->sig_bad[i])
            continue;
        const struct vcp *c = &v->cps[i];
        struct trail_checkpoint full;
        trail_checkpoint_parse(v->cp_text + v->cp_off[i], v->cp_linelen[i], &full);
        if (v->sig_bad[i] == 1)
            report(v, TRAIL_DAMAGE_SIGNATURE, c->size, c->size, "checkpoints",
                   "line %" PRIu32 " (size %" PRIu64 ") has a signature that does not verify: "
                   "the checkpoint was altered or forged",
                   c->line, c->size);
        else
            report(v, TRAIL_DAMAGE_SIGNATURE, c->size, c->size, "checkpoints",
                   "line %" PRIu32 " (size %" PRIu64 ") is signed by key %s, which is not "
                   "among the keys given",
                   c->line, c->size, full.key_id);
    }
}

/*
 * The segments joined in seq order, then everything checked against the
 * whole: purge anchors, tree.roots, the checkpoints. The order of the steps
 * is the order findings of equal seq are reported in.
 */
static int join(struct verify *v, struct trail_verify_report *rep)
{
    struct join_ctx jc = {.v = v, .rep = rep};
    int r;
    if ((r = collect_purges(&jc)) < 0 || (r = walk_segments(&jc)) < 0 ||
        (r = last_segment(&jc)) < 0 || (r = purge_anchors(&jc)) < 0)
        goto out;
    roots_beyond(&jc);
    if ((r = match_checkpoints(&jc)) < 0)
        goto out;
    checkpoint_forks(v);
    bad_signatures(v);
    /* last: it tells apart a store that fails already from one only signatures can fail */
    r = check_signed(v, rep);
out:
    free(jc.purges);
    return r;
}

/* ---- the call ---- */

/* In seq order; damage that names no record (seq 0) after the rest. */
static int cmp_finding(const void *a, const void *b)
{
    const struct finding *x = a, *y = b;
    uint64_t xs = x->seq ? x->seq : UINT64_MAX, ys = y->seq ? y->seq : UINT64_MAX;
    if (xs != ys)
        return xs < ys ? -1 : 1;
    return x->kind - y->kind;
}

/*
 * Segments the listing missed: after two segments read one after the other
 * with a gap between them, a file for the first missing seq that exists now
 * is read too, and so on until no gap can be filled that way. (A live
 * store's sealer renames files while the directory is listed; two listings
 * in a row make a miss rare, this makes it harmless.) Returns 0 or -ENOMEM.
 */
static int fill_gaps(struct verify *v, struct worker *w)
{
    for (int rounds = 0; rounds < 100000; rounds++) {
        struct seg_job found;
        int have = 0;
        for (size_t i = 1; i < v->n_segs && !have; i++) {
            const struct seg_job *a = &v->segs[i - 1], *b = &v->segs[i];
            if (a->header_ok != 1 || b->header_ok != 1 || a->stopped || a->error ||
                b->h.first_seq <= a->last_seq + 1)
                continue;
            for (int sealed = 1; sealed >= 0 && !have; sealed--) {
                struct stat st;
                memset(&found, 0, sizeof(found));
                found.name_seq = a->last_seq + 1;
                found.sealed = sealed;
                snprintf(found.name, sizeof(found.name), "seg-%016" PRIx64 "%s", found.name_seq,
                         sealed ? ".seg" : ".open");
                have = fstatat(v->dir_fd, found.name, &st, 0) == 0;
            }
        }
        if (!have)
            return 0;
        if (v->n_segs == v->cap_segs) {
            size_t cap = 2 * v->cap_segs + 16;
            struct seg_job *p = realloc(v->segs, cap * sizeof(*p));
            if (!p)
                return -ENOMEM;
            v->segs = p;
            v->cap_segs = cap;
        }
        struct seg_job *j = &v->segs[v->n_segs++];
        *j = found;
        int r = read_segment(w, j);
        if (r < 0 && !j->error)
            j->error = r;
        if (j->error == -ENOMEM)
            return -ENOMEM;
        qsort(v->segs, v->n_segs, sizeof(*v->segs), cmp_job);
    }
    return 0;
}

int trail_verify_store(const char *dir, const struct trail_verify_opts *opts,
                       struct trail_verify_report *ret)
{
    static const struct trail_verify_opts none = {0};
    struct verify *v = calloc(1, sizeof(*v));
    struct trail_verify_report *rep = calloc(1, sizeof(*rep));
    struct worker *workers = NULL;
    pthread_t *tids = NULL;
    int n_threads = 0, r;
    if (!v || !rep) {
        free(v);
        free(rep);
        return -ENOMEM;
    }
    pthread_mutex_init(&v->lock, NULL);
    v->dir = dir;
    v->o = opts ? opts : &none;
    v->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (v->dir_fd < 0) {
        r = errno == ENOENT ? TRAIL_E_NOT_FOUND : -errno;
        goto out;
    }
    if ((r = list_segments(v)) < 0 || (r = load_store_id(v)) < 0)
        goto out;
    if (!v->have_id && v->n_segs == 0) {
        r = TRAIL_E_NOT_FOUND;
        goto out;
    }
    memcpy(rep->store_id, v->origin, sizeof(rep->store_id));
    if ((r = load_side_files(v)) < 0 || (r = load_checkpoints(v, rep)) < 0)
        goto out;
    /* the segments again, now: a live writer makes records durable before it writes the
       checkpoints and group roots that cover them, so every segment those read above
       cover is in this list, with at least the records they cover */
    if ((r = list_segments(v)) < 0)
        goto out;

    n_threads = v->o->threads > 0 ? v->o->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (n_threads < 1)
        n_threads = 1;
    if (n_threads > MAX_THREADS)
        n_threads = MAX_THREADS;
    workers = calloc((size_t)n_threads, sizeof(*workers));
    tids = calloc((size_t)n_threads, sizeof(*tids));
    if (!workers || !tids) {
        r = -ENOMEM;
        goto out;
    }
    for (int i = 0; i < n_threads; i++) {
        workers[i].v = v;
        workers[i].dctx = ZSTD_createDCtx();
        if (!workers[i].dctx) {
            r = -ENOMEM;
            goto out;
        }
    }
    if (v->o->n_keys && v->n_internal)
        run_pool(v, workers, tids, n_threads, 0, (v->n_internal + SIG_CHUNK - 1) / SIG_CHUNK);
    if ((r = sort_checkpoints(v)) < 0)
        goto out;
    rep->threads = run_pool(v, workers, tids, n_threads, 1, v->n_segs);
    rep->signatures = v->signatures;
    if ((r = fill_gaps(v, &workers[0])) < 0)
        goto out;

    if ((r = join(v, rep)) < 0)
        goto out;
    for (size_t i = 0; i < v->n_segs; i++)
        if (v->segs[i].error == -ENOMEM) {
            r = -ENOMEM;
            goto out;
        }
    if (v->n_found)
        qsort(v->found, v->n_found, sizeof(*v->found), cmp_finding);
    rep->n_damage = (uint32_t)v->n_found;
    for (size_t i = 0; i < v->n_found && i < TRAIL_VERIFY_MAX_DAMAGE; i++) {
        struct trail_verify_damage *d = &rep->damage[i];
        d->kind = v->found[i].kind;
        d->seq = v->found[i].seq;
        d->seq_last = v->found[i].seq_last;
        snprintf(d->file, sizeof(d->file), "%s", v->found[i].file);
        snprintf(d->message, sizeof(d->message), "%s", v->found[i].msg);
    }
    memcpy(rep->notes, v->notes, sizeof(rep->notes));
    *ret = *rep;
    r = 0;
out:
    for (int i = 0; workers && i < n_threads; i++) {
        trail_buf_free(&workers[i].in);
        trail_buf_free(&workers[i].raw);
        ZSTD_freeDCtx(workers[i].dctx);
    }
    free(workers);
    free(tids);
    for (size_t i = 0; i < v->n_segs; i++)
        free(v->segs[i].purges);
    free(v->segs);
    free(v->roots);
    free(v->anchors);
    if (v->cp_text)
        munmap((void *)v->cp_text, v->cp_len);
    free(v->cp_off);
    free(v->cp_linelen);
    free(v->cps);
    free(v->sorted);
    free(v->sig_bad);
    free(v->found);
    if (v->dir_fd >= 0)
        close(v->dir_fd);
    pthread_mutex_destroy(&v->lock);
    free(v);
    free(rep);
    return r;
}
