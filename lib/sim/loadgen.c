/*
 * loadgen.c - a deterministic simulation of an identity server's audit events.
 *
 * Users sign in through SAML, OIDC, internal and relay entry points and
 * RADIUS, with BankID, Freja, FIDO, SITHS, OneTouch and OTP by SMS; some fail,
 * three failures in a row lock an account for a while, people who forgot
 * their password reset it, enrol and revoke tokens, give consent and log out;
 * administrators' tools read the configuration; scheduled jobs run; the
 * server starts and stops; the push certificate warns in the month before
 * its yearly expiry. Flows arrive with a daily and weekly rhythm and their
 * events interleave in time order. The same seed and options give the same
 * events, byte for byte.
 *
 * The traffic is meant to look like a real identity server's, so that the
 * rule pack (rules/) can be held to stay quiet on it (tests/integration/
 * loadgen_quiet.sh): the population follows the volume (about 25 events a
 * user a day, as people sign in a few times a day whatever the size of the
 * organisation), users' activity is spread as Zipf's law spreads it over
 * ranks but with its head flattened (the busiest user is about ten times
 * the mean, a hundredth of the traffic of 1,000 users), each token enrolled
 * has a serial of its own, locks expire, and what the pack reports by
 * design (configuration changes, a certificate about to expire, attacks) is
 * no part of the normal traffic.
 *
 * Attacks (trail_loadgen_opts.attacks, include/trail.h) are flows of their
 * own, each started once at a known time with randomness of its own and
 * ordered after the normal events of the same instant, so that the normal
 * traffic around them is the same as without them.
 *
 * Flows choose event ids and a context (user, client, address, trace id,
 * entry point, reason, ...); the catalog's schema of each event decides which
 * attributes are written: every declared attribute the context knows is set,
 * every required one it does not know is synthesised from its type. So every
 * event is valid under the STRICT policy whatever the schemas say.
 *
 * Not here: writing the events anywhere (the trail loadgen command does that).
 */
#include "event/event.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- deterministic randomness: splitmix64 seeding xoshiro256** ---- */

struct rng {
    uint64_t s[4];
};

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

/* uniform in [0, n) */
static uint32_t rng_below(struct rng *r, uint32_t n)
{
    return n ? (uint32_t)(((rng_next(r) >> 32) * n) >> 32) : 0;
}

/* uniform in [0, 1) */
static double rng_unit(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static int rng_chance(struct rng *r, double p)
{
    return rng_unit(r) < p;
}

/* a skewed pick: a few clients (service providers) account for most traffic */
static uint32_t rng_skewed(struct rng *r, uint32_t n)
{
    double u = rng_unit(r);
    return (uint32_t)((double)n * u * u * u) % (n ? n : 1);
}

/* ---- the simulated world ---- */

static const char *const first_names[] = {
    "anna",  "erik",    "maria", "lars",  "karin",  "johan", "eva",   "anders", "sara",   "per",
    "lena",  "nils",    "emma",  "oskar", "ingrid", "mats",  "sofia", "gustav", "elin",   "henrik",
    "linda", "fredrik", "maja",  "axel",  "helena", "jonas", "klara", "viktor", "astrid", "olof",
};
static const char *const last_names[] = {
    "lindqvist", "johansson", "andersson", "karlsson",   "nilsson",    "eriksson", "larsson",
    "olsson",    "persson",   "svensson",  "gustafsson", "pettersson", "jonsson",  "jansson",
    "hansson",   "bengtsson", "lindberg",  "lindstrom",  "lundgren",   "berg",     "holm",
};
static const char *const user_agents[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.0 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (Linux; Android 15; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0 Mobile Safari/537.36",
    "curl/8.5.0",
};
static const char *const sp_names[] = {
    "kommun",  "region",   "skola",  "vard",      "hr",
    "ekonomi", "intranet", "portal", "bibliotek", "e-tjanst",
};
static const char *const fail_reasons[] = {
    "user cancelled", "wrong password", "timeout",      "certificate expired",
    "unknown user",   "invalid otp",    "start failed", "user declined",
};

enum method { M_BANKID, M_FREJA, M_FIDO, M_SITHS, M_PASSWORD, M_OTP, M_ONETOUCH, M_N };

/* The context a flow gives its events. */
struct flow_ctx {
    uint32_t user;
    uint32_t client;
    uint8_t ua;
    uint8_t entry; /* 0 SAML, 1 OIDC, 2 Internal, 3 Relay, 4 Unknown */
    uint8_t reason;
    uint8_t has_reason;
    uint8_t admin;
    uint8_t attack;    /* made by an attack: its randomness is the attacks' own */
    uint8_t attacker;  /* N: src is the attacker's 2001:db8:ffff::N; 0: the user's */
    uint8_t has_fails; /* failed_attempts is fails, not the user's counter */
    uint8_t fails;
    uint16_t token; /* the user's token the flow is about: its number, 1 the first enrolled */
    char trace[18];
};

/* One event waiting in the time-ordered heap. */
struct pending {
    int64_t time_us;
    uint64_t order; /* ties broken by creation order: deterministic */
    const char *id;
    struct flow_ctx ctx;
};

struct trail_loadgen {
    const struct trail_catalog *cat;
    struct trail_loadgen_opts opts;
    struct rng rng;
    int64_t now_us;      /* start time of the next flow */
    double flows_per_us; /* mean arrival rate at rhythm 1.0 */
    uint64_t order;
    int64_t next_hourly_us;  /* scheduled jobs */
    int64_t next_daily_us;   /* certificate warnings, purge */
    uint8_t *fail_count;     /* consecutive failures per user */
    int64_t *locked_until;   /* per user: a lock lasts until then (0: not locked) */
    uint16_t *tokens;        /* per user: tokens enrolled so far (each its own serial) */
    double user_q, user_log; /* pick_user(): the flattened head and the log of the range */
    struct pending *heap;
    size_t n_heap;
    size_t cap_heap;
    uint64_t produced;
    int started;
    struct rng arng;       /* the attacks' randomness */
    uint32_t attacks_left; /* TRAIL_ATTACK_* bits not started yet */
    uint64_t attack_at[6]; /* each attack starts with this event (0-based), by bit */
    uint64_t attack_order; /* ties of attack events, after every normal event's */
};

#define N_ATTACKS 6

/* the default population: one user per this many events a day asked for (at least 1,000 users,
   at most MAX_DEFAULT_USERS) */
#define EVENTS_PER_USER_DAY 25
#define MAX_DEFAULT_USERS   10000000

/* ---- heap ---- */

static int before(const struct pending *a, const struct pending *b)
{
    return a->time_us < b->time_us || (a->time_us == b->time_us && a->order < b->order);
}

static int heap_push_order(struct trail_loadgen *g, int64_t t, uint64_t order, const char *id,
                           const struct flow_ctx *c)
{
    if (g->n_heap == g->cap_heap) {
        size_t cap = g->cap_heap ? g->cap_heap * 2 : 256;
        struct pending *p = realloc(g->heap, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        g->heap = p;
        g->cap_heap = cap;
    }
    size_t i = g->n_heap++;
    struct pending e = {.time_us = t, .order = order, .id = id, .ctx = *c};
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(&e, &g->heap[parent]))
            break;
        g->heap[i] = g->heap[parent];
        i = parent;
    }
    g->heap[i] = e;
    return 0;
}

static int heap_push(struct trail_loadgen *g, int64_t t, const char *id, const struct flow_ctx *c)
{
    return heap_push_order(g, t, g->order++, id, c);
}

static void heap_pop(struct trail_loadgen *g, struct pending *ret)
{
    *ret = g->heap[0];
    struct pending last = g->heap[--g->n_heap];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const struct pending *best = &last;
        if (l < g->n_heap && before(&g->heap[l], best))
            m = l, best = &g->heap[l];
        if (r < g->n_heap && before(&g->heap[r], best))
            m = r;
        if (m == i)
            break;
        g->heap[i] = g->heap[m];
        i = m;
    }
    if (g->n_heap)
        g->heap[i] = last;
}

