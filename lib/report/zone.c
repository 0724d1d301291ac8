/*
 * zone.c - time zones for reports: a reader of the compiled tz database
 * (TZif files, RFC 8536, in /usr/share/zoneinfo from Debian's tzdata) and
 * the local calendar arithmetic that schedules and zoned periods need.
 *
 * Why a reader and not setenv("TZ") + tzset() + localtime_r(): TZ is the
 * whole process's. traild reads BSD syslog timestamps in the process's
 * local time (lib/codec/syslog_parse.c) on other threads, and setenv() is
 * not safe against a concurrent getenv(); a library must not change either
 * under its caller. A zone read here is a value of its own, used by any
 * thread without a lock.
 *
 * What is read: the version 2+ (64-bit) transitions and types, and the
 * POSIX TZ footer that says what holds after the last transition (slim
 * files, as Debian ships them, end their transitions early and leave the
 * rest to the footer). The footer's rules are read in the Mm.w.d form that
 * every zone of the database uses; Jn and n rules are refused.
 *
 * Not here: schedules and periods themselves (report.c).
 */
#include "report/zone.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rule {
    int m, w, d;  /* month 1-12, week 1-5 (5: the last), weekday 0 (Sunday) - 6 */
    int32_t secs; /* local time of day of the change */
};

struct zone {
    char name[ZONE_NAME_MAX];
    int64_t *trans; /* transition instants, seconds */
    uint8_t *idx;   /* the type from each transition on */
    int32_t *off;   /* per type: seconds east of UTC */
    uint8_t *dst;   /* per type: daylight saving time */
    size_t n_trans, n_types;
    int has_footer, has_rule;
    int32_t std_off, dst_off; /* footer: seconds east of UTC */
    struct rule start, end;
};

/* ---- the civil calendar (proleptic Gregorian, days since 1970-01-01) ---- */

int64_t zone_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void zone_civil_from_days(int64_t z, int64_t *ret_y, int *ret_m, int *ret_d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *ret_y = yoe + era * 400 + (m <= 2);
    *ret_m = m;
    *ret_d = d;
}

int zone_weekday(int64_t days)
{
    int64_t w = (days + 4) % 7; /* 1970-01-01 was a Thursday */
    return (int)(w < 0 ? w + 7 : w);
}

int64_t zone_floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* ---- the POSIX TZ footer ---- */

/* a name: letters, or <...> */
static const char *tz_name(const char *p)
{
    if (*p == '<') {
        const char *e = strchr(p, '>');
        return e ? e + 1 : NULL;
    }
    const char *s = p;
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
        p++;
    return p - s >= 3 ? p : NULL;
}

/* [+-]hh[:mm[:ss]] into *ret seconds */
static const char *tz_hms(const char *p, int32_t *ret)
{
    int sign = 1;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    if (*p < '0' || *p > '9')
        return NULL;
    int32_t v[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        if (i && *p != ':')
            break;
        if (i)
            p++;
        if (*p < '0' || *p > '9')
            return NULL;
        while (*p >= '0' && *p <= '9')
            v[i] = v[i] * 10 + (*p++ - '0');
    }
    *ret = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
    return p;
}

static const char *tz_rule(const char *p, struct rule *r)
{
    if (*p != 'M')
        return NULL; /* Jn and n: no zone of the database uses them */
    if (sscanf(p, "M%d.%d.%d", &r->m, &r->w, &r->d) != 3 || r->m < 1 || r->m > 12 || r->w < 1 ||
        r->w > 5 || r->d < 0 || r->d > 6)
        return NULL;
    p++;
    while ((*p >= '0' && *p <= '9') || *p == '.')
        p++;
    r->secs = 7200;
    if (*p == '/')
        p = tz_hms(p + 1, &r->secs);
    return p;
}

