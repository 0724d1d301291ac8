/*
 * textesc.c - the one place that decides which characters of event text are
 * unsafe in a text output, and how they are written instead: every encoder
 * that writes event text for a file, a terminal, a spreadsheet or a SIEM
 * (CEF and event.log, RFC 5424 structured data and MSG, CSV, the CLI's
 * tables) goes through trail_text_escape() or trail_text_flatten(), and the
 * decoders undo the escape with codec_unescape_cp().
 *
 * Unsafe, whatever the output:
 *
 *   C0 controls U+0000..U+001F   NUL, BEL, BS, TAB, LF, VT, FF, CR, ESC, ...
 *   DEL U+007F
 *   C1 controls U+0080..U+009F   (UTF-8 C2 80..C2 9F; U+009B is a one-byte CSI)
 *   U+2028 LINE SEPARATOR, U+2029 PARAGRAPH SEPARATOR (line breaks to
 *                                 JavaScript and to Python's splitlines())
 *   a byte that does not start well-formed UTF-8
 *
 * trail_text_escape() writes an unsafe code point as \uXXXX (four lower-case
 * hex digits: ESC is \u001b, U+2028 is \u2028), LF and CR as \n and \r when
 * asked (TRAIL_ESC_NL), TAB as \t when asked (TRAIL_ESC_TAB), and a byte
 * that is not UTF-8 as \xHH; the caller's specials get a backslash before
 * them. trail_text_flatten() writes one replacement byte for each (for
 * tokens such as a host name, where an escape would be read back as text
 * anyway). traild's log and the CLI's messages use the same escaper.
 *
 * HTML text (codec_html_text, the reports' HTML page) is escaped text with
 * & < > " ' as entities, fit for an element's text and a quoted attribute.
 *
 * A CSV cell (trail_text_csv_cell) is escaped text, quoted as RFC 4180 says
 * and with OWASP's leading "'" before what a spreadsheet would take for a
 * formula.
 *
 * Not here: JSON strings (lib/codec/json.c, whose escapes are JSON's own) and the
 * per-format choice of specials (each encoder documents its own).
 */
#include "codec/codec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char hex[] = "0123456789abcdef";

/*
 * The unit at s[0..n), n >= 1: its length, and whether it is unsafe
 * (*ret_cp its code point, or -1 for a byte that is not UTF-8).
 */
static size_t unit(const unsigned char *s, size_t n, int *ret_unsafe, long *ret_cp)
{
    unsigned char c = s[0];
    *ret_unsafe = 0;
    if (c < 0x80) {
        *ret_cp = c;
        *ret_unsafe = c < 0x20 || c == 0x7f;
        return 1;
    }
    size_t l = codec_utf8_seq(s, n);
    if (l == 0) {
        *ret_cp = -1;
        *ret_unsafe = 1;
        return 1;
    }
    if (l == 2 && c == 0xc2 && s[1] <= 0x9f) {
        *ret_cp = s[1];
        *ret_unsafe = 1;
    } else if (l == 3 && c == 0xe2 && s[1] == 0x80 && (s[2] == 0xa8 || s[2] == 0xa9)) {
        *ret_cp = s[2] == 0xa8 ? 0x2028 : 0x2029;
        *ret_unsafe = 1;
    }
    return l;
}

/* 1 for a byte that is always written as it is: printable ASCII but the specials. */
static inline int plain(unsigned char c, const uint8_t special[32])
{
    return c >= 0x20 && c < 0x7f && !(special[c >> 3] & (1u << (c & 7)));
}

static void mark(uint8_t special[32], const char *specials)
{
    memset(special, 0, 32);
    for (const char *p = specials ? specials : ""; *p; p++)
        special[(unsigned char)*p >> 3] |= (uint8_t)(1u << ((unsigned char)*p & 7));
}

int trail_text_escape(struct trail_buf *out, const char *str, size_t n, const char *specials,
                      unsigned flags)
{
    const unsigned char *s = (const unsigned char *)str;
    uint8_t special[32];
    mark(special, specials);
    /* at most 6 bytes for each input byte (\u001b); reserve once */
    if (n > (SIZE_MAX - 1) / 6)
        return -ENOMEM;
    int r = trail_buf_reserve(out, 6 * n);
    if (r < 0)
        return r;
    char *p = out->data + out->len;
    size_t i = 0;
    while (i < n) {
        size_t start = i;
        while (i < n && plain(s[i], special))
            i++;
        memcpy(p, s + start, i - start);
        p += i - start;
        if (i == n)
            break;
        int unsafe;
        long cp;
        size_t l = unit(s + i, n - i, &unsafe, &cp);
        if (!unsafe) {
            if (l == 1) /* a special */
                *p++ = '\\';
            memcpy(p, s + i, l);
            p += l;
        } else if (cp < 0) {
            *p++ = '\\';
            *p++ = 'x';
            *p++ = hex[s[i] >> 4];
            *p++ = hex[s[i] & 15];
        } else if ((flags & TRAIL_ESC_NL) && (cp == '\n' || cp == '\r')) {
            *p++ = '\\';
            *p++ = cp == '\n' ? 'n' : 'r';
        } else if ((flags & TRAIL_ESC_TAB) && cp == '\t') {
            *p++ = '\\';
            *p++ = 't';
        } else {
            *p++ = '\\';
            *p++ = 'u';
            *p++ = hex[cp >> 12 & 15];
            *p++ = hex[cp >> 8 & 15];
            *p++ = hex[cp >> 4 & 15];
            *p++ = hex[cp & 15];
        }
        i += l;
    }
    out->len = (size_t)(p - out->data);
    out->data[out->len] = '\0';
    return 0;
}

