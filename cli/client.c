/*
 * client.c - the --url part of `trail emit`: send the event to a running
 * traild with trail_client_send() and print its seq once traild says it is
 * durable.
 *
 * Not here: building the event (cli/emit.c), the HTTP exchange (lib/client/client.c).
 */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

int cli_client_emit(const char *cmd, const char *url, struct trail_event *ev)
{
    struct trail_client_result res;
    char err[512];
    int r = trail_client_send(url, NULL, &ev, 1, &res, err, sizeof(err));
    if (r < 0) {
        if (r == -EINVAL || r == -EPROTONOSUPPORT)
            return cli_usage_error(cmd, "--url %s", err);
        return cli_fail(cmd, "the event was not stored: %s%s", err,
                        r == -EAGAIN ? " (try again later)" : "");
    }
    if (!res.accepted)
        return cli_usage_error(cmd, "traild rejected the event: %s", res.error);
    printf("%" PRIu64 "\n", res.seq);
    return fflush(stdout) == 0 ? 0 : cli_fail(cmd, "cannot write: %s", strerror(errno));
}
