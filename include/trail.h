/*
 * trail.h - the one public header of libtrail.
 *
 * libtrail is the library behind trail, a tamper-evident audit trail for
 * identity and authentication servers. It holds the event catalog, the event
 * model with validation, the encoders and decoders of the wire forms (JSON,
 * CEF, RFC 5424 syslog), the append-only store and its integrity layer.
 *
 * Conventions, true of every call below unless its comment says otherwise:
 *
 *  - Functions return int: 0 on success, -errno for a system failure, or one
 *    of trail's own codes (enum trail_error, a reserved negative block).
 *    trail_strerror() gives a text for both.
 *  - Out-parameters come last, are named ret_*, and are left untouched when
 *    the call fails.
 *  - The library never prints and never exits.
 *  - Every *_free(NULL) and *_close(NULL) is a no-op.
 *  - Strings are NUL-terminated UTF-8 unless a length is passed beside them.
 *  - Thread safety: a catalog may be shared by any number of threads once
 *    set up (custom events registered, policy set). An event belongs to one
 *    thread at a time. The store's calls are thread-safe (see its section).
 */
#ifndef TRAIL_H
#define TRAIL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The library's exports are exactly what this header declares: libtrail is
 * built with hidden visibility (CMakeLists.txt), and this pragma marks every
 * declaration below as the public API. Functions internal to the library
 * (declared in lib/) stay out of libtrail.so; tests/lint/exports.sh checks
 * that with nm -D.
 */
#pragma GCC visibility push(default)

#define TRAIL_VERSION_MAJOR  0
#define TRAIL_VERSION_MINOR  1
#define TRAIL_VERSION_PATCH  0
#define TRAIL_VERSION_STRING "0.1.0"

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * trail's own error codes. They live in a reserved negative block far below
 * any -errno value, so one int carries either kind.
 */
enum trail_error {
    TRAIL_E_BASE = -30900,
    TRAIL_E_UNKNOWN_EVENT = TRAIL_E_BASE, /* the event id is not in the catalog */
    TRAIL_E_MISSING_ATTR,                 /* a required attribute is not set */
    TRAIL_E_BAD_TYPE,                     /* a value does not parse as the declared type */
    TRAIL_E_BAD_ENUM,                     /* an enum value is not one of the declared values */
    TRAIL_E_TOO_MANY_ATTRS,               /* more attributes than the limit allows */
    TRAIL_E_KEY_TOO_LONG,                 /* an attribute key is longer than the limit */
    TRAIL_E_VALUE_TOO_LONG,               /* an attribute value is longer than the limit */
    TRAIL_E_UNDECLARED_ATTR,              /* strict policy: the key is not in the event's schema */
    TRAIL_E_BAD_KEY,      /* a key is empty or has characters outside [A-Za-z0-9_.-] */
    TRAIL_E_BAD_ID,       /* an event id is not lower-case [a-z0-9_] */
    TRAIL_E_DUPLICATE,    /* an event id or attribute key is already declared */
    TRAIL_E_BAD_SEVERITY, /* a severity name or number is not on the scale */
    TRAIL_E_PARSE,        /* malformed input (JSON, CEF, syslog, query, ...) */
    TRAIL_E_UTF8,         /* a string is not valid UTF-8 */
    TRAIL_E_TOO_LARGE,    /* a record or message is over the size limit */
    TRAIL_E_CORRUPT,      /* stored data fails its checksum or framing */
    TRAIL_E_VERSION,      /* a file has an unknown magic number or version */
    TRAIL_E_INTEGRITY,    /* the hash chain or Merkle tree does not hold */
    TRAIL_E_SIGNATURE,    /* a signature does not verify */
    TRAIL_E_NOT_FOUND,    /* no such record, checkpoint or key */
    TRAIL_E_CLOSED,       /* the object is closed or shutting down */
    TRAIL_E_READONLY,     /* the store was opened read-only */
    TRAIL_E_LOCKED,       /* another process holds the store's writer lock */
    TRAIL_E_FAILED,       /* the store failed an earlier write; reopen it */
    TRAIL_E_RESERVED,     /* a trail_* event id, which only trail itself writes */
    TRAIL_E_TIME_SKEW,    /* the producer's time is too far from the time of arrival */
    TRAIL_E_SHORTER,      /* the store holds fewer records than its own files claim */
    TRAIL_E_TAMPERED,     /* a file the store holds open was removed or replaced */
    TRAIL_E_LAST
};

/*
 * trail_strerror - a text for any code returned by libtrail.
 *
 * Returns a static string for trail's own codes and strerror()'s text for
 * -errno values; never NULL. Thread-safe.
 */
const char *trail_strerror(int code);

/* ------------------------------------------------------------------------ */
/* Severity                                                                 */
/* ------------------------------------------------------------------------ */

/*
 * The severity scale. The numbers are the catalog's; 5 is unassigned (the
 * catalog skips it; trail infers TRACE=1 and DEBUG=2, see docs/severity.md).
 */
enum trail_severity {
    TRAIL_SEV_TRACE = 1,
    TRAIL_SEV_DEBUG = 2,
    TRAIL_SEV_INFO = 3,
    TRAIL_SEV_NOTICE = 4,
    TRAIL_SEV_WARNING = 6,
    TRAIL_SEV_ERROR = 7,
    TRAIL_SEV_CRITICAL = 8,
    TRAIL_SEV_ALERT = 9,
    TRAIL_SEV_EMERGENCY = 10
};

/* trail_severity_valid - 1 when sev is one of the nine levels, else 0. */
int trail_severity_valid(int sev);

/* trail_severity_name - "INFO", "WARNING", ...; NULL for a number off the scale. */
const char *trail_severity_name(int sev);

/*
 * trail_severity_parse - read a severity from text.
 *
 * Accepts a level name in any case ("warning"), a number on the scale ("6"),
 * or the catalog's "6 WARNING" form (number and name must agree).
 * Returns 0 and sets *ret_sev, or TRAIL_E_BAD_SEVERITY.
 */
int trail_severity_parse(const char *text, int *ret_sev);

/*
 * trail_severity_range_parse - read a severity filter into an inclusive range.
 *
 * expr is one of (LEVEL being anything trail_severity_parse() reads: a name
 * in any case or a number on the scale):
 *   "LEVEL" or "=LEVEL"   exactly that level
 *   ">=LEVEL" ">LEVEL"    that level and above / strictly above
 *   "<=LEVEL" "<LEVEL"    that level and below / strictly below
 *   "LOW..HIGH"           LOW to HIGH, both included ("NOTICE..ERROR", "4..7");
 *                         either side may be left out ("WARNING..", "..ERROR")
 * White space around the operator, the levels and ".." is ignored.
 * On success sets *ret_min and *ret_max to levels on the scale with
 * min <= max ("<WARNING" gives 1..4, since 5 is unassigned) and returns 0.
 * Returns TRAIL_E_BAD_SEVERITY for anything else, including an expression no
 * level satisfies (">EMERGENCY", "ERROR..NOTICE"); the outputs are then
 * untouched. Thread-safe.
 */
int trail_severity_range_parse(const char *expr, int *ret_min, int *ret_max);

/* trail_severity_to_syslog - RFC 5424 severity (0 EMERGENCY .. 7 DEBUG/TRACE); -1 off scale. */
int trail_severity_to_syslog(int sev);

/* trail_severity_to_cef - CEF Severity field (trail's number, 0..10); -1 off scale. */
int trail_severity_to_cef(int sev);

/* trail_severity_to_ocsf - OCSF severity_id (1 Informational .. 6 Fatal); -1 off scale. */
int trail_severity_to_ocsf(int sev);

/* trail_severity_to_ecs - ECS log.level text ("info", "warning", ...); NULL off scale. */
const char *trail_severity_to_ecs(int sev);

/* ------------------------------------------------------------------------ */
/* Catalog                                                                  */
/* ------------------------------------------------------------------------ */

/* Attribute types of the catalog's schemas. */
enum trail_type {
    TRAIL_TYPE_STRING = 1, /* UTF-8 text */
    TRAIL_TYPE_INT = 2,    /* signed 64-bit integer */
    TRAIL_TYPE_BOOL = 3,   /* true or false */
    TRAIL_TYPE_IP = 4,     /* IPv4 or IPv6 address */
    TRAIL_TYPE_TIME = 5,   /* instant, microseconds since the Unix epoch, UTC */
    TRAIL_TYPE_ENUM = 6    /* one of a declared set of strings */
};

/* trail_type_name - "string", "int", "bool", "ip", "time", "enum"; NULL otherwise. */
const char *trail_type_name(int type);

/* trail_type_parse - the reverse of trail_type_name; TRAIL_E_BAD_TYPE if unknown. */
int trail_type_parse(const char *name, int *ret_type);

#define TRAIL_ATTR_REQUIRED 0x01 /* validation fails when the attribute is missing */
#define TRAIL_ATTR_INDEXED  0x02 /* the store keeps an index on the attribute's values */

/* One attribute of an event's schema. Read-only. */
struct trail_attr_def {
    const char *key;                /* e.g. "duser" */
    uint8_t type;                   /* enum trail_type */
    uint8_t flags;                  /* TRAIL_ATTR_* */
    uint16_t n_enum;                /* number of enum_values (TRAIL_TYPE_ENUM only) */
    uint16_t key_len;               /* strlen(key) */
    const char *const *enum_values; /* the allowed values, or NULL */
    const char *doc;                /* one line saying what the value is */
};

/* One event of the catalog. Read-only. */
struct trail_event_def {
    const char *id;          /* e.g. "auth_entrypoints_saml_auth_failed" */
    const char *description; /* verbatim from the catalog, typos kept */
    uint8_t severity;        /* enum trail_severity */
    uint8_t custom;   /* 0 the identity server's catalog, 1 declared at run time, 2 trail's own */
    uint16_t n_attrs; /* number of attrs */
    const struct trail_attr_def *const *attrs; /* sorted by key (strcmp) */
    const char *note;                          /* an editor's note on the entry, or NULL */
};

#define TRAIL_DEF_BUILTIN 0 /* trail_event_def.custom: from the identity server's catalog */
#define TRAIL_DEF_CUSTOM  1 /* declared by the deployment (trail_catalog_add) */
#define TRAIL_DEF_OWN     2 /* trail's own events (ids trail_*; docs/events.md) */

/* Validation policy of a deployment. */
enum trail_policy {
    TRAIL_POLICY_STRICT = 0,  /* reject undeclared attributes and every schema violation */
    TRAIL_POLICY_LENIENT = 1, /* accept undeclared attributes (as strings); still reject
                                 unknown ids and declared attributes that are wrong */
    TRAIL_POLICY_OFF = 2      /* accept anything well-formed, unknown ids included */
};

/*
 * The largest record a store holds, in canonical bytes: each record is an
 * entry of the C2SP tlog-tiles entry bundles, whose length is a big-endian
 * uint16. max_record_bytes may not be set above it.
 */
#define TRAIL_RECORD_BYTES_MAX 65535u

/* Limits enforced by validation and by the decoders. */
struct trail_limits {
    uint32_t max_attrs;        /* attributes per event (default 64) */
    uint32_t max_key_len;      /* bytes per key (default 64) */
    uint32_t max_value_len;    /* bytes per value (default 8192) */
    uint32_t max_record_bytes; /* bytes of one encoded record (default and most 65535) */
};

struct trail_catalog;

/*
 * trail_catalog_new - a catalog holding the built-in events.
 *
 * The policy starts STRICT and the limits at their defaults. The caller owns
 * the catalog and frees it with trail_catalog_free() after every event made
 * from it is freed. Returns 0, or -ENOMEM.
 */
int trail_catalog_new(struct trail_catalog **ret_cat);

/* trail_catalog_free - free a catalog and its custom events. */
void trail_catalog_free(struct trail_catalog *cat);

/*
 * trail_catalog_set_policy - set the validation policy (enum trail_policy).
 * Returns 0, or -EINVAL for a value that is not a policy. Not thread-safe
 * against concurrent validation: set it before sharing the catalog.
 */
int trail_catalog_set_policy(struct trail_catalog *cat, int policy);

/* trail_catalog_policy - the current policy. */
int trail_catalog_policy(const struct trail_catalog *cat);

#ifndef TRAIL_DEFAULT_SKEW_FUTURE_US /* a build may move them: tests of a later date */
#define TRAIL_DEFAULT_SKEW_FUTURE_US (86400LL * 1000000) /* a day */
#endif
#ifndef TRAIL_DEFAULT_SKEW_PAST_US
#define TRAIL_DEFAULT_SKEW_PAST_US (366LL * 86400 * 1000000) /* a year */
#endif

/*
 * trail_catalog_set_time_skew - how far a producer's event time may lie from
 * the time trail receives the event: future_us ahead of it, past_us behind it
 * (0: no bound on that side). An event outside is stored with the problem
 * "time skew" listed in its record, or, with refuse set, refused with
 * TRAIL_E_TIME_SKEW. Only events that arrived through traild's inputs (input
 * http, syslog_*, cef_tcp, unix, follow) are checked: not a program's
 * appends to its own store (library), imports (history by design), nor
 * trail's own records. Defaults: a day ahead,
 * 366 days behind, stored with the problem. Returns 0, or -EINVAL for a
 * negative bound. Set it before sharing the catalog.
 */
int trail_catalog_set_time_skew(struct trail_catalog *cat, int64_t future_us, int64_t past_us,
                                int refuse);

/*
 * trail_catalog_set_limits - replace the limits. A zero field keeps the
 * current value. Returns 0, or -EINVAL when max_record_bytes is below 256
 * or above TRAIL_RECORD_BYTES_MAX.
 */
int trail_catalog_set_limits(struct trail_catalog *cat, const struct trail_limits *limits);

/* trail_catalog_limits - the limits in force. Valid while cat lives. */
const struct trail_limits *trail_catalog_limits(const struct trail_catalog *cat);

/*
 * trail_catalog_lookup - find an event by id.
 *
 * Returns the definition (owned by the catalog, valid while it lives) or NULL.
 * len may be (size_t)-1 for a NUL-terminated id. O(1).
 */
const struct trail_event_def *trail_catalog_lookup(const struct trail_catalog *cat, const char *id,
                                                   size_t len);

/* trail_catalog_count - the number of events, built-in and custom. */
size_t trail_catalog_count(const struct trail_catalog *cat);

/*
 * trail_catalog_at - the i-th event in id order (0 <= i < count), or NULL.
 * Custom events sort in among the built-in ones. Valid until the next
 * trail_catalog_add().
 */
const struct trail_event_def *trail_catalog_at(const struct trail_catalog *cat, size_t i);

/*
 * trail_catalog_add - declare a custom event.
 *
 * id:          lower-case [a-z0-9_], at most 128 bytes, not already declared.
 * severity:    a name or number as trail_severity_parse() reads it.
 * description: free text.
 * schema:      attribute declarations separated by ',' or ';', each
 *              "key:type[:required][:indexed]", with enum values as
 *              "key:enum(a|b|c)[:required]"; NULL or "" for none.
 *              Example: "duser:string:required:indexed, src:ip, kind:enum(a|b)".
 *
 * The catalog copies everything. Returns 0, TRAIL_E_BAD_ID, TRAIL_E_DUPLICATE,
 * TRAIL_E_BAD_SEVERITY, TRAIL_E_PARSE (schema), TRAIL_E_BAD_KEY, or -ENOMEM.
 */
int trail_catalog_add(struct trail_catalog *cat, const char *id, const char *severity,
                      const char *description, const char *schema);

/*
 * trail_attr_def_find - the attribute named key in an event's schema, or NULL.
 * len may be (size_t)-1 for a NUL-terminated key.
 */
const struct trail_attr_def *trail_attr_def_find(const struct trail_event_def *def, const char *key,
                                                 size_t len);

/* ------------------------------------------------------------------------ */
/* Events                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * An event: an id, the time, a severity, the host, a uuid, a sequence number
 * once stored, and typed attributes. Built by a producer, decoded from a wire
 * form, or read back from the store.
 */
struct trail_event;

/* A typed attribute value as returned by trail_event_attr_at(). */
struct trail_value {
    uint8_t type; /* enum trail_type */
    union {
        struct {
            const char *ptr; /* not NUL-terminated in general; see len */
            size_t len;
        } str;           /* STRING and ENUM */
        int64_t i;       /* INT */
        int b;           /* BOOL: 0 or 1 */
        int64_t time_us; /* TIME */
        struct {
            uint8_t family;   /* 4 or 6 */
            uint8_t addr[16]; /* network order; IPv4 in the first 4 bytes */
        } ip;
    } u;
};

/*
 * trail_event_new - an empty event of the given id.
 *
 * The id is looked up in cat. An unknown id is accepted here (so that a
 * decoder can report it with its context) and rejected by validation unless
 * the policy is OFF. The time is 0 (the store stamps it), the severity comes
 * from the catalog (INFO for an unknown id), host and uuid are unset.
 * The event keeps a pointer to cat. Caller frees with trail_event_free().
 * id NULL or "" makes a blank event (no id, which validation refuses) for
 * trail_event_parse_json(), _cef() or _syslog() to decode into.
 * Returns 0, TRAIL_E_BAD_ID (over 128 bytes), or -ENOMEM.
 */
int trail_event_new(const struct trail_catalog *cat, const char *id,
                    struct trail_event **ret_event);

/*
 * trail_event_reset - reuse an event for another id, keeping its memory.
 * Everything but the catalog is cleared. The fast path for producers that
 * emit in a loop. Returns 0, or TRAIL_E_BAD_ID (id empty or over 128 bytes;
 * then the attributes are cleared and the id is the old one).
 */
int trail_event_reset(struct trail_event *ev, const char *id, size_t id_len);

/* trail_event_free - free an event. */
void trail_event_free(struct trail_event *ev);

/* trail_event_clone - a deep copy. Caller frees. Returns 0 or -ENOMEM. */
int trail_event_clone(const struct trail_event *ev, struct trail_event **ret_copy);

/* Accessors. Strings are owned by the event and valid until it changes. */
const char *trail_event_id(const struct trail_event *ev);
const struct trail_event_def *trail_event_def(const struct trail_event *ev);   /* NULL if unknown */
const struct trail_catalog *trail_event_catalog(const struct trail_event *ev); /* made with */
/*
 * trail_event_prefetch - a hint, for a caller about to reuse ev after it sat
 * unused: start bringing its memory into the CPU cache (deep: its attribute
 * and string storage too, which reads ev itself). Changes nothing.
 */
void trail_event_prefetch(const struct trail_event *ev, int deep);
int trail_event_severity(const struct trail_event *ev);
int64_t trail_event_time(const struct trail_event *ev);     /* µs since epoch, 0 = unset */
uint64_t trail_event_seq(const struct trail_event *ev);     /* 0 = not stored */
const char *trail_event_host(const struct trail_event *ev); /* "" when unset */
int trail_event_uuid(const struct trail_event *ev,
                     uint8_t ret_uuid[16]); /* 0, or TRAIL_E_NOT_FOUND */

/* Setters. time in µs since the Unix epoch, UTC. */
void trail_event_set_time(struct trail_event *ev, int64_t time_us);
void trail_event_set_seq(struct trail_event *ev, uint64_t seq);
/* trail_event_set_severity - override the severity; TRAIL_E_BAD_SEVERITY off the scale.
 * Validation rejects a catalog event whose severity differs from the catalog's. */
