/*
 * test_query_parts.c - word postings that name a block's parts (its
 * sub-frames, docs/format.md "Indexes"): text searches for rare and
 * common words, alone and together, in every order, against a brute-force
 * scan of the events the test appended, with the store's .idx files as
 * sealing wrote them (parts) and again with every .idx written over with
 * one part per unit (the postings name blocks only, as before parts): the
 * same answers both ways. A rare word's postings name exactly the
 * sub-frames holding it, and a search or an export of it decompresses
 * those, not its blocks. The index format before parts (version 1, the checked-in
 * tests/data/index-format-1, made by make_index_fixture.c) is read as it
 * is by a reader and written again as version 2 by a writer.
 *
 * Not here: the .idx bytes (test_index.c), random filters
 * (test_query_oracle.c), the text semantics word by word
 * (test_query_text.c).
 */
#include "harness.h"
#include "query/query.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define N_EVENTS 16000

static struct trail_catalog *cat;
static char dir[64];
static struct trail_store *s;
static struct trail_event **mem; /* the events appended, in seq order: mem[seq - 1] */
static size_t n_mem;

/* Where the planted words go (event numbers, 0-based = seq - 1). */
static const size_t quokka_at[] = {50, 1500, 2950, 4500, 7000, 7001, 15990};
static const size_t both_at[] = {2001, 9000, 15995}; /* "quokka wombat" */
#define WOMBAT_EVERY 97
#define NUMBATS      40

static int planted(size_t i, const size_t *at, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (at[k] == i)
            return 1;
    return 0;
}

/* ---- the brute force: docs/query.md's text rule over the events in memory ---- */

static int word_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

/* Does text hold item (lower case) at word boundaries, in any ASCII case? */
static int has_item(const char *text, const char *item)
{
    size_t n = strlen(text), m = strlen(item);
    for (size_t i = 0; i + m <= n; i++) {
        size_t j = 0;
        while (j < m && (text[i + j] >= 'A' && text[i + j] <= 'Z' ? text[i + j] + 32
                                                                  : text[i + j]) == item[j])
            j++;
        if (j == m &&
            (!word_char((unsigned char)item[0]) || i == 0 ||
             !word_char((unsigned char)text[i - 1])) &&
            (!word_char((unsigned char)item[m - 1]) || i + m == n ||
             !word_char((unsigned char)text[i + m])))
            return 1;
    }
    return 0;
}

/* Every item of the space-separated text is in some attribute value (times aside). */
static int bf_match(const struct trail_event *ev, const char *text)
{
    char items[256], *save = NULL;
    snprintf(items, sizeof(items), "%s", text);
    for (size_t i = 0; items[i]; i++)
        if (items[i] >= 'A' && items[i] <= 'Z')
            items[i] = (char)(items[i] + 32);
    for (char *it = strtok_r(items, " ", &save); it; it = strtok_r(NULL, " ", &save)) {
        int found = 0;
        for (size_t k = 0; k < trail_event_attr_count(ev) && !found; k++) {
            const char *key;
            struct trail_value v;
            char buf[8300];
            trail_event_attr_at(ev, k, &key, &v);
            if (v.type == TRAIL_TYPE_TIME)
                continue;
            trail_value_format(&v, buf, sizeof(buf));
            found = has_item(buf, it);
        }
        if (!found)
            return 0;
    }
    return 1;
}

static int cmp_time_seq(const void *a, const void *b)
{
    const struct trail_event *x = mem[*(const uint64_t *)a - 1], *y = mem[*(const uint64_t *)b - 1];
    int64_t tx = trail_event_time(x), ty = trail_event_time(y);
    if (tx != ty)
        return tx < ty ? -1 : 1;
    uint64_t sx = *(const uint64_t *)a, sy = *(const uint64_t *)b;
    return sx < sy ? -1 : sx > sy;
}

