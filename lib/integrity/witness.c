/*
 * witness.c - C2SP witnesses: cosigner verifier keys, cosignature/v1 lines
 * (https://c2sp.org/tlog-cosignature), the add-checkpoint request body
 * (https://c2sp.org/tlog-witness) and witness policies (k of n).
 *
 * A cosignature signs, with the witness's Ed25519 key,
 *
 *     cosignature/v1
 *     time 1764000000
 *     <the checkpoint's note text, trail_checkpoint_message()>
 *
 * and is written as a note signature line whose blob is key id (4 bytes,
 * with the signature type 0x04 in its hash) || the time, 8 bytes
 * big-endian || the signature (64 bytes). The formats are in trail.h
 * ("Witnesses") and witness.h; docs/integrity.md for operators.
 *
 * Not for: what a witness keeps or answers (daemon/http/witness_http.c),
 * checkpoints and keys themselves (checkpoint.c), note framing (note.c).
 */
#include "integrity/witness.h"

#include "base/base.h"
#include "integrity/merkle.h"
#include "integrity/note.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#define COSIG_ALG       0x04 /* C2SP's signature type of cosignature/v1 */
#define COSIG_BLOB_LEN  (NOTE_KEY_ID_LEN + 8 + TRAIL_SIGNATURE_LEN)
#define POLICY_MAX      64 /* witnesses in a policy */
#define POLICY_LINE_MAX 1024

static int cosig_key_id(const char *name, size_t name_len, const uint8_t pub[32],
                        uint8_t out[NOTE_KEY_ID_LEN])
{
    uint8_t buf[TRAIL_ORIGIN_MAX + 2 + 32], digest[TRAIL_HASH_LEN];
    if (name_len > TRAIL_ORIGIN_MAX)
        return -EINVAL;
    memcpy(buf, name, name_len);
    buf[name_len] = '\n';
    buf[name_len + 1] = COSIG_ALG;
    memcpy(buf + name_len + 2, pub, 32);
    int r = hash_sha256(buf, name_len + 2 + 32, digest);
    if (r < 0)
        return r;
    memcpy(out, digest, NOTE_KEY_ID_LEN);
    return 0;
}

