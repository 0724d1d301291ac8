/*
 * test_mapping.c - the OCSF Authentication (3002) and ECS mappings: exact
 * output for a known event, outcome and activity from the id's words,
 * escaping of hostile values, and that a failure leaves the buffer alone.
 *
 * Not here: the sinks that send the mapped JSON (tests/integration/sink_*.sh).
 */
#include "harness.h"
#include "trail.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct trail_catalog *cat;

static struct trail_event *saml_failed(void)
{
    struct trail_event *ev = NULL;
    if (!cat && trail_catalog_new(&cat) < 0)
        return NULL;
    trail_catalog_set_policy(cat, TRAIL_POLICY_LENIENT);
    if (trail_event_new(cat, "auth_entrypoints_saml_auth_failed", &ev) < 0)
        return NULL;
    trail_event_set_time(ev, 1795680000123456LL); /* 2026-11-26T08:00:00.123456Z */
    trail_event_set_seq(ev, 42);
    trail_event_set_host(ev, "idp1", 4);
    static const uint8_t u[16] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0x4d, 0xef,
                                  0x81, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
    trail_event_set_uuid(ev, u);
    trail_event_set_text(ev, "duser", (size_t)-1, "alice", 5);
    trail_event_set_text(ev, "src", (size_t)-1, "203.0.113.7", 11);
    trail_event_set_text(ev, "phxTraceId", (size_t)-1, "#YFTp4LhpTqezu06B", 17);
    trail_event_set_text(ev, "phxEntrypointId", (size_t)-1, "saml1", 5);
    trail_event_set_text(ev, "phxEntrypointType", (size_t)-1, "SAML", 4);
    trail_event_set_text(ev, "sourceServiceName", (size_t)-1, "https://sp.example", 18);
    trail_event_set_text(ev, "requestClientApplication", (size_t)-1, "Mozilla/5.0", 11);
    trail_event_set_text(ev, "reason", (size_t)-1, "bad password", 12);
    return ev;
}

static const char *expect_ocsf =
    "{\"class_uid\":3002,\"class_name\":\"Authentication\",\"category_uid\":3,"
    "\"category_name\":\"Identity & Access Management\",\"activity_id\":1,"
    "\"activity_name\":\"Logon\",\"type_uid\":300201,\"type_name\":\"Authentication: Logon\","
    "\"status_id\":2,\"status\":\"Failure\",\"status_detail\":\"bad password\","
    "\"severity_id\":3,\"severity\":\"Medium\",\"time\":1795680000123,"
    "\"time_dt\":\"2026-11-26T08:00:00.123456Z\",\"message\":\"%s\","
    "\"metadata\":{\"version\":\"1.1.0\",\"uid\":\"12345678-9abc-4def-8123-456789abcdef\","
    "\"sequence\":42,\"event_code\":\"auth_entrypoints_saml_auth_failed\","
    "\"correlation_uid\":\"#YFTp4LhpTqezu06B\",\"log_name\":\"trail\","
    "\"product\":{\"name\":\"trail\",\"vendor_name\":\"trail\",\"version\":\"" TRAIL_VERSION_STRING
    "\"}},"
    "\"user\":{\"name\":\"alice\"},\"src_endpoint\":{\"ip\":\"203.0.113.7\"},"
    "\"dst_endpoint\":{\"hostname\":\"idp1\",\"svc_name\":\"saml1\"},"
    "\"http_request\":{\"user_agent\":\"Mozilla/5.0\"},"
    "\"service\":{\"name\":\"https://sp.example\"},\"auth_protocol_id\":5,"
    "\"auth_protocol\":\"SAML\",\"unmapped\":{\"duser\":\"alice\",\"phxEntrypointId\":\"saml1\","
    "\"phxEntrypointType\":\"SAML\",\"phxTraceId\":\"#YFTp4LhpTqezu06B\",\"reason\":\"bad "
    "password\",\"requestClientApplication\":\"Mozilla/5.0\",\"sourceServiceName\":\"https://"
    "sp.example\",\"src\":\"203.0.113.7\"}}";

TEST(ocsf_exact)
{
    struct trail_event *ev = saml_failed();
    ASSERT(ev != NULL);
    struct trail_buf out = {0};
    ASSERT_OK(trail_event_to_ocsf(ev, &out));
    const struct trail_event_def *def = trail_event_def(ev);
    ASSERT(def != NULL);
    char want[4096];
    snprintf(want, sizeof(want), expect_ocsf, def->description);
    ASSERT_STREQ(out.data, want);
    trail_buf_free(&out);
    trail_event_free(ev);
}

