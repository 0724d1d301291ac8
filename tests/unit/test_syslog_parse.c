/*
 * test_syslog_parse.c - RFC 5424 and RFC 3164 parsing, structured data,
 * RFC 6587 framing, and events carried in syslog (lib/codec/syslog_parse.c).
 */
#include "harness.h"
#include "trail.h"

#define S(lit) lit, sizeof(lit) - 1

static int span_eq(const char *p, size_t n, const char *want)
{
    return strlen(want) == n && (n == 0 || memcmp(p, want, n) == 0);
}

TEST(rfc5424_full)
{
    struct trail_syslog_msg m;
    ASSERT_OK(trail_syslog_parse(
        S("<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
          "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] "
          "\xEF\xBB\xBF"
          "An application event log entry..."),
        &m));
    ASSERT_EQ(m.rfc, 5424);
    ASSERT_EQ(m.facility, 20);
    ASSERT_EQ(m.severity, 5);
    ASSERT_EQ(m.time_us, 1065910455003000LL);
    ASSERT(span_eq(m.host, m.host_len, "mymachine.example.com"));
    ASSERT(span_eq(m.app, m.app_len, "evntslog"));
    ASSERT_EQ(m.procid_len, 0);
    ASSERT(span_eq(m.msgid, m.msgid_len, "ID47"));
    ASSERT(span_eq(m.msg, m.msg_len, "An application event log entry..."));
    ASSERT(span_eq(m.sd, m.sd_len,
                   "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]"));
}

TEST(rfc5424_nil_fields_and_no_msg)
{
    struct trail_syslog_msg m;
    ASSERT_OK(trail_syslog_parse(S("<0>1 - - - - - -"), &m));
    ASSERT_EQ(m.rfc, 5424);
    ASSERT_EQ(m.time_us, 0);
    ASSERT_EQ(m.host_len, 0);
    ASSERT_EQ(m.sd_len, 0);
    ASSERT_EQ(m.msg_len, 0);
}

TEST(rfc5424_malformed)
{
    struct trail_syslog_msg m;
    /* bad PRI, bad timestamp, field too long, unterminated SD, SD without space */
    ASSERT_EQ(trail_syslog_parse_5424(S("<192>1 - - - - - -"), &m), TRAIL_E_PARSE);
    ASSERT_EQ(trail_syslog_parse_5424(S("<01>1 - - - - - -"), &m), TRAIL_E_PARSE);
    ASSERT_EQ(trail_syslog_parse_5424(S("<13>1 yesterday h a p m -"), &m), TRAIL_E_PARSE);
    ASSERT_EQ(trail_syslog_parse_5424(S("<13>1 - h a p "
                                        "m234567890123456789012345678901234 -"),
                                      &m),
              TRAIL_E_PARSE);
    ASSERT_EQ(trail_syslog_parse_5424(S("<13>1 - h a p m [x a=\"1\""), &m), TRAIL_E_PARSE);
    ASSERT_EQ(trail_syslog_parse_5424(S("<13>1 - h a p m [x a=\"1\"]msg"), &m), TRAIL_E_PARSE);
    ASSERT_EQ(trail_syslog_parse_5424(S("<13>1 - h a p m [x a=1]"), &m), TRAIL_E_PARSE);
    ASSERT_EQ(trail_syslog_parse_5424(S("<13>1 - h a p"), &m), TRAIL_E_PARSE);
}

