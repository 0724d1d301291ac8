/*
 * http.h - the one HTTP/1.1 client of trail: requests in turn over one
 * kept-alive connection (client_conn, plain or TLS), answers read with a
 * Content-Length, chunked, or to the end of the connection, as a whole or
 * piece by piece (the CLI's `trail tail -f` reads a stream). Used by
 * trail_client_* (client.c, and through it the CLI) and by the webhook,
 * trail, tlog-witness and ClickHouse sinks.
 *
 * Not here: URLs (url.h), sockets and TLS (net.h), traild's answers (client.c).
 */
#ifndef TRAIL_CLIENT_HTTP_H
#define TRAIL_CLIENT_HTTP_H

#include "client/net.h"
#include "client/url.h"

#include "trail.h"

#include <stdint.h>

/* One peer, one connection at a time; zero it and call client_http_init. */
struct client_http {
    struct client_url url;
    struct client_tls tls; /* enabled follows the URL's scheme; strings stay the caller's */
    int timeout_ms;
    const char *user_agent; /* "trail", "traild", ... */
    struct client_conn conn;
    int connected;
    /* the answer being read */
    struct trail_buf head; /* status line and headers, up to the blank line */
    struct trail_buf in;   /* bytes read past what was consumed */
    size_t pos;            /* next unread byte in in */
    int status, keep, mode, chunk_state, done;
    uint64_t left; /* of the body (length) or of the current chunk */
};

/*
 * client_http_init - ready h for url (copied) with tls (copied; enabled is
 * set from the scheme) and a timeout on every wait. Does not connect.
 */
void client_http_init(struct client_http *h, const struct client_url *url,
                      const struct client_tls *tls, int timeout_ms, const char *user_agent);

/*
 * client_http_request - send METHOD path (NULL: the URL's) with headers
 * (lines "Name: value\r\n", may be NULL) and body (len bytes, Content-Length
 * sent when body is not NULL), then read the answer's head. Connects when
 * needed; a kept-alive connection that the peer closed meanwhile is opened
 * again once. Returns 0 with *ret_status, the body left to read with
 * client_http_read(); or a negative code with err (the connection is then
 * closed).
 */
int client_http_request(struct client_http *h, const char *method, const char *path,
                        const char *headers, const void *body, size_t len, int *ret_status,
                        char *err, size_t errlen);

/* client_http_header - the value of the answer's header name, or NULL; *ret_len its length. */
const char *client_http_header(const struct client_http *h, const char *name, size_t *ret_len);

/*
 * client_http_read - up to cap bytes of the answer's body (chunks joined),
 * waiting at most timeout_ms (< 0: the timeout of h). *ret_n 0 at its end.
 * Returns 0, -ETIMEDOUT (nothing yet: read again), or < 0 with err.
 */
int client_http_read(struct client_http *h, void *buf, size_t cap, int timeout_ms, size_t *ret_n,
                     char *err, size_t errlen);

/* client_http_read_all - the rest of the body appended to out (at most max bytes). */
int client_http_read_all(struct client_http *h, struct trail_buf *out, size_t max, char *err,
                         size_t errlen);

/*
 * client_http_post - POST body to path (NULL: the URL's) and read the whole
 * answer: *ret_status, its body into resp (reset first; may be NULL, at
 * most 64 MiB). Returns 0 or a negative code with err.
 */
int client_http_post(struct client_http *h, const char *path, const char *headers, const void *body,
                     size_t len, int *ret_status, struct trail_buf *resp, char *err, size_t errlen);

/*
 * client_http_connect - connect h now (client_http_request would on its
 * first use), so that a peer that is not there shows when a sink opens,
 * not at its first batch. Returns 0 or a negative code with err.
 */
int client_http_connect(struct client_http *h, char *err, size_t errlen);

/*
 * client_http_refusal - write into err what (e.g. "HTTP 503 from host",
 * already formatted), then ": " and at most max bytes of the answer's body
 * body[0..len) when there is any, as one line: CR and LF become spaces, for
 * a sink's lag reason in one log line and metric label.
 */
void client_http_refusal(char *err, size_t errlen, const char *what, const char *body, size_t len,
                         size_t max);

/* client_http_close - close the connection and free the buffers; h may be used again. */
void client_http_close(struct client_http *h);

#endif /* TRAIL_CLIENT_HTTP_H */
