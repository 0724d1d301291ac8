/*
 * input_http.c - traild's HTTP server: libmicrohttpd (a pool of threads,
 * each with its own epoll loop) set up and stopped as an input plug-in
 * ([listen] http, with HTTPS from tls_http.c), its connections and their
 * limits (per peer, in all, the request-head deadline), and each
 * request's way to a route: framing checks, the route table (routes.c),
 * authentication, the query and body limits, then the handler.
 *
 * Each route declares the role it needs (auth.h); with tokens or client
 * certificates configured, a request without credentials is answered 401
 * with WWW-Authenticate, one whose role is too small 403, and both are
 * recorded as trail_auth_failed events (rate limited). /healthz and the
 * viewer's static files are open.
 *
 * A POST route's handler gets the whole body. A request a handler parks
 * (http_park, while its batch is in ingest) is resumed by http_unpark, and
 * its answer is sent then; stopping waits for every parked request.
 *
 * Not here: the routes (routes.c and routes_*.c, query_http.c,
 * viewer_http.c), the body's structure (http_body.c), decoding (decode.c).
 */
#include "core/auth.h"
#include "core/connlimit.h"
#include "core/json_out.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/traild.h"
#include "http/answer.h"
#include "http/query_http.h"
#include "http/routes.h"
#include "http/tickets.h"
#include "http/tiles_http.h"
#include "http/tls_http.h"
#include "http/viewer_http.h"
#include "inputs/input.h"

#include <microhttpd.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RETRY_AFTER_S "1"
#define WATCH_MS      250 /* how often the header deadline is checked */

/*
 * One connection, from libmicrohttpd's STARTED to its CLOSED notification
 * (on_connection), for the request-head deadline and for making room.
 * Guarded by http_input.conns_lock; fd stays open until CLOSED, which takes
 * that lock, so a shutdown() under the lock never reaches a reused fd.
 */
struct hconn {
    MHD_socket fd;
    struct sockaddr_storage sa;
    char peer[80];
    int64_t wait_since_ms; /* monotonic: waiting for a request head since; 0 while serving one */
    int doomed;            /* shut down by traild, CLOSED not yet seen */
    struct hconn *prev, *next;
};

/* The server: one per [listen] http. */
struct http_input {
    struct MHD_Daemon *mhd;
    atomic_int stopping;
    pthread_mutex_t lock;
    pthread_cond_t idle_cv;
    int parked;           /* requests suspended in ingest */
    struct tls_http *tls; /* [listen] http_tls, or NULL */
    atomic_int n_streams; /* event streams open, against [limits] max_streams */
    /* connections (struct hconn), newest first; live: those not doomed */
    pthread_mutex_t conns_lock;
    struct hconn *conns;
    uint32_t live;
    pthread_cond_t watch_cv; /* the header deadline's thread (watch) */
    pthread_t watch;
    int watch_started, watch_stop;
    MHD_socket quiesced_fd; /* the listening socket once quiesced, closed at free */
};

/* ---- answers ---- */

static enum MHD_Result send_buf(struct MHD_Connection *conn, int status, const char *type,
                                struct trail_buf *b, int retry_after, int close)
{
    struct MHD_Response *resp = answer_take(b);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (retry_after)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, RETRY_AFTER_S);
    if (close) /* MHD closes the connection once this answer is sent */
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result r = answer_queue(conn, status, resp);
    if (status == 503)
        atomic_fetch_add_explicit(&metrics.http_503, 1, memory_order_relaxed);
    return r;
}

/* Prepare {"error":"..."} (plus extra JSON members) as the answer. */
int http_answer_error(struct req *rq, int status, const char *msg)
{
    trail_buf_reset(&rq->answer);
    if (json_printf(&rq->answer, "{\"error\":") < 0 || json_str(&rq->answer, msg, (size_t)-1) < 0 ||
        json_printf(&rq->answer, "}\n") < 0)
        return -ENOMEM;
    rq->status = status;
    rq->answered = 1;
    return 0;
}

