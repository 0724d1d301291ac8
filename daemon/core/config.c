/*
 * config.c - read trail.conf with libinih into struct config.
 *
 * Every key is checked as it is read: an unknown section or key, a value
 * that does not parse, a custom event the catalog refuses, all stop the load
 * with "FILE:LINE: [section] key: problem". The line is known because the
 * file is fed to inih through our own reader, which counts lines (and refuses
 * lines longer than inih's buffer instead of letting it split them).
 *
 * Not here: what the settings do (daemon/main.c and the inputs).
 */
#include "core/config.h"
#include "core/auth.h"

#include <ini.h>

/* the sinks' calls for [sink] sections (config.h); set once, before any load */
static const struct config_sink_ops *sink_ops;

void config_set_sink_ops(const struct config_sink_ops *ops)
{
    sink_ops = ops;
}

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINE_MAX_INIH 200 /* inih's INI_MAX_LINE as Debian builds it */

struct loader {
    struct config *cfg;
    const char *file;
    FILE *f;
    int line;          /* the line inih is parsing */
    int continued;     /* that line started with white space (a continuation) */
    int too_long;      /* the first line that did not fit inih's buffer, or 0 */
    char section[128]; /* the section of the previous key */
    char prev_key[64]; /* the previous key, to tell a continuation from a repeat */
    char **seen;       /* keys seen in the current section */
    size_t n_seen, cap_seen;
    char **sections; /* section headers seen so far, spaces collapsed */
    int *section_lines;
    size_t n_sections, cap_sections;
    int after_key; /* a key line since the last header: an indented line continues it */
    int failed;
    char *err;
    size_t errlen;
};

static void fail(struct loader *L, const char *section, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void fail(struct loader *L, const char *section, const char *key, const char *fmt, ...)
{
    if (L->failed)
        return;
    L->failed = 1;
    int n = snprintf(L->err, L->errlen, "%s:%d: ", L->file, L->line);
    if (n < 0 || (size_t)n >= L->errlen)
        return;
    if (section) {
        int m = snprintf(L->err + n, L->errlen - (size_t)n, "[%s] %s%s", section, key ? key : "",
                         key ? ": " : ": ");
        if (m < 0 || (size_t)(n + m) >= L->errlen)
            return;
        n += m;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(L->err + n, L->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

static void fail_too_long(struct loader *L)
{
    L->line = L->too_long;
    fail(L, NULL, NULL, "line longer than %d characters (continue a long value on indented lines)",
         LINE_MAX_INIH - 1);
}

/* Append s (copied) to a growing array of strings; 0 or -ENOMEM. */
static int strs_add(char ***arr, size_t *n, size_t *cap, const char *s)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        char **p = realloc(*arr, nc * sizeof(*p));
        if (!p)
            return -ENOMEM;
        *arr = p;
        *cap = nc;
    }
    if (!((*arr)[*n] = strdup(s)))
        return -ENOMEM;
    (*n)++;
    return 0;
}

static void strs_free(char **arr, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(arr[i]);
    free(arr);
}

/*
 * A "[section]" header, seen on its way to inih. The handler only sees keys,
 * so a header given twice would pass unnoticed: its keys would join the
 * first one's, or (in named sections) start a second one that silently
 * wins. Names compare with runs of spaces collapsed, as "[sink  a]" names
 * the same sink as "[sink a]". Returns 0, or -1 having failed the load.
 */
static int note_section(struct loader *L, const char *name, size_t len)
{
    char norm[256];
    size_t n = 0;
    for (size_t i = 0; i < len && n < sizeof(norm) - 1; i++)
        if (name[i] != ' ' || (n > 0 && norm[n - 1] != ' '))
            norm[n++] = name[i];
    norm[n] = '\0';
    for (size_t i = 0; i < L->n_sections; i++)
        if (!strcmp(L->sections[i], norm)) {
            if (L->too_long)
                fail_too_long(L); /* an earlier problem is reported first */
            else
                fail(L, NULL, NULL,
                     "[%s] given twice (first at line %d): put its keys in one section", norm,
                     L->section_lines[i]);
            return -1;
        }
    size_t cap = L->cap_sections;
    if (strs_add(&L->sections, &L->n_sections, &L->cap_sections, norm) < 0) {
        fail(L, NULL, NULL, "out of memory");
        return -1;
    }
    if (cap != L->cap_sections) {
        int *p = realloc(L->section_lines, L->cap_sections * sizeof(*p));
        if (!p) {
            fail(L, NULL, NULL, "out of memory");
            return -1;
        }
        L->section_lines = p;
    }
    L->section_lines[L->n_sections - 1] = L->line;
    return 0;
}

/*
 * Classify a line as inih will (a UTF-8 BOM on the first line skipped;
 * comments start with ';' or '#'; an indented line after a key continues
 * that key's value; "[...]" is a header) to see every header.
 */
static int note_line(struct loader *L, const char *str)
{
    const char *s = str;
    if (L->line == 1 && !strncmp(s, "\xEF\xBB\xBF", 3))
        s += 3;
    const char *start = s;
    while (*start && isspace((unsigned char)*start))
        start++;
    if (!*start || *start == ';' || *start == '#')
        return 0;
    if (L->after_key && start > s)
        return 0;
    if (*start != '[') {
        L->after_key = 1;
        return 0;
    }
    L->after_key = 0;
    const char *close = strchr(start + 1, ']');
    if (!close)
        return 0; /* not a header: inih reports the line */
    return note_section(L, start + 1, (size_t)(close - start - 1));
}

/* The fgets-like reader inih calls: counts lines and catches overlong ones and repeated headers. */
static char *reader(char *str, int num, void *stream)
{
    struct loader *L = stream;
    if (!fgets(str, num, L->f))
        return NULL;
    L->line++;
    size_t len = strlen(str);
    if (len == (size_t)num - 1 && str[len - 1] != '\n') {
        int c = fgetc(L->f);
        if (c != '\n' && c != EOF) {
            /* swallow the rest of the line so that inih does not see it as another */
            while ((c = fgetc(L->f)) != EOF && c != '\n')
                ;
            if (!L->too_long)
                L->too_long = L->line;
            str[0] = '\0';
        }
    }
    L->continued = str[0] == ' ' || str[0] == '\t';
    if (!L->failed && note_line(L, str) < 0)
        return NULL; /* stop here: the problem is in err */
    return str;
}

/* ---- value parsers ---- */

static int parse_u64(const char *v, uint64_t max, uint64_t *ret)
{
    if (!isdigit((unsigned char)*v))
        return -EINVAL;
    errno = 0;
    char *end;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || *end || x > max)
        return -EINVAL;
    *ret = x;
    return 0;
}

int config_parse_size(const char *text, uint64_t *ret)
{
    if (!isdigit((unsigned char)*text))
        return -EINVAL;
    errno = 0;
    char *end;
    unsigned long long x = strtoull(text, &end, 10);
    if (errno)
        return -EINVAL;
    unsigned shift = 0;
    switch (*end) {
    case '\0':
        break;
    case 'k':
    case 'K':
        shift = 10;
        break;
    case 'm':
    case 'M':
        shift = 20;
        break;
    case 'g':
    case 'G':
        shift = 30;
        break;
    case 't':
    case 'T':
        shift = 40;
        break;
    default:
        return -EINVAL;
    }
    if (*end && end[1] && !(end[1] == 'B' && !end[2]) &&
        !(end[1] == 'i' && end[2] == 'B' && !end[3]))
        return -EINVAL;
    if (shift && x > (UINT64_MAX >> shift))
        return -EINVAL;
    *ret = (uint64_t)x << shift;
    return 0;
}

int config_split_addr(const char *addr, char *host, size_t hostlen, char *port, size_t portlen)
{
    const char *colon;
    const char *h = addr;
    size_t hl;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':')
            return -EINVAL;
        h = addr + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon || memchr(addr, ':', (size_t)(colon - addr)))
            return -EINVAL;
        hl = (size_t)(colon - addr);
    }
    const char *p = colon + 1;
    if (!*p || strlen(p) > 5 || strspn(p, "0123456789") != strlen(p) || atoi(p) > 65535)
        return -EINVAL;
    if (hl >= hostlen || strlen(p) >= portlen)
        return -EINVAL;
    memcpy(host, h, hl);
    host[hl] = '\0';
    strcpy(port, p);
    return 0;
}

