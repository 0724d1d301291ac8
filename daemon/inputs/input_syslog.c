/*
 * input_syslog.c - the syslog input: RFC 5424 and RFC 3164 messages over
 * UDP, TCP and TLS ([listen] syslog_udp, syslog_tcp, syslog_tls; TLS files
 * from [tls]), RFC 6587 octet counting or LF framing, detected per frame.
 * A message carries its event as [trail@32473 ...] structured data, as a
 * JSON object in MSG, or as a CEF payload (trail_event_from_syslog).
 *
 * Not here: the sockets and backpressure (stream.c), parsing (lib/codec/syslog_parse.c).
 */
#include "core/log.h"
#include "core/metrics.h"
#include "inputs/stream.h"
#include "core/traild.h"
#include "inputs/input.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_LOOPS 8

/*
 * Loop 0 holds the UDP socket; every loop serves the TCP and the TLS
 * listener (a dup() of one socket each), so connections spread over the
 * loops and each loop decodes and stores its own connections' events.
 */
struct syslog_input {
    int n_loops;
    struct loop *loop[MAX_LOOPS];
    struct stream_server *udp, *tcp[MAX_LOOPS], *tls[MAX_LOOPS];
    struct stream_group *tcp_group, *tls_group;
};

static int enabled(const struct config *cfg)
{
    return cfg->syslog_udp || cfg->syslog_tcp || cfg->syslog_tls;
}

static void stop(void *state)
{
    struct syslog_input *s = state;
    stream_server_stop(s->udp);
    for (int i = 0; i < s->n_loops; i++) {
        stream_server_stop(s->tcp[i]);
        stream_server_stop(s->tls[i]);
    }
    for (int i = 0; i < s->n_loops; i++)
        loop_stop(s->loop[i]);
}

static void free_input(void *state)
{
    struct syslog_input *s = state;
    if (!s)
        return;
    stream_server_free(s->udp);
    for (int i = 0; i < s->n_loops; i++) {
        stream_server_free(s->tcp[i]);
        stream_server_free(s->tls[i]);
    }
    for (int i = 0; i < s->n_loops; i++)
        loop_free(s->loop[i]);
    stream_group_free(s->tcp_group);
    stream_group_free(s->tls_group);
    free(s);
}

/* syslog_threads, or 0: the CPUs this process may run on, at most MAX_LOOPS. */
static int loops_wanted(const struct config *cfg)
{
    int n = (int)cfg->syslog_threads;
    if (n == 0) {
        cpu_set_t set;
        n = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
    }
    return n < 1 ? 1 : n > MAX_LOOPS ? MAX_LOOPS : n;
}

/* One listening socket at addr, served by every loop (srv[i] on loop i) as a group. */
static int listen_all(struct syslog_input *s, const char *addr, const struct stream_opts *o,
                      struct stream_server **srv, struct stream_group **group, char *err,
                      size_t errlen)
{
    int fd = -1;
    int r = stream_bind_tcp(addr, &fd, err, errlen);
    if (r < 0)
        return r;
    for (int i = 0; i < s->n_loops && r == 0; i++) {
        int mine = fd;
        if (i + 1 < s->n_loops) {
            mine = dup(fd);
        } else {
            fd = -1; /* the last loop takes the socket itself */
        }
        if (mine < 0) {
            r = -errno;
            snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
            break;
        }
        r = stream_listen_fd(s->loop[i], mine, o, &srv[i], err, errlen); /* owns mine */
    }
    if (fd >= 0)
        close(fd);
    if (r == 0 && s->n_loops > 1 && (r = stream_group_new(srv, s->n_loops, group)) < 0)
        snprintf(err, errlen, "out of memory");
    return r;
}

static int start(const struct config *cfg, void **ret_state, char *err, size_t errlen)
{
    struct syslog_input *s = calloc(1, sizeof(*s));
    SSL_CTX *ctx = NULL;
    int r = -ENOMEM;
    if (!s)
        return r;
    int want = cfg->syslog_tcp || cfg->syslog_tls ? loops_wanted(cfg) : 1;
    for (; s->n_loops < want; s->n_loops++) {
        char name[16];
        snprintf(name, sizeof(name), s->n_loops ? "traild-syslog%d" : "traild-syslog", s->n_loops);
        if ((r = loop_start(name, &s->loop[s->n_loops])) < 0) {
            snprintf(err, errlen, "cannot start the event loop");
            goto fail;
        }
    }
    struct stream_opts o = {
        .frame_mode = TRAIL_FRAME_AUTO, .format = FMT_SYSLOG, .max_conns = cfg->max_connections};
    if (cfg->syslog_udp) {
        o.input = IN_SYSLOG_UDP;
        if ((r = stream_listen_udp(s->loop[0], cfg->syslog_udp, &o, &s->udp, err, errlen)) < 0)
            goto fail;
    }
    if (cfg->syslog_tcp) {
        o.input = IN_SYSLOG_TCP;
        if ((r = listen_all(s, cfg->syslog_tcp, &o, s->tcp, &s->tcp_group, err, errlen)) < 0)
            goto fail;
    }
    if (cfg->syslog_tls) {
        o.input = IN_SYSLOG_TLS;
        r = stream_tls_context(cfg->tls_cert, cfg->tls_key, cfg->tls_ca, &ctx, NULL, err, errlen);
        if (r < 0)
            goto fail;
        o.ssl = ctx;
        r = listen_all(s, cfg->syslog_tls, &o, s->tls, &s->tls_group, err, errlen);
        SSL_CTX_free(ctx); /* the servers hold their own references */
        if (r < 0)
            goto fail;
    }
    log_msg(LOG_INFO, "syslog: udp %s, tcp %s, tls %s; %d loop%s",
            cfg->syslog_udp ? cfg->syslog_udp : "off", cfg->syslog_tcp ? cfg->syslog_tcp : "off",
            cfg->syslog_tls ? cfg->syslog_tls : "off", s->n_loops, s->n_loops == 1 ? "" : "s");
    *ret_state = s;
    return 0;
fail:
    stop(s);
    free_input(s);
    return r;
}

const struct input_ops input_syslog_ops = {
    .name = "syslog", .enabled = enabled, .start = start, .stop = stop, .free = free_input};
