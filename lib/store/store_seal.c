/*
 * store_seal.c - the sealer threads: a rolled .open segment becomes a
 * compressed, indexed .seg file in the background, at idle CPU and I/O
 * priority; the .open file goes once the .seg is on disk, and the index
 * (lib/query, through the hooks registered here) hears of each sealed
 * segment. Each segment is sealed by one thread on its own (it needs only
 * its own file and the next segment's header), so the helpers that join
 * when a backlog builds seal the next segments beside the first; they may
 * finish out of order, which readers and recovery take segment by segment.
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
#include <malloc.h>
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

static void index_hook_sweep(struct trail_store *s)
{
    const struct store_index_hooks *h = atomic_load_explicit(&index_hooks, memory_order_acquire);
    if (h)
        h->sweep(s);
}

/* ---- the sealer ---- */

/*
 * Seal segment g at the given zstd level; its index, when the hooks are
 * there, from the blocks as they are written (ix, builder: seal_begin's).
 */
static int seal_one(struct trail_store *s, const struct seg *g, uint64_t next_first, int level,
                    const struct store_index_hooks *ix, void *builder)
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
    r = seg_seal(src, &h, g->data_end, dst, s->o.block_bytes, level,
                 ix && builder ? ix->seal_block : NULL, builder, &ss);
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
        s->segs[i].sealing = 0;
        s->segs[i].bytes = ss.file_size;
        if (s->seal_backlog > 0)
            __atomic_store_n(&s->seal_backlog, s->seal_backlog - 1, __ATOMIC_RELAXED);
        /* a backlog found at open: the bound follows it down to seal_backlog_max */
        int allow = s->seal_backlog + 1;
        if (allow < s->seal_allow)
            __atomic_store_n(&s->seal_allow,
                             allow > s->o.seal_backlog_max ? allow : s->o.seal_backlog_max,
                             __ATOMIC_RELAXED);
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
 * open segments wait; the helpers and the lower levels below let the idle
 * time there is catch up with them.
 */
static void seal_at_idle_priority(void)
{
    struct sched_param sp = {0};
    if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) != 0)
        setpriority(PRIO_PROCESS, (id_t)gettid(), 19);
    /* a hint: without I/O classes (or permission) sealing just competes as before */
    syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, gettid(), IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 0));
}

/*
 * The zstd level for the next segment, from the rolled segments waiting
 * (this one included). While the sealers keep up (one or two waiting:
 * a segment sealing, the next rolled) every segment gets the configured
 * level. A longer queue means ingest outruns the idle CPU time: a lower
 * level compresses the same segment several times faster for a few bytes
 * an event more (docs/BENCHMARKS.md, "Sealing under a sustained peak"), so
 * that the backlog, and the unsealed bytes on disk, stop growing and the
 * segments are still in the page cache when they are read (the flusher
 * drops them past KEEP_CACHED_BYTES of backlog, store_flush.c).
 */
int store_seal_level(int configured, int waiting)
{
    int level = configured;
    if (waiting >= 6 && level > 1)
        level = 1;
    else if (waiting >= 3 && level > 3)
        level = 3;
    return level;
}

/*
 * The floor sealer's nice value: a share of a busy core (weight 110 against
 * an input thread's 1024, about a tenth) rather than an equal one. At nice 0
 * it took half the core of the inputs it sat beside whenever a burst left
 * three segments waiting: traild pinned to one core took HTTP batches of
 * 1,000 at 325-392k events/s with p99 15 ms at half load, at nice 10
 * 431-467k with 12 ms (bench/compare_http.sh, docs/BENCHMARKS.md). The bound
 * below, not this share, is what keeps the backlog from growing.
 */
#define SEAL_FLOOR_NICE 10

/*
 * The backlog's bound. Idle-priority sealers get almost no CPU while the
 * inputs keep every core busy (bench/sustained.sh: at 80% of the unpaced
 * rate they sealed nothing and the backlog grew by the whole ingest), so
 * from three rolled segments waiting (store_seal_floor_from) the floor
 * sealer, at normal priority (SCHED_OTHER, SEAL_FLOOR_NICE), joins them
 * with a share of a core; and at seal_backlog_max appends wait
 * (trail_store_append, with the writes waiting for the flusher), which
 * leaves the CPU to the sealers. Waiting
 * appends hold their inputs back, so nothing is lost: a TCP sender waits,
 * an HTTP client gets its answer later. A failed seal lifts the wait
 * (rolled segments then wait as before, and the next roll tries again),
 * so that a sealing that cannot succeed never stops the appends.
 */
int store_seal_behind(struct trail_store *s)
{
    if (s->n_sealers == 0 || s->o.seal_backlog_max < 0 ||
        __atomic_load_n(&s->seal_error, __ATOMIC_RELAXED) < 0)
        return 0;
    return __atomic_load_n(&s->seal_backlog, __ATOMIC_RELAXED) >=
           __atomic_load_n(&s->seal_allow, __ATOMIC_RELAXED);
}

/*
 * The backlog from which the floor sealer works: three waiting (one sealing
 * and one rolled is keeping up; a third means the idle time is not enough),
 * or half of a smaller bound.
 */
int store_seal_floor_from(const struct trail_store *s)
{
    int half = (s->o.seal_backlog_max + 1) / 2;
    return half < 3 ? half : 3;
}

