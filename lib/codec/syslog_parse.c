/*
 * syslog_parse.c - reading syslog: RFC 5424 and RFC 3164 messages, their
 * structured data, TCP framing (RFC 6587 octet counting and LF), and the
 * decoding of a message that carries a trail event.
 *
 * Everything here is a pure function of its input (RFC 3164's year and
 * local time zone aside) and points into the caller's buffer. Nothing
 * allocates but trail_event_from_syslog (its new event) and, for a
 * PARAM-VALUE with escapes longer than 2048 bytes, the event decoders; the
 * event's own memory grows as trail_event_parse_syslog fills it. Used by
 * traild's syslog, raw TCP and Unix socket inputs and by the fuzz target
 * tests/fuzz/fuzz_syslog.c.
 *
 * The decoder is on traild's ingest path: the parser notes the params of the
 * trail@32473 element while it checks the message, values are scanned 16
 * bytes at a time and used in place unless they hold an escape.
 *
 * Not here: writing syslog (lib/codec/syslog.c), sockets (daemon/inputs/input_syslog.c).
 */
#include "codec/codec.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* ---- small scanning helpers ---- */

static int is_print_ascii(unsigned char c)
{
    return c >= 33 && c <= 126;
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* Read "<PRI>" at *p: 1..3 digits, 0..191, no leading zero but "<0>". */
static int parse_pri(const char **p, const char *end, int *ret_pri)
{
    const char *s = *p;
    if (s >= end || *s != '<')
        return TRAIL_E_PARSE;
    s++;
    int pri = 0, n = 0;
    while (s < end && is_digit((unsigned char)*s) && n < 4) {
        pri = pri * 10 + (*s - '0');
        s++, n++;
    }
    if (n == 0 || n > 3 || s >= end || *s != '>' || pri > 191)
        return TRAIL_E_PARSE;
    if (n > 1 && (*p)[1] == '0')
        return TRAIL_E_PARSE;
    *p = s + 1;
    *ret_pri = pri;
    return 0;
}

/*
 * The index of the first byte of s[0..n) that is not printable US-ASCII
 * (33..126), or n: sixteen bytes at a time with SSE2 (a signed compare
 * with 32 leaves out the bytes above ASCII too).
 */
static inline size_t print_run(const char *s, size_t n)
{
    size_t i = 0;
#ifdef __SSE2__
    const __m128i space = _mm_set1_epi8(' '), del = _mm_set1_epi8(0x7f);
    while (i + 16 <= n) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        int bad = (_mm_movemask_epi8(_mm_cmpgt_epi8(x, space)) ^ 0xffff) |
                  _mm_movemask_epi8(_mm_cmpeq_epi8(x, del));
        if (bad)
            return i + (size_t)__builtin_ctz((unsigned)bad);
        i += 16;
    }
#endif
    while (i < n && is_print_ascii((unsigned char)s[i]))
        i++;
    return i;
}

/* Read a header field of printable US-ASCII up to the next space; "-" is nil (len 0). */
static int parse_field(const char **p, const char *end, size_t max, const char **ret,
                       size_t *ret_len)
{
    const char *s = *p, *start = s;
    s += print_run(s, (size_t)(end - s));
    size_t n = (size_t)(s - start);
    if (n == 0 || n > max)
        return TRAIL_E_PARSE;
    if (s < end && *s != ' ')
        return TRAIL_E_PARSE;
    if (n == 1 && *start == '-') {
        *ret = start;
        *ret_len = 0;
    } else {
        *ret = start;
        *ret_len = n;
    }
    *p = s;
    return 0;
}

/* SD-NAME bytes (RFC 5424 6.3.2): printable US-ASCII but '=', ']' and '"'. */
static const uint8_t sd_name_chars[256] = {
    ['!'] = 1,          /* '"' (34) is out */
    ['#' ... '<'] = 1,  /* '=' (61) is out */
    ['>' ... '\\'] = 1, /* ']' (93) is out */
    ['^' ... '~'] = 1,
};

static inline int sd_name_char(unsigned char c)
{
    return sd_name_chars[c];
}

/* The index of the first byte of s[0..n) that cannot be in an SD-NAME, or n. */
static inline size_t sd_name_run(const char *s, size_t n)
{
    size_t i = 0;
#ifdef __SSE2__
    const __m128i space = _mm_set1_epi8(' '), del = _mm_set1_epi8(0x7f), eq = _mm_set1_epi8('='),
                  bracket = _mm_set1_epi8(']'), quote = _mm_set1_epi8('"');
    while (i + 16 <= n) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i out =
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, del), _mm_cmpeq_epi8(x, eq)),
                         _mm_or_si128(_mm_cmpeq_epi8(x, bracket), _mm_cmpeq_epi8(x, quote)));
        int bad = (_mm_movemask_epi8(_mm_cmpgt_epi8(x, space)) ^ 0xffff) | _mm_movemask_epi8(out);
        if (bad)
            return i + (size_t)__builtin_ctz((unsigned)bad);
        i += 16;
    }
#endif
    while (i < n && sd_name_char((unsigned char)s[i]))
        i++;
    return i;
}

