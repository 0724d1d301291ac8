/*
 * input_tcp.c - raw CEF over TCP ([listen] cef_tcp): one CEF line per event,
 * LF-terminated, with or without the event.log prefix, as the documented
 * product writes its event.log.
 *
 * Not here: the sockets and backpressure (stream.c), CEF (lib/codec/cef.c).
 */
#include "core/log.h"
#include "core/metrics.h"
#include "inputs/stream.h"
#include "core/traild.h"
#include "inputs/input.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static int enabled(const struct config *cfg)
{
    return cfg->cef_tcp != NULL;
}

static int start(const struct config *cfg, void **ret_state, char *err, size_t errlen)
{
    struct stream_input *s;
    int r = stream_input_start("traild-cef", cfg->stream_threads, &s, err, errlen);
    if (r < 0)
        return r;
    struct stream_opts o = {.input = IN_CEF_TCP,
                            .frame_mode = TRAIL_FRAME_LF,
                            .format = FMT_CEF,
                            .max_conns = cfg->max_connections};
    if ((r = stream_spread_tcp(&s->loops, cfg->cef_tcp, &o, &s->lis, err, errlen)) < 0) {
        stream_input_stop(s);
        stream_input_free(s);
        return r;
    }
    log_msg(LOG_INFO, "cef: tcp %s; %d loop%s", cfg->cef_tcp, s->loops.n,
            s->loops.n == 1 ? "" : "s");
    *ret_state = s;
    return 0;
}

const struct input_ops input_tcp_ops = {.name = "cef_tcp",
                                        .enabled = enabled,
                                        .start = start,
                                        .stop = stream_input_stop,
                                        .free = stream_input_free};
