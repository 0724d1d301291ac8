/*
 * codec.c - helpers shared by the wire-form encoders and decoders: errors
 * with a byte offset, decoded attributes with the time range check, event
 * ids as decoders accept them, UTF-8 sequences and decimal numbers.
 *
 * Not here: any one format (json.c, cef.c, syslog.c).
 */
#include "codec.h"

#include <stdarg.h>
#include <stdio.h>

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

int codec_set_text(struct trail_event *ev, const char *key, size_t klen, const char *value,
                   size_t vlen)
{
    int r = trail_event_set_text(ev, key, klen, value, vlen);
    if (r < 0)
        return r;
    const struct trail_attr_def *def = trail_attr_def_find(ev->def, key, klen);
    if (def && def->type == TRAIL_TYPE_TIME) {
        struct trail_value v;
        if (trail_event_attr_get(ev, key, &v) == 0 && v.type == TRAIL_TYPE_TIME &&
            !codec_time_ok(v.u.time_us)) {
            trail_event_unset(ev, key);
            return trail_event_errorf(ev, TRAIL_E_BAD_TYPE,
                                      "attribute '%s': '%.*s' is outside years 0000..9999", key,
                                      (int)(vlen > 64 ? 64 : vlen), value);
        }
    }
    return 0;
}

int codec_new_event(const struct trail_catalog *cat, const char *id, size_t len,
                    struct trail_event **ret_event)
{
    if (!trail_id_valid(id, len))
        return TRAIL_E_BAD_ID;
    char buf[TRAIL_MAX_ID_LEN + 1];
    memcpy(buf, id, len);
    buf[len] = '\0';
    return trail_event_new(cat, buf, ret_event);
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
