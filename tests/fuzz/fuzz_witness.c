/*
 * fuzz_witness.c - libFuzzer target for the witness parsers: the C2SP
 * add-checkpoint request body (witness_request_parse), the checkpoint note
 * inside it, cosignature lines (trail_cosignature_verify), cosigner verifier
 * keys (trail_witness_parse) and witness policies
 * (trail_witness_policy_parse / _check).
 *
 * What the request parser accepts must be canonical: formatting the parsed
 * request gives back the input byte for byte, or the target aborts. The
 * signature lines of an accepted note are checked as cosignatures of a
 * witness whose key is made fresh for this run: none may verify. A policy
 * that parses is applied to the input as a note, which must answer without
 * crashing.
 *
 * Not here: signing and the known answers (tests/unit/test_witness.c). In
 * ordinary builds tests/fuzz/replay.c runs this over corpus/fuzz_witness/.
 */
#include "integrity/witness.h"
#include "trail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct trail_key *key;
static struct trail_witness fresh;

static void die(const char *what, const uint8_t *in, size_t in_len)
{
    fprintf(stderr, "fuzz_witness: %s\n input: %.*s\n", what, (int)in_len, (const char *)in);
    abort();
}

static void check_request(const uint8_t *data, size_t size, struct trail_buf *buf)
{
    struct witness_request q;
    struct trail_proof proof;
    struct trail_checkpoint cp;
    char err[200];
    if (witness_request_parse((const char *)data, size, &q, err, sizeof(err)) != 0)
        return;
    memset(&proof, 0, sizeof(proof));
    proof.type = TRAIL_PROOF_CONSISTENCY;
    proof.n_path = q.n_proof;
    memcpy(proof.path, q.proof, q.n_proof * sizeof(q.proof[0]));
    trail_buf_reset(buf);
    if (witness_request_format(q.old_size, &proof, q.note, q.note_len, buf) != 0)
        die("a parsed request does not format", data, size);
    if (buf->len != size || memcmp(buf->data, data, size) != 0)
        die("a parsed request is not in canonical form", data, size);
    if (trail_checkpoint_note_parse(q.note, q.note_len, &cp) != 0)
        return;
    /* every line after the note's blank line, as a cosignature of a key no input knows */
    const char *t = q.note;
    size_t sigs = 0;
    for (size_t i = q.note_len; i >= 2; i--)
        if (t[i - 1] == '\n' && t[i - 2] == '\n') {
            sigs = i;
            break;
        }
    for (size_t pos = sigs; pos < q.note_len;) {
        const char *nl = memchr(t + pos, '\n', q.note_len - pos);
        size_t n = nl ? (size_t)(nl - (t + pos)) : q.note_len - pos;
        if (trail_cosignature_verify(&fresh, &cp, t + pos, n, NULL) == 0)
            die("a cosignature verified with a key made after it", data, size);
        pos += n + 1;
    }
}

static void check_policy(const uint8_t *data, size_t size)
{
    struct trail_witness_policy *p = NULL;
    struct trail_witness w;
    struct trail_checkpoint cp;
    char err[200];
    trail_witness_parse((const char *)data, size, &w);
    if (trail_witness_policy_parse((const char *)data, size, &p, err, sizeof(err)) != 0)
        return;
    size_t valid, quorum, n;
    trail_witness_policy_size(p, &n, &quorum);
    if (n == 0 || quorum == 0 || quorum > n)
        die("a policy out of its bounds parsed", data, size);
    memset(&cp, 0, sizeof(cp));
    strcpy(cp.origin, "fuzz");
    trail_witness_policy_check(p, &cp, (const char *)data, size, &valid, &quorum);
    trail_witness_policy_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct trail_buf buf = {0};
    if (!key) {
        struct trail_buf v = {0};
        if (trail_key_generate(NULL, NULL, &key) != 0 ||
            trail_witness_verifier(key, "fuzz.example/w", &v) != 0 ||
            trail_witness_parse(v.data, v.len, &fresh) != 0)
            abort();
        trail_buf_free(&v);
    }
    check_request(data, size, &buf);
    check_policy(data, size);
    trail_buf_free(&buf);
    return 0;
}
