/*
 * checkpoint.c - Ed25519 keys (generation, key files, key ids) and signed
 * checkpoints: the signed message, signing, verification, and the one-line
 * text form that a witness keeps.
 *
 * Not for: deciding when a checkpoint is made or where it is stored (the
 * store), proofs (proof.c), hashing (merkle.c).
 *
 * The signed message (trail_checkpoint_message) and the line form are
 * documented in include/trail.h and docs/integrity.md:
 *
 *     signed message (7 lines, each ending in '\n'):
 *       trail-checkpoint/1
 *       origin store-7f3a
 *       size 1200345
 *       root 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
 *       chain 5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8
 *       time 1764000000000000
 *       key 1a2b3c4d
 *
 *     line (one space between fields, no newline):
 *       trail-checkpoint/1 ORIGIN SIZE ROOT CHAIN TIME KEY SIGNATURE_BASE64
 */
#include "base/fileio.h"
#include "base/base.h"
#include "integrity/merkle.h"

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
#define SIG_B64_LEN     88 /* 64 bytes in padded base64 */
#define LINE_MAGIC      "trail-checkpoint/1"

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

/* ---- checkpoints ---- */

static int origin_valid(const char *origin, size_t len)
{
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
    return nul && origin_valid(cp->origin, (size_t)(nul - cp->origin)) && kid_nul &&
           key_id_valid(cp->key_id, (size_t)(kid_nul - cp->key_id)) && cp->time_us >= 0;
}

/* The signed message of cp with key_id in place of cp->key_id. */
static int message(const struct trail_checkpoint *cp, const char *key_id, struct trail_buf *out)
{
    char root[2 * TRAIL_HASH_LEN + 1], chain[2 * TRAIL_HASH_LEN + 1];
    char text[512];
    int n;

    trail_hash_to_hex(cp->root, root);
    trail_hash_to_hex(cp->chain, chain);
    n = snprintf(text, sizeof(text),
                 LINE_MAGIC "\norigin %s\nsize %" PRIu64 "\nroot %s\nchain %s\ntime %" PRId64
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

int trail_checkpoint_sign(struct trail_checkpoint *cp, const struct trail_key *key)
{
    struct trail_buf msg = {0};
    EVP_MD_CTX *ctx = NULL;
    uint8_t sig[TRAIL_SIGNATURE_LEN];
    size_t sig_len = sizeof(sig);
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
    r = message(cp, key->id, &msg);
    if (r < 0)
        goto out;
    ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestSignInit(ctx, NULL, NULL, NULL, key->pkey) != 1 ||
        EVP_DigestSign(ctx, sig, &sig_len, (const unsigned char *)msg.data, msg.len) != 1 ||
        sig_len != TRAIL_SIGNATURE_LEN) {
        r = -ENOMEM;
        goto out;
    }
    memcpy(cp->key_id, key->id, sizeof(cp->key_id));
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
    if (strcmp(cp->key_id, key->id) != 0)
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

/* ---- the line form ---- */

static const char b64_digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Padded standard base64 of the 64-byte signature: 88 characters and a NUL. */
static void sig_to_base64(const uint8_t sig[TRAIL_SIGNATURE_LEN], char out[SIG_B64_LEN + 1])
{
    size_t i = 0, o = 0;
    for (; i + 3 <= TRAIL_SIGNATURE_LEN; i += 3) {
        uint32_t v = (uint32_t)sig[i] << 16 | (uint32_t)sig[i + 1] << 8 | sig[i + 2];
        out[o++] = b64_digits[v >> 18];
        out[o++] = b64_digits[(v >> 12) & 63];
        out[o++] = b64_digits[(v >> 6) & 63];
        out[o++] = b64_digits[v & 63];
    }
    /* 64 = 21 * 3 + 1: one byte left, two digits and "==" */
    uint32_t v = (uint32_t)sig[i] << 16;
    out[o++] = b64_digits[v >> 18];
    out[o++] = b64_digits[(v >> 12) & 63];
    out[o++] = '=';
    out[o++] = '=';
    out[o] = '\0';
}

static int b64_value(char c)
{
    const char *p = c ? strchr(b64_digits, c) : NULL;
    return p ? (int)(p - b64_digits) : -1;
}

/* The reverse, accepting only the canonical form (unused bits zero). */
static int sig_from_base64(const char *text, size_t len, uint8_t out[TRAIL_SIGNATURE_LEN])
{
    uint8_t sig[TRAIL_SIGNATURE_LEN];
    size_t i = 0, o = 0;
    int d[4];

    if (len != SIG_B64_LEN || text[86] != '=' || text[87] != '=')
        return TRAIL_E_PARSE;
    for (; i < 84; i += 4) {
        for (int k = 0; k < 4; k++)
            if ((d[k] = b64_value(text[i + k])) < 0)
                return TRAIL_E_PARSE;
        uint32_t v =
            (uint32_t)d[0] << 18 | (uint32_t)d[1] << 12 | (uint32_t)d[2] << 6 | (uint32_t)d[3];
        sig[o++] = (uint8_t)(v >> 16);
        sig[o++] = (uint8_t)(v >> 8);
        sig[o++] = (uint8_t)v;
    }
    if ((d[0] = b64_value(text[84])) < 0 || (d[1] = b64_value(text[85])) < 0 || (d[1] & 15))
        return TRAIL_E_PARSE;
    sig[o] = (uint8_t)(d[0] << 2 | d[1] >> 4);
    memcpy(out, sig, TRAIL_SIGNATURE_LEN);
    return 0;
}

int trail_checkpoint_format(const struct trail_checkpoint *cp, struct trail_buf *out)
{
    char root[2 * TRAIL_HASH_LEN + 1], chain[2 * TRAIL_HASH_LEN + 1], sig[SIG_B64_LEN + 1];
    char line[640];
    int n;

    if (!checkpoint_valid(cp))
        return -EINVAL;
    trail_hash_to_hex(cp->root, root);
    trail_hash_to_hex(cp->chain, chain);
    sig_to_base64(cp->signature, sig);
    n = snprintf(line, sizeof(line), LINE_MAGIC " %s %" PRIu64 " %s %s %" PRId64 " %s %s",
                 cp->origin, cp->tree_size, root, chain, cp->time_us, cp->key_id, sig);
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
    if (field_len[0] != strlen(LINE_MAGIC) || memcmp(field[0], LINE_MAGIC, field_len[0]) != 0)
        return TRAIL_E_PARSE;
    if (!origin_valid(field[1], field_len[1]))
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
    if (sig_from_base64(field[7], field_len[7], cp.signature) < 0)
        return TRAIL_E_PARSE;
    memcpy(ret_cp, &cp, sizeof(cp));
    return 0;
}
