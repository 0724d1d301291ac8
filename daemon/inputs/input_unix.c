/*
 * input_unix.c - a Unix stream socket for local producers ([listen] unix,
 * unix_mode): one event per line, a JSON object (NDJSON) or a CEF line,
 * told apart line by line. The sender is named by its pid and uid.
 *
 * Not here: the sockets and backpressure (stream.c).
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
    return cfg->unix_path != NULL;
}

static int start(const struct config *cfg, void **ret_state, char *err, size_t errlen)
{
    struct stream_input *s;
    int r = stream_input_start("traild-unix", cfg->stream_threads, &s, err, errlen);
    if (r < 0)
        return r;
    struct stream_opts o = {.input = IN_UNIX,
                            .frame_mode = TRAIL_FRAME_LF,
                            .format = FMT_LINE,
                            .max_conns = cfg->max_connections};
    r = stream_spread_unix(&s->loops, cfg->unix_path, cfg->unix_mode, &o, &s->lis, err, errlen);
    if (r < 0) {
        stream_input_stop(s);
        stream_input_free(s);
        return r;
    }
    log_msg(LOG_INFO, "unix: %s (mode %04o); %d loop%s", cfg->unix_path, cfg->unix_mode, s->loops.n,
            s->loops.n == 1 ? "" : "s");
    *ret_state = s;
    return 0;
}

const struct input_ops input_unix_ops = {.name = "unix",
                                         .enabled = enabled,
                                         .start = start,
                                         .stop = stream_input_stop,
                                         .free = stream_input_free};
