/*
 * checkpoint.c - Ed25519 keys (generation, key files, key ids, verifier
 * keys) and signed checkpoints: the signed message, signing, verification,
 * the C2SP signed note, and the one-line text form that DIR/checkpoints and
 * witnesses keep.
 *
 * Not for: deciding when a checkpoint is made or where it is stored (the
 * store), proofs (proof.c), hashing (merkle.c), the note's framing (note.c).
 *
 * The signed message (trail_checkpoint_message) and the line form are
 * documented in include/trail.h and docs/integrity.md. A checkpoint is a
 * C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint) in a signed note
 * whose key name is the origin; trail's extra facts are extension lines:
 *
 *     signed message, the note's text (5 lines, each ending in '\n'):
 *       trail.example/audit                                 origin
 *       1200345                                             tree size
 *       n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=        root, base64
 *       trail-time 1764000000000000                         µs since the epoch
 *       trail-chain 5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8
 *
 *     the note: the text, a blank line, and
 *       — trail.example/audit BASE64(key id || signature)
 *
 *     line (one space between fields, no newline):
 *       trail-checkpoint/2 ORIGIN SIZE ROOT CHAIN TIME KEY SIGNATURE_BASE64
 *
 * KEY is the note key id in hex: SHA-256(ORIGIN || 0x0A || 0x01 || pub)[0..4].
 * The line holds every field of the note, which is rebuilt from it byte for
 * byte. Checkpoints made before trail spoke C2SP are trail-checkpoint/1
 * lines (cp->legacy): their signed message was
 *
 *       trail-checkpoint/1\norigin O\nsize N\nroot HEX\nchain HEX\ntime T\nkey K\n
 *
 * with KEY = SHA-256(pub)[0..4]; they are read and verified still, and never
 * written.
 */
#include "base/fileio.h"
#include "base/base.h"
#include "integrity/merkle.h"
#include "integrity/note.h"
#include "integrity/witness.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#define ED25519_RAW_LEN 32
#define LINE_MAGIC_V1   "trail-checkpoint/1"
#define LINE_MAGIC      "trail-checkpoint/2"

struct trail_key {
    EVP_PKEY *pkey;
    int has_private;
    uint8_t pub[ED25519_RAW_LEN];
    char id[TRAIL_KEY_ID_HEX + 1];
};

/* ---- keys ---- */

static int key_wrap(EVP_PKEY *pkey, int has_private, struct trail_key **ret_key)
{
    struct trail_key *key;
    uint8_t digest[TRAIL_HASH_LEN];
    size_t len = ED25519_RAW_LEN;
    int r;

    if (!EVP_PKEY_is_a(pkey, "ED25519"))
        return TRAIL_E_PARSE;
    key = calloc(1, sizeof(*key));
    if (!key)
        return -ENOMEM;
    if (EVP_PKEY_get_raw_public_key(pkey, key->pub, &len) != 1 || len != ED25519_RAW_LEN) {
        free(key);
        return TRAIL_E_PARSE;
    }
    r = hash_sha256(key->pub, ED25519_RAW_LEN, digest);
    if (r < 0) {
        free(key);
        return r;
    }
    snprintf(key->id, sizeof(key->id), "%02x%02x%02x%02x", digest[0], digest[1], digest[2],
             digest[3]);
    key->pkey = pkey;
    key->has_private = has_private;
    *ret_key = key;
    return 0;
}

void trail_key_free(struct trail_key *key)
{
    if (!key)
        return;
    EVP_PKEY_free(key->pkey); /* OpenSSL wipes the private half when it frees it */
    free(key);
}

const char *trail_key_id(const struct trail_key *key)
{
    return key->id;
}

int trail_key_has_private(const struct trail_key *key)
{
    return key->has_private;
}

int trail_key_public_raw(const struct trail_key *key, uint8_t out[32])
{
    memcpy(out, key->pub, ED25519_RAW_LEN);
    return 0;
}

/* The PEM text of the private (is_private) or public half into a memory BIO. */
static BIO *pem_of(EVP_PKEY *pkey, int is_private)
{
    BIO *bio = BIO_new(BIO_s_mem());
    int ok;
    if (!bio)
        return NULL;
    if (is_private)
        ok = PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL);
    else
        ok = PEM_write_bio_PUBKEY(bio, pkey);
    if (ok != 1) {
        BIO_free(bio);
        return NULL;
    }
    return bio;
}

