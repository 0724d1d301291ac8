/*
 * fuzz_proof.c - libFuzzer target for the integrity text parsers:
 * trail_proof_parse() and trail_checkpoint_parse().
 *
 * Each input is given to both parsers. What a parser accepts must be in the
 * canonical form: formatting the result gives back the input byte for byte
 * (a proof always ends in '\n', so an input without its final newline gets
 * one; a checkpoint line has none, so an input's final '\n' is dropped), or
 * the target aborts. Accepted proofs then go through verification with
 * arbitrary roots, and accepted checkpoints through signature verification,
 * which must answer without crashing (and, for a checkpoint made by no key
 * of ours, must not verify).
 *
 * Not here: proof generation (tests/unit/test_proof.c). In ordinary builds
 * tests/fuzz/replay.c runs this over corpus/fuzz_proof/ as a plain test.
 */
#include "trail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct trail_key *key;

static void die(const char *what, const uint8_t *in, size_t in_len, const char *out, size_t out_len)
{
    fprintf(stderr, "fuzz_proof: %s\n input:  %.*s\n output: %.*s\n", what, (int)in_len,
            (const char *)in, (int)out_len, out);
    abort();
}

static void check_proof(const uint8_t *data, size_t size, struct trail_buf *buf)
{
    struct trail_proof proof;
    uint8_t root[TRAIL_HASH_LEN], other[TRAIL_HASH_LEN];
    if (trail_proof_parse((const char *)data, size, &proof) != 0)
        return;
    trail_buf_reset(buf);
    if (trail_proof_format(&proof, buf) != 0)
        die("a parsed proof does not format", data, size, "", 0);
    size_t want = size + (size == 0 || data[size - 1] != '\n');
    if (buf->len != want || memcmp(buf->data, data, size) != 0)
        die("a parsed proof is not in canonical form", data, size, buf->data, buf->len);
    memset(other, 0x5c, sizeof(other));
    if (proof.type == TRAIL_PROOF_INCLUSION) {
        if (trail_proof_inclusion_root(&proof, proof.leaf_hash, root) == 0 &&
            trail_proof_verify_inclusion(&proof, proof.leaf_hash, root) != 0)
            die("an inclusion proof does not verify against its own root", data, size, "", 0);
        trail_proof_verify_inclusion(&proof, other, other);
    } else {
        trail_proof_verify_consistency(&proof, other, other);
        if (proof.n_path > 0)
            trail_proof_verify_consistency(&proof, proof.path[0], proof.path[proof.n_path - 1]);
    }
}

static void check_checkpoint(const uint8_t *data, size_t size, struct trail_buf *buf)
{
    struct trail_checkpoint cp;
    if (trail_checkpoint_parse((const char *)data, size, &cp) != 0)
        return;
    trail_buf_reset(buf);
    if (trail_checkpoint_format(&cp, buf) != 0)
        die("a parsed checkpoint does not format", data, size, "", 0);
    size_t want = size - (size > 0 && data[size - 1] == '\n');
    if (buf->len != want || memcmp(buf->data, data, want) != 0)
        die("a parsed checkpoint is not in canonical form", data, size, buf->data, buf->len);
    trail_buf_reset(buf);
    if (trail_checkpoint_message(&cp, buf) != 0)
        die("a parsed checkpoint has no message", data, size, "", 0);
    /* the key is made fresh for this run: no input can hold its signature */
    int r = trail_checkpoint_verify(&cp, key);
    if (r == 0)
        die("a checkpoint verified with a key made after it", data, size, "", 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct trail_buf buf = {0};
    if (!key && trail_key_generate(NULL, NULL, &key) != 0)
        abort();
    check_proof(data, size, &buf);
    check_checkpoint(data, size, &buf);
    trail_buf_free(&buf);
    return 0;
}
