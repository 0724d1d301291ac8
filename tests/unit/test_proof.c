/*
 * test_proof.c - RFC 9162 inclusion and consistency proofs (lib/integrity/proof.c):
 * generation, verification, tampering, and the text form.
 *
 * The proofs are generated through a source that computes every subtree with
 * a naive recursive tree hash written here (SHA-256 via EVP_Digest, nothing
 * from merkle.c) and that checks the generator only asks for complete
 * aligned subtrees inside the tree, as trail.h promises the store. Roots to
 * verify against come from the same independent reference. Leaf i's data is
 * the text "record-<i>".
 *
 * Not for: the hashing primitives (test_merkle.c), checkpoints
 * (test_checkpoint.c).
 */
#include "harness.h"
#include "integrity/merkle.h"
#include "trail.h"

#include <errno.h>

#include <openssl/evp.h>

#define N_MAX 70

static uint8_t leaves[N_MAX][32];

static void ref_sha256(const void *data, size_t len, uint8_t out[32])
{
    unsigned int n = 0;
    EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

static void ref_node(const uint8_t l[32], const uint8_t r[32], uint8_t out[32])
{
    uint8_t buf[65];
    buf[0] = 0x01;
    memcpy(buf + 1, l, 32);
    memcpy(buf + 33, r, 32);
    ref_sha256(buf, sizeof(buf), out);
}

/* MTH(D[begin:end]) by the RFC's recursion. */
static void ref_mth(uint64_t begin, uint64_t end, uint8_t out[32])
{
    uint64_t n = end - begin;
    if (n == 0) {
        ref_sha256("", 0, out);
        return;
    }
    if (n == 1) {
        memcpy(out, leaves[begin], 32);
        return;
    }
    uint64_t k = 1;
    while (k * 2 < n)
        k *= 2;
    uint8_t l[32], r[32];
    ref_mth(begin, begin + k, l);
    ref_mth(begin + k, end, r);
    ref_node(l, r, out);
}

static void setup_leaves(void)
{
    for (unsigned i = 0; i < N_MAX; i++) {
        char buf[32];
        buf[0] = 0x00;
        int n = snprintf(buf + 1, sizeof(buf) - 1, "record-%u", i);
        ref_sha256(buf, (size_t)n + 1, leaves[i]);
    }
}

/* The checking source: counts calls and ranges that break the contract. */
struct source {
    uint64_t tree_size;
    unsigned calls;
    unsigned bad_ranges;
    int fail_at_call; /* > 0: return -EIO on that call */
};

static int checking_subtree_hash(void *ctx, uint64_t begin, uint64_t end, uint8_t out[32])
{
    struct source *s = ctx;
    uint64_t n = end - begin;
    s->calls++;
    if (s->fail_at_call > 0 && (int)s->calls == s->fail_at_call)
        return -EIO;
    if (begin >= end || end > s->tree_size || (n & (n - 1)) != 0 || (begin & (n - 1)) != 0)
        s->bad_ranges++;
    ref_mth(begin, end, out);
    return 0;
}

/* ---- hand-computed trees: RFC 6962 section 2.1.3's example of 7 leaves ---- */

TEST(rfc_example_tree_of_seven)
{
    /*
     *            root
     *          /      \
     *         k        l
     *        / \      / \
     *       g   h    i   j
     *      / \ / \  / \  |
     *      a b c d  e f  d6
     */
    uint8_t g[32], h[32], i_[32], k[32], l[32];
    const uint8_t *a = leaves[0], *b = leaves[1], *c = leaves[2], *d = leaves[3], *e = leaves[4],
                  *f = leaves[5], *j = leaves[6];
    ref_node(a, b, g);
    ref_node(c, d, h);
    ref_node(e, f, i_);
    ref_node(g, h, k);
    ref_node(i_, j, l);

    struct source src = {.tree_size = 7};
    struct trail_proof p;
    const uint8_t *want_d0[] = {b, h, l}, *want_d3[] = {c, g, l}, *want_d4[] = {f, j, k},
                  *want_d6[] = {i_, k};
    struct {
        uint64_t index;
        const uint8_t **want;
        unsigned n;
    } inc[] = {{0, want_d0, 3}, {3, want_d3, 3}, {4, want_d4, 3}, {6, want_d6, 2}};
    for (size_t t = 0; t < sizeof(inc) / sizeof(inc[0]); t++) {
        ASSERT_OK(trail_proof_inclusion(inc[t].index, 7, checking_subtree_hash, &src, &p));
        ASSERT_EQ(p.n_path, inc[t].n);
        for (unsigned x = 0; x < inc[t].n; x++)
            ASSERT_MEMEQ(p.path[x], inc[t].want[x], 32);
    }

    /* PROOF(3, D[7]) = [c, d, g, l]; PROOF(4, D[7]) = [l]; PROOF(6, D[7]) = [i, j, k] */
    const uint8_t *want_c3[] = {c, d, g, l}, *want_c4[] = {l}, *want_c6[] = {i_, j, k};
    struct {
        uint64_t m;
        const uint8_t **want;
        unsigned n;
    } con[] = {{3, want_c3, 4}, {4, want_c4, 1}, {6, want_c6, 3}};
    for (size_t t = 0; t < sizeof(con) / sizeof(con[0]); t++) {
        ASSERT_OK(trail_proof_consistency(con[t].m, 7, checking_subtree_hash, &src, &p));
        ASSERT_EQ(p.n_path, con[t].n);
        for (unsigned x = 0; x < con[t].n; x++)
            ASSERT_MEMEQ(p.path[x], con[t].want[x], 32);
    }
    ASSERT_EQ(src.bad_ranges, 0);
}

/* ---- every inclusion proof of every tree of 1..70 leaves ---- */

static int same_path(const struct trail_proof *a, const struct trail_proof *b)
{
    return a->n_path == b->n_path && memcmp(a->path, b->path, (size_t)a->n_path * 32) == 0;
}

TEST(inclusion_all)
{
    unsigned checked = 0, tampered = 0, max_calls = 0, skipped = 0;
    for (uint64_t n = 1; n <= N_MAX; n++) {
        uint8_t root[32];
        ref_mth(0, n, root);
        for (uint64_t i = 0; i < n; i++) {
            struct source src = {.tree_size = n};
            struct trail_proof p, q;
            uint8_t computed[32], bad_root[32], bad_leaf[32];
            ASSERT_OK(trail_proof_inclusion(i, n, checking_subtree_hash, &src, &p));
            ASSERT_EQ(src.bad_ranges, 0);
            if (src.calls > max_calls)
                max_calls = src.calls;
            ASSERT_EQ(p.type, TRAIL_PROOF_INCLUSION);
            ASSERT_EQ(p.leaf_index, i);
            ASSERT_EQ(p.tree_size, n);
            ASSERT_MEMEQ(p.leaf_hash, leaves[i], 32);
            ASSERT_OK(trail_proof_verify_inclusion(&p, leaves[i], root));
            ASSERT_OK(trail_proof_inclusion_root(&p, leaves[i], computed));
            ASSERT_MEMEQ(computed, root, 32);
            /* the same proof from the in-memory reference source */
            struct trail_leaf_array arr = {leaves, n};
            ASSERT_OK(trail_proof_inclusion(i, n, trail_leaf_array_subtree_hash, &arr, &q));
            ASSERT_EQ(memcmp(&p, &q, sizeof(p)), 0);
            checked++;

            /* one byte of each path node */
            for (uint32_t x = 0; x < p.n_path; x++) {
                q = p;
                q.path[x][x % 32] ^= 0x01;
                if (trail_proof_verify_inclusion(&q, leaves[i], root) != TRAIL_E_INTEGRITY)
                    FAIL_AT("n=%" PRIu64 " i=%" PRIu64 ": changed path node %u verified", n, i, x);
                tampered++;
            }
            /* the root, the leaf */
            memcpy(bad_root, root, 32);
            bad_root[(i + n) % 32] ^= 0x80;
            ASSERT_EQ(trail_proof_verify_inclusion(&p, leaves[i], bad_root), TRAIL_E_INTEGRITY);
            memcpy(bad_leaf, leaves[i], 32);
            bad_leaf[i % 32] ^= 0x40;
            ASSERT_EQ(trail_proof_verify_inclusion(&p, bad_leaf, root), TRAIL_E_INTEGRITY);
            tampered += 2;
            /* the index and the size, each against the honest root of the size claimed */
            const int64_t deltas[] = {-1, 1};
            for (int which = 0; which < 2; which++) {
                for (int d = 0; d < 2; d++) {
                    struct trail_proof genuine;
                    uint8_t claimed_root[32];
                    q = p;
                    if (which == 0)
                        q.leaf_index = i + (uint64_t)deltas[d];
                    else
                        q.tree_size = n + (uint64_t)deltas[d];
                    if (q.leaf_index >= q.tree_size || q.tree_size > N_MAX ||
                        q.leaf_index == UINT64_MAX)
                        continue;
                    /* when the changed proof is the genuine proof, it is no forgery */
                    ASSERT_OK(trail_proof_inclusion(
                        q.leaf_index, q.tree_size, trail_leaf_array_subtree_hash,
                        &(struct trail_leaf_array){leaves, N_MAX}, &genuine));
                    if (same_path(&genuine, &q) && memcmp(genuine.leaf_hash, leaves[i], 32) == 0) {
                        skipped++;
                        continue;
                    }
                    ref_mth(0, q.tree_size, claimed_root);
                    if (trail_proof_verify_inclusion(&q, leaves[i], claimed_root) !=
                        TRAIL_E_INTEGRITY)
                        FAIL_AT("n=%" PRIu64 " i=%" PRIu64 ": %s %+d verified", n, i,
                                which ? "size" : "index", (int)deltas[d]);
                    tampered++;
                }
            }
        }
    }
    ASSERT_EQ(checked, N_MAX * (N_MAX + 1) / 2);
    ASSERT_EQ(skipped, 0);
    printf("     %u inclusion proofs, %u changed ones rejected, at most %u source calls\n", checked,
           tampered, max_calls);
}

/* ---- every consistency proof for 1 <= m <= n <= 70 ---- */

TEST(consistency_all)
{
    unsigned checked = 0, tampered = 0, skipped = 0, max_calls = 0;
    static uint8_t roots[N_MAX + 1][32];
    for (uint64_t n = 0; n <= N_MAX; n++)
        ref_mth(0, n, roots[n]);
    for (uint64_t n = 1; n <= N_MAX; n++) {
        for (uint64_t m = 1; m <= n; m++) {
            struct source src = {.tree_size = n};
            struct trail_proof p, q;
            uint8_t bad[32];
            ASSERT_OK(trail_proof_consistency(m, n, checking_subtree_hash, &src, &p));
            ASSERT_EQ(src.bad_ranges, 0);
            if (src.calls > max_calls)
                max_calls = src.calls;
            ASSERT_EQ(p.type, TRAIL_PROOF_CONSISTENCY);
            ASSERT_EQ(p.old_size, m);
            ASSERT_EQ(p.tree_size, n);
            if (m == n)
                ASSERT_EQ(p.n_path, 0);
            ASSERT_OK(trail_proof_verify_consistency(&p, roots[m], roots[n]));
            struct trail_leaf_array arr = {leaves, n};
            ASSERT_OK(trail_proof_consistency(m, n, trail_leaf_array_subtree_hash, &arr, &q));
            ASSERT_EQ(memcmp(&p, &q, sizeof(p)), 0);
            checked++;

            for (uint32_t x = 0; x < p.n_path; x++) {
                q = p;
                q.path[x][(x + 7) % 32] ^= 0x10;
                if (trail_proof_verify_consistency(&q, roots[m], roots[n]) != TRAIL_E_INTEGRITY)
                    FAIL_AT("m=%" PRIu64 " n=%" PRIu64 ": changed path node %u verified", m, n, x);
                tampered++;
            }
            memcpy(bad, roots[m], 32);
            bad[m % 32] ^= 0x02;
            ASSERT_EQ(trail_proof_verify_consistency(&p, bad, roots[n]), TRAIL_E_INTEGRITY);
            memcpy(bad, roots[n], 32);
            bad[n % 32] ^= 0x04;
            ASSERT_EQ(trail_proof_verify_consistency(&p, roots[m], bad), TRAIL_E_INTEGRITY);
            tampered += 2;
            /* a path one node shorter or longer */
            if (p.n_path > 0) {
                q = p;
                q.n_path--;
                ASSERT_EQ(trail_proof_verify_consistency(&q, roots[m], roots[n]),
                          TRAIL_E_INTEGRITY);
                tampered++;
            }
            q = p;
            memcpy(q.path[q.n_path], roots[n], 32);
            q.n_path++;
            ASSERT_EQ(trail_proof_verify_consistency(&q, roots[m], roots[n]), TRAIL_E_INTEGRITY);
            tampered++;
            /* either size changed, against the honest roots of the sizes claimed */
            const int64_t deltas[] = {-1, 1};
            for (int which = 0; which < 2; which++) {
                for (int d = 0; d < 2; d++) {
                    struct trail_proof genuine;
                    q = p;
                    if (which == 0)
                        q.old_size = m + (uint64_t)deltas[d];
                    else
                        q.tree_size = n + (uint64_t)deltas[d];
                    if (q.old_size < 1 || q.old_size > q.tree_size || q.tree_size > N_MAX) {
                        /* outside the valid range: must still be refused */
                        if (q.old_size > q.tree_size) {
                            ASSERT_EQ(trail_proof_verify_consistency(&q, roots[m], roots[n]),
                                      TRAIL_E_INTEGRITY);
                            tampered++;
                        }
                        continue;
                    }
                    ASSERT_OK(trail_proof_consistency(
                        q.old_size, q.tree_size, trail_leaf_array_subtree_hash,
                        &(struct trail_leaf_array){leaves, N_MAX}, &genuine));
                    if (same_path(&genuine, &q)) {
                        skipped++;
                        continue;
                    }
                    if (trail_proof_verify_consistency(&q, roots[q.old_size], roots[q.tree_size]) !=
                        TRAIL_E_INTEGRITY)
                        FAIL_AT("m=%" PRIu64 " n=%" PRIu64 ": %s %+d verified", m, n,
                                which ? "n" : "m", (int)deltas[d]);
                    tampered++;
                }
            }
        }
    }
    ASSERT_EQ(checked, N_MAX * (N_MAX + 1) / 2);
    ASSERT_EQ(skipped, 0);
    printf("     %u consistency proofs, %u changed ones rejected, at most %u source calls\n",
           checked, tampered, max_calls);
}

TEST(consistency_from_empty_tree)
{
    struct trail_proof p;
    uint8_t empty[32], root[32];
    struct trail_leaf_array arr = {leaves, 5};
    ref_sha256("", 0, empty);
    ref_mth(0, 5, root);
    ASSERT_OK(trail_proof_consistency(0, 5, trail_leaf_array_subtree_hash, &arr, &p));
    ASSERT_EQ(p.n_path, 0);
    ASSERT_OK(trail_proof_verify_consistency(&p, empty, root));
    ASSERT_EQ(trail_proof_verify_consistency(&p, root, root), TRAIL_E_INTEGRITY);
    ASSERT_OK(trail_proof_consistency(0, 0, trail_leaf_array_subtree_hash, &arr, &p));
    ASSERT_OK(trail_proof_verify_consistency(&p, empty, empty));
}

TEST(bad_arguments_and_source_errors)
{
    struct trail_proof p, before;
    struct source src = {.tree_size = 9};
    struct trail_leaf_array arr = {leaves, 9};
    uint8_t h[32];
    memset(&p, 0xab, sizeof(p));
    before = p;
    ASSERT_EQ(trail_proof_inclusion(9, 9, checking_subtree_hash, &src, &p), -EINVAL);
    ASSERT_EQ(trail_proof_inclusion(0, 0, checking_subtree_hash, &src, &p), -EINVAL);
    ASSERT_EQ(trail_proof_consistency(10, 9, checking_subtree_hash, &src, &p), -EINVAL);
    for (int call = 1; call <= 3; call++) {
        src.calls = 0;
        src.fail_at_call = call;
        ASSERT_EQ(trail_proof_inclusion(4, 9, checking_subtree_hash, &src, &p), -EIO);
        src.calls = 0;
        ASSERT_EQ(trail_proof_consistency(3, 9, checking_subtree_hash, &src, &p), -EIO);
    }
    ASSERT_EQ(memcmp(&p, &before, sizeof(p)), 0);
    ASSERT_EQ(trail_leaf_array_subtree_hash(&arr, 3, 3, h), -EINVAL);
    ASSERT_EQ(trail_leaf_array_subtree_hash(&arr, 0, 10, h), -EINVAL);
    /* a proof of the wrong type */
    ASSERT_OK(trail_proof_consistency(3, 9, trail_leaf_array_subtree_hash, &arr, &p));
    ASSERT_EQ(trail_proof_verify_inclusion(&p, leaves[0], h), -EINVAL);
    ASSERT_OK(trail_proof_inclusion(3, 9, trail_leaf_array_subtree_hash, &arr, &p));
    ASSERT_EQ(trail_proof_verify_consistency(&p, h, h), -EINVAL);
}

/*
 * Trees near 2^64 leaves, where every leaf has the same hash L: the tree hash
 * of a complete subtree of 2^j leaves is then H[j] (H[0] = L, H[j+1] =
 * node(H[j], H[j])), and the root of n leaves folds the H[j] of n's set bits.
 * This checks the index arithmetic of generation and verification at sizes
 * no real tree reaches.
 */
static uint8_t level_hash[64][32];

static int uniform_subtree_hash(void *ctx, uint64_t begin, uint64_t end, uint8_t out[32])
{
    struct source *s = ctx;
    uint64_t n = end - begin;
    s->calls++;
    if (begin >= end || end > s->tree_size || (n & (n - 1)) != 0 || (begin & (n - 1)) != 0) {
        s->bad_ranges++;
        return -EINVAL;
    }
    memcpy(out, level_hash[__builtin_ctzll(n)], 32);
    return 0;
}

static void uniform_root(uint64_t n, uint8_t out[32])
{
    int have = 0;
    for (int k = 0; k < 64; k++) {
        if (!(n & ((uint64_t)1 << k)))
            continue;
        if (!have)
            memcpy(out, level_hash[k], 32);
        else
            ref_node(level_hash[k], out, out);
        have = 1;
    }
}

TEST(sizes_near_2_to_the_64)
{
    memcpy(level_hash[0], leaves[0], 32);
    for (int j = 1; j < 64; j++)
        ref_node(level_hash[j - 1], level_hash[j - 1], level_hash[j]);
    const uint64_t sizes[] = {(uint64_t)1 << 63, ((uint64_t)1 << 63) + 1, UINT64_MAX,
                              UINT64_MAX - 1, ((uint64_t)1 << 40) + 12345};
    unsigned max_path = 0, max_calls = 0;
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        uint64_t n = sizes[s];
        uint8_t root[32];
        uniform_root(n, root);
        const uint64_t others[] = {0, 1, n / 2, n / 2 + 1, n - 2, n - 1, (uint64_t)1 << 62};
        for (size_t o = 0; o < sizeof(others) / sizeof(others[0]); o++) {
            struct source src = {.tree_size = n};
            struct trail_proof p;
            uint64_t i = others[o];
            if (i >= n)
                continue;
            ASSERT_OK(trail_proof_inclusion(i, n, uniform_subtree_hash, &src, &p));
            ASSERT_OK(trail_proof_verify_inclusion(&p, level_hash[0], root));
            if (p.n_path > max_path)
                max_path = p.n_path;
            uint64_t m = i + 1; /* 1 .. n */
            uint8_t old_root[32];
            uniform_root(m, old_root);
            ASSERT_OK(trail_proof_consistency(m, n, uniform_subtree_hash, &src, &p));
            ASSERT_OK(trail_proof_verify_consistency(&p, old_root, root));
            if (m < n)
                ASSERT_EQ(trail_proof_verify_consistency(&p, root, root), TRAIL_E_INTEGRITY);
            if (p.n_path > max_path)
                max_path = p.n_path;
            ASSERT_EQ(src.bad_ranges, 0);
            if (src.calls > max_calls)
                max_calls = src.calls;
        }
    }
    ASSERT(max_path <= TRAIL_PROOF_MAX_PATH);
    printf("     longest path %u nodes, at most %u source calls per pair of proofs\n", max_path,
           max_calls);
}