TEST(ocsf_severity_matches_scale)
{
    struct trail_event *ev = saml_failed();
    ASSERT(ev != NULL);
    /* the catalog's severity of the event, through the documented table */
    int want = trail_severity_to_ocsf(trail_event_severity(ev));
    struct trail_buf out = {0};
    ASSERT_OK(trail_event_to_ocsf(ev, &out));
    char needle[32];
    snprintf(needle, sizeof(needle), "\"severity_id\":%d,", want);
    ASSERT(strstr(out.data, needle) != NULL);
    trail_buf_free(&out);
    trail_event_free(ev);
}

TEST(ecs_fields)
{
    struct trail_event *ev = saml_failed();
    ASSERT(ev != NULL);
    struct trail_buf out = {0};
    ASSERT_OK(trail_event_to_ecs(ev, &out));
    const char *must[] = {
        "{\"@timestamp\":\"2026-11-26T08:00:00.123456Z\",",
        "\"ecs\":{\"version\":\"8.11.0\"}",
        "\"event\":{\"kind\":\"event\",\"category\":[\"authentication\"],\"type\":[\"start\"],"
        "\"action\":\"auth_entrypoints_saml_auth_failed\","
        "\"code\":\"auth_entrypoints_saml_auth_failed\",\"outcome\":\"failure\",",
        "\"id\":\"12345678-9abc-4def-8123-456789abcdef\",\"sequence\":42,\"reason\":\"bad "
        "password\"",
        "\"host\":{\"name\":\"idp1\"}",
        "\"user\":{\"name\":\"alice\"}",
        "\"source\":{\"ip\":\"203.0.113.7\",\"address\":\"203.0.113.7\"}",
        "\"user_agent\":{\"original\":\"Mozilla/5.0\"}",
        "\"trace\":{\"id\":\"#YFTp4LhpTqezu06B\"}",
        "\"service\":{\"target\":{\"name\":\"https://sp.example\"}}",
        "\"trail\":{\"attrs\":{\"duser\":\"alice\",",
    };
    for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++) {
        if (!strstr(out.data, must[i]))
            fprintf(stderr, "missing %s in %s\n", must[i], out.data);
        ASSERT(strstr(out.data, must[i]) != NULL);
    }
    char lvl[64];
    snprintf(lvl, sizeof(lvl), "\"log\":{\"level\":\"%s\"}",
             trail_severity_to_ecs(trail_event_severity(ev)));
    ASSERT(strstr(out.data, lvl) != NULL);
    ASSERT_EQ(out.data[out.len - 1], '}');
    trail_buf_free(&out);
    trail_event_free(ev);
}

static int outcome_of(const char *id)
{
    struct trail_event *ev = NULL;
    if (trail_event_new(cat, id, &ev) < 0)
        return -1;
    int r = trail_event_outcome(ev);
    trail_event_free(ev);
    return r;
}

TEST(outcome_from_id)
{
    struct trail_event *ev = saml_failed();
    trail_event_free(ev);
    ASSERT_EQ(outcome_of("auth_entrypoints_saml_auth_failed"), 2);
    ASSERT_EQ(outcome_of("auth_authenticators_bankid_successful"), 1);
    ASSERT_EQ(outcome_of("core_bankid_success"), 1);
    ASSERT_EQ(outcome_of("radiusproxy_authenticators_passthrough_ok"), 1);
    ASSERT_EQ(outcome_of("core_freja_cancelled"), 2);
    ASSERT_EQ(outcome_of("auth_entrypoints_oidc_consent_declined"), 2);
    ASSERT_EQ(outcome_of("auth_entrypoints_relay_incorrectotp"), 2);
    ASSERT_EQ(outcome_of("prism_myapps_application_accessdenied"), 2);
    ASSERT_EQ(outcome_of("prism_myapps_application_accessgranted"), 1);
    ASSERT_EQ(outcome_of("core_certificate_validationfailed"), 2);
    ASSERT_EQ(outcome_of("pipes_authentication_failed_locked_permanently"), 2);
    ASSERT_EQ(outcome_of("auth_entrypoints_oidc_auth_started"), 0);
    ASSERT_EQ(outcome_of("core_server_run_started"), 0);
}

