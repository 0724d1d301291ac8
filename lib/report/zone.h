/*
 * zone.h - time zones for reports (zone.c): a zone read from the tz
 * database, the offset at an instant, the instant of a wall time, and the
 * civil calendar. Times here are seconds since the epoch; "local" seconds
 * are a wall time counted as if it were UTC.
 *
 * Not here: schedules and periods (report.c).
 */
#ifndef TRAIL_REPORT_ZONE_H
#define TRAIL_REPORT_ZONE_H

#include "trail.h"

#include <stddef.h>
#include <stdint.h>

#define ZONE_DIR      "/usr/share/zoneinfo" /* Debian's tzdata; $TZDIR overrides */
#define ZONE_NAME_MAX 64

struct zone;

/*
 * zone_load - the zone name ("Europe/Stockholm", "UTC") from the tz
 * database. 0 and *ret_zone (zone_free), TRAIL_E_PARSE with err (unknown
 * or unreadable zone), -ENOMEM.
 */
int zone_load(const char *name, struct zone **ret_zone, char *err, size_t errlen);
void zone_free(struct zone *z);

/* zone_name - the name it was loaded by; "UTC" for NULL (NULL is UTC everywhere here). */
const char *zone_name(const struct zone *z);

/* zone_offset - seconds east of UTC in force at instant t. */
int32_t zone_offset(const struct zone *z, int64_t t);

/* zone_local - the wall time of instant t. */
int64_t zone_local(const struct zone *z, int64_t t);

/*
 * zone_to_utc - the instant of wall time local: the earlier of two (a
 * repeated hour), and for a wall time that does not exist (a skipped hour)
 * the one as far past the gap as the wall time was into it.
 */
int64_t zone_to_utc(const struct zone *z, int64_t local);

/* The civil calendar: days since 1970-01-01 and back, weekday (0 Sunday), floor division. */
int64_t zone_days_from_civil(int64_t y, int m, int d);
void zone_civil_from_days(int64_t days, int64_t *ret_y, int *ret_m, int *ret_d);
int zone_weekday(int64_t days);
int64_t zone_floor_div(int64_t a, int64_t b);

#endif /* TRAIL_REPORT_ZONE_H */
