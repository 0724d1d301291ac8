/*
 * segment.h - segment files: the open segment's frames and a sealed
 * segment's compressed blocks, index and trailer (lib/store/segment.c
 * documents the layout; docs/format.md "Segment").
 *
 * Not part of the public API. Uses lib/base.
 */
#ifndef TRAIL_SEGMENT_H
#define TRAIL_SEGMENT_H

#include "base/base.h"
#include "base/bytes.h"
#include "base/crc32c.h"

#include <sys/types.h>

/*
 * Segment header, at offset 0 of every seg-*.open and seg-*.seg file:
 *
 *   0   8  magic "TRAILSEG"
 *   8   2  format version: 1, or 2 for a sealed segment whose blocks are
 *          frames compressed with the segment's dictionary (below)
 *   10  1  kind: 1 open (frames follow), 2 sealed (zstd blocks, index, trailer)
 *   11  1  number of frontier nodes that follow the fixed part (popcount of
 *          the tree size at start)
 *   12  4  header length in bytes (128 + 32 * nodes)
 *   16  16 store id
 *   32  8  first seq
 *   40  8  created, µs since the epoch
 *   48  32 chain head before the first record (chain(first seq - 1))
 *   80  8  tree size before the first record (first seq - 1)
 *   88  4  versions 2, 3: the dictionary's length D (version 1: zero)
 *   92  4  versions 2, 3: the dictionary's CRC-32C (version 1: zero)
 *   96  28 reserved, zero
 *   124 32*n frontier nodes, the highest set bit of the tree size first
 *   ... 4  CRC-32C of every header byte before it
 *
 * Frame (open segments, and inside every decompressed block):
 *   0 4 record length L   4 4 CRC-32C of the record   8 L the record
 */
#define TRAIL_SEG_MAGIC        "TRAILSEG"
#define TRAIL_SEG_VERSION      1
#define TRAIL_SEG_VERSION_DICT 2
#define TRAIL_SEG_VERSION_LEAN 3 /* version 2, each frame's CRC and record seq stored as zero */
#define TRAIL_SEG_KIND_OPEN    1
#define TRAIL_SEG_KIND_SEAL    2
#define TRAIL_SEG_FIXED        124
#define TRAIL_SEG_HEADER_MAX   (TRAIL_SEG_FIXED + 32 * 64 + 4)
#define TRAIL_FRAME_HEAD       8

/* the header's fields, by offset (the table above) */
enum {
    SEG_H_MAGIC = 0,
    SEG_H_VERSION = 8,
    SEG_H_KIND = 10,
    SEG_H_NODES = 11,
    SEG_H_LEN = 12,
    SEG_H_STORE_ID = 16,
    SEG_H_FIRST_SEQ = 32,
    SEG_H_CREATED = 40,
    SEG_H_CHAIN = 48,
    SEG_H_TREE_SIZE = 80,
    SEG_H_RESERVED = 88,
    SEG_H_DICT_LEN = 88,
    SEG_H_DICT_CRC = 92,
};
_Static_assert(SEG_H_RESERVED + 36 == TRAIL_SEG_FIXED, "the header's fixed part is 124 bytes");
_Static_assert(SEG_H_TREE_SIZE + 8 == SEG_H_RESERVED, "the tree size is 8 bytes");

struct seg_header {
    int kind;
    int version;       /* 0 or 1: version 1; TRAIL_SEG_VERSION_DICT or _LEAN */
    uint32_t dict_len; /* versions 2 and 3: the dictionary after the header */
    uint32_t dict_crc;
    uint32_t header_len;
    uint8_t store_id[16];
    uint64_t first_seq;
    int64_t created_us;
    uint8_t chain[TRAIL_HASH_LEN];
    struct trail_frontier frontier; /* size = first_seq - 1 */
};

/* seg_header_encode - write h into out (TRAIL_SEG_HEADER_MAX); returns its length. */
size_t seg_header_encode(const struct seg_header *h, uint8_t *out);

/* seg_header_decode - parse and check a header; 0, TRAIL_E_VERSION or TRAIL_E_CORRUPT. */
int seg_header_decode(const uint8_t *p, size_t len, struct seg_header *h);

/* seg_header_read - read and parse the header of an open file. */
int seg_header_read(int fd, struct seg_header *h);

