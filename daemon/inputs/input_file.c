/*
 * input_file.c - follow files like `tail -F` ([follow NAME] sections): the
 * documented product's event.log, one CEF line (or JSON object) per event.
 *
 * One thread per file. It reads complete lines from where it left off,
 * decodes and validates each, hands them to ingest in batches and, once a
 * batch is durable, records how far it got:
 *
 *   STORE/follow/NAME.offset   "trail-follow/1 DEV INODE OFFSET\n", written
 *                              to a temporary file, fsynced, renamed
 *
 * so that a restart goes on at the next line: nothing read twice or skipped.
 * A crash between a batch's commit and the offset's rename is caught at the
 * next start: each line's event carries a uuid derived from the file, the
 * offset and the line (line_uuid), and the lines after the saved offset
 * whose uuids are among the store's newest records are skipped (skip_stored).
 *
 * Rotation (the file renamed and a new one created): the old file is read to
 * its end, its last line even without a newline, then the new one from its
 * start. Truncation (the file shorter than the offset): read again from the
 * start. Rotated while traild was down: the old file is looked for in the
 * same directory by its inode and its rest read first.
 *
 * Not here: decoding (decode.c), the queue (ingest.c).
 */
#include "core/log.h"
#include "core/metrics.h"
#include "core/traild.h"
#include "inputs/input.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#define READ_CHUNK (256 * 1024)

struct follower {
    struct follow_conf conf; /* copied strings owned here */
    char offset_path[PATH_MAX];
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cv;
    int stop;
    int fd;
    dev_t dev;
    ino_t ino;
    uint64_t pos;         /* offset of the first byte not yet handed over */
    struct trail_buf buf; /* bytes read from pos on, not yet a complete line */
    int discarding;       /* inside a line over max_line_bytes */
    char sender[PATH_MAX + 16];
};

struct file_input {
    struct follower **f;
    size_t n;
};

/* ---- the offset file ---- */

static int offset_load(struct follower *f, dev_t *dev, ino_t *ino, uint64_t *pos)
{
    FILE *fp = fopen(f->offset_path, "r");
    if (!fp)
        return -errno;
    unsigned long long d, i, p;
    int n = fscanf(fp, "trail-follow/1 %llu %llu %llu", &d, &i, &p);
    fclose(fp);
    if (n != 3)
        return -EINVAL;
    *dev = (dev_t)d;
    *ino = (ino_t)i;
    *pos = p;
    return 0;
}

static int offset_save(struct follower *f)
{
    char line[128];
    int n =
        snprintf(line, sizeof(line), "trail-follow/1 %llu %llu %llu\n", (unsigned long long)f->dev,
                 (unsigned long long)f->ino, (unsigned long long)f->pos);
    int r = trail_file_replace(f->offset_path, line, (size_t)n, 0640);
    if (r < 0)
        log_msg(LOG_ERR, "follow %s: cannot save the offset in %s: %s", f->conf.name,
                f->offset_path, strerror(-r));
    return r;
}

/* ---- a line's uuid, and lines already stored ---- */

/*
 * An event read from a line that has no uuid of its own gets one derived
 * from where the line is and what it holds: SHA-256 of the follow's name,
 * the file's device and inode, the line's offset and its bytes, as an
 * RFC 9562 version 8 uuid. Reading the same line again gives the same uuid,
 * which is how a restart recognises lines already stored (skip_stored).
 */
static void line_uuid(const struct follower *f, struct trail_event *ev, uint64_t offset,
                      const char *line, size_t len)
{
    uint8_t u[16], digest[32];
    if (trail_event_uuid(ev, u) == 0)
        return;
    uint64_t head[3] = {(uint64_t)f->dev, (uint64_t)f->ino, offset};
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned dl = 0;
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, f->conf.name, strlen(f->conf.name) + 1) != 1 ||
        EVP_DigestUpdate(ctx, head, sizeof(head)) != 1 || EVP_DigestUpdate(ctx, line, len) != 1 ||
        EVP_DigestFinal_ex(ctx, digest, &dl) != 1) {
        EVP_MD_CTX_free(ctx);
        return; /* the store derives one from its seq instead */
    }
    EVP_MD_CTX_free(ctx);
    memcpy(u, digest, 16);
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x80); /* version 8 */
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80); /* variant 10 */
    trail_event_set_uuid(ev, u);
}

