/*
 * sink_clickhouse.c - the ClickHouse sink: batched INSERTs over ClickHouse's
 * HTTP interface (port 8123) in JSONEachRow, into a table the sink creates:
 *
 *     CREATE TABLE IF NOT EXISTS DB.TABLE (
 *         time DateTime('UTC'), time_us UInt64, event_id String,
 *         severity UInt8, severity_name String, host String,
 *         duser String, src String, phxTraceId String, sourceServiceName String,
 *         attrs Nested(key String, value String),
 *         uuid String, store_id String, seq UInt64
 *     ) ENGINE = ReplacingMergeTree()
 *     PARTITION BY toYYYYMM(time)
 *     ORDER BY (severity, event_id, time, uuid)
 *
 * and, for a witness sink, DB.TABLE_checkpoints. Every attribute is in
 * attrs (as text); duser, src, phxTraceId and sourceServiceName are also
 * promoted to columns ("" when absent).
 *
 * With `cluster = NAME` (a cluster of the servers' remote_servers, ZooKeeper
 * and distributed_ddl configured) DB.TABLE is a Distributed table over
 * DB.TABLE_local, a ReplicatedReplacingMergeTree of the same columns at
 * '/clickhouse/tables/{shard}/DB_TABLE' with replica '{replica}', both made
 * ON CLUSTER when DB.TABLE does not exist yet (and the same for
 * TABLE_checkpoints). Rows are routed by cityHash64(uuid), so every copy of
 * an event lands on one shard. The sink's INSERTs and questions carry
 * insert_distributed_sync=1 (an INSERT answers once the shard has written
 * the rows, so "delivered" means written) and load_balancing=in_order (the
 * INSERT and the later "which rows are there" ask the same replica).
 *
 * No duplicates, in two layers (docs/clickhouse.md says exactly what holds,
 * for 18.16 as Debian 12 ships it, where insert deduplication by block
 * exists only for Replicated tables):
 *   1. The first batch after open (after a start, a restart, or a failed
 *      try whose outcome is unknown) first asks which of its seqs the table
 *      already holds for this store and inserts only the others. One block
 *      of one INSERT is written atomically, so a batch is in the table
 *      wholly or not at all per partition, and the question finds exactly
 *      what a lost answer hid.
 *   2. ReplacingMergeTree keyed on the uuid (the uuid fixes severity,
 *      event_id and time) folds any duplicate that still got in (two sinks
 *      or two stores' copies of one event) at merge time; SELECT ... FINAL
 *      or OPTIMIZE TABLE ... FINAL makes it exact at once.
 *
 * Not here: the runner (sink.c), the HTTP client (sink.c).
 */
#include "sinks/sink.h"

#include "client/http.h"

#include "core/json_out.h"
#include "core/log.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The ClickHouse sink's keys, parsed into struct ch_opts (docs/sinks.md's table is made from
 * these). */
struct ch_opts {
    struct client_url url;
    const char *database, *table, *cluster, *user, *password, *ca;
    int verify;
    int64_t timeout_ms;
};