const char *http_header(struct MHD_Connection *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

int http_stopping(const struct req *rq)
{
    return atomic_load(&rq->h->stopping);
}

void http_park(struct req *rq)
{
    pthread_mutex_lock(&rq->h->lock);
    rq->h->parked++;
    pthread_mutex_unlock(&rq->h->lock);
    MHD_suspend_connection(rq->conn);
}

void http_unpark(struct req *rq)
{
    struct http_input *h = rq->h;
    MHD_resume_connection(rq->conn);
    pthread_mutex_lock(&h->lock);
    if (--h->parked == 0)
        pthread_cond_broadcast(&h->idle_cv);
    pthread_mutex_unlock(&h->lock);
}

/* ---- dispatch ---- */

static enum MHD_Result send_answer(struct req *rq)
{
    const char *type = rq->route && rq->route->type ? rq->route->type : "application/json";
    return send_buf(rq->conn, rq->status, type, &rq->answer, rq->status == 503, rq->close);
}

/* "http:HOST:PORT" of sa into out, and HOST alone into addr when not NULL. */
static void addr_name(const struct sockaddr *sa, char *out, size_t n, char *addr, size_t addrlen)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (sa) {
        if (sa->sa_family == AF_INET) {
            const struct sockaddr_in *s = (const void *)sa;
            inet_ntop(AF_INET, &s->sin_addr, host, sizeof(host));
            port = ntohs(s->sin_port);
        } else if (sa->sa_family == AF_INET6) {
            const struct sockaddr_in6 *s = (const void *)sa;
            inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof(host));
            port = ntohs(s->sin6_port);
        }
    }
    snprintf(out, n, "http:%s:%u", host, port);
    if (addr)
        snprintf(addr, addrlen, "%s", host);
}

static void peer_of(struct MHD_Connection *conn, char *out, size_t n, char *addr, size_t addrlen)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    addr_name(ci ? ci->client_addr : NULL, out, n, addr, addrlen);
}

/* 401 (with WWW-Authenticate, RFC 6750) or 403, and the refusal recorded. */
static enum MHD_Result refuse(struct req *rq, const struct config *cfg,
                              const struct auth_result *ar, const char *method, const char *url)
{
    auth_refused(cfg, ar, rq->addr, method, url);
    http_answer_error(rq, ar->status, ar->error);
    struct MHD_Response *resp = answer_take(&rq->answer);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    const char *challenge =
        ar->status == 403               ? "Bearer realm=\"trail\", error=\"insufficient_scope\""
        : ar->outcome == AUTH_BAD_TOKEN ? "Bearer realm=\"trail\", error=\"invalid_token\""
                                        : "Bearer realm=\"trail\"";
    MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, challenge);
    return answer_queue(rq->conn, ar->status, resp);
}

/*
 * The query routes' limits, checked before query_http.c sees the request:
 * limit= over [limits] max_query_limit (400), and a stream over
 * max_streams (503). 0 when the request may go on, else answered.
 */
static int query_limits(struct req *rq, const struct config *cfg)
{
    const char *lim = MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, "limit");
    if (lim && strcmp(rq->route->path, "/v1/events") == 0) {
        char *end;
        unsigned long long n = strtoull(lim, &end, 10);
        /* limit=0 asks for the largest page, which the cap bounds */
        int number = *lim && *lim != '-' && !*end;
        if (number && (n > cfg->max_query_limit || (n == 0 && cfg->max_query_limit < 10000))) {
            char msg[200];
            snprintf(msg, sizeof(msg),
                     "limit %s is over the largest page of %u events ([limits] "
                     "max_query_limit); page with the cursor",
                     lim, cfg->max_query_limit);
            http_answer_error(rq, 400, msg);
            return 1;
        }
    }
    if (strcmp(rq->route->path, "/v1/events/stream") == 0) {
        int n = atomic_fetch_add(&rq->h->n_streams, 1);
        rq->counted_stream = 1;
        if ((uint32_t)n >= cfg->max_streams) {
            char msg[200];
            snprintf(msg, sizeof(msg),
                     "%d event streams are open, the most allowed ([limits] "
                     "max_streams); try again later",
                     n);
            log_rejected("http", rq->peer, "%s", msg);
            http_answer_error(rq, 503, msg);
            return 1;
        }
    }
    return 0;
}

/* What count_framing() found among a request's headers. */
struct framing {
    int n_length, n_encoding;
    int other_encoding; /* a Transfer-Encoding other than chunked */
};

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    struct framing *f = cls;
    (void)kind;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
        f->n_length++;
    else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        f->n_encoding++;
        f->other_encoding |= !value || strcasecmp(value, "chunked") != 0;
    }
    return MHD_YES;
}

/*
 * A request whose length a proxy in front and traild could read differently
 * (RFC 9112 section 6.3: request smuggling): both Content-Length and
 * Transfer-Encoding, several Content-Length headers, or a Transfer-Encoding
 * other than one "chunked". NULL when its framing is plain.
 */
