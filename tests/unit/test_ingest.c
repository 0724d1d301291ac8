/*
 * test_ingest.c - traild's ingest queue (daemon/core/ingest.c) over a real
 * store in a temporary directory, without a daemon: batches appended in the
 * order submitted and acknowledged only once durable; backpressure when the
 * queue is full (-EAGAIN, a blocking submit, the room callback); a store
 * that fails (disk full) and recovers, with batches marked retry kept and
 * stored once; and draining at stop.
 *
 * Linked against traild's core part (traild_core), as traild is. The store
 * is made slow or failing through its fault hook (trail_store_opts.fault):
 * syncs can be held at a gate, writes can fail with ENOSPC. Every wait has
 * a deadline; nothing asserts how long anything took.
 *
 * Not here: the inputs above the queue (tests/integration/daemon_*.sh,
 * store_fulldisk.sh).
 */
#include "core/ingest.h"
#include "core/metrics.h"

#include "harness.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static struct trail_catalog *cat;

/* ---- the store, its fault hook ---- */

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_closed;        /* 1: syncs wait until it opens */
static atomic_int fail_writes; /* 1: writes fail with ENOSPC */

static int fault_cb(void *arg, int op, int fd)
{
    (void)arg, (void)fd;
    if (op == TRAIL_STORE_OP_WRITE && atomic_load(&fail_writes))
        return -ENOSPC;
    if (op == TRAIL_STORE_OP_SYNC) {
        pthread_mutex_lock(&gate_lock);
        while (gate_closed)
            pthread_cond_wait(&gate_cv, &gate_lock);
        pthread_mutex_unlock(&gate_lock);
    }
    return 0;
}

static void gate(int closed)
{
    pthread_mutex_lock(&gate_lock);
    gate_closed = closed;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_lock);
}

static char dir[64];

static struct trail_store *open_store(void)
{
    strcpy(dir, "/tmp/trail-test-ingest-XXXXXX");
    if (!mkdtemp(dir))
        abort();
    struct trail_store_opts o = {
        .create = 1, .fsync_policy = TRAIL_FSYNC_ALWAYS, .fault = fault_cb};
    struct trail_store *s = NULL;
    if (trail_store_open(dir, cat, &o, &s, NULL) < 0)
        abort();
    return s;
}

static void close_store(struct trail_store *s)
{
    char cmd[128];
    trail_store_close(s);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        abort();
}

/* An event's number is its time, in µs after this fixed instant: nothing follows the clock. */
#define T0 1764000000000000LL

/* The numbers of the store's records, in seq order; returns how many. */
static size_t stored_numbers(struct trail_store *s, int64_t *out, size_t cap)
{
    struct trail_store_iter *it = NULL;
    struct trail_event *ev = NULL;
    size_t n = 0;
    if (trail_event_new(cat, "x", &ev) < 0 || trail_store_iter_new(s, TRAIL_ITER_FORWARD, &it) < 0)
        abort();
    while (trail_store_iter_next(it, ev) == 1) {
        if (n < cap)
            out[n] = trail_event_time(ev) - T0;
        n++;
    }
    trail_store_iter_free(it);
    trail_event_free(ev);
    return n;
}

/* ---- batches ---- */

#define MAX_EVENTS 8

struct tbatch {
    struct ingest_batch b;
    struct trail_event *ev[MAX_EVENTS];
    int calls;           /* done() calls: must end at exactly 1 */
    int status;          /* as done() saw it */
    int durable_at_done; /* the store's durable seq covered the batch when done() ran */
    int order;           /* the how-manieth batch to complete */
};

static struct trail_store *store;
static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cv;
static int n_done;

static void tdone(struct ingest_batch *b)
{
    struct tbatch *t = b->arg;
    uint64_t durable = trail_store_durable_seq(store);
    pthread_mutex_lock(&done_lock);
    t->calls++;
    t->status = b->status;
    t->durable_at_done =
        b->status == 0 && durable >= b->last_seq && durable >= trail_event_seq(t->ev[t->b.n - 1]);
    t->order = n_done++;
    pthread_cond_broadcast(&done_cv);
    pthread_mutex_unlock(&done_lock);
}

