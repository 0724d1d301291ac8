/*
 * http_body.h - splitting a POST /v1/events body into its items: one JSON
 * object, a JSON array of objects, or NDJSON (one object per line).
 *
 * Only the structure is read here (brackets, strings, lines); each item's
 * JSON is decoded by trail_event_from_json(), so a malformed item is that
 * item's error and its neighbours still go through. Fuzzed by
 * tests/fuzz/fuzz_http_body.c. Not here: HTTP itself (input_http.c).
 */
#ifndef TRAILD_HTTP_BODY_H
#define TRAILD_HTTP_BODY_H

#include <stddef.h>

enum body_kind { BODY_OBJECT = 1, BODY_ARRAY = 2, BODY_NDJSON = 3 };

/* One item: body[off, off + len). */
struct body_item {
    size_t off;
    size_t len;
};

/*
 * body_split - find the items of body[0..len).
 *
 * ndjson: 1 when the request said Content-Type application/x-ndjson (every
 * non-blank line is an item, whatever it holds); 0 to sniff: '[' starts an
 * array, '{' an object, or NDJSON when more follows the first object.
 * max_items bounds the result. Returns 0 with a malloc'd array (caller frees)
 * and the kind, or TRAIL_E_PARSE with err naming the problem and its byte
 * offset (the body as a whole cannot be read: HTTP 400), TRAIL_E_TOO_LARGE
 * over max_items, or -ENOMEM.
 */
int body_split(const char *body, size_t len, int ndjson, size_t max_items,
               struct body_item **ret_items, size_t *ret_n, int *ret_kind, char *err,
               size_t errlen);

#endif /* TRAILD_HTTP_BODY_H */
