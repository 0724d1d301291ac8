/*
 * tls_http.c - HTTPS for traild's HTTP listener: libmicrohttpd's TLS
 * (GnuTLS) options from [tls] cert, key and http_ca, and the client
 * certificate of a connection for auth_check().
 *
 * libmicrohttpd asks for a client certificate when it has a trust list
 * (MHD_OPTION_HTTPS_MEM_TRUST) but does not check it: the check is here,
 * with GnuTLS against that same trust list, per request. The subject CN
 * and the SHA-256 fingerprint are read from the DER with OpenSSL.
 *
 * Not here: what a certificate may do (auth.c, [client_certs]), syslog
 * over TLS (stream.c, OpenSSL through libevent).
 */
#include "http/tls_http.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Read a whole PEM file; NULL with err set when it cannot be read. */
static char *slurp(const char *path, const char *what, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    if (!f) {
        snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) < 0)
        goto bad;
    long n = ftell(f);
    if (n <= 0 || n > (1 << 20) || fseek(f, 0, SEEK_SET) < 0)
        goto bad;
    buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
        goto bad;
    buf[n] = '\0';
    fclose(f);
    return buf;
bad:
    snprintf(err, errlen, "%s %s: empty, too big or unreadable", what, path);
    free(buf);
    fclose(f);
    return NULL;
}

int tls_http_load(const struct config *cfg, struct tls_http **ret, char *err, size_t errlen)
{
    struct tls_http *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
        snprintf(err, errlen, "this libmicrohttpd was built without TLS");
        goto fail;
    }
    if (!(t->cert = slurp(cfg->tls_cert, "[tls] cert", err, errlen)) ||
        !(t->key = slurp(cfg->tls_key, "[tls] key", err, errlen)))
        goto fail;
    if (cfg->tls_http_ca && !(t->ca = slurp(cfg->tls_http_ca, "[tls] http_ca", err, errlen)))
        goto fail;
    size_t n = 0;
    t->opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, t->cert};
    t->opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, t->key};
    /* TLS 1.2 and 1.3 only, as the syslog listener */
    t->opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
                                           (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"};
    if (t->ca)
        t->opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, t->ca};
    t->opts[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    *ret = t;
    return 0;
fail:
    tls_http_free(t);
    return -EINVAL;
}

void tls_http_free(struct tls_http *t)
{
    if (!t)
        return;
    free(t->cert);
    if (t->key) {
        memset(t->key, 0, strlen(t->key)); /* the private key leaves no copy behind */
        free(t->key);
    }
    free(t->ca);
    free(t);
}

void tls_http_peer(struct MHD_Connection *conn, struct auth_peer_cert *ret)
{
    memset(ret, 0, sizeof(*ret));
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!ci || !ci->tls_session)
        return;
    gnutls_session_t session = (gnutls_session_t)ci->tls_session;
    unsigned n = 0;
    const gnutls_datum_t *chain = gnutls_certificate_get_peers(session, &n);
    if (!chain || n == 0)
        return;
    ret->present = 1;
    unsigned status = 0;
    /* against MHD's trust list ([tls] http_ca), with times and key usage */
    if (gnutls_certificate_verify_peers2(session, &status) == 0 && status == 0)
        ret->verified = 1;
    SHA256(chain[0].data, chain[0].size, ret->sha256);
    const unsigned char *p = chain[0].data;
    X509 *x = d2i_X509(NULL, &p, (long)chain[0].size);
    if (!x) {
        ret->verified = 0;
        return;
    }
    X509_NAME *subject = X509_get_subject_name(x);
    if (subject &&
        X509_NAME_get_text_by_NID(subject, NID_commonName, ret->cn, (int)sizeof(ret->cn)) < 0)
        ret->cn[0] = '\0';
    X509_free(x);
}
