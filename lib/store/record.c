/*
 * record.c - the canonical byte form of one stored event: what a segment
 * frame holds and what the Merkle leaf hashes (leaf = SHA-256(0x00 ||
 * record)). An auditor recomputes leaves from these bytes, so they are fixed
 * by docs/format.md ("Record") and never depend on the host.
 *
 * Not for: framing and checksums (segment.c), the wire forms (json.c,
 * cef.c).
 *
 * The record, version 2 (what trail writes), little-endian, fixed-width
 * integers:
 *
 *   off  size  field
 *   0    1     format version (2)
 *   1    8     seq (u64)
 *   9    8     time the producer gave, µs since the Unix epoch, UTC (i64)
 *   17   1     severity (1..10)
 *   18   1     flags: 0x01 the uuid is derived (not stored)
 *                     0x02 written by trail itself (its own records)
 *                     0x04 stored with problems, listed below
 *   19   16    uuid, only when flag 0x01 is clear
 *   ..   8     received: when trail accepted it, µs since the epoch (i64)
 *   ..   1+n   event id: length, bytes
 *   ..   1+n   host: length (0 = unset), bytes
 *   ..   1     input (enum trail_input: 1 library, 2 import, 3 http,
 *              4 syslog_udp, 5 syslog_tcp, 6 syslog_tls, 7 cef_tcp, 8 unix,
 *              9 follow, 10 trail)
 *   ..   1+n   input name: length, bytes (the [follow NAME]; else empty)
 *   ..   1     peer family: 0 none, 4 or 6
 *   ..   4|16  peer address, network order (family 4 or 6 only)
 *   ..   2     peer port (u16) (family 4 or 6 only)
 *   ..   1+n   principal: length, bytes (token name or certificate subject)
 *   ..   2+n   problems: u16 length, UTF-8 text, only when flag 0x04 is set
 *   ..   2     attribute count (u16)
 *   per attribute, in strictly ascending key order (bytewise):
 *        1+n   key: length, bytes ([A-Za-z0-9_.-], 1..255)
 *        1     type (1 string, 2 int, 3 bool, 4 ip, 5 time, 6 enum)
 *        value: string, enum: u32 length + bytes
 *               int, time:    i64
 *               bool:         u8 (0 or 1)
 *               ip:           u8 family (4 or 6) + 4 or 16 bytes, network order
 *
 * Version 1 (stores written before provenance) has no received time and no
 * provenance fields: after the host come the attributes. It is read as
 * input "" (none), never written. Flag 0x02 cannot occur in it, so no
 * version-1 record is ever taken for trail's own.
 *
 * A derived uuid (RFC 9562 version 8) is the store id with the version and
 * variant bits set and the seq XORed into its last 64 variable bits (byte 7
 * and bytes 9..15): unique within a store, random across stores, and it
 * saves 16 incompressible bytes per record.
 */
#include "store/store.h"

#include <errno.h>
#include <stdlib.h>

void uuid_derive(const uint8_t store_id[16], uint64_t seq, uint8_t out[16])
{
    memcpy(out, store_id, 16);
    out[6] = (uint8_t)(0x80 | (out[6] & 0x0f)); /* version 8 */
    out[8] = (uint8_t)(0x80 | (out[8] & 0x3f)); /* RFC 9562 variant */
    out[7] ^= (uint8_t)(seq >> 56);
    for (int i = 0; i < 7; i++)
        out[9 + i] ^= (uint8_t)(seq >> (48 - 8 * i));
}

static size_t value_size(const struct trail_attr *a)
{
    switch (a->type) {
    case TRAIL_TYPE_STRING:
    case TRAIL_TYPE_ENUM:
        return 4 + a->v.s.len;
    case TRAIL_TYPE_BOOL:
        return 1;
    case TRAIL_TYPE_IP:
        return a->ip_family == 6 ? 17 : 5;
    default:
        return 8;
    }
}

