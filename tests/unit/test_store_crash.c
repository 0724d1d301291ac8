/*
 * test_store_crash.c - kill -9 a writer at random moments, hundreds of
 * times, and check that every acknowledged record is there, in order, once.
 *
 * A child process opens the store (recovering what the last one left),
 * appends batches of records whose content follows from their seq, waits
 * until each batch is durable and only then writes its last seq to a pipe:
 * that is the acknowledgement. The parent kills the child with SIGKILL after
 * a random delay, reads what was acknowledged, reopens the store as a writer
 * (recovery) and checks that it holds at least that much, with the right
 * bytes. Segments are small, so kills also land while rolling and sealing.
 * At the end every record is read back and the Merkle root recomputed.
 *
 * Not here: power loss (a killed process loses nothing the kernel has; this
 * checks the store's own ordering and recovery), damaged bytes
 * (test_store_damage.c). TRAIL_CRASH_ROUNDS sets the number of kills (300,
 * and an eighth of that with four appending threads).
 */
#include "harness.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct trail_catalog *cat;
static char dir[64];

static struct trail_event *make_event(uint64_t seq)
{
    struct trail_event *ev;
    if (trail_event_new(cat, seq % 2 ? "auth_entrypoints_saml_auth_started" : "prism_user_locked",
                        &ev) < 0)
        return NULL;
    char buf[64];
    snprintf(buf, sizeof(buf), "#crash%010llu", (unsigned long long)seq);
    trail_event_set_string(ev, "phxTraceId", buf, (size_t)-1);
    snprintf(buf, sizeof(buf), "user%llu", (unsigned long long)(seq % 1013));
    trail_event_set_string(ev, "duser", buf, (size_t)-1);
    trail_event_set_int(ev, "n", (int64_t)seq);
    trail_event_set_time(ev, 1764000000000000LL + (int64_t)seq);
    return ev;
}

/* The child: append and acknowledge until killed. Never returns. */
static void writer(int ack_fd, unsigned seed, int policy)
{
    struct trail_store *s;
    struct trail_store_opts o = {.create = 1,
                                 .fsync_policy = policy,
                                 .fsync_interval_ms = 2,
                                 .segment_max_bytes = 24 << 10,
                                 .block_bytes = 4 << 10};
    if (trail_store_open(dir, cat, &o, &s, NULL) < 0)
        _exit(3);
    uint64_t next = trail_store_last_seq(s) + 1;
    struct trail_event *evs[40];
    for (;;) {
        int n = 1 + (int)(rand_r(&seed) % 40);
        for (int i = 0; i < n; i++)
            if (!(evs[i] = make_event(next + (uint64_t)i)))
                _exit(3);
        uint64_t last;
        if (trail_store_append(s, evs, (size_t)n, &last) < 0 || last != next + (uint64_t)n - 1)
            _exit(4);
        for (int i = 0; i < n; i++)
            trail_event_free(evs[i]);
        if (trail_store_wait(s, last) < 0)
            _exit(5);
        char line[32];
        int len = snprintf(line, sizeof(line), "%llu\n", (unsigned long long)last);
        if (write(ack_fd, line, (size_t)len) != len)
            _exit(6);
        next = last + 1;
    }
}

/* Does record seq hold what make_event(seq) encodes? */
static int record_ok(struct trail_store *s, uint64_t seq, struct trail_event *back)
{
    struct trail_store_iter *it;
    if (trail_store_iter_new(s, TRAIL_ITER_FORWARD, &it) < 0)
        return 0;
    trail_store_iter_seek_seq(it, seq);
    int ok = trail_store_iter_next(it, back) == 1 && trail_event_seq(back) == seq;
    struct trail_value v;
    ok = ok && trail_event_attr_get(back, "n", &v) == 0 && v.u.i == (int64_t)seq &&
         trail_event_time(back) == 1764000000000000LL + (int64_t)seq;
    trail_store_iter_free(it);
    return ok;
}

