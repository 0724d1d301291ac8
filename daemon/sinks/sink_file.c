/*
 * sink_file.c - the file sink: the documented product's event.log lines
 * (log prefix, ISO time with offset, host, CEF) or NDJSON, in files rolled
 * daily and by size:
 *
 *     DIR/NAME.2026-11-25.log       the first file of the day (NAME default "event")
 *     DIR/NAME.2026-11-25.1.log     the next once that one reached max_bytes
 *     DIR/NAME.2026-11-25.ndjson    format = json
 *
 * The day is the time trail received the event, at the sink's utc_offset:
 * a lagging sink writes each event into the file of the day it arrived, so
 * the files do not depend on when the sink ran, and a producer's clock
 * cannot make files (one POST of events dated on 2,000 days is one day's
 * file). Records of stores written before the received time (format v1)
 * use the event's time. flush() writes and fsyncs (fsync = false
 * skips the fsync); a failed write is cut back off the file so that a retry
 * does not leave half a line. Duplicates are possible after a crash between
 * the write and the cursor save (at-least-once).
 *
 * Not here: the runner and the cursor (sink.c), the CEF encoder (lib/codec/cef.c).
 */
#include "sinks/sink.h"

#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The file sink's keys, parsed into struct file_opts (docs/sinks.md's table is made from these). */
struct file_opts {
    const char *dir, *name;
    int64_t max_bytes;
    int fsync;
};

#define O(f) offsetof(struct file_opts, f)
static const struct sink_key file_keys[] = {
    {.name = "dir",
     .type = SINK_KEY_STRING,
     .offset = O(dir),
     .required = "the directory the files go to",
     .doc = "the directory of the files (made when missing)"},
    {.name = "name",
     .type = SINK_KEY_STRING,
     .offset = O(name),
     .def = "event",
     .doc = "the files' name prefix"},
    {.name = "max_bytes",
     .type = SINK_KEY_SIZE,
     .offset = O(max_bytes),
     .def = "100M",
     .min = 4096,
     .max = INT64_C(1) << 50,
     .doc = "a file that reaches this size is continued in the next one (`K`, `M`, `G`)"},
    {.name = "fsync",
     .type = SINK_KEY_BOOL,
     .offset = O(fsync),
     .def = "true",
     .doc = "fsync each delivery before the cursor moves; `false` trades a crash's last lines "
            "for speed"},
    {.name = NULL},
};
#undef O

struct file_sink {
    const struct sink_conf *conf;
    const char *dir;
    const char *name;
    const char *ext;
    uint64_t max_bytes;
    int fsync;
    int fd;
    int day;      /* days since the epoch at the offset, of the open file; -1 none */
    int index;    /* 0: NAME.DAY.log, n: NAME.DAY.n.log */
    off_t size;   /* bytes in the open file */
    off_t synced; /* the size at the last successful flush */
    int dirty;    /* written since the last fsync */
    struct trail_buf pending;
    struct trail_buf line;
};

static int file_check(const struct sink_conf *conf, char *err, size_t errlen)
{
    const struct file_opts *o = conf->typed;
    if (!*o->dir) {
        snprintf(err, errlen, "dir: the directory the files go to is needed");
        return -EINVAL;
    }
    if (!*o->name || strchr(o->name, '/')) {
        snprintf(err, errlen, "name: a file name prefix without '/' is needed");
        return -EINVAL;
    }
    if (conf->format == SINK_FMT_SYSLOG) {
        snprintf(err, errlen, "format: a file holds cef (event.log) or json lines");
        return -EINVAL;
    }
    return 0;
}

static int file_open(const struct sink_conf *conf, void **ret_state, char *err, size_t errlen)
{
    struct file_sink *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->conf = conf;
    const struct file_opts *o = conf->typed;
    f->dir = o->dir;
    f->name = o->name;
    f->ext = conf->format == SINK_FMT_JSON ? "ndjson" : "log";
    f->max_bytes = (uint64_t)o->max_bytes;
    f->fsync = o->fsync;
    f->fd = -1;
    f->day = -1;
    if (mkdir(f->dir, 0750) < 0 && errno != EEXIST) {
        int e = errno;
        snprintf(err, errlen, "cannot make %s: %s", f->dir, strerror(e));
        free(f);
        return -e;
    }
    *ret_state = f;
    return 0;
}

static void file_name(const struct file_sink *f, int day, int index, char *out, size_t size)
{
    time_t t = (time_t)day * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    if (index)
        snprintf(out, size, "%s/%s.%04d-%02d-%02d.%d.%s", f->dir, f->name, tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, index, f->ext);
    else
        snprintf(out, size, "%s/%s.%04d-%02d-%02d.%s", f->dir, f->name, tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, f->ext);
}