int trail_witness_verifier(const struct trail_key *key, const char *name, struct trail_buf *out)
{
    uint8_t pub[32], id[NOTE_KEY_ID_LEN], blob[33];
    char hex[9];
    int r;
    if (!name || !note_name_valid(name, strlen(name)) || strlen(name) > TRAIL_ORIGIN_MAX)
        return -EINVAL;
    trail_key_public_raw(key, pub);
    if ((r = cosig_key_id(name, strlen(name), pub, id)) < 0)
        return r;
    snprintf(hex, sizeof(hex), "%02x%02x%02x%02x", id[0], id[1], id[2], id[3]);
    blob[0] = COSIG_ALG;
    memcpy(blob + 1, pub, 32);
    if ((r = trail_buf_append(out, name, strlen(name))) < 0 ||
        (r = trail_buf_append(out, "+", 1)) < 0 || (r = trail_buf_append(out, hex, 8)) < 0 ||
        (r = trail_buf_append(out, "+", 1)) < 0)
        return r;
    return b64_encode(blob, sizeof(blob), out);
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int trail_witness_parse(const char *text, size_t len, struct trail_witness *ret)
{
    struct trail_witness w;
    uint8_t blob[34], id[NOTE_KEY_ID_LEN];
    const char *p1 = text ? memchr(text, '+', len) : NULL;
    if (!p1)
        return TRAIL_E_PARSE;
    size_t name_len = (size_t)(p1 - text);
    if (!note_name_valid(text, name_len) || name_len > TRAIL_ORIGIN_MAX)
        return TRAIL_E_PARSE;
    /* NAME+8 hex digits+base64 */
    if (len < name_len + 1 + 8 + 1 || text[name_len + 9] != '+')
        return TRAIL_E_PARSE;
    uint8_t written[NOTE_KEY_ID_LEN];
    for (int i = 0; i < NOTE_KEY_ID_LEN; i++) {
        int hi = hex_nibble(text[name_len + 1 + 2 * i]),
            lo = hex_nibble(text[name_len + 2 + 2 * i]);
        if (hi < 0 || lo < 0)
            return TRAIL_E_PARSE;
        written[i] = (uint8_t)(hi << 4 | lo);
    }
    const char *b64 = text + name_len + 10;
    if (b64_decode(b64, len - (name_len + 10), blob, sizeof(blob)) != 33 || blob[0] != COSIG_ALG)
        return TRAIL_E_PARSE;
    memset(&w, 0, sizeof(w));
    memcpy(w.name, text, name_len);
    memcpy(w.pub, blob + 1, 32);
    if (cosig_key_id(w.name, name_len, w.pub, id) < 0 || memcmp(id, written, sizeof(id)) != 0)
        return TRAIL_E_PARSE;
    memcpy(w.key_id, id, sizeof(id));
    *ret = w;
    return 0;
}

/* "cosignature/v1\ntime T\n" and the checkpoint's note text: what a cosignature signs. */
static int cosig_message(const struct trail_checkpoint *cp, uint64_t time_s, struct trail_buf *out)
{
    char head[64];
    int n = snprintf(head, sizeof(head), "cosignature/v1\ntime %" PRIu64 "\n", time_s);
    if (cp->legacy)
        return -EINVAL;
    int r = trail_buf_append(out, head, (size_t)n);
    return r < 0 ? r : trail_checkpoint_message(cp, out);
}

int trail_cosignature_sign(const struct trail_key *key, const char *name,
                           const struct trail_checkpoint *cp, uint64_t time_s,
                           struct trail_buf *out)
{
    struct trail_buf msg = {0};
    uint8_t pub[32], id[NOTE_KEY_ID_LEN], sig[TRAIL_SIGNATURE_LEN], blob[8 + TRAIL_SIGNATURE_LEN];
    int r;
    if (!name || !note_name_valid(name, strlen(name)) || strlen(name) > TRAIL_ORIGIN_MAX ||
        !trail_key_has_private(key))
        return -EINVAL;
    trail_key_public_raw(key, pub);
    if ((r = cosig_key_id(name, strlen(name), pub, id)) < 0 ||
        (r = cosig_message(cp, time_s, &msg)) < 0 ||
        (r = key_sign(key, msg.data, msg.len, sig)) < 0)
        goto out;
    for (int i = 0; i < 8; i++)
        blob[i] = (uint8_t)(time_s >> (56 - 8 * i));
    memcpy(blob + 8, sig, sizeof(sig));
    r = note_signature_line(name, id, blob, sizeof(blob), out);
out:
    trail_buf_free(&msg);
    return r;
}

static int ed25519_verify(const uint8_t pub[32], const uint8_t sig[TRAIL_SIGNATURE_LEN],
                          const struct trail_buf *msg)
{
    EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
    EVP_MD_CTX *ctx = pkey ? EVP_MD_CTX_new() : NULL;
    int r;
    if (!ctx || EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) != 1)
        r = pkey ? -ENOMEM : TRAIL_E_SIGNATURE; /* a public key OpenSSL refuses verifies nothing */
    else
        r = EVP_DigestVerify(ctx, sig, TRAIL_SIGNATURE_LEN, (const unsigned char *)msg->data,
                             msg->len) == 1
                ? 0
                : TRAIL_E_SIGNATURE;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    ERR_clear_error();
    return r;
}

int trail_cosignature_verify(const struct trail_witness *w, const struct trail_checkpoint *cp,
                             const char *line, size_t len, uint64_t *ret_time_s)
{
    const char *name;
    size_t name_len, sig_len;
    uint8_t id[NOTE_KEY_ID_LEN], blob[128];
    struct trail_buf msg = {0};
    uint64_t t = 0;
    if (cp->legacy)
        return -EINVAL;
    if (note_signature_parse(line, len, &name, &name_len, id, blob, sizeof(blob), &sig_len) < 0)
        return TRAIL_E_PARSE;
    if (name_len != strlen(w->name) || memcmp(name, w->name, name_len) != 0 ||
        memcmp(id, w->key_id, NOTE_KEY_ID_LEN) != 0)
        return TRAIL_E_NOT_FOUND;
    if (sig_len != 8 + TRAIL_SIGNATURE_LEN)
        return TRAIL_E_SIGNATURE; /* this witness's key id, not its form: never valid */
    for (int i = 0; i < 8; i++)
        t = t << 8 | blob[i];
    int r = cosig_message(cp, t, &msg);
    if (r == 0)
        r = ed25519_verify(w->pub, blob + 8, &msg);
    trail_buf_free(&msg);
    if (r == 0 && ret_time_s)
        *ret_time_s = t;
    return r;
}