/* The seqs the brute force selects for text in order (the first limit, 0: all). */
static size_t bf_search(const char *text, const char *order, size_t limit, uint64_t *out)
{
    /* the scan of the last text asked, kept: each text is asked in every order and limit */
    static char last[256];
    static const struct trail_event *const *last_mem;
    static uint64_t *found;
    static size_t n_found;
    if (strcmp(last, text) != 0 || last_mem != (const struct trail_event *const *)mem) {
        free(found);
        found = malloc((n_mem ? n_mem : 1) * sizeof(*found));
        n_found = 0;
        for (size_t i = 0; i < n_mem; i++)
            if (bf_match(mem[i], text))
                found[n_found++] = i + 1;
        snprintf(last, sizeof(last), "%s", text);
        last_mem = (const struct trail_event *const *)mem;
    }
    size_t n = n_found;
    memcpy(out, found, n * sizeof(*out));
    if (!strcmp(order, "newest"))
        for (size_t i = 0; i < n / 2; i++) {
            uint64_t t = out[i];
            out[i] = out[n - 1 - i];
            out[n - 1 - i] = t;
        }
    if (!strcmp(order, "time") || !strcmp(order, "-time"))
        qsort(out, n, sizeof(*out), cmp_time_seq);
    if (!strcmp(order, "-time"))
        for (size_t i = 0; i < n / 2; i++) {
            uint64_t t = out[i];
            out[i] = out[n - 1 - i];
            out[n - 1 - i] = t;
        }
    return limit && n > limit ? limit : n;
}

/* The seqs the index answers for text in order. */
static size_t ix_search(struct trail_index *ix, const char *text, const char *order, size_t limit,
                        uint64_t *out)
{
    struct trail_query *q;
    struct trail_results *res;
    struct trail_event *ev;
    char err[256], lim[32];
    snprintf(lim, sizeof(lim), "%zu", limit);
    if (trail_query_new(cat, &q) < 0 || trail_query_set(q, "text", text, err, sizeof(err)) < 0 ||
        trail_query_set(q, "order", order, err, sizeof(err)) < 0 ||
        trail_query_set(q, "limit", lim, err, sizeof(err)) < 0 ||
        trail_results_open(ix, q, &res, err, sizeof(err)) < 0 || trail_event_new(cat, "x", &ev) < 0)
        abort();
    size_t n = 0;
    int r;
    while ((r = trail_results_next(res, ev)) == 1)
        out[n++] = trail_event_seq(ev);
    if (r < 0)
        abort();
    trail_event_free(ev);
    trail_results_free(res);
    trail_query_free(q);
    return n;
}

/* The .idx files in d. */
static int idx_files(const char *d)
{
    DIR *dd = opendir(d);
    struct dirent *de;
    int n = 0;
    while (dd && (de = readdir(dd))) {
        size_t l = strlen(de->d_name);
        n += l > 4 && strcmp(de->d_name + l - 4, ".idx") == 0;
    }
    if (dd)
        closedir(dd);
    return n;
}

/* Wait until every segment but the active one is sealed and has its .idx (deadline 60 s). */
static void wait_sealed(struct trail_store *st, const char *d)
{
    for (int i = 0; i < 6000; i++) {
        struct trail_store_stats ss;
        trail_store_stats(st, &ss);
        if (ss.segments > 1 && ss.sealed_segments + 1 >= ss.segments &&
            idx_files(d) >= (int)ss.sealed_segments)
            return;
        usleep(10000);
    }
    abort();
}

static const char *texts[8];
static char trace_word[64], surname[64];

