/*
 * test_cef.c - the CEF encoder and decoder: exact lines with and without the
 * event.log prefix, escaping, null for declared but missing attributes,
 * values with spaces, the prefix's time and host, severity rules and every
 * refusal with its code and byte offset.
 *
 * Not here: random round trips and the sample file (test_roundtrip.c).
 */
#include "harness.h"
#include "trail.h"

#include <errno.h>

#define SCHEMA "n:int, ok:bool, src:ip, at:time, kind:enum(a|b), s:string, opt:string"

static struct trail_catalog *cat_with(int policy)
{
    static struct trail_catalog *cats[3];
    if (!cats[policy]) {
        if (trail_catalog_new(&cats[policy]) != 0 ||
            trail_catalog_add(cats[policy], "test_cef_ev", "WARNING", "A test | event \\ here",
                              SCHEMA) != 0 ||
            trail_catalog_set_policy(cats[policy], policy) != 0)
            abort();
    }
    return cats[policy];
}

static struct trail_event *event_with_values(void)
{
    struct trail_event *ev;
    if (trail_event_new(cat_with(TRAIL_POLICY_LENIENT), "test_cef_ev", &ev) != 0)
        abort();
    trail_event_set_int(ev, "n", -42);
    trail_event_set_bool(ev, "ok", 0);
    trail_event_set_ip(ev, "src", "203.0.113.7", (size_t)-1);
    trail_event_set_time_attr(ev, "at", 1764000000123456LL);
    trail_event_set_string(ev, "s", "a=b\\c\nd\re|f g", (size_t)-1);
    trail_event_set_string(ev, "extra", "Mozilla/5.0 (X11; Linux)", (size_t)-1);
    return ev;
}

TEST(encode_without_prefix)
{
    struct trail_event *ev = event_with_values();
    struct trail_buf b = {0};
    ASSERT_OK(trail_event_to_cef(ev, NULL, &b));
    ASSERT_STREQ(b.data, "CEF:0|PhenixID|PAS|" TRAIL_VERSION_STRING
                         "|test_cef_ev|A test \\| event \\\\ here|6|at=2025-11-24T16:00:00.123456Z "
                         "extra=Mozilla/5.0 (X11; Linux) kind=null n=-42 ok=false opt=null "
                         "s=a\\=b\\\\c\\nd\\re|f g src=203.0.113.7");
    trail_buf_free(&b);
    trail_event_free(ev);
}

TEST(encode_with_prefix)
{
    struct trail_event *ev;
    struct trail_buf b = {0};
    struct trail_cef_opts opts = {.log_prefix = 1, .utc_offset_min = 120, .version = "6.0.0"};
    ASSERT_OK(trail_event_new(cat_with(TRAIL_POLICY_STRICT), "test_cef_ev", &ev));
    int64_t t;
    ASSERT_OK(trail_time_parse("2025-04-23T14:14:23.508Z", 24, &t));
    trail_event_set_time(ev, t);
    ASSERT_OK(trail_event_set_host(ev, "idp1", 4));
    ASSERT_OK(trail_event_set_string(ev, "kind", "a", 1));
    ASSERT_OK(trail_event_to_cef(ev, &opts, &b));
    ASSERT_STREQ(b.data, "2025-04-23 16:14:23,508 [EVENT]  INFO: 2025-04-23T16:14:23+02:00 idp1 "
                         "CEF:0|PhenixID|PAS|6.0.0|test_cef_ev|A test \\| event \\\\ here|6|"
                         "at=null kind=a n=null ok=null opt=null s=null src=null");
    /* microseconds, a negative offset, a host with a space, no host */
    trail_buf_reset(&b);
    opts.utc_offset_min = -150;
    trail_event_set_time(ev, 1745417663508001LL);
    ASSERT_OK(trail_event_set_host(ev, "idp 1\t", 6));
    ASSERT_OK(trail_event_to_cef(ev, &opts, &b));
    ASSERT(strncmp(b.data,
                   "2025-04-23 11:44:23,508 [EVENT]  INFO: 2025-04-23T11:44:23.508001-02:30 "
                   "idp_1_ CEF:0|",
                   strlen("2025-04-23 11:44:23,508 [EVENT]  INFO: 2025-04-23T11:44:23.508001-02:30 "
                          "idp_1_ CEF:0|")) == 0);
    trail_buf_reset(&b);
    opts.utc_offset_min = 0;
    trail_event_set_time(ev, 0);
    ASSERT_OK(trail_event_set_host(ev, "", 0));
    ASSERT_OK(trail_event_to_cef(ev, &opts, &b));
    ASSERT(strncmp(b.data, "1970-01-01 00:00:00,000 [EVENT]  INFO: 1970-01-01T00:00:00Z - CEF:0|",
                   68) == 0);
    trail_buf_reset(&b);
    opts.utc_offset_min = 24 * 60;
    ASSERT_EQ(trail_event_to_cef(ev, &opts, &b), -EINVAL);
    ASSERT_EQ(b.len, 0);
    trail_buf_free(&b);
    trail_event_free(ev);
}

