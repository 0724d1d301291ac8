/*
 * sinks.c - `trail sinks`: each sink of a store with its cursor, lag and last
 * error, read from the files traild's sink runner keeps in STORE/sinks/
 * (NAME.cursor and NAME.error, described in daemon/sinks/sink.h). Works while
 * traild runs: it opens the store read-only and reads files that are only
 * ever replaced whole (rename).
 *
 * Not here: delivering (daemon/sinks/).
 */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char sinks_help[] =
    "NAME\n"
    "    trail sinks - the delivery state of each sink of a store\n"
    "\n"
    "SYNOPSIS\n"
    "    trail sinks --store DIR [--json]\n"
    "    trail sinks skip NAME --to SEQ --store DIR\n"
    "\n"
    "DESCRIPTION\n"
    "    For each sink traild delivers to (its [sink NAME] sections), prints the\n"
    "    type, the cursor (the last sequence number delivered or filtered out,\n"
    "    saved durably after each delivery), the lag (events in the store after\n"
    "    the cursor), the events delivered, the tree size of the last signed\n"
    "    checkpoint delivered to a witness sink, when the cursor last moved, and\n"
    "    the last error with its time. A lagging sink catches up by itself, in\n"
    "    order, once its peer is back. Works while traild runs.\n"
    "\n"
    "\n"
    "    A sink that reaches records the store cannot read (a damaged sealed\n"
    "    segment or block) stops there and says so as its last error, in\n"
    "    /v1/sinks and in trail_sink_blocked_by_damage. 'trail sinks skip NAME\n"
    "    --to SEQ' tells it to go on after SEQ without them; the sink does so\n"
    "    when it next looks (within seconds, traild running or at its next start)\n"
    "    and records the skip as a trail_sink_skipped record.\n"
    "\n"
    "OPTIONS\n"
    "    --store DIR   the store directory (required)\n"
    "    --json        one JSON object per sink, one a line\n"
    "    --to SEQ      skip: the last seq the sink goes past undelivered\n"
    "    -h, --help    print this help and exit\n"
    "\n"
    "EXIT STATUS\n"
    "    0  printed (also when there are no sinks), or the skip was written;\n"
    "    1  the store or the sink's cursor could not be read;  2  bad usage\n";

struct sink_state {
    char name[80];
    char type[32];
    char store[33]; /* the store its cursor is of */
    uint64_t seq, witnessed, delivered;
    int64_t time_us;
    int64_t error_time_us;
    char error[600];
};

static int read_cursor(const char *dir, const char *file, struct sink_state *s)
{
    char path[4096], line[700];
    struct trail_sink_cursor c;
    snprintf(path, sizeof(path), "%s/sinks/%s", dir, file);
    int r = trail_sink_cursor_read(path, &c);
    if (r < 0)
        return r;
    snprintf(s->type, sizeof(s->type), "%s", c.type);
    snprintf(s->store, sizeof(s->store), "%s", c.store);
    s->seq = c.seq;
    s->witnessed = c.witnessed;
    s->delivered = c.delivered;
    s->time_us = c.time_us;
    FILE *f;
    size_t n = strlen(file) - strlen(".cursor");
    snprintf(s->name, sizeof(s->name), "%.*s", (int)n, file);
    snprintf(path, sizeof(path), "%s/sinks/%s.error", dir, s->name);
    if ((f = fopen(path, "r"))) {
        while (fgets(line, sizeof(line), f)) {
            line[strcspn(line, "\n")] = '\0';
            if (!strncmp(line, "error ", 6))
                snprintf(s->error, sizeof(s->error), "%.599s", line + 6);
            else
                sscanf(line, "time %" SCNd64, &s->error_time_us);
        }
        fclose(f);
    }
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct sink_state *)a)->name, ((const struct sink_state *)b)->name);
}

/* Every sink's state, sorted by name; caller frees. */
static int load_all(const char *dir, struct sink_state **ret, size_t *ret_n)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/sinks", dir);
    struct sink_state *all = NULL;
    size_t n = 0;
    DIR *d = opendir(path);
    if (!d) {
        *ret = NULL;
        *ret_n = 0;
        return errno == ENOENT ? 0 : -errno;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len <= 7 || strcmp(de->d_name + len - 7, ".cursor") != 0)
            continue;
        struct sink_state *a = realloc(all, (n + 1) * sizeof(*a));
        if (!a) {
            closedir(d);
            free(all);
            return -ENOMEM;
        }
        all = a;
        memset(&all[n], 0, sizeof(all[n]));
        if (read_cursor(dir, de->d_name, &all[n]) == 0)
            n++;
    }
    closedir(d);
    qsort(all, n, sizeof(*all), by_name);
    *ret = all;
    *ret_n = n;
    return 0;
}