static int cmp_uuid(const void *a, const void *b)
{
    return memcmp(a, b, 16);
}

/*
 * After a crash between a batch's commit and the offset's rename, the lines
 * after the saved offset may be in the store already: they are among the
 * last records of the store. Read the store's newest records (a few
 * batches' worth) and skip, from f->pos on, the lines whose uuid is among
 * them. The store keeps a commit's order, so what is stored is a prefix of
 * what follows the offset; a line that does not decode was never stored and
 * is passed over.
 */
static void skip_stored(struct follower *f)
{
    const struct config *cfg = traild_config();
    int format = f->conf.format == FOLLOW_CEF    ? FMT_CEF
                 : f->conf.format == FOLLOW_JSON ? FMT_JSON
                                                 : FMT_LINE;
    size_t cap = (size_t)cfg->batch_size * 4 + 64, n = 0;
    uint8_t(*seen)[16] = malloc(cap * 16);
    struct trail_store_iter *it = NULL;
    struct trail_event *rec = NULL;
    FILE *fp = NULL;
    char *line = NULL;
    size_t line_cap = 0;
    if (!seen || trail_store_iter_new(traild.store, TRAIL_ITER_BACKWARD, &it) < 0 ||
        trail_event_new(cfg->cat, "x", &rec) < 0)
        goto out;
    while (n < cap && trail_store_iter_next(it, rec) == 1)
        if (trail_event_uuid(rec, seen[n]) == 0)
            n++;
    if (n == 0)
        goto out;
    qsort(seen, n, 16, cmp_uuid);
    int dfd = dup(f->fd);
    if (dfd < 0 || !(fp = fdopen(dfd, "r"))) {
        if (dfd >= 0)
            close(dfd);
        goto out;
    }
    fseeko(fp, (off_t)f->pos, SEEK_SET);
    uint64_t off = f->pos, resume = f->pos, skipped = 0;
    ssize_t got;
    while ((got = getline(&line, &line_cap, fp)) > 0 && line[got - 1] == '\n') {
        size_t l = (size_t)got - 1;
        if (l && line[l - 1] == '\r')
            l--;
        struct trail_event *ev = NULL;
        char err[256];
        if (l && decode_item(cfg, format, line, l, NULL, &ev, err, sizeof(err)) == 0) {
            uint8_t u[16];
            line_uuid(f, ev, off, line, l);
            int stored = trail_event_uuid(ev, u) == 0 && bsearch(u, seen, n, 16, cmp_uuid);
            decoded_release(ev);
            if (!stored)
                break;
            skipped++;
            resume = off + (uint64_t)got;
        }
        off += (uint64_t)got;
    }
    if (skipped) {
        log_msg(LOG_WARN,
                "follow %s: %llu lines after the saved offset %llu were stored already (the "
                "offset was not saved before a crash); going on at %llu",
                f->conf.name, (unsigned long long)skipped, (unsigned long long)f->pos,
                (unsigned long long)resume);
        f->pos = resume;
        offset_save(f);
    }
out:
    if (fp)
        fclose(fp);
    /* the dup shares the file position: put it back where reading goes on */
    lseek(f->fd, (off_t)f->pos, SEEK_SET);
    free(line);
    trail_event_free(rec);
    trail_store_iter_free(it);
    free(seen);
}

/* ---- batches ---- */

struct wait_done {
    pthread_mutex_t lock;
    pthread_cond_t cv;
    int done;
};

static void batch_done(struct ingest_batch *b)
{
    struct wait_done *w = b->arg;
    pthread_mutex_lock(&w->lock);
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->lock);
}

/*
 * Store events[0..n) and wait until they are durable (ingest holds them
 * through store failures: retry). Then the lines up to new_pos are done.
 */
