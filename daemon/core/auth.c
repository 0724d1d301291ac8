/*
 * auth.c - traild's authentication and roles (see auth.h for the contract).
 *
 * A token is a random secret the client sends as "Authorization: Bearer
 * TOKEN". The config keeps only "ROLE:SALT:HASH" with HASH = SHA-256(SALT ||
 * TOKEN): whoever reads trail.conf learns no token. `trail token-hash` makes
 * a token of 256 random bits and its entry; tokens that random gain nothing
 * from a slow hash (PBKDF2, scrypt) and a slow hash on every request would
 * let any client burn the daemon's CPU, so the hash is one SHA-256
 * (docs/THREATS.md says more). A request's token is hashed with each
 * entry's salt and compared with CRYPTO_memcmp against every entry, without
 * stopping at a match, so the time taken says nothing about which entry or
 * how many bytes matched.
 *
 * Refused requests become trail_auth_failed events. A fixed table of
 * per-source counters (hashed by address; a collision replaces the older
 * source) and a global counter bound how many are stored per minute.
 *
 * Not here: TLS (tls_http.c), the route table (http/routes.c).
 */
#include "core/auth.h"

#include "core/ingest.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/ratelimit.h"
#include "core/traild.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TOKEN_MAX 512 /* longer Authorization values are refused unread */

/* ---- roles ---- */

int auth_role_parse(const char *text)
{
    if (!strcmp(text, "write"))
        return ROLE_WRITE;
    if (!strcmp(text, "read"))
        return ROLE_READ;
    if (!strcmp(text, "admin"))
        return ROLE_ADMIN;
    if (!strcmp(text, "relay"))
        return ROLE_RELAY;
    return -EINVAL;
}

const char *auth_role_name(int role)
{
    switch (role) {
    case ROLE_WRITE:
        return "write";
    case ROLE_READ:
        return "read";
    case ROLE_ADMIN:
        return "admin";
    case ROLE_RELAY:
        return "relay";
    default:
        return "none";
    }
}

int auth_role_allows(int have, int need)
{
    if (need == AUTH_OPEN)
        return 1;
    /* a relay sends events, with their forwarded provenance (routes_ingest.c) */
    if (have == ROLE_RELAY && need == ROLE_WRITE)
        return 1;
    return have == ROLE_ADMIN || have == need;
}

int auth_enabled(const struct config *cfg)
{
    return cfg->n_tokens > 0 || cfg->n_client_certs > 0;
}

/* ---- config entries ---- */

