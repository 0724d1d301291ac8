/*
 * fuzz_config.c - libFuzzer target for traild's configuration reader
 * (daemon/core/config.c through libinih, with [tokens] and [client_certs]
 * entries read by daemon/core/auth.c).
 *
 * The input is a whole trail.conf. It is handed to config_load() through a
 * memfd, as a file, so the whole path runs: the line reader that counts
 * lines and catches overlong ones, every section and key, the cross-key
 * checks and building the catalog of the custom events. A load must either
 * succeed or fail with a message of the form "FILE:LINE: ..." (or "FILE:
 * ..."); anything else aborts. Nothing may crash, leak or hang.
 *
 * [sink NAME] sections belong to the sink runner, whose checks pull in the
 * whole of it: here they are stubbed (accepted). The daemon code is
 * compiled in, as tests/fuzz/fuzz_http_body.c does with its file.
 * In ordinary builds tests/fuzz/replay.c runs this over corpus/fuzz_config/.
 */
#include "../../daemon/core/auth.c"
#include "../../daemon/core/own_records.c"
#include "../../daemon/core/ratelimit.c"
#include "../../daemon/core/config.c"

#include <stdint.h>
#include <sys/mman.h>

/* ---- what config.c and auth.c call in the rest of traild ---- */

struct traild traild;

static int sink_conf_load(struct sink_conf **sinks, size_t *n_sinks, const char *name, int first,
                          const char *key, const char *value, int line, char *err, size_t errlen)
{
    (void)sinks, (void)n_sinks, (void)name, (void)first, (void)line, (void)err, (void)errlen;
    /* a value the sink runner would refuse for every key, to reach the failure path too */
    if (!strcmp(key, "type") && !strcmp(value, "bogus")) {
        snprintf(err, errlen, "type: 'bogus' is not a sink type");
        return -EINVAL;
    }
    return 0;
}

static int sink_conf_check(struct sink_conf *sinks, size_t n_sinks, int *ret_line, char *err,
                           size_t errlen)
{
    (void)sinks, (void)n_sinks, (void)ret_line, (void)err, (void)errlen;
    return 0;
}

static void sink_conf_free(struct sink_conf *sinks, size_t n_sinks)
{
    (void)sinks, (void)n_sinks;
}

static int sink_conf_differs(const struct sink_conf *a, size_t na, const struct sink_conf *b,
                             size_t nb)
{
    (void)a, (void)b;
    return na != nb;
}

static const struct config_sink_ops stub_sink_ops = {
    .load = sink_conf_load,
    .check = sink_conf_check,
    .free = sink_conf_free,
    .differs = sink_conf_differs,
};

void log_msg(int level, const char *fmt, ...)
{
    (void)level, (void)fmt;
}

int ingest_submit(struct ingest *ig, struct ingest_batch *b, int block)
{
    (void)ig, (void)b, (void)block;
    return -EAGAIN;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    config_set_sink_ops(&stub_sink_ops);
    int fd = memfd_create("fuzz_config", 0);
    if (fd < 0)
        abort();
    if (size && write(fd, data, size) != (ssize_t)size)
        abort();
    char path[64], err[1024];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    struct config *cfg = NULL;
    int r = config_load(path, &cfg, err, sizeof(err));
    close(fd);
    if (r == 0) {
        /* what traild does with a loaded config: compare it for a reload, check a request */
        if (!cfg || !cfg->cat || !cfg->host || !cfg->store_path)
            abort();
        if (config_diff_restart(cfg, cfg) != NULL)
            abort();
        struct auth_result ar;
        struct auth_peer_cert cert = {.present = 1, .verified = 1};
        snprintf(cert.cn, sizeof(cert.cn), "reader");
        auth_check(cfg, ROLE_READ, "Bearer 0123456789abcdef0123456789abcdef", &cert, &ar);
        if (auth_enabled(cfg) ? ar.status != 0 && ar.status != 401 && ar.status != 403
                              : ar.status != 0)
            abort();
        config_free(cfg);
        return 0;
    }
    if (cfg || !err[0])
        abort();
    /* every message names the file first */
    if (strncmp(err, "/proc/self/fd/", 14) != 0 && strncmp(err, "(defaults)", 10) != 0) {
        fprintf(stderr, "fuzz_config: message without the file: %s\n", err);
        abort();
    }
    return 0;
}
