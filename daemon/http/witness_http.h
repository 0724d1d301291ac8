/*
 * witness_http.h - traild as a C2SP witness (https://c2sp.org/tlog-witness)
 * of the trail logs its [witness] section accepts: POST /add-checkpoint.
 *
 * Not here: the request's framing and cosignatures (lib/integrity/witness.c),
 * routing and roles (routes.c: the write role).
 */
#ifndef TRAILD_HTTP_WITNESS_H
#define TRAILD_HTTP_WITNESS_H

#include "core/config.h"

#include <microhttpd.h>

#include <stddef.h>

/*
 * witness_start - load [witness] (nothing when the section is absent): the
 * witness's key, the logs' keys and the state file (a missing file is an
 * empty state). Returns 0 or -errno / TRAIL_E_* with err saying why.
 */
int witness_start(const struct config *cfg, char *err, size_t errlen);

/* witness_stop - free what witness_start() loaded. */
void witness_stop(void);

/*
 * witness_http_answer - answer POST /add-checkpoint with body[0..len) from
 * addr (the peer, for the record of a refusal): 200 and the cosignature,
 * 409 with the size the witness holds, 400, 403, 404, 422 (docs/api.md).
 */
enum MHD_Result witness_http_answer(struct MHD_Connection *conn, const char *body, size_t len,
                                    const char *addr);

#endif /* TRAILD_HTTP_WITNESS_H */
