/*
 * test_json.c - the canonical JSON encoder and the JSON decoder: exact
 * encodings, escapes, member order, and every refusal with its code and
 * byte offset.
 *
 * Not here: random round trips (test_roundtrip.c).
 */
#include "harness.h"
#include "trail.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define SCHEMA "n:int, ok:bool, src:ip, at:time, kind:enum(a|b), s:string, opt:string"

/* A catalog with the custom event test_json_ev under the given policy. */
static struct trail_catalog *cat_with(int policy)
{
    static struct trail_catalog *cats[3];
    if (!cats[policy]) {
        if (trail_catalog_new(&cats[policy]) != 0 ||
            trail_catalog_add(cats[policy], "test_json_ev", "NOTICE", "A test event", SCHEMA) !=
                0 ||
            trail_catalog_set_policy(cats[policy], policy) != 0)
            abort();
    }
    return cats[policy];
}

static struct trail_event *full_event(void)
{
    struct trail_event *ev;
    uint8_t u[16];
    if (trail_event_new(cat_with(TRAIL_POLICY_STRICT), "test_json_ev", &ev) != 0)
        abort();
    for (int i = 0; i < 16; i++)
        u[i] = (uint8_t)(i * 17);
    trail_event_set_int(ev, "n", -42);
    trail_event_set_bool(ev, "ok", 1);
    trail_event_set_ip(ev, "src", "2001:db8::1", (size_t)-1);
    trail_event_set_time_attr(ev, "at", 1764000000123456LL);
    trail_event_set_string(ev, "kind", "b", 1);
    trail_event_set_string(ev, "s", "plain", (size_t)-1);
    trail_event_set_time(ev, 1764000000150000LL);
    trail_event_set_host(ev, "idp-node1", (size_t)-1);
    trail_event_set_seq(ev, 17);
    trail_event_set_uuid(ev, u);
    return ev;
}

TEST(encode_full_event)
{
    struct trail_event *ev = full_event();
    struct trail_buf b = {0};
    ASSERT_OK(trail_event_to_json(ev, &b));
    ASSERT_STREQ(b.data, "{\"id\":\"test_json_ev\",\"time\":\"2025-11-24T16:00:00.150000Z\","
                         "\"severity\":4,\"severity_name\":\"NOTICE\",\"host\":\"idp-node1\","
                         "\"seq\":17,\"uuid\":\"00112233-4455-6677-8899-aabbccddeeff\","
                         "\"attrs\":{\"at\":\"2025-11-24T16:00:00.123456Z\",\"kind\":\"b\","
                         "\"n\":-42,\"ok\":true,\"s\":\"plain\",\"src\":\"2001:db8::1\"}}");
    ASSERT_EQ(b.len, strlen(b.data));
    trail_buf_free(&b);
    trail_event_free(ev);
}

TEST(encode_minimal_event_appends)
{
    struct trail_event *ev;
    struct trail_buf b = {0};
    ASSERT_OK(trail_event_new(cat_with(TRAIL_POLICY_STRICT), "test_json_ev", &ev));
    ASSERT_OK(trail_buf_append(&b, "x", 1));
    ASSERT_OK(trail_event_to_json(ev, &b));
    ASSERT_STREQ(b.data, "x{\"id\":\"test_json_ev\",\"severity\":4,\"severity_name\":\"NOTICE\","
                         "\"attrs\":{}}");
    trail_buf_free(&b);
    trail_event_free(ev);
}

TEST(encode_escapes)
{
    struct trail_event *ev;
    struct trail_buf b = {0};
    ASSERT_OK(trail_event_new(cat_with(TRAIL_POLICY_STRICT), "test_json_ev", &ev));
    ASSERT_OK(trail_event_set_string(
        ev, "s", "q\"b\\s/\n\r\t\x01\x1f\x7f \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", (size_t)-1));
    ASSERT_OK(trail_event_to_json(ev, &b));
    ASSERT_STREQ(b.data,
                 "{\"id\":\"test_json_ev\",\"severity\":4,\"severity_name\":\"NOTICE\","
                 "\"attrs\":{\"s\":\"q\\\"b\\\\s/\\u000a\\u000d\\u0009\\u0001\\u001f\\u007f "
                 "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}}");
    trail_buf_free(&b);
    trail_event_free(ev);
}

