/*
 * test_witness.c - C2SP witnesses in libtrail: cosigner verifier keys,
 * cosignature/v1 lines (signed, then checked here by hand with OpenSSL
 * against the spec's layout), witness policies (k of n) and the
 * add-checkpoint request body, with each malformed input refused clearly.
 *
 * Not here: traild's witness and the witness sink (integration/witness.sh),
 * the fuzz target (tests/fuzz/fuzz_witness.c).
 */
#include "harness.h"
#include "integrity/witness.h"
#include "trail.h"

#include <errno.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

static struct trail_key *log_key, *w1, *w2;
static struct trail_checkpoint cp;
static struct trail_buf note;

static char *vkey(struct trail_key *k, const char *name)
{
    struct trail_buf b = {0};
    if (trail_witness_verifier(k, name, &b) < 0 || trail_buf_append(&b, "", 1) < 0)
        return NULL;
    return b.data;
}

TEST(setup)
{
    ASSERT_OK(trail_key_generate(NULL, NULL, &log_key));
    ASSERT_OK(trail_key_generate(NULL, NULL, &w1));
    ASSERT_OK(trail_key_generate(NULL, NULL, &w2));
    memset(&cp, 0, sizeof(cp));
    strcpy(cp.origin, "example.org/log");
    cp.tree_size = 1200;
    memset(cp.root, 0xab, sizeof(cp.root));
    memset(cp.chain, 0x11, sizeof(cp.chain));
    cp.time_us = 1764000000000000;
    ASSERT_OK(trail_checkpoint_sign(&cp, log_key));
    ASSERT_OK(trail_checkpoint_note(&cp, &note));
}

/* the key id, the message and the blob, computed here from the spec, not by the library */
TEST(cosignature_layout_by_hand)
{
    struct trail_buf line = {0}, msg = {0};
    uint8_t pub[32], blob[4 + 8 + 64], want_id[SHA256_DIGEST_LENGTH], buf[128];
    const char *name = "witness.example/w1";
    ASSERT_OK(trail_cosignature_sign(w1, name, &cp, 1764000123, &line));
    ASSERT(line.len > 0 && line.data[line.len - 1] == '\n');
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "\xe2\x80\x94 %s ", name);
    ASSERT(!strncmp(line.data, prefix, strlen(prefix)));
    const char *b64 = line.data + strlen(prefix);
    int n = EVP_DecodeBlock(blob, (const unsigned char *)b64, (int)(line.len - strlen(prefix) - 1));
    ASSERT_EQ(n, 78); /* 76 bytes, padded to 78 by EVP_DecodeBlock's 3-byte groups */
    ASSERT_OK(trail_key_public_raw(w1, pub));
    size_t nl = strlen(name);
    memcpy(buf, name, nl);
    buf[nl] = '\n';
    buf[nl + 1] = 0x04;
    memcpy(buf + nl + 2, pub, 32);
    SHA256(buf, nl + 34, want_id);
    ASSERT_MEMEQ(blob, want_id, 4);
    uint64_t t = 0;
    for (int i = 0; i < 8; i++)
        t = t << 8 | blob[4 + i];
    ASSERT_EQ(t, 1764000123);
    const char *head = "cosignature/v1\ntime 1764000123\n";
    ASSERT_OK(trail_buf_append(&msg, head, strlen(head)));
    ASSERT_OK(trail_checkpoint_message(&cp, &msg));
    EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    ASSERT(pk && ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) == 1);
    ASSERT_EQ(EVP_DigestVerify(ctx, blob + 12, 64, (const unsigned char *)msg.data, msg.len), 1);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pk);
    trail_buf_free(&line);
    trail_buf_free(&msg);
}