TEST(kill_during_appends)
{
    int rounds = getenv("TRAIL_CRASH_ROUNDS") ? atoi(getenv("TRAIL_CRASH_ROUNDS")) : 300;
    strcpy(dir, "/tmp/trail-test-crash-XXXXXX");
    ASSERT(mkdtemp(dir) != NULL);
    unsigned seed = (unsigned)time(NULL);
    fprintf(stderr, "  seed %u, %d rounds\n", seed, rounds);
    uint64_t acked = 0;
    int killed_mid_ack = 0;
    struct trail_event *back;
    ASSERT_OK(trail_event_new(cat, "x", &back));
    for (int round = 0; round < rounds; round++) {
        int fds[2];
        ASSERT_OK(pipe(fds));
        int policy = round % 3 == 2 ? TRAIL_FSYNC_INTERVAL : TRAIL_FSYNC_ALWAYS;
        unsigned child_seed = rand_r(&seed);
        pid_t pid = fork();
        ASSERT(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            writer(fds[1], child_seed, policy);
        }
        close(fds[1]);
        usleep(1000 + rand_r(&seed) % 25000);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        if (!WIFSIGNALED(status)) {
            close(fds[0]);
            FAIL_AT("round %d: the writer exited with %d before it was killed", round,
                    WEXITSTATUS(status));
        }
        char buf[65536];
        size_t have = 0;
        ssize_t n;
        while ((n = read(fds[0], buf + have, sizeof(buf) - 1 - have)) > 0)
            have += (size_t)n;
        close(fds[0]);
        buf[have] = '\0';
        /* the last complete line is the highest acknowledged seq */
        char *end = strrchr(buf, '\n');
        if (end) {
            *end = '\0';
            char *start = strrchr(buf, '\n');
            uint64_t v = strtoull(start ? start + 1 : buf, NULL, 10);
            ASSERT(v >= acked);
            acked = v;
        }
        killed_mid_ack += have > 0 && buf[have - 1] != '\n';

        struct trail_store *s;
        struct trail_store_report rep;
        struct trail_store_opts o = {.no_seal = 1};
        int r = trail_store_open(dir, cat, &o, &s, &rep);
        if (r == TRAIL_E_NOT_FOUND && acked == 0)
            continue; /* killed while making the store: nothing was acknowledged */
        if (r < 0)
            FAIL_AT("round %d: reopen failed: %s\n%s", round, trail_strerror(r), rep.message);
        uint64_t last = trail_store_last_seq(s);
        if (last < acked) {
            trail_store_close(s);
            FAIL_AT("round %d: %llu acknowledged, only %llu in the store", round,
                    (unsigned long long)acked, (unsigned long long)last);
        }
        if (acked && !record_ok(s, acked, back)) {
            trail_store_close(s);
            FAIL_AT("round %d: record %llu is not what was written", round,
                    (unsigned long long)acked);
        }
        trail_store_close(s);
    }
    (void)killed_mid_ack;

    /* everything, in order, once, with the right content; the tree over it holds */
    struct trail_store *s;
    struct trail_store_opts o = {.no_seal = 1};
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, NULL));
    uint64_t last = trail_store_last_seq(s);
    ASSERT(last >= acked);
    ASSERT(acked > 0);
    struct trail_store_iter *it;
    ASSERT_OK(trail_store_iter_new(s, TRAIL_ITER_FORWARD, &it));
    uint64_t expect = 1;
    struct trail_frontier f;
    frontier_init(&f);
    const uint8_t *rec;
    size_t len;
    uint64_t seq;
    int bad = 0;
    while (trail_store_iter_next_raw(it, &rec, &len, &seq) == 1) {
        uint8_t leaf[32];
        trail_hash_leaf(rec, len, leaf);
        frontier_append(&f, leaf);
        struct trail_value v;
        if (seq != expect || record_decode(rec, len, s->store_id, back) != 0 ||
            trail_event_attr_get(back, "n", &v) != 0 || v.u.i != (int64_t)seq)
            bad++;
        expect++;
    }
    trail_store_iter_free(it);
    ASSERT_EQ(bad, 0);
    ASSERT_EQ(expect - 1, last);
    struct trail_store_state st;
    uint8_t root[32];
    ASSERT_OK(trail_store_state(s, &st));
    frontier_root(&f, root);
    ASSERT_MEMEQ(root, st.root, 32);
    uint8_t sub[32];
    ASSERT_OK(trail_store_subtree_hash(s, 0, last, sub));
    ASSERT_MEMEQ(sub, st.root, 32);
    struct trail_store_stats stats;
    trail_store_stats(s, &stats);
    fprintf(stderr, "  %llu records acknowledged, %llu stored, %llu segments\n",
            (unsigned long long)acked, (unsigned long long)last,
            (unsigned long long)stats.segments);
    trail_store_close(s);
    trail_event_free(back);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ASSERT_OK(system(cmd));
}

/*
 * The same with four appending threads in one writer, in batches of up to
 * 600 records: their leaves and the tree nodes over them are hashed on
 * each thread at once, and kills land while they are (and while helper
 * sealers seal). The content of a record cannot follow from its seq, which
 * the store gives: each record carries its thread and its number there
 * (n = thread << 32 | k), and each thread acknowledges "first last thread k"
 * once its batch is durable. Every acknowledged record must be at its seq
 * with its content; at the end the files verify (trail_verify_store).
 */