TEST(decode_canonical_round_trip)
{
    struct trail_event *ev = full_event(), *back = NULL;
    struct trail_buf a = {0}, b = {0};
    char err[256];
    ASSERT_OK(trail_event_to_json(ev, &a));
    ASSERT_OK(trail_event_from_json(cat_with(TRAIL_POLICY_STRICT), a.data, a.len, &back, err,
                                    sizeof(err)));
    ASSERT_OK(trail_event_validate(back));
    ASSERT_OK(trail_event_to_json(back, &b));
    ASSERT_STREQ(b.data, a.data);
    struct trail_value v;
    ASSERT_OK(trail_event_attr_get(back, "src", &v));
    ASSERT_EQ(v.type, TRAIL_TYPE_IP);
    ASSERT_EQ(v.u.ip.family, 6);
    ASSERT_OK(trail_event_attr_get(back, "at", &v));
    ASSERT_EQ(v.type, TRAIL_TYPE_TIME);
    ASSERT_EQ(v.u.time_us, 1764000000123456LL);
    ASSERT_OK(trail_event_attr_get(back, "kind", &v));
    ASSERT_EQ(v.type, TRAIL_TYPE_ENUM);
    ASSERT_EQ(trail_event_seq(back), 17);
    trail_buf_free(&a);
    trail_buf_free(&b);
    trail_event_free(ev);
    trail_event_free(back);
}

TEST(decode_any_member_order_and_white_space)
{
    static const char in[] = " \r\n\t{ \"attrs\" : { \"n\" : 7 , \"s\" : \"x\" } ,\n"
                             " \"host\" : \"h\" , \"time\" : \"2026-11-24T08:59:58.15+01:00\" ,"
                             " \"id\" : \"test_json_ev\" }\n\n";
    struct trail_event *ev = NULL;
    char err[256];
    ASSERT_OK(trail_event_from_json(cat_with(TRAIL_POLICY_STRICT), in, strlen(in), &ev, err,
                                    sizeof(err)));
    ASSERT_STREQ(trail_event_id(ev), "test_json_ev");
    ASSERT_STREQ(trail_event_host(ev), "h");
    ASSERT_EQ(trail_event_time(ev), 1795507198150000LL);
    ASSERT_EQ(trail_event_attr_count(ev), 2);
    struct trail_value v;
    ASSERT_OK(trail_event_attr_get(ev, "n", &v));
    ASSERT_EQ(v.u.i, 7);
    trail_event_free(ev);
}

TEST(decode_unicode_escapes)
{
    static const char in[] =
        "{\"id\":\"test_json_ev\",\"attrs\":{\"s\":"
        "\"\\u0041\\u00e9\\u20ac\\ud83d\\ude00\\/\\b\\f\\n\\r\\t\\\"\\\\\\u0000z\"}}";
    struct trail_event *ev = NULL;
    char err[256];
    ASSERT_OK(trail_event_from_json(cat_with(TRAIL_POLICY_STRICT), in, strlen(in), &ev, err,
                                    sizeof(err)));
    struct trail_value v;
    ASSERT_OK(trail_event_attr_get(ev, "s", &v));
    static const char want[] = "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80/\b\f\n\r\t\"\\\0z";
    ASSERT_EQ(v.u.str.len, sizeof(want) - 1);
    ASSERT_MEMEQ(v.u.str.ptr, want, sizeof(want) - 1);
    trail_event_free(ev);
}