TEST(setup)
{
    if (trail_catalog_new(&cat) < 0)
        abort();
    strcpy(dir, "/tmp/trail-test-parts-XXXXXX");
    ASSERT(mkdtemp(dir) != NULL);
    /* 2 MiB segments of 1 MiB blocks, ~32 sub-frames a block: parts that matter */
    struct trail_store_opts o = {.create = 1,
                                 .fsync_policy = TRAIL_FSYNC_NEVER,
                                 .segment_max_bytes = 2 << 20,
                                 .zstd_level = 1};
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, NULL));
    struct trail_loadgen_opts lo = {.seed = 21, .users = 150, .days = 2, .events = N_EVENTS};
    struct trail_loadgen *gen;
    ASSERT_OK(trail_loadgen_new(cat, &lo, &gen));
    mem = calloc(N_EVENTS, sizeof(*mem));
    uint64_t rng = 0x2545F4914F6CDD1Dull, last = 0;
    size_t numbat[NUMBATS];
    for (size_t k = 0; k < NUMBATS; k++) {
        rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
        numbat[k] = (size_t)((rng * 2685821657736338717ull) % N_EVENTS);
    }
    for (size_t i = 0; i < N_EVENTS; i++) {
        struct trail_event *ev;
        ASSERT_OK(trail_event_new(cat, "x", &ev));
        ASSERT_OK(trail_loadgen_next(gen, ev));
        const char *reason =
            planted(i, quokka_at, sizeof(quokka_at) / sizeof(*quokka_at)) ? "Quokka seen"
            : planted(i, both_at, sizeof(both_at) / sizeof(*both_at))     ? "quokka and WOMBAT"
            : i % WOMBAT_EVERY == 0                                       ? "wombat"
            : planted(i, numbat, NUMBATS)                                 ? "a numbat"
                                                                          : NULL;
        if (reason) {
            /* an event of its own at the generator event's time */
            struct trail_event *p;
            ASSERT_OK(trail_event_new(cat, "prism_user_locked", &p));
            ASSERT_OK(trail_event_set_string(p, "duser", "planted.user", 12));
            ASSERT_OK(trail_event_set_string(p, "reason", reason, strlen(reason)));
            trail_event_set_time(p, trail_event_time(ev));
            trail_event_free(ev);
            ev = p;
        }
        ASSERT_OK(trail_store_append(s, &ev, 1, &last));
        mem[n_mem++] = ev;
        ASSERT_EQ(trail_event_seq(ev), n_mem);
    }
    ASSERT_OK(trail_store_wait(s, last));
    trail_loadgen_free(gen);
    wait_sealed(s, dir);
    struct trail_store_stats ss;
    trail_store_stats(s, &ss);
    ASSERT(ss.sealed_segments >= 2);

    /* a trace id's word and a surname, from the data */
    struct trail_value v;
    for (size_t i = n_mem / 3; i < n_mem && !(trace_word[0] && surname[0]); i++) {
        if (!trace_word[0] && trail_event_attr_get(mem[i], "phxTraceId", &v) == 0 &&
            v.u.str.len > 4)
            snprintf(trace_word, sizeof(trace_word), "%.*s", (int)v.u.str.len - 1, v.u.str.ptr + 1);
        const char *dot;
        if (!surname[0] && trail_event_attr_get(mem[i], "duser", &v) == 0 &&
            (dot = memchr(v.u.str.ptr, '.', v.u.str.len)) && strncmp(v.u.str.ptr, "planted", 7))
            snprintf(surname, sizeof(surname), "%.*s",
                     (int)(v.u.str.len - (size_t)(dot + 1 - v.u.str.ptr)), dot + 1);
    }
    ASSERT(trace_word[0] && surname[0]);
    const char *t[] = {"quokka",        "QUOKKA",   "wombat", "numbat",
                       "quokka wombat", trace_word, surname,  "zzqnotthere"};
    memcpy(texts, t, sizeof(t));
}

static const char *const orders[] = {"newest", "oldest", "time", "-time"};

/* Every text in every order, limits 0, 1 and 7, against the brute force; answers kept. */
static void check_all(struct trail_index *ix, uint64_t *answers, size_t *n_answers)
{
    static uint64_t want[N_EVENTS], got[N_EVENTS];
    size_t at = 0;
    for (size_t t = 0; t < sizeof(texts) / sizeof(*texts); t++)
        for (size_t o = 0; o < 4; o++)
            for (size_t l = 0; l < 3; l++) {
                size_t limit = l == 0 ? 0 : l == 1 ? 1 : 7;
                size_t nw = bf_search(texts[t], orders[o], limit, want);
                size_t ng = ix_search(ix, texts[t], orders[o], limit, got);
                if (ng != nw || memcmp(got, want, nw * sizeof(*got)) != 0) {
                    printf("  text=%s order=%s limit=%zu: %zu answers, the scan %zu\n", texts[t],
                           orders[o], limit, ng, nw);
                    ASSERT_EQ(ng, nw);
                    ASSERT_MEMEQ(got, want, nw * sizeof(*got));
                }
                memcpy(answers + at, got, ng * sizeof(*got));
                at += ng;
            }
    *n_answers = at;
}

static uint64_t *with_parts;
static size_t n_with_parts;