/* The index of the first '"' or '\\' in s[0..n), or n. */
static inline size_t find_quote_or_backslash(const char *s, size_t n)
{
    return text_find2(s, 0, n, '"', '\\');
}

/*
 * The end of the PARAM-VALUE that starts at s: its closing '"', or end when
 * it has none. A backslash hides the byte after it (RFC 5424 6.3.3);
 * *ret_escaped is set when there is one.
 */
static inline const char *value_end(const char *s, const char *end, int *ret_escaped)
{
    for (;;) {
        s += find_quote_or_backslash(s, (size_t)(end - s));
        if (s >= end || *s == '"')
            return s;
        *ret_escaped = 1;
        s += s + 1 < end ? 2 : 1;
    }
}

/*
 * The params of the first [trail@32473 ...] element, as the parser found
 * them while checking the message, so that the event is read from them
 * without scanning the structured data again.
 */
#define SD_SPANS 64

struct sd_span {
    const char *name;
    const char *value;
    uint32_t value_len;
    uint8_t name_len; /* 1..32 */
    uint8_t escaped;  /* the value holds a backslash */
};

struct sd_spans {
    const char *element; /* just after its SD-ID; NULL: no such element */
    size_t n;            /* spans in span[] */
    int complete;        /* 0: more params than SD_SPANS, read them with the cursor */
    struct sd_span span[SD_SPANS];
};

/*
 * Scan one SD-ELEMENT at *p ("[" SD-ID *(SP SD-PARAM) "]"), checking its
 * syntax. Returns 0 and moves *p past it, or TRAIL_E_PARSE. With spans,
 * the first trail@32473 element's params are noted there.
 */
static int scan_sd_element(const char **p, const char *end, struct sd_spans *spans)
{
    const char *s = *p;
    if (s >= end || *s != '[')
        return TRAIL_E_PARSE;
    s++;
    const char *id = s;
    s += sd_name_run(s, (size_t)(end - s));
    if (s == id || s - id > 32)
        return TRAIL_E_PARSE;
    if (spans && !spans->element && s - id == 11 && memcmp(id, "trail@32473", 11) == 0) {
        spans->element = s;
        spans->n = 0;
        spans->complete = 1;
    } else {
        spans = NULL;
    }
    for (;;) {
        if (s >= end)
            return TRAIL_E_PARSE;
        if (*s == ']') {
            *p = s + 1;
            return 0;
        }
        if (*s != ' ')
            return TRAIL_E_PARSE;
        s++;
        const char *name = s;
        s += sd_name_run(s, (size_t)(end - s));
        if (s == name || s - name > 32 || s + 1 >= end || s[0] != '=' || s[1] != '"')
            return TRAIL_E_PARSE;
        const char *name_end = s, *value = s + 2;
        int escaped = 0;
        s = value_end(value, end, &escaped);
        if (s >= end)
            return TRAIL_E_PARSE;
        if (spans) {
            if (spans->n < SD_SPANS)
                spans->span[spans->n++] = (struct sd_span){
                    .name = name,
                    .value = value,
                    .value_len = (uint32_t)(s - value),
                    .name_len = (uint8_t)(name_end - name),
                    .escaped = (uint8_t)escaped,
                };
            else
                spans->complete = 0;
        }
        s++; /* the closing quote */
    }
}

/* ---- RFC 5424 ---- */

/*
 * An RFC 5424 HEADER and STRUCTURED-DATA at data: fills m's header fields
 * and SD, and returns where the SD ends (MSG's SP, or end), or NULL when
 * they are not well-formed within [data, end). With header_only, stops at
 * the first byte of the SD ('-' or '['), which it checks, and returns it.
 */
static const char *parse_5424_head(const char *data, const char *end, struct trail_syslog_msg *mp,
                                   struct sd_spans *spans, int header_only)
{
    const char *p = data;
    struct trail_syslog_msg m = {.rfc = 5424};
    int pri;
    if (parse_pri(&p, end, &pri) < 0)
        return NULL;
    m.facility = pri >> 3;
    m.severity = pri & 7;
    /* VERSION: 1..3 digits, not starting with 0 */
    const char *v = p;
    while (p < end && is_digit((unsigned char)*p) && p - v < 3)
        p++;
    if (p == v || *v == '0' || p >= end || *p != ' ')
        return NULL;
    p++;

    const char *ts;
    size_t ts_len;
    if (parse_field(&p, end, 64, &ts, &ts_len) < 0)
        return NULL;
    if (ts_len > 0 && trail_time_parse(ts, ts_len, &m.time_us) < 0)
        return NULL;
    struct {
        const char **ptr;
        size_t *len;
        size_t max;
    } fields[] = {
        {&m.host, &m.host_len, 255},
        {&m.app, &m.app_len, 48},
        {&m.procid, &m.procid_len, 128},
        {&m.msgid, &m.msgid_len, 32},
    };
    for (size_t i = 0; i < TRAIL_ARRAY_SIZE(fields); i++) {
        if (p >= end || *p != ' ')
            return NULL;
        p++;
        if (parse_field(&p, end, fields[i].max, fields[i].ptr, fields[i].len) < 0)
            return NULL;
    }
    if (p >= end || *p != ' ')
        return NULL;
    p++;
    if (header_only) {
        if (p >= end || (*p != '-' && *p != '['))
            return NULL;
    } else if (p < end && *p == '-') {
        p++;
    } else {
        const char *sd = p;
        do {
            if (scan_sd_element(&p, end, spans) < 0)
                return NULL;
        } while (p < end && *p == '[');
        m.sd = sd;
        m.sd_len = (size_t)(p - sd);
    }
    *mp = m;
    return p;
}

