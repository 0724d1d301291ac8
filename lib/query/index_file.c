/*
 * index_file.c - a sealed segment's index file, DIR/seg-<16 hex>.idx:
 * building it from the segment's blocks, writing it, checking and reading
 * it in place (the view), and the hooks the store calls so that every
 * sealed segment gets one (after sealing; a sweep for those missing or
 * damaged; removal with a purge).
 *
 * Not for: the builder's bookkeeping (index_build.c), searching (index.c).
 *
 * The file, little-endian (docs/format.md, "Indexes", has the same). This
 * writes version 2 (parts, value rollups, event terms, 28-bit term keys);
 * version 1 files (before all of them) are still read:
 *
 *   header, 64 bytes
 *     0  8  magic "TRAILIDX"         8  2  version (2; 1 is read: see below)
 *     10 2  zero
 *     12 4  header length (64)       16 16 store id
 *     32 8  first seq of the segment 40 8  last seq
 *     48 4  units U (= the segment's blocks)
 *     52 4  events E (dictionary)    56 4  indexed keys K  60 4 zero
 *   event dictionary: E x (u8 length, id bytes); local event id = position
 *   indexed keys:     K x (u8 length, key bytes)
 *   units: U x (26 + ceil(E/8) bytes)
 *     0 4 first seq - segment first seq   4 4 records
 *     8 8 min time   16 8 max time   24 2 severity mask (bit s: severity s)
 *     26  event bitset, bit i of byte i/8 for local event i
 *   parts (version 2): U x (varint P (1..32), then P - 1 varints: the
 *     records of each part but the last, each >= 1, the last >= 1 too).
 *     A version 2 block's parts are its sub-frames (sub-frame i in part
 *     i * 32 / n when it has n > 32 of them); a version 1 block's, 32 equal
 *     runs; a live unit's, runs of QLIVE_PART records. Version 1 files have
 *     no parts section: each unit is one part
 *   rollup: u32 R entries, u32 L bytes, then L bytes of R entries sorted by
 *     hour, event, severity, each: varint hour (the first zigzag-coded: hours
 *     since the epoch; the others: the difference from the one before),
 *     varint local event, u8 severity, varint records; an entry's position
 *     in this order is what value rollups name
 *   value rollups (version 2 only): u32 keys N, u32 L bytes, then N blocks
 *     sorted by key: u8 key length, key, varint B, B bytes of one zstd frame
 *     (content size set) holding: varint V values, V x (varint length, text
 *     form); varint T tuples; the tuples, sorted by (entry position, value
 *     id), as three runs of varints: R tuples per entry (R: the rollup's
 *     entries), T value ids (the first of an entry, then differences within
 *     it), T records less one. Kept for the keys of at most one value per 8
 *     records (index_build.c)
 *   terms: u32 bucket bits B (0..24), u32 terms T, (2^B + 1) x u32 offsets
 *     of each bucket's first entry in the term data (the last one: its
 *     length), then the term data. A term's key is its hash's top 28 bits
 *     (version 1: the whole hash, 32 bits; read "28" as "32" below), its
 *     bucket the key's top B bits; terms of one key and kind share one entry
 *     (their postings merged). In a bucket, entries sorted by (key, kind),
 *     each:
 *       varint  key minus the previous entry's (the first: minus bucket << (28 - B))
 *       varint  tag (version 2):
 *               tag & 1:   a word term in a few parts, p = tag >> 3, by
 *                          tag >> 1 & 3: 0 unit p (any of its parts); 1 part
 *                          p (unit * 32 + part); 2 parts p and p + 1; 3 parts
 *                          p and p + 2 + g, a varint g following the tag
 *               otherwise: n = tag >> 4 postings, coding = tag >> 3 & 1,
 *                          kind = tag >> 1 & 3: 0 word term, unit numbers;
 *                          1 value term, seq - first seq; 2 word term, part
 *                          numbers (unit * 32 + part); then varint byte
 *                          length L and L bytes:
 *                          coding 0: n varints, the first posting and then
 *                            the differences, ascending
 *                          coding 1 (Elias-Fano): u8 l, the low l bits of
 *                            each posting packed LSB first (ceil(n*l/8)
 *                            bytes), then a bitmap, LSB first, with bit
 *                            (v >> l) + i set for the i-th posting v
 *                          the writer picks the shorter coding
 *               version 1: tag & 1: a word term in one unit, tag >> 1;
 *                          otherwise n = tag >> 3, kind = tag >> 1 & 1 (0
 *                          word units, 1 value seqs), coding = tag >> 2 & 1
 *     varints: 7 bits a byte, low first, high bit set on all but the last.
 *     A word found in at most 16 parts, or in at most 2 parts a unit on
 *     average, names its parts; any other its units. Value terms are kept
 *     only for values of at least 8 records spread over at least 4 units
 *     and in at most 1/128 of the records; event terms (version 2: value
 *     terms of the key "@event" and an event id, qterm_event) for ids in at
 *     most 1/512 of the records; and any value or event term sharing a kept
 *     one's key, merged into it. A search finds the others through their
 *     words and units, and events through the units' bitsets.
 *   trailer, 16 bytes: 0 8 file length  8 4 CRC-32C of every byte before
 *     the trailer  12 4 magic "TIDX"
 *
 * A file that fails any check is treated as missing: searches build the
 * index again from the segment (and a writer writes it again). A version 1
 * file (one part a unit, 32-bit term keys, no value rollups) is read as it
 * is; a writer's sweep (once after open, in the sealer's thread) writes any
 * file not of version 2 again.
 */
