/*
 * sink_tlog_witness.c - the tlog-witness sink: the store's signed
 * checkpoints to a C2SP witness (https://c2sp.org/tlog-witness), by POST
 * URL/add-checkpoint, and the witness's cosignature kept beside them.
 *
 * Events pass through it undelivered (they move the cursor only); each new
 * checkpoint goes out as an add-checkpoint request: "old N", the
 * consistency proof from N (read from the store), a blank line and the
 * checkpoint's signed note. N is the size the sink believes the witness
 * holds: 0 at start, then what the witness cosigned or answered with a 409
 * (text/x.tlog.size), after which the request is sent again from that size
 * at once. A witness holding more than this store's checkpoint (a rolled
 * back store, or a witness of another log of the same origin) is a failure
 * the runner retries with backoff, and says so.
 *
 * A 200's body holds cosignature lines; the one of witness_key must verify
 * (others are ignored). The checkpoint's note with that line is then kept
 * in STORE/sinks/NAME.cosigned, replaced atomically:
 *
 *     <the checkpoint's signed note: text, blank line, the log's signature line>
 *     — WITNESS_NAME BASE64(key id || time || signature)
 *
 * which is itself a C2SP note with a cosignature: GET /checkpoint adds that
 * line when it serves the same checkpoint, `trail verify --policy` reads the
 * files. Not here: the runner (sink.c), the request's form and cosignatures
 * (lib/integrity/witness.c), the HTTP client (lib/client/http.c).
 */
#include "sinks/sink.h"

#include "client/http.h"
#include "core/traild.h"
#include "integrity/witness.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tw_opts {
    struct client_url url;
    const char *witness_key, *auth_header, *ca;
    int verify;
    int64_t timeout_ms;
};

#define O(f) offsetof(struct tw_opts, f)
static const struct sink_key tw_keys[] = {
    {.name = "url",
     .type = SINK_KEY_URL,
     .offset = O(url),
     .required = "the witness's http:// or https:// URL prefix",
     .doc = "the witness's URL prefix: requests go to URL/add-checkpoint"},
    {.name = "witness_key",
     .type = SINK_KEY_STRING,
     .offset = O(witness_key),
     .required = "the witness's verifier key NAME+KEYID+BASE64",
     .doc = "the witness's cosigner verifier key (type 0x04; a trail witness logs it at start); "
            "a cosignature that does not verify with it is refused"},
    {.name = "auth_header",
     .type = SINK_KEY_STRING,
     .offset = O(auth_header),
     .doc = "one header line sent with every request, e.g. `Authorization: Bearer ...` (a trail "
            "witness wants a write token)"},
    {.name = "ca",
     .type = SINK_KEY_STRING,
     .offset = O(ca),
     .def_doc = "the system's CAs",
     .doc = "HTTPS: the CA file that signed the witness's certificate"},
    {.name = "verify",
     .type = SINK_KEY_BOOL,
     .offset = O(verify),
     .def = "true",
     .doc = "HTTPS: check the witness's certificate; `false` only for tests"},
    {.name = "timeout_ms",
     .type = SINK_KEY_DURATION,
     .offset = O(timeout_ms),
     .def = "10000",
     .min = 100,
     .max = 600000,
     .doc = "connect, send and answer timeout"},
    {.name = NULL},
};
#undef O

struct tw_sink {
    const struct sink_conf *conf;
    struct client_http http;
    struct trail_witness witness;
    char path[4200]; /* the URL's path + "add-checkpoint" */
    char headers[1024];
    uint64_t known; /* the size the witness holds, as far as the sink knows */
    struct trail_buf note, body, resp, kept;
};

static int tw_check(const struct sink_conf *conf, char *err, size_t errlen)
{
    const struct tw_opts *o = conf->typed;
    struct trail_witness w;
    if (trail_witness_parse(o->witness_key, strlen(o->witness_key), &w) < 0) {
        snprintf(err, errlen,
                 "witness_key: not a cosigner verifier key (NAME+KEYID+BASE64 of 0x04 and the "
                 "key)");
        return -EINVAL;
    }
    const char *a = o->auth_header;
    if (a && (!strchr(a, ':') || strpbrk(a, "\r\n") || strchr(a, ':') == a)) {
        snprintf(err, errlen, "auth_header: 'Name: value' on one line is needed");
        return -EINVAL;
    }
    if (!conf->witness) {
        snprintf(err, errlen, "witness: a tlog-witness sink sends checkpoints: set witness = true");
        return -EINVAL;
    }
    return 0;
}

static int tw_open(const struct sink_conf *conf, void **ret_state, char *err, size_t errlen)
{
    const struct tw_opts *o = conf->typed;
    struct tw_sink *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->conf = conf;
    trail_witness_parse(o->witness_key, strlen(o->witness_key), &w->witness);
    const char *p = o->url.path[0] ? o->url.path : "/";
    snprintf(w->path, sizeof(w->path), "%s%sadd-checkpoint", p, p[strlen(p) - 1] == '/' ? "" : "/");
    snprintf(w->headers, sizeof(w->headers), "Content-Type: text/plain\r\n%s%s",
             o->auth_header ? o->auth_header : "", o->auth_header ? "\r\n" : "");
    struct client_tls tls = {.verify = o->verify, .ca = o->ca};
    client_http_init(&w->http, &o->url, &tls, (int)o->timeout_ms, "traild");
    int r = client_http_connect(&w->http, err, errlen);
    if (r < 0) {
        free(w);
        return r;
    }
    *ret_state = w;
    return 0;
}

