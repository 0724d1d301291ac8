/*
 * internal.h - what libtrail's own files share and nobody else sees.
 *
 * Not part of the public API: the layout of an event in memory, the catalog's
 * built-in table produced by catalog/catalog-gen.c, and small helpers.
 */
#ifndef TRAIL_INTERNAL_H
#define TRAIL_INTERNAL_H

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

/* trail's own events (lib/own_events.c): in every catalog, written only with the own mark. */
struct trail_own_event {
    const char *id, *severity, *description, *schema;
};
extern const struct trail_own_event trail_own_events[];
extern const size_t trail_n_own_events;

/* trail_id_reserved - 1 for an id in the trail_ namespace, which only trail itself writes. */
int trail_id_reserved(const char *id, size_t len);

/* The built-in catalog, generated at build time from catalog/events.cat. Sorted by id. */
extern const struct trail_event_def trail_builtin_events[];
extern const size_t trail_builtin_n_events;

/*
 * The catalog (lib/catalog.c keeps it; its slots and custom events are its
 * own). Here so that the event setters read the policy and limits inline.
 */
struct trail_catalog_slot;
struct trail_catalog_custom;

struct trail_catalog {
    int policy;
    int64_t skew_future_us, skew_past_us; /* 0: unbounded (trail_catalog_set_time_skew) */
    int skew_refuse;
    struct trail_limits limits;
    const struct trail_event_def **sorted; /* every event, by id */
    size_t n_events;
    struct trail_catalog_slot *slots;     /* open addressing on the id's hash */
    size_t n_slots;                       /* a power of two, at least 2 * n_events */
    struct trail_catalog_custom *customs; /* owned */
};

/* One attribute of an event. Strings live in the event's arena, by offset. */
struct trail_attr {
    const struct trail_attr_def *def; /* the schema's entry, or NULL if undeclared */
    uint32_t key_off;                 /* arena offset of the key (undeclared keys only) */
    uint16_t key_len;
    uint8_t type;      /* enum trail_type */
    uint8_t ip_family; /* 4 or 6 for TRAIL_TYPE_IP */
    union {
        struct {
            uint32_t off;
            uint32_t len;
        } s;
        int64_t i;
        uint8_t ip[16];
    } v;
};

struct trail_event {
    const struct trail_catalog *cat;
    const struct trail_event_def *def; /* NULL for an id the catalog does not know */
    int64_t time_us;
    uint64_t seq;
    int severity;
    uint8_t uuid[16];
    bool has_uuid;
    uint8_t id_len;
    uint8_t host_len;
    char id[TRAIL_MAX_ID_LEN + 1];
    char host[TRAIL_MAX_HOST_LEN + 1];
    /* provenance (docs/format.md "Record"): set by whoever received the event, never
       by a decoder; own is set only by trail_event_mark_own() */
    bool own;
    uint8_t input; /* enum trail_input */
    uint8_t input_name_len;
    uint8_t principal_len;
    struct trail_peer peer;
    int64_t received_us;        /* 0: the store's clock at append */
    uint64_t dup_of;            /* set by trail_store_append: the seq holding this uuid already */
    uint8_t requested_severity; /* a sender's severity the catalog's replaced; 0: none */
    char input_name[TRAIL_MAX_INPUT_NAME + 1];
    char principal[TRAIL_MAX_PRINCIPAL_LEN + 1];
    uint16_t problems_len; /* what validation let through and listed (lenient policy) */
    char problems[TRAIL_MAX_PROBLEMS_LEN + 1];
    struct trail_attr *attrs; /* sorted by key */
    uint32_t n_attrs;
    uint32_t cap_attrs;
    uint16_t def_hint; /* where in def->attrs the next key is looked for first */
    char *arena;
    size_t arena_len;
    size_t arena_cap;
    char err[256];
};

/*
 * event_arena_put - copy n bytes into the event's arena, NUL-terminated;
 * *ret_off is where (strings are kept by offset: the arena may move). The
 * one way the setters (event.c) and the record decoder (record.c) add text.
 * 0 or -ENOMEM.
 */
