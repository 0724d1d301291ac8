/*
 * fuzz_rules.c - libFuzzer target for the Sigma rule reader (lib/detect/).
 *
 * Each input is read as a rule file (every YAML document a rule), the set
 * is finished (correlations resolved, the catalog's warnings), and every
 * rule that loaded is run over a few fixed events through the engine:
 * nothing may crash, leak or read out of bounds, and a rule that loads must
 * evaluate. Every problem reported must carry a message.
 *
 * Not here: matching semantics (tests/unit/test_detect.c). In ordinary
 * builds tests/fuzz/replay.c runs this over corpus/fuzz_rules/ as a plain
 * test.
 */
#include "detect.h"
#include "trail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct trail_catalog *cat;
static struct trail_event *events[4];

static void setup(void)
{
    static const struct {
        const char *id, *k1, *v1, *k2, *v2;
    } defs[] = {
        {"auth_entrypoints_oidc_auth_failed", "duser", "alice", "src", "192.0.2.7"},
        {"pipes_authentication_failed_incrementlogincounter", "failed_attempts", "7", "duser",
         "bob"},
        {"pki_onetouch_assignment_rejected", "duser", "alice", "reason", "declined"},
        {"core_server_license_expired", "msg", "expired", "license_not_after",
         "2026-11-01T00:00:00Z"},
    };
    if (trail_catalog_new(&cat) != 0)
        abort();
    for (int i = 0; i < 4; i++) {
        if (trail_event_new(cat, defs[i].id, &events[i]) != 0)
            abort();
        trail_event_set_text(events[i], defs[i].k1, (size_t)-1, defs[i].v1, strlen(defs[i].v1));
        trail_event_set_text(events[i], defs[i].k2, (size_t)-1, defs[i].v2, strlen(defs[i].v2));
        trail_event_set_host(events[i], "idp1", 4);
    }
}

static void on_diag(void *ctx, const struct detect_diag *d)
{
    (void)ctx;
    if (!d->msg || !d->msg[0] || !d->file)
        abort();
}

static void on_alert(void *ctx, const struct detect_alert *a)
{
    (*(size_t *)ctx)++;
    if (!a->rule || a->n_first > DETECT_ALERT_SEQS || a->n_last > DETECT_ALERT_SEQS)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!cat)
        setup();
    struct detect_rules *rs;
    if (detect_rules_new(cat, &rs) != 0)
        abort();
    detect_rules_add(rs, "fuzz.yml", (const char *)data, size, on_diag, NULL);
    detect_rules_finish(rs, on_diag, NULL);
    struct detect_engine *e;
    if (detect_engine_new(rs, &e) != 0)
        abort();
    size_t n = 0;
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 4; i++) {
            trail_event_set_time(events[i], (int64_t)(round * 4 + i) * 30 * 1000000);
            trail_event_set_seq(events[i], (uint64_t)(round * 4 + i + 1));
            if (detect_engine_feed(e, events[i], on_alert, &n) < 0)
                abort();
        }
    detect_engine_free(e);
    detect_rules_free(rs);
    return 0;
}
