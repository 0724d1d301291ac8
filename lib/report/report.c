/*
 * report.c - report definitions: the [report NAME] sections of a report
 * file or of traild's config, checked as they are read, and the time ranges
 * (`last 7d`, `previous month`, `this quarter`, `2026-11-01 .. 2026-12-01`)
 * resolved against a given "now".
 *
 * A report file is the INI form of trail.conf, read line by line here so
 * that the library needs no INI library: `[section]` headers, `key = value`
 * lines, comments on lines of their own (`;` or `#`) or after " ;" as
 * libinih takes them in trail.conf; an indented line continues the key
 * above (another line of a description). Sections other than [report NAME]
 * are skipped, so a whole trail.conf can be read.
 *
 * Not here: running and writing a report (render.c), the filters (lib/query).
 */
#include "report/report.h"
#include "report/zone.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return TRAIL_E_PARSE;
}

/* ---- time ranges ---- */

#define US 1000000LL

/* The instant (µs) local midnight of local day `days` in z. */
static int64_t local_midnight(const struct zone *z, int64_t days)
{
    return zone_to_utc(z, days * 86400) * US;
}

/* The local day (days since 1970-01-01) that holds instant t_us in z. */
static int64_t local_day(const struct zone *z, int64_t t_us)
{
    return zone_floor_div(zone_local(z, zone_floor_div(t_us, US)), 86400);
}

static int64_t day_start(const struct zone *z, int64_t t_us)
{
    return local_midnight(z, local_day(z, t_us));
}

/* Start of the calendar period (in z) holding t_us, moved back by `back` periods. */
static int64_t period_start(const char *p, const struct zone *z, int64_t t_us, int back)
{
    int64_t days = local_day(z, t_us), y;
    int m, d;
    if (!strcmp(p, "day"))
        return local_midnight(z, days - back);
    if (!strcmp(p, "week")) {
        int since_monday = (zone_weekday(days) + 6) % 7;
        return local_midnight(z, days - since_monday - 7LL * back);
    }
    zone_civil_from_days(days, &y, &m, &d);
    int months = !strcmp(p, "month") ? 1 : !strcmp(p, "quarter") ? 3 : 12;
    int64_t mi = y * 12 + (m - 1);
    mi = zone_floor_div(mi, months) * months - (int64_t)months * back;
    return local_midnight(z, zone_days_from_civil(zone_floor_div(mi, 12),
                                                  (int)(mi - zone_floor_div(mi, 12) * 12) + 1, 1));
}

/* A bound of an absolute range: RFC 3339, or a date (midnight UTC). */
static int bound(const char *s, size_t n, int64_t *ret)
{
    char tmp[64];
    if (n == 10 && n < sizeof(tmp)) {
        memcpy(tmp, s, n);
        memcpy(tmp + n, "T00:00:00Z", 11);
        return trail_time_parse(tmp, n + 10, ret);
    }
    return trail_time_parse(s, n, ret);
}

static size_t trim(const char **s, size_t n)
{
    while (n && (**s == ' ' || **s == '\t'))
        (*s)++, n--;
    while (n && ((*s)[n - 1] == ' ' || (*s)[n - 1] == '\t'))
        n--;
    return n;
}

int trail_report_range(const char *text, int64_t now_us, int64_t *ret_since, int64_t *ret_until,
                       char *err, size_t errlen)
{
    return report_range_in(text, now_us, NULL, ret_since, ret_until, err, errlen);
}