#include "query/query.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define IDX_HEADER  64
#define IDX_TRAILER 16
#define UNIT_FIXED  26
/* the most bytes a key's value rollup block may hold decompressed */
#define VROLL_BLOCK_MAX (256u << 20)

/* ---- the view ---- */

static int get_varint(const uint8_t **pp, const uint8_t *end, uint64_t *ret)
{
    const uint8_t *p = *pp;
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (p >= end)
            return TRAIL_E_CORRUPT;
        uint8_t b = *p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *pp = p;
            *ret = v;
            return 0;
        }
    }
    return TRAIL_E_CORRUPT;
}

void qindex_free(struct qindex *ix)
{
    if (!ix)
        return;
    if (ix->event_ids)
        for (uint32_t i = 0; i < ix->n_events; i++)
            free((void *)ix->event_ids[i]);
    free(ix->event_ids);
    free(ix->event_lens);
    free(ix->part_at);
    free(ix->part_first);
    ix->event_ids = NULL;
    ix->event_lens = NULL;
    ix->part_at = ix->part_first = NULL;
}

int qindex_view(const uint8_t *data, size_t len, const uint8_t store_id[16], struct qindex *ix)
{
    struct qindex v = {0};
    const uint8_t *p, *end;
    int r = TRAIL_E_CORRUPT;
    if (len < IDX_HEADER + IDX_TRAILER + 8 + 4)
        return TRAIL_E_CORRUPT;
    if (memcmp(data, "TRAILIDX", 8) != 0 || memcmp(data + len - 4, "TIDX", 4) != 0)
        return TRAIL_E_VERSION;
    v.version = get_u16(data + 8);
    if ((v.version != 1 && v.version != QIDX_VERSION) || get_u32(data + 12) != IDX_HEADER)
        return TRAIL_E_VERSION;
    if (get_u64(data + len - 16) != len ||
        get_u32(data + len - 8) != crc32c(0, data, len - IDX_TRAILER))
        return TRAIL_E_CORRUPT;
    if (store_id && memcmp(data + 16, store_id, 16) != 0)
        return TRAIL_E_CORRUPT;
    v.data = data;
    v.len = len;
    v.first_seq = get_u64(data + 32);
    v.last_seq = get_u64(data + 40);
    v.n_units = get_u32(data + 48);
    v.n_events = get_u32(data + 52);
    v.n_keys = get_u32(data + 56);
    if (v.n_events > 65535 || v.n_keys > 65535 || v.last_seq + 1 < v.first_seq)
        return TRAIL_E_CORRUPT;
    p = data + IDX_HEADER;
    end = data + len - IDX_TRAILER;
    v.event_ids = calloc(v.n_events ? v.n_events : 1, sizeof(*v.event_ids));
    v.event_lens = malloc(v.n_events ? v.n_events : 1);
    if (!v.event_ids || !v.event_lens) {
        r = -ENOMEM;
        goto fail;
    }
    v.events = p;
    for (uint32_t i = 0; i < v.n_events; i++) {
        if (p >= end || (size_t)(end - p) < 1u + p[0])
            goto fail;
        char *id = malloc((size_t)p[0] + 1);
        if (!id) {
            r = -ENOMEM;
            goto fail;
        }
        memcpy(id, p + 1, p[0]);
        id[p[0]] = '\0';
        v.event_ids[i] = id;
        v.event_lens[i] = p[0];
        p += 1 + p[0];
    }
    v.keys = p;
    for (uint32_t i = 0; i < v.n_keys; i++) {
        if (p >= end || (size_t)(end - p) < 1u + p[0])
            goto fail;
        p += 1 + p[0];
    }
    v.ev_bytes = (v.n_events + 7) / 8;
    size_t unit_size = UNIT_FIXED + v.ev_bytes;
    if ((size_t)(end - p) / unit_size < v.n_units)
        goto fail;
    v.units = p;
    p += unit_size * v.n_units;
    if (v.version >= 2) {
        /* each unit's parts, checked against its records */
        v.part_at = malloc(((size_t)v.n_units + 1) * sizeof(*v.part_at));
        v.part_first = malloc(((size_t)v.n_units * QPARTS + 1) * sizeof(*v.part_first));
        if (!v.part_at || !v.part_first) {
            r = -ENOMEM;
            goto fail;
        }
        uint32_t at = 0;
        for (uint32_t i = 0; i < v.n_units; i++) {
            uint32_t count = get_u32(v.units + unit_size * i + 4);
            uint64_t n_parts, first = 0, len_k;
            if (get_varint(&p, end, &n_parts) < 0 || n_parts == 0 || n_parts > QPARTS)
                goto fail;
            v.part_at[i] = at;
            for (uint64_t k = 0; k < n_parts; k++) {
                v.part_first[at++] = (uint32_t)first;
                if (k + 1 == n_parts)
                    break;
                if (get_varint(&p, end, &len_k) < 0 || len_k == 0 || len_k >= count - first)
                    goto fail;
                first += len_k;
            }
        }
        v.part_at[v.n_units] = at;
    }
    if (end - p < 8)
        goto fail;
    v.n_rollup = get_u32(p);
    v.rollup_len = get_u32(p + 4);
    p += 8;
    if ((size_t)(end - p) < v.rollup_len || v.rollup_len < (size_t)v.n_rollup * 4)
        goto fail;
    v.rollup = p;
    p += v.rollup_len;
    if (v.version >= 2) {
        /* value rollups: each key's block within the section */
        if (end - p < 8)
            goto fail;
        v.n_vkeys = get_u32(p);
        v.vroll_len = get_u32(p + 4);
        p += 8;
        if ((size_t)(end - p) < v.vroll_len)
            goto fail;
        v.vroll = p;
        const uint8_t *q = p, *qend = p + v.vroll_len;
        for (uint32_t i = 0; i < v.n_vkeys; i++) {
            uint64_t blen;
            if (q >= qend || q[0] == 0 || (size_t)(qend - q) < 1u + q[0])
                goto fail;
            q += 1 + q[0];
            if (get_varint(&q, qend, &blen) < 0 || blen > (uint64_t)(qend - q))
                goto fail;
            q += blen;
        }
        if (q != qend)
            goto fail;
        p = qend;
    }
    if (end - p < 8)
        goto fail;
    v.bucket_bits = get_u32(p);
    if (v.bucket_bits > 24)
        goto fail;
    v.n_buckets = 1u << v.bucket_bits;
    p += 8;
    if ((size_t)(end - p) / 4 < (size_t)v.n_buckets + 1)
        goto fail;
    v.buckets = p;
    p += 4 * ((size_t)v.n_buckets + 1);
    v.terms = p;
    uint32_t prev = 0;
    for (uint32_t i = 0; i <= v.n_buckets; i++) {
        uint32_t o = get_u32(v.buckets + 4 * (size_t)i);
        if (o < prev)
            goto fail;
        prev = o;
    }
    if ((size_t)(end - p) != prev)
        goto fail;
    /* units ascend and stay inside the segment */
    uint64_t next = 0;
    for (uint32_t i = 0; i < v.n_units; i++) {
        const uint8_t *u = v.units + unit_size * i;
        if (get_u32(u) != next || get_u32(u + 4) == 0)
            goto fail;
        next += get_u32(u + 4);
    }
    if (v.n_units && next != v.last_seq - v.first_seq + 1)
        goto fail;
    *ix = v;
    return 0;
fail:
    qindex_free(&v);
    return r;
}

