/*
 * answer.h - an HTTP answer made from a buffer: the one way traild's routes
 * hand a body they built to libmicrohttpd and count the status in /metrics.
 *
 *   struct MHD_Response *resp = answer_take(&body);
 *   if (!resp)
 *       return MHD_NO;
 *   MHD_add_response_header(resp, ...);
 *   return answer_queue(conn, 200, resp);
 *
 * Not here: what the bodies hold (each route), the viewer's static files
 * (viewer_http.c serves them from memory it does not own). answer_queue
 * also queues the streamed answers (the event stream, exports).
 */
#ifndef TRAILD_HTTP_ANSWER_H
#define TRAILD_HTTP_ANSWER_H

#include "trail.h"

#include <microhttpd.h>

/*
 * answer_take - a response whose body is b's bytes, which it takes: b is
 * left empty ({0}) either way, its memory freed by libmicrohttpd once sent,
 * or here when no response could be made (NULL: answer the request with
 * MHD_NO). An empty b gives an empty body.
 */
struct MHD_Response *answer_take(struct trail_buf *b);

/*
 * answer_queue - queue resp with status on conn, release this reference to
 * resp and count the status class in trail_http_responses_total. Returns
 * what MHD_queue_response() did.
 */
enum MHD_Result answer_queue(struct MHD_Connection *conn, int status, struct MHD_Response *resp);

#endif /* TRAILD_HTTP_ANSWER_H */
