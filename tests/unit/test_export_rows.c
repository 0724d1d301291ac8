/*
 * test_export_rows.c - trail_results_write, the rows of an export written
 * from the stored records in place (issue 19), against the way it
 * replaces: each event decoded (trail_results_next) and written by the
 * event's writer (trail_event_to_csv, _json, _cef). Over generated events
 * whose text holds what the writers must escape or quote (quotes, commas,
 * newlines, backslashes, '=' and '|', tabs, controls, DEL, C1 controls,
 * U+2028, non-ASCII, a formula's first character), every attribute type,
 * declared and undeclared attributes, problems listed under the lenient
 * policy, every input, peers, principals, trail's own records and relayed
 * events, in sealed segments (read ahead by the writer's helper) and the
 * live one; in every order, with and without filters and limits, written
 * in chunks of many sizes: the bytes, the number of rows, the cursor and
 * whether there is more must be the same.
 *
 * And record_row against record_decode over records with bytes changed at
 * random: a record the row reader takes the decoder takes too, and both
 * write the same row in every form; one the decoder refuses the row reader
 * leaves to it (so that a damaged record fails as it did).
 *
 * TEST_SEED=N picks other events.
 */
#include "harness.h"
#include "codec/codec.h"
#include "query/query.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define EV_ID "export_rows_ev"
#define SCHEMA                                                                                     \
    "n:int, ok:bool, src:ip, at:time, kind:enum(a|b|c), s:string, opt:string, "                    \
    "need:string:required"

static struct trail_catalog *cat;
static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
    return test_rand(&rng_state);
}

static uint64_t rndn(uint64_t n)
{
    return n ? rnd() % n : 0;
}

/* Text of pieces that matter to some writer, and runs of plain text past 16 bytes. */
static size_t odd_text(char *out, size_t max)
{
    static const char *const pieces[] = {"a",
                                         "Z",
                                         "9",
                                         " ",
                                         ",",
                                         "\"",
                                         "'",
                                         "\\",
                                         "=",
                                         "|",
                                         "\n",
                                         "\r",
                                         "\t",
                                         "\x01",
                                         "\x1b",
                                         "\x7f",
                                         "\xc3\xa5",
                                         "\xe2\x82\xac",
                                         "+",
                                         "-",
                                         "@",
                                         "{",
                                         "}",
                                         "\xc2\x85",
                                         "\xe2\x80\xa8",
                                         ":",
                                         "\xf0\x9f\x98\x80",
                                         "\"",
                                         ",",
                                         "null",
                                         "%s",
                                         "<",
                                         "&",
                                         ";"};
    size_t n = 0;
    size_t parts = rndn(24);
    for (size_t k = 0; k < parts; k++) {
        if (rndn(4) == 0) {
            size_t run = 1 + rndn(40);
            for (size_t i = 0; i < run && n + 1 < max; i++)
                out[n++] = (char)('a' + rndn(26));
            continue;
        }
        const char *p = pieces[rndn(sizeof(pieces) / sizeof(*pieces))];
        size_t l = strlen(p);
        if (n + l >= max)
            break;
        memcpy(out + n, p, l);
        n += l;
    }
    out[n] = '\0';
    return n;
}

/* A key of [A-Za-z0-9_.-], 1..20 bytes, not one the schema declares. */
static size_t odd_key(char *out)
{
    static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
    size_t n = 1 + rndn(20);
    out[0] = 'x';
    for (size_t i = 1; i < n; i++)
        out[i] = chars[rndn(sizeof(chars) - 1)];
    out[n] = '\0';
    return n;
}

static void random_ip(char *out, size_t size)
{
    uint8_t a[16] = {0};
    for (int i = 0; i < 16; i++)
        a[i] = rndn(3) ? 0 : (uint8_t)rnd();
    if (rndn(2)) {
        if (!inet_ntop(AF_INET, a + 12, out, (socklen_t)size))
            abort();
    } else {
        if (rndn(4) == 0)
            a[10] = a[11] = 0xff; /* ::ffff:a.b.c.d */
        if (!inet_ntop(AF_INET6, a, out, (socklen_t)size))
            abort();
    }
}

static const int64_t T0 = 1796000000000000LL; /* 2026-11-30, a fixed instant */