int trail_event_set_severity(struct trail_event *ev, int sev);
/* trail_event_set_host - at most 255 bytes of UTF-8; TRAIL_E_VALUE_TOO_LONG, TRAIL_E_UTF8. */
int trail_event_set_host(struct trail_event *ev, const char *host, size_t len);
void trail_event_set_uuid(struct trail_event *ev, const uint8_t uuid[16]);
/* trail_event_gen_uuid - a random (version 4) uuid; 0 or -errno from the RNG. */
int trail_event_gen_uuid(struct trail_event *ev);
/* trail_uuid_format - u as 36 lower-case characters (8-4-4-4-12) and a NUL. */
void trail_uuid_format(const uint8_t u[16], char out[37]);
/* trail_key_valid - 1 when key is a non-empty run of [A-Za-z0-9_.-]. */
int trail_key_valid(const char *key, size_t len);
/* trail_id_valid - 1 when id is a non-empty run of [a-z0-9_] of at most 128 bytes. */
int trail_id_valid(const char *id, size_t len);
/* trail_uuid_parse - read the 36-character form (either case); 0, or TRAIL_E_PARSE. */
int trail_uuid_parse(const char *text, size_t len, uint8_t ret_uuid[16]);

/*
 * Provenance: where a record came from. The receiving side sets it (traild's
 * inputs, `trail import`, a program appending to its own store); no decoder
 * reads it from the event's bytes, so a sender cannot claim another input,
 * peer or principal. It is part of the record's canonical bytes, so the
 * Merkle tree covers it (docs/format.md, "Record").
 */
enum trail_input {
    TRAIL_INPUT_NONE = 0,       /* not said: records of format version 1 */
    TRAIL_INPUT_LIBRARY = 1,    /* a program appending to its own store (trail_store_append) */
    TRAIL_INPUT_IMPORT = 2,     /* trail import */
    TRAIL_INPUT_HTTP = 3,       /* POST /v1/events */
    TRAIL_INPUT_SYSLOG_UDP = 4, /* RFC 5424/3164 over UDP */
    TRAIL_INPUT_SYSLOG_TCP = 5, /* RFC 6587 over TCP */
    TRAIL_INPUT_SYSLOG_TLS = 6, /* RFC 5425 */
    TRAIL_INPUT_CEF_TCP = 7,    /* raw CEF lines over TCP */
    TRAIL_INPUT_UNIX = 8,       /* the Unix socket */
    TRAIL_INPUT_FOLLOW = 9,     /* a followed file; the input's name is its [follow NAME] */
    TRAIL_INPUT_TRAIL = 10,     /* trail itself: lifecycle, purges, refusals, rejected events */
    TRAIL_INPUT_LAST
};

/* A peer address: family 0 (none), 4 or 6; addr in network order; port in host order. */
struct trail_peer {
    uint8_t family;
    uint8_t addr[16];
    uint16_t port;
};

/* trail_input_name - "http", "syslog_tcp", ... for an enum trail_input; NULL when unknown. */
const char *trail_input_name(int input);
/* trail_input_parse - the enum trail_input that name names, or -1. */
int trail_input_parse(const char *name, size_t len);

/*
 * trail_event_set_input - the input the event came in by and, for
 * TRAIL_INPUT_FOLLOW, the input's name (at most 64 bytes of [A-Za-z0-9_.-];
 * NULL or "" otherwise). TRAIL_INPUT_TRAIL is refused (TRAIL_E_BAD_TYPE): only
 * trail_event_mark_own() gives it. Returns 0, TRAIL_E_BAD_TYPE or
 * TRAIL_E_VALUE_TOO_LONG.
 */
int trail_event_set_input(struct trail_event *ev, int input, const char *name, size_t len);
/* trail_event_set_peer - the sender's address; NULL or a family other than 4 and 6 clears it. */
void trail_event_set_peer(struct trail_event *ev, const struct trail_peer *peer);
/*
 * trail_event_set_principal - who authenticated the sender: a token's name
 * or a client certificate's subject. At most 255 bytes of UTF-8 (cut at a
 * character boundary). Returns 0 or TRAIL_E_UTF8.
 */
int trail_event_set_principal(struct trail_event *ev, const char *principal, size_t len);
/* trail_event_set_received - when trail received the event (µs); 0: the store's clock at append. */
void trail_event_set_received(struct trail_event *ev, int64_t time_us);
/*
 * trail_event_mark_own - mark ev as written by trail itself (input "trail").
 * For traild's and the store's own records only: no input path calls it, and
 * trail verify and the purge anchors trust a record's kind only when it
 * carries this mark. Events of the catalog's trail_* ids (trail's own) are
 * refused by validation without it.
 */
void trail_event_mark_own(struct trail_event *ev);
/* Provenance accessors; strings owned by ev, "" when unset. */
int trail_event_input(const struct trail_event *ev, const char **ret_name); /* enum trail_input */
const struct trail_peer *trail_event_peer(const struct trail_event *ev);    /* family 0: none */
const char *trail_event_principal(const struct trail_event *ev);
int64_t trail_event_received(const struct trail_event *ev); /* µs; 0 until stored */
int trail_event_is_own(const struct trail_event *ev);       /* 1: written by trail itself */
/*
 * trail_event_problems - what validation let through and listed (under the
 * lenient policy: required attributes missing, attributes not declared); ""
 * when none. Kept in the record.
 */
const char *trail_event_problems(const struct trail_event *ev);
/*
 * trail_event_requested_severity - the severity a decoded event's sender
 * gave when the catalog's replaced it (a catalog event's severity is the
 * catalog's); 0 when none was given or it was the catalog's.
 */
int trail_event_requested_severity(const struct trail_event *ev);
/*
 * trail_event_duplicate_of - after trail_store_append(): the seq of the
 * record that already holds this event's producer uuid when the event was
 * not stored again (its seq is then that one too); 0 when it was stored.
 */
uint64_t trail_event_duplicate_of(const struct trail_event *ev);
/* trail_event_input_text - the input as text: "syslog_tcp", "follow:pas", "trail"; "" for none.
 * NUL-terminated, at most 80 bytes; returns the length. */
size_t trail_event_input_text(const struct trail_event *ev, char out[80]);
/* trail_peer_address - the peer's address alone ("192.0.2.1", "2001:db8::1"); "" and 0 for none. */
size_t trail_peer_address(const struct trail_peer *peer, char out[48]);
/* trail_peer_format - "192.0.2.1:514" or "[2001:db8::1]:514" (NUL-terminated, at most 48 bytes). */
size_t trail_peer_format(const struct trail_peer *peer, char out[48]);

/*
 * Typed attribute setters. Each copies key and value into the event, replaces
 * an earlier value of the same key, and checks what can be checked alone:
 * the key's form and length, the value's length and UTF-8, and (for a key the
 * schema declares) that the type matches. Schema-wide checks (required keys,
 * undeclared keys under STRICT) are trail_event_validate()'s.
 * Return 0, TRAIL_E_BAD_KEY, TRAIL_E_KEY_TOO_LONG, TRAIL_E_VALUE_TOO_LONG,
 * TRAIL_E_UTF8, TRAIL_E_BAD_TYPE, TRAIL_E_BAD_ENUM, TRAIL_E_TOO_MANY_ATTRS
 * or -ENOMEM. On failure trail_event_error() names the key and the problem.
 */
int trail_event_set_string(struct trail_event *ev, const char *key, const char *value, size_t len);
int trail_event_set_int(struct trail_event *ev, const char *key, int64_t value);
int trail_event_set_bool(struct trail_event *ev, const char *key, int value);
int trail_event_set_ip(struct trail_event *ev, const char *key, const char *text, size_t len);
int trail_event_set_time_attr(struct trail_event *ev, const char *key, int64_t time_us);

/*
 * trail_event_set_text - set an attribute from its text form, parsed by the
 * declared type (int: decimal; bool: true/false; ip: dotted quad or RFC 5952
 * text; time: RFC 3339; enum: one of the values). An undeclared key is set as
 * a string. klen may be (size_t)-1 for a NUL-terminated key. Returns as the
 * typed setters.
 */
int trail_event_set_text(struct trail_event *ev, const char *key, size_t klen, const char *value,
                         size_t vlen);

/* trail_event_unset - remove an attribute; 0, or TRAIL_E_NOT_FOUND. */
int trail_event_unset(struct trail_event *ev, const char *key);

/* trail_event_attr_count - the number of attributes set. */
size_t trail_event_attr_count(const struct trail_event *ev);

/*
 * trail_event_attr_at - the i-th attribute in key order (strcmp).
 * *ret_key and the value's pointers are owned by the event and valid until it
 * changes. Returns 0, or TRAIL_E_NOT_FOUND when i is out of range.
 */
int trail_event_attr_at(const struct trail_event *ev, size_t i, const char **ret_key,
                        struct trail_value *ret_value);

/* trail_event_attr_get - the attribute named key; 0, or TRAIL_E_NOT_FOUND. */
int trail_event_attr_get(const struct trail_event *ev, const char *key,
                         struct trail_value *ret_value);

/*
 * trail_value_format - the text form of a value (what trail_event_set_text()
 * reads back): decimal, "true"/"false", RFC 5952 IP text, RFC 3339 time with
 * microseconds in UTC. Writes at most size bytes including the NUL and
 * returns the length it needed (as snprintf); strings are copied verbatim.
 */
size_t trail_value_format(const struct trail_value *v, char *buf, size_t size);

/*
 * trail_event_validate - check the event against its catalog's schema,
 * policy and limits.
 *
 * Returns 0, or the first problem found: TRAIL_E_UNKNOWN_EVENT,
 * TRAIL_E_MISSING_ATTR, TRAIL_E_UNDECLARED_ATTR, TRAIL_E_BAD_SEVERITY,
 * TRAIL_E_TOO_MANY_ATTRS, ... with trail_event_error() naming it.
 */
int trail_event_validate(struct trail_event *ev);

/*
 * trail_event_error - the text of the last problem found on this event
 * ("attribute 'src': not an IP address"), or "" when none. Owned by the
 * event, valid until its next call.
 */
const char *trail_event_error(const struct trail_event *ev);

/* ------------------------------------------------------------------------ */
/* Time                                                                     */
/* ------------------------------------------------------------------------ */

/* trail_now - the wall clock in µs since the Unix epoch. */
int64_t trail_now(void);

/*
 * trail_time_format - RFC 3339 UTC with microseconds, "2026-11-24T08:59:58.150000Z".
 * buf must hold 32 bytes. Returns the length written.
 */
size_t trail_time_format(int64_t time_us, char buf[32]);

/*
 * trail_time_parse - read RFC 3339 (with 'T' or ' ', optional fraction of up
 * to 9 digits, 'Z' or a ±hh:mm offset). Returns 0 and µs since the epoch, or
 * TRAIL_E_PARSE.
 */
int trail_time_parse(const char *text, size_t len, int64_t *ret_time_us);

/*
 * trail_duration_parse - read a duration "N" followed by one unit, s, m, h,
 * d (86,400 s) or w (7 d): "30s", "15m", "7d". N is decimal digits only, no
 * sign; a duration too long for int64 µs is refused. The one form of every
 * relative time of trail: query ranges (--since 7d), rule timespans.
 * Returns 0 and *ret_us, or TRAIL_E_PARSE with *ret_us untouched.
 */
int trail_duration_parse(const char *text, size_t len, int64_t *ret_us);

/* ------------------------------------------------------------------------ */
/* Buffers                                                                  */
/* ------------------------------------------------------------------------ */

/*
 * A growable byte buffer that the encoders append to. Zero-initialise it
 * ({0}); free with trail_buf_free(). data is NUL-terminated after every
 * successful append (the NUL is not counted in len).
 */
struct trail_buf {
    char *data;
    size_t len;
    size_t cap;
};

/* trail_buf_reserve - make room for n more bytes. 0 or -ENOMEM. */
int trail_buf_reserve(struct trail_buf *b, size_t n);
/* trail_buf_append - append n bytes. 0 or -ENOMEM. */
int trail_buf_append(struct trail_buf *b, const void *data, size_t n);
/* trail_buf_reset - set len to 0, keep the memory. */
void trail_buf_reset(struct trail_buf *b);
/*
 * trail_file_replace - replace the file at path with len bytes of data so
 * that a crash leaves the old contents or the new, never a mix: written to
 * a temporary file beside it (path.PID.N.tmp, created with mode), synced,
 * renamed over path, and the directory synced. Returns 0, or -errno (the
 * temporary file is removed; path is as it was).
 */
int trail_file_replace(const char *path, const void *data, size_t len, unsigned mode);

/*
 * A sink's durable cursor (DIR/sinks/NAME.cursor; the format is in
 * lib/store/sink_cursor.c and docs/sinks.md): where traild's sink NAME stands.
 */
struct trail_sink_cursor {
    char type[32];      /* the sink's type */
    char store[33];     /* the id of the store it delivers from, 32 hex digits ("" if none) */
    uint64_t seq;       /* the last seq delivered or filtered out */
    uint64_t witnessed; /* the last tree size sent to a witness */
    uint64_t delivered; /* events delivered since the file began */
    int64_t time_us;    /* when it was written */
};

/*
 * trail_sink_cursor_read - read the cursor file at path into *ret. Returns
 * 0, -errno (-ENOENT: no cursor yet), or TRAIL_E_PARSE when it is not a
 * cursor (no magic line or no seq); *ret is untouched on failure.
 */
int trail_sink_cursor_read(const char *path, struct trail_sink_cursor *ret);

/* trail_sink_cursor_write - replace the cursor file at path (trail_file_replace). 0 or -errno. */
int trail_sink_cursor_write(const char *path, const struct trail_sink_cursor *c);

/* trail_buf_free - release the memory and zero the buffer. */
void trail_buf_free(struct trail_buf *b);

/* ------------------------------------------------------------------------ */
/* Safe text (lib/codec/textesc.c, the table in docs/wire-formats.md)             */
/* ------------------------------------------------------------------------ */

/*
 * What every text output (CEF and event.log, syslog structured data and MSG,
 * CSV, tables) writes instead of an unsafe character, so that a value can
 * neither run a terminal's escape sequences nor break a line or a field.
 * Unsafe are the C0 controls U+0000..U+001F, DEL, the C1 controls
 * U+0080..U+009F, U+2028 and U+2029, and any byte that does not start
 * well-formed UTF-8.
 */
#define TRAIL_ESC_NL  0x01 /* write LF as \n and CR as \r (else \u000a, \u000d) */
#define TRAIL_ESC_TAB 0x02 /* write TAB as \t (else \u0009) */

/*
 * trail_text_escape - append s[0..n) to out with each unsafe code point
 * written as \uXXXX (lower-case hex), LF and CR as \n and \r with
 * TRAIL_ESC_NL, TAB as \t with TRAIL_ESC_TAB, a byte that is not UTF-8 as
 * \xHH, and each ASCII byte of specials (may be NULL) after a backslash.
 * Everything else is copied. The output is at most 6 * n bytes and never
 * holds an unsafe character. Returns 0 or -ENOMEM (out is then as it was).
 */
int trail_text_escape(struct trail_buf *out, const char *s, size_t n, const char *specials,
                      unsigned flags);

/*
 * trail_text_flatten - append s[0..n) to out with each unsafe code point,
 * each byte that is not UTF-8 and each ASCII byte of specials (may be NULL)
 * replaced by the one byte repl. The output is at most n bytes. Returns 0 or
 * -ENOMEM.
 */
int trail_text_flatten(struct trail_buf *out, const char *s, size_t n, const char *specials,
                       char repl);

/*
 * trail_text_csv_cell - append s[0..n) as one CSV cell (RFC 4180) of text
 * that came from an event: escaped as trail_text_escape(.., TRAIL_ESC_NL)
 * does, so that a row is one line; quoted when it holds ',' or '"' ('"'
 * doubled); and when it starts with '=', '+', '-', '@', TAB or CR, quoted
 * with a "'" before it (OWASP's defence against CSV injection: a
 * spreadsheet shows the text instead of running a formula). Returns 0 or
 * -ENOMEM (out is then as it was).
 */
int trail_text_csv_cell(struct trail_buf *out, const char *s, size_t n);

/* trail_text_is_safe - 1 when s[0..n) holds no unsafe character (as above), else 0. */
int trail_text_is_safe(const char *s, size_t n);

/* ------------------------------------------------------------------------ */
/* Encoders and decoders                                                    */
/* ------------------------------------------------------------------------ */

/*
 * trail_event_to_json - append the canonical JSON form (SPEC.md section 3):
 * {"id":..,"time":..,"severity":..,"severity_name":..,"host":..,"seq":..,
 *  "uuid":..,"attrs":{..}} with keys in that order, attributes in key order,
 * no newline. Unset time, host, seq and uuid are left out; "attrs" is always
 * there. int attributes are JSON numbers, bool true/false, the other types
 * strings (time as RFC 3339 UTC with microseconds). Strings escape '"', '\'
 * and the unsafe characters of trail_text_escape() (controls, DEL, C1,
 * U+2028, U+2029, as \uXXXX) and nothing else; a byte of the id that is not
 * UTF-8 is written as \ufffd. On failure out is as it was.
 * Returns 0 or -ENOMEM. See docs/wire-formats.md.
 */
int trail_event_to_json(const struct trail_event *ev, struct trail_buf *out);

/*
 * trail_event_csv_header - append the header row of trail_event_to_csv()'s
 * rows, no newline: seq,time,severity,severity_name,id,host,uuid,attrs,
 * received,input,peer,principal,origin,problems. Returns 0 or -ENOMEM.
 */
int trail_event_csv_header(struct trail_buf *out);

/*
 * trail_event_to_csv - append ev as one CSV row (RFC 4180), no newline, in
 * the columns of trail_event_csv_header(): times RFC 3339 UTC with
 * microseconds, attrs the JSON object of trail_event_to_json(), origin
 * "trail" for trail's own records. Every cell of event text goes through
 * trail_text_csv_cell() (one line, quoted, "'" before a formula); the
 * numbers and times trail writes itself are never quoted. The one CSV
 * writer of events (`trail query --format csv`, GET /v1/events/export).
 * On failure out is as it was. Returns 0 or -ENOMEM. See docs/wire-formats.md.
 */
int trail_event_to_csv(const struct trail_event *ev, struct trail_buf *out);

/*
 * trail_json_string - append s[0..n) as a JSON string, quotes included, escaped
 * as trail_event_to_json() escapes its strings: '"', '\\' and the unsafe
 * characters of trail_text_escape() as \uXXXX, a byte that is not UTF-8 as
 * \ufffd. The one JSON string writer of trail (the SIEM mappings and traild's
 * answers use it too). Returns 0 or -ENOMEM.
 */
int trail_json_string(struct trail_buf *out, const char *s, size_t n);

/*
 * trail_event_from_json - decode one JSON object into a new event.
 *
 * Reads "id" (required, lower-case [a-z0-9_]), "attrs" (a flat object), and
 * optionally "time" (RFC 3339, years 0000..9999), "host", "uuid", "seq",
 * "severity" and "severity_name" (which must agree). Any other member, a
 * member given twice, or a key given twice in attrs is an error. In attrs a
 * string is read as the declared type's text (trail_event_set_text()), a
 * number must be an integer that fits int64 (set as int), true/false set a
 * bool, null means the attribute is absent; objects and arrays are refused.
 * A catalog event's severity is the catalog's; "severity" sets it only for
 * an id the catalog does not know. The result is not yet validated as a
 * whole (call trail_event_validate()). White space may follow the object,
 * nothing else. Input over the catalog's max_record_bytes is TRAIL_E_TOO_LARGE.
 *
 * Returns 0 and a new event the caller frees, or TRAIL_E_PARSE, TRAIL_E_UTF8,
 * TRAIL_E_BAD_ID, TRAIL_E_DUPLICATE, TRAIL_E_BAD_SEVERITY, a setter's code
 * (TRAIL_E_BAD_TYPE, ...) or -ENOMEM; then *ret_event is untouched and err
 * (if not NULL, size errlen) says "byte N: <problem>". Thread-safe.
 */
