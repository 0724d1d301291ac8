/*
 * query.c - `trail query`, `trail count` and `trail tail`: search, count and
 * follow a store's events, on a store directory (--store, also while traild
 * writes it) or through a running traild (--url, its GET /v1/events,
 * /v1/count and /v1/events/stream).
 *
 * Not here: the filter language and the indexes (lib/query/query.c, lib/query/index*.c),
 * traild's side of the HTTP API (daemon/http/query_http.c).
 *
 * The HTTP client below is the least these three need: HTTP/1.0 GETs (so
 * that answers of unknown length, the SSE stream among them, simply run to
 * the end of the connection), no TLS.
 */
#include "cli.h"

#include <jansson.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- help ---- */

#define FILTERS_HELP                                                                               \
    "FILTERS (all optional; an event must pass every one given)\n"                                 \
    "    --since TIME, --until TIME\n"                                                             \
    "        Events at or after --since and before --until. TIME is RFC 3339 with Z or\n"          \
    "        an offset (2026-11-01T08:00:00+01:00), a date (2026-11-01, midnight UTC),\n"          \
    "        now, or a time ago: a number and s, m, h, d or w (15m, 24h, 7d).\n"                   \
    "    --received-since TIME, --received-until TIME\n"                                           \
    "        The same on the time trail received the event (the producer's time can\n"             \
    "        be wrong or forged; the received time is trail's clock).\n"                           \
    "    --event GLOB\n"                                                                           \
    "        Event ids matching GLOB (* any run, ? one character, [abc], [a-z],\n"                 \
    "        [!abc]); a comma-separated list, or repeat the option: any of them.\n"                \
    "    --severity EXPR\n"                                                                        \
    "        WARNING (exactly), >=WARNING, >NOTICE, <=INFO, <ERROR, NOTICE..ERROR,\n"              \
    "        WARNING.. or ..ERROR; names in any case or numbers (4..7).\n"                         \
    "    --where CONDITION\n"                                                                      \
    "        key=value, key!=value (also true when the attribute is missing), or\n"                \
    "        key^=prefix; an IP attribute takes a network too: src=10.0.0.0/8.\n"                  \
    "        Repeat the option: all must hold.\n"                                                  \
    "    --text WORDS\n"                                                                           \
    "        Each word must appear in some attribute value as a whole word, in any\n"              \
    "        case (\"olsson\" finds astrid.olsson, not olssons). Repeat: all must.\n"              \
    "    --input INPUT, --peer ADDRESS|CIDR, --principal NAME, --origin trail|producer\n"          \
    "        Where the record came from (docs/format.md, \"Record\"): the input (http,\n"          \
    "        syslog_udp, syslog_tcp, syslog_tls, cef_tcp, unix, follow, follow:NAME,\n"            \
    "        import, library, trail), the sender's address, who authenticated it\n"                \
    "        (\"token NAME\", \"certificate SUBJECT\", \"uid=N\"), or whether trail\n"             \
    "        itself wrote it. A leading ! negates: --input '!trail'.\n"                            \
    "\n"                                                                                           \
    "SOURCE\n"                                                                                     \
    "    --store DIR   read the store in DIR (also while traild writes it)\n"                      \
    "    --url URL     ask a running traild (http://HOST:PORT, or https://HOST:PORT\n"             \
    "                  for one with TLS: its certificate is checked); with --url:\n" CLI_CONN_HELP

#define CLICKHOUSE_HELP                                                                            \
    "    --clickhouse URL         search ClickHouse's copy of the events, written by\n"            \
    "                             traild's clickhouse sink (http://HOST:8123/);\n"                 \
    "                             filters on the received time and provenance are\n"               \
    "                             refused (docs/clickhouse.md, \"Searching it with trail\")\n"     \
    "    --clickhouse-table T     DATABASE.TABLE (default trail.events)\n"                         \
    "    --clickhouse-store ID    the store whose events to search, when the table\n"              \
    "                             holds several (its store_id)\n"                                  \
    "    --clickhouse-user NAME   ClickHouse's user; the password is read from\n"                  \
    "                             $TRAIL_CLICKHOUSE_PASSWORD\n"

static const char query_help[] =
    "NAME\n"
    "    trail query - search a store's events\n"
    "\n"
    "SYNOPSIS\n"
    "    trail query (--store DIR | --url URL | --clickhouse URL) [FILTERS]\n"
    "                [--order newest|oldest|time|-time] [--limit N] [--cursor C]\n"
    "                [--format table|json|ndjson|csv|cef|eventlog]\n"
    "\n"
    "DESCRIPTION\n"
    "    Prints the events that pass the filters, newest received first unless --order\n"
    "    says otherwise, at most --limit of them (default 100; 0 for all). When the\n"
    "    limit stops the search, the last line on standard error gives the --cursor\n"
    "    that continues right after the last event printed: paging that way neither\n"
    "    skips nor repeats an event while new ones arrive. Sealed segments are searched\n"
    "    through their indexes, the newest records through an index made as the search\n"
    "    reads them.\n"
    "\n" FILTERS_HELP CLICKHOUSE_HELP "\n"
    "OUTPUT\n"
    "    --order ORDER           newest (default) or oldest: by seq, the order events\n"
    "                            were received in; time or -time: by the events' own\n"
    "                            time (ties by seq), oldest or newest first, across\n"
    "                            hosts and imported files. A time cursor continues over\n"
    "                            the events there at the first page\n"
    "    --limit N               events to print, 0 for all (default 100)\n"
    "    --cursor C              continue after the page that printed C\n"
    "    --format FORMAT         table (default): seq, time, severity, event, attributes;\n"
    "                            json: one array; ndjson: one event a line; csv: seq, time,\n"
    "                            severity, severity_name, id, host, uuid, attrs (a JSON\n"
    "                            object); cef: CEF lines; eventlog: the identity server's\n"
    "                            event.log lines. Every format escapes control\n"
    "                            characters and U+2028/9 (\\u001b, \\n, ...); a CSV\n"
    "                            cell of event text starting with = + - @ gets a\n"
    "                            leading ' (docs/wire-formats.md, \"Unsafe characters\")\n"
    "\n"
    "EXAMPLES\n"
    "    trail query --store /var/lib/trail --since 24h --where duser=alice\n"
    "    trail query --store /var/lib/trail --event 'auth_*_failed*' --severity '>=WARNING'\n"
    "    trail query --url http://127.0.0.1:8080 --where src=10.0.0.0/8 --format ndjson\n"
    "    trail query --store /var/lib/trail --text '#YFTp4LhpTqezu06B' --order oldest\n"
    "    trail query --store /var/lib/trail --since 2026-11-01 --order time --limit 50\n"
    "\n"
    "EXIT STATUS\n"
    "    0 the search ran (whether or not anything matched), 1 it failed (the store\n"
    "    cannot be read, traild cannot be reached), 2 bad usage or a bad filter (the\n"
    "    message names the option and what is wrong with it), 3 the search ran but\n"
    "    went past damaged runs of the store, named on standard error (every other\n"
    "    event was searched; docs/store.md, \"Damage\").\n";