TEST(decode_long_escaped_value)
{
    /* an escaped value longer than the decoder's stack buffer */
    struct trail_buf in = {0};
    char err[256];
    ASSERT_OK(trail_buf_append(&in, "{\"id\":\"test_json_ev\",\"attrs\":{\"s\":\"", 35));
    for (int i = 0; i < 1500; i++)
        ASSERT_OK(trail_buf_append(&in, "\\u00e9\\n", 8));
    ASSERT_OK(trail_buf_append(&in, "\"}}", 3));
    struct trail_event *ev = NULL;
    ASSERT_OK(trail_event_from_json(cat_with(TRAIL_POLICY_STRICT), in.data, in.len, &ev, err,
                                    sizeof(err)));
    struct trail_value v;
    ASSERT_OK(trail_event_attr_get(ev, "s", &v));
    ASSERT_EQ(v.u.str.len, 4500);
    ASSERT_MEMEQ(v.u.str.ptr + 4497, "\xc3\xa9\n", 3);
    trail_event_free(ev);
    trail_buf_free(&in);
}

TEST(decode_int_limits_and_null)
{
    static const char in[] = "{\"id\":\"test_json_ev\",\"attrs\":{\"n\":-9223372036854775808,"
                             "\"opt\":null,\"x\":9223372036854775807,\"ok\":false}}";
    struct trail_event *ev = NULL;
    char err[256];
    ASSERT_OK(trail_event_from_json(cat_with(TRAIL_POLICY_LENIENT), in, strlen(in), &ev, err,
                                    sizeof(err)));
    struct trail_value v;
    ASSERT_OK(trail_event_attr_get(ev, "n", &v));
    ASSERT_EQ(v.u.i, INT64_MIN);
    ASSERT_OK(trail_event_attr_get(ev, "x", &v));
    ASSERT_EQ(v.type, TRAIL_TYPE_INT);
    ASSERT_EQ(v.u.i, INT64_MAX);
    ASSERT_OK(trail_event_attr_get(ev, "ok", &v));
    ASSERT_EQ(v.type, TRAIL_TYPE_BOOL);
    ASSERT_EQ(v.u.b, 0);
    ASSERT_EQ(trail_event_attr_get(ev, "opt", &v), TRAIL_E_NOT_FOUND);
    ASSERT_EQ(trail_event_attr_count(ev), 3);
    trail_event_free(ev);
}

TEST(decode_severity_rules)
{
    char err[256];
    struct trail_event *ev = NULL;
    /* a catalog event keeps the catalog's severity */
    static const char known[] = "{\"id\":\"test_json_ev\",\"severity\":9,\"attrs\":{}}";
    ASSERT_OK(trail_event_from_json(cat_with(TRAIL_POLICY_STRICT), known, strlen(known), &ev, err,
                                    sizeof(err)));
    ASSERT_EQ(trail_event_severity(ev), TRAIL_SEV_NOTICE);
    trail_event_free(ev);
    /* an unknown id takes it from the input */
    static const char unknown[] =
        "{\"id\":\"not_declared\",\"severity_name\":\"alert\",\"attrs\":{}}";
    ASSERT_OK(trail_event_from_json(cat_with(TRAIL_POLICY_OFF), unknown, strlen(unknown), &ev, err,
                                    sizeof(err)));
    ASSERT_EQ(trail_event_severity(ev), TRAIL_SEV_ALERT);
    ASSERT(trail_event_def(ev) == NULL);
    trail_event_free(ev);
    static const char both[] =
        "{\"id\":\"not_declared\",\"severity\":7,\"severity_name\":\"ERROR\"}";
    ASSERT_OK(trail_event_from_json(cat_with(TRAIL_POLICY_OFF), both, strlen(both), &ev, err,
                                    sizeof(err)));
    ASSERT_EQ(trail_event_severity(ev), TRAIL_SEV_ERROR);
    trail_event_free(ev);
}

