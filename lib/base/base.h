/*
 * base.h - the bottom of libtrail: limits, invariant checks, and the small
 * string, byte and random helpers every part uses (lib/base/util.c).
 *
 * Not part of the public API. Uses only trail.h and libc; every other part
 * of lib/ may include it.
 */
#ifndef TRAIL_BASE_H
#define TRAIL_BASE_H

#include "trail.h"

#include <stdarg.h>
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define TRAIL_MAX_ID_LEN        128
#define TRAIL_MAX_HOST_LEN      255
#define TRAIL_MAX_INPUT_NAME    64  /* a [follow NAME]'s name, as the record keeps it */
#define TRAIL_MAX_PRINCIPAL_LEN 255 /* a token's name or a certificate's subject */
#define TRAIL_MAX_PROBLEMS_LEN  511 /* what validation found, kept in the record */

#define TRAIL_LIKELY(x)     __builtin_expect(!!(x), 1)
#define TRAIL_UNLIKELY(x)   __builtin_expect(!!(x), 0)
#define TRAIL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * TRAIL_ASSERT - an invariant the code relies on. Checked (abort with the
 * condition, file and line) in Debug builds, which are the sanitizer builds
 * of make test; nothing in release builds (NDEBUG). Not for input checks:
 * bad input is an error code, never an assertion.
 */
#define TRAIL_ASSERT(cond) assert(cond)
/* for the small steps of the decoders' setters, called once per attribute */
#define TRAIL_ALWAYS_INLINE inline __attribute__((always_inline))

/*
 * keycmp - order a NUL-terminated name against a counted one (which
 * may hold any bytes, NULs included), as strcmp would order the two strings.
 * Never reads past either.
 */
static inline int keycmp(const char *name, const char *key, size_t len)
{
    size_t nlen = strlen(name);
    int c = memcmp(name, key, nlen < len ? nlen : len);
    if (c != 0)
        return c;
    return nlen < len ? -1 : nlen > len;
}

/*
 * keycmp_n - order two counted keys as strcmp would order them as
 * strings (NUL-free keys; a NUL byte orders as any other byte).
 */
static inline int keycmp_n(const char *a, size_t alen, const char *b, size_t blen)
{
    /* most keys differ in their first byte: decide without a call */
    if (alen && blen && a[0] != b[0])
        return (unsigned char)a[0] < (unsigned char)b[0] ? -1 : 1;
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* bytes_eq - 1 when a[0..n) and b[0..n) hold the same bytes; for short keys. */
static inline int bytes_eq(const char *a, const char *b, size_t n)
{
    while (n >= 8) {
        uint64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y)
            return 0;
        a += 8, b += 8, n -= 8;
    }
    while (n > 0) {
        if (*a++ != *b++)
            return 0;
        n--;
    }
    return 1;
}

/*
 * text_find2 - the index of the first byte that is a or b in s[from..n),
 * or n. Sixteen bytes at a time with SSE2, else eight with the classic SWAR
 * zero-byte test (whose lowest hit is always exact): the decoders' scans for
 * the end of a value.
 */
static inline size_t text_find2(const char *s, size_t from, size_t n, char a, char b)
{
    size_t i = from;
#ifdef __SSE2__
    const __m128i va = _mm_set1_epi8(a), vb = _mm_set1_epi8(b);
    while (i + 16 <= n) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        int hit = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(x, vb)));
        if (hit)
            return i + (size_t)__builtin_ctz((unsigned)hit);
        i += 16;
    }
#endif
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    while (i + 8 <= n) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        uint64_t xa = x ^ (ones * (unsigned char)a), xb = x ^ (ones * (unsigned char)b);
        uint64_t hit = (((xa - ones) & ~xa) | ((xb - ones) & ~xb)) & highs;
        if (hit)
            return i + (size_t)(__builtin_ctzll(hit) >> 3);
        i += 8;
    }
    while (i < n && s[i] != a && s[i] != b)
        i++;
    return i;
}

/* Byte classes of keys and ids (lib/base/util.c), for checks in one pass. */
#define TRAIL_CC_KEY 1 /* [A-Za-z0-9_.-] */
#define TRAIL_CC_ID  2 /* [a-z0-9_] */
extern const uint8_t char_class[256];

#ifdef __SSE2__
/*
 * text_load16 - the bytes s[0..n), 1 <= n <= 16, in one register without
 * reading outside them: two overlapping loads of 8 (or 4) bytes, so that a
 * byte may be there twice and every lane holds one of s's bytes. For
 * checks of short text (is every byte of a class? where is the first that
 * is not?): lanes 0..7 are s[0..8) (or 0..3 s[0..4)) in order, and a lane
 * past them that fails is never before one of them that fails.
 */