int trail_event_from_json(const struct trail_catalog *cat, const char *data, size_t len,
                          struct trail_event **ret_event, char *err, size_t errlen);

/*
 * trail_event_from_stored_json - trail_event_from_json() for an event that
 * trail stored and sent back (GET /v1/events): it keeps the provenance
 * members (received, input, peer, principal, origin, problems) that
 * trail_event_from_json() drops. For clients reading a traild they trust,
 * never for ingest: a sender could claim any provenance with it.
 */
int trail_event_from_stored_json(const struct trail_catalog *cat, const char *data, size_t len,
                                 struct trail_event **ret_event, char *err, size_t errlen);

/* The most hops a relayed event may have come through (docs/format.md "Relayed records"). */
#define TRAIL_MAX_HOPS 8

/*
 * trail_event_parse_relayed_json - decode one event that another trail
 * forwarded (traild's `type = trail` sink) into ev, for a receiver that has
 * authenticated the sender as a relay. data is the event as the sender
 * stored it (trail_event_to_json(): with its "seq", "uuid", "received",
 * "input", "peer", "principal" and "via"); origin is the sender's store
 * origin (trail_store_origin()). The sender's provenance becomes the last
 * hop of ev's via list (after the hops it already had); ev's own
 * provenance is left unset, for the receiver to set as for any event.
 * Refused (TRAIL_E_PARSE, err says why): no uuid, no seq, no received time
 * or input, trail's own records ("origin":"trail"), a bad origin, or more
 * than TRAIL_MAX_HOPS hops (TRAIL_E_TOO_LARGE). Otherwise as
 * trail_event_parse_json(), which reads the same object without any of
 * the sender's provenance.
 */
int trail_event_parse_relayed_json(struct trail_event *ev, const char *data, size_t len,
                                   const char *origin, char *err, size_t errlen);

/* trail_event_hops - how many relays the event came through (its via list; 0 for most). */
int trail_event_hops(const struct trail_event *ev);

/*
 * trail_event_via_text - append the event's via list (the relays it came
 * through, first hop first) as one line of text for people to read:
 * "ORIGIN#SEQ INPUT@PEER PRINCIPAL" per hop (peer and principal only when
 * the hop has them), hops joined by " > ", every field escaped as
 * trail_text_escape() does (so no hop can add a line or drive a terminal).
 * Appends nothing for an event that came through no relay. Returns 0 or
 * -ENOMEM.
 */
int trail_event_via_text(const struct trail_event *ev, struct trail_buf *out);

/*
 * trail_event_parse_json - trail_event_from_json() into an existing event,
 * for an input that decodes item after item: ev's content is replaced, its
 * catalog (the one trail_event_new() was given) and its memory are kept, so
 * that once ev has grown to the items' size decoding allocates nothing.
 * ev is made with trail_event_new(cat, NULL, ..) (blank) or any id.
 * Returns as trail_event_from_json(), with the same codes and messages in
 * err; on failure ev is left blank (no id, no attributes), ready for the
 * next item. Not thread-safe on one ev; distinct events are independent.
 */
int trail_event_parse_json(struct trail_event *ev, const char *data, size_t len, char *err,
                           size_t errlen);

/* Options of the CEF encoder. NULL means the defaults noted. */
struct trail_cef_opts {
    const char *vendor;  /* "PhenixID" */
    const char *product; /* "PAS" */
    const char *version; /* TRAIL_VERSION_STRING */
    int log_prefix;      /* 1: the event.log prefix "2025-04-23 16:14:23,508 [EVENT]  INFO: "
                            followed by "ISO-time host " before "CEF:0|..." (default 0) */
    int utc_offset_min;  /* offset for the prefix and ISO time, minutes east of UTC (0) */
    int provenance;      /* 1: a stored event's provenance as CEF keys: rt (received, ms),
                            dvc (the sender's address), cs5/cs5Label=trailPrincipal,
                            cs6/cs6Label=trailInput (default 0: the identity server's
                            own event.log form, which reads back as the same event) */
};

/*
 * trail_event_to_cef - append one CEF line (no newline), extension keys in
 * alphabetical order, declared but missing attributes as "key=null".
 * Header fields escape '\' and '|'; extension values escape '\' and '=' and
 * write newlines as \n and \r, so that no value can add a field or a line;
 * in both, other unsafe characters are written as trail_text_escape() does
 * (\uXXXX, \xHH), so that no line drives a terminal. With log_prefix, the
 * log time has milliseconds and the ISO time a fraction only when the time
 * is not a whole millisecond; the host is one token (spaces and unsafe
 * characters as '_', "-" when unset). On failure out is as it was. Returns 0, -EINVAL (an offset
 * beyond +-23:59) or -ENOMEM. See docs/wire-formats.md.
 */
int trail_event_to_cef(const struct trail_event *ev, const struct trail_cef_opts *opts,
                       struct trail_buf *out);

/*
 * trail_event_from_cef - decode one CEF line, with or without the event.log
 * prefix ("<log time> [EVENT]  <LEVEL>: <ISO time> <host> CEF:0|..."); one
 * trailing "\n" or "\r\n" is allowed, any other line break is an error.
 * The event id is the CEF Signature ID. The severity is the catalog's; the
 * CEF Severity sets it only for an id the catalog does not know (and must
 * then be on trail's scale). With the prefix, the time is the ISO time (plus
 * the log time's milliseconds when the ISO time has whole seconds and both
 * show the same wall clock) and the host is the prefix's ("-": none); without
 * it both stay unset for the caller (e.g. the syslog input) to fill in.
 * Extension values run to the next " key=", are unescaped (\\ \= \| \n \r
 * and the \uXXXX of an unsafe character; any other backslash is kept)
 * and read as trail_event_set_text() does; "key=null" means the attribute
 * is absent, so a string that is exactly "null" does not survive a round
 * trip. A key given twice is an error. Errors as trail_event_from_json().
 */
int trail_event_from_cef(const struct trail_catalog *cat, const char *data, size_t len,
                         struct trail_event **ret_event, char *err, size_t errlen);

/*
 * trail_event_parse_cef - trail_event_from_cef() into an existing event:
 * replaces ev's content and keeps its catalog and memory, as
 * trail_event_parse_json() does. Same codes and messages as
 * trail_event_from_cef(); on failure ev is left blank.
 */
int trail_event_parse_cef(struct trail_event *ev, const char *data, size_t len, char *err,
                          size_t errlen);

/* Options of the syslog encoder. NULL means the defaults noted. */
struct trail_syslog_opts {
    int facility;      /* 1..23, default (and 0) 13 (log audit); 0 "kern" is not for programs */
    const char *app;   /* APP-NAME, default "trail" */
    const char *sd_id; /* SD-ID of the event's element, default "trail@32473" */
    int octet_count;   /* 1: prefix "LEN " for TCP octet-counting framing (default 0) */
};

/*
 * trail_event_to_syslog - append an RFC 5424 message (no newline):
 * <PRI>1 TIME HOST APP - MSGID [trail@32473 id=".." seq=".." uuid=".." key=".." ...] DESCRIPTION
 * MSGID is the event id cut to 32 characters (the id param has it whole);
 * TIME and HOST are "-" when unset, HOST bytes outside printable US-ASCII
 * are '_'. SD-PARAM values escape '"', '\' and ']'. A key that cannot be a
 * PARAM-NAME (over 32 bytes, or id, seq, uuid, or of the form a.N or k.N)
 * is written as k.N="key" a.N="value", N = 1, 2, ... Whatever octet_count
 * says, unsafe characters in values and MSG (controls, LF and CR included)
 * are written as trail_text_escape() does (\uXXXX, \xHH), so the message
 * is always one line and drives no terminal.
 * On failure out is as it was. Returns 0, -EINVAL (facility or sd_id) or
 * -ENOMEM. See docs/wire-formats.md.
 */
int trail_event_to_syslog(const struct trail_event *ev, const struct trail_syslog_opts *opts,
                          struct trail_buf *out);

/* ------------------------------------------------------------------------ */
/* Mappings for SIEMs (lib/codec/mapping.c, field by field in docs/sinks.md)      */
/* ------------------------------------------------------------------------ */

/* The field mappings a sink may apply to its JSON output. */
enum trail_mapping {
    TRAIL_MAPPING_NONE = 0, /* trail's own JSON (trail_event_to_json) */
    TRAIL_MAPPING_OCSF = 1, /* OCSF 1.1 Authentication, class_uid 3002 */
    TRAIL_MAPPING_ECS = 2   /* Elastic Common Schema 8.x */
};

/*
 * trail_mapping_parse - "none", "ocsf" or "ecs" (any case) into *ret_mapping.
 * Returns 0, or -EINVAL (untouched).
 */
int trail_mapping_parse(const char *name, int *ret_mapping);

/*
 * trail_event_outcome - what the event id says of the outcome, from its
 * words: 1 success ("successful", "success", "ok", "validated", "accepted",
 * "accessgranted", ...), 2 failure ("failed", "failure", "cancelled",
 * "declined", "rejected", "incorrect...", "...denied", "...failed"), 0 unknown
 * (started, created, ...). The numbers are OCSF's status_id.
 */
int trail_event_outcome(const struct trail_event *ev);

/*
 * trail_event_to_ocsf - append one JSON object (no newline) of OCSF class
 * 3002 Authentication: class, category, activity (Logon for sign-in events,
 * Logoff for logouts, Other with the event id as activity_name otherwise),
 * type_uid, status from trail_event_outcome(), severity_id, time (ms) and
 * time_dt, message (the catalog description), metadata (uid = uuid,
 * sequence = seq, event_code = id, correlation_uid = phxTraceId, product),
 * user, src_endpoint, dst_endpoint, http_request, service, auth_protocol,
 * and every attribute verbatim under "unmapped". Keys are fixed; strings
 * are escaped as trail_event_to_json() does. On failure out is as it was.
 * Returns 0 or -ENOMEM.
 */
int trail_event_to_ocsf(const struct trail_event *ev, struct trail_buf *out);

/*
 * trail_event_to_ecs - append one JSON document (no newline) in Elastic
 * Common Schema field names: @timestamp, message, event.* (action = id,
 * id = uuid, sequence, outcome, category, type, severity, reason), log.level,
 * host.name, user.name, source.*, destination.*, user_agent.original,
 * http.request.method, url.original, trace.id, service.target.name, and
 * every attribute verbatim under trail.attrs. On failure out is as it was.
 * Returns 0 or -ENOMEM.
 */
int trail_event_to_ecs(const struct trail_event *ev, struct trail_buf *out);

/*
 * trail_event_to_mapped - trail_event_to_json(), trail_event_to_ocsf() or
 * trail_event_to_ecs() by mapping (enum trail_mapping). -EINVAL for another.
 */
int trail_event_to_mapped(const struct trail_event *ev, int mapping, struct trail_buf *out);

/* ------------------------------------------------------------------------ */
/* Reading syslog (lib/codec/syslog_parse.c)                                      */
/* ------------------------------------------------------------------------ */

/*
 * A parsed syslog message. Every pointer points into the buffer that was
 * parsed and is valid as long as it is; a field that is nil ("-") or absent
 * has length 0. Not NUL-terminated.
 */
struct trail_syslog_msg {
    int rfc;          /* 5424 or 3164 */
    int facility;     /* 0..23 */
    int severity;     /* syslog's scale, 0 emergency .. 7 debug */
    int64_t time_us;  /* TIMESTAMP, µs since the epoch; 0 when nil or absent */
    const char *host; /* HOSTNAME */
    size_t host_len;
    const char *app; /* APP-NAME; RFC 3164: the TAG */
    size_t app_len;
    const char *procid; /* PROCID; RFC 3164: the [pid] after the tag */
    size_t procid_len;
    const char *msgid; /* MSGID (RFC 5424 only) */
    size_t msgid_len;
    const char *sd; /* STRUCTURED-DATA as sent, "[...]..." (RFC 5424 only) */
    size_t sd_len;
    const char *msg; /* MSG, a leading UTF-8 BOM removed; RFC 3164: after "tag:" */
    size_t msg_len;
    const char *content; /* RFC 3164: tag and message as sent; RFC 5424: as msg */
    size_t content_len;
};

/*
 * trail_syslog_parse_5424 - parse one RFC 5424 message (without framing).
 * Checks the whole header and the structured data's syntax; MSG is taken as
 * is. Returns 0 and fills *ret_msg, or TRAIL_E_PARSE. Thread-safe.
 */
int trail_syslog_parse_5424(const char *data, size_t len, struct trail_syslog_msg *ret_msg);

/*
 * trail_syslog_parse_3164 - parse one RFC 3164 (BSD) message, leniently as
 * RFC 3164 section 4.3 asks of a receiver: "<PRI>" is required; the
 * "Mmm dd hh:mm:ss" timestamp (local time, year guessed: this year, or last
 * year when that would be more than a day ahead) or an RFC 3339 one, the
 * HOSTNAME and the "tag[pid]:" are read when present. Returns 0 or
 * TRAIL_E_PARSE (no valid PRI). Thread-safe.
 */
int trail_syslog_parse_3164(const char *data, size_t len, struct trail_syslog_msg *ret_msg);

/*
 * trail_syslog_parse - parse a message of either kind: RFC 5424 when a
 * VERSION and a space follow PRI, RFC 3164 otherwise. Returns as above.
 */
int trail_syslog_parse(const char *data, size_t len, struct trail_syslog_msg *ret_msg);

/*
 * A cursor over structured data that trail_syslog_parse_5424() accepted:
 *
 *     struct trail_syslog_sd sd;
 *     trail_syslog_sd_init(&sd, msg.sd, msg.sd_len);
 *     while (trail_syslog_sd_next_element(&sd, &id, &id_len) == 1)
 *         while (trail_syslog_sd_next_param(&sd, &name, &nl, &value, &vl) == 1)
 *             ... value is raw: unescape with trail_syslog_sd_unescape() ...
 *
 * Copying the struct saves a position. Fields are private.
 */
struct trail_syslog_sd {
    const char *p;
    const char *end;
    int in_element;
};

/* trail_syslog_sd_init - start a cursor over sd[0..len). */
void trail_syslog_sd_init(struct trail_syslog_sd *sd, const char *data, size_t len);

/*
 * trail_syslog_sd_next_element - move to the next SD-ELEMENT (skipping the
 * rest of the current one). Returns 1 and its SD-ID, 0 at the end, or
 * TRAIL_E_PARSE for malformed data.
 */
int trail_syslog_sd_next_element(struct trail_syslog_sd *sd, const char **ret_id, size_t *ret_len);

/*
 * trail_syslog_sd_next_param - the next PARAM-NAME and raw PARAM-VALUE (the
 * text between the quotes, escapes kept) of the current element. Returns 1,
 * 0 at the element's end, or TRAIL_E_PARSE.
 */
int trail_syslog_sd_next_param(struct trail_syslog_sd *sd, const char **ret_name,
                               size_t *ret_name_len, const char **ret_value, size_t *ret_value_len);

/*
 * trail_syslog_sd_unescape - remove RFC 5424's escapes (\" \\ \]) from a raw
 * PARAM-VALUE into out (room for len bytes; not NUL-terminated), and turn
 * the \uXXXX that trail_event_to_syslog() writes for an unsafe character
 * (trail_text_escape()) back into it. Any other backslash is kept. Returns
 * the length written.
 */
size_t trail_syslog_sd_unescape(const char *value, size_t len, char *out);

/* Framing modes of a byte stream (RFC 6587). */
enum trail_frame_mode {
    TRAIL_FRAME_AUTO = 0, /* per frame: octet counting when it starts with a digit 1-9, else LF */
    TRAIL_FRAME_LF = 1    /* LF-terminated lines only (raw CEF, NDJSON) */
};

/*
 * The state of one stream's framing. Initialise with trail_syslog_framer_init();
 * fields are private. Not thread-safe (one per connection).
 */
struct trail_syslog_framer {
    int mode;
    size_t max_frame;
    size_t skip;      /* bytes of an oversize octet-counted frame still to discard */
    int discard_line; /* discarding to the next LF (or RFC 5424 HEADER) after an oversize frame */
};

/* trail_syslog_framer_init - mode is enum trail_frame_mode; max_frame the largest message. */
void trail_syslog_framer_init(struct trail_syslog_framer *f, int mode, size_t max_frame);

/*
 * trail_syslog_framer_next - find the next message in buf[0..len), the
 * unconsumed bytes of a stream. Always sets *ret_used, the bytes to drop
 * from the front of buf before the next call (which may be 0). Returns:
 *   1  a message: *ret_msg and *ret_len point into buf (no LF, no trailing CR);
 *   0  no whole message yet: read more and call again;
 *   TRAIL_E_TOO_LARGE  a frame over max_frame, being discarded (the stream
 *      continues after it);
 *   TRAIL_E_PARSE  a malformed octet count; the framer discards to the next LF.
 * LF, CR and NUL between frames are skipped. In TRAIL_FRAME_AUTO, an
 * LF-framed RFC 5424 message also ends where a whole RFC 5424 HEADER starts
 * in its MSG (never inside its STRUCTURED-DATA): a sender that writes no LF
 * runs messages together (docs/wire-formats.md).
 */
int trail_syslog_framer_next(struct trail_syslog_framer *f, const char *buf, size_t len,
                             const char **ret_msg, size_t *ret_len, size_t *ret_used);

/*
 * trail_syslog_framer_flush - at the end of a stream, the last message when
 * buf holds one without its final LF. Returns 1 and the message, 0 when
 * nothing is left, TRAIL_E_PARSE for an octet-counted frame cut short, or
 * TRAIL_E_TOO_LARGE.
 */
int trail_syslog_framer_flush(struct trail_syslog_framer *f, const char *buf, size_t len,
                              const char **ret_msg, size_t *ret_len);

/*
 * trail_event_from_syslog - decode a syslog message (RFC 5424 or 3164) that
 * carries a trail event, in the first of these forms that is present:
 *   1. an RFC 5424 SD-ELEMENT [trail@32473 ...] as trail_event_to_syslog()
 *      writes it: the id from its "id" param (else MSGID), "uuid", the
 *      attributes as params (a "k.N"/"a.N" pair for a key that is not an
 *      SD-NAME), "seq" ignored;
 *   2. a JSON object as MSG (trail_event_from_json());
 *   3. a CEF payload: "CEF:0|..." anywhere in the message, or the whole
 *      event.log line (trail_event_from_cef()).
 * The HOSTNAME and TIMESTAMP fill the event's host and time when the payload
 * has none. Returns 0 and a new event (caller frees; not yet validated), or
 * TRAIL_E_PARSE, TRAIL_E_TOO_LARGE (over the catalog's max_record_bytes) or
 * a setter's error, with err (if not NULL, size errlen) naming the problem.
 */
int trail_event_from_syslog(const struct trail_catalog *cat, const char *data, size_t len,
                            struct trail_event **ret_event, char *err, size_t errlen);

/*
 * trail_event_parse_syslog - trail_event_from_syslog() into an existing
 * event: replaces ev's content and keeps its catalog and memory, as
 * trail_event_parse_json() does. Same codes and messages as
 * trail_event_from_syslog(); on failure ev is left blank.
 */
int trail_event_parse_syslog(struct trail_event *ev, const char *data, size_t len, char *err,
                             size_t errlen);

/* ------------------------------------------------------------------------ */
/* Client of traild (lib/client/client.c)                                          */
/* ------------------------------------------------------------------------ */

