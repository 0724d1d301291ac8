/*
 * test_parse_reuse.c - decoding into an existing event
 * (trail_event_parse_json, _cef, _syslog): the same results, codes and
 * messages as the trail_event_from_* calls item by item, whatever the event
 * held before; a blank event to start from; nothing left over from the
 * previous item after a success or a failure; and no new memory for the
 * event once it has grown to the items' size.
 *
 * Not here: the formats themselves (test_json.c, test_cef.c,
 * test_syslog_parse.c).
 */
#include "harness.h"
#include "event/event.h"

#include <dirent.h>

typedef int (*from_fn)(const struct trail_catalog *, const char *, size_t, struct trail_event **,
                       char *, size_t);
typedef int (*parse_fn)(struct trail_event *, const char *, size_t, char *, size_t);

enum { SYSLOG, JSON, CEF, N_FORMS };

static const from_fn froms[N_FORMS] = {trail_event_from_syslog, trail_event_from_json,
                                       trail_event_from_cef};
static const parse_fn parses[N_FORMS] = {trail_event_parse_syslog, trail_event_parse_json,
                                         trail_event_parse_cef};

#define SCHEMA "n:int:required, b:bool, t:time, ip:ip, e:enum(a|b|c), s:string"

static struct trail_catalog *catalog(int policy)
{
    static struct trail_catalog *cats[3];
    if (!cats[policy]) {
        if (trail_catalog_new(&cats[policy]) != 0 ||
            trail_catalog_add(cats[policy], "test_reuse", "INFO", "A test event", SCHEMA) != 0 ||
            trail_catalog_set_policy(cats[policy], policy) != 0)
            abort();
    }
    return cats[policy];
}

/* Everything a decode gives: its code, its message, the event as JSON and validation's verdict. */
static void outcome(struct trail_event *ev, int r, const char *err, struct trail_buf *out)
{
    char line[512];
    trail_buf_reset(out);
    snprintf(line, sizeof(line), "r=%d err=%s", r, err);
    trail_buf_append(out, line, strlen(line));
    if (r != 0)
        return;
    trail_buf_append(out, " ", 1);
    trail_event_to_json(ev, out);
    int v = trail_event_validate(ev);
    snprintf(line, sizeof(line), " v=%d %s", v, trail_event_error(ev));
    trail_buf_append(out, line, strlen(line));
}

/*
 * Decode item with from_* into a new event and with parse_* into ev (which
 * holds whatever the previous item left); 1 when both say the same.
 */
static int same_both_ways(const struct trail_catalog *cat, int form, struct trail_event *ev,
                          const char *item, size_t len)
{
    struct trail_buf a = {0}, b = {0};
    char err_a[256], err_b[256];
    struct trail_event *fresh = NULL;
    int ra = froms[form](cat, item, len, &fresh, err_a, sizeof(err_a));
    int rb = parses[form](ev, item, len, err_b, sizeof(err_b));
    outcome(fresh, ra, err_a, &a);
    outcome(ev, rb, err_b, &b);
    int same = strcmp(a.data, b.data) == 0;
    if (!same)
        fprintf(stderr, "  form %d: %.*s\n    from:  %s\n    parse: %s\n", form,
                (int)(len > 200 ? 200 : len), item, a.data, b.data);
    /* after a failure the event is blank */
    if (rb != 0 && (trail_event_attr_count(ev) != 0 || trail_event_id(ev)[0] != '\0'))
        same = 0;
    trail_event_free(fresh);
    trail_buf_free(&a);
    trail_buf_free(&b);
    return same;
}

TEST(blank_event)
{
    struct trail_event *ev;
    ASSERT_OK(trail_event_new(catalog(TRAIL_POLICY_STRICT), NULL, &ev));
    ASSERT_STREQ(trail_event_id(ev), "");
    ASSERT(trail_event_def(ev) == NULL);
    ASSERT_EQ(trail_event_attr_count(ev), 0);
    ASSERT_EQ(trail_event_validate(ev), TRAIL_E_BAD_ID);
    trail_event_free(ev);
    ASSERT_OK(trail_event_new(catalog(TRAIL_POLICY_STRICT), "", &ev));
    ASSERT_STREQ(trail_event_id(ev), "");
    ASSERT_EQ(trail_event_severity(ev), TRAIL_SEV_INFO);
    trail_event_free(ev);
}

