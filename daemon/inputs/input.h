/*
 * input.h - the input plug-in interface: what every listener and followed
 * file of traild provides, and the inputs there are. Where an input is
 * defined: a file of this folder (syslog, CEF over TCP, the Unix socket,
 * followed files) or of daemon/http (the HTTP API), and one line in
 * daemon/main.c's table.
 */
#ifndef TRAILD_INPUT_H
#define TRAILD_INPUT_H

#include "core/config.h"

#include <stddef.h>

/*
 * An input: a listener or a followed file. start binds or opens what the
 * config asks for (failing start fails the daemon's start-up, with err
 * naming the problem); stop stops taking new data, hands what it has read to
 * ingest and returns once every batch it submitted has completed; free
 * releases what is left. Inputs read the live config with traild_config().
 */
struct input_ops {
    const char *name;
    int (*enabled)(const struct config *cfg);
    int (*start)(const struct config *cfg, void **ret_state, char *err, size_t errlen);
    void (*stop)(void *state);
    void (*free)(void *state);
};

extern const struct input_ops input_http_ops;
extern const struct input_ops input_syslog_ops;
extern const struct input_ops input_tcp_ops;
extern const struct input_ops input_unix_ops;
extern const struct input_ops input_file_ops;

#endif /* TRAILD_INPUT_H */
