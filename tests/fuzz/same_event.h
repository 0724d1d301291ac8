/*
 * same_event.h - the fuzz targets' oracle: 0 when two events hold the same
 * id, severity, time, host and attributes (type and value), -1 otherwise.
 * Each target adds what its own wire form also carries (JSON: seq, uuid).
 * Included by tests/fuzz/fuzz_*.c only.
 */
#ifndef TRAIL_FUZZ_SAME_EVENT_H
#define TRAIL_FUZZ_SAME_EVENT_H

#include "trail.h"

#include <string.h>

static int same_event_core(const struct trail_event *a, const struct trail_event *b)
{
    if (strcmp(trail_event_id(a), trail_event_id(b)) != 0 ||
        trail_event_severity(a) != trail_event_severity(b) ||
        trail_event_time(a) != trail_event_time(b) ||
        strcmp(trail_event_host(a), trail_event_host(b)) != 0 ||
        trail_event_attr_count(a) != trail_event_attr_count(b))
        return -1;
    for (size_t i = 0; i < trail_event_attr_count(a); i++) {
        const char *ka, *kb;
        struct trail_value va, vb;
        trail_event_attr_at(a, i, &ka, &va);
        trail_event_attr_at(b, i, &kb, &vb);
        if (strcmp(ka, kb) != 0 || va.type != vb.type)
            return -1;
        switch (va.type) {
        case TRAIL_TYPE_STRING:
        case TRAIL_TYPE_ENUM:
            if (va.u.str.len != vb.u.str.len || memcmp(va.u.str.ptr, vb.u.str.ptr, va.u.str.len))
                return -1;
            break;
        case TRAIL_TYPE_IP:
            if (va.u.ip.family != vb.u.ip.family || memcmp(va.u.ip.addr, vb.u.ip.addr, 16))
                return -1;
            break;
        case TRAIL_TYPE_BOOL:
            if (va.u.b != vb.u.b)
                return -1;
            break;
        case TRAIL_TYPE_TIME:
            if (va.u.time_us != vb.u.time_us)
                return -1;
            break;
        default:
            if (va.u.i != vb.u.i)
                return -1;
        }
    }
    return 0;
}

#endif /* TRAIL_FUZZ_SAME_EVENT_H */