TEST(replaces_content)
{
    struct trail_catalog *cat = catalog(TRAIL_POLICY_STRICT);
    struct trail_event *ev;
    char err[256];
    ASSERT_OK(trail_event_new(cat, "test_reuse", &ev));
    ASSERT_OK(trail_event_set_int(ev, "n", 1));
    ASSERT_OK(trail_event_set_string(ev, "s", "old", 3));
    ASSERT_OK(trail_event_set_host(ev, "old-host", (size_t)-1));
    trail_event_set_seq(ev, 9);

    /* a JSON item with fewer attributes and no host: nothing of the old stays */
    const char *j = "{\"id\":\"test_reuse\",\"attrs\":{\"n\":2}}";
    ASSERT_OK(trail_event_parse_json(ev, j, strlen(j), err, sizeof(err)));
    ASSERT_EQ(trail_event_attr_count(ev), 1);
    ASSERT_STREQ(trail_event_host(ev), "");
    ASSERT_EQ(trail_event_seq(ev), 0);
    ASSERT_EQ(trail_event_time(ev), 0);
    struct trail_value v;
    ASSERT_OK(trail_event_attr_get(ev, "n", &v));
    ASSERT_EQ(v.u.i, 2);

    /* a failure leaves the event blank, with the message in err */
    const char *bad = "{\"id\":\"test_reuse\",\"attrs\":{\"n\":\"x\"}}";
    ASSERT_EQ(trail_event_parse_json(ev, bad, strlen(bad), err, sizeof(err)), TRAIL_E_BAD_TYPE);
    ASSERT_STREQ(err, "byte 32: attribute 'n': 'x' is not a valid int");
    ASSERT_STREQ(trail_event_id(ev), "");
    ASSERT_EQ(trail_event_attr_count(ev), 0);

    /* then the next item decodes, in another form */
    const char *s = "<14>1 2026-11-01T00:00:00Z idp1 app - test_reuse [trail@32473 n=\"3\" "
                    "e=\"b\"] text";
    ASSERT_OK(trail_event_parse_syslog(ev, s, strlen(s), err, sizeof(err)));
    ASSERT_STREQ(trail_event_id(ev), "test_reuse");
    ASSERT_STREQ(trail_event_host(ev), "idp1");
    ASSERT_EQ(trail_event_attr_count(ev), 2);
    ASSERT_OK(trail_event_validate(ev));
    const char *c = "CEF:0|a|b|c|core_server_run_starting|d|3|msg=null";
    ASSERT_OK(trail_event_parse_cef(ev, c, strlen(c), err, sizeof(err)));
    ASSERT_STREQ(trail_event_id(ev), "core_server_run_starting");
    ASSERT_STREQ(trail_event_host(ev), "");
    ASSERT_EQ(trail_event_attr_count(ev), 0);
    trail_event_free(ev);
}

/* The workload generator's events in each form, through one event per form. */
TEST(loadgen_items_and_memory)
{
    struct trail_catalog *cat = catalog(TRAIL_POLICY_STRICT);
    struct trail_loadgen *gen;
    struct trail_event *src, *evs[N_FORMS];
    struct trail_loadgen_opts opts = {.seed = 3};
    struct trail_cef_opts cef = {.log_prefix = 1};
    struct trail_buf items[N_FORMS] = {{0}};
    size_t off[N_FORMS][301];
    ASSERT_OK(trail_loadgen_new(cat, &opts, &gen));
    ASSERT_OK(trail_event_new(cat, NULL, &src));
    for (int f = 0; f < N_FORMS; f++)
        ASSERT_OK(trail_event_new(cat, NULL, &evs[f]));
    for (int i = 0; i < 300; i++) {
        ASSERT_OK(trail_loadgen_next(gen, src));
        for (int f = 0; f < N_FORMS; f++) {
            off[f][i] = items[f].len;
            ASSERT_OK(f == SYSLOG ? trail_event_to_syslog(src, NULL, &items[f])
                      : f == JSON ? trail_event_to_json(src, &items[f])
                                  : trail_event_to_cef(src, &cef, &items[f]));
        }
    }
    for (int f = 0; f < N_FORMS; f++) {
        off[f][300] = items[f].len;
        for (int i = 0; i < 300; i++)
            ASSERT(same_both_ways(cat, f, evs[f], items[f].data + off[f][i],
                                  off[f][i + 1] - off[f][i]));
        /* a second pass over the same items: the event's memory is what it was */
        struct trail_attr *attrs = evs[f]->attrs;
        char *arena = evs[f]->arena;
        for (int i = 0; i < 300; i++) {
            char err[256];
            ASSERT_OK(parses[f](evs[f], items[f].data + off[f][i], off[f][i + 1] - off[f][i], err,
                                sizeof(err)));
            ASSERT_OK(trail_event_validate(evs[f]));
        }
        ASSERT(evs[f]->attrs == attrs);
        ASSERT(evs[f]->arena == arena);
        trail_event_free(evs[f]);
        trail_buf_free(&items[f]);
    }
    trail_event_free(src);
    trail_loadgen_free(gen);
}

