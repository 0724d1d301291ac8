/*
 * tiles_http.c - traild's C2SP tlog-tiles read API (https://c2sp.org/tlog-tiles):
 * the checkpoint as a signed note, hash tiles and entry bundles, built from
 * the store on each request.
 *
 *   GET /checkpoint            200 text/plain, the latest C2SP checkpoint
 *                              (Cache-Control: no-store), with the
 *                              cosignature lines of the tlog-witness sinks
 *                              that cosigned it; 404 before the
 *                              first one (no signing key, or none signed yet,
 *                              or only trail-checkpoint/1 lines so far)
 *   GET /tile/L/N[.p/W]        200 application/octet-stream, W (or 256)
 *   GET /tile/entries/N[.p/W]  hashes of 32 bytes, or W entries, each a
 *                              big-endian uint16 length and the record's
 *                              canonical bytes; 404 when not every leaf is
 *                              durable yet, the records were purged
 *                              (pruned), or the path is not a tile's
 *   GET /minimum-index         200 text/plain, the log's tlog-tiles minimum
 *                              index at the checkpoint served, in decimal
 *                              and a newline (Cache-Control: no-store): every
 *                              entry from it on is served; 0 until retention
 *                              purges. tlog-tiles names no place for it (a
 *                              TODO in its "Pruning"): this path is trail's.
 *                              404 as /checkpoint is.
 *
 * A full tile never changes: Cache-Control: public, max-age=31536000,
 * immutable. A partial tile's bytes are fixed too, but it is replaced by
 * wider ones as the log grows, so it is cached for a minute only.
 *
 * Not here: routing and roles (input_http.c: the read role), the tiles'
 * bytes (lib/store/store_tiles.c), their paths (lib/integrity/tiles.c).
 */
#include "http/answer.h"
#include "http/tiles_http.h"

#include "core/metrics.h"
#include "core/traild.h"
#include "sinks/sink.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define IMMUTABLE "public, max-age=31536000, immutable"
#define PARTIAL   "public, max-age=60"

int tiles_http_path(const char *url)
{
    return strcmp(url, "/checkpoint") == 0 || strcmp(url, "/minimum-index") == 0 ||
           strncmp(url, "/tile/", 6) == 0;
}

static enum MHD_Result queue(struct MHD_Connection *conn, int status, const char *type,
                             const char *cache, struct trail_buf *b)
{
    struct MHD_Response *resp = answer_take(b);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, cache);
    return answer_queue(conn, status, resp);
}

static enum MHD_Result text_answer(struct MHD_Connection *conn, int status, const char *msg)
{
    struct trail_buf b = {0};
    if (trail_buf_append(&b, msg, strlen(msg)) < 0 || trail_buf_append(&b, "\n", 1) < 0) {
        trail_buf_free(&b);
        return MHD_NO;
    }
    return queue(conn, status, "text/plain; charset=utf-8", "no-store", &b);
}

/* The checkpoint /checkpoint serves: 1, or 0 when there is none. */
static int latest(struct trail_checkpoint *cp)
{
    pthread_mutex_lock(&traild.cp_lock);
    int have = traild.have_checkpoint;
    *cp = traild.checkpoint;
    pthread_mutex_unlock(&traild.cp_lock);
    if (!have) /* none signed in this run yet: the last one in STORE/checkpoints */
        have = trail_store_checkpoint_latest(traild.store, cp) == 0;
    return have && !cp->legacy;
}

static enum MHD_Result minimum_index(struct MHD_Connection *conn)
{
    struct trail_checkpoint cp;
    char text[32];
    if (!latest(&cp))
        return text_answer(conn, 404, "no C2SP checkpoint yet");
    snprintf(text, sizeof(text), "%" PRIu64, trail_store_minimum_index(traild.store, cp.tree_size));
    return text_answer(conn, 200, text);
}

static enum MHD_Result checkpoint(struct MHD_Connection *conn)
{
    struct trail_checkpoint cp;
    if (!latest(&cp))
        return text_answer(conn, 404, "no C2SP checkpoint yet");
    struct trail_buf b = {0};
    /* with the cosignatures the tlog-witness sinks got for this very checkpoint */
    if (trail_checkpoint_note(&cp, &b) < 0 || sinks_cosignatures(b.data, b.len, &b) < 0) {
        trail_buf_free(&b);
        return text_answer(conn, 500, "cannot write the checkpoint");
    }
    return queue(conn, 200, "text/plain; charset=utf-8", "no-store", &b);
}

enum MHD_Result tiles_http_answer(struct MHD_Connection *conn, const char *url)
{
    int level;
    uint64_t index;
    unsigned width;
    if (strcmp(url, "/checkpoint") == 0)
        return checkpoint(conn);
    if (strcmp(url, "/minimum-index") == 0)
        return minimum_index(conn);
    if (trail_tile_path_parse(url + 1, &level, &index, &width) < 0 || level > 7)
        return text_answer(conn, 404, "no such tile");
    struct trail_buf b = {0};
    int r = level == TRAIL_TILE_ENTRIES ? trail_store_entry_bundle(traild.store, index, width, &b)
                                        : trail_store_tile(traild.store, level, index, width, &b);
    if (r < 0) {
        trail_buf_free(&b);
        return r == TRAIL_E_NOT_FOUND ? text_answer(conn, 404, "no such tile (yet, or pruned)")
                                      : text_answer(conn, 500, trail_strerror(r));
    }
    return queue(conn, 200, "application/octet-stream", width == 256 ? IMMUTABLE : PARTIAL, &b);
}
