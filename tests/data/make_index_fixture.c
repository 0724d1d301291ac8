/*
 * make_index_fixture.c - how tests/data/index-format-1/ was made (kept to
 * show it, not run by the tests: the fixture must stay what trail wrote
 * before parts, so that test_query_parts.c reads an index of the first
 * format as it is on disk). Built against libtrail of the commit before
 * .idx version 2 (c20e22b):
 *
 *   cc -o /tmp/mkidx tests/data/make_index_fixture.c -Iinclude build/libtrail.a \
 *       -lcrypto -lzstd -lpthread -lm
 *   /tmp/mkidx tests/data/index-format-1/store
 *
 * 1,500 loadgen events (seed 5, 100 users, 2026-11-01) in 96 KiB segments:
 * every one but the last sealed (segment format version 2, one block each)
 * with its .idx of format version 1, the last one open; the LOCK file
 * removed afterwards.
 */
#include "trail.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* .idx files in dir */
static int idx_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    while (d && (de = readdir(d))) {
        size_t l = strlen(de->d_name);
        n += l > 4 && strcmp(de->d_name + l - 4, ".idx") == 0;
    }
    if (d)
        closedir(d);
    return n;
}

int main(int argc, char **argv)
{
    struct trail_catalog *cat;
    struct trail_loadgen *gen;
    struct trail_loadgen_opts lo = {.seed = 5, .users = 100, .days = 1, .events = 1500};
    struct trail_store_opts so = {.create = 1, .segment_max_bytes = 96 * 1024};
    struct trail_store *st;
    struct trail_event *ev;
    struct trail_store_report rep;
    struct trail_store_stats ss;
    uint64_t seq;
    int r;
    if (argc != 2)
        return 2;
    if (trail_catalog_new(&cat) || trail_loadgen_new(cat, &lo, &gen) ||
        trail_event_new(cat, "core_server_run_starting", &ev))
        return 1;
    if ((r = trail_store_open(argv[1], cat, &so, &st, &rep)) < 0) {
        fprintf(stderr, "%s: %s\n%s", argv[1], trail_strerror(r), rep.message);
        return 1;
    }
    for (int i = 0; i < 1500; i++) {
        trail_event_reset(ev, "x", 1);
        if ((r = trail_loadgen_next(gen, ev)) < 0 ||
            (r = trail_store_append(st, &ev, 1, &seq)) < 0) {
            fprintf(stderr, "event %d: %s\n", i + 1, trail_strerror(r));
            return 1;
        }
    }
    if ((r = trail_store_wait(st, seq)) < 0)
        return 1;
    /* every rolled segment sealed and indexed before the close (an index handle links the
       index's hooks in, and refreshing it writes what is missing) */
    struct trail_index *ix;
    for (int i = 0; i < 3000; i++) {
        if (trail_index_open(st, NULL, &ix) == 0) {
            trail_index_refresh(ix);
            trail_index_close(ix);
        }
        trail_store_stats(st, &ss);
        if (ss.sealed_segments + 1 >= ss.segments && idx_files(argv[1]) >= (int)ss.sealed_segments)
            break;
        usleep(10000);
    }
    printf("%llu segments, %llu sealed, %d .idx files\n", (unsigned long long)ss.segments,
           (unsigned long long)ss.sealed_segments, idx_files(argv[1]));
    r = trail_store_close(st);
    trail_event_free(ev);
    trail_loadgen_free(gen);
    trail_catalog_free(cat);
    return r < 0 ? 1 : 0;
}
