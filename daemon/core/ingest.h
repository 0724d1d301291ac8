/*
 * ingest.h - the queue between traild's inputs and the store, and the
 * acknowledgement that comes back once a batch is durable.
 *
 * An input decodes and validates events, puts the good ones in a batch and
 * submits it. Submitting appends the batch to the store (which assigns the
 * seqs) on the submitter's thread, or queues it for the writer thread when
 * that is needed to keep the order. The writer waits until what was appended
 * is durable (one group commit for all of it), then calls each batch's done
 * callback with the outcome, on its thread. The input acknowledges its
 * client in that callback and never before. Each batch's store ticket keeps
 * the store's promise that a wait after a failed write is never confused
 * with a later record that reused the seq.
 *
 * The queue is bounded in events: submit fails with -EAGAIN when it is full
 * (HTTP answers 503; stream inputs pause reading until ingest calls their
 * room callback). A batch marked retry is kept and appended again when the
 * store fails (disk full): stream and file inputs have no way to tell their
 * sender, so they wait for the store to recover instead of dropping.
 *
 * Not here: decoding (decode.c), the inputs (input_*.c).
 */
#ifndef TRAILD_INGEST_H
#define TRAILD_INGEST_H

#include "trail.h"

#include <stddef.h>
#include <stdint.h>

struct ingest;
struct ingest_batch;

typedef void (*ingest_done_fn)(struct ingest_batch *b);

struct ingest_batch {
    struct trail_event **events; /* owned by the submitter, untouched by ingest but for seqs */
    size_t n;
    int input;           /* enum input_kind, for the metrics */
    int retry;           /* 1: on a store failure keep it and append it again later */
    int status;          /* set before done(): 0 durable, or the error (-ENOSPC, ...) */
    ingest_done_fn done; /* called on the writer thread; must not block for long */
    void *arg;           /* the submitter's */

    /* ingest's own */
    struct ingest_batch *next;
    uint64_t last_seq;
    struct trail_store_ticket ticket; /* of its append, for the wait */
    int phase;                        /* to append, appended, or settled (ingest.c) */
};

/*
 * ingest_start - start the writer thread over an open store. queue_events
 * bounds the events submitted and not yet completed. 0 or -errno.
 */
int ingest_start(struct trail_store *store, uint32_t queue_events, struct ingest **ret_ig);

/*
 * ingest_submit - append b (n >= 1) on this thread, or queue it for the
 * writer; may block while the store has too much unwritten (backpressure).
 * block: wait for room in the queue instead of failing.
 * Returns 0 (done will be called exactly once), -EAGAIN (the queue is full),
 * TRAIL_E_CLOSED (draining: no new work), or the store's standing error
 * (-ENOSPC, -EIO, ...) for a batch that is not marked retry while the store
 * is failing. On failure done is not called and b is the caller's again.
 */
int ingest_submit(struct ingest *ig, struct ingest_batch *b, int block);

/*
 * ingest_write - submit events, wait until they are durable, return the
 * status. For traild's own events and other callers that may block.
 */
int ingest_write(struct ingest *ig, struct trail_event **events, size_t n, int input);

/*
 * ingest_on_room - register fn(arg), called on the writer thread after a
 * round that brought the queue below half of its limit, when a submit has
 * failed with -EAGAIN since the last call. At most 8 callbacks.
 */
void ingest_on_room(struct ingest *ig, void (*fn)(void *arg), void *arg);

/* ingest_off_room - unregister a callback registered with ingest_on_room(). */
void ingest_off_room(struct ingest *ig, void (*fn)(void *arg), void *arg);

/* ingest_depth - events submitted and not yet completed. */
int64_t ingest_depth(struct ingest *ig);

/* ingest_full - 1 when the queue is at its limit. */
int ingest_full(struct ingest *ig);

/* ingest_store_error - the error of the last failed store write, 0 once one succeeded. */
int ingest_store_error(struct ingest *ig);

/*
 * ingest_drain - refuse new batches (TRAIL_E_CLOSED), complete every batch
 * already submitted (retrying batches marked retry for at most give_up_ms
 * while the store fails), and stop the writer thread. Returns the number of
 * events that could not be stored. The store is the caller's again.
 */
uint64_t ingest_drain(struct ingest *ig, uint32_t give_up_ms);

/* ingest_free - free after ingest_drain(). */
void ingest_free(struct ingest *ig);

#endif /* TRAILD_INGEST_H */
