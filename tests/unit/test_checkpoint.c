/*
 * test_checkpoint.c - Ed25519 keys and signed checkpoints (lib/integrity/checkpoint.c):
 * key files (mode, no overwrite, loading), signing and verification, the
 * signed message, the one-line form and its strict parser.
 *
 * Known answers computed outside trail, with the private key of RFC 8032's
 * first Ed25519 test vector (seed 9d61b19d...7f60, public key d75a9801...511a):
 *
 *   echo 302e020100300506032b657004220420<seed> | xxd -r -p > k.der
 *   openssl pkey -inform DER -in k.der -out k.pem
 *   openssl pkey -pubin -in k.pub -outform DER | tail -c 32 \
 *     | openssl dgst -sha256 -binary | head -c 4 | xxd -p       -> 21fe31df
 *   printf 'trail-checkpoint/1\norigin test-store\n...key 21fe31df\n' > msg
 *   openssl pkeyutl -sign -rawin -inkey k.pem -in msg | base64 -w0
 *
 * Ed25519 is deterministic, so the signature below is the one trail must make.
 * That is the legacy trail-checkpoint/1 form (still verified). The C2SP note
 * of the same checkpoint was made by Go's golang.org/x/mod/sumdb/note
 * (note.NewSigner with "PRIVATE+KEY+test-store+8f0a8be5+" and base64 of 0x01
 * || the seed, note.Sign over the five-line text): KNOWN_NOTE below.
 * Not for: proofs (test_proof.c), hashing (test_merkle.c).
 */
#include "harness.h"
#include "integrity/merkle.h"
#include "trail.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

static const char rfc8032_private_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";
static const char rfc8032_public_pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
    "-----END PUBLIC KEY-----\n";

#define ROOT_HEX  "fbd7da50d531cd0ff27a7b9c0f705d2f4a3f099242f5fb8f2d6be4724fd2ca96"
#define CHAIN_HEX "2cefc5ff3700cdb55c0665a08eae6089eba210138564516602c9f4b307e656c5"
#define SIG_B64                                                                                    \
    "WUDtJmXO49MLLRyE1ZFNpVTQnARCOqKvpaIMsw4Sqqel6kvewZcE5SLGdYfC3We1H/gilHgBJw1d3hnRzf9mAA=="
#define KNOWN_LINE                                                                                 \
    "trail-checkpoint/1 test-store 70 " ROOT_HEX " " CHAIN_HEX " 1764000000000000 "                \
    "21fe31df " SIG_B64
#define KNOWN_MESSAGE                                                                              \
    "trail-checkpoint/1\norigin test-store\nsize 70\nroot " ROOT_HEX "\nchain " CHAIN_HEX          \
    "\ntime 1764000000000000\nkey 21fe31df\n"

#define KNOWN_NOTE                                                                                 \
    "test-store\n70\n+9faUNUxzQ/yenucD3BdL0o/CZJC9fuPLWvkck/SypY=\ntrail-time 1764000000000000\n"  \
    "trail-chain " CHAIN_HEX "\n\n\xe2\x80\x94 test-store "                                        \
    "jwqL5Vn7S4FWf30YIJohng8brlFTtlB87Nh5WyQ3WEC8CGczU+UUKuXfZNwqIcJ/"                             \
    "yGBip7b5rVMGezGtWIs1m3O5Pgo=\n"
#define KNOWN_VKEY "test-store+8f0a8be5+AddamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea"

static char dir[256];

static void path_in_dir(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", dir, name);
}

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    fputs(text, f);
    return fclose(f) == 0 ? 0 : -errno;
}

static void known_checkpoint(struct trail_checkpoint *cp)
{
    memset(cp, 0, sizeof(*cp));
    strcpy(cp->origin, "test-store");
    cp->tree_size = 70;
    trail_hash_from_hex(ROOT_HEX, 64, cp->root);
    trail_hash_from_hex(CHAIN_HEX, 64, cp->chain);
    cp->time_us = 1764000000000000;
}

static struct trail_key *load_known_private(void)
{
    char path[300];
    struct trail_key *key = NULL;
    path_in_dir(path, sizeof(path), "rfc8032.key");
    write_text(path, rfc8032_private_pem);
    if (trail_key_load_private(path, &key) != 0)
        return NULL;
    return key;
}

