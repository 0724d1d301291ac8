/*
 * powercut_shim.c - simulated power loss under one directory, for tests.
 *
 * A SIGKILL loses nothing the kernel holds, so it cannot tell a store that
 * calls fdatasync at the right moments from one that never does. A power
 * cut can: it keeps only what reached the disk. This file records every
 * change a program makes under a traced directory, and writes out, for any
 * point of the record, the tree a power cut there could leave:
 *
 *   - a file's bytes are those of its last fsync/fdatasync; what was written
 *     or truncated after it is lost (lossy mode: a random subset of it is
 *     kept, cut at 4 KiB pages and in any order, as a disk that writes back
 *     dirty pages in its own order leaves them);
 *   - a directory entry (create, rename, unlink, mkdir) exists only once the
 *     directory holding it was fsynced after the change (lossy mode: a random
 *     prefix of the changes not yet synced is kept, as a journal commits
 *     metadata in order). An fsync of a file does not make its name durable,
 *     nor does a directory's fsync make its files' data durable.
 *
 * This is the POSIX contract, stricter than ext4 or XFS in practice (their
 * fsync of a new file usually commits its entry too). It assumes what trail
 * assumes: a sync that returned is on stable storage (the disk honours
 * flushes / FUA), and a sector or page is either written or not. It does not
 * simulate a disk that lies about flushes, torn sectors inside a page,
 * damaged bytes (tests/unit/test_store_damage.c), or a failing sync
 * (store_fulldisk.sh, the fault hook).
 *
 * How it sees every operation. The file is linked into the test program and
 * defines open, openat, write, pwrite, ftruncate, fsync, fdatasync, rename,
 * renameat, unlink, unlinkat, mkdir and close (and their *64 names), which
 * the dynamic linker binds in place of libc's for the whole process, libtrail
 * included (it is linked statically into the program); each calls libc's own
 * through dlsym(RTLD_NEXT). This was chosen over the store's fault hook,
 * which sees segment writes and syncs only, not creates, renames, unlinks or
 * the side files, and would need hooks in a dozen places of store code that
 * others change; and over an LD_PRELOAD library, which is the same
 * interposition with an environment variable and a second binary to keep in
 * step. The calls that could change files without passing through the model
 * (writev, pwritev, fallocate, truncate, link, symlink, renameat2, mkdirat,
 * rmdir, copy_file_range, sync, syncfs, writable shared mmap, fopen for
 * writing) are defined too and abort the test when they touch the traced
 * tree, so a store change that starts using one is noticed rather than
 * missed. sync_file_range on a traced file is modelled as nothing at all:
 * it starts (or waits for) the writeback of a range and makes nothing
 * durable (no metadata, no disk cache flush: sync_file_range(2)), which is
 * how sealing uses it, so the model's durable state is unchanged by it.
 * Calls libc makes internally (fopen's own open) bypass any interposition;
 * the store's only fopen (a key file) reads.
 *
 * The real fsync and fdatasync are not called on traced files: durability is
 * modelled, and the test then runs at the same speed on any disk.
 *
 * Not for: production code; several traced directories; paths with "..".
 */
#undef _FILE_OFFSET_BITS /* define open and open64 as themselves (64-bit off_t anyway) */
#include "powercut_shim.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_FDS 4096
#define PAGE    4096u

enum { OP_CREATE = 1, OP_MKDIR, OP_RENAME, OP_UNLINK, OP_WRITE, OP_TRUNC, OP_SYNC, OP_DIRSYNC };

struct op {
    int kind;
    uint32_t ino;  /* CREATE, MKDIR, WRITE, TRUNC, SYNC, DIRSYNC: the inode */
    uint32_t dir;  /* CREATE, MKDIR, RENAME, UNLINK: the directory changed */
    char *path;    /* CREATE, MKDIR, RENAME (from), UNLINK */
    char *path2;   /* RENAME: to */
    uint64_t off;  /* WRITE: offset; TRUNC: length */
    uint64_t len;  /* WRITE */
    uint8_t *data; /* WRITE */
};

struct bytes {
    uint8_t *p;
    size_t len, cap;
};

struct inode {
    int is_dir;
    struct bytes initial; /* what pc_begin found (durable) */
};

struct name {
    char *path; /* relative to the root; "" is the root */
    uint32_t ino;
};