/* One generated event (not yet stored). */
static struct trail_event *gen_event(void)
{
    static const char *const builtin[] = {"core_bankid_auth_started",
                                          "auth_entrypoints_saml_auth_started"};
    char text[400], key[32], ip[64];
    struct trail_event *ev;
    int kind = (int)rndn(10);
    const char *id = kind < 6 ? EV_ID : kind < 9 ? builtin[rndn(2)] : "trail_run_started";
    if (trail_event_new(cat, id, &ev) < 0)
        abort();
    int64_t t = T0 - (int64_t)rndn(40ull * 86400 * 1000000);
    if (rndn(20) == 0)
        t = rndn(2) ? -(int64_t)rndn(1ull << 50) : 253402300799000000LL; /* before 1970, 9999 */
    trail_event_set_time(ev, t);
    if (rndn(3)) {
        size_t n = odd_text(text, 200);
        if (trail_event_set_host(ev, text, n) < 0)
            abort();
    }
    if (kind == 9) {
        trail_event_mark_own(ev);
    } else {
        static const int inputs[] = {TRAIL_INPUT_HTTP,       TRAIL_INPUT_SYSLOG_TCP,
                                     TRAIL_INPUT_SYSLOG_UDP, TRAIL_INPUT_IMPORT,
                                     TRAIL_INPUT_FOLLOW,     TRAIL_INPUT_CEF_TCP};
        int in = inputs[rndn(sizeof(inputs) / sizeof(*inputs))];
        if (trail_event_set_input(ev, in, in == TRAIL_INPUT_FOLLOW ? "pas.log-1" : NULL,
                                  in == TRAIL_INPUT_FOLLOW ? 9 : 0) < 0)
            abort();
        if (rndn(2)) {
            struct trail_peer p = {.family = (uint8_t)(rndn(2) ? 4 : 6),
                                   .port = (uint16_t)rndn(65536)};
            for (int i = 0; i < 16; i++)
                p.addr[i] = (uint8_t)rnd();
            trail_event_set_peer(ev, &p);
        }
        if (rndn(2)) {
            size_t n = odd_text(text, 200);
            if (trail_event_set_principal(ev, text, n) < 0)
                abort();
        }
    }
    if (rndn(2))
        trail_event_set_received(ev, T0 + (int64_t)rndn(1000000000));
    if (kind < 6) {
        if (rndn(5))
            trail_event_set_int(ev, "n",
                                rndn(8) == 0 ? (rndn(2) ? INT64_MIN : INT64_MAX)
                                             : (int64_t)rnd() >> rndn(64));
        if (rndn(2))
            trail_event_set_bool(ev, "ok", (int)rndn(2));
        if (rndn(2)) {
            random_ip(ip, sizeof(ip));
            if (trail_event_set_ip(ev, "src", ip, strlen(ip)) < 0)
                abort();
        }
        if (rndn(2))
            trail_event_set_time_attr(ev, "at", T0 - (int64_t)rndn(1ull << 52));
        if (rndn(2))
            trail_event_set_text(ev, "kind", 4, rndn(2) ? "a" : "c", 1);
        for (const char *k = "s"; k; k = strcmp(k, "s") == 0 ? "opt" : NULL)
            if (rndn(4)) {
                size_t n = odd_text(text, sizeof(text));
                if (trail_event_set_string(ev, k, text, n) < 0)
                    abort();
            }
        /* "need" is required: left out now and then, listed as a problem */
        if (rndn(4)) {
            size_t n = odd_text(text, 100);
            if (trail_event_set_string(ev, "need", text, n) < 0)
                abort();
        }
    }
    if (kind != 9) {
        /* undeclared attributes (the lenient policy keeps them, listed as problems) */
        for (size_t k = rndn(4); k > 0; k--) {
            odd_key(key);
            size_t n = odd_text(text, 300);
            if (trail_event_set_string(ev, key, text, n) < 0)
                abort();
        }
    }
    if (rndn(12) == 0) {
        /* a relayed event: this one as another trail stored and sent it */
        uint8_t u[16];
        for (int i = 0; i < 16; i++)
            u[i] = (uint8_t)rnd();
        trail_event_set_uuid(ev, u);
        trail_event_set_seq(ev, 1 + rndn(1000000));
        trail_event_set_received(ev, T0 - 5000000);
        if (kind == 9 &&
            trail_event_set_input(ev, TRAIL_INPUT_HTTP, NULL, 0) < 0) /* never trail's own */
            abort();
        struct trail_buf js = {0};
        struct trail_event *rel;
        char err[256];
        if (kind != 9 && trail_event_to_json(ev, &js) == 0 &&
            trail_event_new(cat, NULL, &rel) == 0) {
            if (trail_event_parse_relayed_json(rel, js.data, js.len, "relay-1.example", err,
                                               sizeof(err)) == 0) {
                trail_event_free(ev);
                ev = rel;
                trail_event_set_input(ev, TRAIL_INPUT_HTTP, NULL, 0);
            } else {
                trail_event_free(rel);
            }
        }
        trail_buf_free(&js);
    }
    return ev;
}

