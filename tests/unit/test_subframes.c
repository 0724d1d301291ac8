/*
 * test_subframes.c - sealed segments of format versions 2 and 3: each block a
 * table and sub-frames compressed with the segment's dictionary
 * (lib/store/segment.h); version 3 (what sealing writes) stores each
 * frame's CRC and record seq as zero, and readers put them back. Sealing
 * writes them; the whole block and each
 * sub-frame on its own decompress to the same bytes; a table that does not
 * add up is refused; a search that reads a few records decompresses only
 * the sub-frames that hold them, and finds what a scan of the store finds.
 *
 * The upgrade path: the checked-in store of the first format appended to
 * until its open segment is sealed as version 3, then read across both;
 * the version 2 fixture (tests/data/index-format-1) read by test_index.c.
 *
 * Not here: trail and traild on the first format's store
 * (tests/integration/store_upgrade.sh), the index's terms
 * (test_index.c), searching in general (test_query_oracle.c).
 */
#include "harness.h"
#include "query/query.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define N_EVENTS 16000

static struct trail_catalog *cat;
static char dir[64];
static struct trail_store *s;

/* A store of N_EVENTS generator events in 4 MiB segments of 1 MiB blocks (the default), sealed. */
TEST(setup)
{
    if (trail_catalog_new(&cat) < 0)
        abort();
    strcpy(dir, "/tmp/trail-test-subframes-XXXXXX");
    if (!mkdtemp(dir))
        abort();
    struct trail_store_opts o = {.create = 1, .segment_max_bytes = 4 << 20};
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, NULL));
    struct trail_loadgen_opts lo = {.seed = 7, .users = 500, .days = 1, .events = N_EVENTS};
    struct trail_loadgen *gen;
    ASSERT_OK(trail_loadgen_new(cat, &lo, &gen));
    struct trail_event *ev[100];
    for (int i = 0; i < 100; i++)
        ASSERT_OK(trail_event_new(cat, "x", &ev[i]));
    uint64_t last = 0;
    for (int done = 0; done < N_EVENTS; done += 100) {
        for (int i = 0; i < 100; i++) {
            trail_event_reset(ev[i], "x", 1);
            ASSERT_OK(trail_loadgen_next(gen, ev[i]));
        }
        ASSERT_OK(trail_store_append(s, ev, 100, &last));
    }
    ASSERT_OK(trail_store_wait(s, last));
    for (int i = 0; i < 100; i++)
        trail_event_free(ev[i]);
    trail_loadgen_free(gen);
    /* sealing runs in the background: wait for every segment but the active one */
    struct trail_store_stats st;
    for (int i = 0; i < 6000; i++) {
        trail_store_stats(s, &st);
        if (st.segments > 1 && st.sealed_segments + 1 >= st.segments)
            break;
        usleep(10000);
    }
    ASSERT(st.sealed_segments >= 1);
}

