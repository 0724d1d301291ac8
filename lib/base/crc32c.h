/*
 * crc32c.h - CRC-32C (Castagnoli), the checksum of segment frames, blocks and
 * index files (lib/base/crc32c.c).
 *
 * Not part of the public API. Uses only libc.
 */
#ifndef TRAIL_CRC32C_H
#define TRAIL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/*
 * crc32c - extend crc (0 to start) over len bytes. Uses the SSE4.2
 * crc32 instruction when the CPU has it, a table otherwise; same result.
 */
uint32_t crc32c(uint32_t crc, const void *data, size_t len);

/* crc32c_sw - the table version, for tests that compare both. */
uint32_t crc32c_sw(uint32_t crc, const void *data, size_t len);

#endif /* TRAIL_CRC32C_H */