struct par_writer {
    struct trail_store *s;
    int ack_fd, id;
    unsigned seed;
};

static void *par_writer_main(void *arg)
{
    struct par_writer *w = arg;
    struct trail_event *evs[600];
    uint64_t k = 0;
    for (;;) {
        int n = 1 + (int)(rand_r(&w->seed) % 600);
        for (int i = 0; i < n; i++) {
            if (trail_event_new(cat, "prism_user_locked", &evs[i]) < 0)
                _exit(3);
            char buf[48];
            snprintf(buf, sizeof(buf), "par%d-%llu", w->id, (unsigned long long)(k + (uint64_t)i));
            trail_event_set_string(evs[i], "duser", buf, (size_t)-1);
            trail_event_set_int(evs[i], "n", (int64_t)((uint64_t)w->id << 32 | (k + (uint64_t)i)));
            trail_event_set_time(evs[i], 1764000000000000LL);
        }
        uint64_t last;
        if (trail_store_append(w->s, evs, (size_t)n, &last) < 0)
            _exit(4);
        for (int i = 0; i < n; i++)
            trail_event_free(evs[i]);
        if (trail_store_wait(w->s, last) < 0)
            _exit(5);
        char line[96];
        int len = snprintf(line, sizeof(line), "%llu %llu %d %llu\n",
                           (unsigned long long)(last - (uint64_t)n + 1), (unsigned long long)last,
                           w->id, (unsigned long long)k);
        /* one write under PIPE_BUF: the threads' lines never mix */
        if (write(w->ack_fd, line, (size_t)len) != len)
            _exit(6);
        k += (uint64_t)n;
    }
    return NULL;
}

static void par_writer(int ack_fd, unsigned seed, int policy)
{
    struct trail_store *s;
    struct trail_store_opts o = {.create = 1,
                                 .fsync_policy = policy,
                                 .fsync_interval_ms = 2,
                                 .segment_max_bytes = 96 << 10,
                                 .block_bytes = 8 << 10,
                                 .seal_threads = 2};
    if (trail_store_open(dir, cat, &o, &s, NULL) < 0)
        _exit(3);
    struct par_writer w[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct par_writer){s, ack_fd, i, seed + (unsigned)i};
        if (pthread_create(&th[i], NULL, par_writer_main, &w[i]) != 0)
            _exit(3);
    }
    for (;;)
        pause();
}

static int64_t mono_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* Is record seq the k-th of thread id? */
static int par_record_ok(struct trail_store_iter *it, struct trail_event *back, uint64_t seq,
                         int id, uint64_t k)
{
    struct trail_value v;
    return trail_store_iter_seek_seq(it, seq) == 0 && trail_store_iter_next(it, back) == 1 &&
           trail_event_seq(back) == seq && trail_event_attr_get(back, "n", &v) == 0 &&
           (uint64_t)v.u.i == ((uint64_t)id << 32 | k);
}

