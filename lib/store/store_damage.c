/*
 * store_damage.c - the damage a store knows of (runs of seqs that cannot be
 * read), the scrub that finds damaged sealed blocks, and quarantine: moving a
 * damaged sealed segment out of the way with a report, so that the store
 * opens again and says which records are gone.
 *
 * Not for: recovery from a crash (a torn tail is not damage:
 * store_recover.c),
 * verification (verify.c reads the files itself and reports quarantined runs
 * from DIR/quarantined).
 *
 * DIR/quarantined (text, appended, fsynced; documented in docs/format.md):
 *
 *   trail-quarantined/1
 *   FIRST LAST TIME_US PATH REASON...
 *
 * one line per run moved: the seqs FIRST..LAST (inclusive) are gone, moved
 * at TIME_US (µs since the epoch) to PATH (relative to DIR), for REASON. The
 * quarantine directory DIR/quarantine/<UTC time>/ holds the moved files and
 * REPORT, which says the same in words with the SHA-256 of every file moved.
 */
#include "base/fileio.h"
#include "integrity/merkle.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int cmp_damage(const void *a, const void *b)
{
    const struct trail_store_damage *x = a, *y = b;
    return x->first_seq < y->first_seq ? -1 : x->first_seq > y->first_seq;
}

int store_damage_add(struct trail_store *s, uint64_t first, uint64_t last, const char *file,
                     const char *reason, int quarantined, int64_t when_us)
{
    int r = 0;
    pthread_mutex_lock(&s->seg_lock);
    for (size_t i = 0; i < s->n_damage; i++)
        if (s->damage[i].first_seq <= first && s->damage[i].last_seq >= last)
            goto out; /* known already */
    if (s->n_damage == s->cap_damage) {
        size_t cap = s->cap_damage ? s->cap_damage * 2 : 8;
        struct trail_store_damage *p = realloc(s->damage, cap * sizeof(*p));
        if (!p) {
            r = -ENOMEM;
            goto out;
        }
        s->damage = p;
        s->cap_damage = cap;
    }
    struct trail_store_damage *d = &s->damage[s->n_damage++];
    memset(d, 0, sizeof(*d));
    d->first_seq = first;
    d->last_seq = last;
    snprintf(d->file, sizeof(d->file), "%s", file ? file : "");
    snprintf(d->reason, sizeof(d->reason), "%s", reason ? reason : "");
    d->quarantined = quarantined;
    d->found_us = when_us ? when_us : trail_now();
    qsort(s->damage, s->n_damage, sizeof(*s->damage), cmp_damage);
    s->damage_gen++;
out:
    pthread_mutex_unlock(&s->seg_lock);
    return r;
}

int store_damage_covers(struct trail_store *s, uint64_t first, uint64_t last)
{
    pthread_mutex_lock(&s->seg_lock);
    /* runs are sorted by first seq: walk them over [first, last] */
    uint64_t at = first;
    for (size_t i = 0; i < s->n_damage && at <= last; i++)
        if (s->damage[i].first_seq <= at && s->damage[i].last_seq >= at)
            at = s->damage[i].last_seq + 1;
    pthread_mutex_unlock(&s->seg_lock);
    return at > last;
}

int trail_store_damage_list(struct trail_store *s, struct trail_store_damage **ret, size_t *ret_n,
                            uint64_t *ret_gen)
{
    pthread_mutex_lock(&s->seg_lock);
    size_t n = s->n_damage;
    struct trail_store_damage *p = NULL;
    if (n && (p = malloc(n * sizeof(*p))))
        memcpy(p, s->damage, n * sizeof(*p));
    uint64_t gen = s->damage_gen;
    pthread_mutex_unlock(&s->seg_lock);
    if (n && !p)
        return -ENOMEM;
    *ret = p;
    *ret_n = n;
    if (ret_gen)
        *ret_gen = gen;
    return 0;
}

int trail_store_damage_at(struct trail_store *s, uint64_t seq, struct trail_store_damage *ret)
{
    int found = 0;
    pthread_mutex_lock(&s->seg_lock);
    for (size_t i = 0; i < s->n_damage && !found; i++)
        if (s->damage[i].first_seq <= seq && s->damage[i].last_seq >= seq) {
            found = 1;
            if (ret)
                *ret = s->damage[i];
        }
    pthread_mutex_unlock(&s->seg_lock);
    return found;
}

