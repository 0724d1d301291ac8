/*
 * client.c - sending events to a running traild: POST /v1/events over plain
 * HTTP/1.1 on a socket of its own, and reading the per-item answer that
 * traild sends once the accepted events are durable.
 *
 *   request:  POST PATH/v1/events, Content-Type application/x-ndjson, one
 *             event a line (trail_event_to_json), Connection: close
 *   answer:   200 {"accepted":N,"rejected":M,"results":[{"seq":S,"uuid":"U"} |
 *                  {"error":"E","index":I}, ...]}, or 400 with the same shape
 *             when every item was refused; otherwise {"error":"..."}
 *
 * Only what that answer needs of JSON is read here (objects of numbers and
 * strings inside one array). No TLS: for https, put a TLS proxy in front.
 *
 * Not here: traild's side (daemon/http/input_http.c), the event's JSON form (json.c).
 */
#include "event/event.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_MS 30000
#define MAX_ANSWER         (64u << 20)

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "http://HOST[:PORT][/PREFIX]" */
struct url {
    char host[256];
    char port[8];
    char prefix[512];
};

static int parse_url(const char *text, struct url *u)
{
    const char *p = text;
    if (strncmp(p, "http://", 7) != 0)
        return strncmp(p, "https://", 8) == 0 ? -EPROTONOSUPPORT : -EINVAL;
    p += 7;
    const char *host = p, *host_end;
    if (*p == '[') {
        host = ++p;
        while (*p && *p != ']')
            p++;
        if (*p != ']')
            return -EINVAL;
        host_end = p++;
    } else {
        while (*p && *p != ':' && *p != '/')
            p++;
        host_end = p;
    }
    size_t hl = (size_t)(host_end - host);
    if (hl == 0 || hl >= sizeof(u->host))
        return -EINVAL;
    memcpy(u->host, host, hl);
    u->host[hl] = '\0';
    strcpy(u->port, "80");
    if (*p == ':') {
        const char *port = ++p;
        while (*p >= '0' && *p <= '9')
            p++;
        size_t pl = (size_t)(p - port);
        if (pl == 0 || pl > 5)
            return -EINVAL;
        memcpy(u->port, port, pl);
        u->port[pl] = '\0';
    }
    if (*p && *p != '/')
        return -EINVAL;
    size_t rest = strlen(p);
    while (rest && p[rest - 1] == '/')
        rest--;
    if (rest >= sizeof(u->prefix))
        return -EINVAL;
    memcpy(u->prefix, p, rest);
    u->prefix[rest] = '\0';
    return 0;
}

static int wait_fd(int fd, short what, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - mono_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd pfd = {.fd = fd, .events = what};
        int r = poll(&pfd, 1, (int)(left > 60000 ? 60000 : left));
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return -errno;
    }
}

static int connect_to(const struct url *u, int64_t deadline, int *ret_fd)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(u->host, u->port, &hints, &ai) != 0)
        return -EHOSTUNREACH;
    int r = -ECONNREFUSED;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        int fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            r = -errno;
            continue;
        }
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) {
            int e = 0;
            socklen_t el = sizeof(e);
            r = wait_fd(fd, POLLOUT, deadline);
            if (r == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) == 0 && e == 0) {
                freeaddrinfo(ai);
                *ret_fd = fd;
                return 0;
            }
            if (r == 0)
                r = -e;
        } else {
            r = -errno;
        }
        close(fd);
    }
    freeaddrinfo(ai);
    return r;
}

static int send_all(int fd, const char *p, size_t n, int64_t deadline)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            return -errno;
        int r = wait_fd(fd, POLLOUT, deadline);
        if (r < 0)
            return r;
    }
    return 0;
}

static int recv_all(int fd, struct trail_buf *in, int64_t deadline)
{
    for (;;) {
        if (in->len > MAX_ANSWER)
            return TRAIL_E_TOO_LARGE;
        int r = trail_buf_reserve(in, 65536);
        if (r < 0)
            return r;
        ssize_t got = recv(fd, in->data + in->len, 65536, 0);
        if (got > 0) {
            in->len += (size_t)got;
            in->data[in->len] = '\0';
            continue;
        }
        if (got == 0)
            return 0;
        if (errno != EAGAIN && errno != EINTR)
            return -errno;
        if ((r = wait_fd(fd, POLLIN, deadline)) < 0)
            return r;
    }
}

/* ---- the answer's JSON ---- */

struct scan {
    const char *p, *end;
};

static void ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

static int eat(struct scan *s, char c)
{
    ws(s);
    if (s->p < s->end && *s->p == c) {
        s->p++;
        return 1;
    }
    return 0;
}

