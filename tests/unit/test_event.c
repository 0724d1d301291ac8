/*
 * test_event.c - the event model, time text, severity scale, uuids and
 * UTF-8 checks of libtrail.
 */
#include "harness.h"
#include "event/event.h"

#include <arpa/inet.h>
#include <errno.h>

static struct trail_catalog *cat(void)
{
    static struct trail_catalog *c;
    if (!c && trail_catalog_new(&c) != 0)
        abort();
    return c;
}

TEST(time_format_and_parse)
{
    char buf[32];
    ASSERT_EQ(trail_time_format(0, buf), 27);
    ASSERT_STREQ(buf, "1970-01-01T00:00:00.000000Z");
    int64_t t;
    ASSERT_OK(trail_time_parse("2026-11-24T08:59:58+01:00", 25, &t));
    trail_time_format(t, buf);
    ASSERT_STREQ(buf, "2026-11-24T07:59:58.000000Z");
    ASSERT_OK(trail_time_parse("2024-02-29T23:59:59.123456789Z", 30, &t));
    trail_time_format(t, buf);
    ASSERT_STREQ(buf, "2024-02-29T23:59:59.123456Z");
    ASSERT_OK(trail_time_parse("2025-04-23 16:14:23,508-02:30", 29, &t));
    trail_time_format(t, buf);
    ASSERT_STREQ(buf, "2025-04-23T18:44:23.508000Z");
    /* pre-epoch times format and parse symmetrically */
    ASSERT_OK(trail_time_parse("1969-12-31T23:59:59.999999Z", 27, &t));
    ASSERT_EQ(t, -1);
    trail_time_format(-1, buf);
    ASSERT_STREQ(buf, "1969-12-31T23:59:59.999999Z");
}

TEST(time_parse_rejects)
{
    static const char *const bad[] = {
        "2023-02-29T00:00:00Z", /* not a leap year */
        "2026-13-01T00:00:00Z",
        "2026-11-31T00:00:00Z",
        "2026-11-24T24:00:00Z",
        "2026-11-24T08:59:58", /* no zone */
        "2026-11-24T08:59:58.Z",
        "2026-11-24T08:59:58Zjunk",
        "2026-11-24",
        "",
        "2026-11-24T08:59:58+25:00",
        "2026-11-24T08:59:58.1234567890Z",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t t = 42;
        if (trail_time_parse(bad[i], strlen(bad[i]), &t) != TRAIL_E_PARSE)
            FAIL_AT("accepted '%s'", bad[i]);
        ASSERT_EQ(t, 42); /* untouched on failure */
    }
}

TEST(duration_parse)
{
    static const struct {
        const char *text;
        int64_t us;
    } good[] = {
        {"0s", 0},
        {"30s", 30000000LL},
        {"15m", 900000000LL},
        {"2h", 7200000000LL},
        {"7d", 604800000000LL},
        {"1w", 604800000000LL},
        {"106751991d", 106751991LL * 86400 * 1000000}, /* the largest whole days in int64 µs */
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        int64_t us = -1;
        if (trail_duration_parse(good[i].text, strlen(good[i].text), &us) != 0)
            FAIL_AT("refused '%s'", good[i].text);
        ASSERT_EQ(us, good[i].us);
    }
    static const char *const bad[] = {"",    "s",    "7",          "7x",
                                      "-7d", "+7d",  "7 d",        "d7",
                                      "7dd", "1.5h", "106751992d", "99999999999999999999s"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t us = 42;
        if (trail_duration_parse(bad[i], strlen(bad[i]), &us) != TRAIL_E_PARSE)
            FAIL_AT("accepted '%s'", bad[i]);
        ASSERT_EQ(us, 42);
    }
}

TEST(time_round_trip_many)
{
    /* every ~37 hours over 1970..2100, plus odd microseconds */
    for (int64_t t = 0; t < 4102444800LL * 1000000; t += 133333333333LL + 7) {
        char buf[32];
        int64_t back;
        size_t n = trail_time_format(t, buf);
        ASSERT_OK(trail_time_parse(buf, n, &back));
        ASSERT_EQ(back, t);
    }
}

