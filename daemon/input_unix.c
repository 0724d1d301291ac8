/*
 * input_unix.c - a Unix stream socket for local producers ([listen] unix,
 * unix_mode): one event per line, a JSON object (NDJSON) or a CEF line,
 * told apart line by line. The sender is named by its pid and uid.
 *
 * Not here: the sockets and backpressure (stream.c).
 */
#include "log.h"
#include "metrics.h"
#include "stream.h"
#include "traild.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

struct unix_input {
    struct loop *loop;
    struct stream_server *srv;
};

static int enabled(const struct config *cfg)
{
    return cfg->unix_path != NULL;
}

static void stop(void *state)
{
    struct unix_input *s = state;
    stream_server_stop(s->srv);
    loop_stop(s->loop);
}

static void free_input(void *state)
{
    struct unix_input *s = state;
    if (!s)
        return;
    stream_server_free(s->srv);
    loop_free(s->loop);
    free(s);
}

static int start(const struct config *cfg, void **ret_state, char *err, size_t errlen)
{
    struct unix_input *s = calloc(1, sizeof(*s));
    int r = -ENOMEM;
    if (!s)
        return r;
    if ((r = loop_start("traild-unix", &s->loop)) < 0) {
        snprintf(err, errlen, "cannot start the event loop");
        goto fail;
    }
    struct stream_opts o = {.input = IN_UNIX,
                            .frame_mode = TRAIL_FRAME_LF,
                            .format = FMT_LINE,
                            .max_conns = cfg->max_connections};
    r = stream_listen_unix(s->loop, cfg->unix_path, cfg->unix_mode, &o, &s->srv, err, errlen);
    if (r < 0)
        goto fail;
    log_msg(LOG_INFO, "unix: %s (mode %04o)", cfg->unix_path, cfg->unix_mode);
    *ret_state = s;
    return 0;
fail:
    if (s->loop)
        loop_stop(s->loop);
    free_input(s);
    return r;
}

const struct input_ops input_unix_ops = {
    .name = "unix", .enabled = enabled, .start = start, .stop = stop, .free = free_input};
