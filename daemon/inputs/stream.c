/*
 * stream.c - event loops and the stream/datagram servers of the socket
 * inputs (see stream.h for the contract).
 *
 * Everything about a connection happens on its loop's thread. The only
 * other thread involved is ingest's writer, which completes batches: it
 * queues them on the loop and wakes it (event_active), and the loop then
 * frees the events and resumes reading where backpressure had paused it.
 *
 *   read -> frame (RFC 6587) -> decode + validate -> pending events
 *        -> batch (batch_size, or what one read brought) -> ingest
 *   ingest done -> loop: in-flight - 1, free, resume reading
 *
 * Not here: the choice of addresses and formats (input_*.c).
 */
#include "inputs/stream.h"

#include "core/connlimit.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/traild.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_INFLIGHT 64 /* batches one connection may have in ingest */
/*
 * ... and events: a read takes up to READ_MAX (some 570 syslog messages),
 * so batches are larger than SUBMIT_EVENTS and 64 of them would hold twice
 * the events, and their memory, that 64 batches of 256 did.
 */
#define MAX_INFLIGHT_EVENTS 16384
#define SUBMIT_EVENTS       256 /* events after which a read's events are submitted at once */
#define UDP_INFLIGHT        16  /* the same for a UDP socket */
#define UDP_PER_WAKEUP      256 /* datagrams read per readiness */
#define UDP_MAX             65536
#define READ_MAX            262144 /* bytes one read may take from a plain stream socket */
/* libevent 2.1's bufferevent reads at most this much a read (buffer.c, EVBUFFER_MAX_READ) */
#define LIBEVENT_READ  4096
#define PAUSE_INFLIGHT 1
#define PAUSE_QUEUE    2
#define PAUSE_STOP     4
/*
 * Connections past max_connections that may be in transit to their loop,
 * each to take the place of an idle one there: past this many more, a new
 * connection is refused at once.
 */
#define SHED_SLACK 64

struct conn_batch;
struct stream_server;

/* A connection accepted on one loop and given to a server on another. */
struct handoff {
    struct stream_server *srv;
    int input; /* srv->o.input, for when srv is gone */
    int fd;
    int make_room; /* over max_connections: an idle connection must give way to it */
    char peer[96];
    struct sockaddr_storage sa; /* counted in connlimit */
    struct handoff *next;
};

/* Servers on several loops sharing one listening socket (a spread: spread_fd). */
struct stream_group {
    int n;
    struct stream_server *srv[STREAM_LOOPS_MAX];
    atomic_uint next; /* round robin */
};

struct loop {
    struct event_base *base;
    pthread_t thread;
    char name[32];
    int index;          /* in its loop set: the metrics' loop label */
    struct event *wake; /* completions or room: run on the loop */
    pthread_mutex_t lock;
    struct conn_batch *done_head, *done_tail; /* completed by ingest */
    struct handoff *in_head, *in_tail;        /* connections another loop accepted for this one */
    int room;                                 /* ingest has room again */
    struct stream_server *servers;            /* for room: resume paused connections */
};

struct conn {
    struct stream_server *srv;
    struct bufferevent *bev; /* NULL for UDP, and once the socket is closed */
    char peer[96];
    struct provenance pv;       /* the connection's input and peer, for every event it brings */
    struct sockaddr_storage sa; /* the peer's address, counted in connlimit */
    int64_t last_read_ms;       /* monotonic: when it last brought bytes (or connected) */
    size_t kept;      /* bytes of the input buffer conn_process left (a partial message) */
    size_t read_high; /* the input buffer's read high watermark */
    struct trail_syslog_framer fr;
    struct trail_event **pending; /* decoded and validated, not yet submitted */
    size_t n_pending, cap_pending;
    int inflight;
    size_t inflight_events; /* of those batches */
    int paused;             /* PAUSE_* bits */
    int closed;             /* the socket is gone; free once nothing is in flight or pending */
    struct conn *prev, *next;
};

struct conn_batch {
    struct ingest_batch b;
    size_t cap; /* of b.events */
    struct conn *conn;
    struct conn_batch *next;
};

struct stream_server {
    struct loop *loop;
    struct stream_opts o;
    int kind; /* SOCK_STREAM or SOCK_DGRAM */
    struct evconnlistener *listener;
    char *unix_path;
    int udp_fd;
    struct event *udp_ev;
    struct conn *udp; /* the one "connection" of a UDP server */
    char *udp_buf;
    struct conn *conns; /* stream connections */
    uint32_t n_conns;
    int stopping;
    pthread_mutex_t stop_lock;
    pthread_cond_t stop_cv;
    int drained;
    struct stream_server *next_in_loop;
    _Atomic(struct stream_group *) group; /* or NULL */
};

static struct event_base *loop_base_of(struct stream_server *srv)
{
    return srv->loop->base;
}

/* ---- loops ---- */

static pthread_once_t evthread_once = PTHREAD_ONCE_INIT;

static void use_pthreads(void)
{
    evthread_use_pthreads();
}

static void conn_completed(struct conn_batch *cb);
static void server_room(struct stream_server *srv);
static void conn_accept(struct stream_server *srv, evutil_socket_t fd, const char *peer,
                        const struct sockaddr *sa, int make_room);

static void loop_wake(evutil_socket_t fd, short what, void *arg)
{
    struct loop *l = arg;
    (void)fd, (void)what;
    pthread_mutex_lock(&l->lock);
    struct conn_batch *list = l->done_head;
    l->done_head = l->done_tail = NULL;
    int room = l->room;
    l->room = 0;
    struct handoff *in = l->in_head;
    l->in_head = l->in_tail = NULL;
    pthread_mutex_unlock(&l->lock);
    while (list) {
        struct conn_batch *next = list->next;
        conn_completed(list);
        list = next;
    }
    while (in) {
        struct handoff *next = in->next;
        conn_accept(in->srv, in->fd, in->peer, (struct sockaddr *)&in->sa, in->make_room);
        free(in);
        in = next;
    }
    if (room)
        for (struct stream_server *s = l->servers; s; s = s->next_in_loop)
            server_room(s);
}

