/*
 * test_auth.c - traild's authentication (daemon/core/auth.c) without a daemon:
 * what each role allows, reading [tokens] and [client_certs] entries, the
 * decision for each kind of credential, and the rate limiter of the
 * trail_auth_failed events, minute by minute.
 *
 * Linked against traild's core part (traild_core), as main.c is: no daemon
 * runs, so traild.ingest is NULL and nothing is queued. The log lines are
 * read from stderr (harness.h's capture). The HTTP side (401/403 answers,
 * headers, stored events) is tests/integration/security_auth.sh's.
 */
#include "core/auth.h"
#include "core/config.h"

#include "harness.h"

#include <openssl/sha.h>

#include <ctype.h>
#include <errno.h>

/* ---- helpers ---- */

static int unhex(const char *s, size_t n_chars, uint8_t *out)
{
    for (size_t i = 0; i < n_chars / 2; i++) {
        if (!isxdigit((unsigned char)s[2 * i]) || !isxdigit((unsigned char)s[2 * i + 1]))
            return -EINVAL;
        unsigned v;
        sscanf(s + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return 0;
}

/* The [tokens] entry for token with this salt, as `trail token-hash` makes it. */
static void entry_for(const char *role, const char *salt_hex, const char *token, char *out,
                      size_t n)
{
    uint8_t salt[64], buf[600], d[32];
    size_t sl = strlen(salt_hex) / 2;
    ASSERT_OK(unhex(salt_hex, 2 * sl, salt));
    memcpy(buf, salt, sl);
    memcpy(buf + sl, token, strlen(token));
    SHA256(buf, sl + strlen(token), d);
    int o = snprintf(out, n, "%s:%s:", role, salt_hex);
    for (int i = 0; i < 32; i++)
        o += snprintf(out + o, n - (size_t)o, "%02x", d[i]);
}

static struct config cfg;
static struct token_conf tokens[3];
static struct client_cert_conf certs[2];

static void setup_config(void)
{
    static const char *const names[] = {"writer", "reader", "boss"};
    static const char *const roles[] = {"write", "read", "admin"};
    static const char *const toks[] = {"wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww",
                                       "rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr",
                                       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    char e[200], entry[300];
    for (int i = 0; i < 3; i++) {
        free(tokens[i].name);
        memset(&tokens[i], 0, sizeof(tokens[i]));
        entry_for(roles[i],
                  i == 1 ? "00112233445566778899aabbccddeeff00112233"
                         : "0f0e0d0c0b0a09080706050403020100",
                  toks[i], entry, sizeof(entry));
        ASSERT_OK(auth_parse_token(names[i], entry, &tokens[i], e, sizeof(e)));
    }
    free(certs[0].name);
    memset(certs, 0, sizeof(certs));
    ASSERT_OK(auth_parse_client_cert("reader-host", "read", &certs[0], e, sizeof(e)));
    ASSERT_OK(
        auth_parse_client_cert("00000000000000000000000000000000000000000000000000000000000000ab",
                               "admin", &certs[1], e, sizeof(e)));
    cfg.tokens = tokens;
    cfg.n_tokens = 3;
    cfg.client_certs = certs;
    cfg.n_client_certs = 2;
    cfg.auth_events_per_minute = 3;
    cfg.auth_events_total_per_minute = 5;
}

/* ---- tests ---- */

TEST(roles)
{
    ASSERT_EQ(auth_role_parse("write"), ROLE_WRITE);
    ASSERT_EQ(auth_role_parse("read"), ROLE_READ);
    ASSERT_EQ(auth_role_parse("admin"), ROLE_ADMIN);
    ASSERT_EQ(auth_role_parse("Admin"), -EINVAL);
    ASSERT_EQ(auth_role_parse(""), -EINVAL);
    /* rows: have; columns: need open, write, read, admin */
    static const int allows[4][4] = {
        {1, 0, 0, 0}, /* nobody */
        {1, 1, 0, 0}, /* write */
        {1, 0, 1, 0}, /* read */
        {1, 1, 1, 1}, /* admin */
    };
    static const int role[4] = {0, ROLE_WRITE, ROLE_READ, ROLE_ADMIN};
    for (int h = 0; h < 4; h++)
        for (int n = 0; n < 4; n++)
            ASSERT_EQ(auth_role_allows(role[h], role[n]), allows[h][n]);
}

TEST(token_entries)
{
    struct token_conf t = {0};
    char e[200];
    const char *hash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    char v[300];
    snprintf(v, sizeof(v), "read:00112233445566778899AABBCCDDEEFF:%s", hash);
    ASSERT_OK(auth_parse_token("ok-name_1.x@y", v, &t, e, sizeof(e)));
    ASSERT_STREQ(t.name, "ok-name_1.x@y");
    ASSERT_EQ(t.role, ROLE_READ);
    ASSERT_EQ(t.salt_len, 16);
    ASSERT_EQ(t.salt[10], 0xaa);
    ASSERT_EQ(t.hash[31], 0xef);
    free(t.name);
    static const struct {
        const char *value, *why;
    } bad[] = {
        {"0123456789abcdef0123456789abcdef", "expected ROLE:SALT:HASH"},
        {"read:00112233445566778899aabbccddeeff", "expected ROLE:SALT:HASH"},
        {"read:a:b:c", "expected ROLE:SALT:HASH"},
        {"root:00112233445566778899aabbccddeeff:00", "role 'root' is not one of"},
        {"averyveryverylongrole:00:00", "the role is not one of"},
        {"read:0011:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
         "the salt is not 32 to 128 hex digits"},
        {"read:00112233445566778899aabbccddeefg:0123456789abcdef0123456789abcdef0123456789abcdef"
         "0123456789abcdef",
         "the salt is not"},
        {"read:00112233445566778899aabbccddeeff:0123", "the hash is not 64 hex digits"},
        {"read:00112233445566778899aabbccddeeff:0123456789abcdef0123456789abcdef0123456789abcdef"
         "0123456789abcdeX",
         "the hash is not 64 hex digits"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&t, 0, sizeof(t));
        e[0] = '\0';
        ASSERT_EQ(auth_parse_token("x", bad[i].value, &t, e, sizeof(e)), -EINVAL);
        ASSERT(strstr(e, bad[i].why) != NULL);
        ASSERT(t.name == NULL);
    }
    snprintf(v, sizeof(v), "read:00112233445566778899aabbccddeeff:%s", hash);
    ASSERT_EQ(auth_parse_token("bad name", v, &t, e, sizeof(e)), -EINVAL);
    ASSERT(strstr(e, "a token name is made of") != NULL);
}

TEST(client_cert_entries)
{
    struct client_cert_conf c = {0};
    char e[200];
    ASSERT_OK(auth_parse_client_cert("idp-node2.example", "write", &c, e, sizeof(e)));
    ASSERT_STREQ(c.name, "idp-node2.example");
    ASSERT_EQ(c.role, ROLE_WRITE);
    free(c.name);
    memset(&c, 0, sizeof(c));
    ASSERT_OK(
        auth_parse_client_cert("ABCDEF0000000000000000000000000000000000000000000000000000000001",
                               "admin", &c, e, sizeof(e)));
    ASSERT(c.name == NULL);
    ASSERT_EQ(c.sha256[0], 0xab);
    ASSERT_EQ(c.sha256[31], 0x01);
    ASSERT_EQ(auth_parse_client_cert("x", "owner", &c, e, sizeof(e)), -EINVAL);
    ASSERT(strstr(e, "'owner' is not one of") != NULL);
}

TEST(off_without_entries)
{
    struct config none = {0};
    struct auth_result r;
    ASSERT_EQ(auth_enabled(&none), 0);
    auth_check(&none, ROLE_ADMIN, NULL, NULL, &r);
    ASSERT_EQ(r.status, 0);
    ASSERT_EQ(r.role, ROLE_ADMIN);
}

TEST(tokens_decide)
{
    setup_config();
    struct auth_result r;
    ASSERT_EQ(auth_enabled(&cfg), 1);
    auth_check(&cfg, AUTH_OPEN, NULL, NULL, &r);
    ASSERT_EQ(r.status, 0);
    auth_check(&cfg, ROLE_WRITE, NULL, NULL, &r);
    ASSERT_EQ(r.status, 401);
    ASSERT_EQ(r.outcome, AUTH_NO_CREDENTIALS);
    auth_check(&cfg, ROLE_WRITE, "Bearer wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww", NULL, &r);
    ASSERT_EQ(r.status, 0);
    ASSERT_STREQ(r.who, "token writer");
    /* the scheme is case-insensitive; spaces around the token are not part of it */
    auth_check(&cfg, ROLE_READ, "bearer   rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr  ", NULL, &r);
    ASSERT_EQ(r.status, 0);
    ASSERT_STREQ(r.who, "token reader");
    auth_check(&cfg, ROLE_WRITE, "Bearer rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr", NULL, &r);
    ASSERT_EQ(r.status, 403);
    ASSERT_EQ(r.outcome, AUTH_FORBIDDEN);
    ASSERT_STREQ(r.error, "token reader has role read; this needs write");
    auth_check(&cfg, ROLE_ADMIN, "Bearer aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL, &r);
    ASSERT_EQ(r.status, 0);
    ASSERT_EQ(r.role, ROLE_ADMIN);
    /* a prefix, an extension, one byte changed, empty, overlong, another scheme */
    static const char *const refused[] = {
        "Bearer wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww",
        "Bearer wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww",
        "Bearer wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwv",
        "Bearer ",
        "Basic d3d3",
        "wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        auth_check(&cfg, ROLE_WRITE, refused[i], NULL, &r);
        ASSERT_EQ(r.status, 401);
        ASSERT_EQ(r.outcome, AUTH_BAD_TOKEN);
    }
    char big[700] = "Bearer ";
    memset(big + 7, 'w', 600);
    big[607] = '\0';
    auth_check(&cfg, ROLE_WRITE, big, NULL, &r);
    ASSERT_EQ(r.status, 401);
}

TEST(client_certificates_decide)
{
    setup_config();
    struct auth_result r;
    struct auth_peer_cert c = {.present = 1, .verified = 1};
    snprintf(c.cn, sizeof(c.cn), "reader-host");
    auth_check(&cfg, ROLE_READ, NULL, &c, &r);
    ASSERT_EQ(r.status, 0);
    ASSERT_STREQ(r.who, "certificate reader-host");
    auth_check(&cfg, ROLE_WRITE, NULL, &c, &r);
    ASSERT_EQ(r.status, 403);
    c.verified = 0; /* the same name, from a CA traild does not trust */
    auth_check(&cfg, ROLE_READ, NULL, &c, &r);
    ASSERT_EQ(r.status, 401);
    ASSERT_EQ(r.outcome, AUTH_BAD_CERT);
    c.verified = 1;
    snprintf(c.cn, sizeof(c.cn), "someone-else");
    auth_check(&cfg, ROLE_READ, NULL, &c, &r);
    ASSERT_EQ(r.status, 401);
    ASSERT(strstr(r.error, "is not in [client_certs]") != NULL);
    c.sha256[31] = 0xab; /* by fingerprint, whatever the CN */
    auth_check(&cfg, ROLE_ADMIN, NULL, &c, &r);
    ASSERT_EQ(r.status, 0);
    ASSERT_EQ(r.role, ROLE_ADMIN);
    /* a token, when sent, decides: a wrong one is refused beside a good certificate */
    auth_check(&cfg, ROLE_READ, "Bearer nope-nope-nope-nope-nope-nope-nope-no", &c, &r);
    ASSERT_EQ(r.status, 401);
    ASSERT_EQ(r.outcome, AUTH_BAD_TOKEN);
    auth_check(&cfg, ROLE_READ, "Bearer wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww", &c, &r);
    ASSERT_EQ(r.status, 403);
}

TEST(rate_limit_per_source_and_in_all)
{
    setup_config(); /* 3 a minute per source, 5 in all */
    uint64_t sup = 99, lost = 99;
    int64_t m = 1000;
    /* no test before this one refuses a request: the limiter starts empty */
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(auth_admit(&cfg, "192.0.2.1", m, &sup, &lost), 1);
        ASSERT_EQ(sup, 0);
    }
    int held[4];
    capture_stderr_begin();
    for (int i = 0; i < 4; i++)
        held[i] = auth_admit(&cfg, "192.0.2.1", m, &sup, &lost);
    char *log = capture_stderr_end();
    for (int i = 0; i < 4; i++)
        ASSERT_EQ(held[i], 0);
    /* the first suppressed one of the minute is logged, once */
    int lines = count_of(log, "\n"), about = count_of(log, "more refused requests from 192.0.2.1");
    free(log);
    ASSERT_EQ(lines, 1);
    ASSERT_EQ(about, 1);
    /* another source: 2 more make the 5 of the minute, then nothing */
    ASSERT_EQ(auth_admit(&cfg, "2001:db8::1", m, &sup, &lost), 1);
    ASSERT_EQ(auth_admit(&cfg, "2001:db8::1", m, &sup, &lost), 1);
    ASSERT_EQ(auth_admit(&cfg, "2001:db8::1", m, &sup, &lost), 0);
    ASSERT_EQ(auth_admit(&cfg, "198.51.100.7", m, &sup, &lost), 0);
    /* the next minute: each source's first stored event carries what it had suppressed */
    ASSERT_EQ(auth_admit(&cfg, "192.0.2.1", m + 1, &sup, &lost), 1);
    ASSERT_EQ(sup, 4);
    ASSERT_EQ(auth_admit(&cfg, "192.0.2.1", m + 1, &sup, &lost), 1);
    ASSERT_EQ(sup, 0);
    ASSERT_EQ(auth_admit(&cfg, "2001:db8::1", m + 1, &sup, &lost), 1);
    ASSERT_EQ(sup, 1);
    ASSERT_EQ(auth_admit(&cfg, "198.51.100.7", m + 1, &sup, &lost), 1);
    ASSERT_EQ(sup, 1);
    uint64_t failures, suppressed;
    auth_stats(&failures, &suppressed);
    ASSERT_EQ(suppressed, 6);
    /* 0 a minute: nothing is stored, everything counted */
    cfg.auth_events_per_minute = 0;
    ASSERT_EQ(auth_admit(&cfg, "192.0.2.9", m + 2, &sup, &lost), 0);
}

TEST(loopback)
{
    ASSERT_EQ(auth_is_loopback("127.0.0.1"), 1);
    ASSERT_EQ(auth_is_loopback("127.3.2.1"), 1);
    ASSERT_EQ(auth_is_loopback("::1"), 1);
    ASSERT_EQ(auth_is_loopback("localhost"), 1);
    ASSERT_EQ(auth_is_loopback(""), 0);
    ASSERT_EQ(auth_is_loopback("0.0.0.0"), 0);
    ASSERT_EQ(auth_is_loopback("::"), 0);
    ASSERT_EQ(auth_is_loopback("10.0.0.1"), 0);
}

TEST(cleanup)
{
    for (int i = 0; i < 3; i++)
        free(tokens[i].name);
    free(certs[0].name);
    memset(tokens, 0, sizeof(tokens));
    memset(certs, 0, sizeof(certs));
}

TEST_MAIN(roles, token_entries, client_cert_entries, off_without_entries, tokens_decide,
          client_certificates_decide, rate_limit_per_source_and_in_all, loopback, cleanup)
