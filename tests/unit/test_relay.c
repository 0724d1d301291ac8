/*
 * test_relay.c - relayed events: a forwarding trail's stored JSON becomes a
 * hop of the event's via list (trail_event_parse_relayed_json), the list
 * survives the record (flag 0x08) and comes back in JSON, a chain of relays
 * adds hops in order, and what only a relay may say is dropped from anyone
 * else and refused where it is incomplete. docs/format.md "Relayed records".
 */
#include "harness.h"
#include "store/record.h"

#include <string.h>

static struct trail_catalog *cat;

/* An event as edge "site-a/trail" stored it and its trail sink sends it. */
static const char edge_json[] =
    "{\"id\":\"auth_logout_local\",\"time\":\"2026-11-24T08:59:58.150000Z\",\"host\":\"idp1\","
    "\"seq\":1042,\"uuid\":\"0b6f3f6e-3c1d-4b7a-9d2e-5f8a1c4e7b90\","
    "\"received\":\"2026-11-24T08:59:58.151200Z\",\"input\":\"syslog_tls\","
    "\"peer\":\"10.1.7.20:51514\",\"principal\":\"certificate idp1\","
    "\"attrs\":{\"duser\":\"alice\",\"phxTraceId\":\"#t\"}}";

static void json_of(const struct trail_event *ev, struct trail_buf *out)
{
    trail_buf_reset(out);
    ASSERT_OK(trail_event_to_json(ev, out));
}

TEST(relayed_hop_roundtrip)
{
    struct trail_event *ev, *back;
    char err[256];
    struct trail_buf out = {0};
    ASSERT_OK(trail_event_new(cat, NULL, &ev));
    ASSERT_OK(trail_event_new(cat, NULL, &back));
    ASSERT_OK(trail_event_parse_relayed_json(ev, edge_json, strlen(edge_json), "site-a/trail", err,
                                             sizeof(err)));
    ASSERT_EQ(trail_event_hops(ev), 1);
    /* the sender's provenance is the hop's, none of it the event's */
    ASSERT_EQ(trail_event_received(ev), 0);
    ASSERT_STREQ(trail_event_principal(ev), "");
    ASSERT_EQ(trail_event_seq(ev), 0);
    /* the receiver sets its own, and the store writes the record */
    ASSERT_OK(trail_event_set_input(ev, TRAIL_INPUT_HTTP, NULL, 0));
    ASSERT_OK(trail_event_set_principal(ev, "token edge-a", (size_t)-1));
    uint8_t id[16] = {0}, rec[4096];
    size_t size = record_size(ev);
    ASSERT(size < sizeof(rec));
    ASSERT_EQ(record_write(ev, 7, trail_event_time(ev), 5000000, rec), size);
    ASSERT(rec[18] & TRAIL_REC_F_RELAYED);
    ASSERT_OK(record_decode(rec, size, id, back));
    json_of(back, &out);
    ASSERT(strstr(out.data, "\"principal\":\"token edge-a\",\"via\":[{\"origin\":\"site-a/trail\","
                            "\"seq\":1042,\"received\":\"2026-11-24T08:59:58.151200Z\","
                            "\"input\":\"syslog_tls\",\"peer\":\"10.1.7.20:51514\","
                            "\"principal\":\"certificate idp1\"}]") != NULL);
    ASSERT(strstr(out.data, "\"uuid\":\"0b6f3f6e-3c1d-4b7a-9d2e-5f8a1c4e7b90\"") != NULL);
    /* a cut hop list is damage */
    ASSERT_EQ(record_decode(rec, size - 3, id, back), TRAIL_E_CORRUPT);

    /* the centre relays it on: its hop follows the edge's */
    struct trail_buf again = {0};
    json_of(back, &again);
    ASSERT_OK(trail_event_parse_relayed_json(ev, again.data, again.len, "centre/trail", err,
                                             sizeof(err)));
    ASSERT_EQ(trail_event_hops(ev), 2);
    json_of(ev, &out);
    const char *a = strstr(out.data, "\"origin\":\"site-a/trail\"");
    const char *b = strstr(out.data, "\"origin\":\"centre/trail\",\"seq\":7");
    ASSERT(a && b && a < b);
    ASSERT(strstr(out.data, "\"principal\":\"token edge-a\"}]") != NULL);

    /* JSON from any other sender: via and the provenance members are dropped */
    ASSERT_OK(trail_event_parse_json(ev, again.data, again.len, err, sizeof(err)));
    ASSERT_EQ(trail_event_hops(ev), 0);
    ASSERT_STREQ(trail_event_principal(ev), "");
    /* a stored event read back keeps them */
    struct trail_event *stored;
    ASSERT_OK(trail_event_from_stored_json(cat, again.data, again.len, &stored, err, sizeof(err)));
    ASSERT_EQ(trail_event_hops(stored), 1);
    trail_event_free(stored);
    trail_buf_free(&again);
    trail_buf_free(&out);
    trail_event_free(ev);
    trail_event_free(back);
}