static void loop_room(void *arg)
{
    struct loop *l = arg;
    pthread_mutex_lock(&l->lock);
    l->room = 1;
    pthread_mutex_unlock(&l->lock);
    event_active(l->wake, EV_READ, 0);
}

static void *loop_run(void *arg)
{
    struct loop *l = arg;
    pthread_setname_np(pthread_self(), l->name);
    event_base_loop(l->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

static int loop_start(const char *name, int index, struct loop **ret_loop)
{
    pthread_once(&evthread_once, use_pthreads);
    struct loop *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    snprintf(l->name, sizeof(l->name), "%s", name);
    l->index = index;
    pthread_mutex_init(&l->lock, NULL);
    l->base = event_base_new();
    if (!l->base)
        goto fail;
    l->wake = event_new(l->base, -1, EV_PERSIST, loop_wake, l);
    if (!l->wake)
        goto fail;
    ingest_on_room(traild.ingest, loop_room, l);
    if (pthread_create(&l->thread, NULL, loop_run, l) != 0)
        goto fail;
    *ret_loop = l;
    return 0;
fail:
    if (l->wake)
        event_free(l->wake);
    if (l->base)
        event_base_free(l->base);
    free(l);
    return -ENOMEM;
}

static void loop_stop(struct loop *l)
{
    if (!l)
        return;
    ingest_off_room(traild.ingest, loop_room, l);
    event_base_loopbreak(l->base);
    pthread_join(l->thread, NULL);
}

static void loop_free(struct loop *l)
{
    if (!l)
        return;
    for (struct handoff *h = l->in_head, *next; h; h = next) { /* came after the stop */
        next = h->next;
        atomic_fetch_sub(&metrics.connections[h->input], 1);
        connlimit_release(h->input, (struct sockaddr *)&h->sa);
        evutil_closesocket(h->fd);
        free(h);
    }
    event_free(l->wake);
    event_base_free(l->base);
    pthread_mutex_destroy(&l->lock);
    free(l);
}

int loop_set_size(uint32_t configured)
{
    int n = (int)configured;
    if (n == 0) {
        cpu_set_t set;
        n = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
    }
    return n < 1 ? 1 : n > STREAM_LOOPS_MAX ? STREAM_LOOPS_MAX : n;
}

int loop_set_start(struct loop_set *ls, const char *name, int n, char *err, size_t errlen)
{
    memset(ls, 0, sizeof(*ls));
    if (n < 1 || n > STREAM_LOOPS_MAX)
        n = n < 1 ? 1 : STREAM_LOOPS_MAX;
    for (; ls->n < n; ls->n++) {
        char thread[16]; /* a thread's name: 15 bytes at most */
        if (ls->n)
            snprintf(thread, sizeof(thread), "%.13s%c", name, '0' + ls->n);
        else
            snprintf(thread, sizeof(thread), "%.15s", name);
        int r = loop_start(thread, ls->n, &ls->loop[ls->n]);
        if (r < 0) {
            snprintf(err, errlen, "cannot start the event loop");
            loop_set_stop(ls);
            loop_set_free(ls);
            return r;
        }
    }
    return 0;
}

void loop_set_stop(struct loop_set *ls)
{
    for (int i = 0; i < ls->n; i++)
        loop_stop(ls->loop[i]);
}

void loop_set_free(struct loop_set *ls)
{
    for (int i = 0; i < ls->n; i++)
        loop_free(ls->loop[i]);
    memset(ls, 0, sizeof(*ls));
}

/* ---- connections ---- */

static void conn_process(struct conn *c);
static void conn_close(struct conn *c, const char *why);

static void set_paused(struct conn *c, int bit, int on)
{
    int before = c->paused;
    c->paused = on ? c->paused | bit : c->paused & ~bit;
    if (!before == !c->paused)
        return;
    if (c->paused) {
        atomic_fetch_add(&metrics.paused[c->srv->o.input], 1);
        if (c->bev)
            bufferevent_disable(c->bev, EV_READ);
        else if (c->srv->udp_ev)
            event_del(c->srv->udp_ev);
    } else if (!c->srv->stopping) {
        /* while stopping, what was read is still processed, but nothing more is read */
        if (c->bev)
            bufferevent_enable(c->bev, EV_READ);
        else if (c->srv->udp_ev && !c->closed)
            event_add(c->srv->udp_ev, NULL);
    }
}

static void conn_free(struct conn *c)
{
    struct stream_server *srv = c->srv;
    if (c->bev)
        bufferevent_free(c->bev);
    for (size_t i = 0; i < c->n_pending; i++)
        decoded_release(c->pending[i]);
    free(c->pending);
    if (srv->kind == SOCK_STREAM) {
        if (c->prev)
            c->prev->next = c->next;
        else
            srv->conns = c->next;
        if (c->next)
            c->next->prev = c->prev;
        srv->n_conns--;
        atomic_fetch_sub(&metrics.connections[srv->o.input], 1);
        connlimit_release(srv->o.input, (struct sockaddr *)&c->sa);
    }
    free(c);
}

/* Is the server stopping and now has nothing left in flight? Tell stream_server_stop. */
static void check_drained(struct stream_server *srv)
{
    if (!srv->stopping)
        return;
    if (srv->udp && (srv->udp->inflight || srv->udp->n_pending))
        return;
    for (struct conn *c = srv->conns; c; c = c->next)
        if (c->inflight || c->n_pending)
            return;
    pthread_mutex_lock(&srv->stop_lock);
    srv->drained = 1;
    pthread_cond_signal(&srv->stop_cv);
    pthread_mutex_unlock(&srv->stop_lock);
}

static void batch_done(struct ingest_batch *b)
{
    struct conn_batch *cb = b->arg;
    struct loop *l = cb->conn->srv->loop;
    pthread_mutex_lock(&l->lock);
    cb->next = NULL;
    if (l->done_tail)
        l->done_tail->next = cb;
    else
        l->done_head = cb;
    l->done_tail = cb;
    pthread_mutex_unlock(&l->lock);
    event_active(l->wake, EV_READ, 0);
}

/* Hand the pending events to ingest; pause reading when that cannot be done now. */
static void conn_submit(struct conn *c)
{
    if (c->n_pending == 0)
        return;
    int max = c->bev || c->srv->kind == SOCK_STREAM ? MAX_INFLIGHT : UDP_INFLIGHT;
    if (c->inflight >= max || (c->inflight && c->inflight_events >= MAX_INFLIGHT_EVENTS)) {
        set_paused(c, PAUSE_INFLIGHT, 1);
        return;
    }
    struct conn_batch *cb = calloc(1, sizeof(*cb));
    if (!cb) {
        set_paused(c, PAUSE_INFLIGHT, 1); /* try again when something completes */
        return;
    }
    cb->conn = c;
    cb->b.events = c->pending;
    cb->b.n = c->n_pending;
    cb->cap = c->cap_pending;
    cb->b.input = c->srv->o.input;
    cb->b.retry = 1; /* a stream cannot tell its sender: hold on through store failures */
    cb->b.done = batch_done;
    cb->b.arg = cb;
    int r = ingest_submit(traild.ingest, &cb->b, 0);
    if (r == -EAGAIN) {
        free(cb);
        set_paused(c, PAUSE_QUEUE, 1);
        return;
    }
    if (r < 0) {
        /* ingest is closed: only during shutdown, after inputs stopped; say so */
        for (size_t i = 0; i < c->n_pending; i++) {
            reject_item(c->srv->o.input, r, c->peer, "traild is shutting down");
            decoded_release(c->pending[i]);
        }
        free(c->pending);
        free(cb);
    } else {
        c->inflight++;
        c->inflight_events += c->n_pending;
    }
    c->pending = NULL;
    c->n_pending = c->cap_pending = 0;
    set_paused(c, PAUSE_QUEUE, 0);
}

/*
 * After a read: hand the pending events over now when nothing of this
 * connection is in ingest (latency) or when they are SUBMIT_EVENTS or more,
 * else let them gather until a batch of the connection completes
 * (conn_completed submits them). Submitting appends to the store on this
 * thread, so a batch is appended while its events are still in the CPU's
 * cache; the group commit gathers every batch appended while a sync runs.
 */
static void conn_flush(struct conn *c)
{
    if (c->inflight == 0 || c->n_pending >= SUBMIT_EVENTS || c->srv->stopping)
        conn_submit(c);
}

static void conn_completed(struct conn_batch *cb)
{
    struct conn *c = cb->conn;
    size_t stored = 0; /* as ingest counts trail_events_in_total: not the resent uuids */
    for (size_t i = 0; i < cb->b.n; i++) {
        stored += cb->b.status == 0 && !trail_event_duplicate_of(cb->b.events[i]);
        decoded_release(cb->b.events[i]);
    }
    atomic_fetch_add_explicit(&metrics.loop_events[c->srv->o.input][c->srv->loop->index], stored,
                              memory_order_relaxed);
    if (!c->pending && c->n_pending == 0) { /* the next batch's array */
        c->pending = cb->b.events;
        c->cap_pending = cb->cap;
    } else {
        free(cb->b.events);
    }
    c->inflight--;
    c->inflight_events -= cb->b.n;
    free(cb);
    if (c->n_pending)
        conn_submit(c);
    if (c->inflight < MAX_INFLIGHT && c->inflight_events < MAX_INFLIGHT_EVENTS &&
        (c->paused & PAUSE_INFLIGHT)) {
        set_paused(c, PAUSE_INFLIGHT, 0);
        if (!c->paused)
            conn_process(c);
    }
    struct stream_server *srv = c->srv;
    if (c->closed && !c->inflight && !c->n_pending && srv->kind == SOCK_STREAM)
        conn_free(c);
    check_drained(srv);
}

static void server_room(struct stream_server *srv)
{
    if (srv->udp && (srv->udp->paused & PAUSE_QUEUE))
        conn_submit(srv->udp);
    for (struct conn *c = srv->conns, *next; c; c = next) {
        next = c->next;
        if (!(c->paused & PAUSE_QUEUE))
            continue;
        conn_submit(c);
        if (!c->paused)
            conn_process(c);
        if (c->closed && !c->inflight && !c->n_pending)
            conn_free(c);
    }
    check_drained(srv);
}

/* One message: decode, validate, keep or reject. */
static void conn_message(struct conn *c, const char *msg, size_t len)
{
    const struct config *cfg = traild_config();
    struct trail_event *ev = NULL;
    char err[512];
    int r = decode_item(cfg, c->srv->o.format, msg, len, &c->pv, &ev, err, sizeof(err));
    if (r < 0) {
        reject_item_keep(cfg, c->srv->o.input, r, &c->pv, c->peer, err, msg, len);
        return;
    }
    if (c->n_pending == c->cap_pending) {
        size_t nc = c->cap_pending ? c->cap_pending * 2 : 64;
        struct trail_event **p = realloc(c->pending, nc * sizeof(*p));
        if (!p) {
            reject_item(c->srv->o.input, -ENOMEM, c->peer, "out of memory");
            decoded_release(ev);
            return;
        }
        c->pending = p;
        c->cap_pending = nc;
    }
    c->pending[c->n_pending++] = ev;
}

static void frame_error(struct conn *c, int r, size_t max)
{
    char err[160];
    if (r == TRAIL_E_TOO_LARGE)
        snprintf(err, sizeof(err), "message over the limit of %zu bytes (max_line_bytes), skipped",
                 max);
    else
        snprintf(err, sizeof(err), "malformed octet count, skipped to the next line");
    reject_item_keep(traild_config(), c->srv->o.input, r, &c->pv, c->peer, err, NULL, 0);
}

/* Read what the input buffer holds, message by message, until paused or empty. */
static void conn_process(struct conn *c)
{
    if (!c->bev)
        return;
    const struct config *cfg = traild_config();
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t len = evbuffer_get_length(in);
    if (len == 0)
        return;
    const char *data = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
    size_t off = 0;
    while (!c->paused && off < len) {
        const char *msg;
        size_t mlen, used;
        int r = trail_syslog_framer_next(&c->fr, data + off, len - off, &msg, &mlen, &used);
        off += used;
        if (r == 1)
            conn_message(c, msg, mlen);
        else if (r < 0)
            frame_error(c, r, c->fr.max_frame);
        else if (used == 0)
            break;
        if (c->n_pending >= cfg->batch_size)
            conn_submit(c);
    }
    evbuffer_drain(in, off);
    c->kept = len - off;
    atomic_fetch_add_explicit(&metrics.bytes_in[c->srv->o.input], off, memory_order_relaxed);
    conn_flush(c);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * libevent 2.1 reads a socket 4 KiB at a time whatever
 * bufferevent_set_max_single_read() says (evbuffer_read's own cap), one read
 * per wakeup: nine syslog messages of 460 bytes cost an epoll_wait, an
 * ioctl(FIONREAD) and a read. After a read that took the whole 4 KiB (the
 * socket may hold more), a plain socket (not TLS, which reads through
 * OpenSSL) is read again here, up to READ_MAX at once, straight into the
 * input buffer, as far as the read high watermark allows. 0, or -errno of
 * a failed read (EOF is left to libevent, which sees it at the next wakeup).
 */
static int read_more(struct conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t len = evbuffer_get_length(in);
    if (c->srv->o.ssl || len < c->kept + LIBEVENT_READ || len >= c->read_high)
        return 0;
    size_t want = c->read_high - len < READ_MAX ? c->read_high - len : READ_MAX;
    struct evbuffer_iovec vec[2];
    /* the bufferevent keeps its input's end frozen but while it reads itself, as here */
    evbuffer_unfreeze(in, 0);
    int nv = evbuffer_reserve_space(in, (ev_ssize_t)want, vec, 2);
    if (nv <= 0) {
        evbuffer_freeze(in, 0);
        return 0;
    }
    struct iovec iov[2];
    for (int i = 0; i < nv; i++) {
        iov[i].iov_base = vec[i].iov_base;
        iov[i].iov_len = vec[i].iov_len;
    }
    ssize_t n = readv(bufferevent_getfd(c->bev), iov, nv);
    atomic_fetch_add_explicit(&metrics.reads[c->srv->o.input], n > 0, memory_order_relaxed);
    if (n < 0) {
        int e = errno;
        evbuffer_commit_space(in, vec, 0);
        evbuffer_freeze(in, 0);
        return e == EAGAIN || e == EWOULDBLOCK || e == EINTR ? 0 : -e;
    }
    size_t left = (size_t)n;
    int used = 0;
    for (; used < nv && left; used++) {
        if (vec[used].iov_len > left)
            vec[used].iov_len = left;
        left -= vec[used].iov_len;
    }
    evbuffer_commit_space(in, vec, used);
    evbuffer_freeze(in, 0);
    return 0;
}

static void conn_read(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    (void)bev;
    c->last_read_ms = mono_ms();
    atomic_fetch_add_explicit(&metrics.reads[c->srv->o.input], 1, memory_order_relaxed);
    int r = read_more(c);
    conn_process(c);
    if (r < 0)
        conn_close(c, strerror(-r));
}

/*
 * The peer is gone (EOF or error): finish what it sent, then close. While
 * reading is paused the buffered input waits: once reading resumes, the
 * rest is processed and libevent reports the end of the stream again.
 */
static void conn_close(struct conn *c, const char *why)
{
    if (c->closed)
        return;
    if (c->bev) {
        struct evbuffer *in = bufferevent_get_input(c->bev);
        if (!c->paused)
            conn_process(c);
        if (c->paused)
            return;
        /* a last message without its LF is still a message */
        size_t len = evbuffer_get_length(in);
        if (len) {
            const char *msg;
            size_t mlen;
            const char *data = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
            int r = trail_syslog_framer_flush(&c->fr, data, len, &msg, &mlen);
            if (r == 1)
                conn_message(c, msg, mlen);
            else if (r < 0)
                frame_error(c, r, c->fr.max_frame);
            evbuffer_drain(in, len);
        }
        conn_submit(c);
        bufferevent_free(c->bev);
        c->bev = NULL;
    }
    log_msg(LOG_DEBUG, "%s: %s closed (%s)", metrics_input_name(c->srv->o.input), c->peer, why);
    c->closed = 1;
    if (!c->inflight && !c->n_pending)
        conn_free(c);
}

static void conn_event(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    (void)bev;
    if (what & BEV_EVENT_ERROR) {
        unsigned long e = bufferevent_get_openssl_error(bev);
        char why[256];
        if (e) {
            ERR_error_string_n(e, why, sizeof(why));
            log_msg(LOG_WARN, "%s: %s: TLS failed: %s", metrics_input_name(c->srv->o.input),
                    c->peer, why);
        } else {
            snprintf(why, sizeof(why), "%s", strerror(EVUTIL_SOCKET_ERROR()));
        }
        conn_close(c, why);
    } else if (what & BEV_EVENT_EOF) {
        conn_close(c, "end of stream");
    } else if (what & BEV_EVENT_TIMEOUT) {
        /* [limits] stream_idle_timeout_s: nothing read (or no TLS handshake) for that long */
        connlimit_shed(c->srv->o.input, CS_IDLE, c->peer);
        conn_close(c, "idle");
    }
}

static void peer_name(const struct sockaddr *sa, int kind, int fd, char *out, size_t n)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s = (const void *)sa;
        inet_ntop(AF_INET, &s->sin_addr, host, sizeof(host));
        snprintf(out, n, "%s:%s:%u", kind == SOCK_DGRAM ? "udp" : "tcp", host, ntohs(s->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const void *)sa;
        inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof(host));
        snprintf(out, n, "%s:[%s]:%u", kind == SOCK_DGRAM ? "udp" : "tcp", host,
                 ntohs(s->sin6_port));
    } else if (sa->sa_family == AF_UNIX) {
        struct ucred cred;
        socklen_t len = sizeof(cred);
        if (fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
            snprintf(out, n, "unix:pid=%d,uid=%d", (int)cred.pid, (int)cred.uid);
        else
            snprintf(out, n, "unix");
    } else {
        snprintf(out, n, "unknown");
    }
}

/* Undo what accepting fd counted (the input's connections, its peer's), and close it. */
static void unaccept(int input, evutil_socket_t fd, const struct sockaddr *sa)
{
    atomic_fetch_sub(&metrics.connections[input], 1);
    connlimit_release(input, sa);
    evutil_closesocket(fd);
}

/*
 * The connection of srv that has gone longest without bringing a byte and
 * can give way now: nothing of it in flight, pending or paused, so closing
 * it loses nothing it sent. NULL when there is none.
 */
static struct conn *longest_idle(struct stream_server *srv)
{
    struct conn *best = NULL;
    for (struct conn *c = srv->conns; c; c = c->next)
        if (c->bev && !c->closed && !c->paused && !c->inflight && !c->n_pending &&
            (!best || c->last_read_ms < best->last_read_ms))
            best = c;
    return best;
}

/*
 * A connection to serve on srv's loop (this thread): the input's connection
 * count and its peer's count (connlimit) already hold it. With make_room
 * the input is over max_connections: the connection of this loop idle the
 * longest is closed to make room, or, when none can give way, the new one
 * is refused. Newest wins because a flood of silent connections is what
 * fills an input, and a sender that has something to say says it at once.
 */
static void conn_accept(struct stream_server *srv, evutil_socket_t fd, const char *peer,
                        const struct sockaddr *sa, int make_room)
{
    if (srv->stopping) {
        log_msg(LOG_WARN, "%s: refused %s: shutting down", metrics_input_name(srv->o.input), peer);
        unaccept(srv->o.input, fd, sa);
        return;
    }
    if (make_room) {
        struct conn *old = longest_idle(srv);
        if (!old) {
            connlimit_refused(srv->o.input, CR_FULL, peer);
            unaccept(srv->o.input, fd, sa);
            return;
        }
        connlimit_shed(srv->o.input, CS_CAPACITY, old->peer);
        conn_close(old, "gave way to a new connection");
    }
    struct conn *c = calloc(1, sizeof(*c));
    if (!c) {
        unaccept(srv->o.input, fd, sa);
        return;
    }
    c->srv = srv;
    snprintf(c->peer, sizeof(c->peer), "%s", peer);
    provenance_init(&c->pv, srv->o.input, NULL);
    memcpy(&c->sa, sa,
           sa->sa_family == AF_INET6  ? sizeof(struct sockaddr_in6)
           : sa->sa_family == AF_INET ? sizeof(struct sockaddr_in)
                                      : sizeof(sa->sa_family));
    c->last_read_ms = mono_ms();
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
        provenance_peer(&c->pv, (struct sockaddr *)&ss, fd);
    const struct config *cfg = traild_config();
    trail_syslog_framer_init(&c->fr, srv->o.frame_mode, cfg->max_line_bytes);
    evutil_make_socket_nonblocking(fd);
    if (srv->o.ssl) {
        SSL *ssl = SSL_new(srv->o.ssl);
        if (ssl)
            c->bev = bufferevent_openssl_socket_new(
                loop_base_of(srv), fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
        if (c->bev)
            bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
        else if (ssl)
            SSL_free(ssl);
    } else {
        c->bev = bufferevent_socket_new(loop_base_of(srv), fd, BEV_OPT_CLOSE_ON_FREE);
    }
    if (!c->bev) {
        unaccept(srv->o.input, fd, sa);
        free(c);
        return;
    }
    /* stop reading from the socket past this much unprocessed input */
    c->read_high = (size_t)cfg->max_line_bytes * 2 + READ_MAX;
    bufferevent_setwatermark(c->bev, EV_READ, 0, c->read_high);
    /* libevent 2.2 reads up to this much at once; 2.1 reads 4 KiB, and read_more() the rest */
    bufferevent_set_max_single_read(c->bev, READ_MAX);
    bufferevent_setcb(c->bev, conn_read, NULL, conn_event, c);
    if (cfg->stream_idle_timeout_s) {
        /* a read timeout: counts only while reading is on, not while paused for backpressure */
        struct timeval idle = {.tv_sec = (time_t)cfg->stream_idle_timeout_s};
        bufferevent_set_timeouts(c->bev, &idle, NULL);
    }
    bufferevent_enable(c->bev, EV_READ);
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->n_conns++;
    atomic_fetch_add_explicit(&metrics.loop_conns[srv->o.input][srv->loop->index], 1,
                              memory_order_relaxed);
    log_msg(LOG_DEBUG, "%s: %s connected", metrics_input_name(srv->o.input), peer);
}

/*
 * A new connection on srv's listener. First its peer's limit ([limits]
 * connections_per_peer, not for Unix sockets: see connlimit.h), then the
 * input's: that counts every loop's connections, and past it the new
 * connection goes on with make_room (conn_accept), up to SHED_SLACK at a
 * time in transit. In a group the connections go round robin to the
 * group's servers, since whichever loop wakes first accepts them all.
 */
static void on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    struct stream_server *srv = arg;
    int input = srv->o.input;
    (void)lis, (void)salen;
    char peer[96];
    peer_name(sa, SOCK_STREAM, fd, peer, sizeof(peer));
    if (srv->stopping) {
        log_msg(LOG_WARN, "%s: refused %s: shutting down", metrics_input_name(input), peer);
        evutil_closesocket(fd);
        return;
    }
    if (!connlimit_acquire(input, sa, traild_config()->connections_per_peer, peer)) {
        evutil_closesocket(fd);
        return;
    }
    int64_t open = atomic_fetch_add(&metrics.connections[input], 1);
    if (open >= (int64_t)srv->o.max_conns + SHED_SLACK) {
        connlimit_refused(input, CR_FULL, peer);
        unaccept(input, fd, sa);
        return;
    }
    int make_room = open >= (int64_t)srv->o.max_conns;
    struct stream_group *g = atomic_load_explicit(&srv->group, memory_order_acquire);
    struct stream_server *to = g ? g->srv[atomic_fetch_add(&g->next, 1) % (unsigned)g->n] : srv;
    struct handoff *h = to != srv ? malloc(sizeof(*h)) : NULL;
    if (!h) {
        conn_accept(srv, fd, peer, sa, make_room);
        return;
    }
    h->srv = to;
    h->input = to->o.input;
    h->fd = fd;
    h->make_room = make_room;
    memset(&h->sa, 0, sizeof(h->sa));
    memcpy(&h->sa, sa, (size_t)salen < sizeof(h->sa) ? (size_t)salen : sizeof(h->sa));
    snprintf(h->peer, sizeof(h->peer), "%s", peer);
    h->next = NULL;
    struct loop *l = to->loop;
    pthread_mutex_lock(&l->lock);
    if (l->in_tail)
        l->in_tail->next = h;
    else
        l->in_head = h;
    l->in_tail = h;
    pthread_mutex_unlock(&l->lock);
    event_active(l->wake, EV_READ, 0);
}

/* ---- UDP ---- */

static void udp_read(evutil_socket_t fd, short what, void *arg)
{
    struct stream_server *srv = arg;
    struct conn *c = srv->udp;
    const struct config *cfg = traild_config();
    (void)what;
    for (int i = 0; i < UDP_PER_WAKEUP && !c->paused; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        ssize_t n = recvfrom(fd, srv->udp_buf, UDP_MAX, MSG_DONTWAIT, (struct sockaddr *)&ss, &sl);
        if (n < 0)
            break;
        atomic_fetch_add_explicit(&metrics.bytes_in[srv->o.input], (uint64_t)n,
                                  memory_order_relaxed);
        size_t len = (size_t)n;
        while (len && (srv->udp_buf[len - 1] == '\n' || srv->udp_buf[len - 1] == '\r' ||
                       srv->udp_buf[len - 1] == '\0'))
            len--;
        if (len == 0)
            continue;
        struct trail_event *ev = NULL;
        char err[512];
        provenance_init(&c->pv, srv->o.input, NULL);
        provenance_peer(&c->pv, (struct sockaddr *)&ss, -1);
        int r = len > cfg->max_line_bytes ? TRAIL_E_TOO_LARGE
                                          : decode_item(cfg, srv->o.format, srv->udp_buf, len,
                                                        &c->pv, &ev, err, sizeof(err));
        if (r < 0) {
            char peer[96];
            if (r == TRAIL_E_TOO_LARGE && !ev)
                snprintf(err, sizeof(err), "datagram of %zu bytes is over the limit of %u", len,
                         cfg->max_line_bytes);
            peer_name((struct sockaddr *)&ss, SOCK_DGRAM, -1, peer, sizeof(peer));
            reject_item_keep(cfg, srv->o.input, r, &c->pv, peer, err, srv->udp_buf,
                             len > cfg->max_line_bytes ? cfg->max_line_bytes : len);
            continue;
        }
        if (c->n_pending == c->cap_pending) {
            size_t nc = c->cap_pending ? c->cap_pending * 2 : 64;
            struct trail_event **p = realloc(c->pending, nc * sizeof(*p));
            if (!p) {
                decoded_release(ev);
                break;
            }
            c->pending = p;
            c->cap_pending = nc;
        }
        c->pending[c->n_pending++] = ev;
        if (c->n_pending >= cfg->batch_size)
            conn_submit(c);
    }
    conn_flush(c);
}

/* ---- servers ---- */

static struct stream_server *server_new(struct loop *l, const struct stream_opts *o, int kind)
{
    struct stream_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return NULL;
    srv->loop = l;
    srv->o = *o;
    srv->kind = kind;
    srv->udp_fd = -1;
    if (o->ssl)
        SSL_CTX_up_ref(o->ssl);
    pthread_mutex_init(&srv->stop_lock, NULL);
    pthread_cond_init(&srv->stop_cv, NULL);
    return srv;
}

/* Link a ready server into its loop, on the loop's thread. */
static void link_cb(evutil_socket_t fd, short what, void *arg)
{
    struct stream_server *srv = arg;
    (void)fd, (void)what;
    srv->next_in_loop = srv->loop->servers;
    srv->loop->servers = srv;
}

static int resolve(const char *addr, int socktype, struct addrinfo **ret, char *err, size_t errlen)
{
    char host[256], port[8];
    if (config_split_addr(addr, host, sizeof(host), port, sizeof(port)) < 0) {
        snprintf(err, errlen, "'%s' is not HOST:PORT", addr);
        return -EINVAL;
    }
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = socktype, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    int r = getaddrinfo(host[0] ? host : NULL, port, &hints, ret);
    if (r != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", addr, gai_strerror(r));
        return -EINVAL;
    }
    return 0;
}

/* A listening TCP socket on addr (non-blocking, close on exec). 0 and *ret_fd, or -errno. */
static int bind_tcp(const char *addr, int *ret_fd, char *err, size_t errlen)
{
    struct addrinfo *ai = NULL;
    int r = resolve(addr, SOCK_STREAM, &ai, err, errlen);
    if (r < 0)
        return r;
    int one = 1;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1024) < 0) {
        r = -errno;
        snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return r;
    }
    freeaddrinfo(ai);
    *ret_fd = fd;
    return 0;
}

/*
 * A listening Unix stream socket at path (non-blocking, close on exec), mode
 * as chmod; a stale socket file is replaced, anything else there is an
 * error. 0 and *ret_fd, or -errno with err.
 */
static int bind_unix(const char *path, unsigned mode, int *ret_fd, char *err, size_t errlen)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    struct stat st;
    if (strlen(path) >= sizeof(sun.sun_path)) {
        snprintf(err, errlen, "socket path %s is too long", path);
        return -ENAMETOOLONG;
    }
    strcpy(sun.sun_path, path);
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "%s exists and is not a socket", path);
            return -EEXIST;
        }
        unlink(path); /* a stale socket of an earlier run */
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || chmod(path, mode) < 0 ||
        listen(fd, 1024) < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(e));
        if (fd >= 0)
            close(fd);
        return -e;
    }
    *ret_fd = fd;
    return 0;
}

