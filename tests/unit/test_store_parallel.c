/*
 * test_store_parallel.c - the store's work spread over threads: the tree
 * nodes an appending thread hashes over its own leaves (store_subtrees)
 * give the same tree as hashing every node on the writer's turn; the zstd
 * level follows the sealing backlog; appends from several threads sealed
 * by several sealers hold every record once, in seq order, with a tree and
 * a store that verify.
 *
 * Not here: killing a writer while its threads hash (test_store_crash.c,
 * kill_during_parallel_appends), the store's single-thread behaviour
 * (test_store.c).
 */
#include "harness.h"
#include "store/store.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static struct trail_catalog *cat;

static void leaf_of(uint64_t i, uint8_t out[32])
{
    trail_hash_leaf(&i, sizeof(i), out);
}

/*
 * Push 5000 leaves one by one (the reference), and again in batches of
 * sizes that start and end at every kind of offset, each batch's nodes
 * hashed ahead as an appender does: the frontiers and the 256-leaf group
 * roots must be the same after every batch.
 */
TEST(subtrees_same_tree)
{
    enum { N = 5000 };
    uint8_t(*leaves)[32] = malloc((size_t)N * 32);
    uint8_t(*nodes)[32] = malloc((size_t)N * 32);
    uint8_t(*groups_ref)[32] = malloc((size_t)(N / 256 + 1) * 32);
    ASSERT(leaves && nodes && groups_ref);
    for (uint64_t i = 0; i < N; i++)
        leaf_of(i, leaves[i]);
    struct trail_frontier ref, f;
    frontier_init(&ref);
    size_t n_ref = 0;
    for (uint64_t i = 0; i < N; i++) {
        int done;
        ASSERT_OK(store_frontier_push(&ref, leaves[i], groups_ref[n_ref], &done));
        n_ref += (size_t)done;
    }
    ASSERT_EQ(n_ref, N / 256);

    /* batch sizes: small, exact powers of two at aligned and unaligned starts, large */
    static const size_t sizes[] = {1, 1, 2, 256, 256, 3, 512, 255, 257, 700, 1, 1024, 129, 5, 600};
    frontier_init(&f);
    size_t n_groups = 0, at = 0, k = 0;
    while (at < N) {
        size_t n = sizes[k++ % TRAIL_ARRAY_SIZE(sizes)];
        if (n > N - at)
            n = N - at;
        struct store_subtrees t;
        ASSERT_OK(store_subtrees_hash(&t, at, (const uint8_t(*)[32])leaves + at, n, nodes));
        for (size_t i = 0; i < n; i++) {
            uint8_t g[32];
            int done;
            ASSERT_OK(store_frontier_push_pre(&f, leaves[at + i], &t, g, &done));
            if (done) {
                ASSERT(n_groups < n_ref);
                ASSERT_MEMEQ(g, groups_ref[n_groups], 32);
                n_groups++;
            }
        }
        at += n;
        /* the frontier after this batch is the reference's at the same size */
        struct trail_frontier part;
        frontier_init(&part);
        for (size_t i = 0; i < at; i++)
            frontier_append(&part, leaves[i]);
        ASSERT_EQ(f.size, part.size);
        for (unsigned b = 0; b < 64; b++)
            if (f.size & ((uint64_t)1 << b))
                ASSERT_MEMEQ(f.nodes[b], part.nodes[b], 32);
    }
    ASSERT_EQ(n_groups, n_ref);
    uint8_t a[32], b[32];
    ASSERT_OK(frontier_root(&f, a));
    ASSERT_OK(frontier_root(&ref, b));
    ASSERT_MEMEQ(a, b, 32);

    /* a batch of 512 from leaf 512: its root is the level-9 node, hashed ahead */
    struct store_subtrees t;
    ASSERT_OK(store_subtrees_hash(&t, 512, (const uint8_t(*)[32])leaves + 512, 512, nodes));
    ASSERT_EQ(t.levels, 10);
    ASSERT_EQ(t.first[9], 1);
    ASSERT_EQ(t.count[9], 1);
    ASSERT_OK(hash_tree((const uint8_t(*)[32])leaves + 512, 512, a));
    ASSERT_MEMEQ(t.nodes[t.at[9]], a, 32);
    free(leaves);
    free(nodes);
    free(groups_ref);
}

TEST(seal_level_follows_backlog)
{
    /* keeping up (one sealing, one rolled): the configured level */
    ASSERT_EQ(store_seal_level(6, 1), 6);
    ASSERT_EQ(store_seal_level(6, 2), 6);
    /* a queue: faster levels, never above the configured one */
    ASSERT_EQ(store_seal_level(6, 3), 3);
    ASSERT_EQ(store_seal_level(6, 5), 3);
    ASSERT_EQ(store_seal_level(6, 6), 1);
    ASSERT_EQ(store_seal_level(19, 400), 1);
    ASSERT_EQ(store_seal_level(2, 4), 2);
    ASSERT_EQ(store_seal_level(1, 3), 1);
}

struct appender {
    struct trail_store *s;
    int id;
    int r;
};

