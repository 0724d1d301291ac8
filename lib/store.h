/*
 * store.h - what the store's files share (internal): CRC-32C, the record
 * codec, the segment file formats, the frame reader, and the layout of
 * struct trail_store.
 *
 * Not here: the public calls (include/trail.h, "Store"), hashing
 * (lib/merkle.h), proofs and checkpoints (the integrity layer).
 *
 * The formats are documented byte by byte in docs/format.md; the comments
 * beside each encoder below say the same thing in short.
 */
#ifndef TRAIL_STORE_H
#define TRAIL_STORE_H

#include "internal.h"
#include "merkle.h"

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- little-endian fixed-width helpers ---- */

static inline void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void put_u32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4); /* x86-64 and aarch64-le: little-endian already */
}
static inline void put_u64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}
static inline uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t get_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static inline uint64_t get_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "trail's on-disk helpers assume a little-endian host"
#endif

/* ---- CRC-32C (Castagnoli), lib/crc32c.c ---- */

/*
 * trail_crc32c - extend crc (0 to start) over len bytes. Uses the SSE4.2
 * crc32 instruction when the CPU has it, a table otherwise; same result.
 */
uint32_t trail_crc32c(uint32_t crc, const void *data, size_t len);

/* trail_crc32c_sw - the table version, for tests that compare both. */
uint32_t trail_crc32c_sw(uint32_t crc, const void *data, size_t len);

/* ---- duplicates, lib/store_dedup.c (all under the store's lock) ---- */

struct store_dedup;
int store_dedup_new(int64_t window_us, size_t max, struct store_dedup **ret);
void store_dedup_free(struct store_dedup *d);
/* store_dedup_find - the seq holding uuid, or 0. */
uint64_t store_dedup_find(const struct store_dedup *d, const uint8_t uuid[16]);
/* store_dedup_add - remember uuid at seq (> 0); 0 or -ENOMEM. */
int store_dedup_add(struct store_dedup *d, const uint8_t uuid[16], uint64_t seq, int64_t now_us);
/* store_dedup_forget_after - drop what is above seq (a failed flush cut the store back). */
int store_dedup_forget_after(struct store_dedup *d, uint64_t seq);
size_t store_dedup_count(const struct store_dedup *d);

/* ---- records, lib/record.c ---- */

#define TRAIL_RECORD_VERSION       2 /* what trail writes; version 1 is still read */
#define TRAIL_RECORD_VERSION_OK(v) ((v) == 1 || (v) == 2)
#define TRAIL_REC_F_UUID_DERIVED   0x01 /* uuid not stored: derived from store id and seq */
#define TRAIL_REC_F_OWN            0x02 /* written by trail itself (version 2) */
#define TRAIL_REC_F_PROBLEMS       0x04 /* stored with problems listed (version 2) */
#define TRAIL_REC_F_ALL            0x07
#define TRAIL_RECORD_MIN           24 /* version 1: derived uuid, 1-byte id, empty host, no attrs */
#define TRAIL_RECORD_MAX           (16u << 20) /* hard ceiling of a frame's length field */

/*
 * trail_record_size - the exact encoded size of ev as a record, uuid derived
 * when the event has none.
 */
size_t trail_record_size(const struct trail_event *ev);

/*
 * trail_record_write - encode ev into out (trail_record_size() bytes) with
 * the given seq, producer time and received time, in the current record
 * version; returns the bytes written.
 */
size_t trail_record_write(const struct trail_event *ev, uint64_t seq, int64_t time_us,
                          int64_t received_us, uint8_t *out);

/*
 * trail_record_decode - decode a record into ev (made from any catalog; its
 * memory is reused). Derived uuids are computed from store_id. Never reads
 * outside rec[0..len). 0, TRAIL_E_CORRUPT (malformed), TRAIL_E_VERSION or
 * -ENOMEM. ev is reset even on failure.
 */
int trail_record_decode(const uint8_t *rec, size_t len, const uint8_t store_id[16],
                        struct trail_event *ev);

/* ---- the raw record view (lib/record.c) ---- */

