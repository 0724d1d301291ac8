/*
 * codec.h - what the wire-form encoders and decoders (json.c, cef.c,
 * syslog.c) share: error reporting with a byte offset, the range of times
 * that every form can write back exactly, UTF-8 and number helpers.
 *
 * Not here: the formats themselves (each file documents its own, and
 * docs/wire-formats.md has all three), nor anything public.
 */
#ifndef TRAIL_CODEC_H
#define TRAIL_CODEC_H

#include "event/event.h"

/*
 * codec_error - write "byte OFF: message" into err (when err is not NULL and
 * errlen > 0) and return code, so that a decoder can `return codec_error(..)`.
 */
int codec_error(char *err, size_t errlen, int code, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/*
 * codec_utf8_seq - the length (1..4) of the well-formed UTF-8 sequence at
 * s[0..n), n >= 1, or 0 when it is not one (overlong, surrogate, truncated,
 * above U+10FFFF), by the rules of utf8_valid().
 */
size_t codec_utf8_seq(const unsigned char *s, size_t n);

/* codec_put_u64 - append the decimal form of v; 0 or -ENOMEM. */
int codec_put_u64(struct trail_buf *out, uint64_t v);

/* codec_put_i64 - append the decimal form of v; 0 or -ENOMEM. */
int codec_put_i64(struct trail_buf *out, int64_t v);

/*
 * codec_unescape_cp - when s[0..n) starts with the \uXXXX that
 * trail_text_escape() writes for an unsafe code point (C0, DEL, C1, U+2028,
 * U+2029; lower-case hex), write its UTF-8 (1..3 bytes) to out and *ret_len, and return 6;
 * else 0 (any other \uXXXX is text). Used by the CEF and syslog decoders.
 */
size_t codec_unescape_cp(const char *s, size_t n, char *out, size_t *ret_len);

/*
 * codec_html_text - append s[0..n) as HTML text: escaped as trail_text_escape()
 * does (LF, CR and TAB as \n, \r, \t), and & < > " ' as entities, so that it
 * is safe in an element and in a quoted attribute. 0 or -ENOMEM (out is then
 * as it was).
 */
int codec_html_text(struct trail_buf *out, const char *s, size_t n);

/*
 * struct codec_row - what the text writers (JSON, CSV, CEF) read of one
 * event: a decoded event's fields (codec_row_of_event), or a stored
 * record's read in place (lib/store/record_row.c), so that an export
 * writes its rows without decoding every record into an event. The event
 * writers (trail_event_to_json, _csv, _cef) are codec_row_of_event() and
 * the row writer, so both ways write the same bytes.
 *
 * Text is counted and need not be NUL-terminated. Where an event's writer
 * reads a field as a C string (CSV's id, host, principal and problems, the
 * input name everywhere), the row writer reads it up to its first NUL
 * (strnlen), which is the same text for a decoded event.
 */
struct codec_attr {
    const char *key;
    size_t klen;
    struct trail_value v;
};

struct codec_row {
    const struct trail_event_def *def; /* the catalog's entry (CEF's description and keys) */
    uint64_t seq;
    int64_t time_us;
    int64_t received_us;
    int severity;
    int own;   /* trail's own record */
    int input; /* enum trail_input */
    const char *id, *host, *input_name, *principal, *problems;
    size_t id_len, host_len, input_name_len, principal_len, problems_len;
    const uint8_t *uuid; /* 16 bytes, or NULL: none */
    struct trail_peer peer;
    const uint8_t *via; /* n_via hops in their record form, via_len bytes */
    size_t via_len;
    int n_via;
    /* the attributes, in key order: ev's, or (ev NULL) attrs[0..n_attrs) */
    const struct trail_event *ev;
    const struct codec_attr *attrs;
    size_t n_attrs;
};

/* codec_row_of_event - the row of ev (pointing into it; valid while ev is unchanged). */
void codec_row_of_event(const struct trail_event *ev, struct codec_row *ret);

/* codec_row_json - trail_event_to_json() of a row. 0 or -ENOMEM (out as it was). */
int codec_row_json(const struct codec_row *row, struct trail_buf *out);

/* codec_row_csv - trail_event_to_csv() of a row. 0 or -ENOMEM (out as it was). */
int codec_row_csv(const struct codec_row *row, struct trail_buf *out);

/* codec_row_cef - trail_event_to_cef() of a row; opts NULL: the defaults. As it. */
int codec_row_cef(const struct codec_row *row, const struct trail_cef_opts *opts,
                  struct trail_buf *out);

/*
 * codec_json_attrs - append a row's attributes as the JSON object of
 * trail_event_to_json()'s "attrs" member; with csv, as the CSV cell that
 * trail_text_csv_cell() makes of that text (quoted, every '"' doubled; "{}"
 * as it is). 0 or -ENOMEM (out as it was).
 */
int codec_json_attrs(const struct codec_row *row, int csv, struct trail_buf *out);

/*
 * codec_room - make room for n more bytes (and the NUL after them) at out's
 * end: the writers reserve a row's worst case once and write into it.
 * 0 or -ENOMEM.
 */
static inline int codec_room(struct trail_buf *out, size_t n)
{
    return out->cap - out->len > n ? 0 : trail_buf_reserve(out, n);
}

/* codec_u64_at - the decimal form of v at p (room for 20 bytes); returns the end. */
static inline char *codec_u64_at(char *p, uint64_t v)
{
    size_t n = 1;
    for (uint64_t x = v; x >= 10; x /= 10)
        n++;
    char *e = p + n;
    do {
        *--e = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return p + n;
}

/* codec_i64_at - the decimal form of v at p (room for 20 bytes); returns the end. */
static inline char *codec_i64_at(char *p, int64_t v)
{
    if (v >= 0)
        return codec_u64_at(p, (uint64_t)v);
    *p++ = '-';
    return codec_u64_at(p, 0 - (uint64_t)v);
}

/*
 * codec_plain - 1 when s[0..n) is printable ASCII (0x20..0x7e) holding
 * neither a nor b: text that trail_text_escape() with the specials a and b
 * writes as it is (most ids, hosts, keys and values), so that a writer can
 * copy it. Sixteen bytes at a time, the rest in one overlapping load.
 */
static inline int codec_plain(const char *str, size_t n, char a, char b)
{
    const unsigned char *s = (const unsigned char *)str;
#ifdef __SSE2__
    /* a signed compare with 0x20 finds the controls and the bytes above ASCII at once */
    const __m128i space = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7f), va = _mm_set1_epi8(a),
                  vb = _mm_set1_epi8(b);
    for (size_t i = 0; i < n; i += 16) {
        __m128i x = i + 16 <= n ? _mm_loadu_si128((const __m128i *)(const void *)(s + i))
                    : n >= 16   ? _mm_loadu_si128((const __m128i *)(const void *)(s + n - 16))
                                : text_load16(s, n);
        __m128i bad = _mm_or_si128(_mm_or_si128(_mm_cmplt_epi8(x, space), _mm_cmpeq_epi8(x, del)),
                                   _mm_or_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(x, vb)));
        if (_mm_movemask_epi8(bad))
            return 0;
    }
    return 1;
#else
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] >= 0x7f || s[i] == (unsigned char)a || s[i] == (unsigned char)b)
            return 0;
    return 1;
