/*
 * proof.c - `trail proof`: Merkle proofs of the store's tree.
 *
 * Subcommands, one function each, listed in the table at the end:
 *   check        verify a proof offline against signed checkpoints and a public key
 *   inclusion    make the inclusion proof of one record of a store
 *   consistency  make the consistency proof between two checkpoints of a store
 * The last two fill a struct trail_proof through trail_proof_inclusion /
 * trail_proof_consistency over the store's subtree hashes
 * (trail_store_subtree_hash), check it against the checkpoint before
 * printing it, and print it with trail_proof_format().
 *
 * Not here: the proof algorithms and text forms (lib/integrity/proof.c), checkpoints
 * and keys (lib/integrity/checkpoint.c).
 */
#include "cli.h"

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
    "                      [--policy FILE]\n"
    "    trail proof inclusion SEQ --store DIR [--checkpoint LINE|FILE] [--out PREFIX]\n"
    "    trail proof consistency --from LINE|FILE [--to LINE|FILE] --store DIR\n"
    "                      [--out FILE]\n"
    "    trail proof bundle SEQ... (--store DIR | --url URL) [--out FILE]\n"
    "    trail proof check BUNDLE [--policy FILE] [--pubkey KEY]\n"
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
    "MAKING PROOFS FROM A STORE\n"
    "    'trail proof inclusion SEQ --store DIR' makes the inclusion proof of\n"
    "    record SEQ in the tree of a checkpoint: the store's latest (the last\n"
    "    line of DIR/checkpoints), or the one --checkpoint gives (a line, or the\n"
    "    last line of a file). It checks the proof against the checkpoint's\n"
    "    root before printing it, then prints the proof, the checkpoint line\n"
    "    ('checkpoint: ...') and the record's canonical bytes in hex\n"
    "    ('record: ...'). With --out PREFIX it writes them to PREFIX.proof,\n"
    "    PREFIX.checkpoint and PREFIX.record (the raw bytes) instead, ready for\n"
    "    'trail proof check --proof PREFIX.proof --checkpoint PREFIX.checkpoint\n"
    "    --event PREFIX.record --pubkey KEY', and prints that command.\n"
    "\n"
    "    'trail proof consistency --from OLD --to NEW --store DIR' makes the\n"
    "    consistency proof from the tree of checkpoint OLD to that of NEW (the\n"
    "    store's latest when --to is left out), checks it against both roots,\n"
    "    and prints it (or writes it to --out FILE). It works across purges:\n"
    "    the store keeps what proofs from its own checkpoints need.\n"
    "\n"
    "    Both read the store without locking it (traild may be running) and\n"
    "    exit 1 when the store does not hold the checkpoint's tree (it was\n"
    "    rolled back or changed: run 'trail verify').\n"
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
    "    --policy FILE\n"
    "        For 'check': a witness policy ('witness LABEL VERIFIER_KEY' lines and\n"
    "        'quorum K'; docs/integrity.md, 'Witness policy'). The checkpoint the\n"
    "        proof is about must also come as a signed note (--checkpoint FILE, as\n"
    "        GET /checkpoint serves it) holding valid cosignatures of at least K\n"
    "        of the policy's witnesses; a line 'witness policy: ...' says how\n"
    "        many, and too few ('not enough cosignatures') is exit 1.\n"
    "\n"
    "    --store DIR, --from, --to, --out\n"
    "        For 'inclusion' and 'consistency': see above. --pubkey, when\n"
    "        given, also checks the signatures of the checkpoints they use.\n"
    "\n"
    "EVIDENCE BUNDLES\n"
    "    'trail proof bundle SEQ...' writes one file (trail-bundle/1,\n"
    "    docs/integrity.md section 15) holding the records, their inclusion\n"
    "    proofs and one checkpoint: the newest one a tlog-witness sink kept\n"
    "    cosigned (DIR/sinks/NAME.cosigned) that covers them, else the latest\n"
    "    signed one alone, and then it says NOT COSIGNED. --store DIR reads the\n"
    "    store; --url URL asks traild (GET /v1/proof/bundle, the read role):\n" CLI_CONN_HELP
    "    'trail proof check BUNDLE' verifies it offline: the log's signature\n"
    "    with --pubkey (PEM, or a verifier key NAME+KEYID+BASE64), the\n"
    "    cosignatures against --policy, each record's leaf and path to the\n"
    "    checkpoint's root; then prints the events, one JSON object a line.\n"
    "    At least one of --pubkey and --policy. Exit status as above.\n"
    "\n"
    "EXAMPLES\n"
    "    trail proof inclusion 41 --store /var/lib/trail --out seq-41\n"
    "    trail proof consistency --from witness.log --store /var/lib/trail > cons.proof\n"
    "    trail proof check --proof seq-41.proof --pubkey store.pub \\\n"
    "        --checkpoint witness.log --leaf-hash 5c3f...\n"
    "    trail proof check --proof cons.proof --pubkey store.pub \\\n"
    "        --checkpoint \"$(sed -n 1p witness.log)\" --checkpoint \"$(tail -1 witness.log)\"\n"
    "\n"
    "    docs/integrity.md shows how to check the same with openssl and python.\n"
    "\n"
    "SEE ALSO\n"
    "    trail keygen --help, trail verify --help, trail checkpoint --help\n";