struct rec_view {
    uint64_t seq;
    int64_t time_us;
    int severity;
    const uint8_t *id;
    size_t id_len;
    const uint8_t *host;
    size_t host_len;
    int version;         /* 1 or 2 (TRAIL_RECORD_VERSION) */
    int flags;           /* TRAIL_REC_F_* */
    int64_t received_us; /* version 2; 0 in version 1 */
    int input;           /* enum trail_input; TRAIL_INPUT_NONE in version 1 */
    const uint8_t *input_name;
    size_t input_name_len;
    struct trail_peer peer;
    const uint8_t *principal;
    size_t principal_len;
    const uint8_t *problems;
    size_t problems_len;
    const uint8_t *attrs; /* the first attribute */
    const uint8_t *end;
    uint32_t n_attrs;
};

struct rec_attr {
    const char *key;
    size_t klen;
    int type;           /* enum trail_type */
    const uint8_t *val; /* string/enum: the bytes; ip: the address; others: 8 or 1 bytes */
    size_t vlen;        /* string/enum: length; ip: 4 or 16 */
    int64_t i;          /* int, time, bool */
};

/*
 * rec_view_parse - the fields of a record in place, for readers that need no
 * event (filters, the index builder, verify). 0, TRAIL_E_CORRUPT when the
 * part before the attributes does not hold, TRAIL_E_VERSION for a version
 * other than 1 and 2.
 */
int rec_view_parse(const uint8_t *rec, size_t len, struct rec_view *v);

/* rec_attr_next - the attribute at *p (start at v->attrs): 1, 0 at the end, TRAIL_E_CORRUPT. */
int rec_attr_next(const uint8_t **p, const uint8_t *end, struct rec_attr *a);

/* rec_attr_text - the text form of an attribute value (trail_value_format); buf >= 64 bytes. */
size_t rec_attr_text(const struct rec_attr *a, char *buf, const char **ret_text);

/* trail_record_seq / _time - read the fixed fields of a record of len >= MIN. */
static inline uint64_t trail_record_seq(const uint8_t *rec)
{
    return get_u64(rec + 1);
}
static inline int64_t trail_record_time(const uint8_t *rec)
{
    return (int64_t)get_u64(rec + 9);
}

/* trail_uuid_derive - the uuid of a record stored without one (RFC 9562 version 8). */
void trail_uuid_derive(const uint8_t store_id[16], uint64_t seq, uint8_t out[16]);

/* ---- segment files, lib/segment.c ---- */

/*
 * Segment header, at offset 0 of every seg-*.open and seg-*.seg file:
 *
 *   0   8  magic "TRAILSEG"
 *   8   2  format version (1)
 *   10  1  kind: 1 open (frames follow), 2 sealed (zstd blocks, index, trailer)
 *   11  1  number of frontier nodes that follow the fixed part (popcount of
 *          the tree size at start)
 *   12  4  header length in bytes (128 + 32 * nodes)
 *   16  16 store id
 *   32  8  first seq
 *   40  8  created, µs since the epoch
 *   48  32 chain head before the first record (chain(first seq - 1))
 *   80  8  tree size before the first record (first seq - 1)
 *   88  36 reserved, zero
 *   124 32*n frontier nodes, the highest set bit of the tree size first
 *   ... 4  CRC-32C of every header byte before it
 *
 * Frame (open segments, and inside every decompressed block):
 *   0 4 record length L   4 4 CRC-32C of the record   8 L the record
 */
#define TRAIL_SEG_MAGIC      "TRAILSEG"
#define TRAIL_SEG_VERSION    1
#define TRAIL_SEG_KIND_OPEN  1
#define TRAIL_SEG_KIND_SEAL  2
#define TRAIL_SEG_FIXED      124
#define TRAIL_SEG_HEADER_MAX (TRAIL_SEG_FIXED + 32 * 64 + 4)
#define TRAIL_FRAME_HEAD     8

/* the header's fields, by offset (the table above) */
enum {
    SEG_H_MAGIC = 0,
    SEG_H_VERSION = 8,
    SEG_H_KIND = 10,
    SEG_H_NODES = 11,
    SEG_H_LEN = 12,
    SEG_H_STORE_ID = 16,
    SEG_H_FIRST_SEQ = 32,
    SEG_H_CREATED = 40,
    SEG_H_CHAIN = 48,
    SEG_H_TREE_SIZE = 80,
    SEG_H_RESERVED = 88,
};
_Static_assert(SEG_H_RESERVED + 36 == TRAIL_SEG_FIXED, "the header's fixed part is 124 bytes");
_Static_assert(SEG_H_TREE_SIZE + 8 == SEG_H_RESERVED, "the tree size is 8 bytes");