long store_blocks_check(int fd, const struct seg_sealed *ss)
{
    struct trail_buf comp = {0};
    long bad = -1;
    for (uint32_t i = 0; i < ss->n_blocks && bad < 0; i++) {
        const struct seg_block *b = &ss->blocks[i];
        comp.len = 0;
        if (trail_buf_reserve(&comp, b->comp_len ? b->comp_len : 1) < 0) {
            bad = -2;
            break;
        }
        size_t got = 0;
        if (io_pread_full(fd, comp.data, b->comp_len, b->offset, &got) < 0 || got != b->comp_len ||
            crc32c(0, comp.data, b->comp_len) != b->crc)
            bad = i;
    }
    trail_buf_free(&comp);
    return bad;
}

int trail_store_scrub(struct trail_store *s)
{
    struct seg *segs;
    size_t n;
    if (store_segs_copy(s, &segs, &n) < 0)
        return -ENOMEM;
    int found = 0, r = 0;
    for (size_t i = 0; i < n && r >= 0; i++) {
        const struct seg *g = &segs[i];
        if (!g->sealed)
            continue;
        char name[48], path[4200];
        snprintf(name, sizeof(name), "seg-%016" PRIx64 ".seg", g->first_seq);
        if (g->damaged) {
            found++;
            continue;
        }
        store_seg_path(s, g->first_seq, ".seg", path, sizeof(path));
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue; /* purged meanwhile */
        struct seg_sealed ss = {0};
        int lr = seg_sealed_load(fd, &ss);
        if (lr == -ENOMEM) {
            r = lr;
        } else if (lr < 0) {
            found++;
            r = store_damage_add(s, g->first_seq, g->last_seq, name,
                                 "header, index or trailer fails its check", 0, 0);
        } else {
            /* every block, each one on its own: a later one may be damaged too */
            for (uint32_t b = 0; b < ss.n_blocks && r >= 0; b++) {
                struct seg_sealed one = ss;
                one.blocks = &ss.blocks[b];
                one.n_blocks = 1;
                long bad = store_blocks_check(fd, &one);
                if (bad == -2) {
                    r = -ENOMEM;
                } else if (bad == 0) {
                    char why[96];
                    snprintf(why, sizeof(why), "block %" PRIu32 ": CRC-32C does not match", b);
                    found++;
                    r = store_damage_add(s, ss.blocks[b].first_seq,
                                         ss.blocks[b].first_seq + ss.blocks[b].count - 1, name, why,
                                         0, 0);
                }
            }
        }
        seg_sealed_free(&ss);
        close(fd);
    }
    free(segs);
    return r < 0 ? r : found;
}

int store_quarantine_load(struct trail_store *s)
{
    char path[4200], line[1024];
    snprintf(path, sizeof(path), "%s/quarantined", s->dir);
    FILE *f = fopen(path, "re");
    if (!f)
        return errno == ENOENT ? 0 : -errno;
    int r = 0;
    while (fgets(line, sizeof(line), f) && r >= 0) {
        line[strcspn(line, "\n")] = '\0';
        uint64_t first, last;
        int64_t when;
        int at = 0;
        char file[300];
        if (sscanf(line, "%" SCNu64 " %" SCNu64 " %" SCNd64 " %299s %n", &first, &last, &when, file,
                   &at) < 4 ||
            first == 0 || last < first)
            continue; /* the magic line, or a line that says nothing usable */
        const char *base = strrchr(file, '/');
        r = store_damage_add(s, first, last, base ? base + 1 : file, at ? line + at : "", 1, when);
    }
    fclose(f);
    return r;
}

