/*
 * syslog.c - an event as an RFC 5424 syslog message with the event in
 * structured data, for the syslog sink and `trail emit --format syslog`.
 *
 *   [LEN ]<PRI>1 TIMESTAMP HOSTNAME APP-NAME - MSGID [SD-ID id=".." seq=".." uuid=".." k=".." ...]
 * MSG
 *
 *   PRI       facility * 8 + trail_severity_to_syslog(severity)
 *   TIMESTAMP the event's time, RFC 3339 UTC with microseconds; "-" when unset
 *   HOSTNAME  the event's host, bytes outside printable US-ASCII as '_'; "-" when unset
 *   MSGID     the event id, cut to RFC 5424's 32 characters (the id param has it whole)
 *   SD        one element: id, then seq and uuid when set, then the attributes
 *             in key order, as their text (trail_value_format)
 *   MSG       the catalog's description, unsafe characters as \uXXXX; left
 *             out (with its space) for an id the catalog does not know
 *   LEN       with octet counting (RFC 6587), the byte count of the rest
 *
 * An attribute whose key is not usable as a PARAM-NAME - longer than 32
 * bytes, one of the names id, seq, uuid, or itself of the form a.N or k.N -
 * is written as the pair k.N="key" a.N="value", N counting from 1.
 * PARAM-VALUEs escape '"', '\' and ']' with a backslash (RFC 5424 6.3.3).
 * Whatever the framing, every unsafe character (C0 controls, LF and CR
 * included, DEL, C1, U+2028, U+2029: lib/codec/textesc.c) is written as \uXXXX and
 * a byte that is not UTF-8 as \xHH: a receiver that splits on LF even inside
 * an octet-counted frame still sees one message, and a terminal showing it
 * runs nothing. trail's syslog decoder reads those \uXXXX back.
 *
 * Not here: reading syslog (the daemon's syslog input) and transports.
 */
#include "codec/codec.h"

#include <errno.h>
#include <stdio.h>

#define SD_NAME_MAX 32

static int put_sanitized(struct trail_buf *out, const char *s, size_t n, size_t max)
{
    if (n == 0)
        return trail_buf_append(out, "-", 1);
    if (n > max)
        n = max;
    int r = trail_buf_reserve(out, n);
    if (r < 0)
        return r;
    char *p = out->data + out->len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        p[i] = (char)(c >= 33 && c <= 126 ? c : '_');
    }
    out->len += n;
    out->data[out->len] = '\0';
    return 0;
}

/*
 * A PARAM-VALUE: '"', '\\' and ']' escaped (RFC 5424 6.3.3), every unsafe
 * character as \uXXXX, a byte that is not UTF-8 as \xHH (lib/codec/textesc.c), so
 * that no raw line break or control character is ever written, whatever the
 * framing.
 */
static int put_param_value(struct trail_buf *out, const char *s, size_t n)
{
    int r;
    if ((r = trail_buf_append(out, "\"", 1)) < 0 ||
        (r = trail_text_escape(out, s, n, "\"\\]", 0)) < 0)
        return r;
    return trail_buf_append(out, "\"", 1);
}

/* Does key need the k.N/a.N form? */
static int key_needs_pair(const char *key, size_t len)
{
    if (len > SD_NAME_MAX)
        return 1;
    if ((len == 2 && memcmp(key, "id", 2) == 0) || (len == 3 && memcmp(key, "seq", 3) == 0) ||
        (len == 4 && memcmp(key, "uuid", 4) == 0))
        return 1;
    if (len >= 3 && (key[0] == 'a' || key[0] == 'k') && key[1] == '.') {
        for (size_t i = 2; i < len; i++)
            if (key[i] < '0' || key[i] > '9')
                return 0;
        return 1;
    }
    return 0;
}

static int sd_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SD_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 33 || c > 126 || c == '=' || c == ']' || c == '"')
            return 0;
    }
    return 1;
}

static int put_param(struct trail_buf *out, const char *name, const char *value, size_t vlen)
{
    int r;
    if ((r = trail_buf_append(out, " ", 1)) < 0 ||
        (r = trail_buf_append(out, name, strlen(name))) < 0 ||
        (r = trail_buf_append(out, "=", 1)) < 0)
        return r;
    return put_param_value(out, value, vlen);
}

