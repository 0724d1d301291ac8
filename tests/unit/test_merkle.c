/*
 * test_merkle.c - leaf, node and chain hashing and the Merkle frontier
 * (lib/integrity/merkle.c) against an independent reference.
 *
 * The reference is written here and shares nothing with merkle.c: SHA-256
 * through OpenSSL's one-shot EVP_Digest() and the recursive tree hash of
 * RFC 9162 section 2.1.1, MTH(D[n]) = node(MTH(D[0:k]), MTH(D[k:n])) with k
 * the largest power of two smaller than n. Leaf i's data is the text
 * "record-<i>" (no NUL).
 *
 * The fixed literals were computed outside trail:
 *   printf '\x00record-0' | openssl dgst -sha256
 *     -> 45c7bdcd45db42b418f7c42663fbeb464c9f0a88980cbc31fdddd29d24f724ee
 *   and for the roots and the chain, with Python's hashlib:
 *     leaf = lambda d: sha256(b'\x00' + d).digest()
 *     node = lambda l, r: sha256(b'\x01' + l + r).digest()
 *     mth(L): sha256(b'') if not L; L[0] if len 1; else k = largest power
 *             of 2 < len(L); node(mth(L[:k]), mth(L[k:]))
 *     chain: c = bytes(32); c = sha256(c + leaf_i) for each leaf in order
 * Not for: proofs (test_proof.c), checkpoints (test_checkpoint.c).
 */
#include "harness.h"
#include "integrity/merkle.h"

#include <errno.h>
#include <pthread.h>

#include <openssl/evp.h>

#define N_MAX 70

