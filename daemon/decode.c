/*
 * decode.c - one item of any wire form into a validated event, and the
 * bookkeeping of a rejected one. Shared by every input.
 *
 * Not here: splitting streams and bodies into items (the inputs).
 */
#include "log.h"
#include "metrics.h"
#include "traild.h"

#include <stdio.h>
#include <string.h>

int decode_item(const struct config *cfg, int format, const char *data, size_t len,
                struct trail_event **ret_event, char *err, size_t errlen)
{
    struct trail_event *ev = NULL;
    int r;
    err[0] = '\0';
    if (format == FMT_LINE) {
        size_t i = 0;
        while (i < len && (data[i] == ' ' || data[i] == '\t'))
            i++;
        format = i < len && data[i] == '{' ? FMT_JSON : FMT_CEF;
    }
    if (len > cfg->limits.max_record_bytes && format != FMT_SYSLOG) {
        snprintf(err, errlen, "item of %zu bytes is over the limit of %u (max_record_bytes)", len,
                 cfg->limits.max_record_bytes);
        return TRAIL_E_TOO_LARGE;
    }
    switch (format) {
    case FMT_JSON:
        r = trail_event_from_json(cfg->cat, data, len, &ev, err, errlen);
        break;
    case FMT_CEF:
        r = trail_event_from_cef(cfg->cat, data, len, &ev, err, errlen);
        break;
    default:
        r = trail_event_from_syslog(cfg->cat, data, len, &ev, err, errlen);
        break;
    }
    if (r < 0) {
        if (!err[0])
            snprintf(err, errlen, "%s", trail_strerror(r));
        return r;
    }
    r = trail_event_validate(ev);
    if (r < 0) {
        snprintf(err, errlen, "%s", trail_event_error(ev));
        trail_event_free(ev);
        return r;
    }
    *ret_event = ev;
    return 0;
}

void reject_item(int input, int code, const char *sender, const char *err)
{
    metrics_reject(input, code);
    log_rejected(metrics_input_name(input), sender, "%s (%s)", err,
                 metrics_reason_name(metrics_reason(code)));
}

void traild_event_uuid(const struct trail_event *ev, uint8_t ret_uuid[16])
{
    if (trail_event_uuid(ev, ret_uuid) < 0)
        trail_store_uuid(traild.store, trail_event_seq(ev), ret_uuid);
}
