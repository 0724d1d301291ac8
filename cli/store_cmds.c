/*
 * store_cmds.c - the commands that work on a store directory without the
 * daemon: `trail import`, `trail export`, `trail purge`, `trail stats`, and
 * the --store half of `trail emit` (cli_store_emit).
 *
 * Not here: the store itself (lib/store/store*.c), the codecs (lib/codec/json.c,
 * lib/codec/cef.c), queries (`trail query`).
 */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ---- shared ---- */

/* Open dir as a writer (creating it when create), printing what recovery did. */
static int open_writer(const char *cmd, const char *dir, int create, struct trail_store **ret)
{
    struct trail_catalog *cat = cli_catalog();
    if (!cat)
        return 1;
    struct trail_store_opts o = {.create = create};
    struct trail_store_report rep;
    int r = trail_store_open(dir, cat, &o, ret, &rep);
    if (rep.message[0])
        fprintf(stderr, "trail %s: %s: recovery:\n%s", cmd, dir, rep.message);
    if (r == TRAIL_E_LOCKED)
        return cli_fail(cmd, "%s: %s (a running traild owns it: use its API or stop it first)", dir,
                        trail_strerror(r));
    if (r == TRAIL_E_NOT_FOUND)
        return cli_fail(cmd, "%s: no store there", dir);
    if (r < 0)
        return cli_fail(cmd, "%s: cannot open the store: %s", dir, trail_strerror(r));
    return 0;
}

static int open_reader(const char *cmd, const char *dir, struct trail_store **ret)
{
    struct trail_catalog *cat = cli_catalog();
    if (!cat)
        return 1;
    struct trail_store_opts o = {.read_only = 1};
    struct trail_store_report rep;
    int r = trail_store_open(dir, cat, &o, ret, &rep);
    if (rep.damaged)
        fprintf(stderr, "trail %s: %s: damage found:\n%s", cmd, dir, rep.message);
    if (r == TRAIL_E_NOT_FOUND)
        return cli_fail(cmd, "%s: no store there", dir);
    if (r < 0)
        return cli_fail(cmd, "%s: cannot open the store: %s", dir, trail_strerror(r));
    return 0;
}

/* ---- emit --store ---- */

int cli_store_emit(const char *cmd, const char *dir, struct trail_event *ev)
{
    struct trail_store *s;
    int status = open_writer(cmd, dir, 1, &s);
    if (status)
        return status;
    uint64_t seq;
    int r = trail_store_append(s, &ev, 1, &seq);
    if (r == 0)
        r = trail_store_wait(s, seq);
    int rc = trail_store_close(s);
    if (r == 0 && rc < 0)
        r = rc;
    if (r < 0)
        return cli_fail(cmd, "%s: the event was not stored: %s", dir, trail_strerror(r));
    printf("%" PRIu64 "\n", seq);
    return fflush(stdout) == 0 ? 0 : cli_fail(cmd, "cannot write: %s", strerror(errno));
}

/* ---- import ---- */

