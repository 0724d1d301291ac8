/*
 * damage.c - what traild does about damage in its store: a scrub after start
 * (every sealed block's CRC, on a thread of its own at idle priority), one
 * trail_store_damaged record and one log line per damaged run found (at open,
 * by the scrub, or by any reader since), and the store's damage as /healthz
 * and /metrics show it.
 *
 * Not for: finding damage (lib/store/store_damage.c), going around it (searches in
 * lib/query/index.c, sinks in sink.c).
 */
#include "core/damage.h"

#include "core/log.h"
#include "core/traild.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_t scrub_thread;
static int scrub_started;
static atomic_int scrub_done;
static uint64_t reported_gen;
static struct trail_store_damage *reported;
static size_t n_reported;

static void *scrub_main(void *arg)
{
    (void)arg;
    /* catch-up work that must never slow ingest, as the sealer's */
    struct sched_param sp = {0};
    pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
    int r = trail_store_scrub(traild.store);
    if (r < 0)
        log_msg(LOG_WARN, "store scrub: %s", trail_strerror(r));
    else
        log_msg(r ? LOG_ERR : LOG_INFO, "store scrub: every sealed block read, %d damaged run%s", r,
                r == 1 ? "" : "s");
    atomic_store(&scrub_done, 1);
    return NULL;
}

void damage_start(void)
{
    if (pthread_create(&scrub_thread, NULL, scrub_main, NULL) == 0)
        scrub_started = 1;
}

void damage_stop(void)
{
    if (scrub_started)
        pthread_join(scrub_thread, NULL);
    scrub_started = 0;
    free(reported);
    reported = NULL;
    n_reported = 0;
}

static int was_reported(const struct trail_store_damage *d)
{
    for (size_t i = 0; i < n_reported; i++)
        if (reported[i].first_seq == d->first_seq && reported[i].last_seq == d->last_seq)
            return 1;
    return 0;
}

void damage_poll(const struct config *cfg,
                 int (*write_record)(const struct config *cfg, const struct trail_store_damage *d))
{
    struct trail_store_damage *all;
    size_t n;
    uint64_t gen;
    if (!traild.store || trail_store_damage_list(traild.store, &all, &n, &gen) < 0)
        return;
    if (gen == reported_gen) {
        free(all);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (was_reported(&all[i]))
            continue;
        log_msg(LOG_ERR,
                "store damaged: %s: seqs %" PRIu64 "..%" PRIu64 " %s (%s); searches go past "
                "them, sinks wait for `trail sinks skip`, `trail repair` quarantines the file",
                all[i].file, all[i].first_seq, all[i].last_seq,
                all[i].quarantined ? "were quarantined" : "cannot be read", all[i].reason);
        if (write_record(cfg, &all[i]) < 0)
            continue; /* tried again at the next poll */
        struct trail_store_damage *p = realloc(reported, (n_reported + 1) * sizeof(*p));
        if (!p)
            break;
        reported = p;
        reported[n_reported++] = all[i];
    }
    /* the generation counts as reported only when every run of it was */
    size_t done = 0;
    for (size_t i = 0; i < n; i++)
        done += (size_t)was_reported(&all[i]);
    if (done == n)
        reported_gen = gen;
    free(all);
}

int damage_health(struct trail_buf *out, int details, int *ret_degraded)
{
    struct trail_store_damage *all = NULL;
    size_t n = 0;
    int r = traild.store ? trail_store_damage_list(traild.store, &all, &n, NULL) : 0;
    if (r < 0)
        return r;
    int degraded = 0;
    for (size_t i = 0; i < n; i++)
        degraded |= !all[i].quarantined;
    *ret_degraded = degraded;
    if (details && n) {
        r = json_printf(out, ",\"damaged\":[");
        for (size_t i = 0; i < n && r == 0; i++) {
            r = json_printf(out, "%s{\"from_seq\":%" PRIu64 ",\"to_seq\":%" PRIu64 ",\"file\":",
                            i ? "," : "", all[i].first_seq, all[i].last_seq);
            if (r == 0)
                r = json_str(out, all[i].file, (size_t)-1);
            if (r == 0)
                r = json_printf(out, ",\"reason\":");
            if (r == 0)
                r = json_str(out, all[i].reason, (size_t)-1);
            if (r == 0)
                r = json_printf(out, ",\"quarantined\":%s}", all[i].quarantined ? "true" : "false");
        }
        if (r == 0)
            r = json_printf(out, "],\"scrub\":\"%s\"",
                            atomic_load(&scrub_done) ? "done" : "running");
    }
    free(all);
    return r;
}

int damage_metrics(struct trail_buf *out)
{
    struct trail_store_damage *all = NULL;
    size_t n = 0;
    if (traild.store && trail_store_damage_list(traild.store, &all, &n, NULL) < 0)
        return -ENOMEM;
    uint64_t runs = 0, recs = 0, q_runs = 0, q_recs = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t k = all[i].last_seq - all[i].first_seq + 1;
        if (all[i].quarantined) {
            q_runs++;
            q_recs += k;
        } else {
            runs++;
            recs += k;
        }
    }
    free(all);
    return json_printf(
        out,
        "# HELP trail_store_damaged_ranges Runs of records in the store that cannot be read "
        "(damaged, not quarantined).\n"
        "# TYPE trail_store_damaged_ranges gauge\n"
        "trail_store_damaged_ranges %" PRIu64 "\n"
        "# HELP trail_store_damaged_records Records in those runs.\n"
        "# TYPE trail_store_damaged_records gauge\n"
        "trail_store_damaged_records %" PRIu64 "\n"
        "# HELP trail_store_quarantined_ranges Runs of records trail repair moved out of the "
        "store (DIR/quarantined).\n"
        "# TYPE trail_store_quarantined_ranges gauge\n"
        "trail_store_quarantined_ranges %" PRIu64 "\n"
        "# HELP trail_store_quarantined_records Records in those runs.\n"
        "# TYPE trail_store_quarantined_records gauge\n"
        "trail_store_quarantined_records %" PRIu64 "\n"
        "# HELP trail_store_scrub_done 1 once the scrub after start has read every sealed block.\n"
        "# TYPE trail_store_scrub_done gauge\n"
        "trail_store_scrub_done %d\n",
        runs, recs, q_runs, q_recs, atomic_load(&scrub_done));
}
