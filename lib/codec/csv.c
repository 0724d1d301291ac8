/*
 * csv.c - an event as one CSV row (RFC 4180): the one CSV writer of events,
 * used by `trail query|tail --format csv` and traild's
 * GET /v1/events/export?format=csv, so that both write the same bytes.
 *
 *   seq,time,severity,severity_name,id,host,uuid,attrs,received,input,peer,principal,origin,problems
 *   4003,2026-11-24T08:59:58.150000Z,6,INFO,auth_ok,idp1,0f1e..,"{""duser"":""alice""}",...
 *
 * time and received are RFC 3339 UTC with microseconds (received empty when
 * unknown); uuid is empty when the event has none; attrs is the attributes
 * as the JSON object trail_event_to_json() writes; origin is "trail" for
 * trail's own records, else empty. Every cell of event text (id, host,
 * attrs, input, peer, principal, problems) goes through
 * trail_text_csv_cell(): escaped to one line, quoted, and a "'" before what
 * a spreadsheet would run as a formula. The cells trail writes itself from
 * numbers and times are never quoted, so they stay numbers.
 *
 * Not here: the cell escaper (textesc.c), CSV of counts (cli/query.c writes
 * count rows with the same cell escaper).
 */
#include "codec/codec.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define HEADER                                                                                     \
    "seq,time,severity,severity_name,id,host,uuid,attrs,received,input,peer,principal,origin,"     \
    "problems"

int trail_event_csv_header(struct trail_buf *out)
{
    return trail_buf_append(out, HEADER, sizeof(HEADER) - 1);
}

static int cell(struct trail_buf *out, const char *s)
{
    int r = trail_text_csv_cell(out, s, strlen(s));
    return r < 0 ? r : trail_buf_append(out, ",", 1);
}

int trail_event_to_csv(const struct trail_event *ev, struct trail_buf *out)
{
    size_t start = out->len;
    struct trail_buf js = {0};
    char t[32], line[128], us[37] = "", rec_t[32] = "", in[80], peer[48];
    uint8_t u[16];
    int r;

    if (trail_event_uuid(ev, u) == 0)
        trail_uuid_format(u, us);
    trail_time_format(trail_event_time(ev), t);
    const char *sev = trail_severity_name(trail_event_severity(ev));
    snprintf(line, sizeof(line), "%llu,%s,%d,%s,", (unsigned long long)trail_event_seq(ev), t,
             trail_event_severity(ev), sev ? sev : "");
    if ((r = trail_buf_append(out, line, strlen(line))) < 0 ||
        (r = cell(out, trail_event_id(ev))) < 0 || (r = cell(out, trail_event_host(ev))) < 0 ||
        (r = trail_buf_append(out, us, strlen(us))) < 0 || (r = trail_buf_append(out, ",", 1)) < 0)
        goto fail;
    /* the attributes as a JSON object, as the event's JSON writes its attrs member */
    if ((r = codec_attrs_json(ev, &js)) < 0 || (r = trail_text_csv_cell(out, js.data, js.len)) < 0)
        goto fail;
    /* provenance: received, input, peer, principal, origin, problems */
    if (trail_event_received(ev))
        trail_time_format(trail_event_received(ev), rec_t);
    trail_event_input_text(ev, in);
    trail_peer_format(trail_event_peer(ev), peer);
    if ((r = trail_buf_append(out, ",", 1)) < 0 ||
        (r = trail_buf_append(out, rec_t, strlen(rec_t))) < 0 ||
        (r = trail_buf_append(out, ",", 1)) < 0 || (r = cell(out, in)) < 0 ||
        (r = cell(out, peer)) < 0 || (r = cell(out, trail_event_principal(ev))) < 0 ||
        (r = trail_buf_append(out, trail_event_is_own(ev) ? "trail," : ",",
                              trail_event_is_own(ev) ? 6 : 1)) < 0 ||
        (r = trail_text_csv_cell(out, trail_event_problems(ev), strlen(trail_event_problems(ev)))) <
            0)
        goto fail;
    trail_buf_free(&js);
    return 0;
fail:
    trail_buf_free(&js);
    out->len = start;
    if (out->data)
        out->data[start] = '\0';
    return r;
}