static int set_str(char **dst, const char *v)
{
    char *s = strdup(v);
    if (!s)
        return -ENOMEM;
    free(*dst);
    *dst = s;
    return 0;
}

/* A listener address: "host:port", or empty / "off" for none. */
static int set_addr(struct loader *L, const char *sec, const char *key, char **dst, const char *v)
{
    char host[256], port[8];
    if (!*v || strcmp(v, "off") == 0) {
        free(*dst);
        *dst = NULL;
        return 0;
    }
    if (config_split_addr(v, host, sizeof(host), port, sizeof(port)) < 0) {
        fail(L, sec, key, "'%s' is not HOST:PORT (or [IPv6]:PORT, or 'off')", v);
        return -EINVAL;
    }
    return set_str(dst, v);
}

static int set_u32(struct loader *L, const char *sec, const char *key, uint32_t *dst, const char *v,
                   uint64_t min, uint64_t max)
{
    uint64_t x;
    if (parse_u64(v, max, &x) < 0 || x < min) {
        fail(L, sec, key, "'%s' is not a whole number from %llu to %llu", v,
             (unsigned long long)min, (unsigned long long)max);
        return -EINVAL;
    }
    *dst = (uint32_t)x;
    return 0;
}

static int set_size(struct loader *L, const char *sec, const char *key, uint64_t *dst,
                    const char *v, uint64_t min, uint64_t max)
{
    uint64_t x;
    if (config_parse_size(v, &x) < 0 || x < min || x > max) {
        fail(L, sec, key, "'%s' is not a size from %llu to %llu bytes (suffixes K, M, G, T)", v,
             (unsigned long long)min, (unsigned long long)max);
        return -EINVAL;
    }
    *dst = x;
    return 0;
}

static int set_size32(struct loader *L, const char *sec, const char *key, uint32_t *dst,
                      const char *v, uint64_t min, uint64_t max)
{
    uint64_t x;
    if (set_size(L, sec, key, &x, v, min, max) < 0)
        return -EINVAL;
    *dst = (uint32_t)x;
    return 0;
}

/* ---- sections ---- */

static int load_server(struct loader *L, const char *key, const char *v)
{
    struct config *c = L->cfg;
    if (!strcmp(key, "host")) {
        if (!*v || strlen(v) > 255) {
            fail(L, "server", key, "a host name of 1 to 255 characters is needed");
            return -EINVAL;
        }
        return set_str(&c->host, v);
    }
    fail(L, "server", key, "unknown key (known: host)");
    return -EINVAL;
}

static int load_store(struct loader *L, const char *key, const char *v)
{
    struct config *c = L->cfg;
    const char *s = "store";
    if (!strcmp(key, "path")) {
        if (!*v) {
            fail(L, s, key, "a directory is needed");
            return -EINVAL;
        }
        c->line.store_path = L->line;
        return set_str(&c->store_path, v);
    }
    if (!strcmp(key, "fsync")) {
        if (!strcmp(v, "always"))
            c->fsync = FSYNC_ALWAYS;
        else if (!strcmp(v, "interval"))
            c->fsync = FSYNC_INTERVAL;
        else {
            fail(L, s, key, "'%s' is not one of: always, interval", v);
            return -EINVAL;
        }
        return 0;
    }
    if (!strcmp(key, "fsync_interval_ms"))
        return set_u32(L, s, key, &c->fsync_interval_ms, v, 1, 60000);
    if (!strcmp(key, "retention_days"))
        return set_u32(L, s, key, &c->retention_days, v, 0, 365000);
    if (!strcmp(key, "retention_bytes"))
        return set_size(L, s, key, &c->retention_bytes, v, 0, UINT64_MAX);
    if (!strcmp(key, "checkpoint_interval_s"))
        return set_u32(L, s, key, &c->checkpoint_interval_s, v, 0, 86400);
    if (!strcmp(key, "dedup_window_s"))
        return set_u32(L, s, key, &c->dedup_window_s, v, 1, 366 * 86400);
    if (!strcmp(key, "dedup_max"))
        return set_u32(L, s, key, &c->dedup_max, v, 0, 100000000);
    if (!strcmp(key, "seal_threads"))
        return set_u32(L, s, key, &c->seal_threads, v, 0, TRAIL_SEAL_THREADS_MAX);
    if (!strcmp(key, "seal_backlog_max"))
        return set_u32(L, s, key, &c->seal_backlog_max, v, 0, 4096);
    if (!strcmp(key, "signing_key")) {
        c->line.signing_key = L->line;
        return set_str(&c->signing_key, v);
    }
    if (!strcmp(key, "origin")) {
        /* a C2SP note key name, one word: checked here so that traild -t catches it */
        for (const char *p = v; *p; p++)
            if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e || *p == '+') {
                fail(L, s, key, "'%s' is not an origin (printable ASCII, no space, no '+')", v);
                return -EINVAL;
            }
        if (!*v || strlen(v) > TRAIL_ORIGIN_MAX) {
            fail(L, s, key, "an origin is 1 to %d characters", TRAIL_ORIGIN_MAX);
            return -EINVAL;
        }
        return set_str(&c->origin, v);
    }
    if (!strcmp(key, "accept_truncation")) {
        /* the store's last seq, as the refusal named it: a number, never a yes */
        if (parse_u64(v, UINT64_MAX - 1, &c->accept_truncation_to) < 0) {
            fail(L, s, key, "'%s' is not the store's last seq (a whole number)", v);
            return -EINVAL;
        }
        c->accept_truncation = 1;
        return 0;
    }
    fail(L, s, key,
         "unknown key (known: path, fsync, fsync_interval_ms, retention_days, retention_bytes, "
         "checkpoint_interval_s, signing_key, origin, dedup_window_s, dedup_max, "
         "seal_threads, seal_backlog_max, accept_truncation)");
    return -EINVAL;
}