static int parse_footer(struct zone *z, const char *s)
{
    const char *p = tz_name(s);
    int32_t v;
    if (!p || !(p = tz_hms(p, &v)))
        return -1;
    z->std_off = -v; /* POSIX counts west of Greenwich */
    z->has_footer = 1;
    if (!*p)
        return 0;
    if (!(p = tz_name(p)))
        return -1;
    z->dst_off = z->std_off + 3600;
    if (*p && *p != ',') {
        if (!(p = tz_hms(p, &v)))
            return -1;
        z->dst_off = -v;
    }
    if (*p != ',' || !(p = tz_rule(p + 1, &z->start)) || *p != ',' ||
        !(p = tz_rule(p + 1, &z->end)) || *p)
        return -1;
    z->has_rule = 1;
    return 0;
}

/* The instant (UTC) of rule r in year y, whose local time has offset off. */
static int64_t rule_instant(const struct rule *r, int64_t y, int32_t off)
{
    int64_t first = zone_days_from_civil(y, r->m, 1);
    int64_t day = first + (r->d - zone_weekday(first) + 7) % 7 + (int64_t)(r->w - 1) * 7;
    int64_t next_month =
        r->m == 12 ? zone_days_from_civil(y + 1, 1, 1) : zone_days_from_civil(y, r->m + 1, 1);
    while (day >= next_month)
        day -= 7;
    return day * 86400 + r->secs - off;
}

static int32_t footer_offset(const struct zone *z, int64_t t)
{
    if (!z->has_rule)
        return z->std_off;
    int64_t y;
    int m, d;
    zone_civil_from_days(zone_floor_div(t, 86400), &y, &m, &d);
    int64_t a = rule_instant(&z->start, y, z->std_off);
    int64_t b = rule_instant(&z->end, y, z->dst_off);
    int in_dst = a < b ? (t >= a && t < b) : (t >= a || t < b); /* south: over new year */
    return in_dst ? z->dst_off : z->std_off;
}

/* ---- the TZif file ---- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static int parse_tzif(struct zone *z, const unsigned char *b, size_t n)
{
    if (n < 44 || memcmp(b, "TZif", 4) != 0 || b[4] < '2')
        return -1;
    /* skip the version 1 block: its counts are its own */
    uint32_t c[6];
    for (int i = 0; i < 6; i++)
        c[i] = be32(b + 20 + 4 * i);
    size_t v1 = (size_t)c[3] * 5 + (size_t)c[4] * 6 + c[5] + (size_t)c[2] * 8 + c[1] + c[0];
    if (44 + v1 + 44 > n)
        return -1;
    const unsigned char *h = b + 44 + v1;
    if (memcmp(h, "TZif", 4) != 0)
        return -1;
    for (int i = 0; i < 6; i++)
        c[i] = be32(h + 20 + 4 * i);
    size_t timecnt = c[3], typecnt = c[4];
    size_t need = timecnt * 9 + typecnt * 6 + c[5] + (size_t)c[2] * 12 + c[1] + c[0];
    const unsigned char *p = h + 44;
    if (typecnt == 0 || typecnt > 256 || timecnt > 100000 || (size_t)(p - b) + need > n)
        return -1;
    z->trans = calloc(timecnt ? timecnt : 1, sizeof(*z->trans));
    z->idx = calloc(timecnt ? timecnt : 1, 1);
    z->off = calloc(typecnt, sizeof(*z->off));
    z->dst = calloc(typecnt, 1);
    if (!z->trans || !z->idx || !z->off || !z->dst)
        return -ENOMEM;
    for (size_t i = 0; i < timecnt; i++)
        z->trans[i] = be64(p + 8 * i);
    p += 8 * timecnt;
    for (size_t i = 0; i < timecnt; i++)
        if ((z->idx[i] = p[i]) >= typecnt)
            return -1;
    p += timecnt;
    for (size_t i = 0; i < typecnt; i++) {
        z->off[i] = (int32_t)be32(p + 6 * i);
        z->dst[i] = p[6 * i + 4];
    }
    z->n_trans = timecnt;
    z->n_types = typecnt;
    p = h + 44 + need;
    /* the footer: "\nTZ\n" */
    if ((size_t)(p - b) < n && *p == '\n') {
        const unsigned char *e = memchr(p + 1, '\n', n - (size_t)(p - b) - 1);
        if (e && e > p + 1) {
            char tz[128];
            size_t len = (size_t)(e - p - 1);
            if (len >= sizeof(tz))
                return -1;
            memcpy(tz, p + 1, len);
            tz[len] = '\0';
            if (parse_footer(z, tz) < 0)
                return -1;
        }
    }
    return 0;
}