#endif
}

/*
 * codec_row_attr - attribute i of a row: its key and value (strings point
 * into the event or the record).
 */
static inline void codec_row_attr(const struct codec_row *row, size_t i, const char **ret_key,
                                  size_t *ret_klen, struct trail_value *ret_v)
{
    if (row->ev) {
        trail_event_attr_at(row->ev, i, ret_key, ret_v);
        *ret_klen = row->ev->attrs[i].key_len;
        return;
    }
    *ret_key = row->attrs[i].key;
    *ret_klen = row->attrs[i].klen;
    *ret_v = row->attrs[i].v;
}

/*
 * struct codec_nulls - the attribute keys a decoder read as null (declared
 * "not set"), so that a key given twice, as null and as a value, is a
 * duplicate. Keys are kept NUL-terminated, in a small buffer of its own
 * first and on the heap past it. codec_nulls_init before use,
 * codec_nulls_free after.
 */
#define CODEC_NULLS_STACK 512
struct codec_nulls {
    char *keys; /* each NUL-terminated: stack or heap */
    size_t len, cap, n;
    char stack[CODEC_NULLS_STACK];
};
void codec_nulls_init(struct codec_nulls *ns);
void codec_nulls_free(struct codec_nulls *ns);
/* codec_nulls_has - 1 when key[0..len) was added. */
int codec_nulls_has(const struct codec_nulls *ns, const char *key, size_t len);
/* codec_nulls_add - add key[0..len) (NUL-terminated at len); 0 or -ENOMEM. */
int codec_nulls_add(struct codec_nulls *ns, const char *key, size_t len);

#endif /* TRAIL_CODEC_H */