static const char *framing_problem(struct MHD_Connection *conn)
{
    struct framing f = {0};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, count_framing, &f);
    if (f.n_length && f.n_encoding)
        return "both Content-Length and Transfer-Encoding";
    if (f.n_length > 1)
        return "more than one Content-Length";
    if (f.n_encoding > 1 || f.other_encoding)
        return "a Transfer-Encoding other than chunked";
    return NULL;
}

/* ---- connections: per-peer limits, the request-head deadline, making room ---- */

/*
 * libmicrohttpd 0.9.75 has no deadline for a request head: its connection
 * timeout ([limits] http_timeout_s) counts inactivity, so a client that
 * sends a byte every few seconds keeps a connection forever, and a
 * thousand of them fill max_connections (slowloris). So traild keeps its
 * own table of connections: libmicrohttpd tells it each connection's start
 * and end (MHD_OPTION_NOTIFY_CONNECTION) and socket, on_request marks when
 * a request's head has arrived, on_completed when the connection waits for
 * the next one, and a thread (watch) shuts down the socket of every
 * connection that has waited longer than [limits] http_header_timeout_s;
 * libmicrohttpd then sees the end of the stream and closes it as usual.
 * That keeps libmicrohttpd's own listener and threads (rather than
 * accepting sockets here and handing them over with MHD_add_connection,
 * which would duplicate its listen, quiesce and TLS handling).
 *
 * The same table makes room: at max_connections a new connection (checked
 * in on_accept, libmicrohttpd's accept policy callback, before it
 * counts it) takes the place of the connection that has waited longest for
 * a request head. A request whose head has arrived is never shed, so a
 * client that sends its request at once (a probe of /healthz, any client
 * with a token) is served however many slow connections there are; the
 * slow ones are what gives way. libmicrohttpd's own limit is set above
 * max_connections (HTTP_SLACK) so that connections shut down but not yet
 * closed do not make it stop accepting.
 */
#define HTTP_SLACK(max) ((max) / 4 > 64 ? (max) / 4 : 64)

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Shut hc's socket down (libmicrohttpd closes it); conns_lock held. */
static void doom(struct http_input *h, struct hconn *hc, int reason)
{
    shutdown(hc->fd, SHUT_RDWR);
    hc->doomed = 1;
    h->live--;
    connlimit_shed(IN_HTTP, reason, hc->peer);
}

/* MHD_OPTION_ACCEPT_POLICY_CALLBACK: the peer's limit, then room for one more. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    struct http_input *h = cls;
    const struct config *cfg = traild_config();
    char peer[80];
    (void)addrlen;
    addr_name(addr, peer, sizeof(peer), NULL, 0);
    if (cfg->connections_per_peer && connlimit_count(IN_HTTP, addr) >= cfg->connections_per_peer) {
        connlimit_refused(IN_HTTP, CR_PER_PEER, peer);
        return MHD_NO;
    }
    enum MHD_Result ok = MHD_YES;
    pthread_mutex_lock(&h->conns_lock);
    if (h->live >= cfg->max_connections) {
        struct hconn *oldest = NULL;
        for (struct hconn *hc = h->conns; hc; hc = hc->next)
            if (!hc->doomed && hc->wait_since_ms &&
                (!oldest || hc->wait_since_ms <= oldest->wait_since_ms))
                oldest = hc;
        if (oldest)
            doom(h, oldest, CS_CAPACITY);
        else
            ok = MHD_NO;
    }
    pthread_mutex_unlock(&h->conns_lock);
    if (!ok)
        connlimit_refused(IN_HTTP, CR_FULL, peer);
    return ok;
}

/* The connection's entry in the table, or NULL. */
static struct hconn *hconn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* A request's head has arrived (since_ms 0), or the connection waits for the next one. */
static void set_waiting(struct http_input *h, struct MHD_Connection *conn, int64_t since_ms)
{
    struct hconn *hc = hconn_of(conn);
    if (!hc)
        return;
    pthread_mutex_lock(&h->conns_lock);
    hc->wait_since_ms = since_ms;
    pthread_mutex_unlock(&h->conns_lock);
}