static const char count_help[] =
    "NAME\n"
    "    trail count - count a store's events, grouped\n"
    "\n"
    "SYNOPSIS\n"
    "    trail count (--store DIR | --url URL | --clickhouse URL) [FILTERS] [--by GROUPS]\n"
    "                [--format table|json|ndjson|csv]\n"
    "\n"
    "DESCRIPTION\n"
    "    Counts the events that pass the filters. --by groups them by up to three of\n"
    "    event, severity, hour, day (UTC) or an attribute key of the catalog (duser,\n"
    "    src, ...), separated by commas: --by hour,event counts each event id in each\n"
    "    hour. Whole hours counted by event and severity come from hourly rollups\n"
    "    kept in the indexes, without reading the events, and so do counts by one\n"
    "    attribute of few values (users, addresses, ...) in sealed segments. Without\n"
    "    --by it prints the total.\n"
    "\n"
    "    Rows come in time order when the first group is hour or day, else largest\n"
    "    count first. An event without the attribute counts under (none).\n"
    "\n" FILTERS_HELP CLICKHOUSE_HELP "\n"
    "OUTPUT\n"
    "    --format FORMAT   table (default), json ({\"by\":[..],\"total\":N,\"rows\":\n"
    "                      [{\"keys\":[..],\"count\":N}]}), ndjson (one row a line) or csv\n"
    "\n"
    "EXAMPLES\n"
    "    trail count --store /var/lib/trail --since 7d --by day,severity\n"
    "    trail count --store /var/lib/trail --event 'pipes_*locked*' --by duser\n"
    "    trail count --url http://127.0.0.1:8080 --since 30d --by hour,event --format csv\n"
    "\n"
    "EXIT STATUS\n"
    "    0 counted, 1 failed, 2 bad usage, a bad filter or an unknown --by, 3 counted\n"
    "    but the store has damaged runs, named on standard error, that were not.\n";

static const char tail_help[] =
    "NAME\n"
    "    trail tail - the latest events, and (with -f) the new ones as they come\n"
    "\n"
    "SYNOPSIS\n"
    "    trail tail (--store DIR | --url URL) [FILTERS] [-n N] [-f] [--interval MS]\n"
    "               [--format table|json|ndjson|csv|cef|eventlog]\n"
    "\n"
    "DESCRIPTION\n"
    "    Prints the last N events that pass the filters (default 10), oldest first.\n"
    "    With -f it then keeps printing new ones as they become durable: with --store\n"
    "    it polls the store every --interval milliseconds (default 250); with --url it\n"
    "    follows traild's server-sent event stream and, when the connection drops,\n"
    "    reconnects with the last seq it printed, so that nothing is lost or repeated.\n"
    "    Stop it with Ctrl-C.\n"
    "\n" FILTERS_HELP "\n"
    "OPTIONS\n"
    "    -n, --lines N       how many of the latest events first (0: none)\n"
    "    -f, --follow        keep printing new events\n"
    "    --interval MS       the polling period with --store (default 250)\n"
    "    --format FORMAT     as trail query's (json prints one array per poll)\n"
    "\n"
    "EXAMPLES\n"
    "    trail tail --store /var/lib/trail -f --severity '>=WARNING'\n"
    "    trail tail --url http://127.0.0.1:8080 -f --where duser=alice --format ndjson\n"
    "\n"
    "EXIT STATUS\n"
    "    0 (also when stopped with Ctrl-C), 1 failed, 2 bad usage or a bad filter.\n";

/* ---- options ---- */

enum fmt { F_TABLE, F_JSON, F_NDJSON, F_CSV, F_CEF, F_EVENTLOG };

struct opts {
    const char *cmd;
    const char *store;
    const char *url;
    const char *clickhouse; /* --clickhouse URL, with ch (its table, store, user) */
    struct trail_ch_opts ch;
    struct cli_conn conn; /* --token, --cacert, ... (cli/client.c) */
    struct trail_client_opts copts;
    int format;
    int follow;
    long lines;
    long interval_ms;
};

static int parse_format(const char *v, int count, int *ret)
{
    static const char *const names[] = {"table", "json", "ndjson", "csv", "cef", "eventlog"};
    for (int i = 0; i < (count ? 4 : 6); i++) {
        if (strcmp(v, names[i]) == 0) {
            *ret = i;
            return 0;
        }
    }
    return -1;
}

/*
 * Read argv into o and q. kind: 'q' query, 'c' count, 't' tail. Returns 0,
 * or the exit status of a usage error (already printed).
 */
static int parse_args(int argc, char **argv, int kind, struct opts *o, struct trail_query *q)
{
    static const char *const filters[] = {
        "--since", "--until", "--event",     "--severity", "--where",          "--text",
        "--input", "--peer",  "--principal", "--origin",   "--received-since", "--received-until"};
    char err[512];
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int m = 0;
        for (size_t k = 0; k < sizeof(filters) / sizeof(filters[0]) && !m; k++) {
            m = cli_opt_value(argv, argc, &i, filters[k], &v);
            if (m > 0 && trail_query_set(q, filters[k], v, err, sizeof(err)) < 0)
                return cli_usage_error(o->cmd, "%s", err);
            if (m < 0)
                return cli_usage_error(o->cmd, "%s needs a value", filters[k]);
        }
        if (m)
            continue;
        const char *a = argv[i];
        if ((m = cli_opt_value(argv, argc, &i, "--store", &v))) {
            o->store = v;
        } else if ((m = cli_opt_value(argv, argc, &i, "--url", &v))) {
            o->url = v;
        } else if (kind != 't' && (m = cli_opt_value(argv, argc, &i, "--clickhouse", &v))) {
            o->clickhouse = v;
        } else if (kind != 't' && (m = cli_opt_value(argv, argc, &i, "--clickhouse-table", &v))) {
            o->ch.table = v;
        } else if (kind != 't' && (m = cli_opt_value(argv, argc, &i, "--clickhouse-store", &v))) {
            o->ch.store_id = v;
        } else if (kind != 't' && (m = cli_opt_value(argv, argc, &i, "--clickhouse-user", &v))) {
            o->ch.user = v;
        } else if ((m = cli_conn_opt(argv, argc, &i, &o->conn))) {
        } else if ((m = cli_opt_value(argv, argc, &i, "--format", &v))) {
            if (m > 0 && parse_format(v, kind == 'c', &o->format) < 0)
                return cli_usage_error(o->cmd, "bad --format '%s': expected %s", v,
                                       kind == 'c' ? "table, json, ndjson or csv"
                                                   : "table, json, ndjson, csv, cef or eventlog");
        } else if (kind == 'q' && ((m = cli_opt_value(argv, argc, &i, "--order", &v)) ||
                                   (m = cli_opt_value(argv, argc, &i, "--limit", &v)) ||
                                   (m = cli_opt_value(argv, argc, &i, "--cursor", &v)))) {
            if (m > 0 && trail_query_set(q, a, v, err, sizeof(err)) < 0)
                return cli_usage_error(o->cmd, "%s", err);
        } else if (kind == 'c' && (m = cli_opt_value(argv, argc, &i, "--by", &v))) {
            if (m > 0 && trail_query_set(q, "--by", v, err, sizeof(err)) < 0)
                return cli_usage_error(o->cmd, "%s", err);
        } else if (kind == 't' && ((m = cli_opt_value(argv, argc, &i, "--lines", &v)) ||
                                   (m = cli_opt_value(argv, argc, &i, "-n", &v)))) {
            char *end;
            if (m > 0 && ((o->lines = strtol(v, &end, 10)) < 0 || *end || !*v || o->lines > 100000))
                return cli_usage_error(o->cmd,
                                       "bad %s '%s': expected a number of events, 0..100000",
                                       argv[i - 1][1] == '-' ? "--lines" : "-n", v);
        } else if (kind == 't' && (m = cli_opt_value(argv, argc, &i, "--interval", &v))) {
            char *end;
            if (m > 0 &&
                ((o->interval_ms = strtol(v, &end, 10)) < 10 || *end || o->interval_ms > 3600000))
                return cli_usage_error(o->cmd, "bad --interval '%s': expected 10..3600000 ms", v);
        } else if (kind == 't' && (strcmp(a, "-f") == 0 || strcmp(a, "--follow") == 0)) {
            o->follow = 1;
            continue;
        } else {
            return cli_usage_error(o->cmd, "unknown option '%s' (see trail %s --help)", a, o->cmd);
        }
        if (m < 0)
            return cli_usage_error(o->cmd, "%s needs a value", a);
    }
    if (!!o->store + !!o->url + !!o->clickhouse != 1)
        return cli_usage_error(o->cmd, kind == 't' ? "give either --store DIR or --url URL"
                                                   : "give one of --store DIR, --url URL or "
                                                     "--clickhouse URL");
    if (!o->clickhouse && (o->ch.table || o->ch.store_id || o->ch.user))
        return cli_usage_error(o->cmd, "--clickhouse-table, --clickhouse-store and "
                                       "--clickhouse-user go with --clickhouse URL");
    /* a password is not for the command line (ps shows it) */
    o->ch.password = getenv("TRAIL_CLICKHOUSE_PASSWORD");
    return o->url ? cli_conn_opts(o->cmd, &o->conn, &o->copts) : 0;
}

