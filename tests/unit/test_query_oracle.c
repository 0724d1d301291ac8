/*
 * test_query_oracle.c - searches and counts checked against a brute-force
 * filter: generator events go into a temporary store (small segments and
 * blocks, so that sealed segments with .idx files, several blocks each,
 * and a live segment are all exercised) and are kept in memory; hundreds of
 * random queries combining every filter run through the index, page by
 * page with cursors, on the writer's handle and on a reader's, and every
 * answer is compared with the events a plain loop over the memory copy
 * selects. Also: paging while a writer appends, time zones and the edges
 * of time ranges, the empty store, a store of one event, rebuilding a
 * damaged or missing .idx.
 *
 * Not here: the parser's error messages (test_query.c), the .idx format
 * byte by byte (test_index.c).
 *
 * TEST_SEED=N picks another run of random queries. ORACLE_QUERIES=N runs N
 * random queries on the writer's handle instead of 300, and the other
 * random rounds (the reader's, the counts, after sealing and rebuilding) in
 * proportion, at least one each: make test's sanitizer pass sets 100, where
 * every query costs several times as much and the point is memory errors
 * on the same paths, not more random filters.
 */
#include "harness.h"
#include "query/query.h"

#include <arpa/inet.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static struct trail_catalog *cat;
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    return test_rand(&rng_state);
}

static uint64_t rndn(uint64_t n)
{
    return n ? rnd() % n : 0;
}

static char *make_dir(void)
{
    char *path = strdup("/tmp/trail-test-query-XXXXXX");
    if (!path || !mkdtemp(path))
        abort();
    return path;
}

static void remove_dir(char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        abort();
    free(dir);
}

/* ---- the memory copy ---- */

struct evs {
    struct trail_event **v;
    size_t n, cap;
};

static void evs_push(struct evs *e, struct trail_event *ev)
{
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 1024;
        e->v = realloc(e->v, e->cap * sizeof(*e->v));
        if (!e->v)
            abort();
    }
    e->v[e->n++] = ev;
}

static void evs_free(struct evs *e)
{
    for (size_t i = 0; i < e->n; i++)
        trail_event_free(e->v[i]);
    free(e->v);
    memset(e, 0, sizeof(*e));
}

/* Append n generator events to the store, keeping copies (seq and time set). */
static void load(struct trail_store *s, struct trail_loadgen *gen, size_t n, struct evs *mem)
{
    struct trail_event *batch[256];
    size_t done = 0;
    while (done < n) {
        size_t k = n - done < 256 ? n - done : 256;
        for (size_t i = 0; i < k; i++) {
            if (trail_event_new(cat, "x", &batch[i]) < 0 || trail_loadgen_next(gen, batch[i]) < 0)
                abort();
        }
        uint64_t last;
        if (trail_store_append(s, batch, k, &last) < 0)
            abort();
        for (size_t i = 0; i < k; i++)
            evs_push(mem, batch[i]);
        done += k;
    }
}

static struct trail_store *open_store(const char *dir, int read_only)
{
    struct trail_store_opts o = {.create = !read_only,
                                 .read_only = read_only,
                                 .fsync_policy = TRAIL_FSYNC_NEVER,
                                 .segment_max_bytes = 1u << 20,
                                 .block_bytes = 24u << 10,
                                 .zstd_level = 1};
    struct trail_store *s;
    int r = trail_store_open(dir, cat, &o, &s, NULL);
    if (r < 0) {
        fprintf(stderr, "open %s: %s\n", dir, trail_strerror(r));
        abort();
    }
    return s;
}

/* Wait until every segment but the active one is sealed and has its .idx. */
static void wait_sealed(struct trail_store *s)
{
    for (int tries = 0; tries < 3000; tries++) {
        struct trail_store_stats st;
        trail_store_stats(s, &st);
        if (st.sealed_segments + 1 >= st.segments) {
            int all = 1;
            pthread_mutex_lock(&s->seg_lock);
            for (size_t i = 0; i < s->n_segs && all; i++) {
                if (!s->segs[i].sealed)
                    continue;
                char path[4200];
                idx_path(s, s->segs[i].first_seq, path, sizeof(path));
                all = access(path, F_OK) == 0;
            }
            pthread_mutex_unlock(&s->seg_lock);
            if (all)
                return;
        }
        usleep(10000);
    }
    fprintf(stderr, "sealing did not finish\n");
    abort();
}

/* ---- the brute-force filter ---- */

struct bq {
    int64_t since, until;
    int sev_min, sev_max;
    char globs[4][64];
    int n_globs;
    struct {
        char key[64];
        int op; /* 1 =, 2 !=, 3 ^= */
        char value[256];
    } w[3];
    int n_w;
    char text[3][128];
    int n_text;
};

static int word_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

static int has_item(const char *text, const char *item)
{
    size_t n = strlen(text), m = strlen(item);
    char *low = malloc(n + 1);
    for (size_t i = 0; i <= n; i++)
        low[i] = (char)((text[i] >= 'A' && text[i] <= 'Z') ? text[i] + 32 : text[i]);
    int found = 0;
    for (const char *p = low; !found && (p = strstr(p, item)); p++) {
        size_t at = (size_t)(p - low);
        int ok_start =
            !word_char((unsigned char)item[0]) || at == 0 || !word_char((unsigned char)low[at - 1]);
        int ok_end = !word_char((unsigned char)item[m - 1]) || at + m == n ||
                     !word_char((unsigned char)low[at + m]);
        found = ok_start && ok_end;
    }
    free(low);
    return found;
}

static int where_eq(const struct trail_value *v, const char *value)
{
    char text[8300];
    switch (v->type) {
    case TRAIL_TYPE_STRING:
    case TRAIL_TYPE_ENUM:
        return v->u.str.len == strlen(value) && memcmp(v->u.str.ptr, value, v->u.str.len) == 0;
    case TRAIL_TYPE_IP: {
        const char *slash = strchr(value, '/');
        uint8_t a[16] = {0};
        char addr[64];
        snprintf(addr, sizeof(addr), "%.*s", slash ? (int)(slash - value) : 63, value);
        int fam = inet_pton(AF_INET, addr, a) == 1 ? 4 : inet_pton(AF_INET6, addr, a) == 1 ? 6 : 0;
        if (fam != v->u.ip.family)
            return 0;
        int bits = slash ? atoi(slash + 1) : fam == 4 ? 32 : 128;
        for (int b = 0; b < bits; b++)
            if ((a[b / 8] ^ v->u.ip.addr[b / 8]) & (0x80 >> (b % 8)))
                return 0;
        return 1;
    }
    case TRAIL_TYPE_INT: {
        char *end;
        long long x = strtoll(value, &end, 10);
        return *value && !*end && x == v->u.i;
    }
    default:
        trail_value_format(v, text, sizeof(text));
        return strcmp(text, value) == 0;
    }
}

static int bq_match(const struct bq *q, const struct trail_event *ev)
{
    int64_t t = trail_event_time(ev);
    if (t < q->since || t >= q->until)
        return 0;
    int sev = trail_event_severity(ev);
    if (sev < q->sev_min || sev > q->sev_max)
        return 0;
    if (q->n_globs) {
        int any = 0;
        for (int i = 0; i < q->n_globs && !any; i++)
            any = fnmatch(q->globs[i], trail_event_id(ev), 0) == 0;
        if (!any)
            return 0;
    }
    for (int i = 0; i < q->n_w; i++) {
        struct trail_value v;
        int has = trail_event_attr_get(ev, q->w[i].key, &v) == 0;
        int hit;
        if (q->w[i].op == 3) {
            char text[8300];
            hit = has && v.type != 0;
            if (hit) {
                trail_value_format(&v, text, sizeof(text));
                hit = strncmp(text, q->w[i].value, strlen(q->w[i].value)) == 0;
            }
        } else {
            hit = has && where_eq(&v, q->w[i].value);
        }
        if (q->w[i].op == 2 ? hit : !hit)
            return 0;
    }
    for (int i = 0; i < q->n_text; i++) {
        int found = 0;
        for (size_t k = 0; k < trail_event_attr_count(ev) && !found; k++) {
            const char *key;
            struct trail_value v;
            trail_event_attr_at(ev, k, &key, &v);
            if (v.type == TRAIL_TYPE_TIME)
                continue;
            char text[8300];
            trail_value_format(&v, text, sizeof(text));
            found = has_item(text, q->text[i]);
        }
        if (!found)
            return 0;
    }
    return 1;
}

/* ---- random queries from the data ---- */

static const struct trail_event *pick(const struct evs *mem)
{
    return mem->v[rndn(mem->n)];
}

static void rand_time(const struct evs *mem, char *out, size_t size, int64_t *ret)
{
    int64_t t = trail_event_time(pick(mem)) + (int64_t)rndn(7200000000ULL) - 3600000000LL;
    if (rndn(4) == 0)
        t -= t % 1000000; /* whole seconds: edges that records hit exactly */
    *ret = t;
    char buf[32];
    trail_time_format(t, buf);
    if (rndn(3) == 0) {
        /* the same instant written at +05:30 */
        int64_t l = t + 19800LL * 1000000;
        trail_time_format(l, buf);
        buf[26] = '\0';
        snprintf(out, size, "%s+05:30", buf);
    } else {
        snprintf(out, size, "%s", buf);
    }
}