/* ---- text form ---- */

TEST(text_round_trip_all)
{
    struct trail_buf buf = {0};
    unsigned n_text = 0;
    for (uint64_t n = 1; n <= N_MAX; n++) {
        struct trail_leaf_array arr = {leaves, n};
        for (uint64_t i = 0; i < n; i++) {
            for (int kind = 0; kind < 2; kind++) {
                struct trail_proof p, q;
                if (kind == 0)
                    ASSERT_OK(trail_proof_inclusion(i, n, trail_leaf_array_subtree_hash, &arr, &p));
                else
                    ASSERT_OK(
                        trail_proof_consistency(i + 1, n, trail_leaf_array_subtree_hash, &arr, &p));
                trail_buf_reset(&buf);
                ASSERT_OK(trail_proof_format(&p, &buf));
                ASSERT_EQ(buf.len, strlen(buf.data));
                ASSERT_OK(trail_proof_parse(buf.data, buf.len, &q));
                ASSERT_EQ(memcmp(&p, &q, sizeof(p)), 0);
                /* without the final newline too */
                ASSERT_OK(trail_proof_parse(buf.data, buf.len - 1, &q));
                ASSERT_EQ(memcmp(&p, &q, sizeof(p)), 0);
                n_text++;
            }
        }
    }
    trail_buf_free(&buf);
    ASSERT_EQ(n_text, N_MAX * (N_MAX + 1));
}

