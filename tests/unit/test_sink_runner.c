/*
 * test_sink_runner.c - traild's sink runner (daemon/sinks/sink.c) against a
 * fake sink: a sink_ops table of this file's own whose peer is an array.
 * Over a real store in a temporary directory, without a daemon: delivery
 * in seq order from the durable cursor (also across a restart), at least
 * once after a failing flush or open, the cursor saved only after a flush
 * succeeded, the filters, the lag and error metrics, and the wait at a
 * damaged run of the store until an operator's skip file.
 *
 * Linked against traild's sinks and core parts (traild_sinks, traild_core),
 * as traild is; the runner reads the catalog and host from traild's config
 * in force (traild.cfg), which the test sets. Every wait has a deadline;
 * nothing asserts how long anything took.
 *
 * Not here: the real plug-ins and their peers (tests/integration/sink_*.sh).
 */
#include "core/traild.h"
#include "sinks/sink.h"

#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static struct trail_catalog *cat;
static struct config cfg;

/* An event's number is its time, in µs after this fixed instant: nothing follows the clock. */
#define T0 1764000000000000LL

/* ---- the fake sink: its peer is delivered[] ---- */

#define MAX_ITEMS 4096

static pthread_mutex_t fk_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int fail_opens;   /* opens still to fail */
    int fail_flushes; /* flushes still to fail */
    int opens, flushes_failed;
    uint64_t written;              /* items handed to write(), resent ones included */
    uint64_t delivered[MAX_ITEMS]; /* seqs the peer has, in the order it got them */
    int64_t numbers[MAX_ITEMS];    /* their events' numbers */
    size_t n_delivered;
    uint64_t acked;   /* the last seq a flush succeeded for (or the cursor at start) */
    int cursor_ahead; /* a flush found the cursor file past acked */
    char cursor_path[128];
} fk;

struct fk_state {
    uint64_t seqs[MAX_ITEMS];
    int64_t numbers[MAX_ITEMS];
    size_t n;
};

static int fk_open(const struct sink_conf *conf, void **ret_state, char *err, size_t errlen)
{
    (void)conf;
    pthread_mutex_lock(&fk_lock);
    int fail = fk.fail_opens > 0;
    if (fail)
        fk.fail_opens--;
    else
        fk.opens++;
    pthread_mutex_unlock(&fk_lock);
    if (fail) {
        snprintf(err, errlen, "connection refused (the fake peer is down)");
        return -ECONNREFUSED;
    }
    struct fk_state *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    *ret_state = st;
    return 0;
}

static int fk_write(void *state, const struct sink_item *item, char *err, size_t errlen)
{
    struct fk_state *st = state;
    (void)err, (void)errlen;
    if (!item->ev || st->n == MAX_ITEMS)
        return -EINVAL;
    st->seqs[st->n] = item->seq;
    st->numbers[st->n] = trail_event_time(item->ev) - T0;
    st->n++;
    pthread_mutex_lock(&fk_lock);
    fk.written++;
    pthread_mutex_unlock(&fk_lock);
    return 0;
}

static int fk_flush(void *state, char *err, size_t errlen)
{
    struct fk_state *st = state;
    struct trail_sink_cursor c;
    pthread_mutex_lock(&fk_lock);
    /* the cursor on disk never names a seq the peer has not acknowledged */
    if (trail_sink_cursor_read(fk.cursor_path, &c) == 0 && c.seq > fk.acked)
        fk.cursor_ahead++;
    if (fk.fail_flushes > 0) {
        fk.fail_flushes--;
        fk.flushes_failed++;
        pthread_mutex_unlock(&fk_lock);
        st->n = 0; /* the batch is lost on the way */
        snprintf(err, errlen, "the fake peer went away");
        return -EPIPE;
    }
    for (size_t i = 0; i < st->n && fk.n_delivered < MAX_ITEMS; i++) {
        fk.delivered[fk.n_delivered] = st->seqs[i];
        fk.numbers[fk.n_delivered] = st->numbers[i];
        fk.n_delivered++;
    }
    if (st->n)
        fk.acked = st->seqs[st->n - 1];
    pthread_mutex_unlock(&fk_lock);
    st->n = 0;
    return 0;
}

