/*
 * sink_syslog.c - the syslog sink: each event as one RFC 5424 message,
 * either with trail's structured data ([trail@32473 id=.. seq=.. uuid=..
 * key=..], format = rfc5424, the default) or with a CEF line as MSG
 * (format = cef), over UDP (one datagram each), TCP or TLS (RFC 6587 octet
 * counting, or LF framing with framing = lf). TLS checks the server's
 * certificate against ca (or the system's CAs) and its name.
 *
 * What "delivered" means here: syslog has no acknowledgement, so flush()
 * returns once the kernel took every byte of the batch (TCP/TLS) and the
 * connection showed no error; a peer that dies with bytes in flight loses
 * them. UDP is fire and forget. docs/sinks.md says so.
 *
 * Not here: the runner (sink.c), the RFC 5424 encoder (lib/codec/syslog.c).
 */
#include "sinks/sink.h"

#include "client/net.h"

#include "core/config.h"
#include "core/log.h"
#include "core/traild.h"

#include <errno.h>
#include <stddef.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The syslog sink's keys, parsed into struct syslog_opts (docs/sinks.md's table is made from
 * these). */
struct syslog_opts {
    const char *address, *app, *ca, *cert, *key, *server_name;
    int transport, framing, verify; /* transport: TR_*; framing: 0 octet, 1 lf */
    int64_t facility, timeout_ms, max_message;
};

enum { TR_UDP, TR_TCP, TR_TLS }; /* the order of transport's choices */

#define O(f) offsetof(struct syslog_opts, f)
static const struct sink_key syslog_keys[] = {
    {.name = "address",
     .type = SINK_KEY_STRING,
     .offset = O(address),
     .required = "HOST:PORT of the syslog server",
     .doc = "`HOST:PORT` of the syslog server"},
    {.name = "transport",
     .type = SINK_KEY_ENUM,
     .offset = O(transport),
     .def = "tcp",
     .choices = "udp|tcp|tls",
     .doc = "how messages travel"},
    {.name = "framing",
     .type = SINK_KEY_ENUM,
     .offset = O(framing),
     .def = "octet",
     .choices = "octet|lf",
     .doc = "TCP and TLS: RFC 6587 octet counting, or a newline after each message"},
    {.name = "facility",
     .type = SINK_KEY_INT,
     .offset = O(facility),
     .def = "13",
     .min = 1,
     .max = 23,
     .def_doc = "13 (log audit)",
     .doc = "the syslog facility"},
    {.name = "app",
     .type = SINK_KEY_STRING,
     .offset = O(app),
     .def = "trail",
     .doc = "the APP-NAME"},
    {.name = "ca",
     .type = SINK_KEY_STRING,
     .offset = O(ca),
     .def_doc = "the system's CAs",
     .doc = "TLS: the CA file that signed the server's certificate"},
    {.name = "verify",
     .type = SINK_KEY_BOOL,
     .offset = O(verify),
     .def = "true",
     .doc = "TLS: check the certificate chain and that it names `server_name` (or the host of "
            "`address`); `false` only for tests"},
    {.name = "server_name",
     .type = SINK_KEY_STRING,
     .offset = O(server_name),
     .def_doc = "the host of `address`",
     .doc = "TLS: the name sent in SNI and checked in the certificate"},
    {.name = "cert",
     .type = SINK_KEY_STRING,
     .offset = O(cert),
     .doc = "TLS: a client certificate (PEM), for servers that ask for one"},
    {.name = "key",
     .type = SINK_KEY_STRING,
     .offset = O(key),
     .def_doc = "in `cert`",
     .doc = "TLS: the client certificate's key"},
    {.name = "timeout_ms",
     .type = SINK_KEY_DURATION,
     .offset = O(timeout_ms),
     .def = "10000",
     .min = 100,
     .max = 600000,
     .doc = "connect, handshake and send timeout"},
    {.name = "max_message",
     .type = SINK_KEY_INT,
     .offset = O(max_message),
     .def = "65536",
     .min = 480,
     .max = 16 << 20,
     .doc = "messages above this are logged as a warning (receivers may cut them)"},
    {.name = NULL},
};
#undef O

