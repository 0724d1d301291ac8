/*
 * test_verify.c - trail_verify_store against every kind of damage, made the
 * way an attacker with write access to the store's files would make it:
 * records are edited inside the segment files and every per-record CRC-32C
 * and per-segment checksum (block CRCs, index, trailer) is recomputed, so
 * that only the integrity layer (chain, tree, tree.roots, checkpoints) can
 * catch it. Also: the checkpoints the store writes itself, proofs from a
 * store, and a store purged three times.
 *
 * Not here: the CLI (tests/integration/verify_*.sh), the proof and
 * checkpoint primitives (test_proof.c, test_checkpoint.c), the store's own
 * recovery (test_store.c).
 */
#include "attacker.h"
#include "harness.h"
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define N_EVENTS  1200
#define SEG_BYTES (32u << 10) /* about 100 records a segment */
#define BLOCK     (4u << 10)

static struct trail_catalog *cat;
static struct trail_key *key;

/* ---- stores ---- */

/*
 * The catalog and the signing key. With TRAIL_TEST_KEEP=PATH in the
 * environment the key is also written to PATH.key and PATH.pub, and
 * purged_three_times leaves its store in PATH (tests/integration/
 * verify_proofs.sh checks it with the trail command).
 */
static void need(void)
{
    if (cat)
        return;
    const char *keep = getenv("TRAIL_TEST_KEEP");
    char priv[300], pub[300];
    snprintf(priv, sizeof(priv), "%s.key", keep ? keep : "");
    snprintf(pub, sizeof(pub), "%s.pub", keep ? keep : "");
    if (trail_catalog_new(&cat) < 0 ||
        trail_key_generate(keep ? priv : NULL, keep ? pub : NULL, &key) < 0)
        abort();
}

static char *make_dir(void)
{
    need();
    char *path = malloc(64);
    strcpy(path, "/tmp/trail-test-verify-XXXXXX");
    if (!mkdtemp(path))
        abort();
    return path;
}

static void run(const char *fmt, const char *a, const char *b)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), fmt, a, b);
    if (system(cmd) != 0)
        abort();
}

static void remove_dir(char *dir)
{
    run("rm -rf '%s'%s", dir, "");
    free(dir);
}

static struct trail_event *make_event(int i, const char *flavour)
{
    static const char *const ids[] = {"auth_entrypoints_saml_auth_started",
                                      "auth_authenticators_bankid_successful",
                                      "auth_entrypoints_oidc_logout"};
    struct trail_event *ev;
    if (trail_event_new(cat, ids[i % 3], &ev) < 0)
        abort();
    char buf[64];
    trail_event_set_host(ev, "idp-node1", (size_t)-1);
    snprintf(buf, sizeof(buf), "%s%d@example.org", flavour, i % 97);
    trail_event_set_string(ev, "duser", buf, (size_t)-1);
    snprintf(buf, sizeof(buf), "#T%08d", i);
    trail_event_set_string(ev, "phxTraceId", buf, (size_t)-1);
    trail_event_set_string(ev, "requestClientApplication",
                           "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36", (size_t)-1);
    trail_event_set_ip(ev, "src", i % 2 ? "198.51.100.23" : "2001:db8::17", (size_t)-1);
    trail_event_set_int(ev, "n", i);
    trail_event_set_time(ev, 1764000000000000LL + (int64_t)i * 1000);
    return ev;
}

static struct trail_store_opts store_opts(void)
{
    struct trail_store_opts o = {.create = 1,
                                 .segment_max_bytes = SEG_BYTES,
                                 .block_bytes = BLOCK,
                                 .zstd_level = 1,
                                 .fsync_policy = TRAIL_FSYNC_NEVER,
                                 .checkpoint_key = key,
                                 .checkpoint_every_events = 400};
    return o;
}

static uint64_t sealed_wait(struct trail_store *s)
{
    struct trail_store_stats st;
    for (int i = 0; i < 4000; i++) {
        trail_store_stats(s, &st);
        if (st.sealed_segments + 1 >= st.segments)
            break;
        usleep(2000);
    }
    return st.sealed_segments;
}

/* Append events [from, to) (flavour makes them differ between stores) to dir. */
static int append(const char *dir, int from, int to, const char *flavour)
{
    struct trail_store *s;
    struct trail_store_opts o = store_opts();
    int r = trail_store_open(dir, cat, &o, &s, NULL);
    if (r < 0)
        return r;
    for (int i = from; i < to && r == 0; i += 50) {
        struct trail_event *evs[50];
        int n = to - i < 50 ? to - i : 50;
        for (int k = 0; k < n; k++)
            evs[k] = make_event(i + k, flavour);
        uint64_t last;
        r = trail_store_append(s, evs, (size_t)n, &last);
        if (r == 0)
            r = trail_store_wait(s, last);
        for (int k = 0; k < n; k++)
            trail_event_free(evs[k]);
    }
    sealed_wait(s);
    int rc = trail_store_close(s);
    return r < 0 ? r : rc;
}

static char *new_store(int n)
{
    char *dir = make_dir();
    if (append(dir, 0, n, "user") < 0)
        abort();
    return dir;
}

static int verify(const char *dir, const struct trail_checkpoint *ext, size_t n_ext,
                  struct trail_verify_report *rep)
{
    const struct trail_key *keys[] = {key};
    struct trail_verify_opts o = {
        .keys = keys, .n_keys = 1, .checkpoints = ext, .n_checkpoints = n_ext};
    return trail_verify_store(dir, &o, rep);
}

static void dump(const struct trail_verify_report *rep)
{
    for (uint32_t i = 0; i < rep->n_damage && i < TRAIL_VERIFY_MAX_DAMAGE; i++)
        fprintf(stderr, "    damage %s seq %" PRIu64 "..%" PRIu64 " %s: %s\n",
                trail_damage_name(rep->damage[i].kind), rep->damage[i].seq, rep->damage[i].seq_last,
                rep->damage[i].file, rep->damage[i].message);
    if (rep->notes[0])
        fprintf(stderr, "    notes: %s", rep->notes);
}

/* ---- the attacker's tools: a segment file as its header and its frames ---- */

struct segfile {
    char path[256];
    char name[64];
    int sealed;
    uint8_t header[TRAIL_SEG_HEADER_MAX];
    size_t header_len;
    uint64_t first_seq;
    struct trail_buf frames;
    uint8_t trailer_chain[32];
};

/* The segment file holding seq (the one with the greatest first seq <= seq). */
static int seg_name_for(const char *dir, uint64_t seq, char *name, size_t size)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    uint64_t best = 0;
    int found = 0;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        int is_seg = len == 24 && strcmp(e->d_name + 20, ".seg") == 0;
        int is_open = len == 25 && strcmp(e->d_name + 20, ".open") == 0;
        if (strncmp(e->d_name, "seg-", 4) != 0 || (!is_seg && !is_open))
            continue; /* not a segment (a .tmp, an .idx) */
        uint64_t first = strtoull(e->d_name + 4, NULL, 16);
        if (first <= seq && first >= best) {
            best = first;
            snprintf(name, size, "%.60s", e->d_name);
            found = 1;
        }
    }
    closedir(d);
    return found ? 0 : -1;
}