TEST(severity_scale)
{
    int s;
    ASSERT_STREQ(trail_severity_name(TRAIL_SEV_WARNING), "WARNING");
    ASSERT(trail_severity_name(5) == NULL);
    ASSERT(!trail_severity_valid(0) && !trail_severity_valid(5) && !trail_severity_valid(11));
    ASSERT_OK(trail_severity_parse("warning", &s));
    ASSERT_EQ(s, 6);
    ASSERT_OK(trail_severity_parse("6 WARNING", &s));
    ASSERT_EQ(s, 6);
    ASSERT_OK(trail_severity_parse("10", &s));
    ASSERT_EQ(s, 10);
    ASSERT_EQ(trail_severity_parse("6 ERROR", &s), TRAIL_E_BAD_SEVERITY);
    ASSERT_EQ(trail_severity_parse("5", &s), TRAIL_E_BAD_SEVERITY);
    ASSERT_EQ(trail_severity_parse("LOUD", &s), TRAIL_E_BAD_SEVERITY);
    ASSERT_EQ(trail_severity_to_syslog(TRAIL_SEV_EMERGENCY), 0);
    ASSERT_EQ(trail_severity_to_syslog(TRAIL_SEV_NOTICE), 5);
    ASSERT_EQ(trail_severity_to_syslog(TRAIL_SEV_TRACE), 7);
    ASSERT_EQ(trail_severity_to_cef(TRAIL_SEV_ALERT), 9);
    ASSERT_EQ(trail_severity_to_ocsf(TRAIL_SEV_WARNING), 3);
    ASSERT_EQ(trail_severity_to_ocsf(TRAIL_SEV_EMERGENCY), 6);
    ASSERT_STREQ(trail_severity_to_ecs(TRAIL_SEV_CRITICAL), "critical");
    ASSERT_EQ(trail_severity_to_syslog(5), -1);
}

TEST(strerror_texts)
{
    ASSERT_STREQ(trail_strerror(TRAIL_E_UNKNOWN_EVENT), "unknown event id");
    ASSERT_STREQ(trail_strerror(-ENOENT), "No such file or directory");
    ASSERT_STREQ(trail_strerror(0), "success");
    for (int c = TRAIL_E_BASE; c < TRAIL_E_LAST; c++)
        if (strcmp(trail_strerror(c), "unknown trail error") == 0)
            FAIL_AT("code %d has no text", c);
}