/*
 * Connections opened and closed: the table, the gauge and the peer's
 * count. CLOSED comes before libmicrohttpd closes the socket.
 */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct http_input *h = cls;
    struct hconn *hc = *socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        atomic_fetch_add(&metrics.connections[IN_HTTP], 1);
        const union MHD_ConnectionInfo *fd =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *ca =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (!fd || !ca || !ca->client_addr || !(hc = calloc(1, sizeof(*hc))))
            return; /* untracked: no deadline, never shed (only without memory) */
        hc->fd = fd->connect_fd;
        size_t len = ca->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                            : sizeof(struct sockaddr_in);
        memcpy(&hc->sa, ca->client_addr, len);
        addr_name(ca->client_addr, hc->peer, sizeof(hc->peer), NULL, 0);
        hc->wait_since_ms = mono_ms();
        connlimit_add(IN_HTTP, (struct sockaddr *)&hc->sa);
        pthread_mutex_lock(&h->conns_lock);
        hc->next = h->conns;
        if (h->conns)
            h->conns->prev = hc;
        h->conns = hc;
        h->live++;
        pthread_mutex_unlock(&h->conns_lock);
        *socket_context = hc;
    } else {
        atomic_fetch_sub(&metrics.connections[IN_HTTP], 1);
        if (!hc)
            return;
        pthread_mutex_lock(&h->conns_lock);
        if (hc->prev)
            hc->prev->next = hc->next;
        else
            h->conns = hc->next;
        if (hc->next)
            hc->next->prev = hc->prev;
        if (!hc->doomed)
            h->live--;
        pthread_mutex_unlock(&h->conns_lock);
        connlimit_release(IN_HTTP, (struct sockaddr *)&hc->sa);
        free(hc);
        *socket_context = NULL;
    }
}

