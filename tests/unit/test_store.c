/*
 * test_store.c - the store: CRC-32C, the record codec, append and
 * iteration both ways (records decoded whole, or read by their head and
 * decoded on demand), reopen, rolling and sealing, subtree hashes and
 * tree.roots, retention, write failures, and recovery from a torn tail, a
 * damaged frame and a half-sealed segment.
 *
 * Not here: the crash test (tests/integration/store_crash.sh), the full
 * disk test (store_fulldisk.sh), byte-by-byte damage (test_store_damage.c).
 */
#include "harness.h"
#include "store/store.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static struct trail_catalog *cat;

static char *make_dir(void)
{
    static char path[64];
    strcpy(path, "/tmp/trail-test-store-XXXXXX");
    if (!mkdtemp(path))
        abort();
    return path;
}

static void remove_dir(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        abort();
}

/*
 * 1: make_event stamps event i as received at its time, and dates event 0 in
 * 9999 (a producer's clock that retention must not trust).
 */
static int arrival_mode;

/* A realistic event, numbered i so that it can be recognised when read back. */
static struct trail_event *make_event(int i)
{
    static const char *const ids[] = {"auth_entrypoints_saml_auth_started",
                                      "auth_authenticators_bankid_successful",
                                      "auth_entrypoints_oidc_logout"};
    struct trail_event *ev;
    if (trail_event_new(cat, ids[i % 3], &ev) < 0)
        abort();
    char buf[64];
    trail_event_set_host(ev, "idp-node1", (size_t)-1);
    snprintf(buf, sizeof(buf), "user%d@example.org", i % 97);
    trail_event_set_string(ev, "duser", buf, (size_t)-1);
    snprintf(buf, sizeof(buf), "#T%08d", i);
    trail_event_set_string(ev, "phxTraceId", buf, (size_t)-1);
    trail_event_set_string(ev, "requestClientApplication",
                           "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36", (size_t)-1);
    trail_event_set_ip(ev, "src", i % 2 ? "198.51.100.23" : "2001:db8::17", (size_t)-1);
    trail_event_set_int(ev, "n", i);
    trail_event_set_bool(ev, "ok", i % 2);
    trail_event_set_time_attr(ev, "at", 1700000000000000LL + i);
    trail_event_set_time(ev, 1764000000000000LL + (int64_t)i * 1000);
    if (arrival_mode) {
        trail_event_set_received(ev, 1764000000000000LL + (int64_t)i * 1000);
        if (i == 0)
            trail_event_set_time(ev, 253370764800LL * 1000000); /* 9999-01-01 */
    }
    return ev;
}

static int append_range(struct trail_store *s, int from, int to)
{
    struct trail_event *evs[64];
    int done = from;
    while (done < to) {
        int n = to - done < 64 ? to - done : 64;
        for (int k = 0; k < n; k++)
            evs[k] = make_event(done + k);
        uint64_t last;
        int r = trail_store_append(s, evs, (size_t)n, &last);
        for (int k = 0; k < n; k++)
            trail_event_free(evs[k]);
        if (r < 0)
            return r;
        done += n;
    }
    return 0;
}

static int open_store(const char *dir, struct trail_store_opts *o, struct trail_store **s)
{
    struct trail_store_opts d = {.create = 1};
    return trail_store_open(dir, cat, o ? o : &d, s, NULL);
}

/* Check records [first, last] read forward and backward decode as make_event(seq - 1). */
static int check_records(struct trail_store *s, uint64_t first, uint64_t last)
{
    struct trail_event *ev;
    struct trail_store_iter *it;
    if (trail_event_new(cat, "x", &ev) < 0)
        return -1;
    int bad = 0;
    for (int dir = 0; dir < 2 && !bad; dir++) {
        if (trail_store_iter_new(s, dir, &it) < 0)
            return -1;
        uint64_t expect = dir == TRAIL_ITER_FORWARD ? first : last, n = 0;
        int r;
        while ((r = trail_store_iter_next(it, ev)) == 1) {
            struct trail_value v;
            if (trail_event_seq(ev) != expect || trail_event_attr_get(ev, "n", &v) != 0 ||
                v.u.i != (int64_t)(expect - 1)) {
                fprintf(stderr, "  record %llu wrong (dir %d)\n", (unsigned long long)expect, dir);
                bad = 1;
                break;
            }
            expect = dir == TRAIL_ITER_FORWARD ? expect + 1 : expect - 1;
            n++;
        }
        if (r < 0 || n != last - first + 1) {
            fprintf(stderr, "  dir %d: %llu records, r=%d\n", dir, (unsigned long long)n, r);
            bad = 1;
        }
        trail_store_iter_free(it);
    }
    trail_event_free(ev);
    return bad ? -1 : 0;
}

/* The root of leaves 1..n recomputed from the records. */
static int recompute_root(struct trail_store *s, uint64_t n, uint8_t root[32], uint8_t chain[32])
{
    struct trail_store_iter *it;
    struct trail_frontier f;
    frontier_init(&f);
    memset(chain, 0, 32);
    if (trail_store_iter_new(s, TRAIL_ITER_FORWARD, &it) < 0)
        return -1;
    const uint8_t *rec;
    size_t len;
    uint64_t seq;
    while (f.size < n && trail_store_iter_next_raw(it, &rec, &len, &seq) == 1) {
        uint8_t leaf[32];
        trail_hash_leaf(rec, len, leaf);
        hash_chain(chain, leaf, chain);
        frontier_append(&f, leaf);
    }
    trail_store_iter_free(it);
    frontier_root(&f, root);
    return f.size == n ? 0 : -1;
}

TEST(crc32c)
{
    ASSERT_EQ(crc32c(0, "123456789", 9), 0xE3069283u);
    ASSERT_EQ(crc32c_sw(0, "123456789", 9), 0xE3069283u);
    uint8_t buf[1000];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 131 + 7);
    for (size_t len = 0; len < sizeof(buf); len += 37)
        ASSERT_EQ(crc32c(0, buf + 1, len - (len ? 1 : 0)),
                  crc32c_sw(0, buf + 1, len - (len ? 1 : 0)));
    /* extending is the same as one pass */
    ASSERT_EQ(crc32c(crc32c(0, buf, 100), buf + 100, 200), crc32c(0, buf, 300));
}