size_t record_size(const struct trail_event *ev)
{
    size_t n = 19 + (ev->has_uuid ? 16 : 0) + 8 + 1 + ev->id_len + 1 + ev->host_len + 1 + 1 +
               ev->input_name_len + 1 +
               (ev->peer.family == 4   ? 6
                : ev->peer.family == 6 ? 18
                                       : 0) +
               1 + ev->principal_len + (ev->problems_len ? 2 + ev->problems_len : 0) +
               (ev->n_via ? 1 + (size_t)ev->via_len : 0) + 2;
    for (uint32_t i = 0; i < ev->n_attrs; i++)
        n += 1 + ev->attrs[i].key_len + 1 + value_size(&ev->attrs[i]);
    return n;
}

size_t record_write(const struct trail_event *ev, uint64_t seq, int64_t time_us,
                    int64_t received_us, uint8_t *out)
{
    uint8_t *p = out;
    *p++ = TRAIL_RECORD_VERSION;
    put_u64(p, seq);
    put_u64(p + 8, (uint64_t)time_us);
    p += 16;
    *p++ = (uint8_t)ev->severity;
    *p++ =
        (uint8_t)((ev->has_uuid ? 0 : TRAIL_REC_F_UUID_DERIVED) | (ev->own ? TRAIL_REC_F_OWN : 0) |
                  (ev->problems_len ? TRAIL_REC_F_PROBLEMS : 0) |
                  (ev->n_via ? TRAIL_REC_F_RELAYED : 0));
    if (ev->has_uuid) {
        memcpy(p, ev->uuid, 16);
        p += 16;
    }
    put_u64(p, (uint64_t)received_us);
    p += 8;
    *p++ = ev->id_len;
    memcpy(p, ev->id, ev->id_len);
    p += ev->id_len;
    *p++ = ev->host_len;
    memcpy(p, ev->host, ev->host_len);
    p += ev->host_len;
    /* a program appending to its own store: input "library" unless it said otherwise */
    *p++ = ev->own ? TRAIL_INPUT_TRAIL : ev->input ? ev->input : TRAIL_INPUT_LIBRARY;
    *p++ = ev->input_name_len;
    memcpy(p, ev->input_name, ev->input_name_len);
    p += ev->input_name_len;
    *p++ = ev->peer.family;
    if (ev->peer.family == 4 || ev->peer.family == 6) {
        size_t alen = ev->peer.family == 4 ? 4 : 16;
        memcpy(p, ev->peer.addr, alen);
        put_u16(p + alen, ev->peer.port);
        p += alen + 2;
    }
    *p++ = ev->principal_len;
    memcpy(p, ev->principal, ev->principal_len);
    p += ev->principal_len;
    if (ev->problems_len) {
        put_u16(p, ev->problems_len);
        memcpy(p + 2, ev->problems, ev->problems_len);
        p += 2 + ev->problems_len;
    }
    if (ev->n_via) {
        *p++ = ev->n_via;
        memcpy(p, ev->arena + ev->via_off, ev->via_len);
        p += ev->via_len;
    }
    put_u16(p, (uint16_t)ev->n_attrs);
    p += 2;
    for (uint32_t i = 0; i < ev->n_attrs; i++) {
        const struct trail_attr *a = &ev->attrs[i];
        *p++ = (uint8_t)a->key_len;
        memcpy(p, attr_key(ev, a), a->key_len);
        p += a->key_len;
        *p++ = a->type;
        switch (a->type) {
        case TRAIL_TYPE_STRING:
        case TRAIL_TYPE_ENUM:
            put_u32(p, a->v.s.len);
            memcpy(p + 4, ev->arena + a->v.s.off, a->v.s.len);
            p += 4 + a->v.s.len;
            break;
        case TRAIL_TYPE_BOOL:
            *p++ = a->v.i ? 1 : 0;
            break;
        case TRAIL_TYPE_IP:
            *p++ = a->ip_family;
            memcpy(p, a->v.ip, a->ip_family == 6 ? 16 : 4);
            p += a->ip_family == 6 ? 16 : 4;
            break;
        default:
            put_u64(p, (uint64_t)a->v.i);
            p += 8;
            break;
        }
    }
    return (size_t)(p - out);
}

