/*
 * syslog_parse.c - reading syslog: RFC 5424 and RFC 3164 messages, their
 * structured data, TCP framing (RFC 6587 octet counting and LF), and the
 * decoding of a message that carries a trail event.
 *
 * Everything here is a pure function of its input (RFC 3164's year and
 * local time zone aside), never allocates except in trail_event_from_syslog,
 * and points into the caller's buffer. Used by traild's syslog, raw TCP and
 * Unix socket inputs and by the fuzz target tests/fuzz/fuzz_syslog.c.
 *
 * Not here: writing syslog (lib/syslog.c), sockets (daemon/input_syslog.c).
 */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
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

/* Read a header field of printable US-ASCII up to the next space; "-" is nil (len 0). */
static int parse_field(const char **p, const char *end, size_t max, const char **ret,
                       size_t *ret_len)
{
    const char *s = *p, *start = s;
    while (s < end && is_print_ascii((unsigned char)*s))
        s++;
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

static int sd_name_char(unsigned char c)
{
    return is_print_ascii(c) && c != '=' && c != ']' && c != '"';
}

/*
 * Scan one SD-ELEMENT at *p ("[" SD-ID *(SP SD-PARAM) "]"), checking its
 * syntax. Returns 0 and moves *p past it, or TRAIL_E_PARSE.
 */
static int scan_sd_element(const char **p, const char *end)
{
    const char *s = *p;
    if (s >= end || *s != '[')
        return TRAIL_E_PARSE;
    s++;
    const char *id = s;
    while (s < end && sd_name_char((unsigned char)*s))
        s++;
    if (s == id || s - id > 32)
        return TRAIL_E_PARSE;
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
        while (s < end && sd_name_char((unsigned char)*s))
            s++;
        if (s == name || s - name > 32 || s + 1 >= end || s[0] != '=' || s[1] != '"')
            return TRAIL_E_PARSE;
        s += 2;
        for (;;) {
            if (s >= end)
                return TRAIL_E_PARSE;
            if (*s == '\\' && s + 1 < end) {
                s += 2;
                continue;
            }
            if (*s == '"')
                break;
            s++;
        }
        s++; /* the closing quote */
    }
}

/* ---- RFC 5424 ---- */

int trail_syslog_parse_5424(const char *data, size_t len, struct trail_syslog_msg *ret_msg)
{
    const char *p = data, *end = data + len;
    struct trail_syslog_msg m = {.rfc = 5424};
    int pri;
    if (parse_pri(&p, end, &pri) < 0)
        return TRAIL_E_PARSE;
    m.facility = pri >> 3;
    m.severity = pri & 7;
    /* VERSION: 1..3 digits, not starting with 0 */
    const char *v = p;
    while (p < end && is_digit((unsigned char)*p) && p - v < 3)
        p++;
    if (p == v || *v == '0' || p >= end || *p != ' ')
        return TRAIL_E_PARSE;
    p++;

    const char *ts;
    size_t ts_len;
    if (parse_field(&p, end, 64, &ts, &ts_len) < 0)
        return TRAIL_E_PARSE;
    if (ts_len > 0 && trail_time_parse(ts, ts_len, &m.time_us) < 0)
        return TRAIL_E_PARSE;
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
            return TRAIL_E_PARSE;
        p++;
        if (parse_field(&p, end, fields[i].max, fields[i].ptr, fields[i].len) < 0)
            return TRAIL_E_PARSE;
    }
    if (p >= end || *p != ' ')
        return TRAIL_E_PARSE;
    p++;
    if (p < end && *p == '-') {
        p++;
    } else {
        const char *sd = p;
        do {
            if (scan_sd_element(&p, end) < 0)
                return TRAIL_E_PARSE;
        } while (p < end && *p == '[');
        m.sd = sd;
        m.sd_len = (size_t)(p - sd);
    }
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

int trail_syslog_parse(const char *data, size_t len, struct trail_syslog_msg *ret_msg)
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
        return trail_syslog_parse_5424(data, len, ret_msg);
    return trail_syslog_parse_3164(data, len, ret_msg);
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
    while (s < sd->end && sd_name_char((unsigned char)*s))
        s++;
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
    while (s < sd->end && sd_name_char((unsigned char)*s))
        s++;
    if (s == name || s - name > 32 || s + 1 >= sd->end || s[0] != '=' || s[1] != '"')
        return TRAIL_E_PARSE;
    const char *name_end = s;
    s += 2;
    const char *value = s;
    while (s < sd->end && *s != '"') {
        if (*s == '\\' && s + 1 < sd->end)
            s++;
        s++;
    }
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
        /* RFC 5424 6.3.3: only \" \\ \] are escapes; any other backslash is literal */
        if (value[i] == '\\' && i + 1 < len &&
            (value[i + 1] == '"' || value[i + 1] == '\\' || value[i + 1] == ']'))
            i++;
        out[n++] = value[i];
    }
    return n;
}

