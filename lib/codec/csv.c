/*
 * csv.c - an event as one CSV row (RFC 4180): the one CSV writer of events,
 * used by `trail query|tail --format csv` and traild's
 * GET /v1/events/export?format=csv, so that both write the same bytes. It
 * writes a row (struct codec_row, codec.h): a decoded event's, or a stored
 * record's read in place (an export's, lib/store/record_row.c).
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

/*
 * 1 when s[0..n) is a cell as it is: printable ASCII without ',' and '"',
 * not starting with a formula's first character, so that
 * trail_text_csv_cell() would write it unchanged (most ids, hosts, inputs).
 */
static inline int plain_cell(const char *s, size_t n)
{
    if (n && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@'))
        return 0;
    return codec_plain(s, n, ',', '"');
}

/* A cell of event text and the comma after it (room reserved by the caller). */
/*
 * The text s[0..n), up to its first NUL (the event's C string), as a cell:
 * plain text holds no NUL, so it is all of it.
 */
static inline int text_cell(struct trail_buf *out, const char *s, size_t n)
{
    if (plain_cell(s, n)) {
        memcpy(out->data + out->len, s, n);
        out->len += n;
        return 0;
    }
    return trail_text_csv_cell(out, s, strnlen(s, n));
}

/* The same and the comma after it. */
static inline int cell(struct trail_buf *out, const char *s, size_t n)
{
    int r = text_cell(out, s, n);
    if (r == 0)
        out->data[out->len++] = ',';
    return r;
}

/*
 * Every field goes straight into out (no line of its own, no printf, no
 * buffer per cell), into room reserved once for the row but its
 * attributes: an export writes millions of rows, and the row writer was
 * most of its time (docs/BENCHMARKS.md, "Export").
 */
int codec_row_csv(const struct codec_row *row, struct trail_buf *out)
{
    size_t start = out->len;
    char in[80], peer[48];
    event_input_text(row->own ? TRAIL_INPUT_TRAIL : row->input, row->input_name,
                     row->input_name_len, in);
    trail_peer_format(&row->peer, peer);
    size_t in_n = strlen(in), peer_n = strlen(peer);
    /* a cell of n bytes is at most 6 n + 3 (escapes, quotes, the formula's "'") */
    int r = codec_room(out, 6 * (row->id_len + row->host_len + in_n + peer_n + row->principal_len +
                                 row->problems_len) +
                                256);
    if (r < 0)
        return r;

    /* seq,time,severity,severity_name,id,host,uuid, */
    char *p = out->data + out->len;
    p = codec_u64_at(p, row->seq);
    *p++ = ',';
    p += trail_time_format(row->time_us, p);
    *p++ = ',';
    p = codec_i64_at(p, row->severity);
    *p++ = ',';
    const char *sev = trail_severity_name(row->severity);
    if (sev) {
        size_t sn = strlen(sev);
        memcpy(p, sev, sn);
        p += sn;
    }
    *p++ = ',';
    out->len = (size_t)(p - out->data);
    if ((r = cell(out, row->id, row->id_len)) < 0 || (r = cell(out, row->host, row->host_len)) < 0)
        goto fail;
    if (row->uuid) {
        trail_uuid_format(row->uuid, out->data + out->len);
        out->len += 36;
    }
    out->data[out->len++] = ',';
    /* the attributes as a JSON object, as the event's JSON writes its attrs member, a cell */
    if ((r = codec_json_attrs(row, 1, out)) < 0)
        goto fail;
    /* provenance: received, input, peer, principal, origin, problems (room reserved again:
       the attributes may have moved out) */
    if ((r = codec_room(out, 6 * (in_n + peer_n + row->principal_len + row->problems_len) + 128)) <
        0)
        goto fail;
    out->data[out->len++] = ',';
    if (row->received_us)
        out->len += trail_time_format(row->received_us, out->data + out->len);
    out->data[out->len++] = ',';
    if ((r = cell(out, in, in_n)) < 0 || (r = cell(out, peer, peer_n)) < 0 ||
        (r = cell(out, row->principal, row->principal_len)) < 0)
        goto fail;
    if (row->own) {
        memcpy(out->data + out->len, "trail", 5);
        out->len += 5;
    }
    out->data[out->len++] = ',';
    if ((r = text_cell(out, row->problems, row->problems_len)) < 0)
        goto fail;
    out->data[out->len] = '\0';
    return 0;
fail:
    out->len = start;
    if (out->data)
        out->data[start] = '\0';
    return r;
}

int trail_event_to_csv(const struct trail_event *ev, struct trail_buf *out)
{
    struct codec_row row;
    codec_row_of_event(ev, &row);
    return codec_row_csv(&row, out);
}
