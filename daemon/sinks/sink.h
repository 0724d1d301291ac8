/*
 * sink.h - traild's delivery: the sink plug-in interface, the [sink NAME]
 * configuration, and the runner that feeds each sink from the store. The
 * sinks connect and speak HTTP through libtrail's one client (lib/client:
 * net.h, http.h).
 *
 * Each configured sink gets one thread. The thread reads the store with its
 * own iterator from the sink's durable cursor (the last seq it delivered,
 * kept in STORE/sinks/NAME.cursor), hands the events that pass the sink's
 * filters to the plug-in's write(), then calls flush(); only when flush()
 * says the peer has them does the cursor move and get saved (write, fsync,
 * rename). A failure closes the plug-in, waits (exponential backoff) and
 * starts again from the saved cursor: delivery is at-least-once, in order,
 * and ingest never waits for a sink. docs/sinks.md for operators.
 *
 * The [sink NAME] keys are typed tables (struct sink_key): the common keys
 * in sink_conf.c, each type's own beside its plug-in. sink_conf.c parses a
 * section once into typed fields (struct sink_conf, and the type's options
 * struct at conf->typed) and writes docs/sinks.md's option tables from the
 * same tables (`traild --sink-options-markdown`).
 *
 * Not here: the plug-ins themselves (sink_file.c, sink_syslog.c,
 * sink_webhook.c, sink_clickhouse.c), parsing the rest of the config
 * (config.c calls sink_conf_load for [sink NAME] sections).
 */
#ifndef TRAILD_SINK_H
#define TRAILD_SINK_H

#include "trail.h"

#include <stddef.h>
#include <stdint.h>

struct sink_conf;

/*
 * One thing to deliver: an event (ev set) or, for a witness sink, a signed
 * checkpoint (checkpoint set: its one-line text form, and cp the struct).
 */
struct sink_item {
    const struct trail_event *ev;
    const char *checkpoint;
    size_t checkpoint_len;
    const struct trail_checkpoint *cp;
    uint64_t seq;              /* the event's seq, or the checkpoint's tree size */
    struct trail_store *store; /* a checkpoint's: the store, for its consistency proofs */
    const char *sinks_dir;     /* a checkpoint's: STORE/sinks, where a sink keeps its files */
};

/* The type of a sink key's value, and of its field in the options struct. */
enum sink_key_type {
    SINK_KEY_STRING = 1, /* const char *: the value as written (NULL when unset) */
    SINK_KEY_INT,        /* int64_t, in [min, max] */
    SINK_KEY_BOOL,       /* int: true/false, yes/no, on/off, 1/0 */
    SINK_KEY_DURATION,   /* int64_t milliseconds: N (ms) or N with ms, s, m, h; in [min, max] */
    SINK_KEY_SIZE,       /* int64_t bytes: N with K, M or G (1024s); in [min, max] */
    SINK_KEY_URL,        /* struct client_url (lib/client/url.h): http:// or https:// */
    SINK_KEY_ENUM,       /* int: the index of the value in choices ("udp|tcp|tls") */
};

/*
 * One key of a sink type: how it is parsed into the type's options struct,
 * and what docs/sinks.md says of it (its option tables are made from these).
 */
struct sink_key {
    const char *name;
    enum sink_key_type type;
    size_t offset;        /* of its field in the type's options struct */
    const char *def;      /* the default, written as in a config; NULL: unset */
    int64_t min, max;     /* INT, DURATION, SIZE */
    const char *choices;  /* ENUM: "a|b|c" */
    const char *required; /* not NULL: the key must be given; what it is ("HOST:PORT of ...") */
    const char *def_doc;  /* the docs' default when def says too little (NULL: def) */
    const char *doc;      /* the docs' meaning */
};

/*
 * The keys of an HTTP(S) client, the same in every sink that posts to a
 * receiver (webhook, trail): its options struct has const char *ca,
 * *server_name, *cert, *key, int verify and int64_t timeout_ms, and the file
 * defines O(field) as a field's offset there. One list, so that the keys
 * mean and are documented the same everywhere.
 */
