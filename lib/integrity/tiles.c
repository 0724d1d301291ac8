/*
 * tiles.c - the paths of the C2SP tlog-tiles read API
 * (https://c2sp.org/tlog-tiles): formatting and strict parsing.
 *
 * Not for: what a tile holds (lib/store/store_tiles.c builds them from the
 * store), serving them (daemon/http/tiles_http.c), writing them to files
 * (cli/tiles.c).
 *
 *     tile/L/N[.p/W]         hash tile: level L (0..63), index N, W of 256 hashes
 *     tile/entries/N[.p/W]   entry bundle: the entries of leaves 256 N .. 256 N + W - 1
 *
 * N is written in groups of three decimal digits, every group but the last
 * with an "x" in front: 1234067 is x001/x234/067, 5 is 005. ".p/W" (W in
 * 1..255) marks a partial tile of W entries; a full tile has none.
 */
#include "trail.h"

#include <errno.h>

#include <stdio.h>
#include <string.h>

int trail_tile_path(int level, uint64_t index, unsigned width, char *out, size_t outlen)
{
    char digits[64] = "";
    uint64_t groups[8];
    int n = 0;
    size_t len = 0;

    if (level < TRAIL_TILE_ENTRIES || level > 63 || width < 1 || width > 256)
        return -EINVAL;
    do {
        groups[n++] = index % 1000;
        index /= 1000;
    } while (index > 0);
    for (int i = n - 1; i >= 0; i--)
        len += (size_t)snprintf(digits + len, sizeof(digits) - len, i ? "x%03u/" : "%03u",
                                (unsigned)groups[i]);
    int w;
    char lvl[8];
    if (level == TRAIL_TILE_ENTRIES)
        snprintf(lvl, sizeof(lvl), "entries");
    else
        snprintf(lvl, sizeof(lvl), "%d", level);
    if (width == 256)
        w = snprintf(out, outlen, "tile/%s/%s", lvl, digits);
    else
        w = snprintf(out, outlen, "tile/%s/%s.p/%u", lvl, digits, width);
    return w < 0 || (size_t)w >= outlen ? -ENAMETOOLONG : 0;
}

int trail_tile_path_parse(const char *path, int *ret_level, uint64_t *ret_index,
                          unsigned *ret_width)
{
    char again[128];
    const char *p = path;
    int level;
    uint64_t index = 0;
    unsigned width = 256;

    if (strncmp(p, "tile/", 5) != 0)
        return TRAIL_E_PARSE;
    p += 5;
    if (strncmp(p, "entries/", 8) == 0) {
        level = TRAIL_TILE_ENTRIES;
        p += 8;
    } else {
        if (p[0] < '0' || p[0] > '9')
            return TRAIL_E_PARSE;
        level = 0;
        while (*p >= '0' && *p <= '9' && level <= 63)
            level = level * 10 + (*p++ - '0');
        if (level > 63 || *p++ != '/')
            return TRAIL_E_PARSE;
    }
    for (int groups = 0;; groups++) {
        int more = *p == 'x';
        if (more)
            p++;
        if (groups == 7 || !(p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9' &&
                             p[2] >= '0' && p[2] <= '9'))
            return TRAIL_E_PARSE;
        uint64_t g = (uint64_t)((p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0'));
        if (index > (UINT64_MAX - g) / 1000)
            return TRAIL_E_PARSE;
        index = index * 1000 + g;
        p += 3;
        if (more) {
            if (*p++ != '/')
                return TRAIL_E_PARSE;
            continue;
        }
        break;
    }
    if (strncmp(p, ".p/", 3) == 0) {
        p += 3;
        width = 0;
        while (*p >= '0' && *p <= '9' && width < 1000)
            width = width * 10 + (unsigned)(*p++ - '0');
        if (width < 1 || width > 255)
            return TRAIL_E_PARSE;
    }
    if (*p != '\0')
        return TRAIL_E_PARSE;
    /* one path per tile: leading zeros, "x000" groups and the like are refused */
    if (trail_tile_path(level, index, width, again, sizeof(again)) < 0 || strcmp(again, path) != 0)
        return TRAIL_E_PARSE;
    *ret_level = level;
    *ret_index = index;
    *ret_width = width;
    return 0;
}
