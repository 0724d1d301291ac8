/*
 * bench_query.c - the query questions of SPEC.md section 5 on generator
 * events, timed inside the process, and the store's bytes per event with
 * its indexes and integrity data.
 *
 * The store is filled with --events generator events spread over --days
 * days (a realistic identity server: 1000 users by default), through the
 * store's normal append path, and left to seal; the questions then run on
 * the writer's handle, as traild runs them:
 *
 *   user      one user's events in the last 30 days, newest first, limit 100
 *   trace     one trace id (every event of the request)
 *   counts    counts per event per hour over 30 days
 *   text      a free-text term in any attribute (a surname), newest first, limit 100
 *   rare      a rare free-text term (a trace id's word), newest first, limit 100
 *   text_sealed  the surname's newest 100 before the unsealed segment's first
 *             event time: the same common word read from sealed blocks (not
 *             one of SPEC.md's questions; text finds its 100 in the live one)
 *   warning   the newest 100 WARNING-or-worse events
 *
 * and the same kind of questions in event time order (--order time|-time),
 * with the blocks the merge opened and the most records it held at once:
 *
 *   t_newest  the newest 100 by event time
 *   t_oldest  the oldest 100 by event time
 *   t_middle  100 by event time from the middle of the span (a page deep)
 *   t_user    one user's events, last 30 days, newest event time first, 100
 *   t_warning the newest 100 WARNING-or-worse events by event time
 *
 * --hosts H makes the events those of H hosts (idp-node1..H, each a
 * generator of its own over the same span), stored the way imports of
 * their files would store them: --chunk C events of one host, then C of
 * the next, round robin (default: each host's whole file, one after
 * another), so that the store's order is not time order and the blocks'
 * time ranges overlap.
 *
 * Each question runs once cold (the block cache empty and the store's
 * files dropped from the page cache: drop_caches()), once with only the
 * block cache empty (the files in the page cache, as after a restart of
 * traild), and then --runs times warm; the median of the warm runs is
 * reported. --cold-runs C repeats the two cold runs C times (default 1)
 * and reports their medians, which a loaded machine needs for figures of
 * a few milliseconds. --only QUESTION asks that one alone (profiling). Also measured: the load
 * rate, the cost of building the indexes (what the sealer adds per record) and of the live index,
 * and the bytes on disk.
 *
 *   bench_query [--events N] [--days D] [--users U] [--dir DIR] [--reuse] [--keep]
 *               [--runs R] [--cold-runs C] [--cache-mib M] [--hosts H] [--chunk C] [--only Q]
 *               [--quiet]
 *
 * --dir DIR with --reuse queries a store an earlier run left (with --keep).
 * Output: human lines, and one machine-readable line per figure:
 *   RESULT name=<question> median_ms=<x> cold_ms=<x> cold_cached_ms=<x> rows=<n> target_ms=<x>
 *          resident_kib=<store KiB still in the page cache when cold> store_kib=<x>
 *          cold_runs=<C>
 *   RESULT name=bytes_per_event value=<x> target=40 ...
 *
 * Not a test: it prints figures (docs/BENCHMARKS.md records them).
 */
#include "query/query.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static struct trail_catalog *cat;
static struct trail_index *ix;
static const char *store_dir;
static const char *only; /* --only NAME: that question alone (profiling) */
static int runs = 7, cold_runs = 1;
static int quiet;
static uint64_t merge_opened, merge_peak; /* of the last search (time orders) */

/*
 * Drop what a restart would not find: the index's block cache (the
 * process's own) and the store's files from the page cache, with
 * posix_fadvise(DONTNEED), which needs no root. It cannot drop the pages of
 * the .idx files the index has mapped (nor would a restart that reopens
 * them: traild maps them at start); mincore() tells how much of the
 * store's files is still resident, which is printed.
 */
static void drop_caches(uint64_t *ret_resident_kib, uint64_t *ret_total_kib)
{
    qindex_cache_drop(ix);
    uint64_t resident = 0, total = 0;
    DIR *d = opendir(store_dir);
    struct dirent *de;
    long page = sysconf(_SC_PAGESIZE);
    while (d && (de = readdir(d))) {
        char path[4400];
        snprintf(path, sizeof(path), "%s/%s", store_dir, de->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat sb;
        if (fd < 0)
            continue;
        if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0) {
            posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
            void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
            size_t pages = ((size_t)sb.st_size + (size_t)page - 1) / (size_t)page;
            unsigned char *vec = malloc(pages);
            if (m != MAP_FAILED && vec && mincore(m, (size_t)sb.st_size, vec) == 0)
                for (size_t i = 0; i < pages; i++)
                    resident += vec[i] & 1;
            total += pages;
            free(vec);
            if (m != MAP_FAILED)
                munmap(m, (size_t)sb.st_size);
        }
        close(fd);
    }
    if (d)
        closedir(d);
    *ret_resident_kib = resident * (uint64_t)page / 1024;
    *ret_total_kib = total * (uint64_t)page / 1024;
}