TEST(structured_data_cursor)
{
    struct trail_syslog_msg m;
    ASSERT_OK(trail_syslog_parse(
        S("<13>1 - h a - m [one x=\"1\" y=\"a\\\"b\\]c\\\\d\\e\"][two@1][three z=\"\"] text"), &m));
    struct trail_syslog_sd sd;
    const char *id, *n, *v;
    size_t il, nl, vl;
    char buf[64];
    trail_syslog_sd_init(&sd, m.sd, m.sd_len);
    ASSERT_EQ(trail_syslog_sd_next_element(&sd, &id, &il), 1);
    ASSERT(span_eq(id, il, "one"));
    ASSERT_EQ(trail_syslog_sd_next_param(&sd, &n, &nl, &v, &vl), 1);
    ASSERT(span_eq(n, nl, "x") && span_eq(v, vl, "1"));
    ASSERT_EQ(trail_syslog_sd_next_param(&sd, &n, &nl, &v, &vl), 1);
    ASSERT(span_eq(n, nl, "y"));
    size_t ul = trail_syslog_sd_unescape(v, vl, buf);
    ASSERT(span_eq(buf, ul, "a\"b]c\\d\\e"));
    ASSERT_EQ(trail_syslog_sd_next_param(&sd, &n, &nl, &v, &vl), 0);
    ASSERT_EQ(trail_syslog_sd_next_element(&sd, &id, &il), 1);
    ASSERT(span_eq(id, il, "two@1"));
    /* skipping an element's params works */
    ASSERT_EQ(trail_syslog_sd_next_element(&sd, &id, &il), 1);
    ASSERT(span_eq(id, il, "three"));
    ASSERT_EQ(trail_syslog_sd_next_param(&sd, &n, &nl, &v, &vl), 1);
    ASSERT_EQ(vl, 0);
    ASSERT_EQ(trail_syslog_sd_next_element(&sd, &id, &il), 0);
    ASSERT(span_eq(m.msg, m.msg_len, "text"));
}

TEST(rfc3164_classic)
{
    struct trail_syslog_msg m;
    ASSERT_OK(trail_syslog_parse(S("<34>Oct 11 22:14:15 mymachine su[230]: 'su root' failed"), &m));
    ASSERT_EQ(m.rfc, 3164);
    ASSERT_EQ(m.facility, 4);
    ASSERT_EQ(m.severity, 2);
    ASSERT_NE(m.time_us, 0);
    ASSERT(span_eq(m.host, m.host_len, "mymachine"));
    ASSERT(span_eq(m.app, m.app_len, "su"));
    ASSERT(span_eq(m.procid, m.procid_len, "230"));
    ASSERT(span_eq(m.msg, m.msg_len, "'su root' failed"));
    ASSERT(span_eq(m.content, m.content_len, "su[230]: 'su root' failed"));
}

TEST(rfc3164_variants)
{
    struct trail_syslog_msg m;
    /* single-digit day padded with a space */
    ASSERT_OK(trail_syslog_parse(S("<13>Feb  5 17:32:18 10.0.0.99 myapp: hello"), &m));
    ASSERT(span_eq(m.host, m.host_len, "10.0.0.99"));
    ASSERT(span_eq(m.app, m.app_len, "myapp"));
    ASSERT(span_eq(m.msg, m.msg_len, "hello"));
    /* no hostname: the first word is the tag */
    ASSERT_OK(trail_syslog_parse(S("<13>Feb  5 17:32:18 myapp[12]: hi"), &m));
    ASSERT_EQ(m.host_len, 0);
    ASSERT(span_eq(m.app, m.app_len, "myapp"));
    /* an RFC 3339 timestamp, as rsyslog's forwarding formats write it */
    ASSERT_OK(trail_syslog_parse(S("<13>2025-04-23T16:14:23.508+02:00 idp1 pas: x"), &m));
    ASSERT_EQ(m.rfc, 3164);
    ASSERT_EQ(m.time_us, 1745417663508000LL);
    ASSERT(span_eq(m.host, m.host_len, "idp1"));
    ASSERT(span_eq(m.msg, m.msg_len, "x"));
    /* no timestamp at all: everything is content */
    ASSERT_OK(trail_syslog_parse(S("<13>just text"), &m));
    ASSERT_EQ(m.time_us, 0);
    ASSERT(span_eq(m.msg, m.msg_len, "just text"));
    /* PRI is required */
    ASSERT_EQ(trail_syslog_parse(S("Feb  5 17:32:18 h a: b"), &m), TRAIL_E_PARSE);
    ASSERT_EQ(trail_syslog_parse(S("<1000>x"), &m), TRAIL_E_PARSE);
}

