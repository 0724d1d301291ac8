/*
 * routes.c - traild's HTTP API, one line per route: method, path, handler,
 * the role a caller needs (core/auth.h) and how the server treats it:
 *
 *   POST /v1/events     events in (routes_ingest.c)
 *   GET  /v1/catalog, /v1/checkpoint, /healthz, /metrics   (routes_info.c)
 *   GET  /v1/proof, /v1/proof/bundle, /v1/verify, /v1/sinks, /v1/rules, POST /v1/verify,
 *                       and the web viewer's files at / (viewer_http.c)
 *   GET  /v1/events, /v1/count, /v1/events/stream   queries (query_http.c)
 *   GET, POST /v1/events/export  downloads, and their tickets (query_http.c)
 *   GET  /checkpoint, /tile/..., /minimum-index   C2SP tlog-tiles (tiles_http.c)
 *   POST /v1/reload     reload the configuration, as SIGHUP does (202)
 *   GET, POST /v1/reports; GET, PUT, DELETE /v1/reports/NAME; GET
 *                       /v1/reports/NAME/run   reports (routes_reports.c)
 *   POST /add-checkpoint  C2SP tlog-witness, with [witness] (witness_http.c)
 *
 * /healthz and the viewer's static files are open; with tokens or client
 * certificates configured every other route needs the role named here
 * (input_http.c answers 401 or 403 before a handler runs).
 * docs/api.md describes the API for callers.
 *
 * Not here: the server, its connections and limits (input_http.c).
 */
#include "http/routes.h"
#include "http/tiles_http.h"

#include "core/auth.h"
#include "core/json_out.h"
#include "core/log.h"
#include "http/query_http.h"
#include "http/viewer_http.h"
#include "http/witness_http.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>

/* ---- the viewer's routes (viewer_http.c) ---- */

static int viewer_route(struct req *rq)
{
    int r = viewer_api(rq->conn, rq->route->method, rq->route->path, &rq->answer, &rq->status);
    rq->answered = r == 0;
    return r;
}

/* GET /v1/proof/bundle: a download, queued by viewer_http.c itself */
static int bundle_route(struct req *rq)
{
    rq->queued = viewer_bundle_answer(rq->conn);
    return 2;
}

/* ---- the query routes (query_http.c): they queue their own answers ---- */

static int query_route(struct req *rq)
{
    rq->queued = query_http_answer(rq->conn, rq->route->method, rq->route->path, rq->pv.principal);
    return 2;
}

/* ---- POST /v1/reload ---- */

static int post_reload(struct req *rq)
{
    /* main's signal loop does the reload and records it, as for SIGHUP */
    if (kill(getpid(), SIGHUP) < 0)
        return -errno;
    log_msg(LOG_INFO, "http: reload requested by %s", rq->peer);
    if (json_printf(&rq->answer, "{\"reload\":\"requested\"}\n") < 0)
        return -ENOMEM;
    rq->status = 202;
    rq->answered = 1;
    return 0;
}

/* ---- the C2SP tlog-tiles routes (tiles_http.c): they queue their own answers ---- */

static int tiles_route(struct req *rq)
{
    rq->queued = tiles_http_answer(rq->conn, rq->url);
    return 2;
}

/* ---- POST /add-checkpoint: traild as a C2SP witness (witness_http.c) ---- */

static int add_checkpoint(struct req *rq)
{
    rq->queued = witness_http_answer(rq->conn, rq->body.data, rq->body.len, rq->addr);
    return 2;
}

/* every /tile/... path, matched by tiles_http_path() in the server */
const struct route http_tile_route = {"GET", "/tile/", tiles_route, 0, ROLE_READ, 0, NULL};

/* ---- the table ---- */

#define PROMETHEUS_TEXT "text/plain; version=0.0.4; charset=utf-8"

/* method, path, handler, has a body, the role it needs, a query, the answer's type */
const struct route http_routes[] = {
    {"POST", "/v1/events", route_post_events, 1, ROLE_WRITE, 0, NULL},
    {"GET", "/v1/catalog", route_get_catalog, 0, ROLE_READ, 0, NULL},
    {"GET", "/v1/checkpoint", route_get_checkpoint, 0, ROLE_READ, 0, NULL},
    {"GET", "/checkpoint", tiles_route, 0, ROLE_READ, 0, NULL},
    {"GET", "/minimum-index", tiles_route, 0, ROLE_READ, 0, NULL},
    {"GET", "/healthz", route_get_healthz, 0, AUTH_OPEN, 0, NULL},
    {"GET", "/metrics", route_get_metrics, 0, ROLE_READ, 0, PROMETHEUS_TEXT},
    {"GET", "/v1/proof", viewer_route, 0, ROLE_READ, 0, NULL},
    {"GET", "/v1/proof/bundle", bundle_route, 0, ROLE_READ, 0, NULL},
    {"GET", "/v1/verify", viewer_route, 0, ROLE_READ, 0, NULL},
    {"POST", "/v1/verify", viewer_route, 0, ROLE_ADMIN, 0, NULL},
    {"GET", "/v1/sinks", viewer_route, 0, ROLE_ADMIN, 0, NULL},
    {"GET", "/v1/rules", viewer_route, 0, ROLE_READ, 0, NULL},
    {"GET", "/v1/events", query_route, 0, ROLE_READ, 1, NULL},
    {"GET", "/v1/count", query_route, 0, ROLE_READ, 1, NULL},
    {"GET", "/v1/events/stream", query_route, 0, ROLE_READ, 1, NULL},
    {"GET", "/v1/events/export", query_route, 0, ROLE_READ, 1, NULL},
    {"POST", "/v1/events/export", query_route, 0, ROLE_READ, 1, NULL},
    {"POST", "/v1/reload", post_reload, 0, ROLE_ADMIN, 0, NULL},
    {"GET", "/v1/reports", route_reports, 0, ROLE_READ, 0, NULL},
    {"POST", "/v1/reports", route_reports, 1, ROLE_ADMIN, 0, NULL},
    /* the logs a witness serves send, as they send events: the write role */
    {"POST", "/add-checkpoint", add_checkpoint, 1, ROLE_WRITE, 0, NULL},
};

const size_t http_n_routes = sizeof(http_routes) / sizeof(http_routes[0]);
