/*
 * viewer_http.h - what the HTTP server (input_http.c) calls for the web
 * viewer: its static files, embedded in traild at build time from web/
 * (web/embed.cmake writes the table), and the API routes the viewer adds:
 *
 *   GET  /v1/proof?seq=N  record N, its JSON and CEF forms, and its inclusion
 *                         proof against the latest signed checkpoint
 *   GET  /v1/verify       the last verification of the store (starts one when
 *                         none has run yet)
 *   POST /v1/verify       start a verification now (unless one is running)
 *   GET  /v1/sinks        each sink's cursor, lag, delivered count, last error
 *
 * docs/viewer.md describes the viewer and these routes.
 *
 * Not here: the query routes (query_http.c), ingest (routes_ingest.c).
 */
#ifndef TRAILD_VIEWER_HTTP_H
#define TRAILD_VIEWER_HTTP_H

#include "trail.h"

#include <microhttpd.h>
#include <stddef.h>

/* One embedded file. */
struct viewer_asset {
    const char *path; /* URL path: "/index.html" */
    const char *type; /* Content-Type */
    const unsigned char *data;
    size_t len;
    const char *etag; /* quoted, as the ETag header carries it */
};

/* The table web/embed.cmake generates (sorted by path). */
extern const struct viewer_asset viewer_assets[];
extern const size_t viewer_n_assets;

/*
 * viewer_asset_answer - serve url when it names an embedded file ("/" is
 * /index.html) and method is GET or HEAD: queues the answer (200, or 304
 * when If-None-Match matches) with its Content-Type, ETag, caching headers
 * and the viewer's Content-Security-Policy, sets *ret to MHD's result and
 * returns 1. Returns 0, queuing nothing, for any other request.
 */
int viewer_asset_answer(struct MHD_Connection *conn, const char *method, const char *url,
                        enum MHD_Result *ret);

/*
 * viewer_bundle_answer - answer GET /v1/proof/bundle?seq=N[,N...] (queues
 * its own answer: a text/plain download, or a JSON error).
 */
enum MHD_Result viewer_bundle_answer(struct MHD_Connection *conn);

/*
 * viewer_api - answer one of the API routes above (method and path as
 * routed). Appends the JSON answer to answer and sets *ret_status. Returns
 * 0, or -ENOMEM (the caller answers 500).
 */
int viewer_api(struct MHD_Connection *conn, const char *method, const char *path,
               struct trail_buf *answer, int *ret_status);

#endif /* TRAILD_VIEWER_HTTP_H */