TEST(decode_text_for_declared_types)
{
    /* strings are read as the declared type's text */
    static const char in[] = "{\"id\":\"test_json_ev\",\"attrs\":{\"n\":\"12\",\"ok\":\"true\","
                             "\"src\":\"10.0.0.1\",\"at\":\"2026-01-01T00:00:00Z\"}}";
    struct trail_event *ev = NULL;
    char err[256];
    ASSERT_OK(trail_event_from_json(cat_with(TRAIL_POLICY_STRICT), in, strlen(in), &ev, err,
                                    sizeof(err)));
    struct trail_value v;
    ASSERT_OK(trail_event_attr_get(ev, "n", &v));
    ASSERT_EQ(v.type, TRAIL_TYPE_INT);
    ASSERT_EQ(v.u.i, 12);
    ASSERT_OK(trail_event_attr_get(ev, "ok", &v));
    ASSERT_EQ(v.type, TRAIL_TYPE_BOOL);
    ASSERT_OK(trail_event_attr_get(ev, "src", &v));
    ASSERT_EQ(v.u.ip.family, 4);
    ASSERT_OK(trail_event_attr_get(ev, "at", &v));
    ASSERT_EQ(v.u.time_us, 1767225600000000LL);
    trail_event_free(ev);
}

struct bad_case {
    const char *json;
    int policy;
    int code;
    const char *err; /* the whole error text */
};