static const char import_help[] =
    "NAME\n"
    "    trail import - append events from a file to a store\n"
    "\n"
    "SYNOPSIS\n"
    "    trail import FILE --store DIR [--format ndjson|json|cef] [--policy strict|lenient|off]\n"
    "\n"
    "DESCRIPTION\n"
    "    Reads events from FILE ('-' for standard input), checks each against the\n"
    "    catalog, appends the good ones to the store in DIR (made if missing) in\n"
    "    file order, and waits until they are durable. A line or element that\n"
    "    does not decode or validate is reported on standard error as\n"
    "    FILE:LINE: problem, and skipped; the others are kept. The last line on\n"
    "    standard output sums it up:\n"
    "        imported 58 events (seq 1..58), 2 rejected, 0 blank lines\n"
    "\n"
    "    Events keep the time, host and uuid the file gives them; the store\n"
    "    assigns sequence numbers (a seq in the input is ignored) and stamps a\n"
    "    missing time with the time of import.\n"
    "\n"
    "OPTIONS\n"
    "    --store DIR\n"
    "        The store directory. Required. It must not be open by a running\n"
    "        traild (one writer at a time).\n"
    "\n"
    "    -f, --format FORMAT\n"
    "        ndjson  one JSON event object per line (the canonical form of\n"
    "                'trail export' and POST /v1/events)\n"
    "        json    one JSON object, or an array of them\n"
    "        cef     CEF lines, with or without the identity server's event.log\n"
    "                prefix: '2025-04-23 16:14:23,508 [EVENT]  INFO: <ISO time>\n"
    "                <host> CEF:0|...', as the server's event.log files hold them\n"
    "        Default: json when the file starts with '[', ndjson when it starts\n"
    "        with '{', cef otherwise.\n"
    "\n"
    "    --policy strict|lenient|off\n"
    "        Validation: strict (the default) rejects undeclared attributes,\n"
    "        lenient keeps them as strings, off also takes unknown event ids.\n"
    "\n"
    "    -h, --help\n"
    "        Print this help and exit.\n"
    "\n"
    "EXIT STATUS\n"
    "    0  every event was imported and is durable\n"
    "    1  some lines were rejected (the rest were imported), or the store\n"
    "       failed (the message says how far it got)\n"
    "    2  bad usage: unknown option or format, no FILE, no --store, FILE\n"
    "       cannot be read\n"
    "\n"
    "EXAMPLES\n"
    "    trail import /var/log/pas/event.log --store /var/lib/trail --policy lenient\n"
    "    trail export --store old/ | trail import - --store new/\n";

struct importer {
    const char *cmd;
    const char *file;
    struct trail_store *store;
    struct trail_catalog *cat;
    struct trail_event *batch[1024];
    size_t n_batch;
    uint64_t imported, rejected, blank, first_seq, last_seq;
    int failed; /* the store failed: stop */
};

static int flush_batch(struct importer *im)
{
    if (im->n_batch == 0)
        return 0;
    uint64_t last;
    int r = trail_store_append(im->store, im->batch, im->n_batch, &last);
    if (r < 0) {
        cli_fail(im->cmd, "the store refused events: %s (%" PRIu64 " imported before)",
                 trail_strerror(r), im->imported);
        im->failed = 1;
    } else {
        if (!im->first_seq)
            im->first_seq = last - im->n_batch + 1;
        im->last_seq = last;
        im->imported += im->n_batch;
    }
    for (size_t i = 0; i < im->n_batch; i++)
        trail_event_free(im->batch[i]);
    im->n_batch = 0;
    return r;
}

/* Decode, validate and queue one item; line is where it starts in the file. */
static void import_one(struct importer *im, const char *fmt, const char *data, size_t len,
                       uint64_t line)
{
    char err[256] = "";
    struct trail_event *ev = NULL;
    int r = strcmp(fmt, "cef") == 0
                ? trail_event_from_cef(im->cat, data, len, &ev, err, sizeof(err))
                : trail_event_from_json(im->cat, data, len, &ev, err, sizeof(err));
    if (r == 0) /* before validation: an import's times are history, not skew */
        trail_event_set_input(ev, TRAIL_INPUT_IMPORT, NULL, 0);
    if (r == 0 && trail_event_validate(ev) < 0) {
        snprintf(err, sizeof(err), "%s", trail_event_error(ev));
        r = TRAIL_E_PARSE;
    }
    if (r < 0) {
        cli_note("%s:%" PRIu64 ": %s", im->file, line, err[0] ? err : trail_strerror(r));
        im->rejected++;
        trail_event_free(ev);
        return;
    }
    trail_event_set_seq(ev, 0);
    trail_event_set_input(ev, TRAIL_INPUT_IMPORT, NULL, 0);
    im->batch[im->n_batch++] = ev;
    if (im->n_batch == sizeof(im->batch) / sizeof(im->batch[0]))
        flush_batch(im);
}

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return 0;
    return 1;
}

