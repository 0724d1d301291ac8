/*
 * policy.c - the --policy FILE of `trail verify` and `trail proof check`: a
 * witness policy (trail_witness_policy_parse; docs/integrity.md, "Witness
 * policy") read and applied to cosigned checkpoint notes, and the one line
 * both commands print about it.
 *
 * Not for: cosignatures themselves (libtrail), where a store keeps its
 * cosigned notes (traild's tlog-witness sink: STORE/sinks/NAME.cosigned).
 */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_POLICY_BYTES (1 << 20)
#define MAX_NOTE_BYTES   (1 << 16)

int cli_policy_load(const char *cmd, const char *path, struct trail_witness_policy **ret)
{
    struct trail_buf buf = {0};
    char err[300];
    int r = cli_read_file(path, MAX_POLICY_BYTES, &buf);
    if (r < 0) {
        trail_buf_free(&buf);
        return cli_usage_error(cmd, "cannot read the policy %s: %s", path, trail_strerror(r));
    }
    r = trail_witness_policy_parse(buf.data ? buf.data : "", buf.len, ret, err, sizeof(err));
    trail_buf_free(&buf);
    if (r < 0)
        return cli_usage_error(cmd, "%s: %s", path, r == TRAIL_E_PARSE ? err : trail_strerror(r));
    return 0;
}

int cli_checkpoint_same(const struct trail_checkpoint *a, const struct trail_checkpoint *b)
{
    /* field by field: the structs' padding is nobody's */
    return !strcmp(a->origin, b->origin) && a->tree_size == b->tree_size &&
           !memcmp(a->root, b->root, TRAIL_HASH_LEN) &&
           !memcmp(a->chain, b->chain, TRAIL_HASH_LEN) && a->time_us == b->time_us &&
           !strcmp(a->key_id, b->key_id) &&
           !memcmp(a->signature, b->signature, TRAIL_SIGNATURE_LEN) && a->legacy == b->legacy;
}

int cli_policy_report(const struct trail_witness_policy *p, const struct trail_checkpoint *cp,
                      size_t valid, FILE *out)
{
    size_t n, quorum;
    trail_witness_policy_size(p, &n, &quorum);
    if (!cp) {
        fprintf(out,
                "witness policy: not enough cosignatures: no cosigned checkpoint "
                "(%zu of %zu witnesses needed)\n",
                quorum, n);
        return 1;
    }
    fprintf(out,
            "witness policy: %scheckpoint of size %" PRIu64 " cosigned by %zu of %zu witnesses, "
            "%zu needed\n",
            valid >= quorum ? "" : "not enough cosignatures: ", cp->tree_size, valid, n, quorum);
    return valid >= quorum ? 0 : 1;
}

/* the signature lines of note[0..len): after its last blank line */
static const char *sig_lines(const char *note, size_t len, size_t *ret_len)
{
    for (size_t i = len; i >= 2; i--)
        if (note[i - 1] == '\n' && note[i - 2] == '\n') {
            *ret_len = len - i;
            return note + i;
        }
    *ret_len = 0;
    return NULL;
}

int cli_policy_store(const char *dir, const struct trail_witness_policy *p,
                     const struct trail_key *const *keys, size_t n_keys,
                     struct trail_checkpoint *ret_cp, size_t *ret_valid)
{
    char path[4400];
    snprintf(path, sizeof(path), "%s/sinks", dir);
    DIR *d = opendir(path);
    struct {
        struct trail_checkpoint cp;
        struct trail_buf note; /* the note, then every cosigned file's signature lines */
    } *c = NULL;
    size_t n = 0, best_valid = 0;
    int best = -1;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 10 || strcmp(e->d_name + l - 9, ".cosigned") != 0)
            continue;
        struct trail_buf buf = {0};
        struct trail_checkpoint cp;
        snprintf(path, sizeof(path), "%s/sinks/%s", dir, e->d_name);
        if (cli_read_file(path, MAX_NOTE_BYTES, &buf) < 0 ||
            trail_checkpoint_note_parse(buf.data, buf.len, &cp) < 0) {
            trail_buf_free(&buf);
            continue;
        }
        /* only a checkpoint the store's key signed counts */
        int ok = 0;
        for (size_t k = 0; k < n_keys && !ok; k++)
            ok = trail_checkpoint_verify(&cp, keys[k]) == 0;
        size_t i = 0;
        while (ok && i < n && !cli_checkpoint_same(&c[i].cp, &cp))
            i++;
        if (ok && i == n) {
            void *m = realloc(c, (n + 1) * sizeof(*c));
            if (!m) {
                trail_buf_free(&buf);
                break;
            }
            c = m;
            c[n].cp = cp;
            c[n].note = buf;
            n++;
            continue;
        }
        size_t sl;
        const char *s = ok ? sig_lines(buf.data, buf.len, &sl) : NULL;
        if (s)
            trail_buf_append(&c[i].note, s, sl);
        trail_buf_free(&buf);
    }
    if (d)
        closedir(d);
    /* the largest checkpoint that meets the quorum; else the one with the most cosignatures */
    size_t n_w, quorum;
    trail_witness_policy_size(p, &n_w, &quorum);
    for (size_t i = 0; i < n; i++) {
        size_t valid = 0, q;
        trail_witness_policy_check(p, &c[i].cp, c[i].note.data, c[i].note.len, &valid, &q);
        int met = valid >= quorum, best_met = best >= 0 && best_valid >= quorum;
        if (best < 0 || (met && !best_met) ||
            (met == best_met &&
             (met ? c[i].cp.tree_size > c[best].cp.tree_size : valid > best_valid))) {
            best = (int)i;
            best_valid = valid;
        }
    }
    if (best >= 0) {
        *ret_cp = c[best].cp;
        *ret_valid = best_valid;
    }
    for (size_t i = 0; i < n; i++)
        trail_buf_free(&c[i].note);
    free(c);
    return best >= 0;
}
