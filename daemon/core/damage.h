/*
 * damage.h - traild and the damage in its store (damage.c): the scrub after
 * start, the records and log lines that report each damaged run once, and
 * what /healthz and /metrics say about it.
 */
#ifndef TRAILD_DAMAGE_H
#define TRAILD_DAMAGE_H

#include "core/config.h"
#include "core/json_out.h"

#include <trail.h>

/* damage_start - scrub the store on a thread of its own (after the store is open). */
void damage_start(void);
/* damage_stop - wait for the scrub (it reads; it stops by itself) and forget what was reported. */
void damage_stop(void);
/*
 * damage_poll - log and record (write_record) each damaged run not reported
 * yet; a run whose record could not be written is tried again next time.
 * Called from the main loop.
 */
void damage_poll(const struct config *cfg,
                 int (*write_record)(const struct config *cfg, const struct trail_store_damage *d));
/*
 * damage_health - *ret_degraded: 1 when the store has damage not quarantined;
 * with details, append ,"damaged":[...],"scrub":"running|done" to out.
 */
int damage_health(struct trail_buf *out, int details, int *ret_degraded);
/* damage_metrics - the trail_store_damaged_* and quarantined gauges, Prometheus text. */
int damage_metrics(struct trail_buf *out);

#endif