/* A JSON document: one object or an array of objects, split at the top level. */
static void import_json_doc(struct importer *im, const char *p, size_t n)
{
    size_t i = 0;
    uint64_t line = 1;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        line += p[i++] == '\n';
    if (i < n && p[i] != '[') {
        import_one(im, "json", p + i, n - i, line);
        return;
    }
    i++; /* '[' */
    for (;;) {
        while (i < n &&
               (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n' || p[i] == ','))
            line += p[i++] == '\n';
        if (i >= n || p[i] == ']')
            return;
        size_t start = i;
        uint64_t start_line = line;
        int depth = 0, in_str = 0;
        for (; i < n; i++) {
            char c = p[i];
            if (c == '\n')
                line++;
            if (in_str) {
                if (c == '\\')
                    i++;
                else if (c == '"')
                    in_str = 0;
                continue;
            }
            if (c == '"')
                in_str = 1;
            else if (c == '{' || c == '[')
                depth++;
            else if (c == '}' || c == ']') {
                if (depth == 0)
                    break; /* the array's end: a malformed element before it */
                if (--depth == 0) {
                    i++;
                    break;
                }
            } else if (c == ',' && depth == 0)
                break;
        }
        import_one(im, "json", p + start, i - start, start_line);
        if (im->failed)
            return;
    }
}

int cmd_import(int argc, char **argv)
{
    const char *cmd = argv[0];
    if (cli_wants_help(argc, argv)) {
        fputs(import_help, stdout);
        return 0;
    }
    const char *file = NULL, *dir = NULL, *fmt = NULL, *policy = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int got;
        if ((got = cli_opt_value(argv, argc, &i, "--store", &v)) != 0)
            dir = v;
        else if ((got = cli_opt_value(argv, argc, &i, "--format", &v)) != 0 ||
                 (got = cli_opt_value(argv, argc, &i, "-f", &v)) != 0)
            fmt = v;
        else if ((got = cli_opt_value(argv, argc, &i, "--policy", &v)) != 0)
            policy = v;
        else if (argv[i][0] == '-' && argv[i][1] != '\0')
            return cli_usage_error(cmd, "unknown option '%s' (see 'trail import --help')", argv[i]);
        else if (file)
            return cli_usage_error(cmd, "one FILE only ('%s' and '%s')", file, argv[i]);
        else {
            file = argv[i];
            got = 1;
        }
        if (got < 0)
            return cli_usage_error(cmd, "option %s needs a value", argv[i]);
    }
    if (!file)
        return cli_usage_error(cmd, "missing FILE (see 'trail import --help')");
    if (!dir)
        return cli_usage_error(cmd, "missing --store DIR");
    if (fmt && strcmp(fmt, "ndjson") && strcmp(fmt, "json") && strcmp(fmt, "cef"))
        return cli_usage_error(cmd, "unknown format '%s' (ndjson, json or cef)", fmt);
    struct trail_catalog *cat = cli_catalog();
    if (!cat)
        return 1;
    if (policy) {
        int p = !strcmp(policy, "strict")    ? TRAIL_POLICY_STRICT
                : !strcmp(policy, "lenient") ? TRAIL_POLICY_LENIENT
                : !strcmp(policy, "off")     ? TRAIL_POLICY_OFF
                                             : -1;
        if (p < 0)
            return cli_usage_error(cmd, "unknown policy '%s' (strict, lenient or off)", policy);
        trail_catalog_set_policy(cat, p);
    }

    FILE *in = strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");
    if (!in)
        return cli_usage_error(cmd, "cannot read %s: %s", file, strerror(errno));
    struct importer im = {
        .cmd = cmd, .file = strcmp(file, "-") == 0 ? "<stdin>" : file, .cat = cat};
    int status = open_writer(cmd, dir, 1, &im.store);
    if (status) {
        if (in != stdin)
            fclose(in);
        return status;
    }

    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    uint64_t lineno = 0;
    if (!fmt) {
        int c;
        while ((c = fgetc(in)) == ' ' || c == '\n' || c == '\t' || c == '\r')
            ;
        fmt = c == '[' ? "json" : c == '{' ? "ndjson" : "cef";
        if (c != EOF)
            ungetc(c, in);
        /* the skipped blank lines still count for line numbers: only when reading json,
           whose document is read whole below, does it matter, and json counts its own */
    }
    if (strcmp(fmt, "json") == 0) {
        struct trail_buf doc = {0};
        char chunk[65536];
        size_t n;
        while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0)
            if (trail_buf_append(&doc, chunk, n) < 0)
                break;
        import_json_doc(&im, doc.data ? doc.data : "", doc.len);
        trail_buf_free(&doc);
    } else {
        while (!im.failed && (len = getline(&line, &cap, in)) >= 0) {
            lineno++;
            size_t n = (size_t)len;
            while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                n--;
            if (blank(line, n)) {
                im.blank++;
                continue;
            }
            import_one(&im, fmt, line, n, lineno);
        }
    }
    free(line);
    int read_err = ferror(in);
    if (in != stdin)
        fclose(in);
    if (!im.failed)
        flush_batch(&im);
    int r = im.last_seq ? trail_store_wait(im.store, im.last_seq) : 0;
    int rc = trail_store_close(im.store);
    if (r == 0)
        r = rc;
    if (r < 0) {
        cli_fail(cmd, "the imported events did not all become durable: %s", trail_strerror(r));
        status = 1;
    }
    if (read_err)
        status = cli_fail(cmd, "error reading %s", im.file);
    if (im.imported)
        printf("imported %" PRIu64 " events (seq %" PRIu64 "..%" PRIu64 "), %" PRIu64
               " rejected, %" PRIu64 " blank lines\n",
               im.imported, im.first_seq, im.last_seq, im.rejected, im.blank);
    else
        printf("imported 0 events, %" PRIu64 " rejected, %" PRIu64 " blank lines\n", im.rejected,
               im.blank);
    if (im.rejected || im.failed)
        status = 1;
    return status;
}