/* ---- the rhythm of a working week ---- */

/* relative activity at time t: office hours peak, nights and weekends low */
static double rhythm(int64_t t_us)
{
    int64_t secs = t_us / 1000000;
    int64_t day = secs / 86400;
    double hour = (double)(secs % 86400) / 3600.0;
    int weekday = (int)((day + 3) % 7); /* 0 = Monday (1970-01-01 was a Thursday) */
    double base = 0.08 + 0.9 * exp(-pow((hour - 9.5) / 2.2, 2)) +
                  0.75 * exp(-pow((hour - 14.0) / 2.5, 2)) +
                  0.2 * exp(-pow((hour - 20.0) / 2.0, 2));
    return weekday >= 5 ? base * 0.3 : base;
}

/* ---- building flows ---- */

static void new_trace(struct trail_loadgen *g, struct flow_ctx *c)
{
    static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    c->trace[0] = '#';
    for (int i = 1; i <= 16; i++)
        c->trace[i] = b62[rng_below(&g->rng, 62)];
    c->trace[17] = '\0';
}

/*
 * A user by activity: user u (its rank) is picked with a weight of 1 / (u + q)
 * for q a thirtieth of the users (Zipf-Mandelbrot), drawn by the inverse of
 * the continuous law. Zipf's law (q = 0) would give one user of 1,000 an
 * eighth of the traffic, and the busiest of a large population thousands of
 * sign-ins a day; with q the busiest user is about ten times the mean
 * (30 / ln 31), whatever the population.
 */
static uint32_t pick_user(struct trail_loadgen *g)
{
    double x = g->user_q * exp(rng_unit(&g->rng) * g->user_log) - g->user_q;
    uint32_t u = x > 0 ? (uint32_t)x : 0;
    return u < g->opts.users ? u : g->opts.users - 1;
}

static void new_ctx(struct trail_loadgen *g, struct flow_ctx *c, uint8_t entry)
{
    memset(c, 0, sizeof(*c));
    c->user = pick_user(g);
    c->client = rng_skewed(&g->rng, g->opts.clients);
    c->ua = (uint8_t)((c->user * 7 + rng_below(&g->rng, 2)) % TRAIL_ARRAY_SIZE(user_agents));
    c->entry = entry;
    new_trace(g, c);
}

/* A flow appends its events at increasing offsets from its start. */
struct flow {
    struct trail_loadgen *g;
    struct flow_ctx ctx;
    int64_t t;
    int err;
};

static void step(struct flow *f, const char *id, int64_t min_ms, int64_t max_ms)
{
    struct trail_loadgen *g = f->g;
    struct rng *r = f->ctx.attack ? &g->arng : &g->rng;
    f->t += (min_ms + (int64_t)rng_below(r, (uint32_t)(max_ms - min_ms + 1))) * 1000 +
            rng_below(r, 1000);
    if (f->err)
        return;
    /* an attack's order is above every normal event's: ties cannot reorder normal traffic */
    if (f->ctx.attack)
        f->err = heap_push_order(g, f->t, (1ULL << 62) + g->attack_order++, id, &f->ctx);
    else
        f->err = heap_push(g, f->t, id, &f->ctx);
}

static void fail_with(struct flow *f, uint8_t reason)
{
    f->ctx.reason = reason;
    f->ctx.has_reason = 1;
}

#define LOCK_US (15 * 60 * 1000000LL) /* how long a lock lasts: a temporary lock */