TEST(text_exact_form)
{
    struct trail_leaf_array arr = {leaves, 7};
    struct trail_proof p;
    struct trail_buf buf = {0};
    char want[1024], leaf_hex[65], g_hex[65];
    uint8_t g[32];
    ref_node(leaves[0], leaves[1], g);
    trail_hash_to_hex(leaves[3], leaf_hex);
    trail_hash_to_hex(g, g_hex);
    ASSERT_OK(trail_proof_inclusion(3, 7, trail_leaf_array_subtree_hash, &arr, &p));
    ASSERT_OK(trail_proof_format(&p, &buf));
    /* "index 3", "size 7", the leaf, then c, g, l */
    char c_hex[65];
    trail_hash_to_hex(leaves[2], c_hex);
    snprintf(want, sizeof(want),
             "trail-proof/1 inclusion\nindex 3\nsize 7\nleaf %s\npath %s\npath %s\n", leaf_hex,
             c_hex, g_hex);
    ASSERT_EQ(strncmp(buf.data, want, strlen(want)), 0);
    trail_buf_reset(&buf);
    ASSERT_OK(trail_proof_consistency(4, 7, trail_leaf_array_subtree_hash, &arr, &p));
    ASSERT_OK(trail_proof_format(&p, &buf));
    ASSERT_EQ(strncmp(buf.data, "trail-proof/1 consistency\nold-size 4\nsize 7\npath ", 49), 0);
    ASSERT_EQ(buf.len, 49 + 64 + 1);
    trail_buf_free(&buf);
}

