/*
 * ratelimit.c - per-source, per-minute budgets for the records trail writes
 * about what others sent (ratelimit.h).
 */
#include "core/ratelimit.h"

#include <stdio.h>
#include <string.h>

static uint32_t hash_source(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

int ratelimit_admit(struct ratelimit *rl, const char *source, int64_t minute, uint32_t per_source,
                    uint32_t total, uint64_t *ret_suppressed, uint64_t *ret_lost,
                    int *ret_first_suppressed)
{
    int store = 0;
    *ret_first_suppressed = 0;
    pthread_mutex_lock(&rl->lock);
    if (rl->minute != minute) {
        rl->minute = minute;
        rl->stored = 0;
    }
    struct rl_slot *s = &rl->slots[hash_source(source) % RL_SLOTS];
    if (strcmp(s->source, source) != 0) {
        rl->lost += s->suppressed;
        memset(s, 0, sizeof(*s));
        snprintf(s->source, sizeof(s->source), "%s", source);
    }
    if (s->minute != minute) {
        s->minute = minute;
        s->stored = 0;
    }
    if (s->stored < per_source && rl->stored < total) {
        store = 1;
        s->stored++;
        rl->stored++;
        *ret_suppressed = s->suppressed;
        *ret_lost = rl->lost;
        s->suppressed = 0;
        rl->lost = 0;
    } else {
        *ret_first_suppressed = s->suppressed == 0;
        s->suppressed++;
    }
    pthread_mutex_unlock(&rl->lock);
    return store;
}