/*
 * A server on loop l taking connections from the listening socket fd, which
 * it owns from now on (closed at free, or on failure). 0, or -errno with err.
 */
static int listen_fd(struct loop *l, int fd, const struct stream_opts *o,
                     struct stream_server **ret_srv, char *err, size_t errlen)
{
    struct stream_server *srv = server_new(l, o, SOCK_STREAM);
    if (!srv) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    srv->listener = evconnlistener_new(
        l->base, on_accept, srv, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_THREADSAFE,
        -1, fd);
    if (!srv->listener) {
        int r = errno ? -errno : -ENOMEM;
        snprintf(err, errlen, "cannot serve a listening socket: %s", strerror(-r));
        close(fd);
        stream_server_free(srv);
        return r;
    }
    event_base_once(l->base, -1, EV_TIMEOUT, link_cb, srv, NULL);
    *ret_srv = srv;
    return 0;
}

/*
 * The listening socket fd, served by a server on every loop of ls (a dup()
 * each, the last loop the socket itself), the servers a group when there
 * are several. fd is the spread's from now on. what names the socket in
 * errors; a Unix socket's path is removed by the first server when it stops
 * (the listeners close: no one can connect), or here on failure. 0, or
 * -errno with err and *sp empty.
 */
static int spread_fd(struct loop_set *ls, int fd, const char *what, int is_unix,
                     const struct stream_opts *o, struct stream_spread *sp, char *err,
                     size_t errlen)
{
    int r = 0;
    memset(sp, 0, sizeof(*sp));
    for (int i = 0; i < ls->n && r == 0; i++) {
        int mine = fd;
        if (i + 1 < ls->n) {
            mine = dup(fd);
        } else {
            fd = -1; /* the last loop takes the socket itself */
        }
        if (mine < 0) {
            r = -errno;
            snprintf(err, errlen, "cannot listen on %s: %s", what, strerror(errno));
            break;
        }
        if ((r = listen_fd(ls->loop[i], mine, o, &sp->srv[i], err, errlen)) < 0) /* owns mine */
            break;
        sp->n = i + 1;
        if (i == 0 && is_unix && !(sp->srv[0]->unix_path = strdup(what))) {
            snprintf(err, errlen, "out of memory");
            r = -ENOMEM;
        }
    }
    if (fd >= 0)
        close(fd);
    if (r == 0 && sp->n > 1) {
        struct stream_group *g = calloc(1, sizeof(*g));
        if (!g) {
            snprintf(err, errlen, "out of memory");
            r = -ENOMEM;
        } else {
            g->n = sp->n;
            for (int i = 0; i < sp->n; i++)
                g->srv[i] = sp->srv[i];
            for (int i = 0; i < sp->n; i++)
                atomic_store_explicit(&sp->srv[i]->group, g, memory_order_release);
            sp->group = g;
        }
    }
    if (r < 0) {
        stream_spread_stop(sp);
        stream_spread_free(sp);
        if (is_unix)
            unlink(what);
        return r;
    }
    atomic_store(&metrics.loops[o->input], sp->n);
    return 0;
}

