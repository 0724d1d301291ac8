/*
 * merkle.c - SHA-256 leaf, node and chain hashing and the Merkle frontier
 * (lib/integrity/merkle.h), the hashing under trail's integrity layer.
 *
 * Not for: proofs (proof.c), signatures (checkpoint.c), or deciding which
 * bytes of a record are hashed (the store defines the canonical record bytes,
 * docs/format.md).
 *
 * Speed: the store calls trail_hash_leaf, hash_chain and
 * frontier_append once per record. bench/bench_hash.c measured the
 * ways OpenSSL 3 offers to hash a short message (docs/integrity.md has the
 * figures); the fastest correct one is kept here: the SHA-256 EVP_MD fetched
 * once per process, and one EVP_MD_CTX per thread, reset with
 * EVP_DigestInit_ex2() for each hash. EVP_Digest() with EVP_sha256() pays an
 * implicit fetch and a context allocation on every call.
 *
 * Thread safety: every call is safe from any thread; each thread gets its own
 * context on its first hash, freed when the thread exits (pthread key
 * destructor).
 */
#include "integrity/merkle.h"

#include "trail.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>

static pthread_once_t setup_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;     /* fetched once, never freed (lives with the process) */
static pthread_key_t ctx_key; /* only for its destructor: frees a thread's context */
static int setup_ok;
static __thread EVP_MD_CTX *thread_ctx;

static void free_ctx(void *ctx)
{
    EVP_MD_CTX_free(ctx);
}

static void setup(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!sha256_md)
        return;
    if (pthread_key_create(&ctx_key, free_ctx) != 0)
        return;
    setup_ok = 1;
}

static EVP_MD_CTX *get_ctx(void)
{
    EVP_MD_CTX *ctx = thread_ctx;
    if (__builtin_expect(ctx != NULL, 1))
        return ctx;
    pthread_once(&setup_once, setup);
    if (!setup_ok)
        return NULL;
    ctx = EVP_MD_CTX_new();
    if (!ctx)
        return NULL;
    if (pthread_setspecific(ctx_key, ctx) != 0) {
        EVP_MD_CTX_free(ctx);
        return NULL;
    }
    thread_ctx = ctx;
    return ctx;
}

/*
 * SHA-256 of a || b || c (any part may be empty) into out. out is written
 * only by the final step, so it may alias an input. 0 or -ENOMEM.
 */
static int sha256_3(const void *a, size_t a_len, const void *b, size_t b_len, const void *c,
                    size_t c_len, uint8_t out[TRAIL_HASH_LEN])
{
    EVP_MD_CTX *ctx = get_ctx();
    uint8_t digest[TRAIL_HASH_LEN];
    unsigned int digest_len = 0;

    if (!ctx)
        return -ENOMEM;
    if (!EVP_DigestInit_ex2(ctx, sha256_md, NULL))
        return -ENOMEM;
    if ((a_len && !EVP_DigestUpdate(ctx, a, a_len)) ||
        (b_len && !EVP_DigestUpdate(ctx, b, b_len)) || (c_len && !EVP_DigestUpdate(ctx, c, c_len)))
        return -ENOMEM;
    if (!EVP_DigestFinal_ex(ctx, digest, &digest_len) || digest_len != TRAIL_HASH_LEN)
        return -ENOMEM;
    memcpy(out, digest, TRAIL_HASH_LEN);
    return 0;
}

int hash_sha256(const void *data, size_t len, uint8_t out[TRAIL_HASH_LEN])
{
    return sha256_3(data, len, NULL, 0, NULL, 0, out);
}

int trail_hash_leaf(const void *data, size_t len, uint8_t out[TRAIL_HASH_LEN])
{
    static const uint8_t prefix = 0x00;
    return sha256_3(&prefix, 1, data, len, NULL, 0, out);
}

int hash_leaf2(const void *a, size_t a_len, const void *b, size_t b_len,
               uint8_t out[TRAIL_HASH_LEN])
{
    static const uint8_t prefix = 0x00;
    return sha256_3(&prefix, 1, a, a_len, b, b_len, out);
}

int trail_hash_node(const uint8_t left[TRAIL_HASH_LEN], const uint8_t right[TRAIL_HASH_LEN],
                    uint8_t out[TRAIL_HASH_LEN])
{
    static const uint8_t prefix = 0x01;
    return sha256_3(&prefix, 1, left, TRAIL_HASH_LEN, right, TRAIL_HASH_LEN, out);
}