TEST(encode_header_options)
{
    struct trail_event *ev;
    struct trail_buf b = {0};
    struct trail_cef_opts opts = {.vendor = "Ac|me", .product = "X\\Y", .version = "1\n2"};
    ASSERT_OK(trail_event_new(cat_with(TRAIL_POLICY_OFF), "not_declared", &ev));
    ASSERT_OK(trail_event_set_severity(ev, TRAIL_SEV_EMERGENCY));
    ASSERT_OK(trail_event_to_cef(ev, &opts, &b));
    ASSERT_STREQ(b.data, "CEF:0|Ac\\|me|X\\\\Y|1\\u000a2|not_declared||10|");
    trail_buf_free(&b);
    trail_event_free(ev);
}

static const char sample_line[] =
    "2026-11-24 09:00:07,329 [EVENT]  INFO: 2026-11-24T09:00:07+01:00 idp-node1 "
    "CEF:0|PhenixID|PAS|6.2.1|auth_entrypoints_oidc_logout|An OIDC Logout has been performed|4|"
    "duser=anna.lindqvist phxEntrypointId=oidc1 phxEntrypointTransactionType=AUTH "
    "phxEntrypointType=OIDC phxHttpServerId=https phxTraceId=#evqS0FZgDJAnTeu7 "
    "requestClientApplication=Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) "
    "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1 "
    "sourceServiceName=https://portal.region.example/ src=198.51.100.23\n";

static int str_attr(const struct trail_event *ev, const char *key, const char *want)
{
    struct trail_value v;
    if (trail_event_attr_get(ev, key, &v) != 0)
        return 0;
    return v.u.str.len == strlen(want) && memcmp(v.u.str.ptr, want, v.u.str.len) == 0;
}