/* ---- export ---- */

static const char export_help[] =
    "NAME\n"
    "    trail export - print a store's events\n"
    "\n"
    "SYNOPSIS\n"
    "    trail export --store DIR [--format ndjson|cef|eventlog] [--from SEQ] [--to SEQ]\n"
    "\n"
    "DESCRIPTION\n"
    "    Prints the events of the store in DIR in sequence order, one per line,\n"
    "    on standard output. Works while traild writes the store (it reads what\n"
    "    is on disk). Purged events are not there: --from before the first\n"
    "    stored seq starts at the first stored one.\n"
    "\n"
    "OPTIONS\n"
    "    --store DIR      the store directory (required)\n"
    "    -f, --format FORMAT\n"
    "        ndjson    the canonical JSON object per line, with seq and uuid\n"
    "                  (what 'trail import --format ndjson' reads back); default\n"
    "        cef       CEF:0|PhenixID|PAS|...; attributes in key order\n"
    "        eventlog  CEF with the identity server's event.log prefix, UTC\n"
    "    --from SEQ       the first seq to print (default: the first stored)\n"
    "    --to SEQ         the last seq to print (default: the last)\n"
    "    -h, --help       print this help and exit\n"
    "\n"
    "EXIT STATUS\n"
    "    0  printed\n"
    "    1  the store could not be read (damage is named on standard error)\n"
    "    3  printed every event but those of damaged runs the store knows of\n"
    "       (a sealed segment that fails its check), named on standard error\n"
    "    2  bad usage: unknown option or format, a SEQ that is not a number,\n"
    "       --from after --to, no --store\n"
    "\n"
    "EXAMPLES\n"
    "    trail export --store /var/lib/trail --from 1000 --to 1999 > part.ndjson\n"
    "    trail export --store /var/lib/trail --format eventlog | grep bankid\n";