/* the log's verifier key gives back the key that verifies its checkpoints */
TEST(log_verifier_key)
{
    struct trail_buf v = {0};
    struct trail_key *k = NULL;
    char name[TRAIL_ORIGIN_MAX + 1];
    ASSERT_OK(trail_key_verifier(log_key, "example.org/log", &v));
    ASSERT_OK(trail_key_from_verifier(v.data, v.len, name, &k));
    ASSERT_STREQ(name, "example.org/log");
    ASSERT_EQ(trail_key_has_private(k), 0);
    ASSERT_OK(trail_checkpoint_verify(&cp, k));
    trail_key_free(k);
    /* a cosigner key (type 0x04) is not a log's */
    trail_buf_reset(&v);
    ASSERT_OK(trail_witness_verifier(log_key, "example.org/log", &v));
    ASSERT_EQ(trail_key_from_verifier(v.data, v.len, name, &k), TRAIL_E_PARSE);
    trail_buf_reset(&v);
    ASSERT_OK(trail_key_verifier(log_key, "example.org/log", &v));
    v.data[16] = v.data[16] == 'a' ? 'b' : 'a'; /* the key id */
    ASSERT_EQ(trail_key_from_verifier(v.data, v.len, name, &k), TRAIL_E_PARSE);
    ASSERT_EQ(trail_key_from_verifier("x", 1, name, &k), TRAIL_E_PARSE);
    trail_buf_free(&v);
}

TEST(verifier_key_round_trip)
{
    char *v = vkey(w1, "witness.example/w1");
    struct trail_witness w;
    uint8_t pub[32];
    ASSERT(v);
    ASSERT_OK(trail_witness_parse(v, strlen(v), &w));
    ASSERT_STREQ(w.name, "witness.example/w1");
    ASSERT_OK(trail_key_public_raw(w1, pub));
    ASSERT_MEMEQ(w.pub, pub, 32);
    /* a wrong key id, another type byte, a missing part: each refused */
    char bad[256];
    snprintf(bad, sizeof(bad), "%s", v);
    char *id = strchr(bad, '+') + 1;
    id[0] = id[0] == '0' ? '1' : '0';
    ASSERT_EQ(trail_witness_parse(bad, strlen(bad), &w), TRAIL_E_PARSE);
    struct trail_buf note_vkey = {0};
    ASSERT_OK(trail_key_verifier(w1, "witness.example/w1", &note_vkey)); /* type 0x01 */
    ASSERT_EQ(trail_witness_parse(note_vkey.data, note_vkey.len, &w), TRAIL_E_PARSE);
    ASSERT_EQ(trail_witness_parse("witness.example/w1", 18, &w), TRAIL_E_PARSE);
    ASSERT_EQ(trail_witness_parse("", 0, &w), TRAIL_E_PARSE);
    ASSERT_EQ(trail_witness_verifier(w1, "bad name", &note_vkey), -EINVAL);
    trail_buf_free(&note_vkey);
    free(v);
}

TEST(cosignature_verify_and_refuse)
{
    struct trail_buf line = {0};
    struct trail_witness w, other;
    char *v = vkey(w1, "w1"), *v2 = vkey(w2, "w2");
    uint64_t t = 0;
    ASSERT_OK(trail_witness_parse(v, strlen(v), &w));
    ASSERT_OK(trail_witness_parse(v2, strlen(v2), &other));
    ASSERT_OK(trail_cosignature_sign(w1, "w1", &cp, 42, &line));
    size_t n = line.len - 1;
    ASSERT_OK(trail_cosignature_verify(&w, &cp, line.data, n, &t));
    ASSERT_EQ(t, 42);
    ASSERT_EQ(trail_cosignature_verify(&other, &cp, line.data, n, NULL), TRAIL_E_NOT_FOUND);
    /* another checkpoint: the same line does not verify */
    struct trail_checkpoint cp2 = cp;
    cp2.tree_size++;
    ASSERT_EQ(trail_cosignature_verify(&w, &cp2, line.data, n, NULL), TRAIL_E_SIGNATURE);
    /* a flipped byte in the base64 */
    line.data[n - 5] = line.data[n - 5] == 'A' ? 'B' : 'A';
    ASSERT_EQ(trail_cosignature_verify(&w, &cp, line.data, n, NULL), TRAIL_E_SIGNATURE);
    ASSERT_EQ(trail_cosignature_verify(&w, &cp, "no line", 7, NULL), TRAIL_E_PARSE);
    /* the log's own signature line is no cosignature of w */
    const char *sig = strstr(note.data, "\n\n") + 2;
    ASSERT_EQ(trail_cosignature_verify(&w, &cp, sig, strlen(sig) - 1, NULL), TRAIL_E_NOT_FOUND);
    /* a key without its private half cannot sign */
    ASSERT_EQ(trail_cosignature_sign(w1, "bad name", &cp, 1, &line), -EINVAL);
    trail_buf_free(&line);
    free(v);
    free(v2);
}