/*
 * The checkpoint of tree size size among cps, or NULL (*fork set when two of
 * that size disagree on the root or chain).
 */
static const struct trail_checkpoint *find_size(const struct cli_checkpoints *cps, uint64_t size,
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

/*
 * The most valid cosignatures of cp that a --checkpoint file given holds (a
 * signed note of cp with cosignature lines: GET /checkpoint, or a tlog-witness
 * sink's NAME.cosigned), against the policy: 0 when enough, 1 when not, with
 * the policy's line printed.
 */
static int policy_check(const struct trail_witness_policy *p, const struct trail_checkpoint *cp,
                        const char *const *args, int n_args)
{
    size_t best = 0;
    int found = 0;
    for (int i = 0; i < n_args; i++) {
        struct trail_buf buf = {0};
        struct trail_checkpoint note;
        size_t valid = 0, quorum;
        if (cli_read_file(args[i], MAX_INPUT_BYTES, &buf) == 0 &&
            trail_checkpoint_note_parse(buf.data, buf.len, &note) == 0 &&
            cli_checkpoint_same(&note, cp)) {
            found = 1;
            trail_witness_policy_check(p, cp, buf.data, buf.len, &valid, &quorum);
            if (valid > best)
                best = valid;
        }
        trail_buf_free(&buf);
    }
    return cli_policy_report(p, found ? cp : NULL, best, stdout);
}

static int check_bundle(const char *cmd, const char *path, const char *pubkey_path,
                        const char *policy_path);

static int proof_check(int argc, char **argv)
{
    const char *cmd = "proof check";
    const char *proof_path = NULL, *pubkey_path = NULL, *leaf_hex = NULL, *event_path = NULL;
    const char *policy_path = NULL, *bundle_path = NULL;
    struct trail_witness_policy *policy = NULL;
    const char *checkpoint_args[MAX_CHECKPOINTS];
    int n_checkpoint_args = 0;
    struct cli_checkpoints *cps = NULL;
    struct trail_key *key = NULL;
    struct trail_buf buf = {0};
    struct trail_proof proof;
    uint8_t leaf[TRAIL_HASH_LEN];
    char hex[2 * TRAIL_HASH_LEN + 1], hex2[2 * TRAIL_HASH_LEN + 1], when[32];
    int status, r, fork;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char **slot = NULL;
        if (cli_is_option(arg, NULL, "--proof"))
            slot = &proof_path;
        else if (cli_is_option(arg, NULL, "--pubkey"))
            slot = &pubkey_path;
        else if (cli_is_option(arg, NULL, "--leaf-hash"))
            slot = &leaf_hex;
        else if (cli_is_option(arg, NULL, "--event"))
            slot = &event_path;
        else if (cli_is_option(arg, NULL, "--policy"))
            slot = &policy_path;
        else if (cli_is_option(arg, NULL, "--checkpoint")) {
            if (n_checkpoint_args == MAX_CHECKPOINTS)
                return cli_usage_error(cmd, "more than %d --checkpoint options", MAX_CHECKPOINTS);
            slot = &checkpoint_args[n_checkpoint_args++];
        } else if (arg[0] == '-' && arg[1] != '\0')
            return cli_usage_error(cmd, "unknown option '%s' (see 'trail proof --help')", arg);
        else if (!bundle_path) {
            bundle_path = arg;
            continue;
        } else
            return cli_usage_error(cmd, "unexpected argument '%s' (see 'trail proof --help')", arg);
        const char *v = cli_option_value(argc, argv, &i, arg);
        if (!v || !*v)
            return cli_usage_error(cmd, "%.*s needs a value", (int)strcspn(arg, "="), arg);
        *slot = v;
    }
    if (bundle_path) {
        if (proof_path || n_checkpoint_args || leaf_hex || event_path)
            return cli_usage_error(cmd, "a bundle holds its proofs, checkpoint and records: "
                                        "give only --pubkey and --policy with it");
        return check_bundle(cmd, bundle_path, pubkey_path, policy_path);
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
    r = cli_read_file(proof_path, MAX_INPUT_BYTES, &buf);
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
        r = cli_read_file(event_path, MAX_INPUT_BYTES, &buf);
        if (r == 0)
            r = trail_hash_leaf(buf.data ? buf.data : "", buf.len, leaf);
        if (r < 0) {
            status =
                cli_usage_error(cmd, "cannot read event %s: %s", event_path, trail_strerror(r));
            goto out;
        }
    }
    if (policy_path && (status = cli_policy_load(cmd, policy_path, &policy)) != 0)
        goto out;
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
    for (int i = 0; i < n_checkpoint_args; i++) {
        char label[32];
        snprintf(label, sizeof(label), "--checkpoint %d", i + 1);
        if ((status = cli_checkpoints_load(cmd, checkpoint_args[i], label, 0, cps)) != 0)
            goto out;
    }

    /* 1. every checkpoint is signed by the key, and all are of one store */
    for (size_t i = 0; i < cps->n; i++) {
        const struct trail_checkpoint *cp = &cps->cp[i];
        if (!trail_checkpoint_signed_by(cp, key)) {
            status = cli_fail(cmd, "%s: signed by key %s, not by the given key", cps->where[i],
                              cp->key_id);
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

    /* 2b. with --policy: the checkpoint's note, as given, holds enough cosignatures */
    if (policy && (status = policy_check(policy, cp, checkpoint_args, n_checkpoint_args)) != 0)
        goto out;

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
    trail_witness_policy_free(policy);
    if (cps)
        cli_checkpoints_free(cps);
    free(cps);
    return status;
}

/* ---- proofs from a store ---- */

/* A checkpoint from --checkpoint/--from/--to: a line, or the last line of a file. */
static int one_checkpoint(const char *cmd, const char *opt, const char *arg,
                          struct trail_checkpoint *ret)
{
    struct cli_checkpoints cps = {0};
    int status = cli_checkpoints_load(cmd, arg, opt, 1, &cps);
    if (status == 0)
        *ret = cps.cp[0];
    cli_checkpoints_free(&cps);
    return status;
}

/* The store's own latest checkpoint (DIR/checkpoints). */
static int latest_checkpoint(const char *cmd, struct trail_store *s, const char *dir,
                             struct trail_checkpoint *ret)
{
    int r = trail_store_checkpoint_latest(s, ret);
    if (r == TRAIL_E_NOT_FOUND)
        return cli_fail(cmd,
                        "%s has no checkpoint yet: give one with --checkpoint, or sign one "
                        "('trail checkpoint --store DIR --sign')",
                        dir);
    if (r < 0)
        return cli_fail(cmd, "%s: cannot read its latest checkpoint: %s", dir, trail_strerror(r));
    return 0;
}

/* Check a checkpoint's signature with the key at pubkey_path, when one was given. */
static int check_signature(const char *cmd, const char *pubkey_path,
                           const struct trail_checkpoint *cp, const char *what)
{
    if (!pubkey_path)
        return 0;
    struct trail_key *key;
    int r = trail_key_load_public(pubkey_path, &key);
    if (r < 0)
        return cli_usage_error(cmd, "cannot load public key %s: %s", pubkey_path,
                               trail_strerror(r));
    r = trail_checkpoint_verify(cp, key);
    trail_key_free(key);
    if (r < 0)
        return cli_fail(cmd, "%s (size %" PRIu64 ") does not verify with %s", what, cp->tree_size,
                        pubkey_path);
    return 0;
}

static int open_store_reader(const char *cmd, const char *dir, struct trail_store **ret)
{
    struct trail_catalog *cat = cli_catalog();
    if (!cat)
        return 1;
    struct trail_store_opts o = {.read_only = 1};
    int r = trail_store_open(dir, cat, &o, ret, NULL);
    if (r == TRAIL_E_NOT_FOUND)
        return cli_usage_error(cmd, "%s: no store there", dir);
    if (r < 0)
        return cli_fail(cmd, "%s: cannot open the store: %s", dir, trail_strerror(r));
    return 0;
}

static int write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -errno;
    int r = fwrite(data, 1, len, f) == len ? 0 : -EIO;
    if (fclose(f) != 0 && r == 0)
        r = -errno;
    return r;
}

/* Parse the common options of the store subcommands. */
struct store_args {
    const char *store, *checkpoint, *from, *to, *out, *pubkey;
    const char *positional;
};

static int store_args_parse(const char *cmd, int argc, char **argv, struct store_args *a,
                            int want_positional)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char **slot = NULL;
        if (cli_is_option(arg, NULL, "--store"))
            slot = &a->store;
        else if (cli_is_option(arg, NULL, "--checkpoint"))
            slot = &a->checkpoint;
        else if (cli_is_option(arg, NULL, "--from"))
            slot = &a->from;
        else if (cli_is_option(arg, NULL, "--to"))
            slot = &a->to;
        else if (cli_is_option(arg, NULL, "--out"))
            slot = &a->out;
        else if (cli_is_option(arg, NULL, "--pubkey"))
            slot = &a->pubkey;
        else if (arg[0] == '-' && arg[1] != '\0')
            return cli_usage_error(cmd, "unknown option '%s' (see 'trail proof --help')", arg);
        else if (want_positional && !a->positional) {
            a->positional = arg;
            continue;
        } else
            return cli_usage_error(cmd, "unexpected argument '%s' (see 'trail proof --help')", arg);
        const char *v = cli_option_value(argc, argv, &i, arg);
        if (!v || !*v)
            return cli_usage_error(cmd, "%.*s needs a value", (int)strcspn(arg, "="), arg);
        *slot = v;
    }
    if (!a->store)
        return cli_usage_error(cmd, "--store DIR is required");
    return 0;
}

