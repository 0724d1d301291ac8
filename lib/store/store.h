/*
 * store.h - what the store's files share (internal): CRC-32C, the record
 * codec, the segment file formats, the frame reader, and the layout of
 * struct trail_store.
 *
 * Not here: the public calls (include/trail.h, "Store"), hashing
 * (lib/integrity/merkle.h), proofs and checkpoints (the integrity layer).
 *
 * The formats are documented byte by byte in docs/format.md; the comments
 * beside each encoder below say the same thing in short.
 */
#ifndef TRAIL_STORE_H
#define TRAIL_STORE_H

#include "event/event.h"
#include "integrity/merkle.h"
#include "store/record.h"
#include "store/segment.h"

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- duplicates, lib/store/store_dedup.c (all under the store's lock) ---- */

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

/* ---- the store ---- */

#define STORE_SEALERS_MAX TRAIL_SEAL_THREADS_MAX

struct seg {
    uint64_t first_seq;
    uint64_t last_seq;          /* first_seq - 1 when empty */
    int sealed;                 /* 1: .seg file; 0: .open */
    uint64_t bytes;             /* file size on disk */
    uint64_t data_end;          /* open: offset after the last good frame */
    int64_t min_time, max_time; /* INT64_MAX/INT64_MIN when unknown or empty */
    int64_t created_us;
    int damaged; /* a sealed file whose header, index or trailer is damaged (known damage) */
    int sealing; /* a sealer thread has taken it (rolled, not sealed yet) */
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
    char origin[TRAIL_ORIGIN_MAX + 1]; /* store_origin.c; "" until a writer's open sets it */

    /* the files the writer holds, checked by the flusher (store_files.c) */
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
    pthread_t sealers[STORE_SEALERS_MAX + 1]; /* the idle-priority ones, then trail-sealx */
    int n_sealers;                            /* started */
    unsigned sealer_ids;                      /* the next sealer thread's number (atomic) */
    int seal_stop;
    uint64_t seal_gen; /* bumped for each kick: every sealer looks again */
    int seal_backlog;  /* rolled segments not sealed yet (seg_lock; read atomically) */
    int seal_allow;    /* appends wait while seal_backlog >= this (seg_lock; read atomically);
                          seal_backlog_max, or more while a backlog found at open shrinks */
    int seal_error;    /* the last seal's result (seal_lock; read atomically) */
    uint64_t seal_waits, seal_wait_us; /* appends that waited for sealing (lock) */

    pthread_mutex_t purge_lock; /* one purge at a time */

    /* known damage (lib/store/store_damage.c), under seg_lock */
    struct trail_store_damage *damage;
    size_t n_damage, cap_damage;
    uint64_t damage_gen;
};

/*
 * Known damage (lib/store/store_damage.c). add: remember a damaged run (nothing
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

/*
 * The index's hooks. The query part (lib/query/index_file.c) keeps a .idx
 * file beside each sealed segment; it registers these when it is linked in,
 * so that the store, which sits below it, never calls it by name. Without
 * them no .idx is written and searches index segments as they read them.
 * A segment's index is built from its frames as they are sealed, in the
 * sealer's thread, rather than read back and decompressed afterwards:
 *   seal_begin  segment first_seq is about to be sealed: a builder for its
 *               index, or NULL for none
 *   seal_block  each block as seg_seal wrote it (seg_block_fn, with the
 *               builder as arg; a NULL builder is not called)
 *   seal_end    once for every seal_begin: ok 1 when the .seg is in place
 *               (records up to last_seq): write the .idx; ok 0: the seal
 *               failed, drop the builder. Frees it either way
 *   sweep       build the .idx of every sealed segment that lacks a good one
 *               (the sealer calls it once when it starts)
 * Failures are the index's own: a missing index is rebuilt later. The store
 * removes a purged or quarantined segment's .idx itself (it names every
 * file of a segment).
 */
struct store_index_hooks {
    void *(*seal_begin)(struct trail_store *s, uint64_t first_seq);
    seg_block_fn seal_block;
    void (*seal_end)(struct trail_store *s, void *builder, int ok, uint64_t last_seq);
    void (*sweep)(struct trail_store *s);
};

/* store_index_hooks_set - register hooks (static storage); NULL unregisters. */
void store_index_hooks_set(const struct store_index_hooks *hooks);

/* store paths: DIR/seg-<16 hex>.open | .seg | .seg.tmp | .idx */
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

/*
 * The inner tree nodes wholly inside one append's leaves, hashed by the
 * appending thread before it takes its turn (store.c), so that the single
 * writer's turn only looks them up. Leaves are numbered from 0 (seq - 1);
 * level h's block b covers leaves [b * 2^h, (b + 1) * 2^h). Level 0 is the
 * leaves themselves, levels 1.. are in nodes[] (at most n - 1 of them).
 */
struct store_subtrees {
    uint64_t base; /* the first leaf's number */
    size_t n;      /* leaves */
    unsigned levels;
    const uint8_t (*leaves)[TRAIL_HASH_LEN];
    uint8_t (*nodes)[TRAIL_HASH_LEN];
    uint64_t first[64]; /* level h: its first whole block */
    size_t count[64];   /* level h: whole blocks */
    size_t at[64];      /* level h >= 1: where its nodes start in nodes[] */
};

/*
 * store_subtrees_hash - hash every node of the tree whose leaves all lie in
 * leaves[0..n), the leaves from number base on, into nodes (room for n).
 * t keeps pointers to both arrays. 0 or the hash's error.
 */
int store_subtrees_hash(struct store_subtrees *t, uint64_t base,
                        const uint8_t (*leaves)[TRAIL_HASH_LEN], size_t n,
                        uint8_t (*nodes)[TRAIL_HASH_LEN]);

/*
 * store_frontier_push_pre - store_frontier_push, taking each merged node
 * from pre (NULL: none) where pre has it instead of hashing it. The same
 * result either way.
 */
int store_frontier_push_pre(struct trail_frontier *f, const uint8_t leaf[TRAIL_HASH_LEN],
                            const struct store_subtrees *pre, uint8_t group_root[TRAIL_HASH_LEN],
                            int *ret_group_done);
/* store_fault - run the test hook for op on fd; 0 or the -errno it asks for. */
int store_fault(const struct trail_store *s, int op, int fd);
/* store_fsync_dir - fsync DIR. */
int store_fsync_dir(struct trail_store *s);
/* store_write_at / store_sync_fd - pwrite all of buf at off / fdatasync, through the test hook. */
int store_write_at(struct trail_store *s, int fd, const void *buf, size_t n, uint64_t off);
int store_sync_fd(struct trail_store *s, int fd);
/* store_mono_us - the monotonic clock in µs (timers, never stored). */
int64_t store_mono_us(void);
/* store_segs_push - append g to the segment list (the caller holds seg_lock or is alone); 0 or
 * -ENOMEM. */
int store_segs_push(struct trail_store *s, const struct seg *g);

/*
 * The store's parts, each in its own file: store_recover (store_recover.c)
 * reads or makes store.meta, scans the segments and sets the live and
 * durable state (0, or a TRAIL_E_* / -errno with what was found in rep);
 * store_guard and store_copy_out (store_files.c) check that the files the
 * writer holds are still those in DIR (full: also tree.roots and
 * checkpoints) and copy a file's first limit bytes aside under name;
 * store_batch_reserve / store_batch_free (store_flush.c) grow and free a
 * batch; store_flusher_main and the store_sealer_*main are the threads'
 * bodies (store_flush.c, store_seal.c), started by trail_store_open.
 */
int store_recover(struct trail_store *s, struct trail_store_report *rep);
int store_guard(struct trail_store *s, int full);
int store_copy_out(struct trail_store *s, int fd, uint64_t limit, const char *name);
int store_batch_reserve(struct batch *b, size_t bytes, size_t rolls, size_t groups);
void store_batch_free(struct batch *b);
void *store_flusher_main(void *arg);
void *store_sealer_main(void *arg);
/* store_sealer_floor_main - trail-sealx, the sealer at normal priority that works only while
 * store_seal_floor_from() rolled segments or more wait (store_seal.c). */
void *store_sealer_floor_main(void *arg);
int store_seal_floor_from(const struct trail_store *s);
/* store_seal_behind - 1 while appends must wait for the sealers (s->lock held or not). */
int store_seal_behind(struct trail_store *s);
/* store_seal_level - the zstd level for a segment while waiting rolled segments wait
 * (store_seal.c). */
int store_seal_level(int configured, int waiting);

/*
 * Checkpoints the store writes (lib/store/store_checkpoint.c): open loads the key
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

/* store_origin.c: DIR/origin, or the store id in hex without it (0 or TRAIL_E_CORRUPT, -errno) */
int store_origin_read(int dir_fd, const uint8_t store_id[16], char out[TRAIL_ORIGIN_MAX + 1]);
/* the writer's open: take opts.origin when the store has none yet (has_checkpoint: it has) */
int store_origin_open(struct trail_store *s, int has_checkpoint, char out[TRAIL_ORIGIN_MAX + 1],
                      struct trail_store_report *rep);

/* store_frontier - the frontier at the durable point (for the integrity layer). */
int store_frontier(struct trail_store *s, struct trail_frontier *ret);

#endif /* TRAIL_STORE_H */