/*
 * Options of a connection to traild (trail_client_open, trail_client_send).
 * Zero-initialise; NULL means the defaults. The strings are read when a
 * connection is made, so they must outlive the client.
 *
 * https:// URLs speak TLS (1.2 or later, OpenSSL): traild's certificate
 * chain is checked against ca_file, or when that is NULL against the
 * system's store (Debian's /etc/ssl/certs, or the file SSL_CERT_FILE
 * names), and its name against the URL's host (or server_name); the name
 * goes out as SNI. cert_file and key_file give a client certificate for a
 * traild that asks for one ([tls] http_ca).
 */
struct trail_client_opts {
    int timeout_ms;          /* the longest wait at any step (connect, TLS, send, each read);
                                default 30000 */
    const char *token;       /* sent as "Authorization: Bearer TOKEN", or NULL */
    const char *ca_file;     /* PEM file of the CA certificates to trust, or NULL */
    const char *cert_file;   /* PEM client certificate (chain), or NULL */
    const char *key_file;    /* its PEM private key; NULL: in cert_file */
    const char *server_name; /* the name traild's certificate must hold; NULL: the host */
    int insecure;            /* 1: do not check traild's certificate (tests only) */
};

/* What traild answered for one event. */
struct trail_client_result {
    int accepted;     /* 1: stored and durable; 0: rejected */
    uint64_t seq;     /* the seq traild assigned (accepted only) */
    uint8_t uuid[16]; /* the event's uuid as stored (accepted only) */
    char error[256];  /* why it was rejected, as traild says it (rejected only) */
    int duplicate;    /* 1: its uuid was stored already, at seq; it was not stored again */
};

/*
 * trail_client_send - send events to a running traild and wait for its
 * acknowledgement.
 *
 * url is "http://HOST[:PORT][/PREFIX]" or "https://..." (TLS as the opts
 * say). The events go in one POST PREFIX/v1/events as NDJSON; traild
 * answers once the ones it accepted are durable, item by item. No step
 * waits longer than opts->timeout_ms.
 *
 * Returns 0 when traild answered item by item: ret_results[i] (an array of n
 * the caller provides) says for events[i] whether it was stored (its seq
 * is then also set on events[i] with trail_event_set_seq()) or why not.
 * Otherwise nothing was stored and it returns -EAGAIN (503: the queue is
 * full or the store refuses writes; send again later), TRAIL_E_TOO_LARGE
 * (413), TRAIL_E_PARSE (400, or an answer that is not traild's), -EACCES
 * (401/403), -EPROTO (another status, or TLS: a certificate not accepted,
 * a handshake that failed), -ETIMEDOUT, -ECONNREFUSED and other -errno,
 * or -EINVAL (a bad url, n == 0); err (if not NULL, size errlen) then says
 * what happened. ret_results is untouched on failure. Thread-safe; each
 * call uses its own connection.
 */
int trail_client_send(const char *url, const struct trail_client_opts *opts,
                      struct trail_event *const *events, size_t n,
                      struct trail_client_result *ret_results, char *err, size_t errlen);

/*
 * A connection to traild for any request of its API (GET /v1/events,
 * /v1/count, the event stream, ...): HTTP/1.1, kept alive between
 * requests, over TLS for https://. The CLI's --url commands use it.
 * One thread at a time per client.
 */
struct trail_client;

/*
 * trail_client_open - a client of the traild at url ("http[s]://HOST[:PORT]
 * [/PREFIX]"; the PREFIX goes before every path asked). Connects at the
 * first request. opts (may be NULL) is copied; its strings are not.
 * Returns 0 with *ret_client (free with trail_client_close), -EINVAL with
 * err for a bad url, -ENOMEM.
 */
int trail_client_open(const char *url, const struct trail_client_opts *opts,
                      struct trail_client **ret_client, char *err, size_t errlen);

/*
 * trail_client_request - send METHOD PREFIX+path (path starts with '/' and
 * holds the query string, escaped) with the token's Authorization header,
 * the extra headers (lines "Name: value\r\n", may be NULL) and body (len
 * bytes; NULL: none), then read the answer's status line and headers.
 * Returns 0 with *ret_status (any status: a 4xx is an answer too), the
 * body to be read with trail_client_read(); or -ECONNREFUSED, -ETIMEDOUT,
 * -EPROTO (TLS, or not HTTP), other -errno, with err.
 */
int trail_client_request(struct trail_client *c, const char *method, const char *path,
                         const char *headers, const void *body, size_t len, int *ret_status,
                         char *err, size_t errlen);

/*
 * trail_client_header - the value of the last answer's header name (case
 * does not matter), not NUL-terminated: *ret_len bytes; NULL when absent.
 * Valid until the next request.
 */
const char *trail_client_header(const struct trail_client *c, const char *name, size_t *ret_len);

/*
 * trail_client_read - up to cap bytes of the answer's body, waiting at most
 * timeout_ms (< 0: the client's timeout). *ret_n is 0 at the body's end.
 * Returns 0; -ETIMEDOUT when nothing came within the wait (a stream that
 * is quiet: read again); another negative code with err.
 */
int trail_client_read(struct trail_client *c, void *buf, size_t cap, int timeout_ms, size_t *ret_n,
                      char *err, size_t errlen);

/*
 * trail_client_read_all - the rest of the answer's body appended to out,
 * each wait within the client's timeout. 0, TRAIL_E_TOO_LARGE (over 1 GiB),
 * or a negative code with err.
 */
int trail_client_read_all(struct trail_client *c, struct trail_buf *out, char *err, size_t errlen);

/* trail_client_close - close the connection and free c. NULL is a no-op. */
void trail_client_close(struct trail_client *c);

/* ------------------------------------------------------------------------ */
/* Workload generator                                                       */
/* ------------------------------------------------------------------------ */

/*
 * A deterministic simulation of an identity server for demos, tests and
 * benchmarks: users signing in through SAML, OIDC, internal, relay and RADIUS
 * entry points with BankID, Freja, FIDO, SITHS, OneTouch, passwords and OTP;
 * failures, lockouts, password resets, token enrolment and revocation,
 * consent, logout, configuration changes, scheduled jobs, server start,
 * certificate warnings; a daily and weekly rhythm. The same options give the
 * same events. Every event it makes is valid under the STRICT policy.
 */
struct trail_loadgen;

struct trail_loadgen_opts {
    uint64_t seed;    /* default 1 */
    uint32_t users;   /* simulated users; default: one per 25 events a day (events / days / 25),
                         at least 1000, at most 10,000,000 */
    uint32_t clients; /* service providers and OIDC clients, default 20 */
    uint32_t days;    /* the span the events are spread over, default 1 */
    uint64_t events;  /* the expected number of events over the span (sets the rate),
                         default 100000 */
    int64_t start_us; /* start of the span, default 2026-11-01T00:00:00Z */
    const char *host; /* the host name events carry, default "idp-node1" */
    uint32_t attacks; /* TRAIL_ATTACK_* bits: attacks added to the traffic, default none */
};

/*
 * Attacks the generator can add to its normal traffic, each once, at a known
 * point: of the k attacks asked for, the i-th in the order below (i = 1..k)
 * starts at the time of event number i * events / (k + 1) (counted from 0,
 * events being trail_loadgen_opts.events), so that it is among the events
 * expected whatever rate the simulation comes to. Each
 * comes from an attacker's address of its own, 2001:db8:ffff::N (N the bit's
 * position + 1), which normal traffic never uses (except the token attack's
 * enrolment, made from the user's own address). The attacks draw on
 * randomness of their own: the normal traffic around them is the same event
 * for event as without them. Each fires a rule of trail's pack (rules/).
 */
enum trail_attack {
    TRAIL_ATTACK_GUESS = 1 << 0,   /* 12 failed OIDC sign-ins of one account, 15 s apart */
    TRAIL_ATTACK_SPRAY = 1 << 1,   /* 15 accounts, one failed SAML sign-in each, 20 s apart */
    TRAIL_ATTACK_LOCKOUT = 1 << 2, /* 24 accounts locked in 8 minutes, 3 failures each */
    TRAIL_ATTACK_FATIGUE = 1 << 3, /* 4 OneTouch pushes to one user rejected, then one approved */
    TRAIL_ATTACK_BREAKIN = 1 << 4, /* 6 failed OIDC sign-ins of one account, then a success */
    TRAIL_ATTACK_TOKEN = 1 << 5,   /* a token enrolled and used, then used from another address */
    TRAIL_ATTACK_ALL = (1 << 6) - 1
};

/*
 * trail_loadgen_new - a generator over cat's events with opts (NULL or zero
 * fields for the defaults). The generator keeps a pointer to cat and copies
 * opts (host must outlive it). Caller frees with trail_loadgen_free().
 * Returns 0 or -ENOMEM.
 */
int trail_loadgen_new(const struct trail_catalog *cat, const struct trail_loadgen_opts *opts,
                      struct trail_loadgen **ret_gen);

/*
 * trail_loadgen_next - reset ev (made from the same catalog) to the next
 * event in time order: id, time, host and attributes. The uuid and seq are
 * left unset. Never runs out. Returns 0, or an error from the event setters
 * (which would mean the catalog's schema cannot be satisfied).
 */
int trail_loadgen_next(struct trail_loadgen *gen, struct trail_event *ev);

/* trail_loadgen_count - the number of events produced so far. */
uint64_t trail_loadgen_count(const struct trail_loadgen *gen);

/* trail_loadgen_free - free a generator. */
void trail_loadgen_free(struct trail_loadgen *gen);

/* ------------------------------------------------------------------------ */
/* Integrity                                                                */
/* ------------------------------------------------------------------------ */

/*
 * The store's records, in sequence order, are the leaves of an RFC 9162
 * Merkle tree and links of a hash chain (docs/integrity.md):
 *
 *     leaf(record) = SHA-256(0x00 || canonical record bytes, docs/format.md)
 *     node(l, r)   = SHA-256(0x01 || l || r)
 *     root         = the RFC 9162 section 2.1.1 tree hash of all leaves
 *                    (SHA-256 of the empty string for no leaves)
 *     chain(0)     = 32 zero bytes; chain(n) = SHA-256(chain(n-1) || leaf(n))
 *
 * Record seq s (sequence numbers start at 1) is leaf index s - 1. A tree
 * size is a number of leaves. Hashes are 32 bytes; their text form is 64
 * lower-case hex digits.
 *
 * A checkpoint is a signed statement "the store ORIGIN held SIZE records,
 * with this root and this chain head, at TIME", signed with Ed25519. Proofs
 * (RFC 9162 sections 2.1.3 and 2.1.4) show that one record is in the tree of
 * a checkpoint, or that the tree of one checkpoint is a prefix of the tree of
 * a later one; both check offline against checkpoints and a public key.
 *
 * Thread safety: keys may be shared by any number of threads once loaded;
 * every other call works on the caller's own structs.
 */

#define TRAIL_HASH_LEN       32  /* SHA-256 */
#define TRAIL_SIGNATURE_LEN  64  /* Ed25519 */
#define TRAIL_KEY_ID_HEX     8   /* key id text: 8 lower-case hex digits */
#define TRAIL_ORIGIN_MAX     128 /* bytes of a checkpoint's origin */
#define TRAIL_PROOF_MAX_PATH 65  /* nodes of any proof over < 2^64 leaves */

/* trail_hash_leaf - SHA-256(0x00 || data). */
int trail_hash_leaf(const void *data, size_t len, uint8_t out[TRAIL_HASH_LEN]);

/* trail_hash_node - SHA-256(0x01 || left || right). */
int trail_hash_node(const uint8_t left[TRAIL_HASH_LEN], const uint8_t right[TRAIL_HASH_LEN],
                    uint8_t out[TRAIL_HASH_LEN]);

/* trail_hash_empty - SHA-256 of the empty string: the root of the empty tree. Never fails. */
void trail_hash_empty(uint8_t out[TRAIL_HASH_LEN]);

/*
 * trail_hash_to_hex - the 64 lower-case hex digits of a hash and a NUL into
 * hex (65 bytes).
 */
void trail_hash_to_hex(const uint8_t hash[TRAIL_HASH_LEN], char hex[2 * TRAIL_HASH_LEN + 1]);

/*
 * trail_hash_from_hex - read exactly 64 lower-case hex digits (text[0..len)).
 * Returns 0, or TRAIL_E_PARSE for any other length or character (upper case
 * included: the text forms are canonical); out is untouched on failure.
 */
int trail_hash_from_hex(const char *text, size_t len, uint8_t out[TRAIL_HASH_LEN]);

/*
 * An Ed25519 key pair, or a public key alone. Opaque. Immutable once loaded,
 * so one key may sign and verify from many threads at once.
 */
struct trail_key;

/*
 * trail_key_generate - make a new Ed25519 key pair.
 *
 * private_path: where to write the private key (PKCS#8 PEM, "BEGIN PRIVATE
 *   KEY"), created with O_EXCL and mode 0600: an existing file is never
 *   overwritten (-EEXIST). public_path: where to write the public key
 *   (SubjectPublicKeyInfo PEM, "BEGIN PUBLIC KEY"), also O_EXCL, mode 0644.
 *   Both NULL: the key is kept in memory only. Both files are fsynced; when
 *   either cannot be written, neither is left behind.
 * ret_key: may be NULL when only the files are wanted; else the caller frees
 *   the key with trail_key_free().
 *
 * Returns 0, -EEXIST, -EINVAL (one path NULL and not the other), another
 * -errno from open/write, or -ENOMEM (OpenSSL failed).
 */
int trail_key_generate(const char *private_path, const char *public_path,
                       struct trail_key **ret_key);

/*
 * trail_key_load_private - read a private key file written by
 * trail_key_generate() (or `openssl genpkey -algorithm ed25519`). The key
 * can sign and verify. Returns 0, -errno (open/read), or TRAIL_E_PARSE (not
 * a PEM Ed25519 private key). Caller frees the key.
 */
int trail_key_load_private(const char *path, struct trail_key **ret_key);

/*
 * trail_key_load_public - read a public key file (SubjectPublicKeyInfo PEM,
 * as trail_key_generate() or `openssl pkey -pubout` write it). The key can
 * verify only. Returns 0, -errno, or TRAIL_E_PARSE. Caller frees the key.
 */
int trail_key_load_public(const char *path, struct trail_key **ret_key);

/* trail_key_free - free a key (and wipe a private key). */
void trail_key_free(struct trail_key *key);

/*
 * trail_key_id - the key's id: the first 4 bytes of SHA-256 of the raw
 * 32-byte Ed25519 public key, as 8 lower-case hex digits. Owned by the key.
 */
const char *trail_key_id(const struct trail_key *key);

/* trail_key_has_private - 1 when the key can sign, else 0. */
int trail_key_has_private(const struct trail_key *key);

/*
 * trail_key_public_raw - the raw 32-byte Ed25519 public key (RFC 8032) into
 * out. Returns 0.
 */
int trail_key_public_raw(const struct trail_key *key, uint8_t out[32]);

/*
 * trail_key_verifier - append the C2SP signed-note verifier key of key under
 * the key name name (a store's origin, trail_store_origin()):
 *
 *     NAME+KEYID+BASE64          e.g. trail/5f1c...+1a2b3c4d+AYZ...
 *
 * KEYID is the note key id in 8 hex digits, SHA-256(NAME || 0x0A || 0x01 ||
 * PUB)[0..4]; BASE64 is 0x01 || the raw public key. Go's
 * golang.org/x/mod/sumdb/note.NewVerifier and other C2SP tools take it as is.
 * Returns 0, -EINVAL (name empty, or holding a space, a '+' or a byte outside
 * printable ASCII), or -ENOMEM.
 */
int trail_key_verifier(const struct trail_key *key, const char *name, struct trail_buf *out);

/*
 * trail_key_from_verifier - the public key of a signed-note verifier key
 * text[0..len) as trail_key_verifier() writes it (type 0x01, Ed25519), its
 * name into ret_name. The key id written in it must be the one the name
 * and key give. Returns 0, TRAIL_E_PARSE, or -ENOMEM. Caller frees the key.
 */
int trail_key_from_verifier(const char *text, size_t len, char ret_name[TRAIL_ORIGIN_MAX + 1],
                            struct trail_key **ret_key);

/*
 * A checkpoint: a plain struct; every field is part of what is signed.
 *
 * origin:    the store's name (trail_store_origin()), 1..TRAIL_ORIGIN_MAX
 *            bytes, each printable ASCII other than space and '+' (a legacy
 *            checkpoint's may hold '+': it was the store id in hex).
 * tree_size: records covered (the last one has seq tree_size).
 * root:      the tree hash of those tree_size leaves.
 * chain:     the hash chain after record tree_size (32 zero bytes for 0).
 * time_us:   when it was made, µs since the Unix epoch, >= 0.
 * key_id:    the signing key's id, NUL-terminated: the C2SP note key id of
 *            the key under the name origin (trail_key_verifier()); for a
 *            legacy checkpoint, trail_key_id().
 * signature: Ed25519 over trail_checkpoint_message().
 * legacy:    0: a C2SP checkpoint (what trail writes); 1: a
 *            trail-checkpoint/1 checkpoint of trail before it, read and
 *            verified but never written.
 */
struct trail_checkpoint {
    char origin[TRAIL_ORIGIN_MAX + 1];
    uint64_t tree_size;
    uint8_t root[TRAIL_HASH_LEN];
    uint8_t chain[TRAIL_HASH_LEN];
    int64_t time_us;
    char key_id[TRAIL_KEY_ID_HEX + 1];
    uint8_t signature[TRAIL_SIGNATURE_LEN];
    int legacy;
};

/*
 * trail_checkpoint_message - append the exact bytes that are signed: the
 * text of a C2SP signed note holding a C2SP tlog-checkpoint, with trail's
 * time and chain head as extension lines, each line ending in '\n':
 *
 *     ORIGIN
 *     TREE_SIZE                 decimal
 *     ROOT                      standard padded base64 of the 32 bytes
 *     trail-time TIME_US        decimal
 *     trail-chain CHAIN         64 lower-case hex digits
 *
 * A legacy checkpoint's message was instead
 *
 *     trail-checkpoint/1
 *     origin ORIGIN
 *     size TREE_SIZE            decimal
 *     root ROOT                 64 lower-case hex digits
 *     chain CHAIN               64 lower-case hex digits
 *     time TIME_US              decimal
 *     key KEY_ID                8 lower-case hex digits
 *
 * Returns 0, -EINVAL (a field out of its range above), or -ENOMEM.
 */
int trail_checkpoint_message(const struct trail_checkpoint *cp, struct trail_buf *out);

/*
 * trail_checkpoint_sign - set cp->key_id to key's id (as cp->legacy says)
 * and cp->signature to the Ed25519 signature of trail_checkpoint_message(cp).
 * The other fields must be filled in. Returns 0, -EINVAL (a field out of
 * range, or a key without its private half), or -ENOMEM. cp is untouched on
 * failure.
 */
int trail_checkpoint_sign(struct trail_checkpoint *cp, const struct trail_key *key);

/*
 * trail_checkpoint_signed_by - 1 when cp->key_id is the id key signs cp
 * with (the note key id under cp->origin, or for a legacy checkpoint
 * trail_key_id()), else 0. Says which key to verify with; proves nothing.
 */
int trail_checkpoint_signed_by(const struct trail_checkpoint *cp, const struct trail_key *key);

/*
 * trail_checkpoint_verify - check cp's signature with key (public or
 * private). Returns 0 when it verifies, TRAIL_E_SIGNATURE when it does not
 * or when cp is not signed by key (trail_checkpoint_signed_by()), -EINVAL
 * for a field out of range, or -ENOMEM.
 */
