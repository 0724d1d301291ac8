/*
 * record_row.c - a stored record read in place as a row for the text
 * writers (struct codec_row, lib/codec/codec.h), without decoding it into
 * an event: what an export does for each of millions of records
 * (trail_results_write, lib/query/index.c), where decoding was a third of
 * the time (docs/BENCHMARKS.md, "Export").
 *
 * The row holds what record_decode() would put in the event: the same
 * fields, the uuid derived the same way, problems cut to the event's
 * TRAIL_MAX_PROBLEMS_LEN, and the attributes only after the checks the
 * decoder makes (valid keys in strictly ascending order, known types, bools
 * of 0 or 1, IP families 4 or 6, nothing after the last one). A record it
 * does not take (version 1, a field the event could not hold, anything the
 * decoder refuses) is left to the decoder: the caller decodes it and writes
 * the event's row, so that the row written is always the decoded event's
 * and a damaged record fails as it would have.
 *
 * Not here: the record's layout (record.c documents it), the writers
 * (lib/codec).
 */
#include "codec/codec.h"
#include "store/store.h"

int record_row(const struct rec_view *v, const uint8_t *rec, const uint8_t store_id[16],
               const struct trail_catalog *cat, struct codec_attr *attrs, size_t cap,
               uint8_t uuid[16], struct codec_row *ret)
{
    if (v->version != TRAIL_RECORD_VERSION || v->id_len == 0 || v->id_len > TRAIL_MAX_ID_LEN ||
        !trail_severity_valid(v->severity) || v->input_name_len > TRAIL_MAX_INPUT_NAME ||
        v->via_len > UINT16_MAX || v->n_attrs > cap)
        return 0;
    const uint8_t *p = v->attrs, *end = v->end;
    const char *prev = NULL;
    size_t prev_len = 0;
    for (uint32_t i = 0; i < v->n_attrs; i++) {
        struct codec_attr *a = &attrs[i];
        if (p >= end)
            return 0;
        size_t klen = *p++;
        if ((size_t)(end - p) < klen + 1)
            return 0;
        const char *key = (const char *)p;
        if (!key_ok(key, klen) || (prev && keycmp_n(prev, prev_len, key, klen) >= 0))
            return 0;
        prev = key;
        prev_len = klen;
        p += klen;
        a->key = key;
        a->klen = klen;
        a->v.type = *p++;
        switch (a->v.type) {
        case TRAIL_TYPE_STRING:
        case TRAIL_TYPE_ENUM: {
            if (end - p < 4)
                return 0;
            uint32_t n = get_u32(p);
            p += 4;
            if ((size_t)(end - p) < n)
                return 0;
            a->v.u.str.ptr = (const char *)p;
            a->v.u.str.len = n;
            p += n;
            break;
        }
        case TRAIL_TYPE_BOOL:
            if (p >= end || *p > 1)
                return 0;
            a->v.u.b = *p++;
            break;
        case TRAIL_TYPE_IP: {
            if (p >= end)
                return 0;
            uint8_t fam = *p++;
            size_t n = fam == 4 ? 4 : fam == 6 ? 16 : 0;
            if (!n || (size_t)(end - p) < n)
                return 0;
            a->v.u.ip.family = fam;
            memset(a->v.u.ip.addr, 0, sizeof(a->v.u.ip.addr));
            memcpy(a->v.u.ip.addr, p, n);
            p += n;
            break;
        }
        case TRAIL_TYPE_INT:
        case TRAIL_TYPE_TIME:
            if (end - p < 8)
                return 0;
            a->v.u.i = (int64_t)get_u64(p);
            p += 8;
            break;
        default:
            return 0;
        }
    }
    if (p != end)
        return 0;
    if (v->flags & TRAIL_REC_F_UUID_DERIVED)
        uuid_derive(store_id, v->seq, uuid);
    else
        memcpy(uuid, rec + 19, 16);
    /* field by field: a compound literal would clear the whole struct first, every row */
    ret->def = cat ? trail_catalog_lookup(cat, (const char *)v->id, v->id_len) : NULL;
    ret->seq = v->seq;
    ret->time_us = v->time_us;
    ret->received_us = v->received_us;
    ret->severity = v->severity;
    ret->own = (v->flags & TRAIL_REC_F_OWN) != 0;
    ret->input = v->input;
    ret->id = (const char *)v->id;
    ret->id_len = v->id_len;
    ret->host = (const char *)v->host;
    ret->host_len = v->host_len;
    ret->input_name = (const char *)v->input_name;
    ret->input_name_len = v->input_name_len;
    ret->principal = (const char *)v->principal;
    ret->principal_len = v->principal_len;
    ret->problems = (const char *)v->problems;
    ret->problems_len =
        v->problems_len > TRAIL_MAX_PROBLEMS_LEN ? TRAIL_MAX_PROBLEMS_LEN : v->problems_len;
    ret->uuid = uuid;
    ret->peer = v->peer;
    ret->via = v->n_via ? v->via : NULL;
    ret->via_len = v->via_len;
    ret->n_via = v->n_via;
    ret->ev = NULL;
    ret->attrs = attrs;
    ret->n_attrs = v->n_attrs;
    return 1;
}