/* ---- printing events ---- */

struct printer {
    int format;
    size_t n;
    struct trail_buf buf;
    int header_done;
};

static int put(struct printer *p, const char *s, size_t n)
{
    return trail_buf_append(&p->buf, s, n);
}

static int puts_(struct printer *p, const char *s)
{
    return put(p, s, strlen(s));
}

/*
 * A CSV cell of event text (trail_text_csv_cell: escaped to one line, quoted,
 * and "'" before a formula, as OWASP advises). Every text cell goes through
 * here; the numbers and times trail writes itself (seq, time, severity,
 * uuid, received) do not.
 */
static int csv_field(struct printer *p, const char *s, size_t n)
{
    return trail_text_csv_cell(&p->buf, s, n);
}

/*
 * A value for the table: unsafe characters escaped (trail_text_escape: \n,
 * \r, \uXXXX, \xHH), values over 120 bytes cut at a character boundary.
 */
static int table_value(struct printer *p, const char *s, size_t n)
{
    size_t shown = n > 120 ? 117 : n;
    while (shown < n && shown > 0 && ((unsigned char)s[shown] & 0xc0) == 0x80)
        shown--; /* not inside a UTF-8 sequence */
    int r = trail_text_escape(&p->buf, s, shown, NULL, TRAIL_ESC_NL);
    if (r == 0 && shown < n)
        r = put(p, "...", 3);
    return r;
}

/*
 * Where an event came from, in a few characters for the table: "trail" for
 * trail's own records, else the input (with a follow's name) and the peer's
 * address: "syslog_tcp@192.0.2.7", "follow:pas", "import".
 */
static void from_text(const struct trail_event *ev, char *out, size_t size)
{
    if (trail_event_is_own(ev)) {
        snprintf(out, size, "trail");
        return;
    }
    char input[80], peer[48];
    trail_event_input_text(ev, input);
    trail_peer_address(trail_event_peer(ev), peer);
    snprintf(out, size, "%s%s%s", input[0] ? input : "-", peer[0] ? "@" : "", peer);
}

static int print_event(struct printer *p, const struct trail_event *ev)
{
    int r = 0;
    char t[32];
    switch (p->format) {
    case F_TABLE: {
        if (!p->header_done) {
            r = puts_(p, "SEQ       TIME                         SEVERITY  FROM                  "
                         "EVENT  ATTRIBUTES\n");
            p->header_done = 1;
        }
        char head[224], from[128];
        trail_time_format(trail_event_time(ev), t);
        const char *sev = trail_severity_name(trail_event_severity(ev));
        from_text(ev, from, sizeof(from));
        snprintf(head, sizeof(head), "%-9" PRIu64 " %s  %-8s  %-20s  ", trail_event_seq(ev), t,
                 sev ? sev : "?", from);
        r |= puts_(p, head);
        r |= puts_(p, trail_event_id(ev));
        for (size_t i = 0; i < trail_event_attr_count(ev) && r == 0; i++) {
            const char *key;
            struct trail_value v;
            char text[8300];
            trail_event_attr_at(ev, i, &key, &v);
            size_t n = trail_value_format(&v, text, sizeof(text));
            r |= put(p, i ? " " : "  ", i ? 1 : 2);
            r |= puts_(p, key);
            r |= put(p, "=", 1);
            r |= table_value(p, text, n < sizeof(text) ? n : sizeof(text) - 1);
        }
        /* the relays it came through (a centre's events), escaped by libtrail */
        if (trail_event_hops(ev) > 0) {
            r |= put(p, "  via ", 6);
            r |= trail_event_via_text(ev, &p->buf);
        }
        r |= put(p, "\n", 1);
        break;
    }
    case F_JSON:
        r = put(p, p->n ? ",\n" : "[\n", 2);
        if (r == 0)
            r = trail_event_to_json(ev, &p->buf);
        break;
    case F_NDJSON:
        r = trail_event_to_json(ev, &p->buf);
        if (r == 0)
            r = put(p, "\n", 1);
        break;
    case F_CSV:
        /* libtrail's one CSV writer of events, which traild's export uses too */
        if (!p->header_done) {
            r = trail_event_csv_header(&p->buf);
            r |= put(p, "\n", 1);
            p->header_done = 1;
        }
        r |= trail_event_to_csv(ev, &p->buf);
        r |= put(p, "\n", 1);
        break;
    default: {
        struct trail_cef_opts cef = {.log_prefix = p->format == F_EVENTLOG};
        r = trail_event_to_cef(ev, &cef, &p->buf);
        if (r == 0)
            r = put(p, "\n", 1);
    }
    }
    p->n++;
    return r ? -ENOMEM : 0;
}

