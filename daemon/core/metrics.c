/*
 * metrics.c - traild's counters and their Prometheus text exposition.
 *
 * Not here: serving them over HTTP (http/routes_info.c).
 */
#include "core/json_out.h"
#include "core/metrics.h"
#include "core/traild.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

struct metrics metrics;

/* the sinks' and the detector's metrics (metrics_add_source), rendered after traild's own */
#define MAX_SOURCES 4
static int (*extra_sources[MAX_SOURCES])(struct trail_buf *out);

void metrics_add_source(int (*render)(struct trail_buf *out))
{
    for (size_t i = 0; i < MAX_SOURCES; i++)
        if (!extra_sources[i]) {
            extra_sources[i] = render;
            return;
        }
}

/* Upper bounds of the durability-wait histogram, in microseconds. */
static const int64_t fsync_bounds_us[FSYNC_BUCKETS] = {
    100, 250, 500, 1000, 2000, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 5000000,
};

static const char *const input_names[IN_N] = {
    [IN_HTTP] = "http",
    [IN_SYSLOG_UDP] = "syslog_udp",
    [IN_SYSLOG_TCP] = "syslog_tcp",
    [IN_SYSLOG_TLS] = "syslog_tls",
    [IN_CEF_TCP] = "cef_tcp",
    [IN_UNIX] = "unix",
    [IN_FILE] = "follow",
    [IN_INTERNAL] = "trail",
};

static const char *const reason_names[RJ_N] = {
    [RJ_UNKNOWN_EVENT] = "unknown_event",
    [RJ_MISSING_ATTR] = "missing_attr",
    [RJ_BAD_TYPE] = "bad_type",
    [RJ_BAD_ENUM] = "bad_enum",
    [RJ_UNDECLARED_ATTR] = "undeclared_attr",
    [RJ_TOO_MANY_ATTRS] = "too_many_attrs",
    [RJ_KEY_TOO_LONG] = "key_too_long",
    [RJ_VALUE_TOO_LONG] = "value_too_long",
    [RJ_BAD_KEY] = "bad_key",
    [RJ_BAD_ID] = "bad_id",
    [RJ_BAD_SEVERITY] = "bad_severity",
    [RJ_PARSE] = "malformed",
    [RJ_UTF8] = "bad_utf8",
    [RJ_TOO_LARGE] = "too_large",
    [RJ_QUEUE_FULL] = "queue_full",
    [RJ_STORE_FAILED] = "store_failed",
    [RJ_OTHER] = "other",
};

/* Does the input take connections (and so can refuse or shed them)? */
static int has_conns(int input)
{
    return input != IN_SYSLOG_UDP && input != IN_FILE && input != IN_INTERNAL;
}

const char *metrics_input_name(int input)
{
    return input >= 0 && input < IN_N ? input_names[input] : "unknown";
}

const char *metrics_reason_name(int reason)
{
    return reason >= 0 && reason < RJ_N ? reason_names[reason] : "other";
}

int metrics_reason(int code)
{
    switch (code) {
    case TRAIL_E_UNKNOWN_EVENT:
        return RJ_UNKNOWN_EVENT;
    case TRAIL_E_MISSING_ATTR:
        return RJ_MISSING_ATTR;
    case TRAIL_E_BAD_TYPE:
        return RJ_BAD_TYPE;
    case TRAIL_E_BAD_ENUM:
        return RJ_BAD_ENUM;
    case TRAIL_E_UNDECLARED_ATTR:
        return RJ_UNDECLARED_ATTR;
    case TRAIL_E_TOO_MANY_ATTRS:
        return RJ_TOO_MANY_ATTRS;
    case TRAIL_E_KEY_TOO_LONG:
        return RJ_KEY_TOO_LONG;
    case TRAIL_E_VALUE_TOO_LONG:
        return RJ_VALUE_TOO_LONG;
    case TRAIL_E_BAD_KEY:
        return RJ_BAD_KEY;
    case TRAIL_E_BAD_ID:
        return RJ_BAD_ID;
    case TRAIL_E_BAD_SEVERITY:
        return RJ_BAD_SEVERITY;
    case TRAIL_E_PARSE:
        return RJ_PARSE;
    case TRAIL_E_UTF8:
        return RJ_UTF8;
    case TRAIL_E_TOO_LARGE:
        return RJ_TOO_LARGE;
    case -EAGAIN:
        return RJ_QUEUE_FULL;
    case TRAIL_E_FAILED:
    case -ENOSPC:
    case -EIO:
    case -EDQUOT:
    case TRAIL_E_CLOSED:
        return RJ_STORE_FAILED;
    default:
        return RJ_OTHER;
    }
}