static int unhex(const char *s, size_t n_chars, uint8_t *out)
{
    for (size_t i = 0; i < n_chars / 2; i++) {
        int hi = s[2 * i], lo = s[2 * i + 1];
        if (!isxdigit(hi) || !isxdigit(lo))
            return -EINVAL;
        hi = isdigit(hi) ? hi - '0' : (tolower(hi) - 'a' + 10);
        lo = isdigit(lo) ? lo - '0' : (tolower(lo) - 'a' + 10);
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int auth_parse_token(const char *name, const char *value, struct token_conf *t, char *err,
                     size_t errlen)
{
    char role[16];
    const char *c1 = strchr(value, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c1 || !c2 || strchr(c2 + 1, ':')) {
        snprintf(err, errlen,
                 "expected ROLE:SALT:HASH (make one with `trail token-hash NAME ROLE`); a "
                 "token is never written in clear");
        return -EINVAL;
    }
    size_t rl = (size_t)(c1 - value);
    if (rl >= sizeof(role)) {
        snprintf(err, errlen, "the role is not one of: write, read, admin, relay");
        return -EINVAL;
    }
    memcpy(role, value, rl);
    role[rl] = '\0';
    int r = auth_role_parse(role);
    if (r < 0) {
        snprintf(err, errlen, "role '%s' is not one of: write, read, admin, relay", role);
        return -EINVAL;
    }
    const char *salt = c1 + 1, *hash = c2 + 1;
    size_t sl = (size_t)(c2 - salt);
    if (sl < 32 || sl > 128 || sl % 2 || unhex(salt, sl, t->salt) < 0) {
        snprintf(err, errlen, "the salt is not 32 to 128 hex digits");
        return -EINVAL;
    }
    if (strlen(hash) != 64 || unhex(hash, 64, t->hash) < 0) {
        snprintf(err, errlen, "the hash is not 64 hex digits (SHA-256)");
        return -EINVAL;
    }
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_.-@", *p)) {
            snprintf(err, errlen, "a token name is made of [A-Za-z0-9_.@-]");
            return -EINVAL;
        }
    if (!(t->name = strdup(name)))
        return -ENOMEM;
    t->salt_len = sl / 2;
    t->role = r;
    return 0;
}

int auth_parse_client_cert(const char *key, const char *value, struct client_cert_conf *c,
                           char *err, size_t errlen)
{
    int role = auth_role_parse(value);
    if (role < 0) {
        snprintf(err, errlen, "'%s' is not one of: write, read, admin, relay", value);
        return -EINVAL;
    }
    if (!*key || strlen(key) > 255) {
        snprintf(err, errlen, "a subject CN of 1 to 255 characters, or a SHA-256 fingerprint");
        return -EINVAL;
    }
    if (strlen(key) == 64 && unhex(key, 64, c->sha256) == 0) {
        c->name = NULL;
    } else if (!(c->name = strdup(key))) {
        return -ENOMEM;
    }
    c->role = role;
    return 0;
}

/* ---- checking a request ---- */

static void refuse(struct auth_result *ret, int status, int outcome, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void refuse(struct auth_result *ret, int status, int outcome, const char *fmt, ...)
{
    va_list ap;
    ret->status = status;
    ret->outcome = outcome;
    va_start(ap, fmt);
    vsnprintf(ret->error, sizeof(ret->error), fmt, ap);
    va_end(ap);
}

/* The index of the [tokens] entry token matches, or -1. Every entry is hashed and compared. */
static int match_token(const struct config *cfg, const char *token, size_t len)
{
    uint8_t buf[64 + TOKEN_MAX], digest[SHA256_DIGEST_LENGTH];
    int found = -1;
    for (size_t i = 0; i < cfg->n_tokens; i++) {
        const struct token_conf *t = &cfg->tokens[i];
        memcpy(buf, t->salt, t->salt_len);
        memcpy(buf + t->salt_len, token, len);
        SHA256(buf, t->salt_len + len, digest);
        int same = CRYPTO_memcmp(digest, t->hash, sizeof(digest)) == 0;
        /* no early exit: the loop takes the same time wherever the match is */
        found = same && found < 0 ? (int)i : found;
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    return found;
}

static void decide(int have, int need, struct auth_result *ret)
{
    ret->role = have;
    if (auth_role_allows(have, need))
        return;
    refuse(ret, 403, AUTH_FORBIDDEN, "%s has role %s; this needs %s", ret->who,
           auth_role_name(have), auth_role_name(need));
}

void auth_check(const struct config *cfg, int need, const char *authorization,
                const struct auth_peer_cert *cert, struct auth_result *ret)
{
    memset(ret, 0, sizeof(*ret));
    if (!auth_enabled(cfg)) {
        ret->role = ROLE_ADMIN; /* authentication off: everything is open */
        return;
    }
    if (need == AUTH_OPEN)
        return;
    if (authorization) {
        const char *p = authorization;
        if (strncasecmp(p, "Bearer ", 7) != 0) {
            refuse(ret, 401, AUTH_BAD_TOKEN, "the Authorization header is not 'Bearer TOKEN'");
            return;
        }
        p += 7;
        while (*p == ' ')
            p++;
        size_t len = strlen(p);
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        int i = len && len <= TOKEN_MAX ? match_token(cfg, p, len) : -1;
        if (i < 0) {
            refuse(ret, 401, AUTH_BAD_TOKEN, "the token is not valid");
            return;
        }
        snprintf(ret->who, sizeof(ret->who), "token %s", cfg->tokens[i].name);
        decide(cfg->tokens[i].role, need, ret);
        return;
    }
    if (cert && cert->present) {
        if (!cert->verified) {
            refuse(ret, 401, AUTH_BAD_CERT,
                   "the client certificate is not valid ([tls] http_ca does not sign it, or "
                   "it has expired)");
            return;
        }
        for (size_t i = 0; i < cfg->n_client_certs; i++) {
            const struct client_cert_conf *c = &cfg->client_certs[i];
            int same = c->name ? cert->cn[0] && strcmp(c->name, cert->cn) == 0
                               : CRYPTO_memcmp(c->sha256, cert->sha256, 32) == 0;
            if (same) {
                snprintf(ret->who, sizeof(ret->who), "certificate %.140s",
                         cert->cn[0] ? cert->cn : "(no CN)");
                decide(c->role, need, ret);
                return;
            }
        }
        refuse(ret, 401, AUTH_BAD_CERT,
               "the client certificate (CN '%.100s') is not in [client_certs]", cert->cn);
        snprintf(ret->who, sizeof(ret->who), "certificate %.140s", cert->cn);
        return;
    }
    refuse(ret, 401, AUTH_NO_CREDENTIALS, "a bearer token is needed (Authorization: Bearer TOKEN)");
}

/* ---- recording refusals ---- */

static struct ratelimit auth_rl = RATELIMIT_INIT;

static atomic_uint_fast64_t n_failures, n_suppressed;

void auth_stats(uint64_t *ret_failures, uint64_t *ret_suppressed)
{
    *ret_failures = atomic_load(&n_failures);
    *ret_suppressed = atomic_load(&n_suppressed);
}

int auth_admit(const struct config *cfg, const char *addr, int64_t minute, uint64_t *ret_suppressed,
               uint64_t *ret_lost)
{
    int first_suppressed;
    int store = ratelimit_admit(&auth_rl, addr, minute, cfg->auth_events_per_minute,
                                cfg->auth_events_total_per_minute, ret_suppressed, ret_lost,
                                &first_suppressed);
    if (!store) {
        atomic_fetch_add(&n_suppressed, 1);
        if (first_suppressed)
            log_msg(LOG_WARN,
                    "http: more refused requests from %s than [limits] auth_events_per_minute "
                    "(%u, %u from all sources): counting them, not storing them, this minute",
                    addr, cfg->auth_events_per_minute, cfg->auth_events_total_per_minute);
    }
    return store;
}

static void set_text(struct trail_event *ev, const char *key, const char *v)
{
    if (!v || !*v)
        return;
    size_t len = strlen(v), n = len < 1000 ? len : 1000;
    while (n > 0 && n < len && ((unsigned char)v[n] & 0xC0) == 0x80)
        n--; /* cut at a character boundary */
    trail_event_set_string(ev, key, v, n);
}

static const char *outcome_name(int outcome)
{
    switch (outcome) {
    case AUTH_NO_CREDENTIALS:
        return "no_credentials";
    case AUTH_BAD_TOKEN:
        return "bad_token";
    case AUTH_BAD_CERT:
        return "bad_certificate";
    default:
        return "forbidden";
    }
}

void auth_refused(const struct config *cfg, const struct auth_result *res, const char *addr,
                  const char *method, const char *path)
{
    uint64_t suppressed = 0, lost = 0;
    atomic_fetch_add(&n_failures, 1);
    if (!auth_admit(cfg, addr, trail_now() / 60000000, &suppressed, &lost))
        return;
    log_msg(LOG_WARN, "http: %s %s from %s refused (%d): %s%s%s", method, path, addr, res->status,
            res->error, res->who[0] ? "; " : "", res->who);
    struct trail_event *ev = NULL;
    if (trail_event_new(cfg->cat, AUTH_EVENT_ID, &ev) < 0)
        return;
    trail_event_mark_own(ev);
    trail_event_set_host(ev, cfg->host, strlen(cfg->host));
    trail_event_set_time(ev, trail_now());
    unsigned char ip[16];
    if (inet_pton(AF_INET, addr, ip) == 1 || inet_pton(AF_INET6, addr, ip) == 1)
        trail_event_set_ip(ev, "src", addr, strlen(addr));
    set_text(ev, "request", path);
    set_text(ev, "requestMethod", method);
    set_text(ev, "reason", res->error);
    set_text(ev, "outcome", outcome_name(res->outcome));
    const char *sp = strchr(res->who, ' ');
    if (sp)
        set_text(ev, "suser", sp + 1);
    trail_event_set_int(ev, "status", res->status);
    if (suppressed)
        trail_event_set_int(ev, "suppressed", (int64_t)suppressed);
    if (lost) {
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "%llu refused requests from other sources were counted and not stored",
                 (unsigned long long)lost);
        set_text(ev, "msg", msg);
    }
    own_record_submit(ev); /* it takes ev */
}

int auth_is_loopback(const char *host)
{
    if (!strcmp(host, "localhost") || !strcmp(host, "::1"))
        return 1;
    struct in_addr a4;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return 0;
}
