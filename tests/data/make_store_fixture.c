/*
 * make_store_fixture.c - how tests/data/store-format-1/ was made (kept to
 * show it, not run by the tests: the fixture must stay what today's trail
 * wrote, so that tests/integration/store_upgrade.sh catches a format change
 * that would strand it).
 *
 *   trail keygen --out tests/data/store-format-1/test   (the test key pair)
 *   cc -o /tmp/mkfix tests/data/make_store_fixture.c -Iinclude build/libtrail.a \
 *       -lcrypto -lzstd -lpthread -lm
 *   /tmp/mkfix tests/data/store-format-1/store tests/data/store-format-1/test.key
 *
 * 300 loadgen events (seed 7, 2026-11-01) in small segments: the first
 * ones sealed, the last one open; a signed checkpoint every 100 records
 * and at close.
 */
#include "trail.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    struct trail_catalog *cat;
    struct trail_loadgen *gen;
    struct trail_loadgen_opts lo = {.seed = 7, .events = 300};
    struct trail_store_opts so = {.create = 1,
                                  .segment_max_bytes = 48 * 1024,
                                  .checkpoint_every_events = 100,
                                  .checkpoint_every_ms = 3600 * 1000};
    struct trail_store *st;
    struct trail_event *ev;
    struct trail_store_report rep;
    uint64_t seq;
    int r;
    if (argc != 3)
        return 2;
    so.checkpoint_key_path = argv[2];
    if (trail_catalog_new(&cat) || trail_loadgen_new(cat, &lo, &gen) ||
        trail_event_new(cat, "core_server_run_starting", &ev))
        return 1;
    if ((r = trail_store_open(argv[1], cat, &so, &st, &rep)) < 0) {
        fprintf(stderr, "%s: %s\n%s", argv[1], trail_strerror(r), rep.message);
        return 1;
    }
    for (int i = 0; i < 300; i++) {
        if ((r = trail_loadgen_next(gen, ev)) < 0 ||
            (r = trail_store_append(st, &ev, 1, &seq)) < 0 || (r = trail_store_wait(st, seq)) < 0) {
            fprintf(stderr, "event %d: %s\n", i + 1, trail_strerror(r));
            return 1;
        }
    }
    r = trail_store_close(st);
    trail_event_free(ev);
    trail_loadgen_free(gen);
    trail_catalog_free(cat);
    return r < 0 ? 1 : 0;
}