/* Write out what is buffered; at the end of a JSON array close it. */
static int flush_out(struct printer *p, int end)
{
    if (end && p->format == F_JSON)
        puts_(p, p->n ? "\n]\n" : "[]\n");
    if (p->buf.len && fwrite(p->buf.data, 1, p->buf.len, stdout) != p->buf.len)
        return -EIO;
    trail_buf_reset(&p->buf);
    if (end && p->format == F_JSON)
        p->n = 0; /* a next array (tail -f) starts over */
    return fflush(stdout) == 0 ? 0 : -errno;
}

/* ---- the store ---- */

static int open_store(const char *cmd, const char *dir, struct trail_store **ret_s,
                      struct trail_index **ret_ix)
{
    struct trail_catalog *cat = cli_catalog();
    if (!cat)
        return 1;
    struct trail_store_opts o = {.read_only = 1};
    struct trail_store_report rep;
    int r = trail_store_open(dir, cat, &o, ret_s, &rep);
    if (r == TRAIL_E_NOT_FOUND)
        return cli_fail(cmd, "%s: no store there", dir);
    if (r < 0)
        return cli_fail(cmd, "%s: cannot open the store: %s", dir, trail_strerror(r));
    if (rep.damaged)
        fprintf(stderr, "trail %s: %s: damage found (trail verify tells more):\n%s", cmd, dir,
                rep.message);
    r = trail_index_open(*ret_s, NULL, ret_ix);
    if (r < 0) {
        trail_store_close(*ret_s);
        return cli_fail(cmd, "%s", trail_strerror(r));
    }
    return 0;
}

static void close_store(struct trail_store *s, struct trail_index *ix)
{
    trail_index_close(ix);
    trail_store_close(s);
}

/* Set when an answer went past damaged runs of the store: the command exits 3. */
static int skipped_any;

/* Say on standard error which damaged runs an answer went past. */
static void warn_skipped(const char *cmd, const struct trail_store_damage *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(stderr,
                "trail %s: warning: seqs %" PRIu64 "..%" PRIu64 " skipped: %s %s (%s); "
                "the answer holds every other event\n",
                cmd, d[i].first_seq, d[i].last_seq, d[i].file,
                d[i].quarantined ? "was quarantined by trail repair" : "is damaged", d[i].reason);
    if (n)
        skipped_any = 1;
}

/* The same from traild's X-Trail-Skipped header or "skipped" array (A-B,C-D). */
static void warn_skipped_header(const char *cmd, const char *v, size_t len)
{
    if (!v || !len)
        return;
    fprintf(stderr,
            "trail %s: warning: seqs %.*s skipped: damaged (traild's /healthz names the files); "
            "the answer holds every other event\n",
            cmd, (int)len, v);
    skipped_any = 1;
}

/* A search's failure: a bad query is the user's (2), the rest the store's (1). */
static int search_failed(const char *cmd, int r, const char *err)
{
    if (r == TRAIL_E_PARSE)
        return cli_usage_error(cmd, "%s", err);
    return cli_fail(cmd, "cannot read the store: %s", trail_strerror(r));
}

/*
 * Run q on ix, printing; the seqs printed in *ret_last (max). Returns 0,
 * or an exit status (printed). *ret_more and cursor tell where it stopped.
 */
static int search_print(const char *cmd, struct trail_index *ix, const struct trail_query *q,
                        struct printer *p, char cursor[TRAIL_QUERY_CURSOR_MAX], int *ret_more,
                        uint64_t *ret_last)
{
    struct trail_results *res;
    char err[512];
    int r = trail_results_open(ix, q, &res, err, sizeof(err));
    if (r < 0)
        return search_failed(cmd, r, err);
    struct trail_event *ev;
    if ((r = trail_event_new(cli_catalog(), "x", &ev)) < 0) {
        trail_results_free(res);
        return cli_fail(cmd, "%s", trail_strerror(r));
    }
    /* the text forms straight from the records (trail_results_write), unless the seqs are
       wanted: the same rows, written without decoding each event */
    int form = p->format == F_CSV                              ? TRAIL_ROWS_CSV
               : p->format == F_NDJSON                         ? TRAIL_ROWS_NDJSON
               : p->format == F_CEF || p->format == F_EVENTLOG ? TRAIL_ROWS_CEF
                                                               : 0;
    if (form && !ret_last) {
        struct trail_cef_opts cef = {.log_prefix = p->format == F_EVENTLOG};
        if (p->format == F_CSV && !p->header_done) {
            r = trail_event_csv_header(&p->buf) < 0 || put(p, "\n", 1) < 0 ? -ENOMEM : 0;
            p->header_done = 1;
        }
        uint64_t rows = 0;
        while (r >= 0 &&
               (r = trail_results_write(res, ev, form, &cef, &p->buf, 65536, &rows)) >= 0) {
            p->n += rows;
            if (flush_out(p, 0) < 0)
                r = -EIO;
            else if (r == 0)
                break;
        }
    } else {
        while ((r = trail_results_next(res, ev)) == 1) {
            if (print_event(p, ev) < 0 || (p->buf.len > 65536 && flush_out(p, 0) < 0)) {
                r = -EIO;
                break;
            }
            if (ret_last && trail_event_seq(ev) > *ret_last)
                *ret_last = trail_event_seq(ev);
        }
    }
    if (ret_more)
        *ret_more = trail_results_more(res);
    if (cursor)
        trail_results_cursor(res, cursor, TRAIL_QUERY_CURSOR_MAX);
    struct trail_store_damage *skipped = NULL;
    size_t n_skipped = 0;
    if (r == 0 && trail_results_skipped(res, &skipped, &n_skipped) == 0) {
        warn_skipped(cmd, skipped, n_skipped);
        free(skipped);
    }
    trail_results_free(res);
    trail_event_free(ev);
    if (r == -EIO)
        return cli_fail(cmd, "cannot write: %s", strerror(errno));
    if (r < 0)
        return cli_fail(cmd, "cannot read the store: %s", trail_strerror(r));
    return 0;
}

/* ---- ClickHouse (trail_ch_*: lib/clickhouse) ---- */

/* A source over o->clickhouse: 0, or the exit status of a usage error. */
static int ch_open(const struct opts *o, struct trail_ch **ret)
{
    char err[512];
    if (trail_ch_open(o->clickhouse, &o->ch, cli_catalog(), ret, err, sizeof(err)) < 0)
        return cli_usage_error(o->cmd, "bad --clickhouse: %s", err);
    return 0;
}

/* A failure of ClickHouse: a bad query is the user's (2), the rest ClickHouse's (1). */
static int ch_failed(const char *cmd, int r, const char *err)
{
    if (r == TRAIL_E_PARSE)
        return cli_usage_error(cmd, "%s", err);
    return cli_fail(cmd, "cannot search ClickHouse: %s", *err ? err : trail_strerror(r));
}