static int proof_inclusion_cmd(int argc, char **argv)
{
    const char *cmd = "proof inclusion";
    struct store_args a = {0};
    struct trail_store *s = NULL;
    struct trail_store_iter *it = NULL;
    struct trail_buf text = {0}, line = {0};
    struct trail_checkpoint cp;
    struct trail_proof proof;
    uint64_t seq = 0;
    int status, r;

    if ((status = store_args_parse(cmd, argc, argv, &a, 1)) != 0)
        return status;
    if (a.from || a.to)
        return cli_usage_error(cmd, "--from and --to are for 'proof consistency'");
    if (!a.positional || cli_parse_u64(a.positional, UINT64_MAX, &seq) < 0 || seq == 0)
        return cli_usage_error(cmd, "needs the record's sequence number SEQ (1 or more)");
    if (a.checkpoint && (status = one_checkpoint(cmd, "--checkpoint", a.checkpoint, &cp)) != 0)
        return status;
    if ((status = open_store_reader(cmd, a.store, &s)) != 0)
        return status;
    if (!a.checkpoint && (status = latest_checkpoint(cmd, s, a.store, &cp)) != 0)
        goto out;
    if ((status = check_signature(cmd, a.pubkey, &cp, "the checkpoint")) != 0)
        goto out;
    uint64_t have = trail_store_last_seq(s), first = trail_store_first_seq(s);
    if (seq > cp.tree_size) {
        status = cli_usage_error(cmd,
                                 "record %" PRIu64 " is after the checkpoint (size %" PRIu64
                                 "): a later checkpoint is needed",
                                 seq, cp.tree_size);
        goto out;
    }
    if (cp.tree_size > have) {
        status = cli_fail(cmd,
                          "the checkpoint covers %" PRIu64 " records but the store holds %" PRIu64
                          ": it was rolled back or cut (run 'trail verify')",
                          cp.tree_size, have);
        goto out;
    }
    if (seq < first) {
        status = cli_fail(cmd, "record %" PRIu64 " was purged (the store keeps %" PRIu64 "..)", seq,
                          first);
        goto out;
    }
    r = trail_proof_inclusion(seq - 1, cp.tree_size, trail_store_subtree_hash, s, &proof);
    if (r < 0) {
        status = cli_fail(cmd, "cannot make the proof: %s", trail_strerror(r));
        goto out;
    }
    /* the record itself, and the proof checked before anyone relies on it */
    const uint8_t *rec;
    size_t rec_len;
    uint64_t got_seq;
    uint8_t leaf[TRAIL_HASH_LEN];
    if ((r = trail_store_iter_new(s, TRAIL_ITER_FORWARD, &it)) < 0 ||
        (r = trail_store_iter_seek_seq(it, seq)) < 0 ||
        (r = trail_store_iter_next_raw(it, &rec, &rec_len, &got_seq)) < 0 ||
        (r == 1 && got_seq != seq) || r == 0) {
        status = cli_fail(cmd, "cannot read record %" PRIu64 ": %s", seq,
                          r < 0 ? trail_strerror(r) : "not found");
        goto out;
    }
    if ((r = trail_hash_leaf(rec, rec_len, leaf)) < 0 ||
        memcmp(leaf, proof.leaf_hash, TRAIL_HASH_LEN) != 0 ||
        trail_proof_verify_inclusion(&proof, leaf, cp.root) != 0) {
        status = cli_fail(cmd, "the store's tree does not lead to the checkpoint's root: the store "
                               "was changed after the checkpoint (run 'trail verify')");
        goto out;
    }
    if ((r = trail_proof_format(&proof, &text)) < 0 ||
        (r = trail_checkpoint_format(&cp, &line)) < 0 ||
        (r = trail_buf_append(&line, "\n", 1)) < 0) {
        status = cli_fail(cmd, "%s", trail_strerror(r));
        goto out;
    }
    if (a.out) {
        char path[4200];
        const char *ext[] = {".proof", ".checkpoint", ".record"};
        const void *data[] = {text.data, line.data, rec};
        size_t lens[] = {text.len, line.len, rec_len};
        for (int k = 0; k < 3; k++) {
            snprintf(path, sizeof(path), "%s%s", a.out, ext[k]);
            if ((r = write_file(path, data[k], lens[k])) < 0) {
                status = cli_fail(cmd, "cannot write %s: %s", path, trail_strerror(r));
                goto out;
            }
        }
        printf("wrote %s.proof, %s.checkpoint, %s.record\n", a.out, a.out, a.out);
        printf("check offline with:\n    trail proof check --proof %s.proof --checkpoint "
               "%s.checkpoint --event %s.record --pubkey KEY.pub\n",
               a.out, a.out, a.out);
    } else {
        fwrite(text.data, 1, text.len, stdout);
        printf("checkpoint: %s", line.data);
        printf("record: ");
        for (size_t i = 0; i < rec_len; i++)
            printf("%02x", rec[i]);
        printf("\n");
    }
    status = fflush(stdout) == 0 ? 0 : cli_fail(cmd, "cannot write: %s", strerror(errno));
out:
    trail_store_iter_free(it);
    trail_store_close(s);
    trail_buf_free(&text);
    trail_buf_free(&line);
    return status;
}

