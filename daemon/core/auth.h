/*
 * auth.h - who may call traild's HTTP API: bearer tokens kept as salted
 * SHA-256 hashes ([tokens]), verified HTTPS client certificates mapped to
 * roles ([client_certs]), what a role allows, and the record of refused
 * requests (the trail_auth_failed event, rate limited per source).
 *
 * Roles: write (send events), read (query, stream, catalog, proofs,
 * checkpoints, metrics), admin (both, and the admin routes: sinks, reload,
 * verify runs), relay (send events with a forwarding trail's provenance:
 * another traild's trail sink; routes_ingest.c). With no token and no client certificate
 * configured, authentication is off and every route is open.
 *
 * Not here: reading the client certificate from the TLS session
 * (tls_http.c), which route needs which role (http/routes.c's route table).
 */
#ifndef TRAILD_AUTH_H
#define TRAILD_AUTH_H

#include "core/config.h"

#include <stddef.h>
#include <stdint.h>

/* The event a refused request is recorded as (declared when auth is on). */
#define AUTH_EVENT_ID "trail_auth_failed"

/* A route that needs no credentials (/healthz, the viewer's static files). */
#define AUTH_OPEN 0

enum auth_outcome {
    AUTH_OK = 0,
    AUTH_NO_CREDENTIALS, /* no Authorization header and no client certificate */
    AUTH_BAD_TOKEN,      /* a token that no [tokens] entry matches, or a malformed header */
    AUTH_BAD_CERT,       /* a client certificate that is not verified or not mapped */
    AUTH_FORBIDDEN       /* known caller, role too small: 403 */
};

/* The client certificate of an HTTPS connection, as tls_http.c reads it. */
struct auth_peer_cert {
    int present;        /* the client sent a certificate */
    int verified;       /* it chains to [tls] http_ca and is in its validity period */
    char cn[256];       /* the subject's common name, "" when none */
    uint8_t sha256[32]; /* SHA-256 of the DER certificate */
};

/* What auth_check() decided. */
struct auth_result {
    int status;      /* 0 allowed, 401 or 403 */
    int outcome;     /* enum auth_outcome */
    int role;        /* the caller's role, 0 when unknown */
    char who[160];   /* "token NAME", "certificate CN" or "" */
    char error[240]; /* for the answer's {"error":...} when refused */
};

/* auth_role_parse - "write", "read" or "admin" to ROLE_*, or -EINVAL. */
int auth_role_parse(const char *text);

/* auth_role_name - the name of ROLE_* ("none" for 0). */
const char *auth_role_name(int role);

/* auth_role_allows - 1 when a caller with role have may use a route needing need. */
int auth_role_allows(int have, int need);

/* auth_enabled - 1 when cfg has a token or a client certificate mapping. */
int auth_enabled(const struct config *cfg);

/*
 * auth_parse_token - read a [tokens] entry "ROLE:SALT:HASH" (SALT 16 to 64
 * bytes as hex, HASH the 64 hex digits of SHA-256(SALT || token)) into t,
 * which gets a copy of name. 0, -ENOMEM, or -EINVAL with err saying why.
 */
int auth_parse_token(const char *name, const char *value, struct token_conf *t, char *err,
                     size_t errlen);

/*
 * auth_parse_client_cert - read a [client_certs] entry: key a subject CN,
 * or 64 hex digits (the certificate's SHA-256 fingerprint, without colons);
 * value a role. 0, -ENOMEM, or -EINVAL with err saying why.
 */
int auth_parse_client_cert(const char *key, const char *value, struct client_cert_conf *c,
                           char *err, size_t errlen);

/*
 * auth_check - may this request use a route that needs need (AUTH_OPEN or
 * ROLE_*)? authorization is the Authorization header or NULL; cert the
 * connection's client certificate or NULL. A token, when sent, decides
 * alone (a wrong one is refused even beside a good certificate). Tokens
 * are compared as hashes with CRYPTO_memcmp, every entry each time. Fills
 * ret; never fails.
 */
void auth_check(const struct config *cfg, int need, const char *authorization,
                const struct auth_peer_cert *cert, struct auth_result *ret);

/*
 * auth_refused - record a refused request as a trail_auth_failed event
 * (src, request, requestMethod, reason, outcome, suser, status,
 * suppressed), at most [limits] auth_events_per_minute per source address
 * and auth_events_total_per_minute in all; the others are counted and the
 * count goes on the source's next stored event (attribute suppressed).
 * Never blocks: the event is queued to ingest, or dropped and logged when
 * the queue is full. Thread-safe.
 */
void auth_refused(const struct config *cfg, const struct auth_result *res, const char *addr,
                  const char *method, const char *path);

/*
 * auth_admit - auth_refused()'s rate limit: is this refusal from addr, in
 * the given minute since the epoch, stored? Returns 1 with the counts to
 * state on its event (*ret_suppressed: this source's refusals not stored
 * since its last stored one; *ret_lost: those of sources pushed out of the
 * table), or 0: counted as suppressed, and logged once per source and
 * minute. auth_refused() passes the clock's minute; tests pass their own
 * minutes, so that what they assert does not follow the clock. Thread-safe.
 */
int auth_admit(const struct config *cfg, const char *addr, int64_t minute, uint64_t *ret_suppressed,
               uint64_t *ret_lost);

/* auth_stats - failures seen and failures not stored (rate limited), since start. */
void auth_stats(uint64_t *ret_failures, uint64_t *ret_suppressed);

/* auth_is_loopback - 1 when a listen address's host is loopback only. */
int auth_is_loopback(const char *host);

#endif /* TRAILD_AUTH_H */
