/*
 * test_syslog.c - the RFC 5424 encoder: exact messages, PRI, nil values,
 * MSGID cut, SD-PARAM escaping, the k.N/a.N form for keys that cannot be
 * PARAM-NAMEs, control characters under both framings, octet counting and
 * bad options. sd_read() is a small reader of the structured data that
 * checks what an RFC 5424 receiver would get back.
 *
 * Not here: reading syslog messages (the daemon's input has its own tests).
 */
#include "harness.h"
#include "trail.h"

#include <errno.h>

static struct trail_catalog *cat(void)
{
    static struct trail_catalog *c;
    if (!c) {
        if (trail_catalog_new(&c) != 0 ||
            trail_catalog_add(c, "test_syslog_ev", "ERROR", "A test\nevent", "n:int, s:string") !=
                0 ||
            trail_catalog_set_policy(c, TRAIL_POLICY_LENIENT) != 0)
            abort();
    }
    return c;
}

/* One SD-PARAM read back: name and unescaped value. */
struct sd_param {
    char name[64];
    char value[512];
    size_t value_len;
};

/*
 * Read the SD-ELEMENT that starts at the first '[' of msg: its SD-ID into
 * sd_id and up to max params. Returns the number of params, or -1 when the
 * element is malformed (RFC 5424 section 6.3).
 */
static int sd_read(const char *msg, char sd_id[64], struct sd_param *params, int max)
{
    const char *p = strchr(msg, '[');
    if (!p)
        return -1;
    p++;
    size_t n = strcspn(p, " ]");
    if (n == 0 || n > 32)
        return -1;
    memcpy(sd_id, p, n);
    sd_id[n] = '\0';
    p += n;
    int count = 0;
    while (*p == ' ') {
        p++;
        size_t nl = strcspn(p, "= ]\"");
        if (nl == 0 || nl > 32 || p[nl] != '=' || p[nl + 1] != '"' || count == max)
            return -1;
        struct sd_param *sp = &params[count++];
        memcpy(sp->name, p, nl);
        sp->name[nl] = '\0';
        p += nl + 2;
        sp->value_len = 0;
        while (*p && *p != '"') {
            char c = *p++;
            if (c == '\\' && (*p == '"' || *p == '\\' || *p == ']'))
                c = *p++;
            else if (c == ']')
                return -1; /* an unescaped ']' inside a value */
            if (sp->value_len + 1 >= sizeof(sp->value))
                return -1;
            sp->value[sp->value_len++] = c;
        }
        if (*p != '"')
            return -1;
        sp->value[sp->value_len] = '\0';
        p++;
    }
    return *p == ']' ? count : -1;
}

TEST(encode_exact)
{
    struct trail_event *ev;
    struct trail_buf b = {0};
    uint8_t u[16] = {0};
    u[15] = 1;
    ASSERT_OK(trail_event_new(cat(), "test_syslog_ev", &ev));
    trail_event_set_time(ev, 1764000000150000LL);
    ASSERT_OK(trail_event_set_host(ev, "idp-node1", (size_t)-1));
    trail_event_set_seq(ev, 9);
    trail_event_set_uuid(ev, u);
    ASSERT_OK(trail_event_set_int(ev, "n", 3));
    ASSERT_OK(trail_event_set_string(ev, "s", "a \"b\" \\c] d", (size_t)-1));
    ASSERT_OK(trail_event_to_syslog(ev, NULL, &b));
    /* facility 13 * 8 + ERROR (syslog 3) */
    ASSERT_STREQ(b.data, "<107>1 2025-11-24T16:00:00.150000Z idp-node1 trail - test_syslog_ev "
                         "[trail@32473 id=\"test_syslog_ev\" seq=\"9\" "
                         "uuid=\"00000000-0000-0000-0000-000000000001\" n=\"3\" "
                         "s=\"a \\\"b\\\" \\\\c\\] d\"] A test\\u000aevent");
    char sd_id[64];
    struct sd_param params[8];
    ASSERT_EQ(sd_read(b.data, sd_id, params, 8), 5);
    ASSERT_STREQ(sd_id, "trail@32473");
    ASSERT_STREQ(params[4].name, "s");
    ASSERT_STREQ(params[4].value, "a \"b\" \\c] d");
    trail_buf_free(&b);
    trail_event_free(ev);
}

TEST(encode_nil_values_and_options)
{
    struct trail_event *ev;
    struct trail_buf b = {0};
    struct trail_syslog_opts opts = {.facility = 4, .app = "my app", .sd_id = "ev@1"};
    ASSERT_OK(trail_event_new(cat(), "a_rather_long_event_id_of_forty_one_bytes", &ev));
    ASSERT_OK(trail_event_set_severity(ev, TRAIL_SEV_TRACE));
    ASSERT_OK(trail_event_to_syslog(ev, &opts, &b));
    /* unknown id: no MSG; MSGID cut to 32 */
    ASSERT_STREQ(b.data, "<39>1 - - my_app - a_rather_long_event_id_of_forty_ [ev@1 "
                         "id=\"a_rather_long_event_id_of_forty_one_bytes\"]");
    trail_buf_reset(&b);
    opts.facility = 24;
    ASSERT_EQ(trail_event_to_syslog(ev, &opts, &b), -EINVAL);
    opts.facility = 0;
    opts.sd_id = "bad id";
    ASSERT_EQ(trail_event_to_syslog(ev, &opts, &b), -EINVAL);
    opts.sd_id = "";
    ASSERT_EQ(trail_event_to_syslog(ev, &opts, &b), -EINVAL);
    ASSERT_EQ(b.len, 0);
    trail_buf_free(&b);
    trail_event_free(ev);
}