int trail_checkpoint_verify(const struct trail_checkpoint *cp, const struct trail_key *key);

/*
 * trail_checkpoint_note - append cp as a C2SP signed note: the message
 * (trail_checkpoint_message()), a blank line, and the signature line
 *
 *     — ORIGIN BASE64(4-byte key id || 64-byte signature)
 *
 * ending in '\n'. What GET /checkpoint serves; any C2SP verifier given the
 * verifier key (trail_key_verifier()) checks it. Returns 0, -EINVAL (a field
 * out of range, or a legacy checkpoint, which has no note), or -ENOMEM.
 */
int trail_checkpoint_note(const struct trail_checkpoint *cp, struct trail_buf *out);

/*
 * trail_checkpoint_note_parse - read a signed note text[0..len) that
 * trail_checkpoint_note() wrote, possibly with more signature lines (a
 * witness's cosignature): the text must be exactly the five lines above; the
 * first signature line named ORIGIN gives key_id and signature, other lines
 * are skipped (but must be well-formed). The signature is not checked.
 * Returns 0 or TRAIL_E_PARSE.
 */
int trail_checkpoint_note_parse(const char *text, size_t len, struct trail_checkpoint *ret_cp);

/*
 * trail_checkpoint_format - append the one-line text form DIR/checkpoints
 * and witnesses keep, fields separated by one space, no newline:
 *
 *     trail-checkpoint/2 ORIGIN SIZE ROOT CHAIN TIME KEY_ID SIGNATURE
 *
 * (trail-checkpoint/1 for a legacy checkpoint). SIZE and TIME in decimal,
 * ROOT and CHAIN in 64 lower-case hex digits, KEY_ID in 8, SIGNATURE in
 * padded standard base64 (88 characters). The line holds every field of the
 * signed message, so it checks on its own, and the note is rebuilt from it.
 * Returns 0, -EINVAL (a field out of range), or -ENOMEM.
 */
int trail_checkpoint_format(const struct trail_checkpoint *cp, struct trail_buf *out);

/*
 * trail_checkpoint_parse - read the one-line form (either version),
 * text[0..len), optionally followed by one '\n' and nothing else. Strict:
 * exactly eight fields and single spaces, decimal without sign or leading
 * zeros, lower-case hex, canonical base64; anything else is TRAIL_E_PARSE.
 * The signature is not checked (trail_checkpoint_verify()). Returns 0 or
 * TRAIL_E_PARSE.
 */
int trail_checkpoint_parse(const char *text, size_t len, struct trail_checkpoint *ret_cp);

/*
 * Witnesses (C2SP tlog-witness and tlog-cosignature). A witness checks that
 * each checkpoint of a log it follows extends the last one it saw
 * (consistency), and cosigns it: it adds a signature line of its own to the
 * checkpoint's note. A cosignature/v1 line is
 *
 *     — NAME BASE64(key id || timestamp || signature)
 *
 * key id: SHA-256(NAME || 0x0A || 0x04 || PUB)[0..4]; timestamp: the
 * witness's time in seconds since the epoch, 8 bytes big-endian; signature:
 * Ed25519 over "cosignature/v1\ntime TIMESTAMP\n" followed by the
 * checkpoint's note text (trail_checkpoint_message()). The witness's
 * verifier key is NAME+KEYID+BASE64(0x04 || PUB).
 */

/* A witness's public key, read from its verifier key (trail_witness_parse()). */
struct trail_witness {
    char name[TRAIL_ORIGIN_MAX + 1]; /* the key name its cosignature lines carry */
    uint8_t pub[32];                 /* raw Ed25519 public key */
    uint8_t key_id[4];               /* SHA-256(name || 0x0A || 0x04 || pub)[0..4] */
};

/*
 * trail_witness_verifier - append the cosigner verifier key of key under
 * the name name: NAME+KEYID+BASE64(0x04 || PUB), KEYID in 8 hex digits.
 * Returns 0, -EINVAL (a name trail_key_verifier() would refuse), or -ENOMEM.
 */
int trail_witness_verifier(const struct trail_key *key, const char *name, struct trail_buf *out);

/*
 * trail_witness_parse - read a cosigner verifier key text[0..len) (as
 * trail_witness_verifier() writes it) into *ret. The key id written in it
 * must be the one the name and key give. Returns 0 or TRAIL_E_PARSE.
 */
int trail_witness_parse(const char *text, size_t len, struct trail_witness *ret);

/*
 * trail_cosignature_sign - append the cosignature/v1 line (with its '\n')
 * of cp by key, named name, at time_s (seconds since the epoch). cp must be
 * a C2SP checkpoint (not legacy). Returns 0, -EINVAL (a key without its
 * private half, a bad name, a legacy checkpoint or a field out of range),
 * or -ENOMEM.
 */
int trail_cosignature_sign(const struct trail_key *key, const char *name,
                           const struct trail_checkpoint *cp, uint64_t time_s,
                           struct trail_buf *out);

/*
 * trail_cosignature_verify - check one signature line line[0..len) (without
 * its '\n') as w's cosignature of cp. Returns 0 when it verifies (and sets
 * *ret_time_s when not NULL), TRAIL_E_NOT_FOUND when the line is not w's
 * (another name or key id, or not a cosignature/v1), TRAIL_E_SIGNATURE when
 * it is w's and does not verify, TRAIL_E_PARSE when it is no signature line,
 * -EINVAL for a legacy checkpoint, or -ENOMEM.
 */
int trail_cosignature_verify(const struct trail_witness *w, const struct trail_checkpoint *cp,
                             const char *line, size_t len, uint64_t *ret_time_s);

/*
 * A witness policy: which witnesses a verifier trusts and how many of them
 * must have cosigned a checkpoint. Its text (docs/integrity.md, "Witness
 * policy"), one item a line, '#' starts a comment:
 *
 *     witness LABEL VERIFIER_KEY      1 to 64 of them; LABEL names it in reports
 *     quorum K                        1 <= K <= witnesses; default: all of them
 */
struct trail_witness_policy;

/*
 * trail_witness_policy_parse - read a policy text[0..len). Returns 0, -ENOMEM, or
 * TRAIL_E_PARSE with err saying which line and why. Free with
 * trail_witness_policy_free().
 */
int trail_witness_policy_parse(const char *text, size_t len, struct trail_witness_policy **ret,
                               char *err, size_t errlen);

/* trail_witness_policy_free - free a policy (NULL: nothing). */
void trail_witness_policy_free(struct trail_witness_policy *p);

/*
 * trail_witness_policy_check - count the policy's witnesses that cosigned cp with a
 * valid line among the signature lines of the signed note text[0..len)
 * (cp's own note, as trail_checkpoint_note_parse() reads it). Sets
 * *ret_valid (each witness counted once) and *ret_quorum. Returns 0 when
 * valid >= quorum, TRAIL_E_SIGNATURE when not, TRAIL_E_PARSE when text is
 * not a signed note, or -ENOMEM. Lines of no witness of the policy are
 * ignored; a witness's line that does not verify counts for nothing.
 */
int trail_witness_policy_check(const struct trail_witness_policy *p,
                               const struct trail_checkpoint *cp, const char *text, size_t len,
                               size_t *ret_valid, size_t *ret_quorum);

/* trail_witness_policy_size - the number of witnesses in the policy, and its quorum. */
void trail_witness_policy_size(const struct trail_witness_policy *p, size_t *ret_witnesses,
                               size_t *ret_quorum);

/* The two kinds of proof. */
enum trail_proof_type {
    TRAIL_PROOF_INCLUSION = 1,  /* one leaf is in the tree of tree_size leaves */
    TRAIL_PROOF_CONSISTENCY = 2 /* the tree of old_size leaves is a prefix of tree_size's */
};

/*
 * A proof: a plain struct.
 *
 * INCLUSION (RFC 9162 2.1.3): leaf_index < tree_size; leaf_hash is the
 *   leaf's hash; path the audit path, from the leaf's sibling up to the
 *   root's child.
 * CONSISTENCY (RFC 9162 2.1.4): 0 <= old_size <= tree_size; path as the RFC's
 *   PROOF(old_size, D[tree_size]), empty when old_size is 0 or tree_size.
 *   leaf_index and leaf_hash are zero.
 */
struct trail_proof {
    int type;            /* enum trail_proof_type */
    uint64_t leaf_index; /* INCLUSION: record seq - 1 */
    uint64_t old_size;   /* CONSISTENCY: the older tree's size */
    uint64_t tree_size;  /* the tree the proof leads to */
    uint8_t leaf_hash[TRAIL_HASH_LEN];
    uint32_t n_path;
    uint8_t path[TRAIL_PROOF_MAX_PATH][TRAIL_HASH_LEN];
};

/*
 * The source of tree hashes that proof generation reads from. It is called
 * as subtree_hash(ctx, begin, end, out) and must write into out the RFC 9162
 * tree hash of leaves [begin, end) and return 0, or return a negative code
 * that the generator passes back unchanged.
 *
 * The generator only ever asks for complete aligned subtrees: end - begin is
 * a power of two 2^j (j >= 0, so single leaves too), begin is a multiple of
 * 2^j, and end <= the tree size the proof is for. A store answers those from
 * per-group roots (a group of 256 leaves is such a subtree, and so is every
 * run of 2^i groups starting at a multiple of 2^i groups) and, below a group,
 * from the leaves themselves. Ranges that end at the tree's right edge are
 * split by the generator into such subtrees, largest first, so the source
 * never sees an incomplete subtree. The calls come in no promised order and
 * may repeat a range. A proof makes at most 2 * 64 + 1 calls (one leaf, at
 * most 64 path nodes, and the pieces of at most one right-edge range);
 * about 2 * log2(tree size) in practice.
 */

/*
 * trail_proof_inclusion - the inclusion proof of leaf leaf_index in the tree
 * of tree_size leaves, read through subtree_hash (above). Returns 0, -EINVAL
 * when leaf_index >= tree_size, or what subtree_hash returned. ret_proof is
 * untouched on failure.
 */
int trail_proof_inclusion(uint64_t leaf_index, uint64_t tree_size,
                          int (*subtree_hash)(void *ctx, uint64_t begin, uint64_t end,
                                              uint8_t out[TRAIL_HASH_LEN]),
                          void *ctx, struct trail_proof *ret_proof);

/*
 * trail_proof_consistency - the consistency proof from the tree of old_size
 * leaves to the tree of tree_size leaves. Returns 0, -EINVAL when old_size >
 * tree_size, or what subtree_hash returned.
 */
int trail_proof_consistency(uint64_t old_size, uint64_t tree_size,
                            int (*subtree_hash)(void *ctx, uint64_t begin, uint64_t end,
                                                uint8_t out[TRAIL_HASH_LEN]),
                            void *ctx, struct trail_proof *ret_proof);

/*
 * An in-memory source for the generators (tests, small tools): leaves[i] is
 * the hash of leaf i, n_leaves of them. Pass trail_leaf_array_subtree_hash
 * with a pointer to this struct as ctx. It answers any range [begin, end)
 * with 0 <= begin < end <= n_leaves by recursion (O(end - begin) hashes), and
 * -EINVAL for others.
 */
struct trail_leaf_array {
    const uint8_t (*leaves)[TRAIL_HASH_LEN];
    uint64_t n_leaves;
};

int trail_leaf_array_subtree_hash(void *ctx, uint64_t begin, uint64_t end,
                                  uint8_t out[TRAIL_HASH_LEN]);

/*
 * trail_proof_inclusion_root - the root that an inclusion proof leads to
 * from leaf_hash (RFC 9162 2.1.3.2). leaf_hash is the hash the caller
 * computed from the record it holds; it may be proof->leaf_hash. Returns 0,
 * TRAIL_E_INTEGRITY when the proof's shape is wrong for its index and size
 * (too few or too many nodes), -EINVAL when it is not an inclusion proof, or
 * -ENOMEM.
 */
int trail_proof_inclusion_root(const struct trail_proof *proof,
                               const uint8_t leaf_hash[TRAIL_HASH_LEN],
                               uint8_t ret_root[TRAIL_HASH_LEN]);

/*
 * trail_proof_verify_inclusion - check that leaf_hash is leaf
 * proof->leaf_index of the tree of proof->tree_size leaves whose root is
 * root. Does not look at proof->leaf_hash: pass the hash of the record you
 * hold (or proof->leaf_hash knowingly). Returns 0 when it holds,
 * TRAIL_E_INTEGRITY when it does not, -EINVAL for a proof of another type,
 * or -ENOMEM.
 */
int trail_proof_verify_inclusion(const struct trail_proof *proof,
                                 const uint8_t leaf_hash[TRAIL_HASH_LEN],
                                 const uint8_t root[TRAIL_HASH_LEN]);

/*
 * trail_proof_verify_consistency - check that the tree of proof->old_size
 * leaves with root old_root is a prefix of the tree of proof->tree_size
 * leaves with root new_root (RFC 9162 2.1.4.2). When the sizes are equal the
 * path must be empty and the roots equal; when old_size is 0 the path must
 * be empty and old_root the empty tree's hash. Returns 0 when it holds,
 * TRAIL_E_INTEGRITY when it does not, -EINVAL for a proof of another type,
 * or -ENOMEM.
 */
int trail_proof_verify_consistency(const struct trail_proof *proof,
                                   const uint8_t old_root[TRAIL_HASH_LEN],
                                   const uint8_t new_root[TRAIL_HASH_LEN]);

/*
 * trail_proof_format - append the text form of a proof, one item per line,
 * each line ending in '\n'; hashes in 64 lower-case hex digits, numbers in
 * decimal:
 *
 *     trail-proof/1 inclusion          trail-proof/1 consistency
 *     index LEAF_INDEX                 old-size OLD_SIZE
 *     size TREE_SIZE                   size TREE_SIZE
 *     leaf LEAF_HASH                   path HASH      (0 or more lines)
 *     path HASH      (0 or more lines)
 *
 * Returns 0, -EINVAL (type unknown, index or sizes out of range, n_path over
 * TRAIL_PROOF_MAX_PATH), or -ENOMEM.
 */
int trail_proof_format(const struct trail_proof *proof, struct trail_buf *out);

/*
 * trail_proof_parse - read the text form, text[0..len). Strict: the lines
 * and their order exactly as trail_proof_format() writes them, single
 * spaces, '\n' line ends (the last may be missing), decimal without sign or
 * leading zeros, lower-case hex, leaf_index < tree_size, old_size <=
 * tree_size, at most TRAIL_PROOF_MAX_PATH path lines. Returns 0 or
 * TRAIL_E_PARSE; ret_proof is untouched on failure.
 */
int trail_proof_parse(const char *text, size_t len, struct trail_proof *ret_proof);

/* ------------------------------------------------------------------------ */
/* Store                                                                    */
/* ------------------------------------------------------------------------ */

/*
 * The store: an append-only, segmented, crash-safe directory of records, one
 * per event, numbered by a gapless sequence number from 1 (docs/store.md for
 * operators, docs/format.md for the bytes). Every record is a leaf of the
 * Merkle tree and a link of the hash chain of the Integrity section: record
 * seq is leaf seq - 1.
 *
 * One process writes (DIR/LOCK); any number read, also while it writes.
 * Every call on a store handle is thread-safe.
 */
struct trail_store;
struct trail_store_iter;

/* When appended records reach the disk (fdatasync). */
enum trail_fsync_policy {
    TRAIL_FSYNC_DEFAULT = 0,  /* INTERVAL with the default interval */
    TRAIL_FSYNC_ALWAYS = 1,   /* as soon as possible; concurrent appends share one sync */
    TRAIL_FSYNC_INTERVAL = 2, /* every fsync_interval_ms */
    TRAIL_FSYNC_NEVER = 3     /* written every interval, never synced: durable = written */
};

/* The operations the fault hook can fail (tests). */
enum trail_store_op {
    TRAIL_STORE_OP_WRITE = 1, /* a write into a segment or side file */
    TRAIL_STORE_OP_SYNC = 2   /* an fdatasync or fsync */
};

/* The integrity state at one tree size: what a checkpoint signs. */
struct trail_store_state {
    uint64_t tree_size;            /* records, == the last seq */
    uint8_t root[TRAIL_HASH_LEN];  /* RFC 9162 tree hash of the tree_size leaves */
    uint8_t chain[TRAIL_HASH_LEN]; /* the hash chain after record tree_size */
    int64_t time_us;               /* when this state became durable */
};

/*
 * Options of trail_store_open(). Zero-initialise; a zero field means the
 * default noted.
 */
struct trail_store_opts {
    int read_only;              /* 1: no lock, no changes; sees what writers wrote */
    int create;                 /* 1: make DIR and a new store when there is none */
    int repair;                 /* 1: cut a damaged segment at its first bad frame, and
                                   drop what follows, instead of failing with
                                   TRAIL_E_CORRUPT (reported; the cut bytes are kept
                                   in DIR/damaged/) */
    int allow_damaged;          /* 1: a writer opens although a sealed segment other than
                                   the last is damaged (its header, index or trailer); the
                                   segment's seqs become known damage
                                   (trail_store_damage_list()) instead of TRAIL_E_CORRUPT.
                                   With repair, damaged sealed segments are quarantined
                                   instead (trail_store_opts.repair, docs/store.md) */
    int fsync_policy;           /* enum trail_fsync_policy */
    uint32_t fsync_interval_ms; /* INTERVAL and NEVER: default 10 */
    uint64_t segment_max_bytes; /* roll the active segment past this size; 64 MiB */
    int64_t segment_max_age_us; /* ... or when its first record is this old; 1 hour */
    int no_seal;                /* 1: leave rolled segments uncompressed */
    int zstd_level;             /* sealing: default 6 (docs/BENCHMARKS.md); lower while
                                   a backlog of rolled segments waits (docs/store.md,
                                   "Sealing") */
    uint32_t block_bytes;       /* sealing: raw bytes per compressed block, 1 MiB */
    uint64_t max_pending_bytes; /* appends wait while more than this is unwritten; 64 MiB */
    /*
     * Idempotent ingest (docs/store.md, "Duplicates"): an event whose producer
     * uuid the store took within the last dedup_window_us is not stored again
     * (trail_event_duplicate_of() says which seq has it). Remembered: at least
     * the window, unless more than dedup_max / 2 newer uuids came since; about
     * 48 bytes each. Defaults 24 hours and 1,000,000; dedup_max -1: off.
     */
    int64_t dedup_window_us;
    int64_t dedup_max;

    /*
     * The checkpoint hook (the integrity layer): called on the flusher's
     * thread, without the store's locks held, with the durable state once
     * checkpoint_every_events records or checkpoint_every_ms ms have become
     * durable since the last call (defaults 100000 and 10000), and at close.
     * It may read the store (subtree hashes, iterators) but not append. Its
     * return value is kept for trail_store_close().
     */
    int (*checkpoint)(void *arg, struct trail_store *store, const struct trail_store_state *state);
    void *checkpoint_arg;
    uint64_t checkpoint_every_events;
    uint32_t checkpoint_every_ms;

    /*
     * The tree sizes of the checkpoints that exist (for retention: the purge
     * keeps the 256 leaf hashes of every purged group holding one of them in
     * DIR/anchors, so consistency proofs from those checkpoints still work).
     * Fills a malloc'd array the store frees. NULL: none.
     */
    int (*checkpoint_sizes)(void *arg, uint64_t **ret_sizes, size_t *ret_n);

