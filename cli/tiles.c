/*
 * tiles.c - `trail tiles`: write a store's C2SP tlog-tiles (checkpoint, hash
 * tiles, entry bundles) as a tree of static files, for a plain web server or
 * an object store.
 *
 * Not here: the tiles' bytes (lib/store/store_tiles.c), their paths
 * (lib/integrity/tiles.c), traild serving them (daemon/http/tiles_http.c).
 */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char help[] =
    "NAME\n"
    "    trail tiles - write a store's C2SP tlog-tiles as static files\n"
    "\n"
    "SYNOPSIS\n"
    "    trail tiles --store DIR --out OUT\n"
    "\n"
    "DESCRIPTION\n"
    "    Writes the tree of files of the C2SP tlog-tiles read API for the\n"
    "    store's latest checkpoint (of SIZE records):\n"
    "\n"
    "        OUT/checkpoint              the checkpoint, a C2SP signed note\n"
    "        OUT/tile/L/N[.p/W]          hash tiles of 256 hashes (W: partial)\n"
    "        OUT/tile/entries/N[.p/W]    the records, 256 per bundle, each a\n"
    "                                    big-endian uint16 length and the\n"
    "                                    record's canonical bytes\n"
    "        OUT/minimum-index           the tlog-tiles minimum index, decimal:\n"
    "                                    every entry from it on is in a bundle\n"
    "\n"
    "    the same bytes traild serves at GET /checkpoint and /tile/...\n"
    "    (docs/integrity.md, \"Tiles\"). Full tiles never change: those already\n"
    "    in OUT are kept, so running it again after the store grew writes only\n"
    "    what is new. The checkpoint is written last, so that a reader never\n"
    "    sees one whose tiles are missing. Once retention has purged records\n"
    "    the log is pruned, as tlog-tiles describes: the minimum index is the\n"
    "    first stored record's index rounded up to a whole bundle; entry\n"
    "    bundles below it are not written, and those an earlier run wrote are\n"
    "    removed (the records are gone from the store: they leave OUT too).\n"
    "    Hash tiles stay: of level 1 and up always, of level 0 where the\n"
    "    purge kept the leaf hashes.\n"
    "\n"
    "    The latest checkpoint must be a C2SP one: a store whose latest is a\n"
    "    trail-checkpoint/1 line signs a new one with 'trail checkpoint --sign'.\n"
    "\n"
    "OPTIONS\n"
    "    --store DIR    the store directory; required\n"
    "    --out OUT      where to write; made when missing; required\n"
    "    -h, --help     print this help and exit\n"
    "\n"
    "OUTPUT\n"
    "    One line: tree size, tiles and bundles written, kept and pruned.\n"
    "\n"
    "EXIT STATUS\n"
    "    0  written\n"
    "    1  no C2SP checkpoint, the store could not be read, or OUT not written\n"
    "    2  bad usage\n"
    "\n"
    "SEE ALSO\n"
    "    trail checkpoint --help, trail keygen --help, docs/integrity.md\n";

/* mkdir -p of path's parent directories */
static int make_parents(char *path)
{
    for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
        *p = '\0';
        int r = mkdir(path, 0755) < 0 && errno != EEXIST ? -errno : 0;
        *p = '/';
        if (r < 0)
            return r;
    }
    return 0;
}

struct counts {
    uint64_t written, kept, pruned;
};

static int write_tile(struct trail_store *s, const char *out, int level, uint64_t index,
                      unsigned width, struct counts *c)
{
    char rel[96], path[4300];
    struct trail_buf data = {0};
    struct stat st;
    int r = trail_tile_path(level, index, width, rel, sizeof(rel));
    if (r < 0)
        return r;
    snprintf(path, sizeof(path), "%s/%s", out, rel);
    if (width == 256 && stat(path, &st) == 0) {
        c->kept++; /* a full tile never changes */
        return 0;
    }
    r = level == TRAIL_TILE_ENTRIES ? trail_store_entry_bundle(s, index, width, &data)
                                    : trail_store_tile(s, level, index, width, &data);
    if (r == TRAIL_E_NOT_FOUND) {
        c->pruned++;
        r = 0;
    } else if (r == 0 && (r = make_parents(path)) == 0 &&
               (r = trail_file_replace(path, data.data, data.len, 0644)) == 0) {
        c->written++;
    }
    trail_buf_free(&data);
    return r;
}

