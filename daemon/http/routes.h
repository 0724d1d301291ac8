/*
 * routes.h - what traild's HTTP server (input_http.c) and its routes share:
 * the request as a route sees it, the route table, and the few calls of
 * the server a route makes (answer an error, read a header, park a request
 * while ingest stores its events).
 *
 * The routes: routes.c (the table, and the routes that hand over to
 * query_http.c and viewer_http.c, POST /v1/reload), routes_ingest.c (POST
 * /v1/events), routes_info.c (/healthz, /metrics, /v1/catalog,
 * /v1/checkpoint). docs/api.md describes them for callers.
 *
 * Not here: the server's life, connections and limits (input_http.c).
 */
#ifndef TRAILD_HTTP_ROUTES_H
#define TRAILD_HTTP_ROUTES_H

#include "core/ingest.h"
#include "core/traild.h"

#include <microhttpd.h>

#include <stddef.h>

struct http_input; /* the server (input_http.c) */
struct route;

/* One request. */
struct req {
    struct http_input *h; /* the server it came to */
    const struct route *route;
    struct MHD_Connection *conn;
    const char *url; /* MHD keeps it until the request completes */
    struct trail_buf body;
    int too_large;
    char peer[80];
    char addr[64];        /* the client's address alone, for trail_auth_failed */
    struct provenance pv; /* what every event of the request records of its sender */
    int role;             /* the caller's ROLE_* (auth.h); ROLE_ADMIN with authentication off */
    char relay_origin[TRAIL_ORIGIN_MAX + 1]; /* POST /v1/events from a relay: its origin */
    int close;          /* the answer closes the connection (a framing it refused) */
    int counted_stream; /* holds one of [limits] max_streams */
    /* POST /v1/events */
    struct ingest_batch batch;
    struct trail_event **events; /* the accepted events, in item order */
    size_t n_items;
    int *item_event;   /* per item: index into events, or -1 */
    char **item_error; /* per item: the error text, or NULL */
    size_t n_rejected;
    /* the answer, prepared before the connection is resumed */
    int status;
    struct trail_buf answer;
    int answered;
    int ingested;           /* POST: ingest completed the batch (its status in batch.status) */
    enum MHD_Result queued; /* a route that queued its own answer (returned 2) */
};

/*
 * A route's handler: 0 with rq->answer ready (rq->status, rq->answered
 * set), 1 when parked (POST /v1/events: answered once ingest is done), 2
 * when it queued its own answer (rq->queued), or -errno (answered 500).
 */
typedef int (*route_fn)(struct req *rq);

struct route {
    const char *method;
    const char *path;
    route_fn fn;
    int has_body;     /* a POST whose handler gets the whole body */
    int need;         /* AUTH_OPEN or the ROLE_* a caller needs (core/auth.h) */
    int query;        /* 1: held to [limits] max_query_limit and max_streams first */
    const char *type; /* the answer's Content-Type; NULL: application/json */
};

/* The table, one line per route (routes.c); a path may have several methods. */
extern const struct route http_routes[];
extern const size_t http_n_routes;
/* every C2SP /tile/... path (tiles_http_path), outside the table: its paths are many */
extern const struct route http_tile_route;

/* ---- the routes' handlers ---- */

/* POST /v1/events (routes_ingest.c): split, decode, submit to ingest; parks the request. */
int route_post_events(struct req *rq);

/* route_post_answer - the answer to a POST that ingest completed with status (HTTP thread). */
void route_post_answer(struct req *rq, int status);

/* route_post_free - free what POST /v1/events kept in rq (any request: a no-op for others). */
void route_post_free(struct req *rq);

/* GET /healthz, /metrics, /v1/catalog, /v1/checkpoint (routes_info.c). */
int route_get_healthz(struct req *rq);
int route_get_metrics(struct req *rq);
int route_get_catalog(struct req *rq);
int route_get_checkpoint(struct req *rq);

/* GET, POST /v1/reports; GET, PUT, DELETE /v1/reports/NAME[/run] (routes_reports.c) */
int route_reports(struct req *rq);
int route_report(struct req *rq);
/* every /v1/reports/NAME... path, outside the table (a name is in the path), by method */
extern const struct route http_report_routes[];
extern const size_t http_n_report_routes;
/* reports_http_path - 1 when url is /v1/reports/SOMETHING */
int reports_http_path(const char *url);

/* route_info_free - free the cached catalog answer (when the server is freed). */
void route_info_free(void);

/* ---- what the server (input_http.c) gives the routes ---- */

/* http_answer_error - prepare {"error":msg} with status as rq's answer. 0 or -ENOMEM. */
int http_answer_error(struct req *rq, int status, const char *msg);

/* http_header - the value of a request header, or NULL. */
const char *http_header(struct MHD_Connection *conn, const char *name);

/* http_stopping - 1 once the server stops: new work is answered 503. */
int http_stopping(const struct req *rq);

/*
 * http_park - suspend rq's connection while its batch is in ingest (the
 * server's stop waits for every parked request); http_unpark resumes it,
 * from ingest's done callback or when the submit failed, and the server
 * then sends the answer rq holds.
 */
void http_park(struct req *rq);
void http_unpark(struct req *rq);

#endif /* TRAILD_HTTP_ROUTES_H */