/* Run a framer over a stream fed in pieces of `step` bytes; collect messages joined by '|'. */
static int frame_all(int mode, size_t max, const char *stream, size_t step, char *out, size_t outsz,
                     int *ret_errors)
{
    struct trail_syslog_framer f;
    trail_syslog_framer_init(&f, mode, max);
    char buf[4096];
    size_t have = 0, fed = 0, total = strlen(stream);
    int n = 0;
    out[0] = '\0';
    *ret_errors = 0;
    while (fed < total || have > 0) {
        size_t add = total - fed < step ? total - fed : step;
        memcpy(buf + have, stream + fed, add);
        have += add;
        fed += add;
        for (;;) {
            const char *msg;
            size_t len, used;
            int r = trail_syslog_framer_next(&f, buf, have, &msg, &len, &used);
            if (r == 1) {
                strncat(out, msg, len < outsz - strlen(out) - 2 ? len : 0);
                strcat(out, "|");
                n++;
            } else if (r < 0) {
                (*ret_errors)++;
            }
            memmove(buf, buf + used, have - used);
            have -= used;
            if (r == 0 && used == 0)
                break;
        }
        if (fed == total) {
            const char *msg;
            size_t len;
            int r = trail_syslog_framer_flush(&f, buf, have, &msg, &len);
            if (r == 1) {
                strncat(out, msg, len);
                strcat(out, "|");
                n++;
            } else if (r < 0) {
                (*ret_errors)++;
            }
            have = 0;
        }
    }
    return n;
}

TEST(framing_octet_counting_and_lf)
{
    char out[1024];
    int errors;
    const char *stream = "5 <1>ab3 <2>\n<3>lf one\r\n<4>lf two\n10 <5>1 - x y";
    for (size_t step = 1; step <= 64; step *= 2) {
        ASSERT_EQ(frame_all(TRAIL_FRAME_AUTO, 100, stream, step, out, sizeof(out), &errors), 5);
        ASSERT_STREQ(out, "<1>ab|<2>|<3>lf one|<4>lf two|<5>1 - x y|");
        ASSERT_EQ(errors, 0);
    }
}

TEST(framing_oversize_and_bad_count)
{
    char out[1024];
    int errors;
    /* an oversize counted frame is skipped whole; an oversize line up to its LF */
    const char *stream = "20 <1>aaaaaaaaaaaaaaaaa5 <2>ok\n<3>bbbbbbbbbbbbbbbbbbbbbbbbbbb\n<4>ok\n";
    for (size_t step = 1; step <= 64; step *= 2) {
        ASSERT_EQ(frame_all(TRAIL_FRAME_AUTO, 10, stream, step, out, sizeof(out), &errors), 2);
        ASSERT_STREQ(out, "<2>ok|<4>ok|");
        ASSERT_EQ(errors, 2);
    }
    /* a malformed length discards to the next LF and goes on */
    ASSERT_EQ(frame_all(TRAIL_FRAME_AUTO, 100, "12x bad\n<1>good\n", 3, out, sizeof(out), &errors),
              1);
    ASSERT_STREQ(out, "<1>good|");
    ASSERT_EQ(errors, 1);
    /* LF mode never reads a count: a line starting with a digit is a line */
    ASSERT_EQ(frame_all(TRAIL_FRAME_LF, 100, "12 abc\nCEF:0|x\n", 4, out, sizeof(out), &errors), 2);
    ASSERT_STREQ(out, "12 abc|CEF:0|x|");
    /* a stream ending mid-frame: the last line is flushed, a cut counted frame is an error */
    ASSERT_EQ(frame_all(TRAIL_FRAME_AUTO, 100, "<1>a\n<2>tail", 5, out, sizeof(out), &errors), 2);
    ASSERT_STREQ(out, "<1>a|<2>tail|");
    ASSERT_EQ(frame_all(TRAIL_FRAME_AUTO, 100, "30 <1>short", 5, out, sizeof(out), &errors), 0);
    ASSERT_EQ(errors, 1);
}