uint32_t qindex_n_units(const struct qindex *ix)
{
    return ix->live ? qbuilder_n_units(ix->b) : ix->n_units;
}

void qindex_unit(const struct qindex *ix, uint32_t i, struct qunit *ret)
{
    if (ix->live) {
        qbuilder_unit_at(ix->b, i, ret);
        return;
    }
    const uint8_t *u = ix->units + (UNIT_FIXED + ix->ev_bytes) * i;
    ret->first_seq = ix->first_seq + get_u32(u);
    ret->count = get_u32(u + 4);
    ret->min_time = (int64_t)get_u64(u + 8);
    ret->max_time = (int64_t)get_u64(u + 16);
    ret->sev_mask = get_u16(u + 24);
}

uint32_t qindex_n_events(const struct qindex *ix)
{
    return ix->live ? qbuilder_n_events(ix->b) : ix->n_events;
}

const char *qindex_event(const struct qindex *ix, uint32_t local, size_t *ret_len)
{
    if (ix->live)
        return qbuilder_event(ix->b, local, ret_len);
    *ret_len = ix->event_lens[local];
    return ix->event_ids[local];
}

int qindex_unit_has_event(const struct qindex *ix, uint32_t unit, uint32_t local)
{
    if (ix->live)
        return qbuilder_unit_has_event(ix->b, unit, local);
    const uint8_t *u = ix->units + (UNIT_FIXED + ix->ev_bytes) * unit + UNIT_FIXED;
    return u[local / 8] >> (local % 8) & 1;
}