static void pem_free(BIO *bio)
{
    char *data;
    long len;
    if (!bio)
        return;
    len = BIO_get_mem_data(bio, &data);
    if (len > 0)
        OPENSSL_cleanse(data, (size_t)len);
    BIO_free(bio);
}

/* Create path with O_EXCL and exactly mode, write bio's bytes, fsync. */
static int write_new_file(const char *path, mode_t mode, BIO *bio, int *ret_created)
{
    char *data;
    long len = BIO_get_mem_data(bio, &data);
    int fd, r;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        return -errno;
    *ret_created = 1;
    /* the umask may have taken bits away; a key file gets exactly its mode */
    if (fchmod(fd, mode) < 0) {
        r = -errno;
        goto out;
    }
    r = io_write_all(fd, data, (size_t)len);
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
out:
    if (close(fd) < 0 && r == 0)
        r = -errno;
    return r;
}

int trail_key_generate(const char *private_path, const char *public_path,
                       struct trail_key **ret_key)
{
    EVP_PKEY_CTX *pctx = NULL;
    EVP_PKEY *pkey = NULL;
    BIO *priv_pem = NULL, *pub_pem = NULL;
    struct trail_key *key = NULL;
    int priv_created = 0, pub_created = 0;
    int r;

    if (!private_path != !public_path)
        return -EINVAL;
    pctx = EVP_PKEY_CTX_new_from_name(NULL, "ED25519", NULL);
    if (!pctx || EVP_PKEY_keygen_init(pctx) != 1 || EVP_PKEY_generate(pctx, &pkey) != 1) {
        r = -ENOMEM;
        goto fail;
    }
    if (private_path) {
        priv_pem = pem_of(pkey, 1);
        pub_pem = pem_of(pkey, 0);
        if (!priv_pem || !pub_pem) {
            r = -ENOMEM;
            goto fail;
        }
        r = write_new_file(private_path, 0600, priv_pem, &priv_created);
        if (r < 0)
            goto fail;
        r = write_new_file(public_path, 0644, pub_pem, &pub_created);
        if (r < 0)
            goto fail;
        r = io_sync_parent_dir(private_path);
        if (r == 0)
            r = io_sync_parent_dir(public_path);
        if (r < 0)
            goto fail;
    }
    if (ret_key) {
        r = key_wrap(pkey, 1, &key);
        if (r < 0)
            goto fail;
        pkey = NULL; /* owned by key */
        *ret_key = key;
    }
    r = 0;
    goto done;
fail:
    if (priv_created)
        unlink(private_path);
    if (pub_created)
        unlink(public_path);
done:
    pem_free(priv_pem);
    pem_free(pub_pem);
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(pctx);
    ERR_clear_error();
    return r;
}

/* A PEM passphrase callback that refuses: an encrypted key is not read (no prompt). */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static int key_load(const char *path, int is_private, struct trail_key **ret_key)
{
    FILE *f;
    EVP_PKEY *pkey;
    struct trail_key *key;
    int r;

    f = fopen(path, "re");
    if (!f)
        return -errno;
    if (is_private)
        pkey = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
    else
        pkey = PEM_read_PUBKEY(f, NULL, no_passphrase, NULL);
    fclose(f);
    ERR_clear_error();
    if (!pkey)
        return TRAIL_E_PARSE;
    r = key_wrap(pkey, is_private, &key);
    if (r < 0) {
        EVP_PKEY_free(pkey);
        return r;
    }
    *ret_key = key;
    return 0;
}

int trail_key_load_private(const char *path, struct trail_key **ret_key)
{
    return key_load(path, 1, ret_key);
}

int trail_key_load_public(const char *path, struct trail_key **ret_key)
{
    return key_load(path, 0, ret_key);
}

int trail_key_verifier(const struct trail_key *key, const char *name, struct trail_buf *out)
{
    uint8_t id[NOTE_KEY_ID_LEN], blob[1 + ED25519_RAW_LEN];
    char hex[2 * NOTE_KEY_ID_LEN + 1];
    int r;
    if (!name || !note_name_valid(name, strlen(name)))
        return -EINVAL;
    if ((r = note_key_id(name, strlen(name), key->pub, id)) < 0)
        return r;
    snprintf(hex, sizeof(hex), "%02x%02x%02x%02x", id[0], id[1], id[2], id[3]);
    blob[0] = NOTE_ALG_ED25519;
    memcpy(blob + 1, key->pub, ED25519_RAW_LEN);
    if ((r = trail_buf_append(out, name, strlen(name))) < 0 ||
        (r = trail_buf_append(out, "+", 1)) < 0 || (r = trail_buf_append(out, hex, 8)) < 0 ||
        (r = trail_buf_append(out, "+", 1)) < 0)
        return r;
    return b64_encode(blob, sizeof(blob), out);
}