TEST(utf8)
{
    ASSERT(utf8_valid("plain ascii text, long enough for words", 39));
    ASSERT(utf8_valid("G\xc3\xb6teborg \xe2\x82\xac \xf0\x9f\x94\x92", 18));
    ASSERT(!utf8_valid("\xc3", 1));             /* truncated */
    ASSERT(!utf8_valid("\xc0\xaf", 2));         /* overlong */
    ASSERT(!utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    ASSERT(!utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
    ASSERT(!utf8_valid("abcdefgh\xff", 9));     /* after an ASCII run */
    ASSERT(!utf8_valid("\xe2\x82", 2));
}

TEST(uuid_text)
{
    struct trail_event *ev;
    uint8_t u[16], back[16];
    char text[37];
    ASSERT_OK(trail_event_new(cat(), "core_server_run_started", &ev));
    ASSERT_EQ(trail_event_uuid(ev, u), TRAIL_E_NOT_FOUND);
    ASSERT_OK(trail_event_gen_uuid(ev));
    ASSERT_OK(trail_event_uuid(ev, u));
    ASSERT_EQ(u[6] >> 4, 4);
    ASSERT_EQ(u[8] >> 6, 2);
    trail_uuid_format(u, text);
    ASSERT_EQ(strlen(text), 36);
    ASSERT_OK(trail_uuid_parse(text, 36, back));
    ASSERT_MEMEQ(u, back, 16);
    ASSERT_EQ(trail_uuid_parse("not-a-uuid", 10, back), TRAIL_E_PARSE);
    trail_event_free(ev);
}

TEST(attributes_sorted_typed_replaced)
{
    struct trail_event *ev;
    ASSERT_OK(trail_catalog_set_policy(cat(), TRAIL_POLICY_LENIENT));
    ASSERT_OK(trail_event_new(cat(), "prism_user_locked", &ev));
    ASSERT_OK(trail_event_set_string(ev, "zeta", "last", (size_t)-1));
    ASSERT_OK(trail_event_set_int(ev, "alpha", -42));
    ASSERT_OK(trail_event_set_bool(ev, "mid", 1));
    ASSERT_OK(trail_event_set_ip(ev, "addr", "2001:db8::1", (size_t)-1));
    ASSERT_OK(trail_event_set_string(ev, "zeta", "replaced", (size_t)-1));
    ASSERT_EQ(trail_event_attr_count(ev), 4);
    const char *k;
    struct trail_value v;
    char text[64];
    ASSERT_OK(trail_event_attr_at(ev, 0, &k, &v));
    ASSERT_STREQ(k, "addr");
    ASSERT_EQ(v.type, TRAIL_TYPE_IP);
    trail_value_format(&v, text, sizeof(text));
    ASSERT_STREQ(text, "2001:db8::1");
    ASSERT_OK(trail_event_attr_at(ev, 1, &k, &v));
    ASSERT_STREQ(k, "alpha");
    ASSERT_EQ(v.u.i, -42);
    ASSERT_OK(trail_event_attr_get(ev, "zeta", &v));
    ASSERT_EQ(v.u.str.len, 8);
    ASSERT_MEMEQ(v.u.str.ptr, "replaced", 8);
    ASSERT_OK(trail_event_unset(ev, "mid"));
    ASSERT_EQ(trail_event_unset(ev, "mid"), TRAIL_E_NOT_FOUND);
    ASSERT_EQ(trail_event_attr_count(ev), 3);
    ASSERT_EQ(trail_event_attr_at(ev, 3, &k, &v), TRAIL_E_NOT_FOUND);

    /* bad keys and values, each with its own code and a message naming the key */
    ASSERT_EQ(trail_event_set_string(ev, "bad key", "x", 1), TRAIL_E_BAD_KEY);
    ASSERT_EQ(trail_event_set_string(ev, "", "x", 1), TRAIL_E_BAD_KEY);
    ASSERT_EQ(trail_event_set_string(ev, "k", "\xff", 1), TRAIL_E_UTF8);
    ASSERT(strstr(trail_event_error(ev), "'k'") != NULL);
    ASSERT_EQ(trail_event_set_ip(ev, "addr", "999.1.1.1", (size_t)-1), TRAIL_E_BAD_TYPE);
    ASSERT_EQ(trail_event_attr_count(ev), 3); /* failed calls add nothing */

    /* clone is deep */
    struct trail_event *c;
    ASSERT_OK(trail_event_clone(ev, &c));
    trail_event_reset(ev, "prism_user_locked", (size_t)-1);
    ASSERT_EQ(trail_event_attr_count(ev), 0);
    ASSERT_OK(trail_event_attr_get(c, "zeta", &v));
    ASSERT_MEMEQ(v.u.str.ptr, "replaced", 8);
    trail_event_free(c);
    trail_event_free(ev);
    trail_event_free(NULL);
    ASSERT_OK(trail_catalog_set_policy(cat(), TRAIL_POLICY_STRICT));
}

TEST(set_text_parses_declared_types)
{
    struct trail_catalog *c;
    struct trail_event *ev;
    struct trail_value v;
    ASSERT_OK(trail_catalog_new(&c));
    ASSERT_OK(trail_catalog_add(c, "test_typed", "NOTICE", "typed test event",
                                "n:int, b:bool, ip:ip:required, t:time, e:enum(on|off), s:string"));
    ASSERT_OK(trail_event_new(c, "test_typed", &ev));
    ASSERT_OK(trail_event_set_text(ev, "n", (size_t)-1, "-9223372036854775808", (size_t)-1));
    ASSERT_OK(trail_event_attr_get(ev, "n", &v));
    ASSERT_EQ(v.type, TRAIL_TYPE_INT);
    ASSERT(v.u.i == INT64_MIN);
    ASSERT_EQ(trail_event_set_text(ev, "n", (size_t)-1, "9223372036854775808", (size_t)-1),
              TRAIL_E_BAD_TYPE);
    ASSERT_OK(trail_event_set_text(ev, "b", (size_t)-1, "false", (size_t)-1));
    ASSERT_EQ(trail_event_set_text(ev, "b", (size_t)-1, "yes", (size_t)-1), TRAIL_E_BAD_TYPE);
    ASSERT_OK(trail_event_set_text(ev, "t", (size_t)-1, "2026-11-25T10:00:00Z", (size_t)-1));
    ASSERT_OK(trail_event_attr_get(ev, "t", &v));
    ASSERT_EQ(v.u.time_us, 1795600800LL * 1000000);
    ASSERT_EQ(trail_event_set_text(ev, "e", (size_t)-1, "maybe", (size_t)-1), TRAIL_E_BAD_ENUM);
    ASSERT_OK(trail_event_set_text(ev, "e", (size_t)-1, "on", (size_t)-1));
    ASSERT_EQ(trail_event_set_int(ev, "s", 1), TRAIL_E_BAD_TYPE);
    ASSERT(strstr(trail_event_error(ev), "expected string") != NULL);
    ASSERT_EQ(trail_event_validate(ev), TRAIL_E_MISSING_ATTR);
    ASSERT(strstr(trail_event_error(ev), "'ip'") != NULL);
    ASSERT_OK(trail_event_set_text(ev, "ip", (size_t)-1, "10.1.2.3", (size_t)-1));
    ASSERT_OK(trail_event_validate(ev));
    ASSERT_OK(trail_event_set_string(ev, "extra", "x", 1));
    ASSERT_EQ(trail_event_validate(ev), TRAIL_E_UNDECLARED_ATTR);
    ASSERT_OK(trail_catalog_set_policy(c, TRAIL_POLICY_LENIENT));
    ASSERT_OK(trail_event_validate(ev));
    /* a catalog event's severity is the catalog's */
    ASSERT_OK(trail_event_set_severity(ev, TRAIL_SEV_ERROR));
    ASSERT_EQ(trail_event_validate(ev), TRAIL_E_BAD_SEVERITY);
    trail_event_free(ev);

    ASSERT_OK(trail_event_new(c, "no_such_event", &ev));
    ASSERT_EQ(trail_event_validate(ev), TRAIL_E_UNKNOWN_EVENT);
    ASSERT_OK(trail_catalog_set_policy(c, TRAIL_POLICY_OFF));
    ASSERT_OK(trail_event_validate(ev));
    trail_event_free(ev);
    trail_catalog_free(c);
}

TEST(limits)
{
    struct trail_catalog *c;
    struct trail_event *ev;
    struct trail_limits l = {.max_attrs = 3, .max_key_len = 8, .max_value_len = 10};
    ASSERT_OK(trail_catalog_new(&c));
    ASSERT_OK(trail_catalog_set_policy(c, TRAIL_POLICY_OFF));
    ASSERT_OK(trail_catalog_set_limits(c, &l));
    ASSERT_OK(trail_event_new(c, "anything", &ev));
    ASSERT_EQ(trail_event_set_string(ev, "longerkey", "v", 1), TRAIL_E_KEY_TOO_LONG);
    ASSERT_EQ(trail_event_set_string(ev, "k", "01234567890", 11), TRAIL_E_VALUE_TOO_LONG);
    ASSERT_OK(trail_event_set_string(ev, "a", "1", 1));
    ASSERT_OK(trail_event_set_string(ev, "b", "1", 1));
    ASSERT_OK(trail_event_set_string(ev, "c", "1", 1));
    ASSERT_EQ(trail_event_set_string(ev, "d", "1", 1), TRAIL_E_TOO_MANY_ATTRS);
    ASSERT_OK(trail_event_set_string(ev, "c", "2", 1)); /* replacing is not adding */
    struct trail_limits small = {.max_record_bytes = 100};
    ASSERT_EQ(trail_catalog_set_limits(c, &small), -EINVAL);
    trail_event_free(ev);
    trail_catalog_free(c);
}

TEST(custom_event_declarations)
{
    struct trail_catalog *c;
    ASSERT_OK(trail_catalog_new(&c));
    size_t n = trail_catalog_count(c);
    ASSERT_OK(trail_catalog_add(c, "acme_badge_swiped", "6 WARNING", "A badge was swiped",
                                "badge:string:required:indexed; door:enum(front|back)"));
    ASSERT_EQ(trail_catalog_count(c), n + 1);
    const struct trail_event_def *d = trail_catalog_lookup(c, "acme_badge_swiped", (size_t)-1);
    ASSERT(d != NULL);
    ASSERT_EQ(d->severity, 6);
    ASSERT_EQ(d->custom, 1);
    ASSERT_EQ(d->n_attrs, 2);
    ASSERT_STREQ(d->attrs[0]->key, "badge");
    ASSERT_EQ(d->attrs[0]->flags, TRAIL_ATTR_REQUIRED | TRAIL_ATTR_INDEXED);
    ASSERT_EQ(d->attrs[1]->n_enum, 2);
    ASSERT_STREQ(d->attrs[1]->enum_values[1], "back");
    /* sorted in among the built-ins */
    for (size_t i = 1; i < trail_catalog_count(c); i++)
        ASSERT(strcmp(trail_catalog_at(c, i - 1)->id, trail_catalog_at(c, i)->id) < 0);
    ASSERT_EQ(trail_catalog_add(c, "acme_badge_swiped", "INFO", "", NULL), TRAIL_E_DUPLICATE);
    ASSERT_EQ(trail_catalog_add(c, "Acme", "INFO", "", NULL), TRAIL_E_BAD_ID);
    ASSERT_EQ(trail_catalog_add(c, "acme_x", "LOUD", "", NULL), TRAIL_E_BAD_SEVERITY);
    ASSERT_EQ(trail_catalog_add(c, "acme_x", "INFO", "", "k:float"), TRAIL_E_PARSE);
    ASSERT_EQ(trail_catalog_add(c, "acme_x", "INFO", "", "k:enum"), TRAIL_E_PARSE);
    ASSERT_EQ(trail_catalog_add(c, "acme_x", "INFO", "", "k:int, k:int"), TRAIL_E_DUPLICATE);
    ASSERT_EQ(trail_catalog_add(c, "acme_x", "INFO", "", "b@d:int"), TRAIL_E_BAD_KEY);
    ASSERT_EQ(trail_catalog_count(c), n + 1);
    trail_catalog_free(c);
}

TEST(lookups_with_counted_names)
{
    /* names are compared by length too: a NUL or a longer name never matches a shorter one */
    const struct trail_event_def *d = trail_catalog_lookup(cat(), "prism_user_locked", 17);
    ASSERT(d != NULL);
    ASSERT(trail_catalog_lookup(cat(), "prism_user_locked\0x", 19) == NULL);
    ASSERT(trail_catalog_lookup(cat(), "prism_user_lock", 15) == NULL);
    ASSERT(trail_attr_def_find(d, "duser", 5) != NULL);
    ASSERT(trail_attr_def_find(d, "duser\0", 6) == NULL);
    ASSERT(trail_attr_def_find(d, "duse", 4) == NULL);
    ASSERT(trail_attr_def_find(d, "duserx", 6) == NULL);
    ASSERT_EQ(keycmp("abc", "abd", 3), -1);
    ASSERT(keycmp("abc", "ab", 2) > 0);
    ASSERT(keycmp("ab", "ab\0", 3) < 0);
    ASSERT_EQ(keycmp("ab", "ab", 2), 0);
}

TEST(every_missing_attribute_named)
{
    /* one try shows everything missing: the message names each required key, in key order */
    struct trail_catalog *c;
    struct trail_event *ev;
    ASSERT_OK(trail_catalog_new(&c));
    ASSERT_OK(trail_catalog_add(c, "acme_door_opened", "INFO", "A door was opened",
                                "badge:string:required, door:string:required, floor:int, "
                                "zone:string:required"));
    ASSERT_OK(trail_event_new(c, "acme_door_opened", &ev));
    ASSERT_OK(trail_event_set_int(ev, "floor", 2));
    ASSERT_EQ(trail_event_validate(ev), TRAIL_E_MISSING_ATTR);
    ASSERT_STREQ(trail_event_error(ev),
                 "event 'acme_door_opened' needs attributes 'badge', 'door', 'zone'");
    ASSERT_OK(trail_event_set_string(ev, "door", "B2", 2));
    ASSERT_EQ(trail_event_validate(ev), TRAIL_E_MISSING_ATTR);
    ASSERT_STREQ(trail_event_error(ev),
                 "event 'acme_door_opened' needs attributes 'badge', 'zone'");
    ASSERT_OK(trail_event_set_string(ev, "zone", "north", 5));
    ASSERT_EQ(trail_event_validate(ev), TRAIL_E_MISSING_ATTR);
    ASSERT_STREQ(trail_event_error(ev), "event 'acme_door_opened' needs attribute 'badge'");
    /* a missing key is the error; undeclared keys are named beside it */
    ASSERT_OK(trail_event_set_string(ev, "aaa", "x", 1));
    ASSERT_EQ(trail_event_validate(ev), TRAIL_E_MISSING_ATTR);
    ASSERT_STREQ(trail_event_error(ev),
                 "event 'acme_door_opened' needs attribute 'badge'; not declared: 'aaa'");
    trail_event_free(ev);
    /* a list longer than the message holds ends with ", ..." */
    char schema[2048] = "", key[64];
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof(key), "%sattribute_number_%02d:string:required", i ? ", " : "", i);
        strcat(schema, key);
    }
    ASSERT_OK(trail_catalog_add(c, "acme_many", "INFO", "Many attributes", schema));
    ASSERT_OK(trail_event_new(c, "acme_many", &ev));
    ASSERT_EQ(trail_event_validate(ev), TRAIL_E_MISSING_ATTR);
    const char *e = trail_event_error(ev);
    ASSERT(strncmp(e, "event 'acme_many' needs attributes 'attribute_number_00', ", 58) == 0);
    ASSERT(strlen(e) > 5 && strcmp(e + strlen(e) - 5, ", ...") == 0);
    trail_event_free(ev);
    trail_catalog_free(c);
}

