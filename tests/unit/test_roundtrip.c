/*
 * test_roundtrip.c - property tests of the wire forms.
 *
 *  - Thousands of events with random attribute values from a seeded PRNG
 *    (quotes, pipes, equals signs, backslashes, brackets, line breaks,
 *    control characters, 2-, 3- and 4-byte UTF-8, empty strings, " key="
 *    runs; random ints, bools, IPv4 and IPv6 addresses and times) go
 *    event -> JSON -> event and event -> CEF -> event and must come back
 *    with every value exactly.
 *  - Values made to forge a field, a member or a whole event decode to
 *    exactly one event with exactly the original attributes, and the
 *    syslog encoding's structured data reads back to the same pairs.
 *  - Every line of tests/data/pas-event.log decodes, validates under STRICT
 *    once the catalog has schemas, and is written back with the same prefix
 *    and header and an extension that decodes to the same event.
 *
 * The seed is fixed (TRAIL_TEST_SEED overrides it) so that a failure repeats.
 * Not here: exact encodings and refusals (test_json.c, test_cef.c, test_syslog.c).
 */
#include "harness.h"
#include "trail.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#define N_EVENTS            4000
#define TRAIL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SCHEMA                                                                                     \
    "s1:string, s2:string, s3:string, s4:string, i1:int, i2:int, b:bool, ip4:ip, ip6:ip, "         \
    "t:time, e:enum(alpha|beta|gamma delta)"

static uint64_t rng_state;

static uint64_t rnd(void)
{
    return test_rand(&rng_state);
}

static unsigned below(unsigned n)
{
    return (unsigned)(rnd() % n);
}

static void seed(void)
{
    const char *s = getenv("TRAIL_TEST_SEED");
    rng_state = s ? strtoull(s, NULL, 0) : 0x7261696c2d727400ULL;
    if (rng_state == 0)
        rng_state = 1;
}

static struct trail_catalog *cat_with(int policy)
{
    static struct trail_catalog *cats[3];
    if (!cats[policy]) {
        if (trail_catalog_new(&cats[policy]) != 0 ||
            trail_catalog_add(cats[policy], "rt_typed", "WARNING", "round trips", SCHEMA) != 0 ||
            trail_catalog_set_policy(cats[policy], policy) != 0)
            abort();
    }
    return cats[policy];
}

/* Pieces that random strings are made of: the characters every form must escape. */
static const char *const pieces[] = {
    "\"",
    "|",
    "=",
    "\\",
    "[",
    "]",
    "\n",
    "\r",
    "\r\n",
    "\t",
    " ",
    "  ",
    "{",
    "}",
    ",",
    ":",
    " duser=",
    " k=",
    "\\=",
    "\\n",
    "=\"",
    "\"]",
    "null",
    "CEF:0|",
    "#012",
    "<13>1 ",
    "\xc3\xa9",         /* é, 2 bytes */
    "\xe2\x82\xac",     /* €, 3 bytes */
    "\xf0\x9f\x98\x80", /* U+1F600, 4 bytes */
    "\xef\xbf\xbd",     /* U+FFFD */
    "\xe2\x80\xa8",     /* LINE SEPARATOR */
    "\xc2\x85",         /* NEL */
    "abc",
    "x",
    "0",
};

/* A random string of up to max bytes into buf (which has room for max + 8). */
static size_t random_string(char *buf, size_t max)
{
    size_t len = 0;
    unsigned n = below(4) == 0 ? 0 : below(12) + 1;
    for (unsigned k = 0; k < n; k++) {
        char one[2];
        const char *p;
        unsigned pick = below(4);
        if (pick == 0) {
            /* any control character, NUL included, or DEL */
            unsigned c = below(33);
            if (len + 1 > max)
                break;
            buf[len++] = (char)(c == 32 ? 0x7f : c);
            continue;
        } else if (pick == 1) {
            one[0] = (char)(0x20 + below(0x5f));
            one[1] = '\0';
            p = one;
        } else {
            p = pieces[below(TRAIL_ARRAY_SIZE(pieces))];
        }
        size_t pl = strlen(p);
        if (len + pl > max)
            break;
        memcpy(buf + len, p, pl);
        len += pl;
    }
    buf[len] = '\0';
    return len;
}