int report_range_in(const char *text, int64_t now_us, const struct zone *z, int64_t *ret_since,
                    int64_t *ret_until, char *err, size_t errlen)
{
    int64_t since = INT64_MIN, until = INT64_MAX, d;
    const char *dots = strstr(text, "..");
    char p[16];
    if (dots) {
        const char *a = text, *b = dots + 2;
        size_t na = trim(&a, (size_t)(dots - text)), nb = trim(&b, strlen(b));
        if ((na && bound(a, na, &since) < 0) || (nb && bound(b, nb, &until) < 0))
            goto bad;
        if (na && nb && since >= until)
            return fail(err, errlen, "bad range '%s': the start is not before the end", text);
    } else if (!strcmp(text, "all")) {
        /* open on both sides */
    } else if (!strncmp(text, "last ", 5)) {
        if (trail_duration_parse(text + 5, strlen(text + 5), &d) < 0)
            goto bad;
        since = now_us - d, until = now_us;
    } else if (!strcmp(text, "today")) {
        since = day_start(z, now_us), until = now_us;
    } else if (!strcmp(text, "yesterday")) {
        until = day_start(z, now_us), since = period_start("day", z, now_us, 1);
    } else if (sscanf(text, "this %15s", p) == 1 || sscanf(text, "previous %15s", p) == 1) {
        if (strcmp(p, "day") && strcmp(p, "week") && strcmp(p, "month") && strcmp(p, "quarter") &&
            strcmp(p, "year"))
            goto bad;
        if (text[0] == 't') {
            since = period_start(p, z, now_us, 0), until = now_us;
        } else {
            since = period_start(p, z, now_us, 1), until = period_start(p, z, now_us, 0);
        }
    } else {
        goto bad;
    }
    *ret_since = since;
    *ret_until = until;
    return 0;
bad:
    return fail(err, errlen,
                "bad range '%s': use last N(s|m|h|d|w), today, yesterday, this or previous "
                "day|week|month|quarter|year, all, or SINCE .. UNTIL (RFC 3339 times or dates)",
                text);
}

/* ---- schedules ---- */

