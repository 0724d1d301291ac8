/*
 * record.h - a record: one event as the store keeps it, the bytes whose hash
 * is a leaf of the Merkle tree (lib/store/record.c documents the layout;
 * docs/format.md "Record").
 *
 * Not part of the public API. Uses lib/base and lib/event.
 */
#ifndef TRAIL_RECORD_H
#define TRAIL_RECORD_H

#include "base/bytes.h"
#include "event/event.h"

#define TRAIL_RECORD_VERSION       2 /* what trail writes; version 1 is still read */
#define TRAIL_RECORD_VERSION_OK(v) ((v) == 1 || (v) == 2)
#define TRAIL_REC_F_UUID_DERIVED   0x01 /* uuid not stored: derived from store id and seq */
#define TRAIL_REC_F_OWN            0x02 /* written by trail itself (version 2) */
#define TRAIL_REC_F_PROBLEMS       0x04 /* stored with problems listed (version 2) */
#define TRAIL_REC_F_RELAYED        0x08 /* a hop list follows the problems (version 2) */
#define TRAIL_REC_F_ALL            0x0F
#define TRAIL_RECORD_MIN           24 /* version 1: derived uuid, 1-byte id, empty host, no attrs */
#define TRAIL_RECORD_MAX           (16u << 20) /* hard ceiling of a frame's length field */

/*
 * record_size - the exact encoded size of ev as a record, uuid derived
 * when the event has none.
 */
size_t record_size(const struct trail_event *ev);

/*
 * record_write - encode ev into out (record_size() bytes) with
 * the given seq, producer time and received time, in the current record
 * version; returns the bytes written.
 */
size_t record_write(const struct trail_event *ev, uint64_t seq, int64_t time_us,
                    int64_t received_us, uint8_t *out);

/*
 * record_decode - decode a record into ev (made from any catalog; its
 * memory is reused). Derived uuids are computed from store_id. Never reads
 * outside rec[0..len). 0, TRAIL_E_CORRUPT (malformed), TRAIL_E_VERSION or
 * -ENOMEM. ev is reset even on failure.
 */
int record_decode(const uint8_t *rec, size_t len, const uint8_t store_id[16],
                  struct trail_event *ev);

/* ---- the raw record view (lib/store/record.c) ---- */

struct rec_view {
    uint64_t seq;
    int64_t time_us;
    int severity;
    const uint8_t *id;
    size_t id_len;
    const uint8_t *host;
    size_t host_len;
    int version;         /* 1 or 2 (TRAIL_RECORD_VERSION) */
    int flags;           /* TRAIL_REC_F_* */
    int64_t received_us; /* version 2; 0 in version 1 */
    int input;           /* enum trail_input; TRAIL_INPUT_NONE in version 1 */
    const uint8_t *input_name;
    size_t input_name_len;
    struct trail_peer peer;
    const uint8_t *principal;
    size_t principal_len;
    const uint8_t *problems;
    size_t problems_len;
    const uint8_t *via; /* the hops (TRAIL_REC_F_RELAYED): n_via of them, via_len bytes */
    size_t via_len;
    int n_via;
    const uint8_t *attrs; /* the first attribute */
    const uint8_t *end;
    uint32_t n_attrs;
};

struct rec_attr {
    const char *key;
    size_t klen;
    int type;           /* enum trail_type */
    const uint8_t *val; /* string/enum: the bytes; ip: the address; others: 8 or 1 bytes */
    size_t vlen;        /* string/enum: length; ip: 4 or 16 */
    int64_t i;          /* int, time, bool */
};

/*
 * rec_view_parse - the fields of a record in place, for readers that need no
 * event (filters, the index builder, verify). 0, TRAIL_E_CORRUPT when the
 * part before the attributes does not hold, TRAIL_E_VERSION for a version
 * other than 1 and 2.
 */
int rec_view_parse(const uint8_t *rec, size_t len, struct rec_view *v);

/* rec_attr_next - the attribute at *p (start at v->attrs): 1, 0 at the end, TRAIL_E_CORRUPT. */
int rec_attr_next(const uint8_t **p, const uint8_t *end, struct rec_attr *a);

/* rec_attr_text - the text form of an attribute value (trail_value_format); buf >= 64 bytes. */
size_t rec_attr_text(const struct rec_attr *a, char *buf, const char **ret_text);

struct codec_row;
struct codec_attr;

/*
 * record_row - the record rec, parsed into v, as a row for the text writers
 * (lib/store/record_row.c): 1 with *ret pointing into rec, attrs (room for
 * cap) and uuid, holding what record_decode() would give the event (def
 * looked up in cat; NULL cat: no def); 0 when the record is the decoder's
 * to read (version 1, a field the event cannot hold, more than cap
 * attributes, or anything record_decode() refuses).
 */
int record_row(const struct rec_view *v, const uint8_t *rec, const uint8_t store_id[16],
               const struct trail_catalog *cat, struct codec_attr *attrs, size_t cap,
               uint8_t uuid[16], struct codec_row *ret);

/* record_seq / _time - read the fixed fields of a record of len >= MIN. */
static inline uint64_t record_seq(const uint8_t *rec)
{
    return get_u64(rec + 1);
}
static inline int64_t record_time(const uint8_t *rec)
{
    return (int64_t)get_u64(rec + 9);
}

/* uuid_derive - the uuid of a record stored without one (RFC 9562 version 8). */
void uuid_derive(const uint8_t store_id[16], uint64_t seq, uint8_t out[16]);

#endif /* TRAIL_RECORD_H */