static int64_t random_time(void)
{
    /* 0001-01-01 .. 9998-12-31, sometimes whole seconds or milliseconds */
    int64_t lo = -62135596800LL * 1000000, hi = 253370764800LL * 1000000;
    int64_t t = lo + (int64_t)(rnd() % (uint64_t)(hi - lo));
    switch (below(3)) {
    case 0:
        return t - t % 1000000;
    case 1:
        return t - t % 1000;
    default:
        return t;
    }
}

static int64_t random_int(void)
{
    switch (below(4)) {
    case 0:
        return INT64_MIN + below(3);
    case 1:
        return INT64_MAX - below(3);
    case 2:
        return (int64_t)below(2000) - 1000;
    default:
        return (int64_t)rnd();
    }
}

static const char *const enum_values[] = {"alpha", "beta", "gamma delta"};

/*
 * A random rt_typed event; undeclared string attributes too when extra.
 * cef: leave out the one string CEF cannot carry ("null") and keep the host
 * one token (CEF's prefix writes spaces and control characters as '_').
 */
static struct trail_event *random_event(struct trail_catalog *c, int extra, int cef)
{
    struct trail_event *ev;
    char buf[512], key[32];
    if (trail_event_new(c, "rt_typed", &ev) != 0)
        abort();
    for (int k = 1; k <= 4; k++) {
        if (below(5) == 0)
            continue;
        size_t n = random_string(buf, 200);
        if (cef && n == 4 && memcmp(buf, "null", 4) == 0)
            continue;
        snprintf(key, sizeof(key), "s%d", k);
        if (trail_event_set_string(ev, key, buf, n) != 0)
            abort();
    }
    if (below(4) && trail_event_set_int(ev, "i1", random_int()) != 0)
        abort();
    if (below(4) && trail_event_set_int(ev, "i2", random_int()) != 0)
        abort();
    if (below(4) && trail_event_set_bool(ev, "b", (int)below(2)) != 0)
        abort();
    if (below(4)) {
        uint8_t a[4];
        for (int i = 0; i < 4; i++)
            a[i] = (uint8_t)rnd();
        inet_ntop(AF_INET, a, buf, sizeof(buf));
        if (trail_event_set_ip(ev, "ip4", buf, (size_t)-1) != 0)
            abort();
    }
    if (below(4)) {
        uint8_t a[16] = {0};
        int filled = (int)below(17);
        for (int i = 16 - filled; i < 16; i++)
            a[i] = (uint8_t)rnd();
        if (below(3) == 0)
            a[0] = 0x20, a[1] = 0x01, a[2] = 0x0d, a[3] = 0xb8;
        inet_ntop(AF_INET6, a, buf, sizeof(buf));
        if (trail_event_set_ip(ev, "ip6", buf, (size_t)-1) != 0)
            abort();
    }
    if (below(4) && trail_event_set_time_attr(ev, "t", random_time()) != 0)
        abort();
    if (below(4) && trail_event_set_string(ev, "e", enum_values[below(3)], (size_t)-1) != 0)
        abort();
    for (unsigned k = extra ? below(4) : 0; k > 0; k--) {
        static const char kc[] =
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
        /* "x" first: never one of the declared keys */
        size_t kl = 1 + below(20);
        key[0] = 'x';
        for (size_t i = 1; i <= kl; i++)
            key[i] = kc[below(sizeof(kc) - 1)];
        key[kl + 1] = '\0';
        size_t n = random_string(buf, 100);
        if (cef && n == 4 && memcmp(buf, "null", 4) == 0)
            continue;
        if (trail_event_set_string(ev, key, buf, n) != 0)
            abort();
    }
    if (below(3))
        trail_event_set_time(ev, random_time());
    if (below(3)) {
        size_t n;
        if (cef) {
            static const char hc[] = "abcdefghijklmnopqrstuvwxyz0123456789.-";
            n = 1 + below(30);
            for (size_t i = 0; i < n; i++)
                buf[i] = hc[below(sizeof(hc) - 1)];
            if (n == 1 && buf[0] == '-')
                buf[0] = 'h';
        } else {
            n = random_string(buf, 255);
        }
        if (trail_event_set_host(ev, buf, n) != 0)
            abort();
    }
    if (!cef && below(2)) {
        trail_event_set_seq(ev, rnd());
        if (trail_event_gen_uuid(ev) != 0)
            abort();
    }
    return ev;
}