TEST(setup)
{
    snprintf(dir, sizeof(dir), "/tmp/trail-test-checkpoint-XXXXXX");
    ASSERT(mkdtemp(dir) != NULL);
}

TEST(known_answer_signature)
{
    struct trail_key *key = load_known_private();
    struct trail_checkpoint cp;
    struct trail_buf buf = {0};
    ASSERT(key != NULL);
    ASSERT_STREQ(trail_key_id(key), "21fe31df");
    ASSERT_EQ(trail_key_has_private(key), 1);
    uint8_t raw[32], want_raw[32];
    ASSERT_OK(trail_key_public_raw(key, raw));
    trail_hash_from_hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", 64,
                        want_raw);
    ASSERT_MEMEQ(raw, want_raw, 32);

    known_checkpoint(&cp);
    cp.legacy = 1;
    ASSERT_OK(trail_checkpoint_sign(&cp, key));
    ASSERT_STREQ(cp.key_id, "21fe31df");
    ASSERT_OK(trail_checkpoint_message(&cp, &buf));
    ASSERT_STREQ(buf.data, KNOWN_MESSAGE);
    trail_buf_reset(&buf);
    ASSERT_OK(trail_checkpoint_format(&cp, &buf));
    ASSERT_STREQ(buf.data, KNOWN_LINE);
    ASSERT_OK(trail_checkpoint_verify(&cp, key));
    trail_buf_free(&buf);
    trail_key_free(key);
}

TEST(known_answer_note)
{
    struct trail_key *key = load_known_private();
    struct trail_checkpoint cp, back;
    struct trail_buf buf = {0};
    ASSERT(key != NULL);
    ASSERT_OK(trail_key_verifier(key, "test-store", &buf));
    ASSERT_EQ(buf.len, strlen(KNOWN_VKEY));
    ASSERT_MEMEQ(buf.data, KNOWN_VKEY, buf.len);
    trail_buf_reset(&buf);
    ASSERT_EQ(trail_key_verifier(key, "a+b", &buf), -EINVAL);
    ASSERT_EQ(trail_key_verifier(key, "a b", &buf), -EINVAL);
    ASSERT_EQ(trail_key_verifier(key, "", &buf), -EINVAL);

    known_checkpoint(&cp);
    ASSERT_OK(trail_checkpoint_sign(&cp, key));
    ASSERT_STREQ(cp.key_id, "8f0a8be5"); /* SHA-256("test-store\n" 0x01 pub)[0..4] */
    ASSERT_EQ(trail_checkpoint_signed_by(&cp, key), 1);
    ASSERT_OK(trail_checkpoint_note(&cp, &buf));
    ASSERT_EQ(buf.len, strlen(KNOWN_NOTE));
    ASSERT_MEMEQ(buf.data, KNOWN_NOTE, buf.len);
    ASSERT_OK(trail_checkpoint_verify(&cp, key));

    /* the note reads back, with a cosignature line after ours skipped */
    ASSERT_OK(trail_checkpoint_note_parse(buf.data, buf.len, &back));
    ASSERT_EQ(memcmp(&back, &cp, sizeof(cp)), 0);
    const char cosig[] =
        "\xe2\x80\x94 witness.example "
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n";
    ASSERT_OK(trail_buf_append(&buf, cosig, strlen(cosig)));
    ASSERT_OK(trail_checkpoint_note_parse(buf.data, buf.len, &back));
    ASSERT_OK(trail_checkpoint_verify(&back, key));

    /* the line form carries the same checkpoint (version 2) */
    trail_buf_reset(&buf);
    ASSERT_OK(trail_checkpoint_format(&cp, &buf));
    ASSERT(strncmp(buf.data, "trail-checkpoint/2 test-store 70 ", 33) == 0);
    ASSERT_OK(trail_checkpoint_parse(buf.data, buf.len, &back));
    ASSERT_EQ(back.legacy, 0);
    ASSERT_OK(trail_checkpoint_verify(&back, key));

    /* a changed body, an origin with '+', a note without our signature, all refused */
    char note[600];
    snprintf(note, sizeof(note), "%s", KNOWN_NOTE);
    note[14] = '1'; /* size 71 */
    ASSERT_OK(trail_checkpoint_note_parse(note, strlen(note), &back));
    ASSERT_EQ(trail_checkpoint_verify(&back, key), TRAIL_E_SIGNATURE);
    snprintf(note, sizeof(note), "%s", KNOWN_NOTE);
    memcpy(strstr(note, "\xe2\x80\x94 test-store") + 4, "test-stork", 10);
    ASSERT_EQ(trail_checkpoint_note_parse(note, strlen(note), &back), TRAIL_E_PARSE);
    snprintf(note, sizeof(note), "%s", KNOWN_NOTE);
    memcpy(strstr(note, "trail-time"), "trail-tame", 10);
    ASSERT_EQ(trail_checkpoint_note_parse(note, strlen(note), &back), TRAIL_E_PARSE);
    ASSERT_EQ(trail_checkpoint_note_parse(KNOWN_NOTE, strlen(KNOWN_NOTE) - 1, &back),
              TRAIL_E_PARSE);
    known_checkpoint(&cp);
    strcpy(cp.origin, "a+b");
    ASSERT_EQ(trail_checkpoint_sign(&cp, key), -EINVAL);
    trail_buf_free(&buf);
    trail_key_free(key);
}

