/*
 * test_store_backlog.c - the unsealed backlog's bound (seal_backlog_max,
 * docs/store.md "Sealing"): with sealers slower than the appends, the rolled
 * segments waiting never pass the bound (by more than the batch in flight),
 * the appends that waited are counted, and every record is stored once; -1
 * lifts the bound; a store opened with a larger backlog takes appends while
 * its backlog shrinks; the floor sealer, trail-sealx, runs at normal CPU
 * priority beside the idle-priority ones.
 *
 * The sealers are slowed by an index hook that sleeps after each sealed
 * segment (the sealer's own thread), so that the appends outrun them on any
 * machine; what is asserted is the backlog's size, never a time.
 *
 * Not here: sealing levels and parallel sealers (test_store_parallel.c).
 */
#include "harness.h"
#include "store/store.h"

#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static struct trail_catalog *cat;

/* the hook: a slow index, and the largest backlog the sealers saw */
static int max_seen;
static int hook_sleep_us = 20000;

static void *no_builder(struct trail_store *s, uint64_t first_seq)
{
    (void)s, (void)first_seq;
    return NULL;
}

/* after each seal, as the index's own seal_end is */
static void slow_seal_end(struct trail_store *s, void *builder, int ok, uint64_t last_seq)
{
    (void)builder, (void)ok, (void)last_seq;
    int b = __atomic_load_n(&s->seal_backlog, __ATOMIC_RELAXED);
    if (b > __atomic_load_n(&max_seen, __ATOMIC_RELAXED))
        __atomic_store_n(&max_seen, b, __ATOMIC_RELAXED);
    usleep((useconds_t)hook_sleep_us);
}

static void no_sweep(struct trail_store *s)
{
    (void)s;
}

static const struct store_index_hooks slow_hooks = {
    .seal_begin = no_builder, .seal_end = slow_seal_end, .sweep = no_sweep};

/* Append n events in batches of 50; the largest unsealed backlog seen after each. */
static int append_many(struct trail_store *s, int n, int *ret_max_backlog)
{
    struct trail_event *evs[50];
    int max_backlog = 0;
    for (int k = 0; k < n; k += 50) {
        int m = n - k < 50 ? n - k : 50;
        for (int i = 0; i < m; i++) {
            if (trail_event_new(cat, "prism_user_locked", &evs[i]) < 0)
                abort();
            char user[48];
            snprintf(user, sizeof(user), "user-%d-with-a-longer-name-for-bytes", k + i);
            trail_event_set_string(evs[i], "duser", user, (size_t)-1);
            trail_event_set_int(evs[i], "n", k + i);
            trail_event_set_time(evs[i], 1764000000000000LL + k + i);
        }
        uint64_t last;
        int r = trail_store_append(s, evs, (size_t)m, &last);
        for (int i = 0; i < m; i++)
            trail_event_free(evs[i]);
        if (r < 0)
            return r;
        struct trail_store_stats st;
        trail_store_stats(s, &st);
        if ((int)st.unsealed > max_backlog)
            max_backlog = (int)st.unsealed;
    }
    *ret_max_backlog = max_backlog;
    return 0;
}

/* Wait until every rolled segment is sealed (a slow machine only waits longer). */
static void wait_sealed(struct trail_store *s, struct trail_store_stats *st)
{
    for (int i = 0; i < 60000; i++) {
        trail_store_stats(s, st);
        if (st->sealed_segments + 1 >= st->segments)
            return;
        usleep(1000);
    }
}