/* Describe the first difference between a and b into why; 0 when none. */
static int compare(const struct trail_event *a, const struct trail_event *b, int with_seq_uuid,
                   char *why, size_t whylen)
{
    uint8_t ua[16], ub[16];
    if (strcmp(trail_event_id(a), trail_event_id(b)) != 0)
        return snprintf(why, whylen, "id"), -1;
    if (trail_event_severity(a) != trail_event_severity(b))
        return snprintf(why, whylen, "severity"), -1;
    if (trail_event_time(a) != trail_event_time(b))
        return snprintf(why, whylen, "time %lld != %lld", (long long)trail_event_time(a),
                        (long long)trail_event_time(b)),
               -1;
    if (strcmp(trail_event_host(a), trail_event_host(b)) != 0)
        return snprintf(why, whylen, "host"), -1;
    if (with_seq_uuid) {
        int ha = trail_event_uuid(a, ua) == 0, hb = trail_event_uuid(b, ub) == 0;
        if (trail_event_seq(a) != trail_event_seq(b) || ha != hb || (ha && memcmp(ua, ub, 16) != 0))
            return snprintf(why, whylen, "seq or uuid"), -1;
    }
    if (trail_event_attr_count(a) != trail_event_attr_count(b))
        return snprintf(why, whylen, "attribute count %zu != %zu", trail_event_attr_count(a),
                        trail_event_attr_count(b)),
               -1;
    for (size_t i = 0; i < trail_event_attr_count(a); i++) {
        const char *ka, *kb;
        struct trail_value va, vb;
        trail_event_attr_at(a, i, &ka, &va);
        trail_event_attr_at(b, i, &kb, &vb);
        int same = strcmp(ka, kb) == 0 && va.type == vb.type;
        if (same) {
            char fa[8300], fb[8300];
            size_t la = trail_value_format(&va, fa, sizeof(fa));
            size_t lb = trail_value_format(&vb, fb, sizeof(fb));
            same = la == lb && memcmp(fa, fb, la < sizeof(fa) ? la : sizeof(fa)) == 0;
            if (va.type == TRAIL_TYPE_TIME)
                same = same && va.u.time_us == vb.u.time_us;
            if (va.type == TRAIL_TYPE_IP)
                same = same && va.u.ip.family == vb.u.ip.family &&
                       memcmp(va.u.ip.addr, vb.u.ip.addr, 16) == 0;
        }
        if (!same)
            return snprintf(why, whylen, "attribute %zu ('%s' / '%s')", i, ka, kb), -1;
    }
    return 0;
}

static int count_lines(const char *s, size_t n)
{
    int lines = 1;
    for (size_t i = 0; i < n; i++)
        lines += s[i] == '\n' || s[i] == '\r';
    return lines;
}

