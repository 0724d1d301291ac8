/*
 * proof.c - RFC 9162 inclusion and consistency proofs: generation over a
 * source of subtree hashes, verification, and the text form.
 *
 * Generation follows the RFC's recursive definitions (2.1.3.1 PATH and
 * 2.1.4.1 PROOF/SUBPROOF) over leaf ranges. Verification follows the RFC's
 * iterative algorithms (2.1.3.2 and 2.1.4.2) and shares no code with
 * generation, so that a mistake in one is caught by the other in the tests.
 *
 * Not for: reading a store (the store implements subtree_hash), checkpoints
 * and signatures (checkpoint.c), hashing primitives (merkle.c).
 */
#include "base/base.h"
#include "integrity/merkle.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

typedef int (*subtree_fn)(void *ctx, uint64_t begin, uint64_t end, uint8_t out[TRAIL_HASH_LEN]);

struct gen {
    subtree_fn subtree_hash;
    void *ctx;
    uint32_t n_path;
    uint8_t path[TRAIL_PROOF_MAX_PATH][TRAIL_HASH_LEN];
};

/* The largest power of two strictly below n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
    uint64_t k = (uint64_t)1 << (63 - __builtin_clzll(n - 1));
    return k;
}

/*
 * The tree hash of leaves [begin, end), asking the source only for complete
 * aligned subtrees. Every range the generators make is either such a
 * subtree or a right-edge range whose RFC split points fall on aligned
 * boundaries; the recursion below handles any range correctly regardless.
 */
static int range_hash(struct gen *g, uint64_t begin, uint64_t end, uint8_t out[TRAIL_HASH_LEN])
{
    uint64_t n = end - begin;
    if ((n & (n - 1)) == 0 && (begin & (n - 1)) == 0)
        return g->subtree_hash(g->ctx, begin, end, out);
    uint64_t k = split_point(n);
    uint8_t left[TRAIL_HASH_LEN], right[TRAIL_HASH_LEN];
    int r = range_hash(g, begin, begin + k, left);
    if (r < 0)
        return r;
    r = range_hash(g, begin + k, end, right);
    if (r < 0)
        return r;
    return trail_hash_node(left, right, out);
}

static int push(struct gen *g, uint64_t begin, uint64_t end)
{
    if (g->n_path >= TRAIL_PROOF_MAX_PATH)
        return -EOVERFLOW; /* cannot happen below 2^64 leaves */
    int r = range_hash(g, begin, end, g->path[g->n_path]);
    if (r < 0)
        return r;
    g->n_path++;
    return 0;
}

/* RFC 9162 2.1.3.1: PATH(m, D[begin:end]), m relative to begin. Leaf first. */
static int audit_path(struct gen *g, uint64_t m, uint64_t begin, uint64_t end)
{
    uint64_t n = end - begin;
    if (n <= 1)
        return 0;
    uint64_t k = split_point(n);
    int r;
    if (m < k) {
        r = audit_path(g, m, begin, begin + k);
        if (r < 0)
            return r;
        return push(g, begin + k, end);
    }
    r = audit_path(g, m - k, begin + k, end);
    if (r < 0)
        return r;
    return push(g, begin, begin + k);
}

/* RFC 9162 2.1.4.1: SUBPROOF(m, D[begin:end], b), m relative to begin. */
static int subproof(struct gen *g, uint64_t m, uint64_t begin, uint64_t end, int b)
{
    uint64_t n = end - begin;
    int r;
    if (m == n)
        return b ? 0 : push(g, begin, end);
    uint64_t k = split_point(n);
    if (m <= k) {
        r = subproof(g, m, begin, begin + k, b);
        if (r < 0)
            return r;
        return push(g, begin + k, end);
    }
    r = subproof(g, m - k, begin + k, end, 0);
    if (r < 0)
        return r;
    return push(g, begin, begin + k);
}

int trail_proof_inclusion(uint64_t leaf_index, uint64_t tree_size, subtree_fn subtree_hash,
                          void *ctx, struct trail_proof *ret_proof)
{
    struct gen g = {.subtree_hash = subtree_hash, .ctx = ctx};
    uint8_t leaf[TRAIL_HASH_LEN];
    int r;

    if (leaf_index >= tree_size || !subtree_hash)
        return -EINVAL;
    r = subtree_hash(ctx, leaf_index, leaf_index + 1, leaf);
    if (r < 0)
        return r;
    r = audit_path(&g, leaf_index, 0, tree_size);
    if (r < 0)
        return r;
    memset(ret_proof, 0, sizeof(*ret_proof));
    ret_proof->type = TRAIL_PROOF_INCLUSION;
    ret_proof->leaf_index = leaf_index;
    ret_proof->tree_size = tree_size;
    memcpy(ret_proof->leaf_hash, leaf, TRAIL_HASH_LEN);
    ret_proof->n_path = g.n_path;
    memcpy(ret_proof->path, g.path, (size_t)g.n_path * TRAIL_HASH_LEN);
    return 0;
}

