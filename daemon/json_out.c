/*
 * json_out.c - JSON strings and formatted text into a trail_buf (json_out.h).
 */
#include "json_out.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int json_str(struct trail_buf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    if (len == (size_t)-1)
        len = strlen(s);
    int r = trail_buf_reserve(out, len + 2);
    if (r < 0)
        return r;
    if ((r = trail_buf_append(out, "\"", 1)) < 0)
        return r;
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        if ((r = trail_buf_append(out, s + start, i - start)) < 0)
            return r;
        char esc[7] = {'\\', 0};
        size_t n = 2;
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        if ((r = trail_buf_append(out, esc, n)) < 0)
            return r;
        start = i + 1;
    }
    if ((r = trail_buf_append(out, s + start, len - start)) < 0)
        return r;
    return trail_buf_append(out, "\"", 1);
}

int json_printf(struct trail_buf *out, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    if ((size_t)n < sizeof(small))
        return trail_buf_append(out, small, (size_t)n);
    int r = trail_buf_reserve(out, (size_t)n + 1);
    if (r < 0)
        return r;
    va_start(ap, fmt);
    vsnprintf(out->data + out->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    out->len += (size_t)n;
    return 0;
}
