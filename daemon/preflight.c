/*
 * preflight.c - what a configuration names outside itself, checked before
 * traild starts and by `traild -t`: the key and TLS files it names can be
 * read and are what they should be (loaded with the very functions a start
 * loads them with), and the store directory is there and writable or can
 * be made. main() runs it after config_load() on both paths, so that -t
 * refuses what a start would and a start refuses with the same message.
 *
 * Not here: reading the file (config.c), the checks that need nothing but
 * the file (config.c's check_whole), what only a running start can find
 * (a port taken, a store locked by another traild).
 */
#include "core/config.h"
#include "inputs/stream.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int pfail(const struct config *c, int line, const char *sec, const char *key, char *err,
                 size_t errlen, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

static int pfail(const struct config *c, int line, const char *sec, const char *key, char *err,
                 size_t errlen, const char *fmt, ...)
{
    const char *file = c->path ? c->path : "(defaults)";
    int n = line ? snprintf(err, errlen, "%s:%d: [%s] %s: ", file, line, sec, key)
                 : snprintf(err, errlen, "%s: [%s] %s: ", file, sec, key);
    if (n >= 0 && (size_t)n < errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* 0 when path opens for reading and is not a directory, else -errno. */
static int readable(const char *path)
{
    /* O_NONBLOCK: a FIFO named by mistake must not hang the check */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -errno;
    struct stat st;
    int r = fstat(fd, &st) < 0 ? -errno : S_ISDIR(st.st_mode) ? -EISDIR : 0;
    close(fd);
    return r;
}

/*
 * The store directory: a start opens it, or makes it with one mkdir (the
 * store does not make parents), and then creates files in it. Checked with
 * the effective ids, as the start will run. 0, or -1 with why set.
 */
static int store_dir_usable(const char *dir, char *why, size_t whylen)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            snprintf(why, whylen, "%s exists and is not a directory", dir);
            return -1;
        }
        if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) < 0) {
            snprintf(why, whylen, "the store directory %s is not writable: %s", dir,
                     strerror(errno));
            return -1;
        }
        return 0;
    }
    if (errno != ENOENT) {
        snprintf(why, whylen, "cannot use %s: %s", dir, strerror(errno));
        return -1;
    }
    char parent[4096];
    size_t n = strlen(dir);
    if (n >= sizeof(parent)) {
        snprintf(why, whylen, "the path is too long");
        return -1;
    }
    memcpy(parent, dir, n + 1);
    while (n > 1 && parent[n - 1] == '/')
        parent[--n] = '\0';
    char *slash = strrchr(parent, '/');
    if (!slash)
        strcpy(parent, ".");
    else if (slash == parent)
        parent[1] = '\0';
    else
        *slash = '\0';
    if (stat(parent, &st) < 0) {
        snprintf(why, whylen, "cannot make the store directory %s: %s: %s", dir, parent,
                 strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(why, whylen, "cannot make the store directory %s: %s is not a directory", dir,
                 parent);
        return -1;
    }
    if (faccessat(AT_FDCWD, parent, W_OK | X_OK, AT_EACCESS) < 0) {
        snprintf(why, whylen, "cannot make the store directory %s in %s: %s", dir, parent,
                 strerror(errno));
        return -1;
    }
    return 0;
}

const char *config_signing_key(const struct config *cfg, char *buf, size_t len)
{
    if (cfg->signing_key)
        return cfg->signing_key;
    snprintf(buf, len, "%s/checkpoint.key", cfg->store_path);
    return access(buf, R_OK) == 0 ? buf : NULL;
}

int config_preflight(const struct config *c, char *err, size_t errlen)
{
    char why[1024];
    err[0] = '\0';
    struct {
        const char *sec, *key, *path;
        int line;
    } files[] = {
        {"store", "signing_key", c->signing_key, c->line.signing_key},
        {"tls", "cert", c->tls_cert, c->line.tls_cert},
        {"tls", "key", c->tls_key, c->line.tls_key},
        {"tls", "ca", c->tls_ca, c->line.tls_ca},
        {"tls", "http_ca", c->tls_http_ca, c->line.tls_http_ca},
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        int r = files[i].path ? readable(files[i].path) : 0;
        if (r < 0)
            return pfail(c, files[i].line, files[i].sec, files[i].key, err, errlen,
                         "cannot read %s: %s", files[i].path, strerror(-r));
    }
    if (store_dir_usable(c->store_path, why, sizeof(why)) < 0)
        return pfail(c, c->line.store_path, "store", "path", err, errlen, "%s", why);

    /* the signing key as open_store() will load it */
    char keybuf[4200];
    const char *key = config_signing_key(c, keybuf, sizeof(keybuf));
    if (key) {
        struct trail_key *k = NULL;
        int r = trail_key_load_private(key, &k);
        trail_key_free(k);
        if (r == -ENOMEM)
            return r;
        if (r < 0)
            return c->signing_key
                       ? pfail(c, c->line.signing_key, "store", "signing_key", err, errlen,
                               "%s is not an Ed25519 private key as `trail keygen` writes: %s", key,
                               trail_strerror(r))
                       : pfail(c, c->line.store_path, "store", "path", err, errlen,
                               "%s (the signing key when signing_key is unset) is not an Ed25519 "
                               "private key: %s",
                               key, trail_strerror(r));
    }

    /* the witness's key as witness_start() will load it (http/witness_http.c) */
    if (c->witness_key) {
        struct trail_key *k = NULL;
        int r = trail_key_load_private(c->witness_key, &k);
        trail_key_free(k);
        if (r == -ENOMEM)
            return r;
        if (r < 0)
            return pfail(c, 0, "witness", "key", err, errlen,
                         "%s is not an Ed25519 private key as `trail keygen` writes: %s",
                         c->witness_key, trail_strerror(r));
    }

    /* certificate, key and CAs as the TLS listeners load them */
    if (c->tls_cert && c->tls_key) {
        const char *cas[] = {c->tls_ca, c->tls_http_ca};
        const char *ca_keys[] = {"ca", "http_ca"};
        const int ca_lines[] = {c->line.tls_ca, c->line.tls_http_ca};
        for (int i = 0; i < 2; i++) {
            if (i == 1 && !cas[i])
                continue;
            SSL_CTX *ctx = NULL;
            int bad = 0;
            char e[512] = "";
            if (stream_tls_context(c->tls_cert, c->tls_key, cas[i], &ctx, &bad, e, sizeof(e)) ==
                0) {
                SSL_CTX_free(ctx);
                continue;
            }
            if (bad == TLS_FILE_CA)
                return pfail(c, ca_lines[i], "tls", ca_keys[i], err, errlen, "%s", e);
            if (bad == TLS_FILE_KEY)
                return pfail(c, c->line.tls_key, "tls", "key", err, errlen, "%s", e);
            return pfail(c, c->line.tls_cert, "tls", "cert", err, errlen, "%s", e);
        }
    }
    return 0;
}
