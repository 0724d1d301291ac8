/*
 * store_attacker.c - the attacker of tests/attacker.h as a command, for
 * tests/integration/verify_attacks.sh; and a way to fill a store with small
 * segments, which `trail import` does not offer (its segments are 64 MiB).
 *
 *   store_attacker rewrite DIR EDIT_SEQ [KEEP_UPTO|all [KEY]]
 *       change the duser of record EDIT_SEQ (0: none), drop the records after
 *       KEEP_UPTO, recompute every CRC, block, index, trailer, header and
 *       tree.roots; checkpoint lines past the cut go; with KEY (a private key
 *       file) every line left is signed again over the new tree.
 *   store_attacker import DIR SEGMENT_BYTES FILE
 *       append FILE's NDJSON events to the store in DIR (created when
 *       missing; signed with DIR/checkpoint.key as every writer does) with
 *       segments of SEGMENT_BYTES, all sealed but the last.
 *
 * Exit 0 on success, 1 otherwise, with the reason on standard error.
 */
#include "attacker.h"

#include <errno.h>

static int import(const char *dir, uint64_t seg_bytes, const char *file)
{
    struct trail_catalog *cat;
    if (trail_catalog_new(&cat) < 0)
        return -1;
    struct trail_store_opts o = {.create = 1, .segment_max_bytes = seg_bytes};
    struct trail_store *s;
    int r = trail_store_open(dir, cat, &o, &s, NULL);
    if (r < 0) {
        fprintf(stderr, "store_attacker: %s: %s\n", dir, trail_strerror(r));
        trail_catalog_free(cat);
        return -1;
    }
    FILE *f = fopen(file, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    uint64_t last = 0;
    while (r == 0 && f && (len = getline(&line, &cap, f)) > 0) {
        struct trail_event *ev;
        char err[200];
        if (trail_event_from_json(cat, line, (size_t)len, &ev, err, sizeof(err)) < 0) {
            fprintf(stderr, "store_attacker: %s: %s\n", file, err);
            r = -1;
            break;
        }
        r = trail_store_append(s, &ev, 1, &last);
        trail_event_free(ev);
    }
    if (r == 0 && last)
        r = trail_store_wait(s, last);
    /* every segment but the last sealed before close, as a store that ran long has them */
    for (int i = 0; r == 0 && i < 20000; i++) {
        struct trail_store_stats st;
        trail_store_stats(s, &st);
        if (st.sealed_segments + 1 >= st.segments)
            break;
        usleep(1000);
    }
    free(line);
    if (f)
        fclose(f);
    else
        r = -1;
    int rc = trail_store_close(s);
    trail_catalog_free(cat);
    return r < 0 || rc < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "rewrite") == 0) {
        uint64_t edit = strtoull(argv[3], NULL, 10);
        uint64_t keep =
            argc > 4 && strcmp(argv[4], "all") != 0 ? strtoull(argv[4], NULL, 10) : UINT64_MAX;
        struct trail_key *key = NULL;
        if (argc > 5 && trail_key_load_private(argv[5], &key) < 0) {
            fprintf(stderr, "store_attacker: cannot load %s\n", argv[5]);
            return 1;
        }
        int r = atk_rewrite(argv[2], edit, keep, key);
        trail_key_free(key);
        if (r < 0)
            fprintf(stderr, "store_attacker: rewrite of %s failed\n", argv[2]);
        return r < 0;
    }
    if (argc == 5 && strcmp(argv[1], "import") == 0)
        return import(argv[2], strtoull(argv[3], NULL, 10), argv[4]) < 0;
    fprintf(stderr, "usage: store_attacker rewrite DIR EDIT_SEQ [KEEP_UPTO|all [KEY]]\n"
                    "       store_attacker import DIR SEGMENT_BYTES FILE\n");
    return 2;
}