uint32_t qindex_unit_parts(const struct qindex *ix, uint32_t unit, uint32_t starts[QPARTS + 1])
{
    if (ix->live)
        return qbuilder_unit_parts(ix->b, unit, starts);
    uint32_t count = get_u32(ix->units + (UNIT_FIXED + ix->ev_bytes) * unit + 4);
    if (!ix->part_at) {
        starts[0] = 0;
        starts[1] = count;
        return 1;
    }
    uint32_t a = ix->part_at[unit], n = ix->part_at[unit + 1] - a;
    memcpy(starts, ix->part_first + a, n * sizeof(*starts));
    starts[n] = count;
    return n;
}

int qindex_key_indexed(const struct qindex *ix, const char *key, size_t klen)
{
    if (ix->live)
        return qbuilder_key_indexed(ix->b, key, klen);
    const uint8_t *p = ix->keys;
    for (uint32_t i = 0; i < ix->n_keys; i++) {
        if (p[0] == klen && memcmp(p + 1, key, klen) == 0)
            return 1;
        p += 1 + p[0];
    }
    return 0;
}

/* Decode an Elias-Fano list of n postings from p[0..len) (index_build.c's posting_ef). */
static int ef_decode(const uint8_t *p, uint64_t len, uint64_t n, struct qpost *out)
{
    if (len < 1 || p[0] > 31)
        return TRAIL_E_CORRUPT;
    unsigned l = p[0];
    uint64_t low_bytes = (n * l + 7) / 8;
    if (low_bytes > len - 1)
        return TRAIL_E_CORRUPT;
    const uint8_t *low = p + 1, *high = p + 1 + low_bytes;
    uint64_t high_bits = (len - 1 - low_bytes) * 8, pos = 0;
    for (uint64_t i = 0; i < n; i++) {
        while (pos < high_bits && !(high[pos / 8] >> (pos % 8) & 1))
            pos++;
        if (pos >= high_bits || pos < i)
            return TRAIL_E_CORRUPT;
        uint64_t v = (pos - i) << l, bit = i * l;
        for (unsigned k = 0; k < l; k++, bit++)
            v |= (uint64_t)(low[bit / 8] >> (bit % 8) & 1) << k;
        if (v > UINT32_MAX || (i && v <= out->v[i - 1]))
            return TRAIL_E_CORRUPT;
        out->v[i] = (uint32_t)v;
        pos++;
    }
    out->n = (uint32_t)n;
    return 1;
}

/* n postings from p[0..len) in a coding (index_build.c's posting_bytes, posting_ef). */
static int decode_list(const uint8_t *p, uint64_t len, uint64_t n, int ef, struct qpost *out)
{
    if (ef)
        return ef_decode(p, len, n, out);
    const uint8_t *q = p, *qend = p + len;
    uint64_t acc = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t d;
        if (get_varint(&q, qend, &d) < 0)
            return TRAIL_E_CORRUPT;
        acc = i ? acc + d : d;
        if (acc > UINT32_MAX || (i && d == 0))
            return TRAIL_E_CORRUPT;
        out->v[i] = (uint32_t)acc;
    }
    out->n = (uint32_t)n;
    return 1;
}