static int hexv(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* A JSON string into out (size n, always NUL-terminated, cut when long). */
static int str(struct scan *s, char *out, size_t n)
{
    size_t o = 0;
    if (!eat(s, '"'))
        return TRAIL_E_PARSE;
    while (s->p < s->end && *s->p != '"') {
        unsigned c = (unsigned char)*s->p++;
        if (c == '\\') {
            if (s->p >= s->end)
                return TRAIL_E_PARSE;
            char e = *s->p++;
            switch (e) {
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case 'r':
                c = '\r';
                break;
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case 'u': {
                if (s->end - s->p < 4)
                    return TRAIL_E_PARSE;
                unsigned v = 0;
                for (int i = 0; i < 4; i++) {
                    int h = hexv(s->p[i]);
                    if (h < 0)
                        return TRAIL_E_PARSE;
                    v = v * 16 + (unsigned)h;
                }
                s->p += 4;
                c = v < 0x80 ? v : '?'; /* traild escapes only control characters */
                break;
            }
            default:
                c = (unsigned char)e;
            }
        }
        if (out && o + 1 < n)
            out[o++] = (char)c;
    }
    if (!eat(s, '"'))
        return TRAIL_E_PARSE;
    if (out && n)
        out[o] = '\0';
    return 0;
}

static int num(struct scan *s, uint64_t *ret)
{
    ws(s);
    uint64_t v = 0;
    const char *start = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
        if (v > UINT64_MAX / 10)
            return TRAIL_E_PARSE;
        v = v * 10 + (uint64_t)(*s->p++ - '0');
    }
    if (s->p == start)
        return TRAIL_E_PARSE;
    *ret = v;
    return 0;
}

/* Skip any value we do not read. */
static int skip(struct scan *s)
{
    ws(s);
    if (s->p >= s->end)
        return TRAIL_E_PARSE;
    if (*s->p == '"')
        return str(s, NULL, 0);
    if (*s->p == '{' || *s->p == '[') {
        char close = *s->p == '{' ? '}' : ']';
        s->p++;
        if (eat(s, close))
            return 0;
        do {
            if (close == '}' && (str(s, NULL, 0) < 0 || !eat(s, ':')))
                return TRAIL_E_PARSE;
            if (skip(s) < 0)
                return TRAIL_E_PARSE;
        } while (eat(s, ','));
        return eat(s, close) ? 0 : TRAIL_E_PARSE;
    }
    while (s->p < s->end && *s->p != ',' && *s->p != '}' && *s->p != ']')
        s->p++;
    return 0;
}

/* {"seq":S,"uuid":"U"[,"duplicate":true]} or {"error":"E","index":I} */
static int result(struct scan *s, struct trail_client_result *r)
{
    char key[16], uuid[40] = "";
    memset(r, 0, sizeof(*r));
    if (!eat(s, '{'))
        return TRAIL_E_PARSE;
    if (eat(s, '}'))
        return TRAIL_E_PARSE;
    do {
        if (str(s, key, sizeof(key)) < 0 || !eat(s, ':'))
            return TRAIL_E_PARSE;
        int rc;
        uint64_t v;
        if (!strcmp(key, "seq")) {
            rc = num(s, &r->seq);
        } else if (!strcmp(key, "uuid")) {
            rc = str(s, uuid, sizeof(uuid));
        } else if (!strcmp(key, "error")) {
            rc = str(s, r->error, sizeof(r->error));
            if (!r->error[0])
                strcpy(r->error, "rejected");
        } else if (!strcmp(key, "index")) {
            rc = num(s, &v);
        } else if (!strcmp(key, "duplicate")) {
            ws(s);
            r->duplicate = s->end - s->p >= 4 && memcmp(s->p, "true", 4) == 0;
            rc = skip(s);
        } else {
            rc = skip(s);
        }
        if (rc < 0)
            return rc;
    } while (eat(s, ','));
    if (!eat(s, '}'))
        return TRAIL_E_PARSE;
    if (r->seq && !r->error[0]) {
        r->accepted = 1;
        if (uuid[0] && trail_uuid_parse(uuid, strlen(uuid), r->uuid) < 0)
            return TRAIL_E_PARSE;
    } else if (!r->error[0]) {
        return TRAIL_E_PARSE;
    }
    return 0;
}

/* Read the answer's body: results into ret (n of them), or the error text. */
static int read_answer(const char *body, size_t len, size_t n, struct trail_client_result *ret,
                       size_t *ret_n, char *errtext, size_t errlen)
{
    struct scan s = {body, body + len};
    char key[32];
    size_t got = 0;
    int have_results = 0;
    errtext[0] = '\0';
    if (!eat(&s, '{'))
        return TRAIL_E_PARSE;
    if (!eat(&s, '}'))
        do {
            if (str(&s, key, sizeof(key)) < 0 || !eat(&s, ':'))
                return TRAIL_E_PARSE;
            if (!strcmp(key, "results")) {
                have_results = 1;
                if (!eat(&s, '['))
                    return TRAIL_E_PARSE;
                if (!eat(&s, ']')) {
                    do {
                        struct trail_client_result tmp;
                        int r = result(&s, got < n ? &ret[got] : &tmp);
                        if (r < 0)
                            return r;
                        got++;
                    } while (eat(&s, ','));
                    if (!eat(&s, ']'))
                        return TRAIL_E_PARSE;
                }
            } else if (!strcmp(key, "error")) {
                if (str(&s, errtext, errlen) < 0)
                    return TRAIL_E_PARSE;
            } else if (skip(&s) < 0) {
                return TRAIL_E_PARSE;
            }
        } while (eat(&s, ','));
    if (!eat(&s, '}'))
        return TRAIL_E_PARSE;
    if (have_results && got != n)
        return TRAIL_E_PARSE; /* one result per event sent, or the answer is not ours */
    *ret_n = have_results ? got : 0;
    return have_results ? 1 : 0;
}