static int valid_zone_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= ZONE_NAME_MAX || s[0] == '/' || s[0] == '.' || strstr(s, ".."))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '/' || *s == '_' || *s == '-' || *s == '+'))
            return 0;
    return 1;
}

int zone_load(const char *name, struct zone **ret_zone, char *err, size_t errlen)
{
    if (!valid_zone_name(name)) {
        snprintf(err, errlen,
                 "bad time zone '%s': a name of the tz database, e.g. Europe/Stockholm", name);
        return TRAIL_E_PARSE;
    }
    struct zone *z = calloc(1, sizeof(*z));
    if (!z)
        return -ENOMEM;
    snprintf(z->name, sizeof(z->name), "%s", name);
    if (!strcmp(name, "UTC")) { /* without tzdata installed too */
        z->has_footer = 1;
        *ret_zone = z;
        return 0;
    }
    const char *dir = getenv("TZDIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : ZONE_DIR, name);
    unsigned char *buf = NULL;
    size_t len = 0;
    FILE *f = fopen(path, "rb");
    int r = 0;
    if (!f) {
        r = TRAIL_E_PARSE;
        snprintf(err, errlen, "unknown time zone '%s' (%s: %s)", name, path, strerror(errno));
        goto out;
    }
    buf = malloc(1 << 20);
    if (!buf) {
        r = -ENOMEM;
        goto out;
    }
    len = fread(buf, 1, 1 << 20, f);
    if ((r = parse_tzif(z, buf, len)) < 0) {
        if (r != -ENOMEM) {
            r = TRAIL_E_PARSE;
            snprintf(err, errlen, "time zone '%s': %s is not a TZif file this reader knows", name,
                     path);
        }
    }
out:
    if (f)
        fclose(f);
    free(buf);
    if (r < 0) {
        zone_free(z);
        return r;
    }
    *ret_zone = z;
    return 0;
}

void zone_free(struct zone *z)
{
    if (!z)
        return;
    free(z->trans);
    free(z->idx);
    free(z->off);
    free(z->dst);
    free(z);
}

const char *zone_name(const struct zone *z)
{
    return z ? z->name : "UTC";
}

int32_t zone_offset(const struct zone *z, int64_t t)
{
    if (!z)
        return 0;
    if (z->n_trans == 0 || t < z->trans[0]) {
        if (z->n_trans == 0 && z->has_footer)
            return footer_offset(z, t);
        for (size_t i = 0; i < z->n_types; i++)
            if (!z->dst[i])
                return z->off[i];
        return z->n_types ? z->off[0] : 0;
    }
    if (t >= z->trans[z->n_trans - 1] && z->has_footer)
        return footer_offset(z, t);
    size_t lo = 0, hi = z->n_trans; /* the last transition at or before t */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (z->trans[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return z->off[z->idx[lo]];
}

int64_t zone_to_utc(const struct zone *z, int64_t local)
{
    /* the offsets a day either side: a wall time is valid under an offset
       that holds at the instant it names; of two (the hour repeated in
       autumn) the earlier instant; of none (the hour skipped in spring)
       the instant the wall time names under the offset before the change,
       which lands as far past the gap as it was into it */
    int32_t a = zone_offset(z, local - 86400), b = zone_offset(z, local + 86400);
    int64_t ta = local - a, tb = local - b, best = INT64_MAX;
    if (zone_offset(z, ta) == a)
        best = ta;
    if (zone_offset(z, tb) == b && tb < best)
        best = tb;
    return best != INT64_MAX ? best : ta;
}

int64_t zone_local(const struct zone *z, int64_t t)
{
    return t + zone_offset(z, t);
}