/* Provenance survives the record: input, name, peer, principal, received, problems, mark. */
TEST(record_provenance)
{
    uint8_t id[16] = {0};
    struct trail_event *ev = make_event(3), *back;
    ASSERT_OK(trail_event_new(cat, "x", &back));
    struct trail_peer peer = {.family = 6, .port = 6514};
    peer.addr[0] = 0x20, peer.addr[1] = 0x01, peer.addr[15] = 7;
    ASSERT_OK(trail_event_set_input(ev, TRAIL_INPUT_FOLLOW, "pas", 3));
    trail_event_set_peer(ev, &peer);
    ASSERT_OK(trail_event_set_principal(ev, "token idp-1", (size_t)-1));
    /* an input cannot claim trail's own input */
    ASSERT_EQ(trail_event_set_input(ev, TRAIL_INPUT_TRAIL, NULL, 0), TRAIL_E_BAD_TYPE);
    uint8_t rec[4096];
    size_t size = record_size(ev);
    ASSERT(size < sizeof(rec));
    ASSERT_EQ(record_write(ev, 9, 1000, 2000, rec), size);
    ASSERT_EQ(rec[18] & TRAIL_REC_F_OWN, 0);
    ASSERT_OK(record_decode(rec, size, id, back));
    const char *name;
    ASSERT_EQ(trail_event_input(back, &name), TRAIL_INPUT_FOLLOW);
    ASSERT_STREQ(name, "pas");
    ASSERT_EQ(trail_event_received(back), 2000);
    ASSERT_STREQ(trail_event_principal(back), "token idp-1");
    char text[48];
    trail_peer_format(trail_event_peer(back), text);
    ASSERT_STREQ(text, "[2001::7]:6514");
    ASSERT_EQ(trail_event_is_own(back), 0);
    /* the mark: written, read back, and it takes the input "trail" */
    trail_event_mark_own(ev);
    size = record_size(ev);
    ASSERT_EQ(record_write(ev, 10, 1000, 2000, rec), size);
    ASSERT(rec[18] & TRAIL_REC_F_OWN);
    ASSERT_OK(record_decode(rec, size, id, back));
    ASSERT_EQ(trail_event_is_own(back), 1);
    ASSERT_EQ(trail_event_input(back, NULL), TRAIL_INPUT_TRAIL);
    ASSERT_EQ(trail_event_peer(back)->family, 0);
    /* a record that says input "trail" without the flag, or the flag without it, is corrupt */
    struct rec_view v;
    ASSERT_OK(rec_view_parse(rec, size, &v));
    rec[18] &= (uint8_t)~TRAIL_REC_F_OWN;
    ASSERT_EQ(record_decode(rec, size, id, back), TRAIL_E_CORRUPT);
    /* an input name longer than the event holds (64) is damage, not copied past its end */
    trail_event_free(ev);
    ev = make_event(4);
    ASSERT_OK(trail_event_set_input(ev, TRAIL_INPUT_FOLLOW, "pas", 3));
    size = record_size(ev);
    ASSERT_EQ(record_write(ev, 11, 1000, 2000, rec), size);
    ASSERT_OK(rec_view_parse(rec, size, &v));
    size_t at = (size_t)(v.input_name - rec) - 1, tail = size - at - 4;
    uint8_t big[4096];
    memcpy(big, rec, at);
    big[at] = 65;
    memset(big + at + 1, 'a', 65);
    memcpy(big + at + 66, rec + at + 4, tail);
    ASSERT_OK(rec_view_parse(big, at + 66 + tail, &v));
    ASSERT_EQ(v.input_name_len, 65);
    ASSERT_EQ(record_decode(big, at + 66 + tail, id, back), TRAIL_E_CORRUPT);
    big[at] = 64;
    memmove(big + at + 65, big + at + 66, tail);
    ASSERT_OK(record_decode(big, at + 65 + tail, id, back));
    ASSERT_EQ(trail_event_input(back, &name), TRAIL_INPUT_FOLLOW);
    ASSERT_EQ(strlen(name), 64);
    trail_event_free(ev);
    trail_event_free(back);
}

/* A version-1 record (stores written before provenance) still decodes: no provenance. */
TEST(record_version_1)
{
    /* v1: version, seq, time, severity, flags (derived uuid), id "ab", host "h", no attrs */
    uint8_t rec[] = {1, 5, 0, 0, 0, 0, 0, 0,   0,   100, 0,   0, 0,
                     0, 0, 0, 0, 4, 1, 2, 'a', 'b', 1,   'h', 0, 0};
    uint8_t id[16] = {0};
    struct trail_event *back;
    ASSERT_OK(trail_event_new(cat, "x", &back));
    ASSERT_OK(record_decode(rec, sizeof(rec), id, back));
    ASSERT_STREQ(trail_event_id(back), "ab");
    ASSERT_STREQ(trail_event_host(back), "h");
    ASSERT_EQ(trail_event_seq(back), 5);
    ASSERT_EQ(trail_event_time(back), 100);
    ASSERT_EQ(trail_event_input(back, NULL), TRAIL_INPUT_NONE);
    ASSERT_EQ(trail_event_is_own(back), 0);
    /* the own flag does not exist in version 1 */
    rec[18] |= TRAIL_REC_F_OWN;
    ASSERT_EQ(record_decode(rec, sizeof(rec), id, back), TRAIL_E_CORRUPT);
    trail_event_free(back);
}

/* An event whose producer uuid is stored already is not stored again: in a
   batch, across batches, and across a reopen; events without a uuid always are. */
TEST(duplicates)
{
    char *dir = make_dir();
    struct trail_store *s;
    struct trail_store_opts o = {.create = 1, .fsync_policy = TRAIL_FSYNC_NEVER};
    ASSERT_OK(open_store(dir, &o, &s));
    uint8_t u1[16] = {0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x43, 0x33,
                      0x84, 0x44, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55};
    uint8_t u2[16];
    memcpy(u2, u1, 16);
    u2[15] = 0x56;
    struct trail_event *a = make_event(0), *b = make_event(1), *c = make_event(2),
                       *plain1 = make_event(3), *plain2 = make_event(3);
    trail_event_set_uuid(a, u1);
    trail_event_set_uuid(b, u1); /* the same uuid in one batch */
    trail_event_set_uuid(c, u2);
    struct trail_event *batch[] = {a, plain1, b, c, plain2};
    uint64_t last;
    ASSERT_OK(trail_store_append(s, batch, 5, &last));
    ASSERT_EQ(last, 4); /* a, plain1, c, plain2 */
    ASSERT_EQ(trail_event_seq(a), 1);
    ASSERT_EQ(trail_event_duplicate_of(a), 0);
    ASSERT_EQ(trail_event_duplicate_of(b), 1);
    ASSERT_EQ(trail_event_seq(b), 1);
    ASSERT_EQ(trail_event_seq(c), 3);
    ASSERT_EQ(trail_event_seq(plain2), 4); /* no uuid: never a duplicate */
    ASSERT_EQ(trail_event_duplicate_of(plain2), 0);
    /* a retry of the whole batch: nothing stored, each answer names the original */
    ASSERT_OK(trail_store_append(s, batch, 5, &last));
    ASSERT_EQ(trail_event_duplicate_of(a), 1);
    ASSERT_EQ(trail_event_duplicate_of(c), 3);
    ASSERT_EQ(trail_event_seq(plain1), 5); /* the uuid-less ones are new events */
    ASSERT_EQ(trail_event_seq(plain2), 6);
    ASSERT_EQ(last, 6);
    ASSERT_OK(trail_store_wait(s, last));
    ASSERT_OK(trail_store_close(s));
    /* across a reopen: rebuilt from the store */
    ASSERT_OK(open_store(dir, &o, &s));
    struct trail_event *again[] = {c, a};
    ASSERT_OK(trail_store_append(s, again, 2, &last));
    ASSERT_EQ(trail_event_duplicate_of(c), 3);
    ASSERT_EQ(trail_event_duplicate_of(a), 1);
    ASSERT_EQ(last, 3); /* the answer waits for the originals */
    ASSERT_EQ(trail_store_last_seq(s), 6);
    /* off: stored again */
    ASSERT_OK(trail_store_close(s));
    o.dedup_max = -1;
    ASSERT_OK(open_store(dir, &o, &s));
    ASSERT_OK(trail_store_append(s, again, 2, &last));
    ASSERT_EQ(trail_event_duplicate_of(a), 0);
    ASSERT_EQ(last, 8);
    ASSERT_OK(trail_store_close(s));
    for (size_t i = 0; i < 5; i++)
        trail_event_free(batch[i]);
    remove_dir(dir);
}