static inline __m128i text_load16(const void *s, size_t n)
{
    const unsigned char *p = s;
    if (n >= 8) {
        uint64_t a, b;
        memcpy(&a, p, 8);
        memcpy(&b, p + n - 8, 8);
        return _mm_set_epi64x((long long)b, (long long)a);
    }
    if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, p, 4);
        memcpy(&b, p + n - 4, 4);
        return _mm_set_epi32((int)b, (int)b, (int)b, (int)a);
    }
    uint32_t a = (uint32_t)p[0] | (uint32_t)p[n / 2] << 8 | (uint32_t)p[n - 1] << 16 |
                 (uint32_t)p[n - 1] << 24;
    return _mm_set_epi32((int)a, (int)a, (int)a, (int)a);
}

/* key_mask16 - the lanes of x that are not [A-Za-z0-9_.-], a mask (ASCII ranges: signed compares).
 */
static inline unsigned key_mask16(__m128i x)
{
    __m128i folded = _mm_or_si128(x, _mm_set1_epi8(0x20)); /* A-Z onto a-z, nothing else */
    __m128i letter = _mm_and_si128(_mm_cmpgt_epi8(folded, _mm_set1_epi8('a' - 1)),
                                   _mm_cmplt_epi8(folded, _mm_set1_epi8('z' + 1)));
    __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('0' - 1)),
                                  _mm_cmplt_epi8(x, _mm_set1_epi8('9' + 1)));
    __m128i other = _mm_or_si128(
        _mm_cmpeq_epi8(x, _mm_set1_epi8('_')),
        _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('.')), _mm_cmpeq_epi8(x, _mm_set1_epi8('-'))));
    __m128i ok = _mm_or_si128(_mm_or_si128(letter, digit), other);
    return ~(unsigned)_mm_movemask_epi8(ok) & 0xffff;
}
#endif

/* key_ok - trail_key_valid(), inline: a non-empty run of [A-Za-z0-9_.-]. */
static inline int key_ok(const char *key, size_t len)
{
    const unsigned char *s = (const unsigned char *)key;
    if (len == 0)
        return 0;
#ifdef __SSE2__
    /* sixteen bytes at a time, the rest in one (overlapping) load */
    size_t i = 0;
    for (; i + 16 <= len; i += 16)
        if (key_mask16(_mm_loadu_si128((const __m128i *)(const void *)(s + i))))
            return 0;
    if (i == len)
        return 1;
    __m128i last = len >= 16 ? _mm_loadu_si128((const __m128i *)(const void *)(s + len - 16))
                             : text_load16(s, len);
    return !key_mask16(last);
#else
    unsigned all = TRAIL_CC_KEY;
    for (size_t i = 0; i < len; i++)
        all &= char_class[s[i]];
    return all != 0;
#endif
}

/* id_ok - trail_id_valid(), inline: [a-z0-9_] of 1..128 bytes. */
static inline int id_ok(const char *id, size_t len)
{
    const unsigned char *s = (const unsigned char *)id;
    unsigned all = TRAIL_CC_ID;
    if (len == 0 || len > TRAIL_MAX_ID_LEN)
        return 0;
    for (size_t i = 0; i < len; i++)
        all &= char_class[s[i]];
    return all != 0;
}

/* utf8_valid - 1 when s[0..len) is well-formed UTF-8 (no overlongs, no surrogates). */
int utf8_valid(const char *s, size_t len);

/*
 * ip_format - the text of an IPv4 (family 4, addr[0..4)) or IPv6 (6)
 * address, as inet_ntop() writes it, NUL-terminated in out; its length, 0
 * (out "") for another family.
 */
size_t ip_format(int family, const uint8_t addr[16], char out[46]);

/* ip_parse - parse IPv4 or IPv6 text; 0 or TRAIL_E_BAD_TYPE. */
int ip_parse(const char *text, size_t len, uint8_t *ret_family, uint8_t ret_addr[16]);

/* random_bytes - n bytes from the kernel's CSPRNG, buffered per thread. 0 or -errno. */
int random_bytes(void *buf, size_t n);

/*
 * text_addline - append the formatted text and a newline to the
 * NUL-terminated text in buf[0..size); a line that does not fit is cut, and
 * nothing is added once the buffer is full. For reports of several lines.
 */
void text_addline(char *buf, size_t size, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#endif /* TRAIL_BASE_H */