static int seg_load(const char *dir, uint64_t seq, struct segfile *sf)
{
    memset(sf, 0, sizeof(*sf));
    if (seg_name_for(dir, seq, sf->name, sizeof(sf->name)) < 0)
        return -1;
    snprintf(sf->path, sizeof(sf->path), "%s/%s", dir, sf->name);
    sf->sealed = strstr(sf->name, ".seg") != NULL;
    int fd = open(sf->path, O_RDONLY);
    if (fd < 0)
        return -1;
    struct seg_header h;
    if (seg_header_read(fd, &h) < 0) {
        close(fd);
        return -1;
    }
    sf->first_seq = h.first_seq;
    sf->header_len = h.header_len;
    if (pread(fd, sf->header, h.header_len, 0) != (ssize_t)h.header_len) {
        close(fd);
        return -1;
    }
    if (h.version >= TRAIL_SEG_VERSION_DICT) {
        /* the attacker writes its blocks in format version 1, which trail reads as well */
        struct seg_header v1 = h;
        v1.version = TRAIL_SEG_VERSION;
        v1.dict_len = v1.dict_crc = 0;
        sf->header_len = seg_header_encode(&v1, sf->header);
    }
    int r = 0;
    if (!sf->sealed) {
        struct stat st;
        fstat(fd, &st);
        size_t n = (size_t)st.st_size - h.header_len;
        trail_buf_reserve(&sf->frames, n);
        if (pread(fd, sf->frames.data, n, h.header_len) != (ssize_t)n)
            r = -1;
        sf->frames.len = n;
    } else {
        struct seg_sealed ss;
        if (seg_sealed_load(fd, &ss) < 0) {
            close(fd);
            return -1;
        }
        memcpy(sf->trailer_chain, ss.chain_end, 32);
        r = atk_read_blocks(fd, &ss, &sf->frames);
        seg_sealed_free(&ss);
    }
    close(fd);
    return r;
}

/* Write the segment back with every checksum made to fit its new content (the header as it
   was: this attacker cannot know a chain head, so the trailer keeps the old one). */
static int seg_save(struct segfile *sf)
{
    int fd = open(sf->path, O_WRONLY | O_TRUNC);
    if (fd < 0)
        return -1;
    if (pwrite(fd, sf->header, sf->header_len, 0) != (ssize_t)sf->header_len) {
        close(fd);
        return -1;
    }
    return atk_write_body(fd, sf->header_len, sf->sealed, sf->first_seq, &sf->frames,
                          sf->trailer_chain, BLOCK);
}

static void seg_free(struct segfile *sf)
{
    trail_buf_free(&sf->frames);
}

/* Offset in sf->frames of the frame of seq, or (size_t)-1. */
static size_t frame_at(const struct segfile *sf, uint64_t seq)
{
    const uint8_t *p = (const uint8_t *)sf->frames.data;
    for (size_t pos = 0; pos + 8 < sf->frames.len; pos += 8 + get_u32(p + pos))
        if (record_seq(p + pos + 8) == seq)
            return pos;
    return (size_t)-1;
}

static size_t frame_size(const struct segfile *sf, size_t off)
{
    return 8 + get_u32((const uint8_t *)sf->frames.data + off);
}

static void fix_crc(struct segfile *sf, size_t off)
{
    uint8_t *p = (uint8_t *)sf->frames.data + off;
    put_u32(p + 4, crc32c(0, p + 8, get_u32(p)));
}

/* Insert n bytes at off in the frames. */
static void frames_insert(struct segfile *sf, size_t off, const void *bytes, size_t n)
{
    trail_buf_reserve(&sf->frames, n);
    memmove(sf->frames.data + off + n, sf->frames.data + off, sf->frames.len - off);
    memcpy(sf->frames.data + off, bytes, n);
    sf->frames.len += n;
}

static void frames_remove(struct segfile *sf, size_t off, size_t n)
{
    memmove(sf->frames.data + off, sf->frames.data + off + n, sf->frames.len - off - n);
    sf->frames.len -= n;
}

/* Flip one byte of record seq (at byte `at` of the record); fix_crc says whether the
   attacker makes the frame's CRC fit. */
static int flip(const char *dir, uint64_t seq, size_t at, int make_crc_fit, char *name)
{
    struct segfile sf;
    if (seg_load(dir, seq, &sf) < 0)
        return -1;
    size_t off = frame_at(&sf, seq);
    if (off == (size_t)-1)
        return -1;
    sf.frames.data[off + 8 + at] ^= 0x20;
    if (make_crc_fit)
        fix_crc(&sf, off);
    snprintf(name, 64, "%s", sf.name);
    int r = seg_save(&sf);
    seg_free(&sf);
    return r;
}

/* ---- tests ---- */

TEST(clean_store_verifies)
{
    char *dir = new_store(N_EVENTS);
    struct trail_verify_report rep;
    ASSERT_OK(verify(dir, NULL, 0, &rep));
    if (rep.n_damage)
        dump(&rep);
    ASSERT_EQ(rep.n_damage, 0);
    ASSERT_EQ(rep.records, N_EVENTS);
    ASSERT_EQ(rep.first_seq, 1);
    ASSERT_EQ(rep.last_seq, N_EVENTS);
    ASSERT(rep.segments >= 8);
    ASSERT(rep.checkpoints >= 2);
    ASSERT_EQ(rep.signatures, rep.checkpoints);
    ASSERT_EQ(rep.latest_size, N_EVENTS); /* signed at close */
    ASSERT_EQ(rep.group_roots, N_EVENTS / 256);
    /* the tree and chain are the store's own */
    struct trail_store *s;
    struct trail_store_opts o = {.read_only = 1};
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, NULL));
    struct trail_checkpoint cp;
    ASSERT_OK(trail_store_checkpoint_latest(s, &cp));
    ASSERT_MEMEQ(cp.root, rep.root, 32);
    ASSERT_MEMEQ(cp.chain, rep.chain, 32);
    ASSERT_OK(trail_checkpoint_verify(&cp, key));
    trail_store_close(s);
    /* one thread or many: the same answer */
    const struct trail_key *keys[] = {key};
    struct trail_verify_opts one = {.keys = keys, .n_keys = 1, .threads = 1};
    struct trail_verify_report rep1;
    ASSERT_OK(trail_verify_store(dir, &one, &rep1));
    ASSERT_EQ(rep1.n_damage, 0);
    ASSERT_EQ(rep1.threads, 1);
    ASSERT_MEMEQ(rep1.root, rep.root, 32);
    remove_dir(dir);
}

/* A byte of a record changed and its checksums made to fit. */
static void modified_case(int in_open_segment)
{
    char *dir = new_store(N_EVENTS);
    uint64_t seq = in_open_segment ? N_EVENTS - 5 : 500;
    char name[64];
    ASSERT_OK(flip(dir, seq, 60, 1, name));
    ASSERT(strstr(name, in_open_segment ? ".open" : ".seg") != NULL);
    struct trail_verify_report rep;
    ASSERT_OK(verify(dir, NULL, 0, &rep));
    if (rep.n_damage == 0 || rep.damage[0].kind != TRAIL_DAMAGE_MODIFIED)
        dump(&rep);
    ASSERT(rep.n_damage >= 1);
    ASSERT_STREQ(trail_damage_name(rep.damage[0].kind), "modified");
    ASSERT_STREQ(rep.damage[0].file, name);
    /* the first bad record is named as the narrowest range the stored hashes allow */
    ASSERT(rep.damage[0].seq <= seq && seq <= rep.damage[0].seq_last);
    ASSERT(rep.damage[0].seq_last - rep.damage[0].seq < 256);
    remove_dir(dir);
}

TEST(modified_byte_sealed)
{
    modified_case(0);
}

TEST(modified_byte_open)
{
    modified_case(1);
}

