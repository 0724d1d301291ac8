/*
 * fuzz_segment.c - libFuzzer target for the store's readers: open recovery,
 * the frame reader, the sealed segment's trailer and index, block
 * decompression, iteration both ways and record decoding, fed one corrupt
 * segment file.
 *
 * The input is a segment file. Its first byte chooses the name it gets
 * (bit 0 clear: seg-0000000000000001.open, set: .seg) and whether the
 * target fixes the checksums up first (bit 1: the header's CRC and, in an
 * open segment, every frame's, so that mutations reach the record decoder
 * instead of stopping at a CRC), and is dropped; a store.meta
 * with the store id the file's header claims is written beside it, so the
 * fuzzer gets past the id check. The store is opened read-only and as a
 * writer (which may cut a torn tail), every record is read both ways and
 * decoded. Nothing may crash, hang or read out of bounds; errors are fine.
 *
 * Not for: what the records mean (the integrity layer's fuzz targets).
 */
#include "store/store.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static struct trail_catalog *cat;
static struct trail_event *ev;
static char dir[64];

static void write_file(const char *name, const uint8_t *p, size_t n)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        abort();
    if (n && write(fd, p, n) != (ssize_t)n)
        abort();
    close(fd);
}

static void cleanup(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

static void read_all(struct trail_store *s)
{
    for (int d = 0; d < 2; d++) {
        struct trail_store_iter *it;
        if (trail_store_iter_new(s, d, &it) < 0)
            return;
        for (int i = 0; i < 100000 && trail_store_iter_next(it, ev) == 1; i++)
            ;
        trail_store_iter_seek_time(it, 1764000000000000LL);
        trail_store_iter_next(it, ev);
        trail_store_iter_free(it);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!cat) {
        trail_catalog_new(&cat);
        trail_catalog_set_policy(cat, TRAIL_POLICY_OFF);
        trail_event_new(cat, "x", &ev);
        strcpy(dir, "/tmp/trail-fuzz-segment-XXXXXX");
        if (!mkdtemp(dir))
            abort();
        atexit(cleanup);
    }
    if (size < 1)
        return 0;
    int sealed = data[0] & 1, fix = data[0] & 2;
    data++;
    size--;
    uint8_t *copy = NULL;
    if (fix && size >= TRAIL_SEG_FIXED + 4) {
        copy = malloc(size);
        memcpy(copy, data, size);
        size_t hlen = get_u32(copy + 12);
        if (hlen >= TRAIL_SEG_FIXED + 4 && hlen <= size) {
            put_u32(copy + hlen - 4, crc32c(0, copy, hlen - 4));
            for (size_t off = hlen; !sealed && off + 8 <= size;) {
                size_t len = get_u32(copy + off);
                if (len > size - off - 8)
                    break;
                put_u32(copy + off + 4, crc32c(0, copy + off + 8, len));
                off += 8 + len;
            }
        }
        data = copy;
    }
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s/*", dir);
    if (system(cmd) != 0)
        abort();

    /* store.meta with the id the header claims (bytes 16..31) */
    uint8_t meta[64] = {0};
    memcpy(meta, "TRAILSTO", 8);
    put_u16(meta + 8, 1);
    put_u32(meta + 12, 64);
    if (size >= 32)
        memcpy(meta + 16, data + 16, 16);
    put_u32(meta + 60, crc32c(0, meta, 60));
    write_file("store.meta", meta, sizeof(meta));
    write_file(sealed ? "seg-0000000000000001.seg" : "seg-0000000000000001.open", data, size);

    struct trail_store *s;
    struct trail_store_opts ro = {.read_only = 1};
    if (trail_store_open(dir, cat, &ro, &s, NULL) == 0) {
        read_all(s);
        uint8_t h[32];
        uint64_t last = trail_store_durable_seq(s);
        if (last && last < 5000)
            trail_store_subtree_hash(s, 0, last, h);
        trail_store_close(s);
    }
    struct trail_store_opts rw = {.no_seal = 1, .fsync_policy = TRAIL_FSYNC_NEVER};
    if (trail_store_open(dir, cat, &rw, &s, NULL) == 0) {
        read_all(s);
        trail_store_close(s);
    }
    free(copy);
    return 0;
}