static int parse_5424(const char *data, size_t len, struct trail_syslog_msg *ret_msg,
                      struct sd_spans *spans)
{
    const char *end = data + len;
    struct trail_syslog_msg m;
    const char *p = parse_5424_head(data, end, &m, spans, 0);
    if (!p)
        return TRAIL_E_PARSE;
    if (p < end) {
        if (*p != ' ')
            return TRAIL_E_PARSE;
        p++;
        if (end - p >= 3 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB &&
            (unsigned char)p[2] == 0xBF)
            p += 3;
    }
    m.msg = p;
    m.msg_len = (size_t)(end - p);
    m.content = m.msg;
    m.content_len = m.msg_len;
    *ret_msg = m;
    return 0;
}

int trail_syslog_parse_5424(const char *data, size_t len, struct trail_syslog_msg *ret_msg)
{
    return parse_5424(data, len, ret_msg, NULL);
}

/* ---- RFC 3164 ---- */

static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static int two_digits(const char *s)
{
    if (!is_digit((unsigned char)s[0]) || !is_digit((unsigned char)s[1]))
        return -1;
    return (s[0] - '0') * 10 + (s[1] - '0');
}

/*
 * "Mmm dd hh:mm:ss" in the receiver's local time, the year guessed: this year,
 * or last year when that would put the stamp more than a day in the future
 * (a December message read in January).
 */
static int parse_bsd_time(const char *s, const char *end, int64_t *ret_us)
{
    if (end - s < 15 || s[3] != ' ' || s[6] != ' ' || s[9] != ':' || s[12] != ':')
        return -1;
    int mon = -1;
    for (int i = 0; i < 12; i++)
        if (memcmp(s, months[i], 3) == 0)
            mon = i;
    int day = s[4] == ' ' ? two_digits((char[]){'0', s[5]}) : two_digits(s + 4);
    int hh = two_digits(s + 7), mm = two_digits(s + 10), ss = two_digits(s + 13);
    if (mon < 0 || day < 1 || day > 31 || hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 ||
        ss > 60)
        return -1;
    time_t now = time(NULL);
    struct tm lt;
    /* mktime() re-reads TZ into glibc's shared state on every call; glibc
       locks it, but out of sight of race detectors: one call at a time */
    static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&tz_lock);
    localtime_r(&now, &lt);
    struct tm tm = {.tm_year = lt.tm_year,
                    .tm_mon = mon,
                    .tm_mday = day,
                    .tm_hour = hh,
                    .tm_min = mm,
                    .tm_sec = ss,
                    .tm_isdst = -1};
    time_t t = mktime(&tm);
    if (t != (time_t)-1 && t > now + 86400) {
        tm = (struct tm){.tm_year = lt.tm_year - 1,
                         .tm_mon = mon,
                         .tm_mday = day,
                         .tm_hour = hh,
                         .tm_min = mm,
                         .tm_sec = ss,
                         .tm_isdst = -1};
        t = mktime(&tm);
    }
    pthread_mutex_unlock(&tz_lock);
    if (t == (time_t)-1)
        return -1;
    *ret_us = (int64_t)t * 1000000;
    return 0;
}

int trail_syslog_parse_3164(const char *data, size_t len, struct trail_syslog_msg *ret_msg)
{
    const char *p = data, *end = data + len;
    struct trail_syslog_msg m = {.rfc = 3164};
    int pri;
    if (parse_pri(&p, end, &pri) < 0)
        return TRAIL_E_PARSE;
    m.facility = pri >> 3;
    m.severity = pri & 7;

    /* TIMESTAMP: the BSD form, or RFC 3339 as rsyslog's forwarding formats send it */
    int have_time = 0;
    if (parse_bsd_time(p, end, &m.time_us) == 0) {
        p += 15;
        have_time = 1;
    } else if (p < end && is_digit((unsigned char)*p)) {
        const char *ts = p;
        while (p < end && *p != ' ')
            p++;
        if (trail_time_parse(ts, (size_t)(p - ts), &m.time_us) == 0)
            have_time = 1;
        else
            p = ts;
    }
    if (have_time) {
        if (p < end && *p == ' ')
            p++;
        /* HOSTNAME, unless the next word is already the tag ("tag:" or "tag[pid]") */
        const char *h = p;
        while (p < end && is_print_ascii((unsigned char)*p))
            p++;
        size_t n = (size_t)(p - h);
        int is_tag = n > 0 && (h[n - 1] == ':' || memchr(h, '[', n) != NULL);
        if (n > 0 && n <= 255 && !is_tag && p < end && *p == ' ') {
            m.host = h;
            m.host_len = n;
            p++;
        } else {
            p = h;
        }
    }
    m.content = p;
    m.content_len = (size_t)(end - p);

    /* TAG: up to 48 characters of [A-Za-z0-9_./-], then "[pid]" and/or ":" */
    const char *t = p;
    while (p < end && p - t < 48 &&
           (isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '/' || *p == '-'))
        p++;
    const char *tag_end = p;
    const char *pid = NULL;
    size_t pid_len = 0;
    if (p > t && p < end && *p == '[') {
        const char *q = p + 1;
        while (q < end && is_digit((unsigned char)*q) && q - p <= 128)
            q++;
        if (q < end && *q == ']') {
            pid = p + 1;
            pid_len = (size_t)(q - p - 1);
            p = q + 1;
        }
    }
    if (p > t && p < end && *p == ':') {
        m.app = t;
        m.app_len = (size_t)(tag_end - t);
        m.procid = pid;
        m.procid_len = pid_len;
        p++;
        if (p < end && *p == ' ')
            p++;
        m.msg = p;
        m.msg_len = (size_t)(end - p);
    } else if (pid && p < end && *p == ' ') {
        m.app = t;
        m.app_len = (size_t)(tag_end - t);
        m.procid = pid;
        m.procid_len = pid_len;
        m.msg = p + 1;
        m.msg_len = (size_t)(end - p - 1);
    } else {
        m.msg = m.content;
        m.msg_len = m.content_len;
    }
    *ret_msg = m;
    return 0;
}

