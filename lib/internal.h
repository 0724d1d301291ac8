/*
 * internal.h - what libtrail's own files share and nobody else sees.
 *
 * Not part of the public API: the layout of an event in memory, the catalog's
 * built-in table produced by catalog/catalog-gen.c, and small helpers.
 */
#ifndef TRAIL_INTERNAL_H
#define TRAIL_INTERNAL_H

#include "trail.h"

#include <stdbool.h>
#include <string.h>

#define TRAIL_MAX_ID_LEN   128
#define TRAIL_MAX_HOST_LEN 255

#define TRAIL_LIKELY(x)     __builtin_expect(!!(x), 1)
#define TRAIL_UNLIKELY(x)   __builtin_expect(!!(x), 0)
#define TRAIL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The built-in catalog, generated at build time from catalog/events.cat. Sorted by id. */
extern const struct trail_event_def trail_builtin_events[];
extern const size_t trail_builtin_n_events;

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
    struct trail_attr *attrs; /* sorted by key */
    uint32_t n_attrs;
    uint32_t cap_attrs;
    char *arena;
    size_t arena_len;
    size_t arena_cap;
    char err[256];
};

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

/* trail_uuid_format - 36 characters and a NUL. */
void trail_uuid_format(const uint8_t uuid[16], char out[37]);
/* trail_uuid_parse - 0, or TRAIL_E_PARSE. */
int trail_uuid_parse(const char *text, size_t len, uint8_t ret_uuid[16]);

#endif /* TRAIL_INTERNAL_H */