TEST(searches_with_parts)
{
    /* what the words are: quokka in 10 events, wombat in every 97th, the rest in between */
    uint64_t want[N_EVENTS];
    ASSERT_EQ(bf_search("quokka", "oldest", 0, want), 10);
    ASSERT(bf_search("wombat", "oldest", 0, want) > 150);
    ASSERT(bf_search(trace_word, "oldest", 0, want) >= 1);
    ASSERT(bf_search(surname, "oldest", 0, want) > 100);
    struct trail_index *ix;
    ASSERT_OK(trail_index_open(s, NULL, &ix));
    with_parts = malloc(64 * N_EVENTS * sizeof(*with_parts));
    check_all(ix, with_parts, &n_with_parts);
    struct trail_index_stats xs;
    ASSERT_OK(trail_index_stats(ix, &xs));
    ASSERT(xs.idx_files >= 2);
    ASSERT_EQ(xs.rebuilt, 0);
    trail_index_close(ix);
}

/* The .idx bytes of the segment starting at first. */
static uint8_t *read_idx(uint64_t first, size_t *len)
{
    char path[4200];
    idx_path(s, first, path, sizeof(path));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        abort();
    uint8_t *b = malloc((size_t)st.st_size);
    if (!b || pread(fd, b, (size_t)st.st_size, 0) != st.st_size)
        abort();
    close(fd);
    *len = (size_t)st.st_size;
    return b;
}

TEST(a_rare_word_names_its_subframes)
{
    /* quokka's first four events are in the first block, far apart: four sub-frames */
    char path[4200];
    store_seg_path(s, 1, ".seg", path, sizeof(path));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct seg_sealed ss = {0};
    ASSERT(fd >= 0);
    ASSERT_OK(seg_sealed_load(fd, &ss));
    ASSERT(ss.blocks[0].count > 2950);
    ZSTD_DCtx *d = ZSTD_createDCtx();
    struct trail_buf comp = {0}, raw = {0};
    ASSERT_OK(seg_block_read(fd, &ss.blocks[0], d, &comp, &raw));
    struct seg_subframe *sub = NULL;
    uint32_t n_sub = 0;
    ASSERT_OK(seg_block_frames(&ss.blocks[0], (const uint8_t *)comp.data, ss.blocks[0].comp_len,
                               &sub, &n_sub));
    ASSERT(n_sub >= 24 && n_sub <= QPARTS);
    /* the parts (sub-frames) of the block's events with quokka, by the scan; the first three */
    uint32_t want_mask = 0, first3[3], n3 = 0;
    for (uint32_t i = 0; i < ss.blocks[0].count; i++) {
        if (!bf_match(mem[i], "quokka"))
            continue;
        uint32_t f = 0;
        while (f + 1 < n_sub && sub[f + 1].first <= i)
            f++;
        want_mask |= 1u << f;
        if (n3 < 3)
            first3[n3++] = f;
    }
    ASSERT_EQ(__builtin_popcount(want_mask), 4); /* events 50, 1500, 2001 and 2950 */
    ASSERT_EQ(n3, 3);

    size_t len;
    uint8_t *bytes = read_idx(1, &len);
    struct qindex v;
    ASSERT_OK(qindex_view(bytes, len, s->store_id, &v));
    ASSERT_EQ(v.version, 2);
    uint32_t starts[QPARTS + 1];
    ASSERT_EQ(qindex_unit_parts(&v, 0, starts), n_sub);
    for (uint32_t k = 0; k < n_sub; k++)
        ASSERT_EQ(starts[k], sub[k].first);
    struct qpost p = {0};
    ASSERT_EQ(qindex_lookup(&v, QTERM_WORD, qterm_word((const uint8_t *)"quokka", 6), &p), 1);
    ASSERT(p.n >= 1);
    ASSERT_EQ(p.v[0], 0);
    ASSERT_EQ(p.m[0], want_mask);
    /* wombat is in every part: its postings name blocks */
    ASSERT_EQ(qindex_lookup(&v, QTERM_WORD, qterm_word((const uint8_t *)"wombat", 6), &p), 1);
    ASSERT_EQ(p.v[0], 0);
    ASSERT_EQ(p.m[0], UINT32_MAX);
    qpost_free(&p);
    qindex_free(&v);
    free(bytes);

    /* a cold search for quokka decompresses its sub-frames, not its blocks */
    struct trail_index *ix;
    ASSERT_OK(trail_index_open(s, NULL, &ix));
    uint64_t got[16];
    ASSERT_EQ(ix_search(ix, "quokka", "oldest", 3, got), 3);
    struct trail_index_stats xs;
    ASSERT_OK(trail_index_stats(ix, &xs));
    ASSERT_EQ(xs.cache_misses, 1);
    uint64_t three = 0;
    for (int k = 0; k < 3; k++)
        three += sub[first3[k]].raw_len;
    /* the compressed block, its table and record offsets, and three sub-frames */
    ASSERT(xs.cache_bytes >= three);
    ASSERT(xs.cache_bytes < three + (uint64_t)ss.blocks[0].comp_len + 64 * 1024);
    ASSERT(xs.cache_bytes < ss.blocks[0].raw_len / 4);
    trail_index_close(ix);
    free(sub);
    trail_buf_free(&comp);
    trail_buf_free(&raw);
    ZSTD_freeDCtx(d);
    seg_sealed_free(&ss);
    close(fd);
}

