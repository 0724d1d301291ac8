/*
 * fileio.h - the library's whole-buffer reads and writes and its atomic
 * replace (the public trail_file_replace in trail.h): one loop each for
 * EINTR and short transfers, used by every part that reads or writes files.
 */
#ifndef TRAIL_FILEIO_H
#define TRAIL_FILEIO_H

#include <stddef.h>
#include <stdint.h>

/*
 * io_pread_full - read n bytes at off, or up to the end of the file: 0 with
 * *ret_got (< n only at the end of the file), or -errno.
 */
int io_pread_full(int fd, void *buf, size_t n, uint64_t off, size_t *ret_got);

/* io_pwrite_full - write all n bytes at off: 0 or -errno. */
int io_pwrite_full(int fd, const void *buf, size_t n, uint64_t off);

/* io_write_all - write all len bytes at the file position: 0 or -errno. */
int io_write_all(int fd, const void *data, size_t len);

/* io_sync_parent_dir - fsync the directory holding path (a new or renamed name is durable). */
int io_sync_parent_dir(const char *path);

#endif