static const char *const wdays[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

/*
 * "daily HH:MM [ZONE]", "weekly DAY HH:MM [ZONE]", "monthly D HH:MM [ZONE]"
 * into *ret and *ret_zone (NULL: UTC).
 */
static int parse_schedule(const char *text, struct report_schedule *ret, struct zone **ret_zone,
                          char *err, size_t errlen)
{
    char kind[16] = "", a[ZONE_NAME_MAX] = "", b[ZONE_NAME_MAX] = "", c[ZONE_NAME_MAX] = "",
         extra[2] = "";
    struct report_schedule s = {0};
    int n = sscanf(text, "%15s %63s %63s %63s %1s", kind, a, b, c, extra);
    const char *hm = a, *zone = b;
    if (!strcmp(kind, "daily") && n >= 2 && n <= 3) {
        s.kind = SCHED_DAILY;
    } else if (!strcmp(kind, "weekly") && n >= 3 && n <= 4) {
        s.kind = SCHED_WEEKLY, hm = b, zone = c;
        s.wday = -1;
        for (int i = 0; i < 7; i++)
            if (!strcasecmp(a, wdays[i]))
                s.wday = i;
        if (s.wday < 0)
            goto bad;
    } else if (!strcmp(kind, "monthly") && n >= 3 && n <= 4) {
        char *end;
        long d = strtol(a, &end, 10);
        if (*end || d < 1 || d > 28)
            goto bad;
        s.kind = SCHED_MONTHLY, s.mday = (int)d, hm = b, zone = c;
    } else {
        goto bad;
    }
    if (strlen(hm) != 5 || hm[2] != ':' || sscanf(hm, "%2d:%2d", &s.hh, &s.mm) != 2 || s.hh < 0 ||
        s.hh > 23 || s.mm < 0 || s.mm > 59)
        goto bad;
    struct zone *z = NULL;
    if (*zone) {
        int r = zone_load(zone, &z, err, errlen);
        if (r < 0)
            return r;
    }
    *ret = s;
    *ret_zone = z;
    return 0;
bad:
    return fail(err, errlen,
                "bad schedule '%s': use daily HH:MM, weekly MON..SUN HH:MM or monthly 1..28 "
                "HH:MM, then a time zone (Europe/Stockholm; default UTC)",
                text);
}

/* Does local day `days` match s? */
static int sched_day(const struct report_schedule *s, int64_t days)
{
    int64_t y;
    int m, d;
    if (s->kind == SCHED_WEEKLY)
        return zone_weekday(days) == s->wday;
    if (s->kind == SCHED_MONTHLY) {
        zone_civil_from_days(days, &y, &m, &d);
        return d == s->mday;
    }
    return 1;
}

/* The run of local day `days`, in µs. */
static int64_t sched_at(const struct trail_report *r, int64_t days)
{
    return zone_to_utc(r->zone, days * 86400 + r->sched.hh * 3600 + r->sched.mm * 60) * US;
}

int trail_report_schedule_next(const struct trail_report *r, int64_t after_us, int64_t *ret_us)
{
    if (r->sched.kind == SCHED_NONE)
        return TRAIL_E_NOT_FOUND;
    for (int64_t d = local_day(r->zone, after_us) - 1, e = d + 40; d <= e; d++)
        if (sched_day(&r->sched, d) && sched_at(r, d) > after_us) {
            *ret_us = sched_at(r, d);
            return 0;
        }
    return TRAIL_E_NOT_FOUND;
}

int trail_report_schedule_last(const struct trail_report *r, int64_t at_us, int64_t *ret_us)
{
    if (r->sched.kind == SCHED_NONE)
        return TRAIL_E_NOT_FOUND;
    for (int64_t d = local_day(r->zone, at_us) + 1, e = d - 40; d >= e; d--)
        if (sched_day(&r->sched, d) && sched_at(r, d) <= at_us) {
            *ret_us = sched_at(r, d);
            return 0;
        }
    return TRAIL_E_NOT_FOUND;
}

int trail_report_period(const struct trail_report *r, int64_t now_us, int64_t *ret_since,
                        int64_t *ret_until)
{
    return report_range_in(r->range ? r->range : REPORT_DEFAULT_RANGE, now_us, r->zone, ret_since,
                           ret_until, NULL, 0);
}

unsigned trail_report_formats(const struct trail_report *r)
{
    return r->formats ? r->formats : 1u << TRAIL_REPORT_HTML;
}

static int parse_formats(const char *text, unsigned *ret)
{
    char *copy = strdup(text), *save = NULL;
    unsigned f = 0;
    int r = copy ? 0 : -ENOMEM;
    for (char *g = copy ? strtok_r(copy, ", ", &save) : NULL; r == 0 && g;
         g = strtok_r(NULL, ", ", &save)) {
        int one;
        if ((r = trail_report_format_parse(g, &one)) == 0)
            f |= 1u << one;
    }
    free(copy);
    if (r == 0 && !f)
        r = TRAIL_E_PARSE;
    if (r == 0)
        *ret = f;
    return r;
}

/* ---- definitions ---- */

static const char *const filter_keys[] = {"event", "severity", "where", "text", "by", "order"};

static int is_filter_key(const char *k)
{
    for (size_t i = 0; i < sizeof(filter_keys) / sizeof(*filter_keys); i++)
        if (!strcmp(k, filter_keys[i]))
            return 1;
    return 0;
}

static int valid_name(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len > 64)
        return 0;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
            return 0;
    return 1;
}

int trail_reports_new(const struct trail_catalog *cat, struct trail_reports **ret_reports)
{
    struct trail_reports *rs = calloc(1, sizeof(*rs));
    if (!rs)
        return -ENOMEM;
    rs->cat = cat;
    *ret_reports = rs;
    return 0;
}

static void report_free(struct trail_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_sec; i++) {
        struct report_section *s = &r->sec[i];
        for (size_t j = 0; j < s->n_params; j++) {
            free(s->params[j].key);
            free(s->params[j].value);
        }
        free(s->params);
        free(s->title);
        free(s->range);
    }
    free(r->sec);
    free(r->name);
    free(r->title);
    free(r->category);
    free(r->description);
    free(r->range);
    free(r->source);
    free(r->schedule);
    free(r->deliver);
    zone_free(r->zone);
    free(r);
}

void trail_reports_free(struct trail_reports *rs)
{
    if (!rs)
        return;
    for (size_t i = 0; i < rs->n; i++)
        report_free(rs->r[i]);
    free(rs->r);
    free(rs);
}

