/*
 * json_out.c - JSON strings and formatted text into a trail_buf (json_out.h).
 */
#include "core/json_out.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int json_str(struct trail_buf *out, const char *s, size_t len)
{
    /* one JSON string writer for all of trail: the same escapes as the events' JSON */
    return trail_json_string(out, s, len == (size_t)-1 ? strlen(s) : len);
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
