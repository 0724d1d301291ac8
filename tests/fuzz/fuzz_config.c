/*
 * fuzz_config.c - libFuzzer target for traild's configuration reader
 * (daemon/core/config.c through libinih, with [tokens] and [client_certs]
 * entries read by daemon/core/auth.c and [sink NAME] sections by the sink
 * runner's config calls, daemon/sinks/).
 *
 * The input is a whole trail.conf. It is handed to config_load() through a
 * memfd, as a file, so the whole path runs: the line reader that counts
 * lines and catches overlong ones, every section and key, the cross-key
 * checks, each sink's own checks, and building the catalog of the custom
 * events. A load must either succeed or fail with a message of the form
 * "FILE:LINE: ..." (or "FILE: ..."); anything else aborts. Nothing may
 * crash, leak or hang.
 *
 * Linked against traild's parts (traild_core, traild_sinks), as traild is;
 * the sinks' calls are registered as main.c registers them. In ordinary
 * builds tests/fuzz/replay.c runs this over corpus/fuzz_config/.
 */
#include "core/auth.h"
#include "core/config.h"
#include "sinks/sink.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    config_set_sink_ops(&sink_config_ops);
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