/*
 * Sealed segment: header (kind 2) | [dictionary] | blocks | index | trailer.
 * Version 1 block: one zstd frame holding whole frames, [first, first + count).
 * Version 2: the header is followed by the segment's dictionary, D bytes:
 * one zstd frame holding whole frames of records sampled evenly across the
 * segment (at most 1/32 of it and 64 KiB), used as a zstd "raw
 * content" dictionary; a frame's length is below 2^24, so it never starts
 * with zstd's dictionary magic), and each block is a zstd skippable frame
 * holding its table, then its sub-frames, each a zstd frame of whole frames
 * (about TRAIL_SEG_SUBFRAME raw bytes) compressed with the dictionary:
 *   0 4 magic 0x184D2A5E   4 4 table length 4 + 12 * n   8 4 n
 *   12 12*n per sub-frame: 0 4 records  4 4 raw length  8 4 compressed length
 * so a reader that wants one record decompresses about 32 KiB, not the
 * block's 1 MiB; zstd decompresses the whole block in one call as well
 * (the skippable frame is skipped, the frames concatenated).
 * Index entry, 48 bytes per block:
 *   0 8 first seq  8 4 count  12 4 compressed length  16 8 file offset
 *   24 8 min time  32 8 max time  40 4 raw length  44 4 CRC-32C of the compressed bytes
 * Trailer, the last 96 bytes of the file:
 *   0 8 index offset  8 4 block count  12 4 CRC-32C of the index
 *   16 8 first seq  24 8 last seq  32 32 chain head after the last record
 *   64 8 min time  72 8 max time  80 4 reserved  84 4 CRC-32C of bytes 0..83
 *   88 8 magic "TRAILEND"
 */
#define TRAIL_SEG_INDEX_ENTRY 48
#define TRAIL_SEG_TRAILER     96
#define TRAIL_SEG_END_MAGIC   "TRAILEND"

/* an index entry's fields, by offset */
enum {
    SEG_I_FIRST_SEQ = 0,
    SEG_I_COUNT = 8,
    SEG_I_COMP_LEN = 12,
    SEG_I_OFFSET = 16,
    SEG_I_MIN_TIME = 24,
    SEG_I_MAX_TIME = 32,
    SEG_I_RAW_LEN = 40,
    SEG_I_CRC = 44,
};
_Static_assert(SEG_I_CRC + 4 == TRAIL_SEG_INDEX_ENTRY, "an index entry is 48 bytes");

/* the trailer's fields, by offset */
enum {
    SEG_T_INDEX_OFF = 0,
    SEG_T_BLOCKS = 8,
    SEG_T_INDEX_CRC = 12,
    SEG_T_FIRST_SEQ = 16,
    SEG_T_LAST_SEQ = 24,
    SEG_T_CHAIN = 32,
    SEG_T_MIN_TIME = 64,
    SEG_T_MAX_TIME = 72,
    SEG_T_RESERVED = 80,
    SEG_T_CRC = 84,
    SEG_T_MAGIC = 88,
};
_Static_assert(SEG_T_CHAIN + TRAIL_HASH_LEN == SEG_T_MIN_TIME, "the chain head is 32 bytes");
_Static_assert(SEG_T_MAGIC + 8 == TRAIL_SEG_TRAILER, "the trailer is 96 bytes");

struct seg_block {
    uint64_t first_seq;
    uint32_t count;
    uint32_t comp_len;
    uint64_t offset;
    int64_t min_time, max_time;
    uint32_t raw_len;
    uint32_t crc;
    const void *ddict; /* version 2: the segment's ZSTD_DDict (not on disk; seg_sealed owns it) */
    int lean; /* version 3: the frames' seqs are put back after decompressing, their CRCs stay 0 */
};

#define TRAIL_SEG_SUBFRAME      (32u << 10)
#define TRAIL_SEG_DICT_MAX      (64u << 10)
#define TRAIL_SEG_TABLE_MAGIC   0x184D2A5Eu
#define TRAIL_SEG_SUBFRAMES_MAX 4096

/* one sub-frame of a version 2 block, as seg_block_frames() finds it */
struct seg_subframe {
    uint32_t first;    /* its first record, counted from the block's first */
    uint32_t count;    /* records */
    uint32_t raw_off;  /* where its bytes start in the decompressed block */
    uint32_t raw_len;  /* its decompressed bytes */
    uint32_t comp_off; /* where its zstd frame starts in the compressed block */
    uint32_t comp_len;
};

/*
 * seg_block_frames - the sub-frames of block b from the first avail bytes
 * of its compressed bytes: 0 with *ret (malloc'd) and *ret_n, checked
 * against b's count and lengths; 1 when b has no table (version 1: one
 * frame); -EAGAIN with *ret_n the bytes the table needs when avail is
 * short; TRAIL_E_CORRUPT or -ENOMEM. A reader of a few records reads the
 * table and then only their sub-frames: zstd's framing and each frame's
 * length and seq (in version 2 also its CRC-32C) check what it reads, the
 * block's CRC what scrub and verify read whole, the tree each record.
 */
int seg_block_frames(const struct seg_block *b, const uint8_t *comp, size_t avail,
                     struct seg_subframe **ret, uint32_t *ret_n);

/*
 * seg_subframe_read - decompress sub-frame f of block b (comp: the block's
 * checked bytes) into out, which has room for f->raw_len bytes. 0 or
 * TRAIL_E_CORRUPT.
 */
int seg_subframe_read(const struct seg_block *b, const uint8_t *comp, const struct seg_subframe *f,
                      void *zstd_dctx, uint8_t *out);

