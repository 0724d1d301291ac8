/*
 * config.h - traild's configuration: one INI file (trail.conf.example
 * documents every key), read into a struct with defaults filled in.
 *
 * Not here: applying it (daemon/main.c), the listeners (daemon/input_*.c).
 */
#ifndef TRAILD_CONFIG_H
#define TRAILD_CONFIG_H

#include "trail.h"

#include <stddef.h>
#include <stdint.h>

enum fsync_policy {
    FSYNC_ALWAYS = 0,  /* every group commit is fsynced before it is acknowledged */
    FSYNC_INTERVAL = 1 /* fsync at most every fsync_interval_ms; acknowledge after it */
};

enum token_role { ROLE_WRITE = 1, ROLE_READ = 2, ROLE_ADMIN = 3, ROLE_RELAY = 4 };

enum follow_format { FOLLOW_CEF = 0, FOLLOW_JSON = 1, FOLLOW_AUTO = 2 };

struct sink_conf; /* daemon/sinks/sink.h */

/*
 * How [sink NAME] sections are read, checked, compared and freed. The sinks
 * (daemon/sinks, above the config) know their options; main() hands their
 * calls over with config_set_sink_ops() before it loads a config, so that
 * the config never names them. Without them a [sink] section is an error.
 * The calls are sink_conf_load, _check, _free and _differs (sinks/sink.h).
 */
struct config_sink_ops {
    int (*load)(struct sink_conf **sinks, size_t *n_sinks, const char *name, int first,
                const char *key, const char *value, int line, char *err, size_t errlen);
    int (*check)(struct sink_conf *sinks, size_t n_sinks, int *ret_line, char *err, size_t errlen);
    void (*free)(struct sink_conf *sinks, size_t n_sinks);
    int (*differs)(const struct sink_conf *a, size_t na, const struct sink_conf *b, size_t nb);
};

/* config_set_sink_ops - use ops (static storage) for [sink] sections from now on. */
void config_set_sink_ops(const struct config_sink_ops *ops);

/* [tokens] NAME = ROLE:SALT:HASH (daemon/core/auth.c parses and checks them) */
struct token_conf {
    char *name;
    int role; /* enum token_role */
    uint8_t salt[64];
    size_t salt_len;
    uint8_t hash[32]; /* SHA-256(salt || token) */
};

/* [client_certs] CN-or-SHA256 = ROLE: a verified HTTPS client certificate's role */
struct client_cert_conf {
    char *name;         /* the subject CN, or NULL when matched by fingerprint */
    uint8_t sha256[32]; /* the DER certificate's SHA-256, when name is NULL */
    int role;           /* enum token_role */
};

struct follow_conf {
    char *name; /* [follow NAME] */
    char *path;
    int format;       /* enum follow_format */
    uint32_t poll_ms; /* how often the file is checked for growth and rotation */
    int from_end;     /* 1: a file seen for the first time is read from its end */
};

struct event_conf {
    char *id;
    char *severity;
    char *description;
    char *schema;
    int line;          /* of the section's first key, for messages */
    int severity_line; /* of the severity key */
    int schema_line;   /* of the schema key's first line */
};

struct config {
    char *path; /* the file read, or NULL for the built-in defaults */

    /* [server] */
    char *host; /* host name on traild's own events; default gethostname() */

    /* [store] */
    char *store_path;
    int fsync; /* enum fsync_policy */
    uint32_t fsync_interval_ms;
    uint32_t retention_days;  /* 0: keep forever */
    uint64_t retention_bytes; /* 0: no size limit */
    uint32_t dedup_window_s;  /* idempotent ingest: how long a producer uuid is remembered */
    uint32_t dedup_max;       /* ... and how many at most (0: off) */
    uint32_t checkpoint_interval_s;
    char *signing_key;             /* Ed25519 private key file for checkpoints, or NULL */
    char *origin;                  /* the store's origin when it is made, or NULL */
    int accept_truncation;         /* 1: open a store shorter than its claims ... */
    uint64_t accept_truncation_to; /* ... when its last seq is this one (docs/store.md) */
    uint32_t seal_threads;         /* the store's sealing threads; 0: per CPU (trail_store_opts) */
    uint32_t seal_backlog_max; /* appends wait while this many rolled segments wait; 0: no bound */

    /* [listen]: "host:port" (or a path for unix); NULL when off */
    char *http;
    char *syslog_udp;
    char *syslog_tcp;
    char *syslog_tls;
    char *cef_tcp;
    char *unix_path;
    uint32_t unix_mode;
    uint32_t http_threads;
    uint32_t syslog_threads; /* event loops for syslog TCP/TLS connections; 0: one per CPU */
    uint32_t stream_threads; /* ... for each of the cef_tcp and unix listeners; 0: one per CPU */
    int http_tls;            /* 1: the http listener speaks TLS with [tls] cert and key */

    /* [tls] */
    char *tls_cert;
    char *tls_key;
    char *tls_ca;
    char *tls_http_ca; /* HTTPS: ask for client certificates verified against it */

