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
#include <stdio.h>
#include <stdlib.h>

/*
 * Loop 0 holds the UDP socket; the TCP and the TLS listener are each spread
 * over every loop (stream_spread_tcp), so connections spread over the
 * loops and each loop decodes and stores its own connections' events.
 */
struct syslog_input {
    struct loop_set loops;
    struct stream_server *udp;
    struct stream_spread tcp, tls;
};

static int enabled(const struct config *cfg)
{
    return cfg->syslog_udp || cfg->syslog_tcp || cfg->syslog_tls;
}

static void stop(void *state)
{
    struct syslog_input *s = state;
    stream_server_stop(s->udp);
    stream_spread_stop(&s->tcp);
    stream_spread_stop(&s->tls);
    loop_set_stop(&s->loops);
}

static void free_input(void *state)
{
    struct syslog_input *s = state;
    if (!s)
        return;
    stream_server_free(s->udp);
    stream_spread_free(&s->tcp);
    stream_spread_free(&s->tls);
    loop_set_free(&s->loops);
    free(s);
}

static int start(const struct config *cfg, void **ret_state, char *err, size_t errlen)
{
    struct syslog_input *s = calloc(1, sizeof(*s));
    SSL_CTX *ctx = NULL;
    int r = -ENOMEM;
    if (!s)
        return r;
    /* UDP is one socket, read on one loop */
    int want = cfg->syslog_tcp || cfg->syslog_tls ? loop_set_size(cfg->syslog_threads) : 1;
    if ((r = loop_set_start(&s->loops, "traild-syslog", want, err, errlen)) < 0)
        goto fail;
    struct stream_opts o = {
        .frame_mode = TRAIL_FRAME_AUTO, .format = FMT_SYSLOG, .max_conns = cfg->max_connections};
    if (cfg->syslog_udp) {
        o.input = IN_SYSLOG_UDP;
        if ((r = stream_listen_udp(s->loops.loop[0], cfg->syslog_udp, &o, &s->udp, err, errlen)) <
            0)
            goto fail;
    }
    if (cfg->syslog_tcp) {
        o.input = IN_SYSLOG_TCP;
        if ((r = stream_spread_tcp(&s->loops, cfg->syslog_tcp, &o, &s->tcp, err, errlen)) < 0)
            goto fail;
    }
    if (cfg->syslog_tls) {
        o.input = IN_SYSLOG_TLS;
        r = stream_tls_context(cfg->tls_cert, cfg->tls_key, cfg->tls_ca, &ctx, NULL, err, errlen);
        if (r < 0)
            goto fail;
        o.ssl = ctx;
        r = stream_spread_tcp(&s->loops, cfg->syslog_tls, &o, &s->tls, err, errlen);
        SSL_CTX_free(ctx); /* the servers hold their own references */
        if (r < 0)
            goto fail;
    }
    log_msg(LOG_INFO, "syslog: udp %s, tcp %s, tls %s; %d loop%s",
            cfg->syslog_udp ? cfg->syslog_udp : "off", cfg->syslog_tcp ? cfg->syslog_tcp : "off",
            cfg->syslog_tls ? cfg->syslog_tls : "off", s->loops.n, s->loops.n == 1 ? "" : "s");
    *ret_state = s;
    return 0;
fail:
    stop(s);
    free_input(s);
    return r;
}

const struct input_ops input_syslog_ops = {
    .name = "syslog", .enabled = enabled, .start = start, .stop = stop, .free = free_input};