#define O(f) offsetof(struct ch_opts, f)
static const struct sink_key ch_keys[] = {
    {.name = "url",
     .type = SINK_KEY_URL,
     .offset = O(url),
     .def = "http://127.0.0.1:8123/",
     .doc = "ClickHouse's HTTP interface"},
    {.name = "database",
     .type = SINK_KEY_STRING,
     .offset = O(database),
     .def = "trail",
     .doc = "the database (made when missing); a name of `[A-Za-z0-9_]`"},
    {.name = "table",
     .type = SINK_KEY_STRING,
     .offset = O(table),
     .def = "events",
     .doc = "the table (made when missing); a name of `[A-Za-z0-9_]`"},
    {.name = "cluster",
     .type = SINK_KEY_STRING,
     .offset = O(cluster),
     .def_doc = "none: one server",
     .doc = "a cluster of the servers' `remote_servers`: `table` is then a Distributed table over "
            "a ReplicatedReplacingMergeTree `TABLE_local`, made `ON CLUSTER` when missing "
            "(docs/clickhouse.md); a name of `[A-Za-z0-9_]`"},
    {.name = "user", .type = SINK_KEY_STRING, .offset = O(user), .doc = "ClickHouse's user"},
    {.name = "password",
     .type = SINK_KEY_STRING,
     .offset = O(password),
     .doc = "that user's password"},
    {.name = "timeout_ms",
     .type = SINK_KEY_DURATION,
     .offset = O(timeout_ms),
     .def = "30000",
     .min = 100,
     .max = 600000,
     .doc = "connect, send and answer timeout"},
    {.name = "ca",
     .type = SINK_KEY_STRING,
     .offset = O(ca),
     .def_doc = "the system's CAs",
     .doc = "HTTPS: the CA file that signed the server's certificate"},
    {.name = "verify",
     .type = SINK_KEY_BOOL,
     .offset = O(verify),
     .def = "true",
     .doc = "HTTPS: check the server's certificate; `false` only for tests"},
    {.name = NULL},
};
#undef O

struct row {
    uint64_t seq;
    size_t start, end; /* in body */
};

struct ch_sink {
    const struct sink_conf *conf;
    struct client_http http;
    uint32_t timeout_ms;
    char db[64], table[64], cluster[64];
    const char *user, *password;
    int checked; /* the table was asked what it holds since open */
    struct trail_buf body, cp_body, resp, sql, path;
    struct row *rows;
    size_t n_rows, cap_rows;
    int64_t min_time, max_time;
};

static int name_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 60 || isdigit((unsigned char)*s))
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return 0;
    return 1;
}

static int ch_check(const struct sink_conf *conf, char *err, size_t errlen)
{
    const struct ch_opts *o = conf->typed;
    if (!name_ok(o->database) || !name_ok(o->table) || (o->cluster && !name_ok(o->cluster))) {
        snprintf(err, errlen, "database, table and cluster are names of [A-Za-z0-9_]");
        return -EINVAL;
    }
    return 0;
}

/* Append s percent-encoded for a URL query value. */
static int url_encode(struct trail_buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            if (trail_buf_append(out, &s[i], 1) < 0)
                return -ENOMEM;
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            if (trail_buf_append(out, e, 3) < 0)
                return -ENOMEM;
        }
    }
    return 0;
}

/* POST sql (in the query string) with body; a 200 leaves the answer in ch->resp. */
static int ch_query(struct ch_sink *ch, const char *sql, const char *body, size_t body_len,
                    char *err, size_t errlen)
{
    int r;
    trail_buf_reset(&ch->path);
    const char *base = ch->http.url.path;
    if (trail_buf_append(&ch->path, base, strlen(base)) < 0 ||
        trail_buf_append(&ch->path, strchr(base, '?') ? "&query=" : "?query=", 7) < 0 ||
        url_encode(&ch->path, sql, strlen(sql)) < 0)
        return -ENOMEM;
    if (ch->user && (trail_buf_append(&ch->path, "&user=", 6) < 0 ||
                     url_encode(&ch->path, ch->user, strlen(ch->user)) < 0))
        return -ENOMEM;
    if (ch->password && (trail_buf_append(&ch->path, "&password=", 10) < 0 ||
                         url_encode(&ch->path, ch->password, strlen(ch->password)) < 0))
        return -ENOMEM;
    /* settings of the query, whatever the user's profile says (the file's header) */
    static const char cluster_settings[] = "&insert_distributed_sync=1&load_balancing=in_order";
    if (ch->cluster[0] &&
        trail_buf_append(&ch->path, cluster_settings, sizeof(cluster_settings) - 1) < 0)
        return -ENOMEM;
    int status = 0;
    r = client_http_post(&ch->http, ch->path.data, NULL, body, body_len, &status, &ch->resp, err,
                         errlen);
    if (r < 0)
        return r;
    if (status != 200) {
        char what[64];
        snprintf(what, sizeof(what), "ClickHouse answered %d", status);
        client_http_refusal(err, errlen, what, ch->resp.data, ch->resp.len, 300);
        return -EPROTO;
    }
    return 0;
}

