/*
 * store_origin.c - the store's origin: the name its checkpoints carry (the
 * first line of a C2SP tlog-checkpoint and the key name of its signature),
 * chosen once and stable for the store's life.
 *
 * Not for: signing (store_checkpoint.c), the note (lib/integrity).
 *
 * DIR/origin, text, one line: the origin and '\n'. Written once, atomically
 * (trail_file_replace), by a writer opened with trail_store_opts.origin
 * before the store's first checkpoint; never changed after. A store without
 * the file (every store made before origins could be chosen, and every store
 * made without one) has the origin derived from its id: the 32 lower-case hex
 * digits of DIR/store.meta's store id, which is also what its
 * trail-checkpoint/1 lines named. An origin is 1..128 bytes of printable
 * ASCII other than space and '+' (a C2SP note key name that is one word);
 * docs/integrity.md, "The origin".
 */
#include "integrity/note.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define ORIGIN_FILE "origin"

static void hex_origin(const uint8_t id[16], char out[TRAIL_ORIGIN_MAX + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = digits[id[i] >> 4];
        out[2 * i + 1] = digits[id[i] & 15];
    }
    out[32] = '\0';
}

int store_origin_read(int dir_fd, const uint8_t store_id[16], char out[TRAIL_ORIGIN_MAX + 1])
{
    char buf[TRAIL_ORIGIN_MAX + 2];
    int fd = openat(dir_fd, ORIGIN_FILE, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT)
            return -errno;
        hex_origin(store_id, out);
        return 0;
    }
    ssize_t got = read(fd, buf, sizeof(buf));
    int err = errno;
    close(fd);
    if (got < 0)
        return -err;
    if (got < 2 || buf[got - 1] != '\n' || !note_name_valid(buf, (size_t)got - 1))
        return TRAIL_E_CORRUPT;
    memcpy(out, buf, (size_t)got - 1);
    out[got - 1] = '\0';
    return 0;
}

int store_origin_open(struct trail_store *s, int has_checkpoint, char out[TRAIL_ORIGIN_MAX + 1],
                      struct trail_store_report *rep)
{
    const char *want = s->o.origin;
    int r = store_origin_read(s->dir_fd, s->store_id, out);
    if (r < 0) {
        store_report(rep, "origin: DIR/origin is not one origin line (%s)", trail_strerror(r));
        return r;
    }
    if (!want || strcmp(want, out) == 0)
        return 0;
    if (!note_name_valid(want, strlen(want))) {
        store_report(rep, "origin: '%s' is not an origin (printable ASCII, no space, no '+')",
                     want);
        return -EINVAL;
    }
    struct stat st;
    int chosen = fstatat(s->dir_fd, ORIGIN_FILE, &st, 0) == 0;
    if (chosen || has_checkpoint) {
        /* an origin is the name the store's checkpoints and their witnesses know it by */
        store_report(rep,
                     "origin: the store is '%s' (its checkpoints say so); '%s' cannot replace it",
                     out, want);
        return -EINVAL;
    }
    char path[4200], line[TRAIL_ORIGIN_MAX + 2];
    snprintf(path, sizeof(path), "%s/%s", s->dir, ORIGIN_FILE);
    int n = snprintf(line, sizeof(line), "%s\n", want);
    if ((r = trail_file_replace(path, line, (size_t)n, 0644)) < 0)
        return r;
    snprintf(out, TRAIL_ORIGIN_MAX + 1, "%s", want);
    return 0;
}

int trail_store_origin(struct trail_store *s, char ret_origin[TRAIL_ORIGIN_MAX + 1])
{
    if (s->origin[0]) {
        memcpy(ret_origin, s->origin, TRAIL_ORIGIN_MAX + 1);
        return 0;
    }
    return store_origin_read(s->dir_fd, s->store_id, ret_origin);
}
