/*
 * severity.c - the severity scale and its mappings, in one table.
 *
 * The catalog's numbers (3 INFO .. 10 EMERGENCY) are kept as they are; TRACE=1
 * and DEBUG=2 are trail's inference and 5 is left unassigned (docs/severity.md).
 * Each row maps one level to syslog (RFC 5424), CEF, OCSF severity_id and the
 * ECS log.level text.
 */
#include "internal.h"

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
