/*
 * reports.h - traild's reports (docs/reports.md, "In traild"): the set it
 * serves (the config's [reports] dir and [report NAME] sections, and the
 * reports made through the API, one file each in STORE/reports/), the
 * changes the API makes to them (each recorded as trail_report_changed),
 * and the scheduler that renders due reports, delivers the files and
 * records each run (trail_report_run).
 *
 * Not here: the HTTP routes (daemon/http/routes_reports.c), what a report
 * is and how it is written (lib/report).
 */
#ifndef TRAILD_REPORTS_H
#define TRAILD_REPORTS_H

#include "core/config.h"
#include "trail.h"

#include <stddef.h>
#include <stdint.h>

/*
 * reports_start - read cfg's reports and those in STORE/reports/ (made
 * there if missing) and start the scheduler thread. A made report that
 * does not load (a name the config took since) is skipped and logged.
 * 0, or -errno with err.
 */
int reports_start(const struct config *cfg, const char *store_path, char *err, size_t errlen);

/* reports_reload - after a reload: the config's reports are cfg's from now on. */
void reports_reload(const struct config *cfg);

/* reports_stop - stop the scheduler and free the sets (at exit); no-op when not started. */
void reports_stop(void);

/* What a request gets back: an HTTP status and a body. */
struct reports_answer {
    int status;
    const char *type; /* the Content-Type */
    struct trail_buf body;
};

/* GET /v1/reports (format table or json, the default). */
void reports_http_list(const char *format, struct reports_answer *a);

/* GET /v1/reports/NAME (format json, the default, or ini). */
void reports_http_get(const char *name, const char *format, struct reports_answer *a);

/* GET /v1/reports/NAME/run (format table, csv, json or html; now RFC 3339 or NULL). */
void reports_http_run(const char *name, const char *format, const char *now,
                      struct reports_answer *a);

/*
 * POST /v1/reports (name NULL: the body's section names it; refused when it
 * exists), PUT /v1/reports/NAME (made or replaced), DELETE /v1/reports/NAME
 * (body NULL). who is the caller's principal, kept in the record.
 */
void reports_http_change(const char *method, const char *name, const char *body, size_t len,
                         const char *who, struct reports_answer *a);

#endif /* TRAILD_REPORTS_H */