int key_sign(const struct trail_key *key, const void *msg, size_t len,
             uint8_t sig[TRAIL_SIGNATURE_LEN])
{
    EVP_MD_CTX *ctx;
    size_t sig_len = TRAIL_SIGNATURE_LEN;
    int r = 0;
    if (!key->has_private)
        return -EINVAL;
    ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestSignInit(ctx, NULL, NULL, NULL, key->pkey) != 1 ||
        EVP_DigestSign(ctx, sig, &sig_len, msg, len) != 1 || sig_len != TRAIL_SIGNATURE_LEN)
        r = -ENOMEM;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return r;
}

int trail_key_from_verifier(const char *text, size_t len, char ret_name[TRAIL_ORIGIN_MAX + 1],
                            struct trail_key **ret_key)
{
    uint8_t blob[1 + ED25519_RAW_LEN + 1], id[NOTE_KEY_ID_LEN];
    char hex[2 * NOTE_KEY_ID_LEN + 1];
    const char *plus = text ? memchr(text, '+', len) : NULL;
    if (!plus)
        return TRAIL_E_PARSE;
    size_t name_len = (size_t)(plus - text);
    if (!note_name_valid(text, name_len) || name_len > TRAIL_ORIGIN_MAX || len < name_len + 10 ||
        text[name_len + 9] != '+')
        return TRAIL_E_PARSE;
    if (b64_decode(text + name_len + 10, len - name_len - 10, blob, sizeof(blob)) !=
            1 + ED25519_RAW_LEN ||
        blob[0] != NOTE_ALG_ED25519 || note_key_id(text, name_len, blob + 1, id) < 0)
        return TRAIL_E_PARSE;
    snprintf(hex, sizeof(hex), "%02x%02x%02x%02x", id[0], id[1], id[2], id[3]);
    if (memcmp(hex, text + name_len + 1, 8) != 0)
        return TRAIL_E_PARSE;
    EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, blob + 1, ED25519_RAW_LEN);
    if (!pkey) {
        ERR_clear_error();
        return TRAIL_E_PARSE;
    }
    int r = key_wrap(pkey, 0, ret_key);
    if (r < 0) {
        EVP_PKEY_free(pkey);
        return r;
    }
    memcpy(ret_name, text, name_len);
    ret_name[name_len] = '\0';
    return 0;
}

/* ---- checkpoints ---- */

static int origin_valid(const char *origin, size_t len, int legacy)
{
    if (!legacy)
        return note_name_valid(origin, len);
    if (len == 0 || len > TRAIL_ORIGIN_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)origin[i] < 0x21 || (unsigned char)origin[i] > 0x7e)
            return 0;
    return 1;
}

