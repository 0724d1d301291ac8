/*
 * http_body.c - split a POST /v1/events body into items (see http_body.h).
 *
 * The scanner knows just enough JSON to find where a value ends: strings
 * with their escapes, and nesting of {} and []. It never decodes, so it is
 * fast and its only failure is an unbalanced body.
 */
#include "http/http_body.h"

#include "trail.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * The end of the JSON value that starts at body[i] (not white space): for an
 * object or array the byte after its closing bracket, for a string after its
 * closing quote, for a scalar at the next delimiter. Returns (size_t)-1 when
 * the value does not end inside body[0..len) or its brackets do not match.
 */
static size_t value_end(const char *body, size_t len, size_t i)
{
    char stack[64];
    size_t depth = 0;
    if (body[i] != '{' && body[i] != '[' && body[i] != '"') {
        while (i < len && !is_ws(body[i]) && body[i] != ',' && body[i] != ']' && body[i] != '}')
            i++;
        return i;
    }
    while (i < len) {
        char c = body[i];
        if (c == '"') {
            i++;
            while (i < len && body[i] != '"') {
                if (body[i] == '\\')
                    i++;
                else if (body[i] == '\n')
                    return (size_t)-1; /* a raw newline cannot be inside a JSON string */
                i++;
            }
            if (i >= len)
                return (size_t)-1;
            i++;
            if (depth == 0)
                return i;
            continue;
        }
        if (c == '{' || c == '[') {
            if (depth == sizeof(stack))
                return (size_t)-1; /* nesting deeper than any event needs */
            stack[depth++] = c == '{' ? '}' : ']';
        } else if (c == '}' || c == ']') {
            if (depth == 0 || stack[depth - 1] != c)
                return (size_t)-1;
            if (--depth == 0)
                return i + 1;
        }
        i++;
    }
    return (size_t)-1;
}

static int push(struct body_item **items, size_t *n, size_t *cap, size_t max, size_t off,
                size_t len)
{
    if (*n >= max)
        return TRAIL_E_TOO_LARGE;
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        struct body_item *p = realloc(*items, nc * sizeof(*p));
        if (!p)
            return -ENOMEM;
        *items = p;
        *cap = nc;
    }
    (*items)[(*n)++] = (struct body_item){off, len};
    return 0;
}

static int split_lines(const char *body, size_t len, size_t max, struct body_item **items,
                       size_t *n, size_t *cap)
{
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(body + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - body) : len;
        size_t a = i, b = end;
        while (a < b && is_ws(body[a]))
            a++;
        while (b > a && is_ws(body[b - 1]))
            b--;
        if (b > a) {
            int r = push(items, n, cap, max, a, b - a);
            if (r < 0)
                return r;
        }
        i = end + 1;
    }
    return 0;
}

int body_split(const char *body, size_t len, int ndjson, size_t max_items,
               struct body_item **ret_items, size_t *ret_n, int *ret_kind, char *err, size_t errlen)
{
    struct body_item *items = NULL;
    size_t n = 0, cap = 0, i = 0;
    int kind, r = 0;
    err[0] = '\0';
    /* a UTF-8 byte order mark is tolerated at the start */
    if (len >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < len && is_ws(body[i]))
        i++;
    if (ndjson) {
        kind = BODY_NDJSON;
        r = split_lines(body + i, len - i, max_items, &items, &n, &cap);
        for (size_t k = 0; k < n; k++)
            items[k].off += i;
        if (r < 0)
            goto fail;
        if (n == 0) {
            snprintf(err, errlen, "the body holds no events");
            r = TRAIL_E_PARSE;
            goto fail;
        }
        goto done;
    }
    if (i == len) {
        snprintf(err, errlen, "the body is empty: send a JSON object, an array or NDJSON");
        r = TRAIL_E_PARSE;
        goto fail;
    }
    if (body[i] == '[') {
        kind = BODY_ARRAY;
        i++;
        for (;;) {
            while (i < len && is_ws(body[i]))
                i++;
            if (i < len && body[i] == ']' && n == 0) {
                i++;
                break;
            }
            if (i >= len) {
                snprintf(err, errlen, "malformed JSON array: it ends at byte %zu without ']'", len);
                r = TRAIL_E_PARSE;
                goto fail;
            }
            size_t e = value_end(body, len, i);
            if (e == (size_t)-1 || e == i) {
                snprintf(err, errlen,
                         "malformed JSON array: element %zu at byte %zu does not end "
                         "(unbalanced brackets or an unterminated string)",
                         n, i);
                r = TRAIL_E_PARSE;
                goto fail;
            }
            if ((r = push(&items, &n, &cap, max_items, i, e - i)) < 0)
                goto fail;
            i = e;
            while (i < len && is_ws(body[i]))
                i++;
            if (i < len && body[i] == ',') {
                i++;
                continue;
            }
            if (i < len && body[i] == ']') {
                i++;
                break;
            }
            snprintf(err, errlen, "malformed JSON array: expected ',' or ']' at byte %zu", i);
            r = TRAIL_E_PARSE;
            goto fail;
        }
        while (i < len && is_ws(body[i]))
            i++;
        if (i != len) {
            snprintf(err, errlen, "unexpected data after the JSON array at byte %zu", i);
            r = TRAIL_E_PARSE;
            goto fail;
        }
        if (n == 0) {
            snprintf(err, errlen, "the array holds no events");
            r = TRAIL_E_PARSE;
            goto fail;
        }
        goto done;
    }
    if (body[i] != '{') {
        snprintf(err, errlen,
                 "the body is not JSON: expected an object, an array or NDJSON at byte %zu", i);
        r = TRAIL_E_PARSE;
        goto fail;
    }
    /* one object, or NDJSON whose first line is an object */
    size_t e = value_end(body, len, i);
    size_t j = e;
    while (j != (size_t)-1 && j < len && is_ws(body[j]))
        j++;
    if (e != (size_t)-1 && j == len) {
        kind = BODY_OBJECT;
        if ((r = push(&items, &n, &cap, max_items, i, e - i)) < 0)
            goto fail;
        goto done;
    }
    if (!memchr(body + i, '\n', len - i)) {
        if (e == (size_t)-1)
            snprintf(err, errlen,
                     "malformed JSON object: it does not end (unbalanced braces or an "
                     "unterminated string)");
        else
            snprintf(err, errlen, "unexpected data after the JSON object at byte %zu", j);
        r = TRAIL_E_PARSE;
        goto fail;
    }
    kind = BODY_NDJSON;
    r = split_lines(body + i, len - i, max_items, &items, &n, &cap);
    for (size_t k = 0; k < n; k++)
        items[k].off += i;
    if (r < 0)
        goto fail;
done:
    *ret_items = items;
    *ret_n = n;
    *ret_kind = kind;
    return 0;
fail:
    if (r == TRAIL_E_TOO_LARGE)
        snprintf(err, errlen, "more than %zu events in one request", max_items);
    free(items);
    return r;
}
