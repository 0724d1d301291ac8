/*
 * http.c - the one HTTP/1.1 client of trail (http.h).
 *
 *   request:  METHOD PATH HTTP/1.1, Host (with the port when not the
 *             scheme's), User-Agent, Content-Length when there is a body,
 *             the caller's headers; connections are kept alive
 *   answer:   1xx heads skipped; a body by Transfer-Encoding: chunked
 *             (extensions and trailers skipped), Content-Length, or to the
 *             end of the connection; none for HEAD, 204 and 304
 *
 * A connection is used again only once the previous answer was read to its
 * end and the peer did not say Connection: close (or spoke HTTP/1.0 without
 * keep-alive). A kept-alive connection can have been closed by the peer
 * meanwhile: a request that fails on one before any byte of an answer came
 * is sent once more on a new connection.
 *
 * Not here: sockets and TLS (net.c), URLs (url.c), traild's answers (client.c).
 */
#include "client/http.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_HEAD (64u << 10)

enum { BODY_NONE, BODY_LENGTH, BODY_CHUNKED, BODY_EOF };

static int seterr(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int seterr(char *err, size_t errlen, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return code;
}

void client_http_init(struct client_http *h, const struct client_url *url,
                      const struct client_tls *tls, int timeout_ms, const char *user_agent)
{
    memset(h, 0, sizeof(*h));
    h->url = *url;
    if (tls)
        h->tls = *tls;
    h->tls.enabled = url->https;
    h->timeout_ms = timeout_ms > 0 ? timeout_ms : 30000;
    h->user_agent = user_agent ? user_agent : "trail";
    h->conn.fd = -1;
    h->done = 1;
}

static void drop(struct client_http *h)
{
    if (h->connected)
        client_conn_close(&h->conn);
    h->connected = 0;
}

/* Read more bytes into h->in. 1: some came; 0: the connection ended; < 0: error. */
static int more(struct client_http *h, int timeout_ms, char *err, size_t errlen)
{
    if (h->pos == h->in.len) {
        trail_buf_reset(&h->in);
        h->pos = 0;
    } else if (h->pos > (1u << 16)) {
        memmove(h->in.data, h->in.data + h->pos, h->in.len - h->pos);
        h->in.len -= h->pos;
        h->pos = 0;
    }
    if (trail_buf_reserve(&h->in, 16384) < 0)
        return -ENOMEM;
    size_t n = 0;
    int r = client_recv(&h->conn, h->in.data + h->in.len, 16384, timeout_ms, &n, err, errlen);
    if (r < 0)
        return r;
    h->in.len += n;
    h->in.data[h->in.len] = '\0';
    return n > 0;
}

/* Read up to the blank line after the headers into h->head. *ret_any: some bytes came. */
static int read_head(struct client_http *h, int *ret_any, char *err, size_t errlen)
{
    *ret_any = h->in.len > h->pos;
    for (;;) {
        const char *start = h->in.data ? h->in.data + h->pos : NULL;
        const char *e = start ? memmem(start, h->in.len - h->pos, "\r\n\r\n", 4) : NULL;
        if (e) {
            size_t n = (size_t)(e - start) + 4;
            trail_buf_reset(&h->head);
            if (trail_buf_append(&h->head, start, n) < 0)
                return -ENOMEM;
            h->pos += n;
            return 0;
        }
        if (h->in.len - h->pos > MAX_HEAD)
            return seterr(err, errlen, -EPROTO, "an answer's header over 64 KiB");
        int r = more(h, -1, err, errlen);
        if (r < 0)
            return r;
        if (r == 0)
            return seterr(err, errlen, -ECONNRESET, "the connection closed before an answer");
        *ret_any = 1;
    }
}

const char *client_http_header(const struct client_http *h, const char *name, size_t *ret_len)
{
    size_t nl = strlen(name), len = h->head.len;
    const char *head = h->head.data;
    const char *p = head ? memchr(head, '\n', len) : NULL;
    while (p && (size_t)(p - head) + 1 < len) {
        p++;
        if ((size_t)(head + len - p) > nl + 1 && !strncasecmp(p, name, nl) && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            const char *e = strchr(v, '\r');
            size_t vl = e ? (size_t)(e - v) : strlen(v);
            while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                vl--;
            *ret_len = vl;
            return v;
        }
        p = memchr(p, '\n', (size_t)(head + len - p));
    }
    return NULL;
}

/* Does the header's comma-separated value hold token (case-insensitive)? */
static int header_has(const struct client_http *h, const char *name, const char *token)
{
    size_t vl, tl = strlen(token);
    const char *v = client_http_header(h, name, &vl);
    while (v && vl) {
        while (vl && (*v == ' ' || *v == ',')) {
            v++;
            vl--;
        }
        size_t n = 0;
        while (n < vl && v[n] != ',')
            n++;
        size_t m = n;
        while (m && v[m - 1] == ' ')
            m--;
        if (m == tl && !strncasecmp(v, token, tl))
            return 1;
        v += n;
        vl -= n;
    }
    return 0;
}

/* The status line and how the body comes. */
static int parse_head(struct client_http *h, const char *method, char *err, size_t errlen)
{
    int minor = 0, status = 0;
    if (sscanf(h->head.data, "HTTP/1.%d %3d", &minor, &status) != 2 || status < 100 || status > 599)
        return seterr(err, errlen, -EPROTO, "not an HTTP/1 answer");
    h->status = status;
    h->keep = minor >= 1 ? !header_has(h, "Connection", "close")
                         : header_has(h, "Connection", "keep-alive");
    size_t vl;
    const char *v;
    h->done = 0;
    h->chunk_state = 0;
    h->left = 0;
    if (!strcmp(method, "HEAD") || status == 204 || status == 304) {
        h->mode = BODY_NONE;
    } else if (header_has(h, "Transfer-Encoding", "chunked")) {
        h->mode = BODY_CHUNKED;
    } else if ((v = client_http_header(h, "Content-Length", &vl))) {
        uint64_t n = 0;
        if (!vl || vl > 18)
            return seterr(err, errlen, -EPROTO, "a bad Content-Length");
        for (size_t i = 0; i < vl; i++) {
            if (v[i] < '0' || v[i] > '9')
                return seterr(err, errlen, -EPROTO, "a bad Content-Length");
            n = n * 10 + (uint64_t)(v[i] - '0');
        }
        h->mode = BODY_LENGTH;
        h->left = n;
    } else {
        h->mode = BODY_EOF;
        h->keep = 0;
    }
    return 0;
}

int client_http_request(struct client_http *h, const char *method, const char *path,
                        const char *headers, const void *body, size_t len, int *ret_status,
                        char *err, size_t errlen)
{
    struct trail_buf req = {0};
    int r = 0;
    if (!h->done)
        drop(h); /* the last answer was not read to its end: its rest is in the way */
    h->done = 1;
    const struct client_url *u = &h->url;
    int default_port = !strcmp(u->port, u->https ? "443" : "80");
    int v6 = strchr(u->host, ':') != NULL;
    char line[1500];
    int n = snprintf(
        line, sizeof(line), "%s %s HTTP/1.1\r\nHost: %s%s%s%s%s\r\nUser-Agent: %s/%s\r\n", method,
        path ? path : u->path, v6 ? "[" : "", u->host, v6 ? "]" : "", default_port ? "" : ":",
        default_port ? "" : u->port, h->user_agent, TRAIL_VERSION_STRING);
    if (n < 0 || (size_t)n >= sizeof(line) || (path && strpbrk(path, " \r\n")))
        return seterr(err, errlen, -EINVAL, "a request line that is too long or not one line");
    if (trail_buf_append(&req, line, (size_t)n) < 0)
        goto nomem;
    if (body) {
        n = snprintf(line, sizeof(line), "Content-Length: %zu\r\n", len);
        if (trail_buf_append(&req, line, (size_t)n) < 0)
            goto nomem;
    }
    if ((headers && trail_buf_append(&req, headers, strlen(headers)) < 0) ||
        trail_buf_append(&req, "\r\n", 2) < 0 ||
        (body && len && trail_buf_append(&req, body, len) < 0))
        goto nomem;
    for (int attempt = 0;; attempt++) {
        int reused = h->connected, any = 0;
        if (!h->connected) {
            r = client_connect(&h->conn, u->host, u->port, 0, &h->tls, h->timeout_ms, err, errlen);
            if (r < 0)
                goto out;
            h->connected = 1;
        }
        trail_buf_reset(&h->in);
        h->pos = 0;
        r = client_send(&h->conn, req.data, req.len, err, errlen);
        if (r == 0)
            r = read_head(h, &any, err, errlen);
        while (r == 0 && h->head.len > 12 && h->head.data[9] == '1' &&
               strncmp(h->head.data + 9, "101", 3))
            r = read_head(h, &any, err,
                          errlen); /* 100 Continue and the like come before the answer */
        if (r == 0)
            break;
        drop(h);
        if (!reused || any || r == -ETIMEDOUT || attempt)
            goto out;
    }
    if ((r = parse_head(h, method, err, errlen)) < 0) {
        drop(h);
        goto out;
    }
    *ret_status = h->status;
out:
    trail_buf_free(&req);
    return r;
nomem:
    trail_buf_free(&req);
    return -ENOMEM;
}

/* The body has ended: the connection serves the next request, or closes. */
static void finish(struct client_http *h)
{
    h->done = 1;
    if (!h->keep || h->pos != h->in.len)
        drop(h); /* bytes past the answer: the peer is out of step */
}

/* Copy what is buffered of the current length (left) into buf. */
static size_t take(struct client_http *h, void *buf, size_t cap)
{
    size_t avail = h->in.len - h->pos, n = avail < cap ? avail : cap;
    if ((uint64_t)n > h->left)
        n = (size_t)h->left;
    memcpy(buf, h->in.data + h->pos, n);
    h->pos += n;
    h->left -= n;
    return n;
}

int client_http_read(struct client_http *h, void *buf, size_t cap, int timeout_ms, size_t *ret_n,
                     char *err, size_t errlen)
{
    int r;
    for (;;) {
        if (h->done || !h->connected) {
            *ret_n = 0;
            return 0;
        }
        size_t avail = h->in.len - h->pos;
        const char *at = h->in.data ? h->in.data + h->pos : "";
        switch (h->mode) {
        case BODY_NONE:
            finish(h);
            continue;
        case BODY_EOF:
            if (avail) {
                h->left = avail;
                *ret_n = take(h, buf, cap);
                return 0;
            }
            if ((r = more(h, timeout_ms, err, errlen)) < 0)
                goto fail;
            if (r == 0) {
                h->keep = 0;
                finish(h);
            }
            continue;
        case BODY_LENGTH:
            if (!h->left) {
                finish(h);
                continue;
            }
            if (avail) {
                *ret_n = take(h, buf, cap);
                if (!h->left)
                    finish(h);
                return 0;
            }
            break;
        default:                       /* BODY_CHUNKED */
            if (h->chunk_state == 1) { /* in a chunk's data */
                if (avail) {
                    *ret_n = take(h, buf, cap);
                    if (!h->left)
                        h->chunk_state = 2;
                    return 0;
                }
                break;
            }
            if (h->chunk_state == 2) { /* the CRLF after a chunk's data */
                if (avail < 2)
                    break;
                if (at[0] != '\r' || at[1] != '\n') {
                    r = seterr(err, errlen, -EPROTO, "a bad chunk in the answer");
                    goto fail;
                }
                h->pos += 2;
                h->chunk_state = 0;
                continue;
            }
            const char *eol = memmem(at, avail, "\r\n", 2);
            if (!eol) {
                if (avail > 4096) {
                    r = seterr(err, errlen, -EPROTO, "a bad chunk in the answer");
                    goto fail;
                }
                break;
            }
            size_t ll = (size_t)(eol - at);
            if (h->chunk_state == 3) { /* trailers, up to an empty line */
                h->pos += ll + 2;
                if (!ll)
                    finish(h);
                continue;
            }
            uint64_t size = 0;
            size_t i = 0;
            for (; i < ll; i++) {
                char c = at[i];
                int d = c >= '0' && c <= '9'   ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                               : -1;
                if (d < 0)
                    break;
                if (size >> 56) {
                    r = seterr(err, errlen, -EPROTO, "a chunk too large");
                    goto fail;
                }
                size = size * 16 + (uint64_t)d;
            }
            if (i == 0 || (i < ll && at[i] != ';' && at[i] != ' ' && at[i] != '\t')) {
                r = seterr(err, errlen, -EPROTO, "a bad chunk size in the answer");
                goto fail;
            }
            h->pos += ll + 2;
            h->left = size;
            h->chunk_state = size ? 1 : 3;
            continue;
        }
        /* more bytes are needed to go on */
        if ((r = more(h, timeout_ms, err, errlen)) < 0)
            goto fail;
        if (r == 0) {
            r = seterr(err, errlen, -ECONNRESET, "the connection closed in the answer's body");
            goto fail;
        }
    }
fail:
    if (r != -ETIMEDOUT) {
        drop(h);
        h->done = 1;
    }
    return r;
}

int client_http_read_all(struct client_http *h, struct trail_buf *out, size_t max, char *err,
                         size_t errlen)
{
    size_t start = out->len;
    for (;;) {
        if (trail_buf_reserve(out, 16384) < 0)
            return -ENOMEM;
        size_t n = 0;
        int r = client_http_read(h, out->data + out->len, 16384, -1, &n, err, errlen);
        if (r < 0) {
            if (r == -ETIMEDOUT) {
                drop(h);
                h->done = 1;
            }
            return r;
        }
        if (n == 0)
            return 0;
        out->len += n;
        out->data[out->len] = '\0';
        if (out->len - start > max) {
            drop(h);
            h->done = 1;
            return seterr(err, errlen, TRAIL_E_TOO_LARGE, "an answer over %zu bytes", max);
        }
    }
}

int client_http_post(struct client_http *h, const char *path, const char *headers, const void *body,
                     size_t len, int *ret_status, struct trail_buf *resp, char *err, size_t errlen)
{
    int status = 0;
    struct trail_buf sink = {0};
    int r =
        client_http_request(h, "POST", path, headers, body ? body : "", len, &status, err, errlen);
    if (r < 0)
        return r;
    if (resp)
        trail_buf_reset(resp);
    r = client_http_read_all(h, resp ? resp : &sink, 64u << 20, err, errlen);
    trail_buf_free(&sink);
    if (r < 0)
        return r;
    *ret_status = status;
    return 0;
}

int client_http_connect(struct client_http *h, char *err, size_t errlen)
{
    int r =
        client_connect(&h->conn, h->url.host, h->url.port, 0, &h->tls, h->timeout_ms, err, errlen);
    if (r == 0)
        h->connected = 1;
    return r;
}

void client_http_refusal(char *err, size_t errlen, const char *what, const char *body, size_t len,
                         size_t max)
{
    size_t n = body && len < max ? len : body ? max : 0;
    snprintf(err, errlen, "%s%s%.*s", what, n ? ": " : "", (int)n, n ? body : "");
    for (char *p = err; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

void client_http_close(struct client_http *h)
{
    drop(h);
    h->done = 1;
    trail_buf_free(&h->head);
    trail_buf_free(&h->in);
}