/* ---- the add-checkpoint request ---- */

static int req_fail(char *err, size_t errlen, int line, const char *what)
{
    if (err && errlen)
        snprintf(err, errlen, "line %d: %s", line, what);
    return TRAIL_E_PARSE;
}

int witness_request_parse(const char *text, size_t len, struct witness_request *ret, char *err,
                          size_t errlen)
{
    struct witness_request q;
    size_t pos = 0;
    int line = 1;
    memset(&q, 0, sizeof(q));
    if (!text)
        return req_fail(err, errlen, 1, "no body");
    for (;; line++) {
        const char *l = text + pos;
        const char *nl = memchr(l, '\n', len - pos);
        if (!nl)
            return req_fail(err, errlen, line, "no blank line before the checkpoint");
        size_t n = (size_t)(nl - l);
        pos += n + 1;
        if (line == 1) {
            if (n < 5 || memcmp(l, "old ", 4) != 0 ||
                integrity_parse_u64(l + 4, n - 4, &q.old_size) < 0)
                return req_fail(err, errlen, line, "not \"old SIZE\"");
            continue;
        }
        if (n == 0)
            break;
        uint8_t h[TRAIL_HASH_LEN + 2];
        if (q.n_proof == WITNESS_PROOF_MAX)
            return req_fail(err, errlen, line, "more proof lines than any proof has");
        if (b64_decode(l, n, h, sizeof(h)) != TRAIL_HASH_LEN)
            return req_fail(err, errlen, line, "not a base64 hash of 32 bytes");
        memcpy(q.proof[q.n_proof++], h, TRAIL_HASH_LEN);
    }
    if (pos >= len)
        return req_fail(err, errlen, line + 1, "no checkpoint after the blank line");
    if (memchr(text, '\0', len))
        return req_fail(err, errlen, line, "a NUL byte");
    q.note = text + pos;
    q.note_len = len - pos;
    *ret = q;
    return 0;
}

int witness_request_format(uint64_t old_size, const struct trail_proof *proof, const char *note,
                           size_t note_len, struct trail_buf *out)
{
    char head[40];
    int n = snprintf(head, sizeof(head), "old %" PRIu64 "\n", old_size), r;
    uint32_t np = proof ? proof->n_path : 0;
    if (np > WITNESS_PROOF_MAX)
        return -EINVAL;
    if ((r = trail_buf_append(out, head, (size_t)n)) < 0)
        return r;
    for (uint32_t i = 0; i < np; i++)
        if ((r = b64_encode(proof->path[i], TRAIL_HASH_LEN, out)) < 0 ||
            (r = trail_buf_append(out, "\n", 1)) < 0)
            return r;
    if ((r = trail_buf_append(out, "\n", 1)) < 0)
        return r;
    return trail_buf_append(out, note, note_len);
}

/* ---- policies ---- */

struct trail_witness_policy {
    size_t n, quorum;
    struct trail_witness w[POLICY_MAX];
    char label[POLICY_MAX][64];
};

static int pol_fail(char *err, size_t errlen, int line, const char *what)
{
    if (err && errlen)
        snprintf(err, errlen, "line %d: %s", line, what);
    return TRAIL_E_PARSE;
}

/* the next space-separated word of l[*pos..n) */
static int word(const char *l, size_t n, size_t *pos, const char **ret, size_t *ret_len)
{
    while (*pos < n && (l[*pos] == ' ' || l[*pos] == '\t'))
        (*pos)++;
    size_t s = *pos;
    while (*pos < n && l[*pos] != ' ' && l[*pos] != '\t')
        (*pos)++;
    *ret = l + s;
    *ret_len = *pos - s;
    return *ret_len > 0;
}