TEST(framing_messages_run_together)
{
    char out[2048];
    int errors;
    /* two RFC 5424 messages with no LF between them (log4j2's SyslogAppender over TCP) */
    const char *m1 = "<134>1 2026-11-24T08:59:58.150+01:00 idp1 pas 4242 prism_user_locked "
                     "[trail@32473 duser=\"alice\" phxTraceId=\"#A1\"] User alice locked";
    const char *m2 = "<134>1 2026-11-24T08:59:58.151+01:00 idp1 pas 4242 prism_user_locked "
                     "[trail@32473 duser=\"bob\" phxTraceId=\"#B2\"] User bob locked";
    char stream[1024], want[1024];
    snprintf(stream, sizeof(stream), "%s%s", m1, m2);
    snprintf(want, sizeof(want), "%s|%s|", m1, m2);
    for (size_t step = 1; step <= 512; step *= 2) {
        ASSERT_EQ(frame_all(TRAIL_FRAME_AUTO, 1000, stream, step, out, sizeof(out), &errors), 2);
        ASSERT_STREQ(out, want);
        ASSERT_EQ(errors, 0);
    }
    /* three, the middle one with no SD and no MSG, then an LF-ended one */
    const char *three = "<13>1 - h a - - - one<14>1 - h a - - -<15>1 2026-01-01T00:00:00Z h a - - "
                        "[x@1 k=\"v\"] three\n<16>1 - h a - - - four\n";
    for (size_t step = 1; step <= 128; step *= 2) {
        ASSERT_EQ(frame_all(TRAIL_FRAME_AUTO, 1000, three, step, out, sizeof(out), &errors), 4);
        ASSERT_STREQ(out, "<13>1 - h a - - - one|<14>1 - h a - - -|<15>1 2026-01-01T00:00:00Z h "
                          "a - - [x@1 k=\"v\"] three|<16>1 - h a - - - four|");
    }
    /* a header quoted in an SD-PARAM value is inside the message: no split there */
    const char *quoted = "<13>1 - h a - - [x@1 raw=\"<134>1 - h a - - - not a message\"] msg\n";
    ASSERT_EQ(frame_all(TRAIL_FRAME_AUTO, 1000, quoted, 7, out, sizeof(out), &errors), 1);
    ASSERT_EQ(strlen(out), strlen(quoted)); /* the message and '|' for its LF */
    /* in MSG, only a whole valid header splits: a bad PRI, VERSION or TIMESTAMP does not */
    const char *near = "<13>1 - h a - - - a <1000>1 - h a - - - b <13>0 - h a - - - c "
                       "<13>1 yesterday h a - - - d <13>1 - h a - -\n";
    ASSERT_EQ(frame_all(TRAIL_FRAME_AUTO, 1000, near, 5, out, sizeof(out), &errors), 1);
    /* a frame that is not RFC 5424 is never split, nor is an octet-counted one, nor LF mode */
    const char *bsd = "<13>Feb  5 17:32:18 h a: x <13>1 - h a - - - y\n";
    ASSERT_EQ(frame_all(TRAIL_FRAME_AUTO, 1000, bsd, 5, out, sizeof(out), &errors), 1);
    const char *counted = "38 <13>1 - h a - - - a<13>1 - h a - - - b";
    ASSERT_EQ(frame_all(TRAIL_FRAME_AUTO, 1000, counted, 5, out, sizeof(out), &errors), 1);
    ASSERT_STREQ(out, "<13>1 - h a - - - a<13>1 - h a - - - b|");
    ASSERT_EQ(frame_all(TRAIL_FRAME_LF, 1000, "<13>1 - h a - - - a<13>1 - h a - - - b\n", 5, out,
                        sizeof(out), &errors),
              1);
    /* a message over max_frame is skipped up to the next header, and the next one kept */
    const char *big = "<13>1 - h a - - - xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                      "<13>1 - h a - - - ok";
    for (size_t step = 1; step <= 64; step *= 2) {
        ASSERT_EQ(frame_all(TRAIL_FRAME_AUTO, 40, big, step, out, sizeof(out), &errors), 1);
        ASSERT_STREQ(out, "<13>1 - h a - - - ok|");
        ASSERT_EQ(errors, 1);
    }
}