static int load_listen(struct loader *L, const char *key, const char *v)
{
    struct config *c = L->cfg;
    const char *s = "listen";
    if (!strcmp(key, "http"))
        return set_addr(L, s, key, &c->http, v);
    if (!strcmp(key, "syslog_udp"))
        return set_addr(L, s, key, &c->syslog_udp, v);
    if (!strcmp(key, "syslog_tcp"))
        return set_addr(L, s, key, &c->syslog_tcp, v);
    if (!strcmp(key, "syslog_tls"))
        return set_addr(L, s, key, &c->syslog_tls, v);
    if (!strcmp(key, "cef_tcp"))
        return set_addr(L, s, key, &c->cef_tcp, v);
    if (!strcmp(key, "unix")) {
        free(c->unix_path);
        c->unix_path = NULL;
        if (!*v || !strcmp(v, "off"))
            return 0;
        if (strlen(v) >= 108) {
            fail(L, s, key, "a socket path is at most 107 bytes");
            return -EINVAL;
        }
        return set_str(&c->unix_path, v);
    }
    if (!strcmp(key, "unix_mode")) {
        char *end;
        errno = 0;
        unsigned long m = strtoul(v, &end, 8);
        if (!*v || *end || errno || m > 0777) {
            fail(L, s, key, "'%s' is not an octal mode such as 0660", v);
            return -EINVAL;
        }
        c->unix_mode = (uint32_t)m;
        return 0;
    }
    if (!strcmp(key, "http_threads"))
        return set_u32(L, s, key, &c->http_threads, v, 1, 256);
    if (!strcmp(key, "syslog_threads"))
        return set_u32(L, s, key, &c->syslog_threads, v, 0, 8);
    if (!strcmp(key, "stream_threads"))
        return set_u32(L, s, key, &c->stream_threads, v, 0, 8);
    if (!strcmp(key, "http_tls")) {
        if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true"))
            c->http_tls = 1;
        else if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false"))
            c->http_tls = 0;
        else {
            fail(L, s, key, "'%s' is not on or off", v);
            return -EINVAL;
        }
        return 0;
    }
    fail(L, s, key,
         "unknown key (known: http, http_threads, http_tls, syslog_udp, syslog_tcp, syslog_tls, "
         "syslog_threads, cef_tcp, unix, unix_mode, stream_threads)");
    return -EINVAL;
}

