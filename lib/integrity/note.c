/*
 * note.c - C2SP signed notes (https://c2sp.org/signed-note): base64, key
 * ids, signature lines, and splitting a note into its text and signatures.
 *
 * Not for: what a note's text says (checkpoint.c writes a tlog-checkpoint),
 * signing and verifying (checkpoint.c holds the keys).
 *
 * A note, as trail writes and reads it:
 *
 *     TEXT           one or more lines, each ending in '\n' (no blank line)
 *     \n             one blank line
 *     — NAME SIG\n   one or more signature lines: U+2014, a space, the key
 *                    name, a space, base64(4-byte key id || signature)
 *
 * The Ed25519 key id of key name NAME and public key PUB (32 bytes) is
 * SHA-256(NAME || 0x0A || 0x01 || PUB)[0..4]; the signature covers TEXT
 * exactly (its final '\n' included). The verifier key a checker is given is
 * NAME+KEYID_HEX+base64(0x01 || PUB) (checkpoint.c, trail_key_verifier).
 */
#include "integrity/note.h"
#include "integrity/merkle.h"

#include <errno.h>
#include <string.h>

static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int b64_encode(const uint8_t *in, size_t n, struct trail_buf *out)
{
    char quad[4];
    int r;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        quad[0] = digits[v >> 18];
        quad[1] = digits[(v >> 12) & 63];
        quad[2] = i + 1 < n ? digits[(v >> 6) & 63] : '=';
        quad[3] = i + 2 < n ? digits[v & 63] : '=';
        if ((r = trail_buf_append(out, quad, 4)) < 0)
            return r;
    }
    return 0;
}

static int digit_value(char c)
{
    const char *p = c ? strchr(digits, c) : NULL;
    return p ? (int)(p - digits) : -1;
}

long b64_decode(const char *text, size_t len, uint8_t *out, size_t max)
{
    size_t o = 0;
    if (len % 4 != 0)
        return TRAIL_E_PARSE;
    for (size_t i = 0; i < len; i += 4) {
        int d[4], pad = 0;
        for (int k = 0; k < 4; k++) {
            if (text[i + k] == '=' && i + 4 == len && k >= 2) {
                d[k] = 0;
                pad++;
                continue;
            }
            if (pad || (d[k] = digit_value(text[i + k])) < 0)
                return TRAIL_E_PARSE;
        }
        uint32_t v =
            (uint32_t)d[0] << 18 | (uint32_t)d[1] << 12 | (uint32_t)d[2] << 6 | (uint32_t)d[3];
        /* canonical: the bits that padding leaves over are zero */
        if ((pad == 1 && (v & 0xff)) || (pad == 2 && (v & 0xffff)))
            return TRAIL_E_PARSE;
        size_t n = 3 - (size_t)pad;
        if (o + n > max)
            return TRAIL_E_PARSE;
        for (size_t k = 0; k < n; k++)
            out[o++] = (uint8_t)(v >> (16 - 8 * k));
    }
    return (long)o;
}

int note_name_valid(const char *name, size_t len)
{
    if (len == 0 || len > TRAIL_ORIGIN_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x21 || c > 0x7e || c == '+')
            return 0;
    }
    return 1;
}

int note_key_id(const char *name, size_t name_len, const uint8_t pub[32],
                uint8_t out[NOTE_KEY_ID_LEN])
{
    uint8_t buf[TRAIL_ORIGIN_MAX + 2 + 32], digest[TRAIL_HASH_LEN];
    if (name_len > TRAIL_ORIGIN_MAX)
        return -EINVAL;
    memcpy(buf, name, name_len);
    buf[name_len] = '\n';
    buf[name_len + 1] = NOTE_ALG_ED25519;
    memcpy(buf + name_len + 2, pub, 32);
    int r = hash_sha256(buf, name_len + 2 + 32, digest);
    if (r < 0)
        return r;
    memcpy(out, digest, NOTE_KEY_ID_LEN);
    return 0;
}

int note_signature_line(const char *name, const uint8_t id[NOTE_KEY_ID_LEN], const uint8_t *sig,
                        size_t sig_len, struct trail_buf *out)
{
    uint8_t blob[NOTE_KEY_ID_LEN + 8 + 64]; /* a cosignature's: its time, then the signature */
    int r;
    if (sig_len > 8 + 64)
        return -EINVAL;
    memcpy(blob, id, NOTE_KEY_ID_LEN);
    memcpy(blob + NOTE_KEY_ID_LEN, sig, sig_len);
    if ((r = trail_buf_append(out, NOTE_SIG_PREFIX, strlen(NOTE_SIG_PREFIX))) < 0 ||
        (r = trail_buf_append(out, name, strlen(name))) < 0 ||
        (r = trail_buf_append(out, " ", 1)) < 0 ||
        (r = b64_encode(blob, NOTE_KEY_ID_LEN + sig_len, out)) < 0)
        return r;
    return trail_buf_append(out, "\n", 1);
}

int note_split(const char *text, size_t len, size_t *ret_text_len, size_t *ret_sigs)
{
    /* the last blank line: signature lines never hold one, the text may not either */
    size_t blank = len;
    for (size_t i = len; i >= 2; i--)
        if (text[i - 1] == '\n' && text[i - 2] == '\n') {
            blank = i - 1;
            break;
        }
    if (blank == len || blank == 0 || blank + 1 >= len || text[len - 1] != '\n')
        return TRAIL_E_PARSE;
    if (memchr(text, '\0', len))
        return TRAIL_E_PARSE;
    *ret_text_len = blank;
    *ret_sigs = blank + 1;
    return 0;
}

int note_signature_parse(const char *line, size_t len, const char **ret_name, size_t *ret_name_len,
                         uint8_t id[NOTE_KEY_ID_LEN], uint8_t *sig, size_t sig_max,
                         size_t *ret_sig_len)
{
    size_t plen = strlen(NOTE_SIG_PREFIX);
    uint8_t blob[NOTE_KEY_ID_LEN + 128];
    if (len <= plen || memcmp(line, NOTE_SIG_PREFIX, plen) != 0)
        return TRAIL_E_PARSE;
    const char *name = line + plen;
    const char *sp = memchr(name, ' ', len - plen);
    if (!sp || !note_name_valid(name, (size_t)(sp - name)))
        return TRAIL_E_PARSE;
    const char *b64 = sp + 1;
    size_t b64_len = len - (size_t)(b64 - line);
    long n = b64_decode(b64, b64_len, blob, sizeof(blob));
    if (n < NOTE_KEY_ID_LEN + 1 || (size_t)n - NOTE_KEY_ID_LEN > sig_max)
        return TRAIL_E_PARSE;
    *ret_name = name;
    *ret_name_len = (size_t)(sp - name);
    memcpy(id, blob, NOTE_KEY_ID_LEN);
    memcpy(sig, blob + NOTE_KEY_ID_LEN, (size_t)n - NOTE_KEY_ID_LEN);
    *ret_sig_len = (size_t)n - NOTE_KEY_ID_LEN;
    return 0;
}