/* A naive edit that leaves the CRC as it was is named exactly. */
TEST(modified_byte_crc_left)
{
    char *dir = new_store(N_EVENTS);
    char name[64];
    ASSERT_OK(flip(dir, 733, 40, 0, name));
    struct trail_verify_report rep;
    ASSERT_OK(verify(dir, NULL, 0, &rep));
    ASSERT(rep.n_damage >= 1);
    ASSERT_EQ(rep.damage[0].kind, TRAIL_DAMAGE_CHECKSUM);
    ASSERT_EQ(rep.damage[0].seq, 733);
    ASSERT_EQ(rep.damage[0].seq_last, 733);
    ASSERT_STREQ(rep.damage[0].file, name);
    remove_dir(dir);
}

/* The seq field itself changed (CRC fitted): named exactly. */
TEST(modified_seq_field)
{
    char *dir = new_store(N_EVENTS);
    char name[64];
    ASSERT_OK(flip(dir, 611, 3, 1, name)); /* byte 3: inside the seq */
    struct trail_verify_report rep;
    ASSERT_OK(verify(dir, NULL, 0, &rep));
    ASSERT(rep.n_damage >= 1);
    ASSERT_EQ(rep.damage[0].kind, TRAIL_DAMAGE_MODIFIED);
    ASSERT_EQ(rep.damage[0].seq, 611);
    ASSERT_STREQ(rep.damage[0].file, name);
    remove_dir(dir);
}

TEST(record_removed)
{
    char *dir = new_store(N_EVENTS);
    struct segfile sf;
    ASSERT_OK(seg_load(dir, 455, &sf));
    size_t off = frame_at(&sf, 455);
    frames_remove(&sf, off, frame_size(&sf, off));
    ASSERT_OK(seg_save(&sf));
    struct trail_verify_report rep;
    ASSERT_OK(verify(dir, NULL, 0, &rep));
    ASSERT(rep.n_damage >= 1);
    ASSERT_STREQ(trail_damage_name(rep.damage[0].kind), "removed");
    ASSERT_EQ(rep.damage[0].seq, 455);
    ASSERT_EQ(rep.damage[0].seq_last, 455);
    ASSERT_STREQ(rep.damage[0].file, sf.name);
    seg_free(&sf);
    remove_dir(dir);
}

TEST(record_inserted)
{
    char *dir = new_store(N_EVENTS);
    struct segfile sf;
    /* a forged record 1190 (the open segment), placed before the real one */
    ASSERT_OK(seg_load(dir, 1190, &sf));
    ASSERT(!sf.sealed);
    size_t off = frame_at(&sf, 1190);
    size_t n = frame_size(&sf, off);
    uint8_t *copy = malloc(n);
    memcpy(copy, sf.frames.data + off, n);
    copy[8 + 40] ^= 1;
    put_u32(copy + 4, crc32c(0, copy + 8, get_u32(copy)));
    frames_insert(&sf, off, copy, n);
    free(copy);
    ASSERT_OK(seg_save(&sf));
    struct trail_verify_report rep;
    ASSERT_OK(verify(dir, NULL, 0, &rep));
    ASSERT(rep.n_damage >= 1);
    ASSERT_STREQ(trail_damage_name(rep.damage[0].kind), "inserted");
    ASSERT_EQ(rep.damage[0].seq, 1190);
    ASSERT_STREQ(rep.damage[0].file, sf.name);
    seg_free(&sf);
    remove_dir(dir);
}

TEST(record_duplicated)
{
    char *dir = new_store(N_EVENTS);
    struct segfile sf;
    ASSERT_OK(seg_load(dir, 321, &sf));
    size_t off = frame_at(&sf, 321);
    size_t n = frame_size(&sf, off);
    uint8_t *copy = malloc(n);
    memcpy(copy, sf.frames.data + off, n);
    frames_insert(&sf, off + n, copy, n);
    free(copy);
    ASSERT_OK(seg_save(&sf));
    struct trail_verify_report rep;
    ASSERT_OK(verify(dir, NULL, 0, &rep));
    ASSERT(rep.n_damage >= 1);
    ASSERT_STREQ(trail_damage_name(rep.damage[0].kind), "duplicated");
    ASSERT_EQ(rep.damage[0].seq, 321);
    ASSERT_STREQ(rep.damage[0].file, sf.name);
    seg_free(&sf);
    remove_dir(dir);
}

TEST(records_swapped)
{
    char *dir = new_store(N_EVENTS);
    struct segfile sf;
    ASSERT_OK(seg_load(dir, 702, &sf));
    size_t a = frame_at(&sf, 702), b = frame_at(&sf, 703);
    ASSERT(a != (size_t)-1 && b != (size_t)-1);
    size_t na = frame_size(&sf, a), nb = frame_size(&sf, b);
    uint8_t *tmp = malloc(na + nb);
    memcpy(tmp, sf.frames.data + b, nb);
    memcpy(tmp + nb, sf.frames.data + a, na);
    memcpy(sf.frames.data + a, tmp, na + nb);
    free(tmp);
    ASSERT_OK(seg_save(&sf));
    struct trail_verify_report rep;
    ASSERT_OK(verify(dir, NULL, 0, &rep));
    ASSERT(rep.n_damage >= 1);
    ASSERT_STREQ(trail_damage_name(rep.damage[0].kind), "moved");
    ASSERT_EQ(rep.damage[0].seq, 702);
    ASSERT_STREQ(rep.damage[0].file, sf.name);
    seg_free(&sf);
    remove_dir(dir);
}

TEST(tail_truncated)
{
    char *dir = new_store(N_EVENTS);
    struct segfile sf;
    ASSERT_OK(seg_load(dir, N_EVENTS, &sf));
    ASSERT(!sf.sealed);
    size_t off = frame_at(&sf, N_EVENTS - 4); /* cut at a frame boundary: no torn frame */
    sf.frames.len = off;
    ASSERT_OK(seg_save(&sf));
    struct trail_verify_report rep;
    ASSERT_OK(verify(dir, NULL, 0, &rep));
    ASSERT(rep.n_damage >= 1);
    ASSERT_STREQ(trail_damage_name(rep.damage[0].kind), "truncated");
    ASSERT_EQ(rep.damage[0].seq, N_EVENTS - 4);
    ASSERT_EQ(rep.damage[0].seq_last, N_EVENTS);
    ASSERT_STREQ(rep.damage[0].file, sf.name);
    ASSERT_EQ(rep.last_seq, N_EVENTS - 5);
    seg_free(&sf);
    remove_dir(dir);
}

TEST(segment_removed)
{
    char *dir = new_store(N_EVENTS);
    struct segfile gone, next;
    ASSERT_OK(seg_load(dir, 600, &gone));
    uint64_t last = 0; /* the last seq of the segment removed */
    const uint8_t *p = (const uint8_t *)gone.frames.data;
    for (size_t pos = 0; pos < gone.frames.len; pos += 8 + get_u32(p + pos))
        last = record_seq(p + pos + 8);
    ASSERT_OK(seg_load(dir, last + 1, &next));
    ASSERT_OK(unlink(gone.path));
    struct trail_verify_report rep;
    ASSERT_OK(verify(dir, NULL, 0, &rep));
    ASSERT(rep.n_damage >= 1);
    ASSERT_STREQ(trail_damage_name(rep.damage[0].kind), "segment-missing");
    ASSERT_EQ(rep.damage[0].seq, gone.first_seq);
    ASSERT_EQ(rep.damage[0].seq_last, last);
    ASSERT_STREQ(rep.damage[0].file, next.name);
    seg_free(&gone);
    seg_free(&next);
    remove_dir(dir);
}