static int activity_of(const char *id)
{
    struct trail_event *ev = NULL;
    struct trail_buf out = {0};
    int r = -1;
    if (trail_event_new(cat, id, &ev) < 0)
        return -1;
    if (trail_event_to_ocsf(ev, &out) == 0) {
        const char *p = strstr(out.data, "\"activity_id\":");
        if (p)
            r = atoi(p + 14);
    }
    trail_buf_free(&out);
    trail_event_free(ev);
    return r;
}

TEST(activity_from_id)
{
    ASSERT_EQ(activity_of("auth_entrypoints_oidc_logout"), 2);
    ASSERT_EQ(activity_of("auth_logout_local"), 2);
    ASSERT_EQ(activity_of("auth_samlsp_logoutreceived"), 2);
    ASSERT_EQ(activity_of("auth_entrypoints_oidc_auth_successful"), 1);
    ASSERT_EQ(activity_of("radius_authenticators_failed"), 1);
    ASSERT_EQ(activity_of("saml_incoming_assertion_success"), 1);
    ASSERT_EQ(activity_of("core_server_run_started"), 99);
    ASSERT_EQ(activity_of("prism_token_revoked"), 99);
}

TEST(hostile_values_escaped)
{
    struct trail_event *ev = saml_failed();
    ASSERT(ev != NULL);
    const char hostile[] = "a\"b\\c\nd]e|f=g\x01h";
    ASSERT_OK(trail_event_set_text(ev, "duser", (size_t)-1, hostile, sizeof(hostile) - 1));
    struct trail_buf out = {0};
    ASSERT_OK(trail_event_to_ocsf(ev, &out));
    ASSERT(strstr(out.data, "\"user\":{\"name\":\"a\\\"b\\\\c\\u000ad]e|f=g\\u0001h\"}") != NULL);
    ASSERT(strchr(out.data, '\n') == NULL);
    trail_buf_reset(&out);
    ASSERT_OK(trail_event_to_ecs(ev, &out));
    ASSERT(strstr(out.data, "\"user\":{\"name\":\"a\\\"b\\\\c\\u000ad]e|f=g\\u0001h\"}") != NULL);
    ASSERT(strchr(out.data, '\n') == NULL);
    trail_buf_free(&out);
    trail_event_free(ev);
}

/* DEL, a C1 control and U+2028 are escaped as in every JSON trail writes (trail_json_string) */
TEST(unsafe_characters_escaped_as_everywhere)
{
    struct trail_event *ev = saml_failed();
    ASSERT(ev != NULL);
    const char unsafe[] = "a\x7f"
                          "b\xc2\x9b"
                          "c\xe2\x80\xa8"
                          "d\xc3\xa5";
    ASSERT_OK(trail_event_set_text(ev, "duser", (size_t)-1, unsafe, sizeof(unsafe) - 1));
    struct trail_buf out = {0}, want = {0};
    ASSERT_OK(trail_json_string(&want, unsafe, sizeof(unsafe) - 1));
    ASSERT(strstr(want.data, "a\\u007fb\\u009bc\\u2028d\xc3\xa5") != NULL);
    for (int m = 0; m < 2; m++) {
        trail_buf_reset(&out);
        ASSERT_OK(m ? trail_event_to_ecs(ev, &out) : trail_event_to_ocsf(ev, &out));
        ASSERT(strstr(out.data, want.data) != NULL);
        ASSERT(memchr(out.data, 0x7f, out.len) == NULL);
        ASSERT(strstr(out.data, "\xc2\x9b") == NULL);
        ASSERT(strstr(out.data, "\xe2\x80\xa8") == NULL);
    }
    trail_buf_free(&want);
    trail_buf_free(&out);
    trail_event_free(ev);
}

TEST(types_and_ports)
{
    struct trail_event *ev = saml_failed();
    ASSERT(ev != NULL);
    ASSERT_OK(trail_event_set_int(ev, "spt", 51234));
    ASSERT_OK(trail_event_set_text(ev, "dpt", (size_t)-1, "443", 3));
    ASSERT_OK(trail_event_set_bool(ev, "flag", 1));
    struct trail_buf out = {0};
    ASSERT_OK(trail_event_to_ecs(ev, &out));
    ASSERT(strstr(out.data, "\"port\":51234") != NULL);
    ASSERT(strstr(out.data, "\"destination\":{\"port\":443}") != NULL);
    ASSERT(strstr(out.data, "\"flag\":true") != NULL);
    trail_buf_free(&out);
    trail_event_free(ev);
}

