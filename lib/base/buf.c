/*
 * buf.c - the growable byte buffer that encoders append to.
 */
#include "base/base.h"

#include <errno.h>
#include <stdlib.h>

int trail_buf_reserve(struct trail_buf *b, size_t n)
{
    if (b->cap - b->len > n)
        return 0;
    size_t need = b->len + n + 1;
    if (need < b->len)
        return -ENOMEM;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) {
        if (cap > SIZE_MAX / 2)
            return -ENOMEM;
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p)
        return -ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int trail_buf_append(struct trail_buf *b, const void *data, size_t n)
{
    int r = trail_buf_reserve(b, n);
    if (r < 0)
        return r;
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

void trail_buf_reset(struct trail_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void trail_buf_free(struct trail_buf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
