/*
 * test_report.c - report periods at the edges of the calendar (weeks across
 * a year, quarters, a leap February), definitions refused or kept, and the
 * HTML escaper the reports' page uses.
 *
 * Not here: running the pack over a store (tests/integration/report_pack.sh).
 */
#include "codec/codec.h"
#include "harness.h"
#include "trail.h"

static int64_t at(const char *t)
{
    int64_t us = 0;
    trail_time_parse(t, strlen(t), &us);
    return us;
}

/* range text at now = [since, until) as RFC 3339 times, or "" where open */
static int range_is(const char *text, const char *now, const char *since, const char *until)
{
    int64_t a, b;
    char err[256];
    if (trail_report_range(text, at(now), &a, &b, err, sizeof(err)) < 0) {
        fprintf(stderr, "  %s: %s\n", text, err);
        return 0;
    }
    int ok = (since[0] ? a == at(since) : a == INT64_MIN) &&
             (until[0] ? b == at(until) : b == INT64_MAX);
    if (!ok)
        fprintf(stderr, "  %s at %s: %lld .. %lld\n", text, now, (long long)a, (long long)b);
    return ok;
}

TEST(ranges)
{
    const char *now = "2026-01-01T00:10:00Z"; /* a Thursday, just past the turn of the year */
    ASSERT(range_is("last 7d", now, "2025-12-25T00:10:00Z", now));
    ASSERT(range_is("today", now, "2026-01-01T00:00:00Z", now));
    ASSERT(range_is("yesterday", now, "2025-12-31T00:00:00Z", "2026-01-01T00:00:00Z"));
    ASSERT(range_is("this week", now, "2025-12-29T00:00:00Z", now));
    ASSERT(range_is("previous week", now, "2025-12-22T00:00:00Z", "2025-12-29T00:00:00Z"));
    ASSERT(range_is("previous month", now, "2025-12-01T00:00:00Z", "2026-01-01T00:00:00Z"));
    ASSERT(range_is("previous quarter", now, "2025-10-01T00:00:00Z", "2026-01-01T00:00:00Z"));
    ASSERT(range_is("previous year", now, "2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z"));
    ASSERT(range_is("this quarter", "2028-03-01T12:00:00Z", "2028-01-01T00:00:00Z",
                    "2028-03-01T12:00:00Z"));
    ASSERT(range_is("previous month", "2028-03-01T12:00:00Z", "2028-02-01T00:00:00Z",
                    "2028-03-01T00:00:00Z"));
    /* a Monday is the first day of its own week */
    ASSERT(range_is("this week", "2026-11-30T08:00:00Z", "2026-11-30T00:00:00Z",
                    "2026-11-30T08:00:00Z"));
    ASSERT(
        range_is("2026-11-01 .. 2026-12-01", now, "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"));
    ASSERT(range_is("2026-11-01T08:00:00+01:00 ..", now, "2026-11-01T07:00:00Z", ""));
    ASSERT(range_is("all", now, "", ""));
    int64_t a, b;
    ASSERT_EQ(trail_report_range("last week", 0, &a, &b, NULL, 0), TRAIL_E_PARSE);
    ASSERT_EQ(trail_report_range("this fortnight", 0, &a, &b, NULL, 0), TRAIL_E_PARSE);
    ASSERT_EQ(trail_report_range("2026-12-01 .. 2026-11-01", 0, &a, &b, NULL, 0), TRAIL_E_PARSE);
}

TEST(definitions)
{
    struct trail_catalog *cat;
    struct trail_reports *rs;
    char err[256];
    ASSERT_EQ(trail_catalog_new(&cat), 0);
    ASSERT_EQ(trail_reports_new(cat, &rs), 0);
    ASSERT_EQ(trail_reports_set(rs, "Bad Name", "title", "x", NULL, err, sizeof(err)),
              TRAIL_E_PARSE);
    ASSERT_EQ(trail_reports_set(rs, "r", "title", "R", NULL, err, sizeof(err)), 0);
    ASSERT_EQ(trail_reports_check(rs, err, sizeof(err)), TRAIL_E_PARSE);
    ASSERT_EQ(trail_reports_set(rs, "r", "count", "C", NULL, err, sizeof(err)), 0);
    ASSERT_EQ(trail_reports_set(rs, "r", "event", "prism_user_*, ", NULL, err, sizeof(err)), 0);
    ASSERT_EQ(trail_reports_set(rs, "r", "by", "colour", NULL, err, sizeof(err)), TRAIL_E_PARSE);
    ASSERT_EQ(trail_reports_set(rs, "r", "order", "oldest", NULL, err, sizeof(err)), TRAIL_E_PARSE);
    ASSERT_EQ(trail_reports_check(rs, err, sizeof(err)), 0);
    struct trail_buf b = {0};
    ASSERT_EQ(trail_report_describe(trail_reports_find(rs, "r"), &b), 0);
    ASSERT(strstr(b.data, "count = C\nevent = prism_user_*\n") != NULL);
    trail_buf_free(&b);
    trail_reports_free(rs);
    trail_catalog_free(cat);
}

TEST(html_text)
{
    struct trail_buf b = {0};
    const char *s = "<a href=\"x\">&'\x1b</a>";
    ASSERT_EQ(codec_html_text(&b, s, strlen(s)), 0);
    ASSERT_STREQ(b.data, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;\\u001b&lt;/a&gt;");
    trail_buf_free(&b);
}

TEST_MAIN(ranges, definitions, html_text)
