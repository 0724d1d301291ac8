/*
 * note.h - C2SP signed notes (https://c2sp.org/signed-note), internal: the
 * base64 every C2SP format uses, Ed25519 key ids and verifier keys, and the
 * signature lines of a note.
 *
 * Not here: what a note says (a checkpoint's body is checkpoint.c's), keys
 * and their files (checkpoint.c).
 */
#ifndef TRAIL_NOTE_H
#define TRAIL_NOTE_H

#include "trail.h"

#include <stddef.h>
#include <stdint.h>

#define NOTE_SIG_PREFIX  "\xe2\x80\x94 " /* U+2014 EM DASH and a space */
#define NOTE_ALG_ED25519 0x01
#define NOTE_KEY_ID_LEN  4

/* b64_encode - append the padded standard base64 (RFC 4648 section 4) of in[0..n). */
int b64_encode(const uint8_t *in, size_t n, struct trail_buf *out);

/*
 * b64_decode - read text[0..len) as padded standard base64 into out (room for
 * max bytes), accepting only the canonical form (padding present, unused bits
 * zero). Returns the number of bytes, or TRAIL_E_PARSE (also when more than
 * max); out may be partly written on failure.
 */
long b64_decode(const char *text, size_t len, uint8_t *out, size_t max);

/*
 * note_name_valid - 1 when name[0..len) may name a note key: non-empty,
 * printable ASCII without space and without '+' (the verifier key's
 * separator). trail accepts no wider set, so a name is also a word of its
 * line forms.
 */
int note_name_valid(const char *name, size_t len);

/* note_key_id - SHA-256(name || 0x0A || 0x01 || pub)[0..4]: the id of an Ed25519 note key. */
int note_key_id(const char *name, size_t name_len, const uint8_t pub[32],
                uint8_t out[NOTE_KEY_ID_LEN]);

/*
 * note_signature_line - append "— NAME BASE64(key id || sig)\n", the line a
 * signer adds under a note's text.
 */
int note_signature_line(const char *name, const uint8_t id[NOTE_KEY_ID_LEN], const uint8_t *sig,
                        size_t sig_len, struct trail_buf *out);

/*
 * note_split - find the text and the signature lines of the note
 * text[0..len): the text ends with its last '\n' before the last blank line
 * ("\n\n"); the signature lines follow the blank line and each ends in '\n'.
 * Sets *ret_text_len (the text's bytes, its final '\n' included) and
 * *ret_sigs (offset of the first signature line). TRAIL_E_PARSE when there
 * is no blank line, no signature line or a line without its '\n'.
 */
int note_split(const char *text, size_t len, size_t *ret_text_len, size_t *ret_sigs);

/*
 * note_signature_parse - read one signature line line[0..len) (without its
 * '\n'): the key name into *ret_name / *ret_name_len (pointing into line), and
 * the decoded key id and signature into id and sig (room for sig_max bytes,
 * *ret_sig_len set). TRAIL_E_PARSE for anything else.
 */
int note_signature_parse(const char *line, size_t len, const char **ret_name, size_t *ret_name_len,
                         uint8_t id[NOTE_KEY_ID_LEN], uint8_t *sig, size_t sig_max,
                         size_t *ret_sig_len);

#endif /* TRAIL_NOTE_H */