static void fk_close(void *state)
{
    free(state);
}

static const struct sink_ops fake_ops = {
    .name = "fake", .open = fk_open, .write = fk_write, .flush = fk_flush, .close = fk_close};

static void fk_reset(void)
{
    pthread_mutex_lock(&fk_lock);
    char path[sizeof(fk.cursor_path)];
    memcpy(path, fk.cursor_path, sizeof(path));
    memset(&fk, 0, sizeof(fk));
    memcpy(fk.cursor_path, path, sizeof(path));
    pthread_mutex_unlock(&fk_lock);
}

static size_t fk_delivered(void)
{
    pthread_mutex_lock(&fk_lock);
    size_t n = fk.n_delivered;
    pthread_mutex_unlock(&fk_lock);
    return n;
}

/* ---- the store ---- */

static char dir[64];
static struct trail_store *store;

static void open_store(const struct trail_store_opts *extra)
{
    struct trail_store_opts o = {.create = 1, .fsync_policy = TRAIL_FSYNC_ALWAYS};
    if (extra)
        o = *extra;
    int r = trail_store_open(dir, cat, &o, &store, NULL);
    if (r < 0) {
        fprintf(stderr, "cannot open the store %s: %s\n", dir, trail_strerror(r));
        abort();
    }
    traild.store = store;
    traild.opened_last_seq = trail_store_last_seq(store);
}

static void new_store(const struct trail_store_opts *extra)
{
    strcpy(dir, "/tmp/trail-test-sinks-XXXXXX");
    if (!mkdtemp(dir))
        abort();
    snprintf(fk.cursor_path, sizeof(fk.cursor_path), "%s/sinks/fake.cursor", dir);
    open_store(extra);
}

static void remove_store(void)
{
    char cmd[128];
    trail_store_close(store);
    store = NULL;
    traild.store = NULL;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        abort();
}

/* Append events numbered first..first+n-1 (ids alternate between two) and wait until durable. */
static void append(int first, int n)
{
    static const char *const ids[] = {"auth_entrypoints_saml_auth_started",
                                      "auth_entrypoints_oidc_logout"};
    for (int i = first; i < first + n; i++) {
        struct trail_event *ev;
        uint64_t seq;
        if (trail_event_new(cat, ids[i % 2], &ev) < 0)
            abort();
        trail_event_set_host(ev, "idp-node1", (size_t)-1);
        trail_event_set_string(ev, "duser", "alice@example.org", (size_t)-1);
        trail_event_set_time(ev, T0 + i);
        if (trail_store_append(store, &ev, 1, &seq) < 0 || trail_store_wait(store, seq) < 0)
            abort();
        trail_event_free(ev);
    }
}

/* ---- the runner ---- */

static struct sink_conf conf;

static void conf_init(void)
{
    sinks_stop(); /* a test that failed half way left its sink running */
    free(conf.events);
    memset(&conf, 0, sizeof(conf));
    conf.name = "fake";
    conf.ops = &fake_ops;
    conf.batch_events = 4;
    conf.retry_min_ms = 10; /* retries come quickly: the test waits for them */
    conf.retry_max_ms = 40;
}

static int start(void)
{
    char err[512] = "";
    int r = sinks_start(&conf, 1, store, dir, err, sizeof(err));
    if (r < 0)
        fprintf(stderr, "  sinks_start: %s\n", err);
    return r;
}

/* Poll every 10 ms, for at most seconds, until the peer has n items. 1 when it has. */
static int wait_delivered(size_t n, int seconds)
{
    for (int i = 0; i < seconds * 100 && fk_delivered() < n; i++)
        usleep(10000);
    return fk_delivered() >= n;
}