/* The report named name, made (in name order) when create and missing. */
static struct trail_report *lookup(struct trail_reports *rs, const char *name, int create,
                                   const char *where, int *ret_r)
{
    size_t lo = 0, hi = rs->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(rs->r[mid]->name, name);
        if (c == 0)
            return rs->r[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *ret_r = -ENOMEM;
    if (!create)
        return NULL;
    struct trail_report *r = calloc(1, sizeof(*r));
    struct trail_report **grown = realloc(rs->r, (rs->n + 1) * sizeof(*grown));
    if (!r || !grown || !(r->name = strdup(name)) ||
        !(r->source = strdup(where ? where : "config"))) {
        if (grown)
            rs->r = grown;
        report_free(r);
        return NULL;
    }
    rs->r = grown;
    memmove(rs->r + lo + 1, rs->r + lo, (rs->n - lo) * sizeof(*rs->r));
    rs->r[lo] = r;
    rs->n++;
    r->cat = rs->cat;
    *ret_r = 0;
    return r;
}

static int set_str(char **dst, const char *v)
{
    char *c = strdup(v);
    if (!c)
        return -ENOMEM;
    free(*dst);
    *dst = c;
    return 0;
}

static int add_param(struct report_section *s, const char *k, const char *v)
{
    struct report_param *p = realloc(s->params, (s->n_params + 1) * sizeof(*p));
    if (!p)
        return -ENOMEM;
    s->params = p;
    p[s->n_params].key = strdup(k);
    p[s->n_params].value = strdup(v);
    if (!p[s->n_params].key || !p[s->n_params].value) {
        free(p[s->n_params].key);
        free(p[s->n_params].value);
        return -ENOMEM;
    }
    s->n_params++;
    return 0;
}

int report_section_query(const struct trail_catalog *cat, const struct report_section *s,
                         int64_t since, int64_t until, struct trail_query **ret_q, char *err,
                         size_t errlen)
{
    struct trail_query *q;
    char t[32];
    int r = trail_query_new(cat, &q);
    if (r < 0)
        return r;
    for (size_t i = 0; r == 0 && i < s->n_params; i++)
        r = trail_query_set(q, s->params[i].key, s->params[i].value, err, errlen);
    if (r == 0 && since != INT64_MIN) {
        trail_time_format(since, t);
        r = trail_query_set(q, "since", t, err, errlen);
    }
    if (r == 0 && until != INT64_MAX) {
        trail_time_format(until, t);
        r = trail_query_set(q, "until", t, err, errlen);
    }
    if (r == 0 && s->kind == SEC_EVENTS) {
        snprintf(t, sizeof(t), "%llu",
                 (unsigned long long)(s->has_limit ? s->limit : REPORT_DEFAULT_EVENTS));
        r = trail_query_set(q, "limit", t, err, errlen);
    }
    if (r < 0) {
        trail_query_free(q);
        return r;
    }
    *ret_q = q;
    return 0;
}

const char *report_section_range(const struct trail_report *r, const struct report_section *s)
{
    return s->range ? s->range : r->range ? r->range : REPORT_DEFAULT_RANGE;
}

static const char *const kind_names[] = {[SEC_COUNT] = "count",
                                         [SEC_EVENTS] = "events",
                                         [SEC_SINKS] = "sinks",
                                         [SEC_CHECKPOINTS] = "checkpoints"};

const char *report_section_kind_name(int kind)
{
    return kind >= 0 && kind < (int)(sizeof(kind_names) / sizeof(*kind_names)) ? kind_names[kind]
                                                                               : "count";
}

/* The kind a key starts a section of, or -1. */
static int section_kind(const char *key)
{
    for (int k = 0; k < (int)(sizeof(kind_names) / sizeof(*kind_names)); k++)
        if (!strcmp(key, kind_names[k]))
            return k;
    return -1;
}

int trail_reports_set(struct trail_reports *rs, const char *name, const char *key,
                      const char *value, const char *where, char *err, size_t errlen)
{
    int r = 0;
    if (!valid_name(name))
        return fail(err, errlen, "bad report name '%s': use 1 to 64 of a-z, 0-9, '-' and '_'",
                    name);
    struct trail_report *rep = lookup(rs, name, 1, where, &r);
    if (!rep)
        return r;
    struct report_section *s = rep->n_sec ? &rep->sec[rep->n_sec - 1] : NULL;
    int64_t a, b;
    if (!strcmp(key, "title"))
        return set_str(&rep->title, value);
    if (!strcmp(key, "category"))
        return set_str(&rep->category, value);
    if (!strcmp(key, "description")) {
        if (!rep->description)
            return set_str(&rep->description, value);
        size_t n = strlen(rep->description);
        char *j = realloc(rep->description, n + 1 + strlen(value) + 1);
        if (!j)
            return -ENOMEM;
        j[n] = ' ';
        strcpy(j + n + 1, value);
        rep->description = j;
        return 0;
    }
    int kind = section_kind(key);
    if (kind >= 0) {
        if (!*value)
            return fail(err, errlen, "report %s: %s = needs a title", name, key);
        struct report_section *g = realloc(rep->sec, (rep->n_sec + 1) * sizeof(*g));
        if (!g)
            return -ENOMEM;
        rep->sec = g;
        s = &g[rep->n_sec];
        memset(s, 0, sizeof(*s));
        s->kind = kind;
        if (!(s->title = strdup(value)))
            return -ENOMEM;
        rep->n_sec++;
        return 0;
    }
    if (!strcmp(key, "schedule")) {
        struct report_schedule sc;
        struct zone *z = NULL;
        if ((r = parse_schedule(value, &sc, &z, err, errlen)) < 0)
            return r;
        if ((r = set_str(&rep->schedule, value)) < 0) {
            zone_free(z);
            return r;
        }
        zone_free(rep->zone);
        rep->sched = sc;
        rep->zone = z;
        return 0;
    }
    if (!strcmp(key, "deliver")) {
        if (strncmp(value, "dir:/", 5) && strncmp(value, "webhook:http://", 15) &&
            strncmp(value, "webhook:https://", 16))
            return fail(err, errlen,
                        "report %s: bad deliver '%s': use dir:/ABSOLUTE/PATH or webhook:URL", name,
                        value);
        return set_str(&rep->deliver, value);
    }
    if (!strcmp(key, "formats")) {
        if ((r = parse_formats(value, &rep->formats)) == TRAIL_E_PARSE)
            return fail(err, errlen,
                        "report %s: bad formats '%s': a list of table, csv, json and html", name,
                        value);
        return r;
    }
    if (!strcmp(key, "range")) {
        if (s && s->kind == SEC_SINKS)
            return fail(err, errlen,
                        "report %s: range = is not for a sinks = section (it shows the sinks now)",
                        name);
        if ((r = trail_report_range(value, 0, &a, &b, err, errlen)) < 0)
            return r;
        return set_str(s ? &s->range : &rep->range, value);
    }
    if (!s && (is_filter_key(key) || !strcmp(key, "limit")))
        return fail(err, errlen,
                    "report %s: %s = comes before the first section (count =, events =)", name,
                    key);
    if (!strcmp(key, "limit")) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(value, &end, 10);
        if (!*value || *end || errno || value[0] == '-')
            return fail(err, errlen, "report %s: bad limit '%s': not a number", name, value);
        s->limit = v;
        s->has_limit = 1;
        return 0;
    }
    if (!is_filter_key(key))
        return fail(err, errlen, "report %s: unknown key '%s'", name, key);
    if (s->kind == SEC_SINKS || s->kind == SEC_CHECKPOINTS)
        return fail(err, errlen,
                    "report %s: %s = is a filter of records: a %s = section reads trail's own "
                    "state, not records",
                    name, key, report_section_kind_name(s->kind));
    if (!strcmp(key, "by") && s->kind != SEC_COUNT)
        return fail(err, errlen, "report %s: by = is for count = sections, not events =", name);
    if (!strcmp(key, "order") && s->kind != SEC_EVENTS)
        return fail(err, errlen, "report %s: order = is for events = sections, not count =", name);
    if (!strcmp(key, "event") && strchr(value, ',')) {
        /* a list, written across a line as "a, b, c": each glob on its own (they are ORed) */
        char *copy = strdup(value), *save = NULL;
        if (!copy)
            return -ENOMEM;
        for (char *g = strtok_r(copy, ",", &save); r == 0 && g; g = strtok_r(NULL, ",", &save)) {
            const char *t = g;
            size_t n = trim(&t, strlen(g));
            ((char *)t)[n] = '\0';
            r = *t ? trail_reports_set(rs, name, key, t, where, err, errlen) : 0;
        }
        free(copy);
        return r;
    }
    /* checked now, against a query of its own, so that a bad filter is refused at load */
    struct trail_query *q;
    if ((r = trail_query_new(rs->cat, &q)) < 0)
        return r;
    char qerr[256];
    r = trail_query_set(q, key, value, qerr, sizeof(qerr));
    trail_query_free(q);
    if (r < 0)
        return fail(err, errlen, "report %s: %s", name, qerr);
    if (!strcmp(key, "by"))
        s->has_by = 1;
    return add_param(s, key, value);
}