    /*
     * Checkpoints written by the store (lib/store/store_checkpoint.c; the file is
     * in docs/format.md, "Checkpoints"). With a signing key, a writer signs
     * its durable state (as a C2SP checkpoint named by trail_store_origin())
     * at the moments the hook above is called, at close, and on
     * trail_store_checkpoint_now(), and appends it as one line to
     * DIR/checkpoints, synced, before the hook runs. The key: checkpoint_key
     * when set (borrowed: it must outlive the store); else the private key
     * file checkpoint_key_path (an error to open if it cannot be loaded);
     * else DIR/checkpoint.key when that file exists; else none, and no
     * checkpoints are written. The sizes in DIR/checkpoints are anchored by
     * purges as checkpoint_sizes' are. Readers ignore all three.
     */
    const struct trail_key *checkpoint_key;
    const char *checkpoint_key_path;

    /*
     * The store's origin, the name its checkpoints carry (trail_store_origin()).
     * A writer records it in DIR/origin when the store has none and no
     * checkpoint yet; an origin that differs from the store's is an error to
     * open (-EINVAL, said in the report). NULL: the store's own.
     */
    const char *origin;

    /*
     * A writer refuses to open a store whose last seq is below what its own
     * files claim (the latest line of DIR/checkpoints, the groups of
     * DIR/tree.roots): TRAIL_E_SHORTER, each claim and its shortfall in the
     * report. To open it anyway, set accept_truncation and name the store's
     * last seq (as the refusal reported it) in accept_truncation_to: any
     * other number still refuses. The open then moves DIR/checkpoints and
     * DIR/tree.roots aside (FILE.truncated-<unix time>, kept as evidence),
     * starts both afresh and sets truncation_accepted in the report.
     */
    int accept_truncation;
    uint64_t accept_truncation_to;

    /*
     * The fault hook (tests): called before each write and sync of segment
     * data with the operation and the fd; a negative -errno makes that
     * operation fail with it. NULL: none.
     */
    int (*fault)(void *arg, int op, int fd);
    void *fault_arg;

    /*
     * Sealing threads, all at idle CPU and I/O priority, named trail-seal,
     * trail-seal1, ...: the first seals every rolled segment, the others
     * help only while two or more wait (docs/store.md, "Sealing"). 0: one
     * per online CPU, less one when seal_backlog_max bounds the backlog
     * (trail-sealx is then the last); at most TRAIL_SEAL_THREADS_MAX (more
     * count as that).
     */
    int seal_threads;

    /*
     * The unsealed backlog's bound (docs/store.md, "Sealing"): appends wait
     * while this many rolled segments wait to be sealed (64 MiB each at the
     * default segment size), and from three waiting (or half of a smaller
     * bound) one more sealing thread at normal CPU priority, trail-sealx,
     * helps the idle-priority ones, so
     * that sealing gets a share of the CPU however busy the machine is.
     * 0: TRAIL_SEAL_BACKLOG_DEFAULT; -1: no bound (rolled segments wait for
     * idle CPU however many).
     * A store opened with a larger backlog takes appends while its backlog
     * shrinks, never while it grows.
     */
    int seal_backlog_max;
};

/* The most sealing threads a store has (trail_store_opts.seal_threads). */
#define TRAIL_SEAL_THREADS_MAX 4
/* The unsealed backlog's bound when trail_store_opts.seal_backlog_max is 0, in rolled segments. */
#define TRAIL_SEAL_BACKLOG_DEFAULT 32

/* What trail_store_open() found and did; message holds one line per action. */
struct trail_store_report {
    uint64_t segments;       /* segments in the store */
    uint64_t records;        /* records in the store */
    uint64_t torn_bytes;     /* bytes of a torn tail cut from the last segment */
    uint32_t resealed;       /* half-sealed segments whose .seg was removed to redo */
    uint32_t leftovers;      /* .open beside a complete .seg, and *.tmp files, removed */
    uint64_t roots_rebuilt;  /* tree.roots groups recomputed from records */
    uint32_t damaged;        /* damaged places found (read-only or repair) */
    uint64_t repaired_bytes; /* bytes cut by repair */
    uint64_t last_seq;       /* the store's last seq (0: none) */
    uint64_t claimed_seq;    /* the highest seq its checkpoints and tree.roots claim */
    int truncation_accepted; /* 1: claimed_seq > last_seq, opened by accept_truncation */
    char message[2048];      /* "segment seg-...open: torn tail at offset N (M bytes) cut\n" */
};

/*
 * trail_store_open - open (or, with opts->create, make) the store in dir.
 *
 * A writer locks the directory itself (flock on DIR, which no rm of a file
 * can undo) and DIR/LOCK, which says who holds it (TRAIL_E_LOCKED when
 * another writer does; the report names it), and recovers: a torn tail is cut, a half-sealed
 * segment is redone from its .open file, tree.roots is rebuilt from the records when short,
 * leftovers are removed. A damaged frame with good frames after it is corruption: TRAIL_E_CORRUPT
 * with the segment and offset in ret_report->message, unless opts->repair. A reader (read_only)
 * changes nothing; it reports damage but opens.
 *
 * cat decodes records (trail_store_iter_next) and must outlive the store.
 * opts may be NULL (defaults, no create). ret_report may be NULL; it is
 * filled on failure too. Returns 0, TRAIL_E_NOT_FOUND (no store and no
 * create), TRAIL_E_LOCKED, TRAIL_E_SHORTER (see accept_truncation),
 * TRAIL_E_CORRUPT, TRAIL_E_VERSION, -errno or
 * -ENOMEM. The caller closes the store with trail_store_close().
 */
int trail_store_open(const char *dir, const struct trail_catalog *cat,
                     const struct trail_store_opts *opts, struct trail_store **ret_store,
                     struct trail_store_report *ret_report);

/*
 * Damage the store knows of: runs of seqs that cannot be read. Found at open
 * (a sealed segment whose header, index or trailer fails its check, when
 * allow_damaged or read_only; a run quarantined by repair, listed in
 * DIR/quarantined), by trail_store_scrub(), and by any reader of this handle
 * that meets a sealed block failing its CRC. Iterators still fail with
 * TRAIL_E_CORRUPT at a damaged seq; searches (trail_results_*) skip it and
 * list it (trail_results_skipped()).
 */
struct trail_store_damage {
    uint64_t first_seq, last_seq; /* the run (inclusive) */
    char file[48];                /* "seg-<16 hex>.seg" */
    char reason[160];             /* "block 3: CRC-32C does not match", "trailer: ..." */
    int quarantined;              /* 1: moved to DIR/quarantine/ by repair: the records are gone */
    int64_t found_us;             /* when this handle learned of it (quarantined: when moved) */
};

/*
 * trail_store_damage_list - a copy of the damage known now, by first seq, in
 * a malloc'd array the caller frees (NULL and 0 when none). *ret_gen (may be
 * NULL) grows whenever a run is added, so a caller can tell what is new.
 * Returns 0 or -ENOMEM.
 */
int trail_store_damage_list(struct trail_store *store, struct trail_store_damage **ret,
                            size_t *ret_n, uint64_t *ret_gen);

/*
 * trail_store_damage_at - 1 and *ret (may be NULL) when seq lies in a known
 * damaged run, else 0.
 */
int trail_store_damage_at(struct trail_store *store, uint64_t seq, struct trail_store_damage *ret);

/*
 * trail_store_scrub - read every block of every sealed segment and check its
 * CRC-32C (no decompression), adding what fails to the known damage. Reads
 * the whole store once; meant for a background thread after open. Returns
 * the number of damaged runs found (new or not), or -errno / -ENOMEM.
 */
int trail_store_scrub(struct trail_store *store);

/*
 * trail_store_close - make everything appended durable (whatever the policy),
 * call the checkpoint hook, finish a sealing in progress, release the lock
 * and free the store. Iterators must be freed before. Returns 0, or the first
 * error that kept records from becoming durable (they are then not in the
 * store), or the checkpoint hook's error.
 */
int trail_store_close(struct trail_store *store);

/*
 * trail_store_append - append n events as records, in order, as one batch.
 *
 * Each event gets the next seq (trail_event_seq() tells it afterwards) and,
 * when its time is 0, the current time; an event without a uuid is stored
 * without one and reads back with the uuid derived from the store id and
 * its seq (trail_store_uuid()). Events are not validated: validate first.
 * The call encodes, hashes and copies into memory only; the records become
 * durable later (trail_store_wait). *ret_last_seq (may be NULL) is the seq
 * of the last event.
 *
 * Returns 0; TRAIL_E_TOO_LARGE (an event over the catalog's max_record_bytes:
 * nothing appended); TRAIL_E_READONLY; TRAIL_E_CLOSED; or, for a short while
 * after a write failed, that error (-ENOSPC, -EIO, ...) with nothing
 * appended. Blocks while more than max_pending_bytes are unwritten.
 */
int trail_store_append(struct trail_store *store, struct trail_event *const *events, size_t n,
                       uint64_t *ret_last_seq);

/*
 * trail_store_wait - block until record seq is durable under the policy.
 *
 * Returns 0 once it is; or the error of the write or sync that failed for it
 * (-ENOSPC, -EIO, ...): the record is then not in the store (the failed tail
 * is cut and its seqs are given to later appends) and may be sent again.
 * A record appended by this thread before a failure is never confused with a
 * later one that reused its seq. Also TRAIL_E_CLOSED, or -EINVAL for a seq
 * never appended.
 */
int trail_store_wait(struct trail_store *store, uint64_t seq);

/*
 * What trail_store_wait() needs to know about an append, so that another
 * thread than the appender can wait for it: its last seq and the store's
 * failure generation when it was made.
 */
struct trail_store_ticket {
    uint64_t last_seq;
    uint64_t gen;
};

/*
 * trail_store_ticket - the ticket of this thread's last successful
 * trail_store_append() to store. Call right after it, on the same thread.
 */
void trail_store_ticket(struct trail_store *store, struct trail_store_ticket *ret_ticket);

/*
 * trail_store_wait_ticket - trail_store_wait() for the append t names, from
 * any thread: same returns, and the same guarantee that a record lost to a
 * failed write is never taken for a later one that reused its seq.
 */
int trail_store_wait_ticket(struct trail_store *store, const struct trail_store_ticket *t);

/* trail_store_durable_seq - the highest seq known durable (0 for none). */
uint64_t trail_store_durable_seq(struct trail_store *store);

/*
 * trail_store_tampered - whether a writer found a file it holds open (the
 * active segment, tree.roots, checkpoints) or the directory itself removed
 * or replaced behind its back. The writer checks the active segment at
 * every flush (before acknowledging it), and every file at each segment
 * roll and once a second; from the first finding on,
 * appends fail with TRAIL_E_TAMPERED and nothing more is acknowledged.
 * Returns 0 (intact), or TRAIL_E_TAMPERED with what was found in reason
 * (one line, NUL-terminated, may be NULL) and, in *ret_seq (may be NULL),
 * the last seq made durable before. What the open files still held is
 * copied beside them as NAME.rescued-<unix time> (named in reason).
 */
int trail_store_tampered(struct trail_store *store, char *reason, size_t reason_size,
                         uint64_t *ret_seq);

/* trail_store_last_seq - the highest seq appended (or, for a reader, seen). */
uint64_t trail_store_last_seq(struct trail_store *store);

/* trail_store_first_seq - the lowest seq still stored (1 until a purge; last + 1 if empty). */
uint64_t trail_store_first_seq(struct trail_store *store);

/*
 * trail_store_state - the integrity state at the durable point (for a
 * reader: at the last record seen). Returns 0 or -ENOMEM.
 */
int trail_store_state(struct trail_store *store, struct trail_store_state *ret_state);

/*
 * trail_store_origin - the store's origin into ret_origin: the name its
 * checkpoints carry, chosen at creation (trail_store_opts.origin, kept in
 * DIR/origin) or, for a store without one, its id in 32 lower-case hex
 * digits. Returns 0, TRAIL_E_CORRUPT (DIR/origin is not one origin line) or
 * -errno.
 */
int trail_store_origin(struct trail_store *store, char ret_origin[TRAIL_ORIGIN_MAX + 1]);

/* trail_store_id - the store's random 16-byte id (DIR/store.meta). */
void trail_store_id(const struct trail_store *store, uint8_t ret_id[16]);

/* trail_store_uuid - the uuid a record stored without one reads back with. */
void trail_store_uuid(const struct trail_store *store, uint64_t seq, uint8_t ret_uuid[16]);

/*
 * trail_store_subtree_hash - the RFC 9162 tree hash of leaves [begin, end)
 * (leaf i is record i + 1), 0 <= begin < end <= the durable tree size.
 * Whole aligned groups of 256 leaves come from DIR/tree.roots, the rest from
 * the records (or DIR/anchors after a purge). Has the signature the proof
 * generators take: pass the store as ctx. Returns 0, -EINVAL for a range out
 * of bounds, TRAIL_E_NOT_FOUND when a needed leaf was purged and not
 * anchored, TRAIL_E_CORRUPT, -errno.
 */
int trail_store_subtree_hash(void *store, uint64_t begin, uint64_t end,
                             uint8_t out[TRAIL_HASH_LEN]);

/* trail_store_leaf_hash - the leaf hash of record seq. Errors as above. */
int trail_store_leaf_hash(struct trail_store *store, uint64_t seq, uint8_t out[TRAIL_HASH_LEN]);

/*
 * The C2SP tlog-tiles read API (https://c2sp.org/tlog-tiles, docs/integrity.md
 * "Tiles"): the store's tree cut into tiles of 256 hashes and its records
 * into bundles of 256 entries, at paths
 *
 *     tile/L/N[.p/W]          hash tile, level L, index N, width W (256: full)
 *     tile/entries/N[.p/W]    entry bundle of seqs 256 N + 1 .. 256 N + W
 *
 * with N in groups of three digits (1234067: x001/x234/067).
 */
#define TRAIL_TILE_ENTRIES (-1) /* the "level" of entry bundles */

/*
 * trail_tile_path - the path (no leading '/') of tile level (0..63, or
 * TRAIL_TILE_ENTRIES), index, width (1..256; 256 writes no ".p/W") into out.
 * Returns 0, -EINVAL, or -ENAMETOOLONG when outlen is short (64 is enough).
 */
int trail_tile_path(int level, uint64_t index, unsigned width, char *out, size_t outlen);

/*
 * trail_tile_path_parse - read a path that trail_tile_path() writes, and no
 * other spelling of it. Returns 0 or TRAIL_E_PARSE; the out-parameters are
 * untouched on failure.
 */
int trail_tile_path_parse(const char *path, int *ret_level, uint64_t *ret_index,
                          unsigned *ret_width);

/*
 * trail_store_tile - append the hash tile level (0..7), index, width (1..256):
 * width hashes of 32 bytes, hash i the root of the 256^level leaves from
 * (256 index + i) 256^level. Its bytes never change once it exists.
 * Returns 0; TRAIL_E_NOT_FOUND when its leaves are not all durable yet, or
 * (level 0) were purged without an anchor; -EINVAL; TRAIL_E_CORRUPT; -errno.
 */
int trail_store_tile(struct trail_store *store, int level, uint64_t index, unsigned width,
                     struct trail_buf *out);

/*
 * trail_store_entry_bundle - append the entry bundle index, width (1..256):
 * for seqs 256 index + 1 .. 256 index + width, a big-endian uint16 length
 * and the record's canonical bytes (whose hash is its leaf). Returns 0;
 * TRAIL_E_NOT_FOUND (not all durable yet, or purged); -EOVERFLOW (a record
 * over TRAIL_RECORD_BYTES_MAX, which an entry cannot hold and no store of
 * this trail writes); -EINVAL;
 * TRAIL_E_CORRUPT; -errno. out is as it was on failure.
 */
int trail_store_entry_bundle(struct trail_store *store, uint64_t index, unsigned width,
                             struct trail_buf *out);

/*
 * trail_store_minimum_index - the tlog-tiles minimum index of the store's
 * log at tree_size (a checkpoint's size): the index (seq - 1) from which
 * every entry bundle is served. 0 until retention purges records; after, the
 * first stored record's index rounded up to a whole bundle (a bundle is
 * served whole or not at all), and never above tree_size, as tlog-tiles
 * requires. Entry bundles below it are TRAIL_E_NOT_FOUND.
 */
uint64_t trail_store_minimum_index(struct trail_store *store, uint64_t tree_size);

/* What the store holds, for `trail stats` and metrics. */
struct trail_store_stats {
    uint64_t records; /* records stored (after purges) */
    uint64_t first_seq, last_seq, durable_seq;
    uint64_t segments, sealed_segments;
    uint64_t segment_bytes; /* bytes of segment files */
    uint64_t side_bytes;    /* tree.roots, anchors, checkpoints, store.meta */
    uint64_t index_bytes;   /* the query indexes (seg-*.idx) */
    uint64_t tree_size;     /* leaves, purged ones included (== last_seq) */
    int64_t first_time_us;  /* smallest record time stored (0 when empty) */
    int64_t last_time_us;   /* largest */
    uint64_t unsealed;      /* rolled segments waiting to be sealed (a writer's) */
    uint64_t seal_waits;    /* appends that waited for sealing since open (seal_backlog_max) */
    uint64_t seal_wait_us;  /* the time they waited, in all */
};

/* trail_store_stats - fill ret_stats. Returns 0. */
int trail_store_stats(struct trail_store *store, struct trail_store_stats *ret_stats);

/* Iteration directions. */
enum trail_iter_dir {
    TRAIL_ITER_FORWARD = 0, /* ascending seq */
    TRAIL_ITER_BACKWARD = 1 /* descending seq */
};

/*
 * trail_store_iter_new - an iterator over the records in the given
 * direction, positioned at the first (forward) or last (backward) record.
 * It reads sealed and open segments alike, and a writer's records up to its
 * durable seq (at least) as they come. Caller frees it with
 * trail_store_iter_free() before closing the store. 0 or -ENOMEM.
 */
int trail_store_iter_new(struct trail_store *store, int direction,
                         struct trail_store_iter **ret_iter);

/*
 * trail_store_iter_seek_seq - position at seq: the next record returned is
 * seq, or the first after it (forward) / before it (backward) that exists.
 * Returns 0.
 */
int trail_store_iter_seek_seq(struct trail_store_iter *it, uint64_t seq);

/*
 * trail_store_iter_seek_time - position by time: forward, at the first
 * record in seq order whose time is >= time_us; backward, at the last one
 * whose time is <= time_us. Segment and block time ranges skip what cannot
 * match. Returns 0, or an error reading the store.
 */
int trail_store_iter_seek_time(struct trail_store_iter *it, int64_t time_us);

/*
 * trail_store_iter_next_raw - the next record's canonical bytes (what the
 * Merkle leaf hashes) and seq, without decoding. *ret_rec is owned by the
 * iterator, valid until its next call. Returns 1 with a record, 0 at the
 * end, TRAIL_E_CORRUPT (a record fails its checksum or the seq order;
 * *ret_seq, when not NULL, names the expected seq), or -errno.
 */
int trail_store_iter_next_raw(struct trail_store_iter *it, const uint8_t **ret_rec, size_t *ret_len,
                              uint64_t *ret_seq);

/*
 * trail_store_iter_next - the next record decoded into ev (made from any
 * catalog; its memory is reused, so a loop allocates nothing once warm).
 * Returns 1, 0 at the end, or an error as above.
 */
int trail_store_iter_next(struct trail_store_iter *it, struct trail_event *ev);

/*
 * The head of a stored record: the fields at its start, read in place
 * without decoding the rest (docs/format.md, "Record"), for a reader that
 * decides by them whether the whole event is worth decoding.
 */