/* The value of metric NAME for the fake sink, from sinks_metrics(); -1 when absent. */
static long long metric(const char *name)
{
    struct trail_buf out = {0};
    char key[160];
    long long v = -1;
    snprintf(key, sizeof(key), "%s{sink=\"fake\",type=\"fake\"} ", name);
    if (sinks_metrics(&out) == 0 && out.data) {
        const char *p = memmem(out.data, out.len, key, strlen(key));
        if (p)
            v = strtoll(p + strlen(key), NULL, 10);
    }
    trail_buf_free(&out);
    return v;
}

static int wait_metric(const char *name, long long want, int seconds)
{
    for (int i = 0; i < seconds * 100 && metric(name) != want; i++)
        usleep(10000);
    return metric(name) == want;
}

static int wait_metric_at_least(const char *name, long long want, int seconds)
{
    for (int i = 0; i < seconds * 100 && metric(name) < want; i++)
        usleep(10000);
    return metric(name) >= want;
}

static uint64_t cursor_on_disk(void)
{
    struct trail_sink_cursor c = {0};
    return trail_sink_cursor_read(fk.cursor_path, &c) == 0 ? c.seq : (uint64_t)-1;
}

/* ---- tests ---- */

TEST(setup)
{
    ASSERT_OK(trail_catalog_new(&cat));
    cfg.cat = cat;
    cfg.host = "trail-test";
    atomic_store(&traild.cfg, &cfg);
}

/*
 * Every durable event reaches the peer once, in seq order, in batches of
 * batch_events; the cursor follows; a restart goes on from the cursor.
 */
TEST(delivers_in_order_from_the_cursor)
{
    fk_reset();
    conf_init();
    new_store(NULL);
    append(0, 10);
    ASSERT_OK(start());
    ASSERT(wait_delivered(10, 30));
    append(10, 5); /* while it runs */
    ASSERT(wait_delivered(15, 30));
    ASSERT(wait_metric("trail_sink_cursor_seq", 15, 30));
    sinks_stop();
    ASSERT_EQ(fk.n_delivered, 15);
    for (size_t i = 0; i < 15; i++) {
        ASSERT_EQ(fk.delivered[i], i + 1);
        ASSERT_EQ(fk.numbers[i], (int64_t)i);
    }
    ASSERT_EQ(cursor_on_disk(), 15);
    ASSERT_EQ(fk.cursor_ahead, 0);
    /* traild stops and starts again: the sink goes on after seq 15, nothing twice */
    trail_store_close(store);
    open_store(NULL);
    fk_reset();
    fk.acked = 15;
    append(15, 3);
    ASSERT_OK(start());
    ASSERT(wait_delivered(3, 30));
    ASSERT(wait_metric("trail_sink_cursor_seq", 18, 30));
    sinks_stop();
    ASSERT_EQ(fk.n_delivered, 3);
    ASSERT_EQ(fk.delivered[0], 16);
    ASSERT_EQ(fk.delivered[2], 18);
    remove_store();
}

/*
 * A flush fails: the batch is sent again (at least once), in order, and the
 * cursor never moved for it; the peer ends up with every seq, and no seq
 * before the failure twice.
 */