enum { THREADS = 4, BATCHES = 30 };

/* n = thread << 20 | k: which thread made the event, and its k-th */
static void *append_main(void *arg)
{
    struct appender *a = arg;
    struct trail_event *evs[300];
    unsigned seed = (unsigned)a->id * 7919u + 1;
    int k = 0;
    for (int b = 0; b < BATCHES && a->r == 0; b++) {
        int n = 1 + (int)(rand_r(&seed) % 300);
        for (int i = 0; i < n; i++) {
            if (trail_event_new(cat, "prism_user_locked", &evs[i]) < 0)
                abort();
            char user[32];
            snprintf(user, sizeof(user), "u%d-%d", a->id, k + i);
            trail_event_set_string(evs[i], "duser", user, (size_t)-1);
            trail_event_set_int(evs[i], "n", (int64_t)a->id << 20 | (k + i));
            trail_event_set_time(evs[i], 1764000000000000LL + k + i);
        }
        uint64_t last;
        a->r = trail_store_append(a->s, evs, (size_t)n, &last);
        for (int i = 0; i < n; i++)
            trail_event_free(evs[i]);
        k += n;
    }
    a->r = a->r < 0 ? a->r : k; /* how many it appended */
    return NULL;
}

TEST(parallel_appends_and_sealers)
{
    char dir[64];
    strcpy(dir, "/tmp/trail-test-parallel-XXXXXX");
    ASSERT(mkdtemp(dir) != NULL);
    struct trail_store *s;
    /* small segments: many rolls, so helpers seal beside the first sealer */
    struct trail_store_opts o = {.create = 1,
                                 .fsync_policy = TRAIL_FSYNC_NEVER,
                                 .segment_max_bytes = 32 << 10,
                                 .block_bytes = 4 << 10,
                                 .seal_threads = 3};
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, NULL));
    pthread_t th[THREADS];
    struct appender a[THREADS];
    for (int i = 0; i < THREADS; i++) {
        a[i] = (struct appender){.s = s, .id = i};
        ASSERT_EQ(pthread_create(&th[i], NULL, append_main, &a[i]), 0);
    }
    uint64_t total = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        ASSERT(a[i].r > 0);
        total += (uint64_t)a[i].r;
    }
    ASSERT_EQ(trail_store_last_seq(s), total);
    ASSERT_OK(trail_store_wait(s, total));
    /* every rolled segment sealed (a slow machine only waits longer) */
    struct trail_store_stats st;
    for (int i = 0; i < 12000; i++) {
        ASSERT_OK(trail_store_stats(s, &st));
        if (st.sealed_segments + 1 >= st.segments)
            break;
        usleep(5000);
    }
    ASSERT(st.segments > 10);
    ASSERT_EQ(st.sealed_segments + 1, st.segments);
    struct trail_store_state state;
    ASSERT_OK(trail_store_state(s, &state));
    ASSERT_OK(trail_store_close(s));

    /* every (thread, k) once, each thread's in its own order; the tree over the records */
    o = (struct trail_store_opts){.no_seal = 1};
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, NULL));
    struct trail_store_iter *it;
    ASSERT_OK(trail_store_iter_new(s, TRAIL_ITER_FORWARD, &it));
    struct trail_event *ev;
    ASSERT_OK(trail_event_new(cat, "x", &ev));
    int next_k[THREADS] = {0};
    uint64_t seq = 0;
    int bad = 0;
    while (trail_store_iter_next(it, ev) == 1) {
        struct trail_value v;
        seq++;
        if (trail_event_seq(ev) != seq || trail_event_attr_get(ev, "n", &v) != 0) {
            bad++;
            continue;
        }
        int id = (int)(v.u.i >> 20), k = (int)(v.u.i & 0xfffff);
        if (id < 0 || id >= THREADS || k != next_k[id]++)
            bad++;
    }
    trail_store_iter_free(it);
    trail_event_free(ev);
    ASSERT_EQ(bad, 0);
    ASSERT_EQ(seq, total);
    for (int i = 0; i < THREADS; i++)
        ASSERT_EQ(next_k[i], a[i].r);
    uint8_t(*leaves)[32] = malloc(total * 32);
    ASSERT(leaves != NULL);
    ASSERT_OK(store_leaf_range(s, 1, total, leaves));
    uint8_t root[32];
    ASSERT_OK(hash_tree((const uint8_t(*)[32])leaves, total, root));
    ASSERT_MEMEQ(root, state.root, 32);
    free(leaves);
    ASSERT_OK(trail_store_close(s));

    /* and the files alone verify: chain, tree, tree.roots, sealed blocks */
    struct trail_verify_opts vo = {0};
    struct trail_verify_report *rep = calloc(1, sizeof(*rep));
    ASSERT(rep != NULL);
    ASSERT_OK(trail_verify_store(dir, &vo, rep));
    ASSERT_EQ(rep->n_damage, 0);
    ASSERT_EQ(rep->records, total);
    free(rep);
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
TEST_MAIN(subtrees_same_tree, seal_level_follows_backlog, parallel_appends_and_sealers)