/* Every record once, in seq order, n in order. */
static int count_records(const char *dir, uint64_t *ret_n)
{
    struct trail_store *s;
    struct trail_store_opts o = {.read_only = 1};
    int r = trail_store_open(dir, cat, &o, &s, NULL);
    if (r < 0)
        return r;
    struct trail_store_iter *it;
    struct trail_event *ev;
    trail_store_iter_new(s, TRAIL_ITER_FORWARD, &it);
    trail_event_new(cat, "x", &ev);
    uint64_t seq = 0;
    int bad = 0;
    while (trail_store_iter_next(it, ev) == 1)
        bad += trail_event_seq(ev) != ++seq;
    trail_store_iter_free(it);
    trail_event_free(ev);
    trail_store_close(s);
    *ret_n = seq;
    return bad ? TRAIL_E_CORRUPT : 0;
}

/* A new directory /tmp/trail-test-backlog-XXXXXX in dir (64 bytes): dir, or NULL. */
static char *temp_dir(char *dir)
{
    strcpy(dir, "/tmp/trail-test-backlog-XXXXXX");
    return mkdtemp(dir);
}

static void rm_rf(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

/* small segments and batches: a roll every few appends, a flush holds at most one or two */
static struct trail_store_opts small_opts(int bound)
{
    return (struct trail_store_opts){.create = 1,
                                     .fsync_policy = TRAIL_FSYNC_NEVER,
                                     .segment_max_bytes = 16 << 10,
                                     .block_bytes = 4 << 10,
                                     .max_pending_bytes = 16 << 10,
                                     .seal_threads = 1,
                                     .seal_backlog_max = bound};
}

enum { EVENTS = 20000 }; /* about 100 segments of 16 KiB */

/*
 * The bound holds: the sealers are ~20 ms a segment behind appends that roll
 * one every few hundred microseconds, so without the bound the backlog
 * grows towards the whole run (the next test); with a bound of 3 it stays
 * within 3 and the segment or two a flush in flight can roll.
 */
TEST(backlog_bounded)
{
    char dir[64];
    ASSERT(temp_dir(dir) != NULL);
    max_seen = 0;
    struct trail_store *s;
    struct trail_store_opts o = small_opts(3);
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, NULL));
    int max_backlog = 0;
    ASSERT_OK(append_many(s, EVENTS, &max_backlog));
    ASSERT_OK(trail_store_wait(s, EVENTS));
    struct trail_store_stats st;
    wait_sealed(s, &st);
    ASSERT(st.segments > 40);
    ASSERT_EQ(st.sealed_segments + 1, st.segments);
    ASSERT(max_backlog <= 3 + 2);
    ASSERT(max_seen <= 3 + 2);
    ASSERT(st.seal_waits > 0); /* the appends did wait for the sealers */
    ASSERT_EQ(st.unsealed, 0);
    ASSERT_OK(trail_store_close(s));
    uint64_t n = 0;
    ASSERT_OK(count_records(dir, &n));
    ASSERT_EQ(n, EVENTS);
    rm_rf(dir);
}

/* -1: no bound; the same appends leave a long queue and never wait. */
TEST(backlog_unbounded_when_asked)
{
    char dir[64];
    ASSERT(temp_dir(dir) != NULL);
    struct trail_store *s;
    struct trail_store_opts o = small_opts(-1);
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, NULL));
    int max_backlog = 0;
    ASSERT_OK(append_many(s, EVENTS, &max_backlog));
    ASSERT_OK(trail_store_wait(s, EVENTS));
    struct trail_store_stats st;
    trail_store_stats(s, &st);
    ASSERT_EQ(st.seal_waits, 0);
    ASSERT(max_backlog > 3 + 2); /* what the bound prevents */
    hook_sleep_us = 0;           /* the rest at full speed */
    wait_sealed(s, &st);
    ASSERT_EQ(st.sealed_segments + 1, st.segments);
    ASSERT_OK(trail_store_close(s));
    hook_sleep_us = 20000;
    rm_rf(dir);
}

/*
 * A backlog larger than the bound found at open (left by a run without
 * sealing): appends are taken at once, and the backlog never grows past what
 * was found while it shrinks.
 */
