/*
 * query_tier.h - traild's ClickHouse tier ([query] clickhouse): GET
 * /v1/events and /v1/count answered over the store and, for the seqs the
 * store no longer holds (purged by retention), the rows traild's clickhouse
 * sink copied into ClickHouse; and the proofs of those events, asked of the
 * traild that holds their origin ([origins]). query_tier.c says how.
 *
 * Not here: the routes (query_http.c, viewer_http.c), the SQL
 * (lib/clickhouse).
 */
#ifndef TRAILD_QUERY_TIER_H
#define TRAILD_QUERY_TIER_H

#include "trail.h"

#include <stddef.h>
#include <stdint.h>

/* The answer of tier_search() beside its events. */
struct tier_page {
    size_t n; /* events written */
    int more;
    uint64_t horizon;
    char cursor[TRAIL_QUERY_CURSOR_MAX];
    struct trail_store_damage *skipped; /* the store's part's; free() it */
    size_t n_skipped;
};

/*
 * tier_wanted - 1 when [query] clickhouse is set and the store no longer
 * holds its first seqs: a search or count then spans both tiers.
 */
int tier_wanted(void);

/*
 * tier_search - one page of q over ClickHouse (the seqs below the store's
 * first) and the store (the rest), in q's order (by seq, or by event time
 * with the tiers' events merged), as one search: q's limit counts both, and
 * the cursor continues across the boundary. Events are appended to out as JSON,
 * separated by "," (or each followed by "\n" with ndjson); those from
 * ClickHouse carry "source" (their origin store and seq, and where their
 * proof is asked). Returns 0; or an HTTP status (400, 500, 502) with err.
 */
int tier_search(struct trail_index *ix, struct trail_query *q, int ndjson, struct trail_buf *out,
                struct tier_page *pg, char *err, size_t errlen);

/*
 * tier_count - the count of q over both tiers, rows merged by key and
 * ordered as trail_count_run() orders them. 0 and a count freed with
 * trail_count_free(); or an HTTP status (400, 500, 502) with err.
 */
int tier_count(struct trail_index *ix, struct trail_query *q, struct trail_count **ret_count,
               char *err, size_t errlen);

/*
 * tier_proof - GET /v1/proof for seq of origin when this store cannot give
 * it (another store's event, or one purged here): asked of the traild that
 * [origins] names for origin, and its answer passed on as it is, with
 * "origin_verifier_key" added when [origins] gives the origin's key. Otherwise
 * a 404 or 502 with "proof unavailable: ..." into a. Returns 0 (*status
 * set) or -ENOMEM.
 */
int tier_proof(const char *origin, uint64_t seq, struct trail_buf *a, int *status);

#endif /* TRAILD_QUERY_TIER_H */