/* Write what is pending to the open file; on failure cut the file back. */
static int write_pending(struct file_sink *f, char *err, size_t errlen)
{
    size_t off = 0;
    while (off < f->pending.len) {
        ssize_t n = write(f->fd, f->pending.data + off, f->pending.len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            if (ftruncate(f->fd, f->synced) == 0)
                f->size = f->synced;
            snprintf(err, errlen, "writing %s.*.%s: %s", f->name, f->ext, strerror(e));
            return -e;
        }
        off += (size_t)n;
        f->size += n;
    }
    if (f->pending.len)
        f->dirty = 1;
    trail_buf_reset(&f->pending);
    return 0;
}

static int sync_file(struct file_sink *f, char *err, size_t errlen)
{
    if (f->fd >= 0 && f->dirty && f->fsync && fdatasync(f->fd) < 0) {
        int e = errno;
        snprintf(err, errlen, "fsync: %s", strerror(e));
        return -e;
    }
    f->dirty = 0;
    f->synced = f->size;
    return 0;
}

static int close_file(struct file_sink *f, char *err, size_t errlen)
{
    int r = 0;
    if (f->fd >= 0) {
        r = write_pending(f, err, errlen);
        if (r == 0)
            r = sync_file(f, err, errlen);
        close(f->fd);
    }
    f->fd = -1;
    f->day = -1;
    return r;
}

/* Open the file for day: the last of its size-rolled files, or the next when that one is full. */
static int open_day(struct file_sink *f, int day, char *err, size_t errlen)
{
    char path[4096];
    struct stat st;
    int index = 0;
    for (;;) {
        file_name(f, day, index + 1, path, sizeof(path));
        if (stat(path, &st) < 0)
            break;
        index++;
    }
    file_name(f, day, index, path, sizeof(path));
    if (stat(path, &st) == 0 && (uint64_t)st.st_size >= f->max_bytes) {
        index++;
        file_name(f, day, index, path, sizeof(path));
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(e));
        return -e;
    }
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        snprintf(err, errlen, "cannot stat %s: %s", path, strerror(e));
        return -e;
    }
    f->fd = fd;
    f->day = day;
    f->index = index;
    f->size = st.st_size;
    f->synced = st.st_size;
    f->dirty = 0;
    return 0;
}

static int day_of(const struct file_sink *f, int64_t time_us)
{
    int64_t s = time_us / 1000000 + (int64_t)f->conf->cef.utc_offset_min * 60;
    if (time_us < 0 && time_us % 1000000)
        s--;
    return (int)(s >= 0 ? s / 86400 : -((-s + 86399) / 86400));
}

static int file_write(void *state, const struct sink_item *item, char *err, size_t errlen)
{
    struct file_sink *f = state;
    int64_t t = !item->ev                        ? item->cp->time_us
                : trail_event_received(item->ev) ? trail_event_received(item->ev)
                                                 : trail_event_time(item->ev);
    int day = day_of(f, t ? t : trail_now());
    trail_buf_reset(&f->line);
    int r = sink_encode_line(f->conf, item, &f->line);
    if (r < 0)
        return r;
    if (trail_buf_append(&f->line, "\n", 1) < 0)
        return -ENOMEM;
    uint64_t would = (uint64_t)f->size + f->pending.len + f->line.len;
    if (f->fd >= 0 && (day != f->day || (would > f->max_bytes && f->size + f->pending.len > 0))) {
        if ((r = close_file(f, err, errlen)) < 0)
            return r;
    }
    if (f->fd < 0 && (r = open_day(f, day, err, errlen)) < 0)
        return r;
    return trail_buf_append(&f->pending, f->line.data, f->line.len);
}

static int file_flush(void *state, char *err, size_t errlen)
{
    struct file_sink *f = state;
    if (f->fd < 0)
        return 0;
    int r = write_pending(f, err, errlen);
    if (r == 0)
        r = sync_file(f, err, errlen);
    return r;
}

static void file_close(void *state)
{
    struct file_sink *f = state;
    if (!f)
        return;
    /* anything still pending was not flushed: the runner delivers it again */
    trail_buf_reset(&f->pending);
    if (f->fd >= 0) {
        if (f->size > f->synced && ftruncate(f->fd, f->synced) < 0)
            f->size = f->synced;
        close(f->fd);
    }
    trail_buf_free(&f->pending);
    trail_buf_free(&f->line);
    free(f);
}

const struct sink_ops sink_file_ops = {
    .name = "file",
    .keys = file_keys,
    .opts_size = sizeof(struct file_opts),
    .check = file_check,
    .open = file_open,
    .write = file_write,
    .flush = file_flush,
    .close = file_close,
};