/* SHA-256 of a file, in hex; "" when it cannot be read. */
static void file_sha256(const char *path, char out[2 * TRAIL_HASH_LEN + 1])
{
    out[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return;
    if (fstat(fd, &st) == 0) {
        uint8_t *p = malloc((size_t)st.st_size + 1);
        uint8_t h[TRAIL_HASH_LEN];
        if (p && pread(fd, p, (size_t)st.st_size, 0) == st.st_size &&
            hash_sha256(p, (size_t)st.st_size, h) == 0)
            for (int i = 0; i < TRAIL_HASH_LEN; i++)
                snprintf(out + 2 * i, 3, "%02x", h[i]);
        free(p);
    }
    close(fd);
}

/* Append text to path and fsync it. */
static int append_synced(const char *path, const char *head, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0)
        return -errno;
    struct stat st;
    int r = 0;
    if (fstat(fd, &st) == 0 && st.st_size == 0 && head &&
        write(fd, head, strlen(head)) != (ssize_t)strlen(head))
        r = -EIO;
    if (r == 0 && write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        r = -EIO;
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    close(fd);
    return r;
}

int store_quarantine_segment(struct trail_store *s, const char *name, uint64_t first, uint64_t last,
                             const char *reason, struct trail_store_report *rep)
{
    /* one directory per repair run: named by the time of the first file moved */
    static __thread char qdir[64];
    static __thread const struct trail_store *qstore;
    int64_t now = trail_now();
    char path[4200], from[4200], to[4200], text[1200];
    if (qstore != s || !qdir[0]) {
        time_t t = (time_t)(now / 1000000);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(qdir, sizeof(qdir), "quarantine/%Y%m%dT%H%M%SZ", &tm);
        qstore = s;
    }
    snprintf(path, sizeof(path), "%s/quarantine", s->dir);
    if (mkdir(path, 0750) < 0 && errno != EEXIST)
        return -errno;
    snprintf(path, sizeof(path), "%s/%s", s->dir, qdir);
    if (mkdir(path, 0750) < 0 && errno != EEXIST)
        return -errno;
    snprintf(from, sizeof(from), "%s/%s", s->dir, name);
    snprintf(to, sizeof(to), "%s/%s/%s", s->dir, qdir, name);
    char sha[2 * TRAIL_HASH_LEN + 1];
    file_sha256(from, sha);
    if (rename(from, to) < 0)
        return -errno;
    /* its index goes along: it describes records that are no longer in the store */
    char idx[4200], idx_to[4200], idx_sha[2 * TRAIL_HASH_LEN + 1] = "";
    store_seg_path(s, first, ".idx", idx, sizeof(idx));
    const char *idx_base = strrchr(idx, '/') + 1;
    snprintf(idx_to, sizeof(idx_to), "%s/%s/%s", s->dir, qdir, idx_base);
    file_sha256(idx, idx_sha);
    int idx_moved = idx_sha[0] && rename(idx, idx_to) == 0;
    fsync(s->dir_fd);
    snprintf(path, sizeof(path), "%s/%s/REPORT", s->dir, qdir);
    snprintf(text, sizeof(text),
             "%s: damaged (%s)\n"
             "  records %" PRIu64 "..%" PRIu64 " (%" PRIu64 ") are no longer in the store\n"
             "  moved here, sha256 %s\n",
             name, reason, first, last, last - first + 1, sha);
    int r = append_synced(path,
                          "trail repair: files moved out of the store because they are damaged.\n"
                          "Nothing was deleted; the records of the runs below cannot be read.\n\n",
                          text);
    if (r == 0 && idx_moved) {
        snprintf(text, sizeof(text), "  %s (its index) moved here, sha256 %s\n", idx_base, idx_sha);
        r = append_synced(path, NULL, text);
    }
    if (r < 0)
        return r;
    snprintf(path, sizeof(path), "%s/quarantined", s->dir);
    char clean[160];
    snprintf(clean, sizeof(clean), "%s", reason);
    for (char *p = clean; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    snprintf(text, sizeof(text), "%" PRIu64 " %" PRIu64 " %" PRId64 " %s/%s %s\n", first, last, now,
             qdir, name, clean);
    if ((r = append_synced(path, "trail-quarantined/1\n", text)) < 0)
        return r;
    fsync(s->dir_fd);
    store_report(rep, "%s: damaged (%s): quarantined to %s/, records %" PRIu64 "..%" PRIu64 " lost",
                 name, reason, qdir, first, last);
    if (rep)
        rep->damaged++;
    return store_damage_add(s, first, last, name, reason, 1, now);
}
