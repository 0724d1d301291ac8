/*
 * verify.c - `trail verify`: check a store directory end to end, as an
 * auditor would, and say plainly whether it holds and where it does not.
 *
 * Not here: the checking itself (lib/verify/verify.c, trail_verify_store), proofs
 * (cli/proof.c), the store's own checkpoints (cli/checkpoint.c), reading
 * --checkpoint values (cli/checkpoints.c).
 */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MAX_KEYS        16
#define MAX_INPUT_BYTES (256u << 20)

static const char help[] =
    "NAME\n"
    "    trail verify - check that a store was not altered\n"
    "\n"
    "SYNOPSIS\n"
    "    trail verify --store DIR [--pubkey FILE]... [--checkpoint LINE|FILE]...\n"
    "                 [--allow-unsigned-tail N] [--time-tolerance DURATION]\n"
    "                 [--policy FILE] [--json] [--threads N]\n"
    "\n"
    "DESCRIPTION\n"
    "    Reads every segment of the store in DIR once, directly from the files,\n"
    "    trusting none of the store's own bookkeeping, and recomputes: every\n"
    "    frame's CRC-32C, the seq of every record (gapless, in order), every\n"
    "    Merkle leaf, the hash chain, the Merkle tree including the group roots\n"
    "    kept in tree.roots, the anchors of purges, and the signature of every\n"
    "    checkpoint in DIR/checkpoints. The tree and chain at each checkpoint's\n"
    "    size must be the checkpoint's, and the store must reach the size of\n"
    "    its own latest checkpoint. Each external checkpoint given (a line a\n"
    "    witness kept elsewhere) is checked the same way: a store that holds\n"
    "    fewer records than it covers was rolled back or cut; one whose tree at\n"
    "    its size differs was rewritten (a fork).\n"
    "\n"
    "    It names the first bad record (its seq, or the narrowest range of\n"
    "    seqs the stored hashes allow when a record's bytes were changed and its\n"
    "    checksums made to fit), the segment file, and the kind of damage:\n"
    "\n"
    "      modified          record bytes changed\n"
    "      removed           records missing inside a segment\n"
    "      inserted          a record that does not belong\n"
    "      duplicated        the same record twice\n"
    "      moved             records out of order\n"
    "      truncated         fewer records than the store's own latest checkpoint\n"
    "      segment-missing   a whole segment gone\n"
    "      segment-replaced  a segment of another store, or one that does not\n"
    "                        continue the one before it\n"
    "      rollback          fewer records than an external checkpoint covers\n"
    "      fork              the tree at a checkpoint's size is not the checkpoint's\n"
    "      bad-signature     a checkpoint whose signature does not verify\n"
    "      bad-checkpoint    a malformed line in DIR/checkpoints, or another store's\n"
    "      checksum          a frame, block, index or header that fails its CRC\n"
    "      format            a file or frame that does not parse\n"
    "      side-file         tree.roots or anchors disagree with the records\n"
    "      unsigned          records no checkpoint signed by a --pubkey key covers\n"
    "      checkpoint-time   a checkpoint dated before one of a smaller tree, or in\n"
    "                        the future, beyond --time-tolerance\n"
    "\n"
    "    Each checkpoint signs its time, so a seal cannot be re-dated (the\n"
    "    lesson of journald's CVE-2023-31439). A checkpoint of a larger tree\n"
    "    dated before one of a smaller tree was signed with a clock set back\n"
    "    (or a key used out of turn); one dated after this machine's clock was\n"
    "    signed with a clock ahead. Both are damage beyond the tolerance, which\n"
    "    an honest clock's small steps (NTP) stay within. Checkpoints whose\n"
    "    signature fails are not judged by their time.\n"
    "\n"
    "    After a purge, verification starts from the anchor (chain head and\n"
    "    Merkle frontier) the trail_events_purged record keeps, checked\n"
    "    against tree.roots; checkpoints older than the purge are recomputed\n"
    "    from tree.roots and the anchors where those hold them.\n"
    "\n"
    "    It can run while traild writes: what is not yet written is not there.\n"
    "\n"
    "    What it can vouch for. The store's own checkpoints are files in DIR:\n"
    "    whoever can write there and holds the signing key can rewrite every\n"
    "    record, hash and checkpoint consistently, and without the key can still\n"
    "    delete checkpoints. With --pubkey, every record must be covered by a\n"
    "    checkpoint signed by one of the keys given that the store holds:\n"
    "    records after the last one are damage ('unsigned', with their range),\n"
    "    and a store with no such checkpoint fails. Only an external checkpoint\n"
    "    (--checkpoint, kept where the store's operators cannot change it)\n"
    "    vouches for what it covers against someone who holds the key. The\n"
    "    summary line says which of these the result rests on.\n"
    "\n"
    "OPTIONS\n"
    "    --store DIR\n"
    "        The store directory. Required.\n"
    "\n"
    "    --pubkey FILE\n"
    "        A public key (PEM, as 'trail keygen' writes it) that signs the\n"
    "        store's checkpoints; more than once for rotated keys. Without it,\n"
    "        DIR/checkpoint.pub is used when it exists (with a note: anyone who\n"
    "        can write to DIR can replace it), else signatures are not checked.\n"
    "        Given, it also makes every record need a signed checkpoint (above).\n"
    "\n"
    "    --allow-unsigned-tail N\n"
    "        With --pubkey: accept up to N records after the last signed\n"
    "        checkpoint, with a note (a live store signs every checkpoint_every_ms\n"
    "        or checkpoint_every_events). A store with no signed checkpoint still\n"
    "        fails. Default 0.\n"
    "\n"
    "    --time-tolerance DURATION\n"
    "        How far a checkpoint's time may go back or lie in the future before\n"
    "        it is damage: a number and s, m, h or d (30s, 5m, 2h), or 'off' to\n"
    "        check no time. Default 5m.\n"
    "\n"
    "    --policy FILE\n"
    "        A witness policy (docs/integrity.md, 'Witness policy': 'witness\n"
    "        LABEL KEY' lines and 'quorum K'). The checkpoints that traild's\n"
    "        tlog-witness sinks got cosigned (DIR/sinks/NAME.cosigned) are read;\n"
    "        the largest one signed by the store's key and cosigned by at least\n"
    "        K of the policy's witnesses is checked against the store like an\n"
    "        external checkpoint, and one line says so: 'witness policy:\n"
    "        checkpoint of size N cosigned by K of W witnesses, Q needed'. With\n"
    "        none that meets the quorum the line says 'not enough cosignatures'\n"
    "        and the exit status is 1. With --json the line goes to stderr.\n"
    "\n"
    "    --checkpoint LINE|FILE\n"
    "        An external checkpoint ('trail-checkpoint/1 ORIGIN SIZE ROOT CHAIN\n"
    "        TIME KEY SIGNATURE', as 'trail checkpoint' prints it), or a file of\n"
    "        such lines. Any number of times.\n"
    "\n"
    "    --json\n"
    "        One JSON object on standard output instead of text.\n"
    "\n"
    "    --threads N\n"
    "        Worker threads (default: one per CPU, at most 8).\n"
    "\n"
    "    -h, --help\n"
    "        Print this help and exit.\n"
    "\n"
    "OUTPUT\n"
    "    One line per damaged place ('damage: seq 57 in seg-...: removed: ...'),\n"
    "    notes on what could not be checked ('note: ...'), and a last line that\n"
    "    sums it up, starting with 'ok:' or 'DAMAGED:'. An 'ok:' line ends with\n"
    "    what the result rests on: 'verified against an external checkpoint of\n"
    "    DATE', 'verified against the store's own checkpoints (an attacker with\n"
    "    write access to the directory and the key could have rewritten it)',\n"
    "    or that no signature was checked.\n"
    "\n"
    "EXIT STATUS\n"
    "    0  everything holds\n"
    "    1  damage was found\n"
    "    2  bad usage, no store in DIR, a key or checkpoint that cannot be read\n"
    "\n"
    "EXAMPLES\n"
    "    trail verify --store /var/lib/trail --pubkey /etc/trail/checkpoint.pub\n"
    "    trail verify --store /var/lib/trail --pubkey store.pub --checkpoint witness.log\n"
    "    trail verify --store /var/lib/trail --json | jq .damage\n"
    "\n"
    "SEE ALSO\n"
    "    trail checkpoint --help, trail proof --help, docs/integrity.md\n";

