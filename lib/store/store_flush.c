/*
 * store_flush.c - the flusher thread and the batches it writes: group
 * commit (the appends' frames, swapped out under the lock, written and
 * synced without it), new segments created at a roll, tree.roots appended,
 * the store's own checkpoints made when due, and a failed write or sync
 * rolled back to the last durable state (store.c, "Concurrency").
 *
 * Not here: appending into a batch (store.c), sealing rolled segments
 * (store_seal.c), what a checkpoint holds (store_checkpoint.c).
 */
#include "base/fileio.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REFUSE_US         100000       /* appends fail fast this long after a failed flush */
#define KEEP_CACHED_BYTES (256u << 20) /* unsealed data left in the page cache for the sealer */
#define CHECK_EVERY_US    1000000      /* the guard's check of the store's own files when idle */

/* ---- batches ---- */

static void batch_reset(struct batch *b)
{
    b->data.len = 0;
    b->n_rolls = 0;
    b->n_groups = 0;
    b->first_seq = 0;
    b->last_seq = 0;
}

void store_batch_free(struct batch *b)
{
    if (!b)
        return;
    trail_buf_free(&b->data);
    free(b->rolls);
    free(b->groups);
    free(b);
}

int store_batch_reserve(struct batch *b, size_t bytes, size_t rolls, size_t groups)
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
            r = store_write_at(s, s->active_fd, b->data.data + pos, upto - pos, s->active_off);
            if (r < 0)
                return r;
            s->active_off += upto - pos;
            pos = upto;
        }
        if (i == b->n_rolls)
            break;
        if (s->active_fd >= 0) {
            /* the segment about to be closed must still be the one in DIR */
            if ((r = store_guard(s, 1)) < 0)
                return r;
            if (sync && (r = store_sync_fd(s, s->active_fd)) < 0)
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
        r = store_write_at(s, fd, hdr, hlen, 0);
        if (r < 0)
            return r;
        s->active_off = hlen;
        s->dropped_off = 0;
        if (sync && ((r = store_sync_fd(s, fd)) < 0 || (r = store_fsync_dir(s)) < 0))
            return r;
    }
    if (sync && s->active_fd >= 0) {
        if ((r = store_sync_fd(s, s->active_fd)) < 0)
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
        if (store_segs_push(s, &g) < 0)
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
        s->seal_gen++;
        pthread_cond_broadcast(&s->seal_cv);
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
    s->last_checkpoint_us = store_mono_us();
}

void *store_flusher_main(void *arg)
{
    struct trail_store *s = arg;
    pthread_setname_np(pthread_self(), "trail-flush"); /* for top -H and profiles */
    struct batch *b = s->spare;
    struct live *end = malloc(sizeof(*end));
    uint64_t created[64];
    int64_t interval_us = (int64_t)s->o.fsync_interval_ms * 1000;
    int64_t next_flush = store_mono_us() + interval_us;
    int always = s->o.fsync_policy == TRAIL_FSYNC_ALWAYS;

    s->spare = NULL;
    pthread_mutex_lock(&s->lock);
    s->next_check_us = store_mono_us() + CHECK_EVERY_US;
    for (;;) {
        if (always) {
            while (!s->closing && s->cur->data.len == 0 && !s->flush_now &&
                   store_mono_us() < s->next_check_us) {
                s->flusher_waiting = 1;
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                int64_t wait_us = s->next_check_us - store_mono_us();
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
                int64_t now = store_mono_us();
                if (now >= next_flush) {
                    if (s->cur->data.len > 0)
                        break;
                    next_flush = now + interval_us;
                }
                if (now >= s->next_check_us) {
                    /* the guard's check, then back to waiting: an interval longer than
                       CHECK_EVERY_US is kept (the check used to flush what was pending) */
                    s->next_check_us = now + CHECK_EVERY_US;
                    pthread_mutex_unlock(&s->lock);
                    store_guard(s, 1);
                    pthread_mutex_lock(&s->lock);
                    continue;
                }
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
            if (next_flush < store_mono_us())
                next_flush = store_mono_us();
        }
        s->flush_now = 0;
        if (store_mono_us() >= s->next_check_us) {
            /* idle too: a file removed now is found before the next event comes */
            s->next_check_us = store_mono_us() + CHECK_EVERY_US;
            pthread_mutex_unlock(&s->lock);
            store_guard(s, 1);
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
            r = store_guard(s, 0); /* nothing is acknowledged from a file that is gone */
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
            s->refuse_until_us = store_mono_us() + REFUSE_US;
            pthread_cond_broadcast(&s->room_cv);
        }
        pthread_cond_broadcast(&s->durable_cv);
        batch_reset(b);
        if (b->data.cap > (32u << 20)) /* a burst's buffer goes back; the usual one stays */
            trail_buf_free(&b->data);
        if (r == 0 && (s->o.checkpoint || s->cp_signing) &&
            (s->durable_seq - s->last_checkpoint_seq >= s->o.checkpoint_every_events ||
             store_mono_us() - s->last_checkpoint_us >= (int64_t)s->o.checkpoint_every_ms * 1000)) {
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
