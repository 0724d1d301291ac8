/*
 * net.c - the connections of trail's clients (net.h): non-blocking sockets
 * with poll() for every wait, so that no step outlasts the timeout, and
 * TLS through OpenSSL (TLS 1.2 at least, the peer's chain checked against a
 * CA file or the system's store, its name against the host or server_name,
 * SNI for names, an optional client certificate).
 *
 * Not here: HTTP (http.c), URLs (url.c).
 */
#include "client/net.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int seterr(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int seterr(char *err, size_t errlen, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return code;
}

/* err := what: OpenSSL's first queued error (then the queue is emptied). */
static void ssl_errtext(char *err, size_t errlen, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256] = "";
    if (e)
        ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    if (err && errlen)
        snprintf(err, errlen, "%s%s%s", what, buf[0] ? ": " : "", buf);
}

static int wait_fd(int fd, short events, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = events};
    for (;;) {
        int r = poll(&p, 1, timeout_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        return r == 0 ? -ETIMEDOUT : 0;
    }
}

/*
 * OpenSSL writes to the socket with write(), which raises SIGPIPE when the
 * peer has gone; the library must not kill its caller nor change its signal
 * dispositions, so SIGPIPE is blocked on this thread for the write and a
 * SIGPIPE it raised is taken off again (one that was pending before stays).
 */
struct nopipe {
    sigset_t old;
    int was_pending;
};

static void nopipe_begin(struct nopipe *np)
{
    sigset_t pipe, pending;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    sigpending(&pending);
    np->was_pending = sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, &np->old);
}

static void nopipe_end(struct nopipe *np)
{
    sigset_t pipe, pending;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    sigpending(&pending);
    if (!np->was_pending && sigismember(&pending, SIGPIPE)) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &np->old, NULL);
}

static int tls_start(struct client_conn *c, const char *host, const char *port,
                     const struct client_tls *tls, char *err, size_t errlen)
{
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (!c->ctx) {
        ssl_errtext(err, errlen, "TLS");
        return -EPROTO;
    }
    SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
    if (tls->verify) {
        SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
        if (tls->ca && SSL_CTX_load_verify_locations(c->ctx, tls->ca, NULL) != 1) {
            char what[300];
            snprintf(what, sizeof(what), "cannot load the CA file %s", tls->ca);
            ssl_errtext(err, errlen, what);
            return -EPROTO;
        }
        if (!tls->ca && SSL_CTX_set_default_verify_paths(c->ctx) != 1) {
            ssl_errtext(err, errlen, "cannot load the system's CA certificates");
            return -EPROTO;
        }
    }
    if (tls->cert && (SSL_CTX_use_certificate_chain_file(c->ctx, tls->cert) != 1 ||
                      SSL_CTX_use_PrivateKey_file(c->ctx, tls->key ? tls->key : tls->cert,
                                                  SSL_FILETYPE_PEM) != 1 ||
                      SSL_CTX_check_private_key(c->ctx) != 1)) {
        char what[300];
        snprintf(what, sizeof(what), "cannot load the client certificate %s or its key", tls->cert);
        ssl_errtext(err, errlen, what);
        return -EPROTO;
    }
    c->ssl = SSL_new(c->ctx);
    if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
        ssl_errtext(err, errlen, "TLS");
        return -EPROTO;
    }
    const char *name = tls->server_name ? tls->server_name : host;
    /* an IP address is checked against the certificate's IP names and sent without SNI */
    struct in6_addr a6;
    struct in_addr a4;
    int is_ip = inet_pton(AF_INET, name, &a4) == 1 || inet_pton(AF_INET6, name, &a6) == 1;
    if (!is_ip)
        SSL_set_tlsext_host_name(c->ssl, name);
    if (tls->verify && (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), name) != 1
                              : SSL_set1_host(c->ssl, name) != 1)) {
        ssl_errtext(err, errlen, "TLS host name");
        return -EPROTO;
    }
    for (;;) {
        struct nopipe np;
        nopipe_begin(&np);
        int hr = SSL_connect(c->ssl);
        nopipe_end(&np);
        if (hr == 1)
            return 0;
        int e = SSL_get_error(c->ssl, hr);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, c->timeout_ms) < 0)
                return seterr(err, errlen, -ETIMEDOUT, "TLS handshake with %s:%s timed out", host,
                              port);
            continue;
        }
        long vr = SSL_get_verify_result(c->ssl);
        if (vr != X509_V_OK) {
            seterr(err, errlen, 0, "TLS handshake with %s:%s: certificate not accepted: %s", host,
                   port, X509_verify_cert_error_string(vr));
            ERR_clear_error();
        } else {
            char what[300];
            snprintf(what, sizeof(what), "TLS handshake with %s:%s failed", host, port);
            ssl_errtext(err, errlen, what);
        }
        return -EPROTO;
    }
}