int trail_proof_consistency(uint64_t old_size, uint64_t tree_size, subtree_fn subtree_hash,
                            void *ctx, struct trail_proof *ret_proof)
{
    struct gen g = {.subtree_hash = subtree_hash, .ctx = ctx};
    int r;

    if (old_size > tree_size || !subtree_hash)
        return -EINVAL;
    /* From the empty tree there is nothing to prove: PROOF is defined for m >= 1. */
    if (old_size > 0) {
        r = subproof(&g, old_size, 0, tree_size, 1);
        if (r < 0)
            return r;
    }
    memset(ret_proof, 0, sizeof(*ret_proof));
    ret_proof->type = TRAIL_PROOF_CONSISTENCY;
    ret_proof->old_size = old_size;
    ret_proof->tree_size = tree_size;
    ret_proof->n_path = g.n_path;
    memcpy(ret_proof->path, g.path, (size_t)g.n_path * TRAIL_HASH_LEN);
    return 0;
}

static int array_mth(const struct trail_leaf_array *a, uint64_t begin, uint64_t end,
                     uint8_t out[TRAIL_HASH_LEN])
{
    uint64_t n = end - begin;
    if (n == 1) {
        memcpy(out, a->leaves[begin], TRAIL_HASH_LEN);
        return 0;
    }
    uint64_t k = split_point(n);
    uint8_t left[TRAIL_HASH_LEN], right[TRAIL_HASH_LEN];
    int r = array_mth(a, begin, begin + k, left);
    if (r < 0)
        return r;
    r = array_mth(a, begin + k, end, right);
    if (r < 0)
        return r;
    return trail_hash_node(left, right, out);
}

int trail_leaf_array_subtree_hash(void *ctx, uint64_t begin, uint64_t end,
                                  uint8_t out[TRAIL_HASH_LEN])
{
    const struct trail_leaf_array *a = ctx;
    if (!a || begin >= end || end > a->n_leaves)
        return -EINVAL;
    return array_mth(a, begin, end, out);
}

/* ---- verification (RFC 9162 2.1.3.2 and 2.1.4.2) ---- */

