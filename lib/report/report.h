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

/*
 * The kinds of section: a count or a list of events (the store's records),
 * or trail's own state beside the records (docs/reports.md, "trail's own
 * state"): each sink's cursor and lag (STORE/sinks/), the checkpoints signed
 * in the period (STORE/checkpoints).
 */
enum { SEC_COUNT = 0, SEC_EVENTS = 1, SEC_SINKS = 2, SEC_CHECKPOINTS = 3 };

/* report_section_kind_name - "count", "events", "sinks" or "checkpoints". */
const char *report_section_kind_name(int kind);

/* One filter of a section, as written: replayed into a fresh query at each run. */
struct report_param {
    char *key, *value;
};

struct report_section {
    char *title;
    int kind;       /* SEC_* */
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
/* checkpoints listed by a checkpoints = section that names no limit */
#define REPORT_DEFAULT_CHECKPOINTS 10

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

/*
 * The figures of a sinks = or checkpoints = section (state.c): a summary of
 * named facts, and rows of cells under named columns. A NULL value or cell
 * is none (JSON null); numeric says which are numbers (bit i: column i).
 */
#define REPORT_GRID_FACTS 8
struct report_fact {
    const char *name;
    char *value;
    int numeric;
};

struct report_grid {
    struct report_fact facts[REPORT_GRID_FACTS];
    size_t n_facts;
    const char *const *cols;
    size_t n_cols;
    unsigned numeric;
    char **cells; /* n_rows * n_cols, row by row */
    size_t n_rows;
};

void report_grid_free(struct report_grid *g);

/*
 * report_sinks_grid - every sink of store s (STORE/sinks/NAME.cursor), by
 * name, the first limit (0: all). 0 or -errno; g is freed on failure.
 */
int report_sinks_grid(struct trail_store *s, uint64_t limit, struct report_grid *g);

/*
 * report_checkpoints_grid - the checkpoints of STORE/checkpoints made in
 * [since, until), the newest limit (0: all) as rows. 0 or -errno.
 */
int report_checkpoints_grid(struct trail_store *s, int64_t since, int64_t until, uint64_t limit,
                            struct report_grid *g);

#endif /* TRAIL_REPORT_INT_H */