TEST(record_roundtrip)
{
    uint8_t id[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    struct trail_event *ev = make_event(5), *back;
    ASSERT_OK(trail_event_new(cat, "x", &back));
    for (int with_uuid = 0; with_uuid < 2; with_uuid++) {
        if (with_uuid)
            trail_event_gen_uuid(ev);
        size_t size = record_size(ev);
        uint8_t *rec = malloc(size);
        ASSERT_EQ(record_write(ev, 42, 777, 888, rec), size);
        ASSERT_EQ(rec[0], 2);
        ASSERT_EQ(get_u64(rec + 1), 42);
        ASSERT_EQ(get_u64(rec + 9), 777);
        ASSERT_EQ(rec[18], with_uuid ? 0 : 1);
        ASSERT_OK(record_decode(rec, size, id, back));
        ASSERT_STREQ(trail_event_id(back), trail_event_id(ev));
        ASSERT_STREQ(trail_event_host(back), "idp-node1");
        ASSERT_EQ(trail_event_seq(back), 42);
        ASSERT_EQ(trail_event_time(back), 777);
        ASSERT_EQ(trail_event_severity(back), trail_event_severity(ev));
        ASSERT_EQ(trail_event_attr_count(back), trail_event_attr_count(ev));
        for (size_t i = 0; i < trail_event_attr_count(ev); i++) {
            const char *k1, *k2;
            struct trail_value v1, v2;
            char t1[128], t2[128];
            ASSERT_OK(trail_event_attr_at(ev, i, &k1, &v1));
            ASSERT_OK(trail_event_attr_at(back, i, &k2, &v2));
            ASSERT_STREQ(k1, k2);
            ASSERT_EQ(v1.type, v2.type);
            trail_value_format(&v1, t1, sizeof(t1));
            trail_value_format(&v2, t2, sizeof(t2));
            ASSERT_STREQ(t1, t2);
        }
        uint8_t u1[16], u2[16];
        ASSERT_OK(trail_event_uuid(back, u2));
        if (with_uuid) {
            trail_event_uuid(ev, u1);
        } else {
            uuid_derive(id, 42, u1);
            ASSERT_EQ(u1[6] >> 4, 8); /* version 8 */
        }
        ASSERT_MEMEQ(u1, u2, 16);
        /* every shorter prefix and every longer buffer is refused, never read past */
        for (size_t cut = 0; cut < size; cut++) {
            uint8_t *p = malloc(cut ? cut : 1);
            memcpy(p, rec, cut);
            ASSERT_EQ(record_decode(p, cut, id, back), TRAIL_E_CORRUPT);
            free(p);
        }
        free(rec);
    }
    /* derived uuids differ per seq */
    uint8_t a[16], b[16];
    uuid_derive(id, 1, a);
    uuid_derive(id, 2, b);
    ASSERT(memcmp(a, b, 16) != 0);
    trail_event_free(ev);
    trail_event_free(back);
}

TEST(append_iterate_reopen)
{
    char *dir = make_dir();
    struct trail_store *s;
    ASSERT_OK(open_store(dir, NULL, &s));
    ASSERT_EQ(trail_store_last_seq(s), 0);
    ASSERT_OK(append_range(s, 0, 1000));
    ASSERT_EQ(trail_store_last_seq(s), 1000);
    ASSERT_OK(trail_store_wait(s, 1000));
    ASSERT(trail_store_durable_seq(s) >= 1000);
    ASSERT_EQ(trail_store_wait(s, 1001), -EINVAL);
    ASSERT_OK(check_records(s, 1, 1000));
    struct trail_store_state st;
    uint8_t root[32], chain[32];
    ASSERT_OK(trail_store_state(s, &st));
    ASSERT_EQ(st.tree_size, 1000);
    ASSERT_OK(recompute_root(s, 1000, root, chain));
    ASSERT_MEMEQ(root, st.root, 32);
    ASSERT_MEMEQ(chain, st.chain, 32);
    ASSERT_OK(trail_store_close(s));

    struct trail_store_report rep;
    struct trail_store_opts o = {0};
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, &rep));
    ASSERT_EQ(rep.records, 1000);
    ASSERT_EQ(rep.torn_bytes, 0);
    ASSERT_EQ(trail_store_last_seq(s), 1000);
    struct trail_store_state st2;
    ASSERT_OK(trail_store_state(s, &st2));
    ASSERT_MEMEQ(st2.root, st.root, 32);
    ASSERT_MEMEQ(st2.chain, st.chain, 32);
    ASSERT_OK(append_range(s, 1000, 1500));
    ASSERT_OK(trail_store_wait(s, 1500));
    ASSERT_OK(check_records(s, 1, 1500));
    ASSERT_OK(trail_store_state(s, &st));
    ASSERT_OK(recompute_root(s, 1500, root, chain));
    ASSERT_MEMEQ(root, st.root, 32);

    /* a reader sees it all while the writer is open */
    struct trail_store *rd;
    struct trail_store_opts ro = {.read_only = 1};
    ASSERT_OK(trail_store_open(dir, cat, &ro, &rd, NULL));
    ASSERT_EQ(trail_store_last_seq(rd), 1500);
    ASSERT_OK(check_records(rd, 1, 1500));
    struct trail_store_state rst;
    ASSERT_OK(trail_store_state(rd, &rst));
    ASSERT_EQ(rst.tree_size, 1500);
    ASSERT_MEMEQ(rst.root, st.root, 32);
    ASSERT_MEMEQ(rst.chain, st.chain, 32);
    /* and follows what comes after it opened */
    ASSERT_OK(append_range(s, 1500, 1600));
    ASSERT_OK(trail_store_wait(s, 1600));
    struct trail_store_iter *it;
    ASSERT_OK(trail_store_iter_new(rd, TRAIL_ITER_FORWARD, &it));
    ASSERT_OK(trail_store_iter_seek_seq(it, 1590));
    const uint8_t *rec;
    size_t len;
    uint64_t seq = 0;
    int n = 0;
    while (trail_store_iter_next_raw(it, &rec, &len, &seq) == 1)
        n++;
    ASSERT_EQ(n, 11);
    ASSERT_EQ(seq, 1600);
    trail_store_iter_free(it);
    ASSERT_OK(trail_store_close(rd));

    /* a second writer is refused */
    struct trail_store *s2;
    ASSERT_EQ(trail_store_open(dir, cat, &o, &s2, NULL), TRAIL_E_LOCKED);
    ASSERT_OK(trail_store_close(s));
    remove_dir(dir);
}

