/*
 * client.c - trail_client_*: traild's API over the one HTTP client
 * (http.c), plain or TLS. trail_client_send sends events and reads the
 * per-item answer that traild sends once the accepted events are durable:
 *
 *   request:  POST PREFIX/v1/events, Content-Type application/x-ndjson, one
 *             event a line (trail_event_to_json)
 *   answer:   200 {"accepted":N,"rejected":M,"results":[{"seq":S,"uuid":"U"} |
 *                  {"error":"E","index":I}, ...]}, or 400 with the same shape
 *             when every item was refused; otherwise {"error":"..."}
 *
 * Only what that answer needs of JSON is read here (objects of numbers and
 * strings inside one array). trail_client_open and the calls after it give
 * the rest of the API (the CLI's query, count and tail) as plain requests.
 *
 * Not here: traild's side (daemon/http/input_http.c), the event's JSON form
 * (lib/codec/json.c), HTTP itself (http.c), sockets and TLS (net.c).
 */
#include "client/http.h"
#include "event/event.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define DEFAULT_TIMEOUT_MS 30000
#define MAX_BODY           (1u << 30)

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

struct trail_client {
    struct client_http http;
    char prefix[1024];
    char *auth; /* "Authorization: Bearer TOKEN\r\n", or NULL */
};

int trail_client_open(const char *url, const struct trail_client_opts *opts,
                      struct trail_client **ret_client, char *err, size_t errlen)
{
    struct client_url u;
    if (err && errlen)
        err[0] = '\0';
    if (!url || client_url_parse(url, &u) < 0) {
        set_err(err, errlen, "%s: not a URL of the form http[s]://HOST[:PORT][/PREFIX]",
                url ? url : "(null)");
        return -EINVAL;
    }
    if (strchr(u.path, '?')) {
        set_err(err, errlen, "%s: a query string has no place in traild's URL", url);
        return -EINVAL;
    }
    const char *token = opts ? opts->token : NULL;
    if (token && (!*token || strpbrk(token, "\r\n"))) {
        set_err(err, errlen, "the token is empty or holds a line break");
        return -EINVAL;
    }
    struct trail_client *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    if (token) {
        size_t n = strlen(token) + 32;
        if (!(c->auth = malloc(n))) {
            free(c);
            return -ENOMEM;
        }
        snprintf(c->auth, n, "Authorization: Bearer %s\r\n", token);
    }
    struct client_tls tls = {.verify = !(opts && opts->insecure)};
    if (opts) {
        tls.ca = opts->ca_file;
        tls.cert = opts->cert_file;
        tls.key = opts->key_file;
        tls.server_name = opts->server_name;
    }
    client_http_init(&c->http, &u, &tls,
                     opts && opts->timeout_ms > 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS,
                     "libtrail");
    client_url_prefix(&u, c->prefix, sizeof(c->prefix));
    *ret_client = c;
    return 0;
}

int trail_client_request(struct trail_client *c, const char *method, const char *path,
                         const char *headers, const void *body, size_t len, int *ret_status,
                         char *err, size_t errlen)
{
    struct trail_buf target = {0}, hdr = {0};
    int r = -ENOMEM;
    if (err && errlen)
        err[0] = '\0';
    if (!method || !path || path[0] != '/' || strpbrk(method, " \r\n") ||
        (headers && *headers && strlen(headers) >= 2 &&
         strcmp(headers + strlen(headers) - 2, "\r\n"))) {
        set_err(err, errlen, "a bad method, path or header lines");
        return -EINVAL;
    }
    if (trail_buf_append(&target, c->prefix, strlen(c->prefix)) < 0 ||
        trail_buf_append(&target, path, strlen(path)) < 0 ||
        (c->auth && trail_buf_append(&hdr, c->auth, strlen(c->auth)) < 0) ||
        (headers && trail_buf_append(&hdr, headers, strlen(headers)) < 0) ||
        trail_buf_append(&hdr, "", 0) < 0)
        goto out;
    r = client_http_request(&c->http, method, target.data, hdr.data, body, len, ret_status, err,
                            errlen);
out:
    trail_buf_free(&target);
    trail_buf_free(&hdr);
    return r;
}

const char *trail_client_header(const struct trail_client *c, const char *name, size_t *ret_len)
{
    return client_http_header(&c->http, name, ret_len);
}

int trail_client_read(struct trail_client *c, void *buf, size_t cap, int timeout_ms, size_t *ret_n,
                      char *err, size_t errlen)
{
    return client_http_read(&c->http, buf, cap, timeout_ms, ret_n, err, errlen);
}

int trail_client_read_all(struct trail_client *c, struct trail_buf *out, char *err, size_t errlen)
{
    return client_http_read_all(&c->http, out, MAX_BODY, err, errlen);
}

void trail_client_close(struct trail_client *c)
{
    if (!c)
        return;
    client_http_close(&c->http);
    free(c->auth);
    free(c);
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
    struct trail_client *c = NULL;
    struct trail_buf body = {0}, in = {0};
    struct trail_client_result *results = NULL;
    int r, status = 0;
    if (err && errlen)
        err[0] = '\0';
    if (n == 0) {
        set_err(err, errlen, "no events to send");
        return -EINVAL;
    }
    if ((r = trail_client_open(url, opts, &c, err, errlen)) < 0)
        return r;
    for (size_t i = 0; i < n; i++)
        if ((r = trail_event_to_json(events[i], &body)) < 0 ||
            (r = trail_buf_append(&body, "\n", 1)) < 0)
            goto out;
    r = trail_client_request(c, "POST", "/v1/events",
                             "Content-Type: application/x-ndjson\r\nAccept: application/json\r\n",
                             body.data, body.len, &status, err, errlen);
    if (r == 0)
        r = trail_client_read_all(c, &in, err, errlen);
    if (r < 0) {
        char what[512];
        snprintf(what, sizeof(what), "%s", err && errlen ? err : "");
        if (!strstr(what, c->http.url.host)) /* say where, once */
            set_err(err, errlen, "%s:%s: %s", c->http.url.host, c->http.url.port,
                    what[0] ? what : trail_strerror(r));
        goto out;
    }
    results = calloc(n, sizeof(*results));
    if (!results) {
        r = -ENOMEM;
        goto out;
    }
    char errtext[512];
    size_t got = 0;
    int kind =
        read_answer(in.data ? in.data : "", in.len, n, results, &got, errtext, sizeof(errtext));
    if ((status == 200 || status == 400) && kind == 1) {
        for (size_t i = 0; i < n; i++)
            if (results[i].accepted)
                trail_event_set_seq(events[i], results[i].seq);
        memcpy(ret_results, results, n * sizeof(*results));
        r = 0;
        goto out;
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
    trail_client_close(c);
    free(results);
    trail_buf_free(&body);
    trail_buf_free(&in);
    return r;
}
