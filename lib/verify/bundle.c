/*
 * bundle.c - evidence bundles: a few records of a store with their inclusion
 * proofs and a (cosigned) checkpoint in one text file, so that whoever holds
 * it can check offline, with nothing else, that the records are in the log
 * the checkpoint signs (trail_bundle_make, trail_bundle_parse; checked by
 * `trail proof check BUNDLE`).
 *
 * The format, trail-bundle/1 (also docs/integrity.md, "Evidence bundles"),
 * each line ending in '\n':
 *
 *     trail-bundle/1 N                   N: the number of events, 1..TRAIL_BUNDLE_MAX
 *     store ID                           the store's id, 32 hex digits (DIR/store.meta):
 *                                        the uuid of an event stored without one is
 *                                        derived from it; not part of what is proven
 *     <the checkpoint's C2SP signed note, verbatim: its text lines, one
 *      blank line, the log's signature line and the witnesses'
 *      cosignature lines, each starting with U+2014>
 *                                        one blank line: the note ends
 *     event SEQ                          N times, SEQ strictly increasing
 *     record BASE64                      the record's canonical bytes (its leaf
 *                                        hash is SHA-256(0x00 || bytes))
 *     path [HASH...]                     the inclusion proof of leaf SEQ - 1 in
 *                                        the checkpoint's tree: RFC 9162 audit
 *                                        path, sibling first, each hash padded
 *                                        standard base64 and preceded by a space
 *
 * Base64 is the padded standard form C2SP uses (RFC 4648 section 4), read
 * only in its canonical form. Nothing else may follow the last event. The
 * checkpoint chosen is the newest one a tlog-witness sink kept cosigned in
 * DIR/sinks/NAME.cosigned that covers every record asked (the lines of all
 * such files for that checkpoint together); when none does, the store's
 * latest signed checkpoint alone.
 *
 * Not for: checking signatures and policies (the caller, with
 * trail_checkpoint_verify and trail_witness_policy_check; cli/proof.c), the
 * proofs' algorithms (lib/integrity/proof.c).
 */
#include "integrity/note.h"
#include "store/record.h"
#include "trail.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOTE_MAX   (1 << 16) /* a cosigned note file read at most */
#define RECORD_MAX 65536     /* records stay below this (docs/format.md) */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int read_small(const char *path, struct trail_buf *out)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    char buf[4096];
    size_t n;
    int r = 0;
    while (r == 0 && (n = fread(buf, 1, sizeof(buf), f)) > 0)
        r = out->len + n > NOTE_MAX ? -EFBIG : trail_buf_append(out, buf, n);
    if (r == 0 && ferror(f))
        r = -EIO;
    fclose(f);
    return r;
}

/* The offset just past the note's blank line (where its signature lines start), or 0. */
static size_t sigs_at(const char *note, size_t len)
{
    for (size_t i = 1; i < len; i++)
        if (note[i] == '\n' && note[i - 1] == '\n')
            return i + 1;
    return 0;
}

/* 1 when line (with its '\n') is already among the lines of note. */
static int has_line(const struct trail_buf *note, const char *line, size_t len)
{
    for (size_t i = 0; i + len <= note->len; i++)
        if ((i == 0 || note->data[i - 1] == '\n') && memcmp(note->data + i, line, len) == 0)
            return 1;
    return 0;
}

/* 1 when the store holds leaves [0, cp->tree_size) with the checkpoint's root. */
static int store_matches(struct trail_store *s, const struct trail_checkpoint *cp)
{
    uint8_t root[TRAIL_HASH_LEN];
    return cp->tree_size > 0 && cp->tree_size <= trail_store_durable_seq(s) &&
           trail_store_subtree_hash(s, 0, cp->tree_size, root) == 0 &&
           memcmp(root, cp->root, TRAIL_HASH_LEN) == 0;
}

/*
 * The newest cosigned checkpoint in dir/sinks/ *.cosigned that covers need
 * records and that the store agrees with, its note (with every file's
 * cosignature lines for it) into note: 1, 0 when none, or -ENOMEM.
 */