static TRAIL_ALWAYS_INLINE int event_arena_put(struct trail_event *ev, const void *s, size_t n,
                                               uint32_t *ret_off)
{
    if (ev->arena_len + n > UINT32_MAX)
        return -ENOMEM;
    if (TRAIL_UNLIKELY(ev->arena_cap - ev->arena_len < n + 1)) {
        size_t cap = ev->arena_cap ? ev->arena_cap : 512;
        while (cap - ev->arena_len < n + 1)
            cap *= 2;
        char *p = realloc(ev->arena, cap);
        if (!p)
            return -ENOMEM;
        ev->arena = p;
        ev->arena_cap = cap;
    }
    memcpy(ev->arena + ev->arena_len, s, n);
    ev->arena[ev->arena_len + n] = '\0';
    *ret_off = (uint32_t)ev->arena_len;
    ev->arena_len += n + 1;
    return 0;
}

/* The key of an attribute and its length. */
static inline const char *trail_attr_key(const struct trail_event *ev, const struct trail_attr *a)
{
    return a->def ? a->def->key : ev->arena + a->key_off;
}

/*
 * trail_keycmp - order a NUL-terminated name against a counted one (which
 * may hold any bytes, NULs included), as strcmp would order the two strings.
 * Never reads past either.
 */
static inline int trail_keycmp(const char *name, const char *key, size_t len)
{
    size_t nlen = strlen(name);
    int c = memcmp(name, key, nlen < len ? nlen : len);
    if (c != 0)
        return c;
    return nlen < len ? -1 : nlen > len;
}

/*
 * trail_keycmp_n - order two counted keys as strcmp would order them as
 * strings (NUL-free keys; a NUL byte orders as any other byte).
 */
