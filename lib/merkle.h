/*
 * merkle.h - the hashing under trail's integrity layer (internal).
 *
 * RFC 9162 (Certificate Transparency v2) hashing over the canonical bytes of
 * each stored record, in sequence order:
 *
 *     leaf(r)    = SHA-256(0x00 || r)
 *     node(l, r) = SHA-256(0x01 || l || r)
 *     MTH        = the RFC 9162 section 2.1.1 tree hash over all leaves
 *     chain(0)   = 32 zero bytes
 *     chain(n)   = SHA-256(chain(n-1) || leaf(record n))
 *
 * The frontier (a "compact range" from 0) holds, for each set bit k of the
 * tree size, the root of the complete subtree of 2^k leaves it stands for:
 * enough to append a leaf and to compute the root of the whole tree in
 * O(log n) without keeping the leaves.
 */
#ifndef TRAIL_MERKLE_H
#define TRAIL_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define TRAIL_HASH_LEN     32
#define TRAIL_FRONTIER_MAX 64

/* trail_hash_leaf - SHA-256(0x00 || data). */
void trail_hash_leaf(const void *data, size_t len, uint8_t out[TRAIL_HASH_LEN]);

/* trail_hash_node - SHA-256(0x01 || left || right). */
void trail_hash_node(const uint8_t left[TRAIL_HASH_LEN], const uint8_t right[TRAIL_HASH_LEN],
                     uint8_t out[TRAIL_HASH_LEN]);

/* trail_hash_chain - SHA-256(prev || leaf) into out (out may alias prev). */
void trail_hash_chain(const uint8_t prev[TRAIL_HASH_LEN], const uint8_t leaf[TRAIL_HASH_LEN],
                      uint8_t out[TRAIL_HASH_LEN]);

struct trail_frontier {
    uint64_t size; /* leaves appended */
    uint8_t nodes[TRAIL_FRONTIER_MAX]
                 [TRAIL_HASH_LEN]; /* nodes[k] valid when bit k of size is set */
};

/* trail_frontier_init - the empty tree. */
void trail_frontier_init(struct trail_frontier *f);

/* trail_frontier_append - add one leaf hash. */
void trail_frontier_append(struct trail_frontier *f, const uint8_t leaf[TRAIL_HASH_LEN]);

/*
 * trail_frontier_root - the RFC 9162 tree hash of the leaves so far; the
 * empty tree's root is SHA-256 of the empty string.
 */
void trail_frontier_root(const struct trail_frontier *f, uint8_t out[TRAIL_HASH_LEN]);

#endif /* TRAIL_MERKLE_H */