/* whether the flow's user is locked at the flow's time */
static int locked(const struct flow *f)
{
    return f->g->locked_until[f->ctx.user] > f->t;
}

/* A wrong password: the lock counter grows and the third failure in a row locks the account
   for LOCK_US (the counter starts again at the lock). */
static void password_failure(struct flow *f)
{
    struct trail_loadgen *g = f->g;
    uint32_t u = f->ctx.user;
    int was_locked = locked(f);
    fail_with(f, was_locked ? 4 : 1);
    /* the count its events carry is this failure's: the counter starts again at a lock */
    if (!was_locked && g->fail_count[u] < UINT8_MAX)
        g->fail_count[u]++;
    f->ctx.has_fails = 1;
    f->ctx.fails = g->fail_count[u];
    step(f, "pipes_authentication_failed_incrementlockcounter", 800, 6000);
    if (!was_locked && g->fail_count[u] >= 3) {
        g->fail_count[u] = 0;
        step(f, "pipes_authentication_failed_locked_temporarily", 1, 20);
        step(f, "prism_user_locked", 1, 20);
        g->locked_until[u] = f->t + LOCK_US;
    }
}

/* One authentication by a method; returns 1 on success. */
static int authenticate(struct flow *f, enum method m)
{
    struct rng *r = &f->g->rng;
    int ok = !locked(f) && rng_chance(r, m == M_PASSWORD ? 0.86 : 0.93);
    switch (m) {
    case M_BANKID:
        step(f, rng_chance(r, 0.7) ? "core_bankid_auth_started" : "core_bankid_phoneauth_started",
             50, 400);
        if (ok) {
            step(f, "core_bankid_success", 4000, 25000);
            step(f, "auth_authenticators_bankid_successful", 5, 40);
        } else {
            int cancel = rng_chance(r, 0.6);
            fail_with(f, cancel ? 0 : 2);
            step(f, cancel ? "core_bankid_cancelled" : "core_bankid_failed", 3000, 60000);
            step(f, "auth_authenticators_bankid_failed", 5, 40);
        }
        break;
    case M_FREJA:
        step(f, "core_freja_auth_started", 50, 400);
        if (ok) {
            step(f, "core_freja_success", 4000, 30000);
            step(f, "auth_authenticators_freja_successful", 5, 40);
        } else {
            fail_with(f, rng_chance(r, 0.7) ? 0 : 2);
            step(f, rng_chance(r, 0.5) ? "core_freja_cancelled" : "core_freja_failed", 3000, 60000);
            step(f, "auth_authenticators_freja_failed", 5, 40);
        }
        break;
    case M_FIDO:
        step(f, ok ? "auth_authenticators_fido_successful" : "auth_authenticators_fido_failed",
             1500, 9000);
        if (!ok)
            fail_with(f, 0);
        break;
    case M_SITHS:
        step(f, "core_siths_auth_started", 50, 300);
        if (ok) {
            step(f, "core_siths_success", 2000, 9000);
            step(f, "auth_authenticators_siths_successful", 5, 40);
        } else {
            fail_with(f, 3);
            step(f, "core_siths_failed", 2000, 9000);
            step(f, "auth_authenticators_siths_failed", 5, 40);
        }
        break;
    case M_OTP:
        step(f, rng_chance(r, 0.8) ? "pipes_sms_delivered" : "pipes_otp_delivery_success", 200,
             1500);
        if (ok) {
            step(f, "pipes_otp_validation_success", 8000, 40000);
        } else {
            fail_with(f, 5);
            step(f, "pipes_otp_validation_failed", 8000, 40000);
        }
        break;
    case M_ONETOUCH:
        if (ok) {
            step(f, "pki_onetouch_assignment_created", 100, 500);
            step(f, "pki_onetouch_assignment_successful", 3000, 15000);
        } else {
            fail_with(f, rng_chance(r, 0.5) ? 6 : 1);
            step(f,
                 rng_chance(r, 0.5) ? "pki_onetouch_assignment_rejected"
                                    : "pki_onetouch_incorrectpincode",
                 3000, 15000);
        }
        break;
    default: /* password */
        if (ok)
            f->g->fail_count[f->ctx.user] = 0;
        else
            password_failure(f);
        break;
    }
    return ok;
}

static enum method pick_method(struct rng *r)
{
    static const double weights[M_N] = {0.42, 0.12, 0.08, 0.06, 0.2, 0.07, 0.05};
    double u = rng_unit(r), acc = 0;
    for (int m = 0; m < M_N; m++) {
        acc += weights[m];
        if (u < acc)
            return (enum method)m;
    }
    return M_BANKID;
}

static void flow_saml(struct flow *f)
{
    struct rng *r = &f->g->rng;
    step(f, "saml_incoming_authnrequest_success", 0, 5);
    step(f, "auth_entrypoints_saml_auth_started", 1, 15);
    if (rng_chance(r, 0.25)) {
        step(f, "auth_authenticators_ssoperformed", 20, 200);
        step(f, "auth_entrypoints_saml_auth_successful", 5, 50);
        step(f, "saml_outgoing_assertion_success", 1, 10);
        return;
    }
    step(f, "auth_authenticators_authselector_selected", 500, 6000);
    if (authenticate(f, pick_method(r))) {
        step(f, "auth_authenticators_authselector_successful", 1, 10);
        step(f, "auth_entrypoints_saml_auth_successful", 5, 50);
        step(f, "saml_outgoing_assertion_success", 1, 10);
        if (rng_chance(r, 0.15)) {
            step(f, "auth_entrypoints_saml_logout_started", 600000, 3600000);
            step(f, "auth_entrypoints_saml_logout_successful", 20, 300);
        }
    } else {
        step(f, "auth_entrypoints_saml_auth_failed", 5, 50);
    }
}

