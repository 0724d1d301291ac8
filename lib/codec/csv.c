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
#include <string.h>

#define HEADER                                                                                     \
    "seq,time,severity,severity_name,id,host,uuid,attrs,received,input,peer,principal,origin,"     \
    "problems"

int trail_event_csv_header(struct trail_buf *out)
{
    return trail_buf_append(out, HEADER, sizeof(HEADER) - 1);
}

/* A cell of event text and the comma after it. */
static int cell(struct trail_buf *out, const char *s)
{
    int r = trail_text_csv_cell(out, s, strlen(s));
    return r < 0 ? r : trail_buf_append(out, ",", 1);
}

/*
 * Every field goes straight into out (no line of its own, no printf, no
 * buffer per cell): an export writes millions of rows, and the row writer
 * was most of its time (docs/BENCHMARKS.md, "Export").
 */
int trail_event_to_csv(const struct trail_event *ev, struct trail_buf *out)
{
    size_t start = out->len;
    uint8_t u[16];
    int r;

    /* seq,time,severity,severity_name, */
    const char *sev = trail_severity_name(trail_event_severity(ev));
    if ((r = codec_put_u64(out, trail_event_seq(ev))) < 0 ||
        (r = trail_buf_reserve(out, 32 + 16 + 3)) < 0)
        goto fail;
    char *p = out->data + out->len;
    *p++ = ',';
    p += trail_time_format(trail_event_time(ev), p);
    *p++ = ',';
    out->len = (size_t)(p - out->data);
    if ((r = codec_put_i64(out, trail_event_severity(ev))) < 0 ||
        (r = trail_buf_append(out, ",", 1)) < 0 ||
        (sev && (r = trail_buf_append(out, sev, strlen(sev))) < 0) ||
        (r = trail_buf_append(out, ",", 1)) < 0 || (r = cell(out, trail_event_id(ev))) < 0 ||
        (r = cell(out, trail_event_host(ev))) < 0)
        goto fail;
    if (trail_event_uuid(ev, u) == 0) {
        if ((r = trail_buf_reserve(out, 37)) < 0)
            goto fail;
        trail_uuid_format(u, out->data + out->len);
        out->len += 36;
    }
    /* the attributes as a JSON object, as the event's JSON writes its attrs member, made a
       cell where it was written */
    size_t at = out->len + 1;
    if ((r = trail_buf_append(out, ",", 1)) < 0 || (r = codec_attrs_json(ev, out)) < 0 ||
        (r = codec_csv_cell_tail(out, at)) < 0)
        goto fail;
    /* provenance: received, input, peer, principal, origin, problems */
    if ((r = trail_buf_append(out, ",", 1)) < 0)
        goto fail;
    if (trail_event_received(ev)) {
        if ((r = trail_buf_reserve(out, 32)) < 0)
            goto fail;
        out->len += trail_time_format(trail_event_received(ev), out->data + out->len);
    }
    char in[80], peer[48];
    trail_event_input_text(ev, in);
    trail_peer_format(trail_event_peer(ev), peer);
    if ((r = trail_buf_append(out, ",", 1)) < 0 || (r = cell(out, in)) < 0 ||
        (r = cell(out, peer)) < 0 || (r = cell(out, trail_event_principal(ev))) < 0 ||
        (r = trail_buf_append(out, trail_event_is_own(ev) ? "trail," : ",",
                              trail_event_is_own(ev) ? 6 : 1)) < 0 ||
        (r = trail_text_csv_cell(out, trail_event_problems(ev), strlen(trail_event_problems(ev)))) <
            0)
        goto fail;
    return 0;
fail:
    out->len = start;
    if (out->data)
        out->data[start] = '\0';
    return r;
}