/* A batch of n events numbered first, first + 1, ... */
static struct tbatch *make_batch(int first, size_t n, int retry)
{
    struct tbatch *t = calloc(1, sizeof(*t));
    if (!t || n > MAX_EVENTS)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (trail_event_new(cat, "auth_entrypoints_saml_auth_started", &t->ev[i]) < 0)
            abort();
        trail_event_set_host(t->ev[i], "idp-node1", (size_t)-1);
        trail_event_set_string(t->ev[i], "duser", "alice@example.org", (size_t)-1);
        trail_event_set_time(t->ev[i], T0 + first + (int64_t)i);
    }
    t->b.events = t->ev;
    t->b.n = n;
    t->b.input = IN_HTTP;
    t->b.retry = retry;
    t->b.done = tdone;
    t->b.arg = t;
    return t;
}

static void free_batch(struct tbatch *t)
{
    for (size_t i = 0; i < t->b.n; i++)
        trail_event_free(t->ev[i]);
    free(t);
}

/* Wait until n batches in all have completed, at most seconds. 1 when they have. */
static int wait_done(int n, int seconds)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += seconds;
    pthread_mutex_lock(&done_lock);
    while (n_done < n)
        if (pthread_cond_timedwait(&done_cv, &done_lock, &ts) == ETIMEDOUT)
            break;
    int ok = n_done >= n;
    pthread_mutex_unlock(&done_lock);
    return ok;
}

static int done_count(void)
{
    pthread_mutex_lock(&done_lock);
    int n = n_done;
    pthread_mutex_unlock(&done_lock);
    return n;
}

/* Poll cond() every 10 ms for at most seconds. 1 when it held. */
static int wait_until(int (*cond)(void *), void *arg, int seconds)
{
    for (int i = 0; i < seconds * 100; i++) {
        if (cond(arg))
            return 1;
        usleep(10000);
    }
    return cond(arg);
}

static int queue_empty(void *arg)
{
    return ingest_depth(arg) == 0;
}

static void reset(void)
{
    pthread_mutex_lock(&done_lock);
    n_done = 0;
    pthread_mutex_unlock(&done_lock);
    gate(0);
    atomic_store(&fail_writes, 0);
}

/* ---- tests ---- */

TEST(setup)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&done_cv, &ca);
    pthread_condattr_destroy(&ca);
    ASSERT_OK(trail_catalog_new(&cat));
}

/*
 * Batches of several sizes from one submitter: each completes once, after
 * the store made it durable, in the order submitted, with consecutive seqs.
 */
TEST(batches_in_order_and_durable)
{
    reset();
    store = open_store();
    struct ingest *ig = NULL;
    ASSERT_OK(ingest_start(store, 1000, &ig));
    uint64_t stored_before = atomic_load(&metrics.store_events);
    enum { N = 40 };
    struct tbatch *t[N];
    int next = 0;
    for (int i = 0; i < N; i++) {
        size_t n = 1 + (size_t)(i % MAX_EVENTS);
        t[i] = make_batch(next, n, 0);
        next += (int)n;
        ASSERT_OK(ingest_submit(ig, &t[i]->b, 0));
    }
    ASSERT(wait_done(N, 30));
    uint64_t seq = 0;
    for (int i = 0; i < N; i++) {
        ASSERT_EQ(t[i]->calls, 1);
        ASSERT_EQ(t[i]->status, 0);
        ASSERT_EQ(t[i]->durable_at_done, 1);
        ASSERT_EQ(t[i]->order, i);
        for (size_t k = 0; k < t[i]->b.n; k++)
            ASSERT_EQ(trail_event_seq(t[i]->ev[k]), ++seq);
        ASSERT_EQ(t[i]->b.last_seq, seq);
    }
    /* the depth drops once the round's callbacks have run */
    ASSERT(wait_until(queue_empty, ig, 30));
    ASSERT_EQ(atomic_load(&metrics.store_events) - stored_before, next);
    ASSERT_EQ(ingest_drain(ig, 1000), 0);
    ingest_free(ig);
    /* the store holds them, in the order submitted */
    int64_t nums[N * MAX_EVENTS];
    ASSERT_EQ(stored_numbers(store, nums, N * MAX_EVENTS), next);
    for (int i = 0; i < next; i++)
        ASSERT_EQ(nums[i], i);
    for (int i = 0; i < N; i++)
        free_batch(t[i]);
    close_store(store);
}

/* Two submitters at once: each one's batches stay in its order, none is lost. */
struct submitter {
    struct ingest *ig;
    struct tbatch *t[50];
    int base, failed;
};

