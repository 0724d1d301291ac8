/*
 * answer.c - an HTTP answer made from a buffer (answer.h).
 */
#include "http/answer.h"

#include "core/metrics.h"

#include <stdatomic.h>

struct MHD_Response *answer_take(struct trail_buf *b)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        b->len, b->data ? b->data : "", b->data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp)
        trail_buf_free(b);
    b->data = NULL;
    b->len = b->cap = 0;
    return resp;
}

enum MHD_Result answer_queue(struct MHD_Connection *conn, int status, struct MHD_Response *resp)
{
    enum MHD_Result r = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    if (status >= 100 && status < 600)
        atomic_fetch_add_explicit(&metrics.http_responses[status / 100], 1, memory_order_relaxed);
    return r;
}