/* out->v[0..n) part numbers (ascending) made units, each with its parts' mask in out->m. */
static int parts_to_units(const struct qindex *ix, struct qpost *out)
{
    uint32_t w = 0;
    for (uint32_t i = 0; i < out->n; i++) {
        uint32_t unit = out->v[i] / QPARTS, part = out->v[i] % QPARTS;
        if (unit >= ix->n_units || part >= ix->part_at[unit + 1] - ix->part_at[unit])
            return TRAIL_E_CORRUPT;
        if (w && out->v[w - 1] == unit) {
            out->m[w - 1] |= 1u << part;
            continue;
        }
        out->v[w] = unit;
        out->m[w++] = 1u << part;
    }
    out->n = w;
    return 1;
}

int qindex_lookup(const struct qindex *ix, int kind, uint32_t hash, struct qpost *out)
{
    if (ix->live)
        return qbuilder_lookup(ix->b, kind, hash, out);
    out->n = 0;
    int v2 = ix->version >= 2;
    unsigned key_bits = v2 ? QIDX_KEY_BITS : 32;
    uint64_t key = hash >> (32 - key_bits);
    uint32_t bk = ix->bucket_bits ? (uint32_t)(key >> (key_bits - ix->bucket_bits)) : 0;
    const uint8_t *p = ix->terms + get_u32(ix->buckets + 4 * (size_t)bk);
    const uint8_t *end = ix->terms + get_u32(ix->buckets + 4 * ((size_t)bk + 1));
    uint64_t h = ix->bucket_bits ? (uint64_t)bk << (key_bits - ix->bucket_bits) : 0;
    int want_value = kind == QTERM_VALUE;
    while (p < end) {
        uint64_t delta, tag, n, blen = 0, single = 0, second = 0;
        int code, ef = 0; /* code: 0 word units, 1 value seqs, 2 word parts */
        if (get_varint(&p, end, &delta) < 0 || get_varint(&p, end, &tag) < 0)
            return TRAIL_E_CORRUPT;
        h += delta;
        if (tag & 1 && v2) {
            /* a word's unit, its part, or two parts (the second one after, or a gap later) */
            n = (tag >> 1 & 3) >= 2 ? 2 : 1;
            single = tag >> 3;
            second = single + 1;
            code = tag >> 1 & 3 ? 2 : 0;
            if ((tag >> 1 & 3) == 3) {
                if (get_varint(&p, end, &second) < 0 || second > UINT32_MAX)
                    return TRAIL_E_CORRUPT;
                second += single + 2;
            }
        } else if (tag & 1) {
            n = 1; /* a word in one unit */
            single = tag >> 1;
            code = 0;
        } else {
            n = v2 ? tag >> 4 : tag >> 3;
            code = (int)(v2 ? tag >> 1 & 3 : tag >> 1 & 1);
            ef = (int)(v2 ? tag >> 3 & 1 : tag >> 2 & 1);
            if (code == 3 || get_varint(&p, end, &blen) < 0 || blen > (uint64_t)(end - p) ||
                n == 0 || n > (ef ? blen * 8 : blen) || n > UINT32_MAX)
                return TRAIL_E_CORRUPT;
        }
        if (h >> key_bits || single > UINT32_MAX || (n == 2 && second > UINT32_MAX) ||
            (code == 2 && !ix->part_at))
            return TRAIL_E_CORRUPT;
        if (h > key)
            return 0;
        if (h != key || (code == 1) != want_value) {
            p += blen;
            continue;
        }
        int r = qpost_reserve(out, (uint32_t)n, !want_value);
        if (r < 0)
            return r;
        if (tag & 1) {
            out->v[0] = (uint32_t)single;
            if (n == 2)
                out->v[1] = (uint32_t)second;
            out->n = (uint32_t)n;
            r = 1;
        } else {
            r = decode_list(p, blen, n, ef, out);
        }
        if (r < 0 || want_value)
            return r;
        if (code == 2)
            return parts_to_units(ix, out);
        for (uint32_t i = 0; i < out->n; i++)
            out->m[i] = UINT32_MAX; /* the index names the unit: any part of it */
        return 1;
    }
    return 0;
}

int qindex_rollup(const struct qindex *ix, int (*fn)(void *arg, const struct qrollup *r), void *arg)
{
    if (ix->live)
        return qbuilder_rollup(ix->b, fn, arg);
    const uint8_t *p = ix->rollup, *end = ix->rollup + ix->rollup_len;
    int64_t hour = 0;
    for (uint32_t i = 0; i < ix->n_rollup; i++) {
        uint64_t h, ev, count;
        if (get_varint(&p, end, &h) < 0 || get_varint(&p, end, &ev) < 0 || p >= end)
            return TRAIL_E_CORRUPT;
        uint8_t sev = *p++;
        if (get_varint(&p, end, &count) < 0 || ev >= ix->n_events)
            return TRAIL_E_CORRUPT;
        hour = i ? hour + (int64_t)h : (int64_t)(h >> 1) ^ -(int64_t)(h & 1);
        struct qrollup r = {.hour = hour, .event = (uint32_t)ev, .severity = sev, .count = count};
        int rc = fn(arg, &r);
        if (rc)
            return rc;
    }
    return 0;
}

