/*
 * test_c2sp_store.c - a store's side of the C2SP formats: its origin
 * (lib/store/store_origin.c), checkpoints of trail before C2SP still
 * verifying beside the new ones, the tlog-tiles paths (lib/integrity/tiles.c)
 * and the tiles and entry bundles built from the store (lib/store/store_tiles.c),
 * checked against the store's own leaves and subtree hashes.
 *
 * Not for: the note's bytes (test_checkpoint.c, with a known answer from Go),
 * an independent verifier (integration/c2sp_interop.sh).
 */
#include "harness.h"
#include "store/record.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static struct trail_catalog *cat;
static struct trail_key *key;
static char base[64];
static int n_dirs;

static char *make_dir(void)
{
    char *d = malloc(128);
    snprintf(d, 128, "%s/s%d", base, n_dirs++);
    return d;
}

static int append(struct trail_store *s, int from, int n)
{
    uint64_t last = 0;
    for (int i = from; i < from + n; i++) {
        struct trail_event *ev;
        char buf[64];
        if (trail_event_new(cat, "auth_entrypoints_oidc_logout", &ev) < 0)
            return -ENOMEM;
        trail_event_set_host(ev, "idp-node1", (size_t)-1);
        snprintf(buf, sizeof(buf), "user%d@example.org", i);
        trail_event_set_string(ev, "duser", buf, (size_t)-1);
        trail_event_set_time(ev, 1764000000000000LL + (int64_t)i * 1000);
        int r = trail_store_append(s, &ev, 1, &last);
        trail_event_free(ev);
        if (r < 0)
            return r;
    }
    return trail_store_wait(s, last);
}

static int count_lines(const char *dir, const char *prefix)
{
    char path[300], line[1024];
    int n = 0;
    snprintf(path, sizeof(path), "%s/checkpoints", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        n += strncmp(line, prefix, strlen(prefix)) == 0;
    fclose(f);
    return n;
}

TEST(setup)
{
    snprintf(base, sizeof(base), "/tmp/trail-test-c2sp-XXXXXX");
    ASSERT(mkdtemp(base) != NULL);
    ASSERT_OK(trail_catalog_new(&cat));
    ASSERT_OK(trail_key_generate(NULL, NULL, &key));
}

/* A store of trail before C2SP: trail-checkpoint/1 lines keep verifying, and the next writer
   signs a C2SP line at the same size. */
TEST(legacy_checkpoints_still_verify)
{
    char *dir = make_dir();
    struct trail_store_opts o = {.create = 1};
    struct trail_store *s;
    struct trail_store_state st;
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, NULL));
    ASSERT_OK(append(s, 0, 300));
    ASSERT_OK(trail_store_state(s, &st));
    uint8_t id[16];
    char hex[33];
    trail_store_id(s, id);
    ASSERT_OK(trail_store_close(s));
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", id[i]);

    /* the line a writer of before would have written */
    struct trail_checkpoint old = {.tree_size = st.tree_size, .time_us = st.time_us, .legacy = 1};
    memcpy(old.origin, hex, 33);
    memcpy(old.root, st.root, TRAIL_HASH_LEN);
    memcpy(old.chain, st.chain, TRAIL_HASH_LEN);
    ASSERT_OK(trail_checkpoint_sign(&old, key));
    ASSERT_STREQ(old.key_id, trail_key_id(key));
    struct trail_buf line = {0};
    ASSERT_OK(trail_checkpoint_format(&old, &line));
    ASSERT(strncmp(line.data, "trail-checkpoint/1 ", 19) == 0);
    ASSERT_OK(trail_buf_append(&line, "\n", 1));
    char path[300];
    snprintf(path, sizeof(path), "%s/checkpoints", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0640);
    ASSERT(fd >= 0);
    ASSERT_EQ(write(fd, line.data, line.len), (ssize_t)line.len);
    close(fd);

    /* a writer with the key: a C2SP checkpoint at the same size, named by the store id */
    o.checkpoint_key = key;
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, NULL));
    struct trail_checkpoint now;
    ASSERT_OK(trail_store_checkpoint_now(s, &now));
    ASSERT_EQ(now.legacy, 0);
    ASSERT_EQ(now.tree_size, st.tree_size);
    ASSERT_STREQ(now.origin, hex);
    char origin[TRAIL_ORIGIN_MAX + 1];
    ASSERT_OK(trail_store_origin(s, origin));
    ASSERT_STREQ(origin, hex);
    ASSERT_OK(trail_store_close(s));
    ASSERT_EQ(count_lines(dir, "trail-checkpoint/1 "), 1);
    ASSERT_EQ(count_lines(dir, "trail-checkpoint/2 "), 1);

    /* both verify, and the old line given as a witness's copy too */
    const struct trail_key *keys[] = {key};
    struct trail_verify_opts vo = {
        .keys = keys, .n_keys = 1, .checkpoints = &old, .n_checkpoints = 1};
    struct trail_verify_report rep;
    ASSERT_OK(trail_verify_store(dir, &vo, &rep));
    ASSERT_EQ(rep.n_damage, 0);
    ASSERT_EQ(rep.checkpoints, 2);
    ASSERT_EQ(rep.signatures, 3);
    trail_buf_free(&line);
    free(dir);
}