static void *submit_all(void *arg)
{
    struct submitter *s = arg;
    for (int i = 0; i < 50; i++) {
        s->t[i] = make_batch(s->base + i * 2, 2, 0);
        if (ingest_submit(s->ig, &s->t[i]->b, 1) < 0)
            s->failed++;
    }
    return NULL;
}

TEST(submitters_keep_their_order)
{
    reset();
    store = open_store();
    struct ingest *ig = NULL;
    ASSERT_OK(ingest_start(store, 64, &ig));
    struct submitter a = {.ig = ig, .base = 0}, b = {.ig = ig, .base = 100000};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, submit_all, &a);
    pthread_create(&tb, NULL, submit_all, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    ASSERT_EQ(a.failed + b.failed, 0);
    ASSERT(wait_done(100, 30));
    ASSERT_EQ(ingest_drain(ig, 1000), 0);
    ingest_free(ig);
    int64_t nums[200];
    ASSERT_EQ(stored_numbers(store, nums, 200), 200);
    int64_t last_a = -1, last_b = -1;
    for (int i = 0; i < 200; i++) {
        int64_t *last = nums[i] >= 100000 ? &last_b : &last_a;
        ASSERT(nums[i] > *last);
        *last = nums[i];
    }
    for (int i = 0; i < 50; i++) {
        ASSERT_EQ(a.t[i]->calls, 1);
        ASSERT_EQ(b.t[i]->calls, 1);
        free_batch(a.t[i]);
        free_batch(b.t[i]);
    }
    close_store(store);
}

/* ---- backpressure ---- */

static atomic_int room_calls;

static void on_room(void *arg)
{
    (void)arg;
    atomic_fetch_add(&room_calls, 1);
}

struct blocked_submit {
    struct ingest *ig;
    struct tbatch *t;
    atomic_int returned;
    int r;
};

static void *submit_blocking(void *arg)
{
    struct blocked_submit *bs = arg;
    bs->r = ingest_submit(bs->ig, &bs->t->b, 1);
    atomic_store(&bs->returned, 1);
    return NULL;
}

static int room_called(void *arg)
{
    (void)arg;
    return atomic_load(&room_calls) > 0;
}

/*
 * With the store's syncs held, nothing becomes durable and the queue fills:
 * a submit past the limit fails with -EAGAIN and leaves the batch the
 * caller's; a blocking one waits. Once the store syncs again, everything
 * completes, the waiting submit goes in, and the room callback is called.
 */
TEST(backpressure_when_full)
{
    reset();
    store = open_store();
    struct ingest *ig = NULL;
    ASSERT_OK(ingest_start(store, 10, &ig));
    atomic_store(&room_calls, 0);
    ingest_on_room(ig, on_room, NULL);
    gate(1);
    struct tbatch *t1 = make_batch(0, 6, 0), *t2 = make_batch(6, 4, 0), *t3 = make_batch(10, 1, 0),
                  *t4 = make_batch(11, 2, 0);
    ASSERT_OK(ingest_submit(ig, &t1->b, 0));
    ASSERT_OK(ingest_submit(ig, &t2->b, 0));
    ASSERT_EQ(ingest_depth(ig), 10);
    ASSERT_EQ(ingest_full(ig), 1);
    ASSERT_EQ(ingest_submit(ig, &t3->b, 0), -EAGAIN);
    ASSERT_EQ(t3->calls, 0);
    struct blocked_submit bs = {.ig = ig, .t = t4};
    pthread_t th;
    pthread_create(&th, NULL, submit_blocking, &bs);
    /* it cannot go in while the queue is full (a little time given for it to try) */
    usleep(100000);
    ASSERT_EQ(atomic_load(&bs.returned), 0);
    ASSERT_EQ(done_count(), 0);
    gate(0);
    pthread_join(th, NULL);
    ASSERT_EQ(bs.r, 0);
    ASSERT(wait_done(3, 30));
    ASSERT(wait_until(room_called, NULL, 30));
    ASSERT_EQ(t1->status, 0);
    ASSERT_EQ(t2->status, 0);
    ASSERT_EQ(t4->status, 0);
    ASSERT_EQ(t1->order, 0);
    ASSERT_EQ(t2->order, 1);
    ASSERT_EQ(t4->order, 2);
    ASSERT_EQ(ingest_full(ig), 0);
    /* the refused batch is the caller's: it can be submitted again, now that there is room */
    ASSERT_OK(ingest_submit(ig, &t3->b, 0));
    ASSERT(wait_done(4, 30));
    ASSERT_EQ(t3->calls, 1);
    ASSERT_EQ(t3->b.last_seq, 13);
    ingest_off_room(ig, on_room, NULL);
    ASSERT_EQ(ingest_drain(ig, 1000), 0);
    ingest_free(ig);
    free_batch(t1);
    free_batch(t2);
    free_batch(t3);
    free_batch(t4);
    close_store(store);
}