void qvroll_free(struct qvroll *v)
{
    trail_buf_free(&v->raw);
    free(v->val);
    free(v->vlen);
    free(v->t);
    memset(v, 0, sizeof(*v));
}

int qindex_vrollup(const struct qindex *ix, const char *key, size_t klen, struct qvroll *out)
{
    out->n_values = out->n_tuples = 0;
    if (ix->live || !ix->vroll)
        return 0;
    const uint8_t *p = ix->vroll, *end = ix->vroll + ix->vroll_len;
    for (uint32_t i = 0; i < ix->n_vkeys; i++) {
        uint64_t blen;
        int hit = p[0] == klen && memcmp(p + 1, key, klen) == 0;
        p += 1 + p[0];
        if (get_varint(&p, end, &blen) < 0 || blen > (uint64_t)(end - p))
            return TRAIL_E_CORRUPT; /* (qindex_view checked the blocks) */
        if (!hit) {
            p += blen;
            continue;
        }
        /* the block, one zstd frame that says its size */
        unsigned long long size = ZSTD_getFrameContentSize(p, blen);
        if (size == ZSTD_CONTENTSIZE_UNKNOWN || size == ZSTD_CONTENTSIZE_ERROR ||
            size > VROLL_BLOCK_MAX)
            return TRAIL_E_CORRUPT;
        trail_buf_reset(&out->raw);
        if (trail_buf_reserve(&out->raw, (size_t)size + 1) < 0)
            return -ENOMEM;
        size_t got = ZSTD_decompress(out->raw.data, (size_t)size + 1, p, blen);
        if (ZSTD_isError(got) || got != size)
            return TRAIL_E_CORRUPT;
        out->raw.len = got;
        const uint8_t *q = (const uint8_t *)out->raw.data, *qend = q + got;
        uint64_t nv, nt;
        if (get_varint(&q, qend, &nv) < 0 || nv > QVROLL_MAX_VALUES || nv > (uint64_t)(qend - q))
            return TRAIL_E_CORRUPT;
        if (out->cap_values < nv) {
            const uint8_t **val = realloc(out->val, nv * sizeof(*val));
            if (!val)
                return -ENOMEM;
            out->val = val;
            uint32_t *vlen = realloc(out->vlen, nv * sizeof(*vlen));
            if (!vlen)
                return -ENOMEM;
            out->vlen = vlen;
            out->cap_values = (uint32_t)nv;
        }
        for (uint64_t v = 0; v < nv; v++) {
            uint64_t n;
            if (get_varint(&q, qend, &n) < 0 || n > (uint64_t)(qend - q))
                return TRAIL_E_CORRUPT;
            out->val[v] = q;
            out->vlen[v] = (uint32_t)n;
            q += n;
        }
        /* a tuple takes at least 2 bytes */
        if (get_varint(&q, qend, &nt) < 0 || nt > (uint64_t)(qend - q) / 2)
            return TRAIL_E_CORRUPT;
        if (out->cap_tuples < nt) {
            struct qvtuple *t = realloc(out->t, (nt ? nt : 1) * sizeof(*t));
            if (!t)
                return -ENOMEM;
            out->t = t;
            out->cap_tuples = (uint32_t)nt;
        }
        /* tuples per entry, then the values, then the records */
        uint64_t j = 0;
        for (uint32_t e = 0; e < ix->n_rollup; e++) {
            uint64_t k;
            if (get_varint(&q, qend, &k) < 0 || k > nt - j)
                return TRAIL_E_CORRUPT;
            for (; k; k--)
                out->t[j++].entry = e;
        }
        if (j != nt)
            return TRAIL_E_CORRUPT;
        for (j = 0; j < nt; j++) {
            uint64_t dv, v;
            if (get_varint(&q, qend, &dv) < 0)
                return TRAIL_E_CORRUPT;
            int same = j && out->t[j].entry == out->t[j - 1].entry;
            if (same && dv == 0)
                return TRAIL_E_CORRUPT; /* the same value twice in an entry */
            v = same ? out->t[j - 1].value + dv : dv;
            if (v >= nv)
                return TRAIL_E_CORRUPT;
            out->t[j].value = (uint32_t)v;
        }
        for (j = 0; j < nt; j++) {
            uint64_t c;
            if (get_varint(&q, qend, &c) < 0 || c >= UINT32_MAX)
                return TRAIL_E_CORRUPT;
            out->t[j].count = c + 1;
        }
        if (q != qend)
            return TRAIL_E_CORRUPT;
        out->n_values = (uint32_t)nv;
        out->n_tuples = (uint32_t)nt;
        return 1;
    }
    return 0;
}

