/*
 * routes_reports.c - traild's report routes (docs/reports.md, "In traild"):
 *
 *   GET    /v1/reports                list (format=json, the default, or table)
 *   POST   /v1/reports                make a report: the body is its [report NAME] section
 *   GET    /v1/reports/NAME           one report (format=json, the default, or ini)
 *   PUT    /v1/reports/NAME           make or replace it (a section, or its keys alone)
 *   DELETE /v1/reports/NAME           remove a report made through the API
 *   GET    /v1/reports/NAME/run       run it: format=table|csv|json|html, now=RFC 3339
 *
 * Reading needs the read role, changing the admin role (routes.c's table
 * and http_report_routes). The work is daemon/reports/'s.
 *
 * Not here: routing (input_http.c), the reports (daemon/reports/reports.c).
 */
#include "http/routes.h"

#include "core/metrics.h"
#include "reports/reports.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define PREFIX "/v1/reports/"

int reports_http_path(const char *url)
{
    return !strncmp(url, PREFIX, strlen(PREFIX)) && url[strlen(PREFIX)];
}

static const char *arg(struct MHD_Connection *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
}

static int answer(struct req *rq, struct reports_answer *a)
{
    struct trail_buf *b = &a->body;
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        b->len, b->data ? b->data : "", b->data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        trail_buf_free(b);
        rq->queued = MHD_NO;
        return 2;
    }
    b->data = NULL;
    b->len = b->cap = 0;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            a->type ? a->type : "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    /* a report's page fetches nothing and runs nothing: the browser is told so too */
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'none'; style-src 'unsafe-inline'");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    rq->queued = MHD_queue_response(rq->conn, (unsigned)a->status, resp);
    MHD_destroy_response(resp);
    if (a->status >= 100 && a->status < 600)
        atomic_fetch_add_explicit(&metrics.http_responses[a->status / 100], 1,
                                  memory_order_relaxed);
    return 2;
}

/* GET and POST /v1/reports */
int route_reports(struct req *rq)
{
    struct reports_answer a = {0};
    if (!strcmp(rq->route->method, "POST"))
        reports_http_change("POST", NULL, rq->body.data ? rq->body.data : "", rq->body.len,
                            rq->pv.principal, &a);
    else
        reports_http_list(arg(rq->conn, "format"), &a);
    return answer(rq, &a);
}

/* GET, PUT and DELETE /v1/reports/NAME, GET /v1/reports/NAME/run */
int route_report(struct req *rq)
{
    struct reports_answer a = {0};
    char name[128];
    const char *p = rq->url + strlen(PREFIX), *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    int run = slash && !strcmp(slash, "/run");
    const char *m = rq->route->method;
    if (n >= sizeof(name) || (slash && !run) || (run && strcmp(m, "GET"))) {
        a.status = n < sizeof(name) && run ? 405 : 404;
        a.type = "application/json";
        const char *msg = a.status == 405 ? "{\"error\":\"method not allowed on this path\"}\n"
                                          : "{\"error\":\"no such path\"}\n";
        trail_buf_append(&a.body, msg, strlen(msg));
        return answer(rq, &a);
    }
    memcpy(name, p, n);
    name[n] = '\0';
    if (run)
        reports_http_run(name, arg(rq->conn, "format"), arg(rq->conn, "now"), &a);
    else if (!strcmp(m, "GET"))
        reports_http_get(name, arg(rq->conn, "format"), &a);
    else
        reports_http_change(m, name, rq->body.data ? rq->body.data : "", rq->body.len,
                            rq->pv.principal, &a);
    return answer(rq, &a);
}

/* every /v1/reports/... path, matched by reports_http_path() in the server */
const struct route http_report_routes[] = {
    {"GET", PREFIX, route_report, 0, ROLE_READ, 0, NULL},
    {"PUT", PREFIX, route_report, 1, ROLE_ADMIN, 0, NULL},
    {"DELETE", PREFIX, route_report, 0, ROLE_ADMIN, 0, NULL},
};
const size_t http_n_report_routes = sizeof(http_report_routes) / sizeof(http_report_routes[0]);