static int proof_consistency_cmd(int argc, char **argv)
{
    const char *cmd = "proof consistency";
    struct store_args a = {0};
    struct trail_store *s = NULL;
    struct trail_buf text = {0};
    struct trail_checkpoint from, to;
    struct trail_proof proof;
    int status, r;

    if ((status = store_args_parse(cmd, argc, argv, &a, 0)) != 0)
        return status;
    if (a.checkpoint)
        return cli_usage_error(cmd, "give the two checkpoints as --from and --to");
    if (!a.from)
        return cli_usage_error(cmd, "--from CHECKPOINT is required");
    if ((status = one_checkpoint(cmd, "--from", a.from, &from)) != 0)
        return status;
    if (a.to && (status = one_checkpoint(cmd, "--to", a.to, &to)) != 0)
        return status;
    if ((status = open_store_reader(cmd, a.store, &s)) != 0)
        return status;
    if (!a.to && (status = latest_checkpoint(cmd, s, a.store, &to)) != 0)
        goto out;
    if (strcmp(from.origin, to.origin) != 0) {
        status =
            cli_usage_error(cmd, "--from is of store %s, --to of store %s", from.origin, to.origin);
        goto out;
    }
    if ((status = check_signature(cmd, a.pubkey, &from, "--from")) != 0 ||
        (status = check_signature(cmd, a.pubkey, &to, "--to")) != 0)
        goto out;
    if (from.tree_size > to.tree_size) {
        status =
            cli_usage_error(cmd, "--from (size %" PRIu64 ") is newer than --to (size %" PRIu64 ")",
                            from.tree_size, to.tree_size);
        goto out;
    }
    uint64_t have = trail_store_last_seq(s);
    if (to.tree_size > have) {
        status = cli_fail(cmd,
                          "--to covers %" PRIu64 " records but the store holds %" PRIu64
                          ": it was rolled back or cut (run 'trail verify')",
                          to.tree_size, have);
        goto out;
    }
    r = trail_proof_consistency(from.tree_size, to.tree_size, trail_store_subtree_hash, s, &proof);
    if (r < 0) {
        status =
            cli_fail(cmd, "cannot make the proof: %s%s", trail_strerror(r),
                     r == TRAIL_E_NOT_FOUND ? " (leaves a purge removed and did not anchor)" : "");
        goto out;
    }
    uint8_t old_root[TRAIL_HASH_LEN];
    if (from.tree_size == 0)
        trail_hash_empty(old_root);
    else
        memcpy(old_root, from.root, TRAIL_HASH_LEN);
    if (trail_proof_verify_consistency(&proof, old_root, to.root) != 0) {
        /* say which checkpoint the store disagrees with */
        uint8_t root[TRAIL_HASH_LEN];
        int to_ok = to.tree_size == 0 || (trail_store_subtree_hash(s, 0, to.tree_size, root) == 0 &&
                                          memcmp(root, to.root, TRAIL_HASH_LEN) == 0);
        status = cli_fail(cmd,
                          "the store's tree is not the tree of %s: a fork or damage (run 'trail "
                          "verify --checkpoint ...')",
                          to_ok ? "--from" : "--to");
        goto out;
    }
    if ((r = trail_proof_format(&proof, &text)) < 0) {
        status = cli_fail(cmd, "%s", trail_strerror(r));
        goto out;
    }
    if (a.out) {
        if ((r = write_file(a.out, text.data, text.len)) < 0) {
            status = cli_fail(cmd, "cannot write %s: %s", a.out, trail_strerror(r));
            goto out;
        }
    } else {
        fwrite(text.data, 1, text.len, stdout);
    }
    status = fflush(stdout) == 0 ? 0 : cli_fail(cmd, "cannot write: %s", strerror(errno));
out:
    trail_store_close(s);
    trail_buf_free(&text);
    return status;
}

