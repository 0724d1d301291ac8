/*
 * fuzz_http_body.c - libFuzzer target for the POST /v1/events body splitter
 * (daemon/http/http_body.c) and the per-item decoding traild does after it.
 *
 * The first input byte picks the Content-Type (odd: application/x-ndjson,
 * even: sniff); the rest is the body. Checks: items lie inside the body, in
 * order, without overlap, each starting with non-blank text; a failed split
 * says why; each item decodes or fails with a message. Anything else aborts.
 *
 * The splitter is daemon code, not libtrail: the target links traild's
 * HTTP part (traild_http), as traild does.
 * In ordinary builds tests/fuzz/replay.c runs this over corpus/fuzz_http_body/.
 */
#include "http/http_body.h"

#include "trail.h"

#include <stdint.h>
#include <stdlib.h>

/* What the splitter skips around items: JSON's whitespace (RFC 8259). */
static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static struct trail_catalog *cat;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (!cat && trail_catalog_new(&cat) != 0)
        abort();
    int ndjson = data[0] & 1;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    struct body_item *items = NULL;
    size_t n = 0;
    int kind = 0;
    char err[256];
    int r = body_split(body, len, ndjson, 1000, &items, &n, &kind, err, sizeof(err));
    if (r < 0) {
        if (err[0] == '\0' || items != NULL)
            abort();
        return 0;
    }
    if (n == 0 || kind < BODY_OBJECT || kind > BODY_NDJSON || (kind == BODY_OBJECT && n != 1))
        abort();
    size_t prev_end = 0;
    for (size_t i = 0; i < n; i++) {
        if (items[i].len == 0 || items[i].off < prev_end || items[i].off + items[i].len > len ||
            is_ws(body[items[i].off]))
            abort();
        prev_end = items[i].off + items[i].len;
        struct trail_event *ev = NULL;
        char e2[256];
        e2[0] = '\0';
        if (trail_event_from_json(cat, body + items[i].off, items[i].len, &ev, e2, sizeof(e2)) ==
            0) {
            trail_event_validate(ev);
            trail_event_free(ev);
        } else if (e2[0] == '\0' || ev != NULL) {
            abort();
        }
    }
    free(items);
    return 0;
}