/*
 * An export of a rare word (trail_results_write, which reads whole blocks
 * ahead for a plain export) decompresses the word's sub-frames too, not
 * its blocks, and writes the rows the scan selects.
 */
TEST(an_export_of_a_rare_word_reads_its_parts)
{
    struct trail_index *ix;
    struct trail_query *q;
    struct trail_results *res;
    struct trail_event *ev;
    char err[256];
    ASSERT_OK(trail_index_open(s, NULL, &ix));
    ASSERT_OK(trail_query_new(cat, &q));
    ASSERT_OK(trail_query_set(q, "text", "quokka", err, sizeof(err)));
    ASSERT_OK(trail_query_set(q, "order", "oldest", err, sizeof(err)));
    ASSERT_OK(trail_query_set(q, "limit", "0", err, sizeof(err)));
    ASSERT_OK(trail_results_open(ix, q, &res, err, sizeof(err)));
    ASSERT_OK(trail_event_new(cat, "x", &ev));
    struct trail_buf out = {0};
    uint64_t rows = 0, n;
    int r;
    while ((r = trail_results_write(res, ev, TRAIL_ROWS_NDJSON, NULL, &out, 1 << 20, &n)) == 1)
        rows += n;
    ASSERT_EQ(r, 0);
    rows += n;
    uint64_t want[16];
    ASSERT_EQ(rows, bf_search("quokka", "oldest", 0, want));
    size_t lines = 0;
    for (size_t i = 0; i < out.len; i++)
        lines += out.data[i] == '\n';
    ASSERT_EQ(lines, rows);
    trail_results_free(res);
    struct trail_index_stats xs;
    ASSERT_OK(trail_index_stats(ix, &xs));
    ASSERT(xs.cache_misses >= 3); /* the first segment's first two blocks, the second's */
    /* each block read holds a few sub-frames, not its ~1 MiB */
    if (xs.cache_bytes >= xs.cache_misses * (uint64_t)(256 << 10))
        printf("  cache: %llu bytes, %llu misses\n", (unsigned long long)xs.cache_bytes,
               (unsigned long long)xs.cache_misses);
    ASSERT(xs.cache_bytes < xs.cache_misses * (uint64_t)(256 << 10));
    trail_buf_free(&out);
    trail_event_free(ev);
    trail_query_free(q);
    trail_index_close(ix);
}