/* ---- output ---- */

/*
 * The boundary of what the result vouches for, in one clause: an external
 * checkpoint pins what it covers even against the key's holder; the store's
 * own checkpoints only against someone without the key; a key found in DIR
 * or no key at all, against nobody who can write to DIR.
 */
static void boundary(const struct trail_verify_report *rep, int keys, int own_key, char *out,
                     size_t size)
{
    if (!keys) {
        snprintf(out, size,
                 "no signature checked (anyone with write access to the store's "
                 "directory could have rewritten it)");
        return;
    }
    if (rep->signed_checkpoints == 0) {
        snprintf(out, size,
                 "no signed checkpoint vouches for it (anyone with write access to "
                 "the store's directory could have rewritten it)");
        return;
    }
    if (own_key) {
        snprintf(out, size,
                 "verified against the store's own checkpoints and the key file in "
                 "its directory (anyone with write access to the directory could "
                 "have rewritten it)");
        return;
    }
    char tail[200] = "";
    if (rep->records && rep->last_seq > rep->signed_size)
        snprintf(tail, sizeof(tail), "; records %" PRIu64 "..%" PRIu64 " against no signature",
                 rep->signed_size + 1 > rep->first_seq ? rep->signed_size + 1 : rep->first_seq,
                 rep->last_seq);
    if (rep->witnessed_size) {
        char when[32];
        trail_time_format(rep->witnessed_time_us, when);
        char own[200] = "";
        if (rep->signed_size > rep->witnessed_size)
            snprintf(own, sizeof(own),
                     ", records %" PRIu64 "..%" PRIu64 " against the store's own checkpoints "
                     "(an attacker with write access to the directory and the key could have "
                     "rewritten them)",
                     rep->witnessed_size + 1, rep->signed_size);
        snprintf(out, size,
                 "records up to %" PRIu64 " verified against an external checkpoint of %s%s%s",
                 rep->witnessed_size, when, own, tail);
        return;
    }
    snprintf(out, size,
             "verified against the store's own checkpoints (an attacker with write access to the "
             "directory and the key could have rewritten it)%s",
             tail);
}

