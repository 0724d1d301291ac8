/*
 * test_store_damage.c - a small store's last segment cut at every byte
 * offset, and one byte of it changed at every offset (open and sealed
 * forms): opening never crashes, never fails on a cut (a cut is a torn tail),
 * and never returns a damaged record as good: every record read back is
 * byte for byte the one written with that seq.
 *
 * Not here: damage the integrity layer must find (a record rewritten with a
 * correct CRC): that is `trail verify`'s test.
 */
#include "harness.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define N_RECORDS 12

static struct trail_catalog *cat;
static uint8_t *orig[N_RECORDS + 2]; /* the sealed store has one record more */
static size_t orig_len[N_RECORDS + 2];

static struct trail_event *make_event(int i)
{
    struct trail_event *ev;
    if (trail_event_new(cat, "auth_entrypoints_oidc_logout", &ev) < 0)
        abort();
    char buf[64];
    snprintf(buf, sizeof(buf), "#trace%06d", i);
    trail_event_set_string(ev, "phxTraceId", buf, (size_t)-1);
    trail_event_set_string(ev, "phxEntrypointId", "oidc1", (size_t)-1);
    trail_event_set_ip(ev, "src", "203.0.113.7", (size_t)-1);
    trail_event_set_int(ev, "n", i);
    trail_event_set_time(ev, 1764000000000000LL + i);
    return ev;
}

static void run(const char *cmd)
{
    if (system(cmd) != 0)
        abort();
}

static uint8_t *read_file(const char *path, size_t *ret_len)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        abort();
    uint8_t *p = malloc((size_t)st.st_size + 1);
    if (read(fd, p, (size_t)st.st_size) != st.st_size)
        abort();
    close(fd);
    *ret_len = (size_t)st.st_size;
    return p;
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, p, n) != (ssize_t)n)
        abort();
    close(fd);
}

/*
 * Open the store in dir (read-only or writer) and read everything back both
 * ways. Returns the number of records read forward, -1 if a record differs
 * from the one written (the failure this test exists for), -2 when open
 * failed with anything but TRAIL_E_CORRUPT / TRAIL_E_VERSION.
 */
static int check(const char *dir, int read_only, int *ret_open)
{
    struct trail_store *s;
    struct trail_store_opts o = {.read_only = read_only, .no_seal = 1};
    int r = trail_store_open(dir, cat, &o, &s, NULL);
    *ret_open = r;
    if (r == TRAIL_E_CORRUPT || r == TRAIL_E_VERSION)
        return 0;
    if (r < 0)
        return -2;
    int n_fwd = 0;
    for (int d = 0; d < 2; d++) {
        struct trail_store_iter *it;
        if (trail_store_iter_new(s, d, &it) < 0)
            abort();
        const uint8_t *rec;
        size_t len;
        uint64_t seq;
        int got;
        while ((got = trail_store_iter_next_raw(it, &rec, &len, &seq)) == 1) {
            if (seq < 1 || seq > N_RECORDS + 1 || !orig[seq] || len != orig_len[seq] ||
                memcmp(rec, orig[seq], len) != 0) {
                trail_store_iter_free(it);
                trail_store_close(s);
                return -1;
            }
            if (d == 0)
                n_fwd++;
        }
        trail_store_iter_free(it);
    }
    trail_store_close(s);
    return n_fwd;
}

/* A store of N_RECORDS in one segment; sealed: in a sealed segment followed by an empty one. */
static void make_store(const char *dir, int sealed)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    run(cmd);
    struct trail_store *s;
    struct trail_store_opts o = {.create = 1, .fsync_policy = TRAIL_FSYNC_NEVER, .no_seal = 1};
    if (trail_store_open(dir, cat, &o, &s, NULL) < 0)
        abort();
    for (int i = 0; i < N_RECORDS; i++) {
        struct trail_event *ev = make_event(i);
        trail_store_append(s, &ev, 1, NULL);
        trail_event_free(ev);
    }
    trail_store_close(s);
    if (sealed) {
        /* roll by age on the next append, then let the sealer run */
        struct trail_store_opts o2 = {.segment_max_age_us = 1, .block_bytes = 1024};
        if (trail_store_open(dir, cat, &o2, &s, NULL) < 0)
            abort();
        struct trail_event *ev = make_event(N_RECORDS);
        usleep(2000);
        trail_store_append(s, &ev, 1, NULL);
        trail_event_free(ev);
        struct trail_store_stats st;
        for (int i = 0; i < 1000; i++) {
            trail_store_stats(s, &st);
            if (st.sealed_segments == 1)
                break;
            usleep(2000);
        }
        trail_store_close(s);
    }
}

