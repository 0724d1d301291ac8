/*
 * connlimit.c - connections per peer address, and the count and log of
 * refused and shed connections (see connlimit.h for the contract).
 *
 * Each input has a hash table of the addresses that have connections open
 * now, with their counts; an entry goes when its count reaches 0, so the
 * table holds at most as many entries as the input has connections.
 */
#include "core/connlimit.h"

#include "core/log.h"
#include "core/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BUCKETS     1024
#define LOG_EVERY_S 10

struct peer {
    uint8_t addr[16]; /* IPv4 as an IPv4-mapped IPv6 address: one peer, whichever family */
    uint32_t count;
    struct peer *next;
};

struct table {
    pthread_mutex_t lock;
    struct peer *bucket[BUCKETS];
};

static struct table tables[IN_N];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void tables_init(void)
{
    for (int i = 0; i < IN_N; i++)
        pthread_mutex_init(&tables[i].lock, NULL);
}

/* The address as 16 bytes, or 0 when it is not one that is limited. */
static int key_of(const struct sockaddr *sa, uint8_t out[16])
{
    if (!sa)
        return 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s = (const void *)sa;
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &s->sin_addr, 4);
        return 1;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const void *)sa;
        memcpy(out, &s->sin6_addr, 16);
        return 1;
    }
    return 0;
}

static unsigned hash(const uint8_t k[16])
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (int i = 0; i < 16; i++)
        h = (h ^ k[i]) * 16777619u;
    return h % BUCKETS;
}

static struct table *table_of(int input)
{
    pthread_once(&tables_once, tables_init);
    return input >= 0 && input < IN_N ? &tables[input] : NULL;
}

/* The entry for k, made when make and absent; NULL when absent (or no memory). Locked. */
static struct peer *find(struct table *t, const uint8_t k[16], int make)
{
    unsigned b = hash(k);
    for (struct peer *p = t->bucket[b]; p; p = p->next)
        if (!memcmp(p->addr, k, 16))
            return p;
    if (!make)
        return NULL;
    struct peer *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    memcpy(p->addr, k, 16);
    p->next = t->bucket[b];
    t->bucket[b] = p;
    return p;
}

int connlimit_acquire(int input, const struct sockaddr *sa, uint32_t limit, const char *peer)
{
    uint8_t k[16];
    struct table *t = table_of(input);
    if (!t || !key_of(sa, k))
        return 1;
    pthread_mutex_lock(&t->lock);
    struct peer *p = find(t, k, 1);
    int ok = !p || limit == 0 || p->count < limit;
    if (ok && p)
        p->count++;
    pthread_mutex_unlock(&t->lock);
    /* without memory for the entry, the connection is admitted uncounted: release finds none */
    if (!ok)
        connlimit_refused(input, CR_PER_PEER, peer);
    return ok;
}

void connlimit_add(int input, const struct sockaddr *sa)
{
    connlimit_acquire(input, sa, 0, NULL);
}

uint32_t connlimit_count(int input, const struct sockaddr *sa)
{
    uint8_t k[16];
    struct table *t = table_of(input);
    if (!t || !key_of(sa, k))
        return 0;
    pthread_mutex_lock(&t->lock);
    struct peer *p = find(t, k, 0);
    uint32_t n = p ? p->count : 0;
    pthread_mutex_unlock(&t->lock);
    return n;
}

void connlimit_release(int input, const struct sockaddr *sa)
{
    uint8_t k[16];
    struct table *t = table_of(input);
    if (!t || !key_of(sa, k))
        return;
    pthread_mutex_lock(&t->lock);
    unsigned b = hash(k);
    for (struct peer **pp = &t->bucket[b]; *pp; pp = &(*pp)->next) {
        struct peer *p = *pp;
        if (memcmp(p->addr, k, 16))
            continue;
        if (p->count > 0)
            p->count--;
        if (p->count == 0) {
            *pp = p->next;
            free(p);
        }
        break;
    }
    pthread_mutex_unlock(&t->lock);
}

/* ---- counting and logging ---- */

static const char *refusal_text[CR_N] = {
    [CR_PER_PEER] = "refused %s: its address has [limits] connections_per_peer connections open",
    [CR_FULL] = "refused %s: [limits] max_connections open, and none waiting to give way",
};
static const char *shed_text[CS_N] = {
    [CS_HEADER_TIMEOUT] = "closed %s: no complete request head within [limits] "
                          "http_header_timeout_s",
    [CS_CAPACITY] = "closed %s: at [limits] max_connections it had waited longest without "
                    "sending, and gave way to a new connection",
    [CS_IDLE] = "closed %s: idle for [limits] stream_idle_timeout_s",
};

/* One line per input and kind at most every LOG_EVERY_S seconds, with how many were held back. */
struct log_gate {
    pthread_mutex_t lock;
    time_t last;
    uint64_t held;
};

static struct log_gate gates[IN_N][CR_N + CS_N];
static pthread_once_t gates_once = PTHREAD_ONCE_INIT;

static void gates_init(void)
{
    for (int i = 0; i < IN_N; i++)
        for (int j = 0; j < CR_N + CS_N; j++)
            pthread_mutex_init(&gates[i][j].lock, NULL);
}

static void gated_log(int input, int slot, const char *fmt, const char *peer)
{
    pthread_once(&gates_once, gates_init);
    struct log_gate *g = &gates[input][slot];
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    pthread_mutex_lock(&g->lock);
    int say = g->last == 0 || ts.tv_sec - g->last >= LOG_EVERY_S;
    uint64_t held = g->held;
    if (say) {
        g->last = ts.tv_sec ? ts.tv_sec : 1;
        g->held = 0;
    } else {
        g->held++;
    }
    pthread_mutex_unlock(&g->lock);
    if (!say)
        return;
    char what[320];
    snprintf(what, sizeof(what), fmt, peer ? peer : "?");
    if (held)
        log_msg(LOG_WARN, "%s: %s (and %llu more like it in the last %d s; see the metrics)",
                metrics_input_name(input), what, (unsigned long long)held, LOG_EVERY_S);
    else
        log_msg(LOG_WARN, "%s: %s", metrics_input_name(input), what);
}

void connlimit_refused(int input, int reason, const char *peer)
{
    if (input < 0 || input >= IN_N || reason < 0 || reason >= CR_N)
        return;
    atomic_fetch_add_explicit(&metrics.conn_refused[input][reason], 1, memory_order_relaxed);
    gated_log(input, reason, refusal_text[reason], peer);
}

void connlimit_shed(int input, int reason, const char *peer)
{
    if (input < 0 || input >= IN_N || reason < 0 || reason >= CS_N)
        return;
    atomic_fetch_add_explicit(&metrics.conn_shed[input][reason], 1, memory_order_relaxed);
    gated_log(input, CR_N + reason, shed_text[reason], peer);
}