TEST(producer_time_against_arrival)
{
    /* the producer's time is checked against the arrival time the input set */
    const int64_t arrival = 1796000000000000LL; /* 2026-11-30T00:53:20Z */
    const int64_t day = 86400LL * 1000000;
    struct trail_catalog *c;
    struct trail_event *ev;
    ASSERT_OK(trail_catalog_new(&c));
    ASSERT_OK(trail_catalog_add(c, "acme_door_opened", "INFO", "A door was opened", "door:string"));
    ASSERT_OK(trail_event_new(c, "acme_door_opened", &ev));
    trail_event_set_received(ev, arrival);
    /* a program's own appends are not a producer's claim: not checked */
    trail_event_set_time(ev, 253370764800LL * 1000000);
    ASSERT_OK(trail_event_validate(ev));
    ASSERT_STREQ(trail_event_problems(ev), "");
    ASSERT_OK(trail_event_set_input(ev, TRAIL_INPUT_HTTP, NULL, 0));
    /* within the defaults (a day ahead, 366 days behind): no problem */
    trail_event_set_time(ev, arrival + day - 1000000);
    ASSERT_OK(trail_event_validate(ev));
    ASSERT_STREQ(trail_event_problems(ev), "");
    trail_event_set_time(ev, arrival - 366 * day);
    ASSERT_OK(trail_event_validate(ev));
    ASSERT_STREQ(trail_event_problems(ev), "");
    /* 9999-01-01: stored, with the skew listed in the record */
    trail_event_set_time(ev, 253370764800LL * 1000000);
    ASSERT_OK(trail_event_validate(ev));
    ASSERT_STREQ(trail_event_problems(ev),
                 "time skew: the event time is 2911744 days ahead of its arrival");
    /* 0001-01-01 (backdating) the same, behind */
    trail_event_set_time(ev, -62135596800LL * 1000000);
    ASSERT_OK(trail_event_validate(ev));
    ASSERT_STREQ(trail_event_problems(ev),
                 "time skew: the event time is 739949 days behind its arrival");
    /* two hours ahead with a bound of one hour: seconds */
    ASSERT_OK(trail_catalog_set_time_skew(c, 3600LL * 1000000, 0, 0));
    trail_event_set_time(ev, arrival + 7200LL * 1000000);
    ASSERT_OK(trail_event_validate(ev));
    ASSERT_STREQ(trail_event_problems(ev),
                 "time skew: the event time is 7200 s ahead of its arrival");
    /* 0 is no bound: year 1 passes behind */
    trail_event_set_time(ev, -62135596800LL * 1000000);
    ASSERT_OK(trail_event_validate(ev));
    ASSERT_STREQ(trail_event_problems(ev), "");
    /* refuse: an error, nothing listed */
    ASSERT_OK(trail_catalog_set_time_skew(c, day, day, 1));
    ASSERT_EQ(trail_event_validate(ev), TRAIL_E_TIME_SKEW);
    ASSERT_STREQ(trail_event_error(ev), "event 'acme_door_opened': the event time is 739949 days "
                                        "behind its arrival (refused by policy)");
    /* an import's times are history: not checked */
    ASSERT_OK(trail_event_set_input(ev, TRAIL_INPUT_IMPORT, NULL, 0));
    ASSERT_OK(trail_event_validate(ev));
    ASSERT_STREQ(trail_event_problems(ev), "");
    ASSERT_EQ(trail_catalog_set_time_skew(c, -1, 0, 0), -EINVAL);
    trail_event_free(ev);
    /* listed after what lenient validation found */
    ASSERT_OK(trail_catalog_set_policy(c, TRAIL_POLICY_LENIENT));
    ASSERT_OK(trail_catalog_set_time_skew(c, day, day, 0));
    ASSERT_OK(trail_event_new(c, "acme_door_opened", &ev));
    trail_event_set_received(ev, arrival);
    ASSERT_OK(trail_event_set_input(ev, TRAIL_INPUT_SYSLOG_TCP, NULL, 0));
    trail_event_set_time(ev, arrival + 3 * day);
    ASSERT_OK(trail_event_set_string(ev, "zzz", "x", 1));
    ASSERT_OK(trail_event_validate(ev));
    ASSERT_STREQ(trail_event_problems(ev), "undeclared attribute 'zzz'; time skew: the event time "
                                           "is 3 days ahead of its arrival");
    trail_event_free(ev);
    trail_catalog_free(c);
}