void metrics_reject(int input, int code)
{
    if (input < 0 || input >= IN_N)
        input = IN_INTERNAL;
    atomic_fetch_add_explicit(&metrics.rejected[input][metrics_reason(code)], 1,
                              memory_order_relaxed);
}

void metrics_fsync(int64_t us)
{
    int b = 0;
    while (b < FSYNC_BUCKETS && us > fsync_bounds_us[b])
        b++;
    atomic_fetch_add_explicit(&metrics.fsync_bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&metrics.fsync_sum_us, (uint64_t)(us < 0 ? 0 : us),
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&metrics.commits, 1, memory_order_relaxed);
}

#define LOAD(x) ((uint64_t)atomic_load_explicit(&(x), memory_order_relaxed))

int metrics_render(struct trail_buf *out, int64_t disk_bytes, int64_t disk_events)
{
    int r = 0;
    r |= json_printf(out,
                     "# HELP trail_events_in_total Events accepted and made durable, per input.\n"
                     "# TYPE trail_events_in_total counter\n");
    for (int i = 0; i < IN_N; i++)
        r |= json_printf(out, "trail_events_in_total{input=\"%s\"} %" PRIu64 "\n", input_names[i],
                         LOAD(metrics.events_in[i]));
    r |= json_printf(out,
                     "# HELP trail_events_duplicate_total Events whose producer uuid was stored "
                     "already: answered with the first seq, not stored again, per input.\n"
                     "# TYPE trail_events_duplicate_total counter\n");
    for (int i = 0; i < IN_N; i++)
        r |= json_printf(out, "trail_events_duplicate_total{input=\"%s\"} %" PRIu64 "\n",
                         input_names[i], LOAD(metrics.duplicates[i]));
    r |= json_printf(out, "# HELP trail_bytes_in_total Bytes received, per input.\n"
                          "# TYPE trail_bytes_in_total counter\n");
    for (int i = 0; i < IN_N; i++)
        r |= json_printf(out, "trail_bytes_in_total{input=\"%s\"} %" PRIu64 "\n", input_names[i],
                         LOAD(metrics.bytes_in[i]));
    r |=
        json_printf(out, "# HELP trail_events_rejected_total Items refused, per input and reason.\n"
                         "# TYPE trail_events_rejected_total counter\n");
    for (int i = 0; i < IN_N; i++)
        for (int j = 0; j < RJ_N; j++) {
            uint64_t v = LOAD(metrics.rejected[i][j]);
            if (v)
                r |= json_printf(
                    out, "trail_events_rejected_total{input=\"%s\",reason=\"%s\"} %" PRIu64 "\n",
                    input_names[i], reason_names[j], v);
        }
    r |= json_printf(out, "# HELP trail_connections Open connections, per input.\n"
                          "# TYPE trail_connections gauge\n");
    for (int i = 0; i < IN_N; i++)
        r |= json_printf(out, "trail_connections{input=\"%s\"} %" PRId64 "\n", input_names[i],
                         (int64_t)atomic_load(&metrics.connections[i]));
    /* connlimit.h: enum conn_refusal and enum conn_shed, in order */
    static const char *refusals[] = {"per_peer", "full"},
                      *sheds[] = {"header_timeout", "capacity", "idle"};
    r |= json_printf(out,
                     "# HELP trail_connections_refused_total Connections refused at accept, per "
                     "input and reason (per_peer: [limits] connections_per_peer; full: "
                     "max_connections with none to give way).\n"
                     "# TYPE trail_connections_refused_total counter\n");
    for (int i = 0; i < IN_N; i++)
        for (int j = 0; j < 2 && has_conns(i); j++)
            r |= json_printf(
                out, "trail_connections_refused_total{input=\"%s\",reason=\"%s\"} %" PRIu64 "\n",
                input_names[i], refusals[j], LOAD(metrics.conn_refused[i][j]));
    r |= json_printf(
        out, "# HELP trail_connections_shed_total Connections traild closed to serve others, "
             "per input and reason (header_timeout: no request head within "
             "http_header_timeout_s; capacity: gave way to a new connection at "
             "max_connections; idle: stream_idle_timeout_s).\n"
             "# TYPE trail_connections_shed_total counter\n");
    for (int i = 0; i < IN_N; i++)
        for (int j = 0; j < 3 && has_conns(i); j++)
            r |= json_printf(
                out, "trail_connections_shed_total{input=\"%s\",reason=\"%s\"} %" PRIu64 "\n",
                input_names[i], sheds[j], LOAD(metrics.conn_shed[i][j]));
    r |= json_printf(
        out, "# HELP trail_backpressure_pauses_total Times an input stopped reading "
             "because the queue was full.\n# TYPE trail_backpressure_pauses_total counter\n");
    for (int i = 0; i < IN_N; i++)
        r |= json_printf(out, "trail_backpressure_pauses_total{input=\"%s\"} %" PRIu64 "\n",
                         input_names[i], LOAD(metrics.paused[i]));
    /* how the stream inputs' connections and events spread over their event loops */
    r |= json_printf(out, "# HELP trail_stream_loops Event loops serving a stream input's listener "
                          "([listen] syslog_threads, stream_threads).\n"
                          "# TYPE trail_stream_loops gauge\n");
    for (int i = 0; i < IN_N; i++)
        if (atomic_load(&metrics.loops[i]) > 0)
            r |= json_printf(out, "trail_stream_loops{input=\"%s\"} %" PRId64 "\n", input_names[i],
                             (int64_t)atomic_load(&metrics.loops[i]));
    r |= json_printf(out,
                     "# HELP trail_stream_loop_connections_total Connections each event loop of a "
                     "stream input took.\n# TYPE trail_stream_loop_connections_total counter\n");
    for (int i = 0; i < IN_N; i++)
        for (int64_t l = 0; l < atomic_load(&metrics.loops[i]) && has_conns(i); l++)
            r |= json_printf(out,
                             "trail_stream_loop_connections_total{input=\"%s\",loop=\"%" PRId64
                             "\"} %" PRIu64 "\n",
                             input_names[i], l, LOAD(metrics.loop_conns[i][l]));
    r |=
        json_printf(out, "# HELP trail_stream_loop_events_total Events each event loop of a stream "
                         "input decoded and made durable.\n"
                         "# TYPE trail_stream_loop_events_total counter\n");
    for (int i = 0; i < IN_N; i++)
        for (int64_t l = 0; l < atomic_load(&metrics.loops[i]); l++)
            r |= json_printf(out,
                             "trail_stream_loop_events_total{input=\"%s\",loop=\"%" PRId64
                             "\"} %" PRIu64 "\n",
                             input_names[i], l, LOAD(metrics.loop_events[i][l]));
    r |= json_printf(out, "# HELP trail_stream_reads_total Reads of a stream input's sockets "
                          "that brought bytes (trail_bytes_in_total over it: bytes a read).\n"
                          "# TYPE trail_stream_reads_total counter\n");
    for (int i = 0; i < IN_N; i++)
        if (atomic_load(&metrics.loops[i]) > 0 && has_conns(i))
            r |= json_printf(out, "trail_stream_reads_total{input=\"%s\"} %" PRIu64 "\n",
                             input_names[i], LOAD(metrics.reads[i]));
    r |= json_printf(out, "# HELP trail_http_responses_total HTTP responses by status class.\n"
                          "# TYPE trail_http_responses_total counter\n");
    for (int i = 1; i <= 5; i++)
        r |= json_printf(out, "trail_http_responses_total{code=\"%dxx\"} %" PRIu64 "\n", i,
                         LOAD(metrics.http_responses[i]));
    /* one search per export: more would mean it is planned again page by page */
    r |= json_printf(
        out,
        "# HELP trail_export_searches_total Searches opened by GET /v1/events/export (one "
        "per export).\n# TYPE trail_export_searches_total counter\n"
        "trail_export_searches_total %" PRIu64 "\n"
        "# HELP trail_export_events_total Events written by GET /v1/events/export.\n"
        "# TYPE trail_export_events_total counter\ntrail_export_events_total %" PRIu64 "\n",
        LOAD(metrics.export_searches), LOAD(metrics.export_events));
    r |= json_printf(
        out,
        "# HELP trail_queue_events Events accepted and not yet durable.\n"
        "# TYPE trail_queue_events gauge\ntrail_queue_events %" PRId64 "\n"
        "# HELP trail_queue_limit_events The queue's capacity.\n"
        "# TYPE trail_queue_limit_events gauge\ntrail_queue_limit_events %" PRId64 "\n",
        (int64_t)atomic_load(&metrics.queue_events), (int64_t)atomic_load(&metrics.queue_limit));
    r |= json_printf(
        out,
        "# HELP trail_store_appended_events_total Events appended since traild started.\n"
        "# TYPE trail_store_appended_events_total counter\n"
        "trail_store_appended_events_total %" PRIu64 "\n"
        "# HELP trail_store_errors_total Appends or durability waits that failed.\n"
        "# TYPE trail_store_errors_total counter\ntrail_store_errors_total %" PRIu64 "\n"
        "# HELP trail_store_last_seq The highest durable sequence number.\n"
        "# TYPE trail_store_last_seq gauge\ntrail_store_last_seq %" PRIu64 "\n",
        LOAD(metrics.store_events), LOAD(metrics.store_errors), LOAD(metrics.last_seq));
    r |= json_printf(
        out,
        "# HELP trail_store_tampered 1 once a file the store holds open was found removed or "
        "replaced: nothing more is acknowledged (docs/store.md).\n"
        "# TYPE trail_store_tampered gauge\ntrail_store_tampered %d\n",
        traild.store && trail_store_tampered(traild.store, NULL, 0, NULL) ? 1 : 0);
    /* The latest signed checkpoint, for an alert on its age: a store that stops signing
     * leaves what it takes unprovable to a witness (docs/operations.md, "Monitoring"). */
    struct trail_checkpoint cp;
    if (traild.store && trail_store_checkpoint_latest(traild.store, &cp) == 0)
        r |= json_printf(
            out,
            "# HELP trail_checkpoint_time_seconds When the latest signed checkpoint was made.\n"
            "# TYPE trail_checkpoint_time_seconds gauge\ntrail_checkpoint_time_seconds %.6f\n"
            "# HELP trail_checkpoint_size The records the latest signed checkpoint covers.\n"
            "# TYPE trail_checkpoint_size gauge\ntrail_checkpoint_size %" PRIu64 "\n",
            (double)cp.time_us / 1e6, cp.tree_size);
    if (disk_bytes >= 0)
        r |= json_printf(out,
                         "# HELP trail_store_bytes Bytes the store occupies on disk.\n"
                         "# TYPE trail_store_bytes gauge\ntrail_store_bytes %" PRId64 "\n",
                         disk_bytes);
    if (disk_events >= 0)
        r |= json_printf(out,
                         "# HELP trail_store_events Events the store holds.\n"
                         "# TYPE trail_store_events gauge\ntrail_store_events %" PRId64 "\n",
                         disk_events);
    r |= json_printf(out,
                     "# HELP trail_fsync_seconds Time from append to durable (group commit "
                     "with fsync), per commit waited for.\n# TYPE trail_fsync_seconds histogram\n");
    uint64_t cum = 0;
    for (int b = 0; b < FSYNC_BUCKETS; b++) {
        cum += LOAD(metrics.fsync_bucket[b]);
        r |= json_printf(out, "trail_fsync_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
                         (double)fsync_bounds_us[b] / 1e6, cum);
    }
    cum += LOAD(metrics.fsync_bucket[FSYNC_BUCKETS]);
    r |= json_printf(out,
                     "trail_fsync_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n"
                     "trail_fsync_seconds_sum %.6f\ntrail_fsync_seconds_count %" PRIu64 "\n",
                     cum, (double)LOAD(metrics.fsync_sum_us) / 1e6, cum);
    r |= json_printf(
        out,
        "# HELP trail_config_reloads_total Configuration reloads by result.\n"
        "# TYPE trail_config_reloads_total counter\n"
        "trail_config_reloads_total{result=\"ok\"} %" PRIu64 "\n"
        "trail_config_reloads_total{result=\"failed\"} %" PRIu64 "\n"
        "# HELP trail_start_time_seconds When traild started.\n"
        "# TYPE trail_start_time_seconds gauge\ntrail_start_time_seconds %" PRId64 "\n",
        LOAD(metrics.reloads_ok), LOAD(metrics.reloads_failed), metrics.started_us / 1000000);
    for (size_t i = 0; i < MAX_SOURCES && extra_sources[i]; i++)
        r |= extra_sources[i](out);
    return r ? -ENOMEM : 0;
}