int trail_reports_check(const struct trail_reports *rs, char *err, size_t errlen)
{
    for (size_t i = 0; i < rs->n; i++)
        if (rs->r[i]->n_sec == 0)
            return fail(err, errlen,
                        "report %s (%s): no section (count =, events =, sinks = or checkpoints =)",
                        rs->r[i]->name, rs->r[i]->source);
    return 0;
}

/* ---- the INI reader ---- */

static char *strip(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

int trail_reports_load_file(struct trail_reports *rs, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        int r = -errno;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return r;
    }
    char *line = NULL, section[128] = "", last_key[64] = "", where[512], e[512];
    size_t cap = 0;
    int lineno = 0, r = 0, in_report = 0;
    while (r == 0 && getline(&line, &cap, f) >= 0) {
        lineno++;
        int indented = line[0] == ' ' || line[0] == '\t';
        char *s = strip(line);
        if (!*s || *s == ';' || *s == '#')
            continue;
        char *c = strstr(s, " ;");
        if (!c)
            c = strstr(s, "\t;");
        if (c && *s != '[')
            *c = '\0', s = strip(s);
        snprintf(where, sizeof(where), "%s line %d", path, lineno);
        if (*s == '[') {
            char *end = strchr(s, ']');
            if (!end) {
                r = fail(err, errlen, "%s: a section header without ']'", where);
                break;
            }
            *end = '\0';
            snprintf(section, sizeof(section), "%s", strip(s + 1));
            last_key[0] = '\0';
            in_report = !strncmp(section, "report ", 7);
            if (in_report) {
                const char *name = section + 7;
                while (*name == ' ')
                    name++;
                memmove(section, name, strlen(name) + 1);
                if (trail_reports_find(rs, section)) {
                    r = fail(err, errlen, "%s: report %s is defined twice", where, section);
                    break;
                }
                if (!valid_name(section)) {
                    r = fail(err, errlen,
                             "%s: bad report name '%s': use 1 to 64 of a-z, 0-9, '-' and '_'",
                             where, section);
                    break;
                }
                int made;
                if (!lookup(rs, section, 1, path, &made))
                    r = made;
            }
            continue;
        }
        if (!in_report)
            continue;
        char *eq = strchr(s, '=');
        const char *key, *value;
        if (indented && last_key[0] && !eq) {
            key = last_key, value = s;
        } else if (!eq) {
            r = fail(err, errlen, "%s: expected key = value", where);
            break;
        } else {
            *eq = '\0';
            key = strip(s), value = strip(eq + 1);
            snprintf(last_key, sizeof(last_key), "%s", key);
        }
        if ((r = trail_reports_set(rs, section, key, value, path, e, sizeof(e))) == TRAIL_E_PARSE)
            fail(err, errlen, "%s: %s", where, e);
    }
    free(line);
    fclose(f);
    return r;
}