static int load_tls(struct loader *L, const char *key, const char *v)
{
    struct config *c = L->cfg;
    struct {
        const char *key;
        char **dst;
        int *line;
    } files[] = {
        {"cert", &c->tls_cert, &c->line.tls_cert},
        {"key", &c->tls_key, &c->line.tls_key},
        {"ca", &c->tls_ca, &c->line.tls_ca},
        {"http_ca", &c->tls_http_ca, &c->line.tls_http_ca},
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        if (!strcmp(key, files[i].key)) {
            if (!*v) {
                fail(L, "tls", key, "a file is needed");
                return -EINVAL;
            }
            *files[i].line = L->line;
            return set_str(files[i].dst, v);
        }
    fail(L, "tls", key, "unknown key (known: cert, key, ca, http_ca)");
    return -EINVAL;
}

static int load_limits(struct loader *L, const char *key, const char *v)
{
    struct config *c = L->cfg;
    const char *s = "limits";
    if (!strcmp(key, "max_record_bytes")) {
        uint64_t x;
        /* every stored record must fit a C2SP tlog-tiles entry, whose length is a uint16 */
        if (config_parse_size(v, &x) == 0 && x > TRAIL_RECORD_BYTES_MAX) {
            fail(L, s, key,
                 "'%s' is over %u bytes: a record must fit a tlog-tiles entry (a uint16 length)", v,
                 TRAIL_RECORD_BYTES_MAX);
            return -EINVAL;
        }
        return set_size32(L, s, key, &c->limits.max_record_bytes, v, 256, TRAIL_RECORD_BYTES_MAX);
    }
    if (!strcmp(key, "max_attrs"))
        return set_u32(L, s, key, &c->limits.max_attrs, v, 1, 4096);
    if (!strcmp(key, "max_key_len"))
        return set_u32(L, s, key, &c->limits.max_key_len, v, 1, 255);
    if (!strcmp(key, "max_value_len"))
        return set_size32(L, s, key, &c->limits.max_value_len, v, 1, 16u << 20);
    if (!strcmp(key, "max_line_bytes"))
        return set_size32(L, s, key, &c->max_line_bytes, v, 256, 16u << 20);
    if (!strcmp(key, "max_body_bytes"))
        return set_size(L, s, key, &c->max_body_bytes, v, 1024, 1ull << 32);
    if (!strcmp(key, "batch_size"))
        return set_u32(L, s, key, &c->batch_size, v, 1, 1u << 20);
    if (!strcmp(key, "max_connections"))
        return set_u32(L, s, key, &c->max_connections, v, 1, 1u << 20);
    if (!strcmp(key, "connections_per_peer"))
        return set_u32(L, s, key, &c->connections_per_peer, v, 0, 1u << 20);
    if (!strcmp(key, "queue_events"))
        return set_u32(L, s, key, &c->queue_events, v, 1, 1u << 26);
    if (!strcmp(key, "max_batch_events"))
        return set_u32(L, s, key, &c->max_batch_events, v, 1, 1u << 24);
    if (!strcmp(key, "max_query_limit"))
        return set_u32(L, s, key, &c->max_query_limit, v, 1, 10000);
    if (!strcmp(key, "max_streams"))
        return set_u32(L, s, key, &c->max_streams, v, 0, 65536);
    if (!strcmp(key, "http_timeout_s"))
        return set_u32(L, s, key, &c->http_timeout_s, v, 1, 86400);
    if (!strcmp(key, "http_header_timeout_s"))
        return set_u32(L, s, key, &c->http_header_timeout_s, v, 1, 3600);
    if (!strcmp(key, "stream_idle_timeout_s"))
        return set_u32(L, s, key, &c->stream_idle_timeout_s, v, 0, 86400 * 7);
    if (!strcmp(key, "auth_events_per_minute"))
        return set_u32(L, s, key, &c->auth_events_per_minute, v, 0, 100000);
    if (!strcmp(key, "auth_events_total_per_minute"))
        return set_u32(L, s, key, &c->auth_events_total_per_minute, v, 0, 1000000);
    if (!strcmp(key, "rejected_events_per_minute"))
        return set_u32(L, s, key, &c->rejected_events_per_minute, v, 0, 100000);
    if (!strcmp(key, "rejected_events_total_per_minute"))
        return set_u32(L, s, key, &c->rejected_events_total_per_minute, v, 0, 1000000);
    fail(L, s, key,
         "unknown key (known: max_record_bytes, max_attrs, max_key_len, max_value_len, "
         "max_line_bytes, max_body_bytes, batch_size, max_connections, connections_per_peer, "
         "queue_events, max_batch_events, max_query_limit, max_streams, http_timeout_s, "
         "http_header_timeout_s, stream_idle_timeout_s, "
         "auth_events_per_minute, auth_events_total_per_minute, rejected_events_per_minute, "
         "rejected_events_total_per_minute)");
    return -EINVAL;
}

static int load_validation(struct loader *L, const char *key, const char *v)
{
    if (!strcmp(key, "policy")) {
        if (!strcmp(v, "strict"))
            L->cfg->policy = TRAIL_POLICY_STRICT;
        else if (!strcmp(v, "lenient"))
            L->cfg->policy = TRAIL_POLICY_LENIENT;
        else if (!strcmp(v, "off"))
            L->cfg->policy = TRAIL_POLICY_OFF;
        else {
            fail(L, "validation", key, "'%s' is not one of: strict, lenient, off", v);
            return -EINVAL;
        }
        return 0;
    }
    if (!strcmp(key, "time_skew_future_s"))
        return set_u32(L, "validation", key, &L->cfg->skew_future_s, v, 0, 366 * 86400);
    if (!strcmp(key, "time_skew_past_days"))
        return set_u32(L, "validation", key, &L->cfg->skew_past_days, v, 0, 365000);
    if (!strcmp(key, "time_skew")) {
        if (strcmp(v, "flag") != 0 && strcmp(v, "refuse") != 0) {
            fail(L, "validation", key, "'%s' is not one of: flag, refuse", v);
            return -EINVAL;
        }
        L->cfg->skew_refuse = v[0] == 'r';
        return 0;
    }
    fail(L, "validation", key,
         "unknown key (known: policy, time_skew, time_skew_future_s, time_skew_past_days)");
    return -EINVAL;
}

/* Grow an array of structs by one zeroed element; returns it or NULL. */
static void *push(void **arr, size_t *n, size_t size)
{
    void *p = realloc(*arr, (*n + 1) * size);
    if (!p)
        return NULL;
    *arr = p;
    void *e = (char *)p + *n * size;
    memset(e, 0, size);
    (*n)++;
    return e;
}

/* Append to a value continued on the next line. */
static int append_str(char **dst, const char *sep, const char *v)
{
    size_t a = *dst ? strlen(*dst) : 0;
    char *s = realloc(*dst, a + strlen(sep) + strlen(v) + 1);
    if (!s)
        return -ENOMEM;
    if (a)
        strcpy(s + a, sep), strcat(s, v);
    else
        strcpy(s, v);
    *dst = s;
    return 0;
}

static int load_event(struct loader *L, const char *sec, const char *name, int first,
                      const char *key, const char *v)
{
    struct config *c = L->cfg;
    if (first) {
        struct event_conf *e = push((void **)&c->events, &c->n_events, sizeof(struct event_conf));
        if (!e || !(e->id = strdup(name)))
            return -ENOMEM;
        e->line = L->line;
    }
    struct event_conf *e = &c->events[c->n_events - 1];
    if (!strcmp(key, "severity")) {
        e->severity_line = L->line;
        return set_str(&e->severity, v);
    }
    if (!strcmp(key, "description"))
        return L->continued ? append_str(&e->description, " ", v) : set_str(&e->description, v);
    if (!L->continued && (!strcmp(key, "schema") || !strcmp(key, "attributes")))
        e->schema_line = L->line;
    if (!strcmp(key, "schema") || !strcmp(key, "attributes"))
        return L->continued ? append_str(&e->schema, ", ", v) : set_str(&e->schema, v);
    fail(L, sec, key, "unknown key (known: severity, description, schema)");
    return -EINVAL;
}

/*
 * [token NAME] sections held a secret in clear, which traild no longer
 * accepts: they are refused with the way to the [tokens] form.
 */
static int load_token(struct loader *L, const char *sec, const char *name, int first,
                      const char *key, const char *v)
{
    (void)name, (void)first;
    if (!strcmp(key, "secret") && strlen(v) < 16) {
        fail(L, sec, key, "a secret of at least 16 characters is needed");
        return -EINVAL;
    }
    fail(L, sec, key,
         "tokens are no longer kept in clear: put 'NAME = ROLE:SALT:HASH' from `trail token-hash "
         "NAME ROLE` in [tokens]");
    return -EINVAL;
}

/* [tokens]: NAME = ROLE:SALT:HASH */
static int load_tokens(struct loader *L, const char *key, const char *v)
{
    struct config *c = L->cfg;
    char e[200];
    struct token_conf t = {0};
    int r = auth_parse_token(key, v, &t, e, sizeof(e));
    if (r < 0) {
        if (r != -ENOMEM)
            fail(L, "tokens", key, "%s", e);
        return r;
    }
    struct token_conf *slot = push((void **)&c->tokens, &c->n_tokens, sizeof(struct token_conf));
    if (!slot) {
        free(t.name);
        return -ENOMEM;
    }
    *slot = t;
    return 0;
}

/* [client_certs]: CN or SHA-256 fingerprint = ROLE */
static int load_client_certs(struct loader *L, const char *key, const char *v)
{
    struct config *c = L->cfg;
    char e[200];
    struct client_cert_conf cc = {0};
    int r = auth_parse_client_cert(key, v, &cc, e, sizeof(e));
    if (r < 0) {
        if (r != -ENOMEM)
            fail(L, "client_certs", key, "%s", e);
        return r;
    }
    struct client_cert_conf *slot =
        push((void **)&c->client_certs, &c->n_client_certs, sizeof(struct client_cert_conf));
    if (!slot) {
        free(cc.name);
        return -ENOMEM;
    }
    *slot = cc;
    return 0;
}

static int load_follow(struct loader *L, const char *sec, const char *name, int first,
                       const char *key, const char *v)
{
    struct config *c = L->cfg;
    if (first) {
        for (const char *p = name; *p; p++)
            if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.') {
                fail(L, sec, NULL, "a follow name is made of [A-Za-z0-9_.-]");
                return -EINVAL;
            }
        struct follow_conf *f =
            push((void **)&c->follows, &c->n_follows, sizeof(struct follow_conf));
        if (!f || !(f->name = strdup(name)))
            return -ENOMEM;
        f->poll_ms = 250;
        f->format = FOLLOW_AUTO;
    }
    struct follow_conf *f = &c->follows[c->n_follows - 1];
    if (!strcmp(key, "path")) {
        if (!*v) {
            fail(L, sec, key, "a file path is needed");
            return -EINVAL;
        }
        return set_str(&f->path, v);
    }
    if (!strcmp(key, "format")) {
        if (!strcmp(v, "cef"))
            f->format = FOLLOW_CEF;
        else if (!strcmp(v, "json") || !strcmp(v, "ndjson"))
            f->format = FOLLOW_JSON;
        else if (!strcmp(v, "auto"))
            f->format = FOLLOW_AUTO;
        else {
            fail(L, sec, key, "'%s' is not one of: cef, json, auto", v);
            return -EINVAL;
        }
        return 0;
    }
    if (!strcmp(key, "poll_ms"))
        return set_u32(L, sec, key, &f->poll_ms, v, 10, 60000);
    if (!strcmp(key, "start")) {
        if (!strcmp(v, "beginning"))
            f->from_end = 0;
        else if (!strcmp(v, "end"))
            f->from_end = 1;
        else {
            fail(L, sec, key, "'%s' is not one of: beginning, end", v);
            return -EINVAL;
        }
        return 0;
    }
    fail(L, sec, key, "unknown key (known: path, format, poll_ms, start)");
    return -EINVAL;
}

