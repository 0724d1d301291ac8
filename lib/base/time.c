/*
 * time.c - the wall clock and RFC 3339 text, without locale or time zone state.
 *
 * Calendar arithmetic uses the days-from-civil algorithm so that formatting
 * and parsing are pure functions, fast enough for the encoders' hot path.
 */
#include "base/base.h"

#include <time.h>

int64_t trail_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* "00".."99": two digits a copy (an export formats two times a row) */
static const char pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233"
    "34353637383940414243444546474849505152535455565758596061626364656667"
    "6869707172737475767778798081828384858687888990919293949596979899";

static inline char *put2(char *p, unsigned v)
{
    memcpy(p, pairs + 2 * v, 2);
    return p + 2;
}

size_t trail_time_format(int64_t time_us, char buf[32])
{
    int64_t secs = time_us / 1000000;
    int64_t us = time_us % 1000000;
    if (us < 0) {
        us += 1000000;
        secs--;
    }
    int64_t days = secs / 86400;
    int64_t sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    /* the date of the last two days this thread wrote (an export's rows: the event's day
       and the received day), so that most calls skip the calendar */
    static _Thread_local int64_t day_of[2] = {INT64_MIN, INT64_MIN};
    static _Thread_local char date_of[2][11];
    static _Thread_local unsigned next;
    char *p = buf;
    int k = day_of[0] == days ? 0 : day_of[1] == days ? 1 : -1;
    if (k < 0) {
        int64_t y;
        unsigned m, d;
        civil_from_days(days, &y, &m, &d);
        if (y < 0 || y > 9999)
            y = y < 0 ? 0 : 9999;
        k = (int)(next++ & 1);
        char *q = date_of[k];
        q = put2(q, (unsigned)y / 100);
        q = put2(q, (unsigned)y % 100);
        *q++ = '-';
        q = put2(q, m);
        *q++ = '-';
        q = put2(q, d);
        *q = 'T';
        day_of[k] = days;
    }
    memcpy(p, date_of[k], 11);
    p += 11;
    unsigned s = (unsigned)sod, u = (unsigned)us;
    p = put2(p, s / 3600);
    *p++ = ':';
    p = put2(p, s / 60 % 60);
    *p++ = ':';
    p = put2(p, s % 60);
    *p++ = '.';
    p = put2(p, u / 10000);
    p = put2(p, u / 100 % 100);
    p = put2(p, u % 100);
    *p++ = 'Z';
    *p = '\0';
    return (size_t)(p - buf);
}

static int read_num(const char *s, size_t len, size_t *pos, int n, unsigned *ret)
{
    unsigned v = 0;
    if (*pos + (size_t)n > len)
        return -1;
    for (int i = 0; i < n; i++) {
        char c = s[*pos + (size_t)i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (unsigned)(c - '0');
    }
    *pos += (size_t)n;
    *ret = v;
    return 0;
}

static int expect(const char *s, size_t len, size_t *pos, char c)
{
    if (*pos >= len || s[*pos] != c)
        return -1;
    (*pos)++;
    return 0;
}

int trail_time_parse(const char *s, size_t len, int64_t *ret_time_us)
{
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    size_t pos = 0;
    unsigned y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, frac = 0;
    if (read_num(s, len, &pos, 4, &y) || expect(s, len, &pos, '-') ||
        read_num(s, len, &pos, 2, &mo) || expect(s, len, &pos, '-') ||
        read_num(s, len, &pos, 2, &d))
        return TRAIL_E_PARSE;
    if (pos >= len || (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' '))
        return TRAIL_E_PARSE;
    pos++;
    if (read_num(s, len, &pos, 2, &h) || expect(s, len, &pos, ':') ||
        read_num(s, len, &pos, 2, &mi) || expect(s, len, &pos, ':') ||
        read_num(s, len, &pos, 2, &sec))
        return TRAIL_E_PARSE;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 60)
        return TRAIL_E_PARSE;
    if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return TRAIL_E_PARSE;
    if (sec == 60) /* a leap second reads as the last microsecond of the minute */
        sec = 59, frac = 999999;
    if (pos < len && (s[pos] == '.' || s[pos] == ',')) {
        pos++;
        int n = 0;
        unsigned f = 0;
        while (pos < len && s[pos] >= '0' && s[pos] <= '9') {
            if (n < 6)
                f = f * 10 + (unsigned)(s[pos] - '0');
            n++;
            pos++;
        }
        if (n == 0 || n > 9)
            return TRAIL_E_PARSE;
        for (int i = n; i < 6; i++)
            f *= 10;
        if (frac == 0)
            frac = f;
    }
    int64_t offset_s = 0;
    if (pos < len && (s[pos] == 'Z' || s[pos] == 'z')) {
        pos++;
    } else if (pos < len && (s[pos] == '+' || s[pos] == '-')) {
        int sign = s[pos] == '-' ? -1 : 1;
        unsigned oh, om;
        pos++;
        if (read_num(s, len, &pos, 2, &oh))
            return TRAIL_E_PARSE;
        if (pos < len && s[pos] == ':')
            pos++;
        if (read_num(s, len, &pos, 2, &om) || oh > 23 || om > 59)
            return TRAIL_E_PARSE;
        offset_s = sign * (int64_t)(oh * 3600 + om * 60);
    } else {
        return TRAIL_E_PARSE;
    }
    if (pos != len)
        return TRAIL_E_PARSE;
    int64_t days = days_from_civil(y, mo, d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_s;
    *ret_time_us = secs * 1000000 + frac;
    return 0;
}

int trail_duration_parse(const char *s, size_t len, int64_t *ret_us)
{
    static const struct {
        char unit;
        int64_t us;
    } units[] = {{'s', 1000000LL},
                 {'m', 60 * 1000000LL},
                 {'h', 3600 * 1000000LL},
                 {'d', 86400 * 1000000LL},
                 {'w', 7 * 86400 * 1000000LL}};
    if (len < 2)
        return TRAIL_E_PARSE;
    int64_t unit = 0;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (s[len - 1] == units[i].unit)
            unit = units[i].us;
    if (!unit)
        return TRAIL_E_PARSE;
    int64_t n = 0;
    for (size_t i = 0; i + 1 < len; i++) {
        if (s[i] < '0' || s[i] > '9' || n > (INT64_MAX - (s[i] - '0')) / 10)
            return TRAIL_E_PARSE;
        n = n * 10 + (s[i] - '0');
    }
    if (n > INT64_MAX / unit)
        return TRAIL_E_PARSE;
    *ret_us = n * unit;
    return 0;
}