TEST(first_segment_removed)
{
    char *dir = new_store(N_EVENTS);
    struct segfile gone;
    ASSERT_OK(seg_load(dir, 1, &gone));
    ASSERT_OK(unlink(gone.path));
    struct trail_verify_report rep;
    ASSERT_OK(verify(dir, NULL, 0, &rep));
    ASSERT(rep.n_damage >= 1);
    ASSERT_STREQ(trail_damage_name(rep.damage[0].kind), "segment-missing");
    ASSERT_EQ(rep.damage[0].seq, 1);
    seg_free(&gone);
    remove_dir(dir);
}

TEST(segment_replaced)
{
    /* two stores made alike: the same seqs land in segments of the same names */
    char *dir = new_store(N_EVENTS);
    char *other = make_dir();
    ASSERT_OK(append(other, 0, N_EVENTS, "evil")); /* as long as "user": the same layout */
    struct segfile ours, theirs;
    ASSERT_OK(seg_load(dir, 400, &ours));
    ASSERT_OK(seg_load(other, 400, &theirs));
    ASSERT_STREQ(ours.name, theirs.name);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", theirs.path, ours.path);
    ASSERT_OK(system(cmd));
    struct trail_verify_report rep;
    ASSERT_OK(verify(dir, NULL, 0, &rep));
    ASSERT(rep.n_damage >= 1);
    ASSERT_STREQ(trail_damage_name(rep.damage[0].kind), "segment-replaced");
    ASSERT_EQ(rep.damage[0].seq, ours.first_seq);
    ASSERT_STREQ(rep.damage[0].file, ours.name);
    ASSERT(strstr(rep.damage[0].message, "another store") != NULL);

    /* the same with its store id patched to ours (and the header CRC made to fit) */
    struct segfile patched;
    ASSERT_OK(seg_load(dir, 400, &patched));
    memcpy(patched.header + 16, ours.header + 16, 16);
    put_u32(patched.header + patched.header_len - 4,
            crc32c(0, patched.header, patched.header_len - 4));
    ASSERT_OK(seg_save(&patched));
    ASSERT_OK(verify(dir, NULL, 0, &rep));
    ASSERT(rep.n_damage >= 1);
    if (rep.damage[0].kind != TRAIL_DAMAGE_SEGMENT_REPLACED)
        dump(&rep);
    ASSERT_STREQ(trail_damage_name(rep.damage[0].kind), "segment-replaced");
    ASSERT_EQ(rep.damage[0].seq, ours.first_seq);
    seg_free(&ours);
    seg_free(&theirs);
    seg_free(&patched);
    remove_dir(other);
    remove_dir(dir);
}

static int latest(const char *dir, struct trail_checkpoint *cp)
{
    struct trail_store *s;
    struct trail_store_opts o = {.read_only = 1};
    int r = trail_store_open(dir, cat, &o, &s, NULL);
    if (r == 0)
        r = trail_store_checkpoint_latest(s, cp);
    trail_store_close(s);
    return r;
}

TEST(rollback_against_external_checkpoint)
{
    char *dir = new_store(800);
    char *copy = make_dir();
    run("cp -a '%s/.' '%s'", dir, copy); /* the attacker's earlier copy */
    ASSERT_OK(append(dir, 800, N_EVENTS, "user"));
    struct trail_checkpoint witness;
    ASSERT_OK(latest(dir, &witness)); /* what a witness kept */
    ASSERT_EQ(witness.tree_size, N_EVENTS);
    /* the attacker puts the earlier copy back */
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'/* && cp -a '%s/.' '%s'", dir, copy, dir);
    ASSERT_OK(system(cmd));
    struct trail_verify_report rep;
    ASSERT_OK(verify(dir, NULL, 0, &rep));
    ASSERT_EQ(rep.n_damage, 0); /* consistent in itself */
    ASSERT_OK(verify(dir, &witness, 1, &rep));
    ASSERT(rep.n_damage >= 1);
    ASSERT_STREQ(trail_damage_name(rep.damage[0].kind), "rollback");
    ASSERT_EQ(rep.damage[0].seq, 801);
    ASSERT_EQ(rep.damage[0].seq_last, N_EVENTS);
    remove_dir(copy);
    remove_dir(dir);
}

TEST(fork_against_external_checkpoint)
{
    char *dir = new_store(800);
    char *fork = make_dir();
    run("cp -a '%s/.' '%s'", dir, fork);
    ASSERT_OK(append(dir, 800, N_EVENTS, "user"));
    ASSERT_OK(append(fork, 800, N_EVENTS, "mallory")); /* other events after 800 */
    struct trail_checkpoint witness, mid;
    ASSERT_OK(latest(dir, &witness));
    ASSERT_OK(latest(fork, &mid));
    ASSERT_EQ(witness.tree_size, mid.tree_size);
    ASSERT(memcmp(witness.root, mid.root, 32) != 0);
    struct trail_verify_report rep;
    ASSERT_OK(verify(fork, NULL, 0, &rep));
    ASSERT_EQ(rep.n_damage, 0); /* re-signed with the key: consistent in itself */
    /* a witness checkpoint from before the fork point still holds */
    struct trail_checkpoint early;
    char path[300];
    snprintf(path, sizeof(path), "%s/checkpoints", dir);
    FILE *f = fopen(path, "r");
    char line[512];
    ASSERT(fgets(line, sizeof(line), f) != NULL); /* the first: size <= 800 */
    fclose(f);
    ASSERT_OK(trail_checkpoint_parse(line, strlen(line), &early));
    ASSERT(early.tree_size <= 800);
    struct trail_checkpoint both[2] = {early, witness};
    ASSERT_OK(verify(fork, both, 2, &rep));
    ASSERT(rep.n_damage >= 1);
    if (rep.damage[0].kind != TRAIL_DAMAGE_FORK)
        dump(&rep);
    ASSERT_STREQ(trail_damage_name(rep.damage[0].kind), "fork");
    ASSERT_EQ(rep.damage[0].seq, early.tree_size + 1);
    ASSERT_EQ(rep.damage[0].seq_last, N_EVENTS);
    remove_dir(fork);
    remove_dir(dir);
}