/* ---- evidence bundles ---- */

#define MAX_BUNDLE_BYTES (256u << 20)

/* The public key of --pubkey: a PEM file, or a file holding a C2SP verifier key. */
static int load_log_key(const char *cmd, const char *path, struct trail_key **ret)
{
    int r = trail_key_load_public(path, ret);
    if (r != TRAIL_E_PARSE) {
        if (r < 0)
            return cli_usage_error(cmd, "cannot load public key %s: %s", path, trail_strerror(r));
        return 0;
    }
    struct trail_buf buf = {0};
    char name[TRAIL_ORIGIN_MAX + 1];
    r = cli_read_file(path, 1 << 16, &buf);
    size_t len = buf.len;
    while (len && (buf.data[len - 1] == '\n' || buf.data[len - 1] == '\r'))
        len--;
    if (r == 0)
        r = trail_key_from_verifier(buf.data ? buf.data : "", len, name, ret);
    trail_buf_free(&buf);
    if (r < 0)
        return cli_usage_error(cmd,
                               "cannot load public key %s: neither a PEM Ed25519 public key nor a "
                               "verifier key NAME+KEYID+BASE64",
                               path);
    return 0;
}

/* The signature lines of note after the first (the log's own): the cosignatures offered. */
static size_t cosignature_lines(const char *note, size_t len)
{
    size_t i = 1, lines = 0;
    while (i < len && !(note[i] == '\n' && note[i - 1] == '\n'))
        i++;
    for (i++; i < len; i++)
        lines += note[i] == '\n';
    return lines ? lines - 1 : 0;
}