int client_connect(struct client_conn *c, const char *host, const char *port, int udp,
                   const struct client_tls *tls, int timeout_ms, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_socktype = udp ? SOCK_DGRAM : SOCK_STREAM}, *res = NULL;
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->timeout_ms = timeout_ms;
    int r = getaddrinfo(host, port, &hints, &res);
    if (r != 0)
        return seterr(err, errlen, -EHOSTUNREACH, "cannot resolve %s:%s: %s", host, port,
                      gai_strerror(r));
    int last = -ECONNREFUSED;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            last = -errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
            last = -errno;
            close(fd);
            continue;
        }
        if (!udp) {
            int w = wait_fd(fd, POLLOUT, timeout_ms), soerr = 0;
            socklen_t sl = sizeof(soerr);
            if (w == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr)
                w = -soerr;
            if (w < 0) {
                last = w;
                close(fd);
                continue;
            }
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        }
        c->fd = fd;
        break;
    }
    freeaddrinfo(res);
    if (c->fd < 0)
        return seterr(err, errlen, last, "cannot connect to %s:%s: %s", host, port,
                      strerror(-last));
    if (!tls || !tls->enabled)
        return 0;
    if ((r = tls_start(c, host, port, tls, err, errlen)) < 0)
        client_conn_close(c);
    return r;
}

int client_send(struct client_conn *c, const void *data, size_t len, char *err, size_t errlen)
{
    const char *p = data;
    while (len > 0) {
        if (c->ssl) {
            size_t done = 0;
            struct nopipe np;
            nopipe_begin(&np);
            int r = SSL_write_ex(c->ssl, p, len, &done);
            nopipe_end(&np);
            if (r == 1) {
                p += done;
                len -= done;
                continue;
            }
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                if (wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, c->timeout_ms) < 0)
                    return seterr(err, errlen, -ETIMEDOUT, "send timed out");
                continue;
            }
            ssl_errtext(err, errlen, "TLS send failed");
            return -EPIPE;
        }
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (wait_fd(c->fd, POLLOUT, c->timeout_ms) < 0)
                    return seterr(err, errlen, -ETIMEDOUT, "send timed out");
                continue;
            }
            int e = errno;
            return seterr(err, errlen, -e, "send: %s", strerror(e));
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int client_recv(struct client_conn *c, void *buf, size_t cap, int timeout_ms, size_t *ret_n,
                char *err, size_t errlen)
{
    int wait = timeout_ms < 0 ? c->timeout_ms : timeout_ms;
    for (;;) {
        if (c->ssl) {
            size_t got = 0;
            struct nopipe np;
            nopipe_begin(&np); /* a read may write too (a TLS 1.3 key update's answer) */
            int r = SSL_read_ex(c->ssl, buf, cap, &got);
            nopipe_end(&np);
            if (r == 1) {
                *ret_n = got;
                return 0;
            }
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) {
                ERR_clear_error(); /* the end, with or without close_notify */
                *ret_n = 0;
                return 0;
            }
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                if (wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, wait) < 0)
                    return seterr(err, errlen, -ETIMEDOUT, "no answer within %d ms", wait);
                continue;
            }
            ssl_errtext(err, errlen, "TLS receive failed");
            return -EPIPE;
        }
        ssize_t n = recv(c->fd, buf, cap, 0);
        if (n >= 0) {
            *ret_n = (size_t)n;
            return 0;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (wait_fd(c->fd, POLLIN, wait) < 0)
                return seterr(err, errlen, -ETIMEDOUT, "no answer within %d ms", wait);
            continue;
        }
        int e = errno;
        return seterr(err, errlen, -e, "receive: %s", strerror(e));
    }
}

void client_conn_close(struct client_conn *c)
{
    if (c->ssl) {
        struct nopipe np;
        nopipe_begin(&np);
        SSL_shutdown(c->ssl);
        nopipe_end(&np);
        SSL_free(c->ssl);
    }
    if (c->ctx)
        SSL_CTX_free(c->ctx);
    if (c->fd >= 0)
        close(c->fd);
    c->ssl = NULL;
    c->ctx = NULL;
    c->fd = -1;
}