/* trail_syslog_parse(), noting the params of an RFC 5424 message's trail@32473 element in spans. */
static int parse_any(const char *data, size_t len, struct trail_syslog_msg *ret_msg,
                     struct sd_spans *spans)
{
    const char *p = data, *end = data + len;
    int pri;
    if (parse_pri(&p, end, &pri) < 0)
        return TRAIL_E_PARSE;
    /* RFC 5424 has a VERSION and a space right after PRI; RFC 3164 never does */
    const char *v = p;
    while (p < end && is_digit((unsigned char)*p) && p - v < 3)
        p++;
    if (p > v && p < end && *p == ' ')
        return parse_5424(data, len, ret_msg, spans);
    return trail_syslog_parse_3164(data, len, ret_msg);
}

int trail_syslog_parse(const char *data, size_t len, struct trail_syslog_msg *ret_msg)
{
    return parse_any(data, len, ret_msg, NULL);
}

/* ---- structured data ---- */

void trail_syslog_sd_init(struct trail_syslog_sd *sd, const char *data, size_t len)
{
    sd->p = data;
    sd->end = data ? data + len : data; /* no arithmetic on NULL (nil SD) */
    sd->in_element = 0;
}

int trail_syslog_sd_next_element(struct trail_syslog_sd *sd, const char **ret_id, size_t *ret_len)
{
    /* skip what is left of the current element */
    while (sd->in_element) {
        const char *n, *v;
        size_t nl, vl;
        int r = trail_syslog_sd_next_param(sd, &n, &nl, &v, &vl);
        if (r < 0)
            return r;
    }
    if (sd->p >= sd->end)
        return 0;
    /* the SD-ID; the params are checked one by one as they are read */
    if (*sd->p != '[')
        return TRAIL_E_PARSE;
    const char *id = sd->p + 1, *s = id;
    s += sd_name_run(s, (size_t)(sd->end - s));
    if (s == id || s - id > 32 || s >= sd->end || (*s != ' ' && *s != ']'))
        return TRAIL_E_PARSE;
    *ret_id = id;
    *ret_len = (size_t)(s - id);
    sd->p = s;
    sd->in_element = 1;
    return 1;
}

int trail_syslog_sd_next_param(struct trail_syslog_sd *sd, const char **ret_name,
                               size_t *ret_name_len, const char **ret_value, size_t *ret_value_len)
{
    if (!sd->in_element)
        return 0;
    const char *s = sd->p;
    if (s < sd->end && *s == ']') {
        sd->p = s + 1;
        sd->in_element = 0;
        return 0;
    }
    /* " name="value"" follows, or the data is malformed */
    if (s >= sd->end || *s != ' ')
        return TRAIL_E_PARSE;
    s++;
    const char *name = s;
    s += sd_name_run(s, (size_t)(sd->end - s));
    if (s == name || s - name > 32 || s + 1 >= sd->end || s[0] != '=' || s[1] != '"')
        return TRAIL_E_PARSE;
    const char *name_end = s;
    s += 2;
    const char *value = s;
    int escaped = 0;
    s = value_end(s, sd->end, &escaped);
    if (s >= sd->end)
        return TRAIL_E_PARSE;
    *ret_name = name;
    *ret_name_len = (size_t)(name_end - name);
    *ret_value = value;
    *ret_value_len = (size_t)(s - value);
    sd->p = s + 1;
    return 1;
}

size_t trail_syslog_sd_unescape(const char *value, size_t len, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        /* RFC 5424 6.3.3: only \" \\ \] are escapes; any other backslash is literal,
           but for the \uXXXX of an unsafe character, which trail's encoder writes */
        if (value[i] == '\\' && i + 1 < len) {
            if (value[i + 1] == '"' || value[i + 1] == '\\' || value[i + 1] == ']') {
                i++;
            } else {
                size_t ul, used = codec_unescape_cp(value + i, len - i, out + n, &ul);
                if (used) {
                    n += ul;
                    i += used - 1;
                    continue;
                }
            }
        }
        out[n++] = value[i];
    }
    return n;
}

