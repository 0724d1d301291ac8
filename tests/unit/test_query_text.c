/*
 * test_query_text.c - --text against docs/query.md's rules, word by word,
 * for the values people search an audit trail for: apostrophes (o'brien),
 * hyphens, dots and @ (mail addresses), one-letter words, digits, IP
 * addresses, non-ASCII letters and words longer than the index keeps.
 * Every value is stored twice: once in a segment that is sealed (searched
 * through its .idx file) and once in the live segment (the in-memory
 * index), and each query must find exactly the events a table written from
 * the documented semantics names, in both.
 *
 * Not here: random filters (test_query_oracle.c), the parser's messages
 * (test_query.c).
 */
#include "harness.h"
#include "query/query.h"

#include <stdlib.h>
#include <unistd.h>

static struct trail_catalog *cat;

/* The values searched, each stored as duser of one event and reason of another. */
static const char *const values[] = {
    "o'brien",                       /* 0 */
    "Anne-Marie.Dupont@Example.com", /* 1 */
    "x",                             /* 2 */
    "user42",                        /* 3 */
    "203.0.113.7",                   /* 4 */
    "\xc3\x98yvind S\xc3\xb8rensen", /* 5: Øyvind Sørensen */
    "m\xc3\xbcller",                 /* 6: müller */
    "a b-c",                         /* 7 */
    /* 8: a word of 70 letters (the index keeps 64) */
    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqr",
    "D'Angelo-O'Neil", /* 9 */
    "_svc.backup_",    /* 10 */
};
#define N_VALUES (sizeof(values) / sizeof(values[0]))

/* A query and the values it finds (bit i: values[i]), by docs/query.md. */
static const struct {
    const char *text;
    unsigned hits;
} queries[] = {
    {"o'brien", 1u << 0},
    {"O'BRIEN", 1u << 0},
    {"o", 1u << 0 | 1u << 9}, /* the O of O'Neil too */
    {"brien", 1u << 0},
    {"'brien", 1u << 0},
    {"o'", 1u << 0 | 1u << 9}, /* "o'" ends with a non-word byte: O'Neil */
    {"obrien", 0},
    {"o brien", 1u << 0}, /* two items, both in o'brien */
    {"o'brien x", 0},     /* every item must be found */
    {"anne-marie", 1u << 1},
    {"anne-marie.dupont@example.com", 1u << 1},
    {"dupont@example", 1u << 1},
    {"@example.com", 1u << 1},
    {"marie", 1u << 1},
    {"com", 1u << 1},
    {"annemarie", 0},
    {"anne-mari", 0},
    {"x", 1u << 2},
    {"X", 1u << 2},
    {"user42", 1u << 3},
    {"user", 0},
    {"42", 0},
    {"203.0.113.7", 1u << 4},
    {"113", 1u << 4},
    {"203.0.113.70", 0},
    {"0.113", 1u << 4},
    {"\xc3\x98yvind", 1u << 5},
    {"\xc3\xb8yvind", 0}, /* non-ASCII letters keep their case */
    {"yvind", 0},         /* Ø is a letter: "yvind" is not a whole word */
    {"s\xc3\xb8rensen", 1u << 5},
    {"m\xc3\xbcller", 1u << 6},
    {"M\xc3\xbcLLER", 1u << 6},
    {"ller", 0},
    {"a", 1u << 7},
    {"b-c", 1u << 7},
    {"a-b", 0},
    {"c", 1u << 7},
    {"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqr", 1u << 8},
    {"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrs", 0},
    {"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqZ", 0},
    {"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl", 0},
    {"d'angelo-o'neil", 1u << 9},
    {"angelo-o", 1u << 9},
    {"neil", 1u << 9},
    {"d", 1u << 9},
    {"svc", 1u << 10},
    {"_svc", 1u << 10},
    {"backup_", 1u << 10},
    {"svc.backup", 1u << 10},
};
#define N_QUERIES (sizeof(queries) / sizeof(queries[0]))

#define FILLERS 3000 /* enough for several sealed segments of 64 KiB */