static int conf_name(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return d->d_name[0] != '.' && n > 5 && !strcmp(d->d_name + n - 5, ".conf");
}

int trail_reports_load_dir(struct trail_reports *rs, const char *dir, char *err, size_t errlen)
{
    struct dirent **names;
    int n = scandir(dir, &names, conf_name, alphasort), r = 0;
    if (n < 0) {
        r = -errno;
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return r;
    }
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
        if (r == 0)
            r = trail_reports_load_file(rs, path, err, errlen);
        free(names[i]);
    }
    free(names);
    return r;
}

/* ---- looking at them ---- */

size_t trail_reports_count(const struct trail_reports *rs)
{
    return rs->n;
}

const struct trail_report *trail_reports_at(const struct trail_reports *rs, size_t i)
{
    return i < rs->n ? rs->r[i] : NULL;
}

const struct trail_report *trail_reports_find(const struct trail_reports *rs, const char *name)
{
    int r;
    return lookup((struct trail_reports *)rs, name, 0, NULL, &r);
}

void trail_report_info(const struct trail_report *r, struct trail_report_info *ret_info)
{
    ret_info->name = r->name;
    ret_info->title = r->title ? r->title : r->name;
    ret_info->category = r->category ? r->category : "Other";
    ret_info->description = r->description ? r->description : "";
    ret_info->source = r->source;
    ret_info->sections = r->n_sec;
    ret_info->schedule = r->schedule ? r->schedule : "";
    ret_info->deliver = r->deliver ? r->deliver : "";
    ret_info->zone = zone_name(r->zone);
    ret_info->range = r->range ? r->range : REPORT_DEFAULT_RANGE;
}

