/*
 * main.c - the trail command: dispatch to one command per file.
 *
 * Not here: what a command does (see cli/<command>.c).
 */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"events", cmd_events, "list and filter the event catalog"},
    {"emit", cmd_emit, "build one event, validate it and print or store it"},
    {"keygen", cmd_keygen, "make the Ed25519 key pair that signs checkpoints"},
    {"proof", cmd_proof, "make proofs from a store; check them offline"},
    {"loadgen", cmd_loadgen, "simulate an identity server's events (demos, tests, benchmarks)"},
    {"import", cmd_import, "append events from an NDJSON, JSON or CEF/event.log file to a store"},
    {"export", cmd_export, "print a store's events as NDJSON or CEF"},
    {"backup", cmd_backup, "copy a store while traild writes to it, and verify the copy"},
    {"repair", cmd_repair, "quarantine a stopped store's damaged files so that it opens cleanly"},
    {"purge", cmd_purge, "remove a store's oldest events by age or size (retention)"},
    {"stats", cmd_stats, "what a store holds: events, segments, bytes per event, times"},
    {"query", cmd_query, "search a store's events (filters, order, paging with cursors)"},
    {"count", cmd_count, "count a store's events grouped by event, severity, hour, day, attribute"},
    {"tail", cmd_tail, "the latest events, and with -f the new ones as they come"},
    {"verify", cmd_verify, "check that a store was not altered (every record, hash and signature)"},
    {"checkpoint", cmd_checkpoint, "print the store's latest signed checkpoint for a witness"},
    {"tiles", cmd_tiles, "write the store's C2SP tlog-tiles as static files"},
    {"sinks", cmd_sinks, "each sink's cursor, lag and last error (delivery state)"},
    {"report", cmd_report,
     "run saved reports (counts and searches over a period) as text, CSV, HTML"},
    {"rules", cmd_rules, "check Sigma detection rules and run them over events"},
    {"token-hash", cmd_token_hash, "make a bearer token for traild and its [tokens] entry"},
};

/*
 * "trail CMD: message" (or, cmd NULL, the message alone) on stderr. A message may quote what a file
 * or a peer held (an import line, a refused value): each of its lines is escaped as every output is
 * (trail_text_escape: ESC as \u001b, CR as \u000d, ...), so that it drives no terminal; the line
 * breaks the message has are kept.
 */
static void report(const char *cmd, const char *fmt, va_list ap)
{
    char *msg = NULL;
    struct trail_buf b = {0};
    int n = vasprintf(&msg, fmt, ap);
    int ok = n >= 0;
    if (ok && cmd)
        ok = trail_buf_append(&b, "trail ", 6) == 0 &&
             trail_buf_append(&b, cmd, strlen(cmd)) == 0 && trail_buf_append(&b, ": ", 2) == 0;
    for (const char *p = msg; ok && p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        ok = trail_text_escape(&b, p, len, NULL, TRAIL_ESC_TAB) == 0 &&
             trail_buf_append(&b, "\n", 1) == 0;
        p = nl ? nl + 1 : NULL;
    }
    if (ok)
        fwrite(b.data, 1, b.len, stderr);
    else
        fprintf(stderr, "trail %s: out of memory\n", cmd ? cmd : "");
    trail_buf_free(&b);
    free(msg);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(cmd, fmt, ap);
    va_end(ap);
    return EXIT_USAGE;
}

void cli_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(NULL, fmt, ap);
    va_end(ap);
}

int cli_fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(cmd, fmt, ap);
    va_end(ap);
    return 1;
}

int cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    }
    return 0;
}

int cli_is_option(const char *arg, const char *shrt, const char *lng)
{
    size_t n = strlen(lng);
    return (shrt && strcmp(arg, shrt) == 0) || strcmp(arg, lng) == 0 ||
           (strncmp(arg, lng, n) == 0 && arg[n] == '=');
}

const char *cli_option_value(int argc, char **argv, int *i, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (eq && arg[1] == '-')
        return eq + 1;
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

int cli_parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
    if (!s || *s < '0' || *s > '9')
        return -1;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (v > max)
        return -1;
    *ret = v;
    return 0;
}

int cli_opt_value(char **argv, int argc, int *i, const char *name, const char **ret_value)
{
    if (!cli_is_option(argv[*i], NULL, name))
        return 0;
    const char *v = cli_option_value(argc, argv, i, argv[*i]);
    if (!v)
        return -1;
    *ret_value = v;
    return 1;
}

int cli_read_file(const char *path, size_t max, struct trail_buf *out)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char chunk[65536];
    size_t n;
    int r = 0;
    if (!f)
        return -errno;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (out->len + n > max) {
            r = TRAIL_E_TOO_LARGE;
            break;
        }
        if ((r = trail_buf_append(out, chunk, n)) < 0)
            break;
    }
    if (r == 0 && ferror(f))
        r = -EIO;
    if (f != stdin)
        fclose(f);
    return r;
}

void cli_store_hex_id(const struct trail_store *store, char out[33])
{
    uint8_t id[16];
    trail_store_id(store, id);
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", id[i]);
}

static struct trail_catalog *catalog;

static void free_catalog(void)
{
    trail_catalog_free(catalog);
}

struct trail_catalog *cli_catalog(void)
{
    if (catalog)
        return catalog;
    int r = trail_catalog_new(&catalog);
    if (r < 0) {
        fprintf(stderr, "trail: cannot load the catalog: %s\n", trail_strerror(r));
        return NULL;
    }
    atexit(free_catalog);
    return catalog;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: trail COMMAND [OPTIONS]\n\n"
               "trail keeps a tamper-evident audit trail of an identity server's events.\n\n"
               "Commands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'trail COMMAND --help' describes a command; 'man trail' has them all.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("trail %s\n", TRAIL_VERSION_STRING);
        return 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "trail: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
