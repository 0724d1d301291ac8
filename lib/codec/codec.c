/*
 * codec.c - helpers shared by the wire-form encoders and decoders: errors
 * with a byte offset, UTF-8 sequences, decimal numbers, and an event's row
 * for the writers (codec_row_of_event).
 *
 * Not here: any one format (json.c, cef.c, syslog.c).
 */
#include "codec/codec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int codec_error(char *err, size_t errlen, int code, size_t off, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return code;
    int n = snprintf(err, errlen, "byte %zu: ", off);
    if (n >= 0 && (size_t)n < errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return code;
}

size_t codec_utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

int codec_put_u64(struct trail_buf *out, uint64_t v)
{
    char tmp[24];
    char *p = tmp + sizeof(tmp);
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return trail_buf_append(out, p, (size_t)(tmp + sizeof(tmp) - p));
}

int codec_put_i64(struct trail_buf *out, int64_t v)
{
    if (v >= 0)
        return codec_put_u64(out, (uint64_t)v);
    int r = trail_buf_append(out, "-", 1);
    if (r < 0)
        return r;
    return codec_put_u64(out, 0 - (uint64_t)v);
}

void codec_row_of_event(const struct trail_event *ev, struct codec_row *ret)
{
    *ret = (struct codec_row){
        .def = ev->def,
        .seq = ev->seq,
        .time_us = ev->time_us,
        .received_us = ev->received_us,
        .severity = ev->severity,
        .own = ev->own,
        .input = ev->input,
        .id = ev->id,
        .id_len = ev->id_len,
        .host = ev->host,
        .host_len = ev->host_len,
        .input_name = ev->input_name,
        .input_name_len = ev->input_name_len,
        .principal = ev->principal,
        .principal_len = ev->principal_len,
        .problems = ev->problems,
        .problems_len = ev->problems_len,
        .uuid = ev->has_uuid ? ev->uuid : NULL,
        .peer = ev->peer,
        .via = ev->n_via ? (const uint8_t *)ev->arena + ev->via_off : NULL,
        .via_len = ev->via_len,
        .n_via = ev->n_via,
        .ev = ev,
        .n_attrs = ev->n_attrs,
    };
}

void codec_nulls_init(struct codec_nulls *ns)
{
    ns->keys = ns->stack;
    ns->cap = sizeof(ns->stack);
    ns->len = ns->n = 0;
}

void codec_nulls_free(struct codec_nulls *ns)
{
    if (ns->keys != ns->stack)
        free(ns->keys);
    ns->keys = ns->stack;
}

int codec_nulls_has(const struct codec_nulls *ns, const char *key, size_t len)
{
    const char *k = ns->keys;
    for (size_t i = 0; i < ns->n; i++) {
        size_t kl = strlen(k);
        if (kl == len && memcmp(k, key, len) == 0)
            return 1;
        k += kl + 1;
    }
    return 0;
}

int codec_nulls_add(struct codec_nulls *ns, const char *key, size_t len)
{
    if (ns->len + len + 1 > ns->cap) {
        size_t cap = 2 * (ns->len + len + 1);
        char *q = malloc(cap);
        if (!q)
            return -ENOMEM;
        memcpy(q, ns->keys, ns->len);
        if (ns->keys != ns->stack)
            free(ns->keys);
        ns->keys = q;
        ns->cap = cap;
    }
    memcpy(ns->keys + ns->len, key, len);
    ns->keys[ns->len + len] = '\0';
    ns->len += len + 1;
    ns->n++;
    return 0;
}
