/*
 * proof.c - `trail proof`: Merkle proofs of the store's tree.
 *
 * Subcommands, one function each, listed in the table at the end:
 *   check   verify a proof offline against signed checkpoints and a public key
 * Generating proofs from a store (`proof inclusion SEQ --store DIR`,
 * `proof consistency --from CP --to CP --store DIR`) belongs in this table
 * too, as functions that fill a struct trail_proof through
 * trail_proof_inclusion/consistency over the store's subtree hashes and
 * print it with trail_proof_format().
 *
 * Not here: the proof algorithms and text forms (lib/proof.c), checkpoints
 * and keys (lib/checkpoint.c).
 */
#include "cli.h"
#include "merkle.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHECKPOINTS 64
#define MAX_INPUT_BYTES (16u << 20)

static const char help[] =
    "NAME\n"
    "    trail proof - check Merkle proofs of a store's records offline\n"
    "\n"
    "SYNOPSIS\n"
    "    trail proof check --proof FILE --checkpoint LINE|FILE [--checkpoint ...]\n"
    "                      --pubkey FILE [--leaf-hash HEX | --event FILE]\n"
    "\n"
    "DESCRIPTION\n"
    "    A trail store keeps its records as the leaves of an RFC 9162 Merkle tree\n"
    "    and signs checkpoints of it: 'the store ORIGIN held SIZE records with\n"
    "    root hash ROOT at TIME', signed with the store's Ed25519 key. A witness\n"
    "    keeps checkpoint lines away from the store. A proof is a short list of\n"
    "    hashes that shows, without the store:\n"
    "\n"
    "    inclusion    that one record (leaf index = sequence number - 1) is in\n"
    "                 the tree of a checkpoint, so it was written before that\n"
    "                 checkpoint and has not changed since;\n"
    "    consistency  that the tree of an older checkpoint is a prefix of the\n"
    "                 tree of a newer one, so nothing written before the older\n"
    "                 checkpoint was changed, removed or reordered later.\n"
    "\n"
    "    'trail proof check' checks such a proof with nothing but the proof, the\n"
    "    checkpoint lines, and the public key. It:\n"
    "\n"
    "     1. reads the public key and every checkpoint, and verifies each\n"
    "        checkpoint's Ed25519 signature with the key (all must verify, and\n"
    "        all must name the same origin);\n"
    "     2. picks the checkpoint whose tree size is the proof's tree size (and,\n"
    "        for a consistency proof, the one of its old size); two checkpoints\n"
    "        of the same size with different roots are reported as a fork;\n"
    "     3. for an inclusion proof, takes the leaf hash from --leaf-hash, or\n"
    "        computes it from --event, and requires it to be the proof's leaf\n"
    "        hash; then recomputes the root from the leaf hash and the proof's\n"
    "        path (RFC 9162 section 2.1.3.2) and requires the checkpoint's root;\n"
    "     4. for a consistency proof, recomputes both roots from the path\n"
    "        (RFC 9162 section 2.1.4.2) and requires the two checkpoints' roots.\n"
    "\n"
    "OPTIONS\n"
    "    --proof FILE\n"
    "        The proof in its text form, as 'trail proof inclusion' or 'trail\n"
    "        proof consistency' print it ('-' reads standard input).\n"
    "\n"
    "    --checkpoint LINE|FILE\n"
    "        A checkpoint line ('trail-checkpoint/1 ORIGIN SIZE ROOT CHAIN TIME\n"
    "        KEY SIGNATURE'), or a file of such lines, one per line (empty lines\n"
    "        are skipped). Give it more than once; up to 64 checkpoints.\n"
    "\n"
    "    --pubkey FILE\n"
    "        The store's public key (PEM), as 'trail keygen' wrote it.\n"
    "\n"
    "    --leaf-hash HEX\n"
    "        Inclusion proofs: the leaf hash of the record you hold, 64 hex\n"
    "        digits: SHA-256 of the byte 0x00 followed by the record's canonical\n"
    "        bytes (docs/format.md).\n"
    "\n"
    "    --event FILE\n"
    "        Inclusion proofs: a file holding the record's canonical bytes\n"
    "        exactly (docs/format.md); its leaf hash is computed from them.\n"
    "\n"
    "    Without --leaf-hash or --event the proof's own leaf hash is used: that\n"
    "    shows that some record with that hash is in the tree, and the command\n"
    "    says so. To tie the proof to an event you hold, give one of them.\n"
    "\n"
    "    -h, --help\n"
    "        Print this help and exit.\n"
    "\n"
    "OUTPUT\n"
    "    One line per checkpoint verified, then one line saying what the proof\n"
    "    shows, on standard output; when something does not hold, a line on\n"
    "    standard error saying what and why.\n"
    "\n"
    "EXIT STATUS\n"
    "    0  every signature verifies and the proof holds\n"
    "    1  it does not: a bad signature, a checkpoint of another key or store,\n"
    "       no checkpoint of the proof's size, a fork, a leaf hash that is not\n"
    "       the proof's, or a proof that does not lead to the checkpoint's root\n"
    "    2  bad usage, or a file that cannot be read or does not parse\n"
    "\n"
    "EXAMPLES\n"
    "    trail proof check --proof seq-41.proof --pubkey store.pub \\\n"
    "        --checkpoint witness.log --leaf-hash 5c3f...\n"
    "    trail proof check --proof cons.proof --pubkey store.pub \\\n"
    "        --checkpoint \"$(sed -n 1p witness.log)\" --checkpoint \"$(tail -1 witness.log)\"\n"
    "\n"
    "    docs/integrity.md shows how to check the same with openssl and python.\n"
    "\n"
    "SEE ALSO\n"
    "    trail keygen --help, trail verify --help, trail checkpoint --help\n";