// clang-format off
#define SINK_KEYS_HTTPS_CLIENT                                                                     \
    {.name = "ca",                                                                                 \
     .type = SINK_KEY_STRING,                                                                      \
     .offset = O(ca),                                                                              \
     .def_doc = "the system's CAs",                                                                \
     .doc = "HTTPS: the CA file that signed the receiver's certificate"},                          \
    {.name = "verify",                                                                             \
     .type = SINK_KEY_BOOL,                                                                        \
     .offset = O(verify),                                                                          \
     .def = "true",                                                                                \
     .doc = "HTTPS: check the certificate chain and that it names `server_name` (or the URL's "    \
            "host); `false` only for tests"},                                                      \
    {.name = "server_name",                                                                        \
     .type = SINK_KEY_STRING,                                                                      \
     .offset = O(server_name),                                                                     \
     .def_doc = "the URL's host",                                                                  \
     .doc = "HTTPS: the name sent in SNI and checked in the certificate"},                         \
    {.name = "cert",                                                                               \
     .type = SINK_KEY_STRING,                                                                      \
     .offset = O(cert),                                                                            \
     .doc = "HTTPS: a client certificate (PEM), for receivers that ask for one"},                  \
    {.name = "key",                                                                                \
     .type = SINK_KEY_STRING,                                                                      \
     .offset = O(key),                                                                             \
     .def_doc = "in `cert`",                                                                       \
     .doc = "HTTPS: the client certificate's key"},                                                \
    {.name = "timeout_ms",                                                                         \
     .type = SINK_KEY_DURATION,                                                                    \
     .offset = O(timeout_ms),                                                                      \
     .def = "10000",                                                                               \
     .min = 100,                                                                                   \
     .max = 600000,                                                                                \
     .doc = "connect, send and answer timeout"}
// clang-format on

/*
 * A sink plug-in. The runner calls, on the sink's own thread:
 *   check(conf)     at config load, after the keys were parsed into conf->typed
 *                   (of opts_size bytes, by the table keys): what the types
 *                   alone cannot say (err says why not; "key: problem");
 *   open(conf)      connect / open files; a failure is retried with backoff;
 *   write(item)     take one item into the plug-in's batch (nothing need be sent yet);
 *   flush()         deliver the batch; 0 only when the peer has all of it (as far
 *                   as its protocol can tell); on failure the runner closes the
 *                   plug-in and delivers the same items again after open;
 *   close()         free everything (also after a failed open's partial state: never).
 * keys is the type's own key table (ended by a NULL name); the common keys
 * are sink_conf.c's (docs/sinks.md).
 */
struct sink_ops {
    const char *name;
    const struct sink_key *keys;
    size_t opts_size;
    int (*check)(const struct sink_conf *conf, char *err, size_t errlen);
    int (*open)(const struct sink_conf *conf, void **ret_state, char *err, size_t errlen);
    int (*write)(void *state, const struct sink_item *item, char *err, size_t errlen);
    int (*flush)(void *state, char *err, size_t errlen);
    void (*close)(void *state);
};

extern const struct sink_ops sink_file_ops;
extern const struct sink_ops sink_syslog_ops;
extern const struct sink_ops sink_webhook_ops;
extern const struct sink_ops sink_clickhouse_ops;
extern const struct sink_ops sink_trail_ops;
extern const struct sink_ops sink_tlog_witness_ops;

/* What a file or webhook line holds. */
enum sink_format {
    SINK_FMT_CEF = 1,   /* the event.log line: prefix, ISO time, host, CEF */
    SINK_FMT_JSON = 2,  /* one JSON object per line (trail's, or mapped to OCSF / ECS) */
    SINK_FMT_SYSLOG = 3 /* RFC 5424 with structured data (syslog sink) */
};

/* One type-specific key = value of a [sink NAME] section, with its line. */
struct sink_opt {
    char *key;
    char *value;
    int line;
};

/* A [sink NAME] section. */
struct sink_conf {
    char *name;
    const struct sink_ops *ops; /* from type */
    int line;                   /* of the section's first key */
    int format;                 /* enum sink_format, 0: the type's default */
    int mapping;                /* enum trail_mapping (JSON only) */
    char **events;              /* event id globs (fnmatch); none: every event */
    size_t n_events;
    int min_severity; /* 0: any */
    int witness;      /* 1: also deliver signed checkpoints */
    uint32_t batch_events;
    uint32_t retry_min_ms, retry_max_ms;
    int start_at_end; /* a new sink (no cursor yet) starts at the store's end */
    struct trail_cef_opts cef;
    char *cef_vendor, *cef_product, *cef_version;
    struct sink_opt *opts; /* the type's own keys as written */
    size_t n_opts;
    void *typed; /* the type's options struct, parsed from opts by ops->keys */
};