#define UDP_MAX 65507 /* the largest UDP payload over IPv4 */

struct syslog_sink {
    const struct sink_conf *conf;
    struct client_conn conn;
    int transport;
    int octet;
    struct trail_syslog_opts sopts;
    uint32_t max_message;
    struct trail_buf out; /* framed messages of the batch */
    size_t *ends;         /* UDP: the end of each message in out */
    size_t n_msgs, cap_msgs;
    struct trail_buf msg;
};

static int syslog_check(const struct sink_conf *conf, char *err, size_t errlen)
{
    const struct syslog_opts *o = conf->typed;
    char host[256], port[8];
    if (config_split_addr(o->address, host, sizeof(host), port, sizeof(port)) < 0) {
        snprintf(err, errlen, "address: HOST:PORT of the syslog server is needed");
        return -EINVAL;
    }
    const char *app = o->app;
    if (!*app || strlen(app) > 48 || strpbrk(app, " \t")) {
        snprintf(err, errlen, "app: an APP-NAME of 1 to 48 printable characters is needed");
        return -EINVAL;
    }
    if (conf->format != SINK_FMT_SYSLOG && conf->format != SINK_FMT_CEF) {
        snprintf(err, errlen, "format: a syslog message holds rfc5424 or cef");
        return -EINVAL;
    }
    return 0;
}

static int syslog_open(const struct sink_conf *conf, void **ret_state, char *err, size_t errlen)
{
    struct syslog_sink *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->conf = conf;
    s->conn.fd = -1;
    const struct syslog_opts *o = conf->typed;
    s->transport = o->transport;
    s->octet = s->transport != TR_UDP && o->framing == 0;
    s->max_message = (uint32_t)o->max_message;
    s->sopts.facility = (int)o->facility;
    s->sopts.app = o->app;

    char host[256], port[8];
    config_split_addr(o->address, host, sizeof(host), port, sizeof(port));
    struct client_tls tls = {.enabled = s->transport == TR_TLS,
                             .verify = o->verify,
                             .ca = o->ca,
                             .cert = o->cert,
                             .key = o->key,
                             .server_name = o->server_name};
    int r = client_connect(&s->conn, host, port, s->transport == TR_UDP, &tls, (int)o->timeout_ms,
                           err, errlen);
    if (r < 0) {
        free(s);
        return r;
    }
    *ret_state = s;
    return 0;
}

/* RFC 5424 header for a CEF or checkpoint MSG: <PRI>1 TIME HOST APP - MSGID - */
static int put_header(struct syslog_sink *s, int sev, int64_t time_us, const char *host,
                      const char *msgid, struct trail_buf *out)
{
    char head[512], t[32] = "-";
    if (time_us)
        trail_time_format(time_us, t);
    char h[256];
    size_t n = 0;
    for (const char *p = host; *p && n < sizeof(h) - 1; p++)
        h[n++] = (*p > 32 && *p < 127) ? *p : '_';
    h[n] = '\0';
    int len = snprintf(head, sizeof(head), "<%d>1 %s %s %s - %.32s - ", s->sopts.facility * 8 + sev,
                       t, n ? h : "-", s->sopts.app, msgid);
    return trail_buf_append(out, head, (size_t)len);
}

