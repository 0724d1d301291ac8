/*
 * sink_trail.c - the trail sink: forwards the store's events to another
 * traild (a centre) over HTTP(S), as that traild's relay. Each batch is one
 * POST of NDJSON to the centre's /v1/events, every line the event as this
 * store holds it (trail's JSON with its seq, uuid, received, input, peer,
 * principal and any earlier hops), with
 *
 *     Authorization: Bearer TOKEN        a token with the relay role there
 *     Trail-Relay-Origin: ORIGIN         this store's origin (sink_store_name)
 *     Content-Type: application/x-ndjson
 *
 * The centre keeps the producer's uuid and turns this trail's provenance
 * into one hop of the event's via list (docs/format.md "Relayed records");
 * its store takes a uuid once, so a batch sent again after a failure (the
 * runner's at-least-once) is not stored twice. The answer must say every
 * line was accepted (duplicates count as accepted): a line the centre
 * refuses (its catalog or policy) fails the batch, which is retried from
 * the same cursor, so that nothing is skipped without an error naming it.
 *
 * Not sent: trail's own records (trail_run_*, trail_alert, ...: the
 * centre's own namespace; the centre records its own) and checkpoints (the
 * witness sink's).
 *
 * Not here: the runner (sink.c), the HTTP client (lib/client/http.c), the
 * receiving side (daemon/http/routes_ingest.c, lib/codec/json.c).
 */
#include "sinks/sink.h"

#include "client/http.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The trail sink's keys, parsed into struct relay_opts (docs/sinks.md's table is made from
 * these). */
struct relay_opts {
    struct client_url url;
    const char *token, *ca, *cert, *key, *server_name;
    int verify;
    int64_t timeout_ms;
};

#define O(f) offsetof(struct relay_opts, f)
static const struct sink_key relay_keys[] = {
    {.name = "url",
     .type = SINK_KEY_URL,
     .offset = O(url),
     .required = "the receiving traild's http:// or https:// URL",
     .doc = "the receiving traild; a URL without a path posts to its `/v1/events`"},
    {.name = "token",
     .type = SINK_KEY_STRING,
     .offset = O(token),
     .required = "a bearer token with the relay role on the receiving traild",
     .doc = "the bearer token sent (`trail token-hash NAME relay` there makes it)"},
    SINK_KEYS_HTTPS_CLIENT,
    {.name = NULL},
};
#undef O

struct relay_sink {
    const struct sink_conf *conf;
    struct client_http http;
    const char *path;
    char headers[1024];
    struct trail_buf body;
    struct trail_buf resp;
    uint32_t n;
};

static int relay_check(const struct sink_conf *conf, char *err, size_t errlen)
{
    const struct relay_opts *o = conf->typed;
    if (!*o->token || strpbrk(o->token, " \t\r\n")) {
        snprintf(err, errlen, "token: one word is needed");
        return -EINVAL;
    }
    if (conf->format != SINK_FMT_JSON || conf->mapping) {
        snprintf(err, errlen, "format: a trail sink sends trail's own json (no mapping)");
        return -EINVAL;
    }
    if (conf->witness) {
        snprintf(err, errlen, "witness: a trail sink relays events, not checkpoints");
        return -EINVAL;
    }
    return 0;
}

static int relay_open(const struct sink_conf *conf, void **ret_state, char *err, size_t errlen)
{
    const struct relay_opts *o = conf->typed;
    struct relay_sink *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->conf = conf;
    struct client_tls tls = {.verify = o->verify,
                             .ca = o->ca,
                             .cert = o->cert,
                             .key = o->key,
                             .server_name = o->server_name};
    client_http_init(&w->http, &o->url, &tls, (int)o->timeout_ms, "traild");
    w->path = strcmp(o->url.path, "/") ? NULL : "/v1/events";
    int hn = snprintf(w->headers, sizeof(w->headers),
                      "Content-Type: application/x-ndjson\r\nAuthorization: Bearer %s\r\n"
                      "Trail-Relay-Origin: %s\r\n",
                      o->token, sink_store_name());
    if (hn < 0 || (size_t)hn >= sizeof(w->headers)) {
        free(w);
        snprintf(err, errlen, "token: too long");
        return -EINVAL;
    }
    int r = client_http_connect(&w->http, err, errlen);
    if (r < 0) {
        free(w);
        return r;
    }
    *ret_state = w;
    return 0;
}

static int relay_write(void *state, const struct sink_item *item, char *err, size_t errlen)
{
    struct relay_sink *w = state;
    (void)err;
    (void)errlen;
    /* trail's own records and checkpoints stay here (the header comment says why) */
    if (!item->ev || trail_event_is_own(item->ev))
        return 0;
    int r = trail_event_to_json(item->ev, &w->body);
    if (r == 0)
        r = trail_buf_append(&w->body, "\n", 1);
    if (r == 0)
        w->n++;
    return r;
}

/* The unsigned number after "\"name\":" in the answer, or -1. */
static long long answer_count(const struct trail_buf *resp, const char *name)
{
    char key[32];
    snprintf(key, sizeof(key), "\"%s\":", name);
    const char *p = resp->data ? strstr(resp->data, key) : NULL;
    if (!p)
        return -1;
    return strtoll(p + strlen(key), NULL, 10);
}

static int relay_flush(void *state, char *err, size_t errlen)
{
    struct relay_sink *w = state;
    int status = 0;
    if (!w->n)
        return 0;
    int r = client_http_post(&w->http, w->path, w->headers, w->body.data, w->body.len, &status,
                             &w->resp, err, errlen);
    if (r < 0)
        return r;
    long long accepted = answer_count(&w->resp, "accepted");
    if (status != 200 || accepted != (long long)w->n) {
        /* the receiver's first error names the line it refused and why */
        const char *e = w->resp.data ? strstr(w->resp.data, "\"error\":") : NULL;
        char what[320];
        snprintf(what, sizeof(what), "HTTP %d from %s: %lld of %u events accepted", status,
                 w->http.url.host, accepted < 0 ? 0 : accepted, w->n);
        client_http_refusal(err, errlen, what, e, e ? strcspn(e, "}") : 0, 200);
        return -EPROTO;
    }
    trail_buf_reset(&w->body);
    w->n = 0;
    return 0;
}

static void relay_close(void *state)
{
    struct relay_sink *w = state;
    if (!w)
        return;
    client_http_close(&w->http);
    trail_buf_free(&w->body);
    trail_buf_free(&w->resp);
    free(w);
}

const struct sink_ops sink_trail_ops = {
    .name = "trail",
    .keys = relay_keys,
    .opts_size = sizeof(struct relay_opts),
    .check = relay_check,
    .open = relay_open,
    .write = relay_write,
    .flush = relay_flush,
    .close = relay_close,
};
