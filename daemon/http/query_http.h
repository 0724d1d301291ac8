/*
 * query_http.h - traild's query routes (query_http.c), for the HTTP server
 * (input_http.c) to call:
 *
 *   GET /v1/events          search: the filters of `trail query` as query
 *                           parameters, a page of events and a `next` link
 *   GET /v1/count           counts grouped by event, severity, hour, day, attribute
 *   GET /v1/events/stream   server-sent events, resumable with Last-Event-ID
 *   GET /v1/events/export   every matching event as one streamed download
 *   POST /v1/events/export  a one-use ticket for a plain link to that download
 *
 * docs/query.md describes the parameters and the answers.
 *
 * Not here: routing, the server's life (input_http.c), the filter language
 * and the indexes (libtrail).
 */
#ifndef TRAILD_QUERY_HTTP_H
#define TRAILD_QUERY_HTTP_H

#include <microhttpd.h>
#include <stddef.h>

/*
 * query_http_answer - answer the query route method path (one of the above)
 * on conn for who (the caller, as the records name it): reads the query
 * parameters, runs the search or count or starts the stream or export, and
 * queues the response itself. Returns MHD's result of queuing it.
 */
enum MHD_Result query_http_answer(struct MHD_Connection *conn, const char *method, const char *path,
                                  const char *who);

/*
 * query_http_unescape - MHD's unescape callback for URL query strings as
 * browsers write them: '+' is a space, %XX a byte. Returns the new length.
 */
size_t query_http_unescape(void *cls, struct MHD_Connection *conn, char *s);

/*
 * query_http_stop - end every event stream (their connections finish
 * normally); call before the HTTP server stops. New streams are refused.
 */
void query_http_stop(void);

/* query_http_free - free the index; after the HTTP server stopped, before the store closes. */
void query_http_free(void);

#endif /* TRAILD_QUERY_HTTP_H */
