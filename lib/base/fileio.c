/*
 * fileio.c - whole-buffer reads and writes, the parent directory's sync,
 * and trail_file_replace: what every file the library, traild and the CLI
 * replace in place (indexes, keys, sink cursors, follow offsets, skip
 * orders) goes through, so that each is written one way.
 */
#include "base/fileio.h"

#include "trail.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int io_pread_full(int fd, void *buf, size_t n, uint64_t off, size_t *ret_got)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    *ret_got = got;
    return 0;
}

int io_pwrite_full(int fd, const void *buf, size_t n, uint64_t off)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = pwrite(fd, (const char *)buf + done, n - done, (off_t)(off + done));
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        done += (size_t)w;
    }
    return 0;
}

int io_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int io_sync_parent_dir(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash) {
        strcpy(dir, ".");
    } else {
        size_t len = slash == path ? 1 : (size_t)(slash - path);
        if (len >= sizeof(dir))
            return -ENAMETOOLONG;
        memcpy(dir, path, len);
        dir[len] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int r = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return r;
}

int trail_file_replace(const char *path, const void *data, size_t len, unsigned mode)
{
    static atomic_uint counter;
    char tmp[4200];
    /* a name of its own per writer (two threads may replace one file at once), ending
       in ".tmp" so that the store's recovery removes what a crash left beside its files */
    int n = snprintf(tmp, sizeof(tmp), "%s.%d.%u.tmp", path, (int)getpid(),
                     atomic_fetch_add(&counter, 1));
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
    if (fd < 0)
        return -errno;
    /*
     * In pieces whose writeback starts as each is written, so that the
     * fdatasync has little left: a large file (a segment's .idx, about 1 MB)
     * synced at once holds other files' fdatasync beside it (segment.c,
     * flush_block). Advice only: the fdatasync does what it did not.
     */
    int r = 0;
    for (size_t off = 0; r == 0 && off < len;) {
        size_t piece = len - off < (256u << 10) ? len - off : (256u << 10);
        r = io_write_all(fd, (const char *)data + off, piece);
        if (r == 0 && len > piece)
            (void)sync_file_range(fd, (off_t)off, (off_t)piece, SYNC_FILE_RANGE_WRITE);
        off += piece;
    }
    if (r == 0 && fdatasync(fd) < 0)
        r = -errno;
    close(fd);
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0) {
        unlink(tmp);
        return r;
    }
    return io_sync_parent_dir(path);
}