int cmd_export(int argc, char **argv)
{
    const char *cmd = argv[0];
    if (cli_wants_help(argc, argv)) {
        fputs(export_help, stdout);
        return 0;
    }
    const char *dir = NULL, *fmt = "ndjson", *from_s = NULL, *to_s = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int got;
        if ((got = cli_opt_value(argv, argc, &i, "--store", &v)) != 0)
            dir = v;
        else if ((got = cli_opt_value(argv, argc, &i, "--format", &v)) != 0 ||
                 (got = cli_opt_value(argv, argc, &i, "-f", &v)) != 0)
            fmt = v;
        else if ((got = cli_opt_value(argv, argc, &i, "--from", &v)) != 0)
            from_s = v;
        else if ((got = cli_opt_value(argv, argc, &i, "--to", &v)) != 0)
            to_s = v;
        else
            return cli_usage_error(cmd, "unknown argument '%s' (see 'trail export --help')",
                                   argv[i]);
        if (got < 0)
            return cli_usage_error(cmd, "option %s needs a value", argv[i]);
    }
    if (!dir)
        return cli_usage_error(cmd, "missing --store DIR");
    if (strcmp(fmt, "ndjson") && strcmp(fmt, "cef") && strcmp(fmt, "eventlog"))
        return cli_usage_error(cmd, "unknown format '%s' (ndjson, cef or eventlog)", fmt);
    uint64_t from = 1, to = UINT64_MAX;
    if (from_s && cli_parse_u64(from_s, UINT64_MAX, &from) < 0)
        return cli_usage_error(cmd, "--from '%s' is not a sequence number", from_s);
    if (to_s && cli_parse_u64(to_s, UINT64_MAX, &to) < 0)
        return cli_usage_error(cmd, "--to '%s' is not a sequence number", to_s);
    if (from > to)
        return cli_usage_error(cmd, "--from %" PRIu64 " is after --to %" PRIu64, from, to);

    struct trail_store *s;
    int status = open_reader(cmd, dir, &s);
    if (status)
        return status;
    struct trail_store_iter *it = NULL;
    struct trail_event *ev = NULL;
    struct trail_buf out = {0};
    struct trail_cef_opts cef = {.log_prefix = strcmp(fmt, "eventlog") == 0};
    int r = trail_store_iter_new(s, TRAIL_ITER_FORWARD, &it);
    if (r == 0)
        r = trail_event_new(cli_catalog(), "x", &ev);
    if (r == 0)
        r = trail_store_iter_seek_seq(it, from ? from : 1);
    uint64_t n = 0, prev = 0;
    int skipped = 0;
    while (r == 0) {
        int got = trail_store_iter_next(it, ev);
        struct trail_store_damage d;
        uint64_t at =
            prev ? prev + 1 : (from > trail_store_first_seq(s) ? from : trail_store_first_seq(s));
        if (got == TRAIL_E_CORRUPT && at <= to && trail_store_damage_at(s, at, &d)) {
            /* a damaged run the store knows: say so and go on after it */
            fprintf(stderr,
                    "trail %s: warning: seqs %" PRIu64 "..%" PRIu64 " skipped: %s %s (%s)\n", cmd,
                    d.first_seq, d.last_seq, d.file,
                    d.quarantined ? "was quarantined by trail repair" : "is damaged", d.reason);
            skipped = 1;
            prev = d.last_seq;
            r = trail_store_iter_seek_seq(it, d.last_seq + 1);
            continue;
        }
        if (got <= 0) {
            r = got;
            break;
        }
        prev = trail_event_seq(ev);
        if (trail_event_seq(ev) > to)
            break;
        out.len = 0;
        r = strcmp(fmt, "ndjson") == 0 ? trail_event_to_json(ev, &out)
                                       : trail_event_to_cef(ev, &cef, &out);
        if (r == 0)
            r = trail_buf_append(&out, "\n", 1);
        if (r == 0 && fwrite(out.data, 1, out.len, stdout) != out.len)
            r = -errno;
        n++;
    }
    if (r == 0 && fflush(stdout) != 0)
        r = -errno;
    if (r < 0)
        status =
            cli_fail(cmd, "%s: stopped after %" PRIu64 " events: %s", dir, n, trail_strerror(r));
    else if (skipped)
        status = 3;
    trail_buf_free(&out);
    trail_event_free(ev);
    trail_store_iter_free(it);
    trail_store_close(s);
    return status;
}

/* ---- purge ---- */

