/*
 * keygen.c - `trail keygen`: make the Ed25519 key pair that signs a store's
 * checkpoints.
 *
 * Not here: the keys themselves and their files (lib/integrity/checkpoint.c,
 * trail_key_generate), signing checkpoints (the store).
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "NAME\n"
    "    trail keygen - make an Ed25519 key pair for signing checkpoints\n"
    "\n"
    "SYNOPSIS\n"
    "    trail keygen [--out PREFIX]\n"
    "\n"
    "DESCRIPTION\n"
    "    Makes a new Ed25519 key pair and writes it to two files:\n"
    "\n"
    "        PREFIX.key  the private key (PKCS#8 PEM), mode 0600. The store signs\n"
    "                    its checkpoints with it; keep it on the store's host,\n"
    "                    readable only by the account that runs traild.\n"
    "        PREFIX.pub  the public key (SubjectPublicKeyInfo PEM), mode 0644.\n"
    "                    Give it to auditors and witnesses: 'trail verify' and\n"
    "                    'trail proof check' use it to check signatures.\n"
    "\n"
    "    Neither file is ever overwritten: if either exists, nothing is written\n"
    "    and the command fails. Both are flushed to disk before it returns.\n"
    "\n"
    "    It prints the key id: the first 4 bytes of SHA-256 of the raw 32-byte\n"
    "    public key, as 8 hex digits. Every checkpoint names the id of the key\n"
    "    that signed it. The same id can be computed from the public key file\n"
    "    with OpenSSL alone:\n"
    "\n"
    "        openssl pkey -pubin -in PREFIX.pub -outform DER | tail -c 32 \\\n"
    "          | openssl dgst -sha256 -binary | head -c 4 | xxd -p\n"
    "\n"
    "    Keys made by 'openssl genpkey -algorithm ed25519' (unencrypted) work too.\n"
    "\n"
    "OPTIONS\n"
    "    -o, --out PREFIX\n"
    "        Where to write the files: PREFIX.key and PREFIX.pub. PREFIX may\n"
    "        include a directory, which must exist. Default: trail (in the\n"
    "        current directory).\n"
    "\n"
    "    -h, --help\n"
    "        Print this help and exit.\n"
    "\n"
    "OUTPUT\n"
    "    Three lines on standard output:\n"
    "        key id 1a2b3c4d\n"
    "        private key PREFIX.key\n"
    "        public key PREFIX.pub\n"
    "\n"
    "EXIT STATUS\n"
    "    0  the key pair was written\n"
    "    1  it could not be (a file exists, a directory is missing, no space)\n"
    "    2  bad usage\n"
    "\n"
    "SEE ALSO\n"
    "    trail proof --help, trail verify --help, docs/integrity.md\n";

int cmd_keygen(int argc, char **argv)
{
    const char *cmd = argv[0];
    const char *prefix = "trail";
    char *priv_path = NULL, *pub_path = NULL;
    struct trail_key *key = NULL;
    int status, r;

    if (cli_wants_help(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (cli_is_option(arg, "-o", "--out")) {
            prefix = cli_option_value(argc, argv, &i, arg);
            if (!prefix || !*prefix)
                return cli_usage_error(cmd, "--out needs a PREFIX (files PREFIX.key, PREFIX.pub)");
        } else if (arg[0] == '-') {
            return cli_usage_error(cmd, "unknown option '%s' (see 'trail keygen --help')", arg);
        } else {
            return cli_usage_error(cmd, "unexpected argument '%s' (to choose the files: --out %s)",
                                   arg, arg);
        }
    }
    if (asprintf(&priv_path, "%s.key", prefix) < 0 || asprintf(&pub_path, "%s.pub", prefix) < 0) {
        status = cli_fail(cmd, "%s", strerror(ENOMEM));
        goto out;
    }
    r = trail_key_generate(priv_path, pub_path, &key);
    if (r == -EEXIST) {
        status = cli_fail(cmd, "%s or %s already exists; a key file is never overwritten",
                          priv_path, pub_path);
        goto out;
    }
    if (r < 0) {
        status =
            cli_fail(cmd, "cannot write %s and %s: %s", priv_path, pub_path, trail_strerror(r));
        goto out;
    }
    printf("key id %s\nprivate key %s\npublic key %s\n", trail_key_id(key), priv_path, pub_path);
    status = 0;
out:
    trail_key_free(key);
    free(priv_path);
    free(pub_path);
    return status;
}
