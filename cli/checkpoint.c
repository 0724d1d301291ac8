/*
 * checkpoint.c - `trail checkpoint`: print the store's latest signed
 * checkpoint, the one line a witness keeps elsewhere, or sign one now.
 *
 * Not here: when the store signs on its own (lib/store/store_checkpoint.c), the
 * line form (lib/integrity/checkpoint.c), checking (cli/verify.c, cli/proof.c).
 */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

static const char help[] =
    "NAME\n"
    "    trail checkpoint - the store's latest signed checkpoint, for a witness\n"
    "\n"
    "SYNOPSIS\n"
    "    trail checkpoint --store DIR [--note]\n"
    "    trail checkpoint --store DIR --sign [--key FILE] [--note]\n"
    "\n"
    "DESCRIPTION\n"
    "    A checkpoint is one line that says 'store ORIGIN held SIZE records with\n"
    "    Merkle root ROOT and chain head CHAIN at TIME', signed with the store's\n"
    "    Ed25519 key:\n"
    "\n"
    "        trail-checkpoint/2 ORIGIN SIZE ROOT CHAIN TIME KEY SIGNATURE\n"
    "\n"
    "    The same checkpoint is a C2SP signed note holding a C2SP tlog-checkpoint\n"
    "    (--note prints it so), which any C2SP verifier checks with the store's\n"
    "    verifier key ('trail keygen --origin'); docs/integrity.md. Lines of\n"
    "    trail-checkpoint/1 (trail before C2SP) are still read and verified.\n"
    "\n"
    "    A store with a signing key writes one every 100000 records or 10\n"
    "    seconds while records arrive, and at close, to DIR/checkpoints. The key\n"
    "    is the file DIR/checkpoint.key when it exists: every writer of the\n"
    "    store uses it (trail emit --store, import, purge, traild), or the key\n"
    "    a program passes in its store options.\n"
    "\n"
    "    Without --sign, the latest line of DIR/checkpoints is printed. Keep it\n"
    "    where the store's operators cannot change it (a SIEM, a ticket, a file\n"
    "    on another host): 'trail verify --checkpoint LINE' then proves the\n"
    "    store still holds what it held, and 'trail proof' builds proofs\n"
    "    against it.\n"
    "\n"
    "    With --sign, the store's current state is signed now, appended to\n"
    "    DIR/checkpoints and printed (the store must not be open by traild:\n"
    "    ask traild with GET /v1/checkpoint instead).\n"
    "\n"
    "OPTIONS\n"
    "    --store DIR    the store directory; required\n"
    "    --sign         sign the current state now\n"
    "    --key FILE     the private key to sign with (default DIR/checkpoint.key)\n"
    "    --note         print the checkpoint as a C2SP signed note, not a line\n"
    "    -h, --help     print this help and exit\n"
    "\n"
    "EXIT STATUS\n"
    "    0  the line was printed\n"
    "    1  no checkpoint yet, no key, or the store could not be opened\n"
    "    2  bad usage\n"
    "\n"
    "EXAMPLES\n"
    "    trail keygen --out /var/lib/trail/checkpoint   # DIR/checkpoint.key and .pub\n"
    "    trail checkpoint --store /var/lib/trail >> /mnt/witness/trail.log\n"
    "    trail checkpoint --store ./store --sign --key ~/keys/store.key\n"
    "\n"
    "SEE ALSO\n"
    "    trail keygen --help, trail verify --help, trail proof --help\n";

int cmd_checkpoint(int argc, char **argv)
{
    const char *cmd = "checkpoint";
    const char *dir = NULL, *key = NULL;
    int sign = 0, note = 0;

    if (cli_wants_help(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        size_t n = strcspn(a, "=");
        if ((n == 7 && strncmp(a, "--store", 7) == 0))
            slot = &dir;
        else if (n == 5 && strncmp(a, "--key", 5) == 0)
            slot = &key;
        else if (strcmp(a, "--sign") == 0) {
            sign = 1;
            continue;
        } else if (strcmp(a, "--note") == 0) {
            note = 1;
            continue;
        } else if (a[0] == '-')
            return cli_usage_error(cmd, "unknown option '%s' (see 'trail checkpoint --help')", a);
        else
            return cli_usage_error(cmd, "unexpected argument '%s' (see 'trail checkpoint --help')",
                                   a);
        const char *v = a[n] == '=' ? a + n + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v || !*v)
            return cli_usage_error(cmd, "%.*s needs a value", (int)n, a);
        *slot = v;
    }
    if (!dir)
        return cli_usage_error(cmd, "--store DIR is required");
    if (key && !sign)
        return cli_usage_error(cmd, "--key is for --sign");

    struct trail_catalog *cat = cli_catalog();
    if (!cat)
        return 1;
    struct trail_store_opts o = {.read_only = !sign, .checkpoint_key_path = key};
    struct trail_store *s = NULL;
    int r = trail_store_open(dir, cat, &o, &s, NULL);
    if (r == TRAIL_E_NOT_FOUND)
        return cli_fail(cmd, "%s: no store there", dir);
    if (r == TRAIL_E_LOCKED)
        return cli_fail(cmd, "%s: %s (traild owns it: its checkpoints are at GET /v1/checkpoint)",
                        dir, trail_strerror(r));
    if (r < 0)
        return cli_fail(cmd, "%s: cannot open the store%s%s: %s", dir, key ? " or the key " : "",
                        key ? key : "", trail_strerror(r));
    struct trail_checkpoint cp;
    r = sign ? trail_store_checkpoint_now(s, &cp) : trail_store_checkpoint_latest(s, &cp);
    int rc = trail_store_close(s);
    if (r == TRAIL_E_NOT_FOUND)
        return cli_fail(cmd,
                        sign ? "%s: no signing key: give --key FILE or put one at "
                               "DIR/checkpoint.key ('trail keygen --out DIR/checkpoint')"
                             : "%s: no checkpoint yet (the store signs one when it has a key: "
                               "see 'trail checkpoint --help')",
                        dir);
    if (r == TRAIL_E_PARSE)
        return cli_fail(cmd,
                        "%s: the last line of DIR/checkpoints is not a checkpoint line "
                        "(run 'trail verify')",
                        dir);
    if (r == 0 && rc < 0)
        r = rc;
    if (r < 0)
        return cli_fail(cmd, "%s: %s", dir, trail_strerror(r));
    struct trail_buf line = {0};
    if (note && cp.legacy) {
        trail_buf_free(&line);
        return cli_fail(cmd,
                        "%s: the latest checkpoint is a trail-checkpoint/1 line, which has no "
                        "note: sign one now with --sign",
                        dir);
    }
    if ((r = note ? trail_checkpoint_note(&cp, &line) : trail_checkpoint_format(&cp, &line)) < 0) {
        trail_buf_free(&line);
        return cli_fail(cmd, "%s", trail_strerror(r));
    }
    printf("%.*s%s", (int)line.len, line.data, note ? "" : "\n");
    trail_buf_free(&line);
    return fflush(stdout) == 0 ? 0 : cli_fail(cmd, "cannot write: %s", strerror(errno));
}