/* Write the sealed segment's .idx again with one part a unit: postings that name blocks only. */
static void write_one_part_idx(uint64_t first)
{
    char path[4200];
    store_seg_path(s, first, ".seg", path, sizeof(path));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct seg_sealed ss = {0};
    struct qbuilder *b;
    if (fd < 0 || seg_sealed_load(fd, &ss) < 0 || qbuilder_new(cat, ss.first_seq, &b) < 0)
        abort();
    ZSTD_DCtx *d = ZSTD_createDCtx();
    struct trail_buf comp = {0}, raw = {0}, out = {0};
    for (uint32_t i = 0; i < ss.n_blocks; i++) {
        if (seg_block_read(fd, &ss.blocks[i], d, &comp, &raw) < 0 || qbuilder_unit(b) < 0)
            abort();
        size_t off = 0;
        for (uint32_t k = 0; k < ss.blocks[i].count; k++) {
            uint32_t len = get_u32((const uint8_t *)raw.data + off);
            if (qbuilder_add(b, (const uint8_t *)raw.data + off + TRAIL_FRAME_HEAD, len) < 0)
                abort();
            off += TRAIL_FRAME_HEAD + len;
        }
    }
    if (qbuilder_serialize(b, s->store_id, &out) < 0 || idx_write(s, first, &out) < 0)
        abort();
    qbuilder_free(b);
    ZSTD_freeDCtx(d);
    trail_buf_free(&comp);
    trail_buf_free(&raw);
    trail_buf_free(&out);
    seg_sealed_free(&ss);
    close(fd);
}

TEST(the_same_answers_without_parts)
{
    pthread_mutex_lock(&s->seg_lock);
    size_t n = 0;
    uint64_t firsts[64];
    for (size_t i = 0; i < s->n_segs && n < 64; i++)
        if (s->segs[i].sealed)
            firsts[n++] = s->segs[i].first_seq;
    pthread_mutex_unlock(&s->seg_lock);
    ASSERT(n >= 2);
    for (size_t i = 0; i < n; i++) {
        write_one_part_idx(firsts[i]);
        size_t len;
        uint8_t *bytes = read_idx(firsts[i], &len);
        struct qindex v;
        uint32_t starts[QPARTS + 1];
        ASSERT_OK(qindex_view(bytes, len, s->store_id, &v));
        for (uint32_t u = 0; u < v.n_units; u++)
            ASSERT_EQ(qindex_unit_parts(&v, u, starts), 1);
        qindex_free(&v);
        free(bytes);
    }
    struct trail_index *ix;
    ASSERT_OK(trail_index_open(s, NULL, &ix));
    uint64_t *without = malloc(64 * N_EVENTS * sizeof(*without));
    size_t n_without = 0;
    check_all(ix, without, &n_without);
    ASSERT_EQ(n_without, n_with_parts);
    ASSERT_MEMEQ(without, with_parts, n_without * sizeof(*without));
    struct trail_index_stats xs;
    ASSERT_OK(trail_index_stats(ix, &xs));
    ASSERT_EQ(xs.rebuilt, 0); /* the one-part files were read, not built again */
    trail_index_close(ix);
    free(without);
}