static uint64_t wait_sealed(struct trail_store *s)
{
    struct trail_store_stats st;
    for (int i = 0; i < 2000; i++) {
        trail_store_stats(s, &st);
        if (st.sealed_segments + 1 >= st.segments)
            break;
        usleep(5000);
    }
    return st.sealed_segments;
}

/*
 * fsync = interval keeps an interval longer than the flusher's once-a-second
 * check of the store's files: before, the check flushed what was pending,
 * so a minute's interval synced every second. The append here waits for the
 * minute (nothing else asks for a flush) and is durable only at the close.
 */
TEST(interval_longer_than_check)
{
    char *dir = make_dir();
    struct trail_store *s;
    struct trail_store_opts o = {
        .create = 1, .fsync_policy = TRAIL_FSYNC_INTERVAL, .fsync_interval_ms = 60000};
    ASSERT_OK(open_store(dir, &o, &s));
    ASSERT_OK(append_range(s, 0, 10));
    struct timespec ts = {.tv_sec = 2, .tv_nsec = 500000000}; /* two of the guard's checks */
    nanosleep(&ts, NULL);
    ASSERT_EQ(trail_store_durable_seq(s), 0);
    ASSERT_OK(trail_store_close(s));
    ASSERT_OK(open_store(dir, NULL, &s));
    ASSERT_EQ(trail_store_last_seq(s), 10);
    ASSERT_OK(check_records(s, 1, 10));
    ASSERT_OK(trail_store_close(s));
    remove_dir(dir);
}

TEST(roll_seal_seek)
{
    char *dir = make_dir();
    struct trail_store *s;
    struct trail_store_opts o = {.create = 1,
                                 .segment_max_bytes = 64 << 10,
                                 .block_bytes = 8 << 10,
                                 .fsync_policy = TRAIL_FSYNC_NEVER};
    ASSERT_OK(open_store(dir, &o, &s));
    ASSERT_OK(append_range(s, 0, 3000));
    ASSERT_OK(trail_store_wait(s, 3000));
    struct trail_store_stats st;
    ASSERT_OK(trail_store_stats(s, &st));
    ASSERT(st.segments > 5);
    ASSERT(wait_sealed(s) + 1 >= st.segments);
    ASSERT_OK(trail_store_stats(s, &st));
    ASSERT_EQ(st.records, 3000);
    ASSERT_EQ(st.first_time_us, 1764000000000000LL);
    ASSERT_EQ(st.last_time_us, 1764000000000000LL + 2999 * 1000);
    ASSERT_OK(check_records(s, 1, 3000));

    /* seek by seq and by time, both ways, into sealed and open segments */
    struct trail_event *ev;
    ASSERT_OK(trail_event_new(cat, "x", &ev));
    uint64_t probes[] = {1, 2, 255, 256, 257, 1234, 2999, 3000};
    for (int dir_ = 0; dir_ < 2; dir_++) {
        for (size_t i = 0; i < TRAIL_ARRAY_SIZE(probes); i++) {
            struct trail_store_iter *it;
            ASSERT_OK(trail_store_iter_new(s, dir_, &it));
            ASSERT_OK(trail_store_iter_seek_seq(it, probes[i]));
            ASSERT_EQ(trail_store_iter_next(it, ev), 1);
            ASSERT_EQ(trail_event_seq(ev), probes[i]);
            int64_t t = 1764000000000000LL + (int64_t)(probes[i] - 1) * 1000;
            ASSERT_OK(trail_store_iter_seek_time(it, t + (dir_ ? 500 : -500)));
            ASSERT_EQ(trail_store_iter_next(it, ev), 1);
            ASSERT_EQ(trail_event_seq(ev), probes[i]);
            trail_store_iter_free(it);
        }
    }
    /* a time after everything: forward finds nothing, backward the last */
    struct trail_store_iter *it;
    ASSERT_OK(trail_store_iter_new(s, TRAIL_ITER_FORWARD, &it));
    ASSERT_OK(trail_store_iter_seek_time(it, 1764000000000000LL + 4000000LL));
    ASSERT_EQ(trail_store_iter_next(it, ev), 0);
    trail_store_iter_free(it);
    trail_event_free(ev);

    /* subtree hashes: groups from tree.roots, the rest from the leaves */
    uint8_t(*leaves)[32] = malloc(3000 * 32);
    ASSERT_OK(store_leaf_range(s, 1, 3000, leaves));
    struct trail_leaf_array la = {(const uint8_t(*)[32])leaves, 3000};
    uint64_t ranges[][2] = {{0, 3000},    {0, 256}, {256, 512}, {512, 1024},  {0, 2048},
                            {2048, 3000}, {5, 6},   {100, 700}, {2999, 3000}, {1024, 2048}};
    for (size_t i = 0; i < TRAIL_ARRAY_SIZE(ranges); i++) {
        uint8_t a[32], b[32];
        ASSERT_OK(trail_store_subtree_hash(s, ranges[i][0], ranges[i][1], a));
        ASSERT_OK(trail_leaf_array_subtree_hash(&la, ranges[i][0], ranges[i][1], b));
        ASSERT_MEMEQ(a, b, 32);
    }
    uint8_t one[32];
    ASSERT_EQ(trail_store_subtree_hash(s, 0, 3001, one), -EINVAL);
    ASSERT_OK(trail_store_leaf_hash(s, 77, one));
    ASSERT_MEMEQ(one, leaves[76], 32);
    ASSERT_OK(trail_store_close(s));

    /* tree.roots removed: rebuilt at open, same hashes */
    char path[256];
    snprintf(path, sizeof(path), "%s/tree.roots", dir);
    ASSERT_OK(unlink(path));
    struct trail_store_report rep;
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, &rep));
    ASSERT_EQ(rep.roots_rebuilt, 3000 / 256);
    for (size_t i = 0; i < TRAIL_ARRAY_SIZE(ranges); i++) {
        uint8_t a[32], b[32];
        ASSERT_OK(trail_store_subtree_hash(s, ranges[i][0], ranges[i][1], a));
        ASSERT_OK(trail_leaf_array_subtree_hash(&la, ranges[i][0], ranges[i][1], b));
        ASSERT_MEMEQ(a, b, 32);
    }
    ASSERT_OK(check_records(s, 1, 3000));
    ASSERT_OK(trail_store_close(s));
    free(leaves);
    remove_dir(dir);
}

/* Events of make_event() with other severities, and some marked as trail's own. */
static int append_mixed(struct trail_store *s, int from, int to)
{
    for (int i = from; i < to; i++) {
        struct trail_event *ev = make_event(i);
        uint64_t last;
        trail_event_set_severity(ev, 1 + i % 10);
        if (i % 7 == 0)
            trail_event_mark_own(ev);
        int r = trail_store_append(s, &ev, 1, &last);
        trail_event_free(ev);
        if (r < 0)
            return r;
    }
    return 0;
}