int stream_spread_tcp(struct loop_set *ls, const char *addr, const struct stream_opts *o,
                      struct stream_spread *sp, char *err, size_t errlen)
{
    int fd = -1;
    int r = bind_tcp(addr, &fd, err, errlen);
    if (r < 0) {
        memset(sp, 0, sizeof(*sp));
        return r;
    }
    return spread_fd(ls, fd, addr, 0, o, sp, err, errlen);
}

int stream_spread_unix(struct loop_set *ls, const char *path, unsigned mode,
                       const struct stream_opts *o, struct stream_spread *sp, char *err,
                       size_t errlen)
{
    int fd = -1;
    int r = bind_unix(path, mode, &fd, err, errlen);
    if (r < 0) {
        memset(sp, 0, sizeof(*sp));
        return r;
    }
    return spread_fd(ls, fd, path, 1, o, sp, err, errlen);
}

void stream_spread_stop(struct stream_spread *sp)
{
    for (int i = 0; i < sp->n; i++)
        stream_server_stop(sp->srv[i]);
}

void stream_spread_free(struct stream_spread *sp)
{
    for (int i = 0; i < sp->n; i++)
        stream_server_free(sp->srv[i]);
    free(sp->group);
    memset(sp, 0, sizeof(*sp));
}

int stream_listen_udp(struct loop *l, const char *addr, const struct stream_opts *o,
                      struct stream_server **ret_srv, char *err, size_t errlen)
{
    struct addrinfo *ai = NULL;
    int r = resolve(addr, SOCK_DGRAM, &ai, err, errlen);
    if (r < 0)
        return r;
    int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1, rcvbuf = 8 << 20;
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        /* a large receive buffer absorbs bursts while ingest is busy */
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    }
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot listen on udp %s: %s", addr, strerror(e));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -e;
    }
    freeaddrinfo(ai);
    struct stream_server *srv = server_new(l, o, SOCK_DGRAM);
    if (!srv) {
        close(fd);
        return -ENOMEM;
    }
    srv->udp_fd = fd;
    srv->udp = calloc(1, sizeof(*srv->udp));
    srv->udp_buf = malloc(UDP_MAX);
    srv->udp_ev = event_new(l->base, fd, EV_READ | EV_PERSIST, udp_read, srv);
    if (!srv->udp || !srv->udp_buf || !srv->udp_ev) {
        stream_server_free(srv);
        return -ENOMEM;
    }
    srv->udp->srv = srv;
    snprintf(srv->udp->peer, sizeof(srv->udp->peer), "udp:%s", addr);
    event_add(srv->udp_ev, NULL);
    event_base_once(l->base, -1, EV_TIMEOUT, link_cb, srv, NULL);
    atomic_store(&metrics.loops[o->input], 1);
    *ret_srv = srv;
    return 0;
}

