/*
 * json.c - the canonical JSON form of an event (SPEC.md section 3): its
 * encoder and the decoder on the HTTP ingest path.
 *
 *   {"id":"auth_entrypoints_oidc_logout","time":"2026-11-24T08:59:58.150000Z",
 *    "severity":4,"severity_name":"NOTICE","host":"idp-node1","seq":17,
 *    "uuid":"0b6f3f6e-...","received":"2026-11-24T08:59:58.151200Z",
 *    "input":"syslog_tcp","peer":"192.0.2.7:51514","principal":"token idp",
 *    "origin":"trail","problems":"missing required attribute 'phxTraceId'",
 *    "attrs":{"duser":"alice","n":3,"ok":true}}
 *
 * Members in that order; time, host, seq, uuid and the provenance members
 * (received, input, peer, principal; docs/format.md "Record") only when
 * set; "origin":"trail" only on trail's own records; problems only when
 * validation listed some; attributes
 * in key order; int as a JSON number, bool as true/false, everything else
 * (string, enum, ip, time) as a string. Strings escape '"', '\' and every
 * control character as \u00XX; nothing else is escaped.
 *
 * The encoder writes a row (struct codec_row, codec.h): a decoded event's,
 * or a stored record's read in place (an export's, lib/store/record_row.c).
 *
 * The decoder reads what a sender may say (id, time, severity, host, uuid,
 * attrs) and skips the provenance members: they are the receiver's to set,
 * so an exported event imports again, but never with the exporter's
 * provenance or trail's mark.
 *
 * The decoder is hand-written for speed: one pass, strings taken in place
 * when they hold no escape (copied once when they do), no allocation per
 * value, no recursion (only "attrs" is an object, and it must be flat).
 *
 * Not here: arrays and NDJSON framing (the HTTP input splits those), and no
 * general-purpose JSON: anything that is not an event object is an error.
 */
#include "codec/codec.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* ------------------------------------------------------------------------ */
/* Encoder                                                                  */
/* ------------------------------------------------------------------------ */

static const char hex_digits[] = "0123456789abcdef";

/*
 * 1 when none of the 8 bytes at p needs a look: no '"', '\\', control
 * character or byte above ASCII (the classic SWAR zero-byte tests).
 */
static inline int plain8(const unsigned char *p)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t x, q, b;
    memcpy(&x, p, 8);
    q = x ^ (ones * '"');
    b = x ^ (ones * '\\');
    uint64_t hit = ((q - ones) & ~q) | ((b - ones) & ~b) | ((x - ones * 0x20) & ~x) | x;
    return (hit & highs) == 0;
}

/* Byte classes of JSON string text. */
enum { J_PLAIN = 0, J_QUOTE, J_BSLASH, J_CTRL, J_HIGH };

static const uint8_t jclass[256] = {
    [0x00 ... 0x1f] = J_CTRL,
    ['"'] = J_QUOTE,
    ['\\'] = J_BSLASH,
    [0x80 ... 0xff] = J_HIGH,
};

/*
 * The index of the first byte at or after i in s[0..n) that is not J_PLAIN,
 * or n: sixteen bytes at a time with SSE2 (a signed compare with 0x20 finds
 * the control characters and the bytes above ASCII at once), then eight.
 */
static inline size_t plain_run(const unsigned char *s, size_t i, size_t n)
{
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'),
                  space = _mm_set1_epi8(0x20);
    while (i + 16 <= n) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i hit =
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)),
                         _mm_cmplt_epi8(x, space));
        int mask = _mm_movemask_epi8(hit);
        if (mask)
            return i + (size_t)__builtin_ctz((unsigned)mask);
        i += 16;
    }
#endif
    while (i + 8 <= n && plain8(s + i))
        i += 8;
    while (i < n && jclass[s[i]] == J_PLAIN)
        i++;
    return i;
}

#ifdef __SSE2__
/* The bytes of x the encoder must look at ('"', '\\', a control, DEL, above ASCII), a mask. */
static inline unsigned enc_mask(__m128i x)
{
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'),
                  space = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7f);
    /* a signed compare with 0x20 finds the controls and the bytes above ASCII at once */
    __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)),
                               _mm_or_si128(_mm_cmplt_epi8(x, space), _mm_cmpeq_epi8(x, del)));
    return (unsigned)_mm_movemask_epi8(hit);
}
#endif

/*
 * Copy s[i..n) to p up to the first byte the encoder must look at; return
 * its index (n: none; bytes after it may have been copied too). Sixteen
 * bytes at a time, never reading or writing past s[n) and p[n - i).
 */
static inline size_t copy_plain(char *p, const unsigned char *s, size_t i, size_t n)
{
#ifdef __SSE2__
    char *d = p - i;
    size_t i0 = i;
    while (i + 16 <= n) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        _mm_storeu_si128((__m128i *)(void *)(d + i), x);
        unsigned m = enc_mask(x);
        if (m)
            return i + (size_t)__builtin_ctz(m);
        i += 16;
    }
    if (i == n)
        return n;
    if (n - i0 >= 16) {
        /* the last sixteen, overlapping what this call copied as it is (plain: no lane set) */
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + n - 16));
        _mm_storeu_si128((__m128i *)(void *)(d + n - 16), x);
        unsigned m = enc_mask(x);
        return m ? n - 16 + (size_t)__builtin_ctz(m) : n;
    }
    /* a short string (a key, a word): one register of its bytes (text_load16), copied as is */
    size_t rem = n - i;
    unsigned m = enc_mask(text_load16(s + i, rem));
    memcpy(d + i, s + i, rem);
    if (!m)
        return n;
    unsigned k = (unsigned)__builtin_ctz(m);
    size_t low = rem >= 8 ? 8 : rem >= 4 ? 4 : rem; /* lanes [0, low) are s[i..i+low) in order */
    return k < low ? i + k : n - (rem >= 8 ? 16 : 8) + k;
#else
    size_t start = i;
    while (i < n && jclass[s[i]] == J_PLAIN && s[i] != 0x7f)
        i++;
    memcpy(p, s + start, i - start);
    return i;
#endif
}

/* The room put_str_q needs for a string of n bytes: 6 a byte (\u001b), and the quotes. */
#define JSON_ROOM(n) (6 * (n) + 4)

/*
 * Write s[0..n) as a JSON string at p, which has room for JSON_ROOM(n)
 * bytes; returns the end. '"', '\\', controls, DEL, the C1 controls and
 * U+2028/U+2029 are escaped (\uXXXX), so that the text is safe on a
 * terminal and one line even to a reader that splits at U+2028. A byte
 * that does not start well-formed UTF-8 (possible only in an id made by
 * trail_event_new() without validation, or a damaged record) is written as
 * U+FFFD, so that the output is always valid JSON. With csv, every '"'
 * written is doubled: the string as the inside of a quoted CSV cell
 * (trail_event_to_csv()'s attrs).
 */

static TRAIL_ALWAYS_INLINE char *put_str_q(char *p, const char *str, size_t n, int csv)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    *p++ = '"';
    if (csv)
        *p++ = '"';
    while (i < n) {
        size_t start = i;
        i = copy_plain(p, s, i, n);
        p += i - start;
        if (i == n)
            break;
        unsigned char c = s[i];
        /* DEL is plain to the decoder, but the encoder escapes it as \u007f */
        switch (c == 0x7f ? J_CTRL : jclass[c]) {
        case J_QUOTE:
        case J_BSLASH:
            *p++ = '\\';
            *p++ = (char)c;
            if (csv && c == '"')
                *p++ = '"';
            i++;
            break;
        case J_CTRL:
            memcpy(p, "\\u00", 4);
            p[4] = hex_digits[c >> 4];
            p[5] = hex_digits[c & 15];
            p += 6;
            i++;
            break;
        default: {
            size_t l = codec_utf8_seq(s + i, n - i);
            if (l == 0) {
                memcpy(p, "\\ufffd", 6);
                p += 6;
                i++;
            } else if (l == 2 && c == 0xc2 && s[i + 1] <= 0x9f) {
                /* a C1 control: \u0080..\u009f, as trail_text_escape() would */
                memcpy(p, "\\u00", 4);
                p[4] = hex_digits[s[i + 1] >> 4];
                p[5] = hex_digits[s[i + 1] & 15];
                p += 6;
                i += 2;
            } else if (l == 3 && c == 0xe2 && s[i + 1] == 0x80 && (s[i + 2] & 0xfe) == 0xa8) {
                /* U+2028, U+2029: line breaks to JavaScript and Python's splitlines() */
                memcpy(p, s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
                p += 6;
                i += 3;
            } else {
                memcpy(p, s + i, l);
                p += l;
                i += l;
            }
        }
        }
    }
    *p++ = '"';
    if (csv)
        *p++ = '"';
    return p;
}