/* The header deadline: shut down connections that waited too long for a request head. */
static void *watch(void *arg)
{
    struct http_input *h = arg;
    pthread_setname_np(pthread_self(), "http-deadline");
    pthread_mutex_lock(&h->conns_lock);
    while (!h->watch_stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += WATCH_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&h->watch_cv, &h->conns_lock, &until);
        int64_t now = mono_ms(), limit = (int64_t)traild_config()->http_header_timeout_s * 1000;
        for (struct hconn *hc = h->conns; hc; hc = hc->next)
            if (!hc->doomed && hc->wait_since_ms && now - hc->wait_since_ms >= limit)
                doom(h, hc, CS_HEADER_TIMEOUT);
    }
    pthread_mutex_unlock(&h->conns_lock);
    return NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct http_input *h = cls;
    struct req *rq = *con_cls;
    (void)version;
    if (!rq) {
        set_waiting(h, conn, 0); /* the head is complete: no deadline while it is served */
        rq = calloc(1, sizeof(*rq));
        if (!rq)
            return MHD_NO;
        rq->h = h;
        rq->conn = conn;
        rq->url = url;
        peer_of(conn, rq->peer, sizeof(rq->peer), rq->addr, sizeof(rq->addr));
        provenance_init(&rq->pv, IN_HTTP, NULL);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci && ci->client_addr)
            provenance_peer(&rq->pv, ci->client_addr, -1);
        *con_cls = rq;
        const char *bad_framing = framing_problem(conn);
        if (bad_framing) {
            char msg[160];
            snprintf(msg, sizeof(msg), "refused: the request has %s (its length is ambiguous)",
                     bad_framing);
            log_rejected("http", rq->peer, "%s", msg);
            rq->close = 1; /* nothing after it on this connection is read */
            http_answer_error(rq, 400, msg);
            return send_answer(rq);
        }
        int path_known = 0;
        for (size_t i = 0; i < http_n_routes; i++) {
            if (strcmp(url, http_routes[i].path) != 0)
                continue;
            path_known = 1;
            if (strcmp(method, http_routes[i].method) == 0 ||
                (strcmp(method, "HEAD") == 0 && strcmp(http_routes[i].method, "GET") == 0))
                rq->route = &http_routes[i];
        }
        if (!rq->route && !path_known && reports_http_path(url)) {
            path_known = 1;
            for (size_t i = 0; i < http_n_report_routes; i++)
                if (strcmp(method, http_report_routes[i].method) == 0 ||
                    (strcmp(method, "HEAD") == 0 && i == 0))
                    rq->route = &http_report_routes[i]; /* a name in the path (routes.c) */
        }
        if (!rq->route && !path_known && tiles_http_path(url) &&
            (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0))
            rq->route = &http_tile_route; /* every /tile/... path (routes.c) */
        enum MHD_Result asset_result;
        if (!rq->route && !path_known && viewer_asset_answer(conn, method, url, &asset_result))
            return asset_result; /* the web viewer's files */
        if (!rq->route) {
            http_answer_error(rq, path_known ? 405 : 404,
                              path_known ? "method not allowed on this path" : "no such path");
            return send_answer(rq);
        }
        {
            const struct config *cfg = traild_config();
            const char *authorization = http_header(conn, MHD_HTTP_HEADER_AUTHORIZATION);
            struct auth_peer_cert cert, *certp = NULL;
            /* a token decides alone: the certificate is read only without one */
            if (h->tls && !authorization && auth_enabled(cfg) && rq->route->need != AUTH_OPEN) {
                tls_http_peer(conn, &cert);
                certp = &cert;
            }
            struct auth_result ar;
            /* a link to a download (an export, a report run) carries a one-use
             * ticket bound to its path instead of a token (tickets.h) */
            const char *ticket =
                strcmp(method, "GET") == 0 && rq->route->need == ROLE_READ
                    ? MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "ticket")
                    : NULL;
            if (ticket && ticket_take(ticket, url, ar.who, sizeof(ar.who))) {
                ar.status = 0;
                ar.role = ROLE_READ;
            } else
                auth_check(cfg, rq->route->need, authorization, certp, &ar);
            if (ar.status)
                return refuse(rq, cfg, &ar, method, url);
            /* "token NAME" or "certificate SUBJECT": who the records say sent them */
            snprintf(rq->pv.principal, sizeof(rq->pv.principal), "%s", ar.who);
            rq->role = ar.role;
            if (rq->route->query && query_limits(rq, cfg))
                return send_answer(rq);
        }
        if (rq->route->has_body) {
            const struct config *cfg = traild_config();
            const char *cl = http_header(conn, MHD_HTTP_HEADER_CONTENT_LENGTH);
            if (cl && strtoull(cl, NULL, 10) > cfg->max_body_bytes) {
                char msg[160];
                snprintf(msg, sizeof(msg), "request body of %s bytes is over the limit of %llu", cl,
                         (unsigned long long)cfg->max_body_bytes);
                reject_item(IN_HTTP, TRAIL_E_TOO_LARGE, rq->peer, msg);
                http_answer_error(rq, 413, msg);
                return send_answer(rq);
            }
        }
        return MHD_YES; /* the body (if any) comes in the next calls */
    }
    if (*upload_data_size) {
        const struct config *cfg = traild_config();
        if (!rq->too_large && rq->body.len + *upload_data_size > cfg->max_body_bytes)
            rq->too_large = 1;
        if (!rq->too_large && trail_buf_append(&rq->body, upload_data, *upload_data_size) < 0)
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (rq->answered) {
        if (rq->ingested) { /* resumed after ingest */
            rq->ingested = 0;
            route_post_answer(rq, rq->batch.status);
        }
        return send_answer(rq); /* or answered right away */
    }
    if (rq->too_large) {
        char msg[160];
        snprintf(msg, sizeof(msg), "request body is over the limit of %llu bytes",
                 (unsigned long long)traild_config()->max_body_bytes);
        reject_item(IN_HTTP, TRAIL_E_TOO_LARGE, rq->peer, msg);
        http_answer_error(rq, 413, msg);
        return send_answer(rq);
    }
    int r = rq->route->fn(rq);
    if (r == 1)
        return MHD_YES; /* parked in ingest; rq is post_done's until it resumes us */
    if (r == 2)
        return rq->queued;
    if (r < 0)
        http_answer_error(rq, 500, trail_strerror(r));
    return send_answer(rq);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct req *rq = *con_cls;
    (void)toe;
    set_waiting(cls, conn, mono_ms()); /* kept alive: the next request head's deadline runs */
    if (!rq)
        return;
    if (rq->counted_stream)
        atomic_fetch_sub(&rq->h->n_streams, 1);
    route_post_free(rq);
    trail_buf_free(&rq->body);
    trail_buf_free(&rq->answer);
    free(rq);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n')
        msg[--n] = '\0';
    log_msg(LOG_WARN, "http: %s", msg);
}

/* ---- the input ---- */

static int enabled(const struct config *cfg)
{
    return cfg->http != NULL;
}

static void free_input(void *state);

