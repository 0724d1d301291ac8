/*
 * ingest.c - the queue from the inputs to the store, group commit, and the
 * acknowledgement callbacks (see ingest.h for the contract).
 *
 * Appending. A submitter appends its batch to the store itself, on its own
 * thread, when nothing is queued before it: the events are still in its
 * CPU's cache, and several inputs encode and hash in parallel. Otherwise
 * (the writer is appending, batches wait to be retried after a store
 * failure, or others are queued) the batch is queued and the writer thread
 * appends it, so that one input's batches are always appended in the order
 * they were submitted.
 *
 * Completing. The writer takes everything there is: batches appended by
 * their submitters, batches to retry, batches queued; appends the last two
 * in that order (retries first, after a pause), then completes each batch,
 * oldest first, as soon as the group commit covering it is done, with the
 * outcome of its own append found from its store ticket. While it waits,
 * new batches are appended and go into the next group commit, so the
 * commit grows with the load. Batches that failed with a store error and
 * are marked retry are kept, in order, for the next round.
 *
 * Not here: what the inputs do with the outcome.
 */
#include "core/ingest.h"

#include "core/log.h"
#include "core/metrics.h"

#include <assert.h> /* invariants, checked in Debug and sanitizer builds */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RETRY_PAUSE_MS     500
#define FAIL_FAST_US       1000000 /* refuse non-retry batches this long after a failure */
#define MAX_ROOM_CALLBACKS 8