/* ---- building and writing ---- */

void idx_path(const struct trail_store *s, uint64_t first_seq, char *out, size_t size)
{
    snprintf(out, size, "%s/seg-%016" PRIx64 ".idx", s->dir, first_seq);
}

/*
 * Index one block's frames raw[0, len) (count records) as the builder's next
 * unit. Its parts: the block's n_sub sub-frames (seg_block_frames; grouped
 * when more than QPARTS), or, with n_sub 0 (a version 1 block), QPARTS
 * equal runs of records. check_crc: the frames carry their CRC (not in
 * version 3).
 */
static int idx_add_block(struct qbuilder *b, const uint8_t *raw, size_t len, uint32_t count,
                         const struct seg_subframe *sub, uint32_t n_sub, int check_crc)
{
    int r = qbuilder_unit(b);
    if (r < 0)
        return r;
    uint32_t part = 0;
    size_t off = 0;
    for (uint32_t k = 0, sf = 0; k < count; k++) {
        uint32_t want;
        if (n_sub) {
            while (sf + 1 < n_sub && sub[sf + 1].first <= k)
                sf++;
            want = n_sub > QPARTS ? (uint32_t)((uint64_t)sf * QPARTS / n_sub) : sf;
        } else {
            want = (uint32_t)((uint64_t)k * QPARTS / count);
        }
        if (want != part) {
            qbuilder_part(b);
            part = want;
        }
        const uint8_t *f = raw + off;
        uint32_t flen;
        if (len - off < TRAIL_FRAME_HEAD || (flen = get_u32(f)) > len - off - TRAIL_FRAME_HEAD ||
            (check_crc && crc32c(0, f + TRAIL_FRAME_HEAD, flen) != get_u32(f + 4)))
            return TRAIL_E_CORRUPT;
        if ((r = qbuilder_add(b, f + TRAIL_FRAME_HEAD, flen)) < 0)
            return r;
        off += TRAIL_FRAME_HEAD + flen;
    }
    return off == len ? 0 : TRAIL_E_CORRUPT;
}

int idx_build_sealed(struct trail_store *s, uint64_t first_seq, struct trail_buf *out)
{
    char path[4200];
    struct seg_sealed ss = {0};
    struct trail_buf comp = {0}, raw = {0};
    struct qbuilder *b = NULL;
    struct seg_subframe *sub = NULL;
    ZSTD_DCtx *dctx = NULL;
    int r;
    store_seg_path(s, first_seq, ".seg", path, sizeof(path));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? TRAIL_E_NOT_FOUND : -errno;
    if ((r = seg_sealed_load(fd, &ss)) < 0)
        goto out;
    if ((r = qbuilder_new(s->cat, ss.first_seq, &b)) < 0)
        goto out;
    qbuilder_for_sealed(b);
    dctx = ZSTD_createDCtx();
    if (!dctx) {
        r = -ENOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < ss.n_blocks; i++) {
        const struct seg_block *blk = &ss.blocks[i];
        if ((r = seg_block_read(fd, blk, dctx, &comp, &raw)) < 0)
            goto out;
        uint32_t n_sub = 0;
        free(sub);
        sub = NULL;
        comp.len = blk->comp_len;
        if ((r = seg_block_frames(blk, (const uint8_t *)comp.data, comp.len, &sub, &n_sub)) < 0)
            goto out;
        if (r != 0)
            n_sub = 0; /* version 1: no table */
        if ((r = idx_add_block(b, (const uint8_t *)raw.data, raw.len, blk->count, sub, n_sub,
                               !blk->lean)) < 0)
            goto out;
    }
    if (qbuilder_records(b) != ss.last_seq - ss.first_seq + 1) {
        r = TRAIL_E_CORRUPT;
        goto out;
    }
    r = qbuilder_serialize(b, s->store_id, out);
out:
    free(sub);
    qbuilder_free(b);
    ZSTD_freeDCtx(dctx);
    trail_buf_free(&comp);
    trail_buf_free(&raw);
    seg_sealed_free(&ss);
    close(fd);
    return r;
}