/*
 * sink_conf_load - one key of a [sink NAME] section (first: the first key of
 * the section). Appends to *sinks. Returns 0, -ENOMEM, or -EINVAL with err
 * naming the problem.
 */
int sink_conf_load(struct sink_conf **sinks, size_t *n_sinks, const char *name, int first,
                   const char *key, const char *value, int line, char *err, size_t errlen);

/*
 * sink_conf_check - the whole-section checks once the file is read: a type,
 * only that type's keys, the plug-in's check(), unique names. Returns 0 or
 * -EINVAL with err naming the problem and *ret_line its line.
 */
int sink_conf_check(struct sink_conf *sinks, size_t n_sinks, int *ret_line, char *err,
                    size_t errlen);

/* sink_conf_free - free the array. */
void sink_conf_free(struct sink_conf *sinks, size_t n_sinks);

/* sink_conf_differs - 1 when the two sink lists differ in anything. */
int sink_conf_differs(const struct sink_conf *a, size_t na, const struct sink_conf *b, size_t nb);

/* The four calls above, for config_set_sink_ops() (core/config.h). */
extern const struct config_sink_ops sink_config_ops;

/*
 * sink_options_markdown - docs/sinks.md's option table of section ("common"
 * or a type's name), each between its markers:
 *
 *     <!-- sink-options SECTION: made by traild --sink-options-markdown -->
 *     | key | type | default | meaning |
 *     ...
 *     <!-- /sink-options -->
 *
 * section NULL: every section, one after another. 0, -ENOENT, -ENOMEM.
 */
int sink_options_markdown(const char *section, struct trail_buf *out);

/*
 * sink_encode_line - item as one line (no newline) in conf's format: an
 * event as the event.log CEF line or JSON (mapped as configured); a
 * checkpoint as its text form (CEF) or {"checkpoint":"..."} (JSON).
 * Returns 0 or -ENOMEM.
 */
int sink_encode_line(const struct sink_conf *conf, const struct sink_item *item,
                     struct trail_buf *out);

/* ---- the runner ---- */

/*
 * sinks_start - start one thread per configured sink over the open store
 * (dir is the store's directory, where sinks/ lives). A sink that cannot
 * reach its peer does not fail this: it retries. Returns 0, or -errno when
 * the cursor directory or a thread cannot be made (err says which).
 */
int sinks_start(const struct sink_conf *sinks, size_t n_sinks, struct trail_store *store,
                const char *dir, char *err, size_t errlen);

/* sinks_stop - stop every sink thread (each finishes or abandons its batch) and free them. */
void sinks_stop(void);

/* sink_store_origin - the store's id as 32 hex digits (what checkpoints call the origin). */
const char *sink_store_origin(void);

/*
 * sink_store_name - the store's origin as its checkpoints name it (trail_store_origin():
 * [store] origin, else the id in hex): what a trail sink tells its receiver it relays from.
 */
const char *sink_store_name(void);

/*
 * sinks_cosignatures - append the cosignature lines that the tlog-witness
 * sinks got for the checkpoint whose signed note is note[0..len) (kept in
 * STORE/sinks/NAME.cosigned; sink_tlog_witness.c), each ending in '\n'.
 * Nothing when none cosigned that very checkpoint. 0 or -ENOMEM.
 */
int sinks_cosignatures(const char *note, size_t len, struct trail_buf *out);

/* sinks_metrics - append the sinks' Prometheus metrics (lag, cursor, ...). 0 or -ENOMEM. */
int sinks_metrics(struct trail_buf *out);

/* ---- the cursor file (shared with `trail sinks`, which reads it) ---- */

/*
 * STORE/sinks/NAME.cursor, text, written to NAME.cursor.tmp, fsynced and
 * renamed over the old one (then the directory fsynced):
 *
 *     trail-sink-cursor/1
 *     type TYPE
 *     store STORE_ID_HEX        32 hex digits: a cursor of another store is ignored
 *     seq SEQ                   the last seq delivered (or filtered out)
 *     witnessed SIZE            the tree size of the last checkpoint delivered
 *     delivered N               events delivered since the cursor was made
 *     time TIME_US              when this was written
 *
 * STORE/sinks/NAME.error, written the same way on each failure:
 *
 *     time TIME_US
 *     error TEXT                one line
 */

#endif /* TRAILD_SINK_H */
