/*
 * witness.h - C2SP tlog-witness (https://c2sp.org/tlog-witness), internal:
 * the add-checkpoint request body, read and written, shared by traild's
 * witness (POST /add-checkpoint) and its witness sink (the client), and the
 * raw Ed25519 signing that cosignatures need (checkpoint.c owns the keys).
 *
 * The request body, each line ending in '\n':
 *
 *     old OLD_SIZE              decimal, no sign or leading zeros
 *     HASH                      0 to 63 lines: the consistency proof from
 *     ...                       OLD_SIZE to the checkpoint's size, each a
 *                               padded standard base64 32-byte hash
 *                               (one empty line)
 *     CHECKPOINT NOTE           the signed note, its signature lines and all
 *
 * Not here: cosignatures and policies (witness.c's public calls, trail.h),
 * what a witness keeps and answers (daemon/http/witness_http.c).
 */
#ifndef TRAIL_WITNESS_H
#define TRAIL_WITNESS_H

#include "trail.h"

#include <stddef.h>
#include <stdint.h>

#define WITNESS_PROOF_MAX 63 /* the longest consistency proof over < 2^64 leaves */

/* An add-checkpoint request, read: note points into the text it was read from. */
struct witness_request {
    uint64_t old_size;
    uint32_t n_proof;
    uint8_t proof[WITNESS_PROOF_MAX][TRAIL_HASH_LEN];
    const char *note;
    size_t note_len;
};

/*
 * witness_request_parse - read the body text[0..len) above into *ret. Only
 * the framing is checked (the note's own form and signature are the
 * caller's). Returns 0 or TRAIL_E_PARSE with err saying what is wrong
 * ("line 2: not a base64 hash").
 */
int witness_request_parse(const char *text, size_t len, struct witness_request *ret, char *err,
                          size_t errlen);

/*
 * witness_request_format - append the body: old_size, the path of proof
 * (a consistency proof from old_size; may be NULL when old_size is 0) and
 * the note. Returns 0, -EINVAL (over WITNESS_PROOF_MAX hashes) or -ENOMEM.
 */
int witness_request_format(uint64_t old_size, const struct trail_proof *proof, const char *note,
                           size_t note_len, struct trail_buf *out);

/* key_sign - Ed25519 signature of msg[0..len) with key's private half (checkpoint.c). */
int key_sign(const struct trail_key *key, const void *msg, size_t len,
             uint8_t sig[TRAIL_SIGNATURE_LEN]);

#endif /* TRAIL_WITNESS_H */
