/*
 * test_report_schedule.c - report schedules and zoned periods: the runs of
 * "daily 06:00 Europe/Stockholm" and the day before each, across both DST
 * changes of 2027 (28 March, 31 October), weekly and monthly forms, the
 * runs of a zone of the southern hemisphere, refused schedules. The
 * expected instants are written out by hand from the zone's rules (CET
 * UTC+1, CEST UTC+2 from 01:00Z on the last Sunday of March to 01:00Z on
 * the last Sunday of October).
 *
 * Not here: traild's scheduler (tests/integration/report_schedule.sh).
 */
#include "harness.h"
#include "trail.h"

static int64_t at(const char *t)
{
    int64_t us = 0;
    trail_time_parse(t, strlen(t), &us);
    return us;
}

static struct trail_reports *one(struct trail_catalog *cat, const char *schedule, const char *range)
{
    struct trail_reports *rs;
    char err[256] = "";
    if (trail_reports_new(cat, &rs) < 0)
        return NULL;
    int r = trail_reports_set(rs, "r", "schedule", schedule, NULL, err, sizeof(err));
    if (r == 0 && range)
        r = trail_reports_set(rs, "r", "range", range, NULL, err, sizeof(err));
    if (r == 0)
        r = trail_reports_set(rs, "r", "count", "all", NULL, err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "  %s: %s\n", schedule, err);
        trail_reports_free(rs);
        return NULL;
    }
    return rs;
}

/* the run after `after` is `want`, and the last run at `want` is `want` itself */
static int next_is(const struct trail_report *r, const char *after, const char *want)
{
    int64_t n = 0, l = 0;
    char a[32] = "", b[32] = "";
    int ok = trail_report_schedule_next(r, at(after), &n) == 0 && n == at(want) &&
             trail_report_schedule_last(r, at(want), &l) == 0 && l == n;
    if (!ok) {
        trail_time_format(n, a);
        trail_time_format(l, b);
        fprintf(stderr, "  after %s: next %s last %s, want %s\n", after, a, b, want);
    }
    return ok;
}

static int period_is(const struct trail_report *r, const char *now, const char *since,
                     const char *until)
{
    int64_t a = 0, b = 0;
    int ok = trail_report_period(r, at(now), &a, &b) == 0 && a == at(since) && b == at(until);
    if (!ok)
        fprintf(stderr, "  period at %s: %lld .. %lld\n", now, (long long)a, (long long)b);
    return ok;
}

TEST(daily_across_dst)
{
    struct trail_catalog *cat;
    ASSERT_EQ(trail_catalog_new(&cat), 0);
    struct trail_reports *rs = one(cat, "daily 06:00 Europe/Stockholm", "previous day");
    ASSERT(rs != NULL);
    const struct trail_report *r = trail_reports_find(rs, "r");
    struct trail_report_info in;
    trail_report_info(r, &in);
    ASSERT_STREQ(in.zone, "Europe/Stockholm");
    /* winter: 06:00 CET is 05:00Z */
    ASSERT(next_is(r, "2027-03-26T12:00:00Z", "2027-03-27T05:00:00Z"));
    /* the Sunday the clocks go forward (01:00Z): 06:00 CEST is 04:00Z */
    ASSERT(next_is(r, "2027-03-27T05:00:00Z", "2027-03-28T04:00:00Z"));
    ASSERT(next_is(r, "2027-03-28T04:00:00Z", "2027-03-29T04:00:00Z"));
    /* the Sunday they go back: 06:00 CET again, 05:00Z */
    ASSERT(next_is(r, "2027-10-30T04:00:00Z", "2027-10-31T05:00:00Z"));
    ASSERT(next_is(r, "2027-10-29T12:00:00Z", "2027-10-30T04:00:00Z"));
    /* the previous day, in Stockholm: the short day of 23 hours and the long one of 25 */
    ASSERT(period_is(r, "2027-03-29T04:00:00Z", "2027-03-27T23:00:00Z", "2027-03-28T22:00:00Z"));
    ASSERT(period_is(r, "2027-11-01T05:00:00Z", "2027-10-30T22:00:00Z", "2027-10-31T23:00:00Z"));
    ASSERT(period_is(r, "2027-01-15T05:00:00Z", "2027-01-13T23:00:00Z", "2027-01-14T23:00:00Z"));
    /* after 2037, where the file's transitions end, from the zone's rule */
    ASSERT(next_is(r, "2040-07-01T12:00:00Z", "2040-07-02T04:00:00Z"));
    ASSERT(next_is(r, "2040-12-01T12:00:00Z", "2040-12-02T05:00:00Z"));
    trail_reports_free(rs);
    trail_catalog_free(cat);
}