/* ---- a failing store ---- */

static int store_failing(void *arg)
{
    return ingest_store_error(arg) == -ENOSPC;
}

static int store_recovered(void *arg)
{
    return ingest_store_error(arg) == 0;
}

/*
 * The disk fills: a batch marked retry is held and appended again once the
 * store accepts writes, and stored once; a batch not marked retry completes
 * with the error (its sender is told). Nothing overtakes the held batch.
 */
TEST(store_error_and_retry)
{
    reset();
    store = open_store();
    struct ingest *ig = NULL;
    ASSERT_OK(ingest_start(store, 1000, &ig));
    struct tbatch *ok = make_batch(0, 2, 0);
    ASSERT_OK(ingest_submit(ig, &ok->b, 0));
    ASSERT(wait_done(1, 30));
    uint64_t errors_before = atomic_load(&metrics.store_errors);
    capture_stderr_begin();
    atomic_store(&fail_writes, 1);
    struct tbatch *held = make_batch(2, 3, 1), *told = make_batch(100, 1, 0);
    int r1 = ingest_submit(ig, &held->b, 0);
    int failing = wait_until(store_failing, ig, 30);
    /* not marked retry: refused now, or completed with the error */
    int r2 = ingest_submit(ig, &told->b, 0);
    int told_done = r2 == 0 ? wait_done(3, 30) : 1;
    pthread_mutex_lock(&done_lock); /* the writer may be completing batches */
    int held_calls = held->calls;
    pthread_mutex_unlock(&done_lock);
    atomic_store(&fail_writes, 0);
    int recovered = wait_until(store_recovered, ig, 30);
    int all_done = wait_done(r2 == 0 ? 3 : 2, 30);
    char *log = capture_stderr_end();
    ASSERT_OK(r1);
    ASSERT(failing);
    ASSERT(told_done);
    ASSERT(recovered);
    ASSERT(all_done);
    if (r2 == 0) {
        ASSERT_EQ(told->calls, 1);
        ASSERT_EQ(told->status, -ENOSPC);
    } else {
        ASSERT_EQ(r2, -ENOSPC);
        ASSERT_EQ(told->calls, 0);
    }
    ASSERT_EQ(held_calls, 0); /* no answer while the store failed */
    ASSERT_EQ(held->calls, 1);
    ASSERT_EQ(held->status, 0);
    ASSERT(atomic_load(&metrics.store_errors) > errors_before);
    ASSERT(count_of(log, "holding the events and trying again") >= 1);
    ASSERT_EQ(count_of(log, "the store accepts writes again"), 1);
    free(log);
    /* and after it, in order, once each */
    struct tbatch *after = make_batch(5, 1, 0);
    ASSERT_OK(ingest_submit(ig, &after->b, 0));
    ASSERT(wait_done(r2 == 0 ? 4 : 3, 30));
    ASSERT_EQ(after->status, 0);
    ASSERT_EQ(ingest_drain(ig, 1000), 0);
    ingest_free(ig);
    int64_t nums[16];
    ASSERT_EQ(stored_numbers(store, nums, 16), 6);
    for (int i = 0; i < 6; i++)
        ASSERT_EQ(nums[i], i);
    free_batch(ok);
    free_batch(held);
    free_batch(told);
    free_batch(after);
    close_store(store);
}

/* ---- stopping ---- */

struct drainer {
    struct ingest *ig;
    uint32_t give_up_ms;
    uint64_t lost;
    atomic_int returned;
};

static void *drain_thread(void *arg)
{
    struct drainer *d = arg;
    d->lost = ingest_drain(d->ig, d->give_up_ms);
    atomic_store(&d->returned, 1);
    return NULL;
}

static int drain_returned(void *arg)
{
    return atomic_load(&((struct drainer *)arg)->returned);
}

/*
 * Draining refuses new batches at once and completes every batch already
 * submitted before it returns, even those still waiting for their sync.
 */
