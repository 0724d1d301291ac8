/*
 * store_checkpoint.c - the checkpoints a store writes itself: the signing
 * key, DIR/checkpoints (one signed checkpoint line per state signed), the
 * latest checkpoint, and the checkpoint sizes a purge must keep anchors for.
 *
 * Not for: when a checkpoint is due (store.c's flusher calls
 * store_checkpoint_write at the moments the checkpoint hook runs, and at
 * close), the signed message and the line form (checkpoint.c), checking
 * checkpoints (verify.c).
 *
 * DIR/checkpoints, text, append-only, one line per checkpoint:
 *
 *     trail-checkpoint/2 ORIGIN SIZE ROOT CHAIN TIME KEY SIGNATURE\n
 *
 * exactly the line form of trail_checkpoint_format() (docs/integrity.md)
 * followed by '\n'; ORIGIN is the store's origin (store_origin.c). Lines of
 * trail-checkpoint/1, written before checkpoints were C2SP notes, stay as
 * they are and are read as ever; the first checkpoint a writer makes after
 * them is a trail-checkpoint/2 line, at the same size when nothing was
 * added. Each
 * line is written with one write() on an O_APPEND descriptor and synced
 * (fdatasync) before the store goes on, and only ever for a state that is
 * already durable, so a checkpoint never covers a record the disk does not
 * hold. A crash can leave a last line without its '\n', or (a power cut that
 * kept only part of its pages) one that does not parse: the next writer cuts
 * it (reported) before it appends.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define CP_FILE     "checkpoints"
#define CP_KEY_FILE "checkpoint.key"
#define TAIL_BYTES  4096 /* a checkpoint line is about 330 bytes */

struct store_cp {
    pthread_mutex_t lock;
    struct trail_key *own_key;   /* loaded here (freed at close) */
    const struct trail_key *key; /* the key in use: own_key or opts.checkpoint_key */
    int fd;                      /* DIR/checkpoints, appending; -1 without a key */
    struct trail_checkpoint latest;
    int have_latest;
};

/*
 * The last complete line of the checkpoints file open as fd (size bytes):
 * parsed into *ret_cp (1), none (0), or TRAIL_E_PARSE / -errno. *ret_end is
 * the offset just after its '\n' (0 when there is none); *ret_start (may be
 * NULL), when the line was found whole, the offset of its first byte.
 */
static int last_line(int fd, uint64_t size, struct trail_checkpoint *ret_cp, uint64_t *ret_end,
                     uint64_t *ret_start)
{
    char buf[TAIL_BYTES];
    uint64_t from = size > sizeof(buf) ? size - sizeof(buf) : 0;
    size_t want = (size_t)(size - from);
    *ret_end = 0;
    if (want == 0)
        return 0;
    ssize_t got = pread(fd, buf, want, (off_t)from);
    if (got < 0)
        return -errno;
    if ((size_t)got != want)
        return -EIO;
    /* the last '\n', and the one before it */
    ssize_t end = (ssize_t)want - 1;
    while (end >= 0 && buf[end] != '\n')
        end--;
    if (end < 0)
        return from == 0 ? 0 : TRAIL_E_PARSE;
    *ret_end = from + (uint64_t)end + 1;
    ssize_t start = end - 1;
    while (start >= 0 && buf[start] != '\n')
        start--;
    if (start < 0 && from > 0)
        return TRAIL_E_PARSE; /* a line longer than any checkpoint line */
    start++;
    if (ret_start)
        *ret_start = from + (uint64_t)start;
    if (trail_checkpoint_parse(buf + start, (size_t)(end - start), ret_cp) < 0)
        return TRAIL_E_PARSE;
    return 1;
}

static int load_key(struct trail_store *s, struct store_cp *cp)
{
    if (s->o.checkpoint_key) {
        cp->key = s->o.checkpoint_key;
    } else if (s->o.checkpoint_key_path) {
        int r = trail_key_load_private(s->o.checkpoint_key_path, &cp->own_key);
        if (r < 0)
            return r;
        cp->key = cp->own_key;
    } else {
        struct stat st;
        if (fstatat(s->dir_fd, CP_KEY_FILE, &st, 0) < 0)
            return errno == ENOENT ? 0 : -errno;
        char path[4200];
        snprintf(path, sizeof(path), "%s/%s", s->dir, CP_KEY_FILE);
        int r = trail_key_load_private(path, &cp->own_key);
        if (r < 0)
            return r;
        cp->key = cp->own_key;
    }
    return trail_key_has_private(cp->key) ? 0 : -EINVAL;
}