/* ---- the store ---- */

static char dir[64];
static struct trail_store *store;
static struct trail_index *ix;
static size_t n_stored;

static void append(size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct trail_event *ev = gen_event();
        uint64_t seq;
        /* as an input would: the lenient policy lists what is wrong in the record */
        int r = trail_event_validate(ev);
        if (r == 0)
            r = trail_store_append(store, &ev, 1, &seq);
        if (r < 0) {
            fprintf(stderr, "append: %s: %s\n", trail_strerror(r), trail_event_error(ev));
            abort();
        }
        trail_event_free(ev);
        n_stored++;
    }
}

/* Every segment but the active one sealed, with its .idx. */
static void wait_sealed(void)
{
    for (int tries = 0; tries < 3000; tries++) {
        struct trail_store_stats st;
        trail_store_stats(store, &st);
        if (st.sealed_segments + 1 >= st.segments && st.segments >= 3)
            return;
        usleep(10000);
    }
    fprintf(stderr, "sealing did not finish\n");
    abort();
}

static void setup(void)
{
    const char *seed = getenv("TEST_SEED");
    if (seed)
        rng_state = strtoull(seed, NULL, 10) * 0x9e3779b97f4a7c15ull | 1;
    if (trail_catalog_new(&cat) < 0 ||
        trail_catalog_add(cat, EV_ID, "NOTICE", "Rows | of \\ an export: \xc3\xa5 = \"x\"",
                          SCHEMA) < 0 ||
        trail_catalog_set_policy(cat, TRAIL_POLICY_LENIENT) < 0)
        abort();
    snprintf(dir, sizeof(dir), "/tmp/trail-test-rows-XXXXXX");
    if (!mkdtemp(dir))
        abort();
    struct trail_store_opts o = {.create = 1,
                                 .fsync_policy = TRAIL_FSYNC_NEVER,
                                 .segment_max_bytes = 192u << 10,
                                 .block_bytes = 16u << 10,
                                 .zstd_level = 1};
    if (trail_store_open(dir, cat, &o, &store, NULL) < 0)
        abort();
    /* sealed segments of several blocks, then a live one */
    append(2500);
    wait_sealed();
    append(400);
    /* all durable: every search below sees the same store */
    if (trail_store_wait(store, trail_store_last_seq(store)) < 0 ||
        trail_index_open(store, NULL, &ix) < 0)
        abort();
}

/* ---- the two ways ---- */

struct way {
    struct trail_buf out;
    uint64_t rows;
    int more;
    char cursor[TRAIL_QUERY_CURSOR_MAX];
};

static int event_row(const struct trail_event *ev, int form, const struct trail_cef_opts *cef,
                     struct trail_buf *out)
{
    int r = form == TRAIL_ROWS_CSV      ? trail_event_to_csv(ev, out)
            : form == TRAIL_ROWS_NDJSON ? trail_event_to_json(ev, out)
                                        : trail_event_to_cef(ev, cef, out);
    return r < 0 ? r : trail_buf_append(out, "\n", 1);
}

/*
 * Search q and write its rows into w: each event decoded and written by the
 * event's writer (chunk 0), or written from the records in chunks of about
 * `chunk` bytes. 0 or the search's error.
 */
static int search_rows(const struct trail_query *q, int form, const struct trail_cef_opts *cef,
                       size_t chunk, struct way *w)
{
    struct trail_results *res;
    struct trail_event *ev;
    char err[256];
    int r = trail_results_open(ix, q, &res, err, sizeof(err));
    if (r < 0)
        return r;
    if (trail_event_new(cat, "x", &ev) < 0)
        abort();
    if (!chunk) {
        while ((r = trail_results_next(res, ev)) == 1 &&
               (r = event_row(ev, form, cef, &w->out)) == 0)
            w->rows++;
    } else {
        do {
            uint64_t rows = 0;
            r = trail_results_write(res, ev, form, cef, &w->out, w->out.len + chunk, &rows);
            w->rows += rows;
        } while (r == 1);
    }
    w->more = trail_results_more(res);
    trail_results_cursor(res, w->cursor, sizeof(w->cursor));
    trail_results_free(res);
    trail_event_free(ev);
    return r;
}