/* A JSON string, escaped as every JSON trail writes (a last error may quote a peer's answer). */
static void json_text(const char *s)
{
    struct trail_buf b = {0};
    if (trail_json_string(&b, s, strlen(s)) == 0)
        fwrite(b.data, 1, b.len, stdout);
    else
        fputs("null", stdout);
    trail_buf_free(&b);
}

/* The last error for the table, unsafe characters escaped (it may quote a peer's answer). */
static void table_text(const char *s)
{
    struct trail_buf b = {0};
    if (trail_text_escape(&b, s, strlen(s), NULL, TRAIL_ESC_NL) == 0 && b.len)
        fwrite(b.data, 1, b.len, stdout);
    trail_buf_free(&b);
}

int cli_sinks_print(const char *dir, const char *store_hex, uint64_t last_seq, int json, int header)
{
    struct sink_state *all;
    size_t n;
    int r = load_all(dir, &all, &n);
    if (r < 0)
        return r;
    if (!json && header && n)
        printf("%-16s %-10s %12s %10s %12s %10s %-27s %s\n", "SINK", "TYPE", "CURSOR", "LAG",
               "DELIVERED", "WITNESSED", "UPDATED", "LAST ERROR");
    for (size_t i = 0; i < n; i++) {
        struct sink_state *s = &all[i];
        uint64_t lag = last_seq > s->seq ? last_seq - s->seq : 0;
        char t[32] = "-", te[32] = "-";
        if (store_hex && strcmp(s->store, store_hex) != 0) /* a copied or stale cursor */
            snprintf(s->error, sizeof(s->error),
                     "cursor of another store: %s/sinks/%s.cursor belongs to store %s, not this "
                     "one (%s); traild starts this sink afresh",
                     dir, s->name, s->store[0] ? s->store : "(none)", store_hex);
        else if (s->seq > last_seq) /* never lag 0: the store lost records the sink delivered */
            snprintf(s->error, sizeof(s->error),
                     "cursor past the end: the cursor is at seq %" PRIu64
                     ", past the store's end (seq %" PRIu64 ")",
                     s->seq, last_seq);
        if (s->time_us)
            trail_time_format(s->time_us, t);
        if (s->error_time_us)
            trail_time_format(s->error_time_us, te);
        if (json) {
            printf("{\"sink\":");
            json_text(s->name);
            printf(",\"type\":");
            json_text(s->type);
            printf(",\"cursor\":%" PRIu64, s->seq);
            if (s->seq > last_seq)
                printf(",\"lag\":null,\"past_end\":%" PRIu64, s->seq - last_seq);
            else
                printf(",\"lag\":%" PRIu64, lag);
            printf(",\"delivered\":%" PRIu64 ",\"witnessed\":%" PRIu64 ",\"updated\":",
                   s->delivered, s->witnessed);
            if (s->time_us)
                json_text(t);
            else
                printf("null");
            printf(",\"last_error\":");
            if (s->error[0])
                json_text(s->error);
            else
                printf("null");
            printf(",\"last_error_time\":");
            if (s->error_time_us)
                json_text(te);
            else
                printf("null");
            printf("}\n");
        } else {
            char lag_text[24];
            if (s->seq > last_seq)
                snprintf(lag_text, sizeof(lag_text), "past-end");
            else
                snprintf(lag_text, sizeof(lag_text), "%" PRIu64, lag);
            printf("%-16s %-10s %12" PRIu64 " %10s %12" PRIu64 " %10" PRIu64 " %-27s %s%s", s->name,
                   s->type, s->seq, lag_text, s->delivered, s->witnessed, t, s->error[0] ? te : "-",
                   s->error[0] ? " " : "");
            table_text(s->error);
            putchar('\n');
        }
    }
    free(all);
    return (int)n;
}

/*
 * trail sinks skip NAME --to SEQ --store DIR: write DIR/sinks/NAME.skip, which
 * the sink reads when it waits at records the store cannot read
 * (daemon/sinks/sink.c, at_damage): it then moves its cursor to SEQ and records
 * the skip as a trail_sink_skipped record.
 */