/* "--opt VALUE" or "--opt=VALUE"; NULL when the value is missing. */
static const char *option_value(int argc, char **argv, int *i, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (eq && arg[1] == '-')
        return eq + 1;
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

static int is_option(const char *arg, const char *lng)
{
    size_t n = strlen(lng);
    return strcmp(arg, lng) == 0 || (strncmp(arg, lng, n) == 0 && arg[n] == '=');
}

/* Read a whole file ("-" for stdin) into out; 0, -errno, or TRAIL_E_TOO_LARGE. */
static int read_input(const char *path, struct trail_buf *out)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char chunk[65536];
    size_t n;
    int r = 0;

    if (!f)
        return -errno;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (out->len + n > MAX_INPUT_BYTES) {
            r = TRAIL_E_TOO_LARGE;
            break;
        }
        if ((r = trail_buf_append(out, chunk, n)) < 0)
            break;
    }
    if (r == 0 && ferror(f))
        r = -EIO;
    if (f != stdin)
        fclose(f);
    return r;
}

struct checkpoints {
    struct trail_checkpoint cp[MAX_CHECKPOINTS];
    char where[MAX_CHECKPOINTS][320]; /* "--checkpoint 2" or "FILE line 3", for messages */
    size_t n;
};

static int add_checkpoint(const char *cmd, struct checkpoints *cps, const char *text, size_t len,
                          const char *where)
{
    if (cps->n == MAX_CHECKPOINTS)
        return cli_usage_error(cmd, "more than %d checkpoints", MAX_CHECKPOINTS);
    if (trail_checkpoint_parse(text, len, &cps->cp[cps->n]) < 0)
        return cli_usage_error(cmd,
                               "%s is not a checkpoint line (expected 'trail-checkpoint/1 ORIGIN "
                               "SIZE ROOT CHAIN TIME KEY SIGNATURE', one space apart)",
                               where);
    snprintf(cps->where[cps->n], sizeof(cps->where[0]), "%s", where);
    cps->n++;
    return 0;
}

