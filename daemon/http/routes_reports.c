/*
 * routes_reports.c - traild's report routes (docs/reports.md, "In traild"):
 *
 *   GET    /v1/reports                list (format=json, the default, or table)
 *   POST   /v1/reports                make a report: the body is its [report NAME] section
 *   GET    /v1/reports/NAME           one report (format=json, the default, or ini)
 *   PUT    /v1/reports/NAME           make or replace it (a section, or its keys alone)
 *   DELETE /v1/reports/NAME           remove a report made through the API
 *   GET    /v1/reports/NAME/run       run it: format=table|csv|json|html, now=RFC 3339
 *   POST   /v1/reports/NAME/run       {"url":".../run?ticket=T&...","expires_in":60}: a
 *                                     one-use link to that run (tickets.h), which
 *                                     answers as a download (Content-Disposition:
 *                                     attachment; filename="NAME.EXT")
 *
 * Reading needs the read role, changing the admin role (routes.c's table
 * and http_report_routes). The work is daemon/reports/'s.
 *
 * Not here: routing (input_http.c), the reports (daemon/reports/reports.c).
 */
#include "http/answer.h"
#include "http/routes.h"

#include "core/json_out.h"
#include "core/metrics.h"
#include "http/tickets.h"
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

static int answer(struct req *rq, struct reports_answer *a, const char *attachment)
{
    struct trail_buf *b = &a->body;
    struct MHD_Response *resp = answer_take(b);
    if (!resp) {
        rq->queued = MHD_NO;
        return 2;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            a->type ? a->type : "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    /* a report's page fetches nothing and runs nothing: the browser is told so too */
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'none'; style-src 'unsafe-inline'");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (attachment && a->status == 200)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, attachment);
    rq->queued = answer_queue(rq->conn, a->status, resp);
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
    return answer(rq, &a, NULL);
}

static int error(struct req *rq, int status, const char *msg)
{
    struct reports_answer a = {.status = status, .type = "application/json"};
    if (json_printf(&a.body, "{\"error\":") < 0 || json_str(&a.body, msg, strlen(msg)) < 0 ||
        json_printf(&a.body, "}\n") < 0)
        a.status = 500;
    return answer(rq, &a, NULL);
}

/* POST /v1/reports/NAME/run: a ticket for a link to the run (a download in the viewer) */
static int run_ticket(struct req *rq, const char *name)
{
    static const char *const formats[] = {"table", "csv", "json", "html"};
    const char *f = arg(rq->conn, "format");
    int known = 0;
    for (size_t i = 0; f && i < sizeof(formats) / sizeof(formats[0]); i++)
        known |= !strcmp(f, formats[i]);
    if (!known)
        return error(rq, 400, "format is needed: table, csv, json or html");
    /* the report must exist now, so that the link does not fail later */
    struct reports_answer got = {0};
    reports_http_get(name, "json", &got);
    trail_buf_free(&got.body);
    if (got.status != 200)
        return error(rq, got.status == 404 ? 404 : 500,
                     got.status == 404 ? "no such report" : "cannot read the report");
    char path[192];
    snprintf(path, sizeof(path), PREFIX "%s/run", name);
    struct reports_answer a = {.status = 200, .type = "application/json"};
    struct trail_buf url = {0};
    int r = ticket_url(rq->conn, path, rq->pv.principal, &url);
    if (r == 0)
        r = json_printf(&a.body, "{\"url\":");
    if (r == 0)
        r = json_str(&a.body, url.data, url.len);
    if (r == 0)
        r = json_printf(&a.body, ",\"expires_in\":%d}\n", TICKET_TTL_MS / 1000);
    trail_buf_free(&url);
    if (r < 0) {
        trail_buf_free(&a.body);
        return error(rq, 500, r == -EIO ? "no randomness for a ticket" : "out of memory");
    }
    return answer(rq, &a, NULL);
}

/* GET, PUT and DELETE /v1/reports/NAME, GET and POST /v1/reports/NAME/run */
int route_report(struct req *rq)
{
    struct reports_answer a = {0};
    char name[128];
    const char *p = rq->url + strlen(PREFIX), *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    int run = slash && !strcmp(slash, "/run");
    const char *m = rq->route->method;
    /* POST is the run's ticket, nothing else: the read role may ask for one */
    int post = !strcmp(m, "POST");
    if (n >= sizeof(name) || (slash && !run) || (run && strcmp(m, "GET") && !post) ||
        (post && !run)) {
        a.status = n < sizeof(name) && (run || (post && !slash)) ? 405 : 404;
        a.type = "application/json";
        const char *msg = a.status == 405 ? "{\"error\":\"method not allowed on this path\"}\n"
                                          : "{\"error\":\"no such path\"}\n";
        trail_buf_append(&a.body, msg, strlen(msg));
        return answer(rq, &a, NULL);
    }
    memcpy(name, p, n);
    name[n] = '\0';
    if (run && post)
        return run_ticket(rq, name);
    if (run && arg(rq->conn, "ticket")) {
        /* a link with a ticket is a download: the browser saves it as NAME.EXT */
        const char *f = arg(rq->conn, "format");
        char disp[200];
        snprintf(disp, sizeof(disp), "attachment; filename=\"%s.%s\"", name,
                 !f || !strcmp(f, "json") ? "json"
                 : !strcmp(f, "table")    ? "txt"
                                          : f);
        reports_http_run(name, f, arg(rq->conn, "now"), &a);
        return answer(rq, &a, disp);
    }
    if (run)
        reports_http_run(name, arg(rq->conn, "format"), arg(rq->conn, "now"), &a);
    else if (!strcmp(m, "GET"))
        reports_http_get(name, arg(rq->conn, "format"), &a);
    else
        reports_http_change(m, name, rq->body.data ? rq->body.data : "", rq->body.len,
                            rq->pv.principal, &a);
    return answer(rq, &a, NULL);
}

/* every /v1/reports/... path, matched by reports_http_path() in the server */
const struct route http_report_routes[] = {
    {"GET", PREFIX, route_report, 0, ROLE_READ, 0, NULL},
    {"PUT", PREFIX, route_report, 1, ROLE_ADMIN, 0, NULL},
    {"DELETE", PREFIX, route_report, 0, ROLE_ADMIN, 0, NULL},
    {"POST", PREFIX, route_report, 0, ROLE_READ, 0, NULL},
};
const size_t http_n_report_routes = sizeof(http_report_routes) / sizeof(http_report_routes[0]);