static void seq_text(const struct trail_verify_damage *d, char *out, size_t size)
{
    if (d->seq == 0)
        snprintf(out, size, "%s", "");
    else if (d->seq_last > d->seq)
        snprintf(out, size, "seq %" PRIu64 "..%" PRIu64 " in ", d->seq, d->seq_last);
    else
        snprintf(out, size, "seq %" PRIu64 " in ", d->seq);
}

/* s as a JSON string, escaped as every JSON trail writes (trail_json_string) */
static void json_string(FILE *f, const char *s)
{
    struct trail_buf b = {0};
    if (trail_json_string(&b, s, strlen(s)) == 0)
        fwrite(b.data, 1, b.len, f);
    else
        fputs("null", f);
    trail_buf_free(&b);
}

static void print_json(const struct trail_verify_report *rep, double seconds, const char *key_note,
                       const char *bound)
{
    char root[65], chain[65];
    trail_hash_to_hex(rep->root, root);
    trail_hash_to_hex(rep->chain, chain);
    printf("{\"ok\":%s,\"store\":", rep->n_damage ? "false" : "true");
    json_string(stdout, rep->store_id);
    printf(",\"segments\":%" PRIu64 ",\"records\":%" PRIu64 ",\"first_seq\":%" PRIu64
           ",\"last_seq\":%" PRIu64 ",\"root\":\"%s\",\"chain\":\"%s\",\"checkpoints\":%" PRIu64
           ",\"latest_checkpoint_size\":%" PRIu64 ",\"external_checkpoints\":%" PRIu64
           ",\"signatures_verified\":%" PRIu64 ",\"checkpoints_compared\":%" PRIu64
           ",\"group_roots_compared\":%" PRIu64 ",\"purges\":%" PRIu64 ",\"bytes\":%" PRIu64
           ",\"threads\":%d,\"seconds\":%.3f,\"events_per_second\":%.0f",
           rep->segments, rep->records, rep->first_seq, rep->last_seq, root, chain,
           rep->checkpoints, rep->latest_size, rep->external, rep->signatures, rep->checked,
           rep->group_roots, rep->purges, rep->bytes, rep->threads, seconds,
           seconds > 0 ? (double)rep->records / seconds : 0.0);
    char when[32] = "";
    if (rep->witnessed_size)
        trail_time_format(rep->witnessed_time_us, when);
    printf(",\"signed_checkpoints\":%" PRIu64 ",\"signed_size\":%" PRIu64
           ",\"witnessed_size\":%" PRIu64 ",\"witnessed_time\":",
           rep->signed_checkpoints, rep->signed_size, rep->witnessed_size);
    if (rep->witnessed_size)
        json_string(stdout, when);
    else
        fputs("null", stdout);
    printf(",\"boundary\":");
    json_string(stdout, bound);
    printf(",\"damage_count\":%" PRIu32 ",\"damage\":[", rep->n_damage);
    for (uint32_t i = 0; i < rep->n_damage && i < TRAIL_VERIFY_MAX_DAMAGE; i++) {
        const struct trail_verify_damage *d = &rep->damage[i];
        printf("%s{\"kind\":\"%s\",\"seq\":%" PRIu64 ",\"seq_last\":%" PRIu64 ",\"file\":",
               i ? "," : "", trail_damage_name(d->kind), d->seq, d->seq_last);
        json_string(stdout, d->file);
        printf(",\"message\":");
        json_string(stdout, d->message);
        printf("}");
    }
    printf("],\"notes\":[");
    int first = 1;
    if (key_note) {
        json_string(stdout, key_note);
        first = 0;
    }
    for (const char *p = rep->notes; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char line[1024];
        snprintf(line, sizeof(line), "%.*s", (int)len, p);
        if (!first)
            putchar(',');
        first = 0;
        json_string(stdout, line);
        p += len + (nl ? 1 : 0);
    }
    printf("]}\n");
}

