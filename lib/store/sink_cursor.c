/*
 * sink_cursor.c - a sink's durable cursor, DIR/sinks/NAME.cursor, written
 * by traild's sink runner after every delivery and read by it at start and
 * by `trail sinks` / `trail stats`: one reader and one writer of the format.
 *
 * The file (docs/sinks.md), text, one "key value" a line after the magic:
 *
 *     trail-sink-cursor/1
 *     type syslog                       the sink's type
 *     store 9f0c...(32 hex digits)      the id of the store it delivers from
 *     seq 1234                          the last seq delivered or filtered out
 *     witnessed 1200                    the last tree size sent to a witness
 *     delivered 1180                    events delivered since the file began
 *     time 1796624330586762             when it was written, µs since the epoch
 *
 * Unknown lines are skipped (a later version may add some). Written with
 * trail_file_replace, so a crash leaves the old cursor or the new one.
 */
#include "trail.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int trail_sink_cursor_read(const char *path, struct trail_sink_cursor *ret)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    struct trail_sink_cursor c;
    memset(&c, 0, sizeof(c));
    char line[256];
    int magic = 0, have_seq = 0;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        if (!strcmp(line, "trail-sink-cursor/1"))
            magic = 1;
        else if (!strncmp(line, "type ", 5))
            snprintf(c.type, sizeof(c.type), "%.31s", line + 5);
        else if (!strncmp(line, "store ", 6))
            snprintf(c.store, sizeof(c.store), "%.32s", line + 6);
        else if (sscanf(line, "seq %" SCNu64, &c.seq) == 1)
            have_seq = 1;
        else if (sscanf(line, "witnessed %" SCNu64, &c.witnessed) != 1 &&
                 sscanf(line, "delivered %" SCNu64, &c.delivered) != 1)
            sscanf(line, "time %" SCNd64, &c.time_us);
    }
    fclose(f);
    if (!magic || !have_seq)
        return TRAIL_E_PARSE;
    *ret = c;
    return 0;
}

int trail_sink_cursor_write(const char *path, const struct trail_sink_cursor *c)
{
    char text[512];
    int n = snprintf(text, sizeof(text),
                     "trail-sink-cursor/1\ntype %s\nstore %s\nseq %" PRIu64 "\nwitnessed %" PRIu64
                     "\ndelivered %" PRIu64 "\ntime %" PRId64 "\n",
                     c->type, c->store, c->seq, c->witnessed, c->delivered, c->time_us);
    if (n < 0 || (size_t)n >= sizeof(text))
        return -EINVAL;
    return trail_file_replace(path, text, (size_t)n, 0640);
}