static void flow_oidc(struct flow *f)
{
    struct rng *r = &f->g->rng;
    step(f, "auth_entrypoints_oidc_auth_started", 0, 10);
    if (rng_chance(r, 0.03)) {
        fail_with(f, 2);
        step(f, "auth_entrypoints_oidc_client_auth_failed", 1, 30);
        return;
    }
    if (!authenticate(f, pick_method(r))) {
        step(f, "auth_entrypoints_oidc_auth_failed", 5, 50);
        return;
    }
    if (rng_chance(r, 0.12)) {
        step(f, "auth_entrypoints_oidc_consent_prompted", 5, 50);
        if (rng_chance(r, 0.92)) {
            step(f, "auth_entrypoints_oidc_consent_accepted", 2000, 15000);
        } else {
            fail_with(f, 7);
            step(f, "auth_entrypoints_oidc_consent_declined", 2000, 15000);
            step(f, "auth_entrypoints_oidc_auth_failed", 5, 50);
            return;
        }
    }
    step(f, "auth_entrypoints_oidc_auth_successful", 5, 50);
    step(f, "auth_entrypoints_oidc_token_success", 50, 800);
    step(f, "oidc_idtoken_validated", 1, 20);
    if (rng_chance(r, 0.6))
        step(f, "auth_entrypoints_oidc_userinfo_successful", 20, 400);
    if (rng_chance(r, 0.3))
        step(f, "auth_entrypoints_oidc_logout", 300000, 7200000);
}

static void flow_internal(struct flow *f)
{
    step(f, "auth_entrypoints_internal_auth_started", 0, 10);
    if (authenticate(f, M_PASSWORD)) {
        step(f, "auth_entrypoints_internal_auth_successful", 300, 2500);
        if (rng_chance(&f->g->rng, 0.5))
            step(f,
                 rng_chance(&f->g->rng, 0.95) ? "prism_myapps_application_accessgranted"
                                              : "prism_myapps_application_accessdenied",
                 2000, 20000);
    }
}

static void flow_relay(struct flow *f)
{
    struct rng *r = &f->g->rng;
    step(f, "auth_authenticators_relay_session_created", 0, 20);
    step(f, "auth_entrypoints_relay_stateupdated", 2000, 20000);
    if (rng_chance(r, 0.1)) {
        fail_with(f, 5);
        step(f, "auth_entrypoints_relay_incorrectotp", 2000, 20000);
        step(f, "auth_authenticators_relay_failed", 5, 50);
        return;
    }
    step(f, "auth_entrypoints_relay_consentgiven", 1000, 8000);
    step(f, "auth_entrypoints_relay_successful", 10, 200);
    step(f, "auth_authenticators_relay_successful", 1, 20);
}

static void flow_radius(struct flow *f)
{
    struct rng *r = &f->g->rng;
    double u = rng_unit(r);
    int ok = !locked(f) && rng_chance(r, 0.9);
    if (!ok)
        fail_with(f, locked(f) ? 4 : 1);
    if (u < 0.5)
        step(f,
             ok ? "radius_authenticators_usernamepasswordotp_successful"
                : "radius_authenticators_failed",
             0, 50);
    else if (u < 0.75)
        step(f,
             ok ? "radius_authenticators_usernamepassword_successful"
                : "radius_authenticators_failed",
             0, 50);
    else if (u < 0.9)
        step(f,
             ok ? "radius_authenticators_onetouch_successful"
                : "radius_authenticators_onetouch_failed",
             2000, 15000);
    else
        step(f,
             ok ? "eaptlsradius_authenticators_successful" : "eaptlsradius_authenticators_failed",
             10, 200);
}

static void flow_selfservice(struct flow *f)
{
    struct trail_loadgen *g = f->g;
    struct rng *r = &g->rng;
    double u = rng_unit(r);
    if (u < 0.45) {
        if (rng_chance(r, 0.9)) {
            step(f, "prism_pwdreset_success", 20000, 120000);
            g->fail_count[f->ctx.user] = 0;
            if (locked(f)) {
                g->locked_until[f->ctx.user] = 0;
                step(f, "prism_user_unlocked", 1, 50);
            }
        } else {
            fail_with(f, 5);
            step(f, "prism_pwdreset_failed", 20000, 120000);
        }
    } else if (u < 0.65) {
        /* a new token, a serial of its own (the attacks' tokens are numbered UINT16_MAX) */
        uint16_t *n = &g->tokens[f->ctx.user];
        if (*n < UINT16_MAX - 1)
            (*n)++;
        f->ctx.token = *n;
        step(f, "prism_token_enrolled", 5000, 30000);
        step(f, "prism_token_activated", 10000, 60000);
    } else if (u < 0.75) {
        step(f, "prism_fido_enrolled", 5000, 30000);
    } else if (u < 0.85) {
        step(f, "pki_onetouch_profile_created", 5000, 30000);
        step(f, "pki_onetouch_profile_activated", 5000, 30000);
        if (rng_chance(r, 0.4))
            step(f, "pki_onetouch_profile_activatebiometric", 2000, 10000);
    } else if (u < 0.93) {
        f->ctx.token = g->tokens[f->ctx.user]; /* the latest; 0: one enrolled before the span */
        step(f, "prism_token_revoked", 1000, 10000);
        step(f, "pipes_token_revoked", 1, 50);
    } else {
        step(f, "core_internaluser_passwordchanged", 5000, 30000);
    }
}

/*
 * An administrators' tool reading the configuration through the configuration
 * store's API (GET). Changes to the configuration are no part of the normal
 * traffic: a real server sees a few a week, in change windows, whatever its
 * traffic, and each is what the pack's config_change rule is there to report.
 */