static const char events_columns[] =
    "time DateTime('UTC'), time_us UInt64, event_id String, severity UInt8, "
    "severity_name String, host String, duser String, src String, phxTraceId String, "
    "sourceServiceName String, attrs Nested(key String, value String), uuid String, "
    "store_id String, seq UInt64";
static const char checkpoints_columns[] =
    "origin String, tree_size UInt64, root String, chain String, time DateTime('UTC'), "
    "time_us UInt64, key_id String, line String";

/*
 * Make DB.TABLE<suffix> when missing. One server: CREATE ... IF NOT EXISTS, a
 * ReplacingMergeTree. A cluster: only when this server does not have it yet
 * (an ON CLUSTER statement waits for every server, and a reopen while a
 * replica is down must not wait for it), the database, the replicated local
 * table and the Distributed table over it, each ON CLUSTER; a table there
 * that is not Distributed is an error.
 */
static int make_table(struct ch_sink *ch, const char *suffix, const char *columns,
                      const char *order, const char *shard_key, char *err, size_t errlen)
{
    char sql[2048];
    int r;
    if (!ch->cluster[0]) {
        snprintf(sql, sizeof(sql), "CREATE DATABASE IF NOT EXISTS %s", ch->db);
        if ((r = ch_query(ch, sql, NULL, 0, err, errlen)) < 0)
            return r;
        snprintf(sql, sizeof(sql),
                 "CREATE TABLE IF NOT EXISTS %s.%s%s (%s) ENGINE = ReplacingMergeTree() "
                 "PARTITION BY toYYYYMM(time) ORDER BY %s",
                 ch->db, ch->table, suffix, columns, order);
        return ch_query(ch, sql, NULL, 0, err, errlen);
    }
    /* a table of another engine there (one server's, from before the cluster) would take
       the rows unreplicated: refuse it */
    snprintf(sql, sizeof(sql),
             "SELECT engine FROM system.tables WHERE database = '%s' AND name = '%s%s' "
             "FORMAT TabSeparated",
             ch->db, ch->table, suffix);
    if ((r = ch_query(ch, sql, NULL, 0, err, errlen)) < 0)
        return r;
    size_t n = ch->resp.len;
    while (n && (ch->resp.data[n - 1] == '\n' || ch->resp.data[n - 1] == '\r'))
        n--;
    if (n == strlen("Distributed") && !memcmp(ch->resp.data, "Distributed", n))
        return 0;
    if (n) {
        snprintf(err, errlen,
                 "%s.%s%s is a %.*s table, not Distributed: with cluster = %s the sink writes "
                 "through a Distributed table (docs/clickhouse.md)",
                 ch->db, ch->table, suffix, (int)(n > 40 ? 40 : n), ch->resp.data, ch->cluster);
        return -EINVAL;
    }
    const char *c = ch->cluster, *db = ch->db, *t = ch->table;
    snprintf(sql, sizeof(sql), "CREATE DATABASE IF NOT EXISTS %s ON CLUSTER %s", db, c);
    if ((r = ch_query(ch, sql, NULL, 0, err, errlen)) < 0)
        return r;
    snprintf(sql, sizeof(sql),
             "CREATE TABLE IF NOT EXISTS %s.%s%s_local ON CLUSTER %s (%s) ENGINE = "
             "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/%s_%s%s', '{replica}') "
             "PARTITION BY toYYYYMM(time) ORDER BY %s",
             db, t, suffix, c, columns, db, t, suffix, order);
    if ((r = ch_query(ch, sql, NULL, 0, err, errlen)) < 0)
        return r;
    snprintf(sql, sizeof(sql),
             "CREATE TABLE IF NOT EXISTS %s.%s%s ON CLUSTER %s AS %s.%s%s_local "
             "ENGINE = Distributed(%s, %s, %s%s_local, cityHash64(%s))",
             db, t, suffix, c, db, t, suffix, c, db, t, suffix, shard_key);
    return ch_query(ch, sql, NULL, 0, err, errlen);
}

