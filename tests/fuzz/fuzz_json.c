/*
 * fuzz_json.c - libFuzzer target for trail_event_from_json().
 *
 * Each input is decoded under the STRICT, LENIENT and OFF policies by a
 * catalog holding the built-in events and one custom event of every
 * attribute type. When a decode succeeds, the event is encoded again and the
 * encoding must decode to the same event (id, severity, time, host, seq,
 * uuid and every attribute with its type and value): anything else is a bug
 * in the decoder or the encoder, and the target aborts.
 *
 * Not here: CEF (fuzz_cef.c). In ordinary builds tests/fuzz/replay.c runs
 * this over corpus/fuzz_json/ as a plain test.
 */
#include "same_event.h"
#include "trail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct trail_catalog *catalogs[3];

static void setup(void)
{
    for (int p = 0; p < 3; p++) {
        if (trail_catalog_new(&catalogs[p]) != 0 ||
            trail_catalog_add(catalogs[p], "fz_typed", "WARNING", "every type",
                              "i:int, b:bool, ip:ip, t:time, e:enum(x|y|z), s:string:required") !=
                0 ||
            trail_catalog_set_policy(catalogs[p], p) != 0)
            abort();
    }
}

static void die(const char *what, const char *a, size_t alen, const char *b, size_t blen)
{
    fprintf(stderr, "fuzz_json: %s\n first:  %.*s\n second: %.*s\n", what, (int)alen, a, (int)blen,
            b);
    abort();
}

/* 0 when a and b hold the same event, seq and uuid included. */
static int same_event(const struct trail_event *a, const struct trail_event *b)
{
    uint8_t ua[16], ub[16];
    int ha = trail_event_uuid(a, ua) == 0, hb = trail_event_uuid(b, ub) == 0;
    if (trail_event_seq(a) != trail_event_seq(b) || ha != hb || (ha && memcmp(ua, ub, 16) != 0))
        return -1;
    return same_event_core(a, b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!catalogs[0])
        setup();
    for (int p = 0; p < 3; p++) {
        struct trail_event *first = NULL, *second = NULL;
        struct trail_buf out = {0};
        char err[256];
        if (trail_event_from_json(catalogs[p], (const char *)data, size, &first, err,
                                  sizeof(err)) != 0) {
            if (strncmp(err, "byte ", 5) != 0)
                die("an error without its byte offset", err, strlen(err), "", 0);
            continue;
        }
        if (trail_event_to_json(first, &out) != 0)
            abort();
        int r = trail_event_from_json(catalogs[p], out.data, out.len, &second, err, sizeof(err));
        if (r != 0)
            die(err, (const char *)data, size, out.data, out.len);
        struct trail_buf again = {0};
        if (trail_event_to_json(second, &again) != 0)
            abort();
        if (same_event(first, second) != 0 || again.len != out.len ||
            memcmp(again.data, out.data, out.len) != 0)
            die("the second decode differs", out.data, out.len, again.data, again.len);
        trail_buf_free(&again);
        trail_buf_free(&out);
        trail_event_free(first);
        trail_event_free(second);
    }
    return 0;
}