static void flow_admin(struct flow *f)
{
    struct rng *r = &f->g->rng;
    f->ctx.admin = 1;
    f->ctx.entry = 2;
    step(f, "store_config_apicall", 0, 100);
    if (rng_chance(r, 0.5))
        step(f, "store_config_apicall", 50, 2000);
}

/*
 * Someone who does not remember their password: two to four tries at the
 * internal entrypoint, each a failure (the third in a row locks the account),
 * and most then reset it themself and sign in.
 */
static void flow_forgotten(struct flow *f)
{
    struct rng *r = &f->g->rng;
    int n = 2 + (int)rng_below(r, 3);
    for (int i = 0; i < n && !locked(f); i++) {
        new_trace(f->g, &f->ctx);
        step(f, "auth_entrypoints_internal_auth_started", 3000, 40000);
        password_failure(f);
    }
    if (!rng_chance(r, 0.7))
        return;
    f->ctx.has_reason = 0;
    new_trace(f->g, &f->ctx);
    step(f, "prism_pwdreset_success", 30000, 180000);
    f->g->fail_count[f->ctx.user] = 0;
    if (locked(f)) {
        f->g->locked_until[f->ctx.user] = 0;
        step(f, "prism_user_unlocked", 1, 50);
    }
    new_trace(f->g, &f->ctx);
    step(f, "auth_entrypoints_internal_auth_started", 5000, 60000);
    step(f, "auth_entrypoints_internal_auth_successful", 300, 2500);
}

/* ---- attacks: known flows at known times (include/trail.h, enum trail_attack) ---- */

/* A target of an attack: a user from the upper half, whom normal traffic rarely picks. */
static uint32_t attack_user(struct trail_loadgen *g)
{
    uint32_t n = g->opts.users;
    return n - 1 - rng_below(&g->arng, (n + 1) / 2);
}

static void attack_ctx(struct trail_loadgen *g, struct flow_ctx *c, uint8_t entry, int bit)
{
    memset(c, 0, sizeof(*c));
    c->attack = 1;
    c->attacker = (uint8_t)(bit + 1);
    c->user = attack_user(g);
    c->client = rng_below(&g->arng, g->opts.clients);
    c->ua = (uint8_t)(TRAIL_ARRAY_SIZE(user_agents) - 1); /* a script: curl */
    c->entry = entry;
}

/* a new correlation id from the attacks' randomness */
static void attack_trace(struct flow *f)
{
    static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    f->ctx.trace[0] = '#';
    for (int i = 1; i <= 16; i++)
        f->ctx.trace[i] = b62[rng_below(&f->g->arng, 62)];
    f->ctx.trace[17] = '\0';
}

/* one failed OIDC sign-in with a wrong password, pace_s after the last */
static void oidc_failure(struct flow *f, int64_t pace_s)
{
    attack_trace(f);
    fail_with(f, 1);
    step(f, "auth_entrypoints_oidc_auth_started", pace_s * 1000, pace_s * 1000);
    step(f, "auth_entrypoints_oidc_auth_failed", 200, 900);
}

static void attack_guess(struct flow *f)
{
    for (int i = 0; i < 12; i++)
        oidc_failure(f, 15);
}

static void attack_spray(struct flow *f)
{
    uint32_t first = f->ctx.user;
    for (uint32_t i = 0; i < 15; i++) {
        f->ctx.user = (first + i * 7) % f->g->opts.users;
        attack_trace(f);
        fail_with(f, 1);
        step(f, "saml_incoming_authnrequest_success", 20000, 20000);
        step(f, "auth_entrypoints_saml_auth_started", 1, 15);
        step(f, "auth_entrypoints_saml_auth_failed", 300, 1500);
    }
}

/* a script locking accounts: three wrong passwords each, one account after the other */
static void attack_lockout(struct flow *f)
{
    uint32_t first = f->ctx.user;
    for (uint32_t i = 0; i < 24; i++) {
        f->ctx.user = (first + i * 11) % f->g->opts.users;
        f->ctx.has_fails = 1;
        for (uint8_t k = 1; k <= 3; k++) {
            attack_trace(f);
            fail_with(f, 1);
            f->ctx.fails = k;
            step(f, "auth_entrypoints_internal_auth_started", 5000, 6000);
            step(f, "pipes_authentication_failed_incrementlockcounter", 200, 900);
        }
        step(f, "pipes_authentication_failed_locked_temporarily", 1, 20);
        step(f, "prism_user_locked", 1, 20);
    }
}

static void attack_fatigue(struct flow *f)
{
    for (int i = 0; i < 5; i++) {
        attack_trace(f);
        step(f, "pki_onetouch_assignment_created", 30000, 30000);
        if (i < 4) {
            fail_with(f, 6);
            step(f, "pki_onetouch_assignment_rejected", 3000, 15000);
        } else {
            f->ctx.has_reason = 0;
            step(f, "pki_onetouch_assignment_successful", 3000, 15000);
        }
    }
}

static void attack_breakin(struct flow *f)
{
    for (int i = 0; i < 6; i++)
        oidc_failure(f, 20);
    attack_trace(f);
    f->ctx.has_reason = 0;
    step(f, "auth_entrypoints_oidc_auth_started", 20000, 20000);
    step(f, "auth_entrypoints_oidc_auth_successful", 300, 900);
    step(f, "auth_entrypoints_oidc_token_success", 50, 800);
}

static void attack_token(struct flow *f)
{
    /* enrolled and first used from the user's own address, then used from the attacker's */
    uint8_t attacker = f->ctx.attacker;
    f->ctx.attacker = 0;
    f->ctx.entry = 2;
    f->ctx.token = UINT16_MAX; /* a serial that no token of the normal traffic has */
    attack_trace(f);
    step(f, "prism_token_enrolled", 0, 0);
    step(f, "prism_token_activated", 10000, 60000);
    attack_trace(f);
    step(f, "pipes_token_validation_success", 60000, 120000);
    f->ctx.attacker = attacker;
    attack_trace(f);
    step(f, "pipes_token_validation_success", 600000, 900000);
}