TEST(origin_chosen_at_creation)
{
    char *dir = make_dir();
    struct trail_store_opts o = {.create = 1, .checkpoint_key = key, .origin = "audit.example/idp"};
    struct trail_store *s;
    struct trail_store_report rep;
    struct trail_checkpoint cp;
    char origin[TRAIL_ORIGIN_MAX + 1];
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, NULL));
    ASSERT_OK(append(s, 0, 10));
    ASSERT_OK(trail_store_checkpoint_now(s, &cp));
    ASSERT_STREQ(cp.origin, "audit.example/idp");
    ASSERT_OK(trail_store_close(s));

    /* kept: a reader, and a writer without the option, see it */
    o.origin = NULL;
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, NULL));
    ASSERT_OK(trail_store_origin(s, origin));
    ASSERT_STREQ(origin, "audit.example/idp");
    ASSERT_OK(trail_store_close(s));
    struct trail_store_opts ro = {.read_only = 1};
    ASSERT_OK(trail_store_open(dir, cat, &ro, &s, NULL));
    ASSERT_OK(trail_store_origin(s, origin));
    ASSERT_STREQ(origin, "audit.example/idp");
    ASSERT_OK(trail_store_close(s));

    /* another one is refused, and says why */
    o.origin = "other.example/idp";
    ASSERT_EQ(trail_store_open(dir, cat, &o, &s, &rep), -EINVAL);
    ASSERT(strstr(rep.message, "cannot replace") != NULL);
    o.origin = "bad origin";
    ASSERT_EQ(trail_store_open(dir, cat, &o, &s, &rep), -EINVAL);

    /* verify knows the store by it */
    const struct trail_key *keys[] = {key};
    struct trail_verify_opts vo = {
        .keys = keys, .n_keys = 1, .checkpoints = &cp, .n_checkpoints = 1};
    struct trail_verify_report vr;
    ASSERT_OK(trail_verify_store(dir, &vo, &vr));
    ASSERT_EQ(vr.n_damage, 0);
    /* ... and a checkpoint naming another origin is another store's */
    struct trail_checkpoint other = cp;
    strcpy(other.origin, "other.example/idp");
    ASSERT_OK(trail_checkpoint_sign(&other, key));
    vo.checkpoints = &other;
    ASSERT_OK(trail_verify_store(dir, &vo, &vr));
    ASSERT_EQ(vr.n_damage, 1);
    ASSERT_EQ(vr.damage[0].kind, TRAIL_DAMAGE_FORK);

    /* a store signed under its id cannot take a name afterwards */
    char *dir2 = make_dir();
    struct trail_store_opts o2 = {.create = 1, .checkpoint_key = key};
    ASSERT_OK(trail_store_open(dir2, cat, &o2, &s, NULL));
    ASSERT_OK(append(s, 0, 3));
    ASSERT_OK(trail_store_close(s)); /* signs at close */
    o2.origin = "late.example";
    ASSERT_EQ(trail_store_open(dir2, cat, &o2, &s, &rep), -EINVAL);
    free(dir);
    free(dir2);
}

