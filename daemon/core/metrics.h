/*
 * metrics.h - traild's counters and gauges, and their Prometheus text form.
 *
 * Every counter is a relaxed atomic, bumped from any thread. Not here: the
 * HTTP route that serves them (http/routes_info.c).
 */
#ifndef TRAILD_METRICS_H
#define TRAILD_METRICS_H

#include "trail.h"

#include <stdatomic.h>
#include <stdint.h>

/* The inputs, as metric labels. */
enum input_kind {
    IN_HTTP = 0,
    IN_SYSLOG_UDP,
    IN_SYSLOG_TCP,
    IN_SYSLOG_TLS,
    IN_CEF_TCP,
    IN_UNIX,
    IN_FILE,
    IN_INTERNAL, /* traild's own lifecycle events */
    IN_N
};

/* Why an item was rejected, as metric labels. */
enum reject_reason {
    RJ_UNKNOWN_EVENT = 0,
    RJ_MISSING_ATTR,
    RJ_BAD_TYPE,
    RJ_BAD_ENUM,
    RJ_UNDECLARED_ATTR,
    RJ_TOO_MANY_ATTRS,
    RJ_KEY_TOO_LONG,
    RJ_VALUE_TOO_LONG,
    RJ_BAD_KEY,
    RJ_BAD_ID,
    RJ_BAD_SEVERITY,
    RJ_PARSE,
    RJ_UTF8,
    RJ_TOO_LARGE,
    RJ_QUEUE_FULL,   /* UDP only: a datagram that arrived while the queue was full */
    RJ_STORE_FAILED, /* the store refused the batch (disk full, I/O error) */
    RJ_OTHER,
    RJ_N
};

#define FSYNC_BUCKETS 14

/* The most event loops one stream input is served by ([listen] syslog_threads, stream_threads). */
#define METRICS_LOOPS_MAX 8

struct metrics {
    atomic_uint_fast64_t events_in[IN_N];                 /* accepted and durable */
    atomic_uint_fast64_t duplicates[IN_N];                /* resent uuids, not stored again */
    atomic_uint_fast64_t bytes_in[IN_N];                  /* raw bytes received */
    atomic_uint_fast64_t rejected[IN_N][RJ_N];            /* items refused, per reason */
    atomic_int_fast64_t connections[IN_N];                /* open connections (gauge) */
    atomic_uint_fast64_t conn_refused[IN_N][2];           /* at accept, by enum conn_refusal */
    atomic_uint_fast64_t conn_shed[IN_N][3];              /* closed by traild, by enum conn_shed */
    atomic_uint_fast64_t paused[IN_N];                    /* reads paused for backpressure */
    atomic_uint_fast64_t http_responses[6];               /* by class: 1xx .. 5xx (index 1..5) */
    atomic_uint_fast64_t http_503;                        /* answers "try later" */
    atomic_uint_fast64_t export_searches;                 /* searches opened by exports */
    atomic_uint_fast64_t export_events;                   /* rows written by exports */
    atomic_int_fast64_t queue_events;                     /* accepted, not yet durable (gauge) */
    atomic_int_fast64_t queue_limit;                      /* the configured limit (gauge) */
    atomic_uint_fast64_t store_events;                    /* appended since start */
    atomic_uint_fast64_t store_errors;                    /* failed appends or waits */
    atomic_uint_fast64_t last_seq;                        /* highest durable seq (gauge) */
    atomic_uint_fast64_t commits;                         /* group commits waited for */
    atomic_uint_fast64_t fsync_bucket[FSYNC_BUCKETS + 1]; /* wait latency, cumulative below */
    atomic_uint_fast64_t fsync_sum_us;
    atomic_uint_fast64_t reloads_ok, reloads_failed;
    int64_t started_us;

    /* the stream inputs' event loops (daemon/inputs/stream.c), by input and loop */
    atomic_int_fast64_t loops[IN_N]; /* loops serving the input's listener (gauge) */
    atomic_uint_fast64_t loop_conns[IN_N][METRICS_LOOPS_MAX];  /* connections each loop took */
    atomic_uint_fast64_t loop_events[IN_N][METRICS_LOOPS_MAX]; /* events each loop stored */
    atomic_uint_fast64_t reads[IN_N]; /* reads of a stream socket that brought bytes */
};

extern struct metrics metrics;

/* metrics_reason - the reason label index of a libtrail error code. */
int metrics_reason(int code);

/* metrics_reject - count one rejected item. */
void metrics_reject(int input, int code);

/* metrics_fsync - record one durability wait of us microseconds. */
void metrics_fsync(int64_t us);

/* metrics_input_name / metrics_reason_name - the label texts. */
const char *metrics_input_name(int input);
const char *metrics_reason_name(int reason);

/*
 * metrics_render - append the Prometheus text exposition (version 0.0.4) of
 * every metric to out, with the store's figures when disk_bytes and
 * disk_events are not negative. 0 or -ENOMEM.
 */
int metrics_render(struct trail_buf *out, int64_t disk_bytes, int64_t disk_events);

/*
 * metrics_add_source - render appends what render writes (Prometheus text;
 * 0 or -ENOMEM) after traild's own metrics: the sinks' lag and cursors
 * (sinks_metrics) and the detector's (detect_metrics), which live above the
 * metrics. Up to four, added once before serving, rendered in that order.
 */
void metrics_add_source(int (*render)(struct trail_buf *out));

#endif /* TRAILD_METRICS_H */