TEST(at_least_once_after_a_failing_flush)
{
    fk_reset();
    conf_init();
    new_store(NULL);
    append(0, 4);
    ASSERT_OK(start());
    ASSERT(wait_delivered(4, 30));
    ASSERT(wait_metric("trail_sink_cursor_seq", 4, 30));
    pthread_mutex_lock(&fk_lock);
    fk.fail_flushes = 2;
    pthread_mutex_unlock(&fk_lock);
    append(4, 6);
    ASSERT(wait_delivered(10, 30));
    ASSERT(wait_metric("trail_sink_cursor_seq", 10, 30));
    ASSERT(metric("trail_sink_errors_total") >= 2);
    ASSERT_EQ(metric("trail_sink_up"), 1);
    sinks_stop();
    ASSERT_EQ(fk.flushes_failed, 2);
    ASSERT_EQ(fk.n_delivered, 10);
    for (size_t i = 0; i < 10; i++)
        ASSERT_EQ(fk.delivered[i], i + 1);
    ASSERT(fk.written > 10); /* what was lost was written again */
    ASSERT(fk.opens >= 3);   /* closed and opened again after each failure */
    ASSERT_EQ(fk.cursor_ahead, 0);
    ASSERT_EQ(cursor_on_disk(), 10);
    /* the last failure is kept beside the cursor for `trail sinks` */
    char path[128];
    snprintf(path, sizeof(path), "%s/sinks/fake.error", dir);
    ASSERT_EQ(access(path, R_OK), 0);
    remove_store();
}

/*
 * The peer is down: the sink retries, reports itself down, and its lag
 * grows with the store; once the peer is back it catches up and the lag is 0.
 */
TEST(lag_while_the_peer_is_down)
{
    fk_reset();
    conf_init();
    new_store(NULL);
    append(0, 3);
    pthread_mutex_lock(&fk_lock);
    fk.fail_opens = 1000000;
    pthread_mutex_unlock(&fk_lock);
    ASSERT_OK(start());
    ASSERT(wait_metric("trail_sink_lag_events", 3, 30));
    append(3, 4);
    ASSERT(wait_metric("trail_sink_lag_events", 7, 30));
    ASSERT_EQ(metric("trail_sink_up"), 0);
    ASSERT_EQ(metric("trail_sink_delivered_total"), 0);
    ASSERT_EQ(metric("trail_sink_cursor_seq"), 0);
    ASSERT(wait_metric_at_least("trail_sink_errors_total", 1, 30));
    ASSERT_EQ(cursor_on_disk(), 0);
    pthread_mutex_lock(&fk_lock);
    fk.fail_opens = 0;
    pthread_mutex_unlock(&fk_lock);
    ASSERT(wait_metric("trail_sink_lag_events", 0, 30));
    ASSERT_EQ(metric("trail_sink_up"), 1);
    ASSERT(wait_metric("trail_sink_delivered_total", 7, 30));
    sinks_stop();
    ASSERT_EQ(fk.n_delivered, 7);
    ASSERT_EQ(fk.cursor_ahead, 0);
    remove_store();
}

/*
 * Filtered events are not sent, yet the cursor passes them and they are
 * counted (the cursor may then lie past the last seq sent: fk.cursor_ahead
 * is not asserted here).
 */
TEST(filters_move_the_cursor)
{
    fk_reset();
    conf_init();
    new_store(NULL);
    static char glob[] = "*_oidc_*";
    char *events[] = {glob};
    conf.events = malloc(sizeof(events));
    memcpy(conf.events, events, sizeof(events));
    conf.n_events = 1;
    append(0, 10); /* odd numbers are the oidc ones */
    ASSERT_OK(start());
    ASSERT(wait_metric("trail_sink_cursor_seq", 10, 30));
    /* the counters follow the cursor */
    ASSERT(wait_metric("trail_sink_filtered_total", 5, 30));
    ASSERT(wait_metric("trail_sink_delivered_total", 5, 30));
    ASSERT_EQ(metric("trail_sink_lag_events"), 0);
    sinks_stop();
    ASSERT_EQ(fk.n_delivered, 5);
    for (size_t i = 0; i < 5; i++)
        ASSERT_EQ(fk.numbers[i], 2 * (int64_t)i + 1);
    remove_store();
}