static void print_text(const struct trail_verify_report *rep, double seconds, const char *key_note,
                       const char *bound)
{
    char where[64];
    for (uint32_t i = 0; i < rep->n_damage && i < TRAIL_VERIFY_MAX_DAMAGE; i++) {
        const struct trail_verify_damage *d = &rep->damage[i];
        seq_text(d, where, sizeof(where));
        printf("damage: %s%s: %s: %s\n", where, d->file, trail_damage_name(d->kind), d->message);
    }
    if (rep->n_damage > TRAIL_VERIFY_MAX_DAMAGE)
        printf("damage: ... and %" PRIu32 " more\n", rep->n_damage - TRAIL_VERIFY_MAX_DAMAGE);
    if (key_note)
        printf("note: %s\n", key_note);
    for (const char *p = rep->notes; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        printf("note: %.*s\n", (int)len, p);
        p += len + (nl ? 1 : 0);
    }
    char rate[64] = "";
    if (seconds > 0 && rep->records)
        snprintf(rate, sizeof(rate), "; %.2f s, %.0f records/s", seconds,
                 (double)rep->records / seconds);
    char range[64];
    if (rep->records)
        snprintf(range, sizeof(range), "records %" PRIu64 "..%" PRIu64, rep->first_seq,
                 rep->last_seq);
    else
        snprintf(range, sizeof(range), "no records");
    if (rep->n_damage) {
        const struct trail_verify_damage *d = &rep->damage[0];
        seq_text(d, where, sizeof(where));
        printf("DAMAGED: %s%s: %s (%" PRIu32 " damaged place%s; store %s, %s in %" PRIu64
               " segments)\n",
               where, d->file, trail_damage_name(d->kind), rep->n_damage,
               rep->n_damage == 1 ? "" : "s", rep->store_id, range, rep->segments);
        return;
    }
    char root[65];
    trail_hash_to_hex(rep->root, root);
    printf("ok: store %s, %s in %" PRIu64 " segments, root %.16s...; %" PRIu64
           " checkpoints (%" PRIu64 " signatures verified), %" PRIu64 " external; %" PRIu64
           " compared%s; %s\n",
           rep->store_id, range, rep->segments, root, rep->checkpoints, rep->signatures,
           rep->external, rep->checked, rate, bound);
}