/* One word of some attribute value of ev (not a time), or "" */
static void rand_word(const struct trail_event *ev, char *out, size_t size)
{
    out[0] = '\0';
    size_t n = trail_event_attr_count(ev);
    if (!n)
        return;
    const char *key;
    struct trail_value v;
    trail_event_attr_at(ev, rndn(n), &key, &v);
    if (v.type == TRAIL_TYPE_TIME)
        return;
    char text[8300];
    trail_value_format(&v, text, sizeof(text));
    /* the k-th word */
    size_t words = 0;
    for (size_t i = 0; text[i]; i++)
        if (word_char((unsigned char)text[i]) && (i == 0 || !word_char((unsigned char)text[i - 1])))
            words++;
    if (!words)
        return;
    size_t want = rndn(words), seen = 0;
    for (size_t i = 0; text[i]; i++) {
        if (word_char((unsigned char)text[i]) &&
            (i == 0 || !word_char((unsigned char)text[i - 1])) && seen++ == want) {
            size_t j = i;
            while (text[j] && word_char((unsigned char)text[j]))
                j++;
            snprintf(out, size, "%.*s", (int)(j - i), text + i);
            if (rndn(2))
                out[0] = (char)((out[0] >= 'a' && out[0] <= 'z') ? out[0] - 32 : out[0]);
            return;
        }
    }
}

static const char *const sev_exprs[][3] = {
    {">=WARNING", "6", "10"}, {"NOTICE..ERROR", "4", "7"}, {"INFO", "3", "3"},
    {"<NOTICE", "1", "3"},    {">notice", "6", "10"},      {"3..4", "3", "4"},
};

/*
 * Make a random query: q for the index, b for the brute force. Returns the
 * name=value pairs as one string for messages.
 */
static void rand_query(const struct evs *mem, struct trail_query *q, struct bq *b, char *desc,
                       size_t dsize, int64_t now)
{
    char err[512], v[512];
    size_t dl = 0;
    memset(b, 0, sizeof(*b));
    b->since = INT64_MIN;
    b->until = INT64_MAX;
    b->sev_min = 0;
    b->sev_max = 255;
    trail_query_set_clock(q, now);
#define SET(name, value)                                                                           \
    do {                                                                                           \
        if (trail_query_set(q, name, value, err, sizeof(err)) < 0) {                               \
            fprintf(stderr, "set %s=%s: %s\n", name, value, err);                                  \
            abort();                                                                               \
        }                                                                                          \
        dl += (size_t)snprintf(desc + dl, dl < dsize ? dsize - dl : 0, "%s=%s ", name, value);     \
    } while (0)
    if (rndn(2)) {
        int64_t t;
        rand_time(mem, v, sizeof(v), &t);
        SET("since", v);
        b->since = t;
    }
    if (rndn(3) == 0) {
        int64_t t;
        rand_time(mem, v, sizeof(v), &t);
        if (t > b->since || b->since == INT64_MIN) {
            SET("until", v);
            b->until = t;
        }
    }
    if (rndn(6) == 0 && b->since == INT64_MIN && b->until > now - 3600000000LL) {
        /* relative: against the fixed clock */
        int64_t hours = (int64_t)rndn(60) + 1;
        while (b->until != INT64_MAX && now - hours * 3600000000LL >= b->until)
            hours++;
        snprintf(v, sizeof(v), "%" PRId64 "h", hours);
        SET("since", v);
        b->since = now - hours * 3600000000LL;
    }
    int n_ev = (int)rndn(4) == 0 ? (int)rndn(3) + 1 : 0;
    for (int i = 0; i < n_ev; i++) {
        const char *id = trail_event_id(pick(mem));
        char g[64];
        switch (rndn(5)) {
        case 0:
            snprintf(g, sizeof(g), "%.5s*", id);
            break;
        case 1:
            snprintf(g, sizeof(g), "*%s", strrchr(id, '_') ? strrchr(id, '_') : id);
            break;
        case 2:
            snprintf(g, sizeof(g), "%.3s?%s", id, id + 4);
            break;
        case 3:
            snprintf(g, sizeof(g), "[!s]%s", id + 1);
            break;
        default:
            snprintf(g, sizeof(g), "%s", id);
        }
        SET("event", g);
        snprintf(b->globs[b->n_globs++], sizeof(b->globs[0]), "%s", g);
    }
    if (rndn(4) == 0) {
        int k = (int)rndn(TRAIL_ARRAY_SIZE(sev_exprs));
        SET("severity", sev_exprs[k][0]);
        b->sev_min = atoi(sev_exprs[k][1]);
        b->sev_max = atoi(sev_exprs[k][2]);
    }
    int n_w = rndn(2) ? (int)rndn(3) : 0;
    for (int i = 0; i < n_w; i++) {
        const struct trail_event *ev = pick(mem);
        size_t na = trail_event_attr_count(ev);
        if (!na)
            continue;
        const char *key;
        struct trail_value val;
        trail_event_attr_at(ev, rndn(na), &key, &val);
        if (val.type == TRAIL_TYPE_TIME)
            continue;
        char text[300];
        trail_value_format(&val, text, sizeof(text));
        if (strlen(text) > 200)
            continue;
        int op = 1;
        uint64_t dice = rndn(10);
        if (dice == 0)
            op = 2;
        else if (dice == 1 && strlen(text) > 2) {
            op = 3;
            text[1 + rndn(strlen(text) - 1)] = '\0';
        } else if (dice == 2 && val.type == TRAIL_TYPE_IP && val.u.ip.family == 4) {
            int bits = (int)rndn(4) * 8;
            uint8_t a[4];
            memcpy(a, val.u.ip.addr, 4);
            for (int bb = bits; bb < 32; bb++)
                a[bb / 8] &= (uint8_t) ~(0x80 >> (bb % 8));
            snprintf(text, sizeof(text), "%u.%u.%u.%u/%d", a[0], a[1], a[2], a[3], bits);
        }
        snprintf(v, sizeof(v), "%s%s%s", key, op == 1 ? "=" : op == 2 ? "!=" : "^=", text);
        SET("where", v);
        snprintf(b->w[b->n_w].key, sizeof(b->w[0].key), "%s", key);
        b->w[b->n_w].op = op;
        snprintf(b->w[b->n_w].value, sizeof(b->w[0].value), "%.200s", text); /* <= 200, above */
        b->n_w++;
    }
    if (rndn(3) == 0) {
        char w1[128], w2[128];
        rand_word(pick(mem), w1, sizeof(w1));
        if (w1[0]) {
            if (rndn(4) == 0) {
                rand_word(pick(mem), w2, sizeof(w2));
                if (w2[0])
                    snprintf(v, sizeof(v), "%s %s", w1, w2);
                else
                    snprintf(v, sizeof(v), "%s", w1);
            } else {
                snprintf(v, sizeof(v), "%s", w1);
            }
            SET("text", v);
            /* the brute force's own split and case folding */
            char *save, *tok = strtok_r(v, " ", &save);
            while (tok && b->n_text < 3) {
                for (char *c = tok; *c; c++)
                    *c = (char)((*c >= 'A' && *c <= 'Z') ? *c + 32 : *c);
                snprintf(b->text[b->n_text++], sizeof(b->text[0]), "%s", tok);
                tok = strtok_r(NULL, " ", &save);
            }
        }
    }
#undef SET
}

/* All matches through the index, page by page; seqs in *ret (caller frees). */
static int search_all(struct trail_index *ix, struct trail_query *q, uint64_t limit, uint64_t **ret,
                      size_t *ret_n, int *ret_pages)
{
    char err[512], lim[32], cursor[TRAIL_QUERY_CURSOR_MAX];
    snprintf(lim, sizeof(lim), "%" PRIu64, limit);
    if (trail_query_set(q, "limit", lim, err, sizeof(err)) < 0)
        return -1;
    struct trail_event *ev;
    trail_event_new(cat, "x", &ev);
    uint64_t *seqs = NULL;
    size_t n = 0, cap = 0;
    int pages = 0, r = 0;
    for (;;) {
        struct trail_results *res;
        r = trail_results_open(ix, q, &res, err, sizeof(err));
        if (r < 0) {
            fprintf(stderr, "results_open: %s (%s)\n", trail_strerror(r), err);
            break;
        }
        size_t before = n;
        while ((r = trail_results_next(res, ev)) == 1) {
            if (n == cap) {
                cap = cap ? cap * 2 : 256;
                seqs = realloc(seqs, cap * sizeof(*seqs));
            }
            seqs[n++] = trail_event_seq(ev);
        }
        int more = trail_results_more(res);
        trail_results_cursor(res, cursor, sizeof(cursor));
        trail_results_free(res);
        pages++;
        if (r < 0) {
            fprintf(stderr, "results_next: %s\n", trail_strerror(r));
            break;
        }
        if (limit && n - before > limit) {
            r = -1;
            break;
        }
        if (!more)
            break;
        if (trail_query_set(q, "cursor", cursor, err, sizeof(err)) < 0) {
            fprintf(stderr, "cursor %s: %s\n", cursor, err);
            r = -1;
            break;
        }
        if (pages > 100000) {
            r = -1;
            break;
        }
    }
    trail_event_free(ev);
    *ret = seqs;
    *ret_n = n;
    *ret_pages = pages;
    return r < 0 ? r : 0;
}

