/*
 * emit.c - `trail emit`: build one event from the command line, validate it
 * against the catalog and print it in one of the wire forms, one line.
 *
 * Not here: the encoders (lib/codec/json.c, lib/codec/cef.c, lib/codec/syslog.c), and sending
 * or storing the event (--store and --url join the option table below when
 * the store and the daemon exist).
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char help[] =
    "NAME\n"
    "    trail emit - build one audit event, validate it and print it\n"
    "\n"
    "SYNOPSIS\n"
    "    trail emit EVENT_ID [KEY=VALUE]... [--format json|cef|eventlog|syslog]\n"
    "               [--host NAME] [--time RFC3339] [--uuid UUID]\n"
    "\n"
    "DESCRIPTION\n"
    "    Builds the event EVENT_ID of the catalog with the attributes given as\n"
    "    KEY=VALUE arguments, stamps it with a time (now, unless --time), a host\n"
    "    (this machine's name, unless --host) and a random uuid (unless --uuid),\n"
    "    validates it against the catalog and prints its encoding on standard\n"
    "    output as one line. Nothing is stored or sent.\n"
    "\n"
    "    Each VALUE is read as the type the catalog declares for KEY:\n"
    "        string  the text as it is (it may be empty)\n"
    "        int     a decimal integer that fits 64 bits: -42, 17\n"
    "        bool    true or false\n"
    "        ip      an IPv4 or IPv6 address: 203.0.113.7, 2001:db8::1\n"
    "        time    RFC 3339: 2026-11-24T08:59:58Z, 2026-11-24T09:59:58.150+01:00\n"
    "        enum    one of the values the catalog lists for KEY\n"
    "    Only the first '=' separates KEY from VALUE, so values may hold '='.\n"
    "    Quote values with spaces or shell characters. 'trail events --match ID\n"
    "    --format json' shows an event's attributes, their types and which are\n"
    "    required.\n"
    "\n"
    "    Validation uses the deployment's policy (STRICT unless configured):\n"
    "    the event id must be in the catalog, every required attribute present,\n"
    "    every attribute declared, every value of its declared type.\n"
    "\n"
    "OPTIONS\n"
    "    -f, --format FORMAT\n"
    "        The wire form to print (see FORMATS); json by default.\n"
    "\n"
    "    --host NAME\n"
    "        The host the event comes from, at most 255 bytes of UTF-8. Default:\n"
    "        this machine's host name.\n"
    "\n"
    "    --time RFC3339\n"
    "        When the event happened, as RFC 3339 with 'Z' or an offset and up to\n"
    "        microseconds: 2026-11-24T08:59:58.150000Z. Default: now.\n"
    "\n"
    "    --uuid UUID\n"
    "        The event's uuid, 36 characters (8-4-4-4-12 hex digits). Default: a\n"
    "        new random (version 4) uuid.\n"
    "\n"
    "    --store DIR\n"
    "        Append the event to the store in DIR (made if missing) instead of\n"
    "        printing it, wait until it is durable, and print its sequence\n"
    "        number. The store must not be open by a running traild.\n"
    "\n"
    "    --url URL\n"
    "        Send the event to the traild at URL (http://HOST:PORT) instead of\n"
    "        printing it, wait until traild says it is durable, and print its\n"
    "        sequence number (cli/client.c, trail_client_send). An https:// URL\n"
    "        speaks TLS and checks traild's certificate. With --url:\n" CLI_CONN_HELP "\n"
    "    --\n"
    "        Every argument after this one is EVENT_ID or KEY=VALUE, even when it\n"
    "        starts with '-'.\n"
    "\n"
    "    -h, --help\n"
    "        Print this help and exit.\n"
    "\n"
    "FORMATS\n"
    "    json      the canonical JSON object: id, time, severity, severity_name,\n"
    "              host, uuid and attrs (the form POST /v1/events takes).\n"
    "    cef       a CEF line as the identity server writes it:\n"
    "              CEF:0|PhenixID|PAS|VERSION|ID|DESCRIPTION|SEVERITY|key=value ...\n"
    "              with declared but missing attributes as key=null.\n"
    "    eventlog  the CEF line with the prefix of the server's event.log, in\n"
    "              this machine's time zone:\n"
    "              2026-11-24 09:59:58,150 [EVENT]  INFO: 2026-11-24T09:59:58+01:00 HOST "
    "CEF:0|...\n"
    "    syslog    an RFC 5424 message, facility 13 (log audit), the event in the\n"
    "              structured data element [trail@32473 ...]; no framing prefix.\n"
    "    docs/wire-formats.md describes the three forms and their escaping.\n"
    "\n"
    "EXIT STATUS\n"
    "    0  the event was valid and printed\n"
    "    1  the output could not be written\n"
    "    2  bad usage or a bad event: an unknown option or format, a missing\n"
    "       EVENT_ID, an argument that is not KEY=VALUE, a key given twice, an\n"
    "       unknown event id, a bad key or value, a missing required attribute, a\n"
    "       bad --host, --time or --uuid; the message names the bad part\n"
    "\n"
    "EXAMPLES\n"
    "    trail emit auth_entrypoints_oidc_logout phxTraceId=#YFTp4LhpTqezu06B \\\n"
    "        phxEntrypointId=oidc1 phxEntrypointType=OIDC src=203.0.113.7 \\\n"
    "        'requestClientApplication=Mozilla/5.0 (X11; Linux x86_64)'\n"
    "\n"
    "    trail emit prism_user_locked duser=alice phxTraceId=#j02rYpa2efav296d \\\n"
    "        --format eventlog --host idp1 >> event.log\n"
    "\n"
    "    trail emit core_server_events_purged 'msg=Purged 12 events' --format syslog \\\n"
    "        | logger --rfc5424=notq -n 127.0.0.1 -P 5514 -T\n";

/* What the options say. A new option adds a field here and a row to option_table. */
struct emit_opts {
    const char *format;
    const char *host;
    const char *time;
    const char *uuid;
    const char *store;
    const char *url;
    struct cli_conn conn; /* --token, --cacert, ... (cli/client.c) */
};