TEST(public_key_file_and_independent_verification)
{
    char path[300];
    struct trail_key *pub = NULL;
    struct trail_checkpoint cp;
    path_in_dir(path, sizeof(path), "rfc8032.pub");
    ASSERT_OK(write_text(path, rfc8032_public_pem));
    ASSERT_OK(trail_key_load_public(path, &pub));
    ASSERT_STREQ(trail_key_id(pub), "21fe31df");
    ASSERT_EQ(trail_key_has_private(pub), 0);
    ASSERT_OK(trail_checkpoint_parse(KNOWN_LINE, strlen(KNOWN_LINE), &cp));
    ASSERT_OK(trail_checkpoint_verify(&cp, pub));
    /* a public key cannot sign */
    ASSERT_EQ(trail_checkpoint_sign(&cp, pub), -EINVAL);

    /* OpenSSL alone, over the documented message text, agrees */
    FILE *f = fopen(path, "r");
    ASSERT(f != NULL);
    EVP_PKEY *pkey = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    ASSERT(pkey != NULL);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    ASSERT_EQ(EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey), 1);
    ASSERT_EQ(EVP_DigestVerify(ctx, cp.signature, 64, (const unsigned char *)KNOWN_MESSAGE,
                               strlen(KNOWN_MESSAGE)),
              1);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    trail_key_free(pub);
}

TEST(changed_field_or_signature_rejected)
{
    struct trail_key *key = load_known_private();
    struct trail_checkpoint cp, bad;
    ASSERT(key != NULL);
    known_checkpoint(&cp);
    ASSERT_OK(trail_checkpoint_sign(&cp, key));
    ASSERT_OK(trail_checkpoint_verify(&cp, key));

    bad = cp;
    bad.origin[0] = 'T';
    ASSERT_EQ(trail_checkpoint_verify(&bad, key), TRAIL_E_SIGNATURE);
    bad = cp;
    strcat(bad.origin, "x");
    ASSERT_EQ(trail_checkpoint_verify(&bad, key), TRAIL_E_SIGNATURE);
    bad = cp;
    bad.tree_size++;
    ASSERT_EQ(trail_checkpoint_verify(&bad, key), TRAIL_E_SIGNATURE);
    bad = cp;
    bad.tree_size--;
    ASSERT_EQ(trail_checkpoint_verify(&bad, key), TRAIL_E_SIGNATURE);
    bad = cp;
    bad.time_us++;
    ASSERT_EQ(trail_checkpoint_verify(&bad, key), TRAIL_E_SIGNATURE);
    bad = cp;
    strcpy(bad.key_id, "21fe31de");
    ASSERT_EQ(trail_checkpoint_verify(&bad, key), TRAIL_E_SIGNATURE);
    for (int i = 0; i < 32; i++) {
        bad = cp;
        bad.root[i] ^= 1;
        ASSERT_EQ(trail_checkpoint_verify(&bad, key), TRAIL_E_SIGNATURE);
        bad = cp;
        bad.chain[i] ^= 0x80;
        ASSERT_EQ(trail_checkpoint_verify(&bad, key), TRAIL_E_SIGNATURE);
    }
    for (int i = 0; i < 64; i++) {
        bad = cp;
        bad.signature[i] ^= (uint8_t)(1u << (i % 8));
        if (trail_checkpoint_verify(&bad, key) != TRAIL_E_SIGNATURE)
            FAIL_AT("signature byte %d changed and still verified", i);
    }
    trail_key_free(key);
}