/* Run a search (or a count with by) to the end; returns the rows. */
static uint64_t run_once(struct trail_query *q, int count)
{
    char err[256];
    uint64_t rows = 0;
    if (count) {
        struct trail_count *c;
        if (trail_count_run(ix, q, &c, err, sizeof(err)) < 0) {
            fprintf(stderr, "count: %s\n", err);
            exit(1);
        }
        rows = c->n_rows;
        trail_count_free(c);
        return rows;
    }
    struct trail_results *res;
    struct trail_event *ev;
    trail_event_new(cat, "x", &ev);
    if (trail_results_open(ix, q, &res, err, sizeof(err)) < 0) {
        fprintf(stderr, "search: %s\n", err);
        exit(1);
    }
    int r;
    while ((r = trail_results_next(res, ev)) == 1)
        rows++;
    if (r < 0) {
        fprintf(stderr, "search: %s\n", trail_strerror(r));
        exit(1);
    }
    qresults_merge_stats(res, &merge_opened, &merge_peak);
    trail_results_free(res);
    trail_event_free(ev);
    return rows;
}

static void question(const char *name, const char *what, double target_ms, int count,
                     const char *const *params)
{
    struct trail_query *q;
    char err[256];
    if (only && strcmp(only, name))
        return;
    trail_query_new(cat, &q);
    for (size_t i = 0; params[i]; i += 2) {
        if (trail_query_set(q, params[i], params[i + 1], err, sizeof(err)) < 0) {
            fprintf(stderr, "%s: %s\n", name, err);
            exit(1);
        }
    }
    /* cold: nothing cached but the mapped .idx files; then only the block cache dropped */
    uint64_t res_kib, total_kib, rows = 0;
    double *tc = calloc((size_t)cold_runs, sizeof(*tc)),
           *tcc = calloc((size_t)cold_runs, sizeof(*tcc));
    for (int i = 0; i < cold_runs; i++) {
        drop_caches(&res_kib, &total_kib);
        static int said;
        if (!said++ && !quiet)
            printf("cold: the block cache emptied and the store's files dropped from the page "
                   "cache (posix_fadvise); %" PRIu64 " of %" PRIu64 " KiB still resident (the "
                   ".idx files the index maps)\n",
                   res_kib, total_kib);
        double t0 = now_ms();
        rows = run_once(q, count);
        tc[i] = now_ms() - t0;
        qindex_cache_drop(ix);
        t0 = now_ms();
        run_once(q, count);
        tcc[i] = now_ms() - t0;
    }
    qsort(tc, (size_t)cold_runs, sizeof(*tc), cmp_double);
    qsort(tcc, (size_t)cold_runs, sizeof(*tcc), cmp_double);
    double cold = tc[cold_runs / 2], cold_cached = tcc[cold_runs / 2], t0;
    free(tc);
    free(tcc);
    double *t = calloc((size_t)runs, sizeof(*t));
    for (int i = 0; i < runs; i++) {
        t0 = now_ms();
        run_once(q, count);
        t[i] = now_ms() - t0;
    }
    qsort(t, (size_t)runs, sizeof(*t), cmp_double);
    double median = t[runs / 2];
    if (!quiet)
        printf("%-9s %-58s %8.3f ms warm (median of %d), %8.3f ms cold (%8.3f ms with the files "
               "in the page cache), %" PRIu64 " rows; target <= %g ms\n",
               name, what, median, runs, cold, cold_cached, rows, target_ms);
    printf("RESULT name=%s median_ms=%.3f cold_ms=%.3f cold_cached_ms=%.3f rows=%" PRIu64
           " target_ms=%g resident_kib=%" PRIu64 " store_kib=%" PRIu64 " cold_runs=%d",
           name, median, cold, cold_cached, rows, target_ms, res_kib, total_kib, cold_runs);
    if (merge_opened)
        printf(" blocks_opened=%" PRIu64 " merge_peak=%" PRIu64, merge_opened, merge_peak);
    printf("\n");
    merge_opened = merge_peak = 0;
    free(t);
    trail_query_free(q);
}