/* the 200's lines: keep the note with the line of our witness that verifies */
static int take_cosignature(struct tw_sink *w, const struct sink_item *item, char *err,
                            size_t errlen)
{
    const char *t = w->resp.data;
    size_t len = w->resp.len;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(t + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (t + pos)) : len - pos;
        if (trail_cosignature_verify(&w->witness, item->cp, t + pos, n, NULL) == 0) {
            char path[4300];
            trail_buf_reset(&w->kept);
            if (trail_buf_append(&w->kept, w->note.data, w->note.len) < 0 ||
                trail_buf_append(&w->kept, t + pos, n) < 0 ||
                trail_buf_append(&w->kept, "\n", 1) < 0)
                return -ENOMEM;
            snprintf(path, sizeof(path), "%s/%s.cosigned", item->sinks_dir, w->conf->name);
            int r = trail_file_replace(path, w->kept.data, w->kept.len, 0644);
            if (r < 0)
                snprintf(err, errlen, "cannot keep the cosignature in %s: %s", path,
                         trail_strerror(r));
            return r;
        }
        pos += n + 1;
    }
    snprintf(err, errlen, "the witness answered 200 without a cosignature of %s that verifies",
             w->witness.name);
    return TRAIL_E_SIGNATURE;
}

static int tw_write(void *state, const struct sink_item *item, char *err, size_t errlen)
{
    struct tw_sink *w = state;
    struct trail_proof proof;
    int r, status = 0;
    if (!item->cp)
        return 0; /* events are not a witness's business */
    trail_buf_reset(&w->note);
    if ((r = trail_checkpoint_note(item->cp, &w->note)) < 0) {
        snprintf(err, errlen, "checkpoint of size %" PRIu64 " has no C2SP note: %s",
                 item->cp->tree_size, trail_strerror(r));
        return r;
    }
    /* at most a 409 and a retry from the witness's size, then a failure for the runner */
    for (int attempt = 0; attempt < 3; attempt++) {
        if (w->known > item->cp->tree_size) {
            snprintf(err, errlen,
                     "the witness %s holds size %" PRIu64 " of %s, more than this store's "
                     "checkpoint of size %" PRIu64 ": was the store rolled back, or does the "
                     "witness follow another store of the same origin?",
                     w->witness.name, w->known, item->cp->origin, item->cp->tree_size);
            return TRAIL_E_INTEGRITY;
        }
        r = trail_proof_consistency(w->known, item->cp->tree_size, trail_store_subtree_hash,
                                    item->store, &proof);
        if (r < 0) {
            snprintf(err, errlen, "consistency proof from size %" PRIu64 ": %s", w->known,
                     trail_strerror(r));
            return r;
        }
        trail_buf_reset(&w->body);
        if ((r = witness_request_format(w->known, &proof, w->note.data, w->note.len, &w->body)) < 0)
            return r;
        r = client_http_post(&w->http, w->path, w->headers, w->body.data, w->body.len, &status,
                             &w->resp, err, errlen);
        if (r < 0)
            return r;
        if (status == 200) {
            if ((r = take_cosignature(w, item, err, errlen)) < 0)
                return r;
            w->known = item->cp->tree_size;
            return 0;
        }
        if (status == 409) {
            uint64_t size = 0;
            char num[32];
            size_t n = w->resp.len < sizeof(num) - 1 ? w->resp.len : sizeof(num) - 1;
            memcpy(num, w->resp.data ? w->resp.data : "", n);
            num[n] = '\0';
            if (sscanf(num, "%" SCNu64, &size) != 1) {
                snprintf(err, errlen, "HTTP 409 from the witness without its size");
                return -EPROTO;
            }
            w->known = size;
            continue;
        }
        char what[320];
        snprintf(what, sizeof(what), "HTTP %d from the witness %s", status, w->witness.name);
        client_http_refusal(err, errlen, what, w->resp.data, w->resp.len, 300);
        return -EPROTO;
    }
    snprintf(err, errlen, "the witness kept answering 409 (it holds size %" PRIu64 ")", w->known);
    return -EPROTO;
}

static int tw_flush(void *state, char *err, size_t errlen)
{
    (void)state;
    (void)err;
    (void)errlen;
    return 0; /* write() had the witness's answer already */
}

static void tw_close(void *state)
{
    struct tw_sink *w = state;
    if (!w)
        return;
    client_http_close(&w->http);
    trail_buf_free(&w->note);
    trail_buf_free(&w->body);
    trail_buf_free(&w->resp);
    trail_buf_free(&w->kept);
    free(w);
}

const struct sink_ops sink_tlog_witness_ops = {
    .name = "tlog-witness",
    .keys = tw_keys,
    .opts_size = sizeof(struct tw_opts),
    .check = tw_check,
    .open = tw_open,
    .write = tw_write,
    .flush = tw_flush,
    .close = tw_close,
};