int trail_proof_inclusion_root(const struct trail_proof *proof,
                               const uint8_t leaf_hash[TRAIL_HASH_LEN],
                               uint8_t ret_root[TRAIL_HASH_LEN])
{
    uint8_t r[TRAIL_HASH_LEN];
    uint64_t fn, sn;
    int rc;

    if (proof->type != TRAIL_PROOF_INCLUSION)
        return -EINVAL;
    if (proof->leaf_index >= proof->tree_size || proof->n_path > TRAIL_PROOF_MAX_PATH)
        return TRAIL_E_INTEGRITY;
    fn = proof->leaf_index;
    sn = proof->tree_size - 1;
    memcpy(r, leaf_hash, TRAIL_HASH_LEN);
    for (uint32_t i = 0; i < proof->n_path; i++) {
        const uint8_t *p = proof->path[i];
        if (sn == 0)
            return TRAIL_E_INTEGRITY; /* more nodes than the tree is deep */
        if ((fn & 1) || fn == sn) {
            rc = trail_hash_node(p, r, r);
            if (rc < 0)
                return rc;
            if (!(fn & 1)) {
                /* fn is the last node of its level: skip the levels where it has no sibling */
                while (!(fn & 1) && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            rc = trail_hash_node(r, p, r);
            if (rc < 0)
                return rc;
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0)
        return TRAIL_E_INTEGRITY; /* fewer nodes than the path needs */
    memcpy(ret_root, r, TRAIL_HASH_LEN);
    return 0;
}

static int hash_equal(const uint8_t a[TRAIL_HASH_LEN], const uint8_t b[TRAIL_HASH_LEN])
{
    /* Hashes are public values: no need for a constant-time compare. */
    return memcmp(a, b, TRAIL_HASH_LEN) == 0;
}

int trail_proof_verify_inclusion(const struct trail_proof *proof,
                                 const uint8_t leaf_hash[TRAIL_HASH_LEN],
                                 const uint8_t root[TRAIL_HASH_LEN])
{
    uint8_t computed[TRAIL_HASH_LEN];
    int r = trail_proof_inclusion_root(proof, leaf_hash, computed);
    if (r < 0)
        return r;
    return hash_equal(computed, root) ? 0 : TRAIL_E_INTEGRITY;
}

int trail_proof_verify_consistency(const struct trail_proof *proof,
                                   const uint8_t old_root[TRAIL_HASH_LEN],
                                   const uint8_t new_root[TRAIL_HASH_LEN])
{
    uint8_t fr[TRAIL_HASH_LEN], sr[TRAIL_HASH_LEN];
    uint64_t fn, sn;
    uint32_t i = 0;
    int rc;

    if (proof->type != TRAIL_PROOF_CONSISTENCY)
        return -EINVAL;
    if (proof->old_size > proof->tree_size || proof->n_path > TRAIL_PROOF_MAX_PATH)
        return TRAIL_E_INTEGRITY;
    if (proof->old_size == 0) {
        uint8_t empty[TRAIL_HASH_LEN];
        trail_hash_empty(empty);
        return proof->n_path == 0 && hash_equal(old_root, empty) ? 0 : TRAIL_E_INTEGRITY;
    }
    if (proof->old_size == proof->tree_size)
        return proof->n_path == 0 && hash_equal(old_root, new_root) ? 0 : TRAIL_E_INTEGRITY;

    /* 0 < first < second from here on, as the RFC's algorithm requires. */
    if (proof->n_path == 0)
        return TRAIL_E_INTEGRITY;
    fn = proof->old_size - 1;
    sn = proof->tree_size - 1;
    /*
     * When first is a power of two the old root is itself a node of the new
     * tree and the proof leaves it out: start from old_root (the RFC
     * prepends it to the path). Otherwise start from the proof's first node.
     */
    if ((proof->old_size & (proof->old_size - 1)) == 0) {
        memcpy(fr, old_root, TRAIL_HASH_LEN);
    } else {
        memcpy(fr, proof->path[0], TRAIL_HASH_LEN);
        i = 1;
    }
    memcpy(sr, fr, TRAIL_HASH_LEN);
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    for (; i < proof->n_path; i++) {
        const uint8_t *c = proof->path[i];
        if (sn == 0)
            return TRAIL_E_INTEGRITY;
        if ((fn & 1) || fn == sn) {
            if ((rc = trail_hash_node(c, fr, fr)) < 0 || (rc = trail_hash_node(c, sr, sr)) < 0)
                return rc;
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            if ((rc = trail_hash_node(sr, c, sr)) < 0)
                return rc;
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0 || !hash_equal(fr, old_root) || !hash_equal(sr, new_root))
        return TRAIL_E_INTEGRITY;
    return 0;
}

/* ---- text form ---- */

static int valid_for_text(const struct trail_proof *p)
{
    if (p->n_path > TRAIL_PROOF_MAX_PATH)
        return 0;
    if (p->type == TRAIL_PROOF_INCLUSION)
        return p->leaf_index < p->tree_size;
    if (p->type == TRAIL_PROOF_CONSISTENCY)
        return p->old_size <= p->tree_size;
    return 0;
}

static int append_hash_line(struct trail_buf *out, const char *name, const uint8_t *hash)
{
    char hex[2 * TRAIL_HASH_LEN + 1], line[96];
    trail_hash_to_hex(hash, hex);
    int n = snprintf(line, sizeof(line), "%s %s\n", name, hex);
    return trail_buf_append(out, line, (size_t)n);
}

static int append_number_line(struct trail_buf *out, const char *name, uint64_t v)
{
    char line[64];
    int n = snprintf(line, sizeof(line), "%s %" PRIu64 "\n", name, v);
    return trail_buf_append(out, line, (size_t)n);
}

int trail_proof_format(const struct trail_proof *proof, struct trail_buf *out)
{
    size_t start = out->len;
    int r;

    if (!valid_for_text(proof))
        return -EINVAL;
    if (proof->type == TRAIL_PROOF_INCLUSION) {
        static const char head[] = "trail-proof/1 inclusion\n";
        if ((r = trail_buf_append(out, head, sizeof(head) - 1)) < 0 ||
            (r = append_number_line(out, "index", proof->leaf_index)) < 0 ||
            (r = append_number_line(out, "size", proof->tree_size)) < 0 ||
            (r = append_hash_line(out, "leaf", proof->leaf_hash)) < 0)
            goto fail;
    } else {
        static const char head[] = "trail-proof/1 consistency\n";
        if ((r = trail_buf_append(out, head, sizeof(head) - 1)) < 0 ||
            (r = append_number_line(out, "old-size", proof->old_size)) < 0 ||
            (r = append_number_line(out, "size", proof->tree_size)) < 0)
            goto fail;
    }
    for (uint32_t i = 0; i < proof->n_path; i++)
        if ((r = append_hash_line(out, "path", proof->path[i])) < 0)
            goto fail;
    return 0;
fail:
    out->len = start;
    if (out->data)
        out->data[start] = '\0';
    return r;
}

/* A cursor over text[0..len) that hands out '\n'-terminated lines. */
struct lines {
    const char *p, *end;
};

/* The next line without its '\n'; the last line may lack one. 0 at the end. */
static int next_line(struct lines *ls, const char **ret_line, size_t *ret_len)
{
    if (ls->p >= ls->end)
        return 0;
    const char *nl = memchr(ls->p, '\n', (size_t)(ls->end - ls->p));
    *ret_line = ls->p;
    if (nl) {
        *ret_len = (size_t)(nl - ls->p);
        ls->p = nl + 1;
    } else {
        *ret_len = (size_t)(ls->end - ls->p);
        ls->p = ls->end;
    }
    return 1;
}

int integrity_parse_u64(const char *s, size_t len, uint64_t *ret)
{
    uint64_t v = 0;
    if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
        return TRAIL_E_PARSE;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return TRAIL_E_PARSE;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return TRAIL_E_PARSE;
        v = v * 10 + d;
    }
    *ret = v;
    return 0;
}

/* A line "NAME VALUE": VALUE's start and length, or TRAIL_E_PARSE. */
static int field(const char *line, size_t len, const char *name, const char **ret_value,
                 size_t *ret_len)
{
    size_t n = strlen(name);
    if (len < n + 1 || memcmp(line, name, n) != 0 || line[n] != ' ')
        return TRAIL_E_PARSE;
    *ret_value = line + n + 1;
    *ret_len = len - n - 1;
    return 0;
}

static int number_line(struct lines *ls, const char *name, uint64_t *ret)
{
    const char *line, *v;
    size_t len, vlen;
    if (!next_line(ls, &line, &len) || field(line, len, name, &v, &vlen) < 0)
        return TRAIL_E_PARSE;
    return integrity_parse_u64(v, vlen, ret);
}

int trail_proof_parse(const char *text, size_t len, struct trail_proof *ret_proof)
{
    struct trail_proof p;
    struct lines ls = {text, text + len};
    const char *line, *v;
    size_t line_len, vlen;

    memset(&p, 0, sizeof(p));
    if (!text || !next_line(&ls, &line, &line_len))
        return TRAIL_E_PARSE;
    if (line_len == 23 && memcmp(line, "trail-proof/1 inclusion", 23) == 0) {
        p.type = TRAIL_PROOF_INCLUSION;
        if (number_line(&ls, "index", &p.leaf_index) < 0 ||
            number_line(&ls, "size", &p.tree_size) < 0 || p.leaf_index >= p.tree_size)
            return TRAIL_E_PARSE;
        if (!next_line(&ls, &line, &line_len) || field(line, line_len, "leaf", &v, &vlen) < 0 ||
            trail_hash_from_hex(v, vlen, p.leaf_hash) < 0)
            return TRAIL_E_PARSE;
    } else if (line_len == 25 && memcmp(line, "trail-proof/1 consistency", 25) == 0) {
        p.type = TRAIL_PROOF_CONSISTENCY;
        if (number_line(&ls, "old-size", &p.old_size) < 0 ||
            number_line(&ls, "size", &p.tree_size) < 0 || p.old_size > p.tree_size)
            return TRAIL_E_PARSE;
    } else {
        return TRAIL_E_PARSE;
    }
    while (next_line(&ls, &line, &line_len)) {
        if (p.n_path >= TRAIL_PROOF_MAX_PATH || field(line, line_len, "path", &v, &vlen) < 0 ||
            trail_hash_from_hex(v, vlen, p.path[p.n_path]) < 0)
            return TRAIL_E_PARSE;
        p.n_path++;
    }
    memcpy(ret_proof, &p, sizeof(p));
    return 0;
}