struct trail_record_head {
    uint64_t seq;
    int64_t time_us; /* the event's time */
    int severity;    /* 1..10 */
    const char *id;  /* the event id, id_len bytes, not NUL-terminated: points into the
                        iterator's memory, valid until its next call */
    size_t id_len;
    int own; /* 1: written by trail itself (trail_event_is_own() of the decoded event) */
};

/*
 * trail_store_iter_next_head - the next record's head, as
 * trail_store_iter_next_raw() moves on, without decoding the record;
 * trail_store_iter_decode() then decodes it if the caller wants the event.
 * The head is the decoded event's: its seq, time, severity, id and
 * trail_event_is_own() (an id with a NUL byte excepted, which the decoded
 * event ends at the NUL). Returns 1 with *ret_head, 0 at the end, or an
 * error as trail_store_iter_next() would give for the record:
 * TRAIL_E_CORRUPT (also a head whose id is empty or too long, or whose
 * severity is not 1..10), TRAIL_E_VERSION or -errno; *ret_head is
 * untouched then.
 */
int trail_store_iter_next_head(struct trail_store_iter *it, struct trail_record_head *ret_head);

/*
 * trail_store_iter_decode - decode into ev (made from any catalog; its
 * memory is reused) the record that the iterator's last
 * trail_store_iter_next_head() or trail_store_iter_next_raw() returned:
 * what trail_store_iter_next() would have given in their stead. Returns 0;
 * -EINVAL when that call returned no record or a seek came after it;
 * TRAIL_E_CORRUPT, TRAIL_E_VERSION or -ENOMEM.
 */
int trail_store_iter_decode(struct trail_store_iter *it, struct trail_event *ev);

/* trail_store_iter_free - free an iterator. */
void trail_store_iter_free(struct trail_store_iter *it);

/* What a purge did. */
struct trail_store_purge_report {
    uint64_t from_seq, to_seq; /* the seqs removed; from > to when nothing was */
    uint64_t segments;         /* segment files removed */
    uint64_t bytes;            /* their bytes */
    uint64_t event_seq;        /* the seq of the core_server_events_purged record, or 0 */
};

/*
 * trail_store_purge - retention: remove whole sealed segments, oldest
 * first, while their newest record is older than older_than_us (µs since
 * the epoch; 0: no age limit) or while the store is over max_total_bytes
 * (0: no size limit). Never the active segment nor one not yet sealed.
 * Appends a core_server_events_purged record (attributes purged_from_seq,
 * purged_to_seq, count, older_than (by age), segments, bytes, msg, anchor:
 * the chain head and frontier at the purge point in hex) and waits until it
 * is durable. Appends go on
 * meanwhile. ret_report may be NULL. Returns 0, TRAIL_E_READONLY, -errno.
 */
int trail_store_purge(struct trail_store *store, int64_t older_than_us, uint64_t max_total_bytes,
                      struct trail_store_purge_report *ret_report);

/*
 * trail_store_checkpoint_latest - the last checkpoint in DIR/checkpoints: a
 * writer's from memory, a reader's from the file's last complete line. The
 * signature is not checked (trail_checkpoint_verify, trail_verify_store).
 * Returns 0, TRAIL_E_NOT_FOUND (no checkpoint yet), TRAIL_E_PARSE (the last
 * line is not a checkpoint line), or -errno.
 */
int trail_store_checkpoint_latest(struct trail_store *store, struct trail_checkpoint *ret_cp);

/*
 * trail_store_checkpoint_now - sign the durable state now with the store's
 * key (opts.checkpoint_key...) and append it to DIR/checkpoints, synced.
 * When the latest checkpoint already signs this tree size and root, nothing
 * is written and that one is returned. Returns 0, TRAIL_E_READONLY,
 * TRAIL_E_NOT_FOUND (the store has no signing key), -errno, -ENOMEM.
 */
int trail_store_checkpoint_now(struct trail_store *store, struct trail_checkpoint *ret_cp);

/* ------------------------------------------------------------------------ */
/* Verification                                                             */
/* ------------------------------------------------------------------------ */

/*
 * An auditor's check of a whole store directory (lib/verify/verify.c,
 * docs/integrity.md "Verifying a store"). It reads the files itself and
 * trusts none of the store's bookkeeping: every frame checksum, every
 * record's seq, every leaf, the hash chain, the Merkle tree, the group
 * roots of DIR/tree.roots, the anchors of purges, every checkpoint of
 * DIR/checkpoints and its signature, and the store against each external
 * checkpoint given. It works on a store a writer has open (what the writer
 * has not yet written is simply not there yet).
 */

/* The kinds of damage, in the words the reports use (trail_damage_name). */
enum trail_damage {
    TRAIL_DAMAGE_NONE = 0,
    TRAIL_DAMAGE_MODIFIED,        /* "modified": record bytes changed; checksums were made to fit */
    TRAIL_DAMAGE_REMOVED,         /* "removed": records missing inside a segment (seq jumps) */
    TRAIL_DAMAGE_INSERTED,        /* "inserted": a record that does not belong (a second record of a
                                     seq, or more records than the segments leave room for) */
    TRAIL_DAMAGE_DUPLICATED,      /* "duplicated": the same record twice */
    TRAIL_DAMAGE_MOVED,           /* "moved": records out of order */
    TRAIL_DAMAGE_TRUNCATED,       /* "truncated": fewer records than the store's own latest
                                     checkpoint (or tree.roots) covers */
    TRAIL_DAMAGE_SEGMENT_MISSING, /* "segment-missing": no segment holds a run of seqs */
    TRAIL_DAMAGE_SEGMENT_REPLACED, /* "segment-replaced": a segment of another store, or one
                                      that does not continue the one before it */
    TRAIL_DAMAGE_ROLLBACK,    /* "rollback": fewer records than an external checkpoint covers */
    TRAIL_DAMAGE_FORK,        /* "fork": at a checkpoint's size the tree is not the checkpoint's */
    TRAIL_DAMAGE_SIGNATURE,   /* "bad-signature": a checkpoint whose signature does not verify */
    TRAIL_DAMAGE_CHECKPOINT,  /* "bad-checkpoint": a line of DIR/checkpoints that is malformed
                                 or of another store */
    TRAIL_DAMAGE_CHECKSUM,    /* "checksum": a frame, block, index or header fails its CRC */
    TRAIL_DAMAGE_FORMAT,      /* "format": a file or frame that does not parse */
    TRAIL_DAMAGE_SIDE_FILE,   /* "side-file": tree.roots or anchors disagree with the records */
    TRAIL_DAMAGE_UNSIGNED,    /* "unsigned": records no checkpoint signed by a key given covers
                                 (only with trail_verify_opts.require_signed) */
    TRAIL_DAMAGE_QUARANTINED, /* "quarantined": records no segment holds that trail repair
                                 moved to DIR/quarantine/ (listed in DIR/quarantined): known,
                                 documented damage, but the records are gone */
    TRAIL_DAMAGE_CHECKPOINT_TIME /* "checkpoint-time": a checkpoint dated before one of a
                                    smaller tree, or after the verifier's clock, by more than
                                    trail_verify_opts.time_tolerance_us: the seal was made
                                    with a clock set back or ahead (journald's CVE-2023-31439) */
};

/* trail_damage_name - "modified", "removed", ... ("ok" for NONE); never NULL. */
const char *trail_damage_name(int damage);

#define TRAIL_VERIFY_MAX_DAMAGE 16

/* One place found damaged. */
struct trail_verify_damage {
    int kind;          /* enum trail_damage */
    uint64_t seq;      /* the first bad seq, or the lowest it can be; 0 when no record is
                          involved (e.g. a malformed checkpoint line) */
    uint64_t seq_last; /* the highest seq the first bad record can be: == seq when exact */
    char file[64];     /* the file: "seg-0000000000000401.seg", "checkpoints", "tree.roots" */
    char message[400]; /* one sentence, without the seq prefix */
};

/* What trail_verify_store() found. */
struct trail_verify_report {
    uint32_t n_damage; /* places found damaged (at most TRAIL_VERIFY_MAX_DAMAGE kept) */
    struct trail_verify_damage damage[TRAIL_VERIFY_MAX_DAMAGE]; /* in seq order; [0] is
                                                                   the first */
    char store_id[33];                                          /* 32 hex digits; "" when unknown */
    uint64_t segments;                                          /* segment files read */
    uint64_t records;                                           /* records read */
    uint64_t first_seq, last_seq;  /* of the records read (first > last: none) */
    uint8_t root[TRAIL_HASH_LEN];  /* the tree hash at last_seq */
    uint8_t chain[TRAIL_HASH_LEN]; /* the chain head at last_seq */
    uint64_t checkpoints;          /* lines of DIR/checkpoints */
    uint64_t external;             /* external checkpoints given */
    uint64_t signatures;           /* signatures that verified */
    uint64_t checked;              /* checkpoints (either kind) the store was compared against */
    uint64_t latest_size; /* tree size of the latest checkpoint of DIR/checkpoints (0: none) */
    uint64_t group_roots; /* tree.roots entries recomputed and compared */
    uint64_t purges;      /* core_server_events_purged records read */
    uint64_t bytes;       /* segment bytes read */
    int threads;          /* threads used */
    char notes[1024];     /* one line each: what could not be checked, and why */
    /* What vouches for the records (docs/integrity.md §8). A checkpoint counts only
       when its signature verified with a key given and the store holds its tree. */
    uint64_t signed_checkpoints; /* checkpoints (either kind) that count */
    uint64_t signed_size;        /* the largest tree size among them (0: none, or size 0) */
    uint64_t witnessed_size;     /* the largest external checkpoint the store holds (0: none) */
    int64_t witnessed_time_us;   /* its time, µs since the epoch */
};

/* Options of trail_verify_store(). Zero-initialise. */
struct trail_verify_opts {
    const struct trail_key *const *keys; /* public keys that may have signed checkpoints; none:
                                            signatures are not checked (a note says so) */
    size_t n_keys;
    const struct trail_checkpoint *checkpoints; /* external checkpoints (a witness's) */
    size_t n_checkpoints;
    int threads; /* 0: one per online CPU, at most 8 */
    /* With keys: records after the largest checkpoint signed by a key given that the
       store holds are damage ("unsigned"), and so is a store with no such checkpoint at
       all. What the keys sign is the only thing a reader who trusts no file of the store
       can rely on; without this, a store whose checkpoints were deleted verifies. */
    int require_signed;
    uint64_t allow_unsigned_tail; /* with require_signed: this many records after the last
                                     signed checkpoint are only noted (a live store's records
                                     since its last checkpoint); never when none is signed */
    /* Checkpoint times (each is signed): a checkpoint of a larger tree dated before one
       of a smaller tree by more than time_tolerance_us is damage ("checkpoint-time"), and
       so is one dated after now_us by more than it. Those whose signature failed are not
       judged. */
    int64_t time_tolerance_us; /* 0: TRAIL_VERIFY_TIME_TOLERANCE_US; < 0: times unchecked */
    int64_t now_us;            /* the clock to judge against; 0: trail_now() */
};

/* The default tolerance for a checkpoint dated in the future: 5 minutes of clock skew. */
#define TRAIL_VERIFY_TIME_TOLERANCE_US (300 * 1000000LL)

/*
 * trail_verify_store - check the store in dir (above). Damage is a finding,
 * not an error: the call returns 0 and fills ret_report, whose n_damage is
 * 0 only when everything holds. Returns 0; TRAIL_E_NOT_FOUND when dir holds
 * no store (no store.meta and no segment); -errno when dir cannot be read;
 * -ENOMEM. ret_report is filled whenever 0 is returned.
 */
int trail_verify_store(const char *dir, const struct trail_verify_opts *opts,
                       struct trail_verify_report *ret_report);

/*
 * Evidence bundles: records of a store, their inclusion proofs and one
 * checkpoint (cosigned by witnesses when a tlog-witness sink got it
 * cosigned) in one text file, trail-bundle/1 (docs/integrity.md, "Evidence
 * bundles"), that its holder checks offline with nothing else.
 */
#define TRAIL_BUNDLE_MAX 1000 /* events in one bundle */

/*
 * trail_bundle_make - append to out the bundle of the records seqs[0..n)
 * (in any order; repeats count once) of store, whose directory is dir. The
 * checkpoint is the newest one in dir/sinks/NAME.cosigned (a tlog-witness
 * sink's) that covers every record and that the store's tree agrees with,
 * with the cosignature lines of every such file; else latest (NULL: the
 * last of dir/checkpoints) alone. Every proof is checked against the
 * checkpoint's root before it is written. Sets *ret_cosignatures (may be
 * NULL) to the number of cosignature lines. Returns 0; -EINVAL (n is 0 or
 * over TRAIL_BUNDLE_MAX); TRAIL_E_NOT_FOUND (a record not in the store, or
 * no checkpoint covers them yet); TRAIL_E_INTEGRITY (the store's tree does
 * not lead to the checkpoint's root); -ENOMEM or another -errno. err (size
 * errlen) says why. out is unchanged on failure.
 */
int trail_bundle_make(struct trail_store *store, const char *dir,
                      const struct trail_checkpoint *latest, const uint64_t *seqs, size_t n,
                      struct trail_buf *out, size_t *ret_cosignatures, char *err, size_t errlen);

/* One event of a bundle, read. */
struct trail_bundle_event {
    uint64_t seq;
    uint8_t *record; /* the record's canonical bytes */
    size_t record_len;
    /* the inclusion proof of leaf seq - 1 in the checkpoint's tree; its leaf_hash is
       computed from record, so that verifying the proof checks the record */
    struct trail_proof proof;
};

/* A bundle, read: nothing in it is checked yet but its form. */
struct trail_bundle {
    uint8_t store_id[16]; /* the store's id: derives the uuid of events stored without one */
    char *note;           /* the checkpoint's signed note with its cosignatures, NUL-terminated */
    size_t note_len;
    struct trail_checkpoint checkpoint; /* read from the note; signature not checked */
    size_t n_events;
    struct trail_bundle_event *events; /* by increasing seq, each <= checkpoint.tree_size */
};

/*
 * trail_bundle_parse - read the bundle text[0..len). Checks only its form:
 * signatures, cosignatures and proofs are the caller's to check
 * (trail_checkpoint_verify, trail_witness_policy_check on note,
 * trail_proof_verify_inclusion with each event's proof.leaf_hash). Returns
 * 0 with *ret (free with trail_bundle_free), TRAIL_E_PARSE with err saying
 * which line is wrong and how, or -ENOMEM.
 */
int trail_bundle_parse(const char *text, size_t len, struct trail_bundle **ret, char *err,
                       size_t errlen);

/*
 * trail_bundle_event_decode - decode event i of b from its record into ev
 * (made with trail_event_new(cat, NULL, ..); its content is replaced).
 * Returns 0, TRAIL_E_CORRUPT (not a record, or one of another seq),
 * TRAIL_E_VERSION, -EINVAL (no event i) or -ENOMEM.
 */
int trail_bundle_event_decode(const struct trail_bundle *b, size_t i, struct trail_event *ev);

/* trail_bundle_free - free a bundle (NULL: nothing). */
void trail_bundle_free(struct trail_bundle *b);

/* ------------------------------------------------------------------------ */
/* Query                                                                    */
/* ------------------------------------------------------------------------ */

/*
 * Searching and counting a store's events (docs/query.md). A query is made
 * of named parameters, the same on the command line (--since), in an HTTP
 * query string (since=) and here:
 *
 *   since, until  RFC 3339 with any offset, a date (2026-11-01: midnight
 *                 UTC), "now", or a time before now: N and s, m, h, d or w
 *                 (15m, 24h, 7d). since is included, until is not.
 *   event         a glob over event ids (* ? [set] [!set]); repeatable, ORed
 *   severity      LEVEL, =LEVEL, >=LEVEL, >LEVEL, <=LEVEL, <LEVEL, LOW..HIGH
 *                 (trail_severity_range_parse)
 *   where         key=value, key!=value (also true when the attribute is
 *                 missing), key^=prefix; an IP attribute also takes a
 *                 network, src=10.0.0.0/8; repeatable, ANDed
 *   text          words that must each appear, as whole words in any case,
 *                 in some attribute value ("alice 203.0.113.7"); repeatable,
 *                 ANDed
 *   order         newest (default) or oldest: by seq, the order events were
 *                 received in; time or -time: by event time (ties by seq),
 *                 oldest or newest event time first
 *   limit         events per page; 0 for no limit (default 100)
 *   cursor        where an earlier page stopped (trail_results_cursor)
 *   by            what trail_count_run() groups by: event, severity, hour,
 *                 day or an attribute key of the catalog; up to
 *                 TRAIL_COUNT_MAX_BY of them separated by commas
 *
 * Paging: a cursor is the seq an earlier page stopped at, its order, the
 * clock its relative times were read with, and a hash of its filters. The
 * next page continues strictly past that seq, so it neither skips nor
 * repeats an event, however many arrive meanwhile. In time order the
 * cursor is the (time, seq) the page stopped at and the horizon (last seq)
 * of the first page: later pages continue strictly past (time, seq) over
 * the events that were there at the first page, so events arriving
 * meanwhile (with any time) neither shift nor join the pages; a new search
 * sees them.
 *
 * The index (struct trail_index) is what searches need from one store
 * handle: the sealed segments' .idx files, an in-memory index of the
 * records not sealed yet, and a cache of decompressed blocks. It is
 * thread-safe; each search has its own struct trail_results.
 */
#define TRAIL_COUNT_MAX_BY     3
#define TRAIL_QUERY_CURSOR_MAX 128 /* bytes of a cursor's text, NUL included */

enum trail_order {
    TRAIL_ORDER_NEWEST = 0,   /* descending seq: newest received first */
    TRAIL_ORDER_OLDEST = 1,   /* ascending seq */
    TRAIL_ORDER_TIME = 2,     /* ascending (event time, seq): oldest event time first */
    TRAIL_ORDER_TIME_DESC = 3 /* descending (event time, seq): newest event time first */
};

struct trail_query;
struct trail_index;
struct trail_results;

/*
 * trail_query_new - an empty query (every event, newest first, limit 100)
 * that reads names against cat (event globs, --by keys). cat must outlive
 * the query. Caller frees with trail_query_free(). 0 or -ENOMEM.
 */
int trail_query_new(const struct trail_catalog *cat, struct trail_query **ret_query);

/* trail_query_free - free a query. */
void trail_query_free(struct trail_query *q);

/*
 * trail_query_set - set (or, for event, where and text, add) one parameter
 * by name (above; leading dashes are ignored, so "--since" works too).
 * Returns 0, or TRAIL_E_PARSE with err (if not NULL, size errlen) naming
 * the parameter as given and what is wrong with it ("bad --since
 * '2026-13-01': ..."; "unknown parameter 'x'"). The query is unchanged on
 * failure. Relative times are resolved when a search starts.
 */
int trail_query_set(struct trail_query *q, const char *name, const char *value, char *err,
                    size_t errlen);

/*
 * trail_query_parse - set the parameters of a URL query string,
 * qs[0..len) ("since=24h&event=auth_*&where=duser%3Dalice"): pairs split
 * at '&', names from values at the first '=', %XX and '+' decoded.
 * Returns 0, or the first failure of trail_query_set() (TRAIL_E_PARSE,
 * with err) or for bad percent-encoding; the query may then hold the
 * pairs before the bad one.
 */
int trail_query_parse(struct trail_query *q, const char *qs, size_t len, char *err, size_t errlen);

/*
 * trail_query_format - append the query as a URL query string, the
 * parameters in the order they were set, percent-encoded; cursor (may be
 * NULL) replaces the query's own. Returns 0 or -ENOMEM.
 */
