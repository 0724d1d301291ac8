/*
 * sink_webhook.c - the webhook sink: each batch as one HTTP(S) POST of
 * NDJSON (one event per line: trail's JSON, or mapped to OCSF / ECS; a
 * witness checkpoint as {"checkpoint":"..."}), with an optional auth header.
 *
 * A 2xx answer means the receiver has the batch; anything else, a timeout or
 * a broken connection is a failure that the runner retries with backoff, with
 * the same events from the same cursor. A retried batch may hold more events
 * than the first try (more became durable), so receivers deduplicate by the
 * uuid every line carries ("uuid"; OCSF metadata.uid; ECS event.id). The
 * request also says:
 *
 *     Content-Type: application/x-ndjson
 *     Idempotency-Key: UUID of the batch's first event
 *     X-Trail-First-Seq: SEQ, X-Trail-Last-Seq: SEQ, X-Trail-Events: N
 *
 * Not here: the runner (sink.c), the HTTP client (lib/client/http.c), the mappings
 * (lib/codec/mapping.c).
 */
#include "sinks/sink.h"

#include "client/http.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The webhook sink's keys, parsed into struct webhook_opts (docs/sinks.md's table is made from
 * these). */
struct webhook_opts {
    struct client_url url;
    const char *auth_header, *idempotency_header, *ca, *cert, *key, *server_name;
    int verify;
    int64_t timeout_ms;
};

#define O(f) offsetof(struct webhook_opts, f)
static const struct sink_key webhook_keys[] = {
    {.name = "url",
     .type = SINK_KEY_URL,
     .offset = O(url),
     .required = "an http:// or https:// URL",
     .doc = "the URL to POST to"},
    {.name = "auth_header",
     .type = SINK_KEY_STRING,
     .offset = O(auth_header),
     .doc = "one header line sent with every request, e.g. `Authorization: Bearer ...`"},
    {.name = "idempotency_header",
     .type = SINK_KEY_STRING,
     .offset = O(idempotency_header),
     .def = "Idempotency-Key",
     .doc = "the name of the header carrying the batch's key"},
    SINK_KEYS_HTTPS_CLIENT,
    {.name = NULL},
};
#undef O

struct webhook_sink {
    const struct sink_conf *conf;
    struct client_http http;
    uint32_t timeout_ms;
    const char *auth;
    const char *idem_name;
    struct trail_buf body;
    struct trail_buf resp;
    uint64_t first_seq, last_seq;
    uint32_t n;
    char first_uuid[37];
};

static int webhook_check(const struct sink_conf *conf, char *err, size_t errlen)
{
    const struct webhook_opts *o = conf->typed;
    const char *a = o->auth_header;
    if (a && (!strchr(a, ':') || strpbrk(a, "\r\n") || strchr(a, ':') == a)) {
        snprintf(err, errlen, "auth_header: 'Name: value' on one line is needed");
        return -EINVAL;
    }
    const char *ih = o->idempotency_header;
    if (!*ih || strpbrk(ih, ": \r\n")) {
        snprintf(err, errlen, "idempotency_header: a header name is needed");
        return -EINVAL;
    }
    if (conf->format != SINK_FMT_JSON) {
        snprintf(err, errlen, "format: a webhook sends json lines");
        return -EINVAL;
    }
    return 0;
}

static int webhook_open(const struct sink_conf *conf, void **ret_state, char *err, size_t errlen)
{
    struct webhook_sink *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->conf = conf;
    const struct webhook_opts *o = conf->typed;
    const struct client_url url = o->url;
    w->timeout_ms = (uint32_t)o->timeout_ms;
    struct client_tls tls = {.verify = o->verify,
                             .ca = o->ca,
                             .cert = o->cert,
                             .key = o->key,
                             .server_name = o->server_name};
    client_http_init(&w->http, &url, &tls, (int)w->timeout_ms, "traild");
    w->auth = o->auth_header;
    w->idem_name = o->idempotency_header;
    int r = client_http_connect(&w->http, err, errlen);
    if (r < 0) {
        free(w);
        return r;
    }
    *ret_state = w;
    return 0;
}

static int webhook_write(void *state, const struct sink_item *item, char *err, size_t errlen)
{
    struct webhook_sink *w = state;
    (void)err;
    (void)errlen;
    if (item->ev) {
        if (!w->n) {
            uint8_t u[16];
            w->first_seq = item->seq;
            if (trail_event_uuid(item->ev, u) == 0)
                trail_uuid_format(u, w->first_uuid);
        }
        w->last_seq = item->seq;
        w->n++;
    }
    int r = sink_encode_line(w->conf, item, &w->body);
    if (r == 0)
        r = trail_buf_append(&w->body, "\n", 1);
    return r;
}

static int webhook_flush(void *state, char *err, size_t errlen)
{
    struct webhook_sink *w = state;
    int r = 0, status = 0;
    if (!w->body.len)
        return 0;
    char headers[2048];
    int hn = snprintf(headers, sizeof(headers),
                      "Content-Type: application/x-ndjson\r\n%s%s%s%s: %s\r\n"
                      "X-Trail-First-Seq: %llu\r\nX-Trail-Last-Seq: %llu\r\n"
                      "X-Trail-Events: %u\r\n",
                      w->auth ? w->auth : "", w->auth ? "\r\n" : "", "", w->idem_name,
                      w->n ? w->first_uuid : "checkpoint", (unsigned long long)w->first_seq,
                      (unsigned long long)w->last_seq, w->n);
    if (hn < 0 || (size_t)hn >= sizeof(headers))
        return -EINVAL;
    r = client_http_post(&w->http, NULL, headers, w->body.data, w->body.len, &status, &w->resp, err,
                         errlen);
    if (r < 0)
        return r;
    if (status < 200 || status > 299) {
        char what[320];
        snprintf(what, sizeof(what), "HTTP %d from %s", status, w->http.url.host);
        client_http_refusal(err, errlen, what, w->resp.data, w->resp.len, 200);
        return -EPROTO;
    }
    trail_buf_reset(&w->body);
    w->n = 0;
    return 0;
}

static void webhook_close(void *state)
{
    struct webhook_sink *w = state;
    if (!w)
        return;
    client_http_close(&w->http);
    trail_buf_free(&w->body);
    trail_buf_free(&w->resp);
    free(w);
}

const struct sink_ops sink_webhook_ops = {
    .name = "webhook",
    .keys = webhook_keys,
    .opts_size = sizeof(struct webhook_opts),
    .check = webhook_check,
    .open = webhook_open,
    .write = webhook_write,
    .flush = webhook_flush,
    .close = webhook_close,
};