/* ---- decoding ---- */

/* Bytewise order of keys (what strcmp gives for keys without NUL). */
static int key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

#define NEED(n)                                                                                    \
    do {                                                                                           \
        if ((size_t)(end - p) < (size_t)(n))                                                       \
            goto corrupt;                                                                          \
    } while (0)

int record_decode(const uint8_t *rec, size_t len, const uint8_t store_id[16],
                  struct trail_event *ev)
{
    const uint8_t *p, *end = rec + len;
    const uint8_t *prev_key = NULL;
    size_t prev_klen = 0;
    struct rec_view v;
    int r;

    ev->n_attrs = 0;
    ev->arena_len = 0;
    if ((r = rec_view_parse(rec, len, &v)) < 0)
        return r;
    /* an input name longer than any input's (the event holds TRAIL_MAX_INPUT_NAME) is damage */
    if (v.id_len == 0 || !trail_severity_valid(v.severity) ||
        v.input_name_len > TRAIL_MAX_INPUT_NAME)
        goto corrupt;
    r = trail_event_reset(ev, (const char *)v.id, v.id_len);
    if (r < 0)
        goto corrupt;
    memcpy(ev->host, v.host, v.host_len);
    ev->host[v.host_len] = '\0';
    ev->host_len = (uint8_t)v.host_len;
    ev->severity = v.severity;
    ev->seq = v.seq;
    ev->time_us = v.time_us;
    if (v.flags & TRAIL_REC_F_UUID_DERIVED)
        uuid_derive(store_id, v.seq, ev->uuid);
    else
        memcpy(ev->uuid, rec + 19, 16);
    ev->has_uuid = true;
    ev->received_us = v.received_us;
    ev->own = (v.flags & TRAIL_REC_F_OWN) != 0;
    ev->input = (uint8_t)v.input;
    memcpy(ev->input_name, v.input_name, v.input_name_len);
    ev->input_name[v.input_name_len] = '\0';
    ev->input_name_len = (uint8_t)v.input_name_len;
    ev->peer = v.peer;
    memcpy(ev->principal, v.principal, v.principal_len);
    ev->principal[v.principal_len] = '\0';
    ev->principal_len = (uint8_t)v.principal_len;
    size_t np = v.problems_len > TRAIL_MAX_PROBLEMS_LEN ? TRAIL_MAX_PROBLEMS_LEN : v.problems_len;
    memcpy(ev->problems, v.problems, np);
    ev->problems[np] = '\0';
    ev->problems_len = (uint16_t)np;
    if (v.n_via && (r = event_set_via(ev, v.via, v.via_len, v.n_via)) < 0)
        goto fail;
    p = v.attrs - 2;