static const char purge_help[] =
    "NAME\n"
    "    trail purge - remove a store's oldest events (retention)\n"
    "\n"
    "SYNOPSIS\n"
    "    trail purge --store DIR --older-than AGE\n"
    "    trail purge --store DIR --max-size SIZE\n"
    "\n"
    "DESCRIPTION\n"
    "    Removes whole sealed segments, oldest first, while their last event\n"
    "    arrived more than AGE ago (trail's received time: a producer's clock\n"
    "    cannot hold data back or make it go early), or while the store is\n"
    "    larger than SIZE (both may be given). The segment being written and segments not yet "
    "sealed are\n"
    "    never removed, so a purge can leave more than asked for. The purge is\n"
    "    recorded in the store as a trail_events_purged record with the\n"
    "    purged seq range, the segment count, the bytes, and the anchor (chain\n"
    "    head and Merkle frontier at the purge point) from which what remains\n"
    "    verifies; docs/store.md says what else is kept for the auditor.\n"
    "    Prints what was removed.\n"
    "\n"
    "OPTIONS\n"
    "    --store DIR        the store directory (required; not open by traild)\n"
    "    --older-than AGE   a number and a unit: s, m, h, d or w (90d, 12h, 2w)\n"
    "    --max-size SIZE    a number and a unit: K, M, G or T (powers of 1024;\n"
    "                       no unit: bytes): 10G, 500M\n"
    "    -h, --help         print this help and exit\n"
    "\n"
    "EXIT STATUS\n"
    "    0  done (also when nothing was old or large enough)\n"
    "    1  the store failed (locked by traild, damaged, a write failed)\n"
    "    2  bad usage: neither --older-than nor --max-size, a bad AGE or SIZE\n"
    "\n"
    "EXAMPLES\n"
    "    trail purge --store /var/lib/trail --older-than 90d\n"
    "    trail purge --store /var/lib/trail --max-size 10G\n";

static int parse_unit(const char *s, const char *units, const uint64_t *mult, int unit_needed,
                      uint64_t *ret)
{
    char *end;
    if (!*s || *s == '-')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -1;
    uint64_t m = 1;
    if (*end) {
        const char *u = strchr(units, *end);
        if (!u || end[1])
            return -1;
        m = mult[u - units];
    } else if (unit_needed) {
        return -1;
    }
    if (v && m > UINT64_MAX / v)
        return -1;
    *ret = v * m;
    return 0;
}

int cmd_purge(int argc, char **argv)
{
    const char *cmd = argv[0];
    if (cli_wants_help(argc, argv)) {
        fputs(purge_help, stdout);
        return 0;
    }
    const char *dir = NULL, *age_s = NULL, *size_s = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int got;
        if ((got = cli_opt_value(argv, argc, &i, "--store", &v)) != 0)
            dir = v;
        else if ((got = cli_opt_value(argv, argc, &i, "--older-than", &v)) != 0)
            age_s = v;
        else if ((got = cli_opt_value(argv, argc, &i, "--max-size", &v)) != 0)
            size_s = v;
        else
            return cli_usage_error(cmd, "unknown argument '%s' (see 'trail purge --help')",
                                   argv[i]);
        if (got < 0)
            return cli_usage_error(cmd, "option %s needs a value", argv[i]);
    }
    if (!dir)
        return cli_usage_error(cmd, "missing --store DIR");
    if (!age_s && !size_s)
        return cli_usage_error(cmd, "give --older-than AGE or --max-size SIZE");
    static const uint64_t age_mult[] = {1, 60, 3600, 86400, 604800};
    static const uint64_t size_mult[] = {1ULL << 10, 1ULL << 20, 1ULL << 30, 1ULL << 40};
    uint64_t age = 0, size = 0;
    if (age_s && (parse_unit(age_s, "smhdw", age_mult, 1, &age) < 0 || age == 0 ||
                  age > (uint64_t)INT64_MAX / 1000000))
        return cli_usage_error(cmd, "--older-than '%s' is not an age like 90d, 12h or 2w", age_s);
    if (size_s && (parse_unit(size_s, "KMGT", size_mult, 0, &size) < 0 || size == 0))
        return cli_usage_error(cmd, "--max-size '%s' is not a size like 10G or 500M", size_s);

    struct trail_store *s;
    int status = open_writer(cmd, dir, 0, &s);
    if (status)
        return status;
    int64_t cutoff = age ? trail_now() - (int64_t)age * 1000000 : 0;
    struct trail_store_purge_report rep;
    int r = trail_store_purge(s, cutoff, size, &rep);
    int rc = trail_store_close(s);
    if (r == 0)
        r = rc;
    if (r < 0)
        return cli_fail(cmd, "%s: %s", dir, trail_strerror(r));
    if (rep.segments == 0)
        printf("nothing to purge\n");
    else
        printf("purged %" PRIu64 " segments (%" PRIu64 " bytes), events %" PRIu64 "..%" PRIu64
               "; recorded as event %" PRIu64 "\n",
               rep.segments, rep.bytes, rep.from_seq, rep.to_seq, rep.event_seq);
    return 0;
}

/* ---- stats ---- */