/* Tell appends waiting for the sealers to look again (with the lock, so that none misses it). */
static void seal_wake_appends(struct trail_store *s)
{
    if (s->o.seal_backlog_max < 0)
        return;
    pthread_mutex_lock(&s->lock);
    pthread_cond_broadcast(&s->room_cv);
    pthread_mutex_unlock(&s->lock);
}

/* Which sealer: the first, an idle-priority helper, or the floor sealer. */
enum sealer_role { SEALER_FIRST, SEALER_HELPER, SEALER_FLOOR };

/*
 * Take the oldest rolled segment no sealer has (seg_lock held): 1 and the job,
 * or 0. A helper takes one only while two or more wait, so that at a low
 * rate one thread seals in order as before; the floor sealer only from half
 * of seal_backlog_max.
 */
static int claim(struct trail_store *s, enum sealer_role role, struct seg *ret_job,
                 uint64_t *ret_next_first, int *ret_waiting)
{
    int waiting = 0;
    long found = -1;
    for (size_t i = 0; i + 1 < s->n_segs; i++) {
        if (s->segs[i].sealed)
            continue;
        waiting++;
        if (found < 0 && !s->segs[i].sealing)
            found = (long)i;
    }
    int from = role == SEALER_FIRST ? 1 : role == SEALER_HELPER ? 2 : store_seal_floor_from(s);
    if (found < 0 || waiting < from)
        return 0;
    s->segs[found].sealing = 1;
    *ret_job = s->segs[found];
    *ret_next_first = s->segs[found + 1].first_seq;
    *ret_waiting = waiting;
    return 1;
}

/* Give a job back after a failed seal, so that a later kick tries it again. */
static void unclaim(struct trail_store *s, uint64_t first_seq)
{
    pthread_mutex_lock(&s->seg_lock);
    long i = store_segs_find(s, first_seq);
    if (i >= 0 && s->segs[i].first_seq == first_seq)
        s->segs[i].sealing = 0;
    pthread_mutex_unlock(&s->seg_lock);
}

static void *sealer_run(struct trail_store *s, int floor)
{
    unsigned me = floor ? 0 : __atomic_fetch_add(&s->sealer_ids, 1, __ATOMIC_RELAXED);
    enum sealer_role role = floor ? SEALER_FLOOR : me ? SEALER_HELPER : SEALER_FIRST;
    uint64_t seen = 0;
    int swept = 0;
    char name[16]; /* for top -H and profiles; trail_store_opts.seal_threads says it */
    if (floor)
        snprintf(name, sizeof(name), "trail-sealx");
    else if (me)
        snprintf(name, sizeof(name), "trail-seal%u", me % 100);
    else
        snprintf(name, sizeof(name), "trail-seal");
    pthread_setname_np(pthread_self(), name);
    if (!floor)
        seal_at_idle_priority();
    else
        setpriority(PRIO_PROCESS, (id_t)gettid(), SEAL_FLOOR_NICE);
    pthread_mutex_lock(&s->seal_lock);
    for (;;) {
        while (!s->seal_stop && s->seal_gen == seen)
            pthread_cond_wait(&s->seal_cv, &s->seal_lock);
        if (s->seal_stop)
            break;
        seen = s->seal_gen;
        pthread_mutex_unlock(&s->seal_lock);
        for (;;) {
            struct seg job;
            uint64_t next_first = 0;
            int waiting = 0;
            pthread_mutex_lock(&s->seg_lock);
            int found = claim(s, role, &job, &next_first, &waiting);
            pthread_mutex_unlock(&s->seg_lock);
            if (!found)
                break;
            /* its .idx (lib/query/index_file.c), from the blocks as they are sealed */
            const struct store_index_hooks *ix =
                atomic_load_explicit(&index_hooks, memory_order_acquire);
            void *builder = ix ? ix->seal_begin(s, job.first_seq) : NULL;
            int r = seal_one(s, &job, next_first, store_seal_level(s->o.zstd_level, waiting), ix,
                             builder);
            if (ix)
                ix->seal_end(s, builder, r == 0, job.last_seq);
            if (r < 0)
                unclaim(s, job.first_seq);
            /*
             * A segment's compression and index take tens of MB, in this thread's own
             * malloc arena, which keeps them once freed: with a sealer per CPU that
             * is most of traild's RSS under a long peak (bench/sustained.sh). Give
             * the free pages back; it costs far less than sealing 64 MiB did.
             */
            malloc_trim(0);
            pthread_mutex_lock(&s->seal_lock);
            __atomic_store_n(&s->seal_error, r, __ATOMIC_RELAXED);
            int stop = s->seal_stop || r < 0;
            pthread_mutex_unlock(&s->seal_lock);
            seal_wake_appends(s);
            if (stop)
                break;
        }
        if (role == SEALER_FIRST && !swept) {
            index_hook_sweep(s); /* once: the .idx files a crash or an older version left out */
            swept = 1;
        }
        pthread_mutex_lock(&s->seal_lock);
    }
    pthread_mutex_unlock(&s->seal_lock);
    return NULL;
}

void *store_sealer_main(void *arg)
{
    return sealer_run(arg, 0);
}

void *store_sealer_floor_main(void *arg)
{
    return sealer_run(arg, 1);
}