static int ch_search_print(const struct opts *o, const struct trail_query *q, struct printer *p,
                           char cursor[TRAIL_QUERY_CURSOR_MAX], int *ret_more)
{
    struct trail_ch *ch;
    struct trail_ch_results *res;
    struct trail_event *ev = NULL;
    char err[512] = "";
    int st = ch_open(o, &ch);
    if (st)
        return st;
    int r = trail_ch_results_open(ch, q, &res, err, sizeof(err));
    if (r < 0) {
        st = ch_failed(o->cmd, r, err);
        trail_ch_close(ch);
        return st;
    }
    if ((r = trail_event_new(cli_catalog(), "x", &ev)) < 0) {
        st = cli_fail(o->cmd, "%s", trail_strerror(r));
        goto out;
    }
    while ((r = trail_ch_results_next(res, ev)) == 1) {
        if (print_event(p, ev) < 0 || (p->buf.len > 65536 && flush_out(p, 0) < 0)) {
            st = cli_fail(o->cmd, "cannot write: %s", strerror(errno));
            goto out;
        }
    }
    if (r < 0) {
        st = ch_failed(o->cmd, r, trail_ch_results_error(res));
        goto out;
    }
    *ret_more = trail_ch_results_more(res);
    trail_ch_results_cursor(res, cursor, TRAIL_QUERY_CURSOR_MAX);
out:
    trail_event_free(ev);
    trail_ch_results_free(res);
    trail_ch_close(ch);
    return st;
}

/* ---- HTTP (trail_client_*: lib/client) ---- */

struct http {
    struct trail_client *c;
    int status;
    struct trail_buf body; /* the answer's body, once read */
};

/* A client of o->url: 0, or the exit status of a usage error. */
static int http_open(const struct opts *o, struct http *h)
{
    char err[512];
    memset(h, 0, sizeof(*h));
    if (trail_client_open(o->url, &o->copts, &h->c, err, sizeof(err)) < 0)
        return cli_usage_error(o->cmd, "bad --url %s", err);
    return 0;
}

static void http_close(struct http *h)
{
    trail_client_close(h->c);
    h->c = NULL;
    trail_buf_free(&h->body);
}

static const char *http_header(const struct http *h, const char *name, size_t *ret_len)
{
    return trail_client_header(h->c, name, ret_len);
}

/* GET path with extra headers: 0 with h->status, or < 0 with err. */
static int http_get(struct http *h, const char *path, const char *extra, char *err, size_t errlen)
{
    return trail_client_request(h->c, "GET", path, extra, NULL, 0, &h->status, err, errlen);
}

/* Read the whole body into h->body. */
static int http_body(struct http *h, char *err, size_t errlen)
{
    trail_buf_reset(&h->body);
    int r = trail_client_read_all(h->c, &h->body, err, errlen);
    if (r == 0 && trail_buf_append(&h->body, "", 0) < 0)
        r = -ENOMEM;
    return r;
}

/* An error answer: {"error":"..."} -> message; 400 is a bad query (2), others fail (1). */
static int http_failed(const char *cmd, struct http *h)
{
    char err[512];
    if (http_body(h, err, sizeof(err)) < 0)
        return cli_fail(cmd, "traild answered %d and then: %s", h->status, err);
    json_error_t je;
    json_t *j = h->body.len ? json_loadb(h->body.data, h->body.len, 0, &je) : NULL;
    const char *msg = j ? json_string_value(json_object_get(j, "error")) : NULL;
    int st = h->status == 400 ? cli_usage_error(cmd, "%s", msg ? msg : "bad request")
                              : cli_fail(cmd, "traild answered %d%s%s", h->status, msg ? ": " : "",
                                         msg ? msg : "");
    json_decref(j);
    return st;
}

/*
 * GET path from the daemon and read the whole answer: 0 with a 200 answer's
 * body in h, or the command's exit status after saying what went wrong.
 */
static int http_fetch(const struct opts *o, struct http *h, const char *path)
{
    char err[512];
    if (http_get(h, path, NULL, err, sizeof(err)) < 0)
        return cli_fail(o->cmd, "%s", err);
    if (h->status != 200)
        return http_failed(o->cmd, h);
    if (http_body(h, err, sizeof(err)) < 0)
        return cli_fail(o->cmd, "reading the answer: %s", err);
    return 0;
}

/*
 * One page of GET /v1/events as NDJSON, each event printed. Sets the
 * cursor and more from the answer's headers. Returns 0 or an exit status.
 */
static int url_page(const struct opts *o, const struct trail_query *q, const char *cursor,
                    struct printer *p, char out_cursor[TRAIL_QUERY_CURSOR_MAX], int *ret_more,
                    uint64_t *ret_last, size_t *ret_n, uint64_t *ret_horizon)
{
    struct http h;
    char err[512];
    struct trail_buf path = {0};
    int st = http_open(o, &h);
    if (st)
        return st;
    if (trail_buf_append(&path, "/v1/events?", 11) < 0 ||
        trail_query_format(q, cursor, &path) < 0 ||
        trail_buf_append(&path, "&format=ndjson", 14) < 0) {
        st = cli_fail(o->cmd, "out of memory");
        goto out;
    }
    if ((st = http_fetch(o, &h, path.data)) != 0)
        goto out;
    size_t hl;
    const char *hv = http_header(&h, "X-Trail-Cursor", &hl);
    if (hv && hl < TRAIL_QUERY_CURSOR_MAX)
        snprintf(out_cursor, TRAIL_QUERY_CURSOR_MAX, "%.*s", (int)hl, hv);
    hv = http_header(&h, "X-Trail-More", &hl);
    *ret_more = hv && hl >= 1 && hv[0] == '1';
    hv = http_header(&h, "X-Trail-Horizon", &hl);
    if (hv && ret_horizon)
        *ret_horizon = strtoull(hv, NULL, 10);
    hv = http_header(&h, "X-Trail-Skipped", &hl);
    warn_skipped_header(o->cmd, hv, hl);
    const char *line = h.body.data, *end = h.body.data + h.body.len;
    *ret_n = 0;
    while (line < end) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t len = nl ? (size_t)(nl - line) : (size_t)(end - line);
        if (len) {
            struct trail_event *ev;
            if (trail_event_from_stored_json(cli_catalog(), line, len, &ev, err, sizeof(err)) < 0) {
                st = cli_fail(o->cmd, "traild sent an event that does not read: %s", err);
                goto out;
            }
            int r = print_event(p, ev);
            if (ret_last && trail_event_seq(ev) > *ret_last)
                *ret_last = trail_event_seq(ev);
            trail_event_free(ev);
            (*ret_n)++;
            if (r < 0 || (p->buf.len > 65536 && flush_out(p, 0) < 0)) {
                st = cli_fail(o->cmd, "cannot write: %s", strerror(errno));
                goto out;
            }
        }
        line += len + 1;
    }
out:
    trail_buf_free(&path);
    http_close(&h);
    return st;
}

/* ---- trail query ---- */

