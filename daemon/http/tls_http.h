/*
 * tls_http.h - HTTPS for traild's HTTP listener (libmicrohttpd with GnuTLS)
 * and the client certificate of a connection.
 *
 * Not here: the roles a certificate maps to (auth.c), syslog over TLS
 * (stream.c).
 */
#ifndef TRAILD_TLS_HTTP_H
#define TRAILD_TLS_HTTP_H

#include "core/auth.h"
#include "core/config.h"

#include <microhttpd.h>

/* The PEM texts libmicrohttpd reads, and its options naming them. */
struct tls_http {
    char *cert, *key, *ca;
    struct MHD_OptionItem opts[6]; /* for MHD_OPTION_ARRAY; ends with MHD_OPTION_END */
};

/*
 * tls_http_load - read [tls] cert, key and (when set) http_ca for
 * [listen] http_tls. Returns 0 and the options (caller frees with
 * tls_http_free() after MHD_stop_daemon), or -EINVAL / -ENOMEM with err
 * naming the file and the problem.
 */
int tls_http_load(const struct config *cfg, struct tls_http **ret, char *err, size_t errlen);

/* tls_http_free - free what tls_http_load() made; NULL is a no-op. */
void tls_http_free(struct tls_http *t);

/*
 * tls_http_peer - the client certificate of conn: present, verified
 * against [tls] http_ca, its CN and fingerprint. All zero for plain HTTP or
 * a client without a certificate.
 */
void tls_http_peer(struct MHD_Connection *conn, struct auth_peer_cert *ret);

#endif /* TRAILD_TLS_HTTP_H */