int hash_tree(const uint8_t (*leaves)[TRAIL_HASH_LEN], uint64_t n, uint8_t out[TRAIL_HASH_LEN])
{
    if (n == 1) {
        memcpy(out, leaves[0], TRAIL_HASH_LEN);
        return 0;
    }
    uint64_t k = 1; /* the largest power of two below n */
    while (k * 2 < n)
        k *= 2;
    uint8_t l[TRAIL_HASH_LEN], r[TRAIL_HASH_LEN];
    int rc = hash_tree(leaves, k, l);
    if (rc == 0)
        rc = hash_tree(leaves + k, n - k, r);
    if (rc == 0)
        rc = trail_hash_node(l, r, out);
    return rc;
}

int hash_chain(const uint8_t prev[TRAIL_HASH_LEN], const uint8_t leaf[TRAIL_HASH_LEN],
               uint8_t out[TRAIL_HASH_LEN])
{
    return sha256_3(prev, TRAIL_HASH_LEN, leaf, TRAIL_HASH_LEN, NULL, 0, out);
}

void trail_hash_empty(uint8_t out[TRAIL_HASH_LEN])
{
    /* SHA-256 of the empty string, the RFC 9162 root of the empty tree. */
    static const uint8_t empty[TRAIL_HASH_LEN] = {
        0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
        0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
        0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
    };
    memcpy(out, empty, TRAIL_HASH_LEN);
}

void frontier_init(struct trail_frontier *f)
{
    memset(f, 0, sizeof(*f));
}

int frontier_append(struct trail_frontier *f, const uint8_t leaf[TRAIL_HASH_LEN])
{
    uint8_t carry[TRAIL_HASH_LEN];
    unsigned k = 0;
    int r;

    if (f->size == UINT64_MAX)
        return -EOVERFLOW;
    memcpy(carry, leaf, TRAIL_HASH_LEN);
    /*
     * Adding 1 to size clears the low run of set bits and sets the next one:
     * the subtrees of those bits merge, left to right, into one of 2^k leaves.
     * f changes only once everything has been hashed, so a failure leaves it
     * as it was.
     */
    while (f->size & ((uint64_t)1 << k)) {
        r = trail_hash_node(f->nodes[k], carry, carry);
        if (r < 0)
            return r;
        k++;
    }
    memcpy(f->nodes[k], carry, TRAIL_HASH_LEN);
    f->size++;
    return 0;
}

int frontier_root(const struct trail_frontier *f, uint8_t out[TRAIL_HASH_LEN])
{
    uint8_t acc[TRAIL_HASH_LEN];
    int have = 0, r;

    if (f->size == 0) {
        trail_hash_empty(out);
        return 0;
    }
    /* The right-most (smallest) subtree first, then each larger one on its left. */
    for (unsigned k = 0; k < TRAIL_FRONTIER_MAX; k++) {
        if (!(f->size & ((uint64_t)1 << k)))
            continue;
        if (!have) {
            memcpy(acc, f->nodes[k], TRAIL_HASH_LEN);
            have = 1;
        } else {
            r = trail_hash_node(f->nodes[k], acc, acc);
            if (r < 0)
                return r;
        }
    }
    memcpy(out, acc, TRAIL_HASH_LEN);
    return 0;
}

void trail_hash_to_hex(const uint8_t hash[TRAIL_HASH_LEN], char hex[2 * TRAIL_HASH_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < TRAIL_HASH_LEN; i++) {
        hex[2 * i] = digits[hash[i] >> 4];
        hex[2 * i + 1] = digits[hash[i] & 15];
    }
    hex[2 * TRAIL_HASH_LEN] = '\0';
}

static int lower_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int trail_hash_from_hex(const char *text, size_t len, uint8_t out[TRAIL_HASH_LEN])
{
    uint8_t hash[TRAIL_HASH_LEN];
    if (len != 2 * TRAIL_HASH_LEN)
        return TRAIL_E_PARSE;
    for (size_t i = 0; i < TRAIL_HASH_LEN; i++) {
        int hi = lower_hex_value(text[2 * i]), lo = lower_hex_value(text[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return TRAIL_E_PARSE;
        hash[i] = (uint8_t)(hi << 4 | lo);
    }
    memcpy(out, hash, TRAIL_HASH_LEN);
    return 0;
}