int trail_client_send(const char *url, const struct trail_client_opts *opts,
                      struct trail_event *const *events, size_t n,
                      struct trail_client_result *ret_results, char *err, size_t errlen)
{
    struct url u;
    struct trail_buf req = {0}, body = {0}, in = {0};
    struct trail_client_result *results = NULL;
    int fd = -1, r;
    int timeout = opts && opts->timeout_ms > 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
    int64_t deadline = mono_ms() + timeout;
    if (err && errlen)
        err[0] = '\0';
    if (n == 0) {
        set_err(err, errlen, "no events to send");
        return -EINVAL;
    }
    if ((r = parse_url(url, &u)) < 0) {
        set_err(err, errlen, "%s: %s", url,
                r == -EPROTONOSUPPORT ? "https is not supported (use http:// or a TLS proxy)"
                                      : "not a URL of the form http://HOST[:PORT]");
        return r;
    }
    for (size_t i = 0; i < n; i++)
        if ((r = trail_event_to_json(events[i], &body)) < 0 ||
            (r = trail_buf_append(&body, "\n", 1)) < 0)
            goto out;
    char head[1024];
    int hl = snprintf(head, sizeof(head),
                      "POST %s/v1/events HTTP/1.1\r\nHost: %s:%s\r\n"
                      "Content-Type: application/x-ndjson\r\nContent-Length: %zu\r\n"
                      "Accept: application/json\r\nConnection: close\r\n"
                      "User-Agent: libtrail/" TRAIL_VERSION_STRING "\r\n",
                      u.prefix, u.host, u.port, body.len);
    if (hl < 0 || (size_t)hl >= sizeof(head)) {
        r = -EINVAL;
        goto out;
    }
    if ((r = trail_buf_append(&req, head, (size_t)hl)) < 0)
        goto out;
    if (opts && opts->token) {
        if (strpbrk(opts->token, "\r\n")) {
            set_err(err, errlen, "the token holds a line break");
            r = -EINVAL;
            goto out;
        }
        if ((r = trail_buf_append(&req, "Authorization: Bearer ", 22)) < 0 ||
            (r = trail_buf_append(&req, opts->token, strlen(opts->token))) < 0 ||
            (r = trail_buf_append(&req, "\r\n", 2)) < 0)
            goto out;
    }
    if ((r = trail_buf_append(&req, "\r\n", 2)) < 0 ||
        (r = trail_buf_append(&req, body.data, body.len)) < 0)
        goto out;

    if ((r = connect_to(&u, deadline, &fd)) < 0) {
        set_err(err, errlen, "cannot connect to %s:%s: %s", u.host, u.port, trail_strerror(r));
        goto out;
    }
    if ((r = send_all(fd, req.data, req.len, deadline)) < 0 ||
        (r = recv_all(fd, &in, deadline)) < 0) {
        set_err(err, errlen, "%s:%s: %s", u.host, u.port, trail_strerror(r));
        goto out;
    }

    /* status line, headers, body (traild always sends Content-Length with Connection: close) */
    int status = 0;
    if (in.len < 12 || sscanf(in.data, "HTTP/1.%*d %d", &status) != 1) {
        set_err(err, errlen, "%s:%s: not an HTTP answer", u.host, u.port);
        r = TRAIL_E_PARSE;
        goto out;
    }
    const char *hdr_end = strstr(in.data, "\r\n\r\n");
    if (!hdr_end) {
        set_err(err, errlen, "%s:%s: the answer ends in its headers", u.host, u.port);
        r = TRAIL_E_PARSE;
        goto out;
    }
    const char *b = hdr_end + 4;
    size_t blen = in.len - (size_t)(b - in.data);
    results = calloc(n, sizeof(*results));
    if (!results) {
        r = -ENOMEM;
        goto out;
    }
    char errtext[512];
    size_t got = 0;
    int kind = read_answer(b, blen, n, results, &got, errtext, sizeof(errtext));
    if ((status == 200 || status == 400) && kind == 1) {
        for (size_t i = 0; i < n; i++)
            if (results[i].accepted)
                trail_event_set_seq(events[i], results[i].seq);
        memcpy(ret_results, results, n * sizeof(*results));
        r = 0;
        goto out; /* r is 0 */
    }
    if (kind < 0 || !errtext[0])
        snprintf(errtext, sizeof(errtext), "HTTP status %d", status);
    set_err(err, errlen, "traild answered %d: %s", status, errtext);
    r = status == 503                    ? -EAGAIN
        : status == 413                  ? TRAIL_E_TOO_LARGE
        : status == 400                  ? TRAIL_E_PARSE
        : status == 401 || status == 403 ? -EACCES
                                         : -EPROTO;
out:
    if (fd >= 0)
        close(fd);
    free(results);
    trail_buf_free(&req);
    trail_buf_free(&body);
    trail_buf_free(&in);
    return r;
}