static int key_id_valid(const char *id, size_t len)
{
    if (len != TRAIL_KEY_ID_HEX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return 0;
    return 1;
}

/* The fields are in range: what sign, verify and format require. */
static int checkpoint_valid(const struct trail_checkpoint *cp)
{
    const char *nul = memchr(cp->origin, '\0', sizeof(cp->origin));
    const char *kid_nul = memchr(cp->key_id, '\0', sizeof(cp->key_id));
    return (cp->legacy == 0 || cp->legacy == 1) && nul &&
           origin_valid(cp->origin, (size_t)(nul - cp->origin), cp->legacy) && kid_nul &&
           key_id_valid(cp->key_id, (size_t)(kid_nul - cp->key_id)) && cp->time_us >= 0;
}

/* The key id that key signs cp with, in hex: the note key id, or the legacy SHA-256(pub). */
static int signing_id(const struct trail_checkpoint *cp, const struct trail_key *key,
                      char out[TRAIL_KEY_ID_HEX + 1])
{
    uint8_t id[NOTE_KEY_ID_LEN];
    int r;
    if (cp->legacy) {
        memcpy(out, key->id, TRAIL_KEY_ID_HEX + 1);
        return 0;
    }
    if ((r = note_key_id(cp->origin, strnlen(cp->origin, sizeof(cp->origin)), key->pub, id)) < 0)
        return r;
    snprintf(out, TRAIL_KEY_ID_HEX + 1, "%02x%02x%02x%02x", id[0], id[1], id[2], id[3]);
    return 0;
}

/* The signed message of cp with key_id in place of cp->key_id. */
static int message(const struct trail_checkpoint *cp, const char *key_id, struct trail_buf *out)
{
    char root[2 * TRAIL_HASH_LEN + 1], chain[2 * TRAIL_HASH_LEN + 1];
    char text[512];
    int n, r;

    trail_hash_to_hex(cp->chain, chain);
    if (!cp->legacy) {
        /* the C2SP tlog-checkpoint body: origin, size, base64 root, then extension lines */
        n = snprintf(text, sizeof(text), "%s\n%" PRIu64 "\n", cp->origin, cp->tree_size);
        if (n < 0 || (size_t)n >= sizeof(text))
            return -EINVAL;
        if ((r = trail_buf_append(out, text, (size_t)n)) < 0 ||
            (r = b64_encode(cp->root, TRAIL_HASH_LEN, out)) < 0)
            return r;
        n = snprintf(text, sizeof(text), "\ntrail-time %" PRId64 "\ntrail-chain %s\n", cp->time_us,
                     chain);
        return trail_buf_append(out, text, (size_t)n);
    }
    trail_hash_to_hex(cp->root, root);
    n = snprintf(text, sizeof(text),
                 LINE_MAGIC_V1 "\norigin %s\nsize %" PRIu64 "\nroot %s\nchain %s\ntime %" PRId64
                               "\nkey %s\n",
                 cp->origin, cp->tree_size, root, chain, cp->time_us, key_id);
    if (n < 0 || (size_t)n >= sizeof(text))
        return -EINVAL;
    return trail_buf_append(out, text, (size_t)n);
}

int trail_checkpoint_message(const struct trail_checkpoint *cp, struct trail_buf *out)
{
    if (!checkpoint_valid(cp))
        return -EINVAL;
    return message(cp, cp->key_id, out);
}

int trail_checkpoint_signed_by(const struct trail_checkpoint *cp, const struct trail_key *key)
{
    char id[TRAIL_KEY_ID_HEX + 1];
    if (!checkpoint_valid(cp) || signing_id(cp, key, id) < 0)
        return 0;
    return strcmp(id, cp->key_id) == 0;
}

int trail_checkpoint_sign(struct trail_checkpoint *cp, const struct trail_key *key)
{
    struct trail_buf msg = {0};
    EVP_MD_CTX *ctx = NULL;
    uint8_t sig[TRAIL_SIGNATURE_LEN];
    size_t sig_len = sizeof(sig);
    char id[TRAIL_KEY_ID_HEX + 1];
    int r;

    if (!key->has_private)
        return -EINVAL;
    {
        /* validate with the key's id in place, which is what will be signed */
        struct trail_checkpoint probe = *cp;
        memcpy(probe.key_id, key->id, sizeof(probe.key_id));
        if (!checkpoint_valid(&probe))
            return -EINVAL;
    }
    if ((r = signing_id(cp, key, id)) < 0)
        return r;
    r = message(cp, id, &msg);
    if (r < 0)
        goto out;
    ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestSignInit(ctx, NULL, NULL, NULL, key->pkey) != 1 ||
        EVP_DigestSign(ctx, sig, &sig_len, (const unsigned char *)msg.data, msg.len) != 1 ||
        sig_len != TRAIL_SIGNATURE_LEN) {
        r = -ENOMEM;
        goto out;
    }
    memcpy(cp->key_id, id, sizeof(cp->key_id));
    memcpy(cp->signature, sig, TRAIL_SIGNATURE_LEN);
    r = 0;
out:
    EVP_MD_CTX_free(ctx);
    trail_buf_free(&msg);
    ERR_clear_error();
    return r;
}

int trail_checkpoint_verify(const struct trail_checkpoint *cp, const struct trail_key *key)
{
    struct trail_buf msg = {0};
    EVP_MD_CTX *ctx = NULL;
    int r;

    if (!checkpoint_valid(cp))
        return -EINVAL;
    if (!trail_checkpoint_signed_by(cp, key))
        return TRAIL_E_SIGNATURE;
    r = message(cp, cp->key_id, &msg);
    if (r < 0)
        goto out;
    ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key->pkey) != 1) {
        r = -ENOMEM;
        goto out;
    }
    r = EVP_DigestVerify(ctx, cp->signature, TRAIL_SIGNATURE_LEN, (const unsigned char *)msg.data,
                         msg.len) == 1
            ? 0
            : TRAIL_E_SIGNATURE;