static int ch_open(const struct sink_conf *conf, void **ret_state, char *err, size_t errlen)
{
    struct ch_sink *ch = calloc(1, sizeof(*ch));
    int r;
    if (!ch)
        return -ENOMEM;
    ch->conf = conf;
    const struct ch_opts *o = conf->typed;
    const struct client_url url = o->url;
    snprintf(ch->db, sizeof(ch->db), "%s", o->database);
    snprintf(ch->table, sizeof(ch->table), "%s", o->table);
    ch->user = o->user;
    ch->password = o->password;
    ch->timeout_ms = (uint32_t)o->timeout_ms;
    struct client_tls tls = {.ca = o->ca, .verify = o->verify};
    client_http_init(&ch->http, &url, &tls, (int)ch->timeout_ms, "traild");

    if (o->cluster)
        snprintf(ch->cluster, sizeof(ch->cluster), "%s", o->cluster);

    if ((r = make_table(ch, "", events_columns, "(severity, event_id, time, uuid)", "uuid", err,
                        errlen)) < 0)
        goto fail;
    if (conf->witness && (r = make_table(ch, "_checkpoints", checkpoints_columns,
                                         "(origin, tree_size)", "origin", err, errlen)) < 0)
        goto fail;
    *ret_state = ch;
    return 0;
fail:
    client_http_close(&ch->http);
    trail_buf_free(&ch->resp);
    trail_buf_free(&ch->path);
    free(ch);
    return r;
}

static int put_str(struct trail_buf *b, const char *key, const char *v, size_t n)
{
    if (json_printf(b, ",\"%s\":", key) < 0 || json_str(b, v, n) < 0)
        return -ENOMEM;
    return 0;
}

/* The text of a value, as attrs.value holds it. */
static int value_text(const struct trail_value *v, struct trail_buf *b)
{
    if (v->type == TRAIL_TYPE_STRING || v->type == TRAIL_TYPE_ENUM)
        return json_str(b, v->u.str.ptr, v->u.str.len);
    char t[64];
    size_t n = trail_value_format(v, t, sizeof(t));
    return json_str(b, t, n < sizeof(t) ? n : sizeof(t) - 1);
}

static int promoted(const struct trail_event *ev, const char *key, struct trail_buf *b)
{
    struct trail_value v;
    if (json_printf(b, ",\"%s\":", key) < 0)
        return -ENOMEM;
    if (trail_event_attr_get(ev, key, &v) < 0)
        return json_str(b, "", 0);
    return value_text(&v, b);
}

static int encode_row(struct ch_sink *ch, const struct trail_event *ev, uint64_t seq)
{
    struct trail_buf *b = &ch->body;
    int64_t us = trail_event_time(ev);
    int64_t secs = us / 1000000;
    uint8_t u[16];
    char uuid[37] = "";
    if (trail_event_uuid(ev, u) == 0)
        trail_uuid_format(u, uuid);
    /* DateTime holds 1970..2105; the exact time is in time_us either way */
    if (secs < 0)
        secs = 0;
    if (secs > 4294967295LL)
        secs = 4294967295LL;
    const char *sevname = trail_severity_name(trail_event_severity(ev));
    int r = json_printf(b, "{\"time\":%" PRId64 ",\"time_us\":%" PRId64, secs, us < 0 ? 0 : us);
    r |= put_str(b, "event_id", trail_event_id(ev), strlen(trail_event_id(ev)));
    r |= json_printf(b, ",\"severity\":%d", trail_event_severity(ev));
    r |= put_str(b, "severity_name", sevname ? sevname : "", sevname ? strlen(sevname) : 0);
    r |= put_str(b, "host", trail_event_host(ev), strlen(trail_event_host(ev)));
    r |= promoted(ev, "duser", b);
    r |= promoted(ev, "src", b);
    r |= promoted(ev, "phxTraceId", b);
    r |= promoted(ev, "sourceServiceName", b);
    size_t n = trail_event_attr_count(ev);
    r |= json_printf(b, ",\"attrs.key\":[");
    for (size_t i = 0; i < n; i++) {
        const char *k;
        struct trail_value v;
        trail_event_attr_at(ev, i, &k, &v);
        if (i)
            r |= trail_buf_append(b, ",", 1);
        r |= json_str(b, k, strlen(k));
    }
    r |= json_printf(b, "],\"attrs.value\":[");
    for (size_t i = 0; i < n; i++) {
        const char *k;
        struct trail_value v;
        trail_event_attr_at(ev, i, &k, &v);
        if (i)
            r |= trail_buf_append(b, ",", 1);
        r |= value_text(&v, b);
    }
    r |= json_printf(b, "]");
    r |= put_str(b, "uuid", uuid, strlen(uuid));
    r |= put_str(b, "store_id", sink_store_origin(), strlen(sink_store_origin()));
    r |= json_printf(b, ",\"seq\":%" PRIu64 "}\n", seq);
    return r ? -ENOMEM : 0;
}

