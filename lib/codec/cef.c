/*
 * cef.c - an event as one CEF line in the documented product's format, and
 * the decoder of such lines, with or without the product's event.log prefix.
 *
 *   2025-04-23 16:14:23,508 [EVENT]  INFO: 2025-04-23T16:14:23+02:00 idp1 CEF:0|...
 *   |------ log time -----|                |------ ISO time -------| host
 *
 *   CEF:0|PhenixID|PAS|6.0.0|<event id>|<description>|<severity>|k1=v1 k2=v2
 *
 * Header fields escape '\' as \\ and '|' as \| (the decoder never reads the
 * description back). Extension keys come in alphabetical (strcmp) order; a
 * declared attribute that is not set is written as key=null. Values escape
 * '\' as \\, '=' as \=, a newline as \n and a carriage return as \r ('|' and
 * spaces are written as they are), so that no value can start a field or a
 * line: an unescaped '=' only ever follows a key, and a value runs until the
 * next " key=". In both, every other unsafe character (controls, DEL, C1,
 * U+2028, U+2029: lib/codec/textesc.c) is written as \uXXXX and a byte that is not
 * UTF-8 as \xHH, so that no line can drive a terminal; the decoder reads the
 * \uXXXX of those characters back, and only those.
 * The log time carries milliseconds; the ISO time gets a fraction of six
 * digits only when the time is not a whole millisecond. The encoder writes a
 * row (struct codec_row, codec.h): a decoded event's, or a stored record's
 * read in place (an export's, lib/store/record_row.c).
 *
 * Not here: CEF carried over syslog (the syslog input strips the syslog
 * header and hands the CEF part to trail_event_from_cef()).
 */
#include "codec/codec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define LOG_LEVEL "[EVENT]  INFO: "

/* ------------------------------------------------------------------------ */
/* Encoder                                                                  */
/* ------------------------------------------------------------------------ */

/*
 * Append s[0..n) escaped with specials (two of them) and flags, as
 * trail_text_escape() does; plain text is copied into room the caller
 * reserved (n bytes at least).
 */
static inline int put_escaped(struct trail_buf *out, const char *s, size_t n, const char *specials,
                              unsigned flags)
{
    if (!codec_plain(s, n, specials[0], specials[1]))
        return trail_text_escape(out, s, n, specials, flags);
    memcpy(out->data + out->len, s, n);
    out->len += n;
    return 0;
}

/* Append a header field and its '|': '\' and '|' escaped, unsafe characters as \uXXXX. */
static int put_header(struct trail_buf *out, const char *s, size_t n)
{
    int r = codec_room(out, n + 1);
    if (r == 0)
        r = put_escaped(out, s, n, "\\|", 0);
    if (r == 0 && (r = codec_room(out, 1)) == 0) {
        out->data[out->len++] = '|';
        out->data[out->len] = '\0';
    }
    return r;
}

/* Append an extension value: '\' and '=' escaped, \n and \r, other unsafe characters as \uXXXX. */
static int put_ext_value(struct trail_buf *out, const char *s, size_t n)
{
    int r = codec_room(out, n);
    if (r == 0)
        r = put_escaped(out, s, n, "\\=", TRAIL_ESC_NL);
    if (r == 0)
        out->data[out->len] = '\0';
    return r;
}

/*
 * The prefix: "<log time> [EVENT]  INFO: <ISO time> <host> ", both times in
 * local time at offset_min. A host byte that is a space, a control character
 * or another unsafe character (lib/codec/textesc.c) is written as '_' so that the host
 * stays one token; no host is "-".
 */