int trail_witness_policy_parse(const char *text, size_t len, struct trail_witness_policy **ret,
                               char *err, size_t errlen)
{
    struct trail_witness_policy *p = calloc(1, sizeof(*p));
    int have_quorum = 0, r = TRAIL_E_PARSE;
    uint64_t quorum = 0;
    if (!p)
        return -ENOMEM;
    size_t pos = 0;
    for (int line = 1; pos < len; line++) {
        const char *l = text + pos, *nl = memchr(l, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - l) : len - pos, at = 0, wl;
        const char *w;
        pos += n + 1;
        if (memchr(l, '\0', n)) {
            pol_fail(err, errlen, line, "a NUL byte");
            goto fail;
        }
        const char *hash = memchr(l, '#', n);
        if (hash)
            n = (size_t)(hash - l);
        if (!word(l, n, &at, &w, &wl))
            continue;
        if (wl == 7 && !memcmp(w, "witness", 7)) {
            const char *label, *key;
            size_t ll, kl;
            if (!word(l, n, &at, &label, &ll) || !word(l, n, &at, &key, &kl)) {
                pol_fail(err, errlen, line, "want \"witness LABEL VERIFIER_KEY\"");
                goto fail;
            }
            if (ll >= sizeof(p->label[0])) {
                pol_fail(err, errlen, line, "the label is over 63 bytes");
                goto fail;
            }
            if (p->n == POLICY_MAX) {
                pol_fail(err, errlen, line, "more than 64 witnesses");
                goto fail;
            }
            if (trail_witness_parse(key, kl, &p->w[p->n]) < 0) {
                pol_fail(err, errlen, line,
                         "not a cosigner verifier key (NAME+KEYID+BASE64 of 0x04 and the key)");
                goto fail;
            }
            for (size_t i = 0; i < p->n; i++)
                if (!memcmp(p->w[i].pub, p->w[p->n].pub, 32) &&
                    !strcmp(p->w[i].name, p->w[p->n].name)) {
                    pol_fail(err, errlen, line, "the same witness twice");
                    goto fail;
                }
            memcpy(p->label[p->n], label, ll);
            p->n++;
        } else if (wl == 6 && !memcmp(w, "quorum", 6)) {
            const char *k;
            size_t kl;
            if (have_quorum || !word(l, n, &at, &k, &kl) ||
                integrity_parse_u64(k, kl, &quorum) < 0 || quorum == 0) {
                pol_fail(err, errlen, line,
                         have_quorum ? "quorum given twice" : "want \"quorum K\", K >= 1");
                goto fail;
            }
            have_quorum = line;
        } else {
            pol_fail(err, errlen, line, "unknown item (known: witness, quorum)");
            goto fail;
        }
        if (word(l, n, &at, &w, &wl)) {
            pol_fail(err, errlen, line, "more words than the item takes");
            goto fail;
        }
    }
    if (p->n == 0) {
        pol_fail(err, errlen, 1, "no witness in the policy");
        goto fail;
    }
    if (have_quorum && quorum > p->n) {
        pol_fail(err, errlen, have_quorum, "the quorum is more than the witnesses named");
        goto fail;
    }
    p->quorum = have_quorum ? (size_t)quorum : p->n;
    *ret = p;
    return 0;
fail:
    free(p);
    return r;
}

void trail_witness_policy_free(struct trail_witness_policy *p)
{
    free(p);
}

void trail_witness_policy_size(const struct trail_witness_policy *p, size_t *ret_witnesses,
                               size_t *ret_quorum)
{
    *ret_witnesses = p->n;
    *ret_quorum = p->quorum;
}

int trail_witness_policy_check(const struct trail_witness_policy *p,
                               const struct trail_checkpoint *cp, const char *text, size_t len,
                               size_t *ret_valid, size_t *ret_quorum)
{
    size_t text_len, sigs, valid = 0;
    int ok[POLICY_MAX] = {0};
    if (!text || note_split(text, len, &text_len, &sigs) < 0)
        return TRAIL_E_PARSE;
    for (size_t pos = sigs; pos < len;) {
        const char *l = text + pos, *nl = memchr(l, '\n', len - pos);
        size_t n = (size_t)(nl - l);
        for (size_t i = 0; i < p->n; i++) {
            if (ok[i])
                continue;
            int r = trail_cosignature_verify(&p->w[i], cp, l, n, NULL);
            if (r == -ENOMEM || r == -EINVAL)
                return r;
            if (r == 0) {
                ok[i] = 1;
                valid++;
            }
        }
        pos += n + 1;
    }
    *ret_valid = valid;
    *ret_quorum = p->quorum;
    return valid >= p->quorum ? 0 : TRAIL_E_SIGNATURE;
}