static int open_first_sealed(struct seg_sealed *ss)
{
    char path[4200];
    store_seg_path(s, 1, ".seg", path, sizeof(path));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && seg_sealed_load(fd, ss) < 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

TEST(blocks_and_subframes_decompress_alike)
{
    struct seg_sealed ss = {0};
    int fd = open_first_sealed(&ss);
    ASSERT(fd >= 0);
    ASSERT_EQ(ss.h.version, TRAIL_SEG_VERSION_LEAN);
    ASSERT(ss.ddict != NULL);
    ASSERT(ss.h.dict_len >= TRAIL_FRAME_HEAD && ss.h.dict_len <= TRAIL_SEG_DICT_MAX);
    ASSERT(ss.n_blocks >= 3);
    ZSTD_DCtx *d = ZSTD_createDCtx();
    struct trail_buf comp = {0}, raw = {0};
    uint8_t *part = malloc(2 << 20);
    for (uint32_t b = 0; b < ss.n_blocks; b++) {
        const struct seg_block *blk = &ss.blocks[b];
        ASSERT_OK(seg_block_read(fd, blk, d, &comp, &raw));
        ASSERT_EQ(raw.len, blk->raw_len);
        struct seg_subframe *sub = NULL;
        uint32_t n = 0;
        ASSERT_OK(seg_block_frames(blk, (const uint8_t *)comp.data, blk->comp_len, &sub, &n));
        /* 1 MiB blocks of ~32 KiB sub-frames (the last block may be short) */
        ASSERT(n >= 1 && n <= 34);
        if (b + 1 < ss.n_blocks)
            ASSERT(n >= 24);
        uint32_t records = 0;
        for (uint32_t k = 0; k < n; k++) {
            ASSERT_EQ(sub[k].first, records);
            ASSERT(sub[k].raw_len <= 64 << 10);
            ASSERT_OK(seg_subframe_read(blk, (const uint8_t *)comp.data, &sub[k], d, part));
            ASSERT(memcmp(part, (const uint8_t *)raw.data + sub[k].raw_off, sub[k].raw_len) == 0);
            /* a sub-frame starts with a whole frame of its first record, its seq back (a
               version 3 frame carries no CRC) */
            const uint8_t *f = part;
            ASSERT_EQ(record_seq(f + TRAIL_FRAME_HEAD), blk->first_seq + sub[k].first);
            ASSERT_EQ(get_u32(f + 4), 0);
            records += sub[k].count;
        }
        ASSERT_EQ(records, blk->count);
        /* the table needs more bytes than 12 when there is more than nothing in it */
        uint32_t need = 0;
        struct seg_subframe *none = NULL;
        ASSERT_EQ(seg_block_frames(blk, (const uint8_t *)comp.data, 12, &none, &need), -EAGAIN);
        ASSERT_EQ(need, 12 + 12 * n);
        /* a table whose counts do not add up to the block's is refused */
        uint8_t *bad = malloc(blk->comp_len);
        memcpy(bad, comp.data, blk->comp_len);
        put_u32(bad + 12, get_u32(bad + 12) + 1);
        ASSERT_EQ(seg_block_frames(blk, bad, blk->comp_len, &none, &need), TRAIL_E_CORRUPT);
        memcpy(bad, comp.data, blk->comp_len);
        put_u32(bad + 20, get_u32(bad + 20) + 1); /* a compressed length */
        ASSERT_EQ(seg_block_frames(blk, bad, blk->comp_len, &none, &need), TRAIL_E_CORRUPT);
        free(bad);
        free(sub);
    }
    /* without the dictionary a sub-frame does not decompress: it is needed */
    struct seg_block nodict = ss.blocks[0];
    ASSERT_OK(seg_block_read(fd, &ss.blocks[0], d, &comp, &raw));
    size_t got = ZSTD_decompressDCtx(d, part, 2 << 20, comp.data, nodict.comp_len);
    ASSERT(ZSTD_isError(got) || got != nodict.raw_len || memcmp(part, raw.data, raw.len) != 0);
    free(part);
    trail_buf_free(&comp);
    trail_buf_free(&raw);
    ZSTD_freeDCtx(d);
    seg_sealed_free(&ss);
    close(fd);
}

/* The seqs of the first n events of user, by a scan of the store (the oracle). */
static size_t scan_first(const char *user, uint64_t *seqs, size_t n)
{
    struct trail_store_iter *it;
    struct trail_event *ev;
    size_t k = 0;
    if (trail_store_iter_new(s, TRAIL_ITER_FORWARD, &it) < 0 || trail_event_new(cat, "x", &ev) < 0)
        abort();
    while (k < n && trail_store_iter_next(it, ev) == 1) {
        struct trail_value v;
        if (trail_event_attr_get(ev, "duser", &v) == 0 && v.u.str.len == strlen(user) &&
            memcmp(v.u.str.ptr, user, v.u.str.len) == 0)
            seqs[k++] = trail_event_seq(ev);
    }
    trail_event_free(ev);
    trail_store_iter_free(it);
    return k;
}

TEST(a_search_decompresses_only_its_subframes)
{
    struct seg_sealed ss = {0};
    int fd = open_first_sealed(&ss);
    ASSERT(fd >= 0);
    uint32_t block_raw = ss.blocks[0].raw_len;
    seg_sealed_free(&ss);
    close(fd);
    /* the first user whose oldest three events come within CLOSE records of each other (one
       sign-in's events do): they lie in one or two sub-frames of a block */
    enum { CLOSE = 24, USERS = 512 };
    static char names[USERS][128];
    static uint64_t firsts[USERS][3];
    static size_t counts[USERS];
    size_t n_users = 0, pick = USERS;
    struct trail_store_iter *it;
    struct trail_event *ev;
    ASSERT_OK(trail_store_iter_new(s, TRAIL_ITER_FORWARD, &it));
    ASSERT_OK(trail_event_new(cat, "x", &ev));
    while (pick == USERS && trail_store_iter_next(it, ev) == 1) {
        struct trail_value v;
        if (trail_event_attr_get(ev, "duser", &v) != 0 || v.u.str.len >= sizeof(names[0]))
            continue;
        size_t k = 0;
        while (k < n_users && !(strlen(names[k]) == v.u.str.len &&
                                memcmp(names[k], v.u.str.ptr, v.u.str.len) == 0))
            k++;
        if (k == n_users && n_users == USERS)
            continue;
        if (k == n_users)
            snprintf(names[n_users++], sizeof(names[0]), "%.*s", (int)v.u.str.len, v.u.str.ptr);
        if (counts[k] < 3)
            firsts[k][counts[k]++] = trail_event_seq(ev);
        if (counts[k] == 3 && firsts[k][2] - firsts[k][0] <= CLOSE)
            pick = k;
    }
    trail_store_iter_free(it);
    ASSERT(pick < USERS);
    const char *user = names[pick];
    uint64_t want[3];
    ASSERT_EQ(scan_first(user, want, 3), 3);
    ASSERT_EQ(want[0], firsts[pick][0]);

    struct trail_index *ix;
    ASSERT_OK(trail_index_open(s, NULL, &ix));
    struct trail_query *q;
    char err[256], where[160];
    ASSERT_OK(trail_query_new(cat, &q));
    snprintf(where, sizeof(where), "duser=%s", user);
    ASSERT_OK(trail_query_set(q, "where", where, err, sizeof(err)));
    ASSERT_OK(trail_query_set(q, "order", "oldest", err, sizeof(err)));
    ASSERT_OK(trail_query_set(q, "limit", "3", err, sizeof(err)));
    for (int round = 0; round < 2; round++) { /* cold, then from the cache */
        struct trail_results *res;
        ASSERT_OK(trail_results_open(ix, q, &res, err, sizeof(err)));
        uint64_t rows = 0;
        int r;
        while ((r = trail_results_next(res, ev)) == 1) {
            ASSERT(rows < 3);
            ASSERT_EQ(trail_event_seq(ev), want[rows]);
            rows++;
        }
        ASSERT_EQ(r, 0);
        ASSERT_EQ(rows, 3);
        trail_results_free(res);
        struct trail_index_stats xs;
        ASSERT_OK(trail_index_stats(ix, &xs));
        /*
         * three records are in at most three sub-frames: every block read holds
         * less than half of itself (a block read whole holds all of it)
         */
        ASSERT(xs.cache_misses >= 1);
        if (xs.cache_bytes >= xs.cache_misses * (uint64_t)block_raw / 2)
            printf("  cache: %llu bytes, %llu misses, %u a block\n",
                   (unsigned long long)xs.cache_bytes, (unsigned long long)xs.cache_misses,
                   block_raw);
        ASSERT(xs.cache_bytes < xs.cache_misses * (uint64_t)block_raw / 2);
    }
    ASSERT_EQ(qindex_cache_drop(ix), 0);
    struct trail_index_stats xs;
    ASSERT_OK(trail_index_stats(ix, &xs));
    ASSERT_EQ(xs.cache_bytes, 0);
    trail_query_free(q);
    trail_event_free(ev);
    trail_index_close(ix);
}

/*
 * The .idx the sealer writes, built from the blocks' frames as they were
 * compressed, is byte for byte the one built by reading the sealed segment
 * back (what the sweep and a search do when it is missing): the same units,
 * parts (the sub-frames), terms and rollups.
 */
TEST(index_built_while_sealing_is_the_one_read_back)
{
    char path[4200];
    idx_path(s, 1, path, sizeof(path));
    struct stat st;
    for (int i = 0; i < 3000 && stat(path, &st) != 0; i++)
        usleep(10000); /* written just after the segment counts as sealed */
    ASSERT_EQ(stat(path, &st), 0);
    ASSERT(st.st_size > 0);
    uint8_t *written = malloc((size_t)st.st_size);
    ASSERT(written != NULL);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ASSERT(fd >= 0);
    ASSERT_EQ(pread(fd, written, (size_t)st.st_size, 0), st.st_size);
    close(fd);
    struct trail_buf rebuilt = {0};
    ASSERT_OK(idx_build_sealed(s, 1, &rebuilt));
    ASSERT_EQ(rebuilt.len, (size_t)st.st_size);
    ASSERT(memcmp(rebuilt.data, written, rebuilt.len) == 0);
    struct qindex v;
    ASSERT_OK(qindex_view(written, rebuilt.len, s->store_id, &v));
    ASSERT(v.n_units >= 2); /* more than one block, each of several parts */
    qindex_free(&v);
    trail_buf_free(&rebuilt);
    free(written);
}

/*
 * Version 3 on disk: a block decompressed by zstd alone holds every frame
 * with zeros for its CRC and its record's seq (what the format saves: ~5
 * bytes an event); seg_block_read gives the seqs back, in order, and leaves
 * the CRC zero (the frame carries none: the block's CRC-32C covers it); a
 * stored field that is not zero, or a frame that runs past the block, is
 * damage.
 */
TEST(lean_frames_stored_without_crc_and_seq)
{
    struct seg_sealed ss = {0};
    int fd = open_first_sealed(&ss);
    ASSERT(fd >= 0);
    const struct seg_block *blk = &ss.blocks[1];
    ASSERT(blk->lean);
    ZSTD_DCtx *d = ZSTD_createDCtx();
    struct trail_buf comp = {0}, raw = {0};
    ASSERT_OK(seg_block_read(fd, blk, d, &comp, &raw));
    uint8_t *stored = malloc(blk->raw_len);
    ASSERT(stored != NULL);
    size_t n =
        ZSTD_decompress_usingDDict(d, stored, blk->raw_len, comp.data, blk->comp_len, ss.ddict);
    ASSERT_EQ(n, blk->raw_len);
    uint32_t frames = 0;
    uint64_t seq = blk->first_seq;
    const uint8_t *p = stored, *q = (const uint8_t *)raw.data;
    for (size_t off = 0; off < n; frames++, seq++) {
        uint32_t len = get_u32(p + off);
        ASSERT_EQ(len, get_u32(q + off));
        ASSERT_EQ(get_u32(p + off + 4), 0);
        ASSERT_EQ(record_seq(p + off + TRAIL_FRAME_HEAD), 0);
        ASSERT_EQ(record_seq(q + off + TRAIL_FRAME_HEAD), seq);
        ASSERT_EQ(get_u32(q + off + 4), 0);
        /* everything else as stored */
        ASSERT(memcmp(p + off + TRAIL_FRAME_HEAD + 9, q + off + TRAIL_FRAME_HEAD + 9, len - 9) ==
               0);
        off += TRAIL_FRAME_HEAD + len;
    }
    ASSERT_EQ(frames, blk->count);

    uint8_t *copy = malloc(n);
    memcpy(copy, stored, n);
    ASSERT_OK(seg_frames_restore(copy, n, blk->first_seq));
    ASSERT(memcmp(copy, raw.data, n) == 0);
    memcpy(copy, stored, n);
    copy[4] = 1; /* a CRC stored */
    ASSERT_EQ(seg_frames_restore(copy, n, blk->first_seq), TRAIL_E_CORRUPT);
    memcpy(copy, stored, n);
    copy[TRAIL_FRAME_HEAD + 1] = 1; /* a seq stored */
    ASSERT_EQ(seg_frames_restore(copy, n, blk->first_seq), TRAIL_E_CORRUPT);
    memcpy(copy, stored, n);
    put_u32(copy, (uint32_t)n); /* a frame longer than the block */
    ASSERT_EQ(seg_frames_restore(copy, n, blk->first_seq), TRAIL_E_CORRUPT);
    memcpy(copy, stored, n);
    ASSERT_EQ(seg_frames_restore(copy, n - 1, blk->first_seq), TRAIL_E_CORRUPT); /* cut short */
    free(copy);
    free(stored);
    ZSTD_freeDCtx(d);
    trail_buf_free(&comp);
    trail_buf_free(&raw);
    seg_sealed_free(&ss);
    close(fd);
}

/* The format version of a segment file (bytes 8..9 of its header). */
static int file_version(const char *path)
{
    uint8_t h[10];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? pread(fd, h, sizeof(h), 0) : -1;
    if (fd >= 0)
        close(fd);
    return n == (ssize_t)sizeof(h) ? get_u16(h + 8) : -1;
}

/*
 * The upgrade path: the checked-in store of the first format (a version 1
 * sealed segment and an open one, tests/data/store-format-1) opened by
 * today's writer, appended to until its open segment is sealed as version
 * 3; then every record reads back in order and a search finds across both
 * versions what a scan finds.
 */
TEST(version_1_and_3_in_one_store)
{
    const char *src = getenv("TRAIL_SOURCE_DIR");
    if (!src) {
        printf("  TRAIL_SOURCE_DIR not set (ctest sets it)\n");
        ASSERT(src != NULL);
    }
    char up[64], cmd[4400];
    strcpy(up, "/tmp/trail-test-upgrade-XXXXXX");
    ASSERT(mkdtemp(up) != NULL);
    snprintf(cmd, sizeof(cmd), "cp -r '%s/tests/data/store-format-1/store/.' '%s/'", src, up);
    ASSERT_EQ(system(cmd), 0);
    struct trail_store_opts o = {.segment_max_bytes = 256 << 10};
    struct trail_store *u;
    ASSERT_OK(trail_store_open(up, cat, &o, &u, NULL));
    struct trail_loadgen_opts lo = {.seed = 11, .users = 20, .days = 1, .events = 3000};
    struct trail_loadgen *gen;
    ASSERT_OK(trail_loadgen_new(cat, &lo, &gen));
    struct trail_event *ev[100];
    for (int i = 0; i < 100; i++)
        ASSERT_OK(trail_event_new(cat, "x", &ev[i]));
    uint64_t last = 0;
    for (int done = 0; done < 3000; done += 100) {
        for (int i = 0; i < 100; i++) {
            trail_event_reset(ev[i], "x", 1);
            ASSERT_OK(trail_loadgen_next(gen, ev[i]));
        }
        ASSERT_OK(trail_store_append(u, ev, 100, &last));
    }
    ASSERT_OK(trail_store_wait(u, last));
    trail_loadgen_free(gen);
    struct trail_store_stats st;
    for (int i = 0; i < 6000; i++) { /* sealing is in the background: a deadline, not a sleep */
        trail_store_stats(u, &st);
        if (st.sealed_segments >= 2 && st.sealed_segments + 1 >= st.segments)
            break;
        usleep(10000);
    }
    ASSERT(st.sealed_segments >= 2);
    char path[4200];
    store_seg_path(u, 1, ".seg", path, sizeof(path));
    ASSERT_EQ(file_version(path), 1); /* never rewritten */
    store_seg_path(u, 0xa0, ".seg", path, sizeof(path));
    ASSERT_EQ(file_version(path), 3); /* the fixture's open segment, sealed today */
    ASSERT_EQ(trail_store_scrub(u), 0);

    /* every record, in order, across both versions */
    struct trail_store_iter *it;
    ASSERT_OK(trail_store_iter_new(u, TRAIL_ITER_FORWARD, &it));
    uint64_t next = 1;
    int r;
    while ((r = trail_store_iter_next(it, ev[0])) == 1) {
        ASSERT_EQ(trail_event_seq(ev[0]), next);
        next++;
    }
    ASSERT_EQ(r, 0);
    ASSERT_EQ(next, last + 1);
    trail_store_iter_free(it);

    /* a user of the fixture, searched for through the index, against a scan */
    const char *user = "anna.lindqvist";
    static uint64_t want[4096];
    size_t n_want = 0;
    ASSERT_OK(trail_store_iter_new(u, TRAIL_ITER_FORWARD, &it));
    while (trail_store_iter_next(it, ev[0]) == 1) {
        struct trail_value v;
        if (trail_event_attr_get(ev[0], "duser", &v) == 0 && v.u.str.len == strlen(user) &&
            memcmp(v.u.str.ptr, user, v.u.str.len) == 0 && n_want < 4096)
            want[n_want++] = trail_event_seq(ev[0]);
    }
    trail_store_iter_free(it);
    ASSERT(n_want >= 30); /* the fixture's 32 (store_upgrade.sh lists them) */
    struct trail_index *ix;
    ASSERT_OK(trail_index_open(u, NULL, &ix));
    struct trail_query *q;
    char err[256];
    ASSERT_OK(trail_query_new(cat, &q));
    ASSERT_OK(trail_query_set(q, "where", "duser=anna.lindqvist", err, sizeof(err)));
    ASSERT_OK(trail_query_set(q, "order", "oldest", err, sizeof(err)));
    ASSERT_OK(trail_query_set(q, "limit", "0", err, sizeof(err)));
    struct trail_results *res;
    ASSERT_OK(trail_results_open(ix, q, &res, err, sizeof(err)));
    size_t got = 0;
    while ((r = trail_results_next(res, ev[0])) == 1) {
        ASSERT(got < n_want);
        ASSERT_EQ(trail_event_seq(ev[0]), want[got]);
        got++;
    }
    ASSERT_EQ(r, 0);
    ASSERT_EQ(got, n_want);
    trail_results_free(res);
    trail_query_free(q);
    trail_index_close(ix);
    for (int i = 0; i < 100; i++)
        trail_event_free(ev[i]);
    ASSERT_OK(trail_store_close(u));
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", up);
    ASSERT_EQ(system(cmd), 0);
}

TEST(teardown)
{
    ASSERT_OK(trail_store_close(s));
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ASSERT_EQ(system(cmd), 0);
    trail_catalog_free(cat);
}

TEST_MAIN(setup, blocks_and_subframes_decompress_alike, lean_frames_stored_without_crc_and_seq,
          index_built_while_sealing_is_the_one_read_back, a_search_decompresses_only_its_subframes,
          version_1_and_3_in_one_store, teardown)