    NEED(2);
    uint32_t n_attrs = get_u16(p);
    p += 2;
    if (n_attrs > ev->cap_attrs) {
        struct trail_attr *a = realloc(ev->attrs, n_attrs * sizeof(*a));
        if (!a) {
            r = -ENOMEM;
            goto fail;
        }
        ev->attrs = a;
        ev->cap_attrs = n_attrs;
    }
    for (uint32_t i = 0; i < n_attrs; i++) {
        struct trail_attr *a = &ev->attrs[i];
        memset(a, 0, sizeof(*a));
        NEED(1);
        size_t klen = *p++;
        NEED(klen + 1);
        const uint8_t *key = p;
        if (!trail_key_valid((const char *)key, klen))
            goto corrupt;
        if (prev_key && key_cmp(prev_key, prev_klen, key, klen) >= 0)
            goto corrupt;
        prev_key = key;
        prev_klen = klen;
        p += klen;
        a->key_len = (uint16_t)klen;
        a->def = ev->def ? trail_attr_def_find(ev->def, (const char *)key, klen) : NULL;
        if (!a->def) {
            r = event_arena_put(ev, key, klen, &a->key_off);
            if (r < 0)
                goto fail;
        }
        a->type = *p++;
        switch (a->type) {
        case TRAIL_TYPE_STRING:
        case TRAIL_TYPE_ENUM: {
            NEED(4);
            uint32_t vlen = get_u32(p);
            p += 4;
            NEED(vlen);
            r = event_arena_put(ev, p, vlen, &a->v.s.off);
            if (r < 0)
                goto fail;
            a->v.s.len = vlen;
            p += vlen;
            break;
        }
        case TRAIL_TYPE_BOOL:
            NEED(1);
            if (*p > 1)
                goto corrupt;
            a->v.i = *p++;
            break;
        case TRAIL_TYPE_IP: {
            NEED(1);
            a->ip_family = *p++;
            size_t n = a->ip_family == 4 ? 4 : a->ip_family == 6 ? 16 : 0;
            if (!n)
                goto corrupt;
            NEED(n);
            memcpy(a->v.ip, p, n);
            p += n;
            break;
        }
        case TRAIL_TYPE_INT:
        case TRAIL_TYPE_TIME:
            NEED(8);
            a->v.i = (int64_t)get_u64(p);
            p += 8;
            break;
        default:
            goto corrupt;
        }
        ev->n_attrs = i + 1;
    }
    if (p != end)
        goto corrupt;
    return 0;
corrupt:
    r = TRAIL_E_CORRUPT;
fail:
    ev->n_attrs = 0;
    ev->arena_len = 0;
    return r;
}

/* ---- the raw record view ---- */

int rec_view_parse(const uint8_t *rec, size_t len, struct rec_view *v)
{
    const uint8_t *p, *end = rec + len;
    if (len < TRAIL_RECORD_MIN)
        return TRAIL_E_CORRUPT;
    if (!TRAIL_RECORD_VERSION_OK(rec[0]))
        return TRAIL_E_VERSION;
    v->version = rec[0];
    v->seq = get_u64(rec + 1);
    v->time_us = (int64_t)get_u64(rec + 9);
    v->severity = rec[17];
    v->flags = rec[18];
    if (v->flags & ~(v->version == 1 ? TRAIL_REC_F_UUID_DERIVED : TRAIL_REC_F_ALL))
        return TRAIL_E_CORRUPT;
    p = rec + 19;
    if (!(v->flags & TRAIL_REC_F_UUID_DERIVED))
        p += 16;
    v->received_us = 0;
    if (v->version >= 2) {
        if (end - p < 8)
            return TRAIL_E_CORRUPT;
        v->received_us = (int64_t)get_u64(p);
        p += 8;
    }
    if (p >= end)
        return TRAIL_E_CORRUPT;
    v->id_len = *p++;
    v->id = p;
    if ((size_t)(end - p) < v->id_len)
        return TRAIL_E_CORRUPT;
    p += v->id_len;
    if (p >= end)
        return TRAIL_E_CORRUPT;
    v->host_len = *p++;
    v->host = p;
    if ((size_t)(end - p) < v->host_len)
        return TRAIL_E_CORRUPT;
    p += v->host_len;
    v->input = TRAIL_INPUT_NONE;
    v->input_name = p;
    v->input_name_len = 0;
    v->peer.family = 0;
    v->peer.port = 0;
    v->principal = p;
    v->principal_len = 0;
    v->problems = p;
    v->problems_len = 0;
    v->via = p;
    v->via_len = 0;
    v->n_via = 0;
    if (v->version >= 2) {
        if (end - p < 2)
            return TRAIL_E_CORRUPT;
        v->input = *p++;
        if (v->input == TRAIL_INPUT_NONE || v->input >= TRAIL_INPUT_LAST ||
            (v->input == TRAIL_INPUT_TRAIL) != ((v->flags & TRAIL_REC_F_OWN) != 0))
            return TRAIL_E_CORRUPT;
        v->input_name_len = *p++;
        v->input_name = p;
        if ((size_t)(end - p) < v->input_name_len + 1)
            return TRAIL_E_CORRUPT;
        p += v->input_name_len;
        v->peer.family = *p++;
        if (v->peer.family == 4 || v->peer.family == 6) {
            size_t alen = v->peer.family == 4 ? 4 : 16;
            if ((size_t)(end - p) < alen + 2)
                return TRAIL_E_CORRUPT;
            memset(v->peer.addr, 0, sizeof(v->peer.addr));
            memcpy(v->peer.addr, p, alen);
            v->peer.port = get_u16(p + alen);
            p += alen + 2;
        } else if (v->peer.family != 0) {
            return TRAIL_E_CORRUPT;
        }
        if (p >= end)
            return TRAIL_E_CORRUPT;
        v->principal_len = *p++;
        v->principal = p;
        if ((size_t)(end - p) < v->principal_len)
            return TRAIL_E_CORRUPT;
        p += v->principal_len;
        if (v->flags & TRAIL_REC_F_PROBLEMS) {
            if (end - p < 2)
                return TRAIL_E_CORRUPT;
            v->problems_len = get_u16(p);
            v->problems = p + 2;
            if (v->problems_len == 0 || (size_t)(end - p - 2) < v->problems_len)
                return TRAIL_E_CORRUPT;
            p += 2 + v->problems_len;
        }
        if (v->flags & TRAIL_REC_F_RELAYED) {
            /* a hop count of 1..TRAIL_MAX_HOPS, then the hops (lib/event/provenance.c) */
            if (p >= end || *p == 0 || *p > TRAIL_MAX_HOPS || (v->flags & TRAIL_REC_F_OWN))
                return TRAIL_E_CORRUPT;
            v->n_via = *p++;
            v->via = p;
            for (int i = 0; i < v->n_via; i++) {
                struct hop h;
                size_t n = hop_parse(p, end, &h);
                if (!n)
                    return TRAIL_E_CORRUPT;
                p += n;
            }
            v->via_len = (size_t)(p - v->via);
        }
    }
    if (end - p < 2)
        return TRAIL_E_CORRUPT;
    v->n_attrs = get_u16(p);
    v->attrs = p + 2;
    v->end = end;
    return 0;
}