TEST(wrong_key_rejected)
{
    struct trail_key *key = load_known_private(), *other = NULL;
    struct trail_checkpoint cp, forged;
    ASSERT(key != NULL);
    ASSERT_OK(trail_key_generate(NULL, NULL, &other));
    ASSERT(strcmp(trail_key_id(other), trail_key_id(key)) != 0);
    known_checkpoint(&cp);
    ASSERT_OK(trail_checkpoint_sign(&cp, key));
    ASSERT_EQ(trail_checkpoint_verify(&cp, other), TRAIL_E_SIGNATURE);
    /* signed by the other key but claiming the known key's id */
    known_checkpoint(&forged);
    ASSERT_OK(trail_checkpoint_sign(&forged, other));
    ASSERT_OK(trail_checkpoint_verify(&forged, other));
    strcpy(forged.key_id, trail_key_id(key));
    ASSERT_EQ(trail_checkpoint_verify(&forged, key), TRAIL_E_SIGNATURE);
    trail_key_free(key);
    trail_key_free(other);
}

TEST(out_of_range_fields_refused)
{
    struct trail_key *key = load_known_private();
    struct trail_checkpoint cp, before;
    struct trail_buf buf = {0};
    ASSERT(key != NULL);
    const char *bad_origins[] = {"", "has space", "tab\there", "new\nline", "caf\xc3\xa9"};
    for (size_t i = 0; i < sizeof(bad_origins) / sizeof(bad_origins[0]); i++) {
        known_checkpoint(&cp);
        strcpy(cp.origin, bad_origins[i]);
        before = cp;
        ASSERT_EQ(trail_checkpoint_sign(&cp, key), -EINVAL);
        ASSERT_EQ(memcmp(&cp, &before, sizeof(cp)), 0);
        ASSERT_EQ(trail_checkpoint_format(&cp, &buf), -EINVAL);
    }
    known_checkpoint(&cp);
    memset(cp.origin, 'a', sizeof(cp.origin)); /* no NUL */
    ASSERT_EQ(trail_checkpoint_sign(&cp, key), -EINVAL);
    cp.origin[TRAIL_ORIGIN_MAX] = '\0'; /* exactly the maximum */
    ASSERT_OK(trail_checkpoint_sign(&cp, key));
    ASSERT_OK(trail_checkpoint_format(&cp, &buf));
    struct trail_checkpoint back;
    ASSERT_OK(trail_checkpoint_parse(buf.data, buf.len, &back));
    ASSERT_EQ(memcmp(&cp, &back, sizeof(cp)), 0);
    known_checkpoint(&cp);
    cp.time_us = -1;
    ASSERT_EQ(trail_checkpoint_sign(&cp, key), -EINVAL);
    known_checkpoint(&cp);
    strcpy(cp.key_id, "21FE31DF");
    ASSERT_EQ(trail_checkpoint_verify(&cp, key), -EINVAL);
    trail_buf_free(&buf);
    trail_key_free(key);
}

TEST(format_parse_round_trip)
{
    struct trail_key *key = NULL;
    struct trail_buf buf = {0};
    ASSERT_OK(trail_key_generate(NULL, NULL, &key));
    const uint64_t sizes[] = {0, 1, 70, UINT64_MAX};
    const int64_t times[] = {0, 1, 1764000000000000, INT64_MAX};
    for (int s = 0; s < 4; s++) {
        struct trail_checkpoint cp, back;
        memset(&cp, 0, sizeof(cp));
        snprintf(cp.origin, sizeof(cp.origin), "store:%d/!~", s);
        cp.tree_size = sizes[s];
        cp.time_us = times[s];
        for (int i = 0; i < 32; i++) {
            cp.root[i] = (uint8_t)(i * 7 + s);
            cp.chain[i] = (uint8_t)(255 - i - s);
        }
        ASSERT_OK(trail_checkpoint_sign(&cp, key));
        trail_buf_reset(&buf);
        ASSERT_OK(trail_checkpoint_format(&cp, &buf));
        ASSERT(strchr(buf.data, '\n') == NULL);
        ASSERT_OK(trail_checkpoint_parse(buf.data, buf.len, &back));
        ASSERT_EQ(memcmp(&cp, &back, sizeof(cp)), 0);
        ASSERT_OK(trail_checkpoint_verify(&back, key));
        /* with its line end */
        ASSERT_OK(trail_buf_append(&buf, "\n", 1));
        ASSERT_OK(trail_checkpoint_parse(buf.data, buf.len, &back));
        ASSERT_EQ(memcmp(&cp, &back, sizeof(cp)), 0);
    }
    trail_buf_free(&buf);
    trail_key_free(key);
}

