/*
 * bytes.h - little-endian fixed-width reads and writes, for every on-disk and
 * on-wire format of trail (records, segments, indexes, the tree files).
 *
 * Not part of the public API. Uses only libc.
 */
#ifndef TRAIL_BYTES_H
#define TRAIL_BYTES_H

#include <stdint.h>
#include <string.h>

static inline void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void put_u32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4); /* x86-64 and aarch64-le: little-endian already */
}
static inline void put_u64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}
static inline uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t get_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static inline uint64_t get_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "trail's on-disk helpers assume a little-endian host"
#endif

#endif /* TRAIL_BYTES_H */