TEST(iter_head_and_decode)
{
    char *dir = make_dir();
    struct trail_store *s;
    struct trail_store_opts o = {.create = 1,
                                 .segment_max_bytes = 64 << 10,
                                 .block_bytes = 8 << 10,
                                 .fsync_policy = TRAIL_FSYNC_NEVER};
    ASSERT_OK(open_store(dir, &o, &s));
    ASSERT_OK(append_mixed(s, 0, 2000));
    ASSERT_OK(trail_store_wait(s, 2000));
    ASSERT(wait_sealed(s) >= 2); /* sealed segments and the open one */
    struct trail_event *a, *b;
    ASSERT_OK(trail_event_new(cat, "x", &a));
    ASSERT_OK(trail_event_new(cat, "x", &b));
    struct trail_buf ja = {0}, jb = {0};
    for (int dir_ = 0; dir_ < 2; dir_++) {
        /* one iterator reads heads (and decodes every third record), one decodes all */
        struct trail_store_iter *ih, *ie;
        ASSERT_OK(trail_store_iter_new(s, dir_, &ih));
        ASSERT_OK(trail_store_iter_new(s, dir_, &ie));
        ASSERT_EQ(trail_store_iter_decode(ih, a), -EINVAL); /* nothing returned yet */
        struct trail_record_head h;
        uint64_t n = 0, owns = 0;
        unsigned sevs = 0;
        int r;
        while ((r = trail_store_iter_next_head(ih, &h)) == 1) {
            ASSERT_EQ(trail_store_iter_next(ie, b), 1);
            const char *id = trail_event_id(b);
            ASSERT_EQ(h.seq, trail_event_seq(b));
            ASSERT_EQ(h.time_us, trail_event_time(b));
            ASSERT_EQ(h.severity, trail_event_severity(b));
            ASSERT_EQ(h.own, trail_event_is_own(b) != 0);
            ASSERT_EQ(h.id_len, strlen(id));
            ASSERT(memcmp(h.id, id, h.id_len) == 0);
            /* the events differ: the test would see a decode of the wrong record */
            /* the heads differ from record to record: a decode of the wrong record shows */
            sevs |= 1u << h.severity;
            owns += h.own;
            if (n++ % 3 == 0) {
                ASSERT_OK(trail_store_iter_decode(ih, a));
                ASSERT_OK(trail_store_iter_decode(ih, a)); /* again: the same record */
                trail_buf_reset(&ja);
                trail_buf_reset(&jb);
                ASSERT_OK(trail_event_to_json(a, &ja));
                ASSERT_OK(trail_event_to_json(b, &jb));
                ASSERT_EQ(ja.len, jb.len);
                ASSERT_MEMEQ(ja.data, jb.data, ja.len);
                uint8_t ua[16], ub[16];
                ASSERT_OK(trail_event_uuid(a, ua));
                ASSERT_OK(trail_event_uuid(b, ub));
                ASSERT_MEMEQ(ua, ub, 16);
            }
        }
        ASSERT_EQ(r, 0);
        ASSERT_EQ(n, 2000);
        ASSERT_EQ(owns, (2000 + 6) / 7);
        ASSERT(__builtin_popcount(sevs) >= 3);
        ASSERT_EQ(trail_store_iter_decode(ih, a), -EINVAL); /* the end returned none */
        /* a seek forgets the record in hand */
        ASSERT_OK(trail_store_iter_seek_seq(ih, 1000));
        ASSERT_EQ(trail_store_iter_next_head(ih, &h), 1);
        ASSERT_EQ(h.seq, 1000);
        ASSERT_OK(trail_store_iter_seek_seq(ih, 10));
        ASSERT_EQ(trail_store_iter_decode(ih, a), -EINVAL);
        ASSERT_OK(trail_store_iter_seek_time(ih, 1764000000000000LL));
        ASSERT_EQ(trail_store_iter_decode(ih, a), -EINVAL);
        /* next_raw's record decodes too */
        const uint8_t *rec;
        size_t len;
        uint64_t seq;
        ASSERT_OK(trail_store_iter_seek_seq(ih, 1234));
        ASSERT_EQ(trail_store_iter_next_raw(ih, &rec, &len, &seq), 1);
        ASSERT_OK(trail_store_iter_decode(ih, a));
        ASSERT_EQ(trail_event_seq(a), 1234);
        trail_store_iter_free(ih);
        trail_store_iter_free(ie);
    }
    trail_buf_free(&ja);
    trail_buf_free(&jb);
    trail_event_free(a);
    trail_event_free(b);
    ASSERT_OK(trail_store_close(s));
    remove_dir(dir);
}

static int sizes_cb(void *arg, uint64_t **ret, size_t *ret_n)
{
    (void)arg;
    uint64_t *v = malloc(2 * sizeof(*v));
    v[0] = 300; /* inside group 1 */
    v[1] = 512; /* a group boundary: needs nothing */
    *ret = v;
    *ret_n = 2;
    return 0;
}

