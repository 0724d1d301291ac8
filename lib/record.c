/*
 * record.c - the canonical byte form of one stored event: what a segment
 * frame holds and what the Merkle leaf hashes (leaf = SHA-256(0x00 ||
 * record)). An auditor recomputes leaves from these bytes, so they are fixed
 * by docs/format.md ("Record") and never depend on the host.
 *
 * Not for: framing and checksums (segment.c), the wire forms (json.c,
 * cef.c).
 *
 * The record, little-endian, fixed-width integers:
 *
 *   off  size  field
 *   0    1     format version (1)
 *   1    8     seq (u64)
 *   9    8     time, µs since the Unix epoch, UTC (i64)
 *   17   1     severity (1..10)
 *   18   1     flags: 0x01 the uuid is derived (not stored)
 *   19   16    uuid, only when flag 0x01 is clear
 *   ..   1+n   event id: length, bytes
 *   ..   1+n   host: length (0 = unset), bytes
 *   ..   2     attribute count (u16)
 *   per attribute, in strictly ascending key order (bytewise):
 *        1+n   key: length, bytes ([A-Za-z0-9_.-], 1..255)
 *        1     type (1 string, 2 int, 3 bool, 4 ip, 5 time, 6 enum)
 *        value: string, enum: u32 length + bytes
 *               int, time:    i64
 *               bool:         u8 (0 or 1)
 *               ip:           u8 family (4 or 6) + 4 or 16 bytes, network order
 *
 * A derived uuid (RFC 9562 version 8) is the store id with the version and
 * variant bits set and the seq XORed into its last 64 variable bits (byte 7
 * and bytes 9..15): unique within a store, random across stores, and it
 * saves 16 incompressible bytes per record.
 */
#include "store.h"

#include <errno.h>
#include <stdlib.h>

void trail_uuid_derive(const uint8_t store_id[16], uint64_t seq, uint8_t out[16])
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

size_t trail_record_size(const struct trail_event *ev)
{
    size_t n = 19 + (ev->has_uuid ? 16 : 0) + 1 + ev->id_len + 1 + ev->host_len + 2;
    for (uint32_t i = 0; i < ev->n_attrs; i++)
        n += 1 + ev->attrs[i].key_len + 1 + value_size(&ev->attrs[i]);
    return n;
}

size_t trail_record_write(const struct trail_event *ev, uint64_t seq, int64_t time_us, uint8_t *out)
{
    uint8_t *p = out;
    *p++ = TRAIL_RECORD_VERSION;
    put_u64(p, seq);
    put_u64(p + 8, (uint64_t)time_us);
    p += 16;
    *p++ = (uint8_t)ev->severity;
    *p++ = ev->has_uuid ? 0 : TRAIL_REC_F_UUID_DERIVED;
    if (ev->has_uuid) {
        memcpy(p, ev->uuid, 16);
        p += 16;
    }
    *p++ = ev->id_len;
    memcpy(p, ev->id, ev->id_len);
    p += ev->id_len;
    *p++ = ev->host_len;
    memcpy(p, ev->host, ev->host_len);
    p += ev->host_len;
    put_u16(p, (uint16_t)ev->n_attrs);
    p += 2;
    for (uint32_t i = 0; i < ev->n_attrs; i++) {
        const struct trail_attr *a = &ev->attrs[i];
        *p++ = (uint8_t)a->key_len;
        memcpy(p, trail_attr_key(ev, a), a->key_len);
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

/* Copy n bytes into the event's arena, NUL-terminated; *ret_off is where. */
static int arena_add(struct trail_event *ev, const uint8_t *s, size_t n, uint32_t *ret_off)
{
    if (ev->arena_cap - ev->arena_len < n + 1) {
        size_t cap = ev->arena_cap ? ev->arena_cap : 512;
        while (cap - ev->arena_len < n + 1)
            cap *= 2;
        char *p = realloc(ev->arena, cap);
        if (!p)
            return -ENOMEM;
        ev->arena = p;
        ev->arena_cap = cap;
    }
    memcpy(ev->arena + ev->arena_len, s, n);
    ev->arena[ev->arena_len + n] = '\0';
    *ret_off = (uint32_t)ev->arena_len;
    ev->arena_len += n + 1;
    return 0;
}

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

int trail_record_decode(const uint8_t *rec, size_t len, const uint8_t store_id[16],
                        struct trail_event *ev)
{
    const uint8_t *p = rec, *end = rec + len;
    const uint8_t *prev_key = NULL;
    size_t prev_klen = 0;
    int r;

    ev->n_attrs = 0;
    ev->arena_len = 0;
    if (len < TRAIL_RECORD_MIN)
        goto corrupt;
    if (rec[0] != TRAIL_RECORD_VERSION)
        return TRAIL_E_VERSION;
    uint64_t seq = get_u64(rec + 1);
    int64_t time_us = (int64_t)get_u64(rec + 9);
    int severity = rec[17];
    int flags = rec[18];
    p = rec + 19;
    if (flags & ~TRAIL_REC_F_UUID_DERIVED)
        goto corrupt;
    const uint8_t *uuid = NULL;
    if (!(flags & TRAIL_REC_F_UUID_DERIVED)) {
        NEED(16);
        uuid = p;
        p += 16;
    }
    NEED(1);
    size_t id_len = *p++;
    NEED(id_len);
    if (id_len == 0)
        goto corrupt;
    r = trail_event_reset(ev, (const char *)p, id_len);
    if (r < 0)
        goto corrupt;
    p += id_len;
    NEED(1);
    size_t host_len = *p++;
    NEED(host_len);
    memcpy(ev->host, p, host_len);
    ev->host[host_len] = '\0';
    ev->host_len = (uint8_t)host_len;
    p += host_len;
    if (!trail_severity_valid(severity))
        goto corrupt;
    ev->severity = severity;
    ev->seq = seq;
    ev->time_us = time_us;
    if (uuid)
        memcpy(ev->uuid, uuid, 16);
    else
        trail_uuid_derive(store_id, seq, ev->uuid);
    ev->has_uuid = true;

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
            r = arena_add(ev, key, klen, &a->key_off);
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
            r = arena_add(ev, p, vlen, &a->v.s.off);
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