static struct trail_catalog *catalog(void)
{
    static struct trail_catalog *cat;
    if (!cat) {
        trail_catalog_new(&cat);
        trail_catalog_add(cat, "acme_badge_swiped", "INFO", "A badge was swiped.",
                          "duser:string:required, door:string, src:ip, seq:string, a.7:string, "
                          "k.2.1:string, "
                          "the_key_that_is_longer_than_thirty_two:string");
    }
    return cat;
}

static const char *attr(const struct trail_event *ev, const char *key, char *buf, size_t n)
{
    struct trail_value v;
    if (trail_event_attr_get(ev, key, &v) < 0)
        return NULL;
    trail_value_format(&v, buf, n);
    return buf;
}

TEST(event_from_structured_data)
{
    struct trail_event *ev = NULL;
    char err[256], buf[128];
    const char *m = "<110>1 2026-11-24T08:59:58.150000Z idp1 trail - acme_badge_swiped "
                    "[trail@32473 id=\"acme_badge_swiped\" seq=\"9\" "
                    "uuid=\"0b7e2c1a-4f6d-4e8a-9c3b-2d1e0f9a8b7c\" door=\"B\\]2\" "
                    "duser=\"alice\" src=\"203.0.113.7\"] A badge was swiped.";
    ASSERT_OK(trail_event_from_syslog(catalog(), m, strlen(m), &ev, err, sizeof(err)));
    ASSERT_STREQ(trail_event_id(ev), "acme_badge_swiped");
    ASSERT_STREQ(trail_event_host(ev), "idp1");
    ASSERT_EQ(trail_event_time(ev), 1795510798150000LL);
    ASSERT_EQ(trail_event_seq(ev), 0);
    ASSERT_STREQ(attr(ev, "door", buf, sizeof(buf)), "B]2");
    ASSERT_STREQ(attr(ev, "duser", buf, sizeof(buf)), "alice");
    ASSERT_OK(trail_event_validate(ev));
    uint8_t u[16];
    ASSERT_OK(trail_event_uuid(ev, u));
    ASSERT_EQ(u[0], 0x0b);
    trail_event_free(ev);
}

TEST(event_from_structured_data_msgid_and_odd_keys)
{
    struct trail_event *ev = NULL;
    char err[256], buf[128];
    const char *m = "<110>1 - - - - acme_badge_swiped [trail@32473 duser=\"bob\" "
                    "k.1=\"the_key_that_is_longer_than_thirty_two\" a.1=\"x y\"]";
    ASSERT_OK(trail_event_from_syslog(catalog(), m, strlen(m), &ev, err, sizeof(err)));
    ASSERT_STREQ(trail_event_id(ev), "acme_badge_swiped");
    ASSERT_STREQ(attr(ev, "the_key_that_is_longer_than_thirty_two", buf, sizeof(buf)), "x y");
    trail_event_free(ev);
    /* an a.N without its k.N is an error that says so */
    m = "<110>1 - - - - acme_badge_swiped [trail@32473 duser=\"bob\" a.3=\"x\"]";
    ev = NULL;
    ASSERT_EQ(trail_event_from_syslog(catalog(), m, strlen(m), &ev, err, sizeof(err)),
              TRAIL_E_PARSE);
    ASSERT(ev == NULL);
    ASSERT(strstr(err, "a.3") != NULL);
}