/* [detect]: the Sigma rules traild evaluates (daemon/detect/, docs/detection.md) */
static int load_detect(struct loader *L, const char *key, const char *v)
{
    if (!strcmp(key, "rules")) {
        if (!*v) {
            fail(L, "detect", key, "a directory of rule files is needed");
            return -EINVAL;
        }
        return set_str(&L->cfg->detect_rules, v);
    }
    fail(L, "detect", key, "unknown key (known: rules)");
    return -EINVAL;
}

/* [reports]: where report files are read from (docs/reports.md, "In traild") */
static int load_reports(struct loader *L, const char *key, const char *v)
{
    if (!strcmp(key, "dir")) {
        if (!*v) {
            fail(L, "reports", key, "a directory of report files is needed");
            return -EINVAL;
        }
        L->cfg->reports_dir_line = L->line;
        return set_str(&L->cfg->reports_dir, v);
    }
    fail(L, "reports", key, "unknown key (known: dir)");
    return -EINVAL;
}

/* [query]: the ClickHouse tier (docs/scale-out.md, "A tier in ClickHouse") */
static int load_query(struct loader *L, const char *key, const char *v)
{
    struct config *c = L->cfg;
    const char *s = "query";
    if (!strcmp(key, "timeout_ms"))
        return set_u32(L, s, key, &c->query.timeout_ms, v, 100, 600000);
    if (!strcmp(key, "clickhouse")) {
        /* lib/client reads it when traild starts; a typo is caught here, by traild -t */
        if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) {
            fail(L, s, key, "'%s' is not an http:// or https:// URL", v);
            return -EINVAL;
        }
        return set_str(&c->query.clickhouse, v);
    }
    if (!strcmp(key, "origin_token"))
        return set_str(&c->query.origin_token, v);
    char **dst = !strcmp(key, "table")      ? &c->query.table
                 : !strcmp(key, "user")     ? &c->query.user
                 : !strcmp(key, "password") ? &c->query.password
                 : !strcmp(key, "ca")       ? &c->query.ca
                                            : NULL;
    if (!dst) {
        fail(L, s, key,
             "unknown key (known: clickhouse, table, user, password, ca, timeout_ms, "
             "origin_token)");
        return -EINVAL;
    }
    return set_str(dst, v);
}

/*
 * [origins] NAME = URL [VERIFIER_KEY]: where the proofs of another store's
 * events come from, and the key its checkpoints verify with (NAME's own)
 */
static int load_origin(struct loader *L, const char *key, const char *v)
{
    struct config *c = L->cfg;
    size_t ul = strcspn(v, " \t");
    const char *k = v + ul;
    while (*k == ' ' || *k == '\t')
        k++;
    if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) {
        fail(L, "origins", key, "'%s' is not the http:// or https:// URL of a traild", v);
        return -EINVAL;
    }
    if (*k) {
        char name[TRAIL_ORIGIN_MAX + 1];
        struct trail_key *pk = NULL;
        int r = trail_key_from_verifier(k, strlen(k), name, &pk);
        trail_key_free(pk);
        if (r < 0 || strcmp(name, key) != 0) {
            fail(L, "origins", key,
                 r < 0 ? "'%s' is not a C2SP verifier key (NAME+KEYID+BASE64)"
                       : "'%s' is the key of another origin",
                 k);
            return -EINVAL;
        }
    }
    struct origin_conf *o = realloc(c->origins, (c->n_origins + 1) * sizeof(*o));
    if (!o)
        return -ENOMEM;
    c->origins = o;
    o[c->n_origins].name = strdup(key);
    o[c->n_origins].url = strndup(v, ul);
    o[c->n_origins].key = *k ? strdup(k) : NULL;
    if (!o[c->n_origins].name || !o[c->n_origins].url || (*k && !o[c->n_origins].key)) {
        free(o[c->n_origins].name);
        free(o[c->n_origins].url);
        free(o[c->n_origins].key);
        return -ENOMEM;
    }
    c->n_origins++;
    return 0;
}

/* [report NAME]: kept line by line and read by libtrail once the catalog is built */
static int load_report(struct loader *L, const char *name, const char *key, const char *v)
{
    struct config *c = L->cfg;
    struct report_line *g = realloc(c->report_lines, (c->n_report_lines + 1) * sizeof(*g));
    if (!g)
        return -ENOMEM;
    c->report_lines = g;
    struct report_line *l = &g[c->n_report_lines];
    l->name = strdup(name);
    l->key = strdup(key);
    l->value = strdup(v);
    l->line = L->line;
    if (!l->name || !l->key || !l->value) {
        free(l->name);
        free(l->key);
        free(l->value);
        return -ENOMEM;
    }
    c->n_report_lines++;
    return 0;
}

int config_reports_load(const struct config *cfg, struct trail_reports *rs, char *err,
                        size_t errlen)
{
    const char *dir = cfg->reports_dir;
    const char *file = cfg->path ? cfg->path : "(defaults)";
    char e[768];
    int r = 0;
    if (!dir && access(CONFIG_REPORTS_DIR, R_OK) == 0)
        dir = CONFIG_REPORTS_DIR;
    if (dir && (r = trail_reports_load_dir(rs, dir, e, sizeof(e))) < 0) {
        if (cfg->reports_dir_line)
            snprintf(err, errlen, "%s:%d: [reports] dir: %s", file, cfg->reports_dir_line, e);
        else
            snprintf(err, errlen, "%s", e);
        return r;
    }
    for (size_t i = 0; i < cfg->n_report_lines; i++) {
        const struct report_line *l = &cfg->report_lines[i];
        if (i == 0 || strcmp(l->name, cfg->report_lines[i - 1].name) != 0) {
            if (trail_reports_find(rs, l->name)) {
                snprintf(err, errlen, "%s:%d: [report %s]: defined twice (also in %s)", file,
                         l->line, l->name, dir ? dir : "this file");
                return TRAIL_E_PARSE;
            }
        }
        r = trail_reports_set(rs, l->name, l->key, l->value, "config", e, sizeof(e));
        if (r < 0) {
            snprintf(err, errlen, "%s:%d: [report %s] %s: %s", file, l->line, l->name, l->key,
                     r == TRAIL_E_PARSE ? e : trail_strerror(r));
            return r;
        }
    }
    if ((r = trail_reports_check(rs, e, sizeof(e))) < 0)
        snprintf(err, errlen, "%s: %s", file, e);
    return r;
}

/*
 * [witness]: the logs traild cosigns for (docs/traild.md): name and key make
 * its cosignatures, accept lists the logs' verifier keys (comma-separated),
 * state is where it keeps what it saw of each.
 */
