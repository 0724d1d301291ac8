/*
 * net.h - one connection of trail's clients: TCP (or UDP) with a timeout on
 * every wait, and TLS over OpenSSL with the peer's certificate and name
 * checked unless told otherwise. The HTTP client (http.h) and the syslog
 * sink send over it.
 *
 * Not here: URLs (url.h), HTTP (http.h).
 */
#ifndef TRAIL_CLIENT_NET_H
#define TRAIL_CLIENT_NET_H

#include <openssl/ssl.h>
#include <stddef.h>

/* A connection, with TLS when ssl is set. */
struct client_conn {
    int fd; /* -1 when closed */
    SSL_CTX *ctx;
    SSL *ssl;
    int timeout_ms; /* the longest wait of any one step */
};

/* TLS settings of a connection; the strings stay the caller's. */
struct client_tls {
    int enabled;
    int verify;     /* check the peer's certificate chain and name (say 1) */
    const char *ca; /* PEM CA file; NULL: the system's store (SSL_CERT_FILE, /etc/ssl/certs) */
    const char *cert, *key;  /* a client certificate (PEM chain) and its key; key NULL: in cert */
    const char *server_name; /* for SNI and the name check; NULL: the host */
};

/*
 * client_connect - connect to host:port (TCP, or UDP when udp), every step
 * within timeout_ms, then the TLS handshake when tls && tls->enabled.
 * Returns 0, or -EHOSTUNREACH (name), -ECONNREFUSED and other -errno,
 * -ETIMEDOUT, -EPROTO (TLS: a certificate that is not accepted, a file
 * that cannot be read, a failed handshake) with err saying which.
 * *c is closed (fd -1) on failure.
 */
int client_connect(struct client_conn *c, const char *host, const char *port, int udp,
                   const struct client_tls *tls, int timeout_ms, char *err, size_t errlen);

/* client_send - send all of data, each wait within the timeout. 0, or < 0 with err. */
int client_send(struct client_conn *c, const void *data, size_t len, char *err, size_t errlen);

/*
 * client_recv - read up to cap bytes, waiting at most timeout_ms (< 0: the
 * connection's). *ret_n > 0 bytes, or 0 at the end of the stream. Returns
 * 0, -ETIMEDOUT (nothing within the wait; the connection stays usable), or
 * another negative code with err.
 */
int client_recv(struct client_conn *c, void *buf, size_t cap, int timeout_ms, size_t *ret_n,
                char *err, size_t errlen);

/* client_conn_close - close (TLS close_notify first); a no-op when closed. */
void client_conn_close(struct client_conn *c);

#endif /* TRAIL_CLIENT_NET_H */