struct seg_header {
    int kind;
    uint32_t header_len;
    uint8_t store_id[16];
    uint64_t first_seq;
    int64_t created_us;
    uint8_t chain[TRAIL_HASH_LEN];
    struct trail_frontier frontier; /* size = first_seq - 1 */
};

/* seg_header_encode - write h into out (TRAIL_SEG_HEADER_MAX); returns its length. */
size_t seg_header_encode(const struct seg_header *h, uint8_t *out);

/* seg_header_decode - parse and check a header; 0, TRAIL_E_VERSION or TRAIL_E_CORRUPT. */
int seg_header_decode(const uint8_t *p, size_t len, struct seg_header *h);

/* seg_header_read - read and parse the header of an open file. */
int seg_header_read(int fd, struct seg_header *h);

/*
 * Sealed segment: header (kind 2) | blocks | index | trailer.
 * Block: one zstd frame holding whole frames, [first, first + count).
 * Index entry, 48 bytes per block:
 *   0 8 first seq  8 4 count  12 4 compressed length  16 8 file offset
 *   24 8 min time  32 8 max time  40 4 raw length  44 4 CRC-32C of the compressed bytes
 * Trailer, the last 96 bytes of the file:
 *   0 8 index offset  8 4 block count  12 4 CRC-32C of the index
 *   16 8 first seq  24 8 last seq  32 32 chain head after the last record
 *   64 8 min time  72 8 max time  80 4 reserved  84 4 CRC-32C of bytes 0..83
 *   88 8 magic "TRAILEND"
 */
#define TRAIL_SEG_INDEX_ENTRY 48
#define TRAIL_SEG_TRAILER     96
#define TRAIL_SEG_END_MAGIC   "TRAILEND"

/* an index entry's fields, by offset */
enum {
    SEG_I_FIRST_SEQ = 0,
    SEG_I_COUNT = 8,
    SEG_I_COMP_LEN = 12,
    SEG_I_OFFSET = 16,
    SEG_I_MIN_TIME = 24,
    SEG_I_MAX_TIME = 32,
    SEG_I_RAW_LEN = 40,
    SEG_I_CRC = 44,
};
_Static_assert(SEG_I_CRC + 4 == TRAIL_SEG_INDEX_ENTRY, "an index entry is 48 bytes");

/* the trailer's fields, by offset */
enum {
    SEG_T_INDEX_OFF = 0,
    SEG_T_BLOCKS = 8,
    SEG_T_INDEX_CRC = 12,
    SEG_T_FIRST_SEQ = 16,
    SEG_T_LAST_SEQ = 24,
    SEG_T_CHAIN = 32,
    SEG_T_MIN_TIME = 64,
    SEG_T_MAX_TIME = 72,
    SEG_T_RESERVED = 80,
    SEG_T_CRC = 84,
    SEG_T_MAGIC = 88,
};
_Static_assert(SEG_T_CHAIN + TRAIL_HASH_LEN == SEG_T_MIN_TIME, "the chain head is 32 bytes");
_Static_assert(SEG_T_MAGIC + 8 == TRAIL_SEG_TRAILER, "the trailer is 96 bytes");

struct seg_block {
    uint64_t first_seq;
    uint32_t count;
    uint32_t comp_len;
    uint64_t offset;
    int64_t min_time, max_time;
    uint32_t raw_len;
    uint32_t crc;
};

struct seg_sealed {
    struct seg_header h;
    uint64_t first_seq, last_seq;
    uint8_t chain_end[TRAIL_HASH_LEN];
    int64_t min_time, max_time;
    uint32_t n_blocks;
    struct seg_block *blocks; /* malloc'd */
    uint64_t file_size;
};

/* seg_sealed_load - read and check a sealed file's header, trailer and index. */
int seg_sealed_load(int fd, struct seg_sealed *ret);
void seg_sealed_free(struct seg_sealed *s);

/*
 * seg_block_read - read, check and decompress block b of a sealed file into
 * out (grown as needed). 0, TRAIL_E_CORRUPT, -errno or -ENOMEM.
 */