static int load_witness(struct loader *L, const char *key, const char *v)
{
    struct config *c = L->cfg;
    if (!strcmp(key, "name")) {
        /* the rules of a note key name, which its cosignature lines carry */
        size_t n = strlen(v), i = 0;
        while (i < n && (unsigned char)v[i] > 0x20 && (unsigned char)v[i] < 0x7f && v[i] != '+')
            i++;
        if (n == 0 || n > TRAIL_ORIGIN_MAX || i != n) {
            fail(L, "witness", key,
                 "'%s' is not a key name (printable ASCII, no space, no '+', 1 to 128 bytes)", v);
            return -EINVAL;
        }
        return set_str(&c->witness_name, v);
    }
    if (!strcmp(key, "key") || !strcmp(key, "state")) {
        if (!*v) {
            fail(L, "witness", key, "a file name is needed");
            return -EINVAL;
        }
        return set_str(!strcmp(key, "key") ? &c->witness_key : &c->witness_state, v);
    }
    if (!strcmp(key, "accept")) {
        char origins[64][TRAIL_ORIGIN_MAX + 1];
        size_t n = 0;
        const char *p = v;
        while (*p) {
            while (*p == ' ' || *p == ',')
                p++;
            size_t len = strcspn(p, " ,");
            if (!len)
                break;
            struct trail_key *k = NULL;
            if (n == 64) {
                fail(L, "witness", key, "more than 64 logs");
                return -EINVAL;
            }
            if (trail_key_from_verifier(p, len, origins[n], &k) < 0) {
                fail(L, "witness", key,
                     "'%.*s' is not a log's verifier key (ORIGIN+KEYID+BASE64, as trail keygen "
                     "prints it)",
                     (int)(len > 200 ? 200 : len), p);
                return -EINVAL;
            }
            trail_key_free(k);
            for (size_t i = 0; i < n; i++)
                if (!strcmp(origins[i], origins[n])) {
                    fail(L, "witness", key, "the origin %s is given twice", origins[n]);
                    return -EINVAL;
                }
            n++;
            p += len;
        }
        if (!n) {
            fail(L, "witness", key, "one or more verifier keys are needed");
            return -EINVAL;
        }
        return set_str(&c->witness_logs, v);
    }
    fail(L, "witness", key, "unknown key (known: name, key, accept, state)");
    return -EINVAL;
}

/* "[kind name]" sections: split at the first space. */
static int split_section(const char *section, const char *kind, const char **ret_name)
{
    size_t n = strlen(kind);
    if (strncmp(section, kind, n) != 0 || section[n] != ' ')
        return 0;
    const char *name = section + n;
    while (*name == ' ')
        name++;
    *ret_name = name;
    return 1;
}

static int handler(void *user, const char *section, const char *key, const char *value)
{
    struct loader *L = user;
    if (L->failed)
        return 1; /* report the first problem only */
    if (L->too_long) {
        fail_too_long(L);
        return 0;
    }
    int first = strcmp(section, L->section) != 0;
    if (first) {
        if (strlen(section) >= sizeof(L->section)) {
            fail(L, NULL, NULL, "section name too long");
            return 0;
        }
        strcpy(L->section, section);
        strs_free(L->seen, L->n_seen);
        L->seen = NULL;
        L->n_seen = L->cap_seen = 0;
        L->prev_key[0] = '\0';
    }
    /* a key given twice is a mistake, unless the line continues the previous value;
       a report's sections repeat their keys (count =, event =, ...) */
    int cont = L->continued && strcmp(key, L->prev_key) == 0;
    int is_report = !strncmp(section, "report ", 7);
    if (!cont && !is_report) {
        for (size_t i = 0; i < L->n_seen; i++)
            if (!strcmp(L->seen[i], key)) {
                fail(L, section, key, "given twice in this section");
                return 0;
            }
        if (strs_add(&L->seen, &L->n_seen, &L->cap_seen, key) < 0) {
            fail(L, section, key, "out of memory");
            return 0;
        }
    }
    size_t klen = strlen(key);
    if (klen >= sizeof(L->prev_key))
        klen = sizeof(L->prev_key) - 1;
    memcpy(L->prev_key, key, klen);
    L->prev_key[klen] = '\0';
    L->continued = cont;
    const char *name;
    int r;
    if (cont && strcmp(key, "description") != 0 && strcmp(key, "schema") != 0 &&
        strcmp(key, "attributes") != 0) {
        fail(L, section, key, "only description and schema may continue on the next line");
        return 0;
    }
    if (!strcmp(section, "server"))
        r = load_server(L, key, value);
    else if (!strcmp(section, "store"))
        r = load_store(L, key, value);
    else if (!strcmp(section, "listen"))
        r = load_listen(L, key, value);
    else if (!strcmp(section, "tls"))
        r = load_tls(L, key, value);
    else if (!strcmp(section, "limits"))
        r = load_limits(L, key, value);
    else if (!strcmp(section, "validation"))
        r = load_validation(L, key, value);
    else if (split_section(section, "event", &name))
        r = load_event(L, section, name, first, key, value);
    else if (split_section(section, "token", &name))
        r = load_token(L, section, name, first, key, value);
    else if (!strcmp(section, "tokens"))
        r = load_tokens(L, key, value);
    else if (!strcmp(section, "client_certs"))
        r = load_client_certs(L, key, value);
    else if (!strcmp(section, "detect"))
        r = load_detect(L, key, value);
    else if (!strcmp(section, "reports"))
        r = load_reports(L, key, value);
    else if (split_section(section, "report", &name))
        r = load_report(L, name, key, value);
    else if (!strcmp(section, "witness"))
        r = load_witness(L, key, value);
    else if (!strcmp(section, "query"))
        r = load_query(L, key, value);
    else if (!strcmp(section, "origins"))
        r = load_origin(L, key, value);
    else if (split_section(section, "follow", &name))
        r = load_follow(L, section, name, first, key, value);
    else if (split_section(section, "sink", &name)) {
        char e[400] = "";
        if (!sink_ops) {
            snprintf(e, sizeof(e), "sinks are not available in this program");
            r = -EINVAL;
        } else
            r = sink_ops->load(&L->cfg->sinks, &L->cfg->n_sinks, name, first, key, value, L->line,
                               e, sizeof(e));
        if (r < 0 && r != -ENOMEM)
            fail(L, section, key, "%s", e);
    } else {
        if (!*section)
            fail(L, NULL, NULL, "'%s' before any [section]", key);
        else
            fail(L, NULL, NULL,
                 "unknown section [%s] (known: server, store, listen, tls, limits, validation, "
                 "tokens, client_certs, detect, reports, witness, query, origins, event ID, "
                 "follow NAME, sink NAME, report NAME)",
                 section);
        return 0;
    }
    if (r == -ENOMEM)
        fail(L, section, key, "out of memory");
    return r < 0 ? 0 : 1;
}

