/*
 * store_tree.c - the store's side of the Merkle tree: DIR/tree.roots (the
 * root of every complete aligned group of 256 leaves), DIR/anchors (leaf
 * hashes kept for purged groups), and subtree hashes for proofs.
 *
 * Not for: proofs, checkpoints, verification (the integrity layer); the
 * per-record hashing at append (store.c).
 *
 * DIR/tree.roots:
 *   0 8 magic "TRAILTRE"  8 2 version (1)  10 2 zero  12 4 header length (64)
 *   16 16 store id  32 28 zero  60 4 CRC-32C of bytes 0..59
 *   64 + 32 g  the RFC 9162 root of leaves [256 g, 256 g + 256), g = 0, 1, ...
 * Append-only, never purged (0.125 bytes per record). Written after the
 * records it covers are durable, synced at close; rebuilt from the records
 * at open when it is shorter than the records say (an all-zero entry marks
 * a group whose records were purged before it could be rebuilt).
 *
 * DIR/anchors (written by the purge, store_purge.c):
 *   0 8 magic "TRAILANC"  8 2 version (1)  10 2 zero  12 4 header length (64)
 *   16 16 store id  32 28 zero  60 4 CRC-32C of bytes 0..59
 *   then entries of 8204 bytes: 8 group index | 256 x 32 leaf hashes |
 *   4 CRC-32C of the 8200 bytes before
 * An entry holds the leaves of its group that purges removed; leaves not
 * (yet) purged are zero. A later purge that removes more of the group
 * appends a fuller entry: the last entry of a group is the one in force.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define ROOTS_HEADER 64
#define ANCHOR_ENTRY (8 + 256 * 32 + 4)

static void side_header(uint8_t h[64], const char *magic, const uint8_t store_id[16])
{
    memset(h, 0, 64);
    memcpy(h, magic, 8);
    put_u16(h + 8, 1);
    put_u32(h + 12, 64);
    memcpy(h + 16, store_id, 16);
    put_u32(h + 60, crc32c(0, h, 60));
}

static int side_header_ok(const uint8_t h[64], const char *magic, const uint8_t store_id[16])
{
    return memcmp(h, magic, 8) == 0 && get_u16(h + 8) == 1 && get_u32(h + 12) == 64 &&
           memcmp(h + 16, store_id, 16) == 0 && get_u32(h + 60) == crc32c(0, h, 60);
}

/*
 * The leaf hashes of a purged group from DIR/anchors (its last entry; leaves
 * not kept are zero); TRAIL_E_NOT_FOUND if the group has no entry.
 */