TEST(decode_sample_line)
{
    struct trail_event *ev = NULL;
    char err[256];
    ASSERT_OK(trail_event_from_cef(cat_with(TRAIL_POLICY_STRICT), sample_line, strlen(sample_line),
                                   &ev, err, sizeof(err)));
    ASSERT_STREQ(trail_event_id(ev), "auth_entrypoints_oidc_logout");
    ASSERT_STREQ(trail_event_host(ev), "idp-node1");
    char t[32];
    trail_time_format(trail_event_time(ev), t);
    ASSERT_STREQ(t, "2026-11-24T08:00:07.329000Z");
    ASSERT_EQ(trail_event_severity(ev), TRAIL_SEV_NOTICE);
    ASSERT_EQ(trail_event_attr_count(ev), 9);
    ASSERT(str_attr(ev, "requestClientApplication",
                    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
                    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"));
    ASSERT(str_attr(ev, "sourceServiceName", "https://portal.region.example/"));
    struct trail_value v;
    ASSERT_OK(trail_event_attr_get(ev, "src", &v));
    ASSERT_EQ(v.type, TRAIL_TYPE_IP);
    ASSERT_OK(trail_event_validate(ev));
    trail_event_free(ev);
}

TEST(decode_prefix_time_rules)
{
    struct trail_event *ev = NULL;
    char err[256], t[32];
    /* the log time's milliseconds count only when the wall clocks agree */
    static const char other_second[] = "2026-11-24 09:00:08,329 [EVENT]  INFO: "
                                       "2026-11-24T09:00:07+01:00 h CEF:0|x|y|z|test_cef_ev|d|6|";
    ASSERT_OK(trail_event_from_cef(cat_with(TRAIL_POLICY_STRICT), other_second,
                                   strlen(other_second), &ev, err, sizeof(err)));
    trail_time_format(trail_event_time(ev), t);
    ASSERT_STREQ(t, "2026-11-24T08:00:07.000000Z");
    trail_event_free(ev);
    /* a fraction in the ISO time wins; other levels and loggers are read */
    static const char fraction[] = "2026-11-24 09:00:07,329 [audit] WARN: "
                                   "2026-11-24T09:00:07.5-01:00 - CEF:0|x|y|z|test_cef_ev|d|6|";
    ASSERT_OK(trail_event_from_cef(cat_with(TRAIL_POLICY_STRICT), fraction, strlen(fraction), &ev,
                                   err, sizeof(err)));
    trail_time_format(trail_event_time(ev), t);
    ASSERT_STREQ(t, "2026-11-24T10:00:07.500000Z");
    ASSERT_STREQ(trail_event_host(ev), "");
    trail_event_free(ev);
    /* no host at all */
    static const char no_host[] =
        "2026-11-24 09:00:07 [EVENT]  INFO: 2026-11-24T09:00:07Z CEF:0|x|y|z|test_cef_ev|d|6|";
    ASSERT_OK(trail_event_from_cef(cat_with(TRAIL_POLICY_STRICT), no_host, strlen(no_host), &ev,
                                   err, sizeof(err)));
    ASSERT_STREQ(trail_event_host(ev), "");
    ASSERT_EQ(trail_event_time(ev), 1795510807000000LL);
    trail_event_free(ev);
    /* without the prefix, time and host stay unset */
    ASSERT_OK(trail_event_from_cef(cat_with(TRAIL_POLICY_STRICT), strstr(sample_line, "CEF:"),
                                   strlen(strstr(sample_line, "CEF:")), &ev, err, sizeof(err)));
    ASSERT_EQ(trail_event_time(ev), 0);
    ASSERT_STREQ(trail_event_host(ev), "");
    ASSERT_EQ(trail_event_attr_count(ev), 9);
    trail_event_free(ev);
}

TEST(decode_values)
{
    static const char line[] = "CEF:1|x|y|z|test_cef_ev|d\\|e|6|s= two  spaces  kind=b "
                               "extra=a\\=b\\\\c\\nd\\re\\|f|g\\x\\ opt= n=+7 ok=true "
                               "src=2001:DB8::0:1 at=2026-11-24T09:00:07.123+01:00 "
                               "url=https://x/?a=b&c=d last=end\\";
    struct trail_event *ev = NULL;
    char err[256];
    ASSERT_OK(trail_event_from_cef(cat_with(TRAIL_POLICY_LENIENT), line, strlen(line), &ev, err,
                                   sizeof(err)));
    ASSERT(str_attr(ev, "s", " two  spaces "));
    ASSERT(str_attr(ev, "extra", "a=b\\c\nd\re|f|g\\x\\"));
    ASSERT(str_attr(ev, "opt", ""));
    ASSERT(str_attr(ev, "url", "https://x/?a=b&c=d"));
    ASSERT(str_attr(ev, "last", "end\\"));
    struct trail_value v;
    ASSERT_OK(trail_event_attr_get(ev, "kind", &v));
    ASSERT_EQ(v.type, TRAIL_TYPE_ENUM);
    ASSERT_OK(trail_event_attr_get(ev, "n", &v));
    ASSERT_EQ(v.u.i, 7);
    ASSERT_OK(trail_event_attr_get(ev, "ok", &v));
    ASSERT_EQ(v.u.b, 1);
    ASSERT_OK(trail_event_attr_get(ev, "at", &v));
    ASSERT_EQ(v.u.time_us, 1795507207123000LL);
    char ip[64];
    trail_value_format((trail_event_attr_get(ev, "src", &v), &v), ip, sizeof(ip));
    ASSERT_STREQ(ip, "2001:db8::1");
    trail_event_free(ev);
}

TEST(decode_null_is_absent)
{
    /* the one ambiguity: a string that is exactly "null" comes back absent */
    struct trail_event *ev, *back = NULL;
    struct trail_buf b = {0};
    char err[256];
    ASSERT_OK(trail_event_new(cat_with(TRAIL_POLICY_LENIENT), "test_cef_ev", &ev));
    ASSERT_OK(trail_event_set_string(ev, "s", "null", 4));
    ASSERT_OK(trail_event_set_string(ev, "x", "Null", 4));
    ASSERT_OK(trail_event_to_cef(ev, NULL, &b));
    ASSERT(strstr(b.data, "|6|at=null kind=null n=null ok=null opt=null s=null src=null x=Null"));
    ASSERT_OK(trail_event_from_cef(cat_with(TRAIL_POLICY_LENIENT), b.data, b.len, &back, err,
                                   sizeof(err)));
    struct trail_value v;
    ASSERT_EQ(trail_event_attr_get(back, "s", &v), TRAIL_E_NOT_FOUND);
    ASSERT(str_attr(back, "x", "Null"));
    ASSERT_EQ(trail_event_attr_count(back), 1);
    trail_buf_free(&b);
    trail_event_free(ev);
    trail_event_free(back);
}

TEST(decode_severity_rules)
{
    struct trail_event *ev = NULL;
    char err[256];
    /* the catalog's severity wins over the line's */
    static const char known[] = "CEF:0|x|y|z|test_cef_ev|d|2|";
    ASSERT_OK(trail_event_from_cef(cat_with(TRAIL_POLICY_STRICT), known, strlen(known), &ev, err,
                                   sizeof(err)));
    ASSERT_EQ(trail_event_severity(ev), TRAIL_SEV_WARNING);
    trail_event_free(ev);
    static const char unknown[] = "CEF:0|x|y|z|not_declared|d|9|a=1";
    ASSERT_OK(trail_event_from_cef(cat_with(TRAIL_POLICY_OFF), unknown, strlen(unknown), &ev, err,
                                   sizeof(err)));
    ASSERT_EQ(trail_event_severity(ev), TRAIL_SEV_ALERT);
    trail_event_free(ev);
}

struct bad_case {
    const char *line;
    int policy;
    int code;
    const char *err;
};

TEST(decode_refusals)
{
    static const struct bad_case cases[] = {
        {"", 0, TRAIL_E_PARSE,
         "byte 0: expected \"CEF:\" or an event.log line (\"YYYY-MM-DD HH:MM:SS,mmm [EVENT] "
         "LEVEL: ISO-time host CEF:...\")"},
        {"CEF:0|x|y|z|test_cef_ev|d|6|s=a\nCEF:0|x|y|z|test_cef_ev|d|6|s=b", 0, TRAIL_E_PARSE,
         "byte 31: a line break inside the line"},
        {"CEF:0|x|y|z|test_cef_ev|d|6|s=a\rb", 0, TRAIL_E_PARSE,
         "byte 31: a line break inside the line"},
        {"CEF:2|x|y|z|test_cef_ev|d|6|", 0, TRAIL_E_PARSE, "byte 4: CEF version 2 is not 0 or 1"},
        {"CEF:|x|y|z|test_cef_ev|d|6|", 0, TRAIL_E_PARSE,
         "byte 4: expected a CEF version number and '|'"},
        {"CEF:0|x|y|z|test_cef_ev|d|6", 0, TRAIL_E_PARSE,
         "byte 26: the CEF header ends before its severity field"},
        {"CEF:0|x|y|z\\|test_cef_ev|d|6|", 0, TRAIL_E_PARSE,
         "byte 29: the CEF header ends before its severity field"},
        {"CEF:0|x|y|z|Test Ev|d|6|", 0, TRAIL_E_BAD_ID,
         "byte 12: event id 'Test Ev' is not lower-case [a-z0-9_] of 1..128 bytes"},
        {"CEF:0|x|y|z||d|6|", 0, TRAIL_E_BAD_ID,
         "byte 12: event id '' is not lower-case [a-z0-9_] of 1..128 bytes"},
        {"CEF:0|x|y|z|test_cef_ev|d|High|", 0, TRAIL_E_BAD_SEVERITY,
         "byte 26: CEF severity 'High' is not a number 0..10"},
        {"CEF:0|x|y|z|test_cef_ev|d|11|", 0, TRAIL_E_BAD_SEVERITY,
         "byte 26: CEF severity '11' is not a number 0..10"},
        {"CEF:0|x|y|z|not_declared|d|5|", 2, TRAIL_E_BAD_SEVERITY,
         "byte 27: CEF severity 5 is not on trail's scale (1-4, 6-10)"},
        {"CEF:0|x|y|z|test_cef_ev|d|6|s=a s=b", 0, TRAIL_E_DUPLICATE,
         "byte 32: attribute 's' appears twice"},
        {"CEF:0|x|y|z|test_cef_ev|d|6|s=null s=b", 0, TRAIL_E_DUPLICATE,
         "byte 35: attribute 's' appears twice"},
        {"CEF:0|x|y|z|test_cef_ev|d|6|=a", 0, TRAIL_E_PARSE,
         "byte 28: expected key=value in the extension"},
        {"CEF:0|x|y|z|test_cef_ev|d|6|s", 0, TRAIL_E_PARSE,
         "byte 28: expected key=value in the extension"},
        {"CEF:0|x|y|z|test_cef_ev|d|6| s=a", 0, TRAIL_E_PARSE,
         "byte 28: expected key=value in the extension"},
        {"CEF:0|x|y|z|test_cef_ev|d|6|n=x", 0, TRAIL_E_BAD_TYPE,
         "byte 30: attribute 'n': 'x' is not a valid int"},
        {"CEF:0|x|y|z|test_cef_ev|d|6|kind=c", 0, TRAIL_E_BAD_ENUM,
         "byte 33: attribute 'kind': 'c' is not one of its values"},
        {"CEF:0|x|y|z|test_cef_ev|d|6|s=\xc3", 0, TRAIL_E_UTF8,
         "byte 30: attribute 's': value is not valid UTF-8"},
        {"2026-11-24 09:00:07,329 EVENT INFO: 2026-11-24T09:00:07Z h CEF:0|x|y|z|test_cef_ev|d|6|",
         0, TRAIL_E_PARSE, "byte 23: expected \" [\" after the log time"},
        {"2026-11-24 09:00:07,329 [EVENT] 2026-11-24T09:00:07Z h CEF:0|x|y|z|test_cef_ev|d|6|", 0,
         TRAIL_E_PARSE, "byte 31: expected \" LEVEL:\" after the logger name"},
        {"2026-11-24 09:00:07,329 [EVENT]  INFO: 2026-11-24T09:00:07 h "
         "CEF:0|x|y|z|test_cef_ev|d|6|",
         0, TRAIL_E_PARSE, "byte 39: '2026-11-24T09:00:07' is not an ISO 8601 time with an offset"},
        {"2026-11-24 09:00:07,329 [EVENT]  INFO: 2026-11-24T09:00:07Z h\x01 "
         "CEF:0|x|y|z|test_cef_ev|d|6|",
         0, TRAIL_E_PARSE, "byte 61: control character in the host name"},
        {"2026-11-24 09:00:07,329 [EVENT]  INFO: 2026-11-24T09:00:07Z h x CEF:0|x|y|z|e|d|6|", 0,
         TRAIL_E_PARSE, "byte 61: expected \" CEF:\" after the host"},
        {"2026-11-24 09:00:07,329 [EVENT]  INFO: 2026-11-24T09:00:07Z h\xff "
         "CEF:0|x|y|z|test_cef_ev|d|6|",
         0, TRAIL_E_UTF8, "byte 60: host is not valid UTF-8"},
        {"CEF:0|x|y|z|test_cef_ev|d|6|s=a\n", 0, 0, ""},
        {"CEF:0|x|y|z|test_cef_ev|d|6|s=a\r\n", 0, 0, ""},
        {"CEF:0|x|y|z|test_cef_ev|d|6|", 0, 0, ""},
    };
    int n_wrong = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct bad_case *c = &cases[i];
        struct trail_event *ev = (struct trail_event *)&ev;
        char err[256] = "unset";
        int r = trail_event_from_cef(cat_with(c->policy), c->line, strlen(c->line), &ev, err,
                                     sizeof(err));
        if (r != c->code || strcmp(err, c->err) != 0) {
            fprintf(stderr, "  case %zu (%s): got %d \"%s\", want %d \"%s\"\n", i, c->line, r, err,
                    c->code, c->err);
            n_wrong++;
        }
        if (r == 0)
            trail_event_free(ev);
        else if (ev != (struct trail_event *)&ev)
            FAIL_AT("case %zu: *ret_event changed on failure", i);
    }
    ASSERT_EQ(n_wrong, 0);
}

TEST(decode_limits)
{
    struct trail_catalog *c;
    ASSERT_OK(trail_catalog_new(&c));
    ASSERT_OK(trail_catalog_set_policy(c, TRAIL_POLICY_OFF));
    struct trail_limits lim = {.max_attrs = 2, .max_record_bytes = 300};
    ASSERT_OK(trail_catalog_set_limits(c, &lim));
    struct trail_event *ev = NULL;
    char err[256];
    static const char three[] = "CEF:0|x|y|z|e|d|3|a=1 b=null c=null";
    ASSERT_EQ(trail_event_from_cef(c, three, strlen(three), &ev, err, sizeof(err)),
              TRAIL_E_TOO_MANY_ATTRS);
    ASSERT_STREQ(err, "byte 29: more than 2 attributes");
    char big[400];
    memset(big, 'a', sizeof(big));
    memcpy(big, "CEF:0|x|y|z|e|d|3|s=", 20);
    ASSERT_EQ(trail_event_from_cef(c, big, sizeof(big), &ev, err, sizeof(err)), TRAIL_E_TOO_LARGE);
    ASSERT_STREQ(err, "byte 0: line is 400 bytes, over the limit of 300");
    trail_catalog_free(c);
}

TEST_MAIN(encode_without_prefix, encode_with_prefix, encode_header_options, decode_sample_line,
          decode_prefix_time_rules, decode_values, decode_null_is_absent, decode_severity_rules,
          decode_refusals, decode_limits)