static int commit(struct follower *f, struct trail_event **events, size_t n, uint64_t new_pos)
{
    int r = 0;
    if (n) {
        struct wait_done w = {.lock = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
        struct ingest_batch b = {
            .events = events, .n = n, .input = IN_FILE, .retry = 1, .done = batch_done, .arg = &w};
        r = ingest_submit(traild.ingest, &b, 1);
        if (r == 0) {
            pthread_mutex_lock(&w.lock);
            while (!w.done)
                pthread_cond_wait(&w.cv, &w.lock);
            pthread_mutex_unlock(&w.lock);
            r = b.status;
        }
        for (size_t i = 0; i < n; i++)
            decoded_release(events[i]);
    }
    if (r < 0) {
        log_msg(LOG_ERR, "follow %s: %zu events could not be stored (%s); offset kept at %llu",
                f->conf.name, n, trail_strerror(r), (unsigned long long)f->pos);
        return r;
    }
    f->pos = new_pos;
    return offset_save(f);
}

/*
 * Hand over the complete lines in f->buf (and, at_end, the last one without
 * its newline). Returns 0, or an error that stops this round.
 */
static int handle_lines(struct follower *f, int at_end)
{
    const struct config *cfg = traild_config();
    int format = f->conf.format == FOLLOW_CEF    ? FMT_CEF
                 : f->conf.format == FOLLOW_JSON ? FMT_JSON
                                                 : FMT_LINE;
    size_t cap = cfg->batch_size, n = 0, off = 0;
    struct trail_event **events = malloc(cap * sizeof(*events));
    if (!events)
        return -ENOMEM;
    int r = 0;
    uint64_t line_no_base = f->pos;
    for (;;) {
        const char *start = f->buf.data + off;
        size_t left = f->buf.len - off;
        const char *nl = left ? memchr(start, '\n', left) : NULL;
        size_t len;
        if (nl)
            len = (size_t)(nl - start);
        else if (at_end && left)
            len = left;
        else
            break;
        size_t used = nl ? len + 1 : len;
        if (f->discarding) {
            f->discarding = 0; /* the end of an overlong line */
        } else {
            size_t l = len;
            if (l && start[l - 1] == '\r')
                l--;
            if (l) {
                struct trail_event *ev = NULL;
                char err[512];
                struct provenance pv;
                provenance_init(&pv, IN_FILE, f->conf.name);
                int d = decode_item(cfg, format, start, l, &pv, &ev, err, sizeof(err));
                if (d < 0) {
                    char who[PATH_MAX + 48];
                    snprintf(who, sizeof(who), "%s at byte %llu", f->sender,
                             (unsigned long long)(line_no_base + off));
                    reject_item_keep(cfg, IN_FILE, d, &pv, who, err, start, l);
                } else {
                    line_uuid(f, ev, line_no_base + off, start, l);
                    events[n++] = ev;
                }
            }
        }
        off += used;
        if (n == cap) {
            r = commit(f, events, n, line_no_base + off);
            n = 0;
            if (r < 0)
                break;
        }
    }
    if (r == 0 && (n || off))
        r = commit(f, events, n, line_no_base + off);
    free(events);
    if (r == 0) {
        memmove(f->buf.data, f->buf.data + off, f->buf.len - off);
        f->buf.len -= off;
    } else {
        /* nothing after f->pos counts as read: read it again next round */
        trail_buf_reset(&f->buf);
        lseek(f->fd, (off_t)f->pos, SEEK_SET);
    }
    return r;
}

/* Read what the open file has beyond what was read; hand over its lines. */
static int read_more(struct follower *f, int at_end)
{
    const struct config *cfg = traild_config();
    for (;;) {
        if (trail_buf_reserve(&f->buf, READ_CHUNK) < 0)
            return -ENOMEM;
        ssize_t got = read(f->fd, f->buf.data + f->buf.len, READ_CHUNK);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        f->buf.len += (size_t)got;
        atomic_fetch_add_explicit(&metrics.bytes_in[IN_FILE], (uint64_t)got, memory_order_relaxed);
        int eof = got == 0;
        int r = handle_lines(f, at_end && eof);
        if (r < 0)
            return r;
        if (f->buf.len > cfg->max_line_bytes) {
            /* a line over the limit: skip it up to its newline */
            char who[PATH_MAX + 48];
            snprintf(who, sizeof(who), "%s at byte %llu", f->sender, (unsigned long long)f->pos);
            struct provenance pv;
            provenance_init(&pv, IN_FILE, f->conf.name);
            reject_item_keep(cfg, IN_FILE, TRAIL_E_TOO_LARGE, &pv, who,
                             "line over max_line_bytes, skipped", f->buf.data, cfg->max_line_bytes);
            f->pos += f->buf.len;
            trail_buf_reset(&f->buf);
            f->discarding = 1;
        }
        if (eof)
            return 0;
        pthread_mutex_lock(&f->lock);
        int stop = f->stop;
        pthread_mutex_unlock(&f->lock);
        if (stop)
            return 0;
    }
}

static int open_file(struct follower *f, const char *path, uint64_t pos)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    if (pos > (uint64_t)st.st_size) {
        log_msg(LOG_WARN,
                "follow %s: %s is shorter (%lld bytes) than the offset %llu: reading "
                "it from the start",
                f->conf.name, path, (long long)st.st_size, (unsigned long long)pos);
        pos = 0;
    }
    lseek(fd, (off_t)pos, SEEK_SET);
    if (f->fd >= 0)
        close(f->fd);
    f->fd = fd;
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->pos = pos;
    f->discarding = 0;
    trail_buf_reset(&f->buf);
    snprintf(f->sender, sizeof(f->sender), "file:%s", path);
    return 0;
}