TEST(drain_completes_what_was_submitted)
{
    reset();
    store = open_store();
    struct ingest *ig = NULL;
    ASSERT_OK(ingest_start(store, 1000, &ig));
    gate(1);
    struct tbatch *t[5];
    for (int i = 0; i < 5; i++) {
        t[i] = make_batch(i * 2, 2, i % 2);
        ASSERT_OK(ingest_submit(ig, &t[i]->b, 0));
    }
    struct drainer d = {.ig = ig, .give_up_ms = 10000};
    pthread_t th;
    pthread_create(&th, NULL, drain_thread, &d);
    /*
     * No new work once draining. A submit made before the drain began goes
     * in and completes like the others; the first one after it is refused.
     */
    enum { MAX_LATE = 500 };
    struct tbatch *late[MAX_LATE + 1];
    int n_late = 0, r;
    for (;;) {
        late[n_late] = make_batch(100 + n_late, 1, 0);
        if ((r = ingest_submit(ig, &late[n_late]->b, 0)) != 0 || n_late == MAX_LATE)
            break;
        n_late++;
        usleep(10000);
    }
    ASSERT_EQ(r, TRAIL_E_CLOSED);
    ASSERT_EQ(done_count(), 0); /* nothing is durable while the syncs are held */
    gate(0);
    pthread_join(th, NULL);
    for (int i = 0; i < n_late; i++) {
        ASSERT_EQ(late[i]->calls, 1);
        ASSERT_EQ(late[i]->status, 0);
    }
    ASSERT_EQ(late[n_late]->calls, 0);
    for (int i = 0; i <= n_late; i++)
        free_batch(late[i]);
    ASSERT_EQ(d.lost, 0);
    for (int i = 0; i < 5; i++) {
        ASSERT_EQ(t[i]->calls, 1);
        ASSERT_EQ(t[i]->status, 0);
        ASSERT_EQ(t[i]->durable_at_done, 1);
    }
    ingest_free(ig);
    for (int i = 0; i < 5; i++)
        free_batch(t[i]);
    close_store(store);
}

/*
 * A store that stays broken at stop: the batches marked retry are tried
 * until give_up_ms, then completed with the error and counted as lost.
 */
TEST(drain_gives_up_on_a_broken_store)
{
    reset();
    store = open_store();
    struct ingest *ig = NULL;
    ASSERT_OK(ingest_start(store, 1000, &ig));
    capture_stderr_begin();
    atomic_store(&fail_writes, 1);
    struct tbatch *t = make_batch(0, 3, 1);
    int r = ingest_submit(ig, &t->b, 0);
    int failing = wait_until(store_failing, ig, 30);
    struct drainer d = {.ig = ig, .give_up_ms = 200};
    pthread_t th;
    pthread_create(&th, NULL, drain_thread, &d);
    int returned = wait_until(drain_returned, &d, 30);
    pthread_join(th, NULL);
    char *log = capture_stderr_end();
    free(log);
    ASSERT_OK(r);
    ASSERT(failing);
    ASSERT(returned);
    ASSERT_EQ(d.lost, 3);
    ASSERT_EQ(t->calls, 1);
    ASSERT_EQ(t->status, -ENOSPC);
    ingest_free(ig);
    atomic_store(&fail_writes, 0);
    free_batch(t);
    close_store(store);
}

/* ingest_write, the blocking call for traild's own events. */
TEST(write_blocks_until_durable)
{
    reset();
    store = open_store();
    struct ingest *ig = NULL;
    ASSERT_OK(ingest_start(store, 1000, &ig));
    struct tbatch *t = make_batch(0, 4, 0);
    ASSERT_OK(ingest_write(ig, t->ev, 4, IN_INTERNAL));
    ASSERT(trail_store_durable_seq(store) >= 4);
    ASSERT_EQ(trail_event_seq(t->ev[3]), 4);
    ASSERT_EQ(ingest_drain(ig, 1000), 0);
    ASSERT_EQ(ingest_write(ig, t->ev, 1, IN_INTERNAL), TRAIL_E_CLOSED);
    ingest_free(ig);
    free_batch(t);
    close_store(store);
}

TEST(cleanup)
{
    trail_catalog_free(cat);
}

TEST_MAIN(setup, batches_in_order_and_durable, submitters_keep_their_order, backpressure_when_full,
          store_error_and_retry, drain_completes_what_was_submitted,
          drain_gives_up_on_a_broken_store, write_blocks_until_durable, cleanup)