static char *dir;
static struct trail_store *store;
static struct trail_index *ix;
/* seqs of the events holding values[i]: sealed duser, sealed reason, live duser, live reason */
static uint64_t seq_of[N_VALUES][4];

static struct trail_event *make_event(const char *duser, const char *reason)
{
    struct trail_event *ev;
    if (trail_event_new(cat, "prism_user_locked", &ev) < 0 ||
        trail_event_set_string(ev, "phxTraceId", "#filler", 7) < 0 ||
        trail_event_set_string(ev, "duser", duser, strlen(duser)) < 0 ||
        (reason && trail_event_set_string(ev, "reason", reason, strlen(reason)) < 0))
        abort();
    trail_event_set_time(ev, 1764000000000000LL); /* 2025-11-24T16:00:00Z, pinned */
    return ev;
}

static uint64_t append(struct trail_event *ev)
{
    uint64_t last;
    if (trail_store_append(store, &ev, 1, &last) < 0)
        abort();
    trail_event_free(ev);
    return last;
}

/* The values, as duser of one event and reason of another (whose duser is a filler's). */
static void append_values(int copy)
{
    for (size_t i = 0; i < N_VALUES; i++) {
        seq_of[i][2 * copy] = append(make_event(values[i], NULL));
        seq_of[i][2 * copy + 1] = append(make_event("filler", values[i]));
    }
}

static void setup(void)
{
    if (dir)
        return;
    dir = strdup("/tmp/trail-test-query-text-XXXXXX");
    if (!dir || !mkdtemp(dir))
        abort();
    struct trail_store_opts o = {.create = 1,
                                 .fsync_policy = TRAIL_FSYNC_NEVER,
                                 .segment_max_bytes = 64u << 10,
                                 .block_bytes = 8u << 10,
                                 .zstd_level = 1};
    if (trail_store_open(dir, cat, &o, &store, NULL) < 0)
        abort();
    append_values(0);
    uint64_t last = 0;
    for (int i = 0; i < FILLERS; i++)
        last = append(make_event("filler", "filler"));
    append_values(1);
    if (trail_store_wait(store, last) < 0)
        abort();
    /* the first copy is in a sealed segment with its .idx: wait for it (deadline 30 s) */
    for (int tries = 0;; tries++) {
        struct trail_store_stats st;
        trail_store_stats(store, &st);
        char path[4200];
        idx_path(store, 1, path, sizeof(path));
        if (st.sealed_segments >= 2 && access(path, F_OK) == 0)
            break;
        if (tries == 3000) {
            fprintf(stderr, "sealing did not finish\n");
            abort();
        }
        usleep(10000);
    }
    if (trail_index_open(store, NULL, &ix) < 0)
        abort();
}

/* The seqs a search for text finds, ascending, as a bitmask over seq_of's slots. */
static int search(const char *text, uint64_t found[N_VALUES], uint64_t *ret_other)
{
    struct trail_query *q;
    char err[256];
    memset(found, 0, N_VALUES * sizeof(found[0]));
    *ret_other = 0;
    if (trail_query_new(cat, &q) < 0 || trail_query_set(q, "text", text, err, sizeof(err)) < 0 ||
        trail_query_set(q, "limit", "0", err, sizeof(err)) < 0) {
        fprintf(stderr, "query '%s': %s\n", text, err);
        return -1;
    }
    struct trail_results *res;
    struct trail_event *ev;
    int r = trail_results_open(ix, q, &res, err, sizeof(err));
    if (r < 0 || trail_event_new(cat, "x", &ev) < 0) {
        trail_query_free(q);
        return -1;
    }
    while ((r = trail_results_next(res, ev)) == 1) {
        uint64_t seq = trail_event_seq(ev);
        int known = 0;
        for (size_t i = 0; i < N_VALUES; i++)
            for (int k = 0; k < 4; k++)
                if (seq_of[i][k] == seq) {
                    found[i] |= 1u << k;
                    known = 1;
                }
        if (!known)
            (*ret_other)++;
    }
    trail_event_free(ev);
    trail_results_free(res);
    trail_query_free(q);
    return r;
}

