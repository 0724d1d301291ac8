/*
 * chquery.h - what traild's tiered query (daemon/http/query_tier.c) needs of
 * a ClickHouse source beyond include/trail.h's trail_ch_* (internal).
 *
 * Not here: the SQL of the filters (chsql.h), the public calls (trail.h).
 */
#ifndef TRAIL_CLICKHOUSE_CHQUERY_H
#define TRAIL_CLICKHOUSE_CHQUERY_H

#include "trail.h"

#include <stdint.h>

/*
 * chquery_seqs_below - let the searches and counts of ch cover the seqs
 * below `below` only (0: every seq). A tier over a store answers from
 * ClickHouse what the store no longer holds, and from the store the rest:
 * the two must not both count a seq.
 */
void chquery_seqs_below(struct trail_ch *ch, uint64_t below);

#endif /* TRAIL_CLICKHOUSE_CHQUERY_H */