struct fdent {
    int used, is_dir, append;
    uint32_t ino;
    dev_t dev;
    ino_t rino;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int tracing;
static char root[4096];
static size_t root_len;
static struct op *ops;
static size_t n_ops, cap_ops;
static struct inode *inodes;
static size_t n_inodes, cap_inodes;
static struct name *live; /* the names now (while recording) */
static size_t n_live, cap_live;
static struct name *initial_names; /* what pc_begin found */
static size_t n_initial;
static struct fdent fds[MAX_FDS];
static struct pc_counts counts;

/* ---- libc's own functions ---- */

static int (*real_openat)(int, const char *, int, ...);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static int (*real_ftruncate)(int, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_renameat)(int, const char *, int, const char *);
static int (*real_unlinkat)(int, const char *, int);
static int (*real_mkdirat)(int, const char *, mode_t);
static int (*real_close)(int);
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static FILE *(*real_fopen)(const char *, const char *);
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void *need(const char *name)
{
    void *p = dlsym(RTLD_NEXT, name);
    if (!p) {
        fprintf(stderr, "powercut shim: no %s in libc\n", name);
        abort();
    }
    return p;
}

static void load_real(void)
{
    real_openat = need("openat");
    real_write = need("write");
    real_pwrite = need("pwrite");
    real_ftruncate = need("ftruncate");
    real_fsync = need("fsync");
    real_fdatasync = need("fdatasync");
    real_renameat = need("renameat");
    real_unlinkat = need("unlinkat");
    real_mkdirat = need("mkdirat");
    real_close = need("close");
    real_mmap = need("mmap");
    real_fopen = need("fopen");
}

static void init(void)
{
    pthread_once(&once, load_real);
}

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "powercut shim: %s%s%s: not modelled; extend tests/tools/powercut_shim.c\n",
            what, detail ? " " : "", detail ? detail : "");
    abort();
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        die("out of memory", NULL);
    return q;
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        die("out of memory", NULL);
    return p;
}

/* ---- the names and descriptors seen while recording (mu held) ---- */

static long live_find(const char *rel)
{
    for (size_t i = 0; i < n_live; i++)
        if (strcmp(live[i].path, rel) == 0)
            return (long)i;
    return -1;
}

static void live_set(const char *rel, uint32_t ino)
{
    long i = live_find(rel);
    if (i >= 0) {
        live[i].ino = ino;
        return;
    }
    if (n_live == cap_live) {
        cap_live = cap_live ? cap_live * 2 : 64;
        live = xrealloc(live, cap_live * sizeof(*live));
    }
    live[n_live++] = (struct name){xstrdup(rel), ino};
}

static void live_remove(const char *rel)
{
    long i = live_find(rel);
    if (i < 0)
        return;
    free(live[i].path);
    live[i] = live[--n_live];
}

static uint32_t inode_new(int is_dir)
{
    if (n_inodes == cap_inodes) {
        cap_inodes = cap_inodes ? cap_inodes * 2 : 64;
        inodes = xrealloc(inodes, cap_inodes * sizeof(*inodes));
    }
    inodes[n_inodes] = (struct inode){.is_dir = is_dir};
    return (uint32_t)n_inodes++;
}

static struct op *op_add(int kind)
{
    if (n_ops == cap_ops) {
        cap_ops = cap_ops ? cap_ops * 2 : 1024;
        ops = xrealloc(ops, cap_ops * sizeof(*ops));
    }
    struct op *o = &ops[n_ops++];
    memset(o, 0, sizeof(*o));
    o->kind = kind;
    counts.ops++;
    return o;
}

/* The parent directory's inode of rel (which must be known). */
static uint32_t parent_of(const char *rel)
{
    const char *slash = strrchr(rel, '/');
    if (!slash)
        return 0;
    char buf[4096];
    snprintf(buf, sizeof(buf), "%.*s", (int)(slash - rel), rel);
    long i = live_find(buf);
    if (i < 0)
        die("a path under an unknown directory:", rel);
    return live[i].ino;
}

/* The traced descriptor fd, or NULL (also when the number was reused since). */
static struct fdent *fd_traced(int fd)
{
    if (!tracing || fd < 0 || fd >= MAX_FDS || !fds[fd].used)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_ino != fds[fd].rino || st.st_dev != fds[fd].dev) {
        fds[fd].used = 0; /* closed behind our back (closedir) and reused */
        return NULL;
    }
    return &fds[fd];
}

/*
 * path (relative to dirfd) as a path relative to the root, in out; 0 when it
 * is not under the root (or nothing is traced).
 */