int rec_attr_next(const uint8_t **pp, const uint8_t *end, struct rec_attr *a)
{
    const uint8_t *p = *pp;
    if (p >= end)
        return 0;
    size_t klen = *p++;
    if ((size_t)(end - p) < klen + 1)
        return TRAIL_E_CORRUPT;
    a->key = (const char *)p;
    a->klen = klen;
    p += klen;
    a->type = *p++;
    switch (a->type) {
    case TRAIL_TYPE_STRING:
    case TRAIL_TYPE_ENUM:
        if (end - p < 4)
            return TRAIL_E_CORRUPT;
        a->vlen = get_u32(p);
        p += 4;
        if ((size_t)(end - p) < a->vlen)
            return TRAIL_E_CORRUPT;
        a->val = p;
        p += a->vlen;
        break;
    case TRAIL_TYPE_BOOL:
        if (end - p < 1)
            return TRAIL_E_CORRUPT;
        a->val = p;
        a->vlen = 1;
        a->i = *p++ ? 1 : 0;
        break;
    case TRAIL_TYPE_IP: {
        if (end - p < 1)
            return TRAIL_E_CORRUPT;
        size_t n = *p == 4 ? 4 : *p == 6 ? 16 : 0;
        p++;
        if (!n || (size_t)(end - p) < n)
            return TRAIL_E_CORRUPT;
        a->val = p;
        a->vlen = n;
        p += n;
        break;
    }
    case TRAIL_TYPE_INT:
    case TRAIL_TYPE_TIME:
        if (end - p < 8)
            return TRAIL_E_CORRUPT;
        a->val = p;
        a->vlen = 8;
        a->i = (int64_t)get_u64(p);
        p += 8;
        break;
    default:
        return TRAIL_E_CORRUPT;
    }
    *pp = p;
    return 1;
}