TEST(decode_refusals)
{
    static const struct bad_case cases[] = {
        {"", 0, TRAIL_E_PARSE,
         "byte 0: expected '{' (an event object), found the end of the input"},
        {"[]", 0, TRAIL_E_PARSE, "byte 0: expected '{' (an event object), found '['"},
        {"{}", 0, TRAIL_E_PARSE, "byte 1: missing member \"id\""},
        {"{\"attrs\":{}}", 0, TRAIL_E_PARSE, "byte 11: missing member \"id\""},
        {"{\"id\":\"test_json_ev\"} x", 0, TRAIL_E_PARSE,
         "byte 22: unexpected 'x' after the event object"},
        {"{\"id\":\"test_json_ev\"}{}", 0, TRAIL_E_PARSE,
         "byte 21: unexpected '{' after the event object"},
        {"{\"id\":\"test_json_ev\",\"extra\":1}", 0, TRAIL_E_PARSE,
         "byte 21: unknown member \"extra\""},
        {"{\"id\":\"test_json_ev\",\"id\":\"test_json_ev\"}", 0, TRAIL_E_DUPLICATE,
         "byte 21: member \"id\" appears twice"},
        {"{\"id\":\"Test\"}", 0, TRAIL_E_BAD_ID,
         "byte 6: event id 'Test' is not lower-case [a-z0-9_] of 1..128 bytes"},
        {"{\"id\":7}", 0, TRAIL_E_PARSE, "byte 6: \"id\" must be a string"},
        {"{\"id\":\"test_json_ev\",\"attrs\":{\"s\":\"a\",\"s\":\"b\"}}", 0, TRAIL_E_DUPLICATE,
         "byte 38: attribute 's' appears twice"},
        {"{\"id\":\"test_json_ev\",\"attrs\":{\"s\":null,\"s\":\"b\"}}", 0, TRAIL_E_DUPLICATE,
         "byte 39: attribute 's' appears twice"},
        {"{\"id\":\"test_json_ev\",\"attrs\":{\"s\":\"b\",\"s\":null}}", 0, TRAIL_E_DUPLICATE,
         "byte 38: attribute 's' appears twice"},
        {"{\"id\":\"test_json_ev\",\"attrs\":{\"s\":{\"a\":1}}}", 0, TRAIL_E_BAD_TYPE,
         "byte 34: attribute 's': objects and arrays are not allowed in attrs"},
        {"{\"id\":\"test_json_ev\",\"attrs\":{\"s\":[\"a\"]}}", 0, TRAIL_E_BAD_TYPE,
         "byte 34: attribute 's': objects and arrays are not allowed in attrs"},
        {"{\"id\":\"test_json_ev\",\"attrs\":{\"n\":9223372036854775808}}", 0, TRAIL_E_BAD_TYPE,
         "byte 34: attribute 'n': 9223372036854775808 does not fit a 64-bit integer"},
        {"{\"id\":\"test_json_ev\",\"attrs\":{\"n\":-9223372036854775809}}", 0, TRAIL_E_BAD_TYPE,
         "byte 34: attribute 'n': -9223372036854775809 does not fit a 64-bit integer"},
        {"{\"id\":\"test_json_ev\",\"attrs\":{\"n\":99999999999999999999999}}", 0, TRAIL_E_BAD_TYPE,
         "byte 34: attribute 'n': 99999999999999999999999 does not fit a 64-bit integer"},
        {"{\"id\":\"test_json_ev\",\"attrs\":{\"n\":1.5}}", 0, TRAIL_E_BAD_TYPE,
         "byte 34: attribute 'n': 1.5 is not an integer"},
        {"{\"id\":\"test_json_ev\",\"attrs\":{\"n\":1e3}}", 0, TRAIL_E_BAD_TYPE,
         "byte 34: attribute 'n': 1e3 is not an integer"},
        {"{\"id\":\"test_json_ev\",\"attrs\":{\"n\":01}}", 0, TRAIL_E_PARSE,
         "byte 35: expected ',' or '}' in attrs, found '1'"},
        {"{\"id\":\"test_json_ev\",\"attrs\":{\"n\":-}}", 0, TRAIL_E_PARSE,
         "byte 34: malformed number"},
        {"{\"id\":\"test_json_ev\",\"attrs\":{\"n\":\"x\"}}", 0, TRAIL_E_BAD_TYPE,
         "byte 34: attribute 'n': 'x' is not a valid int"},
        {"{\"id\":\"test_json_ev\",\"attrs\":{\"s\":5}}", 0, TRAIL_E_BAD_TYPE,
         "byte 34: attribute 's': expected string, got int"},
        {"{\"id\":\"test_json_ev\",\"attrs\":{\"kind\":\"c\"}}", 0, TRAIL_E_BAD_ENUM,
         "byte 37: attribute 'kind': 'c' is not one of its values"},
        {"{\"id\":\"test_json_ev\",\"attrs\":{\"s\":\"\\ud83d\"}}", 0, TRAIL_E_UTF8,
         "byte 35: high surrogate \\ud83d without a low surrogate"},
        {"{\"id\":\"test_json_ev\",\"attrs\":{\"s\":\"\\ud83dx\"}}", 0, TRAIL_E_UTF8,
         "byte 35: high surrogate \\ud83d without a low surrogate"},
        {"{\"id\":\"test_json_ev\",\"attrs\":{\"s\":\"\\ud83d\\u0041\"}}", 0, TRAIL_E_UTF8,
         "byte 35: high surrogate \\ud83d without a low surrogate"},
        {"{\"id\":\"test_json_ev\",\"attrs\":{\"s\":\"a\\ude00\"}}", 0, TRAIL_E_UTF8,
         "byte 36: lone low surrogate \\ude00"},
        {"{\"id\":\"test_json_ev\",\"attrs\":{\"s\":\"\\u12\"}}", 0, TRAIL_E_PARSE,
         "byte 35: \\u needs four hex digits"},
        {"{\"id\":\"test_json_ev\",\"attrs\":{\"s\":\"\\x\"}}", 0, TRAIL_E_PARSE,
         "byte 35: unknown escape sequence after '\\'"},
        {"{\"id\":\"test_json_ev\",\"attrs\":{\"s\":\"a\xc3\x28\"}}", 0, TRAIL_E_UTF8,
         "byte 36: invalid UTF-8 in a string"},
        {"{\"id\":\"test_json_ev\",\"attrs\":{\"s\":\"\xed\xa0\x80\"}}", 0, TRAIL_E_UTF8,
         "byte 35: invalid UTF-8 in a string"},
        {"{\"id\":\"test_json_ev\",\"attrs\":{\"s\":\"\xc0\xaf\"}}", 0, TRAIL_E_UTF8,
         "byte 35: invalid UTF-8 in a string"},
        {"{\"id\":\"test_json_ev\",\"attrs\":{\"s\":\"\\n\xf4\x90\x80\x80\"}}", 0, TRAIL_E_UTF8,
         "byte 37: invalid UTF-8 in a string"},
        {"{\"id\":\"test_json_ev\",\"attrs\":{\"s\":\"a\nb\"}}", 0, TRAIL_E_PARSE,
         "byte 36: unescaped control character 0x0a in a string"},
        {"{\"id\":\"test_json_ev\",\"attrs\":{\"s\":\"abc", 0, TRAIL_E_PARSE,
         "byte 34: unterminated string"},
        {"{\"id\":\"test_json_ev\",\"attrs\":{\"s\":\"abc\"", 0, TRAIL_E_PARSE,
         "byte 39: expected ',' or '}' in attrs, found the end of the input"},
        {"{\"id\":\"test_json_ev\",\"attrs\":{\"a b\":1}}", 0, TRAIL_E_BAD_KEY,
         "byte 30: attribute key 'a b' is empty or has characters outside [A-Za-z0-9_.-]"},
        {"{\"id\":\"test_json_ev\",\"attrs\":{\"a\\u0000b\":1}}", 0, TRAIL_E_BAD_KEY,
         "byte 30: a name holds \\u0000"},
        {"{\"id\":\"test_json_ev\",\"attrs\":{\"x\":1}}", 2, 0, ""},
        {"{\"id\":\"test_json_ev\",\"attrs\":{\"s\":tru}}", 0, TRAIL_E_PARSE,
         "byte 34: expected a value, found 't'"},
        {"{\"id\":\"test_json_ev\",\"attrs\":[]}", 0, TRAIL_E_PARSE,
         "byte 29: \"attrs\" must be an object"},
        {"{\"id\":\"test_json_ev\",\"time\":\"yesterday\"}", 0, TRAIL_E_PARSE,
         "byte 28: \"time\" 'yesterday' is not an RFC 3339 time"},
        {"{\"id\":\"test_json_ev\",\"time\":\"9999-12-31T23:59:59-01:00\"}", 0, TRAIL_E_PARSE,
         "byte 28: \"time\" '9999-12-31T23:59:59-01:00' is not an RFC 3339 time"},
        {"{\"id\":\"test_json_ev\",\"attrs\":{\"at\":\"0000-01-01T00:00:00+00:01\"}}", 0,
         TRAIL_E_BAD_TYPE,
         "byte 35: attribute 'at': '0000-01-01T00:00:00+00:01' is outside years 0000..9999"},
        {"{\"id\":\"test_json_ev\",\"uuid\":\"0011\"}", 0, TRAIL_E_PARSE,
         "byte 28: \"uuid\" '0011' is not a uuid"},
        {"{\"id\":\"test_json_ev\",\"seq\":-1}", 0, TRAIL_E_BAD_TYPE,
         "byte 27: \"seq\" must be an integer 0..2^64-1"},
        {"{\"id\":\"test_json_ev\",\"severity\":5}", 0, TRAIL_E_BAD_SEVERITY,
         "byte 32: severity 5 is not on the scale"},
        {"{\"id\":\"test_json_ev\",\"severity_name\":\"LOUD\"}", 0, TRAIL_E_BAD_SEVERITY,
         "byte 37: \"severity_name\" 'LOUD' is not a level"},
        {"{\"id\":\"test_json_ev\",\"severity\":4,\"severity_name\":\"INFO\"}", 0,
         TRAIL_E_BAD_SEVERITY, "byte 0: \"severity\" 4 and \"severity_name\" INFO disagree"},
        {"{\"id\":\"test_json_ev\",\"host\":\"\\u0000\"}", 0, 0, ""},
    };
    int n_wrong = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct bad_case *c = &cases[i];
        struct trail_event *ev = (struct trail_event *)&ev; /* must stay untouched */
        char err[256] = "unset";
        int r = trail_event_from_json(cat_with(c->policy), c->json, strlen(c->json), &ev, err,
                                      sizeof(err));
        if (r != c->code || strcmp(err, c->err) != 0) {
            fprintf(stderr, "  case %zu (%s): got %d \"%s\", want %d \"%s\"\n", i, c->json, r, err,
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
    static const char three[] = "{\"id\":\"x\",\"attrs\":{\"a\":1,\"b\":2,\"c\":3}}";
    ASSERT_EQ(trail_event_from_json(c, three, strlen(three), &ev, err, sizeof(err)),
              TRAIL_E_TOO_MANY_ATTRS);
    ASSERT_STREQ(err, "byte 35: more than 2 attributes");
    static const char nulls[] = "{\"id\":\"x\",\"attrs\":{\"a\":1,\"b\":null,\"c\":null}}";
    ASSERT_EQ(trail_event_from_json(c, nulls, strlen(nulls), &ev, err, sizeof(err)),
              TRAIL_E_TOO_MANY_ATTRS);
    char big[400];
    memset(big, ' ', sizeof(big));
    memcpy(big, "{\"id\":\"x\"}", 10);
    ASSERT_EQ(trail_event_from_json(c, big, sizeof(big), &ev, err, sizeof(err)), TRAIL_E_TOO_LARGE);
    ASSERT_STREQ(err, "byte 0: event is 400 bytes, over the limit of 300");
    /* err may be NULL */
    ASSERT_EQ(trail_event_from_json(c, "{", 1, &ev, NULL, 0), TRAIL_E_PARSE);
    trail_catalog_free(c);
}

TEST(encode_failure_leaves_buffer)
{
    /* an invalid id made through the API still gives valid JSON */
    struct trail_event *ev;
    struct trail_buf b = {0};
    ASSERT_OK(trail_event_new(cat_with(TRAIL_POLICY_OFF), "bad\xff\"id", &ev));
    ASSERT_OK(trail_event_to_json(ev, &b));
    ASSERT_STREQ(b.data, "{\"id\":\"bad\\ufffd\\\"id\",\"severity\":3,\"severity_name\":\"INFO\","
                         "\"attrs\":{}}");
    trail_buf_free(&b);
    trail_event_free(ev);
}

/*
 * "source" (traild's ClickHouse tier: where an event was found) is read in
 * traild's answers, as trail query --url reads them, and dropped; from
 * anyone else it is an unknown member.
 */
TEST(decode_tier_source)
{
    static const char j[] =
        "{\"id\":\"auth_logout_local\",\"time\":\"2026-11-24T08:59:58Z\",\"seq\":3,"
        "\"attrs\":{\"duser\":\"alice\"},\"source\":{\"tier\":\"clickhouse\","
        "\"origin\":\"a.example/t\",\"seq\":3,\"proof\":\"/v1/proof?seq=3\"}}";
    struct trail_event *ev;
    char err[256];
    ASSERT_OK(trail_event_from_stored_json(cat_with(TRAIL_POLICY_STRICT), j, strlen(j), &ev, err,
                                           sizeof(err)));
    ASSERT_EQ(trail_event_seq(ev), 3);
    ASSERT_STREQ(trail_event_id(ev), "auth_logout_local");
    trail_event_free(ev);
    ASSERT_EQ(
        trail_event_from_json(cat_with(TRAIL_POLICY_STRICT), j, strlen(j), &ev, err, sizeof(err)),
        TRAIL_E_PARSE);
    ASSERT(strstr(err, "source") != NULL);
    /* a cut one is refused, not skipped past the end */
    ASSERT(trail_event_from_stored_json(cat_with(TRAIL_POLICY_STRICT), j, strlen(j) - 3, &ev, err,
                                        sizeof(err)) < 0);
}

/*
 * The string encoder copies plain text sixteen bytes at a time and short
 * text in one register (issue 19: an export's rows): it must write what
 * the byte-by-byte rule says, here done the plain way. Random strings of
 * runs of plain text and the bytes that matter ('"', '\', controls, DEL,
 * C1, U+2028, U+2029, valid UTF-8 of 2..4 bytes, bytes that are not UTF-8),
 * at every length from 0 to past 48 and every position around the 8- and
 * 16-byte steps.
 */
static void ref_str(struct trail_buf *o, const unsigned char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char e[8];
    trail_buf_append(o, "\"", 1);
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t l = 1;
        if (c == '"' || c == '\\') {
            e[0] = '\\', e[1] = (char)c;
            trail_buf_append(o, e, 2);
        } else if (c < 0x20 || c == 0x7f) {
            memcpy(e, "\\u00", 4);
            e[4] = hex[c >> 4], e[5] = hex[c & 15];
            trail_buf_append(o, e, 6);
        } else if (c < 0x80) {
            trail_buf_append(o, s + i, 1);
        } else {
            /* the UTF-8 rule, spelled out */
            uint32_t cp = 0;
            l = c >= 0xc2 && c <= 0xdf   ? 2
                : c >= 0xe0 && c <= 0xef ? 3
                : c >= 0xf0 && c <= 0xf4 ? 4
                                         : 0;
            if (l > n - i)
                l = 0;
            if (l)
                cp = c & (l == 2 ? 0x1f : l == 3 ? 0x0f : 0x07);
            for (size_t k = 1; k < l; k++) {
                if ((s[i + k] & 0xc0) != 0x80)
                    l = 0;
                else
                    cp = cp << 6 | (s[i + k] & 0x3f);
            }
            if (l && ((l == 3 && cp < 0x800) || (l == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
                      (cp >= 0xd800 && cp <= 0xdfff)))
                l = 0;
            if (l == 0) {
                trail_buf_append(o, "\\ufffd", 6);
                l = 1;
            } else if ((cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029) {
                snprintf(e, sizeof(e), "\\u%04x", (unsigned)cp);
                trail_buf_append(o, e, 6);
            } else {
                trail_buf_append(o, s + i, l);
            }
        }
        i += l;
    }
    trail_buf_append(o, "\"", 1);
}

TEST(encode_strings_as_the_byte_rule)
{
    static const char *const odd[] = {"\"",
                                      "\\",
                                      "\n",
                                      "\x01",
                                      "\x1f",
                                      "\x7f",
                                      "\xc2\x85",
                                      "\xc3\xa5",
                                      "\xff",
                                      "\xc3",
                                      "\xe2\x80\xa8",
                                      "\xe2\x80\xa9",
                                      "\xf0\x9f\x98\x80",
                                      "\xed\xa0\x80"};
    struct trail_buf got = {0}, want = {0};
    uint64_t rng = 11;
    for (int round = 0; round < 40000; round++) {
        unsigned char s[128];
        size_t n = 0;
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        size_t target = (size_t)(rng >> 33) % 60;
        while (n < target) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            unsigned pick = (unsigned)(rng >> 33);
            if (pick % 4) {
                size_t run = pick % 23; /* plain runs across the 8- and 16-byte steps */
                for (size_t k = 0; k < run && n < sizeof(s) - 4; k++)
                    s[n++] = (unsigned char)('a' + (pick + k) % 26);
            } else {
                const char *o = odd[(pick >> 8) % (sizeof(odd) / sizeof(*odd))];
                memcpy(s + n, o, strlen(o));
                n += strlen(o);
            }
        }
        trail_buf_reset(&want);
        ref_str(&want, s, n);
        trail_buf_reset(&got);
        ASSERT_OK(trail_buf_append(&got, "x", 1));
        ASSERT_OK(trail_json_string(&got, (const char *)s, n));
        ASSERT_EQ(got.len, want.len + 1);
        ASSERT_MEMEQ(got.data + 1, want.data, want.len);
    }
    trail_buf_free(&got);
    trail_buf_free(&want);
}

TEST_MAIN(encode_full_event, encode_minimal_event_appends, encode_escapes,
          decode_canonical_round_trip, decode_any_member_order_and_white_space,
          decode_unicode_escapes, decode_long_escaped_value, decode_int_limits_and_null,
          decode_severity_rules, decode_text_for_declared_types, decode_refusals, decode_limits,
          encode_failure_leaves_buffer, decode_tier_source, encode_strings_as_the_byte_rule)