int idx_write(struct trail_store *s, uint64_t first_seq, const struct trail_buf *bytes)
{
    char path[4200];
    idx_path(s, first_seq, path, sizeof(path));
    /* the sealer and a search may write the same index at once: each its own temporary */
    return trail_file_replace(path, bytes->data, bytes->len, 0640);
}

/* Is DIR/seg-X.idx there, whole and of the version trail writes? */
static int idx_good(struct trail_store *s, uint64_t first_seq)
{
    char path[4200];
    idx_path(s, first_seq, path, sizeof(path));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct stat st;
    int ok = 0;
    if (fstat(fd, &st) == 0 && st.st_size > 0 && st.st_size < (1LL << 32)) {
        uint8_t *data = malloc((size_t)st.st_size);
        if (data && pread(fd, data, (size_t)st.st_size, 0) == st.st_size) {
            struct qindex v;
            if (qindex_view(data, (size_t)st.st_size, s->store_id, &v) == 0) {
                ok = v.version == QIDX_VERSION; /* an older one is written again */
                qindex_free(&v);
            }
        }
        free(data);
    }
    close(fd);
    return ok;
}

static void index_on_sealed(struct trail_store *s, uint64_t first_seq)
{
    if (s->read_only)
        return;
    struct trail_buf b = {0};
    if (idx_build_sealed(s, first_seq, &b) == 0)
        idx_write(s, first_seq, &b);
    trail_buf_free(&b);
}

/* A segment's index while it is sealed (the hooks below): its builder, and
   the first error, after which its blocks are passed over */
struct idx_sealing {
    struct qbuilder *b;
    uint64_t first_seq;
    int err;
};

static void *index_seal_begin(struct trail_store *s, uint64_t first_seq)
{
    if (s->read_only)
        return NULL;
    struct idx_sealing *x = calloc(1, sizeof(*x));
    if (!x)
        return NULL;
    x->first_seq = first_seq;
    if (qbuilder_new(s->cat, first_seq, &x->b) < 0) {
        free(x);
        return NULL;
    }
    qbuilder_for_sealed(x->b);
    return x;
}

static void index_seal_block(void *arg, const struct seg_block *blk, const uint8_t *raw, size_t len,
                             const struct seg_subframe *sub, uint32_t n_sub)
{
    struct idx_sealing *x = arg;
    if (x->err == 0)
        x->err = idx_add_block(x->b, raw, len, blk->count, sub, n_sub, 0);
}

static void index_seal_end(struct trail_store *s, void *builder, int ok, uint64_t last_seq)
{
    struct idx_sealing *x = builder;
    if (!x)
        return;
    /* an index that failed is built again by the next sweep, or by a search */
    if (ok && x->err == 0 && qbuilder_records(x->b) == last_seq - x->first_seq + 1) {
        struct trail_buf bytes = {0};
        if (qbuilder_serialize(x->b, s->store_id, &bytes) == 0)
            idx_write(s, x->first_seq, &bytes);
        trail_buf_free(&bytes);
    }
    qbuilder_free(x->b);
    free(x);
}

static void index_sweep(struct trail_store *s)
{
    if (s->read_only)
        return;
    pthread_mutex_lock(&s->seg_lock);
    size_t n = s->n_segs;
    uint64_t *firsts = malloc((n ? n : 1) * sizeof(*firsts));
    size_t k = 0;
    for (size_t i = 0; firsts && i < n; i++)
        if (s->segs[i].sealed)
            firsts[k++] = s->segs[i].first_seq;
    pthread_mutex_unlock(&s->seg_lock);
    for (size_t i = 0; firsts && i < k; i++) {
        pthread_mutex_lock(&s->seal_lock);
        int stop = s->seal_stop; /* closing: what is left waits for the next open */
        pthread_mutex_unlock(&s->seal_lock);
        if (stop)
            break;
        if (!idx_good(s, firsts[i]))
            index_on_sealed(s, firsts[i]);
    }
    free(firsts);
}

/* The store's hooks (store.h), registered when this file is linked in. */
static const struct store_index_hooks hooks = {
    .seal_begin = index_seal_begin,
    .seal_block = index_seal_block,
    .seal_end = index_seal_end,
    .sweep = index_sweep,
};

__attribute__((constructor)) static void register_hooks(void)
{
    store_index_hooks_set(&hooks);
}
