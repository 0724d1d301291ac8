/*
 * decode.c - one item of any wire form into a validated event, and the
 * bookkeeping of a rejected one. Shared by every input.
 *
 * Decoded events come from a pool and go back to it (decoded_release()):
 * an event keeps the memory its attributes and strings grew to, so in the
 * steady state decoding allocates nothing. The pool is bounded; an event
 * made with another catalog than the config in force (after a reload) is
 * freed instead of reused.
 *
 * Not here: splitting streams and bodies into items (the inputs).
 */
#include "core/log.h"
#include "core/metrics.h"
#include "core/traild.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define POOL_MAX 16384 /* events kept for reuse: a few batches' worth */

static struct {
    pthread_mutex_t lock;
    struct trail_event *free[POOL_MAX];
    size_t n;
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* An event of cat to decode into: a pooled one, else a new one. NULL: out of memory. */
static struct trail_event *pool_get(const struct trail_catalog *cat)
{
    struct trail_event *ev = NULL;
    pthread_mutex_lock(&pool.lock);
    while (pool.n > 0) {
        ev = pool.free[--pool.n];
        /* pooled events waited for a sync and left the cache: fetch the next
           ones ahead, the one after next's own struct first */
        if (pool.n >= 1)
            trail_event_prefetch(pool.free[pool.n - 1], 1);
        if (pool.n >= 2)
            trail_event_prefetch(pool.free[pool.n - 2], 0);
        if (trail_event_catalog(ev) == cat)
            break;
        trail_event_free(ev); /* made before a reload */
        ev = NULL;
    }
    pthread_mutex_unlock(&pool.lock);
    if (!ev && trail_event_new(cat, NULL, &ev) < 0)
        return NULL;
    return ev;
}

void decoded_release(struct trail_event *ev)
{
    if (!ev)
        return;
    pthread_mutex_lock(&pool.lock);
    if (pool.n < POOL_MAX) {
        pool.free[pool.n++] = ev;
        ev = NULL;
    }
    pthread_mutex_unlock(&pool.lock);
    trail_event_free(ev);
}

void decoded_pool_free(void)
{
    pthread_mutex_lock(&pool.lock);
    while (pool.n > 0)
        trail_event_free(pool.free[--pool.n]);
    pthread_mutex_unlock(&pool.lock);
}

static const int trail_input_of[IN_N] = {
    [IN_HTTP] = TRAIL_INPUT_HTTP,
    [IN_SYSLOG_UDP] = TRAIL_INPUT_SYSLOG_UDP,
    [IN_SYSLOG_TCP] = TRAIL_INPUT_SYSLOG_TCP,
    [IN_SYSLOG_TLS] = TRAIL_INPUT_SYSLOG_TLS,
    [IN_CEF_TCP] = TRAIL_INPUT_CEF_TCP,
    [IN_UNIX] = TRAIL_INPUT_UNIX,
    [IN_FILE] = TRAIL_INPUT_FOLLOW,
    [IN_INTERNAL] = TRAIL_INPUT_NONE,
};

void provenance_init(struct provenance *pv, int input_kind, const char *name)
{
    memset(pv, 0, sizeof(*pv));
    pv->input = input_kind >= 0 && input_kind < IN_N ? trail_input_of[input_kind] : 0;
    pv->name = name;
}

void provenance_peer(struct provenance *pv, const struct sockaddr *sa, int fd)
{
    pv->peer.family = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const void *)sa;
        pv->peer.family = 4;
        memcpy(pv->peer.addr, &s4->sin_addr, 4);
        pv->peer.port = ntohs(s4->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const void *)sa;
        pv->peer.family = 6;
        memcpy(pv->peer.addr, &s6->sin6_addr, 16);
        pv->peer.port = ntohs(s6->sin6_port);
    } else if (sa->sa_family == AF_UNIX && fd >= 0) {
        struct ucred cred;
        socklen_t len = sizeof(cred);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
            snprintf(pv->principal, sizeof(pv->principal), "uid=%u", (unsigned)cred.uid);
    }
}

/* Give ev pv's provenance, and the peer's address as host when the item named none. */
static void apply_provenance(const struct provenance *pv, struct trail_event *ev)
{
    if (!pv)
        return;
    trail_event_set_input(ev, pv->input, pv->name, pv->name ? strlen(pv->name) : 0);
    trail_event_set_peer(ev, &pv->peer);
    if (pv->principal[0])
        trail_event_set_principal(ev, pv->principal, strlen(pv->principal));
    char ip[48];
    size_t n;
    if (!trail_event_host(ev)[0] && (n = trail_peer_address(&pv->peer, ip)) > 0)
        trail_event_set_host(ev, ip, n);
}

int decode_item(const struct config *cfg, int format, const char *data, size_t len,
                const struct provenance *pv, struct trail_event **ret_event, char *err,
                size_t errlen)
{
    int r;
    err[0] = '\0';
    if (format == FMT_LINE) {
        size_t i = 0;
        while (i < len && (data[i] == ' ' || data[i] == '\t'))
            i++;
        format = i < len && data[i] == '{' ? FMT_JSON : FMT_CEF;
    }
    if (len > cfg->limits.max_record_bytes && format != FMT_SYSLOG) {
        snprintf(err, errlen, "item of %zu bytes is over the limit of %u (max_record_bytes)", len,
                 cfg->limits.max_record_bytes);
        return TRAIL_E_TOO_LARGE;
    }
    struct trail_event *ev = pool_get(cfg->cat);
    if (!ev) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    switch (format) {
    case FMT_JSON:
        r = pv && pv->relay_origin
                ? trail_event_parse_relayed_json(ev, data, len, pv->relay_origin, err, errlen)
                : trail_event_parse_json(ev, data, len, err, errlen);
        break;
    case FMT_CEF:
        r = trail_event_parse_cef(ev, data, len, err, errlen);
        break;
    default:
        r = trail_event_parse_syslog(ev, data, len, err, errlen);
        break;
    }
    if (r < 0) {
        if (!err[0])
            snprintf(err, errlen, "%s", trail_strerror(r));
        decoded_release(ev);
        return r;
    }
    apply_provenance(pv, ev);
    r = trail_event_validate(ev);
    if (r < 0) {
        snprintf(err, errlen, "%s", trail_event_error(ev));
        decoded_release(ev);
        return r;
    }
    *ret_event = ev;
    return 0;
}

void reject_item(int input, int code, const char *sender, const char *err)
{
    metrics_reject(input, code);
    log_rejected(metrics_input_name(input), sender, "%s (%s)", err,
                 metrics_reason_name(metrics_reason(code)));
}

void traild_event_uuid(const struct trail_event *ev, uint8_t ret_uuid[16])
{
    if (trail_event_uuid(ev, ret_uuid) < 0)
        trail_store_uuid(traild.store, trail_event_seq(ev), ret_uuid);
}