int trail_report_format_parse(const char *text, int *ret_format)
{
    static const char *const names[] = {"table", "csv", "json", "html"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(text, names[i])) {
            *ret_format = i;
            return 0;
        }
    return TRAIL_E_PARSE;
}

static int put(struct trail_buf *b, const char *s)
{
    return trail_buf_append(b, s, strlen(s));
}

static int put_kv(struct trail_buf *b, const char *k, const char *v)
{
    int r = put(b, k);
    if (r == 0)
        r = put(b, " = ");
    /* a definition is text a user wrote: shown escaped, one line per key */
    if (r == 0)
        r = trail_text_escape(b, v, strlen(v), NULL, TRAIL_ESC_NL | TRAIL_ESC_TAB);
    if (r == 0)
        r = put(b, "\n");
    return r;
}

int trail_report_describe(const struct trail_report *r, struct trail_buf *out)
{
    struct trail_report_info in;
    trail_report_info(r, &in);
    int e = put(out, "[report ");
    if (e == 0)
        e = put(out, r->name);
    if (e == 0)
        e = put(out, "]\n");
    if (e == 0)
        e = put_kv(out, "title", in.title);
    if (e == 0)
        e = put_kv(out, "category", in.category);
    if (e == 0 && r->description)
        e = put_kv(out, "description", r->description);
    if (e == 0 && r->range)
        e = put_kv(out, "range", r->range);
    if (e == 0 && r->schedule)
        e = put_kv(out, "schedule", r->schedule);
    if (e == 0 && r->formats) {
        static const char *const names[] = {"table", "csv", "json", "html"};
        char f[64] = "";
        for (int k = 0; k < 4; k++)
            if (r->formats & (1u << k))
                snprintf(f + strlen(f), sizeof(f) - strlen(f), "%s%s", *f ? ", " : "", names[k]);
        e = put_kv(out, "formats", f);
    }
    if (e == 0 && r->deliver)
        e = put_kv(out, "deliver", r->deliver);
    for (size_t i = 0; e == 0 && i < r->n_sec; i++) {
        const struct report_section *s = &r->sec[i];
        char lim[32];
        e = put(out, "\n");
        if (e == 0)
            e = put_kv(out, report_section_kind_name(s->kind), s->title);
        if (e == 0 && s->range)
            e = put_kv(out, "range", s->range);
        for (size_t j = 0; e == 0 && j < s->n_params; j++)
            e = put_kv(out, s->params[j].key, s->params[j].value);
        snprintf(lim, sizeof(lim), "%llu", (unsigned long long)s->limit);
        if (e == 0 && s->has_limit)
            e = put_kv(out, "limit", lim);
    }
    return e;
}

static int put_json_str(struct trail_buf *out, const char *k, const char *v)
{
    int e = put(out, ",\"");
    if (e == 0)
        e = put(out, k);
    if (e == 0)
        e = put(out, "\":");
    if (e == 0)
        e = v ? trail_json_string(out, v, strlen(v)) : put(out, "null");
    return e;
}

