/*
 * backup.c - `trail backup`: a consistent copy of a store while traild
 * writes to it, checked as `trail verify` checks a store.
 *
 * Consistency comes from the order of the copy, not from a lock (the
 * writer's flock keeps out only a second writer, and readers take none):
 * the files that claim something (checkpoints, tree.roots, anchors, the
 * cursors) are copied first, then the segments, which only grow or are
 * sealed, so the copied segments hold at least what the copied claims say.
 * The other order gives "a store shorter than its own claims", which a
 * writer refuses to open (docs/store.md). docs/operations.md, "Backups".
 *
 * Not here: the checking (cli/verify.c, which this calls), the store's
 * recovery at open (lib/store), which cuts the copy's torn tail.
 */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_KEYS 16

static const char help[] =
    "NAME\n"
    "    trail backup - copy a store while traild writes to it, and verify the copy\n"
    "\n"
    "SYNOPSIS\n"
    "    trail backup --store DIR --to DEST [--pubkey FILE]...\n"
    "\n"
    "DESCRIPTION\n"
    "    Copies the store in DIR to the new directory DEST without stopping\n"
    "    traild: first what the store claims (store.meta, origin, checkpoints,\n"
    "    tree.roots, anchors, the quarantine list, the sinks', follows' and\n"
    "    detector's cursors), then the segments: sealed ones hard-linked when\n"
    "    DEST is on the same file system (they never change; a later purge\n"
    "    unlinks only the store's name), else copied, and the open one copied\n"
    "    as far as it is written, which covers at least what the copied\n"
    "    claims do. A segment sealed during the copy is taken in its sealed\n"
    "    form. The query indexes are left out (rebuilt when missing).\n"
    "\n"
    "    The copy is then opened once as a store (which cuts a torn last\n"
    "    record, as after a crash) and checked as 'trail verify' checks a\n"
    "    store, with the --pubkey keys when given. The records written after\n"
    "    the last copied checkpoint are in the copy, chained but not yet\n"
    "    signed: with --pubkey they are accepted with a note.\n"
    "\n"
    "    DEST is a store: restore it by putting a copy of it in place of the\n"
    "    store while traild is stopped (docs/operations.md, \"Backups\").\n"
    "\n"
    "OPTIONS\n"
    "    --store DIR     the store (traild may be running on it)\n"
    "    --to DEST       the backup directory; must not exist\n"
    "    --pubkey FILE   check the copy's checkpoints with this key (more than once\n"
    "                    for rotated keys), as 'trail verify --pubkey'\n"
    "    -h, --help      this help\n"
    "\n"
    "EXIT STATUS\n"
    "    0 the copy was made and verifies; 1 it could not be made or does not\n"
    "    verify (a segment purged by retention during the copy: run it again);\n"
    "    2 bad usage.\n";

struct counts {
    unsigned linked, copied, claims;
    uint64_t bytes;
};

/*
 * Copy src to dst (created, 0640 or src's mode), at most limit bytes
 * (UINT64_MAX: all); with whole_lines, only up to the last '\n' (a line
 * being appended is not a line yet), with unit > 1, a multiple of unit
 * bytes past header bytes (a fixed-size entry being appended is left out).
 */