static int anchors_group(struct trail_store *s, uint64_t group, uint8_t (*out)[TRAIL_HASH_LEN])
{
    int fd = openat(s->dir_fd, "anchors", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? TRAIL_E_NOT_FOUND : -errno;
    uint8_t *e = malloc(ANCHOR_ENTRY);
    uint8_t h[64];
    int r = TRAIL_E_NOT_FOUND;
    if (!e) {
        r = -ENOMEM;
        goto out;
    }
    if (pread(fd, h, 64, 0) != 64 || !side_header_ok(h, "TRAILANC", s->store_id)) {
        r = TRAIL_E_CORRUPT;
        goto out;
    }
    for (uint64_t off = 64;; off += ANCHOR_ENTRY) {
        ssize_t n = pread(fd, e, ANCHOR_ENTRY, (off_t)off);
        if (n != ANCHOR_ENTRY)
            break;
        if (get_u64(e) != group)
            continue;
        if (get_u32(e + 8 + 256 * 32) != crc32c(0, e, 8 + 256 * 32)) {
            r = TRAIL_E_CORRUPT;
            break;
        }
        memcpy(out, e + 8, 256 * 32);
        r = 0; /* and on: a later entry of the group supersedes this one */
    }
out:
    free(e);
    close(fd);
    return r;
}

int store_leaf_range(struct trail_store *s, uint64_t first_seq, uint64_t n,
                     uint8_t (*out)[TRAIL_HASH_LEN])
{
    uint64_t stored = trail_store_first_seq(s);
    uint64_t i = 0;
    int r = 0;
    /* leaves of purged records: from anchors, a group at a time */
    while (i < n && first_seq + i < stored) {
        uint64_t leaf = first_seq + i - 1;
        uint64_t group = leaf / 256;
        uint8_t(*g)[TRAIL_HASH_LEN] = malloc(256 * TRAIL_HASH_LEN);
        if (!g)
            return -ENOMEM;
        static const uint8_t zero[TRAIL_HASH_LEN];
        r = anchors_group(s, group, g);
        while (r == 0 && i < n && first_seq + i < stored && (first_seq + i - 1) / 256 == group) {
            if (memcmp(g[(first_seq + i - 1) % 256], zero, TRAIL_HASH_LEN) == 0)
                r = TRAIL_E_NOT_FOUND; /* purged without being kept */
            else
                memcpy(out[i], g[(first_seq + i - 1) % 256], TRAIL_HASH_LEN);
            i++;
        }
        free(g);
        if (r < 0)
            return r;
    }
    if (i == n)
        return 0;
    struct trail_store_iter *it;
    r = trail_store_iter_new(s, TRAIL_ITER_FORWARD, &it);
    if (r < 0)
        return r;
    trail_store_iter_seek_seq(it, first_seq + i);
    while (i < n) {
        const uint8_t *rec;
        size_t len;
        uint64_t seq;
        r = trail_store_iter_next_raw(it, &rec, &len, &seq);
        if (r == 0 || (r == 1 && seq != first_seq + i))
            r = TRAIL_E_NOT_FOUND;
        if (r < 0)
            break;
        r = trail_hash_leaf(rec, len, out[i]);
        if (r < 0)
            break;
        i++;
    }
    trail_store_iter_free(it);
    return r < 0 ? r : 0;
}

int store_roots_read(struct trail_store *s, uint64_t group, uint8_t out[TRAIL_HASH_LEN])
{
    static const uint8_t zero[TRAIL_HASH_LEN];
    if (s->roots_fd < 0 || group >= __atomic_load_n(&s->roots_written, __ATOMIC_ACQUIRE))
        return TRAIL_E_NOT_FOUND;
    if (pread(s->roots_fd, out, TRAIL_HASH_LEN, (off_t)(ROOTS_HEADER + group * TRAIL_HASH_LEN)) !=
        TRAIL_HASH_LEN)
        return TRAIL_E_NOT_FOUND;
    return memcmp(out, zero, TRAIL_HASH_LEN) == 0 ? TRAIL_E_NOT_FOUND : 0;
}

int store_roots_write(struct trail_store *s, const uint8_t (*roots)[TRAIL_HASH_LEN], size_t n,
                      uint64_t first_group)
{
    if (s->roots_fd < 0 || first_group != s->roots_written)
        return -EINVAL;
    int r = store_fault(s, TRAIL_STORE_OP_WRITE, s->roots_fd);
    if (r < 0)
        return r;
    size_t len = n * TRAIL_HASH_LEN;
    ssize_t w = pwrite(s->roots_fd, roots, len, (off_t)(ROOTS_HEADER + first_group * 32));
    if (w != (ssize_t)len)
        return w < 0 ? -errno : -ENOSPC;
    __atomic_store_n(&s->roots_written, first_group + n, __ATOMIC_RELEASE);
    return 0;
}

int store_roots_open(struct trail_store *s, struct trail_store_report *rep)
{
    uint64_t want = (s->live.next_seq - 1) / 256;
    uint8_t h[64];
    struct stat st;
    int r;
    if (s->read_only) {
        s->roots_fd = openat(s->dir_fd, "tree.roots", O_RDONLY | O_CLOEXEC);
        if (s->roots_fd < 0)
            return 0;
        if (fstat(s->roots_fd, &st) < 0 || pread(s->roots_fd, h, 64, 0) != 64 ||
            !side_header_ok(h, "TRAILTRE", s->store_id)) {
            close(s->roots_fd);
            s->roots_fd = -1;
            return 0;
        }
        uint64_t have = ((uint64_t)st.st_size - ROOTS_HEADER) / TRAIL_HASH_LEN;
        s->roots_written = have < want ? have : want;
        return 0;
    }
    s->roots_fd = openat(s->dir_fd, "tree.roots", O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (s->roots_fd < 0)
        return -errno;
    if (fstat(s->roots_fd, &st) < 0)
        return -errno;
    if (st.st_size < ROOTS_HEADER || pread(s->roots_fd, h, 64, 0) != 64 ||
        !side_header_ok(h, "TRAILTRE", s->store_id)) {
        if (st.st_size > 0 || want > 0)
            store_report(rep, "tree.roots: %s, rebuilt from the records",
                         st.st_size == 0 ? "missing" : "damaged");
        side_header(h, "TRAILTRE", s->store_id);
        if (ftruncate(s->roots_fd, 0) < 0 || pwrite(s->roots_fd, h, 64, 0) != 64)
            return -errno;
        st.st_size = ROOTS_HEADER;
    }
    uint64_t have = ((uint64_t)st.st_size - ROOTS_HEADER) / TRAIL_HASH_LEN;
    if (have > want || (uint64_t)st.st_size != ROOTS_HEADER + have * TRAIL_HASH_LEN) {
        if (have > want)
            have = want;
        if (ftruncate(s->roots_fd, (off_t)(ROOTS_HEADER + have * TRAIL_HASH_LEN)) < 0)
            return -errno;
    }
    s->roots_written = s->roots_synced = have;
    if (have == want)
        return 0;
    if (have > 0 || want > 0)
        store_report(rep, "tree.roots: %" PRIu64 " of %" PRIu64 " group roots, rebuilding", have,
                     want);
    uint8_t(*leaves)[TRAIL_HASH_LEN] = malloc(256 * TRAIL_HASH_LEN);
    if (!leaves)
        return -ENOMEM;
    r = 0;
    for (uint64_t g = have; g < want; g++) {
        uint8_t root[TRAIL_HASH_LEN] = {0};
        r = store_leaf_range(s, g * 256 + 1, 256, leaves);
        if (r == TRAIL_E_NOT_FOUND) {
            store_report(rep, "tree.roots: group %" PRIu64 " purged before it could be rebuilt", g);
        } else if (r < 0) {
            break;
        } else if ((r = hash_tree((const uint8_t(*)[TRAIL_HASH_LEN])leaves, 256, root)) < 0) {
            break;
        }
        r = 0;
        if (pwrite(s->roots_fd, root, TRAIL_HASH_LEN, (off_t)(ROOTS_HEADER + g * 32)) != 32) {
            r = -errno;
            break;
        }
        s->roots_written = g + 1;
        if (rep)
            rep->roots_rebuilt++;
    }
    free(leaves);
    if (r == 0 && fsync(s->roots_fd) < 0)
        r = -errno;
    s->roots_synced = s->roots_written;
    return r;
}

/* MTH over [begin, end) using group roots where the range covers aligned groups. */
static int mth(struct trail_store *s, uint64_t begin, uint64_t end, uint8_t out[TRAIL_HASH_LEN])
{
    uint64_t n = end - begin;
    if (n == 256 && begin % 256 == 0 && store_roots_read(s, begin / 256, out) == 0)
        return 0;
    if (n <= 256) {
        uint8_t(*leaves)[TRAIL_HASH_LEN] = malloc(n * TRAIL_HASH_LEN);
        if (!leaves)
            return -ENOMEM;
        int r = store_leaf_range(s, begin + 1, n, leaves);
        if (r == 0)
            r = hash_tree((const uint8_t(*)[TRAIL_HASH_LEN])leaves, n, out);
        free(leaves);
        return r;
    }
    uint64_t k = 1;
    while (k * 2 < n)
        k *= 2;
    uint8_t l[TRAIL_HASH_LEN], r_[TRAIL_HASH_LEN];
    int r = mth(s, begin, begin + k, l);
    if (r == 0)
        r = mth(s, begin + k, end, r_);
    if (r == 0)
        r = trail_hash_node(l, r_, out);
    return r;
}

int trail_store_subtree_hash(void *store, uint64_t begin, uint64_t end, uint8_t out[TRAIL_HASH_LEN])
{
    struct trail_store *s = store;
    if (begin >= end || end > trail_store_durable_seq(s))
        return -EINVAL;
    return mth(s, begin, end, out);
}

int trail_store_leaf_hash(struct trail_store *s, uint64_t seq, uint8_t out[TRAIL_HASH_LEN])
{
    if (seq == 0 || seq > trail_store_durable_seq(s))
        return -EINVAL;
    uint8_t leaf[1][TRAIL_HASH_LEN];
    int r = store_leaf_range(s, seq, 1, leaf);
    if (r == 0)
        memcpy(out, leaf[0], TRAIL_HASH_LEN);
    return r;
}

int store_anchors_add(struct trail_store *s, uint64_t group, uint64_t upto)
{
    static const uint8_t zero[TRAIL_HASH_LEN];
    uint8_t(*leaves)[TRAIL_HASH_LEN] = malloc(256 * TRAIL_HASH_LEN);
    uint8_t *e = malloc(ANCHOR_ENTRY);
    int fd = -1, r;
    if (!leaves || !e) {
        r = -ENOMEM;
        goto out;
    }
    /* the leaves the purge removes: the group may go on past the purge point, and past
       the records written so far */
    uint64_t n = upto > group * 256 ? upto - group * 256 : 0;
    if (n > 256)
        n = 256;
    r = anchors_group(s, group, leaves);
    if (r == 0 && (n == 0 || memcmp(leaves[n - 1], zero, TRAIL_HASH_LEN) != 0))
        goto out; /* already kept */
    if (r < 0 && r != TRAIL_E_NOT_FOUND)
        goto out;
    memset(leaves, 0, 256 * TRAIL_HASH_LEN);
    r = store_leaf_range(s, group * 256 + 1, n, leaves);
    if (r < 0)
        goto out;
    fd = openat(s->dir_fd, "anchors", O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        r = -errno;
        goto out;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        r = -errno;
        goto out;
    }
    uint64_t end = (uint64_t)st.st_size;
    if (end < 64) {
        uint8_t h[64];
        side_header(h, "TRAILANC", s->store_id);
        if (pwrite(fd, h, 64, 0) != 64) {
            r = -errno;
            goto out;
        }
        end = 64;
    } else {
        end = 64 + (end - 64) / ANCHOR_ENTRY * ANCHOR_ENTRY; /* drop a torn entry */
    }
    put_u64(e, group);
    memcpy(e + 8, leaves, 256 * 32);
    put_u32(e + 8 + 256 * 32, crc32c(0, e, 8 + 256 * 32));
    if (pwrite(fd, e, ANCHOR_ENTRY, (off_t)end) != ANCHOR_ENTRY || fsync(fd) < 0) {
        r = errno ? -errno : -EIO;
        goto out;
    }
    r = 0;
out:
    if (fd >= 0)
        close(fd);
    free(leaves);
    free(e);
    return r;
}