TEST(checkpoint_bad_signature)
{
    char *dir = new_store(N_EVENTS);
    char path[300];
    snprintf(path, sizeof(path), "%s/checkpoints", dir);
    int fd = open(path, O_RDWR);
    struct stat st;
    fstat(fd, &st);
    char *buf = malloc((size_t)st.st_size);
    ASSERT_EQ(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
    /* the second line's signature: its last base64 digits before "==" */
    char *l2 = strchr(buf, '\n') + 1;
    char *end = strchr(l2, '\n');
    end[-4] = end[-4] == 'A' ? 'B' : 'A';
    ASSERT_EQ(pwrite(fd, buf, (size_t)st.st_size, 0), st.st_size);
    close(fd);
    struct trail_checkpoint c;
    ASSERT_OK(trail_checkpoint_parse(l2, (size_t)(end - l2), &c));
    free(buf);
    struct trail_verify_report rep;
    ASSERT_OK(verify(dir, NULL, 0, &rep));
    ASSERT_EQ(rep.n_damage, 1);
    ASSERT_STREQ(trail_damage_name(rep.damage[0].kind), "bad-signature");
    ASSERT_STREQ(rep.damage[0].file, "checkpoints");
    ASSERT_EQ(rep.damage[0].seq, c.tree_size);
    ASSERT(strstr(rep.damage[0].message, "line 2") != NULL);
    ASSERT_EQ(rep.signatures, rep.checkpoints - 1);
    remove_dir(dir);
}

/* verify() with every record required to be under a checkpoint signed by the key */
static int verify_signed(const char *dir, const struct trail_checkpoint *ext, size_t n_ext,
                         uint64_t allow_tail, struct trail_verify_report *rep)
{
    const struct trail_key *keys[] = {key};
    struct trail_verify_opts o = {.keys = keys,
                                  .n_keys = 1,
                                  .checkpoints = ext,
                                  .n_checkpoints = n_ext,
                                  .require_signed = 1,
                                  .allow_unsigned_tail = allow_tail};
    return trail_verify_store(dir, &o, rep);
}

/* The line of DIR/checkpoints of the given size (a witness's copy of it). */
static int checkpoint_of_size(const char *dir, uint64_t size, struct trail_checkpoint *cp)
{
    char path[300], line[512];
    snprintf(path, sizeof(path), "%s/checkpoints", dir);
    FILE *f = fopen(path, "r");
    int r = -1;
    while (f && r < 0 && fgets(line, sizeof(line), f))
        if (trail_checkpoint_parse(line, strlen(line), cp) == 0 && cp->tree_size == size)
            r = 0;
    if (f)
        fclose(f);
    return r;
}

static char *copy_store(const char *dir)
{
    char *copy = make_dir();
    run("cp -a '%s/.' '%s'", dir, copy);
    return copy;
}

/*
 * The attacker of docs/integrity.md §8 (tests/attacker.h) rewrites record 500
 * and recomputes every CRC, block, index, trailer, header and tree.roots, so
 * the store is consistent in itself; the structure and hashes alone pass it.
 * What catches them is only what is signed: without the key they must delete
 * the checkpoints the change contradicts, and records no signature covers are
 * "unsigned"; with the key they re-sign, and only a checkpoint kept outside
 * the store (a witness's) still tells.
 */
TEST(hashes_rewritten_caught_by_checkpoint)
{
    char *pristine = new_store(N_EVENTS); /* checkpoints at 400, 800 and 1200 */
    struct trail_checkpoint early, newest;
    ASSERT_OK(checkpoint_of_size(pristine, 800, &early)); /* what a witness kept */
    ASSERT_OK(checkpoint_of_size(pristine, N_EVENTS, &newest));
    struct trail_verify_report rep;

    /* without the key: record 500 rewritten, DIR/checkpoints deleted */
    char *dir = copy_store(pristine);
    ASSERT_OK(atk_rewrite(dir, 500, UINT64_MAX, NULL));
    char path[300];
    snprintf(path, sizeof(path), "%s/checkpoints", dir);
    ASSERT_OK(unlink(path));
    ASSERT_OK(verify(dir, NULL, 0, &rep)); /* hashes, trailers, tree.roots all agree */
    if (rep.n_damage)
        dump(&rep);
    ASSERT_EQ(rep.n_damage, 0);
    ASSERT(memcmp(rep.root, newest.root, 32) != 0); /* and yet it is another tree */
    ASSERT_EQ(rep.signed_checkpoints, 0);
    ASSERT_OK(verify_signed(dir, NULL, 0, 0, &rep));
    ASSERT_EQ(rep.n_damage, 1);
    ASSERT_STREQ(trail_damage_name(rep.damage[0].kind), "unsigned");
    ASSERT_EQ(rep.damage[0].seq, 1);
    ASSERT_EQ(rep.damage[0].seq_last, N_EVENTS);
    ASSERT_OK(verify_signed(dir, NULL, 0, 100000, &rep)); /* no tail makes up for nothing */
    ASSERT_EQ(rep.n_damage, 1);
    ASSERT_OK(verify_signed(dir, &early, 1, 0, &rep));
    ASSERT(rep.n_damage >= 1);
    ASSERT_STREQ(trail_damage_name(rep.damage[0].kind), "fork");
    ASSERT(rep.damage[0].seq <= 500 && 500 <= rep.damage[0].seq_last);
    remove_dir(dir);

    /* without the key, leaving the checkpoints: they no longer hold */
    dir = copy_store(pristine);
    ASSERT_OK(atk_rewrite(dir, 500, UINT64_MAX, NULL));
    ASSERT_OK(verify(dir, NULL, 0, &rep));
    ASSERT(rep.n_damage >= 1);
    ASSERT_STREQ(trail_damage_name(rep.damage[0].kind), "modified");
    /* with the headers rewritten too, only the checkpoint at 800 that no longer holds tells:
       something at or before it changed (docs/integrity.md §10) */
    ASSERT(500 <= rep.damage[0].seq_last && rep.damage[0].seq_last <= 800);
    remove_dir(dir);

    /* with the key: every checkpoint signed again over the new tree */
    dir = copy_store(pristine);
    ASSERT_OK(atk_rewrite(dir, 500, UINT64_MAX, key));
    ASSERT_OK(verify_signed(dir, NULL, 0, 0, &rep));
    ASSERT_EQ(rep.n_damage, 0); /* the boundary: the store's own checkpoints cannot tell */
    ASSERT_EQ(rep.signed_size, N_EVENTS);
    ASSERT_EQ(rep.witnessed_size, 0);
    ASSERT_OK(verify_signed(dir, &early, 1, 0, &rep));
    ASSERT(rep.n_damage >= 1);
    ASSERT_STREQ(trail_damage_name(rep.damage[0].kind), "fork");
    ASSERT(rep.damage[0].seq <= 500 && 500 <= rep.damage[0].seq_last);
    remove_dir(dir);

    /* the last 100 records cut, with their tree.roots entries and checkpoint lines */
    dir = copy_store(pristine);
    ASSERT_OK(atk_rewrite(dir, 0, N_EVENTS - 100, NULL));
    ASSERT_OK(verify(dir, NULL, 0, &rep));
    ASSERT_EQ(rep.n_damage, 0);
    ASSERT_EQ(rep.last_seq, N_EVENTS - 100);
    ASSERT_OK(verify_signed(dir, NULL, 0, 0, &rep));
    ASSERT_EQ(rep.n_damage, 1);
    ASSERT_STREQ(trail_damage_name(rep.damage[0].kind), "unsigned");
    ASSERT_EQ(rep.damage[0].seq, 801);
    ASSERT_EQ(rep.damage[0].seq_last, N_EVENTS - 100);
    ASSERT_OK(verify_signed(dir, NULL, 0, 300, &rep)); /* accepted, and said so */
    ASSERT_EQ(rep.n_damage, 0);
    ASSERT(strstr(rep.notes, "records 801..1100 (300) are after the last signed checkpoint") !=
           NULL);
    ASSERT_OK(verify_signed(dir, NULL, 0, 299, &rep));
    ASSERT_EQ(rep.n_damage, 1);
    ASSERT_OK(verify_signed(dir, &newest, 1, 300, &rep));
    ASSERT_EQ(rep.n_damage, 1);
    ASSERT_STREQ(trail_damage_name(rep.damage[0].kind), "rollback");
    ASSERT_EQ(rep.damage[0].seq, N_EVENTS - 99);
    remove_dir(dir);

    /* the untouched store: everything signed, the witness's checkpoint holds */
    ASSERT_OK(verify_signed(pristine, &early, 1, 0, &rep));
    ASSERT_EQ(rep.n_damage, 0);
    ASSERT_EQ(rep.signed_size, N_EVENTS);
    ASSERT_EQ(rep.witnessed_size, 800);
    ASSERT_EQ(rep.witnessed_time_us, early.time_us);
    remove_dir(pristine);
}

/* A sealed segment's trailer changed (its CRC made to fit), its records intact. */
TEST(trailer_changed)
{
    char *dir = new_store(N_EVENTS);
    struct segfile sf;
    ASSERT_OK(seg_load(dir, 300, &sf));
    ASSERT(sf.sealed);
    sf.trailer_chain[7] ^= 1;
    ASSERT_OK(seg_save(&sf));
    struct trail_verify_report rep;
    ASSERT_OK(verify(dir, NULL, 0, &rep));
    ASSERT_EQ(rep.n_damage, 1);
    ASSERT_STREQ(trail_damage_name(rep.damage[0].kind), "side-file");
    ASSERT_STREQ(rep.damage[0].file, sf.name);
    ASSERT(strstr(rep.damage[0].message, "trailer") != NULL);
    seg_free(&sf);
    remove_dir(dir);
}

TEST(tree_roots_changed)
{
    char *dir = new_store(N_EVENTS);
    char path[300];
    snprintf(path, sizeof(path), "%s/tree.roots", dir);
    int fd = open(path, O_RDWR);
    uint8_t b;
    ASSERT_EQ(pread(fd, &b, 1, 64 + 32 + 5), 1); /* group 1 */
    b ^= 1;
    ASSERT_EQ(pwrite(fd, &b, 1, 64 + 32 + 5), 1);
    close(fd);
    struct trail_verify_report rep;
    ASSERT_OK(verify(dir, NULL, 0, &rep));
    ASSERT(rep.n_damage >= 1);
    if (rep.damage[0].kind != TRAIL_DAMAGE_SIDE_FILE)
        dump(&rep);
    ASSERT_STREQ(trail_damage_name(rep.damage[0].kind), "side-file");
    ASSERT_EQ(rep.damage[0].seq, 257);
    ASSERT_STREQ(rep.damage[0].file, "tree.roots");
    remove_dir(dir);
}

/* A writer appending all the while: every verify of the live store holds. */
static int live_done; /* atomic */
static void *live_writer(void *arg)
{
    struct trail_store *s = arg;
    for (int i = 0; i < 6000; i += 20) {
        struct trail_event *evs[20];
        for (int k = 0; k < 20; k++)
            evs[k] = make_event(i + k, "live");
        uint64_t last;
        int r = trail_store_append(s, evs, 20, &last);
        for (int k = 0; k < 20; k++)
            trail_event_free(evs[k]);
        if (r < 0)
            break;
        usleep(1000); /* segments roll and seal while verify reads */
    }
    __atomic_store_n(&live_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

TEST(live_store_verifies)
{
    char *dir = make_dir();
    struct trail_store *s;
    struct trail_store_opts o = store_opts();
    o.checkpoint_every_events = 150;
    o.fsync_interval_ms = 2;
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, NULL));
    pthread_t t;
    __atomic_store_n(&live_done, 0, __ATOMIC_RELEASE);
    ASSERT_OK(pthread_create(&t, NULL, live_writer, s));
    int runs = 0, bad = 0;
    while (!__atomic_load_n(&live_done, __ATOMIC_ACQUIRE) || runs < 5) {
        struct trail_verify_report rep;
        if (verify(dir, NULL, 0, &rep) < 0 || rep.n_damage) {
            if (!bad)
                dump(&rep);
            bad++;
        }
        runs++;
    }
    pthread_join(t, NULL);
    ASSERT_OK(trail_store_close(s));
    ASSERT_EQ(bad, 0);
    ASSERT(runs >= 5);
    struct trail_verify_report rep;
    ASSERT_OK(verify(dir, NULL, 0, &rep));
    ASSERT_EQ(rep.n_damage, 0);
    ASSERT_EQ(rep.last_seq, 6000);
    remove_dir(dir);
}

TEST(no_store)
{
    char *dir = make_dir();
    struct trail_verify_report rep;
    ASSERT_EQ(verify(dir, NULL, 0, &rep), TRAIL_E_NOT_FOUND);
    ASSERT_EQ(verify("/nonexistent/trail", NULL, 0, &rep), TRAIL_E_NOT_FOUND);
    remove_dir(dir);
}

/* ---- the checkpoints the store writes ---- */

static size_t count_lines(const char *dir)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/checkpoints", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = 0;
    int c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static int fault_op; /* atomic: the operation to fail with -ENOSPC, 0 none */
static int fault_cb(void *arg, int op, int fd)
{
    (void)arg;
    (void)fd;
    return __atomic_load_n(&fault_op, __ATOMIC_SEQ_CST) == op ? -ENOSPC : 0;
}

TEST(store_writes_checkpoints)
{
    char *dir = make_dir();
    struct trail_store *s;
    struct trail_store_opts o = store_opts();
    o.checkpoint_every_events = 100;
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, NULL));
    struct trail_checkpoint cp;
    ASSERT_EQ(trail_store_checkpoint_latest(s, &cp), TRAIL_E_NOT_FOUND);
    for (int i = 0; i < 500; i += 50) {
        struct trail_event *evs[50];
        for (int k = 0; k < 50; k++)
            evs[k] = make_event(i + k, "u");
        uint64_t last;
        ASSERT_OK(trail_store_append(s, evs, 50, &last));
        ASSERT_OK(trail_store_wait(s, last));
        for (int k = 0; k < 50; k++)
            trail_event_free(evs[k]);
    }
    /* signing now; and again with nothing new writes nothing */
    ASSERT_OK(trail_store_checkpoint_now(s, &cp));
    ASSERT_EQ(cp.tree_size, 500);
    size_t lines = count_lines(dir);
    ASSERT(lines >= 2);
    struct trail_checkpoint again;
    ASSERT_OK(trail_store_checkpoint_now(s, &again));
    ASSERT_EQ(count_lines(dir), lines);
    ASSERT_MEMEQ(&again, &cp, sizeof(cp));
    ASSERT_OK(trail_store_close(s));
    ASSERT_EQ(count_lines(dir), lines); /* close: already signed */

    /* the origin is the store id; the signature verifies */
    uint8_t id[16];
    char hex[33];
    o.read_only = 1;
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, NULL));
    trail_store_id(s, id);
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", id[i]);
    ASSERT_OK(trail_store_checkpoint_latest(s, &cp));
    ASSERT_STREQ(cp.origin, hex);
    ASSERT_OK(trail_checkpoint_verify(&cp, key));
    ASSERT_EQ(trail_store_checkpoint_now(s, &cp), TRAIL_E_READONLY);
    trail_store_close(s);

    /* a torn last line (a crash mid-write) is cut by the next writer, ignored by verify */
    char path[300];
    snprintf(path, sizeof(path), "%s/checkpoints", dir);
    FILE *f = fopen(path, "a");
    fputs("trail-checkpoint/1 abc 12", f);
    fclose(f);
    struct trail_verify_report rep;
    ASSERT_OK(verify(dir, NULL, 0, &rep));
    ASSERT_EQ(rep.n_damage, 0);
    ASSERT(strstr(rep.notes, "unfinished last line") != NULL);
    o.read_only = 0;
    struct trail_store_report srep;
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, &srep));
    ASSERT(strstr(srep.message, "checkpoints: unfinished last line") != NULL);
    trail_store_close(s);
    ASSERT_EQ(count_lines(dir), lines);

    /* without a key nothing is signed; DIR/checkpoint.key is picked up */
    o.checkpoint_key = NULL;
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, NULL));
    ASSERT_EQ(trail_store_checkpoint_now(s, &cp), TRAIL_E_NOT_FOUND);
    trail_store_close(s);
    char priv[300], pub[300];
    snprintf(priv, sizeof(priv), "%s/checkpoint.key", dir);
    snprintf(pub, sizeof(pub), "%s/checkpoint.pub", dir);
    struct trail_key *k2;
    ASSERT_OK(trail_key_generate(priv, pub, &k2));
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, NULL));
    ASSERT_OK(trail_store_checkpoint_now(s, &cp));
    ASSERT_EQ(trail_checkpoint_signed_by(&cp, k2), 1);
    ASSERT_EQ(cp.legacy, 0);
    trail_store_close(s);
    /* a failed write or sync leaves no half line behind, and says why */
    o.fault = fault_cb;
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, NULL));
    struct trail_event *ev = make_event(9999, "u");
    uint64_t seq;
    ASSERT_OK(trail_store_append(s, &ev, 1, &seq));
    ASSERT_OK(trail_store_wait(s, seq));
    trail_event_free(ev);
    size_t before = count_lines(dir);
    for (int op = TRAIL_STORE_OP_WRITE; op <= TRAIL_STORE_OP_SYNC; op++) {
        __atomic_store_n(&fault_op, op, __ATOMIC_SEQ_CST);
        ASSERT_EQ(trail_store_checkpoint_now(s, &cp), -ENOSPC);
        __atomic_store_n(&fault_op, 0, __ATOMIC_SEQ_CST);
        ASSERT_EQ(count_lines(dir), before);
    }
    ASSERT_OK(trail_store_checkpoint_now(s, &cp));
    ASSERT_EQ(count_lines(dir), before + 1);
    ASSERT_OK(trail_store_close(s));
    o.fault = NULL;
    const struct trail_key *both[] = {key, k2}; /* DIR/checkpoint.key signed the last ones */
    struct trail_verify_opts vo = {.keys = both, .n_keys = 2};
    ASSERT_OK(trail_verify_store(dir, &vo, &rep));
    if (rep.n_damage)
        dump(&rep);
    ASSERT_EQ(rep.n_damage, 0);
    ASSERT_EQ(rep.signatures, rep.checkpoints);

    /* a bad key path fails the open */
    o.checkpoint_key_path = "/nonexistent/key";
    ASSERT(trail_store_open(dir, cat, &o, &s, NULL) < 0);
    trail_key_free(k2);
    remove_dir(dir);
}