/* Start the attacks due at the next event, at its time. */
static int attacks_due(struct trail_loadgen *g)
{
    static void (*const run[N_ATTACKS])(struct flow *) = {
        attack_guess, attack_spray, attack_lockout, attack_fatigue, attack_breakin, attack_token};
    static const uint8_t entry[N_ATTACKS] = {1, 0, 2, 2, 1, 2};
    for (int bit = 0; bit < N_ATTACKS; bit++) {
        if (!(g->attacks_left & (1u << bit)) || g->attack_at[bit] > g->produced)
            continue;
        g->attacks_left &= ~(1u << bit);
        struct flow f = {.g = g, .t = g->heap[0].time_us};
        attack_ctx(g, &f.ctx, entry[bit], bit);
        run[bit](&f);
        if (f.err)
            return f.err;
    }
    return 0;
}

static int start_flow(struct trail_loadgen *g, int64_t t)
{
    struct flow f = {.g = g, .t = t};
    double u = rng_unit(&g->rng);
    if (u < 0.323) {
        new_ctx(g, &f.ctx, 0);
        flow_saml(&f);
    } else if (u < 0.603) {
        new_ctx(g, &f.ctx, 1);
        flow_oidc(&f);
    } else if (u < 0.743) {
        new_ctx(g, &f.ctx, 2);
        flow_internal(&f);
    } else if (u < 0.783) {
        new_ctx(g, &f.ctx, 3);
        flow_relay(&f);
    } else if (u < 0.923) {
        new_ctx(g, &f.ctx, 4);
        flow_radius(&f);
    } else if (u < 0.994) {
        new_ctx(g, &f.ctx, 2);
        flow_selfservice(&f);
    } else if (u < 0.995) {
        new_ctx(g, &f.ctx, 2);
        flow_forgotten(&f);
    } else {
        new_ctx(g, &f.ctx, 2);
        flow_admin(&f);
    }
    return f.err;
}

/*
 * The push certificate: renewed for a year at the start of the span, and
 * again each time it expires; the server warns once a day in the last
 * CERT_WARN_DAYS days of each year. A span shorter than eleven months has no
 * warning: an expiring certificate is an incident the pack reports, not traffic.
 */
#define CERT_DAYS      365
#define CERT_WARN_DAYS 30

static int64_t cert_days_left(const struct trail_loadgen *g, int64_t t_us)
{
    int64_t day = (t_us - g->opts.start_us) / (86400LL * 1000000);
    return CERT_DAYS - (day >= 0 ? day % CERT_DAYS : 0);
}

/* Scheduled and housekeeping events, at fixed times. */
static int schedule_due(struct trail_loadgen *g, int64_t until)
{
    int r = 0;
    struct flow_ctx c;
    while (!r && g->next_hourly_us <= until) {
        new_ctx(g, &c, 4);
        int ok = rng_chance(&g->rng, 0.97);
        if (!ok)
            c.has_reason = 1, c.reason = 2;
        r = heap_push(g, g->next_hourly_us,
                      ok ? "schedule_scheduledjob_performed" : "schedule_scheduledjob_failed", &c);
        if (!r)
            r = heap_push(g, g->next_hourly_us + 1000,
                          ok ? "core_server_schedule_done" : "core_server_schedule_failed", &c);
        g->next_hourly_us += 3600LL * 1000000;
    }
    while (!r && g->next_daily_us <= until) {
        new_ctx(g, &c, 4);
        if (cert_days_left(g, g->next_daily_us) <= CERT_WARN_DAYS)
            r = heap_push(g, g->next_daily_us + 2 * 3600LL * 1000000,
                          "messagingapns_certificate_warning", &c);
        if (!r && rng_chance(&g->rng, 0.3))
            r = heap_push(g, g->next_daily_us + 3 * 3600LL * 1000000, "saml_metadata_loaded", &c);
        g->next_daily_us += 86400LL * 1000000;
    }
    return r;
}

/* ---- the public calls ---- */

int trail_loadgen_new(const struct trail_catalog *cat, const struct trail_loadgen_opts *opts,
                      struct trail_loadgen **ret_gen)
{
    struct trail_loadgen *g = calloc(1, sizeof(*g));
    if (!g)
        return -ENOMEM;
    g->cat = cat;
    if (opts)
        g->opts = *opts;
    if (!g->opts.seed)
        g->opts.seed = 1;
    if (!g->opts.clients)
        g->opts.clients = 20;
    if (!g->opts.days)
        g->opts.days = 1;
    if (!g->opts.events)
        g->opts.events = 100000;
    if (!g->opts.users) {
        /* the population that makes the volume asked for: people sign in a few times a day */
        uint64_t n = g->opts.events / g->opts.days / EVENTS_PER_USER_DAY;
        g->opts.users = n < 1000 ? 1000 : n > MAX_DEFAULT_USERS ? MAX_DEFAULT_USERS : (uint32_t)n;
    }
    if (!g->opts.start_us)
        g->opts.start_us = 1793491200LL * 1000000; /* 2026-11-01T00:00:00Z */
    if (!g->opts.host)
        g->opts.host = "idp-node1";
    g->fail_count = calloc(g->opts.users, 1);
    g->locked_until = calloc(g->opts.users, sizeof(*g->locked_until));
    g->tokens = calloc(g->opts.users, sizeof(*g->tokens));
    if (!g->fail_count || !g->locked_until || !g->tokens) {
        trail_loadgen_free(g);
        return -ENOMEM;
    }
    g->user_q = g->opts.users / 30.0 > 1.0 ? g->opts.users / 30.0 : 1.0;
    g->user_log = log((g->opts.users + g->user_q) / g->user_q);
    rng_seed(&g->rng, g->opts.seed);
    /* about 4.2 events per flow; the mean of rhythm() over a week is about 0.33 */
    double span_us = (double)g->opts.days * 86400e6;
    g->flows_per_us = (double)g->opts.events / 4.2 / span_us / 0.33;
    g->now_us = g->opts.start_us;
    g->next_hourly_us = g->opts.start_us;
    g->next_daily_us = g->opts.start_us;
    /* the attacks asked for, in the order of their bits, spread evenly over the events expected:
     * by count, not by time, so that each is among them whatever the rate turns out to be */
    rng_seed(&g->arng, g->opts.seed ^ 0x61747461636b73ULL);
    g->attacks_left = g->opts.attacks & TRAIL_ATTACK_ALL;
    int k = __builtin_popcount(g->attacks_left), i = 0;
    for (int bit = 0; bit < N_ATTACKS; bit++)
        if (g->attacks_left & (1u << bit))
            g->attack_at[bit] = g->opts.events * (uint64_t)++i / (uint64_t)(k + 1);
    *ret_gen = g;
    return 0;
}