static int best_cosigned(struct trail_store *s, const char *dir, uint64_t need,
                         struct trail_buf *note, int *ret_lines)
{
    char path[4400];
    snprintf(path, sizeof(path), "%s/sinks", dir);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    struct trail_checkpoint best = {0};
    int have = 0, r = 0, lines = 0;
    struct dirent *e;
    while (r == 0 && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 10 || strcmp(e->d_name + l - 9, ".cosigned") != 0)
            continue;
        struct trail_buf buf = {0};
        struct trail_checkpoint cp;
        snprintf(path, sizeof(path), "%s/sinks/%s", dir, e->d_name);
        size_t at;
        if (read_small(path, &buf) < 0 || trail_checkpoint_note_parse(buf.data, buf.len, &cp) < 0 ||
            cp.tree_size < need || (have && cp.tree_size < best.tree_size) ||
            !(at = sigs_at(buf.data, buf.len))) {
            trail_buf_free(&buf);
            continue;
        }
        /* the log's own signature line is the first one; the rest are cosignatures */
        size_t first_end = at;
        while (first_end < buf.len && buf.data[first_end] != '\n')
            first_end++;
        first_end++;
        if (have && cp.tree_size == best.tree_size && note->len >= first_end &&
            memcmp(note->data, buf.data, first_end) == 0) {
            /* the same checkpoint kept by another sink: add its cosignatures */
            for (size_t i = first_end; i < buf.len && r == 0;) {
                size_t j = i;
                while (j < buf.len && buf.data[j] != '\n')
                    j++;
                if (j < buf.len && !has_line(note, buf.data + i, j + 1 - i)) {
                    r = trail_buf_append(note, buf.data + i, j + 1 - i);
                    lines++;
                }
                i = j + 1;
            }
        } else if (first_end < buf.len && store_matches(s, &cp)) {
            trail_buf_reset(note);
            r = trail_buf_append(note, buf.data, buf.len);
            best = cp;
            have = 1;
            lines = 0;
            for (size_t i = first_end; i < buf.len; i++)
                lines += buf.data[i] == '\n';
        }
        trail_buf_free(&buf);
    }
    closedir(d);
    *ret_lines = lines;
    return r < 0 ? r : have;
}

static int append_b64_line(struct trail_buf *out, const char *key, const uint8_t *data, size_t len)
{
    int r = trail_buf_append(out, key, strlen(key));
    if (r == 0)
        r = b64_encode(data, len, out);
    if (r == 0)
        r = trail_buf_append(out, "\n", 1);
    return r;
}

int trail_bundle_make(struct trail_store *store, const char *dir,
                      const struct trail_checkpoint *latest, const uint64_t *seqs, size_t n,
                      struct trail_buf *out, size_t *ret_cosignatures, char *err, size_t errlen)
{
    uint64_t *sorted = NULL;
    struct trail_buf note = {0}, body = {0};
    struct trail_store_iter *it = NULL;
    struct trail_checkpoint cp;
    size_t m = 0;
    int r, lines = 0;

