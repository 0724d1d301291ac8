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
 * O(log n) without keeping the leaves. nodes[k] for the highest set bit
 * covers the leftmost leaves; nodes[0] (when size is odd) is the last leaf.
 *
 * Not here: which bytes of a record are hashed (the store's canonical record
 * form, docs/format.md), proofs and checkpoints (trail.h, "Integrity").
 *
 * Errors: the hash calls return 0, or -ENOMEM when OpenSSL cannot allocate
 * the calling thread's context (only possible on a thread's first hash) or
 * fails otherwise; out is then untouched. Callers that ignore the result
 * still compile, but the store should check it: a failed hash must not be
 * taken for a value.
 *
 * Thread safety: every call may be made from any thread at any time; each
 * thread hashes with its own OpenSSL context (created on first use, freed at
 * thread exit). A struct trail_frontier belongs to one thread at a time.
 * Outputs may alias inputs.
 */
#ifndef TRAIL_MERKLE_H
#define TRAIL_MERKLE_H

#include "trail.h" /* TRAIL_HASH_LEN and the public hashing calls */

#include <stddef.h>
#include <stdint.h>

#define TRAIL_FRONTIER_MAX 64

/* hash_sha256 - plain SHA-256(data) into out (no domain prefix). */
int hash_sha256(const void *data, size_t len, uint8_t out[TRAIL_HASH_LEN]);

/*
 * hash_leaf2 - SHA-256(0x00 || a || b): the leaf hash of a record whose
 * canonical bytes are held in two pieces (a header and a payload, say),
 * without copying them together. Equal to trail_hash_leaf of the concatenation.
 */
int hash_leaf2(const void *a, size_t a_len, const void *b, size_t b_len,
               uint8_t out[TRAIL_HASH_LEN]);

/* hash_chain - SHA-256(prev || leaf) into out (out may alias prev). */
int hash_chain(const uint8_t prev[TRAIL_HASH_LEN], const uint8_t leaf[TRAIL_HASH_LEN],
               uint8_t out[TRAIL_HASH_LEN]);

/*
 * hash_tree - the RFC 9162 tree hash (MTH) of n >= 1 leaf hashes held
 * in memory. 0 or the hash's error.
 */
int hash_tree(const uint8_t (*leaves)[TRAIL_HASH_LEN], uint64_t n, uint8_t out[TRAIL_HASH_LEN]);

struct trail_frontier {
    uint64_t size; /* leaves appended */
    uint8_t nodes[TRAIL_FRONTIER_MAX]
                 [TRAIL_HASH_LEN]; /* nodes[k] valid when bit k of size is set */
};

/* frontier_init - the empty tree. */
void frontier_init(struct trail_frontier *f);

/*
 * frontier_append - add one leaf hash: at most log2(size) node hashes.
 * Returns 0, -EOVERFLOW at 2^64 - 1 leaves, or -ENOMEM; f is unchanged on
 * failure.
 */
int frontier_append(struct trail_frontier *f, const uint8_t leaf[TRAIL_HASH_LEN]);

/*
 * frontier_root - the RFC 9162 tree hash of the leaves so far; the
 * empty tree's root is SHA-256 of the empty string. 0 or -ENOMEM.
 */
int frontier_root(const struct trail_frontier *f, uint8_t out[TRAIL_HASH_LEN]);

/*
 * integrity_parse_u64 - read text[0..len) as a decimal without sign, without
 * leading zeros (but "0") and at most UINT64_MAX: the one form the integrity
 * text formats accept. Returns 0, or TRAIL_E_PARSE with *ret untouched.
 * (In proof.c.)
 */
int integrity_parse_u64(const char *text, size_t len, uint64_t *ret);

#endif /* TRAIL_MERKLE_H */
