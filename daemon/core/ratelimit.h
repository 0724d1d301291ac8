/*
 * ratelimit.h - how many records of one kind trail writes per source and
 * per minute (refused requests, rejected items), and what it counts but
 * does not store. Thread-safe. Not for: byte or request rates (the inputs).
 */
#ifndef TRAILD_RATELIMIT_H
#define TRAILD_RATELIMIT_H

#include <pthread.h>
#include <stdint.h>

#define RL_SLOTS 256 /* sources tracked at once; more are folded into "lost" */

struct rl_slot {
    char source[64];
    int64_t minute;
    uint32_t stored;     /* records stored for this source in this minute */
    uint64_t suppressed; /* not stored since its last stored one */
};

struct ratelimit {
    pthread_mutex_t lock;
    int64_t minute;
    uint32_t stored; /* all sources, this minute */
    uint64_t lost;   /* suppressed counts of sources pushed out of the table */
    struct rl_slot slots[RL_SLOTS];
};

#define RATELIMIT_INIT                                                                             \
    {                                                                                              \
        .lock = PTHREAD_MUTEX_INITIALIZER                                                          \
    }

/*
 * ratelimit_admit - may one more record about source be stored in this
 * minute (since the epoch), within per_source and total? Returns 1 with
 * *ret_suppressed (this source's records not stored since its last stored
 * one) and *ret_lost (those of sources pushed out of the table), to be
 * stated in the record; or 0, counted as suppressed, with
 * *ret_first_suppressed 1 the first time this source is held back.
 */
int ratelimit_admit(struct ratelimit *rl, const char *source, int64_t minute, uint32_t per_source,
                    uint32_t total, uint64_t *ret_suppressed, uint64_t *ret_lost,
                    int *ret_first_suppressed);

#endif