    if (!store || !dir || !seqs || n == 0 || n > TRAIL_BUNDLE_MAX) {
        snprintf(err, errlen, "1 to %d records", TRAIL_BUNDLE_MAX);
        return -EINVAL;
    }
    sorted = malloc(n * sizeof(*sorted));
    if (!sorted)
        return -ENOMEM;
    memcpy(sorted, seqs, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), cmp_u64);
    for (size_t i = 0; i < n; i++)
        if (m == 0 || sorted[m - 1] != sorted[i])
            sorted[m++] = sorted[i];
    uint64_t first = trail_store_first_seq(store), last = trail_store_durable_seq(store);
    if (sorted[0] == 0 || sorted[0] < first || sorted[m - 1] > last) {
        uint64_t bad = sorted[0] == 0 || sorted[0] < first ? sorted[0] : sorted[m - 1];
        snprintf(err, errlen,
                 "no record %" PRIu64 " in the store (it holds %" PRIu64 "..%" PRIu64 ")%s", bad,
                 first, last, bad && bad < first ? ": purged" : "");
        r = TRAIL_E_NOT_FOUND;
        goto out;
    }

    /* the checkpoint: the newest cosigned one that covers them, else the latest signed */
    r = best_cosigned(store, dir, sorted[m - 1], &note, &lines);
    if (r < 0)
        goto out;
    if (r == 1) {
        r = trail_checkpoint_note_parse(note.data, note.len, &cp);
    } else {
        if (latest)
            cp = *latest;
        else if ((r = trail_store_checkpoint_latest(store, &cp)) < 0) {
            snprintf(err, errlen, "no checkpoint signed yet");
            r = TRAIL_E_NOT_FOUND;
            goto out;
        }
        if (cp.legacy || cp.tree_size < sorted[m - 1]) {
            snprintf(err, errlen,
                     cp.legacy ? "the latest checkpoint is of trail's old form, with no note"
                               : "record %" PRIu64
                                 " is newer than the latest checkpoint (size %" PRIu64
                                 "); the next one covers it",
                     sorted[m - 1], cp.tree_size);
            r = TRAIL_E_NOT_FOUND;
            goto out;
        }
        trail_buf_reset(&note);
        r = trail_checkpoint_note(&cp, &note);
        lines = 0;
    }
    if (r < 0)
        goto out;

    char head[64];
    uint8_t id[16];
    char id_hex[33];
    trail_store_id(store, id);
    for (int k = 0; k < 16; k++)
        snprintf(id_hex + 2 * k, 3, "%02x", id[k]);
    snprintf(head, sizeof(head), "trail-bundle/1 %zu\nstore %s\n", m, id_hex);
    if ((r = trail_buf_append(&body, head, strlen(head))) < 0 ||
        (r = trail_buf_append(&body, note.data, note.len)) < 0 ||
        (r = trail_buf_append(&body, "\n", 1)) < 0)
        goto out;
    if ((r = trail_store_iter_new(store, TRAIL_ITER_FORWARD, &it)) < 0)
        goto out;
    for (size_t i = 0; i < m; i++) {
        uint64_t seq = sorted[i], got = 0;
        const uint8_t *rec;
        size_t rec_len;
        struct trail_proof proof;
        uint8_t leaf[TRAIL_HASH_LEN];
        if ((r = trail_store_iter_seek_seq(it, seq)) < 0 ||
            (r = trail_store_iter_next_raw(it, &rec, &rec_len, &got)) < 0 || r == 0 || got != seq) {
            snprintf(err, errlen, "cannot read record %" PRIu64 ": %s", seq,
                     r < 0 ? trail_strerror(r) : "not found");
            r = r < 0 ? r : TRAIL_E_NOT_FOUND;
            goto out;
        }
        if ((r = trail_proof_inclusion(seq - 1, cp.tree_size, trail_store_subtree_hash, store,
                                       &proof)) < 0) {
            snprintf(err, errlen, "cannot make the proof of record %" PRIu64 ": %s", seq,
                     trail_strerror(r));
            goto out;
        }
        /* checked before anyone relies on it */
        if (trail_hash_leaf(rec, rec_len, leaf) < 0 ||
            trail_proof_verify_inclusion(&proof, leaf, cp.root) != 0) {
            snprintf(err, errlen,
                     "record %" PRIu64 ": the store's tree does not lead to the checkpoint's "
                     "root: the store was changed after the checkpoint (run 'trail verify')",
                     seq);
            r = TRAIL_E_INTEGRITY;
            goto out;
        }
        snprintf(head, sizeof(head), "event %" PRIu64 "\n", seq);
        if ((r = trail_buf_append(&body, head, strlen(head))) < 0 ||
            (r = append_b64_line(&body, "record ", rec, rec_len)) < 0 ||
            (r = trail_buf_append(&body, "path", 4)) < 0)
            goto out;
        for (uint32_t k = 0; k < proof.n_path && r == 0; k++)
            if ((r = trail_buf_append(&body, " ", 1)) == 0)
                r = b64_encode(proof.path[k], TRAIL_HASH_LEN, &body);
        if (r < 0 || (r = trail_buf_append(&body, "\n", 1)) < 0)
            goto out;
    }
    if ((r = trail_buf_append(out, body.data, body.len)) < 0)
        goto out;
    if (ret_cosignatures)
        *ret_cosignatures = (size_t)lines;
    r = 0;