int seg_block_read(int fd, const struct seg_block *b, void *zstd_dctx, struct trail_buf *comp,
                   struct trail_buf *out);

/*
 * seg_seal - compress the frames of the open segment src_fd (header h,
 * frames up to data_end) into a new sealed file dst_fd, in blocks of about
 * block_bytes raw bytes at the given zstd level; fsyncs dst. Checks every
 * frame's CRC and the seq order on the way (TRAIL_E_CORRUPT otherwise).
 * The caller sets ret->chain_end (the chain head after the segment's last
 * record: the next segment's header has it) before the call; the rest of
 * *ret is filled on success (caller frees with seg_sealed_free()).
 */
int seg_seal(int src_fd, const struct seg_header *h, uint64_t data_end, int dst_fd,
             uint32_t block_bytes, int level, struct seg_sealed *ret);

/* The frame reader: buffered preads over an open segment. */
struct frame_reader {
    int fd;
    uint64_t off; /* file offset of the next frame */
    uint64_t end; /* stop here (file size, or UINT64_MAX for "until EOF") */
    struct trail_buf buf;
    uint64_t buf_off; /* file offset of buf.data[0] */
};

enum frame_status {
    FRAME_OK = 0,
    FRAME_END = 1,  /* clean end of data */
    FRAME_TORN = 2, /* fewer bytes than a frame needs before the end */
    FRAME_BAD = 3   /* a length or CRC that does not hold */
};

/*
 * frame_next - the next frame at r->off: *ret_rec and *ret_len point into
 * r's buffer (valid until the next call); advances r->off past it. A status,
 * or -errno for a read error.
 */
int frame_next(struct frame_reader *r, const uint8_t **ret_rec, uint32_t *ret_len);
void frame_reader_free(struct frame_reader *r);

/*
 * frame_resync - after a bad frame at r->off, look for a later offset where
 * a frame parses, CRC-checks and holds a record whose seq is greater than
 * after_seq. 1 and *ret_off when one exists, 0 when none does, -errno.
 */
int frame_resync(struct frame_reader *r, uint64_t after_seq, uint64_t *ret_off);

/* ---- the store ---- */

struct seg {
    uint64_t first_seq;
    uint64_t last_seq;          /* first_seq - 1 when empty */
    int sealed;                 /* 1: .seg file; 0: .open */
    uint64_t bytes;             /* file size on disk */
    uint64_t data_end;          /* open: offset after the last good frame */
    int64_t min_time, max_time; /* INT64_MAX/INT64_MIN when unknown or empty */
    int64_t created_us;
    int damaged; /* a sealed file whose header, index or trailer is damaged (known damage) */
};

/* A run of appended frames waiting for the flusher. */
struct roll {
    size_t at; /* offset in batch data where the new segment's frames begin */
    struct seg_header h;
    uint64_t prev_bytes;                  /* the segment it ends: its final size */
    int64_t prev_min_time, prev_max_time; /* and time range */
};

struct batch {
    struct trail_buf data; /* frames */
    struct roll *rolls;
    size_t n_rolls, cap_rolls;
    uint8_t (*groups)[TRAIL_HASH_LEN]; /* completed 256-leaf group roots, in order */
    size_t n_groups, cap_groups;
    uint64_t first_seq, last_seq; /* last < first when empty */
    int64_t min_time, max_time;   /* of the frames in the last segment of the batch */
};

/* Where appending stands: everything the next record needs. */
struct live {
    uint64_t next_seq;
    uint8_t chain[TRAIL_HASH_LEN];
    struct trail_frontier frontier;
    uint64_t n_groups;     /* group roots known (complete groups) */
    struct seg_header seg; /* the active segment's header; seg.first_seq == 0: none yet */
    int seg_exists;        /* the file has been created by the flusher */
    uint64_t seg_bytes;    /* its size once everything appended is written */
    int64_t seg_min_time, seg_max_time;
};

struct trail_store {
    char *dir;
    int dir_fd;
    int lock_fd;
    int read_only;
    const struct trail_catalog *cat;
    struct trail_store_opts o;
    uint8_t store_id[16];
    int64_t created_us;