static int compare(const char *what, const char *desc, const struct evs *mem, const struct bq *b,
                   int newest, uint64_t max_seq, const uint64_t *got, size_t n_got)
{
    size_t k = 0;
    for (size_t j = 0; j < mem->n; j++) {
        size_t i = newest ? mem->n - 1 - j : j;
        const struct trail_event *ev = mem->v[i];
        if (trail_event_seq(ev) > max_seq || !bq_match(b, ev))
            continue;
        if (k >= n_got || got[k] != trail_event_seq(ev)) {
            fprintf(stderr, "%s: %s\n  result %zu: expected seq %" PRIu64 ", got %s%" PRIu64 "\n",
                    what, desc, k, trail_event_seq(ev), k < n_got ? "" : "none ",
                    k < n_got ? got[k] : 0);
            return 0;
        }
        k++;
    }
    if (k != n_got) {
        fprintf(stderr, "%s: %s\n  %zu results, expected %zu (extra seq %" PRIu64 ")\n", what, desc,
                n_got, k, got[k]);
        return 0;
    }
    return 1;
}

/* ---- the store under test ---- */

static char *dir;
static struct trail_store *wstore;
static struct trail_index *wix;
static struct evs mem;
static int64_t clock_now;

static void remove_left_dir(void)
{
    /* a run of one test (TEST_ONLY) never reaches teardown */
    if (dir) {
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
}

static void setup(void)
{
    if (dir)
        return;
    atexit(remove_left_dir);
    const char *seed = getenv("TEST_SEED");
    if (seed)
        rng_state = strtoull(seed, NULL, 10) * 2654435761u + 1;
    dir = make_dir();
    wstore = open_store(dir, 0);
    struct trail_loadgen_opts lo = {.seed = 11, .users = 60, .days = 3, .events = 24000};
    struct trail_loadgen *gen;
    if (trail_loadgen_new(cat, &lo, &gen) < 0)
        abort();
    load(wstore, gen, 24000, &mem);
    trail_loadgen_free(gen);
    if (trail_store_wait(wstore, trail_event_seq(mem.v[mem.n - 1])) < 0)
        abort();
    wait_sealed(wstore);
    if (trail_index_open(wstore, NULL, &wix) < 0)
        abort();
    clock_now = trail_event_time(mem.v[mem.n - 1]) + 600000000LL;
}

/* n random rounds at the default ORACLE_QUERIES (300), scaled to the one asked for */
static int rounds(int n)
{
    static int per300;
    if (!per300) {
        const char *e = getenv("ORACLE_QUERIES");
        per300 = e && atoi(e) > 0 ? atoi(e) : 300;
    }
    int r = (int)((long)n * per300 / 300);
    return r > 0 ? r : 1;
}

static int run_queries(struct trail_index *ix, int n_queries, const char *what)
{
    n_queries = rounds(n_queries);
    for (int i = 0; i < n_queries; i++) {
        struct trail_query *q;
        struct bq b;
        char desc[2048];
        trail_query_new(cat, &q);
        rand_query(&mem, q, &b, desc, sizeof(desc), clock_now);
        int newest = rndn(2);
        char err[256];
        trail_query_set(q, "order", newest ? "newest" : "oldest", err, sizeof(err));
        static const uint64_t limits[] = {0, 1, 7, 100};
        uint64_t limit = limits[rndn(4)];
        uint64_t *got;
        size_t n;
        int pages;
        int r = search_all(ix, q, limit, &got, &n, &pages);
        int ok = r == 0 && compare(what, desc, &mem, &b, newest, UINT64_MAX, got, n);
        free(got);
        trail_query_free(q);
        if (!ok) {
            fprintf(stderr, "  (order %s, limit %" PRIu64 ", query %d)\n",
                    newest ? "newest" : "oldest", limit, i);
            return 0;
        }
    }
    return 1;
}

TEST(random_queries_writer)
{
    setup();
    ASSERT(run_queries(wix, 300, "writer"));
    struct trail_index_stats st;
    trail_index_stats(wix, &st);
    ASSERT(st.idx_files >= 3); /* several sealed segments read through their .idx */
    ASSERT(st.live_records > 0);
}

TEST(random_queries_reader)
{
    setup();
    struct trail_store *rs = open_store(dir, 1);
    struct trail_index *rix;
    ASSERT_OK(trail_index_open(rs, NULL, &rix));
    int ok = run_queries(rix, 150, "reader");
    trail_index_close(rix);
    trail_store_close(rs);
    ASSERT(ok);
}

/* The brute force's key of ev for one --by dimension ("\1" for a missing attribute). */
static void bf_key(const struct trail_event *ev, const char *name, char *key, size_t size)
{
    int64_t t = trail_event_time(ev);
    int64_t h = t / 3600000000LL - (t < 0 && t % 3600000000LL);
    if (!strcmp(name, "event")) {
        snprintf(key, size, "%s", trail_event_id(ev));
    } else if (!strcmp(name, "severity")) {
        snprintf(key, size, "%s", trail_severity_name(trail_event_severity(ev)));
    } else if (!strcmp(name, "hour") || !strcmp(name, "day")) {
        char tb[32];
        trail_time_format(h * 3600000000LL, tb);
        if (!strcmp(name, "day"))
            snprintf(key, size, "%.10s", tb);
        else
            snprintf(key, size, "%.13s:00:00Z", tb);
    } else {
        struct trail_value v;
        if (trail_event_attr_get(ev, name, &v) < 0)
            snprintf(key, size, "\1");
        else
            trail_value_format(&v, key, size);
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Brute-force counts over m grouped as q's by says, checked against trail_count_run. */
static int check_count_in(struct trail_index *ix, const struct evs *m, const char *by,
                          struct trail_query *q, const struct bq *b, const char *desc)
{
    char err[256];
    if (trail_query_set(q, "by", by, err, sizeof(err)) < 0)
        return 0;
    struct trail_count *c;
    if (trail_count_run(ix, q, &c, err, sizeof(err)) < 0) {
        fprintf(stderr, "count: %s\n", err);
        return 0;
    }
    /* composite keys "k1\x1fk2..." of every match, and of every row with its count */
    char **want = malloc(m->n * sizeof(*want)), **got = malloc((c->n_rows + 1) * sizeof(*got));
    size_t n_want = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (!bq_match(b, m->v[i]))
            continue;
        char key[1024] = "";
        size_t kl = 0;
        for (int d = 0; d < c->n_by; d++) {
            char part[512];
            bf_key(m->v[i], c->by[d], part, sizeof(part));
            kl += (size_t)snprintf(key + kl, sizeof(key) - kl, "%s\x1f", part);
        }
        want[n_want++] = strdup(key);
    }
    qsort(want, n_want, sizeof(*want), cmp_str);
    for (size_t r = 0; r < c->n_rows; r++) {
        char key[1100] = "";
        size_t kl = 0;
        for (int d = 0; d < c->n_by; d++)
            kl += (size_t)snprintf(key + kl, sizeof(key) - kl, "%s\x1f",
                                   c->rows[r].keys[d] ? c->rows[r].keys[d] : "\1");
        snprintf(key + kl, sizeof(key) - kl, "#%" PRIu64, c->rows[r].count);
        got[r] = strdup(key);
    }
    qsort(got, c->n_rows, sizeof(*got), cmp_str);
    int ok = c->total == n_want;
    if (!ok)
        fprintf(stderr, "count by %s: %s\n  total %" PRIu64 ", expected %zu\n", by, desc, c->total,
                n_want);
    size_t r = 0;
    for (size_t i = 0; ok && i < n_want;) {
        size_t j = i;
        while (j < n_want && strcmp(want[i], want[j]) == 0)
            j++;
        char expect[1100];
        snprintf(expect, sizeof(expect), "%s#%zu", want[i], j - i);
        if (r >= c->n_rows || strcmp(got[r], expect) != 0) {
            fprintf(stderr, "count by %s: %s\n  expected group %s, got %s\n", by, desc, expect,
                    r < c->n_rows ? got[r] : "none");
            ok = 0;
        }
        r++;
        i = j;
    }
    if (ok && r != c->n_rows) {
        fprintf(stderr, "count by %s: %s\n  %zu groups, expected %zu\n", by, desc, c->n_rows, r);
        ok = 0;
    }
    for (size_t i = 0; i < n_want; i++)
        free(want[i]);
    for (size_t i = 0; i < c->n_rows; i++)
        free(got[i]);
    free(want);
    free(got);
    trail_count_free(c);
    return ok;
}

static int check_count(struct trail_index *ix, const char *by, struct trail_query *q,
                       const struct bq *b, const char *desc)
{
    return check_count_in(ix, &mem, by, q, b, desc);
}

TEST(random_counts)
{
    setup();
    static const char *const bys[] = {
        "event",      "severity", "hour",         "day,event",
        "hour,event", "duser",    "severity,src", "event,sourceServiceName"};
    for (int i = 0; i < rounds(40); i++) {
        struct trail_query *q;
        struct bq b;
        char desc[2048];
        trail_query_new(cat, &q);
        rand_query(&mem, q, &b, desc, sizeof(desc), clock_now);
        int ok = check_count(wix, bys[rndn(TRAIL_ARRAY_SIZE(bys))], q, &b, desc);
        trail_query_free(q);
        ASSERT(ok);
    }
}

/*
 * A query for the value rollup path: a range (whole hours or not, or
 * none), sometimes event globs, sometimes a severity range; no where, no
 * text (those read records).
 */
static void rollup_query(const struct evs *m, struct trail_query *q, struct bq *b, char *desc,
                         size_t dsize)
{
    char v[64], err[256];
    size_t dl = 0;
    memset(b, 0, sizeof(*b));
    b->since = INT64_MIN;
    b->until = INT64_MAX;
    b->sev_max = 255;
    if (rndn(4)) {
        int64_t t0 = trail_event_time(pick(m)), t1 = trail_event_time(pick(m));
        if (t1 < t0) {
            int64_t t = t0;
            t0 = t1;
            t1 = t;
        }
        if (rndn(2)) { /* whole hours, as a report's ranges are */
            t0 -= t0 % 3600000000LL;
            t1 += 3600000000LL - t1 % 3600000000LL;
        }
        if (t1 <= t0)
            t1 = t0 + 1;
        b->since = t0;
        b->until = t1;
        trail_time_format(t0, v);
        trail_query_set(q, "since", v, err, sizeof(err));
        dl += (size_t)snprintf(desc + dl, dsize - dl, "since=%s ", v);
        trail_time_format(t1, v);
        trail_query_set(q, "until", v, err, sizeof(err));
        dl += (size_t)snprintf(desc + dl, dsize - dl, "until=%s ", v);
    }
    static const char *const globs[] = {"auth_authenticators_*_failed", "auth_entrypoints_*",
                                        "prism_*", "*_success*", "core_*"};
    if (rndn(2)) {
        const char *g = globs[rndn(TRAIL_ARRAY_SIZE(globs))];
        trail_query_set(q, "event", g, err, sizeof(err));
        snprintf(b->globs[b->n_globs++], sizeof(b->globs[0]), "%s", g);
        dl += (size_t)snprintf(desc + dl, dsize - dl, "event=%s ", g);
    }
    if (rndn(4) == 0) {
        int k = (int)rndn(TRAIL_ARRAY_SIZE(sev_exprs));
        trail_query_set(q, "severity", sev_exprs[k][0], err, sizeof(err));
        b->sev_min = atoi(sev_exprs[k][1]);
        b->sev_max = atoi(sev_exprs[k][2]);
        dl += (size_t)snprintf(desc + dl, dsize - dl, "severity=%s ", sev_exprs[k][0]);
    }
}

TEST(count_by_attribute_from_value_rollups)
{
    setup();
    /*
     * Counts by one attribute (with event, severity, hour or day beside it)
     * take sealed segments' figures from their value rollups: they must be
     * the brute force's. duser (60 users), src and sourceServiceName have few
     * values a segment; phxTraceId has one value per flow of a few events (a
     * segment keeps its value rollup or not, by the share rule); two
     * attributes at once are read.
     */
    static const char *const bys[] = {"duser",
                                      "src",
                                      "sourceServiceName,event",
                                      "day,duser",
                                      "hour,phxEntrypointId",
                                      "duser,severity",
                                      "event,src,day",
                                      "phxTraceId",
                                      "duser,src"};
    size_t n = TRAIL_ARRAY_SIZE(bys);
    for (int i = 0; i < rounds(60); i++) {
        struct trail_query *q;
        struct bq b;
        char desc[1024] = "";
        trail_query_new(cat, &q);
        rollup_query(&mem, q, &b, desc, sizeof(desc));
        const char *by = bys[(size_t)i % n];
        uint64_t before = qindex_vrolled(wix);
        int ok = check_count(wix, by, q, &b, desc);
        trail_query_free(q);
        ASSERT(ok);
        /* from value rollups but for the last, which reads every segment */
        if ((size_t)i % n < n - 2)
            ASSERT(qindex_vrolled(wix) > before);
        else if ((size_t)i % n == n - 1)
            ASSERT_EQ(qindex_vrolled(wix), before);
    }
}

/* Rewrite a version 2 .idx as version 1 would have written it (no value rollups). */
static void downgrade_idx(const char *path)
{
    size_t len;
    uint8_t *d = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        abort();
    fseek(f, 0, SEEK_END);
    len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    if (!(d = malloc(len)) || fread(d, 1, len, f) != len)
        abort();
    fclose(f);
    struct qindex v;
    if (qindex_view(d, len, NULL, &v) < 0 || v.version != 2)
        abort();
    /*
     * version 1's sections: header, dictionaries, units, rollup, terms. The
     * parts and the value rollups are cut; the terms too (version 1 keys
     * are whole 32-bit hashes, which version 2 does not keep), which the
     * counts here never look up: an empty table (0 bucket bits, 0 terms)
     */
    size_t units_end = (size_t)(v.units - d) + (26 + v.ev_bytes) * v.n_units;
    size_t roll_at = (size_t)(v.rollup - d) - 8, roll_len = 8 + v.rollup_len;
    qindex_free(&v);
    uint8_t *o = malloc(len + 32);
    if (!o)
        abort();
    size_t n = 0;
    memcpy(o, d, units_end);
    n = units_end;
    memmove(o + n, d + roll_at, roll_len);
    n += roll_len;
    memset(o + n, 0, 16); /* bucket bits, terms, two offsets */
    n += 16;
    memset(o + n, 0, 16);
    n += 16;
    put_u16(o + 8, 1);
    put_u64(o + n - 16, n);
    put_u32(o + n - 8, crc32c(0, o, n - 16));
    memcpy(o + n - 4, "TIDX", 4);
    if (qindex_view(o, n, NULL, &v) < 0 || v.version != 1)
        abort();
    qindex_free(&v);
    if (!(f = fopen(path, "wb")) || fwrite(o, 1, n, f) != n || fclose(f) != 0)
        abort();
    free(o);
    free(d);
}

static int idx_version(const char *path)
{
    uint8_t h[10] = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t n = fread(h, 1, sizeof(h), f);
    fclose(f);
    return n == sizeof(h) ? h[8] | h[9] << 8 : -1;
}

TEST(older_index_upgraded)
{
    /*
     * A store whose .idx files an older trail wrote (version 1: no parts,
     * no value rollups; made here from the new ones, without terms, which
     * these counts never look up): a reader counts by reading; a writer's open rewrites them
     * in the background, and the reader's index, refreshed, counts from the
     * new files: the same figures all along.
     */
    char *d = make_dir();
    struct evs m = {0};
    struct trail_store *s = open_store(d, 0);
    struct trail_loadgen_opts lo = {.seed = 5, .users = 30, .days = 1, .events = 12000};
    struct trail_loadgen *gen;
    ASSERT_OK(trail_loadgen_new(cat, &lo, &gen));
    load(s, gen, 12000, &m);
    trail_loadgen_free(gen);
    ASSERT_OK(trail_store_wait(s, trail_event_seq(m.v[m.n - 1])));
    wait_sealed(s);
    char(*paths)[4200] = calloc(s->n_segs, sizeof(*paths));
    size_t n_idx = 0;
    pthread_mutex_lock(&s->seg_lock);
    for (size_t i = 0; i < s->n_segs; i++)
        if (s->segs[i].sealed)
            idx_path(s, s->segs[i].first_seq, paths[n_idx++], sizeof(paths[0]));
    pthread_mutex_unlock(&s->seg_lock);
    trail_store_close(s);
    ASSERT(n_idx >= 3);
    for (size_t i = 0; i < n_idx; i++) {
        ASSERT_EQ(idx_version(paths[i]), 2);
        downgrade_idx(paths[i]);
        ASSERT_EQ(idx_version(paths[i]), 1);
    }

    struct trail_store *rs = open_store(d, 1);
    struct trail_index *rix;
    ASSERT_OK(trail_index_open(rs, NULL, &rix));
    static const char *const bys[] = {"duser", "day,src", "event,sourceServiceName"};
    for (int round = 0; round < 2; round++) {
        uint64_t before = qindex_vrolled(rix);
        for (size_t k = 0; k < TRAIL_ARRAY_SIZE(bys); k++) {
            struct trail_query *q;
            struct bq b = {.since = INT64_MIN, .until = INT64_MAX, .sev_max = 255};
            trail_query_new(cat, &q);
            ASSERT(check_count_in(rix, &m, bys[k], q, &b, round ? "upgraded" : "version 1"));
            trail_query_free(q);
        }
        if (round == 0) {
            ASSERT_EQ(qindex_vrolled(rix), before); /* version 1: read */
            /* a writer opens the store: its sweep writes the indexes again */
            s = open_store(d, 0);
            for (int tries = 0; tries < 3000; tries++) {
                size_t v2 = 0;
                for (size_t i = 0; i < n_idx; i++)
                    v2 += idx_version(paths[i]) == 2;
                if (v2 == n_idx)
                    break;
                usleep(10000);
            }
            for (size_t i = 0; i < n_idx; i++)
                ASSERT_EQ(idx_version(paths[i]), 2);
        } else {
            /* every sealed segment, every by: from the new files' value rollups */
            ASSERT(qindex_vrolled(rix) - before >= n_idx * TRAIL_ARRAY_SIZE(bys));
        }
    }
    trail_index_close(rix);
    trail_store_close(rs);
    trail_store_close(s);
    free(paths);
    evs_free(&m);
    remove_dir(d);
}

TEST(rare_events_read_by_their_seqs)
{
    setup();
    /*
     * Sealed indexes keep the seqs of event ids found in at most 1/512 of
     * a segment's records: a search for them reads those records only (in
     * the sealed segments; the live one is read unit by unit), in both
     * orders, and finds what the brute force finds. The ids: the rarest
     * ones of the data with at least 5 events that every sealed segment
     * holds few enough of, alone and two at once.
     */
    uint64_t seg_first[256], seg_last[256];
    size_t n_segs = 0;
    pthread_mutex_lock(&wstore->seg_lock);
    for (size_t i = 0; i < wstore->n_segs && n_segs < 256; i++)
        if (wstore->segs[i].sealed) {
            seg_first[n_segs] = wstore->segs[i].first_seq;
            seg_last[n_segs++] = wstore->segs[i].last_seq;
        }
    pthread_mutex_unlock(&wstore->seg_lock);
    const char *ids[512];
    size_t counts[512], n_ids = 0;
    for (size_t i = 0; i < mem.n; i++) {
        const char *id = trail_event_id(mem.v[i]);
        size_t j = 0;
        while (j < n_ids && strcmp(ids[j], id))
            j++;
        if (j == n_ids && n_ids < 512) {
            ids[n_ids] = id;
            counts[n_ids++] = 0;
        }
        if (j < 512)
            counts[j]++;
    }
    /* kept in every sealed segment: at most 1/QEVENT_MAX_SHARE of its records */
    int kept[512];
    for (size_t j = 0; j < n_ids; j++) {
        kept[j] = 1;
        for (size_t g = 0; g < n_segs && kept[j]; g++) {
            uint64_t in = 0;
            for (size_t i = 0; i < mem.n; i++) {
                uint64_t seq = trail_event_seq(mem.v[i]);
                in += seq >= seg_first[g] && seq <= seg_last[g] &&
                      !strcmp(trail_event_id(mem.v[i]), ids[j]);
            }
            kept[j] = in * QEVENT_MAX_SHARE <= seg_last[g] - seg_first[g] + 1;
        }
    }
    const char *rare[3] = {NULL};
    size_t n_rare = 0;
    for (size_t want = 5; want < mem.n / 100 && n_rare < 3; want++)
        for (size_t j = 0; j < n_ids && n_rare < 3; j++)
            if (counts[j] == want && kept[j])
                rare[n_rare++] = ids[j];
    ASSERT_EQ(n_rare, 3);
    struct trail_event *ev;
    trail_event_new(cat, "x", &ev);
    for (int k = 0; k < 4; k++) {
        struct trail_query *q;
        struct bq b = {.since = INT64_MIN, .until = INT64_MAX, .sev_max = 255};
        char err[256], desc[256];
        trail_query_new(cat, &q);
        if (k < 3) {
            snprintf(b.globs[b.n_globs++], sizeof(b.globs[0]), "%s", rare[k]);
        } else {
            snprintf(b.globs[b.n_globs++], sizeof(b.globs[0]), "%s", rare[0]);
            snprintf(b.globs[b.n_globs++], sizeof(b.globs[0]), "%s", rare[2]);
        }
        for (int g = 0; g < b.n_globs; g++)
            ASSERT_OK(trail_query_set(q, "event", b.globs[g], err, sizeof(err)));
        snprintf(desc, sizeof(desc), "event=%s%s%s", b.globs[0], b.n_globs > 1 ? "," : "",
                 b.n_globs > 1 ? b.globs[1] : "");
        for (int newest = 0; newest < 2; newest++) {
            ASSERT_OK(trail_query_set(q, "order", newest ? "newest" : "oldest", err, sizeof(err)));
            ASSERT_OK(trail_query_set(q, "limit", "0", err, sizeof(err)));
            struct trail_results *res;
            ASSERT_OK(trail_results_open(wix, q, &res, err, sizeof(err)));
            uint64_t got[4096];
            size_t n = 0;
            while (n < 4096 && trail_results_next(res, ev) == 1)
                got[n++] = trail_event_seq(ev);
            uint64_t examined = qresults_examined(res);
            trail_results_free(res);
            struct trail_index_stats st; /* (the live records the search indexed) */
            trail_index_stats(wix, &st);
            ASSERT(n > 0 && n < 4096);
            ASSERT(compare("rare events", desc, &mem, &b, newest, UINT64_MAX, got, n));
            /* every record read outside the live segment was one of them */
            if (examined - n > st.live_records)
                FAIL_AT("%s: %" PRIu64 " records read for %zu events (%" PRIu64 " live)", desc,
                        examined, n, st.live_records);
        }
        trail_query_free(q);
    }
    trail_event_free(ev);
}

TEST(count_whole_hours_from_rollups)
{
    setup();
    /* aligned and unaligned ranges, with event and severity filters only (the rollup path) */
    int64_t t0 = trail_event_time(mem.v[0]);
    int64_t starts[] = {t0 - t0 % 3600000000LL, t0 + 1234567, t0 + 7200000000LL + 1};
    for (size_t i = 0; i < TRAIL_ARRAY_SIZE(starts); i++) {
        for (int k = 0; k < 3; k++) {
            struct trail_query *q;
            char v[64], err[256];
            struct bq b = {.since = starts[i],
                           .until = starts[i] + (k + 1) * 13 * 3600000000LL + k * 999,
                           .sev_min = 0,
                           .sev_max = 255};
            trail_query_new(cat, &q);
            trail_time_format(b.since, v);
            ASSERT_OK(trail_query_set(q, "since", v, err, sizeof(err)));
            trail_time_format(b.until, v);
            ASSERT_OK(trail_query_set(q, "until", v, err, sizeof(err)));
            if (k == 1) {
                ASSERT_OK(trail_query_set(q, "severity", ">=NOTICE", err, sizeof(err)));
                b.sev_min = 4;
                b.sev_max = 10;
            }
            if (k == 2) {
                ASSERT_OK(trail_query_set(q, "event", "auth_*", err, sizeof(err)));
                strcpy(b.globs[0], "auth_*");
                b.n_globs = 1;
            }
            int ok = check_count(wix, k == 0 ? "hour,event" : "day,severity", q, &b, "rollup");
            trail_query_free(q);
            ASSERT(ok);
        }
    }
}

/* ---- paging while a writer appends ---- */

struct appender {
    struct trail_store *s;
    struct trail_loadgen *gen;
    struct evs added;
    atomic_int stop;
};

static void *append_main(void *arg)
{
    struct appender *a = arg;
    while (!atomic_load(&a->stop)) {
        load(a->s, a->gen, 20, &a->added);
        usleep(5000);
    }
    return NULL;
}

TEST(paging_while_appending)
{
    setup();
    struct appender a = {.s = wstore};
    struct trail_loadgen_opts lo = {.seed = 99,
                                    .users = 60,
                                    .days = 1,
                                    .events = 5000,
                                    .start_us = trail_event_time(mem.v[mem.n - 1]) + 1000000};
    ASSERT_OK(trail_loadgen_new(cat, &lo, &a.gen));
    pthread_t th;
    pthread_create(&th, NULL, append_main, &a);
    int ok = 1;
    for (int i = 0; i < 12 && ok; i++) {
        struct trail_query *q;
        struct bq b;
        char desc[2048], err[256], cursor[TRAIL_QUERY_CURSOR_MAX];
        trail_query_new(cat, &q);
        rand_query(&mem, q, &b, desc, sizeof(desc), clock_now);
        int newest = i % 2;
        trail_query_set(q, "order", newest ? "newest" : "oldest", err, sizeof(err));
        trail_query_set(q, "limit", "13", err, sizeof(err));
        /* page until two pages in a row come back short; the last cursor says how far */
        uint64_t *seqs = NULL, first_horizon = 0;
        size_t n = 0, cap = 0;
        int shorts = 0;
        struct trail_event *ev;
        trail_event_new(cat, "x", &ev);
        int pages = 0;
        while (shorts < 2) {
            if (++pages == 12) {
                /* the writer stops: the pages that follow must catch up with it */
                atomic_store(&a.stop, 1);
                pthread_join(th, NULL);
            }
            struct trail_results *res;
            if (trail_results_open(wix, q, &res, err, sizeof(err)) < 0) {
                ok = 0;
                break;
            }
            if (!first_horizon)
                first_horizon = trail_index_horizon(wix);
            size_t before = n;
            int r;
            while ((r = trail_results_next(res, ev)) == 1) {
                if (n == cap)
                    seqs = realloc(seqs, (cap = cap ? 2 * cap : 64) * sizeof(*seqs));
                seqs[n++] = trail_event_seq(ev);
            }
            trail_results_cursor(res, cursor, sizeof(cursor));
            trail_results_free(res);
            shorts = n - before < 13 ? shorts + 1 : 0;
            trail_query_set(q, "cursor", cursor, err, sizeof(err));
            usleep(1000);
        }
        trail_event_free(ev);
        /* the events of the writer so far, in seq order after the loaded ones */
        struct evs all = mem;
        if (pages < 12) {
            atomic_store(&a.stop, 1);
            pthread_join(th, NULL);
        }
        uint64_t upto = newest ? first_horizon : strtoull(strchr(cursor, '.') + 1, NULL, 10);
        struct evs both = {0};
        for (size_t k = 0; k < all.n; k++)
            evs_push(&both, all.v[k]);
        for (size_t k = 0; k < a.added.n; k++)
            evs_push(&both, a.added.v[k]);
        ok = compare("paging while appending", desc, &both, &b, newest, upto, seqs, n);
        free(both.v);
        free(seqs);
        trail_query_free(q);
        atomic_store(&a.stop, 0);
        pthread_create(&th, NULL, append_main, &a);
    }
    atomic_store(&a.stop, 1);
    pthread_join(th, NULL);
    /* keep the added events in the memory copy: later tests see them in the store */
    for (size_t k = 0; k < a.added.n; k++)
        evs_push(&mem, a.added.v[k]);
    if (a.added.n)
        ASSERT_OK(trail_store_wait(wstore, trail_event_seq(mem.v[mem.n - 1])));
    free(a.added.v);
    trail_loadgen_free(a.gen);
    ASSERT(ok);
}

TEST(live_segment_sealed_under_the_index)
{
    setup();
    /* the index holds the active segment live; appends roll it, the sealer seals and indexes it */
    ASSERT(run_queries(wix, 20, "before the roll"));
    struct trail_index_stats before, after;
    trail_index_stats(wix, &before);
    struct trail_loadgen_opts lo = {.seed = 123,
                                    .users = 60,
                                    .days = 1,
                                    .events = 8000,
                                    .start_us = trail_event_time(mem.v[mem.n - 1]) + 1000000};
    struct trail_loadgen *gen;
    ASSERT_OK(trail_loadgen_new(cat, &lo, &gen));
    load(wstore, gen, 8000, &mem);
    trail_loadgen_free(gen);
    ASSERT_OK(trail_store_wait(wstore, trail_event_seq(mem.v[mem.n - 1])));
    /* a search while the sealer may be at work, then once it is done */
    ASSERT(run_queries(wix, 20, "while sealing"));
    wait_sealed(wstore);
    ASSERT(run_queries(wix, 40, "after sealing"));
    trail_index_stats(wix, &after);
    ASSERT(after.idx_files > before.idx_files);
    ASSERT_EQ(after.horizon, trail_event_seq(mem.v[mem.n - 1]));
}

/* ---- edges ---- */

/* The seqs a query finds (no limit), as a count and the first one. */
static size_t find(struct trail_index *ix, const char *const *params, uint64_t *first)
{
    struct trail_query *q;
    char err[256];
    trail_query_new(cat, &q);
    for (size_t i = 0; params[i]; i += 2)
        if (trail_query_set(q, params[i], params[i + 1], err, sizeof(err)) < 0) {
            fprintf(stderr, "%s=%s: %s\n", params[i], params[i + 1], err);
            abort();
        }
    trail_query_set(q, "limit", "0", err, sizeof(err));
    trail_query_set(q, "order", "oldest", err, sizeof(err));
    uint64_t *seqs;
    size_t n;
    int pages;
    if (search_all(ix, q, 0, &seqs, &n, &pages) < 0)
        abort();
    if (first)
        *first = n ? seqs[0] : 0;
    free(seqs);
    trail_query_free(q);
    return n;
}

TEST(empty_store)
{
    char *d = make_dir();
    struct trail_store *s = open_store(d, 0);
    struct trail_index *ix;
    ASSERT_OK(trail_index_open(s, NULL, &ix));
    const char *none[] = {NULL};
    const char *some[] = {"event", "auth_*", "text", "alice", "where", "duser=alice", NULL};
    ASSERT_EQ(find(ix, none, NULL), 0);
    ASSERT_EQ(find(ix, some, NULL), 0);
    struct trail_query *q;
    trail_query_new(cat, &q);
    struct trail_results *res;
    char err[128], cur[TRAIL_QUERY_CURSOR_MAX];
    ASSERT_OK(trail_results_open(ix, q, &res, err, sizeof(err)));
    struct trail_event *ev;
    trail_event_new(cat, "x", &ev);
    ASSERT_EQ(trail_results_next(res, ev), 0);
    ASSERT_EQ(trail_results_more(res), 0);
    ASSERT_OK(trail_results_cursor(res, cur, sizeof(cur)));
    trail_results_free(res);
    struct trail_count *c;
    ASSERT_OK(trail_query_set(q, "by", "hour,event", err, sizeof(err)));
    ASSERT_OK(trail_count_run(ix, q, &c, err, sizeof(err)));
    ASSERT_EQ(c->total, 0);
    ASSERT_EQ(c->n_rows, 0);
    trail_count_free(c);
    /* the reader's view of an empty store */
    struct trail_store *rs = open_store(d, 1);
    struct trail_index *rix;
    ASSERT_OK(trail_index_open(rs, NULL, &rix));
    ASSERT_EQ(find(rix, none, NULL), 0);
    trail_index_close(rix);
    trail_store_close(rs);
    trail_event_free(ev);
    trail_query_free(q);
    trail_index_close(ix);
    trail_store_close(s);
    remove_dir(d);
}

TEST(one_event_and_time_edges)
{
    char *d = make_dir();
    struct trail_store *s = open_store(d, 0);
    struct trail_event *ev;
    ASSERT_OK(trail_event_new(cat, "auth_entrypoints_oidc_logout", &ev));
    ASSERT_OK(trail_event_set_string(ev, "phxTraceId", "#Edge0001", (size_t)-1));
    ASSERT_OK(trail_event_set_string(ev, "phxEntrypointId", "oidc1", (size_t)-1));
    ASSERT_OK(trail_event_set_text(ev, "phxEntrypointType", (size_t)-1, "OIDC", 4));
    ASSERT_OK(trail_event_set_string(ev, "duser", "Astrid.Olsson", (size_t)-1));
    ASSERT_OK(trail_event_set_ip(ev, "src", "203.0.113.7", (size_t)-1));
    int64_t t;
    ASSERT_OK(trail_time_parse("2026-11-02T10:00:00Z", 20, &t));
    trail_event_set_time(ev, t);
    uint64_t seq;
    ASSERT_OK(trail_store_append(s, &ev, 1, &seq));
    ASSERT_OK(trail_store_wait(s, seq));
    struct trail_index *ix;
    ASSERT_OK(trail_index_open(s, NULL, &ix));
    uint64_t first;
    const char *all[] = {NULL};
    ASSERT_EQ(find(ix, all, &first), 1);
    ASSERT_EQ(first, seq);
    /* since is included, until is not; offsets name the same instant */
    const char *at_since[] = {"since", "2026-11-02T10:00:00Z", NULL};
    const char *at_until[] = {"until", "2026-11-02T10:00:00Z", NULL};
    const char *after[] = {"until", "2026-11-02T10:00:00.000001Z", NULL};
    const char *tz_in[] = {"since", "2026-11-02T11:00:00+01:00", "until",
                           "2026-11-02T05:00:00.000001-05:00", NULL};
    const char *tz_out[] = {"since", "2026-11-02T11:00:00.000001+01:00", NULL};
    const char *date[] = {"since", "2026-11-02", "until", "2026-11-03", NULL};
    const char *date_before[] = {"until", "2026-11-02", NULL};
    ASSERT_EQ(find(ix, at_since, NULL), 1);
    ASSERT_EQ(find(ix, at_until, NULL), 0);
    ASSERT_EQ(find(ix, after, NULL), 1);
    ASSERT_EQ(find(ix, tz_in, NULL), 1);
    ASSERT_EQ(find(ix, tz_out, NULL), 0);
    ASSERT_EQ(find(ix, date, NULL), 1);
    ASSERT_EQ(find(ix, date_before, NULL), 0);
    /* filters on the one event */
    const char *w1[] = {"where", "duser=Astrid.Olsson", NULL};
    const char *w2[] = {"where", "duser=astrid.olsson", NULL};
    const char *w3[] = {"where", "src=203.0.113.0/24", NULL};
    const char *w4[] = {"where", "src=203.0.112.0/24", NULL};
    const char *w5[] = {"where", "duser!=Astrid.Olsson", NULL};
    const char *w6[] = {"where", "suser!=x", NULL};
    const char *w7[] = {"where", "duser^=Astrid.", NULL};
    const char *t1[] = {"text", "olsson", NULL};
    const char *t2[] = {"text", "OLSSON astrid", NULL};
    const char *t3[] = {"text", "olss", NULL};
    const char *t4[] = {"text", "203.0.113.7", NULL};
    const char *t5[] = {"text", "#edge0001", NULL};
    const char *e1[] = {"event", "auth_*_logout", "severity", "NOTICE", NULL};
    const char *e2[] = {"event", "auth_*_logout", "severity", ">NOTICE", NULL};
    ASSERT_EQ(find(ix, w1, NULL), 1);
    ASSERT_EQ(find(ix, w2, NULL), 0);
    ASSERT_EQ(find(ix, w3, NULL), 1);
    ASSERT_EQ(find(ix, w4, NULL), 0);
    ASSERT_EQ(find(ix, w5, NULL), 0);
    ASSERT_EQ(find(ix, w6, NULL), 1);
    ASSERT_EQ(find(ix, w7, NULL), 1);
    ASSERT_EQ(find(ix, t1, NULL), 1);
    ASSERT_EQ(find(ix, t2, NULL), 1);
    ASSERT_EQ(find(ix, t3, NULL), 0);
    ASSERT_EQ(find(ix, t4, NULL), 1);
    ASSERT_EQ(find(ix, t5, NULL), 1);
    ASSERT_EQ(find(ix, e1, NULL), 1);
    ASSERT_EQ(find(ix, e2, NULL), 0);
    /* relative times against a fixed clock */
    struct trail_query *q;
    char err[256];
    trail_query_new(cat, &q);
    trail_query_set_clock(q, t + 15 * 60000000LL);
    ASSERT_OK(trail_query_set(q, "since", "15m", err, sizeof(err)));
    struct trail_results *res;
    ASSERT_OK(trail_results_open(ix, q, &res, err, sizeof(err)));
    ASSERT_EQ(trail_results_next(res, ev), 1);
    ASSERT_EQ(trail_event_seq(ev), seq);
    trail_results_free(res);
    trail_query_set_clock(q, t + 15 * 60000000LL + 1);
    ASSERT_OK(trail_results_open(ix, q, &res, err, sizeof(err)));
    ASSERT_EQ(trail_results_next(res, ev), 0);
    trail_results_free(res);
    trail_query_free(q);
    trail_event_free(ev);
    trail_index_close(ix);
    trail_store_close(s);
    remove_dir(d);
}

TEST(cursors_refuse_other_queries)
{
    setup();
    struct trail_query *q, *q2;
    char err[256], cur[TRAIL_QUERY_CURSOR_MAX];
    trail_query_new(cat, &q);
    trail_query_new(cat, &q2);
    ASSERT_OK(trail_query_set(q, "event", "auth_*", err, sizeof(err)));
    ASSERT_OK(trail_query_set(q, "limit", "5", err, sizeof(err)));
    struct trail_results *res;
    ASSERT_OK(trail_results_open(wix, q, &res, err, sizeof(err)));
    struct trail_event *ev;
    trail_event_new(cat, "x", &ev);
    while (trail_results_next(res, ev) == 1)
        ;
    ASSERT_OK(trail_results_cursor(res, cur, sizeof(cur)));
    trail_results_free(res);
    /* another filter */
    ASSERT_OK(trail_query_set(q2, "event", "saml_*", err, sizeof(err)));
    ASSERT_OK(trail_query_set(q2, "cursor", cur, err, sizeof(err)));
    ASSERT_EQ(trail_results_open(wix, q2, &res, err, sizeof(err)), TRAIL_E_PARSE);
    ASSERT(strstr(err, "cursor") != NULL);
    /* the other order */
    ASSERT_OK(trail_query_set(q, "cursor", cur, err, sizeof(err)));
    ASSERT_OK(trail_query_set(q, "order", "oldest", err, sizeof(err)));
    ASSERT_EQ(trail_results_open(wix, q, &res, err, sizeof(err)), TRAIL_E_PARSE);
    ASSERT(strstr(err, "order") != NULL);
    trail_event_free(ev);
    trail_query_free(q);
    trail_query_free(q2);
}

TEST(damaged_and_missing_idx_rebuilt)
{
    setup();
    /* damage one .idx and remove another: a new index rebuilds both and answers the same */
    uint64_t firsts[2] = {0, 0};
    pthread_mutex_lock(&wstore->seg_lock);
    int k = 0;
    for (size_t i = 0; i < wstore->n_segs && k < 2; i++)
        if (wstore->segs[i].sealed)
            firsts[k++] = wstore->segs[i].first_seq;
    pthread_mutex_unlock(&wstore->seg_lock);
    ASSERT_EQ(k, 2);
    char path[4200];
    idx_path(wstore, firsts[0], path, sizeof(path));
    FILE *f = fopen(path, "r+b");
    ASSERT(f != NULL);
    fseek(f, 200, SEEK_SET);
    int c = fgetc(f);
    fseek(f, 200, SEEK_SET);
    fputc(c ^ 0x5a, f);
    fclose(f);
    idx_path(wstore, firsts[1], path, sizeof(path));
    ASSERT_OK(unlink(path));
    /* a reader rebuilds in memory and leaves the files alone */
    struct trail_store *rs = open_store(dir, 1);
    struct trail_index *rix;
    ASSERT_OK(trail_index_open(rs, NULL, &rix));
    int ok = run_queries(rix, 40, "reader, rebuilt");
    struct trail_index_stats st;
    trail_index_stats(rix, &st);
    trail_index_close(rix);
    trail_store_close(rs);
    ASSERT(ok);
    ASSERT_EQ(st.rebuilt, 2);
    ASSERT(access(path, F_OK) != 0);
    /* a writer's index writes them again */
    struct trail_index *ix2;
    ASSERT_OK(trail_index_open(wstore, NULL, &ix2));
    ok = run_queries(ix2, 40, "writer, rebuilt");
    trail_index_stats(ix2, &st);
    trail_index_close(ix2);
    ASSERT(ok);
    ASSERT_EQ(st.rebuilt, 2);
    ASSERT_OK(access(path, F_OK));
}

/* ---- time order ---- */

struct tkey {
    int64_t t;
    uint64_t seq;
};

static int tkey_cmp(const void *pa, const void *pb)
{
    const struct tkey *a = pa, *b = pb;
    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/*
 * The brute force for order time / -time: the events of m up to max_seq
 * that b selects, sorted by (time, seq), reversed for -time; got must be
 * exactly that.
 */
static int compare_time(const char *desc, const struct evs *m, const struct bq *b, int reverse,
                        uint64_t max_seq, const uint64_t *got, size_t n_got)
{
    struct tkey *k = malloc((m->n ? m->n : 1) * sizeof(*k));
    size_t n = 0;
    for (size_t i = 0; i < m->n; i++)
        if (trail_event_seq(m->v[i]) <= max_seq && bq_match(b, m->v[i]))
            k[n++] = (struct tkey){trail_event_time(m->v[i]), trail_event_seq(m->v[i])};
    qsort(k, n, sizeof(*k), tkey_cmp);
    size_t i = 0;
    while (i < n && i < n_got && k[reverse ? n - 1 - i : i].seq == got[i])
        i++;
    int ok = i == n && i == n_got;
    if (!ok)
        fprintf(stderr,
                "time order: %s\n  %zu results, expected %zu; result %zu: expected seq %" PRIu64
                ", got %" PRIu64 " (0: none)\n",
                desc, n_got, n, i, i < n ? k[reverse ? n - 1 - i : i].seq : 0,
                i < n_got ? got[i] : 0);
    free(k);
    return ok;
}

/* The three hosts' "files" and where each is imported up to. */
struct imports {
    struct trail_loadgen *gen[3];
    size_t left[3];
    struct trail_store *s;
    struct evs *m;
};

/* Import a chunk of up to max events of one host's file (the next of a random host), durably. */
static size_t import_chunk(struct imports *im, size_t max)
{
    int h = (int)rndn(3);
    for (int tries = 0; tries < 3 && !im->left[h]; tries++)
        h = (h + 1) % 3;
    if (!im->left[h])
        return 0;
    size_t k = 1 + rndn(max);
    if (k > im->left[h])
        k = im->left[h];
    load(im->s, im->gen[h], k, im->m);
    im->left[h] -= k;
    if (trail_store_wait(im->s, trail_event_seq(im->m->v[im->m->n - 1])) < 0)
        abort();
    return k;
}

/*
 * Three hosts' event files imported in interleaved chunks, so that the
 * store's order is not time order and the blocks' time ranges overlap: h2
 * starts five hours before h1, h3 has exactly h1's times (ties broken by
 * seq). Random filters, order time and -time, random page sizes; between
 * pages more chunks are imported (times earlier and later than the page).
 * The pages must be exactly the brute-force sort by (time, seq) of the
 * events that were there at the first page: nothing skipped, nothing
 * repeated, nothing that arrived later.
 */
TEST(time_order_three_hosts_imported_while_paging)
{
    char *tdir = make_dir();
    struct trail_store *s = open_store(tdir, 0);
    struct evs m = {0};
    struct imports im = {.s = s, .m = &m};
    static const char *const hosts[3] = {"h1", "h2", "h3"};
    static const uint64_t seeds[3] = {5, 6, 5};
    static const int64_t starts[3] = {1793491200000000LL, 1793491200000000LL - 5 * 3600000000LL,
                                      1793491200000000LL};
    for (int h = 0; h < 3; h++) {
        struct trail_loadgen_opts lo = {.seed = seeds[h],
                                        .users = 40,
                                        .days = 1,
                                        .events = 3000,
                                        .start_us = starts[h],
                                        .host = hosts[h]};
        ASSERT_OK(trail_loadgen_new(cat, &lo, &im.gen[h]));
        im.left[h] = 2500;
    }
    while (m.n < 4500)
        import_chunk(&im, 400);
    wait_sealed(s);
    struct trail_index *ix;
    ASSERT_OK(trail_index_open(s, NULL, &ix));
    struct trail_event *ev;
    trail_event_new(cat, "x", &ev);
    static const char *const limits[] = {"1", "2", "5", "13", "50", "400", "0"};
    int ok = 1, n_queries = rounds(60);
    for (int i = 0; i < n_queries && ok; i++) {
        struct trail_query *q;
        struct bq b;
        char desc[2048], err[256], cursor[TRAIL_QUERY_CURSOR_MAX];
        int64_t now = trail_event_time(m.v[m.n - 1]) + 600000000LL;
        trail_query_new(cat, &q);
        rand_query(&m, q, &b, desc, sizeof(desc), now);
        int reverse = (int)rndn(2);
        const char *limit = limits[rndn(TRAIL_ARRAY_SIZE(limits))];
        trail_query_set(q, "order", reverse ? "-time" : "time", err, sizeof(err));
        trail_query_set(q, "limit", limit, err, sizeof(err));
        uint64_t present = trail_event_seq(m.v[m.n - 1]), *seqs = NULL;
        size_t n = 0, cap = 0, imported = 0;
        for (int pages = 0; ok; pages++) {
            struct trail_results *res;
            if (trail_results_open(ix, q, &res, err, sizeof(err)) < 0) {
                fprintf(stderr, "results_open: %s\n", err);
                ok = 0;
                break;
            }
            /* the first page sees everything imported so far */
            if (pages == 0 && trail_results_horizon(res) != present) {
                fprintf(stderr, "horizon %" PRIu64 ", imported %" PRIu64 "\n",
                        trail_results_horizon(res), present);
                ok = 0;
            }
            int r;
            while ((r = trail_results_next(res, ev)) == 1) {
                if (n == cap)
                    seqs = realloc(seqs, (cap = cap ? 2 * cap : 256) * sizeof(*seqs));
                seqs[n++] = trail_event_seq(ev);
            }
            int more = trail_results_more(res);
            trail_results_cursor(res, cursor, sizeof(cursor));
            trail_results_free(res);
            if (r < 0 || !more || pages > 20000) {
                ok = ok && r == 0 && !more;
                break;
            }
            if (trail_query_set(q, "cursor", cursor, err, sizeof(err)) < 0) {
                fprintf(stderr, "cursor %s: %s\n", cursor, err);
                ok = 0;
            }
            /* more of the files arrive between pages */
            if (rndn(3) == 0)
                imported += import_chunk(&im, 60);
        }
        if (ok && !compare_time(desc, &m, &b, reverse, present, seqs, n)) {
            fprintf(stderr, "  (order %s, limit %s, query %d, %zu imported while paging)\n",
                    reverse ? "-time" : "time", limit, i, imported);
            ok = 0;
        }
        free(seqs);
        trail_query_free(q);
    }
    /* whatever is left of the files, then one more check over all of it */
    while (import_chunk(&im, 400))
        ;
    uint64_t *all = NULL;
    size_t n_all;
    int pages;
    struct trail_query *q;
    struct bq none;
    memset(&none, 0, sizeof(none));
    none.since = INT64_MIN;
    none.until = INT64_MAX;
    none.sev_max = 255;
    trail_query_new(cat, &q);
    trail_query_set(q, "order", "-time", NULL, 0);
    ASSERT_OK(search_all(ix, q, 97, &all, &n_all, &pages));
    ASSERT_EQ(n_all, 7500);
    int whole = compare_time("everything, -time", &m, &none, 1, UINT64_MAX, all, n_all);
    free(all);
    trail_query_free(q);
    trail_event_free(ev);
    trail_index_close(ix);
    trail_store_close(s);
    for (int h = 0; h < 3; h++)
        trail_loadgen_free(im.gen[h]);
    evs_free(&m);
    remove_dir(tdir);
    ASSERT(ok);
    ASSERT(whole);
}

/*
 * Time order is a merge, not a sort: over a store written in time order,
 * a page of the oldest or the newest events, or one from a cursor deep in
 * the middle, decompresses a block or two, not the store's hundreds.
 */
TEST(time_order_reads_few_blocks)
{
    setup();
    struct trail_index *ix;
    ASSERT_OK(trail_index_open(wstore, NULL, &ix));
    static const char *const orders[] = {"time", "-time"};
    struct trail_event *ev;
    trail_event_new(cat, "x", &ev);
    char err[256], cur[TRAIL_QUERY_CURSOR_MAX];
    for (int o = 0; o < 2; o++) {
        struct trail_query *q;
        trail_query_new(cat, &q);
        ASSERT_OK(trail_query_set(q, "order", orders[o], err, sizeof(err)));
        ASSERT_OK(trail_query_set(q, "limit", "10", err, sizeof(err)));
        char mid[64];
        trail_time_format(trail_event_time(mem.v[mem.n / 2]), mid);
        for (int page = 0; page < 2; page++) {
            struct trail_index_stats a, b;
            trail_index_stats(ix, &a);
            struct trail_results *res;
            ASSERT_OK(trail_results_open(ix, q, &res, err, sizeof(err)));
            int k = 0;
            int64_t prev = o ? INT64_MAX : INT64_MIN;
            while (trail_results_next(res, ev) == 1) {
                ASSERT(o ? trail_event_time(ev) <= prev : trail_event_time(ev) >= prev);
                prev = trail_event_time(ev);
                k++;
            }
            ASSERT_EQ(k, 10);
            ASSERT_OK(trail_results_cursor(res, cur, sizeof(cur)));
            uint64_t opened, peak;
            qresults_merge_stats(res, &opened, &peak);
            trail_results_free(res);
            ASSERT(opened >= 1 && opened <= 2);
            ASSERT(peak <= 2 * QLIVE_UNIT);
            trail_index_stats(ix, &b);
            ASSERT(b.cache_misses - a.cache_misses <= 2);
            /* the second page: from the middle of the store */
            if (page == 0) {
                ASSERT_OK(trail_query_set(q, o ? "until" : "since", mid, err, sizeof(err)));
            }
        }
        /* a time cursor belongs to its order */
        ASSERT_OK(trail_query_set(q, "cursor", cur, err, sizeof(err)));
        ASSERT_OK(trail_query_set(q, "order", o ? "time" : "newest", err, sizeof(err)));
        struct trail_results *res;
        ASSERT_EQ(trail_results_open(ix, q, &res, err, sizeof(err)), TRAIL_E_PARSE);
        ASSERT(strstr(err, o ? "in -time order, not time" : "in time order, not newest") != NULL);
        trail_query_free(q);
    }
    /* a count ignores the order, a time order too */
    struct trail_query *q;
    trail_query_new(cat, &q);
    ASSERT_OK(trail_query_set(q, "order", "-time", err, sizeof(err)));
    ASSERT_OK(trail_query_set(q, "where", "duser!=nobody", err, sizeof(err)));
    struct trail_count *c;
    ASSERT_OK(trail_count_run(ix, q, &c, err, sizeof(err)));
    ASSERT_EQ(c->total, mem.n);
    trail_count_free(c);
    trail_query_free(q);
    trail_event_free(ev);
    trail_index_close(ix);
}

TEST(teardown)
{
    trail_index_close(wix);
    wix = NULL;
    if (wstore)
        trail_store_close(wstore);
    wstore = NULL;
    evs_free(&mem);
    if (dir)
        remove_dir(dir);
    dir = NULL;
}

static void init(void) __attribute__((constructor));
static void init(void)
{
    if (trail_catalog_new(&cat) < 0)
        abort();
}

TEST_MAIN(random_queries_writer, random_queries_reader, random_counts,
          count_whole_hours_from_rollups, count_by_attribute_from_value_rollups,
          older_index_upgraded, rare_events_read_by_their_seqs, paging_while_appending,
          live_segment_sealed_under_the_index, empty_store, one_event_and_time_edges,
          cursors_refuse_other_queries, damaged_and_missing_idx_rebuilt,
          time_order_three_hosts_imported_while_paging, time_order_reads_few_blocks, teardown)