static void ref_sha256(const void *data, size_t len, uint8_t out[32])
{
    unsigned int n = 0;
    EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

static void ref_leaf(unsigned i, uint8_t out[32])
{
    char buf[64];
    buf[0] = 0x00;
    int n = snprintf(buf + 1, sizeof(buf) - 1, "record-%u", i);
    ref_sha256(buf, (size_t)n + 1, out);
}

static void ref_node(const uint8_t l[32], const uint8_t r[32], uint8_t out[32])
{
    uint8_t buf[65];
    buf[0] = 0x01;
    memcpy(buf + 1, l, 32);
    memcpy(buf + 33, r, 32);
    ref_sha256(buf, sizeof(buf), out);
}

static void ref_mth(uint8_t leaves[][32], unsigned n, uint8_t out[32])
{
    if (n == 0) {
        ref_sha256("", 0, out);
        return;
    }
    if (n == 1) {
        memcpy(out, leaves[0], 32);
        return;
    }
    unsigned k = 1;
    while (k * 2 < n)
        k *= 2;
    uint8_t l[32], r[32];
    ref_mth(leaves, k, l);
    ref_mth(leaves + k, n - k, r);
    ref_node(l, r, out);
}

static void unhex(const char *hex, uint8_t out[32])
{
    for (int i = 0; i < 32; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

static void leaf_data(unsigned i, char *buf, size_t size, size_t *len)
{
    *len = (size_t)snprintf(buf, size, "record-%u", i);
}

TEST(empty_tree)
{
    struct trail_frontier f;
    uint8_t root[32], want[32], e[32];
    frontier_init(&f);
    ASSERT_OK(frontier_root(&f, root));
    unhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", want);
    ASSERT_MEMEQ(root, want, 32);
    trail_hash_empty(e);
    ASSERT_MEMEQ(e, want, 32);
    ASSERT_OK(hash_sha256("", 0, e));
    ASSERT_MEMEQ(e, want, 32);
}

TEST(leaf_literal)
{
    uint8_t got[32], want[32];
    ASSERT_OK(trail_hash_leaf("record-0", 8, got));
    unhex("45c7bdcd45db42b418f7c42663fbeb464c9f0a88980cbc31fdddd29d24f724ee", want);
    ASSERT_MEMEQ(got, want, 32);
    /* two pieces hash as their concatenation */
    ASSERT_OK(hash_leaf2("reco", 4, "rd-0", 4, got));
    ASSERT_MEMEQ(got, want, 32);
    ASSERT_OK(hash_leaf2("", 0, "record-0", 8, got));
    ASSERT_MEMEQ(got, want, 32);
}

TEST(node_and_leaf_match_reference)
{
    uint8_t a[32], b[32], got[32], want[32];
    char buf[32];
    size_t len;
    for (unsigned i = 0; i < N_MAX; i++) {
        leaf_data(i, buf, sizeof(buf), &len);
        ASSERT_OK(trail_hash_leaf(buf, len, got));
        ref_leaf(i, want);
        ASSERT_MEMEQ(got, want, 32);
    }
    ref_leaf(1, a);
    ref_leaf(2, b);
    ASSERT_OK(trail_hash_node(a, b, got));
    ref_node(a, b, want);
    ASSERT_MEMEQ(got, want, 32);
    /* out may alias either input */
    ASSERT_OK(trail_hash_node(a, b, a));
    ASSERT_MEMEQ(a, want, 32);
    ref_leaf(1, a);
    ASSERT_OK(trail_hash_node(a, b, b));
    ASSERT_MEMEQ(b, want, 32);
}

TEST(frontier_roots_0_to_70)
{
    static uint8_t leaves[N_MAX][32];
    struct trail_frontier f;
    uint8_t got[32], want[32];
    for (unsigned i = 0; i < N_MAX; i++)
        ref_leaf(i, leaves[i]);
    frontier_init(&f);
    for (unsigned n = 0; n <= N_MAX; n++) {
        ASSERT_EQ(f.size, n);
        ASSERT_OK(frontier_root(&f, got));
        ref_mth(leaves, n, want);
        if (memcmp(got, want, 32) != 0)
            FAIL_AT("root of %u leaves differs from the reference", n);
        if (n < N_MAX)
            ASSERT_OK(frontier_append(&f, leaves[n]));
    }
}

TEST(frontier_nodes_are_subtree_roots)
{
    /* nodes[k] for each set bit k is the MTH of the 2^k leaves it covers */
    static uint8_t leaves[N_MAX][32];
    struct trail_frontier f;
    uint8_t want[32];
    for (unsigned i = 0; i < N_MAX; i++)
        ref_leaf(i, leaves[i]);
    frontier_init(&f);
    for (unsigned n = 1; n <= N_MAX; n++) {
        ASSERT_OK(frontier_append(&f, leaves[n - 1]));
        unsigned begin = 0;
        for (int k = 31; k >= 0; k--) {
            if (!(n & (1u << k)))
                continue;
            ref_mth(leaves + begin, 1u << k, want);
            if (memcmp(f.nodes[k], want, 32) != 0)
                FAIL_AT("size %u: nodes[%d] is not the root of leaves [%u, %u)", n, k, begin,
                        begin + (1u << k));
            begin += 1u << k;
        }
    }
}

TEST(fixed_roots)
{
    static const struct {
        unsigned n;
        const char *hex;
    } want[] = {
        {1, "45c7bdcd45db42b418f7c42663fbeb464c9f0a88980cbc31fdddd29d24f724ee"},
        {2, "d075b56a4adef62530a52839802802da518a21b5d0bf35eb05fea2b295a855fa"},
        {3, "d6a93c4b91bf4b5be4fae77b5be1439df69e7c7c38007eb704c299cd0e1057b1"},
        {7, "ac49bffc2e4b5dc0e6a0fc76b80860d2c23955b84d453db541134372e2c5a91f"},
        {70, "fbd7da50d531cd0ff27a7b9c0f705d2f4a3f099242f5fb8f2d6be4724fd2ca96"},
    };
    struct trail_frontier f;
    uint8_t leaf[32], root[32], w[32];
    char buf[32];
    size_t len, next = 0;
    unsigned i = 0;
    frontier_init(&f);
    for (size_t j = 0; j < sizeof(want) / sizeof(want[0]); j++) {
        while (i < want[j].n) {
            leaf_data(i++, buf, sizeof(buf), &len);
            ASSERT_OK(trail_hash_leaf(buf, len, leaf));
            ASSERT_OK(frontier_append(&f, leaf));
        }
        ASSERT_OK(frontier_root(&f, root));
        unhex(want[j].hex, w);
        if (memcmp(root, w, 32) != 0)
            FAIL_AT("root of %u leaves is not %s", want[j].n, want[j].hex);
        next++;
    }
    ASSERT_EQ(next, 5);
}

TEST(chain_literal)
{
    uint8_t chain[32] = {0}, leaf[32], want[32];
    char buf[32];
    size_t len;
    for (unsigned i = 0; i < 3; i++) {
        leaf_data(i, buf, sizeof(buf), &len);
        ASSERT_OK(trail_hash_leaf(buf, len, leaf));
        ASSERT_OK(hash_chain(chain, leaf, chain)); /* out aliases prev */
    }
    unhex("2cefc5ff3700cdb55c0665a08eae6089eba210138564516602c9f4b307e656c5", want);
    ASSERT_MEMEQ(chain, want, 32);
}

TEST(frontier_full_is_refused)
{
    struct trail_frontier f;
    uint8_t leaf[32] = {0};
    frontier_init(&f);
    f.size = UINT64_MAX;
    ASSERT_EQ(frontier_append(&f, leaf), -EOVERFLOW);
    ASSERT_EQ(f.size, UINT64_MAX);
}

/* Several threads hash at once; each must get the reference result. */
static void *thread_hash(void *arg)
{
    int *bad = arg;
    for (int round = 0; round < 50; round++) {
        struct trail_frontier f;
        uint8_t got[32], want[32];
        char buf[32];
        size_t len;
        frontier_init(&f);
        for (unsigned i = 0; i < N_MAX; i++) {
            leaf_data(i, buf, sizeof(buf), &len);
            uint8_t leaf[32];
            if (trail_hash_leaf(buf, len, leaf) != 0 || frontier_append(&f, leaf) != 0)
                (*bad)++;
        }
        frontier_root(&f, got);
        unhex("fbd7da50d531cd0ff27a7b9c0f705d2f4a3f099242f5fb8f2d6be4724fd2ca96", want);
        if (memcmp(got, want, 32) != 0)
            (*bad)++;
    }
    return NULL;
}

TEST(threads)
{
    pthread_t t[4];
    int bad[4] = {0};
    for (int i = 0; i < 4; i++)
        ASSERT_OK(pthread_create(&t[i], NULL, thread_hash, &bad[i]));
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 4; i++)
        ASSERT_EQ(bad[i], 0);
}

TEST_MAIN(empty_tree, leaf_literal, node_and_leaf_match_reference, frontier_roots_0_to_70,
          frontier_nodes_are_subtree_roots, fixed_roots, chain_literal, frontier_full_is_refused,
          threads)