out:
    if (r == -ENOMEM)
        snprintf(err, errlen, "%s", trail_strerror(r));
    trail_store_iter_free(it);
    trail_buf_free(&note);
    trail_buf_free(&body);
    free(sorted);
    return r;
}

/* ---- reading ---- */

/* The next line of text[*at..len) without its '\n' (required): 0, or -1 at the end. */
static int next_line(const char *text, size_t len, size_t *at, const char **line, size_t *n)
{
    if (*at >= len)
        return -1;
    const char *p = memchr(text + *at, '\n', len - *at);
    if (!p)
        return -1;
    *line = text + *at;
    *n = (size_t)(p - *line);
    *at += *n + 1;
    return 0;
}

static int parse_u64(const char *s, size_t n, uint64_t *ret)
{
    uint64_t v = 0;
    if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *ret = v;
    return 0;
}

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        snprintf(err, errlen, __VA_ARGS__);                                                        \
        r = TRAIL_E_PARSE;                                                                         \
        goto fail;                                                                                 \
    } while (0)

int trail_bundle_parse(const char *text, size_t len, struct trail_bundle **ret, char *err,
                       size_t errlen)
{
    struct trail_bundle *b = calloc(1, sizeof(*b));
    const char *line;
    size_t n, at = 0, lineno = 1;
    uint64_t count;
    int r;
    if (!b)
        return -ENOMEM;
    static const char magic[] = "trail-bundle/1 ";
    if (next_line(text, len, &at, &line, &n) < 0 || n < sizeof(magic) ||
        memcmp(line, magic, sizeof(magic) - 1) != 0)
        FAIL("line 1: not an evidence bundle (first line 'trail-bundle/1 N')");
    if (parse_u64(line + sizeof(magic) - 1, n - (sizeof(magic) - 1), &count) < 0 || count == 0 ||
        count > TRAIL_BUNDLE_MAX)
        FAIL("line 1: the number of events must be 1 to %d", TRAIL_BUNDLE_MAX);

    lineno++;
    if (next_line(text, len, &at, &line, &n) < 0 || n != 6 + 32 || memcmp(line, "store ", 6) != 0)
        FAIL("line 2: expected 'store ID' (32 hex digits)");
    for (int k = 0; k < 16; k++) {
        unsigned v;
        char two[3] = {line[6 + 2 * k], line[7 + 2 * k], 0};
        if (!strchr("0123456789abcdef", two[0]) || !strchr("0123456789abcdef", two[1]) ||
            sscanf(two, "%2x", &v) != 1)
            FAIL("line 2: expected 'store ID' (32 lower-case hex digits)");
        b->store_id[k] = (uint8_t)v;
    }

    /* the note: text lines, a blank line, signature lines, a blank line */
    size_t note_at = at;
    int blanks = 0;
    while (blanks < 2) {
        lineno++;
        if (next_line(text, len, &at, &line, &n) < 0)
            FAIL("line %zu: the checkpoint's note does not end (a blank line after its "
                 "signature lines)",
                 lineno);
        if (n == 0)
            blanks++;
        else if (blanks == 1 && (n < 4 || memcmp(line, NOTE_SIG_PREFIX, 4) != 0))
            FAIL("line %zu: not a signature line of the checkpoint's note", lineno);
    }
    b->note_len = at - 1 - note_at;
    b->note = malloc(b->note_len + 1);
    if (!b->note) {
        r = -ENOMEM;
        goto fail;
    }
    memcpy(b->note, text + note_at, b->note_len);
    b->note[b->note_len] = '\0';
    if (trail_checkpoint_note_parse(b->note, b->note_len, &b->checkpoint) < 0)
        FAIL("the note is not a checkpoint of a trail store (C2SP tlog-checkpoint)");

    b->events = calloc((size_t)count, sizeof(*b->events));
    if (!b->events) {
        r = -ENOMEM;
        goto fail;
    }
    for (uint64_t i = 0; i < count; i++) {
        struct trail_bundle_event *e = &b->events[i];
        b->n_events++; /* counted now: what it holds is freed with it on failure */
        lineno++;
        if (next_line(text, len, &at, &line, &n) < 0 || n < 7 || memcmp(line, "event ", 6) != 0 ||
            parse_u64(line + 6, n - 6, &e->seq) < 0 || e->seq == 0)
            FAIL("line %zu: expected 'event SEQ' (event %" PRIu64 " of %" PRIu64 ")", lineno, i + 1,
                 count);
        if (i > 0 && e->seq <= b->events[i - 1].seq)
            FAIL("line %zu: event %" PRIu64 " after event %" PRIu64
                 ": the events go by increasing seq",
                 lineno, e->seq, b->events[i - 1].seq);
        if (e->seq > b->checkpoint.tree_size)
            FAIL("line %zu: event %" PRIu64 " is after the checkpoint (size %" PRIu64 ")", lineno,
                 e->seq, b->checkpoint.tree_size);
        lineno++;
        if (next_line(text, len, &at, &line, &n) < 0 || n < 7 || memcmp(line, "record ", 7) != 0)
            FAIL("line %zu: expected 'record BASE64' for event %" PRIu64, lineno, e->seq);
        e->record = malloc(RECORD_MAX);
        if (!e->record) {
            r = -ENOMEM;
            goto fail;
        }
        long got = b64_decode(line + 7, n - 7, e->record, RECORD_MAX);
        if (got <= 0)
            FAIL("line %zu: the record of event %" PRIu64 " is not base64", lineno, e->seq);
        e->record_len = (size_t)got;
        lineno++;
        if (next_line(text, len, &at, &line, &n) < 0 || n < 4 || memcmp(line, "path", 4) != 0 ||
            (n > 4 && line[4] != ' '))
            FAIL("line %zu: expected 'path HASH...' for event %" PRIu64, lineno, e->seq);
        e->proof.type = TRAIL_PROOF_INCLUSION;
        e->proof.leaf_index = e->seq - 1;
        e->proof.tree_size = b->checkpoint.tree_size;
        trail_hash_leaf(e->record, e->record_len, e->proof.leaf_hash);
        for (size_t p = 4; p < n;) {
            size_t q = p + 1;
            while (q < n && line[q] != ' ')
                q++;
            if (e->proof.n_path == TRAIL_PROOF_MAX_PATH ||
                b64_decode(line + p + 1, q - p - 1, e->proof.path[e->proof.n_path],
                           TRAIL_HASH_LEN) != TRAIL_HASH_LEN)
                FAIL("line %zu: hash %u of event %" PRIu64 "'s path is not a base64 hash", lineno,
                     e->proof.n_path + 1, e->seq);
            e->proof.n_path++;
            p = q;
        }
    }
    if (at != len)
        FAIL("line %zu: more after the last of %" PRIu64 " events", lineno + 1, count);
    *ret = b;
    return 0;
fail:
    trail_bundle_free(b);
    return r;
}

int trail_bundle_event_decode(const struct trail_bundle *b, size_t i, struct trail_event *ev)
{
    if (!b || i >= b->n_events || !ev)
        return -EINVAL;
    const struct trail_bundle_event *e = &b->events[i];
    int r = record_decode(e->record, e->record_len, b->store_id, ev);
    if (r == 0 && trail_event_seq(ev) != e->seq)
        r = TRAIL_E_CORRUPT;
    return r;
}

void trail_bundle_free(struct trail_bundle *b)
{
    if (!b)
        return;
    for (size_t i = 0; b->events && i < b->n_events; i++)
        free(b->events[i].record);
    free(b->events);
    free(b->note);
    free(b);
}