static int rel_of(int dirfd, const char *path, char *out, size_t size)
{
    if (!tracing || !path)
        return 0;
    if (strstr(path, ".."))
        return 0;
    if (path[0] == '/') {
        if (strncmp(path, root, root_len) != 0)
            return 0;
        if (path[root_len] == '\0') {
            snprintf(out, size, "%s", "");
            return 1;
        }
        if (path[root_len] != '/')
            return 0;
        snprintf(out, size, "%s", path + root_len + 1);
        return 1;
    }
    if (dirfd == AT_FDCWD)
        return 0; /* the store names its files by absolute path or against DIR */
    struct fdent *d = fd_traced(dirfd);
    if (!d || !d->is_dir)
        return 0;
    const char *dpath = NULL;
    for (size_t i = 0; i < n_live; i++)
        if (live[i].ino == d->ino)
            dpath = live[i].path;
    if (!dpath)
        die("a path under a removed directory:", path);
    if (strcmp(path, ".") == 0)
        snprintf(out, size, "%s", dpath);
    else if (dpath[0])
        snprintf(out, size, "%s/%s", dpath, path);
    else
        snprintf(out, size, "%s", path);
    return 1;
}

/* ---- the interposed calls ---- */

static int open_common(int dirfd, const char *path, int flags, mode_t mode)
{
    init();
    char rel[4096];
    pthread_mutex_lock(&mu);
    if (!rel_of(dirfd, path, rel, sizeof(rel))) {
        pthread_mutex_unlock(&mu);
        return real_openat(dirfd, path, flags, mode);
    }
    if ((flags & __O_TMPFILE) == __O_TMPFILE)
        die("O_TMPFILE under", path);
    long known = live_find(rel);
    struct stat before;
    if (known < 0 && fstatat(dirfd, path, &before, 0) == 0)
        die("a file the trace never saw made:", rel);
    int fd = real_openat(dirfd, path, flags, mode);
    int err = errno;
    if (fd >= 0) {
        struct stat st;
        if (fstat(fd, &st) < 0 || fd >= MAX_FDS)
            die("fstat failed or descriptor too high:", path);
        uint32_t ino;
        if (known < 0) {
            if (!(flags & O_CREAT))
                die("a file the trace never saw made:", rel);
            ino = inode_new(0);
            live_set(rel, ino);
            struct op *o = op_add(OP_CREATE);
            o->ino = ino;
            o->dir = parent_of(rel);
            o->path = xstrdup(rel);
            counts.creates++;
        } else {
            ino = live[known].ino;
            if ((flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY) {
                struct op *o = op_add(OP_TRUNC);
                o->ino = ino;
                o->off = 0;
                counts.truncates++;
            }
        }
        fds[fd] = (struct fdent){.used = 1,
                                 .is_dir = S_ISDIR(st.st_mode),
                                 .append = !!(flags & O_APPEND),
                                 .ino = ino,
                                 .dev = st.st_dev,
                                 .rino = st.st_ino};
    }
    pthread_mutex_unlock(&mu);
    errno = err;
    return fd;
}

static mode_t mode_arg(int flags, va_list ap)
{
    return (flags & O_CREAT) || (flags & __O_TMPFILE) == __O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return open_common(AT_FDCWD, path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return open_common(AT_FDCWD, path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return open_common(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return open_common(dirfd, path, flags, mode);
}

int creat(const char *path, mode_t mode)
{
    return open_common(AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}

static void record_write(struct fdent *f, uint64_t off, const void *buf, ssize_t w)
{
    if (w <= 0)
        return;
    struct op *o = op_add(OP_WRITE);
    o->ino = f->ino;
    o->off = off;
    o->len = (uint64_t)w;
    o->data = xrealloc(NULL, (size_t)w);
    memcpy(o->data, buf, (size_t)w);
    counts.writes++;
}

ssize_t write(int fd, const void *buf, size_t n)
{
    init();
    pthread_mutex_lock(&mu);
    struct fdent *f = fd_traced(fd);
    if (!f) {
        pthread_mutex_unlock(&mu);
        return real_write(fd, buf, n);
    }
    if (f->is_dir)
        die("write to a directory", NULL);
    uint64_t off;
    if (f->append) {
        struct stat st;
        if (fstat(fd, &st) < 0)
            die("fstat failed", NULL);
        off = (uint64_t)st.st_size;
    } else {
        off = (uint64_t)lseek(fd, 0, SEEK_CUR);
    }
    ssize_t w = real_write(fd, buf, n);
    int err = errno;
    record_write(f, off, buf, w);
    pthread_mutex_unlock(&mu);
    errno = err;
    return w;
}

static ssize_t pwrite_common(int fd, const void *buf, size_t n, off_t off)
{
    init();
    pthread_mutex_lock(&mu);
    struct fdent *f = fd_traced(fd);
    if (!f) {
        pthread_mutex_unlock(&mu);
        return real_pwrite(fd, buf, n, off);
    }
    if (f->append)
        die("pwrite on an O_APPEND descriptor", NULL);
    ssize_t w = real_pwrite(fd, buf, n, off);
    int err = errno;
    record_write(f, (uint64_t)off, buf, w);
    pthread_mutex_unlock(&mu);
    errno = err;
    return w;
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    return pwrite_common(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    return pwrite_common(fd, buf, n, off);
}

static int ftruncate_common(int fd, off_t len)
{
    init();
    pthread_mutex_lock(&mu);
    struct fdent *f = fd_traced(fd);
    int r = real_ftruncate(fd, len);
    int err = errno;
    if (f && r == 0) {
        struct op *o = op_add(OP_TRUNC);
        o->ino = f->ino;
        o->off = (uint64_t)len;
        counts.truncates++;
    }
    pthread_mutex_unlock(&mu);
    errno = err;
    return r;
}

int ftruncate(int fd, off_t len)
{
    return ftruncate_common(fd, len);
}

int ftruncate64(int fd, off_t len)
{
    return ftruncate_common(fd, len);
}

static int sync_common(int fd, int data_only)
{
    init();
    pthread_mutex_lock(&mu);
    struct fdent *f = fd_traced(fd);
    if (!f) {
        pthread_mutex_unlock(&mu);
        return data_only ? real_fdatasync(fd) : real_fsync(fd);
    }
    /* fdatasync keeps the size when data needs it: for this model the same as fsync */
    struct op *o = op_add(f->is_dir ? OP_DIRSYNC : OP_SYNC);
    o->ino = f->ino;
    if (f->is_dir)
        counts.dir_syncs++;
    else
        counts.syncs++;
    pthread_mutex_unlock(&mu);
    return 0;
}

int fsync(int fd)
{
    return sync_common(fd, 0);
}

int fdatasync(int fd)
{
    return sync_common(fd, 1);
}

static int renameat_common(int ofd, const char *from, int nfd, const char *to)
{
    init();
    char rf[4096], rt[4096];
    pthread_mutex_lock(&mu);
    int a = rel_of(ofd, from, rf, sizeof(rf)), b = rel_of(nfd, to, rt, sizeof(rt));
    if (!a && !b) {
        pthread_mutex_unlock(&mu);
        return real_renameat(ofd, from, nfd, to);
    }
    if (!a || !b)
        die("rename into or out of the traced tree:", from);
    long i = live_find(rf);
    if (i < 0)
        die("rename of a file the trace never saw:", rf);
    if (parent_of(rf) != parent_of(rt))
        die("rename between directories:", rf);
    if (inodes[live[i].ino].is_dir)
        die("rename of a directory:", rf);
    int r = real_renameat(ofd, from, nfd, to);
    int err = errno;
    if (r == 0) {
        uint32_t ino = live[i].ino;
        live_remove(rt);
        live_remove(rf);
        live_set(rt, ino);
        struct op *o = op_add(OP_RENAME);
        o->dir = parent_of(rt);
        o->path = xstrdup(rf);
        o->path2 = xstrdup(rt);
        counts.renames++;
    }
    pthread_mutex_unlock(&mu);
    errno = err;
    return r;
}

int rename(const char *from, const char *to)
{
    return renameat_common(AT_FDCWD, from, AT_FDCWD, to);
}

int renameat(int ofd, const char *from, int nfd, const char *to)
{
    return renameat_common(ofd, from, nfd, to);
}

static int unlinkat_common(int dirfd, const char *path, int flags)
{
    init();
    char rel[4096];
    pthread_mutex_lock(&mu);
    if (!rel_of(dirfd, path, rel, sizeof(rel))) {
        pthread_mutex_unlock(&mu);
        return real_unlinkat(dirfd, path, flags);
    }
    if (live_find(rel) < 0)
        die("unlink of a file the trace never saw:", rel);
    uint32_t dir = parent_of(rel);
    int r = real_unlinkat(dirfd, path, flags);
    int err = errno;
    if (r == 0) {
        live_remove(rel);
        struct op *o = op_add(OP_UNLINK);
        o->dir = dir;
        o->path = xstrdup(rel);
        counts.unlinks++;
    }
    pthread_mutex_unlock(&mu);
    errno = err;
    return r;
}

int unlink(const char *path)
{
    return unlinkat_common(AT_FDCWD, path, 0);
}

int unlinkat(int dirfd, const char *path, int flags)
{
    return unlinkat_common(dirfd, path, flags);
}

int mkdir(const char *path, mode_t mode)
{
    init();
    char rel[4096];
    pthread_mutex_lock(&mu);
    if (!rel_of(AT_FDCWD, path, rel, sizeof(rel))) {
        pthread_mutex_unlock(&mu);
        return real_mkdirat(AT_FDCWD, path, mode);
    }
    int r = real_mkdirat(AT_FDCWD, path, mode);
    int err = errno;
    if (r == 0) {
        uint32_t dir = parent_of(rel);
        uint32_t ino = inode_new(1);
        live_set(rel, ino);
        struct op *o = op_add(OP_MKDIR);
        o->ino = ino;
        o->dir = dir;
        o->path = xstrdup(rel);
        counts.mkdirs++;
    }
    pthread_mutex_unlock(&mu);
    errno = err;
    return r;
}

int close(int fd)
{
    init();
    pthread_mutex_lock(&mu);
    if (fd >= 0 && fd < MAX_FDS)
        fds[fd].used = 0;
    pthread_mutex_unlock(&mu);
    return real_close(fd);
}

/* ---- the calls the model does not cover: refused on the traced tree ---- */

static void refuse_fd(int fd, const char *what)
{
    init();
    pthread_mutex_lock(&mu);
    int traced = fd_traced(fd) != NULL;
    pthread_mutex_unlock(&mu);
    if (traced)
        die(what, "on a traced file");
}

static void refuse_path(int dirfd, const char *path, const char *what)
{
    init();
    char rel[4096];
    pthread_mutex_lock(&mu);
    int traced = rel_of(dirfd, path, rel, sizeof(rel));
    pthread_mutex_unlock(&mu);
    if (traced)
        die(what, path);
}

#define PASS(name, ret, params, args)                                                              \
    static ret(*real_##name) params;                                                               \
    static ret pass_##name params                                                                  \
    {                                                                                              \
        if (!real_##name)                                                                          \
            real_##name = need(#name);                                                             \
        return real_##name args;                                                                   \
    }

PASS(writev, ssize_t, (int fd, const struct iovec *v, int n), (fd, v, n))
PASS(pwritev, ssize_t, (int fd, const struct iovec *v, int n, off_t o), (fd, v, n, o))
PASS(fallocate, int, (int fd, int m, off_t o, off_t l), (fd, m, o, l))
PASS(posix_fallocate, int, (int fd, off_t o, off_t l), (fd, o, l))
PASS(truncate, int, (const char *p, off_t l), (p, l))
PASS(link, int, (const char *a, const char *b), (a, b))
PASS(linkat, int, (int fa, const char *a, int fb, const char *b, int f), (fa, a, fb, b, f))
PASS(symlink, int, (const char *a, const char *b), (a, b))
PASS(renameat2, int, (int fa, const char *a, int fb, const char *b, unsigned f), (fa, a, fb, b, f))
PASS(mkdirat, int, (int fd, const char *p, mode_t m), (fd, p, m))
PASS(rmdir, int, (const char *p), (p))
PASS(syncfs, int, (int fd), (fd))
PASS(sync_file_range, int, (int fd, off_t o, off_t n, unsigned f), (fd, o, n, f))
PASS(copy_file_range, ssize_t, (int a, off_t *oa, int b, off_t *ob, size_t n, unsigned f),
     (a, oa, b, ob, n, f))

ssize_t writev(int fd, const struct iovec *v, int n)
{
    refuse_fd(fd, "writev");
    return pass_writev(fd, v, n);
}

ssize_t pwritev(int fd, const struct iovec *v, int n, off_t o)
{
    refuse_fd(fd, "pwritev");
    return pass_pwritev(fd, v, n, o);
}

int fallocate(int fd, int m, off_t o, off_t l)
{
    refuse_fd(fd, "fallocate");
    return pass_fallocate(fd, m, o, l);
}

int posix_fallocate(int fd, off_t o, off_t l)
{
    refuse_fd(fd, "posix_fallocate");
    return pass_posix_fallocate(fd, o, l);
}

int truncate(const char *p, off_t l)
{
    refuse_path(AT_FDCWD, p, "truncate");
    return pass_truncate(p, l);
}

int link(const char *a, const char *b)
{
    refuse_path(AT_FDCWD, a, "link");
    refuse_path(AT_FDCWD, b, "link");
    return pass_link(a, b);
}

int linkat(int fa, const char *a, int fb, const char *b, int f)
{
    refuse_path(fa, a, "linkat");
    refuse_path(fb, b, "linkat");
    return pass_linkat(fa, a, fb, b, f);
}

int symlink(const char *a, const char *b)
{
    refuse_path(AT_FDCWD, b, "symlink");
    return pass_symlink(a, b);
}

int renameat2(int fa, const char *a, int fb, const char *b, unsigned f)
{
    refuse_path(fa, a, "renameat2");
    refuse_path(fb, b, "renameat2");
    return pass_renameat2(fa, a, fb, b, f);
}

int mkdirat(int fd, const char *p, mode_t m)
{
    refuse_path(fd, p, "mkdirat");
    return pass_mkdirat(fd, p, m);
}

int rmdir(const char *p)
{
    refuse_path(AT_FDCWD, p, "rmdir");
    return pass_rmdir(p);
}

void sync(void)
{
    static void (*real_sync)(void);
    if (tracing)
        die("sync", NULL);
    if (!real_sync)
        real_sync = need("sync");
    real_sync();
}

int syncfs(int fd)
{
    if (tracing)
        die("syncfs", NULL);
    return pass_syncfs(fd);
}

int sync_file_range(int fd, off_t o, off_t n, unsigned f)
{
    init();
    pthread_mutex_lock(&mu);
    int traced = fd_traced(fd) != NULL;
    pthread_mutex_unlock(&mu);
    if (traced)
        return 0; /* durability is modelled, and this promises none (above) */
    return pass_sync_file_range(fd, o, n, f);
}

ssize_t copy_file_range(int a, off_t *oa, int b, off_t *ob, size_t n, unsigned f)
{
    refuse_fd(b, "copy_file_range");
    return pass_copy_file_range(a, oa, b, ob, n, f);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    init();
    if ((prot & PROT_WRITE) && (flags & MAP_SHARED))
        refuse_fd(fd, "writable shared mmap");
    return real_mmap(addr, len, prot, flags, fd, off);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return mmap(addr, len, prot, flags, fd, off);
}

FILE *fopen(const char *path, const char *mode)
{
    init();
    if (strpbrk(mode, "wa+"))
        refuse_path(AT_FDCWD, path, "fopen for writing");
    return real_fopen(path, mode);
}

FILE *fopen64(const char *path, const char *mode)
{
    return fopen(path, mode);
}

/* ---- the trace ---- */

static void bytes_set(struct bytes *b, const uint8_t *p, size_t n)
{
    if (n > b->cap) {
        b->p = xrealloc(b->p, n);
        b->cap = n;
    }
    if (n)
        memcpy(b->p, p, n);
    b->len = n;
}

static void bytes_resize(struct bytes *b, size_t n)
{
    if (n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < n)
            cap *= 2;
        b->p = xrealloc(b->p, cap);
        b->cap = cap;
    }
    if (n > b->len)
        memset(b->p + b->len, 0, n - b->len);
    b->len = n;
}

static void bytes_write(struct bytes *b, uint64_t off, const uint8_t *p, size_t n)
{
    if (off + n > b->len)
        bytes_resize(b, (size_t)(off + n));
    memcpy(b->p + off, p, n);
}

static void drop_trace(void)
{
    for (size_t i = 0; i < n_ops; i++) {
        free(ops[i].path);
        free(ops[i].path2);
        free(ops[i].data);
    }
    n_ops = 0;
    for (size_t i = 0; i < n_inodes; i++)
        free(inodes[i].initial.p);
    n_inodes = 0;
    for (size_t i = 0; i < n_live; i++)
        free(live[i].path);
    n_live = 0;
    for (size_t i = 0; i < n_initial; i++)
        free(initial_names[i].path);
    free(initial_names);
    initial_names = NULL;
    n_initial = 0;
    memset(fds, 0, sizeof(fds));
    memset(&counts, 0, sizeof(counts));
}

/* Take what dir (rel under the root) holds as durable. */
static int snapshot(const char *abs, const char *rel)
{
    DIR *d = opendir(abs);
    if (!d)
        return -errno;
    struct dirent *e;
    int r = 0;
    while (r == 0 && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char a[4096], rl[4096];
        snprintf(a, sizeof(a), "%s/%s", abs, e->d_name);
        snprintf(rl, sizeof(rl), "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        struct stat st;
        if (lstat(a, &st) < 0) {
            r = -errno;
            break;
        }
        uint32_t ino = inode_new(S_ISDIR(st.st_mode));
        live_set(rl, ino);
        if (S_ISDIR(st.st_mode)) {
            r = snapshot(a, rl);
            continue;
        }
        if (!S_ISREG(st.st_mode)) {
            r = -EINVAL;
            break;
        }
        int fd = real_openat(AT_FDCWD, a, O_RDONLY | O_CLOEXEC, 0);
        if (fd < 0) {
            r = -errno;
            break;
        }
        bytes_resize(&inodes[ino].initial, (size_t)st.st_size);
        if (pread(fd, inodes[ino].initial.p, (size_t)st.st_size, 0) != st.st_size)
            r = -EIO;
        real_close(fd);
    }
    closedir(d);
    return r;
}

int pc_begin(const char *dir)
{
    init();
    pthread_mutex_lock(&mu);
    tracing = 0;
    drop_trace();
    snprintf(root, sizeof(root), "%s", dir);
    root_len = strlen(root);
    inode_new(1); /* the root: inode 0 */
    live_set("", 0);
    int r = snapshot(root, "");
    if (r == 0) {
        initial_names = xrealloc(NULL, n_live * sizeof(*initial_names));
        for (size_t i = 0; i < n_live; i++)
            initial_names[i] = (struct name){xstrdup(live[i].path), live[i].ino};
        n_initial = n_live;
        tracing = 1;
    }
    pthread_mutex_unlock(&mu);
    return r;
}

void pc_end(void)
{
    pthread_mutex_lock(&mu);
    tracing = 0;
    pthread_mutex_unlock(&mu);
}

uint64_t pc_ops(void)
{
    pthread_mutex_lock(&mu);
    uint64_t n = n_ops;
    pthread_mutex_unlock(&mu);
    return n;
}

void pc_counts(struct pc_counts *ret)
{
    pthread_mutex_lock(&mu);
    *ret = counts;
    pthread_mutex_unlock(&mu);
}

/* ---- the tree after a cut ---- */

static uint64_t rnd(uint64_t *st)
{
    /* splitmix64 */
    uint64_t z = (*st += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

struct names {
    struct name *v;
    size_t n, cap;
};

static long names_find(const struct names *m, const char *path)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->v[i].path, path) == 0)
            return (long)i;
    return -1;
}

static void names_set(struct names *m, const char *path, uint32_t ino)
{
    long i = names_find(m, path);
    if (i >= 0) {
        m->v[i].ino = ino;
        return;
    }
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->v = xrealloc(m->v, m->cap * sizeof(*m->v));
    }
    m->v[m->n++] = (struct name){(char *)path, ino}; /* borrowed from the ops */
}

static void names_remove(struct names *m, const char *path)
{
    long i = names_find(m, path);
    if (i >= 0)
        m->v[i] = m->v[--m->n];
}

static void apply_meta(struct names *m, const struct op *o)
{
    switch (o->kind) {
    case OP_CREATE:
    case OP_MKDIR:
        names_set(m, o->path, o->ino);
        break;
    case OP_RENAME: {
        long i = names_find(m, o->path);
        if (i < 0)
            break; /* its creation was not kept */
        uint32_t ino = m->v[i].ino;
        names_remove(m, o->path);
        names_set(m, o->path2, ino);
        break;
    }
    case OP_UNLINK:
        names_remove(m, o->path);
        break;
    }
}

struct file_state {
    struct bytes live, durable;
    size_t *pending; /* data ops since the last sync */
    size_t n_pending, cap_pending;
};

static int cmp_depth(const void *a, const void *b)
{
    const struct name *x = a, *y = b;
    size_t lx = strlen(x->path), ly = strlen(y->path);
    return lx < ly ? -1 : lx > ly;
}

int pc_materialise(uint64_t cut, uint64_t seed, int lossy, const char *out)
{
    init();
    pthread_mutex_lock(&mu);
    if (cut > n_ops)
        cut = n_ops;
    uint64_t rs = seed;
    int r = 0;
    struct file_state *fs = calloc(n_inodes, sizeof(*fs));
    struct names durable = {0};
    size_t *meta = xrealloc(NULL, (cut + 1) * sizeof(*meta));
    size_t n_meta = 0;
    if (!fs)
        die("out of memory", NULL);
    for (size_t i = 0; i < n_inodes; i++) {
        bytes_set(&fs[i].live, inodes[i].initial.p, inodes[i].initial.len);
        bytes_set(&fs[i].durable, inodes[i].initial.p, inodes[i].initial.len);
    }
    for (size_t i = 0; i < n_initial; i++)
        names_set(&durable, initial_names[i].path, initial_names[i].ino);

    for (size_t i = 0; i < cut; i++) {
        const struct op *o = &ops[i];
        struct file_state *f = &fs[o->ino];
        switch (o->kind) {
        case OP_CREATE:
        case OP_MKDIR:
        case OP_RENAME:
        case OP_UNLINK:
            meta[n_meta++] = i;
            break;
        case OP_WRITE:
        case OP_TRUNC:
            if (o->kind == OP_WRITE)
                bytes_write(&f->live, o->off, o->data, (size_t)o->len);
            else if (o->off < f->live.len)
                f->live.len = (size_t)o->off;
            else
                bytes_resize(&f->live, (size_t)o->off);
            if (f->n_pending == f->cap_pending) {
                f->cap_pending = f->cap_pending ? f->cap_pending * 2 : 16;
                f->pending = xrealloc(f->pending, f->cap_pending * sizeof(size_t));
            }
            f->pending[f->n_pending++] = i;
            break;
        case OP_SYNC:
            bytes_set(&f->durable, f->live.p, f->live.len);
            f->n_pending = 0;
            break;
        case OP_DIRSYNC: {
            size_t k = 0;
            for (size_t j = 0; j < n_meta; j++) {
                if (ops[meta[j]].dir == o->ino)
                    apply_meta(&durable, &ops[meta[j]]);
                else
                    meta[k++] = meta[j];
            }
            n_meta = k;
            break;
        }
        }
    }

    /* what else the disk happened to keep */
    if (lossy) {
        size_t keep = (size_t)(rnd(&rs) % (n_meta + 1));
        for (size_t j = 0; j < keep; j++)
            apply_meta(&durable, &ops[meta[j]]);
        for (size_t i = 0; i < n_inodes; i++) {
            struct file_state *f = &fs[i];
            for (size_t j = 0; j < f->n_pending; j++) {
                const struct op *o = &ops[f->pending[j]];
                if (o->kind == OP_TRUNC) {
                    if (rnd(&rs) & 1) {
                        if (o->off < f->durable.len)
                            f->durable.len = (size_t)o->off;
                        else
                            bytes_resize(&f->durable, (size_t)o->off);
                    }
                    continue;
                }
                for (uint64_t at = o->off; at < o->off + o->len;) {
                    uint64_t end = (at / PAGE + 1) * PAGE;
                    if (end > o->off + o->len)
                        end = o->off + o->len;
                    if (rnd(&rs) & 1)
                        bytes_write(&f->durable, at, o->data + (at - o->off), (size_t)(end - at));
                    at = end;
                }
            }
        }
    }

    /* write the tree out, directories before what they hold */
    qsort(durable.v, durable.n, sizeof(*durable.v), cmp_depth);
    for (size_t i = 0; r == 0 && i < durable.n; i++) {
        const struct name *e = &durable.v[i];
        if (e->path[0] == '\0')
            continue;
        char path[8192];
        snprintf(path, sizeof(path), "%s/%s", out, e->path);
        if (inodes[e->ino].is_dir) {
            if (real_mkdirat(AT_FDCWD, path, 0750) < 0)
                r = -errno;
            continue;
        }
        int fd = real_openat(AT_FDCWD, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
        if (fd < 0) {
            r = errno == ENOENT ? 0 : -errno; /* in a directory whose entry was lost */
            continue;
        }
        const struct bytes *b = &fs[e->ino].durable;
        if (b->len && real_pwrite(fd, b->p, b->len, 0) != (ssize_t)b->len)
            r = -EIO;
        real_close(fd);
    }

    for (size_t i = 0; i < n_inodes; i++) {
        free(fs[i].live.p);
        free(fs[i].durable.p);
        free(fs[i].pending);
    }
    free(fs);
    free(durable.v);
    free(meta);
    pthread_mutex_unlock(&mu);
    return r;
}