TEST(text_malformed_rejected)
{
    char hex[65];
    trail_hash_to_hex(leaves[0], hex);
    char good_inc[512], good_con[512];
    snprintf(good_inc, sizeof(good_inc),
             "trail-proof/1 inclusion\nindex 0\nsize 2\nleaf %s\npath %s\n", hex, hex);
    snprintf(good_con, sizeof(good_con), "trail-proof/1 consistency\nold-size 1\nsize 2\npath %s\n",
             hex);
    struct trail_proof p;
    ASSERT_OK(trail_proof_parse(good_inc, strlen(good_inc), &p));
    ASSERT_OK(trail_proof_parse(good_con, strlen(good_con), &p));

    char upper[65];
    memcpy(upper, hex, 65);
    for (int i = 0; i < 64; i++)
        if (upper[i] >= 'a' && upper[i] <= 'f')
            upper[i] = (char)(upper[i] - 32);
    char bad[40][512];
    int n = 0;
#define BAD(...) snprintf(bad[n++], sizeof(bad[0]), __VA_ARGS__)
    BAD("%s", "");
    BAD("%s", "\n");
    BAD("trail-proof/2 inclusion\nindex 0\nsize 2\nleaf %s\n", hex);
    BAD("trail-proof/1 inclusion \nindex 0\nsize 2\nleaf %s\n", hex);
    BAD("trail-proof/1 Inclusion\nindex 0\nsize 2\nleaf %s\n", hex);
    BAD("trail-proof/1 inclusion\r\nindex 0\nsize 2\nleaf %s\n", hex);
    BAD("trail-proof/1 inclusion\nindex 0\nsize 2\n");               /* no leaf */
    BAD("trail-proof/1 inclusion\nindex 2\nsize 2\nleaf %s\n", hex); /* index >= size */
    BAD("trail-proof/1 inclusion\nindex 0\nsize 0\nleaf %s\n", hex);
    BAD("trail-proof/1 inclusion\nindex 00\nsize 2\nleaf %s\n", hex);
    BAD("trail-proof/1 inclusion\nindex +0\nsize 2\nleaf %s\n", hex);
    BAD("trail-proof/1 inclusion\nindex -1\nsize 2\nleaf %s\n", hex);
    BAD("trail-proof/1 inclusion\nindex 0\nsize 18446744073709551616\nleaf %s\n", hex);
    BAD("trail-proof/1 inclusion\nindex  0\nsize 2\nleaf %s\n", hex);
    BAD("trail-proof/1 inclusion\nindex 0 \nsize 2\nleaf %s\n", hex);
    BAD("trail-proof/1 inclusion\nsize 2\nindex 0\nleaf %s\n", hex); /* order */
    BAD("trail-proof/1 inclusion\nindex 0\nsize 2\nleaf %s\n", upper);
    BAD("trail-proof/1 inclusion\nindex 0\nsize 2\nleaf %.63s\n", hex);
    BAD("trail-proof/1 inclusion\nindex 0\nsize 2\nleaf %s0\n", hex);
    BAD("trail-proof/1 inclusion\nindex 0\nsize 2\nleaf %s\npath %s\n\n", hex, hex);
    BAD("trail-proof/1 inclusion\nindex 0\nsize 2\nleaf %s\npath  %s\n", hex, hex);
    BAD("trail-proof/1 inclusion\nindex 0\nsize 2\nleaf %s\nPath %s\n", hex, hex);
    BAD("trail-proof/1 inclusion\nindex 0\nsize 2\nleaf %s\nleaf %s\n", hex, hex);
    BAD("trail-proof/1 consistency\nold-size 3\nsize 2\n");
    BAD("trail-proof/1 consistency\nold-size 1\nsize 2\nleaf %s\n", hex);
    BAD("trail-proof/1 consistency\nsize 2\npath %s\n", hex);
    BAD("trail-proof/1 consistency\nold-size 1\nsize 2\npath %sg\n", hex);
    BAD("trail-proof/1 consistency\nold-size 1\nsize 2\npath %s\n \n", hex);
#undef BAD
    for (int i = 0; i < n; i++) {
        memset(&p, 0x5a, sizeof(p));
        struct trail_proof before = p;
        if (trail_proof_parse(bad[i], strlen(bad[i]), &p) != TRAIL_E_PARSE)
            FAIL_AT("malformed proof %d accepted: \"%s\"", i, bad[i]);
        ASSERT_EQ(memcmp(&p, &before, sizeof(p)), 0);
    }
    /* a NUL inside, and more path lines than any proof has */
    char with_nul[512];
    size_t len = strlen(good_inc);
    memcpy(with_nul, good_inc, len);
    with_nul[30] = '\0';
    ASSERT_EQ(trail_proof_parse(with_nul, len, &p), TRAIL_E_PARSE);
    struct trail_buf many = {0};
    ASSERT_OK(trail_buf_append(&many, good_con, strlen(good_con)));
    for (int i = 0; i < TRAIL_PROOF_MAX_PATH; i++) {
        ASSERT_OK(trail_buf_append(&many, "path ", 5));
        ASSERT_OK(trail_buf_append(&many, hex, 64));
        ASSERT_OK(trail_buf_append(&many, "\n", 1));
    }
    ASSERT_EQ(trail_proof_parse(many.data, many.len, &p), TRAIL_E_PARSE);
    trail_buf_free(&many);
}

