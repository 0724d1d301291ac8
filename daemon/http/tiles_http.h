/*
 * tiles_http.h - traild's C2SP tlog-tiles read API (tiles_http.c), for the
 * HTTP server (input_http.c) to call:
 *
 *   GET /checkpoint              the latest checkpoint, a C2SP signed note
 *   GET /tile/L/N[.p/W]          a hash tile
 *   GET /tile/entries/N[.p/W]    an entry bundle
 *   GET /minimum-index           the tlog-tiles minimum index (pruning)
 *
 * docs/api.md and docs/integrity.md ("Tiles") describe them.
 *
 * Not here: routing and roles (input_http.c), the tiles' bytes (libtrail).
 */
#ifndef TRAILD_TILES_HTTP_H
#define TRAILD_TILES_HTTP_H

#include <microhttpd.h>

/* tiles_http_path - 1 when url is one of the paths above (its shape only), else 0. */
int tiles_http_path(const char *url);

/*
 * tiles_http_answer - answer url (tiles_http_path() said 1) on conn, queuing
 * the response itself: 200 with the bytes, 404 for a tile that does not
 * exist (not all durable yet, or pruned by retention) or a malformed path.
 * Returns MHD's result of queuing it.
 */
enum MHD_Result tiles_http_answer(struct MHD_Connection *conn, const char *url);

#endif /* TRAILD_TILES_HTTP_H */