TEST(tile_paths)
{
    char p[64];
    int level;
    uint64_t index;
    unsigned width;
    ASSERT_OK(trail_tile_path(0, 1234067, 256, p, sizeof(p)));
    ASSERT_STREQ(p, "tile/0/x001/x234/067");
    ASSERT_OK(trail_tile_path(2, 5, 17, p, sizeof(p)));
    ASSERT_STREQ(p, "tile/2/005.p/17");
    ASSERT_OK(trail_tile_path(TRAIL_TILE_ENTRIES, 1000, 256, p, sizeof(p)));
    ASSERT_STREQ(p, "tile/entries/x001/000");
    ASSERT_EQ(trail_tile_path(0, 1, 0, p, sizeof(p)), -EINVAL);
    ASSERT_EQ(trail_tile_path(0, 1, 257, p, sizeof(p)), -EINVAL);
    ASSERT_EQ(trail_tile_path(0, 1, 256, p, 8), -ENAMETOOLONG);

    ASSERT_OK(trail_tile_path_parse("tile/0/x001/x234/067", &level, &index, &width));
    ASSERT_EQ(level, 0);
    ASSERT_EQ(index, 1234067);
    ASSERT_EQ(width, 256);
    ASSERT_OK(trail_tile_path_parse("tile/entries/x001/000.p/255", &level, &index, &width));
    ASSERT_EQ(level, TRAIL_TILE_ENTRIES);
    ASSERT_EQ(index, 1000);
    ASSERT_EQ(width, 255);
    ASSERT_OK(
        trail_tile_path_parse("tile/63/x018/x446/x744/x073/x709/x551/615", &level, &index, &width));
    ASSERT_EQ(index, UINT64_MAX);
    /* one spelling per tile */
    static const char *const bad[] = {
        "tile/0/1",
        "tile/0/0001",
        "tile/0/x000/001",
        "tile/0/001.p/256",
        "tile/0/001.p/0",
        "tile/0/001.p/07",
        "tile/00/001",
        "tile/64/001",
        "tile/0/001/",
        "tile/0/001.p/",
        "tile/x/001",
        "tile/entries/001.p/256",
        "tile/0/x001/x002/",
        "tile//001",
        "tile/0/x18/001",
        "tiles/0/001",
        "tile/0/x018/x446/x744/x073/x709/x551/616",
        "/tile/0/001",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        level = 99;
        if (trail_tile_path_parse(bad[i], &level, &index, &width) != TRAIL_E_PARSE)
            FAIL_AT("accepted '%s'", bad[i]);
        ASSERT_EQ(level, 99);
    }
}

TEST(tiles_from_the_store)
{
    char *dir = make_dir();
    struct trail_store_opts o = {.create = 1};
    struct trail_store *s;
    struct trail_buf b = {0};
    ASSERT_OK(trail_store_open(dir, cat, &o, &s, NULL));
    ASSERT_OK(append(s, 0, 256 * 3 + 10)); /* 778 */

    /* level 0: the leaf hashes */
    ASSERT_OK(trail_store_tile(s, 0, 1, 256, &b));
    ASSERT_EQ(b.len, 256 * 32);
    for (int i = 0; i < 256; i++) {
        uint8_t leaf[TRAIL_HASH_LEN];
        ASSERT_OK(trail_store_leaf_hash(s, 256 + i + 1, leaf));
        ASSERT_MEMEQ(b.data + 32 * i, leaf, 32);
    }
    trail_buf_reset(&b);
    ASSERT_OK(trail_store_tile(s, 0, 3, 10, &b));
    ASSERT_EQ(b.len, 320);
    trail_buf_reset(&b);
    /* level 1: the roots of whole groups of 256 */
    ASSERT_OK(trail_store_tile(s, 1, 0, 3, &b));
    ASSERT_EQ(b.len, 96);
    for (int i = 0; i < 3; i++) {
        uint8_t h[TRAIL_HASH_LEN];
        ASSERT_OK(trail_store_subtree_hash(s, 256 * (uint64_t)i, 256 * (uint64_t)i + 256, h));
        ASSERT_MEMEQ(b.data + 32 * i, h, 32);
    }
    trail_buf_reset(&b);
    /* not there (yet) */
    ASSERT_EQ(trail_store_tile(s, 0, 3, 11, &b), TRAIL_E_NOT_FOUND);
    ASSERT_EQ(trail_store_tile(s, 0, 4, 1, &b), TRAIL_E_NOT_FOUND);
    ASSERT_EQ(trail_store_tile(s, 1, 0, 4, &b), TRAIL_E_NOT_FOUND);
    ASSERT_EQ(trail_store_tile(s, 2, 0, 1, &b), TRAIL_E_NOT_FOUND);
    ASSERT_EQ(trail_store_tile(s, 0, UINT64_MAX, 256, &b), TRAIL_E_NOT_FOUND);
    ASSERT_EQ(trail_store_tile(s, 0, 0, 0, &b), -EINVAL);
    ASSERT_EQ(b.len, 0);

    /* entries: uint16 big-endian length and the record's canonical bytes, whose hash is the leaf */
    ASSERT_OK(trail_store_entry_bundle(s, 3, 10, &b));
    size_t pos = 0;
    for (int i = 0; i < 10; i++) {
        ASSERT(pos + 2 <= b.len);
        size_t len = (size_t)((uint8_t)b.data[pos] << 8 | (uint8_t)b.data[pos + 1]);
        ASSERT(pos + 2 + len <= b.len);
        uint8_t h[TRAIL_HASH_LEN], leaf[TRAIL_HASH_LEN];
        ASSERT_OK(trail_hash_leaf(b.data + pos + 2, len, h));
        ASSERT_OK(trail_store_leaf_hash(s, 768 + (uint64_t)i + 1, leaf));
        ASSERT_MEMEQ(h, leaf, 32);
        pos += 2 + len;
    }
    ASSERT_EQ(pos, b.len);
    size_t was = b.len;
    ASSERT_EQ(trail_store_entry_bundle(s, 3, 11, &b), TRAIL_E_NOT_FOUND);
    ASSERT_EQ(b.len, was); /* as it was */
    trail_buf_free(&b);
    ASSERT_OK(trail_store_close(s));
    free(dir);
}

