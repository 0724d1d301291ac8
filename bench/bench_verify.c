/*
 * bench_verify.c - how fast trail_verify_store checks a store: events per
 * second, with one thread and with the default (one per CPU).
 *
 * The store gets N fresh events from the workload generator (trail_loadgen,
 * realistic identity-server events of about 300 bytes), appended in batches
 * without waiting for fsync (the build is untimed), signed checkpoints
 * every 100000 events and at close, segments of the default 64 MiB,
 * sealed (zstd) as the store does on its own; then verify runs R times per
 * thread count and the best and median are printed. The page cache is warm
 * (the store was just written): this measures the checking, not the disk.
 *
 *   bench_verify [--events N] [--runs R] [--dir DIR] [--keep] [--segment-mib M]
 *
 * With --dir DIR holding a store already, it is verified as it is (no key:
 * signatures are not checked unless DIR/checkpoint.pub exists).
 *
 * Not a test: prints figures (docs/BENCHMARKS.md records them), asserts nothing.
 */
#include "trail.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The 1-minute load average, as text ("?" when unknown). */
static const char *load_avg(void)
{
    static char buf[64];
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f || !fgets(buf, sizeof(buf), f))
        snprintf(buf, sizeof(buf), "?\n");
    if (f)
        fclose(f);
    char *sp = strchr(buf, ' ');
    if (sp)
        snprintf(sp, 2, "\n");
    return buf;
}

/* CPU seconds this process used so far, user and system, all threads. */
static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int build(const char *dir, struct trail_catalog *cat, struct trail_key *key, uint64_t n,
                 uint64_t segment_bytes)
{
    struct trail_store_opts o = {.create = 1,
                                 .fsync_policy = TRAIL_FSYNC_NEVER,
                                 .checkpoint_key = key,
                                 .segment_max_bytes = segment_bytes};
    struct trail_store *s;
    int r = trail_store_open(dir, cat, &o, &s, NULL);
    if (r < 0)
        return r;
    struct trail_loadgen_opts lo = {.events = n, .days = 30};
    struct trail_loadgen *gen;
    if ((r = trail_loadgen_new(cat, &lo, &gen)) < 0) {
        trail_store_close(s);
        return r;
    }
    enum { BATCH = 1024 };
    struct trail_event *evs[BATCH];
    for (int i = 0; i < BATCH; i++)
        if ((r = trail_event_new(cat, "x", &evs[i])) < 0)
            return r;
    for (uint64_t done = 0; done < n && r == 0;) {
        size_t k = n - done < BATCH ? (size_t)(n - done) : BATCH;
        for (size_t i = 0; i < k && r == 0; i++)
            r = trail_loadgen_next(gen, evs[i]);
        if (r == 0)
            r = trail_store_append(s, evs, k, NULL);
        done += k;
    }
    /* let the sealer catch up before closing, as a long-running store would have */
    for (int i = 0; i < 6000 && r == 0; i++) {
        struct trail_store_stats st;
        trail_store_stats(s, &st);
        if (st.sealed_segments + 1 >= st.segments && st.durable_seq == n)
            break;
        usleep(10000);
    }
    int rc = trail_store_close(s);
    for (int i = 0; i < BATCH; i++)
        trail_event_free(evs[i]);
    trail_loadgen_free(gen);
    return r < 0 ? r : rc;
}

int main(int argc, char **argv)
{
    uint64_t n = 2000000, segment_mib = 64;
    int runs = 5, keep = 0;
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--events") && i + 1 < argc)
            n = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "--segment-mib") && i + 1 < argc)
            segment_mib = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--keep"))
            keep = 1;
        else {
            fprintf(stderr, "usage: bench_verify [--events N] [--runs R] [--dir DIR] [--keep] "
                            "[--segment-mib M]\n");
            return 2;
        }
    }
    if (runs < 1 || runs > 100)
        runs = 5;
    struct trail_catalog *cat;
    struct trail_key *key = NULL;
    if (trail_catalog_new(&cat) < 0 || trail_key_generate(NULL, NULL, &key) < 0)
        return 1;
    char tmp[64] = "/tmp/trail-bench-verify-XXXXXX";
    struct stat st;
    char meta[4200];
    int own = 0;
    if (dir) {
        snprintf(meta, sizeof(meta), "%s/store.meta", dir);
        own = stat(meta, &st) != 0;
    } else {
        if (!mkdtemp(tmp))
            return 1;
        dir = tmp;
        own = 1;
    }
    if (own) {
        printf("building a store of %llu generator events in %s ...\n", (unsigned long long)n, dir);
        fflush(stdout);
        double t0 = now_s();
        int r = build(dir, cat, key, n, segment_mib << 20);
        if (r < 0) {
            fprintf(stderr, "bench_verify: building the store: %s\n", trail_strerror(r));
            return 1;
        }
        printf("built in %.1f s\n", now_s() - t0);
    }

    const struct trail_key *keys[] = {key};
    int thread_counts[] = {1, 0};
    struct trail_verify_report rep;
    for (size_t t = 0; t < 2; t++) {
        struct trail_verify_opts o = {
            .keys = own ? keys : NULL, .n_keys = own ? 1 : 0, .threads = thread_counts[t]};
        double secs[100], cpu[100];
        for (int i = 0; i < runs; i++) {
            double t0 = now_s(), c0 = cpu_s();
            int r = trail_verify_store(dir, &o, &rep);
            secs[i] = now_s() - t0;
            cpu[i] = cpu_s() - c0;
            if (r < 0) {
                fprintf(stderr, "bench_verify: %s\n", trail_strerror(r));
                return 1;
            }
            if (rep.n_damage) {
                fprintf(stderr, "bench_verify: damage found: %s: %s\n",
                        trail_damage_name(rep.damage[0].kind), rep.damage[0].message);
                return 1;
            }
        }
        qsort(secs, (size_t)runs, sizeof(secs[0]), cmp_double);
        qsort(cpu, (size_t)runs, sizeof(cpu[0]), cmp_double);
        double best = secs[0], median = secs[runs / 2], cpu_med = cpu[runs / 2];
        printf("verify, %d thread%s: %llu records, %llu segments, %.1f MB, %llu checkpoints "
               "(%llu signatures): best %.3f s = %.0f events/s, median %.3f s = %.0f events/s; "
               "CPU %.3f us a record (median) = %.0f events per CPU-second; load %s",
               rep.threads, rep.threads == 1 ? "" : "s", (unsigned long long)rep.records,
               (unsigned long long)rep.segments, (double)rep.bytes / 1e6,
               (unsigned long long)rep.checkpoints, (unsigned long long)rep.signatures, best,
               (double)rep.records / best, median, (double)rep.records / median,
               cpu_med * 1e6 / (double)rep.records, (double)rep.records / cpu_med, load_avg());
        fflush(stdout);
    }
    if (own && !keep && dir == tmp) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
        if (system(cmd) != 0)
            fprintf(stderr, "bench_verify: could not remove %s\n", tmp);
    } else if (own) {
        printf("store kept in %s\n", dir);
    }
    trail_key_free(key);
    trail_catalog_free(cat);
    return 0;
}