static int put_prefix(struct trail_buf *out, const struct codec_row *row, int offset_min)
{
    char utc[32], line[160];
    int64_t t = row->time_us;
    /* a local time that four year digits cannot hold is written in UTC */
    if (!event_time_ok(t) || !event_time_ok(t + (int64_t)offset_min * 60 * 1000000))
        offset_min = 0;
    trail_time_format(t + (int64_t)offset_min * 60 * 1000000, utc);
    /* utc: YYYY-MM-DDTHH:MM:SS.uuuuuuZ */
    char *p = line;
    memcpy(p, utc, 19);
    p[10] = ' ';
    p += 19;
    *p++ = ',';
    memcpy(p, utc + 20, 3);
    p += 3;
    *p++ = ' ';
    memcpy(p, LOG_LEVEL, sizeof(LOG_LEVEL) - 1);
    p += sizeof(LOG_LEVEL) - 1;
    memcpy(p, utc, 19);
    p += 19;
    int64_t us = t % 1000000;
    if (us < 0)
        us += 1000000;
    if (us % 1000) {
        memcpy(p, utc + 19, 7);
        p += 7;
    }
    if (offset_min == 0) {
        *p++ = 'Z';
    } else {
        int a = offset_min < 0 ? -offset_min : offset_min;
        *p++ = offset_min < 0 ? '-' : '+';
        *p++ = (char)('0' + a / 600);
        *p++ = (char)('0' + a / 60 % 10);
        *p++ = ':';
        *p++ = (char)('0' + a % 60 / 10);
        *p++ = (char)('0' + a % 10);
    }
    *p++ = ' ';
    int r = trail_buf_append(out, line, (size_t)(p - line));
    if (r < 0)
        return r;
    if (row->host_len == 0)
        return trail_buf_append(out, "- ", 2);
    /* a host of printable ASCII and no space is itself */
    if (codec_plain(row->host, row->host_len, ' ', ' '))
        r = trail_buf_append(out, row->host, row->host_len);
    else
        r = trail_text_flatten(out, row->host, row->host_len, " ", '_');
    return r < 0 ? r : trail_buf_append(out, " ", 1);
}

static int put_attr(struct trail_buf *out, const char *key, size_t klen,
                    const struct trail_value *v, int first)
{
    int r = codec_room(out, klen + 2 + 64);
    if (r < 0)
        return r;
    char *p = out->data + out->len;
    if (!first)
        *p++ = ' ';
    memcpy(p, key, klen);
    p += klen;
    *p++ = '=';
    if (!v) {
        memcpy(p, "null", 4);
        p += 4;
    } else if (v->type == TRAIL_TYPE_STRING || v->type == TRAIL_TYPE_ENUM) {
        out->len = (size_t)(p - out->data);
        return put_ext_value(out, v->u.str.ptr, v->u.str.len);
    } else {
        p += trail_value_format(v, p, 64);
    }
    out->len = (size_t)(p - out->data);
    out->data[out->len] = '\0';
    return 0;
}

/* key=value with the value escaped as an extension value; a space before all but the first. */
static int put_kv(struct trail_buf *out, const char *key, const char *v, size_t n, int first)
{
    int r;
    if ((!first && (r = trail_buf_append(out, " ", 1)) < 0) ||
        (r = trail_buf_append(out, key, strlen(key))) < 0 ||
        (r = trail_buf_append(out, "=", 1)) < 0)
        return r;
    return put_ext_value(out, v, n);
}

/* A stored event's provenance in CEF's own keys where it has them (trail_cef_opts.provenance). */
static int put_provenance(struct trail_buf *out, const struct codec_row *row, int first)
{
    char tmp[96];
    int r = 0;
    if (row->received_us) {
        int n = snprintf(tmp, sizeof(tmp), "%lld", (long long)(row->received_us / 1000));
        if ((r = put_kv(out, "rt", tmp, (size_t)n, first)) < 0)
            return r;
        first = 0;
    }
    size_t pn = trail_peer_address(&row->peer, tmp);
    if (pn) {
        if ((r = put_kv(out, "dvc", tmp, pn, first)) < 0)
            return r;
        first = 0;
    }
    if (row->principal_len) {
        if ((r = put_kv(out, "cs5", row->principal, row->principal_len, first)) < 0 ||
            (r = put_kv(out, "cs5Label", "trailPrincipal", 14, 0)) < 0)
            return r;
        first = 0;
    }
    size_t n = event_input_text(row->own ? TRAIL_INPUT_TRAIL : row->input, row->input_name,
                                row->input_name_len, tmp);
    if (n) {
        if ((r = put_kv(out, "cs6", tmp, n, first)) < 0 ||
            (r = put_kv(out, "cs6Label", "trailInput", 10, 0)) < 0)
            return r;
    }
    return 0;
}

