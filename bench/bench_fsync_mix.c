/*
 * bench_fsync_mix.c - does sealing's write of a big file, synced at its
 * end, slow the appends' fdatasync beside it? The question behind the HTTP
 * acknowledgement p99 (docs/BENCHMARKS.md, "HTTP NDJSON ingest").
 *
 * One thread appends 40 KB (about 100 events) to a file and fdatasyncs it,
 * every 5 ms, as the store's flusher does under load, and reports the
 * fdatasync latencies. Beside it, in mode 1, a second thread writes 6 MiB
 * files (what sealing writes of a 64 MiB segment) in 128 KiB pieces, 2 ms
 * apart, then fdatasyncs the file and the directory, as sealing does; in
 * mode 2 it also starts the writeback of each piece at once with
 * sync_file_range(), so that its final sync has little left to write.
 * Mode 0 is the appender alone. Mode 3 is mode 1 that also removes a
 * 64 MiB file after each 6 MiB one, as sealing removes the segment's .open
 * file (made beforehand with fallocate, so that only the removal and the
 * discard of its blocks, on a file system mounted with `discard`, fall in
 * the run); mode 4 removes it in 4 MiB cuts (ftruncate), 2 ms apart, then
 * unlinks it.
 *
 *   bench_fsync_mix MODE [APPENDS] [DIR]      # MODE 0 to 4; 400; /tmp
 *
 * Not a test: it prints figures. Not the store's code: plain files.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int mode;
static const char *dir = "/tmp";
static volatile int stop;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void *sealer(void *arg)
{
    (void)arg;
    size_t piece = 128 << 10;
    char *buf = malloc(piece);
    unsigned seed = 1;
    if (!buf)
        return NULL;
    for (int k = 0; !stop; k++) {
        char path[4200];
        snprintf(path, sizeof(path), "%s/fsync-mix.seal.%d", dir, k % 2);
        int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
        if (fd < 0)
            break;
        for (int i = 0; i < 48 && !stop; i++) {
            for (size_t j = 0; j < piece; j += 4096) /* not all alike: no sparse shortcuts */
                buf[j] = (char)rand_r(&seed);
            off_t off = (off_t)i * (off_t)piece;
            if (pwrite(fd, buf, piece, off) != (ssize_t)piece)
                break;
            if (mode == 2)
                sync_file_range(fd, off, (off_t)piece, SYNC_FILE_RANGE_WRITE);
            usleep(2000);
        }
        fdatasync(fd);
        close(fd);
        int d = open(dir, O_RDONLY | O_DIRECTORY);
        if (d >= 0) {
            fsync(d);
            close(d);
        }
        if (mode >= 3) { /* the .open file goes */
            snprintf(path, sizeof(path), "%s/fsync-mix.open.%d", dir, k);
            int o = open(path, O_WRONLY);
            if (o >= 0 && mode == 4)
                for (off_t at = (off_t)64 << 20; at > 0 && !stop; at -= (off_t)4 << 20) {
                    if (ftruncate(o, at - ((off_t)4 << 20)) < 0)
                        break;
                    usleep(2000);
                }
            if (o >= 0)
                close(o);
            unlink(path);
            d = open(dir, O_RDONLY | O_DIRECTORY);
            if (d >= 0) {
                fsync(d);
                close(d);
            }
        }
    }
    free(buf);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: bench_fsync_mix MODE [APPENDS] [DIR]   (MODE 0 to 4)\n");
        return 2;
    }
    mode = atoi(argv[1]);
    int n = argc > 2 ? atoi(argv[2]) : 400;
    if (argc > 3)
        dir = argv[3];
    if (n < 100)
        n = 100;
    char path[4200];
    enum { OPEN_FILES = 64 };
    if (mode >= 3) /* the .open files sealing will remove, their blocks allocated */
        for (int k = 0; k < OPEN_FILES; k++) {
            snprintf(path, sizeof(path), "%s/fsync-mix.open.%d", dir, k);
            int o = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
            if (o < 0 || posix_fallocate(o, 0, (off_t)64 << 20) != 0)
                return 1;
            close(o);
        }
    sync();
    pthread_t t;
    if (mode && pthread_create(&t, NULL, sealer, NULL) != 0)
        return 1;
    snprintf(path, sizeof(path), "%s/fsync-mix.append", dir);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    static char buf[40000];
    memset(buf, 'a', sizeof(buf));
    double *lat = malloc((size_t)n * sizeof(*lat));
    if (fd < 0 || !lat)
        return 1;
    off_t off = 0;
    for (int i = 0; i < n; i++) {
        if (pwrite(fd, buf, sizeof(buf), off) != (ssize_t)sizeof(buf))
            return 1;
        off += (off_t)sizeof(buf);
        double t0 = now_ms();
        fdatasync(fd);
        lat[i] = now_ms() - t0;
        usleep(5000);
    }
    stop = 1;
    if (mode)
        pthread_join(t, NULL);
    close(fd);
    unlink(path);
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof(path), "%s/fsync-mix.seal.%d", dir, k);
        unlink(path);
    }
    for (int k = 0; mode >= 3 && k < OPEN_FILES; k++) {
        snprintf(path, sizeof(path), "%s/fsync-mix.open.%d", dir, k);
        unlink(path);
    }
    qsort(lat, (size_t)n, sizeof(*lat), cmp_double);
    static const char *const what[] = {
        "alone", "beside a 6 MiB writer synced at its end",
        "beside a 6 MiB writer with sync_file_range per 128 KiB",
        "beside a 6 MiB writer that then removes a 64 MiB file",
        "beside a 6 MiB writer that then removes a 64 MiB file in 4 MiB cuts"};
    printf("mode %d, %s: fdatasync of %d appends of 40 KB: p50 %.2f p90 %.2f p99 %.2f max %.2f "
           "ms\n",
           mode, what[mode < 0 || mode > 4 ? 0 : mode], n, lat[n / 2], lat[n * 9 / 10],
           lat[n * 99 / 100], lat[n - 1]);
    printf("RESULT name=fsync_mix mode=%d p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n", mode, lat[n / 2],
           lat[n * 99 / 100], lat[n - 1]);
    free(lat);
    return 0;
}