TEST(format_refuses_bad_proofs)
{
    struct trail_proof p;
    struct trail_buf buf = {0};
    memset(&p, 0, sizeof(p));
    ASSERT_EQ(trail_proof_format(&p, &buf), -EINVAL); /* no type */
    p.type = TRAIL_PROOF_INCLUSION;
    p.leaf_index = 5;
    p.tree_size = 5;
    ASSERT_EQ(trail_proof_format(&p, &buf), -EINVAL);
    p.type = TRAIL_PROOF_CONSISTENCY;
    p.old_size = 6;
    ASSERT_EQ(trail_proof_format(&p, &buf), -EINVAL);
    p.old_size = 1;
    p.n_path = TRAIL_PROOF_MAX_PATH + 1;
    ASSERT_EQ(trail_proof_format(&p, &buf), -EINVAL);
    ASSERT_EQ(buf.len, 0);
    trail_buf_free(&buf);
}

static void setup(void)
{
    setup_leaves();
}

TEST(init)
{
    setup();
    ASSERT_EQ(leaves[0][0], 0x45); /* 45c7bdcd..., see test_merkle.c */
}

TEST_MAIN(init, rfc_example_tree_of_seven, inclusion_all, consistency_all,
          consistency_from_empty_tree, bad_arguments_and_source_errors, sizes_near_2_to_the_64,
          text_round_trip_all, text_exact_form, text_malformed_rejected, format_refuses_bad_proofs)