int codec_row_cef(const struct codec_row *row, const struct trail_cef_opts *opts,
                  struct trail_buf *out)
{
    static const struct trail_cef_opts defaults = {0};
    if (!opts)
        opts = &defaults;
    if (opts->utc_offset_min < -(23 * 60 + 59) || opts->utc_offset_min > 23 * 60 + 59)
        return -EINVAL;
    const char *vendor = opts->vendor ? opts->vendor : "PhenixID";
    const char *product = opts->product ? opts->product : "PAS";
    const char *version = opts->version ? opts->version : TRAIL_VERSION_STRING;
    const char *desc = row->def ? row->def->description : "";
    size_t start = out->len;
    char sev[16];
    int r;

    if (opts->log_prefix && (r = put_prefix(out, row, opts->utc_offset_min)) < 0)
        goto fail;
    int cef_sev = trail_severity_to_cef(row->severity);
    char *e = codec_i64_at(sev, cef_sev < 0 ? 0 : cef_sev);
    if ((r = trail_buf_append(out, "CEF:0|", 6)) < 0 ||
        (r = put_header(out, vendor, strlen(vendor))) < 0 ||
        (r = put_header(out, product, strlen(product))) < 0 ||
        (r = put_header(out, version, strlen(version))) < 0 ||
        (r = put_header(out, row->id, row->id_len)) < 0 ||
        (r = put_header(out, desc, strlen(desc))) < 0 ||
        (r = put_header(out, sev, (size_t)(e - sev))) < 0)
        goto fail;

    /* merge the attributes set with the schema's: both are sorted by key */
    size_t i = 0, j = 0;
    size_t n_decl = row->def ? row->def->n_attrs : 0;
    int first = 1;
    while (i < row->n_attrs || j < n_decl) {
        const char *k = NULL;
        size_t klen = 0;
        struct trail_value v;
        if (i < row->n_attrs)
            codec_row_attr(row, i, &k, &klen, &v);
        const struct trail_attr_def *d = j < n_decl ? row->def->attrs[j] : NULL;
        int c = !k ? 1 : !d ? -1 : keycmp_n(k, klen, d->key, d->key_len);
        if (c <= 0) {
            r = put_attr(out, k, klen, &v, first);
            i++;
            j += c == 0;
        } else {
            r = put_attr(out, d->key, d->key_len, NULL, first);
            j++;
        }
        if (r < 0)
            goto fail;
        first = 0;
    }
    if (opts->provenance && (r = put_provenance(out, row, first)) < 0)
        goto fail;
    return 0;
fail:
    out->len = start;
    if (out->data)
        out->data[start] = '\0';
    return r;
}

int trail_event_to_cef(const struct trail_event *ev, const struct trail_cef_opts *opts,
                       struct trail_buf *out)
{
    struct codec_row row;
    codec_row_of_event(ev, &row);
    return codec_row_cef(&row, opts, out);
}

/* ------------------------------------------------------------------------ */
/* Decoder                                                                  */
/* ------------------------------------------------------------------------ */

#define VAL_STACK 2048 /* unescaped values up to this size need no allocation */

struct cef_reader {
    const char *s;
    size_t n;
    char *err;
    size_t errlen;
    char *val; /* unescaped values that needed it: val_stack or heap */
    size_t val_cap;
    struct codec_nulls nulls; /* keys given as null */
    char val_stack[VAL_STACK];
};

#define ERR(r, code, off, ...) codec_error((r)->err, (r)->errlen, (code), (off), __VA_ARGS__)

static inline int key_char(char c)
{
    return char_class[(unsigned char)c] & TRAIL_CC_KEY;
}

