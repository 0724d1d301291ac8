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
 * codec_attrs_json - append ev's attributes as the JSON object
 * trail_event_to_json() writes for its "attrs" member; 0 or -ENOMEM (out
 * as it was). The CSV writer's attrs column, without the rest of the event.
 */
int codec_attrs_json(const struct trail_event *ev, struct trail_buf *out);

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
 * codec_csv_cell_tail - make out[start..len), raw text just written there,
 * one CSV cell as trail_text_csv_cell() would have written it (escaped,
 * quoted), in place: a writer puts a field straight into its output and
 * makes it a cell, with no buffer of its own. 0 or -ENOMEM.
 */
int codec_csv_cell_tail(struct trail_buf *out, size_t start);

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