int trail_text_flatten(struct trail_buf *out, const char *str, size_t n, const char *specials,
                       char repl)
{
    const unsigned char *s = (const unsigned char *)str;
    uint8_t special[32];
    mark(special, specials);
    int r = trail_buf_reserve(out, n);
    if (r < 0)
        return r;
    char *p = out->data + out->len;
    size_t i = 0;
    while (i < n) {
        if (plain(s[i], special)) {
            *p++ = (char)s[i++];
            continue;
        }
        int unsafe;
        long cp;
        size_t l = unit(s + i, n - i, &unsafe, &cp);
        if (unsafe || l == 1) {
            *p++ = repl; /* one byte for a unit of up to three: never longer than the input */
        } else {
            memcpy(p, s + i, l);
            p += l;
        }
        i += l;
    }
    out->len = (size_t)(p - out->data);
    out->data[out->len] = '\0';
    return 0;
}

/*
 * Make out[start..len), text already escaped, one CSV cell: quoted (with
 * '"' doubled) when it holds ',' or '"' or would be a formula, with OWASP's
 * "'" before a formula. In place, so that a cell costs no buffer of its own.
 */
static int csv_quote_tail(struct trail_buf *out, size_t start)
{
    const char *e = out->data ? out->data + start : "";
    size_t n = out->len - start, quotes = 0;
    /* OWASP's list; TAB and CR cannot lead once escaped, but the rule is the rule */
    int formula = n && strchr("=+-@\t\r", e[0]) != NULL;
    int comma = memchr(e, ',', n) != NULL;
    for (const char *q = e; (q = memchr(q, '"', n - (size_t)(q - e))); q++)
        quotes++;
    if (!formula && !comma && !quotes)
        return 0;
    size_t add = 2 + (size_t)formula + quotes;
    int r = trail_buf_reserve(out, add);
    if (r < 0)
        return r;
    /* from the end backwards: the closing quote, the runs between quotes moved whole with
       each '"' doubled, the opening */
    char *d = out->data + start;
    size_t w = n + add, rd = n;
    d[w] = '\0';
    d[--w] = '"';
    while (quotes--) {
        const char *q = memrchr(d, '"', rd);
        size_t run = rd - (size_t)(q + 1 - d);
        w -= run;
        memmove(d + w, q + 1, run);
        d[--w] = '"';
        d[--w] = '"';
        rd = (size_t)(q - d);
    }
    w -= rd;
    memmove(d + w, d, rd);
    if (formula)
        d[--w] = '\'';
    d[--w] = '"';
    out->len += add;
    return 0;
}

int trail_text_csv_cell(struct trail_buf *out, const char *s, size_t n)
{
    size_t start = out->len;
    int r = trail_text_escape(out, s, n, NULL, TRAIL_ESC_NL);
    if (r == 0)
        r = csv_quote_tail(out, start);
    if (r < 0) {
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
    }
    return r;
}

int codec_html_text(struct trail_buf *out, const char *s, size_t n)
{
    size_t start = out->len;
    int r = 0;
    for (size_t i = 0; i < n && r == 0;) {
        size_t run = 0;
        while (i + run < n && !memchr("&<>\"'", s[i + run], 5))
            run++;
        /* the markup characters are ASCII, so a run never splits a UTF-8 sequence */
        r = trail_text_escape(out, s + i, run, NULL, TRAIL_ESC_NL | TRAIL_ESC_TAB);
        i += run;
        if (r == 0 && i < n) {
            const char *ent = s[i] == '&'   ? "&amp;"
                              : s[i] == '<' ? "&lt;"
                              : s[i] == '>' ? "&gt;"
                              : s[i] == '"' ? "&quot;"
                                            : "&#39;";
            r = trail_buf_append(out, ent, strlen(ent));
            i++;
        }
    }
    if (r < 0) {
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
    }
    return r;
}

int trail_text_is_safe(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    for (size_t i = 0; i < n;) {
        int unsafe;
        long cp;
        if (s[i] >= 0x20 && s[i] < 0x7f) {
            i++;
            continue;
        }
        i += unit(s + i, n - i, &unsafe, &cp);
        if (unsafe)
            return 0;
    }
    return 1;
}

size_t codec_unescape_cp(const char *s, size_t n, char *out, size_t *ret_len)
{
    if (n < 6 || s[0] != '\\' || s[1] != 'u')
        return 0;
    long cp = 0;
    /* only what trail_text_escape() writes (lower-case hex, the unsafe code points):
       any other \uXXXX is text */
    for (int k = 2; k < 6; k++) {
        const char *h = s[k] ? memchr(hex, s[k], 16) : NULL;
        if (!h)
            return 0;
        cp = cp << 4 | (h - hex);
    }
    if (cp < 0x20 || cp == 0x7f) {
        out[0] = (char)cp;
        *ret_len = 1;
    } else if (cp >= 0x80 && cp <= 0x9f) {
        out[0] = (char)0xc2;
        out[1] = (char)cp;
        *ret_len = 2;
    } else if (cp == 0x2028 || cp == 0x2029) {
        out[0] = (char)0xe2;
        out[1] = (char)0x80;
        out[2] = (char)(cp == 0x2028 ? 0xa8 : 0xa9);
        *ret_len = 3;
    } else {
        return 0;
    }
    return 6;
}