/* ---- the command ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "30s", "5m", "2h", "1d" into *ret_us, "off" into -1; -1 for anything else. */
static int parse_tolerance(const char *s, int64_t *ret_us)
{
    static const struct {
        char unit;
        int64_t us;
    } units[] = {{'s', 1000000LL}, {'m', 60000000LL}, {'h', 3600000000LL}, {'d', 86400000000LL}};
    uint64_t n;
    size_t len = strlen(s);
    char digits[24];
    if (strcmp(s, "off") == 0) {
        *ret_us = -1;
        return 0;
    }
    if (len < 2 || len - 1 >= sizeof(digits))
        return -1;
    memcpy(digits, s, len - 1);
    digits[len - 1] = '\0';
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (s[len - 1] == units[i].unit && cli_parse_u64(digits, 1000000, &n) == 0 && n > 0) {
            *ret_us = (int64_t)n * units[i].us;
            return 0;
        }
    return -1;
}

int cmd_verify(int argc, char **argv)
{
    const char *cmd = "verify";
    const char *dir = NULL;
    const char *key_paths[MAX_KEYS];
    size_t n_key_paths = 0;
    struct trail_key *keys[MAX_KEYS];
    size_t n_keys = 0;
    struct cli_checkpoints cps = {0};
    int json = 0, threads = 0, status = 0;
    uint64_t allow_tail = 0;
    int have_allow = 0;
    int64_t tolerance = 0;
    char key_note[4400];
    const char *note_text = NULL, *policy_path = NULL;
    struct trail_witness_policy *policy = NULL;
    struct trail_checkpoint witnessed;
    size_t witnessed_valid = 0;
    int have_witnessed = 0;

    if (cli_wants_help(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    for (int i = 1; i < argc && status == 0; i++) {
        const char *a = argv[i], *val = NULL;
        const char *eq = strchr(a, '=');
        size_t name_len = eq && a[1] == '-' ? (size_t)(eq - a) : strlen(a);
#define IS(name) (strlen(name) == name_len && strncmp(a, name, name_len) == 0)
        int takes = IS("--store") || IS("--pubkey") || IS("--checkpoint") || IS("--threads") ||
                    IS("--allow-unsigned-tail") || IS("--time-tolerance") || IS("--policy");
        if (takes) {
            val = eq && a[1] == '-' ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (!val || !*val) {
                status = cli_usage_error(cmd, "%.*s needs a value", (int)name_len, a);
                break;
            }
        }
        if (IS("--store")) {
            dir = val;
        } else if (IS("--pubkey")) {
            if (n_key_paths == MAX_KEYS)
                status = cli_usage_error(cmd, "more than %d --pubkey options", MAX_KEYS);
            else
                key_paths[n_key_paths++] = val;
        } else if (IS("--checkpoint")) {
            char label[32];
            snprintf(label, sizeof(label), "--checkpoint %zu", cps.n + 1);
            status = cli_checkpoints_load(cmd, val, label, 0, &cps);
        } else if (IS("--policy")) {
            policy_path = val;
        } else if (IS("--threads")) {
            char *end;
            long t = strtol(val, &end, 10);
            if (*end || t < 1 || t > 64)
                status = cli_usage_error(cmd, "--threads needs a number from 1 to 64");
            threads = (int)t;
        } else if (IS("--allow-unsigned-tail")) {
            if (cli_parse_u64(val, UINT64_MAX, &allow_tail) < 0)
                status = cli_usage_error(cmd, "--allow-unsigned-tail needs a number of records");
            have_allow = 1;
        } else if (IS("--time-tolerance")) {
            if (parse_tolerance(val, &tolerance) < 0)
                status = cli_usage_error(
                    cmd, "--time-tolerance needs a number and s, m, h or d (5m), or 'off'");
        } else if (IS("--json")) {
            json = 1;
        } else if (a[0] == '-') {
            status = cli_usage_error(cmd, "unknown option '%s' (see 'trail verify --help')", a);
        } else {
            status =
                cli_usage_error(cmd, "unexpected argument '%s' (see 'trail verify --help')", a);
        }
#undef IS
    }
    if (status)
        goto out;
    if (!dir) {
        status = cli_usage_error(cmd, "--store DIR is required");
        goto out;
    }
    if (have_allow && n_key_paths == 0) {
        status = cli_usage_error(cmd, "--allow-unsigned-tail needs --pubkey");
        goto out;
    }
    int explicit_keys = n_key_paths > 0;
    char own_pub[4200];
    if (n_key_paths == 0) {
        struct stat st;
        snprintf(own_pub, sizeof(own_pub), "%s/checkpoint.pub", dir);
        if (stat(own_pub, &st) == 0) {
            key_paths[n_key_paths++] = own_pub;
            snprintf(key_note, sizeof(key_note),
                     "signatures checked with %s, found in the store directory: anyone who can "
                     "write there could replace it; give --pubkey with a copy kept elsewhere",
                     own_pub);
            note_text = key_note;
        }
    }
    for (size_t i = 0; i < n_key_paths; i++) {
        int r = trail_key_load_public(key_paths[i], &keys[n_keys]);
        if (r < 0) {
            status = cli_usage_error(cmd, "cannot load public key %s: %s", key_paths[i],
                                     r == TRAIL_E_PARSE ? "not a PEM Ed25519 public key"
                                                        : trail_strerror(r));
            goto out;
        }
        n_keys++;
    }

    if (policy_path) {
        if ((status = cli_policy_load(cmd, policy_path, &policy)) != 0)
            goto out;
        if (n_keys == 0) {
            status = cli_usage_error(cmd, "--policy needs the store's key: give --pubkey");
            goto out;
        }
        have_witnessed = cli_policy_store(dir, policy, (const struct trail_key *const *)keys,
                                          n_keys, &witnessed, &witnessed_valid);
        /* the cosigned checkpoint is checked against the store as an external one */
        size_t n_w, quorum;
        trail_witness_policy_size(policy, &n_w, &quorum);
        if (have_witnessed && witnessed_valid >= quorum) {
            void *c = realloc(cps.cp, (cps.n + 1) * sizeof(*cps.cp));
            if (c)
                cps.cp = c;
            void *w = c ? realloc(cps.where, (cps.n + 1) * sizeof(*cps.where)) : NULL;
            if (!c || !w) {
                status = cli_fail(cmd, "%s", strerror(ENOMEM));
                goto out;
            }
            cps.where = w;
            cps.cp[cps.n] = witnessed;
            snprintf(cps.where[cps.n], sizeof(cps.where[cps.n]), "the cosigned checkpoint");
            cps.n++;
        }
    }

    struct trail_verify_opts o = {.keys = (const struct trail_key *const *)keys,
                                  .n_keys = n_keys,
                                  .checkpoints = cps.cp,
                                  .n_checkpoints = cps.n,
                                  .threads = threads,
                                  .require_signed = explicit_keys,
                                  .allow_unsigned_tail = allow_tail,
                                  .time_tolerance_us = tolerance};
    struct trail_verify_report *rep = malloc(sizeof(*rep));
    if (!rep) {
        status = cli_fail(cmd, "%s", strerror(ENOMEM));
        goto out;
    }
    double t0 = now_s();
    int r = trail_verify_store(dir, &o, rep);
    double seconds = now_s() - t0;
    if (r == TRAIL_E_NOT_FOUND) {
        status = cli_usage_error(cmd, "%s: no store there", dir);
    } else if (r < 0) {
        status = cli_usage_error(cmd, "%s: cannot read the store: %s", dir, trail_strerror(r));
    } else {
        char bound[600];
        boundary(rep, n_keys > 0, n_keys > 0 && !explicit_keys, bound, sizeof(bound));
        if (json)
            print_json(rep, seconds, note_text, bound);
        else
            print_text(rep, seconds, note_text, bound);
        status = rep->n_damage ? 1 : 0;
        if (policy && cli_policy_report(policy, have_witnessed ? &witnessed : NULL, witnessed_valid,
                                        json ? stderr : stdout) != 0)
            status = 1;
        if (fflush(stdout) != 0)
            status = cli_fail(cmd, "cannot write: %s", strerror(errno));
    }
    free(rep);
out:
    for (size_t i = 0; i < n_keys; i++)
        trail_key_free(keys[i]);
    cli_checkpoints_free(&cps);
    trail_witness_policy_free(policy);
    return status;
}
