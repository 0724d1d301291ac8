/*
 * traild.h - what traild's files share: the running daemon's state, the
 * decoding one item into a validated event.
 *
 * Not here: configuration (config.h), the queue to the store (ingest.h),
 * metrics (metrics.h), logging (log.h), the input plug-in interface
 * (daemon/inputs/input.h).
 */
#ifndef TRAILD_H
#define TRAILD_H

#include "core/config.h"
#include "core/ingest.h"
#include "trail.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

/* The running daemon. */
struct traild {
    _Atomic(struct config *) cfg; /* the config in force; replaced on SIGHUP */
    struct trail_store *store;
    struct ingest *ingest;
    atomic_int stopping; /* SIGTERM received: inputs refuse new work */
    pthread_mutex_t cp_lock;
    int have_checkpoint;
    struct trail_checkpoint checkpoint; /* the latest signed checkpoint */
    struct trail_key *signing_key;
    uint64_t opened_last_seq; /* the store's last seq when it opened */
    int accept_truncation;    /* [store] accept_truncation named that seq: sinks past it reset */
    char sinks_reset[512];    /* the sinks whose cursors were reset so (sinks_start) */
    /* GET /v1/rules: the detector's answer (detect_rules_json, set by main: detection lives
       beside the HTTP part, not below it); NULL: none */
    int (*rules_json)(struct trail_buf *out);
};

extern struct traild traild;

/*
 * traild_config - the config in force. A config is never freed while traild
 * runs (reloads retire it), so the pointer and its catalog stay valid.
 */
static inline struct config *traild_config(void)
{
    return atomic_load_explicit(&traild.cfg, memory_order_acquire);
}

/* The wire forms an item may come in. */
enum item_format {
    FMT_JSON = 1,   /* one JSON object (trail_event_from_json) */
    FMT_CEF = 2,    /* one CEF line, with or without the event.log prefix */
    FMT_SYSLOG = 3, /* one RFC 5424 or RFC 3164 message (trail_event_from_syslog) */
    FMT_LINE = 4    /* a line: JSON when it starts with '{', else CEF */
};

/*
 * Where items come from, as each input knows it: what decode_item() writes
 * into every event's provenance (docs/format.md, "Record"). The decoders
 * never read provenance from the item itself.
 */
struct provenance {
    int input;              /* enum trail_input */
    const char *name;       /* the input's name (a [follow NAME]), or NULL */
    struct trail_peer peer; /* family 0: none */
    char principal[256];    /* token name, certificate subject, or "uid=N"; "" none */
    /* a relay's store origin (the Trail-Relay-Origin header of a caller with the relay
       role): JSON items are relayed events (trail_event_parse_relayed_json); NULL: none */
    const char *relay_origin;
};

/* provenance_init - pv for input (enum input_kind), with no peer or principal. */
void provenance_init(struct provenance *pv, int input_kind, const char *name);

/*
 * provenance_peer - the peer of pv from a socket address: IPv4 and IPv6 give
 * address and port; a Unix socket's peer credentials (fd >= 0) give the
 * principal "uid=N" (the kernel vouches for it).
 */
void provenance_peer(struct provenance *pv, const struct sockaddr *sa, int fd);

/*
 * decode_item - decode data[0..len) in the given format with cfg's catalog,
 * give it pv's provenance (NULL: none) and, when it names no host, the
 * peer's address as host, then validate it under cfg's policy. Returns 0
 * and the event (the caller gives it back with decoded_release()), or the
 * error code with err naming the problem. Thread-safe.
 */
int decode_item(const struct config *cfg, int format, const char *data, size_t len,
                const struct provenance *pv, struct trail_event **ret_event, char *err,
                size_t errlen);

/*
 * own_record_submit - validate ev (one of trail's own records, marked) and
 * queue it to ingest; it is freed once stored, or now on failure (logged).
 * Returns 0 or the error. Thread-safe. (own_records.c)
 */
int own_record_submit(struct trail_event *ev);

/*
 * reject_item_keep - reject_item(), and for the inputs that cannot answer
 * per event (all but HTTP) keep what was refused as trail's own
 * trail_event_rejected record: the input, the peer (pv, may be NULL), the
 * reason, and raw[0..raw_len) escaped (docs/traild.md, "Bad input"), at
 * most [limits] rejected_events_per_minute per peer; what is held back is
 * counted in the next record that is stored. Thread-safe. (rejected.c)
 */
void reject_item_keep(const struct config *cfg, int input, int code, const struct provenance *pv,
                      const char *sender, const char *err, const char *raw, size_t raw_len);

/* decoded_release - give back an event decode_item() returned (to be reused); NULL: no-op. */
void decoded_release(struct trail_event *ev);

/* decoded_pool_free - free the events kept for reuse (at exit). */
void decoded_pool_free(void);

/*
 * reject_item - count a rejected item for input and log it (rate-limited)
 * with the sender and the problem.
 */
void reject_item(int input, int code, const char *sender, const char *err);

/* traild_event_uuid - the uuid of a stored event: its own, or the store's derived one. */
void traild_event_uuid(const struct trail_event *ev, uint8_t ret_uuid[16]);

#endif /* TRAILD_H */