/* An event whose record is exactly bytes long: 7 values of 8,192 bytes (max_value_len) and
   one more tuned until it is. */
static struct trail_event *event_of_size(size_t bytes)
{
    static char value[8192];
    struct trail_event *ev;
    size_t len = 7000;
    memset(value, 'v', sizeof(value));
    for (int tries = 0; tries < 8 && len <= sizeof(value); tries++) {
        if (trail_event_new(cat, "auth_entrypoints_oidc_logout", &ev) < 0)
            return NULL;
        trail_event_set_host(ev, "idp-node1", (size_t)-1);
        trail_event_set_time(ev, 1764000000000000LL);
        for (int i = 0; i < 7; i++) {
            char name[8];
            snprintf(name, sizeof(name), "big%d", i);
            trail_event_set_string(ev, name, value, sizeof(value));
        }
        trail_event_set_string(ev, "msg", value, len);
        size_t got = record_size(ev);
        if (got == bytes)
            return ev;
        trail_event_free(ev);
        len = len + bytes - got;
    }
    return NULL;
}

/* A tlog-tiles entry's length is a uint16: the largest record a store takes is 65,535 bytes,
   and it is in its entry bundle; one byte more is refused when appended, and the catalog's
   limit cannot be raised past it. (Before, the limit was 65,536 and such a record was stored
   with no entry: its bundle failed with -EOVERFLOW.) */
TEST(record_at_the_entry_limit)
{
    char *dir = make_dir();
    struct trail_store_opts o = {.create = 1};
    struct trail_store *s;
    struct trail_buf b = {0};
    uint64_t last = 0;
    ASSERT_EQ(trail_catalog_limits(cat)->max_record_bytes, 65535);
    ASSERT_EQ(TRAIL_RECORD_BYTES_MAX, 65535);
    struct trail_limits over = {.max_record_bytes = 65536};
    ASSERT_EQ(trail_catalog_set_limits(cat, &over), -EINVAL);
    ASSERT_EQ(trail_catalog_limits(cat)->max_record_bytes, 65535);

    ASSERT_OK(trail_store_open(dir, cat, &o, &s, NULL));
    struct trail_event *ev = event_of_size(65535);
    ASSERT(ev != NULL);
    ASSERT_OK(trail_store_append(s, &ev, 1, &last));
    trail_event_free(ev);
    ASSERT_EQ(last, 1);
    ASSERT_OK(trail_store_wait(s, last));
    ASSERT_OK(trail_store_entry_bundle(s, 0, 1, &b));
    ASSERT_EQ(b.len, 2 + 65535);
    ASSERT_EQ((uint8_t)b.data[0], 0xff);
    ASSERT_EQ((uint8_t)b.data[1], 0xff);
    uint8_t h[TRAIL_HASH_LEN], leaf[TRAIL_HASH_LEN];
    ASSERT_OK(trail_hash_leaf(b.data + 2, 65535, h));
    ASSERT_OK(trail_store_leaf_hash(s, 1, leaf));
    ASSERT_MEMEQ(h, leaf, 32);

    ev = event_of_size(65536);
    ASSERT(ev != NULL);
    ASSERT_EQ(trail_store_append(s, &ev, 1, &last), TRAIL_E_TOO_LARGE);
    trail_event_free(ev);
    ASSERT_STREQ(trail_strerror(TRAIL_E_TOO_LARGE), "record too large");
    ASSERT_EQ(trail_store_last_seq(s), 1);
    trail_buf_free(&b);
    ASSERT_OK(trail_store_close(s));
    free(dir);
}

TEST(cleanup)
{
    char cmd[128];
    trail_key_free(key);
    trail_catalog_free(cat);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    ASSERT_EQ(system(cmd), 0);
}

TEST_MAIN(setup, legacy_checkpoints_still_verify, origin_chosen_at_creation, tile_paths,
          tiles_from_the_store, record_at_the_entry_limit, cleanup)