    pthread_mutex_t lock;      /* appends, the batches, live and durable state */
    struct store_dedup *dedup; /* the recent producer uuids (lock); NULL: off or read-only */
    pthread_cond_t flush_cv;   /* the flusher sleeps here */
    pthread_cond_t durable_cv; /* waiters sleep here */
    pthread_cond_t room_cv;    /* appenders blocked by max_pending_bytes */
    pthread_cond_t turn_cv;    /* appenders waiting for their turn to chain */
    uint64_t reserve_next;     /* the seq the next append gets (live.next_seq: the next to chain) */
    int in_flight;             /* appends between their two locked steps */
    int fatal;                 /* the append path failed beyond repair: TRAIL_E_FAILED from now */
    struct live live;
    struct live durable; /* the state after the last durable record */
    struct batch *cur, *spare;
    uint64_t durable_seq;
    uint64_t written_seq; /* written to the file (maybe not synced) */
    int64_t last_time_us;
    int closing;
    int flusher_waiting;
    int flush_now;
    int error;               /* the error of the last failed flush, 0 after a good one */
    int64_t refuse_until_us; /* appends fail fast with error until then */
    uint64_t fail_gen;       /* failed flushes so far */
    uint64_t fail_floor[64]; /* durable seq at failure number g (g % 64) */
    int fail_err[64];        /* and its error */
    int64_t durable_time_us; /* wall clock when durable_seq was published */
    pthread_t flusher;
    int flusher_started;
    int flusher_done;
    int active_fd;          /* flusher-owned: the active .open file */
    uint64_t active_first;  /* its first seq */
    uint64_t active_off;    /* where its next frame goes */
    int trunc_pending;      /* a cut after a failed flush is still to be made */
    uint64_t dropped_off;   /* page cache dropped up to here in the active file */
    int roots_fd;           /* tree.roots, written by the flusher */
    uint64_t roots_written; /* groups in tree.roots */
    int roots_broken;       /* a tree.roots write failed: rebuilt at the next open */
    uint64_t roots_synced;  /* groups in tree.roots known to be on disk */
    int64_t last_checkpoint_us;
    uint64_t last_checkpoint_seq;
    int checkpoint_error;
    struct store_cp *cp; /* checkpoints the store signs itself (store_checkpoint.c), or NULL */
    int cp_signing;      /* 1: it has a key, so a checkpoint is due when the hook's would be */

    /* the files the writer holds, checked by the flusher (store.c, "The store's own files") */
    int tampered;            /* TRAIL_E_TAMPERED once one was found removed or replaced (lock) */
    char tamper_reason[900]; /* what was found and what was rescued (lock) */
    uint64_t tamper_seq;     /* the durable seq when it was found (lock) */
    int64_t next_check_us;   /* flusher: the next check when idle */

    pthread_mutex_t seg_lock; /* the segment list */
    struct seg *segs;
    size_t n_segs, cap_segs;
    uint64_t first_seq; /* first record still stored (after purges) */

    pthread_mutex_t seal_lock;
    pthread_cond_t seal_cv;
    pthread_t sealer;
    int sealer_started;
    int seal_stop;
    int seal_kick;
    int seal_backlog; /* rolled segments not sealed yet (seg_lock; read atomically) */
    int seal_error;

    pthread_mutex_t purge_lock; /* one purge at a time */

    /* known damage (lib/store_damage.c), under seg_lock */
    struct trail_store_damage *damage;
    size_t n_damage, cap_damage;
    uint64_t damage_gen;
};

/*
 * Known damage (lib/store_damage.c). add: remember a damaged run (nothing
 * when a known run covers it), takes seg_lock; covers: is [first, last]
 * wholly known damage (needs nothing held); quarantine_load: read
 * DIR/quarantined into the known damage; quarantine_segment: move a damaged
 * sealed file (and its .idx) to DIR/quarantine/<time>/, append its run to
 * DIR/quarantined and a line to the report there. blocks_check: the index of
 * the first block of ss whose compressed bytes fail their CRC, or -1.
 */
int store_damage_add(struct trail_store *s, uint64_t first, uint64_t last, const char *file,
                     const char *reason, int quarantined, int64_t when_us);