/* On the loop: stop taking data; submit what was read; report when it has all completed. */
static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
    struct stream_server *srv = arg;
    (void)fd, (void)what;
    srv->stopping = 1;
    if (srv->listener) {
        evconnlistener_free(srv->listener);
        srv->listener = NULL;
    }
    if (srv->unix_path)
        unlink(srv->unix_path);
    if (srv->udp) {
        /* what the socket holds now has been received: read it, then stop */
        if (!srv->udp->paused)
            udp_read(srv->udp_fd, EV_READ, srv);
        event_del(srv->udp_ev);
        srv->udp->closed = 1;
        conn_submit(srv->udp);
    }
    for (struct conn *c = srv->conns, *next; c; c = next) {
        next = c->next;
        if (c->bev && !c->paused)
            conn_process(c);
        if (c->bev)
            bufferevent_disable(c->bev, EV_READ);
    }
    check_drained(srv);
}

void stream_server_stop(struct stream_server *srv)
{
    if (!srv)
        return;
    event_base_once(srv->loop->base, -1, EV_TIMEOUT, stop_cb, srv, NULL);
    pthread_mutex_lock(&srv->stop_lock);
    while (!srv->drained)
        pthread_cond_wait(&srv->stop_cv, &srv->stop_lock);
    pthread_mutex_unlock(&srv->stop_lock);
}

