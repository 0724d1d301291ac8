/*
 * client.c - how the CLI reaches a running traild: the options every --url
 * command takes (the token, TLS: --cacert, --cert, --key), and the --url
 * part of `trail emit`, which sends the event with trail_client_send() and
 * prints its seq once traild says it is durable.
 *
 * Not here: building the event (cli/emit.c), HTTP and TLS (lib/client/).
 */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

int cli_conn_opt(char **argv, int argc, int *i, struct cli_conn *c)
{
    static const struct {
        const char *name;
        size_t field;
    } opts[] = {
        {"--token", offsetof(struct cli_conn, token)},
        {"--token-file", offsetof(struct cli_conn, token_file)},
        {"--cacert", offsetof(struct cli_conn, cacert)},
        {"--ca", offsetof(struct cli_conn, cacert)},
        {"--cert", offsetof(struct cli_conn, cert)},
        {"--key", offsetof(struct cli_conn, key)},
    };
    for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
        const char *v = NULL;
        int m = cli_opt_value(argv, argc, i, opts[k].name, &v);
        if (m > 0)
            *(const char **)((char *)c + opts[k].field) = v;
        if (m)
            return m;
    }
    return 0;
}

int cli_conn_opts(const char *cmd, struct cli_conn *c, struct trail_client_opts *ret)
{
    memset(ret, 0, sizeof(*ret));
    if (c->token && c->token_file)
        return cli_usage_error(cmd, "give --token or --token-file, not both");
    if (c->key && !c->cert)
        return cli_usage_error(cmd, "--key goes with --cert");
    if (c->token_file) {
        struct trail_buf b = {0};
        int r = cli_read_file(c->token_file, 4096, &b);
        if (r < 0) {
            trail_buf_free(&b);
            return cli_usage_error(cmd, "cannot read the token file %s: %s", c->token_file,
                                   trail_strerror(r));
        }
        while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
            b.data[--b.len] = '\0';
        if (!b.len || memchr(b.data, '\n', b.len) || memchr(b.data, '\0', b.len)) {
            trail_buf_free(&b);
            return cli_usage_error(cmd, "%s: the token file holds one line, the token",
                                   c->token_file);
        }
        free(c->token_read);
        c->token_read = b.data; /* the buffer's memory, kept */
        ret->token = c->token_read;
    } else {
        ret->token = c->token ? c->token : getenv("TRAIL_TOKEN");
        if (ret->token && !*ret->token)
            ret->token = NULL;
    }
    ret->ca_file = c->cacert;
    ret->cert_file = c->cert;
    ret->key_file = c->key;
    return 0;
}

void cli_conn_free(struct cli_conn *c)
{
    free(c->token_read);
    c->token_read = NULL;
}

int cli_client_emit(const char *cmd, const char *url, const struct trail_client_opts *copts,
                    struct trail_event *ev)
{
    struct trail_client_result res;
    char err[512];
    int r = trail_client_send(url, copts, &ev, 1, &res, err, sizeof(err));
    if (r < 0) {
        if (r == -EINVAL)
            return cli_usage_error(cmd, "--url %s", err);
        return cli_fail(cmd, "the event was not stored: %s%s", err,
                        r == -EAGAIN ? " (try again later)" : "");
    }
    if (!res.accepted)
        return cli_usage_error(cmd, "traild rejected the event: %s", res.error);
    printf("%" PRIu64 "\n", res.seq);
    return fflush(stdout) == 0 ? 0 : cli_fail(cmd, "cannot write: %s", strerror(errno));
}