/* A --checkpoint value: a line itself, or a file of lines. */
static int load_checkpoints(const char *cmd, struct checkpoints *cps, const char *arg, int n_arg)
{
    char where[320];
    if (strncmp(arg, "trail-checkpoint/", 17) == 0) {
        snprintf(where, sizeof(where), "--checkpoint %d", n_arg);
        return add_checkpoint(cmd, cps, arg, strlen(arg), where);
    }
    struct trail_buf buf = {0};
    int r = read_input(arg, &buf), status = 0;
    if (r < 0) {
        trail_buf_free(&buf);
        return cli_usage_error(cmd, "cannot read checkpoint file %s: %s", arg, trail_strerror(r));
    }
    size_t line_no = 0, n_found = 0;
    for (size_t pos = 0; pos < buf.len && status == 0;) {
        const char *nl = memchr(buf.data + pos, '\n', buf.len - pos);
        size_t end = nl ? (size_t)(nl - buf.data) : buf.len;
        line_no++;
        if (end > pos) {
            snprintf(where, sizeof(where), "%.256s line %zu", arg, line_no);
            status = add_checkpoint(cmd, cps, buf.data + pos, end - pos, where);
            n_found++;
        }
        pos = end + 1;
    }
    trail_buf_free(&buf);
    if (status == 0 && n_found == 0)
        return cli_usage_error(cmd, "%s holds no checkpoint line", arg);
    return status;
}

/*
 * The checkpoint of tree size size among cps, or NULL (*fork set when two of
 * that size disagree on the root or chain).
 */
static const struct trail_checkpoint *find_size(const struct checkpoints *cps, uint64_t size,
                                                size_t *ret_index, int *fork)
{
    const struct trail_checkpoint *found = NULL;
    *fork = 0;
    for (size_t i = 0; i < cps->n; i++) {
        if (cps->cp[i].tree_size != size)
            continue;
        if (!found) {
            found = &cps->cp[i];
            *ret_index = i;
        } else if (memcmp(found->root, cps->cp[i].root, TRAIL_HASH_LEN) != 0 ||
                   memcmp(found->chain, cps->cp[i].chain, TRAIL_HASH_LEN) != 0) {
            *fork = 1;
        }
    }
    return found;
}

static void short_hex(const uint8_t hash[TRAIL_HASH_LEN], char out[2 * TRAIL_HASH_LEN + 1])
{
    trail_hash_to_hex(hash, out);
}