struct ingest {
    struct trail_store *store;
    pthread_mutex_t lock;
    pthread_cond_t work_cv; /* the writer sleeps here */
    pthread_cond_t room_cv; /* blocking submitters sleep here */
    pthread_cond_t idle_cv;
    struct ingest_batch *head, *tail;             /* queued for the writer to append */
    struct ingest_batch *retry_head, *retry_tail; /* failed; the writer appends them again */
    struct ingest_batch *app_head, *app_tail;     /* appended by their submitters (or failed to) */
    int appending;                                /* the writer is appending what it took */
    int direct;                                   /* submitters appending now, outside the lock */
    int held;      /* batches failed with a store error and not yet back in retry_*: blocks
                      appends on the submitters' threads, which would overtake them */
    int64_t depth; /* events submitted and not completed */
    int64_t limit;
    int want_room;
    int draining;
    int64_t give_up_at_us; /* while draining: stop retrying after this */
    int store_error;
    int64_t failed_at_us;
    uint64_t lost;
    pthread_t thread;
    struct {
        void (*fn)(void *);
        void *arg;
    } room[MAX_ROOM_CALLBACKS];
    int n_room;
};

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void deadline(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

static void push(struct ingest_batch **head, struct ingest_batch **tail, struct ingest_batch *b)
{
    b->next = NULL;
    if (*tail)
        (*tail)->next = b;
    else
        *head = b;
    *tail = b;
}

/* Where a batch is, for the writer (struct ingest_batch.phase). */
enum { TO_APPEND = 0, APPENDED = 1, SETTLED = 2 };

/*
 * Append b on this thread. Appended: its ticket says which group commit
 * makes it durable. A store failure leaves a retry batch to be appended again
 * (in order, by the writer); any other failure settles its status.
 */
static void append_batch(struct ingest *ig, struct ingest_batch *b)
{
    assert(b->phase == TO_APPEND); /* a batch is appended once, or again after a failure */
    b->last_seq = 0;
    b->status = trail_store_append(ig->store, b->events, b->n, &b->last_seq);
    if (b->status == 0) {
        trail_store_ticket(ig->store, &b->ticket);
        b->phase = APPENDED;
    } else {
        b->phase = b->retry && b->status != TRAIL_E_TOO_LARGE ? TO_APPEND : SETTLED;
    }
}

/* Concatenate list b after list a; returns the head. */
static struct ingest_batch *concat(struct ingest_batch *a, struct ingest_batch *a_tail,
                                   struct ingest_batch *b)
{
    if (!a)
        return b;
    a_tail->next = b;
    return a;
}

/*
 * Append, in order, every batch of the round's list not appended yet,
 * stopping at the first store failure (the store refuses for a while after
 * one; the rest wait for the next round, or are refused if not retry).
 * Returns that failure, or 0.
 */
static int append_round(struct ingest *ig, struct ingest_batch *list)
{
    int failed = 0;
    for (struct ingest_batch *b = list; b; b = b->next) {
        if (b->phase != TO_APPEND)
            continue;
        if (failed) {
            b->last_seq = 0;
            b->status = failed;
            b->phase = b->retry ? TO_APPEND : SETTLED;
            continue;
        }
        append_batch(ig, b);
        if (b->status < 0 && b->status != TRAIL_E_TOO_LARGE)
            failed = b->status;
    }
    return failed;
}

static void *writer(void *arg)
{
    struct ingest *ig = arg;
    pthread_mutex_lock(&ig->lock);
    for (;;) {
        while (!ig->head && !ig->retry_head && !ig->app_head && (!ig->draining || ig->direct))
            pthread_cond_wait(&ig->work_cv, &ig->lock);
        if (!ig->head && !ig->retry_head && !ig->app_head)
            break; /* draining and nothing left */
        if (ig->retry_head || ig->held) {
            /* pause before appending again after a failure (or before giving up) */
            struct timespec ts;
            deadline(&ts, RETRY_PAUSE_MS);
            pthread_cond_timedwait(&ig->work_cv, &ig->lock, &ts);
        }
        /*
         * One list, oldest first: retries, then what submitters appended (or
         * failed to), then the queue. A connection's batches are in it in the
         * order submitted, and the writer appends what is not appended yet in
         * that order.
         */
        struct ingest_batch *list = ig->retry_head;
        list = concat(list, ig->retry_tail, ig->app_head);
        list = concat(list, ig->app_head ? ig->app_tail : ig->retry_tail, ig->head);
        int to_append = ig->retry_head != NULL || ig->head != NULL || ig->held;
        ig->head = ig->tail = ig->retry_head = ig->retry_tail = ig->app_head = ig->app_tail = NULL;
        ig->held = 0;
        ig->appending = to_append;
        int giving_up = ig->draining && mono_us() >= ig->give_up_at_us;
        pthread_mutex_unlock(&ig->lock);

        if (to_append && append_round(ig, list) == 0) {
            /* all in line: submitters may append again (after a failure, not before
               the batches kept for another try are back in retry_*, below) */
            pthread_mutex_lock(&ig->lock);
            ig->appending = 0;
            pthread_mutex_unlock(&ig->lock);
        }

        int64_t completed = 0, waited_us = 0;
        int error = 0;
        uint64_t durable = 0;
        struct ingest_batch *keep_head = NULL, *keep_tail = NULL;
        for (struct ingest_batch *b = list, *next; b; b = next) {
            next = b->next;
            /* after the round every batch is appended, or settled with its error */
            assert(b->phase == APPENDED || b->status != 0);
            if (b->phase == APPENDED) {
                /* each batch completes as soon as it is durable: the group commit
                   that covers it, not necessarily the round's last */
                int64_t t0 = mono_us();
                b->status = trail_store_wait_ticket(ig->store, &b->ticket);
                waited_us += mono_us() - t0;
                if (b->status == 0 && b->last_seq > durable)
                    durable = b->last_seq;
            }
            if (b->status == 0) {
                /* a resent uuid is answered with its first seq and counted, not stored again */
                size_t dups = 0;
                for (size_t i = 0; i < b->n; i++)
                    dups += trail_event_duplicate_of(b->events[i]) != 0;
                atomic_fetch_add_explicit(&metrics.events_in[b->input], b->n - dups,
                                          memory_order_relaxed);
                atomic_fetch_add_explicit(&metrics.duplicates[b->input], dups,
                                          memory_order_relaxed);
                atomic_fetch_add_explicit(&metrics.store_events, b->n - dups, memory_order_relaxed);
            } else {
                error = b->status;
                atomic_fetch_add_explicit(&metrics.store_errors, 1, memory_order_relaxed);
                if (b->retry && b->status != TRAIL_E_TOO_LARGE && !giving_up) {
                    if (!keep_head) { /* nothing may overtake it until it is back in line */
                        pthread_mutex_lock(&ig->lock);
                        ig->held++;
                        pthread_mutex_unlock(&ig->lock);
                    }
                    b->phase = TO_APPEND;
                    push(&keep_head, &keep_tail, b);
                    continue;
                }
                if (b->retry)
                    __atomic_add_fetch(&ig->lost, b->n, __ATOMIC_RELAXED);
                for (size_t i = 0; i < b->n; i++)
                    metrics_reject(b->input, b->status);
            }
            completed += (int64_t)b->n;
            b->done(b);
        }
        if (durable) {
            metrics_fsync(waited_us);
            atomic_store(&metrics.last_seq, durable);
        }
        if (error)
            log_msg(LOG_ERR, "the store refused %s: %s%s", "a batch", trail_strerror(error),
                    keep_head ? " (holding the events and trying again)" : "");

        pthread_mutex_lock(&ig->lock);
        if (keep_head) {
            /* before anything queued meanwhile (which waits for them: see ingest_submit) */
            keep_tail->next = ig->retry_head;
            ig->retry_head = keep_head;
            if (!ig->retry_tail)
                ig->retry_tail = keep_tail;
            ig->held--;
        }
        ig->appending = 0;
        if (error) {
            ig->store_error = error;
            ig->failed_at_us = mono_us();
        } else if (completed) {
            if (ig->store_error)
                log_msg(LOG_INFO, "the store accepts writes again");
            ig->store_error = 0;
        }
        ig->depth -= completed;
        atomic_store(&metrics.queue_events, ig->depth);
        pthread_cond_broadcast(&ig->room_cv);
        if (ig->depth == 0)
            pthread_cond_broadcast(&ig->idle_cv);
        if (ig->want_room && ig->depth < ig->limit / 2) {
            ig->want_room = 0;
            /* called with the lock held: a callback only wakes its loop, and
             * unregistering (ingest_off_room) then waits for it to return */
            for (int i = 0; i < ig->n_room; i++)
                ig->room[i].fn(ig->room[i].arg);
        }
    }
    pthread_mutex_unlock(&ig->lock);
    return NULL;
}

int ingest_start(struct trail_store *store, uint32_t queue_events, struct ingest **ret_ig)
{
    struct ingest *ig = calloc(1, sizeof(*ig));
    if (!ig)
        return -ENOMEM;
    ig->store = store;
    ig->limit = queue_events ? queue_events : 1;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&ig->lock, NULL);
    pthread_cond_init(&ig->work_cv, &ca);
    pthread_cond_init(&ig->room_cv, &ca);
    pthread_cond_init(&ig->idle_cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_store(&metrics.queue_limit, ig->limit);
    int r = pthread_create(&ig->thread, NULL, writer, ig);
    if (r) {
        free(ig);
        return -r;
    }
    *ret_ig = ig;
    return 0;
}

int ingest_submit(struct ingest *ig, struct ingest_batch *b, int block)
{
    pthread_mutex_lock(&ig->lock);
    for (;;) {
        if (ig->draining) {
            pthread_mutex_unlock(&ig->lock);
            return TRAIL_E_CLOSED;
        }
        if (!b->retry && ig->store_error && mono_us() - ig->failed_at_us < FAIL_FAST_US) {
            int e = ig->store_error;
            pthread_mutex_unlock(&ig->lock);
            return e;
        }
        /* a batch larger than the whole queue still goes in when the queue is empty */
        if (ig->depth == 0 || ig->depth + (int64_t)b->n <= ig->limit)
            break;
        if (!block) {
            ig->want_room = 1;
            pthread_mutex_unlock(&ig->lock);
            return -EAGAIN;
        }
        pthread_cond_wait(&ig->room_cv, &ig->lock);
    }
    ig->depth += (int64_t)b->n;
    atomic_store(&metrics.queue_events, ig->depth);
    b->phase = TO_APPEND;
    if (ig->head || ig->retry_head || ig->appending || ig->held) {
        /* something before it is not appended yet: the writer keeps the order */
        push(&ig->head, &ig->tail, b);
        pthread_cond_signal(&ig->work_cv);
        pthread_mutex_unlock(&ig->lock);
        return 0;
    }
    ig->direct++;
    pthread_mutex_unlock(&ig->lock);

    append_batch(ig, b);

    pthread_mutex_lock(&ig->lock);
    ig->direct--;
    if (b->phase == TO_APPEND)
        ig->held++; /* a store failure: the writer appends it again, before anything newer */
    push(&ig->app_head, &ig->app_tail, b);
    pthread_cond_signal(&ig->work_cv);
    pthread_mutex_unlock(&ig->lock);
    return 0;
}

struct write_wait {
    pthread_mutex_t lock;
    pthread_cond_t cv;
    int done;
};

static void write_done(struct ingest_batch *b)
{
    struct write_wait *w = b->arg;
    pthread_mutex_lock(&w->lock);
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->lock);
}

