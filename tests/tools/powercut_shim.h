/*
 * powercut_shim.h - a simulated power cut under one directory, for tests
 * (tests/tools/powercut_shim.c explains the model and why it sees every
 * operation). Linked into a test program, it records what the program does
 * to the files under a traced directory and can write out, for any point of
 * that record, the tree a power cut at that point could leave.
 *
 * Not for: production code, or more than one traced directory at a time.
 */
#ifndef TRAIL_POWERCUT_SHIM_H
#define TRAIL_POWERCUT_SHIM_H

#include <stdint.h>

/* What a trace holds, by kind of operation (for the test's report). */
struct pc_counts {
    uint64_t ops, creates, writes, truncates, syncs, dir_syncs, renames, unlinks, mkdirs;
};

/*
 * pc_begin - start tracing root (an existing directory; the exact string the
 * program under test uses in its paths). What root holds now is taken as
 * durable. Drops any earlier trace. Returns 0 or -errno.
 */
int pc_begin(const char *root);

/* pc_end - stop tracing; the record stays for pc_materialise(). */
void pc_end(void);

/*
 * pc_ops - the number of operations recorded so far. A test reads it after an
 * operation it relies on has returned (an acknowledgement): a cut at or after
 * that number must keep what the acknowledgement promised.
 */
uint64_t pc_ops(void);

/* pc_counts - what the record holds, by kind. */
void pc_counts(struct pc_counts *ret);

/*
 * pc_materialise - write into out (an existing empty directory) the tree a
 * power cut after the first cut operations could leave. lossy 0: exactly what
 * was synced (file data as of each file's last fsync/fdatasync, directory
 * entries as of their directory's last fsync). lossy 1: that, plus, chosen
 * with seed, a random subset of the writes and truncations made since each
 * file's last sync, cut at 4 KiB page boundaries and kept in any order, and a
 * random prefix of the directory operations not yet synced (journals keep
 * metadata in order). Returns 0 or -errno.
 */
int pc_materialise(uint64_t cut, uint64_t seed, int lossy, const char *out);

#endif