static struct trail_witness_policy *policy(const char *text, char *err)
{
    struct trail_witness_policy *p = NULL;
    err[0] = '\0';
    if (trail_witness_policy_parse(text, strlen(text), &p, err, 200) < 0)
        return NULL;
    return p;
}

TEST(policy_k_of_n)
{
    char *v1 = vkey(w1, "w1"), *v2 = vkey(w2, "w2"), text[1024], err[200];
    struct trail_buf cosigned = {0};
    size_t valid = 0, quorum = 0;
    snprintf(text, sizeof(text),
             "# two witnesses, one will do\nwitness one %s\nwitness two %s\n"
             "quorum 1\n",
             v1, v2);
    struct trail_witness_policy *p = policy(text, err);
    ASSERT(p);
    /* the note alone: no cosignature */
    ASSERT_EQ(trail_witness_policy_check(p, &cp, note.data, note.len, &valid, &quorum),
              TRAIL_E_SIGNATURE);
    ASSERT_EQ(valid, 0);
    ASSERT_EQ(quorum, 1);
    ASSERT_OK(trail_buf_append(&cosigned, note.data, note.len));
    ASSERT_OK(trail_cosignature_sign(w2, "w2", &cp, 7, &cosigned));
    ASSERT_OK(trail_witness_policy_check(p, &cp, cosigned.data, cosigned.len, &valid, &quorum));
    ASSERT_EQ(valid, 1);
    trail_witness_policy_free(p);
    /* all of them by default; the same witness twice counts once */
    snprintf(text, sizeof(text), "witness one %s\nwitness two %s\n", v1, v2);
    p = policy(text, err);
    ASSERT(p);
    ASSERT_OK(trail_cosignature_sign(w2, "w2", &cp, 8, &cosigned));
    ASSERT_EQ(trail_witness_policy_check(p, &cp, cosigned.data, cosigned.len, &valid, &quorum),
              TRAIL_E_SIGNATURE);
    ASSERT_EQ(valid, 1);
    ASSERT_EQ(quorum, 2);
    ASSERT_OK(trail_cosignature_sign(w1, "w1", &cp, 9, &cosigned));
    ASSERT_OK(trail_witness_policy_check(p, &cp, cosigned.data, cosigned.len, &valid, &quorum));
    ASSERT_EQ(valid, 2);
    trail_witness_policy_free(p);
    trail_buf_free(&cosigned);
    free(v1);
    free(v2);
}

TEST(policy_errors)
{
    char *v1 = vkey(w1, "w1"), text[1024], err[200];
    struct {
        const char *fmt, *want;
    } bad[] = {
        {"", "line 1: no witness in the policy"},
        {"quorum 1\n", "line 1: no witness in the policy"},
        {"witness one\n", "line 1: want \"witness LABEL VERIFIER_KEY\""},
        {"witness one %s\nquorum 2\n", "line 2: the quorum is more than the witnesses named"},
        {"witness one %s\nquorum 0\n", "line 2: want \"quorum K\", K >= 1"},
        {"witness one %s\nquorum 1\nquorum 1\n", "line 3: quorum given twice"},
        {"witness one %s\nwitness again %s\n", "line 2: the same witness twice"},
        {"witness one notakey\n",
         "line 1: not a cosigner verifier key (NAME+KEYID+BASE64 of 0x04 and the key)"},
        {"witnesses one %s\n", "line 1: unknown item (known: witness, quorum)"},
        {"witness one %s extra\n", "line 1: more words than the item takes"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), bad[i].fmt, v1, v1);
        struct trail_witness_policy *p = policy(text, err);
        if (p)
            FAIL_AT("accepted: %s", text);
        ASSERT_STREQ(err, bad[i].want);
    }
    free(v1);
}