/* The first seq of the store's second sealed segment (from its name), which gets damaged. */
static uint64_t damage_second_segment(void)
{
    char cmd[200], name[128];
    snprintf(cmd, sizeof(cmd), "ls %s | grep '^seg-.*\\.seg$' | sort | sed -n 2p", dir);
    FILE *p = popen(cmd, "r");
    if (!p || !fgets(name, sizeof(name), p))
        abort();
    pclose(p);
    name[strcspn(name, "\n")] = '\0';
    uint64_t first = strtoull(name + 4, NULL, 16);
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_RDWR);
    /* one byte of its first block (the header is 124 bytes): the block fails its CRC-32C */
    uint8_t b;
    if (fd < 0 || pread(fd, &b, 1, 200) != 1)
        abort();
    b ^= 0x55;
    if (pwrite(fd, &b, 1, 200) != 1)
        abort();
    close(fd);
    return first;
}

/*
 * A sealed segment of the store is damaged: the sink delivers what comes
 * before it, then waits there, reporting itself blocked, until an operator's
 * skip file (`trail sinks skip`) says how far to go; then it skips the run,
 * counts it, and delivers the rest.
 */
TEST(waits_at_damage_until_skipped)
{
    fk_reset();
    conf_init();
    struct trail_store_opts small = {
        .create = 1, .fsync_policy = TRAIL_FSYNC_ALWAYS, .segment_max_bytes = 4096};
    new_store(&small);
    append(0, 120);
    struct trail_store_stats st = {0};
    for (int i = 0; i < 3000 && st.sealed_segments < 3; i++) {
        trail_store_stats(store, &st);
        usleep(10000);
    }
    ASSERT(st.sealed_segments >= 3);
    trail_store_close(store);
    uint64_t first = damage_second_segment();
    struct trail_store_opts damaged = {
        .fsync_policy = TRAIL_FSYNC_ALWAYS, .allow_damaged = 1, .segment_max_bytes = 4096};
    open_store(&damaged);
    ASSERT_OK(start());
    /* the sink's reader finds the damage */
    ASSERT(wait_metric("trail_sink_blocked_by_damage", 1, 30));
    struct trail_store_damage d;
    ASSERT_EQ(trail_store_damage_at(store, first, &d), 1);
    ASSERT_EQ(d.first_seq, first);
    ASSERT(d.last_seq < 120);
    ASSERT(wait_delivered(first - 1, 30));
    ASSERT_EQ(metric("trail_sink_cursor_seq"), (long long)first - 1);
    ASSERT_EQ(fk_delivered(), first - 1);
    /* what `trail sinks skip fake --to LAST` writes */
    char path[128], text[64];
    snprintf(path, sizeof(path), "%s/sinks/fake.skip", dir);
    snprintf(text, sizeof(text), "trail-sink-skip/1\nto %" PRIu64 "\n", d.last_seq);
    ASSERT_OK(trail_file_replace(path, text, strlen(text), 0640));
    ASSERT(wait_metric("trail_sink_cursor_seq", 120, 30));
    ASSERT(wait_metric("trail_sink_blocked_by_damage", 0, 30));
    ASSERT_EQ(metric("trail_sink_purged_undelivered_total"), (long long)(d.last_seq - first + 1));
    sinks_stop();
    /* every seq but the damaged run, in order, once */
    ASSERT_EQ(fk.n_delivered, 120 - (d.last_seq - first + 1));
    for (size_t i = 0; i < fk.n_delivered; i++) {
        uint64_t want = i + 1 < first ? i + 1 : i + 1 + (d.last_seq - first + 1);
        ASSERT_EQ(fk.delivered[i], want);
    }
    ASSERT_EQ(access(path, F_OK), -1); /* the skip file is used up */
    remove_store();
}

TEST(cleanup)
{
    free(conf.events);
    atomic_store(&traild.cfg, NULL);
    trail_catalog_free(cat);
}

TEST_MAIN(setup, delivers_in_order_from_the_cursor, at_least_once_after_a_failing_flush,
          lag_while_the_peer_is_down, filters_move_the_cursor, waits_at_damage_until_skipped,
          cleanup)
