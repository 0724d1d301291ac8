/*
 * store_tiles.c - the C2SP tlog-tiles of a store (https://c2sp.org/tlog-tiles):
 * hash tiles and entry bundles, built from the store's records, tree.roots
 * and anchors.
 *
 * Not for: the tile paths (lib/integrity/tiles.c), serving or writing them
 * (daemon/http/tiles_http.c, cli/tiles.c).
 *
 * The tree is trail's RFC 9162 tree (leaf = SHA-256(0x00 || record's
 * canonical bytes)), which is the tree tlog-tiles describes. A hash tile at
 * level L, index N, width W is W hashes of 32 bytes, one after the other:
 * hash i is the root of the complete subtree of 256^L leaves starting at
 * leaf (256 N + i) * 256^L. An entry bundle of index N, width W holds the
 * records of seqs 256 N + 1 .. 256 N + W, each as a big-endian uint16 length
 * and the record's canonical bytes (the bytes the leaf hashes): a record of
 * more than TRAIL_RECORD_BYTES_MAX (65,535) has no entry (-EOVERFLOW): no store
 * of this trail holds one, its append refuses it.
 *
 * A tile exists once all its leaves are durable: its bytes never change
 * after, whatever the store's size (the complete subtrees under it are
 * fixed). Leaves purged by retention have no entries; their hashes come from
 * DIR/anchors where a purge kept them, else the level-0 tile is gone
 * (TRAIL_E_NOT_FOUND), as tlog-tiles' pruning allows; tiles of level 1 and up
 * come from tree.roots, which is never purged.
 *
 * The minimum index (tlog-tiles "Pruning"): the first stored record's index
 * rounded up to a multiple of 256, at most the checkpoint's size. Every entry
 * bundle from it on is whole; each one below it is gone, its records purged,
 * or is partly purged and so not served either. Every tile that a proof of an
 * entry at or above it needs is served: level 0 from it on (its leaves are
 * stored), level 1 and up always.
 */
#include "integrity/merkle.h"
#include "store/store.h"

#include <errno.h>
#include <stdlib.h>

/* The leaves [first, first + count) are all durable. */
static int covered(struct trail_store *s, int level, uint64_t index, unsigned width)
{
    unsigned shift = 8u * (unsigned)level;
    uint64_t durable = trail_store_durable_seq(s);
    if (width < 1 || width > 256 || level < 0 || level > 7)
        return -EINVAL;
    uint64_t units = durable >> shift; /* complete subtrees of this level */
    if (index > units / 256 || index * 256 + width > units)
        return TRAIL_E_NOT_FOUND;
    return 0;
}

int trail_store_tile(struct trail_store *s, int level, uint64_t index, unsigned width,
                     struct trail_buf *out)
{
    int r = covered(s, level, index, width);
    if (r < 0)
        return r;
    if ((r = trail_buf_reserve(out, (size_t)width * TRAIL_HASH_LEN)) < 0)
        return r;
    uint8_t(*h)[TRAIL_HASH_LEN] = (uint8_t(*)[TRAIL_HASH_LEN])(out->data + out->len);
    if (level == 0) {
        r = store_leaf_range(s, index * 256 + 1, width, h);
    } else {
        uint64_t span = (uint64_t)1 << (8u * (unsigned)level);
        for (unsigned i = 0; i < width && r == 0; i++) {
            uint64_t begin = (index * 256 + i) * span;
            r = trail_store_subtree_hash(s, begin, begin + span, h[i]);
        }
    }
    if (r < 0)
        return r;
    out->len += (size_t)width * TRAIL_HASH_LEN;
    return 0;
}

/* The first stored record's index, rounded up to a whole bundle. */
static uint64_t first_whole_bundle(struct trail_store *s)
{
    uint64_t first = trail_store_first_seq(s) - 1;
    return (first + 255) / 256 * 256;
}

uint64_t trail_store_minimum_index(struct trail_store *s, uint64_t tree_size)
{
    uint64_t m = first_whole_bundle(s);
    return m < tree_size ? m : tree_size;
}

int trail_store_entry_bundle(struct trail_store *s, uint64_t index, unsigned width,
                             struct trail_buf *out)
{
    struct trail_store_iter *it;
    size_t was = out->len;
    int r = covered(s, 0, index, width);
    if (r < 0)
        return r;
    if (index > UINT64_MAX / 256 || index * 256 < first_whole_bundle(s))
        return TRAIL_E_NOT_FOUND; /* purged, all or part: pruned from the log */
    if ((r = trail_store_iter_new(s, TRAIL_ITER_FORWARD, &it)) < 0)
        return r;
    r = trail_store_iter_seek_seq(it, index * 256 + 1);
    for (unsigned i = 0; i < width && r >= 0; i++) {
        const uint8_t *rec;
        size_t len;
        uint64_t seq;
        r = trail_store_iter_next_raw(it, &rec, &len, &seq);
        if (r == 0 || (r == 1 && seq != index * 256 + 1 + i))
            r = TRAIL_E_NOT_FOUND;
        else if (r == 1 && len > 0xffff)
            r = -EOVERFLOW;
        if (r < 0)
            break;
        uint8_t be[2] = {(uint8_t)(len >> 8), (uint8_t)len};
        if ((r = trail_buf_append(out, be, 2)) < 0 || (r = trail_buf_append(out, rec, len)) < 0)
            break;
    }
    trail_store_iter_free(it);
    if (r < 0)
        out->len = was;
    return r < 0 ? r : 0;
}