TEST(keys_that_are_not_param_names)
{
    struct trail_event *ev;
    struct trail_buf b = {0};
    ASSERT_OK(trail_event_new(cat(), "test_syslog_ev", &ev));
    ASSERT_OK(trail_event_set_string(ev, "id", "mine", 4));
    ASSERT_OK(trail_event_set_string(ev, "a.1", "x", 1));
    ASSERT_OK(trail_event_set_string(ev, "a.1b", "y", 1));
    ASSERT_OK(trail_event_set_string(ev, "key_of_thirty_three_bytes_exactly", "z", 1));
    ASSERT_OK(trail_event_set_string(ev, "key_of_thirty_two_bytes_exactly_", "w", 1));
    ASSERT_OK(trail_event_set_int(ev, "seq", 5));
    ASSERT_OK(trail_event_to_syslog(ev, NULL, &b));
    ASSERT_STREQ(b.data, "<107>1 - - trail - test_syslog_ev [trail@32473 id=\"test_syslog_ev\" "
                         "k.1=\"a.1\" a.1=\"x\" a.1b=\"y\" k.2=\"id\" a.2=\"mine\" "
                         "k.3=\"key_of_thirty_three_bytes_exactly\" a.3=\"z\" "
                         "key_of_thirty_two_bytes_exactly_=\"w\" k.4=\"seq\" a.4=\"5\"] "
                         "A test\\u000aevent");
    char sd_id[64];
    struct sd_param params[16];
    ASSERT_EQ(sd_read(b.data, sd_id, params, 16), 11);
    trail_buf_free(&b);
    trail_event_free(ev);
}

TEST(control_characters_and_framing)
{
    struct trail_event *ev;
    struct trail_buf b = {0};
    ASSERT_OK(trail_event_new(cat(), "test_syslog_ev", &ev));
    ASSERT_OK(trail_event_set_string(ev, "s", "x\n<13>1 - forged\r\t\x7f\xc3\xa9", (size_t)-1));
    ASSERT_OK(trail_event_to_syslog(ev, NULL, &b));
    ASSERT_STREQ(b.data,
                 "<107>1 - - trail - test_syslog_ev [trail@32473 id=\"test_syslog_ev\" "
                 "s=\"x\\u000a<13>1 - forged\\u000d\\u0009\\u007f\xc3\xa9\"] A test\\u000aevent");
    trail_buf_reset(&b);
    struct trail_syslog_opts opts = {.octet_count = 1};
    ASSERT_OK(trail_buf_append(&b, "prev", 4));
    ASSERT_OK(trail_event_to_syslog(ev, &opts, &b));
    static const char msg[] =
        "<107>1 - - trail - test_syslog_ev [trail@32473 id=\"test_syslog_ev\" "
        "s=\"x\\u000a<13>1 - forged\\u000d\\u0009\\u007f\xc3\xa9\"] A test\\u000aevent";
    char want[256];
    snprintf(want, sizeof(want), "prev%zu %s", strlen(msg), msg);
    ASSERT_STREQ(b.data, want);
    char sd_id[64];
    struct sd_param params[4];
    ASSERT_EQ(sd_read(b.data, sd_id, params, 4), 2);
    ASSERT_STREQ(params[1].value, "x\\u000a<13>1 - forged\\u000d\\u0009\\u007f\xc3\xa9");
    /* with octet counting too: no raw line break a receiver splitting on LF could cut at */
    ASSERT(memchr(b.data, '\n', b.len) == NULL && memchr(b.data, '\r', b.len) == NULL);
    char back[64];
    size_t bl = trail_syslog_sd_unescape(params[1].value, params[1].value_len, back);
    ASSERT_EQ(bl, strlen("x\n<13>1 - forged\r\t\x7f\xc3\xa9"));
    ASSERT(memcmp(back, "x\n<13>1 - forged\r\t\x7f\xc3\xa9", bl) == 0);
    trail_buf_free(&b);
    trail_event_free(ev);
}

TEST(value_types_and_host)
{
    struct trail_catalog *c;
    struct trail_event *ev;
    struct trail_buf b = {0};
    ASSERT_OK(trail_catalog_new(&c));
    ASSERT_OK(trail_catalog_add(c, "typed", "INFO", "typed", "b:bool, ip:ip, t:time"));
    ASSERT_OK(trail_event_new(c, "typed", &ev));
    ASSERT_OK(trail_event_set_bool(ev, "b", 1));
    ASSERT_OK(trail_event_set_ip(ev, "ip", "::ffff:192.0.2.1", (size_t)-1));
    ASSERT_OK(trail_event_set_time_attr(ev, "t", 1000001));
    ASSERT_OK(trail_event_set_host(ev, "h\xc3\xa4st 1", (size_t)-1));
    ASSERT_OK(trail_event_to_syslog(ev, NULL, &b));
    ASSERT_STREQ(b.data, "<110>1 - h__st_1 trail - typed [trail@32473 id=\"typed\" b=\"true\" "
                         "ip=\"::ffff:192.0.2.1\" t=\"1970-01-01T00:00:01.000001Z\"] typed");
    trail_buf_free(&b);
    trail_event_free(ev);
    trail_catalog_free(c);
}

TEST_MAIN(encode_exact, encode_nil_values_and_options, keys_that_are_not_param_names,
          control_characters_and_framing, value_types_and_host)