static char *put_str(char *p, const char *s, size_t n)
{
    return put_str_q(p, s, n, 0);
}

/* Append s[0..n) as a JSON string. */
static int append_str(struct trail_buf *out, const char *s, size_t n)
{
    int r = codec_room(out, JSON_ROOM(n));
    if (r < 0)
        return r;
    char *end = put_str(out->data + out->len, s, n);
    out->len = (size_t)(end - out->data);
    out->data[out->len] = '\0';
    return 0;
}

int trail_json_string(struct trail_buf *out, const char *s, size_t n)
{
    if (n > (SIZE_MAX - 5) / 6)
        return -ENOMEM;
    return append_str(out, s, n);
}

static int append_lit(struct trail_buf *out, const char *s)
{
    return trail_buf_append(out, s, strlen(s));
}

/*
 * "via":[{"origin":..,"seq":..,"received":..,"input":..,"peer":..,"principal":..},...]: the
 * hops of a relayed event, first hop first (peer and principal only when set).
 */
static int append_via(struct trail_buf *out, const uint8_t *via, size_t via_len, int n_via)
{
    const uint8_t *p = via, *end = p + via_len;
    char tmp[96];
    int r = append_lit(out, ",\"via\":[");
    for (int i = 0; i < n_via && r == 0; i++) {
        struct hop h;
        size_t n = hop_parse(p, end, &h);
        if (!n)
            return -EINVAL; /* checked when it was set: cannot happen */
        p += n;
        if ((r = append_lit(out, i ? ",{\"origin\":" : "{\"origin\":")) < 0 ||
            (r = append_str(out, h.origin, h.origin_len)) < 0 ||
            (r = append_lit(out, ",\"seq\":")) < 0 || (r = codec_put_u64(out, h.seq)) < 0)
            return r;
        tmp[0] = '"';
        size_t tn = trail_time_format(h.received_us, tmp + 1);
        tmp[tn + 1] = '"';
        if ((r = append_lit(out, ",\"received\":")) < 0 ||
            (r = trail_buf_append(out, tmp, tn + 2)) < 0)
            return r;
        int in = snprintf(tmp, sizeof(tmp), "%s%s%.*s", trail_input_name(h.input),
                          h.input_name_len ? ":" : "", (int)h.input_name_len, h.input_name);
        if ((r = append_lit(out, ",\"input\":")) < 0 ||
            (r = append_str(out, tmp, in > 0 ? (size_t)in : 0)) < 0)
            return r;
        if ((n = trail_peer_format(&h.peer, tmp)) > 0 &&
            ((r = append_lit(out, ",\"peer\":")) < 0 || (r = append_str(out, tmp, n)) < 0))
            return r;
        if (h.principal_len && ((r = append_lit(out, ",\"principal\":")) < 0 ||
                                (r = append_str(out, h.principal, h.principal_len)) < 0))
            return r;
        r = append_lit(out, "}");
    }
    return r < 0 ? r : append_lit(out, "]");
}

int trail_event_via_text(const struct trail_event *ev, struct trail_buf *out)
{
    const uint8_t *p = (const uint8_t *)ev->arena + ev->via_off, *end = p + ev->via_len;
    char tmp[96];
    int r = 0;
    for (int i = 0; i < ev->n_via && r == 0; i++) {
        struct hop h;
        size_t n = hop_parse(p, end, &h);
        if (!n)
            return -EINVAL; /* checked when it was set: cannot happen */
        p += n;
        if (i)
            r = append_lit(out, " > ");
        if (r == 0)
            r = trail_text_escape(out, h.origin, h.origin_len, NULL, TRAIL_ESC_NL);
        int tn = snprintf(tmp, sizeof(tmp), "#%" PRIu64 " %s%s", h.seq, trail_input_name(h.input),
                          h.input_name_len ? ":" : "");
        if (r == 0)
            r = trail_buf_append(out, tmp, (size_t)tn);
        if (r == 0 && h.input_name_len)
            r = trail_text_escape(out, h.input_name, h.input_name_len, NULL, TRAIL_ESC_NL);
        if (r == 0 && (n = trail_peer_format(&h.peer, tmp)) > 0)
            r = append_lit(out, "@") < 0 ? -ENOMEM : trail_buf_append(out, tmp, n);
        if (r == 0 && h.principal_len) {
            r = append_lit(out, " ");
            if (r == 0)
                r = trail_text_escape(out, h.principal, h.principal_len, NULL, TRAIL_ESC_NL);
        }
    }
    return r < 0 ? -ENOMEM : 0;
}

/* Copy the string literal lit to p and move p past it. */
#define PUT_LIT(p, lit) (memcpy((p), (lit), sizeof(lit) - 1), (p) += sizeof(lit) - 1)

/* A time as a JSON string at p (room for 29 bytes); returns the end. */
static char *put_time(char *p, int64_t t)
{
    *p++ = '"';
    p += trail_time_format(t, p);
    *p++ = '"';
    return p;
}

/*
 * The members from "{" to "principal" (id, time, severity, severity_name,
 * host, seq, uuid, received, input, peer, principal), each only when set,
 * at p; returns the end. The caller writes via, origin, problems and attrs
 * after them.
 */
static char *put_head(char *p, const struct codec_row *row, const char *in, size_t in_n,
                      const char *peer, size_t peer_n)
{
    PUT_LIT(p, "{\"id\":");
    p = put_str(p, row->id, row->id_len);
    if (row->time_us != 0) {
        PUT_LIT(p, ",\"time\":");
        p = put_time(p, row->time_us);
    }
    PUT_LIT(p, ",\"severity\":");
    p = codec_i64_at(p, row->severity);
    const char *sev_name = trail_severity_name(row->severity);
    if (sev_name) {
        size_t sn = strlen(sev_name);
        PUT_LIT(p, ",\"severity_name\":\"");
        memcpy(p, sev_name, sn);
        p += sn;
        *p++ = '"';
    }
    if (row->host_len) {
        PUT_LIT(p, ",\"host\":");
        p = put_str(p, row->host, row->host_len);
    }
    if (row->seq) {
        PUT_LIT(p, ",\"seq\":");
        p = codec_u64_at(p, row->seq);
    }
    if (row->uuid) {
        PUT_LIT(p, ",\"uuid\":\"");
        trail_uuid_format(row->uuid, p);
        p += 36;
        *p++ = '"';
    }
    /* the provenance members, each only when set */
    if (row->received_us) {
        PUT_LIT(p, ",\"received\":");
        p = put_time(p, row->received_us);
    }
    if (in_n) {
        PUT_LIT(p, ",\"input\":");
        p = put_str(p, in, in_n);
    }
    if (peer_n) {
        PUT_LIT(p, ",\"peer\":");
        p = put_str(p, peer, peer_n);
    }
    if (row->principal_len) {
        PUT_LIT(p, ",\"principal\":");
        p = put_str(p, row->principal, row->principal_len);
    }
    return p;
}