out:
    EVP_MD_CTX_free(ctx);
    trail_buf_free(&msg);
    ERR_clear_error();
    return r;
}

/* ---- the signed note ---- */

static void id_bytes(const char hex[TRAIL_KEY_ID_HEX], uint8_t out[NOTE_KEY_ID_LEN])
{
    for (int i = 0; i < NOTE_KEY_ID_LEN; i++) {
        int hi = hex[2 * i] <= '9' ? hex[2 * i] - '0' : hex[2 * i] - 'a' + 10;
        int lo = hex[2 * i + 1] <= '9' ? hex[2 * i + 1] - '0' : hex[2 * i + 1] - 'a' + 10;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
}

int trail_checkpoint_note(const struct trail_checkpoint *cp, struct trail_buf *out)
{
    uint8_t id[NOTE_KEY_ID_LEN];
    size_t was = out->len;
    int r;
    if (!checkpoint_valid(cp) || cp->legacy)
        return -EINVAL;
    id_bytes(cp->key_id, id);
    if ((r = message(cp, cp->key_id, out)) < 0 || (r = trail_buf_append(out, "\n", 1)) < 0 ||
        (r = note_signature_line(cp->origin, id, cp->signature, TRAIL_SIGNATURE_LEN, out)) < 0) {
        out->len = was;
        return r;
    }
    return 0;
}

/* Line i of text[0..len) (without its '\n') into *ret / *ret_len; 0, or -1 past the end. */
static int nth_line(const char *text, size_t len, int i, const char **ret, size_t *ret_len)
{
    size_t pos = 0;
    for (;;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        if (!nl)
            return -1;
        if (i-- == 0) {
            *ret = text + pos;
            *ret_len = (size_t)(nl - (text + pos));
            return 0;
        }
        pos = (size_t)(nl - text) + 1;
    }
}

static int has_prefix(const char *line, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len > n && memcmp(line, prefix, n) == 0;
}

int trail_checkpoint_note_parse(const char *text, size_t len, struct trail_checkpoint *ret_cp)
{
    struct trail_checkpoint cp;
    struct trail_buf again = {0};
    const char *line;
    size_t text_len, sigs, n;
    uint64_t time_us;
    uint8_t root[TRAIL_HASH_LEN + 2];
    int found = 0;

    if (!text || note_split(text, len, &text_len, &sigs) < 0)
        return TRAIL_E_PARSE;
    memset(&cp, 0, sizeof(cp));
    if (nth_line(text, text_len, 0, &line, &n) < 0 || !note_name_valid(line, n))
        return TRAIL_E_PARSE;
    memcpy(cp.origin, line, n);
    if (nth_line(text, text_len, 1, &line, &n) < 0 ||
        integrity_parse_u64(line, n, &cp.tree_size) < 0)
        return TRAIL_E_PARSE;
    if (nth_line(text, text_len, 2, &line, &n) < 0 ||
        b64_decode(line, n, root, sizeof(root)) != TRAIL_HASH_LEN)
        return TRAIL_E_PARSE;
    memcpy(cp.root, root, TRAIL_HASH_LEN);
    if (nth_line(text, text_len, 3, &line, &n) < 0 || !has_prefix(line, n, "trail-time ") ||
        integrity_parse_u64(line + 11, n - 11, &time_us) < 0 || time_us > INT64_MAX)
        return TRAIL_E_PARSE;
    cp.time_us = (int64_t)time_us;
    if (nth_line(text, text_len, 4, &line, &n) < 0 || !has_prefix(line, n, "trail-chain ") ||
        trail_hash_from_hex(line + 12, n - 12, cp.chain) < 0)
        return TRAIL_E_PARSE;
    /* the origin's signature; other lines (a witness's cosignature, say) are not ours to read */
    for (size_t pos = sigs; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        const char *name;
        size_t name_len, sig_len;
        uint8_t id[NOTE_KEY_ID_LEN], sig[128];
        if (note_signature_parse(text + pos, (size_t)(nl - (text + pos)), &name, &name_len, id, sig,
                                 sizeof(sig), &sig_len) < 0)
            return TRAIL_E_PARSE;
        if (!found && name_len == strlen(cp.origin) && memcmp(name, cp.origin, name_len) == 0 &&
            sig_len == TRAIL_SIGNATURE_LEN) {
            snprintf(cp.key_id, sizeof(cp.key_id), "%02x%02x%02x%02x", id[0], id[1], id[2], id[3]);
            memcpy(cp.signature, sig, TRAIL_SIGNATURE_LEN);
            found = 1;
        }
        pos = (size_t)(nl - text) + 1;
    }
    if (!found)
        return TRAIL_E_PARSE;
    /* the text must be exactly what trail writes: nothing signed goes unread */
    int r = message(&cp, cp.key_id, &again);
    int same = r == 0 && again.len == text_len && memcmp(again.data, text, text_len) == 0;
    trail_buf_free(&again);
    if (!same)
        return TRAIL_E_PARSE;
    memcpy(ret_cp, &cp, sizeof(cp));
    return 0;
}

/* ---- the line form ---- */

int trail_checkpoint_format(const struct trail_checkpoint *cp, struct trail_buf *out)
{
    char root[2 * TRAIL_HASH_LEN + 1], chain[2 * TRAIL_HASH_LEN + 1];
    struct trail_buf sig = {0};
    char line[640];
    int n, r;

    if (!checkpoint_valid(cp))
        return -EINVAL;
    if ((r = b64_encode(cp->signature, TRAIL_SIGNATURE_LEN, &sig)) < 0 ||
        (r = trail_buf_append(&sig, "", 1)) < 0) {
        trail_buf_free(&sig);
        return r;
    }
    trail_hash_to_hex(cp->root, root);
    trail_hash_to_hex(cp->chain, chain);
    n = snprintf(line, sizeof(line), "%s %s %" PRIu64 " %s %s %" PRId64 " %s %s",
                 cp->legacy ? LINE_MAGIC_V1 : LINE_MAGIC, cp->origin, cp->tree_size, root, chain,
                 cp->time_us, cp->key_id, sig.data);
    trail_buf_free(&sig);
    if (n < 0 || (size_t)n >= sizeof(line))
        return -EINVAL;
    return trail_buf_append(out, line, (size_t)n);
}

int trail_checkpoint_parse(const char *text, size_t len, struct trail_checkpoint *ret_cp)
{
    struct trail_checkpoint cp;
    const char *field[8];
    size_t field_len[8];
    size_t n_fields = 0, start = 0;
    uint64_t time_us;

    if (!text)
        return TRAIL_E_PARSE;
    if (len > 0 && text[len - 1] == '\n')
        len--;
    /* exactly eight fields separated by single spaces: no empty field anywhere */
    for (size_t i = 0; i <= len; i++) {
        if (i < len && text[i] != ' ')
            continue;
        if (i == start || n_fields == 8)
            return TRAIL_E_PARSE;
        field[n_fields] = text + start;
        field_len[n_fields] = i - start;
        n_fields++;
        start = i + 1;
    }
    if (n_fields != 8)
        return TRAIL_E_PARSE;

    memset(&cp, 0, sizeof(cp));
    if (field_len[0] == strlen(LINE_MAGIC_V1) && memcmp(field[0], LINE_MAGIC_V1, field_len[0]) == 0)
        cp.legacy = 1;
    else if (field_len[0] != strlen(LINE_MAGIC) || memcmp(field[0], LINE_MAGIC, field_len[0]) != 0)
        return TRAIL_E_PARSE;
    if (!origin_valid(field[1], field_len[1], cp.legacy))
        return TRAIL_E_PARSE;
    memcpy(cp.origin, field[1], field_len[1]);
    if (integrity_parse_u64(field[2], field_len[2], &cp.tree_size) < 0 ||
        trail_hash_from_hex(field[3], field_len[3], cp.root) < 0 ||
        trail_hash_from_hex(field[4], field_len[4], cp.chain) < 0 ||
        integrity_parse_u64(field[5], field_len[5], &time_us) < 0 || time_us > INT64_MAX)
        return TRAIL_E_PARSE;
    cp.time_us = (int64_t)time_us;
    if (!key_id_valid(field[6], field_len[6]))
        return TRAIL_E_PARSE;
    memcpy(cp.key_id, field[6], field_len[6]);
    if (b64_decode(field[7], field_len[7], cp.signature, TRAIL_SIGNATURE_LEN) !=
        TRAIL_SIGNATURE_LEN)
        return TRAIL_E_PARSE;
    memcpy(ret_cp, &cp, sizeof(cp));
    return 0;
}