static int proof_check(int argc, char **argv)
{
    const char *cmd = "proof check";
    const char *proof_path = NULL, *pubkey_path = NULL, *leaf_hex = NULL, *event_path = NULL;
    const char *checkpoint_args[MAX_CHECKPOINTS];
    int n_checkpoint_args = 0;
    struct checkpoints *cps = NULL;
    struct trail_key *key = NULL;
    struct trail_buf buf = {0};
    struct trail_proof proof;
    uint8_t leaf[TRAIL_HASH_LEN];
    char hex[2 * TRAIL_HASH_LEN + 1], hex2[2 * TRAIL_HASH_LEN + 1], when[32];
    int status, r, fork;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char **slot = NULL;
        if (is_option(arg, "--proof"))
            slot = &proof_path;
        else if (is_option(arg, "--pubkey"))
            slot = &pubkey_path;
        else if (is_option(arg, "--leaf-hash"))
            slot = &leaf_hex;
        else if (is_option(arg, "--event"))
            slot = &event_path;
        else if (is_option(arg, "--checkpoint")) {
            if (n_checkpoint_args == MAX_CHECKPOINTS)
                return cli_usage_error(cmd, "more than %d --checkpoint options", MAX_CHECKPOINTS);
            slot = &checkpoint_args[n_checkpoint_args++];
        } else if (arg[0] == '-' && arg[1] != '\0')
            return cli_usage_error(cmd, "unknown option '%s' (see 'trail proof --help')", arg);
        else
            return cli_usage_error(cmd, "unexpected argument '%s' (see 'trail proof --help')", arg);
        const char *v = option_value(argc, argv, &i, arg);
        if (!v || !*v)
            return cli_usage_error(cmd, "%.*s needs a value", (int)strcspn(arg, "="), arg);
        *slot = v;
    }
    if (!proof_path)
        return cli_usage_error(cmd, "--proof FILE is required");
    if (!pubkey_path)
        return cli_usage_error(cmd, "--pubkey FILE is required");
    if (n_checkpoint_args == 0)
        return cli_usage_error(cmd, "at least one --checkpoint LINE|FILE is required");
    if (leaf_hex && event_path)
        return cli_usage_error(cmd, "give --leaf-hash or --event, not both");

    /* the inputs: any problem reading or parsing them is bad input (2) */
    r = read_input(proof_path, &buf);
    if (r < 0) {
        status = cli_usage_error(cmd, "cannot read proof %s: %s", proof_path, trail_strerror(r));
        goto out;
    }
    if (trail_proof_parse(buf.data ? buf.data : "", buf.len, &proof) < 0) {
        status = cli_usage_error(cmd,
                                 "%s is not a proof in trail's text form (first line "
                                 "'trail-proof/1 inclusion' or 'trail-proof/1 consistency')",
                                 proof_path);
        goto out;
    }
    if (proof.type == TRAIL_PROOF_CONSISTENCY && (leaf_hex || event_path)) {
        status = cli_usage_error(cmd,
                                 "--leaf-hash and --event are for inclusion proofs; %s is a "
                                 "consistency proof",
                                 proof_path);
        goto out;
    }
    if (leaf_hex && trail_hash_from_hex(leaf_hex, strlen(leaf_hex), leaf) < 0) {
        status = cli_usage_error(cmd, "--leaf-hash needs 64 lower-case hex digits");
        goto out;
    }
    if (event_path) {
        trail_buf_reset(&buf);
        r = read_input(event_path, &buf);
        if (r == 0)
            r = trail_hash_leaf(buf.data ? buf.data : "", buf.len, leaf);
        if (r < 0) {
            status =
                cli_usage_error(cmd, "cannot read event %s: %s", event_path, trail_strerror(r));
            goto out;
        }
    }
    r = trail_key_load_public(pubkey_path, &key);
    if (r < 0) {
        status = cli_usage_error(cmd, "cannot load public key %s: %s", pubkey_path,
                                 r == TRAIL_E_PARSE ? "not a PEM Ed25519 public key"
                                                    : trail_strerror(r));
        goto out;
    }
    cps = calloc(1, sizeof(*cps));
    if (!cps) {
        status = cli_fail(cmd, "%s", strerror(ENOMEM));
        goto out;
    }
    for (int i = 0; i < n_checkpoint_args; i++)
        if ((status = load_checkpoints(cmd, cps, checkpoint_args[i], i + 1)) != 0)
            goto out;

    /* 1. every checkpoint is signed by the key, and all are of one store */
    for (size_t i = 0; i < cps->n; i++) {
        const struct trail_checkpoint *cp = &cps->cp[i];
        if (strcmp(cp->key_id, trail_key_id(key)) != 0) {
            status = cli_fail(cmd, "%s: signed by key %s, not by the given key %s", cps->where[i],
                              cp->key_id, trail_key_id(key));
            goto out;
        }
        r = trail_checkpoint_verify(cp, key);
        if (r < 0) {
            status = cli_fail(cmd, "%s: the signature does not verify: %s", cps->where[i],
                              r == TRAIL_E_SIGNATURE ? "the checkpoint was altered or forged"
                                                     : trail_strerror(r));
            goto out;
        }
        if (strcmp(cp->origin, cps->cp[0].origin) != 0) {
            status = cli_fail(cmd, "%s is of store '%s', %s of store '%s'", cps->where[i],
                              cp->origin, cps->where[0], cps->cp[0].origin);
            goto out;
        }
        trail_time_format(cp->time_us, when);
        printf("signature ok: %s size %" PRIu64 " at %s, key %s\n", cp->origin, cp->tree_size, when,
               cp->key_id);
    }

    /* 2. the checkpoint(s) the proof is about */
    size_t at = 0, old_at = 0;
    const struct trail_checkpoint *cp = find_size(cps, proof.tree_size, &at, &fork);
    if (fork) {
        status = cli_fail(cmd,
                          "fork: two validly signed checkpoints of size %" PRIu64
                          " have different hashes; the store was rewritten",
                          proof.tree_size);
        goto out;
    }
    if (!cp) {
        status = cli_fail(cmd,
                          "no checkpoint of tree size %" PRIu64
                          " among those given; the proof is for that size",
                          proof.tree_size);
        goto out;
    }

    if (proof.type == TRAIL_PROOF_INCLUSION) {
        /* 3. inclusion */
        int own_leaf = !leaf_hex && !event_path;
        if (own_leaf)
            memcpy(leaf, proof.leaf_hash, TRAIL_HASH_LEN);
        if (memcmp(leaf, proof.leaf_hash, TRAIL_HASH_LEN) != 0) {
            short_hex(leaf, hex);
            short_hex(proof.leaf_hash, hex2);
            status = cli_fail(cmd,
                              "the event's leaf hash %s is not the proof's leaf hash %s: the "
                              "proof is about another record, or the event was changed",
                              hex, hex2);
            goto out;
        }
        uint8_t root[TRAIL_HASH_LEN];
        r = trail_proof_inclusion_root(&proof, leaf, root);
        if (r < 0 || memcmp(root, cp->root, TRAIL_HASH_LEN) != 0) {
            if (r < 0) {
                status = cli_fail(cmd,
                                  "the proof does not hold: its path has the wrong number "
                                  "of hashes for leaf index %" PRIu64 " of %" PRIu64,
                                  proof.leaf_index, proof.tree_size);
            } else {
                short_hex(root, hex);
                short_hex(cp->root, hex2);
                status = cli_fail(cmd,
                                  "the proof does not hold: it leads to root %s, but %s signs "
                                  "root %s",
                                  hex, cps->where[at], hex2);
            }
            goto out;
        }
        short_hex(leaf, hex);
        printf("inclusion ok: record %" PRIu64 " (leaf index %" PRIu64 ", leaf hash %s) is in "
               "%s's tree of %" PRIu64 " records\n",
               proof.leaf_index + 1, proof.leaf_index, hex, cp->origin, proof.tree_size);
        if (own_leaf)
            printf("note: no --leaf-hash or --event given; this shows that a record with the "
                   "proof's leaf hash is in the tree: compare it with your event's\n");
        status = 0;
        goto out;
    }

    /* 4. consistency */
    uint8_t old_root[TRAIL_HASH_LEN];
    if (proof.old_size == 0) {
        trail_hash_empty(old_root);
    } else {
        const struct trail_checkpoint *old = find_size(cps, proof.old_size, &old_at, &fork);
        if (fork) {
            status = cli_fail(cmd,
                              "fork: two validly signed checkpoints of size %" PRIu64
                              " have different hashes; the store was rewritten",
                              proof.old_size);
            goto out;
        }
        if (!old) {
            status = cli_fail(cmd,
                              "no checkpoint of tree size %" PRIu64
                              " among those given; the proof starts from that size",
                              proof.old_size);
            goto out;
        }
        memcpy(old_root, old->root, TRAIL_HASH_LEN);
    }
    r = trail_proof_verify_consistency(&proof, old_root, cp->root);
    if (r < 0) {
        status = cli_fail(cmd,
                          "the proof does not hold: the tree of %" PRIu64
                          " records is not shown to be a prefix of the tree of %" PRIu64
                          " (a rollback, a fork, or a damaged proof)",
                          proof.old_size, proof.tree_size);
        goto out;
    }
    printf("consistency ok: %s's tree of %" PRIu64 " records is a prefix of its tree of %" PRIu64
           " records\n",
           cp->origin, proof.old_size, proof.tree_size);
    status = 0;
out:
    trail_buf_free(&buf);
    trail_key_free(key);
    free(cps);
    return status;
}

struct subcommand {
    const char *name;
    int (*fn)(int argc, char **argv);
};

static const struct subcommand subcommands[] = {
    {"check", proof_check},
};

int cmd_proof(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(help, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
        if (strcmp(argv[1], subcommands[i].name) != 0)
            continue;
        if (cli_wants_help(argc - 1, argv + 1)) {
            fputs(help, stdout);
            return 0;
        }
        return subcommands[i].fn(argc - 1, argv + 1);
    }
    return cli_usage_error(argv[0], "unknown subcommand '%s' (see 'trail proof --help')", argv[1]);
}