int codec_row_json(const struct codec_row *row, struct trail_buf *out)
{
    size_t start = out->len;
    char in[80], peer[48];
    size_t in_n = event_input_text(row->own ? TRAIL_INPUT_TRAIL : row->input, row->input_name,
                                   row->input_name_len, in);
    size_t peer_n = trail_peer_format(&row->peer, peer);
    /* every member but via and attrs: the strings at 6 bytes a byte, the rest in 512 */
    int r = codec_room(out, 6 * (row->id_len + row->host_len + in_n + peer_n + row->principal_len +
                                 row->problems_len) +
                                512);
    if (r < 0)
        return r;
    char *p = put_head(out->data + out->len, row, in, in_n, peer, peer_n);
    out->len = (size_t)(p - out->data);
    if (row->n_via && (r = append_via(out, row->via, row->via_len, row->n_via)) < 0)
        goto fail;
    if ((r = codec_room(out, JSON_ROOM(row->problems_len) + 64)) < 0)
        goto fail;
    p = out->data + out->len;
    if (row->own)
        PUT_LIT(p, ",\"origin\":\"trail\"");
    if (row->problems_len) {
        PUT_LIT(p, ",\"problems\":");
        p = put_str(p, row->problems, row->problems_len);
    }
    PUT_LIT(p, ",\"attrs\":");
    out->len = (size_t)(p - out->data);
    if ((r = codec_json_attrs(row, 0, out)) < 0 || (r = codec_room(out, 1)) < 0)
        goto fail;
    out->data[out->len++] = '}';
    out->data[out->len] = '\0';
    return 0;
fail:
    out->len = start;
    if (out->data)
        out->data[start] = '\0';
    return r;
}

int trail_event_to_json(const struct trail_event *ev, struct trail_buf *out)
{
    struct codec_row row;
    codec_row_of_event(ev, &row);
    return codec_row_json(&row, out);
}

/* The attributes' members, each with the room it needs reserved first. */
static TRAIL_ALWAYS_INLINE int put_attrs(const struct codec_row *row, struct trail_buf *out,
                                         int csv)
{
    for (size_t i = 0; i < row->n_attrs; i++) {
        const char *key;
        size_t klen;
        struct trail_value v;
        codec_row_attr(row, i, &key, &klen, &v);
        size_t vmax =
            v.type == TRAIL_TYPE_STRING || v.type == TRAIL_TYPE_ENUM ? JSON_ROOM(v.u.str.len) : 72;
        int r = codec_room(out, JSON_ROOM(klen) + 2 + vmax);
        if (r < 0)
            return r;
        char *p = out->data + out->len;
        if (i)
            *p++ = ',';
        p = put_str_q(p, key, klen, csv);
        *p++ = ':';
        switch (v.type) {
        case TRAIL_TYPE_INT:
            p = codec_i64_at(p, v.u.i);
            break;
        case TRAIL_TYPE_BOOL:
            if (v.u.b)
                PUT_LIT(p, "true");
            else
                PUT_LIT(p, "false");
            break;
        case TRAIL_TYPE_STRING:
        case TRAIL_TYPE_ENUM:
            p = put_str_q(p, v.u.str.ptr, v.u.str.len, csv);
            break;
        default:
            /* ip and time: their text needs no escaping */
            *p++ = '"';
            if (csv)
                *p++ = '"';
            p += trail_value_format(&v, p, 64);
            *p++ = '"';
            if (csv)
                *p++ = '"';
        }
        out->len = (size_t)(p - out->data);
    }
    return 0;
}

int codec_json_attrs(const struct codec_row *row, int csv, struct trail_buf *out)
{
    size_t start = out->len;
    /*
     * As a CSV cell: the object's text is safe (put_str escapes everything
     * trail_text_escape() would, and writes no byte it would change), holds
     * no formula's first character, and holds '"' once it has a member, so
     * trail_text_csv_cell() makes it '"' + the text with '"' doubled + '"';
     * "{}" stays as it is.
     */
    csv = csv && row->n_attrs;
    int r = codec_room(out, 4);
    if (r < 0)
        return r;
    if (csv)
        out->data[out->len++] = '"';
    out->data[out->len++] = '{';
    if ((r = csv ? put_attrs(row, out, 1) : put_attrs(row, out, 0)) < 0 ||
        (r = codec_room(out, 2)) < 0) {
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
        return r;
    }
    out->data[out->len++] = '}';
    if (csv)
        out->data[out->len++] = '"';
    out->data[out->len] = '\0';
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Decoder                                                                  */
/* ------------------------------------------------------------------------ */

#define KEY_MAX   255  /* longest key the decoder reads (limits allow up to 255) */
#define VAL_STACK 2048 /* unescaped strings up to this size need no allocation */

struct parser {
    const char *s;
    size_t n;
    size_t pos;
    char *err;
    size_t errlen;
    const struct trail_limits *lim;
    char key[KEY_MAX + 1]; /* the last member name, NUL-terminated */
    size_t key_len;
    char *val; /* an unescaped string: val_stack or val_heap */
    size_t val_cap;
    char *val_heap;
    struct codec_nulls nulls; /* keys given as null */
    char val_stack[VAL_STACK];
    struct trail_event *stored; /* trail_event_from_stored_json: provenance goes here */
    /* "via": the hops in their record form (read always, kept only with stored) */
    uint8_t via[TRAIL_MAX_HOPS * HOP_MAX_BYTES];
    size_t via_len;
    int n_via;
};

#define ERR(p, code, off, ...) codec_error((p)->err, (p)->errlen, (code), (off), __VA_ARGS__)

static inline void skip_ws(struct parser *p)
{
    /* mostly there is none: one compare decides */
    if (TRAIL_LIKELY(p->pos < p->n && (unsigned char)p->s[p->pos] > ' '))
        return;
    while (p->pos < p->n) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t')
            break;
        p->pos++;
    }
}

/* A short, printable description of the byte at off for error messages. */
static const char *what_is(const struct parser *p, size_t off, char buf[16])
{
    if (off >= p->n)
        return "the end of the input";
    unsigned char c = (unsigned char)p->s[off];
    if (c >= 0x21 && c < 0x7f)
        snprintf(buf, 16, "'%c'", c);
    else
        snprintf(buf, 16, "byte 0x%02x", c);
    return buf;
}

static inline int expect_char(struct parser *p, char c, const char *what)
{
    char b[16];
    if (TRAIL_UNLIKELY(p->pos >= p->n || p->s[p->pos] != c))
        return ERR(p, TRAIL_E_PARSE, p->pos, "expected %s, found %s", what, what_is(p, p->pos, b));
    p->pos++;
    return 0;
}

static int val_grow(struct parser *p, size_t used, size_t need)
{
    if (need <= p->val_cap)
        return 0;
    size_t cap = p->val_cap * 2;
    while (cap < need)
        cap *= 2;
    char *q = realloc(p->val_heap, cap);
    if (!q)
        return -ENOMEM;
    if (!p->val_heap)
        memcpy(q, p->val_stack, used);
    p->val_heap = q;
    p->val = q;
    p->val_cap = cap;
    return 0;
}

static int hex4(const char *s, uint32_t *ret)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        int d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v << 4 | (uint32_t)d;
    }
    *ret = v;
    return 0;
}