static void defaults(struct config *c)
{
    c->fsync = FSYNC_ALWAYS;
    c->fsync_interval_ms = 2;
    c->dedup_window_s = 86400;
    c->dedup_max = 1000000;
    c->checkpoint_interval_s = 60;
    c->seal_backlog_max = TRAIL_SEAL_BACKLOG_DEFAULT; /* 0 here means no bound */
    c->unix_mode = 0660;
    c->http_threads = 2;
    c->limits = (struct trail_limits){.max_attrs = 64,
                                      .max_key_len = 64,
                                      .max_value_len = 8192,
                                      .max_record_bytes = TRAIL_RECORD_BYTES_MAX};
    c->max_line_bytes = 65536;
    c->max_body_bytes = 16u << 20;
    c->batch_size = 4096;
    c->max_connections = 1024;
    c->connections_per_peer = 64;
    c->queue_events = 262144;
    c->max_batch_events = 100000;
    c->max_query_limit = 10000;
    c->max_streams = 64;
    c->http_timeout_s = 120;
    c->http_header_timeout_s = 10;
    c->stream_idle_timeout_s = 300; /* a silent stream holds a connection slot: not forever */
    c->auth_events_per_minute = 10;
    c->auth_events_total_per_minute = 100;
    c->rejected_events_per_minute = 20;
    c->rejected_events_total_per_minute = 600;
    c->policy = TRAIL_POLICY_STRICT;
    c->skew_future_s = (uint32_t)(TRAIL_DEFAULT_SKEW_FUTURE_US / 1000000);
    c->skew_past_days = (uint32_t)(TRAIL_DEFAULT_SKEW_PAST_US / 86400000000LL);
}

static int fill_missing(struct config *c)
{
    if (!c->host) {
        char h[256] = "";
        if (gethostname(h, sizeof(h) - 1) < 0 || !h[0])
            strcpy(h, "localhost");
        if (set_str(&c->host, h) < 0)
            return -ENOMEM;
    }
    if (!c->store_path && set_str(&c->store_path, "/var/lib/trail/store") < 0)
        return -ENOMEM;
    if (!c->path) {
        /* no file: the documented defaults of [listen] */
        if (set_str(&c->http, "127.0.0.1:8080") < 0 ||
            set_str(&c->syslog_udp, "127.0.0.1:5514") < 0 ||
            set_str(&c->syslog_tcp, "127.0.0.1:5514") < 0)
            return -ENOMEM;
    }
    return 0;
}

/* Cross-key checks once the whole file is read. */
static int check_whole(struct loader *L)
{
    struct config *c = L->cfg;
    if (c->http_tls && (!c->tls_cert || !c->tls_key)) {
        fail(L, NULL, NULL, "[listen] http_tls needs [tls] cert and key");
        return -EINVAL;
    }
    if (c->tls_http_ca && !c->http_tls) {
        fail(L, NULL, NULL, "[tls] http_ca needs [listen] http_tls = on");
        return -EINVAL;
    }
    if (c->n_client_certs && !c->tls_http_ca) {
        fail(L, NULL, NULL, "[client_certs] needs [tls] http_ca (the CA that signs them)");
        return -EINVAL;
    }
    for (size_t i = 0; i < c->n_follows; i++)
        if (!c->follows[i].path) {
            fail(L, NULL, NULL, "[follow %s] has no path", c->follows[i].name);
            return -EINVAL;
        }
    if (c->syslog_tls && (!c->tls_cert || !c->tls_key)) {
        fail(L, NULL, NULL, "[listen] syslog_tls needs [tls] cert and key");
        return -EINVAL;
    }
    char sink_err[600];
    int sink_line = 0;
    if (sink_ops &&
        sink_ops->check(c->sinks, c->n_sinks, &sink_line, sink_err, sizeof(sink_err)) < 0) {
        L->line = sink_line;
        fail(L, NULL, NULL, "%s", sink_err);
        return -EINVAL;
    }
    if ((c->witness_name || c->witness_key || c->witness_logs || c->witness_state) &&
        (!c->witness_name || !c->witness_key || !c->witness_logs)) {
        fail(L, NULL, NULL, "[witness] needs name, key and accept");
        return -EINVAL;
    }
    if (c->max_line_bytes < c->limits.max_record_bytes / 4) {
        fail(L, NULL, NULL, "[limits] max_line_bytes is below a quarter of max_record_bytes");
        return -EINVAL;
    }
    return 0;
}

static int build_catalog(struct loader *L)
{
    struct config *c = L->cfg;
    int r = trail_catalog_new(&c->cat);
    if (r < 0)
        return r;
    if (trail_catalog_set_policy(c->cat, c->policy) < 0 ||
        trail_catalog_set_limits(c->cat, &c->limits) < 0 ||
        trail_catalog_set_time_skew(c->cat, (int64_t)c->skew_future_s * 1000000,
                                    (int64_t)c->skew_past_days * 86400 * 1000000,
                                    c->skew_refuse) < 0)
        return -EINVAL;
    for (size_t i = 0; i < c->n_events; i++) {
        struct event_conf *e = &c->events[i];
        L->line = e->line;
        char sec[160];
        snprintf(sec, sizeof(sec), "event %s", e->id);
        if (!e->severity || !e->description) {
            fail(L, sec, NULL, "an event needs severity and description");
            return -EINVAL;
        }
        r = trail_catalog_add(c->cat, e->id, e->severity, e->description, e->schema);
        if (r == -ENOMEM)
            return r;
        if (r < 0) {
            if (r == TRAIL_E_BAD_SEVERITY && e->severity_line)
                L->line = e->severity_line;
            else if ((r == TRAIL_E_PARSE || r == TRAIL_E_BAD_KEY || r == TRAIL_E_BAD_TYPE) &&
                     e->schema_line)
                L->line = e->schema_line;
            const char *what = r == TRAIL_E_BAD_SEVERITY ? "severity"
                               : r == TRAIL_E_PARSE || r == TRAIL_E_BAD_KEY || r == TRAIL_E_BAD_TYPE
                                   ? "schema"
                                   : "id";
            const char *why = r == TRAIL_E_BAD_ID ? "not lower-case [a-z0-9_], at most 128 bytes"
                              : r == TRAIL_E_DUPLICATE
                                  ? "already declared (in the catalog or above)"
                              : r == TRAIL_E_RESERVED ? "the trail_ namespace is trail's own"
                              : r == TRAIL_E_BAD_SEVERITY
                                  ? "not one of TRACE, DEBUG, INFO, NOTICE, WARNING, ERROR, "
                                    "CRITICAL, ALERT, EMERGENCY"
                                  : "expected \"key:type[:required][:indexed], ...\" with types "
                                    "string, int, bool, ip, time, enum(a|b)";
            fail(L, sec, what, "%s (%s)", why, trail_strerror(r));
            return -EINVAL;
        }
    }
    return 0;
}