int store_checkpoint_open(struct trail_store *s, struct trail_store_report *rep)
{
    struct store_cp *cp = calloc(1, sizeof(*cp));
    struct stat st;
    int r;
    if (!cp)
        return -ENOMEM;
    pthread_mutex_init(&cp->lock, NULL);
    cp->fd = -1;
    s->cp = cp;
    if ((r = load_key(s, cp)) < 0)
        return r;
    int has_cp = fstatat(s->dir_fd, CP_FILE, &st, 0) == 0 && st.st_size > 0;
    if ((r = store_origin_open(s, has_cp, s->origin, rep)) < 0)
        return r;
    if (!cp->key)
        return 0; /* no key: no checkpoints; trail_store_checkpoint_latest reads the file */
    int created = fstatat(s->dir_fd, CP_FILE, &st, 0) < 0 && errno == ENOENT;
    cp->fd = openat(s->dir_fd, CP_FILE, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (cp->fd < 0)
        return -errno;
    /* a new file's name is durable only once DIR is synced: without it a power cut could take
       away checkpoints that were synced and handed out (test_store_powercut.c) */
    if (created && (r = store_fsync_dir(s)) < 0)
        return r;
    if (fstat(cp->fd, &st) < 0)
        return -errno;
    uint64_t end, start = UINT64_MAX;
    r = last_line(cp->fd, (uint64_t)st.st_size, &cp->latest, &end, &start);
    if (r < 0 && r != TRAIL_E_PARSE)
        return r;
    if (r == TRAIL_E_PARSE && start != UINT64_MAX) {
        /* a last line that does not parse: a power cut kept later pages of its write and lost
           earlier ones (zeros); it was never synced, so never handed out (test_store_powercut.c) */
        store_report(rep, "checkpoints: last line does not parse (%" PRIu64 " bytes), cut",
                     (uint64_t)st.st_size - start);
        if (ftruncate(cp->fd, (off_t)start) < 0 || fdatasync(cp->fd) < 0)
            return -errno;
        st.st_size = (off_t)start;
        r = last_line(cp->fd, (uint64_t)st.st_size, &cp->latest, &end, NULL);
        if (r < 0 && r != TRAIL_E_PARSE)
            return r;
    }
    cp->have_latest = r == 1;
    if (end < (uint64_t)st.st_size) {
        /* a line whose write a crash cut short: never synced, never published */
        store_report(rep, "checkpoints: unfinished last line (%" PRIu64 " bytes) cut",
                     (uint64_t)st.st_size - end);
        if (ftruncate(cp->fd, (off_t)end) < 0 || fdatasync(cp->fd) < 0)
            return -errno;
    }
    s->cp_signing = 1;
    /* sign at the next chance (close at the latest) when the records went past the latest */
    if (!cp->have_latest)
        s->last_checkpoint_seq = 0;
    else if (cp->latest.tree_size < s->last_checkpoint_seq)
        s->last_checkpoint_seq = cp->latest.tree_size;
    return 0;
}

int store_checkpoint_fd(const struct trail_store *s)
{
    return s->cp ? s->cp->fd : -1;
}

void store_checkpoint_close(struct trail_store *s)
{
    struct store_cp *cp = s->cp;
    if (!cp)
        return;
    if (cp->fd >= 0)
        close(cp->fd);
    trail_key_free(cp->own_key);
    pthread_mutex_destroy(&cp->lock);
    free(cp);
    s->cp = NULL;
}

int store_checkpoint_write(struct trail_store *s, const struct trail_store_state *st)
{
    struct store_cp *cp = s->cp;
    struct trail_buf line = {0};
    struct trail_checkpoint c = {0};
    int r = 0;
    if (!cp || !cp->key)
        return 0;
    pthread_mutex_lock(&cp->lock);
    if (cp->have_latest && cp->latest.tree_size == st->tree_size &&
        memcmp(cp->latest.root, st->root, TRAIL_HASH_LEN) == 0 && !cp->latest.legacy &&
        strcmp(cp->latest.origin, s->origin) == 0 &&
        trail_checkpoint_signed_by(&cp->latest, cp->key))
        goto out; /* this state is signed already, with this key, as a C2SP checkpoint */
    memcpy(c.origin, s->origin, sizeof(c.origin));
    c.tree_size = st->tree_size;
    memcpy(c.root, st->root, TRAIL_HASH_LEN);
    memcpy(c.chain, st->chain, TRAIL_HASH_LEN);
    c.time_us = st->time_us > 0 ? st->time_us : trail_now();
    if ((r = trail_checkpoint_sign(&c, cp->key)) < 0 ||
        (r = trail_checkpoint_format(&c, &line)) < 0 || (r = trail_buf_append(&line, "\n", 1)) < 0)
        goto out;
    struct stat sb;
    if (fstat(cp->fd, &sb) < 0) {
        r = -errno;
        goto out;
    }
    if ((r = store_fault(s, TRAIL_STORE_OP_WRITE, cp->fd)) < 0)
        goto out;
    ssize_t w = write(cp->fd, line.data, line.len);
    if (w != (ssize_t)line.len) {
        r = w < 0 ? -errno : -ENOSPC;
        goto undo;
    }
    if ((r = store_fault(s, TRAIL_STORE_OP_SYNC, cp->fd)) < 0 || fdatasync(cp->fd) < 0) {
        r = r < 0 ? r : -errno;
        goto undo;
    }
    cp->latest = c;
    cp->have_latest = 1;
    goto out;
undo:
    /* no half line: the file stays a list of whole lines */
    if (ftruncate(cp->fd, sb.st_size) < 0) {
        /* the next writer's open cuts it */
    }
out:
    pthread_mutex_unlock(&cp->lock);
    trail_buf_free(&line);
    return r;
}

int store_checkpoint_sizes(struct trail_store *s, uint64_t **sizes, size_t *n)
{
    int fd = openat(s->dir_fd, CP_FILE, O_RDONLY | O_CLOEXEC);
    struct trail_buf buf = {0};
    char chunk[65536];
    int r = 0;
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    for (;;) {
        ssize_t got = read(fd, chunk, sizeof(chunk));
        if (got < 0) {
            r = -errno;
            goto out;
        }
        if (got == 0)
            break;
        if ((r = trail_buf_append(&buf, chunk, (size_t)got)) < 0)
            goto out;
    }
    size_t cap = *n;
    for (size_t pos = 0; pos < buf.len;) {
        const char *nl = memchr(buf.data + pos, '\n', buf.len - pos);
        size_t end = nl ? (size_t)(nl - buf.data) : buf.len;
        struct trail_checkpoint c;
        if (trail_checkpoint_parse(buf.data + pos, end - pos, &c) == 0) {
            if (*n == cap) {
                cap = cap ? 2 * cap : 64;
                uint64_t *p = realloc(*sizes, cap * sizeof(*p));
                if (!p) {
                    r = -ENOMEM;
                    goto out;
                }
                *sizes = p;
            }
            (*sizes)[(*n)++] = c.tree_size;
        }
        pos = end + 1;
    }
out:
    trail_buf_free(&buf);
    close(fd);
    return r;
}

int trail_store_checkpoint_latest(struct trail_store *s, struct trail_checkpoint *ret_cp)
{
    struct store_cp *cp = s->cp;
    if (cp && cp->key) {
        pthread_mutex_lock(&cp->lock);
        int have = cp->have_latest;
        if (have)
            *ret_cp = cp->latest;
        pthread_mutex_unlock(&cp->lock);
        return have ? 0 : TRAIL_E_NOT_FOUND;
    }
    int fd = openat(s->dir_fd, CP_FILE, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? TRAIL_E_NOT_FOUND : -errno;
    struct stat st;
    struct trail_checkpoint c;
    uint64_t end;
    int r = fstat(fd, &st) < 0 ? -errno : last_line(fd, (uint64_t)st.st_size, &c, &end, NULL);
    close(fd);
    if (r == 0)
        return TRAIL_E_NOT_FOUND;
    if (r < 0)
        return r;
    *ret_cp = c;
    return 0;
}

int trail_store_checkpoint_now(struct trail_store *s, struct trail_checkpoint *ret_cp)
{
    if (s->read_only)
        return TRAIL_E_READONLY;
    if (!s->cp || !s->cp->key)
        return TRAIL_E_NOT_FOUND;
    struct trail_store_state st;
    int r = trail_store_state(s, &st);
    if (r == 0)
        r = store_checkpoint_write(s, &st);
    if (r == 0)
        r = trail_store_checkpoint_latest(s, ret_cp);
    return r;
}