/* ---- proofs from a store ---- */

TEST(inclusion_proofs_every_seq)
{
    char *dir = new_store(600);
    struct trail_store *s;
    struct trail_store_opts o = {.read_only = 1};
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, NULL));
    struct trail_checkpoint cp;
    ASSERT_OK(trail_store_checkpoint_latest(s, &cp));
    ASSERT_EQ(cp.tree_size, 600);
    struct trail_store_iter *it;
    ASSERT_OK(trail_store_iter_new(s, TRAIL_ITER_FORWARD, &it));
    const uint8_t *rec;
    size_t len;
    uint64_t seq;
    uint64_t n = 0;
    while (trail_store_iter_next_raw(it, &rec, &len, &seq) == 1) {
        struct trail_proof p;
        uint8_t leaf[32];
        ASSERT_OK(trail_proof_inclusion(seq - 1, cp.tree_size, trail_store_subtree_hash, s, &p));
        ASSERT_OK(trail_hash_leaf(rec, len, leaf));
        ASSERT_MEMEQ(leaf, p.leaf_hash, 32);
        ASSERT_OK(trail_proof_verify_inclusion(&p, leaf, cp.root));
        n++;
    }
    ASSERT_EQ(n, 600);
    trail_store_iter_free(it);
    trail_store_close(s);
    remove_dir(dir);
}

