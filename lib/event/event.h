/*
 * event.h - the event in memory (struct trail_event and its attributes), the
 * catalog's layout, trail's own events, and what the decoders use to fill
 * an event (lib/event/event.c, catalog.c, own_events.c).
 *
 * Not part of the public API. Uses lib/base; the codecs, the store and
 * everything above include it.
 */
#ifndef TRAIL_EVENT_H
#define TRAIL_EVENT_H

#include "base/base.h"

/*
 * The instants RFC 3339 text can hold with a four-digit year:
 * 0000-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999Z. A decoder refuses a
 * time outside it, so that whatever it decodes an encoder writes back exactly.
 */
#define EVENT_TIME_MIN (-62167219200LL * 1000000)
#define EVENT_TIME_MAX (253402300799LL * 1000000 + 999999)

/* event_time_ok - 1 when t is inside [EVENT_TIME_MIN, EVENT_TIME_MAX]. */
static inline int event_time_ok(int64_t t)
{
    return t >= EVENT_TIME_MIN && t <= EVENT_TIME_MAX;
}

/* trail's own events (lib/event/own_events.c): in every catalog, written only with the own mark. */
struct own_event {
    const char *id, *severity, *description, *schema;
};
extern const struct own_event own_events[];
extern const size_t n_own_events;

/* id_reserved - 1 for an id in the trail_ namespace, which only trail itself writes. */
int id_reserved(const char *id, size_t len);

/* The built-in catalog, generated at build time from catalog/events.cat. Sorted by id. */
extern const struct trail_event_def builtin_events[];
extern const size_t builtin_n_events;

/*
 * The catalog (lib/event/catalog.c keeps it; its slots and custom events are its
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
    /* the hops of a relayed event (docs/format.md "Relayed records"): n_via hops in their
       record form, via_len bytes at via_off in the arena; set only by a relay's receiver
       (trail_event_parse_relayed_json) and by the record decoder */
    uint8_t n_via;
    uint16_t via_len;
    uint32_t via_off;
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
static inline const char *attr_key(const struct trail_event *ev, const struct trail_attr *a)
{
    return a->def ? a->def->key : ev->arena + a->key_off;
}

/*
 * event_clear - make ev blank, as trail_event_new(cat, NULL, ..) makes
 * it: no id, no attributes, nothing set. Keeps its catalog and its memory.
 */
void event_clear(struct trail_event *ev);

/*
 * event_set_valid_id - give ev the id [0..len), which the caller has
 * checked with trail_id_valid(); looks it up and takes the catalog's severity.
 * Attributes already set stay (a decoder sets the id before any).
 */
void event_set_valid_id(struct trail_event *ev, const char *id, size_t len);

/*
 * event_input_text - trail_event_input_text() of an input (enum trail_input)
 * and a name[0..name_len) read up to its first NUL: "http", "follow:pas".
 * The length, 0 when there is none or it does not fit.
 */
size_t event_input_text(int input, const char *name, size_t name_len, char out[80]);

/* A decoder into an existing event: trail_event_parse_json() and its kin. */
typedef int (*event_parse_fn)(struct trail_event *ev, const char *data, size_t len, char *err,
                              size_t errlen);

/*
 * event_new_parsed - a new event of cat decoded by parse: what
 * trail_event_from_json(), _cef and _syslog are. 0 and *ret_event (the
 * caller frees), or parse's error with *ret_event untouched.
 */
int event_new_parsed(const struct trail_catalog *cat, event_parse_fn parse, const char *data,
                     size_t len, struct trail_event **ret_event, char *err, size_t errlen);

/*
 * attr_def_index - where key[0..len) is in def's attributes (sorted by
 * key), or -1: the search behind trail_attr_def_find().
 */
long attr_def_index(const struct trail_event_def *def, const char *key, size_t len);

/*
 * event_find_def - the schema's entry for key[0..klen) in ev's event,
 * or NULL: trail_attr_def_find(), but trying first where the previous key
 * was found (decoders read keys in order). A key it finds is valid.
 */
const struct trail_attr_def *event_find_def(struct trail_event *ev, const char *key, size_t klen);

/*
 * event_put_text - the decoders' trail_event_set_text(): key[0..klen)
 * need not be NUL-terminated but holds no NUL (a decoder's keys never do);
 * def is event_find_def(ev, key, klen). With check_time_range, a time
 * attribute outside years 0000..9999 (EVENT_TIME_MIN..MAX) is refused, so
 * that every wire form writes it back exactly. Codes and messages as
 * trail_event_set_text().
 */
int event_put_text(struct trail_event *ev, const char *key, size_t klen,
                   const struct trail_attr_def *def, const char *value, size_t vlen,
                   int check_time_range);

/*
 * event_put_scalar - trail_event_set_int() (type TRAIL_TYPE_INT) or
 * trail_event_set_bool() (TRAIL_TYPE_BOOL, value 0 or 1) with a counted key
 * that holds no NUL. Codes and messages as those calls.
 */
int event_put_scalar(struct trail_event *ev, const char *key, size_t klen, int type, int64_t value);

/* event_has_attr - 1 when ev has the attribute key[0..klen). */
int event_has_attr(const struct trail_event *ev, const char *key, size_t klen);

/*
 * One hop of a relayed event: a trail that held the event before the one
 * that holds it now (docs/format.md "Relayed records"). Pointers into the
 * bytes it was read from.
 */
#define HOP_MAX_BYTES                                                                              \
    (1 + TRAIL_ORIGIN_MAX + 8 + 8 + 1 + 1 + TRAIL_MAX_INPUT_NAME + 1 + 18 + 1 +                    \
     TRAIL_MAX_PRINCIPAL_LEN)
struct hop {
    const char *origin; /* that trail's store origin, 1..TRAIL_ORIGIN_MAX bytes */
    size_t origin_len;
    uint64_t seq;        /* the event's seq there */
    int64_t received_us; /* when that trail received it */
    int input;           /* how it came in there (enum trail_input, never NONE or TRAIL) */
    const char *input_name;
    size_t input_name_len;
    struct trail_peer peer; /* who sent it there */
    const char *principal;
    size_t principal_len;
};

/* origin_text_ok - 1 for 1..TRAIL_ORIGIN_MAX bytes of printable ASCII but space and '+'. */
int origin_text_ok(const char *s, size_t len);

/*
 * hop_parse - the hop at p[0..end): the bytes it takes, or 0 when they are
 * not one well-formed hop (lengths, an origin, an input, a peer family,
 * UTF-8 principal). Never reads outside [p, end).
 */
size_t hop_parse(const uint8_t *p, const uint8_t *end, struct hop *h);

/* hop_size / hop_write - the record form of h (hop_size bytes into out). */
size_t hop_size(const struct hop *h);
void hop_write(const struct hop *h, uint8_t *out);

/*
 * event_set_via - give ev the n hops in bytes[0..len) (record form, already
 * checked by hop_parse): copied into its arena. 0, -ENOMEM, or TRAIL_E_TOO_LARGE
 * beyond TRAIL_MAX_HOPS or 65535 bytes.
 */
int event_set_via(struct trail_event *ev, const uint8_t *bytes, size_t len, int n);

/* event_errorf - record a problem on the event; returns code for chaining. */
int event_errorf(struct trail_event *ev, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* TRAIL_EVENT_H */