static int sinks_skip(const char *cmd, int argc, char **argv)
{
    const char *dir = NULL, *name = NULL, *to_s = NULL;
    for (int i = 0; i < argc; i++) {
        const char *v = NULL;
        int got;
        if ((got = cli_opt_value(argv, argc, &i, "--store", &v)) != 0)
            dir = v;
        else if ((got = cli_opt_value(argv, argc, &i, "--to", &v)) != 0)
            to_s = v;
        else if (argv[i][0] != '-' && !name)
            name = argv[i], got = 1;
        else
            return cli_usage_error(cmd, "unknown argument '%s' (see 'trail sinks --help')",
                                   argv[i]);
        if (got < 0)
            return cli_usage_error(cmd, "option %s needs a value", argv[i]);
    }
    if (!dir || !name || !to_s)
        return cli_usage_error(cmd, "usage: trail sinks skip NAME --to SEQ --store DIR");
    uint64_t to;
    if (cli_parse_u64(to_s, UINT64_MAX, &to) < 0 || to == 0)
        return cli_usage_error(cmd, "--to '%s' is not a sequence number", to_s);
    if (strchr(name, '/') || name[0] == '.')
        return cli_usage_error(cmd, "'%s' is not a sink name", name);
    struct sink_state st;
    char file[200];
    memset(&st, 0, sizeof(st));
    snprintf(file, sizeof(file), "%s.cursor", name);
    int r = read_cursor(dir, file, &st);
    if (r < 0)
        return cli_fail(cmd, "%s: no sink %s has delivered from this store (%s/sinks/%s: %s)", dir,
                        name, dir, file, trail_strerror(r));
    if (to <= st.seq)
        return cli_fail(cmd, "sink %s has delivered up to %" PRIu64 " already: nothing to skip",
                        name, st.seq);
    char path[4200], text[64];
    snprintf(path, sizeof(path), "%s/sinks/%s.skip", dir, name);
    int n = snprintf(text, sizeof(text), "trail-sink-skip/1\nto %" PRIu64 "\n", to);
    if ((r = trail_file_replace(path, text, (size_t)n, 0640)) < 0)
        return cli_fail(cmd, "cannot write %s: %s", path, trail_strerror(r));
    printf("sink %s: will skip seqs %" PRIu64 "..%" PRIu64
           " when it reaches records the store cannot "
           "read there; the skip is recorded as a trail_sink_skipped record\n",
           name, st.seq + 1, to);
    return 0;
}

int cmd_sinks(int argc, char **argv)
{
    const char *cmd = argv[0];
    if (argc > 1 && !strcmp(argv[1], "skip") && !cli_wants_help(argc, argv))
        return sinks_skip("sinks skip", argc - 2, argv + 2);
    if (cli_wants_help(argc, argv)) {
        fputs(sinks_help, stdout);
        return 0;
    }
    const char *dir = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int got;
        if ((got = cli_opt_value(argv, argc, &i, "--store", &v)) != 0)
            dir = v;
        else if (!strcmp(argv[i], "--json"))
            json = 1, got = 1;
        else
            return cli_usage_error(cmd, "unknown argument '%s' (see 'trail sinks --help')",
                                   argv[i]);
        if (got < 0)
            return cli_usage_error(cmd, "option %s needs a value", argv[i]);
    }
    if (!dir)
        return cli_usage_error(cmd, "missing --store DIR");
    struct trail_catalog *cat = cli_catalog();
    if (!cat)
        return 1;
    struct trail_store_opts opts = {.read_only = 1};
    struct trail_store *store;
    int r = trail_store_open(dir, cat, &opts, &store, NULL);
    if (r < 0)
        return cli_fail(cmd, "cannot open the store %s: %s", dir, trail_strerror(r));
    uint64_t last = trail_store_last_seq(store);
    char id[33];
    cli_store_hex_id(store, id);
    trail_store_close(store);
    r = cli_sinks_print(dir, id, last, json, 1);
    if (r < 0)
        return cli_fail(cmd, "cannot read %s/sinks: %s", dir, trail_strerror(r));
    if (r == 0 && !json)
        printf("no sinks have delivered from this store (no %s/sinks/*.cursor)\n", dir);
    return fflush(stdout) == 0 ? 0 : 1;
}
