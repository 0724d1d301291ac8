/*
 * store_seal.c - the sealer thread: a rolled .open segment becomes a
 * compressed, indexed .seg file in the background, at idle I/O priority;
 * the .open file goes once the .seg is on disk, and the index (lib/query,
 * through the hooks registered here) hears of each sealed segment.
 *
 * Not here: the .seg format (segment.c), rolling (store.c), recovering a
 * seal a crash interrupted (store_recover.c).
 */
#include "base/fileio.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/ioprio.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

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

void *store_sealer_main(void *arg)
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