/*
 * `trail proof check BUNDLE`: the note's signature by the log's key, the
 * cosignatures against the policy, each record's leaf and inclusion proof to
 * the checkpoint's root; then the events.
 */
static int check_bundle(const char *cmd, const char *path, const char *pubkey_path,
                        const char *policy_path)
{
    struct trail_buf buf = {0}, json = {0};
    struct trail_bundle *b = NULL;
    struct trail_key *key = NULL;
    struct trail_witness_policy *policy = NULL;
    struct trail_event *ev = NULL;
    char err[300], when[32], root[2 * TRAIL_HASH_LEN + 1];
    int status, r;

    if (!pubkey_path && !policy_path)
        return cli_usage_error(cmd, "a bundle is checked against --pubkey KEY (the log's key), "
                                    "--policy FILE (its witnesses), or both");
    r = cli_read_file(path, MAX_BUNDLE_BYTES, &buf);
    if (r < 0) {
        status = cli_usage_error(cmd, "cannot read bundle %s: %s", path, trail_strerror(r));
        goto out;
    }
    r = trail_bundle_parse(buf.data ? buf.data : "", buf.len, &b, err, sizeof(err));
    if (r < 0) {
        status = cli_usage_error(cmd, "%s: %s", path, r == TRAIL_E_PARSE ? err : trail_strerror(r));
        goto out;
    }
    if (policy_path && (status = cli_policy_load(cmd, policy_path, &policy)) != 0)
        goto out;
    if (pubkey_path && (status = load_log_key(cmd, pubkey_path, &key)) != 0)
        goto out;

    /* 1. the log's signature */
    const struct trail_checkpoint *cp = &b->checkpoint;
    trail_time_format(cp->time_us, when);
    trail_hash_to_hex(cp->root, root);
    if (key) {
        if (!trail_checkpoint_signed_by(cp, key)) {
            status = cli_fail(cmd, "%s: the checkpoint is signed by key %s, not by the given key",
                              path, cp->key_id);
            goto out;
        }
        if (trail_checkpoint_verify(cp, key) < 0) {
            status = cli_fail(cmd,
                              "%s: the checkpoint's signature does not verify: its note was "
                              "altered or forged",
                              path);
            goto out;
        }
        printf("signature ok: %s size %" PRIu64 " at %s, key %s\n", cp->origin, cp->tree_size, when,
               cp->key_id);
    } else {
        printf("signature not checked (no --pubkey): %s size %" PRIu64 " at %s, key %s; the "
               "witnesses' cosignatures vouch for it\n",
               cp->origin, cp->tree_size, when, cp->key_id);
    }

    /* 2. the witnesses */
    size_t offered = cosignature_lines(b->note, b->note_len);
    if (policy) {
        size_t valid = 0, quorum;
        r = trail_witness_policy_check(policy, cp, b->note, b->note_len, &valid, &quorum);
        if (r < 0 && r != TRAIL_E_SIGNATURE && r != TRAIL_E_INTEGRITY) {
            status =
                cli_fail(cmd, "%s: cannot check the cosignatures: %s", path, trail_strerror(r));
            goto out;
        }
        if (valid < offered)
            printf("%zu of %zu cosignature lines do not verify with a witness of the policy "
                   "(altered, or of a witness it does not name)\n",
                   offered - valid, offered);
        if (cli_policy_report(policy, cp, valid, stdout) != 0) {
            status =
                cli_fail(cmd, "%s: not enough cosignatures for the policy %s", path, policy_path);
            goto out;
        }
    } else {
        printf("cosignatures not checked (no --policy): %zu offered\n", offered);
    }

    /* 3. every record to the root */
    for (size_t i = 0; i < b->n_events; i++) {
        const struct trail_bundle_event *e = &b->events[i];
        if (trail_proof_verify_inclusion(&e->proof, e->proof.leaf_hash, cp->root) != 0) {
            status = cli_fail(cmd,
                              "%s: event %" PRIu64 ": its record and path do not lead to the "
                              "checkpoint's root %s: the record or its proof was altered",
                              path, e->seq, root);
            goto out;
        }
    }
    printf("inclusion ok: %zu events are records of %s's tree of %" PRIu64 " records (root %s)\n",
           b->n_events, cp->origin, cp->tree_size, root);

    /* 4. the events, as JSON lines */
    struct trail_catalog *cat = cli_catalog();
    if (!cat || trail_event_new(cat, NULL, &ev) < 0) {
        status = cli_fail(cmd, "%s", strerror(ENOMEM));
        goto out;
    }
    for (size_t i = 0; i < b->n_events; i++) {
        trail_buf_reset(&json);
        r = trail_bundle_event_decode(b, i, ev);
        if (r == 0)
            r = trail_event_to_json(ev, &json);
        if (r < 0) {
            status = cli_fail(cmd, "%s: event %" PRIu64 ": its record holds no event: %s", path,
                              b->events[i].seq, trail_strerror(r));
            goto out;
        }
        fwrite(json.data, 1, json.len, stdout);
        fputc('\n', stdout);
    }
    status = fflush(stdout) == 0 ? 0 : cli_fail(cmd, "cannot write: %s", strerror(errno));
out:
    trail_event_free(ev);
    trail_bundle_free(b);
    trail_key_free(key);
    trail_witness_policy_free(policy);
    trail_buf_free(&buf);
    trail_buf_free(&json);
    return status;
}

