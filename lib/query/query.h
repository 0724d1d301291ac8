/*
 * query.h - what the query layer's files share (internal): the parsed query
 * and its compiled form, the raw record view the filters run on, words and
 * term hashes, and the segment index in its two forms (the builder that
 * indexes records as they come, and the view over a sealed segment's .idx
 * file).
 *
 * Not here: the public calls (include/trail.h, "Query"), the store's own
 * formats (store.h). The .idx format is documented byte by byte in
 * docs/format.md ("Indexes") and beside its writer in lib/query/index_file.c.
 *
 *   query.c        parsing the filter language, cursors, the record predicate
 *   index_build.c  the builder: words, term postings, unit summaries, rollups
 *   index_file.c   .idx files: writing, checking, reading (the view); the
 *                  store's index hooks (store_index_hooks, registered at load)
 *   index.c        struct trail_index: segments, the live tail, the block
 *                  cache, searching and counting
 */
#ifndef TRAIL_QUERY_H
#define TRAIL_QUERY_H

#include "store/store.h"

#include <pthread.h>
#include <stdint.h>

/* ---- words and term hashes ---- */

/*
 * A word is a maximal run of ASCII letters and digits and of bytes >= 0x80
 * (so UTF-8 letters stay inside words); ASCII letters are folded to lower
 * case. Words longer than QWORD_MAX bytes are cut there (a query word is cut
 * the same way, so lookups still find them; the predicate decides).
 */
#define QWORD_MAX 64

