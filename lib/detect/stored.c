/*
 * stored.c - rules over a store's records: each record told to the engine by
 * its head (id, origin, severity, time: trail_store_iter_next_head) and
 * decoded only when some rule may select it or its time ends a grace
 * (detect_engine_skim). traild's detection thread and `trail rules test
 * --store` both evaluate records here, so that live alerts and a backtest
 * come from the same code over the same records.
 *
 * Not here: which records (the callers: traild's cursor, the backtest's
 * --since/--until), the engine itself (correlate.c).
 */
#include "detect_int.h"

int detect_engine_feed_stored(struct detect_engine *e, struct trail_store_iter *it,
                              const struct trail_record_head *h, struct trail_event *ev, bool skim,
                              detect_alert_fn alert, void *ctx)
{
    if (skim && !detect_engine_skim(e, h->id, h->id_len, h->own != 0, h->severity, h->time_us))
        return 0;
    int r = trail_store_iter_decode(it, ev);
    if (r < 0)
        return r;
    r = detect_engine_feed(e, ev, alert, ctx);
    return r < 0 ? r : 1;
}