/* The bundle of seqs from the traild at url: GET /v1/proof/bundle?seq=A,B,... */
static int bundle_from_url(const char *cmd, const char *url, const struct trail_client_opts *co,
                           const uint64_t *seqs, size_t n, struct trail_buf *out)
{
    struct trail_client *c = NULL;
    struct trail_buf path = {0};
    char err[512], num[32];
    int status = 1, code = 0, r;
    if (trail_client_open(url, co, &c, err, sizeof(err)) < 0)
        return cli_usage_error(cmd, "bad --url %s", err);
    r = trail_buf_append(&path, "/v1/proof/bundle?seq=", 21);
    for (size_t i = 0; i < n && r == 0; i++) {
        snprintf(num, sizeof(num), "%s%" PRIu64, i ? "," : "", seqs[i]);
        r = trail_buf_append(&path, num, strlen(num) + 1);
        path.len--; /* kept NUL-terminated */
    }
    if (r < 0) {
        status = cli_fail(cmd, "%s", strerror(ENOMEM));
        goto out;
    }
    r = trail_client_request(c, "GET", path.data, NULL, NULL, 0, &code, err, sizeof(err));
    if (r == 0)
        r = trail_client_read_all(c, out, err, sizeof(err));
    if (r < 0) {
        status = cli_fail(cmd, "%s: %s", url, err);
        goto out;
    }
    if (code != 200) {
        size_t l = out->len;
        while (l && out->data[l - 1] == '\n')
            l--;
        status = cli_fail(cmd, "traild answered %d: %.*s", code, (int)(l > 400 ? 400 : l),
                          out->data ? out->data : "");
        goto out;
    }
    status = 0;
out:
    trail_buf_free(&path);
    trail_client_close(c);
    return status;
}