static int digits(const char *s, size_t n, size_t at, int count)
{
    if (at + (size_t)count > n)
        return 0;
    for (int i = 0; i < count; i++)
        if (s[at + (size_t)i] < '0' || s[at + (size_t)i] > '9')
            return 0;
    return 1;
}

/*
 * Read the event.log prefix at the start of the line. Returns 0 and sets
 * *ret_pos to the "CEF:" after it, the time and the host span.
 */
static int read_prefix(struct cef_reader *rd, size_t *ret_pos, int64_t *ret_time,
                       size_t *ret_host_off, size_t *ret_host_len)
{
    const char *s = rd->s;
    size_t n = rd->n, pos;
    /* the log time: YYYY-MM-DD HH:MM:SS[,mmm] */
    if (!(n >= 19 && digits(s, n, 0, 4) && s[4] == '-' && digits(s, n, 5, 2) && s[7] == '-' &&
          digits(s, n, 8, 2) && s[10] == ' ' && digits(s, n, 11, 2) && s[13] == ':' &&
          digits(s, n, 14, 2) && s[16] == ':' && digits(s, n, 17, 2)))
        return ERR(rd, TRAIL_E_PARSE, 0,
                   "expected \"CEF:\" or an event.log line (\"YYYY-MM-DD HH:MM:SS,mmm [EVENT] "
                   "LEVEL: ISO-time host CEF:...\")");
    pos = 19;
    int ms = -1;
    if (pos < n && (s[pos] == ',' || s[pos] == '.')) {
        pos++;
        int nd = 0, v = 0;
        while (pos < n && s[pos] >= '0' && s[pos] <= '9') {
            if (nd < 3)
                v = v * 10 + (s[pos] - '0');
            nd++;
            pos++;
        }
        if (nd == 0 || nd > 9)
            return ERR(rd, TRAIL_E_PARSE, 19, "malformed fraction in the log time");
        for (int k = nd; k < 3; k++)
            v *= 10;
        ms = v;
    }
    /* " [LOGGER]" then spaces, "LEVEL:" then spaces */
    if (pos + 1 >= n || s[pos] != ' ' || s[pos + 1] != '[')
        return ERR(rd, TRAIL_E_PARSE, pos, "expected \" [\" after the log time");
    pos += 2;
    while (pos < n && s[pos] != ']')
        pos++;
    if (pos >= n)
        return ERR(rd, TRAIL_E_PARSE, pos, "expected ']' after the logger name");
    pos++;
    size_t sp = pos;
    while (pos < n && s[pos] == ' ')
        pos++;
    size_t level = pos;
    while (pos < n && s[pos] >= 'A' && s[pos] <= 'Z')
        pos++;
    if (pos == sp || pos == level || pos >= n || s[pos] != ':')
        return ERR(rd, TRAIL_E_PARSE, sp, "expected \" LEVEL:\" after the logger name");
    pos++;
    if (pos >= n || s[pos] != ' ')
        return ERR(rd, TRAIL_E_PARSE, pos, "expected a space after the level");
    while (pos < n && s[pos] == ' ')
        pos++;
    /* the ISO time, to the next space */
    size_t iso = pos;
    while (pos < n && s[pos] != ' ')
        pos++;
    int64_t t;
    if (trail_time_parse(s + iso, pos - iso, &t) < 0 || !event_time_ok(t))
        return ERR(rd, TRAIL_E_PARSE, iso, "'%.*s' is not an ISO 8601 time with an offset",
                   (int)(pos - iso > 40 ? 40 : pos - iso), s + iso);
    /*
     * The ISO time of the documented product has whole seconds; the log time
     * beside it has milliseconds. When both show the same wall clock, the
     * milliseconds belong to the event.
     */
    int iso_has_fraction = pos - iso > 19 && (s[iso + 19] == '.' || s[iso + 19] == ',');
    if (ms >= 0 && !iso_has_fraction && pos - iso >= 19 && memcmp(s, s + iso, 10) == 0 &&
        memcmp(s + 11, s + iso + 11, 8) == 0 && event_time_ok(t + ms * 1000))
        t += ms * 1000;
    if (pos >= n)
        return ERR(rd, TRAIL_E_PARSE, pos, "expected a host and \"CEF:\" after the ISO time");
    pos++;
    /* the host, unless "CEF:" follows at once */
    size_t host = pos, host_len = 0;
    if (!(n - pos >= 4 && memcmp(s + pos, "CEF:", 4) == 0)) {
        while (pos < n && s[pos] != ' ') {
            unsigned char c = (unsigned char)s[pos];
            if (c < 0x20 || c == 0x7f)
                return ERR(rd, TRAIL_E_PARSE, pos, "control character in the host name");
            pos++;
        }
        host_len = pos - host;
        if (host_len > TRAIL_MAX_HOST_LEN)
            return ERR(rd, TRAIL_E_VALUE_TOO_LONG, host, "host is longer than %d bytes",
                       TRAIL_MAX_HOST_LEN);
        if (pos >= n || n - pos < 5 || memcmp(s + pos, " CEF:", 5) != 0)
            return ERR(rd, TRAIL_E_PARSE, pos, "expected \" CEF:\" after the host");
        pos++;
        if (host_len == 1 && s[host] == '-')
            host_len = 0;
    }
    *ret_pos = pos;
    *ret_time = t;
    *ret_host_off = host;
    *ret_host_len = host_len;
    return 0;
}