static int run_query(struct opts *o, struct trail_query *q)
{
    struct printer p = {.format = o->format};
    char cursor[TRAIL_QUERY_CURSOR_MAX] = "";
    int more = 0, st = 0;
    if (o->store) {
        struct trail_store *s;
        struct trail_index *ix;
        if ((st = open_store(o->cmd, o->store, &s, &ix)))
            return st;
        st = search_print(o->cmd, ix, q, &p, cursor, &more, NULL);
        close_store(s, ix);
    } else if (o->clickhouse) {
        st = ch_search_print(o, q, &p, cursor, &more);
    } else {
        /* pages of at most 1000 (under traild's [limits] max_query_limit) until the limit or
           the end */
        uint64_t want = trail_query_limit(q), got = 0;
        struct trail_query *pq;
        char err[256], lim[32];
        if (trail_query_new(cli_catalog(), &pq) < 0)
            return cli_fail(o->cmd, "out of memory");
        /* the same parameters: format and parse back */
        struct trail_buf qs = {0};
        trail_query_format(q, NULL, &qs);
        trail_query_parse(pq, qs.data ? qs.data : "", qs.len, err, sizeof(err));
        trail_buf_free(&qs);
        const char *cur = NULL;
        for (;;) {
            uint64_t page = want ? want - got : 1000;
            if (page > 1000)
                page = 1000;
            snprintf(lim, sizeof(lim), "%" PRIu64, page);
            trail_query_set(pq, "limit", lim, err, sizeof(err));
            size_t n = 0;
            st = url_page(o, pq, cur, &p, cursor, &more, NULL, &n, NULL);
            if (st)
                break;
            got += n;
            if (!more || (want && got >= want))
                break;
            cur = cursor;
        }
        trail_query_free(pq);
    }
    if (st == 0 && flush_out(&p, 1) < 0)
        st = cli_fail(o->cmd, "cannot write: %s", strerror(errno));
    if (st == 0 && more)
        fprintf(stderr, "trail %s: more events: --cursor %s\n", o->cmd, cursor);
    trail_buf_free(&p.buf);
    return st == 0 && skipped_any ? 3 : st;
}

/*
 * What trail query, count and tail share: --help, the catalog, the query,
 * the options (mode 'q', 'c' or 't'), then run(o, q) for the exit status.
 */
