/*
 * input_tcp.c - raw CEF over TCP ([listen] cef_tcp): one CEF line per event,
 * LF-terminated, with or without the event.log prefix, as the documented
 * product writes its event.log.
 *
 * Not here: the sockets and backpressure (stream.c), CEF (lib/cef.c).
 */
#include "log.h"
#include "metrics.h"
#include "stream.h"
#include "traild.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

struct tcp_input {
    struct loop *loop;
    struct stream_server *srv;
};

static int enabled(const struct config *cfg)
{
    return cfg->cef_tcp != NULL;
}

static void stop(void *state)
{
    struct tcp_input *s = state;
    stream_server_stop(s->srv);
    loop_stop(s->loop);
}

static void free_input(void *state)
{
    struct tcp_input *s = state;
    if (!s)
        return;
    stream_server_free(s->srv);
    loop_free(s->loop);
    free(s);
}

static int start(const struct config *cfg, void **ret_state, char *err, size_t errlen)
{
    struct tcp_input *s = calloc(1, sizeof(*s));
    int r = -ENOMEM;
    if (!s)
        return r;
    if ((r = loop_start("traild-cef", &s->loop)) < 0) {
        snprintf(err, errlen, "cannot start the event loop");
        goto fail;
    }
    struct stream_opts o = {.input = IN_CEF_TCP,
                            .frame_mode = TRAIL_FRAME_LF,
                            .format = FMT_CEF,
                            .max_conns = cfg->max_connections};
    if ((r = stream_listen_tcp(s->loop, cfg->cef_tcp, &o, &s->srv, err, errlen)) < 0)
        goto fail;
    log_msg(LOG_INFO, "cef: tcp %s", cfg->cef_tcp);
    *ret_state = s;
    return 0;
fail:
    if (s->loop)
        loop_stop(s->loop);
    free_input(s);
    return r;
}

const struct input_ops input_tcp_ops = {
    .name = "cef_tcp", .enabled = enabled, .start = start, .stop = stop, .free = free_input};
