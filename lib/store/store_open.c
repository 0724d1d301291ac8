/*
 * store_open.c - opening and closing a store: the options' defaults, the
 * store's lock (and naming who holds it when it is taken), the claims of
 * tree.roots and checkpoints checked against the segments, recovery, the
 * duplicate window rebuilt, and the flusher and the sealer started; close
 * stops them and frees the store.
 *
 * Not here: recovery itself (store_recover.c), the threads
 * (store_flush.c, store_seal.c).
 */
#include "base/fileio.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define DEFAULT_LEVEL 6

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
    /*
     * TRAIL_SEAL_BACKLOG_DEFAULT, 32 rolled segments (2 GiB at the default
     * size): a burst of a few million
     * events is taken at the inputs' rate and sealed after it, where a bound
     * of 8 sealed it on the inputs' cores while they waited
     * (bench/compare_ingest.sh --events 3000000: on one core 235,571 events/s
     * against 373,367, on two 376-430k against 562-588k; docs/BENCHMARKS.md).
     * Under a load the sealers keep up with, the backlog stays at 1-3.
     */
    if (!o->seal_backlog_max)
        o->seal_backlog_max = TRAIL_SEAL_BACKLOG_DEFAULT;
    if (o->seal_backlog_max < 0)
        o->seal_backlog_max = -1;
    if (o->seal_threads <= 0) {
        /*
         * One per CPU, trail-sealx counted with them when there is a bound: it
         * seals beside the others once a backlog waits, and a sealer more than
         * CPUs only holds another segment's compression and index in memory
         * while it waits for one (bench/compare_ingest.sh: 286 MB against 142).
         */
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        int n = cpus > 0 ? (int)cpus : 1;
        if (o->seal_backlog_max > 0 && n > 1)
            n--;
        o->seal_threads = n;
    }
    if (o->seal_threads > STORE_SEALERS_MAX)
        o->seal_threads = STORE_SEALERS_MAX;
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
    store_batch_free(s->cur);
    store_batch_free(s->spare);
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
        r = store_copy_out(s, roots_fd, UINT64_MAX, name);
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
    r = store_recover(s, ret_report);
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
        s->last_checkpoint_us = store_mono_us();
        if ((r = store_checkpoint_open(s, ret_report)) < 0) /* the signing key, DIR/checkpoints */
            goto fail;
        if (pthread_create(&s->flusher, NULL, store_flusher_main, s) != 0) {
            r = -EAGAIN;
            goto fail;
        }
        s->flusher_started = 1;
        if (!s->o.no_seal) {
            for (size_t i = 0; i + 1 < s->n_segs; i++) /* left unsealed by the last run */
                s->seal_backlog += !s->segs[i].sealed;
            /* a larger backlog found: appends go on while it shrinks (store_seal.c) */
            s->seal_allow = s->seal_backlog >= s->o.seal_backlog_max ? s->seal_backlog + 1
                                                                     : s->o.seal_backlog_max;
            int want = s->o.seal_threads + (s->o.seal_backlog_max > 0); /* and trail-sealx */
            for (int i = 0; i < want; i++) {
                void *(*body)(void *) =
                    i == s->o.seal_threads ? store_sealer_floor_main : store_sealer_main;
                if (pthread_create(&s->sealers[s->n_sealers], NULL, body, s) != 0) {
                    if (s->n_sealers == 0) {
                        r = -EAGAIN;
                        goto fail;
                    }
                    continue; /* fewer helpers: sealing is only slower */
                }
                s->n_sealers++;
            }
            pthread_mutex_lock(&s->seal_lock);
            s->seal_gen++; /* segments left unsealed by an earlier run */
            pthread_cond_broadcast(&s->seal_cv);
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
        pthread_cond_broadcast(&s->room_cv); /* appends waiting for room or for the sealers */
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
    if (s->n_sealers) {
        pthread_mutex_lock(&s->seal_lock);
        s->seal_stop = 1;
        pthread_cond_broadcast(&s->seal_cv);
        pthread_mutex_unlock(&s->seal_lock);
        for (int i = 0; i < s->n_sealers; i++)
            pthread_join(s->sealers[i], NULL);
    }
    if (s->roots_fd >= 0 && !s->read_only && s->roots_written != s->roots_synced)
        fsync(s->roots_fd);
    store_free(s);
    return r;
}
