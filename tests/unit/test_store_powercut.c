/*
 * test_store_powercut.c - cut the power under a writing store hundreds of
 * times, and check that every acknowledged record survives, once, in order,
 * and that the store recovers, verifies and takes appends again.
 *
 * A kill -9 (test_store_crash.c) cannot tell fdatasync from the page cache;
 * this test can. tests/tools/powercut_shim.c records every file operation of
 * the store (creates, writes, truncations, syncs, renames, unlinks, directory
 * syncs) under its directory, and writes out, for any point of that record,
 * the tree a power cut there could leave: file data only as of its last
 * sync, directory entries only as of their directory's last sync, and in
 * "lossy" rounds a random part of what was not synced too (pages in any
 * order, a prefix of the directory changes). The shim's header says what is
 * assumed and what is not simulated.
 *
 * A trace: open the store (recovering what the last cut left; the recovery
 * is traced too, so cuts land in it), append batches with fsync = always
 * (traild's `fsync = always`; every third trace `interval`, the default,
 * which acknowledges after the same fdatasync), wait for each and note, with the trace's
 * position, the seq acknowledged; signed checkpoints every 64 records and
 * now and then on demand, noting their size too (a lineage's first trace
 * has no key, so that the next one starts signing an existing store);
 * segments of 8 KiB, so that rolls, sealing (rename, unlink, indexes) and
 * checkpoints happen throughout; close. Then each round picks a random cut in
 * the trace, writes the post-cut tree to a fresh directory and checks it:
 * it opens as a writer (recovery); the latest checkpoint is at least the
 * largest handed out before the cut; seqs run 1..last without a gap; every
 * record is the event appended at that seq (by this trace or an earlier one
 * of the same lineage), so none is there twice or out of place; last is at
 * least the highest seq acknowledged before the cut; three appends after it
 * are durable with the next seqs; trail_verify_store() with the signing key
 * finds no damage. One cut of each trace is where the next trace starts;
 * every tenth trace starts from nothing.
 *
 * TRAIL_POWERCUT_ROUNDS sets the number of cuts (300), TRAIL_POWERCUT_SEED
 * the seed (printed on every run; it repeats every choice, while the order in
 * which the store's flusher and sealer threads interleave can still vary),
 * TRAIL_POWERCUT_MODE=synced or lossy makes every cut of that kind.
 */
#include "harness.h"
#include "powercut_shim.h"
#include "store/store.h"

#include <errno.h>
#include <ftw.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CUTS_PER_TRACE  10
#define TRACES_PER_LINE 10
#define AFTER_TRACE     0xffffffffu /* the events a check appends after recovery */

static struct trail_catalog *cat;
static struct trail_key *key;
static char top[64];

/* Which trace appended each seq of the current lineage (index seq). */
static uint32_t *hist;
static size_t cap_hist;