/*
 * ip_format writes what inet_ntop() writes (exports format addresses
 * without it): every IPv4 pattern of interest, and IPv6 addresses of random
 * groups where most are zero, so that every run of zero groups, their
 * ties, ::1, ::, and the IPv4-compatible and -mapped forms come up.
 */
TEST(ip_text_as_inet_ntop)
{
    char got[46], want[64];
    uint8_t a[16] = {0};
    static const uint8_t v4[][4] = {{0, 0, 0, 0},       {255, 255, 255, 255}, {10, 0, 0, 1},
                                    {192, 168, 100, 9}, {1, 22, 103, 250},    {99, 100, 9, 10}};
    for (size_t i = 0; i < sizeof(v4) / sizeof(*v4); i++) {
        memcpy(a, v4[i], 4);
        ASSERT(inet_ntop(AF_INET, a, want, sizeof(want)) != NULL);
        ASSERT_EQ(ip_format(4, a, got), strlen(want));
        ASSERT_STREQ(got, want);
    }
    uint64_t rng = 7;
    static const unsigned groups[] = {0, 0, 0, 0, 1, 0xffff, 0x10, 0xabc, 0x100f, 0x7f00};
    for (int round = 0; round < 200000; round++) {
        for (int g = 0; g < 8; g++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            unsigned w = groups[(rng >> 33) % (sizeof(groups) / sizeof(*groups))];
            if (round % 7 == 0 && g < 5)
                w = 0; /* the IPv4-compatible and -mapped prefixes, often */
            a[2 * g] = (uint8_t)(w >> 8);
            a[2 * g + 1] = (uint8_t)w;
        }
        ASSERT(inet_ntop(AF_INET6, a, want, sizeof(want)) != NULL);
        size_t n = ip_format(6, a, got);
        ASSERT_EQ(n, strlen(want));
        ASSERT_STREQ(got, want);
    }
    ASSERT_EQ(ip_format(0, a, got), 0);
    ASSERT_STREQ(got, "");
}

TEST_MAIN(time_format_and_parse, time_parse_rejects, duration_parse, time_round_trip_many,
          severity_scale, strerror_texts, utf8, uuid_text, attributes_sorted_typed_replaced,
          set_text_parses_declared_types, limits, custom_event_declarations,
          lookups_with_counted_names, every_missing_attribute_named, producer_time_against_arrival,
          ip_text_as_inet_ntop)