/* Remove the entry bundle index from out, full and partial (index.p/W): pruned. */
static int remove_bundle(const char *out, uint64_t index, struct counts *c)
{
    char rel[96], path[4300];
    int r = trail_tile_path(TRAIL_TILE_ENTRIES, index, 256, rel, sizeof(rel));
    if (r < 0)
        return r;
    snprintf(path, sizeof(path), "%s/%s", out, rel);
    if (unlink(path) < 0 && errno != ENOENT)
        return -errno;
    snprintf(path, sizeof(path), "%s/%s.p", out, rel);
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)))
            if (e->d_name[0] != '.')
                unlinkat(dirfd(d), e->d_name, 0);
        closedir(d);
        if (rmdir(path) < 0 && errno != ENOENT)
            r = -errno;
    } else if (errno != ENOENT) {
        r = -errno;
    }
    c->pruned++;
    return r;
}

int cmd_tiles(int argc, char **argv)
{
    const char *cmd = "tiles";
    const char *dir = NULL, *out = NULL;

    if (cli_wants_help(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_option(a, NULL, "--store")) {
            if (!(dir = cli_option_value(argc, argv, &i, a)) || !*dir)
                return cli_usage_error(cmd, "--store needs a DIR");
        } else if (cli_is_option(a, NULL, "--out")) {
            if (!(out = cli_option_value(argc, argv, &i, a)) || !*out)
                return cli_usage_error(cmd, "--out needs a directory");
        } else {
            return cli_usage_error(cmd, "unexpected argument '%s' (see 'trail tiles --help')", a);
        }
    }
    if (!dir || !out)
        return cli_usage_error(cmd, "--store DIR and --out OUT are required");
    struct trail_catalog *cat = cli_catalog();
    if (!cat)
        return 1;
    struct trail_store_opts o = {.read_only = 1};
    struct trail_store *s = NULL;
    int r = trail_store_open(dir, cat, &o, &s, NULL);
    if (r < 0)
        return cli_fail(cmd, "%s: cannot open the store: %s", dir, trail_strerror(r));
    struct trail_checkpoint cp;
    struct trail_buf note = {0};
    struct counts tiles = {0}, bundles = {0};
    char path[4300];
    int status = 1;
    if ((r = trail_store_checkpoint_latest(s, &cp)) < 0) {
        cli_fail(cmd, "%s: no checkpoint: %s", dir, trail_strerror(r));
        goto out;
    }
    if (cp.legacy) {
        cli_fail(cmd,
                 "%s: the latest checkpoint is a trail-checkpoint/1 line; sign a C2SP one with "
                 "'trail checkpoint --store %s --sign'",
                 dir, dir);
        goto out;
    }
    if (mkdir(out, 0755) < 0 && errno != EEXIST) {
        cli_fail(cmd, "%s: %s", out, strerror(errno));
        goto out;
    }
    uint64_t minimum = trail_store_minimum_index(s, cp.tree_size);
    for (int level = 0; level < 8 && r == 0; level++) {
        uint64_t units = cp.tree_size >> (8 * level);
        if (units == 0)
            break;
        for (uint64_t n = 0; n * 256 < units && r == 0; n++) {
            unsigned width = units - n * 256 >= 256 ? 256 : (unsigned)(units - n * 256);
            r = write_tile(s, out, level, n, width, &tiles);
            if (r == 0 && level == 0)
                r = n * 256 < minimum ? remove_bundle(out, n, &bundles)
                                      : write_tile(s, out, TRAIL_TILE_ENTRIES, n, width, &bundles);
        }
    }
    if (r < 0) {
        cli_fail(cmd, "%s: %s", out, trail_strerror(r));
        goto out;
    }
    char text[32];
    int n = snprintf(text, sizeof(text), "%" PRIu64 "\n", minimum);
    snprintf(path, sizeof(path), "%s/minimum-index", out);
    if ((r = trail_file_replace(path, text, (size_t)n, 0644)) < 0) {
        cli_fail(cmd, "%s: %s", path, trail_strerror(r));
        goto out;
    }
    snprintf(path, sizeof(path), "%s/checkpoint", out);
    if ((r = trail_checkpoint_note(&cp, &note)) < 0 ||
        (r = trail_file_replace(path, note.data, note.len, 0644)) < 0) {
        cli_fail(cmd, "%s: %s", path, trail_strerror(r));
        goto out;
    }
    printf("size %" PRIu64 ": %" PRIu64 " tiles and %" PRIu64 " entry bundles written, %" PRIu64
           " full ones kept, %" PRIu64 " pruned\n",
           cp.tree_size, tiles.written, bundles.written, tiles.kept + bundles.kept,
           tiles.pruned + bundles.pruned);
    status = 0;
out:
    trail_buf_free(&note);
    r = trail_store_close(s);
    return status == 0 && r < 0 ? cli_fail(cmd, "%s: %s", dir, trail_strerror(r)) : status;
}