int trail_query_format(const struct trail_query *q, const char *cursor, struct trail_buf *out);

/* trail_query_set_clock - read relative times against now_us (tests); 0: the wall clock. */
void trail_query_set_clock(struct trail_query *q, int64_t now_us);

/*
 * trail_query_start_after - continue oldest first after seq (a follower's
 * position, e.g. an SSE client's Last-Event-ID), whatever the filters; it
 * replaces a cursor.
 */
void trail_query_start_after(struct trail_query *q, uint64_t seq);

/* trail_query_order, trail_query_limit - what the query asks for. */
int trail_query_order(const struct trail_query *q);
uint64_t trail_query_limit(const struct trail_query *q);

/* Options of trail_index_open(). Zero-initialise; zero means the default. */
struct trail_index_opts {
    size_t cache_bytes; /* decompressed blocks kept for later searches; 64 MiB */
};

/*
 * trail_index_open - the indexes of an open store, for searching. Sealed
 * segments are read through their .idx files; a missing or damaged one is
 * rebuilt in memory (and, on a writer's handle, written again). Records not
 * yet sealed are indexed in memory as searches find them. The store must
 * outlive the index. Caller closes with trail_index_close(). 0 or -ENOMEM.
 */
int trail_index_open(struct trail_store *store, const struct trail_index_opts *opts,
                     struct trail_index **ret_index);

/* trail_index_close - free the index (searches on it must be freed first). */
void trail_index_close(struct trail_index *ix);

/*
 * trail_index_refresh - catch up with the store now: new segment files,
 * seals, purges, and the records durable (a reader: complete) since the
 * last refresh. Every search does it first. Returns 0, or an error reading
 * the store (-errno, TRAIL_E_CORRUPT).
 */
int trail_index_refresh(struct trail_index *ix);

/* trail_index_horizon - the last seq the index has seen (after a refresh). */
uint64_t trail_index_horizon(struct trail_index *ix);

/* What an index holds, for metrics and tests. */
struct trail_index_stats {
    uint64_t segments;     /* segments known */
    uint64_t idx_files;    /* read through a good .idx file */
    uint64_t rebuilt;      /* .idx missing or damaged, rebuilt since open */
    uint64_t live_records; /* records indexed in memory (not sealed or no .idx yet) */
    uint64_t idx_bytes;    /* bytes of the .idx files in use */
    uint64_t cache_bytes;  /* decompressed blocks held */
    uint64_t cache_hits, cache_misses;
    uint64_t horizon; /* as trail_index_horizon() */
};

/* trail_index_stats - fill ret_stats. Returns 0. */
int trail_index_stats(struct trail_index *ix, struct trail_index_stats *ret_stats);

/*
 * trail_results_open - start a search: refresh the index, then find the
 * events of q in its order, at most its limit, after its cursor. Returns 0
 * and a search the caller frees with trail_results_free() (before closing
 * ix); TRAIL_E_PARSE with err naming the problem when the cursor belongs to
 * another order or other filters; -errno or TRAIL_E_CORRUPT reading the
 * store; -ENOMEM.
 */
int trail_results_open(struct trail_index *ix, const struct trail_query *q,
                       struct trail_results **ret_results, char *err, size_t errlen);

/*
 * trail_results_next - the next matching event, decoded into ev (made from
 * any catalog; its memory is reused). Returns 1, 0 when there is none left
 * (or the limit is reached), or -errno / TRAIL_E_CORRUPT.
 */
int trail_results_next(struct trail_results *res, struct trail_event *ev);

/* The text forms of trail_results_write(): what the event writers write. */
enum trail_rows_form {
    TRAIL_ROWS_CSV = 1, /* trail_event_to_csv() (no header row) */
    TRAIL_ROWS_NDJSON,  /* trail_event_to_json() */
    TRAIL_ROWS_CEF,     /* trail_event_to_cef() with the options given (log_prefix: event.log) */
};

/*
 * trail_results_write - the next matching events as text rows, each with
 * its "\n": exactly what trail_results_next() and the form's writer would
 * write (the same events, in the same order, counted against the same
 * limit, the cursor continuing after the last one), but read from the
 * stored records in place, without decoding each into an event: the way
 * to write a whole store out fast (traild's export, `trail query
 * --format csv|ndjson|cef|eventlog`).
 *
 * From its first call the search reads ahead: a thread of its own (ended
 * by trail_results_free()) decompresses the next block it will read while
 * the rows of this one are written, so that on two cores the two overlap.
 *
 * Appends to out until out->len reaches want, or the search ends. ev is a
 * scratch event the caller made of the catalog to write with (its
 * descriptions and declared keys go into CEF; a record the fast path does
 * not take is decoded into it); what it holds afterwards is unspecified.
 * cef is for TRAIL_ROWS_CEF (NULL: the defaults).
 *
 * Returns 1 when the search may hold more, 0 when it ended (or reached its
 * limit), or an error as trail_results_next() (or -EINVAL for a form it
 * does not know); *ret_rows is how many rows were appended, also on an
 * error (out holds those rows, whole).
 */
int trail_results_write(struct trail_results *res, struct trail_event *ev, int form,
                        const struct trail_cef_opts *cef, struct trail_buf *out, size_t want,
                        uint64_t *ret_rows);

/*
 * trail_results_cursor - the cursor that continues after the events
 * returned so far (when none matched: after everything looked at). Writes
 * at most size bytes (TRAIL_QUERY_CURSOR_MAX is enough) with the NUL.
 * Returns 0, or -ENOSPC.
 */
int trail_results_cursor(const struct trail_results *res, char *buf, size_t size);

/*
 * trail_results_skipped - the known damage (trail_store_damage_list()) inside
 * the seqs this search looked at so far: runs it could not read and went
 * past. For a page, call it after the last trail_results_next(). A malloc'd
 * array the caller frees (NULL and 0 when none); 0 or -ENOMEM.
 */
int trail_results_skipped(struct trail_results *res, struct trail_store_damage **ret,
                          size_t *ret_n);

/*
 * trail_index_damage - the known damage that touches seqs [from, to], as
 * trail_results_skipped() (for counts: their records are not counted).
 */
int trail_index_damage(struct trail_index *ix, uint64_t from, uint64_t to,
                       struct trail_store_damage **ret, size_t *ret_n);

/* trail_results_more - 1 when the limit stopped the search (a next page may hold more). */
int trail_results_more(const struct trail_results *res);

/*
 * trail_results_horizon - the last seq the search could see (every record
 * up to it was indexed when it started): a follower that wants every later
 * event goes on after it (trail_query_start_after).
 */
uint64_t trail_results_horizon(const struct trail_results *res);

/* trail_results_free - end a search. */
void trail_results_free(struct trail_results *res);

/* One group of a count: its keys (NULL where the attribute is missing) and its events. */
struct trail_count_row {
    uint64_t count;
    const char *keys[TRAIL_COUNT_MAX_BY];
};

/*
 * A count: the names grouped by ("event", "hour", "duser", ...), the total,
 * and the rows, in key order when the first dimension is hour or day, else
 * by count (largest first), then key.
 */
struct trail_count {
    int n_by;
    const char *by[TRAIL_COUNT_MAX_BY];
    uint64_t total;
    size_t n_rows;
    struct trail_count_row *rows;
};

/*
 * trail_count_run - count the events of q (order, limit and cursor are
 * ignored) grouped by its "by" parameter (no groups without it: only the
 * total). Whole hours counted by event and severity come from the
 * indexes' rollups without reading records. Returns 0 and a count the
 * caller frees with trail_count_free(), or errors as trail_results_open().
 */
int trail_count_run(struct trail_index *ix, const struct trail_query *q,
                    struct trail_count **ret_count, char *err, size_t errlen);

/* trail_count_free - free a count. */
void trail_count_free(struct trail_count *c);

/* ------------------------------------------------------------------------ */
/* ClickHouse as a query source                                             */
/* ------------------------------------------------------------------------ */

/*
 * The events a clickhouse sink copied into ClickHouse, searched and counted
 * with the same queries as a store (docs/clickhouse.md, "Searching it with
 * trail"): the filters become SQL over the sink's table, sent to
 * ClickHouse's HTTP interface, and the answers come back as events and
 * counts in the store's order, with the store's cursors. Filters that the
 * table cannot answer exactly (the received time, provenance, a where value
 * not in trail's text form) are refused with TRAIL_E_PARSE. One search
 * covers the events of one store (the table's store_id): seqs order them.
 */
struct trail_ch;
struct trail_ch_results;

/* Options of trail_ch_open(). Zero-initialise; zero means the default. */
struct trail_ch_opts {
    const char *table;    /* DB.TABLE of [A-Za-z0-9_]; "trail.events" (the sink's default) */
    const char *store_id; /* the store whose events to search; NULL: the only one the table holds */
    const char *user, *password; /* ClickHouse's user; NULL: its default user */
    const char *ca;              /* https: a PEM CA file; NULL: the system's store */
    int insecure;                /* https: do not check the certificate */
    int timeout_ms;              /* every wait; 30000 */
};

/*
 * trail_ch_open - a source over ClickHouse at url ("http://HOST:8123/") with
 * opts (may be NULL), reading event ids and types against cat (which must
 * outlive it: the catalog traild stores with). Does not connect. Returns 0
 * and a source the caller closes with trail_ch_close(), -EINVAL with err
 * for a bad URL or table name, -ENOMEM.
 */
int trail_ch_open(const char *url, const struct trail_ch_opts *opts,
                  const struct trail_catalog *cat, struct trail_ch **ret_ch, char *err,
                  size_t errlen);

/* trail_ch_close - close the connection and free the source; NULL is a no-op. */
void trail_ch_close(struct trail_ch *ch);

/*
 * trail_ch_results_open - start a search of q, as trail_results_open():
 * order by seq or by event time (the table's time_us, ties by seq), limit,
 * cursor (the store's cursor form, interchangeable with
 * a store's when both hold the same events). Rows are fetched in pages of
 * up to 10,000 as trail_ch_results_next() needs them. Returns 0 and a
 * search freed with trail_ch_results_free(); TRAIL_E_PARSE with err for a
 * filter or cursor that cannot be used; -EPROTO with err when ClickHouse
 * refused or answered something unreadable; other -errno with err for the
 * connection.
 */
int trail_ch_results_open(struct trail_ch *ch, const struct trail_query *q,
                          struct trail_ch_results **ret_results, char *err, size_t errlen);

/*
 * trail_ch_results_next - the next matching event decoded into ev (its
 * attributes typed by the catalog, undeclared ones as strings; no received
 * time or provenance: the table has none). 1, 0 when done or at the limit,
 * or a negative code (trail_ch_results_error() says why).
 */
int trail_ch_results_next(struct trail_ch_results *res, struct trail_event *ev);

/* trail_ch_results_error - the last failure's message ("" when none). */
const char *trail_ch_results_error(const struct trail_ch_results *res);

/* trail_ch_results_cursor, _more - as trail_results_cursor() and trail_results_more(). */
int trail_ch_results_cursor(const struct trail_ch_results *res, char *buf, size_t size);
int trail_ch_results_more(const struct trail_ch_results *res);

/* trail_ch_results_free - end a search; NULL is a no-op. */
void trail_ch_results_free(struct trail_ch_results *res);

/*
 * trail_ch_count_run - count the events of q grouped by its "by", as
 * trail_count_run() (the same keys and row order), in ClickHouse. Returns 0
 * and a count freed with trail_count_free(), or errors as
 * trail_ch_results_open().
 */
int trail_ch_count_run(struct trail_ch *ch, const struct trail_query *q,
                       struct trail_count **ret_count, char *err, size_t errlen);

/* ------------------------------------------------------------------------ */
/* Reports                                                                  */
/* ------------------------------------------------------------------------ */

/*
 * A report is a named, described, categorised list of sections, each a
 * search ("events = TITLE") or a count ("count = TITLE") with the filters
 * of a query (event, severity, where, text, by, order, limit) and a time
 * range read against a "now" given when it runs (docs/reports.md):
 *
 *   last N(s|m|h|d|w)   [now - N, now)
 *   today, yesterday    the UTC day of now (to now), the day before
 *   this P, previous P  P is week (from Monday), month, quarter or year, UTC:
 *                       this one (to now), or the whole one before it
 *   SINCE .. UNTIL      RFC 3339 times or dates (midnight UTC); either may be
 *                       left out (open); "all": every event
 *
 * Definitions come in the INI form of trail.conf: a "[report NAME]"
 * section per report, NAME of [a-z0-9_-], 1 to 64 bytes.
 */
struct trail_reports;
struct trail_report;

enum trail_report_format {
    TRAIL_REPORT_TABLE = 0, /* text for a terminal, escaped */
    TRAIL_REPORT_CSV = 1,   /* per section: a title row, a header row, rows; a blank line between */
    TRAIL_REPORT_JSON = 2,  /* one object (docs/reports.md) */
    TRAIL_REPORT_HTML = 3   /* one self-contained page: tables, inline SVG bars, no script */
};

/*
 * trail_reports_new - an empty set of reports whose filters are read
 * against cat (which must outlive it). Free with trail_reports_free().
 * 0 or -ENOMEM.
 */
int trail_reports_new(const struct trail_catalog *cat, struct trail_reports **ret_reports);

/* trail_reports_free - free the set and its reports. */
void trail_reports_free(struct trail_reports *rs);

/*
 * trail_reports_set - one "key = value" line of the section [report name]
 * (made at its first line), in the order of the file: title, category,
 * description (repeated lines are joined) and range are the report's;
 * "count = TITLE" and "events = TITLE" start a section, and the keys after
 * it (range, limit, event, severity, where, text, by, order) are that
 * section's. where names the source for messages (may be NULL). Returns 0,
 * or TRAIL_E_PARSE with err saying what is wrong; -ENOMEM.
 */
int trail_reports_set(struct trail_reports *rs, const char *name, const char *key,
                      const char *value, const char *where, char *err, size_t errlen);

/*
 * trail_reports_load_file - read the [report NAME] sections of the INI file
 * at path (other sections are skipped, so a trail.conf can be read too);
 * trail_reports_load_dir - every *.conf file of dir, in name order. A report
 * defined again by a later file or section is refused. Returns 0,
 * TRAIL_E_PARSE with err naming the file and line, -errno reading.
 */
int trail_reports_load_file(struct trail_reports *rs, const char *path, char *err, size_t errlen);
int trail_reports_load_dir(struct trail_reports *rs, const char *dir, char *err, size_t errlen);

/*
 * trail_reports_check - after loading: every report has a section and each
 * section's keys fit its kind ("by" is for counts). Returns 0 or
 * TRAIL_E_PARSE with err.
 */
int trail_reports_check(const struct trail_reports *rs, char *err, size_t errlen);

/* trail_reports_count, trail_reports_at - the reports in name order (i < count), or NULL. */
size_t trail_reports_count(const struct trail_reports *rs);
const struct trail_report *trail_reports_at(const struct trail_reports *rs, size_t i);

/* trail_reports_find - the report named name, or NULL. */
const struct trail_report *trail_reports_find(const struct trail_reports *rs, const char *name);

/* What a report is, for lists; the strings are the report's. */
struct trail_report_info {
    const char *name, *title, *category, *description, *source;
    size_t sections;
    const char *schedule, *deliver; /* as written; "" none */
    const char *zone;               /* the schedule's time zone; "UTC" without one */
    const char *range;              /* the report's range (default "last 7d") */
};

/* trail_report_info - fill ret_info. */
void trail_report_info(const struct trail_report *r, struct trail_report_info *ret_info);

/*
 * trail_report_json - append the report as one object: {"name", "title",
 * "category", "description", "schedule" (or null), "zone", "deliver" (or
 * null), "formats":[...], "sections":[{"title", "kind", "range"}, ...]},
 * then whatever extra (may be NULL) appends before the closing brace
 * (",\"key\":value" members). 0, -ENOMEM or extra's error.
 * trail_reports_list_json - {"reports":[one such object per report]} and
 * a newline. trail_reports_list_table - a header line NAME CATEGORY TITLE
 * and a line per report, aligned, escaped.
 */
int trail_report_json(const struct trail_report *r, struct trail_buf *out,
                      int (*extra)(void *arg, const struct trail_report *r, struct trail_buf *out),
                      void *arg);
int trail_reports_list_json(const struct trail_reports *rs, struct trail_buf *out,
                            int (*extra)(void *arg, const struct trail_report *r,
                                         struct trail_buf *out),
                            void *arg);
int trail_reports_list_table(const struct trail_reports *rs, struct trail_buf *out);

/* trail_report_describe - append the report's definition as its INI section. 0 or -ENOMEM. */
int trail_report_describe(const struct trail_report *r, struct trail_buf *out);

/*
 * trail_report_format_parse - "table", "csv", "json" or "html" into
 * *ret_format. 0 or TRAIL_E_PARSE.
 */
int trail_report_format_parse(const char *text, int *ret_format);

/*
 * trail_report_range - the range text (as above) resolved against now_us:
 * [*ret_since, *ret_until), INT64_MIN / INT64_MAX where open. 0 or
 * TRAIL_E_PARSE with err.
 */
int trail_report_range(const char *text, int64_t now_us, int64_t *ret_since, int64_t *ret_until,
                       char *err, size_t errlen);

/*
 * Schedules (docs/reports.md, "Schedules"): "schedule = daily 06:00
 * Europe/Stockholm", "weekly MON 06:00 ZONE", "monthly 1 06:00 ZONE"; the
 * zone (default UTC) is read from the tz database (/usr/share/zoneinfo,
 * $TZDIR) and is also the zone of the report's calendar periods (today,
 * yesterday, this/previous day, week, month, quarter, year) wherever it
 * runs. trail_report_schedule_next - the first run strictly after
 * after_us; trail_report_schedule_last - the latest run at or before
 * at_us. 0, or TRAIL_E_NOT_FOUND (no schedule).
 */
int trail_report_schedule_next(const struct trail_report *r, int64_t after_us, int64_t *ret_us);
int trail_report_schedule_last(const struct trail_report *r, int64_t at_us, int64_t *ret_us);

/*
 * trail_report_period - the report's own range (its "range", default last
 * 7d) resolved against now_us in its zone: [*ret_since, *ret_until),
 * INT64_MIN / INT64_MAX where open. 0 or TRAIL_E_PARSE.
 */
int trail_report_period(const struct trail_report *r, int64_t now_us, int64_t *ret_since,
                        int64_t *ret_until);

/*
 * trail_report_formats - what a scheduled run renders ("formats = html,
 * csv"): bit 1 << TRAIL_REPORT_* per format; html when none is named.
 */
unsigned trail_report_formats(const struct trail_report *r);

/*
 * trail_report_run - run every section of r over ix with the ranges read
 * against now_us (0: the wall clock) and append the result to out in the
 * format (enum trail_report_format). Reads ix only; thread-safe. Returns 0,
 * or the error of a search (as trail_results_open(), with err); out may
 * then hold a part of the report.
 */
int trail_report_run(const struct trail_report *r, struct trail_index *ix, int64_t now_us,
                     int format, struct trail_buf *out, char *err, size_t errlen);

/*
 * trail_report_run_ch - trail_report_run() over ClickHouse's copy of the
 * events (trail_ch_open()): the same sections, ranges and output, each
 * query and count asked of ClickHouse. A sinks or checkpoints section reads
 * the store's own files and is refused (-EINVAL with err naming it); the
 * errors of a search are trail_ch_results_open()'s.
 */
int trail_report_run_ch(const struct trail_report *r, struct trail_ch *ch, int64_t now_us,
                        int format, struct trail_buf *out, char *err, size_t errlen);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif /* TRAIL_H */