/*
 * The header field at *pos, up to an unescaped '|'. The field's raw text is
 * [*ret_off, *ret_off + *ret_len); *pos moves past the '|'.
 */
static int header_field(struct cef_reader *rd, size_t *pos, const char *name, size_t *ret_off,
                        size_t *ret_len)
{
    size_t i = *pos;
    for (;;) {
        i = text_find2(rd->s, i, rd->n, '|', '\\');
        if (i >= rd->n || rd->s[i] == '|')
            break;
        i += i + 1 < rd->n ? 2 : 1; /* an escape hides the next byte */
    }
    if (i >= rd->n)
        return ERR(rd, TRAIL_E_PARSE, *pos, "the CEF header ends before its %s field", name);
    *ret_off = *pos;
    *ret_len = i - *pos;
    *pos = i + 1;
    return 0;
}

static int val_reserve(struct cef_reader *rd, size_t n)
{
    if (n <= rd->val_cap)
        return 0;
    char *q = malloc(n);
    if (!q)
        return -ENOMEM;
    if (rd->val != rd->val_stack)
        free(rd->val);
    rd->val = q;
    rd->val_cap = n;
    return 0;
}

/*
 * Unescape an extension value s[0..n): \\ \= \| \n \r and the \uXXXX of an
 * unsafe character (codec_unescape_cp); any other backslash stays as it is. Returns the text in
 * place when there is nothing to undo (escaped 0: the value holds no backslash).
 */
static int unescape_value(struct cef_reader *rd, const char *s, size_t n, int escaped,
                          const char **ret, size_t *ret_len)
{
    const char *bs = escaped ? memchr(s, '\\', n) : NULL;
    if (!bs) {
        *ret = s;
        *ret_len = n;
        return 0;
    }
    int r = val_reserve(rd, n);
    if (r < 0)
        return r;
    char *o = rd->val;
    size_t k = (size_t)(bs - s);
    memcpy(o, s, k);
    size_t len = k;
    for (size_t i = k; i < n; i++) {
        char c = s[i];
        if (c == '\\' && i + 1 < n) {
            char e = s[i + 1];
            if (e == '\\' || e == '=' || e == '|') {
                o[len++] = e;
                i++;
                continue;
            }
            if (e == 'n' || e == 'r') {
                o[len++] = e == 'n' ? '\n' : '\r';
                i++;
                continue;
            }
            size_t ul, used = codec_unescape_cp(s + i, n - i, o + len, &ul);
            if (used) {
                len += ul;
                i += used - 1;
                continue;
            }
        }
        o[len++] = c;
    }
    *ret = o;
    *ret_len = len;
    return 0;
}