TEST(json_round_trip_random)
{
    seed();
    struct trail_buf a = {0}, b = {0};
    for (int i = 0; i < N_EVENTS; i++) {
        int policy = i % 2 ? TRAIL_POLICY_LENIENT : TRAIL_POLICY_OFF;
        struct trail_event *ev = random_event(cat_with(policy), 1, 0), *back = NULL;
        char err[256], why[128];
        trail_buf_reset(&a);
        trail_buf_reset(&b);
        ASSERT_OK(trail_event_to_json(ev, &a));
        ASSERT_EQ(count_lines(a.data, a.len), 1);
        int r = trail_event_from_json(cat_with(policy), a.data, a.len, &back, err, sizeof(err));
        if (r != 0)
            FAIL_AT("event %d: %s\n  %s", i, err, a.data);
        if (compare(ev, back, 1, why, sizeof(why)) != 0)
            FAIL_AT("event %d: %s differs\n  %s", i, why, a.data);
        ASSERT_OK(trail_event_to_json(back, &b));
        ASSERT_STREQ(b.data, a.data);
        trail_event_free(ev);
        trail_event_free(back);
    }
    trail_buf_free(&a);
    trail_buf_free(&b);
}

TEST(cef_round_trip_random)
{
    seed();
    struct trail_buf a = {0};
    for (int i = 0; i < N_EVENTS; i++) {
        int policy = i % 2 ? TRAIL_POLICY_LENIENT : TRAIL_POLICY_OFF;
        struct trail_event *ev = random_event(cat_with(policy), 1, 1), *back = NULL;
        struct trail_cef_opts opts = {.log_prefix = 1,
                                      .utc_offset_min = (int)below(2 * 1439 + 1) - 1439};
        char err[256], why[128];
        trail_buf_reset(&a);
        ASSERT_OK(trail_event_to_cef(ev, &opts, &a));
        ASSERT_EQ(count_lines(a.data, a.len), 1);
        int r = trail_event_from_cef(cat_with(policy), a.data, a.len, &back, err, sizeof(err));
        if (r != 0)
            FAIL_AT("event %d: %s\n  %s", i, err, a.data);
        if (compare(ev, back, 0, why, sizeof(why)) != 0)
            FAIL_AT("event %d: %s differs\n  %s", i, why, a.data);
        trail_event_free(back);
        /* without the prefix, the same attributes; time and host are not carried */
        trail_buf_reset(&a);
        ASSERT_OK(trail_event_to_cef(ev, NULL, &a));
        ASSERT_OK(trail_event_from_cef(cat_with(policy), a.data, a.len, &back, err, sizeof(err)));
        trail_event_set_time(ev, 0);
        trail_event_set_host(ev, "", 0);
        if (compare(ev, back, 0, why, sizeof(why)) != 0)
            FAIL_AT("event %d without prefix: %s differs\n  %s", i, why, a.data);
        trail_event_free(ev);
        trail_event_free(back);
    }
    trail_buf_free(&a);
}

/* Values made to forge a field, a member, a line or a whole event. */
static const char *const hostile[] = {
    "x\n2025-04-23 16:14:23,508 [EVENT]  INFO: 2025-04-23T16:14:23+02:00 idp1 "
    "CEF:0|PhenixID|PAS|6.0.0|prism_user_locked|A user has been locked.|6|duser=admin",
    "x\r\nCEF:0|PhenixID|PAS|6.0.0|rt_typed|x|6|duser=admin",
    " duser=admin",
    "a duser=admin src=10.0.0.1",
    "a\\ duser=admin",
    "\\",
    "\\\\ duser=admin",
    "|10|duser=admin",
    "\"] [x a=\"b",
    "\"] [trail@32473 duser=\"admin\"",
    "\",\"id\":\"evil",
    "\"},\"id\":\"evil\",\"attrs\":{\"duser\":\"admin",
    "}}\n{\"id\":\"evil\",\"attrs\":{}}",
    "x\n<13>1 2025-04-23T16:14:23Z idp1 trail - evil [trail@32473 id=\"evil\"]",
    "=",
    "= duser=",
    "",
};