TEST(purge)
{
    char *dir = make_dir();
    struct trail_store *s;
    struct trail_store_opts o = {.create = 1,
                                 .segment_max_bytes = 64 << 10,
                                 .block_bytes = 8 << 10,
                                 .fsync_policy = TRAIL_FSYNC_NEVER,
                                 .checkpoint_sizes = sizes_cb};
    ASSERT_OK(open_store(dir, &o, &s));
    arrival_mode = 1; /* received as numbered; event 0 dated 9999 */
    ASSERT_OK(append_range(s, 0, 3000));
    arrival_mode = 0;
    ASSERT_OK(trail_store_wait(s, 3000));
    wait_sealed(s);
    uint8_t(*leaves)[32] = malloc(3000 * 32);
    ASSERT_OK(store_leaf_range(s, 1, 3000, leaves));
    struct trail_store_stats before, after;
    ASSERT_OK(trail_store_stats(s, &before));

    /* by age of arrival: everything received before record 1000 was, the
     * first segment too although its first event claims to be from 9999 */
    struct trail_store_purge_report pr;
    ASSERT_OK(trail_store_purge(s, 1764000000000000LL + 1000 * 1000, 0, &pr));
    ASSERT(pr.segments >= 1);
    ASSERT_EQ(pr.from_seq, 1);
    ASSERT(pr.to_seq < 1000);
    ASSERT_EQ(pr.event_seq, 3001);
    ASSERT_EQ(trail_store_first_seq(s), pr.to_seq + 1);
    ASSERT_OK(trail_store_stats(s, &after));
    ASSERT_EQ(after.segments, before.segments - pr.segments);
    ASSERT_EQ(after.records, 3001 - pr.to_seq);

    /* the purge record */
    struct trail_event *ev;
    struct trail_store_iter *it;
    ASSERT_OK(trail_event_new(cat, "x", &ev));
    ASSERT_OK(trail_store_iter_new(s, TRAIL_ITER_BACKWARD, &it));
    ASSERT_EQ(trail_store_iter_next(it, ev), 1);
    ASSERT_STREQ(trail_event_id(ev), "trail_events_purged");
    ASSERT_EQ(trail_event_is_own(ev), 1); /* marked: verify trusts its anchor */
    struct trail_value v;
    ASSERT_OK(trail_event_attr_get(ev, "purged_to_seq", &v));
    ASSERT_EQ(v.u.i, (int64_t)pr.to_seq);
    ASSERT_OK(trail_event_attr_get(ev, "anchor", &v));
    ASSERT(v.u.str.len > 80 && memcmp(v.u.str.ptr, "size=", 5) == 0);
    ASSERT_OK(trail_event_attr_get(ev, "count", &v));
    ASSERT_EQ(v.u.i, (int64_t)pr.to_seq);
    ASSERT_OK(trail_event_attr_get(ev, "older_than", &v));
    ASSERT_EQ(v.u.time_us, 1764000000000000LL + 1000 * 1000);
    /* the record is a valid catalog event under the strictest policy */
    trail_catalog_set_policy(cat, TRAIL_POLICY_STRICT);
    int valid = trail_event_validate(ev);
    trail_catalog_set_policy(cat, TRAIL_POLICY_LENIENT);
    if (valid != 0)
        FAIL_AT("purge record invalid: %s", trail_event_error(ev));
    trail_store_iter_free(it);
    /* forward from 1 starts at the first record kept */
    ASSERT_OK(trail_store_iter_new(s, TRAIL_ITER_FORWARD, &it));
    ASSERT_OK(trail_store_iter_seek_seq(it, 1));
    ASSERT_EQ(trail_store_iter_next(it, ev), 1);
    ASSERT_EQ(trail_event_seq(ev), pr.to_seq + 1);
    trail_store_iter_free(it);
    trail_event_free(ev);

    /* what integrity needs survives: whole groups from tree.roots, group 1 from anchors */
    struct trail_leaf_array la = {(const uint8_t(*)[32])leaves, 3000};
    uint64_t ranges[][2] = {{0, 256}, {0, 512}, {256, 300}, {0, 2048}, {0, 3000}};
    for (size_t i = 0; i < TRAIL_ARRAY_SIZE(ranges); i++) {
        uint8_t a[32], b[32];
        ASSERT_OK(trail_store_subtree_hash(s, ranges[i][0], ranges[i][1], a));
        ASSERT_OK(trail_leaf_array_subtree_hash(&la, ranges[i][0], ranges[i][1], b));
        ASSERT_MEMEQ(a, b, 32);
    }
    uint8_t h[32];
    ASSERT_EQ(trail_store_subtree_hash(s, 0, 10, h), TRAIL_E_NOT_FOUND);

    /* by size: down to half of what is left */
    ASSERT_OK(trail_store_stats(s, &after));
    uint64_t target = after.segment_bytes / 2;
    ASSERT_OK(trail_store_purge(s, 0, target, &pr));
    ASSERT(pr.segments >= 1);
    ASSERT_OK(trail_store_stats(s, &after));
    ASSERT(after.segment_bytes <= target + (64 << 10) + 4096 || after.sealed_segments == 0);
    ASSERT_OK(trail_store_close(s));
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, NULL));
    ASSERT_EQ(trail_store_last_seq(s), 3002);
    ASSERT_OK(trail_store_close(s));
    free(leaves);
    remove_dir(dir);
}

/* The fault hook: fail writes or syncs while *arg says so. */
static int fail_op, fail_errno;
static int fault_cb(void *arg, int op, int fd)
{
    (void)arg;
    (void)fd;
    return __atomic_load_n(&fail_op, __ATOMIC_SEQ_CST) == op ? -fail_errno : 0;
}

TEST(write_failure)
{
    for (int round = 0; round < 4; round++) {
        int op = round % 2 ? TRAIL_STORE_OP_SYNC : TRAIL_STORE_OP_WRITE;
        char *dir = make_dir();
        struct trail_store *s;
        /* rounds 2 and 3: segments of 8 KiB, so the failing flushes also roll */
        struct trail_store_opts o = {.create = 1,
                                     .fsync_policy = TRAIL_FSYNC_ALWAYS,
                                     .segment_max_bytes = round >= 2 ? 8 << 10 : 0,
                                     .fault = fault_cb};
        fail_errno = op == TRAIL_STORE_OP_WRITE ? ENOSPC : EIO;
        ASSERT_OK(open_store(dir, &o, &s));
        ASSERT_OK(append_range(s, 0, 100));
        ASSERT_OK(trail_store_wait(s, 100));
        __atomic_store_n(&fail_op, op, __ATOMIC_SEQ_CST);
        struct trail_event *ev = make_event(999);
        uint64_t seq;
        ASSERT_OK(trail_store_append(s, &ev, 1, &seq));
        ASSERT_EQ(seq, 101);
        ASSERT_EQ(trail_store_wait(s, seq), -fail_errno);
        if (round >= 2) {
            /* a batch of 40 (several rolls) fails whole */
            usleep(150000);
            ASSERT_OK(append_range(s, 100, 140));
            ASSERT_EQ(trail_store_wait(s, 140), -fail_errno);
        }
        /* appends fail fast for a moment, then are taken (and fail) again */
        int r = trail_store_append(s, &ev, 1, &seq);
        ASSERT(r == -fail_errno || r == 0);
        __atomic_store_n(&fail_op, 0, __ATOMIC_SEQ_CST);
        for (int i = 0; i < 400 && (r = trail_store_append(s, &ev, 1, &seq)) < 0; i++)
            usleep(1000);
        ASSERT_OK(r);
        ASSERT_EQ(seq, 101); /* the failed records are not in the store */
        ASSERT_OK(trail_store_wait(s, seq));
        trail_event_free(ev);
        ASSERT_OK(append_range(s, 101, 200));
        ASSERT_OK(trail_store_wait(s, 200));
        ASSERT_OK(trail_store_close(s));
        ASSERT_OK(trail_store_open(dir, cat, NULL, &s, NULL));
        ASSERT_EQ(trail_store_last_seq(s), 200);
        struct trail_store_state st;
        uint8_t root[32], chain[32];
        ASSERT_OK(trail_store_state(s, &st));
        ASSERT_OK(recompute_root(s, 200, root, chain));
        ASSERT_MEMEQ(root, st.root, 32);
        ASSERT_OK(trail_store_close(s));
        remove_dir(dir);
    }
}

struct cp_seen {
    pthread_mutex_t lock; /* the hook runs on the flusher's thread */
    int calls;
    struct trail_store_state last;
};

static struct cp_seen cp_read(struct cp_seen *seen)
{
    pthread_mutex_lock(&seen->lock);
    struct cp_seen copy = *seen;
    pthread_mutex_unlock(&seen->lock);
    return copy;
}

static int checkpoint_cb(void *arg, struct trail_store *s, const struct trail_store_state *st)
{
    struct cp_seen *seen = arg;
    (void)s;
    pthread_mutex_lock(&seen->lock);
    seen->calls++;
    seen->last = *st;
    pthread_mutex_unlock(&seen->lock);
    return 0;
}