/* Read the extension s[pos..n) into ev. */
static int read_extension(struct cef_reader *rd, size_t pos, struct trail_event *ev)
{
    const char *s = rd->s;
    size_t n = rd->n;
    const struct trail_limits *lim = trail_catalog_limits(ev->cat);
    char key[256];
    int r;
    while (pos < n) {
        size_t ks = pos;
        while (pos < n && key_char(s[pos]))
            pos++;
        if (pos == ks || pos >= n || s[pos] != '=')
            return ERR(rd, TRAIL_E_PARSE, ks, "expected key=value in the extension");
        size_t klen = pos - ks;
        if (klen >= sizeof(key))
            return ERR(rd, TRAIL_E_KEY_TOO_LONG, ks, "attribute key is longer than %u bytes",
                       lim->max_key_len);
        memcpy(key, s + ks, klen);
        key[klen] = '\0';
        pos++;
        /* the value runs to the next " key=" (or the end of the line) */
        size_t vs = pos, ve = n, next = n;
        size_t i = pos;
        int escaped = 0; /* a backslash in the value */
        while (i < n) {
            i = text_find2(s, i, n, ' ', '\\');
            if (i >= n)
                break;
            char c = s[i];
            /* an escape hides the next byte; a backslash before a space is a literal one */
            if (c == '\\') {
                escaped = 1;
                i += i + 1 < n && s[i + 1] != ' ' ? 2 : 1;
                continue;
            }
            /* a space: the value ends here when " key=" follows */
            size_t j = i + 1;
            while (j < n && key_char(s[j]))
                j++;
            if (j > i + 1 && j < n && s[j] == '=') {
                ve = i;
                next = i + 1;
                break;
            }
            i = j > i + 1 ? j : i + 1;
        }
        if (ve > n)
            ve = n;
        size_t before = ev->n_attrs;
        int dup;
        if (ve - vs == 4 && memcmp(s + vs, "null", 4) == 0) {
            dup = event_has_attr(ev, key, klen) || codec_nulls_has(&rd->nulls, key, klen);
            if (!dup) {
                if (klen > lim->max_key_len)
                    return ERR(rd, TRAIL_E_KEY_TOO_LONG, ks,
                               "attribute key '%.40s...' is longer than %u bytes", key,
                               lim->max_key_len);
                if (ev->n_attrs + rd->nulls.n >= lim->max_attrs)
                    return ERR(rd, TRAIL_E_TOO_MANY_ATTRS, ks, "more than %u attributes",
                               lim->max_attrs);
                if ((r = codec_nulls_add(&rd->nulls, key, klen)) < 0)
                    return r;
            }
        } else {
            const char *v;
            size_t vlen;
            if ((r = unescape_value(rd, s + vs, ve - vs, escaped, &v, &vlen)) < 0)
                return r;
            if ((r = event_put_text(ev, key, klen, event_find_def(ev, key, klen), v, vlen, 1)) <
                0) {
                if (r == -ENOMEM)
                    return r;
                return ERR(rd, r, vs, "%s", trail_event_error(ev));
            }
            dup = ev->n_attrs == before || (rd->nulls.n && codec_nulls_has(&rd->nulls, key, klen));
        }
        if (dup)
            return ERR(rd, TRAIL_E_DUPLICATE, ks, "attribute '%s' appears twice", key);
        pos = next;
    }
    return 0;
}