/* Read the SD-ELEMENT of a syslog message (RFC 5424 6.3) into names/values. */
static int sd_pairs(const char *msg, char names[][64], char values[][512], size_t *lens, int max)
{
    const char *p = strchr(msg, '[');
    if (!p)
        return -1;
    p += strcspn(p, " ]");
    int n = 0;
    while (*p == ' ') {
        p++;
        size_t nl = strcspn(p, "= ]\"");
        if (nl == 0 || nl > 32 || p[nl] != '=' || p[nl + 1] != '"' || n == max)
            return -1;
        memcpy(names[n], p, nl);
        names[n][nl] = '\0';
        p += nl + 2;
        size_t vl = 0;
        while (*p && *p != '"') {
            char c = *p++;
            if (c == '\\' && (*p == '"' || *p == '\\' || *p == ']'))
                c = *p++;
            else if (c == ']')
                return -1;
            if (vl + 1 >= 512)
                return -1;
            values[n][vl++] = c;
        }
        if (*p++ != '"')
            return -1;
        values[n][vl] = '\0';
        lens[n++] = vl;
    }
    return *p == ']' ? n : -1;
}

TEST(hostile_values)
{
    struct trail_catalog *c = cat_with(TRAIL_POLICY_LENIENT);
    struct trail_buf out = {0};
    char err[256], why[128];
    for (size_t h = 0; h < TRAIL_ARRAY_SIZE(hostile); h++) {
        struct trail_event *ev, *back = NULL;
        ASSERT_OK(trail_event_new(c, "rt_typed", &ev));
        ASSERT_OK(trail_event_set_string(ev, "s1", hostile[h], (size_t)-1));
        ASSERT_OK(trail_event_set_string(ev, "note", hostile[h], (size_t)-1));
        ASSERT_OK(trail_event_set_string(ev, "e", "gamma delta", (size_t)-1));
        trail_event_set_time(ev, 1745417663508000LL);
        ASSERT_OK(trail_event_set_host(ev, "idp1", 4));

        trail_buf_reset(&out);
        ASSERT_OK(trail_event_to_json(ev, &out));
        ASSERT_EQ(count_lines(out.data, out.len), 1);
        if (trail_event_from_json(c, out.data, out.len, &back, err, sizeof(err)) != 0)
            FAIL_AT("value %zu: %s", h, err);
        if (compare(ev, back, 1, why, sizeof(why)) != 0)
            FAIL_AT("value %zu through JSON: %s differs: %s", h, why, out.data);
        trail_event_free(back);

        for (int prefix = 0; prefix < 2; prefix++) {
            struct trail_cef_opts opts = {.log_prefix = prefix, .utc_offset_min = 120};
            trail_buf_reset(&out);
            ASSERT_OK(trail_event_to_cef(ev, &opts, &out));
            ASSERT_EQ(count_lines(out.data, out.len), 1);
            if (trail_event_from_cef(c, out.data, out.len, &back, err, sizeof(err)) != 0)
                FAIL_AT("value %zu: %s", h, err);
            struct trail_value v;
            ASSERT_EQ(trail_event_attr_get(back, "duser", &v), TRAIL_E_NOT_FOUND);
            ASSERT_EQ(trail_event_attr_count(back), 3);
            ASSERT_STREQ(trail_event_id(back), "rt_typed");
            if (prefix && compare(ev, back, 0, why, sizeof(why)) != 0)
                FAIL_AT("value %zu through CEF: %s differs: %s", h, why, out.data);
            trail_event_free(back);
        }

        for (int octets = 0; octets < 2; octets++) {
            struct trail_syslog_opts opts = {.octet_count = octets};
            char names[8][64], values[8][512];
            size_t lens[8];
            trail_buf_reset(&out);
            ASSERT_OK(trail_event_to_syslog(ev, &opts, &out));
            /* one line whatever the framing: a receiver may split on LF anyway */
            ASSERT_EQ(count_lines(out.data, out.len), 1);
            int n = sd_pairs(out.data, names, values, lens, 8);
            ASSERT_EQ(n, 4);
            ASSERT_STREQ(names[0], "id");
            ASSERT_STREQ(values[0], "rt_typed");
            ASSERT_STREQ(names[1], "e");
            ASSERT_STREQ(values[1], "gamma delta");
            ASSERT_STREQ(names[2], "note");
            ASSERT_STREQ(names[3], "s1");
            /* control characters became \u00XX (test_output_safety.c decodes them back) */
            char want[512];
            size_t k = 0;
            for (const char *p = hostile[h]; *p; p++) {
                unsigned char ch = (unsigned char)*p;
                if (ch < 0x20 || ch == 0x7f)
                    k += (size_t)snprintf(want + k, sizeof(want) - k, "\\u%04x", ch);
                else
                    want[k++] = (char)ch;
            }
            want[k] = '\0';
            ASSERT_STREQ(values[3], want);
            ASSERT_STREQ(values[2], values[3]);
        }
        trail_event_free(ev);
    }
    trail_buf_free(&out);
}