static const struct option_row {
    const char *shrt; /* "-f", or NULL */
    const char *lng;  /* "--format" */
    size_t field;     /* offset of its const char * in struct emit_opts */
} option_table[] = {
    {"-f", "--format", offsetof(struct emit_opts, format)},
    {NULL, "--host", offsetof(struct emit_opts, host)},
    {NULL, "--time", offsetof(struct emit_opts, time)},
    {NULL, "--uuid", offsetof(struct emit_opts, uuid)},
    {NULL, "--store", offsetof(struct emit_opts, store)},
    {NULL, "--url", offsetof(struct emit_opts, url)},
    {NULL, "--token", offsetof(struct emit_opts, conn.token)},
    {NULL, "--token-file", offsetof(struct emit_opts, conn.token_file)},
    {NULL, "--cacert", offsetof(struct emit_opts, conn.cacert)},
    {NULL, "--ca", offsetof(struct emit_opts, conn.cacert)},
    {NULL, "--cert", offsetof(struct emit_opts, conn.cert)},
    {NULL, "--key", offsetof(struct emit_opts, conn.key)},
};

/*
 * Read argv into opts and the positional arguments (EVENT_ID, KEY=VALUE...)
 * into pos[0..*n_pos). Returns 0 or the exit status of a usage error.
 */