/* ---- retention ---- */

static int all_checkpoints(const char *dir, struct trail_checkpoint **ret, size_t *ret_n)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/checkpoints", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[512];
    size_t n = 0;
    struct trail_checkpoint *cps = NULL;
    while (fgets(line, sizeof(line), f)) {
        cps = realloc(cps, (n + 1) * sizeof(*cps));
        if (trail_checkpoint_parse(line, strlen(line), &cps[n]) < 0) {
            fclose(f);
            return -1;
        }
        n++;
    }
    fclose(f);
    *ret = cps;
    *ret_n = n;
    return 0;
}

/* ---- the time of each seal (journald's CVE-2023-31439) ---- */

#define T0 1764000000000000LL /* 2025-11-24: the crafted times, whatever the day the test runs */

/* Sign every checkpoint of DIR/checkpoints again with the store's key at times[i]: what a
   holder of the key does with a clock set back or ahead. */
static int resign_at(const char *dir, const int64_t *times, size_t n)
{
    struct trail_checkpoint *cps;
    size_t have;
    char path[300];
    if (all_checkpoints(dir, &cps, &have) < 0 || have != n)
        return -1;
    snprintf(path, sizeof(path), "%s/checkpoints", dir);
    FILE *f = fopen(path, "w");
    int r = f ? 0 : -1;
    for (size_t i = 0; i < n && r == 0; i++) {
        struct trail_buf line = {0};
        cps[i].time_us = times[i];
        if (trail_checkpoint_sign(&cps[i], key) < 0 || trail_checkpoint_format(&cps[i], &line) < 0)
            r = -1;
        else
            fprintf(f, "%.*s\n", (int)line.len, line.data);
        trail_buf_free(&line);
    }
    if (f && fclose(f) != 0)
        r = -1;
    free(cps);
    return r;
}

static int verify_at(const char *dir, int64_t now_us, int64_t tolerance_us,
                     struct trail_verify_report *rep)
{
    const struct trail_key *keys[] = {key};
    struct trail_verify_opts o = {
        .keys = keys, .n_keys = 1, .time_tolerance_us = tolerance_us, .now_us = now_us};
    return trail_verify_store(dir, &o, rep);
}

/* A seal of a larger tree dated an hour before the seal of a smaller one is reported, with
   both named; a step back of two minutes (an honest clock stepped by NTP) is not. Before,
   the times were signed but never compared: the store verified. */
TEST(checkpoint_times_go_backwards)
{
    char *dir = new_store(2 * N_EVENTS);
    struct trail_checkpoint *cps;
    size_t n;
    ASSERT_OK(all_checkpoints(dir, &cps, &n));
    ASSERT(n >= 5);
    int64_t *times = calloc(n, sizeof(*times));
    for (size_t i = 0; i < n; i++)
        times[i] = T0 + (int64_t)i * 600000000LL; /* every ten minutes */
    times[1] = T0 - 120000000LL;                  /* two minutes before line 1: tolerated */
    times[n - 2] = times[n - 3] - 3600000000LL;   /* an hour before the one before it */
    ASSERT_OK(resign_at(dir, times, n));
    struct trail_verify_report rep;
    ASSERT_OK(verify_at(dir, T0 + 86400000000LL, 0, &rep));
    if (rep.n_damage != 1)
        dump(&rep);
    ASSERT_EQ(rep.n_damage, 1);
    ASSERT_STREQ(trail_damage_name(rep.damage[0].kind), "checkpoint-time");
    ASSERT_EQ(rep.damage[0].seq, cps[n - 2].tree_size);
    ASSERT_STREQ(rep.damage[0].file, "checkpoints");
    char want[64];
    snprintf(want, sizeof(want), "checkpoints line %zu (size %" PRIu64 ")", n - 1,
             cps[n - 2].tree_size);
    ASSERT(strstr(rep.damage[0].message, want) != NULL);
    ASSERT(strstr(rep.damage[0].message, "goes backwards") != NULL);
    snprintf(want, sizeof(want), "before checkpoints line %zu", n - 2);
    ASSERT(strstr(rep.damage[0].message, want) != NULL);
    /* the signatures hold: it is the time alone */
    ASSERT_EQ(rep.signatures, n);
    /* a tolerance of two hours takes the hour; 'off' checks no time */
    ASSERT_OK(verify_at(dir, T0 + 86400000000LL, 7200000000LL, &rep));
    ASSERT_EQ(rep.n_damage, 0);
    ASSERT_OK(verify_at(dir, T0 + 86400000000LL, -1, &rep));
    ASSERT_EQ(rep.n_damage, 0);
    free(times);
    free(cps);
    remove_dir(dir);
}