static uint64_t file_bytes(const char *dir, const char *suffix, uint64_t *ret_n)
{
    char cmd[4300];
    snprintf(cmd, sizeof(cmd), "find '%s' -maxdepth 1 -type f -name '*%s' -printf '%%s\\n'", dir,
             suffix);
    FILE *p = popen(cmd, "r");
    uint64_t total = 0, n = 0;
    char line[64];
    while (p && fgets(line, sizeof(line), p)) {
        total += strtoull(line, NULL, 10);
        n++;
    }
    if (p)
        pclose(p);
    if (ret_n)
        *ret_n = n;
    return total;
}

int main(int argc, char **argv)
{
    uint64_t n_events = 10000000;
    uint32_t days = 30, users = 1000;
    const char *dir = NULL;
    int reuse = 0, keep = 0;
    size_t cache_mib = 0;
    uint32_t hosts = 1;
    uint64_t chunk = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--events") && v)
            n_events = strtoull(v, NULL, 10), i++;
        else if (!strcmp(a, "--days") && v)
            days = (uint32_t)atoi(v), i++;
        else if (!strcmp(a, "--users") && v)
            users = (uint32_t)atoi(v), i++;
        else if (!strcmp(a, "--dir") && v)
            dir = v, i++;
        else if (!strcmp(a, "--runs") && v)
            runs = atoi(v), i++;
        else if (!strcmp(a, "--cold-runs") && v)
            cold_runs = atoi(v), i++;
        else if (!strcmp(a, "--cache-mib") && v)
            cache_mib = (size_t)atoi(v), i++;
        else if (!strcmp(a, "--hosts") && v)
            hosts = (uint32_t)atoi(v), i++;
        else if (!strcmp(a, "--chunk") && v)
            chunk = strtoull(v, NULL, 10), i++;
        else if (!strcmp(a, "--only") && v)
            only = v, i++;
        else if (!strcmp(a, "--reuse"))
            reuse = 1;
        else if (!strcmp(a, "--keep"))
            keep = 1;
        else if (!strcmp(a, "--quiet"))
            quiet = 1;
        else {
            fprintf(stderr,
                    "usage: bench_query [--events N] [--days D] [--users U] [--dir DIR] "
                    "[--reuse] [--keep] [--runs R] [--cold-runs C] [--cache-mib M] [--hosts H] "
                    "[--chunk C] "
                    "[--only QUESTION] [--quiet]\n");
            return 2;
        }
    }
    if (runs < 1)
        runs = 1;
    if (cold_runs < 1)
        cold_runs = 1;
    if (hosts < 1 || hosts > 64)
        hosts = 1;
    if (chunk == 0)
        chunk = (n_events + hosts - 1) / hosts;
    char dir_buf[64];
    if (!dir) {
        strcpy(dir_buf, "/tmp/bench-query-XXXXXX");
        if (!mkdtemp(dir_buf)) {
            perror("mkdtemp");
            return 1;
        }
        dir = dir_buf;
    }
    store_dir = dir;
    if (trail_catalog_new(&cat) < 0)
        return 1;
    struct trail_loadgen_opts lo = {
        .seed = 1, .users = users, .days = days, .events = n_events / hosts};
    struct trail_store_opts so = {.create = 1};
    struct trail_store *s;
    struct trail_store_report rep;
    int r = trail_store_open(dir, cat, &so, &s, &rep);
    if (r < 0) {
        fprintf(stderr, "open %s: %s\n", dir, trail_strerror(r));
        return 1;
    }
    struct trail_store_stats st;
    trail_store_stats(s, &st);
    int load = !(reuse && st.records > 0);
    struct trail_loadgen *gens[64];
    char host_names[64][32];
    for (uint32_t h = 0; h < hosts; h++) {
        snprintf(host_names[h], sizeof(host_names[h]), "idp-node%u", h + 1);
        lo.seed = 1 + h;
        lo.host = host_names[h];
        trail_loadgen_new(cat, &lo, &gens[h]);
    }
    if (load) {
        /* batches of 1024 from one thread, durable at the end */
        struct trail_event *batch[1024];
        for (int i = 0; i < 1024; i++)
            trail_event_new(cat, "x", &batch[i]);
        double t0 = now_ms();
        uint64_t done = 0, last = 0, in_chunk = 0;
        uint64_t host_done[64] = {0}, quota[64];
        for (uint32_t g = 0; g < hosts; g++) /* each host's file; the first ones one longer */
            quota[g] = n_events / hosts + (g < n_events % hosts);
        uint32_t h = 0;
        while (done < n_events) {
            size_t k = n_events - done < 1024 ? (size_t)(n_events - done) : 1024;
            for (size_t i = 0; i < k; i++) {
                /* the next host's piece when this one's is done (or its file is) */
                while (hosts > 1 && (in_chunk == chunk || host_done[h] >= quota[h])) {
                    h = (h + 1) % hosts;
                    in_chunk = 0;
                    if (host_done[h] < quota[h])
                        break;
                }
                trail_event_reset(batch[i], "x", 1);
                trail_loadgen_next(gens[h], batch[i]);
                host_done[h]++;
                in_chunk++;
            }
            if ((r = trail_store_append(s, batch, k, &last)) < 0) {
                fprintf(stderr, "append: %s\n", trail_strerror(r));
                return 1;
            }
            done += k;
        }
        trail_store_wait(s, last);
        double t1 = now_ms();
        printf("load: %" PRIu64 " events over %u days in %.1f s, %.0f events/s durable (one "
               "thread, generation included)\n",
               n_events, days, (t1 - t0) / 1e3, (double)n_events / ((t1 - t0) / 1e3));
        if (hosts > 1)
            printf("hosts: %u, stored in pieces of %" PRIu64 " events of one host, round robin\n",
                   hosts, chunk);
        for (int i = 0; i < 1024; i++)
            trail_event_free(batch[i]);
    }
    /* sealed and indexed: every segment but the active one */
    double w0 = now_ms();
    for (;;) {
        trail_store_stats(s, &st);
        uint64_t n_idx;
        file_bytes(dir, ".idx", &n_idx);
        if (st.sealed_segments + 1 >= st.segments && n_idx >= st.sealed_segments)
            break;
        usleep(100000);
    }
    if (load)
        printf("sealing and indexing finished %.1f s after the load\n", (now_ms() - w0) / 1e3);

    /* index building cost, per record: rebuild one sealed segment's index in memory */
    pthread_mutex_lock(&s->seg_lock);
    uint64_t seg_first = 0, seg_records = 0;
    for (size_t i = 0; i < s->n_segs; i++)
        if (s->segs[i].sealed) {
            seg_first = s->segs[i].first_seq;
            seg_records = s->segs[i].last_seq - s->segs[i].first_seq + 1;
            break;
        }
    pthread_mutex_unlock(&s->seg_lock);
    if (seg_first) {
        struct trail_buf b = {0};
        double t0 = now_ms();
        idx_build_sealed(s, seg_first, &b);
        double t1 = now_ms();
        printf("index build: %" PRIu64 " records (one sealed segment: decompress + index + "
               "serialize) in %.0f ms, %.2f us/record, %.0f records/s on one core\n",
               seg_records, t1 - t0, (t1 - t0) * 1e3 / (double)seg_records,
               (double)seg_records / ((t1 - t0) / 1e3));
        printf("RESULT name=index_build us_per_record=%.3f\n",
               (t1 - t0) * 1e3 / (double)seg_records);
        trail_buf_free(&b);
        /* what sealing the same segment costs: its blocks compressed again at the store's level */
        char path[4200];
        store_seg_path(s, seg_first, ".seg", path, sizeof(path));
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct seg_sealed ss = {0};
        if (fd >= 0 && seg_sealed_load(fd, &ss) == 0) {
            ZSTD_DCtx *d = ZSTD_createDCtx();
            ZSTD_CCtx *c = ZSTD_createCCtx();
            struct trail_buf comp = {0}, raw = {0}, out = {0};
            double seal_ms = 0;
            for (uint32_t i = 0; i < ss.n_blocks; i++) {
                if (seg_block_read(fd, &ss.blocks[i], d, &comp, &raw) < 0)
                    break;
                trail_buf_reserve(&out, ZSTD_compressBound(raw.len));
                double c0 = now_ms();
                ZSTD_compressCCtx(c, out.data, out.cap, raw.data, raw.len, 6);
                seal_ms += now_ms() - c0;
            }
            printf(
                "sealing's compression of the same segment (zstd 6): %.0f ms, %.2f us/record: the "
                "index adds %.0f%% to the sealer's work; the append path does no indexing\n",
                seal_ms, seal_ms * 1e3 / (double)seg_records, (t1 - t0) / seal_ms * 100);
            printf("RESULT name=seal_compress us_per_record=%.3f index_over_seal=%.2f\n",
                   seal_ms * 1e3 / (double)seg_records, (t1 - t0) / seal_ms);
            ZSTD_freeDCtx(d);
            ZSTD_freeCCtx(c);
            trail_buf_free(&comp);
            trail_buf_free(&raw);
            trail_buf_free(&out);
        }
        seg_sealed_free(&ss);
        if (fd >= 0)
            close(fd);
    }

    struct trail_index_opts io = {.cache_bytes = cache_mib << 20};
    trail_index_open(s, &io, &ix);
    double r0 = now_ms();
    trail_index_refresh(ix);
    double r1 = now_ms();
    struct trail_index_stats xs;
    trail_index_stats(ix, &xs);
    printf("index open: %" PRIu64 " segments (%" PRIu64 " .idx files, %" PRIu64
           " records indexed live) in %.0f ms\n",
           xs.segments, xs.idx_files, xs.live_records, r1 - r0);
    if (xs.live_records)
        printf("RESULT name=live_index us_per_record=%.3f\n",
               (r1 - r0) * 1e3 / (double)xs.live_records);

    /* the questions' values, taken from the data */
    trail_store_stats(s, &st);
    char user[256] = "", trace[256] = "", surname[256] = "", rare[256] = "";
    struct trail_store_iter *it;
    struct trail_event *ev;
    trail_event_new(cat, "x", &ev);
    trail_store_iter_new(s, TRAIL_ITER_BACKWARD, &it);
    trail_store_iter_seek_seq(it, st.last_seq - st.records / 100);
    while ((!user[0] || !trace[0]) && trail_store_iter_next(it, ev) == 1) {
        struct trail_value v;
        if (!user[0] && trail_event_attr_get(ev, "duser", &v) == 0)
            snprintf(user, sizeof(user), "%.*s", (int)v.u.str.len, v.u.str.ptr);
        if (!trace[0] && trail_event_attr_get(ev, "phxTraceId", &v) == 0)
            snprintf(trace, sizeof(trace), "%.*s", (int)v.u.str.len, v.u.str.ptr);
    }
    trail_store_iter_seek_seq(it, st.first_seq + st.records / 2);
    while ((!surname[0] || !rare[0]) && trail_store_iter_next(it, ev) == 1) {
        struct trail_value v;
        if (!surname[0] && trail_event_attr_get(ev, "duser", &v) == 0) {
            const char *dot = memchr(v.u.str.ptr, '.', v.u.str.len);
            if (dot)
                snprintf(surname, sizeof(surname), "%.*s",
                         (int)(v.u.str.len - (size_t)(dot + 1 - v.u.str.ptr)), dot + 1);
        }
        if (!rare[0] && trail_event_attr_get(ev, "phxTraceId", &v) == 0 && v.u.str.len > 1)
            snprintf(rare, sizeof(rare), "%.*s", (int)v.u.str.len - 1, v.u.str.ptr + 1);
    }
    trail_store_iter_free(it);
    trail_event_free(ev);

    /* "the last 30 days": relative to the end of the data */
    char since[40], until[40], since30[40];
    int64_t start = 1793491200LL * 1000000; /* the generator's default start */
    trail_time_format(start, since);
    trail_time_format(start + (int64_t)days * 86400 * 1000000LL, until);
    trail_time_format(st.last_time_us + 1 - 30LL * 86400 * 1000000, since30);
    char w_user[300], w_trace[300];
    snprintf(w_user, sizeof(w_user), "duser=%s", user);
    snprintf(w_trace, sizeof(w_trace), "phxTraceId=%s", trace);
    printf("values: user %s, trace %s, term %s, rare term %s; span %s .. %s\n", user, trace,
           surname, rare, since, until);

    const char *q_user[] = {"where",  w_user,  "since", since30, "order",
                            "newest", "limit", "100",   NULL};
    const char *q_trace[] = {"where", w_trace, "limit", "0", NULL};
    const char *q_counts[] = {"since", since, "until", until, "by", "hour,event", NULL};
    const char *q_text[] = {"text", surname, "limit", "100", NULL};
    const char *q_rare[] = {"text", rare, "limit", "100", NULL};
    /* the time of the first record of the newest segment (unsealed, or the last sealed) */
    char live_time[40] = "";
    pthread_mutex_lock(&s->seg_lock);
    uint64_t live_first = s->n_segs ? s->segs[s->n_segs - 1].first_seq : 0;
    pthread_mutex_unlock(&s->seg_lock);
    trail_event_new(cat, "x", &ev);
    trail_store_iter_new(s, TRAIL_ITER_FORWARD, &it);
    if (live_first && trail_store_iter_seek_seq(it, live_first) == 0 &&
        trail_store_iter_next(it, ev) == 1)
        trail_time_format(trail_event_time(ev), live_time);
    trail_store_iter_free(it);
    trail_event_free(ev);
    const char *q_text_sealed[] = {"text", surname, "until", live_time, "limit", "100", NULL};
    const char *q_warn[] = {"severity", ">=WARNING", "limit", "100", NULL};
    question("user", "one user's events, last 30 days, newest 100", 2, 0, q_user);
    question("trace", "one trace id", 1, 0, q_trace);
    question("counts", "counts per event per hour over 30 days", 250, 1, q_counts);
    question("text", "a free-text term (a surname), newest 100", 5, 0, q_text);
    question("rare", "a rare free-text term (a trace id's word)", 5, 0, q_rare);
    if (live_time[0])
        question("text_sealed", "the surname's newest 100 in sealed segments", 5, 0, q_text_sealed);
    question("warning", "the newest 100 WARNING-or-worse events", 2, 0, q_warn);

    /* event time order: a merge of the blocks whose time ranges overlap */
    char middle[40];
    trail_time_format(st.first_time_us + (st.last_time_us - st.first_time_us) / 2, middle);
    const char *t_newest[] = {"order", "-time", "limit", "100", NULL};
    const char *t_oldest[] = {"order", "time", "limit", "100", NULL};
    const char *t_middle[] = {"order", "time", "since", middle, "limit", "100", NULL};
    const char *t_user[] = {"where", w_user,  "since", since30, "order",
                            "-time", "limit", "100",   NULL};
    const char *t_warn[] = {"severity", ">=WARNING", "order", "-time", "limit", "100", NULL};
    question("t_newest", "the newest 100 by event time", 5, 0, t_newest);
    question("t_oldest", "the oldest 100 by event time", 5, 0, t_oldest);
    question("t_middle", "100 by event time from the middle of the span", 5, 0, t_middle);
    question("t_user", "one user's events, last 30 days, newest event time first, 100", 20, 0,
             t_user);
    question("t_warning", "the newest 100 WARNING-or-worse by event time", 5, 0, t_warn);

    trail_index_stats(ix, &xs);
    trail_index_close(ix);

    /* bytes on disk */
    trail_store_stats(s, &st);
    uint64_t n_files;
    uint64_t seg = file_bytes(dir, ".seg", &n_files), open = file_bytes(dir, ".open", NULL);
    uint64_t idx = file_bytes(dir, ".idx", NULL), all = file_bytes(dir, "", NULL);
    uint64_t lock = file_bytes(dir, "LOCK", NULL);
    all -= lock;
    uint64_t side = all - seg - open - idx;
    uint64_t sealed_records = 0;
    pthread_mutex_lock(&s->seg_lock);
    for (size_t i = 0; i < s->n_segs; i++)
        if (s->segs[i].sealed)
            sealed_records += s->segs[i].last_seq - s->segs[i].first_seq + 1;
    pthread_mutex_unlock(&s->seg_lock);
    double rec = (double)st.records;
    printf("on disk: %" PRIu64 " events: %.1f bytes/event in all (sealed segments %.1f, .idx "
           "%.1f, open segment %.1f, tree.roots/checkpoints/meta %.1f); sealed part alone "
           "(%" PRIu64 " events in %" PRIu64 " segments): %.1f bytes/event with its indexes and "
           "integrity data\n",
           st.records, (double)all / rec, (double)seg / rec, (double)idx / rec, (double)open / rec,
           (double)side / rec, sealed_records, n_files,
           sealed_records ? (double)(seg + idx + side) / (double)sealed_records : 0.0);
    printf("RESULT name=bytes_per_event value=%.2f target=40 sealed_with_indexes=%.2f idx=%.2f\n",
           (double)all / rec,
           sealed_records ? (double)(seg + idx + side) / (double)sealed_records : 0.0,
           sealed_records ? (double)idx / (double)sealed_records : 0.0);
    printf("cache: %" PRIu64 " hits, %" PRIu64 " misses, %.0f MiB held\n", xs.cache_hits,
           xs.cache_misses, (double)xs.cache_bytes / 1048576.0);
    trail_store_close(s);
    for (uint32_t g = 0; g < hosts; g++)
        trail_loadgen_free(gens[g]);
    trail_catalog_free(cat);
    if (!keep && dir == dir_buf) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    return 0;
}