static int parse_args(const char *cmd, int argc, char **argv, struct emit_opts *opts, char **pos,
                      int *n_pos)
{
    int only_positional = 0;
    *n_pos = 0;
    for (int i = 1; i < argc; i++) {
        char *arg = argv[i];
        if (only_positional || arg[0] != '-' || arg[1] == '\0') {
            pos[(*n_pos)++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_positional = 1;
            continue;
        }
        const struct option_row *row = NULL;
        const char *value = NULL;
        for (size_t k = 0; k < sizeof(option_table) / sizeof(option_table[0]); k++) {
            const struct option_row *o = &option_table[k];
            size_t n = strlen(o->lng);
            if ((o->shrt && strcmp(arg, o->shrt) == 0) || strcmp(arg, o->lng) == 0) {
                row = o;
                if (i + 1 >= argc)
                    return cli_usage_error(cmd, "option %s needs a value", arg);
                value = argv[++i];
            } else if (strncmp(arg, o->lng, n) == 0 && arg[n] == '=') {
                row = o;
                value = arg + n + 1;
            }
            if (row)
                break;
        }
        if (!row)
            return cli_usage_error(cmd, "unknown option '%s' (see 'trail emit --help')", arg);
        *(const char **)((char *)opts + row->field) = value;
    }
    return 0;
}

/* The local time zone's offset from UTC at time_us, in minutes east. */
static int local_offset_min(int64_t time_us)
{
    time_t t = (time_t)(time_us / 1000000);
    struct tm tm;
    if (!localtime_r(&t, &tm))
        return 0;
    return (int)(tm.tm_gmtoff / 60);
}

/* Set every KEY=VALUE on ev; 0 or EXIT_USAGE with the message printed. */
static int set_attributes(const char *cmd, struct trail_event *ev, char **kv, int n)
{
    for (int i = 0; i < n; i++) {
        const char *eq = strchr(kv[i], '=');
        if (!eq)
            return cli_usage_error(cmd, "argument '%s' is not KEY=VALUE", kv[i]);
        size_t klen = (size_t)(eq - kv[i]);
        if (klen == 0)
            return cli_usage_error(cmd, "argument '%s' has no key before '='", kv[i]);
        char key[256];
        if (klen < sizeof(key)) {
            struct trail_value v;
            memcpy(key, kv[i], klen);
            key[klen] = '\0';
            if (trail_event_attr_get(ev, key, &v) == 0)
                return cli_usage_error(cmd, "attribute '%s' is given twice", key);
        }
        int r = trail_event_set_text(ev, kv[i], klen, eq + 1, strlen(eq + 1));
        if (r < 0)
            return r == -ENOMEM ? cli_fail(cmd, "%s", trail_strerror(r))
                                : cli_usage_error(cmd, "%s", trail_event_error(ev));
    }
    return 0;
}

/* Time, host and uuid: from the options or stamped now. */
static int stamp(const char *cmd, struct trail_event *ev, const struct emit_opts *opts)
{
    int64_t t = trail_now();
    if (opts->time && trail_time_parse(opts->time, strlen(opts->time), &t) < 0)
        return cli_usage_error(cmd,
                               "--time '%s' is not an RFC 3339 time "
                               "(e.g. 2026-11-24T08:59:58.150000Z)",
                               opts->time);
    trail_event_set_time(ev, t);

    char hostname[256];
    const char *host = opts->host;
    if (!host) {
        if (gethostname(hostname, sizeof(hostname)) < 0)
            hostname[0] = '\0';
        hostname[sizeof(hostname) - 1] = '\0';
        host = hostname;
    }
    if (trail_event_set_host(ev, host, strlen(host)) < 0)
        return cli_usage_error(cmd, "--host: %s", trail_event_error(ev));

    if (opts->uuid) {
        uint8_t u[16];
        if (trail_uuid_parse(opts->uuid, strlen(opts->uuid), u) < 0)
            return cli_usage_error(cmd,
                                   "--uuid '%s' is not a uuid "
                                   "(8-4-4-4-12 hex digits)",
                                   opts->uuid);
        trail_event_set_uuid(ev, u);
    } else {
        int r = trail_event_gen_uuid(ev);
        if (r < 0)
            return cli_fail(cmd, "cannot make a uuid: %s", trail_strerror(r));
    }
    return 0;
}

static int encode(const char *format, struct trail_event *ev, struct trail_buf *out)
{
    if (strcmp(format, "json") == 0)
        return trail_event_to_json(ev, out);
    if (strcmp(format, "cef") == 0)
        return trail_event_to_cef(ev, NULL, out);
    if (strcmp(format, "eventlog") == 0) {
        struct trail_cef_opts opts = {.log_prefix = 1,
                                      .utc_offset_min = local_offset_min(trail_event_time(ev))};
        return trail_event_to_cef(ev, &opts, out);
    }
    return trail_event_to_syslog(ev, NULL, out);
}

int cmd_emit(int argc, char **argv)
{
    const char *cmd = argv[0];
    if (cli_wants_help(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    struct emit_opts opts = {.format = "json"};
    char **pos = calloc((size_t)argc, sizeof(*pos));
    struct trail_event *ev = NULL;
    struct trail_buf out = {0};
    int n_pos, status;
    if (!pos)
        return cli_fail(cmd, "%s", trail_strerror(-ENOMEM));
    if ((status = parse_args(cmd, argc, argv, &opts, pos, &n_pos)) != 0)
        goto done;
    if (strcmp(opts.format, "json") != 0 && strcmp(opts.format, "cef") != 0 &&
        strcmp(opts.format, "eventlog") != 0 && strcmp(opts.format, "syslog") != 0) {
        status = cli_usage_error(cmd, "unknown format '%s' (json, cef, eventlog or syslog)",
                                 opts.format);
        goto done;
    }
    if (n_pos == 0) {
        status = cli_usage_error(cmd, "missing EVENT_ID (see 'trail emit --help')");
        goto done;
    }
    struct trail_catalog *cat = cli_catalog();
    if (!cat) {
        status = 1;
        goto done;
    }
    const char *id = pos[0];
    if (!id[0]) {
        status = cli_usage_error(cmd, "the event id is empty");
        goto done;
    }
    int r = trail_event_new(cat, id, &ev);
    if (r < 0) {
        status = r == -ENOMEM ? cli_fail(cmd, "%s", trail_strerror(r))
                              : cli_usage_error(cmd, "event id '%s' is too long", id);
        goto done;
    }
    if (!trail_id_valid(id, strlen(id))) {
        status = cli_usage_error(cmd, "event id '%s' is not lower-case [a-z0-9_]", id);
        goto done;
    }
    if (!trail_event_def(ev) && trail_catalog_policy(cat) != TRAIL_POLICY_OFF) {
        status =
            cli_usage_error(cmd, "unknown event id '%s' ('trail events' lists the catalog)", id);
        goto done;
    }
    if ((status = set_attributes(cmd, ev, pos + 1, n_pos - 1)) != 0 ||
        (status = stamp(cmd, ev, &opts)) != 0)
        goto done;
    if (trail_event_validate(ev) < 0) {
        status = cli_usage_error(cmd, "%s", trail_event_error(ev));
        goto done;
    }
    if (opts.url) { /* send to traild, wait until durable, print the seq: cli/client.c */
        struct trail_client_opts copts;
        if ((status = cli_conn_opts(cmd, &opts.conn, &copts)) == 0)
            status = cli_client_emit(cmd, opts.url, &copts, ev);
        cli_conn_free(&opts.conn);
        goto done;
    }
    if (opts.store) { /* append, wait until durable, print the seq: cli/store_cmds.c */
        status = cli_store_emit(cmd, opts.store, ev);
        goto done;
    }
    if ((r = encode(opts.format, ev, &out)) < 0) {
        status = cli_fail(cmd, "cannot encode the event: %s", trail_strerror(r));
        goto done;
    }
    if (fwrite(out.data, 1, out.len, stdout) != out.len || fputc('\n', stdout) == EOF ||
        fflush(stdout) != 0) {
        status = cli_fail(cmd, "cannot write the event: %s", strerror(errno));
        goto done;
    }
    status = 0;
done:
    trail_buf_free(&out);
    trail_event_free(ev);
    free(pos);
    return status;
}