TEST(event_from_structured_data_bad_values)
{
    struct trail_event *ev = NULL;
    char err[256];
    const char *m = "<110>1 - - - - acme_badge_swiped [trail@32473 duser=\"bob\" "
                    "src=\"not-an-ip\"]";
    ASSERT_EQ(trail_event_from_syslog(catalog(), m, strlen(m), &ev, err, sizeof(err)),
              TRAIL_E_BAD_TYPE);
    ASSERT(strstr(err, "src") != NULL);
    m = "<110>1 - - - - - [trail@32473 duser=\"bob\"]";
    ASSERT_EQ(trail_event_from_syslog(catalog(), m, strlen(m), &ev, err, sizeof(err)),
              TRAIL_E_BAD_ID);
    ASSERT(strstr(err, "no id") != NULL);
    m = "<110>1 - - - - acme_badge_swiped [trail@32473 duser=\"bob\" k.1=\"bad key\" "
        "a.1=\"v\"]";
    ASSERT_EQ(trail_event_from_syslog(catalog(), m, strlen(m), &ev, err, sizeof(err)),
              TRAIL_E_BAD_KEY);
    ASSERT(strstr(err, "'bad key'") != NULL);
    m = "<110>1 - - - - acme_badge_swiped [trail@32473 duser=\"bob\" fo@o=\"v\"]";
    ASSERT_EQ(trail_event_from_syslog(catalog(), m, strlen(m), &ev, err, sizeof(err)),
              TRAIL_E_BAD_KEY);
    m = "<110>1 - - - - x [trail@32473 uuid=\"nope\"]";
    ASSERT_EQ(trail_event_from_syslog(catalog(), m, strlen(m), &ev, err, sizeof(err)),
              TRAIL_E_PARSE);
    ASSERT(strstr(err, "uuid") != NULL);
}

TEST(event_from_json_and_cef_payloads)
{
    struct trail_event *ev = NULL;
    char err[256], buf[128];
    const char *m = "<13>1 2026-11-24T08:59:58Z idp2 app - - - "
                    "{\"id\":\"acme_badge_swiped\",\"attrs\":{\"duser\":\"carol\"}}";
    ASSERT_OK(trail_event_from_syslog(catalog(), m, strlen(m), &ev, err, sizeof(err)));
    ASSERT_STREQ(trail_event_id(ev), "acme_badge_swiped");
    ASSERT_STREQ(trail_event_host(ev), "idp2"); /* from HOSTNAME */
    ASSERT_EQ(trail_event_time(ev), 1795510798000000LL);
    ASSERT_STREQ(attr(ev, "duser", buf, sizeof(buf)), "carol");
    trail_event_free(ev);
    ev = NULL;

    /* CEF after an RFC 3164 tag */
    m = "<134>Apr 23 16:14:23 idp1 pas: CEF:0|PhenixID|PAS|6.0.0|acme_badge_swiped|"
        "A badge was swiped.|3|door=7 duser=dave";
    ASSERT_OK(trail_event_from_syslog(catalog(), m, strlen(m), &ev, err, sizeof(err)));
    ASSERT_STREQ(trail_event_id(ev), "acme_badge_swiped");
    ASSERT_STREQ(attr(ev, "duser", buf, sizeof(buf)), "dave");
    ASSERT_STREQ(trail_event_host(ev), "idp1");
    trail_event_free(ev);
    ev = NULL;

    /* the whole event.log line as MSG */
    m = "<134>1 - relay - - - - 2025-04-23 16:14:23,508 [EVENT]  INFO: "
        "2025-04-23T16:14:23+02:00 idp9 CEF:0|PhenixID|PAS|6.0.0|acme_badge_swiped|"
        "A badge was swiped.|3|duser=erin";
    ASSERT_OK(trail_event_from_syslog(catalog(), m, strlen(m), &ev, err, sizeof(err)));
    ASSERT_STREQ(trail_event_host(ev), "idp9");
    ASSERT_EQ(trail_event_time(ev) / 1000000, 1745417663LL);
    trail_event_free(ev);
    ev = NULL;

    /* malformed JSON names the problem; plain text says what was looked for */
    m = "<13>1 - h a - - - {\"id\":";
    ASSERT_EQ(trail_event_from_syslog(catalog(), m, strlen(m), &ev, err, sizeof(err)),
              TRAIL_E_PARSE);
    ASSERT(err[0] != '\0');
    m = "<13>Apr 23 16:14:23 host app: user logged in";
    ASSERT_EQ(trail_event_from_syslog(catalog(), m, strlen(m), &ev, err, sizeof(err)),
              TRAIL_E_PARSE);
    ASSERT(strstr(err, "no trail event") != NULL);
    m = "garbage";
    ASSERT_EQ(trail_event_from_syslog(catalog(), m, strlen(m), &ev, err, sizeof(err)),
              TRAIL_E_PARSE);
    ASSERT(strstr(err, "malformed") != NULL);
    ASSERT(ev == NULL);
}