TEST(request_round_trip)
{
    struct trail_proof proof;
    struct trail_buf body = {0};
    struct witness_request q;
    char err[200];
    memset(&proof, 0, sizeof(proof));
    proof.type = TRAIL_PROOF_CONSISTENCY;
    proof.old_size = 1000;
    proof.tree_size = 1200;
    proof.n_path = 3;
    for (int i = 0; i < 3; i++)
        memset(proof.path[i], 0x30 + i, TRAIL_HASH_LEN);
    ASSERT_OK(witness_request_format(1000, &proof, note.data, note.len, &body));
    ASSERT(!strncmp(body.data, "old 1000\nMDAw", 13));
    ASSERT_OK(witness_request_parse(body.data, body.len, &q, err, sizeof(err)));
    ASSERT_EQ(q.old_size, 1000);
    ASSERT_EQ(q.n_proof, 3);
    ASSERT_MEMEQ(q.proof[2], proof.path[2], TRAIL_HASH_LEN);
    ASSERT_EQ(q.note_len, note.len);
    ASSERT_MEMEQ(q.note, note.data, note.len);
    trail_buf_reset(&body);
    ASSERT_OK(witness_request_format(0, NULL, note.data, note.len, &body));
    ASSERT_OK(witness_request_parse(body.data, body.len, &q, err, sizeof(err)));
    ASSERT_EQ(q.old_size, 0);
    ASSERT_EQ(q.n_proof, 0);
    trail_buf_free(&body);
}

TEST(request_errors)
{
    struct witness_request q;
    char err[200];
    struct {
        const char *body, *want;
    } bad[] = {
        {"", "line 1: no blank line before the checkpoint"},
        {"old 5", "line 1: no blank line before the checkpoint"},
        {"new 5\n\nx\n", "line 1: not \"old SIZE\""},
        {"old 05\n\nx\n", "line 1: not \"old SIZE\""},
        {"old -1\n\nx\n", "line 1: not \"old SIZE\""},
        {"old \n\nx\n", "line 1: not \"old SIZE\""},
        {"old 5\nnot base64\n\nx\n", "line 2: not a base64 hash of 32 bytes"},
        {"old 5\nAAAA\n\nx\n", "line 2: not a base64 hash of 32 bytes"},
        {"old 5\n\n", "line 3: no checkpoint after the blank line"},
        {"old 5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
         "line 3: no blank line before the checkpoint"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (witness_request_parse(bad[i].body, strlen(bad[i].body), &q, err, sizeof(err)) !=
            TRAIL_E_PARSE)
            FAIL_AT("accepted: %s", bad[i].body);
        ASSERT_STREQ(err, bad[i].want);
    }
    /* 64 proof lines: more than any proof over 2^64 leaves */
    struct trail_buf b = {0};
    ASSERT_OK(trail_buf_append(&b, "old 1\n", 6));
    for (int i = 0; i < 64; i++)
        ASSERT_OK(trail_buf_append(&b, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", 45));
    ASSERT_OK(trail_buf_append(&b, "\nx\n", 3));
    ASSERT_EQ(witness_request_parse(b.data, b.len, &q, err, sizeof(err)), TRAIL_E_PARSE);
    ASSERT_STREQ(err, "line 65: more proof lines than any proof has");
    trail_buf_free(&b);
}

TEST(cleanup)
{
    trail_key_free(log_key);
    trail_key_free(w1);
    trail_key_free(w2);
    trail_buf_free(&note);
}

TEST_MAIN(setup, cosignature_layout_by_hand, log_verifier_key, verifier_key_round_trip,
          cosignature_verify_and_refuse, policy_k_of_n, policy_errors, request_round_trip,
          request_errors, cleanup)