TEST(sample_event_log)
{
    const char *src = getenv("TRAIL_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/tests/data/pas-event.log", src ? src : ".");
    FILE *f = fopen(path, "r");
    if (!f)
        FAIL_AT("cannot open %s (set TRAIL_SOURCE_DIR)", path);
    struct trail_catalog *c;
    ASSERT_OK(trail_catalog_new(&c)); /* STRICT */
    /* once the catalog has schemas, the sample must validate under STRICT */
    const struct trail_event_def *probe =
        trail_catalog_lookup(c, "auth_entrypoints_oidc_logout", (size_t)-1);
    int have_schemas = probe && probe->n_attrs > 0;
    char line[8192], err[256];
    int n_lines = 0, n_exact = 0;
    struct trail_buf out = {0};
    while (fgets(line, sizeof(line), f)) {
        struct trail_event *ev = NULL;
        size_t len = strlen(line);
        n_lines++;
        int r = trail_event_from_cef(c, line, len, &ev, err, sizeof(err));
        if (r != 0) {
            fclose(f);
            FAIL_AT("line %d: %s", n_lines, err);
        }
        if (have_schemas && trail_event_validate(ev) != 0) {
            fclose(f);
            FAIL_AT("line %d: %s", n_lines, trail_event_error(ev));
        }
        /*
         * Written back the way the product writes it: the prefix and header
         * byte for byte, and an extension that decodes to the same event (it
         * may add key=null for declared attributes the line leaves out).
         */
        struct trail_cef_opts opts = {.log_prefix = 1, .utc_offset_min = 60, .version = "6.2.1"};
        struct trail_event *again = NULL;
        char why[128];
        trail_buf_reset(&out);
        ASSERT_OK(trail_event_to_cef(ev, &opts, &out));
        size_t head = 0;
        for (int bars = 0; head < len && bars < 7; head++)
            bars += line[head] == '|';
        ASSERT_OK(trail_event_from_cef(c, out.data, out.len, &again, err, sizeof(err)));
        if (out.len >= head && memcmp(out.data, line, head) == 0 &&
            compare(ev, again, 0, why, sizeof(why)) == 0)
            n_exact++;
        else
            fprintf(stderr, "  line %d differs:\n  %s  %s\n", n_lines, line, out.data);
        trail_event_free(again);
        trail_event_free(ev);
    }
    fclose(f);
    trail_buf_free(&out);
    ASSERT_EQ(n_lines, 60);
    ASSERT_EQ(n_exact, 60);
    if (!have_schemas)
        printf("     (the catalog has no schemas yet: STRICT validation skipped)\n");
    trail_catalog_free(c);
}

TEST_MAIN(json_round_trip_random, cef_round_trip_random, hostile_values, sample_event_log)