/* ---- framing ---- */

/* The longest RFC 5424 HEADER and the first byte of STRUCTURED-DATA after it. */
#define HEADER_5424_MAX (5 + 4 + 65 + 256 + 49 + 129 + 33 + 1)

/* discard_line values: to the next LF; or, in an RFC 5424 MSG, also to the next HEADER */
#define DISCARD_TO_LF     1
#define DISCARD_TO_HEADER 2

/*
 * Where the MSG of the RFC 5424 message at frame[0..len) starts, or NULL
 * when frame is not one. Its HEADER and STRUCTURED-DATA must lie within its
 * first max bytes (a message whose SD alone is over the limit is too large
 * anyway): then the answer does not depend on how much of the stream has
 * arrived, once max bytes have.
 */
static const char *msg_part(const char *frame, size_t len, size_t max)
{
    struct trail_syslog_msg m;
    return parse_5424_head(frame, frame + (len < max ? len : max), &m, NULL, 0);
}

/* The first whole RFC 5424 HEADER in [p, end), or NULL. */
static const char *next_header(const char *p, const char *end)
{
    struct trail_syslog_msg m;
    for (; p < end && (p = memchr(p, '<', (size_t)(end - p))) != NULL; p++)
        if (parse_5424_head(p, end, &m, NULL, 1))
            return p;
    return NULL;
}

/*
 * Where a second message starts in frame[0..len) of a non-transparent
 * (LF-framed) stream, or 0. A sender that ends its messages with no LF at
 * all (log4j2's SyslogAppender over TCP, at its default) runs them
 * together; the next one shows itself by its RFC 5424 HEADER. It is looked
 * for only where the current message can end: after the frame's own
 * HEADER and STRUCTURED-DATA, both parsed as the decoder parses them (so
 * never inside an SD-PARAM value), in MSG; and it must be a whole HEADER,
 * "<PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP"
 * with each field valid, followed by '-' or '['. A frame that is not RFC
 * 5424 itself is never split. An octet-counted frame never comes here.
 */
/* "<PRI>VERSION SP" at p: what every RFC 5424 HEADER starts with. */
static int pri_version_at(const char *p, const char *end)
{
    int pri;
    if (parse_pri(&p, end, &pri) < 0)
        return 0;
    const char *v = p;
    while (p < end && is_digit((unsigned char)*p) && p - v < 3)
        p++;
    return p > v && *v != '0' && p < end && *p == ' ';
}

static size_t merged_split(const char *frame, size_t len, size_t max)
{
    /* most frames have no "<PRI>VERSION SP" past their own (a '<' in text is not one):
       nothing to parse */
    const char *q = frame + 1, *end = frame + len;
    while (q < end && (q = memchr(q, '<', (size_t)(end - q))) != NULL && !pri_version_at(q, end))
        q++;
    if (!q || q >= end)
        return 0;
    const char *p = msg_part(frame, len, max);
    if (!p)
        return 0;
    const char *next = next_header(p, frame + len);
    return next ? (size_t)(next - frame) : 0;
}

/*
 * How much of buf[0..len), the MSG of a message being discarded, can go
 * while keeping what may be a HEADER not yet whole: up to the first '<'
 * among the last HEADER_5424_MAX bytes (a HEADER's own bytes may hold '<'),
 * from buf[from] on, else all of it.
 */
static size_t discard_keep(const char *buf, size_t from, size_t len)
{
    size_t lo = len > HEADER_5424_MAX ? len - HEADER_5424_MAX : 0;
    if (lo < from)
        lo = from;
    const char *lt = lo < len ? memchr(buf + lo, '<', len - lo) : NULL;
    return lt ? (size_t)(lt - buf) : len;
}

void trail_syslog_framer_init(struct trail_syslog_framer *f, int mode, size_t max_frame)
{
    f->mode = mode;
    f->max_frame = max_frame;
    f->skip = 0;
    f->discard_line = 0;
}