TEST(weekly_monthly_zones)
{
    struct trail_catalog *cat;
    ASSERT_EQ(trail_catalog_new(&cat), 0);
    struct trail_reports *rs = one(cat, "weekly MON 06:00 Europe/Stockholm", "previous week");
    ASSERT(rs != NULL);
    const struct trail_report *r = trail_reports_find(rs, "r");
    ASSERT(next_is(r, "2027-03-24T00:00:00Z", "2027-03-29T04:00:00Z")); /* a Monday in CEST */
    ASSERT(period_is(r, "2027-03-29T04:00:00Z", "2027-03-21T23:00:00Z", "2027-03-28T22:00:00Z"));
    trail_reports_free(rs);

    rs = one(cat, "monthly 1 00:30 Europe/Stockholm", "previous month");
    ASSERT(rs != NULL);
    r = trail_reports_find(rs, "r");
    ASSERT(next_is(r, "2027-12-15T00:00:00Z", "2027-12-31T23:30:00Z")); /* 1 January 00:30 CET */
    ASSERT(period_is(r, "2027-12-31T23:30:00Z", "2027-11-30T23:00:00Z", "2027-12-31T23:00:00Z"));
    trail_reports_free(rs);

    /* UTC without a zone; the hemisphere where summer spans the new year */
    rs = one(cat, "daily 23:59", "today");
    ASSERT(rs != NULL);
    ASSERT(next_is(trail_reports_find(rs, "r"), "2027-06-01T23:59:00Z", "2027-06-02T23:59:00Z"));
    trail_reports_free(rs);
    rs = one(cat, "daily 12:00 Australia/Sydney", NULL);
    ASSERT(rs != NULL);
    r = trail_reports_find(rs, "r");
    ASSERT(next_is(r, "2027-01-10T00:00:00Z", "2027-01-10T01:00:00Z")); /* AEDT, UTC+11 */
    ASSERT(next_is(r, "2027-07-10T00:00:00Z", "2027-07-10T02:00:00Z")); /* AEST, UTC+10 */
    ASSERT(next_is(r, "2040-01-10T00:00:00Z", "2040-01-10T01:00:00Z"));
    trail_reports_free(rs);
    trail_catalog_free(cat);
}

TEST(refused)
{
    struct trail_catalog *cat;
    struct trail_reports *rs;
    char err[256];
    ASSERT_EQ(trail_catalog_new(&cat), 0);
    ASSERT_EQ(trail_reports_new(cat, &rs), 0);
    const char *bad[] = {"daily 6:00",         "daily 24:00",         "hourly 06:00",
                         "weekly FUN 06:00",   "monthly 29 06:00",    "daily 06:00 Mars/Base",
                         "daily 06:00 ../etc", "daily 06:00 UTC more"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        err[0] = '\0';
        ASSERT_EQ(trail_reports_set(rs, "r", "schedule", bad[i], NULL, err, sizeof(err)),
                  TRAIL_E_PARSE);
        ASSERT(err[0] != '\0');
    }
    ASSERT_EQ(trail_reports_set(rs, "r", "deliver", "ftp://x", NULL, err, sizeof(err)),
              TRAIL_E_PARSE);
    ASSERT_EQ(trail_reports_set(rs, "r", "formats", "pdf", NULL, err, sizeof(err)), TRAIL_E_PARSE);
    ASSERT_EQ(trail_reports_set(rs, "r", "formats", "html, csv", NULL, err, sizeof(err)), 0);
    ASSERT_EQ(trail_report_formats(trail_reports_find(rs, "r")),
              (1u << TRAIL_REPORT_HTML) | (1u << TRAIL_REPORT_CSV));
    int64_t t;
    ASSERT_EQ(trail_report_schedule_next(trail_reports_find(rs, "r"), 0, &t), TRAIL_E_NOT_FOUND);
    trail_reports_free(rs);
    trail_catalog_free(cat);
}

TEST_MAIN(daily_across_dst, weekly_monthly_zones, refused)