/* The format version of an .idx file (bytes 8..9). */
static int idx_version(const char *d, const char *name)
{
    char path[4200];
    uint8_t h[10];
    snprintf(path, sizeof(path), "%s/%s", d, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? pread(fd, h, sizeof(h), 0) : -1;
    if (fd >= 0)
        close(fd);
    return n == (ssize_t)sizeof(h) ? get_u16(h + 8) : -1;
}

static const char *const fixture_idx[] = {"seg-0000000000000001.idx", "seg-0000000000000126.idx",
                                          "seg-0000000000000247.idx", "seg-0000000000000368.idx",
                                          "seg-000000000000048d.idx"};

/* Searches of the fixture store st against a scan of it. */
static void check_fixture(struct trail_store *st)
{
    static struct trail_event *evs[2000];
    size_t n = 0;
    struct trail_store_iter *it;
    ASSERT_OK(trail_store_iter_new(st, TRAIL_ITER_FORWARD, &it));
    for (;;) {
        ASSERT(n < 2000);
        ASSERT_OK(trail_event_new(cat, "x", &evs[n]));
        int r = trail_store_iter_next(it, evs[n]);
        ASSERT(r >= 0);
        if (r == 0) {
            trail_event_free(evs[n]);
            break;
        }
        ASSERT_EQ(trail_event_seq(evs[n]), n + 1);
        n++;
    }
    trail_store_iter_free(it);
    ASSERT_EQ(n, 1500);
    struct trail_event **saved = mem;
    size_t saved_n = n_mem;
    mem = evs;
    n_mem = n;
    /* words of the fixture's values: a user's name parts, a trace id's word, an agent's */
    char name[64] = "", trace[64] = "";
    struct trail_value v;
    for (size_t i = 700; i < n && !(name[0] && trace[0]); i++) {
        if (!name[0] && trail_event_attr_get(evs[i], "duser", &v) == 0)
            snprintf(name, sizeof(name), "%.*s", (int)v.u.str.len, v.u.str.ptr);
        if (!trace[0] && trail_event_attr_get(evs[i], "phxTraceId", &v) == 0 && v.u.str.len > 4)
            snprintf(trace, sizeof(trace), "%.*s", (int)v.u.str.len - 1, v.u.str.ptr + 1);
    }
    char *dot = strchr(name, '.');
    ASSERT(dot && trace[0]);
    *dot = ' '; /* both parts of the name: two items */
    const char *fx[] = {name, dot + 1, trace, "mozilla", "zzqnotthere"};
    struct trail_index *ix;
    ASSERT_OK(trail_index_open(st, NULL, &ix));
    static uint64_t want[2000], got[2000];
    for (size_t t = 0; t < sizeof(fx) / sizeof(*fx); t++)
        for (size_t o = 0; o < 4; o++) {
            size_t nw = bf_search(fx[t], orders[o], 0, want);
            size_t ng = ix_search(ix, fx[t], orders[o], 0, got);
            if (ng != nw)
                printf("  text=%s order=%s: %zu answers, the scan %zu\n", fx[t], orders[o], ng, nw);
            ASSERT_EQ(ng, nw);
            ASSERT_MEMEQ(got, want, nw * sizeof(*got));
            if (t == 0 || t == 2)
                ASSERT(nw >= 1);
        }
    struct trail_index_stats xs;
    ASSERT_OK(trail_index_stats(ix, &xs));
    ASSERT_EQ(xs.idx_files, 5);
    ASSERT_EQ(xs.rebuilt, 0);
    trail_index_close(ix);
    mem = saved;
    n_mem = saved_n;
    for (size_t i = 0; i < n; i++)
        trail_event_free(evs[i]);
}

TEST(the_format_before_parts)
{
    const char *src = getenv("TRAIL_SOURCE_DIR");
    if (!src) {
        printf("  TRAIL_SOURCE_DIR not set (ctest sets it)\n");
        ASSERT(src != NULL);
    }
    char old[64], cmd[4400];
    strcpy(old, "/tmp/trail-test-idx1-XXXXXX");
    ASSERT(mkdtemp(old) != NULL);
    snprintf(cmd, sizeof(cmd), "cp -r '%s/tests/data/index-format-1/store/.' '%s/'", src, old);
    ASSERT_EQ(system(cmd), 0);
    for (size_t i = 0; i < 5; i++)
        ASSERT_EQ(idx_version(old, fixture_idx[i]), 1);

    /* a reader reads the version 1 files as they are */
    struct trail_store_opts ro = {.read_only = 1};
    struct trail_store *st;
    ASSERT_OK(trail_store_open(old, cat, &ro, &st, NULL));
    check_fixture(st);
    trail_store_close(st);
    for (size_t i = 0; i < 5; i++)
        ASSERT_EQ(idx_version(old, fixture_idx[i]), 1);

    /* a writer's sweep writes them again as version 2 (in the background: a deadline) */
    struct trail_store_opts wo = {.fsync_policy = TRAIL_FSYNC_NEVER};
    ASSERT_OK(trail_store_open(old, cat, &wo, &st, NULL));
    int all = 0;
    for (int i = 0; i < 6000 && !all; i++) {
        all = 1;
        for (size_t k = 0; k < 5; k++)
            all &= idx_version(old, fixture_idx[k]) == 2;
        if (!all)
            usleep(10000);
    }
    ASSERT(all);
    check_fixture(st);
    trail_store_close(st);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", old);
    ASSERT_EQ(system(cmd), 0);
}

TEST(teardown)
{
    ASSERT_OK(trail_store_close(s));
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ASSERT_EQ(system(cmd), 0);
    for (size_t i = 0; i < n_mem; i++)
        trail_event_free(mem[i]);
    free(mem);
    free(with_parts);
    trail_catalog_free(cat);
}

TEST_MAIN(setup, searches_with_parts, a_rare_word_names_its_subframes,
          an_export_of_a_rare_word_reads_its_parts, the_same_answers_without_parts,
          the_format_before_parts, teardown)
