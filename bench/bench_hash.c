/*
 * bench_hash.c - what one SHA-256 of a short message costs through the ways
 * OpenSSL 3 offers, and what trail's own hash calls (lib/integrity/merkle.c) cost.
 *
 * Chooses the approach merkle.c uses: the store hashes every record once as a
 * leaf (~300 bytes), once into the chain (64 bytes) and adds it to the
 * frontier (on average one node hash of 65 bytes), at up to 10^6 records/s.
 * Each approach hashes the same messages, and the results are compared with
 * each other so that a fast but wrong approach shows up.
 *
 *     bench_hash [ITERATIONS]      (default 2000000 per case)
 *
 * Prints one line per case: ns per hash and hashes per second, single thread.
 * Not a test: it asserts nothing about time.
 */
#include "integrity/merkle.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static EVP_MD *fetched;
static EVP_MD_CTX *reused;

enum approach {
    ONESHOT_IMPLICIT, /* EVP_Digest(.., EVP_sha256(), NULL) */
    ONESHOT_FETCHED,  /* EVP_Digest(.., fetched md, NULL) */
    CTX_NEW_FREE,     /* EVP_MD_CTX_new + Init_ex2(fetched) + Update + Final + free */
    REUSED_INIT_EX2,  /* one EVP_MD_CTX, EVP_DigestInit_ex2(fetched) each time */
    REUSED_IMPLICIT,  /* one EVP_MD_CTX, EVP_DigestInit_ex2(EVP_sha256()) each time */
    SHA256_ONESHOT,   /* SHA256() (not deprecated in 3.0; goes through EVP_Q_digest) */
    TRAIL_CALL,       /* hash_sha256() from lib/integrity/merkle.c */
};

static const char *const names[] = {
    [ONESHOT_IMPLICIT] = "EVP_Digest, EVP_sha256() (implicit fetch)",
    [ONESHOT_FETCHED] = "EVP_Digest, EVP_MD fetched once",
    [CTX_NEW_FREE] = "EVP_MD_CTX_new/free per hash, fetched",
    [REUSED_INIT_EX2] = "reused EVP_MD_CTX, Init_ex2, fetched",
    [REUSED_IMPLICIT] = "reused EVP_MD_CTX, Init_ex2, EVP_sha256()",
    [SHA256_ONESHOT] = "SHA256() one-shot",
    [TRAIL_CALL] = "hash_sha256 (merkle.c)",
};

static void hash_one(enum approach a, const uint8_t *msg, size_t len, uint8_t out[32])
{
    unsigned int n = 0;
    EVP_MD_CTX *ctx;
    switch (a) {
    case ONESHOT_IMPLICIT:
        EVP_Digest(msg, len, out, &n, EVP_sha256(), NULL);
        break;
    case ONESHOT_FETCHED:
        EVP_Digest(msg, len, out, &n, fetched, NULL);
        break;
    case CTX_NEW_FREE:
        ctx = EVP_MD_CTX_new();
        EVP_DigestInit_ex2(ctx, fetched, NULL);
        EVP_DigestUpdate(ctx, msg, len);
        EVP_DigestFinal_ex(ctx, out, &n);
        EVP_MD_CTX_free(ctx);
        break;
    case REUSED_INIT_EX2:
        EVP_DigestInit_ex2(reused, fetched, NULL);
        EVP_DigestUpdate(reused, msg, len);
        EVP_DigestFinal_ex(reused, out, &n);
        break;
    case REUSED_IMPLICIT:
        EVP_DigestInit_ex2(reused, EVP_sha256(), NULL);
        EVP_DigestUpdate(reused, msg, len);
        EVP_DigestFinal_ex(reused, out, &n);
        break;
    case SHA256_ONESHOT:
        SHA256(msg, len, out);
        break;
    case TRAIL_CALL:
        hash_sha256(msg, len, out);
        break;
    }
}

static double run(enum approach a, size_t len, long iters, uint8_t check[32])
{
    uint8_t msg[512];
    uint8_t out[32] = {0};
    memset(msg, 0x5a, sizeof(msg));
    double t0 = now_s();
    for (long i = 0; i < iters; i++) {
        msg[0] = (uint8_t)i; /* a different message each time, chained through out */
        memcpy(msg + 1, out, 8);
        hash_one(a, msg, len, out);
    }
    double t = now_s() - t0;
    memcpy(check, out, 32);
    return t * 1e9 / (double)iters;
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? strtol(argv[1], NULL, 10) : 2000000;
    static const size_t lens[] = {64, 65, 301};
    if (iters <= 0) {
        fprintf(stderr, "usage: bench_hash [ITERATIONS]\n");
        return 2;
    }
    fetched = EVP_MD_fetch(NULL, "SHA256", NULL);
    reused = EVP_MD_CTX_new();
    if (!fetched || !reused) {
        fprintf(stderr, "bench_hash: OpenSSL setup failed\n");
        return 1;
    }
    printf("%-44s %5s %9s %12s\n", "approach", "bytes", "ns/hash", "hashes/s");
    int bad = 0;
    for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
        uint8_t first[32], got[32];
        for (int a = ONESHOT_IMPLICIT; a <= TRAIL_CALL; a++) {
            double ns = run((enum approach)a, lens[l], iters, got);
            if (a == ONESHOT_IMPLICIT)
                memcpy(first, got, 32);
            else if (memcmp(first, got, 32) != 0) {
                printf("  %s gives a different result\n", names[a]);
                bad = 1;
            }
            printf("%-44s %5zu %9.1f %12.0f\n", names[a], lens[l], ns, 1e9 / ns);
        }
    }

    /* What the store pays per record: leaf of 300 bytes, chain, frontier append. */
    {
        uint8_t rec[300], leaf[32], chain[32] = {0}, root[32];
        struct trail_frontier f;
        memset(rec, 0x42, sizeof(rec));
        frontier_init(&f);
        double t0 = now_s();
        for (long i = 0; i < iters; i++) {
            memcpy(rec, &i, sizeof(i));
            trail_hash_leaf(rec, sizeof(rec), leaf);
            hash_chain(chain, leaf, chain);
            frontier_append(&f, leaf);
        }
        double t = now_s() - t0;
        frontier_root(&f, root);
        printf("%-44s %5d %9.1f %12.0f  (root %02x%02x..)\n",
               "per record: leaf + chain + frontier_append", 300, t * 1e9 / (double)iters,
               (double)iters / t, root[0], root[1]);
    }
    EVP_MD_CTX_free(reused);
    EVP_MD_free(fetched);
    return bad;
}
