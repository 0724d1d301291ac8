/*
 * bench_store.c - durable ingest through libtrail's store, and bytes per
 * event on disk after sealing.
 *
 * Events come from the workload generator (trail_loadgen, realistic
 * identity-server events of about 300 bytes).
 *
 * Ingest: each producer thread appends its own slice of max(1024, B) generated
 * events over and over (hot in the cache, as an event a server has just
 * decoded is), moving their times on at each pass, in batches, and waits for
 * durability with a window (each waits for the batch it appended W batches
 * earlier, as a server acknowledging asynchronously does); the clock stops
 * when the last record is durable.
 *
 * Size: a second store gets --size-events fresh generator events (never
 * repeated, untimed), is sealed, and the bytes of all its files (segments,
 * tree.roots, store.meta) are divided by its records. Sealing includes each
 * segment's query index, as in traild; the time it prints is until the last
 * index is written.
 *
 *   bench_store [--events N] [--threads T] [--batch B] [--policy always|interval|never]
 *               [--interval-ms MS] [--level L] [--block-kib K] [--dir DIR] [--no-seal]
 *               [--size-events N]
 *
 * Not a test: prints figures (docs/BENCHMARKS.md records them), asserts nothing.
 */
#include "query/query.h"
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct trail_store *store;
static struct trail_event **pool;
static size_t pool_n;
static uint64_t per_thread;
static size_t batch = 512;
static int window = 32;
static int failures;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* this process's CPU time, all threads */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int n_threads = 2;

/*
 * Sealing as traild seals: each sealed segment also gets its query index.
 * lib/query registers the store's index hooks when its index_file.c is
 * linked in, which this reference makes sure of.
 */
__attribute__((used)) static int (*const bench_index_builder)(
    struct trail_store *, uint64_t, struct trail_buf *) = idx_build_sealed;

/*
 * Each producer appends its own slice of the pool (an event belongs to one
 * thread at a time), moving the slice's times forward by its span at every
 * wrap so that times keep increasing as a live server's do.
 */
static void *producer(void *arg)
{
    size_t t = (size_t)(uintptr_t)arg;
    size_t slice = pool_n / (size_t)n_threads;
    struct trail_event **mine = pool + t * slice;
    int64_t span = mine[slice - 1]->time_us - mine[0]->time_us + 1000;
    uint64_t *ring = calloc((size_t)window, sizeof(*ring));
    uint64_t done = 0, k = 0;
    size_t at = 0;
    while (done < per_thread) {
        size_t n = per_thread - done < batch ? (size_t)(per_thread - done) : batch;
        if (at + n > slice) {
            for (size_t i = 0; i < slice; i++)
                mine[i]->time_us += span;
            at = 0;
        }
        uint64_t last;
        int r = trail_store_append(store, mine + at, n, &last);
        if (r < 0) {
            __atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
            break;
        }
        at += n;
        done += n;
        uint64_t old = ring[k % (uint64_t)window];
        ring[k % (uint64_t)window] = last;
        k++;
        if (old && trail_store_wait(store, old) < 0)
            __atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
    }
    for (int i = 0; i < window; i++)
        if (ring[i] && trail_store_wait(store, ring[i]) < 0)
            __atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
    free(ring);
    return NULL;
}

static uint64_t dir_bytes(const char *dir)
{
    char cmd[4400];
    snprintf(cmd, sizeof(cmd), "du -sb --exclude=LOCK '%s' | cut -f1", dir);
    FILE *p = popen(cmd, "r");
    unsigned long long v = 0;
    if (p) {
        if (fscanf(p, "%llu", &v) != 1)
            v = 0;
        pclose(p);
    }
    return v;
}

/* files in dir whose names end in ext */
static int count_files(const char *dir, const char *ext)
{
    DIR *d = opendir(dir);
    int n = 0;
    size_t el = strlen(ext);
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        n += l > el && strcmp(e->d_name + l - el, ext) == 0;
    }
    if (d)
        closedir(d);
    return n;
}

/* the CPU seconds of this process's sealer threads (named trail-seal*), from /proc */
static double sealers_cpu_s(void)
{
    DIR *d = opendir("/proc/self/task");
    double total = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        char path[300], buf[1024];
        snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        /* pid (comm) state ppid ... utime (14th) stime (15th), in clock ticks */
        char *open = strchr(buf, '('), *close = strrchr(buf, ')');
        if (!open || !close || strncmp(open + 1, "trail-seal", 10) != 0)
            continue;
        unsigned long long ut = 0, st = 0;
        if (sscanf(close + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) ==
            2)
            total += (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    }
    if (d)
        closedir(d);
    return total;
}

