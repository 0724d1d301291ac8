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
 * (test_store_damage.c). TRAIL_CRASH_ROUNDS sets the number of kills (300).
 */
#include "harness.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
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
TEST_MAIN(kill_during_appends)