int trail_syslog_framer_next(struct trail_syslog_framer *f, const char *buf, size_t len,
                             const char **ret_msg, size_t *ret_len, size_t *ret_used)
{
    size_t i = 0;
    if (f->skip > 0) {
        size_t n = f->skip < len ? f->skip : len;
        f->skip -= n;
        *ret_used = n;
        return 0;
    }
    if (f->discard_line) {
        const char *nl = memchr(buf, '\n', len);
        if (f->discard_line == DISCARD_TO_HEADER) {
            /* a sender that writes no LF: the next message's HEADER ends this one */
            const char *next = next_header(buf, nl ? nl : buf + len);
            if (next) {
                f->discard_line = 0;
                *ret_used = (size_t)(next - buf);
                return 0;
            }
            if (!nl) {
                *ret_used = discard_keep(buf, 0, len);
                return 0;
            }
        }
        if (!nl) {
            *ret_used = len;
            return 0;
        }
        f->discard_line = 0;
        *ret_used = (size_t)(nl - buf) + 1;
        return 0;
    }
    /* white space between frames (a trailing LF after an octet-counted frame, CRLF) */
    while (i < len && (buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\0'))
        i++;
    if (i == len) {
        *ret_used = i;
        return 0;
    }
    if (f->mode == TRAIL_FRAME_AUTO && buf[i] >= '1' && buf[i] <= '9') {
        /* octet counting: MSG-LEN SP SYSLOG-MSG (RFC 6587 3.4.1) */
        size_t j = i, n = 0;
        while (j < len && is_digit((unsigned char)buf[j]) && j - i < 10) {
            n = n * 10 + (size_t)(buf[j] - '0');
            j++;
        }
        if (j == len) {
            *ret_used = i;
            return 0; /* the length is not complete yet */
        }
        if (buf[j] != ' ') {
            f->discard_line = DISCARD_TO_LF;
            *ret_used = j;
            return TRAIL_E_PARSE;
        }
        j++;
        if (n > f->max_frame) {
            size_t avail = len - j;
            size_t take = n < avail ? n : avail;
            f->skip = n - take;
            *ret_used = j + take;
            return TRAIL_E_TOO_LARGE;
        }
        if (len - j < n) {
            *ret_used = i;
            return 0;
        }
        *ret_msg = buf + j;
        *ret_len = n;
        *ret_used = j + n;
        return 1;
    }
    /* LF framing (RFC 6587 3.4.2): the message ends at LF; a CR before it is dropped */
    const char *nl = memchr(buf + i, '\n', len - i);
    if (f->mode == TRAIL_FRAME_AUTO) {
        /* or where the next RFC 5424 message starts, when the sender wrote no LF */
        size_t cut = merged_split(buf + i, nl ? (size_t)(nl - (buf + i)) : len - i, f->max_frame);
        if (cut) {
            *ret_used = i + cut;
            if (cut > f->max_frame)
                return TRAIL_E_TOO_LARGE;
            if (buf[i + cut - 1] == '\r')
                cut--;
            *ret_msg = buf + i;
            *ret_len = cut;
            return 1;
        }
    }
    if (!nl) {
        /* in AUTO, a HEADER that starts within max_frame may need HEADER_5424_MAX more bytes
           to show itself: wait for them before calling the message too large */
        size_t limit = f->max_frame + (f->mode == TRAIL_FRAME_AUTO ? HEADER_5424_MAX : 0);
        if (len - i > limit) {
            f->discard_line = DISCARD_TO_LF;
            *ret_used = len;
            if (f->mode == TRAIL_FRAME_AUTO && msg_part(buf + i, len - i, f->max_frame)) {
                f->discard_line = DISCARD_TO_HEADER;
                *ret_used = i + discard_keep(buf + i, 1, len - i);
            }
            return TRAIL_E_TOO_LARGE;
        }
        *ret_used = i;
        return 0;
    }
    size_t n = (size_t)(nl - (buf + i));
    *ret_used = (size_t)(nl - buf) + 1;
    if (n > f->max_frame)
        return TRAIL_E_TOO_LARGE;
    if (n > 0 && buf[i + n - 1] == '\r')
        n--;
    *ret_msg = buf + i;
    *ret_len = n;
    return 1;
}

int trail_syslog_framer_flush(struct trail_syslog_framer *f, const char *buf, size_t len,
                              const char **ret_msg, size_t *ret_len)
{
    if (f->skip > 0 || f->discard_line)
        return 0;
    size_t i = 0;
    while (i < len && (buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\0'))
        i++;
    if (i == len)
        return 0;
    if (f->mode == TRAIL_FRAME_AUTO && buf[i] >= '1' && buf[i] <= '9')
        return TRAIL_E_PARSE; /* an octet-counted frame cut short */
    if (len - i > f->max_frame)
        return TRAIL_E_TOO_LARGE;
    size_t n = len - i;
    if (buf[i + n - 1] == '\r')
        n--;
    *ret_msg = buf + i;
    *ret_len = n;
    return 1;
}

/* ---- a trail event carried in a syslog message ---- */

#define VAL_STACK 2048 /* unescaped PARAM-VALUEs up to this size need no allocation */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Is name "k.N" or "a.N" (kind 'k' or 'a', N decimal digits), the writer's pair form? */
static int pair_name(const char *name, size_t len, char kind)
{
    if (len < 3 || name[0] != kind || name[1] != '.')
        return 0;
    for (size_t i = 2; i < len; i++)
        if (!is_digit((unsigned char)name[i]))
            return 0;
    return 1;
}

/*
 * The params of the trail@32473 element, one by one: from the spans the
 * parser noted, or (for an element with more params than it notes) from a
 * cursor over the structured data. Both give the same params in order.
 */
struct param_iter {
    const struct sd_spans *spans; /* NULL: use sd */
    size_t i;
    struct trail_syslog_sd sd; /* positioned just after the SD-ID */
};

/* 1 and the next param (escaped: its value holds a backslash), 0 at the end, or TRAIL_E_PARSE. */
static inline int param_next(struct param_iter *it, const char **ret_name, size_t *ret_name_len,
                             const char **ret_value, size_t *ret_value_len, int *ret_escaped)
{
    if (it->spans) {
        if (it->i >= it->spans->n)
            return 0;
        const struct sd_span *sp = &it->spans->span[it->i++];
        *ret_name = sp->name;
        *ret_name_len = sp->name_len;
        *ret_value = sp->value;
        *ret_value_len = sp->value_len;
        *ret_escaped = sp->escaped;
        return 1;
    }
    int r = trail_syslog_sd_next_param(&it->sd, ret_name, ret_name_len, ret_value, ret_value_len);
    if (r == 1)
        *ret_escaped = find_quote_or_backslash(*ret_value, *ret_value_len) < *ret_value_len;
    return r;
}

/* Find the "k.N" param of an element whose "a.N" param was read (suffix = ".N"). */
static int find_key_param(const struct param_iter *element, const char *suffix, size_t suffix_len,
                          char *key, size_t key_size, size_t *ret_len)
{
    struct param_iter it = *element;
    const char *n, *v;
    size_t nl, vl;
    int escaped;
    while (param_next(&it, &n, &nl, &v, &vl, &escaped) == 1) {
        if (nl == suffix_len + 1 && n[0] == 'k' && memcmp(n + 1, suffix, suffix_len) == 0 &&
            vl < key_size) {
            *ret_len = trail_syslog_sd_unescape(v, vl, key);
            return 0;
        }
    }
    return TRAIL_E_NOT_FOUND;
}

/*
 * Build the event of a [trail@32473 ...] element into ev. The id is the
 * "id" param when there is one, else MSGID (trail_event_to_syslog writes
 * both).
 */
static int from_sd(struct trail_event *ev, const struct trail_syslog_msg *m,
                   const struct param_iter *element, char *err, size_t errlen)
{
    char idbuf[2 * TRAIL_MAX_ID_LEN + 1];
    size_t id_len = 0;
    struct param_iter it = *element;
    char vbuf[VAL_STACK]; /* an unescaped value */
    char *heap = NULL;    /* one that does not fit vbuf, at most sd_len bytes */
    const char *n, *v;
    size_t nl, vl;
    int escaped, r;
    while ((r = param_next(&it, &n, &nl, &v, &vl, &escaped)) == 1) {
        if (nl == 2 && memcmp(n, "id", 2) == 0) {
            if (vl > 2 * TRAIL_MAX_ID_LEN) {
                set_err(err, errlen, "syslog: the event id is longer than %d bytes",
                        TRAIL_MAX_ID_LEN);
                return TRAIL_E_BAD_ID;
            }
            if (escaped) {
                id_len = trail_syslog_sd_unescape(v, vl, idbuf);
            } else {
                memcpy(idbuf, v, vl);
                id_len = vl;
            }
            r = 0;
            break; /* the first one counts; trail_event_to_syslog writes it first */
        }
    }
    if (r < 0) {
        set_err(err, errlen, "syslog: malformed structured data");
        return TRAIL_E_PARSE;
    }
    if (id_len == 0) {
        if (m->msgid_len == 0) {
            set_err(err, errlen, "syslog: the trail@32473 element has no id and MSGID is nil");
            return TRAIL_E_BAD_ID;
        }
        memcpy(idbuf, m->msgid, m->msgid_len); /* at most 32 bytes */
        id_len = m->msgid_len;
    }
    idbuf[id_len] = '\0';

    if (!id_ok(idbuf, id_len)) {
        set_err(err, errlen, "syslog: event id '%.*s' is not lower-case [a-z0-9_] of 1..128 bytes",
                (int)(id_len > 64 ? 64 : id_len), idbuf);
        return TRAIL_E_BAD_ID;
    }
    event_set_valid_id(ev, idbuf, id_len);
    if (m->host_len > 0 && (r = trail_event_set_host(ev, m->host, m->host_len)) < 0) {
        set_err(err, errlen, "syslog: HOSTNAME: %s", trail_strerror(r));
        goto fail;
    }
    if (m->time_us)
        trail_event_set_time(ev, m->time_us);
    it = *element;
    char key[256]; /* the key of an a.N value, from its k.N */
    while ((r = param_next(&it, &n, &nl, &v, &vl, &escaped)) == 1) {
        if ((nl == 2 && memcmp(n, "id", 2) == 0) || (nl == 3 && memcmp(n, "seq", 3) == 0))
            continue; /* the id is read above; the store assigns seq */
        /* a value is used where it is unless it has an escape to undo */
        const char *val = v;
        size_t len = vl;
        if (escaped) {
            char *out = vbuf;
            if (vl > sizeof(vbuf)) {
                if (!heap && !(heap = malloc(m->sd_len + 1))) {
                    r = -ENOMEM;
                    goto fail;
                }
                out = heap;
            }
            len = trail_syslog_sd_unescape(v, vl, out);
            val = out;
        }
        if (nl == 4 && memcmp(n, "uuid", 4) == 0) {
            uint8_t u[16];
            if (trail_uuid_parse(val, len, u) < 0) {
                r = TRAIL_E_PARSE;
                set_err(err, errlen, "syslog: uuid '%.*s' is not a uuid",
                        (int)(len > 40 ? 40 : len), val);
                goto fail;
            }
            trail_event_set_uuid(ev, u);
            continue;
        }
        if (pair_name(n, nl, 'k'))
            continue; /* read with its a.N */
        if (pair_name(n, nl, 'a')) {
            /* a.N holds the value of an attribute whose key k.N is not a valid SD-NAME */
            size_t key_len = 0;
            if (find_key_param(element, n + 1, nl - 1, key, sizeof(key), &key_len) < 0) {
                r = TRAIL_E_PARSE;
                set_err(err, errlen, "syslog: param '%.*s' has no matching 'k%.*s' param", (int)nl,
                        n, (int)nl - 1, n + 1);
                goto fail;
            }
            n = key;
            nl = key_len;
        }
        /*
         * The key's form first: a k.N value may hold any byte, a NUL included.
         * A key the schema declares has the form already.
         */
        const struct trail_attr_def *def = event_find_def(ev, n, nl);
        if (!def && !key_ok(n, nl)) {
            r = TRAIL_E_BAD_KEY;
            set_err(err, errlen, "syslog: attribute key '%.*s' is not made of [A-Za-z0-9_.-]",
                    (int)(nl > 64 ? 64 : nl), n);
            goto fail;
        }
        r = event_put_text(ev, n, nl, def, val, len, 0);
        if (r < 0) {
            set_err(err, errlen, "%s", trail_event_error(ev));
            goto fail;
        }
    }
    if (r < 0) {
        set_err(err, errlen, "syslog: malformed structured data");
        goto fail;
    }
    r = 0;
fail:
    free(heap);
    return r;
}

/* Fill what the payload left unset from the syslog header. */
static int fill_from_header(struct trail_event *ev, const struct trail_syslog_msg *m)
{
    if (m->host_len > 0 && trail_event_host(ev)[0] == '\0') {
        int r = trail_event_set_host(ev, m->host, m->host_len);
        if (r < 0)
            return r;
    }
    if (m->time_us && trail_event_time(ev) == 0)
        trail_event_set_time(ev, m->time_us);
    return 0;
}

static const char *find_cef(const char *s, size_t len)
{
    for (size_t i = 0; i + 4 <= len; i++)
        if (s[i] == 'C' && memcmp(s + i, "CEF:", 4) == 0)
            return s + i;
    return NULL;
}

int trail_event_parse_syslog(struct trail_event *ev, const char *data, size_t len, char *err,
                             size_t errlen)
{
    const struct trail_limits *lim = trail_catalog_limits(ev->cat);
    struct trail_syslog_msg m;
    struct sd_spans spans;
    int r;
    event_clear(ev);
    if (err && errlen)
        err[0] = '\0';
    if (len > lim->max_record_bytes) {
        set_err(err, errlen, "syslog: message of %zu bytes is over the limit of %u", len,
                lim->max_record_bytes);
        return TRAIL_E_TOO_LARGE;
    }
    spans.element = NULL;
    if (parse_any(data, len, &m, &spans) < 0) {
        set_err(err, errlen, "syslog: malformed message (neither RFC 5424 nor RFC 3164)");
        return TRAIL_E_PARSE;
    }
    if (spans.element) {
        /* the first trail@32473 element, as trail_syslog_sd_next_element() would find it */
        struct param_iter element = {.spans = spans.complete ? &spans : NULL};
        trail_syslog_sd_init(&element.sd, m.sd, m.sd_len);
        element.sd.p = spans.element;
        element.sd.in_element = 1;
        r = from_sd(ev, &m, &element, err, errlen);
        if (r < 0)
            event_clear(ev);
        return r;
    }
    const char *msg = m.msg;
    size_t msg_len = m.msg_len;
    while (msg_len > 0 && (*msg == ' ' || *msg == '\t')) {
        msg++;
        msg_len--;
    }
    while (msg_len > 0 && (msg[msg_len - 1] == '\n' || msg[msg_len - 1] == '\r'))
        msg_len--;
    if (msg_len > 0 && *msg == '{') {
        r = trail_event_parse_json(ev, msg, msg_len, err, errlen);
    } else {
        const char *cef = find_cef(m.content, m.content_len);
        if (!cef) {
            set_err(err, errlen,
                    "syslog: no trail event in the message (no [trail@32473 ...] "
                    "structured data, JSON object or CEF payload)");
            return TRAIL_E_PARSE;
        }
        /* The event.log prefix ("... [EVENT]  INFO: time host CEF:0|...") is the CEF
         * decoder's to read; anything else before "CEF:" is a syslog tag or noise. */
        const char *from = cef;
        if (msg_len > 0 && cef > msg && cef <= msg + msg_len &&
            memmem(msg, (size_t)(cef - msg), "[EVENT]", 7))
            from = msg;
        size_t n = (size_t)(m.content + m.content_len - from);
        while (n > 0 && (from[n - 1] == '\n' || from[n - 1] == '\r'))
            n--;
        r = trail_event_parse_cef(ev, from, n, err, errlen);
    }
    if (r < 0)
        return r;
    r = fill_from_header(ev, &m);
    if (r < 0) {
        set_err(err, errlen, "syslog: HOSTNAME: %s", trail_strerror(r));
        event_clear(ev);
        return r;
    }
    return 0;
}

int trail_event_from_syslog(const struct trail_catalog *cat, const char *data, size_t len,
                            struct trail_event **ret_event, char *err, size_t errlen)
{
    return event_new_parsed(cat, trail_event_parse_syslog, data, len, ret_event, err, errlen);
}