TEST(malformed_lines_rejected)
{
    const char *good = KNOWN_LINE;
    struct trail_checkpoint cp;
    ASSERT_OK(trail_checkpoint_parse(good, strlen(good), &cp));
    char bad[64][700];
    int n = 0;
    const char *rest = good + strlen("trail-checkpoint/1 test-store 70 ");
#define BAD(...) snprintf(bad[n++], sizeof(bad[0]), __VA_ARGS__)
    BAD("%s", "");
    BAD("%s", "\n");
    BAD("%s\n\n", good);
    BAD("%s\r\n", good);
    BAD("%s ", good);
    BAD(" %s", good);
    BAD("%s x", good);
    BAD("trail-checkpoint/3 test-store 70 %s", rest);
    BAD("Trail-checkpoint/1 test-store 70 %s", rest);
    BAD("trail-checkpoint/1  test-store 70 %s", rest);
    BAD("trail-checkpoint/1 test-store  70 %s", rest);
    BAD("trail-checkpoint/1 test-store 070 %s", rest);
    BAD("trail-checkpoint/1 test-store +70 %s", rest);
    BAD("trail-checkpoint/1 test-store -70 %s", rest);
    BAD("trail-checkpoint/1 test-store 0x46 %s", rest);
    BAD("trail-checkpoint/1 test-store 18446744073709551616 %s", rest);
    BAD("trail-checkpoint/1 test-store %s", rest); /* a field missing */
    BAD("trail-checkpoint/1 test\x01store 70 %s", rest);
    BAD("trail-checkpoint/1 test\xc3\xa9store 70 %s", rest);
    BAD("trail-checkpoint/1 %0129d 70 %s", 0, rest); /* origin too long */
    /* root, chain: upper case, short, long, not hex */
    BAD("trail-checkpoint/1 test-store 70 %s %s 1764000000000000 21fe31df %s",
        "FBD7DA50D531CD0FF27A7B9C0F705D2F4A3F099242F5FB8F2D6BE4724FD2CA96", CHAIN_HEX, SIG_B64);
    BAD("trail-checkpoint/1 test-store 70 %.63s %s 1764000000000000 21fe31df %s", ROOT_HEX,
        CHAIN_HEX, SIG_B64);
    BAD("trail-checkpoint/1 test-store 70 %s0 %s 1764000000000000 21fe31df %s", ROOT_HEX, CHAIN_HEX,
        SIG_B64);
    BAD("trail-checkpoint/1 test-store 70 %s %.63sg 1764000000000000 21fe31df %s", ROOT_HEX,
        CHAIN_HEX, SIG_B64);
    /* time: above INT64_MAX, signed, leading zero */
    BAD("trail-checkpoint/1 test-store 70 %s %s 9223372036854775808 21fe31df %s", ROOT_HEX,
        CHAIN_HEX, SIG_B64);
    BAD("trail-checkpoint/1 test-store 70 %s %s -1 21fe31df %s", ROOT_HEX, CHAIN_HEX, SIG_B64);
    BAD("trail-checkpoint/1 test-store 70 %s %s 01764000000000000 21fe31df %s", ROOT_HEX, CHAIN_HEX,
        SIG_B64);
    /* key id */
    BAD("trail-checkpoint/1 test-store 70 %s %s 1764000000000000 21FE31DF %s", ROOT_HEX, CHAIN_HEX,
        SIG_B64);
    BAD("trail-checkpoint/1 test-store 70 %s %s 1764000000000000 21fe31d %s", ROOT_HEX, CHAIN_HEX,
        SIG_B64);
    BAD("trail-checkpoint/1 test-store 70 %s %s 1764000000000000 21fe31df0 %s", ROOT_HEX, CHAIN_HEX,
        SIG_B64);
    /* signature: short, long, unpadded, bad character, non-zero unused bits, base64url */
    BAD("trail-checkpoint/1 test-store 70 %s %s 1764000000000000 21fe31df %.86s", ROOT_HEX,
        CHAIN_HEX, SIG_B64);
    BAD("trail-checkpoint/1 test-store 70 %s %s 1764000000000000 21fe31df %.86s=", ROOT_HEX,
        CHAIN_HEX, SIG_B64);
    BAD("trail-checkpoint/1 test-store 70 %s %s 1764000000000000 21fe31df %sAAAA", ROOT_HEX,
        CHAIN_HEX, SIG_B64);
    BAD("trail-checkpoint/1 test-store 70 %s %s 1764000000000000 21fe31df %.85sB==", ROOT_HEX,
        CHAIN_HEX, SIG_B64);
    BAD("trail-checkpoint/1 test-store 70 %s %s 1764000000000000 21fe31df %.85s*==", ROOT_HEX,
        CHAIN_HEX, SIG_B64);
    BAD("trail-checkpoint/1 test-store 70 %s %s 1764000000000000 21fe31df "
        "WUDtJmXO49MLLRyE1ZFNpVTQnARCOqKvpaIMsw4Sqqel6kvewZcE5SLGdYfC3We1H_gilHgBJw1d3hnRzf9mAA==",
        ROOT_HEX, CHAIN_HEX);
#undef BAD
    for (int i = 0; i < n; i++) {
        memset(&cp, 0x33, sizeof(cp));
        struct trail_checkpoint before = cp;
        if (trail_checkpoint_parse(bad[i], strlen(bad[i]), &cp) != TRAIL_E_PARSE)
            FAIL_AT("malformed line %d accepted: \"%s\"", i, bad[i]);
        ASSERT_EQ(memcmp(&cp, &before, sizeof(cp)), 0);
    }
    /* a NUL in the middle, and len short of the line */
    char with_nul[700];
    strcpy(with_nul, good);
    with_nul[25] = '\0';
    ASSERT_EQ(trail_checkpoint_parse(with_nul, strlen(good), &cp), TRAIL_E_PARSE);
    ASSERT_EQ(trail_checkpoint_parse(good, strlen(good) - 1, &cp), TRAIL_E_PARSE);
    ASSERT_EQ(trail_checkpoint_parse(NULL, 0, &cp), TRAIL_E_PARSE);
}

