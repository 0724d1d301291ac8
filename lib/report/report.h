/*
 * report.h - what report.c (the definitions) and render.c (running and
 * writing a report) share inside lib/report.
 *
 * Not here: the public calls (include/trail.h, "Reports").
 */
#ifndef TRAIL_REPORT_INT_H
#define TRAIL_REPORT_INT_H

#include "trail.h"

#include <stddef.h>
#include <stdint.h>

enum { SEC_COUNT = 0, SEC_EVENTS = 1 };

/* One filter of a section, as written: replayed into a fresh query at each run. */
struct report_param {
    char *key, *value;
};

struct report_section {
    char *title;
    int kind;       /* SEC_COUNT or SEC_EVENTS */
    char *range;    /* NULL: the report's */
    uint64_t limit; /* events shown, or count rows shown (0: all) */
    int has_limit;
    int has_by;
    struct report_param *params;
    size_t n_params;
};

/* A schedule (docs/reports.md, "Schedules"): when, as a wall time in zone. */
enum { SCHED_NONE = 0, SCHED_DAILY, SCHED_WEEKLY, SCHED_MONTHLY };
struct report_schedule {
    int kind;
    int wday; /* weekly: 0 Sunday .. 6 Saturday */
    int mday; /* monthly: 1 .. 28 */
    int hh, mm;
};

struct zone;

struct trail_report {
    const struct trail_catalog *cat; /* of the set it belongs to */
    char *name, *title, *category, *description, *range, *source;
    char *schedule, *deliver; /* as written; NULL: none */
    unsigned formats;         /* what a scheduled run renders: bits 1 << TRAIL_REPORT_*; 0: html */
    struct report_schedule sched;
    struct zone *zone; /* the schedule's: calendar periods are read in it; NULL: UTC */
    struct report_section *sec;
    size_t n_sec;
};

struct trail_reports {
    const struct trail_catalog *cat;
    struct trail_report **r; /* in name order */
    size_t n;
};

/* REPORT_DEFAULT_RANGE - the range of a report that names none. */
#define REPORT_DEFAULT_RANGE  "last 7d"
#define REPORT_DEFAULT_EVENTS 100

/*
 * report_range_in - trail_report_range() with calendar periods (days,
 * weeks, months, ...) read in zone z (NULL: UTC).
 */
int report_range_in(const char *text, int64_t now_us, const struct zone *z, int64_t *ret_since,
                    int64_t *ret_until, char *err, size_t errlen);

/* report_section_range - the range text that applies to section s of r. */
const char *report_section_range(const struct trail_report *r, const struct report_section *s);

/*
 * report_section_query - a new query with section s's filters, over
 * [since, until), for cat. 0 and *ret_q (the caller frees), or
 * TRAIL_E_PARSE with err, -ENOMEM.
 */
int report_section_query(const struct trail_catalog *cat, const struct report_section *s,
                         int64_t since, int64_t until, struct trail_query **ret_q, char *err,
                         size_t errlen);

#endif /* TRAIL_REPORT_INT_H */