TEST(every_query_finds_its_values_sealed_and_live)
{
    setup();
    int bad = 0;
    for (size_t k = 0; k < N_QUERIES; k++) {
        uint64_t found[N_VALUES], other;
        ASSERT_OK(search(queries[k].text, found, &other));
        for (size_t i = 0; i < N_VALUES; i++) {
            /* a value found is found in duser and reason, in the sealed and the live copy */
            uint64_t want = queries[k].hits >> i & 1 ? 0xf : 0;
            if (found[i] != want) {
                fprintf(stderr, "--text '%s' on '%s': found in %s%s%s%s (expected %s)\n",
                        queries[k].text, values[i], found[i] & 1 ? "sealed duser " : "",
                        found[i] & 2 ? "sealed reason " : "", found[i] & 4 ? "live duser " : "",
                        found[i] & 8 ? "live reason " : "", want ? "all four" : "none");
                bad++;
            }
        }
        if (other) {
            fprintf(stderr, "--text '%s': %" PRIu64 " fillers found\n", queries[k].text, other);
            bad++;
        }
    }
    ASSERT_EQ(bad, 0);
    /* the first copy really was read through a sealed segment's .idx */
    struct trail_index_stats st;
    trail_index_stats(ix, &st);
    ASSERT(st.idx_files >= 1);
    ASSERT(st.live_records > 0);
}

/*
 * The text an attribute is indexed and matched by (rec_attr_text) is the one
 * trail_value_format gives the same value: integers at their edges and
 * around each power of ten, IPv4 and IPv6 addresses, booleans.
 */
TEST(attribute_text_is_the_value_format)
{
    int64_t ints[64] = {INT64_MIN, INT64_MIN + 1, INT64_MAX, -1, 0, 1};
    size_t n = 6;
    for (int64_t p = 10; n + 4 <= 64 && p <= INT64_MAX / 10; p *= 10) {
        ints[n++] = p - 1;
        ints[n++] = p;
        ints[n++] = -p;
        ints[n++] = -(p - 1);
    }
    for (size_t i = 0; i < n; i++) {
        struct rec_attr a = {.type = TRAIL_TYPE_INT, .i = ints[i]};
        struct trail_value v = {.type = TRAIL_TYPE_INT, .u.i = ints[i]};
        char buf[64], want[64];
        const char *t;
        size_t len = rec_attr_text(&a, buf, &t);
        size_t wlen = trail_value_format(&v, want, sizeof(want));
        ASSERT_EQ(len, wlen);
        ASSERT(memcmp(t, want, len) == 0);
    }
    static const uint8_t v4[4] = {192, 0, 2, 255}, v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    const uint8_t *addrs[2] = {v4, v6};
    for (int k = 0; k < 2; k++) {
        size_t alen = k ? 16 : 4;
        struct rec_attr a = {.type = TRAIL_TYPE_IP, .val = addrs[k], .vlen = alen};
        struct trail_value v = {.type = TRAIL_TYPE_IP, .u.ip.family = k ? 6 : 4};
        memcpy(v.u.ip.addr, addrs[k], alen);
        char buf[64], want[64];
        const char *t;
        size_t len = rec_attr_text(&a, buf, &t);
        ASSERT_EQ(len, trail_value_format(&v, want, sizeof(want)));
        ASSERT(memcmp(t, want, len) == 0);
    }
    struct rec_attr a = {.type = TRAIL_TYPE_BOOL, .i = 1};
    const char *t;
    char buf[64];
    ASSERT_EQ(rec_attr_text(&a, buf, &t), 4);
    ASSERT(memcmp(t, "true", 4) == 0);
}

TEST(teardown)
{
    trail_index_close(ix);
    trail_store_close(store);
    if (dir) {
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            abort();
        free(dir);
    }
}

static void init(void) __attribute__((constructor));
static void init(void)
{
    if (trail_catalog_new(&cat) < 0)
        abort();
}

TEST_MAIN(every_query_finds_its_values_sealed_and_live, attribute_text_is_the_value_format,
          teardown)