/* Find a file in path's directory with the given device and inode (a rotated one). */
static int find_by_inode(const char *path, dev_t dev, ino_t ino, char *out, size_t n)
{
    char dirbuf[PATH_MAX];
    snprintf(dirbuf, sizeof(dirbuf), "%s", path);
    const char *dir = dirname(dirbuf);
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    struct dirent *e;
    int found = -ENOENT;
    while ((e = readdir(d))) {
        char p[PATH_MAX];
        struct stat st;
        if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) >= sizeof(p))
            continue;
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_dev == dev && st.st_ino == ino) {
            snprintf(out, n, "%s", p);
            found = 0;
            break;
        }
    }
    closedir(d);
    return found;
}

/* At start: where to go on from, by the offset file. */
static void resume_position(struct follower *f)
{
    dev_t dev = 0;
    ino_t ino = 0;
    uint64_t pos = 0;
    struct stat st;
    int have = offset_load(f, &dev, &ino, &pos) == 0;
    int exists = stat(f->conf.path, &st) == 0;
    if (have && exists && st.st_dev == dev && st.st_ino == ino) {
        if (open_file(f, f->conf.path, pos) == 0) {
            skip_stored(f);
            log_msg(LOG_INFO, "follow %s: %s from offset %llu", f->conf.name, f->conf.path,
                    (unsigned long long)f->pos);
        }
        return;
    }
    if (have) {
        /* rotated while traild was down: finish the old file first */
        char old[PATH_MAX];
        if (find_by_inode(f->conf.path, dev, ino, old, sizeof(old)) == 0 &&
            open_file(f, old, pos) == 0) {
            skip_stored(f);
            log_msg(LOG_INFO, "follow %s: finishing the rotated %s from offset %llu", f->conf.name,
                    old, (unsigned long long)f->pos);
            read_more(f, 1);
            close(f->fd);
            f->fd = -1;
        } else {
            log_msg(LOG_WARN,
                    "follow %s: the file last read (inode %llu) is gone; %s is read from its "
                    "start",
                    f->conf.name, (unsigned long long)ino, f->conf.path);
        }
        if (exists && open_file(f, f->conf.path, 0) == 0)
            offset_save(f);
        return;
    }
    if (!exists)
        return;
    if (open_file(f, f->conf.path, f->conf.from_end ? (uint64_t)st.st_size : 0) == 0) {
        log_msg(LOG_INFO, "follow %s: %s, first time, from %s", f->conf.name, f->conf.path,
                f->conf.from_end ? "its end" : "its start");
        offset_save(f);
    }
}

static int wait_or_stop(struct follower *f, uint32_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&f->lock);
    if (!f->stop)
        pthread_cond_timedwait(&f->cv, &f->lock, &ts);
    int stop = f->stop;
    pthread_mutex_unlock(&f->lock);
    return stop;
}