TEST(checkpoint_hook)
{
    char *dir = make_dir();
    struct trail_store *s;
    struct cp_seen seen = {.lock = PTHREAD_MUTEX_INITIALIZER};
    struct trail_store_opts o = {.create = 1,
                                 .checkpoint = checkpoint_cb,
                                 .checkpoint_arg = &seen,
                                 .checkpoint_every_events = 100,
                                 .checkpoint_every_ms = 3600000};
    ASSERT_OK(open_store(dir, &o, &s));
    for (int i = 0; i < 5; i++) {
        ASSERT_OK(append_range(s, i * 100, i * 100 + 100));
        ASSERT_OK(trail_store_wait(s, (uint64_t)(i * 100 + 100)));
    }
    /* every 100 durable records: called after the flush that made them durable */
    struct cp_seen now = cp_read(&seen);
    for (int i = 0; i < 200 && now.last.tree_size < 500; i++) {
        usleep(5000);
        now = cp_read(&seen);
    }
    ASSERT(now.calls >= 1);
    ASSERT_EQ(now.last.tree_size, 500);
    uint8_t root[32], chain[32];
    ASSERT_OK(recompute_root(s, 500, root, chain));
    ASSERT_MEMEQ(now.last.root, root, 32);
    ASSERT_MEMEQ(now.last.chain, chain, 32);
    ASSERT_OK(append_range(s, 500, 510));
    ASSERT_OK(trail_store_close(s)); /* at close, with the final state */
    ASSERT_EQ(seen.calls, now.calls + 1);
    ASSERT_EQ(seen.last.tree_size, 510);
    remove_dir(dir);
}

static char *seg_file(const char *dir, const char *ext)
{
    static char path[512];
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "ls %s/seg-*%s | tail -1", dir, ext);
    FILE *p = popen(cmd, "r");
    path[0] = '\0';
    if (p) {
        if (!fgets(path, sizeof(path), p))
            path[0] = '\0';
        pclose(p);
    }
    path[strcspn(path, "\n")] = '\0';
    return path;
}

/* store.meta missing or damaged: rebuilt from the first segment, and the report says which */
TEST(meta_rebuilt)
{
    char *dir = make_dir();
    struct trail_store *s;
    struct trail_store_report rep;
    struct trail_store_opts o = {.create = 1, .no_seal = 1};
    ASSERT_OK(open_store(dir, &o, &s));
    ASSERT_OK(append_range(s, 0, 20));
    ASSERT_OK(trail_store_close(s));
    char meta[4200];
    snprintf(meta, sizeof(meta), "%s/store.meta", dir);

    ASSERT_OK(unlink(meta));
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, &rep));
    ASSERT(strstr(rep.message, "store.meta: missing, rebuilt") != NULL);
    ASSERT_EQ(rep.records, 20);
    ASSERT_OK(trail_store_close(s));

    /* a byte of the store id flipped: the CRC no longer matches (an unknown magic or
       version is refused instead, as a store of a later version may have written it) */
    int fd = open(meta, O_RDWR);
    uint8_t byte;
    ASSERT_EQ(pread(fd, &byte, 1, 20), 1);
    byte ^= 0x01;
    ASSERT_EQ(pwrite(fd, &byte, 1, 20), 1);
    close(fd);
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, &rep));
    ASSERT(strstr(rep.message, "store.meta: damaged, rebuilt") != NULL);
    ASSERT_OK(check_records(s, 1, 20));
    ASSERT_OK(trail_store_close(s));
    remove_dir(dir);
}

TEST(recovery)
{
    char *dir = make_dir();
    struct trail_store *s;
    struct trail_store_report rep;
    struct trail_store_opts o = {.create = 1, .no_seal = 1};
    ASSERT_OK(open_store(dir, &o, &s));
    ASSERT_OK(append_range(s, 0, 200));
    ASSERT_OK(trail_store_close(s));
    char *path = seg_file(dir, ".open");
    struct stat st;
    ASSERT_OK(stat(path, &st));

    /* a torn tail: 5 bytes of the last frame missing */
    ASSERT_OK(truncate(path, st.st_size - 5));
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, &rep));
    ASSERT_EQ(rep.records, 199);
    ASSERT(rep.torn_bytes > 0);
    ASSERT(strstr(rep.message, "torn tail") != NULL);
    ASSERT_OK(append_range(s, 199, 200)); /* seq 200 again, the same content */
    ASSERT_OK(trail_store_close(s));
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, &rep));
    ASSERT_EQ(rep.records, 200);
    ASSERT_OK(check_records(s, 1, 200));
    ASSERT_OK(trail_store_close(s));

    /* a damaged frame in the middle: refused, read-only opens, repair cuts */
    ASSERT_OK(stat(path, &st));
    int fd = open(path, O_RDWR);
    uint8_t byte;
    off_t at = st.st_size / 2;
    ASSERT_EQ(pread(fd, &byte, 1, at), 1);
    byte ^= 0x40;
    ASSERT_EQ(pwrite(fd, &byte, 1, at), 1);
    close(fd);
    ASSERT_EQ(trail_store_open(dir, cat, &o, &s, &rep), TRAIL_E_CORRUPT);
    ASSERT(strstr(rep.message, "damaged frame at offset") != NULL);
    struct trail_store_opts ro = {.read_only = 1};
    ASSERT_OK(trail_store_open(dir, cat, &ro, &s, &rep));
    ASSERT_EQ(rep.damaged, 1);
    uint64_t kept = trail_store_last_seq(s);
    ASSERT(kept > 50 && kept < 150);
    ASSERT_OK(trail_store_close(s));
    struct trail_store_opts rp = {.repair = 1, .no_seal = 1};
    ASSERT_OK(trail_store_open(dir, cat, &rp, &s, &rep));
    ASSERT_EQ(trail_store_last_seq(s), kept);
    ASSERT(rep.repaired_bytes > 0);
    ASSERT_OK(check_records(s, 1, kept));
    ASSERT_OK(trail_store_close(s));
    remove_dir(dir);
}

TEST(half_sealed)
{
    char *dir = make_dir();
    struct trail_store *s;
    struct trail_store_report rep;
    struct trail_store_opts o = {.create = 1, .no_seal = 1, .segment_max_bytes = 32 << 10};
    ASSERT_OK(open_store(dir, &o, &s));
    ASSERT_OK(append_range(s, 0, 500));
    ASSERT_OK(trail_store_close(s));
    /* a .seg with no valid trailer beside the first .open: a crash while sealing */
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "f=$(ls %s/seg-*.open | head -1); head -c 3000 $f > ${f%%.open}.seg",
             dir);
    ASSERT_OK(system(cmd));
    snprintf(cmd, sizeof(cmd), "echo junk > %s/seg-0000000000000001.seg.tmp", dir);
    ASSERT_OK(system(cmd));
    o.no_seal = 0;
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, &rep));
    ASSERT_EQ(rep.resealed, 1);
    ASSERT_EQ(rep.leftovers, 1);
    ASSERT_EQ(rep.records, 500);
    wait_sealed(s);
    ASSERT_OK(check_records(s, 1, 500));
    ASSERT_OK(trail_store_close(s));
    /* sealed copies complete beside their .open files: the .open files go */
    snprintf(cmd, sizeof(cmd), "f=$(ls %s/seg-*.seg | head -1); head -c 100 $f > ${f%%.seg}.open",
             dir);
    ASSERT_OK(system(cmd));
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, &rep));
    ASSERT_EQ(rep.leftovers, 1);
    ASSERT_OK(check_records(s, 1, 500));
    ASSERT_OK(trail_store_close(s));
    remove_dir(dir);
}

