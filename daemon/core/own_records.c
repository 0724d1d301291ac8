/*
 * own_records.c - trail's own records that traild writes about what it was
 * sent (refused requests, rejected items): queued to ingest like any batch
 * of one, so that they are ordered with the events around them, and freed
 * once stored. Not for: the lifecycle records (main.c writes those itself,
 * around the inputs' start and stop).
 */
#include "core/log.h"
#include "core/metrics.h"
#include "core/traild.h"

#include <errno.h>
#include <stdlib.h>

struct own_batch {
    struct ingest_batch b;
    struct trail_event *ev;
};

static void own_done(struct ingest_batch *b)
{
    struct own_batch *o = b->arg;
    if (b->status)
        log_msg(LOG_ERR, "cannot store %s: %s", trail_event_id(o->ev), trail_strerror(b->status));
    trail_event_free(o->ev);
    free(o);
}

int own_record_submit(struct trail_event *ev)
{
    int r = trail_event_validate(ev);
    if (r < 0) {
        log_msg(LOG_ERR, "%s does not validate: %s", trail_event_id(ev), trail_event_error(ev));
        trail_event_free(ev);
        return r;
    }
    struct ingest *ig = traild.ingest;
    struct own_batch *o = ig ? calloc(1, sizeof(*o)) : NULL;
    if (!o) {
        trail_event_free(ev);
        return ig ? -ENOMEM : TRAIL_E_CLOSED;
    }
    o->ev = ev;
    o->b.events = &o->ev;
    o->b.n = 1;
    o->b.input = IN_INTERNAL;
    o->b.done = own_done;
    o->b.arg = o;
    r = ingest_submit(ig, &o->b, 0);
    if (r < 0) {
        log_msg(LOG_ERR, "cannot queue %s: %s", trail_event_id(ev), trail_strerror(r));
        free(o);
        trail_event_free(ev);
    }
    return r;
}