TEST(kill_during_parallel_appends)
{
    int rounds = getenv("TRAIL_CRASH_ROUNDS") ? atoi(getenv("TRAIL_CRASH_ROUNDS")) / 8 : 37;
    strcpy(dir, "/tmp/trail-test-pcrash-XXXXXX");
    ASSERT(mkdtemp(dir) != NULL);
    unsigned seed = (unsigned)time(NULL);
    fprintf(stderr, "  seed %u, %d rounds, 4 appending threads\n", seed, rounds);
    uint64_t acked_records = 0, acked_max = 0;
    int rounds_acked = 0;
    struct trail_event *back;
    ASSERT_OK(trail_event_new(cat, "x", &back));
    static char buf[1 << 20];
    for (int round = 0; round < rounds; round++) {
        int fds[2];
        ASSERT_OK(pipe(fds));
        unsigned child_seed = rand_r(&seed);
        pid_t pid = fork();
        ASSERT(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            par_writer(fds[1], child_seed, round % 2 ? TRAIL_FSYNC_INTERVAL : TRAIL_FSYNC_ALWAYS);
        }
        close(fds[1]);
        /*
         * Read the acknowledgements while the writer runs, so that its pipe never
         * fills. The kill comes a random 0-30 ms after the first one (opening the
         * store takes a loaded machine a while; at most 5 s): the threads are then
         * hashing their next batches.
         */
        fcntl(fds[0], F_SETFL, O_NONBLOCK);
        size_t have = 0;
        long after_us = (long)(rand_r(&seed) % 30000), deadline_us = 5000000;
        int64_t t0 = mono_us(), first_ack = -1;
        for (;;) {
            ssize_t n = read(fds[0], buf + have, sizeof(buf) - 1 - have);
            if (n > 0)
                have += (size_t)n;
            int64_t t = mono_us();
            if (first_ack < 0 && memchr(buf, '\n', have))
                first_ack = t;
            if ((first_ack >= 0 && t - first_ack >= after_us) || t - t0 >= deadline_us ||
                have > sizeof(buf) - 4096)
                break;
            if (n <= 0)
                usleep(200);
        }
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        if (!WIFSIGNALED(status)) {
            close(fds[0]);
            FAIL_AT("round %d: the writer exited with %d before it was killed", round,
                    WEXITSTATUS(status));
        }
        ssize_t n;
        while ((n = read(fds[0], buf + have, sizeof(buf) - 1 - have)) > 0)
            have += (size_t)n;
        close(fds[0]);
        buf[have] = '\0';
        char *end = strrchr(buf, '\n');
        if (end)
            end[1] = '\0';
        else
            buf[0] = '\0';

        struct trail_store *s;
        struct trail_store_report rep;
        struct trail_store_opts o = {.no_seal = 1};
        int r = trail_store_open(dir, cat, &o, &s, &rep);
        if (r == TRAIL_E_NOT_FOUND && acked_max == 0 && buf[0] == '\0')
            continue; /* killed while making the store: nothing was acknowledged */
        if (r < 0)
            FAIL_AT("round %d: reopen failed: %s\n%s", round, trail_strerror(r), rep.message);
        struct trail_store_iter *it;
        if (trail_store_iter_new(s, TRAIL_ITER_FORWARD, &it) < 0) {
            trail_store_close(s);
            FAIL_AT("round %d: no iterator", round);
        }
        /* every record of every acknowledged batch, at its seq, with its content */
        rounds_acked += buf[0] != '\0';
        uint64_t last_stored = trail_store_last_seq(s);
        int bad = 0;
        for (char *line = buf; *line;) {
            unsigned long long first, last, k;
            int id;
            if (sscanf(line, "%llu %llu %d %llu", &first, &last, &id, &k) == 4) {
                acked_max = last > acked_max ? last : acked_max;
                acked_records += last - first + 1;
                for (uint64_t q = first; q <= last && !bad; q++)
                    if (q > last_stored || !par_record_ok(it, back, q, id, k + (q - first)))
                        bad = (int)(q - first) + 1;
                if (bad) {
                    trail_store_iter_free(it);
                    trail_store_close(s);
                    FAIL_AT("round %d: acknowledged record %llu (thread %d) is missing or "
                            "wrong; the store ends at %llu",
                            round, first + (unsigned long long)bad - 1, id,
                            (unsigned long long)last_stored);
                }
            }
            line = strchr(line, '\n') + 1;
        }
        trail_store_iter_free(it);
        if (last_stored < acked_max) {
            trail_store_close(s);
            FAIL_AT("round %d: %llu acknowledged, only %llu in the store", round,
                    (unsigned long long)acked_max, (unsigned long long)last_stored);
        }
        trail_store_close(s);
    }
    /* kills landed while acknowledged batches came in, not only before the first */
    ASSERT(rounds_acked > rounds / 2);

    /* the files alone verify: chain, tree, tree.roots, the segments sealed out of order */
    struct trail_verify_opts vo = {0};
    struct trail_verify_report *vr = calloc(1, sizeof(*vr));
    ASSERT(vr != NULL);
    ASSERT_OK(trail_verify_store(dir, &vo, vr));
    if (vr->n_damage)
        fprintf(stderr, "  damage at %llu in %s: %s\n", (unsigned long long)vr->damage[0].seq,
                vr->damage[0].file, vr->damage[0].message);
    ASSERT_EQ(vr->n_damage, 0);
    ASSERT(vr->records >= acked_max);
    fprintf(stderr,
            "  %d rounds with acknowledgements, %llu records acknowledged (up to seq %llu), "
            "%llu stored, %llu segments\n",
            rounds_acked, (unsigned long long)acked_records, (unsigned long long)acked_max,
            (unsigned long long)vr->records, (unsigned long long)vr->segments);
    free(vr);
    trail_event_free(back);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ASSERT_OK(system(cmd));
}

int run_tests(void);
int main(void)
{
    if (trail_catalog_new(&cat) < 0)
        return 1;
    trail_catalog_set_policy(cat, TRAIL_POLICY_LENIENT);
    int r = run_tests();
    trail_catalog_free(cat);
    return r;
}

#define main run_tests
TEST_MAIN(kill_during_appends, kill_during_parallel_appends)