static int proof_bundle_cmd(int argc, char **argv)
{
    const char *cmd = "proof bundle";
    const char *store = NULL, *url = NULL, *out_path = NULL;
    struct cli_conn conn = {0};
    struct trail_client_opts co;
    struct trail_store *s = NULL;
    struct trail_buf text = {0};
    struct trail_bundle *b = NULL;
    uint64_t *seqs = calloc(argc, sizeof(*seqs));
    size_t n = 0, cosigs = 0;
    char err[300];
    int status, r, m;

    if (!seqs)
        return cli_fail(cmd, "%s", strerror(ENOMEM));
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char **slot = NULL;
        if (cli_is_option(arg, NULL, "--store"))
            slot = &store;
        else if (cli_is_option(arg, NULL, "--url"))
            slot = &url;
        else if (cli_is_option(arg, NULL, "--out"))
            slot = &out_path;
        else if ((m = cli_conn_opt(argv, argc, &i, &conn)) != 0) {
            if (m < 0) {
                status = cli_usage_error(cmd, "%s needs a value", arg);
                goto out;
            }
            continue;
        } else if (arg[0] == '-' && arg[1] != '\0') {
            status = cli_usage_error(cmd, "unknown option '%s' (see 'trail proof --help')", arg);
            goto out;
        } else {
            if (cli_parse_u64(arg, UINT64_MAX, &seqs[n]) < 0 || seqs[n] == 0) {
                status = cli_usage_error(cmd, "'%s' is not a sequence number (1 or more)", arg);
                goto out;
            }
            n++;
            continue;
        }
        const char *v = cli_option_value(argc, argv, &i, arg);
        if (!v || !*v) {
            status = cli_usage_error(cmd, "%.*s needs a value", (int)strcspn(arg, "="), arg);
            goto out;
        }
        *slot = v;
    }
    if (n == 0 || n > TRAIL_BUNDLE_MAX) {
        status = cli_usage_error(cmd, "needs 1 to %d sequence numbers SEQ...", TRAIL_BUNDLE_MAX);
        goto out;
    }
    if (!store == !url) {
        status = cli_usage_error(cmd, "give --store DIR or --url URL");
        goto out;
    }
    if (url) {
        if ((status = cli_conn_opts(cmd, &conn, &co)) != 0 ||
            (status = bundle_from_url(cmd, url, &co, seqs, n, &text)) != 0)
            goto out;
    } else {
        if ((status = open_store_reader(cmd, store, &s)) != 0)
            goto out;
        r = trail_bundle_make(s, store, NULL, seqs, n, &text, &cosigs, err, sizeof(err));
        if (r < 0) {
            status = r == -EINVAL ? cli_usage_error(cmd, "%s", err) : cli_fail(cmd, "%s", err);
            goto out;
        }
    }
    /* what traild sent is read back before it is kept */
    r = trail_bundle_parse(text.data ? text.data : "", text.len, &b, err, sizeof(err));
    if (r < 0) {
        status = cli_fail(cmd, "the bundle does not read back: %s", err);
        goto out;
    }
    cosigs = cosignature_lines(b->note, b->note_len);
    if (out_path) {
        if ((r = write_file(out_path, text.data, text.len)) < 0) {
            status = cli_fail(cmd, "cannot write %s: %s", out_path, trail_strerror(r));
            goto out;
        }
    } else {
        fwrite(text.data, 1, text.len, stdout);
    }
    if (cosigs)
        cli_note("%s: %zu events, checkpoint of size %" PRIu64 " with %zu cosignatures",
                 out_path ? out_path : "bundle", b->n_events, b->checkpoint.tree_size, cosigs);
    else
        cli_note("%s: %zu events, checkpoint of size %" PRIu64
                 " NOT COSIGNED: no witness cosigned a checkpoint covering them, so only the "
                 "log's own signature vouches for it",
                 out_path ? out_path : "bundle", b->n_events, b->checkpoint.tree_size);
    status = fflush(stdout) == 0 ? 0 : cli_fail(cmd, "cannot write: %s", strerror(errno));
out:
    trail_bundle_free(b);
    trail_store_close(s);
    trail_buf_free(&text);
    cli_conn_free(&conn);
    free(seqs);
    return status;
}

struct subcommand {
    const char *name;
    int (*fn)(int argc, char **argv);
};

static const struct subcommand subcommands[] = {
    {"check", proof_check},
    {"inclusion", proof_inclusion_cmd},
    {"consistency", proof_consistency_cmd},
    {"bundle", proof_bundle_cmd},
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