/* ---- framing ---- */

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
            f->discard_line = 1;
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
    if (!nl) {
        if (len - i > f->max_frame) {
            f->discard_line = 1;
            *ret_used = len;
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

/* Find the "k.N" param of an element whose "a.N" param was read (suffix = ".N"). */
static int find_key_param(const struct trail_syslog_sd *element, const char *suffix,
                          size_t suffix_len, char *key, size_t key_size, size_t *ret_len)
{
    struct trail_syslog_sd it = *element;
    const char *n, *v;
    size_t nl, vl;
    while (trail_syslog_sd_next_param(&it, &n, &nl, &v, &vl) == 1) {
        if (nl == suffix_len + 1 && n[0] == 'k' && memcmp(n + 1, suffix, suffix_len) == 0 &&
            vl < key_size) {
            *ret_len = trail_syslog_sd_unescape(v, vl, key);
            return 0;
        }
    }
    return TRAIL_E_NOT_FOUND;
}

/*
 * Build the event of a [trail@32473 ...] element; element is positioned just
 * after the SD-ID. The id is the "id" param when there is one, else MSGID
 * (trail_event_to_syslog writes both).
 */
static int from_sd(struct trail_event *ev, const struct trail_syslog_msg *m,
                   const struct trail_syslog_sd *element, char *err, size_t errlen)
{
    char idbuf[2 * TRAIL_MAX_ID_LEN + 1];
    size_t id_len = 0;
    struct trail_syslog_sd it = *element;
    char *val = NULL;
    const char *n, *v;
    size_t nl, vl;
    int r;
    while ((r = trail_syslog_sd_next_param(&it, &n, &nl, &v, &vl)) == 1) {
        if (nl == 2 && memcmp(n, "id", 2) == 0) {
            if (vl > 2 * TRAIL_MAX_ID_LEN) {
                set_err(err, errlen, "syslog: the event id is longer than %d bytes",
                        TRAIL_MAX_ID_LEN);
                return TRAIL_E_BAD_ID;
            }
            id_len = trail_syslog_sd_unescape(v, vl, idbuf);
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

    if (!trail_id_valid(idbuf, id_len)) {
        set_err(err, errlen, "syslog: event id '%.*s' is not lower-case [a-z0-9_] of 1..128 bytes",
                (int)(id_len > 64 ? 64 : id_len), idbuf);
        return TRAIL_E_BAD_ID;
    }
    trail_event_set_valid_id(ev, idbuf, id_len);
    if (m->host_len > 0 && (r = trail_event_set_host(ev, m->host, m->host_len)) < 0) {
        set_err(err, errlen, "syslog: HOSTNAME: %s", trail_strerror(r));
        goto fail;
    }
    if (m->time_us)
        trail_event_set_time(ev, m->time_us);
    val = malloc(m->sd_len + 1);
    if (!val) {
        r = -ENOMEM;
        goto fail;
    }
    it = *element;
    char key[256]; /* the key of an a.N value, from its k.N */
    while ((r = trail_syslog_sd_next_param(&it, &n, &nl, &v, &vl)) == 1) {
        size_t len = trail_syslog_sd_unescape(v, vl, val);
        if ((nl == 2 && memcmp(n, "id", 2) == 0) || (nl == 3 && memcmp(n, "seq", 3) == 0))
            continue; /* the id is read above; the store assigns seq */
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
        /* the key's form first: a k.N value may hold any byte, a NUL included */
        if (!trail_key_valid(n, nl)) {
            r = TRAIL_E_BAD_KEY;
            set_err(err, errlen, "syslog: attribute key '%.*s' is not made of [A-Za-z0-9_.-]",
                    (int)(nl > 64 ? 64 : nl), n);
            goto fail;
        }
        r = trail_event_set_text(ev, n, nl, val, len);
        if (r < 0) {
            set_err(err, errlen, "%s", trail_event_error(ev));
            goto fail;
        }
    }
    if (r < 0) {
        set_err(err, errlen, "syslog: malformed structured data");
        goto fail;
    }
    free(val);
    return 0;
fail:
    free(val);
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
    int r;
    trail_event_clear(ev);
    if (err && errlen)
        err[0] = '\0';
    if (len > lim->max_record_bytes) {
        set_err(err, errlen, "syslog: message of %zu bytes is over the limit of %u", len,
                lim->max_record_bytes);
        return TRAIL_E_TOO_LARGE;
    }
    if (trail_syslog_parse(data, len, &m) < 0) {
        set_err(err, errlen, "syslog: malformed message (neither RFC 5424 nor RFC 3164)");
        return TRAIL_E_PARSE;
    }
    if (m.sd_len > 0) {
        struct trail_syslog_sd sd;
        const char *id;
        size_t id_len;
        trail_syslog_sd_init(&sd, m.sd, m.sd_len);
        while ((r = trail_syslog_sd_next_element(&sd, &id, &id_len)) == 1) {
            if (id_len == 11 && memcmp(id, "trail@32473", 11) == 0) {
                r = from_sd(ev, &m, &sd, err, errlen);
                if (r < 0)
                    trail_event_clear(ev);
                return r;
            }
        }
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
        trail_event_clear(ev);
        return r;
    }
    return 0;
}

int trail_event_from_syslog(const struct trail_catalog *cat, const char *data, size_t len,
                            struct trail_event **ret_event, char *err, size_t errlen)
{
    struct trail_event *ev;
    int r = trail_event_new(cat, NULL, &ev);
    if (r < 0)
        return r;
    r = trail_event_parse_syslog(ev, data, len, err, errlen);
    if (r < 0) {
        trail_event_free(ev);
        return r;
    }
    *ret_event = ev;
    return 0;
}