static mode_t file_mode(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return (mode_t)-1;
    return st.st_mode & 07777;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

TEST(key_files)
{
    char priv[300], pub[300], pub2[300], priv2[300];
    struct trail_key *key = NULL, *loaded = NULL, *loaded_pub = NULL;
    path_in_dir(priv, sizeof(priv), "k1.key");
    path_in_dir(pub, sizeof(pub), "k1.pub");
    mode_t old_umask = umask(0);
    ASSERT_OK(trail_key_generate(priv, pub, &key));
    umask(old_umask);
    ASSERT_EQ(file_mode(priv), 0600);
    ASSERT_EQ(file_mode(pub), 0644);
    ASSERT_OK(trail_key_load_private(priv, &loaded));
    ASSERT_OK(trail_key_load_public(pub, &loaded_pub));
    ASSERT_STREQ(trail_key_id(loaded), trail_key_id(key));
    ASSERT_STREQ(trail_key_id(loaded_pub), trail_key_id(key));

    /* the key id is SHA-256 of the raw public key, computed here without trail */
    FILE *f = fopen(pub, "r");
    ASSERT(f != NULL);
    EVP_PKEY *pkey = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    uint8_t raw[32], digest[32];
    size_t raw_len = sizeof(raw);
    unsigned int dlen = 0;
    ASSERT_EQ(EVP_PKEY_get_raw_public_key(pkey, raw, &raw_len), 1);
    EVP_PKEY_free(pkey);
    EVP_Digest(raw, raw_len, digest, &dlen, EVP_sha256(), NULL);
    char id[9];
    snprintf(id, sizeof(id), "%02x%02x%02x%02x", digest[0], digest[1], digest[2], digest[3]);
    ASSERT_STREQ(trail_key_id(key), id);

    /* what the loaded private key signs, the loaded public key verifies */
    struct trail_checkpoint cp;
    known_checkpoint(&cp);
    ASSERT_OK(trail_checkpoint_sign(&cp, loaded));
    ASSERT_OK(trail_checkpoint_verify(&cp, loaded_pub));

    /* a strict umask still gives exactly 0600 */
    path_in_dir(priv2, sizeof(priv2), "k2.key");
    path_in_dir(pub2, sizeof(pub2), "k2.pub");
    old_umask = umask(0277);
    ASSERT_OK(trail_key_generate(priv2, pub2, NULL));
    umask(old_umask);
    ASSERT_EQ(file_mode(priv2), 0600);

    /* never overwrite: both exist, only the private exists, only the public exists */
    long priv_size = file_size(priv);
    ASSERT_EQ(trail_key_generate(priv, pub, NULL), -EEXIST);
    ASSERT_EQ(file_size(priv), priv_size);
    struct trail_key *again = NULL;
    ASSERT_OK(trail_key_load_private(priv, &again));
    ASSERT_STREQ(trail_key_id(again), trail_key_id(key));
    trail_key_free(again);
    char fresh_pub[300], fresh_priv[300];
    path_in_dir(fresh_pub, sizeof(fresh_pub), "fresh.pub");
    ASSERT_EQ(trail_key_generate(priv, fresh_pub, NULL), -EEXIST);
    ASSERT_EQ(access(fresh_pub, F_OK), -1);
    path_in_dir(fresh_priv, sizeof(fresh_priv), "fresh.key");
    ASSERT_EQ(trail_key_generate(fresh_priv, pub, NULL), -EEXIST);
    ASSERT_EQ(access(fresh_priv, F_OK), -1); /* the half-made pair is removed */
    /* a symbolic link in place of the private key is not followed */
    char link_path[300];
    path_in_dir(link_path, sizeof(link_path), "link.key");
    ASSERT_OK(symlink("/tmp/trail-test-nonexistent-target", link_path));
    ASSERT_EQ(trail_key_generate(link_path, fresh_pub, NULL), -EEXIST);
    ASSERT_EQ(access("/tmp/trail-test-nonexistent-target", F_OK), -1);
    ASSERT_EQ(trail_key_generate(priv, NULL, NULL), -EINVAL);

    trail_key_free(key);
    trail_key_free(loaded);
    trail_key_free(loaded_pub);
}

TEST(key_load_errors)
{
    char path[300], pub[300];
    struct trail_key *key = (struct trail_key *)0x1;
    path_in_dir(path, sizeof(path), "missing.key");
    ASSERT_EQ(trail_key_load_private(path, &key), -ENOENT);
    ASSERT_EQ(trail_key_load_public(path, &key), -ENOENT);
    path_in_dir(path, sizeof(path), "garbage.key");
    ASSERT_OK(write_text(path, "not a key\n"));
    ASSERT_EQ(trail_key_load_private(path, &key), TRAIL_E_PARSE);
    ASSERT_EQ(trail_key_load_public(path, &key), TRAIL_E_PARSE);
    /* a public key file where a private one is wanted, and the reverse */
    path_in_dir(pub, sizeof(pub), "rfc8032.pub");
    ASSERT_OK(write_text(pub, rfc8032_public_pem));
    ASSERT_EQ(trail_key_load_private(pub, &key), TRAIL_E_PARSE);
    path_in_dir(path, sizeof(path), "rfc8032.key");
    ASSERT_OK(write_text(path, rfc8032_private_pem));
    ASSERT_EQ(trail_key_load_public(path, &key), TRAIL_E_PARSE);
    /* a key of another algorithm */
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ASSERT(ec != NULL);
    path_in_dir(path, sizeof(path), "ec.key");
    FILE *f = fopen(path, "w");
    ASSERT(f != NULL);
    PEM_write_PrivateKey(f, ec, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    ASSERT_EQ(trail_key_load_private(path, &key), TRAIL_E_PARSE);
    /* an encrypted private key is refused without asking for a passphrase */
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    ASSERT(ed != NULL);
    path_in_dir(path, sizeof(path), "encrypted.key");
    f = fopen(path, "w");
    ASSERT(f != NULL);
    PEM_write_PrivateKey(f, ed, EVP_aes_256_cbc(), (unsigned char *)"secret", 6, NULL, NULL);
    fclose(f);
    ASSERT_EQ(trail_key_load_private(path, &key), TRAIL_E_PARSE);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(ed);
    ASSERT(key == (struct trail_key *)0x1); /* untouched */
    trail_key_free(NULL);
}

TEST(cleanup)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ASSERT_EQ(system(cmd), 0);
}

TEST_MAIN(setup, known_answer_signature, known_answer_note,
          public_key_file_and_independent_verification, changed_field_or_signature_rejected,
          wrong_key_rejected, out_of_range_fields_refused, format_parse_round_trip,
          malformed_lines_rejected, key_files, key_load_errors, cleanup)