TEST(backlog_found_at_open_shrinks)
{
    char dir[64];
    ASSERT(temp_dir(dir) != NULL);
    struct trail_store *s;
    struct trail_store_opts o = small_opts(-1);
    o.no_seal = 1;
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, NULL));
    int max_backlog = 0;
    ASSERT_OK(append_many(s, 4000, &max_backlog));
    ASSERT_OK(trail_store_close(s));

    max_seen = 0;
    o = small_opts(2);
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, NULL));
    struct trail_store_stats st;
    trail_store_stats(s, &st);
    int found = (int)st.unsealed;
    ASSERT(found > 10);
    ASSERT_OK(append_many(s, 4000, &max_backlog));
    ASSERT(max_backlog <= found + 2);
    ASSERT(max_seen <= found + 2);
    wait_sealed(s, &st);
    ASSERT_EQ(st.sealed_segments + 1, st.segments);
    ASSERT_OK(trail_store_close(s));
    uint64_t n = 0;
    ASSERT_OK(count_records(dir, &n));
    ASSERT_EQ(n, 8000);
    rm_rf(dir);
}

/* The thread id of this process's thread named name, or -1. */
static int tid_of(const char *name)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int tid = -1;
    while (d && (e = readdir(d)) != NULL) {
        char path[300], comm[32] = "";
        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (fgets(comm, sizeof(comm), f))
            comm[strcspn(comm, "\n")] = 0;
        fclose(f);
        if (!strcmp(comm, name))
            tid = atoi(e->d_name);
    }
    if (d)
        closedir(d);
    return tid;
}

/* The scheduling policy of this process's thread named name, or -1. */
static int policy_of(const char *name)
{
    int tid = tid_of(name);
    return tid > 0 ? sched_getscheduler(tid) : -1;
}

/* trail-sealx at normal priority (it is what gets sealing CPU on a busy machine) with nice 10
   (a share of a core beside the inputs, not half of it), the rest idle. */
TEST(floor_sealer_at_normal_priority)
{
    char dir[64];
    ASSERT(temp_dir(dir) != NULL);
    struct trail_store *s;
    struct trail_store_opts o = small_opts(0); /* the default bound */
    o.seal_threads = 2;
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, NULL));
    int seal = -1, seal1 = -1, sealx = -1;
    for (int i = 0; i < 5000 && (seal != SCHED_IDLE || seal1 != SCHED_IDLE || sealx < 0); i++) {
        seal = policy_of("trail-seal"); /* named and lowered by the thread itself */
        seal1 = policy_of("trail-seal1");
        sealx = policy_of("trail-sealx");
        usleep(1000);
    }
    ASSERT_EQ(seal, SCHED_IDLE);
    ASSERT_EQ(seal1, SCHED_IDLE);
    ASSERT_EQ(sealx, SCHED_OTHER);
    int nice_x = -100;
    for (int i = 0; i < 5000 && nice_x != 10; i++, usleep(1000)) /* set by the thread itself */
        nice_x = getpriority(PRIO_PROCESS, (id_t)tid_of("trail-sealx"));
    ASSERT_EQ(nice_x, 10);
    ASSERT_OK(trail_store_close(s));
    ASSERT_EQ(policy_of("trail-sealx"), -1);

    o = small_opts(-1); /* no bound: no floor sealer */
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, NULL));
    ASSERT_EQ(policy_of("trail-sealx"), -1);
    ASSERT_OK(trail_store_close(s));
    rm_rf(dir);
}

int run_tests(void);
int main(void)
{
    if (trail_catalog_new(&cat) < 0)
        return 1;
    trail_catalog_set_policy(cat, TRAIL_POLICY_LENIENT);
    store_index_hooks_set(&slow_hooks);
    int r = run_tests();
    store_index_hooks_set(NULL);
    trail_catalog_free(cat);
    return r;
}

#define main run_tests
TEST_MAIN(backlog_bounded, backlog_unbounded_when_asked, backlog_found_at_open_shrinks,
          floor_sealer_at_normal_priority)
