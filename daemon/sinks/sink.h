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
    uint64_t seq; /* the event's seq, or the checkpoint's tree size */
};

/*
 * A sink plug-in. The runner calls, on the sink's own thread:
 *   check(conf)     at config load: the type's own keys are valid (err says why not);
 *   open(conf)      connect / open files; a failure is retried with backoff;
 *   write(item)     take one item into the plug-in's batch (nothing need be sent yet);
 *   flush()         deliver the batch; 0 only when the peer has all of it (as far
 *                   as its protocol can tell); on failure the runner closes the
 *                   plug-in and delivers the same items again after open;
 *   close()         free everything (also after a failed open's partial state: never).
 * keys lists the type's own keys (NULL-terminated); the common keys are the
 * runner's (docs/sinks.md).
 */
struct sink_ops {
    const char *name;
    const char *const *keys;
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
    struct sink_opt *opts;
    size_t n_opts;
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

/* sink_opt - the value of a type-specific key, or NULL. */
const char *sink_opt(const struct sink_conf *conf, const char *key);

/* sink_opt_u32 - a type-specific whole number in [min, max], def when unset; -EINVAL. */
int sink_opt_u32(const struct sink_conf *conf, const char *key, uint32_t def, uint32_t min,
                 uint32_t max, uint32_t *ret, char *err, size_t errlen);

/* sink_opt_bool - true/false/yes/no/1/0, def when unset; -EINVAL. */
int sink_opt_bool(const struct sink_conf *conf, const char *key, int def, int *ret, char *err,
                  size_t errlen);

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
