/*
 * store_files.c - the store's own files, guarded: the writer checks that the
 * active segment, tree.roots and checkpoints it writes through are still the
 * files their names in DIR hold (not removed or replaced behind its back),
 * rescues what it acknowledged when they are not, and from then on refuses
 * appends (TRAIL_E_TAMPERED).
 *
 * Not here: the store's lock and the claims checked at open (store_open.c),
 * when the flusher calls the store_guard (store_flush.c).
 */
#include "base/fileio.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the store's own files ---- */

/*
 * A writer holds the active segment, tree.roots and checkpoints open and
 * writes through those descriptors. Removed or replaced behind its back, it
 * would go on writing to a file nobody can read again and acknowledge what
 * it wrote (the records vanish at the next start). So the flusher checks,
 * at every flush before anything is acknowledged, at every roll before the
 * old segment is closed, and once a second when idle, that each name in DIR
 * still is the file it holds (same device and inode, still linked) and
 * that DIR still is the directory it opened (each flush checks only the
 * segment its records went to: two system calls, where the full check
 * costs about 20 µs on a VM). A finding stops the store for
 * good (TRAIL_E_TAMPERED; trail_store_tampered() says what), and what the
 * descriptors still hold is copied to a fresh NAME.rescued-<unix time>.
 */

/*
 * Copy the first limit bytes (UINT64_MAX: all) that fd holds into a new
 * file DIR/name (made with O_EXCL: never over another), synced. 0 or -errno.
 */
int store_copy_out(struct trail_store *s, int fd, uint64_t limit, const char *name)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    uint64_t size = (uint64_t)st.st_size < limit ? (uint64_t)st.st_size : limit;
    int out = openat(s->dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (out < 0) {
        /* the directory we hold may be gone: the path may name a new one */
        char path[4200];
        snprintf(path, sizeof(path), "%s/%s", s->dir, name);
        out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
        if (out < 0)
            return -errno;
    }
    char buf[65536];
    int r = 0;
    for (uint64_t off = 0; off < size && r == 0;) {
        size_t want = size - off < sizeof(buf) ? (size_t)(size - off) : sizeof(buf);
        ssize_t n = pread(fd, buf, want, (off_t)off);
        if (n <= 0) {
            r = n < 0 ? -errno : -EIO;
            break;
        }
        r = store_write_at(s, out, buf, (size_t)n, off);
        off += (uint64_t)n;
    }
    if (r == 0 && fsync(out) < 0)
        r = -errno;
    close(out);
    fsync(s->dir_fd);
    return r;
}

/* Whether DIR/name is still the file fd: 0, or TRAIL_E_TAMPERED and why. */
static int same_file(struct trail_store *s, int fd, const char *name, char *why, size_t len)
{
    struct stat held, now;
    if (fd < 0 || fstat(fd, &held) < 0)
        return 0;
    if (fstatat(s->dir_fd, name, &now, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno != ENOENT && held.st_nlink > 0)
            return 0; /* cannot tell (EACCES, EIO): not a finding */
        snprintf(why, len, "%s was removed or renamed while open", name);
        return TRAIL_E_TAMPERED;
    }
    if (held.st_nlink == 0 || now.st_dev != held.st_dev || now.st_ino != held.st_ino) {
        snprintf(why, len, "%s was replaced by another file while open", name);
        return TRAIL_E_TAMPERED;
    }
    return 0;
}

/*
 * The active segment's acknowledged part: its size at the last durable
 * state when it is that state's segment; 0 when nothing in it was
 * acknowledged yet. Flusher only.
 */
static uint64_t acked_bytes(const struct trail_store *s)
{
    const struct live *d = &s->durable;
    return d->seg_exists && d->seg.first_seq == s->active_first ? d->seg_bytes : 0;
}

/*
 * Check the files the writer holds (flusher only): with full, every one and
 * the directory; else the active segment only. 0 when intact; else the
 * store stops (TRAIL_E_TAMPERED from now on), each finding and its rescued
 * copy said in tamper_reason.
 */
int store_guard(struct trail_store *s, int full)
{
    if (__atomic_load_n(&s->tampered, __ATOMIC_ACQUIRE))
        return TRAIL_E_TAMPERED;
    char reason[sizeof(s->tamper_reason)] = "", why[300], seg[64], copy[128];
    int found = 0;
    long long t = (long long)(trail_now() / 1000000);
    struct stat held, now;
    if (full && fstat(s->dir_fd, &held) == 0 &&
        (stat(s->dir, &now) < 0 ? errno == ENOENT || errno == ENOTDIR
                                : now.st_ino != held.st_ino || now.st_dev != held.st_dev)) {
        snprintf(reason, sizeof(reason), "the store directory %s was removed, renamed or replaced",
                 s->dir);
        found = 1;
    }
    snprintf(seg, sizeof(seg), "seg-%016" PRIx64 ".open", s->active_first);
    const struct {
        int fd;
        const char *name;
        uint64_t limit;
    } held_files[] = {
        {s->active_fd, seg, s->active_fd >= 0 ? acked_bytes(s) : 0},
        {s->roots_fd, "tree.roots", UINT64_MAX},
        {store_checkpoint_fd(s), "checkpoints", UINT64_MAX},
    };
    /* each flush checks the file its records go to (two system calls); the rest once a
       second and at rolls (about 20 µs on a VM) */
    for (size_t i = 0; i < (full ? TRAIL_ARRAY_SIZE(held_files) : 1); i++) {
        if (same_file(s, held_files[i].fd, held_files[i].name, why, sizeof(why)) == 0)
            continue;
        found = 1;
        size_t used = strlen(reason);
        snprintf(copy, sizeof(copy), "%s.rescued-%lld", held_files[i].name, t);
        int r = held_files[i].limit ? store_copy_out(s, held_files[i].fd, held_files[i].limit, copy)
                                    : 1;
        snprintf(reason + used, sizeof(reason) - used, "%s%s%s%s%s", used ? "; " : "", why,
                 r == 0  ? " (what it held is copied to "
                 : r > 0 ? " (it held nothing acknowledged"
                         : " (cannot copy what it held: ",
                 r == 0  ? copy
                 : r > 0 ? ""
                         : strerror(-r),
                 ")");
    }
    if (!found)
        return 0;
    pthread_mutex_lock(&s->lock);
    snprintf(s->tamper_reason, sizeof(s->tamper_reason), "%s", reason);
    s->tamper_seq = s->durable_seq;
    __atomic_store_n(&s->tampered, TRAIL_E_TAMPERED, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&s->room_cv);
    pthread_mutex_unlock(&s->lock);
    return TRAIL_E_TAMPERED;
}

int trail_store_tampered(struct trail_store *s, char *reason, size_t reason_size, uint64_t *ret_seq)
{
    if (!__atomic_load_n(&s->tampered, __ATOMIC_ACQUIRE))
        return 0;
    pthread_mutex_lock(&s->lock);
    if (reason && reason_size)
        snprintf(reason, reason_size, "%s", s->tamper_reason);
    if (ret_seq)
        *ret_seq = s->tamper_seq;
    pthread_mutex_unlock(&s->lock);
    return TRAIL_E_TAMPERED;
}