TEST(mapping_names)
{
    int m = -1;
    ASSERT_OK(trail_mapping_parse("OCSF", &m));
    ASSERT_EQ(m, TRAIL_MAPPING_OCSF);
    ASSERT_OK(trail_mapping_parse("ecs", &m));
    ASSERT_EQ(m, TRAIL_MAPPING_ECS);
    ASSERT_OK(trail_mapping_parse("none", &m));
    ASSERT_EQ(m, TRAIL_MAPPING_NONE);
    ASSERT_EQ(trail_mapping_parse("splunk", &m), -EINVAL);
    ASSERT_EQ(m, TRAIL_MAPPING_NONE);
    struct trail_event *ev = saml_failed();
    struct trail_buf out = {0};
    ASSERT_EQ(trail_event_to_mapped(ev, 7, &out), -EINVAL);
    ASSERT_EQ(out.len, 0);
    ASSERT_OK(trail_event_to_mapped(ev, TRAIL_MAPPING_NONE, &out));
    ASSERT(strncmp(out.data, "{\"id\":\"auth_entrypoints_saml_auth_failed\"", 41) == 0);
    trail_buf_free(&out);
    trail_event_free(ev);
    trail_catalog_free(cat);
    cat = NULL;
}

/* A stored event's provenance, in each format's own place for it. */
TEST(provenance_mapped)
{
    struct trail_event *ev = saml_failed();
    struct trail_peer peer = {.family = 4, .addr = {192, 0, 2, 9}, .port = 51514};
    trail_event_set_peer(ev, &peer);
    ASSERT_OK(trail_event_set_input(ev, TRAIL_INPUT_SYSLOG_TLS, NULL, 0));
    ASSERT_OK(trail_event_set_principal(ev, "certificate CN=idp1", (size_t)-1));
    trail_event_set_received(ev, 1795680000200000LL);
    struct trail_buf out = {0};
    ASSERT_OK(trail_event_to_ocsf(ev, &out));
    ASSERT(strstr(out.data, "\"logged_time\":1795680000200,\"log_provider\":\"syslog_tls\"") !=
           NULL);
    ASSERT(strstr(out.data, "\"device\":{\"ip\":\"192.0.2.9\",\"hostname\":\"idp1\","
                            "\"owner\":{\"name\":\"certificate CN=idp1\"}}") != NULL);
    trail_buf_reset(&out);
    ASSERT_OK(trail_event_to_ecs(ev, &out));
    ASSERT(strstr(out.data, "\"ingested\":\"2026-11-26T08:00:00.200000Z\"") != NULL);
    ASSERT(strstr(out.data, "\"input\":{\"type\":\"syslog_tls\"}") != NULL);
    ASSERT(strstr(out.data, "\"source\":{\"address\":\"192.0.2.9:51514\"}") != NULL);
    ASSERT(strstr(out.data, "\"labels\":{\"trail_principal\":\"certificate CN=idp1\"}") != NULL);
    trail_buf_reset(&out);
    ASSERT_OK(trail_event_to_syslog(ev, NULL, &out));
    ASSERT(strstr(out.data,
                  "[origin ip=\"192.0.2.9\"][via@32473 input=\"syslog_tls\" "
                  "principal=\"certificate CN=idp1\" received=\"2026-11-26T08:00:00.200000Z\"]") !=
           NULL);
    trail_buf_reset(&out);
    struct trail_cef_opts co = {.provenance = 1};
    ASSERT_OK(trail_event_to_cef(ev, &co, &out));
    ASSERT(strstr(out.data, " rt=1795680000200 dvc=192.0.2.9 cs5=certificate CN\\=idp1 "
                            "cs5Label=trailPrincipal cs6=syslog_tls cs6Label=trailInput") != NULL);
    /* without the option, CEF is the identity server's own form */
    trail_buf_reset(&out);
    ASSERT_OK(trail_event_to_cef(ev, NULL, &out));
    ASSERT(strstr(out.data, "dvc=") == NULL);
    trail_buf_free(&out);
    trail_event_free(ev);
}

TEST_MAIN(provenance_mapped, ocsf_exact, ocsf_severity_matches_scale, ecs_fields, outcome_from_id,
          activity_from_id, hostile_values_escaped, unsafe_characters_escaped_as_everywhere,
          types_and_ports, mapping_names)