static const char stats_help[] =
    "NAME\n"
    "    trail stats - what a store holds\n"
    "\n"
    "SYNOPSIS\n"
    "    trail stats --store DIR [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "    Prints the number of events, the first and last sequence numbers and\n"
    "    times, the Merkle tree size (purged events included), the segments\n"
    "    (sealed and open), the bytes on disk (segments, the integrity side\n"
    "    files and the query indexes) and the bytes per event; then, when sinks deliver from the\n"
    "    store, each sink's cursor, lag and last error (as 'trail sinks').\n"
    "    Works while traild writes the store.\n"
    "\n"
    "OPTIONS\n"
    "    --store DIR   the store directory (required)\n"
    "    --json        one JSON object instead of lines of text (without the\n"
    "                  sinks: 'trail sinks --store DIR --json' gives those)\n"
    "    -h, --help    print this help and exit\n"
    "\n"
    "EXIT STATUS\n"
    "    0  printed;  1  the store could not be opened;  2  bad usage\n";

int cmd_stats(int argc, char **argv)
{
    const char *cmd = argv[0];
    if (cli_wants_help(argc, argv)) {
        fputs(stats_help, stdout);
        return 0;
    }
    const char *dir = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int got;
        if ((got = cli_opt_value(argv, argc, &i, "--store", &v)) != 0)
            dir = v;
        else if (strcmp(argv[i], "--json") == 0)
            json = got = 1;
        else
            return cli_usage_error(cmd, "unknown argument '%s' (see 'trail stats --help')",
                                   argv[i]);
        if (got < 0)
            return cli_usage_error(cmd, "option %s needs a value", argv[i]);
    }
    if (!dir)
        return cli_usage_error(cmd, "missing --store DIR");
    struct trail_store *s;
    int status = open_reader(cmd, dir, &s);
    if (status)
        return status;
    struct trail_store_stats st;
    char store_hex[33];
    trail_store_stats(s, &st);
    cli_store_hex_id(s, store_hex);
    trail_store_close(s);
    char t1[32] = "-", t2[32] = "-";
    if (st.records) {
        trail_time_format(st.first_time_us, t1);
        trail_time_format(st.last_time_us, t2);
    }
    uint64_t bytes = st.segment_bytes + st.side_bytes + st.index_bytes;
    double per = st.records ? (double)bytes / (double)st.records : 0.0;
    if (json)
        printf("{\"events\":%" PRIu64 ",\"first_seq\":%" PRIu64 ",\"last_seq\":%" PRIu64
               ",\"tree_size\":%" PRIu64 ",\"segments\":%" PRIu64 ",\"sealed_segments\":%" PRIu64
               ",\"segment_bytes\":%" PRIu64 ",\"side_bytes\":%" PRIu64 ",\"index_bytes\":%" PRIu64
               ",\"bytes_per_event\":%.1f,\"first_time\":%s%s%s,\"last_time\":%s%s%s}\n",
               st.records, st.first_seq, st.last_seq, st.tree_size, st.segments, st.sealed_segments,
               st.segment_bytes, st.side_bytes, st.index_bytes, per, st.records ? "\"" : "",
               st.records ? t1 : "null", st.records ? "\"" : "", st.records ? "\"" : "",
               st.records ? t2 : "null", st.records ? "\"" : "");
    else
        printf("events          %" PRIu64 "\n"
               "seq             %" PRIu64 "..%" PRIu64 "\n"
               "tree size       %" PRIu64 "\n"
               "first time      %s\n"
               "last time       %s\n"
               "segments        %" PRIu64 " (%" PRIu64 " sealed, %" PRIu64 " open)\n"
               "bytes           %" PRIu64 " (segments %" PRIu64 ", integrity and meta %" PRIu64
               ", indexes %" PRIu64 ")\n"
               "bytes/event     %.1f\n",
               st.records, st.first_seq, st.last_seq, st.tree_size, t1, t2, st.segments,
               st.sealed_segments, st.segments - st.sealed_segments, bytes, st.segment_bytes,
               st.side_bytes, st.index_bytes, per);
    if (!json) {
        /* the sinks delivering from this store, with their lag ('trail sinks' for JSON) */
        char sinks_dir[4096];
        struct stat sst;
        snprintf(sinks_dir, sizeof(sinks_dir), "%s/sinks", dir);
        if (stat(sinks_dir, &sst) == 0 && S_ISDIR(sst.st_mode)) {
            putchar('\n');
            cli_sinks_print(dir, store_hex, st.last_seq, 0, 1);
        }
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

/* ---- repair ---- */

static const char repair_help[] =
    "NAME\n"
    "    trail repair - move a store's damaged files aside so that it opens cleanly\n"
    "\n"
    "SYNOPSIS\n"
    "    trail repair --store DIR\n"
    "\n"
    "DESCRIPTION\n"
    "    Reads every sealed segment of the store in DIR (header, index, trailer\n"
    "    and the CRC-32C of every block) and moves each one that fails, with its\n"
    "    index, to DIR/quarantine/TIME/, where REPORT says what was damaged, which\n"
    "    seqs are gone and the SHA-256 of every file moved. DIR/quarantined lists\n"
    "    the runs of seqs moved, so the store opens with them as known, documented\n"
    "    damage: searches skip them and say so, and trail verify reports each as\n"
    "    'quarantined' (never ok). A damaged open segment is cut at its first bad\n"
    "    record, the cut bytes kept in DIR/damaged/ (later segments move there\n"
    "    too). Nothing is deleted. The store must not be open by traild.\n"
    "\n"
    "    The newest sealed segment with no segment after it cannot be quarantined\n"
    "    (the hash chain continues from it); restore it from a copy.\n"
    "\n"
    "OPTIONS\n"
    "    --store DIR   the store directory (required; not open by traild)\n"
    "    -h, --help    print this help and exit\n"
    "\n"
    "EXIT STATUS\n"
    "    0  repaired, or nothing was damaged\n"
    "    1  the store is open by traild (locked), or it could not be repaired\n"
    "    2  bad usage\n"
    "\n"
    "EXAMPLES\n"
    "    trail repair --store /var/lib/trail\n";

int cmd_repair(int argc, char **argv)
{
    const char *cmd = argv[0];
    if (cli_wants_help(argc, argv)) {
        fputs(repair_help, stdout);
        return 0;
    }
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int got;
        if ((got = cli_opt_value(argv, argc, &i, "--store", &v)) != 0)
            dir = v;
        else
            return cli_usage_error(cmd, "unknown argument '%s' (see 'trail repair --help')",
                                   argv[i]);
        if (got < 0)
            return cli_usage_error(cmd, "option %s needs a value", argv[i]);
    }
    if (!dir)
        return cli_usage_error(cmd, "missing --store DIR");
    struct trail_catalog *cat = cli_catalog();
    if (!cat)
        return 1;
    struct trail_store_opts o = {.repair = 1, .allow_damaged = 1};
    struct trail_store_report rep;
    struct trail_store *s;
    int r = trail_store_open(dir, cat, &o, &s, &rep);
    if (r == TRAIL_E_LOCKED)
        return cli_fail(cmd, "%s: %s (a running traild owns it: stop it first)", dir,
                        trail_strerror(r));
    if (r == TRAIL_E_NOT_FOUND)
        return cli_fail(cmd, "%s: no store there", dir);
    if (r < 0) {
        fprintf(stderr, "%s", rep.message);
        return cli_fail(cmd, "%s: cannot repair the store: %s", dir, trail_strerror(r));
    }
    fputs(rep.message, stdout);
    struct trail_store_damage *d = NULL;
    size_t n = 0;
    trail_store_damage_list(s, &d, &n, NULL);
    uint64_t lost = 0;
    for (size_t i = 0; i < n; i++)
        if (d[i].quarantined)
            lost += d[i].last_seq - d[i].first_seq + 1;
    free(d);
    r = trail_store_close(s);
    if (r < 0)
        return cli_fail(cmd, "%s: %s", dir, trail_strerror(r));
    if (!rep.damaged && !rep.repaired_bytes)
        printf("nothing damaged%s\n", lost ? " besides what is quarantined already" : "");
    if (lost)
        printf("%" PRIu64 " records are quarantined (see %s/quarantined and the REPORT in "
               "%s/quarantine/); trail verify reports them\n",
               lost, dir, dir);
    return fflush(stdout) == 0 ? 0 : 1;
}