static uint64_t rnd(uint64_t *st)
{
    uint64_t z = (*st += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_tree(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static struct trail_event *make_event(uint32_t trace, uint64_t seq)
{
    struct trail_event *ev;
    if (trail_event_new(cat, seq % 2 ? "auth_entrypoints_saml_auth_started" : "prism_user_locked",
                        &ev) < 0)
        return NULL;
    char buf[64];
    snprintf(buf, sizeof(buf), "#pc%u-%llu", trace, (unsigned long long)seq);
    trail_event_set_string(ev, "phxTraceId", buf, (size_t)-1);
    snprintf(buf, sizeof(buf), "user%llu", (unsigned long long)(seq % 1013));
    trail_event_set_string(ev, "duser", buf, (size_t)-1);
    trail_event_set_int(ev, "n", (int64_t)seq);
    trail_event_set_time(ev, 1764000000000000LL + (int64_t)seq);
    return ev;
}

static void hist_set(uint64_t seq, uint32_t trace)
{
    if (seq >= cap_hist) {
        size_t cap = cap_hist ? cap_hist * 2 : 4096;
        while (cap <= seq)
            cap *= 2;
        hist = realloc(hist, cap * sizeof(*hist));
        if (!hist)
            abort();
        cap_hist = cap;
    }
    hist[seq] = trace;
}

/* signing 0: no key (a store that starts signing later creates DIR/checkpoints then) */
static struct trail_store_opts store_opts(int signing, int policy)
{
    return (struct trail_store_opts){.create = 1,
                                     .fsync_policy = policy,
                                     .fsync_interval_ms = 2,
                                     .segment_max_bytes = 8 << 10,
                                     .block_bytes = 2 << 10,
                                     .zstd_level = 1,
                                     .checkpoint_key = signing ? key : NULL,
                                     .checkpoint_every_events = 64};
}

/* Append n events of trace at the store's next seqs and wait: 0 or an error. */
static int append_wait(struct trail_store *s, uint32_t trace, int n, uint64_t *ret_last)
{
    struct trail_event *evs[64];
    uint64_t next = trail_store_last_seq(s) + 1, last = 0;
    for (int i = 0; i < n; i++)
        if (!(evs[i] = make_event(trace, next + (uint64_t)i)))
            return -ENOMEM;
    int r = trail_store_append(s, evs, (size_t)n, &last);
    for (int i = 0; i < n; i++)
        trail_event_free(evs[i]);
    if (r == 0 && last != next + (uint64_t)n - 1)
        r = -EINVAL;
    if (r == 0)
        r = trail_store_wait(s, last);
    *ret_last = last;
    return r;
}

struct ack {
    uint64_t ops;     /* the trace's length when the wait returned */
    uint64_t seq;     /* acknowledged up to here */
    uint64_t cp_size; /* a checkpoint of this tree size was handed out (0: none) */
};

struct trace {
    uint32_t id;
    uint64_t must_have; /* acknowledged before the trace began */
    uint64_t must_cp;   /* the largest checkpoint handed out before it began */
    int signing;        /* with the key (all but a lineage's first trace) */
    int policy;         /* fsync: ALWAYS, every third trace INTERVAL */
    uint64_t n_ops;
    struct ack acks[128];
    int n_acks;
};

/* Run one trace on dir (the lineage's last post-cut tree, or empty). */
static int run_trace(const char *dir, struct trace *t, uint64_t *rs, char *why, size_t why_size)
{
    struct trail_store_opts o = store_opts(t->signing, t->policy);
    struct trail_store *s;
    struct trail_store_report rep;
    int r = pc_begin(dir);
    if (r < 0) {
        snprintf(why, why_size, "pc_begin: %s", strerror(-r));
        return r;
    }
    r = trail_store_open(dir, cat, &o, &s, &rep);
    if (r < 0) {
        pc_end();
        snprintf(why, why_size, "open: %s\n%s", trail_strerror(r), rep.message);
        return r;
    }
    uint64_t base = trail_store_last_seq(s);
    if (base < t->must_have) {
        trail_store_close(s);
        pc_end();
        snprintf(why, why_size, "recovered %llu records, %llu were acknowledged",
                 (unsigned long long)base, (unsigned long long)t->must_have);
        return -EINVAL;
    }
    int batches = 5 + (int)(rnd(rs) % 20);
    for (int b = 0; b < batches && r == 0; b++) {
        int n = 1 + (int)(rnd(rs) % 40);
        uint64_t last;
        uint64_t first = trail_store_last_seq(s) + 1;
        for (uint64_t q = first; q < first + (uint64_t)n; q++)
            hist_set(q, t->id);
        r = append_wait(s, t->id, n, &last);
        if (r < 0) {
            snprintf(why, why_size, "append: %s", trail_strerror(r));
            break;
        }
        t->acks[t->n_acks++] = (struct ack){pc_ops(), last, 0};
        if (t->signing && rnd(rs) % 8 == 0) {
            struct trail_checkpoint cp;
            r = trail_store_checkpoint_now(s, &cp);
            if (r < 0)
                snprintf(why, why_size, "checkpoint: %s", trail_strerror(r));
            else
                t->acks[t->n_acks++] = (struct ack){pc_ops(), last, cp.tree_size};
        }
    }
    int rc = trail_store_close(s);
    pc_end();
    if (r == 0 && rc < 0) {
        snprintf(why, why_size, "close: %s", trail_strerror(rc));
        r = rc;
    }
    t->n_ops = pc_ops();
    return r;
}

/* The highest seq acknowledged before the first cut operations of t. */
static uint64_t acked_at(const struct trace *t, uint64_t cut)
{
    uint64_t a = t->must_have;
    for (int i = 0; i < t->n_acks; i++)
        if (t->acks[i].ops <= cut && t->acks[i].seq > a)
            a = t->acks[i].seq;
    return a;
}

/* The largest checkpoint handed out before the first cut operations of t. */
static uint64_t cp_at(const struct trace *t, uint64_t cut)
{
    uint64_t a = t->must_cp;
    for (int i = 0; i < t->n_acks; i++)
        if (t->acks[i].ops <= cut && t->acks[i].cp_size > a)
            a = t->acks[i].cp_size;
    return a;
}

/* Check the post-cut tree in dir: recovery, content, appends after, verify. */
static int check_cut(const char *dir, uint64_t acked, uint64_t cp_size, char *why, size_t why_size,
                     uint64_t *ret_records, struct trail_store_report *rep)
{
    struct trail_store_opts o = store_opts(1, TRAIL_FSYNC_ALWAYS);
    o.no_seal = 1; /* the traces seal; here sealing would only wait for idle CPU */
    struct trail_store *s;
    int r = trail_store_open(dir, cat, &o, &s, rep);
    if (r < 0) {
        snprintf(why, why_size, "recovery failed: %s\n%s", trail_strerror(r), rep->message);
        return -1;
    }
    uint64_t last = trail_store_last_seq(s);
    *ret_records = last;
    struct trail_checkpoint cp = {0};
    if (cp_size && (trail_store_checkpoint_latest(s, &cp) < 0 || cp.tree_size < cp_size)) {
        trail_store_close(s);
        snprintf(why, why_size,
                 "a checkpoint of size %llu was handed out; the latest now: %llu\n%s",
                 (unsigned long long)cp_size, (unsigned long long)cp.tree_size, rep->message);
        return -1;
    }
    if (last < acked) {
        trail_store_close(s);
        snprintf(why, why_size, "%llu acknowledged, %llu recovered\n%s", (unsigned long long)acked,
                 (unsigned long long)last, rep->message);
        return -1;
    }
    struct trail_store_iter *it;
    struct trail_event *ev;
    if (trail_store_iter_new(s, TRAIL_ITER_FORWARD, &it) < 0 || trail_event_new(cat, "x", &ev) < 0)
        abort();
    uint64_t expect = 1;
    int bad = 0;
    while (!bad && (r = trail_store_iter_next(it, ev)) == 1) {
        uint64_t seq = trail_event_seq(ev);
        struct trail_value n, tid;
        char want[64];
        snprintf(want, sizeof(want), "#pc%u-%llu", seq < cap_hist ? hist[seq] : 0,
                 (unsigned long long)seq);
        if (seq != expect || trail_event_attr_get(ev, "n", &n) != 0 || n.u.i != (int64_t)seq ||
            trail_event_attr_get(ev, "phxTraceId", &tid) != 0 || tid.u.str.len != strlen(want) ||
            memcmp(tid.u.str.ptr, want, tid.u.str.len) != 0) {
            snprintf(why, why_size, "record %llu: not the event appended at seq %llu (%s)",
                     (unsigned long long)seq, (unsigned long long)expect, want);
            bad = 1;
        }
        expect++;
    }
    trail_store_iter_free(it);
    trail_event_free(ev);
    if (!bad && r < 0) {
        snprintf(why, why_size, "reading the records: %s", trail_strerror(r));
        bad = 1;
    }
    if (!bad && expect - 1 != last) {
        snprintf(why, why_size, "%llu records read, last seq %llu",
                 (unsigned long long)(expect - 1), (unsigned long long)last);
        bad = 1;
    }
    uint64_t after = 0;
    if (!bad) {
        r = append_wait(s, AFTER_TRACE, 3, &after);
        if (r < 0 || after != last + 3) {
            snprintf(why, why_size, "append after recovery: %s, last %llu",
                     r < 0 ? trail_strerror(r) : "wrong seqs", (unsigned long long)after);
            bad = 1;
        }
    }
    r = trail_store_close(s);
    if (!bad && r < 0) {
        snprintf(why, why_size, "close after recovery: %s", trail_strerror(r));
        bad = 1;
    }
    if (bad)
        return -1;
    const struct trail_key *keys[1] = {key};
    struct trail_verify_opts vo = {.keys = keys, .n_keys = 1, .threads = 1};
    struct trail_verify_report vr;
    r = trail_verify_store(dir, &vo, &vr);
    if (r < 0 || vr.n_damage > 0 || vr.records != last + 3 || vr.latest_size != last + 3) {
        snprintf(why, why_size,
                 "verify: %s, %u damaged: %s %s; %llu records, latest checkpoint %llu",
                 r < 0 ? trail_strerror(r) : "ran", r < 0 ? 0 : vr.n_damage,
                 r < 0 || !vr.n_damage ? "" : trail_damage_name(vr.damage[0].kind),
                 r < 0 || !vr.n_damage ? "" : vr.damage[0].message, (unsigned long long)vr.records,
                 (unsigned long long)vr.latest_size);
        return -1;
    }
    return 0;
}

TEST(power_cuts)
{
    int rounds = getenv("TRAIL_POWERCUT_ROUNDS") ? atoi(getenv("TRAIL_POWERCUT_ROUNDS")) : 300;
    uint64_t seed = getenv("TRAIL_POWERCUT_SEED") ? strtoull(getenv("TRAIL_POWERCUT_SEED"), NULL, 0)
                                                  : (uint64_t)time(NULL) ^ (uint64_t)getpid();
    fprintf(stderr, "  seed %llu (TRAIL_POWERCUT_SEED=%llu repeats this run), %d rounds\n",
            (unsigned long long)seed, (unsigned long long)seed, rounds);
    const char *mode = getenv("TRAIL_POWERCUT_MODE"); /* "synced" or "lossy": every cut so */
    uint64_t rs = seed;
    strcpy(top, "/tmp/trail-test-powercut-XXXXXX");
    ASSERT(mkdtemp(top) != NULL);
    char line_dir[128], cut_dir[128], why[3000];
    struct trace t = {0};
    uint64_t must_have = 0, must_cp = 0, lossy_rounds = 0, max_records = 0, cut_in_open = 0;
    uint64_t torn = 0, resealed = 0, leftovers = 0, roots = 0, lost_unacked = 0;
    struct pc_counts total = {0};
    int round = 0, failed = 0;
    for (uint32_t trace = 0; round < rounds && !failed; trace++) {
        if (trace % TRACES_PER_LINE == 0) {
            /* a new lineage: an empty directory */
            snprintf(line_dir, sizeof(line_dir), "%s/line%u", top, trace);
            ASSERT_OK(mkdir(line_dir, 0750));
            must_have = must_cp = 0;
        }
        t = (struct trace){.id = trace,
                           .must_have = must_have,
                           .must_cp = must_cp,
                           .signing = trace % TRACES_PER_LINE != 0,
                           .policy = trace % 3 == 2 ? TRAIL_FSYNC_INTERVAL : TRAIL_FSYNC_ALWAYS};
        int r = run_trace(line_dir, &t, &rs, why, sizeof(why));
        if (r < 0)
            FAIL_AT("trace %u (seed %llu): %s", trace, (unsigned long long)seed, why);
        struct pc_counts c;
        pc_counts(&c);
        total.ops += c.ops;
        total.creates += c.creates;
        total.writes += c.writes;
        total.syncs += c.syncs;
        total.dir_syncs += c.dir_syncs;
        total.renames += c.renames;
        total.unlinks += c.unlinks;
        uint64_t next_cut = 0, next_seed = 0;
        int next_lossy = 0;
        for (int k = 0; k < CUTS_PER_TRACE && round < rounds; k++, round++) {
            uint64_t cut = rnd(&rs) % (t.n_ops + 1), mseed = rnd(&rs);
            int lossy = (int)(rnd(&rs) & 1);
            if (mode)
                lossy = strcmp(mode, "lossy") == 0;
            snprintf(cut_dir, sizeof(cut_dir), "%s/cut", top);
            rm_tree(cut_dir);
            ASSERT_OK(mkdir(cut_dir, 0750));
            ASSERT_OK(pc_materialise(cut, mseed, lossy, cut_dir));
            uint64_t acked = acked_at(&t, cut), records = 0;
            struct trail_store_report rep;
            if (check_cut(cut_dir, acked, cp_at(&t, cut), why, sizeof(why), &records, &rep) < 0) {
                fprintf(stderr,
                        "  round %d: trace %u, cut after %llu of %llu operations (%s): %s\n", round,
                        trace, (unsigned long long)cut, (unsigned long long)t.n_ops,
                        lossy ? "lossy" : "synced only", why);
                failed = 1;
                break;
            }
            lossy_rounds += lossy;
            cut_in_open += t.n_acks == 0 || cut < t.acks[0].ops;
            torn += rep.torn_bytes > 0;
            resealed += rep.resealed;
            leftovers += rep.leftovers;
            roots += rep.roots_rebuilt > 0;
            lost_unacked += records - acked;
            max_records = records > max_records ? records : max_records;
            next_cut = cut;
            next_seed = mseed;
            next_lossy = lossy;
        }
        if (failed)
            break;
        /* the next trace of this lineage starts from the last cut, not yet recovered */
        if ((trace + 1) % TRACES_PER_LINE != 0) {
            snprintf(line_dir, sizeof(line_dir), "%s/line%u", top, trace + 1);
            ASSERT_OK(mkdir(line_dir, 0750));
            ASSERT_OK(pc_materialise(next_cut, next_seed, next_lossy, line_dir));
            must_have = acked_at(&t, next_cut);
            must_cp = cp_at(&t, next_cut);
        }
    }
    fprintf(stderr,
            "  %d cuts (%llu lossy, %llu during recovery or before the first acknowledgement) "
            "over %llu traced operations: %llu creates, %llu writes, %llu syncs, %llu directory "
            "syncs, %llu renames, %llu unlinks\n"
            "  recoveries: %llu cut a torn tail, %llu resealed, %llu leftovers removed, %llu "
            "rebuilt tree.roots; %llu unacknowledged records found; up to %llu records\n",
            round, (unsigned long long)lossy_rounds, (unsigned long long)cut_in_open,
            (unsigned long long)total.ops, (unsigned long long)total.creates,
            (unsigned long long)total.writes, (unsigned long long)total.syncs,
            (unsigned long long)total.dir_syncs, (unsigned long long)total.renames,
            (unsigned long long)total.unlinks, (unsigned long long)torn,
            (unsigned long long)resealed, (unsigned long long)leftovers, (unsigned long long)roots,
            (unsigned long long)lost_unacked, (unsigned long long)max_records);
    if (failed)
        FAIL_AT("seed %llu: a power cut broke the store (TRAIL_POWERCUT_SEED=%llu repeats it; "
                "the tree is kept in %s/cut)",
                (unsigned long long)seed, (unsigned long long)seed, top);
    rm_tree(top);
    ASSERT_EQ(round, rounds);
}

int run_tests(void);
int main(void)
{
    if (trail_catalog_new(&cat) < 0)
        return 1;
    trail_catalog_set_policy(cat, TRAIL_POLICY_LENIENT);
    if (trail_key_generate(NULL, NULL, &key) < 0)
        return 1;
    int r = run_tests();
    trail_key_free(key);
    trail_catalog_free(cat);
    free(hist);
    return r;
}

#define main run_tests
TEST_MAIN(power_cuts)