static int query_command(int argc, char **argv, const char *help, int mode, struct opts *o,
                         int (*run)(struct opts *o, struct trail_query *q))
{
    if (cli_wants_help(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    struct trail_catalog *cat = cli_catalog();
    struct trail_query *q;
    if (!cat || trail_query_new(cat, &q) < 0)
        return 1;
    int st = parse_args(argc, argv, mode, o, q);
    if (st == 0)
        st = run(o, q);
    trail_query_free(q);
    cli_conn_free(&o->conn);
    return st;
}

int cmd_query(int argc, char **argv)
{
    struct opts o = {.cmd = "query"};
    return query_command(argc, argv, query_help, 'q', &o, run_query);
}

/* ---- trail count ---- */

static int print_count(const struct opts *o, int n_by, const char *const *by, uint64_t total,
                       size_t n_rows, const struct trail_count_row *rows)
{
    struct printer p = {.format = o->format};
    int r = 0;
    char num[32];
    switch (o->format) {
    case F_TABLE: {
        if (n_by == 0) {
            snprintf(num, sizeof(num), "%" PRIu64 "\n", total);
            r |= puts_(&p, num);
            break;
        }
        /* column widths from the data */
        size_t w[TRAIL_COUNT_MAX_BY];
        for (int d = 0; d < n_by; d++) {
            w[d] = strlen(by[d]);
            for (size_t i = 0; i < n_rows; i++) {
                size_t l = rows[i].keys[d] ? strlen(rows[i].keys[d]) : 6;
                w[d] = l > w[d] ? (l > 60 ? 60 : l) : w[d];
            }
        }
        for (int d = 0; d < n_by; d++) {
            char cell[128];
            snprintf(cell, sizeof(cell), "%-*s  ", (int)w[d], by[d]);
            for (char *c = cell; *c; c++)
                *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
            r |= puts_(&p, cell);
        }
        r |= puts_(&p, "COUNT\n");
        for (size_t i = 0; i < n_rows && r == 0; i++) {
            for (int d = 0; d < n_by; d++) {
                const char *k = rows[i].keys[d] ? rows[i].keys[d] : "(none)";
                size_t l = strlen(k);
                r |= table_value(&p, k, l);
                for (size_t pad = l > 120 ? 120 : l; pad < w[d] + 2; pad++)
                    r |= put(&p, " ", 1);
            }
            snprintf(num, sizeof(num), "%" PRIu64 "\n", rows[i].count);
            r |= puts_(&p, num);
        }
        snprintf(num, sizeof(num), "%" PRIu64, total);
        r |= puts_(&p, "total ");
        r |= puts_(&p, num);
        r |= put(&p, "\n", 1);
        break;
    }
    case F_CSV:
        for (int d = 0; d < n_by; d++) {
            r |= csv_field(&p, by[d], strlen(by[d]));
            r |= put(&p, ",", 1);
        }
        r |= puts_(&p, "count\n");
        for (size_t i = 0; i < n_rows && r == 0; i++) {
            for (int d = 0; d < n_by; d++) {
                if (rows[i].keys[d])
                    r |= csv_field(&p, rows[i].keys[d], strlen(rows[i].keys[d]));
                r |= put(&p, ",", 1);
            }
            snprintf(num, sizeof(num), "%" PRIu64 "\n", rows[i].count);
            r |= puts_(&p, num);
        }
        if (n_by == 0) {
            snprintf(num, sizeof(num), "%" PRIu64 "\n", total);
            r |= puts_(&p, num);
        }
        break;
    default: {
        /* written with trail_json_string: the keys are event text, escaped as in every JSON */
        if (o->format == F_JSON) {
            r |= puts_(&p, "{\"by\":[");
            for (int d = 0; d < n_by; d++) {
                r |= put(&p, ",", d > 0);
                r |= trail_json_string(&p.buf, by[d], strlen(by[d]));
            }
            snprintf(num, sizeof(num), "],\"total\":%" PRIu64 ",\"rows\":[", total);
            r |= puts_(&p, num);
        }
        for (size_t i = 0; i < n_rows; i++) {
            r |= put(&p, ",", o->format == F_JSON && i > 0);
            r |= puts_(&p, "{\"keys\":[");
            for (int d = 0; d < n_by; d++) {
                r |= put(&p, ",", d > 0);
                const char *k = rows[i].keys[d];
                r |= k ? trail_json_string(&p.buf, k, strlen(k)) : puts_(&p, "null");
            }
            snprintf(num, sizeof(num), "],\"count\":%" PRIu64 "}", rows[i].count);
            r |= puts_(&p, num);
            r |= put(&p, "\n", o->format == F_NDJSON);
        }
        if (o->format == F_JSON) {
            r |= puts_(&p, "]}\n");
        } else if (n_by == 0) {
            snprintf(num, sizeof(num), "{\"total\":%" PRIu64 "}\n", total);
            r |= puts_(&p, num);
        }
    }
    }
    int st = r ? cli_fail(o->cmd, "out of memory") : 0;
    if (st == 0 && flush_out(&p, 0) < 0)
        st = cli_fail(o->cmd, "cannot write: %s", strerror(errno));
    trail_buf_free(&p.buf);
    return st;
}

static int count_url(const struct opts *o, const struct trail_query *q)
{
    struct http h;
    struct trail_buf path = {0};
    int st = http_open(o, &h);
    if (st)
        return st;
    json_t *j = NULL;
    if (trail_buf_append(&path, "/v1/count?", 10) < 0 || trail_query_format(q, NULL, &path) < 0) {
        st = cli_fail(o->cmd, "out of memory");
        goto out;
    }
    if ((st = http_fetch(o, &h, path.data)) != 0)
        goto out;
    json_error_t je;
    j = json_loadb(h.body.data, h.body.len, 0, &je);
    json_t *byj = json_object_get(j, "by"), *rowsj = json_object_get(j, "rows");
    if (!j || !json_is_array(byj) || !json_is_array(rowsj) ||
        json_array_size(byj) > TRAIL_COUNT_MAX_BY) {
        st = cli_fail(o->cmd, "traild's answer does not read as a count");
        goto out;
    }
    const char *by[TRAIL_COUNT_MAX_BY];
    int n_by = (int)json_array_size(byj);
    for (int d = 0; d < n_by; d++)
        by[d] = json_string_value(json_array_get(byj, (size_t)d));
    size_t n = json_array_size(rowsj);
    struct trail_count_row *rows = calloc(n ? n : 1, sizeof(*rows));
    for (size_t i = 0; rows && i < n; i++) {
        json_t *row = json_array_get(rowsj, i), *keys = json_object_get(row, "keys");
        rows[i].count = (uint64_t)json_integer_value(json_object_get(row, "count"));
        for (int d = 0; d < n_by; d++)
            rows[i].keys[d] = json_string_value(json_array_get(keys, (size_t)d));
    }
    if (!rows)
        st = cli_fail(o->cmd, "out of memory");
    else
        st = print_count(o, n_by, by, (uint64_t)json_integer_value(json_object_get(j, "total")), n,
                         rows);
    free(rows);
    size_t hl;
    const char *hv = http_header(&h, "X-Trail-Skipped", &hl);
    warn_skipped_header(o->cmd, hv, hl);
    if (st == 0 && skipped_any)
        st = 3;
out:
    json_decref(j);
    trail_buf_free(&path);
    http_close(&h);
    return st;
}

static int run_count(struct opts *o, struct trail_query *q)
{
    if (o->url)
        return count_url(o, q);
    if (o->clickhouse) {
        struct trail_ch *ch;
        struct trail_count *c;
        char err[512] = "";
        int st = ch_open(o, &ch);
        if (st)
            return st;
        int r = trail_ch_count_run(ch, q, &c, err, sizeof(err));
        if (r < 0) {
            st = ch_failed(o->cmd, r, err);
        } else {
            st = print_count(o, c->n_by, c->by, c->total, c->n_rows, c->rows);
            trail_count_free(c);
        }
        trail_ch_close(ch);
        return st;
    }
    struct trail_store *s;
    struct trail_index *ix;
    int st = open_store(o->cmd, o->store, &s, &ix);
    if (st != 0)
        return st;
    struct trail_count *c;
    char err[512];
    int r = trail_count_run(ix, q, &c, err, sizeof(err));
    if (r < 0) {
        st = search_failed(o->cmd, r, err);
    } else {
        st = print_count(o, c->n_by, c->by, c->total, c->n_rows, c->rows);
        trail_count_free(c);
        struct trail_store_damage *skipped = NULL;
        size_t n_skipped = 0;
        if (trail_index_damage(ix, 1, UINT64_MAX, &skipped, &n_skipped) == 0) {
            warn_skipped(o->cmd, skipped, n_skipped);
            free(skipped);
        }
        if (st == 0 && skipped_any)
            st = 3;
    }
    close_store(s, ix);
    return st;
}

int cmd_count(int argc, char **argv)
{
    struct opts o = {.cmd = "count"};
    return query_command(argc, argv, count_help, 'c', &o, run_count);
}

/* ---- trail tail ---- */

static volatile sig_atomic_t stop_now;

static void on_signal(int sig)
{
    (void)sig;
    stop_now = 1;
}

/* The last n events, printed oldest first (a newest-first search, reversed). */
static int tail_store_start(const struct opts *o, struct trail_index *ix, struct trail_query *q,
                            struct printer *p, uint64_t *ret_last)
{
    char err[256], lim[32];
    struct trail_results *res;
    snprintf(lim, sizeof(lim), "%ld", o->lines);
    trail_query_set(q, "order", "newest", err, sizeof(err));
    trail_query_set(q, "limit", lim, err, sizeof(err));
    *ret_last = trail_index_horizon(ix);
    if (o->lines == 0) {
        int r = trail_index_refresh(ix);
        *ret_last = trail_index_horizon(ix);
        return r < 0 ? cli_fail(o->cmd, "cannot read the store: %s", trail_strerror(r)) : 0;
    }
    int r = trail_results_open(ix, q, &res, err, sizeof(err));
    if (r < 0)
        return search_failed(o->cmd, r, err);
    *ret_last = trail_index_horizon(ix);
    struct trail_event **evs = calloc((size_t)o->lines, sizeof(*evs));
    size_t n = 0;
    while (evs && n < (size_t)o->lines) {
        if (trail_event_new(cli_catalog(), "x", &evs[n]) < 0)
            break;
        if ((r = trail_results_next(res, evs[n])) != 1) {
            trail_event_free(evs[n]);
            break;
        }
        n++;
    }
    trail_results_free(res);
    int st = r < 0 ? cli_fail(o->cmd, "cannot read the store: %s", trail_strerror(r)) : 0;
    for (size_t i = n; i-- > 0;) {
        if (st == 0 && print_event(p, evs[i]) < 0)
            st = cli_fail(o->cmd, "out of memory");
        trail_event_free(evs[i]);
    }
    free(evs);
    if (st == 0 && flush_out(p, 1) < 0)
        st = cli_fail(o->cmd, "cannot write: %s", strerror(errno));
    return st;
}

static int tail_store(const struct opts *o, struct trail_query *q)
{
    struct trail_store *s;
    struct trail_index *ix;
    struct printer p = {.format = o->format};
    int st = open_store(o->cmd, o->store, &s, &ix);
    if (st)
        return st;
    uint64_t last = 0;
    st = tail_store_start(o, ix, q, &p, &last);
    while (st == 0 && o->follow && !stop_now) {
        struct timespec ts = {o->interval_ms / 1000, (o->interval_ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
        if (stop_now)
            break;
        char err[64];
        trail_query_set(q, "limit", "0", err, sizeof(err));
        trail_query_start_after(q, last);
        uint64_t before = last;
        char cursor[TRAIL_QUERY_CURSOR_MAX];
        st = search_print(o->cmd, ix, q, &p, cursor, NULL, &last);
        /* everything up to the horizon was looked at: go on from there */
        uint64_t h = trail_index_horizon(ix);
        if (h > last)
            last = h;
        if (st == 0 && (last != before || p.buf.len) && flush_out(&p, 1) < 0)
            st = cli_fail(o->cmd, "cannot write: %s", strerror(errno));
    }
    trail_buf_free(&p.buf);
    close_store(s, ix);
    return st;
}

/* Follow GET /v1/events/stream from after seq `last`, reconnecting until stopped. */
static int tail_url_follow(const struct opts *o, const struct trail_query *q, struct printer *p,
                           uint64_t last)
{
    int backoff_ms = 250;
    while (!stop_now) {
        struct http h;
        char err[512], extra[64];
        struct trail_buf path = {0};
        int st = http_open(o, &h);
        if (st)
            return st;
        /* the stream takes the filters only */
        struct trail_query *fq;
        trail_query_new(cli_catalog(), &fq);
        struct trail_buf qs = {0};
        trail_query_format(q, NULL, &qs);
        trail_query_parse(fq, qs.data ? qs.data : "", qs.len, err, sizeof(err));
        trail_buf_free(&qs);
        trail_buf_append(&path, "/v1/events/stream?", 18);
        struct trail_buf all = {0};
        trail_query_format(fq, NULL, &all);
        /* drop order, limit and cursor */
        char *save, *tok = all.data ? strtok_r(all.data, "&", &save) : NULL;
        int first = 1;
        while (tok) {
            if (strncmp(tok, "order=", 6) && strncmp(tok, "limit=", 6) &&
                strncmp(tok, "cursor=", 7)) {
                if (!first)
                    trail_buf_append(&path, "&", 1);
                trail_buf_append(&path, tok, strlen(tok));
                first = 0;
            }
            tok = strtok_r(NULL, "&", &save);
        }
        trail_buf_free(&all);
        trail_query_free(fq);
        snprintf(extra, sizeof(extra),
                 "Last-Event-ID: %" PRIu64 "\r\nAccept: text/event-stream\r\n", last);
        int r = http_get(&h, path.data, extra, err, sizeof(err));
        trail_buf_free(&path);
        if (r == 0 && h.status != 200) {
            st = http_failed(o->cmd, &h);
            http_close(&h);
            return st;
        }
        if (r == -EPROTO || r == -EINVAL) { /* TLS refused, or not traild: retrying will not help */
            http_close(&h);
            return cli_fail(o->cmd, "%s", err);
        }
        if (r == 0) {
            backoff_ms = 250;
            /* lines: "id: N", "data: {...}", a blank line ends a message */
            struct trail_buf in = {0}, data = {0};
            size_t pos = 0;
            uint64_t msg_id = 0;
            while (!stop_now) {
                char *nl;
                while (!stop_now && in.len > pos &&
                       (nl = memchr(in.data + pos, '\n', in.len - pos))) {
                    size_t len = (size_t)(nl - (in.data + pos));
                    char *line = in.data + pos;
                    if (len && line[len - 1] == '\r')
                        len--;
                    if (len == 0) {
                        if (data.len) {
                            struct trail_event *ev;
                            if (trail_event_from_stored_json(cli_catalog(), data.data, data.len,
                                                             &ev, err, sizeof(err)) == 0) {
                                print_event(p, ev);
                                trail_event_free(ev);
                                if (flush_out(p, 1) < 0) {
                                    stop_now = 1;
                                    break;
                                }
                            }
                            if (msg_id > last)
                                last = msg_id;
                        }
                        trail_buf_reset(&data);
                    } else if (len > 4 && strncmp(line, "id: ", 4) == 0) {
                        msg_id = strtoull(line + 4, NULL, 10);
                    } else if (len > 6 && strncmp(line, "data: ", 6) == 0) {
                        trail_buf_append(&data, line + 6, len - 6);
                    }
                    pos = (size_t)(nl + 1 - in.data);
                }
                /* keep the buffer small: drop what was read */
                if (pos && pos == in.len) {
                    trail_buf_reset(&in);
                    pos = 0;
                }
                if (trail_buf_reserve(&in, 65536) < 0)
                    break;
                size_t got = 0;
                /* a short wait, so that an interrupt is seen soon */
                int rr =
                    trail_client_read(h.c, in.data + in.len, 65536, 500, &got, err, sizeof(err));
                if (rr == -ETIMEDOUT)
                    continue;
                if (rr < 0 || got == 0)
                    break;
                in.len += got;
                in.data[in.len] = '\0';
            }
            trail_buf_free(&in);
            trail_buf_free(&data);
        } else {
            fprintf(stderr, "trail %s: %s; retrying\n", o->cmd, err);
        }
        http_close(&h);
        if (stop_now)
            break;
        struct timespec ts = {backoff_ms / 1000, (backoff_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        backoff_ms = backoff_ms < 8000 ? backoff_ms * 2 : 8000;
    }
    return 0;
}

static int tail_url(const struct opts *o, struct trail_query *q)
{
    struct printer p = {.format = o->format};
    char err[64], lim[32], cursor[TRAIL_QUERY_CURSOR_MAX] = "";
    int more = 0, st = 0;
    uint64_t last = 0, horizon = 0;
    size_t n = 0;
    /* the last events: newest first, printed reversed (buffered through a second printer) */
    snprintf(lim, sizeof(lim), "%ld", o->lines ? o->lines : 1);
    trail_query_set(q, "order", "newest", err, sizeof(err));
    trail_query_set(q, "limit", lim, err, sizeof(err));
    struct printer nd = {.format = F_NDJSON};
    st = url_page(o, q, NULL, &nd, cursor, &more, &last, &n, &horizon);
    if (st == 0 && o->lines) {
        /* reverse the lines */
        char *end = nd.buf.data ? nd.buf.data + nd.buf.len : NULL, *s = end;
        while (s && s > nd.buf.data) {
            char *e = s - 1; /* the '\n' ending this line */
            char *b = e;
            while (b > nd.buf.data && b[-1] != '\n')
                b--;
            struct trail_event *ev;
            char jerr[256];
            if (trail_event_from_stored_json(cli_catalog(), b, (size_t)(e - b), &ev, jerr,
                                             sizeof(jerr)) == 0) {
                print_event(&p, ev);
                trail_event_free(ev);
            }
            s = b;
        }
        if (flush_out(&p, 1) < 0)
            st = cli_fail(o->cmd, "cannot write: %s", strerror(errno));
    }
    trail_buf_free(&nd.buf);
    if (st == 0 && o->follow) {
        /* from the end the search looked at (traild's X-Trail-Horizon), or what it printed */
        if (horizon > last)
            last = horizon;
        st = tail_url_follow(o, q, &p, last);
    }
    trail_buf_free(&p.buf);
    return st;
}

static int run_tail(struct opts *o, struct trail_query *q)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return o->url ? tail_url(o, q) : tail_store(o, q);
}

int cmd_tail(int argc, char **argv)
{
    struct opts o = {.cmd = "tail", .lines = 10, .interval_ms = 250};
    return query_command(argc, argv, tail_help, 't', &o, run_tail);
}