static int ch_write(void *state, const struct sink_item *item, char *err, size_t errlen)
{
    struct ch_sink *ch = state;
    (void)err;
    (void)errlen;
    if (item->checkpoint) {
        const struct trail_checkpoint *cp = item->cp;
        char root[65], chain[65];
        for (int i = 0; i < 32; i++) {
            snprintf(root + 2 * i, 3, "%02x", cp->root[i]);
            snprintf(chain + 2 * i, 3, "%02x", cp->chain[i]);
        }
        int r = json_printf(&ch->cp_body, "{\"origin\":");
        r |= json_str(&ch->cp_body, cp->origin, strlen(cp->origin));
        r |=
            json_printf(&ch->cp_body,
                        ",\"tree_size\":%" PRIu64 ",\"root\":\"%s\",\"chain\":\"%s\","
                        "\"time\":%" PRId64 ",\"time_us\":%" PRId64 ",\"key_id\":\"%s\","
                        "\"line\":",
                        cp->tree_size, root, chain, cp->time_us / 1000000, cp->time_us, cp->key_id);
        r |= json_str(&ch->cp_body, item->checkpoint, item->checkpoint_len);
        r |= json_printf(&ch->cp_body, "}\n");
        return r ? -ENOMEM : 0;
    }
    if (ch->n_rows == ch->cap_rows) {
        size_t cap = ch->cap_rows ? 2 * ch->cap_rows : 1024;
        struct row *rows = realloc(ch->rows, cap * sizeof(*rows));
        if (!rows)
            return -ENOMEM;
        ch->rows = rows;
        ch->cap_rows = cap;
    }
    int64_t t = trail_event_time(item->ev) / 1000000;
    if (!ch->n_rows || t < ch->min_time)
        ch->min_time = t;
    if (!ch->n_rows || t > ch->max_time)
        ch->max_time = t;
    struct row *row = &ch->rows[ch->n_rows];
    row->seq = item->seq;
    row->start = ch->body.len;
    int r = encode_row(ch, item->ev, item->seq);
    if (r < 0) {
        ch->body.len = row->start;
        return r;
    }
    row->end = ch->body.len;
    ch->n_rows++;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/*
 * Drop from the batch the rows whose seq the table already holds for this
 * store (a try whose answer was lost may have inserted them). Returns the
 * number of rows dropped, or a negative code.
 */
static int drop_present(struct ch_sink *ch, char *err, size_t errlen)
{
    char sql[1024];
    int64_t lo = ch->min_time < 0 ? 0 : ch->min_time, hi = ch->max_time < 0 ? 0 : ch->max_time;
    snprintf(sql, sizeof(sql),
             "SELECT seq FROM %s.%s WHERE store_id = '%s' AND seq >= %" PRIu64
             " AND seq <= %" PRIu64 " AND time >= toDateTime(%lld"
             ") AND time <= toDateTime(%lld) FORMAT TabSeparated",
             ch->db, ch->table, sink_store_origin(), ch->rows[0].seq, ch->rows[ch->n_rows - 1].seq,
             lo > 4294967295LL ? 4294967295LL : lo, hi > 4294967295LL ? 4294967295LL : hi);
    int r = ch_query(ch, sql, NULL, 0, err, errlen);
    if (r < 0)
        return r;
    size_t n_present = 0, cap = 0;
    uint64_t *present = NULL;
    char *p = ch->resp.data, *end = ch->resp.data + ch->resp.len;
    while (p && p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (n_present == cap) {
            cap = cap ? 2 * cap : 256;
            uint64_t *np = realloc(present, cap * sizeof(*np));
            if (!np) {
                free(present);
                return -ENOMEM;
            }
            present = np;
        }
        present[n_present++] = strtoull(p, NULL, 10);
        p = nl ? nl + 1 : NULL;
    }
    if (!n_present) {
        free(present);
        return 0;
    }
    qsort(present, n_present, sizeof(*present), cmp_u64);
    struct trail_buf kept = {0};
    size_t n_kept = 0;
    for (size_t i = 0; i < ch->n_rows; i++) {
        if (bsearch(&ch->rows[i].seq, present, n_present, sizeof(*present), cmp_u64))
            continue;
        size_t start = kept.len;
        if (trail_buf_append(&kept, ch->body.data + ch->rows[i].start,
                             ch->rows[i].end - ch->rows[i].start) < 0) {
            free(present);
            trail_buf_free(&kept);
            return -ENOMEM;
        }
        ch->rows[n_kept] = ch->rows[i];
        ch->rows[n_kept].start = start;
        ch->rows[n_kept].end = kept.len;
        n_kept++;
    }
    free(present);
    trail_buf_free(&ch->body);
    ch->body = kept;
    int dropped = (int)(ch->n_rows - n_kept);
    ch->n_rows = n_kept;
    return dropped;
}

static int ch_flush(void *state, char *err, size_t errlen)
{
    struct ch_sink *ch = state;
    char sql[256];
    int r;
    int dropped = 0;
    if (ch->n_rows && !ch->checked) {
        if ((dropped = drop_present(ch, err, errlen)) < 0)
            return dropped;
        if (dropped)
            log_msg(LOG_INFO, "sink %s: %d rows of the batch were already in %s.%s: not sent again",
                    ch->conf->name, dropped, ch->db, ch->table);
    }
    if (ch->n_rows) {
        snprintf(sql, sizeof(sql), "INSERT INTO %s.%s FORMAT JSONEachRow", ch->db, ch->table);
        if ((r = ch_query(ch, sql, ch->body.data, ch->body.len, err, errlen)) < 0)
            return r;
    }
    /* a batch found partly present means the cursor is behind the table (a lost answer,
       or a cursor file restored from a backup): keep asking until a batch is all new */
    ch->checked = dropped == 0;
    if (ch->cp_body.len) {
        snprintf(sql, sizeof(sql), "INSERT INTO %s.%s_checkpoints FORMAT JSONEachRow", ch->db,
                 ch->table);
        if ((r = ch_query(ch, sql, ch->cp_body.data, ch->cp_body.len, err, errlen)) < 0)
            return r;
    }
    trail_buf_reset(&ch->body);
    trail_buf_reset(&ch->cp_body);
    ch->n_rows = 0;
    return 0;
}

static void ch_close(void *state)
{
    struct ch_sink *ch = state;
    if (!ch)
        return;
    client_http_close(&ch->http);
    trail_buf_free(&ch->body);
    trail_buf_free(&ch->cp_body);
    trail_buf_free(&ch->resp);
    trail_buf_free(&ch->sql);
    trail_buf_free(&ch->path);
    free(ch->rows);
    free(ch);
}

const struct sink_ops sink_clickhouse_ops = {
    .name = "clickhouse",
    .keys = ch_keys,
    .opts_size = sizeof(struct ch_opts),
    .check = ch_check,
    .open = ch_open,
    .write = ch_write,
    .flush = ch_flush,
    .close = ch_close,
};