static int copy_file(const char *src, const char *dst, int whole_lines, size_t header, size_t unit,
                     struct counts *c)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -errno;
    struct stat st;
    if (fstat(in, &st) < 0) {
        int e = -errno;
        close(in);
        return e;
    }
    /* Read it all first: the files copied this way are small or are the open segment. */
    size_t cap = (size_t)st.st_size + 65536, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        close(in);
        return -ENOMEM;
    }
    for (;;) {
        if (len == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                close(in);
                return -ENOMEM;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t n = read(in, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = -errno;
            free(buf);
            close(in);
            return e;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(in);
    if (whole_lines) {
        while (len > 0 && buf[len - 1] != '\n')
            len--;
    }
    if (unit > 1 && len > header)
        len = header + (len - header) / unit * unit;
    /* written as every replaced file of trail is: beside it, synced, renamed */
    int r = trail_file_replace(dst, buf, len, st.st_mode & 0777);
    free(buf);
    if (r < 0)
        return r;
    c->copied++;
    c->bytes += len;
    return 0;
}

/* Copy the directory src to dst, files and subdirectories (cursors, quarantine). */
static int copy_tree(const char *src, const char *dst, struct counts *c)
{
    DIR *d = opendir(src);
    if (!d)
        return -errno;
    if (mkdir(dst, 0750) < 0 && errno != EEXIST) {
        int e = -errno;
        closedir(d);
        return e;
    }
    int r = 0;
    struct dirent *de;
    while (r == 0 && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char s[PATH_MAX], t[PATH_MAX];
        snprintf(s, sizeof(s), "%s/%s", src, de->d_name);
        snprintf(t, sizeof(t), "%s/%s", dst, de->d_name);
        struct stat st;
        if (lstat(s, &st) < 0)
            continue; /* removed meanwhile: a cursor's temporary file */
        if (S_ISDIR(st.st_mode))
            r = copy_tree(s, t, c);
        else if (S_ISREG(st.st_mode) && !strstr(de->d_name, ".tmp")) {
            r = copy_file(s, t, 0, 0, 1, c);
            if (r == -ENOENT)
                r = 0;
        }
    }
    closedir(d);
    return r;
}

static int seg_name(const char *n, const char *ext)
{
    size_t len = strlen(n), el = strlen(ext);
    return len == 4 + 16 + el && strncmp(n, "seg-", 4) == 0 && strcmp(n + 20, ext) == 0 &&
           strspn(n + 4, "0123456789abcdef") == 16;
}

/* One pass over the segments: take each that DEST does not have yet. */
static int copy_segments(const char *store, const char *dest, struct counts *c)
{
    DIR *d = opendir(store);
    if (!d)
        return -errno;
    int r = 0;
    struct dirent *de;
    while (r == 0 && (de = readdir(d))) {
        int sealed = seg_name(de->d_name, ".seg"), open_seg = seg_name(de->d_name, ".open");
        if (!sealed && !open_seg)
            continue;
        char s[PATH_MAX], t[PATH_MAX];
        snprintf(s, sizeof(s), "%s/%s", store, de->d_name);
        snprintf(t, sizeof(t), "%s/%s", dest, de->d_name);
        if (access(t, F_OK) == 0)
            continue;
        if (sealed && link(s, t) == 0) {
            c->linked++;
            continue;
        }
        r = copy_file(s, t, 0, 0, 1, c);
        if (r == -ENOENT) /* sealed (or purged) meanwhile: the next pass sees what replaced it */
            r = 0;
    }
    closedir(d);
    return r;
}

/* An .open copied beside the .seg it became: the sealed form is the segment. */
static void drop_sealed_opens(const char *dest)
{
    DIR *d = opendir(dest);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!seg_name(de->d_name, ".seg"))
            continue;
        char o[PATH_MAX];
        snprintf(o, sizeof(o), "%s/%.20s.open", dest, de->d_name);
        unlink(o);
    }
    closedir(d);
}