void trail_loadgen_free(struct trail_loadgen *g)
{
    if (!g)
        return;
    free(g->fail_count);
    free(g->locked_until);
    free(g->tokens);
    free(g->heap);
    free(g);
}

static void user_name(const struct trail_loadgen *g, uint32_t u, char *buf, size_t size)
{
    size_t nf = TRAIL_ARRAY_SIZE(first_names), nl = TRAIL_ARRAY_SIZE(last_names);
    size_t ns = TRAIL_ARRAY_SIZE(sp_names);
    /* one user in 97 is a service account; u % 97 == 13 repeats its name (u % 10) every 970
       users, which a number after the tenth keeps apart: one name, one account */
    if (u % 97 == 13 && u < 97 * ns)
        snprintf(buf, size, "svc-%s", sp_names[u % ns]);
    else if (u % 97 == 13)
        snprintf(buf, size, "svc-%s%u", sp_names[u % ns], (unsigned)(u / (97 * ns)));
    else if (u < nf * nl)
        snprintf(buf, size, "%s.%s", first_names[u % nf], last_names[(u / nf) % nl]);
    else
        snprintf(buf, size, "%s.%s%u", first_names[u % nf], last_names[(u / nf) % nl],
                 (unsigned)(u / (nf * nl)));
    (void)g;
}

static void user_ip(uint32_t u, uint32_t salt, char *buf, size_t size)
{
    /* documentation ranges only: 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32 */
    static const char *const nets[] = {"192.0.2", "198.51.100", "203.0.113"};
    uint32_t h = (u * 2654435761u) ^ (salt * 40503u);
    if (h % 10 < 3)
        snprintf(buf, size, "2001:db8:%x::%x", (unsigned)(u % 4096), (unsigned)(h % 65535 + 1));
    else
        snprintf(buf, size, "%s.%u", nets[h % 3], (unsigned)(1 + u % 254));
}

static void client_name(uint32_t client, int oidc, char *buf, size_t size)
{
    const char *n = sp_names[client % TRAIL_ARRAY_SIZE(sp_names)];
    unsigned k = (unsigned)(client / TRAIL_ARRAY_SIZE(sp_names));
    if (oidc && k)
        snprintf(buf, size, "oidc-client-%s%u", n, k);
    else if (oidc)
        snprintf(buf, size, "oidc-client-%s", n);
    else if (k)
        snprintf(buf, size, "https://sp%u.%s.example/saml", k, n);
    else
        snprintf(buf, size, "https://sp.%s.example/saml", n);
}

