/*
 * witness_cosign.c - a witness's cosignature, for tests that need a checkpoint
 * cosigned by a party outside the store without running a second traild
 * (tests/integration/verify_attacks.sh's witness column).
 *
 *   witness_cosign KEY NAME TIME < NOTE > COSIGNED
 *       read a checkpoint note (trail checkpoint --note) on standard input
 *       and write it with the cosignature/v1 line of KEY (a private key
 *       file) under the witness name NAME, dated TIME (seconds since the
 *       epoch), in the form a tlog-witness sink keeps in
 *       STORE/sinks/NAME.cosigned.
 *
 * It checks nothing about the log's history: the test stands for a witness
 * that has. Exit 0 on success, 1 otherwise, with the reason on standard error.
 */
#include <stdio.h>
#include <stdlib.h>

#include "trail.h"

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: witness_cosign KEY NAME TIME < NOTE > COSIGNED\n");
        return 2;
    }
    struct trail_buf note = {0}, line = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
        if (trail_buf_append(&note, chunk, n) < 0)
            return 1;
    struct trail_key *key = NULL;
    struct trail_checkpoint cp;
    int r = trail_key_load_private(argv[1], &key);
    if (r < 0)
        fprintf(stderr, "witness_cosign: cannot load %s: %s\n", argv[1], trail_strerror(r));
    else if ((r = trail_checkpoint_note_parse(note.data ? note.data : "", note.len, &cp)) < 0)
        fprintf(stderr, "witness_cosign: not a checkpoint note: %s\n", trail_strerror(r));
    else if ((r = trail_cosignature_sign(key, argv[2], &cp, strtoull(argv[3], NULL, 10), &line)) <
             0)
        fprintf(stderr, "witness_cosign: cannot cosign: %s\n", trail_strerror(r));
    else if (fwrite(note.data, 1, note.len, stdout) != note.len ||
             fwrite(line.data, 1, line.len, stdout) != line.len || fflush(stdout) != 0)
        r = -1;
    trail_key_free(key);
    trail_buf_free(&note);
    trail_buf_free(&line);
    return r < 0;
}