int cmd_backup(int argc, char **argv)
{
    const char *cmd = "backup";
    const char *store = NULL, *dest = NULL;
    const char *keys[MAX_KEYS];
    size_t n_keys = 0;

    if (cli_wants_help(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *v;
        int m;
        if ((m = cli_opt_value(argv, argc, &i, "--store", &v)) != 0) {
            if (m < 0)
                return cli_usage_error(cmd, "--store needs a directory");
            store = v;
        } else if ((m = cli_opt_value(argv, argc, &i, "--to", &v)) != 0) {
            if (m < 0)
                return cli_usage_error(cmd, "--to needs a directory");
            dest = v;
        } else if ((m = cli_opt_value(argv, argc, &i, "--pubkey", &v)) != 0) {
            if (m < 0)
                return cli_usage_error(cmd, "--pubkey needs a file");
            if (n_keys == MAX_KEYS)
                return cli_usage_error(cmd, "more than %d --pubkey options", MAX_KEYS);
            keys[n_keys++] = v;
        } else {
            return cli_usage_error(cmd, "unexpected argument '%s' (see 'trail backup --help')",
                                   argv[i]);
        }
    }
    if (!store || !dest)
        return cli_usage_error(cmd, "--store DIR and --to DEST are required");

    char meta[PATH_MAX];
    snprintf(meta, sizeof(meta), "%s/store.meta", store);
    if (access(meta, R_OK) < 0)
        return cli_fail(cmd, "%s: no store there (no readable store.meta)", store);
    if (mkdir(dest, 0750) < 0)
        return cli_fail(cmd, "%s: %s (the backup directory must be new)", dest, strerror(errno));

    struct counts c = {0};
    int r = 0;
    /* 1. What the store claims, before the records that back the claims. */
    static const struct {
        const char *name;
        int lines;
        size_t header, unit;
    } claims[] = {
        {"store.meta", 0, 0, 1},  {"origin", 0, 0, 1},        {"checkpoint.pub", 0, 0, 1},
        {"checkpoints", 1, 0, 1}, {"tree.roots", 0, 64, 32},  {"anchors", 0, 0, 1},
        {"quarantined", 1, 0, 1}, {"detect.cursor", 0, 0, 1},
    };
    for (size_t i = 0; r == 0 && i < sizeof(claims) / sizeof(claims[0]); i++) {
        char s[PATH_MAX], t[PATH_MAX];
        snprintf(s, sizeof(s), "%s/%s", store, claims[i].name);
        snprintf(t, sizeof(t), "%s/%s", dest, claims[i].name);
        struct stat st;
        if (stat(s, &st) < 0)
            continue;
        r = copy_file(s, t, claims[i].lines, claims[i].header, claims[i].unit, &c);
        if (r == 0)
            c.claims++;
        else
            cli_note("trail %s: %s: %s", cmd, s, strerror(-r));
    }
    static const char *const dirs[] = {"sinks", "follow", "quarantine"};
    for (size_t i = 0; r == 0 && i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        char s[PATH_MAX], t[PATH_MAX];
        snprintf(s, sizeof(s), "%s/%s", store, dirs[i]);
        snprintf(t, sizeof(t), "%s/%s", dest, dirs[i]);
        struct stat st;
        if (stat(s, &st) < 0 || !S_ISDIR(st.st_mode))
            continue;
        r = copy_tree(s, t, &c);
        if (r < 0)
            cli_note("trail %s: %s: %s", cmd, s, strerror(-r));
    }
    /* 2. The segments, twice: one sealed during the first pass is taken sealed by the second. */
    for (int pass = 0; r == 0 && pass < 2; pass++)
        r = copy_segments(store, dest, &c);
    if (r < 0)
        return cli_fail(cmd, "copying the segments of %s to %s: %s", store, dest, strerror(-r));
    drop_sealed_opens(dest);

    /* 3. Open the copy once: the store's own recovery cuts a torn last record. */
    struct trail_catalog *cat = cli_catalog();
    if (!cat)
        return 1;
    struct trail_store_opts o = {0};
    struct trail_store_report rep;
    struct trail_store *s = NULL;
    r = trail_store_open(dest, cat, &o, &s, &rep);
    if (r < 0) {
        if (rep.message[0])
            fprintf(stderr, "%s", rep.message);
        return cli_fail(cmd,
                        "%s: the copy does not open: %s (a segment purged during the "
                        "copy? run the backup again)",
                        dest, trail_strerror(r));
    }
    uint64_t first = trail_store_first_seq(s), last = trail_store_last_seq(s);
    trail_store_close(s);
    printf("backup %s: records %" PRIu64 "..%" PRIu64 " (the store claimed up to %" PRIu64
           "), %u segment(s) hard-linked, %u file(s) copied (%" PRIu64 " bytes), %u claim file(s)",
           dest, first, last, rep.claimed_seq, c.linked, c.copied, c.bytes, c.claims);
    if (rep.torn_bytes)
        printf(", a torn last record of %" PRIu64 " bytes cut", rep.torn_bytes);
    printf("\n");
    fflush(stdout);

    /* 4. Check it as `trail verify` does. */
    char *vargv[4 + 2 * MAX_KEYS];
    int vargc = 0;
    vargv[vargc++] = (char *)"verify";
    vargv[vargc++] = (char *)"--store";
    vargv[vargc++] = (char *)dest;
    for (size_t i = 0; i < n_keys; i++) {
        vargv[vargc++] = (char *)"--pubkey";
        vargv[vargc++] = (char *)keys[i];
    }
    if (n_keys) {
        /* What was written after the last copied checkpoint is chained, not yet signed. */
        vargv[vargc++] = (char *)"--allow-unsigned-tail";
        vargv[vargc++] = (char *)"18446744073709551615";
    }
    vargv[vargc] = NULL;
    int v = cmd_verify(vargc, vargv);
    if (v != 0)
        return cli_fail(cmd, "%s: the copy does not verify (see above)", dest);
    return 0;
}