static int put_message(struct trail_buf *out, const struct trail_event *ev,
                       const struct trail_syslog_opts *opts)
{
    int facility = opts->facility ? opts->facility : 13;
    const char *app = opts->app ? opts->app : "trail";
    const char *sd_id = opts->sd_id ? opts->sd_id : "trail@32473";
    char tmp[64];
    int r;

    int sev = trail_severity_to_syslog(ev->severity);
    snprintf(tmp, sizeof(tmp), "<%d>1 ", facility * 8 + (sev < 0 ? 6 : sev));
    if ((r = trail_buf_append(out, tmp, strlen(tmp))) < 0)
        return r;
    if (ev->time_us) {
        size_t n = trail_time_format(ev->time_us, tmp);
        r = trail_buf_append(out, tmp, n);
    } else {
        r = trail_buf_append(out, "-", 1);
    }
    if (r < 0 || (r = trail_buf_append(out, " ", 1)) < 0 ||
        (r = put_sanitized(out, ev->host, ev->host_len, 255)) < 0 ||
        (r = trail_buf_append(out, " ", 1)) < 0 ||
        (r = put_sanitized(out, app, strlen(app), 48)) < 0 ||
        (r = trail_buf_append(out, " - ", 3)) < 0 ||
        (r = put_sanitized(out, ev->id, ev->id_len, 32)) < 0 ||
        (r = trail_buf_append(out, " [", 2)) < 0 ||
        (r = trail_buf_append(out, sd_id, strlen(sd_id))) < 0 ||
        (r = put_param(out, "id", ev->id, ev->id_len)) < 0)
        return r;
    if (ev->seq) {
        snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)ev->seq);
        if ((r = put_param(out, "seq", tmp, strlen(tmp))) < 0)
            return r;
    }
    if (ev->has_uuid) {
        trail_uuid_format(ev->uuid, tmp);
        if ((r = put_param(out, "uuid", tmp, 36)) < 0)
            return r;
    }
    unsigned n_pairs = 0;
    for (size_t i = 0; i < ev->n_attrs; i++) {
        const char *key;
        struct trail_value v;
        trail_event_attr_at(ev, i, &key, &v);
        size_t klen = ev->attrs[i].key_len;
        const char *val = tmp;
        size_t vlen;
        if (v.type == TRAIL_TYPE_STRING || v.type == TRAIL_TYPE_ENUM) {
            val = v.u.str.ptr;
            vlen = v.u.str.len;
        } else {
            vlen = trail_value_format(&v, tmp, sizeof(tmp));
        }
        if (key_needs_pair(key, klen)) {
            char kname[24], aname[24];
            n_pairs++;
            snprintf(kname, sizeof(kname), "k.%u", n_pairs);
            snprintf(aname, sizeof(aname), "a.%u", n_pairs);
            if ((r = put_param(out, kname, key, klen)) < 0 ||
                (r = put_param(out, aname, val, vlen)) < 0)
                return r;
        } else {
            char name[SD_NAME_MAX + 1];
            memcpy(name, key, klen);
            name[klen] = '\0';
            if ((r = put_param(out, name, val, vlen)) < 0)
                return r;
        }
    }
    if ((r = trail_buf_append(out, "]", 1)) < 0)
        return r;
    /* provenance of a stored event: RFC 5424's own origin element for the sender's
       address (section 7.2), trail's for the rest */
    char ip[48], inbuf[80];
    size_t iplen = trail_peer_address(&ev->peer, ip), n;
    if (iplen) {
        if ((r = trail_buf_append(out, "[origin", 7)) < 0 ||
            (r = put_param(out, "ip", ip, iplen)) < 0 || (r = trail_buf_append(out, "]", 1)) < 0)
            return r;
    }
    if ((n = trail_event_input_text(ev, inbuf)) > 0) {
        if ((r = trail_buf_append(out, "[via@32473", 10)) < 0 ||
            (r = put_param(out, "input", inbuf, n)) < 0)
            return r;
        if (ev->principal_len &&
            (r = put_param(out, "principal", ev->principal, ev->principal_len)) < 0)
            return r;
        if (ev->received_us) {
            size_t tn = trail_time_format(ev->received_us, tmp);
            if ((r = put_param(out, "received", tmp, tn)) < 0)
                return r;
        }
        if ((r = trail_buf_append(out, "]", 1)) < 0)
            return r;
    }
    const char *desc = ev->def ? ev->def->description : "";
    size_t dlen = strlen(desc);
    if (dlen) {
        if ((r = trail_buf_append(out, " ", 1)) < 0 ||
            (r = trail_text_escape(out, desc, dlen, NULL, 0)) < 0)
            return r;
    }
    return 0;
}

int trail_event_to_syslog(const struct trail_event *ev, const struct trail_syslog_opts *opts,
                          struct trail_buf *out)
{
    static const struct trail_syslog_opts defaults = {0};
    if (!opts)
        opts = &defaults;
    if (opts->facility < 0 || opts->facility > 23 || (opts->sd_id && !sd_name_ok(opts->sd_id)))
        return -EINVAL;
    size_t start = out->len;
    int r = put_message(out, ev, opts);
    if (r == 0 && opts->octet_count) {
        /* RFC 6587 octet counting: "LEN " before the message */
        char num[24];
        size_t msg_len = out->len - start;
        int d = snprintf(num, sizeof(num), "%zu ", msg_len);
        r = trail_buf_reserve(out, (size_t)d);
        if (r == 0) {
            memmove(out->data + start + d, out->data + start, msg_len);
            memcpy(out->data + start, num, (size_t)d);
            out->len += (size_t)d;
            out->data[out->len] = '\0';
        }
    }
    if (r < 0) {
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
    }
    return r;
}