static int start(const struct config *cfg, void **ret_state, char *err, size_t errlen)
{
    char host[256], port[8];
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    if (config_split_addr(cfg->http, host, sizeof(host), port, sizeof(port)) < 0 ||
        getaddrinfo(host[0] ? host : NULL, port, &hints, &ai) != 0) {
        snprintf(err, errlen, "cannot resolve %s", cfg->http);
        return -EINVAL;
    }
    struct http_input *h = calloc(1, sizeof(*h));
    if (!h) {
        freeaddrinfo(ai);
        return -ENOMEM;
    }
    if (cfg->http_tls) {
        int r = tls_http_load(cfg, &h->tls, err, errlen);
        if (r < 0) {
            freeaddrinfo(ai);
            free(h);
            return r;
        }
    }
    static const struct MHD_OptionItem no_tls[] = {{MHD_OPTION_END, 0, NULL}};
    h->quiesced_fd = MHD_INVALID_SOCKET;
    pthread_mutex_init(&h->lock, NULL);
    pthread_mutex_init(&h->conns_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->watch_cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&h->idle_cv, NULL);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (h->tls)
        flags |= MHD_USE_TLS;
    /* the logger option first, so that MHD never prints on its own */
    h->mhd = MHD_start_daemon(
        flags, (uint16_t)atoi(port), on_accept, h, on_request, h, MHD_OPTION_EXTERNAL_LOGGER,
        mhd_log, h, MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)cfg->http_threads, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)(cfg->max_connections + HTTP_SLACK(cfg->max_connections)),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(128 * 1024), MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)cfg->http_timeout_s, MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_NOTIFY_CONNECTION, on_connection,
        h, MHD_OPTION_UNESCAPE_CALLBACK, query_http_unescape, NULL, MHD_OPTION_ARRAY,
        h->tls ? h->tls->opts : no_tls, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!h->mhd) {
        snprintf(err, errlen, "cannot listen on %s (address in use or not available)", cfg->http);
        free_input(h);
        return -EADDRINUSE;
    }
    if (pthread_create(&h->watch, NULL, watch, h) != 0) {
        snprintf(err, errlen, "cannot start the request-head deadline's thread");
        free_input(h);
        return -ENOMEM;
    }
    h->watch_started = 1;
    log_msg(LOG_INFO, "http: %s (%u threads%s%s)", cfg->http, cfg->http_threads,
            h->tls ? ", TLS" : "", h->tls && cfg->tls_http_ca ? " with client certificates" : "");
    if (!auth_enabled(cfg))
        log_msg(auth_is_loopback(host) ? LOG_INFO : LOG_WARN,
                "http: no [tokens] and no [client_certs]: authentication is off, every route is "
                "open to whoever reaches %s",
                cfg->http);
    *ret_state = h;
    return 0;
}

static void stop(void *state)
{
    struct http_input *h = state;
    /* no new connections; new requests answer 503; parked ones finish */
    atomic_store(&h->stopping, 1);
    /*
     * Quiescing hands the listening socket to us, but MHD's threads may still
     * be taking it out of their epoll sets: it is closed once they are gone,
     * after MHD_stop_daemon (ThreadSanitizer saw the race).
     */
    h->quiesced_fd = MHD_quiesce_daemon(h->mhd);
    pthread_mutex_lock(&h->lock);
    while (h->parked > 0)
        pthread_cond_wait(&h->idle_cv, &h->lock);
    pthread_mutex_unlock(&h->lock);
    query_http_stop(); /* event streams end */
}

static void free_input(void *state)
{
    struct http_input *h = state;
    if (!h)
        return;
    if (h->watch_started) {
        pthread_mutex_lock(&h->conns_lock);
        h->watch_stop = 1;
        pthread_cond_signal(&h->watch_cv);
        pthread_mutex_unlock(&h->conns_lock);
        pthread_join(h->watch, NULL);
    }
    if (h->mhd)
        MHD_stop_daemon(h->mhd);
    if (h->quiesced_fd != MHD_INVALID_SOCKET)
        close(h->quiesced_fd);
    if (h->mhd)
        query_http_free(); /* the query index, before the store closes */
    route_info_free();
    tls_http_free(h->tls);
    pthread_mutex_destroy(&h->lock);
    pthread_cond_destroy(&h->idle_cv);
    pthread_mutex_destroy(&h->conns_lock);
    pthread_cond_destroy(&h->watch_cv);
    free(h);
}

const struct input_ops input_http_ops = {
    .name = "http", .enabled = enabled, .start = start, .stop = stop, .free = free_input};
