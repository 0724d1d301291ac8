/*
 * verify_int.h - what the files of lib/verify share: the state of one run of
 * trail_verify_store() (struct verify), what a worker finds in one segment
 * (struct seg_job), and the functions one file offers another.
 *
 * Not for: anything outside lib/verify (include/trail.h is its interface).
 */
#ifndef TRAIL_VERIFY_INT_H
#define TRAIL_VERIFY_INT_H

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

struct worker {
    struct verify *v;
    struct trail_buf in, raw;
    ZSTD_DCtx *dctx;
};

/* verify.c: findings and notes (report and add_finding take v->lock; note
   does not: its callers hold it or run alone) */
void verify_note(struct verify *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int verify_add_finding(struct verify *v, const struct finding *f);
int verify_report(struct verify *v, int kind, uint64_t seq, uint64_t seq_last, const char *file,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* verify.c: small helpers */
void verify_hex(const uint8_t *p, size_t n, char *out);
int verify_is_zero(const uint8_t *p, size_t n);
int verify_frontier_eq(const struct trail_frontier *a, const struct trail_frontier *b);
int verify_read_file(int dir_fd, const char *name, uint8_t **ret, size_t *ret_len);

/* verify_side.c: tree.roots and anchors */
int verify_load_side_files(struct verify *v);
int verify_side_mth(const struct verify *v, uint64_t begin, uint64_t end,
                    uint8_t out[TRAIL_HASH_LEN]);
int verify_frontier_vs_side(const struct verify *v, const struct trail_frontier *f, int *ret_k);

/* verify_read.c: reading one segment, checkpoint signatures, the workers */
int verify_read_segment(struct worker *w, struct seg_job *j);
const struct trail_key *verify_key_for(const struct verify *v, const struct trail_checkpoint *c);
int verify_origin_ok(const struct verify *v, const struct trail_checkpoint *c);
int verify_run_pool(struct verify *v, struct worker *workers, pthread_t *tids, int n_threads,
                    int phase, size_t n_jobs);

/* verify_load.c: loading the directory */
int verify_cmp_job(const void *a, const void *b);
int verify_list_segments(struct verify *v);
int verify_load_store_id(struct verify *v);
int verify_load_checkpoints(struct verify *v, struct trail_verify_report *rep);
int verify_sort_checkpoints(struct verify *v);

/* verify_join.c: joining the segments and matching the checkpoints */
int verify_join(struct verify *v, struct trail_verify_report *rep);

#endif
