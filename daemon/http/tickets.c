/*
 * tickets.c - one-use download tickets (tickets.h): a table of TICKETS
 * slots under a lock; a new ticket takes a free or expired slot, else the
 * one that expires first (so a flood of tickets only shortens their
 * lives). An id is 16 random bytes in hex.
 *
 * Not here: which routes take tickets (input_http.c).
 */
#include "http/tickets.h"

#include "core/json_out.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define TICKETS 64

struct ticket {
    char id[33];
    int64_t expires_ms; /* 0: free */
    char path[192];     /* the only path it opens */
    char who[160];
};

static pthread_mutex_t tickets_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ticket tickets[TICKETS];

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct url_args {
    struct trail_buf *out;
    int r;
};

/* Append &key=value, percent-encoded, for each parameter but a ticket. */
static enum MHD_Result url_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    struct url_args *a = cls;
    (void)kind;
    if (strcmp(key, "ticket") == 0 || a->r < 0)
        return MHD_YES;
    static const char hex[] = "0123456789ABCDEF";
    const char *parts[2] = {key, value ? value : ""};
    a->r = trail_buf_append(a->out, "&", 1);
    for (int k = 0; k < 2 && a->r == 0; k++) {
        if (k)
            a->r = trail_buf_append(a->out, "=", 1);
        for (const unsigned char *c = (const unsigned char *)parts[k]; *c && a->r == 0; c++) {
            char e[3] = {'%', hex[*c >> 4], hex[*c & 15]};
            int plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                        (*c >= '0' && *c <= '9') || strchr("-_.~*", *c);
            a->r = plain ? trail_buf_append(a->out, (const char *)c, 1)
                         : trail_buf_append(a->out, e, 3);
        }
    }
    return MHD_YES;
}

int ticket_url(struct MHD_Connection *conn, const char *path, const char *who,
               struct trail_buf *out)
{
    uint8_t raw[16];
    if (strlen(path) >= sizeof(((struct ticket *)0)->path))
        return -ENAMETOOLONG;
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        return -EIO;
    struct ticket t = {.expires_ms = mono_ms() + TICKET_TTL_MS};
    for (int i = 0; i < 16; i++)
        snprintf(t.id + 2 * i, 3, "%02x", raw[i]);
    snprintf(t.path, sizeof(t.path), "%s", path);
    snprintf(t.who, sizeof(t.who), "%s", who);
    pthread_mutex_lock(&tickets_lock);
    int slot = 0;
    for (int i = 0; i < TICKETS; i++) {
        if (tickets[i].expires_ms < mono_ms()) {
            slot = i;
            break;
        }
        if (tickets[i].expires_ms < tickets[slot].expires_ms)
            slot = i;
    }
    tickets[slot] = t;
    pthread_mutex_unlock(&tickets_lock);
    /* the same parameters, as the client sent them, and the ticket */
    struct url_args a = {.out = out};
    a.r = json_printf(out, "%s?ticket=%s", path, t.id);
    if (a.r == 0)
        MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, url_arg, &a);
    return a.r;
}

int ticket_take(const char *id, const char *path, char *who, size_t wholen)
{
    int found = 0;
    int64_t now = mono_ms();
    pthread_mutex_lock(&tickets_lock);
    for (int i = 0; i < TICKETS && !found; i++) {
        if (tickets[i].expires_ms >= now && strcmp(tickets[i].id, id) == 0) {
            /* a ticket for another path is not spent by the attempt */
            if (strcmp(tickets[i].path, path) != 0)
                break;
            snprintf(who, wholen, "%s", tickets[i].who);
            tickets[i].expires_ms = 0; /* one use */
            found = 1;
        }
    }
    pthread_mutex_unlock(&tickets_lock);
    return found;
}
