/*
 * verify_side.c - tree.roots and anchors as trail_verify_store() reads them:
 * loading and checking their headers, and the Merkle tree hashes they give
 * for records no longer kept (a purge's anchor, an old checkpoint).
 *
 * Not here: comparing a segment's groups with tree.roots (verify_read.c).
 */
#include "verify/verify_int.h"

/* ---- side files: tree.roots and anchors ---- */

static int side_header_ok(const uint8_t *h, size_t len, const char *magic,
                          const uint8_t store_id[16], int *ret_foreign)
{
    *ret_foreign = 0;
    if (len < 64 || memcmp(h, magic, 8) != 0 || get_u16(h + 8) != 1 || get_u32(h + 12) != 64 ||
        get_u32(h + 60) != crc32c(0, h, 60))
        return 0;
    if (memcmp(h + 16, store_id, 16) != 0) {
        *ret_foreign = 1;
        return 0;
    }
    return 1;
}

int verify_load_side_files(struct verify *v)
{
    uint8_t *p = NULL;
    size_t len = 0;
    int foreign;
    int r = verify_read_file(v->dir_fd, "tree.roots", &p, &len);
    if (r == -ENOENT) {
        verify_note(v, "tree.roots: missing; group roots not compared");
    } else if (r < 0) {
        return r;
    } else if (!side_header_ok(p, len, "TRAILTRE", v->store_id, &foreign)) {
        r = verify_report(v, TRAIL_DAMAGE_SIDE_FILE, 0, 0, "tree.roots",
                          foreign ? "tree.roots belongs to another store"
                                  : "tree.roots has a damaged header");
        free(p);
        if (r < 0)
            return r;
    } else {
        v->n_roots = (len - 64) / TRAIL_HASH_LEN;
        v->roots = malloc(v->n_roots ? v->n_roots * TRAIL_HASH_LEN : 1);
        if (!v->roots) {
            free(p);
            return -ENOMEM;
        }
        memcpy(v->roots, p + 64, v->n_roots * TRAIL_HASH_LEN);
        free(p);
    }
    p = NULL;
    r = verify_read_file(v->dir_fd, "anchors", &p, &len);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    if (!side_header_ok(p, len, "TRAILANC", v->store_id, &foreign)) {
        free(p);
        return verify_report(v, TRAIL_DAMAGE_SIDE_FILE, 0, 0, "anchors",
                             foreign ? "anchors belongs to another store"
                                     : "anchors has a damaged header");
    }
    for (size_t off = 64; off + ANCHOR_ENTRY <= len; off += ANCHOR_ENTRY) {
        if (get_u32(p + off + 8 + 256 * 32) != crc32c(0, p + off, 8 + 256 * 32)) {
            r = verify_report(v, TRAIL_DAMAGE_CHECKSUM, 0, 0, "anchors",
                              "the anchor entry at offset %zu fails its CRC-32C", off);
            if (r < 0) {
                free(p);
                return r;
            }
        }
    }
    v->anchors = p;
    v->anchors_len = len;
    return 0;
}

/* The leaf hashes of group g kept in anchors (the last entry for it), or NULL. */
static const uint8_t *anchor_group(const struct verify *v, uint64_t g)
{
    const uint8_t *found = NULL;
    for (size_t off = 64; v->anchors && off + ANCHOR_ENTRY <= v->anchors_len; off += ANCHOR_ENTRY) {
        const uint8_t *e = v->anchors + off;
        if (get_u64(e) == g && get_u32(e + 8 + 256 * 32) == crc32c(0, e, 8 + 256 * 32))
            found = e + 8;
    }
    return found;
}

/*
 * The tree hash of leaves [begin, end) from tree.roots and anchors alone (for
 * what a purge removed): 1 and out, 0 when they do not hold it, or < 0.
 */
int verify_side_mth(const struct verify *v, uint64_t begin, uint64_t end,
                    uint8_t out[TRAIL_HASH_LEN])
{
    uint64_t n = end - begin;
    if (n == 256 && begin % 256 == 0 && begin / 256 < v->n_roots &&
        !verify_is_zero(v->roots[begin / 256], TRAIL_HASH_LEN)) {
        memcpy(out, v->roots[begin / 256], TRAIL_HASH_LEN);
        return 1;
    }
    if (n <= 256 && begin / 256 == (end - 1) / 256) {
        const uint8_t *leaves = anchor_group(v, begin / 256);
        if (!leaves)
            return 0;
        const uint8_t(*l)[TRAIL_HASH_LEN] = (const uint8_t(*)[TRAIL_HASH_LEN])leaves;
        for (uint64_t i = begin % 256; i < begin % 256 + n; i++)
            if (verify_is_zero(l[i], TRAIL_HASH_LEN))
                return 0; /* not kept */
        int r = hash_tree(l + begin % 256, n, out);
        return r < 0 ? r : 1;
    }
    uint64_t k = 1;
    while (k * 2 < n)
        k *= 2;
    uint8_t a[TRAIL_HASH_LEN], b[TRAIL_HASH_LEN];
    int r = verify_side_mth(v, begin, begin + k, a);
    if (r == 1)
        r = verify_side_mth(v, begin + k, end, b);
    if (r == 1)
        r = trail_hash_node(a, b, out) < 0 ? -ENOMEM : 1;
    return r;
}

/*
 * Check a frontier (a purge point's) against tree.roots and anchors: 1 all
 * nodes agree, 0 one differs (*ret_k names it), 2 some could not be
 * compared, < 0 error.
 */
int verify_frontier_vs_side(const struct verify *v, const struct trail_frontier *f, int *ret_k)
{
    uint64_t start = 0;
    int unknown = 0;
    for (int k = 63; k >= 0; k--) {
        if (!((f->size >> k) & 1))
            continue;
        uint64_t n = (uint64_t)1 << k;
        uint8_t h[TRAIL_HASH_LEN];
        int r = verify_side_mth(v, start, start + n, h);
        if (r < 0)
            return r;
        if (r == 0)
            unknown = 1;
        else if (memcmp(h, f->nodes[k], TRAIL_HASH_LEN) != 0) {
            *ret_k = k;
            return 0;
        }
        start += n;
    }
    return unknown ? 2 : 1;
}