static inline int trail_keycmp_n(const char *a, size_t alen, const char *b, size_t blen)
{
    /* most keys differ in their first byte: decide without a call */
    if (alen && blen && a[0] != b[0])
        return (unsigned char)a[0] < (unsigned char)b[0] ? -1 : 1;
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* trail_bytes_eq - 1 when a[0..n) and b[0..n) hold the same bytes; for short keys. */
static inline int trail_bytes_eq(const char *a, const char *b, size_t n)
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
 * trail_find2 - the index of the first byte that is a or b in s[from..n),
 * or n. Sixteen bytes at a time with SSE2, else eight with the classic SWAR
 * zero-byte test (whose lowest hit is always exact): the decoders' scans for
 * the end of a value.
 */
static inline size_t trail_find2(const char *s, size_t from, size_t n, char a, char b)
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

/* Byte classes of keys and ids (lib/event.c), for checks in one pass. */
#define TRAIL_CC_KEY 1 /* [A-Za-z0-9_.-] */
#define TRAIL_CC_ID  2 /* [a-z0-9_] */
extern const uint8_t trail_char_class[256];

/* trail_key_ok - trail_key_valid(), inline: a non-empty run of [A-Za-z0-9_.-]. */
static inline int trail_key_ok(const char *key, size_t len)
{
    const unsigned char *s = (const unsigned char *)key;
    unsigned all = TRAIL_CC_KEY;
    for (size_t i = 0; i < len; i++)
        all &= trail_char_class[s[i]];
    return len > 0 && all;
}

/* trail_id_ok - trail_id_valid(), inline: [a-z0-9_] of 1..128 bytes. */
static inline int trail_id_ok(const char *id, size_t len)
{
    const unsigned char *s = (const unsigned char *)id;
    unsigned all = TRAIL_CC_ID;
    if (len == 0 || len > TRAIL_MAX_ID_LEN)
        return 0;
    for (size_t i = 0; i < len; i++)
        all &= trail_char_class[s[i]];
    return all != 0;
}

/*
 * trail_event_clear - make ev blank, as trail_event_new(cat, NULL, ..) makes
 * it: no id, no attributes, nothing set. Keeps its catalog and its memory.
 */
void trail_event_clear(struct trail_event *ev);

/*
 * trail_event_set_valid_id - give ev the id [0..len), which the caller has
 * checked with trail_id_valid(); looks it up and takes the catalog's severity.
 * Attributes already set stay (a decoder sets the id before any).
 */
void trail_event_set_valid_id(struct trail_event *ev, const char *id, size_t len);

/* A decoder into an existing event: trail_event_parse_json() and its kin. */
typedef int (*trail_parse_fn)(struct trail_event *ev, const char *data, size_t len, char *err,
                              size_t errlen);

/*
 * trail_event_new_parsed - a new event of cat decoded by parse: what
 * trail_event_from_json(), _cef and _syslog are. 0 and *ret_event (the
 * caller frees), or parse's error with *ret_event untouched.
 */
int trail_event_new_parsed(const struct trail_catalog *cat, trail_parse_fn parse, const char *data,
                           size_t len, struct trail_event **ret_event, char *err, size_t errlen);

/*
 * trail_attr_def_index - where key[0..len) is in def's attributes (sorted by
 * key), or -1: the search behind trail_attr_def_find().
 */
long trail_attr_def_index(const struct trail_event_def *def, const char *key, size_t len);

/*
 * trail_event_find_def - the schema's entry for key[0..klen) in ev's event,
 * or NULL: trail_attr_def_find(), but trying first where the previous key
 * was found (decoders read keys in order). A key it finds is valid.
 */
const struct trail_attr_def *trail_event_find_def(struct trail_event *ev, const char *key,
                                                  size_t klen);

/*
 * trail_event_put_text - the decoders' trail_event_set_text(): key[0..klen)
 * need not be NUL-terminated but holds no NUL (a decoder's keys never do);
 * def is trail_event_find_def(ev, key, klen). With check_time_range, a time
 * attribute outside years 0000..9999 (CODEC_TIME_MIN..MAX) is refused, so
 * that every wire form writes it back exactly. Codes and messages as
 * trail_event_set_text().
 */
int trail_event_put_text(struct trail_event *ev, const char *key, size_t klen,
                         const struct trail_attr_def *def, const char *value, size_t vlen,
                         int check_time_range);

/*
 * trail_event_put_scalar - trail_event_set_int() (type TRAIL_TYPE_INT) or
 * trail_event_set_bool() (TRAIL_TYPE_BOOL, value 0 or 1) with a counted key
 * that holds no NUL. Codes and messages as those calls.
 */
int trail_event_put_scalar(struct trail_event *ev, const char *key, size_t klen, int type,
                           int64_t value);

/* trail_event_has_attr - 1 when ev has the attribute key[0..klen). */
int trail_event_has_attr(const struct trail_event *ev, const char *key, size_t klen);

/* trail_event_errorf - record a problem on the event; returns code for chaining. */
int trail_event_errorf(struct trail_event *ev, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* trail_utf8_valid - 1 when s[0..len) is well-formed UTF-8 (no overlongs, no surrogates). */
int trail_utf8_valid(const char *s, size_t len);

/* trail_key_valid - 1 when key is a non-empty run of [A-Za-z0-9_.-]. */
int trail_key_valid(const char *key, size_t len);

/* trail_id_valid - 1 when id is a non-empty run of [a-z0-9_] of at most 128 bytes. */
int trail_id_valid(const char *id, size_t len);

/* trail_ip_parse - parse IPv4 or IPv6 text; 0 or TRAIL_E_BAD_TYPE. */
int trail_ip_parse(const char *text, size_t len, uint8_t *ret_family, uint8_t ret_addr[16]);

/* trail_random_bytes - n bytes from the kernel's CSPRNG, buffered per thread. 0 or -errno. */
int trail_random_bytes(void *buf, size_t n);

/*
 * trail_text_addline - append the formatted text and a newline to the
 * NUL-terminated text in buf[0..size); a line that does not fit is cut, and
 * nothing is added once the buffer is full. For reports of several lines.
 */
void trail_text_addline(char *buf, size_t size, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* trail_uuid_parse - 0, or TRAIL_E_PARSE. */
int trail_uuid_parse(const char *text, size_t len, uint8_t ret_uuid[16]);

#endif /* TRAIL_INTERNAL_H */