/* The text a context gives for an attribute key, or NULL when it has none. */
static const char *ctx_value(struct trail_loadgen *g, const struct pending *p,
                             const struct trail_attr_def *d, char *buf, size_t size)
{
    static const char *const entry_types[] = {"SAML", "OIDC", "Internal", "Relay", "Unknown"};
    static const char *const entry_ids[] = {"saml1", "oidc1", "internal1", "relay1", "radius1"};
    const struct flow_ctx *c = &p->ctx;
    const char *k = d->key;
    if (!strcmp(k, "phxTraceId"))
        return c->trace;
    if (!strcmp(k, "duser")) {
        user_name(g, c->user, buf, size);
        return buf;
    }
    if (!strcmp(k, "suser"))
        return c->admin ? "admin" : NULL;
    if (!strcmp(k, "requestMethod"))
        return c->admin ? "GET" : NULL;
    if (!strcmp(k, "request"))
        return c->admin ? (c->client % 2 ? "/api/config/authselector" : "/api/config/bankid")
                        : NULL;
    if (!strcmp(k, "status"))
        return c->admin ? "200" : NULL;
    if (!strcmp(k, "src")) {
        if (c->attacker)
            snprintf(buf, size, "2001:db8:ffff::%u", (unsigned)c->attacker);
        else
            user_ip(c->user, (uint32_t)(p->time_us / 86400000000LL), buf, size);
        return buf;
    }
    if (!strcmp(k, "requestClientApplication"))
        return c->entry == 4 ? NULL : user_agents[c->ua];
    if (!strcmp(k, "sourceServiceName")) {
        client_name(c->client, c->entry == 1, buf, size);
        return buf;
    }
    if (!strcmp(k, "phxEntrypointType"))
        return entry_types[c->entry];
    if (!strcmp(k, "phxEntrypointId"))
        return entry_ids[c->entry];
    if (!strcmp(k, "phxEntrypointTransactionType"))
        return "AUTH";
    if (!strcmp(k, "phxHttpServerId"))
        return "https";
    if (!strcmp(k, "reason"))
        return c->has_reason ? fail_reasons[c->reason % TRAIL_ARRAY_SIZE(fail_reasons)] : NULL;
    if (!strcmp(k, "msg")) {
        if (!strcmp(p->id, "core_server_config_updated")) {
            snprintf(buf, size, "Updated module %s", c->client % 2 ? "AuthSelector" : "BankID");
            return buf;
        }
        return NULL;
    }
    if (!strcmp(k, "dhost") || !strcmp(k, "shost"))
        return g->opts.host;
    if (!strcmp(k, "job")) {
        static const char *const jobs[] = {"purge-events", "sync-ldap",    "refresh-metadata",
                                           "rotate-keys",  "report-usage", "cleanup-sessions"};
        return jobs[(p->time_us / 3600000000LL) % (int64_t)TRAIL_ARRAY_SIZE(jobs)];
    }
    if (!strcmp(k, "version"))
        return "6.2.1";
    if (!strcmp(k, "duration_ms")) {
        snprintf(buf, size, "%u", (unsigned)(40 + (p->order * 2654435761u) % 4000));
        return buf;
    }
    if (!strcmp(k, "failed_attempts")) {
        snprintf(buf, size, "%u", (unsigned)(c->has_fails ? c->fails : g->fail_count[c->user]));
        return buf;
    }
    if (!strcmp(k, "token_serial")) {
        /* one serial per token: the user and the token's number, mixed (splitmix64) */
        uint64_t x = ((uint64_t)c->user << 16 | c->token) + 0x9e3779b97f4a7c15ULL;
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
        snprintf(buf, size, "OATH%012llX", (unsigned long long)((x ^ (x >> 31)) >> 16));
        return buf;
    }
    if (!strcmp(k, "channel"))
        return "sms";
    if (!strcmp(k, "recipient")) {
        snprintf(buf, size, "+46701%06u", (unsigned)(c->user % 1000000));
        return buf;
    }
    if (!strcmp(k, "days_left")) {
        snprintf(buf, size, "%d", (int)cert_days_left(g, p->time_us));
        return buf;
    }
    return NULL;
}

/* A plausible value of the declared type for a required attribute the context lacks. */
static const char *synth_value(struct trail_loadgen *g, const struct pending *p,
                               const struct trail_attr_def *d, char *buf, size_t size)
{
    struct rng *rng = p->ctx.attack ? &g->arng : &g->rng;
    switch (d->type) {
    case TRAIL_TYPE_INT:
        snprintf(buf, size, "%u", (unsigned)rng_below(rng, 1000));
        return buf;
    case TRAIL_TYPE_BOOL:
        return rng_chance(rng, 0.5) ? "true" : "false";
    case TRAIL_TYPE_IP:
        user_ip(p->ctx.user, 7, buf, size);
        return buf;
    case TRAIL_TYPE_TIME:
        trail_time_format(p->time_us + 30LL * 86400 * 1000000, buf);
        return buf;
    case TRAIL_TYPE_ENUM:
        return d->n_enum ? d->enum_values[rng_below(rng, d->n_enum)] : "";
    default:
        snprintf(buf, size, "%s-%u", d->key, (unsigned)rng_below(rng, 100));
        return buf;
    }
}

int trail_loadgen_next(struct trail_loadgen *g, struct trail_event *ev)
{
    int r;
    if (!g->started) {
        struct flow_ctx c;
        new_ctx(g, &c, 4);
        g->started = 1;
        if ((r = heap_push(g, g->now_us, "core_server_run_starting", &c)) < 0 ||
            (r = heap_push(g, g->now_us + 1800000, "core_server_run_started", &c)) < 0)
            return r;
        g->now_us += 2000000;
    }
    /* start flows until the earliest pending event is before the next flow start */
    while (g->n_heap == 0 || g->heap[0].time_us >= g->now_us) {
        if ((r = start_flow(g, g->now_us)) < 0)
            return r;
        double rate = g->flows_per_us * rhythm(g->now_us);
        double gap = -log(1.0 - rng_unit(&g->rng)) / (rate > 1e-12 ? rate : 1e-12);
        g->now_us += (int64_t)gap + 1;
    }
    /* scheduled events and attacks up to the next flow start go in before anything is taken out */
    if ((r = schedule_due(g, g->now_us)) < 0 || (r = attacks_due(g)) < 0)
        return r;
    struct pending p;
    heap_pop(g, &p);

    if ((r = trail_event_reset(ev, p.id, (size_t)-1)) < 0)
        return r;
    trail_event_set_time(ev, p.time_us);
    if ((r = trail_event_set_host(ev, g->opts.host, (size_t)-1)) < 0)
        return r;
    const struct trail_event_def *def = trail_event_def(ev);
    for (uint16_t i = 0; def && i < def->n_attrs; i++) {
        const struct trail_attr_def *d = def->attrs[i];
        char buf[160];
        const char *v = ctx_value(g, &p, d, buf, sizeof(buf));
        if (!v && (d->flags & TRAIL_ATTR_REQUIRED))
            v = synth_value(g, &p, d, buf, sizeof(buf));
        if (!v)
            continue;
        if (d->type == TRAIL_TYPE_ENUM &&
            trail_event_set_text(ev, d->key, (size_t)-1, v, (size_t)-1) == TRAIL_E_BAD_ENUM)
            v = synth_value(g, &p, d, buf, sizeof(buf));
        if ((r = trail_event_set_text(ev, d->key, (size_t)-1, v, (size_t)-1)) < 0)
            return r;
    }
    g->produced++;
    return 0;
}

uint64_t trail_loadgen_count(const struct trail_loadgen *g)
{
    return g->produced;
}