void stream_server_free(struct stream_server *srv)
{
    if (!srv)
        return;
    /* the loop has stopped (or never served this server): nothing runs concurrently */
    while (srv->conns) {
        struct conn *c = srv->conns;
        c->inflight = 0;
        conn_free(c);
    }
    if (srv->listener)
        evconnlistener_free(srv->listener);
    if (srv->udp_ev)
        event_free(srv->udp_ev);
    if (srv->udp_fd >= 0)
        close(srv->udp_fd);
    if (srv->udp) {
        for (size_t i = 0; i < srv->udp->n_pending; i++)
            decoded_release(srv->udp->pending[i]);
        free(srv->udp->pending);
        free(srv->udp);
    }
    free(srv->udp_buf);
    free(srv->unix_path);
    if (srv->o.ssl)
        SSL_CTX_free(srv->o.ssl);
    pthread_mutex_destroy(&srv->stop_lock);
    pthread_cond_destroy(&srv->stop_cv);
    free(srv);
}

int stream_tls_context(const char *cert, const char *key, const char *ca, SSL_CTX **ret_ctx,
                       int *ret_bad_file, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        snprintf(err, errlen, "cannot make a TLS context");
        return -ENOMEM;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    const char *what = NULL;
    int bad = 0;
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
        what = cert, bad = TLS_FILE_CERT;
    else if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
        what = key, bad = TLS_FILE_KEY;
    else if (SSL_CTX_check_private_key(ctx) != 1)
        what = "the key does not match the certificate", bad = TLS_FILE_KEY;
    else if (ca && SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
        what = ca, bad = TLS_FILE_CA;
    if (what) {
        if (ret_bad_file)
            *ret_bad_file = bad;
        char e[256];
        ERR_error_string_n(ERR_get_error(), e, sizeof(e));
        snprintf(err, errlen, "TLS: %s: %s", what, e);
        SSL_CTX_free(ctx);
        return -EINVAL;
    }
    if (ca)
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    *ret_ctx = ctx;
    return 0;
}

int stream_input_start(const char *thread, uint32_t threads, struct stream_input **ret, char *err,
                       size_t errlen)
{
    struct stream_input *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    int r = loop_set_start(&s->loops, thread, loop_set_size(threads), err, errlen);
    if (r < 0) {
        free(s);
        return r;
    }
    *ret = s;
    return 0;
}

void stream_input_stop(void *state)
{
    struct stream_input *s = state;
    stream_spread_stop(&s->lis);
    loop_set_stop(&s->loops);
}

void stream_input_free(void *state)
{
    struct stream_input *s = state;
    if (!s)
        return;
    stream_spread_free(&s->lis);
    loop_set_free(&s->loops);
    free(s);
}
