/*
 * fuzz_cef.c - libFuzzer target for trail_event_from_cef().
 *
 * Each input is decoded as one line (with or without the event.log prefix)
 * under the STRICT, LENIENT and OFF policies by a catalog holding the
 * built-in events and one custom event of every attribute type. When a
 * decode succeeds, the event is encoded as an event.log line (prefix on, so
 * that time and host travel too); the line must hold no line break and must
 * decode to the same event (id, severity, time, host and every attribute
 * with its type and value), or the target aborts.
 *
 * Not here: JSON (fuzz_json.c). In ordinary builds tests/fuzz/replay.c runs
 * this over corpus/fuzz_cef/ as a plain test.
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
    fprintf(stderr, "fuzz_cef: %s\n first:  %.*s\n second: %.*s\n", what, (int)alen, a, (int)blen,
            b);
    abort();
}

/* CEF carries no seq and no uuid: the core comparison is the whole oracle. */
#define same_event same_event_core

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!catalogs[0])
        setup();
    /* the offset of the re-encoded prefix varies with the input, -23:59..+23:59 */
    int offset = size ? (int)(data[0] * 11 % (2 * 1439 + 1)) - 1439 : 0;
    for (int p = 0; p < 3; p++) {
        struct trail_event *first = NULL, *second = NULL;
        struct trail_buf out = {0};
        struct trail_cef_opts opts = {.log_prefix = 1, .utc_offset_min = offset};
        char err[256];
        if (trail_event_from_cef(catalogs[p], (const char *)data, size, &first, err, sizeof(err)) !=
            0) {
            if (strncmp(err, "byte ", 5) != 0)
                die("an error without its byte offset", err, strlen(err), "", 0);
            continue;
        }
        if (trail_event_to_cef(first, &opts, &out) != 0)
            abort();
        if (memchr(out.data, '\n', out.len) || memchr(out.data, '\r', out.len))
            die("a line break in the encoded line", (const char *)data, size, out.data, out.len);
        int r = trail_event_from_cef(catalogs[p], out.data, out.len, &second, err, sizeof(err));
        if (r != 0)
            die(err, (const char *)data, size, out.data, out.len);
        if (same_event(first, second) != 0)
            die("the second decode differs", (const char *)data, size, out.data, out.len);
        trail_buf_free(&out);
        trail_event_free(first);
        trail_event_free(second);
    }
    return 0;
}