TEST(relayed_refused)
{
    struct trail_event *ev;
    char err[256];
    ASSERT_OK(trail_event_new(cat, NULL, &ev));
    /* no uuid: the centre could not tell a retry from a new event */
    const char *no_uuid = "{\"id\":\"auth_logout_local\",\"seq\":3,\"received\":\"2026-11-24T08:"
                          "59:58Z\",\"input\":\"http\",\"attrs\":{}}";
    ASSERT_EQ(trail_event_parse_relayed_json(ev, no_uuid, strlen(no_uuid), "a", err, sizeof(err)),
              TRAIL_E_PARSE);
    ASSERT(strstr(err, "uuid") != NULL);
    /* trail's own records stay where they were written */
    const char *own = "{\"id\":\"trail_run_started\",\"seq\":3,\"uuid\":\"0b6f3f6e-3c1d-4b7a-"
                      "9d2e-5f8a1c4e7b90\",\"received\":\"2026-11-24T08:59:58Z\",\"input\":"
                      "\"trail\",\"origin\":\"trail\",\"attrs\":{}}";
    ASSERT_EQ(trail_event_parse_relayed_json(ev, own, strlen(own), "a", err, sizeof(err)),
              TRAIL_E_PARSE);
    /* an origin with a space is not one */
    ASSERT_EQ(
        trail_event_parse_relayed_json(ev, edge_json, strlen(edge_json), "a b", err, sizeof(err)),
        TRAIL_E_PARSE);
    /* a malformed hop is refused on every path */
    const char *bad = "{\"id\":\"auth_logout_local\",\"via\":[{\"origin\":\"x\",\"seq\":0,"
                      "\"received\":\"2026-11-24T08:59:58Z\",\"input\":\"http\"}],\"attrs\":{}}";
    ASSERT_EQ(trail_event_parse_json(ev, bad, strlen(bad), err, sizeof(err)), TRAIL_E_PARSE);
    trail_event_free(ev);
}

/* The hops as text (trail query's table): in order, and no hop can add a line or drive a terminal.
 */
TEST(via_text)
{
    static const char hostile[] =
        "{\"id\":\"auth_logout_local\",\"time\":\"2026-11-24T08:59:58Z\",\"seq\":5,"
        "\"uuid\":\"0b6f3f6e-3c1d-4b7a-9d2e-5f8a1c4e7b91\",\"received\":\"2026-11-24T08:59:58Z\","
        "\"input\":\"follow:pas\",\"principal\":\"token x\\n\\u001b[2Jy\",\"attrs\":{}}";
    struct trail_event *ev, *plain;
    char err[256];
    struct trail_buf out = {0};
    ASSERT_OK(trail_event_new(cat, NULL, &ev));
    ASSERT_OK(trail_event_new(cat, NULL, &plain));
    ASSERT_OK(trail_event_via_text(plain, &out));
    ASSERT_EQ(out.len, 0); /* no relay, no text */
    ASSERT_OK(trail_event_parse_relayed_json(ev, edge_json, strlen(edge_json), "site-a/trail", err,
                                             sizeof(err)));
    ASSERT_OK(trail_event_via_text(ev, &out));
    ASSERT_OK(trail_buf_append(&out, "", 1));
    ASSERT_STREQ(out.data, "site-a/trail#1042 syslog_tls@10.1.7.20:51514 certificate idp1");
    /* a second hop, whose principal holds a newline and an escape sequence */
    ASSERT_OK(trail_event_parse_relayed_json(ev, hostile, strlen(hostile), "centre/trail", err,
                                             sizeof(err)));
    trail_buf_reset(&out);
    ASSERT_OK(trail_event_via_text(ev, &out));
    ASSERT_OK(trail_buf_append(&out, "", 1));
    ASSERT_STREQ(out.data, "centre/trail#5 follow:pas token x\\n\\u001b[2Jy");
    for (size_t i = 0; i + 1 < out.len; i++)
        ASSERT((unsigned char)out.data[i] >= 0x20);
    trail_buf_free(&out);
    trail_event_free(ev);
    trail_event_free(plain);
}

int run(void);
int main(void)
{
    if (trail_catalog_new(&cat) < 0)
        return 1;
    int r = run();
    trail_catalog_free(cat);
    return r;
}

#define main run
TEST_MAIN(relayed_hop_roundtrip, relayed_refused, via_text)