int trail_report_json(const struct trail_report *r, struct trail_buf *out,
                      int (*extra)(void *arg, const struct trail_report *r, struct trail_buf *out),
                      void *arg)
{
    static const char *const names[] = {"table", "csv", "json", "html"};
    struct trail_report_info in;
    trail_report_info(r, &in);
    int e = put(out, "{\"name\":");
    if (e == 0)
        e = trail_json_string(out, in.name, strlen(in.name));
    if (e == 0)
        e = put_json_str(out, "title", in.title);
    if (e == 0)
        e = put_json_str(out, "category", in.category);
    if (e == 0)
        e = put_json_str(out, "description", in.description);
    if (e == 0)
        e = put_json_str(out, "schedule", r->schedule);
    if (e == 0)
        e = put_json_str(out, "zone", in.zone);
    if (e == 0)
        e = put_json_str(out, "deliver", r->deliver);
    if (e == 0)
        e = put(out, ",\"formats\":[");
    for (int k = 0, n = 0; e == 0 && k < 4; k++)
        if (trail_report_formats(r) & (1u << k)) {
            e = put(out, n++ ? ",\"" : "\"");
            if (e == 0)
                e = put(out, names[k]);
            if (e == 0)
                e = put(out, "\"");
        }
    if (e == 0)
        e = put(out, "],\"sections\":[");
    for (size_t j = 0; e == 0 && j < r->n_sec; j++) {
        const struct report_section *s = &r->sec[j];
        const char *range = report_section_range(r, s);
        e = put(out, j ? ",{\"title\":" : "{\"title\":");
        if (e == 0)
            e = trail_json_string(out, s->title, strlen(s->title));
        if (e == 0)
            e = put(out, ",\"kind\":\"");
        if (e == 0)
            e = put(out, report_section_kind_name(s->kind));
        if (e == 0)
            e = put(out, "\",\"range\":");
        if (e == 0)
            e = trail_json_string(out, range, strlen(range));
        if (e == 0)
            e = put(out, "}");
    }
    if (e == 0)
        e = put(out, "]");
    if (e == 0 && extra)
        e = extra(arg, r, out);
    if (e == 0)
        e = put(out, "}");
    return e;
}

int trail_reports_list_json(const struct trail_reports *rs, struct trail_buf *out,
                            int (*extra)(void *arg, const struct trail_report *r,
                                         struct trail_buf *out),
                            void *arg)
{
    int e = put(out, "{\"reports\":[");
    for (size_t i = 0; e == 0 && i < rs->n; i++) {
        if (i)
            e = put(out, ",");
        if (e == 0)
            e = trail_report_json(rs->r[i], out, extra, arg);
    }
    if (e == 0)
        e = put(out, "]}\n");
    return e;
}

int trail_reports_list_table(const struct trail_reports *rs, struct trail_buf *out)
{
    size_t w = 4, wc = 8;
    char line[1024];
    for (size_t i = 0; i < rs->n; i++) {
        struct trail_report_info in;
        trail_report_info(rs->r[i], &in);
        w = strlen(in.name) > w ? strlen(in.name) : w;
        wc = strlen(in.category) > wc ? strlen(in.category) : wc;
    }
    snprintf(line, sizeof(line), "%-*s  %-*s  %s\n", (int)w, "NAME", (int)wc, "CATEGORY", "TITLE");
    int e = put(out, line);
    for (size_t i = 0; e == 0 && i < rs->n; i++) {
        struct trail_report_info in;
        trail_report_info(rs->r[i], &in);
        snprintf(line, sizeof(line), "%-*s  ", (int)w, in.name);
        e = put(out, line);
        size_t before = out->len;
        if (e == 0)
            e = trail_text_escape(out, in.category, strlen(in.category), NULL, 0);
        for (size_t k = out->len - before; e == 0 && k < wc + 2; k++)
            e = put(out, " ");
        if (e == 0)
            e = trail_text_escape(out, in.title, strlen(in.title), NULL, 0);
        if (e == 0)
            e = put(out, "\n");
    }
    return e;
}