/*
 * seg_dict_load - version 2: read and check the dictionary after header h
 * of fd and digest it; *ret is a ZSTD_DDict (ZSTD_freeDDict), NULL for
 * version 1. 0, TRAIL_E_CORRUPT, -errno or -ENOMEM.
 */
int seg_dict_load(int fd, const struct seg_header *h, void **ret);

/* seg_data_off - where a sealed segment's first block starts. */
static inline uint64_t seg_data_off(const struct seg_header *h)
{
    return (uint64_t)h->header_len + (h->version >= TRAIL_SEG_VERSION_DICT ? h->dict_len : 0);
}

/*
 * seg_frames_restore - version 3: the n frames of raw[0, len) hold zeros
 * where each frame's CRC-32C and its record's seq go; write the seqs back
 * (from first_seq on), so that each record is the one the tree's leaf
 * hashes. The CRC field stays zero: a version 3 frame carries none (the
 * block's CRC-32C covers its stored bytes), so a reader checks a frame's
 * CRC only in open segments and in blocks of versions 1 and 2 (struct
 * seg_block's lean is 0). 0, or TRAIL_E_CORRUPT when a frame does not fit
 * or a zeroed field is not zero.
 */
int seg_frames_restore(uint8_t *raw, size_t len, uint64_t first_seq);

struct seg_sealed {
    struct seg_header h;
    uint64_t first_seq, last_seq;
    uint8_t chain_end[TRAIL_HASH_LEN];
    int64_t min_time, max_time;
    uint32_t n_blocks;
    struct seg_block *blocks; /* malloc'd */
    uint64_t file_size;
    void *ddict; /* version 2: the dictionary, digested (ZSTD_DDict) */
};

/* seg_sealed_load - read and check a sealed file's header, trailer and index. */
int seg_sealed_load(int fd, struct seg_sealed *ret);
void seg_sealed_free(struct seg_sealed *s);

/*
 * seg_block_read - read, check and decompress block b of a sealed file into
 * out (grown as needed). 0, TRAIL_E_CORRUPT, -errno or -ENOMEM.
 */
int seg_block_read(int fd, const struct seg_block *b, void *zstd_dctx, struct trail_buf *comp,
                   struct trail_buf *out);

/*
 * seg_block_fn - what seg_seal hands on of each block it wrote: its entry
 * (b), its frames raw[0, len) as seg_block_read gives them (seqs in place,
 * CRC fields zero), and its n_sub sub-frames as seg_block_frames finds them.
 * Valid during the call only.
 */
typedef void (*seg_block_fn)(void *arg, const struct seg_block *b, const uint8_t *raw, size_t len,
                             const struct seg_subframe *sub, uint32_t n_sub);

/*
 * seg_seal - compress the frames of the open segment src_fd (header h,
 * frames up to data_end) into a new sealed file dst_fd, in blocks of about
 * block_bytes raw bytes at the given zstd level; fsyncs dst. Checks every
 * frame's CRC and the seq order on the way (TRAIL_E_CORRUPT otherwise).
 * on_block (may be NULL) gets each block as it is written, with arg: the
 * query index is built from the frames in hand rather than read back.
 * The caller sets ret->chain_end (the chain head after the segment's last
 * record: the next segment's header has it) before the call; the rest of
 * *ret is filled on success (caller frees with seg_sealed_free()).
 */
int seg_seal(int src_fd, const struct seg_header *h, uint64_t data_end, int dst_fd,
             uint32_t block_bytes, int level, seg_block_fn on_block, void *arg,
             struct seg_sealed *ret);

/* The frame reader: buffered preads over an open segment. */
struct frame_reader {
    int fd;
    uint64_t off; /* file offset of the next frame */
    uint64_t end; /* stop here (file size, or UINT64_MAX for "until EOF") */
    struct trail_buf buf;
    uint64_t buf_off; /* file offset of buf.data[0] */
    int no_crc;       /* 1: frames are not checked against their CRC (a pass that a checking
                         pass over the same frames follows) */
};

enum frame_status {
    FRAME_OK = 0,
    FRAME_END = 1,  /* clean end of data */
    FRAME_TORN = 2, /* fewer bytes than a frame needs before the end */
    FRAME_BAD = 3   /* a length or CRC that does not hold */
};

/*
 * frame_next - the next frame at r->off: *ret_rec and *ret_len point into
 * r's buffer (valid until the next call); advances r->off past it. The
 * frame's CRC is checked unless r->no_crc. A status, or -errno for a read
 * error.
 */
int frame_next(struct frame_reader *r, const uint8_t **ret_rec, uint32_t *ret_len);
void frame_reader_free(struct frame_reader *r);

/*
 * frame_resync - after a bad frame at r->off, look for a later offset where
 * a frame parses, CRC-checks and holds a record whose seq is greater than
 * after_seq. 1 and *ret_off when one exists, 0 when none does, -errno.
 */
int frame_resync(struct frame_reader *r, uint64_t after_seq, uint64_t *ret_off);

#endif /* TRAIL_SEGMENT_H */