/* The first line where a and b differ, for the failure message. */
static void show_diff(const struct trail_buf *a, const struct trail_buf *b)
{
    size_t i = 0, line = 0;
    while (i < a->len && i < b->len && a->data[i] == b->data[i])
        i++;
    size_t start = i;
    while (start > 0 && a->data[start - 1] != '\n')
        start--;
    for (size_t k = 0; k < start; k++)
        line += a->data[k] == '\n';
    fprintf(stderr, "  row %zu differs at byte %zu:\n  events:  %.300s\n  records: %.300s\n", line,
            i - start, a->data + start, b->data + start);
}

TEST(rows_from_records_as_decoded_events)
{
    static const struct {
        const char *key, *value;
    } queries[][3] = {
        {{NULL, NULL}},
        {{"limit", "777"}},
        {{"event", EV_ID}, {"limit", "0"}},
        {{"where", "kind=a"}},
        {{"text", "zz"}},
        {{"since", "2026-11-10"}, {"until", "2026-11-25"}},
        {{"severity", ">=NOTICE"}, {"limit", "50"}},
    };
    static const char *const orders[] = {"oldest", "newest", "time", "-time"};
    struct trail_cef_opts cefs[] = {
        {0},
        {.log_prefix = 1},
        {.log_prefix = 1, .utc_offset_min = 90, .provenance = 1, .vendor = "V|\\x"},
    };
    size_t compared = 0, rows_total = 0;
    for (int form = TRAIL_ROWS_CSV; form <= TRAIL_ROWS_CEF; form++) {
        for (size_t c = 0; c < (form == TRAIL_ROWS_CEF ? 3u : 1u); c++) {
            for (size_t o = 0; o < 4; o++) {
                for (size_t k = 0; k < sizeof(queries) / sizeof(*queries); k++) {
                    struct trail_query *q;
                    char err[256];
                    ASSERT_OK(trail_query_new(cat, &q));
                    ASSERT_OK(trail_query_set(q, "order", orders[o], err, sizeof(err)));
                    ASSERT_OK(trail_query_set(q, "limit", "0", err, sizeof(err)));
                    trail_query_set_clock(q, T0);
                    for (int i = 0; i < 3 && queries[k][i].key; i++)
                        ASSERT_OK(trail_query_set(q, queries[k][i].key, queries[k][i].value, err,
                                                  sizeof(err)));
                    struct way a = {0}, b = {0};
                    size_t chunk = rndn(3) == 0 ? 1 : 1 + rndn(64u << 10);
                    int ra = search_rows(q, form, &cefs[c], 0, &a);
                    int rb = search_rows(q, form, &cefs[c], chunk, &b);
                    trail_query_free(q);
                    ASSERT_EQ(ra, 0);
                    ASSERT_EQ(rb, 0);
                    if (a.out.len != b.out.len ||
                        (a.out.len && memcmp(a.out.data, b.out.data, a.out.len) != 0)) {
                        fprintf(stderr,
                                "  form %d (trail_rows_form), cef opts %zu, order %s, query %zu, "
                                "chunk %zu\n",
                                form, c, orders[o], k, chunk);
                        show_diff(&a.out, &b.out);
                    }
                    ASSERT_EQ(b.out.len, a.out.len);
                    ASSERT(memcmp(a.out.data, b.out.data, a.out.len) == 0);
                    ASSERT_EQ(b.rows, a.rows);
                    ASSERT_EQ(b.more, a.more);
                    ASSERT_STREQ(b.cursor, a.cursor);
                    rows_total += a.rows;
                    compared++;
                    trail_buf_free(&a.out);
                    trail_buf_free(&b.out);
                }
            }
        }
    }
    ASSERT_EQ(compared, 5 * 4 * 7);
    /* the searches found rows (not a comparison of empty answers) */
    ASSERT(rows_total > 20 * n_stored);
}