static int syslog_write(void *state, const struct sink_item *item, char *err, size_t errlen)
{
    struct syslog_sink *s = state;
    int r, framed = 0;
    trail_buf_reset(&s->msg);
    if (item->checkpoint) {
        r = put_header(s, 5, item->cp->time_us, traild_config()->host, "checkpoint", &s->msg);
        if (r == 0)
            r = trail_buf_append(&s->msg, item->checkpoint, item->checkpoint_len);
    } else if (s->conf->format == SINK_FMT_CEF) {
        int sev = trail_severity_to_syslog(trail_event_severity(item->ev));
        r = put_header(s, sev < 0 ? 6 : sev, trail_event_time(item->ev), trail_event_host(item->ev),
                       trail_event_id(item->ev), &s->msg);
        struct trail_cef_opts co = s->conf->cef;
        co.log_prefix = 0; /* the CEF encoder escapes line breaks: one line either way */
        co.provenance = 1; /* rt, dvc, cs5 (principal), cs6 (input): where the SIEM looks */
        if (r == 0)
            r = trail_event_to_cef(item->ev, &co, &s->msg);
    } else {
        /* the encoder frames when octet counting; either way it escapes every line
           break and control character, so a receiver that splits on LF sees one message */
        s->sopts.octet_count = s->octet;
        framed = s->octet;
        r = trail_event_to_syslog(item->ev, &s->sopts, &s->msg);
    }
    if (r < 0)
        return r;
    if (s->transport == TR_UDP && s->msg.len > UDP_MAX) {
        /* no datagram can carry it, and retrying would stall the sink for good: cut it, loudly */
        log_msg(LOG_ERR,
                "sink %s: seq %llu: message of %zu bytes cut to %d, the most a UDP "
                "datagram holds (use tcp or tls for events this large)",
                s->conf->name, (unsigned long long)item->seq, s->msg.len, UDP_MAX);
        s->msg.len = UDP_MAX;
    } else if (s->msg.len > s->max_message) {
        /* a receiver may cut or drop it: say so */
        log_msg(LOG_WARN, "sink %s: seq %llu: message of %zu bytes is over max_message %u",
                s->conf->name, (unsigned long long)item->seq, s->msg.len, s->max_message);
    }
    if (s->octet && !framed) {
        char pre[24];
        int n = snprintf(pre, sizeof(pre), "%zu ", s->msg.len);
        r = trail_buf_append(&s->out, pre, (size_t)n);
    }
    if (r == 0)
        r = trail_buf_append(&s->out, s->msg.data, s->msg.len);
    if (r == 0 && s->transport != TR_UDP && !s->octet)
        r = trail_buf_append(&s->out, "\n", 1);
    if (r == 0 && s->transport == TR_UDP) {
        if (s->n_msgs == s->cap_msgs) {
            size_t cap = s->cap_msgs ? 2 * s->cap_msgs : 256;
            size_t *e = realloc(s->ends, cap * sizeof(*e));
            if (!e)
                return -ENOMEM;
            s->ends = e;
            s->cap_msgs = cap;
        }
        s->ends[s->n_msgs++] = s->out.len;
    }
    (void)err;
    (void)errlen;
    return r;
}

/* A peer that closed or reset shows as readable with EOF or an error. */
static int peer_alive(struct syslog_sink *s, char *err, size_t errlen)
{
    struct pollfd p = {.fd = s->conn.fd, .events = POLLIN};
    if (poll(&p, 1, 0) <= 0)
        return 0;
    if (p.revents & (POLLERR | POLLHUP)) {
        snprintf(err, errlen, "the syslog server closed the connection");
        return -ECONNRESET;
    }
    char b[512];
    ssize_t n = recv(s->conn.fd, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) {
        snprintf(err, errlen, "the syslog server closed the connection");
        return -ECONNRESET;
    }
    return 0;
}

static int syslog_flush(void *state, char *err, size_t errlen)
{
    struct syslog_sink *s = state;
    int r = 0;
    if (s->transport == TR_UDP) {
        size_t start = 0;
        for (size_t i = 0; i < s->n_msgs && r == 0; i++) {
            r = client_send(&s->conn, s->out.data + start, s->ends[i] - start, err, errlen);
            start = s->ends[i];
        }
        s->n_msgs = 0;
    } else if (s->out.len) {
        if (!s->conn.ssl)
            r = peer_alive(s, err, errlen);
        if (r == 0)
            r = client_send(&s->conn, s->out.data, s->out.len, err, errlen);
    }
    trail_buf_reset(&s->out);
    return r;
}

static void syslog_close(void *state)
{
    struct syslog_sink *s = state;
    if (!s)
        return;
    client_conn_close(&s->conn);
    trail_buf_free(&s->out);
    trail_buf_free(&s->msg);
    free(s->ends);
    free(s);
}

const struct sink_ops sink_syslog_ops = {
    .name = "syslog",
    .keys = syslog_keys,
    .opts_size = sizeof(struct syslog_opts),
    .check = syslog_check,
    .open = syslog_open,
    .write = syslog_write,
    .flush = syslog_flush,
    .close = syslog_close,
};