/* Items that fail in each of the ways the decoders know, between good ones. */
TEST(refusals_match)
{
    static const char *const items[] = {
        "{\"id\":\"test_reuse\",\"attrs\":{\"n\":5,\"b\":true,\"t\":\"2020-01-01T00:00:00Z\","
        "\"ip\":\"10.0.0.1\",\"e\":\"a\",\"s\":\"x\"}}",
        "{\"id\":\"test_reuse\",\"attrs\":{\"n\":1,\"t\":\"12020-01-01T00:00:00Z\"}}",
        "{\"attrs\":{\"s\":null,\"n\":1,\"zz\":null,\"zz\":2},\"id\":\"test_reuse\"}",
        "{\"attrs\":{\"s\":null,\"n\":1},\"id\":\"test_reuse\",\"host\":\"h\",\"seq\":7}",
        "{\"id\":\"Bad\",\"attrs\":{}}",
        "{\"id\":\"test_reuse\",\"attrs\":{\"n\":1,\"e\":\"d\"}}",
        "{\"id\":\"test_reuse\",\"attrs\":{\"n\":1,\"a b\":\"c\"}}",
        "<14>1 2020-01-01T00:00:00Z host app - test_reuse [trail@32473 n=\"5\" b=\"true\" "
        "ip=\"10.0.0.1\" e=\"a\" s=\"x\\]\\\"\\\\\\q\"] msg",
        "<14>1 2020-01-01T00:00:00Z host app - test_reuse [trail@32473 n=\"x5\"]",
        "<14>1 2020-01-01T00:00:00Z host app - test_reuse [trail@32473 n=\"5\" k.1=\"a b\" "
        "a.1=\"v\"]",
        "<14>1 2020-01-01T00:00:00Z host app - test_reuse [trail@32473 n=\"5\" a.2=\"w\"]",
        "<14>1 2020-01-01T00:00:00Z host app - test_reuse [trail@32473 n=\"5\" uuid=\"zz\"]",
        "<14>1 2020-01-01T00:00:00Z host app - - [trail@32473 n=\"5\"]",
        "<14>1 2020-01-01T00:00:00Z host app - - - {\"id\":\"test_reuse\",\"attrs\":{\"n\":1}}",
        "<14>Jan  1 00:00:00 host tag[12]: CEF:0|a|b|c|test_reuse|d|3|n=1 s=null s=2",
        "2025-04-23 16:14:23,508 [EVENT]  INFO: 2025-04-23T16:14:23+02:00 idp1 "
        "CEF:0|a|b|c|test_reuse|d|3|n=1 t=2020-01-01T00:00:00Z ip=1.2.3.4 b=false e=c s=x\\\\y",
        "CEF:0|a|b|c|test_reuse|d|3|n=1 q=null q=null",
        "CEF:0|a|b|c|unknown_x|d|11|n=1",
        "CEF:0|a|b|c|test_reuse|d|3|n=1 t=12020-01-01T00:00:00Z",
        "",
        "not an event",
    };
    for (int policy = TRAIL_POLICY_STRICT; policy <= TRAIL_POLICY_OFF; policy++) {
        struct trail_catalog *cat = catalog(policy);
        for (int f = 0; f < N_FORMS; f++) {
            struct trail_event *ev;
            ASSERT_OK(trail_event_new(cat, "test_reuse", &ev));
            for (size_t i = 0; i < TRAIL_ARRAY_SIZE(items); i++)
                ASSERT(same_both_ways(cat, f, ev, items[i], strlen(items[i])));
            trail_event_free(ev);
        }
    }
}

/* Every fuzz corpus input of the three decoders, in every form, under every policy. */
TEST(fuzz_corpora_match)
{
    static const char *const dirs[] = {"fuzz_syslog", "fuzz_json", "fuzz_cef"};
    const char *src = getenv("TRAIL_SOURCE_DIR");
    size_t n_files = 0;
    if (!src)
        src = ".";
    static char buf[1 << 17];
    for (size_t d = 0; d < TRAIL_ARRAY_SIZE(dirs); d++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/%s", src, dirs[d]);
        DIR *dir = opendir(path);
        if (!dir)
            FAIL_AT("cannot open %s (TRAIL_SOURCE_DIR)", path);
        struct trail_event *evs[3][N_FORMS];
        for (int p = 0; p < 3; p++)
            for (int f = 0; f < N_FORMS; f++)
                if (trail_event_new(catalog(p), NULL, &evs[p][f]) != 0)
                    abort();
        struct dirent *e;
        int ok = 1;
        while (ok && (e = readdir(dir))) {
            if (e->d_name[0] == '.')
                continue;
            char file[8192];
            snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
            FILE *fp = fopen(file, "rb");
            if (!fp)
                continue;
            size_t n = fread(buf, 1, sizeof(buf), fp);
            fclose(fp);
            n_files++;
            for (int p = 0; p < 3 && ok; p++)
                for (int f = 0; f < N_FORMS && ok; f++)
                    ok = same_both_ways(catalog(p), f, evs[p][f], buf, n);
        }
        closedir(dir);
        for (int p = 0; p < 3; p++)
            for (int f = 0; f < N_FORMS; f++)
                trail_event_free(evs[p][f]);
        ASSERT(ok);
    }
    ASSERT(n_files > 100);
}

TEST_MAIN(blank_event, replaces_content, loadgen_items_and_memory, refusals_match,
          fuzz_corpora_match)
