/*
 * ingest.c - the queue from the inputs to the store, group commit, and the
 * acknowledgement callbacks (see ingest.h for the contract).
 *
 * One writer thread: take everything queued, append batch after batch,
 * wait once for the last seq, complete. While it waits for the disk, new
 * batches queue up and go into the next group commit, so the commit grows
 * with the load. Batches that failed with a store error and are marked
 * retry go first into the next round, after a pause, so that a stream's
 * events keep their order.
 *
 * Not here: what the inputs do with the outcome.
 */
#include "ingest.h"

#include "log.h"
#include "metrics.h"

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
    struct ingest_batch *head, *tail; /* submitted, not yet taken */
    struct ingest_batch *retry_head, *retry_tail;
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

/* Append and commit one round; returns with every batch's status set. */
static void commit_round(struct ingest *ig, struct ingest_batch *list)
{
    uint64_t last = 0;
    int failed = 0;
    for (struct ingest_batch *b = list; b; b = b->next) {
        b->last_seq = 0;
        if (failed) {
            /* the store refuses for a while after a failure; do not hammer it */
            b->status = failed;
            continue;
        }
        b->status = trail_store_append(ig->store, b->events, b->n, &b->last_seq);
        if (b->status == 0)
            last = b->last_seq;
        else if (b->status != TRAIL_E_TOO_LARGE)
            failed = b->status;
    }
    if (last == 0)
        return;
    int64_t t0 = mono_us();
    int r = trail_store_wait(ig->store, last);
    metrics_fsync(mono_us() - t0);
    if (r == 0) {
        atomic_store(&metrics.last_seq, last);
        return;
    }
    /* some records did not make it: ask for each batch which */
    for (struct ingest_batch *b = list; b; b = b->next)
        if (b->status == 0 && b->last_seq)
            b->status = trail_store_wait(ig->store, b->last_seq);
}

static void *writer(void *arg)
{
    struct ingest *ig = arg;
    pthread_mutex_lock(&ig->lock);
    for (;;) {
        while (!ig->head && !ig->retry_head && !ig->draining)
            pthread_cond_wait(&ig->work_cv, &ig->lock);
        if (!ig->head && !ig->retry_head)
            break; /* draining and nothing left */
        if (ig->retry_head) {
            /* pause before appending again after a failure (or before giving up) */
            struct timespec ts;
            deadline(&ts, RETRY_PAUSE_MS);
            pthread_cond_timedwait(&ig->work_cv, &ig->lock, &ts);
        }
        struct ingest_batch *list = ig->retry_head, *tail = ig->retry_tail;
        if (list) {
            tail->next = ig->head;
            if (ig->tail)
                tail = ig->tail;
        } else {
            list = ig->head;
            tail = ig->tail;
        }
        ig->head = ig->tail = ig->retry_head = ig->retry_tail = NULL;
        int giving_up = ig->draining && mono_us() >= ig->give_up_at_us;
        pthread_mutex_unlock(&ig->lock);

        commit_round(ig, list);

        /* complete, or keep for another try */
        int64_t completed = 0;
        int error = 0;
        struct ingest_batch *keep_head = NULL, *keep_tail = NULL;
        for (struct ingest_batch *b = list, *next; b; b = next) {
            next = b->next;
            if (b->status == 0) {
                atomic_fetch_add_explicit(&metrics.events_in[b->input], b->n, memory_order_relaxed);
                atomic_fetch_add_explicit(&metrics.store_events, b->n, memory_order_relaxed);
            } else {
                error = b->status;
                atomic_fetch_add_explicit(&metrics.store_errors, 1, memory_order_relaxed);
                if (b->retry && b->status != TRAIL_E_TOO_LARGE && !giving_up) {
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
        if (error)
            log_msg(LOG_ERR, "the store refused %s: %s%s", "a batch", trail_strerror(error),
                    keep_head ? " (holding the events and trying again)" : "");

        pthread_mutex_lock(&ig->lock);
        if (keep_head) {
            ig->retry_head = keep_head;
            ig->retry_tail = keep_tail;
        }
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
    push(&ig->head, &ig->tail, b);
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