static int decode(struct cef_reader *rd, struct trail_event *ev)
{
    const char *s = rd->s;
    size_t n = rd->n, pos = 0;
    int64_t t = 0;
    size_t host_off = 0, host_len = 0;
    int has_prefix = 0, r;

    const char *brk = memchr(s, '\n', n);
    if (!brk)
        brk = memchr(s, '\r', n);
    if (brk)
        return ERR(rd, TRAIL_E_PARSE, (size_t)(brk - s), "a line break inside the line");
    if (!(n >= 4 && memcmp(s, "CEF:", 4) == 0)) {
        if ((r = read_prefix(rd, &pos, &t, &host_off, &host_len)) < 0)
            return r;
        has_prefix = 1;
    }
    /* CEF:Version|Vendor|Product|Version|Signature ID|Name|Severity|Extension */
    size_t v = pos + 4, ve = v;
    while (ve < n && s[ve] >= '0' && s[ve] <= '9')
        ve++;
    if (ve == v || ve - v > 3 || ve >= n || s[ve] != '|')
        return ERR(rd, TRAIL_E_PARSE, v, "expected a CEF version number and '|'");
    if (!(ve - v == 1 && (s[v] == '0' || s[v] == '1')))
        return ERR(rd, TRAIL_E_PARSE, v, "CEF version %.*s is not 0 or 1", (int)(ve - v), s + v);
    pos = ve + 1;
    static const char *const fields[] = {"vendor",       "product", "version",
                                         "signature ID", "name",    "severity"};
    size_t off[6], len[6];
    for (int f = 0; f < 6; f++)
        if ((r = header_field(rd, &pos, fields[f], &off[f], &len[f])) < 0)
            return r;

    /* validation would refuse such an id under every policy, and the encoders rely on it */
    if (!id_ok(s + off[3], len[3]))
        return ERR(rd, TRAIL_E_BAD_ID, off[3],
                   "event id '%.*s' is not lower-case [a-z0-9_] of 1..%d bytes",
                   (int)(len[3] > 64 ? 64 : len[3]), s + off[3], TRAIL_MAX_ID_LEN);
    event_set_valid_id(ev, s + off[3], len[3]);
    int sev = -1;
    if (len[5] >= 1 && len[5] <= 2 && digits(s, n, off[5], (int)len[5])) {
        sev = s[off[5]] - '0';
        if (len[5] == 2)
            sev = sev * 10 + s[off[5] + 1] - '0';
    }
    if (sev < 0 || sev > 10)
        return ERR(rd, TRAIL_E_BAD_SEVERITY, off[5], "CEF severity '%.*s' is not a number 0..10",
                   (int)(len[5] > 16 ? 16 : len[5]), s + off[5]);
    /* a catalog event's severity is the catalog's; CEF's sets it for unknown ids */
    if (!ev->def && trail_event_set_severity(ev, sev) < 0)
        return ERR(rd, TRAIL_E_BAD_SEVERITY, off[5],
                   "CEF severity %d is not on trail's scale (1-4, 6-10)", sev);
    if ((r = read_extension(rd, pos, ev)) < 0)
        return r;
    if (has_prefix) {
        ev->time_us = t;
        if (host_len && (r = trail_event_set_host(ev, s + host_off, host_len)) < 0)
            return ERR(rd, r, host_off, "%s", trail_event_error(ev));
    }
    return 0;
}

int trail_event_parse_cef(struct trail_event *ev, const char *data, size_t len, char *err,
                          size_t errlen)
{
    struct cef_reader rd;
    const struct trail_limits *lim = trail_catalog_limits(ev->cat);
    int r;
    rd.s = data;
    rd.n = len;
    rd.err = err;
    rd.errlen = errlen;
    rd.val = rd.val_stack;
    rd.val_cap = VAL_STACK;
    codec_nulls_init(&rd.nulls);
    event_clear(ev);
    if (err && errlen)
        err[0] = '\0';
    /* one line: its own line break at the end is not part of it */
    if (rd.n && rd.s[rd.n - 1] == '\n')
        rd.n--;
    if (rd.n && rd.s[rd.n - 1] == '\r')
        rd.n--;
    if (rd.n > lim->max_record_bytes)
        return ERR(&rd, TRAIL_E_TOO_LARGE, 0, "line is %zu bytes, over the limit of %u", rd.n,
                   lim->max_record_bytes);
    r = decode(&rd, ev);
    if (r < 0)
        event_clear(ev);
    if (rd.val != rd.val_stack)
        free(rd.val);
    codec_nulls_free(&rd.nulls);
    return r;
}

int trail_event_from_cef(const struct trail_catalog *cat, const char *data, size_t len,
                         struct trail_event **ret_event, char *err, size_t errlen)
{
    return event_new_parsed(cat, trail_event_parse_cef, data, len, ret_event, err, errlen);
}
