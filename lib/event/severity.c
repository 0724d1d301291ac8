/*
 * severity.c - the severity scale and its mappings, in one table.
 *
 * The catalog's numbers (3 INFO .. 10 EMERGENCY) are kept as they are; TRACE=1
 * and DEBUG=2 are trail's inference and 5 is left unassigned (docs/severity.md).
 * Each row maps one level to syslog (RFC 5424), CEF, OCSF severity_id and the
 * ECS log.level text. Also here: reading a level or a filter over levels
 * (">=WARNING", "NOTICE..ERROR") from text. Not here: filtering events
 * (the query code applies the range).
 */
#include "event/event.h"

#include <ctype.h>
#include <stdlib.h>
#include <strings.h>

struct sev_row {
    int sev;
    const char *name;
    int syslog;
    int ocsf;
    const char *ecs;
};

static const struct sev_row rows[] = {
    {TRAIL_SEV_TRACE, "TRACE", 7, 1, "trace"},
    {TRAIL_SEV_DEBUG, "DEBUG", 7, 1, "debug"},
    {TRAIL_SEV_INFO, "INFO", 6, 1, "info"},
    {TRAIL_SEV_NOTICE, "NOTICE", 5, 2, "notice"},
    {TRAIL_SEV_WARNING, "WARNING", 4, 3, "warning"},
    {TRAIL_SEV_ERROR, "ERROR", 3, 4, "error"},
    {TRAIL_SEV_CRITICAL, "CRITICAL", 2, 5, "critical"},
    {TRAIL_SEV_ALERT, "ALERT", 1, 5, "alert"},
    {TRAIL_SEV_EMERGENCY, "EMERGENCY", 0, 6, "emergency"},
};

static const struct sev_row *row_of(int sev)
{
    for (size_t i = 0; i < TRAIL_ARRAY_SIZE(rows); i++)
        if (rows[i].sev == sev)
            return &rows[i];
    return NULL;
}

int trail_severity_valid(int sev)
{
    return row_of(sev) != NULL;
}

const char *trail_severity_name(int sev)
{
    const struct sev_row *r = row_of(sev);
    return r ? r->name : NULL;
}

static int parse_name(const char *s, size_t len)
{
    for (size_t i = 0; i < TRAIL_ARRAY_SIZE(rows); i++)
        if (strlen(rows[i].name) == len && strncasecmp(rows[i].name, s, len) == 0)
            return rows[i].sev;
    return -1;
}

int trail_severity_parse(const char *text, int *ret_sev)
{
    if (!text)
        return TRAIL_E_BAD_SEVERITY;
    while (isspace((unsigned char)*text))
        text++;
    size_t len = strlen(text);
    while (len && isspace((unsigned char)text[len - 1]))
        len--;
    if (len == 0)
        return TRAIL_E_BAD_SEVERITY;

    int sev = -1;
    if (isdigit((unsigned char)text[0])) {
        size_t i = 0;
        int n = 0;
        while (i < len && isdigit((unsigned char)text[i]) && n < 100)
            n = n * 10 + (text[i++] - '0');
        if (!trail_severity_valid(n))
            return TRAIL_E_BAD_SEVERITY;
        if (i < len) {
            /* "6 WARNING": number and name must agree */
            while (i < len && isspace((unsigned char)text[i]))
                i++;
            if (i == len || parse_name(text + i, len - i) != n)
                return TRAIL_E_BAD_SEVERITY;
        }
        sev = n;
    } else {
        sev = parse_name(text, len);
    }
    if (sev < 0)
        return TRAIL_E_BAD_SEVERITY;
    *ret_sev = sev;
    return 0;
}

int trail_severity_to_syslog(int sev)
{
    const struct sev_row *r = row_of(sev);
    return r ? r->syslog : -1;
}

int trail_severity_to_cef(int sev)
{
    return row_of(sev) ? sev : -1;
}

int trail_severity_to_ocsf(int sev)
{
    const struct sev_row *r = row_of(sev);
    return r ? r->ocsf : -1;
}

const char *trail_severity_to_ecs(int sev)
{
    const struct sev_row *r = row_of(sev);
    return r ? r->ecs : NULL;
}

/* ---- severity filters: "WARNING", ">=WARNING", "<ERROR", "NOTICE..ERROR" ---- */

/* The lowest level >= sev, or -1 when none. */
static int level_at_or_above(int sev)
{
    for (size_t i = 0; i < TRAIL_ARRAY_SIZE(rows); i++)
        if (rows[i].sev >= sev)
            return rows[i].sev;
    return -1;
}

/* The highest level <= sev, or -1 when none. */
static int level_at_or_below(int sev)
{
    for (size_t i = TRAIL_ARRAY_SIZE(rows); i > 0; i--)
        if (rows[i - 1].sev <= sev)
            return rows[i - 1].sev;
    return -1;
}

/* Parse one level from s[0..len), trimmed; -1 when it is not one. */
static int parse_level(const char *s, size_t len)
{
    char buf[32];
    while (len && isspace((unsigned char)*s))
        s++, len--;
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    int sev;
    return trail_severity_parse(buf, &sev) == 0 ? sev : -1;
}

int trail_severity_range_parse(const char *expr, int *ret_min, int *ret_max)
{
    if (!expr)
        return TRAIL_E_BAD_SEVERITY;
    const int lowest = rows[0].sev, highest = rows[TRAIL_ARRAY_SIZE(rows) - 1].sev;
    while (isspace((unsigned char)*expr))
        expr++;
    size_t len = strlen(expr);
    int lo, hi;
    const char *dots = strstr(expr, "..");
    if (dots) {
        size_t left = (size_t)(dots - expr), right = len - left - 2;
        const char *r = dots + 2;
        size_t blank_l = 0, blank_r = 0;
        while (blank_l < left && isspace((unsigned char)expr[blank_l]))
            blank_l++;
        while (blank_r < right && isspace((unsigned char)r[blank_r]))
            blank_r++;
        if (blank_l == left && blank_r == right)
            return TRAIL_E_BAD_SEVERITY; /* ".." alone */
        lo = blank_l == left ? lowest : parse_level(expr, left);
        hi = blank_r == right ? highest : parse_level(r, right);
    } else if (expr[0] == '>' || expr[0] == '<') {
        int inclusive = expr[1] == '=';
        int sev = parse_level(expr + 1 + inclusive, len - 1 - (size_t)inclusive);
        if (sev < 0)
            return TRAIL_E_BAD_SEVERITY;
        if (expr[0] == '>') {
            lo = inclusive ? sev : level_at_or_above(sev + 1);
            hi = highest;
        } else {
            lo = lowest;
            hi = inclusive ? sev : level_at_or_below(sev - 1);
        }
    } else {
        int eq = expr[0] == '=';
        lo = hi = parse_level(expr + eq, len - (size_t)eq);
    }
    if (lo < 0 || hi < 0 || lo > hi)
        return TRAIL_E_BAD_SEVERITY;
    *ret_min = lo;
    *ret_max = hi;
    return 0;
}