static char *last_seg(const char *dir, const char *ext)
{
    static char path[512];
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "ls %s/seg-*%s | head -1", dir, ext);
    FILE *p = popen(cmd, "r");
    if (!p || !fgets(path, sizeof(path), p))
        abort();
    pclose(p);
    path[strcspn(path, "\n")] = '\0';
    return path;
}

static void remember_records(const char *dir)
{
    struct trail_store *s;
    struct trail_store_opts o = {.read_only = 1};
    if (trail_store_open(dir, cat, &o, &s, NULL) < 0)
        abort();
    struct trail_store_iter *it;
    trail_store_iter_new(s, TRAIL_ITER_FORWARD, &it);
    const uint8_t *rec;
    size_t len;
    uint64_t seq;
    while (trail_store_iter_next_raw(it, &rec, &len, &seq) == 1 && seq <= N_RECORDS + 1) {
        free(orig[seq]);
        orig[seq] = malloc(len);
        memcpy(orig[seq], rec, len);
        orig_len[seq] = len;
    }
    trail_store_iter_free(it);
    trail_store_close(s);
}

TEST(truncate_every_offset)
{
    char dir[] = "/tmp/trail-test-damage-XXXXXX";
    if (!mkdtemp(dir))
        abort();
    make_store(dir, 0);
    remember_records(dir);
    char *path = last_seg(dir, ".open");
    char saved[512];
    snprintf(saved, sizeof(saved), "%s", path);
    size_t len;
    uint8_t *bytes = read_file(saved, &len);
    int prev = -1;
    for (size_t cut = 0; cut < len; cut++) {
        write_file(saved, bytes, cut);
        int opened;
        int n_ro = check(dir, 1, &opened);
        ASSERT(n_ro >= 0);
        write_file(saved, bytes, cut);
        int n = check(dir, 0, &opened);
        if (n < 0 || opened < 0)
            FAIL_AT("cut at %zu: writer open %d, records %d", cut, opened, n);
        ASSERT_EQ(n, n_ro);
        /* the records kept grow with the cut and never skip one */
        ASSERT(n >= prev);
        prev = n;
        /* a writer's open cut the torn tail: it opens again the same, cleanly (checked at
           every 4th cut, to keep the test short) */
        if (cut % 4)
            continue;
        struct trail_store *s;
        struct trail_store_report rep;
        struct trail_store_opts o = {.no_seal = 1};
        ASSERT_OK(trail_store_open(dir, cat, &o, &s, &rep));
        ASSERT_EQ(rep.torn_bytes, 0);
        ASSERT_EQ(trail_store_last_seq(s), (uint64_t)n);
        trail_store_close(s);
    }
    ASSERT_EQ(prev, N_RECORDS - 1);
    free(bytes);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    run(cmd);
}

/* Change each byte of the file (in steps of step) and check nothing bad comes back. */
static void corrupt_each(const char *dir, const char *ext, size_t step, int *bad)
{
    char saved[512];
    snprintf(saved, sizeof(saved), "%s", last_seg(dir, ext));
    size_t len;
    uint8_t *bytes = read_file(saved, &len);
    uint8_t *copy = malloc(len);
    int refused = 0;
    for (size_t at = 0; at < len; at += step) {
        memcpy(copy, bytes, len);
        copy[at] ^= (uint8_t)(0x01 << (at % 8));
        write_file(saved, copy, len);
        int opened;
        if (check(dir, 1, &opened) < 0) {
            fprintf(stderr, "  %s: byte %zu changed: reader got a damaged record\n", ext, at);
            (*bad)++;
        }
        write_file(saved, copy, len);
        int n = check(dir, 0, &opened);
        if (n < 0) {
            fprintf(stderr, "  %s: byte %zu changed: writer open %d, check %d\n", ext, at, opened,
                    n);
            (*bad)++;
        }
        refused += opened < 0;
    }
    write_file(saved, bytes, len);
    /* most changes are in the middle of something: refused, not silently cut */
    if (refused == 0)
        (*bad)++;
    free(copy);
    free(bytes);
}

TEST(corrupt_bytes)
{
    char dir[] = "/tmp/trail-test-damage-XXXXXX";
    if (!mkdtemp(dir))
        abort();
    int bad = 0;
    make_store(dir, 0);
    remember_records(dir);
    corrupt_each(dir, ".open", 1, &bad);
    make_store(dir, 1);
    remember_records(dir);
    corrupt_each(dir, ".seg", 1, &bad);
    ASSERT_EQ(bad, 0);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    run(cmd);
}

int run_tests(void);
int main(void)
{
    if (trail_catalog_new(&cat) < 0)
        return 1;
    trail_catalog_set_policy(cat, TRAIL_POLICY_LENIENT);
    int r = run_tests();
    for (int i = 0; i <= N_RECORDS + 1; i++)
        free(orig[i]);
    trail_catalog_free(cat);
    return r;
}

#define main run_tests
TEST_MAIN(truncate_every_offset, corrupt_bytes)