int config_load(const char *path, struct config **ret_cfg, char *err, size_t errlen)
{
    struct config *c = calloc(1, sizeof(*c));
    struct loader L = {.cfg = c, .file = path ? path : "(defaults)", .err = err, .errlen = errlen};
    int r;
    if (!c)
        return -ENOMEM;
    err[0] = '\0';
    defaults(c);
    if (path) {
        /* absolute, so that a reload finds it whatever the working directory */
        char *abs = realpath(path, NULL);
        r = set_str(&c->path, abs ? abs : path);
        free(abs);
        if (r < 0)
            goto fail;
        L.f = fopen(path, "r");
        if (!L.f) {
            r = -errno;
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            goto fail;
        }
        int line = ini_parse_stream(reader, &L, handler, &L);
        fclose(L.f);
        strs_free(L.seen, L.n_seen);
        strs_free(L.sections, L.n_sections);
        free(L.section_lines);
        if (!L.failed && L.too_long) {
            /* an overlong last line without a key on it */
            L.line = L.too_long;
            fail(&L, NULL, NULL, "line longer than %d characters", LINE_MAX_INIH - 1);
        }
        if (!L.failed && line > 0) {
            L.line = line;
            fail(&L, NULL, NULL, "not a [section] or a 'key = value' line");
        }
        if (L.failed) {
            r = -EINVAL;
            goto fail;
        }
        if ((r = check_whole(&L)) < 0)
            goto fail;
    }
    if ((r = fill_missing(c)) < 0)
        goto fail;
    if ((r = build_catalog(&L)) < 0) {
        if (!L.failed)
            snprintf(err, errlen, "%s: cannot build the catalog: %s", L.file, trail_strerror(r));
        goto fail;
    }
    if ((r = trail_reports_new(c->cat, &c->reports)) < 0 ||
        (r = config_reports_load(c, c->reports, err, errlen)) < 0)
        goto fail;
    *ret_cfg = c;
    return 0;
fail:
    if (r != -ENOMEM && r != -EINVAL && r > -4096 && !err[0])
        snprintf(err, errlen, "%s: %s", L.file, strerror(-r));
    else if (r == -ENOMEM && !err[0])
        snprintf(err, errlen, "%s: out of memory", L.file);
    config_free(c);
    return r == -ENOMEM ? r : r < 0 && r > -4096 ? r : -EINVAL;
}

void config_free(struct config *c)
{
    if (!c)
        return;
    free(c->path);
    free(c->host);
    free(c->store_path);
    free(c->detect_rules);
    free(c->reports_dir);
    for (size_t i = 0; i < c->n_report_lines; i++) {
        free(c->report_lines[i].name);
        free(c->report_lines[i].key);
        free(c->report_lines[i].value);
    }
    free(c->report_lines);
    trail_reports_free(c->reports);
    free(c->witness_name);
    free(c->witness_key);
    free(c->witness_state);
    free(c->witness_logs);
    free(c->query.clickhouse);
    free(c->query.table);
    free(c->query.user);
    free(c->query.password);
    free(c->query.ca);
    free(c->query.origin_token);
    for (size_t i = 0; i < c->n_origins; i++) {
        free(c->origins[i].name);
        free(c->origins[i].url);
        free(c->origins[i].key);
    }
    free(c->origins);
    free(c->signing_key);
    free(c->origin);
    free(c->http);
    free(c->syslog_udp);
    free(c->syslog_tcp);
    free(c->syslog_tls);
    free(c->cef_tcp);
    free(c->unix_path);
    free(c->tls_cert);
    free(c->tls_key);
    free(c->tls_ca);
    for (size_t i = 0; i < c->n_events; i++) {
        free(c->events[i].id);
        free(c->events[i].severity);
        free(c->events[i].description);
        free(c->events[i].schema);
    }
    free(c->events);
    for (size_t i = 0; i < c->n_tokens; i++)
        free(c->tokens[i].name);
    free(c->tokens);
    for (size_t i = 0; i < c->n_client_certs; i++)
        free(c->client_certs[i].name);
    free(c->client_certs);
    free(c->tls_http_ca);
    for (size_t i = 0; i < c->n_follows; i++) {
        free(c->follows[i].name);
        free(c->follows[i].path);
    }
    free(c->follows);
    if (sink_ops)
        sink_ops->free(c->sinks, c->n_sinks);
    trail_catalog_free(c->cat);
    free(c);
}

static int str_differs(const char *a, const char *b)
{
    if (!a || !b)
        return a != b;
    return strcmp(a, b) != 0;
}

const char *config_diff_restart(const struct config *a, const struct config *b)
{
    struct {
        const char *name;
        const char *x, *y;
    } strs[] = {
        {"[store] path", a->store_path, b->store_path},
        {"[store] signing_key", a->signing_key, b->signing_key},
        {"[store] origin", a->origin, b->origin},
        {"[listen] http", a->http, b->http},
        {"[listen] syslog_udp", a->syslog_udp, b->syslog_udp},
        {"[listen] syslog_tcp", a->syslog_tcp, b->syslog_tcp},
        {"[listen] syslog_tls", a->syslog_tls, b->syslog_tls},
        {"[listen] cef_tcp", a->cef_tcp, b->cef_tcp},
        {"[listen] unix", a->unix_path, b->unix_path},
        {"[tls] cert", a->tls_cert, b->tls_cert},
        {"[tls] key", a->tls_key, b->tls_key},
        {"[tls] ca", a->tls_ca, b->tls_ca},
        {"[tls] http_ca", a->tls_http_ca, b->tls_http_ca},
        {"[witness] name", a->witness_name, b->witness_name},
        {"[witness] key", a->witness_key, b->witness_key},
        {"[witness] state", a->witness_state, b->witness_state},
        {"[witness] accept", a->witness_logs, b->witness_logs},
    };
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        if (str_differs(strs[i].x, strs[i].y))
            return strs[i].name;
    if (a->fsync != b->fsync || a->fsync_interval_ms != b->fsync_interval_ms)
        return "[store] fsync";
    if (a->dedup_window_s != b->dedup_window_s || a->dedup_max != b->dedup_max)
        return "[store] dedup_window_s/dedup_max";
    if (a->accept_truncation != b->accept_truncation ||
        a->accept_truncation_to != b->accept_truncation_to)
        return "[store] accept_truncation";
    if (a->http_threads != b->http_threads)
        return "[listen] http_threads";
    if (a->syslog_threads != b->syslog_threads)
        return "[listen] syslog_threads";
    if (a->stream_threads != b->stream_threads)
        return "[listen] stream_threads";
    if (a->seal_threads != b->seal_threads)
        return "[store] seal_threads";
    if (a->seal_backlog_max != b->seal_backlog_max)
        return "[store] seal_backlog_max";
    if (a->http_tls != b->http_tls)
        return "[listen] http_tls";
    if (a->http_timeout_s != b->http_timeout_s)
        return "[limits] http_timeout_s"; /* libmicrohttpd takes it at start */
    if (a->unix_mode != b->unix_mode)
        return "[listen] unix_mode";
    if (a->queue_events != b->queue_events)
        return "[limits] queue_events";
    if (a->n_follows != b->n_follows)
        return "[follow]";
    for (size_t i = 0; i < a->n_follows; i++)
        if (str_differs(a->follows[i].name, b->follows[i].name) ||
            str_differs(a->follows[i].path, b->follows[i].path) ||
            a->follows[i].format != b->follows[i].format)
            return "[follow]";
    if (sink_ops && sink_ops->differs(a->sinks, a->n_sinks, b->sinks, b->n_sinks))
        return "[sink]";
    return NULL;
}
