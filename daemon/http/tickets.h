/*
 * tickets.h - one-use download tickets (tickets.c): the credentials of a
 * plain link, which cannot carry an Authorization header. The viewer asks
 * for a ticket with its token (POST /v1/events/export, POST
 * /v1/reports/NAME/run) and hands the link to the browser as a download.
 *
 * A ticket is bound to one path (the URL without its query string): it
 * opens that path once, with GET, within TICKET_TTL_MS of being made, with
 * the read role, in the name of whoever asked for it.
 *
 * Not here: the routes that make them (query_http.c, routes_reports.c),
 * where a request's ticket is taken (input_http.c).
 */
#ifndef TRAILD_TICKETS_H
#define TRAILD_TICKETS_H

#include "base/base.h"

#include <microhttpd.h>
#include <stddef.h>

#define TICKET_TTL_MS 60000

/*
 * ticket_url - make a ticket for path on behalf of who, and write
 * "path?ticket=ID&<conn's query parameters but ticket, percent-encoded>"
 * into out. Returns 0, -EIO without randomness, -ENOMEM.
 */
int ticket_url(struct MHD_Connection *conn, const char *path, const char *who,
               struct trail_buf *out);

/*
 * ticket_take - 1 when id is a ticket made for path that nobody used and
 * that has not expired (it is used now: who gets whom it was made for),
 * else 0.
 */
int ticket_take(const char *id, const char *path, char *who, size_t wholen);

#endif /* TRAILD_TICKETS_H */