/* What the events hold: every kind of field came up, so that the comparison covered them. */
TEST(events_cover_the_fields)
{
    struct trail_query *q;
    struct trail_results *res;
    struct trail_event *ev;
    char err[256];
    ASSERT_OK(trail_query_new(cat, &q));
    ASSERT_OK(trail_query_set(q, "limit", "0", err, sizeof(err)));
    ASSERT_OK(trail_results_open(ix, q, &res, err, sizeof(err)));
    ASSERT_OK(trail_event_new(cat, "x", &ev));
    size_t own = 0, relayed = 0, problems = 0, peers6 = 0, quotes = 0, newlines = 0, c1 = 0, n = 0;
    while (trail_results_next(res, ev) == 1) {
        n++;
        own += trail_event_is_own(ev);
        relayed += trail_event_hops(ev) > 0;
        problems += trail_event_problems(ev)[0] != '\0';
        peers6 += trail_event_peer(ev)->family == 6;
        struct trail_buf js = {0};
        ASSERT_OK(trail_event_to_json(ev, &js));
        quotes += strstr(js.data, "\\\"") != NULL;
        newlines += strstr(js.data, "\\u000a") != NULL;
        c1 += strstr(js.data, "\\u0085") != NULL;
        trail_buf_free(&js);
    }
    trail_results_free(res);
    trail_event_free(ev);
    trail_query_free(q);
    ASSERT(n >= n_stored); /* and traild's none: the store is this test's */
    ASSERT(own > 10);
    ASSERT(relayed > 10);
    ASSERT(problems > 100);
    ASSERT(peers6 > 100);
    ASSERT(quotes > 100);
    ASSERT(newlines > 100);
    ASSERT(c1 > 100);
}

/*
 * record_row against record_decode: generated records with one to three
 * bytes changed at random (or none). A record whose head does not parse is
 * refused before either is asked (next_match).
 */
TEST(record_row_takes_what_the_decoder_takes)
{
    static const uint8_t sid[16] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};
    struct trail_event *dec;
    ASSERT_OK(trail_event_new(cat, "x", &dec));
    struct codec_attr attrs[64];
    struct trail_buf a = {0}, b = {0};
    size_t taken = 0, refused = 0, left = 0;
    for (int round = 0; round < 20000; round++) {
        struct trail_event *ev = gen_event();
        if (trail_event_validate(ev) < 0) {
            trail_event_free(ev);
            continue;
        }
        uint8_t rec[16384];
        size_t len = record_size(ev);
        ASSERT(len <= sizeof(rec));
        record_write(ev, 1 + rndn(1u << 30), trail_event_time(ev), T0, rec);
        trail_event_free(ev);
        for (uint64_t k = round % 4 ? 1 + rndn(3) : 0; k > 0; k--)
            rec[rndn(len)] ^= (uint8_t)(1u << rndn(8));
        struct rec_view v;
        if (rec_view_parse(rec, len, &v) < 0)
            continue;
        struct codec_row row, erow;
        uint8_t uuid[16];
        int took = record_row(&v, rec, sid, cat, attrs, 64, uuid, &row);
        int r = record_decode(rec, len, sid, dec);
        if (r < 0) {
            ASSERT_EQ(took, 0); /* the decoder's refusal stays the answer */
            refused++;
            continue;
        }
        if (!took) {
            left++; /* valid, but the decoder's to read (written from the event) */
            continue;
        }
        taken++;
        codec_row_of_event(dec, &erow);
        struct trail_cef_opts cef = {.log_prefix = 1, .provenance = 1};
        for (int form = 0; form < 3; form++) {
            trail_buf_reset(&a);
            trail_buf_reset(&b);
            int ra = form == 0   ? codec_row_csv(&erow, &a)
                     : form == 1 ? codec_row_json(&erow, &a)
                                 : codec_row_cef(&erow, &cef, &a);
            int rb = form == 0   ? codec_row_csv(&row, &b)
                     : form == 1 ? codec_row_json(&row, &b)
                                 : codec_row_cef(&row, &cef, &b);
            ASSERT_EQ(ra, 0);
            ASSERT_EQ(rb, 0);
            if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
                fprintf(stderr, "  form %d:\n  decoded: %s\n  in place: %s\n", form, a.data,
                        b.data);
            ASSERT_EQ(b.len, a.len);
            ASSERT(memcmp(a.data, b.data, a.len) == 0);
        }
    }
    trail_buf_free(&a);
    trail_buf_free(&b);
    trail_event_free(dec);
    /* each outcome came up often: not a test of one of them */
    ASSERT(taken > 5000);
    ASSERT(refused > 500);
    fprintf(stderr, "  %zu taken in place, %zu refused by both, %zu left to the decoder\n", taken,
            refused, left);
}

static void teardown(void)
{
    trail_index_close(ix);
    trail_store_close(store);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        abort();
    trail_catalog_free(cat);
}

TEST(setup_store)
{
    setup();
    ASSERT(n_stored == 2900);
}

TEST(teardown_store)
{
    teardown();
}

TEST_MAIN(setup_store, rows_from_records_as_decoded_events, events_cover_the_fields,
          record_row_takes_what_the_decoder_takes, teardown_store)