/* A seal dated an hour after the verifier's clock is reported, and is not the measure of
   the seals after it (dated in order before it, they are not "backwards"). */
TEST(checkpoint_in_the_future)
{
    char *dir = new_store(N_EVENTS);
    struct trail_checkpoint *cps;
    size_t n;
    ASSERT_OK(all_checkpoints(dir, &cps, &n));
    ASSERT(n >= 3);
    int64_t now = T0 + 86400000000LL;
    int64_t *times = calloc(n, sizeof(*times));
    for (size_t i = 0; i < n; i++)
        times[i] = now - (int64_t)(n - i) * 600000000LL; /* every ten minutes until now */
    times[1] = now + 3600000000LL;
    ASSERT_OK(resign_at(dir, times, n));
    struct trail_verify_report rep;
    ASSERT_OK(verify_at(dir, now, 0, &rep));
    if (rep.n_damage != 1)
        dump(&rep);
    ASSERT_EQ(rep.n_damage, 1);
    ASSERT_STREQ(trail_damage_name(rep.damage[0].kind), "checkpoint-time");
    ASSERT_EQ(rep.damage[0].seq, cps[1].tree_size);
    ASSERT(strstr(rep.damage[0].message, "checkpoints line 2 ") != NULL);
    ASSERT(strstr(rep.damage[0].message, "in the future") != NULL);
    ASSERT(strstr(rep.damage[0].message, "300 s of clock skew") != NULL);
    /* the last four minutes ahead: within the default five */
    times[1] = now - (int64_t)(n - 1) * 600000000LL;
    times[n - 1] = now + 240000000LL;
    ASSERT_OK(resign_at(dir, times, n));
    ASSERT_OK(verify_at(dir, now, 0, &rep));
    ASSERT_EQ(rep.n_damage, 0);
    free(times);
    free(cps);
    remove_dir(dir);
}

TEST(purged_three_times)
{
    char *dir = make_dir();
    int next = 0;
    uint64_t purged_to = 0;
    for (int round = 0; round < 3; round++) {
        ASSERT_OK(append(dir, next, next + 700, "user"));
        next += 700;
        struct trail_store *s;
        struct trail_store_opts o = store_opts();
        o.create = 0;
        ASSERT_OK(trail_store_open(dir, cat, &o, &s, NULL));
        sealed_wait(s);
        struct trail_store_purge_report pr;
        /* by size: down to about a third (the purge record itself is new, so not by age) */
        struct trail_store_stats st;
        ASSERT_OK(trail_store_stats(s, &st));
        ASSERT_OK(trail_store_purge(s, 0, st.segment_bytes / 3, &pr));
        ASSERT(pr.segments >= 1);
        ASSERT(pr.to_seq > purged_to);
        purged_to = pr.to_seq;
        ASSERT_OK(trail_store_close(s));
        struct trail_verify_report rep;
        ASSERT_OK(verify(dir, NULL, 0, &rep));
        if (rep.n_damage)
            dump(&rep);
        ASSERT_EQ(rep.n_damage, 0);
        ASSERT_EQ(rep.first_seq, purged_to + 1);
        ASSERT(rep.purges >= 1); /* the latest purge record at least (older ones go too) */
        ASSERT(strstr(rep.notes, "starts after a purge") != NULL);
    }
    /* one more batch so that the latest checkpoint is after every purge */
    ASSERT_OK(append(dir, next, next + 100, "user"));
    struct trail_verify_report rep;
    ASSERT_OK(verify(dir, NULL, 0, &rep));
    ASSERT_EQ(rep.n_damage, 0);
    ASSERT(rep.checked >= 3); /* checkpoints before the purges recomputed from the side files */

    /* consistency proofs from every checkpoint to the latest, across the purges */
    struct trail_checkpoint *cps;
    size_t n;
    ASSERT_OK(all_checkpoints(dir, &cps, &n));
    ASSERT(n >= 6);
    struct trail_store *s;
    struct trail_store_opts o = {.read_only = 1};
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, NULL));
    const struct trail_checkpoint *to = &cps[n - 1];
    size_t before_purge = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        struct trail_proof p;
        int r = trail_proof_consistency(cps[i].tree_size, to->tree_size, trail_store_subtree_hash,
                                        s, &p);
        if (r < 0)
            fprintf(stderr, "  from size %" PRIu64 ": %s\n", cps[i].tree_size, trail_strerror(r));
        ASSERT_OK(r);
        ASSERT_OK(trail_proof_verify_consistency(&p, cps[i].root, to->root));
        if (cps[i].tree_size <= purged_to)
            before_purge++;
    }
    ASSERT(before_purge >= 2);
    /* a record kept still has its inclusion proof */
    struct trail_proof p;
    ASSERT_OK(trail_proof_inclusion(purged_to, to->tree_size, trail_store_subtree_hash, s, &p));
    ASSERT_OK(trail_proof_verify_inclusion(&p, p.leaf_hash, to->root));
    trail_store_close(s);
    free(cps);
    if (getenv("TRAIL_TEST_KEEP"))
        run("cp -a '%s' '%s'", dir, getenv("TRAIL_TEST_KEEP"));

    /* and what a purge leaves cannot be rewritten either: the anchor is checked */
    char path[300];
    snprintf(path, sizeof(path), "%s/tree.roots", dir);
    int fd = open(path, O_RDWR);
    uint8_t b;
    ASSERT_EQ(pread(fd, &b, 1, 64 + 3), 1); /* group 0: purged long ago */
    b ^= 1;
    ASSERT_EQ(pwrite(fd, &b, 1, 64 + 3), 1);
    close(fd);
    ASSERT_OK(verify(dir, NULL, 0, &rep));
    ASSERT(rep.n_damage >= 1);
    ASSERT_EQ(rep.damage[0].kind, TRAIL_DAMAGE_SIDE_FILE);
    remove_dir(dir);
}

TEST_MAIN(clean_store_verifies, modified_byte_sealed, modified_byte_open, modified_byte_crc_left,
          modified_seq_field, record_removed, record_inserted, record_duplicated, records_swapped,
          tail_truncated, segment_removed, first_segment_removed, segment_replaced,
          rollback_against_external_checkpoint, fork_against_external_checkpoint,
          checkpoint_bad_signature, hashes_rewritten_caught_by_checkpoint, trailer_changed,
          tree_roots_changed, live_store_verifies, no_store, store_writes_checkpoints,
          inclusion_proofs_every_seq, checkpoint_times_go_backwards, checkpoint_in_the_future,
          purged_three_times)