    /* [limits] */
    struct trail_limits limits;      /* attributes, keys, values, record size */
    uint32_t max_line_bytes;         /* one syslog message or line */
    uint64_t max_body_bytes;         /* one HTTP request body */
    uint32_t batch_size;             /* events per store append */
    uint32_t max_connections;        /* per listener */
    uint32_t connections_per_peer;   /* per listener and peer address; 0 no limit */
    uint32_t queue_events;           /* events accepted and not yet durable, all inputs */
    uint32_t max_batch_events;       /* items in one POST /v1/events */
    uint32_t max_query_limit;        /* the largest limit= a query may ask for */
    uint32_t max_streams;            /* GET /v1/events/stream clients at once */
    uint32_t http_timeout_s;         /* an HTTP connection idle this long is closed */
    uint32_t http_header_timeout_s;  /* a request head not complete this long after waiting */
    uint32_t stream_idle_timeout_s;  /* a TCP/TLS/Unix stream idle this long is closed; 0 never */
    uint32_t auth_events_per_minute; /* trail_auth_failed stored per source a minute */
    uint32_t auth_events_total_per_minute;     /* and from all sources together */
    uint32_t rejected_events_per_minute;       /* trail_event_rejected stored per peer a minute */
    uint32_t rejected_events_total_per_minute; /* and from all peers together */

    /* [validation] */
    int policy;                             /* enum trail_policy */
    uint32_t skew_future_s, skew_past_days; /* [validation] time_skew_*; 0 unbounded */
    int skew_refuse;                        /* time_skew = refuse */

    /* the lines the keys naming files and directories were read from (0: a default),
       for config_preflight()'s messages */
    struct {
        int store_path, signing_key, tls_cert, tls_key, tls_ca, tls_http_ca;
    } line;

    struct event_conf *events;
    size_t n_events;
    struct token_conf *tokens;
    size_t n_tokens;
    struct client_cert_conf *client_certs;
    size_t n_client_certs;
    struct follow_conf *follows;
    size_t n_follows;
    struct sink_conf *sinks; /* [sink NAME] sections (daemon/sinks/sink.c reads them) */
    size_t n_sinks;
    char *detect_rules; /* [detect] rules: the directory of Sigma rules (daemon/detect/) */
    /* [reports] dir: the report files read (default CONFIG_REPORTS_DIR when it exists);
       [report NAME] sections, kept as lines to replay (config_reports_load) */
    char *reports_dir;
    int reports_dir_line;
    struct report_line {
        char *name, *key, *value;
        int line;
    } * report_lines;
    size_t n_report_lines;
    struct trail_reports *reports; /* both, as read and checked by config_load */
    /* [witness]: traild as a C2SP witness of other logs (http/witness_http.c) */
    char *witness_name;  /* the key name its cosignatures carry (NULL: no witness) */
    char *witness_key;   /* its Ed25519 private key file */
    char *witness_state; /* what it saw of each log; NULL: STORE/witness.state */
    char *witness_logs;  /* accept: the logs' verifier keys, comma-separated, checked */

    /* [query]: what the store no longer holds, answered from ClickHouse (http/query_tier.c) */
    struct {
        char *clickhouse; /* the HTTP interface's URL; NULL: the store only */
        char *table, *user, *password, *ca;
        uint32_t timeout_ms;
        char *origin_token; /* the Bearer token sent to the traild of [origins] */
    } query;
    /* [origins] NAME = URL: the traild that holds a store origin's events, for their proofs */
    struct origin_conf {
        char *name, *url;
        char *key; /* its C2SP verifier key (NAME+KEYID+BASE64), or NULL */
    } * origins;
    size_t n_origins;

    /* the catalog this config describes (built-ins + custom events, policy, limits) */
    struct trail_catalog *cat;
};

/*
 * config_load - read path (NULL: the built-in defaults only) and build its
 * catalog. On failure returns -EINVAL (or -errno for an unreadable file) and
 * writes "FILE:LINE: [section] key: problem" into err.
 */
int config_load(const char *path, struct config **ret_cfg, char *err, size_t errlen);

/*
 * config_preflight - what a start needs of the world outside the file: the
 * key and TLS files it names can be read and parsed (the signing key as
 * open_store loads it, certificate, key and CAs as the TLS listeners load
 * them), the store directory is a writable directory or can be made. Both
 * `traild -t` and a start call it right after config_load(), so that one
 * refuses exactly what the other would. Returns 0, or -EINVAL (-ENOMEM)
 * with "FILE:LINE: [section] key: problem" in err. Reads files, writes none.
 */
int config_preflight(const struct config *cfg, char *err, size_t errlen);

/*
 * config_signing_key - the key file the store signs checkpoints with:
 * [store] signing_key, else STORE/checkpoint.key when it can be read
 * (written into buf), else NULL (no checkpoints).
 */
const char *config_signing_key(const struct config *cfg, char *buf, size_t len);

/* CONFIG_REPORTS_DIR - trail's report pack, as the package installs it (reports/README.md). */
#define CONFIG_REPORTS_DIR "/usr/share/trail/reports"

/*
 * config_reports_load - read cfg's reports into rs (made over cfg's catalog):
 * the files of [reports] dir (or of CONFIG_REPORTS_DIR when it exists), then
 * the [report NAME] sections. 0, or TRAIL_E_PARSE / -errno with
 * "FILE:LINE: ..." in err.
 */
int config_reports_load(const struct config *cfg, struct trail_reports *rs, char *err,
                        size_t errlen);

/* config_free - free a config and its catalog. */
void config_free(struct config *cfg);

/*
 * config_diff_restart - names the first setting that differs between a and b
 * and only takes effect on restart (store, listeners, TLS files, follows),
 * or NULL when none does.
 */
const char *config_diff_restart(const struct config *a, const struct config *b);

/* config_parse_size - "64K", "16M", "10G" or a plain number; 0 or -EINVAL. */
int config_parse_size(const char *text, uint64_t *ret);

/* config_split_addr - "host:port" or "[v6]:port" into host and port; 0 or -EINVAL. */
int config_split_addr(const char *addr, char *host, size_t hostlen, char *port, size_t portlen);

#endif /* TRAILD_CONFIG_H */