int ingest_write(struct ingest *ig, struct trail_event **events, size_t n, int input)
{
    struct write_wait w = {.lock = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    struct ingest_batch b = {
        .events = events, .n = n, .input = input, .retry = 0, .done = write_done, .arg = &w};
    int r = ingest_submit(ig, &b, 1);
    if (r < 0)
        return r;
    pthread_mutex_lock(&w.lock);
    while (!w.done)
        pthread_cond_wait(&w.cv, &w.lock);
    pthread_mutex_unlock(&w.lock);
    return b.status;
}

void ingest_on_room(struct ingest *ig, void (*fn)(void *arg), void *arg)
{
    pthread_mutex_lock(&ig->lock);
    if (ig->n_room < MAX_ROOM_CALLBACKS) {
        ig->room[ig->n_room].fn = fn;
        ig->room[ig->n_room].arg = arg;
        ig->n_room++;
    }
    pthread_mutex_unlock(&ig->lock);
}

void ingest_off_room(struct ingest *ig, void (*fn)(void *arg), void *arg)
{
    pthread_mutex_lock(&ig->lock);
    for (int i = 0; i < ig->n_room; i++)
        if (ig->room[i].fn == fn && ig->room[i].arg == arg) {
            ig->room[i] = ig->room[--ig->n_room];
            break;
        }
    pthread_mutex_unlock(&ig->lock);
}

int64_t ingest_depth(struct ingest *ig)
{
    pthread_mutex_lock(&ig->lock);
    int64_t d = ig->depth;
    pthread_mutex_unlock(&ig->lock);
    return d;
}

int ingest_full(struct ingest *ig)
{
    pthread_mutex_lock(&ig->lock);
    int full = ig->depth >= ig->limit;
    pthread_mutex_unlock(&ig->lock);
    return full;
}

int ingest_store_error(struct ingest *ig)
{
    pthread_mutex_lock(&ig->lock);
    int e = ig->store_error;
    pthread_mutex_unlock(&ig->lock);
    return e;
}

uint64_t ingest_drain(struct ingest *ig, uint32_t give_up_ms)
{
    pthread_mutex_lock(&ig->lock);
    ig->draining = 1;
    ig->give_up_at_us = mono_us() + (int64_t)give_up_ms * 1000;
    pthread_cond_broadcast(&ig->work_cv);
    pthread_cond_broadcast(&ig->room_cv);
    pthread_mutex_unlock(&ig->lock);
    pthread_join(ig->thread, NULL);
    return __atomic_load_n(&ig->lost, __ATOMIC_RELAXED);
}

void ingest_free(struct ingest *ig)
{
    if (!ig)
        return;
    pthread_mutex_destroy(&ig->lock);
    pthread_cond_destroy(&ig->work_cv);
    pthread_cond_destroy(&ig->room_cv);
    pthread_cond_destroy(&ig->idle_cv);
    free(ig);
}