static size_t put_utf8(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/*
 * Read the string at p->pos (a '"'). With to_key, the text lands in p->key,
 * NUL-terminated (a longer one is TRAIL_E_KEY_TOO_LONG); otherwise *ret
 * points into the input when the string has no escape, or into p->val.
 */
static int read_string_slow(struct parser *p, int to_key, const char **ret, size_t *ret_len)
{
    const unsigned char *s = (const unsigned char *)p->s;
    size_t open = p->pos++;
    size_t i = p->pos;

    /* the fast path: plain text and UTF-8 up to the closing quote */
    for (;;) {
        i = plain_run(s, i, p->n);
        if (i < p->n && s[i] >= 0x80) {
            size_t l = codec_utf8_seq(s + i, p->n - i);
            if (l == 0)
                return ERR(p, TRAIL_E_UTF8, i, "invalid UTF-8 in a string");
            i += l;
            continue;
        }
        break;
    }
    if (i >= p->n)
        return ERR(p, TRAIL_E_PARSE, open, "unterminated string");
    if (s[i] < 0x20)
        return ERR(p, TRAIL_E_PARSE, i, "unescaped control character 0x%02x in a string", s[i]);

    char *out;
    size_t cap;
    size_t len = i - p->pos;
    if (s[i] == '"' && !to_key) {
        *ret = p->s + p->pos;
        *ret_len = len;
        p->pos = i + 1;
        return 0;
    }
    if (to_key) {
        out = p->key;
        cap = KEY_MAX;
    } else {
        out = p->val;
        cap = SIZE_MAX;
    }
    if (len > cap)
        goto key_too_long;
    if (!to_key && val_grow(p, 0, len + 4) < 0)
        return -ENOMEM;
    if (!to_key)
        out = p->val;
    memcpy(out, p->s + p->pos, len);

    /* the slow path: escapes, written out one by one */
    while (s[i] != '"') {
        unsigned char c = s[i];
        char utf[4];
        const char *piece = (const char *)s + i;
        size_t piece_len = 1, used = 1;
        if (c == '\\') {
            if (i + 1 >= p->n)
                return ERR(p, TRAIL_E_PARSE, open, "unterminated string");
            piece = utf;
            used = 2;
            switch (s[i + 1]) {
            case '"':
            case '\\':
            case '/':
                utf[0] = (char)s[i + 1];
                break;
            case 'b':
                utf[0] = '\b';
                break;
            case 'f':
                utf[0] = '\f';
                break;
            case 'n':
                utf[0] = '\n';
                break;
            case 'r':
                utf[0] = '\r';
                break;
            case 't':
                utf[0] = '\t';
                break;
            case 'u': {
                uint32_t cp, lo;
                if (i + 6 > p->n || hex4(p->s + i + 2, &cp) < 0)
                    return ERR(p, TRAIL_E_PARSE, i, "\\u needs four hex digits");
                used = 6;
                if (cp >= 0xdc00 && cp <= 0xdfff)
                    return ERR(p, TRAIL_E_UTF8, i, "lone low surrogate \\u%04x", cp);
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    if (i + 12 > p->n || s[i + 6] != '\\' || s[i + 7] != 'u' ||
                        hex4(p->s + i + 8, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
                        return ERR(p, TRAIL_E_UTF8, i,
                                   "high surrogate \\u%04x without a low surrogate", cp);
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    used = 12;
                }
                /* the setters read a key up to a NUL: refuse one here */
                if (cp == 0 && to_key)
                    return ERR(p, TRAIL_E_BAD_KEY, open, "a name holds \\u0000");
                piece_len = put_utf8(utf, cp);
                break;
            }
            default:
                return ERR(p, TRAIL_E_PARSE, i, "unknown escape sequence after '\\'");
            }
        } else if (c < 0x20) {
            return ERR(p, TRAIL_E_PARSE, i, "unescaped control character 0x%02x in a string", c);
        } else if (c >= 0x80) {
            piece_len = used = codec_utf8_seq(s + i, p->n - i);
            if (used == 0)
                return ERR(p, TRAIL_E_UTF8, i, "invalid UTF-8 in a string");
        }
        if (len + piece_len > cap)
            goto key_too_long;
        if (!to_key) {
            if (val_grow(p, len, len + piece_len + 4) < 0)
                return -ENOMEM;
            out = p->val;
        }
        memcpy(out + len, piece, piece_len);
        len += piece_len;
        i += used;
        if (i >= p->n)
            return ERR(p, TRAIL_E_PARSE, open, "unterminated string");
    }
    p->pos = i + 1;
    if (to_key) {
        out[len] = '\0';
        p->key_len = len;
    }
    *ret = out;
    *ret_len = len;
    return 0;
key_too_long:
    return ERR(p, TRAIL_E_KEY_TOO_LONG, open, "member name is longer than %d bytes", KEY_MAX);
}

/*
 * read_string_slow()'s result for the common string: plain ASCII up to its
 * closing quote (and a key that fits). Anything else, UTF-8 included, is
 * read_string_slow()'s, from the start.
 */
static inline int read_string(struct parser *p, int to_key, const char **ret, size_t *ret_len)
{
    const unsigned char *s = (const unsigned char *)p->s;
    size_t start = p->pos + 1;
    size_t i = plain_run(s, start, p->n);
    size_t len = i - start;
    if (TRAIL_LIKELY(i < p->n && s[i] == '"')) {
        if (!to_key) {
            *ret = p->s + start;
            *ret_len = len;
            p->pos = i + 1;
            return 0;
        }
        if (len <= KEY_MAX) {
            /* a short key is copied with one fixed-size move (p->key has room for it) */
            if (len <= 16 && start + 16 <= p->n)
                memcpy(p->key, p->s + start, 16);
            else
                memcpy(p->key, p->s + start, len);
            p->key[len] = '\0';
            p->key_len = len;
            *ret = p->key;
            *ret_len = len;
            p->pos = i + 1;
            return 0;
        }
    }
    return read_string_slow(p, to_key, ret, ret_len);
}

/* A JSON number, read by the RFC 8259 grammar. */
struct number {
    uint64_t mag;    /* the magnitude of an integer */
    int neg;         /* a leading '-' */
    int overflow;    /* the integer's magnitude does not fit 64 bits */
    int fractional;  /* a fraction or an exponent */
    size_t off, len; /* where its text is */
};

static int read_number(struct parser *p, struct number *num)
{
    const char *s = p->s;
    size_t i = p->pos;
    memset(num, 0, sizeof(*num));
    num->off = i;
    if (i < p->n && s[i] == '-') {
        num->neg = 1;
        i++;
    }
    if (i >= p->n || s[i] < '0' || s[i] > '9')
        return ERR(p, TRAIL_E_PARSE, num->off, "malformed number");
    if (s[i] == '0') {
        i++;
    } else {
        while (i < p->n && s[i] >= '0' && s[i] <= '9') {
            uint64_t d = (uint64_t)(s[i] - '0');
            if (num->mag > (UINT64_MAX - d) / 10)
                num->overflow = 1;
            else
                num->mag = num->mag * 10 + d;
            i++;
        }
    }
    if (i < p->n && s[i] == '.') {
        num->fractional = 1;
        i++;
        if (i >= p->n || s[i] < '0' || s[i] > '9')
            return ERR(p, TRAIL_E_PARSE, num->off, "malformed number");
        while (i < p->n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (i < p->n && (s[i] == 'e' || s[i] == 'E')) {
        num->fractional = 1;
        i++;
        if (i < p->n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= p->n || s[i] < '0' || s[i] > '9')
            return ERR(p, TRAIL_E_PARSE, num->off, "malformed number");
        while (i < p->n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    num->len = i - num->off;
    p->pos = i;
    return 0;
}

/* The number as an int64; -1 when it is not an integer or does not fit. */
static int number_i64(const struct number *num, int64_t *ret)
{
    if (num->fractional || num->overflow)
        return -1;
    if (num->neg ? num->mag > (uint64_t)INT64_MAX + 1 : num->mag > (uint64_t)INT64_MAX)
        return -1;
    *ret = num->neg ? (int64_t)(0 - num->mag) : (int64_t)num->mag;
    return 0;
}

static int number_problem(struct parser *p, const struct number *num, const char *what)
{
    int shown = (int)(num->len > 40 ? 40 : num->len);
    if (num->fractional)
        return ERR(p, TRAIL_E_BAD_TYPE, num->off, "%s: %.*s is not an integer", what, shown,
                   p->s + num->off);
    return ERR(p, TRAIL_E_BAD_TYPE, num->off, "%s: %.*s does not fit a 64-bit integer", what, shown,
               p->s + num->off);
}

/* Read one of the literals true, false, null; ret: 1, 0, -1. */
static int read_literal(struct parser *p, int *ret)
{
    static const struct {
        const char *text;
        size_t len;
        int value;
    } lits[] = {{"true", 4, 1}, {"false", 5, 0}, {"null", 4, -1}};
    for (size_t k = 0; k < TRAIL_ARRAY_SIZE(lits); k++) {
        if (p->n - p->pos >= lits[k].len && memcmp(p->s + p->pos, lits[k].text, lits[k].len) == 0) {
            p->pos += lits[k].len;
            *ret = lits[k].value;
            return 0;
        }
    }
    char b[16];
    return ERR(p, TRAIL_E_PARSE, p->pos, "expected a value, found %s", what_is(p, p->pos, b));
}

/* The event's last problem, as a decoder error at off. */
static int event_problem(struct parser *p, struct trail_event *ev, int code, size_t off)
{
    if (code == -ENOMEM)
        return code;
    return ERR(p, code, off, "%s", trail_event_error(ev));
}

/* A setter's problem with an attribute: at its key when the key is the problem. */
static int attr_problem(struct parser *p, struct trail_event *ev, int code, size_t key_off,
                        size_t val_off)
{
    int at_key = code == TRAIL_E_BAD_KEY || code == TRAIL_E_KEY_TOO_LONG;
    return event_problem(p, ev, code, at_key ? key_off : val_off);
}

/*
 * Read the "attrs" object at p->pos into ev. With ev NULL, only check its
 * syntax (the id comes later in the input; the caller reads it again then).
 */
static int read_attrs(struct parser *p, struct trail_event *ev)
{
    int r;
    p->pos++; /* '{' */
    skip_ws(p);
    if (p->pos < p->n && p->s[p->pos] == '}') {
        p->pos++;
        return 0;
    }
    for (;;) {
        char b[16];
        if (p->pos >= p->n || p->s[p->pos] != '"')
            return ERR(p, TRAIL_E_PARSE, p->pos, "expected an attribute name, found %s",
                       what_is(p, p->pos, b));
        size_t key_off = p->pos;
        const char *key, *str;
        size_t klen, slen;
        if ((r = read_string(p, 1, &key, &klen)) < 0)
            return r;
        skip_ws(p);
        if ((r = expect_char(p, ':', "':' after an attribute name")) < 0)
            return r;
        skip_ws(p);
        size_t val_off = p->pos;
        size_t before = ev ? ev->n_attrs : 0;
        int is_null = 0;
        if (p->pos >= p->n)
            return ERR(p, TRAIL_E_PARSE, p->pos, "expected a value, found the end of the input");
        char c = p->s[p->pos];
        if (c == '"') {
            if ((r = read_string(p, 0, &str, &slen)) < 0)
                return r;
            if (ev && (r = event_put_text(ev, key, klen, event_find_def(ev, key, klen), str, slen,
                                          1)) < 0)
                return attr_problem(p, ev, r, key_off, val_off);
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            struct number num;
            int64_t v;
            if ((r = read_number(p, &num)) < 0)
                return r;
            if (number_i64(&num, &v) < 0) {
                char what[KEY_MAX + 16];
                snprintf(what, sizeof(what), "attribute '%s'", key);
                return number_problem(p, &num, what);
            }
            if (ev && (r = event_put_scalar(ev, key, klen, TRAIL_TYPE_INT, v)) < 0)
                return attr_problem(p, ev, r, key_off, val_off);
        } else if (c == '{' || c == '[') {
            return ERR(p, TRAIL_E_BAD_TYPE, val_off,
                       "attribute '%s': objects and arrays are not allowed in attrs", key);
        } else {
            int lit = 0;
            if ((r = read_literal(p, &lit)) < 0)
                return r;
            if (lit < 0)
                is_null = 1;
            else if (ev && (r = event_put_scalar(ev, key, klen, TRAIL_TYPE_BOOL, lit)) < 0)
                return attr_problem(p, ev, r, key_off, val_off);
        }
        if (ev) {
            int dup;
            if (is_null) {
                dup = event_has_attr(ev, key, klen) || codec_nulls_has(&p->nulls, key, klen);
                if (!dup) {
                    if (!key_ok(key, klen))
                        return ERR(p, TRAIL_E_BAD_KEY, key_off,
                                   "attribute key '%.64s' is empty or has characters outside "
                                   "[A-Za-z0-9_.-]",
                                   key);
                    if (klen > p->lim->max_key_len)
                        return ERR(p, TRAIL_E_KEY_TOO_LONG, key_off,
                                   "attribute key '%.40s...' is longer than %u bytes", key,
                                   p->lim->max_key_len);
                    if (ev->n_attrs + p->nulls.n >= p->lim->max_attrs)
                        return ERR(p, TRAIL_E_TOO_MANY_ATTRS, key_off, "more than %u attributes",
                                   p->lim->max_attrs);
                    if ((r = codec_nulls_add(&p->nulls, key, klen)) < 0)
                        return r;
                }
            } else {
                dup =
                    ev->n_attrs == before || (p->nulls.n && codec_nulls_has(&p->nulls, key, klen));
            }
            if (dup)
                return ERR(p, TRAIL_E_DUPLICATE, key_off, "attribute '%s' appears twice", key);
        }
        skip_ws(p);
        if (p->pos < p->n && p->s[p->pos] == ',') {
            p->pos++;
            skip_ws(p);
            continue;
        }
        if (p->pos < p->n && p->s[p->pos] == '}') {
            p->pos++;
            return 0;
        }
        return ERR(p, TRAIL_E_PARSE, p->pos, "expected ',' or '}' in attrs, found %s",
                   what_is(p, p->pos, b));
    }
}

/* The top-level members, as bits of a seen-mask. */
enum {
    M_ID = 1 << 0,
    M_TIME = 1 << 1,
    M_SEVERITY = 1 << 2,
    M_SEVERITY_NAME = 1 << 3,
    M_HOST = 1 << 4,
    M_SEQ = 1 << 5,
    M_UUID = 1 << 6,
    M_ATTRS = 1 << 7,
    /* provenance: read and dropped (the receiver sets it) */
    M_RECEIVED = 1 << 8,
    M_INPUT = 1 << 9,
    M_PEER = 1 << 10,
    M_PRINCIPAL = 1 << 11,
    M_ORIGIN = 1 << 12,
    M_PROBLEMS = 1 << 13,
    M_VIA = 1 << 14,    /* an array, read by read_via */
    M_SOURCE = 1 << 15, /* traild's ClickHouse tier: where an event was found; read and dropped */
    M_PROVENANCE = M_RECEIVED | M_INPUT | M_PEER | M_PRINCIPAL | M_ORIGIN | M_PROBLEMS,
};

static int member_of(const char *name, size_t len)
{
    static const struct {
        const char *name;
        size_t len;
        int bit;
    } members[] = {
        {"id", 2, M_ID},
        {"time", 4, M_TIME},
        {"severity", 8, M_SEVERITY},
        {"severity_name", 13, M_SEVERITY_NAME},
        {"host", 4, M_HOST},
        {"seq", 3, M_SEQ},
        {"uuid", 4, M_UUID},
        {"attrs", 5, M_ATTRS},
        {"received", 8, M_RECEIVED},
        {"input", 5, M_INPUT},
        {"peer", 4, M_PEER},
        {"principal", 9, M_PRINCIPAL},
        {"origin", 6, M_ORIGIN},
        {"problems", 8, M_PROBLEMS},
        {"via", 3, M_VIA},
        {"source", 6, M_SOURCE},
    };
    for (size_t i = 0; i < TRAIL_ARRAY_SIZE(members); i++)
        if (members[i].len == len && memcmp(members[i].name, name, len) == 0)
            return members[i].bit;
    return 0;
}

/* What the top-level members said, applied once the object is read. */
struct top {
    int64_t time_us;
    uint64_t seq;
    int severity;
    int severity_name;
    uint8_t uuid[16];
    int has_uuid;
    size_t host_len;
    char host[TRAIL_MAX_HOST_LEN + 1];
    size_t attrs_pos; /* where "attrs" starts when it came before "id" */
    size_t end_pos;   /* just after the closing '}' */
};

/* "192.0.2.1:514" or "[2001:db8::1]:514" into *peer. 0 or -1. */
static int peer_parse(const char *str, size_t len, struct trail_peer *peer)
{
    const char *colon = len ? memrchr(str, ':', len) : NULL;
    if (!colon)
        return -1;
    const char *a = str, *e = colon;
    if (*a == '[' && e > a && e[-1] == ']')
        a++, e--;
    memset(peer, 0, sizeof(*peer));
    if (ip_parse(a, (size_t)(e - a), &peer->family, peer->addr) < 0)
        return -1;
    char *stop;
    unsigned long port = strtoul(colon + 1, &stop, 10);
    if (stop != str + len || colon + 1 == stop || port > 65535)
        return -1;
    peer->port = (uint16_t)port;
    return 0;
}

/* The members of one hop object of "via". */
enum { H_ORIGIN = 1, H_SEQ = 2, H_RECEIVED = 4, H_INPUT = 8, H_PEER = 16, H_PRINCIPAL = 32 };

/*
 * One hop object of "via" at p->pos, appended in its record form to p->via.
 * Every string is copied at once: read_string reuses p->val.
 */
static int read_hop(struct parser *p)
{
    char origin[TRAIL_ORIGIN_MAX], input_name[TRAIL_MAX_INPUT_NAME],
        principal[TRAIL_MAX_PRINCIPAL_LEN];
    struct hop h = {.origin = origin, .input_name = input_name, .principal = principal};
    int seen = 0, r;
    char b[16];
    size_t start = p->pos;
    if ((r = expect_char(p, '{', "'{' (a hop of \"via\")")) < 0)
        return r;
    skip_ws(p);
    while (p->pos < p->n && p->s[p->pos] == '"') {
        size_t name_off = p->pos, off;
        const char *str, *name;
        size_t len, nlen;
        if ((r = read_string(p, 1, &name, &nlen)) < 0)
            return r;
        static const char *const names[] = {"origin", "seq",  "received",
                                            "input",  "peer", "principal"};
        int bit = 0;
        for (int i = 0; i < 6 && !bit; i++)
            if (strlen(names[i]) == nlen && memcmp(names[i], name, nlen) == 0)
                bit = 1 << i;
        if (!bit || (seen & bit))
            return ERR(p, TRAIL_E_PARSE, name_off, "%s member \"%.40s\" in a hop of \"via\"",
                       bit ? "repeated" : "unknown", p->key);
        seen |= bit;
        skip_ws(p);
        if ((r = expect_char(p, ':', "':' after a member name")) < 0)
            return r;
        skip_ws(p);
        off = p->pos;
        if (bit == H_SEQ) {
            struct number num;
            if ((r = read_number(p, &num)) < 0)
                return r;
            if (num.fractional || num.overflow || num.neg || num.mag == 0)
                return ERR(p, TRAIL_E_PARSE, off, "a hop's \"seq\" must be 1..2^64-1");
            h.seq = num.mag;
        } else {
            if (off >= p->n || p->s[off] != '"')
                return ERR(p, TRAIL_E_PARSE, off, "a hop's \"%s\" must be a string", p->key);
            if ((r = read_string(p, 0, &str, &len)) < 0)
                return r;
            switch (bit) {
            case H_ORIGIN:
                if (!origin_text_ok(str, len))
                    return ERR(p, TRAIL_E_PARSE, off, "a hop's \"origin\" is not an origin");
                memcpy(origin, str, len);
                h.origin_len = len;
                break;
            case H_RECEIVED:
                if (trail_time_parse(str, len, &h.received_us) < 0)
                    return ERR(p, TRAIL_E_PARSE, off, "a hop's \"received\" is not a time");
                break;
            case H_INPUT: {
                const char *colon = memchr(str, ':', len);
                size_t n = colon ? (size_t)(colon - str) : len;
                h.input = trail_input_parse(str, n);
                h.input_name_len = colon ? len - n - 1 : 0;
                if (h.input <= 0 || h.input == TRAIL_INPUT_TRAIL ||
                    h.input_name_len > TRAIL_MAX_INPUT_NAME ||
                    (colon && !trail_key_valid(colon + 1, h.input_name_len)))
                    return ERR(p, TRAIL_E_PARSE, off, "a hop's \"input\" is not an input");
                if (colon)
                    memcpy(input_name, colon + 1, h.input_name_len);
                break;
            }
            case H_PEER:
                if (peer_parse(str, len, &h.peer) < 0)
                    return ERR(p, TRAIL_E_PARSE, off, "a hop's \"peer\" is not ADDRESS:PORT");
                break;
            default: /* H_PRINCIPAL */
                if (len > TRAIL_MAX_PRINCIPAL_LEN || !utf8_valid(str, len))
                    return ERR(p, TRAIL_E_PARSE, off, "a hop's \"principal\" is not a principal");
                memcpy(principal, str, len);
                h.principal_len = len;
                break;
            }
        }
        skip_ws(p);
        if (p->pos < p->n && p->s[p->pos] == ',') {
            p->pos++;
            skip_ws(p);
            continue;
        }
        break;
    }
    if ((r = expect_char(p, '}', "'}' after a hop")) < 0)
        return r;
    if ((seen & (H_ORIGIN | H_SEQ | H_RECEIVED | H_INPUT)) !=
        (H_ORIGIN | H_SEQ | H_RECEIVED | H_INPUT))
        return ERR(p, TRAIL_E_PARSE, start, "a hop of \"via\" needs origin, seq, received, input");
    (void)b;
    hop_write(&h, p->via + p->via_len);
    p->via_len += hop_size(&h);
    p->n_via++;
    return 0;
}

/* "via": an array of 1..TRAIL_MAX_HOPS hops into p->via. */
static int read_via(struct parser *p)
{
    int r;
    char b[16];
    if ((r = expect_char(p, '[', "'[' (\"via\" is an array)")) < 0)
        return r;
    for (;;) {
        skip_ws(p);
        if (p->n_via == TRAIL_MAX_HOPS)
            return ERR(p, TRAIL_E_TOO_LARGE, p->pos, "\"via\" has more than %d hops",
                       TRAIL_MAX_HOPS);
        if ((r = read_hop(p)) < 0)
            return r;
        skip_ws(p);
        if (p->pos < p->n && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->n && p->s[p->pos] == ']') {
            p->pos++;
            return 0;
        }
        return ERR(p, TRAIL_E_PARSE, p->pos, "expected ',' or ']' in \"via\", found %s",
                   what_is(p, p->pos, b));
    }
}

/*
 * "source" of an event traild's ClickHouse tier found (daemon/http/query_tier.c):
 * an object of string and number members, for the reader of traild's answer
 * to see; an event read back does not keep it (its seq and store are the
 * event's own). Only in traild's answers: from anyone else an unknown member.
 */
static int skip_source(struct parser *p)
{
    int r;
    char b[16];
    size_t start = p->pos;
    if (!p->stored)
        return ERR(p, TRAIL_E_PARSE, start, "unknown member \"source\"");
    if ((r = expect_char(p, '{', "'{' (\"source\" is an object)")) < 0)
        return r;
    skip_ws(p);
    while (p->pos < p->n && p->s[p->pos] == '"') {
        const char *str;
        size_t len;
        struct number num;
        if ((r = read_string(p, 1, &str, &len)) < 0)
            return r;
        skip_ws(p);
        if ((r = expect_char(p, ':', "':' after a member name")) < 0)
            return r;
        skip_ws(p);
        if (p->pos < p->n && p->s[p->pos] == '"')
            r = read_string(p, 0, &str, &len);
        else
            r = read_number(p, &num);
        if (r < 0)
            return r;
        skip_ws(p);
        if (p->pos < p->n && p->s[p->pos] == ',') {
            p->pos++;
            skip_ws(p);
        }
    }
    if (p->pos < p->n && p->s[p->pos] == '}') {
        p->pos++;
        return 0;
    }
    return ERR(p, TRAIL_E_PARSE, p->pos, "expected '\"' or '}' in \"source\", found %s",
               what_is(p, p->pos, b));
}

/*
 * A provenance member of an event trail itself stored and sent back (the
 * CLI reading traild's answers): kept in p->stored, which the object's
 * members fill in any order. Never on an input's path.
 */
static int read_provenance(struct parser *p, int bit, const char *str, size_t len, size_t off)
{
    struct trail_event *ev = p->stored;
    switch (bit) {
    case M_RECEIVED:
        if (trail_time_parse(str, len, &ev->received_us) < 0)
            return ERR(p, TRAIL_E_PARSE, off, "\"received\" is not an RFC 3339 time");
        return 0;
    case M_INPUT: {
        const char *colon = memchr(str, ':', len);
        size_t n = colon ? (size_t)(colon - str) : len;
        int in = trail_input_parse(str, n);
        if (in < 0)
            return ERR(p, TRAIL_E_PARSE, off, "\"input\" '%.*s' is not an input",
                       (int)(len > 40 ? 40 : len), str);
        if (in == TRAIL_INPUT_TRAIL) {
            ev->input = TRAIL_INPUT_TRAIL;
            return 0;
        }
        return trail_event_set_input(ev, in, colon ? colon + 1 : NULL, colon ? len - n - 1 : 0) < 0
                   ? ERR(p, TRAIL_E_PARSE, off, "\"input\" has a bad name")
                   : 0;
    }
    case M_PEER: {
        struct trail_peer peer;
        if (peer_parse(str, len, &peer) < 0)
            return ERR(p, TRAIL_E_PARSE, off, "\"peer\" is not ADDRESS:PORT");
        trail_event_set_peer(ev, &peer);
        return 0;
    }
    case M_PRINCIPAL:
        return trail_event_set_principal(ev, str, len) < 0
                   ? ERR(p, TRAIL_E_UTF8, off, "\"principal\" is not UTF-8")
                   : 0;
    case M_ORIGIN:
        ev->own = len == 5 && memcmp(str, "trail", 5) == 0;
        return 0;
    default: /* M_PROBLEMS */
        if (len > TRAIL_MAX_PROBLEMS_LEN)
            len = TRAIL_MAX_PROBLEMS_LEN;
        memcpy(ev->problems, str, len);
        ev->problems[len] = '\0';
        ev->problems_len = (uint16_t)len;
        return 0;
    }
}

/*
 * Read the value of member bit. *ev is NULL until "id" is read, then target
 * (which has the id).
 */
static int read_member(struct parser *p, int bit, struct top *t, struct trail_event **ev,
                       struct trail_event *target)
{
    size_t off = p->pos;
    char c = off < p->n ? p->s[off] : '\0';
    const char *str;
    size_t len;
    int r;

    if (bit == M_VIA)
        return read_via(p); /* kept only for a stored or relayed event (parse_json) */
    if (bit == M_SOURCE)
        return skip_source(p);
    if (bit == M_ATTRS) {
        if (c != '{')
            return ERR(p, TRAIL_E_PARSE, off, "\"attrs\" must be an object");
        if (!*ev)
            t->attrs_pos = off;
        return read_attrs(p, *ev);
    }
    if (bit == M_SEVERITY || bit == M_SEQ) {
        struct number num;
        int64_t v;
        if (c != '-' && (c < '0' || c > '9'))
            return ERR(p, TRAIL_E_PARSE, off, "\"%s\" must be a number",
                       bit == M_SEQ ? "seq" : "severity");
        if ((r = read_number(p, &num)) < 0)
            return r;
        if (bit == M_SEQ) {
            if (num.fractional || num.overflow || (num.neg && num.mag))
                return ERR(p, TRAIL_E_BAD_TYPE, off, "\"seq\" must be an integer 0..2^64-1");
            t->seq = num.mag;
            return 0;
        }
        if (number_i64(&num, &v) < 0 || !trail_severity_valid((int)v) || v != (int)v)
            return ERR(p, TRAIL_E_BAD_SEVERITY, off, "severity %.*s is not on the scale",
                       (int)(num.len > 24 ? 24 : num.len), p->s + off);
        t->severity = (int)v;
        return 0;
    }
    if (c != '"')
        return ERR(p, TRAIL_E_PARSE, off, "\"%s\" must be a string", p->key);
    if ((r = read_string(p, 0, &str, &len)) < 0)
        return r;
    if (bit & M_PROVENANCE)
        return p->stored ? read_provenance(p, bit, str, len, off) : 0; /* else the receiver's */
    switch (bit) {
    case M_ID:
        /* validation would refuse such an id under every policy, and the encoders rely on it */
        if (!id_ok(str, len))
            return ERR(p, TRAIL_E_BAD_ID, off,
                       "event id '%.*s' is not lower-case [a-z0-9_] of 1..%d bytes",
                       (int)(len > 64 ? 64 : len), str, TRAIL_MAX_ID_LEN);
        event_set_valid_id(target, str, len);
        *ev = target;
        return 0;
    case M_TIME:
        if (trail_time_parse(str, len, &t->time_us) < 0 || !event_time_ok(t->time_us))
            return ERR(p, TRAIL_E_PARSE, off, "\"time\" '%.*s' is not an RFC 3339 time",
                       (int)(len > 40 ? 40 : len), str);
        return 0;
    case M_HOST:
        if (len > TRAIL_MAX_HOST_LEN)
            return ERR(p, TRAIL_E_VALUE_TOO_LONG, off, "\"host\" is longer than %d bytes",
                       TRAIL_MAX_HOST_LEN);
        memcpy(t->host, str, len);
        t->host[len] = '\0';
        t->host_len = len;
        return 0;
    case M_UUID:
        if (trail_uuid_parse(str, len, t->uuid) < 0)
            return ERR(p, TRAIL_E_PARSE, off, "\"uuid\" '%.*s' is not a uuid",
                       (int)(len > 40 ? 40 : len), str);
        t->has_uuid = 1;
        return 0;
    default: { /* M_SEVERITY_NAME */
        int sev = -1;
        for (int level = TRAIL_SEV_TRACE; level <= TRAIL_SEV_EMERGENCY && sev < 0; level++) {
            const char *name = trail_severity_name(level);
            if (name && strlen(name) == len && strncasecmp(name, str, len) == 0)
                sev = level;
        }
        if (sev < 0)
            return ERR(p, TRAIL_E_BAD_SEVERITY, off, "\"severity_name\" '%.*s' is not a level",
                       (int)(len > 16 ? 16 : len), str);
        t->severity_name = sev;
        return 0;
    }
    }
}

static int read_object(struct parser *p, struct top *t, struct trail_event **ev,
                       struct trail_event *target)
{
    int seen = 0, r;
    char b[16];
    skip_ws(p);
    if ((r = expect_char(p, '{', "'{' (an event object)")) < 0)
        return r;
    skip_ws(p);
    if (p->pos < p->n && p->s[p->pos] == '}')
        return ERR(p, TRAIL_E_PARSE, p->pos, "missing member \"id\"");
    for (;;) {
        if (p->pos >= p->n || p->s[p->pos] != '"')
            return ERR(p, TRAIL_E_PARSE, p->pos, "expected a member name, found %s",
                       what_is(p, p->pos, b));
        size_t name_off = p->pos;
        const char *name;
        size_t nlen;
        if ((r = read_string(p, 1, &name, &nlen)) < 0)
            return r;
        int bit = member_of(name, nlen);
        if (!bit)
            return ERR(p, TRAIL_E_PARSE, name_off, "unknown member \"%.40s\"", p->key);
        if (seen & bit)
            return ERR(p, TRAIL_E_DUPLICATE, name_off, "member \"%s\" appears twice", p->key);
        seen |= bit;
        skip_ws(p);
        if ((r = expect_char(p, ':', "':' after a member name")) < 0)
            return r;
        skip_ws(p);
        if ((r = read_member(p, bit, t, ev, target)) < 0)
            return r;
        skip_ws(p);
        if (p->pos < p->n && p->s[p->pos] == ',') {
            p->pos++;
            skip_ws(p);
            continue;
        }
        if (p->pos < p->n && p->s[p->pos] == '}') {
            p->pos++;
            break;
        }
        return ERR(p, TRAIL_E_PARSE, p->pos, "expected ',' or '}', found %s",
                   what_is(p, p->pos, b));
    }
    if (!(seen & M_ID))
        return ERR(p, TRAIL_E_PARSE, p->pos - 1, "missing member \"id\"");
    t->end_pos = p->pos;
    skip_ws(p);
    if (p->pos != p->n)
        return ERR(p, TRAIL_E_PARSE, p->pos, "unexpected %s after the event object",
                   what_is(p, p->pos, b));
    if ((seen & (M_SEVERITY | M_SEVERITY_NAME)) == (M_SEVERITY | M_SEVERITY_NAME) &&
        t->severity != t->severity_name)
        return ERR(p, TRAIL_E_BAD_SEVERITY, 0, "\"severity\" %d and \"severity_name\" %s disagree",
                   t->severity, trail_severity_name(t->severity_name));
    if (!t->severity)
        t->severity = t->severity_name;
    return 0;
}

/* What parse_json keeps of the sender's provenance. */
enum { PARSE_INGEST = 0, PARSE_STORED = 1, PARSE_RELAYED = 2 };

static int parse_json(struct trail_event *target, const char *data, size_t len, char *err,
                      size_t errlen, int stored, const char *relay_origin);

int trail_event_parse_json(struct trail_event *target, const char *data, size_t len, char *err,
                           size_t errlen)
{
    return parse_json(target, data, len, err, errlen, PARSE_INGEST, NULL);
}

static int parse_stored(struct trail_event *target, const char *data, size_t len, char *err,
                        size_t errlen)
{
    return parse_json(target, data, len, err, errlen, PARSE_STORED, NULL);
}

int trail_event_parse_relayed_json(struct trail_event *ev, const char *data, size_t len,
                                   const char *origin, char *err, size_t errlen)
{
    return parse_json(ev, data, len, err, errlen, PARSE_RELAYED, origin ? origin : "");
}

/*
 * A relayed event: the sender's provenance (in side, its seq in t) becomes the last hop of
 * p->via, and ev keeps none of it (the receiver sets its own).
 */
static int relayed_hop(struct parser *p, const struct trail_event *side, const struct top *t,
                       const char *origin)
{
    if (!origin_text_ok(origin, strlen(origin)))
        return ERR(p, TRAIL_E_PARSE, 0, "the relay's origin is not an origin");
    if (side->own)
        return ERR(p, TRAIL_E_PARSE, 0, "trail's own records are not relayed");
    if (!t->has_uuid || !t->seq || !side->received_us || side->input == TRAIL_INPUT_NONE ||
        side->input == TRAIL_INPUT_TRAIL)
        return ERR(p, TRAIL_E_PARSE, 0,
                   "a relayed event needs its uuid, seq, received and input as stored");
    if (p->n_via == TRAIL_MAX_HOPS)
        return ERR(p, TRAIL_E_TOO_LARGE, 0, "the event has come through %d relays already",
                   TRAIL_MAX_HOPS);
    struct hop h = {.origin = origin,
                    .origin_len = strlen(origin),
                    .seq = t->seq,
                    .received_us = side->received_us,
                    .input = side->input,
                    .input_name = side->input_name,
                    .input_name_len = side->input_name_len,
                    .peer = side->peer,
                    .principal = side->principal,
                    .principal_len = side->principal_len};
    hop_write(&h, p->via + p->via_len);
    p->via_len += hop_size(&h);
    p->n_via++;
    return 0;
}

int trail_event_from_stored_json(const struct trail_catalog *cat, const char *data, size_t len,
                                 struct trail_event **ret_event, char *err, size_t errlen)
{
    return event_new_parsed(cat, parse_stored, data, len, ret_event, err, errlen);
}

static int parse_json(struct trail_event *target, const char *data, size_t len, char *err,
                      size_t errlen, int stored, const char *relay_origin)
{
    struct parser p;
    struct top t;
    struct trail_event *ev = NULL; /* target once its id is read */
    int r;

    event_clear(target);
    p.s = data;
    p.n = len;
    p.pos = 0;
    p.err = err;
    p.errlen = errlen;
    p.lim = trail_catalog_limits(target->cat);
    p.val = p.val_stack;
    p.val_cap = VAL_STACK;
    p.val_heap = NULL;
    codec_nulls_init(&p.nulls);
    p.key_len = 0;
    p.stored = NULL;
    p.via_len = 0;
    p.n_via = 0;
    /* provenance read into a side event, applied once the object is whole (the id's
       reset would clear it) */
    struct trail_event side;
    if (stored) {
        memset(&side, 0, sizeof(side));
        side.cat = target->cat;
        p.stored = &side;
    }
    /* the members one by one: host and uuid are read only as far as host_len and has_uuid say */
    t.time_us = 0;
    t.seq = 0;
    t.severity = t.severity_name = 0;
    t.has_uuid = 0;
    t.host_len = 0;
    t.attrs_pos = SIZE_MAX;
    t.end_pos = 0;
    if (err && errlen)
        err[0] = '\0';

    if (len > p.lim->max_record_bytes) {
        r = ERR(&p, TRAIL_E_TOO_LARGE, 0, "event is %zu bytes, over the limit of %u", len,
                p.lim->max_record_bytes);
        goto fail;
    }
    if ((r = read_object(&p, &t, &ev, target)) < 0)
        goto fail;
    if (t.attrs_pos != SIZE_MAX) {
        p.pos = t.attrs_pos;
        if ((r = read_attrs(&p, ev)) < 0)
            goto fail;
    }
    /* a catalog event's severity is the catalog's (the answer says when it replaced the
       sender's); the member sets it for unknown ids */
    if (t.severity && !ev->def)
        ev->severity = t.severity;
    else if (t.severity && t.severity != ev->severity)
        ev->requested_severity = (uint8_t)t.severity;
    ev->time_us = t.time_us;
    ev->seq = t.seq;
    if (t.host_len && (r = trail_event_set_host(ev, t.host, t.host_len)) < 0) {
        r = event_problem(&p, ev, r, 0);
        goto fail;
    }
    if (t.has_uuid)
        trail_event_set_uuid(ev, t.uuid);
    if (stored == PARSE_RELAYED) {
        if ((r = relayed_hop(&p, &side, &t, relay_origin)) < 0)
            goto fail;
        ev->seq = 0;
    } else if (stored) {
        ev->received_us = side.received_us;
        ev->input = side.input;
        ev->own = side.own && side.input == TRAIL_INPUT_TRAIL;
        /* trail's own record says how severe it is (an alert: its rule's level) */
        if (ev->own && ev->def && ev->def->custom == TRAIL_DEF_OWN && t.severity) {
            ev->severity = t.severity;
            ev->requested_severity = 0;
        }
        memcpy(ev->input_name, side.input_name, side.input_name_len + 1);
        ev->input_name_len = side.input_name_len;
        ev->peer = side.peer;
        memcpy(ev->principal, side.principal, side.principal_len + 1);
        ev->principal_len = side.principal_len;
        memcpy(ev->problems, side.problems, side.problems_len + 1);
        ev->problems_len = side.problems_len;
    }
    if (stored && (r = event_set_via(ev, p.via, p.via_len, p.n_via)) < 0) {
        r = event_problem(&p, ev, r, 0);
        goto fail;
    }
    r = 0;
    goto done;
fail:
    event_clear(target);
done:
    free(p.val_heap);
    codec_nulls_free(&p.nulls);
    return r;
}

int trail_event_from_json(const struct trail_catalog *cat, const char *data, size_t len,
                          struct trail_event **ret_event, char *err, size_t errlen)
{
    return event_new_parsed(cat, trail_event_parse_json, data, len, ret_event, err, errlen);
}