/* rm LOCK once let a second writer in: the lock is on the directory itself */
TEST(lock_survives_rm)
{
    char *dir = make_dir(), path[600], want[64];
    struct trail_store *s, *s2 = NULL;
    struct trail_store_report rep;
    ASSERT_OK(open_store(dir, NULL, &s));
    snprintf(path, sizeof(path), "%s/LOCK", dir);
    ASSERT_OK(unlink(path));
    struct trail_store_opts o = {.create = 1};
    ASSERT_EQ(trail_store_open(dir, cat, &o, &s2, &rep), TRAIL_E_LOCKED);
    snprintf(want, sizeof(want), "held by pid %ld", (long)getpid());
    ASSERT(strstr(rep.message, want) != NULL);
    ASSERT_OK(trail_store_close(s));
    ASSERT_OK(trail_store_open(dir, cat, &o, &s2, &rep)); /* released at close */
    ASSERT_OK(trail_store_close(s2));
    remove_dir(dir);
}

/* Append n events and wait for them: the first error of either step. */
static int append_wait(struct trail_store *s, int from, int to)
{
    int r = append_range(s, from, to);
    return r < 0 ? r : trail_store_wait(s, trail_store_last_seq(s));
}

/* The active segment removed under the writer: nothing more acknowledged, what it held rescued. */
TEST(tamper_segment)
{
    char *dir = make_dir(), seg[512], reason[1024], cmd[1200];
    struct trail_store *s;
    struct trail_store_opts o = {.create = 1, .no_seal = 1};
    ASSERT_OK(open_store(dir, &o, &s));
    ASSERT_OK(append_wait(s, 0, 100));
    ASSERT_EQ(trail_store_tampered(s, reason, sizeof(reason), NULL), 0);
    snprintf(seg, sizeof(seg), "%s", seg_file(dir, ".open"));
    ASSERT_OK(unlink(seg));
    ASSERT_EQ(append_wait(s, 100, 110), TRAIL_E_TAMPERED);
    ASSERT_EQ(append_range(s, 110, 111), TRAIL_E_TAMPERED); /* for good */
    uint64_t seq = 0;
    ASSERT_EQ(trail_store_tampered(s, reason, sizeof(reason), &seq), TRAIL_E_TAMPERED);
    ASSERT_EQ(seq, 100);
    ASSERT(strstr(reason, ".open was removed or renamed while open") != NULL);
    ASSERT(strstr(reason, ".open.rescued-") != NULL);
    trail_store_close(s);
    /* the rescued copy holds the 100 acknowledged records, and only them */
    snprintf(cmd, sizeof(cmd), "mv %s.rescued-* %s", seg, seg);
    ASSERT_OK(system(cmd));
    ASSERT_OK(open_store(dir, &o, &s));
    ASSERT_EQ(trail_store_last_seq(s), 100);
    ASSERT_OK(check_records(s, 1, 100));
    ASSERT_OK(trail_store_close(s));
    remove_dir(dir);
}

/* tree.roots replaced while the writer is idle: found by the idle check, within seconds. */
TEST(tamper_roots_idle)
{
    char *dir = make_dir(), cmd[600], reason[1024];
    struct trail_store *s;
    ASSERT_OK(open_store(dir, NULL, &s));
    ASSERT_OK(append_wait(s, 0, 300));
    snprintf(cmd, sizeof(cmd), "cp %s/tree.roots %s/x && mv %s/x %s/tree.roots", dir, dir, dir,
             dir);
    ASSERT_OK(system(cmd));
    int r = 0;
    for (int i = 0; i < 600 && r == 0; i++) { /* a deadline of 60 s, not a timing claim */
        usleep(100000);
        r = trail_store_tampered(s, reason, sizeof(reason), NULL);
    }
    ASSERT_EQ(r, TRAIL_E_TAMPERED);
    ASSERT(strstr(reason, "tree.roots was replaced by another file while open") != NULL);
    ASSERT_EQ(append_range(s, 300, 301), TRAIL_E_TAMPERED);
    trail_store_close(s);
    remove_dir(dir);
}

/* A store below its own claims refuses to open, unless its last seq is named. */
TEST(shorter_refused)
{
    char *dir = make_dir(), cmd[600];
    struct trail_store *s = NULL;
    struct trail_store_report rep;
    struct trail_store_opts o = {.create = 1, .no_seal = 1, .segment_max_bytes = 64 << 10};
    ASSERT_OK(open_store(dir, &o, &s));
    ASSERT_OK(append_wait(s, 0, 700));
    ASSERT_OK(trail_store_close(s));
    /* the newest segment goes: tree.roots still has the roots of 512 records */
    snprintf(cmd, sizeof(cmd), "rm $(ls %s/seg-*.open | tail -1)", dir);
    ASSERT_OK(system(cmd));
    ASSERT_EQ(trail_store_open(dir, cat, &o, &s, &rep), TRAIL_E_SHORTER);
    uint64_t last = rep.last_seq;
    ASSERT(last < 512);
    ASSERT_EQ(rep.claimed_seq, 512);
    ASSERT(strstr(rep.message, "tree.roots: holds the roots of 512 records") != NULL);
    ASSERT(strstr(rep.message, "accept_truncation = ") != NULL);
    o.accept_truncation = 1;
    o.accept_truncation_to = last + 1; /* not the store's last seq */
    ASSERT_EQ(trail_store_open(dir, cat, &o, &s, &rep), TRAIL_E_SHORTER);
    o.accept_truncation_to = last;
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, &rep));
    ASSERT_EQ(rep.truncation_accepted, 1);
    ASSERT_OK(check_records(s, 1, last));
    ASSERT_OK(append_wait(s, (int)last, 700)); /* the same records again */
    ASSERT_OK(trail_store_close(s));
    snprintf(cmd, sizeof(cmd), "ls %s/tree.roots.truncated-* >/dev/null", dir);
    ASSERT_OK(system(cmd));
    /* the claims agree with the records again: no acceptance needed */
    struct trail_store_opts plain = {.no_seal = 1};
    ASSERT_OK(trail_store_open(dir, cat, &plain, &s, &rep));
    ASSERT_EQ(rep.truncation_accepted, 0);
    ASSERT_OK(check_records(s, 1, 700));
    ASSERT_OK(trail_store_close(s));
    remove_dir(dir);
}

static void setup(void)
{
    if (trail_catalog_new(&cat) < 0)
        abort();
    trail_catalog_set_policy(cat, TRAIL_POLICY_LENIENT);
}

int run(void);
int main(void)
{
    setup();
    int r = run();
    trail_catalog_free(cat);
    return r;
}

#define main run
TEST_MAIN(crc32c, record_roundtrip, record_provenance, record_version_1, duplicates,
          append_iterate_reopen, interval_longer_than_check, roll_seal_seek, iter_head_and_decode,
          purge, write_failure, checkpoint_hook, meta_rebuilt, recovery, half_sealed,
          lock_survives_rm, tamper_segment, tamper_roots_idle, shorter_refused)