static inline int qword_char(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

static inline uint8_t qlower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/*
 * Term hashes, 32 bits, what the indexes are keyed by:
 *   word term:   CRC-32C of 'w' followed by the lower-cased word
 *   value term:  CRC-32C of 'v', the key, '=', and the value's text form
 *                (trail_value_format: strings verbatim, IPs in RFC 5952)
 * Two terms may share a hash; the index then answers a superset and the
 * predicate removes what does not match.
 */
#define QTERM_WORD  1
#define QTERM_VALUE 2

uint32_t qterm_word(const uint8_t *word, size_t len); /* word already lower-cased */
uint32_t qterm_value(const char *key, size_t klen, const char *val, size_t vlen);
/*
 * qterm_event - the value term of an event id's seqs: qterm_value of the key
 * "@event" (no attribute key has an '@') and the id.
 */
uint32_t qterm_event(const char *id, size_t len);

/*
 * qwords - call fn for each word of text[0..len), lower-cased and cut to
 * QWORD_MAX bytes. complete_only: skip a last word that runs to the end of
 * the text (for prefixes). Returns the number of words passed to fn.
 */
size_t qwords(const char *text, size_t len, int complete_only,
              void (*fn)(void *arg, const uint8_t *word, size_t wlen), void *arg);

/* ---- the raw record view (record.c's format, read in place) ---- */

/* ---- the parsed query ---- */

#define QOP_EQ     1
#define QOP_NE     2
#define QOP_PREFIX 3

#define QBY_EVENT    1
#define QBY_SEVERITY 2
#define QBY_HOUR     3
#define QBY_DAY      4
#define QBY_ATTR     5

/* What a where clause looks at: an attribute, or a part of the record's provenance. */
#define QF_ATTR      0
#define QF_INPUT     1 /* "http", "follow" (any follow) or "follow:NAME" */
#define QF_PEER      2 /* the peer's address: an IP or a CIDR network */
#define QF_PRINCIPAL 3 /* the authenticated principal, as stored */
#define QF_ORIGIN    4 /* "trail" for trail's own records, "producer" for the others */

struct qwhere {
    int field; /* QF_*; for provenance the key is "@input", ... and never indexed */
    char *key;
    size_t klen;
    int op; /* QOP_* */
    char *value;
    size_t vlen;
    int cidr; /* value is a network: ip_family/ip/prefix_bits */
    int prefix_bits;
    int has_ip;        /* value reads as an IP (or the network's address) */
    uint8_t ip_family; /* 4 or 6 */
    uint8_t ip[16];
    int has_int;
    int64_t ival;
    int has_time;
    int64_t tval;
    uint32_t terms[2]; /* value-term hashes: the text as given, and its canonical form */
    int n_terms;
    int words_ok; /* the value's words may narrow a search (they are what records hold) */
};

struct qtext {
    char *item; /* lower-cased */
    size_t len;
    int word_start, word_end; /* the item starts / ends with a word character */
    int strings_only;         /* no number, address or bool is written with it: only a string
                                 value (its bytes in the record as they are) can hold it */
};

struct qpair {
    char *name; /* without leading dashes */
    char *value;
};

struct trail_query {
    const struct trail_catalog *cat;
    struct qpair *pairs; /* as given, in order (for formatting and the cursor's hash) */
    size_t n_pairs, cap_pairs;

    char *since_text, *until_text;   /* resolved against the clock when a search starts */
    char *rsince_text, *runtil_text; /* the same for the received time */
    char **globs;                    /* event globs, lower-cased */
    size_t n_globs;
    int has_sev, sev_min, sev_max;
    struct qwhere *wheres;
    size_t n_wheres;
    struct qtext *texts;
    size_t n_texts;
    int order; /* enum trail_order */
    uint64_t limit;
    int64_t now_us; /* 0: the clock at trail_results_open / trail_count_run */

    int has_cursor;
    int cur_order;
    uint64_t cur_seq;
    int64_t cur_now;
    uint32_t cur_hash;
    int64_t cur_time;     /* time orders: the event time of the position */
    uint64_t cur_horizon; /* time orders: the last seq the first page saw */

    int n_by;
    int by[TRAIL_COUNT_MAX_BY];
    char *by_attr[TRAIL_COUNT_MAX_BY];
};

/* The query made ready to run: times resolved, per-id decisions cached. */
struct qplan {
    const struct trail_query *q;
    int64_t now_us;
    int64_t since, until;   /* [since, until), INT64_MIN / INT64_MAX when open */
    int64_t rsince, runtil; /* the same on the received time (received_since/until) */
    int sev_min, sev_max;
    uint32_t hash; /* of the filters (cursor check) */
    /* id -> matches the globs, a small cache (ids repeat) */
    struct {
        uint32_t h;
        uint8_t len;
        int8_t ok; /* -1 unknown, 0 no, 1 yes */
        char id[48];
    } idcache[256];
};

/* qplan_init - resolve the query's times against now (or the cursor's clock). */
int qplan_init(struct qplan *p, const struct trail_query *q, int64_t now_us);

/* qglob_match - 1 when id matches glob (*, ?, [set], [!set], [a-z]). */
int qglob_match(const char *glob, const char *id, size_t id_len);

/* qplan_event_ok - 1 when an event id passes the --event globs (1 without any). */
int qplan_event_ok(struct qplan *p, const uint8_t *id, size_t len);

/*
 * qplan_match - the whole predicate on one record (time, event, severity,
 * where, text). 1 match, 0 not, TRAIL_E_CORRUPT for a malformed record.
 */
int qplan_match(struct qplan *p, const struct rec_view *v);

/* qquery_hash - the hash of the filters (what a cursor is bound to). */
uint32_t qquery_hash(const struct trail_query *q);

/* qcursor_format - "n.SEQ.NOW.HASH" / "o...": the position after seq. */
int qcursor_format(int order, uint64_t seq, int64_t now_us, uint32_t hash, char *buf, size_t size);

/*
 * qcursor_format_time - "t.TIME.SEQ.HORIZON.NOW.HASH" (order time) or
 * "r..." (order -time): the position after the event (time, seq), in a
 * search that sees the seqs up to horizon only.
 */
int qcursor_format_time(int order, int64_t time_us, uint64_t seq, uint64_t horizon, int64_t now_us,
                        uint32_t hash, char *buf, size_t size);

/*
 * Where a search stands, as its cursor needs it: kept alike by the store's
 * results (index.c) and ClickHouse's (lib/clickhouse), so that both give
 * the same cursor for the same position.
 */
struct qposition {
    int newest;  /* by seq: newest first */
    int done;    /* every seq in [lo, hi] looked at */
    int more;    /* the page ended at its limit with events left */
    int by_time; /* TRAIL_ORDER_TIME or _TIME_DESC; 0: by seq */
    int has_pos; /* by time: pos_time, pos_seq are the position to continue after */
    int64_t pos_time;
    uint64_t pos_seq;
    uint64_t lo, hi; /* the seqs the search covers; by time, hi is its horizon */
    uint64_t returned, last_seq;
};

/*
 * qposition_cursor - the cursor of a search at p: after the last event
 * returned, where the search would start when nothing was, or after all it
 * looked at. Returns what qcursor_format or qcursor_format_time returns.
 */
int qposition_cursor(const struct qposition *p, const struct qplan *plan, char *buf, size_t size);

/*
 * qresults_merge_stats - for a search in time order: the units (blocks) it
 * opened so far and the most candidate records its open runs held at once
 * (tests and benchmarks: the merge reads the overlapping blocks, not the
 * store). Both 0 in seq order.
 */
void qresults_merge_stats(const struct trail_results *res, uint64_t *ret_opened,
                          uint64_t *ret_peak);

/*
 * qresults_examined - the records a search in seq order read and checked
 * against its filter so far (tests: exact seqs read no record that fails).
 */
uint64_t qresults_examined(const struct trail_results *res);

/*
 * qindex_cache_drop - drop every decompressed block no search holds (a
 * benchmark's cold run: what the first search after a restart finds).
 * Returns the bytes still held by searches in flight.
 */
size_t qindex_cache_drop(struct trail_index *ix);

/*
 * qindex_vrolled - how many times a count by an attribute took a sealed
 * segment's figures from its value rollup instead of reading its records
 * (tests and benchmarks: that the path ran).
 */
uint64_t qindex_vrolled(struct trail_index *ix);

/* qorder_name - "newest", "oldest", "time" or "-time". */
const char *qorder_name(int order);

/* ---- the segment index ---- */

/*
 * An index covers one segment and divides it into units: the sealed
 * segment's compressed blocks, or (live, open segments) runs of
 * QLIVE_UNIT records. A unit is divided again into at most QPARTS parts,
 * runs of its records: a version 2 block's sub-frames (grouped when there
 * are more than QPARTS), equal runs otherwise. Per unit: seq range, time
 * range, severity mask, a bitset of the segment's event ids and where its
 * parts start; per segment: the event dictionary, the term postings (word
 * terms: unit numbers, each with a mask of the parts holding the word;
 * value terms of indexed keys: seq offsets) and the (hour, event, severity)
 * -> count rollup.
 */
#define QLIVE_UNIT       1024
#define QPARTS           32 /* parts of a unit at most (a part mask is 32 bits) */
#define QLIVE_PART       (QLIVE_UNIT / QPARTS)
#define QPART_LIST_MAX   16  /* .idx: part postings for words in at most 16 parts, */
#define QPART_LIST_MEAN  2   /* or in at most 2 parts a unit (units for the others) */
#define QIDX_KEY_BITS    28  /* .idx version 2 keeps the top 28 bits of a term's hash */
#define QVALUE_MIN_SEQS  8   /* sealed indexes keep value postings of at least this many seqs */
#define QVALUE_MIN_UNITS 4   /* ... spread over at least this many units */
#define QVALUE_MAX_SHARE 128 /* ... in at most 1/128 of the segment's records */
#define QEVENT_MAX_SHARE                                                                           \
    512 /* sealed indexes keep the seqs of event ids in at most 1/512 of them */

struct qunit {
    uint64_t first_seq;
    uint32_t count;
    uint16_t sev_mask; /* bit s for severity s */
    int64_t min_time, max_time;
};

struct qpost {
    uint32_t *v; /* word: unit numbers; value: seq - first_seq of the segment */
    uint32_t *m; /* word: the parts of unit v[i] holding it, bit k for part k (lookups) */
    uint32_t n, cap, mcap;
};

struct qrollup {
    int64_t hour; /* hours since the epoch */
    uint32_t event;
    uint8_t severity;
    uint64_t count;
};

/*
 * Value rollups (sealed indexes, version 2): for an attribute key with few
 * distinct values in the segment, the records of each rollup entry (hour,
 * event, severity) per value of the key, so that a count by that key reads
 * no record. A key is kept when the segment holds at most one distinct
 * value per QVROLL_SHARE records (and at most QVROLL_MAX_VALUES); the
 * builder gives a key up as soon as it holds more than QVROLL_EARLY values
 * and breaks the share so far. Records without the key are an entry's
 * records less the sum of its tuples.
 */
#define QVROLL_SHARE      8
#define QVROLL_EARLY      1024
#define QVROLL_MAX_VALUES 65535

struct qvtuple {
    uint32_t entry; /* position in the rollup (qindex_rollup's order) */
    uint32_t value; /* position in the key's dictionary */
    uint64_t count;
};

/* One key's value rollup, read from a .idx (qindex_vrollup): texts point into raw. */
struct qvroll {
    struct trail_buf raw; /* the key's block, decompressed */
    uint32_t n_values;
    const uint8_t **val; /* the values' text forms (trail_value_format), in dictionary order */
    uint32_t *vlen;
    uint32_t n_tuples;
    struct qvtuple *t; /* sorted by (entry, value) */
    uint32_t cap_values, cap_tuples;
};

void qvroll_free(struct qvroll *v);

/* The builder (index_build.c). Not thread-safe: one writer; readers lock around it. */
struct qbuilder;

int qbuilder_new(const struct trail_catalog *cat, uint64_t first_seq, struct qbuilder **ret);
void qbuilder_free(struct qbuilder *b);
/* qbuilder_unit - start a new unit at the next record (its first seq). */
int qbuilder_unit(struct qbuilder *b);
/*
 * qbuilder_part - start a new part of the current unit at the next record
 * (nothing at the unit's first record, nor once it has QPARTS parts: the
 * last one then goes on).
 */
void qbuilder_part(struct qbuilder *b);
/* qbuilder_add - index one record (seqs in order, from first_seq). 0, TRAIL_E_CORRUPT, -ENOMEM. */
int qbuilder_add(struct qbuilder *b, const uint8_t *rec, size_t len);
/*
 * qbuilder_for_sealed - keep from now on (call before the first record)
 * what only a sealed segment's .idx holds: value rollups, and the seqs of
 * each event id found in at most 1/QEVENT_MAX_SHARE of the records (value
 * terms of qterm_event). A live segment's builder keeps neither (its counts
 * and event filters read records).
 */
void qbuilder_for_sealed(struct qbuilder *b);
/* qbuilder_serialize - the .idx bytes for a sealed segment (value terms found in few units
 * dropped).
 */
int qbuilder_serialize(struct qbuilder *b, const uint8_t store_id[16], struct trail_buf *out);
uint64_t qbuilder_records(const struct qbuilder *b);

/* A read interface over either form. */
struct qindex {
    int live;            /* 1: a builder (value terms complete); 0: a .idx view */
    struct qbuilder *b;  /* live */
    const uint8_t *data; /* view: the file's bytes */
    size_t len;
    int mapped; /* data is mmap'd (else malloc'd) */
    /* view, parsed */
    int version; /* of the file: 1 (one part a unit, no value rollups) or QIDX_VERSION */
    uint64_t first_seq, last_seq;
    uint32_t n_units, n_events, n_keys, n_rollup, n_buckets, bucket_bits, n_vkeys;
    size_t rollup_len, vroll_len;
    const uint8_t *units, *events, *keys, *rollup, *vroll, *buckets, *terms;
    size_t ev_bytes;        /* bytes of one unit's event bitset */
    const char **event_ids; /* n_events, NUL-terminated copies */
    uint8_t *event_lens;
    uint32_t *part_at;    /* n_units + 1: unit u's parts start at part_first[part_at[u]] */
    uint32_t *part_first; /* each part's first record, counted from its unit's first */
};

/*
 * QIDX_VERSION - the .idx version trail writes (parts, 28-bit term keys, value
 * rollups); version 1 (one part a unit, 32-bit keys, no value rollups) is still read.
 */
#define QIDX_VERSION 2

/* qindex_view - parse and check .idx bytes (data stays the caller's until qindex_free). */
int qindex_view(const uint8_t *data, size_t len, const uint8_t store_id[16], struct qindex *ix);
void qindex_free(struct qindex *ix);

uint32_t qindex_n_units(const struct qindex *ix);
void qindex_unit(const struct qindex *ix, uint32_t i, struct qunit *ret);
uint32_t qindex_n_events(const struct qindex *ix);
const char *qindex_event(const struct qindex *ix, uint32_t local, size_t *ret_len);
int qindex_unit_has_event(const struct qindex *ix, uint32_t unit, uint32_t local);
/*
 * qindex_unit_parts - the parts of a unit: returns P (1..QPARTS) and sets
 * starts[0..P]: part k is the unit's records [starts[k], starts[k + 1]),
 * counted from its first (starts[0] = 0, starts[P] = its count).
 */
uint32_t qindex_unit_parts(const struct qindex *ix, uint32_t unit, uint32_t starts[QPARTS + 1]);
/* qindex_key_indexed - 1 when the index keeps value terms of key. */
int qindex_key_indexed(const struct qindex *ix, const char *key, size_t klen);
/*
 * qindex_lookup - the postings of a term (kind QTERM_*) into out (reset
 * first). A word's units come with their part masks in out->m (every bit
 * set where the index names the unit only). 1 found, 0 not found,
 * TRAIL_E_CORRUPT, -ENOMEM.
 */
int qindex_lookup(const struct qindex *ix, int kind, uint32_t hash, struct qpost *out);
/* qindex_rollup - call fn for each rollup entry; stops on fn's non-zero return. */
int qindex_rollup(const struct qindex *ix, int (*fn)(void *arg, const struct qrollup *r),
                  void *arg);
/*
 * qindex_vrollup - the value rollup of key into out (its arrays reused):
 * 1 found, 0 when the index keeps none for key (a live index, a version 1
 * file, a key with too many values or absent), TRAIL_E_CORRUPT, -ENOMEM.
 * out's texts stay valid until its next use or qvroll_free.
 */
int qindex_vrollup(const struct qindex *ix, const char *key, size_t klen, struct qvroll *out);

int qpost_push(struct qpost *p, uint32_t v);
/* qpost_reserve - room for n postings (and their masks with masks). 0 or -ENOMEM. */
int qpost_reserve(struct qpost *p, uint32_t n, int masks);
void qpost_free(struct qpost *p);

/* builder accessors used by qindex_* for the live form */
uint32_t qbuilder_n_units(const struct qbuilder *b);
void qbuilder_unit_at(const struct qbuilder *b, uint32_t i, struct qunit *ret);
uint32_t qbuilder_unit_parts(const struct qbuilder *b, uint32_t i, uint32_t starts[QPARTS + 1]);
uint32_t qbuilder_n_events(const struct qbuilder *b);
const char *qbuilder_event(const struct qbuilder *b, uint32_t local, size_t *ret_len);
int qbuilder_unit_has_event(const struct qbuilder *b, uint32_t unit, uint32_t local);
int qbuilder_key_indexed(const struct qbuilder *b, const char *key, size_t klen);
int qbuilder_lookup(const struct qbuilder *b, int kind, uint32_t hash, struct qpost *out);
int qbuilder_rollup(const struct qbuilder *b, int (*fn)(void *arg, const struct qrollup *r),
                    void *arg);

/*
 * query_index_store - the store ix was opened on, for a part above that
 * reads the store's other files beside the records (a report's sinks and
 * checkpoints sections).
 */
struct trail_store *query_index_store(struct trail_index *ix);

/* ---- the rows of a count (count_rows.c) ---- */

/* qcount_by_name - the name of group-by dimension d: "event", ..., or the attribute's key. */
const char *qcount_by_name(const struct trail_query *q, int d);

/*
 * qcount_by_key - 1 when q's rows are ordered by their keys alone (its first
 * dimension is the hour or the day), 0 when by count, largest first.
 */
int qcount_by_key(const struct trail_query *q);

/* qcount_cmp_keys - strcmp of the keys, dimension by dimension; a missing key (NULL) sorts last. */
int qcount_cmp_keys(const struct trail_count_row *x, const struct trail_count_row *y);

/*
 * qcount_sort - rows in trail_count_run()'s order: by key (by_key, see
 * qcount_by_key) or by count, largest first, then by key.
 */
void qcount_sort(struct trail_count_row *rows, size_t n, int by_key);

/* ---- .idx files (index_file.c) ---- */

/* idx_path - DIR/seg-<16 hex>.idx */
void idx_path(const struct trail_store *s, uint64_t first_seq, char *out, size_t size);

/*
 * idx_build_sealed - index the sealed segment starting at first_seq: read
 * its blocks, build, return the .idx bytes in out (the caller writes or
 * keeps them). 0, TRAIL_E_CORRUPT, -errno, -ENOMEM.
 */
int idx_build_sealed(struct trail_store *s, uint64_t first_seq, struct trail_buf *out);

/* idx_write - write bytes as DIR/seg-X.idx (temporary file, fsync, rename). */
int idx_write(struct trail_store *s, uint64_t first_seq, const struct trail_buf *bytes);

#endif /* TRAIL_QUERY_H */