TEST(event_round_trip_through_the_writer)
{
    struct trail_event *ev = NULL, *back = NULL;
    struct trail_buf out = {0};
    char err[256], buf[128];
    ASSERT_OK(trail_event_new(catalog(), "acme_badge_swiped", &ev));
    ASSERT_OK(trail_event_set_string(ev, "duser", "a\"b]c\\d", 7));
    ASSERT_OK(trail_event_set_string(ev, "the_key_that_is_longer_than_thirty_two", "v=1 ]", 5));
    ASSERT_OK(trail_event_set_string(ev, "seq", "not the seq", 11));
    /* keys that look like the writer's pair names, and one that only nearly does */
    ASSERT_OK(trail_event_set_string(ev, "a.7", "pair", 4));
    ASSERT_OK(trail_event_set_string(ev, "k.2.1", "plain", 5));
    ASSERT_OK(trail_event_set_host(ev, "idp1", 4));
    trail_event_set_time(ev, 1795510798150000LL);
    ASSERT_OK(trail_event_gen_uuid(ev));
    ASSERT_OK(trail_event_to_syslog(ev, NULL, &out));
    ASSERT_OK(trail_event_from_syslog(catalog(), out.data, out.len, &back, err, sizeof(err)));
    ASSERT_STREQ(attr(back, "duser", buf, sizeof(buf)), "a\"b]c\\d");
    ASSERT_STREQ(attr(back, "the_key_that_is_longer_than_thirty_two", buf, sizeof(buf)), "v=1 ]");
    ASSERT_STREQ(attr(back, "seq", buf, sizeof(buf)), "not the seq");
    ASSERT_STREQ(attr(back, "a.7", buf, sizeof(buf)), "pair");
    ASSERT_STREQ(attr(back, "k.2.1", buf, sizeof(buf)), "plain");
    ASSERT_EQ(trail_event_attr_count(back), trail_event_attr_count(ev));
    ASSERT_OK(trail_event_validate(back));
    ASSERT_EQ(trail_event_time(back), 1795510798150000LL);
    uint8_t u1[16], u2[16];
    ASSERT_OK(trail_event_uuid(ev, u1));
    ASSERT_OK(trail_event_uuid(back, u2));
    ASSERT_MEMEQ(u1, u2, 16);
    trail_event_free(ev);
    trail_event_free(back);
    trail_buf_free(&out);
}

TEST(event_over_the_size_limit)
{
    struct trail_catalog *cat;
    struct trail_limits lim = {.max_record_bytes = 300};
    struct trail_event *ev = NULL;
    char err[256], msg[512];
    ASSERT_OK(trail_catalog_new(&cat));
    ASSERT_OK(trail_catalog_set_limits(cat, &lim));
    memset(msg, 'x', sizeof(msg));
    memcpy(msg, "<13>1 - - - - - - ", 18);
    ASSERT_EQ(trail_event_from_syslog(cat, msg, sizeof(msg), &ev, err, sizeof(err)),
              TRAIL_E_TOO_LARGE);
    ASSERT(strstr(err, "512") != NULL);
    trail_catalog_free(cat);
}

TEST_MAIN(rfc5424_full, rfc5424_nil_fields_and_no_msg, rfc5424_malformed, structured_data_cursor,
          rfc3164_classic, rfc3164_variants, framing_octet_counting_and_lf,
          framing_oversize_and_bad_count, framing_messages_run_together, event_from_structured_data,
          event_from_structured_data_msgid_and_odd_keys, event_from_structured_data_bad_values,
          event_from_json_and_cef_payloads, event_round_trip_through_the_writer,
          event_over_the_size_limit)