int main(int argc, char **argv)
{
    uint64_t events = 2000000;
    int policy = TRAIL_FSYNC_INTERVAL;
    uint32_t interval_ms = 10;
    int level = 0;
    uint32_t block_kib = 0;
    int no_seal = 0;
    uint64_t size_events = 1000000;
    char dir_buf[64] = "";
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--events") && v)
            events = strtoull(v, NULL, 10), i++;
        else if (!strcmp(a, "--threads") && v)
            n_threads = atoi(v), i++;
        else if (!strcmp(a, "--batch") && v)
            batch = (size_t)atoi(v), i++;
        else if (!strcmp(a, "--window") && v)
            window = atoi(v), i++;
        else if (!strcmp(a, "--interval-ms") && v)
            interval_ms = (uint32_t)atoi(v), i++;
        else if (!strcmp(a, "--level") && v)
            level = atoi(v), i++;
        else if (!strcmp(a, "--block-kib") && v)
            block_kib = (uint32_t)atoi(v), i++;
        else if (!strcmp(a, "--dir") && v)
            dir = v, i++;
        else if (!strcmp(a, "--size-events") && v)
            size_events = strtoull(v, NULL, 10), i++;
        else if (!strcmp(a, "--no-seal"))
            no_seal = 1;
        else if (!strcmp(a, "--policy") && v) {
            policy = !strcmp(v, "always")  ? TRAIL_FSYNC_ALWAYS
                     : !strcmp(v, "never") ? TRAIL_FSYNC_NEVER
                                           : TRAIL_FSYNC_INTERVAL;
            i++;
        } else {
            fprintf(stderr, "usage: bench_store [--events N] [--threads T] [--batch B] "
                            "[--window W] [--policy always|interval|never] [--interval-ms MS] "
                            "[--level L] [--block-kib K] [--dir DIR] [--no-seal]\n");
            return 2;
        }
    }
    if (!dir) {
        strcpy(dir_buf, "/var/tmp/trail-bench-store-XXXXXX");
        if (!mkdtemp(dir_buf)) {
            perror("mkdtemp");
            return 1;
        }
        dir = dir_buf;
    }

    struct trail_catalog *cat;
    struct trail_loadgen *gen;
    trail_catalog_new(&cat);
    struct trail_loadgen_opts go = {.seed = 7, .events = 1000000, .days = 1};
    if (trail_loadgen_new(cat, &go, &gen) < 0) {
        fprintf(stderr, "loadgen failed\n");
        return 1;
    }
    int threads = n_threads;
    pool_n = (batch > 1024 ? batch : 1024) * (size_t)threads; /* a slice holds a batch */
    pool = calloc(pool_n, sizeof(*pool));
    uint64_t rec_bytes = 0;
    for (size_t i = 0; i < pool_n; i++) {
        trail_event_new(cat, "x", &pool[i]);
        if (trail_loadgen_next(gen, pool[i]) < 0) {
            fprintf(stderr, "loadgen_next failed\n");
            return 1;
        }
        rec_bytes += record_size(pool[i]);
    }

    struct trail_store_opts o = {.create = 1,
                                 .fsync_policy = policy,
                                 .fsync_interval_ms = interval_ms,
                                 .no_seal = 1,
                                 .zstd_level = level,
                                 .block_bytes = block_kib * 1024};
    struct trail_store_report rep;
    int r = trail_store_open(dir, cat, &o, &store, &rep);
    if (r < 0) {
        fprintf(stderr, "open %s: %s\n", dir, trail_strerror(r));
        return 1;
    }
    per_thread = events / (uint64_t)threads;
    events = per_thread * (uint64_t)threads;
    pthread_t *th = calloc((size_t)threads, sizeof(*th));
    double t0 = now_s();
    for (int i = 0; i < threads; i++)
        pthread_create(&th[i], NULL, producer, (void *)(uintptr_t)i);
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    double t1 = now_s();
    uint64_t durable = trail_store_durable_seq(store);
    const char *pname = policy == TRAIL_FSYNC_ALWAYS  ? "always"
                        : policy == TRAIL_FSYNC_NEVER ? "never"
                                                      : "interval";
    printf("ingest: %llu events (avg record %.0f bytes), %d threads, batch %zu, window %d, "
           "policy %s",
           (unsigned long long)events, (double)rec_bytes / (double)pool_n, threads, batch, window,
           pname);
    if (policy != TRAIL_FSYNC_ALWAYS)
        printf(" %u ms", interval_ms);
    printf(": %.3f s, %.0f events/s durable (durable seq %llu, failures %d)\n", t1 - t0,
           (double)events / (t1 - t0), (unsigned long long)durable, failures);
    trail_store_close(store);
    if (dir == dir_buf) {
        char cmd[160];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'/*", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not empty %s\n", dir);
    }

    if (!no_seal && size_events) {
        /* a second store of fresh events for the size on disk */
        struct trail_store_opts so = {.create = 1,
                                      .fsync_policy = TRAIL_FSYNC_NEVER,
                                      .no_seal = 1,
                                      .zstd_level = level,
                                      .block_bytes = block_kib * 1024};
        char sdir[4200];
        snprintf(sdir, sizeof(sdir), "%s/size", dir);
        if ((r = trail_store_open(sdir, cat, &so, &store, NULL)) < 0) {
            fprintf(stderr, "open %s: %s\n", sdir, trail_strerror(r));
            return 1;
        }
        struct trail_event *ev;
        trail_event_new(cat, "x", &ev);
        uint64_t fresh_bytes = 0;
        for (uint64_t i = 0; i < size_events; i++) {
            trail_loadgen_next(gen, ev);
            fresh_bytes += record_size(ev);
            trail_store_append(store, &ev, 1, NULL);
        }
        trail_event_free(ev);
        trail_store_close(store);
        so.no_seal = 0;
        double s0 = now_s(), c0 = cpu_s();
        if ((r = trail_store_open(sdir, cat, &so, &store, &rep)) < 0) {
            fprintf(stderr, "reopen: %s\n", trail_strerror(r));
            return 1;
        }
        struct trail_store_stats st;
        double seal_cpu = 0;
        for (;;) {
            trail_store_stats(store, &st);
            /* every segment but the active one sealed, and each with its index written */
            if (st.sealed_segments + 1 >= st.segments &&
                count_files(sdir, ".idx") >= (int)st.sealed_segments)
                break;
            seal_cpu = sealers_cpu_s(); /* the sealers stay until close: their last reading */
            usleep(20000);
        }
        seal_cpu = sealers_cpu_s();
        /* the active segment stays open (uncompressed): count it apart */
        uint64_t open_bytes = 0, sealed_records = 0, raw_sealed = 0;
        pthread_mutex_lock(&store->seg_lock);
        for (size_t i = 0; i < store->n_segs; i++) {
            if (store->segs[i].sealed)
                sealed_records += store->segs[i].last_seq - store->segs[i].first_seq + 1;
            else
                open_bytes += store->segs[i].bytes;
        }
        pthread_mutex_unlock(&store->seg_lock);
        raw_sealed = (uint64_t)((double)fresh_bytes / (double)size_events * (double)sealed_records);
        trail_store_close(store); /* waits for the last segment's index */
        double s1 = now_s(), c1 = cpu_s();
        uint64_t total = dir_bytes(sdir);
        uint64_t sealed_bytes = total - open_bytes;
        printf("sealing: %llu segments at zstd level %d, blocks of %u KiB, with their indexes: "
               "%.1f s, %.0f MB/s of records; the sealers' CPU %.2f s, %.2f us an event "
               "(the process's %.2f s, with the reopen)\n",
               (unsigned long long)st.sealed_segments, level ? level : 6,
               block_kib ? block_kib : 1024, s1 - s0,
               (double)raw_sealed / 1e6 / (s1 - s0 > 0 ? s1 - s0 : 1), seal_cpu,
               sealed_records ? seal_cpu * 1e6 / (double)sealed_records : 0.0, c1 - c0);
        printf("on disk: %llu fresh events (avg record %.0f bytes): all files %.1f bytes/event; "
               "sealed segments with tree.roots and store.meta %.1f bytes/event\n",
               (unsigned long long)st.records, (double)fresh_bytes / (double)size_events,
               (double)total / (double)st.records,
               sealed_records ? (double)sealed_bytes / (double)sealed_records : 0.0);
    }
    trail_loadgen_free(gen);
    if (dir == dir_buf) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    for (size_t i = 0; i < pool_n; i++)
        trail_event_free(pool[i]);
    free(pool);
    free(th);
    trail_catalog_free(cat);
    return 0;
}