static void *follow_run(void *arg)
{
    struct follower *f = arg;
    char name[16];
    snprintf(name, sizeof(name), "follow-%.8s", f->conf.name);
    pthread_setname_np(pthread_self(), name);
    resume_position(f);
    int warned_missing = 0;
    do {
        if (f->fd < 0) {
            struct stat st;
            if (stat(f->conf.path, &st) == 0 && open_file(f, f->conf.path, 0) == 0) {
                log_msg(LOG_INFO, "follow %s: %s appeared", f->conf.name, f->conf.path);
                offset_save(f);
                warned_missing = 0;
            } else {
                if (!warned_missing)
                    log_msg(LOG_WARN, "follow %s: %s does not exist (yet); waiting", f->conf.name,
                            f->conf.path);
                warned_missing = 1;
                continue;
            }
        }
        if (read_more(f, 0) < 0)
            continue;
        struct stat now, cur;
        if (fstat(f->fd, &cur) == 0 && (uint64_t)cur.st_size < f->pos + f->buf.len) {
            log_msg(LOG_WARN, "follow %s: %s was truncated; reading it from the start",
                    f->conf.name, f->conf.path);
            open_file(f, f->conf.path, 0);
            offset_save(f);
            continue;
        }
        if (stat(f->conf.path, &now) < 0)
            continue; /* renamed away and no new file yet: keep reading the old one */
        if (now.st_ino != f->ino || now.st_dev != f->dev) {
            /* rotated: a new file is there. What the writer added to the old one before
             * the switch is still to be read, its last line even without a newline. */
            read_more(f, 1);
            log_msg(LOG_INFO, "follow %s: %s was rotated; reading the new file", f->conf.name,
                    f->conf.path);
            if (open_file(f, f->conf.path, 0) == 0)
                offset_save(f);
            continue;
        }
    } while (!wait_or_stop(f, f->conf.poll_ms));
    return NULL;
}

/* ---- the input ---- */

static int enabled(const struct config *cfg)
{
    return cfg->n_follows > 0;
}

static void stop(void *state)
{
    struct file_input *s = state;
    for (size_t i = 0; i < s->n; i++) {
        pthread_mutex_lock(&s->f[i]->lock);
        s->f[i]->stop = 1;
        pthread_cond_signal(&s->f[i]->cv);
        pthread_mutex_unlock(&s->f[i]->lock);
    }
    for (size_t i = 0; i < s->n; i++)
        pthread_join(s->f[i]->thread, NULL);
}

static void free_follower(struct follower *f)
{
    if (!f)
        return;
    if (f->fd >= 0)
        close(f->fd);
    trail_buf_free(&f->buf);
    free(f->conf.name);
    free(f->conf.path);
    pthread_mutex_destroy(&f->lock);
    pthread_cond_destroy(&f->cv);
    free(f);
}

static void free_input(void *state)
{
    struct file_input *s = state;
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free_follower(s->f[i]);
    free(s->f);
    free(s);
}

static int start(const struct config *cfg, void **ret_state, char *err, size_t errlen)
{
    struct file_input *s = calloc(1, sizeof(*s));
    char dir[PATH_MAX];
    if (!s || !(s->f = calloc(cfg->n_follows, sizeof(*s->f)))) {
        free(s);
        return -ENOMEM;
    }
    snprintf(dir, sizeof(dir), "%s/follow", cfg->store_path);
    if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
        int e = errno;
        snprintf(err, errlen, "cannot make %s: %s", dir, strerror(e));
        free_input(s);
        return -e;
    }
    for (size_t i = 0; i < cfg->n_follows; i++) {
        struct follower *f = calloc(1, sizeof(*f));
        if (!f) {
            free_input(s);
            return -ENOMEM;
        }
        f->fd = -1;
        f->conf = cfg->follows[i];
        f->conf.name = strdup(cfg->follows[i].name);
        f->conf.path = strdup(cfg->follows[i].path);
        pthread_mutex_init(&f->lock, NULL);
        pthread_cond_init(&f->cv, NULL);
        s->f[s->n++] = f;
        if (!f->conf.name || !f->conf.path) {
            free_input(s);
            return -ENOMEM;
        }
        if ((size_t)snprintf(f->offset_path, sizeof(f->offset_path), "%s/%s.offset", dir,
                             f->conf.name) >= sizeof(f->offset_path)) {
            snprintf(err, errlen, "[follow %s]: the store path is too long", f->conf.name);
            free_input(s);
            return -ENAMETOOLONG;
        }
    }
    for (size_t i = 0; i < s->n; i++) {
        if (pthread_create(&s->f[i]->thread, NULL, follow_run, s->f[i]) != 0) {
            snprintf(err, errlen, "cannot start a thread for [follow %s]", s->f[i]->conf.name);
            size_t total = s->n;
            s->n = i; /* join only the threads that run */
            stop(s);
            s->n = total;
            free_input(s);
            return -EAGAIN;
        }
    }
    *ret_state = s;
    return 0;
}

const struct input_ops input_file_ops = {
    .name = "follow", .enabled = enabled, .start = start, .stop = stop, .free = free_input};
