/*
 * fuzz_note.c - libFuzzer target for C2SP signed notes and the checkpoints
 * in them: note_split(), note_signature_parse(), b64_decode() and
 * trail_checkpoint_note_parse().
 *
 * Each input is read as a whole note and, line by line, as signature lines
 * and base64. What the readers accept must be canonical, or the target
 * aborts:
 *   - base64 that decodes encodes back to the same text;
 *   - a signature line that parses is rebuilt byte for byte by
 *     note_signature_line();
 *   - a checkpoint note that parses has the text trail_checkpoint_note()
 *     writes for it (its signature lines may hold others' lines, a witness's
 *     cosignature, which are skipped), the note written for it parses back to
 *     the same checkpoint, and so does its one-line form;
 *   - no input verifies under a key made after it (signature forgery).
 * Not here: the one-line form alone (fuzz_proof.c). In ordinary builds
 * tests/fuzz/replay.c runs this over corpus/fuzz_note/ as a plain test.
 */
#include "integrity/note.h"
#include "trail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct trail_key *key;

static void die(const char *what, const uint8_t *in, size_t in_len, const char *out, size_t out_len)
{
    fprintf(stderr, "fuzz_note: %s\n input:  %.*s\n output: %.*s\n", what, (int)in_len,
            (const char *)in, (int)out_len, out);
    abort();
}

/* One line (without its '\n') as base64 and as a signature line. */
static void check_line(const char *line, size_t len, struct trail_buf *buf)
{
    uint8_t bytes[256], id[NOTE_KEY_ID_LEN], sig[128];
    const char *name;
    size_t name_len, sig_len;
    char name_z[TRAIL_ORIGIN_MAX + 1];

    long n = b64_decode(line, len, bytes, sizeof(bytes));
    if (n >= 0) {
        trail_buf_reset(buf);
        /* an empty line decodes to nothing and encodes to no buffer at all */
        if (b64_encode(bytes, (size_t)n, buf) != 0 || buf->len != len ||
            (len && memcmp(buf->data, line, len) != 0))
            die("accepted base64 is not canonical", (const uint8_t *)line, len, buf->data,
                buf->len);
    }
    if (note_signature_parse(line, len, &name, &name_len, id, sig, 64, &sig_len) != 0)
        return;
    if (name_len > TRAIL_ORIGIN_MAX || !note_name_valid(name, name_len))
        die("a signature line's name is not a key name", (const uint8_t *)line, len, "", 0);
    memcpy(name_z, name, name_len);
    name_z[name_len] = '\0';
    trail_buf_reset(buf);
    if (note_signature_line(name_z, id, sig, sig_len, buf) != 0)
        die("a parsed signature line does not format", (const uint8_t *)line, len, "", 0);
    if (buf->len != len + 1 || memcmp(buf->data, line, len) != 0)
        die("a parsed signature line is not canonical", (const uint8_t *)line, len, buf->data,
            buf->len);
}

static void check_note(const uint8_t *data, size_t size, struct trail_buf *buf)
{
    const char *text = (const char *)data;
    struct trail_checkpoint cp, again;
    size_t text_len, sigs;

    if (note_split(text, size, &text_len, &sigs) == 0 &&
        (text_len == 0 || text_len >= size || sigs != text_len + 1 || text[text_len - 1] != '\n' ||
         text[text_len] != '\n' || text[size - 1] != '\n'))
        die("note_split cut a note in the wrong place", data, size, "", 0);
    if (trail_checkpoint_note_parse(text, size, &cp) != 0)
        return;
    if (note_split(text, size, &text_len, &sigs) != 0)
        die("a checkpoint note parsed that does not split", data, size, "", 0);
    trail_buf_reset(buf);
    if (trail_checkpoint_note(&cp, buf) != 0)
        die("a parsed checkpoint note does not format", data, size, "", 0);
    if (buf->len < text_len + 1 || memcmp(buf->data, text, text_len + 1) != 0)
        die("a parsed checkpoint note's text is not what trail writes", data, size, buf->data,
            buf->len);
    if (trail_checkpoint_note_parse(buf->data, buf->len, &again) != 0 ||
        memcmp(&again, &cp, sizeof(cp)) != 0)
        die("a rewritten checkpoint note does not read back the same", data, size, buf->data,
            buf->len);
    trail_buf_reset(buf);
    if (trail_checkpoint_format(&cp, buf) != 0 ||
        trail_checkpoint_parse(buf->data, buf->len, &again) != 0 ||
        memcmp(&again, &cp, sizeof(cp)) != 0)
        die("a checkpoint note's line form does not read back the same", data, size, buf->data,
            buf->len);
    /* the key is made fresh for this run: no input can hold its signature */
    if (trail_checkpoint_verify(&cp, key) == 0)
        die("a checkpoint note verified with a key made after it", data, size, "", 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct trail_buf buf = {0};
    if (!key && trail_key_generate(NULL, NULL, &key) != 0)
        abort();
    check_note(data, size, &buf);
    for (size_t pos = 0; pos < size;) {
        const uint8_t *nl = memchr(data + pos, '\n', size - pos);
        size_t end = nl ? (size_t)(nl - data) : size;
        check_line((const char *)data + pos, end - pos, &buf);
        pos = end + 1;
    }
    trail_buf_free(&buf);
    return 0;
}