int store_damage_covers(struct trail_store *s, uint64_t first, uint64_t last);
int store_quarantine_load(struct trail_store *s);
int store_quarantine_segment(struct trail_store *s, const char *name, uint64_t first, uint64_t last,
                             const char *reason, struct trail_store_report *rep);
long store_blocks_check(int fd, const struct seg_sealed *ss);

/* A segment the directory holds: its .open file, its .seg file, or both. */
struct store_found {
    uint64_t first_seq;
    int has_open, has_seg;
};

/*
 * store_list_segments - the seg-*.open and seg-*.seg files of the directory,
 * by first seq, in a malloc'd array the caller frees. A writer also removes
 * unfinished *.tmp files (counted and said in rep, which may be NULL).
 * Returns 0, -errno or -ENOMEM.
 */
int store_list_segments(struct trail_store *s, struct store_found **ret, size_t *ret_n,
                        struct trail_store_report *rep);

/* store paths: DIR/seg-<16 hex>.open | .seg | .seg.tmp */
void store_seg_path(const struct trail_store *s, uint64_t first_seq, const char *ext, char *out,
                    size_t size);
/*
 * store_segs_copy - a copy of the segment list, taken under seg_lock, for a
 * reader that walks it without holding the lock. *ret (never NULL on
 * success, caller frees) and *ret_n. 0 or -ENOMEM.
 */
int store_segs_copy(struct trail_store *s, struct seg **ret, size_t *ret_n);
/* store_segs_find - index of the segment holding seq, or -1. Needs seg_lock. */
long store_segs_find(const struct trail_store *s, uint64_t seq);
/* store_leaf_range - the leaf hashes of records [first_seq, first_seq + n) (from the records). */
int store_leaf_range(struct trail_store *s, uint64_t first_seq, uint64_t n,
                     uint8_t (*out)[TRAIL_HASH_LEN]);
/* store_roots_open / read / write: DIR/tree.roots, one root per whole 256-leaf group */
int store_roots_open(struct trail_store *s, struct trail_store_report *rep);
int store_roots_read(struct trail_store *s, uint64_t group, uint8_t out[TRAIL_HASH_LEN]);
int store_roots_write(struct trail_store *s, const uint8_t (*roots)[TRAIL_HASH_LEN], size_t n,
                      uint64_t first_group);
/*
 * store_anchors_add - keep in DIR/anchors the leaf hashes of group that a
 * purge of leaves [0, upto) removes (before the purge): leaves [256 group,
 * min(256 group + 256, upto)); the rest of the entry is zero (not kept).
 */
int store_anchors_add(struct trail_store *s, uint64_t group, uint64_t upto);
/* store_report - append one line to the open report. */
void store_report(struct trail_store_report *rep, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* store_frontier_push - append a leaf to f; when a 256-leaf group completes, its root. */
int store_frontier_push(struct trail_frontier *f, const uint8_t leaf[TRAIL_HASH_LEN],
                        uint8_t group_root[TRAIL_HASH_LEN], int *ret_group_done);
/* store_fault - run the test hook for op on fd; 0 or the -errno it asks for. */
int store_fault(const struct trail_store *s, int op, int fd);
/* store_fsync_dir - fsync DIR. */
int store_fsync_dir(struct trail_store *s);

/*
 * Checkpoints the store writes (lib/store_checkpoint.c): open loads the key
 * and DIR/checkpoints for a writer (call it once last_checkpoint_seq is set:
 * it may lower it so that a checkpoint is made soon); write signs a durable
 * state and appends it (0 without a key); close frees; sizes appends the
 * tree sizes of DIR/checkpoints to a malloc'd array (for the purge).
 */
int store_checkpoint_open(struct trail_store *s, struct trail_store_report *rep);
int store_checkpoint_write(struct trail_store *s, const struct trail_store_state *st);
void store_checkpoint_close(struct trail_store *s);
int store_checkpoint_sizes(struct trail_store *s, uint64_t **sizes, size_t *n);
/* store_checkpoint_fd - DIR/checkpoints as the writer holds it open, or -1 (no key). */
int store_checkpoint_fd(const struct trail_store *s);

/* trail_store_frontier - the frontier at the durable point (for the integrity layer). */
int trail_store_frontier(struct trail_store *s, struct trail_frontier *ret);

#endif /* TRAIL_STORE_H */
